/* render_int: helpers shared by render.c and render_event.c. */
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
    sb_colored(sb, o->color, state_color(state), or_dash(state));
}

#endif
