/* vpp.c: the core's side of the VPP sync — the desired state it asks for
 * (from the cached effective weights), the changes it is told about, and
 * the AS changes it reports back to observers. */
#include <string.h>

#include "common/log.h"
#include "core/core_int.h"
#include "vpp/sync.h"

bool core_vpp_warming(const struct core *c)
{
    return c->vpp && vpp_sync_warmup(c->vpp) != VPP_WARMUP_OVER;
}

bool core_vpp_held(const struct core *c, size_t fe)
{
    if (!c->vpp)
        return false;
    switch (vpp_sync_warmup(c->vpp)) {
    case VPP_WARMUP_HOLD:
        return true;
    case VPP_WARMUP_RELEASING:
        return !c->fe[fe].released;
    default:
        return false;
    }
}

static void fe_weights(void *ctx, size_t i, struct lb_weight *out, bool *held)
{
    const struct core *c = ctx;
    memcpy(out, c->fe[i].w, c->fe[i].n_slots * sizeof(*out));
    *held = !c->fe[i].released;
}

int core_lb_desired(struct core *c, struct lb_state *out)
{
    return lb_desired_build(c->cfg, fe_weights, c, out);
}

static int src_desired(void *ctx, struct lb_state *out)
{
    return core_lb_desired(ctx, out);
}

static bool src_desired_vip(void *ctx, size_t fe, struct lb_vip *out)
{
    struct core *c = ctx;
    if (fe >= c->cfg->n_frontends)
        return false;
    lb_desired_vip_ordered(c->cfg, fe, c->fe[fe].w, c->fe[fe].order, c->fe[fe].n_order, out);
    out->held = !c->fe[fe].released;
    return true;
}

/* The backend of frontend fe with address a, or "". */
static const char *backend_at(const struct core *c, const char *frontend, const struct ip_addr *a)
{
    const struct frontend_conf *fe = frontend ? config_find_frontend(c->cfg, frontend) : NULL;
    for (size_t p = 0; fe && p < fe->n_pools; p++)
        for (size_t b = 0; b < fe->pools[p].n_backends; b++) {
            const struct pool_backend_conf *pb = &fe->pools[p].backends[b];
            if (pb->backend_index >= 0 &&
                ip_addr_equal(&c->cfg->backends[pb->backend_index].address, a))
                return pb->backend;
        }
    return "";
}

static void src_applied(void *ctx, const struct vpp_applied *a)
{
    struct core *c = ctx;
    bool any = false;
    for (struct core_observer *o = c->observers; o && !any; o = o->next)
        any = o->vpp_change != NULL;
    if (!any)
        return;
    struct core_vpp_change ch = {
        .frontend = a->op->frontend ? a->op->frontend : "",
        .backend = backend_at(c, a->op->frontend, &a->op->as),
        .op = a->op,
        .res = a->res,
        .trigger = a->trigger,
        .took_us = a->took_us,
        .dry_run = a->dry_run,
    };
    for (struct core_observer *o = c->observers; o; o = o->next)
        if (o->vpp_change)
            o->vpp_change(o->ctx, &ch);
}

static double seconds(int64_t ns)
{
    return (double)ns / 1e9;
}

int core_vpp_start(struct core *c, const struct core_vpp_opts *o)
{
    const struct vpp_lb_conf *v = &c->cfg->vpp;
    struct vpp_sync_opts so = {
        .api_path = o->api_path,
        .dry_run = o->dry_run,
        .interval = seconds(v->sync_interval),
        .hold = seconds(v->startup_min_delay),
        .release = seconds(v->startup_max_delay),
        .n_frontends = c->cfg->n_frontends,
    };
    struct vpp_sync_source src = {
        .desired = src_desired,
        .desired_vip = src_desired_vip,
        .applied = src_applied,
        .ctx = c,
    };
    c->vpp = vpp_sync_new(c->loop, &so, &src);
    vpp_sync_start(c->vpp);
    return 0;
}

void core_vpp_stop(struct core *c)
{
    if (c->lbctr_stop)
        c->lbctr_stop(c); /* counters.c: cancels its job before the sync goes */
    vpp_sync_free(c->vpp);
    c->vpp = NULL;
}

void core_vpp_changed(struct core *c, size_t fe, const char *trigger, int64_t cause_us)
{
    if (c->vpp)
        vpp_sync_vip_changed(c->vpp, fe, trigger, cause_us);
}

void core_vpp_reloaded(struct core *c)
{
    if (c->vpp)
        vpp_sync_reloaded(c->vpp, seconds(c->cfg->vpp.sync_interval), c->cfg->n_frontends);
}
