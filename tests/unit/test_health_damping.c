/* Unit tests for flap damping's penalty (src/health/damping.c) over time,
 * on a fake clock: the times are plain numbers passed in. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "health/damping.h"

#define SEC 1000000LL /* µs */

/* The defaults of the config loader, with the half-life given. */
static struct damping_conf conf(int64_t half_life_s)
{
    struct damping_conf d = {
        .on = true,
        .half_life = half_life_s * 1000000000LL,
        .max_suppress = 4 * half_life_s * 1000000000LL,
        .penalty = 1000,
        .suppress = 2000,
        .reuse = 750,
    };
    return d;
}

static void near(double got, double want)
{
    if (fabs(got - want) > 1e-6 * (want > 1 ? want : 1))
        fail_msg("got %.9f, want %.9f", got, want);
}

static void test_decay_halves_every_half_life(void **state)
{
    (void)state;
    struct damping_conf d = conf(60);
    struct damping_state st = { 0 };
    int64_t t0 = 1000 * SEC;
    assert_false(damping_flap(&d, &st, t0));
    near(damping_penalty_at(&d, &st, t0), 1000);
    near(damping_penalty_at(&d, &st, t0 + 60 * SEC), 500);
    near(damping_penalty_at(&d, &st, t0 + 120 * SEC), 250);
    near(damping_penalty_at(&d, &st, t0 + 30 * SEC), 1000 / sqrt(2));
    /* no time has passed, or the clock is asked about the past: no decay */
    near(damping_penalty_at(&d, &st, t0 - SEC), 1000);
    assert_false(st.suppressed);
    assert_int_equal(damping_reuse_in_us(&d, &st, t0), 0); /* not suppressed */
}

static void test_flaps_add_up_to_suppression(void **state)
{
    (void)state;
    struct damping_conf d = conf(60);
    struct damping_state st = { 0 };
    int64_t t = 0;
    assert_false(damping_flap(&d, &st, t)); /* 1000 */
    t += 60 * SEC;
    assert_false(damping_flap(&d, &st, t)); /* 500 + 1000 = 1500 */
    near(st.penalty, 1500);
    t += 60 * SEC;
    assert_false(damping_flap(&d, &st, t)); /* 750 + 1000 = 1750: still at most suppress */
    near(st.penalty, 1750);
    assert_true(damping_flap(&d, &st, t + SEC)); /* about 2728 */
    assert_true(st.suppressed);
}

/* Back-to-back flaps: the third one lifts the penalty above 2000. */
static void test_third_quick_flap_suppresses(void **state)
{
    (void)state;
    struct damping_conf d = conf(60);
    struct damping_state st = { 0 };
    assert_false(damping_flap(&d, &st, 0));
    assert_false(damping_flap(&d, &st, SEC));
    assert_true(st.penalty > 1900 && st.penalty < 2000);
    assert_false(st.suppressed);
    assert_true(damping_flap(&d, &st, 2 * SEC));
    assert_true(st.suppressed);
    assert_int_equal(st.suppressed_since_us, 2 * SEC);
    assert_int_equal(st.suppressions, 1);
    /* a flap while suppressed adds, but starts no new suppression */
    assert_false(damping_flap(&d, &st, 3 * SEC));
    assert_true(st.suppressed);
    assert_int_equal(st.suppressions, 1);
}

static void test_reuse_time_and_update(void **state)
{
    (void)state;
    struct damping_conf d = conf(60);
    struct damping_state st = { 0 };
    assert_false(damping_flap(&d, &st, 0));
    assert_false(damping_flap(&d, &st, 0));
    assert_true(damping_flap(&d, &st, 0)); /* 3000 at t = 0 */
    near(st.penalty, 3000);
    /* 3000 -> 750 is two half-lives */
    int64_t in = damping_reuse_in_us(&d, &st, 0);
    assert_true(llabs(in - 120 * SEC) <= 1);
    assert_true(llabs(damping_reuse_in_us(&d, &st, 60 * SEC) - 60 * SEC) <= 1);
    /* just before: still suppressed; the timer's instant: reused */
    assert_false(damping_update(&d, &st, in - 1000));
    assert_true(st.suppressed);
    assert_true(damping_update(&d, &st, in));
    assert_false(st.suppressed);
    assert_int_equal(st.suppressed_since_us, 0);
    assert_int_equal(damping_reuse_in_us(&d, &st, in), 0);
    near(st.penalty, 750);
    /* a later update does not end it twice */
    assert_false(damping_update(&d, &st, in + SEC));
}

static void test_ceiling_bounds_suppression(void **state)
{
    (void)state;
    struct damping_conf d = conf(60); /* max-suppress 4m: ceiling 750 x 16 */
    near(damping_ceiling(&d), 12000);
    struct damping_state st = { 0 };
    for (int i = 0; i < 100; i++)
        damping_flap(&d, &st, i * 100000); /* 100 flaps in 10 s */
    near(st.penalty, 12000);               /* capped again at each flap, the last at t = 9.9 s */
    int64_t last = 99 * 100000;
    /* never longer than max-suppress after the last flap */
    assert_true(damping_reuse_in_us(&d, &st, last) <= 240 * SEC + 1);
    assert_true(damping_reuse_in_us(&d, &st, last) > 239 * SEC);
}

static void test_clear(void **state)
{
    (void)state;
    struct damping_conf d = conf(2);
    struct damping_state st = { 0 };
    damping_flap(&d, &st, 0);
    damping_flap(&d, &st, 0);
    damping_flap(&d, &st, 0);
    assert_true(st.suppressed);
    assert_true(damping_clear(&st, 5));
    assert_false(st.suppressed);
    near(damping_penalty_at(&d, &st, 10), 0);
    assert_int_equal(st.suppressions, 1); /* the count stays */
    assert_false(damping_clear(&st, 6));
}

/* The integration test's shape: half-life 2 s, five flaps a second apart
 * suppress; reuse comes within max-suppress (8 s) of the last flap. */
static void test_short_half_life_scenario(void **state)
{
    (void)state;
    struct damping_conf d = conf(2);
    struct damping_state st = { 0 };
    bool suppressed = false;
    int64_t t = 0;
    for (int i = 0; i < 5; i++, t += SEC)
        suppressed |= damping_flap(&d, &st, t);
    assert_true(suppressed);
    assert_true(st.suppressed);
    int64_t last = t - SEC;
    int64_t in = damping_reuse_in_us(&d, &st, last);
    assert_true(in > 0 && in <= 8 * SEC + 1);
    assert_false(damping_update(&d, &st, last + in / 2));
    assert_true(damping_update(&d, &st, last + in));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decay_halves_every_half_life),
        cmocka_unit_test(test_flaps_add_up_to_suppression),
        cmocka_unit_test(test_third_quick_flap_suppresses),
        cmocka_unit_test(test_reuse_time_and_update),
        cmocka_unit_test(test_ceiling_bounds_suppression),
        cmocka_unit_test(test_clear),
        cmocka_unit_test(test_short_half_life_scenario),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
