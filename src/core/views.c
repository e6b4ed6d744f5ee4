/* views.c: read-only views of the core's state for the API (see core.h). */
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "core/core_int.h"
#include "vpp/sync.h"

struct ev_loop *core_loop(const struct core *c)
{
    return c->loop;
}

const struct maglev_config *core_config(const struct core *c)
{
    return c->cfg;
}

const char *core_config_path(const struct core *c)
{
    return c->config_path;
}

const char *core_config_hash(const struct core *c)
{
    return c->config_hash;
}

int64_t core_start_us(const struct core *c)
{
    return c->start_us;
}

struct vpp_sync *core_vpp(const struct core *c)
{
    return c->vpp;
}

const char *core_vpp_status_name(enum core_vpp_status s)
{
    switch (s) {
    case CORE_VPP_APPLIED:
        return "applied";
    case CORE_VPP_PENDING:
        return "pending";
    case CORE_VPP_FAILED:
        return "failed";
    default:
        return "";
    }
}

void core_frontend(const struct core *c, size_t i, struct core_frontend_view *out)
{
    out->conf = &c->cfg->frontends[i];
    out->result = c->fe[i].res;
    out->n_slots = c->fe[i].n_slots;
    out->vpp_held = core_vpp_held(c, i);
}

const struct lb_weight *core_frontend_weights(const struct core *c, size_t i)
{
    return c->fe[i].w;
}

const int16_t *core_frontend_overrides(const struct core *c, size_t i)
{
    return c->fe[i].ov;
}

void core_frontend_slot(const struct core *c, size_t i, size_t s, struct core_slot_view *out)
{
    const struct frontend_conf *fe = &c->cfg->frontends[i];
    size_t p = 0, k = s;
    while (p < fe->n_pools && k >= fe->pools[p].n_backends)
        k -= fe->pools[p++].n_backends;
    out->pb = &fe->pools[p].backends[k];
    out->backend = &c->cfg->backends[out->pb->backend_index];
    out->state = c->states[out->pb->backend_index];
    out->held = c->guard.held[out->pb->backend_index];
    out->effective = c->fe[i].w[s];
    out->override = c->fe[i].ov[s];
    struct lb_ramps rb;
    const struct lb_ramps *rs = core_ss_ramps(c, i, &rb);
    out->ramping = !c->fe[i].res.panic && lb_ramp_applies(rs, out->pb->backend_index);
    out->ramp_pct = out->ramping ? lb_slow_start_pct(rs->by_backend[out->pb->backend_index]) : 100;
    out->vpp = CORE_VPP_NONE;
    out->vpp_weight = -1;
    out->vpp_error = "";
    if (!c->vpp)
        return;
    struct lb_vip_key key = lb_frontend_vip_key(fe);
    switch (vpp_sync_as_status(c->vpp, &key, &out->backend->address, out->effective.weight,
                               &out->vpp_weight, &out->vpp_error)) {
    case VPP_AS_APPLIED:
        out->vpp = CORE_VPP_APPLIED;
        break;
    case VPP_AS_FAILED:
        out->vpp = CORE_VPP_FAILED;
        break;
    default:
        out->vpp = CORE_VPP_PENDING;
    }
}

void core_frontend_model(const struct core *c, size_t i, struct lb_table_share *slots,
                         struct core_model_view *out)
{
    const struct core_fe *f = &c->fe[i];
    memset(slots, 0, f->n_slots * sizeof(*slots));
    struct lb_vip v;
    lb_desired_vip_ordered(c->cfg, i, f->w, f->order, f->n_order, &v);
    struct lb_table_share *sh = mem_calloc(v.n_ases, sizeof(*sh));
    lb_table_shares(&v, lb_table_len(&v), sh, &out->m); /* LB_NEW_FLOWS_TABLE_LENGTH: valid */
    for (size_t k = 0; k < v.n_ases; k++)
        slots[f->order[k]] = sh[k];
    out->worst_slot = out->m.worst >= 0 ? (long)f->order[out->m.worst] : -1;
    out->n_ases = lb_table_members(&v);
    free(sh);
    lb_vip_clear(&v);
}

const struct backend_rt *core_backend(const struct core *c, size_t i)
{
    const struct backend_rt *b = checker_at(c->checker, i);
    if (b && b->cfg_index == (int)i)
        return b; /* the checker keeps the config's order (both sorted by name) */
    return checker_find(c->checker, c->cfg->backends[i].name);
}

enum backend_state core_backend_state(const struct core *c, size_t i)
{
    return c->states[i];
}

const uint32_t *core_backend_frontends(const struct core *c, size_t i, size_t *n)
{
    *n = c->idx.start[i + 1] - c->idx.start[i];
    return &c->idx.fe[c->idx.start[i]];
}

void core_reload_counts(const struct core *c, struct core_reload_counts *out)
{
    *out = c->reloads;
}

const struct checker_stats *core_health_stats(const struct core *c)
{
    return checker_get_stats(c->checker);
}

void core_health_watch(const struct core *c, struct checker_watch *out)
{
    checker_watch_get(c->checker, out);
}
