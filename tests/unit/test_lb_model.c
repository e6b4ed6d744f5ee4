/* Unit tests for the model of VPP's state (lb_model_apply, lb_state_copy),
 * the one-VIP planner (lb_plan_vip) and held VIPs in the planner. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lb/plan.h"
#include "lb_build.h"

static struct lb_op op_vip(enum lb_op_kind kind, const char *addr, uint16_t port)
{
    struct lb_op op;
    memset(&op, 0, sizeof(op));
    op.kind = kind;
    op.vip = key(addr, 6, port);
    op.encap = LB_ENCAP_GRE4;
    return op;
}

static struct lb_op op_as(enum lb_op_kind kind, const char *vip, const char *as, uint8_t w,
                          bool flush)
{
    struct lb_op op = op_vip(kind, vip, 80);
    op.as = ip(as);
    op.weight = w;
    op.flush = flush;
    return op;
}

static const struct lb_as *find_as(const struct lb_state *m, const char *vip, const char *as)
{
    struct lb_vip_key k = key(vip, 6, 80);
    const struct lb_vip *v = lb_state_find(m, &k);
    struct ip_addr a = ip(as);
    for (size_t i = 0; v && i < v->n_ases; i++)
        if (ip_addr_equal(&v->ases[i].addr, &a))
            return &v->ases[i];
    return NULL;
}

static void apply(struct lb_state *m, struct lb_op op)
{
    lb_model_apply(m, &op);
}

/* The model stays sorted whatever the order of adds. */
static void test_model_adds_keep_order(void **state)
{
    (void)state;
    struct lb_state m;
    memset(&m, 0, sizeof(m));
    apply(&m, op_vip(LB_OP_VIP_ADD, "192.0.2.20", 80));
    apply(&m, op_vip(LB_OP_VIP_ADD, "192.0.2.10", 80));
    apply(&m, op_vip(LB_OP_VIP_ADD, "192.0.2.15", 80));
    apply(&m, op_vip(LB_OP_VIP_ADD, "192.0.2.10", 80)); /* again: no duplicate */
    assert_int_equal(m.n_vips, 3);
    for (size_t i = 1; i < m.n_vips; i++)
        assert_true(lb_vip_key_cmp(&m.vips[i - 1].key, &m.vips[i].key) < 0);
    apply(&m, op_as(LB_OP_AS_ADD, "192.0.2.10", "10.0.0.9", 100, false));
    apply(&m, op_as(LB_OP_AS_ADD, "192.0.2.10", "10.0.0.100", 50, false));
    apply(&m, op_as(LB_OP_AS_ADD, "192.0.2.10", "10.0.0.10", 30, false));
    struct lb_vip_key k = key("192.0.2.10", 6, 80);
    const struct lb_vip *v = lb_state_find(&m, &k);
    assert_non_null(v);
    assert_int_equal(v->n_ases, 3);
    assert_int_equal(find_as(&m, "192.0.2.10", "10.0.0.9")->weight, 100);
    assert_int_equal(find_as(&m, "192.0.2.10", "10.0.0.10")->weight, 30);
    assert_int_equal(find_as(&m, "192.0.2.10", "10.0.0.100")->weight, 50);
    for (size_t i = 1; i < v->n_ases; i++)
        assert_true(ip_addr_cmp(&v->ases[i - 1].addr, &v->ases[i].addr) < 0);
    /* an AS of a VIP the model does not have: nothing */
    apply(&m, op_as(LB_OP_AS_ADD, "192.0.2.99", "10.0.0.1", 1, false));
    assert_int_equal(m.n_vips, 3);
    lb_state_free(&m);
}

static void test_model_weight_del_revive(void **state)
{
    (void)state;
    struct lb_state m;
    memset(&m, 0, sizeof(m));
    apply(&m, op_vip(LB_OP_VIP_ADD, "192.0.2.10", 80));
    apply(&m, op_as(LB_OP_AS_ADD, "192.0.2.10", "10.0.0.1", 100, false));
    apply(&m, op_as(LB_OP_AS_WEIGHT, "192.0.2.10", "10.0.0.1", 0, true));
    const struct lb_as *a = find_as(&m, "192.0.2.10", "10.0.0.1");
    assert_int_equal(a->weight, 0);
    assert_true(a->active);
    /* deleted: lingering in VPP until its GC */
    apply(&m, op_as(LB_OP_AS_DEL, "192.0.2.10", "10.0.0.1", 0, true));
    a = find_as(&m, "192.0.2.10", "10.0.0.1");
    assert_non_null(a);
    assert_false(a->active);
    /* re-added: active again, one entry */
    apply(&m, op_as(LB_OP_AS_ADD, "192.0.2.10", "10.0.0.1", 70, false));
    a = find_as(&m, "192.0.2.10", "10.0.0.1");
    assert_true(a->active);
    assert_int_equal(a->weight, 70);
    struct lb_vip_key k = key("192.0.2.10", 6, 80);
    assert_int_equal(lb_state_find(&m, &k)->n_ases, 1);
    /* a weight for an AS the model does not have: nothing */
    apply(&m, op_as(LB_OP_AS_WEIGHT, "192.0.2.10", "10.0.0.2", 5, false));
    assert_null(find_as(&m, "192.0.2.10", "10.0.0.2"));
    /* VIP deleted: gone with its ASes */
    apply(&m, op_vip(LB_OP_VIP_DEL, "192.0.2.10", 80));
    assert_int_equal(m.n_vips, 0);
    lb_state_free(&m);
}

static void test_model_conf_and_copy(void **state)
{
    (void)state;
    struct lb_state m;
    memset(&m, 0, sizeof(m));
    struct lb_op c;
    memset(&c, 0, sizeof(c));
    c.kind = LB_OP_CONF_SET;
    c.conf.ip4_src = ip("198.19.0.1");
    c.conf.ip6_src = ip("2001:db8::1");
    c.conf.sticky_buckets_per_core = 4096;
    c.conf.flow_timeout = 30;
    lb_model_apply(&m, &c);
    assert_true(m.has_conf);
    assert_int_equal(m.conf.flow_timeout, 30);
    apply(&m, op_vip(LB_OP_VIP_ADD, "192.0.2.10", 80));
    apply(&m, op_as(LB_OP_AS_ADD, "192.0.2.10", "10.0.0.1", 100, false));
    struct lb_state cp;
    lb_state_copy(&cp, &m);
    apply(&m, op_as(LB_OP_AS_WEIGHT, "192.0.2.10", "10.0.0.1", 1, false));
    assert_int_equal(find_as(&cp, "192.0.2.10", "10.0.0.1")->weight, 100); /* deep */
    assert_int_equal(find_as(&m, "192.0.2.10", "10.0.0.1")->weight, 1);
    assert_int_equal(cp.conf.sticky_buckets_per_core, 4096);
    lb_state_free(&cp);
    lb_state_free(&m);
}

/* A desired VIP with ASes a (w 100), b (w 0 flush), c (w 50). */
static void desired(struct lb_vip *v, uint8_t wa, uint8_t wb, bool fb, uint8_t wc)
{
    memset(v, 0, sizeof(*v));
    v->name = strdup("web");
    v->key = key("192.0.2.10", 6, 80);
    v->encap = LB_ENCAP_GRE4;
    v->ases = calloc(3, sizeof(*v->ases));
    v->n_ases = 3;
    const char *addr[] = { "10.0.0.1", "10.0.0.2", "10.0.0.3" };
    uint8_t w[] = { wa, wb, wc };
    for (size_t i = 0; i < 3; i++) {
        v->ases[i].addr = ip(addr[i]);
        v->ases[i].weight = w[i];
        v->ases[i].active = true;
    }
    v->ases[1].flush = fb;
}

/* Applies every op of plan p to the model m and frees p; planning dv
 * against the model again gives no op; frees dv. */
static void apply_and_converge(struct lb_state *m, struct lb_vip *dv, struct lb_plan *p)
{
    for (size_t i = 0; i < p->n_ops; i++)
        lb_model_apply(m, &p->ops[i]);
    lb_plan_free(p);
    struct lb_plan again;
    lb_plan_vip(dv, lb_state_find(m, &dv->key), &again);
    assert_int_equal(again.n_ops, 0);
    lb_plan_free(&again);
    lb_vip_clear(dv);
}

/* Planning one VIP against the model, then applying the plan to it, gives
 * a model in which the same plan is empty: the loop converges. */
static void test_plan_vip_against_model_converges(void **state)
{
    (void)state;
    struct lb_state m;
    memset(&m, 0, sizeof(m));
    struct lb_vip dv;
    desired(&dv, 100, 0, false, 50);
    struct lb_plan p;
    lb_plan_vip(&dv, NULL, &p); /* absent: created */
    assert_int_equal(p.vip_add, 1);
    assert_int_equal(p.as_add, 3);
    apply_and_converge(&m, &dv, &p);
    /* a goes down (flush), c's weight changes: exactly two weights, in
     * address order, flush only where the weight goes to 0 with flush */
    desired(&dv, 0, 0, false, 20);
    dv.ases[0].flush = true;
    lb_plan_vip(&dv, lb_state_find(&m, &dv.key), &p);
    assert_int_equal(p.n_ops, 2);
    assert_int_equal(p.ops[0].kind, LB_OP_AS_WEIGHT);
    assert_true(ip_addr_equal(&p.ops[0].as, &dv.ases[0].addr));
    assert_int_equal(p.ops[0].weight, 0);
    assert_int_equal(p.ops[0].old_weight, 100);
    assert_true(p.ops[0].flush);
    assert_true(ip_addr_equal(&p.ops[1].as, &dv.ases[2].addr));
    assert_int_equal(p.ops[1].weight, 20);
    assert_false(p.ops[1].flush);
    apply_and_converge(&m, &dv, &p);
    /* b, drained at 0, is now disabled (flush): the flush is sent although
     * the weight stays 0 — once */
    desired(&dv, 0, 0, true, 20);
    dv.ases[0].flush = true;
    lb_plan_vip(&dv, lb_state_find(&m, &dv.key), &p);
    assert_int_equal(p.n_ops, 1);
    assert_int_equal(p.ops[0].kind, LB_OP_AS_WEIGHT);
    assert_true(ip_addr_equal(&p.ops[0].as, &dv.ases[1].addr));
    assert_int_equal(p.ops[0].weight, 0);
    assert_true(p.ops[0].flush);
    assert_string_equal(p.ops[0].reason, "flush");
    apply_and_converge(&m, &dv, &p);
    lb_state_free(&m);
}

/* Held VIPs: no op in VIP scope; in full scope neither planned nor stale. */
static void test_held_vip_is_adopted(void **state)
{
    (void)state;
    struct lb_state obs, want;
    memset(&obs, 0, sizeof(obs));
    memset(&want, 0, sizeof(want));
    apply(&obs, op_vip(LB_OP_VIP_ADD, "192.0.2.10", 80));
    apply(&obs, op_as(LB_OP_AS_ADD, "192.0.2.10", "10.0.0.1", 7, false));
    want.vips = calloc(1, sizeof(*want.vips));
    want.n_vips = 1;
    desired(&want.vips[0], 0, 0, false, 0); /* all zero: would zero VPP's VIP */
    want.vips[0].held = true;
    struct lb_plan p;
    lb_plan_vip(&want.vips[0], lb_state_find(&obs, &want.vips[0].key), &p);
    assert_int_equal(p.n_ops, 0);
    lb_plan_free(&p);
    assert_int_equal(lb_plan_build(&want, &obs, NULL, &p), 0);
    assert_int_equal(p.n_ops, 0); /* no conf in either, nothing stale */
    lb_plan_free(&p);
    want.vips[0].held = false;
    assert_int_equal(lb_plan_build(&want, &obs, NULL, &p), 0);
    assert_true(p.n_ops > 0);
    lb_plan_free(&p);
    lb_state_free(&want);
    lb_state_free(&obs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_adds_keep_order),
        cmocka_unit_test(test_model_weight_del_revive),
        cmocka_unit_test(test_model_conf_and_copy),
        cmocka_unit_test(test_plan_vip_against_model_converges),
        cmocka_unit_test(test_held_vip_is_adopted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
