/* fleet_render.c: `show fleet` as text and JSON (see fleet.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/fleet.h"
#include "cli/json.h"
#include "cli/table.h"

#define HASH_SHOWN 12 /* hex digits of a config hash in the text */

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

static bool str_eq_up(const char *s)
{
    return s && strcmp(s, "up") == 0;
}

static const char *verdict(bool same)
{
    return same ? "same" : "differs";
}

static void cell_table(char *buf, size_t len, const struct fleet_cell *c)
{
    if (!c->present)
        snprintf(buf, len, "-");
    else if (c->table == FLEET_TABLE_OK)
        snprintf(buf, len, "%016" PRIx64, c->fingerprint);
    else if (c->table == FLEET_TABLE_NO_VIP)
        snprintf(buf, len, "no VIP");
    else
        snprintf(buf, len, "?");
}

/* "b3 down on lb2" or, for a weight-only difference, "b3 weight 50/0". */
static void diff_phrase(struct strbuf *sb, const struct fleet_report *r,
                        const struct fleet_backend_diff *d)
{
    bool any_state = false;
    for (size_t i = 0; i < r->n_lbs; i++)
        if (d->lb[i].present && !str_eq_up(d->lb[i].state))
            any_state = true;
    strbuf_adds(sb, d->backend);
    if (any_state) {
        /* each state other than up, with the LBs that see it */
        for (size_t i = 0; i < r->n_lbs; i++) {
            const struct fleet_backend_view *v = &d->lb[i];
            if (!v->present || str_eq_up(v->state))
                continue;
            bool first = true;
            for (size_t j = 0; j < i; j++)
                if (d->lb[j].present && strcmp(or_empty(d->lb[j].state), or_empty(v->state)) == 0)
                    first = false;
            if (!first)
                continue;
            strbuf_addf(sb, " %s on ", or_empty(v->state)[0] ? v->state : "?");
            const char *sep = "";
            for (size_t j = i; j < r->n_lbs; j++) {
                if (d->lb[j].present && strcmp(or_empty(d->lb[j].state), or_empty(v->state)) == 0) {
                    strbuf_addf(sb, "%slb%zu", sep, j + 1);
                    sep = ", ";
                }
            }
        }
        return;
    }
    strbuf_adds(sb, " weight ");
    const char *sep = "";
    for (size_t i = 0; i < r->n_lbs; i++) {
        if (r->lbs[i].error)
            continue;
        if (d->lb[i].present)
            strbuf_addf(sb, "%s%u", sep, d->lb[i].weight);
        else
            strbuf_addf(sb, "%s-", sep);
        sep = "/";
    }
}

void fleet_summary(struct strbuf *sb, const struct fleet_report *r)
{
    size_t agree = 0;
    for (size_t f = 0; f < r->n_fe; f++)
        agree += r->fe[f].agree;
    if (r->agree) {
        strbuf_addf(sb, "fleet agrees: %zu load balancer%s, %zu frontend%s", r->n_lbs,
                    r->n_lbs == 1 ? "" : "s", r->n_fe, r->n_fe == 1 ? "" : "s");
        return;
    }
    strbuf_addf(sb, "fleet disagrees: %zu of %zu frontend%s agree", agree, r->n_fe,
                r->n_fe == 1 ? "" : "s");
    if (!r->config_same)
        strbuf_adds(sb, "; config differs");
    for (size_t f = 0; f < r->n_fe; f++) {
        const struct fleet_frontend *fe = &r->fe[f];
        if (fe->agree)
            continue;
        strbuf_addf(sb, "; %s:", fe->name);
        const char *sep = " ";
        if (!fe->present_all) {
            strbuf_addf(sb, "%smissing on some", sep);
            sep = ", ";
        }
        if (!fe->weights_same) {
            strbuf_addf(sb, "%sweights differ", sep);
            sep = ", ";
        }
        if (!fe->table_same) {
            strbuf_addf(sb, "%stable differs", sep);
            sep = ", ";
        }
        if (sep[0] == ' ')
            strbuf_adds(sb, " config differs");
        for (size_t d = 0; d < fe->n_diff; d++) {
            strbuf_adds(sb, d ? ", " : " (");
            diff_phrase(sb, r, &fe->diff[d]);
        }
        if (fe->n_diff)
            strbuf_addc(sb, ')');
    }
    for (size_t i = 0; i < r->n_lbs; i++)
        if (r->lbs[i].error)
            strbuf_addf(sb, "; lb%zu (%s) unreachable", i + 1, or_empty(r->lbs[i].server));
}

static void render_lbs(struct strbuf *sb, bool color, const struct fleet_report *r)
{
    struct table t;
    table_init(&t, 3, 2, color);
    table_sb_colored(sb, color, TC_LABEL, "load balancers");
    strbuf_addc(sb, '\n');
    for (size_t i = 0; i < r->n_lbs; i++) {
        const struct fleet_lb *lb = &r->lbs[i];
        table_cellf(&t, TC_BOLD, "lb%zu", i + 1);
        table_cell(&t, TC_NONE, or_empty(lb->server));
        if (lb->error) {
            table_cellf(&t, TC_RED, "unreachable: %s", lb->error);
        } else {
            const char *h = lb->version ? or_empty(lb->version->config_hash) : "";
            if (lb->vpp)
                table_cellf(&t, TC_NONE, "config %.*s", HASH_SHOWN, h[0] ? h : "-");
            else
                table_cellf(&t, TC_YELLOW, "config %.*s, VPP: %s", HASH_SHOWN, h[0] ? h : "-",
                            or_empty(lb->vpp_error));
        }
        table_endrow(&t);
    }
    table_render(&t, sb);
    table_free(&t);
}

static void verdict_cell(struct table *t, bool same)
{
    table_cell(t, same ? TC_GREEN : TC_RED, verdict(same));
}

static void render_frontend_rows(struct table *t, const struct fleet_report *r,
                                 const struct fleet_frontend *fe)
{
    table_cellf(t, TC_BOLD, "frontend %s", fe->name);
    for (size_t i = 0; i < r->n_lbs; i++)
        table_cellf(t, TC_LABEL, "lb%zu", i + 1);
    table_cell(t, fe->agree ? TC_GREEN : TC_RED, fe->agree ? "agree" : "DISAGREE");
    table_endrow(t);
    table_cell(t, TC_LABEL, "  config");
    for (size_t i = 0; i < r->n_lbs; i++) {
        const struct fleet_lb *lb = &r->lbs[i];
        const char *h = !lb->error && lb->version ? or_empty(lb->version->config_hash) : "";
        table_cellf(t, TC_NONE, "%.*s", HASH_SHOWN, lb->error ? "?" : h[0] ? h : "-");
    }
    verdict_cell(t, r->config_same);
    table_endrow(t);
    table_cell(t, TC_LABEL, "  weights (sum)");
    for (size_t i = 0; i < r->n_lbs; i++) {
        const struct fleet_cell *c = &fe->cell[i];
        if (r->lbs[i].error)
            table_cell(t, TC_NONE, "?");
        else if (!c->present)
            table_cell(t, TC_RED, "no frontend");
        else
            table_cellf(t, TC_NONE, "%u", c->total_weight);
    }
    verdict_cell(t, fe->weights_same);
    table_endrow(t);
    table_cell(t, TC_LABEL, "  table");
    for (size_t i = 0; i < r->n_lbs; i++) {
        char buf[32];
        cell_table(buf, sizeof(buf), &fe->cell[i]);
        table_cell(t, TC_NONE, r->lbs[i].error ? "?" : buf);
    }
    verdict_cell(t, fe->table_same);
    table_endrow(t);
    for (size_t d = 0; d < fe->n_diff; d++) {
        const struct fleet_backend_diff *df = &fe->diff[d];
        table_cellf(t, TC_NONE, "  %s (%s)", df->backend, df->pool);
        for (size_t i = 0; i < r->n_lbs; i++) {
            const struct fleet_backend_view *v = &df->lb[i];
            if (!v->present)
                table_cell(t, TC_NONE, r->lbs[i].error ? "?" : "-");
            else
                table_cellf(t, table_state_color(v->state), "%s %u", or_empty(v->state), v->weight);
        }
        table_endrow(t);
    }
}

void fleet_render_text(struct strbuf *sb, bool color, const struct fleet_report *r)
{
    render_lbs(sb, color, r);
    struct table t;
    table_init(&t, r->n_lbs + 2, 0, color);
    for (size_t f = 0; f < r->n_fe; f++) {
        table_line(&t, 0, "");
        render_frontend_rows(&t, r, &r->fe[f]);
    }
    table_render(&t, sb);
    table_free(&t);
    strbuf_addc(sb, '\n');
    struct strbuf line = STRBUF_INIT;
    fleet_summary(&line, r);
    table_sb_colored(sb, color, r->agree ? TC_GREEN : TC_RED, strbuf_str(&line));
    strbuf_addc(sb, '\n');
    strbuf_free(&line);
}

/* ---- JSON ---- */

static void jstr(struct strbuf *sb, const char *s)
{
    s = or_empty(s);
    json_string(sb, s, strlen(s));
}

static void jkey(struct strbuf *sb, int level, const char *key, bool first)
{
    strbuf_addf(sb, "%s\n%*s", first ? "" : ",", 2 * level, "");
    jstr(sb, key);
    strbuf_adds(sb, ": ");
}

static void jbool(struct strbuf *sb, int level, const char *key, bool v, bool first)
{
    jkey(sb, level, key, first);
    strbuf_adds(sb, v ? "true" : "false");
}

static void jlb(struct strbuf *sb, int level, const struct fleet_lb *lb, size_t i)
{
    strbuf_adds(sb, "{");
    jkey(sb, level + 1, "label", true);
    strbuf_addf(sb, "\"lb%zu\"", i + 1);
    jkey(sb, level + 1, "server", false);
    jstr(sb, lb->server);
    jbool(sb, level + 1, "reachable", !lb->error, false);
    jkey(sb, level + 1, "error", false);
    jstr(sb, lb->error);
    jkey(sb, level + 1, "config_hash", false);
    jstr(sb, !lb->error && lb->version ? lb->version->config_hash : "");
    jkey(sb, level + 1, "vpp_error", false);
    jstr(sb, lb->error ? "" : lb->vpp_error);
    strbuf_addf(sb, "\n%*s}", 2 * level, "");
}

static const char *table_name(enum fleet_table t)
{
    return t == FLEET_TABLE_OK ? "ok" : t == FLEET_TABLE_NO_VIP ? "no-vip" : "unknown";
}

static void jcell(struct strbuf *sb, int level, const struct fleet_cell *c, size_t i)
{
    strbuf_adds(sb, "{");
    jkey(sb, level + 1, "label", true);
    strbuf_addf(sb, "\"lb%zu\"", i + 1);
    jbool(sb, level + 1, "present", c->present, false);
    jkey(sb, level + 1, "table", false);
    jstr(sb, c->present ? table_name(c->table) : "unknown");
    jkey(sb, level + 1, "fingerprint", false);
    if (c->present && c->table == FLEET_TABLE_OK)
        strbuf_addf(sb, "\"%016" PRIx64 "\"", c->fingerprint);
    else
        strbuf_adds(sb, "\"\"");
    jkey(sb, level + 1, "flow_table_length", false);
    strbuf_addf(sb, "%u", c->len);
    jkey(sb, level + 1, "total_weight", false);
    strbuf_addf(sb, "%u", c->total_weight);
    strbuf_addf(sb, "\n%*s}", 2 * level, "");
}

static void jdiff(struct strbuf *sb, int level, const struct fleet_report *r,
                  const struct fleet_backend_diff *d)
{
    strbuf_adds(sb, "{");
    jkey(sb, level + 1, "backend", true);
    jstr(sb, d->backend);
    jkey(sb, level + 1, "pool", false);
    jstr(sb, d->pool);
    jkey(sb, level + 1, "lbs", false);
    strbuf_adds(sb, "[");
    for (size_t i = 0; i < r->n_lbs; i++) {
        strbuf_addf(sb, "%s\n%*s{\"label\": \"lb%zu\", \"present\": %s, \"state\": ", i ? "," : "",
                    2 * (level + 2), "", i + 1, d->lb[i].present ? "true" : "false");
        jstr(sb, d->lb[i].present ? d->lb[i].state : "");
        strbuf_addf(sb, ", \"effective_weight\": %u}", d->lb[i].weight);
    }
    strbuf_addf(sb, "\n%*s]\n%*s}", 2 * (level + 1), "", 2 * level, "");
}

static void jfrontend(struct strbuf *sb, int level, const struct fleet_report *r,
                      const struct fleet_frontend *fe)
{
    strbuf_adds(sb, "{");
    jkey(sb, level + 1, "name", true);
    jstr(sb, fe->name);
    jbool(sb, level + 1, "agree", fe->agree, false);
    jbool(sb, level + 1, "config_same", r->config_same, false);
    jbool(sb, level + 1, "present_all", fe->present_all, false);
    jbool(sb, level + 1, "weights_same", fe->weights_same, false);
    jbool(sb, level + 1, "table_same", fe->table_same, false);
    jkey(sb, level + 1, "lbs", false);
    strbuf_adds(sb, "[");
    for (size_t i = 0; i < r->n_lbs; i++) {
        strbuf_addf(sb, "%s\n%*s", i ? "," : "", 2 * (level + 2), "");
        jcell(sb, level + 2, &fe->cell[i], i);
    }
    strbuf_addf(sb, "\n%*s]", 2 * (level + 1), "");
    jkey(sb, level + 1, "differences", false);
    strbuf_adds(sb, "[");
    for (size_t d = 0; d < fe->n_diff; d++) {
        strbuf_addf(sb, "%s\n%*s", d ? "," : "", 2 * (level + 2), "");
        jdiff(sb, level + 2, r, &fe->diff[d]);
    }
    strbuf_addf(sb, "%s]\n%*s}", fe->n_diff ? "\n    " : "", 2 * level, "");
}

void fleet_render_json(struct strbuf *sb, const struct fleet_report *r)
{
    strbuf_adds(sb, "{");
    jbool(sb, 1, "agree", r->agree, true);
    jbool(sb, 1, "config_same", r->config_same, false);
    jkey(sb, 1, "unreachable", false);
    strbuf_addf(sb, "%zu", r->unreachable);
    jkey(sb, 1, "summary", false);
    struct strbuf line = STRBUF_INIT;
    fleet_summary(&line, r);
    jstr(sb, strbuf_str(&line));
    strbuf_free(&line);
    jkey(sb, 1, "lbs", false);
    strbuf_adds(sb, "[");
    for (size_t i = 0; i < r->n_lbs; i++) {
        strbuf_addf(sb, "%s\n    ", i ? "," : "");
        jlb(sb, 2, &r->lbs[i], i);
    }
    strbuf_adds(sb, "\n  ]");
    jkey(sb, 1, "frontends", false);
    strbuf_adds(sb, "[");
    for (size_t f = 0; f < r->n_fe; f++) {
        strbuf_addf(sb, "%s\n    ", f ? "," : "");
        jfrontend(sb, 2, r, &r->fe[f]);
    }
    strbuf_addf(sb, "%s]\n}", r->n_fe ? "\n  " : "");
}
