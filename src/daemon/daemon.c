/* daemon.c: the libev loop that owns all daemon state: signals, the core
 * (with the VPP sync it owns), the API server. */
#include <errno.h>
#include <ev.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "api/api.h"
#include "common/log.h"
#include "common/version.h"
#include "config/config.h"
#include "core/core.h"
#include "daemon/daemon.h"
#include "dashboard/dashboard.h"
#include "daemon/fdbudget.h"
#include "daemon/notify.h"
#include "health/state.h"
#include "metrics/metrics.h"
#include "vpp/sync.h"

/* Raises the descriptor limit and sets the API's share of it (fdbudget.h). */
static unsigned api_budget(const struct daemon_opts *opts, const struct maglev_config *cfg)
{
    uint64_t before = 0, after = 0;
    int rc = fd_limit_raise(&before, &after);
    if (rc < 0)
        log_warn("fd-limit-not-raised", LOG_UINT("nofile", before), LOG_INT("error", rc));
    struct fd_budget b = fd_budget_compute(after, (unsigned)cfg->n_backends, opts->grpc_max_conns);
    log_info("fd-budget", LOG_UINT("nofile", b.nofile), LOG_UINT("nofile-was", before),
             LOG_UINT("reserved", b.reserved), LOG_UINT("api-max-connections", b.max_conns),
             LOG_UINT("api-descriptors", (uint64_t)b.max_conns * FDBUDGET_PER_CONN));
    if (b.clamped)
        log_warn("fd-budget-low", LOG_UINT("asked", opts->grpc_max_conns),
                 LOG_UINT("api-max-connections", b.max_conns), LOG_UINT("nofile", b.nofile),
                 LOG_STR("fix", "--grpc-max-connections needs 2 descriptors per connection "
                                "besides those kept for probes and VPP: raise the limit "
                                "(LimitNOFILE= in the unit, ulimit -n) or ask for fewer"));
    return b.max_conns;
}

struct daemon {
    struct ev_loop *loop;
    const struct daemon_opts *opts;
    struct core *core;
    struct api *api;
    struct metrics *metrics;
    struct dashboard *dashboard; /* on the metrics listeners; NULL = none */
    bool metrics_taken;          /* opts->metrics handed to the endpoint */
    ev_signal sighup, sigterm, sigint;
    int exit_code;
    bool stopping;
};

static void on_reloaded(void *ctx, int rc, const struct config_diags *diags,
                        const struct checker_reload_stats *st)
{
    (void)ctx;
    (void)rc;
    (void)diags;
    (void)st;
    notify_ready(); /* applied or refused, the daemon runs on */
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)revents;
    struct daemon *d = w->data;
    if (w->signum == SIGHUP) {
        /* read off the loop, swapped in on it; logged by the core */
        notify_reloading();
        core_reload_start(d->core, on_reloaded, d);
        return;
    }
    if (d->stopping)
        return; /* e.g. SIGINT to the process group and SIGTERM from a supervisor */
    d->stopping = true;
    notify_stopping();
    log_info("maglevd-stop", LOG_STR("signal", w->signum == SIGTERM ? "SIGTERM" : "SIGINT"));
    ev_break(loop, EVBREAK_ALL);
}

static void watch_signal(struct daemon *d, ev_signal *w, int signum)
{
    ev_signal_init(w, on_signal, signum);
    w->data = d;
    ev_signal_start(d->loop, w);
}

static struct maglev_config *load(const char *path)
{
    struct config_diags diags = { 0 };
    struct maglev_config *cfg = NULL;
    if (config_load_file(path, &cfg, &diags) < 0) {
        for (size_t i = 0; i < diags.n; i++) {
            char *line = config_diag_format(&diags, i);
            log_error("config-error", LOG_STR("error", line));
            free(line);
        }
    }
    config_diags_free(&diags);
    return cfg;
}

/* systemd's STATUS= line: "backends up 3/4, frontends 1, VPP connected,
 * checker ok" ("checker degraded (probe-errors)" when the watchdog says
 * so). */
static void status_line(void *ctx, char *buf, size_t len)
{
    const struct daemon *d = ctx;
    const struct maglev_config *cfg = core_config(d->core);
    size_t up = 0;
    for (size_t i = 0; i < cfg->n_backends; i++)
        up += core_backend_state(d->core, i) == BS_UP;
    const struct vpp_sync *s = core_vpp(d->core);
    struct checker_watch w;
    core_health_watch(d->core, &w);
    char why[96], checker[112];
    if (w.reasons)
        snprintf(checker, sizeof(checker), "degraded (%s)",
                 health_watch_reasons_text(w.reasons, why, sizeof(why)));
    else
        snprintf(checker, sizeof(checker), "ok");
    snprintf(buf, len, "backends up %zu/%zu, frontends %zu, VPP %s, checker %s", up,
             cfg->n_backends, cfg->n_frontends,
             !s                  ? "disabled"
             : vpp_sync_is_up(s) ? "connected"
                                 : "not connected",
             checker);
}

/* The metrics endpoint on the loop (see metrics.h), when listeners were
 * bound. Its collectors read the core's views and the API's counters. */
static int start_metrics(struct daemon *d)
{
    struct metrics_listeners *l = d->opts->metrics;
    d->metrics_taken = true;
    if (!l) {
        log_info("metrics-disabled", LOG_STR("reason", "--metrics-addr is empty"));
        return 0;
    }
    d->metrics = metrics_new(d->loop);
    metrics_add_daemon(d->metrics, d->core);
    metrics_add_vpp(d->metrics, d->core);
    metrics_add_vpp_lb(d->metrics, d->core);
    metrics_add_api(d->metrics, d->api);
    if (d->opts->dashboard) {
        d->dashboard = dashboard_new(d->core, d->metrics);
        if (d->opts->dashboard_queue_msgs)
            dashboard_set_queue_msgs(d->dashboard, d->opts->dashboard_queue_msgs);
        log_info("dashboard-enabled", LOG_STR("page", "/"), LOG_STR("events", "/events"),
                 LOG_STR("api", "/api/state"));
    }
    char err[512];
    if (metrics_serve(d->metrics, l, err, sizeof(err)) < 0) {
        log_error("metrics-error", LOG_STR("error", err));
        return -1;
    }
    return 0;
}

/* VPP integration, unless --vpp-api-addr is "". */
static int start_vpp(struct daemon *d)
{
    if (!d->opts->vpp_api_addr || !*d->opts->vpp_api_addr) {
        log_info("vpp-disabled", LOG_STR("reason", "--vpp-api-addr is empty"));
        return 0;
    }
    const char *stats = d->opts->vpp_stats_addr;
    if (!stats || !*stats)
        log_info("vpp-stats-disabled", LOG_STR("reason", "--vpp-stats-addr is empty"));
    struct core_vpp_opts o = { .api_path = d->opts->vpp_api_addr, .dry_run = d->opts->vpp_dry_run };
    if (core_vpp_start(d->core, &o) < 0)
        return -1;
    return core_lbctr_start(d->core, stats, d->opts->vpp_stats_interval_ms);
}

int daemon_run(const struct daemon_opts *opts)
{
    struct daemon d = { .opts = opts };
    /* Signals first: a SIGHUP or SIGTERM during start-up must not kill us
     * with the default action; blocked before any thread starts, then
     * delivered through libev's signalfd. */
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    d.loop = ev_default_loop(EVFLAG_AUTO | EVFLAG_SIGNALFD);
    watch_signal(&d, &d.sighup, SIGHUP);
    watch_signal(&d, &d.sigterm, SIGTERM);
    watch_signal(&d, &d.sigint, SIGINT);
    log_info("maglevd-start", LOG_STR("version", version_string()),
             LOG_STR("commit", version_commit()), LOG_STR("date", version_date()),
             LOG_INT("pid", getpid()));
    struct maglev_config *cfg = load(opts->config);
    if (!cfg) {
        metrics_listeners_free(opts->metrics);
        log_error("maglevd-stop", LOG_STR("reason", "invalid config"),
                  LOG_STR("path", opts->config));
        d.exit_code = 1;
        goto out;
    }
    log_info("config-loaded", LOG_STR("path", opts->config),
             LOG_UINT("healthchecks", cfg->n_healthchecks), LOG_UINT("backends", cfg->n_backends),
             LOG_UINT("frontends", cfg->n_frontends));
    d.core = core_new(d.loop, opts->config, cfg);
    char err[512];
    struct api_limits lim = { .max_conns = api_budget(opts, core_config(d.core)),
                              .handshake_ms = opts->grpc_handshake_ms,
                              .idle_ms = opts->grpc_idle_ms };
    if (api_start(d.core, opts->grpc_addr, &lim, &d.api, err, sizeof(err)) < 0) {
        log_error("api-error", LOG_STR("error", err));
        log_error("maglevd-stop", LOG_STR("reason", "cannot serve the API"));
        d.exit_code = 1;
    } else if (start_vpp(&d) < 0) {
        log_error("maglevd-stop", LOG_STR("reason", "out of memory"));
        d.exit_code = 1;
    } else if (start_metrics(&d) < 0) {
        log_error("maglevd-stop", LOG_STR("reason", "cannot serve --metrics-addr"));
        d.exit_code = 2;
    } else {
        notify_start(d.loop, status_line, &d);
        notify_ready();
        ev_run(d.loop, 0);
        notify_stop(d.loop);
    }
    if (!d.metrics_taken)
        metrics_listeners_free(opts->metrics);
    metrics_stop(d.metrics);     /* before what its collectors read */
    dashboard_free(d.dashboard); /* after the listeners that serve it */
    api_stop(d.api);
    core_free(d.core); /* stops the VPP sync first */
out:
    ev_signal_stop(d.loop, &d.sighup);
    ev_signal_stop(d.loop, &d.sigterm);
    ev_signal_stop(d.loop, &d.sigint);
    ev_loop_destroy(d.loop);
    return d.exit_code;
}
