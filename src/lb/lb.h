/* lb: pure dataplane decisions — which backend of a frontend gets which
 * weight — from config, health and operator state. No I/O.
 *
 * Per frontend:
 *   - the active pool is the first pool with a backend `up`;
 *   - up in the active pool -> its weight (configured, or the operator's
 *     run-time override); up in another pool -> 0;
 *   - down -> 0, flushed if the frontend has flush-on-down;
 *   - disabled -> 0, always flushed;
 *   - unknown, paused -> 0, not flushed (drain);
 *   - the frontend is `unknown` while every backend is still unknown, `up`
 *     when some backend has a non-zero weight, `down` otherwise;
 *   - panic (fail open, panic-threshold > 0; see lb_panic_next): the
 *     backends of the panic pool that are not disabled or paused get their
 *     weight as if up, unflushed; the panic pool is the active pool.
 * Pool backends are addressed by a flat index: pool by pool, in the order of
 * the config (backends sorted by name within a pool). */
#ifndef MAGLEV_LB_LB_H
#define MAGLEV_LB_LB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "health/state.h"

enum fe_state { FE_UNKNOWN, FE_UP, FE_DOWN };

struct lb_weight {
    uint8_t weight; /* effective, 0..100 */
    bool flush;
};

struct lb_frontend_result {
    enum fe_state state;
    int active_pool; /* -1 = none */
    bool panic;      /* the frontend is in panic (fail open) */
};

const char *lb_fe_state_name(enum fe_state s);

/* Number of pool backends of fe (the length of the flat arrays). */
size_t lb_slots(const struct frontend_conf *fe);
/* Flat index of pool p, backend b. */
size_t lb_slot(const struct frontend_conf *fe, size_t pool, size_t backend);

/* states[i]: state of cfg backend i (index as in pool_backend_conf
 * .backend_index). overrides: flat, -1 = none, else 0..100; may be NULL.
 * out: flat, lb_slots(fe) entries. */
struct lb_frontend_result lb_compute(const struct frontend_conf *fe,
                                     const enum backend_state *states, const int16_t *overrides,
                                     struct lb_weight *out);

/* The same, continuing a frontend whose last result had panic was_panic
 * (the hysteresis of lb_panic_next needs it). lb_compute is this with
 * was_panic false. */
struct lb_frontend_result lb_compute_panic(const struct frontend_conf *fe,
                                           const enum backend_state *states,
                                           const int16_t *overrides, bool was_panic,
                                           struct lb_weight *out);

/* ---- panic mode (fail open): the rules, pure ----
 *
 * A pool's share counts its backends in service whose health is known: up
 * over up + down (disabled and paused backends are out of service on
 * purpose, unknown ones are not known yet). The frontend's share is the
 * best pool's (pools with nothing counted are skipped); it is in panic
 * when even that pool is below the threshold, i.e. every pool is.
 *
 * Hysteresis: enter when share < threshold; leave when share >=
 * threshold + LB_PANIC_MARGIN percentage points (capped at 100), or when
 * no pool has a backend counted. A single backend flapping around the
 * threshold does not flap the frontend. */
#define LB_PANIC_MARGIN 10

struct lb_share {
    uint32_t up, counted; /* counted = up + down */
};
/* The best pool's share of frontend fe ({0, 0} when none counts). */
struct lb_share lb_frontend_share(const struct frontend_conf *fe, const enum backend_state *states);
/* Is the frontend in panic next, given whether it was, its threshold (%,
 * 0 = never) and its share? */
bool lb_panic_next(bool was, uint8_t threshold, struct lb_share share);
/* The pool panic serves: the first with a backend neither disabled nor
 * paused; -1 when none. */
int lb_panic_pool(const struct frontend_conf *fe, const enum backend_state *states);

/* ---- the mass-failure guard: the rules, pure (src/lb/guard.c) ----
 *
 * More than pct % of all backends going down (up -> down, by health)
 * within one window — and at least LB_MASS_FAILURE_MIN of them — looks
 * like a failing checker rather than failing backends: the core then
 * holds the weights. The hold ends when the backends still held down are
 * no longer a mass failure by the same rule (they recovered), or when the
 * operator releases it. */
#define LB_MASS_FAILURE_MIN 2

/* downs transitions (or held backends) out of total: a mass failure? pct
 * 0 = the guard is off. */
bool lb_mass_failure(uint32_t downs, uint32_t total, uint8_t pct);

/* A sliding window of down transitions: (time, backend) in time order; an
 * amortised O(1) push and expiry. */
struct lb_window_entry {
    int64_t t_us;
    uint32_t backend;
};
struct lb_window {
    struct lb_window_entry *v; /* a ring */
    size_t head, n, cap;
    int64_t span_us;
};
void lb_window_init(struct lb_window *w, int64_t span_us);
void lb_window_free(struct lb_window *w);
void lb_window_clear(struct lb_window *w);
/* Drops the entries older than now - span. */
void lb_window_expire(struct lb_window *w, int64_t now_us);
/* Expires, then adds; returns the count within the window. */
size_t lb_window_push(struct lb_window *w, int64_t now_us, uint32_t backend);
/* Entry k (0 = oldest) of n. */
const struct lb_window_entry *lb_window_at(const struct lb_window *w, size_t k);

/* ---- slow start: the ramp, pure (src/lb/slowstart.c) ----
 *
 * A backend that comes back into service (up from down, enabled, resumed)
 * with slow-start d ramps its weight w instead of taking it at once: every
 * step = max(LB_SLOW_START_STEP_MIN_US, d / LB_SLOW_START_STEPS) it gets
 * w x done / total (rounded), never less than the floor max(1,
 * LB_SLOW_START_FLOOR_PCT % of w) and never more than w; w from d on.
 * total = d / step whole steps (1..LB_SLOW_START_STEPS): step k < total
 * takes effect at k x step, the last at d, so steps are at least a step —
 * at least a second — apart. w == 0 stays 0. On a Maglev table a weight
 * change moves the lookup buckets of new flows only; flows VPP already
 * tracks (sticky) stay on their backend, so each step shifts a slice of
 * new connections, not existing ones. */
#define LB_SLOW_START_STEPS       10
#define LB_SLOW_START_STEP_MIN_US 1000000
#define LB_SLOW_START_FLOOR_PCT   5

/* A ramp's progress: total 0 = not ramping; done == total = over. */
struct lb_ramp {
    uint16_t done, total;
};
int64_t lb_slow_start_step_us(int64_t d_us);
uint16_t lb_slow_start_steps(int64_t d_us);
/* When step k (1..total) takes effect, from the ramp's start. */
int64_t lb_slow_start_at_us(uint16_t k, int64_t d_us);
/* The progress after e of d. */
struct lb_ramp lb_slow_start_ramp(int64_t e_us, int64_t d_us);
/* The weight of configured weight w at progress r. */
uint8_t lb_slow_start_weight(uint8_t w, struct lb_ramp r);
/* The same after e of d: the ramp as one pure function. */
uint8_t lb_slow_start_weight_at(uint8_t w, int64_t e_us, int64_t d_us);
/* The share of the full weight now, 0..100 (the weight of a w of 100). */
uint8_t lb_slow_start_pct(struct lb_ramp r);

/* What lb_compute_ramp sees: the ramps by config backend index (NULL =
 * none) and, per frontend, the backends whose ramp does not apply there
 * (the frontend had nothing serving when it began: nothing to protect). */
struct lb_ramps {
    const struct lb_ramp *by_backend;
    const uint32_t *exempt;
    size_t n_exempt;
};
/* Does a ramp limit backend_index's weight in this frontend? */
bool lb_ramp_applies(const struct lb_ramps *rs, int backend_index);
/* lb_compute_panic with ramps (may be NULL): a serving backend whose ramp
 * applies gets lb_slow_start_weight of its weight (override included),
 * except while the frontend is in panic (failing open: full weights). */
struct lb_frontend_result lb_compute_ramp(const struct frontend_conf *fe,
                                          const enum backend_state *states,
                                          const int16_t *overrides, bool was_panic,
                                          const struct lb_ramps *ramps, struct lb_weight *out);

/* Run-time weight overrides by names, kept across reloads while the
 * (frontend, pool, backend) still exists. */
struct lb_overrides;
struct lb_overrides *lb_overrides_new(void);
void lb_overrides_free(struct lb_overrides *o);
void lb_overrides_set(struct lb_overrides *o, const char *fe, const char *pool, const char *be,
                      uint8_t weight);
/* The override or -1. */
int lb_overrides_get(const struct lb_overrides *o, const char *fe, const char *pool,
                     const char *be);
/* Fills a flat array for fe (-1 where none). */
void lb_overrides_fill(const struct lb_overrides *o, const struct frontend_conf *fe, int16_t *flat);
/* Drops overrides whose frontend/pool/backend no longer exists in cfg. */
size_t lb_overrides_prune(struct lb_overrides *o, const struct maglev_config *cfg);

#endif
