/* vpp/lb: the LB plugin through the client — read the state VPP has into a
 * struct lb_state, apply the ops of a struct lb_plan (both from lb/plan.h).
 *
 * Reading dumps everything (lb_conf_get, lb_vip_dump, an unfiltered
 * lb_as_v2_dump) and matches ASes to VIPs locally: VPP's dump filters
 * cannot match IPv4 VIPs (PROTOCOL.md 5.4). ASes of VIPs that are deleted
 * but not yet garbage-collected are dropped; an address seen twice in one
 * VIP (a lingering AS of an older VIP with the same key) keeps the active
 * entry. src_ip_sticky is not in VPP's dumps: LB_STICKY_UNKNOWN.
 *
 * Applying pipelines the ops, at most `window` in flight (1 = one request
 * at a time), in plan order: VPP handles one connection's requests in
 * order, so the effect equals sending them one by one. */
#ifndef MAGLEV_VPP_LB_H
#define MAGLEV_VPP_LB_H

#include "lb/plan.h"
#include "vpp/client.h"

struct vpp_op_result {
    int retval; /* VPP's answer (0 ok, -6 no such entry, -81 exists ...) */
    int err;    /* 0, or -errno from the client (-ETIMEDOUT, -ECONNRESET ...) */
};

/* "ok", "VPP error -81 (VALUE_EXIST)", "no reply (timeout)" ... into buf. */
const char *vpp_op_result_format(const struct vpp_op_result *r, char *buf, size_t len);
/* VPP's name of an API return value ("NO_SUCH_ENTRY"), or "". */
const char *vpp_retval_name(int retval);

/* A VPP reporting more than this is refused (-E2BIG): a bound on what a
 * broken or hostile VPP can make maglevd allocate. */
#define VPP_LB_READ_MAX_VIPS 65536
#define VPP_LB_READ_MAX_ASES 4194304

/* observed is owned by the callback's caller on err == 0 (lb_state_free). */
typedef void (*vpp_lb_read_cb)(void *ctx, int err, struct lb_state *observed);
int vpp_lb_read(struct vpp_client *c, vpp_lb_read_cb cb, void *ctx);

/* results[i] for plan->ops[i]; valid during the call. */
typedef void (*vpp_lb_apply_cb)(void *ctx, const struct vpp_op_result *results, size_t failed);
/* 0 or -ENOTCONN. cb may run before this returns (an empty plan,
 * or a connection lost while sending); plan must stay valid until cb. */
int vpp_lb_apply(struct vpp_client *c, const struct lb_plan *plan, size_t window,
                 vpp_lb_apply_cb cb, void *ctx);

/* ---- FIB: a VIP prefix's route (PROTOCOL.md 6) ----
 *
 * ip_route_lookup of prefix addr/plen in table 0, exact match: the FIB
 * entry the LB plugin installs for a VIP prefix (one for all the VIPs of
 * that prefix). cb gets err 0 with VPP's retval (0: found, stats_index its
 * /net/route/to index; -6 VNET_API_ERROR_NO_SUCH_ENTRY: no such route), or
 * a client error as vpp_reply_cb's (then retval 0). Returns 0 (cb will be
 * called, from the loop), -ENOTCONN, -EPROTONOSUPPORT (this VPP has no
 * ip_route_lookup), -EINVAL or -ENOMEM; cb is not called then. */
typedef void (*vpp_route_cb)(void *ctx, int err, int retval, uint32_t stats_index);
int vpp_route_lookup(struct vpp_client *c, const struct ip_addr *addr, uint8_t plen,
                     vpp_route_cb cb, void *ctx);

#endif
