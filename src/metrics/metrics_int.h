/* Internal to src/metrics: the registry and a scrape in progress, shared
 * by registry.c (rendering) and http.c (serving). */
#ifndef MAGLEV_METRICS_METRICS_INT_H
#define MAGLEV_METRICS_METRICS_INT_H

#include <ev.h>

#include "metrics/metrics.h"

#define METRICS_MAX_LISTENERS 16
#define METRICS_SLICE_US      2000 /* loop time of one slice of a scrape */

struct metrics_entry {
    const struct metrics_family *f;
    void *ctx;
};

struct metrics_server {
    struct metrics *m;
    struct MHD_Daemon *d;
    ev_io io;
    ev_timer timer;
    char name[80];
};

struct metrics {
    struct ev_loop *loop;
    struct metrics_entry *v;
    size_t n, cap;
    uint64_t (*epoch)(void *ctx);
    void *epoch_ctx;
    struct metrics_server srv[METRICS_MAX_LISTENERS];
    size_t n_srv;
    ev_timer heartbeat;
    ev_tstamp beat; /* ev_time() of the last heartbeat */
    double last_render_s, last_slice_s;
    uint64_t scrapes;
    double loop_s;              /* loop time in MHD_run (rendering included) */
    bool slice_ok;              /* this MHD_run may still render a slice */
    bool want_slice;            /* a scrape waits for the next MHD_run to render */
    struct metrics_route route; /* handle NULL: none (metrics_set_route) */
};

/* A scrape: the families rendered in order, item by item, into w; the
 * text is handed out (HTTP) and dropped slice by slice. */
struct metrics_scrape {
    struct metrics *m;
    struct mx_writer w;
    size_t off; /* of w's text, handed out */
    size_t fam, item, n_items;
    bool in_family;
    uint64_t epoch;
    double render_s, slice_max_s;
    bool done, failed;
};

void metrics_scrape_init(struct metrics *m, struct metrics_scrape *s, bool openmetrics);
/* Renders on (appending to s->w) for about budget_us of loop time, or to
 * the end. */
void metrics_scrape_slice(struct metrics_scrape *s, int64_t budget_us);
void metrics_scrape_clear(struct metrics_scrape *s);

#endif
