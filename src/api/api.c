/* REST API read side: store rows to JSON. Transport, auth and metrics are
 * the server's; this file only answers "what does this path show". */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/queue.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>
#include <jansson.h>

#include "paved/api.h"
#include "paved/error.h"
#include "paved/reporter.h"
#include "paved/scaffold.h"
#include "paved/guardrails.h"
#include "paved/sched.h"
#include "paved/workspace.h"

#define API_DEFAULT_LIMIT 50
#define API_MAX_LIMIT 1000

void
paved_api_format_time(char *out, size_t len, long long unix_ms)
{
    time_t secs = (time_t)(unix_ms / 1000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(unix_ms % 1000));
}

static int
api_error(struct paved_buf *body, int *status, int code, const char *msg)
{
    *status = code;
    paved_buf_clear(body);
    if (paved_buf_puts(body, "{\"error\":") < 0 ||
        paved_buf_put_json_string(body, msg) < 0 ||
        paved_buf_puts(body, "}\n") < 0)
        *status = 500;
    return 0;
}

/* One delivery as JSON; event_json and payload are our own validated JSON
 * and go in verbatim. */
static int
api_delivery(struct paved_buf *b, const struct paved_delivery *d)
{
    char when[40];
    int error;

    paved_api_format_time(when, sizeof(when), d->dl_received_ms);
    if ((error = paved_buf_printf(
             b, "{\"seq\":%lld,\"id\":", (long long)d->dl_seq)) < 0 ||
        (error = paved_buf_put_json_string(b, d->dl_id)) < 0 ||
        (error = paved_buf_puts(b, ",\"forge\":")) < 0 ||
        (error = paved_buf_put_json_string(b, d->dl_forge)) < 0 ||
        (error = paved_buf_puts(b, ",\"event\":")) < 0 ||
        (error = paved_buf_put_json_string(b, d->dl_event)) < 0 ||
        (error = paved_buf_puts(b, ",\"kind\":")) < 0 ||
        (error = paved_buf_put_json_string(b, d->dl_kind)) < 0 ||
        (error = paved_buf_puts(b, ",\"status\":")) < 0 ||
        (error = paved_buf_put_json_string(b, d->dl_status)) < 0 ||
        (error = paved_buf_printf(
             b, ",\"received_at\":\"%s\",\"planned\":%s,\"normalized\":%s",
             when, d->dl_planned ? "true" : "false", d->dl_event_json)) < 0)
        return error;
    if (d->dl_payload != NULL) {
        if ((error = paved_buf_puts(b, ",\"payload\":")) < 0 ||
            (error = paved_buf_put(b, d->dl_payload, d->dl_payload_len)) < 0)
            return error;
    }
    return paved_buf_putc(b, '}');
}

static int
api_parse_count(long long *out, const char *s, long long min, long long max)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return PAVED_EINVAL;
    *out = v;
    return 0;
}

static int
api_deliveries(struct paved_buf *body, int *status, paved_store *st,
               const char *query)
{
    struct evkeyvalq params;
    struct paved_delivery **list = NULL;
    const char *v;
    long long limit = API_DEFAULT_LIMIT, before = 0;
    size_t n = 0, i;
    int error = 0;

    TAILQ_INIT(&params);
    if (query != NULL && evhttp_parse_query_str(query, &params) < 0)
        return api_error(body, status, 400, "malformed query string");
    if ((v = evhttp_find_header(&params, "limit")) != NULL &&
        api_parse_count(&limit, v, 1, API_MAX_LIMIT) < 0) {
        evhttp_clear_headers(&params);
        return api_error(body, status, 400,
                         "limit must be a number from 1 to 1000");
    }
    if ((v = evhttp_find_header(&params, "before")) != NULL &&
        api_parse_count(&before, v, 1, INT64_MAX) < 0) {
        evhttp_clear_headers(&params);
        return api_error(body, status, 400,
                         "before must be a delivery seq number");
    }
    evhttp_clear_headers(&params);
    if ((error = paved_store_delivery_list(&list, &n, st, (size_t)limit, before,
                                           0)) < 0)
        return api_error(body, status, 500, paved_error_last());
    if ((error = paved_buf_puts(body, "{\"deliveries\":[")) < 0)
        goto out;
    for (i = 0; i < n; i++) {
        if ((i > 0 && (error = paved_buf_putc(body, ',')) < 0) ||
            (error = api_delivery(body, list[i])) < 0)
            goto out;
    }
    error = paved_buf_puts(body, "]}\n");
out:
    paved_delivery_list_free(list, n);
    if (error < 0)
        return api_error(body, status, 500, paved_error_last());
    *status = 200;
    return 0;
}

static int
api_delivery_one(struct paved_buf *body, int *status, paved_store *st,
                 const char *raw_id)
{
    struct paved_delivery *d = NULL;
    char *id;
    int error;

    if ((id = evhttp_uridecode(raw_id, 0, NULL)) == NULL)
        return api_error(body, status, 500, "out of memory");
    error = paved_store_delivery_get(&d, st, id, 1);
    free(id);
    if (error == PAVED_ENOTFOUND || error == PAVED_EINVAL)
        return api_error(body, status, error == PAVED_EINVAL ? 400 : 404,
                         paved_error_last());
    if (error < 0)
        return api_error(body, status, 500, paved_error_last());
    if ((error = api_delivery(body, d)) < 0 ||
        (error = paved_buf_putc(body, '\n')) < 0) {
        paved_delivery_free(d);
        return api_error(body, status, 500, paved_error_last());
    }
    paved_delivery_free(d);
    *status = 200;
    return 0;
}

/* "null" for 0, else the time in quotes */
static int
api_put_time(struct paved_buf *b, const char *key, int64_t ms)
{
    char when[40];

    if (ms <= 0)
        return paved_buf_printf(b, ",\"%s\":null", key);
    paved_api_format_time(when, sizeof(when), ms);
    return paved_buf_printf(b, ",\"%s\":\"%s\"", key, when);
}

static int
api_put_str(struct paved_buf *b, const char *key, const char *v)
{
    int error;

    if ((error = paved_buf_printf(b, ",\"%s\":", key)) < 0)
        return error;
    return v != NULL ? paved_buf_put_json_string(b, v)
                     : paved_buf_puts(b, "null");
}

static int
api_step(struct paved_buf *b, const struct paved_step_rec *s)
{
    int error;

    if ((error = paved_buf_printf(b, "{\"index\":%u", s->sr_index)) < 0 ||
        (error = api_put_str(b, "name", s->sr_name)) < 0 ||
        (error = api_put_str(b, "state", paved_run_state_name(s->sr_state))) <
            0 ||
        (error = api_put_str(b, "reason", s->sr_reason)) < 0)
        return error;
    if (s->sr_exit >= 0)
        error = paved_buf_printf(b, ",\"exit_code\":%d", s->sr_exit);
    else
        error = paved_buf_puts(b, ",\"exit_code\":null");
    if (error < 0 ||
        (error = paved_buf_printf(b, ",\"attempts\":%u", s->sr_attempts)) < 0 ||
        (error = paved_buf_printf(b, ",\"needs\":%s",
                                  s->sr_needs ? s->sr_needs : "[]")) < 0 ||
        (error = api_put_time(b, "started_at", s->sr_started_ms)) < 0 ||
        (error = api_put_time(b, "finished_at", s->sr_finished_ms)) < 0)
        return error;
    return paved_buf_putc(b, '}');
}

int
paved_api_run_json(struct paved_buf *b, const struct paved_run *r,
                   int with_steps)
{
    size_t i;
    int error;

    if ((error = paved_buf_printf(b, "{\"id\":%lld", (long long)r->ru_id)) <
            0 ||
        (error = api_put_str(b, "pipeline", r->ru_pipeline)) < 0 ||
        (error = api_put_str(b, "repo", r->ru_repo)) < 0 ||
        (error = api_put_str(b, "ref", r->ru_ref)) < 0 ||
        (error = api_put_str(b, "sha", r->ru_sha)) < 0 ||
        (error = api_put_str(b, "event", r->ru_kind)) < 0 ||
        (error = api_put_str(b, "environment", r->ru_env)) < 0 ||
        (error = api_put_str(b, "state", paved_run_state_name(r->ru_state))) <
            0 ||
        (error = api_put_str(b, "reason", r->ru_reason)) < 0 ||
        (error = api_put_str(b, "delivery", r->ru_delivery_id)) < 0 ||
        (error = paved_buf_printf(b, ",\"delivery_seq\":%lld",
                                  (long long)r->ru_delivery_seq)) < 0 ||
        (error = api_put_str(b, "concurrency_group", r->ru_group)) < 0 ||
        (error = paved_buf_printf(b, ",\"attempt\":%u", r->ru_attempt)) < 0)
        return error;
    if (r->ru_requeue_of > 0 &&
        (error = paved_buf_printf(b, ",\"requeue_of\":%lld",
                                  (long long)r->ru_requeue_of)) < 0)
        return error;
    if ((error = api_put_time(b, "created_at", r->ru_created_ms)) < 0 ||
        (error = api_put_time(b, "started_at", r->ru_started_ms)) < 0 ||
        (error = api_put_time(b, "finished_at", r->ru_finished_ms)) < 0)
        return error;
    if (with_steps) {
        if ((error = paved_buf_puts(b, ",\"steps\":[")) < 0)
            return error;
        for (i = 0; i < r->ru_nsteps; i++)
            if ((i > 0 && (error = paved_buf_putc(b, ',')) < 0) ||
                (error = api_step(b, &r->ru_steps[i])) < 0)
                return error;
        if ((error = paved_buf_putc(b, ']')) < 0)
            return error;
    }
    return paved_buf_putc(b, '}');
}

static int
api_runs(struct paved_buf *body, int *status, paved_store *st,
         const char *query)
{
    struct evkeyvalq params;
    struct paved_run_filter f;
    struct paved_run **list = NULL;
    enum paved_run_state state;
    const char *v, *p;
    long long limit = API_DEFAULT_LIMIT, before = 0;
    size_t n = 0, i;
    int error = 0;

    memset(&f, 0, sizeof(f));
    f.rf_state = -1;
    TAILQ_INIT(&params);
    if (query != NULL && evhttp_parse_query_str(query, &params) < 0)
        return api_error(body, status, 400, "malformed query string");
    if ((v = evhttp_find_header(&params, "limit")) != NULL &&
        api_parse_count(&limit, v, 1, API_MAX_LIMIT) < 0) {
        error = api_error(body, status, 400,
                          "limit must be a number from 1 to 1000");
        goto done;
    }
    if ((v = evhttp_find_header(&params, "before")) != NULL &&
        api_parse_count(&before, v, 1, INT64_MAX) < 0) {
        error = api_error(body, status, 400, "before must be a run id");
        goto done;
    }
    if ((v = evhttp_find_header(&params, "state")) != NULL) {
        if (paved_run_state_from_name(&state, v) < 0) {
            error = api_error(body, status, 400, paved_error_last());
            goto done;
        }
        f.rf_state = (int)state;
    }
    if ((v = evhttp_find_header(&params, "sha")) != NULL) {
        for (p = v; *p != '\0'; p++)
            if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                break;
        if (*p != '\0' || p - v < 4 || p - v > 64) {
            error = api_error(body, status, 400,
                              "sha must be 4 to 64 lower-case hex digits");
            goto done;
        }
        f.rf_sha = v;
    }
    f.rf_repo = evhttp_find_header(&params, "repo");
    f.rf_limit = (size_t)limit;
    f.rf_before_id = before;
    if ((error = paved_store_run_list(&list, &n, st, &f)) < 0) {
        error = api_error(body, status, 500, paved_error_last());
        goto done;
    }
    if ((error = paved_buf_puts(body, "{\"runs\":[")) < 0)
        goto out;
    for (i = 0; i < n; i++)
        if ((i > 0 && (error = paved_buf_putc(body, ',')) < 0) ||
            (error = paved_api_run_json(body, list[i], 0)) < 0)
            goto out;
    error = paved_buf_puts(body, "]}\n");
out:
    if (error < 0)
        error = api_error(body, status, 500, paved_error_last());
    else
        *status = 200;
done:
    paved_run_list_free(list, n);
    evhttp_clear_headers(&params);
    return error;
}

static int
api_parse_id(int64_t *out, const char *s, size_t len)
{
    char tmp[24];
    long long v;

    if (len == 0 || len >= sizeof(tmp))
        return PAVED_EINVAL;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    if (api_parse_count(&v, tmp, 1, INT64_MAX) < 0)
        return PAVED_EINVAL;
    *out = v;
    return 0;
}

/* Appends one step's log from offset; a missing file is an empty log
 * (the step has not started). */
static int
api_append_file(struct paved_buf *b, const char *path, long long offset)
{
    char chunk[16384];
    ssize_t got;
    int fd, error = 0;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return 0;
    if (offset > 0 && lseek(fd, (off_t)offset, SEEK_SET) < 0) {
        close(fd);
        return 0;
    }
    while ((got = read(fd, chunk, sizeof(chunk))) > 0)
        if ((error = paved_buf_put(b, chunk, (size_t)got)) < 0)
            break;
    close(fd);
    return error;
}

static int
api_run_log(struct paved_buf *body, int *status, const char **ctype,
            const struct paved_api_ctx *ctx, int64_t id, const char *query)
{
    struct evkeyvalq params;
    struct paved_run *r = NULL;
    const char *step, *v;
    long long offset = 0;
    char path[4096];
    size_t i;
    int error, found = 0;

    TAILQ_INIT(&params);
    if (query != NULL && evhttp_parse_query_str(query, &params) < 0)
        return api_error(body, status, 400, "malformed query string");
    step = evhttp_find_header(&params, "step");
    if ((v = evhttp_find_header(&params, "offset")) != NULL &&
        api_parse_count(&offset, v, 0, INT64_MAX) < 0) {
        error = api_error(body, status, 400, "offset must be a byte count");
        goto done;
    }
    if ((error = paved_store_run_get(&r, ctx->ac_store, id)) < 0) {
        error = api_error(body, status, error == PAVED_ENOTFOUND ? 404 : 500,
                          paved_error_last());
        goto done;
    }
    for (i = 0; i < r->ru_nsteps; i++) {
        const struct paved_step_rec *s = &r->ru_steps[i];
        if (step != NULL && strcmp(step, s->sr_name) != 0)
            continue;
        found = 1;
        snprintf(path, sizeof(path), "%s/runs/%lld/%u-%s.log", ctx->ac_data_dir,
                 (long long)id, s->sr_index, s->sr_name);
        if (step == NULL &&
            (error = paved_buf_printf(body, "==> step %s: %s <==\n", s->sr_name,
                                      paved_run_state_name(s->sr_state))) < 0)
            break;
        if ((error = api_append_file(body, path, step != NULL ? offset : 0)) <
            0)
            break;
    }
    if (error < 0) {
        error = api_error(body, status, 500, paved_error_last());
        goto done;
    }
    if (step != NULL && !found) {
        char msg[256];
        snprintf(msg, sizeof(msg), "run %lld has no step \"%.100s\"",
                 (long long)id, step);
        error = api_error(body, status, 404, msg);
        goto done;
    }
    *ctype = "text/plain; charset=utf-8";
    *status = 200;
done:
    paved_run_free(r);
    evhttp_clear_headers(&params);
    return error;
}

static int
api_run_cancel(struct paved_buf *body, int *status,
               const struct paved_api_ctx *ctx, int64_t id)
{
    int error;

    if (ctx->ac_sched == NULL)
        return api_error(body, status, 503, "the scheduler is not running");
    error = paved_sched_cancel(ctx->ac_sched, id, "cancelled through the API");
    if (error == PAVED_ENOTFOUND)
        return api_error(body, status, 404, paved_error_last());
    if (error == PAVED_EEXISTS)
        return api_error(body, status, 409, paved_error_last());
    if (error < 0)
        return api_error(body, status, 500, paved_error_last());
    *status = 202;
    if (paved_buf_printf(body, "{\"run\":%lld,\"status\":\"cancelling\"}\n",
                         (long long)id) < 0)
        *status = 500;
    return 0;
}

/* /api/v1/runs[/{id}[/log|/cancel]] */
static int
api_runs_route(struct paved_buf *body, int *status, const char **ctype,
               const struct paved_api_ctx *ctx, const char *method,
               const char *rest, const char *query)
{
    struct paved_run *r = NULL;
    const char *slash;
    int64_t id;
    int error;

    if (rest[0] == '\0' || strcmp(rest, "/") == 0) {
        if (strcmp(method, "GET") != 0)
            return api_error(body, status, 405, "use GET");
        return api_runs(body, status, ctx->ac_store, query);
    }
    rest++;
    slash = strchr(rest, '/');
    if (api_parse_id(&id, rest, slash ? (size_t)(slash - rest) : strlen(rest)) <
        0)
        return api_error(body, status, 400, "a run id is a positive number");
    if (slash == NULL) {
        if (strcmp(method, "GET") != 0)
            return api_error(body, status, 405, "use GET");
        if ((error = paved_store_run_get(&r, ctx->ac_store, id)) < 0)
            return api_error(body, status, error == PAVED_ENOTFOUND ? 404 : 500,
                             paved_error_last());
        if (paved_api_run_json(body, r, 1) < 0 ||
            paved_buf_putc(body, '\n') < 0) {
            paved_run_free(r);
            return api_error(body, status, 500, paved_error_last());
        }
        paved_run_free(r);
        *status = 200;
        return 0;
    }
    if (strcmp(slash, "/log") == 0) {
        if (strcmp(method, "GET") != 0)
            return api_error(body, status, 405, "use GET");
        return api_run_log(body, status, ctype, ctx, id, query);
    }
    if (strcmp(slash, "/cancel") == 0) {
        if (strcmp(method, "POST") != 0)
            return api_error(body, status, 405, "use POST");
        return api_run_cancel(body, status, ctx, id);
    }
    return api_error(body, status, 404, "no such API path");
}

static int
api_outbox_item(struct paved_buf *b, const struct paved_outbox_item *it)
{
    int error;

    if ((error = paved_buf_printf(b, "{\"id\":%lld", (long long)it->oi_id)) <
            0 ||
        (error = api_put_str(b, "forge", it->oi_forge)) < 0 ||
        (error = api_put_str(b, "repo", it->oi_repo)) < 0 ||
        (error = api_put_str(b, "sha", it->oi_sha)) < 0 ||
        (error = api_put_str(b, "context", it->oi_context)) < 0 ||
        (error = api_put_str(b, "state", it->oi_state)) < 0 ||
        (error = api_put_str(b, "description", it->oi_description)) < 0 ||
        (error = api_put_str(b, "target_url", it->oi_target_url)) < 0 ||
        (error = paved_buf_printf(b, ",\"run\":%lld", (long long)it->oi_run)) <
            0 ||
        (error = api_put_str(b, "status", it->oi_status)) < 0 ||
        (error = paved_buf_printf(b,
                                  ",\"version\":%lld,\"sent_version\":%lld,"
                                  "\"attempts\":%u",
                                  (long long)it->oi_version,
                                  (long long)it->oi_sent_version,
                                  it->oi_attempts)) < 0 ||
        (error = api_put_time(b, "next_attempt_at",
                              it->oi_status != NULL &&
                                      strcmp(it->oi_status, "pending") == 0
                                  ? it->oi_next_ms
                                  : 0)) < 0 ||
        (error = api_put_time(b, "updated_at", it->oi_updated_ms)) < 0 ||
        (error = api_put_str(b, "last_error", it->oi_last_error)) < 0)
        return error;
    /* a GitHub check run (paved as an App): its id and annotations sent */
    if (it->oi_check_run_id > 0 &&
        (error = paved_buf_printf(
             b, ",\"check_run_id\":%lld,\"annotations_sent\":%u",
             (long long)it->oi_check_run_id, it->oi_annotations_sent)) < 0)
        return error;
    return paved_buf_putc(b, '}');
}

/* GET /api/v1/outbox?status=pending|failed|sent; by default what has not
 * reached the forge yet: pending and failed */
static int
api_outbox(struct paved_buf *body, int *status, paved_store *st,
           const char *query)
{
    static const char *const all[] = {"pending", "failed", NULL};
    struct evkeyvalq params;
    struct paved_outbox_item **list = NULL;
    const char *want[2] = {NULL, NULL};
    const char *const *which = all;
    const char *v;
    long long limit = API_DEFAULT_LIMIT;
    size_t n = 0, i, k, first = 1;
    int error = 0;

    TAILQ_INIT(&params);
    if (query != NULL && evhttp_parse_query_str(query, &params) < 0)
        return api_error(body, status, 400, "malformed query string");
    if ((v = evhttp_find_header(&params, "limit")) != NULL &&
        api_parse_count(&limit, v, 1, API_MAX_LIMIT) < 0) {
        error = api_error(body, status, 400,
                          "limit must be a number from 1 to 1000");
        goto done;
    }
    if ((v = evhttp_find_header(&params, "status")) != NULL) {
        if (strcmp(v, "pending") != 0 && strcmp(v, "failed") != 0 &&
            strcmp(v, "sent") != 0) {
            error = api_error(body, status, 400,
                              "status must be pending, failed or sent");
            goto done;
        }
        want[0] = v;
        which = want;
    }
    if ((error = paved_buf_puts(body, "{\"outbox\":[")) < 0)
        goto fail;
    for (k = 0; which[k] != NULL; k++) {
        if ((error = paved_store_outbox_list(&list, &n, st, which[k],
                                             (size_t)limit)) < 0)
            goto fail;
        for (i = 0; i < n; i++) {
            if ((!first && (error = paved_buf_putc(body, ',')) < 0) ||
                (error = api_outbox_item(body, list[i])) < 0)
                goto fail;
            first = 0;
        }
        paved_outbox_list_free(list, n);
        list = NULL;
        n = 0;
    }
    if ((error = paved_buf_puts(body, "]}\n")) < 0)
        goto fail;
    *status = 200;
    goto done;
fail:
    error = api_error(body, status, 500, paved_error_last());
done:
    paved_outbox_list_free(list, n);
    evhttp_clear_headers(&params);
    return error;
}

static int
api_outbox_route(struct paved_buf *body, int *status,
                 const struct paved_api_ctx *ctx, const char *method,
                 const char *rest, const char *query)
{
    struct paved_outbox_item *it = NULL;
    const char *slash;
    int64_t id;
    int error;

    if (rest[0] == '\0' || strcmp(rest, "/") == 0) {
        if (strcmp(method, "GET") != 0)
            return api_error(body, status, 405, "use GET");
        return api_outbox(body, status, ctx->ac_store, query);
    }
    rest++;
    slash = strchr(rest, '/');
    if (slash == NULL || strcmp(slash, "/retry") != 0)
        return api_error(body, status, 404, "no such API path");
    if (api_parse_id(&id, rest, (size_t)(slash - rest)) < 0)
        return api_error(body, status, 400,
                         "an outbox id is a positive number");
    if (strcmp(method, "POST") != 0)
        return api_error(body, status, 405, "use POST");
    if ((error = paved_store_outbox_get(&it, ctx->ac_store, id)) < 0)
        return api_error(body, status, error == PAVED_ENOTFOUND ? 404 : 500,
                         paved_error_last());
    if (strcmp(it->oi_status, "sent") == 0) {
        paved_outbox_item_free(it);
        return api_error(body, status, 409,
                         "already delivered: the forge has this state");
    }
    paved_outbox_item_free(it);
    if (paved_store_outbox_retry(ctx->ac_store, id) < 0)
        return api_error(body, status, 503, paved_error_last());
    /* the reporter's next pass reads it; its poll comes within a second */
    paved_reporter_kick(ctx->ac_reporter);
    *status = 202;
    if (paved_buf_printf(body, "{\"id\":%lld,\"status\":\"pending\"}\n",
                         (long long)id) < 0)
        *status = 500;
    return 0;
}

/* ---- the service catalog: /api/v1/services, /api/v1/platform ----------
 * Reads only. "deployed" is the stable version the audit log records
 * (the newest promotion, or a rollback that restored an older version);
 * for a service that never went through the delivery steps, the newest
 * successful run of the environment. Health is the newest run's. */

#define API_EXC_WINDOW_DAYS 14
#define API_POLICY_MAX (256 * 1024)
/* The platform view reads every service's policy file from its git
 * repository on the loop thread (the API answers synchronously; see
 * docs/golden-paths.md#the-catalog): it stops reading after this long and
 * says which services it skipped. */
#define API_POLICY_BUDGET_MS 250

static int64_t
api_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
api_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The integer in <dir>/VERSION, or -1 when there is none (no templates
 * dir configured, no file, not a number). A few bytes: read in place. */
static int
api_template_version(const char *dir)
{
    int v;

    if (dir == NULL || dir[0] == '\0' || paved_scaffold_version(&v, dir) < 0)
        return -1;
    return v;
}

/* One catalog entry; current < 0: the current template version is not
 * known (then "behind" is false). */
static int
api_service_json(struct paved_buf *b, const struct paved_service *s,
                 int current)
{
    int error;

    if ((error = paved_buf_puts(b, "{\"name\":")) < 0 ||
        (error = paved_buf_put_json_string(b, s->sv_name)) < 0 ||
        (error = api_put_str(b, "type", s->sv_type)) < 0 ||
        (error = api_put_str(b, "lang", s->sv_lang)) < 0 ||
        (error = api_put_str(b, "owner", s->sv_owner)) < 0 ||
        (error = api_put_str(b, "repo", s->sv_repo)) < 0 ||
        (error = api_put_str(b, "url", s->sv_url)) < 0 ||
        (error = paved_buf_printf(b, ",\"db\":%s,\"queue\":%s",
                                  s->sv_db ? "true" : "false",
                                  s->sv_queue ? "true" : "false")) < 0 ||
        (error = api_put_time(b, "created_at", s->sv_created_ms)) < 0 ||
        (error = api_put_time(b, "updated_at", s->sv_updated_ms)) < 0 ||
        (error = paved_buf_printf(b, ",\"template_version\":%d",
                                  s->sv_template_version)) < 0)
        return error;
    if (current >= 0)
        error = paved_buf_printf(
            b,
            ",\"current_template_version\":%d,"
            "\"behind\":%s}",
            current, s->sv_template_version < current ? "true" : "false");
    else
        error = paved_buf_puts(b, ",\"current_template_version\":null,"
                                  "\"behind\":false}");
    return error;
}

static int
api_services(struct paved_buf *body, int *status,
             const struct paved_api_ctx *ctx)
{
    struct paved_service **list = NULL;
    int current = api_template_version(ctx->ac_templates_dir);
    size_t n = 0, i;
    int error;

    if ((error = paved_store_service_list(&list, &n, ctx->ac_store)) < 0)
        return api_error(body, status, 500, paved_error_last());
    if ((error = paved_buf_puts(body, "{\"services\":[")) < 0)
        goto out;
    for (i = 0; i < n; i++)
        if ((i > 0 && (error = paved_buf_putc(body, ',')) < 0) ||
            (error = api_service_json(body, list[i], current)) < 0)
            goto out;
    if (current >= 0)
        error = paved_buf_printf(body, "],\"template_version\":%d}\n", current);
    else
        error = paved_buf_puts(body, "],\"template_version\":null}\n");
out:
    paved_service_list_free(list, n);
    if (error < 0)
        return api_error(body, status, 500, paved_error_last());
    *status = 200;
    return 0;
}

/* What a run left running: the tag for a tag ref, else the short sha. */
static void
api_run_version(char *out, size_t n, const struct paved_run *r)
{
    if (r->ru_ref != NULL && strncmp(r->ru_ref, "refs/tags/", 10) == 0)
        snprintf(out, n, "%s", r->ru_ref + 10);
    else
        snprintf(out, n, "%.7s", r->ru_sha != NULL ? r->ru_sha : "");
}

static int
api_run_brief(struct paved_buf *b, const char *key, const struct paved_run *r)
{
    int error;

    if (r == NULL)
        return paved_buf_printf(b, ",\"%s\":null", key);
    if ((error = paved_buf_printf(b, ",\"%s\":{\"id\":%lld", key,
                                  (long long)r->ru_id)) < 0 ||
        (error = api_put_str(b, "state", paved_run_state_name(r->ru_state))) <
            0 ||
        (error = api_put_str(b, "pipeline", r->ru_pipeline)) < 0 ||
        (error = api_put_str(b, "event", r->ru_kind)) < 0 ||
        (error = api_put_str(b, "ref", r->ru_ref)) < 0 ||
        (error = api_put_str(b, "sha", r->ru_sha)) < 0 ||
        (error = api_put_time(b, "created_at", r->ru_created_ms)) < 0 ||
        (error = api_put_time(b, "finished_at", r->ru_finished_ms)) < 0)
        return error;
    return paved_buf_putc(b, '}');
}

/* Health from the newest run of an environment, until deployments
 * (issue 7) report what is really running. */
static const char *
api_health(const struct paved_run *latest)
{
    if (latest == NULL)
        return "unknown";
    switch (latest->ru_state) {
    case PAVED_RUN_SUCCESS:
        return "healthy";
    case PAVED_RUN_FAILURE:
    case PAVED_RUN_ERROR:
        return "failing";
    case PAVED_RUN_QUEUED:
    case PAVED_RUN_RUNNING:
        return "deploying";
    default:
        return "unknown";
    }
}

/* The stable version of service in env by the audit log: the newest
 * promotion, or a rollback that restored an older version (its detail
 * says "restored"). NULL when the log has none. */
static struct paved_deploy_rec *
api_stable_rec(paved_store *st, const char *service, const char *env)
{
    struct paved_deploy_filter f;
    struct paved_deploy_rec **list = NULL, *found = NULL;
    size_t n = 0, i;

    memset(&f, 0, sizeof(f));
    f.df_service = service;
    f.df_env = env;
    f.df_result = "ok";
    f.df_limit = 200;
    if (paved_store_deploy_list(&list, &n, st, &f) < 0)
        return NULL;
    for (i = 0; i < n && found == NULL; i++)
        if (strcmp(list[i]->dr_action, "promote") == 0 ||
            (strcmp(list[i]->dr_action, "rollback") == 0 &&
             list[i]->dr_detail != NULL &&
             strstr(list[i]->dr_detail, "\"restored\"") != NULL)) {
            found = list[i];
            list[i] = NULL;
        }
    paved_deploy_list_free(list, n);
    return found;
}

static int
api_deployed_rec(struct paved_buf *b, const struct paved_deploy_rec *r)
{
    int error;

    if ((error = paved_buf_puts(b, ",\"deployed\":{\"version\":")) < 0 ||
        (error = paved_buf_put_json_string(
             b, r->dr_version != NULL ? r->dr_version : "")) < 0 ||
        (error = paved_buf_printf(b, ",\"run\":%lld",
                                  (long long)r->dr_run_id)) < 0 ||
        (error = api_put_str(b, "sha", r->dr_sha)) < 0 ||
        (error = api_put_str(b, "digest", r->dr_digest)) < 0 ||
        (error = api_put_str(b, "artifact", r->dr_artifact)) < 0 ||
        (error = api_put_time(b, "since", r->dr_created_ms)) < 0 ||
        (error = api_put_str(b, "source", "deployments")) < 0)
        return error;
    return paved_buf_putc(b, '}');
}

/* One environment of a service (env NULL: pull requests, which deploy
 * nothing: no "deployed", no health). */
static int
api_service_env(struct paved_buf *b, paved_store *st, const char *name,
                const char *repo, const char *env)
{
    struct paved_run *latest = NULL, *ok = NULL;
    struct paved_deploy_rec *stable = NULL;
    char version[256];
    int error = 0;

    if (repo != NULL &&
        (((error = paved_store_run_latest(&latest, st, repo, env, 0)) < 0 &&
          error != PAVED_ENOTFOUND) ||
         (env != NULL &&
          (error = paved_store_run_latest(&ok, st, repo, env, 1)) < 0 &&
          error != PAVED_ENOTFOUND)))
        goto out;
    if ((error = paved_buf_puts(b, "{\"environment\":")) < 0 ||
        (error = env != NULL ? paved_buf_put_json_string(b, env)
                             : paved_buf_puts(b, "null")) < 0 ||
        (error = api_run_brief(b, "latest_run", latest)) < 0)
        goto out;
    if (env == NULL) {
        error = paved_buf_puts(b, ",\"deployed\":null,\"health\":null}");
        goto out;
    }
    if (name != NULL && (stable = api_stable_rec(st, name, env)) != NULL) {
        if ((error = api_deployed_rec(b, stable)) < 0)
            goto out;
    } else if (ok != NULL) {
        api_run_version(version, sizeof(version), ok);
        if ((error = paved_buf_puts(b, ",\"deployed\":{\"version\":")) < 0 ||
            (error = paved_buf_put_json_string(b, version)) < 0 ||
            (error = paved_buf_printf(b, ",\"run\":%lld",
                                      (long long)ok->ru_id)) < 0 ||
            (error = api_put_str(b, "sha", ok->ru_sha)) < 0 ||
            (error = api_put_str(b, "ref", ok->ru_ref)) < 0 ||
            (error = api_put_time(b, "finished_at", ok->ru_finished_ms)) < 0 ||
            (error = api_put_str(b, "source", "runs")) < 0 ||
            (error = paved_buf_putc(b, '}')) < 0)
            goto out;
    } else if ((error = paved_buf_puts(b, ",\"deployed\":null")) < 0) {
        goto out;
    }
    error = paved_buf_printf(b, ",\"health\":\"%s\"}", api_health(latest));
out:
    paved_deploy_rec_free(stable);
    paved_run_free(latest);
    paved_run_free(ok);
    return error;
}

static int
api_service_one(struct paved_buf *body, int *status,
                const struct paved_api_ctx *ctx, const char *raw_name)
{
    static const char *const envs[] = {"staging", "production", NULL};
    struct paved_service *s = NULL;
    char *name;
    size_t i;
    int error;

    if ((name = evhttp_uridecode(raw_name, 0, NULL)) == NULL)
        return api_error(body, status, 500, "out of memory");
    error = paved_store_service_get(&s, ctx->ac_store, name);
    free(name);
    if (error == PAVED_ENOTFOUND)
        return api_error(body, status, 404, paved_error_last());
    if (error < 0)
        return api_error(body, status, 500, paved_error_last());
    if ((error = paved_buf_puts(body, "{\"service\":")) < 0 ||
        (error = api_service_json(
             body, s, api_template_version(ctx->ac_templates_dir))) < 0 ||
        (error = paved_buf_puts(body, ",\"environments\":[")) < 0)
        goto out;
    /* staging, production, then pull requests (no environment) */
    for (i = 0; i < 3; i++)
        if ((i > 0 && (error = paved_buf_putc(body, ',')) < 0) ||
            (error = api_service_env(body, ctx->ac_store, s->sv_name,
                                     s->sv_repo, envs[i])) < 0)
            goto out;
    error = paved_buf_puts(body, "]}\n");
out:
    paved_service_free(s);
    if (error < 0)
        return api_error(body, status, 500, paved_error_last());
    *status = 200;
    return 0;
}

/* ---- platform: counts ---------------------------------------------------*/

struct api_count {
    const char *ac_name;
    long long ac_n;
};

/* Counts name among the first *n entries (the known names are seeded
 * so that they show with 0); a new name takes a slot while there is one. */
static void
api_count(struct api_count *c, size_t *n, size_t cap, const char *name)
{
    size_t i;

    if (name == NULL)
        return;
    for (i = 0; i < *n; i++)
        if (strcmp(c[i].ac_name, name) == 0) {
            c[i].ac_n++;
            return;
        }
    if (*n < cap) {
        c[*n].ac_name = name;
        c[(*n)++].ac_n = 1;
    }
}

static int
api_count_json(struct paved_buf *b, const char *key, const struct api_count *c,
               size_t n)
{
    size_t i;
    int error;

    if ((error = paved_buf_printf(b, ",\"%s\":{", key)) < 0)
        return error;
    for (i = 0; i < n; i++)
        if ((i > 0 && (error = paved_buf_putc(b, ',')) < 0) ||
            (error = paved_buf_put_json_string(b, c[i].ac_name)) < 0 ||
            (error = paved_buf_printf(b, ":%lld", c[i].ac_n)) < 0)
            return error;
    return paved_buf_putc(b, '}');
}

/* The oldest delivery waiting for the platform: one stored and not yet
 * planned, or the oldest queued run, whichever has waited longer. */
static int
api_oldest_queued(struct paved_buf *b, paved_store *st, int64_t now)
{
    struct paved_delivery **dl = NULL;
    struct paved_run **runs = NULL;
    struct paved_run_filter f;
    size_t nd = 0, nr = 0;
    int64_t since;
    int error, use_run;

    memset(&f, 0, sizeof(f));
    f.rf_state = PAVED_RUN_QUEUED;
    f.rf_limit = 1;
    f.rf_oldest_first = 1;
    if ((error = paved_store_delivery_unplanned(&dl, &nd, st, 1, 0)) < 0 ||
        (error = paved_store_run_list(&runs, &nr, st, &f)) < 0)
        goto out;
    if (nd == 0 && nr == 0) {
        error = paved_buf_puts(b, ",\"oldest_queued\":null");
        goto out;
    }
    use_run =
        nd == 0 || (nr > 0 && runs[0]->ru_created_ms < dl[0]->dl_received_ms);
    since = use_run ? runs[0]->ru_created_ms : dl[0]->dl_received_ms;
    if ((error = paved_buf_puts(b, ",\"oldest_queued\":{\"delivery\":")) < 0 ||
        (error = paved_buf_put_json_string(
             b, use_run
                    ? (runs[0]->ru_delivery_id != NULL ? runs[0]->ru_delivery_id
                                                       : "")
                    : dl[0]->dl_id)) < 0)
        goto out;
    if (use_run)
        error = paved_buf_printf(
            b, ",\"run\":%lld,\"repo\":", (long long)runs[0]->ru_id);
    else
        error = paved_buf_puts(b, ",\"run\":null,\"repo\":null");
    if (error < 0 ||
        (use_run &&
         (error = paved_buf_put_json_string(
              b, runs[0]->ru_repo != NULL ? runs[0]->ru_repo : "")) < 0) ||
        (error = api_put_time(b, "queued_at", since)) < 0 ||
        (error = paved_buf_printf(
             b, ",\"age_seconds\":%lld}",
             (long long)(now > since ? (now - since) / 1000 : 0))) < 0)
        goto out;
out:
    paved_delivery_list_free(dl, nd);
    paved_run_list_free(runs, nr);
    return error;
}

/* ---- platform: guardrail exceptions near expiry ------------------------*/

/* The service's policy file at its default branch: from the repository
 * itself when sv_url is on this machine, else from the daemon's mirror of
 * sv_repo (<data_dir>/git/, the path paved_workspace_mirror_path names;
 * fetched refs live under refs/paved/). *out malloc'd, NUL-terminated;
 * PAVED_ENOTFOUND when there is no file (or no repository to read). */
static int
api_policy_blob(char **out, size_t *len, const struct paved_service *s,
                const char *data_dir)
{
    /* a bare repository's HEAD names its default branch; a working
     * tree's HEAD is whatever is checked out, so main and master first */
    static const char *const bare_refs[] = {"HEAD", "refs/heads/main",
                                            "refs/heads/master", NULL};
    static const char *const work_refs[] = {"refs/heads/main",
                                            "refs/heads/master", "HEAD", NULL};
    static const char *const mirror_refs[] = {"refs/paved/heads/main",
                                              "refs/paved/heads/master", NULL};
    const char *const *refs = NULL; /* NULL: by the repository's kind */
    const char *path;
    char *mirror = NULL, dir[4096];
    git_repository *repo = NULL;
    git_object *obj = NULL;
    git_blob *blob = NULL;
    size_t i;
    int error = PAVED_ENOTFOUND;

    *out = NULL;
    *len = 0;
    if (s->sv_url != NULL && s->sv_url[0] == '/') {
        path = s->sv_url;
    } else if (s->sv_url != NULL && strncmp(s->sv_url, "file://", 7) == 0) {
        path = s->sv_url + 7;
    } else if (s->sv_repo != NULL && s->sv_repo[0] != '\0' &&
               data_dir != NULL) {
        snprintf(dir, sizeof(dir), "%s/git", data_dir);
        error = paved_workspace_mirror_path(&mirror, dir, s->sv_repo);
        if (error == PAVED_ENOMEM)
            return error;
        if (error < 0)
            return PAVED_ENOTFOUND; /* no mirror has such a name */
        error = PAVED_ENOTFOUND;
        path = mirror;
        refs = mirror_refs;
    } else {
        return PAVED_ENOTFOUND;
    }
    if (git_repository_open_ext(&repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH,
                                NULL) < 0)
        goto out;
    if (refs == NULL)
        refs = git_repository_is_bare(repo) ? bare_refs : work_refs;
    for (i = 0; refs[i] != NULL && obj == NULL; i++) {
        char spec[128];
        snprintf(spec, sizeof(spec), "%s:.paved/policy.yaml", refs[i]);
        if (git_revparse_single(&obj, repo, spec) < 0)
            obj = NULL;
    }
    if (obj == NULL || git_object_type(obj) != GIT_OBJECT_BLOB)
        goto out;
    blob = (git_blob *)obj;
    if (git_blob_rawsize(blob) > API_POLICY_MAX) {
        error = paved_error_set(PAVED_ETOOBIG, "policy file over %d bytes",
                                API_POLICY_MAX);
        goto out;
    }
    *len = (size_t)git_blob_rawsize(blob);
    if ((*out = malloc(*len + 1)) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(*out, git_blob_rawcontent(blob), *len);
    (*out)[*len] = '\0';
    error = 0;
out:
    git_object_free(obj);
    git_repository_free(repo);
    free(mirror);
    return error;
}

/* Whole days from today to date (both YYYY-MM-DD, UTC). */
static long
api_days_until(const char *date, time_t today)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    if (sscanf(date, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (long)((timegm(&tm) - today) / 86400);
}

/* Appends the policy's exceptions that expire on or before `until`
 * (YYYY-MM-DD) to b, each preceded by a comma when *first is 0. The
 * guardrails read the file, so that what is listed is what `paved check`
 * applies; a policy they cannot take exceptions from lists nothing here
 * (the guardrails step reports it). */
static int
api_policy_exceptions(struct paved_buf *b, int *first, const char *service,
                      const char *data, size_t len, const char *until,
                      time_t today)
{
    struct paved_policy_exception *exc = NULL;
    size_t nexc = 0, i;
    int error;

    if ((error = paved_guard_policy_exceptions(&exc, &nexc, data, len)) < 0)
        return error == PAVED_ENOMEM ? error : 0;
    for (i = 0; i < nexc; i++) {
        const struct paved_policy_exception *x = &exc[i];
        long days;

        if (strcmp(x->px_expires, until) > 0)
            continue;
        days = api_days_until(x->px_expires, today);
        if ((!*first && (error = paved_buf_putc(b, ',')) < 0) ||
            (error = paved_buf_puts(b, "{\"service\":")) < 0 ||
            (error = paved_buf_put_json_string(b, service)) < 0 ||
            (error = api_put_str(b, "rule", x->px_rule)) < 0 ||
            (error = api_put_str(b, "path", x->px_path)) < 0 ||
            (error = api_put_str(b, "expires", x->px_expires)) < 0 ||
            (error = api_put_str(b, "reason", x->px_reason)) < 0 ||
            (error = paved_buf_printf(b, ",\"expired\":%s,\"days_left\":%ld}",
                                      days < 0 ? "true" : "false", days)) < 0)
            goto out;
        *first = 0;
    }
out:
    paved_guard_policy_exceptions_free(exc, nexc);
    return error;
}

static int
api_exceptions(struct paved_buf *b, struct paved_service **list, size_t n,
               const char *data_dir, int64_t now)
{
    struct paved_buf skipped = PAVED_BUF_INIT(1024 * 1024);
    time_t today, until_t;
    struct tm tm;
    char until[48];
    int64_t deadline = api_mono_ms() + API_POLICY_BUDGET_MS;
    size_t i, nskipped = 0;
    int first = 1, error = 0;

    /* midnight UTC today; the window ends API_EXC_WINDOW_DAYS later */
    today = (time_t)(now / 1000);
    gmtime_r(&today, &tm);
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    today = timegm(&tm);
    until_t = today + (time_t)API_EXC_WINDOW_DAYS * 86400;
    gmtime_r(&until_t, &tm);
    snprintf(until, sizeof(until), "%04d-%02d-%02d", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday);
    if ((error = paved_buf_printf(b,
                                  ",\"exceptions_window_days\":%d,"
                                  "\"exceptions\":[",
                                  API_EXC_WINDOW_DAYS)) < 0)
        goto out;
    git_libgit2_init();
    for (i = 0; i < n; i++) {
        char *data = NULL;
        size_t len = 0;
        int e;

        if (api_mono_ms() > deadline) {
            /* bounded: the rest is named, not read */
            if ((nskipped++ > 0 &&
                 (error = paved_buf_putc(&skipped, ',')) < 0) ||
                (error =
                     paved_buf_put_json_string(&skipped, list[i]->sv_name)) < 0)
                break;
            continue;
        }
        e = api_policy_blob(&data, &len, list[i], data_dir);
        if (e == 0)
            error = api_policy_exceptions(b, &first, list[i]->sv_name, data,
                                          len, until, today);
        else if (e == PAVED_ENOMEM)
            error = e;
        free(data);
        if (error < 0)
            break;
    }
    git_libgit2_shutdown();
    if (error < 0 ||
        (error = paved_buf_puts(b, "],\"exceptions_skipped\":[")) < 0 ||
        (skipped.b_len > 0 &&
         (error = paved_buf_put(b, skipped.b_ptr, skipped.b_len)) < 0) ||
        (error = paved_buf_putc(b, ']')) < 0)
        goto out;
out:
    paved_buf_dispose(&skipped);
    return error;
}

static int
api_platform(struct paved_buf *body, int *status,
             const struct paved_api_ctx *ctx)
{
    struct paved_service **list = NULL;
    struct api_count types[16] = {{"api", 0}, {"worker", 0}, {"cron", 0}};
    struct api_count langs[16] = {{"go", 0}, {"python", 0}, {"typescript", 0}};
    size_t n = 0, i, ntypes = 3, nlangs = 3;
    int64_t now = api_now_ms(), since = now - 7LL * 86400 * 1000;
    int64_t runs = 0, failures = 0;
    int error;

    if ((error = paved_store_service_list(&list, &n, ctx->ac_store)) < 0 ||
        (error = paved_store_run_counts(&runs, &failures, ctx->ac_store,
                                        since)) < 0)
        goto out;
    for (i = 0; i < n; i++) {
        api_count(types, &ntypes, 16, list[i]->sv_type);
        api_count(langs, &nlangs, 16, list[i]->sv_lang);
    }
    if ((error = paved_buf_printf(body, "{\"services\":{\"total\":%zu", n)) <
            0 ||
        (error = api_count_json(body, "by_type", types, ntypes)) < 0 ||
        (error = api_count_json(body, "by_lang", langs, nlangs)) < 0 ||
        (error = paved_buf_puts(body, "},\"week\":{\"days\":7")) < 0 ||
        (error = api_put_time(body, "since", since)) < 0 ||
        (error = paved_buf_printf(body, ",\"runs\":%lld,\"failures\":%lld}",
                                  (long long)runs, (long long)failures)) < 0 ||
        (error = api_oldest_queued(body, ctx->ac_store, now)) < 0 ||
        (error = api_exceptions(body, list, n, ctx->ac_data_dir, now)) < 0 ||
        (error = paved_buf_puts(body, "}\n")) < 0)
        goto out;
out:
    paved_service_list_free(list, n);
    if (error < 0)
        return api_error(body, status, 500, paved_error_last());
    *status = 200;
    return 0;
}

/* /api/v1/services[/{name}] */
static int
api_services_route(struct paved_buf *body, int *status,
                   const struct paved_api_ctx *ctx, const char *method,
                   const char *rest)
{
    if (strcmp(method, "GET") != 0)
        return api_error(body, status, 405, "use GET");
    if (rest[0] == '\0' || strcmp(rest, "/") == 0)
        return api_services(body, status, ctx);
    if (strchr(rest + 1, '/') != NULL)
        return api_error(body, status, 404, "no such API path");
    return api_service_one(body, status, ctx, rest + 1);
}

/* ---- the audit log: /api/v1/deployments ------------------------------
 * Every deploy, canary step, smoke result, promotion, rollback and
 * approval, newest first. Reads only: the delivery steps and the CLI
 * write it. */

/* [A-Za-z0-9._-]{1,max}: a service is a catalog name or a repository's
 * basename; env names are [a-z][a-z0-9-]* (docs/delivery.md) */
static int
api_name_ok(const char *s, size_t max, int env)
{
    size_t n = strspn(s, env ? "abcdefghijklmnopqrstuvwxyz0123456789-"
                             : "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "abcdefghijklmnopqrstuvwxyz0123456789._-");

    if (s[n] != '\0' || n == 0 || n > max)
        return 0;
    return !env || (s[0] >= 'a' && s[0] <= 'z');
}

/* dr_detail is JSON text a delivery step wrote; it goes out parsed, as
 * JSON, and as null when it is not (the row stays readable either way) */
static int
api_put_detail(struct paved_buf *b, const char *detail)
{
    json_t *doc;
    char *text;
    int error;

    if (detail == NULL ||
        (doc = json_loads(detail, JSON_DECODE_ANY, NULL)) == NULL)
        return paved_buf_puts(b, ",\"detail\":null");
    text = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(doc);
    if (text == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    if ((error = paved_buf_puts(b, ",\"detail\":")) == 0)
        error = paved_buf_puts(b, text);
    free(text);
    return error;
}

static int
api_deploy_json(struct paved_buf *b, const struct paved_deploy_rec *r)
{
    int error;

    if ((error = paved_buf_printf(b, "{\"id\":%lld", (long long)r->dr_id)) <
            0 ||
        (error = api_put_str(b, "service", r->dr_service)) < 0 ||
        (error = api_put_str(b, "environment", r->dr_env)) < 0 ||
        (error = api_put_str(b, "action", r->dr_action)) < 0 ||
        (error = api_put_str(b, "result", r->dr_result)) < 0 ||
        (error = api_put_str(b, "version", r->dr_version)) < 0 ||
        (error = api_put_str(b, "sha", r->dr_sha)) < 0 ||
        (error = api_put_str(b, "repo", r->dr_repo)) < 0 ||
        (error = api_put_str(b, "artifact", r->dr_artifact)) < 0 ||
        (error = api_put_str(b, "digest", r->dr_digest)) < 0 ||
        (error = api_put_str(b, "actor", r->dr_actor)) < 0 ||
        (error = api_put_str(b, "reason", r->dr_reason)) < 0 ||
        (error = api_put_detail(b, r->dr_detail)) < 0)
        return error;
    if (r->dr_run_id > 0)
        error =
            paved_buf_printf(b, ",\"run_id\":%lld", (long long)r->dr_run_id);
    else
        error = paved_buf_puts(b, ",\"run_id\":null");
    if (error < 0 ||
        (error = api_put_time(b, "created_at", r->dr_created_ms)) < 0)
        return error;
    return paved_buf_putc(b, '}');
}

/* GET /api/v1/deployments?service=S&env=E&action=A&limit=N&before=ID */
static int
api_deployments(struct paved_buf *body, int *status, paved_store *st,
                const char *query)
{
    static const char *const actions[] = {
        "deploy", "canary", "smoke", "promote", "rollback", "approve", NULL};
    struct evkeyvalq params;
    struct paved_deploy_filter f;
    struct paved_deploy_rec **list = NULL;
    const char *v;
    long long limit = API_DEFAULT_LIMIT, before = 0;
    size_t n = 0, i, shown;
    int error = 0, more;

    memset(&f, 0, sizeof(f));
    TAILQ_INIT(&params);
    if (query != NULL && evhttp_parse_query_str(query, &params) < 0)
        return api_error(body, status, 400, "malformed query string");
    if ((v = evhttp_find_header(&params, "limit")) != NULL &&
        api_parse_count(&limit, v, 1, API_MAX_LIMIT) < 0) {
        error = api_error(body, status, 400,
                          "limit must be a number from 1 to 1000");
        goto done;
    }
    if ((v = evhttp_find_header(&params, "before")) != NULL &&
        api_parse_count(&before, v, 1, INT64_MAX) < 0) {
        error = api_error(body, status, 400,
                          "before must be a deployment id (a positive "
                          "number)");
        goto done;
    }
    if ((v = evhttp_find_header(&params, "service")) != NULL &&
        !api_name_ok(v, 100, 0)) {
        error = api_error(body, status, 400,
                          "service must be a service name: letters, digits, "
                          "'.', '_' and '-'");
        goto done;
    }
    f.df_service = v;
    if ((v = evhttp_find_header(&params, "env")) != NULL &&
        !api_name_ok(v, 63, 1)) {
        error = api_error(body, status, 400,
                          "env must be an environment name: [a-z][a-z0-9-]*");
        goto done;
    }
    f.df_env = v;
    if ((v = evhttp_find_header(&params, "action")) != NULL) {
        for (i = 0; actions[i] != NULL && strcmp(v, actions[i]) != 0; i++)
            ;
        if (actions[i] == NULL) {
            error = api_error(body, status, 400,
                              "action must be one of deploy canary smoke "
                              "promote rollback approve");
            goto done;
        }
    }
    f.df_action = v;
    f.df_before_id = before;
    /* one more than asked says whether there is a next page; the store
     * gives at most API_MAX_LIMIT, so a full page of that many always
     * offers one */
    f.df_limit = (size_t)limit + (limit < API_MAX_LIMIT);
    if ((error = paved_store_deploy_list(&list, &n, st, &f)) < 0) {
        error = api_error(body, status, 500, paved_error_last());
        goto done;
    }
    more = n > (size_t)limit || n == API_MAX_LIMIT;
    shown = n > (size_t)limit ? (size_t)limit : n;
    if ((error = paved_buf_puts(body, "{\"deployments\":[")) < 0)
        goto out;
    for (i = 0; i < shown; i++)
        if ((i > 0 && (error = paved_buf_putc(body, ',')) < 0) ||
            (error = api_deploy_json(body, list[i])) < 0)
            goto out;
    if (more && shown > 0)
        error = paved_buf_printf(body, "],\"next_before\":%lld}\n",
                                 (long long)list[shown - 1]->dr_id);
    else
        error = paved_buf_puts(body, "],\"next_before\":null}\n");
out:
    if (error < 0)
        error = api_error(body, status, 500, paved_error_last());
    else
        *status = 200;
done:
    paved_deploy_list_free(list, n);
    evhttp_clear_headers(&params);
    return error;
}

int
paved_api_handle(struct paved_buf *body, int *status, const char **ctype,
                 const struct paved_api_ctx *ctx, const char *method,
                 const char *path, const char *query)
{
    static const char deliveries[] = "/api/v1/deliveries";
    static const char runs[] = "/api/v1/runs";
    size_t dl = sizeof(deliveries) - 1, rl = sizeof(runs) - 1;

    *ctype = "application/json";
    if (strncmp(path, "/api/", 5) != 0)
        return PAVED_ENOTFOUND;
    if (strncmp(path, deliveries, dl) == 0 &&
        (path[dl] == '\0' || path[dl] == '/')) {
        if (strcmp(method, "GET") != 0)
            return api_error(body, status, 405, "use GET");
        if (path[dl] == '\0' || path[dl + 1] == '\0')
            return api_deliveries(body, status, ctx->ac_store, query);
        if (strchr(path + dl + 1, '/') != NULL)
            return api_error(body, status, 404, "no such API path");
        return api_delivery_one(body, status, ctx->ac_store, path + dl + 1);
    }
    if (strncmp(path, runs, rl) == 0 && (path[rl] == '\0' || path[rl] == '/'))
        return api_runs_route(body, status, ctype, ctx, method, path + rl,
                              query);
    if (strncmp(path, "/api/v1/outbox", 14) == 0 &&
        (path[14] == '\0' || path[14] == '/'))
        return api_outbox_route(body, status, ctx, method, path + 14, query);
    if (strncmp(path, "/api/v1/services", 16) == 0 &&
        (path[16] == '\0' || path[16] == '/'))
        return api_services_route(body, status, ctx, method, path + 16);
    if (strcmp(path, "/api/v1/deployments") == 0 ||
        strcmp(path, "/api/v1/deployments/") == 0) {
        if (strcmp(method, "GET") != 0)
            return api_error(body, status, 405, "use GET");
        return api_deployments(body, status, ctx->ac_store, query);
    }
    if (strcmp(path, "/api/v1/platform") == 0) {
        if (strcmp(method, "GET") != 0)
            return api_error(body, status, 405, "use GET");
        return api_platform(body, status, ctx);
    }
    return api_error(body, status, 404, "no such API path");
}
