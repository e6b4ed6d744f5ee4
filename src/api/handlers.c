/* handlers.c: the maglev.Maglev RPCs on the loop thread. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/api_int.h"
#include "api/build.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/version.h"

#define REPLY(call, arena, msg)                                                                    \
    do {                                                                                           \
        api_reply((call), (const ProtobufCMessage *)(msg));                                        \
        arena_free(arena);                                                                         \
    } while (0)

_Static_assert(API_NAME_SHOWN > CONFIG_NAME_MAX, "a cut name must never match a config name");

const char *api_name_shown(const char *name, char buf[API_NAME_BUF])
{
    if (!name || strnlen(name, API_NAME_SHOWN + 1) <= API_NAME_SHOWN)
        return name;
    size_t n = API_NAME_SHOWN;
    while (n > 0 && ((unsigned char)name[n] & 0xc0) == 0x80)
        n--; /* name[n] continues a character: cut before that character */
    memcpy(buf, name, n);
    memcpy(buf + n, "...", 4);
    return buf;
}

static bool name_given(struct api_call *call, const char *name, const char *what)
{
    if (name && *name)
        return true;
    api_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "%s name is empty", what);
    return false;
}

static void get_version(struct api_call *call, const ProtobufCMessage *req, void *ctx)
{
    (void)req;
    struct api *api = ctx;
    Maglev__VersionInfo m = MAGLEV__VERSION_INFO__INIT;
    m.version = (char *)version_string();
    m.commit = (char *)version_commit();
    m.build_date = (char *)version_date();
    m.start_time_us = core_start_us(api->core);
    m.pid = getpid();
    m.config_path = (char *)core_config_path(api->core);
    m.config_hash = (char *)core_config_hash(api->core);
    struct checker_watch w;
    char reasons[96];
    core_health_watch(api->core, &w);
    m.checker_status = w.reasons ? "degraded" : "ok";
    m.checker_reasons = (char *)health_watch_reasons_text(w.reasons, reasons, sizeof(reasons));
    m.checker_stale_backends = w.stale;
    m.checker_probe_error_backends = w.probe_errors;
    m.checker_window_probes = w.window_started;
    m.checker_window_late = w.window_late;
    m.checker_degraded_since_us = w.since_us;
    api_reply(call, (const ProtobufCMessage *)&m);
}

static void list_frontends(struct api_call *call, const ProtobufCMessage *req, void *ctx)
{
    (void)req;
    struct core *c = ((struct api *)ctx)->core;
    struct arena a = ARENA_INIT;
    Maglev__ListFrontendsResponse m = MAGLEV__LIST_FRONTENDS_RESPONSE__INIT;
    m.n_frontends = core_config(c)->n_frontends;
    m.frontends = ar_array(&a, Maglev__Frontend *, m.n_frontends);
    for (size_t i = 0; i < m.n_frontends; i++)
        m.frontends[i] = api_build_frontend(&a, c, i);
    REPLY(call, &a, &m);
}

static void get_frontend(struct api_call *call, const ProtobufCMessage *req, void *ctx)
{
    const Maglev__GetFrontendRequest *r = (const void *)req;
    struct core *c = ((struct api *)ctx)->core;
    if (!name_given(call, r->name, "frontend"))
        return;
    const struct frontend_conf *fe = config_find_frontend(core_config(c), r->name);
    if (!fe) {
        char shown[API_NAME_BUF];
        api_fail(call, GRPC_STATUS_NOT_FOUND, "frontend \"%s\" not found",
                 api_name_shown(r->name, shown));
        return;
    }
    struct arena a = ARENA_INIT;
    REPLY(call, &a, api_build_frontend(&a, c, (size_t)(fe - core_config(c)->frontends)));
}

static void list_backends(struct api_call *call, const ProtobufCMessage *req, void *ctx)
{
    (void)req;
    struct core *c = ((struct api *)ctx)->core;
    struct arena a = ARENA_INIT;
    Maglev__ListBackendsResponse m = MAGLEV__LIST_BACKENDS_RESPONSE__INIT;
    m.n_backends = core_config(c)->n_backends;
    m.backends = ar_array(&a, Maglev__Backend *, m.n_backends);
    for (size_t i = 0; i < m.n_backends; i++)
        m.backends[i] = api_build_backend(&a, c, i);
    REPLY(call, &a, &m);
}

/* The config index of a backend named in a request, or -1 (reported). */
static long find_backend(struct api_call *call, const struct core *c, const char *name)
{
    if (!name_given(call, name, "backend"))
        return -1;
    const struct backend_conf *b = config_find_backend(core_config(c), name);
    if (!b) {
        char shown[API_NAME_BUF];
        api_fail(call, GRPC_STATUS_NOT_FOUND, "backend \"%s\" not found",
                 api_name_shown(name, shown));
        return -1;
    }
    return b - core_config(c)->backends;
}

static void get_backend(struct api_call *call, const ProtobufCMessage *req, void *ctx)
{
    const Maglev__GetBackendRequest *r = (const void *)req;
    struct core *c = ((struct api *)ctx)->core;
    long i = find_backend(call, c, r->name);
    if (i < 0)
        return;
    struct arena a = ARENA_INIT;
    REPLY(call, &a, api_build_backend(&a, c, (size_t)i));
}

static void list_healthchecks(struct api_call *call, const ProtobufCMessage *req, void *ctx)
{
    (void)req;
    struct core *c = ((struct api *)ctx)->core;
    struct arena a = ARENA_INIT;
    Maglev__ListHealthChecksResponse m = MAGLEV__LIST_HEALTH_CHECKS_RESPONSE__INIT;
    m.n_healthchecks = core_config(c)->n_healthchecks;
    m.healthchecks = ar_array(&a, Maglev__HealthCheck *, m.n_healthchecks);
    for (size_t i = 0; i < m.n_healthchecks; i++)
        m.healthchecks[i] = api_build_healthcheck(&a, c, i);
    REPLY(call, &a, &m);
}

static void get_healthcheck(struct api_call *call, const ProtobufCMessage *req, void *ctx)
{
    const Maglev__GetHealthCheckRequest *r = (const void *)req;
    struct core *c = ((struct api *)ctx)->core;
    if (!name_given(call, r->name, "healthcheck"))
        return;
    const struct healthcheck_conf *h = config_find_healthcheck(core_config(c), r->name);
    if (!h) {
        char shown[API_NAME_BUF];
        api_fail(call, GRPC_STATUS_NOT_FOUND, "healthcheck \"%s\" not found",
                 api_name_shown(r->name, shown));
        return;
    }
    struct arena a = ARENA_INIT;
    REPLY(call, &a, api_build_healthcheck(&a, c, (size_t)(h - core_config(c)->healthchecks)));
}

static void backend_action(struct api_call *call, const ProtobufCMessage *req, void *ctx,
                           int (*fn)(struct core *, const char *), const char *verb)
{
    const Maglev__BackendActionRequest *r = (const void *)req;
    struct core *c = ((struct api *)ctx)->core;
    long i = find_backend(call, c, r->name);
    if (i < 0)
        return;
    struct core_change ch = { .backend = r->name };
    if (r->max_disruption_pct > 0 && core_change_action_parse(verb, &ch.action) == 0 &&
        !api_disruption_allowed(call, c, &ch, r->max_disruption_pct, verb))
        return;
    int rc = fn(c, r->name);
    if (rc == -EPERM) {
        api_fail(call, GRPC_STATUS_FAILED_PRECONDITION,
                 "cannot %s backend \"%s\": it is disabled; enable it first", verb, r->name);
        return;
    }
    if (rc < 0) {
        char shown[API_NAME_BUF];
        api_fail(call, GRPC_STATUS_NOT_FOUND, "backend \"%s\" not found",
                 api_name_shown(r->name, shown));
        return;
    }
    log_info("operator-action", LOG_STR("action", verb), LOG_STR("backend", r->name),
             LOG_STR("peer", api_call_peer(call)));
    struct arena a = ARENA_INIT;
    REPLY(call, &a, api_build_backend(&a, c, (size_t)i));
}

static void pause_backend(struct api_call *call, const ProtobufCMessage *req, void *ctx)
{
    backend_action(call, req, ctx, core_pause, "pause");
}

static void resume_backend(struct api_call *call, const ProtobufCMessage *req, void *ctx)
{
    backend_action(call, req, ctx, core_resume, "resume");
}

static void enable_backend(struct api_call *call, const ProtobufCMessage *req, void *ctx)
{
    backend_action(call, req, ctx, core_enable, "enable");
}

static void disable_backend(struct api_call *call, const ProtobufCMessage *req, void *ctx)
{
    backend_action(call, req, ctx, core_disable, "disable");
}

static void clear_backend_damping(struct api_call *call, const ProtobufCMessage *req, void *ctx)
{
    const Maglev__BackendActionRequest *r = (const void *)req;
    struct core *c = ((struct api *)ctx)->core;
    long i = find_backend(call, c, r->name);
    if (i < 0)
        return;
    int rc = core_damping_clear(c, r->name);
    if (rc == -EOPNOTSUPP) {
        api_fail(call, GRPC_STATUS_FAILED_PRECONDITION,
                 "backend \"%s\" has no damping: its healthcheck has no damping: setting", r->name);
        return;
    }
    if (rc < 0) {
        char shown[API_NAME_BUF];
        api_fail(call, GRPC_STATUS_NOT_FOUND, "backend \"%s\" not found",
                 api_name_shown(r->name, shown));
        return;
    }
    log_info("operator-action", LOG_STR("action", "damping-clear"), LOG_STR("backend", r->name),
             LOG_STR("peer", api_call_peer(call)));
    struct arena a = ARENA_INIT;
    REPLY(call, &a, api_build_backend(&a, c, (size_t)i));
}

static void set_weight(struct api_call *call, const ProtobufCMessage *req, void *ctx)
{
    const Maglev__SetWeightRequest *r = (const void *)req;
    struct core *c = ((struct api *)ctx)->core;
    if (!name_given(call, r->frontend, "frontend") || !name_given(call, r->pool, "pool") ||
        !name_given(call, r->backend, "backend"))
        return;
    if (r->weight > CONFIG_WEIGHT_MAX) {
        api_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "weight %u out of range 0..%d", r->weight,
                 CONFIG_WEIGHT_MAX);
        return;
    }
    /* the names as core_set_weight echoes them in its error: a cut name
     * matches nothing, as the whole one would not */
    char fe_buf[API_NAME_BUF], pool_buf[API_NAME_BUF], be_buf[API_NAME_BUF], err[512];
    struct core_change ch = { .action = CORE_CHANGE_WEIGHT,
                              .backend = api_name_shown(r->backend, be_buf),
                              .frontend = api_name_shown(r->frontend, fe_buf),
                              .pool = api_name_shown(r->pool, pool_buf),
                              .weight = (uint8_t)r->weight };
    if (!api_disruption_allowed(call, c, &ch, r->max_disruption_pct, "set-weight"))
        return;
    if (core_set_weight(c, api_name_shown(r->frontend, fe_buf), api_name_shown(r->pool, pool_buf),
                        api_name_shown(r->backend, be_buf), (uint8_t)r->weight, err,
                        sizeof(err)) < 0) {
        api_fail(call, GRPC_STATUS_NOT_FOUND, "%s", err);
        return;
    }
    log_info("operator-action", LOG_STR("action", "set-weight"), LOG_STR("frontend", r->frontend),
             LOG_STR("pool", r->pool), LOG_STR("backend", r->backend),
             LOG_UINT("weight", r->weight), LOG_STR("peer", api_call_peer(call)));
    const struct frontend_conf *fe = config_find_frontend(core_config(c), r->frontend);
    struct arena a = ARENA_INIT;
    REPLY(call, &a, api_build_frontend(&a, c, (size_t)(fe - core_config(c)->frontends)));
}

static Maglev__MassFailureGuard *build_guard(struct arena *a, const struct core *c)
{
    struct core_guard_view v;
    core_guard(c, &v);
    Maglev__MassFailureGuard *m = ar_new(a, Maglev__MassFailureGuard);
    maglev__mass_failure_guard__init(m);
    m->threshold_pct = v.pct;
    m->window_us = v.window_us;
    m->holding = v.holding;
    m->since_us = v.since_us;
    m->trip_downs = v.trip_downs;
    m->downs_in_window = (uint32_t)v.downs_in_window;
    m->total_backends = (uint32_t)v.total;
    m->trips = v.trips;
    m->held_backends = ar_array(a, char *, v.n_held ? v.n_held : 1);
    for (size_t i = 0; i < v.total && m->n_held_backends < v.n_held; i++)
        if (core_backend_held(c, i))
            m->held_backends[m->n_held_backends++] = core_config(c)->backends[i].name;
    return m;
}

static void get_guard(struct api_call *call, const ProtobufCMessage *req, void *ctx)
{
    (void)req;
    struct arena a = ARENA_INIT;
    REPLY(call, &a, build_guard(&a, ((struct api *)ctx)->core));
}

static void release_guard(struct api_call *call, const ProtobufCMessage *req, void *ctx)
{
    (void)req;
    struct core *c = ((struct api *)ctx)->core;
    if (core_guard_release(c) < 0) {
        api_fail(call, GRPC_STATUS_FAILED_PRECONDITION,
                 "the mass-failure guard is not holding; nothing to release");
        return;
    }
    log_info("operator-action", LOG_STR("action", "mass-failure-release"),
             LOG_STR("peer", api_call_peer(call)));
    struct arena a = ARENA_INIT;
    REPLY(call, &a, build_guard(&a, c));
}

static void check_config(struct api_call *call, const ProtobufCMessage *req, void *ctx)
{
    (void)req;
    struct core *c = ((struct api *)ctx)->core;
    struct config_diags d = { 0 };
    struct maglev_config *cfg = NULL;
    log_info("operator-action", LOG_STR("action", "check"), LOG_STR("peer", api_call_peer(call)));
    core_check(c, &cfg, &d);
    struct arena a = ARENA_INIT;
    Maglev__ConfigResult *m = api_build_config_result(&a, c, &d, cfg);
    config_free(cfg);
    config_diags_free(&d);
    REPLY(call, &a, m);
}

/* ReloadConfig: answered when the reload is done (the file is read off the
 * loop, see core_reload_start); the loop serves other calls meanwhile. */
struct reload_call {
    struct api_call *call;
    struct core *core;
    struct core_reload_waiter *waiter;
};

static void reload_cancelled(struct api_call *call, void *ctx)
{
    (void)call;
    struct reload_call *r = ctx;
    core_reload_forget(r->core, r->waiter);
    free(r);
}

static void reload_done(void *ctx, int rc, const struct config_diags *d,
                        const struct checker_reload_stats *st)
{
    struct reload_call *r = ctx;
    struct api_call *call = r->call;
    api_call_on_cancel(call, NULL, NULL);
    struct arena a = ARENA_INIT;
    Maglev__ConfigResult *m =
        api_build_config_result(&a, r->core, d, rc == 0 ? core_config(r->core) : NULL);
    m->added = st->added;
    m->changed = st->changed;
    m->removed = st->removed;
    m->unchanged = st->unchanged;
    free(r);
    REPLY(call, &a, m);
}

static void reload_config(struct api_call *call, const ProtobufCMessage *req, void *ctx)
{
    (void)req;
    struct reload_call *r = mem_calloc(1, sizeof(*r));
    r->call = call;
    r->core = ((struct api *)ctx)->core;
    log_info("operator-action", LOG_STR("action", "reload"), LOG_STR("peer", api_call_peer(call)));
    api_call_on_cancel(call, reload_cancelled, r);
    r->waiter = core_reload_start(r->core, reload_done, r);
}

const struct api_method api_methods[] = {
    { "GetVersion", get_version, false },
    { "ListFrontends", list_frontends, false },
    { "GetFrontend", get_frontend, false },
    { "ListBackends", list_backends, false },
    { "GetBackend", get_backend, false },
    { "ListHealthChecks", list_healthchecks, false },
    { "GetHealthCheck", get_healthcheck, false },
    { "PauseBackend", pause_backend, false },
    { "ResumeBackend", resume_backend, false },
    { "EnableBackend", enable_backend, false },
    { "DisableBackend", disable_backend, false },
    { "ClearBackendDamping", clear_backend_damping, false },
    { "SetFrontendPoolBackendWeight", set_weight, false },
    { "PlanBackendChange", api_plan_change, false },
    { "GetMassFailureGuard", get_guard, false },
    { "ReleaseMassFailureGuard", release_guard, false },
    { "CheckConfig", check_config, false },
    { "ReloadConfig", reload_config, false },
    { "GetVPPInfo", api_vpp_get_info, false },
    { "GetVPPLBState", api_vpp_get_lb_state, false },
    { "SyncVPPLBState", api_vpp_sync, false },
    { "PlanVPPLBState", api_vpp_plan, false },
    { "GetVPPLBCounters", api_vpp_get_lb_counters, false },
    { "WatchEvents", api_events_watch, true },
};
const size_t api_n_methods = sizeof(api_methods) / sizeof(api_methods[0]);
