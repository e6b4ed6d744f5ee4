/* Unit tests for src/vpp: the generated message codecs (src/vpp/gen) and the
 * socket framing (wire.c). Byte-exact expectations come from
 * shared/vpp/LAYOUTS.md and PROTOCOL.md (offsets noted per line). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpp/gen/vpp_msgs.h"
#include "vpp/wire.h"

#define ID   0x12, 0x34             /* _vl_msg_id 0x1234 */
#define CI   0x80, 0x00, 0x00, 0x01 /* client_index 0x80000001 */
#define Z4   0, 0, 0, 0
#define Z12  Z4, Z4, Z4
#define IP4A 0xc0, 0x00, 0x02, 0x01 /* 192.0.2.1 */

/* A deterministic PRNG (xorshift32) so failures reproduce. */
static uint32_t rng_state = 2463534242u;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static void set_ip4(struct vppapi_address *a, uint8_t b0, uint8_t b1, uint8_t b2, uint8_t b3)
{
    memset(a, 0, sizeof(*a));
    a->af = VPPAPI_ADDRESS_IP4;
    a->un.ip4[0] = b0;
    a->un.ip4[1] = b1;
    a->un.ip4[2] = b2;
    a->un.ip4[3] = b3;
}

/* Every strict prefix of a valid encoding is rejected, and so is one byte
 * more (exact-length rule); the full message decodes. */
static void check_truncations(const struct vppmsg_desc *d, const uint8_t *wire, size_t n)
{
    _Alignas(max_align_t) unsigned char out[1024];
    assert_true(d->struct_size <= sizeof(out));
    uint8_t *copy = malloc(n + 1);
    assert_non_null(copy);
    memcpy(copy, wire, n);
    copy[n] = 0;
    for (size_t k = 0; k < n; k++) {
        /* a heap buffer of exactly k bytes, so ASan sees any over-read */
        uint8_t *t = malloc(k ? k : 1);
        assert_non_null(t);
        memcpy(t, wire, k);
        int rc = d->decode(t, k, out);
        if (rc != -EBADMSG)
            fail_msg("%s: truncated to %zu of %zu bytes decoded to %d", d->name, k, n, rc);
        free(t);
    }
    assert_int_equal(d->decode(copy, n + 1, out), -EBADMSG);
    assert_int_equal(d->decode(copy, n, out), 0);
    if (d->free)
        d->free(out);
    free(copy);
}

/* Encoding into every too-short buffer fails with -ENOSPC, never writes
 * past it. */
static void check_enospc(const struct vppmsg_desc *d, const void *m, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        uint8_t *t = malloc(k ? k : 1);
        assert_non_null(t);
        assert_int_equal(d->encode(m, t, k), -ENOSPC);
        free(t);
    }
}

/* Encodes m, compares with the expected bytes, decodes and re-encodes. */
static void check_exact(enum vppmsg_index idx, const void *m, const uint8_t *want, size_t n)
{
    const struct vppmsg_desc *d = &vppmsg_table[idx];
    uint8_t buf[512], again[512];
    _Alignas(max_align_t) unsigned char out[1024];
    assert_int_equal(d->encode(m, buf, sizeof(buf)), (int)n);
    assert_memory_equal(buf, want, n);
    if (!d->variable)
        assert_int_equal(d->min_size, n);
    assert_int_equal(d->decode(buf, n, out), 0);
    assert_int_equal(d->encode(out, again, sizeof(again)), (int)n);
    assert_memory_equal(again, want, n);
    if (d->free)
        d->free(out);
    check_truncations(d, want, n);
    check_enospc(d, m, n);
}

/* ---------------------------------------------------------------- exact */

static void test_control_ping_exact(void **state)
{
    (void)state;
    struct vppmsg_control_ping m;
    vppmsg_control_ping_init(&m);
    m.msg_id = VPPMSG_CONTROL_PING_FIXED_ID;
    m.client_index = 0x80000001;
    m.context = 42;
    const uint8_t want[] = { 0x00, 0x17, CI, 0, 0, 0, 42 };
    check_exact(VPPMSG_IDX_CONTROL_PING, &m, want, sizeof(want));
    assert_int_equal(vppmsg_control_ping_size(&m), 10);
}

static void test_control_ping_reply_exact(void **state)
{
    (void)state;
    struct vppmsg_control_ping_reply m = {
        .msg_id = 24, .context = 42, .retval = -6, .client_index = 0x80000001, .vpe_pid = 0x01020304
    };
    const uint8_t want[] = { 0x00, 0x18, 0, 0, 0, 42, 0xff, 0xff, 0xff, 0xfa, CI, 1, 2, 3, 4 };
    check_exact(VPPMSG_IDX_CONTROL_PING_REPLY, &m, want, sizeof(want));
}

static void test_lb_conf_exact(void **state)
{
    (void)state;
    struct vppmsg_lb_conf m;
    vppmsg_lb_conf_init(&m);
    /* init applies the .api defaults: "keep" for both knobs */
    assert_int_equal(m.sticky_buckets_per_core, 0xffffffffu);
    assert_int_equal(m.flow_timeout, 0xffffffffu);
    m.msg_id = 0x1234;
    m.client_index = 0x80000001;
    m.context = 0xdeadbeef;
    const uint8_t ip4[4] = { 192, 0, 2, 10 };
    memcpy(m.ip4_src_address, ip4, 4);
    m.ip6_src_address[0] = 0x20;
    m.ip6_src_address[1] = 0x01;
    m.ip6_src_address[2] = 0x0d;
    m.ip6_src_address[3] = 0xb8;
    m.ip6_src_address[15] = 0x01;
    m.sticky_buckets_per_core = 1024;
    m.flow_timeout = 40;
    const uint8_t want[] = {
        ID,   CI,   0xde, 0xad, 0xbe, 0xef,                /* 0, 2, 6 */
        192,  0,    2,    10,                              /* 10 ip4_src_address */
        0x20, 0x01, 0x0d, 0xb8, Z4,   Z4,   0, 0, 0, 0x01, /* 14 ip6_src_address */
        0x00, 0x00, 0x04, 0x00,                            /* 30 sticky_buckets_per_core */
        0x00, 0x00, 0x00, 0x28,                            /* 34 flow_timeout */
    };
    assert_int_equal(sizeof(want), VPPMSG_LB_CONF_SIZE);
    check_exact(VPPMSG_IDX_LB_CONF, &m, want, sizeof(want));

    /* sticky_buckets_per_core 0 would break VPP's data path: refused */
    uint8_t buf[64];
    m.sticky_buckets_per_core = 0;
    assert_int_equal(vppmsg_lb_conf_encode(&m, buf, sizeof(buf)), -EINVAL);
}

static void test_lb_add_del_vip_v2_exact(void **state)
{
    (void)state;
    struct vppmsg_lb_add_del_vip_v2 m;
    vppmsg_lb_add_del_vip_v2_init(&m);
    assert_int_equal(m.new_flows_table_length, 1024); /* .api default */
    assert_int_equal(m.protocol, 255);
    m.msg_id = 0x1234;
    m.client_index = 0x80000001;
    m.context = 7;
    set_ip4(&m.pfx.address, 192, 0, 2, 1);
    m.pfx.len = 32;
    m.protocol = VPPAPI_IP_API_PROTO_TCP;
    m.port = 80;
    m.encap = VPPAPI_LB_API_ENCAP_TYPE_L3DSR;
    m.dscp = 46;
    /* sent big-endian as declared; PROTOCOL.md 5.4 explains VPP reads byte 36 */
    m.type = VPPAPI_LB_API_SRV_TYPE_NODEPORT;
    m.target_port = 8080;
    m.node_port = 30080;
    m.new_flows_table_length = 65536;
    m.src_ip_sticky = true;
    const uint8_t want[] = {
        ID,   CI,   0,    0,    0, 7, /* 0 */
        0x00, IP4A, Z12,  32,         /* 10 pfx: af, 16-byte union, len */
        6,                            /* 28 protocol */
        0x00, 0x50,                   /* 29 port */
        0,    0,    0,    2,          /* 31 encap */
        46,                           /* 35 dscp */
        0,    0,    0,    1,          /* 36 type */
        0x1f, 0x90,                   /* 40 target_port */
        0x75, 0x80,                   /* 42 node_port */
        0x00, 0x01, 0x00, 0x00,       /* 44 new_flows_table_length */
        1,                            /* 48 src_ip_sticky */
        0,                            /* 49 is_del */
    };
    assert_int_equal(sizeof(want), 50);
    check_exact(VPPMSG_IDX_LB_ADD_DEL_VIP_V2, &m, want, sizeof(want));

    /* new_flows_table_length 0 takes VPP down (PROTOCOL.md 5.3): the encoder
     * refuses it, for v1 too; init() never produces it. */
    uint8_t buf[64];
    m.new_flows_table_length = 0;
    assert_int_equal(vppmsg_lb_add_del_vip_v2_encode(&m, buf, sizeof(buf)), -EINVAL);
    assert_int_equal(vppmsg_lb_add_del_vip_v2_size(&m), 0);
    struct vppmsg_lb_add_del_vip v1;
    vppmsg_lb_add_del_vip_init(&v1);
    assert_int_equal(vppmsg_lb_add_del_vip_encode(&v1, buf, sizeof(buf)), 49);
    v1.new_flows_table_length = 0;
    assert_int_equal(vppmsg_lb_add_del_vip_encode(&v1, buf, sizeof(buf)), -EINVAL);
}

/* The worked example of PROTOCOL.md 5.2. */
static void test_lb_add_del_as_v2_exact(void **state)
{
    (void)state;
    struct vppmsg_lb_add_del_as_v2 m;
    vppmsg_lb_add_del_as_v2_init(&m);
    assert_int_equal(m.weight, 100);
    m.msg_id = 0x1234;
    m.client_index = 0x80000001;
    m.context = 0x01020304;
    set_ip4(&m.pfx.address, 192, 0, 2, 1);
    m.pfx.len = 32;
    m.protocol = 6;
    m.port = 80;
    set_ip4(&m.as_address, 10, 0, 0, 1);
    m.weight = 50;
    const uint8_t want[] = {
        ID,   CI,   1,    2,    3, 4,   /* 0 */
        0x00, IP4A, Z12,  0x20,         /* 10 pfx */
        0x06, 0x00, 0x50,               /* 28 protocol, 29 port */
        0x00, 0x0a, 0,    0,    1, Z12, /* 31 as_address */
        0x32, 0x00, 0x00,               /* 48 weight, 49 is_del, 50 is_flush */
    };
    assert_int_equal(sizeof(want), 51);
    check_exact(VPPMSG_IDX_LB_ADD_DEL_AS_V2, &m, want, sizeof(want));
}

static void test_lb_as_set_weight_exact(void **state)
{
    (void)state;
    struct vppmsg_lb_as_set_weight m;
    vppmsg_lb_as_set_weight_init(&m);
    m.msg_id = 0x1234;
    m.client_index = 0x80000001;
    m.context = 9;
    m.pfx.address.af = VPPAPI_ADDRESS_IP6; /* 2001:db8::10/128 */
    m.pfx.address.un.ip6[0] = 0x20;
    m.pfx.address.un.ip6[1] = 0x01;
    m.pfx.address.un.ip6[2] = 0x0d;
    m.pfx.address.un.ip6[3] = 0xb8;
    m.pfx.address.un.ip6[15] = 0x10;
    m.pfx.len = 128;
    m.protocol = VPPAPI_IP_API_PROTO_UDP;
    m.port = 53;
    m.as_address.af = VPPAPI_ADDRESS_IP6; /* 2001:db8::1:2 */
    m.as_address.un.ip6[0] = 0x20;
    m.as_address.un.ip6[1] = 0x01;
    m.as_address.un.ip6[2] = 0x0d;
    m.as_address.un.ip6[3] = 0xb8;
    m.as_address.un.ip6[13] = 0x01;
    m.as_address.un.ip6[15] = 0x02;
    m.weight = 0;
    m.is_flush = true;
    const uint8_t want[] = {
        ID,   CI,   0,    0,    0,    9,                          /* 0 */
        0x01, 0x20, 0x01, 0x0d, 0xb8, Z4, Z4, 0, 0, 0, 0x10, 128, /* 10 pfx */
        17,   0x00, 0x35,                                         /* 28 protocol, 29 port */
        0x01, 0x20, 0x01, 0x0d, 0xb8, Z4, Z4, 0, 1, 0, 2,         /* 31 as_address */
        0,    1,                                                  /* 48 weight, 49 is_flush */
    };
    assert_int_equal(sizeof(want), 50);
    check_exact(VPPMSG_IDX_LB_AS_SET_WEIGHT, &m, want, sizeof(want));
}

static void test_lb_as_v2_details_exact(void **state)
{
    (void)state;
    const uint8_t wire[] = {
        ID,   0,    0,    0,    5,      /* 0 id, 2 context */
        0x00, IP4A, Z12,  32,           /* 6 vip.pfx */
        6,    0x01, 0xbb,               /* 24 vip.protocol, 25 vip.port 443 */
        0x00, 10,   0,    0,    2, Z12, /* 27 app_srv 10.0.0.2 */
        0x01,                           /* 44 flags */
        0,    0,    0x30, 0x39,         /* 45 in_use_since 12345 */
        100,                            /* 49 weight */
        0,    0,    0x01, 0x00,         /* 50 num_buckets 256 */
    };
    assert_int_equal(sizeof(wire), VPPMSG_LB_AS_V2_DETAILS_SIZE);
    struct vppmsg_lb_as_v2_details d;
    assert_int_equal(vppmsg_lb_as_v2_details_decode(wire, sizeof(wire), &d), 0);
    assert_int_equal(d.msg_id, 0x1234);
    assert_int_equal(d.context, 5);
    assert_int_equal(d.vip.pfx.address.af, VPPAPI_ADDRESS_IP4);
    assert_int_equal(d.vip.pfx.address.un.ip4[0], 192);
    assert_int_equal(d.vip.pfx.address.un.ip4[3], 1);
    assert_int_equal(d.vip.pfx.len, 32);
    assert_int_equal(d.vip.protocol, 6);
    assert_int_equal(d.vip.port, 443);
    assert_int_equal(d.app_srv.un.ip4[0], 10);
    assert_int_equal(d.app_srv.un.ip4[3], 2);
    assert_int_equal(d.flags, 1);
    assert_int_equal(d.in_use_since, 12345);
    assert_int_equal(d.weight, 100);
    assert_int_equal(d.num_buckets, 256);
    check_exact(VPPMSG_IDX_LB_AS_V2_DETAILS, &d, wire, sizeof(wire));
}

static void test_lb_vip_details_decode(void **state)
{
    (void)state;
    /* srv_type/target_port are passed through as sent (PROTOCOL.md 5.4
     * quirks are the caller's business): NODEPORT arrives in byte 32. */
    const uint8_t wire[] = {
        ID,   0,    0, 0, 1, 0x00, IP4A, Z12, 32, 255, 0, 0, /* vip all-port */
        0,    0,    0, 0,                                    /* 27 encap GRE4 */
        0,                                                   /* 31 dscp */
        1,    0,    0, 0,                                    /* 32 srv_type */
        0x90, 0x1f,                                          /* 36 target_port */
        0x04, 0x00,                                          /* 38 flow_table_length */
    };
    struct vppmsg_lb_vip_details d;
    assert_int_equal(vppmsg_lb_vip_details_decode(wire, sizeof(wire), &d), 0);
    assert_int_equal(d.vip.protocol, 255);
    assert_int_equal(d.srv_type, 0x01000000u);
    assert_int_equal(d.target_port, 0x901f);
    assert_int_equal(d.flow_table_length, 1024);
    check_exact(VPPMSG_IDX_LB_VIP_DETAILS, &d, wire, sizeof(wire));
}

static void test_sockclnt_create_exact(void **state)
{
    (void)state;
    struct vppmsg_sockclnt_create m;
    vppmsg_sockclnt_create_init(&m);
    m.msg_id = VPPMSG_SOCKCLNT_CREATE_FIXED_ID;
    m.context = 0x11223344;
    strcpy(m.name, "maglevd");
    uint8_t want[70] = { 0x00, 0x0f, 0x11, 0x22, 0x33, 0x44, 'm', 'a', 'g', 'l', 'e', 'v', 'd' };
    check_exact(VPPMSG_IDX_SOCKCLNT_CREATE, &m, want, sizeof(want));
    /* a 64-character name is cut to 63 so the wire string stays terminated */
    memset(m.name, 'x', sizeof(m.name));
    uint8_t buf[70];
    assert_int_equal(vppmsg_sockclnt_create_encode(&m, buf, sizeof(buf)), 70);
    assert_int_equal(buf[68], 'x');
    assert_int_equal(buf[69], 0);
}

/* ------------------------------------------------------------- variable */

static void test_sockclnt_create_reply(void **state)
{
    (void)state;
    struct vppapi_message_table_entry tab[3] = {
        { 15, "sockclnt_create_455fb9c4" },
        { 300, "lb_conf_56cd3261" },
        { 0xfffe, "" },
    };
    struct vppmsg_sockclnt_create_reply m = { .msg_id = 16,
                                              .context = 0x11223344,
                                              .response = 0,
                                              .index = 0x80000001,
                                              .count = 3,
                                              .message_table = tab };
    uint8_t buf[512];
    int n = vppmsg_sockclnt_create_reply_encode(&m, buf, sizeof(buf));
    assert_int_equal(n, 20 + 3 * 66);
    assert_int_equal(vppmsg_sockclnt_create_reply_size(&m), 20 + 3 * 66);
    assert_int_equal(buf[18], 0);
    assert_int_equal(buf[19], 3);         /* count */
    assert_int_equal(buf[20 + 66], 0x01); /* entry 1 index 300 BE */
    assert_int_equal(buf[20 + 66 + 1], 0x2c);
    assert_memory_equal(buf + 20 + 66 + 2, "lb_conf_56cd3261", 17);

    struct vppmsg_sockclnt_create_reply d;
    assert_int_equal(vppmsg_sockclnt_create_reply_decode(buf, (size_t)n, &d), 0);
    assert_int_equal(d.index, 0x80000001);
    assert_int_equal(d.count, 3);
    assert_non_null(d.message_table);
    assert_int_equal(d.message_table[1].index, 300);
    assert_string_equal(d.message_table[1].name, "lb_conf_56cd3261");
    assert_string_equal(d.message_table[2].name, "");
    vppmsg_sockclnt_create_reply_free(&d);
    assert_null(d.message_table);
    vppmsg_sockclnt_create_reply_free(NULL);

    check_truncations(&vppmsg_table[VPPMSG_IDX_SOCKCLNT_CREATE_REPLY], buf, (size_t)n);
    check_enospc(&vppmsg_table[VPPMSG_IDX_SOCKCLNT_CREATE_REPLY], &m, (size_t)n);

    /* a count larger than the buffer holds: rejected before allocating */
    buf[18] = 0xff;
    buf[19] = 0xff;
    assert_int_equal(vppmsg_sockclnt_create_reply_decode(buf, (size_t)n, &d), -EBADMSG);
    /* count 0 with no entries is fine */
    buf[18] = buf[19] = 0;
    assert_int_equal(vppmsg_sockclnt_create_reply_decode(buf, 20, &d), 0);
    assert_null(d.message_table);
    /* entries without storage cannot be encoded */
    m.message_table = NULL;
    assert_int_equal(vppmsg_sockclnt_create_reply_encode(&m, buf, sizeof(buf)), -EINVAL);
}

/* Fixed strings from VPP may lack their NUL (PROTOCOL.md 4.1): decoding
 * stops at size-1. */
static void test_show_version_reply_unterminated(void **state)
{
    (void)state;
    uint8_t wire[362];
    memset(wire, 'A', sizeof(wire));
    memset(wire, 0, 10);
    memcpy(wire + 10, "vpe\0garbage", 11);
    struct vppmsg_show_version_reply d;
    assert_int_equal(vppmsg_show_version_reply_decode(wire, sizeof(wire), &d), 0);
    assert_string_equal(d.program, "vpe");
    assert_int_equal(strlen(d.version), 31);
    assert_int_equal(strlen(d.build_directory), 255);
    check_truncations(&vppmsg_table[VPPMSG_IDX_SHOW_VERSION_REPLY], wire, sizeof(wire));
}

static void test_cli_inband(void **state)
{
    (void)state;
    char cmd[] = "show lb vips verbose";
    struct vppmsg_cli_inband m = { .msg_id = 0x1234,
                                   .client_index = 0x80000001,
                                   .context = 3,
                                   .cmd_len = (uint32_t)strlen(cmd),
                                   .cmd = cmd };
    uint8_t buf[64];
    int n = vppmsg_cli_inband_encode(&m, buf, sizeof(buf));
    assert_int_equal(n, 14 + 20);
    const uint8_t head[] = { ID, CI, 0, 0, 0, 3, 0, 0, 0, 20, 's', 'h' };
    assert_memory_equal(buf, head, sizeof(head));
    check_truncations(&vppmsg_table[VPPMSG_IDX_CLI_INBAND], buf, (size_t)n);

    /* reply with an embedded NUL: the length, not strlen, is the truth */
    const uint8_t rwire[] = { ID, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 3, 'a', 0, 'b' };
    struct vppmsg_cli_inband_reply r;
    assert_int_equal(vppmsg_cli_inband_reply_decode(rwire, sizeof(rwire), &r), 0);
    assert_int_equal(r.retval, -1);
    assert_int_equal(r.reply_len, 3);
    assert_memory_equal(r.reply, "a\0b", 4);
    vppmsg_cli_inband_reply_free(&r);
    check_truncations(&vppmsg_table[VPPMSG_IDX_CLI_INBAND_REPLY], rwire, sizeof(rwire));
    /* a declared length past the end */
    uint8_t bad[sizeof(rwire)];
    memcpy(bad, rwire, sizeof(bad));
    bad[12] = 4;
    assert_int_equal(vppmsg_cli_inband_reply_decode(bad, sizeof(bad), &r), -EBADMSG);
    bad[9] = 0x80; /* 2 GiB */
    assert_int_equal(vppmsg_cli_inband_reply_decode(bad, sizeof(bad), &r), -EBADMSG);
}

static void test_ip_route_lookup_reply(void **state)
{
    (void)state;
    struct vppapi_fib_path paths[2];
    memset(paths, 0, sizeof(paths));
    paths[0].sw_if_index = 1;
    paths[0].weight = 1;
    paths[0].nh.address.ip4[0] = 10;
    paths[1].sw_if_index = 2;
    paths[1].n_labels = 1;
    paths[1].label_stack[0].label = 16;
    paths[1].label_stack[15].exp = 7;
    struct vppmsg_ip_route_lookup_reply m;
    vppmsg_ip_route_lookup_reply_init(&m);
    m.msg_id = 0x1234;
    m.context = 1;
    m.route.stats_index = 0x0a0b0c0d;
    set_ip4(&m.route.prefix.address, 192, 0, 2, 1);
    m.route.prefix.len = 32;
    m.route.n_paths = 2;
    m.route.paths = paths;
    uint8_t buf[512];
    int n = vppmsg_ip_route_lookup_reply_encode(&m, buf, sizeof(buf));
    assert_int_equal(n, 37 + 2 * 167);
    assert_int_equal(buf[14], 0x0a); /* route.stats_index at 14 */
    assert_int_equal(buf[17], 0x0d);
    assert_int_equal(buf[36], 2); /* n_paths */
    struct vppmsg_ip_route_lookup_reply d;
    assert_int_equal(vppmsg_ip_route_lookup_reply_decode(buf, (size_t)n, &d), 0);
    assert_int_equal(d.route.stats_index, 0x0a0b0c0d);
    assert_int_equal(d.route.paths[1].label_stack[0].label, 16);
    assert_int_equal(d.route.paths[1].label_stack[15].exp, 7);
    assert_int_equal(d.route.paths[0].nh.address.ip4[0], 10);
    uint8_t again[512];
    assert_int_equal(vppmsg_ip_route_lookup_reply_encode(&d, again, sizeof(again)), n);
    assert_memory_equal(buf, again, (size_t)n);
    vppmsg_ip_route_lookup_reply_free(&d);
    check_truncations(&vppmsg_table[VPPMSG_IDX_IP_ROUTE_LOOKUP_REPLY], buf, (size_t)n);
}

/* --------------------------------------------------------- all messages */

/* For every fixed-size message: random wire bytes decode, re-encode to a
 * canonical form (bools become 0/1, strings stop at their NUL), and that
 * form is a fixed point; every truncation is rejected. This is the round
 * trip for all LB messages with non-trivial (random) values. */
static void test_all_fixed_roundtrip(void **state)
{
    (void)state;
    for (size_t i = 0; i < VPPMSG_N_MSGS; i++) {
        const struct vppmsg_desc *d = &vppmsg_table[i];
        if (d->variable)
            continue;
        for (int iter = 0; iter < 20; iter++) {
            uint8_t wire[512], e1[512], e2[512];
            _Alignas(max_align_t) unsigned char s1[1024], s2[1024];
            assert_true(d->min_size <= sizeof(wire));
            for (size_t k = 0; k < d->min_size; k++)
                wire[k] = (uint8_t)rnd();
            if (d->decode(wire, d->min_size, s1) != 0)
                fail_msg("%s: random fixed body did not decode", d->name);
            int n1 = d->encode(s1, e1, sizeof(e1));
            if (n1 == -EINVAL)
                continue; /* a NONZERO field happened to be 0 */
            assert_int_equal(n1, (int)d->min_size);
            assert_int_equal(d->decode(e1, (size_t)n1, s2), 0);
            assert_int_equal(d->encode(s2, e2, sizeof(e2)), n1);
            if (memcmp(e1, e2, (size_t)n1) != 0)
                fail_msg("%s: encode(decode(x)) is not a fixed point", d->name);
            if (iter == 0)
                check_truncations(d, e1, (size_t)n1);
        }
    }
}

/* The wire trail's field text: addresses and prefixes as text, enums by
 * name, nested fields dotted, VLAs as counts; truncation always terminates. */
static void test_format(void **state)
{
    (void)state;
    char buf[512];
    struct vppmsg_lb_add_del_as_v2 m;
    vppmsg_lb_add_del_as_v2_init(&m);
    m.client_index = 0x80000001;
    m.context = 42;
    m.pfx.address.af = VPPAPI_ADDRESS_IP4;
    memcpy(m.pfx.address.un.ip4, "\xc0\x00\x02\x01", 4);
    m.pfx.len = 32;
    m.protocol = 6;
    m.port = 80;
    m.as_address.af = VPPAPI_ADDRESS_IP6;
    memcpy(m.as_address.un.ip6, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
    m.weight = 50;
    m.is_flush = true;
    size_t n = vppmsg_lb_add_del_as_v2_format(&m, buf, sizeof(buf));
    assert_string_equal(buf, "pfx=192.0.2.1/32 protocol=6 port=80 as_address=2001:db8::1 "
                             "weight=50 is_del=false is_flush=true");
    assert_int_equal(n, strlen(buf));
    /* truncated: terminated, the full length returned */
    char small[10];
    assert_int_equal(vppmsg_lb_add_del_as_v2_format(&m, small, sizeof(small)), n);
    assert_string_equal(small, "pfx=192.0");

    struct vppmsg_lb_vip_details v;
    vppmsg_lb_vip_details_init(&v);
    v.vip.pfx.address.af = VPPAPI_ADDRESS_IP6;
    v.vip.pfx.len = 128;
    v.vip.protocol = 255;
    v.encap = VPPAPI_LB_API_ENCAP_TYPE_GRE6;
    v.srv_type = 77; /* no such value: the number */
    v.flow_table_length = 1024;
    vppmsg_lb_vip_details_format(&v, buf, sizeof(buf));
    assert_string_equal(buf, "vip.pfx=::/128 vip.protocol=reserved vip.port=0 encap=gre6 dscp=cs0 "
                             "srv_type=77 target_port=0 flow_table_length=1024");

    struct vppmsg_sockclnt_create_reply r;
    vppmsg_sockclnt_create_reply_init(&r);
    r.index = 0x80000002;
    r.count = 2150;
    vppmsg_sockclnt_create_reply_format(&r, buf, sizeof(buf));
    assert_string_equal(buf, "response=0 index=2147483650 count=2150 message_table=[2150]");

    struct vppmsg_show_version_reply sv;
    vppmsg_show_version_reply_init(&sv);
    snprintf(sv.version, sizeof(sv.version), "26.10\"x\n");
    vppmsg_show_version_reply_format(&sv, buf, sizeof(buf));
    assert_string_equal(buf, "retval=0 program=\"\" version=\"26.10\\\"x\\x0a\" build_date=\"\" "
                             "build_directory=\"\"");

    /* whatever a random body decodes to formats within bounds */
    for (size_t i = 0; i < VPPMSG_N_MSGS; i++) {
        const struct vppmsg_desc *d = &vppmsg_table[i];
        if (d->variable)
            continue;
        uint8_t wire[512];
        _Alignas(max_align_t) unsigned char st[1024];
        for (size_t k = 0; k < d->min_size; k++)
            wire[k] = (uint8_t)rnd();
        assert_int_equal(d->decode(wire, d->min_size, st), 0);
        char out[48];
        memset(out, 'Z', sizeof(out));
        size_t full = d->format(st, out, sizeof(out) - 8);
        assert_true(strlen(out) < sizeof(out) - 8);
        assert_true(full >= strlen(out));
        assert_int_equal(out[sizeof(out) - 1], 'Z');
    }
}

/* Names, CRCs and sizes line up with CRCS.txt / LAYOUTS.md. */
static void test_table(void **state)
{
    (void)state;
    size_t lb = 0;
    for (size_t i = 0; i < VPPMSG_N_MSGS; i++) {
        const struct vppmsg_desc *d = &vppmsg_table[i];
        char want[128];
        snprintf(want, sizeof(want), "%s_%08x", d->name, d->crc);
        assert_string_equal(d->name_crc, want);
        assert_non_null(d->encode);
        assert_non_null(d->decode);
        assert_true(d->free == NULL || d->variable);
        if (strncmp(d->name, "lb_", 3) == 0)
            lb++;
    }
    assert_int_equal(lb, 26);
    assert_string_equal(vppmsg_table[VPPMSG_IDX_LB_AS_V2_DETAILS].name_crc,
                        "lb_as_v2_details_90064aae");
    assert_int_equal(vppmsg_table[VPPMSG_IDX_SOCKCLNT_CREATE].fixed_id, 15);
    assert_int_equal(vppmsg_table[VPPMSG_IDX_CONTROL_PING_REPLY].fixed_id, 24);
    assert_int_equal(vppmsg_table[VPPMSG_IDX_LB_CONF].fixed_id, 0);
    assert_int_equal(VPPMSG_SHOW_VERSION_REPLY_SIZE, 362);
    assert_int_equal(VPPMSG_LB_ADD_DEL_VIP_SIZE, 49);
    assert_int_equal(VPPMSG_LB_AS_DETAILS_SIZE, 49);
    assert_int_equal(VPPMSG_LB_VIP_DUMP_SIZE, 33);
    assert_int_equal(VPPMSG_LB_FLUSH_VIP_SIZE, 31);
    assert_int_equal(VPPMSG_LB_ADD_DEL_INTF_NAT4_SIZE, 15);
    assert_int_equal(VPPMSG_IP_ROUTE_LOOKUP_SIZE, 33);
    assert_int_equal(VPPMSG_SOCKCLNT_DELETE_SIZE, 14);
    assert_int_equal(VPPMSG_SOCKCLNT_CREATE_REPLY_SIZE, 20);
}

/* Random garbage into every decoder: never a crash or over-read (ASan), and
 * whatever decodes re-encodes. Lengths cluster around each message's size;
 * for variable messages small counts are planted so the VLA paths run. */
static void test_garbage(void **state)
{
    (void)state;
    for (size_t i = 0; i < VPPMSG_N_MSGS; i++) {
        const struct vppmsg_desc *d = &vppmsg_table[i];
        for (int iter = 0; iter < 3000; iter++) {
            size_t n = d->min_size + (rnd() % 16);
            if (iter % 3 == 0)
                n = rnd() % (d->min_size + 400);
            uint8_t *buf = malloc(n ? n : 1);
            assert_non_null(buf);
            for (size_t k = 0; k < n; k++)
                buf[k] = (uint8_t)rnd();
            if (d->variable && n >= d->min_size && iter % 2) {
                /* plant a small count/length in the last bytes of the fixed part */
                size_t at = d->min_size - 1;
                buf[at] = (uint8_t)(rnd() % 4);
                if (at >= 1)
                    buf[at - 1] = 0;
                if (at >= 3 && i == VPPMSG_IDX_CLI_INBAND_REPLY)
                    buf[at - 2] = buf[at - 3] = 0;
                if (at >= 3 && i == VPPMSG_IDX_CLI_INBAND)
                    buf[at - 2] = buf[at - 3] = 0;
            }
            _Alignas(max_align_t) unsigned char out[1024];
            int rc = d->decode(buf, n, out);
            if (rc == 0) {
                uint8_t *e = malloc(n + 1);
                assert_non_null(e);
                int m = d->encode(out, e, n + 1);
                assert_true(m == (int)n || m == -EINVAL);
                free(e);
                if (d->free)
                    d->free(out);
            } else {
                assert_int_equal(rc, -EBADMSG);
            }
            free(buf);
        }
    }
}

/* ---------------------------------------------------------------- wire */

static void test_wire_header(void **state)
{
    (void)state;
    uint8_t h[VPP_WIRE_HDR_LEN];
    assert_int_equal(vpp_wire_hdr_encode(h, 51), 0);
    const uint8_t want[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x33, 0, 0, 0, 0 };
    assert_memory_equal(h, want, 16);
    assert_int_equal(vpp_wire_hdr_encode(h, 0), -EINVAL);
    assert_int_equal(vpp_wire_hdr_encode(h, 1), -EINVAL);
    assert_int_equal(vpp_wire_hdr_encode(h, VPP_WIRE_MAX_MSG + 1), -EINVAL);
    /* q and the timestamp are ignored on receive */
    uint8_t r[16] = { 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 0, 1, 0, 0, 9, 9, 9, 9 };
    uint32_t len = 0;
    assert_int_equal(vpp_wire_hdr_decode(r, VPP_WIRE_MAX_MSG, &len), 0);
    assert_int_equal(len, 65536);
    assert_int_equal(vpp_wire_hdr_decode(r, 1000, &len), -EBADMSG);
    r[9] = 0;
    r[11] = 1;
    len = 77;
    assert_int_equal(vpp_wire_hdr_decode(r, VPP_WIRE_MAX_MSG, &len), -EBADMSG);
    assert_int_equal(len, 77);
    uint16_t id = 0;
    const uint8_t body[] = { 0x01, 0x2c };
    assert_int_equal(vpp_wire_msg_id(body, 2, &id), 0);
    assert_int_equal(id, 300);
    assert_int_equal(vpp_wire_msg_id(body, 1, &id), -EBADMSG);
}

/* Three frames (10, 51 and 5000 bytes) as one stream. */
static size_t make_stream(uint8_t *s, uint8_t bodies[3][5000], const size_t *lens)
{
    size_t off = 0;
    for (int i = 0; i < 3; i++) {
        for (size_t k = 0; k < lens[i]; k++)
            bodies[i][k] = (uint8_t)(i * 31 + k);
        assert_int_equal(vpp_wire_hdr_encode(s + off, lens[i]), 0);
        off += VPP_WIRE_HDR_LEN;
        memcpy(s + off, bodies[i], lens[i]);
        off += lens[i];
    }
    return off;
}

static int drain(struct vpp_wire_rx *rx, uint8_t bodies[3][5000], const size_t *lens, int got)
{
    const uint8_t *b;
    size_t n;
    int rc;
    while ((rc = vpp_wire_rx_next(rx, &b, &n)) == 1) {
        assert_true(got < 3);
        assert_int_equal(n, lens[got]);
        assert_memory_equal(b, bodies[got], n);
        got++;
    }
    assert_int_equal(rc, 0);
    return got;
}

static void test_wire_reassembly_every_split(void **state)
{
    (void)state;
    static uint8_t bodies[3][5000];
    static uint8_t s[3 * (VPP_WIRE_HDR_LEN + 5000)];
    const size_t lens[3] = { 10, 51, 5000 };
    size_t total = make_stream(s, bodies, lens);
    for (size_t cut = 0; cut <= total; cut++) {
        struct vpp_wire_rx rx;
        vpp_wire_rx_init(&rx, 0);
        assert_int_equal(vpp_wire_rx_feed(&rx, s, cut), 0);
        int got = drain(&rx, bodies, lens, 0);
        assert_int_equal(vpp_wire_rx_feed(&rx, s + cut, total - cut), 0);
        got = drain(&rx, bodies, lens, got);
        assert_int_equal(got, 3);
        assert_int_equal(vpp_wire_rx_pending(&rx), 0);
        vpp_wire_rx_free(&rx);
    }
    /* one byte at a time */
    struct vpp_wire_rx rx;
    vpp_wire_rx_init(&rx, 0);
    int got = 0;
    for (size_t k = 0; k < total; k++) {
        assert_int_equal(vpp_wire_rx_feed(&rx, s + k, 1), 0);
        got = drain(&rx, bodies, lens, got);
    }
    assert_int_equal(got, 3);
    vpp_wire_rx_free(&rx);
    vpp_wire_rx_free(NULL);
}

static void test_wire_bad_length(void **state)
{
    (void)state;
    struct vpp_wire_rx rx;
    vpp_wire_rx_init(&rx, 1024);
    uint8_t h[VPP_WIRE_HDR_LEN] = { 0 };
    h[10] = 0x04;
    h[11] = 0x01;                                      /* 1025 > max */
    assert_int_equal(vpp_wire_rx_feed(&rx, h, 12), 0); /* header incomplete yet */
    assert_int_equal(vpp_wire_rx_feed(&rx, h + 12, 4), -EBADMSG);
    const uint8_t *b;
    size_t n;
    assert_int_equal(vpp_wire_rx_next(&rx, &b, &n), -EBADMSG);
    assert_int_equal(vpp_wire_rx_feed(&rx, h, 1), -EBADMSG); /* sticky */
    vpp_wire_rx_free(&rx);

    vpp_wire_rx_init(&rx, 0);
    memset(h, 0, sizeof(h)); /* data_len 0 is never valid */
    assert_int_equal(vpp_wire_rx_feed(&rx, h, sizeof(h)), -EBADMSG);
    vpp_wire_rx_free(&rx);

    /* a zero-initialised rx works with the default maximum */
    struct vpp_wire_rx z = { 0 };
    h[8] = 0x01; /* 16 MiB + ... */
    h[11] = 0x01;
    assert_int_equal(vpp_wire_rx_feed(&z, h, sizeof(h)), -EBADMSG);
    vpp_wire_rx_free(&z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_control_ping_exact),
        cmocka_unit_test(test_control_ping_reply_exact),
        cmocka_unit_test(test_lb_conf_exact),
        cmocka_unit_test(test_lb_add_del_vip_v2_exact),
        cmocka_unit_test(test_lb_add_del_as_v2_exact),
        cmocka_unit_test(test_lb_as_set_weight_exact),
        cmocka_unit_test(test_lb_as_v2_details_exact),
        cmocka_unit_test(test_lb_vip_details_decode),
        cmocka_unit_test(test_sockclnt_create_exact),
        cmocka_unit_test(test_sockclnt_create_reply),
        cmocka_unit_test(test_show_version_reply_unterminated),
        cmocka_unit_test(test_cli_inband),
        cmocka_unit_test(test_ip_route_lookup_reply),
        cmocka_unit_test(test_all_fixed_roundtrip),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_wire_header),
        cmocka_unit_test(test_wire_reassembly_every_split),
        cmocka_unit_test(test_wire_bad_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
