/* jw: a small JSON writer on a strbuf, for the dashboard's views. PURE.
 *
 * Values are written in order; the writer puts the commas. In an object,
 * jw_key (or the jw_k* shorthands) comes before each value. Strings are
 * escaped for JSON and, so that a name from the config can never close a
 * <script> or start markup if the text is ever embedded in HTML, < > & '
 * as \u escapes; invalid UTF-8 becomes U+FFFD. */
#ifndef MAGLEV_DASHBOARD_JW_H
#define MAGLEV_DASHBOARD_JW_H

#include <stdbool.h>
#include <stdint.h>

#include "common/strbuf.h"

#define JW_MAX_DEPTH 31

struct jw {
    struct strbuf sb;
    uint32_t comma; /* bit d: a value was written at depth d */
    int depth;
    bool after_key;
};

void jw_init(struct jw *w);
void jw_free(struct jw *w);

void jw_obj(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr(struct jw *w);
void jw_arr_end(struct jw *w);
void jw_key(struct jw *w, const char *k);
void jw_str(struct jw *w, const char *s); /* NULL: "" */
void jw_int(struct jw *w, int64_t v);
void jw_uint(struct jw *w, uint64_t v);
void jw_bool(struct jw *w, bool v);
void jw_double(struct jw *w, double v); /* NaN, infinities: null */
void jw_null(struct jw *w);

/* key + value */
void jw_kstr(struct jw *w, const char *k, const char *s);
void jw_kint(struct jw *w, const char *k, int64_t v);
void jw_kuint(struct jw *w, const char *k, uint64_t v);
void jw_kbool(struct jw *w, const char *k, bool v);
void jw_kdouble(struct jw *w, const char *k, double v);

/* Appends s as a JSON string (quoted, escaped as above). */
void jw_escape(struct strbuf *sb, const char *s);

#endif
