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

/* events.c: WatchEvents subscribers */
struct events *api_events_new(struct api *api);
void api_events_free(struct events *ev);
void api_events_watch(struct api_call *call, const ProtobufCMessage *req, void *ctx);
/* Subscribers (open WatchEvents streams); loop thread. */
size_t api_events_count(const struct events *ev);

#endif
