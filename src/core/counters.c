/* counters.c: the owner of the VPP LB counters (issue 14). On the loop, a
 * repeating ev_timer (CORE_LBCTR_INTERVAL_MS, 5 s) while VPP is connected:
 *
 *   1. the stats reader (vpp/stats.h) maps VPP's stats segment if it has
 *      not yet (each read does it itself);
 *   2. the map VIP index -> frontend (lbctr_set_map) is read from VPP with
 *      vpp_sync_get_state — a job in the sync's queue (a dump and `show lb
 *      vips verbose`), so not every tick: only when it may have changed:
 *      none yet, VPP (re)connected, a sync added or deleted a VIP (the
 *      sync's vip-add/vip-del op counts moved), a config reload (frontend
 *      names), a counter went backwards (an index reused), and at least
 *      every CORE_LBCTR_MAP_TICKS ticks (60 s: VIPs changed behind
 *      maglevd's back). The read follows at once when the map arrives;
 *   3. each time the map arrives, every distinct VIP prefix is looked up
 *      in VPP's FIB (vpp_route_lookup: ip_route_lookup, table 0, exact),
 *      at most CORE_LBCTR_LOOKUPS in flight, for its stats_index (the FIB
 *      entry's load-balance index, the index into /net/route/to). The
 *      VIPs of one prefix (per-port VIPs) share that one FIB entry, so
 *      one route counter. Resolved again with every map read: an index is
 *      reused after a route is deleted. Until its answer a prefix keeps
 *      the index it had; no such route (-6), no ip_route_lookup in this
 *      VPP, or a failed lookup leave the route unknown. No new map is
 *      asked for while lookups are in flight; the read follows the last
 *      answer;
 *   4. vpp_stats_read_lb, applied by lbctr_update (rates per second, a
 *      counter going backwards = reset, rate unknown for that reading),
 *      then vpp_stats_read_route for the resolved routes, applied by
 *      lbctr_update_routes (same rules; a route counter going backwards
 *      asks for the map and the lookups again). A failed route read keeps
 *      the previous route values (logged at DEBUG).
 *
 * Errors of the reader are best effort: the first of a kind (and a new
 * kind) at WARN (-EPROTONOSUPPORT at ERROR), at most one WARN a minute,
 * the rest at DEBUG; -EAGAIN (VPP busy) at DEBUG only; the first success
 * after errors at INFO. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "core/core_int.h"
#include "vpp/lb.h"
#include "vpp/lbctr.h"
#include "vpp/stats.h"
#include "vpp/sync.h"

#define CORE_LBCTR_MAP_TICKS  12
#define CORE_LBCTR_LOOKUPS    32               /* ip_route_lookups in flight */
#define CORE_LBCTR_WARN_EVERY (60 * 1000000LL) /* µs between WARNs */

struct core_lbctr {
    struct core *core;
    struct vpp_stats *stats;
    char *path;
    unsigned interval_ms;
    ev_timer timer;
    struct vpp_lb_counters ctrs;
    struct lbctr table;
    struct vpp_sync_job *job;  /* a map read in flight */
    struct route_batch *batch; /* route lookups in flight */
    uint32_t *ridx;            /* read_routes' buffers, cap routes each */
    uint64_t *rpk, *rby;
    size_t rcap;
    bool have_map, want_map;
    unsigned map_age; /* ticks since the map was read */
    uint64_t seen_connects, seen_vip_ops, seen_reloads;
    bool have;  /* a successful reading since VPP connected */
    bool stale; /* the last read failed */
    int64_t sampled_us;
    int last_err;
    int64_t last_warn_us;
    char error[256];
};

static uint64_t vip_ops(const struct vpp_sync *s)
{
    const struct vpp_sync_counters *k = vpp_sync_counters(s);
    uint64_t n = 0;
    for (int o = 0; o < VPP_OP__COUNT; o++)
        n += k->ops[LB_OP_VIP_ADD][o] + k->ops[LB_OP_VIP_DEL][o];
    return n;
}

static void note_error(struct core_lbctr *t, int err)
{
    const char *e = vpp_stats_error(t->stats);
    snprintf(t->error, sizeof(t->error), "%s", *e ? e : strerror(-err));
    t->stale = true;
    int64_t now = clock_mono_us();
    bool fresh = err != t->last_err;
    t->last_err = err;
    if (err == -EAGAIN) {
        log_debug("vpp-stats-busy", LOG_STR("error", t->error));
        return;
    }
    if (fresh && err == -EPROTONOSUPPORT) {
        log_error("vpp-stats-error", LOG_STR("path", t->path), LOG_STR("error", t->error));
    } else if (fresh && (!t->last_warn_us || now - t->last_warn_us >= CORE_LBCTR_WARN_EVERY)) {
        t->last_warn_us = now;
        log_warn("vpp-stats-unavailable", LOG_STR("path", t->path), LOG_STR("error", t->error),
                 LOG_STR("fix", "check VPP's statseg { socket-name } and --vpp-stats-addr; "
                                "maglevd retries every tick"));
    } else {
        log_debug("vpp-stats-unavailable", LOG_STR("path", t->path), LOG_STR("error", t->error));
    }
}

static void read_routes(struct core_lbctr *t, int64_t mono_us)
{
    size_t n = t->table.n_routes;
    if (n > t->rcap) {
        uint32_t *i = realloc(t->ridx, n * sizeof(*i));
        if (i)
            t->ridx = i;
        uint64_t *p = realloc(t->rpk, n * sizeof(*p));
        if (p)
            t->rpk = p;
        uint64_t *b = realloc(t->rby, n * sizeof(*b));
        if (b)
            t->rby = b;
        if (!i || !p || !b)
            return;
        t->rcap = n;
    }
    size_t k = lbctr_route_indexes(&t->table, t->ridx);
    if (!k)
        return;
    int r = vpp_stats_read_route(t->stats, t->ridx, k, t->rpk, t->rby);
    if (r < 0) {
        log_debug("vpp-stats-route-failed", LOG_INT("error", r),
                  LOG_STR("detail", vpp_stats_error(t->stats)));
        return;
    }
    if (lbctr_update_routes(&t->table, t->rpk, t->rby, mono_us, t->sampled_us))
        t->want_map = true; /* a load-balance index reused: resolve again */
}

static void read_now(struct core_lbctr *t)
{
    int r = vpp_stats_read_lb(t->stats, &t->ctrs);
    if (r < 0) {
        note_error(t, r);
        return;
    }
    if (t->last_err && t->last_err != -EAGAIN)
        log_info("vpp-stats-connected", LOG_STR("path", t->path));
    t->last_err = 0;
    t->error[0] = '\0';
    t->stale = false;
    t->have = true;
    t->sampled_us = clock_wall_us();
    int64_t mono = clock_mono_us();
    if (lbctr_update(&t->table, &t->ctrs, mono, t->sampled_us))
        t->want_map = true; /* an index reused: who has it now? */
    read_routes(t, mono);
}

/* ---- route lookups: one per distinct VIP prefix of the map ---- */

struct route_lookup {
    struct route_batch *b;
    size_t i; /* t->table.route[i] */
};

/* Outlives t when counters stop mid-batch (t NULL): the last answer
 * frees it (the client answers every request, -ECANCELED at the end). */
struct route_batch {
    struct core_lbctr *t;
    struct vpp_client *c;
    size_t n, next, in_flight;
    struct route_lookup l[];
};

static void batch_resolved(struct core_lbctr *t, size_t i, int err, int retval, uint32_t idx)
{
    if (err == -EPROTONOSUPPORT)
        lbctr_route_resolved(&t->table, i, LBCTR_ROUTE_UNSUPPORTED, 0, 0, 0);
    else if (err)
        lbctr_route_resolved(&t->table, i, LBCTR_ROUTE_FAILED, 0, 0, err);
    else if (retval == 0)
        lbctr_route_resolved(&t->table, i, LBCTR_ROUTE_OK, idx, 0, 0);
    else if (retval == -6) /* VNET_API_ERROR_NO_SUCH_ENTRY */
        lbctr_route_resolved(&t->table, i, LBCTR_ROUTE_NONE, 0, 0, 0);
    else
        lbctr_route_resolved(&t->table, i, LBCTR_ROUTE_FAILED, 0, retval, 0);
}

static void on_route(void *ctx, int err, int retval, uint32_t stats_index);

/* Sends lookups up to the window; when every one is answered, the batch
 * ends and the counters are read. */
static void batch_pump(struct route_batch *b)
{
    struct core_lbctr *t = b->t;
    while (b->next < b->n && b->in_flight < CORE_LBCTR_LOOKUPS) {
        size_t i = b->next++;
        const struct lbctr_route *r = &t->table.route[i];
        int e = vpp_route_lookup(b->c, &r->addr, r->plen, on_route, &b->l[i]);
        if (e < 0)
            batch_resolved(t, i, e, 0, 0);
        else
            b->in_flight++;
    }
    if (b->next < b->n || b->in_flight)
        return;
    t->batch = NULL;
    free(b);
    if (vpp_sync_is_up(t->core->vpp))
        read_now(t);
}

static void on_route(void *ctx, int err, int retval, uint32_t stats_index)
{
    struct route_lookup *l = ctx;
    struct route_batch *b = l->b;
    b->in_flight--;
    if (!b->t) {
        if (!b->in_flight)
            free(b);
        return;
    }
    if (err)
        log_debug("vpp-route-lookup-failed", LOG_INT("error", err));
    batch_resolved(b->t, l->i, err, retval, stats_index);
    batch_pump(b);
}

/* Resolves every route of the new map, then reads; reads at once when
 * there is nothing to resolve (or no memory to). */
static void resolve_routes(struct core_lbctr *t)
{
    size_t n = t->table.n_routes;
    struct route_batch *b = n ? calloc(1, sizeof(*b) + n * sizeof(b->l[0])) : NULL;
    if (!b) {
        read_now(t);
        return;
    }
    b->t = t;
    b->c = vpp_sync_client(t->core->vpp);
    b->n = n;
    for (size_t i = 0; i < n; i++)
        b->l[i] = (struct route_lookup){ .b = b, .i = i };
    t->batch = b;
    batch_pump(b);
}

static void on_map(void *ctx, int err, const struct lb_state *obs)
{
    struct core_lbctr *t = ctx;
    t->job = NULL;
    if (err) {
        log_debug("vpp-stats-map-failed", LOG_INT("error", err));
        return;
    }
    if (lbctr_set_map(&t->table, obs) < 0)
        return;
    t->have_map = true;
    t->want_map = false;
    t->map_age = 0;
    resolve_routes(t);
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct core_lbctr *t = w->data;
    struct vpp_sync *s = t->core->vpp;
    if (!s || !vpp_sync_is_up(s)) {
        t->have = false; /* nothing to show until VPP is back */
        return;
    }
    uint64_t connects = vpp_sync_info(s)->connects, ops = vip_ops(s),
             reloads = t->core->reloads.success;
    if (!t->have_map || connects != t->seen_connects || ops != t->seen_vip_ops ||
        reloads != t->seen_reloads || ++t->map_age >= CORE_LBCTR_MAP_TICKS)
        t->want_map = true;
    t->seen_connects = connects;
    t->seen_vip_ops = ops;
    t->seen_reloads = reloads;
    if (t->want_map && !t->job && !t->batch) {
        if (vpp_sync_get_state(s, on_map, t, &t->job) == 0)
            return; /* read when the map arrives */
        t->job = NULL;
    }
    if (t->have_map)
        read_now(t);
}

static void core_lbctr_stop(struct core *c)
{
    struct core_lbctr *t = c->lbctr;
    if (!t)
        return;
    if (t->job)
        vpp_sync_cancel(t->job);
    if (t->batch)
        t->batch->t = NULL; /* freed by its last answer */
    ev_timer_stop(c->loop, &t->timer);
    vpp_stats_free(t->stats);
    vpp_lb_counters_free(&t->ctrs);
    lbctr_free(&t->table);
    free(t->ridx);
    free(t->rpk);
    free(t->rby);
    free(t->path);
    free(t);
    c->lbctr = NULL;
}

int core_lbctr_start(struct core *c, const char *path, unsigned interval_ms)
{
    if (!path || !*path || !c->vpp)
        return 0;
    struct core_lbctr *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->core = c;
    t->path = strdup(path);
    t->interval_ms = interval_ms ? interval_ms : CORE_LBCTR_INTERVAL_MS;
    t->stats = vpp_stats_new(path, NULL);
    if (!t->path || !t->stats) {
        free(t->path);
        vpp_stats_free(t->stats);
        free(t);
        return -ENOMEM;
    }
    double iv = t->interval_ms / 1000.0;
    ev_timer_init(&t->timer, on_tick, iv, iv);
    t->timer.data = t;
    ev_timer_start(c->loop, &t->timer);
    c->lbctr = t;
    c->lbctr_stop = core_lbctr_stop;
    log_info("vpp-stats-start", LOG_STR("path", path), LOG_UINT("interval-ms", t->interval_ms));
    return 0;
}

void core_lbctr(const struct core *c, struct core_lbctr_view *out)
{
    const struct core_lbctr *t = c->lbctr;
    memset(out, 0, sizeof(*out));
    out->error = "";
    if (!t)
        return;
    out->enabled = true;
    out->path = t->path;
    out->interval_ms = t->interval_ms;
    out->have = t->have;
    out->stale = t->stale;
    out->error = t->error;
    out->sampled_us = t->sampled_us;
    out->table = &t->table;
}
