/* Unit tests for src/lb: effective weights, flush flags, active pool,
 * frontend state, run-time overrides. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "lb/lb.h"

/* Two pools: primary {a:100, b:50}, fallback {c:100}; backend indexes a=0, b=1, c=2. */
static struct pool_backend_conf primary[] = {
    { .backend = "a", .backend_index = 0, .weight = 100 },
    { .backend = "b", .backend_index = 1, .weight = 50 }
};
static struct pool_backend_conf fallback[] = {
    { .backend = "c", .backend_index = 2, .weight = 100 }
};
static struct pool_conf pools[] = { { .name = "primary", .backends = primary, .n_backends = 2 },
                                    { .name = "fallback", .backends = fallback, .n_backends = 1 } };
static struct frontend_conf fe = {
    .name = "web", .pools = pools, .n_pools = 2, .flush_on_down = true
};

static struct lb_frontend_result run(enum backend_state a, enum backend_state b,
                                     enum backend_state c, const int16_t *ov, struct lb_weight *w)
{
    enum backend_state st[3] = { a, b, c };
    return lb_compute(&fe, st, ov, w);
}

static void test_slots(void **state)
{
    (void)state;
    assert_int_equal(lb_slots(&fe), 3);
    assert_int_equal(lb_slot(&fe, 0, 1), 1);
    assert_int_equal(lb_slot(&fe, 1, 0), 2);
}

static void test_primary_serves(void **state)
{
    (void)state;
    struct lb_weight w[3];
    struct lb_frontend_result r = run(BS_UP, BS_UP, BS_UP, NULL, w);
    assert_int_equal(r.active_pool, 0);
    assert_int_equal(r.state, FE_UP);
    assert_int_equal(w[0].weight, 100);
    assert_int_equal(w[1].weight, 50);
    assert_int_equal(w[2].weight, 0); /* up, but not in the active pool */
    assert_false(w[2].flush);
}

static void test_failover_and_flush(void **state)
{
    (void)state;
    struct lb_weight w[3];
    struct lb_frontend_result r = run(BS_DOWN, BS_DISABLED, BS_UP, NULL, w);
    assert_int_equal(r.active_pool, 1);
    assert_int_equal(r.state, FE_UP);
    assert_int_equal(w[0].weight, 0);
    assert_true(w[0].flush); /* down with flush-on-down */
    assert_true(w[1].flush); /* disabled: always */
    assert_int_equal(w[2].weight, 100);
    fe.flush_on_down = false;
    run(BS_DOWN, BS_DISABLED, BS_UP, NULL, w);
    assert_false(w[0].flush);
    assert_true(w[1].flush);
    fe.flush_on_down = true;
    /* one backend up keeps the primary active */
    r = run(BS_DOWN, BS_UP, BS_UP, NULL, w);
    assert_int_equal(r.active_pool, 0);
    assert_int_equal(w[1].weight, 50);
    assert_int_equal(w[2].weight, 0);
}

static void test_drain_and_states(void **state)
{
    (void)state;
    struct lb_weight w[3];
    struct lb_frontend_result r = run(BS_UNKNOWN, BS_UNKNOWN, BS_UNKNOWN, NULL, w);
    assert_int_equal(r.state, FE_UNKNOWN);
    assert_int_equal(r.active_pool, -1);
    r = run(BS_PAUSED, BS_UNKNOWN, BS_DOWN, NULL, w);
    assert_int_equal(r.state, FE_DOWN);
    assert_int_equal(w[0].weight, 0);
    assert_false(w[0].flush); /* paused: drain */
    assert_false(w[1].flush); /* unknown: drain */
    assert_true(w[2].flush);
    r = run(BS_DOWN, BS_DOWN, BS_DOWN, NULL, w);
    assert_int_equal(r.state, FE_DOWN);
    assert_int_equal(r.active_pool, -1);
}

static void test_zero_weight_and_overrides(void **state)
{
    (void)state;
    struct lb_weight w[3];
    int16_t ov[3] = { 0, -1, -1 };
    struct lb_frontend_result r = run(BS_UP, BS_DOWN, BS_DOWN, ov, w);
    /* up with weight 0: the pool is active but nothing carries traffic */
    assert_int_equal(r.active_pool, 0);
    assert_int_equal(r.state, FE_DOWN);
    assert_int_equal(w[0].weight, 0);
    ov[0] = 7;
    r = run(BS_UP, BS_DOWN, BS_DOWN, ov, w);
    assert_int_equal(w[0].weight, 7);
    assert_int_equal(r.state, FE_UP);

    struct lb_overrides *o = lb_overrides_new();
    assert_int_equal(lb_overrides_get(o, "web", "primary", "a"), -1);
    lb_overrides_set(o, "web", "primary", "a", 30);
    lb_overrides_set(o, "web", "primary", "a", 40);
    lb_overrides_set(o, "web", "fallback", "c", 0);
    assert_int_equal(lb_overrides_get(o, "web", "primary", "a"), 40);
    int16_t flat[3];
    lb_overrides_fill(o, &fe, flat);
    assert_int_equal(flat[0], 40);
    assert_int_equal(flat[1], -1);
    assert_int_equal(flat[2], 0);
    /* prune: a config where c left the fallback pool */
    struct maglev_config cfg = { .frontends = &fe, .n_frontends = 1 };
    pools[1].n_backends = 0;
    assert_int_equal(lb_overrides_prune(o, &cfg), 1);
    pools[1].n_backends = 1;
    assert_int_equal(lb_overrides_get(o, "web", "fallback", "c"), -1);
    assert_int_equal(lb_overrides_get(o, "web", "primary", "a"), 40);
    lb_overrides_free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slots),
        cmocka_unit_test(test_primary_serves),
        cmocka_unit_test(test_failover_and_flush),
        cmocka_unit_test(test_drain_and_states),
        cmocka_unit_test(test_zero_weight_and_overrides),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
