/* The HTTP server in-process, on a loopback port chosen by the kernel:
 * routes, statuses, limits and the connection guard, so that the
 * sanitizer build exercises server.c too. The loop runs on its own
 * thread; the test talks plain sockets to it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "paved/config.h"
#include "paved/crypto.h"
#include "paved/error.h"
#include "paved/log.h"
#include "paved/metrics.h"
#include "paved/server.h"
#include "paved/store.h"

#define SECRET "It's a Secret to Everybody"

struct fixture {
    char f_dir[64];
    struct paved_config *f_cfg;
    paved_store *f_store;
    paved_metrics *f_metrics;
    paved_log *f_log;
    struct event_base *f_base;
    paved_server *f_server;
    pthread_t f_thread;
    int f_port;
    int f_devnull;
};

static void *
loop_main(void *arg)
{
    struct fixture *f = arg;

    event_base_loop(f->f_base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct paved_store_opts so;
    struct paved_server_deps deps = {0};
    char yaml[512], addr[128];
    int n;

    assert_non_null(f);
    snprintf(f->f_dir, sizeof(f->f_dir), "/tmp/paved-server-XXXXXX");
    assert_non_null(mkdtemp(f->f_dir));
    n = snprintf(yaml, sizeof(yaml),
                 "listen: 127.0.0.1:0\n"
                 "data_dir: %s\n"
                 "max_body: 64KiB\n"
                 "read_timeout: 1s\n"
                 "request_timeout: 2s\n"
                 "github_secret: [old-secret, \"" SECRET "\"]\n",
                 f->f_dir);
    if (paved_config_parse(&f->f_cfg, "test.yaml", yaml, (size_t)n, NULL) < 0)
        fail_msg("config: %s", paved_error_last());
    memset(&so, 0, sizeof(so));
    so.so_spec = "sqlite";
    so.so_data_dir = f->f_dir;
    assert_int_equal(paved_store_open(&f->f_store, &so), 0);
    assert_int_equal(paved_metrics_new(&f->f_metrics), 0);
    assert_true((f->f_devnull = open("/dev/null", O_WRONLY)) >= 0);
    assert_int_equal(paved_log_new(&f->f_log, f->f_devnull, 0, PAVED_LOG_ERROR),
                     0);
    assert_int_equal(evthread_use_pthreads(), 0);
    assert_non_null(f->f_base = event_base_new());
    deps.sd_base = f->f_base;
    deps.sd_config = f->f_cfg;
    deps.sd_store = f->f_store;
    deps.sd_metrics = f->f_metrics;
    deps.sd_log = f->f_log;
    assert_int_equal(paved_server_new(&f->f_server, &deps), 0);
    assert_int_equal(paved_server_listen(f->f_server, addr, sizeof(addr)), 0);
    assert_int_equal(strncmp(addr, "127.0.0.1:", 10), 0);
    f->f_port = atoi(addr + 10);
    assert_true(f->f_port > 0);
    assert_int_equal(pthread_create(&f->f_thread, NULL, loop_main, f), 0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];

    event_base_loopbreak(f->f_base);
    pthread_join(f->f_thread, NULL);
    paved_server_free(f->f_server);
    paved_store_close(f->f_store);
    event_base_free(f->f_base);
    paved_metrics_free(f->f_metrics);
    paved_log_free(f->f_log);
    close(f->f_devnull);
    paved_config_free(f->f_cfg);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->f_dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static int
dial(struct fixture *f)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)f->f_port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/* Read until the peer closes (requests say Connection: close) or 10 s. */
static size_t
read_all(int fd, char *buf, size_t cap)
{
    struct pollfd pfd = {fd, POLLIN, 0};
    size_t len = 0;
    ssize_t n;

    while (len + 1 < cap && poll(&pfd, 1, 10000) > 0) {
        if ((n = read(fd, buf + len, cap - 1 - len)) <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return len;
}

static int
status_of(const char *resp)
{
    int status = 0;

    if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
        return 0;
    return status;
}

/* One request on a new connection; returns the status, body in *body. */
static int
request(struct fixture *f, const char *method, const char *path,
        const char *headers, const char *body, char *resp, size_t cap)
{
    char head[2048];
    int fd = dial(f), n;

    n = snprintf(head, sizeof(head),
                 "%s %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
                 "Content-Length: %zu\r\n%s\r\n",
                 method, path, body ? strlen(body) : 0, headers ? headers : "");
    assert_true(write(fd, head, (size_t)n) == n);
    if (body != NULL)
        assert_true(write(fd, body, strlen(body)) == (ssize_t)strlen(body));
    read_all(fd, resp, cap);
    close(fd);
    return status_of(resp);
}

static void
sign(char *out, size_t len, const char *secret, const char *body)
{
    unsigned char mac[32];
    char hex[65];
    size_t maclen;

    assert_int_equal(paved_hmac(mac, &maclen, "sha256", secret, strlen(secret),
                                body, strlen(body)),
                     0);
    paved_hex_encode(hex, mac, maclen);
    snprintf(out, len, "sha256=%s", hex);
}

static int
post_push(struct fixture *f, const char *delivery, const char *secret,
          char *resp, size_t cap)
{
    const char *body = "{\"ref\":\"refs/heads/main\",\"before\":\"a\","
                       "\"after\":\"b\",\"repository\":{\"full_name\":\"o/r\","
                       "\"clone_url\":\"https://x/o/r.git\"},"
                       "\"sender\":{\"login\":\"me\"}}";
    char sig[80], headers[512];

    sign(sig, sizeof(sig), secret, body);
    snprintf(headers, sizeof(headers),
             "Content-Type: application/json\r\nX-GitHub-Event: push\r\n"
             "X-GitHub-Delivery: %s\r\nX-Hub-Signature-256: %s\r\n",
             delivery, sig);
    return request(f, "POST", "/hooks/github", headers, body, resp, cap);
}

static void
test_health_and_routes(void **state)
{
    char resp[65536];

    assert_int_equal(
        request(*state, "GET", "/healthz", NULL, NULL, resp, sizeof(resp)),
        200);
    assert_int_equal(
        request(*state, "GET", "/readyz", NULL, NULL, resp, sizeof(resp)), 200);
    assert_int_equal(
        request(*state, "GET", "/nope", NULL, NULL, resp, sizeof(resp)), 404);
    assert_int_equal(
        request(*state, "GET", "/hooks/github", NULL, NULL, resp, sizeof(resp)),
        405);
    assert_int_equal(
        request(*state, "POST", "/healthz", NULL, "x", resp, sizeof(resp)),
        405);
}

static void
test_webhook_statuses(void **state)
{
    struct fixture *f = *state;
    char resp[65536];
    int64_t count = 0;

    assert_int_equal(post_push(f, "d-1", SECRET, resp, sizeof(resp)), 202);
    assert_non_null(
        strstr(resp, "{\"delivery\":\"d-1\",\"status\":\"queued\"}"));
    assert_int_equal(post_push(f, "d-1", SECRET, resp, sizeof(resp)), 200);
    assert_non_null(strstr(resp, "\"duplicate\""));
    /* the first of two secrets works as well (rotation) */
    assert_int_equal(post_push(f, "d-2", "old-secret", resp, sizeof(resp)),
                     202);
    assert_int_equal(post_push(f, "d-3", "wrong", resp, sizeof(resp)), 401);
    assert_non_null(strstr(resp, "\"error\""));
    assert_int_equal(request(f, "POST", "/hooks/github",
                             "Content-Type: text/plain\r\n", "hi", resp,
                             sizeof(resp)),
                     415);
    assert_int_equal(paved_store_delivery_count(&count, f->f_store), 0);
    assert_int_equal(count, 2);
    assert_int_equal(request(f, "GET", "/api/v1/deliveries?limit=1", NULL, NULL,
                             resp, sizeof(resp)),
                     200);
    assert_non_null(strstr(resp, "\"id\":\"d-2\""));
    assert_null(strstr(resp, "\"id\":\"d-1\""));
}

static void
test_body_limit(void **state)
{
    static char chunk[65536];
    char head[256], resp[4096];
    size_t sent;
    int fd = dial(*state);
    int n;

    /* 1 MiB against a 64 KiB cap: refused from the Content-Length, the
     * body read and dropped (never buffered), then a clean 413 */
    n = snprintf(head, sizeof(head),
                 "POST /hooks/github HTTP/1.1\r\nHost: t\r\n"
                 "Content-Type: application/json\r\n"
                 "Content-Length: 1048576\r\n\r\n");
    assert_true(write(fd, head, (size_t)n) == n);
    memset(chunk, 'x', sizeof(chunk));
    for (sent = 0; sent < 1048576; sent += sizeof(chunk))
        assert_true(write(fd, chunk, sizeof(chunk)) == (ssize_t)sizeof(chunk));
    read_all(fd, resp, sizeof(resp));
    close(fd);
    assert_int_equal(status_of(resp), 413);
}

static void
test_slow_clients_are_cut(void **state)
{
    char resp[256];
    struct pollfd pfd;
    int fd = dial(*state), i, closed = 0;

    /* idle: half a request line, then nothing: read_timeout (1 s) */
    assert_true(write(fd, "GET /hea", 8) == 8);
    read_all(fd, resp, sizeof(resp));
    close(fd);

    /* trickle: a byte every 300 ms is never idle for 1 s, but the whole
     * request may take only request_timeout (2 s) */
    fd = dial(*state);
    for (i = 0; i < 60 && !closed; i++) {
        if (write(fd, "X", 1) != 1)
            closed = 1;
        pfd.fd = fd;
        pfd.events = POLLIN;
        if (poll(&pfd, 1, 300) > 0 && read(fd, resp, sizeof(resp)) <= 0)
            closed = 1;
    }
    close(fd);
    assert_true(closed); /* within 18 s at the very most */
}

static void
test_client_gone_before_commit(void **state)
{
    struct fixture *f = *state;
    char resp[4096];
    const char *body = "{\"zen\":\"x\",\"hook_id\":1}";
    char sig[80], head[512];
    int fd, n;

    /* send a whole valid request and hang up at once: the server must
     * neither crash nor answer into a freed request */
    sign(sig, sizeof(sig), SECRET, body);
    for (int i = 0; i < 20; i++) {
        fd = dial(f);
        n = snprintf(head, sizeof(head),
                     "POST /hooks/github HTTP/1.1\r\nHost: t\r\n"
                     "Content-Type: application/json\r\nX-GitHub-Event: "
                     "ping\r\nX-GitHub-Delivery: gone-%d\r\n"
                     "X-Hub-Signature-256: %s\r\nContent-Length: %zu\r\n\r\n"
                     "%s",
                     i, sig, strlen(body), body);
        assert_true(write(fd, head, (size_t)n) == n);
        close(fd);
    }
    assert_int_equal(post_push(f, "after-gone", SECRET, resp, sizeof(resp)),
                     202);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_health_and_routes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_webhook_statuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_clients_are_cut, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_client_gone_before_commit, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
