/* src/vpp/lbctr.c: the LB counters' map (VIP index -> frontend), readings,
 * rates per second and resets (a counter going backwards) — pure. */
#include <errno.h>
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

/* the route of the VIP with this address and port */
static const struct lbctr_route *route_of(const struct lbctr *t, const char *addr, uint16_t port)
{
    const struct lbctr_vip *v = lbctr_find(t, &(struct lb_vip_key){ 0 });
    for (size_t i = 0; i < t->n; i++) {
        struct ip_addr a;
        assert_int_equal(ip_addr_parse(addr, &a), 0);
        if (ip_addr_equal(&t->vip[i].key.addr, &a) && t->vip[i].key.port == port)
            v = &t->vip[i];
    }
    assert_non_null(v);
    return lbctr_route_of(t, v);
}

static void test_routes(void **state)
{
    (void)state;
    struct lb_state obs = { 0 };
    add_vip(&obs, "web", "192.0.2.1", 6, 80, -1, 0)->index = 3;
    add_vip(&obs, "web-tls", "192.0.2.1", 6, 443, -1, 0)->index = 1; /* same prefix */
    add_vip(&obs, "dns", "2001:db8::53", 17, 53, -1, 0)->index = 2;
    add_vip(&obs, "gone", "192.0.2.7", 6, 80, -1, 0)->index = 4;
    struct lbctr t = { 0 };
    assert_int_equal(lbctr_set_map(&t, &obs), 0);
    /* three distinct prefixes, by prefix (IPv4 first); per-port VIPs share */
    assert_int_equal(t.n_routes, 3);
    const struct lbctr_route *web = route_of(&t, "192.0.2.1", 80);
    assert_ptr_equal(web, route_of(&t, "192.0.2.1", 443));
    assert_ptr_equal(web, &t.route[0]);
    assert_int_equal(web->plen, 32);
    assert_ptr_equal(route_of(&t, "192.0.2.7", 80), &t.route[1]);
    assert_ptr_equal(route_of(&t, "2001:db8::53", 53), &t.route[2]);
    assert_int_equal(t.route[2].plen, 128);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(t.route[i].state, LBCTR_ROUTE_PENDING);
    char why[128];
    assert_string_equal(lbctr_route_why(&t.route[0], why, sizeof(why)), "not resolved yet");

    /* nothing resolved: nothing to read */
    uint32_t idx[3];
    assert_int_equal(lbctr_route_indexes(&t, idx), 0);
    lbctr_route_resolved(&t, 0, LBCTR_ROUTE_OK, 1007, 0, 0);
    lbctr_route_resolved(&t, 1, LBCTR_ROUTE_NONE, 0, 0, 0);
    lbctr_route_resolved(&t, 2, LBCTR_ROUTE_OK, 1002, 0, 0);
    lbctr_route_resolved(&t, 9, LBCTR_ROUTE_OK, 1, 0, 0); /* out of range: ignored */
    assert_string_equal(lbctr_route_why(&t.route[0], why, sizeof(why)), "");
    assert_string_equal(lbctr_route_why(&t.route[1], why, sizeof(why)),
                        "VPP has no route for this prefix (table 0)");
    assert_int_equal(lbctr_route_indexes(&t, idx), 2);
    assert_int_equal(idx[0], 1007);
    assert_int_equal(idx[1], 1002);

    uint64_t pk[2] = { 100, 7 }, by[2] = { 10000, 700 };
    assert_int_equal(lbctr_update_routes(&t, pk, by, 1000000, 11), 0);
    assert_true(t.route[0].have);
    assert_false(t.route[0].rates_known); /* one reading */
    assert_int_equal(t.route[0].packets, 100);
    assert_int_equal(t.route[2].bytes, 700);
    assert_int_equal(t.route[2].wall_us, 11);
    assert_false(t.route[1].have);
    pk[0] = 150;
    by[0] = 15000;
    assert_int_equal(lbctr_update_routes(&t, pk, by, 6000000, 12), 0);
    assert_true(t.route[0].rates_known);
    assert_true(t.route[0].packets_rate > 9.99 && t.route[0].packets_rate < 10.01);
    assert_true(t.route[0].bytes_rate > 999.9 && t.route[0].bytes_rate < 1000.1);
    assert_true(t.route[2].rates_known && t.route[2].packets_rate == 0.0);

    /* the map again, "gone" deleted, a new prefix: the kept prefixes keep
     * their route as it was (index, reading, rates) until resolved again */
    obs.vips[3].key.addr.u.bytes[3] = 8; /* 192.0.2.8 */
    assert_int_equal(lbctr_set_map(&t, &obs), 0);
    assert_int_equal(t.n_routes, 3);
    web = route_of(&t, "192.0.2.1", 443);
    assert_int_equal(web->state, LBCTR_ROUTE_OK);
    assert_int_equal(web->stats_index, 1007);
    assert_true(web->rates_known);
    assert_int_equal(web->packets, 150);
    assert_int_equal(route_of(&t, "192.0.2.8", 80)->state, LBCTR_ROUTE_PENDING);
    /* resolved to the same index: the rates go on */
    lbctr_route_resolved(&t, 0, LBCTR_ROUTE_OK, 1007, 0, 0);
    assert_true(t.route[0].rates_known);
    assert_int_equal(t.route[0].packets, 150);
    /* another index (the route was made anew): starts afresh */
    lbctr_route_resolved(&t, 2, LBCTR_ROUTE_OK, 1003, 0, 0);
    assert_false(t.route[2].have);
    assert_int_equal(t.route[2].bytes, 0);
    /* a failed lookup, an unsupported one */
    lbctr_route_resolved(&t, 1, LBCTR_ROUTE_FAILED, 0, 0, -ETIMEDOUT);
    assert_string_equal(lbctr_route_why(&t.route[1], why, sizeof(why)),
                        "ip_route_lookup failed: no reply from VPP (timeout)");
    lbctr_route_resolved(&t, 1, LBCTR_ROUTE_FAILED, 0, -7, 0);
    assert_non_null(strstr(lbctr_route_why(&t.route[1], why, sizeof(why)), "VPP error -7"));
    lbctr_route_resolved(&t, 1, LBCTR_ROUTE_UNSUPPORTED, 0, 0, 0);
    assert_string_equal(lbctr_route_why(&t.route[1], why, sizeof(why)),
                        "this VPP has no ip_route_lookup");
    /* a route no longer OK loses its reading */
    lbctr_route_resolved(&t, 0, LBCTR_ROUTE_NONE, 0, 0, 0);
    assert_false(t.route[0].have);
    assert_int_equal(t.route[0].packets, 0);
    assert_int_equal(lbctr_route_indexes(&t, idx), 1);
    assert_int_equal(idx[0], 1003);

    /* a route counter going backwards: a reset, rates unknown */
    pk[0] = 50;
    by[0] = 5000;
    assert_int_equal(lbctr_update_routes(&t, pk, by, 7000000, 13), 0);
    pk[0] = 60;
    by[0] = 6000;
    assert_int_equal(lbctr_update_routes(&t, pk, by, 8000000, 14), 0);
    assert_true(t.route[2].rates_known);
    pk[0] = 1;
    assert_int_equal(lbctr_update_routes(&t, pk, by, 9000000, 15), 1);
    assert_false(t.route[2].rates_known);
    assert_true(t.route[2].packets_rate == 0.0 && t.route[2].bytes_rate == 0.0);
    assert_int_equal(t.route[2].packets, 1);

    /* an empty map: no routes */
    struct lb_state empty = { 0 };
    assert_int_equal(lbctr_set_map(&t, &empty), 0);
    assert_int_equal(t.n_routes, 0);
    assert_int_equal(lbctr_route_indexes(&t, idx), 0);
    lb_state_free(&obs);
    lbctr_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate),
        cmocka_unit_test(test_map_and_rates),
        cmocka_unit_test(test_reset_and_absent),
        cmocka_unit_test(test_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
