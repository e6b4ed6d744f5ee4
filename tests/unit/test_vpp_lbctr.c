/* src/vpp/lbctr.c: the LB counters' map (VIP index -> frontend), readings,
 * rates per second and resets (a counter going backwards) — pure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lb_build.h"
#include "vpp/lbctr.h"

static void test_rate(void **state)
{
    (void)state;
    double r = -1;
    assert_true(lbctr_rate(100, 150, 5.0, &r));
    assert_true(r > 9.999 && r < 10.001);
    assert_true(lbctr_rate(7, 7, 2.0, &r));
    assert_true(r == 0.0);
    r = -1;
    assert_false(lbctr_rate(150, 100, 5.0, &r)); /* backwards: reset */
    assert_true(r == -1);
    assert_false(lbctr_rate(1, 2, 0.0, &r)); /* no time passed */
    assert_false(lbctr_rate(1, 2, -1.0, &r));
    assert_true(lbctr_rate(0, UINT64_MAX, 1.0, &r));
}

/* counters with vip[i].c = {base + i, 0, 0, 2 * base} for i < n */
static void fill(struct vpp_lb_counters *c, size_t n, uint64_t base)
{
    c->present = true;
    c->n = n;
    c->vip = realloc(c->vip, n * sizeof(*c->vip));
    assert_non_null(c->vip);
    for (size_t i = 0; i < n; i++) {
        memset(&c->vip[i], 0, sizeof(c->vip[i]));
        c->vip[i].c[VPP_STATS_LB_EXISTING] = base + i;
        c->vip[i].c[VPP_STATS_LB_NO_SERVER] = 2 * base;
    }
}

static void test_map_and_rates(void **state)
{
    (void)state;
    struct lb_state obs = { 0 };
    add_vip(&obs, "web", "192.0.2.1", 6, 80, -1, 0)->index = 2;
    add_vip(&obs, "api", "192.0.2.2", 6, 443, -1, 0)->index = 1;
    add_vip(&obs, NULL, "192.0.2.3", 17, 53, -1, 0)->index = 0; /* index unknown: left out */
    struct lbctr t = { 0 };
    assert_int_equal(lbctr_set_map(&t, &obs), 0);
    assert_int_equal(t.n, 2);
    assert_int_equal(t.vip[0].index, 1); /* by index */
    assert_string_equal(t.vip[0].frontend, "api");
    assert_string_equal(t.vip[1].frontend, "web");
    assert_false(t.vip[0].have);

    struct vpp_lb_counters c = { 0 };
    fill(&c, 3, 100);
    assert_int_equal(lbctr_update(&t, &c, 1000000, 5), 0);
    assert_true(t.vip[1].have);
    assert_false(t.vip[1].rates_known); /* one reading: no rate */
    assert_int_equal(t.vip[1].c[VPP_STATS_LB_EXISTING], 102);
    assert_int_equal(t.vip[1].wall_us, 5);

    fill(&c, 3, 150); /* +50 each in 5 s, no_server +100 */
    assert_int_equal(lbctr_update(&t, &c, 6000000, 6), 0);
    assert_true(t.vip[1].rates_known);
    assert_true(t.vip[1].rate[VPP_STATS_LB_EXISTING] > 9.99 &&
                t.vip[1].rate[VPP_STATS_LB_EXISTING] < 10.01);
    assert_true(t.vip[1].rate[VPP_STATS_LB_NO_SERVER] > 19.99 &&
                t.vip[1].rate[VPP_STATS_LB_NO_SERVER] < 20.01);
    assert_true(t.vip[1].rate[VPP_STATS_LB_FIRST] == 0.0);

    /* the map again with the same VIPs: readings and rates kept */
    assert_int_equal(lbctr_set_map(&t, &obs), 0);
    assert_true(t.vip[1].rates_known);
    assert_int_equal(t.vip[1].c[VPP_STATS_LB_EXISTING], 152);

    /* web's index now belongs to another VIP: it starts afresh */
    obs.vips[0].key = key("192.0.2.9", 6, 80);
    assert_int_equal(lbctr_set_map(&t, &obs), 0);
    const struct lbctr_vip *v = lbctr_find(&t, &obs.vips[0].key);
    assert_non_null(v);
    assert_false(v->have);
    assert_null(lbctr_find(&t, &(struct lb_vip_key){ 0 }));

    lb_state_free(&obs);
    vpp_lb_counters_free(&c);
    lbctr_free(&t);
}

static void test_reset_and_absent(void **state)
{
    (void)state;
    struct lb_state obs = { 0 };
    add_vip(&obs, "web", "192.0.2.1", 6, 80, -1, 0)->index = 1;
    add_vip(&obs, "far", "192.0.2.2", 6, 80, -1, 0)->index = 7; /* past the vectors */
    struct lbctr t = { 0 };
    assert_int_equal(lbctr_set_map(&t, &obs), 0);
    struct vpp_lb_counters c = { 0 };
    fill(&c, 2, 1000);
    assert_int_equal(lbctr_update(&t, &c, 1000000, 1), 0);
    fill(&c, 2, 2000);
    assert_int_equal(lbctr_update(&t, &c, 2000000, 2), 0);
    assert_true(t.vip[0].rates_known);
    /* VPP restarted: counters went backwards -> reset, rates unknown */
    fill(&c, 2, 10);
    assert_int_equal(lbctr_update(&t, &c, 3000000, 3), 1);
    assert_false(t.vip[0].rates_known);
    assert_true(t.vip[0].rate[VPP_STATS_LB_EXISTING] == 0.0);
    assert_int_equal(t.vip[0].c[VPP_STATS_LB_EXISTING], 11);
    /* and the next reading has rates again */
    fill(&c, 2, 20);
    assert_int_equal(lbctr_update(&t, &c, 4000000, 4), 0);
    assert_true(t.vip[0].rates_known);
    assert_true(t.vip[0].rate[VPP_STATS_LB_EXISTING] > 9.99);
    /* index 7 past the vectors: zeros, rate 0 */
    assert_true(t.vip[1].have);
    assert_int_equal(t.vip[1].c[VPP_STATS_LB_EXISTING], 0);
    assert_true(t.vip[1].rates_known);
    /* no vectors at all (no VIP since VPP started): zeros */
    struct vpp_lb_counters none = { 0 };
    assert_int_equal(lbctr_update(&t, &none, 5000000, 5), 1); /* web went 30 -> 0 */
    assert_int_equal(t.vip[0].c[VPP_STATS_LB_EXISTING], 0);
    /* the same time twice: rates unknown, not infinite */
    assert_int_equal(lbctr_update(&t, &none, 5000000, 5), 0);
    assert_false(t.vip[0].rates_known);
    lb_state_free(&obs);
    vpp_lb_counters_free(&c);
    lbctr_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate),
        cmocka_unit_test(test_map_and_rates),
        cmocka_unit_test(test_reset_and_absent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
