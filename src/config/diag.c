#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "config/config_int.h"

void config_esc_add(struct strbuf *sb, const char *s, bool quote)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (quote && (*p == '"' || *p == '\\'))
            strbuf_addf(sb, "\\%c", *p);
        else if (*p == '\n')
            strbuf_adds(sb, "\\n");
        else if (*p == '\r')
            strbuf_adds(sb, "\\r");
        else if (*p == '\t')
            strbuf_adds(sb, "\\t");
        else if (*p < 0x20 || *p == 0x7f)
            strbuf_addf(sb, "\\x%02x", *p);
        else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) /* C1, NEL */
            strbuf_addf(sb, "\\u%04x", p[1]), p++;
        else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) /* LS, PS */
            strbuf_addf(sb, "\\u20%02x", p[2] - 0x80), p += 2;
        else if (p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) /* BOM */
            strbuf_adds(sb, "\\ufeff"), p += 2;
        else
            strbuf_addc(sb, (char)*p);
    }
}

static char *escaped(const char *s)
{
    struct strbuf sb = STRBUF_INIT;
    config_esc_add(&sb, s, false);
    return strbuf_detach(&sb);
}

void config_diag_vadd(struct config_diags *d, enum config_stage stage, struct config_mark mark,
                      const char *path, const char *fmt, va_list ap)
{
    mem_grow((void **)&d->v, &d->cap, d->n + 1, sizeof(*d->v));
    struct strbuf sb = STRBUF_INIT;
    strbuf_vaddf(&sb, fmt, ap);
    d->v[d->n] = (struct config_diag){
        .stage = stage,
        .mark = mark,
        .path = escaped(path ? path : ""),
        .msg = escaped(strbuf_str(&sb)),
        .order = d->n,
    };
    d->n++;
    strbuf_free(&sb);
}

void config_diag_add(struct config_diags *d, enum config_stage stage, struct config_mark mark,
                     const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    config_diag_vadd(d, stage, mark, path, fmt, ap);
    va_end(ap);
}

static int cmp_diag(const void *a, const void *b)
{
    const struct config_diag *x = a, *y = b;
    if (x->mark.line != y->mark.line)
        return x->mark.line < y->mark.line ? -1 : 1;
    if (x->mark.col != y->mark.col)
        return x->mark.col < y->mark.col ? -1 : 1;
    int r = strcmp(x->msg, y->msg);
    if (r)
        return r;
    r = strcmp(x->path, y->path);
    if (r)
        return r;
    return x->order < y->order ? -1 : x->order > y->order;
}

void config_diag_settle(struct config_diags *d)
{
    enum config_stage first = CONFIG_STAGE_OK;
    for (size_t i = 0; i < d->n; i++)
        if (first == CONFIG_STAGE_OK || d->v[i].stage < first)
            first = d->v[i].stage;
    size_t k = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (d->v[i].stage == first) {
            d->v[k++] = d->v[i];
        } else {
            free(d->v[i].path);
            free(d->v[i].msg);
        }
    }
    d->n = k;
    d->stage = first;
    /* Report in file order; ties by message, so the order is deterministic. */
    qsort(d->v, d->n, sizeof(*d->v), cmp_diag);
}

int config_exit_code(const struct config_diags *d)
{
    switch (d->stage) {
    case CONFIG_STAGE_OK:
        return 0;
    case CONFIG_STAGE_SYNTAX:
    case CONFIG_STAGE_STRUCTURE:
        return 1;
    default:
        return 2;
    }
}

char *config_diag_format(const struct config_diags *d, size_t i)
{
    const struct config_diag *g = &d->v[i];
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, d->file ? d->file : "<config>");
    if (g->mark.line > 0)
        strbuf_addf(&sb, ":%d:%d", g->mark.line, g->mark.col);
    strbuf_adds(&sb, ": ");
    if (g->path && *g->path)
        strbuf_addf(&sb, "%s: ", g->path);
    strbuf_adds(&sb, g->msg);
    return strbuf_detach(&sb);
}

void config_diags_free(struct config_diags *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++) {
        free(d->v[i].path);
        free(d->v[i].msg);
    }
    free(d->v);
    d->v = NULL;
    d->n = d->cap = 0;
}
