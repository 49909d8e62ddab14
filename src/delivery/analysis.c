/* Canary analysis, the part that talks to Prometheus: one instant query
 * over HTTP (libcurl easy, BLOCKING, bounded by the analysis timeout), and
 * the whole step: sample count, every check, the stable version's values
 * for compare: stable, then the pure judge and decision of
 * analysis_eval.c. Runs on the pool or in the CLI, never on the event
 * loop. Never builds PromQL from text other than the environment's
 * queries with checked values filled in. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "paved/analysis.h"
#include "paved/error.h"

int
paved_analysis_query(struct paved_analysis_answer *out, const char *base,
                     const char *query, unsigned timeout)
{
    struct paved_buf body = PAVED_BUF_INIT(PAVED_ANALYSIS_MAX_ANSWER);
    struct paved_buf url = PAVED_BUF_INIT(PAVED_ENV_MAX_TEXT + 64);
    struct paved_buf form = PAVED_BUF_INIT(PAVED_ENV_MAX_TEXT * 16);
    struct curl_slist *hdrs = NULL;
    char *esc = NULL, errbuf[CURL_ERROR_SIZE];
    size_t blen = strlen(base);
    long status = 0;
    CURL *c = NULL;
    CURLcode rc;
    int error;

    memset(out, 0, sizeof(*out));
    out->aa_kind = PAVED_ANSWER_ERROR;
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    if ((error = paved_buf_put(&url, base, blen)) < 0 ||
        (error = paved_buf_puts(&url, "/api/v1/query")) < 0)
        goto out;
    if ((c = curl_easy_init()) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "curl_easy_init failed");
        goto out;
    }
    /* POST, form-encoded: a long query never meets a URL length limit,
     * and curl escapes every byte of it */
    if ((esc = curl_easy_escape(c, query, 0)) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "curl_easy_escape failed");
        goto out;
    }
    if ((error = paved_buf_printf(&form, "query=%s&timeout=%us", esc,
                                  timeout > 0 ? timeout : 10)) < 0)
        goto out;
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    errbuf[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url.b_ptr);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, form.b_ptr);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)form.b_len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, paved_buf_write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)(timeout > 0 ? timeout : 10));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        /* curl's message names the host; the URL itself is not shown,
         * it may carry credentials */
        snprintf(out->aa_error, sizeof(out->aa_error), "Prometheus: %.200s",
                 errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    /* Prometheus answers 400, 422 and 503 with a JSON error body: read it
     * for errorType and error; anything else is reported by status */
    if (paved_analysis_parse(out, body.b_ptr != NULL ? body.b_ptr : "",
                             body.b_len) < 0) {
        snprintf(out->aa_error, sizeof(out->aa_error),
                 "Prometheus: HTTP %ld, not a query answer", status);
        out->aa_kind = PAVED_ANSWER_ERROR;
    }
    paved_error_clear();
out:
    curl_slist_free_all(hdrs);
    curl_free(esc);
    if (c != NULL)
        curl_easy_cleanup(c);
    paved_buf_dispose(&body);
    paved_buf_dispose(&url);
    paved_buf_dispose(&form);
    return error == PAVED_ENOMEM ? error : 0;
}

static char *
analysis_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);

    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

int
paved_analysis_run(struct paved_analysis_verdict **out,
                   const struct paved_env_analysis *an,
                   const struct paved_analysis_params *p)
{
    struct paved_analysis_verdict *v = NULL;
    struct paved_analysis_answer ans, st, samples;
    char why[400], n1[32];
    bool samples_ok = true;
    size_t i;
    int error;

    *out = NULL;
    /* refuse before anything is sent */
    if ((error = paved_analysis_check_value("service", p->ap_service)) < 0 ||
        (error = paved_analysis_check_value("environment", p->ap_environment)) <
            0 ||
        (error = paved_analysis_check_value("version", p->ap_version)) < 0 ||
        (p->ap_stable != NULL && (error = paved_analysis_check_value(
                                      "stable version", p->ap_stable)) < 0))
        return error;
    if ((v = calloc(1, sizeof(*v))) == NULL ||
        (an->an_nqueries > 0 &&
         (v->av_checks = calloc(an->an_nqueries, sizeof(*v->av_checks))) ==
             NULL)) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    v->av_min_samples = an->an_min_samples;
    why[0] = '\0';

    if (an->an_min_samples > 0 && an->an_sample_query != NULL) {
        if ((error =
                 paved_analysis_fill(&v->av_sample_query, an->an_sample_query,
                                     p, p->ap_version)) < 0)
            goto out;
        if ((error = paved_analysis_query(&samples, an->an_prometheus,
                                          v->av_sample_query, an->an_timeout)) <
            0)
            goto out;
        if (samples.aa_kind == PAVED_ANSWER_VALUE && !isnan(samples.aa_value)) {
            v->av_has_samples = true;
            v->av_samples = samples.aa_value;
        } else if (samples.aa_kind == PAVED_ANSWER_EMPTY ||
                   samples.aa_kind == PAVED_ANSWER_VALUE) {
            /* no series at all: the version served nothing we saw */
            v->av_has_samples = true;
            v->av_samples = 0;
        }
        if (!v->av_has_samples) {
            samples_ok = false;
            snprintf(why, sizeof(why), "sample count unknown: %s",
                     samples.aa_kind == PAVED_ANSWER_MANY
                         ? "sample_query returned several series"
                         : samples.aa_error);
        } else if (!(v->av_samples >= (double)an->an_min_samples)) {
            samples_ok = false;
            snprintf(n1, sizeof(n1), "%.6g", v->av_samples);
            snprintf(why, sizeof(why), "%s samples, fewer than min_samples %u",
                     n1, an->an_min_samples);
        }
    }

    for (i = 0; i < an->an_nqueries; i++) {
        const struct paved_env_query *q = &an->an_queries[i];
        struct paved_analysis_check *ck = &v->av_checks[i];
        bool cmp = q->q_compare_stable && p->ap_stable != NULL;

        v->av_nchecks = i + 1;
        if ((ck->ck_name = analysis_strdup(q->q_name)) == NULL) {
            error = paved_error_set(PAVED_ENOMEM, "out of memory");
            goto out;
        }
        if ((error = paved_analysis_fill(&ck->ck_query, q->q_query, p,
                                         p->ap_version)) < 0 ||
            (cmp &&
             (error = paved_analysis_fill(&ck->ck_stable_query, q->q_query, p,
                                          p->ap_stable)) < 0))
            goto out;
        if ((error = paved_analysis_query(&ans, an->an_prometheus, ck->ck_query,
                                          an->an_timeout)) < 0)
            goto out;
        if (cmp && (error = paved_analysis_query(&st, an->an_prometheus,
                                                 ck->ck_stable_query,
                                                 an->an_timeout)) < 0)
            goto out;
        if ((error = paved_analysis_judge(ck, q, &ans, cmp ? &st : NULL,
                                          p->ap_stable != NULL, samples_ok,
                                          why)) < 0)
            goto out;
    }
    if ((error = paved_analysis_decide(v, p->ap_failures_before,
                                       an->an_failures_to_abort)) < 0)
        goto out;
    *out = v;
    v = NULL;
out:
    paved_analysis_verdict_free(v);
    return error;
}
