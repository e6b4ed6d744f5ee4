/* maglev.h: VPP's new-flow (Maglev) table, bucket for bucket, as the LB
 * plugin builds it (lb_vip_update_new_flow_table and lb_pseudorand_compare
 * in src/plugins/lb/lb.c, clib_xxhash in src/vppinfra/xxhash.h, VPP
 * b575ec2c56d; the facts are in ../shared/vpp/PROTOCOL.md 5.5, the code is
 * written from them). Pure: no I/O, no allocation but the caller's.
 *
 * The algorithm, for a table of len buckets (a power of two) and the ASes
 * of a VIP that are active with weight w > 0:
 *   1. one entry per (AS, replica r) for r < w;
 *   2. sorted by r, then by the AS's 16-byte ip46 form (memcmp; an IPv4
 *      address is 12 zero bytes and the address), so insertion order plays
 *      no role: two VPPs with the same ASes and weights build the same
 *      table;
 *   3. each entry's permutation: seed = clib_xxhash(lo64 ^ hi64 ^ r) of
 *      the ip46 form read as two little-endian u64; offset = seed >> 32,
 *      skip = (seed & 0xffffffff) | 1, both masked to the table;
 *   4. round-robin over the sorted entries, each claiming the next free
 *      bucket of its permutation, until every bucket is taken (so only the
 *      first len entries ever claim one).
 * No AS: every bucket goes to VPP's AS 0 ("no server": dropped), -1 here.
 * Each visit claims exactly one bucket, so the counts do not depend on the
 * hash: with W = sum of weights, k = len / W and R = len % W an AS gets
 * k x w plus its replicas among the first R entries (lb_mg_counts). */
#ifndef MAGLEV_LB_MAGLEV_H
#define MAGLEV_LB_MAGLEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ipaddr.h"

#define LB_MG_NONE    (-1) /* a bucket of VPP's AS 0: no server, dropped */
#define LB_MG_MAX_LEN (1u << 24)

/* An AS as the table sees it: weight 0 (or not active in VPP) = not in
 * the table. */
struct lb_mg_as {
    struct ip_addr addr;
    uint8_t weight;
};

/* VPP's ip46 form: IPv4 as 12 zero bytes and the 4 address bytes. */
void lb_mg_ip46(const struct ip_addr *a, uint8_t out[16]);
/* vppinfra's clib_xxhash of one u64 (XXH64 of the 8 bytes with seed
 * 0x9e3779b97f4a7c13). */
uint64_t lb_mg_xxhash(uint64_t key);
/* One entry's permutation in a table of len buckets. */
void lb_mg_permutation(const uint8_t ip46[16], uint32_t replica, uint32_t len, uint32_t *offset,
                       uint32_t *skip);

/* Whether len is a table length VPP accepts here: a power of two,
 * 1..LB_MG_MAX_LEN. */
bool lb_mg_len_ok(uint32_t len);

/* The table: table[b] = index in ases of bucket b's AS, LB_MG_NONE when
 * no AS has a weight. ases may be in any order (each address once).
 * scratch: lb_mg_scratch_size(ases, n, len) bytes, 8-aligned (the caller's,
 * so that this never allocates). 0, or -EINVAL when len is not a
 * table length. */
size_t lb_mg_scratch_size(const struct lb_mg_as *ases, size_t n, uint32_t len);
int lb_mg_table(const struct lb_mg_as *ases, size_t n, uint32_t len, int32_t *table, void *scratch);
/* The same with its own scratch (malloc; aborts when out of memory, as
 * the project's policy). */
int lb_mg_table_alloc(const struct lb_mg_as *ases, size_t n, uint32_t len, int32_t *table);

/* Bucket counts per AS (counts[n]) without building the table (the closed
 * form above); returns the buckets of no AS (len when no AS has a weight,
 * else 0). Equals counting lb_mg_table's result. */
uint32_t lb_mg_counts(const struct lb_mg_as *ases, size_t n, uint32_t len, uint32_t *counts);

/* A fingerprint of a table: a hash of every bucket's owner address (no
 * AS: all zero), in bucket order. Equal tables of equal length have equal
 * fingerprints whatever the order of ases. */
uint64_t lb_mg_fingerprint(const struct lb_mg_as *ases, const int32_t *table, uint32_t len);

/* What a change from table a to table b (same length) moves: buckets
 * whose owner (by address; no AS counts as an owner) differs, and the
 * least any table could move for that change: the buckets each owner
 * loses, sum over owners of max(0, count in a - count in b). */
struct lb_mg_disruption {
    uint32_t len, moved, minimum;
};
void lb_mg_disruption(const struct lb_mg_as *a, size_t na, const int32_t *ta,
                      const struct lb_mg_as *b, size_t nb, const int32_t *tb, uint32_t len,
                      struct lb_mg_disruption *out);

/* How far the table's shares are from the weights' shares: the largest
 * |buckets/len - w/W| over the ASes with a weight, in percentage points
 * (0 when no AS has a weight). Above LB_MG_SHARE_TOLERANCE_PP the table
 * cannot represent the weights (many ASes with small weights, or W > len). */
#define LB_MG_SHARE_TOLERANCE_PP 2.0
double lb_mg_share_error_pp(const struct lb_mg_as *ases, size_t n, const uint32_t *counts,
                            uint32_t len);

#endif
