/* render: the state views for people (see render.h). */
#include "cli/render.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/render_int.h"

/* ---- small helpers ---- */

/* A "label  value" line of a detail view: the label column is `width` wide. */
void render_field(struct strbuf *sb, const struct render_opts *o, size_t indent, size_t width,
                  const char *label, const char *value)
{
    for (size_t i = 0; i < indent; i++)
        strbuf_addc(sb, ' ');
    struct strbuf l = STRBUF_INIT;
    table_sb_colored(&l, o->color, TC_LABEL, label);
    table_sb_pad(sb, strbuf_str(&l), width);
    strbuf_free(&l);
    strbuf_adds(sb, "  ");
    strbuf_adds(sb, value);
    strbuf_addc(sb, '\n');
}

void render_fieldf(struct strbuf *sb, const struct render_opts *o, size_t indent, size_t width,
                   const char *label, const char *fmt, ...)
{
    struct strbuf v = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&v, fmt, ap);
    va_end(ap);
    render_field(sb, o, indent, width, label, strbuf_str(&v));
    strbuf_free(&v);
}

static void join(struct strbuf *sb, char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        strbuf_addf(sb, "%s%s", i ? ", " : "", str(v[i]));
    if (!n)
        strbuf_addc(sb, '-');
}

static void add_empty_note(struct strbuf *sb, const char *what)
{
    strbuf_addf(sb, "no %s\n", what);
}

/* ---- the mass-failure guard ---- */

void render_mass_failure(struct strbuf *sb, const struct render_opts *o,
                         const Maglev__MassFailureGuard *g)
{
    const size_t w = 9;
    if (!g->threshold_pct) {
        render_field(sb, o, 0, w, "guard", "off (healthchecker.mass-failure is 0)");
        return;
    }
    struct strbuf l = STRBUF_INIT;
    if (g->holding)
        table_sb_colored(&l, o->color, TC_RED, "HOLDING the last applied weights");
    else
        table_sb_colored(&l, o->color, TC_GREEN, "armed");
    render_field(sb, o, 0, w, "guard", strbuf_str(&l));
    strbuf_free(&l);
    render_fieldf(
        sb, o, 0, w, "rule", "more than %u%% of %u backends down within %.3gs (now %u down in it)",
        g->threshold_pct, g->total_backends, (double)g->window_us / 1e6, g->downs_in_window);
    if (g->holding) {
        char when[64] = "-";
        time_t t = (time_t)(g->since_us / 1000000);
        struct tm tm;
        if (g->since_us && localtime_r(&t, &tm))
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
        render_fieldf(sb, o, 0, w, "since", "%s (%u down transitions in the window)", when,
                      g->trip_downs);
        struct strbuf names = STRBUF_INIT;
        join(&names, g->held_backends, g->n_held_backends);
        render_field(sb, o, 0, w, "held", strbuf_str(&names));
        strbuf_free(&names);
        render_field(sb, o, 0, w, "release", "set mass-failure release");
    }
    render_fieldf(sb, o, 0, w, "trips", "%" PRIu64, g->trips);
}

/* ---- version ---- */

void render_version(struct strbuf *sb, const struct render_opts *o,
                    const struct client_version *client, const Maglev__VersionInfo *v)
{
    const size_t w = 7;
    render_fieldf(sb, o, 0, w, "maglevc", "%s (commit %s, built %s)", client->version,
                  client->commit, client->build_date);
    if (!v) {
        render_field(sb, o, 0, w, "maglevd", "not reachable");
        return;
    }
    render_fieldf(sb, o, 0, w, "maglevd", "%s (commit %s, built %s)", str(v->version),
                  str(v->commit), str(v->build_date));
    char t[48], age[48];
    render_time(t, sizeof(t), v->start_time_us);
    render_age(age, sizeof(age), v->start_time_us, o->now_us);
    strbuf_addf(sb, "%*s  pid %d, started %s (%s)\n", (int)w, "", (int)v->pid, t, age);
    strbuf_addf(sb, "%*s  config %s", (int)w, "", or_dash(v->config_path));
    if (v->config_hash && *v->config_hash)
        strbuf_addf(sb, " (sha256 %.12s)", v->config_hash);
    strbuf_addc(sb, '\n');
    strbuf_addf(sb, "%*s  checker %s", (int)w, "", or_dash(v->checker_status));
    if (v->checker_reasons && *v->checker_reasons) {
        render_time(t, sizeof(t), v->checker_degraded_since_us);
        render_age(age, sizeof(age), v->checker_degraded_since_us, o->now_us);
        strbuf_addf(sb, " (%s): %u stale, %u with probe errors, %llu of %llu starts late",
                    v->checker_reasons, v->checker_stale_backends, v->checker_probe_error_backends,
                    (unsigned long long)v->checker_window_late,
                    (unsigned long long)v->checker_window_probes);
        if (v->checker_degraded_since_us)
            strbuf_addf(sb, ", since %s (%s)", t, age);
    }
    strbuf_addc(sb, '\n');
}

/* ---- frontends ---- */

static void add_listen(struct strbuf *sb, const Maglev__Frontend *f)
{
    strbuf_addf(sb, "%s port %u/%s", or_dash(f->address), f->port, or_dash(f->protocol));
}

/* The VPP column of `show frontends`: "held", "1 failed, 2 pending",
 * "3 pending", "ok" (every backend applied), "-" when the VPP integration is
 * disabled (no backend has a status) or the frontend has no backend. */
static void add_vpp_summary(struct table *t, const Maglev__Frontend *f)
{
    size_t known = 0, pending = 0, failed = 0;
    for (size_t p = 0; p < f->n_pools; p++)
        for (size_t b = 0; b < f->pools[p]->n_backends; b++) {
            const char *st = str(f->pools[p]->backends[b]->vpp_status);
            known += *st != '\0';
            failed += strcmp(st, "failed") == 0;
            pending += *st && strcmp(st, "failed") != 0 && strcmp(st, "applied") != 0;
        }
    if (f->vpp_held)
        table_cell(t, TC_YELLOW, "held");
    else if (failed && pending)
        table_cellf(t, TC_RED, "%zu failed, %zu pending", failed, pending);
    else if (failed)
        table_cellf(t, TC_RED, "%zu failed", failed);
    else if (pending)
        table_cellf(t, TC_YELLOW, "%zu pending", pending);
    else
        table_cell(t, known ? TC_GREEN : TC_NONE, known ? "ok" : "-");
}

void render_frontends(struct strbuf *sb, const struct render_opts *o,
                      const Maglev__ListFrontendsResponse *r)
{
    if (!r->n_frontends) {
        add_empty_note(sb, "frontends");
        return;
    }
    static const char *const hdr[] = { "NAME",        "ADDRESS",  "PORT", "PROTO", "STATE",
                                       "ACTIVE POOL", "BACKENDS", "VPP",  NULL };
    struct table t;
    table_init(&t, 8, 0, o->color);
    table_header(&t, hdr);
    for (size_t i = 0; i < r->n_frontends; i++) {
        const Maglev__Frontend *f = r->frontends[i];
        size_t up = 0, total = 0;
        for (size_t p = 0; p < f->n_pools; p++)
            for (size_t b = 0; b < f->pools[p]->n_backends; b++) {
                const Maglev__PoolBackend *pb = f->pools[p]->backends[b];
                total++;
                up += pb->enabled && strcmp(str(pb->state), "up") == 0;
            }
        table_cell(&t, TC_BOLD, str(f->name));
        table_cell(&t, TC_NONE, or_dash(f->address));
        table_cellf(&t, TC_NONE, "%u", f->port);
        table_cell(&t, TC_NONE, or_dash(f->protocol));
        if (f->panic)
            table_cellf(&t, TC_RED, "%s (panic)", or_dash(f->state));
        else
            table_cell(&t, table_state_color(f->state), or_dash(f->state));
        table_cell(&t, TC_NONE, or_dash(f->active_pool));
        table_cellf(&t, TC_NONE, "%zu/%zu up", up, total);
        add_vpp_summary(&t, f);
        table_endrow(&t);
    }
    table_render(&t, sb);
    table_free(&t);
}

static enum tcolor vpp_status_color(const char *status)
{
    if (strcmp(status, "applied") == 0)
        return TC_GREEN;
    if (strcmp(status, "failed") == 0)
        return TC_RED;
    return TC_YELLOW; /* pending, anything new */
}

/* The "vpp" cell of a backend row: whether VPP has the effective weight
 * ("vpp applied", "vpp pending", "vpp failed") and, when VPP's weight is
 * known and differs from it, the change "100→0" (VPP's weight → the
 * effective one). */
static void add_vpp_cell(struct table *t, struct strbuf *l, const struct render_opts *o,
                         const Maglev__PoolBackend *pb)
{
    const char *st = str(pb->vpp_status);
    if (!*st) {
        table_cell(t, TC_NONE, "");
        return;
    }
    table_sb_colored(l, o->color, TC_LABEL, "vpp");
    strbuf_addc(l, ' ');
    table_sb_colored(l, o->color, vpp_status_color(st), st);
    if (pb->vpp_weight >= 0 && (uint32_t)pb->vpp_weight != pb->effective_weight)
        strbuf_addf(l, " %d" ARROW "%u", (int)pb->vpp_weight, pb->effective_weight);
    table_cell(t, TC_NONE, strbuf_str(l));
    strbuf_reset(l);
}

/* Whether any backend of f has a VPP status (the VPP integration is on). */
static bool has_vpp_status(const Maglev__Frontend *f)
{
    for (size_t p = 0; p < f->n_pools; p++)
        for (size_t b = 0; b < f->pools[p]->n_backends; b++)
            if (*str(f->pools[p]->backends[b]->vpp_status))
                return true;
    return false;
}

/* The model's cell of a backend row: "buckets 627 61.2% (weight 62.5%)":
 * its buckets of the new-flow table, their share (of new flows) and its
 * weight's share. */
static void add_buckets_cell(struct strbuf *l, const struct render_opts *o,
                             const Maglev__PoolBackend *pb)
{
    table_sb_colored(l, o->color, TC_LABEL, "buckets");
    strbuf_addf(l, " %u %.1f%% (weight %.1f%%)", pb->buckets, pb->bucket_share_pct,
                pb->weight_share_pct);
}

void render_frontend(struct strbuf *sb, const struct render_opts *o, const Maglev__Frontend *f)
{
    const size_t w = 11;
    struct strbuf l = STRBUF_INIT;
    table_sb_colored(&l, o->color, TC_LABEL, "frontend");
    strbuf_addc(&l, ' ');
    table_sb_colored(&l, o->color, TC_BOLD, str(f->name));
    strbuf_addc(&l, ' ');
    add_state(&l, o, f->state);
    if (f->panic) {
        strbuf_addc(&l, ' ');
        table_sb_colored(&l, o->color, TC_RED,
                         "PANIC (failing open: the active pool's backends serve as if up)");
    }
    if (f->vpp_held) {
        strbuf_addc(&l, ' ');
        table_sb_colored(&l, o->color, TC_YELLOW,
                         "(held by the warm-up: VPP's VIP is left as it is)");
    }
    strbuf_addc(&l, '\n');
    strbuf_adds(sb, strbuf_str(&l));
    strbuf_reset(&l);

    add_listen(&l, f);
    render_field(sb, o, 2, w, "address", strbuf_str(&l));
    strbuf_reset(&l);
    if (f->description && *f->description)
        render_field(sb, o, 2, w, "description", f->description);
    strbuf_addf(&l, "src-ip-sticky %s, flush-on-down %s", f->src_ip_sticky ? "yes" : "no",
                f->flush_on_down ? "yes" : "no");
    if (f->panic_threshold)
        strbuf_addf(&l, ", panic-threshold %u%%", f->panic_threshold);
    render_field(sb, o, 2, w, "options", strbuf_str(&l));
    strbuf_reset(&l);
    render_field(sb, o, 2, w, "active pool",
                 f->active_pool && *f->active_pool ? f->active_pool : "none");
    const bool model = f->table_length > 0; /* a daemon that predates the model: none */
    if (model) {
        strbuf_addf(&l, "%u buckets, shares within %.2f points of the weights", f->table_length,
                    f->share_error_pp);
        render_field(sb, o, 2, w, "table", strbuf_str(&l));
        strbuf_reset(&l);
    }
    if (f->share_warning && *f->share_warning) {
        table_sb_colored(&l, o->color, TC_YELLOW, f->share_warning);
        render_field(sb, o, 2, w, "warning", strbuf_str(&l));
        strbuf_reset(&l);
    }

    const bool vpp = has_vpp_status(f); /* else no vpp column at all */
    struct table t;
    table_init(&t, 6 + vpp + model, 2, o->color);
    for (size_t p = 0; p < f->n_pools; p++) {
        const Maglev__Pool *pool = f->pools[p];
        bool active = f->active_pool && strcmp(str(pool->name), f->active_pool) == 0;
        table_sb_colored(&l, o->color, TC_LABEL, "pool");
        strbuf_addc(&l, ' ');
        table_sb_colored(&l, o->color, TC_BOLD, str(pool->name));
        if (active) {
            strbuf_addc(&l, ' ');
            table_sb_colored(&l, o->color, TC_GREEN, "(active)");
        }
        if (!pool->n_backends)
            strbuf_adds(&l, "  no backends");
        table_line(&t, 0, strbuf_str(&l));
        strbuf_reset(&l);
        for (size_t b = 0; b < pool->n_backends; b++) {
            const Maglev__PoolBackend *pb = pool->backends[b];
            table_cellf(&t, TC_NONE, "  %s", str(pb->name));
            table_cell(&t, TC_NONE, or_dash(pb->address));
            table_sb_colored(&l, o->color, TC_LABEL, "weight");
            strbuf_addf(&l, " %u", pb->weight);
            table_cell(&t, TC_NONE, strbuf_str(&l));
            strbuf_reset(&l);
            table_sb_colored(&l, o->color, TC_LABEL, "effective");
            strbuf_addf(&l, " %u", pb->effective_weight);
            table_cell(&t, TC_NONE, strbuf_str(&l));
            strbuf_reset(&l);
            if (model) {
                add_buckets_cell(&l, o, pb);
                table_cell(&t, TC_NONE, strbuf_str(&l));
                strbuf_reset(&l);
            }
            table_cell(&t, table_state_color(pb->state), or_dash(pb->state));
            if (vpp)
                add_vpp_cell(&t, &l, o, pb);
            if (!pb->enabled)
                strbuf_adds(&l, "[disabled] ");
            if (pb->flush)
                strbuf_adds(&l, "[flushed] ");
            if (pb->overridden)
                strbuf_adds(&l, "[weight override] ");
            if (pb->held)
                strbuf_adds(&l, "[held by mass-failure guard] ");
            if (pb->ramping)
                strbuf_addf(&l, "[ramp %u%%] ", pb->ramp_pct);
            if (l.len)
                l.buf[--l.len] = '\0';
            table_cell(&t, TC_YELLOW, strbuf_str(&l));
            strbuf_reset(&l);
            table_endrow(&t);
            if (vpp && strcmp(str(pb->vpp_status), "failed") == 0 && *str(pb->vpp_error)) {
                strbuf_adds(&l, "error: "); /* VPP's answer, under the row */
                strbuf_adds(&l, pb->vpp_error);
                struct strbuf red = STRBUF_INIT;
                table_sb_colored(&red, o->color, TC_RED, strbuf_str(&l));
                table_line(&t, 4, strbuf_str(&red));
                strbuf_free(&red);
                strbuf_reset(&l);
            }
        }
    }
    if (!f->n_pools)
        table_line(&t, 0, "no pools");
    table_render(&t, sb);
    table_free(&t);
    strbuf_free(&l);
}

/* ---- backends ---- */

static int64_t last_transition_us(const Maglev__Backend *b)
{
    return b->n_history ? b->history[b->n_history - 1]->time_us : 0;
}

void render_backends(struct strbuf *sb, const struct render_opts *o,
                     const Maglev__ListBackendsResponse *r)
{
    if (!r->n_backends) {
        add_empty_note(sb, "backends");
        return;
    }
    static const char *const hdr[] = { "NAME",       "ADDRESS", "STATE",     "HEALTHCHECK",
                                       "LAST PROBE", "SINCE",   "FRONTENDS", NULL };
    struct table t;
    struct strbuf l = STRBUF_INIT;
    table_init(&t, 7, 0, o->color);
    table_header(&t, hdr);
    for (size_t i = 0; i < r->n_backends; i++) {
        const Maglev__Backend *b = r->backends[i];
        table_cell(&t, TC_BOLD, str(b->name));
        table_cell(&t, TC_NONE, or_dash(b->address));
        add_state(&l, o, b->state);
        if (!b->enabled && strcmp(str(b->state), "disabled") != 0)
            table_sb_colored(&l, o->color, TC_YELLOW, " [disabled]");
        if (b->ramping)
            strbuf_addf(&l, " [ramp %u%%]", b->ramp_pct);
        if (b->damping_suppressed)
            table_sb_colored(&l, o->color, TC_YELLOW, " [suppressed]");
        table_cell(&t, TC_NONE, strbuf_str(&l));
        strbuf_reset(&l);
        table_cell(&t, TC_NONE, or_dash(b->healthcheck));
        table_cell(&t, TC_NONE, or_dash(b->last_code));
        char age[48];
        int64_t since = last_transition_us(b);
        if (since) { /* whole seconds from one up: the column stays calm */
            int64_t d = o->now_us - since;
            render_duration(age, sizeof(age), d >= 1000000 ? d / 1000000 * 1000000 : d);
        }
        table_cell(&t, TC_NONE, since ? age : "-");
        join(&l, b->frontends, b->n_frontends);
        table_cell(&t, TC_NONE, strbuf_str(&l));
        strbuf_reset(&l);
        table_endrow(&t);
    }
    table_render(&t, sb);
    table_free(&t);
    strbuf_free(&l);
}

void render_backend(struct strbuf *sb, const struct render_opts *o, const Maglev__Backend *b)
{
    const size_t w = 11;
    char t1[48], t2[48], t3[48];
    struct strbuf l = STRBUF_INIT;
    table_sb_colored(&l, o->color, TC_LABEL, "backend");
    strbuf_addc(&l, ' ');
    table_sb_colored(&l, o->color, TC_BOLD, str(b->name));
    strbuf_addc(&l, ' ');
    add_state(&l, o, b->state);
    if (!b->enabled && strcmp(str(b->state), "disabled") != 0)
        table_sb_colored(&l, o->color, TC_YELLOW, " [disabled]");
    strbuf_adds(sb, strbuf_str(&l));
    strbuf_addc(sb, '\n');
    strbuf_reset(&l);

    render_field(sb, o, 2, w, "address", or_dash(b->address));
    add_state(&l, o, b->state);
    if (last_transition_us(b)) {
        render_time(t1, sizeof(t1), last_transition_us(b));
        render_age(t2, sizeof(t2), last_transition_us(b), o->now_us);
        strbuf_addf(&l, " since %s (%s)", t1, t2);
    }
    render_field(sb, o, 2, w, "state", strbuf_str(&l));
    strbuf_reset(&l);
    render_field(sb, o, 2, w, "enabled", b->enabled ? "yes" : "no");
    render_field(sb, o, 2, w, "healthcheck",
                 b->healthcheck && *b->healthcheck ? b->healthcheck : "none (not probed)");
    render_fieldf(sb, o, 2, w, "counter", "%u (rise %u, fall %u)", b->counter, b->rise, b->fall);
    render_field(sb, o, 2, w, "last code", or_dash(b->last_code));
    render_field(sb, o, 2, w, "last detail", or_dash(b->last_detail));
    if (b->last_probe_time_us) {
        render_time(t1, sizeof(t1), b->last_probe_time_us);
        render_age(t2, sizeof(t2), b->last_probe_time_us, o->now_us);
        render_duration(t3, sizeof(t3), b->last_probe_duration_us);
        render_fieldf(sb, o, 2, w, "last probe", "%s (%s), took %s", t1, t2, t3);
    } else {
        render_field(sb, o, 2, w, "last probe", "never");
    }
    render_fieldf(sb, o, 2, w, "probes", "%" PRIu64 " (%" PRIu64 " passed)", b->probes,
                  b->probes_passed);
    join(&l, b->frontends, b->n_frontends);
    render_field(sb, o, 2, w, "frontends", strbuf_str(&l));
    strbuf_reset(&l);
    if (b->slow_start_ms) {
        render_duration(t3, sizeof(t3), b->slow_start_ms * 1000);
        render_field(sb, o, 2, w, "slow start", t3);
    } else {
        render_field(sb, o, 2, w, "slow start", "off");
    }
    if (b->ramping) {
        render_time(t1, sizeof(t1), b->ramp_started_us);
        render_time(t2, sizeof(t2), b->ramp_ends_us);
        render_fieldf(sb, o, 2, w, "ramp", "%u%% of the weight, since %s, full at %s", b->ramp_pct,
                      t1, t2);
    }
    if (!b->damping) {
        render_field(sb, o, 2, w, "damping", "off");
    } else if (b->damping_suppressed) {
        render_duration(t3, sizeof(t3), b->damping_reuse_in_ms * 1000);
        render_time(t1, sizeof(t1), b->damping_suppressed_since_us);
        render_fieldf(sb, o, 2, w, "damping",
                      "penalty %.0f, SUPPRESSED since %s, reuse in %s (%" PRIu64 " suppressions)",
                      b->damping_penalty, t1, t3, b->damping_suppressions);
        render_field(sb, o, 2, w, "probes say", or_dash(b->probe_state));
    } else {
        render_fieldf(sb, o, 2, w, "damping",
                      "penalty %.0f, not suppressed (%" PRIu64 " suppressions)", b->damping_penalty,
                      b->damping_suppressions);
    }

    if (!b->n_history) {
        render_field(sb, o, 2, w, "history", "none");
        strbuf_free(&l);
        return;
    }
    strbuf_adds(sb, "  ");
    table_sb_colored(sb, o->color, TC_LABEL, "history");
    strbuf_addc(sb, '\n');
    struct table t;
    table_init(&t, 7, 4, o->color);
    for (size_t i = 0; i < b->n_history; i++) {
        const Maglev__Transition *tr = b->history[i];
        render_time(t1, sizeof(t1), tr->time_us);
        table_cell(&t, TC_NONE, t1);
        table_cell(&t, table_state_color(tr->from_state), or_dash(tr->from_state));
        table_cell(&t, TC_NONE, ARROW);
        table_cell(&t, table_state_color(tr->to_state), or_dash(tr->to_state));
        table_cell(&t, TC_NONE, str(tr->code));
        table_cell(&t, TC_NONE, or_dash(tr->reason));
        table_cell(&t, TC_NONE, str(tr->detail));
        table_endrow(&t);
    }
    table_render(&t, sb);
    table_free(&t);
    strbuf_free(&l);
}

void render_backend_action(struct strbuf *sb, const struct render_opts *o, const char *done,
                           const Maglev__Backend *b)
{
    table_sb_colored(sb, o->color, TC_LABEL, "backend");
    strbuf_addf(sb, " %s %s (state ", str(b->name), done);
    add_state(sb, o, b->state);
    strbuf_adds(sb, ")\n");
}

/* ---- healthchecks ---- */

void render_healthchecks(struct strbuf *sb, const struct render_opts *o,
                         const Maglev__ListHealthChecksResponse *r)
{
    if (!r->n_healthchecks) {
        add_empty_note(sb, "healthchecks");
        return;
    }
    static const char *const hdr[] = { "NAME",    "TYPE",      "PORT",     "INTERVAL",
                                       "TIMEOUT", "RISE/FALL", "BACKENDS", NULL };
    struct table t;
    struct strbuf l = STRBUF_INIT;
    char d1[32], d2[32];
    table_init(&t, 7, 0, o->color);
    table_header(&t, hdr);
    for (size_t i = 0; i < r->n_healthchecks; i++) {
        const Maglev__HealthCheck *h = r->healthchecks[i];
        table_cell(&t, TC_BOLD, str(h->name));
        table_cell(&t, TC_NONE, or_dash(h->type));
        if (h->port)
            table_cellf(&t, TC_NONE, "%u", h->port);
        else
            table_cell(&t, TC_NONE, "-");
        render_duration(d1, sizeof(d1), h->interval_ms * 1000);
        render_duration(d2, sizeof(d2), h->timeout_ms * 1000);
        table_cell(&t, TC_NONE, d1);
        table_cell(&t, TC_NONE, d2);
        table_cellf(&t, TC_NONE, "%u/%u", h->rise, h->fall);
        join(&l, h->backends, h->n_backends);
        table_cell(&t, TC_NONE, strbuf_str(&l));
        strbuf_reset(&l);
        table_endrow(&t);
    }
    table_render(&t, sb);
    table_free(&t);
    strbuf_free(&l);
}

void render_healthcheck(struct strbuf *sb, const struct render_opts *o,
                        const Maglev__HealthCheck *h)
{
    const size_t w = 15;
    char d[32];
    struct strbuf l = STRBUF_INIT;
    table_sb_colored(sb, o->color, TC_LABEL, "healthcheck");
    strbuf_addc(sb, ' ');
    table_sb_colored(sb, o->color, TC_BOLD, str(h->name));
    strbuf_addc(sb, '\n');
    render_field(sb, o, 2, w, "type", or_dash(h->type));
    if (h->port)
        render_fieldf(sb, o, 2, w, "port", "%u", h->port);
    else
        render_field(sb, o, 2, w, "port", "-");
    static const char *const names[] = { "interval", "fast-interval", "down-interval", "timeout" };
    const int64_t ms[] = { h->interval_ms, h->fast_interval_ms, h->down_interval_ms,
                           h->timeout_ms };
    for (size_t i = 0; i < 4; i++) {
        render_duration(d, sizeof(d), ms[i] * 1000);
        render_field(sb, o, 2, w, names[i], d);
    }
    render_fieldf(sb, o, 2, w, "rise", "%u", h->rise);
    render_fieldf(sb, o, 2, w, "fall", "%u", h->fall);
    render_field(sb, o, 2, w, "source address", or_dash(h->source_address));
    render_field(sb, o, 2, w, "netns", or_dash(h->netns));
    const char *opt_label[] = { "path", "host", "response regex", "tls server name" };
    const char *opt_value[] = { h->path, h->host, h->response_regex, h->tls_server_name };
    for (size_t i = 0; i < 4; i++)
        if (opt_value[i] && *opt_value[i])
            render_field(sb, o, 2, w, opt_label[i], opt_value[i]);
    if (h->n_response_codes) {
        join(&l, h->response_codes, h->n_response_codes);
        render_field(sb, o, 2, w, "response codes", strbuf_str(&l));
        strbuf_reset(&l);
    }
    if (h->tls_insecure)
        render_field(sb, o, 2, w, "tls insecure", "yes");
    if (h->type && strcmp(h->type, "https") == 0)
        render_field(sb, o, 2, w, "tls resume", h->tls_resume ? "yes" : "no");
    if (h->slow_start_ms) {
        render_duration(d, sizeof(d), h->slow_start_ms * 1000);
        render_field(sb, o, 2, w, "slow start", d);
    }
    if (h->damping) {
        char d2[32];
        render_duration(d, sizeof(d), h->damping_half_life_ms * 1000);
        render_duration(d2, sizeof(d2), h->damping_max_suppress_ms * 1000);
        render_fieldf(sb, o, 2, w, "damping",
                      "half-life %s, penalty %u, suppress %u, reuse %u, max-suppress %s", d,
                      h->damping_penalty, h->damping_suppress, h->damping_reuse, d2);
    } else {
        render_field(sb, o, 2, w, "damping", "off");
    }
    join(&l, h->backends, h->n_backends);
    render_field(sb, o, 2, w, "backends", strbuf_str(&l));
    strbuf_free(&l);
}
