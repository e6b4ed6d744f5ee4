/* checker.c: one worker per backend, the transition function, operator
 * actions and reload. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/duration.h"
#include "common/log.h"
#include "common/mem.h"
#include "health/checker_int.h"

const double checker_duration_bounds[CHECKER_DURATION_BUCKETS] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

const struct healthcheck_conf *checker_backend_healthcheck(const struct backend_rt *b)
{
    return b->hc ? &b->hc->conf : NULL;
}

/* ---- shared healthcheck settings ---- */

static struct hc_rt *hc_get(struct checker *ck, const struct healthcheck_conf *hc,
                            const char *global_netns)
{
    struct healthcheck_conf view = *hc;
    view.netns = hc->netns ? hc->netns : (char *)global_netns;
    for (struct hc_rt *h = ck->hcs; h; h = h->next) {
        if (config_healthcheck_equal(&h->conf, &view)) {
            h->refs++;
            return h;
        }
    }
    struct hc_rt *h = mem_calloc(1, sizeof(*h));
    config_healthcheck_copy(&h->conf, &view);
    h->refs = 1;
    h->next = ck->hcs;
    if (h->next)
        h->next->prev = h;
    ck->hcs = h;
    return h;
}

static void hc_put(struct checker *ck, struct hc_rt *h)
{
    if (!h || --h->refs > 0)
        return;
    if (h->prev)
        h->prev->next = h->next;
    else
        ck->hcs = h->next;
    if (h->next)
        h->next->prev = h->prev;
    config_healthcheck_clear(&h->conf);
    free(h);
}

/* ---- the transition function ---- */

static void stop_worker(struct backend_rt *b)
{
    ev_timer_stop(b->ck->loop, &b->timer);
    watch_backend_stop(b);
    b->deferred = false;
    if (b->probe) {
        probe_cancel(b->probe);
        b->probe = NULL;
        hc_put(b->ck, b->probe_hc);
        b->probe_hc = NULL;
    }
    /* a restarted worker (new settings, resumed, enabled) starts with a
     * full TLS handshake: no session outlives the settings it was made with */
    probe_tls_cache_free(b->tls);
    b->tls = NULL;
}

static void schedule(struct backend_rt *b, int64_t delay_ns)
{
    struct ev_loop *loop = b->ck->loop;
    double delay = delay_ns > 0 ? (double)delay_ns / 1e9 : 0.;
    ev_timer_stop(loop, &b->timer);
    b->planned = ev_now(loop) + delay;
    ev_timer_set(&b->timer, delay, 0.);
    ev_timer_start(loop, &b->timer);
}

void checker_publish(struct backend_rt *b, enum backend_state from, enum probe_code code,
                     const char *detail, const char *reason)
{
    struct health_transition t = {
        .time_us = clock_wall_us(),
        .from = from,
        .to = b->sm.state,
        .code = code,
        .reason = reason,
    };
    snprintf(t.detail, sizeof(t.detail), "%s", detail ? detail : "");
    health_history_push(&b->history, &t);
    b->transitions[from][t.to]++;
    log_info("backend-transition", LOG_STR("backend", b->name),
             LOG_STR("from", health_state_name(t.from)), LOG_STR("to", health_state_name(t.to)),
             LOG_STR("code", probe_code_name(code)), LOG_STR("detail", t.detail),
             LOG_STR("reason", reason));
    if (!health_sm_probing(&b->sm))
        stop_worker(b);
    if (b->ck->hook)
        b->ck->hook(b->ck->hook_ctx, b, &t);
}

/* THE transition function: every probe result and every operator or config
 * action passes here. Owns the counter (via the state machine), flap
 * damping (probe results step the probes' machine, which the published
 * one follows unless a suppression holds it down), the history, the
 * transition log line and the hook. Returns what health_sm_step returned
 * for the published state. */
static int backend_apply(struct backend_rt *b, enum health_event ev, enum probe_code code,
                         const char *detail, const char *reason)
{
    enum backend_state from;
    int rc;
    if (ev == HE_PASS || ev == HE_FAIL) {
        rc = checker_damping_step(b, ev, &from, &reason);
    } else {
        /* operator and config events act on both machines alike */
        rc = health_sm_step(&b->sm, ev, &from);
        if (rc >= 0)
            b->psm = b->sm;
    }
    if (rc != 1)
        return rc;
    checker_publish(b, from, code, detail, reason);
    return rc;
}

/* ---- probing ---- */

/* Metrics: a probe's duration, by the type of the settings it used. */
static void record_duration(struct checker *ck, enum hc_type type, int64_t us)
{
    if ((unsigned)type >= CHECKER_HC_TYPES)
        return;
    double s = us > 0 ? (double)us / 1e6 : 0.;
    size_t i = 0;
    while (i < CHECKER_DURATION_BUCKETS && s > checker_duration_bounds[i])
        i++;
    ck->stats.duration[type][i]++;
    ck->stats.duration_sum[type] += s;
}

static void on_probe_done(void *ctx, const struct probe_result *r)
{
    struct backend_rt *b = ctx;
    struct hc_rt *used = b->probe_hc;
    b->probe = NULL;
    b->probe_hc = NULL;
    b->last = *r;
    b->last_probe_us = clock_wall_us();
    b->probes++;
    bool passed = probe_code_passed(r->code);
    b->passes += passed;
    b->probe_codes[(unsigned)r->code < PC__COUNT ? r->code : PC_NONE]++;
    if (used)
        record_duration(b->ck, used->conf.type, r->duration_us);
    log_debug("probe-result", LOG_STR("backend", b->name),
              LOG_STR("code", probe_code_name(r->code)), LOG_STR("detail", r->detail),
              LOG_DOUBLE("duration-ms", (double)r->duration_us / 1e3),
              LOG_STR("state", health_state_name(b->sm.state)), LOG_UINT("counter", b->sm.counter));
    bool current = used == b->hc;
    hc_put(b->ck, used);
    if (!current || !health_sm_probing(&b->sm))
        return; /* settings changed meanwhile: the restart scheduled anew */
    watch_backend_result(b, r);
    /* a local error says nothing about the backend: its state stays (and
     * so do its weights in VPP); the watchdog reports the checker */
    if (!probe_code_local(r->code))
        backend_apply(b, passed ? HE_PASS : HE_FAIL, r->code, r->detail, "probe");
    if (!health_sm_probing(&b->sm))
        return;
    /* the probes' own machine sets their pace, also while held down */
    int64_t next = health_jitter(health_interval(&b->hc->conf, &b->psm), &b->rng);
    double at = b->planned + (double)next / 1e9;
    schedule(b, (int64_t)((at - ev_now(b->ck->loop)) * 1e9));
}

static void record_lateness(struct backend_rt *b, double late_s)
{
    struct checker *ck = b->ck;
    watch_probe_started(ck, late_s, health_interval(&b->hc->conf, &b->psm));
    long bucket = late_s <= 0 ? 0 : (long)(late_s * 1e5); /* 10 µs */
    if (bucket > CHECKER_LATENESS_BUCKETS)
        bucket = CHECKER_LATENESS_BUCKETS;
    ck->stats.lateness[bucket]++;
    ck->stats.probes_started++;
}

/* Overload guard. After a stall (the loop blocked, the machine busy) many
 * probes fall due at once; starting them all together would time many of
 * them out and feed the stall. So a probe more than STALL_LATE_S late is
 * spread uniformly over the next min(fast-interval, 1 s), and at most
 * MAX_IN_FLIGHT probes run at once (the rest retry within 10..50 ms). */
#define STALL_LATE_S  0.1
#define MAX_IN_FLIGHT 2048

static bool defer_if_overloaded(struct backend_rt *b)
{
    double late = ev_time() - b->planned;
    if (!b->deferred) {
        record_lateness(b, late);
        if (late > STALL_LATE_S) {
            int64_t span =
                b->hc->conf.fast_interval < DURATION_SEC ? b->hc->conf.fast_interval : DURATION_SEC;
            b->deferred = true;
            schedule(b, health_first_delay(span, &b->rng));
            return true;
        }
    }
    if (checker_probes_in_flight(b->ck) >= MAX_IN_FLIGHT) {
        b->deferred = true;
        schedule(b, 10 * DURATION_MS + health_first_delay(40 * DURATION_MS, &b->rng));
        return true;
    }
    b->deferred = false;
    return false;
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct backend_rt *b = w->data;
    if (!b->hc || !health_sm_probing(&b->sm) || b->probe)
        return;
    (void)loop;
    if (defer_if_overloaded(b))
        return;
    struct probe_req req = {
        .hc = &b->hc->conf,
        .addr = b->address,
        .netns = b->hc->conf.netns,
        .backend = b->name,
        .tls_cache = &b->tls,
    };
    b->probe_hc = b->hc;
    b->hc->refs++;
    b->probe = probe_start(b->ck->env, &req, on_probe_done, b);
}

/* Starts probing from unknown (or marks a backend without healthcheck up). */
static void start_worker(struct backend_rt *b, int64_t delay)
{
    if (!b->hc) {
        backend_apply(b, HE_STATIC, PC_NONE, "no healthcheck: up without probing", "config");
        return;
    }
    if (health_sm_probing(&b->sm)) {
        watch_backend_start(b);
        schedule(b, delay);
    }
}

/* ---- backends ---- */

static int cmp_rt(const void *a, const void *b)
{
    return strcmp((*(struct backend_rt *const *)a)->name, (*(struct backend_rt *const *)b)->name);
}

static struct backend_rt *find(const struct checker *ck, const char *name)
{
    struct backend_rt key = { .name = (char *)name }, *kp = &key;
    struct backend_rt **r = ck->n ? bsearch(&kp, ck->v, ck->n, sizeof(*ck->v), cmp_rt) : NULL;
    return r ? *r : NULL;
}

static struct hc_rt *hc_for(struct checker *ck, const struct maglev_config *cfg,
                            const struct backend_conf *bc)
{
    if (bc->hc_index < 0)
        return NULL;
    size_t i = (size_t)bc->hc_index;
    if (i >= ck->n_hc_memo) /* not in a reload */
        return hc_get(ck, &cfg->healthchecks[i], cfg->netns);
    /* in a reload, one search per config healthcheck, not per backend
     * (hc_get is linear in the distinct settings); a memo hit takes a
     * reference like hc_get does (the entry is held by a backend of the
     * new config until the reload is done) */
    if (ck->hc_memo[i]) {
        ck->hc_memo[i]->refs++;
        return ck->hc_memo[i];
    }
    return ck->hc_memo[i] = hc_get(ck, &cfg->healthchecks[i], cfg->netns);
}

static struct backend_rt *backend_new(struct checker *ck, const struct maglev_config *cfg,
                                      const struct backend_conf *bc)
{
    struct backend_rt *b = mem_calloc(1, sizeof(*b));
    b->name = mem_strdup(bc->name);
    health_history_init(&b->history, ck->history);
    b->ck = ck;
    b->address = bc->address;
    b->hc = hc_for(ck, cfg, bc);
    b->conf_enabled = bc->enabled;
    b->rng = health_rng_seed(bc->name, (uint64_t)clock_wall_us());
    health_sm_init(&b->sm, b->hc ? b->hc->conf.rise : 1, b->hc ? b->hc->conf.fall : 1);
    checker_damping_init(b);
    ev_timer_init(&b->timer, on_timer, 0., 0.);
    b->timer.data = b;
    watch_backend_init(b);
    return b;
}

static void backend_start(struct backend_rt *b)
{
    if (!b->conf_enabled) {
        backend_apply(b, HE_DISABLE, PC_DISABLED, "disabled in config", "config");
        return;
    }
    start_worker(b, b->hc ? health_first_delay(b->hc->conf.interval, &b->rng) : 0);
}

static void backend_free(struct backend_rt *b)
{
    stop_worker(b);
    checker_damping_free(b);
    hc_put(b->ck, b->hc);
    health_history_free(&b->history);
    free(b->name);
    free(b);
}

struct checker *checker_new(struct ev_loop *loop, const struct maglev_config *cfg)
{
    struct checker *ck = mem_calloc(1, sizeof(*ck));
    ck->loop = loop;
    ck->env = probe_env_new(loop);
    watch_init(ck);
    ck->history = cfg->transition_history;
    ck->v = mem_calloc(cfg->n_backends, sizeof(*ck->v));
    for (size_t i = 0; i < cfg->n_backends; i++) {
        ck->v[ck->n] = backend_new(ck, cfg, &cfg->backends[i]);
        ck->v[ck->n++]->cfg_index = (int)i;
    }
    for (size_t i = 0; i < ck->n; i++)
        backend_start(ck->v[i]);
    return ck;
}

void checker_free(struct checker *ck)
{
    if (!ck)
        return;
    for (size_t i = 0; i < ck->n; i++)
        backend_free(ck->v[i]);
    free(ck->v);
    watch_free(ck);
    probe_env_free(ck->env);
    free(ck);
}

void checker_set_hook(struct checker *ck, checker_hook_fn fn, void *ctx)
{
    ck->hook = fn;
    ck->hook_ctx = ctx;
}

/* ---- reload ---- */

/* The new settings differ from the old only in damping: probing goes on. */
static bool damping_only_change(const struct hc_rt *now, const struct hc_rt *was)
{
    if (!now || !was)
        return false;
    struct healthcheck_conf view = now->conf;
    view.damping = was->conf.damping;
    return config_healthcheck_equal(&view, &was->conf);
}

static void reload_existing(struct checker *ck, struct backend_rt *b,
                            const struct maglev_config *cfg, const struct backend_conf *bc,
                            struct checker_reload_stats *st)
{
    struct hc_rt *hc = hc_for(ck, cfg, bc);
    if (b->history.cap != ck->history)
        health_history_resize(&b->history, ck->history);
    if (hc == b->hc && ip_addr_equal(&b->address, &bc->address)) {
        hc_put(ck, hc); /* the reference hc_for took */
        st->unchanged++;
    } else if (ip_addr_equal(&b->address, &bc->address) && damping_only_change(hc, b->hc)) {
        /* the state stays; the worker moves to the new settings (a probe
         * in flight holds the old ones: cancelled, the next one soon) */
        st->changed++;
        stop_worker(b);
        hc_put(ck, b->hc);
        b->hc = hc;
        if (health_sm_probing(&b->sm))
            start_worker(b, health_first_delay(hc->conf.fast_interval, &b->rng));
    } else {
        st->changed++;
        stop_worker(b);
        hc_put(ck, b->hc);
        b->hc = hc;
        b->address = bc->address;
        b->sm.rise = b->psm.rise = hc ? hc->conf.rise : 1;
        b->sm.fall = b->psm.fall = hc ? hc->conf.fall : 1;
        backend_apply(b, HE_RESTART, PC_ENABLED, "config changed", "config");
        if (health_sm_probing(&b->sm))
            start_worker(b, hc ? health_first_delay(hc->conf.fast_interval, &b->rng) : 0);
    }
    checker_damping_reconf(b, hc ? &hc->conf.damping : NULL);
    if (bc->enabled != b->conf_enabled) { /* the config's change wins over the run-time flag */
        b->conf_enabled = bc->enabled;
        if (bc->enabled) {
            if (backend_apply(b, HE_ENABLE, PC_ENABLED, "enabled in config", "config") == 1)
                start_worker(b, 0);
        } else {
            backend_apply(b, HE_DISABLE, PC_DISABLED, "disabled in config", "config");
        }
    }
}

void checker_reload(struct checker *ck, const struct maglev_config *cfg,
                    struct checker_reload_stats *st)
{
    memset(st, 0, sizeof(*st));
    ck->history = cfg->transition_history;
    struct backend_rt **nv = mem_calloc(cfg->n_backends, sizeof(*nv));
    size_t nn = 0;
    for (size_t i = 0; i < ck->n; i++) {
        ck->v[i]->kept = false;
        ck->v[i]->cfg_index = -1;
    }
    for (size_t i = 0; i < cfg->n_backends; i++) {
        const struct backend_conf *bc = &cfg->backends[i];
        struct backend_rt *b = find(ck, bc->name);
        if (b)
            b->cfg_index = (int)i;
    }
    ck->hc_memo = mem_calloc(cfg->n_healthchecks + 1, sizeof(*ck->hc_memo));
    ck->n_hc_memo = cfg->n_healthchecks;
    for (size_t i = 0; i < cfg->n_backends; i++) {
        const struct backend_conf *bc = &cfg->backends[i];
        struct backend_rt *b = find(ck, bc->name);
        if (b) {
            reload_existing(ck, b, cfg, bc, st);
            b->kept = true;
        } else {
            b = backend_new(ck, cfg, bc);
            b->cfg_index = (int)i;
            b->fresh = true;
            st->added++;
        }
        nv[nn++] = b;
    }
    free(ck->hc_memo);
    ck->hc_memo = NULL;
    ck->n_hc_memo = 0;
    for (size_t i = 0; i < ck->n; i++) {
        struct backend_rt *b = ck->v[i];
        if (b->kept)
            continue;
        st->removed++;
        backend_apply(b, HE_REMOVE, PC_REMOVED, "removed from config", "config");
        backend_free(b);
    }
    free(ck->v);
    ck->v = nv;
    ck->n = nn;
    for (size_t i = 0; i < nn; i++) {
        if (nv[i]->fresh) {
            nv[i]->fresh = false;
            backend_start(nv[i]);
        }
    }
}

/* ---- operator actions ---- */

static int act(struct checker *ck, const char *name, enum health_event ev, enum probe_code code,
               const char *detail)
{
    struct backend_rt *b = find(ck, name);
    if (!b)
        return -ENOENT;
    int rc = backend_apply(b, ev, code, detail, "operator");
    if (rc < 0)
        return rc;
    if (rc == 1 && b->sm.state == BS_UNKNOWN)
        start_worker(b, 0); /* a fresh worker: probe at once */
    return 0;
}

int checker_damping_clear(struct checker *ck, const char *backend)
{
    struct backend_rt *b = find(ck, backend);
    if (!b)
        return -ENOENT;
    if (!b->damp_conf.on)
        return -EOPNOTSUPP;
    checker_damping_release(b, "damping-clear", "damping cleared by operator");
    return 0;
}

int checker_pause(struct checker *ck, const char *backend)
{
    return act(ck, backend, HE_PAUSE, PC_PAUSED, "paused by operator");
}

int checker_resume(struct checker *ck, const char *backend)
{
    return act(ck, backend, HE_RESUME, PC_ENABLED, "resumed by operator");
}

int checker_disable(struct checker *ck, const char *backend)
{
    return act(ck, backend, HE_DISABLE, PC_DISABLED, "disabled by operator");
}

int checker_enable(struct checker *ck, const char *backend)
{
    return act(ck, backend, HE_ENABLE, PC_ENABLED, "enabled by operator");
}

size_t checker_count(const struct checker *ck)
{
    return ck->n;
}

const struct backend_rt *checker_at(const struct checker *ck, size_t i)
{
    return i < ck->n ? ck->v[i] : NULL;
}

const struct backend_rt *checker_find(const struct checker *ck, const char *name)
{
    return find(ck, name);
}

const struct checker_stats *checker_get_stats(const struct checker *ck)
{
    return &ck->stats;
}

unsigned long checker_probes_in_flight(const struct checker *ck)
{
    return ck->env->live;
}
