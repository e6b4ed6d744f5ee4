/* Unit tests for src/common/log.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

/* 2026-11-24T07:14:17.123456Z */
#define T0     INT64_C(1795504457123456)
#define T0_STR "2026-11-24T07:14:17.123Z"

#define FIELDS(...) ((const struct log_kv[]){ __VA_ARGS__ __VA_OPT__(, ) LOG_END_KV })

/* ---- write(2) interposer ---------------------------------------------------
 * log.c's write() calls resolve to this definition, so the tests can count
 * write calls on one fd and inject EINTR and short writes. Everything else
 * is passed straight to the kernel. */
static int wr_fd = -1;    /* the fd being watched, -1 for none */
static int wr_calls;      /* write() calls on wr_fd */
static int wr_eintr;      /* fail this many calls on wr_fd with EINTR first */
static size_t wr_max = 0; /* if not 0, write at most this many bytes per call */

ssize_t write(int fd, const void *buf, size_t n)
{
    if (fd == wr_fd && wr_fd >= 0) {
        wr_calls++;
        if (wr_eintr > 0) {
            wr_eintr--;
            errno = EINTR;
            return -1;
        }
        if (wr_max && n > wr_max)
            n = wr_max;
    }
    return (ssize_t)syscall(SYS_write, fd, buf, n);
}

/* ---- helpers ---------------------------------------------------------------- */

static char fmt_buf[16384];

static const char *fmt(enum log_format format, enum log_level level, const char *event,
                       const struct log_kv *fields)
{
    size_t n = log_format_record(fmt_buf, sizeof(fmt_buf), format, T0, level, event, fields);
    assert_true(n < sizeof(fmt_buf));
    assert_int_equal(n, strlen(fmt_buf));
    return fmt_buf;
}

static const char *fmt_text(const char *event, const struct log_kv *fields)
{
    return fmt(LOG_FORMAT_TEXT, LOG_LEVEL_INFO, event, fields);
}

static const char *fmt_json(const char *event, const struct log_kv *fields)
{
    return fmt(LOG_FORMAT_JSON, LOG_LEVEL_INFO, event, fields);
}

/* The pipe that log output goes to during a test; the read end is
 * non-blocking so a test can check that nothing (more) was written. */
static int pipe_rd = -1, pipe_wr = -1;

static int setup(void **state)
{
    (void)state;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    if (fcntl(fds[0], F_SETFL, O_NONBLOCK) != 0)
        return -1;
    pipe_rd = fds[0];
    pipe_wr = fds[1];
    log_setup(LOG_LEVEL_INFO, LOG_FORMAT_TEXT, pipe_wr);
    log_set_hook(NULL, NULL, LOG_LEVEL_DEBUG);
    wr_fd = -1;
    wr_calls = wr_eintr = 0;
    wr_max = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    log_setup(LOG_LEVEL_INFO, LOG_FORMAT_TEXT, 2);
    log_set_hook(NULL, NULL, LOG_LEVEL_DEBUG);
    wr_fd = -1;
    close(pipe_rd);
    close(pipe_wr);
    pipe_rd = pipe_wr = -1;
    return 0;
}

/* Everything currently in the pipe, NUL-terminated. */
static char *read_pipe(int fd)
{
    static char buf[65536 + 1];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        assert_true(len < sizeof(buf) - 1);
    }
    buf[len] = '\0';
    return buf;
}

static size_t count_char(const char *s, char c)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

/* Checks that s starts with "time=YYYY-MM-DDTHH:MM:SS.mmmZ " and returns what
 * follows. */
static const char *skip_text_time(const char *s)
{
    static const char pat[] = "time=dddd-dd-ddTdd:dd:dd.dddZ ";
    for (size_t i = 0; i < sizeof(pat) - 1; i++) {
        if (pat[i] == 'd')
            assert_true(s[i] >= '0' && s[i] <= '9');
        else
            assert_int_equal(s[i], pat[i]);
    }
    return s + sizeof(pat) - 1;
}

/* ---- parsing ---------------------------------------------------------------- */

static void test_level_parse_good(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        enum log_level level;
    } cases[] = {
        { "debug", LOG_LEVEL_DEBUG },  { "DEBUG", LOG_LEVEL_DEBUG },  { "info", LOG_LEVEL_INFO },
        { "Info", LOG_LEVEL_INFO },    { "warn", LOG_LEVEL_WARN },    { "WARN", LOG_LEVEL_WARN },
        { "warning", LOG_LEVEL_WARN }, { "WarNinG", LOG_LEVEL_WARN }, { "error", LOG_LEVEL_ERROR },
        { "ERROR", LOG_LEVEL_ERROR },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum log_level out = (enum log_level)99;
        assert_int_equal(log_level_parse(cases[i].s, &out), 0);
        assert_int_equal(out, cases[i].level);
    }
}

static void test_level_parse_bad(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "inf", "debu", "debugg", "warnings", "err", "errors", " info", "info ", "fatal", "0",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum log_level out = LOG_LEVEL_ERROR;
        assert_int_equal(log_level_parse(bad[i], &out), -EINVAL);
        assert_int_equal(out, LOG_LEVEL_ERROR); /* untouched */
    }
    enum log_level out = LOG_LEVEL_WARN;
    assert_int_equal(log_level_parse(NULL, &out), -EINVAL);
    assert_int_equal(out, LOG_LEVEL_WARN);
}

static void test_format_parse(void **state)
{
    (void)state;
    enum log_format out = LOG_FORMAT_JSON;
    assert_int_equal(log_format_parse("text", &out), 0);
    assert_int_equal(out, LOG_FORMAT_TEXT);
    out = LOG_FORMAT_JSON;
    assert_int_equal(log_format_parse("logfmt", &out), 0);
    assert_int_equal(out, LOG_FORMAT_TEXT);
    assert_int_equal(log_format_parse("json", &out), 0);
    assert_int_equal(out, LOG_FORMAT_JSON);

    static const char *const bad[] = { "", "txt", "jsonl", "json ", "yaml", "logfmtx", "texts" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        out = LOG_FORMAT_JSON;
        assert_int_equal(log_format_parse(bad[i], &out), -EINVAL);
        assert_int_equal(out, LOG_FORMAT_JSON);
    }
    out = LOG_FORMAT_TEXT;
    assert_int_equal(log_format_parse(NULL, &out), -EINVAL);
    assert_int_equal(out, LOG_FORMAT_TEXT);
}

static void test_level_name(void **state)
{
    (void)state;
    assert_string_equal(log_level_name(LOG_LEVEL_DEBUG), "debug");
    assert_string_equal(log_level_name(LOG_LEVEL_INFO), "info");
    assert_string_equal(log_level_name(LOG_LEVEL_WARN), "warn");
    assert_string_equal(log_level_name(LOG_LEVEL_ERROR), "error");
    assert_non_null(log_level_name((enum log_level)42));

    /* every name parses back to its level */
    for (int l = LOG_LEVEL_DEBUG; l <= LOG_LEVEL_ERROR; l++) {
        enum log_level out;
        assert_int_equal(log_level_parse(log_level_name((enum log_level)l), &out), 0);
        assert_int_equal(out, l);
    }
}

/* ---- text format -------------------------------------------------------------- */

static void test_text_time(void **state)
{
    (void)state;
    static const struct {
        int64_t us;
        const char *s;
    } cases[] = {
        { 0, "1970-01-01T00:00:00.000Z" },
        { 999, "1970-01-01T00:00:00.000Z" },
        { 1000, "1970-01-01T00:00:00.001Z" },
        { 123456, "1970-01-01T00:00:00.123Z" },
        { 999999, "1970-01-01T00:00:00.999Z" },
        { -1, "1969-12-31T23:59:59.999Z" },
        { -1000000, "1969-12-31T23:59:59.000Z" },
        { T0, T0_STR },
        { INT64_C(951782400000000), "2000-02-29T00:00:00.000Z" },
        { INT64_C(4102444799999999), "2099-12-31T23:59:59.999Z" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[256], want[256];
        log_format_record(buf, sizeof(buf), LOG_FORMAT_TEXT, cases[i].us, LOG_LEVEL_INFO, "e",
                          FIELDS());
        snprintf(want, sizeof(want), "time=%s level=info msg=e", cases[i].s);
        assert_string_equal(buf, want);
    }
}

static void test_text_levels(void **state)
{
    (void)state;
    assert_string_equal(fmt(LOG_FORMAT_TEXT, LOG_LEVEL_DEBUG, "e", FIELDS()),
                        "time=" T0_STR " level=debug msg=e");
    assert_string_equal(fmt(LOG_FORMAT_TEXT, LOG_LEVEL_INFO, "e", FIELDS()),
                        "time=" T0_STR " level=info msg=e");
    assert_string_equal(fmt(LOG_FORMAT_TEXT, LOG_LEVEL_WARN, "e", FIELDS()),
                        "time=" T0_STR " level=warn msg=e");
    assert_string_equal(fmt(LOG_FORMAT_TEXT, LOG_LEVEL_ERROR, "e", FIELDS()),
                        "time=" T0_STR " level=error msg=e");
}

static void test_text_field_types(void **state)
{
    (void)state;
    assert_string_equal(
        fmt_text("config-loaded",
                 FIELDS(LOG_STR("path", "/etc/maglev.yaml"), LOG_INT("backends", 3),
                        LOG_INT("neg", -42), LOG_INT("imin", INT64_MIN), LOG_INT("imax", INT64_MAX),
                        LOG_UINT("u", 0), LOG_UINT("umax", UINT64_MAX), LOG_BOOL("t", true),
                        LOG_BOOL("f", false))),
        "time=" T0_STR " level=info msg=config-loaded path=/etc/maglev.yaml backends=3 neg=-42 "
        "imin=-9223372036854775808 imax=9223372036854775807 u=0 umax=18446744073709551615 "
        "t=true f=false");
}

static void test_text_doubles(void **state)
{
    (void)state;
    assert_string_equal(
        fmt_text("d",
                 FIELDS(LOG_DOUBLE("a", 1.5), LOG_DOUBLE("b", 0.1), LOG_DOUBLE("c", 0.0),
                        LOG_DOUBLE("d", -2.25), LOG_DOUBLE("e", 1234567.0), LOG_DOUBLE("f", 1e20),
                        LOG_DOUBLE("g", 1.0 / 3), LOG_DOUBLE("h", 1e-7), LOG_DOUBLE("nan", NAN),
                        LOG_DOUBLE("pinf", INFINITY), LOG_DOUBLE("ninf", -INFINITY))),
        "time=" T0_STR " level=info msg=d a=1.5 b=0.1 c=0 d=-2.25 e=1.23457e+06 f=1e+20 "
        "g=0.333333 h=1e-07 nan=NaN pinf=+Inf ninf=-Inf");
}

static void test_text_null_and_empty(void **state)
{
    (void)state;
    assert_string_equal(fmt_text("e", FIELDS(LOG_STR("null", NULL), LOG_STR("empty", ""))),
                        "time=" T0_STR " level=info msg=e null=\"\" empty=\"\"");
    /* a NULL fields pointer is no fields; a NULL event is an empty one */
    assert_string_equal(fmt_text("e", NULL), "time=" T0_STR " level=info msg=e");
    assert_string_equal(fmt_text(NULL, FIELDS()), "time=" T0_STR " level=info msg=\"\"");
}

static void test_text_quoting(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "plain", "plain" },
        { "a-b_c.d:e/f,g;h+i@j", "a-b_c.d:e/f,g;h+i@j" },
        { "a b", "\"a b\"" },
        { " ", "\" \"" },
        { "say \"hi\"", "\"say \\\"hi\\\"\"" },
        { "\"", "\"\\\"\"" },
        { "a=b", "\"a=b\"" },
        { "=", "\"=\"" },
        { "C:\\dir\\", "\"C:\\\\dir\\\\\"" },
        { "l1\nl2", "\"l1\\nl2\"" },
        { "\r\t", "\"\\r\\t\"" },
        { "\x01", "\"\\u0001\"" },
        { "x\x1b[0my", "\"x\\u001b[0my\"" },
        { "\x1f", "\"\\u001f\"" },
        { "del\x7f", "\"del\\u007f\"" },
        { "\b\f\v", "\"\\u0008\\u000c\\u000b\"" },
        { "", "\"\"" },
        /* UTF-8 passes through, quoted only for the usual reasons */
        { "h\xc3\xa9llo\xe2\x86\x92\xe2\x9c\x93", "h\xc3\xa9llo\xe2\x86\x92\xe2\x9c\x93" },
        { "\xe6\x97\xa5 \xe6\x9c\xac", "\"\xe6\x97\xa5 \xe6\x9c\xac\"" },
        /* even invalid UTF-8 is not touched */
        { "\xff\xfe\x80", "\xff\xfe\x80" },
        /* '{', '\'' and '#' look odd but need no quoting */
        { "{x}'#", "{x}'#" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char want[256];
        snprintf(want, sizeof(want), "time=" T0_STR " level=info msg=e k=%s", cases[i].out);
        assert_string_equal(fmt_text("e", FIELDS(LOG_STR("k", cases[i].in))), want);
    }
}

static void test_text_key_event_sanitised(void **state)
{
    (void)state;
    assert_string_equal(
        fmt_text("bad event", FIELDS(LOG_INT("a b", 1), LOG_INT("x=y", 2), LOG_INT("", 3),
                                     LOG_INT("q\"\n", 4), LOG_INT(NULL, 5), LOG_INT("ok", 6))),
        "time=" T0_STR " level=info msg=\"bad event\" \"a b\"=1 \"x=y\"=2 "
        "\"\"=3 \"q\\\"\\n\"=4 \"\"=5 ok=6");
    assert_string_equal(fmt_text("ev=\x01", FIELDS()),
                        "time=" T0_STR " level=info msg=\"ev=\\u0001\"");
    assert_string_equal(fmt_text("", FIELDS()), "time=" T0_STR " level=info msg=\"\"");
}

/* ---- text round trip -------------------------------------------------------- */

/* Reads one logfmt token (a key if stop is '=', else a value) at *pp into out,
 * undoing the quoting. Returns false on a malformed token. */
static bool parse_token(const char **pp, char *out, size_t cap, char stop)
{
    const char *p = *pp;
    size_t n = 0;
    if (*p != '"') {
        while (*p && *p != ' ' && *p != stop) {
            if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20 || *p == 0x7f)
                return false; /* should have been quoted */
            if (n + 1 >= cap)
                return false;
            out[n++] = *p++;
        }
        if (n == 0)
            return false; /* empty values are quoted */
        out[n] = '\0';
        *pp = p;
        return true;
    }
    for (p++; *p != '"'; p++) {
        char c = *p;
        if (c == '\0' || (unsigned char)c < 0x20 || c == 0x7f)
            return false;
        if (c == '\\') {
            switch (*++p) {
            case '"':
            case '\\':
                c = *p;
                break;
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 't':
                c = '\t';
                break;
            case 'u': {
                unsigned v;
                char hex[5] = { 0 };
                memcpy(hex, p + 1, 4);
                if (strlen(hex) != 4 || sscanf(hex, "%4x", &v) != 1 || v > 0x7f)
                    return false;
                c = (char)v;
                p += 4;
                break;
            }
            default:
                return false;
            }
        }
        if (n + 1 >= cap)
            return false;
        out[n++] = c;
    }
    out[n] = '\0';
    *pp = p + 1;
    return true;
}

#define MAX_PAIRS 32
struct pairs {
    size_t n;
    char key[MAX_PAIRS][64];
    char val[MAX_PAIRS][256];
};

/* Splits a logfmt line on unquoted spaces into unescaped key/value pairs. */
static bool parse_logfmt(const char *line, struct pairs *out)
{
    const char *p = line;
    out->n = 0;
    while (*p) {
        if (out->n == MAX_PAIRS)
            return false;
        if (!parse_token(&p, out->key[out->n], sizeof(out->key[0]), '='))
            return false;
        if (*p++ != '=')
            return false;
        if (!parse_token(&p, out->val[out->n], sizeof(out->val[0]), ' '))
            return false;
        out->n++;
        if (*p == ' ')
            p++;
        else if (*p != '\0')
            return false;
    }
    return true;
}

static void test_text_round_trip(void **state)
{
    (void)state;
    static const char *const values[] = {
        "plain",
        "",
        " ",
        "  two  spaces  ",
        "a=b",
        "==",
        "\"",
        "\"quoted\"",
        "\\",
        "trailing\\",
        "\\\"",
        "\\u0041", /* literally backslash, u, 0, 0, 4, 1 */
        "\\n",     /* literally backslash, n */
        "line1\nline2\r\n",
        "\ttab",
        "\x01\x02\x1b\x1f\x7f",
        "key=\"v a l\" other=x",
        "h\xc3\xa9llo w\xc3\xb6rld \xe2\x86\x92",
        "/path/to/file.yaml",
        "10.0.0.1:80",
        "{\"json\": [1, 2]}",
    };
    enum { NV = sizeof(values) / sizeof(values[0]) };
    struct log_kv fields[NV + 1];
    char keys[NV][16];
    for (size_t i = 0; i < NV; i++) {
        snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
        fields[i] = LOG_STR(keys[i], values[i]);
    }
    fields[NV] = LOG_END_KV;

    const char *event = "tricky event=\"x\"";
    const char *line = fmt(LOG_FORMAT_TEXT, LOG_LEVEL_WARN, event, fields);
    assert_null(strchr(line, '\n'));

    static struct pairs p;
    assert_true(parse_logfmt(line, &p));
    assert_int_equal(p.n, 3 + NV);
    assert_string_equal(p.key[0], "time");
    assert_string_equal(p.val[0], T0_STR);
    assert_string_equal(p.key[1], "level");
    assert_string_equal(p.val[1], "warn");
    assert_string_equal(p.key[2], "msg");
    assert_string_equal(p.val[2], event);
    for (size_t i = 0; i < NV; i++) {
        assert_string_equal(p.key[3 + i], keys[i]);
        assert_string_equal(p.val[3 + i], values[i]);
    }

    /* the parser itself rejects what the formatter must never produce */
    assert_false(parse_logfmt("a=b c", &p));
    assert_false(parse_logfmt("a=", &p));
    assert_false(parse_logfmt("a=\"x", &p));
    assert_false(parse_logfmt("a=x\"y", &p));
}

/* ---- JSON format -------------------------------------------------------------- */

static void test_json_records(void **state)
{
    (void)state;
    assert_string_equal(fmt_json("started", FIELDS()),
                        "{\"time\":\"" T0_STR "\",\"level\":\"info\",\"msg\":\"started\"}");
    assert_string_equal(
        fmt(LOG_FORMAT_JSON, LOG_LEVEL_WARN, "backend-down",
            FIELDS(LOG_STR("name", "be1"), LOG_INT("weight", -3), LOG_UINT("flows", UINT64_MAX),
                   LOG_BOOL("up", false), LOG_BOOL("drained", true), LOG_DOUBLE("ratio", 0.25),
                   LOG_DOUBLE("big", 1e20))),
        "{\"time\":\"" T0_STR "\",\"level\":\"warn\",\"msg\":\"backend-down\","
        "\"name\":\"be1\",\"weight\":-3,\"flows\":18446744073709551615,"
        "\"up\":false,\"drained\":true,\"ratio\":0.25,\"big\":1e+20}");
    assert_string_equal(
        fmt(LOG_FORMAT_JSON, LOG_LEVEL_DEBUG, "nums",
            FIELDS(LOG_INT("imin", INT64_MIN), LOG_DOUBLE("nan", NAN), LOG_DOUBLE("pinf", INFINITY),
                   LOG_DOUBLE("ninf", -INFINITY), LOG_STR("null", NULL), LOG_STR("empty", ""))),
        "{\"time\":\"" T0_STR "\",\"level\":\"debug\",\"msg\":\"nums\","
        "\"imin\":-9223372036854775808,\"nan\":\"NaN\",\"pinf\":\"+Inf\","
        "\"ninf\":\"-Inf\",\"null\":\"\",\"empty\":\"\"}");
    assert_string_equal(fmt(LOG_FORMAT_JSON, LOG_LEVEL_ERROR, NULL, NULL),
                        "{\"time\":\"" T0_STR "\",\"level\":\"error\",\"msg\":\"\"}");
}

static void test_json_escaping(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "plain", "plain" },
        { "a b=c", "a b=c" },
        { "a/b", "a/b" },
        { "", "" },
        { "a\"b\\c", "a\\\"b\\\\c" },
        { "\n\r\t\b\f", "\\n\\r\\t\\b\\f" },
        { "\x01\x1f\x7f", "\\u0001\\u001f\\u007f" },
        { "\x1b[0m\v", "\\u001b[0m\\u000b" },
        { "h\xc3\xa9llo \xe2\x86\x92", "h\xc3\xa9llo \xe2\x86\x92" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char want[256];
        snprintf(want, sizeof(want),
                 "{\"time\":\"" T0_STR "\",\"level\":\"info\",\"msg\":\"%s\",\"%s\":\"%s\"}",
                 cases[i].out, cases[i].out, cases[i].out);
        /* the same escaping applies to the event, keys and values */
        assert_string_equal(fmt_json(cases[i].in, FIELDS(LOG_STR(cases[i].in, cases[i].in))), want);
    }
}

/* ---- snprintf semantics -------------------------------------------------------- */

static void check_truncation(enum log_format format)
{
    const struct log_kv *fields =
        FIELDS(LOG_STR("path", "/a b/\"c\"\n"), LOG_INT("n", -12345), LOG_BOOL("ok", true),
               LOG_DOUBLE("d", NAN), LOG_STR("u", "\xc3\xa9\x01"));
    char full[1024];
    size_t n = log_format_record(full, sizeof(full), format, T0, LOG_LEVEL_WARN, "ev", fields);
    assert_int_equal(n, strlen(full));
    assert_true(n > 50);

    assert_int_equal(log_format_record(NULL, 0, format, T0, LOG_LEVEL_WARN, "ev", fields), n);

    for (size_t len = 0; len <= n + 2; len++) {
        /* guarded stack buffer: the bytes after len must survive */
        char buf[1024 + 16];
        memset(buf, 0x5a, sizeof(buf));
        assert_int_equal(log_format_record(buf, len, format, T0, LOG_LEVEL_WARN, "ev", fields), n);
        if (len > 0) {
            size_t kept = len - 1 < n ? len - 1 : n;
            assert_memory_equal(buf, full, kept);
            assert_int_equal(buf[kept], '\0');
        }
        for (size_t i = len; i < sizeof(buf); i++)
            assert_int_equal((unsigned char)buf[i], 0x5a);

        /* exact-size heap buffer, for the sanitizers */
        char *heap = malloc(len ? len : 1);
        assert_non_null(heap);
        assert_int_equal(
            log_format_record(len ? heap : NULL, len, format, T0, LOG_LEVEL_WARN, "ev", fields), n);
        if (len > 0)
            assert_int_equal(strlen(heap), len - 1 < n ? len - 1 : n);
        free(heap);
    }
}

static void test_truncation_text(void **state)
{
    (void)state;
    check_truncation(LOG_FORMAT_TEXT);
}

static void test_truncation_json(void **state)
{
    (void)state;
    check_truncation(LOG_FORMAT_JSON);
}

/* ---- log_write ---------------------------------------------------------------- */

/* Must run before anything calls log_setup(). */
static void test_defaults(void **state)
{
    (void)state;
    assert_false(log_enabled(LOG_LEVEL_DEBUG));
    assert_true(log_enabled(LOG_LEVEL_INFO));
    assert_true(log_enabled(LOG_LEVEL_ERROR));

    /* the default output is fd 2, as text */
    int fds[2];
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    assert_int_equal(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_int_equal(dup2(fds[1], 2), 2);
    log_debug("dropped");
    log_info("to-stderr", LOG_INT("n", 1));
    assert_int_equal(dup2(saved, 2), 2);
    close(saved);

    const char *out = read_pipe(fds[0]);
    close(fds[0]);
    close(fds[1]);
    assert_int_equal(count_char(out, '\n'), 1);
    assert_string_equal(skip_text_time(out), "level=info msg=to-stderr n=1\n");
}

static void test_write_one_line(void **state)
{
    (void)state;
    wr_fd = pipe_wr;
    log_write(LOG_LEVEL_INFO, "hello", FIELDS(LOG_STR("who", "the world"), LOG_INT("n", 7)));
    assert_int_equal(wr_calls, 1); /* one write(2) per record */

    const char *out = read_pipe(pipe_rd);
    size_t len = strlen(out);
    assert_true(len > 0);
    assert_int_equal(out[len - 1], '\n');
    assert_int_equal(count_char(out, '\n'), 1);
    assert_string_equal(skip_text_time(out), "level=info msg=hello who=\"the world\" n=7\n");

    /* nothing more in the pipe */
    assert_string_equal(read_pipe(pipe_rd), "");
}

static void test_write_level_filter(void **state)
{
    (void)state;
    log_write(LOG_LEVEL_DEBUG, "dropped", FIELDS());
    assert_string_equal(read_pipe(pipe_rd), "");

    log_write(LOG_LEVEL_DEBUG, "dropped", FIELDS());
    log_write(LOG_LEVEL_INFO, "kept-info", FIELDS());
    log_write(LOG_LEVEL_WARN, "kept-warn", FIELDS());
    log_write(LOG_LEVEL_ERROR, "kept-error", FIELDS());
    const char *out = read_pipe(pipe_rd);
    assert_int_equal(count_char(out, '\n'), 3);
    assert_null(strstr(out, "dropped"));
    const char *p = skip_text_time(out);
    assert_memory_equal(p, "level=info msg=kept-info\n", 25);
    p = skip_text_time(strchr(p, '\n') + 1);
    assert_memory_equal(p, "level=warn msg=kept-warn\n", 25);
    p = skip_text_time(strchr(p, '\n') + 1);
    assert_string_equal(p, "level=error msg=kept-error\n");

    /* at error, warn is dropped too; at debug, debug is kept */
    log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT, pipe_wr);
    log_write(LOG_LEVEL_WARN, "dropped", FIELDS());
    assert_string_equal(read_pipe(pipe_rd), "");
    log_setup(LOG_LEVEL_DEBUG, LOG_FORMAT_TEXT, pipe_wr);
    log_write(LOG_LEVEL_DEBUG, "kept-debug", FIELDS());
    assert_string_equal(skip_text_time(read_pipe(pipe_rd)), "level=debug msg=kept-debug\n");
}

static void test_write_json(void **state)
{
    (void)state;
    log_setup(LOG_LEVEL_INFO, LOG_FORMAT_JSON, pipe_wr);
    log_write(LOG_LEVEL_WARN, "j", FIELDS(LOG_STR("s", "a\"b"), LOG_UINT("u", 5)));
    const char *out = read_pipe(pipe_rd);
    assert_int_equal(count_char(out, '\n'), 1);
    static const char pre[] = "{\"time\":\"";
    assert_memory_equal(out, pre, sizeof(pre) - 1);
    const char *p = out + sizeof(pre) - 1 + strlen(T0_STR);
    assert_int_equal(p[-1], 'Z');
    assert_string_equal(p, "\",\"level\":\"warn\",\"msg\":\"j\",\"s\":\"a\\\"b\",\"u\":5}\n");
}

static void test_write_long_record(void **state)
{
    (void)state;
    /* longer than the stack buffer: goes through the heap, still one write */
    FILE *f = tmpfile();
    assert_non_null(f);
    int fd = fileno(f);
    log_setup(LOG_LEVEL_INFO, LOG_FORMAT_TEXT, fd);
    wr_fd = fd;

    size_t vlen = 20000;
    char *v = malloc(vlen + 1);
    assert_non_null(v);
    for (size_t i = 0; i < vlen; i++)
        v[i] = (char)('a' + i % 26);
    v[vlen] = '\0';
    log_info("long", LOG_STR("v", v), LOG_STR("last", "end"));
    assert_int_equal(wr_calls, 1);

    off_t size = lseek(fd, 0, SEEK_END);
    assert_true(size > (off_t)vlen);
    char *buf = calloc(1, (size_t)size + 1);
    assert_non_null(buf);
    assert_int_equal(pread(fd, buf, (size_t)size, 0), size);
    assert_int_equal(count_char(buf, '\n'), 1);
    assert_int_equal(buf[size - 1], '\n');
    const char *p = skip_text_time(buf);
    assert_memory_equal(p, "level=info msg=long v=", 22);
    assert_memory_equal(p + 22, v, vlen);
    assert_string_equal(p + 22 + vlen, " last=end\n");

    free(buf);
    free(v);
    log_setup(LOG_LEVEL_INFO, LOG_FORMAT_TEXT, pipe_wr);
    fclose(f);
}

static void test_write_retries(void **state)
{
    (void)state;
    /* EINTR twice, then at most 5 bytes per write(): the line still arrives
     * whole */
    wr_fd = pipe_wr;
    wr_eintr = 2;
    wr_max = 5;
    log_info("retry", LOG_STR("k", "some value"));
    const char *out = read_pipe(pipe_rd);
    assert_true(wr_calls > 10);
    assert_string_equal(skip_text_time(out), "level=info msg=retry k=\"some value\"\n");
}

static void test_write_preserves_errno(void **state)
{
    (void)state;
    wr_fd = pipe_wr;
    wr_eintr = 1; /* log_write sees an EINTR */
    errno = ENOENT;
    log_info("e");
    assert_int_equal(errno, ENOENT);

    /* a closed fd must not crash or change errno either */
    log_setup(LOG_LEVEL_INFO, LOG_FORMAT_TEXT, -1);
    errno = EACCES;
    log_info("e");
    assert_int_equal(errno, EACCES);
}

static void test_macros(void **state)
{
    (void)state;
    log_info("no-fields");
    log_warn("several", LOG_STR("a", "x"), LOG_INT("b", -1), LOG_UINT("c", 2), LOG_BOOL("d", true),
             LOG_DOUBLE("e", 2.5));
    log_debug("dropped", LOG_INT("x", 1));
    log_debug("dropped-too");
    log_error("err", LOG_STR("why", "it broke"));

    const char *out = read_pipe(pipe_rd);
    assert_int_equal(count_char(out, '\n'), 3);
    assert_null(strstr(out, "dropped"));
    const char *p = skip_text_time(out);
    static const char l1[] = "level=info msg=no-fields\n";
    static const char l2[] = "level=warn msg=several a=x b=-1 c=2 d=true e=2.5\n";
    assert_memory_equal(p, l1, sizeof(l1) - 1);
    p = skip_text_time(p + sizeof(l1) - 1);
    assert_memory_equal(p, l2, sizeof(l2) - 1);
    p = skip_text_time(p + sizeof(l2) - 1);
    assert_string_equal(p, "level=error msg=err why=\"it broke\"\n");

    /* the macros do not evaluate their fields when the level is off */
    int evaluated = 0;
    log_debug("lazy", LOG_INT("n", ++evaluated));
    assert_int_equal(evaluated, 0);
    log_info("eager", LOG_INT("n", ++evaluated));
    assert_int_equal(evaluated, 1);
    assert_int_equal(count_char(read_pipe(pipe_rd), '\n'), 1);
}

/* ---- enabled and hook -------------------------------------------------------- */

static void test_enabled(void **state)
{
    (void)state;
    assert_false(log_enabled(LOG_LEVEL_DEBUG));
    assert_true(log_enabled(LOG_LEVEL_INFO));
    assert_true(log_enabled(LOG_LEVEL_WARN));
    assert_true(log_enabled(LOG_LEVEL_ERROR));

    log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT, pipe_wr);
    assert_false(log_enabled(LOG_LEVEL_INFO));
    assert_false(log_enabled(LOG_LEVEL_WARN));
    assert_true(log_enabled(LOG_LEVEL_ERROR));

    log_setup(LOG_LEVEL_DEBUG, LOG_FORMAT_JSON, pipe_wr);
    assert_true(log_enabled(LOG_LEVEL_DEBUG));
}

#define HOOK_MAX 8
struct hook_log {
    int calls;
    void *ctx;
    struct {
        int64_t time_us;
        enum log_level level;
        char event[64];
        char line[512];
        char fields[512]; /* "k=v;" for each string/int field */
        size_t nfields;
    } rec[HOOK_MAX];
};

static void hook_fn(const struct log_record *rec, void *ctx)
{
    struct hook_log *h = ctx;
    if (h->calls >= HOOK_MAX) {
        h->calls++;
        return;
    }
    h->ctx = ctx;
    __typeof__(h->rec[0]) *r = &h->rec[h->calls++];
    r->time_us = rec->time_us;
    r->level = rec->level;
    snprintf(r->event, sizeof(r->event), "%s", rec->event);
    snprintf(r->line, sizeof(r->line), "%s", rec->line);
    size_t off = 0;
    r->nfields = 0;
    r->fields[0] = '\0';
    for (const struct log_kv *kv = rec->fields; kv->type != LOG_KV_END; kv++) {
        r->nfields++;
        int n;
        if (kv->type == LOG_KV_STR)
            n = snprintf(r->fields + off, sizeof(r->fields) - off, "%s=%s;", kv->key, kv->v.s);
        else if (kv->type == LOG_KV_INT)
            n = snprintf(r->fields + off, sizeof(r->fields) - off, "%s=%lld;", kv->key,
                         (long long)kv->v.i);
        else
            n = snprintf(r->fields + off, sizeof(r->fields) - off, "%s=?;", kv->key);
        assert_true(n > 0 && (size_t)n < sizeof(r->fields) - off);
        off += (size_t)n;
    }
}

static void test_hook(void **state)
{
    (void)state;
    static struct hook_log h;
    memset(&h, 0, sizeof(h));
    log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT, pipe_wr);
    assert_false(log_enabled(LOG_LEVEL_DEBUG));
    log_set_hook(hook_fn, &h, LOG_LEVEL_DEBUG);
    assert_true(log_enabled(LOG_LEVEL_DEBUG));

    int64_t before = (int64_t)time(NULL);
    log_debug("below-output", LOG_STR("s", "v w"), LOG_INT("i", -5));
    log_info("no-fields");
    log_error("both", LOG_INT("i", 1));
    int64_t after = (int64_t)time(NULL);

    assert_int_equal(h.calls, 3);
    assert_ptr_equal(h.ctx, &h);
    assert_int_equal(h.rec[0].level, LOG_LEVEL_DEBUG);
    assert_string_equal(h.rec[0].event, "below-output");
    assert_int_equal(h.rec[0].nfields, 2);
    assert_string_equal(h.rec[0].fields, "s=v w;i=-5;");
    assert_int_equal(h.rec[1].level, LOG_LEVEL_INFO);
    assert_string_equal(h.rec[1].event, "no-fields");
    assert_int_equal(h.rec[1].nfields, 0);
    assert_int_equal(h.rec[2].level, LOG_LEVEL_ERROR);
    assert_string_equal(h.rec[2].fields, "i=1;");

    /* the record's time is now, and its line is the record in the output
     * format, without a newline */
    assert_in_range(h.rec[0].time_us / 1000000, before, after + 1);
    char want[512];
    log_format_record(want, sizeof(want), LOG_FORMAT_TEXT, h.rec[0].time_us, LOG_LEVEL_DEBUG,
                      "below-output", FIELDS(LOG_STR("s", "v w"), LOG_INT("i", -5)));
    assert_string_equal(h.rec[0].line, want);
    assert_string_equal(skip_text_time(h.rec[1].line), "level=info msg=no-fields");

    /* only the error record reached the fd, and it is the hook's line */
    const char *out = read_pipe(pipe_rd);
    assert_int_equal(count_char(out, '\n'), 1);
    assert_int_equal(strlen(out), strlen(h.rec[2].line) + 1);
    assert_memory_equal(out, h.rec[2].line, strlen(h.rec[2].line));

    /* the hook's line follows the output format */
    log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_JSON, pipe_wr);
    log_info("json");
    assert_int_equal(h.calls, 4);
    assert_int_equal(h.rec[3].line[0], '{');
    assert_string_equal(read_pipe(pipe_rd), "");

    /* removing the hook */
    log_set_hook(NULL, NULL, LOG_LEVEL_DEBUG);
    assert_false(log_enabled(LOG_LEVEL_DEBUG));
    log_debug("gone");
    log_write(LOG_LEVEL_INFO, "gone", FIELDS());
    assert_int_equal(h.calls, 4);
}

static void test_hook_min_level(void **state)
{
    (void)state;
    static struct hook_log h;
    memset(&h, 0, sizeof(h));
    log_setup(LOG_LEVEL_DEBUG, LOG_FORMAT_TEXT, pipe_wr);
    log_set_hook(hook_fn, &h, LOG_LEVEL_WARN);

    log_write(LOG_LEVEL_DEBUG, "d", FIELDS());
    log_write(LOG_LEVEL_INFO, "i", FIELDS());
    log_write(LOG_LEVEL_WARN, "w", FIELDS());
    log_write(LOG_LEVEL_ERROR, "e", FIELDS());
    assert_int_equal(h.calls, 2);
    assert_string_equal(h.rec[0].event, "w");
    assert_string_equal(h.rec[1].event, "e");
    /* the fd got all four */
    assert_int_equal(count_char(read_pipe(pipe_rd), '\n'), 4);

    /* with output at error and hook at warn, info is off */
    log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT, pipe_wr);
    assert_false(log_enabled(LOG_LEVEL_INFO));
    assert_true(log_enabled(LOG_LEVEL_WARN));
}

static int reentrant_calls;

/* A hook that logs and removes itself must not deadlock. */
static void reentrant_hook(const struct log_record *rec, void *ctx)
{
    (void)ctx;
    reentrant_calls++;
    log_error("from-hook", LOG_STR("orig", rec->event));
    if (reentrant_calls == 2)
        log_set_hook(NULL, NULL, LOG_LEVEL_DEBUG);
}

static void test_hook_reentrant(void **state)
{
    (void)state;
    log_set_hook(reentrant_hook, NULL, LOG_LEVEL_INFO);
    log_info("one");
    log_info("two");
    log_info("three");
    /* the hook is not called for its own records */
    assert_int_equal(reentrant_calls, 2);
    const char *out = read_pipe(pipe_rd);
    assert_int_equal(count_char(out, '\n'), 5);
    assert_non_null(strstr(out, "msg=from-hook orig=one\n"));
    assert_non_null(strstr(out, "msg=from-hook orig=two\n"));
    assert_null(strstr(out, "orig=three"));
}

/* ---- threads ---------------------------------------------------------------- */

#define THREADS    4
#define PER_THREAD 300

struct reader {
    int fd;
    char *buf;
    size_t len, cap;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    for (;;) {
        if (r->len + 4096 > r->cap) {
            r->cap = r->cap * 2 + 4096;
            r->buf = realloc(r->buf, r->cap + 1);
            if (!r->buf)
                abort();
        }
        ssize_t n = read(r->fd, r->buf + r->len, r->cap - r->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        r->len += (size_t)n;
    }
    r->buf[r->len] = '\0';
    return NULL;
}

static void *writer_main(void *arg)
{
    int t = (int)(intptr_t)arg;
    for (int i = 0; i < PER_THREAD; i++)
        log_info("thread", LOG_INT("t", t), LOG_INT("i", i),
                 LOG_STR("pad", "some padding to make the line longer, \"quoted\" = yes"));
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    log_setup(LOG_LEVEL_INFO, LOG_FORMAT_TEXT, fds[1]);

    struct reader r = { .fd = fds[0] };
    pthread_t rt, wt[THREADS];
    assert_int_equal(pthread_create(&rt, NULL, reader_main, &r), 0);
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&wt[t], NULL, writer_main, (void *)(intptr_t)t), 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(wt[t], NULL);
    log_setup(LOG_LEVEL_INFO, LOG_FORMAT_TEXT, pipe_wr);
    close(fds[1]);
    pthread_join(rt, NULL);
    close(fds[0]);

    /* every line is whole, and every thread's records arrive in order */
    int next[THREADS] = { 0 };
    size_t lines = 0;
    for (char *line = r.buf, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = '\0';
        int t, i;
        const char *p = skip_text_time(line);
        assert_int_equal(sscanf(p, "level=info msg=thread t=%d i=%d", &t, &i), 2);
        assert_in_range(t, 0, THREADS - 1);
        assert_int_equal(i, next[t]);
        next[t]++;
        assert_non_null(strstr(p, " pad=\"some padding to make the line longer, \\\"quoted\\\" "
                                  "= yes\""));
        lines++;
    }
    assert_int_equal(lines, THREADS * PER_THREAD);
    free(r.buf);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults), /* first: before any log_setup() */
        T(test_level_parse_good),
        T(test_level_parse_bad),
        T(test_format_parse),
        T(test_level_name),
        T(test_text_time),
        T(test_text_levels),
        T(test_text_field_types),
        T(test_text_doubles),
        T(test_text_null_and_empty),
        T(test_text_quoting),
        T(test_text_key_event_sanitised),
        T(test_text_round_trip),
        T(test_json_records),
        T(test_json_escaping),
        T(test_truncation_text),
        T(test_truncation_json),
        T(test_write_one_line),
        T(test_write_level_filter),
        T(test_write_json),
        T(test_write_long_record),
        T(test_write_retries),
        T(test_write_preserves_errno),
        T(test_macros),
        T(test_enabled),
        T(test_hook),
        T(test_hook_min_level),
        T(test_hook_reentrant),
        T(test_threads),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
