/* Unit tests for src/metrics/expo.c: the Prometheus text (0.0.4) and
 * OpenMetrics 1.0.0 exposition writer. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"

/* The writer's text so far (NUL-terminated). */
static const char *text(const struct mx_writer *w)
{
    return w->buf ? w->buf : "";
}

static void test_counter_text(void **state)
{
    (void)state;
    struct mx_writer w;
    mx_init(&w, false);
    mx_family(&w, "maglev_x", MX_COUNTER, "Things counted.");
    struct mx_label l[] = { { "result", "success" } };
    mx_sample_u64(&w, l, 1, 42);
    mx_sample_u64(&w, NULL, 0, 18446744073709551615ULL);
    mx_finish(&w);
    assert_string_equal(text(&w), "# HELP maglev_x_total Things counted.\n"
                                  "# TYPE maglev_x_total counter\n"
                                  "maglev_x_total{result=\"success\"} 42\n"
                                  "maglev_x_total 18446744073709551615\n");
    assert_int_equal(w.series, 2);
    mx_free(&w);
}

static void test_counter_openmetrics(void **state)
{
    (void)state;
    struct mx_writer w;
    mx_init(&w, true);
    mx_family(&w, "maglev_x", MX_COUNTER, "Things counted.");
    mx_sample_u64(&w, NULL, 0, 7);
    mx_family(&w, "maglev_g", MX_GAUGE, "A level.");
    mx_sample_double(&w, NULL, 0, 0.5);
    mx_finish(&w);
    size_t len = 0;
    char *t = mx_detach(&w, &len);
    /* the family's name has no _total, its samples do; # EOF ends it all */
    assert_string_equal(t, "# HELP maglev_x Things counted.\n"
                           "# TYPE maglev_x counter\n"
                           "maglev_x_total 7\n"
                           "# HELP maglev_g A level.\n"
                           "# TYPE maglev_g gauge\n"
                           "maglev_g 0.5\n"
                           "# EOF\n");
    assert_int_equal(len, strlen(t));
    free(t);
    mx_free(&w);
}

static void test_empty(void **state)
{
    (void)state;
    struct mx_writer w;
    mx_init(&w, false);
    mx_finish(&w);
    assert_string_equal(text(&w), "");
    mx_free(&w);
    mx_init(&w, true);
    mx_finish(&w);
    assert_string_equal(text(&w), "# EOF\n");
    mx_free(&w);
}

static void test_label_escaping(void **state)
{
    (void)state;
    struct mx_writer w;
    mx_init(&w, false);
    mx_family(&w, "maglev_g", MX_GAUGE, "h");
    mx_begin(&w, NULL);
    mx_label(&w, "a", "back\\slash \"quoted\"\nnew line");
    mx_label(&w, "b", "");
    mx_label(&w, "c", "ünïcode");
    mx_end_i64(&w, -5);
    const char *t = strstr(text(&w), "maglev_g{");
    assert_non_null(t);
    assert_string_equal(t, "maglev_g{a=\"back\\\\slash \\\"quoted\\\"\\nnew line\",b=\"\","
                           "c=\"ünïcode\"} -5\n");
    mx_free(&w);
}

static void test_help_escaping(void **state)
{
    (void)state;
    struct mx_writer w;
    /* 0.0.4: \ and newline escaped in HELP, " not */
    mx_init(&w, false);
    mx_family(&w, "m", MX_GAUGE, "a \\ b \"c\"\nd");
    assert_string_equal(text(&w), "# HELP m a \\\\ b \"c\"\\nd\n# TYPE m gauge\n");
    mx_free(&w);
    /* OpenMetrics: " too */
    mx_init(&w, true);
    mx_family(&w, "m", MX_GAUGE, "a \\ b \"c\"\nd");
    assert_string_equal(text(&w), "# HELP m a \\\\ b \\\"c\\\"\\nd\n# TYPE m gauge\n");
    mx_free(&w);
}

static void test_histogram(void **state)
{
    (void)state;
    static const double bounds[] = { 0.005, 0.1, 1, 10 };
    /* per bucket: 2 <= 0.005, 0 in (0.005, 0.1], 3 in (0.1, 1], 1 in (1, 10], 4 above */
    static const uint64_t counts[] = { 2, 0, 3, 1, 4 };
    struct mx_writer w;
    mx_init(&w, false);
    mx_family(&w, "maglev_d_seconds", MX_HISTOGRAM, "Durations.");
    struct mx_label l[] = { { "type", "tcp" } };
    mx_histogram(&w, l, 1, bounds, 4, counts, 123.25);
    assert_string_equal(text(&w), "# HELP maglev_d_seconds Durations.\n"
                                  "# TYPE maglev_d_seconds histogram\n"
                                  "maglev_d_seconds_bucket{type=\"tcp\",le=\"0.005\"} 2\n"
                                  "maglev_d_seconds_bucket{type=\"tcp\",le=\"0.1\"} 2\n"
                                  "maglev_d_seconds_bucket{type=\"tcp\",le=\"1\"} 5\n"
                                  "maglev_d_seconds_bucket{type=\"tcp\",le=\"10\"} 6\n"
                                  "maglev_d_seconds_bucket{type=\"tcp\",le=\"+Inf\"} 10\n"
                                  "maglev_d_seconds_sum{type=\"tcp\"} 123.25\n"
                                  "maglev_d_seconds_count{type=\"tcp\"} 10\n");
    mx_free(&w);
    /* OpenMetrics: le values are floats ("1.0"), no labels of our own */
    mx_init(&w, true);
    mx_family(&w, "maglev_d_seconds", MX_HISTOGRAM, "Durations.");
    mx_histogram(&w, NULL, 0, bounds, 4, counts, 0);
    mx_finish(&w);
    assert_non_null(strstr(text(&w), "maglev_d_seconds_bucket{le=\"0.005\"} 2\n"));
    assert_non_null(strstr(text(&w), "maglev_d_seconds_bucket{le=\"1.0\"} 5\n"));
    assert_non_null(strstr(text(&w), "maglev_d_seconds_bucket{le=\"10.0\"} 6\n"));
    assert_non_null(strstr(text(&w), "maglev_d_seconds_bucket{le=\"+Inf\"} 10\n"));
    assert_non_null(strstr(text(&w), "maglev_d_seconds_count 10\n# EOF\n"));
    mx_free(&w);
}

static void test_histogram_cumulative_monotonic(void **state)
{
    (void)state;
    double bounds[13];
    uint64_t counts[14];
    for (size_t i = 0; i < 13; i++)
        bounds[i] = 0.001 * (double)(i + 1) * (double)(i + 1);
    for (size_t i = 0; i < 14; i++)
        counts[i] = (uint64_t)(i * 7 % 5);
    struct mx_writer w;
    mx_init(&w, false);
    mx_family(&w, "h", MX_HISTOGRAM, "x");
    mx_histogram(&w, NULL, 0, bounds, 13, counts, 1);
    /* every bucket line's value is >= the previous one, +Inf is the total */
    uint64_t prev = 0, total = 0, inf = 0;
    for (size_t i = 0; i < 14; i++)
        total += counts[i];
    for (const char *p = strstr(text(&w), "h_bucket"); p; p = strstr(p + 1, "h_bucket")) {
        const char *sp = strchr(p, ' ');
        uint64_t v = strtoull(sp + 1, NULL, 10);
        assert_true(v >= prev);
        prev = v;
        if (strstr(p, "le=\"+Inf\"") && strstr(p, "le=\"+Inf\"") < sp)
            inf = v;
    }
    assert_int_equal(inf, total);
    mx_free(&w);
}

static const char *fmt(double v, struct mx_writer *w)
{
    mx_free(w);
    mx_init(w, false);
    mx_format_double(w, v);
    return text(w);
}

static void test_doubles(void **state)
{
    (void)state;
    struct mx_writer w;
    mx_init(&w, false);
    assert_string_equal(fmt(0, &w), "0");
    assert_string_equal(fmt(-3, &w), "-3");
    assert_string_equal(fmt(0.1, &w), "0.1");
    assert_string_equal(fmt(1796459535.392994, &w), "1796459535.392994");
    assert_string_equal(fmt(NAN, &w), "NaN");
    assert_string_equal(fmt(INFINITY, &w), "+Inf");
    assert_string_equal(fmt(-INFINITY, &w), "-Inf");
    /* whatever the digits, they read back as the value */
    static const double vs[] = { 0.0016820000000000001, 1e-7, 1.0 / 3, 6.02214076e23, -2.5e-300 };
    for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++)
        assert_true(strtod(fmt(vs[i], &w), NULL) == vs[i]);
    assert_string_equal(fmt(0.001682, &w), "0.001682");
    mx_free(&w);
}

static void test_suffix_and_labels(void **state)
{
    (void)state;
    struct mx_writer w;
    mx_init(&w, false);
    mx_family(&w, "m", MX_GAUGE, "x");
    mx_begin(&w, "_info");
    mx_end_u64(&w, 1);
    mx_begin(&w, NULL);
    mx_label(&w, "k", "v");
    mx_end_double(&w, 2.5);
    assert_non_null(strstr(text(&w), "\nm_info 1\nm{k=\"v\"} 2.5\n"));
    mx_free(&w);
}

static void test_accept(void **state)
{
    (void)state;
    /* what Prometheus 2.x sends */
    assert_true(mx_accepts_openmetrics(
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
        "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"));
    assert_true(mx_accepts_openmetrics("Application/OpenMetrics-Text; version=1.0.0"));
    assert_false(mx_accepts_openmetrics("text/plain;version=0.0.4"));
    assert_false(mx_accepts_openmetrics("*/*"));
    assert_false(mx_accepts_openmetrics("application/openmetrics-text;q=0, text/plain"));
    assert_false(mx_accepts_openmetrics(""));
    assert_false(mx_accepts_openmetrics(NULL));
}

static void test_growth(void **state)
{
    (void)state;
    struct mx_writer w;
    mx_init(&w, false);
    mx_family(&w, "maglev_backend_state", MX_GAUGE, "x");
    char name[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(name, sizeof(name), "backend-%05d", i);
        mx_begin(&w, NULL);
        mx_label(&w, "backend", name);
        mx_end_u64(&w, (uint64_t)i);
    }
    assert_int_equal(w.series, 20000);
    assert_int_equal(strlen(text(&w)), w.len);
    assert_non_null(strstr(text(&w), "maglev_backend_state{backend=\"backend-19999\"} 19999\n"));
    mx_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_text),
        cmocka_unit_test(test_counter_openmetrics),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_label_escaping),
        cmocka_unit_test(test_help_escaping),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_histogram_cumulative_monotonic),
        cmocka_unit_test(test_doubles),
        cmocka_unit_test(test_suffix_and_labels),
        cmocka_unit_test(test_accept),
        cmocka_unit_test(test_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
