/* render_event: times, events, config results and errors for people (see
 * render.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/render.h"
#include "cli/render_int.h"

/* ---- times ---- */

void render_time(char *buf, size_t len, int64_t time_us)
{
    if (time_us == 0) {
        snprintf(buf, len, "-");
        return;
    }
    int64_t sec = time_us / 1000000, ms = (time_us % 1000000) / 1000;
    if (ms < 0) {
        sec--;
        ms += 1000;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    char s[32];
    if (!localtime_r(&t, &tm) || !strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S", &tm)) {
        snprintf(buf, len, "@%" PRId64, time_us);
        return;
    }
    snprintf(buf, len, "%s.%03d", s, (int)ms);
}

/* "%.*f" without trailing zeros (and without a trailing dot). */
static void trimmed(char *buf, size_t len, double v, int decimals, const char *unit)
{
    char num[48];
    snprintf(num, sizeof(num), "%.*f", decimals, v);
    if (strchr(num, '.')) {
        size_t n = strlen(num);
        while (num[n - 1] == '0')
            num[--n] = '\0';
        if (num[n - 1] == '.')
            num[--n] = '\0';
    }
    snprintf(buf, len, "%s%s", num, unit);
}

void render_duration(char *buf, size_t len, int64_t us)
{
    if (us < 0)
        us = 0;
    int64_t s = us / 1000000;
    if (us < 1000)
        snprintf(buf, len, "%" PRId64 "\xc2\xb5s", us);
    else if (us < 1000000)
        trimmed(buf, len, (double)us / 1000.0, 1, "ms");
    else if (s < 60)
        trimmed(buf, len, (double)us / 1e6, 2, "s");
    else if (s < 3600)
        snprintf(buf, len, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m", s / 3600, s % 3600 / 60);
    else
        snprintf(buf, len, "%" PRId64 "d%02" PRId64 "h", s / 86400, s % 86400 / 3600);
}

void render_age(char *buf, size_t len, int64_t then_us, int64_t now_us)
{
    if (then_us == 0) {
        snprintf(buf, len, "never");
        return;
    }
    int64_t d = now_us - then_us;
    if (d < 0)
        d = 0;
    char dur[32];
    if (d < 10000000)
        snprintf(dur, sizeof(dur), "%.1fs", (double)d / 1e6);
    else if (d < 60000000)
        snprintf(dur, sizeof(dur), "%" PRId64 "s", d / 1000000);
    else
        render_duration(dur, sizeof(dur), d);
    snprintf(buf, len, "%s ago", dur);
}

/* ---- config ---- */

void render_config_result(struct strbuf *sb, const struct render_opts *o,
                          const Maglev__ConfigResult *r, bool reload)
{
    if (r->ok) {
        table_sb_colored(sb, o->color, TC_GREEN, "OK");
        strbuf_addf(sb, "  %s\n", or_dash(r->path));
        if (r->summary && *r->summary)
            strbuf_addf(sb, "  %s\n", r->summary);
        if (reload)
            strbuf_addf(sb, "  added %u, changed %u, removed %u, unchanged %u\n", r->added,
                        r->changed, r->removed, r->unchanged);
        return;
    }
    table_sb_colored(sb, o->color, TC_RED, "FAILED");
    strbuf_addf(sb, "  %s", or_dash(r->path));
    if (r->stage && *r->stage)
        strbuf_addf(sb, " (%s)", r->stage);
    strbuf_addc(sb, '\n');
    for (size_t i = 0; i < r->n_errors; i++) {
        strbuf_adds(sb, "  ");
        table_sb_colored(sb, o->color, TC_RED, str(r->errors[i]));
        strbuf_addc(sb, '\n');
    }
    if (reload)
        strbuf_adds(sb, "  the running configuration is unchanged\n");
}

/* ---- events ---- */

static enum tcolor level_color(const char *level)
{
    if (strcmp(level, "error") == 0)
        return TC_RED;
    if (strcmp(level, "warn") == 0 || strcmp(level, "warning") == 0)
        return TC_YELLOW;
    if (strcmp(level, "debug") == 0)
        return TC_DIM;
    return TC_NONE;
}

static void add_kind(struct strbuf *sb, const struct render_opts *o, const char *kind)
{
    struct strbuf k = STRBUF_INIT;
    table_sb_colored(&k, o->color, TC_LABEL, kind);
    table_sb_pad(sb, strbuf_str(&k), 8);
    strbuf_free(&k);
    strbuf_addc(sb, ' ');
}

/* "web b2 (198.18.2.2) weight 50→0 flush trigger health took 1.474ms":
 * one AS change maglevd made in VPP; the VIP stands in for a frontend-less
 * one (a stale VIP), an add or a delete is named before the weights. */
static void add_vpp_weight(struct strbuf *sb, const struct render_opts *o,
                           const Maglev__VPPWeightEvent *v)
{
    strbuf_addf(sb, "%s ", *str(v->frontend) ? v->frontend : or_dash(v->vip));
    if (*str(v->backend))
        strbuf_addf(sb, "%s (%s) ", v->backend, or_dash(v->address));
    else
        strbuf_addf(sb, "%s ", or_dash(v->address));
    if (*str(v->op) && strcmp(v->op, "as-weight") != 0)
        strbuf_addf(sb, "%s ", v->op);
    table_sb_colored(sb, o->color, TC_LABEL, "weight");
    strbuf_addf(sb, " %u" ARROW "%u", v->old_weight, v->new_weight);
    if (v->flush)
        strbuf_adds(sb, " flush");
    if (*str(v->trigger)) {
        strbuf_addc(sb, ' ');
        table_sb_colored(sb, o->color, TC_LABEL, "trigger");
        strbuf_addf(sb, " %s", v->trigger);
    }
    char took[48];
    trimmed(took, sizeof(took), (double)(v->took_us > 0 ? v->took_us : 0) / 1000.0, 3, "ms");
    strbuf_addc(sb, ' ');
    table_sb_colored(sb, o->color, TC_LABEL, "took");
    strbuf_addf(sb, " %s", took);
    if (v->dry_run) {
        strbuf_addc(sb, ' ');
        table_sb_colored(sb, o->color, TC_YELLOW, "dry-run");
    }
    if (*str(v->error)) {
        struct strbuf err = STRBUF_INIT;
        strbuf_addf(&err, "error: %s", v->error);
        strbuf_addc(sb, ' ');
        table_sb_colored(sb, o->color, TC_RED, strbuf_str(&err));
        strbuf_free(&err);
    }
}

void render_event(struct strbuf *sb, const struct render_opts *o, const Maglev__Event *e)
{
    char t[48];
    render_time(t, sizeof(t), e->time_us);
    strbuf_addf(sb, "%s  ", t);
    switch (e->kind_case) {
    case MAGLEV__EVENT__KIND_BACKEND: {
        const Maglev__BackendEvent *b = e->backend;
        add_kind(sb, o, "backend");
        strbuf_addf(sb, "%s ", str(b->name));
        if (b->transition) {
            const Maglev__Transition *tr = b->transition;
            add_state(sb, o, tr->from_state);
            strbuf_adds(sb, " " ARROW " ");
            add_state(sb, o, tr->to_state);
            if (tr->code && *tr->code)
                strbuf_addf(sb, " %s", tr->code);
            if (tr->detail && *tr->detail)
                strbuf_addf(sb, " %s", tr->detail);
        } else {
            strbuf_adds(sb, "state ");
            add_state(sb, o, b->state);
        }
        if (b->initial)
            strbuf_adds(sb, " (initial)");
        break;
    }
    case MAGLEV__EVENT__KIND_FRONTEND: {
        const Maglev__FrontendEvent *f = e->frontend;
        add_kind(sb, o, "frontend");
        strbuf_addf(sb, "%s ", str(f->name));
        add_state(sb, o, f->from_state);
        strbuf_adds(sb, " " ARROW " ");
        add_state(sb, o, f->to_state);
        if (f->active_pool && *f->active_pool)
            strbuf_addf(sb, " (active pool %s)", f->active_pool);
        else
            strbuf_adds(sb, " (no active pool)");
        if (f->panic)
            table_sb_colored(sb, o->color, TC_RED, " PANIC");
        if (f->initial)
            strbuf_adds(sb, " (initial)");
        break;
    }
    case MAGLEV__EVENT__KIND_LOG: {
        const Maglev__LogEvent *l = e->log;
        add_kind(sb, o, "log");
        struct strbuf lv = STRBUF_INIT;
        table_sb_colored(&lv, o->color, level_color(str(l->level)), str(l->level));
        table_sb_pad(sb, strbuf_str(&lv), 5);
        strbuf_free(&lv);
        strbuf_addf(sb, " %s", l->line && *l->line ? l->line : str(l->msg));
        break;
    }
    case MAGLEV__EVENT__KIND_VPP_WEIGHT:
        add_kind(sb, o, "vpp");
        if (e->vpp_weight)
            add_vpp_weight(sb, o, e->vpp_weight);
        break;
    default:
        add_kind(sb, o, "unknown");
        break;
    }
    strbuf_addc(sb, '\n');
}

void render_error(struct strbuf *sb, bool color, const char *msg)
{
    table_sb_colored(sb, color, TC_RED, "error:");
    strbuf_addc(sb, ' ');
    table_sb_colored(sb, color, TC_RED, msg);
    strbuf_addc(sb, '\n');
}
