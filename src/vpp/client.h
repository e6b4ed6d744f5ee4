/* vpp/client: VPP's binary API over its UNIX socket, non-blocking on the
 * daemon's libev loop (no thread: the loop stays the one owner of state;
 * nothing here ever blocks).
 *
 * Lifecycle: connect -> sockclnt_create handshake -> message table check
 * (every message maglevd needs must be there with the CRC it was built
 * for; otherwise one clear error naming the messages and VPP's version,
 * and the client stays disconnected, retrying) -> show_version ->
 * control_ping (VPP's pid) -> up. While up, a control_ping every 10 s
 * checks liveness. EOF, a socket error, a desynchronised stream or an
 * unanswered liveness ping disconnects (msg=vpp-disconnect) and retries
 * after 1 s, 2 s, 4 s, then every 5 s.
 *
 * Requests are pipelined: each gets a fresh context and a deadline;
 * replies are matched by context. VPP answers requests of one connection
 * strictly in order, so a reply for a later request means every earlier
 * request without reply was dropped by VPP (it drops bad requests
 * silently): those fail at once with -ENOMSG. Dumps are followed by a
 * control_ping with the same context; its reply ends the dump.
 *
 * Every message sent or received passes vpp_client_send / one receive
 * function, which log at DEBUG: msg=vpp-api-send / msg=vpp-api-recv with
 * name, context, length and the decoded fields. */
#ifndef MAGLEV_VPP_CLIENT_H
#define MAGLEV_VPP_CLIENT_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vpp/gen/vpp_msgs.h"

enum vpp_conn_state {
    VPP_STATE_DISCONNECTED, /* waiting to retry */
    VPP_STATE_CONNECTING,   /* socket, handshake, version */
    VPP_STATE_CONNECTED,
    VPP_STATE_INCOMPATIBLE, /* the table check failed; retrying */
};
const char *vpp_conn_state_name(enum vpp_conn_state s);

/* Why a connection that was up ended (metrics), from the disconnect's
 * cause. */
enum vpp_disconnect_reason {
    VPP_DISC_CLOSED,   /* VPP closed the connection (EOF, reset) */
    VPP_DISC_IO,       /* a read or write error */
    VPP_DISC_PROTOCOL, /* stream out of sync, undecodable */
    VPP_DISC_LIVENESS, /* the liveness control_ping got no answer */
    VPP_DISC_OTHER,
    VPP_DISC__COUNT
};
const char *vpp_disconnect_reason_name(enum vpp_disconnect_reason r); /* "closed", ... */
/* The reason of a disconnect's text (vpp_info.last_error). Pure. */
enum vpp_disconnect_reason vpp_disconnect_reason_of(const char *text);

struct vpp_info {
    enum vpp_conn_state state;
    char path[108];
    char version[32], build_date[32], build_directory[256];
    uint32_t pid;
    int64_t connected_since_us; /* wall clock; 0 when not connected */
    uint32_t client_index;
    uint32_t table_size;
    char last_error[1536];
    uint64_t connects;
    uint64_t disconnects[VPP_DISC__COUNT]; /* of connections that were up */
};

struct vpp_client_cbs {
    void (*up)(void *ctx);                       /* connected and checked */
    void (*down)(void *ctx, const char *reason); /* was up, is not any more */
    void *ctx;
};

/* Timeouts and intervals, seconds (tests may shorten them). */
struct vpp_client_opts {
    double request_timeout; /* 0 = 5 */
    double ping_interval;   /* 0 = 10 */
    double backoff_min;     /* 0 = 1 */
    double backoff_max;     /* 0 = 5 */
};

struct vpp_client;

struct vpp_client *vpp_client_new(struct ev_loop *loop, const char *path,
                                  const struct vpp_client_opts *opts,
                                  const struct vpp_client_cbs *cbs);
/* Starts connecting (and retrying). */
void vpp_client_start(struct vpp_client *c);
/* Fails what is in flight (-ECANCELED), says goodbye (sockclnt_delete, best
 * effort), closes. NULL-safe. */
void vpp_client_free(struct vpp_client *c);

const struct vpp_info *vpp_client_info(const struct vpp_client *c);
bool vpp_client_is_up(const struct vpp_client *c);
size_t vpp_client_in_flight(const struct vpp_client *c);
/* The message's ID in the connected VPP, 0 when unusable. */
uint16_t vpp_client_msg_id(const struct vpp_client *c, enum vppmsg_index i);

/* Called exactly once per request: err 0 with the decoded reply (valid
 * during the call only; for dumps NULL), or -ETIMEDOUT (no reply in time),
 * -ENOMSG (VPP dropped the request), -ECONNRESET (disconnected),
 * -ECANCELED (client freed), -EBADMSG (undecodable reply). The callback
 * may issue new requests. */
typedef void (*vpp_reply_cb)(void *ctx, int err, const void *reply);
typedef void (*vpp_details_cb)(void *ctx, const void *details);

/* Sends request m (a struct vppmsg_<req>; msg_id, client_index and
 * context are filled in here). 0, -ENOTCONN, -EPROTONOSUPPORT (message
 * unusable in this VPP), -EINVAL (encode refused). On error cb is
 * not called. */
int vpp_client_call(struct vpp_client *c, enum vppmsg_index req, void *m, enum vppmsg_index reply,
                    vpp_reply_cb cb, void *ctx);
/* A dump: dcb for every details message, then cb(ctx, 0, NULL) after the
 * terminating control_ping_reply (or an error as above). */
int vpp_client_dump(struct vpp_client *c, enum vppmsg_index req, void *m, enum vppmsg_index details,
                    vpp_details_cb dcb, vpp_reply_cb cb, void *ctx);

#endif
