/* Capped growable buffer. Growth doubles; the cap is checked before any
 * allocation so that hostile input cannot make us allocate past it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paved/buf.h"
#include "paved/error.h"

void
paved_buf_init(struct paved_buf *b, size_t max)
{
    b->b_ptr = NULL;
    b->b_len = 0;
    b->b_cap = 0;
    b->b_max = max;
}

static int
buf_reserve(struct paved_buf *b, size_t more)
{
    size_t need, cap;
    char *p;

    if (more > b->b_max || b->b_len > b->b_max - more)
        return paved_error_set(PAVED_ETOOBIG, "buffer over its %zu byte cap",
                               b->b_max);
    need = b->b_len + more + 1; /* room for the NUL */
    if (need <= b->b_cap)
        return 0;
    cap = b->b_cap ? b->b_cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if ((p = realloc(b->b_ptr, cap)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory (%zu bytes)", cap);
    b->b_ptr = p;
    b->b_cap = cap;
    return 0;
}

int
paved_buf_put(struct paved_buf *b, const void *data, size_t len)
{
    int error;

    if ((error = buf_reserve(b, len)) < 0)
        return error;
    if (len > 0)
        memcpy(b->b_ptr + b->b_len, data, len);
    b->b_len += len;
    b->b_ptr[b->b_len] = '\0';
    return 0;
}

int
paved_buf_puts(struct paved_buf *b, const char *s)
{
    return paved_buf_put(b, s, strlen(s));
}

int
paved_buf_putc(struct paved_buf *b, char c)
{
    return paved_buf_put(b, &c, 1);
}

int
paved_buf_vprintf(struct paved_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    int n, error;

    va_copy(cp, ap);
    n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return paved_error_set(PAVED_ERROR, "bad format string");
    if ((error = buf_reserve(b, (size_t)n)) < 0)
        return error;
    vsnprintf(b->b_ptr + b->b_len, (size_t)n + 1, fmt, ap);
    b->b_len += (size_t)n;
    return 0;
}

int
paved_buf_printf(struct paved_buf *b, const char *fmt, ...)
{
    va_list ap;
    int error;

    va_start(ap, fmt);
    error = paved_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return error;
}

/* As jansson's json_dumps() writes a string, byte for byte (stored event
 * JSON was written by jansson first): \" \\ \b \f \n \r \t, other control
 * characters as \u00XX in upper case, everything else as it is. Runs of
 * plain bytes are copied at once: this is on every delivery's path. */
int
paved_buf_put_json_string(struct paved_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p, *run;
    char esc[7] = "\\u00";
    const char *put;
    size_t n;
    int error;

    if ((error = paved_buf_putc(b, '"')) < 0)
        return error;
    for (p = run = (const unsigned char *)s;; p++) {
        if (*p >= 0x20 && *p != '"' && *p != '\\')
            continue;
        if (p > run && (error = paved_buf_put(b, run, (size_t)(p - run))) < 0)
            return error;
        if (*p == '\0')
            break;
        n = 2;
        switch (*p) {
        case '"':
            put = "\\\"";
            break;
        case '\\':
            put = "\\\\";
            break;
        case '\b':
            put = "\\b";
            break;
        case '\f':
            put = "\\f";
            break;
        case '\n':
            put = "\\n";
            break;
        case '\r':
            put = "\\r";
            break;
        case '\t':
            put = "\\t";
            break;
        default:
            esc[4] = hex[*p >> 4];
            esc[5] = hex[*p & 15];
            put = esc;
            n = 6;
            break;
        }
        if ((error = paved_buf_put(b, put, n)) < 0)
            return error;
        run = p + 1;
    }
    return paved_buf_putc(b, '"');
}

void
paved_buf_clear(struct paved_buf *b)
{
    b->b_len = 0;
    if (b->b_ptr != NULL)
        b->b_ptr[0] = '\0';
}

char *
paved_buf_detach(struct paved_buf *b, size_t *len)
{
    char *p = b->b_ptr;

    if (p == NULL && (p = calloc(1, 1)) == NULL)
        return NULL;
    if (len != NULL)
        *len = b->b_len;
    b->b_ptr = NULL;
    b->b_len = b->b_cap = 0;
    return p;
}

void
paved_buf_dispose(struct paved_buf *b)
{
    if (b == NULL)
        return;
    free(b->b_ptr);
    b->b_ptr = NULL;
    b->b_len = b->b_cap = 0;
}

size_t
paved_buf_write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct paved_buf *b = arg;

    if (paved_buf_put(b, ptr, size * nmemb) < 0)
        return 0;
    return size * nmemb;
}
