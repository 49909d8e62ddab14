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

#include "paved/api.h"
#include "paved/error.h"

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
        (error =
             paved_buf_printf(b, ",\"received_at\":\"%s\",\"normalized\":%s",
                              when, d->dl_event_json)) < 0)
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

int
paved_api_handle(struct paved_buf *body, int *status, paved_store *st,
                 const char *method, const char *path, const char *query)
{
    static const char deliveries[] = "/api/v1/deliveries";
    size_t dl = sizeof(deliveries) - 1;

    if (strncmp(path, "/api/", 5) != 0)
        return PAVED_ENOTFOUND;
    if (strncmp(path, deliveries, dl) == 0 &&
        (path[dl] == '\0' || path[dl] == '/')) {
        if (strcmp(method, "GET") != 0)
            return api_error(body, status, 405, "use GET");
        if (path[dl] == '\0' || path[dl + 1] == '\0')
            return api_deliveries(body, status, st, query);
        if (strchr(path + dl + 1, '/') != NULL)
            return api_error(body, status, 404, "no such API path");
        return api_delivery_one(body, status, st, path + dl + 1);
    }
    return api_error(body, status, 404, "no such API path");
}
