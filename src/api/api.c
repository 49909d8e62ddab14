/* REST API read side: store rows to JSON. Transport, auth and metrics are
 * the server's; this file only answers "what does this path show". */
#include <errno.h>
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

#include "paved/api.h"
#include "paved/error.h"
#include "paved/reporter.h"
#include "paved/sched.h"

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
    return api_error(body, status, 404, "no such API path");
}
