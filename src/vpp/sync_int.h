/* Internal to the VPP sync: sync.c (jobs: full syncs and API requests,
 * warm-up, the public operations) and sync_vip.c (targeted changes, the
 * model of VPP's state, per-AS status). */
#ifndef MAGLEV_VPP_SYNC_INT_H
#define MAGLEV_VPP_SYNC_INT_H

#include "lb/disrupt.h"
#include "vpp/sync.h"

/* Per frontend (config index): a targeted change waiting or in flight. */
struct sync_vip_rt {
    bool dirty;          /* in s->dirty: plan it at the end of the iteration */
    bool in_flight;      /* its batch awaits VPP's replies */
    const char *trigger; /* of the first change coalesced */
    int64_t cause_us;    /* the earliest cause (clock_mono_us) */
};

/* VPP's answer to the last failed change of an AS. */
struct sync_as_fail {
    struct lb_vip_key key;
    struct ip_addr as;
    char text[96];
};

struct sticky_mem {
    struct lb_vip_key key;
    bool sticky;
};

struct vpp_sync_job;
struct sync_done_note;

struct vpp_sync {
    struct ev_loop *loop;
    struct vpp_sync_opts opts;
    struct vpp_sync_source src;
    struct vpp_client *client;
    struct vpp_sync_job *queue, *queue_tail; /* head is running when running */
    bool running;
    bool stopping;
    ev_timer periodic;
    ev_idle kick;
    ev_timer hold;    /* warm-up: startup-min-delay */
    ev_timer release; /* warm-up: startup-max-delay */
    enum vpp_warmup warmup;
    int64_t hold_until_us; /* wall clock */
    int64_t last_full_us;  /* wall clock */
    /* the stickiness of the VIPs this connection created (for VPPs whose
     * CLI does not tell) */
    struct sticky_mem *sticky;
    size_t n_sticky, sticky_cap;

    /* the model of VPP's state: the last sync's read plus every success */
    struct lb_state model;
    bool model_valid;
    /* targeted changes */
    struct sync_vip_rt *vips; /* per frontend */
    size_t n_fe;
    size_t *dirty; /* frontends with dirty set */
    size_t n_dirty, dirty_cap;
    size_t n_batches;     /* in flight */
    size_t ops_in_flight; /* their requests, across VIPs (capped) */
    unsigned gen;         /* config generation: bumped by reloads */
    ev_prepare flush;
    struct sync_as_fail *fails;
    size_t n_fails, fails_cap;
    /* targeted changes done, their vpp-lbsync-done line waiting for the
     * disruption, computed when the loop is idle (sync_vip.c) */
    struct sync_done_note *notes, *notes_tail;
    ev_idle notes_idle;
    struct vpp_sync_counters ctr;
    bool model_warned; /* vpp-lb-model-mismatch logged on this connection */
};

/* sync.c */
void vpp_sync_queue_full(struct vpp_sync *s, const char *trigger);
/* A sync that will replace the model is running. */
bool vpp_sync_model_job_running(const struct vpp_sync *s);
void vpp_sync_log_op(const struct lb_op *op, const char *result, bool dry);
/* An applied op: its DEBUG line (always: at INFO for the conf), and a WARN
 * vpp-lbsync-op-failed when VPP refused it or did not answer. */
void vpp_sync_log_result(const struct lb_op *op, const struct vpp_op_result *res, bool always);
/* vpp-lbsync-done / -planned; d (scope vip): its buckets-moved,
 * buckets-minimum and table-length, NULL = none. */
void vpp_sync_log_done(const char *event, const char *frontend, const char *trigger,
                       const struct lb_plan *p, size_t failed, double duration_ms,
                       const struct lb_mg_disruption *d);
/* vpp-lbsync-disruption, one per VIP (full scope). */
void vpp_sync_log_disruptions(const struct lb_disruptions *ds, const char *trigger, bool dry);

/* sync_vip.c */
void vpp_sync_vip_init(struct vpp_sync *s);
void vpp_sync_vip_free(struct vpp_sync *s);
/* New frontend count: every targeted change dropped (a full sync follows). */
void vpp_sync_vip_reset(struct vpp_sync *s, size_t n_frontends);
/* Plans and sends what is waiting, if targeted changes may run now. */
void vpp_sync_vip_kick(struct vpp_sync *s);
/* A sync's read with its applied ops becomes the model (taking *observed). */
void vpp_sync_model_install(struct vpp_sync *s, struct lb_state *observed,
                            const struct lb_plan *plan, const struct vpp_op_result *res);
void vpp_sync_model_invalidate(struct vpp_sync *s);
/* VPP's dumps do not say whether an AS at weight 0 was flushed: what the
 * model knows (maglevd flushed it, its weight stayed 0) is carried into a
 * fresh read, so that a flush is sent once, not at every sync. */
void vpp_sync_model_carry_flush(const struct vpp_sync *s, struct lb_state *observed);
/* Records the outcome of an AS op for vpp_sync_as_status. */
void vpp_sync_fail_note(struct vpp_sync *s, const struct lb_op *op,
                        const struct vpp_op_result *res);
/* Tells the source about an AS op (applied, failed or dry-run). */
void vpp_sync_report(struct vpp_sync *s, const struct lb_op *op, const struct vpp_op_result *res,
                     const char *trigger, int64_t since_us);

/* sync_model.c: VPP's bucket counts against the table model of its
 * weights; the first difference is logged (WARN vpp-lb-model-mismatch)
 * once per connection (model_warned, reset on connect). desired names the
 * frontend (may be NULL). */
void vpp_sync_model_check(struct vpp_sync *s, const struct lb_state *observed,
                          const struct lb_state *desired);

/* sync_count.c: the counters */
void vpp_sync_count(struct vpp_sync *s, enum vpp_sync_scope scope, const char *trigger,
                    enum vpp_sync_outcome o, int64_t since_us);
void vpp_sync_count_op(struct vpp_sync *s, const struct lb_op *op, const struct vpp_op_result *res);

#endif
