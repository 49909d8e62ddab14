#ifndef PAVED_API_H
#define PAVED_API_H
/* The REST API as a function of (method, path, query): the server does
 * transport and auth, this module turns the store's contents (and run
 * logs) into JSON and hands cancel to the scheduler. Holds no state and no
 * business logic. */
#include "paved/buf.h"
#include "paved/store.h"

struct paved_sched;

/* What a request may reach. sched may be NULL (then cancel answers 503). */
struct paved_api_ctx {
    paved_store *ac_store;
    struct paved_sched *ac_sched;
    const char *ac_data_dir; /* run logs live in <data_dir>/runs/<id>/ */
    struct paved_reporter *ac_reporter; /* may be NULL */
    const char *ac_templates_dir;       /* <dir>/VERSION: the current template
                                           version; NULL: unknown */
};

/* Fills body and sets *status (200, 202, 400, 404, 405, 409, 500, 503) and
 * *ctype ("application/json", or "text/plain; charset=utf-8" for logs).
 * Returns 0 when the path is an API path, PAVED_ENOTFOUND otherwise.
 * POST /api/v1/deliveries/{id}/replay is asynchronous and is the
 * server's (it waits for the plan to commit). */
int paved_api_handle(struct paved_buf *body, int *status, const char **ctype,
                     const struct paved_api_ctx *ctx, const char *method,
                     const char *path, const char *query);
/* One run as JSON (with_steps: its "steps" array too). */
int paved_api_run_json(struct paved_buf *b, const struct paved_run *r,
                       int with_steps);
/* RFC 3339 UTC with milliseconds into out (at least 32 bytes). */
void paved_api_format_time(char *out, size_t len, long long unix_ms);

#endif
