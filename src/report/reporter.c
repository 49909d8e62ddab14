/* The reporter's engine: outbox rows due now become libcurl easy handles
 * on one multi handle, whose sockets and timer are libevent events (curl's
 * hiperfifo pattern). Each answer is judged by forgeapi.c and the verdict
 * goes back to the store through its writer. One request per row at a
 * time, so a row's states reach the forge in order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "paved/error.h"
#include "report/reporter_int.h"

#define RP_BATCH 32
#define RP_MAX_INFLIGHT 16
#define RP_POLL_MS 1000
#define RP_BACKOFF_BASE_MS 2000
#define RP_BACKOFF_MAX_MS (10 * 60 * 1000)
#define RP_PACE_WINDOW_MS 60000

static const char *const rp_forge_names[RP__FORGES] = {"github", "gitea",
                                                       "gitlab"};

struct rp_sock {
    struct event *s_ev;
    struct paved_reporter *s_rp;
};

int64_t
rp_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
rp_forge_index(const char *name)
{
    int i;

    for (i = 0; i < RP__FORGES; i++)
        if (name != NULL && strcmp(name, rp_forge_names[i]) == 0)
            return i;
    return -1;
}

bool
paved_reporter_configured(const struct paved_config *cf, const char *forge)
{
    switch (rp_forge_index(forge)) {
    case RP_GITHUB:
        return (cf->cf_github_token[0] != '\0' || rp_app_configured(cf)) &&
               cf->cf_github_api_url[0] != '\0';
    case RP_GITEA:
        return cf->cf_gitea_token[0] != '\0' && cf->cf_gitea_api_url[0] != '\0';
    case RP_GITLAB:
        return cf->cf_gitlab_api_token[0] != '\0' &&
               cf->cf_gitlab_api_url[0] != '\0';
    default:
        return false;
    }
}

bool
paved_reporter_checks(const struct paved_config *cf, const char *forge)
{
    return rp_forge_index(forge) == RP_GITHUB &&
           paved_reporter_configured(cf, forge) && rp_app_configured(cf);
}

int
rp_state(enum paved_status_state *out, const char *s)
{
    static const struct {
        const char *name;
        enum paved_status_state st;
    } map[] = {
        {"pending", PAVED_STATUS_PENDING},
        {"running", PAVED_STATUS_RUNNING},
        {"success", PAVED_STATUS_SUCCESS},
        {"failure", PAVED_STATUS_FAILURE},
        {"error", PAVED_STATUS_ERROR},
        {"cancelled", PAVED_STATUS_CANCELLED},
    };
    size_t i;

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (s != NULL && strcmp(s, map[i].name) == 0) {
            *out = map[i].st;
            return 0;
        }
    }
    return PAVED_EINVAL;
}

void
rp_req_free(struct rp_req *q)
{
    if (q == NULL)
        return;
    if (q->q_easy != NULL) {
        curl_multi_remove_handle(q->q_rp->rp_multi, q->q_easy);
        curl_easy_cleanup(q->q_easy);
    }
    curl_slist_free_all(q->q_hdrs);
    paved_http_request_dispose(&q->q_hr);
    paved_outbox_item_free(q->q_it);
    paved_buf_dispose(&q->q_head);
    paved_buf_dispose(&q->q_body);
    free(q);
}

static void
rp_unlink(struct paved_reporter *rp, struct rp_req *q)
{
    struct rp_req **pp;

    for (pp = &rp->rp_reqs; *pp != NULL; pp = &(*pp)->q_next) {
        if (*pp == q) {
            *pp = q->q_next;
            rp->rp_inflight--;
            return;
        }
    }
}

static bool
rp_inflight_row(const struct paved_reporter *rp, int64_t id)
{
    const struct rp_req *q;
    const struct rp_settle *t;

    for (q = rp->rp_reqs; q != NULL; q = q->q_next)
        if (q->q_it->oi_id == id)
            return true;
    for (t = rp->rp_settling; t != NULL; t = t->t_next)
        if (t->t_id == id)
            return true;
    return false;
}

static void
rp_settled(const struct paved_store_done *done, void *arg)
{
    struct rp_settle *t = arg, **pp;
    struct paved_reporter *rp = t->t_rp;

    (void)done;
    for (pp = &rp->rp_settling; *pp != NULL; pp = &(*pp)->t_next) {
        if (*pp == t) {
            *pp = t->t_next;
            break;
        }
    }
    free(t);
    paved_reporter_kick(rp);
}

/* Record a verdict; the row stays out of passes until it is committed. */
static int
rp_record(struct paved_reporter *rp, const struct paved_outbox_item *it)
{
    struct rp_settle *t = calloc(1, sizeof(*t));
    int error;

    if (t == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    t->t_rp = rp;
    t->t_id = it->oi_id;
    if ((error = paved_store_outbox_update(rp->rp_store, it, rp_settled, t)) <
        0) {
        free(t);
        return error;
    }
    t->t_next = rp->rp_settling;
    rp->rp_settling = t;
    return 0;
}

/* exponential, capped, with +-25 % jitter so that many rows that failed
 * together do not all come back in the same second */
static int64_t
rp_backoff_ms(struct paved_reporter *rp, unsigned attempts)
{
    int64_t ms = RP_BACKOFF_BASE_MS;
    unsigned i;
    int64_t span;

    for (i = 1; i < attempts && ms < RP_BACKOFF_MAX_MS; i++)
        ms *= 2;
    if (ms > RP_BACKOFF_MAX_MS)
        ms = RP_BACKOFF_MAX_MS;
    span = ms / 2;
    return ms - span / 2 + (int64_t)(rand_r(&rp->rp_seed) % (span + 1));
}

static void
rp_count(struct paved_reporter *rp, const char *forge, const char *result)
{
    char labels[96];

    if (rp->rp_deps.rd_metrics == NULL)
        return;
    snprintf(labels, sizeof(labels), "forge=\"%s\",result=\"%s\"", forge,
             result);
    paved_metrics_inc(rp->rp_deps.rd_metrics, "paved_report_requests_total",
                      "Requests to forges by outcome: done, retry, failed",
                      labels, 1);
}

/* Records what happened to q's row: sent, retried later, or failed. */
void
rp_apply(struct paved_reporter *rp, struct rp_req *q,
         enum paved_forge_verdict v, int64_t retry_at_ms, const char *msg,
         long status)
{
    struct paved_outbox_item *it = q->q_it;
    struct rp_forge *fg = &rp->rp_forges[q->q_forge];
    int64_t now = rp_now_ms();
    char code[16];

    it->oi_sent_version = it->oi_version;
    free(it->oi_status);
    free(it->oi_last_error);
    it->oi_last_error = NULL;
    snprintf(code, sizeof(code), "%ld", status);
    switch (v) {
    case PAVED_VERDICT_DONE:
        it->oi_status = strdup("sent");
        rp_count(rp, it->oi_forge, "done");
        paved_log_kv(rp->rp_log, PAVED_LOG_DEBUG, "status reported", "forge",
                     it->oi_forge, "repo", it->oi_repo, "sha", it->oi_sha,
                     "context", it->oi_context, "state", it->oi_state, NULL);
        break;
    case PAVED_VERDICT_RETRY:
        it->oi_status = strdup("pending");
        it->oi_attempts++;
        it->oi_next_ms = now + rp_backoff_ms(rp, it->oi_attempts);
        if (retry_at_ms > it->oi_next_ms)
            it->oi_next_ms = retry_at_ms;
        /* a rate limit holds every row of the forge, not just this one */
        if (retry_at_ms > fg->f_blocked_until)
            fg->f_blocked_until = retry_at_ms;
        it->oi_last_error = strdup(msg);
        rp_count(rp, it->oi_forge, "retry");
        paved_log_kv(rp->rp_log, PAVED_LOG_WARN,
                     "forge did not take the status: will retry", "forge",
                     it->oi_forge, "repo", it->oi_repo, "context",
                     it->oi_context, "status", code, "error", msg, NULL);
        break;
    case PAVED_VERDICT_GIVE_UP:
        it->oi_status = strdup("failed");
        it->oi_last_error = strdup(msg);
        rp_count(rp, it->oi_forge, "failed");
        paved_log_kv(rp->rp_log, PAVED_LOG_ERROR,
                     "forge refused the status: not retried", "forge",
                     it->oi_forge, "repo", it->oi_repo, "sha", it->oi_sha,
                     "context", it->oi_context, "status", code, "error", msg,
                     "fix",
                     "check the token's permissions, then POST "
                     "/api/v1/outbox/ID/retry",
                     NULL);
        break;
    }
    if (it->oi_status == NULL || rp_record(rp, it) < 0)
        paved_log_kv(rp->rp_log, PAVED_LOG_ERROR, "cannot record a report",
                     "error", paved_error_last(), NULL);
}

void
rp_progress(struct paved_reporter *rp, struct rp_req *q)
{
    struct paved_outbox_item *it = q->q_it;

    rp_count(rp, it->oi_forge, "done");
    /* "pending" for this same version: sent again at once, from the
     * first annotation not yet on the forge */
    it->oi_sent_version = it->oi_version;
    free(it->oi_status);
    free(it->oi_last_error);
    it->oi_last_error = NULL;
    it->oi_attempts = 0;
    it->oi_next_ms = 0;
    if ((it->oi_status = strdup("pending")) == NULL || rp_record(rp, it) < 0)
        paved_log_kv(rp->rp_log, PAVED_LOG_ERROR, "cannot record a report",
                     "error", paved_error_last(), NULL);
}

static void
rp_finish(struct paved_reporter *rp, struct rp_req *q, long status, CURLcode cc)
{
    struct rp_forge *fg = &rp->rp_forges[q->q_forge];
    struct paved_forge_answer ans;
    char msg[512];

    paved_forgeapi_answer(&ans, fg->f_ep.fe_kind, cc == CURLE_OK ? status : 0,
                          q->q_head.b_ptr, q->q_head.b_len, q->q_body.b_ptr,
                          q->q_body.b_len, rp_now_ms());
    if (cc != CURLE_OK)
        snprintf(msg, sizeof(msg), "%s",
                 q->q_err[0] ? q->q_err : curl_easy_strerror(cc));
    else if (strncmp(ans.fa_message, "HTTP ", 5) == 0)
        snprintf(msg, sizeof(msg), "%s", ans.fa_message);
    else
        snprintf(msg, sizeof(msg), "HTTP %ld: %s", status, ans.fa_message);
    /* the last request of the window went through: hold the forge until
     * it resets rather than spend a request on a certain 403 */
    if (ans.fa_verdict == PAVED_VERDICT_DONE && ans.fa_remaining == 0 &&
        ans.fa_reset_ms > fg->f_blocked_until)
        fg->f_blocked_until = ans.fa_reset_ms;
    if (q->q_kind != RQ_STATUS)
        rp_app_finish(rp, q, cc == CURLE_OK ? status : 0, &ans, msg);
    else
        rp_apply(rp, q, ans.fa_verdict, ans.fa_retry_at_ms, msg, status);
}

static void
rp_check_done(struct paved_reporter *rp)
{
    CURLMsg *m;
    int left;

    while ((m = curl_multi_info_read(rp->rp_multi, &left)) != NULL) {
        struct rp_req *q = NULL;
        long status = 0;
        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&q);
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        rp_finish(rp, q, status, m->data.result);
        rp_unlink(rp, q);
        rp_req_free(q);
    }
    /* the store's commit of each verdict kicks the next pass */
}

static void
rp_sock_cb(evutil_socket_t fd, short what, void *arg)
{
    struct paved_reporter *rp = arg;
    int running = 0, flags = 0;

    if (what & EV_READ)
        flags |= CURL_CSELECT_IN;
    if (what & EV_WRITE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(rp->rp_multi, fd, flags, &running);
    rp_check_done(rp);
}

static int
rp_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp,
               void *socketp)
{
    struct paved_reporter *rp = userp;
    struct rp_sock *sk = socketp;
    short kind;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (sk != NULL) {
            event_free(sk->s_ev);
            free(sk);
        }
        curl_multi_assign(rp->rp_multi, s, NULL);
        return 0;
    }
    kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) |
                   ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
    if (sk == NULL) {
        if ((sk = calloc(1, sizeof(*sk))) == NULL)
            return -1;
        sk->s_rp = rp;
        curl_multi_assign(rp->rp_multi, s, sk);
    } else {
        event_free(sk->s_ev);
    }
    sk->s_ev = event_new(rp->rp_base, s, kind, rp_sock_cb, rp);
    if (sk->s_ev == NULL || event_add(sk->s_ev, NULL) < 0)
        return -1;
    return 0;
}

static void
rp_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct paved_reporter *rp = arg;
    int running = 0;

    (void)fd;
    (void)what;
    curl_multi_socket_action(rp->rp_multi, CURL_SOCKET_TIMEOUT, 0, &running);
    rp_check_done(rp);
}

static int
rp_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct paved_reporter *rp = userp;
    struct timeval tv;

    (void)multi;
    if (timeout_ms < 0) {
        evtimer_del(rp->rp_curl_timer);
        return 0;
    }
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    return evtimer_add(rp->rp_curl_timer, &tv);
}

static size_t
rp_write_body(char *p, size_t size, size_t n, void *arg)
{
    struct rp_req *q = arg;
    size_t len = size * n, max = q->q_body.b_max;

    /* keep what fits: a long error page is cut, never a failed transfer */
    if (q->q_body.b_len < max)
        (void)paved_buf_put(
            &q->q_body, p,
            len < max - q->q_body.b_len ? len : max - q->q_body.b_len);
    return len;
}

static size_t
rp_write_head(char *p, size_t size, size_t n, void *arg)
{
    struct rp_req *q = arg;
    size_t len = size * n;

    /* a redirect or 100-continue starts a new header block: keep the last */
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0)
        paved_buf_clear(&q->q_head);
    if (q->q_head.b_len < RP_MAX_ANSWER)
        (void)paved_buf_put(&q->q_head, p,
                            len < RP_MAX_ANSWER - q->q_head.b_len
                                ? len
                                : RP_MAX_ANSWER - q->q_head.b_len);
    return len;
}

/* Under the pace? Records the send when it is. */
static bool
rp_pace_ok(struct rp_forge *fg, int64_t now)
{
    int64_t oldest = fg->f_sent[fg->f_sent_next];

    if (oldest != 0 && now - oldest < RP_PACE_WINDOW_MS)
        return false;
    fg->f_sent[fg->f_sent_next] = now;
    fg->f_sent_next = (fg->f_sent_next + 1) % RP_PACE_MAX;
    return true;
}

struct rp_req *
rp_req_new(struct paved_reporter *rp, struct paved_outbox_item *it, int forge,
           enum rp_kind kind)
{
    struct rp_req *q;

    if ((q = calloc(1, sizeof(*q))) == NULL) {
        paved_error_set(PAVED_ENOMEM, "out of memory");
        return NULL;
    }
    q->q_rp = rp;
    q->q_it = it;
    q->q_forge = forge;
    q->q_kind = kind;
    paved_buf_init(&q->q_head, RP_MAX_ANSWER);
    paved_buf_init(&q->q_body, RP_MAX_ANSWER);
    return q;
}

void
rp_unsendable(struct paved_reporter *rp, struct paved_outbox_item *it)
{
    free(it->oi_status);
    it->oi_status = strdup("failed");
    free(it->oi_last_error);
    it->oi_last_error = strdup(paved_error_last());
    it->oi_sent_version = it->oi_version;
    if (it->oi_status != NULL)
        (void)rp_record(rp, it);
    paved_log_kv(rp->rp_log, PAVED_LOG_ERROR,
                 "cannot make a request of an outbox row: not retried", "forge",
                 it->oi_forge, "repo", it->oi_repo, "context", it->oi_context,
                 "error", paved_error_last(), NULL);
}

int
rp_launch(struct paved_reporter *rp, struct rp_req *q)
{
    size_t i;

    for (i = 0; i < q->q_hr.hr_nheaders; i++)
        q->q_hdrs = curl_slist_append(q->q_hdrs, q->q_hr.hr_headers[i]);
    if ((q->q_easy = curl_easy_init()) == NULL) {
        rp_req_free(q);
        return paved_error_set(PAVED_ENOMEM, "curl_easy_init failed");
    }
    curl_easy_setopt(q->q_easy, CURLOPT_URL, q->q_hr.hr_url);
    if (q->q_hr.hr_body == NULL) {
        curl_easy_setopt(q->q_easy, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(q->q_easy, CURLOPT_CUSTOMREQUEST, q->q_hr.hr_method);
        curl_easy_setopt(q->q_easy, CURLOPT_POSTFIELDS, q->q_hr.hr_body);
        curl_easy_setopt(q->q_easy, CURLOPT_POSTFIELDSIZE,
                         (long)q->q_hr.hr_body_len);
    }
    curl_easy_setopt(q->q_easy, CURLOPT_HTTPHEADER, q->q_hdrs);
    curl_easy_setopt(q->q_easy, CURLOPT_WRITEFUNCTION, rp_write_body);
    curl_easy_setopt(q->q_easy, CURLOPT_WRITEDATA, q);
    curl_easy_setopt(q->q_easy, CURLOPT_HEADERFUNCTION, rp_write_head);
    curl_easy_setopt(q->q_easy, CURLOPT_HEADERDATA, q);
    curl_easy_setopt(q->q_easy, CURLOPT_ERRORBUFFER, q->q_err);
    curl_easy_setopt(q->q_easy, CURLOPT_PRIVATE, q);
    curl_easy_setopt(q->q_easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(q->q_easy, CURLOPT_TIMEOUT_MS,
                     (long)rp->rp_cf->cf_report_timeout * 1000L);
    curl_easy_setopt(q->q_easy, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    /* a token must not follow a redirect to another host */
    curl_easy_setopt(q->q_easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(q->q_easy, CURLOPT_PROTOCOLS_STR, "http,https");
    /* libcurl sends a request again by itself when a reused connection
     * dies before any answer; for a create that may have reached GitHub
     * that is a second check run nobody looked for first */
    if (q->q_fresh)
        curl_easy_setopt(q->q_easy, CURLOPT_FRESH_CONNECT, 1L);
    if (curl_multi_add_handle(rp->rp_multi, q->q_easy) != CURLM_OK) {
        rp_req_free(q);
        return paved_error_set(PAVED_ERROR, "curl_multi_add_handle failed");
    }
    q->q_next = rp->rp_reqs;
    rp->rp_reqs = q;
    rp->rp_inflight++;
    return 0;
}

/* A commit status for row `it` (taken). */
static int
rp_start(struct paved_reporter *rp, struct paved_outbox_item *it, int forge)
{
    struct rp_forge *fg = &rp->rp_forges[forge];
    struct paved_status st;
    struct rp_req *q;

    if ((q = rp_req_new(rp, it, forge, RQ_STATUS)) == NULL) {
        paved_outbox_item_free(it);
        return PAVED_ENOMEM;
    }
    memset(&st, 0, sizeof(st));
    st.ps_repo = it->oi_repo;
    st.ps_sha = it->oi_sha;
    st.ps_context = it->oi_context;
    st.ps_description = it->oi_description;
    st.ps_target_url = it->oi_target_url;
    if (rp_state(&st.ps_state, it->oi_state) < 0 ||
        paved_forgeapi_status(&q->q_hr, &fg->f_ep, &st) < 0) {
        rp_unsendable(rp, it);
        rp_req_free(q);
        return 0;
    }
    return rp_launch(rp, q);
}

/* One forge's due rows: asked for per forge, so that rows a forge cannot
 * take now (not configured, rate limited, paced) never fill the batch
 * and starve another forge's. */
static void
rp_pass_forge(struct paved_reporter *rp, int forge, int64_t now)
{
    struct rp_forge *fg = &rp->rp_forges[forge];
    struct paved_outbox_item **list = NULL;
    struct rp_settle *t;
    size_t n = 0, i, busy = rp->rp_inflight;

    if (!fg->f_on || now < fg->f_blocked_until)
        return;
    for (t = rp->rp_settling; t != NULL; t = t->t_next)
        busy++;
    /* rows in flight or settling come back too: read past them */
    if (paved_store_outbox_due(&list, &n, rp->rp_store, rp_forge_names[forge],
                               now, RP_BATCH + busy) < 0) {
        paved_log_kv(rp->rp_log, PAVED_LOG_ERROR, "cannot read the outbox",
                     "error", paved_error_last(), NULL);
        return;
    }
    for (i = 0; i < n; i++) {
        if (rp->rp_inflight >= RP_MAX_INFLIGHT)
            break;
        if (rp_inflight_row(rp, list[i]->oi_id))
            continue;
        if (!rp_pace_ok(fg, now))
            break;
        if ((forge == RP_GITHUB && rp->rp_app != NULL
                 ? rp_app_start(rp, list[i])
                 : rp_start(rp, list[i], forge)) < 0)
            paved_log_kv(rp->rp_log, PAVED_LOG_ERROR, "cannot send a report",
                         "error", paved_error_last(), NULL);
        list[i] = NULL; /* rp_start owns it */
    }
    paved_outbox_list_free(list, n);
}

static void
rp_pass(struct paved_reporter *rp)
{
    int64_t now = rp_now_ms();
    int forge;

    for (forge = 0; forge < RP__FORGES; forge++)
        if (rp->rp_inflight < RP_MAX_INFLIGHT)
            rp_pass_forge(rp, forge, now);
}

static void
rp_pass_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    rp_pass(arg);
}

void
paved_reporter_kick(paved_reporter *rp)
{
    if (rp != NULL)
        event_active(rp->rp_pass_ev, 0, 0);
}

size_t
paved_reporter_inflight(const paved_reporter *rp)
{
    return rp->rp_inflight;
}

int
paved_reporter_new(paved_reporter **out, const struct paved_reporter_deps *d)
{
    const struct paved_config *cf = d->rd_config;
    struct timeval poll = {RP_POLL_MS / 1000, (RP_POLL_MS % 1000) * 1000};
    struct paved_reporter *rp;
    int i, error = 0;

    *out = NULL;
    if ((rp = calloc(1, sizeof(*rp))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    rp->rp_deps = *d;
    rp->rp_cf = cf;
    rp->rp_base = d->rd_base;
    rp->rp_store = d->rd_store;
    rp->rp_log = d->rd_log;
    rp->rp_seed = (unsigned)rp_now_ms();
    rp->rp_forges[RP_GITHUB].f_ep.fe_kind = PAVED_FORGEAPI_GITHUB;
    rp->rp_forges[RP_GITHUB].f_ep.fe_api_url = cf->cf_github_api_url;
    rp->rp_forges[RP_GITHUB].f_ep.fe_token = cf->cf_github_token;
    rp->rp_forges[RP_GITEA].f_ep.fe_kind = PAVED_FORGEAPI_GITEA;
    rp->rp_forges[RP_GITEA].f_ep.fe_api_url = cf->cf_gitea_api_url;
    rp->rp_forges[RP_GITEA].f_ep.fe_token = cf->cf_gitea_token;
    rp->rp_forges[RP_GITLAB].f_ep.fe_kind = PAVED_FORGEAPI_GITLAB;
    rp->rp_forges[RP_GITLAB].f_ep.fe_api_url = cf->cf_gitlab_api_url;
    rp->rp_forges[RP_GITLAB].f_ep.fe_token = cf->cf_gitlab_api_token;
    for (i = 0; i < RP__FORGES; i++)
        rp->rp_forges[i].f_on =
            paved_reporter_configured(cf, rp_forge_names[i]);
    if (rp_app_configured(cf) && (error = rp_app_new(rp)) < 0)
        goto out;
    if ((rp->rp_multi = curl_multi_init()) == NULL) {
        error = paved_error_set(PAVED_ERROR, "curl_multi_init failed");
        goto out;
    }
    curl_multi_setopt(rp->rp_multi, CURLMOPT_SOCKETFUNCTION, rp_curl_socket);
    curl_multi_setopt(rp->rp_multi, CURLMOPT_SOCKETDATA, rp);
    curl_multi_setopt(rp->rp_multi, CURLMOPT_TIMERFUNCTION, rp_curl_timer);
    curl_multi_setopt(rp->rp_multi, CURLMOPT_TIMERDATA, rp);
    rp->rp_curl_timer = evtimer_new(rp->rp_base, rp_timer_cb, rp);
    rp->rp_pass_ev = event_new(rp->rp_base, -1, 0, rp_pass_cb, rp);
    rp->rp_poll_ev = event_new(rp->rp_base, -1, EV_PERSIST, rp_pass_cb, rp);
    if (rp->rp_curl_timer == NULL || rp->rp_pass_ev == NULL ||
        rp->rp_poll_ev == NULL || event_add(rp->rp_poll_ev, &poll) < 0) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    *out = rp;
    rp = NULL;
out:
    paved_reporter_free(rp);
    return error;
}

void
paved_reporter_free(paved_reporter *rp)
{
    struct rp_req *q;

    if (rp == NULL)
        return;
    while ((q = rp->rp_reqs) != NULL) {
        rp->rp_reqs = q->q_next;
        rp_req_free(q);
    }
    /* their store callbacks never run once the loop is gone */
    while (rp->rp_settling != NULL) {
        struct rp_settle *t = rp->rp_settling;
        rp->rp_settling = t->t_next;
        free(t);
    }
    if (rp->rp_multi != NULL)
        curl_multi_cleanup(rp->rp_multi);
    rp_app_free(rp);
    if (rp->rp_curl_timer != NULL)
        event_free(rp->rp_curl_timer);
    if (rp->rp_pass_ev != NULL)
        event_free(rp->rp_pass_ev);
    if (rp->rp_poll_ev != NULL)
        event_free(rp->rp_poll_ev);
    free(rp);
}
