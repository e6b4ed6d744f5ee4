/* Internal to src/health: the TLS client side of the https probe, on
 * OpenSSL, non-blocking (tls_client.c).
 *
 * One SSL_CTX per distinct set of TLS settings (today: whether the peer is
 * verified), shared by every backend probed with those settings, created
 * on first use and freed when its last user lets go: the backends' session
 * slots (struct probe_tls_cache, freed when a worker stops, e.g. after a
 * reload) and the probes in flight. Everything runs on the loop thread. */
#ifndef MAGLEV_HEALTH_TLS_CLIENT_H
#define MAGLEV_HEALTH_TLS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/ipaddr.h"
#include "config/config.h"
#include "health/probe.h"
#include "health/result.h"

struct tls_ctx;
struct ssl_st;

/* One probe's TLS connection. */
struct tls_conn {
    struct ssl_st *ssl;
    struct tls_ctx *ctx;               /* a reference, held while the probe lives */
    struct probe_tls_cache **slot;     /* the backend's, NULL = none */
    const struct healthcheck_conf *hc; /* tls-server-name, tls-resume */
    bool resume;                       /* keep the sessions the server gives */
    bool done;                         /* the handshake finished */
};

/* What an operation needs next. */
enum tls_io {
    TLS_IO_DONE,       /* finished (handshake) or n bytes moved (send, recv) */
    TLS_IO_WANT_READ,  /* call again once fd is readable */
    TLS_IO_WANT_WRITE, /* ... writable */
    TLS_IO_EOF,        /* the server closed the connection */
    TLS_IO_ERROR,      /* failed: see the result or err */
};

/* Sets c up on the connected socket fd for a probe of addr with hc; the
 * session kept in *slot (when hc has tls-resume) is offered. 0, or -1 with
 * err describing what failed. */
int tls_conn_open(struct tls_conn *c, const struct healthcheck_conf *hc, const struct ip_addr *addr,
                  int fd, struct probe_tls_cache **slot, char *err, size_t errlen);
/* One step of the handshake; on TLS_IO_ERROR r holds L6RSP and why. */
enum tls_io tls_conn_handshake(struct tls_conn *c, const struct ip_addr *addr,
                               struct probe_result *r);
/* Encrypts and sends / receives and decrypts; *n is the bytes moved on
 * TLS_IO_DONE. On TLS_IO_ERROR err holds why ("Connection reset by peer"). */
enum tls_io tls_conn_send(struct tls_conn *c, const void *buf, size_t len, size_t *n, char *err,
                          size_t errlen);
enum tls_io tls_conn_recv(struct tls_conn *c, void *buf, size_t len, size_t *n, char *err,
                          size_t errlen);
/* Whether decrypted bytes wait inside OpenSSL (the socket may not be
 * readable again for them). */
bool tls_conn_pending(const struct tls_conn *c);
/* Frees c's state (never sends close_notify: see tls_client.c). A
 * handshake that began and did not finish drops the backend's session. */
void tls_conn_close(struct tls_conn *c, bool handshake_began);

/* Test hooks: the SSL_CTXs alive; whether a slot holds a session. */
size_t tls_ctx_count(void);
bool probe_tls_cache_has_session(const struct probe_tls_cache *c);

#endif
