/* render_int: helpers shared by render.c, render_event.c and render_vpp.c. */
#ifndef MAGLEV_CLI_RENDER_INT_H
#define MAGLEV_CLI_RENDER_INT_H

#include "cli/render.h"
#include "cli/table.h"

#define ARROW "\xe2\x86\x92" /* → */

static inline const char *str(const char *s)
{
    return s ? s : "";
}

static inline const char *or_dash(const char *s)
{
    return s && *s ? s : "-";
}

/* state, coloured as a state, appended to sb ("-" when empty). */
static inline void add_state(struct strbuf *sb, const struct render_opts *o, const char *state)
{
    table_sb_colored(sb, o->color, table_state_color(state), or_dash(state));
}

/* A "label  value" line of a detail view (render.c): `indent` blanks, the
 * label (TC_LABEL) padded to `width`, two blanks, the value, a newline. */
void render_field(struct strbuf *sb, const struct render_opts *o, size_t indent, size_t width,
                  const char *label, const char *value);
void render_fieldf(struct strbuf *sb, const struct render_opts *o, size_t indent, size_t width,
                   const char *label, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
