#ifndef PAVED_SMOKE_H
#define PAVED_SMOKE_H
/* Smoke checks: run an environment's HTTP checks (the `smoke` list of
 * paved_env_smoke, docs/delivery.md "Smoke checks") and judge each one:
 * expected status, body text, per-attempt timeout, retries with a short
 * backoff. Results render as a Markdown table for a check run's output.
 *
 * BLOCKING: paved_smoke_run() performs the requests with libcurl easy
 * handles and sleeps between attempts, for up to
 * sum((1 + retries) * timeout + backoff) per environment. It runs on the
 * worker pool, never on the event loop. The caller has called
 * curl_global_init() once (the daemon and the CLI do at start).
 *
 * Never follows redirects (a 3xx is the status that is judged), never
 * speaks anything but http and https, never keeps more than
 * so_body_max bytes of a body, and never deploys or rolls back: it only
 * says what it saw. */
#include <stdbool.h>
#include <stddef.h>

#include "paved/buf.h"
#include "paved/environment.h" /* struct paved_env_smoke */

#define PAVED_SMOKE_BODY_MAX (1u << 20)  /* bytes of a body searched: 1 MiB */
#define PAVED_SMOKE_BACKOFF_MS 500u      /* before the second attempt */
#define PAVED_SMOKE_BACKOFF_MAX_MS 5000u /* doubled each time up to this */
#define PAVED_SMOKE_TIMEOUT 5u /* seconds, when a check's sm_timeout is 0 */

/* A {{name}} in a check's URL and its value. The value is percent-encoded
 * where it lands (every byte but A-Z a-z 0-9 - . _ ~), so it can never
 * change the URL's host or path structure. */
struct paved_smoke_var {
    const char *sv_name;  /* "service", "environment", "version" */
    const char *sv_value; /* NULL: no value (the check fails, not run) */
};

struct paved_smoke_opts {
    /* wait before the second attempt, doubled after each further one and
     * capped at PAVED_SMOKE_BACKOFF_MAX_MS; 0 = PAVED_SMOKE_BACKOFF_MS */
    unsigned so_backoff_ms;
    size_t so_body_max; /* 0 = PAVED_SMOKE_BODY_MAX */
};

/* The outcome of one check. */
struct paved_smoke_result {
    char *sr_name;               /* the check's name */
    bool sr_pass;                /* passed on some attempt */
    unsigned sr_attempts;        /* made; 0 when the URL could not be filled */
    long sr_status;              /* HTTP status of the last attempt; 0 none */
    unsigned long sr_elapsed_ms; /* first attempt to verdict, with backoff */
    /* one line: "ok", "ok after 3 attempts", "expected 200, got 503 after
     * 3 attempts", "body does not contain \"ok\"", "connection refused",
     * "timed out after 5s (3 attempts)" (docs/delivery.md lists them) */
    char *sr_message;
};

struct paved_smoke_report {
    struct paved_smoke_result *rp_results; /* in the checks' order */
    size_t rp_n;
    bool rp_pass; /* every check passed (also when there are none) */
};

/* Runs checks[0..n) one after the other, each up to 1 + sm_retries times
 * (stopping at the first pass), and fills *out (dispose it). opts may be
 * NULL. A failing check is a verdict, not an error: the return is 0
 * whenever every check was judged; PAVED_ENOMEM or PAVED_ERROR (libcurl
 * could not be set up) otherwise, with *out empty. */
int paved_smoke_run(struct paved_smoke_report *out,
                    const struct paved_env_smoke *checks, size_t n,
                    const struct paved_smoke_var *vars, size_t nvars,
                    const struct paved_smoke_opts *opts);
void paved_smoke_report_dispose(struct paved_smoke_report *r); /* NULL ok */

/* url with every {{name}} replaced by its percent-encoded value, into a
 * new string *out (free() it). PAVED_EINVAL "no value for {{name}}" when a
 * name is not in vars or its value is NULL, or "{{" is not closed;
 * PAVED_ENOMEM. */
int paved_smoke_fill_url(char **out, const char *url,
                         const struct paved_smoke_var *vars, size_t nvars);

/* Appends a summary line and a Markdown table (check, result, attempts,
 * status, time, message) to out: plain Markdown, no HTML; names and
 * messages have Markdown's special characters backslash-escaped and
 * control characters replaced by spaces, so a row stays one row.
 * PAVED_ENOMEM, PAVED_ETOOBIG (out's cap). */
int paved_smoke_markdown(struct paved_buf *out,
                         const struct paved_smoke_report *r);

#endif
