/* core.c: the daemon's state on the loop thread — lifecycle, the backend
 * -> frontends index, transitions, reload and operator actions (see
 * core.h). */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/mem.h"
#include "core/core_int.h"

/* ---- the index: backend -> frontends, built once per config ---- */

/* One pass over every (frontend, backend) use, each pair once: counts
 * them (fill NULL) or places them. */
static void index_pass(struct core_index *ix, const struct maglev_config *cfg, size_t *fill)
{
    size_t nb = cfg->n_backends;
    size_t *last = mem_calloc(nb, sizeof(*last)); /* frontend + 1 last seen */
    for (size_t f = 0; f < cfg->n_frontends; f++) {
        const struct frontend_conf *fe = &cfg->frontends[f];
        for (size_t p = 0; p < fe->n_pools; p++)
            for (size_t b = 0; b < fe->pools[p].n_backends; b++) {
                int bi = fe->pools[p].backends[b].backend_index;
                if (bi < 0 || (size_t)bi >= nb || last[bi] == f + 1)
                    continue;
                last[bi] = f + 1;
                if (fill)
                    ix->fe[ix->start[bi] + fill[bi]++] = (uint32_t)f;
                else
                    ix->start[bi + 1]++;
            }
    }
    free(last);
}

static void index_build(struct core_index *ix, const struct maglev_config *cfg)
{
    size_t nb = cfg->n_backends;
    ix->start = mem_calloc(nb + 1, sizeof(*ix->start));
    index_pass(ix, cfg, NULL);
    for (size_t b = 0; b < nb; b++)
        ix->start[b + 1] += ix->start[b];
    ix->fe = mem_calloc(ix->start[nb], sizeof(*ix->fe));
    size_t *fill = mem_calloc(nb, sizeof(*fill));
    index_pass(ix, cfg, fill);
    free(fill);
}

static void index_free(struct core_index *ix)
{
    free(ix->start);
    free(ix->fe);
    memset(ix, 0, sizeof(*ix));
}

/* ---- frontends ---- */

static void log_frontend(const struct frontend_conf *fe, const struct lb_frontend_result *from,
                         const struct lb_frontend_result *to)
{
    log_info("frontend-state", LOG_STR("frontend", fe->name),
             LOG_STR("from", lb_fe_state_name(from->state)),
             LOG_STR("to", lb_fe_state_name(to->state)),
             LOG_STR("active-pool", to->active_pool >= 0 ? fe->pools[to->active_pool].name : ""),
             LOG_STR("from-active-pool",
                     from->active_pool >= 0 && (size_t)from->active_pool < fe->n_pools
                         ? fe->pools[from->active_pool].name
                         : ""));
}

/* frontend-panic / frontend-panic-end, with the share that decided it */
static void log_panic(const struct core *c, const struct frontend_conf *fe, bool panic)
{
    struct lb_share s = lb_frontend_share(fe, c->guard.view);
    int pool = panic ? lb_panic_pool(fe, c->guard.view) : -1;
    LOG_AT(panic ? LOG_LEVEL_WARN : LOG_LEVEL_INFO, panic ? "frontend-panic" : "frontend-panic-end",
           LOG_STR("frontend", fe->name), LOG_UINT("threshold-pct", fe->panic_threshold),
           LOG_UINT("up", s.up), LOG_UINT("counted", s.counted),
           LOG_STR("pool", pool >= 0 ? fe->pools[pool].name : ""),
           LOG_STR("action", panic ? "failing open: the pool's backends get their weights as if up"
                                   : "weights follow health again"));
}

static void notify_frontend(struct core *c, size_t i, const struct lb_frontend_result *old)
{
    const struct frontend_conf *fe = &c->cfg->frontends[i];
    const struct lb_frontend_result *r = &c->fe[i].res;
    if (r->panic != old->panic)
        log_panic(c, fe, r->panic);
    if (r->state != old->state || r->active_pool != old->active_pool)
        log_frontend(fe, old, r);
    for (struct core_observer *o = c->observers; o; o = o->next)
        if (o->frontend)
            o->frontend(o->ctx, fe, old->state, r->state, r->active_pool, r->panic);
}

static bool all_known(const struct core *c, const struct frontend_conf *fe)
{
    for (size_t p = 0; p < fe->n_pools; p++)
        for (size_t b = 0; b < fe->pools[p].n_backends; b++) {
            int bi = fe->pools[p].backends[b].backend_index;
            if (bi >= 0 && c->states[bi] == BS_UNKNOWN)
                return false;
        }
    return true;
}

static bool weights_equal(const struct lb_weight *a, const struct lb_weight *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].weight != b[i].weight || a[i].flush != b[i].flush)
            return false;
    return true;
}

/* Recomputes frontend i; tells observers and (trigger not NULL) VPP what
 * changed. */
static void refresh_frontend(struct core *c, size_t i, const char *trigger, int64_t cause_us)
{
    struct core_fe *f = &c->fe[i];
    const struct frontend_conf *fe = &c->cfg->frontends[i];
    struct lb_frontend_result old = f->res;
    struct lb_ramps rb;
    struct lb_frontend_result r =
        lb_compute_ramp(fe, c->guard.view, f->ov, old.panic, core_ss_ramps(c, i, &rb), c->scratch);
    bool changed = !weights_equal(c->scratch, f->w, f->n_slots);
    if (changed)
        memcpy(f->w, c->scratch, f->n_slots * sizeof(*f->w));
    bool released = !f->released && all_known(c, fe);
    if (released)
        f->released = true;
    f->res = r;
    if ((changed || released) && trigger)
        core_vpp_changed(c, i, released && core_vpp_warming(c) ? "warmup" : trigger, cause_us);
    if (r.state != old.state || r.active_pool != old.active_pool || r.panic != old.panic)
        notify_frontend(c, i, &old);
}

static void fe_free(struct core *c)
{
    for (size_t i = 0; c->fe && i < c->cfg->n_frontends; i++) {
        free(c->fe[i].order); /* with w and ov */
        free(c->fe[i].ss_exempt);
    }
    free(c->fe);
    c->fe = NULL;
}

/* The states, index and frontends of c->cfg, from the checker; frontends
 * take their last result and release from `old` (by name) when given. */
static void build_runtime(struct core *c, const struct maglev_config *old_cfg,
                          const struct core_fe *old_fe)
{
    const struct maglev_config *cfg = c->cfg;
    free(c->states);
    c->states = mem_calloc(cfg->n_backends, sizeof(*c->states));
    for (size_t i = 0; i < checker_count(c->checker); i++) {
        const struct backend_rt *b = checker_at(c->checker, i);
        if (b->cfg_index >= 0 && (size_t)b->cfg_index < cfg->n_backends)
            c->states[b->cfg_index] = b->sm.state;
    }
    core_guard_build(c, old_cfg);
    index_free(&c->idx);
    index_build(&c->idx, cfg);
    size_t max = 1;
    c->fe = mem_calloc(cfg->n_frontends, sizeof(*c->fe));
    for (size_t i = 0; i < cfg->n_frontends; i++) {
        const struct frontend_conf *fe = &cfg->frontends[i];
        struct core_fe *f = &c->fe[i];
        f->n_slots = lb_slots(fe);
        max = f->n_slots > max ? f->n_slots : max;
        /* one allocation per frontend (order, then w, then ov: alignment
         * decreasing), freed through order */
        size_t n = f->n_slots ? f->n_slots : 1;
        char *blk = mem_calloc(1, n * (sizeof(*f->order) + sizeof(*f->w) + sizeof(*f->ov)));
        f->order = (uint32_t *)(void *)blk;
        f->w = (struct lb_weight *)(void *)(blk + n * sizeof(*f->order));
        f->ov = (int16_t *)(void *)(blk + n * (sizeof(*f->order) + sizeof(*f->w)));
        f->n_order = lb_vip_order(cfg, i, f->order);
        lb_overrides_fill(c->overrides, fe, f->ov);
        f->res = (struct lb_frontend_result){ FE_UNKNOWN, -1, false };
        const struct frontend_conf *was = old_cfg ? config_find_frontend(old_cfg, fe->name) : NULL;
        if (was) {
            f->res = old_fe[was - old_cfg->frontends].res;
            f->released = old_fe[was - old_cfg->frontends].released;
            if (f->res.active_pool >= (int)fe->n_pools)
                f->res.active_pool = -1;
        }
    }
    free(c->scratch);
    c->scratch = mem_calloc(max, sizeof(*c->scratch));
    core_ss_build(c, old_cfg, old_fe);
}

/* Every frontend recomputed (start, reload: the full sync that follows
 * covers VPP, trigger NULL). */
static void refresh_all(struct core *c, const char *trigger)
{
    int64_t now = clock_mono_us();
    for (size_t i = 0; i < c->cfg->n_frontends; i++)
        refresh_frontend(c, i, trigger, now);
}

/* ---- transitions ---- */

static void on_transition(void *ctx, const struct backend_rt *b, const struct health_transition *t)
{
    struct core *c = ctx;
    int64_t now = clock_mono_us();
    for (struct core_observer *o = c->observers; o; o = o->next)
        if (o->backend)
            o->backend(o->ctx, b, t);
    if (c->reloading || !c->fe || t->to == BS_REMOVED || b->cfg_index < 0 ||
        (size_t)b->cfg_index >= c->cfg->n_backends)
        return;
    size_t bi = (size_t)b->cfg_index;
    c->states[bi] = t->to;
    core_ss_transition(c, bi, t, now);
    if (core_guard_transition(c, bi, t, now))
        core_refresh_backend(c, bi, c->cause, now);
    core_ss_settled(c, bi, t);
}

void core_refresh_backend(struct core *c, size_t bi, const char *trigger, int64_t cause_us)
{
    for (size_t k = c->idx.start[bi]; k < c->idx.start[bi + 1]; k++)
        refresh_frontend(c, c->idx.fe[k], trigger, cause_us);
}

/* ---- lifecycle ---- */

static void on_reload_done(struct ev_loop *loop, ev_async *w, int revents);
static void job_join(struct core_reload_job *j);
static void waiters_free(struct core_reload_waiter *w);
static void reap_join(struct core *c);

struct core *core_new(struct ev_loop *loop, const char *config_path, struct maglev_config *cfg)
{
    struct core *c = mem_calloc(1, sizeof(*c));
    c->config_path = mem_strdup(config_path);
    c->loop = loop;
    c->cfg = cfg;
    config_hash_hex(cfg, c->config_hash);
    c->start_us = clock_wall_us();
    c->reloads.last_success_us = c->start_us; /* the config loaded at start */
    c->cause = "health";
    c->overrides = lb_overrides_new();
    c->checker = checker_new(loop, cfg);
    build_runtime(c, NULL, NULL);
    checker_set_hook(c->checker, on_transition, c);
    ev_async_init(&c->reload_async, on_reload_done);
    c->reload_async.data = c;
    refresh_all(c, NULL);
    return c;
}

void core_free(struct core *c)
{
    if (!c)
        return;
    if (c->job) { /* a reload being read: wait for the worker, drop what it read */
        job_join(c->job);
        ev_async_stop(c->loop, &c->reload_async);
        config_free(c->job->cfg);
        config_diags_free(&c->job->d);
        free(c->job);
    }
    waiters_free(c->waiting);
    waiters_free(c->queued);
    reap_join(c);
    core_vpp_stop(c);
    checker_set_hook(c->checker, NULL, NULL);
    checker_free(c->checker);
    lb_overrides_free(c->overrides);
    core_ss_free(c);
    fe_free(c);
    core_guard_free(c);
    free(c->states);
    free(c->scratch);
    index_free(&c->idx);
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

/* ---- config ---- */

int core_check(struct core *c, struct maglev_config **out, struct config_diags *d)
{
    return config_load_file(c->config_path, out, d);
}

/* The old config and frontend runtime of a reload, freed off the loop
 * (nothing refers to them after the swap; a 50,000-frontend config takes
 * tens of ms to free), then malloc_trim. Joined before the next one and by
 * core_free. */
struct reap_job {
    struct maglev_config *cfg;
    struct core_fe *fe;
};

static void reap_now(struct reap_job *r)
{
    for (size_t i = 0; i < r->cfg->n_frontends; i++) {
        free(r->fe[i].order); /* with w and ov */
        free(r->fe[i].ss_exempt);
    }
    free(r->fe);
    config_free(r->cfg);
    free(r);
    malloc_trim(0);
}

static void *reap_worker(void *arg)
{
    reap_now(arg);
    return NULL;
}

static void reap_join(struct core *c)
{
    if (c->reaping) {
        pthread_join(c->reaper, NULL);
        c->reaping = false;
    }
}

static void reap(struct core *c, struct maglev_config *cfg, struct core_fe *fe)
{
    reap_join(c);
    struct reap_job *r = mem_calloc(1, sizeof(*r));
    r->cfg = cfg;
    r->fe = fe;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    c->reaping = pthread_create(&c->reaper, NULL, reap_worker, r) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!c->reaping)
        reap_now(r);
}

/* Swaps next in (rc 0) or logs why the file was refused (rc < 0, next
 * NULL); the config it replaces is freed off the loop (reap), a refused
 * one's memory given back to the system at once (a big config's
 * allocations would otherwise stay in the process). Every reload ends
 * here, on the loop. */
static int reload_apply(struct core *c, int rc, struct maglev_config *next, struct config_diags *d,
                        struct checker_reload_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (rc < 0) {
        for (size_t i = 0; i < d->n; i++) {
            char *line = config_diag_format(d, i);
            log_error("config-reload-error", LOG_STR("error", line));
            free(line);
        }
        log_warn("config-reload-failed", LOG_STR("path", c->config_path),
                 LOG_STR("action", "keeping the running config"));
        c->reloads.failure++;
        malloc_trim(0);
        return -EINVAL;
    }
    struct maglev_config *old = c->cfg;
    struct core_fe *old_fe = c->fe;
    c->reloads.success++;
    c->reloads.last_success_us = clock_wall_us();
    /* the checker's transitions are told to observers while the views are
     * still the old config's, consistently; the state is rebuilt below */
    c->reloading = true;
    checker_reload(c->checker, next, st);
    c->reloading = false;
    c->cfg = next;
    config_hash_hex(next, c->config_hash);
    size_t dropped = lb_overrides_prune(c->overrides, next);
    c->fe = NULL;
    build_runtime(c, old, old_fe);
    reap(c, old, old_fe);
    log_info("config-reloaded", LOG_STR("path", c->config_path),
             LOG_UINT("healthchecks", next->n_healthchecks), LOG_UINT("backends", next->n_backends),
             LOG_UINT("frontends", next->n_frontends), LOG_UINT("added", st->added),
             LOG_UINT("changed", st->changed), LOG_UINT("removed", st->removed),
             LOG_UINT("unchanged", st->unchanged), LOG_UINT("weight-overrides-dropped", dropped));
    core_vpp_reloaded(c); /* before the refresh: the VPP sync learns the new indexes */
    for (struct core_observer *o = c->observers; o; o = o->next)
        if (o->reloaded)
            o->reloaded(o->ctx);
    refresh_all(c, NULL);
    return 0;
}

int core_reload(struct core *c, struct config_diags *d, struct checker_reload_stats *st)
{
    log_info("config-reload-start", LOG_STR("path", c->config_path));
    struct maglev_config *next = NULL;
    int rc = config_load_file(c->config_path, &next, d);
    return reload_apply(c, rc, rc < 0 ? NULL : next, d, st);
}

/* ---- asynchronous reload ---- */

/* The worker: reads and checks the file into plain data, nothing else. */
static void *reload_worker(void *arg)
{
    struct core *c = arg;
    struct core_reload_job *j = c->job;
    j->rc = config_load_file(j->path, &j->cfg, &j->d);
    if (j->rc < 0)
        j->cfg = NULL;
    ev_async_send(c->loop, &c->reload_async);
    return NULL;
}

static void reload_launch(struct core *c)
{
    log_info("config-reload-start", LOG_STR("path", c->config_path));
    struct core_reload_job *j = mem_calloc(1, sizeof(*j));
    j->path = c->config_path;
    c->job = j;
    c->waiting = c->queued;
    c->queued = NULL;
    ev_async_start(c->loop, &c->reload_async);
    /* the worker takes no signals: the loop's signal watchers get them */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int e = pthread_create(&j->thread, NULL, reload_worker, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e) { /* no thread: read it here */
        log_warn("config-reload-thread", LOG_STR("error", strerror(e)),
                 LOG_STR("action", "reading the config on the loop"));
        j->thread = pthread_self();
        j->rc = config_load_file(j->path, &j->cfg, &j->d);
        if (j->rc < 0)
            j->cfg = NULL;
        ev_async_send(c->loop, &c->reload_async);
    }
}

static void waiters_free(struct core_reload_waiter *w)
{
    while (w) {
        struct core_reload_waiter *next = w->next;
        free(w);
        w = next;
    }
}

static void job_join(struct core_reload_job *j)
{
    if (!pthread_equal(j->thread, pthread_self()))
        pthread_join(j->thread, NULL);
}

static void on_reload_done(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)loop, (void)revents;
    struct core *c = w->data;
    struct core_reload_job *j = c->job;
    if (!j)
        return;
    job_join(j);
    c->job = NULL;
    ev_async_stop(c->loop, &c->reload_async);
    struct checker_reload_stats st;
    int rc = reload_apply(c, j->rc, j->cfg, &j->d, &st);
    /* the waiters may forget others or ask again while being told */
    while (c->waiting) {
        struct core_reload_waiter *wt = c->waiting;
        c->waiting = wt->next;
        if (wt->fn)
            wt->fn(wt->ctx, rc, &j->d, &st);
        free(wt);
    }
    config_diags_free(&j->d);
    free(j);
    if (c->queued && !c->job)
        reload_launch(c);
}

struct core_reload_waiter *core_reload_start(struct core *c, core_reload_fn fn, void *ctx)
{
    struct core_reload_waiter *w = mem_calloc(1, sizeof(*w));
    w->fn = fn;
    w->ctx = ctx;
    struct core_reload_waiter **pp = &c->queued;
    while (*pp)
        pp = &(*pp)->next;
    *pp = w;
    if (!c->job)
        reload_launch(c);
    return w;
}

void core_reload_forget(struct core *c, struct core_reload_waiter *w)
{
    struct core_reload_waiter **lists[] = { &c->waiting, &c->queued };
    for (size_t i = 0; i < 2; i++)
        for (struct core_reload_waiter **pp = lists[i]; *pp; pp = &(*pp)->next)
            if (*pp == w) {
                (*pp)->fn = NULL; /* kept in its list: the reload still runs */
                return;
            }
}

/* ---- operator actions ---- */

static int operator_act(struct core *c, int (*fn)(struct checker *, const char *),
                        const char *backend)
{
    c->cause = "operator";
    int rc = fn(c->checker, backend);
    c->cause = "health";
    return rc;
}

int core_pause(struct core *c, const char *backend)
{
    return operator_act(c, checker_pause, backend);
}

int core_resume(struct core *c, const char *backend)
{
    return operator_act(c, checker_resume, backend);
}

int core_enable(struct core *c, const char *backend)
{
    return operator_act(c, checker_enable, backend);
}

int core_disable(struct core *c, const char *backend)
{
    return operator_act(c, checker_disable, backend);
}

int core_damping_clear(struct core *c, const char *backend)
{
    return operator_act(c, checker_damping_clear, backend);
}

int core_set_weight(struct core *c, const char *fe, const char *pool, const char *be,
                    uint8_t weight, char *err, size_t errlen)
{
    const struct frontend_conf *f = config_find_frontend(c->cfg, fe);
    if (!f) {
        snprintf(err, errlen, "frontend \"%s\" not found", fe);
        return -ENOENT;
    }
    size_t fi = (size_t)(f - c->cfg->frontends);
    for (size_t p = 0; p < f->n_pools; p++) {
        if (strcmp(f->pools[p].name, pool) != 0)
            continue;
        for (size_t b = 0; b < f->pools[p].n_backends; b++) {
            if (strcmp(f->pools[p].backends[b].backend, be) != 0)
                continue;
            lb_overrides_set(c->overrides, fe, pool, be, weight);
            c->fe[fi].ov[lb_slot(f, p, b)] = weight;
            log_info("weight-set", LOG_STR("frontend", fe), LOG_STR("pool", pool),
                     LOG_STR("backend", be), LOG_UINT("weight", weight));
            refresh_frontend(c, fi, "weight", clock_mono_us());
            return 0;
        }
        snprintf(err, errlen, "backend \"%s\" not found in pool \"%s\" of frontend \"%s\"", be,
                 pool, fe);
        return -ENOENT;
    }
    snprintf(err, errlen, "pool \"%s\" not found in frontend \"%s\"", pool, fe);
    return -ENOENT;
}
