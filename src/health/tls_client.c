/* tls_client.c: the https probe's TLS, on OpenSSL directly.
 *
 * Why not libcurl any more: libcurl 7.88 builds a new SSL_CTX for every
 * connection (about 110 us of CPU with OpenSSL 3.0, a third of a resumed
 * probe), where one SSL_CTX per set of settings is all a probe needs.
 *
 * Contexts: a list of struct tls_ctx, one per distinct struct
 * tls_settings, each counting its users (probes in flight, backends'
 * slots). The last user frees it: after a reload that dropped every
 * healthcheck with those settings, the workers stop, their slots go and so
 * does the context. A context verifies the peer against the system's CA
 * store (OpenSSL's default paths, on Debian /etc/ssl/certs, as libcurl
 * did) unless tls-insecure; each connection then checks the name:
 * tls-server-name when set, else the backend's address (SAN IP entries).
 * SNI carries tls-server-name only, never an address.
 *
 * Sessions (tls-resume): each backend's slot (struct probe_tls_cache, one
 * per worker, see probe.h) keeps the last session the server gave. The
 * context has no internal session store; its new-session callback puts
 * the session into the slot of the connection that got it (TLS 1.2 at the
 * end of the handshake, TLS 1.3 tickets when the response is read). A
 * handshake that began and did not finish drops it. Per backend, never per
 * context: two backends with one address in two namespaces must never get
 * each other's sessions, and a resumed session skips the certificate
 * check. tls-resume: false offers none, keeps none and sets
 * SSL_OP_NO_TICKET on the connection: a full handshake every time.
 *
 * Closing: no close_notify. The probe resets the connection right after
 * the response (probe_http_native.c), so an alert would cost one more
 * record to encrypt and one more segment for a peer that is about to get
 * an RST anyway. OpenSSL would then count the connection as not shut down
 * and mark its session not resumable (ssl_clear_bad_session() in
 * SSL_free()): we mark it shut down on both sides first, sending nothing. */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "health/http_classify.h"
#include "health/tls_client.h"

/* What makes two contexts differ: everything the config offers that is a
 * property of the SSL_CTX (names, resumption are per connection). */
struct tls_settings {
    bool verify; /* not tls-insecure */
};

struct tls_ctx {
    SSL_CTX *ssl_ctx;
    struct tls_settings set;
    unsigned long refs;
    struct tls_ctx *prev, *next;
};

struct probe_tls_cache {
    struct tls_ctx *ctx;  /* the context its session was made with (a reference) */
    SSL_SESSION *session; /* NULL = none yet */
};

static struct tls_ctx *ctxs; /* the loop thread's only */

/* ---- contexts ------------------------------------------------------------------- */

static int on_new_session(SSL *ssl, SSL_SESSION *sess);

/* OpenSSL's reason for the oldest error queued, or fallback. */
static const char *ossl_reason(const char *fallback)
{
    const char *s = ERR_reason_error_string(ERR_peek_error());
    return s ? s : fallback;
}

static void ctx_put(struct tls_ctx *c)
{
    if (!c || --c->refs > 0)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        ctxs = c->next;
    if (c->next)
        c->next->prev = c->prev;
    SSL_CTX_free(c->ssl_ctx);
    free(c);
}

/* The context for set, with one more reference; NULL with err on failure. */
static struct tls_ctx *ctx_get(struct tls_settings set, char *err, size_t errlen)
{
    for (struct tls_ctx *c = ctxs; c; c = c->next) {
        if (c->set.verify == set.verify) {
            c->refs++;
            return c;
        }
    }
    ERR_clear_error();
    SSL_CTX *sc = SSL_CTX_new(TLS_client_method());
    if (!sc) {
        snprintf(err, errlen, "cannot set up TLS: %s", ossl_reason("out of memory"));
        ERR_clear_error();
        return NULL;
    }
    SSL_CTX_set_verify(sc, set.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    if (set.verify && SSL_CTX_set_default_verify_paths(sc) != 1) {
        snprintf(err, errlen, "cannot load the CA certificates: %s", ossl_reason("?"));
        ERR_clear_error();
        SSL_CTX_free(sc);
        return NULL;
    }
    SSL_CTX_set_session_cache_mode(sc, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(sc, on_new_session);
    struct tls_ctx *c = mem_calloc(1, sizeof(*c));
    c->ssl_ctx = sc;
    c->set = set;
    c->refs = 1;
    c->next = ctxs;
    if (ctxs)
        ctxs->prev = c;
    ctxs = c;
    return c;
}

size_t tls_ctx_count(void)
{
    size_t n = 0;
    for (struct tls_ctx *c = ctxs; c; c = c->next)
        n++;
    return n;
}

/* ---- sessions, per backend -------------------------------------------------------- */

static void slot_drop_session(struct probe_tls_cache *pc)
{
    if (pc) {
        SSL_SESSION_free(pc->session);
        pc->session = NULL;
    }
}

void probe_tls_cache_free(struct probe_tls_cache *pc)
{
    if (!pc)
        return;
    slot_drop_session(pc);
    ctx_put(pc->ctx);
    free(pc);
}

bool probe_tls_cache_has_session(const struct probe_tls_cache *pc)
{
    return pc && pc->session;
}

/* The slot, created on first use, on c's context: it holds a reference,
 * so the context outlives the probes of a backend whose worker lives. A
 * slot made on another context (settings changed, which the checker
 * answers with a new worker; or a test) starts over. */
static struct probe_tls_cache *slot_attach(struct tls_conn *c)
{
    if (!c->slot)
        return NULL;
    struct probe_tls_cache *pc = *c->slot;
    if (!pc) {
        pc = mem_calloc(1, sizeof(*pc));
        *c->slot = pc;
    } else if (pc->ctx != c->ctx) {
        slot_drop_session(pc);
        ctx_put(pc->ctx);
        pc->ctx = NULL;
    }
    if (!pc->ctx) {
        pc->ctx = c->ctx;
        c->ctx->refs++;
    }
    return pc;
}

/* A session from the server: into the slot of the connection that got it
 * (1: we keep the reference), or not kept (0). */
static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
    struct tls_conn *c = SSL_get_app_data(ssl);
    if (!c || !c->resume || !c->slot || !*c->slot)
        return 0;
    slot_drop_session(*c->slot);
    (*c->slot)->session = sess;
    return 1;
}

/* ---- connections --------------------------------------------------------------- */

static bool is_ip_literal(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* SNI and the name the certificate must match. */
static bool set_names(SSL *ssl, const struct healthcheck_conf *hc, const struct ip_addr *addr,
                      bool verify)
{
    const char *name = hc->tls_server_name && hc->tls_server_name[0] ? hc->tls_server_name : NULL;
    bool ip = name && is_ip_literal(name);
    if (name && !ip && SSL_set_tlsext_host_name(ssl, name) != 1)
        return false;
    if (!verify)
        return true;
    X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (name && !ip)
        return SSL_set1_host(ssl, name) == 1;
    char a[IP_ADDR_STRLEN];
    return X509_VERIFY_PARAM_set1_ip_asc(param, name ? name : ip_addr_format(addr, a, sizeof(a))) ==
           1;
}

int tls_conn_open(struct tls_conn *c, const struct healthcheck_conf *hc, const struct ip_addr *addr,
                  int fd, struct probe_tls_cache **slot, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    struct tls_settings set = { .verify = !hc->tls_insecure };
    c->ctx = ctx_get(set, err, errlen);
    if (!c->ctx)
        return -1;
    c->hc = hc;
    c->slot = slot;
    c->resume = hc->tls_resume && slot;
    struct probe_tls_cache *pc = slot_attach(c);
    ERR_clear_error();
    c->ssl = SSL_new(c->ctx->ssl_ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1 || !set_names(c->ssl, hc, addr, set.verify)) {
        snprintf(err, errlen, "cannot set up TLS: %s", ossl_reason("out of memory"));
        ERR_clear_error();
        return -1; /* tls_conn_close() cleans up */
    }
    SSL_set_app_data(c->ssl, c);
    SSL_set_connect_state(c->ssl);
    if (!hc->tls_resume)
        SSL_set_options(c->ssl, SSL_OP_NO_TICKET);
    else if (c->resume && pc->session && SSL_set_session(c->ssl, pc->session) != 1)
        ERR_clear_error(); /* then a full handshake */
    return 0;
}

enum tls_io tls_conn_handshake(struct tls_conn *c, const struct ip_addr *addr,
                               struct probe_result *r)
{
    ERR_clear_error();
    int rc = SSL_do_handshake(c->ssl);
    int err = errno;
    if (rc == 1) {
        c->done = true;
        return TLS_IO_DONE;
    }
    const char *server_name = c->hc->tls_server_name;
    unsigned long code = ERR_peek_error();
    switch (SSL_get_error(c->ssl, rc)) {
    case SSL_ERROR_WANT_READ:
        return TLS_IO_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        return TLS_IO_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
        http_tls_result(HTTP_TLS_CLOSED, NULL, server_name, addr, r);
        break;
    case SSL_ERROR_SYSCALL:
        if (err && !code)
            http_tls_result(HTTP_TLS_SOCKET, strerror(err), server_name, addr, r);
        else
            http_tls_result(HTTP_TLS_CLOSED, NULL, server_name, addr, r);
        break;
    case SSL_ERROR_SSL: {
        long v = SSL_get_verify_result(c->ssl);
        if (!c->hc->tls_insecure && v != X509_V_OK) {
            bool name = v == X509_V_ERR_HOSTNAME_MISMATCH || v == X509_V_ERR_IP_ADDRESS_MISMATCH;
            http_tls_result(name ? HTTP_TLS_NAME : HTTP_TLS_VERIFY,
                            X509_verify_cert_error_string(v), server_name, addr, r);
        } else if (ERR_GET_LIB(code) == ERR_LIB_SSL &&
                   ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            http_tls_result(HTTP_TLS_CLOSED, NULL, server_name, addr, r);
        } else {
            http_tls_result(HTTP_TLS_PROTOCOL, ERR_reason_error_string(code), server_name, addr, r);
        }
        break;
    }
    default:
        http_tls_result(HTTP_TLS_PROTOCOL, ERR_reason_error_string(code), server_name, addr, r);
        break;
    }
    ERR_clear_error();
    return TLS_IO_ERROR;
}

/* What a failed SSL_read_ex/SSL_write_ex (rc) means; errno as it was. */
static enum tls_io io_result(struct tls_conn *c, int rc, int err, char *buf, size_t len)
{
    unsigned long code = ERR_peek_error();
    enum tls_io res = TLS_IO_ERROR;
    switch (SSL_get_error(c->ssl, rc)) {
    case SSL_ERROR_WANT_READ:
        return TLS_IO_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        return TLS_IO_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN: /* close_notify */
        res = TLS_IO_EOF;
        break;
    case SSL_ERROR_SYSCALL:
        if (err && !code)
            snprintf(buf, len, "%s", strerror(err));
        else
            res = TLS_IO_EOF;
        break;
    default:
        if (ERR_GET_LIB(code) == ERR_LIB_SSL &&
            ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
            res = TLS_IO_EOF; /* closed without close_notify: an end all the same */
        else
            snprintf(buf, len, "%s", ossl_reason("TLS error"));
        break;
    }
    ERR_clear_error();
    return res;
}

enum tls_io tls_conn_send(struct tls_conn *c, const void *buf, size_t len, size_t *n, char *err,
                          size_t errlen)
{
    ERR_clear_error();
    if (SSL_write_ex(c->ssl, buf, len, n) == 1)
        return TLS_IO_DONE;
    return io_result(c, 0, errno, err, errlen);
}

enum tls_io tls_conn_recv(struct tls_conn *c, void *buf, size_t len, size_t *n, char *err,
                          size_t errlen)
{
    ERR_clear_error();
    if (SSL_read_ex(c->ssl, buf, len, n) == 1)
        return TLS_IO_DONE;
    return io_result(c, 0, errno, err, errlen);
}

bool tls_conn_pending(const struct tls_conn *c)
{
    return c->ssl && SSL_pending(c->ssl) > 0;
}

void tls_conn_close(struct tls_conn *c, bool handshake_began)
{
    if (c->ssl) {
        if (handshake_began && !c->done && c->slot)
            slot_drop_session(*c->slot); /* it may be what spoiled the handshake */
        /* no close_notify, but a session that stays resumable (see the top) */
        SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        SSL_free(c->ssl); /* the socket stays open: the probe closes it */
    }
    ctx_put(c->ctx);
    memset(c, 0, sizeof(*c));
}
