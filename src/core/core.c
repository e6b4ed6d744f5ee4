/* core.c: daemon state on the loop thread. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "common/log.h"
#include "core/core.h"

#include "lb/plan.h"

static int64_t wall_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

enum backend_state core_backend_state(const struct core *c, size_t i)
{
    const struct backend_rt *b = checker_find(c->checker, c->cfg->backends[i].name);
    return b ? b->sm.state : BS_UNKNOWN;
}

static enum backend_state *states_of(const struct core *c)
{
    enum backend_state *st = calloc(c->cfg->n_backends ? c->cfg->n_backends : 1, sizeof(*st));
    if (!st)
        abort();
    for (size_t i = 0; i < c->cfg->n_backends; i++)
        st[i] = core_backend_state(c, i);
    return st;
}

static struct lb_frontend_result compute(const struct core *c, size_t i,
                                         const enum backend_state *st, struct lb_weight *out)
{
    const struct frontend_conf *fe = &c->cfg->frontends[i];
    size_t n = lb_slots(fe);
    int16_t *ov = calloc(n ? n : 1, sizeof(*ov));
    struct lb_weight *w = out ? out : calloc(n ? n : 1, sizeof(*w));
    if (!ov || !w)
        abort();
    lb_overrides_fill(c->overrides, fe, ov);
    struct lb_frontend_result r = lb_compute(fe, st, ov, w);
    free(ov);
    if (!out)
        free(w);
    return r;
}

struct lb_frontend_result core_frontend_weights(const struct core *c, size_t i,
                                                struct lb_weight *out)
{
    enum backend_state *st = states_of(c);
    struct lb_frontend_result r = compute(c, i, st, out);
    free(st);
    return r;
}

/* Recomputes every frontend (or those using backend `only`, unless NULL)
 * and tells observers about changes. */
static void refresh_frontends(struct core *c, const char *only)
{
    enum backend_state *st = states_of(c);
    for (size_t i = 0; i < c->cfg->n_frontends; i++) {
        const struct frontend_conf *fe = &c->cfg->frontends[i];
        bool uses = !only;
        for (size_t p = 0; p < fe->n_pools && !uses; p++)
            for (size_t b = 0; b < fe->pools[p].n_backends && !uses; b++)
                uses = strcmp(fe->pools[p].backends[b].backend, only) == 0;
        if (!uses)
            continue;
        struct lb_frontend_result r = compute(c, i, st, NULL);
        struct lb_frontend_result old = c->fe[i];
        if (r.state == old.state && r.active_pool == old.active_pool)
            continue;
        c->fe[i] = r;
        log_info("frontend-state", LOG_STR("frontend", fe->name),
                 LOG_STR("from", fe_state_name(old.state)), LOG_STR("to", fe_state_name(r.state)),
                 LOG_STR("active_pool", r.active_pool >= 0 ? fe->pools[r.active_pool].name : ""));
        for (struct core_observer *o = c->observers; o; o = o->next)
            if (o->frontend)
                o->frontend(o->ctx, fe, old.state, r.state, r.active_pool);
    }
    free(st);
}

static void on_transition(void *ctx, const struct backend_rt *b, const struct health_transition *t)
{
    struct core *c = ctx;
    for (struct core_observer *o = c->observers; o; o = o->next)
        if (o->backend)
            o->backend(o->ctx, b, t);
    if (t->to != BS_REMOVED && c->fe)
        refresh_frontends(c, b->name);
}

static void reset_frontends(struct core *c)
{
    free(c->fe);
    c->fe = calloc(c->cfg->n_frontends ? c->cfg->n_frontends : 1, sizeof(*c->fe));
    if (!c->fe)
        abort();
    for (size_t i = 0; i < c->cfg->n_frontends; i++)
        c->fe[i] = (struct lb_frontend_result){ FE_UNKNOWN, -1 };
}

struct core *core_new(struct ev_loop *loop, const char *config_path, struct maglev_config *cfg)
{
    struct core *c = calloc(1, sizeof(*c));
    if (!c || !(c->config_path = strdup(config_path)))
        abort();
    c->loop = loop;
    c->cfg = cfg;
    c->start_us = wall_us();
    c->overrides = lb_overrides_new();
    if (!c->overrides)
        abort();
    reset_frontends(c);
    c->checker = checker_new(loop, cfg);
    checker_set_hook(c->checker, on_transition, c);
    refresh_frontends(c, NULL);
    return c;
}

void core_free(struct core *c)
{
    if (!c)
        return;
    checker_set_hook(c->checker, NULL, NULL);
    checker_free(c->checker);
    lb_overrides_free(c->overrides);
    free(c->fe);
    config_free(c->cfg);
    free(c->config_path);
    free(c);
}

void core_observe(struct core *c, struct core_observer *o)
{
    o->next = c->observers;
    c->observers = o;
}

void core_unobserve(struct core *c, struct core_observer *o)
{
    for (struct core_observer **pp = &c->observers; *pp; pp = &(*pp)->next) {
        if (*pp == o) {
            *pp = o->next;
            return;
        }
    }
}

int core_check(struct core *c, struct maglev_config **out, struct config_diags *d)
{
    return config_load_file(c->config_path, out, d);
}

int core_reload(struct core *c, struct config_diags *d, struct checker_reload_stats *st)
{
    log_info("config-reload-start", LOG_STR("path", c->config_path));
    struct maglev_config *next = NULL;
    if (config_load_file(c->config_path, &next, d) < 0) {
        for (size_t i = 0; i < d->n; i++) {
            char *line = config_diag_format(d, i);
            log_error("config-reload-error", LOG_STR("error", line));
            free(line);
        }
        log_warn("config-reload-failed", LOG_STR("path", c->config_path),
                 LOG_STR("action", "keeping the running config"));
        return -EINVAL;
    }
    /* frontends keep their last known state by name; new ones start unknown */
    struct maglev_config *old = c->cfg;
    struct lb_frontend_result *old_fe = c->fe;
    c->fe = NULL; /* no frontend refresh while the checker reloads */
    c->cfg = next;
    checker_reload(c->checker, next, st);
    reset_frontends(c);
    for (size_t i = 0; i < next->n_frontends; i++) {
        const struct frontend_conf *was = config_find_frontend(old, next->frontends[i].name);
        if (was) {
            c->fe[i] = old_fe[was - old->frontends];
            if (c->fe[i].active_pool >= (int)next->frontends[i].n_pools)
                c->fe[i].active_pool = -1;
        }
    }
    free(old_fe);
    config_free(old);
    size_t dropped = lb_overrides_prune(c->overrides, next);
    log_info("config-reloaded", LOG_STR("path", c->config_path),
             LOG_UINT("healthchecks", next->n_healthchecks), LOG_UINT("backends", next->n_backends),
             LOG_UINT("frontends", next->n_frontends), LOG_UINT("added", st->added),
             LOG_UINT("changed", st->changed), LOG_UINT("removed", st->removed),
             LOG_UINT("unchanged", st->unchanged), LOG_UINT("weight_overrides_dropped", dropped));
    for (struct core_observer *o = c->observers; o; o = o->next)
        if (o->reloaded)
            o->reloaded(o->ctx);
    refresh_frontends(c, NULL);
    return 0;
}

int core_set_weight(struct core *c, const char *fe, const char *pool, const char *be,
                    uint8_t weight, char *err, size_t errlen)
{
    const struct frontend_conf *f = config_find_frontend(c->cfg, fe);
    if (!f) {
        snprintf(err, errlen, "frontend \"%s\" not found", fe);
        return -ENOENT;
    }
    for (size_t p = 0; p < f->n_pools; p++) {
        if (strcmp(f->pools[p].name, pool) != 0)
            continue;
        for (size_t b = 0; b < f->pools[p].n_backends; b++) {
            if (strcmp(f->pools[p].backends[b].backend, be) == 0) {
                lb_overrides_set(c->overrides, fe, pool, be, weight);
                log_info("weight-set", LOG_STR("frontend", fe), LOG_STR("pool", pool),
                         LOG_STR("backend", be), LOG_UINT("weight", weight));
                refresh_frontends(c, be);
                for (struct core_observer *o = c->observers; o; o = o->next)
                    if (o->weight)
                        o->weight(o->ctx, f);
                return 0;
            }
        }
        snprintf(err, errlen, "backend \"%s\" not found in pool \"%s\" of frontend \"%s\"", be,
                 pool, fe);
        return -ENOENT;
    }
    snprintf(err, errlen, "pool \"%s\" not found in frontend \"%s\"", pool, fe);
    return -ENOENT;
}

static void static_weights(void *ctx, size_t i, struct lb_weight *out)
{
    const struct core *c = ctx;
    const struct frontend_conf *fe = &c->cfg->frontends[i];
    size_t n = lb_slots(fe);
    int16_t *ov = calloc(n ? n : 1, sizeof(*ov));
    if (!ov)
        abort();
    lb_overrides_fill(c->overrides, fe, ov);
    lb_static_weights(fe, ov, out);
    free(ov);
}

int core_lb_desired(void *core, struct lb_state *out)
{
    struct core *c = core;
    return lb_desired_build(c->cfg, static_weights, c, out);
}
