/* collect_lbctr.c: the LB plugin's per-VIP counters from VPP's stats
 * segment (core_lbctr: the last reading, every 5 s). One item per family:
 * a reading is replaced whole on the loop, so a scrape never mixes two.
 * Only VIPs of configured frontends; no samples while the reader is off
 * or has no reading (VPP down, stats socket unavailable). The route
 * families (/net/route/to of the VIP's prefix) only for VIPs whose route
 * is known and read; the VIPs of one prefix share one FIB entry, so they
 * carry the same values (the prefix label tells them apart). */
#include <stdio.h>

#include "common/ipaddr.h"
#include "core/core.h"
#include "metrics/metrics.h"
#include "vpp/lbctr.h"

/* the label values of counter=..., in enum vpp_stats_lb_counter order */
static const char *const counter_names[VPP_STATS_LB_N] = {
    "existing_sessions",
    "first_session",
    "untracked",
    "no_server",
};

static size_t n_enabled(void *ctx)
{
    struct core_lbctr_view v;
    core_lbctr(ctx, &v);
    return v.enabled ? 1 : 0;
}

static size_t n_have(void *ctx)
{
    struct core_lbctr_view v;
    core_lbctr(ctx, &v);
    return v.enabled && v.have ? 1 : 0;
}

static void up(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    struct core_lbctr_view v;
    core_lbctr(ctx, &v);
    mx_sample_u64(w, NULL, 0, v.have && !v.stale);
}

static void packets(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    struct core_lbctr_view v;
    core_lbctr(ctx, &v);
    for (size_t k = 0; v.table && k < v.table->n; k++) {
        const struct lbctr_vip *x = &v.table->vip[k];
        if (!x->have || !x->frontend[0])
            continue;
        for (int c = 0; c < VPP_STATS_LB_N; c++) {
            struct mx_label l[] = { { "frontend", x->frontend }, { "counter", counter_names[c] } };
            mx_sample_u64(w, l, 2, x->c[c]);
        }
    }
}

static void route(void *ctx, struct mx_writer *w, bool bytes)
{
    struct core_lbctr_view v;
    core_lbctr(ctx, &v);
    for (size_t k = 0; v.table && k < v.table->n; k++) {
        const struct lbctr_vip *x = &v.table->vip[k];
        const struct lbctr_route *r = lbctr_route_of(v.table, x);
        if (!x->frontend[0] || !r || r->state != LBCTR_ROUTE_OK || !r->have)
            continue;
        char addr[IP_ADDR_STRLEN], prefix[IP_ADDR_STRLEN + 8];
        snprintf(prefix, sizeof(prefix), "%s/%u", ip_addr_format(&r->addr, addr, sizeof(addr)),
                 r->plen);
        struct mx_label l[] = { { "frontend", x->frontend }, { "prefix", prefix } };
        mx_sample_u64(w, l, 2, bytes ? r->bytes : r->packets);
    }
}

static void route_packets(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    route(ctx, w, false);
}

static void route_bytes(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    route(ctx, w, true);
}

static const struct metrics_family lbctr_families[] = {
    { "maglev_vpp_lb_counters_up", MX_GAUGE,
      "1 when the last read of VPP's stats segment (LB counters, --vpp-stats-addr) succeeded.",
      n_enabled, up },
    { "maglev_vpp_lb_vip_packets", MX_COUNTER,
      "Packets VPP's LB plugin counted per VIP of a configured frontend, by counter: "
      "existing_sessions, first_session, untracked, no_server (dropped: no AS to send to); "
      "read every 5 s. Resets when VPP restarts or reuses the VIP's index.",
      n_have, packets },
    { "maglev_vpp_vip_route_packets", MX_COUNTER,
      "Packets VPP's FIB matched to the prefix of a configured frontend's VIP "
      "(/net/route/to of the prefix's route, which the VIPs of one prefix share); "
      "read every 5 s. Resets when VPP restarts or the route is made anew.",
      n_have, route_packets },
    { "maglev_vpp_vip_route_bytes", MX_COUNTER,
      "Bytes of the packets VPP's FIB matched to the prefix of a configured frontend's VIP "
      "(/net/route/to of the prefix's route, which the VIPs of one prefix share); "
      "read every 5 s. Resets when VPP restarts or the route is made anew.",
      n_have, route_bytes },
};

void metrics_add_vpp_lb(struct metrics *m, struct core *core)
{
    metrics_add_families(m, lbctr_families, sizeof(lbctr_families) / sizeof(lbctr_families[0]),
                         core);
}
