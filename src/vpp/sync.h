/* vpp/sync: keeps VPP's LB plugin in the desired state. Owns the VPP
 * client. Two paths:
 *
 * Full syncs and API jobs run one at a time on the loop, in request order:
 *   read VPP's state (vpp/lb) -> desired state (source) -> plan
 *   (lb/plan, pure) -> apply, pipelined (vpp/lb) -> log.
 * They run at every (re)connect (pushing the global conf first when it
 * differs), after every reload, every sync-interval to repair drift, and
 * when the API asks. A sync's read, with the effect of the ops it applied,
 * becomes the model of VPP's state.
 *
 * Targeted changes (vpp_sync_vip_changed: a frontend's effective weights
 * changed) are planned for that VIP alone against the model — no dump —
 * and pipelined; every successful reply updates the model. Changes are
 * coalesced per VIP: all the changes of one loop iteration, and those that
 * arrive while the VIP's previous change is in flight, become one plan
 * made from the newest desired state. They wait while a sync that replaces
 * the model runs, while VPP is down (the connect sync covers them) and
 * while the model is uncertain (a request without an answer: a repair
 * sync is queued).
 *
 * Warm-up (vpp.lb.startup-min-delay, startup-max-delay, from start): before
 * min nothing is written; at min a full sync writes every VIP the source
 * no longer holds (held: some backend still unknown), leaving held VIPs as
 * VPP has them; a held VIP is written as soon as the source releases it
 * (vpp_sync_vip_changed); at max a full sync covers the rest. A reload
 * does not restart the clock. With dry_run, nothing is applied: every
 * plan is logged. */
#ifndef MAGLEV_VPP_SYNC_H
#define MAGLEV_VPP_SYNC_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "lb/disrupt.h"
#include "lb/plan.h"
#include "vpp/client.h"
#include "vpp/lb.h"

struct vpp_sync;
struct vpp_sync_job;

/* An AS op VPP answered (res) or, in a dry run, that was planned (res
 * NULL); took_us from the first cause (monotonic) to the reply. */
struct vpp_applied {
    const struct lb_op *op;
    const struct vpp_op_result *res;
    const char *trigger;
    int64_t took_us;
    bool dry_run;
};

/* What the sync asks of its owner (src/core). */
struct vpp_sync_source {
    /* the whole desired state, held VIPs marked (lb_desired_build); 0 */
    int (*desired)(void *ctx, struct lb_state *out);
    /* the desired VIP of frontend fe (config index); false when there is
     * no such frontend any more */
    bool (*desired_vip)(void *ctx, size_t fe, struct lb_vip *out);
    /* every AS op applied (or planned in a dry run); may be NULL */
    void (*applied)(void *ctx, const struct vpp_applied *a);
    void *ctx;
};

struct vpp_sync_opts {
    const char *api_path;
    bool dry_run;
    size_t window;      /* requests in flight while applying a sync, and per VIP
                           for targeted changes (at most 4 x window across VIPs);
                           0 = 256 */
    double interval;    /* seconds between drift repairs; clamped to 1 s .. 24 h */
    double hold;        /* vpp.lb.startup-min-delay: seconds after vpp_sync_start
                           during which nothing is changed in VPP; 0 = none */
    double release;     /* vpp.lb.startup-max-delay: seconds after start when
                           held VIPs are written anyway (>= hold) */
    size_t n_frontends; /* the config's, for vpp_sync_vip_changed */
    struct vpp_client_opts client;
};

struct vpp_sync *vpp_sync_new(struct ev_loop *loop, const struct vpp_sync_opts *opts,
                              const struct vpp_sync_source *src);
void vpp_sync_start(struct vpp_sync *s);
/* Fails queued jobs (their callbacks run with -ECANCELED), closes. NULL-safe. */
void vpp_sync_free(struct vpp_sync *s);

const struct vpp_info *vpp_sync_info(const struct vpp_sync *s);
bool vpp_sync_is_up(const struct vpp_sync *s);
bool vpp_sync_dry_run(const struct vpp_sync *s);
int64_t vpp_sync_last_full_us(const struct vpp_sync *s);
struct vpp_client *vpp_sync_client(struct vpp_sync *s);

/* The config was replaced: n_frontends frontends now (indexes change),
 * a new sync-interval; a full sync is queued. */
void vpp_sync_reloaded(struct vpp_sync *s, double interval, size_t n_frontends);
/* Frontend fe's desired VIP changed (its effective weights, or the warm-up
 * released it). trigger: a static string for the logs ("health",
 * "operator", "weight", "warmup"); cause_us: when the cause happened
 * (clock_mono_us), for the duration logged. Cheap: marks the VIP; the
 * change is planned and sent at the end of the loop iteration. */
void vpp_sync_vip_changed(struct vpp_sync *s, size_t fe, const char *trigger, int64_t cause_us);

enum vpp_warmup {
    VPP_WARMUP_HOLD,      /* before startup-min-delay: nothing written */
    VPP_WARMUP_RELEASING, /* until startup-max-delay: VIPs as released */
    VPP_WARMUP_OVER,
};
enum vpp_warmup vpp_sync_warmup(const struct vpp_sync *s);

enum vpp_as_status { VPP_AS_PENDING, VPP_AS_APPLIED, VPP_AS_FAILED };
/* Whether VPP has weight `want` for AS `as` of VIP `vip`, by the model.
 * *vpp_weight: the model's weight, -1 when unknown; *error: VPP's answer
 * to the last failed change of that AS ("" otherwise). */
enum vpp_as_status vpp_sync_as_status(const struct vpp_sync *s, const struct lb_vip_key *vip,
                                      const struct ip_addr *as, uint8_t want, int *vpp_weight,
                                      const char **error);
/* The new-flow table length of VIP vip in VPP, by the model; 0 when
 * unknown. */
uint32_t vpp_sync_table_length(const struct vpp_sync *s, const struct lb_vip_key *vip);
/* Targeted changes waiting or in flight (for tests and benchmarks). */
size_t vpp_sync_pending(const struct vpp_sync *s);
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
    /* per VIP whose table changes (or, applied, changed): the buckets
     * moved (lb/disrupt.h), in plan order */
    const struct lb_disruption *disruption;
    size_t n_disruption;
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

/* ---- counters (metrics; loop thread) ----
 *
 * Syncs: every full sync or API sync that applies (or, dry run, would
 * apply) and every targeted VIP change sent, by scope (all: a full sync,
 * vip: one VIP), trigger and result; their durations (from the start of
 * the job or batch to the last reply). Operations: every op VPP answered
 * (or that was planned in a dry run), by kind and result. Drift repaired:
 * the ops a periodic sync applied — VPP had drifted from the model. */
enum vpp_sync_scope { VPP_SCOPE_ALL, VPP_SCOPE_VIP, VPP_SCOPE__COUNT };
enum vpp_sync_outcome {
    VPP_SYNC_SUCCESS,
    VPP_SYNC_FAILURE, /* an op refused or unanswered, or the job failed */
    VPP_SYNC_DRY_RUN, /* planned, not applied */
    VPP_SYNC__COUNT
};
enum vpp_op_outcome {
    VPP_OP_OK,
    VPP_OP_REFUSED,  /* VPP answered with an error */
    VPP_OP_NO_REPLY, /* dropped, timed out, disconnected */
    VPP_OP_DRY_RUN,
    VPP_OP__COUNT
};
#define VPP_SYNC_TRIGGERS         11 /* vpp_sync_trigger_name(0 .. 10) */
#define VPP_SYNC_OP_KINDS         (LB_OP_AS_WEIGHT + 1)
#define VPP_SYNC_DURATION_BUCKETS 14
extern const double vpp_sync_duration_bounds[VPP_SYNC_DURATION_BUCKETS]; /* seconds */
struct vpp_sync_counters {
    uint64_t syncs[VPP_SCOPE__COUNT][VPP_SYNC_TRIGGERS][VPP_SYNC__COUNT];
    /* per bucket, not cumulative; the last one above every bound */
    uint64_t duration[VPP_SCOPE__COUNT][VPP_SYNC_DURATION_BUCKETS + 1];
    double duration_sum[VPP_SCOPE__COUNT]; /* seconds */
    uint64_t ops[VPP_SYNC_OP_KINDS][VPP_OP__COUNT];
    uint64_t drift_repaired;
};
const struct vpp_sync_counters *vpp_sync_counters(const struct vpp_sync *s);
/* "connect", "startup", "periodic", "reload", "api", "warmup", "repair",
 * "health", "operator", "weight", "other"; NULL past the end. */
const char *vpp_sync_trigger_name(size_t i);
const char *vpp_sync_scope_name(enum vpp_sync_scope s);
const char *vpp_sync_outcome_name(enum vpp_sync_outcome o);
const char *vpp_op_outcome_name(enum vpp_op_outcome o);

#endif
