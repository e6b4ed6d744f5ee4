/* lbctr.c: the per-VIP LB counters, their map and rates (pure; see
 * lbctr.h). */
#include "vpp/lbctr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpp/lb.h"

void lbctr_free(struct lbctr *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->vip[i].frontend);
    free(t->vip);
    free(t->route);
    t->vip = NULL;
    t->n = 0;
    t->route = NULL;
    t->n_routes = 0;
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

static int route_cmp(const struct ip_addr *a, uint8_t alen, const struct ip_addr *b, uint8_t blen)
{
    int c = ip_addr_cmp(a, b);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static int by_prefix(const void *a, const void *b)
{
    const struct lbctr_route *x = a, *y = b;
    return route_cmp(&x->addr, x->plen, &y->addr, y->plen);
}

static struct lbctr_route *find_route(struct lbctr_route *r, size_t n, const struct lb_vip_key *k)
{
    struct lbctr_route key = { .addr = k->addr, .plen = k->plen };
    return n ? bsearch(&key, r, n, sizeof(key), by_prefix) : NULL;
}

/* The distinct prefixes of v[0..n), sorted, each with the old route of
 * that prefix if t had one; v[i].route set. NULL on ENOMEM. */
static struct lbctr_route *build_routes(const struct lbctr *t, struct lbctr_vip *v, size_t n,
                                        size_t *n_routes)
{
    struct lbctr_route *r = calloc(n ? n : 1, sizeof(*r));
    if (!r)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        r[i].addr = v[i].key.addr;
        r[i].plen = v[i].key.plen;
    }
    qsort(r, n, sizeof(*r), by_prefix);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || by_prefix(&r[k - 1], &r[i]) != 0)
            r[k++] = r[i];
    for (size_t i = 0; i < k; i++) {
        struct lb_vip_key key = { .addr = r[i].addr, .plen = r[i].plen };
        const struct lbctr_route *old = find_route(t->route, t->n_routes, &key);
        if (old)
            r[i] = *old;
    }
    for (size_t i = 0; i < n; i++)
        v[i].route = (size_t)(find_route(r, k, &v[i].key) - r);
    *n_routes = k;
    return r;
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
        if (!v[k].frontend)
            goto nomem;
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
    size_t n_routes = 0;
    struct lbctr_route *r = build_routes(t, v, k, &n_routes);
    if (!r)
        goto nomem;
    lbctr_free(t);
    t->vip = v;
    t->n = k;
    t->route = r;
    t->n_routes = n_routes;
    return 0;
nomem:
    for (size_t j = 0; j < k; j++)
        free(v[j].frontend);
    free(v);
    return -ENOMEM;
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

void lbctr_route_resolved(struct lbctr *t, size_t i, enum lbctr_route_state state,
                          uint32_t stats_index, int retval, int err)
{
    if (i >= t->n_routes)
        return;
    struct lbctr_route *r = &t->route[i];
    if (state != LBCTR_ROUTE_OK || r->state != LBCTR_ROUTE_OK || r->stats_index != stats_index) {
        r->have = r->rates_known = false;
        r->packets = r->bytes = 0;
        r->packets_rate = r->bytes_rate = 0;
        r->mono_us = r->wall_us = 0;
    }
    r->state = state;
    r->stats_index = state == LBCTR_ROUTE_OK ? stats_index : 0;
    r->retval = state == LBCTR_ROUTE_FAILED ? retval : 0;
    r->err = state == LBCTR_ROUTE_FAILED ? err : 0;
}

size_t lbctr_route_indexes(const struct lbctr *t, uint32_t *out)
{
    size_t k = 0;
    for (size_t i = 0; i < t->n_routes; i++)
        if (t->route[i].state == LBCTR_ROUTE_OK)
            out[k++] = t->route[i].stats_index;
    return k;
}

size_t lbctr_update_routes(struct lbctr *t, const uint64_t *packets, const uint64_t *bytes,
                           int64_t mono_us, int64_t wall_us)
{
    size_t resets = 0, k = 0;
    for (size_t i = 0; i < t->n_routes; i++) {
        struct lbctr_route *r = &t->route[i];
        if (r->state != LBCTR_ROUTE_OK)
            continue;
        uint64_t p = packets[k], b = bytes[k];
        k++;
        double dt = (double)(mono_us - r->mono_us) / 1e6;
        bool known = r->have;
        if (r->have && (p < r->packets || b < r->bytes)) {
            resets++;
            known = false;
        } else if (r->have && (!lbctr_rate(r->packets, p, dt, &r->packets_rate) ||
                               !lbctr_rate(r->bytes, b, dt, &r->bytes_rate))) {
            known = false;
        }
        if (!known)
            r->packets_rate = r->bytes_rate = 0;
        r->rates_known = known;
        r->packets = p;
        r->bytes = b;
        r->have = true;
        r->mono_us = mono_us;
        r->wall_us = wall_us;
    }
    return resets;
}

const char *lbctr_route_why(const struct lbctr_route *r, char *buf, size_t len)
{
    char res[128];
    switch (r->state) {
    case LBCTR_ROUTE_OK:
        if (len)
            buf[0] = '\0';
        break;
    case LBCTR_ROUTE_PENDING:
        snprintf(buf, len, "not resolved yet");
        break;
    case LBCTR_ROUTE_NONE:
        snprintf(buf, len, "VPP has no route for this prefix (table 0)");
        break;
    case LBCTR_ROUTE_UNSUPPORTED:
        snprintf(buf, len, "this VPP has no ip_route_lookup");
        break;
    case LBCTR_ROUTE_FAILED: {
        struct vpp_op_result o = { .retval = r->retval, .err = r->err };
        snprintf(buf, len, "ip_route_lookup failed: %s",
                 vpp_op_result_format(&o, res, sizeof(res)));
        break;
    }
    }
    return buf;
}

const struct lbctr_vip *lbctr_find(const struct lbctr *t, const struct lb_vip_key *key)
{
    for (size_t i = 0; i < t->n; i++)
        if (lb_vip_key_cmp(&t->vip[i].key, key) == 0)
            return &t->vip[i];
    return NULL;
}
