/* The dashboard's pure parts: the JSON writer (jw) and the loopback check
 * of --metrics-addr lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

#include "dashboard/dashboard.h"
#include "dashboard/jw.h"

static void test_jw_nesting_and_commas(void **state)
{
    (void)state;
    struct jw w;
    jw_init(&w);
    jw_obj(&w);
    jw_kint(&w, "a", -1);
    jw_key(&w, "b");
    jw_arr(&w);
    jw_uint(&w, 2);
    jw_obj(&w);
    jw_kbool(&w, "c", true);
    jw_obj_end(&w);
    jw_null(&w);
    jw_arr_end(&w);
    jw_kdouble(&w, "d", NAN);
    jw_kdouble(&w, "e", 1.5);
    jw_kstr(&w, "f", NULL);
    jw_obj_end(&w);
    assert_string_equal(strbuf_str(&w.sb),
                        "{\"a\":-1,\"b\":[2,{\"c\":true},null],\"d\":null,\"e\":1.5,\"f\":\"\"}");
    jw_free(&w);
}

static void test_jw_escapes(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    jw_escape(&sb, "<script>\"a\\b\"&'\n\x01 é \xff");
    assert_string_equal(strbuf_str(&sb), "\"\\u003cscript\\u003e\\\"a\\\\b\\\"\\u0026\\u0027\\n"
                                         "\\u0001 é \\ufffd\"");
    strbuf_free(&sb);
    jw_escape(&sb, "\xed\xa0\x80|\xc0\xaf"); /* a surrogate, an overlong '/' */
    assert_string_equal(strbuf_str(&sb), "\"\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd\"");
    strbuf_free(&sb);
}

static void test_addrs_loopback(void **state)
{
    (void)state;
    assert_true(dashboard_addrs_loopback("127.0.0.1:9091"));
    assert_true(dashboard_addrs_loopback("127.1.2.3:1,[::1]:9091,localhost:80"));
    assert_true(dashboard_addrs_loopback(""));
    assert_false(dashboard_addrs_loopback(":9091"));
    assert_false(dashboard_addrs_loopback("0.0.0.0:9091"));
    assert_false(dashboard_addrs_loopback("[::]:9091"));
    assert_false(dashboard_addrs_loopback("127.0.0.1:9091,10.0.0.5:9091"));
    assert_false(dashboard_addrs_loopback("128.0.0.1:9091"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jw_nesting_and_commas),
        cmocka_unit_test(test_jw_escapes),
        cmocka_unit_test(test_addrs_loopback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
