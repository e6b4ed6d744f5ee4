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

/* handlers.c: the method table, in the service's order */
extern const struct api_method api_methods[];
extern const size_t api_n_methods;

/* vpp_handlers.c: the VPP RPCs */
void api_vpp_get_info(struct api_call *call, const ProtobufCMessage *req, void *ctx);
void api_vpp_get_lb_state(struct api_call *call, const ProtobufCMessage *req, void *ctx);
void api_vpp_sync(struct api_call *call, const ProtobufCMessage *req, void *ctx);
void api_vpp_plan(struct api_call *call, const ProtobufCMessage *req, void *ctx);

/* events.c: WatchEvents subscribers */
struct events *api_events_new(struct api *api);
void api_events_free(struct events *ev);
void api_events_watch(struct api_call *call, const ProtobufCMessage *req, void *ctx);

#endif
