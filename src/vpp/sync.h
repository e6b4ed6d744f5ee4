/* vpp/sync: keeps VPP's LB plugin in the desired state. Owns the VPP
 * client; runs one job at a time on the loop, in request order:
 *
 *   read VPP's state (vpp/lb) -> desired state (callback) -> plan
 *   (lb/plan, pure) -> apply, pipelined (vpp/lb) -> log.
 *
 * Full syncs run at every (re)connect (they push the global conf first
 * when it differs), after every reload, and every sync-interval to repair
 * drift; the API asks for full or single-VIP syncs and plans. With
 * dry_run, syncs only log their plan. */
#ifndef MAGLEV_VPP_SYNC_H
#define MAGLEV_VPP_SYNC_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "lb/plan.h"
#include "vpp/client.h"
#include "vpp/lb.h"

struct vpp_sync;
struct vpp_sync_job;

/* Builds the desired state now (lb_desired_build). 0 or -errno. */
typedef int (*vpp_desired_fn)(void *ctx, struct lb_state *out);

struct vpp_sync_opts {
    const char *api_path;
    bool dry_run;
    size_t window;   /* requests in flight while applying; 0 = 256 */
    double interval; /* seconds between drift repairs; clamped to 1 s .. 24 h */
    double hold;     /* warm-up (vpp.lb.startup-min-delay): seconds after
                        vpp_sync_start during which nothing is changed in
                        VPP; then a full sync. 0 = none */
    struct vpp_client_opts client;
};

struct vpp_sync *vpp_sync_new(struct ev_loop *loop, const struct vpp_sync_opts *opts,
                              vpp_desired_fn desired, void *ctx);
void vpp_sync_start(struct vpp_sync *s);
/* Fails queued jobs (their callbacks run with -ECANCELED), closes. NULL-safe. */
void vpp_sync_free(struct vpp_sync *s);

const struct vpp_info *vpp_sync_info(const struct vpp_sync *s);
bool vpp_sync_is_up(const struct vpp_sync *s);
bool vpp_sync_dry_run(const struct vpp_sync *s);
int64_t vpp_sync_last_full_us(const struct vpp_sync *s);
struct vpp_client *vpp_sync_client(struct vpp_sync *s);

/* A new sync-interval (after a reload); then a full sync is queued. */
void vpp_sync_reloaded(struct vpp_sync *s, double interval);
/* Queues a sync of one frontend's VIP (an operator changed a weight),
 * unless VPP is down or such a sync is already waiting. trigger is a
 * static string for the logs ("weight"). */
void vpp_sync_frontend(struct vpp_sync *s, const char *frontend, const char *trigger);
/* Clamps an interval to 1 s .. 24 h. */
double vpp_sync_clamp_interval(double seconds);

struct vpp_sync_result {
    int err;              /* 0, -ENOENT (no such frontend), -ENOTCONN, -ECANCELED, ... */
    char error[256];      /* text for err */
    bool full;            /* scope all */
    const char *frontend; /* scope vip: the frontend; NULL for all */
    bool applied;
    const struct lb_plan *plan;          /* NULL on err */
    const struct vpp_op_result *results; /* per op, NULL unless applied */
    size_t failed;
    int64_t duration_us;
};
typedef void (*vpp_sync_cb)(void *ctx, const struct vpp_sync_result *r);

/* Wall clock (µs) until which the warm-up holds every change, 0 when over. */
int64_t vpp_sync_hold_until_us(const struct vpp_sync *s);

/* Queues a sync (apply) or a plan (!apply) of one frontend's VIP, or of
 * everything (frontend NULL). -ENOTCONN when VPP is not connected, -EBUSY
 * for a sync during the warm-up (plans are fine) (cb is not called). *job (may be NULL) lets the
 * caller cancel: cb is then never called. Under dry_run, syncs are plans. */
int vpp_sync_request(struct vpp_sync *s, const char *frontend, bool apply, vpp_sync_cb cb,
                     void *ctx, struct vpp_sync_job **job);

/* observed has the frontend names (lb_vip.name) of the desired VIPs with
 * the same key; both valid during the call. */
typedef void (*vpp_state_cb)(void *ctx, int err, const struct lb_state *observed);
int vpp_sync_get_state(struct vpp_sync *s, vpp_state_cb cb, void *ctx, struct vpp_sync_job **job);

void vpp_sync_cancel(struct vpp_sync_job *job);

#endif
