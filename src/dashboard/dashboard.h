/* dashboard: a live, read-only web page served by maglevd on the metrics
 * listeners (--metrics-addr), the door of src/dashboard.
 *
 *   GET /             the page (index.html, app.js, style.css embedded in
 *                     the binary at build time: no CDN, no internet)
 *   GET /api/state    everything below in one object (what /events sends
 *                     first)
 *   GET /api/version, /api/frontends, /api/backends, /api/vpp
 *                     read-only JSON views of the core (docs/dashboard.md)
 *   GET /events       Server-Sent Events: a snapshot, then changes
 *
 * Everything runs on the libev loop (libmicrohttpd has no thread of its
 * own, see metrics.h): the views read the core's state directly. Nothing
 * here changes state. An event stream waits as a suspended connection
 * with a bounded queue of its own; a client whose queue overflows is
 * closed, the loop never waits for it. */
#ifndef MAGLEV_DASHBOARD_DASHBOARD_H
#define MAGLEV_DASHBOARD_DASHBOARD_H

#include <stdbool.h>
#include <stddef.h>

struct core;
struct metrics;

#define DASHBOARD_MAX_CLIENTS 16 /* event streams at once, all listeners */

struct dashboard;

/* Observes core and serves the page on m's listeners (metrics_set_route;
 * before metrics_serve). Free after metrics_stop, before core_free. */
struct dashboard *dashboard_new(struct core *core, struct metrics *m);
void dashboard_free(struct dashboard *d);

/* Event streams connected now; clients closed for being too slow. */
size_t dashboard_clients(const struct dashboard *d);
/* Tests: the messages an event stream may have queued (2..512). */
void dashboard_set_queue_msgs(struct dashboard *d, size_t n);
unsigned long dashboard_dropped(const struct dashboard *d);

/* Whether every address of a --metrics-addr list ("HOST:PORT,...") is a
 * loopback address (127.0.0.0/8, ::1, localhost). ":PORT" (every address)
 * is not. Pure. */
bool dashboard_addrs_loopback(const char *addrs);

#endif
