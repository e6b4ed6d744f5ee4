/* core: the daemon's state and the operations on it, owned by the libev
 * loop thread: the running config, the health checker, run-time weight
 * overrides, and the frontend states derived from them. The gRPC handlers
 * (src/api) and the signal handlers call into it; observers (event
 * streams, later the VPP sync) are told about every change. */
#ifndef MAGLEV_CORE_CORE_H
#define MAGLEV_CORE_CORE_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "health/health.h"
#include "lb/lb.h"

struct core;
struct vpp_sync;
struct lb_state;

struct core_observer {
    /* a backend changed state (also called with t->to == BS_REMOVED) */
    void (*backend)(void *ctx, const struct backend_rt *b, const struct health_transition *t);
    /* a frontend's state or active pool changed */
    void (*frontend)(void *ctx, const struct frontend_conf *fe, enum fe_state from,
                     enum fe_state to, int active_pool);
    /* the config was replaced (after a successful reload) */
    void (*reloaded)(void *ctx);
    /* an operator set a run-time weight in frontend fe */
    void (*weight)(void *ctx, const struct frontend_conf *fe);
    void *ctx;
    struct core_observer *next;
};

struct core {
    struct ev_loop *loop;
    char *config_path;
    struct maglev_config *cfg;
    struct checker *checker;
    struct lb_overrides *overrides;
    struct lb_frontend_result *fe; /* per cfg frontend: last known result */
    int64_t start_us;              /* wall clock */
    struct core_observer *observers;
    struct vpp_sync *vpp; /* NULL = VPP integration disabled (set by the daemon) */
};

/* Takes ownership of cfg. */
struct core *core_new(struct ev_loop *loop, const char *config_path, struct maglev_config *cfg);
void core_free(struct core *c);
void core_observe(struct core *c, struct core_observer *o);
void core_unobserve(struct core *c, struct core_observer *o);

/* Loads and checks the config file without applying it. Returns 0 with
 * *out (free with config_free) or -EINVAL with d filled. */
int core_check(struct core *c, struct maglev_config **out, struct config_diags *d);
/* Check, then apply; logs like SIGHUP does. -EINVAL keeps the running
 * config (d says why). */
int core_reload(struct core *c, struct config_diags *d, struct checker_reload_stats *st);

/* Effective weights of frontend i into out (lb_slots entries). */
struct lb_frontend_result core_frontend_weights(const struct core *c, size_t i,
                                                struct lb_weight *out);
/* Run-time weight. 0; -ENOENT with err naming what is missing. */
int core_set_weight(struct core *c, const char *fe, const char *pool, const char *be,
                    uint8_t weight, char *err, size_t errlen);

/* The LB state VPP should have (lb/plan.h), for the VPP sync. Weights are
 * static for now: the first pool's configured weights (or run-time
 * overrides), 0 for the other pools. 0 or -ENOMEM. */
int core_lb_desired(void *core, struct lb_state *out);

/* The health state of cfg backend i. */
enum backend_state core_backend_state(const struct core *c, size_t i);

#endif
