#ifndef PAVED_BUF_H
#define PAVED_BUF_H
/* A growable byte buffer with a hard cap (curl's dynbuf idea): every
 * buffer that grows from outside input says how large it may get.
 * The contents are always NUL-terminated past len, so text can be used as a
 * C string. Never shrinks; dispose frees. */
#include <stdarg.h>
#include <stddef.h>

struct paved_buf {
    char *b_ptr;  /* NULL until the first write */
    size_t b_len; /* bytes used, excluding the terminating NUL */
    size_t b_cap; /* bytes allocated */
    size_t b_max; /* cap on b_len; writes past it fail with PAVED_ETOOBIG */
};

#define PAVED_BUF_INIT(max)                                                    \
    {                                                                          \
        NULL, 0, 0, (max)                                                      \
    }

void paved_buf_init(struct paved_buf *b, size_t max);
/* PAVED_ETOOBIG past b_max, PAVED_ENOMEM; the buffer is unchanged on error */
int paved_buf_put(struct paved_buf *b, const void *data, size_t len);
int paved_buf_puts(struct paved_buf *b, const char *s);
int paved_buf_putc(struct paved_buf *b, char c);
int paved_buf_printf(struct paved_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int paved_buf_vprintf(struct paved_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* JSON string literal with quotes and escapes, byte for byte as jansson's
 * json_dumps() writes it. The bytes are copied as they are: the caller
 * makes sure they are UTF-8. */
int paved_buf_put_json_string(struct paved_buf *b, const char *s);
void paved_buf_clear(struct paved_buf *b); /* len = 0, keeps memory */
/* Ownership of the bytes moves to the caller (free()); the buffer is empty
 * afterwards. Never NULL on success: an empty buffer gives "". */
char *paved_buf_detach(struct paved_buf *b, size_t *len);
void paved_buf_dispose(struct paved_buf *b);
/* A write callback in fwrite's (and libcurl's CURLOPT_WRITEFUNCTION's)
 * shape, arg the buffer: appends size * nmemb bytes; returns 0 past b_max
 * or out of memory, which makes libcurl end the transfer with an error. */
size_t paved_buf_write_cb(char *ptr, size_t size, size_t nmemb, void *arg);

#endif
