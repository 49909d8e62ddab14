/* Canary analysis, the pure part: placeholder filling with refusal of
 * values that could leave a PromQL string label, reading Prometheus's
 * instant-query answer, judging one check, the step's decision, and the
 * verdict as Markdown and JSON. Never touches the network, a file or a
 * clock: analysis.c asks Prometheus and hands the answers here. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "paved/analysis.h"
#include "paved/error.h"

/* ---- placeholders ------------------------------------------------------ */

int
paved_analysis_check_value(const char *what, const char *v)
{
    const unsigned char *p;
    size_t len;

    if (v == NULL || v[0] == '\0')
        return paved_error_set(PAVED_EINVAL, "analysis: %s is empty", what);
    len = strlen(v);
    if (len > PAVED_ANALYSIS_MAX_VALUE)
        return paved_error_set(PAVED_EINVAL,
                               "analysis: %s is longer than %d bytes", what,
                               PAVED_ANALYSIS_MAX_VALUE);
    /* the value lands between double quotes of a PromQL label matcher:
     * a quote or a backslash would end or escape it, a newline or any
     * control byte has no business in a name; non-ASCII is refused too,
     * since names and versions are ASCII and PromQL would reject bad
     * UTF-8 anyway */
    for (p = (const unsigned char *)v; *p != '\0'; p++)
        if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\'' || *p == '`' ||
            *p == '\\')
            return paved_error_set(PAVED_EINVAL,
                                   "analysis: %s holds a character that "
                                   "cannot go into a PromQL label (byte "
                                   "0x%02x at %zu)",
                                   what, *p,
                                   (size_t)(p - (const unsigned char *)v));
    return 0;
}

int
paved_analysis_fill(char **out, const char *tmpl,
                    const struct paved_analysis_params *p, const char *version)
{
    struct paved_buf b = PAVED_BUF_INIT(PAVED_ENV_MAX_TEXT * 4);
    const char *s = tmpl, *open, *close, *val;
    char interval[32];
    size_t nlen;
    int error;

    *out = NULL;
    if ((error = paved_analysis_check_value("service", p->ap_service)) < 0 ||
        (error = paved_analysis_check_value("environment", p->ap_environment)) <
            0 ||
        (error = paved_analysis_check_value("version", version)) < 0)
        return error;
    if (p->ap_interval == 0)
        return paved_error_set(PAVED_EINVAL, "analysis: interval is 0");
    snprintf(interval, sizeof(interval), "%us", p->ap_interval);

    while ((open = strstr(s, "{{")) != NULL) {
        if ((error = paved_buf_put(&b, s, (size_t)(open - s))) < 0)
            goto out;
        if ((close = strstr(open + 2, "}}")) == NULL) {
            error =
                paved_error_set(PAVED_EINVAL, "analysis: \"{{\" is not closed");
            goto out;
        }
        nlen = (size_t)(close - open - 2);
        if (nlen == 7 && memcmp(open + 2, "service", 7) == 0)
            val = p->ap_service;
        else if (nlen == 11 && memcmp(open + 2, "environment", 11) == 0)
            val = p->ap_environment;
        else if (nlen == 7 && memcmp(open + 2, "version", 7) == 0)
            val = version;
        else if (nlen == 8 && memcmp(open + 2, "interval", 8) == 0)
            val = interval;
        else {
            error = paved_error_set(PAVED_EINVAL,
                                    "analysis: unknown placeholder at "
                                    "byte %zu",
                                    (size_t)(open - tmpl));
            goto out;
        }
        if ((error = paved_buf_puts(&b, val)) < 0)
            goto out;
        s = close + 2;
    }
    if ((error = paved_buf_puts(&b, s)) < 0)
        goto out;
    *out = paved_buf_detach(&b, NULL);
out:
    if (error == PAVED_ETOOBIG)
        error = paved_error_set(PAVED_EINVAL,
                                "analysis: the filled query is too long");
    paved_buf_dispose(&b);
    return error;
}

/* ---- one Prometheus answer --------------------------------------------- */

static int
answer_bad(struct paved_analysis_answer *out, const char *why)
{
    out->aa_kind = PAVED_ANSWER_ERROR;
    snprintf(out->aa_error, sizeof(out->aa_error), "%s", why);
    return paved_error_set(PAVED_EINVAL, "analysis: %s", why);
}

/* A [time, "value"] pair: Prometheus writes the value as a string so
 * that NaN and the infinities survive JSON. */
static int
answer_sample(struct paved_analysis_answer *out, json_t *pair)
{
    const char *s;
    char *end;
    double d;

    if (!json_is_array(pair) || json_array_size(pair) != 2 ||
        !json_is_string(json_array_get(pair, 1)))
        return answer_bad(out, "a sample is not [time, \"value\"]");
    s = json_string_value(json_array_get(pair, 1));
    if (strcmp(s, "NaN") == 0)
        d = NAN;
    else if (strcmp(s, "+Inf") == 0 || strcmp(s, "Inf") == 0)
        d = INFINITY;
    else if (strcmp(s, "-Inf") == 0)
        d = -INFINITY;
    else {
        d = strtod(s, &end);
        if (end == s || *end != '\0')
            return answer_bad(out, "a sample value is not a number");
    }
    out->aa_kind = PAVED_ANSWER_VALUE;
    out->aa_value = d;
    return 0;
}

int
paved_analysis_parse(struct paved_analysis_answer *out, const char *json,
                     size_t len)
{
    json_t *root, *data, *result;
    const char *status, *type;
    json_error_t jerr;
    int error = 0;

    memset(out, 0, sizeof(*out));
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return answer_bad(out, "the answer is not JSON");
    status = json_string_value(json_object_get(root, "status"));
    if (status == NULL) {
        error = answer_bad(out, "the answer has no status");
        goto out;
    }
    if (strcmp(status, "success") != 0) {
        const char *et = json_string_value(json_object_get(root, "errorType"));
        const char *em = json_string_value(json_object_get(root, "error"));
        out->aa_kind = PAVED_ANSWER_ERROR;
        snprintf(out->aa_error, sizeof(out->aa_error), "%s: %s",
                 et != NULL ? et : status, em != NULL ? em : "(no message)");
        goto out;
    }
    data = json_object_get(root, "data");
    type = json_string_value(json_object_get(data, "resultType"));
    result = json_object_get(data, "result");
    if (type == NULL || result == NULL) {
        error = answer_bad(out, "the answer has no data.result");
        goto out;
    }
    if (strcmp(type, "scalar") == 0) {
        error = answer_sample(out, result);
    } else if (strcmp(type, "vector") == 0) {
        if (!json_is_array(result)) {
            error = answer_bad(out, "a vector result is not a list");
            goto out;
        }
        out->aa_nseries = json_array_size(result);
        if (out->aa_nseries == 0)
            out->aa_kind = PAVED_ANSWER_EMPTY;
        else if (out->aa_nseries > 1)
            out->aa_kind = PAVED_ANSWER_MANY;
        else
            error = answer_sample(
                out, json_object_get(json_array_get(result, 0), "value"));
    } else {
        /* a range vector or a string: not one number */
        char why[96];
        snprintf(why, sizeof(why), "the result is a %.20s, not a number", type);
        error = answer_bad(out, why);
    }
out:
    json_decref(root);
    return error;
}

/* ---- judging ----------------------------------------------------------- */

/* Numbers as Prometheus writes them, so a verdict reads like its source. */
static const char *
num(char *dst, size_t n, double d)
{
    if (isnan(d))
        snprintf(dst, n, "NaN");
    else if (isinf(d))
        snprintf(dst, n, "%s", d > 0 ? "+Inf" : "-Inf");
    else
        snprintf(dst, n, "%.6g", d);
    return dst;
}

static int set_text(char **dst, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
set_text(char **dst, const char *fmt, ...)
{
    struct paved_buf b = PAVED_BUF_INIT(4096);
    va_list ap;
    int error;

    va_start(ap, fmt);
    error = paved_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (error < 0) {
        paved_buf_dispose(&b);
        return error;
    }
    free(*dst);
    *dst = paved_buf_detach(&b, NULL);
    return 0;
}

/* Why an answer gives no usable value; NULL when it does. */
static const char *
answer_problem(char *dst, size_t n, const struct paved_analysis_answer *a,
               enum paved_analysis_result *r)
{
    switch (a->aa_kind) {
    case PAVED_ANSWER_ERROR:
        *r = PAVED_CHECK_ERROR;
        snprintf(dst, n, "query failed: %s", a->aa_error);
        return dst;
    case PAVED_ANSWER_MANY:
        *r = PAVED_CHECK_ERROR;
        snprintf(dst, n,
                 "query returned %zu series; it must return one number "
                 "(aggregate, e.g. sum(...))",
                 a->aa_nseries);
        return dst;
    case PAVED_ANSWER_EMPTY:
        *r = PAVED_CHECK_NODATA;
        snprintf(dst, n, "query returned no series");
        return dst;
    case PAVED_ANSWER_VALUE:
        if (isnan(a->aa_value)) {
            *r = PAVED_CHECK_NODATA;
            snprintf(dst, n, "value is NaN (nothing measured)");
            return dst;
        }
        return NULL;
    }
    return NULL;
}

int
paved_analysis_judge(struct paved_analysis_check *ck,
                     const struct paved_env_query *q,
                     const struct paved_analysis_answer *canary,
                     const struct paved_analysis_answer *stable,
                     bool has_stable_version, bool samples_ok,
                     const char *samples_why)
{
    char a[32], b[32], c[32], why[400];
    struct paved_buf th = PAVED_BUF_INIT(256);
    const char *problem;
    bool higher_worse = q->q_has_max || !q->q_has_min;
    enum paved_analysis_result r = PAVED_CHECK_PASS;
    double v, s, limit;
    int error = 0;

    ck->ck_has_value = canary->aa_kind == PAVED_ANSWER_VALUE;
    ck->ck_value = canary->aa_value;
    ck->ck_has_stable = stable != NULL && stable->aa_kind == PAVED_ANSWER_VALUE;
    ck->ck_stable = stable != NULL ? stable->aa_value : 0;

    if (q->q_has_max)
        error = paved_buf_printf(&th, "<= %s", num(a, sizeof(a), q->q_max));
    if (error == 0 && q->q_has_min)
        error = paved_buf_printf(&th, "%s>= %s", th.b_len > 0 ? ", " : "",
                                 num(a, sizeof(a), q->q_min));
    if (error == 0 && q->q_compare_stable)
        error = paved_buf_printf(
            &th, "%s%s stable %s%g%%", th.b_len > 0 ? ", " : "",
            higher_worse ? "<=" : ">=", higher_worse ? "+" : "-",
            q->q_tolerance);
    if (error < 0)
        goto out;
    free(ck->ck_threshold);
    ck->ck_threshold = paved_buf_detach(&th, NULL);

    /* precedence: nothing measured, the canary's own limits, then the
     * comparison, which needs a stable value */
    if ((problem = answer_problem(why, sizeof(why), canary, &r)) != NULL) {
        if (r == PAVED_CHECK_NODATA && !samples_ok)
            problem = samples_why;
        error = set_text(&ck->ck_reason, "%s", problem);
        goto done;
    }
    if (!samples_ok) {
        r = PAVED_CHECK_NODATA;
        error = set_text(&ck->ck_reason, "%s", samples_why);
        goto done;
    }
    v = canary->aa_value;
    if (q->q_has_max && !(v <= q->q_max)) {
        r = PAVED_CHECK_FAIL;
        error = set_text(&ck->ck_reason, "value %s is above max %s",
                         num(a, sizeof(a), v), num(b, sizeof(b), q->q_max));
        goto done;
    }
    if (q->q_has_min && !(v >= q->q_min)) {
        r = PAVED_CHECK_FAIL;
        error = set_text(&ck->ck_reason, "value %s is below min %s",
                         num(a, sizeof(a), v), num(b, sizeof(b), q->q_min));
        goto done;
    }
    if (q->q_compare_stable && !has_stable_version) {
        error = set_text(&ck->ck_reason,
                         "value %s within limits; no stable version to "
                         "compare with",
                         num(a, sizeof(a), v));
        goto done;
    }
    if (q->q_compare_stable) {
        if (stable == NULL)
            problem = "stable value missing";
        else
            problem = answer_problem(why, sizeof(why), stable, &r);
        if (problem != NULL) {
            /* without a stable value nothing was compared: never a pass */
            if (r == PAVED_CHECK_PASS)
                r = PAVED_CHECK_ERROR;
            error = set_text(&ck->ck_reason, "stable version: %s", problem);
            goto done;
        }
        s = stable->aa_value;
        if (higher_worse) {
            limit = s + fabs(s) * q->q_tolerance / 100.0;
            if (!(v <= limit)) {
                r = PAVED_CHECK_FAIL;
                error =
                    set_text(&ck->ck_reason,
                             "value %s is more than %g%% above the "
                             "stable version's %s (limit %s)",
                             num(a, sizeof(a), v), q->q_tolerance,
                             num(b, sizeof(b), s), num(c, sizeof(c), limit));
                goto done;
            }
        } else {
            limit = s - fabs(s) * q->q_tolerance / 100.0;
            if (!(v >= limit)) {
                r = PAVED_CHECK_FAIL;
                error =
                    set_text(&ck->ck_reason,
                             "value %s is more than %g%% below the "
                             "stable version's %s (limit %s)",
                             num(a, sizeof(a), v), q->q_tolerance,
                             num(b, sizeof(b), s), num(c, sizeof(c), limit));
                goto done;
            }
        }
        error = set_text(&ck->ck_reason,
                         "value %s within limits (stable %s, limit %s)",
                         num(a, sizeof(a), v), num(b, sizeof(b), s),
                         num(c, sizeof(c), limit));
        goto done;
    }
    error = set_text(&ck->ck_reason, "value %s within limits",
                     num(a, sizeof(a), v));
done:
    ck->ck_result = r;
out:
    paved_buf_dispose(&th);
    return error;
}

int
paved_analysis_decide(struct paved_analysis_verdict *v,
                      unsigned failures_before, unsigned failures_to_abort)
{
    struct paved_buf b = PAVED_BUF_INIT(4096);
    char n1[32];
    size_t i;
    int error = 0;

    if (failures_to_abort == 0)
        failures_to_abort = 1;
    v->av_failures = 0;
    for (i = 0; i < v->av_nchecks; i++)
        if (v->av_checks[i].ck_result != PAVED_CHECK_PASS)
            v->av_failures++;
    v->av_failures_total = failures_before + v->av_failures;
    v->av_failures_to_abort = failures_to_abort;
    v->av_decision = v->av_failures_total >= failures_to_abort
                         ? PAVED_ANALYSIS_ABORT
                         : PAVED_ANALYSIS_CONTINUE;
    if (v->av_failures == 0)
        error = paved_buf_printf(&b, "all %zu checks passed", v->av_nchecks);
    else {
        error = paved_buf_printf(&b, "%u of %zu checks did not pass (",
                                 v->av_failures, v->av_nchecks);
        for (i = 0; i < v->av_nchecks && error == 0; i++) {
            const struct paved_analysis_check *ck = &v->av_checks[i];
            if (ck->ck_result == PAVED_CHECK_PASS)
                continue;
            error = paved_buf_printf(
                &b, "%s%s: %s", b.b_ptr[b.b_len - 1] == '(' ? "" : ", ",
                ck->ck_name, paved_analysis_result_name(ck->ck_result));
            /* the value that failed, where the summary is all one reads */
            if (error == 0 && ck->ck_result == PAVED_CHECK_FAIL &&
                ck->ck_has_value)
                error = paved_buf_printf(&b, " at %s",
                                         num(n1, sizeof(n1), ck->ck_value));
        }
        if (error == 0)
            error = paved_buf_puts(&b, ")");
    }
    if (error == 0)
        error = paved_buf_printf(&b,
                                 "; %u of failures_to_abort %u over "
                                 "the rollout",
                                 v->av_failures_total, failures_to_abort);
    if (error == 0) {
        free(v->av_reason);
        v->av_reason = paved_buf_detach(&b, NULL);
    }
    paved_buf_dispose(&b);
    return error;
}

const char *
paved_analysis_result_name(enum paved_analysis_result r)
{
    switch (r) {
    case PAVED_CHECK_PASS:
        return "pass";
    case PAVED_CHECK_FAIL:
        return "fail";
    case PAVED_CHECK_NODATA:
        return "no data";
    case PAVED_CHECK_ERROR:
        return "error";
    }
    return "error";
}

const char *
paved_analysis_decision_name(enum paved_analysis_decision d)
{
    return d == PAVED_ANALYSIS_ABORT ? "abort" : "continue";
}

void
paved_analysis_verdict_free(struct paved_analysis_verdict *v)
{
    size_t i;

    if (v == NULL)
        return;
    for (i = 0; i < v->av_nchecks; i++) {
        struct paved_analysis_check *ck = &v->av_checks[i];
        free(ck->ck_name);
        free(ck->ck_query);
        free(ck->ck_stable_query);
        free(ck->ck_threshold);
        free(ck->ck_reason);
    }
    free(v->av_checks);
    free(v->av_sample_query);
    free(v->av_reason);
    free(v);
}

/* ---- rendering --------------------------------------------------------- */

/* One table cell: a pipe would end the cell, a newline the row. */
static int
md_cell(struct paved_buf *b, const char *s)
{
    int error = 0;

    if (s == NULL)
        return paved_buf_puts(b, " — |");
    error = paved_buf_putc(b, ' ');
    for (; *s != '\0' && error == 0; s++) {
        if (*s == '|')
            error = paved_buf_puts(b, "\\|");
        else if (*s == '\n' || *s == '\r')
            error = paved_buf_putc(b, ' ');
        else
            error = paved_buf_putc(b, *s);
    }
    return error < 0 ? error : paved_buf_puts(b, " |");
}

/* A fenced block whose fence no backtick run of the text can close. */
static int
md_code(struct paved_buf *b, const char *label, const char *text)
{
    size_t run = 0, longest = 0, fence, i;
    const char *p;
    int error;

    for (p = text; *p != '\0'; p++) {
        run = *p == '`' ? run + 1 : 0;
        if (run > longest)
            longest = run;
    }
    fence = longest >= 3 ? longest + 1 : 3;
    if ((error = paved_buf_printf(b, "%s:\n\n", label)) < 0)
        return error;
    for (i = 0; i < fence && error == 0; i++)
        error = paved_buf_putc(b, '`');
    if (error == 0)
        error = paved_buf_printf(b, "promql\n%s\n", text);
    for (i = 0; i < fence && error == 0; i++)
        error = paved_buf_putc(b, '`');
    return error < 0 ? error : paved_buf_puts(b, "\n\n");
}

int
paved_analysis_markdown(struct paved_buf *b,
                        const struct paved_analysis_verdict *v)
{
    char n1[32], label[128];
    size_t i;
    int error;

    error = paved_buf_printf(b, "### Canary analysis: **%s**\n\n",
                             paved_analysis_decision_name(v->av_decision));
    if (error == 0)
        error = paved_buf_printf(b, "%s.\n\n",
                                 v->av_reason != NULL ? v->av_reason : "");
    if (error == 0 && v->av_sample_query != NULL)
        error = paved_buf_printf(
            b, "Samples in the interval: %s (min_samples %u).\n\n",
            v->av_has_samples ? num(n1, sizeof(n1), v->av_samples) : "unknown",
            v->av_min_samples);
    if (error == 0)
        error = paved_buf_puts(b, "| check | result | value | stable | "
                                  "threshold | reason |\n"
                                  "| --- | --- | --- | --- | --- | --- |\n");
    for (i = 0; i < v->av_nchecks && error == 0; i++) {
        const struct paved_analysis_check *ck = &v->av_checks[i];
        error = paved_buf_putc(b, '|');
        if (error == 0)
            error = md_cell(b, ck->ck_name);
        if (error == 0)
            error = md_cell(b, paved_analysis_result_name(ck->ck_result));
        if (error == 0)
            error = md_cell(
                b, ck->ck_has_value ? num(n1, sizeof(n1), ck->ck_value) : NULL);
        if (error == 0)
            error = md_cell(b, ck->ck_has_stable
                                   ? num(n1, sizeof(n1), ck->ck_stable)
                                   : NULL);
        if (error == 0)
            error = md_cell(b, ck->ck_threshold);
        if (error == 0)
            error = md_cell(b, ck->ck_reason);
        if (error == 0)
            error = paved_buf_putc(b, '\n');
    }
    if (error == 0)
        error = paved_buf_puts(b, "\n<details><summary>Queries as sent"
                                  "</summary>\n\n");
    if (error == 0 && v->av_sample_query != NULL)
        error = md_code(b, "samples", v->av_sample_query);
    for (i = 0; i < v->av_nchecks && error == 0; i++) {
        const struct paved_analysis_check *ck = &v->av_checks[i];
        if (ck->ck_query != NULL) {
            snprintf(label, sizeof(label), "%s", ck->ck_name);
            error = md_code(b, label, ck->ck_query);
        }
        if (error == 0 && ck->ck_stable_query != NULL) {
            snprintf(label, sizeof(label), "%s (stable)", ck->ck_name);
            error = md_code(b, label, ck->ck_stable_query);
        }
    }
    if (error == 0)
        error = paved_buf_puts(b, "</details>\n");
    return error;
}

static json_t *
json_num(bool has, double d)
{
    char buf[32];

    if (!has)
        return json_null();
    if (!isfinite(d))
        return json_string(num(buf, sizeof(buf), d));
    return json_real(d);
}

static json_t *
json_str_or_null(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

json_t *
paved_analysis_json(const struct paved_analysis_verdict *v)
{
    json_t *o = json_object(), *checks = json_array(), *c;
    size_t i;
    int bad = o == NULL || checks == NULL;

    for (i = 0; i < v->av_nchecks && !bad; i++) {
        const struct paved_analysis_check *ck = &v->av_checks[i];
        c = json_object();
        bad |= c == NULL || json_array_append_new(checks, c) < 0;
        if (bad)
            break;
        bad |= json_object_set_new(c, "name", json_string(ck->ck_name)) < 0;
        bad |= json_object_set_new(
                   c, "result",
                   json_string(paved_analysis_result_name(ck->ck_result))) < 0;
        bad |= json_object_set_new(
                   c, "value", json_num(ck->ck_has_value, ck->ck_value)) < 0;
        bad |= json_object_set_new(
                   c, "stable", json_num(ck->ck_has_stable, ck->ck_stable)) < 0;
        bad |= json_object_set_new(c, "threshold",
                                   json_str_or_null(ck->ck_threshold)) < 0;
        bad |= json_object_set_new(c, "reason",
                                   json_str_or_null(ck->ck_reason)) < 0;
        bad |=
            json_object_set_new(c, "query", json_str_or_null(ck->ck_query)) < 0;
        bad |= json_object_set_new(c, "stable_query",
                                   json_str_or_null(ck->ck_stable_query)) < 0;
    }
    if (!bad) {
        bad |=
            json_object_set_new(
                o, "decision",
                json_string(paved_analysis_decision_name(v->av_decision))) < 0;
        bad |= json_object_set_new(o, "reason",
                                   json_str_or_null(v->av_reason)) < 0;
        bad |= json_object_set_new(o, "failures",
                                   json_integer(v->av_failures)) < 0;
        bad |= json_object_set_new(o, "failures_total",
                                   json_integer(v->av_failures_total)) < 0;
        bad |= json_object_set_new(o, "failures_to_abort",
                                   json_integer(v->av_failures_to_abort)) < 0;
        bad |=
            json_object_set_new(o, "samples",
                                json_num(v->av_has_samples, v->av_samples)) < 0;
        bad |= json_object_set_new(o, "min_samples",
                                   json_integer(v->av_min_samples)) < 0;
        bad |= json_object_set_new(o, "sample_query",
                                   json_str_or_null(v->av_sample_query)) < 0;
        bad |= json_object_set(o, "checks", checks) < 0;
    }
    json_decref(checks);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}
