/* Unit tests of the pure rules of panic mode (fail open) and of the
 * mass-failure guard (src/lb/lb.h): the share, entry and exit with the
 * hysteresis, the panic pool and its weights; the mass-failure rule and
 * its sliding window. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "lb/lb.h"

/* primary {a,b,c,d: 100 each}, fallback {e: 50}; indexes a..e = 0..4 */
static struct pool_backend_conf primary[] = {
    { .backend = "a", .backend_index = 0, .weight = 100 },
    { .backend = "b", .backend_index = 1, .weight = 100 },
    { .backend = "c", .backend_index = 2, .weight = 100 },
    { .backend = "d", .backend_index = 3, .weight = 100 },
};
static struct pool_backend_conf fallback[] = {
    { .backend = "e", .backend_index = 4, .weight = 50 },
};
static struct pool_conf pools[] = { { .name = "primary", .backends = primary, .n_backends = 4 },
                                    { .name = "fallback", .backends = fallback, .n_backends = 1 } };
static struct frontend_conf fe = {
    .name = "web", .pools = pools, .n_pools = 2, .flush_on_down = true, .panic_threshold = 50
};

#define U BS_UP
#define D BS_DOWN
#define K BS_UNKNOWN
#define P BS_PAUSED
#define X BS_DISABLED

static struct lb_share share(uint32_t up, uint32_t counted)
{
    return (struct lb_share){ up, counted };
}

static void test_share_counts_known_in_service(void **state)
{
    (void)state;
    enum backend_state st[5] = { U, D, P, X, D };
    struct lb_share s = lb_frontend_share(&fe, st);
    /* primary: paused and disabled are not counted: 1 of 2; fallback 0 of 1 */
    assert_int_equal(s.up, 1);
    assert_int_equal(s.counted, 2);
    enum backend_state st2[5] = { D, D, D, D, U };
    s = lb_frontend_share(&fe, st2); /* the best pool: fallback, 1 of 1 */
    assert_int_equal(s.up, 1);
    assert_int_equal(s.counted, 1);
    enum backend_state st3[5] = { K, K, K, K, K };
    s = lb_frontend_share(&fe, st3);
    assert_int_equal(s.counted, 0);
}

static void test_panic_entry_and_hysteresis(void **state)
{
    (void)state;
    /* off */
    assert_false(lb_panic_next(false, 0, share(0, 4)));
    assert_false(lb_panic_next(true, 0, share(0, 4)));
    /* enter strictly below the threshold */
    assert_false(lb_panic_next(false, 50, share(2, 4)));
    assert_true(lb_panic_next(false, 50, share(1, 4)));
    /* stay until threshold + LB_PANIC_MARGIN (60 %) */
    assert_true(lb_panic_next(true, 50, share(2, 4)));    /* 50 % */
    assert_true(lb_panic_next(true, 50, share(11, 20)));  /* 55 % */
    assert_false(lb_panic_next(true, 50, share(12, 20))); /* 60 % */
    assert_false(lb_panic_next(true, 50, share(3, 4)));
    /* the margin is capped at 100 % */
    assert_true(lb_panic_next(false, 95, share(9, 10)));
    assert_true(lb_panic_next(true, 95, share(99, 100)));
    assert_false(lb_panic_next(true, 95, share(10, 10)));
    assert_true(lb_panic_next(false, 100, share(3, 4)));
    assert_false(lb_panic_next(true, 100, share(4, 4)));
    /* nothing counted (all unknown, paused or disabled): never panic */
    assert_false(lb_panic_next(false, 50, share(0, 0)));
    assert_false(lb_panic_next(true, 50, share(0, 0)));
}

static void test_panic_weights(void **state)
{
    (void)state;
    struct lb_weight w[5];
    /* 1 of 4 up in primary, fallback down: panic, primary fails open */
    enum backend_state st[5] = { U, D, D, P, D };
    struct lb_frontend_result r = lb_compute_panic(&fe, st, NULL, false, w);
    assert_true(r.panic);
    assert_int_equal(r.active_pool, 0);
    assert_int_equal(r.state, FE_UP);
    assert_int_equal(w[0].weight, 100);
    assert_int_equal(w[1].weight, 100); /* down, served as if up, not flushed */
    assert_false(w[1].flush);
    assert_int_equal(w[2].weight, 100);
    assert_int_equal(w[3].weight, 0); /* paused: never */
    assert_int_equal(w[4].weight, 0); /* another pool */
    assert_true(w[4].flush);          /* down there: flushed as usual */
    /* overrides apply in panic too */
    int16_t ov[5] = { -1, 20, -1, -1, -1 };
    lb_compute_panic(&fe, st, ov, false, w);
    assert_int_equal(w[1].weight, 20);
    /* 2 of 4 up: not entered (50 % is not below 50 %), but kept when in */
    enum backend_state st2[5] = { U, U, D, D, D };
    r = lb_compute_panic(&fe, st2, NULL, false, w);
    assert_false(r.panic);
    assert_int_equal(w[2].weight, 0);
    assert_true(w[2].flush);
    r = lb_compute_panic(&fe, st2, NULL, true, w);
    assert_true(r.panic);
    assert_int_equal(w[2].weight, 100);
    /* 3 of 4: out (75 % >= 60 %) */
    enum backend_state st3[5] = { U, U, U, D, D };
    r = lb_compute_panic(&fe, st3, NULL, true, w);
    assert_false(r.panic);
    assert_int_equal(w[3].weight, 0);
    /* the fallback pool healthy: no panic, normal failover */
    enum backend_state st4[5] = { D, D, D, D, U };
    r = lb_compute_panic(&fe, st4, NULL, false, w);
    assert_false(r.panic);
    assert_int_equal(r.active_pool, 1);
    assert_int_equal(w[4].weight, 50);
    /* lb_compute is the same with was_panic false */
    r = lb_compute(&fe, st, NULL, w);
    assert_true(r.panic);
}

static void test_panic_pool(void **state)
{
    (void)state;
    struct lb_weight w[5];
    /* primary all disabled or paused: panic serves the fallback pool */
    enum backend_state st[5] = { X, X, P, X, D };
    assert_int_equal(lb_panic_pool(&fe, st), 1);
    struct lb_frontend_result r = lb_compute_panic(&fe, st, NULL, false, w);
    assert_true(r.panic);
    assert_int_equal(r.active_pool, 1);
    assert_int_equal(w[4].weight, 50);
    assert_false(w[4].flush);
    assert_true(w[0].flush); /* disabled: flushed, always */
    enum backend_state none[5] = { X, X, X, X, X };
    assert_int_equal(lb_panic_pool(&fe, none), -1);
    r = lb_compute_panic(&fe, none, NULL, false, w);
    assert_false(r.panic);
    assert_int_equal(r.state, FE_DOWN);
    /* unknown backends in the panic pool get weight too (a known down
     * elsewhere started the panic) */
    enum backend_state st2[5] = { K, K, D, D, D };
    r = lb_compute_panic(&fe, st2, NULL, false, w);
    assert_true(r.panic);
    assert_int_equal(w[0].weight, 100);
    /* panic off: a frontend without a threshold never panics */
    struct frontend_conf off = fe;
    off.panic_threshold = 0;
    enum backend_state dead[5] = { D, D, D, D, D };
    r = lb_compute_panic(&off, dead, NULL, true, w);
    assert_false(r.panic);
    assert_int_equal(r.state, FE_DOWN);
}

static void test_mass_failure_rule(void **state)
{
    (void)state;
    assert_false(lb_mass_failure(4, 4, 0));  /* off */
    assert_false(lb_mass_failure(2, 4, 50)); /* 50 % is not more than 50 % */
    assert_true(lb_mass_failure(3, 4, 50));  /* 75 % */
    assert_false(lb_mass_failure(1, 1, 50)); /* fewer than LB_MASS_FAILURE_MIN */
    assert_true(lb_mass_failure(2, 2, 50));
    assert_false(lb_mass_failure(0, 0, 50));
    assert_true(lb_mass_failure(11, 20, 50));
    assert_false(lb_mass_failure(10, 20, 50));
    assert_true(lb_mass_failure(2, 100, 1));
}

static void test_window(void **state)
{
    (void)state;
    struct lb_window w;
    lb_window_init(&w, 1000000); /* 1 s */
    assert_int_equal(lb_window_push(&w, 0, 1), 1);
    assert_int_equal(lb_window_push(&w, 500000, 2), 2);
    assert_int_equal(lb_window_push(&w, 1000000, 3), 3); /* 0 is exactly 1 s old: kept */
    assert_int_equal(lb_window_push(&w, 1200000, 4), 3); /* 0 expired */
    assert_int_equal(lb_window_at(&w, 0)->backend, 2);
    assert_int_equal(lb_window_at(&w, 2)->backend, 4);
    lb_window_expire(&w, 5000000);
    assert_int_equal(w.n, 0);
    /* growth across the ring's end keeps the order */
    for (uint32_t i = 0; i < 40; i++)
        lb_window_push(&w, 6000000 + i, i);
    assert_int_equal(w.n, 40);
    for (size_t k = 0; k < 40; k++)
        assert_int_equal(lb_window_at(&w, k)->backend, k);
    lb_window_clear(&w);
    assert_int_equal(lb_window_push(&w, 7000000, 9), 1);
    lb_window_free(&w);
    lb_window_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_share_counts_known_in_service),
        cmocka_unit_test(test_panic_entry_and_hysteresis),
        cmocka_unit_test(test_panic_weights),
        cmocka_unit_test(test_panic_pool),
        cmocka_unit_test(test_mass_failure_rule),
        cmocka_unit_test(test_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
