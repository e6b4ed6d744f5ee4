/* Internal to src/core: the state behind struct core (core.c: lifecycle,
 * index, transitions, reload, operations; views.c: the views; vpp.c: the
 * VPP sync's source and its status per AS). */
#ifndef MAGLEV_CORE_CORE_INT_H
#define MAGLEV_CORE_CORE_INT_H

#include <pthread.h>

#include "core/core.h"

/* A frontend's cached effective weights. */
struct core_fe {
    struct lb_frontend_result res;
    struct lb_weight *w; /* lb_slots entries */
    int16_t *ov;         /* run-time overrides, flat, -1 = none */
    size_t n_slots;
    uint32_t *order; /* the slots that are ASes, by address (lb_vip_order) */
    size_t n_order;
    bool released; /* warm-up: every backend has left unknown (sticky) */
    /* slow start (slowstart.c): the ramping backends (config indexes)
     * whose ramp does not apply here: the frontend had nothing serving
     * (or was in panic) when the ramp began */
    uint32_t *ss_exempt;
    size_t n_ss_exempt, ss_exempt_cap;
};

/* Slow start (slowstart.c): one ramp, with its own timer, per backend
 * ramping. */
struct core_ramp {
    ev_timer timer;
    struct core *c;
    size_t bi;             /* config backend index (updated by a reload) */
    int64_t start_us;      /* monotonic */
    int64_t start_wall_us; /* for the API */
    int64_t dur_us;
};

struct core_slowstart {
    struct core_ramp **ramp; /* by config backend index; NULL = not ramping */
    struct lb_ramp *lb;      /* by config backend index: what lb_compute_ramp sees */
    bool *armed;             /* by config backend index: its next up ramps */
    size_t n_ramping;
};

/* The mass-failure guard (guard.c). view is what lb_compute sees: the
 * backends' states, except that a held backend (gone down by health while
 * the guard holds) is shown up. */
struct core_guard {
    enum backend_state *view; /* by config backend index */
    bool *held;               /* by config backend index */
    uint32_t *list;           /* the backends held, in order; may name released ones */
    size_t n_list, cap;
    size_t n_held; /* held now */
    struct lb_window downs;
    bool holding;
    int64_t since_us; /* wall clock */
    uint32_t trip_downs;
    uint64_t trips;
};

/* An asynchronous reload (core_reload_start). */
struct core_reload_waiter {
    core_reload_fn fn;
    void *ctx;
    struct core_reload_waiter *next;
};

struct core_reload_job {
    pthread_t thread;
    const char *path; /* the core's */
    struct maglev_config *cfg;
    struct config_diags d;
    int rc;
};

/* backend (config index) -> the frontends using it, CSR form */
struct core_index {
    size_t *start; /* n_backends + 1 */
    uint32_t *fe;
};

struct core {
    struct ev_loop *loop;
    char *config_path;
    struct maglev_config *cfg;
    char config_hash[CONFIG_HASH_HEX]; /* of cfg: set at load and at each reload */
    struct checker *checker;
    struct lb_overrides *overrides; /* by names: survive reloads */
    enum backend_state *states;     /* by config backend index */
    struct core_fe *fe;             /* by config frontend index */
    struct core_index idx;
    struct lb_weight *scratch; /* the largest frontend's slots */
    int64_t start_us;          /* wall clock */
    struct core_reload_counts reloads;
    const char *cause; /* trigger of the transitions now: "health" or "operator" */
    bool reloading;    /* transitions are not propagated */
    struct core_observer *observers;
    struct core_guard guard;
    struct core_slowstart ss;
    struct vpp_sync *vpp;
    struct core_lbctr *lbctr; /* counters.c; NULL = none */
    /* counters.c's stop, set by core_lbctr_start (so that programs built
     * from core.c/vpp.c without counters.c link) */
    void (*lbctr_stop)(struct core *c);
    struct core_reload_job *job;        /* a worker reading the config */
    struct core_reload_waiter *waiting; /* told when job is applied */
    struct core_reload_waiter *queued;  /* asked during job: the next one */
    ev_async reload_async;              /* the worker's "done" */
    pthread_t reaper;                   /* freeing the config a reload replaced */
    bool reaping;
};

/* core.c: recomputes the frontends using backend bi */
void core_refresh_backend(struct core *c, size_t bi, const char *trigger, int64_t cause_us);

/* guard.c. core_guard_build: after c->states of a new c->cfg (old_cfg: the
 * config replaced, NULL at start; the backends it held stay held by
 * name). core_guard_transition: after c->states[bi] took t->to; true when
 * the frontends using bi are to be recomputed. */
void core_guard_build(struct core *c, const struct maglev_config *old_cfg);
bool core_guard_transition(struct core *c, size_t bi, const struct health_transition *t,
                           int64_t now_us);
void core_guard_free(struct core *c);

/* slowstart.c. core_ss_build: after build_runtime's frontends (old_cfg,
 * old_fe: what a reload replaced, NULL at start; ramps and exemptions
 * follow their backends by name, with the new duration).
 * core_ss_transition: after c->states[bi] took t->to, before the guard
 * and the refresh (it reads the hold and the frontends as they were);
 * core_ss_settled: after them. core_ss_ramps: lb_compute_ramp's view for
 * frontend i, NULL when nothing ramps. */
void core_ss_build(struct core *c, const struct maglev_config *old_cfg,
                   const struct core_fe *old_fe);
void core_ss_transition(struct core *c, size_t bi, const struct health_transition *t,
                        int64_t now_us);
void core_ss_settled(struct core *c, size_t bi, const struct health_transition *t);
const struct lb_ramps *core_ss_ramps(const struct core *c, size_t i, struct lb_ramps *buf);
void core_ss_free(struct core *c);

/* vpp.c */
void core_vpp_stop(struct core *c);
void core_vpp_changed(struct core *c, size_t fe, const char *trigger, int64_t cause_us);
void core_vpp_reloaded(struct core *c);
bool core_vpp_held(const struct core *c, size_t fe);
/* The VPP warm-up is not over (a release is then a reason of its own). */
bool core_vpp_warming(const struct core *c);

#endif
