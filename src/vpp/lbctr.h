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
 * reads the map again. The owner is src/core/counters.c.
 *
 * Routes: the LB plugin installs one FIB entry (table 0) per VIP prefix;
 * VPP counts every packet that matches it in ip4/ip6-lookup in
 * /net/route/to (packets and bytes) at the entry's load-balance index, its
 * stats_index (ip_route_lookup). The VIPs of one prefix (per-port VIPs:
 * tcp:80 and tcp:443 of one address) share that one entry, so one route
 * here: lbctr_set_map builds one lbctr_route per distinct prefix, the owner
 * resolves each (lbctr_route_resolved) and reads them (lbctr_route_indexes,
 * vpp_stats_read_route, lbctr_update_routes). A stats_index can be reused
 * by another route after the entry is deleted: the owner resolves every
 * route again whenever it reads the map again. */
#ifndef MAGLEV_VPP_LBCTR_H
#define MAGLEV_VPP_LBCTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lb/plan.h"
#include "vpp/stats.h"

enum lbctr_route_state {
    LBCTR_ROUTE_PENDING,     /* not looked up yet */
    LBCTR_ROUTE_OK,          /* stats_index known */
    LBCTR_ROUTE_NONE,        /* VPP has no such route (ip_route_lookup: -6) */
    LBCTR_ROUTE_UNSUPPORTED, /* this VPP has no ip_route_lookup */
    LBCTR_ROUTE_FAILED,      /* the lookup failed (err) */
};

/* One VIP prefix's FIB entry and its /net/route/to counters. */
struct lbctr_route {
    struct ip_addr addr; /* host bits as the VIP has them */
    uint8_t plen;
    enum lbctr_route_state state;
    int retval, err;      /* FAILED: VPP's answer, or -errno of the client */
    uint32_t stats_index; /* OK: the index into /net/route/to */
    bool have;            /* read at least once at this stats_index */
    uint64_t packets, bytes;
    double packets_rate, bytes_rate; /* per second, valid when rates_known */
    bool rates_known;
    int64_t mono_us, wall_us; /* when read */
};

struct lbctr_vip {
    char *frontend; /* owned; "" = no configured frontend has this VIP */
    struct lb_vip_key key;
    uint32_t index;              /* VPP's VIP pool index (never 0) */
    size_t route;                /* its prefix's lbctr.route[] */
    bool have;                   /* read at least once */
    uint64_t c[VPP_STATS_LB_N];  /* the last reading */
    double rate[VPP_STATS_LB_N]; /* per second, valid when rates_known */
    bool rates_known;            /* two readings without a reset between */
    int64_t mono_us;             /* when read (monotonic: for the rates) */
    int64_t wall_us;             /* when read (wall clock: shown) */
};

/* VIPs by index, ascending; routes by prefix. Zero-initialise; free with
 * lbctr_free. */
struct lbctr {
    struct lbctr_vip *vip;
    size_t n;
    struct lbctr_route *route;
    size_t n_routes;
};

void lbctr_free(struct lbctr *t);

/* The rate of a counter that went from prev to cur in dt seconds: false
 * (rate unknown) when cur < prev (a reset) or dt <= 0. */
bool lbctr_rate(uint64_t prev, uint64_t cur, double dt, double *rate);

/* Replaces the map with the VIPs of observed that have a known index (!= 0).
 * A VIP with the same key and index as before keeps its reading (its rates
 * go on); any other starts afresh. The routes become the distinct prefixes
 * of those VIPs; a prefix that was there before keeps its route as it was
 * (state, stats_index, reading) until lbctr_route_resolved says otherwise.
 * 0 or -ENOMEM (t unchanged). */
int lbctr_set_map(struct lbctr *t, const struct lb_state *observed);

/* Applies a reading taken at mono_us/wall_us: each VIP's counters are
 * c->vip[index] (0 past c->n, or when !c->present). Returns how many VIPs
 * had a counter go backwards (a reset: rates unknown for them). */
size_t lbctr_update(struct lbctr *t, const struct vpp_lb_counters *c, int64_t mono_us,
                    int64_t wall_us);

/* The lookup of route i ended: state and, for LBCTR_ROUTE_OK, stats_index
 * (for LBCTR_ROUTE_FAILED, VPP's retval or the client's -errno err). A route whose stats_index
 * changed, or that is no longer OK, loses its reading (a new reading starts afresh). */
void lbctr_route_resolved(struct lbctr *t, size_t i, enum lbctr_route_state state,
                          uint32_t stats_index, int retval, int err);

/* The routes to read: out[k] = stats_index of the k-th OK route (out has
 * room for t->n_routes). Returns k. */
size_t lbctr_route_indexes(const struct lbctr *t, uint32_t *out);

/* Applies a reading of /net/route/to taken at mono_us/wall_us: packets[k],
 * bytes[k] for the k-th OK route, in lbctr_route_indexes' order. Returns how
 * many routes had a counter go backwards (a reset: rates unknown for them;
 * the stats_index may belong to another route now). */
size_t lbctr_update_routes(struct lbctr *t, const uint64_t *packets, const uint64_t *bytes,
                           int64_t mono_us, int64_t wall_us);

/* The route of VIP v. */
static inline const struct lbctr_route *lbctr_route_of(const struct lbctr *t,
                                                       const struct lbctr_vip *v)
{
    return v->route < t->n_routes ? &t->route[v->route] : NULL;
}

/* Why a route that is not OK has no counters, for people: "not resolved
 * yet", "VPP has no such route (table 0)", ... into buf. "" when OK. */
const char *lbctr_route_why(const struct lbctr_route *r, char *buf, size_t len);

/* The VIP of this key, or NULL. */
const struct lbctr_vip *lbctr_find(const struct lbctr *t, const struct lb_vip_key *key);

#endif
