/* watch.c: the checker's watchdog (see health.h, checker_watch_get).
 *
 * Cost: nothing here visits all backends. A probe result costs O(1) (a
 * time stored, a flag or two). Each probing backend has one lazy timer set
 * for when it would turn stale; when it fires early (a result came
 * meanwhile) it is set again for the new deadline, so it costs one timer
 * heap operation per HEALTH_STALE_FACTOR intervals or so, less than the
 * worker's own probe timer. The tick every second reads two counters and
 * CHECKER_WATCH_WINDOW lateness slots. */
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "health/checker_int.h"

#define WATCH_LOG_EVERY_US (60 * 1000000LL) /* checker-degraded repeats at most so often */

/* ---- per backend ---- */

static void note_event(struct checker *ck, const struct backend_rt *b, enum probe_code code,
                       const char *detail)
{
    struct checker_watchdog *wd = &ck->wd;
    wd->events++;
    snprintf(wd->backend, sizeof(wd->backend), "%s", b->name);
    wd->code = code;
    snprintf(wd->detail, sizeof(wd->detail), "%s", detail);
}

static void watch_arm(struct backend_rt *b, int64_t now_us)
{
    int64_t due = b->fresh_us + health_stale_after(&b->hc->conf, &b->sm) / 1000;
    double in = due > now_us ? (double)(due - now_us) / 1e6 : 0.;
    ev_timer_stop(b->ck->loop, &b->watch);
    ev_timer_set(&b->watch, in + 0.001, 0.);
    ev_timer_start(b->ck->loop, &b->watch);
}

static void on_watch(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct backend_rt *b = w->data;
    if (!b->hc || !health_sm_probing(&b->sm) || b->stale)
        return;
    int64_t now = clock_mono_us();
    int64_t after = health_stale_after(&b->hc->conf, &b->sm) / 1000;
    if (now - b->fresh_us < after) {
        watch_arm(b, now); /* a fresh result came meanwhile */
        return;
    }
    b->stale = true;
    b->ck->wd.n_stale++;
    char detail[PROBE_DETAIL_MAX];
    snprintf(detail, sizeof(detail), "no valid probe result for %.1fs (interval %.1fs)",
             (double)(now - b->fresh_us) / 1e6, (double)after / HEALTH_STALE_FACTOR / 1e6);
    note_event(b->ck, b, b->last.code, detail);
    log_debug("backend-stale", LOG_STR("backend", b->name), LOG_STR("detail", detail),
              LOG_STR("state", health_state_name(b->sm.state)));
}

void watch_backend_init(struct backend_rt *b)
{
    ev_timer_init(&b->watch, on_watch, 0., 0.);
    b->watch.data = b;
}

void watch_backend_start(struct backend_rt *b)
{
    if (!b->hc)
        return;
    watch_backend_stop(b);
    b->fresh_us = clock_mono_us();
    watch_arm(b, b->fresh_us);
}

void watch_backend_stop(struct backend_rt *b)
{
    struct checker_watchdog *wd = &b->ck->wd;
    ev_timer_stop(b->ck->loop, &b->watch);
    if (b->stale)
        wd->n_stale--;
    if (b->probe_error)
        wd->n_errors--;
    b->stale = b->probe_error = false;
}

void watch_backend_result(struct backend_rt *b, const struct probe_result *r)
{
    struct checker_watchdog *wd = &b->ck->wd;
    if (probe_code_local(r->code)) {
        if (!b->probe_error) {
            b->probe_error = true;
            wd->n_errors++;
            note_event(b->ck, b, r->code, r->detail);
        }
        return;
    }
    if (b->probe_error) {
        b->probe_error = false;
        wd->n_errors--;
    }
    b->fresh_us = clock_mono_us();
    if (b->stale) {
        b->stale = false;
        wd->n_stale--;
        watch_arm(b, b->fresh_us);
    }
}

/* ---- lateness ---- */

void watch_probe_started(struct checker *ck, double late_s, int64_t interval_ns)
{
    struct watch_slot *s = &ck->wd.slots[ck->wd.slot];
    s->started++;
    if (late_s * 1e9 > (double)interval_ns)
        s->late++;
}

static void window(const struct checker_watchdog *wd, uint64_t *started, uint64_t *late)
{
    *started = *late = 0;
    for (unsigned i = 0; i < CHECKER_WATCH_WINDOW; i++) {
        *started += wd->slots[i].started;
        *late += wd->slots[i].late;
    }
}

void checker_watch_get(const struct checker *ck, struct checker_watch *out)
{
    const struct checker_watchdog *wd = &ck->wd;
    memset(out, 0, sizeof(*out));
    out->stale = wd->n_stale;
    out->probe_errors = wd->n_errors;
    window(wd, &out->window_started, &out->window_late);
    out->reasons =
        health_watch_reasons(out->stale, out->probe_errors, out->window_started, out->window_late);
    out->since_us = out->reasons ? wd->since_us : 0;
}

/* ---- the tick: decide and log ---- */

static const char *fix_for(unsigned reasons)
{
    if (reasons & HEALTH_WATCH_PROBE_ERRORS)
        return "probes cannot run (see detail: namespace, socket, bind); the affected backends "
               "keep their state and VPP its weights until they can";
    if (reasons & HEALTH_WATCH_STALE)
        return "probes are not completing on time: is maglevd starved of CPU or blocked?";
    return "probes start later than their interval: is maglevd starved of CPU?";
}

static void log_degraded(const struct checker_watchdog *wd, const struct checker_watch *w,
                         bool again)
{
    char why[96];
    health_watch_reasons_text(w->reasons, why, sizeof(why));
    log_error("checker-degraded", LOG_STR("reasons", why), LOG_UINT("stale", w->stale),
              LOG_UINT("probe-errors", w->probe_errors), LOG_UINT("late-starts", w->window_late),
              LOG_UINT("starts", w->window_started), LOG_BOOL("again", again),
              LOG_UINT("events", wd->events), LOG_STR("backend", wd->backend),
              LOG_STR("code", probe_code_name(wd->code)), LOG_STR("detail", wd->detail),
              LOG_STR("fix", fix_for(w->reasons)));
}

static void on_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    struct checker *ck = t->data;
    struct checker_watchdog *wd = &ck->wd;
    struct checker_watch w;
    checker_watch_get(ck, &w);
    int64_t now = clock_mono_us();
    bool may_log = !wd->logged_mono_us || now - wd->logged_mono_us >= WATCH_LOG_EVERY_US;
    bool began = w.reasons && !wd->since_us;
    if (began) {
        wd->since_us = clock_wall_us();
        wd->events++; /* late starts alone are an event too */
    }
    if (w.reasons && wd->events && may_log) {
        log_degraded(wd, &w, !began);
        wd->logged_mono_us = now;
        wd->events = 0;
    } else if (!w.reasons && wd->since_us) {
        log_info("checker-recovered",
                 LOG_DOUBLE("degraded-s", (double)(clock_wall_us() - wd->since_us) / 1e6));
        wd->since_us = 0;
        wd->events = 0;
    }
    wd->slot = (wd->slot + 1) % CHECKER_WATCH_WINDOW;
    wd->slots[wd->slot] = (struct watch_slot){ 0 };
}

void watch_init(struct checker *ck)
{
    ev_timer_init(&ck->wd.tick, on_tick, 1., 1.);
    ck->wd.tick.data = ck;
    ev_timer_start(ck->loop, &ck->wd.tick);
    ev_unref(ck->loop); /* the tick alone does not keep the loop running */
}

void watch_free(struct checker *ck)
{
    ev_ref(ck->loop);
    ev_timer_stop(ck->loop, &ck->wd.tick);
}
