/* Unit tests for the local deploy driver with a REAL nginx (/usr/sbin/nginx)
 * and real version processes: small Python HTTP servers in temporary
 * artifact directories that answer "version=$PAVED_VERSION" (500 when a
 * file FAIL exists). Ports are picked free at run time. Walks a first
 * deploy, a 25 % canary (nginx's smooth weighted round robin gives exactly
 * 25 of 100 sequential requests), a promotion, an abort, a candidate
 * killed with SIGKILL and repaired by reconcile, targets.json, a refused
 * image, a version that dies at start, a listen address taken by someone
 * else, and the environment lock. Every process started is killed in the
 * group teardown, also after a failed assertion. Skips (with the reason
 * printed) only when nginx is not installed. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "paved/driver.h"
#include "paved/environment.h"
#include "paved/error.h"

#define NGINX "/usr/sbin/nginx"

struct fx {
    char f_root[256];
    char f_state[512];  /* the environment's state directory */
    char f_state2[512]; /* for the taken listen address */
    char f_art[3][512]; /* artifacts: a server, another, one that dies */
    unsigned f_listen;  /* nginx */
    unsigned f_base;    /* upstream_port */
    paved_environment *f_env;
    paved_driver *f_d;
    FILE *f_progress;
};

static const char server_py[] =
    "import http.server, os, sys\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        code = 500 if os.path.exists('FAIL') else 200\n"
    "        body = ('version=%s\\n' % os.environ['PAVED_VERSION']).encode()\n"
    "        self.send_response(code)\n"
    "        self.send_header('Content-Length', str(len(body)))\n"
    "        self.end_headers()\n"
    "        self.wfile.write(body)\n"
    "    def log_message(self, *a):\n"
    "        pass\n"
    "print('serving', os.environ['PAVED_VERSION'], 'on', os.environ['PORT'],"
    " 'env', os.environ['PAVED_ENV'], flush=True)\n"
    "http.server.ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])),"
    " H).serve_forever()\n";

static bool
port_free(unsigned port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    bool ok;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

/* n consecutive free ports, from a place that changes with the pid */
static unsigned
free_ports(unsigned n, unsigned avoid)
{
    unsigned start = 20000 + ((unsigned)getpid() * 37u) % 30000u, p, i;

    for (p = start; p < 60000; p += n + 1) {
        for (i = 0; i < n; i++)
            if (p + i == avoid || p + i == avoid + 1 || !port_free(p + i))
                break;
        if (i == n)
            return p;
    }
    fail_msg("no %u free ports", n);
    return 0;
}

static void
write_file(const char *dir, const char *name, const char *text)
{
    char path[1024];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static paved_environment *
make_env(const char *name, unsigned listen, unsigned base)
{
    struct paved_pipeline_diags dl = PAVED_PIPELINE_DIAGS_INIT;
    paved_environment *env = NULL;
    char yaml[512];

    snprintf(yaml, sizeof(yaml),
             "name: %s\nlocal:\n  listen: 127.0.0.1:%u\n"
             "  upstream_port: %u\n",
             name, listen, base);
    if (paved_environment_parse(&env, &dl, "env.yaml", yaml, strlen(yaml)) < 0)
        fail_msg("environment: %s", paved_error_last());
    paved_pipeline_diags_dispose(&dl);
    return env;
}

/* GET / through nginx with Host: host; the body, or "" and *status -1 */
static int
get(unsigned port, const char *host, char *body, size_t size)
{
    struct sockaddr_in sa;
    char req[256], resp[4096];
    size_t got = 0;
    ssize_t r;
    int fd, status = -1;
    char *p;

    body[0] = '\0';
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    snprintf(req, sizeof(req),
             "GET / HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n", host);
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    while (got < sizeof(resp) - 1 &&
           (r = read(fd, resp + got, sizeof(resp) - 1 - got)) > 0)
        got += (size_t)r;
    resp[got] = '\0';
    close(fd);
    if (got > 12)
        status = (int)strtol(resp + 9, NULL, 10);
    if ((p = strstr(resp, "\r\n\r\n")) != NULL)
        snprintf(body, size, "%s", p + 4);
    return status;
}

/* n requests; how many answered 200 "version=<version>" */
static unsigned
count(struct fx *f, unsigned n, const char *version, unsigned *other)
{
    char want[64], body[256];
    unsigned hits = 0, i;

    snprintf(want, sizeof(want), "version=%s\n", version);
    *other = 0;
    for (i = 0; i < n; i++) {
        int st = get(f->f_listen, "web", body, sizeof(body));

        if (st == 200 && strcmp(body, want) == 0) {
            hits++;
        } else {
            (*other)++;
            if (getenv("PAVED_TEST_VERBOSE") != NULL)
                fprintf(stderr, "  request %u: %d %s", i, st, body);
        }
    }
    return hits;
}

static json_t *
load_state(const char *dir, const char *name)
{
    char path[1024];
    json_t *st;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    st = json_load_file(path, 0, NULL);
    assert_non_null(st);
    return st;
}

static pid_t
version_pid(struct fx *f, const char *which)
{
    json_t *st = load_state(f->f_state, "web.json");
    json_t *pid = json_object_get(json_object_get(st, which), "pid");
    pid_t p = json_is_integer(pid) ? (pid_t)json_integer_value(pid) : 0;

    json_decref(st);
    return p;
}

/* Gone, or a zombie nobody reaps (no init in a container reaps them). */
static bool
gone(pid_t pid)
{
    char path[64], buf[512], *p;
    FILE *fp;
    size_t n;

    if (kill(pid, 0) < 0)
        return true;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if ((fp = fopen(path, "r")) == NULL)
        return true;
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    p = strrchr(buf, ')');
    return p != NULL && (p[2] == 'Z' || p[2] == 'X');
}

static void
version(struct paved_version *v, const char *label, const char *art)
{
    static char start[64];

    snprintf(start, sizeof(start), "exec %s server.py",
             access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3"
                                                   : "python3");
    memset(v, 0, sizeof(*v));
    v->v_service = "web";
    v->v_version = label;
    v->v_kind = "directory";
    v->v_artifact = art;
    v->v_digest = "sha256:00";
    v->v_start = start;
}

static void
kill_versions(const char *dir)
{
    static const char *const which[] = {"stable", "candidate"};
    DIR *dh = opendir(dir);
    struct dirent *de;
    char path[1024], *text;
    FILE *fp;
    size_t i, n;

    while (dh != NULL && (de = readdir(dh)) != NULL) {
        json_t *st;

        n = strlen(de->d_name);
        if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0 ||
            strcmp(de->d_name, "targets.json") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if ((st = json_load_file(path, 0, NULL)) == NULL)
            continue;
        for (i = 0; i < 2; i++) {
            json_t *pid = json_object_get(json_object_get(st, which[i]), "pid");

            if (json_is_integer(pid) && json_integer_value(pid) > 1)
                kill(-(pid_t)json_integer_value(pid), SIGKILL);
        }
        json_decref(st);
    }
    if (dh != NULL)
        closedir(dh);
    snprintf(path, sizeof(path), "%s/nginx/nginx.pid", dir);
    if ((fp = fopen(path, "r")) != NULL) {
        char buf[32] = "";

        text = fgets(buf, sizeof(buf), fp);
        fclose(fp);
        if (text != NULL && strtol(buf, NULL, 10) > 1)
            kill((pid_t)strtol(buf, NULL, 10), SIGTERM); /* fast shutdown */
    }
}

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct paved_driver_opts o;
    size_t i;

    if (access(NGINX, X_OK) != 0) {
        printf("SKIP test_driver_local: %s is not installed (scripts/deps.sh "
               "test installs nginx-light)\n",
               NGINX);
        free(f);
        return -1;
    }
    assert_non_null(f);
    snprintf(f->f_root, sizeof(f->f_root), "/tmp/paved-drv-XXXXXX");
    assert_non_null(mkdtemp(f->f_root));
    snprintf(f->f_state, sizeof(f->f_state), "%s/data/environments/test",
             f->f_root);
    snprintf(f->f_state2, sizeof(f->f_state2), "%s/data/environments/other",
             f->f_root);
    for (i = 0; i < 3; i++) {
        snprintf(f->f_art[i], sizeof(f->f_art[i]), "%s/art%zu", f->f_root, i);
        assert_int_equal(mkdir(f->f_art[i], 0700), 0);
    }
    write_file(f->f_art[0], "server.py", server_py);
    write_file(f->f_art[1], "server.py", server_py);
    write_file(f->f_art[2], "server.py",
               "import sys\nprint('boom: no database', flush=True)\n"
               "sys.exit(3)\n");
    f->f_listen = free_ports(1, 0);
    f->f_base = free_ports(10, f->f_listen);
    f->f_env = make_env("test", f->f_listen, f->f_base);
    /* progress lines go to the test's output: they show what happened */
    f->f_progress = getenv("PAVED_TEST_VERBOSE") != NULL ? stderr : NULL;
    memset(&o, 0, sizeof(o));
    o.do_env = f->f_env;
    o.do_state_dir = f->f_state;
    o.do_progress = f->f_progress;
    if (paved_driver_open(&f->f_d, &o) < 0)
        fail_msg("open: %s", paved_error_last());
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    if (f == NULL)
        return 0;
    paved_driver_close(f->f_d);
    kill_versions(f->f_state);
    kill_versions(f->f_state2);
    paved_environment_free(f->f_env);
    if (getenv("PAVED_TEST_KEEP") == NULL)
        nftw(f->f_root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    else
        fprintf(stderr, "kept %s\n", f->f_root);
    free(f);
    return 0;
}

static void
test_image_refused(void **state)
{
    struct fx *f = *state;
    struct paved_version v;
    struct paved_driver_state ds;

    version(&v, "v0", f->f_art[0]);
    v.v_kind = "image";
    v.v_artifact = "127.0.0.1:5000/web@sha256:00";
    assert_int_equal(paved_driver_start(f->f_d, &v), PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(),
                           "the local driver runs directory artifacts; build "
                           "with format: directory"));
    /* refused before anything ran: no state file */
    assert_int_equal(paved_driver_state(&ds, f->f_d, "web"), PAVED_ENOTFOUND);
    assert_int_equal(paved_driver_route(f->f_d, "web", 101), PAVED_EINVAL);
    assert_int_equal(paved_driver_route(f->f_d, "../x", 0), PAVED_EINVAL);
}

static void
test_start_dies(void **state)
{
    struct fx *f = *state;
    struct paved_version v;
    struct paved_driver_state ds;

    version(&v, "v0", f->f_art[2]);
    v.v_start = "exec python3 server.py";
    assert_int_equal(paved_driver_start(f->f_d, &v), PAVED_ERROR);
    assert_non_null(strstr(paved_error_last(), "exited before it accepted"));
    assert_non_null(strstr(paved_error_last(), "boom: no database"));
    /* not kept as a candidate */
    assert_int_equal(paved_driver_state(&ds, f->f_d, "web"), 0);
    assert_null(ds.ds_candidate_version);
    assert_null(ds.ds_stable_version);
    paved_driver_state_dispose(&ds);
}

static void
test_first_deploy(void **state)
{
    struct fx *f = *state;
    struct paved_version v;
    struct paved_driver_state ds;
    unsigned other;
    char body[256];

    version(&v, "v1", f->f_art[0]);
    v.v_sha = "0123456789abcdef";
    if (paved_driver_start(f->f_d, &v) < 0)
        fail_msg("start: %s", paved_error_last());
    /* no traffic yet: nginx answers 503 for the service */
    assert_int_equal(get(f->f_listen, "web", body, sizeof(body)), 503);
    if (paved_driver_route(f->f_d, "web", 100) < 0)
        fail_msg("route: %s", paved_error_last());
    assert_int_equal(count(f, 20, "v1", &other), 20);
    if (paved_driver_promote(f->f_d, "web") < 0)
        fail_msg("promote: %s", paved_error_last());
    assert_int_equal(count(f, 20, "v1", &other), 20);
    assert_int_equal(paved_driver_state(&ds, f->f_d, "web"), 0);
    assert_string_equal(ds.ds_stable_version, "v1");
    assert_string_equal(ds.ds_stable_sha, "0123456789abcdef");
    assert_string_equal(ds.ds_stable_artifact, f->f_art[0]);
    assert_null(ds.ds_candidate_version);
    assert_int_equal(ds.ds_weight, 0);
    paved_driver_state_dispose(&ds);
    /* a default Host reaches the only service too */
    assert_int_equal(get(f->f_listen, "127.0.0.1", body, sizeof(body)), 200);
    assert_string_equal(body, "version=v1\n");
    /* promote without a candidate */
    assert_int_equal(paved_driver_promote(f->f_d, "web"), PAVED_ENOTFOUND);
}

static void
check_targets(struct fx *f, size_t n, const char *v1, const char *t1,
              const char *v2, const char *t2)
{
    json_t *t = load_state(f->f_state, "targets.json"), *lab;
    const char *want_v[2] = {v1, v2}, *want_t[2] = {t1, t2};
    size_t i;

    assert_true(json_is_array(t));
    assert_int_equal(json_array_size(t), n);
    for (i = 0; i < n; i++) {
        json_t *e = json_array_get(t, i);
        const char *addr =
            json_string_value(json_array_get(json_object_get(e, "targets"), 0));
        unsigned port;

        assert_non_null(addr);
        assert_int_equal(strncmp(addr, "127.0.0.1:", 10), 0);
        port = (unsigned)strtoul(addr + 10, NULL, 10);
        assert_true(port >= f->f_base && port < f->f_base + 10);
        lab = json_object_get(e, "labels");
        assert_string_equal(json_string_value(json_object_get(lab, "service")),
                            "web");
        assert_string_equal(json_string_value(json_object_get(lab, "env")),
                            "test");
        assert_string_equal(json_string_value(json_object_get(lab, "version")),
                            want_v[i]);
        assert_string_equal(json_string_value(json_object_get(lab, "track")),
                            want_t[i]);
    }
    json_decref(t);
}

static void
test_canary_25(void **state)
{
    struct fx *f = *state;
    struct paved_version v;
    unsigned other, hits;

    version(&v, "v2", f->f_art[1]);
    if (paved_driver_start(f->f_d, &v) < 0)
        fail_msg("start: %s", paved_error_last());
    assert_int_not_equal(version_pid(f, "candidate"), 0);
    /* started, no traffic */
    assert_int_equal(count(f, 10, "v1", &other), 10);
    check_targets(f, 2, "v1", "stable", "v2", "canary");
    if (paved_driver_route(f->f_d, "web", 25) < 0)
        fail_msg("route: %s", paved_error_last());
    /* smooth weighted round robin over 75:25 in a fresh worker */
    hits = count(f, 100, "v2", &other);
    assert_int_equal(hits, 25);
    assert_int_equal(count(f, 100, "v1", &other), 75);
}

static void
test_promote(void **state)
{
    struct fx *f = *state;
    pid_t v1 = version_pid(f, "stable");
    unsigned other;

    assert_true(v1 > 0);
    assert_false(gone(v1));
    if (paved_driver_route(f->f_d, "web", 100) < 0)
        fail_msg("route: %s", paved_error_last());
    assert_int_equal(count(f, 50, "v2", &other), 50);
    if (paved_driver_promote(f->f_d, "web") < 0)
        fail_msg("promote: %s", paved_error_last());
    assert_int_equal(count(f, 50, "v2", &other), 50);
    assert_true(gone(v1));
    check_targets(f, 1, "v2", "stable", NULL, NULL);
}

static void
test_abort(void **state)
{
    struct fx *f = *state;
    struct paved_version v;
    struct paved_driver_state ds;
    unsigned other;
    pid_t cand;

    version(&v, "v3", f->f_art[0]);
    if (paved_driver_start(f->f_d, &v) < 0 ||
        paved_driver_route(f->f_d, "web", 50) < 0)
        fail_msg("canary: %s", paved_error_last());
    assert_int_equal(count(f, 20, "v3", &other), 10);
    cand = version_pid(f, "candidate");
    if (paved_driver_abort(f->f_d, "web") < 0)
        fail_msg("abort: %s", paved_error_last());
    assert_int_equal(count(f, 40, "v2", &other), 40);
    assert_true(gone(cand));
    assert_int_equal(paved_driver_state(&ds, f->f_d, "web"), 0);
    assert_string_equal(ds.ds_stable_version, "v2");
    assert_null(ds.ds_candidate_version);
    assert_int_equal(ds.ds_weight, 0);
    paved_driver_state_dispose(&ds);
    check_targets(f, 1, "v2", "stable", NULL, NULL);
    /* an abort with nothing to abort changes nothing */
    if (paved_driver_abort(f->f_d, "web") < 0)
        fail_msg("abort: %s", paved_error_last());
    assert_int_equal(count(f, 10, "v2", &other), 10);
}

static void
test_reconcile_dead_candidate(void **state)
{
    struct fx *f = *state;
    struct paved_version v;
    struct paved_driver_state ds;
    unsigned other;
    bool changed = true;
    pid_t cand;

    /* nothing to repair */
    if (paved_driver_reconcile(f->f_d, &changed) < 0)
        fail_msg("reconcile: %s", paved_error_last());
    assert_false(changed);
    version(&v, "v4", f->f_art[0]);
    if (paved_driver_start(f->f_d, &v) < 0 ||
        paved_driver_route(f->f_d, "web", 50) < 0)
        fail_msg("canary: %s", paved_error_last());
    cand = version_pid(f, "candidate");
    assert_int_equal(kill(cand, SIGKILL), 0);
    while (!gone(cand))
        usleep(10000);
    if (paved_driver_reconcile(f->f_d, &changed) < 0)
        fail_msg("reconcile: %s", paved_error_last());
    assert_true(changed);
    assert_int_equal(count(f, 40, "v2", &other), 40);
    assert_int_equal(paved_driver_state(&ds, f->f_d, "web"), 0);
    assert_string_equal(ds.ds_stable_version, "v2");
    assert_null(ds.ds_candidate_version);
    paved_driver_state_dispose(&ds);
    check_targets(f, 1, "v2", "stable", NULL, NULL);
}

static void
test_reconcile_dead_stable(void **state)
{
    struct fx *f = *state;
    unsigned other;
    bool changed = false;
    pid_t stable = version_pid(f, "stable"), again;

    assert_true(stable > 1); /* kill(-0) would hit this test itself */
    assert_int_equal(kill(-stable, SIGKILL), 0);
    while (!gone(stable))
        usleep(10000);
    if (paved_driver_reconcile(f->f_d, &changed) < 0)
        fail_msg("reconcile: %s", paved_error_last());
    assert_true(changed);
    again = version_pid(f, "stable");
    assert_true(again > 0 && again != stable);
    assert_int_equal(count(f, 20, "v2", &other), 20);
    check_targets(f, 1, "v2", "stable", NULL, NULL);
}

/* nginx killed behind paved's back: reconcile starts it again */
static void
test_reconcile_nginx(void **state)
{
    struct fx *f = *state;
    char path[1024], buf[32] = "";
    unsigned other, i;
    bool changed = false;
    FILE *fp;
    pid_t ng;

    snprintf(path, sizeof(path), "%s/nginx/nginx.pid", f->f_state);
    fp = fopen(path, "r");
    assert_non_null(fp);
    assert_non_null(fgets(buf, sizeof(buf), fp));
    fclose(fp);
    ng = (pid_t)strtol(buf, NULL, 10);
    assert_true(ng > 1);
    /* SIGKILL: its worker goes on serving, holding the address */
    assert_int_equal(kill(ng, SIGKILL), 0);
    for (i = 0; i < 500 && !gone(ng); i++)
        usleep(10000);
    assert_true(gone(ng));
    if (paved_driver_reconcile(f->f_d, &changed) < 0)
        fail_msg("reconcile: %s", paved_error_last());
    assert_true(changed);
    assert_int_equal(count(f, 20, "v2", &other), 20);
    /* and all is well now */
    if (paved_driver_reconcile(f->f_d, &changed) < 0)
        fail_msg("reconcile: %s", paved_error_last());
    assert_false(changed);
}

/* Two services behind one nginx: by Host, the first by name the default */
static void
test_two_services(void **state)
{
    struct fx *f = *state;
    struct paved_version v;
    char body[64];

    version(&v, "a1", f->f_art[1]);
    v.v_service = "api";
    if (paved_driver_start(f->f_d, &v) < 0 ||
        paved_driver_route(f->f_d, "api", 100) < 0 ||
        paved_driver_promote(f->f_d, "api") < 0)
        fail_msg("api: %s", paved_error_last());
    assert_int_equal(get(f->f_listen, "api", body, sizeof(body)), 200);
    assert_string_equal(body, "version=a1\n");
    assert_int_equal(get(f->f_listen, "api.localhost", body, sizeof(body)),
                     200);
    assert_string_equal(body, "version=a1\n");
    assert_int_equal(get(f->f_listen, "web", body, sizeof(body)), 200);
    assert_string_equal(body, "version=v2\n");
    assert_int_equal(get(f->f_listen, "web.localhost", body, sizeof(body)),
                     200);
    assert_string_equal(body, "version=v2\n");
    assert_int_equal(get(f->f_listen, "elsewhere", body, sizeof(body)), 200);
    assert_string_equal(body, "version=a1\n");
}

static void
test_listen_taken(void **state)
{
    struct fx *f = *state;
    struct paved_driver_opts o;
    struct sockaddr_in sa;
    struct paved_version v;
    paved_environment *env;
    paved_driver *d = NULL;
    unsigned port = free_ports(1, f->f_listen), base;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 1), 0);
    base = free_ports(10, port);
    if (base <= f->f_base + 10 && base + 10 > f->f_base)
        base = free_ports(10, f->f_base + 20);
    env = make_env("other", port, base);
    memset(&o, 0, sizeof(o));
    o.do_env = env;
    o.do_state_dir = f->f_state2;
    assert_int_equal(paved_driver_open(&d, &o), 0);
    version(&v, "v1", f->f_art[1]);
    assert_int_equal(paved_driver_start(d, &v), PAVED_EUNAVAILABLE);
    assert_non_null(strstr(paved_error_last(), "is in use by another program"));
    paved_driver_close(d);
    paved_environment_free(env);
    close(fd);
    kill_versions(f->f_state2);
}

struct opener {
    struct fx *o_f;
    paved_driver *o_d;
    int o_rc;
    volatile int o_done;
};

static void *
opener_main(void *arg)
{
    struct opener *op = arg;
    struct paved_driver_opts o;

    memset(&o, 0, sizeof(o));
    o.do_env = op->o_f->f_env;
    o.do_state_dir = op->o_f->f_state;
    op->o_rc = paved_driver_open(&op->o_d, &o);
    __atomic_store_n(&op->o_done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void
test_lock(void **state)
{
    struct fx *f = *state;
    struct opener op = {f, NULL, -1, 0};
    struct paved_driver_opts o;
    char path[1024];
    pthread_t t;
    int fd;

    snprintf(path, sizeof(path), "%s/.lock", f->f_state);
    fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    /* held by f_d: another open file description cannot take it */
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), -1);
    assert_int_equal(errno, EWOULDBLOCK);
    assert_int_equal(pthread_create(&t, NULL, opener_main, &op), 0);
    usleep(300000);
    assert_int_equal(__atomic_load_n(&op.o_done, __ATOMIC_SEQ_CST), 0);
    paved_driver_close(f->f_d); /* lets the thread in */
    f->f_d = NULL;
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(op.o_rc, 0);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), -1);
    paved_driver_close(op.o_d);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    close(fd);
    memset(&o, 0, sizeof(o));
    o.do_env = f->f_env;
    o.do_state_dir = f->f_state;
    assert_int_equal(paved_driver_open(&f->f_d, &o), 0);
}

static void
test_state_file(void **state)
{
    struct fx *f = *state;
    json_t *st = load_state(f->f_state, "web.json"), *sv;
    struct stat sb;
    char path[1024];

    sv = json_object_get(st, "stable");
    assert_string_equal(json_string_value(json_object_get(sv, "version")),
                        "v2");
    assert_string_equal(json_string_value(json_object_get(sv, "kind")),
                        "directory");
    assert_true(json_integer_value(json_object_get(sv, "port")) >= f->f_base);
    assert_true(json_is_null(json_object_get(st, "candidate")));
    json_decref(st);
    snprintf(path, sizeof(path), "%s/web.json", f->f_state);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(stat(f->f_state, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    /* the version's own log, with what it printed and its environment */
    snprintf(path, sizeof(path), "%s/web-v2.log", f->f_state);
    assert_int_equal(stat(path, &sb), 0);
    assert_true(sb.st_size > 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_image_refused),
        cmocka_unit_test(test_start_dies),
        cmocka_unit_test(test_first_deploy),
        cmocka_unit_test(test_canary_25),
        cmocka_unit_test(test_promote),
        cmocka_unit_test(test_abort),
        cmocka_unit_test(test_reconcile_dead_candidate),
        cmocka_unit_test(test_reconcile_dead_stable),
        cmocka_unit_test(test_reconcile_nginx),
        cmocka_unit_test(test_state_file),
        cmocka_unit_test(test_listen_taken),
        cmocka_unit_test(test_lock),
        cmocka_unit_test(test_two_services),
    };

    if (access(NGINX, X_OK) != 0) {
        printf("SKIP test_driver_local: %s is not installed (scripts/deps.sh "
               "test installs nginx-light)\n",
               NGINX);
        return 0;
    }
    return cmocka_run_group_tests(tests, setup, teardown);
}
