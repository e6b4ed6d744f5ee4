/* grpc_server: gRPC C core behind the api_* interface (see grpc_server.h).
 *
 * Threads. One completion-queue (CQ) thread runs grpc_completion_queue_next,
 * keeps REQUEST_POOL calls requested, decodes requests and answers
 * reflection; handlers run on the libev loop thread, which receives calls
 * through a mutex-protected queue and an ev_async. Batches are started from
 * both threads, always with s->mu held, so two threads never start batches on
 * one call at once.
 *
 * A call has one batch of each kind at most in flight: RECV (request),
 * CLOSE (RECV_CLOSE_ON_SERVER, started at once: it reports cancellation),
 * SEND (a stream message; the next one is started by the CQ thread when it
 * completes) and FINAL (the status). Each in-flight batch, the hand-off
 * queue and the loop (from the handler's start until api_reply/api_fail/
 * api_stream_end or the cancel callback) hold a reference; the last one frees
 * the call. */
#include "api/grpc_server.h"

#include <errno.h>
#include <ev.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/string_util.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/grpc_server_int.h"
#include "api/reflection.h"
#include "api/server_setup.h"
#include "common/log.h"
#include "common/clock.h"
#include "common/mem.h"
#include "api/accept.h"
#include "api/tls_int.h"

static const char *const reflection_paths[] = {
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
};

static void add_cert_subject(struct api_call *c);

/* ---- serialisation ---- */

static grpc_byte_buffer *pack_msg(const ProtobufCMessage *msg)
{
    size_t len = msg ? protobuf_c_message_get_packed_size(msg) : 0;
    grpc_slice sl = grpc_slice_malloc(len);
    if (msg)
        protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(sl));
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&sl, 1);
    grpc_slice_unref(sl);
    return bb;
}

static grpc_slice read_all(grpc_byte_buffer *bb)
{
    grpc_byte_buffer_reader rd;
    if (!grpc_byte_buffer_reader_init(&rd, bb))
        return grpc_empty_slice();
    grpc_slice sl = grpc_byte_buffer_reader_readall(&rd);
    grpc_byte_buffer_reader_destroy(&rd);
    return sl;
}

/* ---- calls: references and batches (all *_locked run with s->mu held) ---- */

static void drop_queue_locked(struct api_call *c)
{
    while (c->q_head) {
        struct msg *m = c->q_head;
        c->q_head = m->next;
        grpc_byte_buffer_destroy(m->bb);
        free(m);
    }
    c->q_tail = NULL;
    c->q_len = 0;
}

static void call_free(struct api_call *c)
{
    api_srv_count_call(c->s, c);
    if (c->call) {
        if (log_enabled(LOG_LEVEL_DEBUG)) {
            char *path = grpc_slice_to_c_string(c->details.method);
            log_debug("api-call-end", LOG_STR("method", path), LOG_STR("peer", c->peer),
                      LOG_INT("status", c->code), LOG_BOOL("cancelled", c->cancelled),
                      LOG_INT("duration-us", clock_mono_us() - c->start_us));
            gpr_free(path);
        }
        grpc_call_unref(c->call);
    }
    if (c->conn_held)
        api_accept_call_end(c->s->accept, c->conn_token);
    grpc_call_details_destroy(&c->details);
    grpc_metadata_array_destroy(&c->md);
    if (c->req)
        protobuf_c_message_free_unpacked(c->req, NULL);
    if (c->recv_bb)
        grpc_byte_buffer_destroy(c->recv_bb);
    if (c->final_bb)
        grpc_byte_buffer_destroy(c->final_bb);
    if (c->inflight)
        grpc_byte_buffer_destroy(c->inflight);
    drop_queue_locked(c);
    grpc_slice_unref(c->status_details);
    gpr_free(c->peer);
    free(c->pending_msg);
    free(c);
}

static void call_unref(struct api_call *c)
{
    pthread_mutex_lock(&c->s->mu);
    bool last = --c->refs == 0;
    pthread_mutex_unlock(&c->s->mu);
    if (last)
        call_free(c);
}

static bool start_locked(struct api_call *c, grpc_op *ops, size_t n, struct tag *t)
{
    if (c->s->cq_closed)
        return false;
    grpc_call_error e = grpc_call_start_batch(c->call, ops, n, t, NULL);
    if (e != GRPC_CALL_OK) {
        log_debug("api-batch-error", LOG_INT("error", e), LOG_INT("tag", t->kind));
        return false;
    }
    c->refs++;
    return true;
}

static size_t add_initial_md(struct api_call *c, grpc_op *ops)
{
    if (c->md_sent)
        return 0;
    c->md_sent = true;
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    return 1;
}

/* The status, after bb (a reply, consumed) if any. */
static void final_locked(struct api_call *c, grpc_status_code code, const char *msg,
                         grpc_byte_buffer *bb)
{
    grpc_op ops[3];
    memset(ops, 0, sizeof(ops));
    size_t n = add_initial_md(c, ops);
    if (bb) {
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = bb;
        c->final_bb = bb;
    }
    grpc_slice_unref(c->status_details);
    c->status_details = grpc_slice_from_copied_string(msg ? msg : "");
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = code;
    ops[n++].data.send_status_from_server.status_details = &c->status_details;
    c->final = FINAL_STARTED;
    c->code = code;
    start_locked(c, ops, n, &c->t_final);
}

static bool send_locked(struct api_call *c, grpc_byte_buffer *bb)
{
    grpc_op ops[2];
    memset(ops, 0, sizeof(ops));
    size_t n = add_initial_md(c, ops);
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n++].data.send_message.send_message = bb;
    c->inflight = bb;
    if (start_locked(c, ops, n, &c->t_send))
        return true;
    c->inflight = NULL;
    c->send_failed = true;
    grpc_byte_buffer_destroy(bb);
    return false;
}

static void recv_locked(struct api_call *c)
{
    grpc_op op;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &c->recv_bb;
    start_locked(c, &op, 1, &c->t_recv);
}

/* Hands the call to the loop; returns true when the loop must be woken. */
static bool post_locked(struct api_call *c, unsigned flag)
{
    struct api_server *s = c->s;
    bool queued = c->qflags != 0;
    c->qflags |= flag;
    if (queued)
        return false;
    c->refs++;
    c->qnext = NULL;
    if (s->q_tail)
        s->q_tail->qnext = c;
    else
        s->q_head = c;
    s->q_tail = c;
    pthread_cond_signal(&s->cond);
    return true;
}

/* ---- CQ thread ---- */

void api_srv_arm_request(struct api_server *s)
{
    struct api_call *c = calloc(1, sizeof(*c));
    if (!c) {
        log_warn("api-request-oom");
        return;
    }
    c->s = s;
    c->refs = 1;
    c->status_details = grpc_empty_slice();
    c->t_request = (struct tag){ TAG_REQUEST, c };
    c->t_recv = (struct tag){ TAG_RECV, c };
    c->t_send = (struct tag){ TAG_SEND, c };
    c->t_final = (struct tag){ TAG_FINAL, c };
    c->t_close = (struct tag){ TAG_CLOSE, c };
    grpc_call_details_init(&c->details);
    grpc_metadata_array_init(&c->md);
    grpc_call_error e = grpc_server_request_call(s->server, &c->call, &c->details, &c->md, s->cq,
                                                 s->cq, &c->t_request);
    if (e != GRPC_CALL_OK) {
        log_debug("api-request-error", LOG_INT("error", e));
        call_free(c);
    }
}

static void on_request(struct api_call *c, bool ok)
{
    struct api_server *s = c->s;
    if (!ok) { /* the server is shutting down */
        call_unref(c);
        return;
    }
    pthread_mutex_lock(&s->mu);
    bool stopping = s->stopping;
    pthread_mutex_unlock(&s->mu);
    if (!stopping)
        api_srv_arm_request(s);

    c->peer = grpc_call_get_peer(c->call);
    char *ours = api_accept_call_start(s->accept, c->peer, &c->ro, &c->conn_token);
    if (ours) { /* "fd:N": one of our connections, named by who is on it */
        c->conn_held = true;
        gpr_free(c->peer);
        c->peer = gpr_strdup(ours);
        free(ours);
    }
    add_cert_subject(c);
    c->start_us = clock_mono_us();
    for (size_t i = 0; i < s->n_routes && !c->m; i++) {
        if (grpc_slice_str_cmp(c->details.method, s->routes[i].path) == 0)
            c->m = &s->routes[i];
    }
    if (c->m && c->m->fn)
        c->kind = CALL_METHOD;
    for (size_t i = 0; i < 2 && s->reflect && c->kind == CALL_UNKNOWN; i++) {
        if (grpc_slice_str_cmp(c->details.method, reflection_paths[i]) == 0)
            c->kind = CALL_REFLECT;
    }

    grpc_op op;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &c->close_cancelled;
    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        grpc_call_cancel_with_status(c->call, GRPC_STATUS_UNAVAILABLE, "server stopping", NULL);
    } else if (start_locked(c, &op, 1, &c->t_close)) {
        if (c->kind == CALL_UNKNOWN) {
            char msg[300];
            char *path = grpc_slice_to_c_string(c->details.method);
            snprintf(msg, sizeof(msg), "%s %s", c->m ? "not implemented:" : "unknown method", path);
            gpr_free(path);
            final_locked(c, GRPC_STATUS_UNIMPLEMENTED, msg, NULL);
        } else if (c->ro && c->kind == CALL_METHOD && !c->m->read_only) {
            char msg[300];
            snprintf(msg, sizeof(msg),
                     "%s: not allowed through a read-only listener (only Get*, List*, Watch* "
                     "and Plan*): use the admin socket",
                     c->m->desc->name);
            log_info("api-denied", LOG_STR("method", c->m->desc->name), LOG_STR("peer", c->peer),
                     LOG_STR("reason", "read-only listener"));
            final_locked(c, GRPC_STATUS_PERMISSION_DENIED, msg, NULL);
        } else {
            recv_locked(c);
        }
    }
    pthread_mutex_unlock(&s->mu);
    call_unref(c);
}

static void reflect_recv(struct api_call *c, grpc_byte_buffer *bb)
{
    grpc_slice sl = read_all(bb);
    uint8_t *out = NULL;
    size_t outlen = 0;
    int rc = api_reflect_answer(c->s->reflect, GRPC_SLICE_START_PTR(sl), GRPC_SLICE_LENGTH(sl),
                                &out, &outlen);
    grpc_slice_unref(sl);
    pthread_mutex_lock(&c->s->mu);
    if (rc == 0) {
        grpc_slice rs = grpc_slice_new(out, outlen, free);
        send_locked(c, grpc_raw_byte_buffer_create(&rs, 1));
        grpc_slice_unref(rs);
    } else {
        final_locked(c, rc == -EINVAL ? GRPC_STATUS_INVALID_ARGUMENT : GRPC_STATUS_INTERNAL,
                     rc == -EINVAL ? "malformed ServerReflectionRequest" : "reflection failed",
                     NULL);
    }
    pthread_mutex_unlock(&c->s->mu);
}

static void method_recv(struct api_call *c, grpc_byte_buffer *bb)
{
    struct api_server *s = c->s;
    const ProtobufCMessageDescriptor *in = c->m->desc->input;
    grpc_slice sl = read_all(bb);
    size_t len = GRPC_SLICE_LENGTH(sl);
    c->req = protobuf_c_message_unpack(in, NULL, len, GRPC_SLICE_START_PTR(sl));
    grpc_slice_unref(sl);
    bool wake = false;
    pthread_mutex_lock(&s->mu);
    if (!c->req) {
        char msg[300];
        snprintf(msg, sizeof(msg), "%s: malformed %s (%zu bytes)", c->m->desc->name, in->name, len);
        final_locked(c, GRPC_STATUS_INVALID_ARGUMENT, msg, NULL);
    } else if (s->stopping) {
        final_locked(c, GRPC_STATUS_UNAVAILABLE, "server stopping", NULL);
    } else {
        c->dispatched = true;
        wake = post_locked(c, Q_HANDLE);
    }
    pthread_mutex_unlock(&s->mu);
    if (wake)
        ev_async_send(s->loop, &s->async);
}

static void on_recv(struct api_call *c, bool ok)
{
    grpc_byte_buffer *bb = c->recv_bb;
    c->recv_bb = NULL;
    if (ok && bb) {
        if (c->kind == CALL_REFLECT)
            reflect_recv(c, bb);
        else
            method_recv(c, bb);
    } else if (ok) { /* the client half-closed */
        pthread_mutex_lock(&c->s->mu);
        if (c->kind == CALL_REFLECT)
            final_locked(c, GRPC_STATUS_OK, NULL, NULL);
        else
            final_locked(c, GRPC_STATUS_INVALID_ARGUMENT, "no request message", NULL);
        pthread_mutex_unlock(&c->s->mu);
    } /* else cancelled: CLOSE reports it */
    if (bb)
        grpc_byte_buffer_destroy(bb);
    call_unref(c);
}

static void on_send(struct api_call *c, bool ok)
{
    pthread_mutex_lock(&c->s->mu);
    grpc_byte_buffer_destroy(c->inflight);
    c->inflight = NULL;
    if (!ok) {
        c->send_failed = true;
        drop_queue_locked(c);
    } else if (c->kind == CALL_REFLECT) {
        recv_locked(c);
    } else if (c->q_head) {
        struct msg *m = c->q_head;
        if (!(c->q_head = m->next))
            c->q_tail = NULL;
        c->q_len--;
        if (!send_locked(c, m->bb))
            drop_queue_locked(c);
        free(m);
    } else if (c->final == FINAL_PENDING) {
        final_locked(c, c->code, c->pending_msg, NULL);
    }
    pthread_mutex_unlock(&c->s->mu);
    call_unref(c);
}

static void on_close(struct api_call *c)
{
    struct api_server *s = c->s;
    bool wake = false;
    pthread_mutex_lock(&s->mu);
    c->closed = true;
    c->cancelled = c->close_cancelled != 0;
    if (c->cancelled) {
        drop_queue_locked(c);
        if (c->dispatched)
            wake = post_locked(c, Q_CANCEL);
    }
    pthread_mutex_unlock(&s->mu);
    if (wake)
        ev_async_send(s->loop, &s->async);
    call_unref(c);
}

void *api_srv_cq_main(void *arg)
{
    struct api_server *s = arg;
    pthread_setname_np(pthread_self(), "maglev-grpc");
    for (;;) {
        grpc_event ev =
            grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        struct tag *t = ev.tag;
        bool ok = ev.success != 0;
        switch (t->kind) {
        case TAG_REQUEST:
            on_request(t->call, ok);
            break;
        case TAG_RECV:
            on_recv(t->call, ok);
            break;
        case TAG_SEND:
            on_send(t->call, ok);
            break;
        case TAG_FINAL:
            call_unref(t->call);
            break;
        case TAG_CLOSE:
            on_close(t->call);
            break;
        case TAG_SHUTDOWN:
            pthread_mutex_lock(&s->mu);
            s->cq_closed = true;
            grpc_completion_queue_shutdown(s->cq);
            pthread_mutex_unlock(&s->mu);
            break;
        }
    }
    pthread_mutex_lock(&s->mu);
    s->cq_done = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- loop thread ---- */

static void loop_release(struct api_call *c)
{
    struct api_server *s = c->s;
    c->loop_owned = false;
    if (c->lprev)
        c->lprev->lnext = c->lnext;
    else
        s->loop_calls = c->lnext;
    if (c->lnext)
        c->lnext->lprev = c->lprev;
    c->lprev = c->lnext = NULL;
    call_unref(c);
}

void api_srv_loop_cancel(struct api_call *c)
{
    api_cancel_fn fn = c->cancel_fn;
    pthread_mutex_lock(&c->s->mu);
    c->refs++; /* for the callback */
    pthread_mutex_unlock(&c->s->mu);
    loop_release(c);
    if (fn)
        fn(c, c->cancel_ctx);
    call_unref(c);
}

void api_srv_process_queue(struct api_server *s, struct api_call *list)
{
    while (list) {
        struct api_call *c = list;
        list = c->qnext;
        pthread_mutex_lock(&s->mu);
        unsigned flags = c->qflags;
        c->qflags = 0;
        c->qnext = NULL;
        bool run = !c->cancelled && !s->stopping;
        if ((flags & Q_HANDLE) && run)
            c->refs++; /* the loop's */
        pthread_mutex_unlock(&s->mu);
        if ((flags & Q_HANDLE) && run) {
            c->loop_owned = true;
            c->lnext = s->loop_calls;
            if (s->loop_calls)
                s->loop_calls->lprev = c;
            s->loop_calls = c;
            c->m->fn(c, c->req, s->ctx);
        }
        if ((flags & Q_CANCEL) && c->loop_owned)
            api_srv_loop_cancel(c);
        call_unref(c); /* the queue's */
    }
}

struct api_call *api_srv_take_queue_locked(struct api_server *s)
{
    struct api_call *list = s->q_head;
    s->q_head = s->q_tail = NULL;
    return list;
}

void api_srv_on_async(struct ev_loop *loop, ev_async *w, int revents)
{
    struct api_server *s = w->data;
    pthread_mutex_lock(&s->mu);
    struct api_call *list = api_srv_take_queue_locked(s);
    pthread_mutex_unlock(&s->mu);
    api_srv_process_queue(s, list);
}

void api_reply(struct api_call *c, const ProtobufCMessage *msg)
{
    if (!c || !c->loop_owned)
        return;
    if (c->m->stream) {
        api_stream_send(c, msg);
        api_stream_end(c);
        return;
    }
    grpc_byte_buffer *bb = pack_msg(msg);
    pthread_mutex_lock(&c->s->mu);
    if (c->final == FINAL_NONE && !c->closed)
        final_locked(c, GRPC_STATUS_OK, NULL, bb);
    else
        grpc_byte_buffer_destroy(bb);
    pthread_mutex_unlock(&c->s->mu);
    loop_release(c);
}

void api_fail(struct api_call *c, grpc_status_code code, const char *fmt, ...)
{
    if (!c || !c->loop_owned)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&c->s->mu);
    if (c->final == FINAL_NONE && !c->closed) {
        drop_queue_locked(c);
        if (c->inflight) {
            c->final = FINAL_PENDING;
            c->code = code;
            c->pending_msg = strdup(msg);
        } else {
            final_locked(c, code, msg, NULL);
        }
    }
    pthread_mutex_unlock(&c->s->mu);
    loop_release(c);
}

int api_stream_send(struct api_call *c, const ProtobufCMessage *msg)
{
    if (!c || !c->loop_owned)
        return -EPIPE;
    if (!c->m->stream)
        return -EINVAL; /* a unary method: api_reply */
    struct api_server *s = c->s;
    grpc_byte_buffer *bb = pack_msg(msg);
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    if (c->closed || c->send_failed || c->final != FINAL_NONE || s->stopping) {
        rc = -EPIPE;
    } else if (c->q_len + (c->inflight != NULL) >= s->queue_max) {
        rc = -ENOBUFS;
    } else if (!c->inflight) {
        rc = send_locked(c, bb) ? 0 : -EPIPE;
        bb = NULL;
    } else {
        struct msg *m = mem_alloc(sizeof(*m));
        *m = (struct msg){ .bb = bb };
        if (c->q_tail)
            c->q_tail->next = m;
        else
            c->q_head = m;
        c->q_tail = m;
        c->q_len++;
        bb = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    if (bb)
        grpc_byte_buffer_destroy(bb);
    return rc;
}

void api_stream_end(struct api_call *c)
{
    if (!c || !c->loop_owned)
        return;
    pthread_mutex_lock(&c->s->mu);
    if (c->final == FINAL_NONE && !c->closed && !c->send_failed) {
        if (c->inflight) {
            c->final = FINAL_PENDING; /* status OK once the queue is sent */
            c->code = GRPC_STATUS_OK;
        } else {
            final_locked(c, GRPC_STATUS_OK, NULL, NULL);
        }
    }
    pthread_mutex_unlock(&c->s->mu);
    loop_release(c);
}

void api_call_on_cancel(struct api_call *c, api_cancel_fn fn, void *ctx)
{
    if (c && c->loop_owned) {
        c->cancel_fn = fn;
        c->cancel_ctx = ctx;
    }
}

const char *api_call_peer(const struct api_call *c)
{
    return c && c->peer ? c->peer : "";
}

const char *api_call_method(const struct api_call *c)
{
    return c && c->m ? c->m->desc->name : "";
}

/* ---- TLS (TCP listeners) ---- */

/* " (cert SUBJECT)" appended to the peer of a call through a TLS listener. */
static void add_cert_subject(struct api_call *c)
{
    grpc_auth_context *ac = api_tls_enabled() && c->peer ? grpc_call_auth_context(c->call) : NULL;
    if (!ac)
        return;
    grpc_auth_property_iterator it =
        grpc_auth_context_find_properties_by_name(ac, GRPC_X509_SUBJECT_PROPERTY_NAME);
    const grpc_auth_property *p = grpc_auth_property_iterator_next(&it);
    if (p && p->value && p->value_length > 0) {
        size_t n = strlen(c->peer) + p->value_length + 16;
        char *peer = gpr_malloc(n);
        snprintf(peer, n, "%s (cert %.*s)", c->peer, (int)p->value_length, p->value);
        gpr_free(c->peer);
        c->peer = peer;
    }
    grpc_auth_context_release(ac);
}
