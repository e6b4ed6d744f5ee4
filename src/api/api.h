/* api: the maglev.Maglev gRPC service on top of the daemon core. */
#ifndef MAGLEV_API_API_H
#define MAGLEV_API_API_H

#include <stddef.h>

struct core;
struct api;

/* Connection limits of the listeners (see grpc_server.h, "Connections");
 * 0 for any: the default. */
struct api_limits {
    unsigned max_conns;
    unsigned handshake_ms;
    unsigned idle_ms;
};

/* Starts the listeners in addrs (see grpc_server.h); "" starts nothing and
 * returns 0 with *out NULL. lim may be NULL (defaults). Returns -errno with
 * err set on failure. */
int api_start(struct core *core, const char *addrs, const struct api_limits *lim, struct api **out,
              char *err, size_t errlen);
/* Ends every stream and call, stops the server. Safe with NULL. */
void api_stop(struct api *api);

#endif
