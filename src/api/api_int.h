/* Internal to src/api: the service's shared state and parts. */
#ifndef MAGLEV_API_API_INT_H
#define MAGLEV_API_API_INT_H

#include "api/grpc_server.h"
#include "core/core.h"

struct events;

struct api {
    struct core *core;
    struct api_server *server;
    struct events *events;
};

/* A name taken from a request, as shown in errors and logs: at most
 * API_NAME_SHOWN bytes (cut at a UTF-8 character boundary) followed by
 * "..." when longer. name itself when short enough, else buf. A shown name
 * that was cut is longer than any config name (CONFIG_NAME_MAX), so looking
 * it up still finds nothing. */
#define API_NAME_SHOWN 128
#define API_NAME_BUF   (API_NAME_SHOWN + 4)
const char *api_name_shown(const char *name, char buf[API_NAME_BUF]);

/* handlers.c: the method table, in the service's order */
extern const struct api_method api_methods[];
extern const size_t api_n_methods;

/* vpp_handlers.c: the VPP RPCs */
void api_vpp_get_info(struct api_call *call, const ProtobufCMessage *req, void *ctx);
void api_vpp_get_lb_state(struct api_call *call, const ProtobufCMessage *req, void *ctx);
void api_vpp_get_lb_counters(struct api_call *call, const ProtobufCMessage *req, void *ctx);
void api_vpp_sync(struct api_call *call, const ProtobufCMessage *req, void *ctx);
void api_vpp_plan(struct api_call *call, const ProtobufCMessage *req, void *ctx);

/* change_handlers.c: what operator changes move in VPP's tables */
struct arena;
struct Maglev__VPPLBDisruption;
struct Maglev__VPPLBDisruption *api_build_disruption(struct arena *a, const char *frontend,
                                                     const struct lb_vip_key *vip,
                                                     const struct lb_mg_disruption *d);
void api_plan_change(struct api_call *call, const ProtobufCMessage *req, void *ctx);
/* max_pct > 0: fails the call (FAILED_PRECONDITION, naming the frontend,
 * the moves and the limit; or as core_plan_change fails) and returns
 * false when ch would move more than max_pct % of a VIP's table. what:
 * the action as the message and the log show it. */
bool api_disruption_allowed(struct api_call *call, struct core *c, const struct core_change *ch,
                            double max_pct, const char *what);

/* events.c: WatchEvents subscribers */
struct events *api_events_new(struct api *api);
void api_events_free(struct events *ev);
void api_events_watch(struct api_call *call, const ProtobufCMessage *req, void *ctx);
/* Subscribers (open WatchEvents streams); loop thread. */
size_t api_events_count(const struct events *ev);

#endif
