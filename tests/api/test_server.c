/* api_test_server: the gRPC server module with fixed handlers, for
 * test_grpc_server.py.
 *
 *     api_test_server [--debug] [--queue-max N] ADDRS
 *
 * Prints "ready" when listening and one line per cancel callback
 * ("cancel WatchEvents peer=..."); SIGTERM/SIGINT stop it (exit 0). */
#include <errno.h>
#include <ev.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/grpc_server.h"
#include "common/log.h"
#include "maglev.pb-c.h"
#include "maglev_descriptor.h"

static struct api_server *server;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void get_version(struct api_call *call, const ProtobufCMessage *req, void *ctx)
{
    Maglev__VersionInfo v = MAGLEV__VERSION_INFO__INIT;
    v.version = "1.2.3";
    v.commit = "abc1234";
    v.build_date = "2026-01-01T00:00:00Z";
    v.start_time_us = 1700000000000000;
    v.pid = (int32_t)getpid();
    v.config_path = "/etc/vpp-maglev/maglev.yaml";
    api_reply(call, &v.base);
}

static void fill_backend(Maglev__Backend *b, const char *name)
{
    maglev__backend__init(b);
    b->name = (char *)name;
    b->address = "192.0.2.1";
    b->state = "up";
    b->enabled = true;
    b->rise = 2;
    b->fall = 3;
}

/* A mutating method (refused on a "?ro" listener): says who called. */
static void pause_backend(struct api_call *call, const ProtobufCMessage *req, void *ctx)
{
    (void)ctx;
    const Maglev__BackendActionRequest *r = (const Maglev__BackendActionRequest *)req;
    say("pause %s peer=%s", r->name, api_call_peer(call));
    Maglev__Backend b;
    fill_backend(&b, r->name);
    api_reply(call, &b.base);
}

static void get_backend(struct api_call *call, const ProtobufCMessage *req, void *ctx)
{
    const Maglev__GetBackendRequest *r = (const Maglev__GetBackendRequest *)req;
    if (!*r->name) {
        api_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "backend name is empty");
        return;
    }
    if (strcmp(r->name, "b1") != 0) {
        api_fail(call, GRPC_STATUS_NOT_FOUND, "backend \"%s\" not found", r->name);
        return;
    }
    Maglev__Backend b;
    fill_backend(&b, r->name);
    api_reply(call, &b.base);
}

static void list_backends(struct api_call *call, const ProtobufCMessage *req, void *ctx)
{
    static const char *const names[] = { "b1", "b2", "b3" };
    Maglev__Backend bs[3], *ptrs[3];
    for (int i = 0; i < 3; i++) {
        fill_backend(&bs[i], names[i]);
        ptrs[i] = &bs[i];
    }
    Maglev__ListBackendsResponse resp = MAGLEV__LIST_BACKENDS_RESPONSE__INIT;
    resp.n_backends = 3;
    resp.backends = ptrs;
    api_reply(call, &resp.base);
}

static void on_cancel(struct api_call *call, void *ctx)
{
    say("cancel %s peer=%s", api_call_method(call), api_call_peer(call));
}

static int send_event(struct api_call *call, int i)
{
    char name[32];
    snprintf(name, sizeof(name), "b%d", i);
    Maglev__BackendEvent be = MAGLEV__BACKEND_EVENT__INIT;
    be.name = name;
    be.state = "up";
    be.initial = true;
    Maglev__Event e = MAGLEV__EVENT__INIT;
    e.time_us = 1700000000000000 + i;
    e.kind_case = MAGLEV__EVENT__KIND_BACKEND;
    e.backend = &be;
    return api_stream_send(call, &e.base);
}

static void watch_events(struct api_call *call, const ProtobufCMessage *req, void *ctx)
{
    const Maglev__WatchEventsRequest *r = (const Maglev__WatchEventsRequest *)req;
    if (strcmp(r->log_level, "flood") == 0) {
        int i = 0, rc;
        while ((rc = send_event(call, i)) == 0)
            i++;
        say("flood sent=%d rc=%d", i, rc);
        api_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "subscriber too slow");
        return;
    }
    for (int i = 0; i < 5; i++) {
        int rc = send_event(call, i);
        if (rc < 0) {
            /* a client that cancels after the first event (the valgrind
             * test) can be seen here already, slowed down enough */
            if (rc == -EPIPE)
                say("cancel %s peer=%s (while sending)", api_call_method(call),
                    api_call_peer(call));
            api_fail(call, GRPC_STATUS_INTERNAL, "send: %s", strerror(-rc));
            return;
        }
    }
    api_call_on_cancel(call, on_cancel, NULL);
    say("watch peer=%s", api_call_peer(call));
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    say("stopping");
    api_server_stop(server);
    server = NULL;
    ev_break(loop, EVBREAK_ALL);
}

int main(int argc, char **argv)
{
    size_t queue_max = 0;
    bool debug = false;
    int i = 1;
    for (; i < argc - 1; i++) {
        if (strcmp(argv[i], "--debug") == 0)
            debug = true;
        else if (strcmp(argv[i], "--queue-max") == 0 && i + 2 < argc)
            queue_max = strtoul(argv[++i], NULL, 10);
        else
            break;
    }
    if (i != argc - 1) {
        fprintf(stderr, "usage: api_test_server [--debug] [--queue-max N] ADDRS\n");
        return 2;
    }
    log_setup(debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO, LOG_FORMAT_TEXT, 2);

    /* before gRPC starts threads: they inherit the mask */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    struct ev_loop *loop = ev_default_loop(EVFLAG_SIGNALFD);
    ev_signal sigterm, sigint;
    ev_signal_init(&sigterm, on_signal, SIGTERM);
    ev_signal_init(&sigint, on_signal, SIGINT);
    ev_signal_start(loop, &sigterm);
    ev_signal_start(loop, &sigint);

    static const struct api_method methods[] = {
        { "GetVersion", get_version, false },     { "GetBackend", get_backend, false },
        { "ListBackends", list_backends, false }, { "PauseBackend", pause_backend, false },
        { "WatchEvents", watch_events, true },
    };
    struct api_server_opts opts = {
        .addrs = argv[i],
        .service = &maglev__maglev__descriptor,
        .methods = methods,
        .n_methods = sizeof(methods) / sizeof(methods[0]),
        .descriptor_set = maglev_descriptor_set,
        .descriptor_set_len = maglev_descriptor_set_len,
        .stream_queue_max = queue_max,
    };
    char err[512];
    int rc = api_server_start(loop, &opts, &server, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "api_test_server: %s\n", err);
        ev_loop_destroy(loop);
        return 1;
    }
    say("ready");
    ev_run(loop, 0);
    ev_signal_stop(loop, &sigterm);
    ev_signal_stop(loop, &sigint);
    ev_loop_destroy(loop);
    return 0;
}
