/* Unit tests of the exact Maglev table (src/lb/maglev.c): tables derived by
 * hand for small cases, the bucket counts of VPP's own tests (PROTOCOL.md
 * 5.5), the closed-form counts against the built table over many random
 * AS sets (weights above the table too), order independence, the
 * fingerprint, disruption and the share error. The hash itself is checked
 * against Debian's xxhash library in tests/vppsim/test_maglev_model.py. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb/maglev.h"

static struct lb_mg_as as4(const char *a, uint8_t w)
{
    struct lb_mg_as x = { .weight = w };
    assert_int_equal(ip_addr_parse(a, &x.addr), 0);
    return x;
}

static void test_hash_and_permutation(void **state)
{
    (void)state;
    /* clib_xxhash: XXH64 of the 8 bytes, seed 0x9e3779b97f4a7c13 (the
     * same values from Debian's python3-xxhash in test_maglev_model.py) */
    assert_true(lb_mg_xxhash(0) == 0x6f06f901bfa27892ull);
    assert_true(lb_mg_xxhash(1) == 0x4a67795370639ba2ull);
    assert_true(lb_mg_xxhash(0x0a000001) == 0x0a4ec23859bf6dfeull);
    uint8_t ip[16];
    struct ip_addr a;
    ip_addr_parse("10.0.0.1", &a);
    lb_mg_ip46(&a, ip);
    static const uint8_t want[16] = { [12] = 10, [15] = 1 };
    assert_memory_equal(ip, want, 16);
    uint32_t off, skip;
    lb_mg_permutation(ip, 0, 4, &off, &skip);
    assert_int_equal(off, 1);
    assert_int_equal(skip, 1);
    lb_mg_permutation(ip, 1, 8, &off, &skip);
    assert_int_equal(off, 4);
    assert_int_equal(skip, 1);
    for (uint32_t r = 0; r < 100; r++) { /* skip odd: every bucket visited */
        lb_mg_permutation(ip, r, 1024, &off, &skip);
        assert_true(off < 1024 && skip < 1024 && (skip & 1));
    }
}

/* A = 10.0.0.1, B = 10.0.0.2. Permutations (offset, skip): in 4 buckets
 * A r0 (1, 1), B r0 (0, 3); in 8 buckets A r0 (1, 1), A r1 (4, 1),
 * B r0 (0, 7). */
static void test_small_tables_by_hand(void **state)
{
    (void)state;
    struct lb_mg_as ab[2] = { as4("10.0.0.1", 1), as4("10.0.0.2", 1) };
    int32_t t[8];
    /* 4: A takes 1, B 0; A's next is 2 (free), B's 3 (free) */
    assert_int_equal(lb_mg_table_alloc(ab, 2, 4, t), 0);
    int32_t w4[4] = { 1, 0, 0, 1 };
    assert_memory_equal(t, w4, sizeof(w4));
    /* 8: A 1, B 0; A 2, B 7; A 3, B 6; A 4, B 5 */
    assert_int_equal(lb_mg_table_alloc(ab, 2, 8, t), 0);
    int32_t w8[8] = { 1, 0, 0, 0, 0, 1, 1, 1 };
    assert_memory_equal(t, w8, sizeof(w8));
    /* A weight 2: entries (r0 A), (r0 B), (r1 A). A0 1, B0 0, A1 4; A0 2,
     * B0 7, A1 5; A0 3, B0 6: full. A 5 buckets, B 3 (= 8/3 = 2 each per
     * weight unit, and the 2 left to the first entries, A0 and B0) */
    ab[0].weight = 2;
    assert_int_equal(lb_mg_table_alloc(ab, 2, 8, t), 0);
    int32_t w8b[8] = { 1, 0, 0, 0, 0, 0, 1, 1 };
    assert_memory_equal(t, w8b, sizeof(w8b));
    uint32_t c[2];
    assert_int_equal(lb_mg_counts(ab, 2, 8, c), 0);
    assert_int_equal(c[0], 5);
    assert_int_equal(c[1], 3);
    /* one AS takes everything; none: every bucket is VPP's AS 0 */
    assert_int_equal(lb_mg_table_alloc(ab, 1, 8, t), 0);
    for (int i = 0; i < 8; i++)
        assert_int_equal(t[i], 0);
    ab[0].weight = ab[1].weight = 0;
    assert_int_equal(lb_mg_table_alloc(ab, 2, 8, t), 0);
    for (int i = 0; i < 8; i++)
        assert_int_equal(t[i], LB_MG_NONE);
    assert_int_equal(lb_mg_counts(ab, 2, 8, c), 8);
    assert_int_equal(lb_mg_table_alloc(ab, 2, 6, t), -EINVAL); /* not a power of two */
}

static void counts_of(const struct lb_mg_as *ases, size_t n, uint32_t len, uint32_t *out)
{
    int32_t *t = malloc(len * sizeof(*t));
    assert_int_equal(lb_mg_table_alloc(ases, n, len, t), 0);
    memset(out, 0, n * sizeof(*out));
    for (uint32_t b = 0; b < len; b++)
        if (t[b] != LB_MG_NONE)
            out[t[b]]++;
    free(t);
}

static void expect_counts(const uint8_t *w, size_t n, uint32_t len, const uint32_t *want)
{
    struct lb_mg_as a[8];
    char s[32];
    for (size_t i = 0; i < n; i++) {
        snprintf(s, sizeof(s), "192.0.2.%zu", i + 1);
        a[i] = as4(s, w[i]);
    }
    uint32_t c[8], t[8];
    lb_mg_counts(a, n, len, c);
    counts_of(a, n, len, t);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(c[i], want[i]);
        assert_int_equal(t[i], want[i]);
    }
}

static void test_counts_of_vpps_examples(void **state)
{
    (void)state;
    expect_counts((uint8_t[]){ 100, 100, 100, 100 }, 4, 1024, (uint32_t[]){ 256, 256, 256, 256 });
    expect_counts((uint8_t[]){ 50, 100, 100, 100 }, 4, 1024, (uint32_t[]){ 150, 292, 291, 291 });
    expect_counts((uint8_t[]){ 50, 0, 100, 100 }, 4, 1024, (uint32_t[]){ 208, 0, 408, 408 });
    expect_counts((uint8_t[]){ 1, 100 }, 2, 1024, (uint32_t[]){ 11, 1013 });
    /* weights above the table: a water level, 100 and 50 in 64 -> 32/32 */
    expect_counts((uint8_t[]){ 100, 50 }, 2, 64, (uint32_t[]){ 32, 32 });
}

static uint32_t rnd(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 33);
}

static void random_set(uint64_t *seed, struct lb_mg_as *a, size_t n, bool v6)
{
    for (size_t i = 0; i < n; i++) {
        char s[64];
        uint32_t x = rnd(seed);
        if (v6)
            snprintf(s, sizeof(s), "2001:db8:%x::%x", x >> 16, (x & 0xffff) + (unsigned)i);
        else
            snprintf(s, sizeof(s), "10.%u.%u.%u", (x >> 16) & 255, (x >> 8) & 255,
                     (unsigned)i % 256);
        a[i] = (struct lb_mg_as){ .weight = (uint8_t)(rnd(seed) % 4 ? rnd(seed) % 101 : 0) };
        ip_addr_parse(s, &a[i].addr);
    }
}

/* The closed form (lb_mg_counts) equals the built table's counts, for
 * random sets of 1..64 ASes, IPv4 and IPv6, tables of 1..4096 (weights
 * summing far above the small ones), and the table does not depend on the
 * order of the ASes. */
static void test_counts_match_tables_and_order_does_not_matter(void **state)
{
    (void)state;
    uint64_t seed = 42;
    struct lb_mg_as a[64], b[64];
    uint32_t c[64], t[64];
    int32_t *ta = malloc(4096 * sizeof(*ta)), *tb = malloc(4096 * sizeof(*tb));
    for (int round = 0; round < 300; round++) {
        size_t n = 1 + rnd(&seed) % 64;
        uint32_t len = 1u << (rnd(&seed) % 13);
        random_set(&seed, a, n, round % 3 == 0);
        /* unique addresses (a random collision is possible) */
        for (size_t i = 1; i < n; i++)
            for (size_t j = 0; j < i; j++)
                if (ip_addr_equal(&a[i].addr, &a[j].addr))
                    a[i].weight = 0, a[i].addr.u.bytes[0] ^= 0x80;
        uint32_t none = lb_mg_counts(a, n, len, c);
        counts_of(a, n, len, t);
        uint32_t sum = none;
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(c[i], t[i]);
            sum += c[i];
        }
        assert_int_equal(sum, len);
        /* reversed: the same owner, by address, in every bucket */
        for (size_t i = 0; i < n; i++)
            b[i] = a[n - 1 - i];
        assert_int_equal(lb_mg_table_alloc(a, n, len, ta), 0);
        assert_int_equal(lb_mg_table_alloc(b, n, len, tb), 0);
        for (uint32_t k = 0; k < len; k++)
            assert_int_equal(ta[k] == LB_MG_NONE ? -1 : (int)(n - 1 - (size_t)ta[k]), tb[k]);
        assert_true(lb_mg_fingerprint(a, ta, len) == lb_mg_fingerprint(b, tb, len));
    }
    free(ta);
    free(tb);
}

static void test_disruption(void **state)
{
    (void)state;
    struct lb_mg_as a[8], b[8];
    char s[32];
    for (int i = 0; i < 8; i++) {
        snprintf(s, sizeof(s), "198.51.100.%d", i + 1);
        a[i] = as4(s, 100);
    }
    int32_t ta[1024], tb[1024];
    struct lb_mg_disruption d;
    lb_mg_table_alloc(a, 8, 1024, ta);
    lb_mg_disruption(a, 8, ta, a, 8, ta, 1024, &d);
    assert_int_equal(d.moved, 0);
    assert_int_equal(d.minimum, 0);
    /* one of 8 goes to weight 0: its 128 buckets must move; VPP's table
     * moves 275 (vppsim's Python model says the same): with weights as
     * replicas, the round-robin order of every later entry shifts, so the
     * others trade buckets too (weights 1: 154, 10: 194, 50: 250) */
    memcpy(b, a, sizeof(a));
    b[3].weight = 0;
    lb_mg_table_alloc(b, 8, 1024, tb);
    lb_mg_disruption(a, 8, ta, b, 8, tb, 1024, &d);
    assert_int_equal(d.len, 1024);
    assert_int_equal(d.minimum, 128);
    assert_int_equal(d.moved, 275);
    /* the same by removal from the list (another index for each AS) */
    struct lb_mg_as c[7];
    memcpy(c, a, 3 * sizeof(*a));
    memcpy(c + 3, a + 4, 4 * sizeof(*a));
    int32_t tc[1024];
    lb_mg_table_alloc(c, 7, 1024, tc);
    struct lb_mg_disruption d2;
    lb_mg_disruption(a, 8, ta, c, 7, tc, 1024, &d2);
    assert_int_equal(d2.moved, d.moved);
    assert_int_equal(d2.minimum, d.minimum);
    assert_true(lb_mg_fingerprint(b, tb, 1024) == lb_mg_fingerprint(c, tc, 1024));
    assert_true(lb_mg_fingerprint(a, ta, 1024) != lb_mg_fingerprint(c, tc, 1024));
    /* from nothing: every bucket leaves "no server" */
    for (int i = 0; i < 8; i++)
        b[i].weight = 0;
    lb_mg_table_alloc(b, 8, 1024, tb);
    lb_mg_disruption(b, 8, tb, a, 8, ta, 1024, &d);
    assert_int_equal(d.moved, 1024);
    assert_int_equal(d.minimum, 1024);
}

static void test_share_error(void **state)
{
    (void)state;
    struct lb_mg_as a[40];
    uint32_t c[40];
    char s[32];
    /* 4 x 100 in 1024: exact */
    for (int i = 0; i < 4; i++) {
        snprintf(s, sizeof(s), "198.51.100.%d", i + 1);
        a[i] = as4(s, 100);
    }
    lb_mg_counts(a, 4, 1024, c);
    assert_true(lb_mg_share_error_pp(a, 4, c, 1024) < 0.01);
    /* 100 and 50 in 64 buckets: 50 % each instead of 67/33 */
    a[1].weight = 50;
    lb_mg_counts(a, 2, 64, c);
    double e = lb_mg_share_error_pp(a, 2, c, 64);
    assert_true(e > 16.0 && e < 17.0);
    /* 40 ASes at 100 and one at 1 in 1024: the small one gets its floor
     * share, the big ones within a point */
    for (int i = 0; i < 40; i++) {
        snprintf(s, sizeof(s), "198.51.100.%d", i + 1);
        a[i] = as4(s, i ? 100 : 1);
    }
    lb_mg_counts(a, 40, 1024, c);
    assert_true(lb_mg_share_error_pp(a, 40, c, 1024) < LB_MG_SHARE_TOLERANCE_PP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_and_permutation),
        cmocka_unit_test(test_small_tables_by_hand),
        cmocka_unit_test(test_counts_of_vpps_examples),
        cmocka_unit_test(test_counts_match_tables_and_order_does_not_matter),
        cmocka_unit_test(test_disruption),
        cmocka_unit_test(test_share_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
