/* Unit tests of slow start's ramp as pure functions (src/lb/slowstart.c):
 * the step length and count, the weight after e of d (floor, rounding,
 * monotonic, full at d, w == 0), steps at least a second apart, and how
 * lb_compute_ramp applies a ramp (exemptions, panic, overrides). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lb/lb.h"

#define S 1000000LL /* µs */

static void test_steps(void **state)
{
    (void)state;
    /* every max(1 s, d / 10) */
    assert_int_equal(lb_slow_start_step_us(10 * S), S);
    assert_int_equal(lb_slow_start_step_us(60 * S), 6 * S);
    assert_int_equal(lb_slow_start_step_us(3 * S), S);
    assert_int_equal(lb_slow_start_steps(10 * S), 10);
    assert_int_equal(lb_slow_start_steps(60 * S), 10);
    assert_int_equal(lb_slow_start_steps(3 * S), 3);
    assert_int_equal(lb_slow_start_steps(S), 1);
    assert_int_equal(lb_slow_start_steps(S * 3 / 2), 1); /* 1.5 s: one step, at d */
    assert_int_equal(lb_slow_start_steps(S * 5 / 2), 2);
    assert_int_equal(lb_slow_start_steps(0), 0);
}

static void test_weights_of_a_ramp(void **state)
{
    (void)state;
    /* w 50 over 10 s: floor 3 (5 % of 50, rounded), then 5, 10, ... 50 */
    assert_int_equal(lb_slow_start_weight_at(50, 0, 10 * S), 3);
    assert_int_equal(lb_slow_start_weight_at(50, S - 1, 10 * S), 3);
    assert_int_equal(lb_slow_start_weight_at(50, S, 10 * S), 5);
    assert_int_equal(lb_slow_start_weight_at(50, 4 * S, 10 * S), 20);
    assert_int_equal(lb_slow_start_weight_at(50, 9 * S, 10 * S), 45);
    assert_int_equal(lb_slow_start_weight_at(50, 10 * S - 1, 10 * S), 45);
    assert_int_equal(lb_slow_start_weight_at(50, 10 * S, 10 * S), 50);
    assert_int_equal(lb_slow_start_weight_at(50, 100 * S, 10 * S), 50);
    /* w 100: the percentages */
    assert_int_equal(lb_slow_start_weight_at(100, 0, 10 * S), 5);
    assert_int_equal(lb_slow_start_weight_at(100, 3 * S, 10 * S), 30);
    /* the floor is at least 1 and never above w */
    assert_int_equal(lb_slow_start_weight_at(1, 0, 10 * S), 1);
    assert_int_equal(lb_slow_start_weight_at(7, 0, 10 * S), 1);
    assert_int_equal(lb_slow_start_weight_at(7, 5 * S, 10 * S), 4); /* 3.5 rounds up */
    /* w == 0 stays 0 */
    assert_int_equal(lb_slow_start_weight_at(0, 0, 10 * S), 0);
    assert_int_equal(lb_slow_start_weight_at(0, 10 * S, 10 * S), 0);
    /* not ramping: the weight */
    assert_int_equal(lb_slow_start_weight(40, (struct lb_ramp){ 0, 0 }), 40);
    assert_int_equal(lb_slow_start_pct((struct lb_ramp){ 0, 0 }), 100);
    assert_int_equal(lb_slow_start_pct((struct lb_ramp){ 4, 10 }), 40);
}

/* Over many (w, d): monotonic in e, within floor..w, w at d, and every
 * change of the weight at a step time at least a second after the last. */
static void test_monotonic_and_spaced(void **state)
{
    (void)state;
    const int64_t ds[] = { S, S * 3 / 2, 2 * S, S * 5 / 2, 7 * S, 10 * S, 33 * S, 600 * S };
    for (unsigned w = 0; w <= 100; w++) {
        for (size_t k = 0; k < sizeof(ds) / sizeof(ds[0]); k++) {
            int64_t d = ds[k];
            uint8_t last = lb_slow_start_weight_at((uint8_t)w, 0, d);
            int64_t last_change = 0;
            unsigned floor = (w * 5 + 50) / 100 ? (w * 5 + 50) / 100 : 1;
            for (int64_t e = 0; e <= d + S; e += S / 20) {
                uint8_t v = lb_slow_start_weight_at((uint8_t)w, e, d);
                assert_true(v <= w);
                assert_true(v >= last);
                if (w)
                    assert_true(v >= (floor < w ? floor : w));
                if (v != last) {
                    assert_true(e - last_change >= S);
                    last_change = e;
                }
                last = v;
            }
            assert_int_equal(lb_slow_start_weight_at((uint8_t)w, d, d), w);
            /* the step times: increasing, the last at d */
            uint16_t n = lb_slow_start_steps(d);
            for (uint16_t s = 1; s <= n; s++)
                assert_true(lb_slow_start_at_us(s, d) - lb_slow_start_at_us(s - 1, d) >= S);
            assert_int_equal(lb_slow_start_at_us(n, d), d);
        }
    }
}

/* primary {a: 100, b: 40}, fallback {c: 50}; indexes a..c = 0..2 */
static struct pool_backend_conf primary[] = {
    { .backend = "a", .backend_index = 0, .weight = 100 },
    { .backend = "b", .backend_index = 1, .weight = 40 },
};
static struct pool_backend_conf fallback[] = {
    { .backend = "c", .backend_index = 2, .weight = 50 },
};
static struct pool_conf pools[] = { { .name = "primary", .backends = primary, .n_backends = 2 },
                                    { .name = "fallback", .backends = fallback, .n_backends = 1 } };
static struct frontend_conf fe = { .name = "web", .pools = pools, .n_pools = 2 };

static void test_compute_ramp(void **state)
{
    (void)state;
    enum backend_state st[3] = { BS_UP, BS_UP, BS_UP };
    struct lb_ramp by[3] = { { 0, 0 }, { 3, 10 }, { 3, 10 } };
    struct lb_ramps rs = { by, NULL, 0 };
    struct lb_weight w[3];
    struct lb_frontend_result r = lb_compute_ramp(&fe, st, NULL, false, &rs, w);
    assert_int_equal(r.state, FE_UP);
    assert_int_equal(w[0].weight, 100);
    assert_int_equal(w[1].weight, 12); /* 30 % of 40 */
    assert_int_equal(w[2].weight, 0);  /* not in the active pool: 0 anyway */
    /* an override is ramped too */
    int16_t ov[3] = { -1, 80, -1 };
    lb_compute_ramp(&fe, st, ov, false, &rs, w);
    assert_int_equal(w[1].weight, 24);
    /* exempt in this frontend: the full weight */
    uint32_t ex[1] = { 1 };
    struct lb_ramps rx = { by, ex, 1 };
    lb_compute_ramp(&fe, st, NULL, false, &rx, w);
    assert_int_equal(w[1].weight, 40);
    assert_false(lb_ramp_applies(&rx, 1));
    assert_true(lb_ramp_applies(&rs, 1));
    assert_false(lb_ramp_applies(&rs, 0));
    assert_false(lb_ramp_applies(NULL, 1));
    /* a ramp over applies no more */
    by[1] = (struct lb_ramp){ 10, 10 };
    lb_compute_ramp(&fe, st, NULL, false, &rs, w);
    assert_int_equal(w[1].weight, 40);
    /* NULL ramps: lb_compute_panic */
    lb_compute_ramp(&fe, st, NULL, false, NULL, w);
    assert_int_equal(w[1].weight, 40);
}

static void test_compute_ramp_panic(void **state)
{
    (void)state;
    /* panic (a below 50 %): full weights, the ramp waits */
    struct frontend_conf pf = fe;
    pf.panic_threshold = 60;
    enum backend_state st[3] = { BS_DOWN, BS_UP, BS_DOWN };
    struct lb_ramp by[3] = { { 0, 0 }, { 1, 10 }, { 0, 0 } };
    struct lb_ramps rs = { by, NULL, 0 };
    struct lb_weight w[3];
    struct lb_frontend_result r = lb_compute_ramp(&pf, st, NULL, false, &rs, w);
    assert_true(r.panic);
    assert_int_equal(w[1].weight, 40);
    assert_int_equal(w[0].weight, 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steps),
        cmocka_unit_test(test_weights_of_a_ramp),
        cmocka_unit_test(test_monotonic_and_spaced),
        cmocka_unit_test(test_compute_ramp),
        cmocka_unit_test(test_compute_ramp_panic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
