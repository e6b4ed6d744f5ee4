/* Unit tests for the pure parts of the probes, no sockets: ICMP packets
 * and the sequence-number table (icmp_packet.c), the wording of http(s)
 * results (http_classify.c) and the regex cache.
 *
 * The parser tests hand every packet over in a heap buffer of exactly its
 * length, so that an ASan build catches any read beyond it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <netinet/in.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/duration.h"
#include "health/http_classify.h"
#include "health/icmp_packet.h"
#include "health/regex_cache.h"

/* ---- helpers ---------------------------------------------------------------- */

static const uint8_t cookie_seq[ICMP_COOKIE_LEN] = { 0, 1, 2,  3,  4,  5,  6,  7,
                                                     8, 9, 10, 11, 12, 13, 14, 15 };

static struct ip_addr addr(const char *s)
{
    struct ip_addr a;
    assert_int_equal(ip_addr_parse(s, &a), 0);
    return a;
}

/* icmp_parse on a heap copy of exactly len bytes. */
static bool parse_exact(int family, bool ip_header, const uint8_t *pkt, size_t len,
                        struct icmp_msg *m)
{
    uint8_t *b = malloc(len ? len : 1);
    assert_non_null(b);
    memcpy(b, pkt, len);
    bool ok = icmp_parse(family, ip_header, b, len, m);
    free(b);
    return ok;
}

/* An IPv4 header of ihl words (options zeroed) for proto, to dst. */
static size_t put_ip4(uint8_t *b, unsigned ihl, uint8_t proto, const char *dst)
{
    struct ip_addr d = addr(dst);
    memset(b, 0, ihl * 4);
    b[0] = (uint8_t)(0x40 | ihl);
    b[8] = 64;
    b[9] = proto;
    memcpy(b + 12, (uint8_t[]){ 192, 0, 2, 99 }, 4);
    memcpy(b + 16, &d.u.v4, 4);
    return ihl * 4;
}

static size_t put_ip6(uint8_t *b, uint8_t next, const char *dst)
{
    struct ip_addr d = addr(dst);
    memset(b, 0, 40);
    b[0] = 0x60;
    b[6] = next;
    b[7] = 64;
    memcpy(b + 24, &d.u.v6, 16);
    return 40;
}

/* Turns an echo request into the reply a peer sends back. */
static void make_reply(uint8_t *pkt, int family)
{
    pkt[0] = family == AF_INET ? ICMP4_ECHO_REPLY : ICMP6_ECHO_REPL;
    pkt[2] = pkt[3] = 0;
    if (family == AF_INET) {
        uint16_t c = icmp_checksum(pkt, ICMP_ECHO_LEN);
        pkt[2] = (uint8_t)(c >> 8);
        pkt[3] = (uint8_t)c;
    }
}

/* An ICMP error of type/code quoting our echo request to dst, quote_len
 * bytes of it (8: header only, ICMP_ECHO_LEN: with the cookie); with an
 * outer IPv4 header when raw4. Returns the length. */
static size_t make_error(uint8_t *b, int family, bool raw4, uint8_t type, uint8_t code,
                         const char *dst, unsigned inner_ihl, size_t quote_len)
{
    size_t n = 0;
    if (raw4)
        n += put_ip4(b, 5, IPPROTO_ICMP, "192.0.2.99");
    uint8_t *icmp = b + n;
    memset(icmp, 0, 8);
    icmp[0] = type;
    icmp[1] = code;
    n += 8;
    if (family == AF_INET)
        n += put_ip4(b + n, inner_ihl, IPPROTO_ICMP, dst);
    else
        n += put_ip6(b + n, IPPROTO_ICMPV6, dst);
    uint8_t echo[ICMP_ECHO_LEN];
    icmp_echo_build(echo, family, 0xbeef, 0x0102, cookie_seq);
    memcpy(b + n, echo, quote_len);
    return n + quote_len;
}

/* ---- checksum, build, parse ------------------------------------------------- */

static void test_checksum(void **state)
{
    (void)state;
    /* RFC 1071 section 3: the one's complement sum of these is 0xddf2 */
    const uint8_t rfc[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
    assert_int_equal(icmp_checksum(rfc, sizeof(rfc)), (uint16_t)~0xddf2);
    assert_int_equal(icmp_checksum(rfc, 0), 0xffff);
    assert_int_equal(icmp_checksum((const uint8_t[]){ 0x01 }, 1), 0xfeff); /* odd: pad 0 */
    /* 0xffff + 0x0001 carries around to 0x0001 */
    assert_int_equal(icmp_checksum((const uint8_t[]){ 0xff, 0xff, 0x00, 0x01 }, 4), 0xfffe);
    /* a bare echo request, identifier 0, sequence 0: the well-known 0xf7ff */
    assert_int_equal(icmp_checksum((const uint8_t[]){ 8, 0, 0, 0, 0, 0, 0, 0 }, 8), 0xf7ff);

    /* by hand: 0x0800 + 0x1234 + 0x0001 = 0x1a35, the cookie 00 01 .. 0e 0f
     * adds 0x3840: 0x5275, complemented 0xad8a */
    uint8_t pkt[ICMP_ECHO_LEN];
    assert_int_equal(icmp_echo_build(pkt, AF_INET, 0x1234, 0x0001, cookie_seq), ICMP_ECHO_LEN);
    const uint8_t want[ICMP_ECHO_LEN] = { 8, 0, 0xad, 0x8a, 0x12, 0x34, 0,  1,  0,  1,  2,  3,
                                          4, 5, 6,    7,    8,    9,    10, 11, 12, 13, 14, 15 };
    assert_memory_equal(pkt, want, sizeof(want));
    assert_int_equal(icmp_checksum(pkt, sizeof(pkt)), 0); /* a valid packet sums to 0 */

    const uint8_t zero[ICMP_COOKIE_LEN] = { 0 };
    icmp_echo_build(pkt, AF_INET, 0x1234, 0x0001, zero);
    assert_int_equal(pkt[2] << 8 | pkt[3], 0xe5ca); /* ~0x1a35 */

    /* ICMPv6: type 128, the checksum left to the kernel */
    icmp_echo_build(pkt, AF_INET6, 0x1234, 0xfffe, cookie_seq);
    assert_int_equal(pkt[0], 128);
    assert_int_equal(pkt[1], 0);
    assert_int_equal(pkt[2] << 8 | pkt[3], 0);
    assert_int_equal(pkt[6] << 8 | pkt[7], 0xfffe);
}

static void check_reply(int family, bool ip_header, const uint8_t *pkt, size_t len, uint16_t ident,
                        uint16_t seq)
{
    struct icmp_msg m;
    assert_true(parse_exact(family, ip_header, pkt, len, &m));
    assert_true(m.is_reply);
    assert_int_equal(m.code, 0);
    assert_int_equal(m.echo.ident, ident);
    assert_int_equal(m.echo.seq, seq);
    assert_true(m.echo.has_cookie);
    assert_memory_equal(m.echo.cookie, cookie_seq, ICMP_COOKIE_LEN);
}

static void test_round_trip(void **state)
{
    (void)state;
    uint8_t pkt[ICMP_ECHO_LEN], buf[128];
    struct icmp_msg m;
    for (int v6 = 0; v6 < 2; v6++) {
        int fam = v6 ? AF_INET6 : AF_INET;
        icmp_echo_build(pkt, fam, 0xabcd, 0x8001, cookie_seq);
        /* our own request is neither a reply nor an error quoting one */
        assert_false(parse_exact(fam, false, pkt, sizeof(pkt), &m));
        make_reply(pkt, fam);
        if (fam == AF_INET)
            assert_int_equal(icmp_checksum(pkt, sizeof(pkt)), 0);
        check_reply(fam, false, pkt, sizeof(pkt), 0xabcd, 0x8001);
        /* a reply code other than 0 is no reply */
        pkt[1] = 1;
        assert_false(parse_exact(fam, false, pkt, sizeof(pkt), &m));
        pkt[1] = 0;
        /* a reply with extra payload still carries the cookie first */
        memcpy(buf, pkt, sizeof(pkt));
        memset(buf + sizeof(pkt), 0xaa, 40);
        check_reply(fam, false, buf, sizeof(pkt) + 40, 0xabcd, 0x8001);
    }
    /* raw IPv4: with the IP header, also with options (ihl 6 and 15) */
    icmp_echo_build(pkt, AF_INET, 7, 9, cookie_seq);
    make_reply(pkt, AF_INET);
    for (unsigned ihl = 5; ihl <= 15; ihl++) {
        size_t n = put_ip4(buf, ihl, IPPROTO_ICMP, "192.0.2.1");
        memcpy(buf + n, pkt, sizeof(pkt));
        check_reply(AF_INET, true, buf, n + sizeof(pkt), 7, 9);
    }
    /* an IHL below 5 is garbage, even with a reply where it points */
    size_t n = put_ip4(buf, 5, IPPROTO_ICMP, "192.0.2.1");
    memcpy(buf + n, pkt, sizeof(pkt));
    buf[0] = 0x44;
    assert_false(parse_exact(AF_INET, true, buf, n + sizeof(pkt), &m));
    memcpy(buf + 16, pkt, sizeof(pkt));
    assert_false(parse_exact(AF_INET, true, buf, 16 + sizeof(pkt), &m));
    /* a reply with only the header: no cookie to compare */
    assert_true(parse_exact(AF_INET, false, pkt, 8, &m));
    assert_true(m.is_reply);
    assert_false(m.echo.has_cookie);
}

static void test_parse_errors(void **state)
{
    (void)state;
    uint8_t b[256];
    struct icmp_msg m;
    struct {
        int family;
        bool raw4;
        uint8_t type, code;
        const char *dst;
        unsigned ihl;
        size_t quote;
        const char *text;
    } cases[] = {
        { AF_INET, true, 3, 1, "192.0.2.7", 5, ICMP_ECHO_LEN, "host unreachable" },
        { AF_INET, true, 3, 3, "192.0.2.7", 5, 8, "port unreachable" }, /* RFC 792: 8 bytes */
        { AF_INET, false, 11, 0, "198.51.100.1", 7, ICMP_ECHO_LEN, "TTL exceeded in transit" },
        { AF_INET, true, 12, 0, "192.0.2.7", 15, 8, "parameter problem" },
        { AF_INET6, false, 1, 3, "2001:db8::7", 0, ICMP_ECHO_LEN, "host unreachable" },
        { AF_INET6, false, 1, 4, "2001:db8::7", 0, 8, "port unreachable" },
        { AF_INET6, false, 2, 0, "2001:db8::8", 0, ICMP_ECHO_LEN, "packet too big" },
        { AF_INET6, false, 3, 0, "2001:db8::9", 0, 12, "hop limit exceeded in transit" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = make_error(b, cases[i].family, cases[i].raw4, cases[i].type, cases[i].code,
                              cases[i].dst, cases[i].ihl, cases[i].quote);
        assert_true(parse_exact(cases[i].family, cases[i].raw4, b, n, &m));
        assert_false(m.is_reply);
        assert_int_equal(m.type, cases[i].type);
        assert_int_equal(m.code, cases[i].code);
        struct ip_addr want = addr(cases[i].dst);
        assert_true(ip_addr_equal(&m.dst, &want));
        assert_int_equal(m.echo.ident, 0xbeef);
        assert_int_equal(m.echo.seq, 0x0102);
        assert_int_equal(m.echo.has_cookie, cases[i].quote >= ICMP_ECHO_LEN);
        if (m.echo.has_cookie)
            assert_memory_equal(m.echo.cookie, cookie_seq, ICMP_COOKIE_LEN);
        assert_string_equal(icmp_error_text(cases[i].family, m.type, m.code), cases[i].text);
    }

    /* quotes that are not of an echo request of ours */
    size_t n = make_error(b, AF_INET, false, 3, 1, "192.0.2.7", 5, 8);
    b[8 + 9] = IPPROTO_UDP; /* a UDP datagram */
    assert_false(parse_exact(AF_INET, false, b, n, &m));
    n = make_error(b, AF_INET, false, 3, 1, "192.0.2.7", 5, 8);
    b[8] = 0x65; /* not IPv4 */
    assert_false(parse_exact(AF_INET, false, b, n, &m));
    n = make_error(b, AF_INET, false, 3, 1, "192.0.2.7", 5, 8);
    b[8] = 0x44; /* inner IHL too small */
    assert_false(parse_exact(AF_INET, false, b, n, &m));
    n = make_error(b, AF_INET, false, 3, 1, "192.0.2.7", 5, 8);
    b[8 + 20] = ICMP4_ECHO_REPLY; /* quoting a reply */
    assert_false(parse_exact(AF_INET, false, b, n, &m));
    n = make_error(b, AF_INET6, false, 1, 0, "2001:db8::1", 0, 8);
    b[8 + 6] = IPPROTO_TCP;
    assert_false(parse_exact(AF_INET6, false, b, n, &m));
    n = make_error(b, AF_INET6, false, 1, 0, "2001:db8::1", 0, 8);
    b[8 + 40] = ICMP6_ECHO_REPL;
    assert_false(parse_exact(AF_INET6, false, b, n, &m));
    n = make_error(b, AF_INET6, false, 1, 0, "2001:db8::1", 0, 8);
    b[8] = 0x40; /* an IPv4 packet on an ICMPv6 socket */
    assert_false(parse_exact(AF_INET6, false, b, n, &m));

    /* the bare echo header a ping socket's error queue hands over */
    struct icmp_echo e;
    uint8_t echo[ICMP_ECHO_LEN];
    icmp_echo_build(echo, AF_INET6, 0, 4242, cookie_seq);
    assert_true(icmp_echo_parse(echo, sizeof(echo), &e));
    assert_int_equal(e.seq, 4242);
    assert_true(e.has_cookie);
    assert_true(icmp_echo_parse(echo, 8, &e));
    assert_false(e.has_cookie);
    assert_false(icmp_echo_parse(echo, 7, &e));
}

/* Every prefix of a valid packet: rejected, or parsed into what the full
 * packet holds. */
static void truncate_all(int family, bool raw4, const uint8_t *pkt, size_t len, size_t min_ok)
{
    struct icmp_msg full, m;
    assert_true(parse_exact(family, raw4, pkt, len, &full));
    for (size_t n = 0; n < len; n++) {
        bool ok = parse_exact(family, raw4, pkt, n, &m);
        assert_int_equal(ok, n >= min_ok);
        if (!ok)
            continue;
        assert_int_equal(m.is_reply, full.is_reply);
        assert_int_equal(m.echo.ident, full.echo.ident);
        assert_int_equal(m.echo.seq, full.echo.seq);
        assert_true(ip_addr_equal(&m.dst, &full.dst));
        if (m.echo.has_cookie)
            assert_memory_equal(m.echo.cookie, full.echo.cookie, ICMP_COOKIE_LEN);
    }
}

static void test_truncated_and_garbled(void **state)
{
    (void)state;
    uint8_t b[256], pkt[ICMP_ECHO_LEN];
    for (int v6 = 0; v6 < 2; v6++) {
        int fam = v6 ? AF_INET6 : AF_INET;
        icmp_echo_build(pkt, fam, 1, 2, cookie_seq);
        make_reply(pkt, fam);
        truncate_all(fam, false, pkt, sizeof(pkt), 8);
        size_t n = make_error(b, fam, false, v6 ? 1 : 3, 0, v6 ? "2001:db8::1" : "192.0.2.1", 5,
                              ICMP_ECHO_LEN);
        truncate_all(fam, false, b, n, n - ICMP_COOKIE_LEN);
    }
    size_t n = put_ip4(b, 6, IPPROTO_ICMP, "192.0.2.1");
    icmp_echo_build(b + n, AF_INET, 1, 2, cookie_seq);
    make_reply(b + n, AF_INET);
    truncate_all(AF_INET, true, b, n + ICMP_ECHO_LEN, n + 8);
    n = make_error(b, AF_INET, true, 11, 0, "192.0.2.1", 15, ICMP_ECHO_LEN);
    truncate_all(AF_INET, true, b, n, n - ICMP_COOKIE_LEN);

    /* random bytes, and valid packets with random bytes flipped */
    uint64_t x = 0x243f6a8885a308d3u;
    struct icmp_msg m;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int fam = x & 1 ? AF_INET6 : AF_INET;
        bool raw4 = fam == AF_INET && (x & 2);
        size_t len = (size_t)(x >> 8) % 120;
        if (x & 4) {
            len = make_error(b, fam, raw4, fam == AF_INET ? 3 : 1, 0,
                             fam == AF_INET ? "192.0.2.1" : "2001:db8::1", 5 + (x >> 40) % 11,
                             ICMP_ECHO_LEN);
            b[(x >> 16) % len] ^= (uint8_t)(x >> 24);
            len = (x & 8) ? len : (size_t)(x >> 32) % len;
        } else {
            for (size_t j = 0; j < len; j++)
                b[j] = (uint8_t)(x >> (j % 56));
            if (x & 8) /* a plausible start */
                b[0] = raw4 ? 0x45 : (uint8_t)(fam == AF_INET ? 3 : 1);
        }
        if (parse_exact(fam, raw4, b, len, &m) && !m.is_reply)
            assert_int_equal(m.dst.family, fam);
    }
}

static void test_error_texts(void **state)
{
    (void)state;
    for (uint8_t code = 0; code < 16; code++)
        assert_non_null(icmp_error_text(AF_INET, 3, code));
    assert_string_equal(icmp_error_text(AF_INET, 3, 0), "network unreachable");
    assert_string_equal(icmp_error_text(AF_INET, 3, 13),
                        "communication administratively prohibited");
    assert_string_equal(icmp_error_text(AF_INET, 3, 16), "destination unreachable");
    assert_string_equal(icmp_error_text(AF_INET, 11, 1), "fragment reassembly time exceeded");
    assert_string_equal(icmp_error_text(AF_INET, 12, 2), "parameter problem");
    assert_null(icmp_error_text(AF_INET, 0, 0)); /* echo reply */
    assert_null(icmp_error_text(AF_INET, 5, 1)); /* redirect */
    assert_null(icmp_error_text(AF_INET, 8, 0));
    for (uint8_t code = 0; code < 7; code++)
        assert_non_null(icmp_error_text(AF_INET6, 1, code));
    assert_string_equal(icmp_error_text(AF_INET6, 1, 0), "network unreachable");
    assert_string_equal(icmp_error_text(AF_INET6, 1, 3), "host unreachable");
    assert_string_equal(icmp_error_text(AF_INET6, 1, 200), "destination unreachable");
    assert_string_equal(icmp_error_text(AF_INET6, 3, 1), "fragment reassembly time exceeded");
    assert_string_equal(icmp_error_text(AF_INET6, 4, 1), "parameter problem");
    assert_null(icmp_error_text(AF_INET6, 3 + 0x80, 0));
    assert_null(icmp_error_text(AF_INET6, ICMP6_ECHO_REPL, 0));
    assert_null(icmp_error_text(AF_INET6, 137, 0)); /* redirect */
}

/* ---- the sequence-number table ---------------------------------------------- */

/* Every entry is reachable from its home without crossing an empty slot,
 * n counts the entries, cap is a power of two at least 2n. */
static void table_check(const struct icmp_seq_table *t)
{
    uint32_t n = 0;
    assert_true(t->cap == 0 || (t->cap & (t->cap - 1)) == 0);
    for (uint32_t i = 0; i < t->cap; i++) {
        if (!t->slots[i].item)
            continue;
        n++;
        for (uint32_t j = t->slots[i].seq & (t->cap - 1); j != i; j = (j + 1) & (t->cap - 1))
            assert_non_null(t->slots[j].item);
        assert_ptr_equal(icmp_seq_find(t, t->slots[i].seq), t->slots[i].item);
    }
    assert_int_equal(n, t->n);
    assert_true(t->n * 2 <= t->cap || t->cap == 0);
}

static void test_seq_table(void **state)
{
    (void)state;
    enum { N = 3000 };
    static int items[N];
    struct icmp_seq_table t;
    memset(&t, 0, sizeof(t));
    assert_null(icmp_seq_find(&t, 0));
    assert_null(icmp_seq_remove(&t, 0));
    /* sequence numbers wrapping past 65535 (and their cluster past the
     * table's end), and every 7th colliding (seq + 8192 shares a home with
     * seq up to cap 8192) */
    uint16_t seqs[N];
    for (int i = 0; i < N; i++) {
        seqs[i] = (uint16_t)(i % 7 == 6 ? seqs[i - 1] + 8192 : 65000 + i);
        for (int j = 0; j < i; j++) {
            if (seqs[j] == seqs[i]) { /* keep them unique */
                seqs[i]++;
                j = -1;
            }
        }
        assert_null(icmp_seq_find(&t, seqs[i]));
        icmp_seq_put(&t, seqs[i], &items[i]);
        assert_ptr_equal(icmp_seq_find(&t, seqs[i]), &items[i]);
    }
    table_check(&t);
    assert_int_equal(t.n, N);
    assert_int_equal(t.cap, 8192);
    icmp_seq_grow(&t);
    assert_int_equal(t.cap, 16384);
    table_check(&t);
    /* removal in a scattered order (1237 is prime to N) */
    for (int k = 0; k < N; k++) {
        int i = (int)((k * 1237L) % N);
        assert_ptr_equal(icmp_seq_remove(&t, seqs[i]), &items[i]);
        assert_null(icmp_seq_find(&t, seqs[i]));
        assert_null(icmp_seq_remove(&t, seqs[i]));
        if (k % 97 == 0)
            table_check(&t);
        int next = (int)(((k + 1) * 1237L) % N);
        if (k + 1 < N)
            assert_ptr_equal(icmp_seq_find(&t, seqs[next]), &items[next]);
    }
    table_check(&t);
    assert_int_equal(t.n, 0);
    icmp_seq_free(&t);
    assert_int_equal(t.cap, 0);
    assert_null(icmp_seq_find(&t, 1));
}

/* A cluster wrapping past the end of the table: every removal order. */
static void test_seq_table_wrap(void **state)
{
    (void)state;
    const uint16_t seqs[5] = { 62, 63, 126, 127, 190 }; /* homes 62, 63, 62, 63, 62 */
    int items[5], perm[5] = { 0, 1, 2, 3, 4 };
    for (int round = 0; round < 120; round++) {
        struct icmp_seq_table t;
        memset(&t, 0, sizeof(t));
        icmp_seq_put(&t, 0, &items[0]); /* home 0, pushed on by the wrap */
        for (int i = 0; i < 5; i++)
            icmp_seq_put(&t, seqs[i], &items[i]);
        assert_int_equal(t.cap, ICMP_SEQ_TABLE_MIN);
        table_check(&t);
        for (int k = 0; k < 5; k++) {
            assert_ptr_equal(icmp_seq_remove(&t, seqs[perm[k]]), &items[perm[k]]);
            table_check(&t);
        }
        assert_ptr_equal(icmp_seq_find(&t, 0), &items[0]);
        icmp_seq_free(&t);
        /* the next permutation (lexicographic) */
        int i = 3;
        while (i >= 0 && perm[i] > perm[i + 1])
            i--;
        if (i < 0)
            break;
        int j = 4;
        while (perm[j] < perm[i])
            j--;
        int tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
        for (int a = i + 1, b = 4; a < b; a++, b--)
            tmp = perm[a], perm[a] = perm[b], perm[b] = tmp;
    }
}

/* ---- http(s) result wording ------------------------------------------------- */

#define assert_result(r, c, d)                                                                     \
    do {                                                                                           \
        struct probe_result r_ = (r);                                                              \
        assert_string_equal(probe_code_name(r_.code), probe_code_name(c));                         \
        assert_string_equal(r_.detail, (d));                                                       \
    } while (0)

static void test_http_timeouts(void **state)
{
    (void)state;
    struct probe_result r;
    http_timeout_result(2 * DURATION_SEC, false, false, false, &r);
    assert_result(r, PC_L4TOUT, "no connection within 2s");
    http_timeout_result(2 * DURATION_SEC, false, true, false, &r);
    assert_result(r, PC_L7TOUT, "no complete response within 2s");
    http_timeout_result(1500 * DURATION_MS, true, true, false, &r);
    assert_result(r, PC_L6TOUT, "TLS handshake not finished within 1.5s");
    http_timeout_result(250 * DURATION_MS, true, true, true, &r);
    assert_result(r, PC_L7TOUT, "no complete response within 250ms");
    http_timeout_result(DURATION_SEC, true, false, true, &r);
    assert_result(r, PC_L4TOUT, "no connection within 1s");
}

static void test_http_tls(void **state)
{
    (void)state;
    struct ip_addr a = addr("192.0.2.1");
    struct probe_result r;
    http_tls_result(HTTP_TLS_VERIFY, "self-signed certificate", NULL, &a, &r);
    assert_result(r, PC_L6RSP, "certificate verify failed: self-signed certificate");
    http_tls_result(HTTP_TLS_VERIFY, "unable to get local issuer certificate.\n", NULL, &a, &r);
    assert_result(r, PC_L6RSP, "certificate verify failed: unable to get local issuer certificate");
    http_tls_result(HTTP_TLS_NAME, "hostname mismatch", NULL, &a, &r);
    assert_result(r, PC_L6RSP, "certificate does not match 192.0.2.1");
    http_tls_result(HTTP_TLS_NAME, "hostname mismatch", "www.example.com", &a, &r);
    assert_result(r, PC_L6RSP, "certificate does not match www.example.com");
    http_tls_result(HTTP_TLS_PROTOCOL, "wrong version number", NULL, &a, &r);
    assert_result(r, PC_L6RSP, "TLS handshake failed: wrong version number");
    http_tls_result(HTTP_TLS_PROTOCOL, NULL, NULL, &a, &r);
    assert_result(r, PC_L6RSP, "TLS error");
    http_tls_result(HTTP_TLS_CLOSED, NULL, NULL, &a, &r);
    assert_result(r, PC_L6RSP, "TLS handshake failed: connection closed");
    http_tls_result(HTTP_TLS_SOCKET, strerror(ECONNRESET), NULL, &a, &r);
    char want[HTTP_DETAIL_MAX];
    snprintf(want, sizeof(want), "TLS handshake failed: %s", strerror(ECONNRESET));
    assert_result(r, PC_L6RSP, want);

    /* a long message is cut, and never ends in a space or dot */
    char longmsg[300];
    memset(longmsg, 'x', sizeof(longmsg) - 1);
    longmsg[sizeof(longmsg) - 1] = '\0';
    http_tls_result(HTTP_TLS_VERIFY, longmsg, NULL, &a, &r);
    assert_int_equal(r.code, PC_L6RSP);
    assert_int_equal(strlen(r.detail), HTTP_DETAIL_MAX - 1);
    assert_true(strncmp(r.detail, "certificate verify failed: xxx", 30) == 0);
}

static void test_detail_clean(void **state)
{
    (void)state;
    char d[HTTP_DETAIL_MAX];
    http_detail_clean(d, "a\nb\tc\x7f"
                         "d\r\n");
    assert_string_equal(d, "a b c d");
    http_detail_clean(d, "Connection refused. . ..  ");
    assert_string_equal(d, "Connection refused");
    http_detail_clean(d, "\n\n...");
    assert_string_equal(d, "");
    http_detail_clean(d, "");
    assert_string_equal(d, "");
    http_detail_clean(d, "caf\xc3\xa9"); /* bytes above 0x7f stay */
    assert_string_equal(d, "caf\xc3\xa9");
    char big[400];
    memset(big, 'y', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    big[50] = '\n';
    http_detail_clean(d, big);
    assert_int_equal(strlen(d), HTTP_DETAIL_MAX - 1);
    assert_int_equal(d[50], ' ');
    assert_null(strchr(d, '\n'));
    big[HTTP_DETAIL_MAX - 2] = '.'; /* the cut leaves a trailing dot: it goes too */
    http_detail_clean(d, big);
    assert_int_equal(strlen(d), HTTP_DETAIL_MAX - 2);
}

/* ---- the regex cache -------------------------------------------------------- */

static void test_regex_cache(void **state)
{
    (void)state;
    struct regex_cache c = { 0 };
    struct healthcheck_conf hcs[REGEX_CACHE_MAX + 1];
    char err[128];
    memset(hcs, 0, sizeof(hcs));
    for (size_t i = 0; i < REGEX_CACHE_MAX + 1; i++)
        hcs[i].response_regex = "^ok";
    const struct pcre2_real_code_8 *a = regex_cache_get(&c, &hcs[0], err, sizeof(err));
    assert_non_null(a);
    assert_ptr_equal(regex_cache_get(&c, &hcs[0], err, sizeof(err)), a); /* a hit */
    assert_int_equal(c.n, 1);
    hcs[0].response_regex = "^ok$"; /* same conf, another pattern: replaced */
    assert_non_null(regex_cache_get(&c, &hcs[0], err, sizeof(err)));
    assert_int_equal(c.n, 1);
    hcs[1].response_regex = "(unclosed";
    assert_null(regex_cache_get(&c, &hcs[1], err, sizeof(err)));
    assert_true(strncmp(err, "response-regex: ", 16) == 0);
    assert_non_null(strstr(err, "at offset 9"));
    assert_int_equal(c.n, 1);
    hcs[1].response_regex = "^ok";

    /* full: the least recently used goes */
    for (size_t i = 1; i < REGEX_CACHE_MAX; i++)
        assert_non_null(regex_cache_get(&c, &hcs[i], err, sizeof(err)));
    assert_int_equal(c.n, REGEX_CACHE_MAX);
    a = regex_cache_get(&c, &hcs[0], err, sizeof(err)); /* now the most recent */
    assert_non_null(regex_cache_get(&c, &hcs[REGEX_CACHE_MAX], err, sizeof(err)));
    assert_int_equal(c.n, REGEX_CACHE_MAX);
    assert_ptr_equal(regex_cache_get(&c, &hcs[0], err, sizeof(err)), a); /* kept */
    regex_cache_clear(&c);
    assert_int_equal(c.n, 0);
    assert_null(c.head);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checksum),       cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_parse_errors),   cmocka_unit_test(test_truncated_and_garbled),
        cmocka_unit_test(test_error_texts),    cmocka_unit_test(test_seq_table),
        cmocka_unit_test(test_seq_table_wrap), cmocka_unit_test(test_http_timeouts),
        cmocka_unit_test(test_http_tls),       cmocka_unit_test(test_detail_clean),
        cmocka_unit_test(test_regex_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
