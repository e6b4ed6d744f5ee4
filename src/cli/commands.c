/* The maglevc command tree, as data. Each level is an array ended by END;
 * the order of an array is the order of `?` help, completion and error
 * lists. To add a command, add its keywords under the right level (e.g.
 * `show vpp lb state` is KW("vpp", ..., KIDS(KW("info", ...), KW("lb", ...)))
 * in show[]) and an action id in cmdtree.h; cmd_tree_check() in the unit
 * tests catches clashes. An old spelling kept working is a HIDDEN keyword
 * (see CMD_F_HIDDEN): typed in full it is the same command, but neither
 * completion nor `?` offers it. */
#include "cli/cmdtree.h"

#define END                                                                                        \
    {                                                                                              \
        0                                                                                          \
    }
#define KIDS(...)                                                                                  \
    .children = (const struct cmd_node[])                                                          \
    {                                                                                              \
        __VA_ARGS__, END                                                                           \
    }
#define KW(w, h, ...)                                                                              \
    {                                                                                              \
        .kind = CMD_KEYWORD, .word = (w), .help = (h), __VA_ARGS__                                 \
    }
#define NAME(k, w, h, ...)                                                                         \
    {                                                                                              \
        .kind = CMD_SLOT, .slot = (k), .word = (w), .help = (h), __VA_ARGS__                       \
    }
#define NUMBER(lo, hi, h, ...)                                                                     \
    {                                                                                              \
        .kind = CMD_SLOT, .slot = CMD_SLOT_NUMBER, .word = "N", .min = (lo), .max = (hi),          \
        .help = (h), __VA_ARGS__                                                                   \
    }
#define ACT(a)    .action = (a)
#define ARG(a)    .arg = (a)
#define HIDDEN    .flags = CMD_F_HIDDEN /* an alias: typed in full only, never offered */
#define WATCH_END ACT(CMD_WATCH_EVENTS) /* the line may end after this watch option */

/* ... vpp lb state [NAME]: NAME limits the command to that frontend's VIP.
 * One array per command, as the slot carries the action. */
#define VPP_FRONTEND(a)                                                                            \
    NAME(CMD_SLOT_FRONTEND, "NAME", "Frontend name: only its VIP", ARG(ARG_FRONTEND), ACT(a))

static const struct cmd_node show_vpp_frontend[] = { VPP_FRONTEND(CMD_SHOW_VPP_LB_STATE), END };
static const struct cmd_node sync_vpp_frontend[] = { VPP_FRONTEND(CMD_SYNC_VPP_LB_STATE), END };
static const struct cmd_node plan_vpp_frontend[] = { VPP_FRONTEND(CMD_PLAN_VPP_LB_STATE), END };
static const struct cmd_node show_vpp_counters_frontend[] = {
    VPP_FRONTEND(CMD_SHOW_VPP_LB_COUNTERS), END
};

/* show vpp info | lb state [NAME] | lb counters [NAME]; `show vpp lbstate
 * [NAME]` is the older spelling, still accepted */
static const struct cmd_node show_vpp[] = {
    KW("info", "Show maglevd's connection to VPP", ACT(CMD_SHOW_VPP_INFO)),
    KW("lb", "Show VPP's load-balancer plugin",
       KIDS(KW("state", "Show the LB conf, VIPs and ASes as VPP has them",
               ACT(CMD_SHOW_VPP_LB_STATE), .children = show_vpp_frontend),
            KW("counters", "Show VPP's per-VIP LB packet counters and their rates",
               ACT(CMD_SHOW_VPP_LB_COUNTERS), .children = show_vpp_counters_frontend))),
    KW("lbstate", "Same as \"lb state\"", ACT(CMD_SHOW_VPP_LB_STATE), HIDDEN,
       .children = show_vpp_frontend),
    END,
};

static const struct cmd_node show[] = {
    KW("version", "Show the maglevd version", ACT(CMD_SHOW_VERSION)),
    KW("frontend", "Show one frontend",
       KIDS(NAME(CMD_SLOT_FRONTEND, "NAME", "Frontend name", ARG(ARG_FRONTEND),
                 ACT(CMD_SHOW_FRONTEND)))),
    KW("frontends", "Show all frontends", ACT(CMD_SHOW_FRONTENDS)),
    KW("backend", "Show one backend",
       KIDS(NAME(CMD_SLOT_BACKEND, "NAME", "Backend name", ARG(ARG_BACKEND),
                 ACT(CMD_SHOW_BACKEND)))),
    KW("backends", "Show all backends", ACT(CMD_SHOW_BACKENDS)),
    KW("healthcheck", "Show one healthcheck",
       KIDS(NAME(CMD_SLOT_HEALTHCHECK, "NAME", "Healthcheck name", ARG(ARG_HEALTHCHECK),
                 ACT(CMD_SHOW_HEALTHCHECK)))),
    KW("healthchecks", "Show all healthchecks", ACT(CMD_SHOW_HEALTHCHECKS)),
    KW("vpp", "Show VPP's connection and load-balancer state", .children = show_vpp),
    KW("mass-failure", "Show the mass-failure guard: armed or holding, the backends held",
       ACT(CMD_SHOW_MASS_FAILURE)),
    KW("fleet", "Compare the load balancers given by --server: config, weights, Maglev tables",
       ACT(CMD_SHOW_FLEET)),
    END,
};

/* sync vpp lb state [NAME] (or the older `sync vpp lbstate [NAME]`) */
static const struct cmd_node sync[] = {
    KW("vpp", "Make VPP match maglevd",
       KIDS(KW("lb", "VPP's load-balancer plugin",
               KIDS(KW("state", "Apply what VPP's LB state lacks, all VIPs or one frontend's",
                       ACT(CMD_SYNC_VPP_LB_STATE), .children = sync_vpp_frontend))),
            KW("lbstate", "Same as \"lb state\"", ACT(CMD_SYNC_VPP_LB_STATE), HIDDEN,
               .children = sync_vpp_frontend))),
    END,
};

/* --max-disruption PCT and --force after a change of weights, any order:
 * one array per action, as the options carry it */
#define GUARD_OPTIONS(name, a)                                                                     \
    static const struct cmd_node name[] = {                                                        \
        KW("--max-disruption", "Refuse the change if it moves more than PCT % of a VIP's buckets", \
           KIDS(NUMBER(1, 100, "Largest share of a VIP's new-flow table moved, %",                 \
                       ARG(ARG_MAX_DISRUPTION), ACT(a)))),                                         \
        KW("--force", "Apply the change whatever it moves (no limit)", ARG(ARG_FORCE), ACT(a)),    \
        END,                                                                                       \
    }

GUARD_OPTIONS(pause_options, CMD_SET_BACKEND_PAUSE);
GUARD_OPTIONS(resume_options, CMD_SET_BACKEND_RESUME);
GUARD_OPTIONS(enable_options, CMD_SET_BACKEND_ENABLE);
GUARD_OPTIONS(disable_options, CMD_SET_BACKEND_DISABLE);
GUARD_OPTIONS(weight_options, CMD_SET_FRONTEND_WEIGHT);

static const struct cmd_node set_backend_ops[] = {
    KW("pause", "Stop health checking; keep the current state", ACT(CMD_SET_BACKEND_PAUSE),
       .flags = CMD_F_OPTIONS, .children = pause_options),
    KW("resume", "Resume health checking", ACT(CMD_SET_BACKEND_RESUME), .flags = CMD_F_OPTIONS,
       .children = resume_options),
    KW("enable", "Put the backend back in service", ACT(CMD_SET_BACKEND_ENABLE),
       .flags = CMD_F_OPTIONS, .children = enable_options),
    KW("disable", "Take the backend out of service", ACT(CMD_SET_BACKEND_DISABLE),
       .flags = CMD_F_OPTIONS, .children = disable_options),
    KW("damping", "Flap damping of the backend",
       KIDS(KW("clear", "Penalty to 0 and end a suppression (up at once if its probes pass)",
               ACT(CMD_SET_BACKEND_DAMPING_CLEAR)))),
    END,
};

/* set frontend NAME pool POOL backend NAME weight 0-100, one step per array */
static const struct cmd_node set_weight[] = {
    NUMBER(0, 100, "Weight", ARG(ARG_WEIGHT), ACT(CMD_SET_FRONTEND_WEIGHT), .flags = CMD_F_OPTIONS,
           .children = weight_options),
    END,
};

static const struct cmd_node set_pool_backend[] = {
    NAME(CMD_SLOT_BACKEND, "NAME", "Backend name", ARG(ARG_BACKEND),
         KIDS(KW("weight", "Set the backend's weight in the pool", .children = set_weight))),
    END,
};

static const struct cmd_node set_pool[] = {
    NAME(CMD_SLOT_POOL, "POOL", "Pool name", ARG(ARG_POOL),
         KIDS(KW("backend", "Change a backend in the pool", .children = set_pool_backend))),
    END,
};

/* plan set ...: the same changes, shown (what they would move), not made */
static const struct cmd_node plan_backend_ops[] = {
    KW("disable", "What taking it out of service would move", ARG(ARG_CHANGE),
       ACT(CMD_PLAN_BACKEND_CHANGE)),
    KW("pause", "What pausing it (draining, weight 0) would move", ARG(ARG_CHANGE),
       ACT(CMD_PLAN_BACKEND_CHANGE)),
    KW("enable", "What its return (enabled, probes passing) would move", ARG(ARG_CHANGE),
       ACT(CMD_PLAN_BACKEND_CHANGE)),
    KW("resume", "What its return (resumed, probes passing) would move", ARG(ARG_CHANGE),
       ACT(CMD_PLAN_BACKEND_CHANGE)),
    END,
};

static const struct cmd_node plan_weight[] = {
    NUMBER(0, 100, "Weight", ARG(ARG_WEIGHT), ACT(CMD_PLAN_FRONTEND_WEIGHT)),
    END,
};

static const struct cmd_node plan_pool_backend[] = {
    NAME(CMD_SLOT_BACKEND, "NAME", "Backend name", ARG(ARG_BACKEND),
         KIDS(KW("weight", "What this weight in the pool would move", .children = plan_weight))),
    END,
};

static const struct cmd_node plan_pool[] = {
    NAME(CMD_SLOT_POOL, "POOL", "Pool name", ARG(ARG_POOL),
         KIDS(KW("backend", "A backend in the pool", .children = plan_pool_backend))),
    END,
};

static const struct cmd_node plan_set[] = {
    KW("backend", "A backend's state",
       KIDS(NAME(CMD_SLOT_BACKEND, "NAME", "Backend name", ARG(ARG_BACKEND),
                 .children = plan_backend_ops))),
    KW("frontend", "A backend's weight in a frontend's pool",
       KIDS(NAME(CMD_SLOT_FRONTEND, "NAME", "Frontend name", ARG(ARG_FRONTEND),
                 KIDS(KW("pool", "A pool of the frontend", .children = plan_pool))))),
    END,
};

static const struct cmd_node set[] = {
    KW("backend", "Change a backend",
       KIDS(NAME(CMD_SLOT_BACKEND, "NAME", "Backend name", ARG(ARG_BACKEND),
                 .children = set_backend_ops))),
    KW("frontend", "Change a frontend",
       KIDS(NAME(CMD_SLOT_FRONTEND, "NAME", "Frontend name", ARG(ARG_FRONTEND),
                 KIDS(KW("pool", "Change a pool of the frontend", .children = set_pool))))),
    KW("mass-failure", "The mass-failure guard",
       KIDS(KW("release", "Confirm the failure: end the hold, apply the backends' real states",
               ACT(CMD_SET_MASS_FAILURE_RELEASE)))),
    END,
};

/* plan vpp lb state [NAME]: what sync would do, nothing applied; plan set
 * ...: what a change would move in VPP's new-flow tables, nothing changed */
static const struct cmd_node plan[] = {
    KW("vpp", "Show what a sync of VPP would change",
       KIDS(KW("lb", "VPP's load-balancer plugin",
               KIDS(KW("state", "List the operations a sync would apply, applying none",
                       ACT(CMD_PLAN_VPP_LB_STATE), .children = plan_vpp_frontend))))),
    KW("set", "Show what a change would move in VPP's tables, changing nothing",
       .children = plan_set),
    END,
};

static const struct cmd_node config[] = {
    KW("check", "Check the configuration file without loading it", ACT(CMD_CONFIG_CHECK)),
    KW("reload", "Reload the configuration file", ACT(CMD_CONFIG_RELOAD)),
    END,
};

/* watch events [num N] [log [level LEVEL]] [backend] [frontend] [vpp], any order */
static const struct cmd_node watch_options[] = {
    KW("num", "Stop after N events, the initial state included",
       KIDS(NUMBER(1, 1000000, "Number of events", ARG(ARG_NUM), WATCH_END))),
    KW("log", "Log records", ARG(ARG_LOG), WATCH_END,
       KIDS(KW("level", "Minimum level of log records (default info)",
               KIDS(KW("debug", "Debug and above", ARG(ARG_LEVEL), WATCH_END),
                    KW("info", "Info and above", ARG(ARG_LEVEL), WATCH_END),
                    KW("warn", "Warnings and errors", ARG(ARG_LEVEL), WATCH_END),
                    KW("error", "Errors only", ARG(ARG_LEVEL), WATCH_END))))),
    KW("backend", "Backend state transitions", ARG(ARG_EVENT_BACKEND), WATCH_END),
    KW("frontend", "Frontend state changes", ARG(ARG_EVENT_FRONTEND), WATCH_END),
    KW("vpp", "Weight changes maglevd made in VPP", ARG(ARG_EVENT_VPP), WATCH_END),
    END,
};

static const struct cmd_node watch[] = {
    KW("events", "Stream events (all kinds unless some are chosen)", WATCH_END,
       .flags = CMD_F_OPTIONS, .children = watch_options),
    END,
};

static const struct cmd_node top[] = {
    KW("show", "Show state", .children = show),
    KW("set", "Change state", .children = set),
    KW("sync", "Bring VPP in line with maglevd", .children = sync),
    KW("plan", "Show what a sync or a change would do, changing nothing", .children = plan),
    KW("config", "Check or reload the configuration", .children = config),
    KW("watch", "Follow events as they happen", .children = watch),
    KW("help", "Explain the shell", ACT(CMD_HELP)),
    KW("quit", "Leave the shell", ACT(CMD_QUIT)),
    KW("exit", "Leave the shell", ACT(CMD_QUIT)),
    END,
};

const struct cmd_node cli_commands = { .kind = CMD_KEYWORD, .help = "", .children = top };
