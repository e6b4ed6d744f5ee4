/* vpp_handlers.c: the VPP RPCs (GetVPPInfo, GetVPPLBState, SyncVPPLBState,
 * PlanVPPLBState, GetVPPLBCounters). GetVPPLBCounters answers at once from
 * the core's last reading (core_lbctr). The last three wait for a job of the VPP sync (src/vpp
 * /sync.h) and answer from its callback; a client that goes away cancels
 * the job's callback. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "api/api_int.h"
#include "api/arena.h"
#include "common/log.h"
#include "maglev.pb-c.h"
#include "lb/table.h"
#include "vpp/lbctr.h"
#include "vpp/sync.h"
#include "common/mem.h"

static const char *proto_name(uint8_t p)
{
    return p == 6 ? "tcp" : p == 17 ? "udp" : p == LB_PROTO_ANY ? "any" : "other";
}

/* The sync, or fails the call with UNAVAILABLE (integration disabled or VPP
 * not connected). */
static struct vpp_sync *vpp_or_fail(struct api_call *call, struct api *api, bool need_up)
{
    struct vpp_sync *s = core_vpp(api->core);
    if (!s) {
        api_fail(call, GRPC_STATUS_UNAVAILABLE,
                 "VPP integration is disabled (maglevd runs with --vpp-api-addr \"\")");
        return NULL;
    }
    if (need_up && !vpp_sync_is_up(s)) {
        const struct vpp_info *i = vpp_sync_info(s);
        api_fail(call, GRPC_STATUS_UNAVAILABLE, "VPP is not connected (%s%s%s)",
                 vpp_conn_state_name(i->state), i->last_error[0] ? ": " : "", i->last_error);
        return NULL;
    }
    return s;
}

void api_vpp_get_info(struct api_call *call, const ProtobufCMessage *req, void *ctx)
{
    (void)req;
    struct vpp_sync *s = vpp_or_fail(call, ctx, false);
    if (!s)
        return;
    const struct vpp_info *i = vpp_sync_info(s);
    Maglev__VPPInfo m = MAGLEV__VPPINFO__INIT;
    m.state = (char *)vpp_conn_state_name(i->state);
    m.address = (char *)i->path;
    m.version = (char *)i->version;
    m.build_date = (char *)i->build_date;
    m.build_directory = (char *)i->build_directory;
    m.pid = i->pid;
    m.connected_since_us = i->connected_since_us;
    m.client_index = i->client_index;
    m.message_table_size = i->table_size;
    m.last_error = (char *)i->last_error;
    m.connects = i->connects;
    m.last_sync_us = vpp_sync_last_full_us(s);
    m.dry_run = vpp_sync_dry_run(s);
    m.warmup_until_us = vpp_sync_hold_until_us(s);
    api_reply(call, (const ProtobufCMessage *)&m);
}

/* A call waiting for a VPP job. */
struct pending_call {
    struct api_call *call;
    struct vpp_sync_job *job;
    bool one; /* GetVPPLBState of one frontend's VIP: key */
    struct lb_vip_key key;
};

static void on_cancel(struct api_call *call, void *ctx)
{
    (void)call;
    struct pending_call *p = ctx;
    vpp_sync_cancel(p->job);
    free(p);
}

static struct pending_call *pending_new(struct api_call *call)
{
    struct pending_call *p = mem_calloc(1, sizeof(*p));
    p->call = call;
    return p;
}

/* Finishes a pending call: clears the cancel hook before the reply. */
static struct api_call *pending_take(struct pending_call *p)
{
    struct api_call *call = p->call;
    api_call_on_cancel(call, NULL, NULL);
    free(p);
    return call;
}

static void fail_errno(struct api_call *call, int err, const char *msg)
{
    grpc_status_code code = err == -ENOENT ? GRPC_STATUS_NOT_FOUND
                            : err == -ENOTCONN || err == -ECONNRESET || err == -ETIMEDOUT
                                ? GRPC_STATUS_UNAVAILABLE
                            : err == -ECANCELED ? GRPC_STATUS_CANCELLED
                                                : GRPC_STATUS_INTERNAL;
    api_fail(call, code, "%s", msg);
}

/* The common start of a call that waits for a VPP job: the named frontend
 * (NULL = none asked for) must exist, VPP must be up. The pending call, or
 * NULL with the call failed; *fe is the frontend found. */
static struct pending_call *pending_start(struct api_call *call, struct api *api,
                                          const char *frontend, const struct frontend_conf **fe,
                                          struct vpp_sync **s)
{
    *fe = NULL;
    if (frontend && !(*fe = config_find_frontend(core_config(api->core), frontend))) {
        char shown[API_NAME_BUF];
        api_fail(call, GRPC_STATUS_NOT_FOUND, "frontend \"%s\" not found",
                 api_name_shown(frontend, shown));
        return NULL;
    }
    if (!(*s = vpp_or_fail(call, api, true)))
        return NULL;
    return pending_new(call);
}

/* ---- GetVPPLBState ---- */

static Maglev__VPPLBVIP *build_vip(struct arena *a, const struct lb_vip *v)
{
    Maglev__VPPLBVIP *m = ar_new(a, Maglev__VPPLBVIP);
    maglev__vpplbvip__init(m);
    char addr[IP_ADDR_STRLEN];
    m->prefix =
        arena_printf(a, "%s/%u", ip_addr_format(&v->key.addr, addr, sizeof(addr)), v->key.plen);
    m->protocol = (char *)proto_name(v->key.protocol);
    m->port = v->key.port;
    m->encap = (char *)lb_encap_name(v->encap);
    m->flow_table_length = v->flow_table_length;
    m->frontend = arena_strdup(a, v->name);
    m->src_ip_sticky_known = v->src_ip_sticky != LB_STICKY_UNKNOWN;
    m->src_ip_sticky = v->src_ip_sticky == 1;
    m->index = v->index;
    m->n_ases = v->n_ases;
    m->ases = ar_array(a, Maglev__VPPLBAS *, v->n_ases);
    /* the model from VPP's own weights: equal counts unless VPP runs
     * another algorithm */
    uint32_t *model = ar_array(a, uint32_t, v->n_ases);
    bool modelled = lb_table_counts(v, v->flow_table_length, model) != UINT32_MAX;
    if (!modelled)
        memset(model, 0, v->n_ases * sizeof(*model));
    m->model_consistent = modelled && lb_table_mismatch(v, model) < 0;
    m->model_fingerprint = modelled ? lb_table_fingerprint(v, v->flow_table_length) : 0;
    for (size_t i = 0; i < v->n_ases; i++) {
        Maglev__VPPLBAS *as = ar_new(a, Maglev__VPPLBAS);
        maglev__vpplbas__init(as);
        as->address = arena_strdup(a, ip_addr_format(&v->ases[i].addr, addr, sizeof(addr)));
        as->weight = v->ases[i].weight;
        as->buckets = v->ases[i].buckets;
        as->model_buckets = model[i];
        as->active = v->ases[i].active;
        m->ases[i] = as;
    }
    return m;
}

static void on_state(void *ctx, int err, const struct lb_state *obs)
{
    struct pending_call *p = ctx;
    struct lb_vip_key key = p->key;
    bool one = p->one;
    struct api_call *call = pending_take(p);
    if (err) {
        fail_errno(call, err, "reading VPP's LB state failed");
        return;
    }
    struct arena a = ARENA_INIT;
    char b4[IP_ADDR_STRLEN], b6[IP_ADDR_STRLEN];
    Maglev__VPPLBState m = MAGLEV__VPPLBSTATE__INIT;
    Maglev__VPPLBConf conf = MAGLEV__VPPLBCONF__INIT;
    if (obs->has_conf) {
        conf.ipv4_src_address = ip_addr_format(&obs->conf.ip4_src, b4, sizeof(b4));
        conf.ipv6_src_address = ip_addr_format(&obs->conf.ip6_src, b6, sizeof(b6));
        conf.sticky_buckets_per_core = obs->conf.sticky_buckets_per_core;
        conf.flow_timeout = obs->conf.flow_timeout;
        m.conf = &conf;
    }
    m.vips = ar_array(&a, Maglev__VPPLBVIP *, obs->n_vips);
    for (size_t i = 0; i < obs->n_vips; i++)
        if (!one || lb_vip_key_cmp(&obs->vips[i].key, &key) == 0)
            m.vips[m.n_vips++] = build_vip(&a, &obs->vips[i]);
    api_reply(call, (const ProtobufCMessage *)&m);
    arena_free(&a);
}

void api_vpp_get_lb_state(struct api_call *call, const ProtobufCMessage *req, void *ctx)
{
    const Maglev__GetVPPLBStateRequest *rq = (const void *)req;
    const struct frontend_conf *fe;
    struct vpp_sync *s;
    struct pending_call *p = pending_start(
        call, ctx,
        rq->scope_case == MAGLEV__GET_VPPLBSTATE_REQUEST__SCOPE_FRONTEND ? rq->frontend : NULL, &fe,
        &s);
    if (!p)
        return;
    if (fe) {
        p->one = true;
        p->key = lb_frontend_vip_key(fe);
    }
    int r = vpp_sync_get_state(s, on_state, p, &p->job);
    if (r < 0) {
        free(p);
        fail_errno(call, r, "VPP is not connected");
        return;
    }
    api_call_on_cancel(call, on_cancel, p);
}

/* ---- SyncVPPLBState / PlanVPPLBState ---- */

static Maglev__VPPLBOp *build_op(struct arena *a, const struct lb_op *op,
                                 const struct vpp_op_result *res)
{
    Maglev__VPPLBOp *m = ar_new(a, Maglev__VPPLBOp);
    maglev__vpplbop__init(m);
    char buf[128];
    m->op = (char *)lb_op_kind_name(op->kind);
    m->frontend = arena_strdup(a, op->frontend);
    m->reason = arena_strdup(a, op->reason);
    if (op->kind == LB_OP_CONF_SET) {
        char b4[IP_ADDR_STRLEN], b6[IP_ADDR_STRLEN];
        m->vip = arena_printf(a,
                              "ipv4-src-address %s ipv6-src-address %s sticky-buckets-per-core %u "
                              "flow-timeout %u",
                              ip_addr_format(&op->conf.ip4_src, b4, sizeof(b4)),
                              ip_addr_format(&op->conf.ip6_src, b6, sizeof(b6)),
                              op->conf.sticky_buckets_per_core, op->conf.flow_timeout);
    } else {
        m->vip = arena_strdup(a, lb_vip_key_format(&op->vip, buf, sizeof(buf)));
    }
    if (op->kind >= LB_OP_AS_ADD) {
        char addr[IP_ADDR_STRLEN];
        m->address = arena_strdup(a, ip_addr_format(&op->as, addr, sizeof(addr)));
        m->weight = op->weight;
        m->old_weight = op->old_weight;
        m->flush = op->flush;
    }
    if (op->kind == LB_OP_VIP_ADD) {
        m->encap = (char *)lb_encap_name(op->encap);
        m->src_ip_sticky = op->src_ip_sticky;
    }
    if (res && (res->err || res->retval))
        m->error = arena_strdup(a, vpp_op_result_format(res, buf, sizeof(buf)));
    return m;
}

static void on_sync(void *ctx, const struct vpp_sync_result *r)
{
    struct api_call *call = pending_take(ctx);
    if (r->err) {
        fail_errno(call, r->err, r->error);
        return;
    }
    struct arena a = ARENA_INIT;
    Maglev__VPPLBSyncResult m = MAGLEV__VPPLBSYNC_RESULT__INIT;
    m.scope = r->full ? "all" : "vip";
    m.frontend = (char *)(r->frontend ? r->frontend : "");
    m.applied = r->applied;
    m.failed = (uint32_t)r->failed;
    m.duration_us = r->duration_us;
    m.n_ops = r->plan->n_ops;
    m.ops = ar_array(&a, Maglev__VPPLBOp *, m.n_ops);
    for (size_t i = 0; i < m.n_ops; i++)
        m.ops[i] = build_op(&a, &r->plan->ops[i], r->results ? &r->results[i] : NULL);
    m.n_disruption = r->n_disruption;
    m.disruption = ar_array(&a, Maglev__VPPLBDisruption *, m.n_disruption ? m.n_disruption : 1);
    for (size_t i = 0; i < m.n_disruption; i++)
        m.disruption[i] = api_build_disruption(&a, r->disruption[i].frontend, &r->disruption[i].vip,
                                               &r->disruption[i].d);
    api_reply(call, (const ProtobufCMessage *)&m);
    arena_free(&a);
}

static void sync_or_plan(struct api_call *call, const ProtobufCMessage *req, struct api *api,
                         bool apply)
{
    const Maglev__SyncVPPLBStateRequest *r = (const void *)req;
    const char *fe =
        r->scope_case == MAGLEV__SYNC_VPPLBSTATE_REQUEST__SCOPE_FRONTEND ? r->frontend : NULL;
    const struct frontend_conf *found;
    struct vpp_sync *s;
    struct pending_call *p = pending_start(call, api, fe, &found, &s);
    if (!p)
        return;
    if (apply)
        log_info("operator-action", LOG_STR("action", "vpp-sync"),
                 LOG_STR("frontend", fe ? fe : "(all)"), LOG_STR("peer", api_call_peer(call)));
    int e = vpp_sync_request(s, fe, apply, on_sync, p, &p->job);
    if (e == -EBUSY) {
        free(p);
        api_fail(call, GRPC_STATUS_FAILED_PRECONDITION,
                 "maglevd is warming up: nothing is changed in VPP for %.0f s more "
                 "(vpp.lb.startup-min-delay); PlanVPPLBState shows what would be done",
                 (double)(vpp_sync_hold_until_us(s) - clock_wall_us()) / 1e6);
        return;
    }
    if (e < 0) {
        free(p);
        fail_errno(call, e, "VPP is not connected");
        return;
    }
    api_call_on_cancel(call, on_cancel, p);
}

void api_vpp_sync(struct api_call *call, const ProtobufCMessage *req, void *ctx)
{
    sync_or_plan(call, req, ctx, true);
}

void api_vpp_plan(struct api_call *call, const ProtobufCMessage *req, void *ctx)
{
    sync_or_plan(call, req, ctx, false);
}

/* ---- GetVPPLBCounters ---- */

static Maglev__VPPLBVIPCounters *build_counters(struct arena *a, const struct lbctr_vip *v)
{
    Maglev__VPPLBVIPCounters *m = ar_new(a, Maglev__VPPLBVIPCounters);
    maglev__vpplbvipcounters__init(m);
    char addr[IP_ADDR_STRLEN];
    m->frontend = arena_strdup(a, v->frontend);
    m->prefix =
        arena_printf(a, "%s/%u", ip_addr_format(&v->key.addr, addr, sizeof(addr)), v->key.plen);
    m->protocol = (char *)proto_name(v->key.protocol);
    m->port = v->key.port;
    m->index = v->index;
    m->existing_sessions = v->c[VPP_STATS_LB_EXISTING];
    m->first_session = v->c[VPP_STATS_LB_FIRST];
    m->untracked = v->c[VPP_STATS_LB_UNTRACKED];
    m->no_server = v->c[VPP_STATS_LB_NO_SERVER];
    m->rates_known = v->rates_known;
    m->existing_sessions_rate = v->rate[VPP_STATS_LB_EXISTING];
    m->first_session_rate = v->rate[VPP_STATS_LB_FIRST];
    m->untracked_rate = v->rate[VPP_STATS_LB_UNTRACKED];
    m->no_server_rate = v->rate[VPP_STATS_LB_NO_SERVER];
    m->sampled_at_us = v->wall_us;
    return m;
}

static void build_route(struct arena *a, Maglev__VPPLBVIPCounters *m, const struct lbctr_route *r)
{
    char why[256];
    m->route_error = "not resolved yet";
    if (!r)
        return;
    m->route_known = r->state == LBCTR_ROUTE_OK && r->have;
    m->route_error = m->route_known ? ""
                     : r->state == LBCTR_ROUTE_OK
                         ? "not read yet"
                         : arena_strdup(a, lbctr_route_why(r, why, sizeof(why)));
    if (!m->route_known)
        return;
    m->route_stats_index = r->stats_index;
    m->route_packets = r->packets;
    m->route_bytes = r->bytes;
    m->route_rates_known = r->rates_known;
    m->route_packets_rate = r->packets_rate;
    m->route_bytes_rate = r->bytes_rate;
}

void api_vpp_get_lb_counters(struct api_call *call, const ProtobufCMessage *req, void *ctx)
{
    const Maglev__GetVPPLBCountersRequest *rq = (const void *)req;
    struct api *api = ctx;
    const struct frontend_conf *fe = NULL;
    if (rq->scope_case == MAGLEV__GET_VPPLBCOUNTERS_REQUEST__SCOPE_FRONTEND &&
        !(fe = config_find_frontend(core_config(api->core), rq->frontend))) {
        char shown[API_NAME_BUF];
        api_fail(call, GRPC_STATUS_NOT_FOUND, "frontend \"%s\" not found",
                 api_name_shown(rq->frontend, shown));
        return;
    }
    if (!vpp_or_fail(call, api, true))
        return;
    struct core_lbctr_view v;
    core_lbctr(api->core, &v);
    if (!v.enabled) {
        api_fail(call, GRPC_STATUS_UNAVAILABLE,
                 "VPP's LB counters are disabled (maglevd runs with --vpp-stats-addr \"\")");
        return;
    }
    if (!v.have) {
        if (v.error[0])
            api_fail(call, GRPC_STATUS_UNAVAILABLE, "VPP's stats segment is unavailable (%s: %s)",
                     v.path, v.error);
        else
            api_fail(call, GRPC_STATUS_UNAVAILABLE,
                     "no reading of VPP's LB counters yet (%s is read every %u ms)", v.path,
                     v.interval_ms);
        return;
    }
    struct arena a = ARENA_INIT;
    Maglev__VPPLBCounters m = MAGLEV__VPPLBCOUNTERS__INIT;
    m.stats_address = (char *)v.path;
    m.status = v.stale ? "stale" : "ok";
    m.error = (char *)v.error;
    m.interval_ms = v.interval_ms;
    m.sampled_at_us = v.sampled_us;
    struct lb_vip_key key;
    if (fe)
        key = lb_frontend_vip_key(fe);
    m.vips = ar_array(&a, Maglev__VPPLBVIPCounters *, v.table->n ? v.table->n : 1);
    for (size_t i = 0; i < v.table->n; i++) {
        const struct lbctr_vip *x = &v.table->vip[i];
        if (x->have && (!fe || lb_vip_key_cmp(&x->key, &key) == 0)) {
            m.vips[m.n_vips] = build_counters(&a, x);
            build_route(&a, m.vips[m.n_vips++], lbctr_route_of(v.table, x));
        }
    }
    api_reply(call, (const ProtobufCMessage *)&m);
    arena_free(&a);
}
