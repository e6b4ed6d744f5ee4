/* tally.c: counts, latencies and the failover timeline (pure: no I/O, no
 * clock; times are given).
 *
 * Requests finish in any order (a timeout after later answers), but the
 * timeline must see rounds in order: a round is pending until all its
 * requests are in, and rounds are finalized oldest first. Counts and
 * latencies are taken at once.
 *
 * The timeline counts "answered rounds", rounds in which some backend
 * answered: a backend's silence grows only while others answer (a round in
 * which every request failed is a global outage, not its silence). A
 * silence becomes a gap (TE_MISSING) past tester_gap_threshold() rounds;
 * the gap closes when the backend answers again (TE_BACK), or is still
 * open at the end: the backend is gone. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "tester/tester.h"

#define BACKENDS_MAX 256 /* names past this many are tallied as "(other)" */
#define GAP_CHANCE   0.001

struct tester_round {
    uint64_t round;
    int64_t t_us;
    unsigned expected, done, ok;
    size_t *answered; /* backend indexes, one per answer */
    size_t n_answered, cap_answered;
};

/* ---- latencies ---------------------------------------------------------------- */

static void lat_add(struct tester_lat *l, int64_t us)
{
    mem_grow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v));
    l->v[l->n++] = us < 0 ? 0 : us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

uint32_t tester_percentile(const uint32_t *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    double r = ceil(p / 100.0 * (double)n);
    size_t rank = r < 1 ? 1 : r > (double)n ? n : (size_t)r;
    return sorted[rank - 1];
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

void tester_lat_summarize(const struct tester_lat *l, struct tester_lat_summary *out)
{
    memset(out, 0, sizeof(*out));
    out->n = l->n;
    if (l->n == 0)
        return;
    uint32_t *s = mem_alloc(l->n * sizeof(*s));
    memcpy(s, l->v, l->n * sizeof(*s));
    qsort(s, l->n, sizeof(*s), cmp_u32);
    out->p50 = tester_percentile(s, l->n, 50);
    out->p90 = tester_percentile(s, l->n, 90);
    out->p99 = tester_percentile(s, l->n, 99);
    out->max = s[l->n - 1];
    free(s);
}

/* ---- set-up ------------------------------------------------------------------- */

void tester_tally_init(struct tester_tally *t, size_t n_targets, int64_t interval_us,
                       size_t window_rounds)
{
    memset(t, 0, sizeof(*t));
    t->interval_us = interval_us;
    t->n_targets = n_targets;
    t->targets = mem_calloc(n_targets, sizeof(*t->targets));
    t->window = window_rounds ? window_rounds : 1;
    t->recent_total = mem_calloc(t->window, sizeof(*t->recent_total));
}

void tester_tally_free(struct tester_tally *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_targets; i++)
        free(t->targets[i].lat.v);
    free(t->targets);
    for (size_t i = 0; i < t->n_backends; i++) {
        struct tester_backend *b = &t->backends[i];
        free(b->name);
        free(b->lat.v);
        free(b->gaps);
        free(b->recent);
    }
    free(t->backends);
    for (size_t i = 0; i < t->pending_n; i++)
        free(t->pending[i].answered);
    free(t->pending);
    free(t->lat.v);
    free(t->recent_total);
    free(t->ggaps);
    free(t->queue);
    memset(t, 0, sizeof(*t));
}

/* ---- events ------------------------------------------------------------------- */

static void emit(struct tester_tally *t, enum tester_event_kind kind, int64_t time_us,
                 int64_t at_us, int64_t length_us, const char *backend)
{
    struct tester_event e = {
        .kind = kind, .time_us = time_us, .at_us = at_us, .length_us = length_us
    };
    if (backend)
        snprintf(e.backend, sizeof(e.backend), "%s", backend);
    mem_grow((void **)&t->queue, &t->queue_cap, t->queue_n + 1, sizeof(*t->queue));
    t->queue[t->queue_n++] = e;
    t->kept[t->kept_n++ % TESTER_EVENTS_KEPT] = e;
}

bool tester_tally_event(struct tester_tally *t, struct tester_event *out)
{
    if (t->queue_n == 0)
        return false;
    *out = t->queue[0];
    memmove(t->queue, t->queue + 1, (t->queue_n - 1) * sizeof(*t->queue));
    t->queue_n--;
    return true;
}

/* ---- the timeline ------------------------------------------------------------- */

uint64_t tester_gap_threshold(uint64_t rounds_answered, uint64_t span)
{
    double p = (double)rounds_answered / (double)(span + 1);
    if (rounds_answered == 0 || p >= 1)
        return 2;
    double n = ceil(log(GAP_CHANCE) / log(1 - p));
    return n < 2 ? 2 : n > 1e9 ? 1000000000 : (uint64_t)n;
}

bool tester_backend_gone(const struct tester_backend *b)
{
    return b->missing;
}

static void backend_answered(struct tester_tally *t, struct tester_backend *b, int64_t t_us)
{
    if (b->rounds_answered == 0) {
        b->first_seen_us = t_us;
        b->span = 1;
        emit(t, TE_FIRST_SEEN, t_us, t_us, 0, b->name);
    } else {
        b->span += b->silent + 1;
    }
    if (b->missing) {
        struct tester_gap g = { b->silence_start_us, t_us - b->silence_start_us, b->silent };
        size_t cap = b->n_gaps;
        mem_grow((void **)&b->gaps, &cap, b->n_gaps + 1, sizeof(*b->gaps));
        b->gaps[b->n_gaps++] = g;
        b->missing = false;
        emit(t, TE_BACK, t_us, g.start_us, g.length_us, b->name);
    }
    b->rounds_answered++;
    b->silent = 0;
    b->last_seen_us = t_us;
}

static void backend_silent(struct tester_tally *t, struct tester_backend *b, int64_t t_us)
{
    if (b->rounds_answered == 0)
        return; /* created by a sample of a later round */
    if (b->silent == 0)
        b->silence_start_us = t_us;
    b->silent++;
    if (!b->missing && b->silent > tester_gap_threshold(b->rounds_answered, b->span)) {
        b->missing = true;
        emit(t, TE_MISSING, t_us, b->silence_start_us, 0, b->name);
    }
}

/* Every request of the round failed, or not. */
static void global_round(struct tester_tally *t, const struct tester_round *r)
{
    if (r->expected > 0 && r->ok == 0) {
        if (!t->all_failing) {
            size_t cap = t->n_ggaps;
            mem_grow((void **)&t->ggaps, &cap, t->n_ggaps + 1, sizeof(*t->ggaps));
            t->ggaps[t->n_ggaps++] = (struct tester_global_gap){ r->t_us, 0, 0, true };
            t->all_failing = true;
            emit(t, TE_ALL_FAILING, r->t_us, r->t_us, 0, NULL);
        }
        struct tester_global_gap *g = &t->ggaps[t->n_ggaps - 1];
        g->rounds++;
        g->length_us = r->t_us - g->start_us + t->interval_us; /* while open */
    } else if (r->ok > 0 && t->all_failing) {
        struct tester_global_gap *g = &t->ggaps[t->n_ggaps - 1];
        g->length_us = r->t_us - g->start_us;
        g->open = false;
        t->all_failing = false;
        emit(t, TE_ANSWER_AGAIN, r->t_us, g->start_us, g->length_us, NULL);
    }
}

static void finalize(struct tester_tally *t, struct tester_round *r)
{
    size_t slot = (size_t)(t->rounds_final % t->window);
    t->rounds_final++;
    t->last_round_us = r->t_us;
    global_round(t, r);
    uint32_t *count = mem_calloc(t->n_backends, sizeof(*count));
    for (size_t i = 0; i < r->n_answered; i++)
        count[r->answered[i]]++;
    t->recent_total_sum -= t->recent_total[slot];
    t->recent_total[slot] = r->n_answered;
    t->recent_total_sum += r->n_answered;
    if (r->n_answered)
        t->answered_rounds++;
    for (size_t i = 0; i < t->n_backends; i++) {
        struct tester_backend *b = &t->backends[i];
        b->recent_sum -= b->recent[slot];
        b->recent[slot] = count[i];
        b->recent_sum += count[i];
        if (count[i])
            backend_answered(t, b, r->t_us);
        else if (r->n_answered)
            backend_silent(t, b, r->t_us);
    }
    free(count);
    free(r->answered);
}

/* Finalizes the oldest rounds while they are complete (or all, with force). */
static void finalize_ready(struct tester_tally *t, bool force)
{
    size_t n = 0;
    while (n < t->pending_n && (force || t->pending[n].done >= t->pending[n].expected))
        finalize(t, &t->pending[n++]);
    if (n == 0)
        return;
    memmove(t->pending, t->pending + n, (t->pending_n - n) * sizeof(*t->pending));
    t->pending_n -= n;
    t->next_final += n;
}

void tester_tally_round(struct tester_tally *t, uint64_t round, int64_t t_us, unsigned n)
{
    (void)round; /* always next_final + pending_n: rounds come in order */
    mem_grow((void **)&t->pending, &t->pending_cap, t->pending_n + 1, sizeof(*t->pending));
    size_t i = t->pending_n++;
    t->pending[i] =
        (struct tester_round){ .round = t->next_final + i, .t_us = t_us, .expected = n };
    finalize_ready(t, false);
}

void tester_tally_flush(struct tester_tally *t)
{
    finalize_ready(t, true);
}

/* ---- samples ------------------------------------------------------------------ */

static size_t backend_index(struct tester_tally *t, const char *name)
{
    for (size_t i = 0; i < t->n_backends; i++)
        if (strcmp(t->backends[i].name, name) == 0)
            return i;
    if (t->n_backends >= BACKENDS_MAX)
        name = "(other)";
    for (size_t i = 0; i < t->n_backends; i++) /* "(other)" may exist already */
        if (strcmp(t->backends[i].name, name) == 0)
            return i;
    mem_grow((void **)&t->backends, &t->cap_backends, t->n_backends + 1, sizeof(*t->backends));
    struct tester_backend *b = &t->backends[t->n_backends];
    memset(b, 0, sizeof(*b));
    b->name = mem_strdup(name);
    b->recent = mem_calloc(t->window, sizeof(*b->recent));
    return t->n_backends++;
}

void tester_tally_add(struct tester_tally *t, const struct tester_sample *s)
{
    enum tester_outcome o = (unsigned)s->outcome < TO_COUNT ? s->outcome : TO_OTHER;
    t->requests++;
    t->outcomes[o]++;
    if (o != TO_OK)
        t->failed++;
    struct tester_target_tally *tt = s->target < t->n_targets ? &t->targets[s->target] : NULL;
    if (tt) {
        tt->requests++;
        tt->outcomes[o]++;
    }
    size_t bi = SIZE_MAX;
    if (s->status > 0) { /* a response */
        lat_add(&t->lat, s->latency_us);
        if (tt)
            lat_add(&tt->lat, s->latency_us);
        bi = backend_index(t, s->backend && *s->backend ? s->backend : "(unknown)");
        struct tester_backend *b = &t->backends[bi];
        b->answers++;
        int c = (int)(s->status / 100) - 2;
        b->status[c < 0 ? 0 : c > 3 ? 3 : c]++;
        lat_add(&b->lat, s->latency_us);
    }
    if (s->round < t->next_final || s->round - t->next_final >= t->pending_n)
        return; /* a round already flushed */
    struct tester_round *r = &t->pending[s->round - t->next_final];
    r->done++;
    if (o == TO_OK)
        r->ok++;
    if (bi != SIZE_MAX) {
        mem_grow((void **)&r->answered, &r->cap_answered, r->n_answered + 1, sizeof(*r->answered));
        r->answered[r->n_answered++] = bi;
    }
    finalize_ready(t, false);
}
