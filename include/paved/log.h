#ifndef PAVED_LOG_H
#define PAVED_LOG_H
/* Structured log lines: key=value (logfmt) or one JSON object per line.
 * Buffered and written with write(2) on paved_log_flush() or when the
 * buffer fills; warnings and errors flush at once. Single-threaded (the
 * event loop). Callers never pass secrets: there is no way to mark one. */
#include <stddef.h>

enum paved_log_level {
    PAVED_LOG_DEBUG = 0,
    PAVED_LOG_INFO,
    PAVED_LOG_WARN,
    PAVED_LOG_ERROR
};

typedef struct paved_log paved_log;

/* fd is borrowed (usually 2). json: one object per line. */
int paved_log_new(paved_log **out, int fd, int json,
                  enum paved_log_level min_level);
void paved_log_free(paved_log *lg); /* flushes; NULL is a no-op */
int paved_log_level_from_name(enum paved_log_level *out, const char *name);

/* msg, then NULL-terminated key, value string pairs; a NULL value is
 * skipped. ts and level are added. */
void paved_log_kv(paved_log *lg, enum paved_log_level level, const char *msg,
                  ...) __attribute__((sentinel));
void paved_log_flush(paved_log *lg);

#endif
