/* sync_vip.c: targeted changes — one VIP planned against the model of
 * VPP's state, coalesced and pipelined — the model itself, and the status
 * of each AS (see sync.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/mem.h"
#include "vpp/sync_int.h"

/* One VIP's change in flight. */
struct vip_batch {
    struct vpp_sync *s;
    size_t fe;
    unsigned gen;
    const char *trigger;
    int64_t cause_us;
    int64_t start_us; /* sent (metrics: the sync's duration) */
    struct lb_vip desired;
    struct lb_plan plan;
};

static void batch_free(struct vip_batch *b)
{
    lb_vip_clear(&b->desired);
    lb_plan_free(&b->plan);
    free(b);
}

static void on_flush(struct ev_loop *loop, ev_prepare *w, int revents);

/* ---- the done lines of targeted changes ----
 *
 * A VIP's change is logged (vpp-lbsync-done) with the buckets it moved:
 * two tables of the VIP, tens of µs. So that the replies of the other
 * VIPs of a failover are not kept waiting, the line is noted with copies
 * of the VIP before and after, and written when the loop is idle. */
struct sync_done_note {
    struct sync_done_note *next;
    char *frontend;
    const char *trigger;
    struct lb_plan counts; /* the plan's counts, no ops */
    size_t failed;
    double duration_ms;
    bool has_before, has_after;
    struct lb_vip before, after;
};

static void vip_dup(struct lb_vip *dst, const struct lb_vip *src)
{
    *dst = *src;
    dst->name = NULL;
    dst->ases = src->n_ases ? mem_calloc(src->n_ases, sizeof(*dst->ases)) : NULL;
    if (src->n_ases)
        memcpy(dst->ases, src->ases, src->n_ases * sizeof(*dst->ases));
}

static void note_free(struct sync_done_note *n)
{
    free(n->frontend);
    free(n->before.ases);
    free(n->after.ases);
    free(n);
}

static void note_write(struct sync_done_note *n)
{
    struct lb_mg_disruption d;
    lb_disrupt_vip(n->has_before ? &n->before : NULL, n->has_after ? &n->after : NULL, &d);
    vpp_sync_log_done("vpp-lbsync-done", n->frontend, n->trigger, &n->counts, n->failed,
                      n->duration_ms, &d);
}

/* A few per idle call: the loop stays responsive behind a long list. */
static void on_notes(struct ev_loop *loop, ev_idle *w, int revents)
{
    (void)revents;
    struct vpp_sync *s = w->data;
    for (int k = 0; k < 16 && s->notes; k++) {
        struct sync_done_note *n = s->notes;
        s->notes = n->next;
        if (!s->notes)
            s->notes_tail = NULL;
        note_write(n);
        note_free(n);
    }
    if (!s->notes)
        ev_idle_stop(loop, w);
}

/* The VIP as the model has it (before is NULL: absent). */
static void note_vip(struct lb_vip *dst, bool *has, const struct lb_vip *v)
{
    *has = v != NULL;
    if (v)
        vip_dup(dst, v);
}

static struct sync_done_note *note_new(const struct lb_vip *before)
{
    struct sync_done_note *n = mem_calloc(1, sizeof(*n));
    note_vip(&n->before, &n->has_before, before);
    return n;
}

static void note_push(struct vpp_sync *s, struct sync_done_note *n)
{
    if (s->notes_tail)
        s->notes_tail->next = n;
    else
        s->notes = n;
    s->notes_tail = n;
    ev_idle_start(s->loop, &s->notes_idle);
}

void vpp_sync_vip_init(struct vpp_sync *s)
{
    ev_prepare_init(&s->flush, on_flush);
    s->flush.data = s;
    ev_idle_init(&s->notes_idle, on_notes);
    s->notes_idle.data = s;
}

void vpp_sync_vip_free(struct vpp_sync *s)
{
    ev_prepare_stop(s->loop, &s->flush);
    ev_idle_stop(s->loop, &s->notes_idle);
    while (s->notes) { /* written now: the lines are not lost */
        struct sync_done_note *n = s->notes;
        s->notes = n->next;
        note_write(n);
        note_free(n);
    }
    s->notes_tail = NULL;
    free(s->vips);
    free(s->dirty);
    free(s->fails);
    lb_state_free(&s->model);
}

void vpp_sync_vip_reset(struct vpp_sync *s, size_t n)
{
    s->gen++;
    free(s->vips);
    s->vips = mem_calloc(n, sizeof(*s->vips));
    s->n_fe = n;
    s->n_dirty = 0;
}

size_t vpp_sync_pending(const struct vpp_sync *s)
{
    return s->n_dirty + s->n_batches;
}

/* Whether targeted changes may be planned now. */
static bool can_target(const struct vpp_sync *s)
{
    return !s->stopping && s->model_valid && s->warmup != VPP_WARMUP_HOLD &&
           vpp_client_is_up(s->client) && !vpp_sync_model_job_running(s);
}

void vpp_sync_vip_kick(struct vpp_sync *s)
{
    if (s->n_dirty && can_target(s))
        ev_prepare_start(s->loop, &s->flush);
}

void vpp_sync_vip_changed(struct vpp_sync *s, size_t fe, const char *trigger, int64_t cause_us)
{
    if (!s || fe >= s->n_fe)
        return;
    struct sync_vip_rt *v = &s->vips[fe];
    if (!v->dirty) {
        v->dirty = true;
        v->trigger = trigger;
        v->cause_us = cause_us;
        mem_grow((void **)&s->dirty, &s->dirty_cap, s->n_dirty + 1, sizeof(*s->dirty));
        s->dirty[s->n_dirty++] = fe;
    } else if (cause_us < v->cause_us) {
        v->cause_us = cause_us;
    }
    vpp_sync_vip_kick(s);
}

/* ---- the model ---- */

/* An error from the client (no answer), not from VPP: VPP may or may not
 * have applied the op. */
static bool uncertain(const struct vpp_op_result *r)
{
    return r->err && r->err != -ECANCELED;
}

void vpp_sync_model_carry_flush(const struct vpp_sync *s, struct lb_state *observed)
{
    for (size_t i = 0; i < observed->n_vips; i++) {
        struct lb_vip *v = &observed->vips[i];
        const struct lb_vip *mv = lb_state_find(&s->model, &v->key);
        for (size_t k = 0; mv && k < v->n_ases; k++) {
            const struct lb_as *ma = lb_vip_find_as(mv, &v->ases[k].addr);
            if (ma && ma->flush && ma->weight == 0 && v->ases[k].weight == 0)
                v->ases[k].flush = true;
        }
    }
}

void vpp_sync_model_invalidate(struct vpp_sync *s)
{
    s->model_valid = false;
}

void vpp_sync_model_install(struct vpp_sync *s, struct lb_state *observed,
                            const struct lb_plan *plan, const struct vpp_op_result *res)
{
    lb_state_free(&s->model);
    s->model = *observed;
    memset(observed, 0, sizeof(*observed));
    s->model_valid = vpp_client_is_up(s->client);
    s->n_fails = 0;
    for (size_t i = 0; plan && res && i < plan->n_ops; i++) {
        if (!res[i].err && !res[i].retval)
            lb_model_apply(&s->model, &plan->ops[i]);
        else if (uncertain(&res[i]))
            s->model_valid = false;
        vpp_sync_fail_note(s, &plan->ops[i], &res[i]);
    }
    if (!s->model_valid && vpp_client_is_up(s->client) && !s->stopping)
        vpp_sync_queue_full(s, "repair");
}

/* ---- failures per AS ---- */

static struct sync_as_fail *fail_find(const struct vpp_sync *s, const struct lb_vip_key *k,
                                      const struct ip_addr *as)
{
    for (size_t i = 0; i < s->n_fails; i++)
        if (lb_vip_key_cmp(&s->fails[i].key, k) == 0 && ip_addr_equal(&s->fails[i].as, as))
            return &s->fails[i];
    return NULL;
}

void vpp_sync_fail_note(struct vpp_sync *s, const struct lb_op *op, const struct vpp_op_result *res)
{
    if (op->kind < LB_OP_AS_ADD)
        return;
    struct sync_as_fail *f = fail_find(s, &op->vip, &op->as);
    bool ok = !res->err && !res->retval;
    if (ok) {
        if (f)
            *f = s->fails[--s->n_fails];
        return;
    }
    if (!f) {
        mem_grow((void **)&s->fails, &s->fails_cap, s->n_fails + 1, sizeof(*s->fails));
        f = &s->fails[s->n_fails++];
        f->key = op->vip;
        f->as = op->as;
    }
    char buf[96];
    snprintf(f->text, sizeof(f->text), "%s: %s", lb_op_kind_name(op->kind),
             vpp_op_result_format(res, buf, sizeof(buf)));
}

enum vpp_as_status vpp_sync_as_status(const struct vpp_sync *s, const struct lb_vip_key *vip,
                                      const struct ip_addr *as, uint8_t want, int *vpp_weight,
                                      const char **error)
{
    *vpp_weight = -1;
    *error = "";
    if (!s->model_valid || !vpp_client_is_up(s->client))
        return VPP_AS_PENDING;
    const struct lb_as *a = lb_vip_find_as(lb_state_find(&s->model, vip), as);
    if (a && a->active)
        *vpp_weight = a->weight;
    if (a && a->active && a->weight == want)
        return VPP_AS_APPLIED;
    const struct sync_as_fail *f = fail_find(s, vip, as);
    if (f) {
        *error = f->text;
        return VPP_AS_FAILED;
    }
    return VPP_AS_PENDING;
}

uint32_t vpp_sync_table_length(const struct vpp_sync *s, const struct lb_vip_key *vip)
{
    const struct lb_vip *v = s->model_valid ? lb_state_find(&s->model, vip) : NULL;
    return v ? v->flow_table_length : 0;
}

void vpp_sync_report(struct vpp_sync *s, const struct lb_op *op, const struct vpp_op_result *res,
                     const char *trigger, int64_t since_us)
{
    if (!s->stopping)
        vpp_sync_count_op(s, op, res);
    if (!s->src.applied || op->kind < LB_OP_AS_ADD || s->stopping)
        return;
    struct vpp_applied a = {
        .op = op,
        .res = res,
        .trigger = trigger,
        .took_us = clock_mono_us() - since_us,
        .dry_run = res == NULL,
    };
    s->src.applied(s->src.ctx, &a);
}

/* ---- targeted changes ---- */

static void on_batch(void *ctx, const struct vpp_op_result *res, size_t failed)
{
    struct vip_batch *b = ctx;
    struct vpp_sync *s = b->s;
    s->n_batches--;
    s->ops_in_flight -= b->plan.n_ops;
    if (s->stopping) {
        batch_free(b);
        return;
    }
    bool unsure = false;
    bool note = log_enabled(LOG_LEVEL_INFO);
    struct sync_done_note *n = note ? note_new(lb_state_find(&s->model, &b->desired.key)) : NULL;
    for (size_t i = 0; i < b->plan.n_ops; i++) {
        const struct lb_op *op = &b->plan.ops[i];
        if (!res[i].err && !res[i].retval)
            lb_model_apply(&s->model, op);
        unsure = unsure || uncertain(&res[i]);
        vpp_sync_fail_note(s, op, &res[i]);
        vpp_sync_log_result(op, &res[i], false);
        vpp_sync_report(s, op, &res[i], b->trigger, b->cause_us);
    }
    if (n) {
        note_vip(&n->after, &n->has_after, lb_state_find(&s->model, &b->desired.key));
        n->frontend = mem_strdup(b->desired.name);
        n->trigger = b->trigger;
        n->counts = b->plan;
        n->counts.ops = NULL;
        n->counts.n_ops = n->counts.cap = 0;
        n->failed = failed;
        n->duration_ms = (double)(clock_mono_us() - b->cause_us) / 1000.0;
        note_push(s, n);
    }
    vpp_sync_count(s, VPP_SCOPE_VIP, b->trigger, failed ? VPP_SYNC_FAILURE : VPP_SYNC_SUCCESS,
                   b->start_us);
    if (b->gen == s->gen && b->fe < s->n_fe)
        s->vips[b->fe].in_flight = false;
    if (unsure) { /* VPP may or may not have it: read VPP again */
        s->model_valid = false;
        if (vpp_client_is_up(s->client))
            vpp_sync_queue_full(s, "repair");
    }
    batch_free(b);
    vpp_sync_vip_kick(s);
}

/* Plans frontend fe's VIP against the model and sends the difference. */
static void start_vip(struct vpp_sync *s, size_t fe)
{
    struct sync_vip_rt *v = &s->vips[fe];
    v->dirty = false;
    struct vip_batch *b = mem_calloc(1, sizeof(*b));
    b->s = s;
    b->fe = fe;
    b->gen = s->gen;
    b->trigger = v->trigger;
    b->cause_us = v->cause_us;
    if (!s->src.desired_vip(s->src.ctx, fe, &b->desired)) {
        batch_free(b);
        return;
    }
    if (s->warmup == VPP_WARMUP_OVER)
        b->desired.held = false;
    if (b->desired.held) { /* written when the warm-up releases it */
        batch_free(b);
        return;
    }
    lb_plan_vip(&b->desired, lb_state_find(&s->model, &b->desired.key), &b->plan);
    if (s->warmup == VPP_WARMUP_RELEASING && !strcmp(b->trigger, "warmup"))
        log_info("vpp-warmup-release", LOG_STR("frontend", b->desired.name),
                 LOG_STR("reason", "every backend has left unknown"),
                 LOG_UINT("ops", b->plan.n_ops));
    if (!b->plan.n_ops) {
        log_debug("vpp-lbsync-noop", LOG_STR("frontend", b->desired.name),
                  LOG_STR("trigger", b->trigger));
        batch_free(b);
        return;
    }
    if (s->opts.dry_run) {
        for (size_t i = 0; i < b->plan.n_ops; i++) {
            vpp_sync_log_op(&b->plan.ops[i], "not applied (dry run)", true);
            vpp_sync_report(s, &b->plan.ops[i], NULL, b->trigger, b->cause_us);
        }
        struct lb_disruptions ds;
        lb_disrupt_plan(&s->model, &b->plan, NULL, &ds);
        struct lb_mg_disruption d = { .len = lb_disrupt_len(
                                          lb_state_find(&s->model, &b->desired.key), NULL) };
        if (ds.n)
            d = ds.v[0].d;
        lb_disruptions_free(&ds);
        vpp_sync_log_done("vpp-lbsync-planned", b->desired.name, b->trigger, &b->plan, 0,
                          (double)(clock_mono_us() - b->cause_us) / 1000.0, &d);
        vpp_sync_count(s, VPP_SCOPE_VIP, b->trigger, VPP_SYNC_DRY_RUN, clock_mono_us());
        batch_free(b);
        return;
    }
    v->in_flight = true;
    b->start_us = clock_mono_us();
    s->n_batches++;
    s->ops_in_flight += b->plan.n_ops;
    if (vpp_lb_apply(s->client, &b->plan, s->opts.window, on_batch, b) < 0) {
        v->in_flight = false; /* not connected: the connect sync covers it */
        s->n_batches--;
        s->ops_in_flight -= b->plan.n_ops;
        batch_free(b);
    }
}

static void on_flush(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)revents;
    ev_prepare_stop(loop, w);
    struct vpp_sync *s = w->data;
    if (!can_target(s))
        return;
    /* take the list: sending may complete batches (and mark VIPs) at once */
    size_t n = s->n_dirty;
    size_t *list = mem_calloc(n, sizeof(*list));
    memcpy(list, s->dirty, n * sizeof(*list));
    s->n_dirty = 0;
    for (size_t i = 0; i < n; i++) {
        size_t fe = list[i];
        if (fe >= s->n_fe || !s->vips[fe].dirty)
            continue;
        /* coalesced into the next: the VIP's change in flight, or too many
         * requests in flight across VIPs (sent as replies come back) */
        bool busy = s->ops_in_flight && s->ops_in_flight >= 4 * s->opts.window;
        if (s->vips[fe].in_flight || busy || !can_target(s)) {
            mem_grow((void **)&s->dirty, &s->dirty_cap, s->n_dirty + 1, sizeof(*s->dirty));
            s->dirty[s->n_dirty++] = fe;
            continue;
        }
        start_vip(s, fe);
    }
    free(list);
}
