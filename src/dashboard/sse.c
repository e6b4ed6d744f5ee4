/* sse.c: the dashboard's event streams (text/event-stream).
 *
 * A client is a libmicrohttpd response whose content reader hands out its
 * queue of messages. With nothing queued the reader suspends the
 * connection (MHD calls no reader and keeps no timeout for it); a message
 * queued resumes it, and the daemon's ITC wakes the loop's ev_io. Messages
 * are refcounted and shared: an update is rendered once for all clients.
 * A queue is bounded (DASH_QUEUE_BYTES, DASH_QUEUE_MSGS): a client that
 * does not read (a stalled tab, a slow link) is closed, never waited for;
 * its browser's EventSource reconnects and starts again from a snapshot.
 * A client that stops reading without closing is also closed by MHD's
 * connection timeout once its socket buffer is full. */
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "common/mem.h"
#include "dashboard/dash_int.h"
#include "metrics/metrics.h"

struct dash_msg {
    unsigned refs;
    size_t len;
    char data[];
};

struct qitem {
    struct dash_msg *m;
    struct qitem *next;
};

struct dash_client {
    struct dashboard *d;
    struct MHD_Connection *conn;
    struct qitem *head, *tail;
    size_t off; /* of head's message, handed out */
    size_t bytes, n;
    bool suspended;
    bool dead; /* to be closed: the reader ends the response */
    char peer[64];
    struct dash_client *next;
};

struct dash_msg *dash_msg_new(const char *data, size_t len)
{
    struct dash_msg *m = mem_alloc(sizeof(*m) + len);
    m->refs = 1;
    m->len = len;
    memcpy(m->data, data, len);
    return m;
}

void dash_msg_unref(struct dash_msg *m)
{
    if (m && --m->refs == 0)
        free(m);
}

static void wake(struct dash_client *c)
{
    if (c->suspended) {
        c->suspended = false;
        MHD_resume_connection(c->conn);
        metrics_wake(c->d->metrics); /* MHD_run soon: it resumes there */
    }
}

static void push(struct dash_client *c, struct dash_msg *m)
{
    if (c->dead)
        return;
    /* the first message always fits: a snapshot may be large */
    if (c->n && (c->n >= c->d->queue_msgs || c->bytes + m->len > DASH_QUEUE_BYTES)) {
        c->dead = true;
        c->d->dropped++;
        log_warn("dashboard-client-dropped", LOG_STR("peer", c->peer),
                 LOG_STR("reason", "too slow: its event queue is full"),
                 LOG_UINT("queued-bytes", c->bytes), LOG_UINT("queued-messages", c->n));
        wake(c);
        return;
    }
    struct qitem *it = mem_calloc(1, sizeof(*it));
    m->refs++;
    it->m = m;
    if (c->tail)
        c->tail->next = it;
    else
        c->head = it;
    c->tail = it;
    c->n++;
    c->bytes += m->len;
    wake(c);
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct dash_client *c = cls;
    if (c->dead)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (!c->head) {
        if (c->d->stopping)
            return MHD_CONTENT_READER_END_OF_STREAM;
        c->suspended = true; /* until push */
        MHD_suspend_connection(c->conn);
        return 0;
    }
    struct dash_msg *m = c->head->m;
    size_t n = m->len - c->off < max ? m->len - c->off : max;
    memcpy(buf, m->data + c->off, n);
    c->off += n;
    if (c->off == m->len) {
        struct qitem *it = c->head;
        c->head = it->next;
        if (!c->head)
            c->tail = NULL;
        c->off = 0;
        c->n--;
        c->bytes -= m->len;
        dash_msg_unref(m);
        free(it);
    }
    return (ssize_t)n;
}

/* The response is gone: the connection closed (or the daemon stopped). */
static void client_free(void *cls)
{
    struct dash_client *c = cls;
    struct dashboard *d = c->d;
    for (struct dash_client **pp = &d->clients; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            d->n_clients--;
            break;
        }
    }
    while (c->head) {
        struct qitem *it = c->head;
        c->head = it->next;
        dash_msg_unref(it->m);
        free(it);
    }
    log_debug("dashboard-client-gone", LOG_STR("peer", c->peer), LOG_UINT("clients", d->n_clients));
    free(c);
}

static void peer_of(struct MHD_Connection *conn, char *buf, size_t len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char host[48] = "?", port[8] = "?";
    if (ci && ci->client_addr) {
        socklen_t sl = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                              : sizeof(struct sockaddr_in);
        getnameinfo(ci->client_addr, sl, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV);
    }
    snprintf(buf, len, "%s:%s", host, port);
}

struct MHD_Response *dash_client_new(struct dashboard *d, struct MHD_Connection *conn,
                                     struct dash_msg *first)
{
    struct dash_client *c = mem_calloc(1, sizeof(*c));
    c->d = d;
    c->conn = conn;
    peer_of(conn, c->peer, sizeof(c->peer));
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, reader, c, client_free);
    if (!r) {
        dash_msg_unref(first);
        free(c);
        return NULL;
    }
    c->next = d->clients;
    d->clients = c;
    d->n_clients++;
    push(c, first);
    dash_msg_unref(first);
    log_debug("dashboard-client", LOG_STR("peer", c->peer), LOG_UINT("clients", d->n_clients));
    return r;
}

void dash_broadcast(struct dashboard *d, struct dash_msg *m)
{
    for (struct dash_client *c = d->clients; c; c = c->next)
        push(c, m);
}

void dash_close_all(struct dashboard *d)
{
    for (struct dash_client *c = d->clients; c; c = c->next) {
        c->dead = true;
        wake(c);
    }
}
