/* client: maglevc's only door to gRPC C core.
 *
 * One channel to maglevd (plaintext, where the unix socket's mode or a
 * loopback TCP port is the access control; or TLS to a HOST:PORT, with a
 * client certificate for maglevd's mutual authentication), unary calls with
 * a deadline
 * and the server-streaming read of WatchEvents. Callers see protobuf-c
 * messages and a status (code + message), never a gRPC type.
 *
 * Addresses: "unix:PATH" (absolute or relative) or "HOST:PORT" ("[::1]:9090"
 * for IPv6). Connecting is lazy: a server that is not there shows up as
 * CLIENT_UNAVAILABLE from the first call.
 *
 * Interruption: client_set_interrupt() hands over a flag (set by a SIGINT
 * handler); while a call waits, the flag is polled every 100 ms and a set
 * flag cancels the call (CLIENT_CANCELLED). The flag is not cleared here. */
#ifndef MAGLEV_CLI_CLIENT_H
#define MAGLEV_CLI_CLIENT_H

#include <protobuf-c/protobuf-c.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

/* The gRPC status codes (numbering fixed by the gRPC protocol). */
enum client_code {
    CLIENT_OK = 0,
    CLIENT_CANCELLED = 1,
    CLIENT_UNKNOWN = 2,
    CLIENT_INVALID_ARGUMENT = 3,
    CLIENT_DEADLINE_EXCEEDED = 4,
    CLIENT_NOT_FOUND = 5,
    CLIENT_ALREADY_EXISTS = 6,
    CLIENT_PERMISSION_DENIED = 7,
    CLIENT_RESOURCE_EXHAUSTED = 8,
    CLIENT_FAILED_PRECONDITION = 9,
    CLIENT_ABORTED = 10,
    CLIENT_OUT_OF_RANGE = 11,
    CLIENT_UNIMPLEMENTED = 12,
    CLIENT_INTERNAL = 13,
    CLIENT_UNAVAILABLE = 14,
    CLIENT_DATA_LOSS = 15,
    CLIENT_UNAUTHENTICATED = 16,
};

struct client_status {
    int code;          /* enum client_code */
    char message[512]; /* the server's status message ("backend \"x\" not found"),
                          or the transport's; "" for CLIENT_OK */
    bool connected;    /* the channel was connected when the call ended: a
                          CLIENT_UNAVAILABLE is then the server's own answer
                          (e.g. "VPP is not connected"), not a transport failure */
};

struct client;

/* TLS to a HOST:PORT server (ignored for unix:PATH, which is plaintext).
 * Any field set turns TLS on. ca: PEM of the CA(s) that sign the server's
 * certificate (NULL: the system's roots); cert + key: the client's
 * certificate and key (both or neither); server_name: the name to check the
 * server's certificate against when it is not the host of the address. */
struct client_tls {
    const char *ca, *cert, *key, *server_name;
};

/* Creates the channel (and initialises gRPC for the first client); tls may
 * be NULL. Returns 0, or -1 with err set (a malformed address, an
 * unreadable TLS file, a certificate without its key). */
int client_open(const char *addr, const struct client_tls *tls, struct client **out, char *err,
                size_t errlen);
/* Closes the channel; the last client shuts gRPC down. Safe with NULL. */
void client_close(struct client *c);

/* Deadline of unary calls, default 10000 ms. */
void client_set_timeout(struct client *c, int timeout_ms);
/* A flag that cancels the call in progress when it becomes non-zero (NULL:
 * none). */
void client_set_interrupt(struct client *c, volatile sig_atomic_t *flag);

/* Calls method (the name in maglev.Maglev, e.g. "GetBackend") with req and
 * decodes the answer as resp_desc into *resp (free it with
 * protobuf_c_message_free_unpacked(*resp, NULL)). Returns 0 with st->code
 * CLIENT_OK, or -1 with st describing the failure and *resp NULL. */
int client_call(struct client *c, const char *method, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
                struct client_status *st);

/* Receives one message of a stream; msg is freed after the call. Return 0 to
 * go on, non-zero to end the stream (it is cancelled). */
typedef int (*client_stream_fn)(const ProtobufCMessage *msg, void *ctx);

/* A server-streaming call without deadline: sends req, then hands each
 * message to fn until the server ends the stream, fn asks to stop, or the
 * interrupt flag is set. Returns 0 when the stream ended with OK or was
 * ended here (fn or the flag; st->code is then CLIENT_CANCELLED), or -1 with
 * st describing the failure. */
int client_stream(struct client *c, const char *method, const ProtobufCMessage *req,
                  const ProtobufCMessageDescriptor *msg_desc, client_stream_fn fn, void *ctx,
                  struct client_status *st);

/* "NOT_FOUND" for CLIENT_NOT_FOUND, ... */
const char *client_code_name(int code);

#endif
