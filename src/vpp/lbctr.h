/* vpp/lbctr: the LB plugin's per-VIP counters as maglevd keeps them —
 * PURE (no I/O, no clock): the map VIP index -> VIP (from an observed LB
 * state, i.e. the `show lb vips verbose` parse that vpp_sync_get_state
 * returns), the last reading of the four counters of each VIP (from
 * vpp_stats_read_lb) and the rates per second between the two last
 * readings.
 *
 * A counter that goes backwards is a reset (VPP restarted, or reused the
 * index of a deleted VIP, which zeroes its counters): that VIP's rates are
 * unknown for that reading, and lbctr_update says so, so that the owner
 * reads the map again. The owner is src/core/counters.c. */
#ifndef MAGLEV_VPP_LBCTR_H
#define MAGLEV_VPP_LBCTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lb/plan.h"
#include "vpp/stats.h"

struct lbctr_vip {
    char *frontend; /* owned; "" = no configured frontend has this VIP */
    struct lb_vip_key key;
    uint32_t index;              /* VPP's VIP pool index (never 0) */
    bool have;                   /* read at least once */
    uint64_t c[VPP_STATS_LB_N];  /* the last reading */
    double rate[VPP_STATS_LB_N]; /* per second, valid when rates_known */
    bool rates_known;            /* two readings without a reset between */
    int64_t mono_us;             /* when read (monotonic: for the rates) */
    int64_t wall_us;             /* when read (wall clock: shown) */
};

/* By index, ascending. Zero-initialise; free with lbctr_free. */
struct lbctr {
    struct lbctr_vip *vip;
    size_t n;
};

void lbctr_free(struct lbctr *t);

/* The rate of a counter that went from prev to cur in dt seconds: false
 * (rate unknown) when cur < prev (a reset) or dt <= 0. */
bool lbctr_rate(uint64_t prev, uint64_t cur, double dt, double *rate);

/* Replaces the map with the VIPs of observed that have a known index (!= 0).
 * A VIP with the same key and index as before keeps its reading (its rates
 * go on); any other starts afresh. 0 or -ENOMEM (t unchanged). */
int lbctr_set_map(struct lbctr *t, const struct lb_state *observed);

/* Applies a reading taken at mono_us/wall_us: each VIP's counters are
 * c->vip[index] (0 past c->n, or when !c->present). Returns how many VIPs
 * had a counter go backwards (a reset: rates unknown for them). */
size_t lbctr_update(struct lbctr *t, const struct vpp_lb_counters *c, int64_t mono_us,
                    int64_t wall_us);

/* The VIP of this key, or NULL. */
const struct lbctr_vip *lbctr_find(const struct lbctr *t, const struct lb_vip_key *key);

#endif
