/* slowstart.c: the slow-start ramp (pure; see lb.h). */
#include "lb/lb.h"

int64_t lb_slow_start_step_us(int64_t d_us)
{
    int64_t step = d_us / LB_SLOW_START_STEPS;
    return step < LB_SLOW_START_STEP_MIN_US ? LB_SLOW_START_STEP_MIN_US : step;
}

uint16_t lb_slow_start_steps(int64_t d_us)
{
    if (d_us <= 0)
        return 0;
    /* whole steps only: the last one is at d itself, at least a step after
     * the one before (total x step <= d) */
    int64_t n = d_us / lb_slow_start_step_us(d_us);
    return (uint16_t)(n < 1 ? 1 : n > LB_SLOW_START_STEPS ? LB_SLOW_START_STEPS : n);
}

int64_t lb_slow_start_at_us(uint16_t k, int64_t d_us)
{
    uint16_t total = lb_slow_start_steps(d_us);
    if (k >= total)
        return d_us;
    return (int64_t)k * lb_slow_start_step_us(d_us);
}

struct lb_ramp lb_slow_start_ramp(int64_t e_us, int64_t d_us)
{
    struct lb_ramp r = { 0, lb_slow_start_steps(d_us) };
    if (!r.total || e_us < 0)
        return r;
    if (e_us >= d_us) {
        r.done = r.total;
        return r;
    }
    int64_t k = e_us / lb_slow_start_step_us(d_us);
    r.done = (uint16_t)(k >= r.total ? r.total - 1 : k); /* the last step waits for d */
    return r;
}

uint8_t lb_slow_start_weight(uint8_t w, struct lb_ramp r)
{
    if (!w || !r.total || r.done >= r.total)
        return w;
    /* w x done / total, rounded half up; the floor keeps the backend in
     * the table from the first moment (a weight of 0 would take it out) */
    unsigned v = (2u * w * r.done + r.total) / (2u * r.total);
    unsigned floor = (w * LB_SLOW_START_FLOOR_PCT + 50) / 100;
    floor = floor < 1 ? 1 : floor;
    v = v < floor ? floor : v;
    return (uint8_t)(v > w ? w : v);
}

uint8_t lb_slow_start_weight_at(uint8_t w, int64_t e_us, int64_t d_us)
{
    return lb_slow_start_weight(w, lb_slow_start_ramp(e_us, d_us));
}

uint8_t lb_slow_start_pct(struct lb_ramp r)
{
    return lb_slow_start_weight(100, r);
}

bool lb_ramp_applies(const struct lb_ramps *rs, int backend_index)
{
    if (!rs || !rs->by_backend || backend_index < 0)
        return false;
    const struct lb_ramp *r = &rs->by_backend[backend_index];
    if (!r->total || r->done >= r->total)
        return false;
    for (size_t i = 0; i < rs->n_exempt; i++)
        if (rs->exempt[i] == (uint32_t)backend_index)
            return false;
    return true;
}
