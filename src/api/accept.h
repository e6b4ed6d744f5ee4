/* accept: the listeners maglevd accepts on itself — unix and plaintext TCP
 * — and the connections it hands to gRPC core once they have sent the
 * HTTP/2 client preface (grpc_server_add_channel_from_fd; gRPC then knows
 * the connection as peer "fd:N"). See grpc_server.h, "Connections", and
 * docs/security.md for the rules. Internal to src/api.
 *
 * Threads: everything runs on the loop thread except api_accept_call_start
 * and api_accept_call_end (the completion-queue thread, or whichever thread
 * releases a call), which meet the loop under a mutex. */
#ifndef MAGLEV_API_ACCEPT_H
#define MAGLEV_API_ACCEPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct grpc_server;
struct api_listener;
struct api_accept;

struct api_accept_limits {
    unsigned max_conns;    /* over all listeners (held: being set up or served) */
    unsigned handshake_ms; /* to send the HTTP/2 preface */
    unsigned idle_ms;      /* without a call in flight */
};

struct api_accept *api_accept_new(struct ev_loop *loop, const struct api_accept_limits *lim);
/* Binds and listens on l (unix: under umask 0177; TCP: every address the
 * host resolves to). Not accepting yet. 0, or -errno with err naming the
 * listener. */
int api_accept_listen(struct api_accept *a, struct api_listener *l, char *err, size_t errlen);
/* Starts accepting; connections are handed to server. */
void api_accept_start(struct api_accept *a, struct grpc_server *server);
/* Stops accepting and closes the connections not handed to gRPC yet. */
void api_accept_stop(struct api_accept *a);
/* Closes our hold on every connection (after gRPC is destroyed). NULL ok. */
void api_accept_free(struct api_accept *a);

/* A call arrived with gRPC's peer string. For a connection of ours ("fd:N")
 * returns its description ("unix:/run/x.sock uid=0(root) gid=0 pid=42",
 * "ipv4:127.0.0.1:5678"; malloc'd), counts the call in flight and sets
 * *ro (the listener is read-only) and *token (for api_accept_call_end);
 * NULL for any other peer. */
char *api_accept_call_start(struct api_accept *a, const char *grpc_peer, bool *ro, uint64_t *token);
/* The call of api_accept_call_start ended. */
void api_accept_call_end(struct api_accept *a, uint64_t token);

#endif
