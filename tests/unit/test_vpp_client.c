/* The VPP API client (src/vpp/client*.c) on a real libev loop against a
 * scripted fake VPP on a UNIX socket, plus the message-table check
 * (src/vpp/msgtable.c). The fake speaks with the generated codecs; the
 * independent check of the byte layout is vppsim's own test suite. */
#include <errno.h>
#include <ev.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/ipaddr.h"
#include "vpp/client.h"
#include "vpp/lb.h"
#include "vpp/msgtable.h"
#include "vpp/wire.h"

/* ---- the message table ---- */

#define DYN_BASE 200

static uint16_t table_id(int i)
{
    return vppmsg_table[i].fixed_id ? vppmsg_table[i].fixed_id : (uint16_t)(DYN_BASE + i);
}

/* skip: a message left out; bad: advertised with another CRC */
static size_t make_table(struct vppapi_message_table_entry *e, int skip, int bad)
{
    size_t n = 0;
    for (int i = 0; i < VPPMSG_N_MSGS; i++) {
        if (i == skip)
            continue;
        memset(&e[n], 0, sizeof(e[n]));
        e[n].index = table_id(i);
        if (i == bad)
            snprintf(e[n].name, sizeof(e[n].name), "%s_deadbeef", vppmsg_table[i].name);
        else
            snprintf(e[n].name, sizeof(e[n].name), "%s", vppmsg_table[i].name_crc);
        n++;
    }
    /* plus unrelated messages of other plugins */
    memset(&e[n], 0, sizeof(e[n]));
    e[n].index = 9000;
    snprintf(e[n].name, sizeof(e[n].name), "acl_add_replace_0123abcd");
    return n + 1;
}

static void test_msgtable_ok(void **state)
{
    (void)state;
    struct vppapi_message_table_entry e[VPPMSG_N_MSGS + 1];
    size_t n = make_table(e, -1, -1);
    static struct vpp_msgtable t;
    assert_int_equal(vpp_msgtable_build(&t, e, n), 0);
    assert_int_equal(t.id[VPPMSG_IDX_LB_CONF], DYN_BASE + VPPMSG_IDX_LB_CONF);
    assert_int_equal(t.id[VPPMSG_IDX_CONTROL_PING], 23);
    assert_int_equal(vpp_msgtable_index(&t, DYN_BASE + VPPMSG_IDX_LB_AS_V2_DETAILS),
                     VPPMSG_IDX_LB_AS_V2_DETAILS);
    assert_int_equal(vpp_msgtable_index(&t, 9000), -1);
    assert_int_equal(t.entries, n);
    assert_string_equal(t.missing, "");
    assert_string_equal(t.mismatched, "");
}

static void test_msgtable_missing_and_mismatched(void **state)
{
    (void)state;
    struct vppapi_message_table_entry e[VPPMSG_N_MSGS + 1];
    static struct vpp_msgtable t;
    size_t n = make_table(e, VPPMSG_IDX_LB_AS_SET_WEIGHT, VPPMSG_IDX_LB_CONF_GET);
    assert_int_equal(vpp_msgtable_build(&t, e, n), -EPROTONOSUPPORT);
    assert_string_equal(t.missing, "lb_as_set_weight");
    assert_string_equal(t.mismatched, "lb_conf_get_51077d14");
    assert_int_equal(t.id[VPPMSG_IDX_LB_CONF_GET], 0); /* never usable */
    /* a missing optional message is fine */
    n = make_table(e, VPPMSG_IDX_IP_ROUTE_LOOKUP, -1);
    assert_int_equal(vpp_msgtable_build(&t, e, n), 0);
    assert_int_equal(t.id[VPPMSG_IDX_IP_ROUTE_LOOKUP], 0);
}

static void test_msgtable_hostile_entries(void **state)
{
    (void)state;
    static struct vpp_msgtable t;
    struct vppapi_message_table_entry e[VPPMSG_N_MSGS + 4];
    size_t n = make_table(e, -1, -1);
    /* memclnt's fixed id moved: refused (would mean another memclnt) */
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i].name, VPPMSG_CONTROL_PING_NAME_CRC) == 0)
            e[i].index = 77;
    assert_int_equal(vpp_msgtable_build(&t, e, n), -EPROTONOSUPPORT);
    assert_non_null(strstr(t.mismatched, "control_ping_51077d14"));
    /* no NUL in 64 bytes, a name without a CRC, id 0, duplicates */
    n = make_table(e, -1, -1);
    memset(e[n].name, 'x', sizeof(e[n].name));
    e[n++].index = 5000;
    snprintf(e[n].name, sizeof(e[n].name), "lb_conf");
    e[n++].index = 5001;
    snprintf(e[n].name, sizeof(e[n].name), "%s", VPPMSG_LB_CONF_NAME_CRC);
    e[n++].index = 5002; /* a second entry for lb_conf: the first wins */
    assert_int_equal(vpp_msgtable_build(&t, e, n), 0);
    assert_int_equal(t.id[VPPMSG_IDX_LB_CONF], DYN_BASE + VPPMSG_IDX_LB_CONF);
    assert_int_equal(vpp_msgtable_build(&t, e, 0), -EPROTONOSUPPORT);
    assert_true(t.n_missing > 5);
}

/* ---- the fake VPP ---- */

struct fake {
    char path[108];
    int lfd, fd;
    struct ev_loop *loop;
    struct vpp_client *c;
    int ups, downs;
    char down_reason[512];
};

static void on_up(void *ctx)
{
    ((struct fake *)ctx)->ups++;
}

static void on_down(void *ctx, const char *reason)
{
    struct fake *f = ctx;
    f->downs++;
    snprintf(f->down_reason, sizeof(f->down_reason), "%s", reason);
}

static void spin(struct fake *f, double seconds)
{
    ev_tstamp end = ev_time() + seconds;
    while (ev_time() < end) {
        ev_run(f->loop, EVRUN_NOWAIT);
        usleep(1000);
    }
}

/* Runs the loop until *flag changes (or 3 s). */
#define SPIN_UNTIL(f, cond)                                                                        \
    do {                                                                                           \
        ev_tstamp end_ = ev_time() + 3;                                                            \
        while (!(cond) && ev_time() < end_) {                                                      \
            ev_run((f)->loop, EVRUN_NOWAIT);                                                       \
            usleep(500);                                                                           \
        }                                                                                          \
        assert_true(cond);                                                                         \
    } while (0)

static void srv_accept(struct fake *f)
{
    struct pollfd p = { .fd = f->lfd, .events = POLLIN };
    ev_tstamp end = ev_time() + 3;
    while (ev_time() < end && poll(&p, 1, 0) == 0) {
        ev_run(f->loop, EVRUN_NOWAIT);
        usleep(500);
    }
    f->fd = accept(f->lfd, NULL, NULL);
    assert_true(f->fd >= 0);
}

/* Reads n bytes, running the client's loop while waiting (the client and
 * this fake share the thread); -1 on EOF or after 3 s. */
static int read_full(struct fake *f, uint8_t *b, size_t n)
{
    size_t got = 0;
    ev_tstamp end = ev_time() + 3;
    while (got < n) {
        struct pollfd p = { .fd = f->fd, .events = POLLIN };
        if (poll(&p, 1, 0) == 0) {
            if (ev_time() > end)
                return -1;
            ev_run(f->loop, EVRUN_NOWAIT);
            usleep(200);
            continue;
        }
        ssize_t r = read(f->fd, b + got, n - got);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static uint32_t be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Reads one message: its vppmsg index (by our table) and context; -1 on EOF. */
static int srv_recv(struct fake *f, uint8_t *body, size_t cap, uint32_t *context)
{
    uint8_t hdr[VPP_WIRE_HDR_LEN];
    uint32_t len;
    if (read_full(f, hdr, sizeof(hdr)) < 0)
        return -1;
    assert_int_equal(vpp_wire_hdr_decode(hdr, cap, &len), 0);
    assert_int_equal(read_full(f, body, len), 0);
    uint16_t id = (uint16_t)(body[0] << 8 | body[1]);
    for (int i = 0; i < VPPMSG_N_MSGS; i++)
        if (table_id(i) == id) {
            if (i == VPPMSG_IDX_SOCKCLNT_CREATE)
                *context = be32(body + 2);
            else
                *context = be32(body + 6);
            return i;
        }
    fail_msg("unknown message id %u from the client", id);
    return -1;
}

static void srv_send_raw(struct fake *f, const void *b, size_t n)
{
    assert_int_equal(write(f->fd, b, n), (ssize_t)n);
}

static void srv_send(struct fake *f, int idx, const void *m)
{
    uint8_t buf[VPP_WIRE_HDR_LEN + 8192];
    int n = vppmsg_table[idx].encode(m, buf + VPP_WIRE_HDR_LEN, sizeof(buf) - VPP_WIRE_HDR_LEN);
    assert_true(n > 0);
    vpp_wire_hdr_encode(buf, (size_t)n);
    srv_send_raw(f, buf, VPP_WIRE_HDR_LEN + (size_t)n);
}

static void send_retval(struct fake *f, int idx, uint32_t context, int32_t retval)
{
    struct vppmsg_lb_conf_reply r; /* all retval-only replies share this layout */
    vppmsg_lb_conf_reply_init(&r);
    r.msg_id = table_id(idx);
    r.context = context;
    r.retval = retval;
    srv_send(f, VPPMSG_IDX_LB_CONF_REPLY, &r); /* the layout; the ID says idx */
}

/* Accepts and answers the handshake; skip/bad as in make_table. */
static void srv_handshake(struct fake *f, int skip, int bad, bool finish)
{
    uint8_t body[8192];
    uint32_t ctx;
    int ups = f->ups;
    srv_accept(f);
    assert_int_equal(srv_recv(f, body, sizeof(body), &ctx), VPPMSG_IDX_SOCKCLNT_CREATE);
    struct vppapi_message_table_entry e[VPPMSG_N_MSGS + 1];
    struct vppmsg_sockclnt_create_reply r;
    vppmsg_sockclnt_create_reply_init(&r);
    r.msg_id = VPPMSG_SOCKCLNT_CREATE_REPLY_FIXED_ID;
    r.context = ctx;
    r.index = 0x80000007;
    r.count = (uint16_t)make_table(e, skip, bad);
    r.message_table = e;
    srv_send(f, VPPMSG_IDX_SOCKCLNT_CREATE_REPLY, &r);
    assert_int_equal(srv_recv(f, body, sizeof(body), &ctx), VPPMSG_IDX_SHOW_VERSION);
    assert_int_equal(be32(body + 2), 0x80000007);
    struct vppmsg_show_version_reply v;
    vppmsg_show_version_reply_init(&v);
    v.msg_id = table_id(VPPMSG_IDX_SHOW_VERSION_REPLY);
    v.context = ctx;
    snprintf(v.program, sizeof(v.program), "vpe");
    snprintf(v.version, sizeof(v.version), "26.10-fake");
    snprintf(v.build_date, sizeof(v.build_date), "today");
    srv_send(f, VPPMSG_IDX_SHOW_VERSION_REPLY, &v);
    if (!finish)
        return;
    assert_int_equal(srv_recv(f, body, sizeof(body), &ctx), VPPMSG_IDX_CONTROL_PING);
    struct vppmsg_control_ping_reply p;
    vppmsg_control_ping_reply_init(&p);
    p.msg_id = 24;
    p.context = ctx;
    p.vpe_pid = 4242;
    srv_send(f, VPPMSG_IDX_CONTROL_PING_REPLY, &p);
    SPIN_UNTIL(f, f->ups > ups);
}

static double ping_interval = 60;

static int setup(void **state)
{
    struct fake *f = calloc(1, sizeof(*f));
    snprintf(f->path, sizeof(f->path), "/tmp/maglev-vppc-%d.sock", (int)getpid());
    unlink(f->path);
    f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(f->lfd, 4), 0);
    f->fd = -1;
    f->loop = ev_loop_new(EVFLAG_AUTO);
    struct vpp_client_opts o = { .request_timeout = 0.3,
                                 .ping_interval = ping_interval,
                                 .backoff_min = 0.05,
                                 .backoff_max = 0.1 };
    struct vpp_client_cbs cbs = { .up = on_up, .down = on_down, .ctx = f };
    f->c = vpp_client_new(f->loop, f->path, &o, &cbs);
    vpp_client_start(f->c);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fake *f = *state;
    vpp_client_free(f->c);
    if (f->fd >= 0)
        close(f->fd);
    close(f->lfd);
    unlink(f->path);
    ev_loop_destroy(f->loop);
    free(f);
    return 0;
}

/* ---- requests ---- */

struct res {
    int calls, err, retval, details;
    uint32_t pid;
};

static void on_reply(void *ctx, int err, const void *reply)
{
    struct res *r = ctx;
    r->calls++;
    r->err = err;
    if (!err && reply)
        r->retval = ((const struct vppmsg_lb_conf_reply *)reply)->retval;
}

static void on_details(void *ctx, const void *d)
{
    (void)d;
    ((struct res *)ctx)->details++;
}

static uint32_t call_conf_get(struct fake *f, struct res *r)
{
    struct vppmsg_lb_conf_get m;
    vppmsg_lb_conf_get_init(&m);
    assert_int_equal(vpp_client_call(f->c, VPPMSG_IDX_LB_CONF_GET, &m, VPPMSG_IDX_LB_CONF_GET_REPLY,
                                     on_reply, r),
                     0);
    return m.context;
}

static void test_handshake_and_info(void **state)
{
    struct fake *f = *state;
    srv_handshake(f, -1, -1, true);
    const struct vpp_info *i = vpp_client_info(f->c);
    assert_int_equal(i->state, VPP_STATE_CONNECTED);
    assert_string_equal(i->version, "26.10-fake");
    assert_int_equal(i->pid, 4242);
    assert_int_equal(i->client_index, 0x80000007);
    assert_true(i->connected_since_us > 0);
    assert_int_equal(vpp_client_msg_id(f->c, VPPMSG_IDX_LB_AS_SET_WEIGHT),
                     DYN_BASE + VPPMSG_IDX_LB_AS_SET_WEIGHT);
}

static void test_pipelined_replies_by_context(void **state)
{
    struct fake *f = *state;
    srv_handshake(f, -1, -1, true);
    struct res r[3] = { 0 };
    uint32_t ctx[3];
    for (int k = 0; k < 3; k++)
        ctx[k] = call_conf_get(f, &r[k]);
    assert_int_equal(vpp_client_in_flight(f->c), 3);
    uint8_t body[512];
    uint32_t got;
    for (int k = 0; k < 3; k++) {
        assert_int_equal(srv_recv(f, body, sizeof(body), &got), VPPMSG_IDX_LB_CONF_GET);
        assert_int_equal(got, ctx[k]);
    }
    struct vppmsg_lb_conf_get_reply g;
    for (int k = 0; k < 3; k++) {
        vppmsg_lb_conf_get_reply_init(&g);
        g.msg_id = table_id(VPPMSG_IDX_LB_CONF_GET_REPLY);
        g.context = ctx[k];
        g.retval = -k;
        g.sticky_buckets_per_core = 1024;
        srv_send(f, VPPMSG_IDX_LB_CONF_GET_REPLY, &g);
    }
    SPIN_UNTIL(f, r[2].calls == 1);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(r[k].calls, 1);
        assert_int_equal(r[k].err, 0);
        assert_int_equal(r[k].retval, -k);
    }
    assert_int_equal(vpp_client_in_flight(f->c), 0);
}

static void test_dropped_request_and_timeout(void **state)
{
    struct fake *f = *state;
    srv_handshake(f, -1, -1, true);
    struct res a = { 0 }, b = { 0 }, c = { 0 };
    call_conf_get(f, &a);
    uint32_t cb = call_conf_get(f, &b);
    call_conf_get(f, &c);
    /* VPP "drops" the first: the reply to the second proves it */
    send_retval(f, VPPMSG_IDX_LB_CONF_GET_REPLY, cb, 0);
    SPIN_UNTIL(f, b.calls == 1);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.err, -ENOMSG);
    assert_int_equal(b.err, -EBADMSG); /* a 10-byte lb_conf_get_reply is short */
    /* the third never gets an answer */
    SPIN_UNTIL(f, c.calls == 1);
    assert_int_equal(c.err, -ETIMEDOUT);
    assert_int_equal(f->downs, 0); /* a lost request is not a dead VPP */
}

static void test_dump_ends_with_control_ping(void **state)
{
    struct fake *f = *state;
    srv_handshake(f, -1, -1, true);
    struct res r = { 0 };
    struct vppmsg_lb_vip_dump d;
    vppmsg_lb_vip_dump_init(&d);
    assert_int_equal(vpp_client_dump(f->c, VPPMSG_IDX_LB_VIP_DUMP, &d, VPPMSG_IDX_LB_VIP_DETAILS,
                                     on_details, on_reply, &r),
                     0);
    uint8_t body[512];
    uint32_t ctx, ctx2;
    assert_int_equal(srv_recv(f, body, sizeof(body), &ctx), VPPMSG_IDX_LB_VIP_DUMP);
    assert_int_equal(srv_recv(f, body, sizeof(body), &ctx2), VPPMSG_IDX_CONTROL_PING);
    assert_int_equal(ctx, ctx2);
    struct vppmsg_lb_vip_details v;
    for (int k = 0; k < 3; k++) {
        vppmsg_lb_vip_details_init(&v);
        v.msg_id = table_id(VPPMSG_IDX_LB_VIP_DETAILS);
        v.context = ctx;
        v.vip.pfx.len = 32;
        srv_send(f, VPPMSG_IDX_LB_VIP_DETAILS, &v);
    }
    struct vppmsg_control_ping_reply p;
    vppmsg_control_ping_reply_init(&p);
    p.msg_id = 24;
    p.context = ctx;
    srv_send(f, VPPMSG_IDX_CONTROL_PING_REPLY, &p);
    SPIN_UNTIL(f, r.calls == 1);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.details, 3);
}

static void test_hostile_frames_are_survived(void **state)
{
    struct fake *f = *state;
    srv_handshake(f, -1, -1, true);
    struct res r = { 0 };
    uint32_t ctx = call_conf_get(f, &r);
    /* an unknown message id, then a reply for a context nobody asked for */
    uint8_t unknown[VPP_WIRE_HDR_LEN + 12] = { 0 };
    vpp_wire_hdr_encode(unknown, 12);
    unknown[VPP_WIRE_HDR_LEN] = 0x7f;
    unknown[VPP_WIRE_HDR_LEN + 1] = 0x01;
    srv_send_raw(f, unknown, sizeof(unknown));
    struct vppmsg_lb_conf_get_reply g;
    vppmsg_lb_conf_get_reply_init(&g);
    g.msg_id = table_id(VPPMSG_IDX_LB_CONF_GET_REPLY);
    g.context = ctx + 1000;
    srv_send(f, VPPMSG_IDX_LB_CONF_GET_REPLY, &g);
    /* half a frame */
    uint8_t half[VPP_WIRE_HDR_LEN + 20] = { 0 };
    vpp_wire_hdr_encode(half, 38);
    srv_send_raw(f, half, sizeof(half));
    spin(f, 0.05);
    assert_int_equal(r.calls, 0);
    assert_int_equal(f->downs, 0);
    assert_int_equal(vpp_client_info(f->c)->state, VPP_STATE_CONNECTED);
    /* the rest of it: a body with message ID 0, unknown, ignored */
    uint8_t rest[18] = { 0 };
    srv_send_raw(f, rest, sizeof(rest));
    spin(f, 0.05);
    assert_int_equal(f->downs, 0);
    /* then a 100 MB frame length: the stream is out of sync -> disconnect */
    uint8_t huge[VPP_WIRE_HDR_LEN] = { 0 };
    huge[8] = 0x06; /* 0x06000000 = 100,663,296 bytes */
    srv_send_raw(f, huge, sizeof(huge));
    SPIN_UNTIL(f, f->downs == 1);
    assert_non_null(strstr(f->down_reason, "out of sync"));
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.err, -ECONNRESET);
    assert_int_not_equal(vpp_client_info(f->c)->state, VPP_STATE_CONNECTED);
    struct vppmsg_lb_conf_get m;
    vppmsg_lb_conf_get_init(&m);
    assert_int_equal(vpp_client_call(f->c, VPPMSG_IDX_LB_CONF_GET, &m, VPPMSG_IDX_LB_CONF_GET_REPLY,
                                     on_reply, &r),
                     -ENOTCONN);
    /* and it comes back */
    close(f->fd);
    srv_handshake(f, -1, -1, true);
    assert_int_equal(f->ups, 2);
    assert_int_equal(vpp_client_info(f->c)->connects, 2);
}

static void test_eof_disconnects_and_reconnects(void **state)
{
    struct fake *f = *state;
    srv_handshake(f, -1, -1, true);
    struct res r = { 0 };
    call_conf_get(f, &r);
    close(f->fd);
    SPIN_UNTIL(f, f->downs == 1);
    assert_int_equal(r.err, -ECONNRESET);
    assert_non_null(strstr(f->down_reason, "closed"));
    srv_handshake(f, -1, -1, true);
    assert_int_equal(f->ups, 2);
}

static void test_incompatible_table_sends_nothing_else(void **state)
{
    struct fake *f = *state;
    srv_handshake(f, VPPMSG_IDX_LB_AS_V2_DUMP, VPPMSG_IDX_LB_ADD_DEL_AS_V2, false);
    /* after show_version the client goes away: no other byte */
    uint8_t body[512];
    uint32_t ctx;
    assert_int_equal(srv_recv(f, body, sizeof(body), &ctx), -1);
    SPIN_UNTIL(f, vpp_client_info(f->c)->state == VPP_STATE_INCOMPATIBLE);
    const char *e = vpp_client_info(f->c)->last_error;
    assert_non_null(strstr(e, "26.10-fake"));
    assert_non_null(strstr(e, "lb_as_v2_dump"));
    assert_non_null(strstr(e, "lb_add_del_as_v2_2f1d3b0e"));
    assert_int_equal(f->ups, 0);
    assert_int_equal(f->downs, 0);
}

static int setup_ping(void **state)
{
    ping_interval = 0.1;
    int r = setup(state);
    ping_interval = 60;
    return r;
}

static void test_unanswered_liveness_ping_disconnects(void **state)
{
    struct fake *f = *state;
    srv_handshake(f, -1, -1, true);
    uint8_t body[512];
    uint32_t ctx;
    /* the first ping is answered, the second is not */
    assert_int_equal(srv_recv(f, body, sizeof(body), &ctx), VPPMSG_IDX_CONTROL_PING);
    struct vppmsg_control_ping_reply p;
    vppmsg_control_ping_reply_init(&p);
    p.msg_id = 24;
    p.context = ctx;
    srv_send(f, VPPMSG_IDX_CONTROL_PING_REPLY, &p);
    assert_int_equal(srv_recv(f, body, sizeof(body), &ctx), VPPMSG_IDX_CONTROL_PING);
    SPIN_UNTIL(f, f->downs == 1);
    assert_non_null(strstr(f->down_reason, "liveness"));
}

static void test_silent_vpp_times_out_handshake(void **state)
{
    struct fake *f = *state;
    srv_accept(f);
    /* no reply to sockclnt_create */
    SPIN_UNTIL(f, vpp_client_info(f->c)->state == VPP_STATE_DISCONNECTED &&
                      vpp_client_info(f->c)->last_error[0]);
    assert_non_null(strstr(vpp_client_info(f->c)->last_error, "handshake"));
    close(f->fd);
}

/* ---- vpp_route_lookup: the request's bytes (LAYOUTS.md), the reply's ---- */

struct route_res {
    int calls, err, retval;
    uint32_t stats_index;
};

static void on_route(void *ctx, int err, int retval, uint32_t stats_index)
{
    struct route_res *r = ctx;
    r->calls++;
    r->err = err;
    r->retval = retval;
    r->stats_index = stats_index;
}

/* ip_route_lookup_reply, by hand: retval, table 0, stats_index, a zero
 * prefix, n_paths 0 (37 bytes) */
static void send_route_reply(struct fake *f, uint32_t ctx, int32_t retval, uint32_t idx)
{
    uint8_t b[VPP_WIRE_HDR_LEN + 37] = { 0 }, *m = b + VPP_WIRE_HDR_LEN;
    uint16_t id = table_id(VPPMSG_IDX_IP_ROUTE_LOOKUP_REPLY);
    uint32_t v[3] = { ctx, (uint32_t)retval, 0 };
    m[0] = (uint8_t)(id >> 8);
    m[1] = (uint8_t)id;
    for (int k = 0; k < 3; k++)
        for (int j = 0; j < 4; j++)
            m[2 + 4 * k + j] = (uint8_t)(v[k] >> (24 - 8 * j));
    for (int j = 0; j < 4; j++)
        m[14 + j] = (uint8_t)(idx >> (24 - 8 * j));
    vpp_wire_hdr_encode(b, 37);
    srv_send_raw(f, b, sizeof(b));
}

static void test_route_lookup(void **state)
{
    struct fake *f = *state;
    srv_handshake(f, -1, -1, true);
    struct ip_addr a4, a6;
    assert_int_equal(ip_addr_parse("198.19.0.10", &a4), 0);
    assert_int_equal(ip_addr_parse("2001:db8::10", &a6), 0);
    struct route_res r4 = { 0 }, r6 = { 0 };
    assert_int_equal(vpp_route_lookup(f->c, &a4, 32, on_route, &r4), 0);
    assert_int_equal(vpp_route_lookup(f->c, &a6, 128, on_route, &r6), 0);
    assert_int_equal(r4.calls, 0); /* never from the call itself */
    uint8_t body[512];
    uint32_t c4, c6;
    assert_int_equal(srv_recv(f, body, sizeof(body), &c4), VPPMSG_IDX_IP_ROUTE_LOOKUP);
    static const uint8_t want4[] = { 0, 0, 0, 0, 1, 0, 198, 19, 0, 10 }; /* table, exact, af, ip4 */
    assert_memory_equal(body + 10, want4, sizeof(want4));
    assert_int_equal(body[32], 32); /* prefix.len, after the 16-byte union */
    assert_int_equal(srv_recv(f, body, sizeof(body), &c6), VPPMSG_IDX_IP_ROUTE_LOOKUP);
    assert_int_equal(body[14], 1);
    assert_int_equal(body[15], 1); /* IPv6 */
    assert_memory_equal(body + 16, a6.u.bytes, 16);
    assert_int_equal(body[32], 128);
    send_route_reply(f, c4, 0, 1007);
    send_route_reply(f, c6, -6, 0); /* no such route */
    SPIN_UNTIL(f, r6.calls == 1);
    assert_int_equal(r4.calls, 1);
    assert_int_equal(r4.err, 0);
    assert_int_equal(r4.retval, 0);
    assert_int_equal(r4.stats_index, 1007);
    assert_int_equal(r6.err, 0);
    assert_int_equal(r6.retval, -6);
    assert_int_equal(r6.stats_index, 0);
}

static void test_route_lookup_unsupported(void **state)
{
    struct fake *f = *state;
    srv_handshake(f, VPPMSG_IDX_IP_ROUTE_LOOKUP, -1, true); /* optional: still connects */
    assert_int_equal(vpp_client_info(f->c)->state, VPP_STATE_CONNECTED);
    struct ip_addr a;
    assert_int_equal(ip_addr_parse("198.19.0.10", &a), 0);
    struct route_res r = { 0 };
    assert_int_equal(vpp_route_lookup(f->c, &a, 32, on_route, &r), -EPROTONOSUPPORT);
    assert_int_equal(r.calls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_msgtable_ok),
        cmocka_unit_test(test_msgtable_missing_and_mismatched),
        cmocka_unit_test(test_msgtable_hostile_entries),
        cmocka_unit_test_setup_teardown(test_handshake_and_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_replies_by_context, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dropped_request_and_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump_ends_with_control_ping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_frames_are_survived, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eof_disconnects_and_reconnects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incompatible_table_sends_nothing_else, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_silent_vpp_times_out_handshake, setup, teardown),
        cmocka_unit_test_setup_teardown(test_route_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_route_lookup_unsupported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unanswered_liveness_ping_disconnects, setup_ping,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
