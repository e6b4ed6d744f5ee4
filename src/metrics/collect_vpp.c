/* collect_vpp.c: the VPP sync's families (through core_vpp, the core's
 * view of the sync it owns) and the API's (through api.h). Loop thread.
 * No samples while the VPP integration is off (but maglev_vpp_enabled). */
#include "api/api.h"
#include "core/core.h"
#include "metrics/metrics.h"
#include "vpp/sync.h"

static size_t n_vpp(void *ctx)
{
    return core_vpp(ctx) ? 1 : 0;
}

static void enabled(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    mx_sample_u64(w, NULL, 0, core_vpp(ctx) != NULL);
}

static void connected(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    mx_sample_u64(w, NULL, 0, vpp_sync_info(core_vpp(ctx))->state == VPP_STATE_CONNECTED);
}

static void incompatible(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    mx_sample_u64(w, NULL, 0, vpp_sync_info(core_vpp(ctx))->state == VPP_STATE_INCOMPATIBLE);
}

static void connects(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    mx_sample_u64(w, NULL, 0, vpp_sync_info(core_vpp(ctx))->connects);
}

static void disconnects(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    const struct vpp_info *in = vpp_sync_info(core_vpp(ctx));
    for (int r = 0; r < VPP_DISC__COUNT; r++) {
        struct mx_label l[] = { { "reason", vpp_disconnect_reason_name(r) } };
        mx_sample_u64(w, l, 1, in->disconnects[r]);
    }
}

static void syncs(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    const struct vpp_sync_counters *k = vpp_sync_counters(core_vpp(ctx));
    for (int sc = 0; sc < VPP_SCOPE__COUNT; sc++)
        for (size_t t = 0; t < VPP_SYNC_TRIGGERS; t++)
            for (int o = 0; o < VPP_SYNC__COUNT; o++) {
                if (!k->syncs[sc][t][o])
                    continue;
                struct mx_label l[] = { { "scope", vpp_sync_scope_name(sc) },
                                        { "trigger", vpp_sync_trigger_name(t) },
                                        { "result", vpp_sync_outcome_name(o) } };
                mx_sample_u64(w, l, 3, k->syncs[sc][t][o]);
            }
}

static void sync_duration(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    const struct vpp_sync_counters *k = vpp_sync_counters(core_vpp(ctx));
    for (int sc = 0; sc < VPP_SCOPE__COUNT; sc++) {
        struct mx_label l[] = { { "scope", vpp_sync_scope_name(sc) } };
        mx_histogram(w, l, 1, vpp_sync_duration_bounds, VPP_SYNC_DURATION_BUCKETS, k->duration[sc],
                     k->duration_sum[sc]);
    }
}

static void operations(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    const struct vpp_sync_counters *k = vpp_sync_counters(core_vpp(ctx));
    for (int op = 0; op < VPP_SYNC_OP_KINDS; op++)
        for (int o = 0; o < VPP_OP__COUNT; o++) {
            if (!k->ops[op][o])
                continue;
            struct mx_label l[] = { { "kind", lb_op_kind_name(op) },
                                    { "result", vpp_op_outcome_name(o) } };
            mx_sample_u64(w, l, 2, k->ops[op][o]);
        }
}

static void drift(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    mx_sample_u64(w, NULL, 0, vpp_sync_counters(core_vpp(ctx))->drift_repaired);
}

static void pending(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    mx_sample_u64(w, NULL, 0, vpp_sync_pending(core_vpp(ctx)));
}

static const struct metrics_family vpp_families[] = {
    { "maglev_vpp_enabled", MX_GAUGE,
      "1 when the VPP integration is on (--vpp-api-addr not empty).", NULL, enabled },
    { "maglev_vpp_connected", MX_GAUGE,
      "1 while maglevd is connected to VPP's binary API (its message table checked).", n_vpp,
      connected },
    { "maglev_vpp_incompatible", MX_GAUGE,
      "1 while the VPP found lacks messages maglevd needs or defines them otherwise (see the "
      "vpp-incompatible log line).",
      n_vpp, incompatible },
    { "maglev_vpp_connects", MX_COUNTER, "Successful connections to VPP.", n_vpp, connects },
    { "maglev_vpp_disconnects", MX_COUNTER, "Connections to VPP that were up and ended, by reason.",
      n_vpp, disconnects },
    { "maglev_vpp_syncs", MX_COUNTER,
      "Syncs of VPP's LB state by scope (all: a full sync; vip: one VIP), trigger and result; "
      "combinations not seen yet are absent.",
      n_vpp, syncs },
    { "maglev_vpp_sync_duration_seconds", MX_HISTOGRAM,
      "How long a sync took, by scope: a full sync from its start (VPP's state read, planned, "
      "applied) to VPP's last reply; a VIP change from sending to the last reply.",
      n_vpp, sync_duration },
    { "maglev_vpp_operations", MX_COUNTER,
      "LB operations sent to VPP (or planned, dry run) by kind and result; combinations not "
      "seen yet are absent.",
      n_vpp, operations },
    { "maglev_vpp_drift_repaired", MX_COUNTER,
      "Operations a periodic sync had to apply: VPP had drifted from what maglevd had set.", n_vpp,
      drift },
    { "maglev_vpp_pending_changes", MX_GAUGE, "VIP changes waiting or in flight.", n_vpp, pending },
};

void metrics_add_vpp(struct metrics *m, struct core *core)
{
    metrics_add_families(m, vpp_families, sizeof(vpp_families) / sizeof(vpp_families[0]), core);
}

static void count_one(void *ctx, const char *method, const char *code, uint64_t n)
{
    struct mx_label l[] = { { "method", method }, { "code", code } };
    mx_sample_u64(ctx, l, 2, n);
}

static void api_requests(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    api_request_counts(ctx, count_one, w);
}

static void api_streams(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    mx_sample_u64(w, NULL, 0, api_event_streams(ctx));
}

static const struct metrics_family api_families[] = {
    { "maglev_api_requests", MX_COUNTER,
      "gRPC calls ended, by method and status code; pairs not seen yet are absent.", NULL,
      api_requests },
    { "maglev_api_event_streams", MX_GAUGE, "WatchEvents streams open now.", NULL, api_streams },
};

void metrics_add_api(struct metrics *m, struct api *api)
{
    metrics_add_families(m, api_families, sizeof(api_families) / sizeof(api_families[0]), api);
}
