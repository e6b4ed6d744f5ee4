/* Unit tests for src/health/http_parse.c: HTTP/1.x response heads and
 * bodies, whole and split across reads, good and bad.
 *
 * Every call gets a heap buffer of exactly the bytes it may read, so that
 * an ASan build catches any read beyond them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health/http_parse.h"

/* ---- helpers ---------------------------------------------------------------- */

static char *dup_exact(const char *s, size_t n)
{
    char *b = malloc(n ? n : 1);
    assert_non_null(b);
    memcpy(b, s, n);
    return b;
}

/* http_head_parse on s as one read. */
static enum http_parse_rc head_whole(const char *s, struct http_head *h)
{
    http_head_init(h);
    size_t n = strlen(s);
    char *b = dup_exact(s, n);
    enum http_parse_rc rc = http_head_parse(h, b, n);
    free(b);
    return rc;
}

/* http_head_parse on s arriving a piece of step bytes at a time (the buffer
 * grows, as the probe's does); returns the first result that is not MORE,
 * or MORE. status_at is where the status became known (0: never). */
static enum http_parse_rc head_steps(const char *s, size_t step, struct http_head *h,
                                     size_t *status_at)
{
    http_head_init(h);
    size_t n = strlen(s);
    *status_at = 0;
    enum http_parse_rc rc = HTTP_PARSE_MORE;
    for (size_t len = 0; len < n && rc == HTTP_PARSE_MORE;) {
        len = len + step < n ? len + step : n;
        char *b = dup_exact(s, len);
        rc = http_head_parse(h, b, len);
        free(b);
        if (h->status && !*status_at)
            *status_at = len;
    }
    return rc;
}

/* The body fed in pieces of step bytes (0: all at once); the decoded bytes
 * are appended to out (NUL-terminated). Returns the last result. */
static enum http_parse_rc body_steps(struct http_body *b, const char *s, size_t step, char *out,
                                     size_t outlen)
{
    size_t n = strlen(s), got = 0;
    if (step == 0)
        step = n ? n : 1;
    enum http_parse_rc rc = http_body_feed(b, NULL, 0, &(size_t){ 0 });
    for (size_t off = 0; off < n && rc == HTTP_PARSE_MORE; off += step) {
        size_t k = n - off < step ? n - off : step, o = 99;
        char *p = dup_exact(s + off, k);
        rc = http_body_feed(b, p, k, &o);
        assert_true(o <= k);
        assert_true(got + o < outlen);
        memcpy(out + got, p, o);
        got += o;
        free(p);
    }
    out[got] = '\0';
    return rc;
}

static struct http_body body_for(int status, int64_t content_length, bool chunked)
{
    struct http_head h;
    http_head_init(&h);
    h.status = status;
    h.content_length = content_length;
    h.chunked = chunked;
    struct http_body b;
    http_body_init(&b, &h);
    return b;
}

/* ---- the status line ------------------------------------------------------------ */

static void test_status_good(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int status;
    } good[] = {
        { "HTTP/1.1 200 OK\r\n\r\n", 200 },
        { "HTTP/1.0 503 Service Unavailable\r\n\r\n", 503 },
        { "HTTP/1.1 204\r\n\r\n", 204 },                   /* no reason */
        { "HTTP/1.1 404 \r\n\r\n", 404 },                  /* empty reason */
        { "HTTP/1.1 200 OK\n\n", 200 },                    /* bare LFs */
        { "HTTP/1.1 299 Wh\x01t \xff ever\r\n\r\n", 299 }, /* any reason */
        { "HTTP/1.9 999 x\r\n\r\n", 999 },
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct http_head h;
        if (head_whole(good[i].s, &h) != HTTP_PARSE_DONE)
            fail_msg("not parsed: \"%s\"", good[i].s);
        assert_int_equal(h.status, good[i].status);
        assert_int_equal(h.len, strlen(good[i].s));
        assert_int_equal(h.content_length, -1);
        assert_false(h.chunked);
    }
}

static void test_status_bad(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "HTTP/1.1 20 OK\r\n",
        "HTTP/1.1 2000 OK\r\n",
        "HTTP/1.1  200 OK\r\n",
        "HTTP/1.1 200OK\r\n",
        "HTTP/1.1\t200 OK\r\n",
        "HTTP/2 200\r\n",
        "HTTP/1.x 200 OK\r\n",
        "HTTP/11 200 OK\r\n",
        "http/1.1 200 OK\r\n",
        " HTTP/1.1 200 OK\r\n",
        "HTTP/1.1 2x0 OK\r\n",
        "HTTP/1.1 200\r\r\n",
        "HTTP/1.1\r\n",
        "\r\n",
        "this is not http at all\r\n\r\n",
        "ICY 200 OK\r\n",
        "SSH-2.0-OpenSSH_9.2\r\n",
        "HTTP/1.1 000 x\r\n",
        "HTTP/1.1 099 x\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct http_head h;
        if (head_whole(bad[i], &h) != HTTP_PARSE_BAD)
            fail_msg("accepted: \"%s\"", bad[i]);
        assert_int_equal(h.status, 0);
    }
    /* a wrong start is BAD at once, without a line end */
    struct http_head h;
    assert_int_equal(head_whole("X", &h), HTTP_PARSE_BAD);
    assert_int_equal(head_whole("HTTP/2", &h), HTTP_PARSE_BAD);
    assert_int_equal(head_whole("\x16\x03\x01\x02\x00", &h), HTTP_PARSE_BAD); /* TLS */
    /* a right start waits for more */
    assert_int_equal(head_whole("", &h), HTTP_PARSE_MORE);
    assert_int_equal(head_whole("HTT", &h), HTTP_PARSE_MORE);
    assert_int_equal(head_whole("HTTP/1.1 200 OK", &h), HTTP_PARSE_MORE);
    assert_int_equal(h.status, 0);
    assert_int_equal(head_whole("HTTP/1.1 200 OK\r", &h), HTTP_PARSE_MORE);
    assert_int_equal(h.status, 0);
}

static void test_status_known_early(void **state)
{
    (void)state;
    struct http_head h;
    /* the status is there as soon as its line is, whatever follows */
    assert_int_equal(head_whole("HTTP/1.1 503 Down\r\nServer: x", &h), HTTP_PARSE_MORE);
    assert_int_equal(h.status, 503);
    assert_int_equal(head_whole("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", &h), HTTP_PARSE_BAD);
    assert_int_equal(h.status, 200);
    assert_true(http_status_interim(100));
    assert_true(http_status_interim(103));
    assert_true(http_status_interim(199));
    assert_false(http_status_interim(101));
    assert_false(http_status_interim(200));
    assert_false(http_status_interim(99));
}

/* ---- headers -------------------------------------------------------------------- */

static void test_headers(void **state)
{
    (void)state;
    struct http_head h;
    const char *r = "HTTP/1.1 200 OK\r\nServer: nginx\r\ncontent-LENGTH:  12 \r\n"
                    "X-Empty:\r\nX-Folded: a\r\n  b\r\n\r\nbody follows";
    assert_int_equal(head_whole(r, &h), HTTP_PARSE_DONE);
    assert_int_equal(h.status, 200);
    assert_int_equal(h.content_length, 12);
    assert_false(h.chunked);
    assert_string_equal(r + h.len, "body follows");

    assert_int_equal(head_whole("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", &h),
                     HTTP_PARSE_DONE);
    assert_true(h.chunked);
    assert_int_equal(head_whole("HTTP/1.1 200 OK\nTRANSFER-encoding:gzip, Chunked\n\n", &h),
                     HTTP_PARSE_DONE);
    assert_true(h.chunked);
    assert_int_equal(head_whole("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", &h),
                     HTTP_PARSE_DONE);
    assert_false(h.chunked); /* then the body runs to the close */
    assert_int_equal(head_whole("HTTP/1.1 200 OK\r\nTransfer-Encoding: notchunked\r\n\r\n", &h),
                     HTTP_PARSE_DONE);
    assert_false(h.chunked);
    /* the same length twice is fine */
    assert_int_equal(
        head_whole("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", &h),
        HTTP_PARSE_DONE);
    assert_int_equal(h.content_length, 5);
    assert_int_equal(head_whole("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &h),
                     HTTP_PARSE_DONE);
    assert_int_equal(h.content_length, 0);

    static const char *const bad[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1000000000000000000\r\n\r\n", /* 19 digits */
        "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
        "HTTP/1.1 200 OK\r\n: no name\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX\x01Y: z\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (head_whole(bad[i], &h) != HTTP_PARSE_BAD)
            fail_msg("accepted: \"%s\"", bad[i]);
    assert_int_equal(
        head_whole("HTTP/1.1 200 OK\r\nContent-Length: 999999999999999999\r\n\r\n", &h),
        HTTP_PARSE_DONE);
    assert_int_equal(h.content_length, 999999999999999999LL);
}

static void test_headers_split(void **state)
{
    (void)state;
    static const char *const rs[] = {
        ("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Length: 3\r\n"
         "Connection: close\r\n\r\nok\n"),
        "HTTP/1.0 404 Not Found\nTransfer-Encoding: chunked\n\n0\n\n",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(rs) / sizeof(rs[0]); i++) {
        struct http_head whole;
        assert_int_equal(head_whole(rs[i], &whole), HTTP_PARSE_DONE);
        size_t line = (size_t)(strchr(rs[i], '\n') - rs[i]) + 1;
        for (size_t step = 1; step <= strlen(rs[i]); step++) {
            struct http_head h;
            size_t at;
            assert_int_equal(head_steps(rs[i], step, &h, &at), HTTP_PARSE_DONE);
            assert_int_equal(h.status, whole.status);
            assert_int_equal(h.len, whole.len);
            assert_int_equal(h.content_length, whole.content_length);
            assert_int_equal(h.chunked, whole.chunked);
            /* known with the read that completed the status line */
            assert_true(at >= line && at < line + step);
        }
    }
    /* a bad header is found however the bytes come */
    for (size_t step = 1; step < 40; step++) {
        struct http_head h;
        size_t at;
        assert_int_equal(head_steps("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", step, &h, &at),
                         HTTP_PARSE_BAD);
        assert_int_equal(head_steps("HTTX/1.1 200 OK\r\n\r\n", step, &h, &at), HTTP_PARSE_BAD);
    }
}

static void test_head_large(void **state)
{
    (void)state;
    /* the parser has no limit of its own (the probe has); a long head is
     * MORE until its end */
    size_t n = 20000;
    char *r = malloc(n + 64);
    assert_non_null(r);
    int k = snprintf(r, n + 64, "HTTP/1.1 200 OK\r\nX-Big: ");
    memset(r + k, 'a', n);
    strcpy(r + k + n, "\r\n\r\n");
    struct http_head h;
    http_head_init(&h);
    char *b = dup_exact(r, (size_t)k + n);
    assert_int_equal(http_head_parse(&h, b, (size_t)k + n), HTTP_PARSE_MORE);
    free(b);
    assert_int_equal(h.status, 200);
    assert_int_equal(head_whole(r, &h), HTTP_PARSE_DONE);
    assert_int_equal(h.len, strlen(r));
    free(r);
}

/* ---- bodies ------------------------------------------------------------------------ */

static void test_body_modes(void **state)
{
    (void)state;
    char out[256];
    struct http_body b;
    /* no body whatever the headers say */
    int none[] = { 100, 101, 204, 304 };
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        b = body_for(none[i], 10, false);
        assert_int_equal(b.mode, HTTP_BODY_NONE);
        assert_int_equal(body_steps(&b, "0123456789", 0, out, sizeof(out)), HTTP_PARSE_DONE);
        assert_string_equal(out, "");
    }
    /* chunked wins over a length */
    b = body_for(200, 10, true);
    assert_int_equal(b.mode, HTTP_BODY_CHUNKED);
    b = body_for(200, -1, false);
    assert_int_equal(b.mode, HTTP_BODY_CLOSE);
    assert_int_equal(body_steps(&b, "all of it, up to the close", 3, out, sizeof(out)),
                     HTTP_PARSE_MORE);
    assert_string_equal(out, "all of it, up to the close");
}

static void test_body_length(void **state)
{
    (void)state;
    char out[256];
    const char *s = "hello world, and what comes after";
    for (size_t step = 0; step <= strlen(s); step++) {
        struct http_body b = body_for(200, 11, false);
        assert_int_equal(b.mode, HTTP_BODY_LENGTH);
        assert_int_equal(body_steps(&b, s, step, out, sizeof(out)), HTTP_PARSE_DONE);
        assert_string_equal(out, "hello world");
        /* more after the end is dropped */
        size_t o = 9;
        char x[] = "more";
        assert_int_equal(http_body_feed(&b, x, 4, &o), HTTP_PARSE_DONE);
        assert_int_equal(o, 0);
    }
    struct http_body b = body_for(200, 0, false);
    size_t o = 9;
    assert_int_equal(http_body_feed(&b, NULL, 0, &o), HTTP_PARSE_DONE);
    assert_int_equal(o, 0);
    /* cut short */
    b = body_for(200, 100, false);
    assert_int_equal(body_steps(&b, "status: gr", 0, out, sizeof(out)), HTTP_PARSE_MORE);
    assert_string_equal(out, "status: gr");
    assert_int_equal(b.left, 90);
}

static void test_chunked(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } good[] = {
        { "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world" },
        { "5;name=value\r\nhello\r\n6 ; a=\"b;c\"\r\n world\r\n0;last\r\n\r\n", "hello world" },
        { "0005\r\nhello\r\nA\r\n0123456789\r\n0\r\n\r\n", "hello0123456789" },
        { "a\r\nabcdefghij\r\n0\r\n\r\n", "abcdefghij" },
        { "5\nhello\n6\n world\n0\n\n", "hello world" },      /* bare LFs */
        { "3\r\n\r\n\n\r\n0\r\n\r\n", "\r\n\n" },             /* data may be anything */
        { "5\r\nhello\r\n0\r\nTrailer: x\r\n\r\n", "hello" }, /* trailers not needed */
        { "5\r\nhello\r\n0\r\n", "hello" },                   /* done at the last chunk */
        { "0\r\n\r\n", "" },
    };
    char out[256];
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        for (size_t step = 0; step <= strlen(good[i].in); step++) {
            struct http_body b = body_for(200, -1, true);
            if (body_steps(&b, good[i].in, step, out, sizeof(out)) != HTTP_PARSE_DONE)
                fail_msg("not done: \"%s\" in steps of %zu", good[i].in, step);
            assert_string_equal(out, good[i].out);
        }
    }
    /* split anywhere, incomplete: MORE with what came so far */
    const char *s = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    for (size_t cut = 0; cut < strlen("5\r\nhello\r\n6\r\n world\r\n0\r"); cut++) {
        char part[64];
        snprintf(part, sizeof(part), "%.*s", (int)cut, s);
        struct http_body b = body_for(200, -1, true);
        assert_int_equal(body_steps(&b, part, 1, out, sizeof(out)), HTTP_PARSE_MORE);
        assert_true(strncmp(out, "hello world", strlen(out)) == 0);
    }
    /* the largest chunk size taken, one digit more refused */
    struct http_body b = body_for(200, -1, true);
    assert_int_equal(body_steps(&b, "fffffffffffffff\r\nabc", 0, out, sizeof(out)),
                     HTTP_PARSE_MORE);
    assert_string_equal(out, "abc");
    assert_int_equal(b.left, 0xfffffffffffffffULL - 3);
}

static void test_chunked_bad(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "x\r\n",
        "\r\n",
        ";ext\r\n",
        "-5\r\nhello\r\n",
        "5\r\nhelloXX",
        "5\r\nhello\rX",
        "5\rX",
        "1000000000000000\r\n", /* 16 hex digits */
        "5\r\nhello\r\n\r\n",   /* no size */
        "0x5\r\nhello\r\n",
    };
    char out[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        for (size_t step = 0; step <= strlen(bad[i]); step++) {
            struct http_body b = body_for(200, -1, true);
            if (body_steps(&b, bad[i], step, out, sizeof(out)) != HTTP_PARSE_BAD)
                fail_msg("accepted: \"%s\" in steps of %zu", bad[i], step);
        }
    }
    /* what was decoded before the error is reported */
    struct http_body b = body_for(200, -1, true);
    size_t o = 0;
    char in[] = "3\r\nabcX";
    assert_int_equal(http_body_feed(&b, in, strlen(in), &o), HTTP_PARSE_BAD);
    assert_int_equal(o, 3);
    assert_memory_equal(in, "abc", 3);
}

/* ---- garbage ------------------------------------------------------------------------- */

static uint32_t rnd_state = 12345;

static uint32_t rnd(void)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return rnd_state >> 8;
}

static void test_garbage(void **state)
{
    (void)state;
    /* random bytes, and random mutations of good responses: never a crash,
     * a read beyond the buffer or decoded bytes out of nowhere */
    static const char alphabet[] = "HTTP/1.0 2\r\n:;aZ9fF \t\x00\xff";
    const char *seed = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n"
                       "\r\n5\r\nhello\r\n0\r\n\r\n";
    char out[512];
    for (int round = 0; round < 20000; round++) {
        char s[128];
        size_t n = strlen(seed);
        memcpy(s, seed, n + 1);
        if (round % 2) {
            n = rnd() % 100;
            for (size_t i = 0; i < n; i++)
                s[i] = alphabet[rnd() % (sizeof(alphabet) - 1)];
            s[n] = '\0';
        } else {
            for (int k = 0; k < 3; k++)
                s[rnd() % n] = alphabet[rnd() % (sizeof(alphabet) - 1)];
            n = strlen(s); /* a NUL cuts it */
        }
        struct http_head h;
        size_t at;
        enum http_parse_rc rc = head_steps(s, 1 + rnd() % 8, &h, &at);
        assert_true(h.len <= n);
        if (h.status)
            assert_true(h.status >= 0 && h.status <= 999);
        if (rc != HTTP_PARSE_DONE)
            continue;
        struct http_body b;
        http_body_init(&b, &h);
        rc = body_steps(&b, s + h.len, 1 + rnd() % 8, out, sizeof(out));
        assert_true(strlen(out) <= n - h.len);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_good),
        cmocka_unit_test(test_status_bad),
        cmocka_unit_test(test_status_known_early),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_headers_split),
        cmocka_unit_test(test_head_large),
        cmocka_unit_test(test_body_modes),
        cmocka_unit_test(test_body_length),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_chunked_bad),
        cmocka_unit_test(test_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
