/* collect.c: the daemon's families, read through core's views on the loop
 * thread (see metrics.h): build info, config reloads, backends and their
 * probes, frontends and their weights. Labels are bounded by the config
 * (backend, frontend and pool names) or by fixed sets (states, result
 * codes, healthcheck types). An item is a backend, a frontend or a
 * healthcheck type. */
#include "common/clock.h"
#include "common/version.h"
#include "core/core.h"
#include "metrics/metrics.h"

/* ---- scalars ---- */

static void build_info(void *ctx, struct mx_writer *w, size_t i)
{
    (void)ctx, (void)i;
    struct mx_label l[] = { { "version", version_string() }, { "commit", version_commit() } };
    mx_sample_u64(w, l, 2, 1);
}

static void start_time(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    mx_sample_double(w, NULL, 0, (double)core_start_us(ctx) / 1e6);
}

static void reloads(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    struct core_reload_counts rc;
    core_reload_counts(ctx, &rc);
    struct mx_label ok[] = { { "result", "success" } }, bad[] = { { "result", "failure" } };
    mx_sample_u64(w, ok, 1, rc.success);
    mx_sample_u64(w, bad, 1, rc.failure);
}

static void last_reload(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    struct core_reload_counts rc;
    core_reload_counts(ctx, &rc);
    mx_sample_double(w, NULL, 0, (double)rc.last_success_us / 1e6);
}

/* the health checker's watchdog */
static void checker_degraded(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    struct checker_watch cw;
    core_health_watch(ctx, &cw);
    mx_sample_u64(w, NULL, 0, cw.reasons != 0);
}

static void checker_stale(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    struct checker_watch cw;
    core_health_watch(ctx, &cw);
    mx_sample_u64(w, NULL, 0, cw.stale);
}

static void checker_probe_errors(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    struct checker_watch cw;
    core_health_watch(ctx, &cw);
    mx_sample_u64(w, NULL, 0, cw.probe_errors);
}

static size_t n_backends(void *ctx)
{
    return core_config(ctx)->n_backends;
}

static size_t n_frontends(void *ctx)
{
    return core_config(ctx)->n_frontends;
}

static void config_backends(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    mx_sample_u64(w, NULL, 0, n_backends(ctx));
}

static void config_frontends(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    mx_sample_u64(w, NULL, 0, n_frontends(ctx));
}

/* ---- per backend ---- */

static const char *backend_name(void *ctx, size_t i)
{
    return core_config(ctx)->backends[i].name;
}

static const enum backend_state shown_states[] = { BS_UNKNOWN, BS_UP, BS_DOWN, BS_PAUSED,
                                                   BS_DISABLED };

static void backend_state(void *ctx, struct mx_writer *w, size_t i)
{
    enum backend_state st = core_backend_state(ctx, i);
    for (size_t k = 0; k < sizeof(shown_states) / sizeof(shown_states[0]); k++) {
        mx_begin(w, NULL);
        mx_label(w, "backend", backend_name(ctx, i));
        mx_label(w, "state", health_state_name(shown_states[k]));
        mx_end_u64(w, st == shown_states[k]);
    }
}

static void backend_enabled(void *ctx, struct mx_writer *w, size_t i)
{
    mx_begin(w, NULL);
    mx_label(w, "backend", backend_name(ctx, i));
    mx_end_u64(w, core_backend_state(ctx, i) != BS_DISABLED);
}

static void backend_paused(void *ctx, struct mx_writer *w, size_t i)
{
    mx_begin(w, NULL);
    mx_label(w, "backend", backend_name(ctx, i));
    mx_end_u64(w, core_backend_state(ctx, i) == BS_PAUSED);
}

static void backend_slow_start(void *ctx, struct mx_writer *w, size_t i)
{
    struct core_ramp_view rv;
    core_backend_ramp(ctx, i, &rv);
    mx_begin(w, NULL);
    mx_label(w, "backend", backend_name(ctx, i));
    mx_end_u64(w, rv.pct);
}

static void backend_probes(void *ctx, struct mx_writer *w, size_t i)
{
    const struct backend_rt *b = core_backend(ctx, i);
    for (int k = 0; b && k < PC__COUNT; k++) {
        if (!b->probe_codes[k])
            continue;
        mx_begin(w, NULL);
        mx_label(w, "backend", backend_name(ctx, i));
        mx_label(w, "code", probe_code_name((enum probe_code)k));
        mx_end_u64(w, b->probe_codes[k]);
    }
}

static void backend_transitions(void *ctx, struct mx_writer *w, size_t i)
{
    const struct backend_rt *b = core_backend(ctx, i);
    for (int f = 0; b && f < BS__COUNT; f++) {
        for (int t = 0; t < BS__COUNT; t++) {
            if (!b->transitions[f][t])
                continue;
            mx_begin(w, NULL);
            mx_label(w, "backend", backend_name(ctx, i));
            mx_label(w, "from", health_state_name((enum backend_state)f));
            mx_label(w, "to", health_state_name((enum backend_state)t));
            mx_end_u64(w, b->transitions[f][t]);
        }
    }
}

static void backend_last_probe(void *ctx, struct mx_writer *w, size_t i)
{
    const struct backend_rt *b = core_backend(ctx, i);
    if (!b || !b->last_probe_us)
        return;
    int64_t age = clock_wall_us() - b->last_probe_us;
    mx_begin(w, NULL);
    mx_label(w, "backend", backend_name(ctx, i));
    mx_end_double(w, age > 0 ? (double)age / 1e6 : 0.);
}

/* Flap damping: only the backends whose healthcheck has damping. */
static const struct backend_rt *damped(void *ctx, struct mx_writer *w, size_t i)
{
    const struct backend_rt *b = core_backend(ctx, i);
    if (!b || !b->damp_conf.on)
        return NULL;
    mx_begin(w, NULL);
    mx_label(w, "backend", backend_name(ctx, i));
    return b;
}

static void backend_damping_penalty(void *ctx, struct mx_writer *w, size_t i)
{
    const struct backend_rt *b = damped(ctx, w, i);
    if (b)
        mx_end_double(w, checker_damping_penalty(b));
}

static void backend_damping_suppressed(void *ctx, struct mx_writer *w, size_t i)
{
    const struct backend_rt *b = damped(ctx, w, i);
    if (b)
        mx_end_u64(w, b->damp.suppressed);
}

static void backend_damping_suppressions(void *ctx, struct mx_writer *w, size_t i)
{
    const struct backend_rt *b = damped(ctx, w, i);
    if (b)
        mx_end_u64(w, b->damp.suppressions);
}

static size_t n_hc_types(void *ctx)
{
    (void)ctx;
    return CHECKER_HC_TYPES;
}

static void probe_duration(void *ctx, struct mx_writer *w, size_t t)
{
    const struct checker_stats *st = core_health_stats(ctx);
    struct mx_label l[] = { { "type", config_hc_type_name((enum hc_type)t) } };
    mx_histogram(w, l, 1, checker_duration_bounds, CHECKER_DURATION_BUCKETS, st->duration[t],
                 st->duration_sum[t]);
}

/* ---- per frontend ---- */

static void frontend_state(void *ctx, struct mx_writer *w, size_t i)
{
    static const enum fe_state fs[] = { FE_UNKNOWN, FE_UP, FE_DOWN };
    struct core_frontend_view v;
    core_frontend(ctx, i, &v);
    for (size_t k = 0; k < 3; k++) {
        mx_begin(w, NULL);
        mx_label(w, "frontend", v.conf->name);
        mx_label(w, "state", lb_fe_state_name(fs[k]));
        mx_end_u64(w, v.result.state == fs[k]);
    }
}

static void frontend_active_pool(void *ctx, struct mx_writer *w, size_t i)
{
    struct core_frontend_view v;
    core_frontend(ctx, i, &v);
    for (size_t p = 0; p < v.conf->n_pools; p++) {
        mx_begin(w, NULL);
        mx_label(w, "frontend", v.conf->name);
        mx_label(w, "pool", v.conf->pools[p].name);
        mx_end_u64(w, v.result.active_pool == (int)p);
    }
}

static void frontend_panic(void *ctx, struct mx_writer *w, size_t i)
{
    struct core_frontend_view v;
    core_frontend(ctx, i, &v);
    mx_begin(w, NULL);
    mx_label(w, "frontend", v.conf->name);
    mx_end_u64(w, v.result.panic);
}

/* the mass-failure guard */
static void mass_failure_holding(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    struct core_guard_view g;
    core_guard(ctx, &g);
    mx_sample_u64(w, NULL, 0, g.holding);
}

static void mass_failure_held(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    struct core_guard_view g;
    core_guard(ctx, &g);
    mx_sample_u64(w, NULL, 0, g.n_held);
}

static void mass_failure_trips(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    struct core_guard_view g;
    core_guard(ctx, &g);
    mx_sample_u64(w, NULL, 0, g.trips);
}

/* configured (the config's, or the run-time override) or effective */
static void weights(void *ctx, struct mx_writer *w, size_t i, bool effective)
{
    const struct frontend_conf *fe = &core_config(ctx)->frontends[i];
    const struct lb_weight *ew = core_frontend_weights(ctx, i);
    const int16_t *ov = core_frontend_overrides(ctx, i);
    size_t s = 0;
    for (size_t p = 0; p < fe->n_pools; p++) {
        for (size_t k = 0; k < fe->pools[p].n_backends; k++, s++) {
            const struct pool_backend_conf *pb = &fe->pools[p].backends[k];
            mx_begin(w, NULL);
            mx_label(w, "frontend", fe->name);
            mx_label(w, "pool", fe->pools[p].name);
            mx_label(w, "backend", pb->backend);
            if (effective)
                mx_end_u64(w, ew[s].weight);
            else
                mx_end_u64(w, ov && ov[s] >= 0 ? (uint64_t)ov[s] : pb->weight);
        }
    }
}

static void configured_weight(void *ctx, struct mx_writer *w, size_t i)
{
    weights(ctx, w, i, false);
}

static void effective_weight(void *ctx, struct mx_writer *w, size_t i)
{
    weights(ctx, w, i, true);
}

static const struct metrics_family daemon_families[] = {
    { "maglev_build_info", MX_GAUGE, "maglevd's version and commit (always 1).", NULL, build_info },
    { "maglev_start_time_seconds", MX_GAUGE, "When maglevd started, seconds since the epoch.", NULL,
      start_time },
    { "maglev_config_reloads", MX_COUNTER, "Config reloads (SIGHUP, ReloadConfig) by result.", NULL,
      reloads },
    { "maglev_config_last_reload_success_timestamp_seconds", MX_GAUGE,
      "When the running config was loaded (start or the last successful reload), seconds "
      "since the epoch.",
      NULL, last_reload },
    { "maglev_config_backends", MX_GAUGE, "Backends in the running config.", NULL,
      config_backends },
    { "maglev_config_frontends", MX_GAUGE, "Frontends in the running config.", NULL,
      config_frontends },
    { "maglev_checker_degraded", MX_GAUGE,
      "1 while the health checker's watchdog says degraded (a backend stale, a local probe "
      "error, or probe starts later than their interval), else 0.",
      NULL, checker_degraded },
    { "maglev_checker_stale_backends", MX_GAUGE,
      "Probing backends without a valid probe result for 3 intervals.", NULL, checker_stale },
    { "maglev_checker_probe_error_backends", MX_GAUGE,
      "Probing backends whose last probe result was a local error (SOCKERR): not probed.", NULL,
      checker_probe_errors },
    { "maglev_mass_failure_holding", MX_GAUGE,
      "1 while the mass-failure guard holds the last applied weights (more than "
      "healthchecker.mass-failure of the backends went down within the window), else 0.",
      NULL, mass_failure_holding },
    { "maglev_mass_failure_held_backends", MX_GAUGE,
      "Backends down by health that the mass-failure guard keeps at their last weights.", NULL,
      mass_failure_held },
    { "maglev_mass_failure_trips", MX_COUNTER, "Times the mass-failure guard started holding.",
      NULL, mass_failure_trips },
    { "maglev_backend_state", MX_GAUGE, "1 for the backend's health state, 0 for the others.",
      n_backends, backend_state },
    { "maglev_backend_enabled", MX_GAUGE,
      "0 while the backend is disabled (config or operator), else 1.", n_backends,
      backend_enabled },
    { "maglev_backend_paused", MX_GAUGE, "1 while the operator has paused the backend's probes.",
      n_backends, backend_paused },
    { "maglev_backend_slow_start_pct", MX_GAUGE,
      "Slow start: the share (0..100) of its full weight the backend's ramp gives it now; 100 "
      "when not ramping.",
      n_backends, backend_slow_start },
    { "maglev_backend_probes", MX_COUNTER,
      "Probe results by result code (L4OK, L7STS, ...); codes not seen yet are absent.", n_backends,
      backend_probes },
    { "maglev_backend_transitions", MX_COUNTER,
      "Health state transitions by from and to state; pairs not seen yet are absent.", n_backends,
      backend_transitions },
    { "maglev_backend_last_probe_age_seconds", MX_GAUGE,
      "Seconds since the backend's last probe result; absent before the first.", n_backends,
      backend_last_probe },
    { "maglev_backend_damping_penalty", MX_GAUGE,
      "Flap damping: the backend's penalty now (decayed); absent when its healthcheck has no "
      "damping.",
      n_backends, backend_damping_penalty },
    { "maglev_backend_damping_suppressed", MX_GAUGE,
      "Flap damping: 1 while a suppression holds the backend down; absent without damping.",
      n_backends, backend_damping_suppressed },
    { "maglev_backend_damping_suppressions", MX_COUNTER,
      "Flap damping: suppressions started; absent without damping.", n_backends,
      backend_damping_suppressions },
    { "maglev_probe_duration_seconds", MX_HISTOGRAM,
      "Probe durations (start to result) by healthcheck type.", n_hc_types, probe_duration },
    { "maglev_frontend_state", MX_GAUGE,
      "1 for the frontend's state (up: some backend has weight; down: none; unknown: every "
      "backend unknown), 0 for the others.",
      n_frontends, frontend_state },
    { "maglev_frontend_active_pool", MX_GAUGE,
      "1 for the frontend's active pool (the first with a backend up), 0 for the others.",
      n_frontends, frontend_active_pool },
    { "maglev_frontend_panic", MX_GAUGE,
      "1 while the frontend is in panic (fail open: below panic-threshold of up backends in "
      "every pool, the active pool's backends get their weights as if up), else 0.",
      n_frontends, frontend_panic },
    { "maglev_frontend_backend_configured_weight", MX_GAUGE,
      "The backend's weight in the frontend's pool: the config's, or the run-time override.",
      n_frontends, configured_weight },
    { "maglev_frontend_backend_effective_weight", MX_GAUGE,
      "The weight the backend gets in the frontend's pool now (0..100): what VPP is given.",
      n_frontends, effective_weight },
};

/* Backends and frontends are renumbered by a reload: a scrape spanning one
 * is cut short. */
static uint64_t config_epoch(void *ctx)
{
    struct core_reload_counts rc;
    core_reload_counts(ctx, &rc);
    return rc.success;
}

void metrics_add_daemon(struct metrics *m, struct core *core)
{
    metrics_add_families(m, daemon_families, sizeof(daemon_families) / sizeof(daemon_families[0]),
                         core);
    metrics_set_epoch(m, config_epoch, core);
}
