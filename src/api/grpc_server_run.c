/* grpc_server_run.c: the gRPC server's life — listeners (plaintext or
 * TLS, unix socket group and mode), start (the completion-queue thread,
 * the request pool) and stop (see grpc_server.h). */
#include <errno.h>
#include <ev.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/absl_tune.h"
#include "api/accept.h"
#include "api/grpc_server_int.h"
#include "api/reflection.h"
#include "api/server_setup.h"
#include "api/tls_int.h"
#include "common/log.h"
#include "common/mem.h"

/* gRPC closes a connection idle this long after our own sweep would have */
#define IDLE_BACKSTOP_MS 10000

/* What a flood of API connections grows goes back when it ends (within a
 * few percent; docs/design.md, "The API's edge"). Three things kept it:
 * - gRPC's default poller (epoll1) keeps every grpc_fd it ever made on a
 *   free list, one small block per connection scattered over the heap,
 *   which pins a page each: "poll" frees them. Its price, poll() over
 *   every held descriptor, is ~0.3-1 us a call per connection held
 *   (docs/performance.md); the operator may choose another poller with
 *   GRPC_POLL_STRATEGY;
 * - glibc raises its trim threshold after big blocks come and go, so a
 *   gRPC thread's heap never shrank: a fixed 128 KiB;
 * - abseil's mutex deadlock detection (absl_tune.cc). */
static void tune_for_floods(void)
{
    setenv("GRPC_POLL_STRATEGY", "poll", 0);
    mallopt(M_TRIM_THRESHOLD, 128 * 1024);
    api_absl_tune();
}

static void grpc_log_to_ours(gpr_log_func_args *a)
{
    if (a->severity == GPR_LOG_SEVERITY_ERROR)
        log_warn("grpc-log", LOG_STR("text", a->message), LOG_STR("file", a->file),
                 LOG_INT("line", a->line));
    else
        log_debug("grpc-log", LOG_STR("text", a->message), LOG_STR("file", a->file),
                  LOG_INT("line", a->line));
}

/* TLS listeners are gRPC's own (it cannot adopt a TLS connection from a
 * descriptor); every other listener is ours (accept.c). */
static int add_listeners(struct api_server *s, char *err, size_t errlen)
{
    grpc_server_credentials *secure = api_tls_server_credentials();
    int rc = 0;
    for (size_t i = 0; i < s->n_listeners && rc == 0; i++) {
        struct api_listener *l = &s->listeners[i];
        bool use_tls = secure && !l->unix_path;
        if (use_tls && (l->ro || l->max_conns)) {
            snprintf(err, errlen,
                     "%s: ?ro and ?max-conns are not supported on TLS listeners (gRPC accepts "
                     "those itself): use a unix or loopback listener for read-only access",
                     l->addr);
            rc = -EINVAL;
        } else if (use_tls) {
            if (grpc_server_add_http2_port(s->server, l->addr, secure) == 0) {
                snprintf(err, errlen,
                         "%s: cannot listen with TLS: the address is in use or not valid, or "
                         "gRPC rejected the certificate, key or client CA (is --grpc-tls-key "
                         "the key of --grpc-tls-cert?)",
                         l->addr);
                rc = -EADDRINUSE;
            } else {
                log_info("api-tls-listener", LOG_STR("addr", l->addr),
                         LOG_STR("client-auth", "required (certificate signed by the client CA)"));
            }
        } else if ((rc = api_accept_listen(s->accept, l, err, errlen)) == 0) {
            rc = api_listener_set_perms(l, err, errlen);
            if (!l->unix_path && !api_addr_is_loopback(l->addr))
                log_warn("api-plaintext-remote", LOG_STR("addr", l->addr),
                         LOG_STR("risk", "anyone who can reach it controls maglevd: use TLS "
                                         "(--grpc-tls-cert ...) or a loopback/unix address"));
        }
    }
    if (secure)
        grpc_server_credentials_release(secure);
    return rc;
}

/* Shuts the server down and drains the queue on this thread (no CQ thread). */
static void shutdown_unstarted(struct api_server *s)
{
    grpc_server_shutdown_and_notify(s->server, s->cq, &s->t_shutdown);
    for (;;) {
        grpc_event ev =
            grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type == GRPC_OP_COMPLETE && ev.tag == &s->t_shutdown)
            grpc_completion_queue_shutdown(s->cq);
    }
}

static void server_free(struct api_server *s)
{
    if (s->server)
        grpc_server_destroy(s->server);
    if (s->cq)
        grpc_completion_queue_destroy(s->cq);
    if (s->server || s->cq)
        grpc_shutdown();
    api_accept_free(s->accept); /* gRPC is done with the connections */
    /* our sockets go while the locks are still held */
    api_listeners_release(s->listeners, s->n_listeners);
    api_routes_free(s->routes, s->n_routes);
    free(s->counts);
    api_reflect_free(s->reflect);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int api_server_start(struct ev_loop *loop, const struct api_server_opts *opts,
                     struct api_server **out, char *err, size_t errlen)
{
    struct api_server *s = mem_calloc(1, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->loop = loop;
    s->ctx = opts->ctx;
    s->queue_max = opts->stream_queue_max ? opts->stream_queue_max : DEFAULT_QUEUE_MAX;
    s->t_shutdown.kind = TAG_SHUTDOWN;
    snprintf(err, errlen, "api: could not start");
    int rc = api_routes_build(opts, &s->routes, &s->n_routes, err, errlen);
    if (rc == 0)
        api_srv_counts_init(s);
    if (rc == 0)
        rc = api_listeners_prepare(opts->addrs ? opts->addrs : "", &s->listeners, &s->n_listeners,
                                   err, errlen);
    if (rc == 0 && opts->descriptor_set)
        rc = api_reflect_new(opts->descriptor_set, opts->descriptor_set_len, opts->service->name,
                             &s->reflect, err, errlen);
    if (rc < 0) {
        server_free(s);
        return rc;
    }

    gpr_set_log_function(grpc_log_to_ours);
    tune_for_floods();
    grpc_init();
    s->cq = grpc_completion_queue_create_for_next(NULL);
    struct api_accept_limits lim = {
        .max_conns = opts->max_conns ? opts->max_conns : DEFAULT_MAX_CONNS,
        .handshake_ms = opts->handshake_ms ? opts->handshake_ms : DEFAULT_HANDSHAKE_MS,
        .idle_ms = opts->idle_ms ? opts->idle_ms : DEFAULT_IDLE_MS,
    };
    s->accept = api_accept_new(loop, &lim);
    grpc_arg args[] = {
        { .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_ALLOW_REUSEPORT, .value.integer = 0 },
        /* TLS listeners (gRPC's): the handshake and idle limits of ours */
        { .type = GRPC_ARG_INTEGER,
          .key = GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
          .value.integer = (int)lim.handshake_ms },
        /* (on ours too, but later than our sweep, which logs the close:
         * gRPC's timer is a backstop there) */
        { .type = GRPC_ARG_INTEGER,
          .key = GRPC_ARG_MAX_CONNECTION_IDLE_MS,
          .value.integer = (int)(lim.idle_ms + IDLE_BACKSTOP_MS) },
        /* every connection: a peer that stops answering pings goes */
        { .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_KEEPALIVE_TIME_MS, .value.integer = 60000 },
        { .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_KEEPALIVE_TIMEOUT_MS, .value.integer = 20000 },
        { .type = GRPC_ARG_INTEGER,
          .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
          .value.integer = !opts->max_receive_bytes              ? DEFAULT_MAX_RECV
                           : opts->max_receive_bytes < INT32_MAX ? (int)opts->max_receive_bytes
                                                                 : INT32_MAX },
    };
    grpc_channel_args chargs = { .num_args = sizeof(args) / sizeof(args[0]), .args = args };
    s->server = grpc_server_create(&chargs, NULL);
    grpc_server_register_completion_queue(s->server, s->cq, NULL);
    rc = add_listeners(s, err, errlen);
    if (rc < 0) {
        shutdown_unstarted(s);
        server_free(s);
        return rc;
    }
    grpc_server_start(s->server);
    api_accept_start(s->accept, s->server);
    ev_async_init(&s->async, api_srv_on_async);
    s->async.data = s;
    ev_async_start(loop, &s->async);
    if ((rc = -pthread_create(&s->thread, NULL, api_srv_cq_main, s)) < 0) {
        snprintf(err, errlen, "api: cannot start the gRPC thread: %s", strerror(-rc));
        api_server_stop(s);
        return rc;
    }
    s->thread_started = true;
    for (int i = 0; i < REQUEST_POOL; i++)
        api_srv_arm_request(s);
    *out = s;
    return 0;
}

void api_server_stop(struct api_server *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_mutex_unlock(&s->mu);
    api_accept_stop(s->accept);
    if (!s->thread_started) {
        shutdown_unstarted(s);
    } else {
        grpc_server_shutdown_and_notify(s->server, s->cq, &s->t_shutdown);
        grpc_server_cancel_all_calls(s->server);
        while (s->loop_calls)
            api_srv_loop_cancel(s->loop_calls);
        /* The CQ thread finishes every call; hand-offs still arriving are
         * dropped (api_srv_process_queue does not run handlers while stopping). */
        for (bool done = false; !done;) {
            pthread_mutex_lock(&s->mu);
            while (!s->q_head && !s->cq_done)
                pthread_cond_wait(&s->cond, &s->mu);
            struct api_call *list = api_srv_take_queue_locked(s);
            done = !list && s->cq_done;
            pthread_mutex_unlock(&s->mu);
            api_srv_process_queue(s, list);
        }
        pthread_join(s->thread, NULL);
    }
    ev_async_stop(s->loop, &s->async);
    server_free(s);
}
