/* Images: build with podman or buildah and push to a registry, returning
 * what the store records (include/paved/artifact.h). The tools run as
 * argv vectors (fork, execve of the path found on the child's PATH), in
 * the caller's process group, with their output read through one pipe,
 * copied to the caller's log and kept (bounded) for the error message.
 * The image ID and pushed digest come from the tools' --iidfile and
 * --digestfile, never from parsing their human output. Never runs a
 * shell, never pushes to a registry the name does not spell out, never
 * changes the machine's containers configuration (only a file of its
 * own, given to the child). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "paved/artifact.h"
#include "paved/error.h"
#include "paved/fs.h"

extern char **environ;

#define IMAGE_TAIL 2048       /* output kept for the error message */
#define IMAGE_KILL_GRACE 5000 /* ms from SIGTERM to SIGKILL */
#define IMAGE_DRAIN_MS 1000   /* output still read after the tool exited */
#define IMAGE_MAX_ARGS 24

/* A tool run: what it printed last, and how it ended. */
struct image_run {
    const struct paved_image_opts *ir_opts;
    const char *ir_what;      /* "podman build", for messages */
    char ir_tail[IMAGE_TAIL]; /* the last bytes of output */
    size_t ir_tail_len;
    int ir_status; /* from waitpid */
    int ir_timed_out;
};

static long long
image_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- names ------------------------------------------------------------ */

static int
image_is_alnum_lower(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int
image_is_alnum(char c)
{
    return image_is_alnum_lower(c) || (c >= 'A' && c <= 'Z');
}

/* host[:port] or [v6]:port, the registry part of a name */
static int
image_host_ok(const char *s, size_t n)
{
    size_t i = 0, h;

    if (n > 0 && s[0] == '[') {
        while (i < n && s[i] != ']')
            i++;
        if (i == n || i < 3)
            return 0;
        for (h = 1; h < i; h++)
            if (!(image_is_alnum(s[h]) || s[h] == ':' || s[h] == '.'))
                return 0;
        i++;
    } else {
        for (; i < n && s[i] != ':'; i++)
            if (!(image_is_alnum(s[i]) || s[i] == '.' || s[i] == '-'))
                return 0;
        if (i == 0 || s[0] == '-' || s[0] == '.')
            return 0;
    }
    if (i == n)
        return 1;
    if (s[i] != ':' || i + 1 == n || n - i - 1 > 5)
        return 0;
    for (i++; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* a path component: [a-z0-9]+ joined by '.', '_', "__" or a run of '-' */
static int
image_component_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || !image_is_alnum_lower(s[0]) ||
        !image_is_alnum_lower(s[n - 1]))
        return 0;
    for (i = 1; i < n; i++) {
        char c = s[i], prev = s[i - 1];
        if (image_is_alnum_lower(c))
            continue;
        if (c == '-' && (image_is_alnum_lower(prev) || prev == '-'))
            continue;
        if (c == '.' && image_is_alnum_lower(prev))
            continue;
        if (c == '_' && (image_is_alnum_lower(prev) ||
                         (prev == '_' && image_is_alnum_lower(s[i - 2]))))
            continue;
        return 0;
    }
    return 1;
}

static int
image_tag_ok(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > 128 || !(image_is_alnum(s[0]) || s[0] == '_'))
        return 0;
    for (i = 1; i < n; i++)
        if (!(image_is_alnum(s[i]) || s[i] == '_' || s[i] == '.' ||
              s[i] == '-'))
            return 0;
    return 1;
}

/* Where the tag starts (its ':'), or NULL: the last ':' after the last
 * '/', so that a registry port is not taken for one. */
static const char *
image_tag_sep(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *colon = strrchr(name, ':');

    return colon != NULL && (slash == NULL || colon > slash) ? colon : NULL;
}

static int
image_has_host(const char *first, size_t n)
{
    return memchr(first, '.', n) != NULL || memchr(first, ':', n) != NULL ||
           (n == 9 && memcmp(first, "localhost", 9) == 0) ||
           (n > 0 && first[0] == '[');
}

int
paved_image_name_check(const char *name, bool require_registry)
{
    const char *tag, *p, *end, *slash;
    size_t n;
    bool host = false;

    if (name == NULL || name[0] == '\0')
        return paved_error_set(PAVED_EINVAL, "no image name");
    n = strlen(name);
    tag = image_tag_sep(name);
    end = tag != NULL ? tag : name + n;
    if (n > 512 || name[0] == '-' || strchr(name, '@') != NULL)
        goto bad;
    slash = memchr(name, '/', (size_t)(end - name));
    p = name;
    if (slash != NULL && image_has_host(name, (size_t)(slash - name))) {
        if (!image_host_ok(name, (size_t)(slash - name)))
            goto bad;
        host = true;
        p = slash + 1;
    }
    while (p < end) {
        const char *s = memchr(p, '/', (size_t)(end - p));
        const char *ce = s != NULL ? s : end;
        if (!image_component_ok(p, (size_t)(ce - p)))
            goto bad;
        if (s == NULL)
            break;
        p = s + 1;
        if (p == end)
            goto bad;
    }
    if (p >= end)
        goto bad;
    if (tag != NULL && !image_tag_ok(tag + 1))
        goto bad;
    if (require_registry && !host)
        return paved_error_set(PAVED_EINVAL,
                               "image name \"%.200s\" names no registry: "
                               "give host[:port]/repository[:tag] (a push "
                               "never goes to a default registry)",
                               name);
    return 0;
bad:
    return paved_error_set(PAVED_EINVAL,
                           "bad image name \"%.200s\": want "
                           "[host[:port]/]repository[:tag] with lowercase "
                           "path components, no digest",
                           name);
}

/* ---- the tool ---------------------------------------------------------- */

static const char *
image_env_get(char *const *envp, const char *key)
{
    size_t n = strlen(key);

    for (; envp != NULL && *envp != NULL; envp++)
        if (strncmp(*envp, key, n) == 0 && (*envp)[n] == '=')
            return *envp + n + 1;
    return NULL;
}

/* "podman" or "buildah", from io_tool (a name or a path ending in one) */
static int
image_tool(const char **name, const struct paved_image_opts *o)
{
    const char *t = o->io_tool != NULL ? o->io_tool : "podman";
    const char *base = strrchr(t, '/') != NULL ? strrchr(t, '/') + 1 : t;

    if (strcmp(base, "podman") != 0 && strcmp(base, "buildah") != 0)
        return paved_error_set(PAVED_EINVAL,
                               "image tool \"%.200s\": podman or buildah", t);
    *name = base;
    return 0;
}

/* The tool's path: as given when it holds a '/', else the first
 * executable of that name on the child's PATH. */
static int
image_find(char *out, size_t len, const struct paved_image_opts *o,
           char *const *envp)
{
    const char *t = o->io_tool != NULL ? o->io_tool : "podman", *base, *p;
    const char *path = image_env_get(envp, "PATH");
    int error;

    if ((error = image_tool(&base, o)) < 0)
        return error;
    if (strchr(t, '/') != NULL) {
        if ((size_t)snprintf(out, len, "%s", t) < len && access(t, X_OK) == 0)
            return 0;
    } else {
        for (p = path != NULL ? path : "/usr/local/bin:/usr/bin:/bin";
             *p != '\0';) {
            const char *end = strchr(p, ':');
            size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
            struct stat st;
            if (n > 0 &&
                (size_t)snprintf(out, len, "%.*s/%s", (int)n, p, t) < len &&
                stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
                access(out, X_OK) == 0)
                return 0;
            p += n + (end != NULL);
        }
    }
    return paved_error_set(PAVED_EUNAVAILABLE,
                           "%s not found: install %s (scripts/deps.sh test)",
                           base, base);
}

/* kernel.pid_max, or 0 when it cannot be read */
static unsigned long long
image_pid_max(void)
{
    unsigned long long v = 0;
    FILE *fp = fopen("/proc/sys/kernel/pid_max", "r");

    if (fp == NULL)
        return 0;
    if (fscanf(fp, "%llu", &v) != 1)
        v = 0;
    fclose(fp);
    return v;
}

/* The containers.conf this machine needs (see the header), written next
 * to its final name and renamed, so a concurrent build never reads half
 * of it. */
static int
image_write_conf(const char *path)
{
    char dir[4096], tmp[4096], nproc[64] = "";
    struct rlimit rl;
    unsigned long long lim;
    const char *slash = strrchr(path, '/');
    FILE *fp = NULL;
    int fd = -1, error = 0;

    if (slash != NULL && slash != path) {
        if ((size_t)(slash - path) >= sizeof(dir))
            return paved_error_set(PAVED_EINVAL, "containers.conf path too "
                                                 "long");
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
        if ((error = paved_mkdirs(dir, 0755)) < 0)
            return error;
    }
    /* Once default_ulimits is set, rootful podman asks for nproc=1048576
     * unless nproc is in it, and the OCI runtime cannot raise the limit
     * it inherited ("error setting rlimit type 6"). podman lowers its own
     * nproc to kernel.pid_max first (containers/common), so neither may
     * be exceeded. */
    lim = image_pid_max();
    if (getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
        (lim == 0 || (unsigned long long)rl.rlim_max < lim))
        lim = (unsigned long long)rl.rlim_max;
    if (lim > 0)
        snprintf(nproc, sizeof(nproc), ", \"nproc=%llu:%llu\"", lim, lim);
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >=
        sizeof(tmp))
        return paved_error_set(PAVED_EINVAL, "containers.conf path too long");
    if ((fd = mkstemp(tmp)) < 0)
        return paved_error_set(PAVED_ERROR, "create %s: %s", tmp,
                               strerror(errno));
    if (fchmod(fd, 0644) < 0 || (fp = fdopen(fd, "w")) == NULL) {
        error =
            paved_error_set(PAVED_ERROR, "write %s: %s", tmp, strerror(errno));
        close(fd);
        goto out;
    }
    fprintf(fp,
            "# Written by paved (src/delivery/image.c) for the podman and "
            "buildah it runs;\n"
            "# rewritten before every build and push. See "
            "docs/delivery.md#images.\n"
            "[containers]\n"
            "default_ulimits = [\"nofile=1024:1024\"%s]\n"
            "\n"
            "[engine]\n"
            "runtime = \"runc\"\n",
            nproc);
    if (fflush(fp) != 0 || ferror(fp)) {
        error =
            paved_error_set(PAVED_ERROR, "write %s: %s", tmp, strerror(errno));
        fclose(fp);
        goto out;
    }
    if (fclose(fp) != 0) {
        error =
            paved_error_set(PAVED_ERROR, "write %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (rename(tmp, path) < 0)
        error = paved_error_set(PAVED_ERROR, "rename %s: %s", path,
                                strerror(errno));
out:
    if (error < 0)
        unlink(tmp);
    return error;
}

/* The child's environment: the caller's, plus CONTAINERS_CONF when the
 * caller has none and a file was asked for. *envp_out points into the
 * caller's strings and *conf_var (both free()). */
static int
image_env(char ***envp_out, char **conf_var, const struct paved_image_opts *o)
{
    char *const *src = o->io_env != NULL ? o->io_env : environ;
    const char *have = image_env_get(src, "CONTAINERS_CONF");
    size_t n = 0, i;
    char **envp;
    int error;

    *envp_out = NULL;
    *conf_var = NULL;
    while (src != NULL && src[n] != NULL)
        n++;
    if ((envp = calloc(n + 2, sizeof(*envp))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    for (i = 0; i < n; i++)
        envp[i] = src[i];
    if ((have == NULL || have[0] == '\0') && o->io_containers_conf != NULL) {
        size_t len = strlen(o->io_containers_conf) + sizeof("CONTAINERS_CONF=");
        if ((error = image_write_conf(o->io_containers_conf)) < 0) {
            free(envp);
            return error;
        }
        if ((*conf_var = malloc(len)) == NULL) {
            free(envp);
            return paved_error_set(PAVED_ENOMEM, "out of memory");
        }
        snprintf(*conf_var, len, "CONTAINERS_CONF=%s", o->io_containers_conf);
        /* an empty CONTAINERS_CONF= of the caller is replaced */
        for (i = 0; i < n; i++)
            if (strncmp(envp[i], "CONTAINERS_CONF=", 16) == 0)
                break;
        envp[i] = *conf_var;
    }
    *envp_out = envp;
    return 0;
}

static void
image_keep(struct image_run *r, const char *p, size_t n)
{
    const struct paved_image_opts *o = r->ir_opts;

    if (o->io_echo != NULL) {
        fwrite(p, 1, n, o->io_echo);
        fflush(o->io_echo);
    }
    if (o->io_output != NULL && o->io_output->b_len < o->io_output->b_max) {
        size_t room = o->io_output->b_max - o->io_output->b_len;
        (void)paved_buf_put(o->io_output, p, n < room ? n : room);
    }
    if (n >= IMAGE_TAIL) {
        memcpy(r->ir_tail, p + n - IMAGE_TAIL, IMAGE_TAIL);
        r->ir_tail_len = IMAGE_TAIL;
        return;
    }
    if (r->ir_tail_len + n > IMAGE_TAIL) {
        size_t drop = r->ir_tail_len + n - IMAGE_TAIL;
        memmove(r->ir_tail, r->ir_tail + drop, r->ir_tail_len - drop);
        r->ir_tail_len -= drop;
    }
    memcpy(r->ir_tail + r->ir_tail_len, p, n);
    r->ir_tail_len += n;
}

/* The last non-empty line of output, for the one-line error message. */
static void
image_last_line(char *out, size_t len, const struct image_run *r)
{
    size_t end = r->ir_tail_len, start;

    while (end > 0 &&
           (r->ir_tail[end - 1] == '\n' || r->ir_tail[end - 1] == '\r' ||
            r->ir_tail[end - 1] == ' '))
        end--;
    start = end;
    while (start > 0 && r->ir_tail[start - 1] != '\n')
        start--;
    snprintf(out, len, "%.*s", (int)(end - start), r->ir_tail + start);
}

/* Runs argv[0] (found already: path) with envp, reads its output until
 * it exited and the pipe is at EOF (or a grandchild kept it open for
 * IMAGE_DRAIN_MS after), and fails with its last line when it failed. */
static int
image_exec(struct image_run *r, const char *path, char **argv, char **envp)
{
    const struct paved_image_opts *o = r->ir_opts;
    long long deadline = 0, kill_at = 0, drain_until = 0;
    int fds[2] = {-1, -1}, status = 0, error = 0, devnull;
    bool exited = false, eof = false;
    char buf[8192], line[400];
    sigset_t all, old;
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC) < 0)
        return paved_error_set(PAVED_ERROR, "pipe: %s", strerror(errno));
    if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        close(fds[0]);
        close(fds[1]);
        return paved_error_set(PAVED_ERROR, "/dev/null: %s", strerror(errno));
    }
    /* no handler of the caller may run in the child between fork and
     * exec; the mask is reset there */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid = fork();
    if (pid == 0) {
        struct sigaction sa;
        int s;

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = SIG_DFL;
        sigemptyset(&sa.sa_mask);
        for (s = 1; s < NSIG; s++)
            (void)sigaction(s, &sa, NULL);
        sigprocmask(SIG_SETMASK, &sa.sa_mask, NULL);
        if (dup2(devnull, 0) < 0 || dup2(fds[1], 1) < 0 || dup2(fds[1], 2) < 0)
            _exit(126);
        /* descriptors of the caller (a daemon's sockets) stay behind */
        closefrom(3);
        execve(path, argv, envp);
        _exit(127);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(devnull);
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return paved_error_set(PAVED_ERROR, "fork: %s", strerror(errno));
    }
    if (o->io_timeout_ms > 0)
        deadline = image_now_ms() + o->io_timeout_ms;
    while (!exited || !eof) {
        struct pollfd pfd = {fds[0], POLLIN, 0};
        long long now = image_now_ms();
        int wait_ms = 200;

        if (deadline > 0 && !r->ir_timed_out && now >= deadline) {
            r->ir_timed_out = 1;
            kill(pid, SIGTERM);
            kill_at = now + IMAGE_KILL_GRACE;
        }
        if (kill_at > 0 && now >= kill_at && !exited) {
            kill(pid, SIGKILL);
            kill_at = 0;
        }
        if (exited && drain_until > 0 && now >= drain_until)
            break;
        if (!eof) {
            int k = poll(&pfd, 1, wait_ms);
            if (k > 0) {
                ssize_t got = read(fds[0], buf, sizeof(buf));
                if (got > 0)
                    image_keep(r, buf, (size_t)got);
                else if (got == 0 || (errno != EINTR && errno != EAGAIN))
                    eof = true;
            } else if (k < 0 && errno != EINTR) {
                eof = true;
            }
        }
        if (!exited) {
            pid_t w = waitpid(pid, &status, WNOHANG);
            if (w == pid) {
                exited = true;
                drain_until = image_now_ms() + IMAGE_DRAIN_MS;
            } else if (w < 0 && errno != EINTR) {
                error = paved_error_set(PAVED_ERROR, "waitpid: %s",
                                        strerror(errno));
                exited = true;
            } else if (eof) {
                /* the pipe closed first: wait for the exit, timeout
                 * still watched */
                struct timespec ts = {0, 20 * 1000 * 1000};
                nanosleep(&ts, NULL);
            }
        }
    }
    close(fds[0]);
    if (error < 0)
        return error;
    r->ir_status = status;
    image_last_line(line, sizeof(line), r);
    if (r->ir_timed_out)
        return paved_error_set(PAVED_ERROR,
                               "%s timed out after %u ms and was stopped: "
                               "%s",
                               r->ir_what, o->io_timeout_ms, line);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && r->ir_tail_len == 0)
        return paved_error_set(PAVED_EUNAVAILABLE, "%s: cannot execute %s",
                               r->ir_what, path);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return paved_error_set(PAVED_ERROR, "%s failed (%s %d): %s", r->ir_what,
                               WIFEXITED(status) ? "exit status" : "signal",
                               WIFEXITED(status) ? WEXITSTATUS(status)
                                                 : WTERMSIG(status),
                               line[0] != '\0' ? line : "no output");
    return 0;
}

/* A file the tool wrote (--iidfile, --digestfile): "sha256:<64 hex>" or
 * the 64 hex alone, into out as "sha256:<hex>". */
static int
image_read_digest(char *out, const char *path, const char *what)
{
    char buf[128];
    size_t n, i;
    const char *hex;
    FILE *fp;

    if ((fp = fopen(path, "r")) == NULL)
        return paved_error_set(PAVED_ERROR, "%s wrote no %s file (%s): %s",
                               what, strrchr(path, '/') + 1, path,
                               strerror(errno));
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    hex = strncmp(buf, "sha256:", 7) == 0 ? buf + 7 : buf;
    if (strlen(hex) != 64)
        goto bad;
    for (i = 0; i < 64; i++)
        if (!((hex[i] >= '0' && hex[i] <= '9') ||
              (hex[i] >= 'a' && hex[i] <= 'f')))
            goto bad;
    memcpy(out, "sha256:", 7);
    memcpy(out + 7, hex, 65);
    return 0;
bad:
    return paved_error_set(PAVED_ERROR,
                           "%s wrote \"%.80s\" where a sha256 "
                           "digest was expected",
                           what, buf);
}

/* argv: tool, the storage options, then the subcommand's */
static int
image_argv_start(char **argv, size_t *argc, char *root_opt, size_t rlen,
                 char *runroot_opt, size_t rrlen, const char *tool,
                 const struct paved_image_opts *o)
{
    *argc = 0;
    argv[(*argc)++] = (char *)tool;
    if (o->io_storage_root != NULL) {
        if ((size_t)snprintf(root_opt, rlen, "--root=%s", o->io_storage_root) >=
                rlen ||
            (size_t)snprintf(runroot_opt, rrlen, "--runroot=%s/run",
                             o->io_storage_root) >= rrlen)
            return paved_error_set(PAVED_EINVAL, "storage root too long");
        argv[(*argc)++] = root_opt;
        argv[(*argc)++] = runroot_opt;
    }
    if (o->io_storage_driver != NULL) {
        if (o->io_storage_driver[0] == '\0' || o->io_storage_driver[0] == '-')
            return paved_error_set(PAVED_EINVAL, "bad storage driver \"%s\"",
                                   o->io_storage_driver);
        argv[(*argc)++] = "--storage-driver";
        argv[(*argc)++] = (char *)o->io_storage_driver;
    }
    return 0;
}

/* Where the tool writes its --iidfile or --digestfile: a private temp
 * directory, so no one else can put a digest there. */
static int
image_tmpdir(char *dir, size_t len)
{
    const char *t = getenv("TMPDIR");

    if (t == NULL || t[0] != '/')
        t = "/tmp";
    if ((size_t)snprintf(dir, len, "%s/paved-image-XXXXXX", t) >= len ||
        mkdtemp(dir) == NULL)
        return paved_error_set(PAVED_ERROR, "temporary directory in %s: %s", t,
                               strerror(errno));
    return 0;
}

struct image_call {
    char ic_path[4096]; /* the tool found */
    char ic_tmp[4096];  /* temp dir for the tool's output file */
    char ic_file[4200]; /* that file */
    char ic_root[4200], ic_runroot[4200];
    char *ic_argv[IMAGE_MAX_ARGS];
    size_t ic_argc;
    char **ic_envp;
    char *ic_conf_var;
    bool ic_have_tmp;
};

static void
image_call_dispose(struct image_call *c)
{
    if (c->ic_have_tmp) {
        unlink(c->ic_file);
        rmdir(c->ic_tmp);
    }
    free(c->ic_envp);
    free(c->ic_conf_var);
}

/* Everything before the subcommand: the tool, its environment, the
 * storage options and the temp file named `file`. */
static int
image_call_init(struct image_call *c, const struct paved_image_opts *o,
                const char *file)
{
    const char *tool;
    int error;

    memset(c, 0, sizeof(*c));
    if ((error = image_tool(&tool, o)) < 0 ||
        (error = image_env(&c->ic_envp, &c->ic_conf_var, o)) < 0 ||
        (error = image_find(c->ic_path, sizeof(c->ic_path), o, c->ic_envp)) <
            0 ||
        (error = image_argv_start(c->ic_argv, &c->ic_argc, c->ic_root,
                                  sizeof(c->ic_root), c->ic_runroot,
                                  sizeof(c->ic_runroot), tool, o)) < 0 ||
        (error = image_tmpdir(c->ic_tmp, sizeof(c->ic_tmp))) < 0)
        return error;
    c->ic_have_tmp = true;
    snprintf(c->ic_file, sizeof(c->ic_file), "%s/%s", c->ic_tmp, file);
    return 0;
}

int
paved_image_build(char **id_out, const struct paved_image_opts *o,
                  const char *context_dir, const char *dockerfile,
                  const char *name)
{
    struct image_call c;
    struct image_run r;
    char file[4200], what[64], id[PAVED_ARTIFACT_DIGEST_LEN + 1];
    char iid_opt[4300];
    struct stat st;
    const char *tool;
    int error;

    memset(&c, 0, sizeof(c));
    *id_out = NULL;
    if ((error = image_tool(&tool, o)) < 0 ||
        (error = paved_image_name_check(name, false)) < 0)
        return error;
    if (context_dir == NULL || stat(context_dir, &st) < 0 ||
        !S_ISDIR(st.st_mode))
        return paved_error_set(PAVED_ENOTFOUND,
                               "build context %s is not a directory",
                               context_dir != NULL ? context_dir : "(none)");
    if ((dockerfile != NULL
             ? (size_t)snprintf(file, sizeof(file), "%s", dockerfile)
             : (size_t)snprintf(file, sizeof(file), "%s/Dockerfile",
                                context_dir)) >= sizeof(file))
        return paved_error_set(PAVED_EINVAL, "Dockerfile path too long");
    if (stat(file, &st) < 0 || !S_ISREG(st.st_mode))
        return paved_error_set(PAVED_ENOTFOUND, "no Dockerfile at %s", file);
    if ((error = image_call_init(&c, o, "iid")) < 0)
        goto out;
    snprintf(iid_opt, sizeof(iid_opt), "--iidfile=%s", c.ic_file);
    {
        char *rest[] = {"build",      "--file", file, "--tag",
                        (char *)name, iid_opt,  "--", (char *)context_dir};
        memcpy(c.ic_argv + c.ic_argc, rest, sizeof(rest));
        c.ic_argc += sizeof(rest) / sizeof(rest[0]);
        c.ic_argv[c.ic_argc] = NULL;
    }
    memset(&r, 0, sizeof(r));
    r.ir_opts = o;
    snprintf(what, sizeof(what), "%s build", tool);
    r.ir_what = what;
    if ((error = image_exec(&r, c.ic_path, c.ic_argv, c.ic_envp)) < 0 ||
        (error = image_read_digest(id, c.ic_file, what)) < 0)
        goto out;
    if ((*id_out = strdup(id + 7)) == NULL)
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
out:
    image_call_dispose(&c);
    return error;
}

int
paved_image_push(char **ref_out, char **digest_out,
                 const struct paved_image_opts *o, const char *name,
                 bool tls_verify)
{
    struct image_call c;
    struct image_run r;
    char what[64], digest[PAVED_ARTIFACT_DIGEST_LEN + 1];
    char dg_opt[4300], dest[600];
    const char *tool, *tag;
    size_t repo_len, len;
    int error;

    memset(&c, 0, sizeof(c));
    *ref_out = NULL;
    if (digest_out != NULL)
        *digest_out = NULL;
    if ((error = image_tool(&tool, o)) < 0 ||
        (error = paved_image_name_check(name, true)) < 0)
        return error;
    if ((error = image_call_init(&c, o, "digest")) < 0)
        goto out;
    snprintf(dg_opt, sizeof(dg_opt), "--digestfile=%s", c.ic_file);
    snprintf(dest, sizeof(dest), "docker://%s", name);
    c.ic_argv[c.ic_argc++] = "push";
    if (!tls_verify)
        c.ic_argv[c.ic_argc++] = "--tls-verify=false";
    c.ic_argv[c.ic_argc++] = dg_opt;
    c.ic_argv[c.ic_argc++] = "--";
    c.ic_argv[c.ic_argc++] = (char *)name;
    c.ic_argv[c.ic_argc++] = dest;
    c.ic_argv[c.ic_argc] = NULL;
    memset(&r, 0, sizeof(r));
    r.ir_opts = o;
    snprintf(what, sizeof(what), "%s push", tool);
    r.ir_what = what;
    if ((error = image_exec(&r, c.ic_path, c.ic_argv, c.ic_envp)) < 0 ||
        (error = image_read_digest(digest, c.ic_file, what)) < 0)
        goto out;
    /* the reference recorded is repository@digest: a tag can move */
    tag = image_tag_sep(name);
    repo_len = tag != NULL ? (size_t)(tag - name) : strlen(name);
    len = repo_len + 1 + strlen(digest) + 1;
    if ((*ref_out = malloc(len)) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(*ref_out, len, "%.*s@%s", (int)repo_len, name, digest);
    if (digest_out != NULL && (*digest_out = strdup(digest)) == NULL) {
        free(*ref_out);
        *ref_out = NULL;
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
    }
out:
    image_call_dispose(&c);
    return error;
}
