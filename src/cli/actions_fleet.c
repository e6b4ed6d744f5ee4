/* actions_fleet.c: maglevc with several servers: `show fleet`, and a
 * command run on each server in turn (see actions.h). */
#include <stdlib.h>
#include <string.h>

#include "cli/actions.h"
#include "cli/fleet.h"
#include "cli/json.h"

/* The clients and addresses to use: every server, or the session's one. */
static size_t servers(const struct session *s, struct client *const **clients,
                      const char *const **addrs)
{
    if (s->n_servers > 0) {
        *clients = s->clients;
        *addrs = s->servers;
        return s->n_servers;
    }
    *clients = &s->client;
    *addrs = &s->addr;
    return 1;
}

/* One server's answers for show fleet; NULL fields when not answered. */
struct fleet_answers {
    ProtobufCMessage *version, *frontends, *vpp;
    char error[640], vpp_error[640];
};

static ProtobufCMessage *ask(struct session *s, const char *method, const ProtobufCMessage *req,
                             const ProtobufCMessageDescriptor *desc, char *err, size_t errlen)
{
    ProtobufCMessage *resp;
    struct client_status st;
    if (client_call(s->client, method, req, desc, &resp, &st) == 0)
        return resp;
    action_status_message(s, &st, err, errlen);
    return NULL;
}

static void fleet_ask(struct session *s, struct fleet_answers *a)
{
    Maglev__GetVersionRequest vreq = MAGLEV__GET_VERSION_REQUEST__INIT;
    Maglev__ListFrontendsRequest freq = MAGLEV__LIST_FRONTENDS_REQUEST__INIT;
    Maglev__GetVPPLBStateRequest lreq = MAGLEV__GET_VPPLBSTATE_REQUEST__INIT;
    a->version = ask(s, "GetVersion", &vreq.base, &maglev__version_info__descriptor, a->error,
                     sizeof(a->error));
    if (!a->version)
        return;
    a->frontends = ask(s, "ListFrontends", &freq.base, &maglev__list_frontends_response__descriptor,
                       a->error, sizeof(a->error));
    if (!a->frontends)
        return;
    a->vpp = ask(s, "GetVPPLBState", &lreq.base, &maglev__vpplbstate__descriptor, a->vpp_error,
                 sizeof(a->vpp_error));
}

static void answers_free(struct fleet_answers *a)
{
    if (a->version)
        protobuf_c_message_free_unpacked(a->version, NULL);
    if (a->frontends)
        protobuf_c_message_free_unpacked(a->frontends, NULL);
    if (a->vpp)
        protobuf_c_message_free_unpacked(a->vpp, NULL);
}

int action_show_fleet(struct session *s)
{
    struct client *const *clients;
    const char *const *addrs;
    size_t n = servers(s, &clients, &addrs);
    struct client *own = s->client;
    const char *own_addr = s->addr;
    struct fleet_answers *ans = calloc(n, sizeof(*ans));
    struct fleet_lb *lbs = calloc(n, sizeof(*lbs));
    if (!ans || !lbs)
        abort();
    for (size_t i = 0; i < n; i++) {
        s->client = clients[i];
        s->addr = addrs[i];
        fleet_ask(s, &ans[i]);
        if (*s->interrupted)
            break;
        lbs[i] = (struct fleet_lb){
            .server = addrs[i],
            .error = ans[i].frontends ? NULL : ans[i].error,
            .version = (const Maglev__VersionInfo *)ans[i].version,
            .frontends = (const Maglev__ListFrontendsResponse *)ans[i].frontends,
            .vpp = (const Maglev__VPPLBState *)ans[i].vpp,
            .vpp_error = ans[i].vpp_error,
        };
    }
    s->client = own;
    s->addr = own_addr;
    int rc = EXIT_SERVER;
    if (*s->interrupted) {
        action_error(s, "interrupted");
    } else {
        struct fleet_report r;
        fleet_compare(lbs, n, &r);
        struct strbuf sb = STRBUF_INIT;
        if (s->json) {
            fleet_render_json(&sb, &r);
            strbuf_addc(&sb, '\n');
        } else {
            fleet_render_text(&sb, s->color, &r);
        }
        fputs(strbuf_str(&sb), s->out);
        fflush(s->out);
        strbuf_free(&sb);
        rc = r.agree ? EXIT_OK : EXIT_SERVER;
        fleet_report_free(&r);
    }
    for (size_t i = 0; i < n; i++)
        answers_free(&ans[i]);
    free(ans);
    free(lbs);
    return rc;
}

/* ---- one command on every server ---- */

static bool changes_state(int action)
{
    switch (action) {
    case CMD_SET_BACKEND_PAUSE:
    case CMD_SET_BACKEND_RESUME:
    case CMD_SET_BACKEND_ENABLE:
    case CMD_SET_BACKEND_DISABLE:
    case CMD_SET_BACKEND_DAMPING_CLEAR:
    case CMD_SET_FRONTEND_WEIGHT:
    case CMD_SET_MASS_FAILURE_RELEASE:
    case CMD_SYNC_VPP_LB_STATE:
    case CMD_CONFIG_RELOAD:
        return true;
    default:
        return false;
    }
}

/* The text of a captured stream without its trailing blanks; "error: "
 * dropped from an error message. */
static char *trimmed(char *buf, size_t len, bool error)
{
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
        buf[--len] = '\0';
    if (error && strncmp(buf, "error: ", 7) == 0)
        return buf + 7;
    return buf;
}

/* Runs p on the session's current server with its output and errors
 * captured, and appends {"server", "exit", "result", "error"} to sb. */
static int run_captured(struct session *s, const struct cmd_parsed *p, struct strbuf *sb)
{
    char *out = NULL, *err = NULL;
    size_t outlen = 0, errlen = 0;
    FILE *fo = open_memstream(&out, &outlen), *fe = open_memstream(&err, &errlen);
    if (!fo || !fe)
        abort();
    FILE *old_out = s->out, *old_err = s->err;
    bool old_color = s->err_color;
    s->out = fo;
    s->err = fe;
    s->err_color = false;
    int rc = action_run(s, p);
    s->out = old_out;
    s->err = old_err;
    s->err_color = old_color;
    fclose(fo);
    fclose(fe);
    strbuf_adds(sb, "{\"server\": ");
    json_string(sb, s->addr, strlen(s->addr));
    strbuf_addf(sb, ", \"exit\": %d, \"result\": ", rc);
    const char *o = trimmed(out, outlen, false);
    strbuf_adds(sb, *o ? o : "null"); /* the command's own JSON */
    strbuf_adds(sb, ", \"error\": ");
    const char *e = trimmed(err, errlen, true);
    json_string(sb, e, strlen(e));
    strbuf_adds(sb, "}");
    free(out);
    free(err);
    return rc;
}

static void stopped(struct session *s, size_t at, size_t n)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "stopped after the failure on %s; not run on:", s->servers[at]);
    for (size_t i = at + 1; i < n; i++)
        strbuf_addf(&sb, " %s", s->servers[i]);
    strbuf_adds(&sb, " (--continue runs it on every server)");
    action_error(s, strbuf_str(&sb));
    strbuf_free(&sb);
}

int action_run_servers(struct session *s, const struct cmd_parsed *p)
{
    if (p->action == CMD_SHOW_FLEET)
        return action_show_fleet(s);
    if (p->action == CMD_WATCH_EVENTS) {
        action_error(s, "watch events follows one maglevd: give one --server");
        return EXIT_USAGE;
    }
    bool stop = changes_state(p->action) && !s->keep_going;
    struct client *own = s->client;
    const char *own_addr = s->addr;
    struct strbuf js = STRBUF_INIT;
    strbuf_adds(&js, "[");
    int worst = EXIT_OK;
    size_t i;
    for (i = 0; i < s->n_servers && !*s->interrupted; i++) {
        s->client = s->clients[i];
        s->addr = s->servers[i];
        int rc;
        if (s->json) {
            strbuf_adds(&js, i ? ",\n" : "\n");
            rc = run_captured(s, p, &js);
        } else {
            fprintf(s->out, "%s== %s ==\n", i ? "\n" : "", s->addr);
            fflush(s->out);
            rc = action_run(s, p);
        }
        if (rc > worst)
            worst = rc;
        if (rc != EXIT_OK && stop && i + 1 < s->n_servers) {
            i++;
            break;
        }
    }
    s->client = own;
    s->addr = own_addr;
    if (s->json) {
        strbuf_adds(&js, "\n]\n");
        fputs(strbuf_str(&js), s->out);
        fflush(s->out);
    }
    strbuf_free(&js);
    if (i < s->n_servers && !*s->interrupted)
        stopped(s, i - 1, s->n_servers);
    return worst;
}
