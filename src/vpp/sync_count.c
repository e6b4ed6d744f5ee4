/* sync_count.c: the VPP sync's counters for metrics (see sync.h,
 * "counters"). Loop thread, like the rest of the sync. */
#include <string.h>

#include "common/clock.h"
#include "vpp/sync_int.h"

const double vpp_sync_duration_bounds[VPP_SYNC_DURATION_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

static const char *const triggers[VPP_SYNC_TRIGGERS] = {
    "connect", "startup", "periodic", "reload", "api",   "warmup",
    "repair",  "health",  "operator", "weight", "other",
};

const char *vpp_sync_trigger_name(size_t i)
{
    return i < VPP_SYNC_TRIGGERS ? triggers[i] : NULL;
}

const char *vpp_sync_scope_name(enum vpp_sync_scope s)
{
    return s == VPP_SCOPE_VIP ? "vip" : "all";
}

const char *vpp_sync_outcome_name(enum vpp_sync_outcome o)
{
    static const char *const n[VPP_SYNC__COUNT] = { "success", "failure", "dry_run" };
    return (unsigned)o < VPP_SYNC__COUNT ? n[o] : "failure";
}

const char *vpp_op_outcome_name(enum vpp_op_outcome o)
{
    static const char *const n[VPP_OP__COUNT] = { "ok", "refused", "no_reply", "dry_run" };
    return (unsigned)o < VPP_OP__COUNT ? n[o] : "no_reply";
}

static size_t trigger_index(const char *t)
{
    for (size_t i = 0; t && i < VPP_SYNC_TRIGGERS - 1; i++)
        if (!strcmp(t, triggers[i]))
            return i;
    return VPP_SYNC_TRIGGERS - 1;
}

void vpp_sync_count(struct vpp_sync *s, enum vpp_sync_scope scope, const char *trigger,
                    enum vpp_sync_outcome o, int64_t since_us)
{
    s->ctr.syncs[scope][trigger_index(trigger)][o]++;
    if (o == VPP_SYNC_DRY_RUN)
        return;
    int64_t us = clock_mono_us() - since_us;
    double sec = us > 0 ? (double)us / 1e6 : 0.;
    size_t i = 0;
    while (i < VPP_SYNC_DURATION_BUCKETS && sec > vpp_sync_duration_bounds[i])
        i++;
    s->ctr.duration[scope][i]++;
    s->ctr.duration_sum[scope] += sec;
}

void vpp_sync_count_op(struct vpp_sync *s, const struct lb_op *op, const struct vpp_op_result *res)
{
    if ((unsigned)op->kind >= VPP_SYNC_OP_KINDS)
        return;
    enum vpp_op_outcome o = !res          ? VPP_OP_DRY_RUN
                            : res->err    ? VPP_OP_NO_REPLY
                            : res->retval ? VPP_OP_REFUSED
                                          : VPP_OP_OK;
    s->ctr.ops[op->kind][o]++;
}

const struct vpp_sync_counters *vpp_sync_counters(const struct vpp_sync *s)
{
    return &s->ctr;
}
