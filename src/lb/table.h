/* lb/table: the new-flow table model (lb/maglev.h) of one VIP as a struct
 * lb_vip (lb/plan.h) describes it — desired (maglevd's effective weights)
 * or observed (VPP's dump). Its ASes that are active with a weight > 0
 * are in the table, each address once (the struct's ASes are unique by
 * address). Pure: no I/O; allocation as the project's policy (mem.h).
 *
 * Used when asked (GetFrontend, GetVPPLBState, a read of VPP's state),
 * never per health transition: the counts are the closed form
 * (lb_mg_counts), O(ASes log ASes); only the fingerprint builds the
 * table. */
#ifndef MAGLEV_LB_TABLE_H
#define MAGLEV_LB_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lb/maglev.h"
#include "lb/plan.h"

/* The length of v's table: its flow_table_length, LB_NEW_FLOWS_TABLE_LENGTH
 * when 0 (a desired VIP). */
uint32_t lb_table_len(const struct lb_vip *v);

/* Bucket counts per AS of v (counts[v->n_ases]; 0 for an AS not in the
 * table) in a table of len buckets; returns the buckets of no AS. len must
 * be a table length (lb_mg_len_ok); -1 (UINT32_MAX) and counts untouched
 * otherwise. */
uint32_t lb_table_counts(const struct lb_vip *v, uint32_t len, uint32_t *counts);

/* One AS's share: buckets, their share of the table and its weight's
 * share of the sum of the weights in the table, in % (0 when not in the
 * table). */
struct lb_table_share {
    uint32_t buckets;
    double bucket_pct, weight_pct;
};

/* The whole table: error_pp = lb_mg_share_error_pp; worst = the AS with
 * the largest |bucket_pct - weight_pct| (the first of equals), -1 when no
 * AS has a weight; sum_weights = W. */
struct lb_table_model {
    uint32_t len;
    uint64_t sum_weights;
    double error_pp;
    long worst;
};

/* shares[v->n_ases] and the summary. 0, or -EINVAL when len is not a
 * table length. */
int lb_table_shares(const struct lb_vip *v, uint32_t len, struct lb_table_share *shares,
                    struct lb_table_model *m);

/* Whether the table cannot represent the weights (error above
 * LB_MG_SHARE_TOLERANCE_PP). */
bool lb_table_off(const struct lb_table_model *m);

/* The operator's warning into buf (always NUL-terminated): "" when the
 * table represents the weights, else one sentence naming the worst AS
 * (name: the backend's name), its weight share and bucket share, and the
 * fix. n_ases: ASes in the table. Returns buf. */
const char *lb_table_warning(const struct lb_table_model *m, const struct lb_table_share *worst,
                             const char *name, size_t n_ases, char *buf, size_t len);

/* ASes in v's table (active with weight > 0). */
size_t lb_table_members(const struct lb_vip *v);

/* An observed VIP against the model of its own weights: the first AS
 * (index into v->ases) whose reported buckets differ from counts, -1 when
 * every AS matches. */
long lb_table_mismatch(const struct lb_vip *v, const uint32_t *counts);

/* lb_mg_fingerprint of the table built from v's ASes (len buckets; 0 when
 * len is not a table length). Builds the table: O(len + ASes). */
uint64_t lb_table_fingerprint(const struct lb_vip *v, uint32_t len);

#endif
