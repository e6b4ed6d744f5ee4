/* fleet.c: comparing the load balancers of a fleet (see fleet.h). */
#include "cli/fleet.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/ipaddr.h"
#include "common/mem.h"
#include "lb/maglev.h"

static bool str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

int fleet_vip_fingerprint(const Maglev__VPPLBVIP *vip, uint64_t *fp)
{
    uint32_t len = vip->flow_table_length;
    if (!lb_mg_len_ok(len))
        return -EINVAL;
    struct lb_mg_as *ases = mem_calloc(vip->n_ases, sizeof(*ases));
    size_t n = 0;
    for (size_t i = 0; i < vip->n_ases; i++) {
        const Maglev__VPPLBAS *a = vip->ases[i];
        if (!a->active || a->weight == 0)
            continue; /* not in VPP's table */
        if (ip_addr_parse(a->address, &ases[n].addr) < 0) {
            free(ases);
            return -EINVAL;
        }
        ases[n++].weight = (uint8_t)(a->weight > 255 ? 255 : a->weight);
    }
    int32_t *table = mem_alloc((size_t)len * sizeof(*table));
    int rc = lb_mg_table_alloc(ases, n, len, table);
    if (rc == 0)
        *fp = lb_mg_fingerprint(ases, table, len);
    free(table);
    free(ases);
    return rc;
}

static const Maglev__Frontend *find_frontend(const struct fleet_lb *lb, const char *name)
{
    if (lb->error || !lb->frontends)
        return NULL;
    for (size_t i = 0; i < lb->frontends->n_frontends; i++)
        if (str_eq(lb->frontends->frontends[i]->name, name))
            return lb->frontends->frontends[i];
    return NULL;
}

static const Maglev__PoolBackend *find_backend(const Maglev__Frontend *f, const char *pool,
                                               const char *backend)
{
    for (size_t p = 0; f && p < f->n_pools; p++) {
        if (!str_eq(f->pools[p]->name, pool))
            continue;
        for (size_t b = 0; b < f->pools[p]->n_backends; b++)
            if (str_eq(f->pools[p]->backends[b]->name, backend))
                return f->pools[p]->backends[b];
    }
    return NULL;
}

static void fill_cell(const struct fleet_lb *lb, const Maglev__Frontend *f, struct fleet_cell *c)
{
    c->present = true;
    for (size_t p = 0; p < f->n_pools; p++)
        for (size_t b = 0; b < f->pools[p]->n_backends; b++)
            c->total_weight += f->pools[p]->backends[b]->effective_weight;
    if (!lb->vpp)
        return; /* FLEET_TABLE_UNKNOWN */
    c->table = FLEET_TABLE_NO_VIP;
    for (size_t v = 0; v < lb->vpp->n_vips; v++) {
        const Maglev__VPPLBVIP *vip = lb->vpp->vips[v];
        if (!str_eq(vip->frontend, f->name))
            continue;
        c->len = vip->flow_table_length;
        c->table =
            fleet_vip_fingerprint(vip, &c->fingerprint) == 0 ? FLEET_TABLE_OK : FLEET_TABLE_UNKNOWN;
        break;
    }
}

static bool cells_table_same(const struct fleet_cell *a, const struct fleet_cell *b)
{
    if (a->table != b->table || a->table == FLEET_TABLE_UNKNOWN)
        return false;
    return a->table == FLEET_TABLE_NO_VIP || (a->fingerprint == b->fingerprint && a->len == b->len);
}

/* One (pool, backend) of the frontend on every LB; kept when the views
 * differ (absent on a reachable LB that has the frontend, another state,
 * another effective weight). Returns whether the weights differ. */
static bool compare_backend(const struct fleet_report *r, const Maglev__Frontend *const *fes,
                            const char *pool, const char *name, struct fleet_frontend *out)
{
    struct fleet_backend_view *v = mem_calloc(r->n_lbs, sizeof(*v));
    const struct fleet_backend_view *first = NULL;
    bool state_differs = false, weight_differs = false;
    for (size_t i = 0; i < r->n_lbs; i++) {
        if (!fes[i])
            continue; /* unreachable, or without the frontend: counted elsewhere */
        const Maglev__PoolBackend *b = find_backend(fes[i], pool, name);
        if (b) {
            v[i] = (struct fleet_backend_view){ true, b->state, b->effective_weight };
        }
        if (!first) {
            first = &v[i];
            continue;
        }
        if (v[i].present != first->present || v[i].weight != first->weight)
            weight_differs = true;
        if (v[i].present != first->present || !str_eq(v[i].state, first->state))
            state_differs = true;
    }
    if (!state_differs && !weight_differs) {
        free(v);
        return false;
    }
    out->diff = mem_realloc(out->diff, (out->n_diff + 1) * sizeof(*out->diff));
    out->diff[out->n_diff++] = (struct fleet_backend_diff){ pool, name, v };
    return weight_differs;
}

/* Whether (pool, name) already came up for this frontend on an earlier LB
 * or earlier in this one. */
static bool seen_before(const Maglev__Frontend *const *fes, size_t lb, size_t pool, size_t idx)
{
    const Maglev__Frontend *f = fes[lb];
    const char *pn = f->pools[pool]->name, *bn = f->pools[pool]->backends[idx]->name;
    for (size_t i = 0; i < lb; i++)
        if (fes[i] && find_backend(fes[i], pn, bn))
            return true;
    for (size_t p = 0; p <= pool; p++) {
        if (!str_eq(f->pools[p]->name, pn))
            continue;
        size_t end = p == pool ? idx : f->pools[p]->n_backends;
        for (size_t b = 0; b < end; b++)
            if (str_eq(f->pools[p]->backends[b]->name, bn))
                return true;
    }
    return false;
}

static void compare_frontend(struct fleet_report *r, const char *name, struct fleet_frontend *out)
{
    out->name = name;
    out->cell = mem_calloc(r->n_lbs, sizeof(*out->cell));
    const Maglev__Frontend **fes = mem_calloc(r->n_lbs, sizeof(*fes));
    out->present_all = true;
    for (size_t i = 0; i < r->n_lbs; i++) {
        if (r->lbs[i].error)
            continue;
        fes[i] = find_frontend(&r->lbs[i], name);
        if (fes[i])
            fill_cell(&r->lbs[i], fes[i], &out->cell[i]);
        else
            out->present_all = false;
    }
    out->weights_same = out->table_same = true;
    const struct fleet_cell *ref = NULL;
    for (size_t i = 0; i < r->n_lbs; i++) {
        if (r->lbs[i].error)
            continue;
        if (!ref)
            ref = &out->cell[i];
        if (!out->cell[i].present || !cells_table_same(ref, &out->cell[i]))
            out->table_same = false;
    }
    for (size_t i = 0; i < r->n_lbs; i++) {
        for (size_t p = 0; fes[i] && p < fes[i]->n_pools; p++) {
            for (size_t b = 0; b < fes[i]->pools[p]->n_backends; b++) {
                if (seen_before(fes, i, p, b))
                    continue;
                if (compare_backend(r, fes, fes[i]->pools[p]->name,
                                    fes[i]->pools[p]->backends[b]->name, out))
                    out->weights_same = false;
            }
        }
    }
    if (!out->present_all)
        out->weights_same = false;
    out->agree = r->config_same && out->present_all && out->weights_same && out->table_same;
    free(fes);
}

static bool name_listed(const struct fleet_report *r, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (str_eq(r->fe[i].name, name))
            return true;
    return false;
}

void fleet_compare(const struct fleet_lb *lbs, size_t n, struct fleet_report *out)
{
    memset(out, 0, sizeof(*out));
    out->lbs = lbs;
    out->n_lbs = n;
    out->config_same = true;
    const char *hash = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < n; i++) {
        if (lbs[i].error) {
            out->unreachable++;
            continue;
        }
        const char *h = lbs[i].version ? lbs[i].version->config_hash : NULL;
        if (!h || !*h || (hash && strcmp(hash, h) != 0))
            out->config_same = false; /* an old maglevd without a hash cannot vouch for it */
        if (!hash)
            hash = h;
        for (size_t f = 0; lbs[i].frontends && f < lbs[i].frontends->n_frontends; f++) {
            const char *name = lbs[i].frontends->frontends[f]->name;
            if (name_listed(out, out->n_fe, name))
                continue;
            mem_grow((void **)&out->fe, &cap, out->n_fe + 1, sizeof(*out->fe));
            memset(&out->fe[out->n_fe], 0, sizeof(*out->fe));
            out->fe[out->n_fe++].name = name;
        }
    }
    out->agree = out->unreachable == 0 && out->config_same;
    for (size_t f = 0; f < out->n_fe; f++) {
        compare_frontend(out, out->fe[f].name, &out->fe[f]);
        if (!out->fe[f].agree)
            out->agree = false;
    }
}

void fleet_report_free(struct fleet_report *r)
{
    if (!r)
        return;
    for (size_t f = 0; f < r->n_fe; f++) {
        for (size_t d = 0; d < r->fe[f].n_diff; d++)
            free(r->fe[f].diff[d].lb);
        free(r->fe[f].diff);
        free(r->fe[f].cell);
    }
    free(r->fe);
    memset(r, 0, sizeof(*r));
}
