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
 *   3. vpp_stats_read_lb, applied by lbctr_update (rates per second, a
 *      counter going backwards = reset, rate unknown for that reading).
 *
 * Route counters (/net/route/to) are not read: a VIP's stats index needs
 * ip_route_lookup, which the VPP client does not implement yet.
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
#include "vpp/lbctr.h"
#include "vpp/stats.h"
#include "vpp/sync.h"

#define CORE_LBCTR_MAP_TICKS  12
#define CORE_LBCTR_WARN_EVERY (60 * 1000000LL) /* µs between WARNs */

struct core_lbctr {
    struct core *core;
    struct vpp_stats *stats;
    char *path;
    unsigned interval_ms;
    ev_timer timer;
    struct vpp_lb_counters ctrs;
    struct lbctr table;
    struct vpp_sync_job *job; /* a map read in flight */
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
    if (lbctr_update(&t->table, &t->ctrs, clock_mono_us(), t->sampled_us))
        t->want_map = true; /* an index reused: who has it now? */
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
    read_now(t);
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
    if (t->want_map && !t->job) {
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
    ev_timer_stop(c->loop, &t->timer);
    vpp_stats_free(t->stats);
    vpp_lb_counters_free(&t->ctrs);
    lbctr_free(&t->table);
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
