/* Internal to the gRPC server module: the state shared by grpc_server.c
 * (calls: the completion-queue thread, the hand-off to the loop, the api_*
 * call operations) and grpc_server_run.c (listeners, start and stop). */
#ifndef MAGLEV_API_GRPC_SERVER_INT_H
#define MAGLEV_API_GRPC_SERVER_INT_H

#include <ev.h>
#include <grpc/grpc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "api/grpc_server.h"

#define REQUEST_POOL         16
#define DEFAULT_MAX_RECV     (1 << 20)
#define DEFAULT_QUEUE_MAX    1024
#define DEFAULT_MAX_CONNS    1024
#define DEFAULT_HANDSHAKE_MS 10000
#define DEFAULT_IDLE_MS      300000
#define API_STATUS_CODES     17 /* OK .. UNAUTHENTICATED */

enum tag_kind { TAG_REQUEST, TAG_RECV, TAG_SEND, TAG_FINAL, TAG_CLOSE, TAG_SHUTDOWN };
struct tag {
    enum tag_kind kind;
    struct api_call *call;
};

enum call_kind { CALL_UNKNOWN, CALL_METHOD, CALL_REFLECT };
enum final_state { FINAL_NONE, FINAL_PENDING, FINAL_STARTED };
enum { Q_HANDLE = 1, Q_CANCEL = 2 }; /* hand-off queue flags */

struct msg {
    struct msg *next;
    grpc_byte_buffer *bb;
};

struct api_call {
    struct api_server *s;
    grpc_call *call;
    grpc_call_details details;
    grpc_metadata_array md;
    struct tag t_request, t_recv, t_send, t_final, t_close;
    enum call_kind kind;
    const struct api_route *m;
    char *peer;
    bool conn_held;      /* counted in flight on a connection of ours: */
    uint64_t conn_token; /* api_accept_call_end's */
    bool ro;             /* it came through a read-only listener */
    int64_t start_us;
    ProtobufCMessage *req;
    grpc_byte_buffer *recv_bb;  /* RECV output */
    int close_cancelled;        /* CLOSE output */
    grpc_slice status_details;  /* FINAL input, outlives the batch */
    grpc_byte_buffer *final_bb; /* FINAL input */
    /* under s->mu */
    int refs;
    bool closed, cancelled, md_sent, send_failed, dispatched;
    grpc_byte_buffer *inflight; /* SEND input */
    struct msg *q_head, *q_tail;
    size_t q_len;
    enum final_state final;
    grpc_status_code code;
    char *pending_msg; /* FINAL_PENDING */
    unsigned qflags;
    struct api_call *qnext;
    /* loop thread only */
    bool loop_owned;
    api_cancel_fn cancel_fn;
    void *cancel_ctx;
    struct api_call *lprev, *lnext;
};

struct api_server {
    struct ev_loop *loop;
    ev_async async;
    grpc_server *server;
    grpc_completion_queue *cq;
    pthread_t thread;
    bool thread_started;
    struct tag t_shutdown;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    /* under mu */
    struct api_call *q_head, *q_tail;
    bool stopping, cq_closed, cq_done;
    /* read-only after start */
    struct api_route *routes;
    size_t n_routes;
    void *ctx;
    size_t queue_max;
    struct api_reflect *reflect;
    struct api_listener *listeners;
    size_t n_listeners;
    struct api_accept *accept;
    /* loop thread only */
    struct api_call *loop_calls;
    /* calls ended, [route (n_routes: reflection, n_routes + 1: unknown)]
     * [status]: counted by whichever thread ends a call (counts.c) */
    _Atomic uint64_t (*counts)[API_STATUS_CODES];
};

/* counts.c: the calls ended, by method and status (metrics) */
void api_srv_counts_init(struct api_server *s);
void api_srv_count_call(struct api_server *s, const struct api_call *c);

/* grpc_server.c, for grpc_server_run.c */
void api_srv_arm_request(struct api_server *s);
void *api_srv_cq_main(void *arg);
void api_srv_on_async(struct ev_loop *loop, ev_async *w, int revents);
void api_srv_loop_cancel(struct api_call *c);
void api_srv_process_queue(struct api_server *s, struct api_call *list);
struct api_call *api_srv_take_queue_locked(struct api_server *s);

#endif
