/* maglevd: the vpp-maglev daemon. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "api/grpc_server.h"
#include "common/duration.h"
#include "common/version.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "dashboard/dashboard.h"
#include "metrics/metrics.h"

#define DEFAULT_GRPC_ADDR      "unix:/run/vpp-maglev/maglevd.sock"
#define DEFAULT_VPP_API_ADDR   "/run/vpp/api.sock"
#define DEFAULT_VPP_STATS_ADDR "/run/vpp/stats.sock"
#define DEFAULT_METRICS_ADDR   "127.0.0.1:9091"

struct options {
    const char *config;
    const char *grpc_addr;
    const char *vpp_api_addr;
    const char *vpp_stats_addr;
    unsigned vpp_stats_interval_ms; /* hidden test option; 0 = 5 s */
    unsigned dashboard_queue_msgs;  /* hidden test option; 0 = the dashboard's */
    const char *metrics_addr;
    bool metrics_default; /* neither --metrics-addr nor MAGLEV_METRICS_ADDR */
    bool dashboard;       /* serve the dashboard on the metrics listeners */
    const char *tls_cert, *tls_key, *tls_client_ca;
    const char *socket_group, *socket_mode;
    const char *max_conns, *handshake, *idle;
    unsigned max_conns_n, handshake_ms, idle_ms;
    bool vpp_dry_run;
    enum log_level level;
    enum log_format format;
    bool check, dump;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: maglevd [options]\n"
            "  -c, --config FILE      config file (env MAGLEV_CONFIG; default %s)\n"
            "      --check            validate the config and exit: 0 valid, 1 YAML or\n"
            "                         structure error, 2 semantic error\n"
            "      --dump             with --check: print the canonical config\n"
            "  -l, --log-level LEVEL  debug|info|warn|error (env MAGLEV_LOG_LEVEL; default info)\n"
            "      --log-format FMT   text|json (env MAGLEV_LOG_FORMAT; default text)\n"
            "      --grpc-addr LIST   API listeners: unix:PATH and HOST:PORT, comma-separated;\n"
            "                         \"\" = none (env MAGLEV_GRPC_ADDR; default %s)\n"
            "      --grpc-tls-cert FILE  TCP listeners serve TLS with this certificate (PEM;\n"
            "                         env MAGLEV_GRPC_TLS_CERT); needs the two below\n"
            "      --grpc-tls-key FILE   its private key (PEM; env MAGLEV_GRPC_TLS_KEY)\n"
            "      --grpc-tls-client-ca FILE  CA(s) whose client certificates are accepted;\n"
            "                         a client certificate is required (PEM; env\n"
            "                         MAGLEV_GRPC_TLS_CLIENT_CA). Unix listeners stay plaintext\n"
            "      --grpc-socket-group NAME  group of the unix sockets and of the directory\n"
            "                         maglevd creates for them (env MAGLEV_GRPC_SOCKET_GROUP;\n"
            "                         default maglevd's group)\n"
            "      --grpc-socket-mode MODE  mode of the unix sockets, octal 0600..0666 without\n"
            "                         execute bits (env MAGLEV_GRPC_SOCKET_MODE; default 0660)\n"
            "      --grpc-max-connections N  API connections held at once over the unix\n"
            "                         and plaintext TCP listeners (env\n"
            "                         MAGLEV_GRPC_MAX_CONNECTIONS; default: what the descriptor\n"
            "                         limit leaves, at most 1024); per listener: ADDR?max-conns=N\n"
            "      --grpc-handshake-timeout DUR  to send the HTTP/2 preface or finish TLS\n"
            "                         (env MAGLEV_GRPC_HANDSHAKE_TIMEOUT; default 10s)\n"
            "      --grpc-idle-timeout DUR  a connection without a call is closed (env\n"
            "                         MAGLEV_GRPC_IDLE_TIMEOUT; default 5m)\n"
            "      --vpp-api-addr PATH  VPP's binary-API socket; \"\" = no VPP integration\n"
            "                         (env MAGLEV_VPP_API_ADDR; default %s)\n"
            "      --vpp-stats-addr PATH  VPP's stats socket, for the LB plugin's per-VIP\n"
            "                         counters (read every 5 s); \"\" = none (env\n"
            "                         MAGLEV_VPP_STATS_ADDR; default %s)\n"
            "      --vpp-sync-dry-run log the VPP operations each sync would make, apply\n"
            "                         none (env MAGLEV_VPP_SYNC_DRY_RUN=1)\n"
            "      --metrics-addr LIST  Prometheus /metrics and /healthz: HOST:PORT,\n"
            "                         comma-separated ([::1]:9091 for IPv6; :9091 = every\n"
            "                         address, unauthenticated); \"\" = none (env\n"
            "                         MAGLEV_METRICS_ADDR; default %s); also serves the\n"
            "                         read-only web dashboard at / (docs/dashboard.md)\n"
            "      --no-dashboard     serve only /metrics and /healthz there, no dashboard\n"
            "                         (env MAGLEV_DASHBOARD=0)\n"
            "  -V, --version          print version, commit and build date, then exit\n"
            "  -h, --help             this help\n",
            CONFIG_DEFAULT_PATH, DEFAULT_GRPC_ADDR, DEFAULT_VPP_API_ADDR, DEFAULT_VPP_STATS_ADDR,
            DEFAULT_METRICS_ADDR);
}

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

/* Checks --grpc-socket-group/--grpc-socket-mode and hands them to the API
 * (see api_socket_perms_set). -1 (message printed) when one is not valid. */
static int socket_perms(const struct options *o)
{
    gid_t gid = (gid_t)-1;
    mode_t mode = 0;
    if (o->socket_group) {
        struct group *g = getgrnam(o->socket_group);
        if (!g) {
            fprintf(stderr,
                    "maglevd: --grpc-socket-group \"%s\": no such group; give an existing "
                    "group (getent group lists them) or create it (groupadd %s)\n",
                    o->socket_group, o->socket_group);
            return -1;
        }
        gid = g->gr_gid;
    }
    if (o->socket_mode) {
        const char *m = o->socket_mode;
        size_t len = strlen(m);
        unsigned long v = 0;
        bool ok = len >= 3 && len <= 4 && strspn(m, "01234567") == len;
        if (ok)
            v = strtoul(m, NULL, 8);
        if (!ok || (v & ~0666UL) || (v & 0600) != 0600) {
            fprintf(stderr,
                    "maglevd: --grpc-socket-mode \"%s\": not valid; give an octal mode from "
                    "0600 to 0666 with read and write for the owner and no execute, setuid, "
                    "setgid or sticky bits (e.g. 0660, 0600, 0666)\n",
                    m);
            return -1;
        }
        mode = (mode_t)v;
    }
    api_socket_perms_set(gid, o->socket_group, mode);
    return 0;
}

/* --grpc-handshake-timeout/--grpc-idle-timeout: 0 (unset) or 1 ms..1 day
 * in *ms; -1 (message printed) when not valid. */
static int parse_timeout(const char *opt, const char *v, unsigned *ms)
{
    int64_t ns = 0;
    *ms = 0;
    if (!v)
        return 0;
    if (duration_parse(v, &ns) < 0 || ns < DURATION_MS || ns > 24 * DURATION_H) {
        fprintf(stderr,
                "maglevd: %s \"%s\": not valid; give a duration from 1ms to 24h, e.g. 10s, "
                "5m\n",
                opt, v);
        return -1;
    }
    *ms = (unsigned)(ns / DURATION_MS);
    return 0;
}

static int parse_max_conns(const char *v, unsigned *out)
{
    *out = 0;
    if (!v)
        return 0;
    char *end = NULL;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (errno || end == v || *end || n == 0 || n > 1000000 || *v == '-') {
        fprintf(stderr,
                "maglevd: --grpc-max-connections \"%s\": not valid; give a number of "
                "connections from 1 to 1000000\n",
                v);
        return -1;
    }
    *out = (unsigned)n;
    return 0;
}

/* Returns -1 to continue, or an exit code. */
static int parse_args(int argc, char **argv, struct options *o)
{
    enum {
        OPT_CHECK = 256,
        OPT_DUMP,
        OPT_FORMAT,
        OPT_GRPC,
        OPT_TLS_CERT,
        OPT_TLS_KEY,
        OPT_TLS_CA,
        OPT_SOCK_GROUP,
        OPT_SOCK_MODE,
        OPT_MAX_CONNS,
        OPT_HANDSHAKE,
        OPT_IDLE,
        OPT_VPP_API,
        OPT_VPP_DRY,
        OPT_VPP_STATS,
        OPT_VPP_STATS_IV,
        OPT_DASH_QUEUE,
        OPT_METRICS,
        OPT_NO_DASHBOARD
    };
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "check", no_argument, NULL, OPT_CHECK },
        { "dump", no_argument, NULL, OPT_DUMP },
        { "log-level", required_argument, NULL, 'l' },
        { "log-format", required_argument, NULL, OPT_FORMAT },
        { "grpc-addr", required_argument, NULL, OPT_GRPC },
        { "grpc-tls-cert", required_argument, NULL, OPT_TLS_CERT },
        { "grpc-tls-key", required_argument, NULL, OPT_TLS_KEY },
        { "grpc-tls-client-ca", required_argument, NULL, OPT_TLS_CA },
        { "grpc-socket-group", required_argument, NULL, OPT_SOCK_GROUP },
        { "grpc-socket-mode", required_argument, NULL, OPT_SOCK_MODE },
        { "grpc-max-connections", required_argument, NULL, OPT_MAX_CONNS },
        { "grpc-handshake-timeout", required_argument, NULL, OPT_HANDSHAKE },
        { "grpc-idle-timeout", required_argument, NULL, OPT_IDLE },
        { "vpp-api-addr", required_argument, NULL, OPT_VPP_API },
        { "vpp-sync-dry-run", no_argument, NULL, OPT_VPP_DRY },
        { "vpp-stats-addr", required_argument, NULL, OPT_VPP_STATS },
        /* tests only, not in --help: the LB counters' interval (ms) */
        { "test-vpp-stats-interval-ms", required_argument, NULL, OPT_VPP_STATS_IV },
        { "test-dashboard-queue-msgs", required_argument, NULL, OPT_DASH_QUEUE },
        { "metrics-addr", required_argument, NULL, OPT_METRICS },
        { "no-dashboard", no_argument, NULL, OPT_NO_DASHBOARD },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *level = env_or("MAGLEV_LOG_LEVEL", "info");
    const char *format = env_or("MAGLEV_LOG_FORMAT", "text");
    o->config = env_or("MAGLEV_CONFIG", CONFIG_DEFAULT_PATH);
    o->grpc_addr = getenv("MAGLEV_GRPC_ADDR") ? getenv("MAGLEV_GRPC_ADDR") : DEFAULT_GRPC_ADDR;
    o->vpp_api_addr =
        getenv("MAGLEV_VPP_API_ADDR") ? getenv("MAGLEV_VPP_API_ADDR") : DEFAULT_VPP_API_ADDR;
    o->vpp_stats_addr =
        getenv("MAGLEV_VPP_STATS_ADDR") ? getenv("MAGLEV_VPP_STATS_ADDR") : DEFAULT_VPP_STATS_ADDR;
    /* set but empty: no endpoint, like --metrics-addr "" */
    o->metrics_addr =
        getenv("MAGLEV_METRICS_ADDR") ? getenv("MAGLEV_METRICS_ADDR") : DEFAULT_METRICS_ADDR;
    o->metrics_default = !getenv("MAGLEV_METRICS_ADDR");
    o->dashboard = strcmp(env_or("MAGLEV_DASHBOARD", "1"), "0") != 0;
    o->tls_cert = env_or("MAGLEV_GRPC_TLS_CERT", NULL);
    o->tls_key = env_or("MAGLEV_GRPC_TLS_KEY", NULL);
    o->tls_client_ca = env_or("MAGLEV_GRPC_TLS_CLIENT_CA", NULL);
    o->socket_group = env_or("MAGLEV_GRPC_SOCKET_GROUP", NULL);
    o->socket_mode = env_or("MAGLEV_GRPC_SOCKET_MODE", NULL);
    o->max_conns = env_or("MAGLEV_GRPC_MAX_CONNECTIONS", NULL);
    o->handshake = env_or("MAGLEV_GRPC_HANDSHAKE_TIMEOUT", NULL);
    o->idle = env_or("MAGLEV_GRPC_IDLE_TIMEOUT", NULL);
    o->vpp_dry_run = strcmp(env_or("MAGLEV_VPP_SYNC_DRY_RUN", "0"), "1") == 0;
    int c;
    while ((c = getopt_long(argc, argv, "c:l:Vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->config = optarg;
            break;
        case OPT_CHECK:
            o->check = true;
            break;
        case OPT_DUMP:
            o->dump = o->check = true;
            break;
        case 'l':
            level = optarg;
            break;
        case OPT_FORMAT:
            format = optarg;
            break;
        case OPT_GRPC:
            o->grpc_addr = optarg;
            break;
        case OPT_TLS_CERT:
            o->tls_cert = optarg;
            break;
        case OPT_TLS_KEY:
            o->tls_key = optarg;
            break;
        case OPT_TLS_CA:
            o->tls_client_ca = optarg;
            break;
        case OPT_SOCK_GROUP:
            o->socket_group = optarg;
            break;
        case OPT_SOCK_MODE:
            o->socket_mode = optarg;
            break;
        case OPT_MAX_CONNS:
            o->max_conns = optarg;
            break;
        case OPT_HANDSHAKE:
            o->handshake = optarg;
            break;
        case OPT_IDLE:
            o->idle = optarg;
            break;
        case OPT_VPP_API:
            o->vpp_api_addr = optarg;
            break;
        case OPT_VPP_DRY:
            o->vpp_dry_run = true;
            break;
        case OPT_VPP_STATS:
            o->vpp_stats_addr = optarg;
            break;
        case OPT_VPP_STATS_IV: {
            unsigned long ms = strtoul(optarg, NULL, 10);
            o->vpp_stats_interval_ms = ms >= 100 && ms <= 3600000 ? (unsigned)ms : 0;
            break;
        }
        case OPT_DASH_QUEUE: {
            unsigned long n = strtoul(optarg, NULL, 10);
            o->dashboard_queue_msgs = n >= 2 && n <= 512 ? (unsigned)n : 0;
            break;
        }
        case OPT_METRICS:
            o->metrics_addr = optarg;
            o->metrics_default = false;
            break;
        case OPT_NO_DASHBOARD:
            o->dashboard = false;
            break;
        case 'V':
            printf("maglevd %s (commit %s, built %s)\n", version_string(), version_commit(),
                   version_date());
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "maglevd: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if ((o->tls_cert || o->tls_key || o->tls_client_ca) &&
        !(o->tls_cert && o->tls_key && o->tls_client_ca)) {
        fprintf(stderr, "maglevd: TLS needs all of --grpc-tls-cert, --grpc-tls-key and "
                        "--grpc-tls-client-ca (mutual TLS: clients must present a certificate)\n");
        return 2;
    }
    if (socket_perms(o) < 0 || parse_max_conns(o->max_conns, &o->max_conns_n) < 0 ||
        parse_timeout("--grpc-handshake-timeout", o->handshake, &o->handshake_ms) < 0 ||
        parse_timeout("--grpc-idle-timeout", o->idle, &o->idle_ms) < 0)
        return 2;
    if (log_level_parse(level, &o->level) < 0) {
        fprintf(stderr, "maglevd: invalid log level \"%s\"; use debug, info, warn or error\n",
                level);
        return 2;
    }
    if (log_format_parse(format, &o->format) < 0) {
        fprintf(stderr, "maglevd: invalid log format \"%s\"; use text or json\n", format);
        return 2;
    }
    return -1;
}

static void print_diags(const struct config_diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        char *line = config_diag_format(d, i);
        fprintf(stderr, "%s\n", line);
        free(line);
    }
}

static int run_check(const struct options *o)
{
    struct config_diags d = { 0 };
    struct maglev_config *cfg = NULL;
    if (config_load_file(o->config, &cfg, &d) < 0) {
        print_diags(&d);
        fprintf(stderr, "%s: %zu error%s; the config is not valid\n", o->config, d.n,
                d.n == 1 ? "" : "s");
        int rc = config_exit_code(&d);
        config_diags_free(&d);
        return rc;
    }
    config_diags_free(&d);
    if (o->dump) {
        char *y = config_dump(cfg);
        fputs(y, stdout);
        free(y);
    } else {
        char *s = config_summary(cfg);
        printf("%s: OK: %s\n", o->config, s);
        free(s);
    }
    config_free(cfg);
    return 0;
}

int main(int argc, char **argv)
{
    struct options o = { 0 };
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0)
        return rc;
    log_setup(o.level, o.format, STDERR_FILENO);
    if (strcmp(o.config, CONFIG_DEFAULT_PATH) == 0 && access(CONFIG_DEFAULT_PATH, F_OK) < 0 &&
        access(CONFIG_OLD_DEFAULT_PATH, F_OK) == 0) {
        log_warn("config-path-deprecated", LOG_STR("path", CONFIG_OLD_DEFAULT_PATH),
                 LOG_STR("fix", "move it to " CONFIG_DEFAULT_PATH " (the default since 0.2), or "
                                "give --config"));
        o.config = CONFIG_OLD_DEFAULT_PATH;
    }
    if (o.check)
        return run_check(&o);
    if (strlen(o.vpp_api_addr) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        fprintf(stderr, "maglevd: --vpp-api-addr \"%s\" is too long for a UNIX socket path\n",
                o.vpp_api_addr);
        return 2;
    }
    if (strlen(o.vpp_stats_addr) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        fprintf(stderr, "maglevd: --vpp-stats-addr \"%s\" is too long for a UNIX socket path\n",
                o.vpp_stats_addr);
        return 2;
    }
    if (o.tls_cert) {
        char err[1024];
        struct api_tls_files f = { o.tls_cert, o.tls_key, o.tls_client_ca };
        if (api_tls_load(&f, err, sizeof(err)) < 0) {
            log_error("api-tls-error", LOG_STR("error", err));
            log_error("maglevd-stop", LOG_STR("reason", "cannot load the API's TLS files"));
            return 1;
        }
    }
    /* bound now: a bad address or a port in use stops maglevd at once,
     * like any other option error — when the operator gave it. The default
     * is best effort: taken (e.g. a second maglevd on the host), maglevd
     * runs without the endpoint and says so. */
    struct metrics_listeners *ml = NULL;
    char merr[512];
    int mrc = metrics_listen(o.metrics_addr, &ml, merr, sizeof(merr));
    if (mrc < 0 && o.metrics_default) {
        log_warn("metrics-unavailable", LOG_STR("addr", o.metrics_addr), LOG_STR("error", merr),
                 LOG_STR("fix", "give --metrics-addr another HOST:PORT, or \"\" to serve no "
                                "metrics"));
    } else if (mrc < 0) {
        fprintf(stderr, "maglevd: --metrics-addr %s\n", merr);
        api_tls_unload();
        return 2;
    }
    /* The dashboard shows every backend's address and state to whoever
     * reaches the listener: on a non-loopback address only when the
     * operator gave that address (--metrics-addr, MAGLEV_METRICS_ADDR),
     * never by a default. */
    bool dash = o.dashboard && ml;
    if (dash && !dashboard_addrs_loopback(o.metrics_addr)) {
        if (o.metrics_default) {
            log_warn("dashboard-disabled", LOG_STR("addr", o.metrics_addr),
                     LOG_STR("reason", "not a loopback address, and not given explicitly"),
                     LOG_STR("fix", "give --metrics-addr to serve it there"));
            dash = false;
        } else {
            log_warn("dashboard-exposed", LOG_STR("addr", o.metrics_addr),
                     LOG_STR("fix", "the dashboard has no authentication: put it behind a "
                                    "reverse proxy that has (docs/dashboard.md), or give "
                                    "--no-dashboard"));
        }
    }
    struct daemon_opts d = { .config = o.config,
                             .metrics = ml,
                             .dashboard = dash,
                             .grpc_addr = o.grpc_addr,
                             .vpp_api_addr = o.vpp_api_addr,
                             .vpp_stats_addr = o.vpp_stats_addr,
                             .vpp_stats_interval_ms = o.vpp_stats_interval_ms,
                             .dashboard_queue_msgs = o.dashboard_queue_msgs,
                             .vpp_dry_run = o.vpp_dry_run,
                             .grpc_max_conns = o.max_conns_n,
                             .grpc_handshake_ms = o.handshake_ms,
                             .grpc_idle_ms = o.idle_ms };
    rc = daemon_run(&d);
    api_tls_unload();
    return rc;
}
