/* lbctr.c: the per-VIP LB counters, their map and rates (pure; see
 * lbctr.h). */
#include "vpp/lbctr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void lbctr_free(struct lbctr *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->vip[i].frontend);
    free(t->vip);
    t->vip = NULL;
    t->n = 0;
}

bool lbctr_rate(uint64_t prev, uint64_t cur, double dt, double *rate)
{
    if (cur < prev || !(dt > 0))
        return false;
    *rate = (double)(cur - prev) / dt;
    return true;
}

static int by_index(const void *a, const void *b)
{
    const struct lbctr_vip *x = a, *y = b;
    return x->index < y->index ? -1 : x->index > y->index;
}

static const struct lbctr_vip *find_index(const struct lbctr *t, uint32_t index)
{
    struct lbctr_vip k = { .index = index };
    return t->n ? bsearch(&k, t->vip, t->n, sizeof(k), by_index) : NULL;
}

int lbctr_set_map(struct lbctr *t, const struct lb_state *obs)
{
    size_t n = 0;
    for (size_t i = 0; i < obs->n_vips; i++)
        n += obs->vips[i].index != 0;
    struct lbctr_vip *v = calloc(n ? n : 1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < obs->n_vips; i++) {
        const struct lb_vip *o = &obs->vips[i];
        if (!o->index)
            continue;
        v[k].frontend = strdup(o->name ? o->name : "");
        if (!v[k].frontend) {
            for (size_t j = 0; j < k; j++)
                free(v[j].frontend);
            free(v);
            return -ENOMEM;
        }
        v[k].key = o->key;
        v[k].index = o->index;
        const struct lbctr_vip *old = find_index(t, o->index);
        if (old && lb_vip_key_cmp(&old->key, &o->key) == 0) {
            memcpy(v[k].c, old->c, sizeof(v[k].c));
            memcpy(v[k].rate, old->rate, sizeof(v[k].rate));
            v[k].have = old->have;
            v[k].rates_known = old->rates_known;
            v[k].mono_us = old->mono_us;
            v[k].wall_us = old->wall_us;
        }
        k++;
    }
    qsort(v, k, sizeof(*v), by_index);
    lbctr_free(t);
    t->vip = v;
    t->n = k;
    return 0;
}

size_t lbctr_update(struct lbctr *t, const struct vpp_lb_counters *c, int64_t mono_us,
                    int64_t wall_us)
{
    size_t resets = 0;
    for (size_t i = 0; i < t->n; i++) {
        struct lbctr_vip *v = &t->vip[i];
        uint64_t cur[VPP_STATS_LB_N] = { 0 };
        if (c->present && v->index < c->n)
            memcpy(cur, c->vip[v->index].c, sizeof(cur));
        double dt = (double)(mono_us - v->mono_us) / 1e6;
        bool known = v->have, reset = false;
        for (int k = 0; k < VPP_STATS_LB_N; k++) {
            if (!v->have)
                continue;
            if (cur[k] < v->c[k])
                reset = true;
            else if (!lbctr_rate(v->c[k], cur[k], dt, &v->rate[k]))
                known = false;
        }
        if (reset) {
            resets++;
            known = false;
        }
        if (!known)
            memset(v->rate, 0, sizeof(v->rate));
        v->rates_known = known;
        memcpy(v->c, cur, sizeof(cur));
        v->have = true;
        v->mono_us = mono_us;
        v->wall_us = wall_us;
    }
    return resets;
}

const struct lbctr_vip *lbctr_find(const struct lbctr *t, const struct lb_vip_key *key)
{
    for (size_t i = 0; i < t->n; i++)
        if (lb_vip_key_cmp(&t->vip[i].key, key) == 0)
            return &t->vip[i];
    return NULL;
}
