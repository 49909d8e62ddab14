/* The real reporter in-process against a fake GitHub: a SQLite store in a
 * temp dir, a libevent loop driven by the test, the configuration parsed
 * from YAML, and an evhttp server on 127.0.0.1 that plays GitHub's
 * statuses API. The fake's answers are scripted per request (status,
 * headers, body; answered at once, after a delay, when the test releases
 * them, or never) and it records every request it gets. Rows go into the
 * outbox the way the scheduler writes them (paved_store_run_save_report),
 * then the reporter is kicked; the test reads the store and the fake's
 * records. Covers the exact request GitHub takes, coalescing, 5xx and
 * timeout retries, Retry-After and X-RateLimit-* holding the whole forge,
 * a 4xx that is not retried until retried by hand, a newer state written
 * while the older one is in flight, forges that are not configured,
 * pacing, and the token never reaching the log.
 *
 * Which is which: every request here goes to this loopback fake, which
 * checks the request against what GitHub's create-status call takes
 * (method, path, the three headers octokit's create-status fixture
 * matches, the compact body); it is not @octokit/fixtures-server.
 * Never mocks paved's code: every wait is bounded and fails the test
 * instead of hanging. The reporter's backoff is 2 s doubling with 25 %
 * jitter, so retries take real seconds; the lower bounds on delays
 * asserted below are correctness bounds (never sooner than asked), not
 * speed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "paved/config.h"
#include "paved/error.h"
#include "paved/log.h"
#include "paved/metrics.h"
#include "paved/reporter.h"
#include "paved/store.h"

#define TOKEN "t0ken-5ca1ab1e-cafe"
#define SHA "0123456789abcdef0123456789abcdef01234567"
#define REPO "acme/shop"
#define TARGET "https://ci.example/api/v1/runs/7"
#define URI "/repos/acme/shop/statuses/" SHA
/* Valgrind slows SQLite and curl: waits are generous, and only a failing
 * test ever waits that long. */
#define WAIT_MS 30000
#define MAX_RECS 128
#define MAX_SCRIPT 8
#define MAX_HELD 16
#define MAX_HDRS 4

/* ---- the fake GitHub ---------------------------------------------------- */

enum fake_mode {
    FAKE_ANSWER = 0, /* at once */
    FAKE_DELAY,      /* after a_delay_ms */
    FAKE_HOLD,       /* when the test calls fake_release() */
    FAKE_HANG        /* never (the reporter's timeout must end it) */
};

struct fake_answer {
    enum fake_mode a_mode;
    int a_status;
    int a_delay_ms;
    char a_hdr[MAX_HDRS][2][80]; /* name, value */
    size_t a_nhdr;
    char a_body[256];
};

struct fake_rec {
    char *r_method;
    char *r_uri;
    char *r_accept;
    char *r_auth;
    char *r_ctype;
    char *r_agent;
    char *r_body;
    size_t r_outstanding; /* requests held unanswered when it arrived */
    int64_t r_mono_ms;    /* when it arrived */
    int64_t r_real_ms;
};

struct fixture;

/* A request the fake has not answered yet. Every one is answered exactly
 * once (timer, release or teardown): evhttp_send_reply() also frees a
 * request whose client went away, which nothing else would. */
struct fake_held {
    struct fixture *h_f;
    struct evhttp_request *h_req;
    struct event *h_timer;
    struct fake_answer h_ans;
};

struct fixture {
    char f_dir[64];
    struct event_base *f_base;
    struct event *f_tick;   /* bounds each EVLOOP_ONCE */
    struct event *f_notify; /* the store's completions */
    paved_store *f_st;
    struct paved_config *f_cf;
    paved_log *f_log;
    int f_logfd;
    int f_log_to_file;
    char f_logpath[128];
    paved_metrics *f_metrics;
    paved_reporter *f_rp;
    int f_saved;       /* run_save_report callbacks */
    int f_save_result; /* the last one's result */
    int f_probed;
    /* the fake */
    struct evhttp *f_http;
    int f_port;
    struct fake_answer f_script[MAX_SCRIPT]; /* request i gets f_script[i] */
    size_t f_nscript;
    struct fake_answer f_default; /* after the script: 201 */
    struct fake_rec f_recs[MAX_RECS];
    size_t f_nrecs;
    size_t f_dropped; /* requests past MAX_RECS (fails the test) */
    struct fake_held *f_held[MAX_HELD];
    size_t f_nheld;
    size_t f_answered;
};

static int64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
real_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *
dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

static const char *
fake_method(enum evhttp_cmd_type cmd)
{
    switch (cmd) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    default:
        return "OTHER";
    }
}

static const char *
fake_reason(int status)
{
    switch (status) {
    case 201:
        return "Created";
    case 403:
        return "Forbidden";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 503:
        return "Service Unavailable";
    default:
        return "Whatever";
    }
}

static void
fake_reply(struct fixture *f, struct evhttp_request *req,
           const struct fake_answer *a)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    struct evbuffer *body = evbuffer_new();
    size_t i;

    for (i = 0; i < a->a_nhdr; i++)
        evhttp_add_header(out, a->a_hdr[i][0], a->a_hdr[i][1]);
    evhttp_add_header(out, "Content-Type", "application/json; charset=utf-8");
    if (body != NULL)
        evbuffer_add(body, a->a_body, strlen(a->a_body));
    evhttp_send_reply(req, a->a_status, fake_reason(a->a_status), body);
    if (body != NULL)
        evbuffer_free(body);
    f->f_answered++;
}

static void
fake_held_answer(struct fake_held *h)
{
    struct fixture *f = h->h_f;
    size_t i;

    for (i = 0; i < f->f_nheld; i++) {
        if (f->f_held[i] == h) {
            f->f_held[i] = f->f_held[--f->f_nheld];
            break;
        }
    }
    fake_reply(f, h->h_req, &h->h_ans);
    if (h->h_timer != NULL)
        event_free(h->h_timer);
    free(h);
}

static void
fake_delay_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    fake_held_answer(arg);
}

/* Records the request, then answers as scripted. Never asserts: a longjmp
 * out of the loop's dispatch would leave it inconsistent. */
static void
fake_cb(struct evhttp_request *req, void *arg)
{
    struct fixture *f = arg;
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evbuffer *body = evhttp_request_get_input_buffer(req);
    const struct fake_answer *a;
    struct fake_held *h;
    struct fake_rec *r;
    size_t len;

    if (f->f_nrecs >= MAX_RECS) {
        f->f_dropped++;
        fake_reply(f, req, &f->f_default);
        return;
    }
    a = f->f_nrecs < f->f_nscript ? &f->f_script[f->f_nrecs] : &f->f_default;
    r = &f->f_recs[f->f_nrecs++];
    r->r_outstanding = f->f_nheld;
    r->r_mono_ms = mono_ms();
    r->r_real_ms = real_ms();
    r->r_method = strdup(fake_method(evhttp_request_get_command(req)));
    r->r_uri = strdup(evhttp_request_get_uri(req));
    r->r_accept = dup_or_null(evhttp_find_header(in, "Accept"));
    r->r_auth = dup_or_null(evhttp_find_header(in, "Authorization"));
    r->r_ctype = dup_or_null(evhttp_find_header(in, "Content-Type"));
    r->r_agent = dup_or_null(evhttp_find_header(in, "User-Agent"));
    len = evbuffer_get_length(body);
    if ((r->r_body = malloc(len + 1)) != NULL) {
        evbuffer_copyout(body, r->r_body, len);
        r->r_body[len] = '\0';
    }
    if (a->a_mode == FAKE_ANSWER || f->f_nheld >= MAX_HELD ||
        (h = calloc(1, sizeof(*h))) == NULL) {
        fake_reply(f, req, a);
        return;
    }
    h->h_f = f;
    h->h_req = req;
    h->h_ans = *a;
    f->f_held[f->f_nheld++] = h;
    if (a->a_mode == FAKE_DELAY) {
        struct timeval tv = {a->a_delay_ms / 1000,
                             (a->a_delay_ms % 1000) * 1000};
        if ((h->h_timer = evtimer_new(f->f_base, fake_delay_cb, h)) != NULL)
            evtimer_add(h->h_timer, &tv);
    }
}

/* Answers every held request (FAKE_HOLD) now. */
static void
fake_release(struct fixture *f)
{
    size_t i = 0;

    while (i < f->f_nheld) {
        if (f->f_held[i]->h_ans.a_mode == FAKE_HOLD)
            fake_held_answer(f->f_held[i]); /* moves the last into i */
        else
            i++;
    }
}

static struct fake_answer *
script(struct fixture *f, enum fake_mode mode, int status, const char *body)
{
    struct fake_answer *a;

    assert_true(f->f_nscript < MAX_SCRIPT);
    a = &f->f_script[f->f_nscript++];
    memset(a, 0, sizeof(*a));
    a->a_mode = mode;
    a->a_status = status;
    snprintf(a->a_body, sizeof(a->a_body), "%s", body != NULL ? body : "");
    return a;
}

static void
script_header(struct fake_answer *a, const char *name, const char *value)
{
    assert_true(a->a_nhdr < MAX_HDRS);
    snprintf(a->a_hdr[a->a_nhdr][0], sizeof(a->a_hdr[0][0]), "%s", name);
    snprintf(a->a_hdr[a->a_nhdr][1], sizeof(a->a_hdr[0][1]), "%s", value);
    a->a_nhdr++;
}

static void
fake_up(struct fixture *f)
{
    struct evhttp_bound_socket *bs;
    struct sockaddr_in sin;
    socklen_t slen = sizeof(sin);

    assert_non_null(f->f_http = evhttp_new(f->f_base));
    evhttp_set_gencb(f->f_http, fake_cb, f);
    bs = evhttp_bind_socket_with_handle(f->f_http, "127.0.0.1", 0);
    assert_non_null(bs);
    assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bs),
                                 (struct sockaddr *)&sin, &slen),
                     0);
    f->f_port = ntohs(sin.sin_port);
    assert_true(f->f_port > 0);
    f->f_default.a_mode = FAKE_ANSWER;
    f->f_default.a_status = 201;
    snprintf(f->f_default.a_body, sizeof(f->f_default.a_body),
             "{\"id\":1,\"state\":\"success\"}");
}

static void
fake_down(struct fixture *f)
{
    size_t i;

    while (f->f_nheld > 0)
        fake_held_answer(f->f_held[0]);
    if (f->f_http != NULL)
        evhttp_free(f->f_http);
    f->f_http = NULL;
    for (i = 0; i < f->f_nrecs; i++) {
        struct fake_rec *r = &f->f_recs[i];
        free(r->r_method);
        free(r->r_uri);
        free(r->r_accept);
        free(r->r_auth);
        free(r->r_ctype);
        free(r->r_agent);
        free(r->r_body);
    }
    f->f_nrecs = 0;
}

/* ---- the loop ----------------------------------------------------------- */

static void
notify_cb(evutil_socket_t fd, short what, void *arg)
{
    struct fixture *f = arg;

    (void)fd;
    (void)what;
    paved_store_complete(f->f_st);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

static void
loop_once(struct fixture *f)
{
    if (event_base_loop(f->f_base, EVLOOP_ONCE) < 0)
        fail_msg("event_base_loop failed");
}

/* Runs the loop until expr holds; fails the test after WAIT_MS. */
#define WAIT_UNTIL(f, expr)                                                    \
    do {                                                                       \
        int64_t until_ = mono_ms() + WAIT_MS;                                  \
        while (!(expr)) {                                                      \
            if (mono_ms() > until_)                                            \
                fail_msg("line %d: gave up waiting for %s", __LINE__, #expr);  \
            loop_once(f);                                                      \
        }                                                                      \
    } while (0)

/* Runs the loop for ms whatever happens (lets the reporter do whatever it
 * would do: more requests, more passes). */
static void
run_for(struct fixture *f, int ms)
{
    int64_t until = mono_ms() + ms;

    while (mono_ms() < until)
        loop_once(f);
}

/* ---- store and reporter ------------------------------------------------- */

static void
on_saved(const struct paved_store_done *done, void *arg)
{
    struct fixture *f = arg;

    f->f_save_result = done->sd_result;
    f->f_saved++;
}

static void
on_probed(const struct paved_store_done *done, void *arg)
{
    struct fixture *f = arg;

    (void)done;
    f->f_probed++;
}

/* Waits until everything submitted before it has committed (the writer
 * takes jobs in order): paved_store_outbox_retry has no callback. */
static void
store_barrier(struct fixture *f)
{
    int want = f->f_probed + 1;

    assert_int_equal(paved_store_probe(f->f_st, on_probed, f), 0);
    WAIT_UNTIL(f, f->f_probed >= want);
}

static struct paved_outbox_item *
row_get(struct fixture *f, int64_t id)
{
    struct paved_outbox_item *it = NULL;

    if (paved_store_outbox_get(&it, f->f_st, id) < 0)
        fail_msg("outbox get %lld: %s", (long long)id, paved_error_last());
    return it;
}

static bool
row_is(struct fixture *f, int64_t id, const char *status)
{
    struct paved_outbox_item *it = row_get(f, id);
    bool yes = strcmp(it->oi_status, status) == 0;

    paved_outbox_item_free(it);
    return yes;
}

static unsigned
row_attempts(struct fixture *f, int64_t id)
{
    struct paved_outbox_item *it = row_get(f, id);
    unsigned n = it->oi_attempts;

    paved_outbox_item_free(it);
    return n;
}

/* Sent, and with the newest version: nothing left to send. */
static bool
row_settled(struct fixture *f, int64_t id)
{
    struct paved_outbox_item *it = row_get(f, id);
    bool yes = strcmp(it->oi_status, "sent") == 0 &&
               it->oi_sent_version == it->oi_version;

    paved_outbox_item_free(it);
    return yes;
}

static int64_t
row_find(struct fixture *f, const char *forge, const char *context)
{
    struct paved_outbox_item **list = NULL;
    size_t n = 0, i;
    int64_t id = 0;

    assert_int_equal(paved_store_outbox_list(&list, &n, f->f_st, NULL, 1000),
                     0);
    for (i = 0; i < n; i++)
        if (strcmp(list[i]->oi_forge, forge) == 0 &&
            strcmp(list[i]->oi_context, context) == 0)
            id = list[i]->oi_id;
    paved_outbox_list_free(list, n);
    assert_true(id > 0);
    return id;
}

static void
item_fill(struct paved_outbox_item *it, const char *forge, const char *context,
          const char *state, const char *desc)
{
    memset(it, 0, sizeof(*it));
    it->oi_forge = (char *)forge;
    it->oi_repo = (char *)REPO;
    it->oi_sha = (char *)SHA;
    it->oi_context = (char *)context;
    it->oi_state = (char *)state;
    it->oi_description = (char *)desc;
    it->oi_target_url = (char *)TARGET;
    it->oi_run = 7;
}

/* Writes items like the scheduler does (no run: only the outbox rows),
 * waits for the commit, then kicks the reporter when it is up. */
static void
put_items(struct fixture *f, const struct paved_outbox_item *items, size_t n)
{
    int want = f->f_saved + 1;

    if (paved_store_run_save_report(f->f_st, NULL, items, n, on_saved, f) < 0)
        fail_msg("save: %s", paved_error_last());
    WAIT_UNTIL(f, f->f_saved >= want);
    assert_int_equal(f->f_save_result, 0);
    if (f->f_rp != NULL)
        paved_reporter_kick(f->f_rp);
}

static int64_t
put_row(struct fixture *f, const char *forge, const char *context,
        const char *state, const char *desc)
{
    struct paved_outbox_item it;

    item_fill(&it, forge, context, state, desc);
    put_items(f, &it, 1);
    return row_find(f, forge, context);
}

static void
rp_up(struct fixture *f)
{
    struct paved_reporter_deps d;

    memset(&d, 0, sizeof(d));
    d.rd_base = f->f_base;
    d.rd_config = f->f_cf;
    d.rd_store = f->f_st;
    d.rd_log = f->f_log;
    d.rd_metrics = f->f_metrics;
    if (paved_reporter_new(&f->f_rp, &d) < 0)
        fail_msg("reporter: %s", paved_error_last());
    paved_reporter_kick(f->f_rp);
}

static double
count(struct fixture *f, const char *result)
{
    char labels[64];

    snprintf(labels, sizeof(labels), "forge=\"github\",result=\"%s\"", result);
    return paved_metrics_value(f->f_metrics, "paved_report_requests_total",
                               labels);
}

static void
expect_body(const struct fake_rec *r, const char *state, const char *desc,
            const char *context)
{
    char want[512];

    snprintf(want, sizeof(want),
             "{\"state\":\"%s\",\"target_url\":\"" TARGET
             "\",\"description\":\"%s\",\"context\":\"%s\"}",
             state, desc, context);
    assert_non_null(r->r_body);
    assert_string_equal(r->r_body, want);
}

/* The request GitHub's create-status takes, with the scripted token. */
static void
expect_github_request(const struct fake_rec *r)
{
    assert_string_equal(r->r_method, "POST");
    assert_string_equal(r->r_uri, URI);
    assert_non_null(r->r_accept);
    assert_string_equal(r->r_accept, "application/vnd.github.v3+json");
    assert_non_null(r->r_auth);
    assert_string_equal(r->r_auth, "token " TOKEN);
    assert_non_null(r->r_ctype);
    assert_string_equal(r->r_ctype, "application/json; charset=utf-8");
    assert_non_null(r->r_agent);
    assert_string_equal(r->r_agent, "paved");
}

static bool
body_has_state(const struct fake_rec *r, const char *state)
{
    char want[64];

    snprintf(want, sizeof(want), "\"state\":\"%s\"", state);
    return r->r_body != NULL && strstr(r->r_body, want) != NULL;
}

/* ---- fixture ------------------------------------------------------------ */

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct paved_store_opts so;
    struct timeval tv = {0, 20 * 1000};
    char yaml[512];
    int n;

    assert_non_null(f);
    f->f_logfd = -1;
    snprintf(f->f_dir, sizeof(f->f_dir), "/tmp/paved-rep-XXXXXX");
    assert_non_null(mkdtemp(f->f_dir));
    assert_non_null(f->f_base = event_base_new());
    assert_non_null(f->f_tick =
                        event_new(f->f_base, -1, EV_PERSIST, tick_cb, f));
    assert_int_equal(event_add(f->f_tick, &tv), 0);
    fake_up(f);

    n = snprintf(yaml, sizeof(yaml),
                 "data_dir: \"%s\"\n"
                 "github_api_url: \"http://127.0.0.1:%d\"\n"
                 "github_token: \"" TOKEN "\"\n"
                 "report_timeout: 1s\n",
                 f->f_dir, f->f_port);
    assert_true(n > 0 && (size_t)n < sizeof(yaml));
    if (paved_config_parse(&f->f_cf, "test.yaml", yaml, (size_t)n, NULL) < 0)
        fail_msg("config: %s", paved_error_last());
    assert_int_equal(f->f_cf->cf_report_timeout, 1);
    assert_true(paved_reporter_configured(f->f_cf, "github"));
    assert_false(paved_reporter_configured(f->f_cf, "gitea"));
    assert_false(paved_reporter_configured(f->f_cf, "gitlab"));

    /* everything at debug level into a file: no token may reach it */
    if (getenv("REPTEST_LOG") != NULL) {
        f->f_logfd = dup(2);
    } else {
        snprintf(f->f_logpath, sizeof(f->f_logpath), "%s/paved.log", f->f_dir);
        f->f_logfd =
            open(f->f_logpath, O_WRONLY | O_CREAT | O_CLOEXEC | O_TRUNC, 0600);
        f->f_log_to_file = 1;
    }
    assert_true(f->f_logfd >= 0);
    assert_int_equal(paved_log_new(&f->f_log, f->f_logfd, 0, PAVED_LOG_DEBUG),
                     0);
    assert_int_equal(paved_metrics_new(&f->f_metrics), 0);

    memset(&so, 0, sizeof(so));
    so.so_spec = "sqlite";
    so.so_data_dir = f->f_dir;
    if (paved_store_open(&f->f_st, &so) < 0)
        fail_msg("store: %s", paved_error_last());
    f->f_notify = event_new(f->f_base, paved_store_notify_fd(f->f_st),
                            EV_READ | EV_PERSIST, notify_cb, f);
    assert_non_null(f->f_notify);
    assert_int_equal(event_add(f->f_notify, NULL), 0);
    *state = f;
    return 0;
}

/* The log holds no token, whatever the test did. */
static void
check_log(struct fixture *f)
{
    char buf[65536];
    ssize_t len;
    int fd;

    paved_log_flush(f->f_log);
    if (!f->f_log_to_file)
        return;
    assert_true((fd = open(f->f_logpath, O_RDONLY | O_CLOEXEC)) >= 0);
    len = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    assert_true(len >= 0);
    buf[len] = '\0';
    /* the check means something only if the reporter did log */
    if (f->f_nrecs > 0)
        assert_true(len > 0);
    if (strstr(buf, TOKEN) != NULL)
        fail_msg("the token is in the log:\n%s", buf);
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];

    if (f->f_log != NULL)
        check_log(f);
    paved_reporter_free(f->f_rp);
    fake_down(f);
    if (f->f_notify != NULL)
        event_free(f->f_notify);
    paved_store_close(f->f_st);
    if (f->f_tick != NULL)
        event_free(f->f_tick);
    if (f->f_base != NULL)
        event_base_free(f->f_base);
    paved_config_free(f->f_cf);
    paved_metrics_free(f->f_metrics);
    paved_log_free(f->f_log);
    if (f->f_logfd >= 0)
        close(f->f_logfd);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->f_dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(f->f_dropped, 0);
    free(f);
    return 0;
}

/* ---- the tests ---------------------------------------------------------- */

/* (1) The request is exactly GitHub's create-status; a 201 settles the row
 * after one request. */
static void
test_post_exact(void **state)
{
    struct fixture *f = *state;
    struct paved_outbox_item *it;
    int64_t id;

    rp_up(f);
    id = put_row(f, "github", "paved/service", "running", "running: 3 steps");
    WAIT_UNTIL(f, row_is(f, id, "sent"));
    run_for(f, 1300); /* a poll or more: nothing else may go out */
    assert_int_equal(f->f_nrecs, 1);
    expect_github_request(&f->f_recs[0]);
    /* paved's "running" is GitHub's "pending" */
    expect_body(&f->f_recs[0], "pending", "running: 3 steps", "paved/service");
    it = row_get(f, id);
    assert_string_equal(it->oi_status, "sent");
    assert_int_equal(it->oi_version, 1);
    assert_int_equal(it->oi_sent_version, it->oi_version);
    assert_int_equal(it->oi_attempts, 0);
    assert_null(it->oi_last_error);
    paved_outbox_item_free(it);
    assert_int_equal(paved_reporter_inflight(f->f_rp), 0);
    assert_true(count(f, "done") == 1);
    assert_true(count(f, "retry") == 0);
}

/* (2) Two states of one context written before the reporter runs: one
 * request, with the newer state. */
static void
test_coalesce(void **state)
{
    struct fixture *f = *state;
    struct paved_outbox_item *it;
    int64_t id, id2;

    id = put_row(f, "github", "paved/service", "running", "running: 3 steps");
    id2 = put_row(f, "github", "paved/service", "success", "passed in 42s");
    assert_int_equal(id, id2);
    it = row_get(f, id);
    assert_int_equal(it->oi_version, 2);
    assert_int_equal(it->oi_sent_version, 0);
    paved_outbox_item_free(it);

    rp_up(f);
    WAIT_UNTIL(f, row_is(f, id, "sent"));
    run_for(f, 1300);
    assert_int_equal(f->f_nrecs, 1);
    expect_github_request(&f->f_recs[0]);
    expect_body(&f->f_recs[0], "success", "passed in 42s", "paved/service");
    it = row_get(f, id);
    assert_string_equal(it->oi_state, "success");
    assert_int_equal(it->oi_version, 2);
    assert_int_equal(it->oi_sent_version, 2);
    paved_outbox_item_free(it);
}

/* (3) A 503 is retried after the backoff; the row shows the failed
 * attempt in between. */
static void
test_retry_5xx(void **state)
{
    struct fixture *f = *state;
    struct paved_outbox_item *it;
    int64_t id;

    script(f, FAKE_ANSWER, 503, "{\"message\":\"Service Unavailable\"}");
    rp_up(f);
    id = put_row(f, "github", "paved/service", "success", "passed in 42s");
    WAIT_UNTIL(f, row_attempts(f, id) == 1);
    it = row_get(f, id);
    assert_string_equal(it->oi_status, "pending");
    assert_non_null(it->oi_last_error);
    assert_true(strncmp(it->oi_last_error, "HTTP 503", 8) == 0);
    assert_int_equal(it->oi_sent_version, 0);
    /* the backoff is 2 s - 25 % at least */
    assert_true(it->oi_next_ms >= f->f_recs[0].r_real_ms + 1400);
    paved_outbox_item_free(it);
    assert_int_equal(f->f_nrecs, 1);

    WAIT_UNTIL(f, row_is(f, id, "sent"));
    run_for(f, 1300);
    assert_int_equal(f->f_nrecs, 2);
    assert_true(f->f_recs[1].r_mono_ms - f->f_recs[0].r_mono_ms >= 1400);
    expect_github_request(&f->f_recs[1]);
    assert_string_equal(f->f_recs[1].r_body, f->f_recs[0].r_body);
    it = row_get(f, id);
    assert_int_equal(it->oi_sent_version, it->oi_version);
    assert_null(it->oi_last_error);
    paved_outbox_item_free(it);
    assert_true(count(f, "retry") == 1);
    assert_true(count(f, "done") == 1);
}

/* (4) A 429 with Retry-After: 2 holds that row and every other row of the
 * forge for 2 s. */
static void
test_retry_after_holds_forge(void **state)
{
    struct fixture *f = *state;
    struct fake_answer *a;
    int64_t ida, idb, t0;
    size_t i;

    a = script(f, FAKE_ANSWER, 429, "{\"message\":\"Too Many Requests\"}");
    script_header(a, "Retry-After", "2");
    rp_up(f);
    ida = put_row(f, "github", "paved/a", "success", "passed");
    WAIT_UNTIL(f, row_attempts(f, ida) == 1);
    t0 = f->f_recs[0].r_mono_ms;
    assert_true(row_is(f, ida, "pending"));
    /* a fresh row of the same forge, due now, must wait as well */
    idb = put_row(f, "github", "paved/b", "success", "passed");
    WAIT_UNTIL(f, row_is(f, ida, "sent") && row_is(f, idb, "sent"));
    run_for(f, 1300);
    assert_int_equal(f->f_nrecs, 3);
    for (i = 1; i < f->f_nrecs; i++) {
        if (f->f_recs[i].r_mono_ms - t0 < 1500)
            fail_msg("request %zu came %lld ms after the 429 (Retry-After 2)",
                     i, (long long)(f->f_recs[i].r_mono_ms - t0));
        expect_github_request(&f->f_recs[i]);
    }
    assert_int_equal(row_attempts(f, idb), 0);
}

/* (4b) A 403 with X-RateLimit-Remaining: 0 is a rate limit, not a refusal:
 * retried at the reset, not before, and not marked failed. */
static void
test_403_rate_limit_until_reset(void **state)
{
    struct fixture *f = *state;
    struct paved_outbox_item *it;
    struct fake_answer *a;
    char reset[32];
    int64_t id, reset_s = real_ms() / 1000 + 3;

    snprintf(reset, sizeof(reset), "%lld", (long long)reset_s);
    a = script(f, FAKE_ANSWER, 403,
               "{\"message\":\"API rate limit exceeded for user ID 1.\"}");
    script_header(a, "X-RateLimit-Limit", "5000");
    script_header(a, "X-RateLimit-Remaining", "0");
    script_header(a, "X-RateLimit-Reset", reset);
    rp_up(f);
    id = put_row(f, "github", "paved/service", "failure", "step failed");
    WAIT_UNTIL(f, row_attempts(f, id) == 1);
    it = row_get(f, id);
    assert_string_equal(it->oi_status, "pending");
    assert_non_null(it->oi_last_error);
    assert_non_null(strstr(it->oi_last_error, "rate limit"));
    assert_true(it->oi_next_ms >= reset_s * 1000);
    paved_outbox_item_free(it);
    WAIT_UNTIL(f, row_is(f, id, "sent"));
    assert_int_equal(f->f_nrecs, 2);
    if (f->f_recs[1].r_real_ms < reset_s * 1000)
        fail_msg("retried %lld ms before the rate limit reset",
                 (long long)(reset_s * 1000 - f->f_recs[1].r_real_ms));
}

/* (4c) A success that used the last request of the window holds the
 * forge's next request until the reset. */
static void
test_last_of_window_holds_forge(void **state)
{
    struct fixture *f = *state;
    struct fake_answer *a;
    char reset[32];
    int64_t ida, idb, reset_s = real_ms() / 1000 + 2;

    snprintf(reset, sizeof(reset), "%lld", (long long)reset_s);
    a = script(f, FAKE_ANSWER, 201, "{\"id\":1}");
    script_header(a, "X-RateLimit-Remaining", "0");
    script_header(a, "X-RateLimit-Reset", reset);
    rp_up(f);
    ida = put_row(f, "github", "paved/a", "success", "passed");
    WAIT_UNTIL(f, row_is(f, ida, "sent"));
    idb = put_row(f, "github", "paved/b", "success", "passed");
    WAIT_UNTIL(f, row_is(f, idb, "sent"));
    assert_int_equal(f->f_nrecs, 2);
    if (f->f_recs[1].r_real_ms < reset_s * 1000)
        fail_msg("sent %lld ms before the rate limit reset",
                 (long long)(reset_s * 1000 - f->f_recs[1].r_real_ms));
}

/* (5) A 422 is not retried: the row is failed with GitHub's message until
 * it is retried by hand. */
static void
test_422_fails_until_retried(void **state)
{
    struct fixture *f = *state;
    struct paved_outbox_item *it;
    int64_t id;

    script(f, FAKE_ANSWER, 422,
           "{\"message\":\"No commit found for SHA: x\",\"documentation_url\":"
           "\"https://docs.github.com/rest/commits/statuses\"}");
    rp_up(f);
    id = put_row(f, "github", "paved/service", "success", "passed in 42s");
    WAIT_UNTIL(f, row_is(f, id, "failed"));
    it = row_get(f, id);
    assert_non_null(it->oi_last_error);
    assert_non_null(strstr(it->oi_last_error, "No commit found for SHA: x"));
    assert_non_null(strstr(it->oi_last_error, "422"));
    paved_outbox_item_free(it);
    run_for(f, 3500); /* three polls and more */
    assert_int_equal(f->f_nrecs, 1);
    assert_true(row_is(f, id, "failed"));
    assert_true(count(f, "failed") == 1);

    assert_int_equal(paved_store_outbox_retry(f->f_st, id), 0);
    store_barrier(f);
    paved_reporter_kick(f->f_rp);
    WAIT_UNTIL(f, row_is(f, id, "sent"));
    run_for(f, 1300);
    assert_int_equal(f->f_nrecs, 2);
    expect_github_request(&f->f_recs[1]);
    assert_string_equal(f->f_recs[1].r_body, f->f_recs[0].r_body);
    it = row_get(f, id);
    assert_int_equal(it->oi_sent_version, it->oi_version);
    assert_null(it->oi_last_error);
    paved_outbox_item_free(it);
}

/* (6) An answer that never comes ends at report_timeout (1 s) and the row
 * is retried after the backoff. */
static void
test_timeout_retried(void **state)
{
    struct fixture *f = *state;
    struct paved_outbox_item *it;
    int64_t id, t_fail;

    script(f, FAKE_HANG, 0, NULL);
    rp_up(f);
    id = put_row(f, "github", "paved/service", "success", "passed in 42s");
    WAIT_UNTIL(f, f->f_nrecs == 1);
    assert_int_equal(paved_reporter_inflight(f->f_rp), 1);
    WAIT_UNTIL(f, row_attempts(f, id) == 1);
    t_fail = mono_ms();
    if (t_fail - f->f_recs[0].r_mono_ms < 900)
        fail_msg("gave up after %lld ms, report_timeout is 1 s",
                 (long long)(t_fail - f->f_recs[0].r_mono_ms));
    assert_int_equal(paved_reporter_inflight(f->f_rp), 0);
    it = row_get(f, id);
    assert_string_equal(it->oi_status, "pending");
    assert_non_null(it->oi_last_error);
    assert_non_null(strstr(it->oi_last_error, "timed out"));
    paved_outbox_item_free(it);
    assert_int_equal(f->f_nrecs, 1);

    WAIT_UNTIL(f, row_is(f, id, "sent"));
    run_for(f, 1300);
    assert_int_equal(f->f_nrecs, 2);
    assert_true(f->f_recs[1].r_mono_ms - f->f_recs[0].r_mono_ms >= 2400);
    assert_string_equal(f->f_recs[1].r_body, f->f_recs[0].r_body);
}

/* (7) A newer state committed while the older one is in flight: the older
 * one's answer (whatever it is) does not settle the row, the newer state
 * goes out next, and no older state follows a newer one. */
static void
newer_while_in_flight(struct fixture *f, enum fake_mode mode, int status)
{
    struct fake_answer *a;
    struct paved_outbox_item *it;
    size_t i, answered;
    bool newer_seen = false;
    int64_t id;

    a = script(f, mode, status,
               status == 201   ? "{\"id\":1}"
               : status == 422 ? "{\"message\":\"Validation Failed\"}"
                               : "{\"message\":\"Server Error\"}");
    a->a_delay_ms = 300;
    rp_up(f);
    id = put_row(f, "github", "paved/service", "running", "running: 3 steps");
    WAIT_UNTIL(f, f->f_nrecs == 1);
    answered = f->f_answered;
    assert_int_equal(paved_reporter_inflight(f->f_rp), 1);
    put_row(f, "github", "paved/service", "success", "passed in 42s");
    /* the precondition of this test: v2 committed before v1's answer */
    if (f->f_answered != answered)
        fail_msg("the answer came before the newer state committed: make "
                 "the fake's delay longer on this machine");
    it = row_get(f, id);
    assert_int_equal(it->oi_version, 2);
    paved_outbox_item_free(it);
    /* one request per row at a time */
    assert_int_equal(f->f_nrecs, 1);
    fake_release(f);

    WAIT_UNTIL(f, row_settled(f, id));
    run_for(f, 1300);
    assert_int_equal(f->f_nrecs, 2);
    expect_body(&f->f_recs[0], "pending", "running: 3 steps", "paved/service");
    expect_body(&f->f_recs[1], "success", "passed in 42s", "paved/service");
    for (i = 0; i < f->f_nrecs; i++) {
        /* one request per row at a time: v2 only after v1's answer */
        if (f->f_recs[i].r_outstanding != 0)
            fail_msg("request %zu went out while another one for the row "
                     "was in flight",
                     i);
        if (body_has_state(&f->f_recs[i], "success"))
            newer_seen = true;
        else if (newer_seen)
            fail_msg("request %zu sent an older state after a newer one", i);
    }
    it = row_get(f, id);
    assert_string_equal(it->oi_status, "sent");
    assert_int_equal(it->oi_version, 2);
    assert_int_equal(it->oi_sent_version, 2);
    assert_null(it->oi_last_error);
    paved_outbox_item_free(it);
}

static void
test_newer_while_in_flight_201(void **state)
{
    /* the fake answers 300 ms later */
    newer_while_in_flight(*state, FAKE_DELAY, 201);
}

static void
test_newer_while_in_flight_503(void **state)
{
    /* v1's retry verdict must not hold v2 back or mark it */
    newer_while_in_flight(*state, FAKE_HOLD, 503);
}

static void
test_newer_while_in_flight_422(void **state)
{
    /* v1's refusal must not mark v2 failed */
    newer_while_in_flight(*state, FAKE_HOLD, 422);
}

/* (8) A forge with no URL or token is never sent to; its rows stay pending
 * and do not stop the configured forge's rows. */
static void
test_unconfigured_forge_stays_pending(void **state)
{
    struct fixture *f = *state;
    struct paved_outbox_item *it;
    int64_t idg, idl, idh;

    rp_up(f);
    idg = put_row(f, "gitea", "paved/service", "success", "passed");
    idl = put_row(f, "gitlab", "paved/service", "success", "passed");
    run_for(f, 2500); /* the kicks and two polls */
    assert_int_equal(f->f_nrecs, 0);
    assert_int_equal(paved_reporter_inflight(f->f_rp), 0);
    idh = put_row(f, "github", "paved/service", "success", "passed");
    WAIT_UNTIL(f, row_is(f, idh, "sent"));
    run_for(f, 1300);
    assert_int_equal(f->f_nrecs, 1);
    assert_string_equal(f->f_recs[0].r_uri, URI);
    it = row_get(f, idg);
    assert_string_equal(it->oi_status, "pending");
    assert_int_equal(it->oi_attempts, 0);
    assert_int_equal(it->oi_sent_version, 0);
    assert_null(it->oi_last_error);
    paved_outbox_item_free(it);
    assert_true(row_is(f, idl, "pending"));
    assert_int_equal(row_attempts(f, idl), 0);
}

/* (8b) Many rows of an unconfigured forge, older than a GitHub row, must
 * not keep the GitHub row from going out (the reporter reads due rows a
 * batch at a time, oldest first). */
static void
test_unconfigured_rows_do_not_starve(void **state)
{
    struct fixture *f = *state;
    struct paved_outbox_item items[40];
    char ctx[40][32];
    int64_t idh;
    size_t i;

    for (i = 0; i < 40; i++) {
        snprintf(ctx[i], sizeof(ctx[i]), "paved/p%02zu", i);
        item_fill(&items[i], "gitea", ctx[i], "success", "passed");
    }
    put_items(f, items, 40);
    run_for(f, 20); /* a later updated_ms for the GitHub row */
    idh = put_row(f, "github", "paved/service", "success", "passed");
    rp_up(f);
    {
        int64_t until = mono_ms() + 4000;
        while (!row_is(f, idh, "sent") && mono_ms() < until)
            loop_once(f);
    }
    if (!row_is(f, idh, "sent"))
        fail_msg("the GitHub row was not sent in 4 s behind 40 pending rows "
                 "of an unconfigured forge (requests: %zu)",
                 f->f_nrecs);
    assert_int_equal(f->f_nrecs, 1);
}

/* Pacing: at most 80 content-creating requests a minute per forge. */
static void
test_paced_80_a_minute(void **state)
{
    struct fixture *f = *state;
    struct paved_outbox_item items[81];
    char ctx[81][32];
    size_t i, sent = 0;
    struct paved_outbox_item **list = NULL;
    size_t n = 0;

    for (i = 0; i < 81; i++) {
        snprintf(ctx[i], sizeof(ctx[i]), "paved/p%02zu", i);
        item_fill(&items[i], "github", ctx[i], "success", "passed");
    }
    put_items(f, items, 81);
    rp_up(f);
    WAIT_UNTIL(f, f->f_nrecs >= 80 && paved_reporter_inflight(f->f_rp) == 0);
    run_for(f, 2500);
    assert_int_equal(f->f_nrecs, 80);
    assert_int_equal(paved_store_outbox_list(&list, &n, f->f_st, NULL, 200), 0);
    assert_int_equal(n, 81);
    for (i = 0; i < n; i++) {
        if (strcmp(list[i]->oi_status, "sent") == 0) {
            sent++;
        } else {
            assert_string_equal(list[i]->oi_status, "pending");
            assert_int_equal(list[i]->oi_attempts, 0);
        }
    }
    paved_outbox_list_free(list, n);
    assert_int_equal(sent, 80);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_post_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_coalesce, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_5xx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_after_holds_forge, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_403_rate_limit_until_reset, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_last_of_window_holds_forge, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_422_fails_until_retried, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_timeout_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_while_in_flight_201, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_newer_while_in_flight_503, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_newer_while_in_flight_422, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unconfigured_forge_stays_pending,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_unconfigured_rows_do_not_starve,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_paced_80_a_minute, setup,
                                        teardown),
    };
    int rc;

    /* a write to a client that went away must not kill the test */
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    /* REPTEST_FILTER=test_timeout* runs only the tests that match */
    if (getenv("REPTEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("REPTEST_FILTER"));
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
