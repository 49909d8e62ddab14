#ifndef PAVED_REPORTER_H
#define PAVED_REPORTER_H
/* The reporter: drains the store's outbox to the forges with the libcurl
 * multi interface driven by the event loop (no thread blocked per
 * request). Per row: send its current state; a network error, 5xx or a
 * rate limit is retried with exponential backoff and jitter (never sooner
 * than the forge asked: Retry-After, X-RateLimit-Reset, a minute after a
 * secondary limit, for every row of that forge); a 4xx that retrying
 * cannot fix marks the row `failed` with the forge's message. Content-
 * creating requests are paced under GitHub's 80 a minute per token. It
 * never drops a row: a forge that is down only delays it. */
#include <stdbool.h>

#include "paved/config.h"
#include "paved/log.h"
#include "paved/metrics.h"
#include "paved/store.h"

struct event_base;
typedef struct paved_reporter paved_reporter;

struct paved_reporter_deps {
    struct event_base *rd_base;
    const struct paved_config *rd_config;
    paved_store *rd_store;
    paved_log *rd_log;
    paved_metrics *rd_metrics; /* may be NULL */
};

/* curl_global_init() must have run (once, in main). */
int paved_reporter_new(paved_reporter **out,
                       const struct paved_reporter_deps *deps);
/* Rows were committed: look for due ones now (coalesced). */
void paved_reporter_kick(paved_reporter *rp);
/* Requests in flight. */
size_t paved_reporter_inflight(const paved_reporter *rp);
/* Abandons requests in flight (their rows stay pending: sent again at the
 * next start). NULL is a no-op. */
void paved_reporter_free(paved_reporter *rp);

/* Does the configuration say where and how to report for this forge
 * ("github", "gitea", "gitlab")? Without it no outbox row is written. */
bool paved_reporter_configured(const struct paved_config *cf,
                               const char *forge);
/* Are this forge's rows sent as check runs (GitHub, paved configured as a
 * GitHub App), so that a row's summary, text and annotations are shown? */
bool paved_reporter_checks(const struct paved_config *cf, const char *forge);

#endif
