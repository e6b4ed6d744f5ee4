/* src/cli/fleet.c, fleet_render.c: comparing the load balancers of a
 * fleet (maglevc show fleet), on hand-built answers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/fleet.h"
#include "lb/maglev.h"

#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HASH_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* One LB's answers: frontend web, pool primary b1 b2 b3 (192.0.2.1..3),
 * each with its state and effective weight; VPP's VIP of web with those
 * weights (active when > 0, as maglevd leaves an AS of weight 0). */
struct lb_fixture {
    Maglev__VersionInfo version;
    Maglev__PoolBackend pb[3], *pbp[3];
    Maglev__Pool pool, *poolp;
    Maglev__Frontend fe, *fep;
    Maglev__ListFrontendsResponse fes;
    Maglev__VPPLBAS as[3], *asp[3];
    Maglev__VPPLBVIP vip, *vipp;
    Maglev__VPPLBState vpp;
};

static const char *const names[3] = { "b1", "b2", "b3" };
static const char *const addrs[3] = { "192.0.2.1", "192.0.2.2", "192.0.2.3" };

static void fixture(struct lb_fixture *f, const char *hash, const char *const states[3],
                    const uint32_t weights[3])
{
    memset(f, 0, sizeof(*f));
    maglev__version_info__init(&f->version);
    f->version.config_hash = (char *)hash;
    for (int i = 0; i < 3; i++) {
        maglev__pool_backend__init(&f->pb[i]);
        f->pb[i].name = (char *)names[i];
        f->pb[i].address = (char *)addrs[i];
        f->pb[i].state = (char *)states[i];
        f->pb[i].weight = 100;
        f->pb[i].effective_weight = weights[i];
        f->pbp[i] = &f->pb[i];
        maglev__vpplbas__init(&f->as[i]);
        f->as[i].address = (char *)addrs[i];
        f->as[i].weight = weights[i];
        f->as[i].active = true;
        f->asp[i] = &f->as[i];
    }
    maglev__pool__init(&f->pool);
    f->pool.name = "primary";
    f->pool.n_backends = 3;
    f->pool.backends = f->pbp;
    f->poolp = &f->pool;
    maglev__frontend__init(&f->fe);
    f->fe.name = "web";
    f->fe.n_pools = 1;
    f->fe.pools = &f->poolp;
    f->fep = &f->fe;
    maglev__list_frontends_response__init(&f->fes);
    f->fes.n_frontends = 1;
    f->fes.frontends = &f->fep;
    maglev__vpplbvip__init(&f->vip);
    f->vip.frontend = "web";
    f->vip.flow_table_length = 1024;
    f->vip.n_ases = 3;
    f->vip.ases = f->asp;
    f->vipp = &f->vip;
    maglev__vpplbstate__init(&f->vpp);
    f->vpp.n_vips = 1;
    f->vpp.vips = &f->vipp;
}

static struct fleet_lb lb_of(const struct lb_fixture *f, const char *server)
{
    return (struct fleet_lb){
        .server = server, .version = &f->version, .frontends = &f->fes, .vpp = &f->vpp
    };
}

static const char *const all_up[3] = { "up", "up", "up" };
static const uint32_t full[3] = { 100, 100, 100 };

static char *summary(const struct fleet_report *r)
{
    struct strbuf sb = STRBUF_INIT;
    fleet_summary(&sb, r);
    return strbuf_detach(&sb);
}

static void test_identical_agree(void **state)
{
    (void)state;
    struct lb_fixture a, b, c;
    fixture(&a, HASH_A, all_up, full);
    fixture(&b, HASH_A, all_up, full);
    fixture(&c, HASH_A, all_up, full);
    /* VPP lists its ASes in its own order: the table does not care */
    Maglev__VPPLBAS *t = c.asp[0];
    c.asp[0] = c.asp[2];
    c.asp[2] = t;
    struct fleet_lb lbs[3] = { lb_of(&a, "unix:/a"), lb_of(&b, "unix:/b"), lb_of(&c, "unix:/c") };
    struct fleet_report r;
    fleet_compare(lbs, 3, &r);
    assert_true(r.agree);
    assert_true(r.config_same);
    assert_int_equal(r.unreachable, 0);
    assert_int_equal(r.n_fe, 1);
    assert_true(r.fe[0].agree);
    assert_true(r.fe[0].weights_same);
    assert_true(r.fe[0].table_same);
    assert_int_equal(r.fe[0].n_diff, 0);
    assert_int_equal(r.fe[0].cell[0].table, FLEET_TABLE_OK);
    assert_int_equal(r.fe[0].cell[0].total_weight, 300);
    assert_true(r.fe[0].cell[0].fingerprint == r.fe[0].cell[2].fingerprint);
    char *s = summary(&r);
    assert_string_equal(s, "fleet agrees: 3 load balancers, 1 frontend");
    free(s);
    fleet_report_free(&r);
}

/* lb2 sees b3 down: its weight is 0 there, in maglevd and in VPP */
static void test_health_disagreement(void **state)
{
    (void)state;
    static const char *const b3_down[3] = { "up", "up", "down" };
    static const uint32_t b3_zero[3] = { 100, 100, 0 };
    struct lb_fixture a, b;
    fixture(&a, HASH_A, all_up, full);
    fixture(&b, HASH_A, b3_down, b3_zero);
    struct fleet_lb lbs[2] = { lb_of(&a, "unix:/a"), lb_of(&b, "unix:/b") };
    struct fleet_report r;
    fleet_compare(lbs, 2, &r);
    assert_false(r.agree);
    assert_true(r.config_same);
    assert_false(r.fe[0].agree);
    assert_false(r.fe[0].weights_same);
    assert_false(r.fe[0].table_same);
    assert_true(r.fe[0].cell[0].fingerprint != r.fe[0].cell[1].fingerprint);
    assert_int_equal(r.fe[0].n_diff, 1); /* b1 and b2 are seen alike */
    assert_string_equal(r.fe[0].diff[0].backend, "b3");
    assert_string_equal(r.fe[0].diff[0].pool, "primary");
    assert_string_equal(r.fe[0].diff[0].lb[0].state, "up");
    assert_string_equal(r.fe[0].diff[0].lb[1].state, "down");
    assert_int_equal(r.fe[0].diff[0].lb[1].weight, 0);
    char *s = summary(&r);
    assert_string_equal(s, "fleet disagrees: 0 of 1 frontend agree; web: weights differ, table "
                           "differs (b3 down on lb2)");
    free(s);
    struct strbuf sb = STRBUF_INIT;
    fleet_render_text(&sb, false, &r);
    assert_non_null(strstr(strbuf_str(&sb), "  b3 (primary)"));
    assert_non_null(strstr(strbuf_str(&sb), "down 0"));
    assert_non_null(strstr(strbuf_str(&sb), "DISAGREE"));
    strbuf_reset(&sb);
    fleet_render_json(&sb, &r);
    assert_non_null(strstr(strbuf_str(&sb), "\"agree\": false"));
    assert_non_null(strstr(strbuf_str(&sb), "\"backend\": \"b3\""));
    assert_non_null(strstr(strbuf_str(&sb), "\"state\": \"down\", \"effective_weight\": 0"));
    strbuf_free(&sb);
    fleet_report_free(&r);
}

/* The same weights in maglevd, but one VPP has another (it lags): only the
 * table differs */
static void test_table_only(void **state)
{
    (void)state;
    struct lb_fixture a, b;
    fixture(&a, HASH_A, all_up, full);
    fixture(&b, HASH_A, all_up, full);
    b.as[1].weight = 50;
    struct fleet_lb lbs[2] = { lb_of(&a, "unix:/a"), lb_of(&b, "unix:/b") };
    struct fleet_report r;
    fleet_compare(lbs, 2, &r);
    assert_false(r.agree);
    assert_true(r.fe[0].weights_same);
    assert_false(r.fe[0].table_same);
    assert_int_equal(r.fe[0].n_diff, 0);
    fleet_report_free(&r);
    /* an inactive AS (lingering after removal) is not in the table */
    b.as[1].weight = 100;
    b.as[2].active = false;
    a.as[2].weight = 0;
    fleet_compare(lbs, 2, &r);
    assert_true(r.fe[0].table_same);
    fleet_report_free(&r);
}

static void test_config_and_reachability(void **state)
{
    (void)state;
    struct lb_fixture a, b, c;
    fixture(&a, HASH_A, all_up, full);
    fixture(&b, HASH_B, all_up, full);
    fixture(&c, HASH_A, all_up, full);
    struct fleet_lb lbs[3] = { lb_of(&a, "unix:/a"), lb_of(&b, "unix:/b"), lb_of(&c, "unix:/c") };
    struct fleet_report r;
    fleet_compare(lbs, 3, &r);
    assert_false(r.config_same);
    assert_false(r.agree);
    assert_true(r.fe[0].weights_same);
    assert_true(r.fe[0].table_same);
    assert_false(r.fe[0].agree);
    fleet_report_free(&r);
    /* lb2 unreachable: the others agree, the fleet does not */
    lbs[1] = (struct fleet_lb){ .server = "unix:/b", .error = "cannot reach maglevd at unix:/b" };
    fleet_compare(lbs, 3, &r);
    assert_int_equal(r.unreachable, 1);
    assert_true(r.config_same);
    assert_true(r.fe[0].agree);
    assert_false(r.agree);
    char *s = summary(&r);
    assert_string_equal(s, "fleet disagrees: 1 of 1 frontend agree; lb2 (unix:/b) unreachable");
    free(s);
    fleet_report_free(&r);
    /* VPP's state unknown on lb3: its table cannot be vouched for */
    lbs[1] = lb_of(&b, "unix:/b");
    b.version.config_hash = HASH_A;
    lbs[2].vpp = NULL;
    lbs[2].vpp_error = "VPP is not connected";
    fleet_compare(lbs, 3, &r);
    assert_true(r.fe[0].weights_same);
    assert_false(r.fe[0].table_same);
    assert_int_equal(r.fe[0].cell[2].table, FLEET_TABLE_UNKNOWN);
    fleet_report_free(&r);
}

/* a frontend one LB lacks; a backend one LB lacks */
static void test_missing(void **state)
{
    (void)state;
    struct lb_fixture a, b;
    fixture(&a, HASH_A, all_up, full);
    fixture(&b, HASH_A, all_up, full);
    b.pool.n_backends = 2; /* no b3 */
    struct fleet_lb lbs[2] = { lb_of(&a, "unix:/a"), lb_of(&b, "unix:/b") };
    struct fleet_report r;
    fleet_compare(lbs, 2, &r);
    assert_false(r.fe[0].weights_same);
    assert_int_equal(r.fe[0].n_diff, 1);
    assert_string_equal(r.fe[0].diff[0].backend, "b3");
    assert_true(r.fe[0].diff[0].lb[0].present);
    assert_false(r.fe[0].diff[0].lb[1].present);
    fleet_report_free(&r);
    b.pool.n_backends = 3;
    b.fes.n_frontends = 0;
    b.vpp.n_vips = 0;
    fleet_compare(lbs, 2, &r);
    assert_int_equal(r.n_fe, 1);
    assert_false(r.fe[0].present_all);
    assert_false(r.fe[0].agree);
    assert_false(r.agree);
    fleet_report_free(&r);
}

/* the fingerprint is the model's, over the active ASes with a weight */
static void test_fingerprint(void **state)
{
    (void)state;
    struct lb_fixture a;
    static const uint32_t w[3] = { 100, 0, 30 };
    fixture(&a, HASH_A, all_up, w);
    uint64_t fp;
    assert_int_equal(fleet_vip_fingerprint(&a.vip, &fp), 0);
    struct lb_mg_as ases[2];
    memset(ases, 0, sizeof(ases));
    ip_addr_parse("192.0.2.3", &ases[0].addr); /* any order */
    ases[0].weight = 30;
    ip_addr_parse("192.0.2.1", &ases[1].addr);
    ases[1].weight = 100;
    int32_t *table = calloc(1024, sizeof(*table));
    assert_int_equal(lb_mg_table_alloc(ases, 2, 1024, table), 0);
    assert_true(fp == lb_mg_fingerprint(ases, table, 1024));
    free(table);
    a.vip.flow_table_length = 1000; /* not a power of two */
    assert_int_equal(fleet_vip_fingerprint(&a.vip, &fp), -EINVAL);
    a.vip.flow_table_length = 1024;
    a.as[0].address = "not-an-address";
    assert_int_equal(fleet_vip_fingerprint(&a.vip, &fp), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identical_agree), cmocka_unit_test(test_health_disagreement),
        cmocka_unit_test(test_table_only),      cmocka_unit_test(test_config_and_reachability),
        cmocka_unit_test(test_missing),         cmocka_unit_test(test_fingerprint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
