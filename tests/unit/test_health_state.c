/* Unit tests for the pure health core: state machine, intervals, jitter,
 * history, result codes and HTTP response checks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <string.h>

#include "common/duration.h"
#include "health/result.h"
#include "health/state.h"

static int step(struct health_sm *sm, enum health_event ev)
{
    enum backend_state from;
    return health_sm_step(sm, ev, &from);
}

static void test_unknown_edges(void **state)
{
    (void)state;
    struct health_sm sm;
    health_sm_init(&sm, 3, 2);
    assert_int_equal(sm.state, BS_UNKNOWN);
    assert_int_equal(sm.counter, 2); /* rise - 1 */
    enum backend_state from = BS_REMOVED;
    assert_int_equal(health_sm_step(&sm, HE_PASS, &from), 1);
    assert_int_equal(from, BS_UNKNOWN);
    assert_int_equal(sm.state, BS_UP);
    assert_int_equal(sm.counter, 4); /* rise + fall - 1 */
    health_sm_init(&sm, 3, 2);
    assert_int_equal(step(&sm, HE_FAIL), 1); /* first failure while unknown: down at once */
    assert_int_equal(sm.state, BS_DOWN);
    assert_int_equal(sm.counter, 0);
}

static void test_fall_and_rise(void **state)
{
    (void)state;
    for (uint32_t rise = 1; rise <= 5; rise++) {
        for (uint32_t fall = 1; fall <= 5; fall++) {
            struct health_sm sm;
            health_sm_init(&sm, rise, fall);
            assert_int_equal(step(&sm, HE_PASS), 1);
            assert_int_equal(sm.state, BS_UP);
            /* fall - 1 failures keep it up, the fall-th takes it down */
            for (uint32_t i = 1; i < fall; i++) {
                assert_int_equal(step(&sm, HE_FAIL), 0);
                assert_int_equal(sm.state, BS_UP);
            }
            assert_int_equal(step(&sm, HE_FAIL), 1);
            assert_int_equal(sm.state, BS_DOWN);
            assert_int_equal(sm.counter, 0);
            /* rise - 1 passes keep it down, the rise-th brings it up */
            for (uint32_t i = 1; i < rise; i++) {
                assert_int_equal(step(&sm, HE_PASS), 0);
                assert_int_equal(sm.state, BS_DOWN);
                assert_int_equal(sm.counter, i);
            }
            assert_int_equal(step(&sm, HE_PASS), 1);
            assert_int_equal(sm.state, BS_UP);
            assert_int_equal(sm.counter, rise + fall - 1);
        }
    }
}

static void test_hysteresis(void **state)
{
    (void)state;
    struct health_sm sm;
    health_sm_init(&sm, 2, 3);
    step(&sm, HE_PASS); /* up, counter 4 */
    assert_int_equal(step(&sm, HE_FAIL), 0);
    assert_int_equal(sm.counter, 3);
    assert_int_equal(step(&sm, HE_PASS), 0); /* one pass restores it fully */
    assert_int_equal(sm.counter, 4);
    step(&sm, HE_FAIL);
    step(&sm, HE_FAIL);
    assert_int_equal(step(&sm, HE_FAIL), 1);
    assert_int_equal(sm.state, BS_DOWN);
    /* while down: pass, fail, pass does not bring it up (2 needed in a row) */
    assert_int_equal(step(&sm, HE_PASS), 0);
    assert_int_equal(step(&sm, HE_FAIL), 0);
    assert_int_equal(sm.counter, 0);
    assert_int_equal(step(&sm, HE_PASS), 0);
    assert_int_equal(sm.state, BS_DOWN);
    assert_int_equal(step(&sm, HE_PASS), 1);
    assert_int_equal(sm.state, BS_UP);
    /* passes while fully up change nothing */
    assert_int_equal(step(&sm, HE_PASS), 0);
    assert_int_equal(sm.counter, 4);
    /* failures while fully down change nothing */
    health_sm_init(&sm, 2, 3);
    step(&sm, HE_FAIL);
    assert_int_equal(step(&sm, HE_FAIL), 0);
    assert_int_equal(sm.counter, 0);
}

static void test_pause_resume(void **state)
{
    (void)state;
    struct health_sm sm;
    health_sm_init(&sm, 3, 3);
    step(&sm, HE_PASS);
    assert_int_equal(step(&sm, HE_PAUSE), 1);
    assert_int_equal(sm.state, BS_PAUSED);
    assert_false(health_sm_probing(&sm));
    assert_int_equal(step(&sm, HE_PAUSE), 0);
    /* results for a paused backend are discarded */
    assert_int_equal(step(&sm, HE_FAIL), 0);
    assert_int_equal(step(&sm, HE_PASS), 0);
    assert_int_equal(sm.state, BS_PAUSED);
    assert_int_equal(step(&sm, HE_RESUME), 1);
    assert_int_equal(sm.state, BS_UNKNOWN);
    assert_int_equal(sm.counter, 2);           /* preset rise - 1 */
    assert_int_equal(step(&sm, HE_RESUME), 0); /* not paused: nothing to do */
    /* pause and resume of a disabled backend are errors */
    step(&sm, HE_DISABLE);
    assert_int_equal(step(&sm, HE_PAUSE), -EPERM);
    assert_int_equal(step(&sm, HE_RESUME), -EPERM);
    assert_int_equal(sm.state, BS_DISABLED);
}

static void test_disable_enable(void **state)
{
    (void)state;
    struct health_sm sm;
    health_sm_init(&sm, 2, 2);
    step(&sm, HE_FAIL);
    assert_int_equal(step(&sm, HE_DISABLE), 1);
    assert_int_equal(sm.state, BS_DISABLED);
    assert_int_equal(step(&sm, HE_DISABLE), 0);
    assert_int_equal(step(&sm, HE_PASS), 0);
    assert_int_equal(step(&sm, HE_STATIC), 0);
    assert_int_equal(step(&sm, HE_RESTART), 0); /* config change keeps it disabled */
    assert_int_equal(sm.state, BS_DISABLED);
    assert_int_equal(step(&sm, HE_ENABLE), 1);
    assert_int_equal(sm.state, BS_UNKNOWN);
    assert_int_equal(sm.counter, 1);
    assert_int_equal(step(&sm, HE_ENABLE), 0);
    /* a paused backend may be disabled; enable then starts it afresh */
    step(&sm, HE_PAUSE);
    assert_int_equal(step(&sm, HE_DISABLE), 1);
    assert_int_equal(step(&sm, HE_ENABLE), 1);
    assert_int_equal(sm.state, BS_UNKNOWN);
}

static void test_restart_static_remove(void **state)
{
    (void)state;
    struct health_sm sm;
    health_sm_init(&sm, 2, 2);
    step(&sm, HE_PASS);
    assert_int_equal(step(&sm, HE_RESTART), 1);
    assert_int_equal(sm.state, BS_UNKNOWN);
    assert_int_equal(step(&sm, HE_RESTART), 0);
    step(&sm, HE_PAUSE);
    assert_int_equal(step(&sm, HE_RESTART), 0);
    assert_int_equal(sm.state, BS_PAUSED);
    health_sm_init(&sm, 1, 1);
    assert_int_equal(step(&sm, HE_STATIC), 1);
    assert_int_equal(sm.state, BS_UP);
    assert_int_equal(step(&sm, HE_REMOVE), 1);
    assert_int_equal(sm.state, BS_REMOVED);
    assert_int_equal(step(&sm, HE_PASS), 0);
    assert_int_equal(step(&sm, HE_ENABLE), -EPERM);
    assert_int_equal(step(&sm, HE_PAUSE), -EPERM);
    assert_int_equal(step(&sm, HE_REMOVE), -EPERM);
    assert_int_equal(sm.state, BS_REMOVED);
}

static void test_intervals(void **state)
{
    (void)state;
    struct healthcheck_conf hc = { .interval = 2 * DURATION_SEC,
                                   .fast_interval = 500 * DURATION_MS,
                                   .down_interval = 10 * DURATION_SEC };
    struct health_sm sm;
    health_sm_init(&sm, 2, 3);
    assert_int_equal(health_interval(&hc, &sm), hc.fast_interval); /* unknown */
    step(&sm, HE_PASS);
    assert_int_equal(health_interval(&hc, &sm), hc.interval); /* fully up */
    step(&sm, HE_FAIL);
    assert_int_equal(health_interval(&hc, &sm), hc.fast_interval); /* going down? */
    step(&sm, HE_FAIL);
    step(&sm, HE_FAIL);
    assert_int_equal(sm.state, BS_DOWN);
    assert_int_equal(health_interval(&hc, &sm), hc.down_interval); /* fully down */
    step(&sm, HE_PASS);
    assert_int_equal(health_interval(&hc, &sm), hc.fast_interval); /* coming up? */
    /* rise = fall = 1: unknown still probes fast */
    health_sm_init(&sm, 1, 1);
    assert_int_equal(health_interval(&hc, &sm), hc.fast_interval);
}

static void test_jitter_bounds(void **state)
{
    (void)state;
    uint64_t rng = health_rng_seed("b", 1);
    int64_t iv = 1000 * DURATION_MS, lo = INT64_MAX, hi = 0;
    double sum = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        int64_t j = health_jitter(iv, &rng);
        assert_true(j >= iv * 9 / 10 && j <= iv * 11 / 10);
        lo = j < lo ? j : lo;
        hi = j > hi ? j : hi;
        sum += (double)j;
    }
    assert_true(lo < iv * 901 / 1000); /* the whole range is used */
    assert_true(hi > iv * 1099 / 1000);
    double mean = sum / n;
    assert_true(mean > (double)iv * 0.998 && mean < (double)iv * 1.002);
    for (int i = 0; i < n; i++) {
        int64_t d = health_first_delay(iv, &rng);
        assert_true(d >= 0 && d < iv);
    }
    /* different backends get different sequences */
    uint64_t a = health_rng_seed("a", 7), b = health_rng_seed("b", 7);
    assert_true(health_rng_next(&a) != health_rng_next(&b));
}

static void test_history(void **state)
{
    (void)state;
    struct health_history h;
    health_history_init(&h, 3);
    for (int i = 0; i < 5; i++) {
        struct health_transition t = { .time_us = i };
        health_history_push(&h, &t);
    }
    assert_int_equal(h.len, 3);
    assert_int_equal(health_history_at(&h, 0)->time_us, 2);
    assert_int_equal(health_history_at(&h, 2)->time_us, 4);
    assert_null(health_history_at(&h, 3));
    health_history_resize(&h, 2); /* keeps the newest */
    assert_int_equal(h.len, 2);
    assert_int_equal(health_history_at(&h, 0)->time_us, 3);
    health_history_resize(&h, 10);
    assert_int_equal(h.len, 2);
    assert_int_equal(health_history_at(&h, 1)->time_us, 4);
    health_history_free(&h);
}

static void test_codes(void **state)
{
    (void)state;
    assert_string_equal(probe_code_name(PC_L4OK), "L4OK");
    assert_string_equal(probe_code_name(PC_L7STS), "L7STS");
    assert_string_equal(probe_code_name(PC_L6TOUT), "L6TOUT");
    assert_string_equal(probe_code_name(PC_DISABLED), "disabled");
    assert_string_equal(probe_code_name(PC__COUNT), "?");
    for (int c = 0; c < PC__COUNT; c++)
        assert_string_not_equal(probe_code_name((enum probe_code)c), "?");
    assert_true(probe_code_passed(PC_L4OK));
    assert_true(probe_code_passed(PC_L7OK));
    assert_false(probe_code_passed(PC_L7STS));
    assert_false(probe_code_passed(PC_L4TOUT));
    assert_false(probe_code_passed(PC_SOCKERR));
    assert_string_equal(health_state_name(BS_DISABLED), "disabled");
    struct probe_result r;
    probe_result_from_errno(ECONNREFUSED, &r);
    assert_int_equal(r.code, PC_L4CON);
    assert_string_equal(r.detail, "connection refused");
    probe_result_from_errno(ETIMEDOUT, &r);
    assert_int_equal(r.code, PC_L4TOUT);
    probe_result_from_errno(EHOSTUNREACH, &r);
    assert_string_equal(r.detail, "host unreachable");
}

static void test_http_response(void **state)
{
    (void)state;
    struct code_range codes[] = { { 200, 299 }, { 404, 404 } };
    struct healthcheck_conf hc = { .codes = codes, .n_codes = 2 };
    struct probe_result r;
    http_check_response(&hc, NULL, 200, "", 0, &r);
    assert_int_equal(r.code, PC_L7OK);
    assert_string_equal(r.detail, "HTTP 200");
    http_check_response(&hc, NULL, 299, NULL, 0, &r);
    assert_int_equal(r.code, PC_L7OK);
    http_check_response(&hc, NULL, 404, NULL, 0, &r);
    assert_int_equal(r.code, PC_L7OK);
    http_check_response(&hc, NULL, 300, NULL, 0, &r);
    assert_int_equal(r.code, PC_L7STS);
    assert_string_equal(r.detail, "HTTP 300");
    http_check_response(&hc, NULL, 503, NULL, 0, &r);
    assert_string_equal(r.detail, "HTTP 503");
    http_check_response(&hc, NULL, 0, NULL, 0, &r);
    assert_int_equal(r.code, PC_L7RSP);
    int err;
    PCRE2_SIZE off;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR) "ok|healthy", PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
    assert_non_null(re);
    const char body[] = "status: healthy\n";
    http_check_response(&hc, re, 200, body, strlen(body), &r);
    assert_int_equal(r.code, PC_L7OK);
    http_check_response(&hc, re, 200, "sick", 4, &r);
    assert_int_equal(r.code, PC_L7RSP);
    assert_string_equal(r.detail, "HTTP 200, regex did not match");
    /* the status is checked before the body */
    http_check_response(&hc, re, 500, body, strlen(body), &r);
    assert_int_equal(r.code, PC_L7STS);
    /* a body with NUL bytes is matched whole, not up to the NUL */
    http_check_response(&hc, re, 200, "\0\0ok", 4, &r);
    assert_int_equal(r.code, PC_L7OK);
    pcre2_code_free(re);
}

/* The watchdog's rules: when a backend is stale, when lateness degrades
 * the checker, which results are the checker's own failure. */
static void test_watch_rules(void **state)
{
    (void)state;
    struct healthcheck_conf hc = { .interval = 2 * DURATION_SEC,
                                   .fast_interval = 500 * DURATION_MS,
                                   .down_interval = 10 * DURATION_SEC };
    struct health_sm sm;
    health_sm_init(&sm, 2, 3);
    /* unknown probes fast, but its first probe is spread over interval */
    assert_int_equal(health_stale_after(&hc, &sm), 6 * DURATION_SEC);
    step(&sm, HE_PASS);
    assert_int_equal(health_stale_after(&hc, &sm), 6 * DURATION_SEC); /* fully up */
    step(&sm, HE_FAIL);
    step(&sm, HE_FAIL);
    step(&sm, HE_FAIL);
    assert_int_equal(sm.state, BS_DOWN);
    assert_int_equal(health_stale_after(&hc, &sm), 30 * DURATION_SEC); /* the longer down */
    /* p99 of lateness over the interval: more than 1% of starts late */
    assert_false(health_late_exceeds(0, 0));
    assert_false(health_late_exceeds(1000, 10)); /* exactly 1%: the p99 is on time */
    assert_true(health_late_exceeds(1000, 11));
    assert_true(health_late_exceeds(30, 1)); /* few starts: one late one is over 1% */
    assert_false(health_late_exceeds(100000, 0));
    /* reasons */
    char buf[96];
    assert_int_equal(health_watch_reasons(0, 0, 1000, 10), 0);
    assert_string_equal(health_watch_reasons_text(0, buf, sizeof(buf)), "");
    unsigned r = health_watch_reasons(2, 0, 1000, 11);
    assert_int_equal(r, HEALTH_WATCH_STALE | HEALTH_WATCH_LATE);
    assert_string_equal(health_watch_reasons_text(r, buf, sizeof(buf)),
                        "stale-backends,late-probes");
    r = health_watch_reasons(0, 1, 0, 0);
    assert_int_equal(r, HEALTH_WATCH_PROBE_ERRORS);
    assert_string_equal(health_watch_reasons_text(r, buf, sizeof(buf)), "probe-errors");
    assert_string_equal(health_watch_reasons_text(7, buf, 8), "stale-b"); /* truncated, ended */
    /* local errors: the checker's, not the backend's */
    assert_true(probe_code_local(PC_SOCKERR));
    for (int c = 0; c < PC__COUNT; c++)
        if (c != PC_SOCKERR)
            assert_false(probe_code_local((enum probe_code)c));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_edges),  cmocka_unit_test(test_fall_and_rise),
        cmocka_unit_test(test_hysteresis),     cmocka_unit_test(test_pause_resume),
        cmocka_unit_test(test_disable_enable), cmocka_unit_test(test_restart_static_remove),
        cmocka_unit_test(test_intervals),      cmocka_unit_test(test_jitter_bounds),
        cmocka_unit_test(test_history),        cmocka_unit_test(test_codes),
        cmocka_unit_test(test_http_response),  cmocka_unit_test(test_watch_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
