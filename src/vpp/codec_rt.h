/* codec_rt: the cursors and primitive readers/writers that the generated
 * VPP message codecs (src/vpp/gen, tools/vppapigen.py) are built from.
 * Internal to src/vpp; header-only so the generated file stays data. */
#ifndef MAGLEV_VPP_CODEC_RT_H
#define MAGLEV_VPP_CODEC_RT_H

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Write cursor: buf NULL means "count only" (used by *_size()). The first
 * failure sticks in err; later puts do nothing. */
struct wcur {
    uint8_t *buf;
    size_t len;
    size_t off;
    int err;
};

/* Read cursor: every get checks the remaining length first; after the
 * first failure (err != 0) gets read nothing and return 0. */
struct rcur {
    const uint8_t *buf;
    size_t len;
    size_t off;
    int err;
};

static inline uint8_t *wreserve(struct wcur *c, size_t n)
{
    if (c->err)
        return NULL;
    if (n > c->len - c->off) {
        c->err = -ENOSPC;
        return NULL;
    }
    uint8_t *p = c->buf ? c->buf + c->off : NULL;
    c->off += n;
    return p;
}

static inline int wcur_result(const struct wcur *c)
{
    if (c->err)
        return c->err;
    if (c->off > INT_MAX)
        return -EMSGSIZE;
    return (int)c->off;
}

static inline void put_u8(struct wcur *c, uint8_t v)
{
    uint8_t *p = wreserve(c, 1);
    if (p)
        p[0] = v;
}

static inline void put_u16(struct wcur *c, uint16_t v)
{
    uint8_t *p = wreserve(c, 2);
    if (p) {
        p[0] = (uint8_t)(v >> 8);
        p[1] = (uint8_t)v;
    }
}

static inline void put_u32(struct wcur *c, uint32_t v)
{
    uint8_t *p = wreserve(c, 4);
    if (p) {
        for (int i = 0; i < 4; i++)
            p[i] = (uint8_t)(v >> (24 - 8 * i));
    }
}

static inline void put_u64(struct wcur *c, uint64_t v)
{
    uint8_t *p = wreserve(c, 8);
    if (p) {
        for (int i = 0; i < 8; i++)
            p[i] = (uint8_t)(v >> (56 - 8 * i));
    }
}

__attribute__((unused)) static void put_f64(struct wcur *c, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof(u));
    put_u64(c, u);
}

static inline void put_bytes(struct wcur *c, const void *v, size_t n)
{
    uint8_t *p = wreserve(c, n);
    if (p && n)
        memcpy(p, v, n);
}

/* Fixed string: at most n-1 characters, NUL-padded to n bytes. */
static inline void put_fstr(struct wcur *c, const char *s, size_t n)
{
    uint8_t *p = wreserve(c, n);
    if (p) {
        size_t l = strnlen(s, n - 1);
        memcpy(p, s, l);
        memset(p + l, 0, n - l);
    }
}

/* Variable string: u32 BE length, then the bytes, no NUL. */
__attribute__((unused)) static void put_vstr(struct wcur *c, const char *s, uint32_t n)
{
    if (n > 0 && !s && !c->err)
        c->err = -EINVAL;
    put_u32(c, n);
    put_bytes(c, s, n);
}

static inline const uint8_t *rtake(struct rcur *c, size_t n)
{
    if (c->err)
        return NULL;
    if (n > c->len - c->off) {
        c->err = -EBADMSG;
        return NULL;
    }
    const uint8_t *p = c->buf + c->off;
    c->off += n;
    return p;
}

static inline uint8_t get_u8(struct rcur *c)
{
    const uint8_t *p = rtake(c, 1);
    return p ? p[0] : 0;
}

static inline uint16_t get_u16(struct rcur *c)
{
    const uint8_t *p = rtake(c, 2);
    return p ? (uint16_t)((p[0] << 8) | p[1]) : 0;
}

static inline uint32_t get_u32(struct rcur *c)
{
    const uint8_t *p = rtake(c, 4);
    uint32_t v = 0;
    for (int i = 0; p && i < 4; i++)
        v = (v << 8) | p[i];
    return v;
}

static inline uint64_t get_u64(struct rcur *c)
{
    const uint8_t *p = rtake(c, 8);
    uint64_t v = 0;
    for (int i = 0; p && i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

__attribute__((unused)) static double get_f64(struct rcur *c)
{
    uint64_t u = get_u64(c);
    double v;
    memcpy(&v, &u, sizeof(v));
    return v;
}

static inline void get_bytes(struct rcur *c, void *v, size_t n)
{
    const uint8_t *p = rtake(c, n);
    if (p && n)
        memcpy(v, p, n);
}

/* Fixed string of n bytes: up to the first NUL, at most n-1 characters
 * (VPP does not always terminate: PROTOCOL.md 1.5); always NUL-terminated. */
static inline void get_fstr(struct rcur *c, char *s, size_t n)
{
    const uint8_t *p = rtake(c, n);
    size_t l = 0;
    if (p) {
        while (l < n - 1 && p[l])
            l++;
        memcpy(s, p, l);
    }
    memset(s + l, 0, n - l);
}

/* Variable string: the declared length must fit in what is left. */
__attribute__((unused)) static char *get_vstr(struct rcur *c, uint32_t *len)
{
    uint32_t n = get_u32(c);
    const uint8_t *p = rtake(c, n);
    if (!p)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s) {
        c->err = -ENOMEM;
        return NULL;
    }
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    *len = n;
    return s;
}

/* Variable array: count elements of at least min_wire bytes each must fit in
 * what is left before anything is allocated. Returns NULL for count 0. */
__attribute__((unused)) static void *get_array(struct rcur *c, size_t count, size_t min_wire,
                                               size_t elem)
{
    if (c->err || count == 0)
        return NULL;
    if (count > (c->len - c->off) / min_wire) {
        c->err = -EBADMSG;
        return NULL;
    }
    void *a = calloc(count, elem);
    if (!a)
        c->err = -ENOMEM;
    return a;
}

/* ---- formatting (the DEBUG wire trail): "key=value key=value" ----
 * Output is always NUL-terminated and truncated at len; fcur.off counts what
 * would have been written. */
struct fcur {
    char *buf;
    size_t len;
    size_t off;
};

__attribute__((format(printf, 2, 3), unused)) static void fput(struct fcur *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = c->off < c->len ? c->len - c->off : 0;
    int n = vsnprintf(room ? c->buf + c->off : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        c->off += (size_t)n;
}

/* " prefix.name=" (no leading space for the first field). */
__attribute__((unused)) static void fkey(struct fcur *c, const char *prefix, const char *name)
{
    fput(c, "%s%s%s%s=", c->off ? " " : "", prefix, *prefix ? "." : "", name);
}

__attribute__((unused)) static void fmt_u64(struct fcur *c, const char *p, const char *k,
                                            uint64_t v)
{
    fkey(c, p, k);
    fput(c, "%llu", (unsigned long long)v);
}

__attribute__((unused)) static void fmt_i64(struct fcur *c, const char *p, const char *k, int64_t v)
{
    fkey(c, p, k);
    fput(c, "%lld", (long long)v);
}

__attribute__((unused)) static void fmt_f64(struct fcur *c, const char *p, const char *k, double v)
{
    fkey(c, p, k);
    fput(c, "%g", v);
}

__attribute__((unused)) static void fmt_bool(struct fcur *c, const char *p, const char *k, bool v)
{
    fkey(c, p, k);
    fput(c, "%s", v ? "true" : "false");
}

/* An enum value by its name, or the number when it has none. */
__attribute__((unused)) static void fmt_enum(struct fcur *c, const char *p, const char *k,
                                             const char *name, uint64_t v)
{
    fkey(c, p, k);
    if (name)
        fput(c, "%s", name);
    else
        fput(c, "%llu", (unsigned long long)v);
}

/* A string, quoted, at most 96 bytes of it; quotes, backslashes and
 * control bytes escaped (the logger escapes again for its format). */
__attribute__((unused)) static void fmt_str(struct fcur *c, const char *p, const char *k,
                                            const char *s, size_t n)
{
    fkey(c, p, k);
    fput(c, "\"");
    size_t shown = n > 96 ? 96 : n;
    for (size_t i = 0; i < shown; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\')
            fput(c, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            fput(c, "\\x%02x", ch);
        else
            fput(c, "%c", ch);
    }
    fput(c, "\"%s", n > shown ? "..." : "");
}

__attribute__((unused)) static void fmt_hex(struct fcur *c, const char *p, const char *k,
                                            const uint8_t *b, size_t n)
{
    fkey(c, p, k);
    for (size_t i = 0; i < n; i++)
        fput(c, "%02x", b[i]);
}

__attribute__((unused)) static void fmt_ip(struct fcur *c, const char *p, const char *k, int af,
                                           const uint8_t *b)
{
    char s[INET6_ADDRSTRLEN];
    fkey(c, p, k);
    if (!inet_ntop(af, b, s, sizeof(s)))
        snprintf(s, sizeof(s), "?");
    fput(c, "%s", s);
}

/* vl_api_address_t: af 0 = IPv4 (first 4 union bytes), 1 = IPv6. */
__attribute__((unused)) static void fmt_address(struct fcur *c, const char *p, const char *k,
                                                uint8_t af, const uint8_t *un)
{
    if (af == 0 || af == 1) {
        fmt_ip(c, p, k, af == 0 ? AF_INET : AF_INET6, un);
        return;
    }
    fkey(c, p, k);
    fput(c, "af%u:", af);
    for (size_t i = 0; i < 16; i++)
        fput(c, "%02x", un[i]);
}

__attribute__((unused)) static void fmt_prefix(struct fcur *c, const char *p, const char *k,
                                               uint8_t af, const uint8_t *un, uint8_t len)
{
    fmt_address(c, p, k, af, un);
    fput(c, "/%u", len);
}

/* A variable-length array: its element count only. */
__attribute__((unused)) static void fmt_count(struct fcur *c, const char *p, const char *k,
                                              uint64_t n)
{
    fkey(c, p, k);
    fput(c, "[%llu]", (unsigned long long)n);
}

static inline size_t fcur_result(struct fcur *c)
{
    if (c->len)
        c->buf[c->off < c->len ? c->off : c->len - 1] = '\0';
    return c->off;
}

#endif
