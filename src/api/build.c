/* build.c: protobuf-c messages from daemon state. */
#include <stdlib.h>
#include <string.h>

#include "api/build.h"
#include "common/clock.h"
#include "common/duration.h"

static char *addr_str(struct arena *a, const struct ip_addr *ip)
{
    char buf[IP_ADDR_STRLEN];
    return ip_addr_is_set(ip) ? arena_strdup(a, ip_addr_format(ip, buf, sizeof(buf))) : "";
}

Maglev__Transition *api_build_transition(struct arena *a, const struct health_transition *t)
{
    Maglev__Transition *m = ar_new(a, Maglev__Transition);
    maglev__transition__init(m);
    m->time_us = t->time_us;
    m->from_state = (char *)health_state_name(t->from);
    m->to_state = (char *)health_state_name(t->to);
    m->code = (char *)probe_code_name(t->code);
    m->detail = arena_strdup(a, t->detail);
    m->reason = (char *)(t->reason ? t->reason : "");
    return m;
}

Maglev__Frontend *api_build_frontend(struct arena *a, const struct core *c, size_t i)
{
    struct core_frontend_view v;
    core_frontend(c, i, &v);
    const struct frontend_conf *fe = v.conf;
    Maglev__Frontend *m = ar_new(a, Maglev__Frontend);
    maglev__frontend__init(m);
    m->name = fe->name;
    m->description = fe->description ? fe->description : "";
    m->address = addr_str(a, &fe->address);
    m->protocol = (char *)config_fe_protocol_name(fe->protocol);
    m->port = fe->port;
    m->src_ip_sticky = fe->src_ip_sticky;
    m->flush_on_down = fe->flush_on_down;
    m->state = (char *)lb_fe_state_name(v.result.state);
    m->active_pool = v.result.active_pool >= 0 ? fe->pools[v.result.active_pool].name : "";
    m->vpp_held = v.vpp_held;
    m->panic_threshold = fe->panic_threshold;
    m->panic = v.result.panic;
    m->n_pools = fe->n_pools;
    m->pools = ar_array(a, Maglev__Pool *, fe->n_pools);
    struct lb_table_share *model = ar_array(a, struct lb_table_share, v.n_slots);
    struct core_model_view mv;
    core_frontend_model(c, i, model, &mv);
    m->table_length = mv.m.len;
    m->share_error_pp = mv.m.error_pp;
    m->share_warning = "";
    if (lb_table_off(&mv.m)) {
        struct core_slot_view wv;
        core_frontend_slot(c, i, (size_t)mv.worst_slot, &wv);
        char buf[512];
        lb_table_warning(&mv.m, &model[mv.worst_slot], wv.pb->backend, mv.n_ases, buf, sizeof(buf));
        m->share_warning = arena_strdup(a, buf);
    }
    size_t slot = 0;
    for (size_t p = 0; p < fe->n_pools; p++) {
        const struct pool_conf *pc = &fe->pools[p];
        Maglev__Pool *pm = m->pools[p] = ar_new(a, Maglev__Pool);
        maglev__pool__init(pm);
        pm->name = pc->name;
        pm->n_backends = pc->n_backends;
        pm->backends = ar_array(a, Maglev__PoolBackend *, pc->n_backends);
        for (size_t b = 0; b < pc->n_backends; b++, slot++) {
            struct core_slot_view sv;
            core_frontend_slot(c, i, slot, &sv);
            Maglev__PoolBackend *bm = pm->backends[b] = ar_new(a, Maglev__PoolBackend);
            maglev__pool_backend__init(bm);
            bm->name = sv.pb->backend;
            bm->address = addr_str(a, &sv.backend->address);
            bm->weight = sv.pb->weight;
            bm->overridden = sv.override >= 0;
            bm->effective_weight = sv.effective.weight;
            bm->flush = sv.effective.flush;
            bm->state = (char *)health_state_name(sv.state);
            bm->enabled = sv.state != BS_DISABLED;
            bm->vpp_status = (char *)core_vpp_status_name(sv.vpp);
            bm->vpp_error = (char *)sv.vpp_error;
            bm->vpp_weight = sv.vpp_weight;
            bm->held = sv.held;
            bm->ramping = sv.ramping;
            bm->ramp_pct = sv.ramp_pct;
            bm->buckets = model[slot].buckets;
            bm->bucket_share_pct = model[slot].bucket_pct;
            bm->weight_share_pct = model[slot].weight_pct;
        }
    }
    return m;
}

Maglev__Backend *api_build_backend(struct arena *a, const struct core *c, size_t i)
{
    const struct backend_conf *bc = &core_config(c)->backends[i];
    const struct backend_rt *b = core_backend(c, i);
    Maglev__Backend *m = ar_new(a, Maglev__Backend);
    maglev__backend__init(m);
    m->name = bc->name;
    m->address = addr_str(a, &bc->address);
    m->healthcheck = bc->healthcheck ? bc->healthcheck : "";
    if (b) {
        m->state = (char *)health_state_name(b->sm.state);
        m->enabled = b->sm.state != BS_DISABLED;
        m->counter = b->sm.counter;
        m->rise = b->sm.rise;
        m->fall = b->sm.fall;
        m->last_code = (char *)probe_code_name(b->last.code);
        m->last_detail = arena_strdup(a, b->last.detail);
        m->last_probe_time_us = b->last_probe_us;
        m->last_probe_duration_us = b->last.duration_us;
        m->probes = b->probes;
        m->probes_passed = b->passes;
        m->n_history = b->history.len;
        m->history = ar_array(a, Maglev__Transition *, b->history.len);
        for (size_t h = 0; h < b->history.len; h++)
            m->history[h] = api_build_transition(a, health_history_at(&b->history, h));
        m->probe_state = (char *)health_state_name(b->psm.state);
        m->damping = b->damp_conf.on;
        m->damping_penalty = checker_damping_penalty(b);
        m->damping_suppressed = b->damp.suppressed;
        m->damping_reuse_in_ms = (checker_damping_reuse_in_us(b) + 999) / 1000;
        m->damping_suppressed_since_us = b->damp.suppressed ? b->damp_since_us : 0;
        m->damping_suppressions = b->damp.suppressions;
    } else {
        m->state = "unknown";
        m->last_code = "none";
    }
    size_t n = 0;
    const uint32_t *fes = core_backend_frontends(c, i, &n);
    m->n_frontends = n;
    m->frontends = ar_array(a, char *, n);
    for (size_t k = 0; k < n; k++)
        m->frontends[k] = core_config(c)->frontends[fes[k]].name;
    struct core_ramp_view rv;
    core_backend_ramp(c, i, &rv);
    m->slow_start_ms = rv.slow_start_us / 1000;
    m->ramping = rv.ramping;
    m->ramp_started_us = rv.started_us;
    m->ramp_ends_us = rv.ends_us;
    m->ramp_pct = rv.pct;
    return m;
}

static int64_t ms(int64_t ns)
{
    return ns / DURATION_MS;
}

Maglev__HealthCheck *api_build_healthcheck(struct arena *a, const struct core *c, size_t i)
{
    const struct maglev_config *cfg = core_config(c);
    const struct healthcheck_conf *h = &cfg->healthchecks[i];
    Maglev__HealthCheck *m = ar_new(a, Maglev__HealthCheck);
    maglev__health_check__init(m);
    m->name = h->name;
    m->type = (char *)config_hc_type_name(h->type);
    m->port = h->port;
    m->interval_ms = ms(h->interval);
    m->fast_interval_ms = ms(h->fast_interval);
    m->down_interval_ms = ms(h->down_interval);
    m->timeout_ms = ms(h->timeout);
    m->rise = h->rise;
    m->fall = h->fall;
    m->source_address = addr_str(a, &h->source_address);
    m->netns = h->netns ? h->netns : cfg->netns ? cfg->netns : "";
    m->path = h->path ? h->path : "";
    m->host = h->host ? h->host : "";
    m->n_response_codes = h->n_codes;
    m->response_codes = ar_array(a, char *, h->n_codes);
    for (size_t k = 0; k < h->n_codes; k++)
        m->response_codes[k] = h->codes[k].lo == h->codes[k].hi
                                   ? arena_printf(a, "%u", h->codes[k].lo)
                                   : arena_printf(a, "%u-%u", h->codes[k].lo, h->codes[k].hi);
    m->response_regex = h->response_regex ? h->response_regex : "";
    m->tls_server_name = h->tls_server_name ? h->tls_server_name : "";
    m->tls_insecure = h->tls_insecure;
    m->tls_resume = h->type == HC_HTTPS && h->tls_resume; /* the loader defaults it for all */
    m->slow_start_ms = ms(h->slow_start);
    if (h->damping.on) {
        m->damping = true;
        m->damping_half_life_ms = ms(h->damping.half_life);
        m->damping_penalty = h->damping.penalty;
        m->damping_suppress = h->damping.suppress;
        m->damping_reuse = h->damping.reuse;
        m->damping_max_suppress_ms = ms(h->damping.max_suppress);
    }
    char **users = ar_array(a, char *, cfg->n_backends);
    size_t n = 0;
    for (size_t b = 0; b < cfg->n_backends; b++)
        if (cfg->backends[b].hc_index == (int)i)
            users[n++] = cfg->backends[b].name;
    m->n_backends = n;
    m->backends = users;
    return m;
}

static const char *stage_name(enum config_stage s)
{
    switch (s) {
    case CONFIG_STAGE_SYNTAX:
        return "syntax";
    case CONFIG_STAGE_STRUCTURE:
        return "structure";
    case CONFIG_STAGE_SEMANTIC:
        return "semantic";
    case CONFIG_STAGE_VPP:
        return "vpp";
    default:
        return "";
    }
}

Maglev__ConfigResult *api_build_config_result(struct arena *a, const struct core *c,
                                              const struct config_diags *d,
                                              const struct maglev_config *ok_cfg)
{
    Maglev__ConfigResult *m = ar_new(a, Maglev__ConfigResult);
    maglev__config_result__init(m);
    m->path = (char *)core_config_path(c);
    m->ok = ok_cfg != NULL;
    if (ok_cfg) {
        char *s = config_summary(ok_cfg);
        m->summary = arena_strdup(a, s);
        free(s);
        return m;
    }
    m->stage = (char *)stage_name(d->stage);
    m->n_errors = d->n;
    m->errors = ar_array(a, char *, d->n);
    for (size_t i = 0; i < d->n; i++) {
        char *s = config_diag_format(d, i);
        m->errors[i] = arena_strdup(a, s);
        free(s);
    }
    return m;
}

Maglev__Event *api_build_backend_event(struct arena *a, const struct backend_rt *b,
                                       const struct health_transition *t, bool initial)
{
    Maglev__Event *e = ar_new(a, Maglev__Event);
    maglev__event__init(e);
    e->time_us = t ? t->time_us : clock_wall_us();
    e->kind_case = MAGLEV__EVENT__KIND_BACKEND;
    Maglev__BackendEvent *m = e->backend = ar_new(a, Maglev__BackendEvent);
    maglev__backend_event__init(m);
    m->name = b->name;
    m->initial = initial;
    m->state = (char *)health_state_name(t ? t->to : b->sm.state);
    if (t)
        m->transition = api_build_transition(a, t);
    return e;
}

Maglev__Event *api_build_frontend_event(struct arena *a, const struct frontend_conf *fe,
                                        enum fe_state from, enum fe_state to, int active_pool,
                                        bool panic, bool initial)
{
    Maglev__Event *e = ar_new(a, Maglev__Event);
    maglev__event__init(e);
    e->time_us = clock_wall_us();
    e->kind_case = MAGLEV__EVENT__KIND_FRONTEND;
    Maglev__FrontendEvent *m = e->frontend = ar_new(a, Maglev__FrontendEvent);
    maglev__frontend_event__init(m);
    m->name = fe->name;
    m->from_state = (char *)lb_fe_state_name(from);
    m->to_state = (char *)lb_fe_state_name(to);
    m->initial = initial;
    m->active_pool = active_pool >= 0 ? fe->pools[active_pool].name : "";
    m->panic = panic;
    return e;
}

Maglev__Event *api_build_vpp_event(struct arena *a, const struct core_vpp_change *ch)
{
    Maglev__Event *e = ar_new(a, Maglev__Event);
    maglev__event__init(e);
    e->time_us = clock_wall_us();
    e->kind_case = MAGLEV__EVENT__KIND_VPP_WEIGHT;
    Maglev__VPPWeightEvent *m = e->vpp_weight = ar_new(a, Maglev__VPPWeightEvent);
    maglev__vppweight_event__init(m);
    char buf[128];
    const struct lb_op *op = ch->op;
    m->frontend = (char *)ch->frontend;
    m->backend = (char *)ch->backend;
    m->address = addr_str(a, &op->as);
    m->vip = arena_strdup(a, lb_vip_key_format(&op->vip, buf, sizeof(buf)));
    m->op = (char *)lb_op_kind_name(op->kind);
    m->old_weight = op->kind == LB_OP_AS_WEIGHT ? op->old_weight : 0;
    m->new_weight = op->kind == LB_OP_AS_DEL ? 0 : op->weight;
    if (op->kind == LB_OP_AS_DEL)
        m->old_weight = op->weight;
    m->flush = op->flush;
    m->trigger = (char *)ch->trigger;
    m->took_us = ch->took_us;
    m->dry_run = ch->dry_run;
    m->error = "";
    if (ch->res && (ch->res->err || ch->res->retval))
        m->error = arena_strdup(a, vpp_op_result_format(ch->res, buf, sizeof(buf)));
    return e;
}
