/* report.c: the summary at the end, as text and as JSON (pure). Backends
 * are listed by name; times are microseconds since the first round. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/version.h"
#include "tester/report_int.h"
#include "tester/tester.h"

void tester_fmt_us(char *buf, size_t len, int64_t us)
{
    if (us < 0)
        us = 0;
    if (us < 1000)
        snprintf(buf, len, "%lldµs", (long long)us);
    else if (us < 10000)
        snprintf(buf, len, "%.1fms", (double)us / 1e3);
    else if (us < 1000000)
        snprintf(buf, len, "%lldms", (long long)(us / 1000));
    else if (us < 60000000)
        snprintf(buf, len, "%.1fs", (double)us / 1e6);
    else
        snprintf(buf, len, "%lldm%.1fs", (long long)(us / 60000000), (double)(us % 60000000) / 1e6);
}

static const struct tester_tally *sort_tally;

static int by_name(const void *a, const void *b)
{
    const struct tester_backend *x = &sort_tally->backends[*(const size_t *)a];
    const struct tester_backend *y = &sort_tally->backends[*(const size_t *)b];
    return strcmp(x->name, y->name);
}

size_t *tester_backends_by_name(const struct tester_tally *t)
{
    size_t *ix = mem_calloc(t->n_backends, sizeof(*ix));
    for (size_t i = 0; i < t->n_backends; i++)
        ix[i] = i;
    sort_tally = t;
    qsort(ix, t->n_backends, sizeof(*ix), by_name);
    sort_tally = NULL;
    return ix;
}

uint64_t tester_answers_total(const struct tester_tally *t)
{
    uint64_t n = 0;
    for (size_t i = 0; i < t->n_backends; i++)
        n += t->backends[i].answers;
    return n;
}

double tester_pct(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* "refused 3, timeout 1", or "-" */
void tester_errors_text(struct strbuf *sb, const uint64_t *outcomes)
{
    bool any = false;
    for (int o = TO_OK + 1; o < TO_COUNT; o++) {
        if (!outcomes[o])
            continue;
        strbuf_addf(sb, "%s%s %llu", any ? ", " : "", tester_outcome_name(o),
                    (unsigned long long)outcomes[o]);
        any = true;
    }
    if (!any)
        strbuf_adds(sb, "-");
}

/* ---- text --------------------------------------------------------------------- */

static void lat_text(struct strbuf *sb, const struct tester_lat *l)
{
    struct tester_lat_summary s;
    char a[32], b[32], c[32], d[32];
    tester_lat_summarize(l, &s);
    tester_fmt_us(a, sizeof(a), s.p50);
    tester_fmt_us(b, sizeof(b), s.p90);
    tester_fmt_us(c, sizeof(c), s.p99);
    tester_fmt_us(d, sizeof(d), s.max);
    strbuf_addf(sb, "p50 %s  p90 %s  p99 %s  max %s", a, b, c, d);
}

static void backends_text(struct strbuf *sb, const struct tester_tally *t)
{
    uint64_t total = tester_answers_total(t);
    size_t *ix = tester_backends_by_name(t);
    strbuf_addf(sb, "\n%-20s %9s %7s %7s %7s %7s %7s %11s %11s\n", "backend", "answers", "share",
                "2xx", "3xx", "4xx", "5xx", "first seen", "last seen");
    for (size_t k = 0; k < t->n_backends; k++) {
        const struct tester_backend *b = &t->backends[ix[k]];
        strbuf_addf(sb, "%-20s %9llu %6.1f%% %7llu %7llu %7llu %7llu %10.1fs %10.1fs\n", b->name,
                    (unsigned long long)b->answers, tester_pct(b->answers, total),
                    (unsigned long long)b->status[0], (unsigned long long)b->status[1],
                    (unsigned long long)b->status[2], (unsigned long long)b->status[3],
                    (double)b->first_seen_us / 1e6, (double)b->last_seen_us / 1e6);
        strbuf_adds(sb, "    latency ");
        lat_text(sb, &b->lat);
        strbuf_addc(sb, '\n');
        for (size_t g = 0; g < b->n_gaps; g++) {
            char len[32];
            tester_fmt_us(len, sizeof(len), b->gaps[g].length_us);
            strbuf_addf(sb, "    gap at %.1fs for %s (%llu rounds missed)\n",
                        (double)b->gaps[g].start_us / 1e6, len,
                        (unsigned long long)b->gaps[g].rounds);
        }
        if (tester_backend_gone(b))
            strbuf_addf(sb, "    gone since %.1fs\n", (double)b->silence_start_us / 1e6);
    }
    free(ix);
}

void tester_report_text(struct strbuf *sb, const struct tester_tally *t,
                        const struct tester_opts *o, int64_t elapsed_us)
{
    char el[32];
    tester_fmt_us(el, sizeof(el), elapsed_us);
    strbuf_addf(sb, "maglevt summary: %s, %llu rounds, %llu requests, %llu ok, %llu failed\n", el,
                (unsigned long long)t->rounds_final, (unsigned long long)t->requests,
                (unsigned long long)t->outcomes[TO_OK], (unsigned long long)t->failed);
    strbuf_addf(sb, "latency of %zu responses (nearest rank): ", t->lat.n);
    lat_text(sb, &t->lat);
    strbuf_adds(sb, "\nerrors: ");
    tester_errors_text(sb, t->outcomes);
    strbuf_addc(sb, '\n');
    backends_text(sb, t);
    strbuf_adds(sb, "\ntargets\n");
    for (size_t i = 0; i < t->n_targets && i < o->n_targets; i++) {
        const struct tester_target_tally *tt = &t->targets[i];
        strbuf_addf(sb, "%s: %llu requests, %llu ok; errors: ", o->targets[i].url,
                    (unsigned long long)tt->requests, (unsigned long long)tt->outcomes[TO_OK]);
        tester_errors_text(sb, tt->outcomes);
        strbuf_adds(sb, "\n    latency ");
        lat_text(sb, &tt->lat);
        strbuf_addc(sb, '\n');
    }
    if (t->n_ggaps)
        strbuf_adds(sb, "\nevery request failed\n");
    for (size_t g = 0; g < t->n_ggaps; g++) {
        char len[32];
        tester_fmt_us(len, sizeof(len), t->ggaps[g].length_us);
        strbuf_addf(sb, "    at %.1fs for %s (%llu rounds)%s\n", (double)t->ggaps[g].start_us / 1e6,
                    len, (unsigned long long)t->ggaps[g].rounds,
                    t->ggaps[g].open ? ", until the end" : "");
    }
}

/* ---- JSON --------------------------------------------------------------------- */

void tester_json_str(struct strbuf *sb, const char *s)
{
    strbuf_addc(sb, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            strbuf_addf(sb, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            strbuf_addf(sb, "\\u%04x", *p);
        else
            strbuf_addc(sb, (char)*p);
    }
    strbuf_addc(sb, '"');
}

static void json_lat(struct strbuf *sb, const struct tester_lat *l)
{
    struct tester_lat_summary s;
    tester_lat_summarize(l, &s);
    strbuf_addf(sb, "{\"samples\": %zu, \"p50\": %u, \"p90\": %u, \"p99\": %u, \"max\": %u}", s.n,
                s.p50, s.p90, s.p99, s.max);
}

static void json_errors(struct strbuf *sb, const uint64_t *outcomes)
{
    strbuf_addc(sb, '{');
    for (int o = TO_OK + 1; o < TO_COUNT; o++)
        strbuf_addf(sb, "%s\"%s\": %llu", o > TO_OK + 1 ? ", " : "", tester_outcome_name(o),
                    (unsigned long long)outcomes[o]);
    strbuf_addc(sb, '}');
}

static void json_backend(struct strbuf *sb, const struct tester_tally *t,
                         const struct tester_backend *b, uint64_t total)
{
    strbuf_adds(sb, "    {\"name\": ");
    tester_json_str(sb, b->name);
    strbuf_addf(sb,
                ", \"answers\": %llu, \"share\": %.4f, \"recent_share\": %.4f,\n"
                "     \"status\": {\"2xx\": %llu, \"3xx\": %llu, \"4xx\": %llu, \"5xx\": %llu},\n"
                "     \"latency_us\": ",
                (unsigned long long)b->answers, tester_pct(b->answers, total) / 100,
                tester_pct(b->recent_sum, t->recent_total_sum) / 100,
                (unsigned long long)b->status[0], (unsigned long long)b->status[1],
                (unsigned long long)b->status[2], (unsigned long long)b->status[3]);
    json_lat(sb, &b->lat);
    strbuf_addf(sb, ",\n     \"first_seen_us\": %lld, \"last_seen_us\": %lld, \"gaps\": [",
                (long long)b->first_seen_us, (long long)b->last_seen_us);
    for (size_t g = 0; g < b->n_gaps; g++)
        strbuf_addf(sb, "%s{\"start_us\": %lld, \"length_us\": %lld, \"rounds\": %llu}",
                    g ? ", " : "", (long long)b->gaps[g].start_us, (long long)b->gaps[g].length_us,
                    (unsigned long long)b->gaps[g].rounds);
    bool gone = tester_backend_gone(b);
    strbuf_addf(sb, "],\n     \"gone\": %s, \"gone_since_us\": ", gone ? "true" : "false");
    if (gone)
        strbuf_addf(sb, "%lld}", (long long)b->silence_start_us);
    else
        strbuf_adds(sb, "null}");
}

void tester_report_json(struct strbuf *sb, const struct tester_tally *t,
                        const struct tester_opts *o, int64_t elapsed_us)
{
    strbuf_adds(sb, "{\"version\": ");
    tester_json_str(sb, version_string());
    strbuf_addf(sb,
                ",\n \"interval_us\": %lld, \"timeout_us\": %lld, \"elapsed_us\": %lld,"
                " \"rounds\": %llu,\n \"requests\": %llu, \"ok\": %llu, \"failed\": %llu,\n"
                " \"errors\": ",
                (long long)(o->interval_ns / 1000), (long long)(o->timeout_ns / 1000),
                (long long)elapsed_us, (unsigned long long)t->rounds_final,
                (unsigned long long)t->requests, (unsigned long long)t->outcomes[TO_OK],
                (unsigned long long)t->failed);
    json_errors(sb, t->outcomes);
    strbuf_adds(sb, ",\n \"latency_us\": ");
    json_lat(sb, &t->lat);
    strbuf_adds(sb, ",\n \"targets\": [");
    for (size_t i = 0; i < t->n_targets && i < o->n_targets; i++) {
        const struct tester_target_tally *tt = &t->targets[i];
        strbuf_adds(sb, i ? ",\n    {\"url\": " : "\n    {\"url\": ");
        tester_json_str(sb, o->targets[i].url);
        strbuf_addf(sb, ", \"requests\": %llu, \"ok\": %llu, \"failed\": %llu,\n     \"errors\": ",
                    (unsigned long long)tt->requests, (unsigned long long)tt->outcomes[TO_OK],
                    (unsigned long long)(tt->requests - tt->outcomes[TO_OK]));
        json_errors(sb, tt->outcomes);
        strbuf_adds(sb, ",\n     \"latency_us\": ");
        json_lat(sb, &tt->lat);
        strbuf_addc(sb, '}');
    }
    strbuf_adds(sb, "],\n \"backends\": [");
    uint64_t total = tester_answers_total(t);
    size_t *ix = tester_backends_by_name(t);
    for (size_t k = 0; k < t->n_backends; k++) {
        strbuf_adds(sb, k ? ",\n" : "\n");
        json_backend(sb, t, &t->backends[ix[k]], total);
    }
    free(ix);
    strbuf_adds(sb, "],\n \"global_gaps\": [");
    for (size_t g = 0; g < t->n_ggaps; g++)
        strbuf_addf(
            sb, "%s{\"start_us\": %lld, \"length_us\": %lld, \"rounds\": %llu, \"open\": %s}",
            g ? ", " : "", (long long)t->ggaps[g].start_us, (long long)t->ggaps[g].length_us,
            (unsigned long long)t->ggaps[g].rounds, t->ggaps[g].open ? "true" : "false");
    strbuf_adds(sb, "]}\n");
}
