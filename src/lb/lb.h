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
 *     when some backend has a non-zero weight, `down` otherwise.
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
