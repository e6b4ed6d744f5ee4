/* Internal to src/health: what the probe types share. */
#ifndef MAGLEV_HEALTH_PROBE_INT_H
#define MAGLEV_HEALTH_PROBE_INT_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "health/probe.h"

struct icmp_env; /* probe_icmp.c */

struct probe_env {
    struct ev_loop *loop;
    char user_agent[160];
    struct icmp_env *icmp;
    unsigned long live; /* probes started and not yet finished or cancelled */
};

struct probe;

struct probe_ops {
    /* Begins the work; on a synchronous failure calls probe_fail_soon(). */
    void (*start)(struct probe *p);
    /* The timeout fired: fill r with the code of the phase reached
     * (L4TOUT / L6TOUT / L7TOUT) and a detail. Release follows. */
    void (*timed_out)(struct probe *p, struct probe_result *r);
    /* Frees the type's state: sockets, watchers, handles. Called exactly
     * once, on finish or cancel. */
    void (*release)(struct probe *p);
};

struct probe {
    struct probe_env *env;
    const struct probe_ops *ops;
    const struct healthcheck_conf *hc;
    struct ip_addr addr;
    char *netns;                        /* NULL = the daemon's namespace */
    char *backend;                      /* for debug logs */
    struct probe_tls_cache **tls_cache; /* the backend's slot, NULL = none (probe.h) */
    probe_cb cb;
    void *ctx;
    int64_t start_us; /* clock_mono_us() */
    ev_timer timer;   /* the probe's timeout; 0 s for a deferred failure */
    bool failed_soon;
    struct probe_result deferred;
    void *impl; /* the type's state */
};

/* Delivers r: stops the timer, releases the type's state, frees p, then
 * calls the callback. p is gone afterwards. */
void probe_finish(struct probe *p, const struct probe_result *r);
/* A failure found before any I/O: delivered from the loop right away. */
void probe_fail_soon(struct probe *p, enum probe_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A socket created inside the namespace netns (NULL = the daemon's own),
 * non-blocking and close-on-exec, bound to src when src is set. The thread
 * always returns to the daemon's namespace, even on error. Returns the fd,
 * or -errno with err describing what failed (e.g. "netns blue: No such
 * file or directory"). */
int netns_socket(const char *netns, int domain, int type, int protocol, const struct ip_addr *src,
                 char *err, size_t errlen);
/* Probe environments hold the daemon's own namespace open while they live;
 * the last release closes it. */
void netns_hold(void);
void netns_release(void);
/* sockaddr for addr:port; returns its length. */
socklen_t probe_sockaddr(const struct ip_addr *addr, uint16_t port, struct sockaddr_storage *ss);

/* The probe types. */
extern const struct probe_ops probe_tcp_ops;
extern const struct probe_ops probe_icmp_ops;
extern const struct probe_ops probe_http_native_ops; /* http and https, our own client */

/* Per-type shared state, created lazily and freed with the env. */
void probe_icmp_env_free(struct probe_env *env);

#endif
