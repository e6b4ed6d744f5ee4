/* expo.c: the exposition writer (pure; see metrics.h). Text format 0.0.4
 * and OpenMetrics 1.0.0. Written for speed: a scrape of 10,000 backends
 * is ~200,000 samples, so numbers are formatted by hand, not by printf. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/mem.h"
#include "metrics/metrics.h"

void mx_init(struct mx_writer *w, bool openmetrics)
{
    memset(w, 0, sizeof(*w));
    w->openmetrics = openmetrics;
}

void mx_free(struct mx_writer *w)
{
    free(w->buf);
    memset(w, 0, sizeof(*w));
}

char *mx_detach(struct mx_writer *w, size_t *len)
{
    char *b = w->buf ? w->buf : mem_strdup("");
    if (len)
        *len = w->len;
    w->buf = NULL;
    w->len = w->cap = 0;
    return b;
}

static char *reserve(struct mx_writer *w, size_t n)
{
    if (w->len + n + 1 > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (w->len + n + 1 > cap)
            cap *= 2;
        w->buf = mem_realloc(w->buf, cap);
        w->cap = cap;
    }
    return w->buf + w->len;
}

static void put(struct mx_writer *w, const char *s, size_t n)
{
    char *p = reserve(w, n);
    memcpy(p, s, n);
    w->len += n;
    w->buf[w->len] = 0;
}

static void puts_(struct mx_writer *w, const char *s)
{
    put(w, s, strlen(s));
}

static void putc_(struct mx_writer *w, char c)
{
    char *p = reserve(w, 1);
    p[0] = c;
    p[1] = 0;
    w->len++;
}

static void put_u64(struct mx_writer *w, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(w, tmp + i, sizeof(tmp) - i);
}

/* Escapes \ and newline (HELP), and " too (label values; HELP in
 * OpenMetrics). */
static void put_escaped(struct mx_writer *w, const char *s, bool quote)
{
    const char *run = s;
    for (; *s; s++) {
        const char *rep = NULL;
        if (*s == '\\')
            rep = "\\\\";
        else if (*s == '\n')
            rep = "\\n";
        else if (*s == '"' && quote)
            rep = "\\\"";
        if (!rep)
            continue;
        put(w, run, (size_t)(s - run));
        put(w, rep, 2);
        run = s + 1;
    }
    put(w, run, (size_t)(s - run));
}

void mx_escape_label(struct mx_writer *w, const char *s)
{
    put_escaped(w, s ? s : "", true);
}

void mx_format_double(struct mx_writer *w, double v)
{
    if (isnan(v)) {
        puts_(w, "NaN");
        return;
    }
    if (isinf(v)) {
        puts_(w, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == floor(v) && fabs(v) < 9007199254740992.0) { /* 2^53: exact */
        if (v < 0) {
            putc_(w, '-');
            v = -v;
        }
        put_u64(w, (uint64_t)v);
        return;
    }
    char tmp[32];
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) { /* the shortest that reads back as v */
        n = snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    put(w, tmp, (size_t)n);
}

static const char *type_name(enum mx_type t)
{
    return t == MX_COUNTER ? "counter" : t == MX_HISTOGRAM ? "histogram" : "gauge";
}

void mx_family(struct mx_writer *w, const char *name, enum mx_type type, const char *help)
{
    w->family = name;
    w->type = type;
    const char *total = type == MX_COUNTER && !w->openmetrics ? "_total" : "";
    puts_(w, "# HELP ");
    puts_(w, name);
    puts_(w, total);
    putc_(w, ' ');
    put_escaped(w, help, w->openmetrics);
    puts_(w, "\n# TYPE ");
    puts_(w, name);
    puts_(w, total);
    putc_(w, ' ');
    puts_(w, type_name(type));
    putc_(w, '\n');
}

void mx_begin(struct mx_writer *w, const char *suffix)
{
    puts_(w, w->family);
    if (w->type == MX_COUNTER)
        puts_(w, "_total");
    if (suffix)
        puts_(w, suffix);
    w->n_labels = 0;
}

void mx_label(struct mx_writer *w, const char *name, const char *value)
{
    putc_(w, w->n_labels++ ? ',' : '{');
    puts_(w, name);
    put(w, "=\"", 2);
    put_escaped(w, value ? value : "", true);
    putc_(w, '"');
}

static void end_labels(struct mx_writer *w)
{
    if (w->n_labels)
        put(w, "} ", 2);
    else
        putc_(w, ' ');
    w->n_labels = 0;
    w->series++;
}

void mx_end_u64(struct mx_writer *w, uint64_t v)
{
    end_labels(w);
    put_u64(w, v);
    putc_(w, '\n');
}

void mx_end_i64(struct mx_writer *w, int64_t v)
{
    end_labels(w);
    if (v < 0) {
        putc_(w, '-');
        put_u64(w, (uint64_t)0 - (uint64_t)v);
    } else {
        put_u64(w, (uint64_t)v);
    }
    putc_(w, '\n');
}

void mx_end_double(struct mx_writer *w, double v)
{
    end_labels(w);
    mx_format_double(w, v);
    putc_(w, '\n');
}

static void labels(struct mx_writer *w, const struct mx_label *l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mx_label(w, l[i].name, l[i].value);
}

void mx_sample_u64(struct mx_writer *w, const struct mx_label *l, size_t n, uint64_t v)
{
    mx_begin(w, NULL);
    labels(w, l, n);
    mx_end_u64(w, v);
}

void mx_sample_double(struct mx_writer *w, const struct mx_label *l, size_t n, double v)
{
    mx_begin(w, NULL);
    labels(w, l, n);
    mx_end_double(w, v);
}

/* A bucket bound as le's value: OpenMetrics wants a float ("1.0"). */
static void put_le(struct mx_writer *w, double b)
{
    size_t at = w->len;
    mx_format_double(w, b);
    if (w->openmetrics && !isinf(b) && !memchr(w->buf + at, '.', w->len - at) &&
        !memchr(w->buf + at, 'e', w->len - at))
        put(w, ".0", 2);
}

void mx_histogram(struct mx_writer *w, const struct mx_label *l, size_t n, const double *bounds,
                  size_t n_bounds, const uint64_t *counts, double sum)
{
    uint64_t cum = 0;
    for (size_t i = 0; i <= n_bounds; i++) {
        cum += counts[i];
        mx_begin(w, "_bucket");
        labels(w, l, n);
        putc_(w, w->n_labels++ ? ',' : '{');
        puts_(w, "le=\"");
        if (i < n_bounds)
            put_le(w, bounds[i]);
        else
            puts_(w, "+Inf");
        putc_(w, '"');
        mx_end_u64(w, cum);
    }
    mx_begin(w, "_sum");
    labels(w, l, n);
    mx_end_double(w, sum);
    mx_begin(w, "_count");
    labels(w, l, n);
    mx_end_u64(w, cum);
}

void mx_finish(struct mx_writer *w)
{
    if (w->openmetrics)
        puts_(w, "# EOF\n");
    else
        reserve(w, 0)[0] = 0; /* NUL-terminated even when empty */
}

bool mx_accepts_openmetrics(const char *accept)
{
    if (!accept)
        return false;
    /* any media range naming it without q=0 (Prometheus sends it first) */
    for (const char *p = accept; (p = strcasestr(p, "application/openmetrics-text")); p++) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *q = memmem(p, n, "q=", 2);
        if (!q || strtod(q + 2, NULL) > 0)
            return true;
    }
    return false;
}
