/* slowstart.c: slow start's ramps on the loop (see core.h): one ev_timer
 * per ramping backend; a step recomputes only the frontends using that
 * backend (the index), so its cost does not grow with the number of
 * backends. The steps themselves are pure (lb.h, src/lb/slowstart.c). */
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/duration.h"
#include "common/log.h"
#include "common/mem.h"
#include "core/core_int.h"

static int64_t setting_us(const struct core *c, size_t bi)
{
    return config_backend_slow_start(c->cfg, &c->cfg->backends[bi]) / 1000;
}

/* ---- the exemptions of a frontend ---- */

static void exempt_add(struct core_fe *f, uint32_t bi)
{
    mem_grow((void **)&f->ss_exempt, &f->ss_exempt_cap, f->n_ss_exempt + 1, sizeof(*f->ss_exempt));
    f->ss_exempt[f->n_ss_exempt++] = bi;
}

static void exempt_del(struct core_fe *f, uint32_t bi)
{
    for (size_t k = 0; k < f->n_ss_exempt; k++)
        if (f->ss_exempt[k] == bi) {
            f->ss_exempt[k] = f->ss_exempt[--f->n_ss_exempt];
            return;
        }
}

/* ---- a ramp's life ---- */

static void on_step(struct ev_loop *loop, ev_timer *w, int revents);

/* Sets the timer for the next step after now. */
static void schedule(struct core *c, struct core_ramp *r, int64_t now_us)
{
    const struct lb_ramp *lr = &c->ss.lb[r->bi];
    int64_t at = r->start_us + lb_slow_start_at_us((uint16_t)(lr->done + 1), r->dur_us);
    double after = at > now_us ? (double)(at - now_us) / 1e6 : 0;
    ev_timer_stop(c->loop, &r->timer);
    ev_timer_set(&r->timer, after, 0);
    ev_timer_start(c->loop, &r->timer);
}

/* Ends backend bi's ramp (the caller recomputes its frontends when the
 * weights can change). */
static void ramp_end(struct core *c, size_t bi, const char *reason)
{
    struct core_ramp *r = c->ss.ramp[bi];
    if (!r)
        return;
    ev_timer_stop(c->loop, &r->timer);
    char d[DURATION_BUFSZ];
    log_info(
        "backend-slow-start-end", LOG_STR("backend", c->cfg->backends[bi].name),
        LOG_STR("reason", reason),
        LOG_STR("after", duration_format((clock_mono_us() - r->start_us) * 1000, d, sizeof(d))),
        LOG_UINT("ramp-pct", lb_slow_start_pct(c->ss.lb[bi])));
    free(r);
    c->ss.ramp[bi] = NULL;
    c->ss.lb[bi] = (struct lb_ramp){ 0, 0 };
    c->ss.n_ramping--;
    for (size_t k = c->idx.start[bi]; k < c->idx.start[bi + 1]; k++)
        exempt_del(&c->fe[c->idx.fe[k]], (uint32_t)bi);
}

static void on_step(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)revents;
    struct core_ramp *r = w->data;
    struct core *c = r->c;
    size_t bi = r->bi;
    int64_t now = clock_mono_us();
    struct lb_ramp next = lb_slow_start_ramp(now - r->start_us, r->dur_us);
    if (next.done <= c->ss.lb[bi].done) { /* early: the loop's clock */
        schedule(c, r, now);
        return;
    }
    c->ss.lb[bi] = next;
    bool over = next.done >= next.total;
    log_debug("backend-slow-start-step", LOG_STR("backend", c->cfg->backends[bi].name),
              LOG_UINT("step", next.done), LOG_UINT("steps", next.total),
              LOG_UINT("ramp-pct", lb_slow_start_pct(next)));
    if (over)
        ramp_end(c, bi, "done"); /* the frontends then get the full weight */
    core_refresh_backend(c, bi, "slow-start", now);
    if (!over)
        schedule(c, r, now);
}

static struct core_ramp *ramp_new(struct core *c, size_t bi, int64_t start_us, int64_t wall_us,
                                  int64_t dur_us)
{
    struct core_ramp *r = mem_calloc(1, sizeof(*r));
    r->c = c;
    r->bi = bi;
    r->start_us = start_us;
    r->start_wall_us = wall_us;
    r->dur_us = dur_us;
    ev_init(&r->timer, on_step);
    r->timer.data = r;
    c->ss.ramp[bi] = r;
    c->ss.n_ramping++;
    return r;
}

/* Backend bi came back into service: a ramp, in the frontends that were
 * serving (outside panic) just before. */
static void ramp_begin(struct core *c, size_t bi, int64_t now_us)
{
    int64_t dur = setting_us(c, bi);
    const struct backend_conf *b = &c->cfg->backends[bi];
    size_t n = c->idx.start[bi + 1] - c->idx.start[bi], exempt = 0;
    for (size_t k = c->idx.start[bi]; k < c->idx.start[bi + 1]; k++) {
        const struct core_fe *f = &c->fe[c->idx.fe[k]];
        /* after a full outage nothing is there to protect, and a ramp
         * would only keep capacity away; panic serves with full weights */
        exempt += f->res.state != FE_UP || f->res.panic;
    }
    char d[DURATION_BUFSZ];
    if (exempt == n) {
        log_info("backend-slow-start-skip", LOG_STR("backend", b->name),
                 LOG_STR("slow-start", duration_format(dur * 1000, d, sizeof(d))),
                 LOG_STR("reason", n ? "no frontend using it was serving (or all were in panic)"
                                     : "no frontend uses it"));
        return;
    }
    for (size_t k = c->idx.start[bi]; k < c->idx.start[bi + 1]; k++) {
        struct core_fe *f = &c->fe[c->idx.fe[k]];
        if (f->res.state != FE_UP || f->res.panic)
            exempt_add(f, (uint32_t)bi);
    }
    struct core_ramp *r = ramp_new(c, bi, now_us, clock_wall_us(), dur);
    c->ss.lb[bi] = lb_slow_start_ramp(0, dur);
    char st[DURATION_BUFSZ];
    log_info("backend-slow-start", LOG_STR("backend", b->name),
             LOG_STR("duration", duration_format(dur * 1000, d, sizeof(d))),
             LOG_UINT("steps", c->ss.lb[bi].total),
             LOG_STR("step", duration_format(lb_slow_start_step_us(dur) * 1000, st, sizeof(st))),
             LOG_UINT("ramp-pct", lb_slow_start_pct(c->ss.lb[bi])),
             LOG_UINT("frontends", n - exempt), LOG_UINT("frontends-exempt", exempt));
    schedule(c, r, now_us);
}

void core_ss_transition(struct core *c, size_t bi, const struct health_transition *t,
                        int64_t now_us)
{
    struct core_slowstart *s = &c->ss;
    if (t->to == BS_DOWN || t->to == BS_PAUSED || t->to == BS_DISABLED) {
        s->armed[bi] = true; /* out of service: its next up comes back */
        return;
    }
    if (t->to != BS_UP)
        return;
    bool armed = s->armed[bi];
    s->armed[bi] = false;
    /* a held backend never left VPP's table: nothing comes back */
    if (!armed || s->ramp[bi] || c->guard.held[bi] || !setting_us(c, bi))
        return;
    ramp_begin(c, bi, now_us);
}

void core_ss_settled(struct core *c, size_t bi, const struct health_transition *t)
{
    /* down mid-ramp ends it, unless the guard shows the backend up still */
    if (t->to != BS_UP && c->ss.ramp[bi] && !c->guard.held[bi])
        ramp_end(c, bi, health_state_name(t->to));
}

const struct lb_ramps *core_ss_ramps(const struct core *c, size_t i, struct lb_ramps *buf)
{
    if (!c->ss.n_ramping)
        return NULL;
    *buf = (struct lb_ramps){ c->ss.lb, c->fe[i].ss_exempt, c->fe[i].n_ss_exempt };
    return buf;
}

/* ---- reload ---- */

/* A ramp of the replaced config, moved to backend bi of c->cfg: the same
 * start, the new duration; ended when turned off, over, or not up. */
static void ramp_move(struct core *c, struct core_ramp *r, size_t bi, int64_t now_us)
{
    r->bi = bi;
    c->ss.ramp[bi] = r;
    c->ss.n_ramping++;
    int64_t dur = setting_us(c, bi);
    const char *why = !dur ? "slow-start turned off" : c->states[bi] != BS_UP ? "reload" : NULL;
    if (dur && dur != r->dur_us) {
        char a[DURATION_BUFSZ], b[DURATION_BUFSZ];
        log_info("backend-slow-start-changed", LOG_STR("backend", c->cfg->backends[bi].name),
                 LOG_STR("from", duration_format(r->dur_us * 1000, a, sizeof(a))),
                 LOG_STR("to", duration_format(dur * 1000, b, sizeof(b))));
        r->dur_us = dur;
    }
    c->ss.lb[bi] = lb_slow_start_ramp(now_us - r->start_us, r->dur_us);
    if (!why && c->ss.lb[bi].done >= c->ss.lb[bi].total)
        why = "done";
    if (why)
        ramp_end(c, bi, why);
    else
        schedule(c, r, now_us);
}

void core_ss_build(struct core *c, const struct maglev_config *old_cfg,
                   const struct core_fe *old_fe)
{
    struct core_slowstart old = c->ss;
    const struct maglev_config *cfg = c->cfg;
    size_t nb = cfg->n_backends ? cfg->n_backends : 1;
    c->ss.ramp = mem_calloc(nb, sizeof(*c->ss.ramp));
    c->ss.lb = mem_calloc(nb, sizeof(*c->ss.lb));
    c->ss.armed = mem_calloc(nb, sizeof(*c->ss.armed));
    c->ss.n_ramping = 0;
    if (!old_cfg)
        return; /* start-up: no backend is armed, nothing ramps */
    for (size_t i = 0; i < cfg->n_backends; i++) {
        const struct backend_conf *was = config_find_backend(old_cfg, cfg->backends[i].name);
        /* a backend the reload added comes into service when it comes up */
        enum backend_state st = c->states[i];
        c->ss.armed[i] = !was || old.armed[was - old_cfg->backends] || st == BS_DOWN ||
                         st == BS_PAUSED || st == BS_DISABLED;
    }
    /* the exemptions, by names, before the ramps (ramp_end drops them) */
    for (size_t i = 0; i < cfg->n_frontends; i++) {
        const struct frontend_conf *was = config_find_frontend(old_cfg, cfg->frontends[i].name);
        const struct core_fe *of = was ? &old_fe[was - old_cfg->frontends] : NULL;
        for (size_t k = 0; of && k < of->n_ss_exempt; k++) {
            const struct backend_conf *b =
                config_find_backend(cfg, old_cfg->backends[of->ss_exempt[k]].name);
            if (b)
                exempt_add(&c->fe[i], (uint32_t)(b - cfg->backends));
        }
    }
    int64_t now = clock_mono_us();
    for (size_t i = 0; i < old_cfg->n_backends; i++) {
        struct core_ramp *r = old.ramp[i];
        if (!r)
            continue;
        const struct backend_conf *b = config_find_backend(cfg, old_cfg->backends[i].name);
        if (b) {
            ramp_move(c, r, (size_t)(b - cfg->backends), now);
        } else {
            ev_timer_stop(c->loop, &r->timer);
            log_info("backend-slow-start-end", LOG_STR("backend", old_cfg->backends[i].name),
                     LOG_STR("reason", "removed"));
            free(r);
        }
    }
    /* an exemption of a backend no longer ramping is dropped */
    for (size_t i = 0; i < cfg->n_frontends; i++) {
        struct core_fe *f = &c->fe[i];
        for (size_t k = f->n_ss_exempt; k-- > 0;)
            if (!c->ss.ramp[f->ss_exempt[k]])
                f->ss_exempt[k] = f->ss_exempt[--f->n_ss_exempt];
    }
    free(old.ramp);
    free(old.lb);
    free(old.armed);
}

void core_ss_free(struct core *c)
{
    for (size_t i = 0; c->ss.ramp && i < c->cfg->n_backends; i++)
        if (c->ss.ramp[i]) {
            ev_timer_stop(c->loop, &c->ss.ramp[i]->timer);
            free(c->ss.ramp[i]);
        }
    free(c->ss.ramp);
    free(c->ss.lb);
    free(c->ss.armed);
    memset(&c->ss, 0, sizeof(c->ss));
}

/* ---- views ---- */

void core_backend_ramp(const struct core *c, size_t i, struct core_ramp_view *out)
{
    memset(out, 0, sizeof(*out));
    out->slow_start_us = setting_us(c, i);
    out->pct = 100;
    const struct core_ramp *r = c->ss.ramp ? c->ss.ramp[i] : NULL;
    if (!r)
        return;
    out->ramping = true;
    out->started_us = r->start_wall_us;
    out->ends_us = r->start_wall_us + r->dur_us;
    out->pct = lb_slow_start_pct(c->ss.lb[i]);
}

size_t core_ramping(const struct core *c)
{
    return c->ss.n_ramping;
}
