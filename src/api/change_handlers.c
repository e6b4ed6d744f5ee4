/* change_handlers.c: what operator changes would move in VPP's new-flow
 * tables — PlanBackendChange, the max_disruption_pct check of the backend
 * actions and SetFrontendPoolBackendWeight — and the VPPLBDisruption
 * message they share with the VPP sync's results. Loop thread, like every
 * handler: the check and the change it guards run in one call, nothing
 * comes between them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "api/arena.h"
#include "api/build.h"
#include "common/log.h"
#include "maglev.pb-c.h"

Maglev__VPPLBDisruption *api_build_disruption(struct arena *a, const char *frontend,
                                              const struct lb_vip_key *vip,
                                              const struct lb_mg_disruption *d)
{
    Maglev__VPPLBDisruption *m = ar_new(a, Maglev__VPPLBDisruption);
    maglev__vpplbdisruption__init(m);
    char buf[96];
    m->frontend = arena_strdup(a, frontend ? frontend : "");
    m->vip = arena_strdup(a, lb_vip_key_format(vip, buf, sizeof(buf)));
    m->table_length = d->len;
    m->buckets_moved = d->moved;
    m->buckets_minimum = d->minimum;
    return m;
}

/* The what-if of ch, or the call failed (false). */
static bool plan_or_fail(struct api_call *call, struct core *c, const struct core_change *ch,
                         struct core_change_plan *out)
{
    char err[512];
    int r = core_plan_change(c, ch, out, err, sizeof(err));
    if (r == 0)
        return true;
    api_fail(call, r == -EPERM ? GRPC_STATUS_FAILED_PRECONDITION : GRPC_STATUS_NOT_FOUND, "%s",
             err);
    return false;
}

bool api_disruption_allowed(struct api_call *call, struct core *c, const struct core_change *ch,
                            double max_pct, const char *what)
{
    if (!(max_pct > 0))
        return true;
    struct core_change_plan p;
    if (!plan_or_fail(call, c, ch, &p))
        return false;
    const struct core_change_vip *v = core_change_over(&p, max_pct);
    if (v) {
        char vip[96];
        api_fail(call, GRPC_STATUS_FAILED_PRECONDITION,
                 "%s of backend \"%s\" would move %u/%u buckets (%.1f%%) of frontend \"%s\" "
                 "(VIP %s), more than the limit of %g%%; nothing changed",
                 what, ch->backend, v->d.moved, v->d.len, lb_disrupt_pct(v->d.moved, v->d.len),
                 core_config(c)->frontends[v->fe].name,
                 lb_vip_key_format(&v->vip, vip, sizeof(vip)), max_pct);
        log_info("operator-action-refused", LOG_STR("action", what),
                 LOG_STR("frontend", core_config(c)->frontends[v->fe].name),
                 LOG_UINT("buckets-moved", v->d.moved), LOG_UINT("table-length", v->d.len),
                 LOG_DOUBLE("max-disruption-pct", max_pct), LOG_STR("peer", api_call_peer(call)));
    }
    core_change_plan_free(&p);
    return v == NULL;
}

void api_plan_change(struct api_call *call, const ProtobufCMessage *req, void *ctx)
{
    const Maglev__PlanChangeRequest *r = (const void *)req;
    struct core *c = ((struct api *)ctx)->core;
    struct core_change ch = { .backend = r->backend, .frontend = r->frontend, .pool = r->pool };
    if (core_change_action_parse(r->action, &ch.action) < 0) {
        api_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
                 "action \"%.64s\": expected disable, pause, enable, resume or weight",
                 r->action ? r->action : "");
        return;
    }
    if (!r->backend || !*r->backend) {
        api_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "backend name is empty");
        return;
    }
    if (ch.action == CORE_CHANGE_WEIGHT) {
        if (!r->frontend || !*r->frontend || !r->pool || !*r->pool) {
            api_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
                     "action weight needs a frontend and a pool");
            return;
        }
        if (r->weight > CONFIG_WEIGHT_MAX) {
            api_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "weight %u out of range 0..%d", r->weight,
                     CONFIG_WEIGHT_MAX);
            return;
        }
        ch.weight = (uint8_t)r->weight;
    }
    char shown[API_NAME_BUF], fshown[API_NAME_BUF], pshown[API_NAME_BUF];
    ch.backend = api_name_shown(r->backend, shown);
    ch.frontend = api_name_shown(r->frontend, fshown);
    ch.pool = api_name_shown(r->pool, pshown);
    struct core_change_plan p;
    if (!plan_or_fail(call, c, &ch, &p))
        return;
    const struct maglev_config *cfg = core_config(c);
    struct arena a = ARENA_INIT;
    Maglev__PlanChangeResult m = MAGLEV__PLAN_CHANGE_RESULT__INIT;
    m.disruption = ar_array(&a, Maglev__VPPLBDisruption *, p.n_vips ? p.n_vips : 1);
    for (size_t i = 0; i < p.n_vips; i++)
        m.disruption[m.n_disruption++] = api_build_disruption(&a, cfg->frontends[p.vips[i].fe].name,
                                                              &p.vips[i].vip, &p.vips[i].d);
    m.weights = ar_array(&a, Maglev__PlanChangeWeight *, p.n_weights ? p.n_weights : 1);
    for (size_t i = 0; i < p.n_weights; i++) {
        const struct core_change_weight *w = &p.weights[i];
        struct core_slot_view sv;
        core_frontend_slot(c, w->fe, w->slot, &sv);
        Maglev__PlanChangeWeight *x = ar_new(&a, Maglev__PlanChangeWeight);
        maglev__plan_change_weight__init(x);
        char addr[IP_ADDR_STRLEN];
        x->frontend = cfg->frontends[w->fe].name;
        x->backend = (char *)sv.pb->backend;
        x->address =
            sv.backend ? arena_strdup(&a, ip_addr_format(&sv.backend->address, addr, sizeof(addr)))
                       : "";
        x->weight_before = w->before;
        x->weight_after = w->after;
        m.weights[m.n_weights++] = x;
    }
    api_reply(call, (const ProtobufCMessage *)&m);
    arena_free(&a);
    core_change_plan_free(&p);
}
