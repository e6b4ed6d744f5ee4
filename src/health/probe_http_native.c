/* probe_http_native.c: the http and https probes, a small HTTP/1.1
 * client on the loop; https adds OpenSSL (tls_client.c) between the socket
 * and the same request and response code.
 *
 * One connection per probe, created by netns_socket() in the probe's
 * namespace and bound to its source address, with TCP_NODELAY and a
 * non-blocking connect. Once the socket is writable and SO_ERROR says it
 * is connected, https makes its TLS handshake (the ev_io waits for what
 * OpenSSL wants next: readable or writable), then the whole request goes
 * out in one send() (one TLS record); then the same ev_io reads the
 * response into one buffer:
 *   - without a response-regex the status line decides, and the connection
 *     is closed at once (the headers and body are never waited for);
 *   - with one, a status that fails response-codes decides at once too;
 *     otherwise the head (at most HEAD_MAX bytes) and the body (by
 *     Content-Length, chunked or up to the close; at most BODY_MAX bytes,
 *     decoded in place) are read, and the regex decides.
 * An interim response (100 Continue) is skipped. Parsing is http_parse.c's;
 * results and their wording are those the libcurl probe gave before
 * (http_classify.c, result.c). Compiled regexes are kept in one
 * regex_cache for the process: the loop's thread is the only user.
 *
 * Segments, as HAProxy's checks do it: TCP_QUICKACK is off before the
 * connect, so our ACK of the SYN-ACK rides on the request and the one of
 * the response on our close: 8 segments a probe instead of 10 (nginx,
 * Connection: close). And once a byte of the response came, the connection
 * is closed with SO_LINGER {1, 0}: an RST, one segment less again and no
 * TIME_WAIT on either side. The server has sent its answer by then and
 * usually closed already (we asked for Connection: close); if it is still
 * sending a body we will not read, close() would reset the connection
 * anyway. Before any response (timeouts, cancels) the close stays a FIN.
 * bench/probes, 10,000 backends, 20 s, CPU µs per probe against HAProxy's
 * in the same run: close() 41.2 vs 36.5 (10 segments), RST 34.3 vs 38.5
 * (9), no quick ACKs and close() 36.7 vs 39.1 (8), both 31.7 vs 39.1 (7);
 * nginx's CPU too went from 22 % to 16 % of a core. With TLS the RST
 * comes without a close_notify before it (tls_client.c says why). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/mem.h"
#include "health/http_classify.h"
#include "health/http_parse.h"
#include "health/probe_int.h"
#include "health/regex_cache.h"
#include "health/tls_client.h"

#define HEAD_MAX  (16 * 1024) /* status line and headers */
#define BODY_MAX  (64 * 1024) /* body bytes kept for the regex */
#define BUF_FIRST 1024        /* first allocation: request, then response */

enum phase { PH_CONNECT, PH_HANDSHAKE, PH_SEND, PH_RECV };

struct native_probe {
    ev_io io; /* writable while connecting and sending, then readable; TLS: as it wants */
    int fd;
    int events; /* io's */
    enum phase phase;
    bool https;
    bool connected; /* a timeout is L6TOUT (https) or L7TOUT from here on */
    bool got_any;   /* a byte of the response came */
    bool in_body;   /* the head is complete */
    char *buf;      /* the request while sending, then the response */
    size_t len;     /* in buf: the request; head + decoded body */
    size_t cap;
    size_t sent; /* request bytes sent */
    struct http_head head;
    struct http_body body;
    struct tls_conn tls; /* https */
};

static struct regex_cache regexes;

/* ---- results ------------------------------------------------------------------- */

/* Both return true: the probe is gone. */
static bool finish(struct probe *p, const struct probe_result *r)
{
    log_debug("http-probe-done", LOG_STR("backend", p->backend),
              LOG_STR("code", probe_code_name(r->code)), LOG_STR("detail", r->detail));
    probe_finish(p, r); /* releases np, closing the connection */
    return true;
}

static bool fail(struct probe *p, enum probe_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail(struct probe *p, enum probe_code code, const char *fmt, ...)
{
    struct probe_result r;
    memset(&r, 0, sizeof(r));
    r.code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r.detail, sizeof(r.detail), fmt, ap);
    va_end(ap);
    return finish(p, &r);
}

/* A connect(2) error: local resource shortages are ours (SOCKERR), the
 * rest says something about the path to the backend (as probe_tcp.c). */
static void connect_error(int err, struct probe_result *r)
{
    switch (err) {
    case EADDRNOTAVAIL: /* no free local port */
    case EAGAIN:
    case ENOBUFS:
    case ENOMEM:
        probe_result_set(r, PC_SOCKERR, "connect: %s", strerror(err));
        break;
    default:
        probe_result_from_errno(err, r);
        break;
    }
}

/* The response is complete (or BODY_MAX of its body is in): the regex
 * decides. */
static bool decide(struct probe *p)
{
    struct native_probe *np = p->impl;
    struct probe_result r;
    memset(&r, 0, sizeof(r));
    char err[PROBE_DETAIL_MAX];
    const struct pcre2_real_code_8 *re = NULL;
    if (p->hc->response_regex && !(re = regex_cache_get(&regexes, p->hc, err, sizeof(err))))
        return fail(p, PC_L7RSP, "%s", err);
    size_t n = np->len - np->head.len;
    http_check_response(p->hc, re, np->head.status, np->buf + np->head.len,
                        n < BODY_MAX ? n : BODY_MAX, &r);
    return finish(p, &r);
}

/* ---- the response ----------------------------------------------------------------- */

/* cap >= want. Bounded: the request by the config, the response by
 * HEAD_MAX and BODY_MAX. The new room is zeroed: pcre2's JIT matcher reads
 * a little past the end of the subject (inside the buffer), which valgrind
 * reports as a use of uninitialised bytes; zeroing costs far less than a
 * probe's syscalls. */
static void buf_reserve(struct native_probe *np, size_t want)
{
    if (np->cap >= want)
        return;
    size_t cap = np->cap ? np->cap : BUF_FIRST;
    while (cap < want)
        cap *= 2;
    np->buf = mem_realloc(np->buf, cap);
    memset(np->buf + np->cap, 0, cap - np->cap);
    np->cap = cap;
}

/* n more bytes of the body arrived at buf + len; true when that decided. */
static bool body_data(struct probe *p, size_t n)
{
    struct native_probe *np = p->impl;
    size_t out;
    enum http_parse_rc rc = http_body_feed(&np->body, np->buf + np->len, n, &out);
    np->len += out;
    if (rc == HTTP_PARSE_BAD)
        return fail(p, PC_L7RSP, "invalid HTTP response");
    if (rc == HTTP_PARSE_DONE || np->len - np->head.len >= BODY_MAX)
        return decide(p);
    return false;
}

/* More of the head arrived: buf[0..len); true when that decided. */
static bool head_data(struct probe *p)
{
    struct native_probe *np = p->impl;
    for (;;) {
        enum http_parse_rc rc = http_head_parse(&np->head, np->buf, np->len);
        int status = np->head.status;
        if (status && !http_status_interim(status)) {
            struct probe_result r;
            memset(&r, 0, sizeof(r));
            http_check_response(p->hc, NULL, status, NULL, 0, &r);
            if (!p->hc->response_regex || r.code != PC_L7OK) /* the status decides */
                return finish(p, &r);
        }
        if (rc == HTTP_PARSE_BAD)
            return fail(p, PC_L7RSP, "invalid HTTP response");
        if (rc == HTTP_PARSE_MORE)
            return np->len >= HEAD_MAX && fail(p, PC_L7RSP, "headers too large");
        if (!http_status_interim(status))
            break;
        /* 1xx: the response the request asked for follows */
        memmove(np->buf, np->buf + np->head.len, np->len - np->head.len);
        np->len -= np->head.len;
        http_head_init(&np->head);
    }
    http_body_init(&np->body, &np->head);
    np->in_body = true;
    size_t n = np->len - np->head.len; /* body bytes that came with the head */
    np->len = np->head.len;
    return body_data(p, n);
}

static void on_eof(struct probe *p)
{
    struct native_probe *np = p->impl;
    if (!np->got_any)
        fail(p, PC_L7RSP, "empty response");
    else if (!np->in_body)
        fail(p, PC_L7RSP, np->head.status ? "incomplete response" : "invalid HTTP response");
    else if (np->body.mode == HTTP_BODY_CLOSE)
        decide(p);
    else
        fail(p, PC_L7RSP, "incomplete response");
}

/* n bytes arrived at buf + len; true when that decided. */
static bool data_in(struct probe *p, size_t n)
{
    struct native_probe *np = p->impl;
    np->got_any = true;
    if (np->in_body)
        return body_data(p, n);
    np->len += n;
    return head_data(p);
}

/* io waits for events (EV_READ or EV_WRITE) from here on. */
static void watch(struct probe *p, int events)
{
    struct native_probe *np = p->impl;
    if (np->events == events)
        return;
    ev_io_stop(p->env->loop, &np->io);
    ev_io_set(&np->io, np->fd, events);
    ev_io_start(p->env->loop, &np->io);
    np->events = events;
}

/* Reading the response over TLS: until OpenSSL has nothing more, as it may
 * hold decrypted bytes that no readable socket will announce again. */
static void recv_tls(struct probe *p)
{
    struct native_probe *np = p->impl;
    for (;;) {
        size_t limit = np->in_body ? np->head.len + BODY_MAX : HEAD_MAX;
        if (np->len >= np->cap)
            buf_reserve(np, np->cap * 2 < limit ? np->cap * 2 : limit);
        size_t room = np->cap - np->len, n = 0;
        if (room > limit - np->len)
            room = limit - np->len;
        char err[PROBE_DETAIL_MAX];
        switch (tls_conn_recv(&np->tls, np->buf + np->len, room, &n, err, sizeof(err))) {
        case TLS_IO_DONE:
            if (data_in(p, n))
                return;
            if (!tls_conn_pending(&np->tls))
                return; /* the socket says when more comes */
            break;
        case TLS_IO_WANT_READ:
            watch(p, EV_READ);
            return;
        case TLS_IO_WANT_WRITE:
            watch(p, EV_WRITE);
            return;
        case TLS_IO_EOF:
            on_eof(p);
            return;
        case TLS_IO_ERROR:
            fail(p, PC_L7RSP, "receive error: %s", err);
            return;
        }
    }
}

static void recv_step(struct probe *p)
{
    struct native_probe *np = p->impl;
    if (np->https) {
        recv_tls(p);
        return;
    }
    size_t limit = np->in_body ? np->head.len + BODY_MAX : HEAD_MAX;
    if (np->len >= np->cap)
        buf_reserve(np, np->cap * 2 < limit ? np->cap * 2 : limit);
    size_t room = np->cap - np->len;
    if (room > limit - np->len)
        room = limit - np->len; /* the body is decoded in place: at most BODY_MAX */
    ssize_t n = recv(np->fd, np->buf + np->len, room, 0);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            fail(p, PC_L7RSP, "receive error: %s", strerror(errno));
        return;
    }
    if (n == 0) {
        on_eof(p);
        return;
    }
    data_in(p, (size_t)n);
}

/* ---- connecting and the request ------------------------------------------------------ */

static uint16_t default_port(const struct healthcheck_conf *hc)
{
    return hc->type == HC_HTTPS ? 443 : 80;
}

static uint16_t port_of(const struct healthcheck_conf *hc)
{
    return hc->port ? hc->port : default_port(hc);
}

/* The request into buf[0..len); false when it cannot be formatted. Host:
 * the configured one, or tls-server-name (https) or the address (IPv6 in
 * brackets), and the port unless the scheme's default, as libcurl sent it. */
static bool build_request(struct probe *p, struct native_probe *np)
{
    const struct healthcheck_conf *hc = p->hc;
    const char *path = hc->path && hc->path[0] == '/' ? hc->path : "/";
    const char *name =
        np->https && hc->tls_server_name && hc->tls_server_name[0] ? hc->tls_server_name : NULL;
    char addr[IP_ADDR_STRLEN], host[300];
    if (!hc->host) {
        if (!name)
            name = ip_addr_format(&p->addr, addr, sizeof(addr));
        int n = snprintf(host, sizeof(host), strchr(name, ':') ? "[%.255s]" : "%.255s", name);
        if (port_of(hc) != default_port(hc))
            snprintf(host + n, sizeof(host) - (size_t)n, ":%u", port_of(hc));
    }
    for (;;) {
        int n = snprintf(np->buf, np->cap,
                         "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: */*\r\n"
                         "Connection: close\r\n\r\n",
                         path, hc->host ? hc->host : host, p->env->user_agent);
        if (n < 0)
            return false;
        if ((size_t)n < np->cap) {
            np->len = (size_t)n;
            return true;
        }
        buf_reserve(np, (size_t)n + 1);
    }
}

static void send_step(struct probe *p)
{
    struct native_probe *np = p->impl;
    size_t n = 0;
    if (np->https) {
        char err[PROBE_DETAIL_MAX];
        switch (
            tls_conn_send(&np->tls, np->buf + np->sent, np->len - np->sent, &n, err, sizeof(err))) {
        case TLS_IO_DONE:
            break;
        case TLS_IO_WANT_READ:
            watch(p, EV_READ);
            return;
        case TLS_IO_WANT_WRITE:
            watch(p, EV_WRITE);
            return;
        case TLS_IO_EOF:
            fail(p, PC_L7RSP, "send error: connection closed");
            return;
        case TLS_IO_ERROR:
            fail(p, PC_L7RSP, "send error: %s", err);
            return;
        }
    } else {
        ssize_t k = send(np->fd, np->buf + np->sent, np->len - np->sent, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                fail(p, PC_L7RSP, "send error: %s", strerror(errno));
            else
                watch(p, EV_WRITE);
            return;
        }
        n = (size_t)k;
    }
    np->sent += n;
    if (np->sent < np->len) {
        watch(p, EV_WRITE); /* the rest once writable again */
        return;
    }
    np->len = 0; /* buf now takes the response */
    np->phase = PH_RECV;
    watch(p, EV_READ);
}

/* The connection is up (and TLS done): the request goes out. */
static void request_step(struct probe *p)
{
    struct native_probe *np = p->impl;
    buf_reserve(np, BUF_FIRST);
    if (!build_request(p, np)) {
        fail(p, PC_SOCKERR, "cannot format the request");
        return;
    }
    np->phase = PH_SEND;
    send_step(p);
}

static void handshake_step(struct probe *p)
{
    struct native_probe *np = p->impl;
    struct probe_result r;
    memset(&r, 0, sizeof(r));
    switch (tls_conn_handshake(&np->tls, &p->addr, &r)) {
    case TLS_IO_DONE:
        request_step(p);
        return;
    case TLS_IO_WANT_READ:
        watch(p, EV_READ);
        return;
    case TLS_IO_WANT_WRITE:
        watch(p, EV_WRITE);
        return;
    case TLS_IO_EOF:
    case TLS_IO_ERROR:
        finish(p, &r);
        return;
    }
}

static void connect_step(struct probe *p)
{
    struct native_probe *np = p->impl;
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(np->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err == EINPROGRESS || err == EALREADY || err == EINTR)
        return; /* spurious wakeup: keep waiting */
    if (err != 0) {
        struct probe_result r;
        memset(&r, 0, sizeof(r));
        connect_error(err, &r);
        finish(p, &r);
        return;
    }
    np->connected = true;
    if (!np->https) {
        request_step(p);
        return;
    }
    char e[PROBE_DETAIL_MAX];
    if (tls_conn_open(&np->tls, p->hc, &p->addr, np->fd, p->tls_cache, e, sizeof(e)) < 0) {
        fail(p, PC_SOCKERR, "%s", e);
        return;
    }
    np->phase = PH_HANDSHAKE;
    handshake_step(p);
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct probe *p = w->data;
    struct native_probe *np = p->impl;
    switch (np->phase) {
    case PH_CONNECT:
        connect_step(p);
        break;
    case PH_HANDSHAKE:
        handshake_step(p);
        break;
    case PH_SEND:
        send_step(p);
        break;
    case PH_RECV:
        recv_step(p);
        break;
    }
}

/* ---- the probe type ------------------------------------------------------------------ */

static void start(struct probe *p)
{
    const struct healthcheck_conf *hc = p->hc;
    char err[PROBE_DETAIL_MAX];
    if (hc->response_regex && !regex_cache_get(&regexes, hc, err, sizeof(err))) {
        probe_fail_soon(p, PC_L7RSP, "%s", err);
        return;
    }
    struct native_probe *np = mem_calloc(1, sizeof(*np));
    np->fd = -1;
    np->https = hc->type == HC_HTTPS;
    http_head_init(&np->head);
    ev_io_init(&np->io, on_io, -1, EV_WRITE);
    np->io.data = p;
    p->impl = np; /* from here on release() cleans up */

    int fd = netns_socket(p->netns, p->addr.family, SOCK_STREAM, 0, &hc->source_address, err,
                          sizeof(err));
    if (fd < 0) {
        char d[HTTP_DETAIL_MAX];
        http_detail_clean(d, err);
        probe_fail_soon(p, PC_SOCKERR, "%s", d);
        return;
    }
    np->fd = fd;
    int one = 1, zero = 0; /* both only optimisations: failures do not matter */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof(zero));
    struct sockaddr_storage ss;
    socklen_t sslen = probe_sockaddr(&p->addr, port_of(hc), &ss);
    if (connect(fd, (struct sockaddr *)&ss, sslen) < 0 && errno != EINPROGRESS && errno != EINTR) {
        struct probe_result r;
        memset(&r, 0, sizeof(r));
        connect_error(errno, &r);
        probe_fail_soon(p, r.code, "%s", r.detail);
        return;
    }
    /* connected or not (even at once, on loopback), the writable callback
     * checks SO_ERROR and sends */
    ev_io_set(&np->io, fd, EV_WRITE);
    ev_io_start(p->env->loop, &np->io);
    np->events = EV_WRITE;
}

static void timed_out(struct probe *p, struct probe_result *r)
{
    struct native_probe *np = p->impl;
    http_timeout_result(p->hc->timeout, p->hc->type == HC_HTTPS, np && np->connected,
                        np && np->tls.done, r);
}

static void release(struct probe *p)
{
    struct native_probe *np = p->impl;
    if (!np)
        return;
    ev_io_stop(p->env->loop, &np->io);
    /* a handshake that began and did not finish (failed, timed out,
     * cancelled) drops the backend's session: the next one starts full */
    tls_conn_close(&np->tls, np->phase == PH_HANDSHAKE);
    if (np->fd >= 0) {
        if (np->got_any) { /* an RST: see the top of the file */
            struct linger lg = { .l_onoff = 1, .l_linger = 0 };
            (void)setsockopt(np->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        }
        close(np->fd);
    }
    free(np->buf);
    free(np);
    p->impl = NULL;
}

const struct probe_ops probe_http_native_ops = { start, timed_out, release };
