/* Unit tests for the metrics registry: exact exposition text, histogram
 * bucket arithmetic, the series cap, and name lookups by pointer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "paved/buf.h"
#include "paved/metrics.h"

static char *
render(paved_metrics *m)
{
    struct paved_buf b = PAVED_BUF_INIT(1 << 20);

    assert_int_equal(paved_metrics_render(m, &b), 0);
    return paved_buf_detach(&b, NULL);
}

static void
test_counter_gauge_text(void **state)
{
    paved_metrics *m;
    char *text;

    (void)state;
    assert_int_equal(paved_metrics_new(&m), 0);
    paved_metrics_inc(m, "paved_webhook_deliveries_total", "Deliveries.",
                      "forge=\"github\",outcome=\"queued\"", 1);
    paved_metrics_inc(m, "paved_webhook_deliveries_total", "Deliveries.",
                      "forge=\"github\",outcome=\"queued\"", 2);
    paved_metrics_inc(m, "paved_webhook_deliveries_total", "Deliveries.",
                      "forge=\"gitea\",outcome=\"duplicate\"", 1);
    paved_metrics_set(m, "paved_store_queue_depth", "Queued writes.", "", 7);
    paved_metrics_set(m, "paved_store_queue_depth", "Queued writes.", "", 0.5);
    paved_metrics_inc(m, "paved_up", "Line one\\two\nthree", "", 1);
    text = render(m);
    assert_string_equal(
        text,
        "# HELP paved_webhook_deliveries_total Deliveries.\n"
        "# TYPE paved_webhook_deliveries_total counter\n"
        "paved_webhook_deliveries_total{forge=\"github\",outcome=\"queued\"} "
        "3\n"
        "paved_webhook_deliveries_total{forge=\"gitea\",outcome="
        "\"duplicate\"} 1\n"
        "# HELP paved_store_queue_depth Queued writes.\n"
        "# TYPE paved_store_queue_depth gauge\n"
        "paved_store_queue_depth 0.5\n"
        "# HELP paved_up Line one\\\\two\\nthree\n"
        "# TYPE paved_up counter\n"
        "paved_up 1\n");
    assert_true(paved_metrics_value(m, "paved_webhook_deliveries_total",
                                    "forge=\"github\",outcome=\"queued\"") ==
                3.0);
    assert_true(paved_metrics_value(m, "paved_store_queue_depth", "") == 0.5);
    assert_true(paved_metrics_value(m, "absent", "") == 0.0);
    assert_true(paved_metrics_value(m, "paved_up", "x=\"y\"") == 0.0);
    free(text);
    paved_metrics_free(m);
}

static void
test_histogram_buckets(void **state)
{
    paved_metrics *m;
    char *text;

    (void)state;
    assert_int_equal(paved_metrics_new(&m), 0);
    /* 0.001 is on a bound (le is <=), 0.003 lands in 0.005, 20 only +Inf */
    paved_metrics_observe(m, "lat", "Latency.", "route=\"hook\"", 0.001);
    paved_metrics_observe(m, "lat", "Latency.", "route=\"hook\"", 0.003);
    paved_metrics_observe(m, "lat", "Latency.", "route=\"hook\"", 0.75);
    paved_metrics_observe(m, "lat", "Latency.", "route=\"hook\"", 20);
    text = render(m);
    assert_string_equal(text, "# HELP lat Latency.\n"
                              "# TYPE lat histogram\n"
                              "lat_bucket{route=\"hook\",le=\"0.001\"} 1\n"
                              "lat_bucket{route=\"hook\",le=\"0.0025\"} 1\n"
                              "lat_bucket{route=\"hook\",le=\"0.005\"} 2\n"
                              "lat_bucket{route=\"hook\",le=\"0.01\"} 2\n"
                              "lat_bucket{route=\"hook\",le=\"0.025\"} 2\n"
                              "lat_bucket{route=\"hook\",le=\"0.05\"} 2\n"
                              "lat_bucket{route=\"hook\",le=\"0.1\"} 2\n"
                              "lat_bucket{route=\"hook\",le=\"0.25\"} 2\n"
                              "lat_bucket{route=\"hook\",le=\"0.5\"} 2\n"
                              "lat_bucket{route=\"hook\",le=\"1\"} 3\n"
                              "lat_bucket{route=\"hook\",le=\"2.5\"} 3\n"
                              "lat_bucket{route=\"hook\",le=\"5\"} 3\n"
                              "lat_bucket{route=\"hook\",le=\"10\"} 3\n"
                              "lat_bucket{route=\"hook\",le=\"+Inf\"} 4\n"
                              "lat_sum{route=\"hook\"} 20.754\n"
                              "lat_count{route=\"hook\"} 4\n");
    assert_true(paved_metrics_value(m, "lat", "route=\"hook\"") == 4.0);
    free(text);
    paved_metrics_free(m);
}

static void
test_histogram_no_labels(void **state)
{
    paved_metrics *m;
    char *text;

    (void)state;
    assert_int_equal(paved_metrics_new(&m), 0);
    paved_metrics_observe(m, "c", "Commit.", "", 0.02);
    text = render(m);
    assert_non_null(strstr(text, "\nc_bucket{le=\"0.01\"} 0\n"));
    assert_non_null(strstr(text, "\nc_bucket{le=\"0.025\"} 1\n"));
    assert_non_null(strstr(text, "\nc_bucket{le=\"+Inf\"} 1\n"));
    assert_non_null(strstr(text, "\nc_sum 0.02\nc_count 1\n"));
    free(text);
    paved_metrics_free(m);
}

static void
test_histogram_own_buckets(void **state)
{
    static const double sizes[] = {1, 8, 64};
    paved_metrics *m;
    char *text;

    (void)state;
    assert_int_equal(paved_metrics_new(&m), 0);
    paved_metrics_observe_buckets(m, "b", "Batch.", "", 1, sizes, 3);
    paved_metrics_observe_buckets(m, "b", "Batch.", "", 40, sizes, 3);
    paved_metrics_observe_buckets(m, "b", "Batch.", "", 500, sizes, 3);
    text = render(m);
    assert_non_null(strstr(text, "\nb_bucket{le=\"1\"} 1\n"));
    assert_non_null(strstr(text, "\nb_bucket{le=\"8\"} 1\n"));
    assert_non_null(strstr(text, "\nb_bucket{le=\"64\"} 2\n"));
    assert_non_null(strstr(text, "\nb_bucket{le=\"+Inf\"} 3\n"));
    assert_null(strstr(text, "le=\"0.001\""));
    assert_non_null(strstr(text, "\nb_sum 541\nb_count 3\n"));
    free(text);
    paved_metrics_free(m);
}

static void
test_type_is_kept(void **state)
{
    paved_metrics *m;
    char *text;

    (void)state;
    assert_int_equal(paved_metrics_new(&m), 0);
    paved_metrics_set(m, "g", "G.", "", 5);
    paved_metrics_inc(m, "g", "G.", "", 2);     /* inc on a gauge adds */
    paved_metrics_observe(m, "g", "G.", "", 1); /* refused */
    paved_metrics_inc(m, "c", "C.", "", 4);
    paved_metrics_inc(m, "c", "C.", "", -1); /* counters never drop */
    paved_metrics_observe(m, "h", "H.", "", 1);
    paved_metrics_inc(m, "h", "H.", "", 1); /* refused */
    assert_true(paved_metrics_value(m, "g", "") == 7.0);
    assert_true(paved_metrics_value(m, "c", "") == 4.0);
    assert_true(paved_metrics_value(m, "h", "") == 1.0);
    text = render(m);
    assert_non_null(strstr(text, "# TYPE g gauge\ng 7\n"));
    assert_non_null(strstr(text, "# TYPE c counter\nc 4\n"));
    free(text);
    paved_metrics_free(m);
}

static void
test_same_name_other_pointer(void **state)
{
    char name[] = "paved_x_total"; /* same text, not the same address */
    paved_metrics *m;
    char *text;

    (void)state;
    assert_int_equal(paved_metrics_new(&m), 0);
    paved_metrics_inc(m, "paved_x_total", "X.", "", 1);
    paved_metrics_inc(m, name, "X.", "", 1);
    paved_metrics_inc(m, "paved_x_total", "X.", "", 1);
    assert_true(paved_metrics_value(m, name, "") == 3.0);
    text = render(m);
    assert_string_equal(text, "# HELP paved_x_total X.\n"
                              "# TYPE paved_x_total counter\n"
                              "paved_x_total 3\n");
    free(text);
    paved_metrics_free(m);
}

static void
test_series_cap(void **state)
{
    paved_metrics *m;
    char labels[32];
    char *text;
    int i;

    (void)state;
    assert_int_equal(paved_metrics_new(&m), 0);
    for (i = 0; i < 1005; i++) {
        snprintf(labels, sizeof(labels), "n=\"%d\"", i);
        paved_metrics_inc(m, "many", "Many.", labels, 1);
    }
    /* existing series still update after the cap */
    paved_metrics_inc(m, "many", "Many.", "n=\"999\"", 1);
    assert_true(paved_metrics_value(m, "many", "n=\"999\"") == 2.0);
    assert_true(paved_metrics_value(m, "many", "n=\"1000\"") == 0.0);
    assert_true(paved_metrics_value(m, "paved_metrics_dropped_series_total",
                                    "family=\"many\"") == 5.0);
    text = render(m);
    assert_non_null(strstr(text, "# TYPE paved_metrics_dropped_series_total "
                                 "counter\n"
                                 "paved_metrics_dropped_series_total{family="
                                 "\"many\"} 5\n"));
    free(text);
    paved_metrics_free(m);
}

static void
test_values_and_null(void **state)
{
    struct paved_buf b = PAVED_BUF_INIT(1 << 16);
    paved_metrics *m;

    (void)state;
    paved_metrics_free(NULL);
    paved_metrics_inc(NULL, "x", "X.", "", 1);
    assert_int_equal(paved_metrics_new(&m), 0);
    paved_metrics_set(m, "v", "V.", "k=\"a\"", 0.1);
    paved_metrics_set(m, "v", "V.", "k=\"b\"", 1e20);
    paved_metrics_set(m, "v", "V.", "k=\"c\"", -3);
    assert_int_equal(paved_metrics_render(m, &b), 0);
    assert_non_null(strstr(b.b_ptr, "v{k=\"a\"} 0.1\n"));
    assert_non_null(strstr(b.b_ptr, "v{k=\"b\"} 1e+20\n"));
    assert_non_null(strstr(b.b_ptr, "v{k=\"c\"} -3\n"));
    paved_buf_dispose(&b);
    paved_metrics_free(m);
}

static void
test_many_updates(void **state)
{
    static const char *const routes[] = {"route=\"a\"", "route=\"b\"",
                                         "route=\"c\""};
    paved_metrics *m;
    int i;

    (void)state;
    assert_int_equal(paved_metrics_new(&m), 0);
    for (i = 0; i < 300000; i++) {
        paved_metrics_inc(m, "req_total", "R.", routes[i % 3], 1);
        paved_metrics_observe(m, "req_seconds", "S.", routes[i % 3], 0.004);
    }
    assert_true(paved_metrics_value(m, "req_total", "route=\"b\"") == 100000.0);
    assert_true(paved_metrics_value(m, "req_seconds", "route=\"c\"") ==
                100000.0);
    paved_metrics_free(m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_gauge_text),
        cmocka_unit_test(test_histogram_buckets),
        cmocka_unit_test(test_histogram_no_labels),
        cmocka_unit_test(test_histogram_own_buckets),
        cmocka_unit_test(test_type_is_kept),
        cmocka_unit_test(test_same_name_other_pointer),
        cmocka_unit_test(test_series_cap),
        cmocka_unit_test(test_values_and_null),
        cmocka_unit_test(test_many_updates),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
