/* maglevc: the operator's shell and one-shot CLI for maglevd.
 *
 *   maglevc [--server ADDR]... [--servers-file FILE] [--continue] [--tls-ca FILE --tls-cert FILE
 * --tls-key FILE
 *           [--tls-server-name NAME]] [--color auto|always|never] [--json]
 *           [COMMAND...]
 *
 * With a command: runs it once; exit 0 ok, 1 server error (or an answer
 * reporting a failure: config check, a sync op VPP refused), 2 usage error.
 * Without: the interactive shell (or, with stdin not a terminal, one command
 * per line). With several servers (--server repeated, $MAGLEV_SERVERS,
 * --servers-file): `show fleet` compares them, other commands run on each
 * in turn (actions_fleet.c); no shell. --complete LINE (hidden) prints the completions of LINE one
 * per line, for the bash completion script. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/actions.h"
#include "cli/client.h"
#include "cli/cmdtree.h"
#include "cli/shell.h"
#include "common/version.h"

#define DEFAULT_SERVER "unix:/run/vpp-maglev/maglevd.sock"

enum color_mode { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };

struct opts {
    struct strlist servers; /* --server, --servers-file, $MAGLEV_SERVERS or the default */
    bool servers_given;     /* by --server or --servers-file */
    bool keep_going;        /* --continue */
    struct client_tls tls;
    enum color_mode color;
    bool json;
    const char *complete; /* --complete LINE */
    /* the command's own options, which getopt takes out of the line
     * wherever they are: given back to the command tree after its words */
    const char *max_disruption; /* --max-disruption PCT */
    bool force;                 /* --force */
};

static volatile sig_atomic_t interrupted;

/* The first Ctrl-C asks the running command to stop; a second one, before
 * it did, ends the program the default way. */
static void on_sigint(int sig)
{
    if (interrupted) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    interrupted = 1;
}

static void usage(FILE *f)
{
    fprintf(
        f, "usage: maglevc [OPTIONS] [COMMAND...]\n"
           "\n"
           "The shell of maglevd: without a command, an interactive shell (TAB completes,\n"
           "\"?\" lists what may come next); with one, runs it and exits.\n"
           "\n"
           "  -s, --server ADDR   maglevd's API: unix:PATH or HOST:PORT (default $MAGLEV_SERVERS,\n"
           "                      else $MAGLEV_SERVER, else " DEFAULT_SERVER ");\n"
           "                      repeat it for a fleet of load balancers: show fleet compares\n"
           "                      them, other commands run on each in turn\n"
           "      --servers-file FILE  servers one per line (# starts a comment)\n"
           "      --continue      with several servers, a change (set, sync, config reload)\n"
           "                      goes on after a server failed (default: stop there)\n"
           "      --tls-ca FILE   TLS to a HOST:PORT server: the CA that signs its certificate\n"
           "                      (PEM; $MAGLEV_TLS_CA; default: the system's roots)\n"
           "      --tls-cert FILE this client's certificate (PEM; $MAGLEV_TLS_CERT)\n"
           "      --tls-key FILE  its private key (PEM; $MAGLEV_TLS_KEY)\n"
           "      --tls-server-name NAME  the name in the server's certificate when it is\n"
           "                      not the HOST of --server ($MAGLEV_TLS_SERVER_NAME)\n"
           "      --color WHEN    auto (a terminal, unless NO_COLOR is set), always or never\n"
           "  -j, --json          print results as JSON (field names as in maglev.proto)\n"
           "  -h, --help          this help\n"
           "  -V, --version       maglevc's version\n"
           "\n"
           "Commands: show version | frontends | frontend NAME | backends | backend NAME |\n"
           "          healthchecks | healthcheck NAME;\n"
           "          set backend NAME pause|resume|enable|disable|damping clear;\n"
           "          set frontend NAME pool POOL backend NAME weight 0-100;\n"
           "          (after those two: --max-disruption PCT refuses a change that moves\n"
           "          more than PCT %% of a VIP's new-flow buckets, --force does it anyway);\n"
           "          plan set backend NAME disable|pause|enable|resume;\n"
           "          plan set frontend NAME pool POOL backend NAME weight 0-100;\n"
           "          show vpp info | lb state [NAME]; show fleet;\n"
           "          sync vpp lb state [NAME]; plan vpp lb state [NAME];\n"
           "          config check | reload; watch events [num N] [log [level L]] [backend]\n"
           "          [frontend]; help. A unique prefix of a word is enough (sh ba).\n"
           "\n"
           "Exit status: 0 ok, 1 the server failed or said no (also a failed config check\n"
           "or a sync with an operation VPP refused; with several servers, any of them;\n"
           "show fleet: the load balancers disagree or one is unreachable), 2 usage error.\n");
}

static const char *env_or_null(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* Appends the servers of a comma-separated list (blanks around each
 * ignored, empty items skipped). */
static void add_server_list(struct strlist *sl, const char *list)
{
    while (*list) {
        size_t n = strcspn(list, ",");
        const char *b = list, *e = list + n;
        while (b < e && (*b == ' ' || *b == '\t'))
            b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e > b)
            cmd_strlist_addn(sl, b, (size_t)(e - b));
        list += n + (list[n] == ',');
    }
}

/* --servers-file: one server per line; blanks around it, empty lines and
 * everything from a # on are ignored. */
static int add_server_file(struct strlist *sl, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "maglevc: --servers-file %s: %s\n", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    size_t before = sl->n;
    while (getline(&line, &cap, f) >= 0) {
        line[strcspn(line, "#\r\n")] = '\0';
        char *b = line + strspn(line, " \t");
        size_t n = strlen(b);
        while (n > 0 && (b[n - 1] == ' ' || b[n - 1] == '\t'))
            n--;
        if (n > 0)
            cmd_strlist_addn(sl, b, n);
    }
    free(line);
    fclose(f);
    if (sl->n == before) {
        fprintf(stderr, "maglevc: --servers-file %s: no server in it\n", path);
        return -1;
    }
    return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    enum {
        OPT_COLOR = 256,
        OPT_COMPLETE,
        OPT_TLS_CA,
        OPT_TLS_CERT,
        OPT_TLS_KEY,
        OPT_TLS_NAME,
        OPT_SERVERS_FILE,
        OPT_CONTINUE,
        OPT_MAX_DISRUPTION,
        OPT_FORCE
    };
    static const struct option longopts[] = {
        { "server", required_argument, NULL, 's' },
        { "servers-file", required_argument, NULL, OPT_SERVERS_FILE },
        { "continue", no_argument, NULL, OPT_CONTINUE },
        { "color", required_argument, NULL, OPT_COLOR },
        { "colour", required_argument, NULL, OPT_COLOR },
        { "json", no_argument, NULL, 'j' },
        { "tls-ca", required_argument, NULL, OPT_TLS_CA },
        { "tls-cert", required_argument, NULL, OPT_TLS_CERT },
        { "tls-key", required_argument, NULL, OPT_TLS_KEY },
        { "tls-server-name", required_argument, NULL, OPT_TLS_NAME },
        { "complete", required_argument, NULL, OPT_COMPLETE },
        { "max-disruption", required_argument, NULL, OPT_MAX_DISRUPTION },
        { "force", no_argument, NULL, OPT_FORCE },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    o->tls.ca = env_or_null("MAGLEV_TLS_CA");
    o->tls.cert = env_or_null("MAGLEV_TLS_CERT");
    o->tls.key = env_or_null("MAGLEV_TLS_KEY");
    o->tls.server_name = env_or_null("MAGLEV_TLS_SERVER_NAME");
    int c;
    while ((c = getopt_long(argc, argv, "s:jhV", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            cmd_strlist_add(&o->servers, optarg);
            o->servers_given = true;
            break;
        case OPT_SERVERS_FILE:
            if (add_server_file(&o->servers, optarg) < 0)
                return -1;
            o->servers_given = true;
            break;
        case OPT_CONTINUE:
            o->keep_going = true;
            break;
        case 'j':
            o->json = true;
            break;
        case OPT_TLS_CA:
            o->tls.ca = optarg;
            break;
        case OPT_TLS_CERT:
            o->tls.cert = optarg;
            break;
        case OPT_TLS_KEY:
            o->tls.key = optarg;
            break;
        case OPT_TLS_NAME:
            o->tls.server_name = optarg;
            break;
        case OPT_COLOR:
            if (strcmp(optarg, "auto") == 0)
                o->color = COLOR_AUTO;
            else if (strcmp(optarg, "always") == 0)
                o->color = COLOR_ALWAYS;
            else if (strcmp(optarg, "never") == 0)
                o->color = COLOR_NEVER;
            else {
                fprintf(stderr, "maglevc: --color: expected auto, always or never, not \"%s\"\n",
                        optarg);
                return -1;
            }
            break;
        case OPT_COMPLETE:
            o->complete = optarg;
            break;
        case OPT_MAX_DISRUPTION:
            o->max_disruption = optarg;
            break;
        case OPT_FORCE:
            o->force = true;
            break;
        case 'h':
            usage(stdout);
            exit(EXIT_OK);
        case 'V':
            printf("maglevc %s (commit %s, built %s)\n", version_string(), version_commit(),
                   version_date());
            exit(EXIT_OK);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (!o->servers_given) {
        const char *list = env_or_null("MAGLEV_SERVERS");
        if (list)
            add_server_list(&o->servers, list);
        if (o->servers.n == 0) {
            const char *one = env_or_null("MAGLEV_SERVER");
            cmd_strlist_add(&o->servers, one ? one : DEFAULT_SERVER);
        }
    }
    return 0;
}

static bool use_color(enum color_mode m, int fd)
{
    if (m != COLOR_AUTO)
        return m == COLOR_ALWAYS;
    const char *no = getenv("NO_COLOR");
    return isatty(fd) && !(no && *no);
}

/* --complete LINE: candidates one per line (quoted when holding a blank);
 * names come from the server when it answers. */
static int complete(struct session *s, const char *line)
{
    struct cmd_completion c;
    int n = cmd_complete(&cli_commands, line, strlen(line), s->client ? cli_names_fn : NULL, s, &c);
    for (int i = 0; i < n; i++)
        printf(strpbrk(c.words.v[i], " \t") ? "\"%s\"\n" : "%s\n", c.words.v[i]);
    cmd_strlist_free(&c.words);
    return EXIT_OK;
}

/* Opens a client per server (all of them, for --complete only the first);
 * -1 after printing the error. */
static int open_clients(struct session *s, const struct opts *o, bool first_only)
{
    size_t n = first_only ? 1 : o->servers.n;
    s->clients = calloc(n, sizeof(*s->clients));
    if (!s->clients)
        abort();
    for (size_t i = 0; i < n; i++) {
        char err[256];
        if (client_open(o->servers.v[i], &o->tls, &s->clients[i], err, sizeof(err)) < 0) {
            if (!first_only) /* --complete: keywords only, quietly */
                action_error(s, err);
            return -1;
        }
        client_set_interrupt(s->clients[i], &interrupted);
        client_set_timeout(s->clients[i], ACTION_TIMEOUT_MS);
        s->n_servers = i + 1;
    }
    s->client = s->clients[0];
    s->addr = o->servers.v[0];
    return 0;
}

static void close_clients(struct session *s)
{
    for (size_t i = 0; i < s->n_servers; i++)
        client_close(s->clients[i]);
    free(s->clients);
}

int main(int argc, char **argv)
{
    struct opts o = { 0 };
    if (parse_opts(argc, argv, &o) < 0) {
        cmd_strlist_free(&o.servers);
        return EXIT_USAGE;
    }

    struct session s = {
        .addr = o.servers.v[0],
        .color = !o.json && use_color(o.color, STDOUT_FILENO),
        .err_color = use_color(o.color, STDERR_FILENO),
        .json = o.json,
        .out = stdout,
        .err = stderr,
        .interrupted = &interrupted,
        .servers = (const char *const *)o.servers.v,
        .keep_going = o.keep_going,
    };
    bool several = o.servers.n > 1;

    /* A command line that does not parse needs no server. */
    struct cmd_parsed p = { 0 };
    int words = argc - optind;
    int rc = EXIT_USAGE;
    static struct strlist line; /* static: reachable until exit, whichever return */
    for (int i = optind; i < argc; i++)
        cmd_strlist_add(&line, argv[i]);
    if (o.max_disruption) {
        cmd_strlist_add(&line, "--max-disruption");
        cmd_strlist_add(&line, o.max_disruption);
    }
    if (o.force)
        cmd_strlist_add(&line, "--force");
    if (!o.complete && words > 0) {
        char err[512];
        if (cmd_parse(&cli_commands, (int)line.n, line.v, &p, err, sizeof(err)) < 0) {
            action_error(&s, err);
            goto out;
        }
        if (p.action == CMD_QUIT || p.action == CMD_HELP) {
            rc = p.action == CMD_HELP ? action_run(&s, &p) : EXIT_OK;
            goto out;
        }
    } else if (!o.complete && several) {
        action_error(&s, "the shell talks to one maglevd: give one --server, or a command to "
                         "run on each");
        goto out;
    }

    struct sigaction sa = { .sa_handler = on_sigint }; /* no SA_RESTART: reads see EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);

    if (open_clients(&s, &o, o.complete != NULL) < 0) {
        if (o.complete) {
            s.client = NULL;
            rc = complete(&s, o.complete); /* keywords only */
        }
        close_clients(&s);
        goto out;
    }

    if (o.complete)
        rc = complete(&s, o.complete);
    else if (words > 0 && several)
        rc = action_run_servers(&s, &p);
    else if (words > 0)
        rc = action_run(&s, &p);
    else if (isatty(STDIN_FILENO))
        rc = shell_run(&s);
    else
        rc = shell_batch(&s, stdin);

    cli_names_free(&s.names);
    close_clients(&s);
out:
    cmd_strlist_free(&o.servers);
    cmd_strlist_free(&line);
    return rc;
}
