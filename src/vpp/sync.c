/* VPP LB sync jobs, warm-up and the public operations (see sync.h; the
 * targeted changes are in sync_vip.c). */
#include "vpp/sync.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/mem.h"
#include "lb/disrupt.h"
#include "vpp/sync_int.h"

enum job_kind { JOB_SYNC, JOB_STATE };

struct vpp_sync_job {
    struct vpp_sync *s;
    enum job_kind kind;
    char *frontend; /* NULL = all */
    bool apply;
    const char *trigger; /* "connect", "periodic", "reload", "api" */
    vpp_sync_cb cb;
    vpp_state_cb state_cb;
    void *ctx;
    bool canceled;
    int64_t start_us; /* clock_mono_us */
    struct lb_state desired, observed;
    struct lb_plan plan;
    struct vpp_sync_job *next;
};

static void run_next(struct vpp_sync *s);

double vpp_sync_clamp_interval(double seconds)
{
    if (!(seconds >= 1))
        return 1;
    return seconds > 86400 ? 86400 : seconds;
}

/* ---- sticky memory ---- */

static struct sticky_mem *sticky_find(struct vpp_sync *s, const struct lb_vip_key *k)
{
    for (size_t i = 0; i < s->n_sticky; i++)
        if (lb_vip_key_cmp(&s->sticky[i].key, k) == 0)
            return &s->sticky[i];
    return NULL;
}

static void sticky_set(struct vpp_sync *s, const struct lb_vip_key *k, int sticky)
{
    struct sticky_mem *m = sticky_find(s, k);
    if (sticky < 0) {
        if (m)
            *m = s->sticky[--s->n_sticky];
        return;
    }
    if (!m) {
        mem_grow((void **)&s->sticky, &s->sticky_cap, s->n_sticky + 1, sizeof(*s->sticky));
        m = &s->sticky[s->n_sticky++];
        m->key = *k;
    }
    m->sticky = sticky;
}

/* ---- job queue ---- */

static void job_free(struct vpp_sync_job *j)
{
    lb_plan_free(&j->plan);
    lb_state_free(&j->desired);
    lb_state_free(&j->observed);
    free(j->frontend);
    free(j);
}

static void enqueue(struct vpp_sync *s, struct vpp_sync_job *j)
{
    if (s->queue_tail)
        s->queue_tail->next = j;
    else
        s->queue = j;
    s->queue_tail = j;
    if (!s->running)
        ev_idle_start(s->loop, &s->kick);
}

static void job_done(struct vpp_sync *s)
{
    struct vpp_sync_job *j = s->queue;
    s->queue = j->next;
    if (!s->queue)
        s->queue_tail = NULL;
    s->running = false;
    job_free(j);
    if (s->queue)
        ev_idle_start(s->loop, &s->kick);
    vpp_sync_vip_kick(s); /* targeted changes waited for this job */
}

static void fail_job(struct vpp_sync *s, struct vpp_sync_job *j, int err, const char *what)
{
    if (!j->canceled) {
        if (j->kind == JOB_STATE && j->state_cb) {
            j->state_cb(j->ctx, err, NULL);
        } else if (j->cb) {
            struct vpp_sync_result r = { .err = err,
                                         .full = !j->frontend,
                                         .frontend = j->frontend };
            snprintf(r.error, sizeof(r.error), "%s", what);
            j->cb(j->ctx, &r);
        }
    }
    if (j->kind == JOB_SYNC && j->apply && err != -ECANCELED)
        vpp_sync_count(s, j->frontend ? VPP_SCOPE_VIP : VPP_SCOPE_ALL, j->trigger, VPP_SYNC_FAILURE,
                       j->start_us);
    if (!j->cb && !j->state_cb && err != -ECANCELED)
        log_warn("vpp-lbsync-failed", LOG_STR("scope", j->frontend ? "vip" : "all"),
                 LOG_STR("trigger", j->trigger), LOG_STR("error", what));
    job_done(s);
}

static struct vpp_sync_job *job_new(struct vpp_sync *s, enum job_kind kind, const char *fe)
{
    struct vpp_sync_job *j = mem_calloc(1, sizeof(*j));
    j->s = s;
    j->kind = kind;
    j->frontend = mem_strdup(fe);
    return j;
}

/* An internal sync (full when frontend is NULL), unless an internal full
 * sync or one of the same VIP is already waiting. */
static void queue_internal(struct vpp_sync *s, const char *frontend, const char *trigger)
{
    for (struct vpp_sync_job *j = s->queue; j; j = j->next) {
        if ((j == s->queue && s->running) || j->kind != JOB_SYNC || j->cb || !j->apply)
            continue;
        if (!j->frontend || (frontend && !strcmp(j->frontend, frontend)))
            return;
    }
    struct vpp_sync_job *j = job_new(s, JOB_SYNC, frontend);
    j->apply = true;
    j->trigger = trigger;
    enqueue(s, j);
}

void vpp_sync_queue_full(struct vpp_sync *s, const char *trigger)
{
    queue_internal(s, NULL, trigger);
}

bool vpp_sync_model_job_running(const struct vpp_sync *s)
{
    return s->running && s->queue && s->queue->kind == JOB_SYNC && s->queue->apply;
}

/* ---- logging the ops ---- */

void vpp_sync_log_op(const struct lb_op *op, const char *result, bool dry)
{
    char vip[96], as[IP_ADDR_STRLEN] = "", ev[48];
    lb_vip_key_format(&op->vip, vip, sizeof(vip));
    if (op->kind == LB_OP_CONF_SET) {
        char a4[IP_ADDR_STRLEN], a6[IP_ADDR_STRLEN];
        LOG_AT(LOG_LEVEL_INFO, dry ? "vpp-lbsync-dry-run" : "vpp-lb-conf-set",
               LOG_STR("op", "conf-set"),
               LOG_STR("ipv4-src-address", ip_addr_format(&op->conf.ip4_src, a4, sizeof(a4))),
               LOG_STR("ipv6-src-address", ip_addr_format(&op->conf.ip6_src, a6, sizeof(a6))),
               LOG_UINT("sticky-buckets-per-core", op->conf.sticky_buckets_per_core),
               LOG_UINT("flow-timeout", op->conf.flow_timeout), LOG_STR("result", result));
        return;
    }
    snprintf(ev, sizeof(ev), "vpp-lbsync-%s", lb_op_kind_name(op->kind));
    enum log_level lvl = dry ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG;
    const char *event = dry ? "vpp-lbsync-dry-run" : ev;
    const char *fe = op->frontend ? op->frontend : "";
    if (op->kind == LB_OP_VIP_ADD || op->kind == LB_OP_VIP_DEL) {
        LOG_AT(lvl, event, LOG_STR("op", lb_op_kind_name(op->kind)), LOG_STR("frontend", fe),
               LOG_STR("vip", vip), LOG_STR("encap", lb_encap_name(op->encap)),
               LOG_BOOL("src-ip-sticky", op->src_ip_sticky), LOG_STR("reason", op->reason),
               LOG_STR("result", result));
        return;
    }
    ip_addr_format(&op->as, as, sizeof(as));
    if (op->kind == LB_OP_AS_WEIGHT)
        LOG_AT(lvl, event, LOG_STR("op", lb_op_kind_name(op->kind)), LOG_STR("frontend", fe),
               LOG_STR("vip", vip), LOG_STR("address", as), LOG_UINT("weight", op->weight),
               LOG_UINT("old-weight", op->old_weight), LOG_BOOL("flush", op->flush),
               LOG_STR("reason", op->reason), LOG_STR("result", result));
    else
        LOG_AT(lvl, event, LOG_STR("op", lb_op_kind_name(op->kind)), LOG_STR("frontend", fe),
               LOG_STR("vip", vip), LOG_STR("address", as), LOG_UINT("weight", op->weight),
               LOG_BOOL("flush", op->flush), LOG_STR("reason", op->reason),
               LOG_STR("result", result));
}

void vpp_sync_log_result(const struct lb_op *op, const struct vpp_op_result *res, bool always)
{
    bool ok = !res->err && !res->retval;
    if (ok && !always && !log_enabled(LOG_LEVEL_DEBUG))
        return;
    char buf[128];
    vpp_op_result_format(res, buf, sizeof(buf));
    if (always || log_enabled(LOG_LEVEL_DEBUG))
        vpp_sync_log_op(op, buf, false);
    if (ok)
        return;
    char vip[96], as[IP_ADDR_STRLEN] = "";
    if (op->kind >= LB_OP_AS_ADD)
        ip_addr_format(&op->as, as, sizeof(as));
    log_warn("vpp-lbsync-op-failed", LOG_STR("op", lb_op_kind_name(op->kind)),
             LOG_STR("frontend", op->frontend),
             LOG_STR("vip", lb_vip_key_format(&op->vip, vip, sizeof(vip))), LOG_STR("address", as),
             LOG_STR("error", buf));
}

void vpp_sync_log_done(const char *event, const char *frontend, const char *trigger,
                       const struct lb_plan *p, size_t failed, double duration_ms,
                       const struct lb_mg_disruption *d)
{
    if (!log_enabled(LOG_LEVEL_INFO))
        return;
    struct log_kv kv[] = {
        LOG_STR("scope", frontend ? "vip" : "all"),
        LOG_STR("frontend", frontend),
        LOG_STR("trigger", trigger),
        LOG_UINT("conf-set", p->conf_set),
        LOG_UINT("vip-add", p->vip_add),
        LOG_UINT("vip-del", p->vip_del),
        LOG_UINT("as-add", p->as_add),
        LOG_UINT("as-del", p->as_del),
        LOG_UINT("as-weight", p->as_weight),
        LOG_UINT("failed", failed),
        LOG_DOUBLE("duration-ms", duration_ms),
        d ? LOG_UINT("buckets-moved", d->moved) : LOG_END_KV,
        LOG_UINT("buckets-minimum", d ? d->minimum : 0),
        LOG_UINT("table-length", d ? d->len : 0),
        LOG_END_KV,
    };
    log_write(LOG_LEVEL_INFO, event, kv);
}

void vpp_sync_log_disruptions(const struct lb_disruptions *ds, const char *trigger, bool dry)
{
    for (size_t i = 0; i < ds->n; i++) {
        const struct lb_disruption *x = &ds->v[i];
        char vip[96];
        log_info("vpp-lbsync-disruption", LOG_STR("frontend", x->frontend ? x->frontend : ""),
                 LOG_STR("vip", lb_vip_key_format(&x->vip, vip, sizeof(vip))),
                 LOG_STR("trigger", trigger), LOG_BOOL("dry-run", dry),
                 LOG_UINT("buckets-moved", x->d.moved), LOG_UINT("buckets-minimum", x->d.minimum),
                 LOG_UINT("table-length", x->d.len));
    }
}

/* The disruption of a sync's plan: what succeeded (res; NULL = a plan,
 * every op) against its read. */
static void job_disruption(const struct vpp_sync_job *j, const struct vpp_op_result *res,
                           struct lb_disruptions *out)
{
    bool *ok = NULL;
    if (res) {
        ok = mem_calloc(j->plan.n_ops ? j->plan.n_ops : 1, sizeof(*ok));
        for (size_t i = 0; i < j->plan.n_ops; i++)
            ok[i] = !res[i].err && !res[i].retval;
    }
    lb_disrupt_plan(&j->observed, &j->plan, ok, out);
    free(ok);
}

/* scope vip: the one VIP's disruption (nothing moved when the plan leaves
 * its table as it is) */
static struct lb_mg_disruption vip_disruption(const struct vpp_sync_job *j,
                                              const struct lb_disruptions *ds)
{
    if (ds->n)
        return ds->v[0].d;
    const struct lb_vip *v = NULL;
    for (size_t i = 0; i < j->plan.n_ops && !v; i++)
        v = lb_state_find(&j->observed, &j->plan.ops[i].vip);
    return (struct lb_mg_disruption){ .len = lb_disrupt_len(v, NULL) };
}

/* ---- running a job ---- */

static void finish_sync(struct vpp_sync *s, struct vpp_sync_job *j, const struct vpp_op_result *res,
                        size_t failed, bool applied)
{
    struct lb_disruptions ds;
    job_disruption(j, applied ? res : NULL, &ds);
    struct lb_mg_disruption one = vip_disruption(j, &ds);
    vpp_sync_log_done(applied ? "vpp-lbsync-done" : "vpp-lbsync-planned", j->frontend, j->trigger,
                      &j->plan, failed, (double)(clock_mono_us() - j->start_us) / 1000.0,
                      j->frontend ? &one : NULL);
    if (!j->frontend)
        vpp_sync_log_disruptions(&ds, j->trigger, !applied);
    if (applied && !j->frontend && failed == 0)
        s->last_full_us = clock_wall_us();
    if (j->apply)
        vpp_sync_count(s, j->frontend ? VPP_SCOPE_VIP : VPP_SCOPE_ALL, j->trigger,
                       !applied ? VPP_SYNC_DRY_RUN
                       : failed ? VPP_SYNC_FAILURE
                                : VPP_SYNC_SUCCESS,
                       j->start_us);
    if (j->apply) /* its read (with what it applied) is VPP's state now */
        vpp_sync_model_install(s, &j->observed, applied ? &j->plan : NULL, res);
    if (!j->canceled && j->cb) {
        struct vpp_sync_result r = {
            .full = !j->frontend,
            .frontend = j->frontend,
            .applied = applied,
            .plan = &j->plan,
            .results = res,
            .failed = failed,
            .duration_us = clock_mono_us() - j->start_us,
            .disruption = ds.v,
            .n_disruption = ds.n,
        };
        j->cb(j->ctx, &r);
    }
    lb_disruptions_free(&ds);
    job_done(s);
}

static void on_applied(void *ctx, const struct vpp_op_result *res, size_t failed)
{
    struct vpp_sync_job *j = ctx;
    struct vpp_sync *s = j->s;
    for (size_t i = 0; i < j->plan.n_ops; i++) {
        const struct lb_op *op = &j->plan.ops[i];
        bool ok = !res[i].err && !res[i].retval;
        if (ok && op->kind == LB_OP_VIP_ADD)
            sticky_set(s, &op->vip, op->src_ip_sticky);
        else if (ok && op->kind == LB_OP_VIP_DEL)
            sticky_set(s, &op->vip, -1);
        vpp_sync_log_result(op, &res[i], op->kind == LB_OP_CONF_SET);
        vpp_sync_report(s, op, &res[i], j->trigger, j->start_us);
        if (ok && !strcmp(j->trigger, "periodic"))
            s->ctr.drift_repaired++;
    }
    finish_sync(s, j, res, failed, true);
}

static void name_observed(struct lb_state *obs, const struct lb_state *desired)
{
    for (size_t i = 0; i < desired->n_vips; i++) {
        struct lb_vip *v = (struct lb_vip *)lb_state_find(obs, &desired->vips[i].key);
        if (v && !v->name)
            v->name = mem_strdup(desired->vips[i].name);
    }
}

static void on_read(void *ctx, int err, struct lb_state *observed)
{
    struct vpp_sync_job *j = ctx;
    struct vpp_sync *s = j->s;
    if (err) {
        char what[128];
        if (err == -E2BIG)
            snprintf(what, sizeof(what),
                     "reading VPP's LB state: VPP reported more than %d VIPs or %d ASes",
                     VPP_LB_READ_MAX_VIPS, VPP_LB_READ_MAX_ASES);
        else
            snprintf(what, sizeof(what), "reading VPP's LB state: %s", strerror(-err));
        fail_job(s, j, err, what);
        return;
    }
    j->observed = *observed;
    vpp_sync_model_carry_flush(s, &j->observed);
    /* VPPs whose CLI did not tell: what this connection created */
    for (size_t i = 0; i < j->observed.n_vips; i++) {
        struct lb_vip *v = &j->observed.vips[i];
        struct sticky_mem *m =
            v->src_ip_sticky == LB_STICKY_UNKNOWN ? sticky_find(s, &v->key) : NULL;
        if (m)
            v->src_ip_sticky = m->sticky;
    }
    int r = s->src.desired(s->src.ctx, &j->desired);
    if (r < 0) {
        fail_job(s, j, r, "building the desired state failed");
        return;
    }
    vpp_sync_model_check(s, &j->observed, &j->desired);
    if (s->warmup == VPP_WARMUP_OVER) /* nothing is held any more */
        for (size_t i = 0; i < j->desired.n_vips; i++)
            j->desired.vips[i].held = false;
    if (j->kind == JOB_STATE) {
        name_observed(&j->observed, &j->desired);
        if (!j->canceled && j->state_cb)
            j->state_cb(j->ctx, 0, &j->observed);
        job_done(s);
        return;
    }
    r = lb_plan_build(&j->desired, &j->observed, j->frontend, &j->plan);
    if (r < 0) {
        char what[128];
        if (r == -ENOENT)
            snprintf(what, sizeof(what), "no frontend \"%s\"", j->frontend);
        else
            snprintf(what, sizeof(what), "planning failed: %s", strerror(-r));
        fail_job(s, j, r, what);
        return;
    }
    for (size_t i = 0; i < j->plan.n_ops; i++) {
        const struct lb_op *op = &j->plan.ops[i];
        if (op->kind == LB_OP_VIP_DEL && op->frontend) {
            char vip[96];
            log_info("vpp-lbsync-vip-recreate", LOG_STR("frontend", op->frontend),
                     LOG_STR("vip", lb_vip_key_format(&op->vip, vip, sizeof(vip))),
                     LOG_STR("reason", op->reason));
        }
    }
    bool apply = j->apply && !s->opts.dry_run;
    if (!apply) {
        if (j->apply) /* dry run of a real sync: say what it would do */
            for (size_t i = 0; i < j->plan.n_ops; i++) {
                vpp_sync_log_op(&j->plan.ops[i], "not applied (dry run)", true);
                vpp_sync_report(s, &j->plan.ops[i], NULL, j->trigger, j->start_us);
            }
        finish_sync(s, j, NULL, 0, false);
        return;
    }
    r = vpp_lb_apply(s->client, &j->plan, s->opts.window, on_applied, j);
    if (r < 0)
        fail_job(s, j, r, "VPP is not connected");
}

static void run_next(struct vpp_sync *s)
{
    while (s->queue && !s->running) {
        struct vpp_sync_job *j = s->queue;
        if (j->canceled && (j->cb || j->state_cb)) {
            job_done(s);
            continue;
        }
        s->running = true;
        j->start_us = clock_mono_us();
        if (j->kind == JOB_SYNC && j->apply && !s->opts.dry_run)
            log_info("vpp-lbsync-start", LOG_STR("scope", j->frontend ? "vip" : "all"),
                     LOG_STR("frontend", j->frontend), LOG_STR("trigger", j->trigger));
        int r = vpp_lb_read(s->client, on_read, j);
        if (r < 0)
            fail_job(s, j, r, "VPP is not connected");
    }
}

static void on_kick(struct ev_loop *loop, ev_idle *w, int revents)
{
    (void)revents;
    ev_idle_stop(loop, w);
    run_next(w->data);
}

static void on_periodic(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct vpp_sync *s = w->data;
    if (vpp_client_is_up(s->client))
        vpp_sync_queue_full(s, "periodic");
}

/* The connect sync (or the one ending the warm-up), then every interval. */
static void start_syncing(struct vpp_sync *s, const char *trigger)
{
    vpp_sync_queue_full(s, trigger);
    ev_timer_stop(s->loop, &s->periodic);
    ev_timer_set(&s->periodic, s->opts.interval, s->opts.interval);
    ev_timer_start(s->loop, &s->periodic);
}

static void on_up(void *ctx)
{
    struct vpp_sync *s = ctx;
    s->n_sticky = 0;         /* VPP may have restarted: nothing known */
    s->model_warned = false; /* a new connection: its VPP may differ */
    if (s->warmup == VPP_WARMUP_HOLD) {
        log_info("vpp-lbsync-held", LOG_STR("reason", "warm-up (startup-min-delay)"),
                 LOG_DOUBLE("remaining-s", (double)(s->hold_until_us - clock_wall_us()) / 1e6));
        return;
    }
    start_syncing(s, "connect");
}

static void on_down(void *ctx, const char *reason)
{
    (void)reason;
    struct vpp_sync *s = ctx;
    ev_timer_stop(s->loop, &s->periodic);
    vpp_sync_model_invalidate(s); /* VPP may restart: the connect sync reads it anew */
}

/* ---- warm-up ---- */

static void warmup_over(struct vpp_sync *s, const char *trigger)
{
    s->warmup = VPP_WARMUP_OVER;
    s->hold_until_us = 0;
    ev_timer_stop(s->loop, &s->release);
    log_info("vpp-warmup-done", LOG_BOOL("connected", vpp_client_is_up(s->client)),
             LOG_STR("trigger", trigger));
}

static void on_hold_over(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct vpp_sync *s = w->data;
    s->hold_until_us = 0;
    if (s->opts.release > s->opts.hold) {
        s->warmup = VPP_WARMUP_RELEASING;
        log_info("vpp-warmup-releasing", LOG_BOOL("connected", vpp_client_is_up(s->client)),
                 LOG_DOUBLE("max-remaining-s", s->opts.release - s->opts.hold));
        ev_timer_set(&s->release, s->opts.release - s->opts.hold, 0);
        ev_timer_start(s->loop, &s->release);
    } else {
        warmup_over(s, "startup-min-delay");
    }
    if (vpp_client_is_up(s->client))
        start_syncing(s, "startup");
}

static void on_release_over(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct vpp_sync *s = w->data;
    warmup_over(s, "startup-max-delay");
    if (vpp_client_is_up(s->client))
        vpp_sync_queue_full(s, "warmup");
}

/* ---- public ---- */

struct vpp_sync *vpp_sync_new(struct ev_loop *loop, const struct vpp_sync_opts *opts,
                              const struct vpp_sync_source *src)
{
    struct vpp_sync *s = mem_calloc(1, sizeof(*s));
    s->loop = loop;
    s->opts = *opts;
    s->opts.window = opts->window ? opts->window : 256;
    s->opts.interval = vpp_sync_clamp_interval(opts->interval);
    if (s->opts.hold < 0)
        s->opts.hold = 0;
    if (s->opts.release < s->opts.hold)
        s->opts.release = s->opts.hold;
    s->src = *src;
    s->warmup = VPP_WARMUP_OVER;
    struct vpp_client_cbs cbs = { .up = on_up, .down = on_down, .ctx = s };
    s->client = vpp_client_new(loop, opts->api_path, &opts->client, &cbs);
    ev_timer_init(&s->periodic, on_periodic, s->opts.interval, s->opts.interval);
    s->periodic.data = s;
    ev_idle_init(&s->kick, on_kick);
    s->kick.data = s;
    ev_timer_init(&s->hold, on_hold_over, 0, 0);
    s->hold.data = s;
    ev_timer_init(&s->release, on_release_over, 0, 0);
    s->release.data = s;
    vpp_sync_vip_init(s);
    vpp_sync_vip_reset(s, opts->n_frontends);
    return s;
}

void vpp_sync_start(struct vpp_sync *s)
{
    log_info("vpp-start", LOG_STR("path", s->opts.api_path), LOG_BOOL("dry-run", s->opts.dry_run),
             LOG_DOUBLE("sync-interval-s", s->opts.interval),
             LOG_DOUBLE("warmup-min-s", s->opts.hold), LOG_DOUBLE("warmup-max-s", s->opts.release));
    if (s->opts.hold > 0) {
        s->warmup = VPP_WARMUP_HOLD;
        s->hold_until_us = clock_wall_us() + (int64_t)(s->opts.hold * 1e6);
        ev_timer_set(&s->hold, s->opts.hold, 0);
        ev_timer_start(s->loop, &s->hold);
    } else if (s->opts.release > 0) {
        s->warmup = VPP_WARMUP_RELEASING;
        ev_timer_set(&s->release, s->opts.release, 0);
        ev_timer_start(s->loop, &s->release);
    }
    vpp_client_start(s->client);
}

int64_t vpp_sync_hold_until_us(const struct vpp_sync *s)
{
    return s->warmup == VPP_WARMUP_HOLD ? s->hold_until_us : 0;
}

enum vpp_warmup vpp_sync_warmup(const struct vpp_sync *s)
{
    return s->warmup;
}

void vpp_sync_free(struct vpp_sync *s)
{
    if (!s)
        return;
    s->stopping = true;
    ev_timer_stop(s->loop, &s->periodic);
    ev_timer_stop(s->loop, &s->hold);
    ev_timer_stop(s->loop, &s->release);
    ev_idle_stop(s->loop, &s->kick);
    /* the running job's and the batches' callbacks fire with -ECANCELED */
    vpp_client_free(s->client);
    s->client = NULL;
    while (s->queue) {
        s->running = false;
        fail_job(s, s->queue, -ECANCELED, "maglevd is stopping");
    }
    ev_idle_stop(s->loop, &s->kick);
    vpp_sync_vip_free(s);
    free(s->sticky);
    free(s);
}

const struct vpp_info *vpp_sync_info(const struct vpp_sync *s)
{
    return vpp_client_info(s->client);
}

bool vpp_sync_is_up(const struct vpp_sync *s)
{
    return vpp_client_is_up(s->client);
}

bool vpp_sync_dry_run(const struct vpp_sync *s)
{
    return s->opts.dry_run;
}

int64_t vpp_sync_last_full_us(const struct vpp_sync *s)
{
    return s->last_full_us;
}

struct vpp_client *vpp_sync_client(struct vpp_sync *s)
{
    return s->client;
}

void vpp_sync_reloaded(struct vpp_sync *s, double interval, size_t n_frontends)
{
    interval = vpp_sync_clamp_interval(interval);
    if (interval != s->opts.interval) {
        s->opts.interval = interval;
        if (ev_is_active(&s->periodic)) {
            ev_timer_stop(s->loop, &s->periodic);
            ev_timer_set(&s->periodic, interval, interval);
            ev_timer_start(s->loop, &s->periodic);
        }
    }
    vpp_sync_vip_reset(s, n_frontends);
    if (vpp_client_is_up(s->client) && s->warmup != VPP_WARMUP_HOLD)
        vpp_sync_queue_full(s, "reload");
}

/* An API job: queued, its handle given to the caller for cancelling. */
static int queue_api_job(struct vpp_sync *s, struct vpp_sync_job *j, void *ctx,
                         struct vpp_sync_job **job)
{
    j->trigger = "api";
    j->ctx = ctx;
    if (job)
        *job = j;
    enqueue(s, j);
    return 0;
}

int vpp_sync_request(struct vpp_sync *s, const char *frontend, bool apply, vpp_sync_cb cb,
                     void *ctx, struct vpp_sync_job **job)
{
    if (!vpp_client_is_up(s->client))
        return -ENOTCONN;
    if (apply && s->warmup == VPP_WARMUP_HOLD && !s->opts.dry_run)
        return -EBUSY;
    struct vpp_sync_job *j = job_new(s, JOB_SYNC, frontend);
    j->apply = apply;
    j->cb = cb;
    return queue_api_job(s, j, ctx, job);
}

int vpp_sync_get_state(struct vpp_sync *s, vpp_state_cb cb, void *ctx, struct vpp_sync_job **job)
{
    if (!vpp_client_is_up(s->client))
        return -ENOTCONN;
    struct vpp_sync_job *j = job_new(s, JOB_STATE, NULL);
    j->state_cb = cb;
    return queue_api_job(s, j, ctx, job);
}

void vpp_sync_cancel(struct vpp_sync_job *job)
{
    if (job)
        job->canceled = true;
}
