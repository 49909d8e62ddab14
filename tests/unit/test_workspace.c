/* Unit tests for workspaces with real repositories made by the git command:
 * mirrors fetched over file:// and over git:// from a real `git daemon`
 * (cold fetch, warm without network, missing commits, bad URLs, redacted
 * credentials, concurrent mirroring, the mirror's name without a fetch),
 * checkouts of exact commits (also an older one, by id) that git itself
 * sees as clean, and removal that stays under its root and never follows
 * symlinks. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "paved/error.h"
#include "paved/workspace.h"

extern char **environ;

/* A temp dir with a source repository (two commits on main, a third only
 * on branch "side") and a mirrors directory. */
struct fixture {
    char dir[64];
    char src[128];     /* <dir>/src.git (non-bare, served as is) */
    char url[160];     /* file://<src> */
    char mirrors[128]; /* <dir>/mirrors */
    char work[128];    /* <dir>/work */
    char sha1[41];     /* first commit on main */
    char sha2[41];     /* second commit on main (its tip) */
    char side[41];     /* only on refs/heads/side */
    pid_t daemon;      /* git daemon, or 0 */
    int port;
};

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs a shell command built from test-controlled paths; fails the test on
 * a non-zero status. */
static void
sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    int rc;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    rc = system(cmd);
    if (rc != 0)
        fail_msg("command failed (%d): %s", rc, cmd);
}

static void capture(char *out, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The first line of a command's stdout. */
static void
capture(char *out, size_t n, const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    FILE *fp;
    size_t len;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    out[0] = '\0';
    fp = popen(cmd, "r");
    assert_non_null(fp);
    len = fread(out, 1, n - 1, fp);
    out[len] = '\0';
    pclose(fp);
    out[strcspn(out, "\n")] = '\0';
}

static bool
exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

static void
write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void
read_file(char *out, size_t n, const char *path)
{
    FILE *fp = fopen(path, "r");
    size_t len;

    out[0] = '\0';
    if (fp == NULL)
        return;
    len = fread(out, 1, n - 1, fp);
    out[len] = '\0';
    fclose(fp);
}

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char path[256];

    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/paved-ws-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->src, sizeof(f->src), "%s/src.git", f->dir);
    snprintf(f->url, sizeof(f->url), "file://%s", f->src);
    snprintf(f->mirrors, sizeof(f->mirrors), "%s/mirrors", f->dir);
    snprintf(f->work, sizeof(f->work), "%s/work", f->dir);
    if (mkdir(f->work, 0700) < 0)
        return -1;
    *state = f;

    sh("git -c init.defaultBranch=main init -q %s", f->src);
    snprintf(path, sizeof(path), "%s/a.txt", f->src);
    write_file(path, "one\n");
    sh("cd %s && git add a.txt && git commit -q -m first", f->src);
    capture(f->sha1, sizeof(f->sha1), "git -C %s rev-parse HEAD", f->src);
    write_file(path, "two\n");
    snprintf(path, sizeof(path), "%s/sub", f->src);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/sub/b.txt", f->src);
    write_file(path, "bee\n");
    sh("cd %s && git add -A && git commit -q -m second", f->src);
    capture(f->sha2, sizeof(f->sha2), "git -C %s rev-parse HEAD", f->src);
    sh("cd %s && git checkout -q -b side && echo side > side.txt && "
       "git add side.txt && git commit -q -m side && git checkout -q main",
       f->src);
    capture(f->side, sizeof(f->side), "git -C %s rev-parse side", f->src);
    assert_int_equal(strlen(f->sha1), 40);
    assert_int_equal(strlen(f->sha2), 40);
    assert_int_equal(strlen(f->side), 40);
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    if (f->daemon > 0) {
        kill(f->daemon, SIGTERM);
        waitpid(f->daemon, NULL, 0);
    }
    sh("chmod -R u+rwx %s 2>/dev/null; rm -rf %s", f->dir, f->dir);
    free(f);
    return 0;
}

static int
free_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static bool
port_accepts(int port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), rc;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    close(fd);
    return rc == 0;
}

/* git daemon serving f->dir on 127.0.0.1; teardown stops it, also when a
 * test fails half-way. */
static int
setup_daemon(void **state)
{
    struct fixture *f;
    posix_spawn_file_actions_t fa;
    char base[96], port[32], log[128], *argv[10];
    int i, rc;

    if (setup(state) < 0)
        return -1;
    f = *state;
    f->port = free_port();
    snprintf(base, sizeof(base), "--base-path=%s", f->dir);
    snprintf(port, sizeof(port), "--port=%d", f->port);
    argv[0] = "git";
    argv[1] = "daemon";
    argv[2] = "--reuseaddr";
    argv[3] = "--export-all";
    argv[4] = "--listen=127.0.0.1";
    argv[5] = "--informative-errors";
    argv[6] = base;
    argv[7] = port;
    argv[8] = f->dir;
    argv[9] = NULL;
    /* its complaints (refused ids, missing repositories) go to a file */
    snprintf(log, sizeof(log), "%s/daemon.log", f->dir);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT, 0600);
    rc = posix_spawnp(&f->daemon, "git", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    for (i = 0; i < 500 && !port_accepts(f->port); i++)
        usleep(10000);
    return port_accepts(f->port) ? 0 : -1;
}

static char *
mirror_ok(struct fixture *f, const char *repo, const char *url, const char *ref,
          const char *sha)
{
    char *path = NULL;
    int rc =
        paved_workspace_mirror(&path, f->mirrors, repo, url, ref, sha, NULL);

    if (rc != 0)
        fail_msg("mirror %s %s: %s: %s", url, sha, paved_error_name(rc),
                 paved_error_last());
    assert_non_null(path);
    return path;
}

static double
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- mirror ---------------------------------------------------------- */

static void
test_mirror_cold_then_warm(void **state)
{
    struct fixture *f = *state;
    char *path, *again, want[256], out[128], moved[160], later[41];
    double t0, ms;
    int rc;

    path = mirror_ok(f, "owner/name", f->url, "refs/heads/main", f->sha2);
    snprintf(want, sizeof(want), "%s/owner%%2Fname.git", f->mirrors);
    assert_string_equal(path, want);
    /* only the ref asked for, under refs/paved/, and no tags or remotes */
    capture(out, sizeof(out), "git -C %s rev-parse refs/paved/heads/main",
            path);
    assert_string_equal(out, f->sha2);
    capture(out, sizeof(out), "git -C %s for-each-ref | wc -l", path);
    assert_string_equal(out, "1");
    /* (libgit2's local transport sends the objects of every ref, so the
     * side commit's objects may be here: only refs are asserted) */
    capture(out, sizeof(out), "git -C %s config --get-regexp remote | wc -l",
            path);
    assert_string_equal(out, "0");

    /* a commit made after the first fetch */
    sh("cd %s && git checkout -q -b later && echo later > later.txt && "
       "git add later.txt && git commit -q -m later && git checkout -q main",
       f->src);
    capture(later, sizeof(later), "git -C %s rev-parse later", f->src);

    /* warm: the source is gone, yet both commits are served at once */
    snprintf(moved, sizeof(moved), "%s.moved", f->src);
    assert_int_equal(rename(f->src, moved), 0);
    t0 = now_ms();
    again = mirror_ok(f, "owner/name", f->url, "refs/heads/main", f->sha1);
    ms = now_ms() - t0;
    assert_string_equal(again, path);
    free(again);
    print_message("warm mirror check: %.2f ms\n", ms);
    assert_true(ms < 100.0);
    again = mirror_ok(f, "owner/name", f->url, "refs/heads/main", f->sha2);
    free(again);

    /* a commit it lacks makes it fetch, which now fails */
    rc = paved_workspace_mirror(&again, f->mirrors, "owner/name", f->url,
                                "refs/heads/later", later, NULL);
    assert_int_equal(rc, PAVED_EUNAVAILABLE);
    assert_null(again);
    assert_non_null(strstr(paved_error_last(), f->url));
    assert_int_equal(rename(moved, f->src), 0);

    /* and with the source back, the new ref arrives beside the old */
    again = mirror_ok(f, "owner/name", f->url, "refs/heads/later", later);
    capture(out, sizeof(out), "git -C %s rev-parse refs/paved/heads/later",
            path);
    assert_string_equal(out, later);
    free(again);
    free(path);
}

static void
test_mirror_plain_path_and_uppercase_sha(void **state)
{
    struct fixture *f = *state;
    char upper[41], *path;
    size_t i;

    for (i = 0; i < 40; i++)
        upper[i] = (char)(f->sha2[i] >= 'a' && f->sha2[i] <= 'f'
                              ? f->sha2[i] - 'a' + 'A'
                              : f->sha2[i]);
    upper[40] = '\0';
    path = mirror_ok(f, "o/plain", f->src, "refs/heads/main", upper);
    free(path);
}

static void
test_mirror_missing_commit(void **state)
{
    struct fixture *f = *state;
    const char *nope = "0123456789abcdef0123456789abcdef01234567";
    char want[512], *path = NULL;
    int rc;

    rc = paved_workspace_mirror(&path, f->mirrors, "o/r", f->url,
                                "refs/heads/main", nope, NULL);
    assert_int_equal(rc, PAVED_ENOTFOUND);
    assert_null(path);
    snprintf(want, sizeof(want),
             "commit %s is not in %s (fetched refs/heads/main", nope, f->url);
    if (strstr(paved_error_last(), want) == NULL)
        fail_msg("message: %s", paved_error_last());

    /* a ref that does not exist fetches nothing; the message says so */
    rc = paved_workspace_mirror(&path, f->mirrors, "o/r", f->url,
                                "refs/heads/nope", nope, NULL);
    assert_int_equal(rc, PAVED_ENOTFOUND);
    assert_non_null(
        strstr(paved_error_last(), "refs/heads/nope (no such ref)"));
}

/* Without a ref: the commit itself, else every branch and tag. */
static void
test_mirror_without_ref(void **state)
{
    struct fixture *f = *state;
    char *path = mirror_ok(f, "o/noref", f->url, NULL, f->side);

    free(path);
    path = mirror_ok(f, "o/noref", f->url, NULL, f->sha1);
    free(path);
}

static void
test_mirror_bad_url(void **state)
{
    struct fixture *f = *state;
    struct paved_workspace_cred cred = {"tok-SECRET-123", NULL};
    char *path = NULL;
    int rc;

    rc = paved_workspace_mirror(&path, f->mirrors, "o/r",
                                "file:///nonexistent/paved/repo.git",
                                "refs/heads/main", f->sha2, NULL);
    assert_int_equal(rc, PAVED_EUNAVAILABLE);
    assert_null(path);
    assert_non_null(strstr(paved_error_last(), "/nonexistent/paved/repo.git"));

    /* connection refused on port 1; the password and the token never
     * appear in the message */
    rc = paved_workspace_mirror(&path, f->mirrors, "o/r",
                                "https://user:hunter2pw@127.0.0.1:1/o/r.git",
                                "refs/heads/main", f->sha2, &cred);
    assert_int_equal(rc, PAVED_EUNAVAILABLE);
    print_message("bad url: %s\n", paved_error_last());
    assert_null(strstr(paved_error_last(), "hunter2pw"));
    assert_null(strstr(paved_error_last(), "SECRET"));
    assert_non_null(strstr(paved_error_last(), "https://***@127.0.0.1:1/"));

    rc = paved_workspace_mirror(&path, f->mirrors, "o/r", "nosuch://x/y",
                                "refs/heads/main", f->sha2, NULL);
    assert_int_equal(rc, PAVED_EUNAVAILABLE);
    rc = paved_workspace_mirror(&path, f->mirrors, "o/r", "", "refs/heads/main",
                                f->sha2, NULL);
    assert_int_equal(rc, PAVED_EINVAL);
}

static void
test_mirror_invalid_input(void **state)
{
    struct fixture *f = *state;
    const char *sha256 =
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const char *bad_refs[] = {
        "main",           "refs/heads/a..b", "refs/heads/a:b",  "refs/heads/*",
        "refs/heads/x y", "refs/",           "+refs/heads/main"};
    char *path = NULL, want[256];
    size_t i;

    assert_int_equal(paved_workspace_mirror(&path, f->mirrors, "o/r", f->url,
                                            NULL, "abc", NULL),
                     PAVED_EINVAL);
    assert_int_equal(paved_workspace_mirror(&path, f->mirrors, "o/r", f->url,
                                            NULL, NULL, NULL),
                     PAVED_EINVAL);
    assert_int_equal(paved_workspace_mirror(
                         &path, f->mirrors, "o/r", f->url, NULL,
                         "g123456789abcdef0123456789abcdef01234567", NULL),
                     PAVED_EINVAL);
    assert_int_equal(paved_workspace_mirror(&path, f->mirrors, "o/r", f->url,
                                            NULL, sha256, NULL),
                     PAVED_EUNSUPPORTED);
    assert_int_equal(paved_workspace_mirror(&path, f->mirrors, "", f->url, NULL,
                                            f->sha2, NULL),
                     PAVED_EINVAL);
    for (i = 0; i < sizeof(bad_refs) / sizeof(bad_refs[0]); i++)
        assert_int_equal(paved_workspace_mirror(&path, f->mirrors, "o/r",
                                                f->url, bad_refs[i], f->sha2,
                                                NULL),
                         PAVED_EINVAL);
    assert_null(path);

    /* names that try to leave mirrors_dir become one plain component */
    path = mirror_ok(f, "../../evil", f->url, "refs/heads/main", f->sha2);
    snprintf(want, sizeof(want), "%s/%%2E.%%2F..%%2Fevil.git", f->mirrors);
    assert_string_equal(path, want);
    free(path);
    path = mirror_ok(f, "..", f->url, "refs/heads/main", f->sha2);
    snprintf(want, sizeof(want), "%s/%%2E..git", f->mirrors);
    assert_string_equal(path, want);
    free(path);
    assert_false(exists("/tmp/evil.git"));
}

/* The mirror's path without a fetch: what paved_workspace_mirror really
 * creates, for names with '/', '.', a leading '.', spaces, '%' and
 * non-ASCII bytes; the same refusals. */
static void
test_mirror_path(void **state)
{
    static const struct {
        const char *m_repo, *m_name;
    } cases[] = {
        {"owner/name", "owner%2Fname"},
        {".hidden repo/v1.2", "%2Ehidden%20repo%2Fv1.2"},
        {"a b/c_d-e.f", "a%20b%2Fc_d-e.f"},
        {"100%/x", "100%25%2Fx"},
        {"caf\xc3\xa9/..", "caf%C3%A9%2F.."},
    };
    struct fixture *f = *state;
    char *path, *real, want[256], slash[160], name[256];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(want, sizeof(want), "%s/%s.git", f->mirrors, cases[i].m_name);
        path = NULL;
        assert_int_equal(
            paved_workspace_mirror_path(&path, f->mirrors, cases[i].m_repo), 0);
        assert_string_equal(path, want);
        assert_false(exists(path)); /* it only names it */
        real =
            mirror_ok(f, cases[i].m_repo, f->url, "refs/heads/main", f->sha2);
        assert_string_equal(real, path);
        assert_true(exists(path));
        free(real);
        free(path);
    }

    /* a trailing '/' on the directory changes nothing */
    snprintf(slash, sizeof(slash), "%s/", f->mirrors);
    assert_int_equal(paved_workspace_mirror_path(&path, slash, "owner/name"),
                     0);
    snprintf(want, sizeof(want), "%s/owner%%2Fname.git", f->mirrors);
    assert_string_equal(path, want);
    free(path);

    /* refused, like paved_workspace_mirror refuses them */
    path = want;
    assert_int_equal(paved_workspace_mirror_path(&path, f->mirrors, ""),
                     PAVED_EINVAL);
    assert_null(path);
    assert_int_equal(paved_workspace_mirror_path(&path, f->mirrors, NULL),
                     PAVED_EINVAL);
    assert_int_equal(paved_workspace_mirror_path(&path, "", "o/r"),
                     PAVED_EINVAL);
    assert_int_equal(paved_workspace_mirror_path(&path, NULL, "o/r"),
                     PAVED_EINVAL);
    assert_null(path);
    /* the longest name: 198 bytes as they are; 199, or 70 '/' (210
     * escaped), are refused by both */
    memset(name, 'x', 199);
    name[199] = '\0';
    assert_int_equal(paved_workspace_mirror_path(&path, f->mirrors, name),
                     PAVED_EINVAL);
    assert_null(path);
    assert_int_equal(paved_workspace_mirror(&path, f->mirrors, name, f->url,
                                            "refs/heads/main", f->sha2, NULL),
                     PAVED_EINVAL);
    memset(name, '/', 70);
    name[70] = '\0';
    assert_int_equal(paved_workspace_mirror_path(&path, f->mirrors, name),
                     PAVED_EINVAL);
    assert_int_equal(paved_workspace_mirror(&path, f->mirrors, name, f->url,
                                            "refs/heads/main", f->sha2, NULL),
                     PAVED_EINVAL);
    memset(name, 'x', 198);
    name[198] = '\0';
    assert_int_equal(paved_workspace_mirror_path(&path, f->mirrors, name), 0);
    real = mirror_ok(f, name, f->url, "refs/heads/main", f->sha2);
    assert_string_equal(real, path);
    free(real);
    free(path);
}

struct conc {
    struct fixture *c_f;
    const char *c_sha;
    int c_rc;
    char c_msg[512];
    char *c_path;
};

static void *
conc_thread(void *arg)
{
    struct conc *c = arg;

    c->c_rc =
        paved_workspace_mirror(&c->c_path, c->c_f->mirrors, "o/conc",
                               c->c_f->url, "refs/heads/main", c->c_sha, NULL);
    snprintf(c->c_msg, sizeof(c->c_msg), "%s", paved_error_last());
    return NULL;
}

static void
test_mirror_concurrent(void **state)
{
    struct fixture *f = *state;
    struct conc c[4];
    pthread_t t[4];
    int i;

    memset(c, 0, sizeof(c));
    for (i = 0; i < 4; i++) {
        c[i].c_f = f;
        c[i].c_sha = i % 2 ? f->sha1 : f->sha2;
        assert_int_equal(pthread_create(&t[i], NULL, conc_thread, &c[i]), 0);
    }
    for (i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (i = 0; i < 4; i++) {
        if (c[i].c_rc != 0)
            fail_msg("thread %d: %s", i, c[i].c_msg);
        assert_string_equal(c[i].c_path, c[0].c_path);
    }
    for (i = 0; i < 4; i++)
        free(c[i].c_path);
}

/* ---- git daemon ------------------------------------------------------ */

static void
test_git_daemon(void **state)
{
    struct fixture *f = *state;
    char url[128], co[256], out[128], *path, *p2 = NULL;
    int rc;

    snprintf(url, sizeof(url), "git://127.0.0.1:%d/src.git", f->port);
    path = mirror_ok(f, "o/daemon", url, "refs/heads/main", f->sha2);
    capture(out, sizeof(out), "git -C %s rev-parse refs/paved/heads/main",
            path);
    assert_string_equal(out, f->sha2);

    /* the daemon refuses a bare commit id that is not a ref tip, so a
     * commit only on another branch is not found through main */
    rc = paved_workspace_mirror(&p2, f->mirrors, "o/daemon", url,
                                "refs/heads/main", f->side, NULL);
    assert_int_equal(rc, PAVED_ENOTFOUND);
    print_message("daemon: %s\n", paved_error_last());
    assert_non_null(strstr(paved_error_last(), url));
    assert_non_null(strstr(paved_error_last(), "fetched refs/heads/main"));
    /* through its own ref it is */
    p2 = mirror_ok(f, "o/daemon", url, "refs/heads/side", f->side);
    free(p2);

    snprintf(co, sizeof(co), "%s/d1", f->work);
    assert_int_equal(paved_workspace_checkout(path, f->side, co), 0);
    capture(out, sizeof(out), "git -C %s rev-parse HEAD", co);
    assert_string_equal(out, f->side);
    free(path);

    /* no ref: the id is refused, all branches are fetched instead */
    path = mirror_ok(f, "o/daemon-noref", url, NULL, f->side);
    free(path);

    /* nothing listens on the next port up (most likely): refused */
    snprintf(url, sizeof(url), "git://127.0.0.1:%d/none.git", f->port);
    rc = paved_workspace_mirror(&p2, f->mirrors, "o/daemon-none", url,
                                "refs/heads/main", f->sha2, NULL);
    assert_int_equal(rc, PAVED_EUNAVAILABLE);
}

/* ---- HTTPS-style auth against a server that always says 401 ---------- */

/* A tiny HTTP server on its own thread: answers every request with 401
 * and a Basic challenge, and records the Authorization headers sent. */
struct authsrv {
    int as_fd;
    int as_port;
    int as_stop; /* under as_mu */
    unsigned as_requests;
    char as_auth[2048]; /* the Authorization values, one per line */
    pthread_mutex_t as_mu;
    pthread_t as_thread;
};

static void *
authsrv_main(void *arg)
{
    static const char reply[] =
        "HTTP/1.1 401 Unauthorized\r\n"
        "WWW-Authenticate: Basic realm=\"paved-test\"\r\n"
        "Content-Length: 0\r\nConnection: close\r\n\r\n";
    struct authsrv *as = arg;
    char req[4096];

    for (;;) {
        struct timeval tv = {0, 100000};
        fd_set rd;
        size_t len = 0;
        ssize_t n;
        char *h, *e;
        int c, stop;

        pthread_mutex_lock(&as->as_mu);
        stop = as->as_stop;
        pthread_mutex_unlock(&as->as_mu);
        if (stop)
            break;
        FD_ZERO(&rd);
        FD_SET(as->as_fd, &rd);
        if (select(as->as_fd + 1, &rd, NULL, NULL, &tv) <= 0)
            continue;
        if ((c = accept(as->as_fd, NULL, NULL)) < 0)
            continue;
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){2, 0},
                   sizeof(struct timeval));
        while (len < sizeof(req) - 1 &&
               (n = read(c, req + len, sizeof(req) - 1 - len)) > 0) {
            len += (size_t)n;
            req[len] = '\0';
            if (strstr(req, "\r\n\r\n") != NULL)
                break;
        }
        req[len] = '\0';
        pthread_mutex_lock(&as->as_mu);
        as->as_requests++;
        if ((h = strcasestr(req, "\r\nAuthorization: ")) != NULL) {
            h += 17;
            e = h + strcspn(h, "\r\n");
            snprintf(as->as_auth + strlen(as->as_auth),
                     sizeof(as->as_auth) - strlen(as->as_auth), "%.*s\n",
                     (int)(e - h), h);
        }
        pthread_mutex_unlock(&as->as_mu);
        (void)!write(c, reply, sizeof(reply) - 1);
        close(c);
    }
    return NULL;
}

static void
authsrv_start(struct authsrv *as)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);

    memset(as, 0, sizeof(*as));
    pthread_mutex_init(&as->as_mu, NULL);
    as->as_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(as->as_fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(as->as_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(as->as_fd, 16), 0);
    assert_int_equal(getsockname(as->as_fd, (struct sockaddr *)&sa, &len), 0);
    as->as_port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&as->as_thread, NULL, authsrv_main, as), 0);
}

static void
authsrv_stop(struct authsrv *as)
{
    pthread_mutex_lock(&as->as_mu);
    as->as_stop = 1;
    pthread_mutex_unlock(&as->as_mu);
    pthread_join(as->as_thread, NULL);
    close(as->as_fd);
    pthread_mutex_destroy(&as->as_mu);
}

/* The token goes out as Basic x-access-token:<token>, once: a refusal
 * ends the fetch (no loop), and the message never shows the token. */
static void
test_http_auth_refused(void **state)
{
    struct fixture *f = *state;
    struct paved_workspace_cred cred = {"tok-SECRET-123", NULL};
    struct authsrv as;
    char url[128], msg[512], *path = NULL;
    unsigned requests;
    int rc;

    authsrv_start(&as);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/o/r.git", as.as_port);
    rc = paved_workspace_mirror(&path, f->mirrors, "o/r", url,
                                "refs/heads/main", f->sha2, &cred);
    snprintf(msg, sizeof(msg), "%s", paved_error_last());

    /* and without any credential: a clear message, nothing sent */
    paved_workspace_mirror(&path, f->mirrors, "o/r", url, "refs/heads/main",
                           f->sha2, NULL);
    pthread_mutex_lock(&as.as_mu);
    requests = as.as_requests;
    pthread_mutex_unlock(&as.as_mu);
    authsrv_stop(&as);

    print_message("401 with token: %s\n", msg);
    print_message("401 without: %s\n", paved_error_last());
    print_message("requests: %u, auth:\n%s", requests, as.as_auth);
    assert_int_equal(rc, PAVED_EUNAVAILABLE);
    assert_null(path);
    assert_null(strstr(msg, "SECRET"));
    assert_non_null(strstr(msg, url));
    assert_string_equal(as.as_auth,
                        "Basic eC1hY2Nlc3MtdG9rZW46dG9rLVNFQ1JFVC0xMjM=\n");
    assert_true(requests <= 6);
    assert_non_null(strstr(paved_error_last(), "no credential configured"));
}

/* ---- checkout -------------------------------------------------------- */

static void
test_checkout_exact(void **state)
{
    struct fixture *f = *state;
    const char *nope = "0123456789abcdef0123456789abcdef01234567";
    char *path, dest[256], file[300], out[256], alt[512];
    int rc;

    path = mirror_ok(f, "o/co", f->url, "refs/heads/main", f->sha2);

    /* the tip */
    snprintf(dest, sizeof(dest), "%s/run1", f->work);
    rc = paved_workspace_checkout(path, f->sha2, dest);
    if (rc != 0)
        fail_msg("checkout: %s", paved_error_last());
    capture(out, sizeof(out), "git -C %s rev-parse HEAD", dest);
    assert_string_equal(out, f->sha2);
    capture(out, sizeof(out), "git -C %s status --porcelain | wc -l", dest);
    assert_string_equal(out, "0");
    capture(out, sizeof(out), "git -C %s symbolic-ref -q HEAD || echo detached",
            dest);
    assert_string_equal(out, "detached");
    snprintf(file, sizeof(file), "%s/a.txt", dest);
    read_file(out, sizeof(out), file);
    assert_string_equal(out, "two\n");
    snprintf(file, sizeof(file), "%s/sub/b.txt", dest);
    read_file(out, sizeof(out), file);
    assert_string_equal(out, "bee\n");
    /* objects are borrowed, not copied */
    snprintf(file, sizeof(file), "%s/.git/objects/info/alternates", dest);
    read_file(alt, sizeof(alt), file);
    snprintf(out, sizeof(out), "%s/objects\n", path);
    assert_string_equal(alt, out);
    capture(out, sizeof(out), "git -C %s count-objects | cut -d' ' -f1", dest);
    assert_string_equal(out, "0");

    /* the older commit, by id */
    snprintf(dest, sizeof(dest), "%s/run2", f->work);
    assert_int_equal(paved_workspace_checkout(path, f->sha1, dest), 0);
    capture(out, sizeof(out), "git -C %s rev-parse HEAD", dest);
    assert_string_equal(out, f->sha1);
    capture(out, sizeof(out), "git -C %s status --porcelain | wc -l", dest);
    assert_string_equal(out, "0");
    snprintf(file, sizeof(file), "%s/a.txt", dest);
    read_file(out, sizeof(out), file);
    assert_string_equal(out, "one\n");
    snprintf(file, sizeof(file), "%s/sub", dest);
    assert_false(exists(file));

    /* dest must not exist */
    assert_int_equal(paved_workspace_checkout(path, f->sha1, dest),
                     PAVED_EEXISTS);
    snprintf(file, sizeof(file), "%s/a.txt", dest);
    read_file(out, sizeof(out), file);
    assert_string_equal(out, "one\n");

    /* a commit the mirror lacks: not found, and nothing left behind */
    snprintf(dest, sizeof(dest), "%s/run3", f->work);
    assert_int_equal(paved_workspace_checkout(path, nope, dest),
                     PAVED_ENOTFOUND);
    assert_non_null(strstr(paved_error_last(), nope));
    assert_false(exists(dest));
    assert_int_equal(paved_workspace_checkout(path, "nope", dest),
                     PAVED_EINVAL);
    assert_false(exists(dest));
    free(path);
}

/* ---- remove ---------------------------------------------------------- */

static void
test_remove(void **state)
{
    struct fixture *f = *state;
    char outside[160], ws[160], p[320];

    snprintf(outside, sizeof(outside), "%s/outside", f->dir);
    sh("mkdir -p %s/keepdir && echo keep > %s/keepdir/k && echo keep > "
       "%s/file",
       outside, outside, outside);
    snprintf(ws, sizeof(ws), "%s/w1", f->work);
    /* a tree with links out, a read-only directory and an unreadable one */
    sh("mkdir -p %s/a/b/c %s/ro/x %s/nr/y && echo x > %s/a/b/c/f && "
       "ln -s %s %s/linkdir && ln -s %s/file %s/a/linkfile && "
       "ln -s /nonexistent %s/dangling && echo r > %s/ro/x/r && "
       "chmod 555 %s/ro/x %s/ro && chmod 000 %s/nr",
       ws, ws, ws, ws, outside, ws, outside, ws, ws, ws, ws, ws, ws);
    assert_int_equal(paved_workspace_remove(f->work, ws), 0);
    assert_false(exists(ws));
    snprintf(p, sizeof(p), "%s/keepdir/k", outside);
    assert_true(exists(p));
    snprintf(p, sizeof(p), "%s/file", outside);
    assert_true(exists(p));

    /* dest itself a symlink to a directory outside: only the link goes */
    snprintf(ws, sizeof(ws), "%s/w2", f->work);
    sh("ln -s %s %s", outside, ws);
    assert_int_equal(paved_workspace_remove(f->work, ws), 0);
    assert_false(exists(ws));
    snprintf(p, sizeof(p), "%s/keepdir/k", outside);
    assert_true(exists(p));

    /* refusals: outside root, root itself, .. tricks, a parent that is a
     * symlink out of root */
    assert_int_equal(paved_workspace_remove(f->work, outside), PAVED_EINVAL);
    assert_int_equal(paved_workspace_remove(f->work, f->work), PAVED_EINVAL);
    snprintf(p, sizeof(p), "%s/", f->work);
    assert_int_equal(paved_workspace_remove(f->work, p), PAVED_EINVAL);
    snprintf(p, sizeof(p), "%s/../outside", f->work);
    assert_int_equal(paved_workspace_remove(f->work, p), PAVED_EINVAL);
    snprintf(p, sizeof(p), "%s/w3/..", f->work);
    assert_int_equal(paved_workspace_remove(f->work, p), PAVED_EINVAL);
    snprintf(ws, sizeof(ws), "%s/w4", f->work);
    sh("ln -s %s %s", outside, ws);
    snprintf(p, sizeof(p), "%s/keepdir", ws);
    assert_int_equal(paved_workspace_remove(f->work, p), PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "not under"));
    snprintf(p, sizeof(p), "%s/keepdir/k", outside);
    assert_true(exists(p));
    assert_int_equal(paved_workspace_remove(f->work, "/etc"), PAVED_EINVAL);
    assert_true(exists("/etc/passwd"));

    /* nothing there: fine; a plain file: removed */
    snprintf(p, sizeof(p), "%s/never", f->work);
    assert_int_equal(paved_workspace_remove(f->work, p), 0);
    snprintf(p, sizeof(p), "%s/never/deeper", f->work);
    assert_int_equal(paved_workspace_remove(f->work, p), 0);
    snprintf(p, sizeof(p), "%s/plain", f->work);
    write_file(p, "x");
    assert_int_equal(paved_workspace_remove(f->work, p), 0);
    assert_false(exists(p));
    assert_int_equal(paved_workspace_remove(NULL, p), PAVED_EINVAL);
    assert_int_equal(paved_workspace_remove(f->work, ""), PAVED_EINVAL);
}

/* Read-only and unreadable directories (Go's module cache is read-only)
 * are removed by a user without privileges: as root, the removal runs in
 * a child that became "nobody", since root ignores directory modes. */
static void
test_remove_readonly_unprivileged(void **state)
{
    struct fixture *f = *state;
    char ws[160];
    pid_t pid;
    int status;

    snprintf(ws, sizeof(ws), "%s/ro", f->work);
    sh("mkdir -p %s/mod/pkg@v1/sub %s/locked/inner && "
       "echo x > %s/mod/pkg@v1/sub/f && echo y > %s/locked/inner/g && "
       "chmod -R a-w %s/mod && chmod 000 %s/locked/inner && "
       "chmod 000 %s/locked",
       ws, ws, ws, ws, ws, ws, ws);
    if (geteuid() != 0) {
        assert_int_equal(paved_workspace_remove(f->work, ws), 0);
        assert_false(exists(ws));
        return;
    }
    sh("chmod 755 %s && chown -R 65534:65534 %s", f->dir, f->work);
    if ((pid = fork()) == 0) {
        int rc;

        if (setgid(65534) < 0 || setuid(65534) < 0)
            _exit(3);
        rc = paved_workspace_remove(f->work, ws);
        if (rc != 0)
            fprintf(stderr, "remove: %s\n", paved_error_last());
        _exit(rc == 0 ? (exists(ws) ? 2 : 0) : 1);
    }
    assert_true(pid > 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_false(exists(ws));
}

/* A checked-out workspace goes away completely; the mirror stays. */
static void
test_remove_checkout(void **state)
{
    struct fixture *f = *state;
    char *path, dest[256], out[128];

    path = mirror_ok(f, "o/rm", f->url, "refs/heads/main", f->sha2);
    snprintf(dest, sizeof(dest), "%s/run", f->work);
    assert_int_equal(paved_workspace_checkout(path, f->sha2, dest), 0);
    assert_int_equal(paved_workspace_remove(f->work, dest), 0);
    assert_false(exists(dest));
    capture(out, sizeof(out), "git -C %s cat-file -t %s", path, f->sha2);
    assert_string_equal(out, "commit");
    free(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mirror_cold_then_warm, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_mirror_plain_path_and_uppercase_sha, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mirror_missing_commit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_mirror_without_ref, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_mirror_bad_url, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mirror_invalid_input, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_mirror_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mirror_concurrent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_git_daemon, setup_daemon,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_http_auth_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_checkout_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_readonly_unprivileged,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_checkout, setup, teardown),
    };
    char home[] = "/tmp/paved-ws-home-XXXXXX";
    int rc;

    /* hermetic git: no user or system config, fixed identities */
    if (mkdtemp(home) == NULL)
        return 1;
    setenv("HOME", home, 1);
    setenv("XDG_CONFIG_HOME", home, 1);
    setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
    setenv("GIT_AUTHOR_NAME", "Paved Test", 1);
    setenv("GIT_AUTHOR_EMAIL", "test@paved.invalid", 1);
    setenv("GIT_COMMITTER_NAME", "Paved Test", 1);
    setenv("GIT_COMMITTER_EMAIL", "test@paved.invalid", 1);
    if (paved_workspace_global_init() < 0)
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    paved_workspace_global_shutdown();
    rmdir(home);
    return rc;
}
