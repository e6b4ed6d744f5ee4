/* lb/disrupt: how much of VPP's new-flow table a change moves — the
 * buckets whose owner changes between the VIP's table before and after,
 * and the least any table could move for that change (lb_mg_disruption).
 * Pure; tables built exactly as VPP builds them (lb/maglev.h).
 *
 * A VIP's table is made of its active ASes with a weight (a repeated
 * address counts once, its first entry); no such AS (or no VIP): every
 * bucket is VPP's "no server". Both tables are measured at one length:
 * the VIP's flow_table_length after the change, else before it, else
 * LB_NEW_FLOWS_TABLE_LENGTH (a new VIP); a length VPP would not accept
 * counts as unknown. A recreated VIP (encap or stickiness changed) is
 * measured the same way: its table before, at its length after. */
#ifndef MAGLEV_LB_DISRUPT_H
#define MAGLEV_LB_DISRUPT_H

#include <stdbool.h>
#include <stddef.h>

#include "lb/maglev.h"
#include "lb/plan.h"

/* The length both tables are measured at (either may be NULL). */
uint32_t lb_disrupt_len(const struct lb_vip *before, const struct lb_vip *after);
/* Whether the two VIPs' tables are the same by construction (the same
 * weighted active ASes); either may be NULL. */
bool lb_disrupt_same(const struct lb_vip *before, const struct lb_vip *after);
/* What the change from before to after moves (either NULL = no VIP). */
void lb_disrupt_vip(const struct lb_vip *before, const struct lb_vip *after,
                    struct lb_mg_disruption *out);

struct lb_disruption {
    const char *frontend; /* the ops' (points into the plan's strings); NULL for a stale VIP */
    struct lb_vip_key vip;
    struct lb_mg_disruption d;
};

struct lb_disruptions {
    struct lb_disruption *v;
    size_t n, cap;
};

/* Per VIP a plan changes (its ops on one key, in plan order), what it
 * moves: the table of observed's VIP (sorted state; absent = none)
 * against the table after the plan's ops on that VIP that succeeded
 * (ok[i] for op i; NULL = every op), as lb_model_apply would leave it.
 * VIPs whose table stays the same (a flush only, nothing succeeded) are
 * left out. out is reset first. */
void lb_disrupt_plan(const struct lb_state *observed, const struct lb_plan *plan, const bool *ok,
                     struct lb_disruptions *out);
void lb_disruptions_free(struct lb_disruptions *d);

/* The moves as a share of the table, in percent (0 for an empty table). */
double lb_disrupt_pct(uint32_t buckets, uint32_t len);

#endif
