/* Internal to the VPP client: client.c (send/receive/pending) and
 * client_conn.c (connect, handshake, liveness, reconnect). */
#ifndef MAGLEV_VPP_CLIENT_INT_H
#define MAGLEV_VPP_CLIENT_INT_H

#include "vpp/client.h"
#include "vpp/msgtable.h"
#include "vpp/wire.h"

/* Largest decoded struct (show_version_reply is ~360 bytes). */
#define VPP_MAX_STRUCT 1024

/* The common head of every request struct (host order). */
struct vpp_req_hdr {
    uint16_t msg_id;
    uint32_t client_index;
    uint32_t context;
};

struct vpp_pending {
    uint32_t context;
    int16_t reply;   /* vppmsg index of the reply (control_ping_reply for dumps) */
    int16_t details; /* -1 unless a dump */
    vpp_reply_cb cb;
    vpp_details_cb dcb;
    void *ctx;
    ev_tstamp deadline;
    struct vpp_pending *prev, *next;
};

enum vpp_phase { PH_IDLE, PH_CREATE, PH_VERSION, PH_PING, PH_UP, PH_REFUSING };

struct vpp_client {
    struct ev_loop *loop;
    struct vpp_client_opts opts;
    struct vpp_client_cbs cbs;
    struct vpp_info info;
    int fd;
    enum vpp_phase phase;
    unsigned gen; /* bumped on every disconnect */
    struct vpp_msgtable table;
    struct vpp_wire_rx rx;
    struct {
        uint8_t *buf;
        size_t len, off, cap;
    } out;
    int write_err;
    uint32_t context;
    struct vpp_pending *head, *tail;
    size_t n_pending;
    bool ping_in_flight;
    ev_tstamp hs_deadline;
    double backoff;
    char logged_error[1536]; /* last connect problem logged above DEBUG */
    bool connect_warned;     /* vpp-connect-failed at WARN since the last connect */
    ev_io rio, wio;
    ev_timer retry, tick, ping;
    uint64_t stats_sent, stats_received;
};

int vpp_client_send(struct vpp_client *c, enum vppmsg_index idx, const void *m);
/* Writes what is queued without blocking; the write watcher runs while
 * something is left. 0 or -errno of the socket. */
int vpp_client_flush(struct vpp_client *c);
void vpp_client_receive(struct vpp_client *c, const uint8_t *body, size_t len);
void vpp_client_fail_all(struct vpp_client *c, int err);
void vpp_client_expire(struct vpp_client *c, ev_tstamp now);
/* Like vpp_client_call, but also while the handshake runs. */
int vpp_client_call_internal(struct vpp_client *c, enum vppmsg_index req, void *m,
                             enum vppmsg_index reply, vpp_reply_cb cb, void *ctx);

#endif
