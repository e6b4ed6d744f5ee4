/* metrics: the Prometheus endpoint, the door of src/metrics.
 *
 * Three parts:
 *   - expo.c, PURE: the exposition writer (text format 0.0.4 and
 *     OpenMetrics 1.0.0): families, series, label escaping, histograms.
 *   - registry.c: the registry of families (struct metrics_family) and
 *     the rendering of a scrape, in time-bounded slices.
 *   - collect*.c: the daemon's families, read through core's views (and
 *     the API's counters through api.h). Another source of families
 *     (e.g. the VPP stats-segment reader's per-VIP counters) is one more
 *     metrics_add_families call.
 *   - http.c: libmicrohttpd with no thread of its own. Its epoll
 *     descriptor is watched by an ev_io on the daemon's libev loop,
 *     MHD_run is called on readiness and when MHD_get_timeout's ev_timer
 *     fires; so every request handler, and every collector, runs on the
 *     loop thread, which owns all state: no lock, no copy, no race.
 *
 * Served: GET (and HEAD) /metrics — 0.0.4, or OpenMetrics when the
 * scraper's Accept asks for application/openmetrics-text — and /healthz
 * (200 "ok" while the loop turns: a 1 s heartbeat timer fired within the
 * last 5 s; 503 otherwise). Other paths go to the route set with
 * metrics_set_route (the dashboard, src/dashboard), else 404; other
 * methods 405. */
#ifndef MAGLEV_METRICS_METRICS_H
#define MAGLEV_METRICS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct core;
struct api;

/* ---- the exposition writer (pure) ---- */

enum mx_type { MX_COUNTER, MX_GAUGE, MX_HISTOGRAM };

struct mx_label {
    const char *name;
    const char *value;
};

struct mx_writer {
    char *buf; /* NUL-terminated once something is written */
    size_t len, cap;
    bool openmetrics;
    /* the family being written */
    const char *family;
    enum mx_type type;
    size_t n_labels; /* of the series being written */
    size_t series;   /* samples written, all families */
};

void mx_init(struct mx_writer *w, bool openmetrics);
void mx_free(struct mx_writer *w);
/* Hands the text to the caller (free()); the writer is reset. After
 * mx_finish. */
char *mx_detach(struct mx_writer *w, size_t *len);

/* Starts a family: "# HELP" and "# TYPE" lines. name is the family name:
 * for a counter WITHOUT "_total" (the samples get it; the TYPE line has it
 * in 0.0.4, not in OpenMetrics). name and help must stay valid until the
 * next family. */
void mx_family(struct mx_writer *w, const char *name, enum mx_type type, const char *help);

/* A sample, piece by piece (the fast path): mx_begin writes the sample
 * name (family + "_total" for counters, + suffix when not NULL, e.g.
 * "_bucket"), mx_label adds a label (value escaped: \\ \" \n), mx_end_*
 * closes the labels and writes the value. */
void mx_begin(struct mx_writer *w, const char *suffix);
void mx_label(struct mx_writer *w, const char *name, const char *value);
void mx_end_u64(struct mx_writer *w, uint64_t v);
void mx_end_i64(struct mx_writer *w, int64_t v);
void mx_end_double(struct mx_writer *w, double v);

/* A whole sample with n labels. */
void mx_sample_u64(struct mx_writer *w, const struct mx_label *l, size_t n, uint64_t v);
void mx_sample_double(struct mx_writer *w, const struct mx_label *l, size_t n, double v);

/* A histogram's series with labels l: counts[i] (per bucket, NOT
 * cumulative) of values <= bounds[i] (ascending), counts[n_bounds] those
 * above every bound. Writes the cumulative _bucket series, le="+Inf"
 * (the total), _sum and _count. */
void mx_histogram(struct mx_writer *w, const struct mx_label *l, size_t n, const double *bounds,
                  size_t n_bounds, const uint64_t *counts, double sum);

/* Ends the exposition ("# EOF" in OpenMetrics). */
void mx_finish(struct mx_writer *w);

/* Appends v formatted as the formats want a float ("+Inf", "-Inf", "NaN",
 * an integer without exponent when exact, else the shortest of %.15g /
 * %.17g that reads back as v). For tests. */
void mx_format_double(struct mx_writer *w, double v);
/* Appends s escaped as a label value. */
void mx_escape_label(struct mx_writer *w, const char *s);

/* The Content-Type of a scrape. */
#define MX_CONTENT_TYPE_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define MX_CONTENT_TYPE_OM   "application/openmetrics-text; version=1.0.0; charset=utf-8"
/* Whether an Accept header asks for OpenMetrics (pure). */
bool mx_accepts_openmetrics(const char *accept);

/* ---- the registry and the endpoint ---- */

/* A family of the registry: its samples are written item by item (a
 * backend, a frontend, a healthcheck type ...), so that a scrape of a
 * large config is rendered in slices of a few milliseconds between which
 * the loop serves probes and everything else. Runs on the loop thread. */
struct metrics_family {
    const char *name; /* without "_total" for counters */
    enum mx_type type;
    const char *help;
    /* items now; NULL: one. 0: the family has no samples now */
    size_t (*count)(void *ctx);
    /* the samples of item i (mx_begin/mx_label/mx_end_*, mx_histogram) */
    void (*item)(void *ctx, struct mx_writer *w, size_t i);
};

struct metrics;
struct metrics_listeners;

/* Parses a listener list ("HOST:PORT,[::1]:PORT"; "" = none: 0 with *out
 * NULL) and binds and listens on every one. -errno with err naming the
 * address and the problem ("127.0.0.1:9091: address already in use").
 * Done before the loop starts, so that a bad address stops maglevd at
 * once. */
int metrics_listen(const char *addrs, struct metrics_listeners **out, char *err, size_t errlen);
void metrics_listeners_free(struct metrics_listeners *l);

/* The registry (with its own families: scrapes, render time) and the
 * heartbeat /healthz checks, on loop. */
struct metrics *metrics_new(struct ev_loop *loop);
/* Adds families (in scrape order; f[] must outlive m), with the ctx their
 * callbacks get. */
void metrics_add_families(struct metrics *m, const struct metrics_family *f, size_t n, void *ctx);
/* What a scrape's slices must agree on: when epoch(ctx) changes between
 * two slices (the daemon: a config reload, which renumbers backends and
 * frontends) the scrape is cut short with an error and the scraper tries
 * again at its next interval. NULL: never. */
void metrics_set_epoch(struct metrics *m, uint64_t (*epoch)(void *ctx), void *ctx);
/* The daemon's families (collect.c, collect_vpp.c): build info, config
 * reloads, backends and probes, frontends and weights (and the epoch);
 * VPP (no samples when the integration is off); the API (api may be
 * NULL). */
void metrics_add_daemon(struct metrics *m, struct core *core);
void metrics_add_vpp(struct metrics *m, struct core *core);
void metrics_add_api(struct metrics *m, struct api *api);
/* VPP's LB per-VIP counters from the stats segment (collect_lbctr.c):
 * maglev_vpp_lb_vip_packets_total{frontend,counter},
 * maglev_vpp_vip_route_packets_total{frontend,prefix},
 * maglev_vpp_vip_route_bytes_total{frontend,prefix},
 * maglev_vpp_lb_counters_up. */
void metrics_add_vpp_lb(struct metrics *m, struct core *core);

/* Another module's pages on the same listeners (src/dashboard): handle is
 * called on the loop for a GET or HEAD of any path but /metrics and
 * /healthz, with libmicrohttpd's connection; it queues a response and
 * returns its MHD_Result (MHD_YES/MHD_NO), or METRICS_ROUTE_NONE for the
 * endpoint's 404. The listeners allow suspended connections (server-sent
 * events wait suspended); stop is called before they close, to resume
 * every connection the route suspended. Set before metrics_serve. */
struct MHD_Connection;
#define METRICS_ROUTE_NONE (-1)
struct metrics_route {
    int (*handle)(void *ctx, struct MHD_Connection *conn, const char *url, const char *method);
    void (*stop)(void *ctx);
    void *ctx;
};
void metrics_set_route(struct metrics *m, const struct metrics_route *r);
/* Runs libmicrohttpd at the loop's next iteration (a route resumed a
 * connection: MHD takes resumed connections back in MHD_run, and with no
 * thread of its own nothing else would call it before network activity). */
void metrics_wake(struct metrics *m);

/* Serves /metrics and /healthz on the listeners (taking them) from the
 * loop. 0, or -errno with err. */
int metrics_serve(struct metrics *m, struct metrics_listeners *l, char *err, size_t errlen);
/* A whole scrape's text at once, without HTTP (benchmarks, tests): free()
 * it. */
char *metrics_render(struct metrics *m, bool openmetrics, size_t *len);
/* Loop time the last scrape took to render, all slices (seconds); the
 * longest slice of it; scrapes rendered. */
double metrics_last_render_seconds(const struct metrics *m);
double metrics_last_slice_seconds(const struct metrics *m);
uint64_t metrics_scrapes(const struct metrics *m);
/* Loop time spent in libmicrohttpd (HTTP and rendering), seconds. */
double metrics_loop_seconds(const struct metrics *m);
/* Stops serving, closes. NULL-safe. */
void metrics_stop(struct metrics *m);

#endif
