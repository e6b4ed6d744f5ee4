/* core: the door to the daemon's state. Owned by the libev loop thread:
 * the running config, the health checker, the operator's run-time state
 * (weights; pause/disable go through here to the checker), the effective
 * weights of every frontend, and — when enabled — the VPP sync that keeps
 * VPP's LB plugin equal to those weights. The API (src/api) and the
 * daemon (src/daemon) reach the state only through these operations and
 * views; observers (event streams) are told about every change.
 *
 * The control loop, in one direction:
 *
 *   probe result -> checker (health/, the one transition function)
 *     -> core: the backend's state, then only the frontends that use it
 *        (an index built once per config load) are recomputed by
 *        lb_compute; a frontend whose weights changed
 *     -> vpp_sync_vip_changed (vpp/sync): coalesced per VIP, planned
 *        against the model of VPP's state, the differing lb_as_set_weight
 *        requests pipelined -> VPP's replies update the model
 *     -> observers (WatchEvents): backend, frontend, VPP weight events.
 *
 * One computation of each frontend's effective weights (cached here,
 * redone on every change that can affect it) feeds the API and VPP alike.
 * A transition costs O(slots of the frontends using that backend). Names
 * are resolved at the edge (the operations below that take names). */
#ifndef MAGLEV_CORE_CORE_H
#define MAGLEV_CORE_CORE_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "health/health.h"
#include "lb/disrupt.h"
#include "lb/lb.h"
#include "lb/plan.h"
#include "lb/table.h"

struct core;
struct vpp_sync;
struct vpp_op_result;

/* One AS change applied to VPP (or planned, in a dry run). */
struct core_vpp_change {
    const char *frontend;
    const char *backend; /* "" when no backend of the frontend has the address */
    const struct lb_op *op;
    const struct vpp_op_result *res; /* NULL in a dry run */
    const char *trigger;
    int64_t took_us;
    bool dry_run;
};

struct core_observer {
    /* a backend changed state (also called with t->to == BS_REMOVED) */
    void (*backend)(void *ctx, const struct backend_rt *b, const struct health_transition *t);
    /* a frontend's state, active pool or panic changed */
    void (*frontend)(void *ctx, const struct frontend_conf *fe, enum fe_state from,
                     enum fe_state to, int active_pool, bool panic);
    /* the config was replaced (after a successful reload) */
    void (*reloaded)(void *ctx);
    /* an AS change in VPP */
    void (*vpp_change)(void *ctx, const struct core_vpp_change *ch);
    void *ctx;
    struct core_observer *next;
};

/* Takes ownership of cfg; starts the health checker. */
struct core *core_new(struct ev_loop *loop, const char *config_path, struct maglev_config *cfg);
void core_free(struct core *c);
void core_observe(struct core *c, struct core_observer *o);
void core_unobserve(struct core *c, struct core_observer *o);

/* ---- VPP ---- */

struct core_vpp_opts {
    const char *api_path;
    bool dry_run;
};
/* Creates and starts the VPP sync (warm-up and intervals from the config).
 * 0 or -errno. */
int core_vpp_start(struct core *c, const struct core_vpp_opts *o);
/* The VPP sync, NULL when the integration is disabled. */
struct vpp_sync *core_vpp(const struct core *c);

/* ---- config ---- */

/* Loads and checks the config file without applying it. Returns 0 with
 * *out (free with config_free) or -EINVAL with d filled. */
int core_check(struct core *c, struct maglev_config **out, struct config_diags *d);
/* Check, then apply; logs like SIGHUP does. -EINVAL keeps the running
 * config (d says why). */
int core_reload(struct core *c, struct config_diags *d, struct checker_reload_stats *st);

/* A reload that does not block the loop (SIGHUP, ReloadConfig): the file
 * is read and checked on a worker thread, which builds a new config (plain
 * data, shared with nothing); the loop then swaps it in as core_reload
 * does (it stays the one owner of the live state) and calls fn on the loop
 * with what core_reload would have returned (d and st valid during the
 * call). A reload asked for while one runs is served by a fresh read after
 * it (the file may have changed since). fn may be NULL. Returns a handle
 * for core_reload_forget. */
typedef void (*core_reload_fn)(void *ctx, int rc, const struct config_diags *d,
                               const struct checker_reload_stats *st);
struct core_reload_waiter;
struct core_reload_waiter *core_reload_start(struct core *c, core_reload_fn fn, void *ctx);
/* The asker is gone (a cancelled call): fn is not called; the reload goes
 * on. */
void core_reload_forget(struct core *c, struct core_reload_waiter *w);

/* ---- operator actions (names resolved here) ---- */

/* 0, -ENOENT (no such backend), -EPERM (pause/resume of a disabled
 * backend). Their transitions reach VPP with trigger "operator". */
int core_pause(struct core *c, const char *backend);
int core_resume(struct core *c, const char *backend);
int core_enable(struct core *c, const char *backend);
int core_disable(struct core *c, const char *backend);
/* Flap damping: penalty 0, any suppression ended (checker_damping_clear);
 * also -EOPNOTSUPP when its healthcheck has no damping. */
int core_damping_clear(struct core *c, const char *backend);
/* Run-time weight. 0; -ENOENT with err naming what is missing. Reaches
 * VPP with trigger "weight". */
int core_set_weight(struct core *c, const char *fe, const char *pool, const char *be,
                    uint8_t weight, char *err, size_t errlen);

/* ---- what-if (whatif.c) ----
 *
 * What an operator change would move in VPP's new-flow tables, changing
 * nothing: each frontend concerned (those using the backend; for a
 * weight, the one frontend) has its effective weights computed now and
 * with the change (lb_compute_ramp on copies, the same inputs as the live
 * computation), and its VIP's table before and after (lb/disrupt.h) at
 * the length VPP has (LB_NEW_FLOWS_TABLE_LENGTH when unknown). disable
 * and pause take the backend out (its weight 0, as the real action);
 * enable and resume are shown as the backend up (its probes passing: the
 * change its return will make; the action itself leaves it unknown, at
 * weight 0, until then). Costs O(slots of those frontends). */
enum core_change_action {
    CORE_CHANGE_DISABLE,
    CORE_CHANGE_PAUSE,
    CORE_CHANGE_ENABLE,
    CORE_CHANGE_RESUME,
    CORE_CHANGE_WEIGHT,
};
/* "disable", "pause", "enable", "resume", "weight" -> 0, or -EINVAL. */
int core_change_action_parse(const char *s, enum core_change_action *out);

struct core_change {
    enum core_change_action action;
    const char *backend;
    const char *frontend, *pool; /* CORE_CHANGE_WEIGHT */
    uint8_t weight;              /* CORE_CHANGE_WEIGHT */
};
struct core_change_vip {
    size_t fe; /* config index */
    struct lb_vip_key vip;
    struct lb_mg_disruption d;
};
struct core_change_weight {
    size_t fe;   /* config index */
    size_t slot; /* lb_slot order */
    uint8_t before, after;
};
struct core_change_plan {
    struct core_change_vip *vips; /* frontends in config order */
    size_t n_vips;
    struct core_change_weight *weights; /* the backend's slots, and every slot that changes */
    size_t n_weights;
};
/* 0; -ENOENT with err naming what is missing; -EPERM (err says why) for
 * a pause or resume the backend's state refuses, as the action would.
 * Free out with core_change_plan_free. */
int core_plan_change(struct core *c, const struct core_change *ch, struct core_change_plan *out,
                     char *err, size_t errlen);
void core_change_plan_free(struct core_change_plan *p);
/* The VIP of p moving the largest share of its table, or NULL when none
 * moves more than max_pct % (max_pct <= 0: no limit, NULL). */
const struct core_change_vip *core_change_over(const struct core_change_plan *p, double max_pct);

/* ---- the mass-failure guard (guard.c) ----
 *
 * healthchecker.mass-failure: when more than that share of all backends
 * goes down (up -> down, by health) within mass-failure-window, the
 * checker is suspected: the weights are held as they were before those
 * transitions (the backends are shown up to lb_compute; their real state
 * stays visible) until the backends recover (those still held are no
 * longer a mass failure, lb_mass_failure) or the operator releases the
 * hold. While holding, every further health down is held too. */
struct core_guard_view {
    uint8_t pct;       /* 0 = off */
    int64_t window_us; /* the window in use */
    bool holding;
    int64_t since_us;       /* wall clock of the trip, 0 when not holding */
    uint32_t trip_downs;    /* down transitions in the window at the trip */
    size_t downs_in_window; /* now */
    size_t n_held;          /* backends held now */
    size_t total;           /* backends in the config */
    uint64_t trips;         /* since start */
};
void core_guard(const struct core *c, struct core_guard_view *out);
/* Is backend i (config index) held by the guard? */
bool core_backend_held(const struct core *c, size_t i);
/* The operator confirms the failure: the held backends get their real
 * state (trigger "operator"), the window starts afresh. 0, or -EALREADY
 * when the guard is not holding. */
int core_guard_release(struct core *c);

/* ---- views (valid until the next change on the loop) ---- */

struct ev_loop *core_loop(const struct core *c);
const struct maglev_config *core_config(const struct core *c);
const char *core_config_path(const struct core *c);
/* SHA-256 (hex) of the loaded config's canonical dump (config_hash_hex). */
const char *core_config_hash(const struct core *c);
int64_t core_start_us(const struct core *c); /* wall clock */

enum core_vpp_status {
    CORE_VPP_NONE,    /* VPP integration disabled */
    CORE_VPP_APPLIED, /* VPP's AS has the effective weight */
    CORE_VPP_PENDING, /* queued, in flight, held, disconnected, dry run */
    CORE_VPP_FAILED,  /* VPP refused the last change */
};
const char *core_vpp_status_name(enum core_vpp_status s);

struct core_slot_view {
    const struct pool_backend_conf *pb;
    const struct backend_conf *backend;
    enum backend_state state;
    bool held; /* the mass-failure guard shows it up (state is the real one) */
    struct lb_weight effective;
    int override; /* -1 = none */
    enum core_vpp_status vpp;
    int vpp_weight;        /* VPP's weight as maglevd knows it, -1 unknown */
    const char *vpp_error; /* "" unless failed */
    bool ramping;          /* slow start limits its weight here now */
    uint8_t ramp_pct;      /* the ramp's share of the full weight, 100 when not ramping */
};

struct core_frontend_view {
    const struct frontend_conf *conf;
    struct lb_frontend_result result;
    size_t n_slots;
    bool vpp_held; /* warm-up holds the VIP */
};
/* Frontend i (config index). */
void core_frontend(const struct core *c, size_t i, struct core_frontend_view *out);
/* Slot s (lb_slot order) of frontend i. */
void core_frontend_slot(const struct core *c, size_t i, size_t s, struct core_slot_view *out);
/* The effective weights of frontend i (lb_slots entries). */
const struct lb_weight *core_frontend_weights(const struct core *c, size_t i);
/* The run-time weight overrides of frontend i (lb_slots entries, -1 =
 * none). */
const int16_t *core_frontend_overrides(const struct core *c, size_t i);

/* The model of frontend i's new-flow table (lb/table.h) from its
 * effective weights, as VPP builds it from the ASes maglevd installs (one
 * per distinct address, lb_desired_vip): per slot (lb_slot order,
 * n_slots entries) its buckets, bucket share and weight share — 0 for a
 * slot that is not an AS (a second slot with an address already used);
 * the whole in *m, worst_slot the slot of m->worst (-1 none). Computed
 * when asked (the closed form: O(slots log slots)), never per
 * transition. */
struct core_model_view {
    struct lb_table_model m;
    long worst_slot;
    size_t n_ases; /* ASes in the table (weight > 0) */
};
void core_frontend_model(const struct core *c, size_t i, struct lb_table_share *slots,
                         struct core_model_view *out);

/* Backend i (config index): its health runtime (NULL only while a reload
 * is half done) and state. */
const struct backend_rt *core_backend(const struct core *c, size_t i);
enum backend_state core_backend_state(const struct core *c, size_t i);
/* The frontends (config indexes, ascending, each once) using backend i. */
const uint32_t *core_backend_frontends(const struct core *c, size_t i, size_t *n);

/* ---- slow start (slowstart.c) ----
 *
 * slow-start (backends.NAME, else its healthcheck's): a backend coming
 * back into service — up from down, or up after an enable or a resume —
 * ramps its weight over the duration (lb.h: the steps), one ev_timer per
 * ramping backend; each step recomputes only the frontends using it, as a
 * transition does, and reaches VPP with trigger "slow-start". Not at
 * start-up (the first up of every backend; the VPP warm-up covers it),
 * not in a frontend that had nothing serving or was in panic when the
 * ramp began, not for a backend the mass-failure guard holds. It ends
 * when the backend leaves up, at its end, or when a reload turns it off;
 * a reload keeps a ramp going with the new duration. */
struct core_ramp_view {
    int64_t slow_start_us; /* the backend's effective setting, 0 = off */
    bool ramping;
    int64_t started_us, ends_us; /* wall clock; 0 when not ramping */
    uint8_t pct;                 /* share of the full weight now, 100 when not ramping */
};
void core_backend_ramp(const struct core *c, size_t i, struct core_ramp_view *out);
/* Backends ramping now. */
size_t core_ramping(const struct core *c);

/* ---- metrics (views of counters; loop thread) ---- */

/* Config reloads (SIGHUP, ReloadConfig) since start, by result; the wall
 * clock of the last successful load (the start-up load counts). */
struct core_reload_counts {
    uint64_t success, failure;
    int64_t last_success_us;
};
void core_reload_counts(const struct core *c, struct core_reload_counts *out);
/* The health checker's counters: probe durations by healthcheck type
 * (and scheduling lateness). Per-backend counters are in core_backend's
 * backend_rt (probe_codes, transitions). */
const struct checker_stats *core_health_stats(const struct core *c);
/* The health checker's watchdog: ok or degraded, and why (health.h,
 * checker_watch_get). For GetVersion, systemd's STATUS= and metrics. */
void core_health_watch(const struct core *c, struct checker_watch *out);

/* ---- VPP LB counters (counters.c) ----
 *
 * The LB plugin's four per-VIP counters, read from VPP's stats segment
 * every CORE_LBCTR_INTERVAL_MS while VPP is connected; see counters.c for
 * when the VIP index map is read again and how errors are logged. */
#define CORE_LBCTR_INTERVAL_MS 5000
struct lbctr;
struct core_lbctr_view {
    bool enabled;     /* VPP integration on and a stats address set */
    const char *path; /* the stats socket */
    unsigned interval_ms;
    bool have;                 /* a reading since VPP (re)connected */
    bool stale;                /* the last read failed (error); values are older */
    const char *error;         /* the reader's last error, "" = none */
    int64_t sampled_us;        /* wall clock of the last successful reading */
    const struct lbctr *table; /* vpp/lbctr.h; NULL when !enabled */
};
/* After core_vpp_start: reads VPP's stats socket at path every
 * interval_ms (0 = CORE_LBCTR_INTERVAL_MS). path NULL or "", or no VPP
 * integration: nothing (0). 0 or -ENOMEM. Stopped with the VPP sync. */
int core_lbctr_start(struct core *c, const char *path, unsigned interval_ms);
void core_lbctr(const struct core *c, struct core_lbctr_view *out);

/* The LB state VPP should have: the effective weights; during the warm-up
 * the VIPs not yet released are marked held. For the VPP sync (and
 * tests). Returns 0. */
int core_lb_desired(struct core *c, struct lb_state *out);

#endif
