/* checker_damping.c: flap damping in the engine. The decisions are
 * damping.c's; here are the probes' own state machine beside the
 * published one, the reuse timer (one per suppressed backend, so a
 * transition costs the same however many backends there are), the log
 * lines and the reload and operator paths. */
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "health/checker_int.h"

static void on_reuse(struct ev_loop *loop, ev_timer *w, int revents);

void checker_damping_init(struct backend_rt *b)
{
    b->psm = b->sm;
    if (b->hc && b->hc->conf.damping.on)
        b->damp_conf = b->hc->conf.damping;
    b->damp.t_us = clock_mono_us();
    ev_timer_init(&b->damp_timer, on_reuse, 0., 0.);
    b->damp_timer.data = b;
}

void checker_damping_free(struct backend_rt *b)
{
    ev_timer_stop(b->ck->loop, &b->damp_timer);
}

double checker_damping_penalty(const struct backend_rt *b)
{
    if (!b->damp_conf.on)
        return 0;
    return damping_penalty_at(&b->damp_conf, &b->damp, clock_mono_us());
}

int64_t checker_damping_reuse_in_us(const struct backend_rt *b)
{
    if (!b->damp_conf.on)
        return 0;
    return damping_reuse_in_us(&b->damp_conf, &b->damp, clock_mono_us());
}

/* (Re)arms the reuse timer for the suppression going on. */
static void arm(struct backend_rt *b, int64_t now_us)
{
    struct ev_loop *loop = b->ck->loop;
    ev_timer_stop(loop, &b->damp_timer);
    if (!b->damp.suppressed)
        return;
    int64_t in_us = damping_reuse_in_us(&b->damp_conf, &b->damp, now_us);
    ev_timer_set(&b->damp_timer, (double)in_us / 1e6, 0.);
    ev_timer_start(loop, &b->damp_timer);
}

static void log_damping(const char *event, const struct backend_rt *b, int64_t now_us)
{
    log_info(event, LOG_STR("backend", b->name),
             LOG_DOUBLE("penalty", damping_penalty_at(&b->damp_conf, &b->damp, now_us)),
             LOG_UINT("suppress", b->damp_conf.suppress), LOG_UINT("reuse", b->damp_conf.reuse),
             LOG_INT("reuse-in-ms", damping_reuse_in_us(&b->damp_conf, &b->damp, now_us) / 1000),
             LOG_STR("probe-state", health_state_name(b->psm.state)),
             LOG_UINT("suppressions", b->damp.suppressions));
}

/* A down transition of the probes' machine. */
static void flap(struct backend_rt *b)
{
    int64_t now = clock_mono_us();
    if (damping_flap(&b->damp_conf, &b->damp, now)) {
        b->damp_since_us = clock_wall_us();
        log_damping("backend-damping-suppressed", b, now);
    }
    arm(b, now); /* a flap while suppressed puts the reuse off */
}

int checker_damping_step(struct backend_rt *b, enum health_event ev, enum backend_state *from,
                         const char **reason)
{
    enum backend_state pfrom, was = b->psm.state;
    int rc = health_sm_step(&b->psm, ev, &pfrom);
    if (rc < 0)
        return rc;
    if (rc == 1 && pfrom == BS_UP && b->psm.state == BS_DOWN && b->damp_conf.on)
        flap(b);
    *from = b->sm.state;
    if (!b->damp.suppressed) {
        bool changed = b->sm.state != b->psm.state;
        b->sm = b->psm;
        return changed;
    }
    /* suppressed: published as the probes say, except never up */
    enum backend_state target = b->psm.state == BS_UP ? BS_DOWN : b->psm.state;
    if (rc == 1 && was != BS_UP && b->psm.state == BS_UP)
        log_damping("backend-damping-held", b, clock_mono_us());
    if (target == b->sm.state) {
        if (b->psm.state != BS_UP)
            b->sm = b->psm; /* the counters, too */
        return 0;
    }
    b->sm = b->psm;
    b->sm.state = target;
    if (target == BS_DOWN)
        b->sm.counter = 0;
    *reason = "damping-suppressed";
    return 1;
}

/* The suppression has ended: the published state takes the probes'. */
static void publish_probe_state(struct backend_rt *b, const char *reason, const char *detail)
{
    enum backend_state from = b->sm.state;
    bool changed = from != b->psm.state;
    b->sm = b->psm;
    if (changed)
        checker_publish(b, from, b->last.code, detail, reason);
}

static void on_reuse(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct backend_rt *b = w->data;
    int64_t now = clock_mono_us();
    if (!damping_update(&b->damp_conf, &b->damp, now)) {
        arm(b, now); /* woken a hair early */
        return;
    }
    b->damp_since_us = 0;
    log_damping("backend-damping-reuse", b, now);
    char detail[PROBE_DETAIL_MAX];
    snprintf(detail, sizeof(detail), "penalty decayed to reuse %u; probes say %s",
             b->damp_conf.reuse, health_state_name(b->psm.state));
    publish_probe_state(b, "damping-reuse", detail);
}

void checker_damping_release(struct backend_rt *b, const char *reason, const char *detail)
{
    int64_t now = clock_mono_us();
    bool was = damping_clear(&b->damp, now);
    ev_timer_stop(b->ck->loop, &b->damp_timer);
    b->damp_since_us = 0;
    log_info("backend-damping-clear", LOG_STR("backend", b->name), LOG_STR("detail", detail),
             LOG_BOOL("was-suppressed", was),
             LOG_STR("probe-state", health_state_name(b->psm.state)));
    if (was)
        publish_probe_state(b, reason, detail);
}

void checker_damping_reconf(struct backend_rt *b, const struct damping_conf *d)
{
    bool on = d && d->on;
    if (!on) {
        if (b->damp_conf.on)
            checker_damping_release(b, "damping-clear", "damping turned off in config");
        b->damp_conf.on = false;
        return;
    }
    int64_t now = clock_mono_us();
    if (!b->damp_conf.on) {
        b->damp_conf = *d;
        damping_clear(&b->damp, now);
        return;
    }
    if (config_damping_equal(&b->damp_conf, d))
        return; /* the penalty and any suppression go on */
    /* new values: the penalty so far, under the new rules */
    b->damp_conf = *d;
    bool ended = damping_update(&b->damp_conf, &b->damp, now);
    double ceiling = damping_ceiling(&b->damp_conf);
    if (b->damp.penalty > ceiling)
        b->damp.penalty = ceiling;
    if (ended) {
        ev_timer_stop(b->ck->loop, &b->damp_timer);
        b->damp_since_us = 0;
        log_damping("backend-damping-reuse", b, now);
        publish_probe_state(b, "damping-reuse", "penalty below the new reuse after a reload");
        return;
    }
    arm(b, now);
}
