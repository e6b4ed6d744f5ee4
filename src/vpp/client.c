/* VPP API socket client on the libev loop (see client.h). */
#include "vpp/client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "vpp/client_int.h"
#include "common/mem.h"

const char *vpp_conn_state_name(enum vpp_conn_state s)
{
    switch (s) {
    case VPP_STATE_CONNECTING:
        return "connecting";
    case VPP_STATE_CONNECTED:
        return "connected";
    case VPP_STATE_INCOMPATIBLE:
        return "incompatible";
    default:
        return "disconnected";
    }
}

/* ---- the wire trail: every message in and out passes here ---- */

static void log_msg(const char *event, int idx, uint32_t context, size_t len, const void *m)
{
    char fields[1024] = "";
    const char *name = "unknown";
    if (idx >= 0) {
        name = vppmsg_table[idx].name;
        if (m)
            vppmsg_table[idx].format(m, fields, sizeof(fields));
    }
    log_debug(event, LOG_STR("name", name), LOG_UINT("context", context), LOG_UINT("len", len),
              LOG_STR("fields", fields));
}

int vpp_client_flush(struct vpp_client *c)
{
    while (c->out.off < c->out.len) {
        ssize_t n = send(c->fd, c->out.buf + c->out.off, c->out.len - c->out.off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            return -errno;
        }
        c->out.off += (size_t)n;
    }
    if (c->out.off == c->out.len) {
        c->out.off = c->out.len = 0;
        ev_io_stop(c->loop, &c->wio);
    } else {
        ev_io_start(c->loop, &c->wio);
    }
    return 0;
}

static int out_reserve(struct vpp_client *c, size_t n)
{
    if (c->out.off > 0 && c->out.off == c->out.len)
        c->out.off = c->out.len = 0;
    if (c->out.len + n <= c->out.cap)
        return 0;
    if (c->out.off > 0) {
        memmove(c->out.buf, c->out.buf + c->out.off, c->out.len - c->out.off);
        c->out.len -= c->out.off;
        c->out.off = 0;
        if (c->out.len + n <= c->out.cap)
            return 0;
    }
    size_t cap = c->out.cap ? c->out.cap : 65536;
    while (cap < c->out.len + n)
        cap *= 2;
    c->out.buf = mem_realloc(c->out.buf, cap);
    c->out.cap = cap;
    return 0;
}

int vpp_client_send(struct vpp_client *c, enum vppmsg_index idx, const void *m)
{
    const struct vppmsg_desc *d = &vppmsg_table[idx];
    size_t want = d->variable ? d->min_size + 256 : d->min_size;
    for (;;) {
        int r = out_reserve(c, VPP_WIRE_HDR_LEN + want);
        if (r < 0)
            return r;
        uint8_t *body = c->out.buf + c->out.len + VPP_WIRE_HDR_LEN;
        int n = d->encode(m, body, want);
        if (n == -ENOSPC && want < VPP_WIRE_MAX_MSG) {
            want *= 4;
            continue;
        }
        if (n < 0)
            return n;
        r = vpp_wire_hdr_encode(c->out.buf + c->out.len, (size_t)n);
        if (r < 0)
            return r;
        if (log_enabled(LOG_LEVEL_DEBUG)) {
            /* sockclnt_create alone has no client_index */
            uint32_t ctx = idx == VPPMSG_IDX_SOCKCLNT_CREATE
                               ? ((const struct vppmsg_sockclnt_create *)m)->context
                               : ((const struct vpp_req_hdr *)m)->context;
            log_msg("vpp-api-send", (int)idx, ctx, (size_t)n, m);
        }
        c->out.len += VPP_WIRE_HDR_LEN + (size_t)n;
        c->stats_sent++;
        break;
    }
    /* written by the write watcher, in the loop's next turn: every request
     * of this iteration (a pipelined plan, a flush of targeted changes) goes
     * out in one send(), and a write error is reported from the loop, not
     * from inside the caller's call */
    if (c->fd >= 0)
        ev_io_start(c->loop, &c->wio);
    return 0;
}

/* ---- pending requests (FIFO in send order) ---- */

static void pending_unlink(struct vpp_client *c, struct vpp_pending *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        c->head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else
        c->tail = p->prev;
    c->n_pending--;
}

static void pending_complete(struct vpp_client *c, struct vpp_pending *p, int err,
                             const void *reply)
{
    pending_unlink(c, p);
    if (p->cb)
        p->cb(p->ctx, err, reply);
    free(p);
}

void vpp_client_fail_all(struct vpp_client *c, int err)
{
    while (c->head)
        pending_complete(c, c->head, err, NULL);
}

static uint32_t next_context(struct vpp_client *c)
{
    if (++c->context == 0)
        c->context = 1;
    return c->context;
}

static int submit(struct vpp_client *c, enum vppmsg_index req, void *m, enum vppmsg_index reply,
                  int details, vpp_details_cb dcb, vpp_reply_cb cb, void *ctx, bool internal)
{
    if (!internal && c->info.state != VPP_STATE_CONNECTED)
        return -ENOTCONN;
    if (c->fd < 0)
        return -ENOTCONN;
    uint16_t id = c->table.id[req];
    if (!id || !c->table.id[reply] || (details >= 0 && !c->table.id[details]))
        return -EPROTONOSUPPORT;
    struct vpp_pending *p = mem_calloc(1, sizeof(*p));
    struct vpp_req_hdr *h = m;
    h->msg_id = id;
    h->client_index = c->info.client_index;
    h->context = next_context(c);
    int r = vpp_client_send(c, req, m);
    if (r == 0 && details >= 0) {
        struct vppmsg_control_ping ping;
        vppmsg_control_ping_init(&ping);
        ping.msg_id = c->table.id[VPPMSG_IDX_CONTROL_PING];
        ping.client_index = c->info.client_index;
        ping.context = h->context;
        r = vpp_client_send(c, VPPMSG_IDX_CONTROL_PING, &ping);
    }
    if (r < 0) {
        free(p);
        return r;
    }
    p->context = h->context;
    p->reply = (int16_t)reply;
    p->details = (int16_t)details;
    p->dcb = dcb;
    p->cb = cb;
    p->ctx = ctx;
    p->deadline = ev_now(c->loop) + c->opts.request_timeout;
    p->prev = c->tail;
    if (c->tail)
        c->tail->next = p;
    else
        c->head = p;
    c->tail = p;
    c->n_pending++;
    return 0;
}

int vpp_client_call_internal(struct vpp_client *c, enum vppmsg_index req, void *m,
                             enum vppmsg_index reply, vpp_reply_cb cb, void *ctx)
{
    return submit(c, req, m, reply, -1, NULL, cb, ctx, true);
}

int vpp_client_call(struct vpp_client *c, enum vppmsg_index req, void *m, enum vppmsg_index reply,
                    vpp_reply_cb cb, void *ctx)
{
    return submit(c, req, m, reply, -1, NULL, cb, ctx, false);
}

int vpp_client_dump(struct vpp_client *c, enum vppmsg_index req, void *m, enum vppmsg_index details,
                    vpp_details_cb dcb, vpp_reply_cb cb, void *ctx)
{
    return submit(c, req, m, VPPMSG_IDX_CONTROL_PING_REPLY, (int)details, dcb, cb, ctx, false);
}

void vpp_client_expire(struct vpp_client *c, ev_tstamp now)
{
    unsigned gen = c->gen;
    while (c->head && c->head->deadline <= now && c->gen == gen)
        pending_complete(c, c->head, -ETIMEDOUT, NULL);
}

/* ---- receiving ---- */

static uint32_t be32_at(const uint8_t *b)
{
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

static struct vpp_pending *find_pending(struct vpp_client *c, uint32_t context)
{
    for (struct vpp_pending *p = c->head; p; p = p->next)
        if (p->context == context)
            return p;
    return NULL;
}

/* A decoded message for request p. */
static void deliver(struct vpp_client *c, struct vpp_pending *p, int idx, const void *m)
{
    if (p->details >= 0 && idx == p->details) {
        if (p->dcb)
            p->dcb(p->ctx, m);
    } else if (idx == p->reply) {
        pending_complete(c, p, 0, p->details >= 0 ? NULL : m);
    } else {
        log_warn("vpp-api-unexpected", LOG_STR("name", vppmsg_table[idx].name),
                 LOG_UINT("context", p->context), LOG_STR("expected", vppmsg_table[p->reply].name));
    }
}

void vpp_client_receive(struct vpp_client *c, const uint8_t *body, size_t len)
{
    uint16_t id = (uint16_t)((body[0] << 8) | body[1]);
    int idx = vpp_msgtable_index(&c->table, id);
    uint32_t context = len >= 6 ? be32_at(body + 2) : 0;
    c->stats_received++;
    if (idx < 0) {
        log_debug("vpp-api-recv", LOG_STR("name", "unknown"), LOG_UINT("id", id),
                  LOG_UINT("context", context), LOG_UINT("len", len));
        return;
    }
    const struct vppmsg_desc *d = &vppmsg_table[idx];
    _Alignas(max_align_t) uint8_t msg[VPP_MAX_STRUCT];
    int r = d->struct_size <= sizeof(msg) ? d->decode(body, len, msg) : -ENOMEM;
    if (log_enabled(LOG_LEVEL_DEBUG))
        log_msg("vpp-api-recv", idx, context, len, r == 0 ? msg : NULL);
    struct vpp_pending *p = find_pending(c, context);
    if (!p) {
        log_debug("vpp-api-stray", LOG_STR("name", d->name), LOG_UINT("context", context));
        if (r == 0 && d->free)
            d->free(msg);
        return;
    }
    /* VPP answers in order: what was sent before p and is still waiting
     * will never be answered (VPP dropped it). */
    unsigned gen = c->gen;
    while (c->head != p && c->gen == gen)
        pending_complete(c, c->head, -ENOMSG, NULL);
    if (c->gen != gen) {
        if (r == 0 && d->free)
            d->free(msg);
        return;
    }
    if (r < 0) {
        log_warn("vpp-api-bad-message", LOG_STR("name", d->name), LOG_UINT("context", context),
                 LOG_UINT("len", len), LOG_STR("error", strerror(-r)));
        pending_complete(c, p, -EBADMSG, NULL);
        return;
    }
    deliver(c, p, idx, msg);
    if (d->free)
        d->free(msg);
}
