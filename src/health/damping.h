/* damping: flap damping of a backend's health (RFC 2439's scheme, as BGP
 * routers damp routes). Pure: no I/O, no clocks (times are passed in, µs
 * of one monotonic clock), no logging.
 *
 * Each down transition (up -> down as the transition function decides it)
 * adds `penalty`; the penalty halves every half-life:
 *     p(t) = p(t0) x 2^(-(t - t0) / half-life)
 * and is capped at reuse x 2^(max-suppress / half-life), the value that
 * takes exactly max-suppress to decay to reuse: a suppression never lasts
 * longer than max-suppress after the last flap. A flap that lifts the
 * penalty above `suppress` starts a suppression; it ends when the penalty
 * has decayed to `reuse`. */
#ifndef MAGLEV_HEALTH_DAMPING_H
#define MAGLEV_HEALTH_DAMPING_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"

struct damping_state {
    double penalty; /* as of t_us */
    int64_t t_us;   /* when penalty was last brought up to date */
    bool suppressed;
    int64_t suppressed_since_us; /* 0 when not suppressed */
    uint64_t suppressions;       /* suppressions started, ever */
};

/* The cap of the penalty (+inf when max-suppress is enormous against the
 * half-life). */
double damping_ceiling(const struct damping_conf *d);
/* The penalty at now (>= st->t_us), decayed; st unchanged. */
double damping_penalty_at(const struct damping_conf *d, const struct damping_state *st,
                          int64_t now_us);
/* A down transition at now: decays, adds the penalty, caps it. Returns
 * true when this flap starts a suppression (false when one goes on or the
 * penalty stays at or below suppress). */
bool damping_flap(const struct damping_conf *d, struct damping_state *st, int64_t now_us);
/* Time from now until the suppression ends (the penalty decays to reuse),
 * rounded up to the µs; 0 when not suppressed or already due. */
int64_t damping_reuse_in_us(const struct damping_conf *d, const struct damping_state *st,
                            int64_t now_us);
/* Brings the penalty up to date and ends a suppression that is due.
 * Returns true when it ended one. */
bool damping_update(const struct damping_conf *d, struct damping_state *st, int64_t now_us);
/* Penalty 0, no suppression (the count of suppressions is kept). Returns
 * whether a suppression was going on. */
bool damping_clear(struct damping_state *st, int64_t now_us);

#endif
