/* api.c: starting and stopping the maglev.Maglev service. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "api/api.h"
#include "api/api_int.h"
#include "common/log.h"
#include "maglev.pb-c.h"
#include "maglev_descriptor.h"
#include "common/mem.h"

int api_start(struct core *core, const char *addrs, const struct api_limits *lim, struct api **out,
              char *err, size_t errlen)
{
    *out = NULL;
    if (!addrs || !*addrs)
        return 0;
    struct api *api = mem_calloc(1, sizeof(*api));
    api->core = core;
    api->events = api_events_new(api);
    struct api_server_opts opts = {
        .addrs = addrs,
        .service = &maglev__maglev__descriptor,
        .methods = api_methods,
        .n_methods = api_n_methods,
        .ctx = api,
        .descriptor_set = maglev_descriptor_set,
        .descriptor_set_len = maglev_descriptor_set_len,
        .max_conns = lim ? lim->max_conns : 0,
        .handshake_ms = lim ? lim->handshake_ms : 0,
        .idle_ms = lim ? lim->idle_ms : 0,
    };
    int rc = api_server_start(core_loop(core), &opts, &api->server, err, errlen);
    if (rc < 0) {
        api_events_free(api->events);
        free(api);
        return rc;
    }
    log_info("api-listening", LOG_STR("addr", addrs));
    *out = api;
    return 0;
}

void api_stop(struct api *api)
{
    if (!api)
        return;
    api_events_free(api->events); /* ends the event streams cleanly */
    api_server_stop(api->server);
    free(api);
}

struct count_fwd {
    api_request_count_fn fn;
    void *ctx;
};

static void count_fwd(void *ctx, const char *method, grpc_status_code code, uint64_t n)
{
    struct count_fwd *f = ctx;
    f->fn(f->ctx, method, api_status_name(code), n);
}

void api_request_counts(const struct api *api, api_request_count_fn fn, void *ctx)
{
    if (!api)
        return;
    struct count_fwd f = { fn, ctx };
    api_server_each_count(api->server, count_fwd, &f);
}

size_t api_event_streams(const struct api *api)
{
    return api ? api_events_count(api->events) : 0;
}
