/* Structured log lines (logfmt or JSON) into a 64 KiB buffer, written with
 * write(2). Start-up and shutdown lines and warnings flush at once so an
 * operator sees them even if the process dies next; the rest waits for
 * paved_log_flush() (the loop's before-sleep hook) or a full buffer.
 * Never blocks on a full non-blocking fd: the lines are dropped, counted
 * and reported on the next write that succeeds. Never allocates per line. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "paved/error.h"
#include "paved/log.h"
#include "paved/text.h"

#define LOG_BUF_SIZE (64 * 1024)

struct paved_log {
    int lg_fd;
    int lg_json;
    enum paved_log_level lg_min;
    size_t lg_len;
    unsigned long lg_dropped; /* lines lost since the last report */
    bool lg_midline;          /* a partial write left half a line out */
    char lg_buf[LOG_BUF_SIZE];
};

static const char *const log_level_names[] = {"debug", "info", "warn", "error"};

/* A bounded writer: counts what it would need, writes what fits. */
struct log_out {
    char *lo_p;
    size_t lo_cap;
    size_t lo_len;
};

static void
log_put(struct log_out *o, const char *s, size_t n)
{
    if (o->lo_len < o->lo_cap) {
        size_t room = o->lo_cap - o->lo_len;
        memcpy(o->lo_p + o->lo_len, s, n < room ? n : room);
    }
    o->lo_len += n;
}

static void
log_putc(struct log_out *o, char c)
{
    log_put(o, &c, 1);
}

static void
log_puts(struct log_out *o, const char *s)
{
    log_put(o, s, strlen(s));
}

static void
log_put_hex(struct log_out *o, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

    log_put(o, esc, sizeof(esc));
}

/* A JSON string; invalid UTF-8 becomes U+FFFD so the line stays JSON. */
static void
log_put_json(struct log_out *o, const char *s)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
    size_t n;

    log_putc(o, '"');
    while (*p != '\0') {
        switch (*p) {
        case '"':
            log_puts(o, "\\\"");
            break;
        case '\\':
            log_puts(o, "\\\\");
            break;
        case '\n':
            log_puts(o, "\\n");
            break;
        case '\r':
            log_puts(o, "\\r");
            break;
        case '\t':
            log_puts(o, "\\t");
            break;
        default:
            if (*p < 0x20) {
                log_put_hex(o, *p);
            } else if ((n = paved_utf8_decode(p, (size_t)(end - p), NULL)) ==
                       0) {
                log_puts(o, "\\ufffd");
            } else {
                log_put(o, (const char *)p, n);
                p += n;
                continue;
            }
        }
        p++;
    }
    log_putc(o, '"');
}

static bool
log_needs_quotes(const char *s)
{
    const unsigned char *p;

    if (*s == '\0')
        return true;
    for (p = (const unsigned char *)s; *p != '\0'; p++)
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == 0x7f)
            return true;
    return false;
}

/* A logfmt value: bare when safe, else quoted with escapes. */
static void
log_put_logfmt(struct log_out *o, const char *s)
{
    const unsigned char *p;

    if (!log_needs_quotes(s)) {
        log_puts(o, s);
        return;
    }
    log_putc(o, '"');
    for (p = (const unsigned char *)s; *p != '\0'; p++) {
        switch (*p) {
        case '"':
            log_puts(o, "\\\"");
            break;
        case '\\':
            log_puts(o, "\\\\");
            break;
        case '\n':
            log_puts(o, "\\n");
            break;
        case '\r':
            log_puts(o, "\\r");
            break;
        case '\t':
            log_puts(o, "\\t");
            break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                log_put_hex(o, *p);
            else
                log_putc(o, (char)*p);
        }
    }
    log_putc(o, '"');
}

static void
log_put_ts(struct log_out *o)
{
    struct timespec ts;
    struct tm tm;
    char s[40];
    size_t n;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(s + n, sizeof(s) - n, ".%03ldZ", ts.tv_nsec / 1000000);
    log_puts(o, s);
}

/* One whole line into dst; returns the length it needs (may exceed cap). */
static size_t
log_format(const paved_log *lg, char *dst, size_t cap,
           enum paved_log_level level, const char *msg, va_list ap)
{
    struct log_out o = {dst, cap, 0};
    const char *key, *val;

    if (lg->lg_json) {
        log_puts(&o, "{\"ts\":\"");
        log_put_ts(&o);
        log_puts(&o, "\",\"level\":\"");
        log_puts(&o, log_level_names[level]);
        log_puts(&o, "\",\"msg\":");
        log_put_json(&o, msg);
    } else {
        log_puts(&o, "ts=");
        log_put_ts(&o);
        log_puts(&o, " level=");
        log_puts(&o, log_level_names[level]);
        log_puts(&o, " msg=");
        log_put_logfmt(&o, msg);
    }
    while ((key = va_arg(ap, const char *)) != NULL) {
        if ((val = va_arg(ap, const char *)) == NULL)
            continue;
        if (lg->lg_json) {
            log_putc(&o, ',');
            log_put_json(&o, key);
            log_putc(&o, ':');
            log_put_json(&o, val);
        } else {
            log_putc(&o, ' ');
            log_puts(&o, key);
            log_putc(&o, '=');
            log_put_logfmt(&o, val);
        }
    }
    if (lg->lg_json)
        log_putc(&o, '}');
    log_putc(&o, '\n');
    return o.lo_len;
}

/* Writes p until done or the fd cannot take more now; returns the bytes
 * written. */
static size_t
log_write_all(paved_log *lg, const char *p, size_t n)
{
    size_t done = 0;
    ssize_t w;

    while (done < n) {
        w = write(lg->lg_fd, p + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        /* EAGAIN on a non-blocking fd, or EPIPE, EBADF...: waiting would
         * stall the event loop, so the rest is lost */
        if (w <= 0)
            break;
        done += (size_t)w;
        lg->lg_midline = p[done - 1] != '\n';
    }
    return done;
}

static unsigned long
log_count_lines(const char *p, size_t n)
{
    unsigned long lines = 0;
    const char *nl;

    while (n > 0 && (nl = memchr(p, '\n', n)) != NULL) {
        lines++;
        n -= (size_t)(nl + 1 - p);
        p = nl + 1;
    }
    return lines;
}

/* Ends a line cut by a short write and reports lost lines; false if the
 * fd still cannot take anything. */
static bool
log_catch_up(paved_log *lg)
{
    struct log_out o;
    char note[160];

    if (lg->lg_midline && log_write_all(lg, "\n", 1) != 1)
        return false;
    if (lg->lg_dropped == 0)
        return true;
    o.lo_p = note;
    o.lo_cap = sizeof(note);
    o.lo_len = 0;
    log_puts(&o, lg->lg_json ? "{\"ts\":\"" : "ts=");
    log_put_ts(&o);
    log_puts(&o, lg->lg_json ? "\",\"level\":\"warn\",\"msg\":\"log lines "
                               "dropped\",\"dropped\":\""
                             : " level=warn msg=\"log lines dropped\" "
                               "dropped=");
    snprintf(note + o.lo_len, sizeof(note) - o.lo_len, "%lu%s\n",
             lg->lg_dropped, lg->lg_json ? "\"}" : "");
    o.lo_len += strlen(note + o.lo_len);
    /* a note cut short is itself lost; the count stays for next time */
    if (log_write_all(lg, note, o.lo_len) != o.lo_len)
        return false;
    lg->lg_dropped = 0;
    return true;
}

void
paved_log_flush(paved_log *lg)
{
    size_t done = 0;

    if (lg == NULL || lg->lg_len == 0)
        return;
    if ((lg->lg_dropped == 0 && !lg->lg_midline) || log_catch_up(lg))
        done = log_write_all(lg, lg->lg_buf, lg->lg_len);
    /* every line not fully written is lost, a cut one included */
    lg->lg_dropped += log_count_lines(lg->lg_buf + done, lg->lg_len - done);
    lg->lg_len = 0;
}

static int
log_lifecycle(const char *msg)
{
    return strcmp(msg, "ready") == 0 || strcmp(msg, "listening") == 0 ||
           strcmp(msg, "stopping") == 0 || strcmp(msg, "stopped") == 0;
}

void
paved_log_kv(paved_log *lg, enum paved_log_level level, const char *msg, ...)
{
    size_t room, need;
    va_list ap;

    if (msg == NULL)
        msg = "";
    /* start and stop lines are written at any level: tools wait for them */
    if (lg == NULL || level > PAVED_LOG_ERROR ||
        (level < lg->lg_min && !log_lifecycle(msg)))
        return;
    room = LOG_BUF_SIZE - lg->lg_len;
    va_start(ap, msg);
    need = log_format(lg, lg->lg_buf + lg->lg_len, room, level, msg, ap);
    va_end(ap);
    if (need > room) {
        /* the line did not fit: send what is there, format it again */
        paved_log_flush(lg);
        va_start(ap, msg);
        need = log_format(lg, lg->lg_buf, LOG_BUF_SIZE, level, msg, ap);
        va_end(ap);
        if (need > LOG_BUF_SIZE) { /* longer than the buffer: cut it */
            need = LOG_BUF_SIZE;
            lg->lg_buf[need - 1] = '\n';
        }
    }
    lg->lg_len += need;
    if (level >= PAVED_LOG_WARN || log_lifecycle(msg) ||
        lg->lg_len == LOG_BUF_SIZE)
        paved_log_flush(lg);
}

int
paved_log_new(paved_log **out, int fd, int json, enum paved_log_level min_level)
{
    paved_log *lg;

    *out = NULL;
    if (fd < 0)
        return paved_error_set(PAVED_EINVAL, "log: bad file descriptor %d", fd);
    if ((lg = calloc(1, sizeof(*lg))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    lg->lg_fd = fd;
    lg->lg_json = json != 0;
    lg->lg_min = min_level;
    *out = lg;
    return 0;
}

void
paved_log_free(paved_log *lg)
{
    if (lg == NULL)
        return;
    paved_log_flush(lg);
    free(lg);
}

int
paved_log_level_from_name(enum paved_log_level *out, const char *name)
{
    int i;

    for (i = PAVED_LOG_DEBUG; i <= PAVED_LOG_ERROR; i++) {
        if (name != NULL && strcmp(name, log_level_names[i]) == 0) {
            *out = (enum paved_log_level)i;
            return 0;
        }
    }
    return paved_error_set(PAVED_EINVAL,
                           "unknown log level \"%.32s\" (use debug, info, "
                           "warn or error)",
                           name != NULL ? name : "");
}
