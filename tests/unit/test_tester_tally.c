/* Unit tests for src/tester/tally.c, report.c, live.c: nearest-rank
 * percentiles on known data, counts, rounds finalized in order whatever
 * order their requests finish in, the failover timeline (gaps, gone,
 * global gaps), the summary as JSON. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "tester/tester.h"

#define IV 100000 /* µs: a 100ms interval */

static void test_percentile_nearest_rank(void **state)
{
    (void)state;
    /* 1..100: the p-th percentile is p itself */
    uint32_t v[100];
    for (int i = 0; i < 100; i++)
        v[i] = (uint32_t)(i + 1);
    assert_int_equal(tester_percentile(v, 100, 50), 50);
    assert_int_equal(tester_percentile(v, 100, 90), 90);
    assert_int_equal(tester_percentile(v, 100, 99), 99);
    assert_int_equal(tester_percentile(v, 100, 100), 100);
    assert_int_equal(tester_percentile(v, 100, 0), 1);
    /* the classic example: 15 20 35 40 50 -> p30 = 20, p40 = 20, p50 = 35, p100 = 50 */
    uint32_t w[] = { 15, 20, 35, 40, 50 };
    assert_int_equal(tester_percentile(w, 5, 30), 20);
    assert_int_equal(tester_percentile(w, 5, 40), 20);
    assert_int_equal(tester_percentile(w, 5, 50), 35);
    assert_int_equal(tester_percentile(w, 5, 100), 50);
    assert_int_equal(tester_percentile(w, 0, 50), 0);
    uint32_t one[] = { 7 };
    assert_int_equal(tester_percentile(one, 1, 99), 7);
}

static void test_lat_summary_unsorted(void **state)
{
    (void)state;
    struct tester_lat l = { 0 };
    uint32_t data[] = { 900, 100, 500, 300, 700, 200, 800, 400, 1000, 600 };
    l.v = data;
    l.n = 10;
    struct tester_lat_summary s;
    tester_lat_summarize(&l, &s);
    assert_int_equal(s.n, 10);
    assert_int_equal(s.p50, 500); /* rank 5 */
    assert_int_equal(s.p90, 900); /* rank 9 */
    assert_int_equal(s.p99, 1000);
    assert_int_equal(s.max, 1000);
    assert_int_equal(data[0], 900); /* the samples stay as they were */
    l.n = 0;
    tester_lat_summarize(&l, &s);
    assert_int_equal(s.n, 0);
    assert_int_equal(s.max, 0);
}

/* One round of three direct targets; answered[i] NULL = target i refused. */
static void round3(struct tester_tally *t, uint64_t r, const char *a0, const char *a1,
                   const char *a2)
{
    const char *who[3] = { a0, a1, a2 };
    tester_tally_round(t, r, (int64_t)r * IV, 3);
    for (size_t i = 0; i < 3; i++) {
        struct tester_sample s = { .target = i, .round = r };
        if (who[i]) {
            s.outcome = TO_OK;
            s.status = 200;
            s.backend = who[i];
            s.latency_us = 1000 + (int64_t)i;
        } else {
            s.outcome = TO_REFUSED;
        }
        tester_tally_add(t, &s);
    }
}

static const struct tester_backend *backend(const struct tester_tally *t, const char *name)
{
    for (size_t i = 0; i < t->n_backends; i++)
        if (strcmp(t->backends[i].name, name) == 0)
            return &t->backends[i];
    static const struct tester_backend none = { .name = "(none)" };
    fail_msg("no backend %s", name);
    return &none;
}

static int count_events(struct tester_tally *t, enum tester_event_kind kind, const char *name,
                        struct tester_event *last)
{
    struct tester_event e;
    int n = 0;
    while (tester_tally_event(t, &e)) {
        if (e.kind == kind && (!name || strcmp(e.backend, name) == 0)) {
            n++;
            if (last)
                *last = e;
        }
    }
    return n;
}

static void test_threshold(void **state)
{
    (void)state;
    assert_int_equal(tester_gap_threshold(0, 0), 2);
    /* always answered, long history: 2 rounds, as the issue says */
    assert_int_equal(tester_gap_threshold(100, 100), 2);
    /* a short history is less sure */
    assert_true(tester_gap_threshold(1, 1) > 2);
    /* a third of the rounds (one VIP, three backends): ln(0.001)/ln(2/3) = 17.04 */
    assert_int_equal(tester_gap_threshold(300, 899), 18);
}

/* b2 answers, stops for 10 rounds (refused) while b1 and b3 answer, comes
 * back: one gap with the right start, length and rounds; then stops for good:
 * gone since the first missed round. */
static void test_gap_then_gone(void **state)
{
    (void)state;
    struct tester_tally t;
    tester_tally_init(&t, 3, IV, 5);
    uint64_t r = 0;
    for (; r < 40; r++)
        round3(&t, r, "b1", "b2", "b3");
    for (; r < 50; r++)
        round3(&t, r, "b1", NULL, "b3");
    for (; r < 90; r++)
        round3(&t, r, "b1", "b2", "b3");
    for (; r < 100; r++)
        round3(&t, r, "b1", NULL, "b3");
    assert_int_equal(t.rounds_final, 100);
    assert_int_equal(t.requests, 300);
    assert_int_equal(t.failed, 20);
    assert_int_equal(t.outcomes[TO_REFUSED], 20);
    assert_int_equal(t.targets[1].outcomes[TO_REFUSED], 20);
    assert_int_equal(t.targets[0].outcomes[TO_REFUSED], 0);
    const struct tester_backend *b2 = backend(&t, "b2");
    assert_int_equal(b2->answers, 80);
    assert_int_equal(b2->n_gaps, 1);
    assert_int_equal(b2->gaps[0].start_us, 40 * IV);
    assert_int_equal(b2->gaps[0].length_us, 10 * IV);
    assert_int_equal(b2->gaps[0].rounds, 10);
    assert_true(tester_backend_gone(b2));
    assert_int_equal(b2->silence_start_us, 90 * IV);
    assert_int_equal(b2->first_seen_us, 0);
    assert_int_equal(b2->last_seen_us, 89 * IV);
    /* the recent window (5 rounds) no longer has it */
    assert_int_equal(b2->recent_sum, 0);
    assert_int_equal(backend(&t, "b1")->recent_sum, 5);
    assert_false(tester_backend_gone(backend(&t, "b1")));
    assert_int_equal(backend(&t, "b1")->n_gaps, 0);
    struct tester_event e;
    assert_true(tester_tally_event(&t, &e)); /* first the three first-seen */
    assert_int_equal(e.kind, TE_FIRST_SEEN);
    assert_int_equal(count_events(&t, TE_MISSING, "b2", &e), 2);
    assert_int_equal(e.at_us, 90 * IV);
    assert_int_equal(t.n_ggaps, 0);
    tester_tally_free(&t);
}

/* A silence of 2 rounds is not a gap (the "more than 2 intervals"). */
static void test_short_silence(void **state)
{
    (void)state;
    struct tester_tally t;
    tester_tally_init(&t, 3, IV, 10);
    uint64_t r = 0;
    for (; r < 50; r++)
        round3(&t, r, "b1", "b2", "b3");
    round3(&t, r++, "b1", NULL, "b3");
    round3(&t, r++, "b1", NULL, "b3");
    for (; r < 152; r++)
        round3(&t, r, "b1", "b2", "b3");
    assert_int_equal(backend(&t, "b2")->n_gaps, 0);
    assert_int_equal(count_events(&t, TE_MISSING, NULL, NULL), 0);
    round3(&t, r++, "b1", NULL, "b3");
    round3(&t, r++, "b1", NULL, "b3");
    round3(&t, r++, "b1", NULL, "b3");
    assert_int_equal(count_events(&t, TE_MISSING, "b2", NULL), 1);
    tester_tally_free(&t);
}

/* Every request fails for 4 rounds: a global gap, not a backend's silence. */
static void test_global_gap(void **state)
{
    (void)state;
    struct tester_tally t;
    tester_tally_init(&t, 3, IV, 10);
    uint64_t r = 0;
    for (; r < 50; r++)
        round3(&t, r, "b1", "b2", "b3");
    for (; r < 54; r++)
        round3(&t, r, NULL, NULL, NULL);
    for (; r < 60; r++)
        round3(&t, r, "b1", "b2", "b3");
    for (; r < 62; r++)
        round3(&t, r, NULL, NULL, NULL);
    assert_int_equal(t.n_ggaps, 2);
    assert_int_equal(t.ggaps[0].start_us, 50 * IV);
    assert_int_equal(t.ggaps[0].length_us, 4 * IV);
    assert_int_equal(t.ggaps[0].rounds, 4);
    assert_false(t.ggaps[0].open);
    assert_true(t.ggaps[1].open);
    assert_int_equal(t.ggaps[1].rounds, 2);
    for (size_t i = 0; i < t.n_backends; i++) {
        assert_int_equal(t.backends[i].n_gaps, 0);
        assert_false(tester_backend_gone(&t.backends[i]));
    }
    struct tester_event e;
    assert_int_equal(count_events(&t, TE_ANSWER_AGAIN, NULL, &e), 1);
    assert_int_equal(e.length_us, 4 * IV);
    tester_tally_free(&t);
}

/* Requests finish out of order: round 0's timeout comes in after round 2's
 * answers; the timeline still sees rounds 0, 1, 2 in order. */
static void test_out_of_order(void **state)
{
    (void)state;
    struct tester_tally t;
    tester_tally_init(&t, 1, IV, 10);
    struct tester_sample ok = { .outcome = TO_OK, .status = 200, .backend = "b1" };
    struct tester_sample to = { .outcome = TO_TIMEOUT };
    tester_tally_round(&t, 0, 0, 1);
    tester_tally_round(&t, 1, IV, 1);
    tester_tally_round(&t, 2, 2 * IV, 1);
    ok.round = 1;
    tester_tally_add(&t, &ok);
    ok.round = 2;
    tester_tally_add(&t, &ok);
    assert_int_equal(t.rounds_final, 0); /* round 0 still pending */
    assert_int_equal(t.requests, 2);     /* but counted */
    to.round = 0;
    tester_tally_add(&t, &to);
    assert_int_equal(t.rounds_final, 3);
    assert_int_equal(t.n_ggaps, 1); /* round 0: every request failed */
    assert_int_equal(t.ggaps[0].start_us, 0);
    assert_int_equal(t.ggaps[0].length_us, IV);
    assert_int_equal(backend(&t, "b1")->first_seen_us, IV);
    /* flush finalizes what is pending */
    tester_tally_round(&t, 3, 3 * IV, 1);
    assert_int_equal(t.rounds_final, 3);
    tester_tally_flush(&t);
    assert_int_equal(t.rounds_final, 4);
    tester_tally_free(&t);
}

/* Status classes per backend; a response without a name is "(unknown)". */
static void test_status_and_unknown(void **state)
{
    (void)state;
    struct tester_tally t;
    tester_tally_init(&t, 1, IV, 10);
    long statuses[] = { 200, 301, 404, 503, 200 };
    const char *who[] = { "a", "a", "a", "a", NULL };
    for (uint64_t r = 0; r < 5; r++) {
        tester_tally_round(&t, r, (int64_t)r * IV, 1);
        struct tester_sample s = { .round = r,
                                   .status = statuses[r],
                                   .backend = who[r],
                                   .outcome = tester_classify(0, 0, statuses[r]),
                                   .latency_us = 10 };
        tester_tally_add(&t, &s);
    }
    const struct tester_backend *a = backend(&t, "a");
    assert_int_equal(a->answers, 4);
    assert_int_equal(a->status[0], 1);
    assert_int_equal(a->status[1], 1);
    assert_int_equal(a->status[2], 1);
    assert_int_equal(a->status[3], 1);
    assert_int_equal(t.outcomes[TO_HTTP_4XX], 1);
    assert_int_equal(t.outcomes[TO_HTTP_5XX], 1);
    assert_int_equal(t.failed, 2);
    assert_int_equal(backend(&t, "(unknown)")->answers, 1);
    assert_int_equal(t.lat.n, 5);
    tester_tally_free(&t);
}

static void test_json_summary(void **state)
{
    (void)state;
    struct tester_tally t;
    tester_tally_init(&t, 3, IV, 5);
    uint64_t r = 0;
    for (; r < 40; r++)
        round3(&t, r, "b1", "b2", "b3");
    for (; r < 50; r++)
        round3(&t, r, "b1", NULL, "b3");
    struct tester_target tg[3] = { { .url = "http://198.18.1.2/" },
                                   { .url = "http://198.18.2.2/" },
                                   { .url = "http://[2001:db8:3::2]/" } };
    struct tester_opts o = {
        .interval_ns = 100000000, .timeout_ns = 1000000000, .targets = tg, .n_targets = 3
    };
    struct strbuf sb = STRBUF_INIT;
    tester_report_json(&sb, &t, &o, 5000000);
    const char *j = strbuf_str(&sb);
    assert_non_null(strstr(j, "\"requests\": 150, \"ok\": 140, \"failed\": 10"));
    assert_non_null(strstr(j, "{\"name\": \"b2\", \"answers\": 40,"));
    assert_non_null(strstr(j, "\"gone\": true, \"gone_since_us\": 4000000}"));
    assert_non_null(strstr(j, "\"url\": \"http://198.18.2.2/\", \"requests\": 50, \"ok\": 40"));
    assert_non_null(strstr(j, "\"errors\": {\"refused\": 10,"));
    /* backends by name */
    assert_true(strstr(j, "\"b1\"") < strstr(j, "\"b2\""));
    assert_true(strstr(j, "\"b2\"") < strstr(j, "\"b3\""));
    strbuf_reset(&sb);
    tester_report_text(&sb, &t, &o, 5000000);
    assert_non_null(strstr(strbuf_str(&sb), "gone since 4.0s"));
    strbuf_reset(&sb);
    tester_live_line(&sb, &t, 5000000);
    assert_non_null(strstr(strbuf_str(&sb), "b2 0.0%"));
    assert_non_null(strstr(strbuf_str(&sb), "b1 50.0%"));
    strbuf_reset(&sb);
    tester_live_screen(&sb, &t, &o, 5000000);
    assert_non_null(strstr(strbuf_str(&sb), "MISSING since 4.0s"));
    strbuf_free(&sb);
    tester_tally_free(&t);
}

static void test_fmt_us(void **state)
{
    (void)state;
    char b[32];
    tester_fmt_us(b, sizeof(b), 45);
    assert_string_equal(b, "45µs");
    tester_fmt_us(b, sizeof(b), 1200);
    assert_string_equal(b, "1.2ms");
    tester_fmt_us(b, sizeof(b), 850000);
    assert_string_equal(b, "850ms");
    tester_fmt_us(b, sizeof(b), 12300000);
    assert_string_equal(b, "12.3s");
    tester_fmt_us(b, sizeof(b), 90500000);
    assert_string_equal(b, "1m30.5s");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percentile_nearest_rank),
        cmocka_unit_test(test_lat_summary_unsorted),
        cmocka_unit_test(test_threshold),
        cmocka_unit_test(test_gap_then_gone),
        cmocka_unit_test(test_short_silence),
        cmocka_unit_test(test_global_gap),
        cmocka_unit_test(test_out_of_order),
        cmocka_unit_test(test_status_and_unknown),
        cmocka_unit_test(test_json_summary),
        cmocka_unit_test(test_fmt_us),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
