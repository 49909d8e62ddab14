#ifndef PAVED_ERROR_H
#define PAVED_ERROR_H
/* Error codes and the per-thread last error message.
 * Functions return 0 or a negative PAVED_E* code and set a message with
 * paved_error_set(); callers read it with paved_error_last(). A caller
 * never overwrites a callee's message: it returns the code it got. */

enum {
    PAVED_OK = 0,
    PAVED_ERROR = -1,        /* anything not below */
    PAVED_ENOMEM = -2,       /* allocation failed */
    PAVED_ENOTFOUND = -3,    /* no such thing (file, delivery, key) */
    PAVED_EEXISTS = -4,      /* already there (duplicate delivery id) */
    PAVED_EINVAL = -5,       /* malformed input: HTTP 400 */
    PAVED_EAUTH = -6,        /* bad or missing signature/token: HTTP 401 */
    PAVED_ETOOBIG = -7,      /* over a size cap: HTTP 413 */
    PAVED_EUNSUPPORTED = -8, /* content type or event we do not take: 415 */
    PAVED_EUNAVAILABLE = -9, /* store cannot commit now: HTTP 503 */
    PAVED_EUSAGE = -10       /* bad command line or config */
};

/* Sets this thread's message (printf format) and returns code, so that
 * `return paved_error_set(PAVED_EINVAL, "...")` reads naturally. */
int paved_error_set(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The message of the last paved_error_set() on this thread; never NULL. */
const char *paved_error_last(void);
void paved_error_clear(void);
/* A short stable name for a code: "EINVAL". */
const char *paved_error_name(int code);

#endif
