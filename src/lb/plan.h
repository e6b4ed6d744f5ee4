/* lb/plan: the VPP LB plugin state maglevd wants, the state VPP has, and the
 * pure diff between them — an ordered list of operations. No I/O: src/vpp
 * reads the observed state and applies the plan.
 *
 * Desired state: one VIP per frontend (address/32 or /128, protocol, port),
 * encap GRE4 or GRE6 from the backends' address family (the VIP's own family
 * when it has no backend), src-ip-sticky from the config, every pool backend
 * installed as an AS with its weight.
 *
 * Plan rules (lb_plan):
 *   - full scope only: one LB_OP_CONF_SET first when desired->has_conf and
 *     the observed conf is unknown or differs;
 *   - full scope (frontend == NULL): stale VIPs (observed, no desired VIP with
 *     that key) are removed first, in key order: each active AS deleted with
 *     flush (numeric order), then LB_OP_VIP_DEL;
 *   - then desired VIPs in frontend-name order (only the named one in VIP
 *     scope; VIP scope never removes a VIP that is not its own):
 *       * absent in VPP: LB_OP_VIP_ADD, then LB_OP_AS_ADD for every AS;
 *       * present with another encap, or with a known stickiness (observed
 *         src_ip_sticky != LB_STICKY_UNKNOWN) that differs: recreate — the
 *         removal sequence above (reason "encap" or "src-ip-sticky"), then
 *         the add sequence;
 *       * present and compatible: reconcile ASes — first LB_OP_AS_ADD for
 *         desired ASes that are absent or only lingering (observed !active),
 *         then LB_OP_AS_WEIGHT where the active AS's weight differs — or
 *         where the desired AS is flushed at weight 0 and the observed one
 *         was not flushed yet (observed flush: what the model knows, see
 *         lb_model_apply; reason "flush") — then
 *         LB_OP_AS_DEL (flush) for active ASes that are not desired.
 *         Lingering ASes that are not desired are left alone.
 *   - within each group, ASes in numeric address order (IPv4 first:
 *     ip_addr_cmp), so two maglevd with one config build identical tables.
 * An LB_OP_AS_ADD carries the desired weight and flush flag; LB_OP_AS_WEIGHT
 * the new weight, with flush only when the desired AS has flush set and the
 * new weight is 0. */
#ifndef MAGLEV_LB_PLAN_H
#define MAGLEV_LB_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ipaddr.h"
#include "config/config.h"
#include "lb/lb.h"

/* VPP's lb_encap_type values; observed VIPs may carry any of them. */
enum lb_encap {
    LB_ENCAP_GRE4 = 0,
    LB_ENCAP_GRE6 = 1,
    LB_ENCAP_L3DSR = 2,
    LB_ENCAP_NAT4 = 3,
    LB_ENCAP_NAT6 = 4
};

#define LB_STICKY_UNKNOWN         (-1)  /* VPP's dumps do not report src_ip_sticky */
#define LB_NEW_FLOWS_TABLE_LENGTH 1024u /* sent on every VIP add; never 0 */
#define LB_PROTO_ANY              255

struct lb_vip_key {
    struct ip_addr addr;
    uint8_t plen;     /* 32 or 128 for what maglevd creates */
    uint8_t protocol; /* 6, 17, or 255 (all ports) */
    uint16_t port;    /* 0 = all ports */
};

struct lb_as {
    struct ip_addr addr;
    uint8_t weight;
    bool flush;       /* desired: flush flows when the weight goes to 0;
                         observed (model): a flush was sent at weight 0 */
    bool active;      /* observed: VPP flag 0x01 (false = removed, lingering) */
    uint32_t buckets; /* observed: new-flow table buckets */
};

struct lb_vip {
    char *name; /* desired: the frontend; observed: NULL */
    struct lb_vip_key key;
    uint32_t encap;             /* enum lb_encap */
    int src_ip_sticky;          /* 0, 1, or LB_STICKY_UNKNOWN */
    uint32_t flow_table_length; /* observed; desired: LB_NEW_FLOWS_TABLE_LENGTH */
    uint32_t index;             /* observed: VPP's internal VIP index, 0 = unknown */
    bool held;                  /* desired: warm-up holds it: no op plans it, and VPP's
                                   VIP with this key is adopted as it is (not stale) */
    struct lb_as *ases;         /* desired and observed: sorted by address */
    size_t n_ases;
};

struct lb_conf_state {
    struct ip_addr ip4_src, ip6_src;
    uint32_t sticky_buckets_per_core;
    uint32_t flow_timeout; /* seconds */
};

struct lb_state {
    bool has_conf;
    struct lb_conf_state conf;
    struct lb_vip *vips; /* desired: by frontend name; observed: by key */
    size_t n_vips;
};

enum lb_op_kind {
    LB_OP_CONF_SET,
    LB_OP_VIP_ADD,
    LB_OP_VIP_DEL,
    LB_OP_AS_ADD,
    LB_OP_AS_DEL,
    LB_OP_AS_WEIGHT,
};

struct lb_op {
    enum lb_op_kind kind;
    const char *frontend; /* desired VIP's name, NULL for stale VIPs and conf */
    struct lb_vip_key vip;
    uint32_t encap;            /* VIP_ADD */
    bool src_ip_sticky;        /* VIP_ADD */
    struct ip_addr as;         /* AS_* */
    uint8_t weight;            /* AS_ADD, AS_WEIGHT: new; AS_DEL: the observed one */
    uint8_t old_weight;        /* AS_WEIGHT */
    bool flush;                /* AS_* */
    const char *reason;        /* static text: "missing", "stale", "encap", "src-ip-sticky",
                                  "weight", "lingering", "not-configured", "conf" */
    struct lb_conf_state conf; /* CONF_SET */
};

struct lb_plan {
    struct lb_op *ops;
    size_t n_ops, cap;
    /* counts by kind, for logs and the API */
    size_t vip_add, vip_del, as_add, as_del, as_weight, conf_set;
};

/* The 3-way order on VIP keys: family, address, plen, protocol, port. */
int lb_vip_key_cmp(const struct lb_vip_key *a, const struct lb_vip_key *b);
/* "192.0.2.1/32 tcp:80", "2001:db8::1/128 any" into buf (>= 80 bytes). */
const char *lb_vip_key_format(const struct lb_vip_key *k, char *buf, size_t len);
const char *lb_op_kind_name(enum lb_op_kind k); /* "vip-add", "as-weight", "conf-set" ... */
const char *lb_encap_name(uint32_t encap);      /* "gre4", "gre6", "l3dsr", ..., "unknown" */

/* The VIP key of a frontend (address/32 or /128; protocol 6/17/255). */
struct lb_vip_key lb_frontend_vip_key(const struct frontend_conf *fe);

/* Desired state of the whole config. weights(ctx, i, out, &held) fills the
 * effective weights of frontend i (lb_slots entries, as lb_compute
 * computes them) and says whether its VIP is held (warm-up: planned as
 * "leave VPP's VIP as it is"); NULL = every backend up, no override, not
 * held. Returns 0. Free with lb_state_free. Allocation follows the
 * project's policy (common/mem.h: out of memory aborts). */
typedef void (*lb_weights_fn)(void *ctx, size_t fe_index, struct lb_weight *out, bool *held);
int lb_desired_build(const struct maglev_config *cfg, lb_weights_fn weights, void *ctx,
                     struct lb_state *out);
/* The desired VIP of frontend fe_index from its effective weights w
 * (lb_slots entries): ASes sorted, unique by address. Release with
 * lb_vip_clear. */
void lb_desired_vip(const struct maglev_config *cfg, size_t fe_index, const struct lb_weight *w,
                    struct lb_vip *out);
/* The same in two steps, for callers that keep the order: the slots of
 * frontend fe_index (lb_slot order) that become ASes, sorted by address,
 * the first slot of each address only (order: lb_slots entries; returns
 * how many are used), then the VIP from weights and that order. */
size_t lb_vip_order(const struct maglev_config *cfg, size_t fe_index, uint32_t *order);
void lb_desired_vip_ordered(const struct maglev_config *cfg, size_t fe_index,
                            const struct lb_weight *w, const uint32_t *order, size_t n,
                            struct lb_vip *out);
void lb_vip_clear(struct lb_vip *v);

/* Sorts an observed state in place (VIPs by key, ASes by address) — the
 * planner expects sorted input. Desired states from lb_desired_build are
 * already sorted (VIPs by name). */
void lb_state_sort_observed(struct lb_state *s);
/* Observed VIP with this key, or NULL (binary search on a sorted state). */
const struct lb_vip *lb_state_find(const struct lb_state *observed, const struct lb_vip_key *k);
/* Index of the first VIP with a key >= k (a sorted state). */
size_t lb_state_vip_index(const struct lb_state *s, const struct lb_vip_key *k);
/* The first AS of v (sorted) with address a, or NULL (v may be NULL);
 * lb_vip_as_index: the index of the first AS with an address >= a. */
const struct lb_as *lb_vip_find_as(const struct lb_vip *v, const struct ip_addr *a);
size_t lb_vip_as_index(const struct lb_vip *v, const struct ip_addr *a);
void lb_state_free(struct lb_state *s);

/* The ops that take one observed VIP (NULL = absent) to desired VIP dv, as
 * in lb_plan_build's VIP scope (nothing when dv is held). out is reset first. */
void lb_plan_vip(const struct lb_vip *dv, const struct lb_vip *ov, struct lb_plan *out);

/* The model of VPP's state (src/vpp/sync keeps one): applies the effect of
 * an op VPP answered with success to a sorted observed state, keeping it
 * sorted: conf-set replaces the conf; vip-add inserts the VIP (no AS);
 * vip-del removes it; as-add inserts the AS or revives a lingering one;
 * as-weight sets the weight; as-del marks the AS lingering (inactive,
 * weight 0), as VPP does until its garbage collection. */
void lb_model_apply(struct lb_state *model, const struct lb_op *op);
/* Deep copy of a state. */
void lb_state_copy(struct lb_state *dst, const struct lb_state *src);

/* Plans the ops that take observed to desired. frontend == NULL: full
 * scope; otherwise only that frontend's VIP (no conf op): -ENOENT if
 * no desired VIP has that name. 0 or -ENOENT; out is reset first.
 * Op strings point into desired (frontend) or are static (reason). */
int lb_plan_build(const struct lb_state *desired, const struct lb_state *observed,
                  const char *frontend, struct lb_plan *out);
void lb_plan_free(struct lb_plan *p);

#endif
