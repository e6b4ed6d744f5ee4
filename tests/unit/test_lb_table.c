/* Unit tests of the new-flow table model of a VIP (src/lb/table.c): the
 * counts of desired and observed VIPs (inactive and weight-0 ASes out of
 * the table), the bucket and weight shares, the worst AS, the warning
 * (weights above the table, many ASes), the mismatch of VPP's reported
 * counts, the fingerprint against the table built by lb/maglev. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb/table.h"

static void vip_init(struct lb_vip *v, struct lb_as *ases, size_t n, uint32_t len)
{
    memset(v, 0, sizeof(*v));
    v->ases = ases;
    v->n_ases = n;
    v->flow_table_length = len;
}

static struct lb_as as4(const char *a, uint8_t w)
{
    struct lb_as x = { .weight = w, .active = true };
    assert_int_equal(ip_addr_parse(a, &x.addr), 0);
    return x;
}

static void test_counts_skip_inactive_and_zero(void **state)
{
    (void)state;
    struct lb_as a[4] = { as4("10.0.0.1", 2), as4("10.0.0.2", 0), as4("10.0.0.3", 1),
                          as4("10.0.0.4", 5) };
    a[3].active = false; /* lingering: its weight plays no role */
    struct lb_vip v;
    vip_init(&v, a, 4, 0);
    assert_int_equal(lb_table_len(&v), LB_NEW_FLOWS_TABLE_LENGTH);
    uint32_t c[4];
    /* W = 3 in 8: k = 2, R = 2: the r0 entries of .1 and .3 -> 5 and 3 */
    assert_int_equal(lb_table_counts(&v, 8, c), 0);
    assert_int_equal(c[0], 5);
    assert_int_equal(c[1], 0);
    assert_int_equal(c[2], 3);
    assert_int_equal(c[3], 0);
    assert_int_equal(lb_table_members(&v), 2);
    /* the same as lb_mg_counts of the members alone */
    struct lb_mg_as m[2] = { { a[0].addr, 2 }, { a[2].addr, 1 } };
    uint32_t mc[2];
    lb_mg_counts(m, 2, 8, mc);
    assert_int_equal(mc[0], c[0]);
    assert_int_equal(mc[1], c[2]);
    /* no member: every bucket is no AS's */
    a[0].weight = a[2].weight = 0;
    assert_int_equal(lb_table_counts(&v, 1024, c), 1024);
    assert_int_equal(c[0] + c[1] + c[2] + c[3], 0);
    /* not a table length */
    c[0] = 77;
    assert_int_equal(lb_table_counts(&v, 1000, c), UINT32_MAX);
    assert_int_equal(c[0], 77);
}

static void test_shares_fine(void **state)
{
    (void)state;
    struct lb_as a[3] = { as4("10.0.0.1", 100), as4("10.0.0.2", 50), as4("10.0.0.3", 10) };
    struct lb_vip v;
    vip_init(&v, a, 3, 1024);
    struct lb_table_share s[3];
    struct lb_table_model m;
    assert_int_equal(lb_table_shares(&v, 1024, s, &m), 0);
    assert_int_equal(m.len, 1024);
    assert_int_equal(m.sum_weights, 160);
    assert_int_equal(s[0].buckets + s[1].buckets + s[2].buckets, 1024);
    /* 1024 / 160 = 6, R = 64: r0..r9 of all three (30), r10..r26 of the
     * two (34): 600 + 27, 300 + 27, 60 + 10 */
    assert_int_equal(s[0].buckets, 627);
    assert_int_equal(s[1].buckets, 327);
    assert_int_equal(s[2].buckets, 70);
    assert_true(fabs(s[0].weight_pct - 62.5) < 1e-9);
    assert_true(fabs(s[0].bucket_pct - 100.0 * 627 / 1024) < 1e-9);
    assert_true(fabs(s[2].weight_pct - 6.25) < 1e-9);
    /* the worst is the largest gap; error_pp is lb_mg_share_error_pp's */
    double g[3];
    for (int i = 0; i < 3; i++)
        g[i] = fabs(s[i].bucket_pct - s[i].weight_pct);
    assert_true(m.worst >= 0 && m.worst < 3);
    for (int i = 0; i < 3; i++)
        assert_true(g[m.worst] >= g[i]);
    assert_true(fabs(m.error_pp - g[m.worst]) < 1e-9);
    assert_true(m.error_pp < LB_MG_SHARE_TOLERANCE_PP);
    assert_false(lb_table_off(&m));
    char buf[400];
    assert_string_equal(lb_table_warning(&m, &s[m.worst], "b1", 3, buf, sizeof(buf)), "");
    /* no weight at all: no worst, no warning */
    for (int i = 0; i < 3; i++)
        a[i].weight = 0;
    assert_int_equal(lb_table_shares(&v, 1024, s, &m), 0);
    assert_int_equal(m.worst, -1);
    assert_true(m.error_pp == 0);
    assert_false(lb_table_off(&m));
    assert_int_equal(s[1].buckets, 0);
    assert_true(s[1].weight_pct == 0);
    assert_int_equal(lb_table_shares(&v, 1000, s, &m), -EINVAL);
}

/* One AS at 100, twenty at 50: W = 1100 > 1024, so no AS gets a bucket
 * per weight unit: 21 entries per replica level, 48 whole levels (1008)
 * and 16 more: every AS gets 48 or 49, the heavy one 4.7 % of the table
 * for 9.1 % of the weight. */
static void test_weights_above_the_table(void **state)
{
    (void)state;
    struct lb_as a[21];
    char s[32];
    for (int i = 0; i < 21; i++) {
        snprintf(s, sizeof(s), "10.0.1.%d", i + 1);
        a[i] = as4(s, i == 20 ? 100 : 50);
    }
    struct lb_vip v;
    vip_init(&v, a, 21, 1024);
    struct lb_table_share sh[21];
    struct lb_table_model m;
    assert_int_equal(lb_table_shares(&v, 1024, sh, &m), 0);
    assert_int_equal(m.sum_weights, 1100);
    uint32_t sum = 0;
    for (int i = 0; i < 21; i++) {
        assert_true(sh[i].buckets == 48 || sh[i].buckets == 49);
        sum += sh[i].buckets;
    }
    assert_int_equal(sum, 1024);
    assert_int_equal(m.worst, 20);
    assert_true(m.error_pp > 4.0 && m.error_pp < 4.5);
    assert_true(lb_table_off(&m));
    char buf[400];
    lb_table_warning(&m, &sh[20], "heavy", 21, buf, sizeof(buf));
    assert_non_null(strstr(buf, "backend heavy has 9.09% of the weight but gets 4.69% of new "
                                "flows (48 buckets)"));
    assert_non_null(strstr(buf, "the weights sum to 1100, more than its 1024 buckets"));
    assert_non_null(strstr(buf, "use fewer backends or larger weights"));
    /* a short buffer is cut, still terminated */
    char small[16];
    lb_table_warning(&m, &sh[20], "heavy", 21, small, sizeof(small));
    assert_int_equal(strlen(small), sizeof(small) - 1);
}

/* Many ASes with weight 1 and two at 100 (W = 1100): the 902 first
 * replicas take 902 buckets, the two heavy ones share the 122 left: 62
 * each, 6.1 % for 9.1 % of the weight. */
static void test_many_small_weights(void **state)
{
    (void)state;
    size_t n = 902;
    struct lb_as *a = calloc(n, sizeof(*a));
    char s[32];
    for (size_t i = 0; i < n; i++) {
        snprintf(s, sizeof(s), "10.1.%zu.%zu", i / 200, i % 200 + 1);
        a[i] = as4(s, i < 2 ? 100 : 1);
    }
    struct lb_vip v;
    vip_init(&v, a, n, 1024);
    struct lb_table_share *sh = calloc(n, sizeof(*sh));
    struct lb_table_model m;
    assert_int_equal(lb_table_shares(&v, 1024, sh, &m), 0);
    assert_int_equal(sh[0].buckets, 62);
    assert_int_equal(sh[1].buckets, 62);
    assert_int_equal(sh[2].buckets, 1);
    assert_true(m.worst == 0);
    assert_true(lb_table_off(&m));
    char buf[400];
    lb_table_warning(&m, &sh[0], "big0", n, buf, sizeof(buf));
    assert_non_null(strstr(buf, "backend big0 has 9.09% of the weight but gets 6.05%"));
    /* without the light ones the two share the table exactly */
    v.n_ases = 2;
    assert_int_equal(lb_table_shares(&v, 1024, sh, &m), 0);
    assert_int_equal(sh[0].buckets, 512);
    assert_false(lb_table_off(&m));
    free(sh);
    free(a);
}

static void test_mismatch_and_fingerprint(void **state)
{
    (void)state;
    struct lb_as a[3] = { as4("10.0.0.1", 3), as4("10.0.0.2", 1), as4("10.0.0.3", 0) };
    struct lb_vip v;
    vip_init(&v, a, 3, 64);
    uint32_t c[3];
    lb_table_counts(&v, 64, c);
    assert_int_equal(c[0], 48);
    assert_int_equal(c[1], 16);
    /* VPP reporting the model's counts */
    for (int i = 0; i < 3; i++)
        a[i].buckets = c[i];
    assert_int_equal(lb_table_mismatch(&v, c), -1);
    /* another algorithm: an equal split */
    a[0].buckets = 32;
    a[1].buckets = 32;
    assert_int_equal(lb_table_mismatch(&v, c), 0);
    a[0].buckets = 48;
    assert_int_equal(lb_table_mismatch(&v, c), 1);
    /* the fingerprint is the table's, as lb/maglev builds it */
    struct lb_mg_as m[3] = { { a[0].addr, 3 }, { a[1].addr, 1 }, { a[2].addr, 0 } };
    int32_t t[64];
    assert_int_equal(lb_mg_table_alloc(m, 3, 64, t), 0);
    uint64_t fp = lb_table_fingerprint(&v, 64);
    assert_true(fp == lb_mg_fingerprint(m, t, 64));
    /* a weight change changes it; an inactive AS is out of the table */
    a[1].weight = 2;
    assert_true(lb_table_fingerprint(&v, 64) != fp);
    a[1].weight = 1;
    a[2].weight = 4;
    a[2].active = false;
    assert_true(lb_table_fingerprint(&v, 64) == fp);
    assert_true(lb_table_fingerprint(&v, 100) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_skip_inactive_and_zero),
        cmocka_unit_test(test_shares_fine),
        cmocka_unit_test(test_weights_above_the_table),
        cmocka_unit_test(test_many_small_weights),
        cmocka_unit_test(test_mismatch_and_fingerprint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
