/* damping.c: the pure flap-damping penalty (see damping.h). */
#include <math.h>

#include "health/damping.h"

/* The decay is computed in double; a penalty that reaches reuse within
 * this relative margin counts as reused, so a timer set for the computed
 * instant is never a hair too early. */
#define REUSE_EPS 1e-9

double damping_ceiling(const struct damping_conf *d)
{
    return (double)d->reuse * exp2((double)d->max_suppress / (double)d->half_life);
}

double damping_penalty_at(const struct damping_conf *d, const struct damping_state *st,
                          int64_t now_us)
{
    if (st->penalty <= 0)
        return 0;
    double dt_us = now_us > st->t_us ? (double)(now_us - st->t_us) : 0.;
    return st->penalty * exp2(-dt_us * 1e3 / (double)d->half_life);
}

static bool reused(const struct damping_conf *d, double p)
{
    return p <= (double)d->reuse * (1 + REUSE_EPS);
}

bool damping_update(const struct damping_conf *d, struct damping_state *st, int64_t now_us)
{
    st->penalty = damping_penalty_at(d, st, now_us);
    if (now_us > st->t_us)
        st->t_us = now_us;
    if (!st->suppressed || !reused(d, st->penalty))
        return false;
    st->suppressed = false;
    st->suppressed_since_us = 0;
    return true;
}

bool damping_flap(const struct damping_conf *d, struct damping_state *st, int64_t now_us)
{
    damping_update(d, st, now_us);
    double ceiling = damping_ceiling(d);
    st->penalty += (double)d->penalty;
    if (st->penalty > ceiling)
        st->penalty = ceiling;
    if (st->suppressed || st->penalty <= (double)d->suppress)
        return false;
    st->suppressed = true;
    st->suppressed_since_us = now_us;
    st->suppressions++;
    return true;
}

int64_t damping_reuse_in_us(const struct damping_conf *d, const struct damping_state *st,
                            int64_t now_us)
{
    if (!st->suppressed)
        return 0;
    double p = damping_penalty_at(d, st, now_us);
    if (reused(d, p))
        return 0;
    /* p x 2^(-t/h) = reuse  <=>  t = h x log2(p / reuse) */
    double t_us = (double)d->half_life / 1e3 * log2(p / (double)d->reuse);
    return (int64_t)ceil(t_us);
}

bool damping_clear(struct damping_state *st, int64_t now_us)
{
    bool was = st->suppressed;
    st->penalty = 0;
    st->t_us = now_us;
    st->suppressed = false;
    st->suppressed_since_us = 0;
    return was;
}
