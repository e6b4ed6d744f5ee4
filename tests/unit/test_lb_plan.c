/* Unit tests for src/lb/plan.h: VIP keys and names, the desired state of a
 * config, and every case of the diff between desired and observed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/duration.h"
#include "lb/plan.h"
#include "lb_build.h"

/* ---- building states by hand ---- */

static struct lb_conf_state conf(void)
{
    struct lb_conf_state c;
    memset(&c, 0, sizeof(c));
    c.ip4_src = ip("192.0.2.1");
    c.ip6_src = ip("2001:db8::1");
    c.sticky_buckets_per_core = 65536;
    c.flow_timeout = 40;
    return c;
}

/* An observed copy of a desired state: same VIPs, ASes active, conf known. */
/* An observed state equal to d, as the model knows it (flushes included). */
static void copy_as_observed(const struct lb_state *d, struct lb_state *o)
{
    memset(o, 0, sizeof(*o));
    o->has_conf = d->has_conf;
    o->conf = d->conf;
    for (size_t i = 0; i < d->n_vips; i++) {
        const struct lb_vip *dv = &d->vips[i];
        char a[IP_ADDR_STRLEN];
        struct lb_vip *v =
            add_vip(o, NULL, ip_addr_format(&dv->key.addr, a, sizeof(a)), dv->key.protocol,
                    dv->key.port, (int)dv->encap, dv->src_ip_sticky);
        for (size_t j = 0; j < dv->n_ases; j++)
            add_as(v, ip_addr_format(&dv->ases[j].addr, a, sizeof(a)), dv->ases[j].weight,
                   dv->ases[j].flush, true);
    }
    lb_state_sort_observed(o);
}

/* ---- checking plans ---- */

/* One line per op: kind frontend vip [details] (reason). */
static void op_text(const struct lb_op *op, char *buf, size_t len)
{
    char k[80], a[IP_ADDR_STRLEN];
    int n =
        snprintf(buf, len, "%s %s", lb_op_kind_name(op->kind), op->frontend ? op->frontend : "-");
    if (op->kind != LB_OP_CONF_SET)
        n += snprintf(buf + n, len - n, " %s", lb_vip_key_format(&op->vip, k, sizeof(k)));
    switch (op->kind) {
    case LB_OP_VIP_ADD:
    case LB_OP_VIP_DEL:
        n += snprintf(buf + n, len - n, " %s sticky=%d", lb_encap_name(op->encap),
                      op->src_ip_sticky);
        break;
    case LB_OP_AS_ADD:
    case LB_OP_AS_DEL:
        n += snprintf(buf + n, len - n, " %s w=%u%s", ip_addr_format(&op->as, a, sizeof(a)),
                      op->weight, op->flush ? " flush" : "");
        break;
    case LB_OP_AS_WEIGHT:
        n += snprintf(buf + n, len - n, " %s w=%u->%u%s", ip_addr_format(&op->as, a, sizeof(a)),
                      op->old_weight, op->weight, op->flush ? " flush" : "");
        break;
    case LB_OP_CONF_SET:
        break;
    }
    snprintf(buf + n, len - n, " (%s)", op->reason ? op->reason : "?");
}

static void print_plan(const struct lb_plan *p)
{
    char line[256];
    for (size_t i = 0; i < p->n_ops; i++) {
        op_text(&p->ops[i], line, sizeof(line));
        print_error("  [%zu] %s\n", i, line);
    }
}

/* The plan is exactly these ops (NULL-terminated), and the counts agree. */
static void expect_ops(const struct lb_plan *p, const char *const *want)
{
    size_t n = 0;
    while (want[n])
        n++;
    bool ok = p->n_ops == n;
    char line[256];
    for (size_t i = 0; ok && i < n; i++) {
        op_text(&p->ops[i], line, sizeof(line));
        ok = strcmp(line, want[i]) == 0;
        if (!ok)
            print_error("op %zu: got  \"%s\"\n      want \"%s\"\n", i, line, want[i]);
    }
    if (!ok) {
        print_error("plan of %zu ops, want %zu:\n", p->n_ops, n);
        print_plan(p);
        fail();
    }
    size_t counts[6] = { 0 };
    for (size_t i = 0; i < p->n_ops; i++)
        counts[p->ops[i].kind]++;
    assert_int_equal(p->conf_set, counts[LB_OP_CONF_SET]);
    assert_int_equal(p->vip_add, counts[LB_OP_VIP_ADD]);
    assert_int_equal(p->vip_del, counts[LB_OP_VIP_DEL]);
    assert_int_equal(p->as_add, counts[LB_OP_AS_ADD]);
    assert_int_equal(p->as_del, counts[LB_OP_AS_DEL]);
    assert_int_equal(p->as_weight, counts[LB_OP_AS_WEIGHT]);
}

static void plan_expect(const struct lb_state *d, const struct lb_state *o, const char *fe,
                        const char *const *want)
{
    struct lb_plan p;
    memset(&p, 0xa5, sizeof(p)); /* out is reset by the planner */
    assert_int_equal(lb_plan_build(d, o, fe, &p), 0);
    expect_ops(&p, want);
    lb_plan_free(&p);
}

/* ---- keys and names ---- */

static void test_key_format_and_names(void **state)
{
    (void)state;
    char b[80];
    struct lb_vip_key k = key("192.0.2.1", 6, 80);
    assert_string_equal(lb_vip_key_format(&k, b, sizeof(b)), "192.0.2.1/32 tcp:80");
    k = key("192.0.2.1", 17, 53);
    assert_string_equal(lb_vip_key_format(&k, b, sizeof(b)), "192.0.2.1/32 udp:53");
    k = key("2001:db8::1", LB_PROTO_ANY, 0);
    assert_string_equal(lb_vip_key_format(&k, b, sizeof(b)), "2001:db8::1/128 any");
    k = key("2001:db8::1", 132, 9);
    assert_string_equal(lb_vip_key_format(&k, b, sizeof(b)), "2001:db8::1/128 proto-132:9");
    k = key("10.0.0.0", 6, 443);
    k.plen = 8;
    assert_string_equal(lb_vip_key_format(&k, b, sizeof(b)), "10.0.0.0/8 tcp:443");

    assert_string_equal(lb_op_kind_name(LB_OP_CONF_SET), "conf-set");
    assert_string_equal(lb_op_kind_name(LB_OP_VIP_ADD), "vip-add");
    assert_string_equal(lb_op_kind_name(LB_OP_VIP_DEL), "vip-del");
    assert_string_equal(lb_op_kind_name(LB_OP_AS_ADD), "as-add");
    assert_string_equal(lb_op_kind_name(LB_OP_AS_DEL), "as-del");
    assert_string_equal(lb_op_kind_name(LB_OP_AS_WEIGHT), "as-weight");
    assert_string_equal(lb_encap_name(LB_ENCAP_GRE4), "gre4");
    assert_string_equal(lb_encap_name(LB_ENCAP_GRE6), "gre6");
    assert_string_equal(lb_encap_name(LB_ENCAP_L3DSR), "l3dsr");
    assert_string_equal(lb_encap_name(LB_ENCAP_NAT4), "nat4");
    assert_string_equal(lb_encap_name(LB_ENCAP_NAT6), "nat6");
    assert_string_equal(lb_encap_name(5), "unknown");
    assert_string_equal(lb_encap_name(UINT32_MAX), "unknown");
}

static void test_key_cmp(void **state)
{
    (void)state;
    /* ascending: family, address (numeric), plen, protocol, port */
    struct lb_vip_key v[8] = {
        key("10.0.0.9", 6, 80),    key("10.0.0.9", 6, 443),   key("10.0.0.9", 17, 53),
        key("10.0.0.9", 255, 0),   key("10.0.0.10", 6, 80),   key("10.0.0.100", 6, 1),
        key("2001:db8::1", 6, 80), key("2001:db8::10", 6, 1),
    };
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal(lb_vip_key_cmp(&v[i], &v[i]), 0);
        for (size_t j = i + 1; j < 8; j++) {
            assert_true(lb_vip_key_cmp(&v[i], &v[j]) < 0);
            assert_true(lb_vip_key_cmp(&v[j], &v[i]) > 0);
        }
    }
    struct lb_vip_key a = key("10.0.0.0", 6, 80), b = a;
    a.plen = 8;
    assert_true(lb_vip_key_cmp(&a, &b) < 0);
    /* a v4 key sorts before any v6 key, whatever the bytes */
    struct lb_vip_key x = key("255.255.255.255", 255, 0), y = key("::", 6, 1);
    assert_true(lb_vip_key_cmp(&x, &y) < 0);
}

static void test_frontend_vip_key(void **state)
{
    (void)state;
    struct frontend_conf fe;
    memset(&fe, 0, sizeof(fe));
    fe.address = ip("203.0.113.10");
    fe.protocol = FE_PROTO_TCP;
    fe.port = 80;
    struct lb_vip_key k = lb_frontend_vip_key(&fe);
    assert_int_equal(k.plen, 32);
    assert_int_equal(k.protocol, 6);
    assert_int_equal(k.port, 80);
    assert_true(ip_addr_equal(&k.addr, &fe.address));
    fe.protocol = FE_PROTO_UDP;
    fe.port = 53;
    k = lb_frontend_vip_key(&fe);
    assert_int_equal(k.protocol, 17);
    assert_int_equal(k.port, 53);
    fe.address = ip("2001:db8::10");
    fe.protocol = FE_PROTO_ANY;
    fe.port = 0;
    k = lb_frontend_vip_key(&fe);
    assert_int_equal(k.plen, 128);
    assert_int_equal(k.protocol, LB_PROTO_ANY);
    assert_int_equal(k.port, 0);
}

/* ---- the diff ---- */

/* web4 (two ASes) and web6, as maglevd wants them. */
static void desired_two(struct lb_state *d)
{
    memset(d, 0, sizeof(*d));
    d->has_conf = true;
    d->conf = conf();
    struct lb_vip *v = add_vip(d, "web4", "203.0.113.10", 6, 80, -1, 0);
    add_as(v, "10.0.0.9", 100, false, true);
    add_as(v, "10.0.0.10", 50, false, true);
    add_as(v, "10.0.0.100", 0, true, true);
    v = add_vip(d, "web6", "2001:db8:ffff::10", 6, 443, -1, 1);
    add_as(v, "2001:db8:1::2", 100, false, true);
    add_as(v, "2001:db8:1::10", 100, false, true);
}

static void test_empty_to_full(void **state)
{
    (void)state;
    struct lb_state d, o;
    desired_two(&d);
    memset(&o, 0, sizeof(o));
    static const char *const want[] = {
        "conf-set - (conf)",
        "vip-add web4 203.0.113.10/32 tcp:80 gre4 sticky=0 (missing)",
        "as-add web4 203.0.113.10/32 tcp:80 10.0.0.9 w=100 (missing)",
        "as-add web4 203.0.113.10/32 tcp:80 10.0.0.10 w=50 (missing)",
        "as-add web4 203.0.113.10/32 tcp:80 10.0.0.100 w=0 flush (missing)",
        "vip-add web6 2001:db8:ffff::10/128 tcp:443 gre6 sticky=1 (missing)",
        "as-add web6 2001:db8:ffff::10/128 tcp:443 2001:db8:1::2 w=100 (missing)",
        "as-add web6 2001:db8:ffff::10/128 tcp:443 2001:db8:1::10 w=100 (missing)",
        NULL,
    };
    plan_expect(&d, &o, NULL, want);
    plan_expect(&d, NULL, NULL, want); /* NULL observed = empty */

    struct lb_plan p;
    assert_int_equal(lb_plan_build(&d, &o, NULL, &p), 0);
    assert_int_equal(p.ops[0].conf.flow_timeout, 40);
    assert_true(ip_addr_equal(&p.ops[0].conf.ip6_src, &d.conf.ip6_src));
    assert_ptr_equal(p.ops[1].frontend, d.vips[0].name); /* points into desired */
    assert_int_equal(p.ops[1].encap, LB_ENCAP_GRE4);
    assert_int_equal(p.vip_add, 2);
    assert_int_equal(p.as_add, 5);
    assert_int_equal(p.conf_set, 1);
    lb_plan_free(&p);
    lb_state_free(&d);
}

static void test_identical_no_ops(void **state)
{
    (void)state;
    struct lb_state d, o;
    desired_two(&d);
    copy_as_observed(&d, &o);
    static const char *const none[] = { NULL };
    plan_expect(&d, &o, NULL, none);
    plan_expect(&d, &o, "web4", none);
    plan_expect(&d, &o, "web6", none);
    /* sticky unknown in VPP's dump: still nothing to do */
    for (size_t i = 0; i < o.n_vips; i++)
        o.vips[i].src_ip_sticky = LB_STICKY_UNKNOWN;
    plan_expect(&d, &o, NULL, none);
    struct lb_plan p;
    assert_int_equal(lb_plan_build(&d, &o, NULL, &p), 0);
    assert_int_equal(p.n_ops, 0);
    assert_int_equal(p.vip_add + p.vip_del + p.as_add + p.as_del + p.as_weight + p.conf_set, 0);
    lb_plan_free(&p);
    lb_state_free(&d);
    lb_state_free(&o);
}

static void test_stale_vip(void **state)
{
    (void)state;
    struct lb_state d, o;
    desired_two(&d);
    copy_as_observed(&d, &o);
    struct lb_vip *v = add_vip(&o, NULL, "198.51.100.7", 17, 53, LB_ENCAP_GRE4, LB_STICKY_UNKNOWN);
    add_as(v, "10.1.0.20", 30, false, true);
    add_as(v, "10.1.0.3", 0, false, false); /* lingering: left alone */
    add_as(v, "10.1.0.100", 70, false, true);
    add_as(v, "10.1.0.5", 10, false, true);
    lb_state_sort_observed(&o);
    static const char *const want[] = {
        "as-del - 198.51.100.7/32 udp:53 10.1.0.5 w=10 flush (stale)",
        "as-del - 198.51.100.7/32 udp:53 10.1.0.20 w=30 flush (stale)",
        "as-del - 198.51.100.7/32 udp:53 10.1.0.100 w=70 flush (stale)",
        "vip-del - 198.51.100.7/32 udp:53 gre4 sticky=0 (stale)",
        NULL,
    };
    plan_expect(&d, &o, NULL, want);
    /* VIP scope never removes another VIP */
    static const char *const none[] = { NULL };
    plan_expect(&d, &o, "web4", none);
    plan_expect(&d, &o, "web6", none);
    /* a stale VIP with only lingering ASes: just the VIP */
    for (size_t i = 0; i < o.n_vips; i++)
        if (o.vips[i].key.port == 53)
            for (size_t j = 0; j < o.vips[i].n_ases; j++)
                o.vips[i].ases[j].active = false;
    static const char *const only_vip[] = {
        "vip-del - 198.51.100.7/32 udp:53 gre4 sticky=0 (stale)",
        NULL,
    };
    plan_expect(&d, &o, NULL, only_vip);
    lb_state_free(&d);
    lb_state_free(&o);
}

static void test_vip_scope(void **state)
{
    (void)state;
    struct lb_state d, o;
    desired_two(&d);
    memset(&o, 0, sizeof(o)); /* conf unknown, nothing installed */
    static const char *const web6[] = {
        "vip-add web6 2001:db8:ffff::10/128 tcp:443 gre6 sticky=1 (missing)",
        "as-add web6 2001:db8:ffff::10/128 tcp:443 2001:db8:1::2 w=100 (missing)",
        "as-add web6 2001:db8:ffff::10/128 tcp:443 2001:db8:1::10 w=100 (missing)",
        NULL,
    };
    plan_expect(&d, &o, "web6", web6); /* no conf op in VIP scope */
    struct lb_plan p;
    memset(&p, 0x5a, sizeof(p));
    assert_int_equal(lb_plan_build(&d, &o, "nope", &p), -ENOENT);
    assert_null(p.ops);
    assert_int_equal(p.n_ops, 0);
    assert_int_equal(p.cap, 0);
    lb_plan_free(&p);
    assert_int_equal(lb_plan_build(&d, &o, "web", &p), -ENOENT); /* no prefix match */
    assert_int_equal(lb_plan_build(&d, &o, "", &p), -ENOENT);
    assert_int_equal(lb_plan_build(NULL, &o, "web6", &p), -ENOENT);
    assert_int_equal(lb_plan_build(NULL, NULL, NULL, &p), 0);
    assert_int_equal(p.n_ops, 0);
    lb_plan_free(&p);
    lb_state_free(&d);
}

static void test_recreate_encap(void **state)
{
    (void)state;
    struct lb_state d, o;
    desired_two(&d);
    copy_as_observed(&d, &o);
    struct lb_vip *ov = (struct lb_vip *)lb_state_find(&o, &d.vips[0].key);
    assert_non_null(ov);
    ov->encap = LB_ENCAP_L3DSR;
    ov->src_ip_sticky = 1; /* differs too: encap is the reason given */
    ov->ases[1].active = false;
    static const char *const want[] = {
        "as-del web4 203.0.113.10/32 tcp:80 10.0.0.9 w=100 flush (encap)",
        "as-del web4 203.0.113.10/32 tcp:80 10.0.0.100 w=0 flush (encap)",
        "vip-del web4 203.0.113.10/32 tcp:80 l3dsr sticky=1 (encap)",
        "vip-add web4 203.0.113.10/32 tcp:80 gre4 sticky=0 (encap)",
        "as-add web4 203.0.113.10/32 tcp:80 10.0.0.9 w=100 (encap)",
        "as-add web4 203.0.113.10/32 tcp:80 10.0.0.10 w=50 (encap)",
        "as-add web4 203.0.113.10/32 tcp:80 10.0.0.100 w=0 flush (encap)",
        NULL,
    };
    plan_expect(&d, &o, NULL, want);
    plan_expect(&d, &o, "web4", want);
    lb_state_free(&d);
    lb_state_free(&o);
}

static void test_recreate_sticky(void **state)
{
    (void)state;
    struct lb_state d, o;
    desired_two(&d);
    copy_as_observed(&d, &o);
    struct lb_vip *ov = (struct lb_vip *)lb_state_find(&o, &d.vips[1].key);
    assert_non_null(ov);
    ov->src_ip_sticky = 0; /* known, desired is 1 */
    ov->ases[0].weight = 7;
    static const char *const want[] = {
        "as-del web6 2001:db8:ffff::10/128 tcp:443 2001:db8:1::2 w=7 flush (src-ip-sticky)",
        "as-del web6 2001:db8:ffff::10/128 tcp:443 2001:db8:1::10 w=100 flush (src-ip-sticky)",
        "vip-del web6 2001:db8:ffff::10/128 tcp:443 gre6 sticky=0 (src-ip-sticky)",
        "vip-add web6 2001:db8:ffff::10/128 tcp:443 gre6 sticky=1 (src-ip-sticky)",
        "as-add web6 2001:db8:ffff::10/128 tcp:443 2001:db8:1::2 w=100 (src-ip-sticky)",
        "as-add web6 2001:db8:ffff::10/128 tcp:443 2001:db8:1::10 w=100 (src-ip-sticky)",
        NULL,
    };
    plan_expect(&d, &o, NULL, want);
    /* unknown stickiness: no recreate, only the weight */
    ov->src_ip_sticky = LB_STICKY_UNKNOWN;
    static const char *const weight[] = {
        "as-weight web6 2001:db8:ffff::10/128 tcp:443 2001:db8:1::2 w=7->100 (weight)",
        NULL,
    };
    plan_expect(&d, &o, NULL, weight);
    /* the other direction: sticky in VPP, not wanted */
    ov = (struct lb_vip *)lb_state_find(&o, &d.vips[0].key);
    ov->src_ip_sticky = 1;
    struct lb_plan p;
    assert_int_equal(lb_plan_build(&d, &o, "web4", &p), 0);
    assert_int_equal(p.vip_del, 1);
    assert_int_equal(p.vip_add, 1);
    assert_int_equal(p.as_del, 3);
    assert_int_equal(p.as_add, 3);
    assert_string_equal(p.ops[0].reason, "src-ip-sticky");
    assert_false(p.ops[4].src_ip_sticky);
    lb_plan_free(&p);
    lb_state_free(&d);
    lb_state_free(&o);
}

static void test_reconcile_ases(void **state)
{
    (void)state;
    struct lb_state d, o;
    memset(&d, 0, sizeof(d));
    memset(&o, 0, sizeof(o));
    struct lb_vip *dv = add_vip(&d, "web", "203.0.113.10", 6, 80, -1, 0);
    struct lb_vip *ov = add_vip(&o, NULL, "203.0.113.10", 6, 80, -1, LB_STICKY_UNKNOWN);
    add_as(dv, "10.0.0.1", 100, false, true); /* same: nothing */
    add_as(ov, "10.0.0.1", 100, false, true);
    add_as(dv, "10.0.0.2", 60, false, true); /* weight */
    add_as(ov, "10.0.0.2", 50, false, true);
    add_as(dv, "10.0.0.3", 0, true, true); /* weight to 0 with flush */
    add_as(ov, "10.0.0.3", 40, false, true);
    add_as(dv, "10.0.0.4", 0, false, true); /* weight to 0, drain */
    add_as(ov, "10.0.0.4", 10, false, true);
    add_as(dv, "10.0.0.5", 20, true, true); /* flush only matters at 0 */
    add_as(ov, "10.0.0.5", 10, false, true);
    add_as(ov, "10.0.0.6", 30, false, true);  /* not configured: deleted */
    add_as(ov, "10.0.0.7", 0, false, false);  /* lingering, not wanted: left */
    add_as(dv, "10.0.0.8", 90, false, true);  /* lingering, wanted: re-added */
    add_as(ov, "10.0.0.8", 90, false, false); /* (weight irrelevant) */
    add_as(dv, "10.0.0.9", 0, true, true);    /* missing, added with flush */
    add_as(dv, "10.0.0.10", 5, false, true);  /* missing */
    add_as(ov, "10.0.0.11", 0, false, true);  /* not configured, weight 0 */
    add_as(dv, "10.0.0.12", 0, false, true);  /* lingering with weight 0 */
    add_as(ov, "10.0.0.12", 0, false, false);
    lb_state_sort_observed(&o);
    static const char *const want[] = {
        "as-add web 203.0.113.10/32 tcp:80 10.0.0.8 w=90 (lingering)",
        "as-add web 203.0.113.10/32 tcp:80 10.0.0.9 w=0 flush (missing)",
        "as-add web 203.0.113.10/32 tcp:80 10.0.0.10 w=5 (missing)",
        "as-add web 203.0.113.10/32 tcp:80 10.0.0.12 w=0 (lingering)",
        "as-weight web 203.0.113.10/32 tcp:80 10.0.0.2 w=50->60 (weight)",
        "as-weight web 203.0.113.10/32 tcp:80 10.0.0.3 w=40->0 flush (weight)",
        "as-weight web 203.0.113.10/32 tcp:80 10.0.0.4 w=10->0 (weight)",
        "as-weight web 203.0.113.10/32 tcp:80 10.0.0.5 w=10->20 (weight)",
        "as-del web 203.0.113.10/32 tcp:80 10.0.0.6 w=30 flush (not-configured)",
        "as-del web 203.0.113.10/32 tcp:80 10.0.0.11 w=0 flush (not-configured)",
        NULL,
    };
    plan_expect(&d, &o, NULL, want);
    plan_expect(&d, &o, "web", want);
    struct lb_plan p;
    assert_int_equal(lb_plan_build(&d, &o, NULL, &p), 0);
    assert_int_equal(p.ops[4].old_weight, 50);
    assert_int_equal(p.ops[4].weight, 60);
    assert_ptr_equal(p.ops[8].frontend, d.vips[0].name);
    lb_plan_free(&p);
    lb_state_free(&d);
    lb_state_free(&o);
}

static void test_conf(void **state)
{
    (void)state;
    struct lb_state d, o;
    desired_two(&d);
    copy_as_observed(&d, &o);
    static const char *const none[] = { NULL };
    static const char *const set[] = { "conf-set - (conf)", NULL };
    plan_expect(&d, &o, NULL, none);
    o.has_conf = false; /* unknown */
    plan_expect(&d, &o, NULL, set);
    plan_expect(&d, &o, "web4", none);
    o.has_conf = true;
    for (int field = 0; field < 4; field++) {
        o.conf = conf();
        switch (field) {
        case 0:
            o.conf.ip4_src = ip("192.0.2.2");
            break;
        case 1:
            o.conf.ip6_src = ip("::");
            break;
        case 2:
            o.conf.sticky_buckets_per_core = 1024;
            break;
        case 3:
            o.conf.flow_timeout = 41;
            break;
        }
        plan_expect(&d, &o, NULL, set);
        plan_expect(&d, &o, "web6", none);
    }
    d.has_conf = false; /* no conf wanted: never set */
    plan_expect(&d, &o, NULL, none);
    /* the conf op comes before stale removals */
    d.has_conf = true;
    add_vip(&o, NULL, "192.0.2.200", 6, 80, -1, 0);
    lb_state_sort_observed(&o);
    static const char *const both[] = {
        "conf-set - (conf)",
        "vip-del - 192.0.2.200/32 tcp:80 gre4 sticky=0 (stale)",
        NULL,
    };
    plan_expect(&d, &o, NULL, both);
    lb_state_free(&d);
    lb_state_free(&o);
}

static void test_several_vips_order(void **state)
{
    (void)state;
    struct lb_state d, o;
    memset(&d, 0, sizeof(d));
    memset(&o, 0, sizeof(o));
    /* names order differs from key order */
    add_as(add_vip(&d, "alpha", "192.0.2.20", 6, 80, -1, 0), "10.0.0.1", 1, false, true);
    add_as(add_vip(&d, "beta", "192.0.2.10", 6, 80, -1, 0), "10.0.0.2", 2, false, true);
    add_as(add_vip(&d, "gamma", "2001:db8::1", LB_PROTO_ANY, 0, -1, 0), "2001:db8:9::1", 3, false,
           true);
    /* observed: three stale VIPs, in no order; beta present with an old weight */
    add_vip(&o, NULL, "2001:db8::99", 6, 80, -1, 0);
    add_vip(&o, NULL, "192.0.2.99", 6, 80, -1, 0);
    add_as(add_vip(&o, NULL, "192.0.2.10", 17, 80, -1, 0), "10.0.0.3", 4, false, true);
    add_as(add_vip(&o, NULL, "192.0.2.10", 6, 80, -1, 0), "10.0.0.2", 1, false, true);
    lb_state_sort_observed(&o);
    static const char *const want[] = {
        "as-del - 192.0.2.10/32 udp:80 10.0.0.3 w=4 flush (stale)",
        "vip-del - 192.0.2.10/32 udp:80 gre4 sticky=0 (stale)",
        "vip-del - 192.0.2.99/32 tcp:80 gre4 sticky=0 (stale)",
        "vip-del - 2001:db8::99/128 tcp:80 gre6 sticky=0 (stale)",
        "vip-add alpha 192.0.2.20/32 tcp:80 gre4 sticky=0 (missing)",
        "as-add alpha 192.0.2.20/32 tcp:80 10.0.0.1 w=1 (missing)",
        "as-weight beta 192.0.2.10/32 tcp:80 10.0.0.2 w=1->2 (weight)",
        "vip-add gamma 2001:db8::1/128 any gre6 sticky=0 (missing)",
        "as-add gamma 2001:db8::1/128 any 2001:db8:9::1 w=3 (missing)",
        NULL,
    };
    plan_expect(&d, &o, NULL, want);
    static const char *const beta[] = {
        "as-weight beta 192.0.2.10/32 tcp:80 10.0.0.2 w=1->2 (weight)",
        NULL,
    };
    plan_expect(&d, &o, "beta", beta);
    lb_state_free(&d);
    lb_state_free(&o);
}

/* The observed state of test_determinism, VIPs and ASes in order `perm`. */
static void observed_shuffled(struct lb_state *o, const size_t *perm)
{
    static const char *const vips[4] = { "192.0.2.10", "2001:db8::5", "192.0.2.9", "198.51.100.1" };
    static const char *const ases[5] = { "10.0.0.10", "10.0.0.9", "2001:db8:1::1", "10.0.0.100",
                                         "10.0.0.11" };
    memset(o, 0, sizeof(*o));
    for (size_t i = 0; i < 4; i++) {
        struct lb_vip *v = add_vip(o, NULL, vips[perm[i]], 6, 80, -1, LB_STICKY_UNKNOWN);
        for (size_t j = 0; j < 5; j++) {
            size_t a = j == 4 ? 4 : perm[(j + i) % 4];
            add_as(v, ases[a], (uint8_t)(10 * a + perm[i]), false, a != 1);
        }
    }
}

static void test_determinism(void **state)
{
    (void)state;
    struct lb_state d;
    memset(&d, 0, sizeof(d));
    d.has_conf = true;
    d.conf = conf();
    struct lb_vip *v = add_vip(&d, "one", "192.0.2.10", 6, 80, -1, 0);
    add_as(v, "10.0.0.9", 50, false, true);
    add_as(v, "10.0.0.10", 50, false, true);
    add_as(v, "10.0.0.12", 50, false, true);
    v = add_vip(&d, "two", "192.0.2.77", 6, 80, -1, 0);
    add_as(v, "10.0.0.9", 50, false, true);

    static const size_t perms[4][4] = {
        { 0, 1, 2, 3 }, { 3, 2, 1, 0 }, { 1, 3, 0, 2 }, { 2, 0, 3, 1 }
    };
    struct lb_plan first;
    memset(&first, 0, sizeof(first));
    for (size_t k = 0; k < 4; k++) {
        struct lb_state o;
        observed_shuffled(&o, perms[k]);
        lb_state_sort_observed(&o);
        for (size_t i = 1; i < o.n_vips; i++)
            assert_true(lb_vip_key_cmp(&o.vips[i - 1].key, &o.vips[i].key) < 0);
        struct lb_plan p;
        assert_int_equal(lb_plan_build(&d, &o, NULL, &p), 0);
        assert_true(p.n_ops > 10);
        if (k == 0) {
            first = p;
        } else {
            assert_int_equal(p.n_ops, first.n_ops);
            char a[256], b[256];
            for (size_t i = 0; i < p.n_ops; i++) {
                op_text(&p.ops[i], a, sizeof(a));
                op_text(&first.ops[i], b, sizeof(b));
                assert_string_equal(a, b);
                assert_int_equal(lb_vip_key_cmp(&p.ops[i].vip, &first.ops[i].vip), 0);
                assert_true(ip_addr_equal(&p.ops[i].as, &first.ops[i].as) ||
                            p.ops[i].kind == LB_OP_VIP_DEL || p.ops[i].kind == LB_OP_VIP_ADD ||
                            p.ops[i].kind == LB_OP_CONF_SET);
                assert_int_equal(p.ops[i].old_weight, first.ops[i].old_weight);
            }
            lb_plan_free(&p);
        }
        lb_state_free(&o);
    }
    /* stale VIPs in key order, then "one" (reconciled), then "two" (missing) */
    assert_int_equal(first.ops[0].kind, LB_OP_CONF_SET);
    char b[80];
    size_t i = 1;
    static const char *const stale[] = { "192.0.2.9/32 tcp:80", "198.51.100.1/32 tcp:80",
                                         "2001:db8::5/128 tcp:80" };
    for (size_t s = 0; s < 3; s++) {
        while (first.ops[i].kind == LB_OP_AS_DEL) {
            assert_string_equal(lb_vip_key_format(&first.ops[i].vip, b, sizeof(b)), stale[s]);
            assert_null(first.ops[i].frontend);
            if (first.ops[i + 1].kind == LB_OP_AS_DEL)
                assert_true(ip_addr_cmp(&first.ops[i].as, &first.ops[i + 1].as) < 0);
            i++;
        }
        assert_int_equal(first.ops[i].kind, LB_OP_VIP_DEL);
        assert_string_equal(lb_vip_key_format(&first.ops[i].vip, b, sizeof(b)), stale[s]);
        i++;
    }
    assert_string_equal(first.ops[i].frontend, "one");
    assert_string_equal(first.ops[first.n_ops - 1].frontend, "two");
    lb_plan_free(&first);
    lb_state_free(&d);
}

static void test_growth(void **state)
{
    (void)state;
    struct lb_state d;
    memset(&d, 0, sizeof(d));
    struct lb_vip *v = add_vip(&d, "big", "2001:db8::80", 17, 4789, -1, 0);
    char a[IP_ADDR_STRLEN];
    for (unsigned i = 0; i < 1000; i++) {
        snprintf(a, sizeof(a), "2001:db8:%x::%x", i / 256 + 1, i % 256 + 1);
        add_as(v, a, (uint8_t)(i % 101), false, true);
    }
    struct lb_plan p;
    assert_int_equal(lb_plan_build(&d, NULL, "big", &p), 0);
    assert_int_equal(p.n_ops, 1001);
    assert_true(p.cap >= p.n_ops);
    assert_int_equal(p.as_add, 1000);
    for (size_t i = 2; i < p.n_ops; i++)
        assert_true(ip_addr_cmp(&p.ops[i - 1].as, &p.ops[i].as) < 0);
    assert_int_equal(p.ops[1000].weight, 999 % 101);
    lb_plan_free(&p);
    assert_null(p.ops);
    assert_int_equal(p.n_ops + p.cap + p.as_add, 0);
    lb_plan_free(&p); /* twice is fine */
    lb_plan_free(NULL);
    lb_state_free(&d);
}

/* ---- observed-state helpers ---- */

static void test_sort_find_free(void **state)
{
    (void)state;
    struct lb_state o;
    memset(&o, 0, sizeof(o));
    struct lb_vip *v = add_vip(&o, NULL, "2001:db8::1", 6, 80, -1, 0);
    add_as(v, "2001:db8::20", 1, false, true);
    add_as(v, "2001:db8::3", 1, false, true);
    add_vip(&o, NULL, "192.0.2.10", 6, 80, -1, 0);
    v = add_vip(&o, NULL, "192.0.2.9", 6, 443, -1, 0);
    add_as(v, "10.0.0.10", 1, false, true);
    add_as(v, "10.0.0.9", 1, false, false);
    add_vip(&o, NULL, "192.0.2.9", 6, 80, -1, 0);
    lb_state_sort_observed(&o);
    char b[80];
    static const char *const order[] = { "192.0.2.9/32 tcp:80", "192.0.2.9/32 tcp:443",
                                         "192.0.2.10/32 tcp:80", "2001:db8::1/128 tcp:80" };
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(lb_vip_key_format(&o.vips[i].key, b, sizeof(b)), order[i]);
    struct ip_addr x = ip("10.0.0.9"), y = ip("2001:db8::3");
    assert_true(ip_addr_equal(&o.vips[1].ases[0].addr, &x));
    assert_true(ip_addr_equal(&o.vips[3].ases[0].addr, &y));

    for (size_t i = 0; i < 4; i++) {
        const struct lb_vip *f = lb_state_find(&o, &o.vips[i].key);
        assert_ptr_equal(f, &o.vips[i]);
    }
    struct lb_vip_key k = key("192.0.2.9", 17, 80);
    assert_null(lb_state_find(&o, &k));
    k = key("192.0.2.9", 6, 80);
    k.plen = 24;
    assert_null(lb_state_find(&o, &k));
    k = key("2001:db8::2", 6, 80);
    assert_null(lb_state_find(&o, &k));
    assert_null(lb_state_find(NULL, &k));
    struct lb_state empty;
    memset(&empty, 0, sizeof(empty));
    assert_null(lb_state_find(&empty, &k));
    lb_state_sort_observed(&empty);
    lb_state_sort_observed(NULL);

    lb_state_free(&o);
    assert_null(o.vips);
    assert_int_equal(o.n_vips, 0);
    assert_false(o.has_conf);
    lb_state_free(&o);
    lb_state_free(NULL);
}

/* ---- the desired state of a config ---- */

#define VPP_LB                                                                                     \
    "  vpp:\n    lb:\n      ipv4-src-address: 192.0.2.1\n      ipv6-src-address: 2001:db8::1\n"    \
    "      sticky-buckets-per-core: 1024\n      flow-timeout: 60s\n"

static const char yaml[] = "maglev:\n"
                           "  backends:\n"
                           "    a: {address: 10.0.0.10}\n"
                           "    b: {address: 10.0.0.9}\n"
                           "    c: {address: 10.0.0.100}\n"
                           "    d: {address: 10.0.0.2}\n"
                           "    v6a: {address: \"2001:db8:1::10\"}\n"
                           "    v6b: {address: \"2001:db8:1::9\"}\n"
                           "  frontends:\n"
                           "    web6:\n"
                           "      address: 2001:db8:ffff::10\n"
                           "      protocol: tcp\n"
                           "      port: 443\n"
                           "      src-ip-sticky: true\n"
                           "      pools:\n"
                           "        - name: primary\n"
                           "          backends: {v6a: {weight: 30}}\n"
                           "        - name: fallback\n"
                           "          backends: {v6b: {weight: 100}}\n"
                           "    dns:\n"
                           "      address: 203.0.113.53\n"
                           "      port: 0\n"
                           "      pools:\n"
                           "        - name: resolvers\n"
                           "          backends: {b: {weight: 10}, d: {}}\n"
                           "    app:\n"
                           "      address: 203.0.113.10\n"
                           "      protocol: udp\n"
                           "      port: 53\n"
                           "      pools:\n"
                           "        - name: primary\n"
                           "          backends: {a: {weight: 40}, c: {weight: 0}}\n"
                           "        - name: fallback\n"
                           "          backends: {b: {weight: 70}}\n" VPP_LB;

static struct maglev_config *load(void)
{
    struct maglev_config *cfg = NULL;
    struct config_diags diags;
    memset(&diags, 0, sizeof(diags));
    int r = config_load_buffer("plan.yaml", yaml, strlen(yaml), &cfg, &diags);
    for (size_t i = 0; r != 0 && i < diags.n; i++) {
        char *s = config_diag_format(&diags, i);
        print_error("%s\n", s);
        free(s);
    }
    config_diags_free(&diags);
    assert_int_equal(r, 0);
    return cfg;
}

static void expect_as(const struct lb_as *a, const char *addr, uint8_t weight, bool flush)
{
    char b[IP_ADDR_STRLEN];
    assert_string_equal(ip_addr_format(&a->addr, b, sizeof(b)), addr);
    assert_int_equal(a->weight, weight);
    assert_int_equal(a->flush, flush);
}

static void test_desired_build(void **state)
{
    (void)state;
    struct maglev_config *cfg = load();
    struct lb_state d;
    assert_int_equal(lb_desired_build(cfg, NULL, NULL, &d), 0);
    assert_true(d.has_conf);
    assert_true(ip_addr_equal(&d.conf.ip4_src, &cfg->vpp.ipv4_src_address));
    assert_true(ip_addr_equal(&d.conf.ip6_src, &cfg->vpp.ipv6_src_address));
    assert_int_equal(d.conf.sticky_buckets_per_core, 1024);
    assert_int_equal(d.conf.flow_timeout, 60);
    assert_int_equal(d.n_vips, 3);
    char b[80];

    const struct lb_vip *v = &d.vips[0];
    assert_string_equal(v->name, "app");
    assert_ptr_not_equal(v->name, config_find_frontend(cfg, "app")->name); /* a copy */
    assert_string_equal(lb_vip_key_format(&v->key, b, sizeof(b)), "203.0.113.10/32 udp:53");
    assert_int_equal(v->encap, LB_ENCAP_GRE4);
    assert_int_equal(v->src_ip_sticky, 0);
    assert_int_equal(v->flow_table_length, LB_NEW_FLOWS_TABLE_LENGTH);
    assert_int_equal(v->n_ases, 3);
    expect_as(&v->ases[0], "10.0.0.9", 0, false); /* fallback pool: 0 */
    expect_as(&v->ases[1], "10.0.0.10", 40, false);
    expect_as(&v->ases[2], "10.0.0.100", 0, false); /* configured 0 */

    v = &d.vips[1];
    assert_string_equal(v->name, "dns");
    assert_string_equal(lb_vip_key_format(&v->key, b, sizeof(b)), "203.0.113.53/32 any");
    assert_int_equal(v->key.protocol, LB_PROTO_ANY);
    assert_int_equal(v->key.port, 0);
    assert_int_equal(v->encap, LB_ENCAP_GRE4);
    assert_int_equal(v->n_ases, 2);
    expect_as(&v->ases[0], "10.0.0.2", 100, false); /* default weight */
    expect_as(&v->ases[1], "10.0.0.9", 10, false);

    v = &d.vips[2];
    assert_string_equal(v->name, "web6");
    assert_string_equal(lb_vip_key_format(&v->key, b, sizeof(b)), "2001:db8:ffff::10/128 tcp:443");
    assert_int_equal(v->key.plen, 128);
    assert_int_equal(v->encap, LB_ENCAP_GRE6);
    assert_int_equal(v->src_ip_sticky, 1);
    assert_int_equal(v->n_ases, 2);
    expect_as(&v->ases[0], "2001:db8:1::9", 0, false);
    expect_as(&v->ases[1], "2001:db8:1::10", 30, false);

    /* installed from nothing, then stable */
    struct lb_plan p;
    assert_int_equal(lb_plan_build(&d, NULL, NULL, &p), 0);
    assert_int_equal(p.conf_set, 1);
    assert_int_equal(p.vip_add, 3);
    assert_int_equal(p.as_add, 7);
    assert_string_equal(p.ops[1].frontend, "app");
    lb_plan_free(&p);
    struct lb_state o;
    copy_as_observed(&d, &o);
    assert_int_equal(lb_plan_build(&d, &o, NULL, &p), 0);
    assert_int_equal(p.n_ops, 0);
    lb_plan_free(&p);
    lb_state_free(&o);
    lb_state_free(&d);
    config_free(cfg);
}

/* weights(): slot i of frontend f gets 10 * f + i, flush on odd slots. */
static void test_weights(void *ctx, size_t fe_index, struct lb_weight *out, bool *held)
{
    *held = false;
    const struct maglev_config *cfg = ctx;
    size_t n = lb_slots(&cfg->frontends[fe_index]);
    for (size_t i = 0; i < n; i++) {
        out[i].weight = (uint8_t)(10 * fe_index + i);
        out[i].flush = i % 2;
    }
}

static void test_desired_weights_and_edges(void **state)
{
    (void)state;
    struct maglev_config *cfg = load();
    struct lb_state d;
    assert_int_equal(lb_desired_build(cfg, test_weights, cfg, &d), 0);
    /* app (index 0): slots a=0 (10.0.0.10), c=1 (10.0.0.100), b=2 (10.0.0.9) */
    assert_string_equal(d.vips[0].name, cfg->frontends[0].name);
    expect_as(&d.vips[0].ases[0], "10.0.0.9", 2, false);
    expect_as(&d.vips[0].ases[1], "10.0.0.10", 0, false);
    expect_as(&d.vips[0].ases[2], "10.0.0.100", 1, true);
    lb_state_free(&d);
    config_free(cfg);

    /* a hand-made config: a duplicate address (the first in pool order
     * wins), a dangling backend index, a VIP without backends */
    struct backend_conf backends[3];
    memset(backends, 0, sizeof(backends));
    backends[0].address = ip("10.0.0.5");
    backends[1].address = ip("10.0.0.5");
    backends[2].address = ip("10.0.0.4");
    struct pool_backend_conf p0[] = { { .backend = "y", .backend_index = 1, .weight = 11 },
                                      { .backend = "z", .backend_index = 2, .weight = 12 },
                                      { .backend = "bad", .backend_index = 7, .weight = 13 },
                                      { .backend = "none", .backend_index = -1, .weight = 14 } };
    struct pool_backend_conf p1[] = { { .backend = "x", .backend_index = 0, .weight = 99 } };
    struct pool_conf pools[] = { { .name = "a", .backends = p0, .n_backends = 4 },
                                 { .name = "b", .backends = p1, .n_backends = 1 } };
    struct frontend_conf fes[2];
    memset(fes, 0, sizeof(fes));
    fes[0].name = "lonely";
    fes[0].address = ip("2001:db8::53");
    fes[1].name = "mixed";
    fes[1].address = ip("2001:db8::80"); /* v6 VIP, v4 backends: GRE4 */
    fes[1].protocol = FE_PROTO_TCP;
    fes[1].port = 80;
    fes[1].pools = pools;
    fes[1].n_pools = 2;
    struct maglev_config hand;
    memset(&hand, 0, sizeof(hand));
    hand.backends = backends;
    hand.n_backends = 3;
    hand.frontends = fes;
    hand.n_frontends = 2;
    hand.vpp.flow_timeout = 40 * DURATION_SEC + 1;
    assert_int_equal(lb_desired_build(&hand, NULL, NULL, &d), 0);
    assert_int_equal(d.conf.flow_timeout, 40);
    assert_int_equal(d.conf.ip4_src.family, AF_INET); /* unset: VPP's zeros */
    assert_int_equal(d.conf.ip6_src.family, AF_INET6);
    assert_int_equal(d.n_vips, 2);
    assert_string_equal(d.vips[0].name, "lonely");
    assert_int_equal(d.vips[0].n_ases, 0);
    assert_null(d.vips[0].ases);
    assert_int_equal(d.vips[0].encap, LB_ENCAP_GRE6);
    assert_int_equal(d.vips[0].key.protocol, LB_PROTO_ANY);
    assert_string_equal(d.vips[1].name, "mixed");
    assert_int_equal(d.vips[1].encap, LB_ENCAP_GRE4);
    assert_int_equal(d.vips[1].n_ases, 2);
    expect_as(&d.vips[1].ases[0], "10.0.0.4", 12, false);
    expect_as(&d.vips[1].ases[1], "10.0.0.5", 11, false); /* pool a's, not pool b's 0 */
    lb_state_free(&d);

    /* names sorted even when the config is not */
    fes[0].name = "zz";
    assert_int_equal(lb_desired_build(&hand, NULL, NULL, &d), 0);
    assert_string_equal(d.vips[0].name, "mixed");
    assert_string_equal(d.vips[1].name, "zz");
    lb_state_free(&d);

    hand.n_frontends = 0;
    assert_int_equal(lb_desired_build(&hand, NULL, NULL, &d), 0);
    assert_int_equal(d.n_vips, 0);
    assert_null(d.vips);
    lb_state_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_format_and_names),
        cmocka_unit_test(test_key_cmp),
        cmocka_unit_test(test_frontend_vip_key),
        cmocka_unit_test(test_empty_to_full),
        cmocka_unit_test(test_identical_no_ops),
        cmocka_unit_test(test_stale_vip),
        cmocka_unit_test(test_vip_scope),
        cmocka_unit_test(test_recreate_encap),
        cmocka_unit_test(test_recreate_sticky),
        cmocka_unit_test(test_reconcile_ases),
        cmocka_unit_test(test_conf),
        cmocka_unit_test(test_several_vips_order),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_sort_find_free),
        cmocka_unit_test(test_desired_build),
        cmocka_unit_test(test_desired_weights_and_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
