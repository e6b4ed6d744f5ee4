/* jw.c: the JSON writer (see jw.h). Pure. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dashboard/jw.h"

void jw_init(struct jw *w)
{
    memset(w, 0, sizeof(*w));
}

void jw_free(struct jw *w)
{
    strbuf_free(&w->sb);
}

/* The comma before a value, unless it follows its key. */
static void pre(struct jw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    uint32_t bit = 1u << w->depth;
    if (w->comma & bit)
        strbuf_addc(&w->sb, ',');
    w->comma |= bit;
}

static void open_(struct jw *w, char c)
{
    pre(w);
    strbuf_addc(&w->sb, c);
    if (w->depth < JW_MAX_DEPTH)
        w->depth++;
    w->comma &= ~(1u << w->depth);
}

static void close_(struct jw *w, char c)
{
    if (w->depth > 0)
        w->depth--;
    strbuf_addc(&w->sb, c);
}

void jw_obj(struct jw *w)
{
    open_(w, '{');
}

void jw_obj_end(struct jw *w)
{
    close_(w, '}');
}

void jw_arr(struct jw *w)
{
    open_(w, '[');
}

void jw_arr_end(struct jw *w)
{
    close_(w, ']');
}

/* The length of the valid UTF-8 sequence at s (1..4), 0 when not valid
 * (overlong forms, surrogates and code points above U+10FFFF are not). */
static size_t utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, min = 0x10000;
    else
        return 0;
    unsigned cp = c & (0x3f >> (n - 1));
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

void jw_escape(struct strbuf *sb, const char *s)
{
    strbuf_addc(sb, '"');
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            strbuf_addc(sb, '\\');
            strbuf_addc(sb, (char)c);
            p++;
        } else if (c == '\n') {
            strbuf_adds(sb, "\\n");
            p++;
        } else if (c == '\t') {
            strbuf_adds(sb, "\\t");
            p++;
        } else if (c < 0x20 || c == 0x7f || c == '<' || c == '>' || c == '&' || c == '\'') {
            strbuf_addf(sb, "\\u%04x", c);
            p++;
        } else {
            size_t n = utf8_len(p);
            if (n == 0) {
                strbuf_adds(sb, "\\ufffd");
                p++;
            } else {
                strbuf_add(sb, (const char *)p, n);
                p += n;
            }
        }
    }
    strbuf_addc(sb, '"');
}

void jw_key(struct jw *w, const char *k)
{
    pre(w);
    jw_escape(&w->sb, k);
    strbuf_addc(&w->sb, ':');
    w->after_key = true;
}

void jw_str(struct jw *w, const char *s)
{
    pre(w);
    jw_escape(&w->sb, s);
}

void jw_int(struct jw *w, int64_t v)
{
    pre(w);
    strbuf_addf(&w->sb, "%lld", (long long)v);
}

void jw_uint(struct jw *w, uint64_t v)
{
    pre(w);
    strbuf_addf(&w->sb, "%llu", (unsigned long long)v);
}

void jw_bool(struct jw *w, bool v)
{
    pre(w);
    strbuf_adds(&w->sb, v ? "true" : "false");
}

void jw_null(struct jw *w)
{
    pre(w);
    strbuf_adds(&w->sb, "null");
}

void jw_double(struct jw *w, double v)
{
    if (!isfinite(v)) {
        jw_null(w);
        return;
    }
    pre(w);
    strbuf_addf(&w->sb, "%.6g", v);
}

void jw_kstr(struct jw *w, const char *k, const char *s)
{
    jw_key(w, k);
    jw_str(w, s);
}

void jw_kint(struct jw *w, const char *k, int64_t v)
{
    jw_key(w, k);
    jw_int(w, v);
}

void jw_kuint(struct jw *w, const char *k, uint64_t v)
{
    jw_key(w, k);
    jw_uint(w, v);
}

void jw_kbool(struct jw *w, const char *k, bool v)
{
    jw_key(w, k);
    jw_bool(w, v);
}

void jw_kdouble(struct jw *w, const char *k, double v)
{
    jw_key(w, k);
    jw_double(w, v);
}
