/* table: aligned text columns and ANSI colours for maglevc's output. Pure:
 * everything ends up in a strbuf.
 *
 * Column widths are computed from the visible text: colour escapes
 * (ESC [ ... letter) take no room and a UTF-8 sequence is one column, so a
 * coloured table lines up exactly like a plain one. */
#ifndef MAGLEV_CLI_TABLE_H
#define MAGLEV_CLI_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/strbuf.h"

enum tcolor {
    TC_NONE = 0,
    TC_LABEL,  /* dark blue: headings, field names */
    TC_GREEN,  /* up, ok */
    TC_RED,    /* down, errors */
    TC_YELLOW, /* other states */
    TC_BOLD,   /* names being shown */
    TC_DIM,    /* secondary text */
};

/* The escape sequence that starts colour c ("" for TC_NONE), and the reset. */
const char *table_color_start(enum tcolor c);
#define TCOLOR_RESET "\033[0m"

/* The colour of a health or frontend state: up green, down red, anything
 * else yellow. */
enum tcolor table_state_color(const char *state);

/* Appends s, wrapped in colour c when `on` (and c is not TC_NONE). */
void table_sb_colored(struct strbuf *sb, bool on, enum tcolor c, const char *s);

/* Columns a string takes on a terminal: escapes skipped, each UTF-8 code
 * point (lead byte) one column. */
size_t table_visible_width(const char *s);

/* Appends s padded with blanks to `width` visible columns. */
void table_sb_pad(struct strbuf *sb, const char *s, size_t width);

struct trow;

struct table {
    size_t ncols;
    size_t indent; /* blanks before every line */
    bool color;    /* cells get their colour */
    struct trow *rows;
    size_t nrows, cap;
    size_t open; /* cells in the row being built */
};

void table_init(struct table *t, size_t ncols, size_t indent, bool color);
/* Adds a cell to the row being built, in colour c. */
void table_cell(struct table *t, enum tcolor c, const char *text);
void table_cellf(struct table *t, enum tcolor c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Ends the row being built (missing cells are empty); a row without
 * cells is not added. */
void table_endrow(struct table *t);
/* A line outside the columns (e.g. a group heading), taken as it is; its
 * own indent comes on top of the table's. */
void table_line(struct table *t, size_t indent, const char *text);
/* A header row: every cell in TC_LABEL. */
void table_header(struct table *t, const char *const *names);
/* Appends the table: cells padded to their column's widest visible text and
 * separated by two blanks, no trailing blanks. */
void table_render(const struct table *t, struct strbuf *out);
void table_free(struct table *t);

#endif
