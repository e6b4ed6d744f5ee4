/* guard.c: the mass-failure guard (see core.h): a sliding window of the
 * health down transitions, the trip, the hold, its end. Every step costs
 * O(1) (amortised) plus the frontends of the backends whose weights
 * change; nothing walks all backends but a reload and the views. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/duration.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/strbuf.h"
#include "core/core_int.h"

#define NAMES_LOGGED 16 /* backends named in the trip's log line */

/* The window: mass-failure-window, else the longest probe interval. */
static int64_t window_us(const struct maglev_config *cfg)
{
    int64_t ns = cfg->mass_failure_window;
    for (size_t i = 0; !cfg->mass_failure_window && i < cfg->n_healthchecks; i++)
        if (cfg->healthchecks[i].interval > ns)
            ns = cfg->healthchecks[i].interval;
    return (ns ? ns : DURATION_SEC) / 1000;
}

static void hold(struct core *c, size_t bi)
{
    struct core_guard *g = &c->guard;
    g->held[bi] = true;
    g->view[bi] = BS_UP;
    g->n_held++;
    mem_grow((void **)&g->list, &g->cap, g->n_list + 1, sizeof(*g->list));
    g->list[g->n_list++] = (uint32_t)bi;
}

static void unhold(struct core *c, size_t bi)
{
    c->guard.held[bi] = false;
    c->guard.view[bi] = c->states[bi];
    c->guard.n_held--;
}

/* Ends the hold: every backend still held takes its real state. */
static void end_hold(struct core *c, const char *reason, const char *trigger)
{
    struct core_guard *g = &c->guard;
    size_t released = g->n_held;
    g->holding = false;
    int64_t now = clock_mono_us();
    for (size_t k = 0; k < g->n_list; k++) {
        size_t bi = g->list[k];
        if (bi < c->cfg->n_backends && g->held[bi]) {
            unhold(c, bi);
            core_refresh_backend(c, bi, trigger, now);
        }
    }
    g->n_list = 0;
    g->n_held = 0;
    g->since_us = 0;
    lb_window_clear(&g->downs);
    log_warn("mass-failure-end", LOG_STR("reason", reason), LOG_UINT("released", released),
             LOG_STR("action", "applying the backends' real states"));
}

/* The window holds a mass failure: the backends it saw go down (and still
 * down) are shown up again, their frontends recomputed. */
static void trip(struct core *c, size_t downs)
{
    struct core_guard *g = &c->guard;
    g->holding = true;
    g->since_us = clock_wall_us();
    g->trip_downs = (uint32_t)downs;
    g->trips++;
    struct strbuf names = STRBUF_INIT;
    size_t named = 0;
    for (size_t k = 0; k < g->downs.n; k++) {
        size_t bi = lb_window_at(&g->downs, k)->backend;
        if (bi >= c->cfg->n_backends || g->held[bi] || c->states[bi] != BS_DOWN)
            continue;
        hold(c, bi);
        if (named++ < NAMES_LOGGED)
            strbuf_addf(&names, "%s%s", named > 1 ? "," : "", c->cfg->backends[bi].name);
    }
    if (named > NAMES_LOGGED)
        strbuf_addf(&names, ",... (%zu more)", named - NAMES_LOGGED);
    char win[DURATION_BUFSZ];
    log_error("mass-failure-hold", LOG_UINT("downs", downs),
              LOG_UINT("backends", c->cfg->n_backends),
              LOG_UINT("mass-failure-pct", c->cfg->mass_failure),
              LOG_STR("window", duration_format(g->downs.span_us * 1000, win, sizeof(win))),
              LOG_STR("held", strbuf_str(&names)),
              LOG_STR("action", "suspecting the health checker: holding the last applied "
                                "weights until the backends recover or an operator runs "
                                "`maglevc set mass-failure release`"));
    strbuf_free(&names);
    int64_t now = clock_mono_us();
    for (size_t k = 0; k < g->n_list; k++)
        core_refresh_backend(c, g->list[k], "mass-failure", now);
}

bool core_guard_transition(struct core *c, size_t bi, const struct health_transition *t,
                           int64_t now_us)
{
    struct core_guard *g = &c->guard;
    bool health_down = t->from == BS_UP && t->to == BS_DOWN && !strcmp(c->cause, "health");
    if (g->holding && health_down) {
        if (!g->held[bi])
            hold(c, bi); /* shown up still: its weights stay */
        return false;
    }
    if (g->held[bi]) {
        unhold(c, bi); /* up again, or an operator's action */
        if (g->holding && !lb_mass_failure((uint32_t)g->n_held, (uint32_t)c->cfg->n_backends,
                                           c->cfg->mass_failure)) {
            core_refresh_backend(c, bi, c->cause, now_us);
            end_hold(c, "recovered", "health");
            return false;
        }
        return true;
    }
    g->view[bi] = t->to;
    if (health_down && c->cfg->mass_failure) {
        size_t n = lb_window_push(&g->downs, now_us, (uint32_t)bi);
        if (lb_mass_failure((uint32_t)n, (uint32_t)c->cfg->n_backends, c->cfg->mass_failure)) {
            trip(c, n);
            return false;
        }
    }
    return true;
}

int core_guard_release(struct core *c)
{
    if (!c->guard.holding)
        return -EALREADY;
    log_warn("mass-failure-release", LOG_UINT("held", c->guard.n_held), LOG_STR("by", "operator"));
    end_hold(c, "operator", "operator");
    return 0;
}

/* The names held under old_cfg, to hold again under c->cfg. */
static char **held_names(const struct core *c, const struct maglev_config *old_cfg, size_t *n)
{
    const struct core_guard *g = &c->guard;
    char **v = mem_calloc(g->n_list ? g->n_list : 1, sizeof(*v));
    *n = 0;
    for (size_t k = 0; old_cfg && k < g->n_list; k++)
        if (g->list[k] < old_cfg->n_backends && g->held[g->list[k]])
            v[(*n)++] = mem_strdup(old_cfg->backends[g->list[k]].name);
    return v;
}

void core_guard_build(struct core *c, const struct maglev_config *old_cfg)
{
    struct core_guard *g = &c->guard;
    const struct maglev_config *cfg = c->cfg;
    size_t n_names;
    char **names = held_names(c, old_cfg, &n_names);
    free(g->view);
    free(g->held);
    size_t nb = cfg->n_backends ? cfg->n_backends : 1;
    g->view = mem_calloc(nb, sizeof(*g->view));
    g->held = mem_calloc(nb, sizeof(*g->held));
    memcpy(g->view, c->states, cfg->n_backends * sizeof(*g->view));
    g->n_list = g->n_held = 0;
    lb_window_free(&g->downs);
    lb_window_init(&g->downs, window_us(cfg));
    for (size_t k = 0; k < n_names; k++) {
        const struct backend_conf *b = config_find_backend(cfg, names[k]);
        size_t bi = b ? (size_t)(b - cfg->backends) : 0;
        if (g->holding && cfg->mass_failure && b && c->states[bi] == BS_DOWN)
            hold(c, bi);
        free(names[k]);
    }
    free(names);
    if (g->holding && !g->n_held) {
        g->holding = false;
        g->since_us = 0;
        log_warn("mass-failure-end", LOG_STR("reason", "reload"), LOG_UINT("released", n_names),
                 LOG_STR("action", "no backend of the new config is held"));
    }
}

void core_guard_free(struct core *c)
{
    free(c->guard.view);
    free(c->guard.held);
    free(c->guard.list);
    lb_window_free(&c->guard.downs);
    memset(&c->guard, 0, sizeof(c->guard));
}

void core_guard(const struct core *c, struct core_guard_view *out)
{
    const struct core_guard *g = &c->guard;
    memset(out, 0, sizeof(*out));
    out->pct = c->cfg->mass_failure;
    out->window_us = g->downs.span_us;
    out->holding = g->holding;
    out->since_us = g->since_us;
    out->trip_downs = g->trip_downs;
    out->n_held = g->n_held;
    out->total = c->cfg->n_backends;
    out->trips = g->trips;
    int64_t now = clock_mono_us();
    for (size_t k = 0; k < g->downs.n; k++)
        out->downs_in_window += lb_window_at(&g->downs, k)->t_us >= now - g->downs.span_us;
}

bool core_backend_held(const struct core *c, size_t i)
{
    return i < c->cfg->n_backends && c->guard.held[i];
}
