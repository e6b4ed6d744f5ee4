/* actions: action id → RPC → render or JSON (see actions.h). */
#include "cli/actions.h"

#include <stdlib.h>
#include <string.h>

#include "cli/json.h"
#include "cli/render.h"
#include "common/clock.h"
#include "common/mem.h"
#include "common/version.h"

/* ---- output ---- */

static void emit(struct session *s, struct strbuf *sb)
{
    fputs(strbuf_str(sb), s->out);
    fflush(s->out);
    strbuf_free(sb);
}

void action_error(struct session *s, const char *msg)
{
    struct strbuf sb = STRBUF_INIT;
    render_error(&sb, s->err_color, msg);
    fputs(strbuf_str(&sb), s->err);
    fflush(s->err);
    strbuf_free(&sb);
}

static void emit_json(struct session *s, const ProtobufCMessage *m)
{
    struct strbuf sb = STRBUF_INIT;
    json_message(&sb, m, true, 0);
    strbuf_addc(&sb, '\n');
    emit(s, &sb);
}

static struct render_opts ropts(const struct session *s)
{
    return (struct render_opts){ .color = s->color, .now_us = clock_wall_us() };
}

void action_status_message(const struct session *s, const struct client_status *st, char *buf,
                           size_t len)
{
    switch (st->code) {
    case CLIENT_UNAVAILABLE: {
        if (st->connected && st->message[0]) { /* maglevd's own: "VPP is not connected" */
            snprintf(buf, len, "%s", st->message);
            break;
        }
        /* "failed to connect to all addresses; last error: UNKNOWN:
         * unix:/x: No such file or directory": the last part says it */
        const char *why = strrchr(st->message, ':');
        why = why && why[1] ? why + 1 : st->message;
        while (*why == ' ')
            why++;
        snprintf(buf, len, "cannot reach maglevd at %s: %s", s->addr, why);
        break;
    }
    case CLIENT_DEADLINE_EXCEEDED:
        snprintf(buf, len, "maglevd at %s did not answer in time", s->addr);
        break;
    case CLIENT_UNIMPLEMENTED:
        snprintf(buf, len, "maglevd does not implement this (%s)", st->message);
        break;
    case CLIENT_CANCELLED:
        snprintf(buf, len, "interrupted");
        break;
    default:
        snprintf(buf, len, "%s", st->message[0] ? st->message : client_code_name(st->code));
        break;
    }
}

static int fail(struct session *s, const struct client_status *st)
{
    char msg[640];
    action_status_message(s, st, msg, sizeof(msg));
    action_error(s, msg);
    return EXIT_SERVER;
}

/* One unary call; on failure the error is printed and NULL returned. */
static ProtobufCMessage *call(struct session *s, const char *method, const ProtobufCMessage *req,
                              const ProtobufCMessageDescriptor *desc, int *rc)
{
    ProtobufCMessage *resp;
    struct client_status st;
    if (client_call(s->client, method, req, desc, &resp, &st) < 0) {
        *rc = fail(s, &st);
        return NULL;
    }
    *rc = EXIT_OK;
    return resp;
}

/* ---- commands ---- */

Maglev__VersionInfo *action_server_version(struct session *s, struct client_status *st)
{
    Maglev__GetVersionRequest req = MAGLEV__GET_VERSION_REQUEST__INIT;
    ProtobufCMessage *resp;
    if (client_call(s->client, "GetVersion", &req.base, &maglev__version_info__descriptor, &resp,
                    st) < 0)
        return NULL;
    return (Maglev__VersionInfo *)resp;
}

static int show_version(struct session *s)
{
    struct client_status st;
    Maglev__VersionInfo *v = action_server_version(s, &st);
    struct strbuf sb = STRBUF_INIT;
    if (s->json) {
        json_version(&sb, version_string(), version_commit(), version_date(), v ? &v->base : NULL,
                     true);
        strbuf_addc(&sb, '\n');
    } else {
        struct client_version cv = { version_string(), version_commit(), version_date() };
        struct render_opts o = ropts(s);
        render_version(&sb, &o, &cv, v);
    }
    emit(s, &sb);
    if (!v)
        return fail(s, &st);
    protobuf_c_message_free_unpacked(&v->base, NULL);
    return EXIT_OK;
}

/* The Get/List calls: a request with at most a name, one renderer. */
struct show_kind {
    const char *method;
    const ProtobufCMessageDescriptor *req_desc, *resp_desc;
    void (*render)(struct strbuf *, const struct render_opts *, const void *);
};

/* Adapters from the typed renderers to the table's generic signature. */
#define RENDER_ADAPTER(fn, type)                                                                   \
    static void fn##_any(struct strbuf *sb, const struct render_opts *o, const void *m)            \
    {                                                                                              \
        fn(sb, o, (const type *)m);                                                                \
    }
RENDER_ADAPTER(render_frontends, Maglev__ListFrontendsResponse)
RENDER_ADAPTER(render_frontend, Maglev__Frontend)
RENDER_ADAPTER(render_backends, Maglev__ListBackendsResponse)
RENDER_ADAPTER(render_backend, Maglev__Backend)
RENDER_ADAPTER(render_healthchecks, Maglev__ListHealthChecksResponse)
RENDER_ADAPTER(render_healthcheck, Maglev__HealthCheck)
RENDER_ADAPTER(render_vpp_info, Maglev__VPPInfo)
RENDER_ADAPTER(render_vpp_lb_state, Maglev__VPPLBState)
RENDER_ADAPTER(render_vpp_lb_counters, Maglev__VPPLBCounters)
RENDER_ADAPTER(render_mass_failure, Maglev__MassFailureGuard)
#define RENDER(f) f##_any

static const struct show_kind shows[] = {
    [CMD_SHOW_FRONTENDS] = { "ListFrontends", &maglev__list_frontends_request__descriptor,
                             &maglev__list_frontends_response__descriptor,
                             RENDER(render_frontends) },
    [CMD_SHOW_FRONTEND] = { "GetFrontend", &maglev__get_frontend_request__descriptor,
                            &maglev__frontend__descriptor, RENDER(render_frontend) },
    [CMD_SHOW_BACKENDS] = { "ListBackends", &maglev__list_backends_request__descriptor,
                            &maglev__list_backends_response__descriptor, RENDER(render_backends) },
    [CMD_SHOW_BACKEND] = { "GetBackend", &maglev__get_backend_request__descriptor,
                           &maglev__backend__descriptor, RENDER(render_backend) },
    [CMD_SHOW_HEALTHCHECKS] = { "ListHealthChecks", &maglev__list_health_checks_request__descriptor,
                                &maglev__list_health_checks_response__descriptor,
                                RENDER(render_healthchecks) },
    [CMD_SHOW_HEALTHCHECK] = { "GetHealthCheck", &maglev__get_health_check_request__descriptor,
                               &maglev__health_check__descriptor, RENDER(render_healthcheck) },
    [CMD_SHOW_VPP_INFO] = { "GetVPPInfo", &maglev__get_vppinfo_request__descriptor,
                            &maglev__vppinfo__descriptor, RENDER(render_vpp_info) },
    [CMD_SHOW_MASS_FAILURE] = { "GetMassFailureGuard",
                                &maglev__get_mass_failure_guard_request__descriptor,
                                &maglev__mass_failure_guard__descriptor,
                                RENDER(render_mass_failure) },
};

static int show(struct session *s, int action, const char *name)
{
    const struct show_kind *k = &shows[action];
    /* The Get requests are all { string name = 1; }: fill the field by
     * descriptor rather than by type. */
    ProtobufCMessage *req = mem_calloc(1, k->req_desc->sizeof_message);
    protobuf_c_message_init(k->req_desc, req);
    if (name) {
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field_by_name(k->req_desc, "name");
        if (f)
            *(const char **)((char *)req + f->offset) = name;
    }
    int rc;
    ProtobufCMessage *resp = call(s, k->method, req, k->resp_desc, &rc);
    free(req);
    if (!resp)
        return rc;
    if (s->json) {
        emit_json(s, resp);
    } else {
        struct strbuf sb = STRBUF_INIT;
        struct render_opts o = ropts(s);
        k->render(&sb, &o, resp);
        emit(s, &sb);
    }
    protobuf_c_message_free_unpacked(resp, NULL);
    return EXIT_OK;
}

/* The text or the JSON of an answer on the session's output. */
static void output(struct session *s, const ProtobufCMessage *resp,
                   void (*render)(struct strbuf *, const struct render_opts *, const void *))
{
    if (s->json) {
        emit_json(s, resp);
        return;
    }
    struct strbuf sb = STRBUF_INIT;
    struct render_opts o = ropts(s);
    render(&sb, &o, resp);
    emit(s, &sb);
}

/* ---- VPP ---- */

static int show_vpp_lb_state(struct session *s, const char *frontend)
{
    Maglev__GetVPPLBStateRequest req = MAGLEV__GET_VPPLBSTATE_REQUEST__INIT;
    if (frontend) {
        req.scope_case = MAGLEV__GET_VPPLBSTATE_REQUEST__SCOPE_FRONTEND;
        req.frontend = (char *)frontend;
    }
    int rc;
    ProtobufCMessage *resp =
        call(s, "GetVPPLBState", &req.base, &maglev__vpplbstate__descriptor, &rc);
    if (!resp)
        return rc;
    output(s, resp, RENDER(render_vpp_lb_state));
    protobuf_c_message_free_unpacked(resp, NULL);
    return EXIT_OK;
}

static int show_vpp_lb_counters(struct session *s, const char *frontend)
{
    Maglev__GetVPPLBCountersRequest req = MAGLEV__GET_VPPLBCOUNTERS_REQUEST__INIT;
    if (frontend) {
        req.scope_case = MAGLEV__GET_VPPLBCOUNTERS_REQUEST__SCOPE_FRONTEND;
        req.frontend = (char *)frontend;
    }
    int rc;
    ProtobufCMessage *resp =
        call(s, "GetVPPLBCounters", &req.base, &maglev__vpplbcounters__descriptor, &rc);
    if (!resp)
        return rc;
    output(s, resp, RENDER(render_vpp_lb_counters));
    protobuf_c_message_free_unpacked(resp, NULL);
    return EXIT_OK;
}

/* An operation VPP refused makes the command fail (exit status 1), like a
 * configuration that does not check: the output says which. */
static bool sync_failed(const Maglev__VPPLBSyncResult *r)
{
    if (r->failed)
        return true;
    for (size_t i = 0; i < r->n_ops; i++)
        if (r->ops[i]->error && *r->ops[i]->error)
            return true;
    return false;
}

static void render_sync_any(struct strbuf *sb, const struct render_opts *o, const void *m)
{
    render_vpp_sync(sb, o, m, false);
}

static void render_plan_any(struct strbuf *sb, const struct render_opts *o, const void *m)
{
    render_vpp_sync(sb, o, m, true);
}

static int vpp_sync(struct session *s, const char *frontend, bool plan)
{
    Maglev__SyncVPPLBStateRequest req = MAGLEV__SYNC_VPPLBSTATE_REQUEST__INIT;
    if (frontend) {
        req.scope_case = MAGLEV__SYNC_VPPLBSTATE_REQUEST__SCOPE_FRONTEND;
        req.frontend = (char *)frontend;
    }
    int rc;
    client_set_timeout(s->client, SYNC_TIMEOUT_MS); /* a full sync of a big VPP takes a while */
    ProtobufCMessage *resp = call(s, plan ? "PlanVPPLBState" : "SyncVPPLBState", &req.base,
                                  &maglev__vpplbsync_result__descriptor, &rc);
    client_set_timeout(s->client, ACTION_TIMEOUT_MS);
    if (!resp)
        return rc;
    output(s, resp, plan ? render_plan_any : render_sync_any);
    rc = sync_failed((const Maglev__VPPLBSyncResult *)resp) ? EXIT_SERVER : EXIT_OK;
    protobuf_c_message_free_unpacked(resp, NULL);
    return rc;
}

/* --max-disruption PCT: the limit sent; --force (or neither): 0, none */
static double max_disruption(const struct cmd_parsed *p)
{
    return p->arg[ARG_FORCE].str || !p->arg[ARG_MAX_DISRUPTION].str
               ? 0
               : (double)p->arg[ARG_MAX_DISRUPTION].num;
}

static int set_backend(struct session *s, int action, const char *name, double max_pct)
{
    static const char *const method[] = {
        [CMD_SET_BACKEND_PAUSE] = "PauseBackend",
        [CMD_SET_BACKEND_RESUME] = "ResumeBackend",
        [CMD_SET_BACKEND_ENABLE] = "EnableBackend",
        [CMD_SET_BACKEND_DISABLE] = "DisableBackend",
        [CMD_SET_BACKEND_DAMPING_CLEAR] = "ClearBackendDamping",
    };
    static const char *const done[] = {
        [CMD_SET_BACKEND_PAUSE] = "paused",
        [CMD_SET_BACKEND_RESUME] = "resumed",
        [CMD_SET_BACKEND_ENABLE] = "enabled",
        [CMD_SET_BACKEND_DISABLE] = "disabled",
        [CMD_SET_BACKEND_DAMPING_CLEAR] = "damping cleared",
    };
    Maglev__BackendActionRequest req = MAGLEV__BACKEND_ACTION_REQUEST__INIT;
    req.name = (char *)name;
    req.max_disruption_pct = max_pct;
    int rc;
    ProtobufCMessage *resp = call(s, method[action], &req.base, &maglev__backend__descriptor, &rc);
    if (!resp)
        return rc;
    if (s->json) {
        emit_json(s, resp);
    } else {
        struct strbuf sb = STRBUF_INIT;
        struct render_opts o = ropts(s);
        render_backend_action(&sb, &o, done[action], (Maglev__Backend *)resp);
        emit(s, &sb);
    }
    protobuf_c_message_free_unpacked(resp, NULL);
    return EXIT_OK;
}

static int set_weight(struct session *s, const struct cmd_parsed *p)
{
    Maglev__SetWeightRequest req = MAGLEV__SET_WEIGHT_REQUEST__INIT;
    req.frontend = (char *)p->arg[ARG_FRONTEND].str;
    req.pool = (char *)p->arg[ARG_POOL].str;
    req.backend = (char *)p->arg[ARG_BACKEND].str;
    req.weight = (uint32_t)p->arg[ARG_WEIGHT].num;
    req.max_disruption_pct = max_disruption(p);
    int rc;
    ProtobufCMessage *resp =
        call(s, "SetFrontendPoolBackendWeight", &req.base, &maglev__frontend__descriptor, &rc);
    if (!resp)
        return rc;
    if (s->json) {
        emit_json(s, resp);
    } else {
        struct strbuf sb = STRBUF_INIT;
        struct render_opts o = ropts(s);
        render_frontend(&sb, &o, (Maglev__Frontend *)resp);
        emit(s, &sb);
    }
    protobuf_c_message_free_unpacked(resp, NULL);
    return EXIT_OK;
}

static void render_plan_change_any(struct strbuf *sb, const struct render_opts *o, const void *m,
                                   const char *what)
{
    render_plan_change(sb, o, what, m);
}

/* plan set backend NAME ACTION | plan set frontend ... weight N */
static int plan_change(struct session *s, const struct cmd_parsed *p)
{
    Maglev__PlanChangeRequest req = MAGLEV__PLAN_CHANGE_REQUEST__INIT;
    req.backend = (char *)p->arg[ARG_BACKEND].str;
    char what[512];
    if (p->action == CMD_PLAN_FRONTEND_WEIGHT) {
        req.action = "weight";
        req.frontend = (char *)p->arg[ARG_FRONTEND].str;
        req.pool = (char *)p->arg[ARG_POOL].str;
        req.weight = (uint32_t)p->arg[ARG_WEIGHT].num;
        snprintf(what, sizeof(what), "weight %u for backend %s in pool %s of frontend %s",
                 req.weight, req.backend, req.pool, req.frontend);
    } else {
        req.action = (char *)p->arg[ARG_CHANGE].str;
        snprintf(what, sizeof(what), "%s backend %s", req.action, req.backend);
    }
    int rc;
    ProtobufCMessage *resp =
        call(s, "PlanBackendChange", &req.base, &maglev__plan_change_result__descriptor, &rc);
    if (!resp)
        return rc;
    if (s->json) {
        emit_json(s, resp);
    } else {
        struct strbuf sb = STRBUF_INIT;
        struct render_opts o = ropts(s);
        render_plan_change_any(&sb, &o, resp, what);
        emit(s, &sb);
    }
    protobuf_c_message_free_unpacked(resp, NULL);
    return EXIT_OK;
}

static int release_mass_failure(struct session *s)
{
    Maglev__ReleaseMassFailureGuardRequest req = MAGLEV__RELEASE_MASS_FAILURE_GUARD_REQUEST__INIT;
    int rc;
    ProtobufCMessage *resp =
        call(s, "ReleaseMassFailureGuard", &req.base, &maglev__mass_failure_guard__descriptor, &rc);
    if (!resp)
        return rc;
    output(s, resp, RENDER(render_mass_failure));
    protobuf_c_message_free_unpacked(resp, NULL);
    return EXIT_OK;
}

static int config(struct session *s, bool reload)
{
    Maglev__CheckConfigRequest req = MAGLEV__CHECK_CONFIG_REQUEST__INIT; /* both empty */
    int rc;
    ProtobufCMessage *resp = call(s, reload ? "ReloadConfig" : "CheckConfig", &req.base,
                                  &maglev__config_result__descriptor, &rc);
    if (!resp)
        return rc;
    const Maglev__ConfigResult *r = (const Maglev__ConfigResult *)resp;
    if (s->json) {
        emit_json(s, resp);
    } else {
        struct strbuf sb = STRBUF_INIT;
        struct render_opts o = ropts(s);
        render_config_result(&sb, &o, r, reload);
        emit(s, &sb);
    }
    rc = r->ok ? EXIT_OK : EXIT_SERVER;
    protobuf_c_message_free_unpacked(resp, NULL);
    return rc;
}

struct watch {
    struct session *s;
    long long num, seen; /* num 0 = no limit */
};

static int on_event(const ProtobufCMessage *m, void *ctx)
{
    struct watch *w = ctx;
    struct strbuf sb = STRBUF_INIT;
    if (w->s->json) {
        json_message(&sb, m, false, 0);
        strbuf_addc(&sb, '\n');
    } else {
        struct render_opts o = ropts(w->s);
        render_event(&sb, &o, (const Maglev__Event *)m);
    }
    emit(w->s, &sb);
    return w->num && ++w->seen >= w->num;
}

static int watch_events(struct session *s, const struct cmd_parsed *p)
{
    Maglev__WatchEventsRequest req = MAGLEV__WATCH_EVENTS_REQUEST__INIT;
    req.log = p->arg[ARG_LOG].str != NULL;
    req.log_level = (char *)(p->arg[ARG_LEVEL].str ? p->arg[ARG_LEVEL].str : "");
    req.backend = p->arg[ARG_EVENT_BACKEND].str != NULL;
    req.frontend = p->arg[ARG_EVENT_FRONTEND].str != NULL;
    req.vpp = p->arg[ARG_EVENT_VPP].str != NULL;
    if (!req.log && !req.backend && !req.frontend && !req.vpp) /* none chosen: all four kinds, */
        req.log = req.backend = req.frontend = req.vpp = true; /* as the server's default */
    struct watch w = { .s = s, .num = p->arg[ARG_NUM].str ? p->arg[ARG_NUM].num : 0 };
    struct client_status st;
    if (s->interactive && !s->json)
        fprintf(s->err, "watching events, Ctrl-C to stop\n");
    if (client_stream(s->client, "WatchEvents", &req.base, &maglev__event__descriptor, on_event, &w,
                      &st) < 0)
        return fail(s, &st);
    return EXIT_OK;
}

static void help(struct session *s)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "Commands (a unique prefix of a word is enough: \"sh ba\" is \"show "
                     "backends\"):\n");
    cmd_help(&cli_commands, "", NULL, NULL, &sb);
    strbuf_adds(&sb, "\nIn the shell: TAB completes commands and names, \"?\" lists what may "
                     "come next,\nUp/Down recall earlier commands (~/.maglevc_history), "
                     "Ctrl-C stops \"watch events\",\nCtrl-D or \"quit\" leaves.\n");
    emit(s, &sb);
}

int action_run(struct session *s, const struct cmd_parsed *p)
{
    switch (p->action) {
    case CMD_SHOW_VERSION:
        return show_version(s);
    case CMD_SHOW_FRONTENDS:
    case CMD_SHOW_BACKENDS:
    case CMD_SHOW_HEALTHCHECKS:
        return show(s, p->action, NULL);
    case CMD_SHOW_FRONTEND:
        return show(s, p->action, p->arg[ARG_FRONTEND].str);
    case CMD_SHOW_BACKEND:
        return show(s, p->action, p->arg[ARG_BACKEND].str);
    case CMD_SHOW_HEALTHCHECK:
        return show(s, p->action, p->arg[ARG_HEALTHCHECK].str);
    case CMD_SET_BACKEND_PAUSE:
    case CMD_SET_BACKEND_RESUME:
    case CMD_SET_BACKEND_ENABLE:
    case CMD_SET_BACKEND_DISABLE:
    case CMD_SET_BACKEND_DAMPING_CLEAR:
        return set_backend(s, p->action, p->arg[ARG_BACKEND].str, max_disruption(p));
    case CMD_SET_FRONTEND_WEIGHT:
        return set_weight(s, p);
    case CMD_CONFIG_CHECK:
        return config(s, false);
    case CMD_CONFIG_RELOAD:
        return config(s, true);
    case CMD_WATCH_EVENTS:
        return watch_events(s, p);
    case CMD_SHOW_VPP_INFO:
    case CMD_SHOW_MASS_FAILURE:
        return show(s, p->action, NULL);
    case CMD_SET_MASS_FAILURE_RELEASE:
        return release_mass_failure(s);
    case CMD_SHOW_VPP_LB_STATE:
        return show_vpp_lb_state(s, p->arg[ARG_FRONTEND].str);
    case CMD_SHOW_VPP_LB_COUNTERS:
        return show_vpp_lb_counters(s, p->arg[ARG_FRONTEND].str);
    case CMD_SYNC_VPP_LB_STATE:
        return vpp_sync(s, p->arg[ARG_FRONTEND].str, false);
    case CMD_PLAN_VPP_LB_STATE:
        return vpp_sync(s, p->arg[ARG_FRONTEND].str, true);
    case CMD_SHOW_FLEET:
        return action_show_fleet(s);
    case CMD_PLAN_BACKEND_CHANGE:
    case CMD_PLAN_FRONTEND_WEIGHT:
        return plan_change(s, p);
    case CMD_HELP:
        help(s);
        return EXIT_OK;
    case CMD_QUIT:
        return EXIT_OK;
    default:
        action_error(s, "unknown action");
        return EXIT_USAGE;
    }
}
