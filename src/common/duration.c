/* duration: Go-style duration strings <-> int64 nanoseconds.
 *
 * duration_parse follows Go's time.ParseDuration step by step, including its
 * use of float64 for the fractional part (which is exact for every fraction
 * of up to 9 digits in s, 6 in ms and 3 in us, i.e. everything that
 * duration_format can produce), so that the two agree on every input Go
 * accepts. duration_format follows Go's Duration.String(). */
#include "common/duration.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define U63 (UINT64_C(1) << 63) /* magnitude of INT64_MIN */

struct dur_unit {
    const char *name;
    uint64_t ns;
};

static const struct dur_unit dur_units[] = {
    { "ns", 1 },
    { "us", 1000 },
    { "\xc2\xb5s", 1000 }, /* U+00B5 micro sign */
    { "\xce\xbcs", 1000 }, /* U+03BC greek small letter mu */
    { "ms", 1000000 },
    { "s", UINT64_C(1000000000) },
    { "m", UINT64_C(60000000000) },
    { "h", UINT64_C(3600000000000) },
};

static bool dur_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Go's leadingInt: consumes [0-9]*; sets *overflow when the value exceeds 1<<63
 * (the digits are still consumed so that syntax checking can go on). */
static const char *dur_leading_int(const char *s, uint64_t *x_out, bool *overflow)
{
    uint64_t x = 0;
    for (; dur_is_digit(*s); s++) {
        if (*overflow)
            continue;
        if (x > U63 / 10) {
            *overflow = true;
            continue;
        }
        x = x * 10 + (uint64_t)(*s - '0');
        if (x > U63)
            *overflow = true;
    }
    *x_out = x;
    return s;
}

/* Go's leadingFraction: consumes [0-9]*, accumulating digits (and a power of
 * ten scale) until a further digit would overflow; later digits are ignored. */
static const char *dur_leading_fraction(const char *s, uint64_t *x_out, double *scale_out)
{
    uint64_t x = 0;
    double scale = 1;
    bool overflow = false;
    for (; dur_is_digit(*s); s++) {
        if (overflow)
            continue;
        if (x > (U63 - 1) / 10) {
            overflow = true;
            continue;
        }
        uint64_t y = x * 10 + (uint64_t)(*s - '0');
        if (y > U63) {
            overflow = true;
            continue;
        }
        x = y;
        scale *= 10;
    }
    *x_out = x;
    *scale_out = scale;
    return s;
}

static const struct dur_unit *dur_find_unit(const char *u, size_t len)
{
    for (size_t i = 0; i < sizeof(dur_units) / sizeof(dur_units[0]); i++) {
        if (strlen(dur_units[i].name) == len && memcmp(dur_units[i].name, u, len) == 0)
            return &dur_units[i];
    }
    return NULL;
}

int duration_parse(const char *s, int64_t *ns_out)
{
    if (!s)
        return -EINVAL;

    bool neg = false;
    if (*s == '-' || *s == '+') {
        neg = *s == '-';
        s++;
    }
    if (strcmp(s, "0") == 0) {
        if (ns_out)
            *ns_out = 0;
        return 0;
    }
    if (*s == '\0')
        return -EINVAL;

    bool first = true;
    uint64_t d = 0;
    bool range = false; /* reported only if the whole string is well-formed */
    while (*s) {
        /* The next character must be [0-9.]. */
        if (!(*s == '.' || dur_is_digit(*s)))
            return -EINVAL;

        uint64_t v = 0, f = 0;
        double scale = 1;
        const char *p = dur_leading_int(s, &v, &range);
        bool pre = p != s;
        bool post = false;
        s = p;
        if (*s == '.') {
            s++;
            p = dur_leading_fraction(s, &f, &scale);
            post = p != s;
            s = p;
        }
        if (!pre && !post)
            return -EINVAL; /* no digits, e.g. ".s" */

        /* The unit runs up to the next [0-9.] or the end. */
        const char *u = s;
        while (*s && *s != '.' && !dur_is_digit(*s))
            s++;
        if (s == u) {
            /* Go: "missing unit". A lone number is -EDOM; a number followed
             * by another '.' (like "1.2.3s") is malformed. */
            return *s == '\0' && first ? -EDOM : -EINVAL;
        }
        first = false;
        const struct dur_unit *unit = dur_find_unit(u, (size_t)(s - u));
        if (!unit)
            return -EINVAL;

        if (range)
            continue;
        if (v > U63 / unit->ns) {
            range = true;
            continue;
        }
        v *= unit->ns;
        if (f > 0) {
            /* As Go: float64 keeps fractions of an hour nanosecond-accurate;
             * the product is below unit->ns, so the conversion is safe. The
             * volatile stores round each step to double even where the FPU
             * computes in extended precision (x87), as Go does. */
            volatile double fd = (double)f;
            volatile double step = (double)unit->ns / scale;
            step = fd * step;
            v += (uint64_t)step;
            if (v > U63) {
                range = true;
                continue;
            }
        }
        d += v;
        if (d > U63)
            range = true;
    }
    if (range)
        return -ERANGE;
    int64_t r;
    if (neg)
        r = d == U63 ? INT64_MIN : -(int64_t)d;
    else if (d > (uint64_t)INT64_MAX)
        return -ERANGE;
    else
        r = (int64_t)d;
    if (ns_out)
        *ns_out = r;
    return 0;
}

/* Go's fmtFrac: writes the fraction of v/10^prec (".12345") ending at buf[w],
 * without trailing zeros and without the point when it is zero. Returns the
 * new start index; *v becomes v/10^prec. */
static size_t dur_fmt_frac(char *buf, size_t w, uint64_t *v, int prec)
{
    bool print = false;
    for (int i = 0; i < prec; i++) {
        unsigned digit = (unsigned)(*v % 10);
        print = print || digit != 0;
        if (print)
            buf[--w] = (char)('0' + digit);
        *v /= 10;
    }
    if (print)
        buf[--w] = '.';
    return w;
}

/* Go's fmtInt: writes v in decimal ending at buf[w]; returns the start index. */
static size_t dur_fmt_int(char *buf, size_t w, uint64_t v)
{
    if (v == 0) {
        buf[--w] = '0';
        return w;
    }
    while (v > 0) {
        buf[--w] = (char)('0' + v % 10);
        v /= 10;
    }
    return w;
}

char *duration_format(int64_t ns, char *buf, size_t len)
{
    /* Longest output is "-2562047h47m16.854775808s" (25 bytes). */
    char tmp[32];
    size_t w = sizeof(tmp);
    bool neg = ns < 0;
    uint64_t u = neg ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;

    if (u < (uint64_t)DURATION_SEC) {
        /* Below one second: use a smaller unit, like "1.2ms". */
        int prec;
        tmp[--w] = 's';
        if (u == 0) {
            tmp[--w] = '0';
        } else {
            if (u < (uint64_t)DURATION_US) {
                prec = 0;
                tmp[--w] = 'n';
            } else if (u < (uint64_t)DURATION_MS) {
                prec = 3;
                tmp[--w] = '\xb5'; /* U+00B5 micro sign, UTF-8 C2 B5 */
                tmp[--w] = '\xc2';
            } else {
                prec = 6;
                tmp[--w] = 'm';
            }
            w = dur_fmt_frac(tmp, w, &u, prec);
            w = dur_fmt_int(tmp, w, u);
        }
    } else {
        tmp[--w] = 's';
        w = dur_fmt_frac(tmp, w, &u, 9);
        /* u is now whole seconds. */
        w = dur_fmt_int(tmp, w, u % 60);
        u /= 60;
        if (u > 0) {
            /* u is now whole minutes. */
            tmp[--w] = 'm';
            w = dur_fmt_int(tmp, w, u % 60);
            u /= 60;
            if (u > 0) {
                /* u is now whole hours; stop there, as days vary in length. */
                tmp[--w] = 'h';
                w = dur_fmt_int(tmp, w, u);
            }
        }
    }
    if (neg)
        tmp[--w] = '-';

    if (buf && len > 0) {
        size_t n = sizeof(tmp) - w;
        if (n > len - 1)
            n = len - 1;
        memcpy(buf, tmp + w, n);
        buf[n] = '\0';
    }
    return buf;
}
