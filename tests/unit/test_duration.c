/* Unit tests for common/duration: Go time.ParseDuration / Duration.String(). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/duration.h"

#define MICRO_SIGN   "\xc2\xb5" /* U+00B5, what Go prints */
#define GREEK_MU     "\xce\xbc" /* U+03BC, also accepted by Go */
#define SENTINEL     INT64_C(0x5a5a5a5a5a5a5a5a)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct parse_ok {
    const char *in;
    int64_t ns;
};

/* Expected values are Go's (time.ParseDuration); most come from Go's own
 * parseDurationTests. */
static const struct parse_ok parse_ok_cases[] = {
    /* simple */
    { "0", 0 },
    { "5s", 5 * DURATION_SEC },
    { "30s", 30 * DURATION_SEC },
    { "1478s", 1478 * DURATION_SEC },
    { "300ms", 300 * DURATION_MS },
    { "100ns", 100 },
    { "1us", 1000 },
    { "1" MICRO_SIGN "s", 1000 },
    { "1" GREEK_MU "s", 1000 },
    { "15m", 15 * DURATION_MIN },
    { "16h", 16 * DURATION_H },
    { "10ns", 10 },
    { "11us", 11 * DURATION_US },
    { "12" MICRO_SIGN "s", 12 * DURATION_US },
    { "12" GREEK_MU "s", 12 * DURATION_US },
    { "13ms", 13 * DURATION_MS },
    /* sign */
    { "-5s", -5 * DURATION_SEC },
    { "+5s", 5 * DURATION_SEC },
    { "-0", 0 },
    { "+0", 0 },
    { "0s", 0 },
    { "-0s", 0 },
    { "0h0m0s", 0 },
    { "-1.5h", -(90 * DURATION_MIN) },
    /* decimal */
    { "1.5s", 1500 * DURATION_MS },
    { "5.0s", 5 * DURATION_SEC },
    { "5.6s", 5 * DURATION_SEC + 600 * DURATION_MS },
    { "5.s", 5 * DURATION_SEC },
    { "1.s", DURATION_SEC },
    { ".5s", 500 * DURATION_MS },
    { "-.5s", -500 * DURATION_MS },
    { "1.0s", DURATION_SEC },
    { "1.00s", DURATION_SEC },
    { "1.004s", DURATION_SEC + 4 * DURATION_MS },
    { "1.0040s", DURATION_SEC + 4 * DURATION_MS },
    { "100.00100s", 100 * DURATION_SEC + DURATION_MS },
    { "0.0s", 0 },
    { "1.5m", 90 * DURATION_SEC },
    { "0.5h", 30 * DURATION_MIN },
    { ".5us", 500 },
    { "1.5" MICRO_SIGN "s", 1500 },
    { "1.000001ms", 1000001 },
    { "0.000001ms", 1 },
    { "0.001us", 1 },
    { "1.000000001s", 1000000001 },
    { "0.999999999s", 999999999 },
    { "0.000000001s", 1 },
    { "0.000000001h", 3600 },
    /* fractions of a nanosecond are truncated */
    { "0.1ns", 0 },
    { "1.9ns", 1 },
    { "0.0001us", 0 },
    { "0.0009us", 0 },
    { "1.0000000001s", DURATION_SEC },
    { "0.1234567891s", 123456789 },
    { "1.123456789123ms", 1123456 },
    { "-0.5ns", 0 },
    /* composite */
    { "2h45m", 2 * DURATION_H + 45 * DURATION_MIN },
    { "1m30s", 90 * DURATION_SEC },
    { "3h30m", 3 * DURATION_H + 30 * DURATION_MIN },
    { "10.5s4m", 4 * DURATION_MIN + 10 * DURATION_SEC + 500 * DURATION_MS },
    { "-2m3.4s", -(2 * DURATION_MIN + 3 * DURATION_SEC + 400 * DURATION_MS) },
    { "1h2m3s4ms5us6ns", 1 * DURATION_H + 2 * DURATION_MIN + 3 * DURATION_SEC + 4 * DURATION_MS +
                             5 * DURATION_US + 6 },
    { "1h1m1s1ms1us1ns", INT64_C(3661001001001) },
    { "39h9m14.425s", 39 * DURATION_H + 9 * DURATION_MIN + 14 * DURATION_SEC + 425 * DURATION_MS },
    { "1h15m30.918273645s", INT64_C(4530918273645) },
    { "1s1s1s", 3 * DURATION_SEC },
    { "1m1h", DURATION_H + DURATION_MIN },
    { "1.5h1.5m1.5s", INT64_C(5491500000000) },
    /* large values */
    { "52763797000ns", INT64_C(52763797000) },
    /* 1<<53+1 is not exact in a float64 */
    { "9007199254740993ns", INT64_C(9007199254740993) },
    /* more than 9 digits after the point: Go's float64 arithmetic, golang.org/issue/6617 */
    { "0.3333333333333333333h", 20 * DURATION_MIN },
    { "0.100000000000000000000h", 6 * DURATION_MIN },
    { "0.830103483285477580700h", 49 * DURATION_MIN + 48 * DURATION_SEC + 372539827 },
    /* f * (unit / scale) in float64, exactly as Go computes it. The last two
     * differ from exact decimal arithmetic, which gives 1671207560559 and
     * 3301420621198.9995 ns: Go's results are kept. */
    { "0.0704999622h", INT64_C(253799863920) },
    { "0.9876399650s", 987639965 },
    { "0.1237722945m", INT64_C(7426337670) },
    { "0.46422432237750h", INT64_C(1671207560558) },
    { "0.9170612836663887h", INT64_C(3301420621199) },
    /* int64 limits */
    { "9223372036854775807ns", INT64_MAX },
    { "9223372036854775.807us", INT64_MAX },
    { "9223372036s854ms775us807ns", INT64_MAX },
    { "2562047h47m16.854775807s", INT64_MAX },
    { "9223372036854775807.9ns", INT64_MAX },
    { "-9223372036854775808ns", INT64_MIN },
    { "-9223372036854775.808us", INT64_MIN },
    { "-9223372036s854ms775us808ns", INT64_MIN },
    { "-2562047h47m16.854775808s", INT64_MIN },
    { "-2562047h47m16.854775807s", INT64_MIN + 1 },
};

static void test_parse_valid(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(parse_ok_cases); i++) {
        const struct parse_ok *c = &parse_ok_cases[i];
        int64_t ns = SENTINEL;
        int rc = duration_parse(c->in, &ns);
        if (rc != 0 || ns != c->ns)
            fail_msg("duration_parse(\"%s\") = %d, %" PRId64 "; want 0, %" PRId64, c->in, rc, ns,
                     c->ns);
    }
}

struct parse_err {
    const char *in;
    int err;
};

static const struct parse_err parse_err_cases[] = {
    /* malformed */
    { "", -EINVAL },
    { "-", -EINVAL },
    { "+", -EINVAL },
    { ".", -EINVAL },
    { "-.", -EINVAL },
    { ".s", -EINVAL },
    { "+.s", -EINVAL },
    { "s", -EINVAL },
    { "ms", -EINVAL },
    { "-s", -EINVAL },
    { "--1s", -EINVAL },
    { "+-1s", -EINVAL },
    { "-+1s", -EINVAL },
    { "1x", -EINVAL },
    { "1sx", -EINVAL },
    { "1sec", -EINVAL },
    { "1S", -EINVAL },
    { "1H", -EINVAL },
    { "1d", -EINVAL },
    { "1\xc2\xb5", -EINVAL }, /* micro sign without s */
    { "1\xc2s", -EINVAL },    /* broken UTF-8 */
    { "1\xb5s", -EINVAL },    /* broken UTF-8 */
    { "1\xc2\xb5\xc2\xb5s", -EINVAL },
    { "1 s", -EINVAL },
    { " 1s", -EINVAL },
    { "1s ", -EINVAL },
    { "\t1s", -EINVAL },
    { "1s\n", -EINVAL },
    { "1h 30m", -EINVAL },
    { "- 1s", -EINVAL },
    { "1h-1m", -EINVAL },
    { "1h+1m", -EINVAL },
    { "1.2.3s", -EINVAL },
    { "1..s", -EINVAL },
    { "1.5.s", -EINVAL },
    { "1e3s", -EINVAL },
    { "1.5e3s", -EINVAL },
    { "0x10s", -EINVAL },
    { "1,5s", -EINVAL },
    { "1_000ms", -EINVAL },
    { "inf", -EINVAL },
    { "nan", -EINVAL },
    { "0-", -EINVAL },
    { "1s.", -EINVAL },
    { "1s.s", -EINVAL },
    /* a number missing its unit after other parts is malformed, not "bare" */
    { "1h30", -EINVAL },
    { "1s2", -EINVAL },
    /* syntax errors win over overflow */
    { "99999999999999999999x", -EINVAL },
    { "9223372036854775808ns 1s", -EINVAL },
    /* a bare number other than 0: the unit is missing */
    { "30", -EDOM },
    { "1.5", -EDOM },
    { "-2", -EDOM },
    { "+7", -EDOM },
    { "00", -EDOM },
    { "-00", -EDOM },
    { "0.0", -EDOM },
    { "-0.0", -EDOM },
    { "0.", -EDOM },
    { ".0", -EDOM },
    { ".5", -EDOM },
    { "1.", -EDOM },
    { "1000000", -EDOM },
    { "99999999999999999999", -EDOM },
    /* outside int64 nanoseconds */
    { "9223372036854775808ns", -ERANGE },
    { "9223372036854775809ns", -ERANGE },
    { "-9223372036854775809ns", -ERANGE },
    { "99999999999999999999ns", -ERANGE },
    { "-99999999999999999999ns", -ERANGE },
    { "9223372036854775.808us", -ERANGE },
    { "9223372036s854ms775us808ns", -ERANGE },
    { "2562047h47m16.854775808s", -ERANGE },
    { "-2562047h47m16.854775809s", -ERANGE },
    { "2562048h", -ERANGE },
    { "-2562048h", -ERANGE },
    { "153722867m17s", -ERANGE },
    { "9223372037s", -ERANGE },
    { "2562047h2562047h", -ERANGE },
    { "-9223372036854775808ns1ns", -ERANGE },
    { "9223372036854775807ns1ns", -ERANGE },
    { "100000000000000000000000000000h", -ERANGE },
};

static void test_parse_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(parse_err_cases); i++) {
        const struct parse_err *c = &parse_err_cases[i];
        int64_t ns = SENTINEL;
        int rc = duration_parse(c->in, &ns);
        if (rc != c->err)
            fail_msg("duration_parse(\"%s\") = %d; want %d", c->in, rc, c->err);
        if (ns != SENTINEL)
            fail_msg("duration_parse(\"%s\") failed but wrote %" PRId64, c->in, ns);
    }
}

static void test_parse_null(void **state)
{
    (void)state;
    int64_t ns = SENTINEL;
    assert_int_equal(duration_parse(NULL, &ns), -EINVAL);
    assert_true(ns == SENTINEL);
}

struct fmt_case {
    int64_t ns;
    const char *out;
};

/* Expected strings are Go's Duration.String(). */
static const struct fmt_case fmt_cases[] = {
    { 0, "0s" },
    { 1, "1ns" },
    { 10, "10ns" },
    { 999, "999ns" },
    { 1000, "1" MICRO_SIGN "s" },
    { 1001, "1.001" MICRO_SIGN "s" },
    { 1100, "1.1" MICRO_SIGN "s" },
    { 1500, "1.5" MICRO_SIGN "s" },
    { 999999, "999.999" MICRO_SIGN "s" },
    { 1000000, "1ms" },
    { 1000001, "1.000001ms" },
    { 1010000, "1.01ms" },
    { 2200000, "2.2ms" },
    { 200000000, "200ms" },
    { 999999999, "999.999999ms" },
    { 1000000000, "1s" },
    { 1000000001, "1.000000001s" },
    { 1500000000, "1.5s" },
    { 3300000000, "3.3s" },
    { 59999999999, "59.999999999s" },
    { 60000000000, "1m0s" },
    { 90000000000, "1m30s" },
    { 4 * DURATION_MIN + 5 * DURATION_SEC, "4m5s" },
    { 4 * DURATION_MIN + 5 * DURATION_SEC + DURATION_MS, "4m5.001s" },
    { 8 * DURATION_MIN + 1, "8m0.000000001s" },
    { 3599999999999, "59m59.999999999s" },
    { DURATION_H, "1h0m0s" },
    { DURATION_H + 1, "1h0m0.000000001s" },
    { 5 * DURATION_H + 6 * DURATION_MIN + 7 * DURATION_SEC + DURATION_MS, "5h6m7.001s" },
    { 2 * DURATION_H + 45 * DURATION_MIN + 500 * DURATION_MS, "2h45m0.5s" },
    { INT64_C(3661001001001), "1h1m1.001001001s" },
    { 24 * DURATION_H, "24h0m0s" },
    { 100 * DURATION_H, "100h0m0s" },
    { INT64_MAX, "2562047h47m16.854775807s" },
    { -1, "-1ns" },
    { -1500, "-1.5" MICRO_SIGN "s" },
    { -1500000, "-1.5ms" },
    { -DURATION_SEC, "-1s" },
    { -90 * DURATION_SEC, "-1m30s" },
    { -90 * DURATION_MIN, "-1h30m0s" },
    { INT64_MIN + 1, "-2562047h47m16.854775807s" },
    { INT64_MIN, "-2562047h47m16.854775808s" },
};

static void test_format(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(fmt_cases); i++) {
        const struct fmt_case *c = &fmt_cases[i];
        char buf[DURATION_BUFSZ];
        memset(buf, 'x', sizeof(buf));
        char *r = duration_format(c->ns, buf, sizeof(buf));
        assert_ptr_equal(r, buf);
        if (strcmp(buf, c->out) != 0)
            fail_msg("duration_format(%" PRId64 ") = \"%s\"; want \"%s\"", c->ns, buf, c->out);
    }
}

static void test_format_small_buffer(void **state)
{
    (void)state;
    char buf[8];

    memset(buf, 'x', sizeof(buf));
    assert_ptr_equal(duration_format(DURATION_H, buf, 4), buf);
    assert_string_equal(buf, "1h0");
    assert_int_equal(buf[4], 'x');

    memset(buf, 'x', sizeof(buf));
    duration_format(DURATION_H, buf, 1);
    assert_string_equal(buf, "");
    assert_int_equal(buf[1], 'x');

    memset(buf, 'x', sizeof(buf));
    duration_format(DURATION_H, buf, 0);
    assert_int_equal(buf[0], 'x');

    memset(buf, 'x', sizeof(buf));
    duration_format(DURATION_H, buf, 7);
    assert_string_equal(buf, "1h0m0s");
}

/* The full set of Go's formatting round-trips, checking the result too. */
static void check_round_trip(int64_t ns)
{
    char buf[DURATION_BUFSZ];
    duration_format(ns, buf, sizeof(buf));
    size_t n = strlen(buf);
    if (n == 0 || n >= DURATION_BUFSZ - 1)
        fail_msg("duration_format(%" PRId64 ") = \"%s\": bad length", ns, buf);
    int64_t back = SENTINEL;
    int rc = duration_parse(buf, &back);
    if (rc != 0 || back != ns)
        fail_msg("duration_parse(duration_format(%" PRId64 ") = \"%s\") = %d, %" PRId64, ns, buf,
                 rc, back);

    /* The other micro spellings parse the same. */
    char *mu = strstr(buf, MICRO_SIGN "s");
    if (mu) {
        char alt[DURATION_BUFSZ + 1];
        size_t pre = (size_t)(mu - buf);
        memcpy(alt, buf, pre);
        memcpy(alt + pre, GREEK_MU "s", 4);
        back = SENTINEL;
        rc = duration_parse(alt, &back);
        if (rc != 0 || back != ns)
            fail_msg("duration_parse(\"%s\") = %d, %" PRId64 "; want %" PRId64, alt, rc, back, ns);
        memcpy(alt + pre, "us", 3);
        back = SENTINEL;
        rc = duration_parse(alt, &back);
        if (rc != 0 || back != ns)
            fail_msg("duration_parse(\"%s\") = %d, %" PRId64 "; want %" PRId64, alt, rc, back, ns);
    }
}

static uint64_t lcg_next(uint64_t *s)
{
    /* Knuth's MMIX LCG; the high bits are the good ones. */
    *s = *s * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return *s;
}

static void test_round_trip(void **state)
{
    (void)state;
    static const int64_t fixed[] = {
        0,
        1,
        -1,
        INT64_MAX,
        INT64_MIN,
        INT64_MAX - 1,
        INT64_MIN + 1,
        999,
        1000,
        1001,
        999999,
        1000000,
        1000001,
        999999999,
        1000000000,
        1000000001,
        59999999999,
        60000000000,
        3599999999999,
        3600000000000,
        INT64_C(9007199254740993),
        INT64_C(-9007199254740993),
    };
    size_t count = 0;

    for (size_t i = 0; i < ARRAY_LEN(fixed); i++, count++)
        check_round_trip(fixed[i]);

    /* Powers of ten and two, their neighbours and negatives. */
    for (int64_t p = 1; p > 0 && p <= INT64_MAX / 10; p *= 10) {
        for (int64_t d = -1; d <= 1; d++, count += 2) {
            check_round_trip(p + d);
            check_round_trip(-(p + d));
        }
    }
    for (int sh = 0; sh < 63; sh++) {
        int64_t p = INT64_C(1) << sh;
        for (int64_t d = -1; d <= 1; d++, count += 2) {
            check_round_trip(p + d);
            check_round_trip(-(p + d));
        }
    }
    /* Multiples of every unit. */
    static const int64_t units[] = { DURATION_NS,  DURATION_US,  DURATION_MS,
                                     DURATION_SEC, DURATION_MIN, DURATION_H };
    for (size_t u = 0; u < ARRAY_LEN(units); u++) {
        for (int64_t k = 1; k <= 1000; k++, count++)
            check_round_trip(k * units[u] * (k % 2 ? 1 : -1));
    }

    /* Pseudo-random values of every magnitude. */
    uint64_t seed = UINT64_C(0x853c49e6748fea9b);
    for (int i = 0; i < 200000; i++, count++) {
        uint64_t r = lcg_next(&seed);
        int shift = (int)(lcg_next(&seed) >> 58); /* 0..63 */
        int64_t v = (int64_t)(r >> shift);        /* any sign when shift is 0 */
        check_round_trip(shift > 0 && (r & 1) ? -v : v);
    }
    /* Near the ends of the range. */
    for (int64_t k = 0; k < 1000; k++, count += 2) {
        check_round_trip(INT64_MAX - k * 999983);
        check_round_trip(INT64_MIN + k * 999983);
    }
    assert_true(count > 200000);
}

/* Independent check of the fraction arithmetic: "S.NNNNNNNNNs" must be
 * exactly S*1e9 + N for any 9-digit N, and likewise for ms and us. */
static void test_parse_fractions_exact(void **state)
{
    (void)state;
    uint64_t seed = 42;
    for (int i = 0; i < 100000; i++) {
        uint64_t r = lcg_next(&seed) >> 11;
        int64_t whole = (int64_t)(r % 9223372035u);
        int64_t frac = (int64_t)((lcg_next(&seed) >> 20) % 1000000000u);
        char in[64];
        int64_t ns = SENTINEL;

        snprintf(in, sizeof(in), "%" PRId64 ".%09" PRId64 "s", whole, frac);
        int rc = duration_parse(in, &ns);
        if (rc != 0 || ns != whole * DURATION_SEC + frac)
            fail_msg("duration_parse(\"%s\") = %d, %" PRId64, in, rc, ns);

        snprintf(in, sizeof(in), "-%" PRId64 ".%06" PRId64 "ms", whole, frac % 1000000);
        rc = duration_parse(in, &ns);
        if (rc != 0 || ns != -(whole * DURATION_MS + frac % 1000000))
            fail_msg("duration_parse(\"%s\") = %d, %" PRId64, in, rc, ns);

        snprintf(in, sizeof(in), "%" PRId64 ".%03" PRId64 "us", whole, frac % 1000);
        rc = duration_parse(in, &ns);
        if (rc != 0 || ns != whole * DURATION_US + frac % 1000)
            fail_msg("duration_parse(\"%s\") = %d, %" PRId64, in, rc, ns);
    }
}

static void test_unit_macros(void **state)
{
    (void)state;
    assert_true(DURATION_H == INT64_C(3600000000000));
    assert_true(DURATION_MIN == INT64_C(60000000000));
    char buf[DURATION_BUFSZ];
    /* The longest output fits with room to spare. */
    assert_true(strlen(duration_format(INT64_MIN, buf, sizeof(buf))) < DURATION_BUFSZ);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_null),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_small_buffer),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_parse_fractions_exact),
        cmocka_unit_test(test_unit_macros),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
