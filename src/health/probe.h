/* probe: one health probe of one backend, asynchronous on the libev loop.
 *
 * The checker starts a probe with probe_start() and gets exactly one
 * callback with the result, never from inside probe_start() itself, unless
 * it cancels the probe first (then no callback at all). Every probe honours
 * the healthcheck's timeout, source-address and network namespace.
 * Everything here runs on the loop thread. */
#ifndef MAGLEV_HEALTH_PROBE_H
#define MAGLEV_HEALTH_PROBE_H

#include <stdint.h>

#include "common/ipaddr.h"
#include "config/config.h"
#include "health/result.h"

struct ev_loop;
struct probe_env;
struct probe;

struct probe_tls_cache; /* one backend's TLS context reference and session (https) */

struct probe_req {
    const struct healthcheck_conf *hc; /* must outlive the probe */
    struct ip_addr addr;               /* the backend */
    const char *netns;                 /* effective namespace; NULL = the daemon's */
    const char *backend;               /* name, for debug logs */
    /* The backend's TLS slot: an https probe creates it on first use; it
     * holds the backend's reference to the shared OpenSSL context of its
     * TLS settings and, with tls-resume, the last session the server gave,
     * offered on the next handshake and dropped when a handshake fails or
     * times out. Its owner frees it with probe_tls_cache_free() when the
     * backend's worker stops (settings changed, paused, removed), with no
     * probe of it in flight. One slot per backend: a session is never
     * offered to another backend. NULL: no resumption. Must outlive the
     * probe. */
    struct probe_tls_cache **tls_cache;
};

typedef void (*probe_cb)(void *ctx, const struct probe_result *r);

/* The shared machinery: loop, ICMP sockets by (family, namespace), the
 * User-Agent. */
struct probe_env *probe_env_new(struct ev_loop *loop);
/* Cancels nothing: all probes must be cancelled or finished first. */
void probe_env_free(struct probe_env *env);

/* Starts a probe (never NULL: out of memory aborts, see common/mem.h). */
struct probe *probe_start(struct probe_env *env, const struct probe_req *req, probe_cb cb,
                          void *ctx);
/* Stops a probe in flight and releases it; no callback follows. */
void probe_cancel(struct probe *p);
/* Frees a backend's TLS session cache (NULL is fine). No probe may be
 * using it. */
void probe_tls_cache_free(struct probe_tls_cache *c);

#endif
