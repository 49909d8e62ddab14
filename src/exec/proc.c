/* Step processes on the libevent loop. A process is spawned with
 * posix_spawn into its own group, its two pipes are read as they become
 * readable, each chunk is masked (per-stream carry), cut into timestamped
 * lines and appended to the step's log. SIGCHLD arrives as a libevent
 * signal event; each known pid is polled with WNOHANG, never waitpid(-1),
 * so other code's children are left alone. The shell's exit is seen with
 * WNOWAIT first: its pid, and so its process group id, stays reserved while
 * the group is killed, and only then is it reaped. The callback runs from
 * a per-process event once the shell is reaped and both pipes are at EOF,
 * so it never runs inside another process's read or signal handling.
 * Never blocks the loop on a child; never writes unmasked output. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "paved/buf.h"
#include "paved/error.h"
#include "paved/mask.h"
#include "paved/proc.h"

#define PROC_READ_SIZE 65536
#define PROC_GRACE_MS 5000
#define PROC_LOG_MAX ((size_t)64 << 20)
#define PROC_WBUF_FLUSH 65536
#define PROC_WBUF_MAX ((size_t)64 << 20)

enum proc_timer {
    PROC_T_NONE = 0,
    PROC_T_TIMEOUT, /* ps_timeout_ms after the start */
    PROC_T_GRACE,   /* after SIGTERM: SIGKILL when it fires */
    PROC_T_DRAIN    /* after the shell's exit: stop reading when it fires */
};

struct proc_stream {
    struct paved_proc *pst_proc;
    const char *pst_tag; /* "out" or "err" */
    int pst_fd;          /* read end; -1 once at EOF */
    struct event *pst_ev;
    struct paved_mask_stream pst_mask;
    struct paved_buf pst_line; /* masked partial line */
    bool pst_discard;          /* capture failed: drain, write nothing */
};

struct paved_proc {
    TAILQ_ENTRY(paved_proc) p_link;
    paved_procs *p_procs;
    pid_t p_pid;
    int p_log_fd;
    struct proc_stream p_out;
    struct proc_stream p_err;
    struct event *p_timer;
    enum proc_timer p_timer_kind;
    struct event *p_done;
    struct paved_buf p_wbuf; /* formatted lines not yet written */
    paved_proc_cb p_cb;
    void *p_arg;
    unsigned p_timeout_ms;
    unsigned p_grace_ms;
    size_t p_log_max;
    size_t p_log_bytes;
    long long p_start_ms;
    int p_status; /* wait status once p_exited */
    bool p_exited;
    bool p_status_lost;
    bool p_terminating; /* SIGTERM sent */
    bool p_timed_out;
    bool p_cancelled;
    bool p_truncated;
    bool p_log_error;
    bool p_done_armed;
    char p_ts[64]; /* timestamp of the output being written */
};

TAILQ_HEAD(proc_list, paved_proc);

struct paved_procs {
    struct event_base *ps_base;
    struct event *ps_sigchld;
    struct proc_list ps_live;
    size_t ps_n;
    struct paved_buf ps_masked; /* scratch: one read, masked */
    unsigned char ps_rbuf[PROC_READ_SIZE];
};

static long long
proc_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* RFC 3339, UTC, milliseconds: 2026-11-27T07:01:02.345Z */
static void
proc_stamp(char *out, size_t size)
{
    struct timespec ts;
    struct tm tm;
    char sec[32];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, size, "%s.%03uZ", sec,
             (unsigned)(ts.tv_nsec / 1000000) % 1000);
}

/* "2s", "5m", "300ms": as a user would write it in a pipeline. */
static void
proc_duration(char *out, size_t size, unsigned ms)
{
    if (ms >= 60000 && ms % 60000 == 0)
        snprintf(out, size, "%um", ms / 60000);
    else if (ms >= 1000 && ms % 1000 == 0)
        snprintf(out, size, "%us", ms / 1000);
    else
        snprintf(out, size, "%ums", ms);
}

static void
proc_timer_arm(struct paved_proc *p, enum proc_timer kind, unsigned ms)
{
    struct timeval tv;

    tv.tv_sec = ms / 1000;
    tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
    p->p_timer_kind = kind;
    if (evtimer_add(p->p_timer, &tv) < 0)
        p->p_timer_kind = PROC_T_NONE; /* only on a broken base */
}

static void
proc_timer_stop(struct paved_proc *p)
{
    evtimer_del(p->p_timer);
    p->p_timer_kind = PROC_T_NONE;
}

/* Writes what is buffered; a failed write loses the rest of the log but
 * never stops the draining of the pipes. */
static void
proc_log_flush(struct paved_proc *p)
{
    size_t off = 0;
    ssize_t n;

    while (off < p->p_wbuf.b_len && !p->p_log_error) {
        n = write(p->p_log_fd, p->p_wbuf.b_ptr + off, p->p_wbuf.b_len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            p->p_log_error = true;
            break;
        }
        off += (size_t)n;
        p->p_log_bytes += (size_t)n;
    }
    paved_buf_clear(&p->p_wbuf);
}

static void proc_note(struct paved_proc *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One log line: "<ts> <tag> " a b "\n". paved's own lines (force) are
 * written past the cap, so that the log always says how the step ended. */
static void
proc_log_line(struct paved_proc *p, const char *tag, const char *a, size_t alen,
              const char *b, size_t blen, bool force)
{
    size_t need;
    int error;

    if (p->p_log_error || (p->p_truncated && !force))
        return;
    need = strlen(p->p_ts) + strlen(tag) + alen + blen + 3;
    if (!force && p->p_log_bytes + p->p_wbuf.b_len + need > p->p_log_max) {
        p->p_truncated = true;
        proc_note(p, "log truncated at %zu bytes: further output discarded",
                  p->p_log_max);
        return;
    }
    if (p->p_wbuf.b_len + need > PROC_WBUF_FLUSH)
        proc_log_flush(p);
    if ((error = paved_buf_printf(&p->p_wbuf, "%s %s ", p->p_ts, tag)) < 0 ||
        (error = paved_buf_put(&p->p_wbuf, a, alen)) < 0 ||
        (error = paved_buf_put(&p->p_wbuf, b, blen)) < 0 ||
        (error = paved_buf_putc(&p->p_wbuf, '\n')) < 0)
        p->p_log_error = true;
}

static void
proc_note(struct paved_proc *p, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(text))
        n = (int)sizeof(text) - 1;
    proc_stamp(p->p_ts, sizeof(p->p_ts));
    proc_log_line(p, "paved", text, (size_t)n, NULL, 0, true);
    proc_log_flush(p);
}

/* Cuts masked output into lines of at most PAVED_PROC_LINE_MAX bytes. */
static void
proc_lines(struct paved_proc *p, struct proc_stream *st, const char *data,
           size_t len)
{
    struct paved_buf *pend = &st->pst_line;
    size_t room, look, seg;
    const char *nl;

    while (len > 0) {
        room = PAVED_PROC_LINE_MAX - pend->b_len; /* > 0 */
        look = len < room + 1 ? len : room + 1;
        if ((nl = memchr(data, '\n', look)) != NULL) {
            seg = (size_t)(nl - data);
            proc_log_line(p, st->pst_tag, pend->b_ptr, pend->b_len, data, seg,
                          false);
            paved_buf_clear(pend);
            data += seg + 1;
            len -= seg + 1;
        } else if (len > room) {
            proc_log_line(p, st->pst_tag, pend->b_ptr, pend->b_len, data, room,
                          false);
            paved_buf_clear(pend);
            data += room;
            len -= room;
        } else {
            if (paved_buf_put(pend, data, len) < 0) {
                st->pst_discard = true;
                p->p_log_error = true;
            }
            return;
        }
    }
}

/* Masks a chunk (or, with data NULL, the end of the stream) and writes
 * its lines. */
static void
proc_capture(struct paved_proc *p, struct proc_stream *st, const void *data,
             size_t len)
{
    struct paved_buf *m = &p->p_procs->ps_masked;
    int error;

    if (st->pst_discard || p->p_truncated || p->p_log_error)
        return;
    paved_buf_clear(m);
    /* "***" for a variant of at least one byte: at most three times the
     * input plus the carry */
    m->b_max = 3 * (len + paved_mask_longest(st->pst_mask.ms_mask)) + 16;
    if (data != NULL)
        error = paved_mask_feed(&st->pst_mask, data, len, m);
    else
        error = paved_mask_flush(&st->pst_mask, m);
    if (error < 0) {
        /* never fall back to unmasked output */
        st->pst_discard = true;
        proc_note(p, "output capture failed (%s): std%s discarded",
                  paved_error_last(), st->pst_tag);
        return;
    }
    proc_lines(p, st, m->b_ptr, m->b_len);
    if (data == NULL && st->pst_line.b_len > 0) {
        proc_log_line(p, st->pst_tag, st->pst_line.b_ptr, st->pst_line.b_len,
                      NULL, 0, false);
        paved_buf_clear(&st->pst_line);
    }
}

static bool
proc_streams_eof(const struct paved_proc *p)
{
    return p->p_out.pst_fd < 0 && p->p_err.pst_fd < 0;
}

static void
proc_check_done(struct paved_proc *p)
{
    if (p->p_done_armed || !p->p_exited || !proc_streams_eof(p))
        return;
    p->p_done_armed = true;
    proc_timer_stop(p);
    event_active(p->p_done, EV_TIMEOUT, 0);
}

/* The shell ended (or its status is lost): kill what is left of its group
 * while its pid still holds the group id, then reap it. */
static void
proc_try_reap(struct paved_proc *p)
{
    siginfo_t si;
    int status = 0;
    pid_t r;

    if (p->p_exited)
        return;
    memset(&si, 0, sizeof(si));
    if (waitid(P_PID, (id_t)p->p_pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
        if (errno == EINTR)
            return;
        /* ECHILD: someone else reaped our child; its group may be gone
         * or reused, so it is not signalled */
        p->p_status_lost = true;
    } else if (si.si_pid == 0) {
        return; /* still running */
    } else {
        kill(-p->p_pid, SIGKILL);
        do
            r = waitpid(p->p_pid, &status, WNOHANG);
        while (r < 0 && errno == EINTR);
        if (r != p->p_pid)
            p->p_status_lost = true;
        p->p_status = status;
    }
    p->p_exited = true;
    if (p->p_timer_kind == PROC_T_TIMEOUT || p->p_timer_kind == PROC_T_GRACE)
        proc_timer_stop(p);
    /* its group is dead: open pipes now mean a process that left the
     * group (setsid, a daemon) and still holds them */
    if (!proc_streams_eof(p))
        proc_timer_arm(p, PROC_T_DRAIN, p->p_grace_ms);
    proc_check_done(p);
}

static void
proc_stream_close(struct proc_stream *st)
{
    if (st->pst_fd < 0)
        return;
    if (st->pst_ev != NULL)
        event_del(st->pst_ev);
    close(st->pst_fd);
    st->pst_fd = -1;
}

static void
proc_stream_eof(struct paved_proc *p, struct proc_stream *st)
{
    if (st->pst_fd < 0)
        return;
    proc_stamp(p->p_ts, sizeof(p->p_ts));
    proc_capture(p, st, NULL, 0);
    proc_log_flush(p);
    proc_stream_close(st);
    paved_mask_stream_dispose(&st->pst_mask);
    /* EOF usually means the shell is gone: do not wait for SIGCHLD */
    if (proc_streams_eof(p))
        proc_try_reap(p);
    proc_check_done(p);
}

static void
proc_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct proc_stream *st = arg;
    struct paved_proc *p = st->pst_proc;
    unsigned char *buf = p->p_procs->ps_rbuf;
    ssize_t n;

    (void)what;
    n = read(fd, buf, PROC_READ_SIZE);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        proc_stream_eof(p, st);
        return;
    }
    proc_stamp(p->p_ts, sizeof(p->p_ts));
    proc_capture(p, st, buf, (size_t)n);
    proc_log_flush(p);
}

static void
proc_terminate(struct paved_proc *p)
{
    p->p_terminating = true;
    kill(-p->p_pid, SIGTERM);
    proc_timer_arm(p, PROC_T_GRACE, p->p_grace_ms);
}

static void
proc_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct paved_proc *p = arg;
    enum proc_timer kind = p->p_timer_kind;
    char a[32], b[32];

    (void)fd;
    (void)what;
    p->p_timer_kind = PROC_T_NONE;
    proc_duration(b, sizeof(b), p->p_grace_ms);
    switch (kind) {
    case PROC_T_TIMEOUT:
        if (p->p_exited || p->p_terminating)
            break;
        p->p_timed_out = true;
        proc_duration(a, sizeof(a), p->p_timeout_ms);
        proc_note(p,
                  "step timed out after %s: SIGTERM to process group, "
                  "SIGKILL after %s",
                  a, b);
        proc_terminate(p);
        break;
    case PROC_T_GRACE:
        if (p->p_exited)
            break;
        proc_note(p,
                  "step still running %s after SIGTERM: SIGKILL to process "
                  "group",
                  b);
        kill(-p->p_pid, SIGKILL);
        break;
    case PROC_T_DRAIN:
        proc_note(p,
                  "output still held open %s after the shell exited, by a "
                  "process outside the step's process group: stopped reading",
                  b);
        proc_stream_eof(p, &p->p_out);
        proc_stream_eof(p, &p->p_err);
        break;
    case PROC_T_NONE:
        break;
    }
}

static void
proc_free(struct paved_proc *p)
{
    if (p == NULL)
        return;
    proc_stream_close(&p->p_out);
    proc_stream_close(&p->p_err);
    if (p->p_out.pst_ev != NULL)
        event_free(p->p_out.pst_ev);
    if (p->p_err.pst_ev != NULL)
        event_free(p->p_err.pst_ev);
    if (p->p_timer != NULL)
        event_free(p->p_timer);
    if (p->p_done != NULL)
        event_free(p->p_done);
    paved_mask_stream_dispose(&p->p_out.pst_mask);
    paved_mask_stream_dispose(&p->p_err.pst_mask);
    paved_buf_dispose(&p->p_out.pst_line);
    paved_buf_dispose(&p->p_err.pst_line);
    paved_buf_dispose(&p->p_wbuf);
    if (p->p_log_fd >= 0)
        close(p->p_log_fd);
    free(p);
}

static void
proc_done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct paved_proc *p = arg;
    struct paved_proc_result r;
    paved_proc_cb cb = p->p_cb;
    void *cb_arg = p->p_arg;

    (void)fd;
    (void)what;
    proc_log_flush(p);
    memset(&r, 0, sizeof(r));
    if (p->p_status_lost) {
        r.pr_exit = -1;
    } else if (WIFEXITED(p->p_status)) {
        r.pr_exit = WEXITSTATUS(p->p_status);
    } else {
        r.pr_exit = -1;
        r.pr_signal = WIFSIGNALED(p->p_status) ? WTERMSIG(p->p_status) : 0;
    }
    r.pr_timed_out = p->p_timed_out;
    r.pr_cancelled = p->p_cancelled;
    r.pr_ms = proc_now_ms() - p->p_start_ms;
    r.pr_log_bytes = p->p_log_bytes;
    r.pr_log_error = p->p_log_error;
    TAILQ_REMOVE(&p->p_procs->ps_live, p, p_link);
    p->p_procs->ps_n--;
    proc_free(p);
    /* last: the callback may start processes or free the set */
    cb(&r, cb_arg);
}

static void
proc_sigchld_cb(evutil_socket_t fd, short what, void *arg)
{
    paved_procs *ps = arg;
    struct paved_proc *p;

    (void)fd;
    (void)what;
    /* signals coalesce: look at every process not yet reaped */
    TAILQ_FOREACH(p, &ps->ps_live, p_link)
    proc_try_reap(p);
}

int
paved_procs_new(paved_procs **out, struct event_base *base)
{
    paved_procs *ps;

    *out = NULL;
    if (base == NULL)
        return paved_error_set(PAVED_EINVAL, "procs: no event base");
    if ((ps = calloc(1, sizeof(*ps))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    ps->ps_base = base;
    TAILQ_INIT(&ps->ps_live);
    paved_buf_init(&ps->ps_masked, 0);
    if ((ps->ps_sigchld = evsignal_new(base, SIGCHLD, proc_sigchld_cb, ps)) ==
            NULL ||
        evsignal_add(ps->ps_sigchld, NULL) < 0) {
        if (ps->ps_sigchld != NULL)
            event_free(ps->ps_sigchld);
        free(ps);
        return paved_error_set(PAVED_ERROR,
                               "cannot watch SIGCHLD on the event loop");
    }
    *out = ps;
    return 0;
}

void
paved_procs_free(paved_procs *ps)
{
    struct paved_proc *p;
    int status;

    if (ps == NULL)
        return;
    while ((p = TAILQ_FIRST(&ps->ps_live)) != NULL) {
        TAILQ_REMOVE(&ps->ps_live, p, p_link);
        if (!p->p_exited) {
            kill(-p->p_pid, SIGKILL);
            while (waitpid(p->p_pid, &status, 0) < 0 && errno == EINTR)
                ;
        }
        proc_free(p);
    }
    event_free(ps->ps_sigchld);
    paved_buf_dispose(&ps->ps_masked);
    free(ps);
}

size_t
paved_procs_live(const paved_procs *ps)
{
    return ps != NULL ? ps->ps_n : 0;
}

int
paved_proc_pid(const paved_proc *p)
{
    return p != NULL ? (int)p->p_pid : -1;
}

static int
proc_write_all(int fd, const char *data, size_t len)
{
    ssize_t n;

    while (len > 0) {
        n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* A step's own files (script, log) live in a directory its step can
 * write to: a FIFO or a symlink planted there must not block paved in
 * open() or redirect its writes. Only regular files are opened; others
 * fail with EINVAL. */
static int
proc_open_regular(const char *path, int flags, mode_t mode)
{
    struct stat sb;
    int fd;

    fd = open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY,
              mode);
    if (fd < 0)
        return -1;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

static int
proc_write_script(const char *path, const char *script)
{
    int fd, error = 0;

    fd = proc_open_regular(path, O_WRONLY | O_CREAT | O_TRUNC, 0700);
    if (fd < 0)
        return paved_error_set(PAVED_ERROR, "write step script %s: %s", path,
                               strerror(errno));
    /* a script left by an earlier attempt may have another mode */
    if (fchmod(fd, 0700) < 0 || proc_write_all(fd, script, strlen(script)) < 0)
        error = paved_error_set(PAVED_ERROR, "write step script %s: %s", path,
                                strerror(errno));
    if (close(fd) < 0 && error == 0)
        error = paved_error_set(PAVED_ERROR, "write step script %s: %s", path,
                                strerror(errno));
    return error;
}

static int
proc_stream_init(struct proc_stream *st, struct paved_proc *p, const char *tag,
                 const paved_mask *mask, int fd)
{
    st->pst_proc = p;
    st->pst_tag = tag;
    st->pst_fd = fd;
    paved_mask_stream_init(&st->pst_mask, mask);
    paved_buf_init(&st->pst_line, PAVED_PROC_LINE_MAX);
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
        return paved_error_set(PAVED_ERROR, "pipe: %s", strerror(errno));
    st->pst_ev = event_new(p->p_procs->ps_base, fd, EV_READ | EV_PERSIST,
                           proc_read_cb, st);
    if (st->pst_ev == NULL || event_add(st->pst_ev, NULL) < 0)
        return paved_error_set(PAVED_ERROR, "cannot watch a step pipe");
    return 0;
}

/* The child's set-up, done by posix_spawn between fork and exec. */
static int
proc_spawn(pid_t *pid, const struct paved_proc_spec *spec, int out_w, int err_w)
{
    static char *const empty_env[] = {NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t sa;
    char sh[] = "sh", dash_e[] = "-e";
    char *argv[4];
    sigset_t set;
    int rc;

    argv[0] = sh;
    argv[1] = dash_e;
    argv[2] = (char *)spec->ps_script_path; /* posix_spawn does not write */
    argv[3] = NULL;
    if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
        return paved_error_set(PAVED_ENOMEM, "spawn: %s", strerror(rc));
    if ((rc = posix_spawnattr_init(&sa)) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return paved_error_set(PAVED_ENOMEM, "spawn: %s", strerror(rc));
    }
    /* own group (pgid = pid, set before exec, so a kill(-pid) right after
     * the spawn reaches it); nothing of the daemon's signal state: SIG_IGN
     * of SIGPIPE would survive exec and break `yes | head` in steps */
    sigemptyset(&set);
    if ((rc = posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETPGROUP |
                                                POSIX_SPAWN_SETSIGMASK |
                                                POSIX_SPAWN_SETSIGDEF)) != 0 ||
        (rc = posix_spawnattr_setpgroup(&sa, 0)) != 0 ||
        (rc = posix_spawnattr_setsigmask(&sa, &set)) != 0)
        goto out;
    sigfillset(&set);
    sigdelset(&set, SIGKILL);
    sigdelset(&set, SIGSTOP);
    if ((rc = posix_spawnattr_setsigdefault(&sa, &set)) != 0)
        goto out;
    /* descriptors other code opened without O_CLOEXEC (another thread,
     * a library) must not reach the step either: close all above 2 */
    if ((rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
                                               0)) != 0 ||
        (rc = posix_spawn_file_actions_adddup2(&fa, out_w, 1)) != 0 ||
        (rc = posix_spawn_file_actions_adddup2(&fa, err_w, 2)) != 0 ||
        (rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) != 0 ||
        (rc = posix_spawn_file_actions_addchdir_np(&fa, spec->ps_cwd)) != 0)
        goto out;
    rc = posix_spawn(pid, "/bin/sh", &fa, &sa, argv,
                     spec->ps_env != NULL ? spec->ps_env : empty_env);
out:
    posix_spawnattr_destroy(&sa);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return paved_error_set(PAVED_ERROR, "spawn /bin/sh -e %s in %s: %s",
                               spec->ps_script_path, spec->ps_cwd,
                               strerror(rc));
    return 0;
}

int
paved_proc_start(paved_proc **out, paved_procs *ps,
                 const struct paved_proc_spec *spec, paved_proc_cb cb,
                 void *arg)
{
    int outp[2] = {-1, -1}, errp[2] = {-1, -1};
    struct paved_proc *p = NULL;
    struct stat st;
    pid_t pid;
    int error = 0;

    if (out != NULL)
        *out = NULL;
    if (ps == NULL || spec == NULL || cb == NULL || spec->ps_script == NULL ||
        spec->ps_script_path == NULL || spec->ps_cwd == NULL ||
        spec->ps_log_path == NULL)
        return paved_error_set(PAVED_EINVAL, "step process: incomplete spec");
    /* posix_spawn would report a bad directory too, but not under every
     * runtime (valgrind turns its vfork into a fork): say it clearly */
    if (stat(spec->ps_cwd, &st) < 0)
        return paved_error_set(PAVED_ENOTFOUND, "step working directory %s: %s",
                               spec->ps_cwd, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return paved_error_set(PAVED_ENOTFOUND,
                               "step working directory %s: not a directory",
                               spec->ps_cwd);
    if ((p = calloc(1, sizeof(*p))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    p->p_procs = ps;
    p->p_log_fd = -1;
    p->p_out.pst_fd = -1;
    p->p_err.pst_fd = -1;
    p->p_cb = cb;
    p->p_arg = arg;
    p->p_timeout_ms = spec->ps_timeout_ms;
    p->p_grace_ms = spec->ps_grace_ms ? spec->ps_grace_ms : PROC_GRACE_MS;
    p->p_log_max = spec->ps_log_max ? spec->ps_log_max : PROC_LOG_MAX;
    paved_buf_init(&p->p_wbuf, PROC_WBUF_MAX);
    paved_buf_init(&p->p_out.pst_line, PAVED_PROC_LINE_MAX);
    paved_buf_init(&p->p_err.pst_line, PAVED_PROC_LINE_MAX);
    if ((error = proc_write_script(spec->ps_script_path, spec->ps_script)) < 0)
        goto out;
    p->p_log_fd = proc_open_regular(spec->ps_log_path,
                                    O_WRONLY | O_APPEND | O_CREAT, 0600);
    if (p->p_log_fd < 0) {
        error = paved_error_set(PAVED_ERROR, "open step log %s: %s",
                                spec->ps_log_path, strerror(errno));
        goto out;
    }
    if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
        error = paved_error_set(PAVED_ERROR, "pipe: %s", strerror(errno));
        goto out;
    }
    /* the read ends belong to the proc from here on */
    error = proc_stream_init(&p->p_out, p, "out", spec->ps_mask, outp[0]);
    outp[0] = -1;
    if (error < 0)
        goto out;
    error = proc_stream_init(&p->p_err, p, "err", spec->ps_mask, errp[0]);
    errp[0] = -1;
    if (error < 0)
        goto out;
    if ((p->p_timer = evtimer_new(ps->ps_base, proc_timer_cb, p)) == NULL ||
        (p->p_done = event_new(ps->ps_base, -1, 0, proc_done_cb, p)) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    if ((error = proc_spawn(&pid, spec, outp[1], errp[1])) < 0)
        goto out;
    /* nothing can fail from here: the child exists */
    p->p_pid = pid;
    p->p_start_ms = proc_now_ms();
    if (p->p_timeout_ms > 0)
        proc_timer_arm(p, PROC_T_TIMEOUT, p->p_timeout_ms);
    TAILQ_INSERT_TAIL(&ps->ps_live, p, p_link);
    ps->ps_n++;
    if (out != NULL)
        *out = p;
    p = NULL;
out:
    if (outp[0] >= 0)
        close(outp[0]);
    if (outp[1] >= 0)
        close(outp[1]);
    if (errp[0] >= 0)
        close(errp[0]);
    if (errp[1] >= 0)
        close(errp[1]);
    proc_free(p);
    return error;
}

void
paved_proc_cancel(paved_proc *p)
{
    char b[32];

    if (p == NULL || p->p_cancelled)
        return;
    p->p_cancelled = true;
    /* already ending: its group is being (or has been) killed */
    if (p->p_exited || p->p_terminating)
        return;
    proc_duration(b, sizeof(b), p->p_grace_ms);
    proc_note(p, "step cancelled: SIGTERM to process group, SIGKILL after %s",
              b);
    proc_terminate(p);
}

int
paved_proc_log_note(const char *log_path, const char *text)
{
    struct paved_buf line = PAVED_BUF_INIT(PAVED_PROC_LINE_MAX + 64);
    char ts[64];
    size_t i;
    int fd, error;

    proc_stamp(ts, sizeof(ts));
    if ((error = paved_buf_printf(&line, "%s paved %s\n", ts, text)) < 0)
        goto out;
    /* one line, whatever the text holds */
    for (i = 0; i + 1 < line.b_len; i++)
        if (line.b_ptr[i] == '\n' || line.b_ptr[i] == '\r')
            line.b_ptr[i] = ' ';
    fd = proc_open_regular(log_path, O_WRONLY | O_APPEND | O_CREAT, 0600);
    if (fd < 0) {
        error = paved_error_set(PAVED_ERROR, "open step log %s: %s", log_path,
                                strerror(errno));
        goto out;
    }
    if (proc_write_all(fd, line.b_ptr, line.b_len) < 0)
        error = paved_error_set(PAVED_ERROR, "write step log %s: %s", log_path,
                                strerror(errno));
    close(fd);
out:
    paved_buf_dispose(&line);
    return error;
}
