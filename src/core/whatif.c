/* whatif.c: what an operator change would move in VPP's new-flow tables,
 * changing nothing (see core.h, "what-if"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "core/core_int.h"
#include "vpp/sync.h"

static const char *const action_names[] = {
    [CORE_CHANGE_DISABLE] = "disable", [CORE_CHANGE_PAUSE] = "pause",
    [CORE_CHANGE_ENABLE] = "enable",   [CORE_CHANGE_RESUME] = "resume",
    [CORE_CHANGE_WEIGHT] = "weight",
};

int core_change_action_parse(const char *s, enum core_change_action *out)
{
    for (size_t i = 0; s && i < sizeof(action_names) / sizeof(action_names[0]); i++)
        if (!strcmp(s, action_names[i])) {
            *out = (enum core_change_action)i;
            return 0;
        }
    return -EINVAL;
}

void core_change_plan_free(struct core_change_plan *p)
{
    if (!p)
        return;
    free(p->vips);
    free(p->weights);
    memset(p, 0, sizeof(*p));
}

const struct core_change_vip *core_change_over(const struct core_change_plan *p, double max_pct)
{
    const struct core_change_vip *worst = NULL;
    double w = 0;
    for (size_t i = 0; max_pct > 0 && i < p->n_vips; i++) {
        double pct = lb_disrupt_pct(p->vips[i].d.moved, p->vips[i].d.len);
        if (pct > max_pct && (!worst || pct > w)) {
            worst = &p->vips[i];
            w = pct;
        }
    }
    return worst;
}

/* The state the backend would show lb_compute after the action: the
 * state machine's answer on a copy; enable and resume as up (see core.h). */
static int hypothetical_state(const struct core *c, size_t bi, enum core_change_action a,
                              enum backend_state *out, char *err, size_t errlen)
{
    const struct backend_rt *b = core_backend(c, bi);
    static const enum health_event ev[] = {
        [CORE_CHANGE_DISABLE] = HE_DISABLE,
        [CORE_CHANGE_PAUSE] = HE_PAUSE,
        [CORE_CHANGE_ENABLE] = HE_ENABLE,
        [CORE_CHANGE_RESUME] = HE_RESUME,
    };
    *out = c->guard.view[bi];
    if (!b)
        return 0;
    struct health_sm sm = b->sm;
    enum backend_state from;
    int r = health_sm_step(&sm, ev[a], &from);
    if (r < 0) {
        snprintf(err, errlen, "cannot %s backend \"%s\" (it is %s)", action_names[a],
                 c->cfg->backends[bi].name, health_state_name(b->sm.state));
        return -EPERM;
    }
    if (r == 1)
        *out = sm.state == BS_UNKNOWN ? BS_UP : sm.state;
    return 0;
}

static void push_weight(struct core_change_plan *p, size_t *cap, size_t fe, size_t slot,
                        uint8_t before, uint8_t after)
{
    mem_grow((void **)&p->weights, cap, p->n_weights + 1, sizeof(*p->weights));
    p->weights[p->n_weights++] = (struct core_change_weight){ fe, slot, before, after };
}

/* Frontend fi with the states (c->guard.view, changed by the caller) and
 * overrides ov: the weights after, the tables before and after. target:
 * the backend whose slots are listed even when unchanged (-1: the slot
 * `target_slot` instead). */
static void plan_frontend(struct core *c, size_t fi, const int16_t *ov, int target,
                          long target_slot, struct core_change_plan *p, size_t *wcap)
{
    const struct frontend_conf *fe = &c->cfg->frontends[fi];
    struct core_fe *f = &c->fe[fi];
    struct lb_weight *after = mem_calloc(f->n_slots ? f->n_slots : 1, sizeof(*after));
    struct lb_ramps rb;
    lb_compute_ramp(fe, c->guard.view, ov, f->res.panic, core_ss_ramps(c, fi, &rb), after);
    for (size_t p_ = 0, s = 0; p_ < fe->n_pools; p_++)
        for (size_t b = 0; b < fe->pools[p_].n_backends; b++, s++) {
            bool mine = target >= 0 ? fe->pools[p_].backends[b].backend_index == target
                                    : (long)s == target_slot;
            if (mine || after[s].weight != f->w[s].weight)
                push_weight(p, wcap, fi, s, f->w[s].weight, after[s].weight);
        }
    struct lb_vip vb, va;
    lb_desired_vip_ordered(c->cfg, fi, f->w, f->order, f->n_order, &vb);
    lb_desired_vip_ordered(c->cfg, fi, after, f->order, f->n_order, &va);
    uint32_t len = c->vpp ? vpp_sync_table_length(c->vpp, &vb.key) : 0;
    if (lb_mg_len_ok(len))
        vb.flow_table_length = va.flow_table_length = len;
    struct core_change_vip *v = &p->vips[p->n_vips++];
    v->fe = fi;
    v->vip = vb.key;
    lb_disrupt_vip(&vb, &va, &v->d);
    lb_vip_clear(&vb);
    lb_vip_clear(&va);
    free(after);
}

static int plan_backend(struct core *c, const struct core_change *ch, struct core_change_plan *out,
                        char *err, size_t errlen)
{
    const struct backend_conf *bc = config_find_backend(c->cfg, ch->backend);
    if (!bc) {
        snprintf(err, errlen, "backend \"%s\" not found", ch->backend);
        return -ENOENT;
    }
    size_t bi = (size_t)(bc - c->cfg->backends);
    enum backend_state st;
    int r = hypothetical_state(c, bi, ch->action, &st, err, errlen);
    if (r < 0)
        return r;
    size_t n;
    const uint32_t *fes = core_backend_frontends(c, bi, &n);
    out->vips = mem_calloc(n ? n : 1, sizeof(*out->vips));
    size_t wcap = 0;
    /* the loop thread owns the view: changed for the computation only */
    enum backend_state was = c->guard.view[bi];
    c->guard.view[bi] = st;
    for (size_t k = 0; k < n; k++)
        plan_frontend(c, fes[k], c->fe[fes[k]].ov, (int)bi, -1, out, &wcap);
    c->guard.view[bi] = was;
    return 0;
}

static int plan_weight(struct core *c, const struct core_change *ch, struct core_change_plan *out,
                       char *err, size_t errlen)
{
    const struct frontend_conf *f = config_find_frontend(c->cfg, ch->frontend);
    if (!f) {
        snprintf(err, errlen, "frontend \"%s\" not found", ch->frontend);
        return -ENOENT;
    }
    size_t fi = (size_t)(f - c->cfg->frontends);
    for (size_t p = 0; p < f->n_pools; p++) {
        if (strcmp(f->pools[p].name, ch->pool) != 0)
            continue;
        for (size_t b = 0; b < f->pools[p].n_backends; b++) {
            if (strcmp(f->pools[p].backends[b].backend, ch->backend) != 0)
                continue;
            size_t slot = lb_slot(f, p, b);
            size_t n = c->fe[fi].n_slots;
            int16_t *ov = mem_calloc(n, sizeof(*ov));
            memcpy(ov, c->fe[fi].ov, n * sizeof(*ov));
            ov[slot] = ch->weight;
            out->vips = mem_calloc(1, sizeof(*out->vips));
            size_t wcap = 0;
            plan_frontend(c, fi, ov, -1, (long)slot, out, &wcap);
            free(ov);
            return 0;
        }
        snprintf(err, errlen, "backend \"%s\" not found in pool \"%s\" of frontend \"%s\"",
                 ch->backend, ch->pool, ch->frontend);
        return -ENOENT;
    }
    snprintf(err, errlen, "pool \"%s\" not found in frontend \"%s\"", ch->pool, ch->frontend);
    return -ENOENT;
}

int core_plan_change(struct core *c, const struct core_change *ch, struct core_change_plan *out,
                     char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    int r = ch->action == CORE_CHANGE_WEIGHT ? plan_weight(c, ch, out, err, errlen)
                                             : plan_backend(c, ch, out, err, errlen);
    if (r < 0)
        core_change_plan_free(out);
    return r;
}
