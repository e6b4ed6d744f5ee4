/* daemon.c: the libev loop that owns all daemon state. */
#include <ev.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/log.h"
#include "common/version.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "health/health.h"

struct daemon {
    struct ev_loop *loop;
    const char *config_path;
    struct maglev_config *cfg;
    struct checker *checker;
    ev_signal sighup, sigterm, sigint;
    int exit_code;
};

static void log_diags(const struct config_diags *d, const char *event)
{
    for (size_t i = 0; i < d->n; i++) {
        char *line = config_diag_format(d, i);
        log_error(event, LOG_STR("error", line));
        free(line);
    }
}

static struct maglev_config *load(const char *path, const char *event)
{
    struct config_diags d = { 0 };
    struct maglev_config *cfg = NULL;
    if (config_load_file(path, &cfg, &d) < 0)
        log_diags(&d, event);
    config_diags_free(&d);
    return cfg;
}

static void reload(struct daemon *d)
{
    log_info("config-reload-start", LOG_STR("path", d->config_path));
    struct maglev_config *next = load(d->config_path, "config-reload-error");
    if (!next) {
        log_warn("config-reload-failed", LOG_STR("path", d->config_path),
                 LOG_STR("action", "keeping the running config"));
        return;
    }
    struct checker_reload_stats st;
    checker_reload(d->checker, next, &st);
    config_free(d->cfg);
    d->cfg = next;
    log_info("config-reloaded", LOG_STR("path", d->config_path),
             LOG_UINT("healthchecks", next->n_healthchecks), LOG_UINT("backends", next->n_backends),
             LOG_UINT("frontends", next->n_frontends), LOG_UINT("added", st.added),
             LOG_UINT("changed", st.changed), LOG_UINT("removed", st.removed),
             LOG_UINT("unchanged", st.unchanged));
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)revents;
    struct daemon *d = w->data;
    if (w->signum == SIGHUP) {
        reload(d);
        return;
    }
    log_info("maglevd-stop", LOG_STR("signal", w->signum == SIGTERM ? "SIGTERM" : "SIGINT"));
    ev_break(loop, EVBREAK_ALL);
}

static void watch_signal(struct daemon *d, ev_signal *w, int signum)
{
    ev_signal_init(w, on_signal, signum);
    w->data = d;
    ev_signal_start(d->loop, w);
}

int daemon_run(const char *config_path)
{
    struct daemon d = { .config_path = config_path };
    /* Signals first: a SIGHUP or SIGTERM during start-up must not kill us
     * with the default action. */
    signal(SIGPIPE, SIG_IGN);
    d.loop = ev_default_loop(EVFLAG_AUTO | EVFLAG_SIGNALFD);
    watch_signal(&d, &d.sighup, SIGHUP);
    watch_signal(&d, &d.sigterm, SIGTERM);
    watch_signal(&d, &d.sigint, SIGINT);
    log_info("maglevd-start", LOG_STR("version", version_string()),
             LOG_STR("commit", version_commit()), LOG_STR("date", version_date()),
             LOG_INT("pid", getpid()));
    d.cfg = load(config_path, "config-error");
    if (!d.cfg) {
        log_error("maglevd-stop", LOG_STR("reason", "invalid config"),
                  LOG_STR("path", config_path));
        d.exit_code = 1;
        goto out;
    }
    log_info("config-loaded", LOG_STR("path", config_path),
             LOG_UINT("healthchecks", d.cfg->n_healthchecks),
             LOG_UINT("backends", d.cfg->n_backends), LOG_UINT("frontends", d.cfg->n_frontends));
    d.checker = checker_new(d.loop, d.cfg);
    ev_run(d.loop, 0);
    checker_free(d.checker);
out:
    ev_signal_stop(d.loop, &d.sighup);
    ev_signal_stop(d.loop, &d.sigterm);
    ev_signal_stop(d.loop, &d.sigint);
    ev_loop_destroy(d.loop);
    config_free(d.cfg);
    return d.exit_code;
}
