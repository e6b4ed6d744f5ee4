/* server_setup: the parts of starting grpc_server.c that need no gRPC: the
 * method table and the listener list (socket directories, lock files).
 * Internal to src/api. */
#ifndef MAGLEV_API_SERVER_SETUP_H
#define MAGLEV_API_SERVER_SETUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "api/grpc_server.h"

/* One method of the service. */
struct api_route {
    char *path; /* "/maglev.Maglev/GetVersion" */
    const ProtobufCMethodDescriptor *desc;
    api_handler_fn fn; /* NULL: UNIMPLEMENTED */
    bool stream;
    bool read_only; /* Get*, List*, Watch*, Plan*: served on "?ro" listeners */
};

/* One route per method of o->service, with the handlers of o->methods.
 * -EINVAL (err set) for a handler naming no method, or one given twice. */
int api_routes_build(const struct api_server_opts *o, struct api_route **out, size_t *n, char *err,
                     size_t errlen);
void api_routes_free(struct api_route *r, size_t n);

struct api_listener {
    char *addr;            /* trimmed, without options: "unix:/run/x.sock", "[::1]:9090" */
    const char *unix_path; /* into addr; NULL for TCP */
    int lock_fd;           /* PATH.lock, held; -1 for TCP */
    bool bound;            /* the socket at unix_path is the one we bound: */
    dev_t dev;             /* its device and inode, recorded right after bind */
    ino_t ino;
    /* options after '?' ("unix:/run/x-ro.sock?ro", "[::1]:9090?max-conns=64",
     * joined with '&'): */
    bool ro;            /* ?ro: only the read-only methods (Get*, List*, ...) */
    unsigned max_conns; /* ?max-conns=N; 0: the total cap alone */
    /* loop thread (accept.c): connections held, being set up or served */
    unsigned n_conns;
};

/* Whether a TCP listener address ("HOST:PORT", "[V6]:PORT") is on
 * loopback only: localhost, 127.0.0.0/8, ::1 (or ::ffff:127.x). Wildcards
 * (0.0.0.0, [::], ":PORT") and every other host are not. */
bool api_addr_is_loopback(const char *addr);

/* Splits the comma-separated list and each address's options (unknown
 * ones, a bad max-conns: -EINVAL naming the listener); for each unix listener creates the
 * directory (0750, the socket group) when missing (an existing one is left
 * alone: a warning when the socket group set by api_socket_perms_set cannot
 * traverse it), takes PATH.lock (flock, LOCK_NB; our pid
 * written in it) and checks what sits at PATH: nothing is fine, a stale
 * socket (connect refused) is removed (logged), anything else refuses the
 * start: a live listener (another program's socket), a symlink, a file of
 * any other type. 0, or -errno with err naming the listener and the fix;
 * nothing is held on failure. */
int api_listeners_prepare(const char *addrs, struct api_listener **out, size_t *n, char *err,
                          size_t errlen);
/* Records the device and inode of the socket now at l->unix_path (call it
 * right after the bind); a no-op for TCP or when already recorded. */
void api_listener_bound(struct api_listener *l);
/* Gives the socket at l->unix_path the group and mode of
 * api_socket_perms_set (a no-op for TCP). 0, or -errno with err set. */
int api_listener_set_perms(const struct api_listener *l, char *err, size_t errlen);
/* Removes the socket files that are still the ones we bound (lstat: a
 * socket with the recorded device and inode; never anything else), then the
 * lock files (while held, and only our own) and releases the locks. Safe
 * with NULL. */
void api_listeners_release(struct api_listener *l, size_t n);

#endif
