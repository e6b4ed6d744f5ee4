/* render: maglevd's answers as text for people (render.c: the state views;
 * render_event.c: times, events, config results, errors; render_vpp.c:
 * the VPP connection, its LB state, sync and plan results). Pure: a message in, lines
 * appended to a strbuf; no I/O, and the current time comes in the options
 * (ages like "3s ago"). Local time comes from localtime_r (TZ).
 *
 * Tables are aligned on visible width (see table.h), with or without
 * colour: labels dark blue, states up green / down red / others yellow,
 * errors red. */
#ifndef MAGLEV_CLI_RENDER_H
#define MAGLEV_CLI_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"
#include "maglev.pb-c.h"

struct render_opts {
    bool color;
    int64_t now_us; /* wall clock, µs since the epoch */
};

/* Local time "2025-03-01 12:34:56.789"; "-" for 0. */
void render_time(char *buf, size_t len, int64_t time_us);
/* A duration: "850µs", "1.2ms", "2.50s", "3m12s", "2h05m", "3d04h". */
void render_duration(char *buf, size_t len, int64_t us);
/* How long ago: "0.4s ago", "12s ago", "3m12s ago"; "never" for 0. */
void render_age(char *buf, size_t len, int64_t then_us, int64_t now_us);

/* Client identity plus the server's VersionInfo (NULL: not reachable). */
struct client_version {
    const char *version, *commit, *build_date;
};
void render_version(struct strbuf *sb, const struct render_opts *o,
                    const struct client_version *client, const Maglev__VersionInfo *server);

/* One row per frontend; the VPP column sums up its backends' VPP status:
 * "ok" (all applied, green), "N pending" (yellow), "N failed" (red, with
 * ", M pending" when both), "held" (the warm-up holds the VIP), "-" (the VPP
 * integration is disabled). */
void render_frontends(struct strbuf *sb, const struct render_opts *o,
                      const Maglev__ListFrontendsResponse *r);
/* Hierarchical: the frontend (with "(held by the warm-up: ...)" while the
 * warm-up holds its VIP), its pools (the active one marked), each pool's
 * backends with configured/effective weight, state, whether VPP has the
 * effective weight ("vpp applied" green, "vpp pending" yellow, "vpp failed"
 * red, with "OLD→NEW" when VPP's known weight differs; no such column when
 * the VPP integration is disabled), and the markers [disabled], [flushed]
 * and [weight override] (set at run time); under a failed backend a red
 * "error: ..." line with VPP's answer. */
void render_frontend(struct strbuf *sb, const struct render_opts *o, const Maglev__Frontend *f);

void render_backends(struct strbuf *sb, const struct render_opts *o,
                     const Maglev__ListBackendsResponse *r);
/* Every field, the last probe (code, detail, age, duration) and the
 * transition history with times. */
void render_backend(struct strbuf *sb, const struct render_opts *o, const Maglev__Backend *b);
/* One line after an operator action: "backend b1 paused (state paused)". */
void render_backend_action(struct strbuf *sb, const struct render_opts *o, const char *done,
                           const Maglev__Backend *b);

void render_healthchecks(struct strbuf *sb, const struct render_opts *o,
                         const Maglev__ListHealthChecksResponse *r);
void render_healthcheck(struct strbuf *sb, const struct render_opts *o,
                        const Maglev__HealthCheck *h);

/* "OK  path" with the summary (and for a reload what changed), or "FAILED"
 * with the stage and the error list. */
void render_config_result(struct strbuf *sb, const struct render_opts *o,
                          const Maglev__ConfigResult *r, bool reload);

/* One line for a WatchEvents event (with newline): backend and frontend
 * transitions, log records, and the weight changes maglevd made in VPP
 * ("vpp      web b2 (198.18.2.2) weight 50→0 flush trigger health took
 * 1.474ms", then "dry-run" and a red "error: ..." when set). */
void render_event(struct strbuf *sb, const struct render_opts *o, const Maglev__Event *e);

/* ---- VPP (render_vpp.c) ---- */

/* GetVPPInfo: "vpp STATE" (connected green, incompatible red, others
 * yellow), then the connection's fields; "last error" only when set. */
void render_vpp_info(struct strbuf *sb, const struct render_opts *o, const Maglev__VPPInfo *i);
/* show mass-failure, set mass-failure release */
void render_mass_failure(struct strbuf *sb, const struct render_opts *o,
                         const Maglev__MassFailureGuard *g);

/* GetVPPLBState: the "lb conf" block, then per VIP a "vip PREFIX PROTO:PORT
 * frontend NAME" line, its attributes, and one "address A weight W buckets
 * B" line per AS in the order received (" removed" for an inactive one).
 * The layout is documented in maglevc(1) and kept stable. */
void render_vpp_lb_state(struct strbuf *sb, const struct render_opts *o,
                         const Maglev__VPPLBState *s);

/* GetVPPLBCounters: a "stats ADDRESS STATUS" header (ok green, stale
 * yellow) with the sampling time, interval and last error, then per VIP a
 * "vip PREFIX PROTO:PORT frontend NAME index N" line and one line per
 * counter: name, packets, rate ("-" while unknown); then the prefix's
 * route counters (route-packets, route-bytes, same columns) or "route
 * unknown (WHY)". maglevc(1) documents the layout. */
void render_vpp_lb_counters(struct strbuf *sb, const struct render_opts *o,
                            const Maglev__VPPLBCounters *c);

/* SyncVPPLBState (plan false) or PlanVPPLBState (plan true): a "sync:" or
 * "plan:" header, one line per operation (a failed one with its error in
 * red), a summary with the count and the duration. */
/* One VIP's moves: "frontend web vip 192.0.2.1/32 tcp:80: moves 62/1024
 * buckets (6.1%), least possible 41 (4.0%)". */
void render_disruption(struct strbuf *sb, const struct render_opts *o,
                       const Maglev__VPPLBDisruption *d);
/* plan set ...: what: "disable backend b1", ... */
void render_plan_change(struct strbuf *sb, const struct render_opts *o, const char *what,
                        const Maglev__PlanChangeResult *r);
void render_vpp_sync(struct strbuf *sb, const struct render_opts *o,
                     const Maglev__VPPLBSyncResult *r, bool plan);

/* "error: msg\n", red when colour is on. */
void render_error(struct strbuf *sb, bool color, const char *msg);

#endif
