/* HTTP server: routes, limits and the webhook ingress.
 *
 * A webhook request is verified and normalized on the loop (CPU only), then
 * handed to the store writer; the answer (202, 200 duplicate, 503) is sent
 * from the store's completion callback, i.e. only once the delivery is
 * durable. Nothing from a refused request is stored. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "paved/api.h"
#include "paved/reporter.h"
#include "paved/sched.h"
#include "paved/crypto.h"
#include "paved/error.h"
#include "paved/event.h"
#include "paved/forge.h"
#include "paved/server.h"

#define SERVER_MAX_HEADERS (64 * 1024)
#define SERVER_MAX_ID 128   /* the forge adapters refuse longer ids */
#define SERVER_LOG_PATH 200 /* longer request paths are cut in the log */

#define SERVER_HELP_DELIVERIES                                                 \
    "Webhook deliveries by forge, normalized event and outcome (a body "       \
    "over max_body is refused before the forge is known: forge=unknown)."
#define SERVER_HELP_REQUESTS "HTTP requests answered, by route and status."

static const double server_batch_bounds[] = {1,  2,  4,   8,   16,
                                             32, 64, 128, 256, 512};

/* One per connection: when the request now being read started, to enforce
 * request_timeout against clients that trickle bytes just fast enough for
 * read_timeout (libevent 2.1 has only the idle timeout). The guard holds a
 * reference on the bufferevent, so the socket stays open and its fd cannot
 * be reused until the sweep lets go; the sweep notices that evhttp freed
 * the connection by its callbacks having been cleared. */
struct conn_guard {
    TAILQ_ENTRY(conn_guard) cg_link;
    struct paved_server *cg_srv;
    struct bufferevent *cg_bev;
    struct evbuffer_cb_entry *cg_in_cb;
    struct evbuffer_cb_entry *cg_out_cb;
    double cg_started; /* 0: between requests */
};
TAILQ_HEAD(conn_guards, conn_guard);

struct paved_server {
    struct event_base *srv_base;
    const struct paved_config *srv_cfg;
    paved_store *srv_store;
    paved_sched *srv_sched; /* NULL: deliveries are stored, nothing runs */
    paved_reporter *srv_reporter; /* may be NULL */
    paved_metrics *srv_metrics;
    paved_log *srv_log;
    struct evhttp *srv_http;
    struct evhttp_bound_socket *srv_sock;
    struct event *srv_store_ev;
    struct paved_forge_config srv_forge;
    paved_forge_keys *srv_keys; /* prepared from srv_forge's secrets */
    struct event *srv_sweep_ev;
    struct conn_guards srv_guards;
    size_t srv_inflight;
    long long srv_stored; /* deliveries in the store, for /metrics */
};

/* A webhook request waiting for the store. */
struct hook_ctx {
    struct paved_server *hc_srv;
    struct evhttp_request *hc_req; /* NULL once the client went away */
    enum paved_forge hc_forge;
    const char *hc_route;
    const char *hc_kind;
    int hc_ping;
    int hc_ignored;
    int hc_probe;
    double hc_start;
    char hc_delivery[SERVER_MAX_ID + 1];
};

static double
server_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long
server_unix_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- connection guard --- */

static void
guard_input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
               void *arg)
{
    struct conn_guard *cg = arg;

    (void)buf;
    if (info->n_added > 0 && cg->cg_started == 0)
        cg->cg_started = server_now();
}

static void
guard_output_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
                void *arg)
{
    struct conn_guard *cg = arg;
    char line[13];

    if (info->n_added == 0)
        return;
    cg->cg_started = 0; /* answering: the next request starts anew */
    /* libevent answers an over-long body itself, without calling us: see
     * the status line go out so that the refusal is still counted */
    if (info->orig_size == 0 && evbuffer_get_length(buf) >= 12 &&
        evbuffer_copyout(buf, line, 12) == 12 &&
        memcmp(line + 8, " 413", 4) == 0) {
        paved_metrics_inc(cg->cg_srv->srv_metrics,
                          "paved_webhook_deliveries_total",
                          SERVER_HELP_DELIVERIES,
                          "forge=\"unknown\",event=\"unknown\","
                          "outcome=\"too_large\"",
                          1);
        paved_metrics_inc(cg->cg_srv->srv_metrics, "paved_http_requests_total",
                          SERVER_HELP_REQUESTS,
                          "route=\"body_limit\",code=\"413\"", 1);
    }
}

static void
guard_release(struct paved_server *srv, struct conn_guard *cg)
{
    TAILQ_REMOVE(&srv->srv_guards, cg, cg_link);
    evbuffer_remove_cb_entry(bufferevent_get_input(cg->cg_bev), cg->cg_in_cb);
    evbuffer_remove_cb_entry(bufferevent_get_output(cg->cg_bev), cg->cg_out_cb);
    bufferevent_decref(cg->cg_bev); /* the last one closes the socket */
    free(cg);
}

static struct bufferevent *
guard_bevcb(struct event_base *base, void *arg)
{
    struct paved_server *srv = arg;
    struct conn_guard *cg;
    struct bufferevent *bev;

    if ((cg = calloc(1, sizeof(*cg))) == NULL)
        return NULL;
    if ((bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) ==
        NULL) {
        free(cg);
        return NULL;
    }
    cg->cg_bev = bev;
    cg->cg_srv = srv;
    cg->cg_in_cb =
        evbuffer_add_cb(bufferevent_get_input(bev), guard_input_cb, cg);
    cg->cg_out_cb =
        evbuffer_add_cb(bufferevent_get_output(bev), guard_output_cb, cg);
    if (cg->cg_in_cb == NULL || cg->cg_out_cb == NULL) {
        bufferevent_free(bev); /* frees the callback entries too */
        free(cg);
        return NULL;
    }
    bufferevent_incref(bev);
    TAILQ_INSERT_TAIL(&srv->srv_guards, cg, cg_link);
    return bev;
}

/* Once a second: let go of connections evhttp has freed, and cut those
 * whose current request is older than request_timeout. */
static void
guard_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    struct paved_server *srv = arg;
    struct conn_guard *cg, *next;
    bufferevent_event_cb eventcb;
    double now = server_now();

    (void)fd;
    (void)what;
    for (cg = TAILQ_FIRST(&srv->srv_guards); cg != NULL; cg = next) {
        next = TAILQ_NEXT(cg, cg_link);
        eventcb = NULL;
        bufferevent_getcb(cg->cg_bev, NULL, NULL, &eventcb, NULL);
        if (eventcb == NULL) {
            guard_release(srv, cg);
        } else if (cg->cg_started != 0 &&
                   now - cg->cg_started >
                       (double)srv->srv_cfg->cf_request_timeout) {
            evutil_socket_t s = bufferevent_getfd(cg->cg_bev);
            /* evhttp reads EOF next and closes the connection its way */
            if (s >= 0)
                shutdown(s, SHUT_RDWR);
            cg->cg_started = 0;
            paved_metrics_inc(srv->srv_metrics,
                              "paved_http_request_timeouts_total",
                              "Connections cut for taking longer than "
                              "request_timeout to send a request.",
                              "", 1);
        }
    }
}

/* --- replies --- */

static int
status_from_error(int error)
{
    switch (error) {
    case PAVED_EAUTH:
        return 401;
    case PAVED_EINVAL:
        return 400;
    case PAVED_ETOOBIG:
        return 413;
    case PAVED_EUNSUPPORTED:
        return 415;
    case PAVED_EUNAVAILABLE:
        return 503;
    case PAVED_ENOTFOUND:
        return 404;
    default:
        return 500;
    }
}

static const char *
reason_for(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 202:
        return "Accepted";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 503:
        return "Service Unavailable";
    default:
        return "Internal Server Error";
    }
}

/* Send, count and log one answer: the single place a request ends. */
static void
server_reply(struct paved_server *srv, struct evhttp_request *req,
             const char *route, int status, const char *ctype, const char *body,
             size_t len, double start, const char *forge, const char *kind,
             const char *delivery, const char *err)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    char labels[160], code[8], dur[32];
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
    double secs = server_now() - start;
    char shown[SERVER_LOG_PATH + 4];
    const char *method;

    switch (evhttp_request_get_command(req)) {
    case EVHTTP_REQ_GET:
        method = "GET";
        break;
    case EVHTTP_REQ_POST:
        method = "POST";
        break;
    case EVHTTP_REQ_HEAD:
        method = "HEAD";
        break;
    default:
        method = "OTHER";
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      ctype);
    evbuffer_add(out, body, len);
    /* the path is the client's text: bounded here, escaped by the log */
    if (path == NULL || path[0] == '\0')
        path = "/";
    if (strlen(path) > SERVER_LOG_PATH) {
        snprintf(shown, sizeof(shown), "%.*s...", SERVER_LOG_PATH, path);
        path = shown;
    }
    snprintf(code, sizeof(code), "%d", status);
    snprintf(dur, sizeof(dur), "%.3f", secs * 1000);
    snprintf(labels, sizeof(labels), "route=\"%s\",code=\"%d\"", route, status);
    paved_metrics_inc(srv->srv_metrics, "paved_http_requests_total",
                      SERVER_HELP_REQUESTS, labels, 1);
    snprintf(labels, sizeof(labels), "route=\"%s\"", route);
    paved_metrics_observe(
        srv->srv_metrics, "paved_http_request_duration_seconds",
        "Time from a request read to its answer sent.", labels, secs);
    paved_log_kv(srv->srv_log, status >= 500 ? PAVED_LOG_WARN : PAVED_LOG_INFO,
                 "request", "method", method, "path", path, "route", route,
                 "status", code, "forge", forge, "event", kind, "delivery",
                 delivery, "dur_ms", dur, "error", err, NULL);
    evhttp_send_reply(req, status, reason_for(status), NULL);
}

static void
server_reply_json_error(struct paved_server *srv, struct evhttp_request *req,
                        const char *route, int status, const char *msg,
                        double start, const char *forge, const char *kind,
                        const char *delivery)
{
    struct paved_buf b = PAVED_BUF_INIT(4096);

    if (paved_buf_puts(&b, "{\"error\":") < 0 ||
        paved_buf_put_json_string(&b, msg) < 0 || paved_buf_puts(&b, "}\n"))
        paved_buf_clear(&b);
    server_reply(srv, req, route, status, "application/json",
                 b.b_ptr ? b.b_ptr : "", b.b_len, start, forge, kind, delivery,
                 msg);
    paved_buf_dispose(&b);
}

/* --- webhooks --- */

static const char *
hook_header(void *ctx, const char *name)
{
    return evhttp_find_header(ctx, name);
}

static void
hook_count(struct paved_server *srv, enum paved_forge forge, const char *kind,
           const char *outcome)
{
    char labels[128];

    snprintf(labels, sizeof(labels), "forge=\"%s\",event=\"%s\",outcome=\"%s\"",
             paved_forge_name(forge), kind, outcome);
    paved_metrics_inc(srv->srv_metrics, "paved_webhook_deliveries_total",
                      SERVER_HELP_DELIVERIES, labels, 1);
}

static const char *
outcome_for(int status)
{
    switch (status) {
    case 401:
        return "unauthorized";
    case 413:
        return "too_large";
    case 415:
        return "unsupported";
    case 503:
        return "unavailable";
    default:
        return "invalid";
    }
}

static void
hook_conn_closed(struct evhttp_connection *evcon, void *arg)
{
    struct hook_ctx *hc = arg;

    (void)evcon;
    hc->hc_req = NULL; /* libevent frees the request; answer nobody */
}

static void
hook_done(const struct paved_store_done *done, void *arg)
{
    struct hook_ctx *hc = arg;
    struct paved_server *srv = hc->hc_srv;
    const char *forge = paved_forge_name(hc->hc_forge);
    const char *status_word;
    char labels[64];
    int status;

    srv->srv_inflight--;
    paved_metrics_observe(
        srv->srv_metrics, "paved_store_commit_duration_seconds",
        "Time the store took to commit a batch.", "", done->sd_commit_secs);
    paved_metrics_observe_buckets(
        srv->srv_metrics, "paved_store_commit_batch_size",
        "Deliveries in the commit each delivery was part of: how many "
        "shared one fsync.",
        "", (double)done->sd_batch, server_batch_bounds,
        sizeof(server_batch_bounds) / sizeof(server_batch_bounds[0]));
    snprintf(labels, sizeof(labels), "result=\"%s\"",
             done->sd_result == PAVED_EUNAVAILABLE ? "failed" : "ok");
    paved_metrics_inc(srv->srv_metrics, "paved_store_commits_total",
                      "Store commits (one per delivery; batches share "
                      "fsyncs).",
                      labels, 1);
    if (done->sd_result == 0) {
        srv->srv_stored++;
        if (!hc->hc_ping && !hc->hc_ignored && srv->srv_sched != NULL)
            paved_sched_kick(srv->srv_sched);
        status = hc->hc_ping ? 200 : 202;
        status_word = hc->hc_ping      ? "pong"
                      : hc->hc_ignored ? "ignored"
                                       : "queued";
    } else if (done->sd_result == PAVED_EEXISTS) {
        status = 200;
        status_word = "duplicate";
    } else {
        status = 503;
        status_word = "unavailable";
    }
    hook_count(srv, hc->hc_forge, hc->hc_kind, status_word);
    if (hc->hc_req != NULL) {
        struct evhttp_connection *evcon =
            evhttp_request_get_connection(hc->hc_req);
        evhttp_connection_set_closecb(evcon, NULL, NULL);
        if (status == 503) {
            server_reply_json_error(srv, hc->hc_req, hc->hc_route, 503,
                                    "store cannot commit; retry later",
                                    hc->hc_start, forge, hc->hc_kind,
                                    hc->hc_delivery);
        } else {
            struct paved_buf b = PAVED_BUF_INIT(1024);
            /* ids are printable ASCII but may hold quotes: escape */
            if (paved_buf_puts(&b, "{\"delivery\":") < 0 ||
                paved_buf_put_json_string(&b, hc->hc_delivery) < 0 ||
                paved_buf_printf(&b, ",\"status\":\"%s\"}\n", status_word) < 0)
                paved_buf_clear(&b);
            server_reply(srv, hc->hc_req, hc->hc_route, status,
                         "application/json", b.b_ptr ? b.b_ptr : "", b.b_len,
                         hc->hc_start, forge, hc->hc_kind, hc->hc_delivery,
                         NULL);
            paved_buf_dispose(&b);
        }
    }
    if (done->sd_result == PAVED_EUNAVAILABLE)
        paved_log_kv(srv->srv_log, PAVED_LOG_ERROR, "store commit failed",
                     "delivery", hc->hc_delivery, "error", done->sd_msg, NULL);
    free(hc);
}

static int
hook_make_delivery(struct paved_delivery **out, struct paved_forge_result *r)
{
    struct paved_delivery *d;
    struct paved_event *ev = &r->fr_event;
    int error;

    if ((d = calloc(1, sizeof(*d))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    d->dl_forge = strdup(paved_forge_name(ev->ev_forge));
    d->dl_id = strdup(ev->ev_delivery);
    d->dl_event = strdup(ev->ev_name ? ev->ev_name : "");
    d->dl_kind = strdup(paved_event_kind_name(ev->ev_kind));
    d->dl_status = strdup(ev->ev_kind == PAVED_EVENT_OTHER ||
                                  ev->ev_kind == PAVED_EVENT_PING
                              ? "ignored"
                              : "queued");
    d->dl_received_ms = server_unix_ms();
    if ((error = paved_event_to_json(&d->dl_event_json, ev)) < 0) {
        paved_delivery_free(d);
        return error;
    }
    if (d->dl_forge == NULL || d->dl_id == NULL || d->dl_event == NULL ||
        d->dl_kind == NULL || d->dl_status == NULL) {
        paved_delivery_free(d);
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    d->dl_payload = r->fr_payload; /* ownership moves to the delivery */
    d->dl_payload_len = r->fr_payload_len;
    r->fr_payload = NULL;
    r->fr_payload_len = 0;
    *out = d;
    return 0;
}

static void
server_hook(struct paved_server *srv, struct evhttp_request *req,
            enum paved_forge forge, const char *route, double start)
{
    struct paved_forge_result res;
    struct paved_forge_request fr;
    struct paved_delivery *d = NULL;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    struct hook_ctx *hc = NULL;
    const char *fname = paved_forge_name(forge);
    char labels[64];
    int error, status;

    memset(&res, 0, sizeof(res));
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
                          "POST");
        server_reply_json_error(srv, req, route, 405, "webhooks are POSTed",
                                start, fname, NULL, NULL);
        return;
    }
    fr.fr_header = hook_header;
    fr.fr_header_ctx = evhttp_request_get_input_headers(req);
    fr.fr_body_len = evbuffer_get_length(in);
    fr.fr_body = fr.fr_body_len > 0 ? evbuffer_pullup(in, -1)
                                    : (const unsigned char *)"";
    fr.fr_now = (int64_t)time(NULL);
    if ((error = paved_forge_process(&res, forge, &srv->srv_forge, &fr)) < 0)
        goto refuse;
    snprintf(labels, sizeof(labels), "forge=\"%s\",index=\"%d\"", fname,
             res.fr_secret_index);
    paved_metrics_inc(srv->srv_metrics, "paved_webhook_secret_matches_total",
                      "Verified deliveries by which configured secret "
                      "matched (0 = first); retire a secret when its count "
                      "stops growing.",
                      labels, 1);
    if ((hc = calloc(1, sizeof(*hc))) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto refuse;
    }
    hc->hc_srv = srv;
    hc->hc_req = req;
    hc->hc_forge = forge;
    hc->hc_route = route;
    hc->hc_kind = paved_event_kind_name(res.fr_event.ev_kind);
    hc->hc_ping = res.fr_event.ev_kind == PAVED_EVENT_PING;
    hc->hc_ignored = res.fr_event.ev_kind == PAVED_EVENT_OTHER;
    hc->hc_start = start;
    snprintf(hc->hc_delivery, sizeof(hc->hc_delivery), "%s",
             res.fr_event.ev_delivery);
    if ((error = hook_make_delivery(&d, &res)) < 0)
        goto refuse;
    paved_forge_result_dispose(&res);
    if ((error = paved_store_submit(srv->srv_store, d, hook_done, hc)) < 0) {
        d = NULL; /* the store owns it even on error */
        goto refuse;
    }
    srv->srv_inflight++;
    evhttp_connection_set_closecb(evhttp_request_get_connection(req),
                                  hook_conn_closed, hc);
    return;
refuse:
    status = status_from_error(error);
    hook_count(srv, forge,
               res.fr_event.ev_delivery != NULL
                   ? paved_event_kind_name(res.fr_event.ev_kind)
                   : "unknown",
               outcome_for(status));
    server_reply_json_error(srv, req, route, status, paved_error_last(), start,
                            fname, NULL, hc != NULL ? hc->hc_delivery : NULL);
    free(hc);
    paved_forge_result_dispose(&res);
}

/* --- health, metrics, API --- */

struct probe_ctx {
    struct paved_server *pc_srv;
    struct evhttp_request *pc_req;
    double pc_start;
};

static void
probe_conn_closed(struct evhttp_connection *evcon, void *arg)
{
    struct probe_ctx *pc = arg;

    (void)evcon;
    pc->pc_req = NULL;
}

static void
probe_done(const struct paved_store_done *done, void *arg)
{
    struct probe_ctx *pc = arg;

    pc->pc_srv->srv_inflight--;
    if (pc->pc_req != NULL) {
        evhttp_connection_set_closecb(evhttp_request_get_connection(pc->pc_req),
                                      NULL, NULL);
        if (done->sd_result == 0)
            server_reply(pc->pc_srv, pc->pc_req, "/readyz", 200, "text/plain",
                         "ready\n", 6, pc->pc_start, NULL, NULL, NULL, NULL);
        else
            server_reply_json_error(pc->pc_srv, pc->pc_req, "/readyz", 503,
                                    done->sd_msg ? done->sd_msg
                                                 : "store not writable",
                                    pc->pc_start, NULL, NULL, NULL);
    }
    free(pc);
}

static void
server_readyz(struct paved_server *srv, struct evhttp_request *req,
              double start)
{
    struct probe_ctx *pc;

    if ((pc = calloc(1, sizeof(*pc))) == NULL) {
        server_reply_json_error(srv, req, "/readyz", 500, "out of memory",
                                start, NULL, NULL, NULL);
        return;
    }
    pc->pc_srv = srv;
    pc->pc_req = req;
    pc->pc_start = start;
    if (paved_store_probe(srv->srv_store, probe_done, pc) < 0) {
        free(pc);
        server_reply_json_error(srv, req, "/readyz", 503, paved_error_last(),
                                start, NULL, NULL, NULL);
        return;
    }
    srv->srv_inflight++;
    evhttp_connection_set_closecb(evhttp_request_get_connection(req),
                                  probe_conn_closed, pc);
}

static void
server_metrics(struct paved_server *srv, struct evhttp_request *req,
               double start)
{
    struct paved_buf b = PAVED_BUF_INIT(16 * 1024 * 1024);

    paved_metrics_set(srv->srv_metrics, "paved_store_queue_depth",
                      "Deliveries handed to the store and not yet "
                      "committed.",
                      "", (double)paved_store_pending(srv->srv_store));
    paved_metrics_set(srv->srv_metrics, "paved_deliveries_stored",
                      "Deliveries in the store.", "", (double)srv->srv_stored);
    if (paved_metrics_render(srv->srv_metrics, &b) < 0) {
        server_reply_json_error(srv, req, "/metrics", 500, paved_error_last(),
                                start, NULL, NULL, NULL);
    } else {
        server_reply(srv, req, "/metrics", 200,
                     "text/plain; version=0.0.4; charset=utf-8",
                     b.b_ptr ? b.b_ptr : "", b.b_len, start, NULL, NULL, NULL,
                     NULL);
    }
    paved_buf_dispose(&b);
}

static int
server_api_authorized(struct paved_server *srv, struct evhttp_request *req)
{
    const char *token = srv->srv_cfg->cf_api_token;
    const char *auth;

    if (token == NULL || token[0] == '\0')
        return 1;
    auth = evhttp_find_header(evhttp_request_get_input_headers(req),
                              "Authorization");
    if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0)
        return 0;
    return paved_ct_streq(auth + 7, token);
}

/* POST /api/v1/deliveries/{id}/replay: answered once the new runs are
 * committed, like a webhook. */
struct replay_ctx {
    struct paved_server *rc_srv;
    struct evhttp_request *rc_req; /* NULL once the client went away */
    double rc_start;
};

static const char server_replay_prefix[] = "/api/v1/deliveries/";

static int
server_replay_path(const char *path)
{
    size_t pl = sizeof(server_replay_prefix) - 1, len = strlen(path);

    return strncmp(path, server_replay_prefix, pl) == 0 &&
           len > pl + sizeof("/replay") - 1 &&
           strcmp(path + len - 7, "/replay") == 0 &&
           memchr(path + pl, '/', len - pl - 7) == NULL;
}

static void
replay_closed(struct evhttp_connection *evcon, void *arg)
{
    struct replay_ctx *rc = arg;

    (void)evcon;
    rc->rc_req = NULL;
}

static void
replay_done(int result, const char *msg, const int64_t *runs, size_t n,
            void *arg)
{
    struct replay_ctx *rc = arg;
    struct paved_server *srv = rc->rc_srv;
    struct paved_buf b = PAVED_BUF_INIT(4096);
    size_t i;

    srv->srv_inflight--;
    if (rc->rc_req == NULL) {
        free(rc);
        return;
    }
    evhttp_connection_set_closecb(evhttp_request_get_connection(rc->rc_req),
                                  NULL, NULL);
    if (result < 0) {
        server_reply_json_error(srv, rc->rc_req, "/api", 503,
                                msg ? msg : "store cannot commit", rc->rc_start,
                                NULL, NULL, NULL);
        free(rc);
        return;
    }
    if (paved_buf_puts(&b, "{\"status\":\"queued\",\"runs\":[") < 0)
        paved_buf_clear(&b);
    for (i = 0; i < n; i++)
        (void)paved_buf_printf(&b, "%s%lld", i > 0 ? "," : "",
                               (long long)runs[i]);
    (void)paved_buf_puts(&b, "]}\n");
    server_reply(srv, rc->rc_req, "/api", 202, "application/json",
                 b.b_ptr ? b.b_ptr : "", b.b_len, rc->rc_start, NULL, NULL,
                 NULL, NULL);
    paved_buf_dispose(&b);
    free(rc);
}

static void
server_replay(struct paved_server *srv, struct evhttp_request *req,
              const char *path, double start)
{
    size_t pl = sizeof(server_replay_prefix) - 1;
    struct replay_ctx *rc = NULL;
    char *raw = NULL, *id = NULL;
    int error;

    if (srv->srv_sched == NULL) {
        server_reply_json_error(srv, req, "/api", 503,
                                "the scheduler is not running", start, NULL,
                                NULL, NULL);
        return;
    }
    raw = strndup(path + pl, strlen(path) - pl - 7);
    if (raw == NULL || (id = evhttp_uridecode(raw, 0, NULL)) == NULL ||
        (rc = calloc(1, sizeof(*rc))) == NULL) {
        server_reply_json_error(srv, req, "/api", 500, "out of memory", start,
                                NULL, NULL, NULL);
        goto out;
    }
    rc->rc_srv = srv;
    rc->rc_req = req;
    rc->rc_start = start;
    error = paved_sched_replay(srv->srv_sched, id, replay_done, rc);
    if (error < 0) {
        server_reply_json_error(srv, req, "/api",
                                error == PAVED_ENOTFOUND ? 404
                                : error == PAVED_EINVAL  ? 409
                                                         : 503,
                                paved_error_last(), start, NULL, NULL, NULL);
        goto out;
    }
    srv->srv_inflight++;
    evhttp_connection_set_closecb(evhttp_request_get_connection(req),
                                  replay_closed, rc);
    rc = NULL;
out:
    free(rc);
    free(raw);
    free(id);
}

static void
server_api(struct paved_server *srv, struct evhttp_request *req,
           const char *path, const char *query, double start)
{
    struct paved_buf b = PAVED_BUF_INIT(64 * 1024 * 1024);
    struct paved_api_ctx ctx;
    const char *method, *ctype = "application/json";
    int status = 500;

    if (!server_api_authorized(srv, req)) {
        evhttp_add_header(evhttp_request_get_output_headers(req),
                          "WWW-Authenticate", "Bearer");
        server_reply_json_error(srv, req, "/api", 401,
                                "missing or wrong bearer token "
                                "(PAVED_API_TOKEN)",
                                start, NULL, NULL, NULL);
        return;
    }
    switch (evhttp_request_get_command(req)) {
    case EVHTTP_REQ_GET:
    case EVHTTP_REQ_HEAD:
        method = "GET";
        break;
    case EVHTTP_REQ_POST:
        method = "POST";
        break;
    default:
        method = "OTHER";
    }
    if (strcmp(method, "POST") == 0 && server_replay_path(path)) {
        server_replay(srv, req, path, start);
        return;
    }
    ctx.ac_store = srv->srv_store;
    ctx.ac_sched = srv->srv_sched;
    ctx.ac_data_dir = srv->srv_cfg->cf_data_dir;
    ctx.ac_reporter = srv->srv_reporter;
    ctx.ac_templates_dir = srv->srv_cfg->cf_templates_dir;
    if (paved_api_handle(&b, &status, &ctype, &ctx, method, path, query) < 0) {
        server_reply_json_error(srv, req, "/api", 404, "no such API path",
                                start, NULL, NULL, NULL);
    } else {
        server_reply(srv, req, "/api", status, ctype, b.b_ptr ? b.b_ptr : "",
                     b.b_len, start, NULL, NULL, NULL, NULL);
    }
    paved_buf_dispose(&b);
}

static void
server_request_cb(struct evhttp_request *req, void *arg)
{
    struct paved_server *srv = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    double start = server_now();
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

    if (path == NULL || path[0] == '\0')
        path = "/";
    if (strcmp(path, "/hooks/github") == 0) {
        server_hook(srv, req, PAVED_FORGE_GITHUB, "/hooks/github", start);
    } else if (strcmp(path, "/hooks/gitea") == 0) {
        server_hook(srv, req, PAVED_FORGE_GITEA, "/hooks/gitea", start);
    } else if (strcmp(path, "/hooks/gitlab") == 0) {
        server_hook(srv, req, PAVED_FORGE_GITLAB, "/hooks/gitlab", start);
    } else if (strncmp(path, "/api/", 5) == 0) {
        server_api(srv, req, path, query, start);
    } else if (strcmp(path, "/healthz") != 0 && strcmp(path, "/readyz") != 0 &&
               strcmp(path, "/metrics") != 0) {
        server_reply_json_error(srv, req, "other", 404, "not found", start,
                                NULL, NULL, NULL);
    } else if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
                          "GET");
        server_reply_json_error(srv, req, path, 405, "method not allowed",
                                start, NULL, NULL, NULL);
    } else if (strcmp(path, "/healthz") == 0) {
        server_reply(srv, req, "/healthz", 200, "text/plain", "ok\n", 3, start,
                     NULL, NULL, NULL, NULL);
    } else if (strcmp(path, "/readyz") == 0) {
        server_readyz(srv, req, start);
    } else {
        server_metrics(srv, req, start);
    }
}

static void
server_store_cb(evutil_socket_t fd, short what, void *arg)
{
    struct paved_server *srv = arg;

    (void)fd;
    (void)what;
    paved_store_complete(srv->srv_store);
}

/* --- life cycle --- */

int
paved_server_new(paved_server **out, const struct paved_server_deps *d)
{
    struct paved_server *srv;
    const struct paved_config *cf = d->sd_config;
    struct timeval sweep = {1, 0};
    int64_t stored = 0;
    int error;

    *out = NULL;
    if ((srv = calloc(1, sizeof(*srv))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    TAILQ_INIT(&srv->srv_guards);
    srv->srv_base = d->sd_base;
    srv->srv_cfg = cf;
    srv->srv_store = d->sd_store;
    srv->srv_sched = d->sd_sched;
    srv->srv_reporter = d->sd_reporter;
    srv->srv_metrics = d->sd_metrics;
    srv->srv_log = d->sd_log;
    srv->srv_forge.fc_github_secrets =
        (const char *const *)cf->cf_github_secret.sl_items;
    srv->srv_forge.fc_n_github_secrets = cf->cf_github_secret.sl_n;
    srv->srv_forge.fc_github_allow_sha1 = cf->cf_github_allow_sha1;
    srv->srv_forge.fc_gitea_secrets =
        (const char *const *)cf->cf_gitea_secret.sl_items;
    srv->srv_forge.fc_n_gitea_secrets = cf->cf_gitea_secret.sl_n;
    srv->srv_forge.fc_gitlab_tokens =
        (const char *const *)cf->cf_gitlab_token.sl_items;
    srv->srv_forge.fc_n_gitlab_tokens = cf->cf_gitlab_token.sl_n;
    srv->srv_forge.fc_gitlab_signing_secrets =
        (const char *const *)cf->cf_gitlab_signing_secret.sl_items;
    srv->srv_forge.fc_n_gitlab_signing_secrets =
        cf->cf_gitlab_signing_secret.sl_n;
    srv->srv_forge.fc_gitlab_tolerance =
        (int64_t)cf->cf_gitlab_signature_tolerance;
    /* key each secret once here, not in every delivery's HMAC */
    if ((error = paved_forge_keys_new(&srv->srv_keys, &srv->srv_forge)) < 0) {
        paved_server_free(srv);
        return error; /* keep the callee's message */
    }
    srv->srv_forge.fc_keys = srv->srv_keys;
    if (paved_store_delivery_count(&stored, d->sd_store) == 0)
        srv->srv_stored = stored;

    if ((srv->srv_http = evhttp_new(d->sd_base)) == NULL)
        goto fail;
    evhttp_set_max_body_size(srv->srv_http, (ev_ssize_t)cf->cf_max_body);
    evhttp_set_max_headers_size(srv->srv_http, SERVER_MAX_HEADERS);
    evhttp_set_timeout(srv->srv_http, (int)cf->cf_read_timeout);
    /* read and drop the rest of an oversized body, so that the client
     * sees our 413 instead of a reset */
    evhttp_set_flags(srv->srv_http, EVHTTP_SERVER_LINGERING_CLOSE);
    evhttp_set_allowed_methods(srv->srv_http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
                                                  EVHTTP_REQ_HEAD);
    evhttp_set_default_content_type(srv->srv_http, "application/json");
    evhttp_set_bevcb(srv->srv_http, guard_bevcb, srv);
    srv->srv_sweep_ev =
        event_new(d->sd_base, -1, EV_PERSIST, guard_sweep_cb, srv);
    if (srv->srv_sweep_ev == NULL || event_add(srv->srv_sweep_ev, &sweep) < 0)
        goto fail;
    evhttp_set_gencb(srv->srv_http, server_request_cb, srv);
    srv->srv_store_ev =
        event_new(d->sd_base, paved_store_notify_fd(d->sd_store),
                  EV_READ | EV_PERSIST, server_store_cb, srv);
    if (srv->srv_store_ev == NULL || event_add(srv->srv_store_ev, NULL) < 0)
        goto fail;
    *out = srv;
    return 0;
fail:
    paved_server_free(srv);
    return paved_error_set(PAVED_ERROR, "cannot set up the HTTP server");
}

int
paved_server_listen(paved_server *srv, char *addr, size_t addrlen)
{
    const char *listen = srv->srv_cfg->cf_listen;
    const char *colon = strrchr(listen, ':');
    char host[256];
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    char ip[INET6_ADDRSTRLEN];
    long port;
    char *end;
    size_t hl;

    if (colon == NULL)
        return paved_error_set(PAVED_EUSAGE, "listen: \"%s\" is not host:port",
                               listen);
    hl = (size_t)(colon - listen);
    if (hl >= 2 && listen[0] == '[' && listen[hl - 1] == ']') {
        listen++; /* [::1]:8080 */
        hl -= 2;
    }
    if (hl == 0 || hl >= sizeof(host))
        return paved_error_set(PAVED_EUSAGE, "listen: bad host in \"%s\"",
                               srv->srv_cfg->cf_listen);
    memcpy(host, listen, hl);
    host[hl] = '\0';
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || port < 0 || port > 65535)
        return paved_error_set(PAVED_EUSAGE, "listen: bad port in \"%s\"",
                               srv->srv_cfg->cf_listen);
    srv->srv_sock =
        evhttp_bind_socket_with_handle(srv->srv_http, host, (ev_uint16_t)port);
    if (srv->srv_sock == NULL)
        return paved_error_set(PAVED_EUNAVAILABLE,
                               "listen on %s: %s (is another paved "
                               "running? set PAVED_LISTEN)",
                               srv->srv_cfg->cf_listen, strerror(errno));
    if (getsockname(evhttp_bound_socket_get_fd(srv->srv_sock),
                    (struct sockaddr *)&ss, &sslen) < 0)
        return paved_error_set(PAVED_ERROR, "getsockname: %s", strerror(errno));
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
        snprintf(addr, addrlen, "[%s]:%u", ip, ntohs(s6->sin6_port));
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
        snprintf(addr, addrlen, "%s:%u", ip, ntohs(s4->sin_port));
    }
    return 0;
}

void
paved_server_stop_accepting(paved_server *srv)
{
    if (srv->srv_sock != NULL) {
        evhttp_del_accept_socket(srv->srv_http, srv->srv_sock);
        srv->srv_sock = NULL;
    }
}

size_t
paved_server_inflight(const paved_server *srv)
{
    return srv->srv_inflight;
}

void
paved_server_free(paved_server *srv)
{
    if (srv == NULL)
        return;
    if (srv->srv_store_ev != NULL)
        event_free(srv->srv_store_ev);
    if (srv->srv_sweep_ev != NULL)
        event_free(srv->srv_sweep_ev);
    if (srv->srv_http != NULL)
        evhttp_free(srv->srv_http); /* frees every connection first */
    while (!TAILQ_EMPTY(&srv->srv_guards))
        guard_release(srv, TAILQ_FIRST(&srv->srv_guards));
    paved_forge_keys_free(srv->srv_keys);
    free(srv);
}
