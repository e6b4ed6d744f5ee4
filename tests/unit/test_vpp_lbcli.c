/* src/vpp/lbcli.c: VPP's `show lb vips verbose` text, as the LB plugin
 * prints it (format_lb_vip_detailed), parsed for stickiness, index and
 * counters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vpp/lbcli.h"

static const char sample[] = " ip4-gre4 [1] 198.19.0.10/32 src_ip_sticky\n"
                             "  new_size:1024\n"
                             "  protocol:6 port:80\n"
                             "  counters:\n"
                             "    packet from existing sessions: 17\n"
                             "    first session packet: 5\n"
                             "    untracked packet: 0\n"
                             "    no server configured: 2\n"
                             "  #as:3\n"
                             "    198.18.1.2 weight:100 buckets:683 flows:0 dpo:5 used\n"
                             "    198.18.2.2 weight:50 buckets:341 flows:0 dpo:6 used\n"
                             "    198.18.3.2 weight:0 buckets:0 flows:0 dpo:7  removed\n"
                             "\n"
                             " ip6-gre6 [3] 2001:db8:ff::10/128\n"
                             "  new_size:1024\n"
                             "  counters:\n"
                             "    packet from existing sessions: 0\n"
                             "    first session packet: 0\n"
                             "    untracked packet: 0\n"
                             "    no server configured: 0\n"
                             "  #as:1\n"
                             "    2001:db8:1::2 weight:100 buckets:1024 flows:0 dpo:9 used\n"
                             "\n"
                             " ip4-gre4 [2] 198.19.0.10/32\n"
                             "  new_size:2048\n"
                             "  protocol:17 port:53\n"
                             "  counters:\n"
                             "    packet from existing sessions: 0\n"
                             "    first session packet: 0\n"
                             "    untracked packet: 0\n"
                             "    no server configured: 0\n"
                             "  #as:0\n"
                             "\n";

static struct lb_vip_key key(const char *a, uint8_t plen, uint8_t proto, uint16_t port)
{
    struct lb_vip_key k;
    memset(&k, 0, sizeof(k));
    assert_int_equal(ip_addr_parse(a, &k.addr), 0);
    k.plen = plen;
    k.protocol = proto;
    k.port = port;
    return k;
}

static void test_sample(void **state)
{
    (void)state;
    struct vpp_cli_vips v;
    assert_int_equal(vpp_lbcli_parse(sample, strlen(sample), &v), 0);
    assert_int_equal(v.n, 3);
    struct lb_vip_key k = key("198.19.0.10", 32, 6, 80);
    const struct vpp_cli_vip *w = vpp_cli_vips_find(&v, &k);
    assert_non_null(w);
    assert_true(w->src_ip_sticky);
    assert_false(w->removed);
    assert_int_equal(w->index, 1);
    assert_int_equal(w->new_size, 1024);
    assert_string_equal(w->type, "ip4-gre4");
    assert_int_equal(w->counters[VPP_LB_CTR_EXISTING], 17);
    assert_int_equal(w->counters[VPP_LB_CTR_FIRST], 5);
    assert_int_equal(w->counters[VPP_LB_CTR_UNTRACKED], 0);
    assert_int_equal(w->counters[VPP_LB_CTR_NO_SERVER], 2);
    k = key("198.19.0.10", 32, 17, 53);
    w = vpp_cli_vips_find(&v, &k);
    assert_non_null(w);
    assert_false(w->src_ip_sticky);
    assert_int_equal(w->index, 2);
    assert_int_equal(w->new_size, 2048);
    /* no protocol line: an all-port VIP */
    k = key("2001:db8:ff::10", 128, 255, 0);
    w = vpp_cli_vips_find(&v, &k);
    assert_non_null(w);
    assert_int_equal(w->index, 3);
    assert_false(w->src_ip_sticky);
    assert_string_equal(w->type, "ip6-gre6");
    /* not listed */
    k = key("198.19.0.10", 32, 6, 443);
    assert_null(vpp_cli_vips_find(&v, &k));
    /* sorted by key: IPv4 first */
    assert_int_equal(v.v[0].key.addr.family, AF_INET);
    assert_int_equal(v.v[2].key.addr.family, AF_INET6);
    vpp_cli_vips_free(&v);
    vpp_cli_vips_free(&v); /* twice is fine */
    vpp_cli_vips_free(NULL);
}

static void test_removed_and_odd_lines(void **state)
{
    (void)state;
    static const char text[] = " ip4-l3dsr [4] 10.0.0.1/32 removed\n"
                               "  new_size:1024\n"
                               "  dscp:7\n"
                               "garbage line without meaning\n"
                               " ip4-gre4 [x] 10.0.0.2/32\n"     /* bad index */
                               "  protocol:6 port:80\n"          /* belongs to nobody */
                               " ip4-gre4 [5] 10.0.0.300/32\n"   /* bad address */
                               " ip6-gre6 [6] 2001:db8::1/129\n" /* bad length */
                               " ip4-nat4 [7] 10.0.0.3/32\n"     /* no trailing newline */
                               "  protocol:6 port:8080\n"
                               "  type:clusterip port:8080 target_port:80";
    struct vpp_cli_vips v;
    assert_int_equal(vpp_lbcli_parse(text, strlen(text), &v), 0);
    assert_int_equal(v.n, 2);
    struct lb_vip_key k = key("10.0.0.1", 32, 255, 0);
    assert_null(vpp_cli_vips_find(&v, &k)); /* removed VIPs are not found */
    k = key("10.0.0.3", 32, 6, 8080);
    const struct vpp_cli_vip *w = vpp_cli_vips_find(&v, &k);
    assert_non_null(w);
    assert_int_equal(w->index, 7);
    vpp_cli_vips_free(&v);
    /* nothing at all, or an error text */
    assert_int_equal(vpp_lbcli_parse("", 0, &v), 0);
    assert_int_equal(v.n, 0);
    static const char err[] = "show: unknown input `lb vips verbose'\n";
    assert_int_equal(vpp_lbcli_parse(err, strlen(err), &v), 0);
    assert_int_equal(v.n, 0);
    vpp_cli_vips_free(&v);
}

/* Random bytes and random cuts of the sample never crash or overrun (the
 * ASan build runs this too); the result is bounded by the headers seen. */
static void test_hostile(void **state)
{
    (void)state;
    unsigned seed = 7;
    char buf[2048];
    for (int it = 0; it < 2000; it++) {
        size_t n = (size_t)(rand_r(&seed) % sizeof(buf));
        if (it % 2) {
            for (size_t i = 0; i < n; i++)
                buf[i] = (char)(rand_r(&seed) & 0xff);
        } else {
            n = n % sizeof(sample);
            memcpy(buf, sample, n);
            if (n)
                buf[rand_r(&seed) % n] = (char)(rand_r(&seed) & 0xff);
        }
        struct vpp_cli_vips v;
        assert_int_equal(vpp_lbcli_parse(buf, n, &v), 0);
        assert_true(v.n <= 3 || it % 2);
        vpp_cli_vips_free(&v);
    }
    /* a line far longer than the parser's line buffer */
    char *big = malloc(100000);
    memset(big, ' ', 100000);
    memcpy(big + 99000, " ip4-gre4 [1] 10.0.0.1/32\n", 26);
    struct vpp_cli_vips v;
    assert_int_equal(vpp_lbcli_parse(big, 99026, &v), 0);
    assert_int_equal(v.n, 0); /* the header sits in the overlong line */
    vpp_cli_vips_free(&v);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample),
        cmocka_unit_test(test_removed_and_odd_lines),
        cmocka_unit_test(test_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
