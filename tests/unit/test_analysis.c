/* Unit tests for canary analysis, the pure parts: placeholders filled and
 * hostile values refused, Prometheus answers of every shape (taken from
 * what Prometheus 2.x writes), thresholds, no data, compare with the
 * stable version and its tolerance, the abort decision, the Markdown and
 * JSON renderings. One test runs a whole step against a closed port to
 * show that an unreachable Prometheus is a verdict ("error", abort), never
 * a pass. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "paved/analysis.h"
#include "paved/environment.h"
#include "paved/error.h"

static const struct paved_analysis_params params = {"api", "production", "v2",
                                                    "v1",  30,           0};

/* ---- placeholders ------------------------------------------------------ */

static void
test_fill(void **state)
{
    char *q = NULL;

    (void)state;
    assert_int_equal(
        paved_analysis_fill(&q,
                            "sum(rate(http_requests_total{service=\"{{service}}"
                            "\",version=\"{{version}}\",env=\"{{environment}}"
                            "\",code=~\"5..\"}[{{interval}}]))",
                            &params, params.ap_version),
        0);
    assert_string_equal(q, "sum(rate(http_requests_total{service=\"api\","
                           "version=\"v2\",env=\"production\",code=~\"5..\"}"
                           "[30s]))");
    free(q);
    /* the stable evaluation: same text, the other version */
    assert_int_equal(paved_analysis_fill(&q, "x{version=\"{{version}}\"}",
                                         &params, params.ap_stable),
                     0);
    assert_string_equal(q, "x{version=\"v1\"}");
    free(q);
    /* single braces are PromQL's */
    assert_int_equal(paved_analysis_fill(&q, "up{job=\"a\"} > 0", &params,
                                         params.ap_version),
                     0);
    assert_string_equal(q, "up{job=\"a\"} > 0");
    free(q);
}

static void
test_fill_refuses(void **state)
{
    struct paved_analysis_params p = params;
    static const char *const bad[] = {"v2\"} or vector(1) #",
                                      "v2\\",
                                      "v2\nx",
                                      "v2'",
                                      "v2`",
                                      "",
                                      "v\x7f",
                                      "v\xc3\xa9",
                                      "v\t2"};
    char *q = (char *)"untouched";
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        q = (char *)"untouched";
        assert_int_equal(
            paved_analysis_fill(&q, "x{v=\"{{version}}\"}", &p, bad[i]),
            PAVED_EINVAL);
        assert_null(q);
    }
    p.ap_service = "a\"b";
    assert_int_equal(paved_analysis_fill(&q, "no placeholder", &p, "v2"),
                     PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "service"));
    p = params;
    assert_int_equal(paved_analysis_fill(&q, "x{{weight}}", &p, "v2"),
                     PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "unknown placeholder"));
    assert_int_equal(paved_analysis_fill(&q, "x{{version", &p, "v2"),
                     PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "not closed"));
    /* a value of the largest allowed length passes, one more is refused */
    {
        char big[PAVED_ANALYSIS_MAX_VALUE + 2];
        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        assert_int_equal(paved_analysis_check_value("version", big),
                         PAVED_EINVAL);
        big[PAVED_ANALYSIS_MAX_VALUE] = '\0';
        assert_int_equal(paved_analysis_check_value("version", big), 0);
    }
    assert_int_equal(paved_analysis_check_value("version", "1.2.3-rc.1+b7"), 0);
}

/* ---- answers ----------------------------------------------------------- */

static struct paved_analysis_answer
parse(const char *json, int want_rc)
{
    struct paved_analysis_answer a;

    assert_int_equal(paved_analysis_parse(&a, json, strlen(json)), want_rc);
    return a;
}

static void
test_parse_vector(void **state)
{
    struct paved_analysis_answer a;

    (void)state;
    a = parse("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
              "\"result\":[{\"metric\":{},\"value\":[1764251000.123,"
              "\"0.0625\"]}]}}",
              0);
    assert_int_equal(a.aa_kind, PAVED_ANSWER_VALUE);
    assert_true(a.aa_value == 0.0625);
    assert_int_equal(a.aa_nseries, 1);

    a = parse("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
              "\"result\":[]}}",
              0);
    assert_int_equal(a.aa_kind, PAVED_ANSWER_EMPTY);
    assert_int_equal(a.aa_nseries, 0);

    a = parse("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
              "\"result\":[{\"metric\":{\"version\":\"v1\"},\"value\":[1,"
              "\"1\"]},{\"metric\":{\"version\":\"v2\"},\"value\":[1,\"2\"]},"
              "{\"metric\":{\"version\":\"v3\"},\"value\":[1,\"3\"]}]}}",
              0);
    assert_int_equal(a.aa_kind, PAVED_ANSWER_MANY);
    assert_int_equal(a.aa_nseries, 3);

    a = parse("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
              "\"result\":[1764251000,\"42\"]}}",
              0);
    assert_int_equal(a.aa_kind, PAVED_ANSWER_VALUE);
    assert_true(a.aa_value == 42.0);
}

static void
test_parse_special(void **state)
{
    struct paved_analysis_answer a;

    (void)state;
    a = parse("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
              "\"result\":[{\"metric\":{},\"value\":[1,\"NaN\"]}]}}",
              0);
    assert_int_equal(a.aa_kind, PAVED_ANSWER_VALUE);
    assert_true(isnan(a.aa_value));
    a = parse("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
              "\"result\":[{\"metric\":{},\"value\":[1,\"+Inf\"]}]}}",
              0);
    assert_true(isinf(a.aa_value) && a.aa_value > 0);
    a = parse("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
              "\"result\":[1,\"-Inf\"]}}",
              0);
    assert_true(isinf(a.aa_value) && a.aa_value < 0);
    a = parse("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
              "\"result\":[1,\"1e-3\"]}}",
              0);
    assert_true(a.aa_value == 0.001);
}

static void
test_parse_error(void **state)
{
    struct paved_analysis_answer a;

    (void)state;
    /* what Prometheus answers (HTTP 400) to a query it cannot parse */
    a = parse("{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":"
              "\"invalid parameter \\\"query\\\": 1:5: parse error: "
              "unexpected <EOF>\"}",
              0);
    assert_int_equal(a.aa_kind, PAVED_ANSWER_ERROR);
    assert_string_equal(a.aa_error, "bad_data: invalid parameter \"query\": "
                                    "1:5: parse error: unexpected <EOF>");
    /* not answers at all */
    a = parse("<html>502 Bad Gateway</html>", PAVED_EINVAL);
    assert_int_equal(a.aa_kind, PAVED_ANSWER_ERROR);
    a = parse("{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\","
              "\"result\":[]}}",
              PAVED_EINVAL);
    assert_non_null(strstr(a.aa_error, "matrix"));
    a = parse("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
              "\"result\":[1,\"abc\"]}}",
              PAVED_EINVAL);
    a = parse("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
              "\"result\":[1,2]}}",
              PAVED_EINVAL);
    a = parse("{\"status\":\"success\"}", PAVED_EINVAL);
}

/* ---- judging ----------------------------------------------------------- */

static struct paved_analysis_answer
value(double d)
{
    struct paved_analysis_answer a;

    memset(&a, 0, sizeof(a));
    a.aa_kind = PAVED_ANSWER_VALUE;
    a.aa_value = d;
    a.aa_nseries = 1;
    return a;
}

static struct paved_analysis_answer
kind(enum paved_analysis_answer_kind k)
{
    struct paved_analysis_answer a;

    memset(&a, 0, sizeof(a));
    a.aa_kind = k;
    a.aa_nseries = k == PAVED_ANSWER_MANY ? 2 : 0;
    if (k == PAVED_ANSWER_ERROR)
        snprintf(a.aa_error, sizeof(a.aa_error), "timeout: query timed out");
    return a;
}

static void
check_dispose(struct paved_analysis_check *ck)
{
    free(ck->ck_threshold);
    free(ck->ck_reason);
    memset(ck, 0, sizeof(*ck));
}

static enum paved_analysis_result
judge(struct paved_analysis_check *ck, const struct paved_env_query *q,
      struct paved_analysis_answer c, const struct paved_analysis_answer *s,
      bool samples_ok)
{
    check_dispose(ck);
    assert_int_equal(paved_analysis_judge(ck, q, &c, s, s != NULL, samples_ok,
                                          "3 samples, fewer than min_samples "
                                          "20"),
                     0);
    return ck->ck_result;
}

static void
test_judge_thresholds(void **state)
{
    struct paved_env_query q = {0};
    struct paved_analysis_check ck = {0};

    (void)state;
    q.q_name = (char *)"error-rate";
    q.q_has_max = true;
    q.q_max = 0.01;
    assert_int_equal(judge(&ck, &q, value(0.002), NULL, true),
                     PAVED_CHECK_PASS);
    assert_string_equal(ck.ck_threshold, "<= 0.01");
    assert_true(ck.ck_has_value && ck.ck_value == 0.002);
    assert_int_equal(judge(&ck, &q, value(0.01), NULL, true),
                     PAVED_CHECK_PASS); /* at most: equal passes */
    assert_int_equal(judge(&ck, &q, value(0.1), NULL, true), PAVED_CHECK_FAIL);
    assert_string_equal(ck.ck_reason, "value 0.1 is above max 0.01");
    assert_int_equal(judge(&ck, &q, value(INFINITY), NULL, true),
                     PAVED_CHECK_FAIL);
    assert_string_equal(ck.ck_reason, "value +Inf is above max 0.01");

    /* a floor: availability at least 99% */
    q.q_has_max = false;
    q.q_has_min = true;
    q.q_min = 0.99;
    assert_int_equal(judge(&ck, &q, value(0.995), NULL, true),
                     PAVED_CHECK_PASS);
    assert_string_equal(ck.ck_threshold, ">= 0.99");
    assert_int_equal(judge(&ck, &q, value(0.9), NULL, true), PAVED_CHECK_FAIL);
    assert_string_equal(ck.ck_reason, "value 0.9 is below min 0.99");
    assert_int_equal(judge(&ck, &q, value(-INFINITY), NULL, true),
                     PAVED_CHECK_FAIL);
    check_dispose(&ck);
}

static void
test_judge_no_data(void **state)
{
    struct paved_env_query q = {0};
    struct paved_analysis_check ck = {0};

    (void)state;
    q.q_name = (char *)"error-rate";
    q.q_has_max = true;
    q.q_max = 0.01;
    /* below min_samples: no data even for a value that would pass */
    assert_int_equal(judge(&ck, &q, value(0.0), NULL, false),
                     PAVED_CHECK_NODATA);
    assert_string_equal(ck.ck_reason, "3 samples, fewer than min_samples 20");
    assert_true(ck.ck_has_value);
    /* ... and for one that would fail */
    assert_int_equal(judge(&ck, &q, value(0.5), NULL, false),
                     PAVED_CHECK_NODATA);
    /* 0/0 is NaN: nothing was measured */
    assert_int_equal(judge(&ck, &q, value(NAN), NULL, true),
                     PAVED_CHECK_NODATA);
    assert_string_equal(ck.ck_reason, "value is NaN (nothing measured)");
    assert_int_equal(judge(&ck, &q, kind(PAVED_ANSWER_EMPTY), NULL, true),
                     PAVED_CHECK_NODATA);
    assert_false(ck.ck_has_value);
    assert_string_equal(ck.ck_reason, "query returned no series");
    /* not answers: errors, whatever the sample count */
    assert_int_equal(judge(&ck, &q, kind(PAVED_ANSWER_MANY), NULL, true),
                     PAVED_CHECK_ERROR);
    assert_non_null(strstr(ck.ck_reason, "2 series"));
    assert_int_equal(judge(&ck, &q, kind(PAVED_ANSWER_ERROR), NULL, false),
                     PAVED_CHECK_ERROR);
    assert_string_equal(ck.ck_reason, "query failed: timeout: query timed "
                                      "out");
    check_dispose(&ck);
}

static void
test_judge_compare(void **state)
{
    struct paved_env_query q = {0};
    struct paved_analysis_check ck = {0};
    struct paved_analysis_answer st = value(0.2);

    (void)state;
    q.q_name = (char *)"p99-latency";
    q.q_has_max = true;
    q.q_max = 0.5;
    q.q_compare_stable = true;
    q.q_tolerance = 20;
    assert_int_equal(judge(&ck, &q, value(0.23), &st, true), PAVED_CHECK_PASS);
    assert_string_equal(ck.ck_threshold, "<= 0.5, <= stable +20%");
    assert_true(ck.ck_has_stable && ck.ck_stable == 0.2);
    assert_int_equal(judge(&ck, &q, value(0.24), &st, true),
                     PAVED_CHECK_PASS); /* exactly the limit */
    assert_int_equal(judge(&ck, &q, value(0.3), &st, true), PAVED_CHECK_FAIL);
    assert_string_equal(ck.ck_reason, "value 0.3 is more than 20% above the "
                                      "stable version's 0.2 (limit 0.24)");
    /* the absolute limit comes first */
    assert_int_equal(judge(&ck, &q, value(0.6), &st, true), PAVED_CHECK_FAIL);
    assert_string_equal(ck.ck_reason, "value 0.6 is above max 0.5");
    /* stable unmeasured: nothing compared, not a pass */
    st = value(NAN);
    assert_int_equal(judge(&ck, &q, value(0.1), &st, true), PAVED_CHECK_NODATA);
    assert_non_null(strstr(ck.ck_reason, "stable version: "));
    st = kind(PAVED_ANSWER_ERROR);
    assert_int_equal(judge(&ck, &q, value(0.1), &st, true), PAVED_CHECK_ERROR);
    /* no stable version at all (first deploy): thresholds only, said so */
    check_dispose(&ck);
    {
        struct paved_analysis_answer c = value(0.1);
        assert_int_equal(
            paved_analysis_judge(&ck, &q, &c, NULL, false, true, ""), 0);
    }
    assert_int_equal(ck.ck_result, PAVED_CHECK_PASS);
    assert_non_null(strstr(ck.ck_reason, "no stable version"));

    /* higher is better (min only): worse means lower */
    q.q_has_max = false;
    q.q_has_min = true;
    q.q_min = 0.5;
    q.q_tolerance = 10;
    st = value(0.99);
    assert_int_equal(judge(&ck, &q, value(0.95), &st, true), PAVED_CHECK_PASS);
    assert_string_equal(ck.ck_threshold, ">= 0.5, >= stable -10%");
    assert_int_equal(judge(&ck, &q, value(0.8), &st, true), PAVED_CHECK_FAIL);
    assert_non_null(strstr(ck.ck_reason, "10% below"));
    check_dispose(&ck);
}

/* ---- the decision ------------------------------------------------------ */

static struct paved_analysis_verdict *
verdict(const enum paved_analysis_result *r, size_t n)
{
    struct paved_analysis_verdict *v = calloc(1, sizeof(*v));
    size_t i;

    assert_non_null(v);
    v->av_checks = calloc(n, sizeof(*v->av_checks));
    v->av_nchecks = n;
    for (i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof(name), "c%zu", i);
        v->av_checks[i].ck_name = strdup(name);
        v->av_checks[i].ck_result = r[i];
        v->av_checks[i].ck_has_value = true;
        v->av_checks[i].ck_value = 0.125;
    }
    return v;
}

static void
test_decide(void **state)
{
    static const enum paved_analysis_result pass2[] = {PAVED_CHECK_PASS,
                                                       PAVED_CHECK_PASS};
    static const enum paved_analysis_result fail1[] = {PAVED_CHECK_PASS,
                                                       PAVED_CHECK_FAIL};
    static const enum paved_analysis_result nodata2[] = {PAVED_CHECK_NODATA,
                                                         PAVED_CHECK_NODATA};
    struct paved_analysis_verdict *v;

    (void)state;
    v = verdict(pass2, 2);
    assert_int_equal(paved_analysis_decide(v, 0, 1), 0);
    assert_int_equal(v->av_decision, PAVED_ANALYSIS_CONTINUE);
    assert_int_equal(v->av_failures, 0);
    assert_string_equal(v->av_reason, "all 2 checks passed; 0 of "
                                      "failures_to_abort 1 over the rollout");
    /* earlier failures of the rollout count, passes do not undo them */
    assert_int_equal(paved_analysis_decide(v, 2, 2), 0);
    assert_int_equal(v->av_decision, PAVED_ANALYSIS_ABORT);
    paved_analysis_verdict_free(v);

    v = verdict(fail1, 2);
    assert_int_equal(paved_analysis_decide(v, 0, 1), 0);
    assert_int_equal(v->av_decision, PAVED_ANALYSIS_ABORT);
    assert_string_equal(v->av_reason,
                        "1 of 2 checks did not pass (c1: fail at 0.125); 1 "
                        "of failures_to_abort 1 over the rollout");
    assert_int_equal(paved_analysis_decide(v, 0, 2), 0);
    assert_int_equal(v->av_decision, PAVED_ANALYSIS_CONTINUE);
    assert_int_equal(v->av_failures_total, 1);
    assert_int_equal(paved_analysis_decide(v, 1, 2), 0);
    assert_int_equal(v->av_decision, PAVED_ANALYSIS_ABORT);
    assert_int_equal(v->av_failures_total, 2);
    paved_analysis_verdict_free(v);

    /* no data counts like a failure */
    v = verdict(nodata2, 2);
    assert_int_equal(paved_analysis_decide(v, 0, 2), 0);
    assert_int_equal(v->av_decision, PAVED_ANALYSIS_ABORT);
    assert_int_equal(v->av_failures, 2);
    assert_non_null(strstr(v->av_reason, "c0: no data, c1: no data"));
    assert_int_equal(paved_analysis_decide(v, 0, 3), 0);
    assert_int_equal(v->av_decision, PAVED_ANALYSIS_CONTINUE);
    paved_analysis_verdict_free(v);
}

/* ---- rendering --------------------------------------------------------- */

static void
test_render(void **state)
{
    static const enum paved_analysis_result r[] = {PAVED_CHECK_FAIL,
                                                   PAVED_CHECK_NODATA};
    struct paved_analysis_verdict *v = verdict(r, 2);
    struct paved_buf b = PAVED_BUF_INIT(1 << 20);
    json_t *o, *c;

    (void)state;
    v->av_checks[0].ck_query = strdup("sum(x{a=\"|\"}) ```");
    v->av_checks[0].ck_threshold = strdup("<= 0.01");
    v->av_checks[0].ck_reason = strdup("value 0.125 | is above max 0.01");
    v->av_checks[1].ck_has_value = false;
    v->av_checks[1].ck_value = NAN;
    v->av_checks[1].ck_has_stable = true;
    v->av_checks[1].ck_stable = INFINITY;
    v->av_sample_query = strdup("sum(increase(x[30s]))");
    v->av_has_samples = true;
    v->av_samples = 3;
    v->av_min_samples = 20;
    assert_int_equal(paved_analysis_decide(v, 0, 1), 0);
    assert_int_equal(paved_analysis_markdown(&b, v), 0);
    assert_non_null(strstr(b.b_ptr, "### Canary analysis: **abort**\n"));
    assert_non_null(strstr(b.b_ptr, "Samples in the interval: 3 "
                                    "(min_samples 20)."));
    assert_non_null(strstr(b.b_ptr, "| c0 | fail | 0.125 | — | <= 0.01 | "
                                    "value 0.125 \\| is above max 0.01 |\n"));
    assert_non_null(strstr(b.b_ptr, "| c1 | no data | — | +Inf | — | — |\n"));
    /* the query's own ``` cannot close the fence */
    assert_non_null(strstr(b.b_ptr, "````promql\nsum(x{a=\"|\"}) ```\n````\n"));
    paved_buf_dispose(&b);

    o = paved_analysis_json(v);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "decision")),
                        "abort");
    assert_int_equal(json_integer_value(json_object_get(o, "failures")), 2);
    c = json_array_get(json_object_get(o, "checks"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "result")),
                        "fail");
    assert_true(json_real_value(json_object_get(c, "value")) == 0.125);
    c = json_array_get(json_object_get(o, "checks"), 1);
    assert_string_equal(json_string_value(json_object_get(c, "result")),
                        "no data");
    assert_true(json_is_null(json_object_get(c, "value")));
    assert_string_equal(json_string_value(json_object_get(c, "stable")),
                        "+Inf");
    json_decref(o);
    paved_analysis_verdict_free(v);
}

/* ---- a whole step without Prometheus ----------------------------------- */

static void
test_run_unreachable(void **state)
{
    static const char yaml[] =
        "name: production\n"
        "local:\n"
        "  listen: 127.0.0.1:8082\n"
        "  upstream_port: 9110\n"
        "canary:\n"
        "  weights: [50, 100]\n"
        "  interval: 10s\n"
        "analysis:\n"
        "  prometheus: http://127.0.0.1:1\n"
        "  timeout: 2s\n"
        "  failures_to_abort: 3\n"
        "  queries:\n"
        "    - name: error-rate\n"
        "      query: sum(rate(x{version=\"{{version}}\"}[{{interval}}]))\n"
        "      max: 0.01\n";
    struct paved_pipeline_diags dl = PAVED_PIPELINE_DIAGS_INIT;
    struct paved_analysis_params p = params;
    struct paved_analysis_verdict *v = NULL;
    paved_environment *env = NULL;

    (void)state;
    assert_int_equal(
        paved_environment_parse(&env, &dl, "p.yaml", yaml, strlen(yaml)), 0);
    p.ap_interval = 10;
    assert_int_equal(
        paved_analysis_run(&v, paved_environment_analysis(env), &p), 0);
    assert_int_equal(v->av_nchecks, 1);
    assert_string_equal(v->av_checks[0].ck_query,
                        "sum(rate(x{version=\"v2\"}[10s]))");
    assert_int_equal(v->av_checks[0].ck_result, PAVED_CHECK_ERROR);
    assert_non_null(strstr(v->av_checks[0].ck_reason, "Prometheus"));
    /* one error, failures_to_abort 3: continue; two before it: abort */
    assert_int_equal(v->av_decision, PAVED_ANALYSIS_CONTINUE);
    paved_analysis_verdict_free(v);
    v = NULL;
    p.ap_failures_before = 2;
    assert_int_equal(
        paved_analysis_run(&v, paved_environment_analysis(env), &p), 0);
    assert_int_equal(v->av_decision, PAVED_ANALYSIS_ABORT);
    paved_analysis_verdict_free(v);
    v = NULL;
    /* a refused value: nothing is sent, no verdict */
    p.ap_stable = "v1\"}";
    assert_int_equal(
        paved_analysis_run(&v, paved_environment_analysis(env), &p),
        PAVED_EINVAL);
    assert_null(v);
    paved_environment_free(env);
    paved_pipeline_diags_dispose(&dl);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fill),
        cmocka_unit_test(test_fill_refuses),
        cmocka_unit_test(test_parse_vector),
        cmocka_unit_test(test_parse_special),
        cmocka_unit_test(test_parse_error),
        cmocka_unit_test(test_judge_thresholds),
        cmocka_unit_test(test_judge_no_data),
        cmocka_unit_test(test_judge_compare),
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_run_unreachable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
