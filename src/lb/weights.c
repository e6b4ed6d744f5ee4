/* weights.c: effective weights and frontend state (pure). */
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "lb/lb.h"

const char *lb_fe_state_name(enum fe_state s)
{
    switch (s) {
    case FE_UP:
        return "up";
    case FE_DOWN:
        return "down";
    default:
        return "unknown";
    }
}

size_t lb_slots(const struct frontend_conf *fe)
{
    size_t n = 0;
    for (size_t p = 0; p < fe->n_pools; p++)
        n += fe->pools[p].n_backends;
    return n;
}

size_t lb_slot(const struct frontend_conf *fe, size_t pool, size_t backend)
{
    size_t n = 0;
    for (size_t p = 0; p < pool && p < fe->n_pools; p++)
        n += fe->pools[p].n_backends;
    return n + backend;
}

static enum backend_state state_of(const struct pool_backend_conf *pb,
                                   const enum backend_state *states)
{
    return pb->backend_index >= 0 ? states[pb->backend_index] : BS_UNKNOWN;
}

struct lb_share lb_frontend_share(const struct frontend_conf *fe, const enum backend_state *states)
{
    struct lb_share best = { 0, 0 };
    for (size_t p = 0; p < fe->n_pools; p++) {
        struct lb_share s = { 0, 0 };
        for (size_t b = 0; b < fe->pools[p].n_backends; b++) {
            enum backend_state st = state_of(&fe->pools[p].backends[b], states);
            s.up += st == BS_UP;
            s.counted += st == BS_UP || st == BS_DOWN;
        }
        /* s.up / s.counted > best.up / best.counted, without division */
        if (s.counted &&
            (!best.counted || (uint64_t)s.up * best.counted > (uint64_t)best.up * s.counted))
            best = s;
    }
    return best;
}

bool lb_panic_next(bool was, uint8_t threshold, struct lb_share share)
{
    if (!threshold || !share.counted)
        return false;
    uint64_t up = (uint64_t)share.up * 100;
    if (!was)
        return up < (uint64_t)threshold * share.counted;
    unsigned leave = threshold + LB_PANIC_MARGIN > 100 ? 100 : threshold + LB_PANIC_MARGIN;
    return up < (uint64_t)leave * share.counted;
}

static bool in_service(enum backend_state s)
{
    return s != BS_DISABLED && s != BS_PAUSED;
}

int lb_panic_pool(const struct frontend_conf *fe, const enum backend_state *states)
{
    for (size_t p = 0; p < fe->n_pools; p++)
        for (size_t b = 0; b < fe->pools[p].n_backends; b++)
            if (in_service(state_of(&fe->pools[p].backends[b], states)))
                return (int)p;
    return -1;
}

static int active_pool(const struct frontend_conf *fe, const enum backend_state *states)
{
    for (size_t p = 0; p < fe->n_pools; p++)
        for (size_t b = 0; b < fe->pools[p].n_backends; b++)
            if (state_of(&fe->pools[p].backends[b], states) == BS_UP)
                return (int)p;
    return -1;
}

struct lb_frontend_result lb_compute_ramp(const struct frontend_conf *fe,
                                          const enum backend_state *states,
                                          const int16_t *overrides, bool was_panic,
                                          const struct lb_ramps *ramps, struct lb_weight *out)
{
    struct lb_frontend_result r = { .state = FE_UNKNOWN, .active_pool = -1 };
    if (fe->panic_threshold)
        r.panic = lb_panic_next(was_panic, fe->panic_threshold, lb_frontend_share(fe, states));
    r.active_pool = r.panic ? lb_panic_pool(fe, states) : active_pool(fe, states);
    bool all_unknown = true, any_weight = false;
    size_t i = 0;
    for (size_t p = 0; p < fe->n_pools; p++) {
        for (size_t b = 0; b < fe->pools[p].n_backends; b++, i++) {
            const struct pool_backend_conf *pb = &fe->pools[p].backends[b];
            enum backend_state s = state_of(pb, states);
            bool serves = s == BS_UP || (r.panic && in_service(s));
            struct lb_weight w = { 0, false };
            if (serves && (int)p == r.active_pool) {
                w.weight = overrides && overrides[i] >= 0 ? (uint8_t)overrides[i] : pb->weight;
                if (!r.panic && lb_ramp_applies(ramps, pb->backend_index))
                    w.weight = lb_slow_start_weight(w.weight, ramps->by_backend[pb->backend_index]);
            } else if (s == BS_DOWN)
                w.flush = fe->flush_on_down;
            else if (s == BS_DISABLED)
                w.flush = true;
            out[i] = w;
            all_unknown = all_unknown && s == BS_UNKNOWN;
            any_weight = any_weight || w.weight > 0;
        }
    }
    if (!all_unknown)
        r.state = any_weight ? FE_UP : FE_DOWN;
    return r;
}

struct lb_frontend_result lb_compute_panic(const struct frontend_conf *fe,
                                           const enum backend_state *states,
                                           const int16_t *overrides, bool was_panic,
                                           struct lb_weight *out)
{
    return lb_compute_ramp(fe, states, overrides, was_panic, NULL, out);
}

struct lb_frontend_result lb_compute(const struct frontend_conf *fe,
                                     const enum backend_state *states, const int16_t *overrides,
                                     struct lb_weight *out)
{
    return lb_compute_panic(fe, states, overrides, false, out);
}

struct override {
    char *fe, *pool, *be;
    uint8_t weight;
};

struct lb_overrides {
    struct override *v;
    size_t n, cap;
};

struct lb_overrides *lb_overrides_new(void)
{
    return mem_calloc(1, sizeof(struct lb_overrides));
}

static void override_clear(struct override *o)
{
    free(o->fe);
    free(o->pool);
    free(o->be);
}

void lb_overrides_free(struct lb_overrides *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->n; i++)
        override_clear(&o->v[i]);
    free(o->v);
    free(o);
}

/* The overrides are kept sorted by (frontend, pool, backend): a lookup is
 * a binary search, so filling every frontend's overrides on a reload costs
 * O(slots x log overrides), not O(slots x overrides). */
static int cmp_key(const struct override *x, const char *fe, const char *pool, const char *be)
{
    int r = strcmp(x->fe, fe);
    if (!r)
        r = strcmp(x->pool, pool);
    return r ? r : strcmp(x->be, be);
}

/* The first override not less than the key. */
static size_t lower_bound(const struct lb_overrides *o, const char *fe, const char *pool,
                          const char *be)
{
    size_t lo = 0, hi = o->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_key(&o->v[mid], fe, pool, be) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static struct override *find(const struct lb_overrides *o, const char *fe, const char *pool,
                             const char *be)
{
    size_t i = lower_bound(o, fe, pool, be);
    return i < o->n && !cmp_key(&o->v[i], fe, pool, be) ? &o->v[i] : NULL;
}

void lb_overrides_set(struct lb_overrides *o, const char *fe, const char *pool, const char *be,
                      uint8_t weight)
{
    size_t i = lower_bound(o, fe, pool, be);
    if (i < o->n && !cmp_key(&o->v[i], fe, pool, be)) {
        o->v[i].weight = weight;
        return;
    }
    mem_grow((void **)&o->v, &o->cap, o->n + 1, sizeof(*o->v));
    memmove(&o->v[i + 1], &o->v[i], (o->n - i) * sizeof(*o->v));
    o->v[i] = (struct override){ mem_strdup(fe), mem_strdup(pool), mem_strdup(be), weight };
    o->n++;
}

int lb_overrides_get(const struct lb_overrides *o, const char *fe, const char *pool, const char *be)
{
    const struct override *x = find(o, fe, pool, be);
    return x ? x->weight : -1;
}

void lb_overrides_fill(const struct lb_overrides *o, const struct frontend_conf *fe, int16_t *flat)
{
    size_t i = 0;
    for (size_t p = 0; p < fe->n_pools; p++)
        for (size_t b = 0; b < fe->pools[p].n_backends; b++, i++)
            flat[i] = (int16_t)lb_overrides_get(o, fe->name, fe->pools[p].name,
                                                fe->pools[p].backends[b].backend);
}

static bool exists(const struct maglev_config *cfg, const struct override *x)
{
    const struct frontend_conf *fe = config_find_frontend(cfg, x->fe);
    for (size_t p = 0; fe && p < fe->n_pools; p++) {
        if (strcmp(fe->pools[p].name, x->pool) != 0)
            continue;
        for (size_t b = 0; b < fe->pools[p].n_backends; b++)
            if (!strcmp(fe->pools[p].backends[b].backend, x->be))
                return true;
    }
    return false;
}

size_t lb_overrides_prune(struct lb_overrides *o, const struct maglev_config *cfg)
{
    size_t k = 0, dropped = 0;
    for (size_t i = 0; i < o->n; i++) {
        if (exists(cfg, &o->v[i])) {
            o->v[k++] = o->v[i];
        } else {
            override_clear(&o->v[i]);
            dropped++;
        }
    }
    o->n = k;
    return dropped;
}
