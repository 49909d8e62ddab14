/* The exec deploy driver: the user's own commands, one per phase (deploy,
 * shift, promote, rollback), run as argument vectors with {{placeholders}}
 * filled in inside each argument; and the command runner the kubernetes
 * driver shares (driver_cmd_run): posix_spawn into its own process group,
 * stdin from a string or /dev/null, stdout and stderr captured up to a
 * cap, a timeout that kills the group. Never runs a shell line, never
 * re-splits an argument, never decides what a failure means: the rollout
 * logic does. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "delivery/driver_int.h"
#include "paved/buf.h"
#include "paved/error.h"

#define CMD_OUT_MAX (64 * 1024) /* bytes kept of each of stdout, stderr */
#define CMD_TAIL 240            /* bytes of output quoted in an error */
#define CMD_LINE 120            /* bytes of the command line in an error */
#define CMD_GRACE_MS 200 /* after exit, for pipes a background child holds */
#define EXEC_DEFAULT_TIMEOUT 300
#define EXEC_MAX_VALUE (64 * 1024) /* one argument after substitution */

/* ---- the command runner -------------------------------------------- */

/* Characters a shell reads as themselves: such an argument is printed
 * bare, any other in single quotes, so that a transcript line can be
 * pasted into a shell and means exactly the argv that ran. */
static bool
cmd_bare(const char *s)
{
    const char *p;

    if (*s == '\0')
        return false;
    for (p = s; *p != '\0'; p++)
        if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                   "0123456789_./:=@%+,-",
                   *p) == NULL)
            return false;
    return true;
}

static int
cmd_quote(struct paved_buf *b, char *const *argv)
{
    const char *p;
    size_t i;
    int error = 0;

    for (i = 0; argv[i] != NULL && error == 0; i++) {
        if (i > 0)
            error = paved_buf_putc(b, ' ');
        if (error == 0 && cmd_bare(argv[i])) {
            error = paved_buf_puts(b, argv[i]);
            continue;
        }
        if (error == 0)
            error = paved_buf_putc(b, '\'');
        for (p = argv[i]; *p != '\0' && error == 0; p++)
            error =
                *p == '\'' ? paved_buf_puts(b, "'\\''") : paved_buf_putc(b, *p);
        if (error == 0)
            error = paved_buf_putc(b, '\'');
    }
    return error;
}

int
driver_cmd_find(const char *prog, char *path, size_t size)
{
    const char *dirs, *p, *end;
    struct stat st;
    size_t dlen;
    int n;

    if (prog == NULL || *prog == '\0')
        return PAVED_ENOTFOUND;
    if (strchr(prog, '/') != NULL) {
        if ((size_t)snprintf(path, size, "%s", prog) >= size)
            return PAVED_ENOTFOUND;
        return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
                       access(path, X_OK) == 0
                   ? 0
                   : PAVED_ENOTFOUND;
    }
    /* execvp's default when PATH is unset */
    if ((dirs = getenv("PATH")) == NULL)
        dirs = "/bin:/usr/bin";
    for (p = dirs;; p = end + 1) {
        end = strchr(p, ':');
        dlen = end != NULL ? (size_t)(end - p) : strlen(p);
        n = dlen == 0 ? snprintf(path, size, "%s", prog)
                      : snprintf(path, size, "%.*s/%s", (int)dlen, p, prog);
        if (n > 0 && (size_t)n < size && stat(path, &st) == 0 &&
            S_ISREG(st.st_mode) && access(path, X_OK) == 0)
            return 0;
        if (end == NULL)
            break;
    }
    return PAVED_ENOTFOUND;
}

/* paved's environment without the names dc_env sets, then dc_env. The
 * strings are borrowed; the array is the caller's to free. */
static char **
cmd_environ(char *const *add)
{
    size_t n = 0, na = 0, i, j, k = 0, len;
    bool replaced;
    char **envp;

    while (environ != NULL && environ[n] != NULL)
        n++;
    while (add != NULL && add[na] != NULL)
        na++;
    if ((envp = calloc(n + na + 1, sizeof(*envp))) == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        replaced = false;
        for (j = 0; j < na && !replaced; j++) {
            len = strcspn(add[j], "=");
            replaced =
                strncmp(environ[i], add[j], len) == 0 && environ[i][len] == '=';
        }
        if (!replaced)
            envp[k++] = environ[i];
    }
    for (j = 0; j < na; j++)
        envp[k++] = add[j];
    envp[k] = NULL;
    return envp;
}

static int
cmd_spawn(pid_t *pid, const char *path, char *const *argv, char **envp,
          int in_r, int out_w, int err_w)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t sa;
    sigset_t set;
    int rc;

    if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
        return paved_error_set(PAVED_ENOMEM, "spawn: %s", strerror(rc));
    if ((rc = posix_spawnattr_init(&sa)) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return paved_error_set(PAVED_ENOMEM, "spawn: %s", strerror(rc));
    }
    /* own group, so that a timeout kills what it started too; none of
     * the daemon's signal state (an ignored SIGPIPE survives exec) */
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
    if (in_r >= 0)
        rc = posix_spawn_file_actions_adddup2(&fa, in_r, 0);
    else
        rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (rc != 0 || (rc = posix_spawn_file_actions_adddup2(&fa, out_w, 1)) ||
        (rc = posix_spawn_file_actions_adddup2(&fa, err_w, 2)) != 0 ||
        (rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) != 0)
        goto out;
    rc = posix_spawn(pid, path, &fa, &sa, argv, envp);
out:
    posix_spawnattr_destroy(&sa);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return paved_error_set(rc == ENOENT || rc == EACCES ? PAVED_EUNAVAILABLE
                                                            : PAVED_ERROR,
                               "spawn %s: %s", path, strerror(rc));
    return 0;
}

static long long
cmd_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A write to a pipe whose reader is gone: EPIPE, without the SIGPIPE
 * that would end a process that does not ignore it (the unit tests). */
static ssize_t
cmd_write(int fd, const char *p, size_t n)
{
    sigset_t pipe_set, old;
    struct timespec zero = {0, 0};
    ssize_t w;
    int saved;

    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    w = write(fd, p, n);
    saved = errno;
    if (w < 0 && errno == EPIPE)
        while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
            ;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved;
    return w;
}

/* Reads what is there; past the cap the bytes are dropped (the pipe must
 * still be drained or the child blocks). false at EOF or error. */
static bool
cmd_read(int fd, struct paved_buf *b, bool *truncated)
{
    char chunk[4096];
    ssize_t n;
    size_t room;

    n = read(fd, chunk, sizeof(chunk));
    if (n < 0)
        return errno == EAGAIN || errno == EINTR;
    if (n == 0)
        return false;
    room = b->b_max - b->b_len;
    if ((size_t)n > room)
        *truncated = true;
    if (paved_buf_put(b, chunk, (size_t)n < room ? (size_t)n : room) < 0)
        *truncated = true;
    return true;
}

static void
cmd_close(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Every line of out to d_progress, indented, so an operator sees all
 * the output of a failed command (the error message has only a tail). */
static void
cmd_show(paved_driver *d, const char *label, const struct paved_buf *b)
{
    const char *p, *nl;

    if (d->d_progress == NULL || b->b_len == 0)
        return;
    for (p = b->b_ptr; *p != '\0'; p = nl + 1) {
        nl = strchr(p, '\n');
        fprintf(d->d_progress, "  %s| %.*s\n", label,
                (int)(nl != NULL ? nl - p : (long)strlen(p)), p);
        if (nl == NULL)
            break;
    }
}

/* The last CMD_TAIL bytes of stderr (else stdout), on one line. */
static void
cmd_tail(char *dst, size_t size, const struct paved_buf *eb,
         const struct paved_buf *ob)
{
    const struct paved_buf *b = eb->b_len > 0 ? eb : ob;
    size_t len = b->b_len, i, start;

    while (len > 0 && (b->b_ptr[len - 1] == '\n' || b->b_ptr[len - 1] == ' '))
        len--;
    if (len == 0) {
        snprintf(dst, size, "no output");
        return;
    }
    start = len > CMD_TAIL ? len - CMD_TAIL : 0;
    snprintf(dst, size, "%s%.*s", start > 0 ? "..." : "", (int)(len - start),
             b->b_ptr + start);
    for (i = 0; dst[i] != '\0'; i++)
        if (dst[i] == '\n' || dst[i] == '\r' || dst[i] == '\t')
            dst[i] = ' ';
}

int
driver_cmd_run(paved_driver *d, const struct driver_cmd *c, char **out)
{
    struct paved_buf line = PAVED_BUF_INIT(256 * 1024);
    struct paved_buf ob = PAVED_BUF_INIT(CMD_OUT_MAX);
    struct paved_buf eb = PAVED_BUF_INIT(CMD_OUT_MAX);
    int inp[2] = {-1, -1}, outp[2] = {-1, -1}, errp[2] = {-1, -1};
    char path[PATH_MAX], tail[CMD_TAIL + 8], shown[CMD_LINE + 4];
    const char *input = c->dc_input;
    size_t in_left = input != NULL ? strlen(input) : 0;
    bool exited = false, timed_out = false, trunc = false;
    long long deadline, exited_at = 0, now;
    char **envp = NULL;
    struct pollfd pf[3];
    int status = 0, error = 0, n, i, wait_ms;
    pid_t pid = -1;
    ssize_t w;

    if (out != NULL)
        *out = NULL;
    if (c->dc_argv == NULL || c->dc_argv[0] == NULL)
        return paved_error_set(PAVED_EINVAL, "%s: no command", c->dc_what);
    if ((error = cmd_quote(&line, c->dc_argv)) < 0) {
        error = paved_error_set(error, "%s: command line too long", c->dc_what);
        goto out;
    }
    if (d->d_progress != NULL) {
        fprintf(d->d_progress, "+ %s\n", line.b_ptr);
        if (d->d_dry_run && input != NULL && in_left > 0)
            fprintf(d->d_progress, "%s%s", input,
                    input[in_left - 1] == '\n' ? "" : "\n");
        fflush(d->d_progress);
    }
    snprintf(shown, sizeof(shown), "%.*s%s", CMD_LINE, line.b_ptr,
             line.b_len > CMD_LINE ? "..." : "");
    if (d->d_dry_run) {
        if (out != NULL && (*out = strdup("")) == NULL)
            error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    /* looked up here rather than left to posix_spawnp: under valgrind its
     * vfork becomes a fork and a missing program is only an exit 127 */
    if (driver_cmd_find(c->dc_argv[0], path, sizeof(path)) < 0) {
        error = paved_error_set(
            PAVED_EUNAVAILABLE, "%s: %s not found: no such executable%s",
            c->dc_what, c->dc_argv[0],
            strchr(c->dc_argv[0], '/') != NULL ? "" : " in PATH");
        goto out;
    }
    if ((envp = cmd_environ(c->dc_env)) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    if ((input != NULL && pipe2(inp, O_CLOEXEC) < 0) ||
        pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
        error = paved_error_set(PAVED_ERROR, "%s: pipe: %s", c->dc_what,
                                strerror(errno));
        goto out;
    }
    if ((error = cmd_spawn(&pid, path, c->dc_argv, envp, inp[0], outp[1],
                           errp[1])) < 0) {
        pid = -1;
        goto out;
    }
    cmd_close(&inp[0]);
    cmd_close(&outp[1]);
    cmd_close(&errp[1]);
    if (inp[1] >= 0)
        fcntl(inp[1], F_SETFL, fcntl(inp[1], F_GETFL) | O_NONBLOCK);
    fcntl(outp[0], F_SETFL, fcntl(outp[0], F_GETFL) | O_NONBLOCK);
    fcntl(errp[0], F_SETFL, fcntl(errp[0], F_GETFL) | O_NONBLOCK);
    deadline =
        cmd_now_ms() +
        1000LL * (c->dc_timeout > 0 ? c->dc_timeout : EXEC_DEFAULT_TIMEOUT);
    for (;;) {
        if (!exited && waitpid(pid, &status, WNOHANG) == pid) {
            exited = true;
            exited_at = cmd_now_ms();
            cmd_close(&inp[1]); /* nobody left to read it */
        }
        now = cmd_now_ms();
        if (exited && outp[0] < 0 && errp[0] < 0)
            break;
        /* a background process it started may hold the pipes for ever */
        if (exited && now - exited_at >= CMD_GRACE_MS)
            break;
        if (now >= deadline) {
            timed_out = true;
            break;
        }
        n = 0;
        if (inp[1] >= 0)
            pf[n++] = (struct pollfd){.fd = inp[1], .events = POLLOUT};
        if (outp[0] >= 0)
            pf[n++] = (struct pollfd){.fd = outp[0], .events = POLLIN};
        if (errp[0] >= 0)
            pf[n++] = (struct pollfd){.fd = errp[0], .events = POLLIN};
        /* the exit is noticed by polling waitpid: no SIGCHLD handler in
         * a library that runs inside the daemon */
        wait_ms = (int)(deadline - now < 50 ? deadline - now : 50);
        if (poll(pf, (nfds_t)n, wait_ms) < 0 && errno != EINTR) {
            error = paved_error_set(PAVED_ERROR, "%s: poll: %s", c->dc_what,
                                    strerror(errno));
            goto out;
        }
        for (i = 0; i < n; i++) {
            if (pf[i].revents == 0)
                continue;
            if (pf[i].fd == inp[1]) {
                w = cmd_write(inp[1], input, in_left);
                if (w > 0) {
                    input += w;
                    in_left -= (size_t)w;
                }
                if ((w < 0 && errno != EAGAIN && errno != EINTR) ||
                    in_left == 0)
                    cmd_close(&inp[1]);
            } else if (pf[i].fd == outp[0]) {
                if (!cmd_read(outp[0], &ob, &trunc))
                    cmd_close(&outp[0]);
            } else if (!cmd_read(errp[0], &eb, &trunc)) {
                cmd_close(&errp[0]);
            }
        }
    }
    if (timed_out) {
        kill(-pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        pid = -1;
        cmd_show(d, "stdout", &ob);
        cmd_show(d, "stderr", &eb);
        cmd_tail(tail, sizeof(tail), &eb, &ob);
        error = paved_error_set(
            PAVED_ERROR,
            "%s: `%s` timed out after %us and was "
            "killed: %s",
            c->dc_what, shown,
            c->dc_timeout > 0 ? c->dc_timeout : EXEC_DEFAULT_TIMEOUT, tail);
        goto out;
    }
    pid = -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        cmd_show(d, "stdout", &ob);
        cmd_show(d, "stderr", &eb);
        cmd_tail(tail, sizeof(tail), &eb, &ob);
        if (WIFEXITED(status))
            error =
                paved_error_set(PAVED_ERROR, "%s: `%s` exit status %d: %s",
                                c->dc_what, shown, WEXITSTATUS(status), tail);
        else
            error = paved_error_set(PAVED_ERROR,
                                    "%s: `%s` killed by signal "
                                    "%d: %s",
                                    c->dc_what, shown, WTERMSIG(status), tail);
        goto out;
    }
    if (trunc && d->d_progress != NULL)
        fprintf(d->d_progress, "  (output of %s past %d bytes dropped)\n",
                c->dc_what, CMD_OUT_MAX);
    if (out != NULL && (*out = paved_buf_detach(&ob, NULL)) == NULL)
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
out:
    if (pid > 0) {
        kill(-pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    cmd_close(&inp[0]);
    cmd_close(&inp[1]);
    cmd_close(&outp[0]);
    cmd_close(&outp[1]);
    cmd_close(&errp[0]);
    cmd_close(&errp[1]);
    free(envp);
    paved_buf_dispose(&line);
    paved_buf_dispose(&ob);
    paved_buf_dispose(&eb);
    return error;
}

/* ---- the exec driver ----------------------------------------------- */

static const char *
exec_str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));

    return s != NULL ? s : "";
}

/* The values a phase's placeholders and PAVED_* variables stand for:
 * the candidate's (the version the phase is about) and the stable's. */
struct exec_vars {
    const char *ev_service, *ev_environment, *ev_weight;
    const json_t *ev_version; /* VERSION object */
    const json_t *ev_stable;  /* VERSION object or NULL */
};

static const char *
exec_lookup(const struct exec_vars *ev, const char *name, size_t len)
{
    enum {
        FIXED_SERVICE,
        FIXED_ENVIRONMENT,
        FIXED_WEIGHT,
        OF_VERSION,
        OF_STABLE
    };
    static const struct {
        const char *name;
        int from;
        const char *key; /* of the VERSION object */
    } ph[] = {
        {"service", FIXED_SERVICE, NULL},
        {"environment", FIXED_ENVIRONMENT, NULL},
        {"weight", FIXED_WEIGHT, NULL},
        {"version", OF_VERSION, "version"},
        {"artifact", OF_VERSION, "artifact"},
        {"digest", OF_VERSION, "digest"},
        {"sha", OF_VERSION, "sha"},
        {"stable_version", OF_STABLE, "version"},
        {"stable_artifact", OF_STABLE, "artifact"},
    };
    size_t i;

    for (i = 0; i < sizeof(ph) / sizeof(ph[0]); i++) {
        if (strlen(ph[i].name) != len || memcmp(ph[i].name, name, len) != 0)
            continue;
        switch (ph[i].from) {
        case FIXED_SERVICE:
            return ev->ev_service;
        case FIXED_ENVIRONMENT:
            return ev->ev_environment;
        case FIXED_WEIGHT:
            return ev->ev_weight;
        case OF_VERSION:
            return exec_str(ev->ev_version, ph[i].key);
        default:
            return exec_str(ev->ev_stable, ph[i].key);
        }
    }
    return NULL;
}

/* One argument with its placeholders replaced: the value goes in as it
 * is, quotes and spaces included, and stays inside this one argument. */
static int
exec_expand(char **out, const char *arg, const struct exec_vars *ev,
            const char *what)
{
    struct paved_buf b = PAVED_BUF_INIT(EXEC_MAX_VALUE);
    const char *p = arg, *open, *close, *val;
    int error = 0;

    *out = NULL;
    while ((open = strstr(p, "{{")) != NULL && error == 0) {
        if ((close = strstr(open + 2, "}}")) == NULL)
            break;
        if ((val = exec_lookup(ev, open + 2, (size_t)(close - open - 2))) ==
            NULL) {
            error = paved_error_set(PAVED_EINVAL,
                                    "%s: unknown placeholder %.*s in \"%s\"",
                                    what, (int)(close - open + 2), open, arg);
            goto out;
        }
        if ((error = paved_buf_put(&b, p, (size_t)(open - p))) == 0)
            error = paved_buf_puts(&b, val);
        p = close + 2;
    }
    if (error == 0)
        error = paved_buf_puts(&b, p);
    if (error == 0 && (*out = paved_buf_detach(&b, NULL)) == NULL)
        error = PAVED_ENOMEM;
    if (error < 0)
        error = paved_error_set(error,
                                error == PAVED_ETOOBIG
                                    ? "%s: an argument longer than 64 KiB"
                                    : "%s: out of memory",
                                what);
out:
    paved_buf_dispose(&b);
    return error;
}

static void
exec_free_strv(char **v)
{
    size_t i;

    if (v == NULL)
        return;
    for (i = 0; v[i] != NULL; i++)
        free(v[i]);
    free(v);
}

/* Runs one phase's command for the version ev_version. */
static int
exec_phase(paved_driver *d, const char *phase, const struct paved_env_argv *av,
           const struct exec_vars *ev)
{
    static const struct {
        const char *var, *ph;
    } vars[] = {
        {"PAVED_SERVICE", "service"},
        {"PAVED_ENVIRONMENT", "environment"},
        {"PAVED_VERSION", "version"},
        {"PAVED_ARTIFACT", "artifact"},
        {"PAVED_DIGEST", "digest"},
        {"PAVED_SHA", "sha"},
        {"PAVED_WEIGHT", "weight"},
        {"PAVED_STABLE_VERSION", "stable_version"},
        {"PAVED_STABLE_ARTIFACT", "stable_artifact"},
    };
    const struct paved_env_exec *ex = paved_environment_exec(d->d_env);
    enum { NVARS = sizeof(vars) / sizeof(vars[0]) };
    char what[64], **argv = NULL, **envv = NULL;
    struct driver_cmd c;
    size_t i;
    int error = 0;

    snprintf(what, sizeof(what), "exec %s", phase);
    if ((argv = calloc(av->av_argc + 1, sizeof(*argv))) == NULL ||
        (envv = calloc(NVARS + 1, sizeof(*envv))) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < av->av_argc; i++)
        if ((error = exec_expand(&argv[i], av->av_argv[i], ev, what)) < 0)
            goto out;
    for (i = 0; i < NVARS; i++) {
        const char *val = exec_lookup(ev, vars[i].ph, strlen(vars[i].ph));
        size_t len = strlen(vars[i].var) + strlen(val) + 2;

        if ((envv[i] = malloc(len)) == NULL) {
            error = paved_error_set(PAVED_ENOMEM, "out of memory");
            goto out;
        }
        snprintf(envv[i], len, "%s=%s", vars[i].var, val);
    }
    c = (struct driver_cmd){.dc_what = what,
                            .dc_argv = argv,
                            .dc_env = envv,
                            .dc_timeout = ex->ex_timeout};
    error = driver_cmd_run(d, &c, NULL);
out:
    exec_free_strv(argv);
    exec_free_strv(envv);
    return error;
}

static int
exec_open(paved_driver *d)
{
    if (paved_environment_exec(d->d_env) == NULL)
        return paved_error_set(PAVED_EINVAL,
                               "environment %s: not an exec environment",
                               paved_environment_name(d->d_env));
    return 0;
}

static void
exec_close(paved_driver *d)
{
    (void)d;
}

static void
exec_vars_of(struct exec_vars *ev, paved_driver *d, const json_t *st,
             const char *service, const json_t *version, const char *weight)
{
    const json_t *stable = json_object_get(st, "stable");

    ev->ev_service = service;
    ev->ev_environment = paved_environment_name(d->d_env);
    ev->ev_weight = weight;
    ev->ev_version = version;
    ev->ev_stable = json_is_object(stable) ? stable : NULL;
}

static int
exec_set(json_t *st, const char *key, json_t *val)
{
    if (val == NULL || json_object_set_new(st, key, val) < 0)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    return 0;
}

static int
exec_start(paved_driver *d, json_t *st, const struct paved_version *v)
{
    const struct paved_env_exec *ex = paved_environment_exec(d->d_env);
    json_t *old = json_object_get(st, "candidate"), *cand;
    struct exec_vars ev;
    int error;

    if (json_is_object(old)) {
        driver_progress(d,
                        "%s: the candidate %s of an earlier attempt is "
                        "rolled back first",
                        v->v_service, exec_str(old, "version"));
        exec_vars_of(&ev, d, st, v->v_service, old, "0");
        if ((error = exec_phase(d, "rollback", &ex->ex_rollback, &ev)) < 0)
            return error;
    }
    /* the candidate is written down before its deploy runs: a deploy that
     * failed half-way is then known, and abort runs the rollback for it */
    if ((cand = driver_version_json(v)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    if ((error = exec_set(st, "candidate", cand)) < 0 ||
        (error = exec_set(st, "weight", json_integer(0))) < 0)
        return error;
    exec_vars_of(&ev, d, st, v->v_service, cand, "0");
    driver_progress(d, "%s: deploying %s", v->v_service, v->v_version);
    return exec_phase(d, "deploy", &ex->ex_deploy, &ev);
}

static int
exec_route(paved_driver *d, json_t *st, const char *service, unsigned weight)
{
    const struct paved_env_exec *ex = paved_environment_exec(d->d_env);
    json_t *cand = json_object_get(st, "candidate");
    struct exec_vars ev;
    char w[16];
    int error;

    if (weight > 100)
        return paved_error_set(PAVED_EINVAL, "weight %u: at most 100", weight);
    if (!json_is_object(cand))
        return paved_error_set(PAVED_EINVAL,
                               "%s: no candidate to send traffic to", service);
    if (ex->ex_shift.av_argc == 0) {
        if (weight != 100)
            return paved_error_set(PAVED_EUSAGE,
                                   "%s: exec.shift is not set, so %u%% of "
                                   "the traffic cannot be sent to %s (set "
                                   "exec.shift or deploy without a canary)",
                                   service, weight, exec_str(cand, "version"));
        driver_progress(d,
                        "%s: no exec.shift: %s takes all the traffic "
                        "when it is promoted",
                        service, exec_str(cand, "version"));
        return exec_set(st, "weight", json_integer(100));
    }
    snprintf(w, sizeof(w), "%u", weight);
    exec_vars_of(&ev, d, st, service, cand, w);
    driver_progress(d, "%s: %u%% to %s", service, weight,
                    exec_str(cand, "version"));
    if ((error = exec_phase(d, "shift", &ex->ex_shift, &ev)) < 0)
        return error;
    return exec_set(st, "weight", json_integer(weight));
}

static int
exec_promote(paved_driver *d, json_t *st, const char *service)
{
    const struct paved_env_exec *ex = paved_environment_exec(d->d_env);
    json_t *cand = json_object_get(st, "candidate");
    struct exec_vars ev;
    int error;

    if (!json_is_object(cand))
        return paved_error_set(PAVED_EINVAL, "%s: no candidate to promote",
                               service);
    exec_vars_of(&ev, d, st, service, cand, "100");
    if (ex->ex_promote.av_argc > 0) {
        driver_progress(d, "%s: promoting %s", service,
                        exec_str(cand, "version"));
        if ((error = exec_phase(d, "promote", &ex->ex_promote, &ev)) < 0)
            return error;
    } else {
        driver_progress(d, "%s: no exec.promote: %s is stable now", service,
                        exec_str(cand, "version"));
    }
    if ((error = exec_set(st, "stable", json_incref(cand))) < 0 ||
        (error = exec_set(st, "candidate", json_null())) < 0)
        return error;
    return exec_set(st, "weight", json_integer(0));
}

static int
exec_abort(paved_driver *d, json_t *st, const char *service)
{
    const struct paved_env_exec *ex = paved_environment_exec(d->d_env);
    json_t *cand = json_object_get(st, "candidate");
    struct exec_vars ev;
    int error;

    if (!json_is_object(cand)) {
        driver_progress(d, "%s: no candidate: nothing to roll back", service);
        return 0;
    }
    exec_vars_of(&ev, d, st, service, cand, "0");
    driver_progress(d, "%s: rolling back %s", service,
                    exec_str(cand, "version"));
    /* on failure the candidate stays written down: a retry runs it again */
    if ((error = exec_phase(d, "rollback", &ex->ex_rollback, &ev)) < 0)
        return error;
    if ((error = exec_set(st, "candidate", json_null())) < 0)
        return error;
    return exec_set(st, "weight", json_integer(0));
}

static int
exec_reconcile(paved_driver *d, json_t *st, const char *service, bool *changed)
{
    (void)st;
    *changed = false;
    driver_progress(d,
                    "%s: nothing to check: the exec driver cannot see "
                    "what runs (your commands own that)",
                    service);
    return 0;
}

const struct driver_ops driver_exec_ops = {
    .do_name = "exec",
    .do_open = exec_open,
    .do_close = exec_close,
    .do_start = exec_start,
    .do_route = exec_route,
    .do_promote = exec_promote,
    .do_abort = exec_abort,
    .do_reconcile = exec_reconcile,
};
