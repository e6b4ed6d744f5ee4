/* disrupt.c: buckets a change moves in VPP's new-flow table (pure; see
 * lb/disrupt.h). */
#include "lb/disrupt.h"

#include <stdlib.h>
#include <string.h>

#include "common/mem.h"

static uint32_t len_of(const struct lb_vip *v)
{
    return v && lb_mg_len_ok(v->flow_table_length) ? v->flow_table_length : 0;
}

uint32_t lb_disrupt_len(const struct lb_vip *before, const struct lb_vip *after)
{
    uint32_t n = len_of(after);
    if (!n)
        n = len_of(before);
    return n ? n : LB_NEW_FLOWS_TABLE_LENGTH;
}

/* Whether ases[i] is in the table: active, a weight, the first entry of
 * its address (the ASes are sorted). */
static bool in_table(const struct lb_as *ases, size_t i)
{
    return ases[i].active && ases[i].weight > 0 &&
           !(i > 0 && ip_addr_equal(&ases[i - 1].addr, &ases[i].addr));
}

/* The ASes of v in the table, as lb_mg_as (out: v->n_ases entries). */
static size_t table_ases(const struct lb_vip *v, struct lb_mg_as *out)
{
    size_t n = 0;
    for (size_t i = 0; v && i < v->n_ases; i++)
        if (in_table(v->ases, i))
            out[n++] = (struct lb_mg_as){ .addr = v->ases[i].addr, .weight = v->ases[i].weight };
    return n;
}

bool lb_disrupt_same(const struct lb_vip *before, const struct lb_vip *after)
{
    size_t i = 0, k = 0, na = before ? before->n_ases : 0, nb = after ? after->n_ases : 0;
    for (;;) {
        while (i < na && !in_table(before->ases, i))
            i++;
        while (k < nb && !in_table(after->ases, k))
            k++;
        if (i == na || k == nb)
            return i == na && k == nb;
        if (!ip_addr_equal(&before->ases[i].addr, &after->ases[k].addr) ||
            before->ases[i].weight != after->ases[k].weight)
            return false;
        i++;
        k++;
    }
}

/* The moves from table ta of a[na] to tb of b[nb], both sorted by
 * address: map[i] is the index in b of a[i]'s address (GONE: none), one
 * merge; then one pass over the buckets. The least from the closed-form
 * counts: what each owner (and "no server") loses. */
#define GONE (-2) /* not LB_MG_NONE: an owner gone is not "no server" */

static void compare(const struct lb_mg_as *a, size_t na, const int32_t *ta,
                    const struct lb_mg_as *b, size_t nb, const int32_t *tb, uint32_t len,
                    struct lb_mg_disruption *out)
{
    int32_t *map = mem_calloc(na + 1, sizeof(*map));
    uint32_t *ca = mem_calloc(na + nb + 2, sizeof(*ca)), *cb = ca + na + 1;
    for (size_t i = 0, k = 0; i < na; i++) {
        while (k < nb && ip_addr_cmp(&b[k].addr, &a[i].addr) < 0)
            k++;
        map[i] = k < nb && ip_addr_equal(&b[k].addr, &a[i].addr) ? (int32_t)k : GONE;
    }
    for (uint32_t x = 0; x < len; x++)
        out->moved += (ta[x] == LB_MG_NONE ? LB_MG_NONE : map[ta[x]]) != tb[x];
    uint32_t none_a = lb_mg_counts(a, na, len, ca), none_b = lb_mg_counts(b, nb, len, cb);
    out->minimum = none_a > none_b ? none_a - none_b : 0;
    for (size_t i = 0; i < na; i++) {
        uint32_t after = map[i] == GONE ? 0 : cb[map[i]];
        out->minimum += ca[i] > after ? ca[i] - after : 0;
    }
    free(ca);
    free(map);
}

void lb_disrupt_vip(const struct lb_vip *before, const struct lb_vip *after,
                    struct lb_mg_disruption *out)
{
    uint32_t len = lb_disrupt_len(before, after);
    *out = (struct lb_mg_disruption){ .len = len };
    if (lb_disrupt_same(before, after))
        return;
    size_t na = before ? before->n_ases : 0, nb = after ? after->n_ases : 0;
    struct lb_mg_as *a = mem_calloc(na + nb + 1, sizeof(*a));
    struct lb_mg_as *b = a + na;
    na = table_ases(before, a);
    nb = table_ases(after, b);
    size_t sa = lb_mg_scratch_size(a, na, len), sb = lb_mg_scratch_size(b, nb, len);
    void *scratch = mem_alloc(sa > sb ? sa : sb);
    int32_t *ta = mem_alloc(2 * (size_t)len * sizeof(*ta));
    int32_t *tb = ta + len;
    lb_mg_table(a, na, len, ta, scratch); /* len is a valid length: cannot fail */
    lb_mg_table(b, nb, len, tb, scratch);
    compare(a, na, ta, b, nb, tb, len, out);
    free(ta);
    free(scratch);
    free(a);
}

/* ---- plans ---- */

static void vip_copy(struct lb_vip *dst, const struct lb_vip *src)
{
    *dst = *src;
    dst->name = NULL;
    dst->ases = src->n_ases ? mem_calloc(src->n_ases, sizeof(*dst->ases)) : NULL;
    if (src->n_ases)
        memcpy(dst->ases, src->ases, src->n_ases * sizeof(*dst->ases));
}

/* The VIP of ops[from..to) (one key): before = observed's, after = the
 * successful ops applied to a copy; pushed when its table changes. */
static void run_vip(const struct lb_state *observed, const struct lb_plan *plan, const bool *ok,
                    size_t from, size_t to, struct lb_disruptions *out)
{
    const struct lb_op *first = &plan->ops[from];
    const struct lb_vip *before = lb_state_find(observed, &first->vip);
    struct lb_state m = { 0 }; /* lb_model_apply may grow or shrink it */
    if (before) {
        m.vips = mem_calloc(1, sizeof(*m.vips));
        vip_copy(&m.vips[0], before);
        m.n_vips = 1;
    }
    bool any = false;
    for (size_t i = from; i < to; i++)
        if (!ok || ok[i]) {
            lb_model_apply(&m, &plan->ops[i]);
            any = true;
        }
    const struct lb_vip *after = lb_state_find(&m, &first->vip);
    if (any && !lb_disrupt_same(before, after)) {
        mem_grow((void **)&out->v, &out->cap, out->n + 1, sizeof(*out->v));
        struct lb_disruption *d = &out->v[out->n++];
        d->frontend = NULL;
        for (size_t i = from; i < to && !d->frontend; i++)
            d->frontend = plan->ops[i].frontend;
        d->vip = first->vip;
        lb_disrupt_vip(before, after, &d->d);
    }
    lb_state_free(&m);
}

void lb_disrupt_plan(const struct lb_state *observed, const struct lb_plan *plan, const bool *ok,
                     struct lb_disruptions *out)
{
    memset(out, 0, sizeof(*out));
    static const struct lb_state none;
    if (!observed)
        observed = &none;
    size_t i = 0;
    while (i < plan->n_ops) {
        if (plan->ops[i].kind == LB_OP_CONF_SET) {
            i++;
            continue;
        }
        size_t k = i + 1;
        while (k < plan->n_ops && plan->ops[k].kind != LB_OP_CONF_SET &&
               lb_vip_key_cmp(&plan->ops[k].vip, &plan->ops[i].vip) == 0)
            k++;
        run_vip(observed, plan, ok, i, k, out);
        i = k;
    }
}

void lb_disruptions_free(struct lb_disruptions *d)
{
    if (!d)
        return;
    free(d->v);
    memset(d, 0, sizeof(*d));
}

double lb_disrupt_pct(uint32_t buckets, uint32_t len)
{
    return len ? 100.0 * buckets / len : 0;
}
