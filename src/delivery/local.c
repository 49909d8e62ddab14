/* The local deploy driver: each version of a service runs as a detached
 * process group on a loopback port (`sh -c "$start"` in its artifact
 * directory), and one nginx per environment, with everything it writes
 * under <state_dir>/nginx/, splits traffic between the stable version and
 * the candidate with weighted upstreams, changed by a graceful reload.
 * Every change rewrites <state_dir>/targets.json (Prometheus file_sd) and
 * returns only once nginx answers with the new configuration generation.
 * Never runs image artifacts, never touches an nginx or a process it did
 * not start (pids are checked against their start time), never decides
 * anything: rollout.c does. nginx is left running when paved exits, so a
 * crashed or restarted paved never takes the traffic down with it. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "delivery/driver_int.h"
#include "paved/buf.h"
#include "paved/clock.h"
#include "paved/error.h"

#define LOCAL_READY_MS 60000 /* a version must accept connections */
#define LOCAL_STOP_MS 5000   /* SIGTERM, then SIGKILL */
#define LOCAL_GEN_MS 10000   /* nginx must answer the new generation */
#define LOCAL_CONF_MAX (1 << 20)
#define LOCAL_PATH 4096

struct local {
    char lo_nginx[LOCAL_PATH]; /* the nginx program */
    char lo_dir[LOCAL_PATH];   /* <state_dir>/nginx */
    char lo_host[256];         /* of local.listen, to reach nginx */
    unsigned lo_port;
    const char *lo_listen; /* local.listen as configured */
    unsigned lo_upstream;  /* first upstream port */
};

/* ---- small helpers ---------------------------------------------------- */

static int local_path(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
local_path(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= size)
        return paved_error_set(PAVED_EINVAL, "path too long");
    return 0;
}

/* The whole of a small file, NUL-terminated; NULL when it cannot be read. */
static char *
local_read_file(const char *path, size_t max)
{
    struct paved_buf b = PAVED_BUF_INIT(max);
    char chunk[4096];
    ssize_t r;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return NULL;
    while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || paved_buf_put(&b, chunk, (size_t)r) < 0)
            break;
    }
    close(fd);
    return paved_buf_detach(&b, NULL);
}

/* The last lines of a log, for an error message. */
static void
local_log_tail(char *out, size_t size, const char *path)
{
    char buf[1536];
    ssize_t r = 0;
    off_t end;
    char *start;
    int fd, lines = 0;

    out[0] = '\0';
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return;
    end = lseek(fd, 0, SEEK_END);
    if (end > 0) {
        off_t from =
            end > (off_t)sizeof(buf) - 1 ? end - (off_t)sizeof(buf) + 1 : 0;
        r = pread(fd, buf, sizeof(buf) - 1, from);
    }
    close(fd);
    if (r <= 0)
        return;
    buf[r] = '\0';
    while (r > 0 && (buf[r - 1] == '\n' || buf[r - 1] == '\r'))
        buf[--r] = '\0';
    /* back to the start of the tenth line from the end */
    for (start = buf + r; start > buf; start--) {
        if (start[-1] == '\n' && ++lines == 10)
            break;
    }
    /* the end matters most: cut the front when it does not fit */
    {
        size_t len = strlen(start);

        if (len >= size)
            start += len - (size - 1);
        len = strlen(start);
        memcpy(out, start, len + 1);
    }
}

/* Field 22 of /proc/<pid>/stat (start time in clock ticks) and the state
 * letter; 0 when the process is not there. */
static unsigned long long
local_proc_start(pid_t pid, char *state)
{
    char path[64], *text, *p;
    unsigned long long start = 0;
    int field;

    *state = '?';
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if ((text = local_read_file(path, 4096)) == NULL)
        return 0;
    /* the command name may hold spaces and parentheses: skip past the last
     * ')'; then field 3 is the state */
    if ((p = strrchr(text, ')')) != NULL && p[1] == ' ') {
        p += 2;
        *state = *p;
        for (field = 3; field < 22 && p != NULL; field++) {
            p = strchr(p, ' ');
            if (p != NULL)
                p++;
        }
        if (p != NULL)
            start = strtoull(p, NULL, 10);
    }
    free(text);
    return start;
}

/* Does the process recorded as (pid, start) still run? A zombie does not
 * (no one may reap orphans in a container), nor a reused pid. */
static bool
local_pid_alive(pid_t pid, unsigned long long start)
{
    unsigned long long now;
    char state;

    if (pid <= 1)
        return false;
    if (kill(pid, 0) < 0 && errno != EPERM)
        return false;
    now = local_proc_start(pid, &state);
    if (now == 0 || state == 'Z' || state == 'X' || state == 'x')
        return false;
    return start == 0 || now == start;
}

static pid_t
local_json_pid(json_t *v, unsigned long long *start)
{
    json_t *p = json_object_get(v, "pid");
    json_t *s = json_object_get(v, "starttime");

    *start = json_is_integer(s) ? (unsigned long long)json_integer_value(s) : 0;
    return json_is_integer(p) ? (pid_t)json_integer_value(p) : 0;
}

static unsigned
local_json_port(json_t *v)
{
    json_t *p = json_object_get(v, "port");

    if (!json_is_integer(p) || json_integer_value(p) <= 0 ||
        json_integer_value(p) > 65535)
        return 0;
    return (unsigned)json_integer_value(p);
}

/* A VERSION object that names a process which runs. */
static bool
local_version_runs(json_t *v)
{
    unsigned long long start;
    pid_t pid;

    if (!json_is_object(v) || local_json_port(v) == 0)
        return false;
    pid = local_json_pid(v, &start);
    return local_pid_alive(pid, start);
}

static int
local_addr(struct sockaddr_in *sa, const char *host, unsigned port)
{
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return -1;
    return 0;
}

/* Is something listening (or bound) on host:port? A bind with
 * SO_REUSEADDR fails only then, not for connections in TIME_WAIT. */
static bool
local_port_taken(const char *host, unsigned port)
{
    struct sockaddr_in sa;
    int fd, one = 1;
    bool taken;

    if (local_addr(&sa, host, port) < 0)
        return false;
    if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return false;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    taken =
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno == EADDRINUSE;
    close(fd);
    return taken;
}

static int
local_connect(const char *host, unsigned port, unsigned timeout_ms)
{
    struct sockaddr_in sa;
    struct timeval tv = {(time_t)(timeout_ms / 1000u),
                         (suseconds_t)(timeout_ms % 1000u) * 1000};
    int fd;

    if (local_addr(&sa, host, port) < 0)
        return -1;
    if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return -1;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* GET path from host:port (HTTP/1.0); the body into body, the status
 * returned, -1 when nothing sensible came back. */
static int
local_http_get(const char *host, unsigned port, const char *path, char *body,
               size_t size)
{
    char req[512], resp[2048];
    size_t got = 0;
    ssize_t r;
    char *p;
    int fd, status = -1;

    body[0] = '\0';
    if ((fd = local_connect(host, port, 1000)) < 0)
        return -1;
    snprintf(req, sizeof(req),
             "GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n", path,
             host);
    if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
        goto out;
    while (got < sizeof(resp) - 1 &&
           (r = read(fd, resp + got, sizeof(resp) - 1 - got)) > 0)
        got += (size_t)r;
    resp[got] = '\0';
    if (strncmp(resp, "HTTP/1.", 7) != 0 || got < 12)
        goto out;
    status = (int)strtol(resp + 9, NULL, 10);
    if ((p = strstr(resp, "\r\n\r\n")) != NULL)
        snprintf(body, size, "%s", p + 4);
out:
    close(fd);
    return status;
}

/* Everything a child gets before exec: no fd of paved's (a listening
 * socket inherited by nginx would outlive paved), default signals. Only
 * async-signal-safe calls: paved has threads. */
static void
local_child_reset(void)
{
    static const int sigs[] = {SIGPIPE, SIGTERM, SIGINT,  SIGHUP,
                               SIGCHLD, SIGQUIT, SIGUSR1, SIGUSR2};
    sigset_t none;
    size_t i;
    int fd;

    if (close_range(3, ~0U, 0) < 0) {
        for (fd = 3; fd < 4096; fd++)
            close(fd);
    }
    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        signal(sigs[i], SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Runs argv (nginx -t, nginx, nginx -s) and waits for it; its output
 * (stdout and stderr) lands in <nginx dir>/command.out and then in out. */
static int
local_run(struct local *lo, char *const argv[], char *out, size_t size)
{
    static char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                                 "LANG=C.UTF-8", NULL};
    char path[LOCAL_PATH];
    char *text;
    pid_t pid;
    int fd, nul, status = 0, error;

    out[0] = '\0';
    if ((error = local_path(path, sizeof(path), "%s/command.out", lo->lo_dir)) <
        0)
        return error;
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || nul < 0) {
        error =
            paved_error_set(PAVED_ERROR, "open %s: %s", path, strerror(errno));
        goto out;
    }
    if ((pid = fork()) < 0) {
        error = paved_error_set(PAVED_ERROR, "fork: %s", strerror(errno));
        goto out;
    }
    if (pid == 0) {
        dup2(nul, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        local_child_reset();
        execve(argv[0], argv, envp);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            error =
                paved_error_set(PAVED_ERROR, "waitpid: %s", strerror(errno));
            goto out;
        }
    }
    if ((text = local_read_file(path, 64 * 1024)) != NULL) {
        size_t n = strlen(text);

        while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
            text[--n] = '\0';
        snprintf(out, size, "%s", text);
        free(text);
    }
    error = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
out:
    if (fd >= 0)
        close(fd);
    if (nul >= 0)
        close(nul);
    return error;
}

#define LOCAL_MAX_WORKERS 64

/* The worker processes of an nginx master now (children of pid), by a
 * scan of /proc: the old workers of a reload are told from the new ones
 * by being in this list before it. */
static size_t
local_nginx_workers(pid_t master, pid_t *out, size_t max)
{
    DIR *dh = opendir("/proc");
    struct dirent *de;
    char path[64], *text, *p;
    size_t n = 0;

    while (dh != NULL && n < max && (de = readdir(dh)) != NULL) {
        long pid = strtol(de->d_name, &p, 10);

        if (pid <= 1 || *p != '\0')
            continue;
        snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
        if ((text = local_read_file(path, 4096)) == NULL)
            continue;
        /* "pid (comm) S ppid ..." */
        if ((p = strrchr(text, ')')) != NULL && p[1] == ' ' && p[2] != '\0' &&
            p[3] == ' ' && strtol(p + 4, NULL, 10) == (long)master)
            out[n++] = (pid_t)pid;
        free(text);
    }
    if (dh != NULL)
        closedir(dh);
    return n;
}

/* An old worker no longer takes connections: it is gone, or it has
 * started its graceful shutdown (nginx renames it just before it closes
 * its listening sockets). */
static bool
local_worker_retired(pid_t pid)
{
    char path[64], *text;
    bool retired;

    if (!local_pid_alive(pid, 0))
        return true;
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    if ((text = local_read_file(path, 4096)) == NULL)
        return true;
    /* the title nginx set, as one string in its argv area */
    retired = strstr(text, "shutting down") != NULL;
    free(text);
    return retired;
}

/* Workers of this environment's nginx whose master is gone (killed with
 * SIGKILL: its workers go on serving the old configuration and hold the
 * listen address): nginx processes with our error.log open. Stopped, so
 * that a new master can take the address. */
static void
local_kill_orphans(struct local *lo)
{
    char want[LOCAL_PATH], path[LOCAL_PATH], link[LOCAL_PATH], comm[32];
    pid_t pids[LOCAL_MAX_WORKERS];
    size_t n = 0, i;
    DIR *dh, *fh;
    struct dirent *de, *fe;
    uint64_t deadline;
    char *real;

    if (local_path(path, sizeof(path), "%s/error.log", lo->lo_dir) < 0 ||
        (real = realpath(path, NULL)) == NULL)
        return;
    snprintf(want, sizeof(want), "%s", real);
    free(real);
    if ((dh = opendir("/proc")) == NULL)
        return;
    while (n < LOCAL_MAX_WORKERS && (de = readdir(dh)) != NULL) {
        char *end, *text;
        long pid = strtol(de->d_name, &end, 10);
        bool ours = false;

        if (pid <= 1 || *end != '\0')
            continue;
        snprintf(comm, sizeof(comm), "/proc/%ld/comm", pid);
        if ((text = local_read_file(comm, 64)) == NULL)
            continue;
        ours = strcmp(text, "nginx\n") == 0;
        free(text);
        snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
        if (!ours || (fh = opendir(path)) == NULL)
            continue;
        ours = false;
        while (!ours && (fe = readdir(fh)) != NULL) {
            ssize_t r;

            if (fe->d_name[0] == '.' ||
                snprintf(path, sizeof(path), "/proc/%ld/fd/%s", pid,
                         fe->d_name) >= (int)sizeof(path))
                continue;
            r = readlink(path, link, sizeof(link) - 1);
            if (r > 0) {
                link[r] = '\0';
                ours = strcmp(link, want) == 0;
            }
        }
        closedir(fh);
        if (ours)
            pids[n++] = (pid_t)pid;
    }
    closedir(dh);
    for (i = 0; i < n; i++)
        (void)kill(pids[i], SIGTERM);
    deadline = paved_clock_ms() + 2000;
    for (i = 0; i < n; i++) {
        while (local_pid_alive(pids[i], 0) && paved_clock_ms() < deadline)
            paved_sleep_ms(20);
        (void)kill(pids[i], SIGKILL);
    }
}

/* ---- nginx ------------------------------------------------------------- */

/* The pid of this environment's nginx master, 0 when it does not run. */
static pid_t
local_nginx_pid(struct local *lo)
{
    char path[LOCAL_PATH], comm[64];
    char *text, *c;
    pid_t pid;
    int fd;
    ssize_t r;

    if (local_path(path, sizeof(path), "%s/nginx.pid", lo->lo_dir) < 0 ||
        (text = local_read_file(path, 64)) == NULL)
        return 0;
    pid = (pid_t)strtol(text, NULL, 10);
    free(text);
    if (!local_pid_alive(pid, 0))
        return 0;
    /* a stale pid file may name someone else's process now */
    snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return 0;
    r = read(fd, comm, sizeof(comm) - 1);
    close(fd);
    if (r <= 0)
        return 0;
    comm[r] = '\0';
    if ((c = strchr(comm, '\n')) != NULL)
        *c = '\0';
    return strcmp(comm, "nginx") == 0 ? pid : 0;
}

static unsigned long
local_generation(struct local *lo)
{
    char path[LOCAL_PATH];
    char *text;
    unsigned long g;

    if (local_path(path, sizeof(path), "%s/generation", lo->lo_dir) < 0 ||
        (text = local_read_file(path, 64)) == NULL)
        return 0;
    g = strtoul(text, NULL, 10);
    free(text);
    return g;
}

/* Every service of the environment with its state: the one being changed
 * from memory (st), the others from their files. names sorted. */
struct local_all {
    char **la_names;
    json_t **la_sts; /* references */
    size_t la_n;
};

static void
local_all_dispose(struct local_all *a)
{
    size_t i;

    for (i = 0; i < a->la_n; i++) {
        free(a->la_names[i]);
        json_decref(a->la_sts[i]);
    }
    free(a->la_names);
    free(a->la_sts);
    memset(a, 0, sizeof(*a));
}

static int
local_all_load(struct local_all *a, paved_driver *d, const char *service,
               json_t *st)
{
    char **names = NULL;
    size_t n = 0, i, at;
    bool have = service == NULL;
    int error;

    memset(a, 0, sizeof(*a));
    if ((error = paved_driver_services(&names, &n, d)) < 0)
        return error;
    a->la_names = calloc(n + 1, sizeof(*a->la_names));
    a->la_sts = calloc(n + 1, sizeof(*a->la_sts));
    if (a->la_names == NULL || a->la_sts == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < n; i++) {
        at = a->la_n;
        if (!have && strcmp(service, names[i]) < 0) {
            /* keep the order sorted: the service being changed goes here */
            if ((a->la_names[at] = strdup(service)) == NULL) {
                error = paved_error_set(PAVED_ENOMEM, "out of memory");
                goto out;
            }
            a->la_sts[at] = json_incref(st);
            a->la_n++;
            have = true;
            at = a->la_n;
        }
        if (service != NULL && strcmp(service, names[i]) == 0) {
            a->la_sts[at] = json_incref(st);
            have = true;
        } else if ((error = driver_state_load(&a->la_sts[at], d, names[i])) <
                   0) {
            goto out;
        }
        a->la_names[at] = names[i];
        names[i] = NULL;
        a->la_n++;
    }
    if (!have) {
        if ((a->la_names[a->la_n] = strdup(service)) == NULL) {
            error = paved_error_set(PAVED_ENOMEM, "out of memory");
            goto out;
        }
        a->la_sts[a->la_n++] = json_incref(st);
    }
    error = 0;
out:
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (error < 0)
        local_all_dispose(a);
    return error;
}

/* The upstream servers of one service, by the rules of route(): the
 * candidate gets weight percent, stable the rest; a weight of 0 leaves a
 * server out (nginx refuses weight=0), and so does a version that does
 * not run (nginx must never route to it). Returns how many were written. */
static int
local_conf_servers(struct paved_buf *b, json_t *st)
{
    json_t *sv = json_object_get(st, "stable");
    json_t *cv = json_object_get(st, "candidate");
    json_t *w = json_object_get(st, "weight");
    unsigned weight = json_is_integer(w) ? (unsigned)json_integer_value(w) : 0;
    bool srun = local_version_runs(sv), crun = local_version_runs(cv);
    unsigned sw, cw;
    int n = 0;

    if (weight > 100)
        weight = 100;
    sw = crun ? 100 - weight : 100;
    cw = srun ? weight : (weight > 0 ? 100 : 0);
    if (srun && sw > 0) {
        paved_buf_printf(b, "        server 127.0.0.1:%u weight=%u;\n",
                         local_json_port(sv), sw);
        n++;
    }
    if (crun && cw > 0) {
        paved_buf_printf(b, "        server 127.0.0.1:%u weight=%u;\n",
                         local_json_port(cv), cw);
        n++;
    }
    return n;
}

/* Which version answered, as a response header: the upstream address
 * mapped to the version's label (labels are checked by driver.c: no
 * quote or brace can reach this text). For people and tests looking at
 * a canary from outside. */
static void
local_conf_versions(struct paved_buf *b, struct local_all *a)
{
    size_t i, k;

    paved_buf_puts(b, "    map $upstream_addr $paved_version {\n"
                      "        default \"\";\n");
    for (i = 0; i < a->la_n; i++) {
        const char *track[] = {"stable", "candidate"};
        for (k = 0; k < 2; k++) {
            json_t *v = json_object_get(a->la_sts[i], track[k]);
            const char *label =
                json_string_value(json_object_get(v, "version"));
            if (label != NULL && local_version_runs(v))
                paved_buf_printf(b, "        \"127.0.0.1:%u\" \"%s\";\n",
                                 local_json_port(v), label);
        }
    }
    paved_buf_puts(b, "    }\n");
}

static void
local_conf_generation(struct paved_buf *b, unsigned long gen)
{
    paved_buf_printf(b,
                     "        location = /.paved/generation {\n"
                     "            default_type text/plain;\n"
                     "            return 200 \"%lu\\n\";\n"
                     "        }\n",
                     gen);
}

static int
local_render_conf(struct paved_buf *b, paved_driver *d, struct local_all *a,
                  unsigned long gen)
{
    struct local *lo = d->d_impl;
    struct paved_buf ups = PAVED_BUF_INIT(LOCAL_CONF_MAX);
    size_t i;
    int error;

    paved_buf_printf(b,
                     "# written by paved (local driver) for environment %s:\n"
                     "# every change rewrites it; edits are lost\n",
                     paved_environment_name(d->d_env));
    /* as root the workers would run as nobody, who cannot enter the 0700
     * state directory where the temporary files live */
    if (geteuid() == 0)
        paved_buf_puts(b, "user root;\n");
    paved_buf_printf(b,
                     "worker_processes 1;\n"
                     "pid %s/nginx.pid;\n"
                     "error_log %s/error.log warn;\n"
                     "events {\n    worker_connections 512;\n}\n"
                     "http {\n"
                     "    access_log %s/access.log;\n"
                     "    client_body_temp_path %s/tmp/body;\n"
                     "    proxy_temp_path %s/tmp/proxy;\n"
                     "    fastcgi_temp_path %s/tmp/fastcgi;\n"
                     "    uwsgi_temp_path %s/tmp/uwsgi;\n"
                     "    scgi_temp_path %s/tmp/scgi;\n"
                     "    server_tokens off;\n"
                     /* a retry on the other version would hide a canary's
                      * failures from the analysis */
                     "    proxy_next_upstream off;\n"
                     "    proxy_connect_timeout 5s;\n",
                     lo->lo_dir, lo->lo_dir, lo->lo_dir, lo->lo_dir, lo->lo_dir,
                     lo->lo_dir, lo->lo_dir, lo->lo_dir);
    local_conf_versions(b, a);
    for (i = 0; i < a->la_n; i++) {
        paved_buf_clear(&ups);
        if (local_conf_servers(&ups, a->la_sts[i]) > 0)
            paved_buf_printf(b, "    upstream paved_%s {\n%s    }\n",
                             a->la_names[i], ups.b_ptr);
    }
    for (i = 0; i < a->la_n; i++) {
        paved_buf_clear(&ups);
        /* the first service by name answers requests for any other Host */
        paved_buf_printf(b,
                         "    server {\n"
                         "        listen %s%s;\n"
                         "        server_name %s %s.localhost;\n",
                         lo->lo_listen, i == 0 ? " default_server" : "",
                         a->la_names[i], a->la_names[i]);
        local_conf_generation(b, gen);
        if (local_conf_servers(&ups, a->la_sts[i]) > 0)
            paved_buf_printf(b,
                             "        location / {\n"
                             "            proxy_pass http://paved_%s;\n"
                             "            proxy_set_header Host $host;\n"
                             "            proxy_set_header X-Forwarded-For "
                             "$proxy_add_x_forwarded_for;\n"
                             "            add_header X-Paved-Version "
                             "$paved_version always;\n"
                             "        }\n",
                             a->la_names[i]);
        else
            paved_buf_puts(b, "        location / {\n"
                              "            return 503;\n"
                              "        }\n");
        paved_buf_puts(b, "    }\n");
    }
    if (a->la_n == 0) {
        paved_buf_printf(b, "    server {\n        listen %s default_server;\n",
                         lo->lo_listen);
        local_conf_generation(b, gen);
        paved_buf_puts(b, "        location / {\n            return 503;\n"
                          "        }\n    }\n");
    }
    error = paved_buf_puts(b, "}\n");
    paved_buf_dispose(&ups);
    if (error < 0 || b->b_ptr == NULL)
        return paved_error_set(PAVED_ENOMEM, "nginx configuration: too large");
    return 0;
}

static int
local_target(json_t *arr, paved_driver *d, const char *service, json_t *v,
             const char *track)
{
    char addr[64];
    json_t *o;

    if (!local_version_runs(v))
        return 0;
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", local_json_port(v));
    o = json_pack("{s:[s],s:{s:s,s:s,s:s,s:s}}", "targets", addr, "labels",
                  "service", service, "version",
                  json_string_value(json_object_get(v, "version")) != NULL
                      ? json_string_value(json_object_get(v, "version"))
                      : "",
                  "env", paved_environment_name(d->d_env), "track", track);
    if (o == NULL || json_array_append_new(arr, o) < 0)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    return 0;
}

static int
local_write_targets(paved_driver *d, struct local_all *a)
{
    char path[LOCAL_PATH];
    json_t *arr = json_array();
    char *text = NULL;
    size_t i;
    int error = 0;

    if (arr == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    for (i = 0; i < a->la_n && error == 0; i++) {
        error = local_target(arr, d, a->la_names[i],
                             json_object_get(a->la_sts[i], "stable"), "stable");
        if (error == 0)
            error = local_target(arr, d, a->la_names[i],
                                 json_object_get(a->la_sts[i], "candidate"),
                                 "canary");
    }
    if (error == 0 && (error = local_path(path, sizeof(path), "%s/targets.json",
                                          d->d_state_dir)) == 0) {
        if ((text = json_dumps(arr, JSON_INDENT(2))) == NULL)
            error = paved_error_set(PAVED_ENOMEM, "out of memory");
        else
            error = driver_write_atomic(path, text, 0644);
    }
    free(text);
    json_decref(arr);
    return error;
}

static bool
local_st_has_versions(json_t *st)
{
    return json_is_object(json_object_get(st, "stable")) ||
           json_is_object(json_object_get(st, "candidate"));
}

/* Rewrites nginx.conf and targets.json for every service (st standing for
 * service), validates, reloads or starts nginx, and waits until nginx
 * answers with the new generation. */
static int
local_apply(paved_driver *d, const char *service, json_t *st)
{
    struct local *lo = d->d_impl;
    struct paved_buf conf = PAVED_BUF_INIT(LOCAL_CONF_MAX);
    struct local_all all;
    char cnew[LOCAL_PATH], cpath[LOCAL_PATH], gpath[LOCAL_PATH];
    char prefix[LOCAL_PATH], elog[LOCAL_PATH], out[2048], body[64], gtext[32];
    unsigned long gen = local_generation(lo) + 1, seen = 0;
    pid_t old[LOCAL_MAX_WORKERS];
    size_t nold = 0, i;
    uint64_t deadline;
    pid_t pid;
    int error, rc;

    if ((error = local_all_load(&all, d, service, st)) < 0)
        return error;
    if ((error = local_path(cnew, sizeof(cnew), "%s/nginx.conf.new",
                            lo->lo_dir)) < 0 ||
        (error = local_path(cpath, sizeof(cpath), "%s/nginx.conf",
                            lo->lo_dir)) < 0 ||
        (error = local_path(gpath, sizeof(gpath), "%s/generation",
                            lo->lo_dir)) < 0 ||
        (error = local_path(prefix, sizeof(prefix), "%s/", lo->lo_dir)) < 0 ||
        (error = local_path(elog, sizeof(elog), "%s/error.log", lo->lo_dir)) <
            0)
        goto out;
    if ((error = local_render_conf(&conf, d, &all, gen)) < 0 ||
        (error = driver_write_atomic(cnew, conf.b_ptr, 0600)) < 0)
        goto out;
    {
        char *const argv[] = {lo->lo_nginx, "-t", "-q", "-p", prefix,
                              "-c",         cnew, "-e", elog, NULL};

        if ((rc = local_run(lo, argv, out, sizeof(out))) != 0) {
            error = rc < 0 ? rc
                           : paved_error_set(PAVED_ERROR,
                                             "nginx rejected the configuration "
                                             "%s: %s",
                                             cnew, out);
            goto out;
        }
    }
    if (rename(cnew, cpath) < 0) {
        error = paved_error_set(PAVED_ERROR, "rename %s: %s", cnew,
                                strerror(errno));
        goto out;
    }
    snprintf(gtext, sizeof(gtext), "%lu\n", gen);
    if ((error = driver_write_atomic(gpath, gtext, 0600)) < 0 ||
        (error = local_write_targets(d, &all)) < 0)
        goto out;
    if ((pid = local_nginx_pid(lo)) > 0) {
        nold = local_nginx_workers(pid, old, LOCAL_MAX_WORKERS);
        /* SIGHUP is `nginx -s reload`: new workers with the new file, the
         * old ones finish their requests */
        if (kill(pid, SIGHUP) < 0) {
            error = paved_error_set(PAVED_ERROR, "reload nginx (pid %d): %s",
                                    (int)pid, strerror(errno));
            goto out;
        }
        driver_progress(d, "nginx reloaded (generation %lu)", gen);
    } else {
        char *const argv[] = {lo->lo_nginx, "-p", prefix, "-c",
                              cpath,        "-e", elog,   NULL};

        local_kill_orphans(lo);
        if (local_port_taken(lo->lo_host, lo->lo_port)) {
            error = paved_error_set(PAVED_EUNAVAILABLE,
                                    "local.listen %s is in use by another "
                                    "program (not this environment's nginx): "
                                    "free it or change local.listen in "
                                    "environment %s",
                                    lo->lo_listen,
                                    paved_environment_name(d->d_env));
            goto out;
        }
        if ((rc = local_run(lo, argv, out, sizeof(out))) != 0) {
            error = rc < 0 ? rc
                           : paved_error_set(PAVED_ERROR,
                                             "nginx did not start: %s (see "
                                             "%s)",
                                             out, elog);
            goto out;
        }
        driver_progress(d, "nginx started on %s (generation %lu)",
                        lo->lo_listen, gen);
    }
    /* the step is done only when nginx routes by the new file */
    deadline = paved_clock_ms() + LOCAL_GEN_MS;
    for (;;) {
        if (local_http_get(lo->lo_host, lo->lo_port, "/.paved/generation", body,
                           sizeof(body)) == 200) {
            seen = strtoul(body, NULL, 10);
            /* a new worker answers; the old ones may still accept until
             * they have seen their signal */
            for (i = 0; seen == gen && i < nold; i++)
                if (!local_worker_retired(old[i]))
                    break;
            if (seen == gen && i == nold)
                break;
        }
        if (paved_clock_ms() > deadline) {
            error = paved_error_set(PAVED_ERROR,
                                    "nginx on %s did not take generation %lu "
                                    "within %u s (it answers %lu); see %s",
                                    lo->lo_listen, gen, LOCAL_GEN_MS / 1000,
                                    seen, elog);
            goto out;
        }
        paved_sleep_ms(20);
    }
    error = 0;
out:
    paved_buf_dispose(&conf);
    local_all_dispose(&all);
    return error;
}

/* ---- versions ---------------------------------------------------------- */

/* SIGTERM to the version's process group, SIGKILL after 5 s. */
static void
local_stop(paved_driver *d, const char *service, json_t *v)
{
    unsigned long long start;
    pid_t pid;
    uint64_t deadline;
    char state;

    if (!json_is_object(v))
        return;
    pid = local_json_pid(v, &start);
    if (pid <= 1)
        return;
    if (local_pid_alive(pid, start)) {
        driver_progress(d, "stopping %s %s (pid %d)", service,
                        json_string_value(json_object_get(v, "version")),
                        (int)pid);
        if (kill(-pid, SIGTERM) < 0)
            (void)kill(pid, SIGTERM);
        deadline = paved_clock_ms() + LOCAL_STOP_MS;
        while (local_pid_alive(pid, start) && paved_clock_ms() < deadline)
            paved_sleep_ms(20);
    } else if (local_proc_start(pid, &state) != 0 && start != 0 &&
               local_proc_start(pid, &state) != start) {
        return; /* the pid is someone else's now: never signal it */
    }
    /* what is left of the group (children of a shell) */
    (void)kill(-pid, SIGKILL);
}

/* A version label names a log file: nothing else than [A-Za-z0-9._+-]. */
static int
local_check_label(const char *version)
{
    const char *p;

    if (version[0] == '.' || version[0] == '-')
        goto bad;
    for (p = version; *p != '\0'; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-' ||
              *p == '+'))
            goto bad;
    }
    return 0;
bad:
    return paved_error_set(PAVED_EINVAL,
                           "version label \"%s\": use letters, digits, "
                           "'.', '_', '+' and '-'",
                           version);
}

static bool
local_port_used(json_t *st, unsigned port)
{
    return local_json_port(json_object_get(st, "stable")) == port ||
           local_json_port(json_object_get(st, "candidate")) == port;
}

/* A port of upstream_port..+9 no version of the environment holds and
 * nothing listens on. */
static int
local_pick_port(unsigned *out, paved_driver *d, const char *service, json_t *st)
{
    struct local *lo = d->d_impl;
    struct local_all all;
    unsigned port;
    size_t i;
    int error;

    if ((error = local_all_load(&all, d, service, st)) < 0)
        return error;
    for (port = lo->lo_upstream; port < lo->lo_upstream + PAVED_ENV_LOCAL_PORTS;
         port++) {
        for (i = 0; i < all.la_n; i++)
            if (local_port_used(all.la_sts[i], port))
                break;
        if (i == all.la_n && !local_port_taken("127.0.0.1", port))
            break;
    }
    local_all_dispose(&all);
    if (port == lo->lo_upstream + PAVED_ENV_LOCAL_PORTS)
        return paved_error_set(PAVED_EUNAVAILABLE,
                               "environment %s: all ports %u to %u are taken "
                               "(local.upstream_port)",
                               paved_environment_name(d->d_env),
                               lo->lo_upstream,
                               lo->lo_upstream + PAVED_ENV_LOCAL_PORTS - 1);
    *out = port;
    return 0;
}

/* Starts the version described by v (a VERSION object) on a free port,
 * fully detached (its own session, stdio on /dev/null and its log), and
 * waits until it accepts connections. v gets "port", "pid", "starttime". */
static int
local_spawn(paved_driver *d, const char *service, json_t *v, json_t *st)
{
    const char *version = json_string_value(json_object_get(v, "version"));
    const char *artifact = json_string_value(json_object_get(v, "artifact"));
    const char *start = json_string_value(json_object_get(v, "start"));
    const char *path_env = getenv("PATH"), *home = getenv("HOME");
    char logpath[LOCAL_PATH], tail[1200];
    char e_port[32], e_svc[128], e_ver[256], e_env[256], e_path[LOCAL_PATH],
        e_home[LOCAL_PATH];
    char *envp[8], *argv[4];
    struct stat sb;
    unsigned port = 0;
    unsigned long long pstart = 0;
    uint64_t deadline;
    pid_t child, pid = 0;
    int pfd[2] = {-1, -1}, logfd = -1, nul = -1, status, error, fd;
    ssize_t r;

    if (version == NULL || artifact == NULL)
        return paved_error_set(PAVED_EINVAL,
                               "%s: a version without a label "
                               "or an artifact",
                               service);
    if ((error = local_check_label(version)) < 0)
        return error;
    if (stat(artifact, &sb) < 0)
        return paved_error_set(PAVED_ENOTFOUND,
                               "%s %s: artifact directory %s: %s", service,
                               version, artifact, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return paved_error_set(PAVED_EINVAL,
                               "%s %s: artifact %s is not a directory", service,
                               version, artifact);
    if ((error = local_pick_port(&port, d, service, st)) < 0)
        return error;
    if ((error = local_path(logpath, sizeof(logpath), "%s/%s-%s.log",
                            d->d_state_dir, service, version)) < 0)
        return error;
    snprintf(e_port, sizeof(e_port), "PORT=%u", port);
    snprintf(e_svc, sizeof(e_svc), "PAVED_SERVICE=%s", service);
    snprintf(e_ver, sizeof(e_ver), "PAVED_VERSION=%s", version);
    snprintf(e_env, sizeof(e_env), "PAVED_ENV=%s",
             paved_environment_name(d->d_env));
    snprintf(e_path, sizeof(e_path), "PATH=%s",
             path_env != NULL ? path_env : "/usr/local/bin:/usr/bin:/bin");
    snprintf(e_home, sizeof(e_home), "HOME=%s", home != NULL ? home : "/");
    envp[0] = e_port;
    envp[1] = e_svc;
    envp[2] = e_ver;
    envp[3] = e_env;
    envp[4] = e_path;
    envp[5] = e_home;
    envp[6] = "LANG=C.UTF-8";
    envp[7] = NULL;
    argv[0] = "/bin/sh";
    argv[1] = "-c";
    argv[2] = (char *)(start != NULL ? start : "make run");
    argv[3] = NULL;

    logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (logfd < 0 || nul < 0 || pipe2(pfd, O_CLOEXEC) < 0) {
        error = paved_error_set(PAVED_ERROR, "open %s: %s", logpath,
                                strerror(errno));
        goto out;
    }
    driver_progress(d, "starting %s %s on 127.0.0.1:%u: sh -c %s", service,
                    version, port, argv[2]);
    if ((child = fork()) < 0) {
        error = paved_error_set(PAVED_ERROR, "fork: %s", strerror(errno));
        goto out;
    }
    if (child == 0) {
        /* the intermediate child: its child is reparented away from paved
         * and outlives it; only its pid comes back */
        pid_t g = fork();

        if (g == 0) {
            (void)setsid(); /* its own session and process group */
            if (chdir(artifact) < 0)
                _exit(126);
            dup2(nul, 0);
            dup2(logfd, 1);
            dup2(logfd, 2);
            local_child_reset();
            execve(argv[0], argv, envp);
            _exit(127);
        }
        (void)!write(pfd[1], &g, sizeof(g));
        _exit(g < 0 ? 1 : 0);
    }
    close(pfd[1]);
    pfd[1] = -1;
    do
        r = read(pfd[0], &pid, sizeof(pid));
    while (r < 0 && errno == EINTR);
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    if (r != (ssize_t)sizeof(pid) || pid <= 0) {
        error = paved_error_set(PAVED_ERROR, "%s %s: could not start it",
                                service, version);
        goto out;
    }
    /* the start time tells this process from a later one with its pid */
    {
        char state;

        pstart = local_proc_start(pid, &state); /* 0: gone already */
    }
    if (json_object_set_new(v, "port", json_integer(port)) < 0 ||
        json_object_set_new(v, "pid", json_integer(pid)) < 0 ||
        json_object_set_new(v, "starttime", json_integer((json_int_t)pstart)) <
            0) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    deadline = paved_clock_ms() + LOCAL_READY_MS;
    for (;;) {
        if (!local_pid_alive(pid, pstart)) {
            local_log_tail(tail, sizeof(tail), logpath);
            error =
                paved_error_set(PAVED_ERROR,
                                "%s %s exited before it accepted "
                                "connections on port %u; the end of %s:\n%s",
                                service, version, port, logpath, tail);
            goto out;
        }
        if ((fd = local_connect("127.0.0.1", port, 500)) >= 0) {
            close(fd);
            break;
        }
        if (paved_clock_ms() > deadline) {
            local_log_tail(tail, sizeof(tail), logpath);
            local_stop(d, service, v);
            error = paved_error_set(PAVED_ERROR,
                                    "%s %s did not accept connections on port "
                                    "%u within %u s; the end of %s:\n%s",
                                    service, version, port,
                                    LOCAL_READY_MS / 1000, logpath, tail);
            goto out;
        }
        paved_sleep_ms(50);
    }
    driver_progress(d, "%s %s ready on 127.0.0.1:%u (pid %d)", service, version,
                    port, (int)pid);
    error = 0;
out:
    if (pfd[0] >= 0)
        close(pfd[0]);
    if (pfd[1] >= 0)
        close(pfd[1]);
    if (logfd >= 0)
        close(logfd);
    if (nul >= 0)
        close(nul);
    return error;
}

/* ---- the driver table -------------------------------------------------- */

static int
local_find_nginx(char *out, size_t size)
{
    static const char *const fixed[] = {"/usr/sbin/nginx",
                                        "/usr/local/sbin/nginx",
                                        "/usr/local/nginx/sbin/nginx"};
    const char *path = getenv("PATH"), *p, *colon;
    size_t i, len;

    for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        if (access(fixed[i], X_OK) == 0) {
            snprintf(out, size, "%s", fixed[i]);
            return 0;
        }
    }
    for (p = path; p != NULL && *p != '\0'; p = colon ? colon + 1 : NULL) {
        colon = strchr(p, ':');
        len = colon != NULL ? (size_t)(colon - p) : strlen(p);
        if (len > 0 && len + 7 < size) {
            memcpy(out, p, len);
            memcpy(out + len, "/nginx", 7);
            if (access(out, X_OK) == 0)
                return 0;
        }
    }
    return paved_error_set(PAVED_EUNAVAILABLE,
                           "nginx not found: install Debian's nginx-light "
                           "(scripts/deps.sh test installs it)");
}

static int
local_open(paved_driver *d)
{
    const struct paved_env_local *cfg = paved_environment_local(d->d_env);
    struct local *lo;
    const char *colon, *p;
    char tmp[LOCAL_PATH];
    size_t hlen;
    int error;

    if (cfg == NULL || cfg->lo_listen == NULL || cfg->lo_upstream_port == 0)
        return paved_error_set(PAVED_EINVAL,
                               "environment %s: local.listen and "
                               "local.upstream_port are required",
                               paved_environment_name(d->d_env));
    /* the address goes into nginx.conf as it is */
    for (p = cfg->lo_listen; *p != '\0'; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
              (*p >= 'A' && *p <= 'Z') || *p == '.' || *p == ':' || *p == '-'))
            return paved_error_set(PAVED_EINVAL,
                                   "local.listen \"%s\": use "
                                   "HOST:PORT",
                                   cfg->lo_listen);
    if ((lo = calloc(1, sizeof(*lo))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    if ((error = local_find_nginx(lo->lo_nginx, sizeof(lo->lo_nginx))) < 0)
        goto out;
    colon = strrchr(cfg->lo_listen, ':');
    hlen = colon != NULL ? (size_t)(colon - cfg->lo_listen) : 0;
    if (colon == NULL || hlen >= sizeof(lo->lo_host)) {
        error = paved_error_set(PAVED_EINVAL,
                                "local.listen \"%s\": use "
                                "HOST:PORT",
                                cfg->lo_listen);
        goto out;
    }
    memcpy(lo->lo_host, cfg->lo_listen, hlen);
    lo->lo_host[hlen] = '\0';
    /* nginx listens on every address: reach it on loopback */
    if (hlen == 0 || strcmp(lo->lo_host, "0.0.0.0") == 0 ||
        strcmp(lo->lo_host, "*") == 0 || strcmp(lo->lo_host, "localhost") == 0)
        snprintf(lo->lo_host, sizeof(lo->lo_host), "127.0.0.1");
    lo->lo_port = (unsigned)strtoul(colon + 1, NULL, 10);
    lo->lo_listen = cfg->lo_listen;
    lo->lo_upstream = cfg->lo_upstream_port;
    if ((error = local_path(lo->lo_dir, sizeof(lo->lo_dir), "%s/nginx",
                            d->d_state_dir)) < 0 ||
        (error = local_path(tmp, sizeof(tmp), "%s/tmp", lo->lo_dir)) < 0)
        goto out;
    if ((mkdir(lo->lo_dir, 0700) < 0 && errno != EEXIST) ||
        (mkdir(tmp, 0700) < 0 && errno != EEXIST)) {
        error =
            paved_error_set(PAVED_ERROR, "mkdir %s: %s", tmp, strerror(errno));
        goto out;
    }
    d->d_impl = lo;
    lo = NULL;
    error = 0;
out:
    free(lo);
    return error;
}

static void
local_close(paved_driver *d)
{
    free(d->d_impl);
    d->d_impl = NULL;
}

static json_t *
local_obj(json_t *st, const char *key)
{
    json_t *v = json_object_get(st, key);

    return json_is_object(v) ? v : NULL;
}

/* Replaces the contents of st by those of from. */
static void
local_restore(json_t *st, json_t *from)
{
    json_object_clear(st);
    json_object_update(st, from);
}

static int
local_set(json_t *st, const char *key, json_t *v)
{
    if (json_object_set_new(st, key, v != NULL ? v : json_null()) < 0)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    return 0;
}

static int
local_start(paved_driver *d, json_t *st, const struct paved_version *v)
{
    json_t *cand = NULL, *old;
    int error;

    if (strcmp(v->v_kind, "directory") != 0)
        return paved_error_set(PAVED_EINVAL,
                               "the local driver runs directory artifacts; "
                               "build with format: directory (%s %s is an "
                               "%s: %s)",
                               v->v_service, v->v_version, v->v_kind,
                               v->v_artifact);
    if ((error = paved_driver_check_version(v->v_version)) < 0)
        return error;
    if (json_object_get(st, "stable") == NULL &&
        (error = local_set(st, "stable", NULL)) < 0)
        return error;
    if ((old = local_obj(st, "candidate")) != NULL) {
        /* left by an earlier attempt: out of the routing, then stopped */
        json_incref(old);
        if ((error = local_set(st, "candidate", NULL)) < 0 ||
            (error = local_set(st, "weight", json_integer(0))) < 0) {
            json_decref(old);
            return error;
        }
        if (local_version_runs(old) &&
            (error = local_apply(d, v->v_service, st)) < 0) {
            local_set(st, "candidate", old);
            return error;
        }
        local_stop(d, v->v_service, old);
        json_decref(old);
    }
    if ((cand = driver_version_json(v)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    if ((error = local_spawn(d, v->v_service, cand, st)) < 0) {
        /* a version that never became ready is not kept */
        local_stop(d, v->v_service, cand);
        json_decref(cand);
        return error;
    }
    if ((error = local_set(st, "candidate", cand)) < 0 ||
        (error = local_set(st, "weight", json_integer(0))) < 0) {
        local_stop(d, v->v_service, cand);
        return error;
    }
    /* known on disk at once: a crash from here on must not forget it */
    if ((error = driver_state_save(d, v->v_service, st)) < 0)
        return error;
    return local_apply(d, v->v_service, st);
}

static int
local_route(paved_driver *d, json_t *st, const char *service, unsigned weight)
{
    if (weight > 0 && local_obj(st, "candidate") == NULL)
        return paved_error_set(PAVED_ENOTFOUND,
                               "%s has no candidate in environment %s to "
                               "route %u%% to",
                               service, paved_environment_name(d->d_env),
                               weight);
    if (local_set(st, "weight", json_integer(weight)) < 0)
        return PAVED_ENOMEM;
    driver_progress(d, "%s: %u%% to the candidate", service, weight);
    return local_apply(d, service, st);
}

static int
local_promote(paved_driver *d, json_t *st, const char *service)
{
    json_t *saved, *cand = local_obj(st, "candidate"), *old;
    int error;

    if (cand == NULL)
        return paved_error_set(PAVED_ENOTFOUND,
                               "%s has no candidate in environment %s to "
                               "promote",
                               service, paved_environment_name(d->d_env));
    if ((saved = json_deep_copy(st)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    old = json_incref(local_obj(st, "stable"));
    json_incref(cand);
    if ((error = local_set(st, "stable", cand)) < 0 ||
        (error = local_set(st, "candidate", NULL)) < 0 ||
        (error = local_set(st, "weight", json_integer(0))) < 0 ||
        (error = local_apply(d, service, st)) < 0) {
        /* nothing stopped: the old state is still the truth */
        local_restore(st, saved);
        goto out;
    }
    driver_progress(d, "%s: %s is stable", service,
                    json_string_value(json_object_get(cand, "version")));
    if (old != NULL)
        local_stop(d, service, old);
out:
    json_decref(old);
    json_decref(saved);
    return error;
}

static int
local_abort(paved_driver *d, json_t *st, const char *service)
{
    json_t *saved, *cand = local_obj(st, "candidate");
    int error;

    if ((saved = json_deep_copy(st)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    json_incref(cand);
    if ((error = local_set(st, "candidate", NULL)) < 0 ||
        (error = local_set(st, "weight", json_integer(0))) < 0)
        goto out;
    if (local_st_has_versions(st) || local_nginx_pid(d->d_impl) > 0 ||
        cand != NULL) {
        if ((error = local_apply(d, service, st)) < 0) {
            local_restore(st, saved);
            goto out;
        }
    }
    if (cand != NULL) {
        driver_progress(d, "%s: all traffic back to stable", service);
        local_stop(d, service, cand);
    }
out:
    json_decref(cand);
    json_decref(saved);
    return error;
}

static int
local_reconcile(paved_driver *d, json_t *st, const char *service, bool *changed)
{
    json_t *cand = local_obj(st, "candidate"), *stab = local_obj(st, "stable");
    int error = 0;

    *changed = false;
    if (cand != NULL && !local_version_runs(cand)) {
        driver_progress(d, "%s: candidate %s no longer runs: dropped", service,
                        json_string_value(json_object_get(cand, "version")));
        local_stop(d, service, cand); /* whatever is left of its group */
        if (local_set(st, "candidate", NULL) < 0 ||
            local_set(st, "weight", json_integer(0)) < 0)
            return PAVED_ENOMEM;
        *changed = true;
    }
    if (stab != NULL && !local_version_runs(stab)) {
        driver_progress(d, "%s: stable %s no longer runs: starting it again",
                        service,
                        json_string_value(json_object_get(stab, "version")));
        local_stop(d, service, stab);
        *changed = true;
        /* on a failure nginx leaves it out all the same: it does not run */
        error = local_spawn(d, service, stab, st);
        if (error == 0)
            (void)driver_state_save(d, service, st);
    }
    if (local_st_has_versions(st) && local_nginx_pid(d->d_impl) == 0)
        *changed = true;
    if (local_st_has_versions(st) || local_nginx_pid(d->d_impl) > 0) {
        char *keep = error < 0 ? strdup(paved_error_last()) : NULL;
        int aerror = local_apply(d, service, st);

        if (error < 0) {
            if (keep != NULL)
                paved_error_set(error, "%s", keep);
        } else {
            error = aerror;
        }
        free(keep);
    }
    return error;
}

const struct driver_ops driver_local_ops = {
    .do_name = "local",
    .do_open = local_open,
    .do_close = local_close,
    .do_start = local_start,
    .do_route = local_route,
    .do_promote = local_promote,
    .do_abort = local_abort,
    .do_reconcile = local_reconcile,
};
