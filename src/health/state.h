/* state: the backend health state machine, transition history and probe
 * scheduling. Pure: no I/O, no clocks (times are passed in), no logging.
 *
 * Counter model (HAProxy's): one counter c in 0..rise+fall-1.
 *   pass: c = min(c + 1, max); a backend not up becomes up when c >= rise,
 *         and c jumps to max (fully up).
 *   fail: up:      c > rise ? c - 1 (still up) : down with c = 0;
 *         down:    c = max(c - 1, 0);
 *         unknown: straight to down, c = 0.
 * So a fully-up backend goes down after `fall` consecutive failures, a
 * fully-down one comes up after `rise` consecutive passes, and entering
 * unknown (start, resume, enable, config change) presets c = rise - 1: the
 * first pass brings it up, the first failure takes it down. */
#ifndef MAGLEV_HEALTH_STATE_H
#define MAGLEV_HEALTH_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "health/result.h"

enum backend_state { BS_UNKNOWN, BS_UP, BS_DOWN, BS_PAUSED, BS_DISABLED, BS_REMOVED, BS__COUNT };

enum health_event {
    HE_PASS,    /* a probe passed */
    HE_FAIL,    /* a probe failed */
    HE_STATIC,  /* no healthcheck: the backend is up, unprobed */
    HE_PAUSE,   /* operator: stop probing, keep the state's place */
    HE_RESUME,  /* operator: probe again from unknown */
    HE_DISABLE, /* operator or config: out of service */
    HE_ENABLE,  /* operator or config: back in service, from unknown */
    HE_RESTART, /* config changed: probe again from unknown */
    HE_REMOVE,  /* gone from the config */
};

struct health_sm {
    enum backend_state state;
    uint32_t counter;
    uint32_t rise, fall;
};

struct health_transition {
    int64_t time_us; /* wall clock, µs since the epoch */
    enum backend_state from, to;
    enum probe_code code;
    char detail[PROBE_DETAIL_MAX];
    /* why: "probe", "operator", "config", "damping-suppressed",
     * "damping-reuse", "damping-clear" (a static string) */
    const char *reason;
};

/* The last `cap` transitions, oldest first. */
struct health_history {
    struct health_transition *v;
    size_t cap, len, head; /* head: index of the oldest */
};

const char *health_state_name(enum backend_state s);
const char *health_event_name(enum health_event e);

/* Starts in unknown with the counter preset. rise, fall >= 1. */
void health_sm_init(struct health_sm *sm, uint32_t rise, uint32_t fall);
/* Applies an event. Returns 1 when the state changed (*from set), 0 when
 * it did not (a pass while up, a result while paused/disabled/removed,
 * pausing a paused backend...), -EPERM when the event is not allowed in
 * this state (pause/resume of a disabled backend; anything after removed;
 * resume of a backend that is not paused). */
int health_sm_step(struct health_sm *sm, enum health_event ev, enum backend_state *from);
/* Probing happens only in unknown, up and down. */
bool health_sm_probing(const struct health_sm *sm);

/* Interval for the next probe: fast-interval while unknown or between the
 * counter's extremes, down-interval while fully down, interval while fully
 * up. */
int64_t health_interval(const struct healthcheck_conf *hc, const struct health_sm *sm);
/* interval scaled by a uniform factor in [0.9, 1.1]. */
int64_t health_jitter(int64_t interval, uint64_t *rng);
/* First probe after start: uniform in [0, interval). */
int64_t health_first_delay(int64_t interval, uint64_t *rng);
uint64_t health_rng_next(uint64_t *rng);
uint64_t health_rng_seed(const char *name, uint64_t salt);

/* ---- the checker's watchdog rules ----
 *
 * A probing backend (unknown, up, down) is stale when its last valid probe
 * result — or, before the first, the start of its worker — is older than
 * health_stale_after: HEALTH_STALE_FACTOR x its interval, or x the interval
 * in effect now (down-interval while fully down) when that is longer. Its
 * probes are due every interval (+10% jitter) and end within a timeout of
 * at most the interval, so a healthy checker stays below 2.1 x. ns. */
#define HEALTH_STALE_FACTOR 3
int64_t health_stale_after(const struct healthcheck_conf *hc, const struct health_sm *sm);
/* The p99 of probe-start lateness (actual minus planned start) exceeds the
 * interval when more than 1% of the starts counted (`late` of `started`)
 * were later than their backend's interval. */
bool health_late_exceeds(uint64_t started, uint64_t late);
/* Why the checker is degraded (bits; 0 = ok). */
#define HEALTH_WATCH_STALE        1u /* some backend is stale */
#define HEALTH_WATCH_PROBE_ERRORS 2u /* some backend's last result was a local error */
#define HEALTH_WATCH_LATE         4u /* probe starts late (health_late_exceeds) */
unsigned health_watch_reasons(unsigned stale, unsigned probe_errors, uint64_t started,
                              uint64_t late);
/* "stale-backends,probe-errors,late-probes" (those set; "" for 0) into buf. */
const char *health_watch_reasons_text(unsigned reasons, char *buf, size_t len);

void health_history_init(struct health_history *h, size_t cap);
void health_history_push(struct health_history *h, const struct health_transition *t);
/* i = 0 is the oldest kept. */
const struct health_transition *health_history_at(const struct health_history *h, size_t i);
/* Keeps the newest min(len, cap) entries. */
void health_history_resize(struct health_history *h, size_t cap);
void health_history_free(struct health_history *h);

#endif
