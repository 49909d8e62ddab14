/* Unit tests for smoke checks against a REAL HTTP server in this process:
 * libevent's evhttp on 127.0.0.1, an ephemeral port read back, its loop
 * in a thread, with handlers that answer 200 "ok", 503, 200 with another
 * body, 503 twice then 200, a redirect, a long body, and one that never
 * answers (timeout); plus a closed port (connection refused). Verdicts,
 * attempts, statuses, messages and the request counts the server saw are
 * asserted exactly; elapsed times never are. Also URL placeholders and
 * the Markdown table. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>

#include "paved/buf.h"
#include "paved/error.h"
#include "paved/smoke.h"

#define MAX_HELD 8

struct srv {
    struct event_base *s_base;
    struct evhttp *s_http;
    pthread_t s_thread;
    int s_port;
    int s_closed_port; /* nothing listens there */
    unsigned s_hits;   /* requests seen; server thread only */
    unsigned s_flaky;  /* /flaky requests seen */
    struct evhttp_request *s_held[MAX_HELD]; /* /slow, never answered */
    size_t s_nheld;
    bool s_stopped; /* the loop thread has been joined */
};

static void
reply(struct evhttp_request *req, int code, const char *reason,
      const char *body)
{
    struct evbuffer *b = evbuffer_new();

    assert_non_null(b);
    evbuffer_add(b, body, strlen(body));
    evhttp_send_reply(req, code, reason, b);
    evbuffer_free(b);
}

static void
srv_cb(struct evhttp_request *req, void *arg)
{
    struct srv *s = arg;
    const char *uri = evhttp_request_get_uri(req);

    s->s_hits++;
    if (strcmp(uri, "/ok") == 0) {
        reply(req, 200, "OK", "ok");
    } else if (strcmp(uri, "/down") == 0) {
        reply(req, 503, "Service Unavailable", "down");
    } else if (strcmp(uri, "/other") == 0) {
        reply(req, 200, "OK", "all is well");
    } else if (strcmp(uri, "/flaky") == 0) {
        if (++s->s_flaky <= 2)
            reply(req, 503, "Service Unavailable", "warming up");
        else
            reply(req, 200, "OK", "ok");
    } else if (strcmp(uri, "/redirect") == 0) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Location",
                          "/ok");
        reply(req, 302, "Found", "");
    } else if (strcmp(uri, "/long") == 0) {
        reply(req, 200, "OK", "0123456789abcdefghij needle");
    } else if (strcmp(uri, "/echo/web-1%2F2%20x?v=1.2.3") == 0) {
        reply(req, 200, "OK", "filled");
    } else if (strcmp(uri, "/slow") == 0 && s->s_nheld < MAX_HELD) {
        s->s_held[s->s_nheld++] = req; /* answered at teardown */
    } else {
        reply(req, 404, "Not Found", "no such page");
    }
}

static void *
srv_main(void *arg)
{
    struct srv *s = arg;

    event_base_dispatch(s->s_base);
    return NULL;
}

static int
setup(void **state)
{
    struct srv *s = calloc(1, sizeof(*s));
    struct evhttp_bound_socket *bs;
    struct sockaddr_in sin;
    socklen_t slen = sizeof(sin);
    int fd;

    assert_non_null(s);
    assert_non_null(s->s_base = event_base_new());
    assert_non_null(s->s_http = evhttp_new(s->s_base));
    evhttp_set_gencb(s->s_http, srv_cb, s);
    bs = evhttp_bind_socket_with_handle(s->s_http, "127.0.0.1", 0);
    assert_non_null(bs);
    assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bs),
                                 (struct sockaddr *)&sin, &slen),
                     0);
    s->s_port = ntohs(sin.sin_port);
    assert_true(s->s_port > 0);

    /* a port that was just free: bound, read back, closed, never listened */
    assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    slen = sizeof(sin);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
    s->s_closed_port = ntohs(sin.sin_port);
    close(fd);

    assert_int_equal(pthread_create(&s->s_thread, NULL, srv_main, s), 0);
    *state = s;
    return 0;
}

static int
teardown(void **state)
{
    struct srv *s = *state;
    size_t i;

    if (!s->s_stopped) {
        event_base_loopbreak(s->s_base);
        pthread_join(s->s_thread, NULL);
    }
    /* also frees a request whose client went away */
    for (i = 0; i < s->s_nheld; i++)
        evhttp_send_reply(s->s_held[i], 503, "Late", NULL);
    evhttp_free(s->s_http);
    event_base_free(s->s_base);
    free(s);
    return 0;
}

/* Stops the server so that its counters can be read. */
static void
srv_stop(struct srv *s)
{
    event_base_loopbreak(s->s_base);
    pthread_join(s->s_thread, NULL);
    s->s_stopped = true;
}

static const struct paved_smoke_opts fast = {1, 0}; /* 1 ms backoff */

static struct paved_env_smoke
check(const char *name, char *url, unsigned retries, const char *body)
{
    struct paved_env_smoke sm;

    memset(&sm, 0, sizeof(sm));
    sm.sm_name = (char *)name;
    sm.sm_url = url;
    sm.sm_status = 200;
    sm.sm_body_contains = (char *)body;
    sm.sm_timeout = 5;
    sm.sm_retries = retries;
    return sm;
}

/* Runs one check and checks its result field by field. */
static void
expect_one(struct srv *s, struct paved_env_smoke sm, bool pass,
           unsigned attempts, long status, const char *message)
{
    struct paved_smoke_report r;

    (void)s;
    assert_int_equal(paved_smoke_run(&r, &sm, 1, NULL, 0, &fast), 0);
    assert_int_equal(r.rp_n, 1);
    assert_string_equal(r.rp_results[0].sr_name, sm.sm_name);
    assert_string_equal(r.rp_results[0].sr_message, message);
    assert_int_equal(r.rp_results[0].sr_pass, pass);
    assert_int_equal(r.rp_pass, pass);
    assert_int_equal(r.rp_results[0].sr_attempts, attempts);
    assert_int_equal(r.rp_results[0].sr_status, status);
    paved_smoke_report_dispose(&r);
}

static void
test_ok(void **state)
{
    struct srv *s = *state;
    char url[128];

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok", s->s_port);
    expect_one(s, check("health", url, 2, "ok"), true, 1, 200, "ok");
    srv_stop(s);
    assert_int_equal(s->s_hits, 1);
}

static void
test_status_fails_after_retries(void **state)
{
    struct srv *s = *state;
    char url[128];

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/down", s->s_port);
    expect_one(s, check("health", url, 2, NULL), false, 3, 503,
               "expected 200, got 503 after 3 attempts");
    srv_stop(s);
    assert_int_equal(s->s_hits, 3);
}

/* An expected status other than 200 is judged as such. */
static void
test_expected_503(void **state)
{
    struct srv *s = *state;
    struct paved_env_smoke sm;
    char url[128];

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/down", s->s_port);
    sm = check("maintenance", url, 2, "down");
    sm.sm_status = 503;
    expect_one(s, sm, true, 1, 503, "ok");
    sm.sm_status = 204;
    expect_one(s, sm, false, 3, 503, "expected 204, got 503 after 3 attempts");
}

static void
test_body_does_not_contain(void **state)
{
    struct srv *s = *state;
    char url[128];

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/other", s->s_port);
    expect_one(s, check("home", url, 0, "ok"), false, 1, 200,
               "body does not contain \"ok\"");
    expect_one(s, check("home", url, 1, "ok"), false, 2, 200,
               "body does not contain \"ok\" after 2 attempts");
    expect_one(s, check("home", url, 0, "is well"), true, 1, 200, "ok");
    srv_stop(s);
    assert_int_equal(s->s_hits, 4);
}

static void
test_retries_succeed(void **state)
{
    struct srv *s = *state;
    char url[128];

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/flaky", s->s_port);
    expect_one(s, check("health", url, 2, "ok"), true, 3, 200,
               "ok after 3 attempts");
    srv_stop(s);
    assert_int_equal(s->s_flaky, 3);
}

/* One retry is not enough for two 503s; no attempt after a pass. */
static void
test_retries_exhausted(void **state)
{
    struct srv *s = *state;
    char url[128];

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/flaky", s->s_port);
    expect_one(s, check("health", url, 1, NULL), false, 2, 503,
               "expected 200, got 503 after 2 attempts");
    expect_one(s, check("health", url, 5, NULL), true, 1, 200, "ok");
    srv_stop(s);
    assert_int_equal(s->s_flaky, 3);
}

static void
test_timeout(void **state)
{
    struct srv *s = *state;
    struct paved_env_smoke sm;
    char url[128];

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/slow", s->s_port);
    sm = check("slow", url, 0, NULL);
    sm.sm_timeout = 1;
    expect_one(s, sm, false, 1, 0, "timed out after 1s");
    sm.sm_retries = 1;
    expect_one(s, sm, false, 2, 0, "timed out after 1s (2 attempts)");
    srv_stop(s);
    assert_int_equal(s->s_hits, 3);
}

static void
test_connection_refused(void **state)
{
    struct srv *s = *state;
    char url[128];

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok", s->s_closed_port);
    expect_one(s, check("health", url, 0, NULL), false, 1, 0,
               "connection refused");
    expect_one(s, check("health", url, 2, NULL), false, 3, 0,
               "connection refused after 3 attempts");
}

/* A redirect is the answer: never followed. */
static void
test_redirect_not_followed(void **state)
{
    struct srv *s = *state;
    struct paved_env_smoke sm;
    char url[128];

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/redirect", s->s_port);
    expect_one(s, check("home", url, 0, NULL), false, 1, 302,
               "expected 200, got 302 (redirects are not followed)");
    sm = check("home", url, 0, NULL);
    sm.sm_status = 302;
    expect_one(s, sm, true, 1, 302, "ok");
    srv_stop(s);
    assert_int_equal(s->s_hits, 2);
}

/* Only the first so_body_max bytes are read and searched. */
static void
test_body_cap(void **state)
{
    struct srv *s = *state;
    struct paved_env_smoke sm;
    struct paved_smoke_opts small = {1, 16};
    struct paved_smoke_report r;
    char url[128];

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/long", s->s_port);
    sm = check("long", url, 0, "needle");
    assert_int_equal(paved_smoke_run(&r, &sm, 1, NULL, 0, &small), 0);
    assert_false(r.rp_pass);
    assert_int_equal(r.rp_results[0].sr_status, 200);
    assert_string_equal(r.rp_results[0].sr_message,
                        "body does not contain \"needle\" in its first 16 "
                        "bytes");
    paved_smoke_report_dispose(&r);
    sm = check("long", url, 0, "abcdef");
    assert_int_equal(paved_smoke_run(&r, &sm, 1, NULL, 0, &small), 0);
    assert_true(r.rp_pass);
    assert_string_equal(r.rp_results[0].sr_message, "ok");
    paved_smoke_report_dispose(&r);
    /* the default cap (1 MiB) holds the whole body */
    expect_one(s, check("long", url, 0, "needle"), true, 1, 200, "ok");
}

/* Several checks: in order, and the overall verdict is their AND. */
static void
test_several(void **state)
{
    struct srv *s = *state;
    struct paved_env_smoke sm[3];
    struct paved_smoke_report r;
    char u1[128], u2[128], u3[128];

    snprintf(u1, sizeof(u1), "http://127.0.0.1:%d/ok", s->s_port);
    snprintf(u2, sizeof(u2), "http://127.0.0.1:%d/down", s->s_port);
    snprintf(u3, sizeof(u3), "http://127.0.0.1:%d/other", s->s_port);
    sm[0] = check("a", u1, 0, "ok");
    sm[1] = check("b", u2, 0, NULL);
    sm[2] = check("c", u3, 0, NULL);
    assert_int_equal(paved_smoke_run(&r, sm, 3, NULL, 0, &fast), 0);
    assert_int_equal(r.rp_n, 3);
    assert_false(r.rp_pass);
    assert_string_equal(r.rp_results[0].sr_name, "a");
    assert_true(r.rp_results[0].sr_pass);
    assert_string_equal(r.rp_results[1].sr_name, "b");
    assert_false(r.rp_results[1].sr_pass);
    assert_string_equal(r.rp_results[1].sr_message, "expected 200, got 503");
    assert_string_equal(r.rp_results[2].sr_name, "c");
    assert_true(r.rp_results[2].sr_pass);
    paved_smoke_report_dispose(&r);
    paved_smoke_report_dispose(&r); /* twice is harmless */
    paved_smoke_report_dispose(NULL);

    assert_int_equal(paved_smoke_run(&r, sm, 0, NULL, 0, NULL), 0);
    assert_true(r.rp_pass);
    assert_int_equal(r.rp_n, 0);
    paved_smoke_report_dispose(&r);
}

/* {{placeholders}}: values percent-encoded; a missing one fails the
 * check without a request. */
static void
test_placeholders(void **state)
{
    struct srv *s = *state;
    struct paved_smoke_var vars[] = {
        {"service", "web-1/2 x"}, {"version", "1.2.3"}, {"environment", NULL}};
    struct paved_env_smoke sm;
    struct paved_smoke_report r;
    char url[128], *out = NULL;

    assert_int_equal(paved_smoke_fill_url(&out,
                                          "http://h/{{service}}?v="
                                          "{{version}}&x={{version}}",
                                          vars, 3),
                     0);
    assert_string_equal(out, "http://h/web-1%2F2%20x?v=1.2.3&x=1.2.3");
    free(out);
    assert_int_equal(paved_smoke_fill_url(&out, "http://h/", vars, 3), 0);
    assert_string_equal(out, "http://h/");
    free(out);
    assert_int_equal(
        paved_smoke_fill_url(&out, "http://h/{{environment}}", vars, 3),
        PAVED_EINVAL);
    assert_null(out);
    assert_string_equal(paved_error_last(), "no value for {{environment}}");
    assert_int_equal(paved_smoke_fill_url(&out, "http://h/{{x", vars, 3),
                     PAVED_EINVAL);
    assert_null(out);

    snprintf(url, sizeof(url),
             "http://127.0.0.1:%d/echo/{{service}}?v={{version}}", s->s_port);
    sm = check("echo", url, 0, "filled");
    assert_int_equal(paved_smoke_run(&r, &sm, 1, vars, 2, &fast), 0);
    assert_true(r.rp_pass);
    assert_string_equal(r.rp_results[0].sr_message, "ok");
    paved_smoke_report_dispose(&r);

    assert_int_equal(paved_smoke_run(&r, &sm, 1, vars, 1, &fast), 0);
    assert_false(r.rp_pass);
    assert_int_equal(r.rp_results[0].sr_attempts, 0);
    assert_int_equal(r.rp_results[0].sr_status, 0);
    assert_string_equal(r.rp_results[0].sr_message, "no value for {{version}}");
    paved_smoke_report_dispose(&r);
    srv_stop(s);
    assert_int_equal(s->s_hits, 1);
}

static void
test_markdown(void **state)
{
    struct paved_smoke_result res[2] = {
        {"health", true, 1, 200, 12, "ok"},
        {"home", false, 3, 0, 3004,
         "body does not contain \"a|b <i>\"\nafter"}};
    struct paved_smoke_report r = {res, 2, false};
    struct paved_buf b = PAVED_BUF_INIT(1 << 16);

    (void)state;
    assert_int_equal(paved_smoke_markdown(&b, &r), 0);
    assert_string_equal(
        b.b_ptr, "Smoke checks: 1 of 2 failed.\n"
                 "\n"
                 "| check | result | attempts | status | time | message |\n"
                 "| --- | --- | ---: | ---: | ---: | --- |\n"
                 "| health | pass | 1 | 200 | 12 ms | ok |\n"
                 "| home | fail | 3 | - | 3004 ms | body does not contain "
                 "\"a\\|b \\<i\\>\" after |\n");
    paved_buf_clear(&b);
    res[1].sr_pass = true;
    r.rp_pass = true;
    assert_int_equal(paved_smoke_markdown(&b, &r), 0);
    assert_non_null(strstr(b.b_ptr, "Smoke checks: all 2 passed.\n"));
    paved_buf_clear(&b);
    r.rp_n = 0;
    assert_int_equal(paved_smoke_markdown(&b, &r), 0);
    assert_string_equal(b.b_ptr, "No smoke checks.\n");
    paved_buf_dispose(&b);
}

static int
group_setup(void **state)
{
    (void)state;
    if (evthread_use_pthreads() != 0)
        return -1;
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int
group_teardown(void **state)
{
    (void)state;
    curl_global_cleanup();
    libevent_global_shutdown();
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_fails_after_retries, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_expected_503, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_does_not_contain, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_retries_succeed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retries_exhausted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_redirect_not_followed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_body_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_several, setup, teardown),
        cmocka_unit_test_setup_teardown(test_placeholders, setup, teardown),
        cmocka_unit_test(test_markdown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
