/* Unit tests for common/ipaddr. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/ipaddr.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void fill_garbage(struct ip_addr *a)
{
    memset(a, 0xa5, sizeof(*a));
}

static bool is_garbage(const struct ip_addr *a)
{
    const unsigned char *p = (const unsigned char *)a;
    for (size_t i = 0; i < sizeof(*a); i++) {
        if (p[i] != 0xa5)
            return false;
    }
    return true;
}

struct valid_case {
    const char *in;
    int family;
    const char *canon;
};

static const struct valid_case valid_cases[] = {
    { "192.0.2.1", AF_INET, "192.0.2.1" },
    { "0.0.0.0", AF_INET, "0.0.0.0" },
    { "255.255.255.255", AF_INET, "255.255.255.255" },
    { "10.0.0.1", AF_INET, "10.0.0.1" },
    { "127.0.0.1", AF_INET, "127.0.0.1" },
    { "1.2.3.4", AF_INET, "1.2.3.4" },
    { "100.64.0.0", AF_INET, "100.64.0.0" },
    { "::", AF_INET6, "::" },
    { "::1", AF_INET6, "::1" },
    { "1::", AF_INET6, "1::" },
    { "2001:db8::1", AF_INET6, "2001:db8::1" },
    { "2001:DB8:0:0::1", AF_INET6, "2001:db8::1" },
    { "2001:db8:0:0:0:0:0:1", AF_INET6, "2001:db8::1" },
    { "2001:0db8:0000:0000:0000:0000:0000:0001", AF_INET6, "2001:db8::1" },
    { "2001:DB8::A:B:C", AF_INET6, "2001:db8::a:b:c" },
    { "fe80::1", AF_INET6, "fe80::1" },
    { "FE80:0:0:0:0:0:0:1", AF_INET6, "fe80::1" },
    { "1:2:3:4:5:6:7:8", AF_INET6, "1:2:3:4:5:6:7:8" },
    { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AF_INET6,
      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
    /* RFC 5952: a single zero group is not compressed... */
    { "2001:db8:0:1:1:1:1:1", AF_INET6, "2001:db8:0:1:1:1:1:1" },
    /* ...the longest run is, and the first of equally long runs */
    { "2001:0:0:1:0:0:0:1", AF_INET6, "2001:0:0:1::1" },
    { "2001:db8:0:0:1:0:0:1", AF_INET6, "2001:db8::1:0:0:1" },
    /* IPv4-mapped stays IPv6 */
    { "::ffff:192.0.2.1", AF_INET6, "::ffff:192.0.2.1" },
    { "::FFFF:C000:0201", AF_INET6, "::ffff:192.0.2.1" },
    { "0:0:0:0:0:ffff:255.255.255.255", AF_INET6, "::ffff:255.255.255.255" },
    { "64:ff9b::192.0.2.33", AF_INET6, "64:ff9b::c000:221" },
};

static void test_parse_valid(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(valid_cases); i++) {
        const struct valid_case *c = &valid_cases[i];
        struct ip_addr a;
        fill_garbage(&a);
        int rc = ip_addr_parse(c->in, &a);
        if (rc != 0)
            fail_msg("ip_addr_parse(\"%s\") = %d; want 0", c->in, rc);
        if (a.family != c->family)
            fail_msg("ip_addr_parse(\"%s\"): family %d; want %d", c->in, a.family, c->family);
        assert_true(ip_addr_is_set(&a));

        char buf[IP_ADDR_STRLEN];
        memset(buf, 'x', sizeof(buf));
        assert_ptr_equal(ip_addr_format(&a, buf, sizeof(buf)), buf);
        if (strcmp(buf, c->canon) != 0)
            fail_msg("ip_addr_format(\"%s\") = \"%s\"; want \"%s\"", c->in, buf, c->canon);

        /* The canonical form parses back to the same value. */
        struct ip_addr b;
        fill_garbage(&b);
        assert_int_equal(ip_addr_parse(buf, &b), 0);
        assert_true(ip_addr_equal(&a, &b));
        assert_int_equal(ip_addr_cmp(&a, &b), 0);
        assert_memory_equal(&a, &b, sizeof(a));
    }
}

static void test_parse_bytes(void **state)
{
    (void)state;
    struct ip_addr a;

    /* IPv4: the first 4 bytes in network order, the rest zeroed. */
    fill_garbage(&a);
    assert_int_equal(ip_addr_parse("192.0.2.1", &a), 0);
    assert_int_equal(a.family, AF_INET);
    static const uint8_t v4[16] = { 192, 0, 2, 1 };
    assert_memory_equal(a.u.bytes, v4, sizeof(v4));
    assert_true(a.u.v4.s_addr == htonl(0xc0000201u));

    fill_garbage(&a);
    assert_int_equal(ip_addr_parse("2001:db8::102:304", &a), 0);
    assert_int_equal(a.family, AF_INET6);
    static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4 };
    assert_memory_equal(a.u.bytes, v6, sizeof(v6));

    fill_garbage(&a);
    assert_int_equal(ip_addr_parse("::ffff:192.0.2.1", &a), 0);
    assert_int_equal(a.family, AF_INET6);
    static const uint8_t mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1 };
    assert_memory_equal(a.u.bytes, mapped, sizeof(mapped));

    /* A previous IPv6 value does not leak into a later IPv4 one. */
    assert_int_equal(ip_addr_parse("10.1.2.3", &a), 0);
    static const uint8_t v4b[16] = { 10, 1, 2, 3 };
    assert_memory_equal(a.u.bytes, v4b, sizeof(v4b));
}

static const char *const invalid_cases[] = {
    "",
    " ",
    " 192.0.2.1",
    "192.0.2.1 ",
    "\t192.0.2.1",
    "192.0.2.1\n",
    " ::1",
    "::1 ",
    "192. 0.2.1",
    "[::1]",
    "[2001:db8::1]",
    "[2001:db8::1]:80",
    "192.0.2.1:80",
    "192.0.2.0/24",
    "192.0.2.1/32",
    "2001:db8::/32",
    "::1/128",
    "fe80::1%eth0",
    "fe80::1%1",
    "192.0.2",
    "127.1",
    "1",
    "192.0.2.1.5",
    "1.2.3.4.",
    ".1.2.3.4",
    "1..2.3",
    "256.0.0.1",
    "192.0.2.256",
    "1.2.3.-4",
    "-1.2.3.4",
    "+1.2.3.4",
    "01.2.3.4",
    "192.0.2.01",
    "00.0.0.0",
    "0x7f.0.0.1",
    "0177.0.0.1",
    "1.2.3.4x",
    "::ffff:01.2.3.4",
    "::ffff:1.2.3",
    ":",
    ":::",
    "::1::",
    "1::2::3",
    "2001:db8::1::",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7",
    "12345::1",
    "00000::1",
    "g::1",
    "2001:db8:::1",
    ":1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:",
    "localhost",
    "example.com",
    "0",
    "x",
};

static void test_parse_invalid(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(invalid_cases); i++) {
        struct ip_addr a;
        fill_garbage(&a);
        int rc = ip_addr_parse(invalid_cases[i], &a);
        if (rc != -EINVAL)
            fail_msg("ip_addr_parse(\"%s\") = %d; want -EINVAL", invalid_cases[i], rc);
        if (!is_garbage(&a))
            fail_msg("ip_addr_parse(\"%s\") failed but wrote its output", invalid_cases[i]);
    }
}

static void test_parse_null(void **state)
{
    (void)state;
    struct ip_addr a;
    fill_garbage(&a);
    assert_int_equal(ip_addr_parse(NULL, &a), -EINVAL);
    assert_true(is_garbage(&a));
    assert_int_equal(ip_addr_parse("192.0.2.1", NULL), -EINVAL);
}

static void test_unset(void **state)
{
    (void)state;
    struct ip_addr z;
    memset(&z, 0, sizeof(z));
    assert_false(ip_addr_is_set(&z));
    assert_false(ip_addr_is_set(NULL));

    char buf[IP_ADDR_STRLEN];
    assert_string_equal(ip_addr_format(&z, buf, sizeof(buf)), "unset");

    assert_string_equal(ip_addr_family_name(AF_INET), "ipv4");
    assert_string_equal(ip_addr_family_name(AF_INET6), "ipv6");
    assert_string_equal(ip_addr_family_name(0), "unset");
    assert_string_equal(ip_addr_family_name(AF_UNIX), "unset");

    struct ip_addr a;
    assert_int_equal(ip_addr_parse("::1", &a), 0);
    assert_string_equal(ip_addr_family_name(a.family), "ipv6");
    assert_int_equal(ip_addr_parse("127.0.0.1", &a), 0);
    assert_string_equal(ip_addr_family_name(a.family), "ipv4");
}

static void test_format_small_buffer(void **state)
{
    (void)state;
    struct ip_addr a;
    char buf[IP_ADDR_STRLEN];
    assert_int_equal(ip_addr_parse("192.0.2.123", &a), 0);

    memset(buf, 'x', sizeof(buf));
    assert_ptr_equal(ip_addr_format(&a, buf, 6), buf);
    assert_string_equal(buf, "192.0");
    assert_int_equal(buf[6], 'x');

    memset(buf, 'x', sizeof(buf));
    ip_addr_format(&a, buf, 1);
    assert_string_equal(buf, "");

    memset(buf, 'x', sizeof(buf));
    ip_addr_format(&a, buf, 0);
    assert_int_equal(buf[0], 'x');

    /* The longest IPv6 text fits IP_ADDR_STRLEN. */
    assert_int_equal(ip_addr_parse("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", &a), 0);
    ip_addr_format(&a, buf, sizeof(buf));
    assert_string_equal(buf, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    assert_int_equal(ip_addr_parse("::ffff:255.255.255.255", &a), 0);
    ip_addr_format(&a, buf, sizeof(buf));
    assert_string_equal(buf, "::ffff:255.255.255.255");
}

/* In ascending order; index 0 is the unset address. */
static const char *const ordered[] = {
    NULL,
    "0.0.0.0",
    "0.0.0.1",
    "1.2.3.4",
    "9.255.255.255",
    "10.0.0.0",
    "10.0.0.1",
    "10.0.0.2",
    "10.0.0.10",
    "10.0.1.0",
    "100.0.0.0",
    "192.0.2.1",
    "255.255.255.254",
    "255.255.255.255",
    "::",
    "::1",
    "::2",
    "::ffff:0.0.0.0",
    "::ffff:192.0.2.1",
    "1::",
    "2001:db8::1",
    "2001:db8::2",
    "2001:db8::9",
    "2001:db8::a",
    "2001:db8::10",
    "2001:db8::1:0",
    "2001:db8:1::",
    "fe80::1",
    "ff02::1",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
};

static void load_ordered(struct ip_addr *out)
{
    for (size_t i = 0; i < ARRAY_LEN(ordered); i++) {
        memset(&out[i], 0, sizeof(out[i]));
        if (ordered[i])
            assert_int_equal(ip_addr_parse(ordered[i], &out[i]), 0);
    }
}

static const char *name_of(size_t i)
{
    return ordered[i] ? ordered[i] : "(unset)";
}

static void test_cmp_order(void **state)
{
    (void)state;
    struct ip_addr a[ARRAY_LEN(ordered)];
    load_ordered(a);
    for (size_t i = 0; i < ARRAY_LEN(ordered); i++) {
        for (size_t j = 0; j < ARRAY_LEN(ordered); j++) {
            int c = ip_addr_cmp(&a[i], &a[j]);
            int want = i < j ? -1 : i > j ? 1 : 0;
            if ((c > 0) - (c < 0) != want)
                fail_msg("ip_addr_cmp(%s, %s) = %d; want sign %d", name_of(i), name_of(j), c, want);
            if (ip_addr_equal(&a[i], &a[j]) != (i == j))
                fail_msg("ip_addr_equal(%s, %s) = %d", name_of(i), name_of(j),
                         ip_addr_equal(&a[i], &a[j]));
        }
    }
}

static int cmp_for_qsort(const void *x, const void *y)
{
    return ip_addr_cmp(x, y);
}

static void test_qsort(void **state)
{
    (void)state;
    enum { N = ARRAY_LEN(ordered) };
    struct ip_addr want[N], got[N];
    load_ordered(want);

    uint32_t seed = 12345;
    for (int round = 0; round < 50; round++) {
        memcpy(got, want, sizeof(got));
        /* Fisher-Yates shuffle with an LCG. */
        for (size_t i = N - 1; i > 0; i--) {
            seed = seed * 1103515245u + 12345u;
            size_t j = (seed >> 16) % (i + 1);
            struct ip_addr t = got[i];
            got[i] = got[j];
            got[j] = t;
        }
        qsort(got, N, sizeof(got[0]), cmp_for_qsort);
        for (size_t i = 0; i < N; i++) {
            if (!ip_addr_equal(&got[i], &want[i])) {
                char buf[IP_ADDR_STRLEN];
                fail_msg("round %d: sorted[%zu] = %s; want %s", round, i,
                         ip_addr_format(&got[i], buf, sizeof(buf)), name_of(i));
            }
        }
    }

    /* Sorting the reverse order works too. */
    for (size_t i = 0; i < N; i++)
        got[i] = want[N - 1 - i];
    qsort(got, N, sizeof(got[0]), cmp_for_qsort);
    assert_memory_equal(got, want, sizeof(got));
}

static void test_equal(void **state)
{
    (void)state;
    struct ip_addr a, b;

    assert_int_equal(ip_addr_parse("2001:DB8::1", &a), 0);
    assert_int_equal(ip_addr_parse("2001:db8:0:0:0:0:0:1", &b), 0);
    assert_true(ip_addr_equal(&a, &b));

    assert_int_equal(ip_addr_parse("2001:db8::2", &b), 0);
    assert_false(ip_addr_equal(&a, &b));

    /* Same 4 leading bytes, different families. */
    assert_int_equal(ip_addr_parse("32.1.13.184", &a), 0);
    assert_int_equal(ip_addr_parse("2001:db8::", &b), 0);
    assert_false(ip_addr_equal(&a, &b));
    assert_true(ip_addr_cmp(&a, &b) < 0);
    assert_true(ip_addr_cmp(&b, &a) > 0);

    /* IPv4 and its IPv4-mapped IPv6 form are different values. */
    assert_int_equal(ip_addr_parse("192.0.2.1", &a), 0);
    assert_int_equal(ip_addr_parse("::ffff:192.0.2.1", &b), 0);
    assert_false(ip_addr_equal(&a, &b));
    assert_true(ip_addr_cmp(&a, &b) < 0);

    /* IPv4 compares only its 4 bytes. */
    assert_int_equal(ip_addr_parse("192.0.2.1", &a), 0);
    b = a;
    memset(b.u.bytes + 4, 0xee, 12);
    assert_true(ip_addr_equal(&a, &b));

    /* Unset addresses are all equal, whatever their bytes. */
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    assert_true(ip_addr_equal(&a, &b));
    memset(b.u.bytes, 0x11, sizeof(b.u.bytes));
    assert_true(ip_addr_equal(&a, &b));
    assert_int_equal(ip_addr_parse("0.0.0.0", &b), 0);
    assert_false(ip_addr_equal(&a, &b));
    assert_true(ip_addr_cmp(&a, &b) < 0);
    assert_int_equal(ip_addr_parse("::", &b), 0);
    assert_false(ip_addr_equal(&a, &b));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),   cmocka_unit_test(test_parse_bytes),
        cmocka_unit_test(test_parse_invalid), cmocka_unit_test(test_parse_null),
        cmocka_unit_test(test_unset),         cmocka_unit_test(test_format_small_buffer),
        cmocka_unit_test(test_cmp_order),     cmocka_unit_test(test_qsort),
        cmocka_unit_test(test_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
