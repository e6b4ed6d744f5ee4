/* counts.c: the calls the gRPC server ended, by method and status, for
 * metrics. A call ends on the completion-queue thread or on the loop
 * (whoever drops its last reference), so the counts are C11 atomics
 * (relaxed: each is a plain event counter, read by the scrape on the
 * loop); nothing else is shared. */
#include <stdatomic.h>
#include <stdlib.h>

#include "api/grpc_server_int.h"
#include "api/server_setup.h"
#include "common/grpc_code.h"
#include "common/mem.h"

void api_srv_counts_init(struct api_server *s)
{
    /* zeroed memory is a valid initial state of a lock-free atomic */
    s->counts = mem_calloc(s->n_routes + 2, sizeof(*s->counts));
}

void api_srv_count_call(struct api_server *s, const struct api_call *c)
{
    if (!s->counts || !c->start_us) /* a call slot that never got a call */
        return;
    size_t route = c->m                      ? (size_t)(c->m - s->routes)
                   : c->kind == CALL_REFLECT ? s->n_routes
                                             : s->n_routes + 1;
    /* a call without a status sent was cancelled (client gone, server
     * stopping) */
    unsigned code = c->final == FINAL_STARTED ? (unsigned)c->code : GRPC_STATUS_CANCELLED;
    if (code >= API_STATUS_CODES)
        code = GRPC_STATUS_UNKNOWN;
    atomic_fetch_add_explicit(&s->counts[route][code], 1, memory_order_relaxed);
}

const char *api_status_name(grpc_status_code code)
{
    return grpc_code_name((int)code);
}

void api_server_each_count(const struct api_server *s, api_count_fn fn, void *ctx)
{
    if (!s || !s->counts)
        return;
    for (size_t r = 0; r < s->n_routes + 2; r++) {
        const char *method = r < s->n_routes    ? s->routes[r].desc->name
                             : r == s->n_routes ? "ServerReflectionInfo"
                                                : "unknown";
        for (unsigned code = 0; code < API_STATUS_CODES; code++) {
            uint64_t n = atomic_load_explicit(&s->counts[r][code], memory_order_relaxed);
            if (n)
                fn(ctx, method, (grpc_status_code)code, n);
        }
    }
}
