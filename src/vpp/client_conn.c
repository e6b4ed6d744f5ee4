/* VPP client: connect, handshake and table check, liveness, reconnect. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "vpp/client_int.h"
#include "common/mem.h"

#define CLIENT_NAME "vpp-maglev"

static void disconnect(struct vpp_client *c, enum vpp_conn_state next, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void schedule_retry(struct vpp_client *c, double after)
{
    ev_timer_stop(c->loop, &c->retry);
    ev_timer_set(&c->retry, after, 0);
    ev_timer_start(c->loop, &c->retry);
}

/* A failed connect is logged at WARN once per outage (until the next
 * successful connect), whatever its error, then at DEBUG; an incompatible
 * VPP at ERROR once per distinct problem, then at DEBUG. */
static void log_problem(struct vpp_client *c, bool incompatible)
{
    bool quiet =
        incompatible ? strcmp(c->logged_error, c->info.last_error) == 0 : c->connect_warned;
    if (quiet) {
        log_debug("vpp-connect-failed", LOG_STR("path", c->info.path),
                  LOG_STR("error", c->info.last_error));
        return;
    }
    snprintf(c->logged_error, sizeof(c->logged_error), "%s", c->info.last_error);
    if (incompatible) {
        log_error("vpp-incompatible", LOG_STR("path", c->info.path),
                  LOG_STR("version", c->info.version), LOG_STR("error", c->info.last_error));
    } else {
        c->connect_warned = true;
        log_warn("vpp-connect-failed", LOG_STR("path", c->info.path),
                 LOG_STR("error", c->info.last_error), LOG_STR("retry", "with backoff, 1s to 5s"));
    }
}

static void disconnect(struct vpp_client *c, enum vpp_conn_state next, const char *fmt, ...)
{
    bool was_up = c->info.state == VPP_STATE_CONNECTED;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->info.last_error, sizeof(c->info.last_error), fmt, ap);
    va_end(ap);
    ev_io_stop(c->loop, &c->rio);
    ev_io_stop(c->loop, &c->wio);
    ev_timer_stop(c->loop, &c->tick);
    ev_timer_stop(c->loop, &c->ping);
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->gen++;
    c->phase = PH_IDLE;
    c->ping_in_flight = false;
    c->write_err = 0;
    vpp_wire_rx_free(&c->rx);
    c->out.len = c->out.off = 0;
    c->info.state = next;
    c->info.connected_since_us = 0;
    vpp_client_fail_all(c, -ECONNRESET);
    if (was_up) {
        c->info.disconnects[vpp_disconnect_reason_of(c->info.last_error)]++;
        log_warn("vpp-disconnect", LOG_STR("path", c->info.path),
                 LOG_STR("reason", c->info.last_error));
        snprintf(c->logged_error, sizeof(c->logged_error), "%s", c->info.last_error);
        c->backoff = c->opts.backoff_min;
        if (c->cbs.down)
            c->cbs.down(c->cbs.ctx, c->info.last_error);
    } else {
        log_problem(c, next == VPP_STATE_INCOMPATIBLE);
    }
    double after = next == VPP_STATE_INCOMPATIBLE ? c->opts.backoff_max : c->backoff;
    schedule_retry(c, after);
    c->backoff = c->backoff * 2 > c->opts.backoff_max ? c->opts.backoff_max : c->backoff * 2;
}

const char *vpp_disconnect_reason_name(enum vpp_disconnect_reason r)
{
    static const char *const names[VPP_DISC__COUNT] = { "closed", "io-error", "protocol",
                                                        "liveness", "other" };
    return (unsigned)r < VPP_DISC__COUNT ? names[r] : "other";
}

enum vpp_disconnect_reason vpp_disconnect_reason_of(const char *text)
{
    static const struct {
        const char *prefix;
        enum vpp_disconnect_reason r;
    } map[] = {
        { "VPP closed", VPP_DISC_CLOSED }, { "read:", VPP_DISC_IO },
        { "write:", VPP_DISC_IO },         { "stream out of sync", VPP_DISC_PROTOCOL },
        { "liveness", VPP_DISC_LIVENESS },
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (!strncmp(text, map[i].prefix, strlen(map[i].prefix)))
            return map[i].r;
    return VPP_DISC_OTHER;
}

/* ---- handshake ---- */

static void went_up(struct vpp_client *c)
{
    c->phase = PH_UP;
    c->info.state = VPP_STATE_CONNECTED;
    c->info.connected_since_us = clock_wall_us();
    c->info.connects++;
    c->backoff = c->opts.backoff_min;
    c->logged_error[0] = 0;
    c->connect_warned = false;
    c->info.last_error[0] = 0;
    log_info("vpp-connect", LOG_STR("path", c->info.path), LOG_STR("version", c->info.version),
             LOG_STR("build-date", c->info.build_date), LOG_UINT("pid", c->info.pid),
             LOG_UINT("client-index", c->info.client_index),
             LOG_UINT("messages", c->info.table_size));
    ev_timer_set(&c->ping, c->opts.ping_interval, c->opts.ping_interval);
    ev_timer_start(c->loop, &c->ping);
    if (c->cbs.up)
        c->cbs.up(c->cbs.ctx);
}

static void on_pid(void *ctx, int err, const void *reply)
{
    struct vpp_client *c = ctx;
    if (err == -ECONNRESET || err == -ECANCELED)
        return;
    if (err) {
        disconnect(c, VPP_STATE_DISCONNECTED, "control_ping after connect: %s", strerror(-err));
        return;
    }
    const struct vppmsg_control_ping_reply *r = reply;
    c->info.pid = r->vpe_pid;
    went_up(c);
}

static void incompatible(struct vpp_client *c)
{
    char buf[sizeof(c->info.last_error)];
    int n = snprintf(buf, sizeof(buf), "VPP %s at %s cannot be used:",
                     c->info.version[0] ? c->info.version : "(version unknown)", c->info.path);
    if (c->table.n_missing && n >= 0 && (size_t)n < sizeof(buf))
        n += snprintf(buf + n, sizeof(buf) - (size_t)n,
                      " messages missing (LB plugin not loaded or too old: the weight API "
                      "needs lb.api 1.2.0, after VPP 26.06): %s;",
                      c->table.missing);
    if (c->table.n_mismatched && n >= 0 && (size_t)n < sizeof(buf))
        snprintf(buf + n, sizeof(buf) - (size_t)n,
                 " messages with another definition (CRC differs from what maglevd was built "
                 "for, regenerate with make vpp-binapi): %s;",
                 c->table.mismatched);
    /* no byte of an unusable message is ever sent: disconnect at once */
    disconnect(c, VPP_STATE_INCOMPATIBLE, "%s", buf);
}

static void on_version(void *ctx, int err, const void *reply)
{
    struct vpp_client *c = ctx;
    if (err == -ECONNRESET || err == -ECANCELED)
        return;
    if (err) {
        disconnect(c, VPP_STATE_DISCONNECTED, "show_version: %s", strerror(-err));
        return;
    }
    const struct vppmsg_show_version_reply *r = reply;
    snprintf(c->info.version, sizeof(c->info.version), "%s", r->version);
    snprintf(c->info.build_date, sizeof(c->info.build_date), "%s", r->build_date);
    snprintf(c->info.build_directory, sizeof(c->info.build_directory), "%s", r->build_directory);
    if (c->phase == PH_REFUSING) {
        incompatible(c);
        return;
    }
    c->phase = PH_PING;
    struct vppmsg_control_ping ping;
    vppmsg_control_ping_init(&ping);
    int rr = vpp_client_call_internal(c, VPPMSG_IDX_CONTROL_PING, &ping,
                                      VPPMSG_IDX_CONTROL_PING_REPLY, on_pid, c);
    if (rr < 0)
        disconnect(c, VPP_STATE_DISCONNECTED, "control_ping: %s", strerror(-rr));
}

static void on_create_reply(struct vpp_client *c, const uint8_t *body, size_t len)
{
    struct vppmsg_sockclnt_create_reply r;
    uint16_t id = (uint16_t)((body[0] << 8) | body[1]);
    if (id != VPPMSG_SOCKCLNT_CREATE_REPLY_FIXED_ID) {
        disconnect(c, VPP_STATE_DISCONNECTED, "handshake: got message id %u instead of %u", id,
                   VPPMSG_SOCKCLNT_CREATE_REPLY_FIXED_ID);
        return;
    }
    int err = vppmsg_sockclnt_create_reply_decode(body, len, &r);
    if (err < 0) {
        disconnect(c, VPP_STATE_DISCONNECTED, "handshake: undecodable reply (%zu bytes)", len);
        return;
    }
    if (log_enabled(LOG_LEVEL_DEBUG)) {
        char f[256];
        vppmsg_table[VPPMSG_IDX_SOCKCLNT_CREATE_REPLY].format(&r, f, sizeof(f));
        log_debug("vpp-api-recv", LOG_STR("name", "sockclnt_create_reply"),
                  LOG_UINT("context", r.context), LOG_UINT("len", len), LOG_STR("fields", f));
    }
    if (r.response != 0) {
        vppmsg_sockclnt_create_reply_free(&r);
        disconnect(c, VPP_STATE_DISCONNECTED, "handshake refused by VPP (response %d)", r.response);
        return;
    }
    int ok = vpp_msgtable_build(&c->table, r.message_table, r.count);
    c->info.client_index = r.index;
    c->info.table_size = r.count;
    vppmsg_sockclnt_create_reply_free(&r);
    c->phase = ok == 0 ? PH_VERSION : PH_REFUSING;
    if (ok < 0 && !c->table.id[VPPMSG_IDX_SHOW_VERSION]) {
        incompatible(c);
        return;
    }
    struct vppmsg_show_version sv;
    vppmsg_show_version_init(&sv);
    int rr = vpp_client_call_internal(c, VPPMSG_IDX_SHOW_VERSION, &sv,
                                      VPPMSG_IDX_SHOW_VERSION_REPLY, on_version, c);
    if (rr < 0)
        disconnect(c, VPP_STATE_DISCONNECTED, "show_version: %s", strerror(-rr));
}

/* ---- I/O ---- */

static void on_read(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct vpp_client *c = w->data;
    unsigned gen = c->gen;
    uint8_t buf[65536];
    for (int round = 0; round < 32 && c->gen == gen; round++) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0) {
            disconnect(c, VPP_STATE_DISCONNECTED, "VPP closed the connection");
            return;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            if (errno == ECONNRESET)
                disconnect(c, VPP_STATE_DISCONNECTED, "VPP closed the connection (reset)");
            else
                disconnect(c, VPP_STATE_DISCONNECTED, "read: %s", strerror(errno));
            return;
        }
        if (vpp_wire_rx_feed(&c->rx, buf, (size_t)n) < 0) {
            disconnect(c, VPP_STATE_DISCONNECTED, "stream out of sync (bad frame length)");
            return;
        }
        const uint8_t *body;
        size_t len;
        int r;
        while (c->gen == gen && (r = vpp_wire_rx_next(&c->rx, &body, &len)) == 1) {
            if (c->phase == PH_CREATE)
                on_create_reply(c, body, len);
            else
                vpp_client_receive(c, body, len);
        }
        if (c->gen == gen && r < 0) {
            disconnect(c, VPP_STATE_DISCONNECTED, "stream out of sync (bad frame length)");
            return;
        }
        if ((size_t)n < sizeof(buf))
            return;
    }
}

static void on_write(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct vpp_client *c = w->data;
    if (c->write_err) {
        disconnect(c, VPP_STATE_DISCONNECTED, "write: %s", strerror(c->write_err));
        return;
    }
    int r = vpp_client_flush(c);
    if (r < 0)
        disconnect(c, VPP_STATE_DISCONNECTED, "write: %s", strerror(-r));
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct vpp_client *c = w->data;
    if (c->phase == PH_CREATE && ev_now(loop) > c->hs_deadline) {
        disconnect(c, VPP_STATE_DISCONNECTED, "handshake: no reply from VPP in %.0fs",
                   c->opts.request_timeout);
        return;
    }
    vpp_client_expire(c, ev_now(loop));
}

static void on_ping_reply(void *ctx, int err, const void *reply)
{
    (void)reply;
    struct vpp_client *c = ctx;
    if (err == -ECONNRESET || err == -ECANCELED)
        return;
    c->ping_in_flight = false;
    if (err)
        disconnect(c, VPP_STATE_DISCONNECTED, "liveness control_ping: %s", strerror(-err));
}

static void on_ping(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct vpp_client *c = w->data;
    if (c->ping_in_flight)
        return;
    struct vppmsg_control_ping ping;
    vppmsg_control_ping_init(&ping);
    if (vpp_client_call_internal(c, VPPMSG_IDX_CONTROL_PING, &ping, VPPMSG_IDX_CONTROL_PING_REPLY,
                                 on_ping_reply, c) == 0)
        c->ping_in_flight = true;
}

static void try_connect(struct vpp_client *c)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->info.path);
    c->info.state = VPP_STATE_CONNECTING;
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        disconnect(c, VPP_STATE_DISCONNECTED, "socket: %s", strerror(errno));
        return;
    }
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
        disconnect(c, VPP_STATE_DISCONNECTED, "connect %s: %s", c->info.path, strerror(errno));
        return;
    }
    memset(&c->table, 0, sizeof(c->table));
    c->info.version[0] = c->info.build_date[0] = c->info.build_directory[0] = 0;
    c->info.pid = 0;
    vpp_wire_rx_init(&c->rx, 0);
    ev_io_set(&c->rio, c->fd, EV_READ);
    ev_io_set(&c->wio, c->fd, EV_WRITE);
    ev_io_start(c->loop, &c->rio);
    c->phase = PH_CREATE;
    struct vppmsg_sockclnt_create m;
    vppmsg_sockclnt_create_init(&m);
    m.msg_id = VPPMSG_SOCKCLNT_CREATE_FIXED_ID;
    m.context = 0x6d67; /* "mg" */
    snprintf(m.name, sizeof(m.name), "%s-%d", CLIENT_NAME, (int)getpid());
    int r = vpp_client_send(c, VPPMSG_IDX_SOCKCLNT_CREATE, &m);
    if (r < 0) {
        disconnect(c, VPP_STATE_DISCONNECTED, "handshake: %s", strerror(-r));
        return;
    }
    /* handshake deadline, checked by the tick */
    c->hs_deadline = ev_now(c->loop) + c->opts.request_timeout;
    ev_timer_set(&c->tick, 0.25, 0.25);
    ev_timer_start(c->loop, &c->tick);
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    try_connect(w->data);
}

struct vpp_client *vpp_client_new(struct ev_loop *loop, const char *path,
                                  const struct vpp_client_opts *opts,
                                  const struct vpp_client_cbs *cbs)
{
    struct vpp_client *c = mem_calloc(1, sizeof(*c));
    c->loop = loop;
    c->fd = -1;
    if (opts)
        c->opts = *opts;
    if (c->opts.request_timeout <= 0)
        c->opts.request_timeout = 5;
    if (c->opts.ping_interval <= 0)
        c->opts.ping_interval = 10;
    if (c->opts.backoff_min <= 0)
        c->opts.backoff_min = 1;
    if (c->opts.backoff_max <= 0)
        c->opts.backoff_max = 5;
    c->backoff = c->opts.backoff_min;
    if (cbs)
        c->cbs = *cbs;
    snprintf(c->info.path, sizeof(c->info.path), "%s", path);
    ev_io_init(&c->rio, on_read, -1, EV_READ);
    ev_io_init(&c->wio, on_write, -1, EV_WRITE);
    ev_timer_init(&c->retry, on_retry, 0, 0);
    ev_timer_init(&c->tick, on_tick, 0.25, 0.25);
    ev_timer_init(&c->ping, on_ping, 0, 0);
    c->rio.data = c->wio.data = c->retry.data = c->tick.data = c->ping.data = c;
    return c;
}

void vpp_client_start(struct vpp_client *c)
{
    try_connect(c);
}

void vpp_client_free(struct vpp_client *c)
{
    if (!c)
        return;
    c->gen++;
    if (c->fd >= 0 && c->phase == PH_UP && c->table.id[VPPMSG_IDX_SOCKCLNT_DELETE]) {
        /* goodbye, best effort: VPP also cleans up on EOF */
        struct vppmsg_sockclnt_delete m;
        vppmsg_sockclnt_delete_init(&m);
        m.msg_id = c->table.id[VPPMSG_IDX_SOCKCLNT_DELETE];
        m.client_index = c->info.client_index;
        m.context = 0;
        m.index = c->info.client_index;
        if (vpp_client_send(c, VPPMSG_IDX_SOCKCLNT_DELETE, &m) == 0 && c->out.len > c->out.off)
            (void)!send(c->fd, c->out.buf + c->out.off, c->out.len - c->out.off,
                        MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    c->info.state = VPP_STATE_DISCONNECTED;
    vpp_client_fail_all(c, -ECANCELED);
    ev_io_stop(c->loop, &c->rio);
    ev_io_stop(c->loop, &c->wio);
    ev_timer_stop(c->loop, &c->retry);
    ev_timer_stop(c->loop, &c->tick);
    ev_timer_stop(c->loop, &c->ping);
    if (c->fd >= 0)
        close(c->fd);
    vpp_wire_rx_free(&c->rx);
    free(c->out.buf);
    free(c);
}

const struct vpp_info *vpp_client_info(const struct vpp_client *c)
{
    return &c->info;
}

bool vpp_client_is_up(const struct vpp_client *c)
{
    return c && c->info.state == VPP_STATE_CONNECTED;
}

size_t vpp_client_in_flight(const struct vpp_client *c)
{
    return c->n_pending;
}

uint16_t vpp_client_msg_id(const struct vpp_client *c, enum vppmsg_index i)
{
    return c->table.id[i];
}
