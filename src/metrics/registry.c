/* registry.c: the registry of families and the rendering of a scrape in
 * slices (see metrics.h). Loop thread. A slice writes items until its
 * loop-time budget is spent (checked every 32 items), so a scrape of a
 * large config never holds the loop for long: between slices the loop
 * serves probes, VPP and the API. */
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/mem.h"
#include "metrics/metrics_int.h"

void metrics_add_families(struct metrics *m, const struct metrics_family *f, size_t n, void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        mem_grow((void **)&m->v, &m->cap, m->n + 1, sizeof(*m->v));
        m->v[m->n++] = (struct metrics_entry){ &f[i], ctx };
    }
}

void metrics_set_epoch(struct metrics *m, uint64_t (*epoch)(void *ctx), void *ctx)
{
    m->epoch = epoch;
    m->epoch_ctx = ctx;
}

static uint64_t epoch_now(const struct metrics *m)
{
    return m->epoch ? m->epoch(m->epoch_ctx) : 0;
}

void metrics_scrape_init(struct metrics *m, struct metrics_scrape *s, bool openmetrics)
{
    memset(s, 0, sizeof(*s));
    s->m = m;
    mx_init(&s->w, openmetrics);
    s->epoch = epoch_now(m);
}

void metrics_scrape_clear(struct metrics_scrape *s)
{
    mx_free(&s->w);
}

static void finish(struct metrics_scrape *s)
{
    mx_finish(&s->w);
    s->done = true;
    s->m->scrapes++;
    s->m->last_render_s = s->render_s;
    s->m->last_slice_s = s->slice_max_s;
}

void metrics_scrape_slice(struct metrics_scrape *s, int64_t budget_us)
{
    if (s->done)
        return;
    if (epoch_now(s->m) != s->epoch) { /* the config changed under the scrape */
        s->done = s->failed = true;
        return;
    }
    int64_t t0 = clock_mono_us(), t = t0;
    unsigned k = 0;
    while (s->fam < s->m->n && t - t0 < budget_us) {
        const struct metrics_entry *e = &s->m->v[s->fam];
        if (!s->in_family) {
            mx_family(&s->w, e->f->name, e->f->type, e->f->help);
            s->n_items = e->f->count ? e->f->count(e->ctx) : 1;
            s->item = 0;
            s->in_family = true;
        }
        while (s->item < s->n_items) {
            e->f->item(e->ctx, &s->w, s->item++);
            if (++k % 32 == 0 && (t = clock_mono_us()) - t0 >= budget_us)
                break;
        }
        if (s->item == s->n_items) {
            s->in_family = false;
            s->fam++;
        }
        t = clock_mono_us();
    }
    double took = (double)(t - t0) / 1e6;
    s->render_s += took;
    if (took > s->slice_max_s)
        s->slice_max_s = took;
    if (s->fam == s->m->n)
        finish(s);
}

char *metrics_render(struct metrics *m, bool openmetrics, size_t *len)
{
    struct metrics_scrape s;
    metrics_scrape_init(m, &s, openmetrics);
    metrics_scrape_slice(&s, INT64_MAX / 2);
    char *t = mx_detach(&s.w, len);
    metrics_scrape_clear(&s);
    return t;
}

double metrics_last_render_seconds(const struct metrics *m)
{
    return m->last_render_s;
}

double metrics_last_slice_seconds(const struct metrics *m)
{
    return m->last_slice_s;
}

uint64_t metrics_scrapes(const struct metrics *m)
{
    return m->scrapes;
}

double metrics_loop_seconds(const struct metrics *m)
{
    return m->loop_s;
}

/* ---- the endpoint's own families ---- */

static void self_scrapes(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    mx_sample_u64(w, NULL, 0, ((const struct metrics *)ctx)->scrapes);
}

static void self_render(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    mx_sample_double(w, NULL, 0, ((const struct metrics *)ctx)->last_render_s);
}

static void self_slice(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    mx_sample_double(w, NULL, 0, ((const struct metrics *)ctx)->last_slice_s);
}

static void self_loop(void *ctx, struct mx_writer *w, size_t i)
{
    (void)i;
    mx_sample_double(w, NULL, 0, ((const struct metrics *)ctx)->loop_s);
}

static const struct metrics_family self_families[] = {
    { "maglev_metrics_scrapes", MX_COUNTER, "Scrapes of /metrics rendered.", NULL, self_scrapes },
    { "maglev_metrics_last_render_seconds", MX_GAUGE,
      "Loop time the previous scrape took to render (all its slices).", NULL, self_render },
    { "maglev_metrics_last_render_slice_seconds", MX_GAUGE,
      "The longest slice of the previous scrape: the longest the loop was held by it.", NULL,
      self_slice },
    { "maglev_metrics_http_loop_seconds", MX_COUNTER,
      "Loop time spent serving the metrics endpoint (HTTP and rendering).", NULL, self_loop },
};

struct metrics *metrics_new(struct ev_loop *loop)
{
    struct metrics *m = mem_calloc(1, sizeof(*m));
    m->loop = loop;
    m->beat = ev_time();
    metrics_add_families(m, self_families, sizeof(self_families) / sizeof(self_families[0]), m);
    return m;
}
