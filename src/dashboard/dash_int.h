/* Internal to src/dashboard: the views (views.c), the event streams
 * (sse.c) and the server around them (dashboard.c). */
#ifndef MAGLEV_DASHBOARD_DASH_INT_H
#define MAGLEV_DASHBOARD_DASH_INT_H

#include <ev.h>
#include <stdint.h>

#include "core/core.h"
#include "dashboard/dashboard.h"
#include "dashboard/jw.h"

#define DASH_HISTORY     10         /* transitions per backend in the views */
#define DASH_QUEUE_BYTES (4u << 20) /* an event stream's queue ... */
#define DASH_QUEUE_MSGS  512        /* ... at most; beyond, the client is closed */
#define DASH_COALESCE_S  0.05       /* changes within this are sent as one update */
#define DASH_TICK_S      1.0        /* new probe results, VPP, safety-net diff */
#define DASH_KEEPALIVE   15         /* ticks between keep-alive comments */

/* ---- views.c: JSON of the core's state (loop thread) ---- */

void dash_view_version(struct jw *w, const struct core *c);
void dash_view_frontend(struct jw *w, const struct core *c, size_t i);
void dash_view_backend(struct jw *w, const struct core *c, size_t i);
void dash_view_vpp(struct jw *w, const struct core *c);
/* A whole document: {"now_ms":..., <what>} where what is "version",
 * "frontends", "backends", "vpp" or "state" (all four). NULL when what is
 * none of those. free() it. */
char *dash_view_doc(const struct core *c, const char *what, size_t *len);
/* Fingerprints of what the page shows of frontend i and backend i, to find
 * changes no observer reported (the tick). */
uint64_t dash_fp_frontend(const struct core *c, size_t i);
uint64_t dash_fp_backend(const struct core *c, size_t i);

/* ---- sse.c: event-stream clients ---- */

struct dash_msg; /* a refcounted chunk of the stream, shared by clients */
struct dash_client;
struct MHD_Connection;
struct MHD_Response;

struct dash_msg *dash_msg_new(const char *data, size_t len);
void dash_msg_unref(struct dash_msg *m);
/* A client on conn with its first message (taken); the response to queue
 * (its free callback unlinks the client). */
struct MHD_Response *dash_client_new(struct dashboard *d, struct MHD_Connection *conn,
                                     struct dash_msg *first);
/* Queues m (a reference is taken) for every client; a client whose queue
 * is full is closed. */
void dash_broadcast(struct dashboard *d, struct dash_msg *m);
/* Closes every client (at stop). */
void dash_close_all(struct dashboard *d);

struct dashboard {
    struct core *core;
    struct metrics *metrics;
    struct ev_loop *loop;
    struct core_observer obs;
    struct dash_client *clients;
    size_t n_clients;
    unsigned long dropped;
    size_t queue_msgs; /* DASH_QUEUE_MSGS, or a test's */
    bool stopping;
    /* changes not sent yet (config indexes) */
    size_t n_fe, n_be;
    uint8_t *fe_dirty, *be_dirty;
    uint64_t *fe_fp, *be_fp; /* what was last sent */
    bool need_snapshot, dirty;
    char *vpp_sent;     /* the VPP view last sent */
    int64_t lbctr_seen; /* the LB counters' reading the frontends were sent with */
    ev_timer flush, tick;
    unsigned ticks;
};

#endif
