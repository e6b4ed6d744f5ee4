/* plan.c: the ordered operations that take VPP's observed LB state to the
 * desired one (pure; the rules are in lb/plan.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "lb/plan.h"

static const struct lb_state empty_state;

static int plan_push(struct lb_plan *p, const struct lb_op *op)
{
    mem_grow((void **)&p->ops, &p->cap, p->n_ops + 1, sizeof(*p->ops));
    p->ops[p->n_ops++] = *op;
    switch (op->kind) {
    case LB_OP_CONF_SET:
        p->conf_set++;
        break;
    case LB_OP_VIP_ADD:
        p->vip_add++;
        break;
    case LB_OP_VIP_DEL:
        p->vip_del++;
        break;
    case LB_OP_AS_ADD:
        p->as_add++;
        break;
    case LB_OP_AS_DEL:
        p->as_del++;
        break;
    case LB_OP_AS_WEIGHT:
        p->as_weight++;
        break;
    }
    return 0;
}

/* An op on a VIP, the rest zeroed. */
static struct lb_op vip_op(enum lb_op_kind kind, const char *frontend, const struct lb_vip *v,
                           const char *reason)
{
    struct lb_op op;
    memset(&op, 0, sizeof(op));
    op.kind = kind;
    op.frontend = frontend;
    op.vip = v->key;
    op.reason = reason;
    return op;
}

static int as_op(struct lb_plan *p, enum lb_op_kind kind, const char *frontend,
                 const struct lb_vip *v, const struct lb_as *as, const char *reason)
{
    struct lb_op op = vip_op(kind, frontend, v, reason);
    op.as = as->addr;
    op.weight = as->weight;
    op.flush = kind == LB_OP_AS_DEL ? true : as->flush;
    return plan_push(p, &op);
}

/* Whether ases[i] repeats the address of ases[i - 1] (sorted input). */
static bool dup_prev(const struct lb_as *ases, size_t i)
{
    return i > 0 && ip_addr_equal(&ases[i - 1].addr, &ases[i].addr);
}

/* Removal of an observed VIP: its active ASes with flush, then the VIP. */
static int plan_remove(struct lb_plan *p, const char *frontend, const struct lb_vip *ov,
                       const char *reason)
{
    int r;
    for (size_t i = 0; i < ov->n_ases; i++) {
        if (!ov->ases[i].active || dup_prev(ov->ases, i))
            continue;
        if ((r = as_op(p, LB_OP_AS_DEL, frontend, ov, &ov->ases[i], reason)) < 0)
            return r;
    }
    struct lb_op op = vip_op(LB_OP_VIP_DEL, frontend, ov, reason);
    op.encap = ov->encap;
    op.src_ip_sticky = ov->src_ip_sticky == 1;
    return plan_push(p, &op);
}

/* Creation of a desired VIP: the VIP, then every AS. */
static int plan_create(struct lb_plan *p, const struct lb_vip *dv, const char *reason)
{
    struct lb_op op = vip_op(LB_OP_VIP_ADD, dv->name, dv, reason);
    op.encap = dv->encap;
    op.src_ip_sticky = dv->src_ip_sticky == 1;
    int r = plan_push(p, &op);
    for (size_t i = 0; r == 0 && i < dv->n_ases; i++)
        if (!dup_prev(dv->ases, i))
            r = as_op(p, LB_OP_AS_ADD, dv->name, dv, &dv->ases[i], reason);
    return r;
}

/* match[i]: the first observed AS with desired AS i's address, or NULL —
 * one merge of the two sorted lists. */
static void match_ases(const struct lb_vip *dv, const struct lb_vip *ov, const struct lb_as **match)
{
    size_t j = 0;
    for (size_t i = 0; i < dv->n_ases; i++) {
        while (j < ov->n_ases && ip_addr_cmp(&ov->ases[j].addr, &dv->ases[i].addr) < 0)
            j++;
        bool same = j < ov->n_ases && ip_addr_equal(&ov->ases[j].addr, &dv->ases[i].addr);
        match[i] = same ? &ov->ases[j] : NULL;
    }
}

static int reconcile(struct lb_plan *p, const struct lb_vip *dv, const struct lb_vip *ov,
                     const struct lb_as **match)
{
    int r;
    for (size_t i = 0; i < dv->n_ases; i++) {
        const struct lb_as *d = &dv->ases[i], *o = match[i];
        if (dup_prev(dv->ases, i) || (o && o->active))
            continue;
        if ((r = as_op(p, LB_OP_AS_ADD, dv->name, dv, d, o ? "lingering" : "missing")) < 0)
            return r;
    }
    for (size_t i = 0; i < dv->n_ases; i++) {
        const struct lb_as *d = &dv->ases[i], *o = match[i];
        if (dup_prev(dv->ases, i) || !o || !o->active)
            continue;
        /* a flush is sent even when the weight is 0 already, once */
        bool flush_due = d->flush && d->weight == 0 && !o->flush;
        if (o->weight == d->weight && !flush_due)
            continue;
        struct lb_op op =
            vip_op(LB_OP_AS_WEIGHT, dv->name, dv, o->weight == d->weight ? "flush" : "weight");
        op.as = d->addr;
        op.weight = d->weight;
        op.old_weight = o->weight;
        op.flush = d->flush && d->weight == 0;
        if ((r = plan_push(p, &op)) < 0)
            return r;
    }
    size_t i = 0;
    for (size_t k = 0; k < ov->n_ases; k++) {
        const struct lb_as *o = &ov->ases[k];
        while (i < dv->n_ases && ip_addr_cmp(&dv->ases[i].addr, &o->addr) < 0)
            i++;
        bool desired = i < dv->n_ases && ip_addr_equal(&dv->ases[i].addr, &o->addr);
        if (!o->active || dup_prev(ov->ases, k) || desired)
            continue;
        if ((r = as_op(p, LB_OP_AS_DEL, dv->name, dv, o, "not-configured")) < 0)
            return r;
    }
    return 0;
}

/* A present, compatible VIP: adds, then weights, then deletions. */
static int plan_reconcile(struct lb_plan *p, const struct lb_vip *dv, const struct lb_vip *ov)
{
    const struct lb_as *stack[64];
    const struct lb_as **match = dv->n_ases <= 64 ? stack : mem_calloc(dv->n_ases, sizeof(*match));
    match_ases(dv, ov, match);
    int r = reconcile(p, dv, ov, match);
    if (match != stack)
        free(match);
    return r;
}

static int plan_vip_against(struct lb_plan *p, const struct lb_vip *dv, const struct lb_vip *ov)
{
    if (dv->held)
        return 0; /* warm-up: VPP's VIP (if any) is adopted as it is */
    if (!ov)
        return plan_create(p, dv, "missing");
    const char *why = NULL;
    if (ov->encap != dv->encap)
        why = "encap";
    else if (ov->src_ip_sticky != LB_STICKY_UNKNOWN &&
             (ov->src_ip_sticky != 0) != (dv->src_ip_sticky != 0))
        why = "src-ip-sticky";
    if (!why)
        return plan_reconcile(p, dv, ov);
    int r = plan_remove(p, dv->name, ov, why);
    return r < 0 ? r : plan_create(p, dv, why);
}

static int plan_vip(struct lb_plan *p, const struct lb_vip *dv, const struct lb_state *observed)
{
    return plan_vip_against(p, dv, lb_state_find(observed, &dv->key));
}

void lb_plan_vip(const struct lb_vip *dv, const struct lb_vip *ov, struct lb_plan *out)
{
    memset(out, 0, sizeof(*out));
    plan_vip_against(out, dv, ov);
}

static bool conf_equal(const struct lb_conf_state *a, const struct lb_conf_state *b)
{
    return ip_addr_equal(&a->ip4_src, &b->ip4_src) && ip_addr_equal(&a->ip6_src, &b->ip6_src) &&
           a->sticky_buckets_per_core == b->sticky_buckets_per_core &&
           a->flow_timeout == b->flow_timeout;
}

static int key_ptr_cmp(const void *a, const void *b)
{
    const struct lb_vip *const *x = a, *const *y = b;
    return lb_vip_key_cmp(&(*x)->key, &(*y)->key);
}

/* Whether a VIP of the sorted index has key k. */
static bool index_has(const struct lb_vip *const *idx, size_t n, const struct lb_vip_key *k)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = lb_vip_key_cmp(&idx[mid]->key, k);
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* Full scope: stale observed VIPs (no desired VIP with that key) go first. */
static int plan_stale(struct lb_plan *p, const struct lb_state *desired,
                      const struct lb_state *observed)
{
    if (!observed->n_vips)
        return 0;
    const struct lb_vip **idx = NULL;
    if (desired->n_vips) {
        idx = mem_calloc(desired->n_vips, sizeof(*idx));
        for (size_t i = 0; i < desired->n_vips; i++)
            idx[i] = &desired->vips[i];
        qsort(idx, desired->n_vips, sizeof(*idx), key_ptr_cmp);
    }
    int r = 0;
    for (size_t i = 0; r == 0 && i < observed->n_vips; i++) {
        const struct lb_vip *ov = &observed->vips[i];
        if (i > 0 && lb_vip_key_cmp(&observed->vips[i - 1].key, &ov->key) == 0)
            continue; /* one removal per key */
        if (!index_has(idx, desired->n_vips, &ov->key))
            r = plan_remove(p, NULL, ov, "stale");
    }
    free(idx);
    return r;
}

static int plan_all(struct lb_plan *p, const struct lb_state *desired,
                    const struct lb_state *observed, const char *frontend)
{
    int r;
    if (frontend) {
        for (size_t i = 0; i < desired->n_vips; i++)
            if (desired->vips[i].name && !strcmp(desired->vips[i].name, frontend))
                return plan_vip(p, &desired->vips[i], observed);
        return -ENOENT;
    }
    if (desired->has_conf &&
        (!observed->has_conf || !conf_equal(&desired->conf, &observed->conf))) {
        struct lb_op op;
        memset(&op, 0, sizeof(op));
        op.kind = LB_OP_CONF_SET;
        op.reason = "conf";
        op.conf = desired->conf;
        if ((r = plan_push(p, &op)) < 0)
            return r;
    }
    if ((r = plan_stale(p, desired, observed)) < 0)
        return r;
    for (size_t i = 0; i < desired->n_vips; i++)
        if ((r = plan_vip(p, &desired->vips[i], observed)) < 0)
            return r;
    return 0;
}

int lb_plan_build(const struct lb_state *desired, const struct lb_state *observed,
                  const char *frontend, struct lb_plan *out)
{
    struct lb_plan p;
    memset(&p, 0, sizeof(p));
    if (out)
        memset(out, 0, sizeof(*out));
    int r = plan_all(&p, desired ? desired : &empty_state, observed ? observed : &empty_state,
                     frontend);
    if (r < 0 || !out) {
        lb_plan_free(&p);
        return r < 0 ? r : -EINVAL;
    }
    *out = p;
    return 0;
}

void lb_plan_free(struct lb_plan *p)
{
    if (!p)
        return;
    free(p->ops);
    memset(p, 0, sizeof(*p));
}
