/* health: the health-checking engine, the door of src/health.
 *
 * One worker per backend (however many frontends use it) probes on the
 * libev loop; every result and every operator action goes through one
 * transition function that owns counters, transitions, history, logging
 * and the hook. Everything here runs on the loop thread. */
#ifndef MAGLEV_HEALTH_HEALTH_H
#define MAGLEV_HEALTH_HEALTH_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ipaddr.h"
#include "config/config.h"
#include "health/damping.h"
#include "health/result.h"
#include "health/state.h"

struct checker;
struct hc_rt;
struct probe;
struct probe_tls_cache;

/* One backend as the engine runs it. Read-only outside src/health. */
struct backend_rt {
    char *name;
    struct ip_addr address;
    int cfg_index;     /* index in the config last loaded, -1 once removed */
    struct hc_rt *hc;  /* NULL: no healthcheck, the backend is up unprobed */
    bool conf_enabled; /* `enabled` in the config last loaded */
    struct health_sm sm;
    struct health_history history;
    struct probe_result last; /* the last probe result (code PC_NONE before any) */
    int64_t last_probe_us;    /* wall clock of the last result, 0 = none */
    uint64_t probes, passes;
    /* metrics: every probe result by code, every transition by from/to
     * (counted by the one result function and the one transition function;
     * kept across reloads while the backend exists) */
    uint64_t probe_codes[PC__COUNT];
    uint64_t transitions[BS__COUNT][BS__COUNT];

    /* engine-private */
    struct checker *ck;
    struct probe *probe;         /* in flight */
    struct hc_rt *probe_hc;      /* the settings the probe in flight uses */
    struct probe_tls_cache *tls; /* https: the TLS session to resume (probe.h) */
    ev_timer timer;              /* next probe */
    ev_tstamp planned;           /* when the next probe should start */
    uint64_t rng;
    bool fresh, kept; /* reload bookkeeping */
    bool deferred;    /* the current probe start was put off (overload) */
    /* the watchdog (watch.c) */
    ev_timer watch;   /* fires when the backend would turn stale */
    int64_t fresh_us; /* monotonic: the last valid result, or the worker's start */
    bool stale;       /* no valid result for health_stale_after */
    bool probe_error; /* the last result was a local error (probe_code_local) */
    /* flap damping (checker_damping.c): sm above is what is published (the
     * state the core and VPP see), psm what the probes say; they differ
     * only while a suppression holds the backend down */
    struct health_sm psm;
    struct damping_conf damp_conf; /* its healthcheck's; on = false: off */
    struct damping_state damp;     /* monotonic µs */
    int64_t damp_since_us;         /* wall clock: the suppression's start, 0 = none */
    ev_timer damp_timer;           /* fires at the reuse time while suppressed */
};

/* The healthcheck a backend uses, with the effective netns resolved. */
const struct healthcheck_conf *checker_backend_healthcheck(const struct backend_rt *b);

/* Called after every state transition (including to `removed`, just before
 * the backend is dropped). */
typedef void (*checker_hook_fn)(void *ctx, const struct backend_rt *b,
                                const struct health_transition *t);

struct checker_reload_stats {
    unsigned added, changed, removed, unchanged;
};

/* Scheduling lateness (actual minus planned probe start), for benchmarks. */
#define CHECKER_LATENESS_BUCKETS 2000 /* 10 µs each: 0..20 ms, then overflow */
/* Probe durations by healthcheck type (metrics): counts per bucket, not
 * cumulative; bucket i holds durations <= checker_duration_bounds[i] (and
 * above the previous bound), the last one the rest. */
#define CHECKER_HC_TYPES         (HC_HTTPS + 1)
#define CHECKER_DURATION_BUCKETS 13
extern const double checker_duration_bounds[CHECKER_DURATION_BUCKETS]; /* seconds */
struct checker_stats {
    uint64_t probes_started;
    uint64_t lateness[CHECKER_LATENESS_BUCKETS + 1];
    uint64_t duration[CHECKER_HC_TYPES][CHECKER_DURATION_BUCKETS + 1];
    double duration_sum[CHECKER_HC_TYPES]; /* seconds */
};

/* The watchdog: is the checker itself healthy? Degraded while a probing
 * backend is stale (health_stale_after), while a probing backend's last
 * result was a local error (probe_code_local: the checker could not probe
 * it), or while more than 1% of the probe starts in the last
 * CHECKER_WATCH_WINDOW seconds were later than their interval (the p99 of
 * lateness exceeds the interval). Kept by the workers' own events (O(1)
 * per probe) and a tick every second that logs `checker-degraded` (ERROR,
 * at most once a minute while it lasts) and `checker-recovered`. */
#define CHECKER_WATCH_WINDOW 10 /* seconds */
struct checker_watch {
    unsigned reasons;                     /* HEALTH_WATCH_* (health/state.h); 0 = ok */
    unsigned stale;                       /* backends stale */
    unsigned probe_errors;                /* backends whose last result was a local error */
    uint64_t window_started, window_late; /* probe starts in the window, late ones */
    int64_t since_us; /* wall clock the tick saw it degrade (0: ok, or not yet) */
};
void checker_watch_get(const struct checker *ck, struct checker_watch *out);

struct checker *checker_new(struct ev_loop *loop, const struct maglev_config *cfg);
/* Cancels every probe and frees everything. */
void checker_free(struct checker *ck);
void checker_set_hook(struct checker *ck, checker_hook_fn fn, void *ctx);

/* Applies a new (validated) config: unchanged backends keep state and
 * keep probing, changed ones restart from unknown, removed ones go to
 * `removed` and are dropped, new ones start unknown. The checker keeps no
 * pointer into cfg. */
void checker_reload(struct checker *ck, const struct maglev_config *cfg,
                    struct checker_reload_stats *st);

/* Operator actions. 0, -ENOENT (no such backend), -EPERM (not allowed in
 * this state: pause/resume of a disabled backend). */
int checker_pause(struct checker *ck, const char *backend);
int checker_resume(struct checker *ck, const char *backend);
int checker_disable(struct checker *ck, const char *backend);
int checker_enable(struct checker *ck, const char *backend);

/* Flap damping: penalty 0 and the suppression ended at once (if the
 * probes say up the backend goes up). 0, -ENOENT (no such backend),
 * -EOPNOTSUPP (its healthcheck has no damping). */
int checker_damping_clear(struct checker *ck, const char *backend);
/* The penalty now, decayed (0 when damping is off); the time until reuse
 * (0 when not suppressed). */
double checker_damping_penalty(const struct backend_rt *b);
int64_t checker_damping_reuse_in_us(const struct backend_rt *b);

size_t checker_count(const struct checker *ck);
const struct backend_rt *checker_at(const struct checker *ck, size_t i); /* sorted by name */
const struct backend_rt *checker_find(const struct checker *ck, const char *name);
const struct checker_stats *checker_get_stats(const struct checker *ck);
/* Probes in flight (for tests and shutdown checks). */
unsigned long checker_probes_in_flight(const struct checker *ck);

#endif
