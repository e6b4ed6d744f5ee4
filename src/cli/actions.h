/* actions: what maglevc does for a parsed command: the RPC, then the text
 * (render.h) or JSON (json.h) on the session's output. Also the live names
 * for completion and `?` help (names.c), fetched from the server and cached
 * for a couple of seconds. */
#ifndef MAGLEV_CLI_ACTIONS_H
#define MAGLEV_CLI_ACTIONS_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/client.h"
#include "cli/cmdtree.h"
#include "maglev.pb-c.h"

#define ACTION_TIMEOUT_MS 10000 /* deadline of a command's RPC */
#define NAMES_TIMEOUT_MS  2000  /* deadline of a completion's RPC */
#define NAMES_TTL_US      2000000
#define SYNC_TIMEOUT_MS   60000 /* deadline of sync/plan vpp lb state */

struct names_cache {
    int64_t fetched_us[3]; /* monotonic time of the last fetch, 0 = never */
    Maglev__ListBackendsResponse *backends;
    Maglev__ListFrontendsResponse *frontends;
    Maglev__ListHealthChecksResponse *healthchecks;
};

struct session {
    struct client *client;
    const char *addr;                   /* as given, for messages */
    bool color;                         /* colour on `out` */
    bool err_color;                     /* colour on `err` */
    bool json;                          /* --json */
    bool interactive;                   /* in the shell */
    FILE *out, *err;                    /* stdout, stderr */
    volatile sig_atomic_t *interrupted; /* set by SIGINT; cleared by the caller */
    struct names_cache names;
    /* Every --server (maglevc --server A --server B ...), in order, and a
     * client for each (opened by main; clients[i] talks to servers[i]).
     * With one, client/addr are clients[0]/servers[0]. */
    const char *const *servers;
    struct client **clients;
    size_t n_servers;
    bool keep_going; /* --continue: an action goes on after a server failed */
};

/* Exit statuses of maglevc. */
enum {
    EXIT_OK = 0,
    EXIT_SERVER = 1, /* the server said no, or could not be reached */
    EXIT_USAGE = 2,  /* the command line is wrong */
};

/* Runs a parsed command (not CMD_QUIT: the caller handles it). Returns
 * EXIT_OK, or EXIT_SERVER after printing the error; also EXIT_SERVER when
 * the answer itself reports a failure (a configuration that does not check
 * or reload, a sync with an operation VPP refused), printed as usual. */
int action_run(struct session *s, const struct cmd_parsed *p);

/* Prints "error: msg" on s->err (red when coloured). */
void action_error(struct session *s, const char *msg);

/* The server's version, or NULL with the reason in st (free with
 * protobuf_c_message_free_unpacked). */
Maglev__VersionInfo *action_server_version(struct session *s, struct client_status *st);

/* The operator's message for a failed call: the server's status message,
 * or "cannot reach maglevd at ADDR: ..." and the like. */
void action_status_message(const struct session *s, const struct client_status *st, char *buf,
                           size_t len);

/* ---- actions_fleet.c ---- */

/* show fleet: every server's version, frontends and VPP LB state,
 * compared (cli/fleet.h). EXIT_OK when all agree, EXIT_SERVER when they
 * do not or a server did not answer. */
int action_show_fleet(struct session *s);

/* A command on each of several servers, in order, under a header per
 * server (with --json: one array of {server, exit, result, error}).
 * Changes (set ..., sync, config reload) stop at the first server that
 * fails unless keep_going; reading commands run on all. watch events is
 * refused (EXIT_USAGE). Returns the worst exit status. */
int action_run_servers(struct session *s, const struct cmd_parsed *p);

/* ---- names.c ---- */

/* A cmd_names_fn; ctx is the struct session. */
int cli_names_fn(void *ctx, enum cmd_slot_kind kind, const struct cmd_parsed *so_far,
                 struct strlist *out);
void cli_names_free(struct names_cache *nc);

#endif
