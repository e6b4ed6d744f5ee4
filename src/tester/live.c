/* live.c: the live view (pure): the screen a terminal shows, redrawn once
 * a second by run.c, or one status line a second and one line per
 * timeline event for a pipe. */
#include <stdio.h>
#include <stdlib.h>

#include "tester/report_int.h"
#include "tester/tester.h"

void tester_event_line(struct strbuf *sb, const struct tester_event *e)
{
    char len[32];
    tester_fmt_us(len, sizeof(len), e->length_us);
    strbuf_addf(sb, "%8.1fs  ", (double)e->time_us / 1e6);
    switch (e->kind) {
    case TE_FIRST_SEEN:
        strbuf_addf(sb, "%s first seen", e->backend);
        break;
    case TE_MISSING:
        strbuf_addf(sb, "%s missing since %.1fs", e->backend, (double)e->at_us / 1e6);
        break;
    case TE_BACK:
        strbuf_addf(sb, "%s back after a gap of %s (since %.1fs)", e->backend, len,
                    (double)e->at_us / 1e6);
        break;
    case TE_ALL_FAILING:
        strbuf_adds(sb, "every request failing");
        break;
    case TE_ANSWER_AGAIN:
        strbuf_addf(sb, "answering again after %s of failures", len);
        break;
    }
}

/* The recent window's length, in seconds. */
static double window_s(const struct tester_tally *t)
{
    return (double)t->window * (double)t->interval_us / 1e6;
}

void tester_live_line(struct strbuf *sb, const struct tester_tally *t, int64_t now_us)
{
    strbuf_addf(sb, "%8.1fs  sent %llu ok %llu failed %llu  last %.0fs:", (double)now_us / 1e6,
                (unsigned long long)t->requests, (unsigned long long)t->outcomes[TO_OK],
                (unsigned long long)t->failed, window_s(t));
    size_t *ix = tester_backends_by_name(t);
    for (size_t k = 0; k < t->n_backends; k++) {
        const struct tester_backend *b = &t->backends[ix[k]];
        strbuf_addf(sb, " %s %.1f%%", b->name, tester_pct(b->recent_sum, t->recent_total_sum));
    }
    free(ix);
    if (t->n_backends == 0)
        strbuf_adds(sb, " no answers");
}

static void screen_backends(struct strbuf *sb, const struct tester_tally *t, int64_t now_us)
{
    uint64_t total = tester_answers_total(t);
    char last[16];
    snprintf(last, sizeof(last), "last %.0fs", window_s(t));
    strbuf_addf(sb, "%-20s %9s %7s %9s %10s  %s\n", "backend", "answers", "share", last,
                "last seen", "state");
    size_t *ix = tester_backends_by_name(t);
    for (size_t k = 0; k < t->n_backends; k++) {
        const struct tester_backend *b = &t->backends[ix[k]];
        strbuf_addf(sb, "%-20s %9llu %6.1f%% %8.1f%% ", b->name, (unsigned long long)b->answers,
                    tester_pct(b->answers, total), tester_pct(b->recent_sum, t->recent_total_sum));
        if (b->rounds_answered)
            strbuf_addf(sb, "%6.1fs ago  ", (double)(now_us - b->last_seen_us) / 1e6);
        else
            strbuf_addf(sb, "%10s  ", "-");
        if (b->missing)
            strbuf_addf(sb, "MISSING since %.1fs", (double)b->silence_start_us / 1e6);
        else
            strbuf_adds(sb, "answering");
        if (b->n_gaps)
            strbuf_addf(sb, ", %zu gap%s", b->n_gaps, b->n_gaps > 1 ? "s" : "");
        strbuf_addc(sb, '\n');
    }
    free(ix);
}

void tester_live_screen(struct strbuf *sb, const struct tester_tally *t,
                        const struct tester_opts *o, int64_t now_us)
{
    char iv[32];
    struct tester_lat_summary s;
    char p50[32], p99[32], mx[32];
    tester_fmt_us(iv, sizeof(iv), o->interval_ns / 1000);
    tester_lat_summarize(&t->lat, &s);
    tester_fmt_us(p50, sizeof(p50), s.p50);
    tester_fmt_us(p99, sizeof(p99), s.p99);
    tester_fmt_us(mx, sizeof(mx), s.max);
    strbuf_addf(sb,
                "maglevt  %.1fs  every %s  sent %llu  ok %llu  failed %llu   (Ctrl-C: summary)\n",
                (double)now_us / 1e6, iv, (unsigned long long)t->requests,
                (unsigned long long)t->outcomes[TO_OK], (unsigned long long)t->failed);
    strbuf_addf(sb, "latency  p50 %s  p99 %s  max %s\n\n", p50, p99, mx);
    screen_backends(sb, t, now_us);
    strbuf_adds(sb, "\ntarget                                   sent       ok  errors\n");
    for (size_t i = 0; i < t->n_targets && i < o->n_targets; i++) {
        const struct tester_target_tally *tt = &t->targets[i];
        strbuf_addf(sb, "%-36s %8llu %8llu  ", o->targets[i].url, (unsigned long long)tt->requests,
                    (unsigned long long)tt->outcomes[TO_OK]);
        tester_errors_text(sb, tt->outcomes);
        strbuf_addc(sb, '\n');
    }
    size_t shown = t->kept_n < 10 ? t->kept_n : 10;
    if (shown)
        strbuf_adds(sb, "\ntimeline\n");
    for (size_t k = t->kept_n - shown; k < t->kept_n; k++) {
        tester_event_line(sb, &t->kept[k % TESTER_EVENTS_KEPT]);
        strbuf_addc(sb, '\n');
    }
}
