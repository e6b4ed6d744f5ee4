/* Unit tests of src/lb/disrupt.c: the buckets a change moves in VPP's
 * new-flow table, per VIP and per plan. The expectations are counted here
 * bucket by bucket from lb_mg_table (tested on its own in test_lb_maglev),
 * or known in closed form (a new VIP moves every bucket; removing one of
 * several ASes can at best move only its own buckets). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lb/disrupt.h"
#include "lb_build.h"

/* Counts here, independently of lb_mg_disruption: the table of the
 * weighted active ASes of v at len. */
static size_t mg_ases(const struct lb_vip *v, struct lb_mg_as *out)
{
    size_t n = 0;
    for (size_t i = 0; v && i < v->n_ases; i++)
        if (v->ases[i].active && v->ases[i].weight)
            out[n++] = (struct lb_mg_as){ v->ases[i].addr, v->ases[i].weight };
    return n;
}

static uint32_t moved_by_hand(const struct lb_vip *a, const struct lb_vip *b, uint32_t len,
                              uint32_t *minimum)
{
    struct lb_mg_as xa[16], xb[16];
    size_t na = mg_ases(a, xa), nb = mg_ases(b, xb);
    int32_t *ta = calloc(len, sizeof(*ta)), *tb = calloc(len, sizeof(*tb));
    assert_int_equal(lb_mg_table_alloc(xa, na, len, ta), 0);
    assert_int_equal(lb_mg_table_alloc(xb, nb, len, tb), 0);
    uint32_t moved = 0;
    for (uint32_t k = 0; k < len; k++) {
        const struct ip_addr *oa = ta[k] < 0 ? NULL : &xa[ta[k]].addr;
        const struct ip_addr *ob = tb[k] < 0 ? NULL : &xb[tb[k]].addr;
        moved += !(oa == ob || (oa && ob && ip_addr_equal(oa, ob)));
    }
    /* the least: what each owner loses */
    uint32_t ca[16] = { 0 }, cb[16] = { 0 };
    uint32_t none_a = lb_mg_counts(xa, na, len, ca), none_b = lb_mg_counts(xb, nb, len, cb);
    *minimum = none_a > none_b ? none_a - none_b : 0;
    for (size_t i = 0; i < na; i++) {
        uint32_t after = 0;
        for (size_t k = 0; k < nb; k++)
            if (ip_addr_equal(&xa[i].addr, &xb[k].addr))
                after = cb[k];
        *minimum += ca[i] > after ? ca[i] - after : 0;
    }
    free(ta);
    free(tb);
    return moved;
}

static struct lb_vip *three(struct lb_state *s, const char *name, const char *addr)
{
    struct lb_vip *v = add_vip(s, name, addr, 6, 80, -1, 0);
    add_as(v, "10.0.0.1", 1, false, true);
    add_as(v, "10.0.0.2", 1, false, true);
    add_as(v, "10.0.0.3", 1, false, true);
    return v;
}

static void test_vip_remove_one(void **state)
{
    (void)state;
    struct lb_state b = { 0 }, a = { 0 };
    struct lb_vip *vb = three(&b, "web", "192.0.2.1");
    struct lb_vip *va = three(&a, "web", "192.0.2.1");
    va->ases[2].weight = 0; /* 10.0.0.3 out */
    struct lb_mg_disruption d;
    lb_disrupt_vip(vb, va, &d);
    uint32_t min;
    uint32_t want = moved_by_hand(vb, va, 1024, &min);
    assert_int_equal(d.len, 1024);
    assert_int_equal(d.moved, want);
    assert_int_equal(d.minimum, min);
    /* and as lb_mg_disruption counts it */
    struct lb_mg_as xa[4], xb[4];
    size_t na = mg_ases(vb, xa), nb = mg_ases(va, xb);
    int32_t ta[1024], tb[1024];
    assert_int_equal(lb_mg_table_alloc(xa, na, 1024, ta), 0);
    assert_int_equal(lb_mg_table_alloc(xb, nb, 1024, tb), 0);
    struct lb_mg_disruption ref;
    lb_mg_disruption(xa, na, ta, xb, nb, tb, 1024, &ref);
    assert_int_equal(ref.moved, d.moved);
    assert_int_equal(ref.minimum, d.minimum);
    /* 1024 / 3: 10.0.0.3 had 341 (1024 = 3 x 341 + 1, the extra to the
     * first entry, 10.0.0.1): it loses them all, nobody else must lose */
    assert_int_equal(d.minimum, 341);
    assert_true(d.moved >= d.minimum && d.moved < 1024);
    /* back again: the same count the other way */
    struct lb_mg_disruption back;
    lb_disrupt_vip(va, vb, &back);
    assert_int_equal(back.moved, d.moved);
    /* an AS removed (inactive, lingering) is the same as weight 0 */
    va->ases[2].weight = 1;
    va->ases[2].active = false;
    struct lb_mg_disruption gone;
    lb_disrupt_vip(vb, va, &gone);
    assert_int_equal(gone.moved, d.moved);
    lb_state_free(&b);
    lb_state_free(&a);
}

static void test_vip_weight_change(void **state)
{
    (void)state;
    struct lb_state b = { 0 }, a = { 0 };
    struct lb_vip *vb = three(&b, "web", "192.0.2.1");
    struct lb_vip *va = three(&a, "web", "192.0.2.1");
    for (size_t i = 0; i < 3; i++)
        vb->ases[i].weight = va->ases[i].weight = 50;
    va->ases[1].weight = 100;
    vb->flow_table_length = va->flow_table_length = 256;
    struct lb_mg_disruption d;
    lb_disrupt_vip(vb, va, &d);
    uint32_t min;
    assert_int_equal(d.len, 256);
    assert_int_equal(d.moved, moved_by_hand(vb, va, 256, &min));
    assert_int_equal(d.minimum, min);
    assert_true(d.minimum > 0 && d.moved >= d.minimum);
    lb_state_free(&b);
    lb_state_free(&a);
}

static void test_vip_same_table(void **state)
{
    (void)state;
    struct lb_state b = { 0 }, a = { 0 };
    struct lb_vip *vb = three(&b, "web", "192.0.2.1");
    struct lb_vip *va = three(&a, "web", "192.0.2.1");
    add_as(vb, "10.0.0.9", 0, false, true); /* weight 0 either way, flushed after */
    add_as(va, "10.0.0.9", 0, true, true);
    add_as(va, "10.0.0.10", 5, false, false); /* lingering: not in the table */
    assert_true(lb_disrupt_same(vb, va));
    struct lb_mg_disruption d = { 9, 9, 9 };
    lb_disrupt_vip(vb, va, &d);
    assert_int_equal(d.len, 1024);
    assert_int_equal(d.moved, 0);
    assert_int_equal(d.minimum, 0);
    assert_true(lb_disrupt_same(NULL, NULL));
    va->ases[0].weight = 2;
    assert_false(lb_disrupt_same(vb, va));
    lb_state_free(&b);
    lb_state_free(&a);
}

static void test_vip_new_and_gone(void **state)
{
    (void)state;
    struct lb_state a = { 0 };
    struct lb_vip *v = three(&a, "web", "192.0.2.1");
    struct lb_mg_disruption d;
    lb_disrupt_vip(NULL, v, &d); /* every bucket leaves "no server" */
    assert_int_equal(d.len, 1024);
    assert_int_equal(d.moved, 1024);
    assert_int_equal(d.minimum, 1024);
    lb_disrupt_vip(v, NULL, &d);
    assert_int_equal(d.moved, 1024);
    assert_int_equal(d.minimum, 1024);
    /* a VIP without a weighted AS has nothing to move */
    for (size_t i = 0; i < 3; i++)
        v->ases[i].weight = 0;
    lb_disrupt_vip(NULL, v, &d);
    assert_int_equal(d.moved, 0);
    lb_state_free(&a);
}

static void test_len(void **state)
{
    (void)state;
    struct lb_state s = { 0 };
    add_vip(&s, NULL, "192.0.2.1", 6, 80, -1, 0);
    add_vip(&s, NULL, "192.0.2.2", 6, 80, -1, 0);
    struct lb_vip *x = &s.vips[0], *y = &s.vips[1];
    x->flow_table_length = 2048;
    y->flow_table_length = 0;
    assert_int_equal(lb_disrupt_len(x, y), 2048);
    assert_int_equal(lb_disrupt_len(y, x), 2048);
    assert_int_equal(lb_disrupt_len(NULL, NULL), LB_NEW_FLOWS_TABLE_LENGTH);
    y->flow_table_length = 4096;
    assert_int_equal(lb_disrupt_len(x, y), 4096); /* after's wins */
    y->flow_table_length = 1000;                  /* not a table length: unknown */
    assert_int_equal(lb_disrupt_len(x, y), 2048);
    assert_true(lb_disrupt_pct(62, 1024) > 6.05 && lb_disrupt_pct(62, 1024) < 6.06);
    assert_true(lb_disrupt_pct(3, 0) == 0);
    lb_state_free(&s);
}

/* A plan over three VIPs: one loses an AS, one only gets a flush, one is
 * new; a conf-set first. */
static void test_plan(void **state)
{
    (void)state;
    struct lb_state obs = { 0 }, want = { 0 };
    three(&obs, NULL, "192.0.2.1");
    three(&obs, NULL, "192.0.2.2");
    obs.vips[1].ases[2].weight = 0;
    lb_state_sort_observed(&obs);
    three(&want, "a", "192.0.2.1");
    three(&want, "b", "192.0.2.2");
    three(&want, "c", "192.0.2.3"); /* (want.vips moves as it grows) */
    struct lb_vip *d1 = &want.vips[0], *d2 = &want.vips[1];
    d1->ases[2].weight = 0;
    d2->ases[2].weight = 0;
    d2->ases[2].flush = true; /* a flush at weight 0: an op, no move */
    want.has_conf = true;
    struct lb_plan p;
    assert_int_equal(lb_plan_build(&want, &obs, NULL, &p), 0);
    assert_int_equal(p.conf_set, 1);
    assert_int_equal(p.as_weight, 2);
    assert_int_equal(p.vip_add, 1);
    struct lb_disruptions ds;
    lb_disrupt_plan(&obs, &p, NULL, &ds);
    assert_int_equal(ds.n, 2);
    assert_string_equal(ds.v[0].frontend, "a");
    assert_int_equal(lb_vip_key_cmp(&ds.v[0].vip, &d1->key), 0);
    uint32_t min;
    assert_int_equal(ds.v[0].d.moved, moved_by_hand(&obs.vips[0], d1, 1024, &min));
    assert_int_equal(ds.v[0].d.minimum, 341);
    assert_string_equal(ds.v[1].frontend, "c");
    assert_int_equal(ds.v[1].d.moved, 1024);
    lb_disruptions_free(&ds);
    /* only what succeeded counts: VIP a's op refused, c's VIP added but
     * its ASes refused */
    bool *ok = calloc(p.n_ops, sizeof(*ok));
    for (size_t i = 0; i < p.n_ops; i++)
        ok[i] = !(p.ops[i].kind == LB_OP_AS_WEIGHT && !strcmp(p.ops[i].frontend, "a")) &&
                p.ops[i].kind != LB_OP_AS_ADD;
    lb_disrupt_plan(&obs, &p, ok, &ds);
    assert_int_equal(ds.n, 0);
    lb_disruptions_free(&ds);
    /* against nothing observed, the weight ops of a and b have no VIP
     * to change (as in the model): only c's creation moves buckets */
    lb_disrupt_plan(NULL, &p, NULL, &ds);
    assert_int_equal(ds.n, 1);
    assert_string_equal(ds.v[0].frontend, "c");
    assert_int_equal(ds.v[0].d.moved, 1024);
    lb_disruptions_free(&ds);
    free(ok);
    lb_plan_free(&p);
    lb_state_free(&obs);
    lb_state_free(&want);
}

/* A stale VIP is removed: all its buckets go to no server; its entry has
 * no frontend. */
static void test_plan_stale(void **state)
{
    (void)state;
    struct lb_state obs = { 0 }, want = { 0 };
    three(&obs, NULL, "192.0.2.9");
    struct lb_plan p;
    assert_int_equal(lb_plan_build(&want, &obs, NULL, &p), 0);
    struct lb_disruptions ds;
    lb_disrupt_plan(&obs, &p, NULL, &ds);
    assert_int_equal(ds.n, 1);
    assert_null(ds.v[0].frontend);
    assert_int_equal(ds.v[0].d.moved, 1024);
    lb_disruptions_free(&ds);
    lb_plan_free(&p);
    lb_state_free(&obs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vip_remove_one),
        cmocka_unit_test(test_vip_weight_change),
        cmocka_unit_test(test_vip_same_table),
        cmocka_unit_test(test_vip_new_and_gone),
        cmocka_unit_test(test_len),
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_plan_stale),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
