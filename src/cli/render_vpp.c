/* render_vpp: the VPP views for people (see render.h): the connection
 * (show vpp info), VPP's LB state (show vpp lb state), VPP's LB counters
 * (show vpp lb counters) and the operations of a sync or a plan. Key-value text, one thing per
 * line, so that an operator can read it and a script can grep it; maglevc(1) documents the layout.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/render.h"
#include "cli/render_int.h"

static enum tcolor vpp_state_color(const char *state)
{
    if (strcmp(str(state), "connected") == 0)
        return TC_GREEN;
    if (strcmp(str(state), "incompatible") == 0)
        return TC_RED;
    return TC_YELLOW; /* connecting, disconnected, anything new */
}

/* "2023-11-14 22:10:20.123 (3m00s ago)", or `none` for 0. */
static void add_time_age(struct strbuf *sb, const struct render_opts *o, int64_t t_us,
                         const char *none)
{
    char t[48], age[48];
    if (!t_us) {
        strbuf_adds(sb, none);
        return;
    }
    render_time(t, sizeof(t), t_us);
    render_age(age, sizeof(age), t_us, o->now_us);
    strbuf_addf(sb, "%s (%s)", t, age);
}

/* ---- show vpp info ---- */

void render_vpp_info(struct strbuf *sb, const struct render_opts *o, const Maglev__VPPInfo *i)
{
    const size_t w = 15;
    struct strbuf l = STRBUF_INIT;
    table_sb_colored(sb, o->color, TC_LABEL, "vpp");
    strbuf_addc(sb, ' ');
    table_sb_colored(sb, o->color, vpp_state_color(i->state), or_dash(i->state));
    strbuf_addc(sb, '\n');
    render_field(sb, o, 2, w, "address", or_dash(i->address));
    render_field(sb, o, 2, w, "version", or_dash(i->version));
    render_field(sb, o, 2, w, "build date", or_dash(i->build_date));
    if (i->build_directory && *i->build_directory)
        render_field(sb, o, 2, w, "build directory", i->build_directory);
    if (i->pid)
        render_fieldf(sb, o, 2, w, "pid", "%u", i->pid);
    else
        render_field(sb, o, 2, w, "pid", "unknown");
    add_time_age(&l, o, i->connected_since_us, "not connected");
    render_field(sb, o, 2, w, "connected since", strbuf_str(&l));
    strbuf_reset(&l);
    render_fieldf(sb, o, 2, w, "connects", "%" PRIu64, i->connects);
    add_time_age(&l, o, i->last_sync_us, "never");
    render_field(sb, o, 2, w, "last sync", strbuf_str(&l));
    strbuf_reset(&l);
    if (i->last_error && *i->last_error) {
        table_sb_colored(&l, o->color, TC_RED, i->last_error);
        render_field(sb, o, 2, w, "last error", strbuf_str(&l));
        strbuf_reset(&l);
    }
    render_field(sb, o, 2, w, "dry run", i->dry_run ? "yes (nothing is changed in VPP)" : "no");
    if (i->warmup_until_us) {
        char t[48], left[32];
        render_time(t, sizeof(t), i->warmup_until_us);
        int64_t d = i->warmup_until_us - o->now_us;
        render_duration(left, sizeof(left), d > 0 ? d : 0);
        table_sb_colored(&l, o->color, TC_YELLOW, "until");
        strbuf_addf(&l, " %s (%s left; nothing is changed in VPP before)", t, left);
        render_field(sb, o, 2, w, "warm-up", strbuf_str(&l));
        strbuf_reset(&l);
    }
    render_fieldf(sb, o, 2, w, "message table", "%u messages", i->message_table_size);
    render_fieldf(sb, o, 2, w, "client index", "%u", i->client_index);
    strbuf_free(&l);
}

/* ---- show vpp lb state ---- */

static void add_conf(struct strbuf *sb, const struct render_opts *o, const Maglev__VPPLBConf *c)
{
    const size_t w = 23;
    table_sb_colored(sb, o->color, TC_LABEL, "lb conf");
    strbuf_addc(sb, '\n');
    render_field(sb, o, 2, w, "ipv4-src-address", or_dash(c->ipv4_src_address));
    render_field(sb, o, 2, w, "ipv6-src-address", or_dash(c->ipv6_src_address));
    render_fieldf(sb, o, 2, w, "sticky-buckets-per-core", "%u", c->sticky_buckets_per_core);
    render_fieldf(sb, o, 2, w, "flow-timeout", "%us", c->flow_timeout);
}

/* "tcp:80", "udp:53", "any" (all ports) */
static void add_proto_port(struct strbuf *sb, const char *protocol, uint32_t port)
{
    if (strcmp(str(protocol), "any") == 0 && port == 0)
        strbuf_adds(sb, "any");
    else
        strbuf_addf(sb, "%s:%u", or_dash(protocol), port);
}

static void add_as(struct strbuf *sb, const struct render_opts *o, const Maglev__VPPLBAS *as)
{
    strbuf_adds(sb, "    ");
    table_sb_colored(sb, o->color, TC_LABEL, "address");
    strbuf_addf(sb, " %s ", or_dash(as->address));
    table_sb_colored(sb, o->color, TC_LABEL, "weight");
    strbuf_addf(sb, " %u ", as->weight);
    table_sb_colored(sb, o->color, TC_LABEL, "buckets");
    strbuf_addf(sb, " %u ", as->buckets);
    table_sb_colored(sb, o->color, TC_LABEL, "model");
    strbuf_addf(sb, " %u", as->model_buckets);
    if (as->model_buckets != as->buckets) {
        strbuf_addc(sb, ' ');
        table_sb_colored(sb, o->color, TC_RED, "mismatch");
    }
    if (!as->active) {
        strbuf_addc(sb, ' ');
        table_sb_colored(sb, o->color, TC_YELLOW, "removed");
    }
    strbuf_addc(sb, '\n');
}

static void add_vip(struct strbuf *sb, const struct render_opts *o, const Maglev__VPPLBVIP *v)
{
    const size_t w = 17;
    struct strbuf l = STRBUF_INIT;
    table_sb_colored(sb, o->color, TC_LABEL, "vip");
    strbuf_addc(sb, ' ');
    table_sb_colored(sb, o->color, TC_BOLD, or_dash(v->prefix));
    strbuf_addc(sb, ' ');
    add_proto_port(sb, v->protocol, v->port);
    strbuf_addc(sb, ' ');
    table_sb_colored(sb, o->color, TC_LABEL, "frontend");
    strbuf_addc(sb, ' ');
    if (v->frontend && *v->frontend)
        table_sb_colored(sb, o->color, TC_BOLD, v->frontend);
    else
        table_sb_colored(sb, o->color, TC_YELLOW, "(not configured)");
    strbuf_addc(sb, '\n');

    render_field(sb, o, 2, w, "encap", or_dash(v->encap));
    render_fieldf(sb, o, 2, w, "flow-table-length", "%u", v->flow_table_length);
    render_field(sb, o, 2, w, "src-ip-sticky",
                 !v->src_ip_sticky_known ? "unknown"
                 : v->src_ip_sticky      ? "yes"
                                         : "no");
    if (v->index)
        render_fieldf(sb, o, 2, w, "index", "%u", v->index);
    size_t removed = 0;
    for (size_t i = 0; i < v->n_ases; i++)
        removed += !v->ases[i]->active;
    if (!v->n_ases)
        strbuf_adds(&l, "none");
    else
        strbuf_addf(&l, "%zu", v->n_ases);
    if (removed)
        strbuf_addf(&l, " (%zu removed)", removed);
    render_field(sb, o, 2, w, "ases", strbuf_str(&l));
    strbuf_reset(&l);
    if (v->model_consistent)
        strbuf_addf(&l, "consistent (fingerprint %016llx)",
                    (unsigned long long)v->model_fingerprint);
    else
        table_sb_colored(&l, o->color, TC_RED,
                         "MISMATCH: VPP's buckets are not the Maglev model's (another "
                         "algorithm?)");
    render_field(sb, o, 2, w, "model", strbuf_str(&l));
    strbuf_free(&l);
    for (size_t i = 0; i < v->n_ases; i++)
        add_as(sb, o, v->ases[i]);
}

void render_vpp_lb_state(struct strbuf *sb, const struct render_opts *o,
                         const Maglev__VPPLBState *s)
{
    if (s->conf) {
        add_conf(sb, o, s->conf);
        strbuf_addc(sb, '\n');
    }
    if (!s->n_vips)
        strbuf_adds(sb, "no VIPs\n");
    for (size_t i = 0; i < s->n_vips; i++) {
        if (i)
            strbuf_addc(sb, '\n');
        add_vip(sb, o, s->vips[i]);
    }
}

/* ---- sync vpp lb state / plan vpp lb state ---- */

#define OP_WIDTH 9 /* "as-weight", "conf-set": the op column is never narrower */

/* What the operation changes: address, weight, flush, a new VIP's options. */
static void add_op_details(struct strbuf *sb, const struct render_opts *o,
                           const Maglev__VPPLBOp *op)
{
    const char *kind = str(op->op);
    const char *sep = "";
    if (op->address && *op->address) {
        table_sb_colored(sb, o->color, TC_LABEL, "address");
        strbuf_addf(sb, " %s", op->address);
        sep = " ";
    }
    if (strcmp(kind, "as-weight") == 0) {
        strbuf_adds(sb, sep);
        table_sb_colored(sb, o->color, TC_LABEL, "weight");
        strbuf_addf(sb, " %u" ARROW "%u", op->old_weight, op->weight);
        sep = " ";
    } else if (strcmp(kind, "as-add") == 0) {
        strbuf_adds(sb, sep);
        table_sb_colored(sb, o->color, TC_LABEL, "weight");
        strbuf_addf(sb, " %u", op->weight);
        sep = " ";
    }
    if (strcmp(kind, "vip-add") == 0) {
        strbuf_adds(sb, sep);
        table_sb_colored(sb, o->color, TC_LABEL, "encap");
        strbuf_addf(sb, " %s ", or_dash(op->encap));
        table_sb_colored(sb, o->color, TC_LABEL, "src-ip-sticky");
        strbuf_adds(sb, op->src_ip_sticky ? " yes" : " no");
        sep = " ";
    }
    if (op->flush) {
        strbuf_adds(sb, sep);
        table_sb_colored(sb, o->color, TC_YELLOW, "flush");
    }
}

static void add_op(struct table *t, const struct render_opts *o, const Maglev__VPPLBOp *op)
{
    struct strbuf l = STRBUF_INIT, c = STRBUF_INIT;
    table_sb_colored(&c, o->color, TC_LABEL, or_dash(op->op));
    table_sb_pad(&l, strbuf_str(&c), OP_WIDTH);
    strbuf_reset(&c);
    bool conf = strcmp(str(op->op), "conf-set") == 0;
    if (conf) { /* its "vip" is the whole conf: outside the columns, not widening them */
        strbuf_addf(&l, "  %s  ", or_dash(op->vip));
        table_sb_colored(&l, o->color, TC_LABEL, "reason");
        strbuf_addf(&l, " %s", or_dash(op->reason));
        if (op->error && *op->error) {
            strbuf_adds(&l, "  ");
            table_sb_colored(&l, o->color, TC_RED, "error: ");
            table_sb_colored(&l, o->color, TC_RED, op->error);
        }
        table_line(t, 0, strbuf_str(&l));
        strbuf_free(&l);
        strbuf_free(&c);
        return;
    }
    table_cell(t, TC_NONE, strbuf_str(&l));
    table_cell(t, TC_NONE, or_dash(op->vip));
    add_op_details(&c, o, op);
    table_cell(t, TC_NONE, strbuf_str(&c));
    strbuf_reset(&c);
    table_sb_colored(&c, o->color, TC_LABEL, "frontend");
    strbuf_addf(&c, " %s", op->frontend && *op->frontend ? op->frontend : "-");
    table_cell(t, TC_NONE, strbuf_str(&c));
    strbuf_reset(&c);
    table_sb_colored(&c, o->color, TC_LABEL, "reason");
    strbuf_addf(&c, " %s", or_dash(op->reason));
    table_cell(t, TC_NONE, strbuf_str(&c));
    if (op->error && *op->error)
        table_cellf(t, TC_RED, "error: %s", op->error);
    table_endrow(t);
    strbuf_free(&l);
    strbuf_free(&c);
}

void render_disruption(struct strbuf *sb, const struct render_opts *o,
                       const Maglev__VPPLBDisruption *d)
{
    uint32_t len = d->table_length;
    double moved = len ? 100.0 * d->buckets_moved / len : 0;
    double least = len ? 100.0 * d->buckets_minimum / len : 0;
    table_sb_colored(sb, o->color, TC_LABEL, "frontend");
    strbuf_addf(sb, " %s ", d->frontend && *d->frontend ? d->frontend : "-");
    table_sb_colored(sb, o->color, TC_LABEL, "vip");
    strbuf_addf(sb, " %s: moves %u/%u buckets (%.1f%%), least possible %u (%.1f%%)\n",
                or_dash(d->vip), d->buckets_moved, len, moved, d->buckets_minimum, least);
}

static void add_disruptions(struct strbuf *sb, const struct render_opts *o,
                            const Maglev__VPPLBSyncResult *r)
{
    for (size_t i = 0; i < r->n_disruption; i++) {
        table_sb_colored(sb, o->color, TC_LABEL, "new flows:");
        strbuf_adds(sb, " ");
        render_disruption(sb, o, r->disruption[i]);
    }
}

void render_vpp_sync(struct strbuf *sb, const struct render_opts *o,
                     const Maglev__VPPLBSyncResult *r, bool plan)
{
    const char *head = plan ? "plan:" : "sync:";
    char d[32];
    render_duration(d, sizeof(d), r->duration_us);
    table_sb_colored(sb, o->color, TC_LABEL, head);
    if (!r->n_ops) {
        strbuf_addf(sb, " nothing to do, in %s\n", d);
        return;
    }
    bool applied = !plan && r->applied;
    strbuf_adds(sb, plan      ? " a sync would apply these operations (nothing applied)\n"
                    : applied ? " applied these operations to VPP\n"
                              : " dry run, nothing applied (maglevd --vpp-sync-dry-run)\n");
    struct table t;
    table_init(&t, 6, 2, o->color);
    for (size_t i = 0; i < r->n_ops; i++)
        add_op(&t, o, r->ops[i]);
    table_render(&t, sb);
    table_free(&t);
    add_disruptions(sb, o, r);
    const char *s = r->n_ops == 1 ? "" : "s";
    if (applied)
        strbuf_addf(sb, "%zu operation%s, ", r->n_ops, s);
    else
        strbuf_addf(sb, "%zu operation%s would be applied, ", r->n_ops, s);
    if (applied || r->failed) {
        struct strbuf f = STRBUF_INIT;
        strbuf_addf(&f, "%u failed", r->failed);
        table_sb_colored(sb, o->color, r->failed ? TC_RED : TC_NONE, strbuf_str(&f));
        strbuf_free(&f);
        strbuf_adds(sb, ", ");
    }
    strbuf_addf(sb, "in %s\n", d);
}

/* ---- plan set ... ---- */

void render_plan_change(struct strbuf *sb, const struct render_opts *o, const char *what,
                        const Maglev__PlanChangeResult *r)
{
    table_sb_colored(sb, o->color, TC_LABEL, "plan:");
    strbuf_addf(sb, " %s (nothing changed)\n", what);
    if (!r->n_disruption)
        strbuf_adds(sb, "no frontend uses it\n");
    for (size_t i = 0; i < r->n_disruption; i++) {
        table_sb_colored(sb, o->color, TC_LABEL, "new flows:");
        strbuf_adds(sb, " ");
        render_disruption(sb, o, r->disruption[i]);
    }
    for (size_t i = 0; i < r->n_weights; i++) {
        const Maglev__PlanChangeWeight *w = r->weights[i];
        table_sb_colored(sb, o->color, TC_LABEL, "weight:");
        strbuf_addf(sb, " frontend %s backend %s (%s) %u" ARROW "%u%s\n", or_dash(w->frontend),
                    or_dash(w->backend), or_dash(w->address), w->weight_before, w->weight_after,
                    w->weight_before == w->weight_after ? " (unchanged)" : "");
    }
}

/* ---- show vpp lb counters ---- */

static void add_counter(struct table *t, const char *name, uint64_t v, double rate, bool known)
{
    table_cell(t, TC_LABEL, name);
    table_cellf(t, TC_NONE, "%" PRIu64, v);
    if (known)
        table_cellf(t, TC_NONE, "%.1f/s", rate);
    else
        table_cell(t, TC_NONE, "-");
    table_endrow(t);
}

void render_vpp_lb_counters(struct strbuf *sb, const struct render_opts *o,
                            const Maglev__VPPLBCounters *c)
{
    const size_t w = 11;
    struct strbuf l = STRBUF_INIT;
    table_sb_colored(sb, o->color, TC_LABEL, "stats");
    strbuf_addf(sb, " %s ", or_dash(c->stats_address));
    bool ok = strcmp(str(c->status), "ok") == 0;
    table_sb_colored(sb, o->color, ok ? TC_GREEN : TC_YELLOW, or_dash(c->status));
    strbuf_addc(sb, '\n');
    add_time_age(&l, o, c->sampled_at_us, "never");
    render_field(sb, o, 2, w, "sampled", strbuf_str(&l));
    strbuf_free(&l);
    render_fieldf(sb, o, 2, w, "interval", "%u ms", c->interval_ms);
    if (c->error && *c->error)
        render_field(sb, o, 2, w, "last error", c->error);
    if (!c->n_vips)
        strbuf_adds(sb, "\nno VIPs\n");
    for (size_t i = 0; i < c->n_vips; i++) {
        const Maglev__VPPLBVIPCounters *v = c->vips[i];
        strbuf_addc(sb, '\n');
        table_sb_colored(sb, o->color, TC_LABEL, "vip");
        if (v->port)
            strbuf_addf(sb, " %s %s:%u ", or_dash(v->prefix), or_dash(v->protocol), v->port);
        else
            strbuf_addf(sb, " %s any ", or_dash(v->prefix));
        table_sb_colored(sb, o->color, TC_LABEL, "frontend");
        strbuf_addf(sb, " %s ", v->frontend && *v->frontend ? v->frontend : "(not configured)");
        table_sb_colored(sb, o->color, TC_LABEL, "index");
        strbuf_addf(sb, " %u\n", v->index);
        struct table t;
        table_init(&t, 3, 2, o->color);
        add_counter(&t, "existing-sessions", v->existing_sessions, v->existing_sessions_rate,
                    v->rates_known);
        add_counter(&t, "first-session", v->first_session, v->first_session_rate, v->rates_known);
        add_counter(&t, "untracked", v->untracked, v->untracked_rate, v->rates_known);
        add_counter(&t, "no-server", v->no_server, v->no_server_rate, v->rates_known);
        if (v->route_known) {
            add_counter(&t, "route-packets", v->route_packets, v->route_packets_rate,
                        v->route_rates_known);
            add_counter(&t, "route-bytes", v->route_bytes, v->route_bytes_rate,
                        v->route_rates_known);
        } else {
            table_cell(&t, TC_LABEL, "route");
            table_cell(&t, TC_YELLOW, "unknown");
            table_cellf(&t, TC_NONE, "(%s)", or_dash(v->route_error));
            table_endrow(&t);
        }
        table_render(&t, sb);
        table_free(&t);
    }
}
