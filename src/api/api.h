/* api: the maglev.Maglev gRPC service on top of the daemon core. */
#ifndef MAGLEV_API_API_H
#define MAGLEV_API_API_H

#include <stddef.h>
#include <stdint.h>

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

/* ---- metrics (NULL-safe: no API, nothing counted) ---- */

/* Calls ended since start: fn for every (method, gRPC status name) with a
 * non-zero count. Any thread (the counts are atomics, see grpc_server.h). */
typedef void (*api_request_count_fn)(void *ctx, const char *method, const char *code, uint64_t n);
void api_request_counts(const struct api *api, api_request_count_fn fn, void *ctx);
/* WatchEvents streams open now. Loop thread. */
size_t api_event_streams(const struct api *api);

#endif
