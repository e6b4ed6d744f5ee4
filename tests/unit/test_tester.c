/* Unit tests for src/tester/opts.c and classify.c: maglevt's command line
 * and targets (usage errors name the argument), outcome classes from
 * libcurl's codes, the backend from a header or a body regex. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <errno.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "common/duration.h"
#include "tester/tester.h"

static enum tester_args_rc parse(struct tester_opts *o, char *err, size_t len, ...)
{
    char *argv[32] = { "maglevt" };
    int argc = 1;
    va_list ap;
    va_start(ap, len);
    for (char *a; (a = va_arg(ap, char *));)
        argv[argc++] = a;
    va_end(ap);
    return tester_parse_args(argc, argv, o, err, len);
}

static void test_args_defaults(void **state)
{
    (void)state;
    struct tester_opts o;
    char err[256];
    assert_int_equal(parse(&o, err, sizeof(err), "http://192.0.2.10/", NULL), TESTER_ARGS_RUN);
    assert_int_equal(o.interval_ns, 100 * DURATION_MS);
    assert_int_equal(o.timeout_ns, DURATION_SEC);
    assert_int_equal(o.duration_ns, 0);
    assert_string_equal(o.header, "X-Backend");
    assert_null(o.body_regex);
    assert_int_equal(o.spread, 0);
    assert_int_equal(o.n_targets, 1);
    assert_false(o.json);
    tester_opts_free(&o);
}

static void test_args_all(void **state)
{
    (void)state;
    struct tester_opts o;
    char err[256];
    assert_int_equal(parse(&o, err, sizeof(err), "--interval", "250ms", "-t", "2s", "--duration",
                           "1m", "--body-regex", "from (\\w+)", "--json", "-q", "--spread", "8",
                           "--spread-base", "50000", "http://192.0.2.10:8080/x?y=1",
                           "https://[2001:db8::1]/", "-k", NULL),
                     TESTER_ARGS_RUN);
    assert_int_equal(o.interval_ns, 250 * DURATION_MS);
    assert_int_equal(o.timeout_ns, 2 * DURATION_SEC);
    assert_int_equal(o.duration_ns, DURATION_MIN);
    assert_null(o.header); /* the regex replaces the default header */
    assert_string_equal(o.body_regex, "from (\\w+)");
    assert_true(o.json && o.quiet && o.insecure);
    assert_int_equal(o.spread, 8);
    assert_int_equal(o.spread_base, 50000);
    assert_int_equal(o.n_targets, 2);
    assert_int_equal(o.targets[0].port, 8080);
    assert_string_equal(o.targets[0].path, "/x?y=1");
    assert_true(o.targets[1].https);
    assert_int_equal(o.targets[1].port, 443);
    assert_int_equal(o.targets[1].addr.family, AF_INET6);
    assert_string_equal(o.targets[1].path, "/");
    tester_opts_free(&o);
    assert_int_equal(parse(&o, err, sizeof(err), "-h", NULL), TESTER_ARGS_HELP);
    assert_int_equal(parse(&o, err, sizeof(err), "--version", NULL), TESTER_ARGS_VERSION);
}

/* Each usage error names what was wrong. */
static void test_args_usage(void **state)
{
    (void)state;
    static const struct {
        const char *a, *b, *want;
    } cases[] = {
        { "--interval", "0", "--interval \"0\"" },
        { "--timeout", "fast", "--timeout \"fast\"" },
        { "--spread", "0", "--spread \"0\"" },
        { "--spread", "5000", "--spread \"5000\"" },
        { "--header", "X:Y", "--header \"X:Y\"" },
        { "--body-regex", "(", "--body-regex \"(\"" },
        { "--bogus", "http://192.0.2.1/", "--bogus: unknown option" },
        { "http://example.com/", NULL, "\"example.com\" is not an IPv4 address" },
        { "ftp://192.0.2.1/", NULL, "must start with http:// or https://" },
        { "http://192.0.2.1:0/", NULL, "port must be 1..65535" },
        { "http://192.0.2.1:99999/", NULL, "port must be 1..65535" },
        { "http://[192.0.2.1]/", NULL, "is not an IPv6 address" },
        { "http://[2001:db8::1/", NULL, "closing ']'" },
        { "http://2001:db8::1/", NULL, "is not an IPv4 address" },
        { "--json", NULL, "no TARGET" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tester_opts o;
        char err[256];
        enum tester_args_rc rc = cases[i].b
                                     ? parse(&o, err, sizeof(err), cases[i].a, cases[i].b, NULL)
                                     : parse(&o, err, sizeof(err), cases[i].a, NULL);
        assert_int_equal(rc, TESTER_ARGS_USAGE);
        if (!strstr(err, cases[i].want))
            fail_msg("case %zu: \"%s\" does not say \"%s\"", i, err, cases[i].want);
    }
    struct tester_opts o;
    char err[256];
    assert_int_equal(parse(&o, err, sizeof(err), "--header", "X-B", "--body-regex", "x",
                           "http://192.0.2.1/", NULL),
                     TESTER_ARGS_USAGE);
    assert_non_null(strstr(err, "give one of them"));
    assert_int_equal(parse(&o, err, sizeof(err), "--interval", NULL), TESTER_ARGS_USAGE);
    assert_non_null(strstr(err, "--interval: needs a value"));
}

static void test_classify(void **state)
{
    (void)state;
    assert_int_equal(tester_classify(CURLE_OK, 0, 200), TO_OK);
    assert_int_equal(tester_classify(CURLE_OK, 0, 302), TO_OK);
    assert_int_equal(tester_classify(CURLE_OK, 0, 404), TO_HTTP_4XX);
    assert_int_equal(tester_classify(CURLE_OK, 0, 503), TO_HTTP_5XX);
    assert_int_equal(tester_classify(CURLE_OK, 0, 0), TO_OTHER);
    assert_int_equal(tester_classify(CURLE_COULDNT_CONNECT, ECONNREFUSED, 0), TO_REFUSED);
    assert_int_equal(tester_classify(CURLE_COULDNT_CONNECT, EHOSTUNREACH, 0), TO_UNREACHABLE);
    assert_int_equal(tester_classify(CURLE_COULDNT_CONNECT, ENETUNREACH, 0), TO_UNREACHABLE);
    assert_int_equal(tester_classify(CURLE_OPERATION_TIMEDOUT, 0, 0), TO_TIMEOUT);
    assert_int_equal(tester_classify(CURLE_RECV_ERROR, ECONNRESET, 0), TO_RESET);
    assert_int_equal(tester_classify(CURLE_GOT_NOTHING, 0, 0), TO_RESET);
    assert_int_equal(tester_classify(CURLE_PARTIAL_FILE, 0, 200), TO_RESET);
    assert_int_equal(tester_classify(CURLE_SSL_CONNECT_ERROR, 0, 0), TO_TLS);
    assert_int_equal(tester_classify(CURLE_PEER_FAILED_VERIFICATION, 0, 0), TO_TLS);
    assert_int_equal(tester_classify(CURLE_SSL_CONNECT_ERROR, ECONNRESET, 0), TO_RESET);
    assert_int_equal(tester_classify(CURLE_INTERFACE_FAILED, EADDRINUSE, 0), TO_OTHER);
    assert_string_equal(tester_outcome_name(TO_REFUSED), "refused");
    assert_string_equal(tester_outcome_name(TO_HTTP_5XX), "http_5xx");
}

static void test_header_value(void **state)
{
    (void)state;
    char out[TESTER_NAME_MAX + 1];
    const char *l = "x-backend:  web1 \r\n";
    assert_true(tester_header_value(l, strlen(l), "X-Backend", out));
    assert_string_equal(out, "web1");
    l = "X-Backends: web1\r\n";
    assert_false(tester_header_value(l, strlen(l), "X-Backend", out));
    l = "X-Backend: \r\n";
    assert_false(tester_header_value(l, strlen(l), "X-Backend", out));
    l = "X-Backend: a\"b\001c\r\n";
    assert_true(tester_header_value(l, strlen(l), "X-Backend", out));
    assert_string_equal(out, "a?b?c");
    char longv[200] = "X-Backend: ";
    memset(longv + 11, 'n', 150);
    assert_true(tester_header_value(longv, strlen(longv), "X-Backend", out));
    assert_int_equal(strlen(out), TESTER_NAME_MAX);
}

static void test_body_match(void **state)
{
    (void)state;
    int rc;
    PCRE2_SIZE off;
    char out[TESTER_NAME_MAX + 1];
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR) "served by (\\w+)", PCRE2_ZERO_TERMINATED, 0, &rc, &off, NULL);
    const char *body = "<p>served by web2</p>";
    assert_true(tester_body_match(re, body, strlen(body), out));
    assert_string_equal(out, "web2");
    assert_false(tester_body_match(re, "nothing", 7, out));
    pcre2_code_free(re);
    re = pcre2_compile((PCRE2_SPTR) "b[0-9]+", PCRE2_ZERO_TERMINATED, 0, &rc, &off, NULL);
    assert_true(tester_body_match(re, "b12\n", 4, out)); /* no group: the match */
    assert_string_equal(out, "b12");
    pcre2_code_free(re);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_args_defaults), cmocka_unit_test(test_args_all),
        cmocka_unit_test(test_args_usage),    cmocka_unit_test(test_classify),
        cmocka_unit_test(test_header_value),  cmocka_unit_test(test_body_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
