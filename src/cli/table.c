/* table: aligned columns and colours (see table.h). */
#include "cli/table.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"

#define GAP 2 /* blanks between columns */

struct trow {
    char **cells; /* ncols entries (NULL = empty), or NULL for a line */
    char *line;
    size_t line_indent;
};

const char *table_color_start(enum tcolor c)
{
    switch (c) {
    case TC_LABEL:
        return "\033[34m";
    case TC_GREEN:
        return "\033[32m";
    case TC_RED:
        return "\033[31m";
    case TC_YELLOW:
        return "\033[33m";
    case TC_BOLD:
        return "\033[1m";
    case TC_DIM:
        return "\033[2m";
    case TC_NONE:
        break;
    }
    return "";
}

enum tcolor table_state_color(const char *state)
{
    if (state && strcmp(state, "up") == 0)
        return TC_GREEN;
    if (state && strcmp(state, "down") == 0)
        return TC_RED;
    return TC_YELLOW;
}

void table_sb_colored(struct strbuf *sb, bool on, enum tcolor c, const char *s)
{
    if (!on || c == TC_NONE) {
        strbuf_adds(sb, s);
        return;
    }
    strbuf_adds(sb, table_color_start(c));
    strbuf_adds(sb, s);
    strbuf_adds(sb, TCOLOR_RESET);
}

size_t table_visible_width(const char *s)
{
    size_t w = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p == 0x1b && p[1] == '[') {
            /* CSI: parameters and intermediates, then one final byte */
            p += 2;
            while (*p && (*p < 0x40 || *p > 0x7e))
                p++;
            if (*p)
                p++;
            continue;
        }
        if ((*p & 0xc0) != 0x80)
            w++;
        p++;
    }
    return w;
}

void table_sb_pad(struct strbuf *sb, const char *s, size_t width)
{
    strbuf_adds(sb, s);
    for (size_t w = table_visible_width(s); w < width; w++)
        strbuf_addc(sb, ' ');
}

void table_init(struct table *t, size_t ncols, size_t indent, bool color)
{
    memset(t, 0, sizeof(*t));
    t->ncols = ncols;
    t->indent = indent;
    t->color = color;
}

static struct trow *new_row(struct table *t)
{
    mem_grow((void **)&t->rows, &t->cap, t->nrows + 1, sizeof(*t->rows));
    struct trow *r = &t->rows[t->nrows++];
    memset(r, 0, sizeof(*r));
    return r;
}

void table_cell(struct table *t, enum tcolor c, const char *text)
{
    if (t->open == 0)
        new_row(t)->cells = mem_calloc(t->ncols, sizeof(char *));
    if (t->open >= t->ncols)
        return; /* extra cells are dropped */
    struct strbuf sb = STRBUF_INIT;
    table_sb_colored(&sb, t->color, c, text ? text : "");
    t->rows[t->nrows - 1].cells[t->open++] = strbuf_detach(&sb);
}

void table_cellf(struct table *t, enum tcolor c, const char *fmt, ...)
{
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    table_cell(t, c, strbuf_str(&sb));
    strbuf_free(&sb);
}

void table_endrow(struct table *t)
{
    t->open = 0;
}

void table_line(struct table *t, size_t indent, const char *text)
{
    table_endrow(t);
    struct trow *r = new_row(t);
    r->line = mem_strdup(text);
    r->line_indent = indent;
}

void table_header(struct table *t, const char *const *names)
{
    for (size_t i = 0; i < t->ncols && names[i]; i++)
        table_cell(t, TC_LABEL, names[i]);
    table_endrow(t);
}

static void add_blanks(struct strbuf *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        strbuf_addc(out, ' ');
}

void table_render(const struct table *t, struct strbuf *out)
{
    size_t *width = mem_calloc(t->ncols, sizeof(size_t));
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; t->rows[r].cells && c < t->ncols; c++)
            if (t->rows[r].cells[c]) {
                size_t w = table_visible_width(t->rows[r].cells[c]);
                if (w > width[c])
                    width[c] = w;
            }
    for (size_t r = 0; r < t->nrows; r++) {
        const struct trow *row = &t->rows[r];
        if (!row->cells) {
            add_blanks(out, t->indent + row->line_indent);
            strbuf_adds(out, row->line);
            strbuf_addc(out, '\n');
            continue;
        }
        size_t last = 0; /* cells after the last non-empty one are not padded */
        for (size_t c = 0; c < t->ncols; c++)
            if (row->cells[c] && table_visible_width(row->cells[c]))
                last = c;
        add_blanks(out, t->indent);
        for (size_t c = 0; c <= last; c++) {
            const char *s = row->cells[c] ? row->cells[c] : "";
            if (c == last)
                strbuf_adds(out, s);
            else {
                table_sb_pad(out, s, width[c]);
                add_blanks(out, GAP);
            }
        }
        strbuf_addc(out, '\n');
    }
    free(width);
}

void table_free(struct table *t)
{
    for (size_t r = 0; r < t->nrows; r++) {
        if (t->rows[r].cells)
            for (size_t c = 0; c < t->ncols; c++)
                free(t->rows[r].cells[c]);
        free(t->rows[r].cells);
        free(t->rows[r].line);
    }
    free(t->rows);
    memset(t, 0, sizeof(*t));
}
