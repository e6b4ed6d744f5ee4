/* Unit tests for src/common/strbuf.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"

static void test_empty(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    assert_null(sb.buf);
    assert_int_equal(sb.len, 0);
    assert_string_equal(strbuf_str(&sb), "");
    strbuf_free(&sb);
    strbuf_free(&sb); /* twice is fine */
    strbuf_free(NULL);
}

static void test_add(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    strbuf_add(&sb, "abcdef", 3);
    assert_string_equal(strbuf_str(&sb), "abc");
    assert_int_equal(sb.len, 3);
    strbuf_add(&sb, "", 0);
    assert_int_equal(sb.len, 3);
    /* embedded NULs are kept, and a NUL still follows */
    strbuf_add(&sb, "x\0y", 3);
    assert_int_equal(sb.len, 6);
    assert_memory_equal(sb.buf, "abcx\0y", 7);
    assert_true(sb.cap > sb.len);
    strbuf_free(&sb);
    assert_null(sb.buf);
    assert_int_equal(sb.len, 0);
}

static void test_adds_addc(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "hello");
    strbuf_addc(&sb, ',');
    strbuf_addc(&sb, ' ');
    strbuf_adds(&sb, "world");
    strbuf_adds(&sb, "");
    assert_string_equal(strbuf_str(&sb), "hello, world");
    assert_int_equal(sb.len, 12);
    strbuf_free(&sb);
}

static void test_growth(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    char want[5001];
    for (size_t i = 0; i < 5000; i++) {
        char c = (char)('a' + i % 26);
        strbuf_addc(&sb, c);
        want[i] = c;
        assert_int_equal(sb.len, i + 1);
        assert_true(sb.cap >= sb.len + 1);
        assert_int_equal(sb.buf[sb.len], '\0');
    }
    want[5000] = '\0';
    assert_string_equal(strbuf_str(&sb), want);
    strbuf_free(&sb);
}

static void test_addf(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "%d-%s-%c", 42, "x", 'y');
    assert_string_equal(strbuf_str(&sb), "42-x-y");
    strbuf_addf(&sb, "%s", "");
    assert_int_equal(sb.len, 6);
    strbuf_addf(&sb, "|%05.1f|%%", 3.14159);
    assert_string_equal(strbuf_str(&sb), "42-x-y|003.1|%");
    strbuf_free(&sb);
}

static void test_addf_long(void **state)
{
    (void)state;
    /* formatted lengths around and well past the 256-byte fast path */
    static const size_t lens[] = { 254, 255, 256, 257, 300, 1000, 10000 };
    for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
        size_t n = lens[k];
        char *s = malloc(n + 1);
        assert_non_null(s);
        for (size_t i = 0; i < n; i++)
            s[i] = (char)('A' + i % 26);
        s[n] = '\0';

        struct strbuf sb = STRBUF_INIT;
        strbuf_adds(&sb, "pre:");
        strbuf_addf(&sb, "<%s>%d", s, 7);
        assert_int_equal(sb.len, 4 + 1 + n + 2);
        assert_memory_equal(sb.buf, "pre:<", 5);
        assert_memory_equal(sb.buf + 5, s, n);
        assert_string_equal(sb.buf + 5 + n, ">7");
        assert_int_equal(strlen(strbuf_str(&sb)), sb.len);

        /* and appending after a long one still works */
        strbuf_addf(&sb, "%s", "!");
        assert_int_equal(sb.len, 4 + 1 + n + 3);
        assert_string_equal(sb.buf + 5 + n, ">7!");
        strbuf_free(&sb);
        free(s);
    }
}

static void vaddf_wrapper(struct strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void vaddf_wrapper(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(sb, fmt, ap);
    va_end(ap);
}

static void test_vaddf(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    char big[400];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    vaddf_wrapper(&sb, "%u:%s", 5u, big);
    assert_int_equal(sb.len, 2 + sizeof(big) - 1);
    assert_memory_equal(sb.buf, "5:", 2);
    assert_string_equal(sb.buf + 2, big);
    strbuf_free(&sb);
}

static void test_detach(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "owned");
    char *p = strbuf_detach(&sb);
    assert_non_null(p);
    assert_string_equal(p, "owned");
    assert_null(sb.buf);
    assert_int_equal(sb.len, 0);
    assert_int_equal(sb.cap, 0);
    assert_string_equal(strbuf_str(&sb), "");
    free(p);

    /* the strbuf is usable again */
    strbuf_adds(&sb, "again");
    assert_string_equal(strbuf_str(&sb), "again");
    strbuf_free(&sb);

    /* detaching an empty strbuf gives a freeable "" */
    struct strbuf empty = STRBUF_INIT;
    p = strbuf_detach(&empty);
    assert_non_null(p);
    assert_string_equal(p, "");
    free(p);
}

static void test_reset(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    strbuf_reset(&sb); /* on an empty strbuf */
    assert_string_equal(strbuf_str(&sb), "");

    strbuf_adds(&sb, "some text");
    size_t cap = sb.cap;
    strbuf_reset(&sb);
    assert_int_equal(sb.len, 0);
    assert_string_equal(strbuf_str(&sb), "");
    assert_int_equal(sb.cap, cap); /* the buffer is kept */
    strbuf_adds(&sb, "new");
    assert_string_equal(strbuf_str(&sb), "new");
    assert_int_equal(sb.len, 3);
    strbuf_free(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),     cmocka_unit_test(test_add),
        cmocka_unit_test(test_adds_addc), cmocka_unit_test(test_growth),
        cmocka_unit_test(test_addf),      cmocka_unit_test(test_addf_long),
        cmocka_unit_test(test_vaddf),     cmocka_unit_test(test_detach),
        cmocka_unit_test(test_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
