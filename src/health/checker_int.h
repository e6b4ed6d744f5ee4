/* checker_int.h: the engine's shared insides (checker.c, watch.c). Not a
 * door: nothing outside src/health includes it. */
#ifndef MAGLEV_HEALTH_CHECKER_INT_H
#define MAGLEV_HEALTH_CHECKER_INT_H

#include "health/health.h"
#include "health/probe_int.h"

/* Shared, reference-counted healthcheck settings with the effective netns
 * resolved; a probe in flight holds a reference, so a reload never frees
 * settings under it. */
struct hc_rt {
    int refs;
    struct healthcheck_conf conf;
    struct hc_rt *next, *prev;
};

/* The watchdog (watch.c): counts kept up to date by the workers' events,
 * probe-start lateness in one-second slots, a tick every second that
 * decides and logs. */
struct watch_slot {
    uint64_t started, late;
};
struct checker_watchdog {
    ev_timer tick;
    unsigned n_stale, n_errors; /* backends with b->stale, b->probe_error */
    struct watch_slot slots[CHECKER_WATCH_WINDOW];
    unsigned slot;          /* the current (partial) second */
    int64_t since_us;       /* wall clock: degraded since (0 = ok), as of the last tick */
    int64_t logged_mono_us; /* the last checker-degraded line (0 = none) */
    uint64_t events;        /* backends turned stale or erroring since that line */
    /* the latest backend that turned stale or erroring, for the log */
    char backend[64];
    enum probe_code code;
    char detail[PROBE_DETAIL_MAX];
};

struct checker {
    struct ev_loop *loop;
    struct probe_env *env;
    struct backend_rt **v; /* sorted by name */
    size_t n;
    struct hc_rt *hcs;
    struct hc_rt **hc_memo; /* during a reload: by config healthcheck index */
    size_t n_hc_memo;
    uint32_t history;
    checker_hook_fn hook;
    void *hook_ctx;
    struct checker_stats stats;
    struct checker_watchdog wd;
};

/* checker.c: publishes a transition of the published state (b->sm, already
 * stepped from `from`): history, counters, the backend-transition line,
 * the worker stopped when not probing, the hook. */
void checker_publish(struct backend_rt *b, enum backend_state from, enum probe_code code,
                     const char *detail, const char *reason);

/* checker_damping.c: flap damping around the transition function */
void checker_damping_init(struct backend_rt *b);
void checker_damping_free(struct backend_rt *b);
/* A probe event: steps the probes' machine (psm), counts a flap, derives
 * the published state (held down while suppressed). Returns like
 * health_sm_step for the published state; *reason is set when damping
 * decided the transition. */
int checker_damping_step(struct backend_rt *b, enum health_event ev, enum backend_state *from,
                         const char **reason);
/* A reload: the backend's healthcheck damping is now d (NULL: none).
 * Unchanged keeps the penalty; off releases at once; changed values keep
 * the penalty under the new rules. */
void checker_damping_reconf(struct backend_rt *b, const struct damping_conf *d);
/* Penalty 0 and the suppression ended now (operator, or damping turned
 * off); publishes the probes' state when it differs. */
void checker_damping_release(struct backend_rt *b, const char *reason, const char *detail);

/* watch.c */
void watch_init(struct checker *ck);
void watch_free(struct checker *ck);
void watch_backend_init(struct backend_rt *b);
/* A worker starts probing (the stale clock starts now) / stops. */
void watch_backend_start(struct backend_rt *b);
void watch_backend_stop(struct backend_rt *b);
/* A probe result of a probing backend: a local error marks the backend
 * (and the checker) as failing to probe; any other result is fresh. */
void watch_backend_result(struct backend_rt *b, const struct probe_result *r);
/* A probe starts late_s after its planned start; interval_ns is its
 * backend's interval now. */
void watch_probe_started(struct checker *ck, double late_s, int64_t interval_ns);

#endif
