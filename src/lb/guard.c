/* guard.c: the mass-failure guard's rules and its sliding window (pure;
 * see lb.h). */
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "lb/lb.h"

bool lb_mass_failure(uint32_t downs, uint32_t total, uint8_t pct)
{
    if (!pct || !total || downs < LB_MASS_FAILURE_MIN)
        return false;
    return (uint64_t)downs * 100 > (uint64_t)pct * total;
}

void lb_window_init(struct lb_window *w, int64_t span_us)
{
    memset(w, 0, sizeof(*w));
    w->span_us = span_us;
}

void lb_window_free(struct lb_window *w)
{
    if (!w)
        return;
    free(w->v);
    memset(w, 0, sizeof(*w));
}

void lb_window_clear(struct lb_window *w)
{
    w->head = w->n = 0;
}

const struct lb_window_entry *lb_window_at(const struct lb_window *w, size_t k)
{
    return &w->v[(w->head + k) % w->cap];
}

void lb_window_expire(struct lb_window *w, int64_t now_us)
{
    while (w->n && w->v[w->head].t_us < now_us - w->span_us) {
        w->head = (w->head + 1) % w->cap;
        w->n--;
    }
}

/* Doubles the ring, its entries moved to the front in order. */
static void grow(struct lb_window *w)
{
    size_t cap = w->cap ? 2 * w->cap : 16;
    struct lb_window_entry *v = mem_calloc(cap, sizeof(*v));
    for (size_t k = 0; k < w->n; k++)
        v[k] = *lb_window_at(w, k);
    free(w->v);
    w->v = v;
    w->cap = cap;
    w->head = 0;
}

size_t lb_window_push(struct lb_window *w, int64_t now_us, uint32_t backend)
{
    lb_window_expire(w, now_us);
    if (w->n == w->cap)
        grow(w);
    w->v[(w->head + w->n) % w->cap] = (struct lb_window_entry){ now_us, backend };
    return ++w->n;
}
