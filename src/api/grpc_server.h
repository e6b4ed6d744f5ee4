/* grpc_server: the daemon's only door to gRPC C core.
 *
 * A completion-queue thread accepts calls and decodes requests; the handler
 * of each call runs on the libev loop thread (where all daemon state lives)
 * and finishes it with api_reply / api_fail, or, for a server-streaming
 * method, sends messages with api_stream_send until api_stream_end. gRPC
 * server reflection (v1 and v1alpha) is answered inside this module from the
 * embedded descriptor of maglev.proto.
 *
 * Listeners: a comma-separated list of "unix:PATH" and "HOST:PORT"
 * ("[::1]:9090" for IPv6). For a unix listener the parent directory is
 * created with mode 0750 if missing (with the socket group, below), the
 * socket gets mode 0660 (or api_socket_perms_set's) and a lock file
 * PATH.lock (flock) keeps a second maglevd from stealing the socket.
 * TCP listeners are plaintext and unauthenticated unless api_tls_load() was
 * called: then every TCP listener serves TLS and requires and verifies a
 * client certificate (mutual TLS); unix listeners stay plaintext (their
 * file mode is the access control). A plaintext TCP listener on an address
 * that is not loopback logs a warning (msg=api-plaintext-remote) at start.
 *
 * Connections: maglevd accepts on the unix and plaintext TCP listeners
 * itself (accept.c; gRPC 1.51 cannot adopt a TLS connection, so TLS
 * listeners are gRPC's own) and hands a connection to gRPC once it has sent
 * the HTTP/2 client preface. It caps the connections per listener
 * ("?max-conns=N") and in total (max_conns: a connection over a cap is
 * closed at once), closes those that do not send the preface within
 * handshake_ms and those without a call for idle_ms, pauses a listener
 * while accept(2) fails for want of descriptors (EMFILE...) and resumes it.
 * It knows who is on each connection: unix callers by SO_PEERCRED, TCP
 * ones by address; the peer of a call says so. A listener with "?ro"
 * serves only the read-only methods (Get*, List*, Watch*, Plan* and
 * reflection): others end with PERMISSION_DENIED. */
#ifndef MAGLEV_API_GRPC_SERVER_H
#define MAGLEV_API_GRPC_SERVER_H

#include <grpc/status.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ev_loop;
struct api_server;
struct api_call;

/* Runs on the loop thread. req is owned by the call (freed when the call
 * ends); the handler must finish the call sooner or later (it may keep it
 * and finish later, e.g. a stream). */
typedef void (*api_handler_fn)(struct api_call *call, const ProtobufCMessage *req, void *ctx);

struct api_method {
    const char *name; /* method name in the service, e.g. "GetVersion" */
    api_handler_fn fn;
    bool stream; /* server streaming ("returns (stream X)"): protobuf-c's
                  * service descriptor does not record it */
};

struct api_server_opts {
    const char *addrs;                         /* listener list, see above */
    const ProtobufCServiceDescriptor *service; /* maglev__maglev__descriptor */
    const struct api_method *methods;          /* missing ones: UNIMPLEMENTED */
    size_t n_methods;
    void *ctx;                           /* passed to handlers */
    const unsigned char *descriptor_set; /* FileDescriptorSet of the .proto */
    size_t descriptor_set_len;           /* (for reflection; NULL: none) */
    size_t max_receive_bytes;            /* 0 = 1 MiB */
    size_t stream_queue_max;             /* per stream, 0 = 1024 messages */
    /* Connections (see "Connections" above): */
    unsigned max_conns;    /* held at once over all accepted listeners; 0 = 1024 */
    unsigned handshake_ms; /* to send the HTTP/2 preface (TLS: finish the
                            * handshake); 0 = 10 s */
    unsigned idle_ms;      /* closed after this long without a call; 0 = 300 s */
};

/* Starts listening. Returns 0, or -errno with err describing the problem
 * (e.g. "unix:/run/vpp-maglev/maglevd.sock: another maglevd holds
 * /run/vpp-maglev/maglevd.sock.lock"). Block SIGTERM/SIGINT/SIGHUP before
 * calling (gRPC starts threads); libev's signalfd watchers handle them. */
int api_server_start(struct ev_loop *loop, const struct api_server_opts *opts,
                     struct api_server **out, char *err, size_t errlen);

/* TLS of the TCP listeners: PEM files of the server's certificate (chain),
 * its private key and the CA(s) that sign client certificates. */
struct api_tls_files {
    const char *cert;
    const char *key;
    const char *client_ca;
};

/* Reads and checks the three files (readable, non-empty, PEM of the right
 * kind) and keeps their contents for every later api_server_start of this
 * process. 0, or -errno with err naming the file and the fix. Whether the
 * key matches the certificate is checked by gRPC when a listener is added
 * (api_server_start then fails). */
int api_tls_load(const struct api_tls_files *f, char *err, size_t errlen);
/* Forgets what api_tls_load kept (TCP listeners plaintext again). */
void api_tls_unload(void);

/* Owner group and mode of the unix sockets (and group of the socket
 * directory maglevd creates) for every later api_server_start of this
 * process: gid (gid_t)-1 keeps maglevd's group; mode 0 means 0660. The
 * socket is bound under umask 0177 (0600: only maglevd's user can connect)
 * and gets the group and mode before the server starts. group_name is the
 * name for logs (kept, not copied; NULL when gid is -1). */
void api_socket_perms_set(gid_t gid, const char *group_name, mode_t mode);

/* Cancels every call and stream in flight (their cancel callbacks run),
 * shuts gRPC down and joins the thread. Safe with NULL. */
void api_server_stop(struct api_server *s);

/* Unary: sends msg and status OK, then releases the call. */
void api_reply(struct api_call *call, const ProtobufCMessage *msg);
/* Ends the call (unary or stream) with a status and a message. */
void api_fail(struct api_call *call, grpc_status_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Server streaming: queues msg (serialised at once, the caller keeps
 * ownership of msg). Returns 0, -ENOBUFS when the stream's queue is full
 * (a slow client: end it with RESOURCE_EXHAUSTED), -EPIPE when the client
 * is gone, -EINVAL for a method not marked .stream. */
int api_stream_send(struct api_call *call, const ProtobufCMessage *msg);
/* Ends a stream after the queued messages with OK. */
void api_stream_end(struct api_call *call);

/* Called on the loop thread when the client cancels or disconnects or the
 * server stops, before the call is released; the call must not be used
 * after it. */
typedef void (*api_cancel_fn)(struct api_call *call, void *ctx);
void api_call_on_cancel(struct api_call *call, api_cancel_fn fn, void *ctx);

/* The peer, for logs: "unix:/run/x.sock uid=0(root) gid=0 pid=4242",
 * "ipv4:127.0.0.1:5678"; through a TLS listener followed by the client
 * certificate's subject: "ipv4:127.0.0.1:5678 (cert CN=ops,O=example)". And
 * the method name ("GetVersion"). */
const char *api_call_peer(const struct api_call *call);
/* Calls ended since start, by method and status: fn is called for every
 * non-zero count; method is the method's name ("GetVersion"),
 * "ServerReflectionInfo" or "unknown". Counted with C11 atomics by the
 * thread that ends a call (the completion-queue thread or the loop):
 * readable from any thread. */
typedef void (*api_count_fn)(void *ctx, const char *method, grpc_status_code code, uint64_t n);
void api_server_each_count(const struct api_server *s, api_count_fn fn, void *ctx);
/* "OK", "CANCELLED", ... "UNAUTHENTICATED"; "UNKNOWN" for others. */
const char *api_status_name(grpc_status_code code);
const char *api_call_method(const struct api_call *call);

#endif
