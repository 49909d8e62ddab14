#ifndef PAVED_ANALYSIS_H
#define PAVED_ANALYSIS_H
/* Canary analysis: judge one canary step against Prometheus. Fills the
 * {{placeholders}} of an environment's analysis queries, asks
 * Prometheus's instant-query API, reads the answer, evaluates each check
 * (max/min, compare with the stable version, min_samples) and decides
 * whether the rollout continues or aborts; renders the verdict as
 * Markdown (the check run's output) and JSON. paved_analysis_run() and
 * paved_analysis_query() BLOCK on the network (libcurl easy, bounded by
 * the analysis timeout): call them from the pool or the CLI, never on the
 * event loop. Everything else is pure. This module never deploys, shifts
 * traffic or rolls back: the canary step acts on the decision. Users'
 * reference: docs/delivery.md#canary-analysis. */
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "paved/buf.h"
#include "paved/environment.h"

/* A value filled into a query: at most this many bytes. */
#define PAVED_ANALYSIS_MAX_VALUE 253
/* Bytes of a Prometheus answer we read. */
#define PAVED_ANALYSIS_MAX_ANSWER (1024 * 1024)

/* What one step is judged for. Values go inside PromQL string labels:
 * the caller validates them as service names / versions, and
 * paved_analysis_fill() refuses anything that could end the label. */
struct paved_analysis_params {
    const char *ap_service;
    const char *ap_environment;
    const char *ap_version;      /* the canary being judged */
    const char *ap_stable;       /* the stable version, or NULL (first deploy:
                                    compare: stable is skipped, said so) */
    unsigned ap_interval;        /* seconds, as {{interval}} ("30s") */
    unsigned ap_failures_before; /* failed checks of earlier steps of the
                                    same rollout: failures_to_abort counts
                                    over the whole rollout */
};

/* ---- placeholders ------------------------------------------------------ */

/* PAVED_EINVAL when v is empty, longer than PAVED_ANALYSIS_MAX_VALUE, or
 * holds a byte that could break out of a PromQL string label ("'`\ and
 * control characters, DEL). */
int paved_analysis_check_value(const char *what, const char *v);
/* Replaces {{service}}, {{environment}}, {{version}} (with version) and
 * {{interval}} in tmpl; single braces are PromQL's and stay. Every value
 * is checked first. PAVED_EINVAL: an unknown or unclosed placeholder, a
 * refused value, a result over PAVED_ENV_MAX_TEXT * 4. *out: free(). */
int paved_analysis_fill(char **out, const char *tmpl,
                        const struct paved_analysis_params *p,
                        const char *version);

/* ---- one Prometheus answer --------------------------------------------- */

enum paved_analysis_answer_kind {
    PAVED_ANSWER_VALUE = 0, /* one number (may be NaN or +-Inf) */
    PAVED_ANSWER_EMPTY,     /* an empty vector: no series matched */
    PAVED_ANSWER_MANY,      /* a vector of more than one series */
    PAVED_ANSWER_ERROR      /* status "error", or no usable answer */
};

struct paved_analysis_answer {
    enum paved_analysis_answer_kind aa_kind;
    double aa_value;    /* PAVED_ANSWER_VALUE */
    size_t aa_nseries;  /* series in a vector answer */
    char aa_error[256]; /* PAVED_ANSWER_ERROR: "errorType: error" */
};

/* Reads /api/v1/query's JSON: a vector (0, 1 or several series) or a
 * scalar; values are strings as Prometheus writes them, "NaN", "+Inf" and
 * "-Inf" included. A status "error" answer is a successful parse with
 * PAVED_ANSWER_ERROR. PAVED_EINVAL (and aa_kind ERROR with the reason)
 * when the text is not such an answer. */
int paved_analysis_parse(struct paved_analysis_answer *out, const char *json,
                         size_t len);

/* BLOCKS. POSTs query to BASE/api/v1/query (instant query, now) within
 * timeout seconds and parses the answer. Transport problems and non-JSON
 * answers come back as 0 with aa_kind ERROR and the reason: a check that
 * cannot be measured is judged, not a crash of the step. PAVED_ENOMEM. */
int paved_analysis_query(struct paved_analysis_answer *out, const char *base,
                         const char *query, unsigned timeout);

/* ---- verdict ----------------------------------------------------------- */

enum paved_analysis_result {
    PAVED_CHECK_PASS = 0,
    PAVED_CHECK_FAIL,
    PAVED_CHECK_NODATA, /* too few samples, or no value: not a pass */
    PAVED_CHECK_ERROR   /* Prometheus could not answer: not a pass */
};

enum paved_analysis_decision {
    PAVED_ANALYSIS_CONTINUE = 0,
    PAVED_ANALYSIS_ABORT
};

struct paved_analysis_check {
    char *ck_name;
    char *ck_query;        /* as sent, or NULL when it could not be filled */
    char *ck_stable_query; /* compare: stable with a stable version */
    bool ck_has_value;
    double ck_value;
    bool ck_has_stable;
    double ck_stable;
    char *ck_threshold; /* "<= 0.01", ">= 0.9", "<= stable +20%" joined */
    enum paved_analysis_result ck_result;
    char *ck_reason; /* one line */
};

struct paved_analysis_verdict {
    struct paved_analysis_check *av_checks;
    size_t av_nchecks;
    char *av_sample_query; /* as sent, or NULL without min_samples */
    bool av_has_samples;
    double av_samples;
    unsigned av_min_samples;
    unsigned av_failures;       /* not-pass checks of this step */
    unsigned av_failures_total; /* with ap_failures_before */
    unsigned av_failures_to_abort;
    enum paved_analysis_decision av_decision;
    char *av_reason; /* one line */
};

/* The pure evaluator: one check from the answers. stable is NULL when the
 * query has no compare: stable or there is no stable version. samples_ok
 * false: the step is below min_samples (ck_result NODATA whatever the
 * value), with why in samples_why. Fills ck_has_value .. ck_reason (the
 * caller sets name and queries). PAVED_ENOMEM. */
int paved_analysis_judge(struct paved_analysis_check *ck,
                         const struct paved_env_query *q,
                         const struct paved_analysis_answer *canary,
                         const struct paved_analysis_answer *stable,
                         bool has_stable_version, bool samples_ok,
                         const char *samples_why);
/* Counts not-pass checks (fail, no data and error alike) into
 * av_failures / av_failures_total and sets av_decision and av_reason:
 * abort when the total reaches failures_to_abort. PAVED_ENOMEM. */
int paved_analysis_decide(struct paved_analysis_verdict *v,
                          unsigned failures_before, unsigned failures_to_abort);

/* BLOCKS (see the top): the whole step. PAVED_EINVAL when a parameter
 * value is refused (nothing was sent); Prometheus problems are verdicts,
 * not errors. *out: paved_analysis_verdict_free(). */
int paved_analysis_run(struct paved_analysis_verdict **out,
                       const struct paved_env_analysis *an,
                       const struct paved_analysis_params *p);
void paved_analysis_verdict_free(struct paved_analysis_verdict *v);

/* "pass", "fail", "no data", "error"; "continue", "abort". */
const char *paved_analysis_result_name(enum paved_analysis_result r);
const char *paved_analysis_decision_name(enum paved_analysis_decision d);
/* Appends the verdict as Markdown for a check run's output: the decision,
 * a table of the checks, the queries as sent. PAVED_ETOOBIG/ENOMEM. */
int paved_analysis_markdown(struct paved_buf *b,
                            const struct paved_analysis_verdict *v);
/* The verdict as a JSON object (new reference), NULL without memory.
 * Values that are not finite are strings ("NaN", "+Inf"). */
json_t *paved_analysis_json(const struct paved_analysis_verdict *v);

#endif
