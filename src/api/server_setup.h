/* server_setup: the parts of starting grpc_server.c that need no gRPC: the
 * method table and the listener list (socket directories, lock files).
 * Internal to src/api. */
#ifndef MAGLEV_API_SERVER_SETUP_H
#define MAGLEV_API_SERVER_SETUP_H

#include <stdbool.h>
#include <stddef.h>

#include "api/grpc_server.h"

/* One method of the service. */
struct api_route {
    char *path; /* "/maglev.Maglev/GetVersion" */
    const ProtobufCMethodDescriptor *desc;
    api_handler_fn fn; /* NULL: UNIMPLEMENTED */
    bool stream;
};

/* One route per method of o->service, with the handlers of o->methods.
 * -EINVAL (err set) for a handler naming no method, or one given twice. */
int api_routes_build(const struct api_server_opts *o, struct api_route **out, size_t *n, char *err,
                     size_t errlen);
void api_routes_free(struct api_route *r, size_t n);

struct api_listener {
    char *addr;            /* trimmed: "unix:/run/vpp-maglev/maglevd.sock", "[::1]:9090" */
    const char *unix_path; /* into addr; NULL for TCP */
    int lock_fd;           /* PATH.lock, held; -1 for TCP */
};

/* Splits the comma-separated list; for each unix listener creates the
 * directory (0750) when missing and takes PATH.lock (flock, LOCK_NB; our pid
 * written in it). 0, or -errno with err naming the listener and the fix;
 * nothing is held on failure. */
int api_listeners_prepare(const char *addrs, struct api_listener **out, size_t *n, char *err,
                          size_t errlen);
/* Removes the socket files (when unlink_sockets; the locks still held) and
 * releases the locks. Safe with NULL. */
void api_listeners_release(struct api_listener *l, size_t n, bool unlink_sockets);

#endif
