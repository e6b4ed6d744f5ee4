/* Unit tests for src/cli/cmdtree.c and the maglevc command table. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmdtree.h"

static const struct cmd_node *const root = &cli_commands;

/* ---- a fake name provider: what the server would list ---- */

struct fake {
    int calls;
    enum cmd_slot_kind kind;
    char frontend[32], pool[32]; /* so_far as seen by the last call */
    bool fail;
};

static void add_all(struct strlist *out, const char *const *v)
{
    for (; *v; v++)
        cmd_strlist_add(out, *v);
}

static int fake_names(void *ctx, enum cmd_slot_kind kind, const struct cmd_parsed *so_far,
                      struct strlist *out)
{
    struct fake *f = ctx;
    const char *fe = so_far->arg[ARG_FRONTEND].str, *pool = so_far->arg[ARG_POOL].str;
    f->calls++;
    f->kind = kind;
    snprintf(f->frontend, sizeof(f->frontend), "%s", fe ? fe : "");
    snprintf(f->pool, sizeof(f->pool), "%s", pool ? pool : "");
    if (f->fail)
        return -1;
    switch (kind) {
    case CMD_SLOT_FRONTEND:
        add_all(out, (const char *const[]){ "web", "api", "web-v6", NULL });
        break;
    case CMD_SLOT_POOL:
        if (fe && strcmp(fe, "web") == 0)
            add_all(out, (const char *const[]){ "primary", "fallback", NULL });
        else if (fe && strcmp(fe, "api") == 0)
            add_all(out, (const char *const[]){ "main", NULL });
        break;
    case CMD_SLOT_BACKEND:
        if (pool && strcmp(pool, "primary") == 0)
            add_all(out, (const char *const[]){ "be2", "be1", NULL });
        else if (!pool) /* unsorted, with a duplicate and an empty name */
            add_all(out, (const char *const[]){ "db1", "be3", "be1", "be2", "be1", "", NULL });
        break;
    case CMD_SLOT_HEALTHCHECK:
        add_all(out, (const char *const[]){ "icmp", "http", NULL });
        break;
    default:
        break;
    }
    return 0;
}

/* ---- helpers ---- */

static char err[512];
static struct cmd_parsed parsed;
static struct strlist words;

/* Parses line; keeps its words until the next call. */
static int parse(const char *line)
{
    cmd_strlist_free(&words);
    return cmd_parse_line(root, line, &words, &parsed, err, sizeof(err));
}

static void parse_err(const char *line, const char *msg)
{
    int rc = parse(line);
    if (rc != -1 || strcmp(err, msg) != 0)
        fail_msg("%s: rc %d, err '%s', want '%s'", line, rc, err, msg);
}

static const char *arg(int i)
{
    return parsed.arg[i].str;
}

/* Completion candidates joined by spaces, "=msg" appended when given. */
static char *complete_at(const char *line, size_t cursor, struct fake *f, int *rc, size_t *start)
{
    static char buf[1024];
    struct cmd_completion c;
    *rc = cmd_complete(root, line, cursor, f ? fake_names : NULL, f, &c);
    buf[0] = '\0';
    for (size_t i = 0; i < c.words.n; i++)
        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", i ? " " : "", c.words.v[i]);
    if (c.msg[0])
        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "=%s", c.msg);
    if (start)
        *start = c.start;
    cmd_strlist_free(&c.words);
    return buf;
}

static void comp(const char *line, struct fake *f, int want_rc, const char *want)
{
    int rc;
    const char *got = complete_at(line, strlen(line), f, &rc, NULL);
    if (rc != want_rc || strcmp(got, want) != 0)
        fail_msg("complete '%s': rc %d '%s', want %d '%s'", line, rc, got, want_rc, want);
}

static void help(const char *line, struct fake *f, int want_rc, const char *want)
{
    struct strbuf sb = STRBUF_INIT;
    int rc = cmd_help(root, line, f ? fake_names : NULL, f, &sb);
    if (rc != want_rc || strcmp(strbuf_str(&sb), want) != 0)
        fail_msg("help '%s': rc %d\n%s---want %d\n%s", line, rc, strbuf_str(&sb), want_rc, want);
    strbuf_free(&sb);
}

static int teardown(void **state)
{
    (void)state;
    cmd_strlist_free(&words);
    return 0;
}

/* ---- the tree ---- */

static void test_tree_check(void **state)
{
    (void)state;
    assert_int_equal(cmd_tree_check(root, err, sizeof(err)), 0);
    assert_string_equal(err, "");

    static const struct cmd_node dup[] = {
        { .kind = CMD_KEYWORD, .word = "a", .help = "", .action = 1 },
        { .kind = CMD_KEYWORD, .word = "A", .help = "", .action = 1 },
        { 0 },
    };
    static const struct cmd_node leaf[] = { { .kind = CMD_KEYWORD, .word = "a", .help = "" },
                                            { 0 } };
    static const struct cmd_node slots[] = {
        { .kind = CMD_SLOT, .slot = CMD_SLOT_BACKEND, .word = "B", .help = "", .action = 1 },
        { .kind = CMD_SLOT, .slot = CMD_SLOT_POOL, .word = "P", .help = "", .action = 1 },
        { 0 },
    };
    static const struct cmd_node range[] = {
        { .kind = CMD_SLOT, .slot = CMD_SLOT_NUMBER, .word = "N", .help = "", .min = 5, .max = 1 },
        { 0 },
    };
    static const struct cmd_node opts[] = {
        { .kind = CMD_KEYWORD, .word = "x", .help = "", .action = 1 },
        { 0 },
    };
    /* an option's child clashing with another option */
    static const struct cmd_node clash_opts[] = {
        { .kind = CMD_KEYWORD, .word = "x", .help = "", .action = 1, .children = opts },
        { .kind = CMD_KEYWORD, .word = "y", .help = "", .action = 1, .children = opts },
        { 0 },
    };
    static const struct cmd_node nested[] = {
        { .kind = CMD_KEYWORD, .word = "y", .help = "", .flags = CMD_F_OPTIONS, .children = opts },
        { 0 },
    };
    static const struct cmd_node cases[][2] = {
        { { .kind = CMD_KEYWORD, .word = "r", .help = "", .children = dup }, { 0 } },
        { { .kind = CMD_KEYWORD, .word = "r", .help = "", .children = leaf }, { 0 } },
        { { .kind = CMD_KEYWORD, .word = "r", .help = "", .children = slots }, { 0 } },
        { { .kind = CMD_KEYWORD, .word = "r", .help = "", .children = range }, { 0 } },
        { { .kind = CMD_KEYWORD,
            .word = "r",
            .help = "",
            .flags = CMD_F_OPTIONS,
            .children = clash_opts },
          { 0 } },
        { { .kind = CMD_KEYWORD,
            .word = "r",
            .help = "",
            .flags = CMD_F_OPTIONS,
            .children = nested },
          { 0 } },
        { { .kind = CMD_KEYWORD, .word = "Bad", .help = "", .action = 1 }, { 0 } },
        { { .kind = CMD_KEYWORD, .word = "r", .action = 1 }, { 0 } }, /* no help */
    };
    const char *want[] = {
        "keyword \"A\" twice at one position",
        "\"a\": a leaf without an action",
        "two slots at one position",
        "\"N\": bad token",
        "keyword \"x\" twice at one position",
        "\"y\": option node inside another",
        "\"Bad\": bad token",
        "\"r\": no help, or bad arg or action",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cmd_node r = { .kind = CMD_KEYWORD, .children = cases[i] };
        assert_int_equal(cmd_tree_check(&r, err, sizeof(err)), -1);
        assert_string_equal(err, want[i]);
    }
}

/* ---- parsing ---- */

static void test_prefixes(void **state)
{
    (void)state;
    assert_int_equal(parse("sh backends"), CMD_SHOW_BACKENDS);
    assert_int_equal(parse("sh fr web"), CMD_SHOW_FRONTEND); /* see test_exact_wins */
    assert_int_equal(parse("sh v"), CMD_SHOW_VERSION);
    assert_int_equal(parse("sh healthchecks"), CMD_SHOW_HEALTHCHECKS);
    assert_int_equal(parse("conf rel"), CMD_CONFIG_RELOAD);
    assert_int_equal(parse("c ch"), CMD_CONFIG_CHECK);
    assert_int_equal(parse("w e"), CMD_WATCH_EVENTS);
    assert_int_equal(parse("q"), CMD_QUIT);
    assert_int_equal(parse("e"), CMD_QUIT);
    assert_int_equal(parse("h"), CMD_HELP);
    assert_int_equal(parse("se ba b1 dis"), CMD_SET_BACKEND_DISABLE);
    assert_string_equal(arg(ARG_BACKEND), "b1");
    assert_int_equal(parse("SE BA x P"), CMD_SET_BACKEND_PAUSE); /* keywords ignore case */
    assert_string_equal(arg(ARG_BACKEND), "x");
    assert_int_equal(parse(""), 0);
    assert_string_equal(err, "");
    assert_int_equal(parse(" \t "), 0);
}

static void test_exact_wins(void **state)
{
    (void)state;
    assert_int_equal(parse("show frontends"), CMD_SHOW_FRONTENDS);
    assert_int_equal(parse("show frontend web"), CMD_SHOW_FRONTEND);
    assert_string_equal(arg(ARG_FRONTEND), "web");
    assert_int_equal(parse("show backend be1"), CMD_SHOW_BACKEND);
    assert_int_equal(parse("show backends"), CMD_SHOW_BACKENDS);
    assert_int_equal(parse("show healthcheck http"), CMD_SHOW_HEALTHCHECK);
    parse_err("show backend", "incomplete command; expected: NAME");
    /* a prefix of several keywords is resolved by what follows it */
    assert_int_equal(parse("show front"), CMD_SHOW_FRONTENDS);
    assert_int_equal(parse("show front web"), CMD_SHOW_FRONTEND);
    assert_string_equal(arg(ARG_FRONTEND), "web");
    assert_int_equal(parse("sh ba"), CMD_SHOW_BACKENDS);
    assert_int_equal(parse("sh backe"), CMD_SHOW_BACKENDS);
    assert_int_equal(parse("sh ba web1"), CMD_SHOW_BACKEND);
    assert_string_equal(arg(ARG_BACKEND), "web1");
    assert_int_equal(parse("s ba b1 p"), CMD_SET_BACKEND_PAUSE); /* only "set" fits */
    assert_string_equal(arg(ARG_BACKEND), "b1");
    parse_err("show frontends web", "unexpected word \"web\"; expected end of command");
}

static void test_errors(void **state)
{
    (void)state;
    parse_err("s", "ambiguous \"s\": show, set, sync");
    assert_int_equal(parse("show h"), CMD_SHOW_HEALTHCHECKS);
    assert_int_equal(parse("s b"), CMD_SHOW_BACKENDS);    /* only "show backends" completes */
    parse_err("s x", "ambiguous \"s\": show, set, sync"); /* neither makes a command */
    parse_err("shw", "unknown word \"shw\"; expected one of: show, set, sync, plan, config, "
                     "watch, help, quit, exit");
    parse_err("show x", "unknown word \"x\"; expected one of: version, frontend, frontends, "
                        "backend, backends, healthcheck, healthchecks, vpp, mass-failure, fleet");
    parse_err("set backend b1 explode",
              "unknown word \"explode\"; expected one of: pause, resume, enable, disable, damping");
    parse_err("watch x", "unknown word \"x\"; expected: events");
    parse_err("quit now", "unexpected word \"now\"; expected end of command");
    parse_err("show", "incomplete command; expected one of: version, frontend, frontends, "
                      "backend, backends, healthcheck, healthchecks, vpp, mass-failure, fleet");
    parse_err("set backend b1", "incomplete command; expected one of: pause, resume, enable, "
                                "disable, damping");
    parse_err("set frontend web pool", "incomplete command; expected: POOL");
    parse_err("show backend \"\"", "NAME cannot be empty");
    parse_err("\"\"", "unknown word \"\"; expected one of: show, set, sync, plan, config, "
                      "watch, help, quit, exit");
    parse_err("show \"a\tb\\\"", "unknown word \"a\\x09b\\\\\"; expected one of: version, "
                                 "frontend, frontends, backend, backends, healthcheck, "
                                 "healthchecks, vpp, mass-failure, fleet");
    parse_err("show \"ab", "unbalanced quote at column 6");
    parse_err("show a\"b c", "unbalanced quote at column 7");
}

struct want {
    const char *line;
    int action;
    const char *fe, *be, *pool, *hc;
};

static void test_every_command(void **state)
{
    (void)state;
    static const struct want w[] = {
        { "show version", CMD_SHOW_VERSION, NULL, NULL, NULL, NULL },
        { "show frontends", CMD_SHOW_FRONTENDS, NULL, NULL, NULL, NULL },
        { "show frontend web", CMD_SHOW_FRONTEND, "web", NULL, NULL, NULL },
        { "show backends", CMD_SHOW_BACKENDS, NULL, NULL, NULL, NULL },
        { "show backend be1", CMD_SHOW_BACKEND, NULL, "be1", NULL, NULL },
        { "show healthchecks", CMD_SHOW_HEALTHCHECKS, NULL, NULL, NULL, NULL },
        { "show healthcheck http", CMD_SHOW_HEALTHCHECK, NULL, NULL, NULL, "http" },
        { "set backend be1 pause", CMD_SET_BACKEND_PAUSE, NULL, "be1", NULL, NULL },
        { "set backend be1 resume", CMD_SET_BACKEND_RESUME, NULL, "be1", NULL, NULL },
        { "set backend be1 enable", CMD_SET_BACKEND_ENABLE, NULL, "be1", NULL, NULL },
        { "set backend be1 disable", CMD_SET_BACKEND_DISABLE, NULL, "be1", NULL, NULL },
        { "set mass-failure release", CMD_SET_MASS_FAILURE_RELEASE, NULL, NULL, NULL, NULL },
        { "show mass-failure", CMD_SHOW_MASS_FAILURE, NULL, NULL, NULL, NULL },
        { "show fleet", CMD_SHOW_FLEET, NULL, NULL, NULL, NULL },
        { "sh fl", CMD_SHOW_FLEET, NULL, NULL, NULL, NULL },
        { "set frontend web pool primary backend be2 weight 40", CMD_SET_FRONTEND_WEIGHT, "web",
          "be2", "primary", NULL },
        { "config check", CMD_CONFIG_CHECK, NULL, NULL, NULL, NULL },
        { "config reload", CMD_CONFIG_RELOAD, NULL, NULL, NULL, NULL },
        { "watch events", CMD_WATCH_EVENTS, NULL, NULL, NULL, NULL },
        { "help", CMD_HELP, NULL, NULL, NULL, NULL },
        { "quit", CMD_QUIT, NULL, NULL, NULL, NULL },
        { "exit", CMD_QUIT, NULL, NULL, NULL, NULL },
        { "show vpp info", CMD_SHOW_VPP_INFO, NULL, NULL, NULL, NULL },
        { "show vpp lb state web", CMD_SHOW_VPP_LB_STATE, "web", NULL, NULL, NULL },
        { "sync vpp lb state", CMD_SYNC_VPP_LB_STATE, NULL, NULL, NULL, NULL },
        { "plan vpp lb state web", CMD_PLAN_VPP_LB_STATE, "web", NULL, NULL, NULL },
        /* names are literal: a keyword-looking name, a prefix of a real one, quotes */
        { "show backend backends", CMD_SHOW_BACKEND, NULL, "backends", NULL, NULL },
        { "show backend be", CMD_SHOW_BACKEND, NULL, "be", NULL, NULL },
        { "show frontend \"my web\"", CMD_SHOW_FRONTEND, "my web", NULL, NULL, NULL },
        { "show frontend We\"b 1\"", CMD_SHOW_FRONTEND, "Web 1", NULL, NULL, NULL },
    };
    for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
        int rc = parse(w[i].line);
        if (rc != w[i].action)
            fail_msg("%s: %d (%s), want %d", w[i].line, rc, err, w[i].action);
        assert_int_equal(parsed.action, w[i].action);
        const char *got[] = { arg(ARG_FRONTEND), arg(ARG_BACKEND), arg(ARG_POOL),
                              arg(ARG_HEALTHCHECK) };
        const char *exp[] = { w[i].fe, w[i].be, w[i].pool, w[i].hc };
        for (int k = 0; k < 4; k++) {
            if (!exp[k])
                assert_null(got[k]);
            else
                assert_string_equal(got[k], exp[k]);
        }
    }
    assert_int_equal(parse("set frontend web pool primary backend be2 weight 40"),
                     CMD_SET_FRONTEND_WEIGHT);
    assert_int_equal(parsed.arg[ARG_WEIGHT].num, 40);
    assert_string_equal(arg(ARG_WEIGHT), "40");

    /* cmd_parse on an argv the caller owns */
    char *argv[] = { "se", "ba", "b1", "p", NULL };
    assert_int_equal(cmd_parse(root, 4, argv, &parsed, err, sizeof(err)), CMD_SET_BACKEND_PAUSE);
    assert_ptr_equal(parsed.arg[ARG_BACKEND].str, argv[2]);
    assert_int_equal(cmd_parse(root, 0, argv, NULL, NULL, 0), 0);
    assert_int_equal(cmd_parse(root, 2, argv, NULL, NULL, 0), -1); /* NULL err is fine */
}

static void test_ranges(void **state)
{
    (void)state;
    const char *pre = "set frontend web pool primary backend be1 weight ";
    char line[128];
    static const struct {
        const char *w;
        long long v;
        const char *msg;
    } c[] = {
        { "0", 0, NULL },
        { "100", 100, NULL },
        { "007", 7, NULL },
        { "+5", 5, NULL },
        { "-0", 0, NULL },
        { "-1", 0, "\"-1\" is out of range 0..100" },
        { "101", 0, "\"101\" is out of range 0..100" },
        { "99999999999999999999999", 0, "\"99999999999999999999999\" is out of range 0..100" },
        { "-99999999999999999999999", 0, "\"-99999999999999999999999\" is out of range 0..100" },
        { "x", 0, "\"x\" is not a number" },
        { "abc", 0, "\"abc\" is not a number" },
        { "1e3", 0, "\"1e3\" is not a number" },
        { "-", 0, "\"-\" is not a number" },
        { "5 ", 5, NULL },
        { "\"\"", 0, "\"\" is not a number" },
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        snprintf(line, sizeof(line), "%s%s", pre, c[i].w);
        if (!c[i].msg) {
            assert_int_equal(parse(line), CMD_SET_FRONTEND_WEIGHT);
            assert_int_equal(parsed.arg[ARG_WEIGHT].num, c[i].v);
        } else {
            parse_err(line, c[i].msg);
        }
    }
    assert_int_equal(parse("watch events num 1"), CMD_WATCH_EVENTS);
    assert_int_equal(parsed.arg[ARG_NUM].num, 1);
    assert_int_equal(parse("watch events num 1000000"), CMD_WATCH_EVENTS);
    assert_int_equal(parsed.arg[ARG_NUM].num, 1000000);
    parse_err("watch events num 0", "\"0\" is out of range 1..1000000");
    parse_err("watch events num 1000001", "\"1000001\" is out of range 1..1000000");
}

static void test_watch_options(void **state)
{
    (void)state;
    assert_int_equal(parse("watch events"), CMD_WATCH_EVENTS);
    for (int i = ARG_NUM; i <= ARG_EVENT_VPP; i++)
        assert_null(arg(i));
    static const char *const same[] = {
        "watch events num 5 log level warn backend frontend vpp",
        "watch events vpp frontend backend log level warn num 5",
        "watch events log level warn frontend num 5 vpp backend",
        "w ev f b v lo le w n 5",
        "WATCH EVENTS Log Level WARN num 5 backend frontend VPP",
    };
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        if (parse(same[i]) != CMD_WATCH_EVENTS)
            fail_msg("%s: %s", same[i], err);
        assert_int_equal(parsed.arg[ARG_NUM].num, 5);
        assert_string_equal(arg(ARG_LOG), "log");
        assert_string_equal(arg(ARG_LEVEL), "warn");
        assert_string_equal(arg(ARG_EVENT_BACKEND), "backend");
        assert_string_equal(arg(ARG_EVENT_FRONTEND), "frontend");
        assert_string_equal(arg(ARG_EVENT_VPP), "vpp");
    }
    assert_int_equal(parse("watch events log"), CMD_WATCH_EVENTS);
    assert_string_equal(arg(ARG_LOG), "log");
    assert_null(arg(ARG_LEVEL));
    assert_null(arg(ARG_EVENT_BACKEND));
    assert_int_equal(parse("watch events backend"), CMD_WATCH_EVENTS);
    assert_null(arg(ARG_LOG));
    assert_string_equal(arg(ARG_EVENT_BACKEND), "backend");
    assert_null(arg(ARG_EVENT_VPP));
    assert_int_equal(parse("watch events vpp"), CMD_WATCH_EVENTS);
    assert_string_equal(arg(ARG_EVENT_VPP), "vpp");
    assert_null(arg(ARG_LOG));
    assert_null(arg(ARG_EVENT_BACKEND));
    assert_null(arg(ARG_EVENT_FRONTEND));
    assert_null(arg(ARG_NUM));
    assert_int_equal(parse("watch events vpp num 1"), CMD_WATCH_EVENTS);
    assert_string_equal(arg(ARG_EVENT_VPP), "vpp");
    assert_int_equal(parsed.arg[ARG_NUM].num, 1);
    assert_int_equal(parse("watch events num 1 v"), CMD_WATCH_EVENTS);
    assert_string_equal(arg(ARG_EVENT_VPP), "vpp");
    assert_int_equal(parse("watch events log level debug"), CMD_WATCH_EVENTS);
    assert_string_equal(arg(ARG_LEVEL), "debug");
    assert_int_equal(parse("watch events log level e"), CMD_WATCH_EVENTS);
    assert_string_equal(arg(ARG_LEVEL), "error");

    parse_err("watch events log log", "option \"log\" is given more than once");
    parse_err("watch events backend log b", "option \"backend\" is given more than once");
    parse_err("watch events num 3 num 4", "option \"num\" is given more than once");
    parse_err("watch events log level info level warn",
              "unknown word \"level\"; expected one of: num, backend, frontend, vpp");
    parse_err("watch events level info",
              "unknown word \"level\"; expected one of: num, log, backend, frontend, vpp");
    parse_err("watch events vpp log vpp", "option \"vpp\" is given more than once");
    parse_err("watch events vpp x", "unknown word \"x\"; expected one of: num, log, backend, "
                                    "frontend");
    parse_err("watch events log level",
              "incomplete command; expected one of: debug, info, warn, error");
    parse_err("watch events log level loud",
              "unknown word \"loud\"; expected one of: debug, info, warn, error");
    parse_err("watch events num", "incomplete command; expected: <1-1000000>");
    parse_err("watch events num x", "\"x\" is not a number");
    parse_err("watch events num 1 log backend frontend vpp x",
              "unexpected word \"x\"; expected end of command");
}

/* ---- completion ---- */

static void test_complete(void **state)
{
    (void)state;
    struct fake f = { 0 };
    int rc;
    size_t start;
    comp("", &f, 9, "show set sync plan config watch help quit exit");
    comp("sh", &f, 1, "show");
    comp("s", &f, 3, "show set sync");
    comp("SH", &f, 1, "show");
    comp("show ", &f, 10,
         "version frontend frontends backend backends healthcheck healthchecks vpp mass-failure "
         "fleet");
    comp("show ba", &f, 2, "backend backends");
    comp("show backend", &f, 2, "backend backends");
    comp("show backends ", &f, 0, "=<cr>  Run the command");
    comp("show backend ", &f, 4, "be1 be2 be3 db1=NAME  Backend name");
    assert_string_equal(f.pool, "");
    comp("show backend b", &f, 3, "be1 be2 be3=NAME  Backend name");
    comp("show backend x", &f, 0, "=NAME  Backend name");
    comp("show backend ", NULL, 0, "=NAME  Backend name");
    comp("show healthcheck ", &f, 2, "http icmp=NAME  Healthcheck name");
    assert_int_equal(f.kind, CMD_SLOT_HEALTHCHECK);
    comp("set frontend ", &f, 3, "api web web-v6=NAME  Frontend name");
    comp("set frontend web pool ", &f, 2, "fallback primary=POOL  Pool name");
    assert_int_equal(f.kind, CMD_SLOT_POOL);
    assert_string_equal(f.frontend, "web");
    comp("set frontend api pool m", &f, 1, "main=POOL  Pool name");
    assert_string_equal(f.frontend, "api");
    comp("set frontend web pool primary backend ", &f, 2, "be1 be2=NAME  Backend name");
    assert_int_equal(f.kind, CMD_SLOT_BACKEND);
    assert_string_equal(f.frontend, "web");
    assert_string_equal(f.pool, "primary");
    comp("set frontend web pool primary backend be1 weight ", &f, 0, "=<0-100>  Weight");
    comp("set frontend web pool primary backend be1 weight 5", &f, 0, "=<0-100>  Weight");
    f.fail = true;
    comp("show backend ", &f, 0, "=NAME  Backend name");
    f.fail = false;

    comp("watch events l", &f, 1, "log");
    comp("watch events ", &f, 5, "num log backend frontend vpp");
    comp("watch events v", &f, 1, "vpp");
    comp("watch events vpp ", &f, 4, "num log backend frontend");
    comp("watch events log ", &f, 5, "level num backend frontend vpp");
    comp("watch events backend log ", &f, 4, "level num frontend vpp");
    comp("watch events log level ", &f, 4, "debug info warn error");
    comp("watch events num ", &f, 0, "=<1-1000000>  Number of events");
    comp("watch events num 5 ", &f, 4, "log backend frontend vpp");
    comp("watch events vpp num 1 ", &f, 3, "log backend frontend");
    comp("watch events vpp v", &f, 0, "=option \"vpp\" is given more than once");
    comp("watch events log backend b", &f, 0, "=option \"backend\" is given more than once");

    comp("shw ", &f, -1,
         "=unknown word \"shw\"; expected one of: show, set, sync, plan, config, watch, "
         "help, quit, exit");
    comp("show xyz", &f, 0,
         "=unknown word \"xyz\"; expected one of: version, frontend, "
         "frontends, backend, backends, healthcheck, healthchecks, vpp, mass-failure, fleet");
    comp("quit ", &f, 0, "=<cr>  Run the command");

    /* the word under the cursor, and where it starts */
    assert_string_equal(complete_at("show backends", 4, &f, &rc, &start), "show");
    assert_int_equal(start, 0);
    assert_string_equal(complete_at("show backends", 7, &f, &rc, &start), "backend backends");
    assert_int_equal(start, 5);
    assert_string_equal(complete_at("show backends", 5, &f, &rc, &start),
                        "version frontend frontends backend backends healthcheck healthchecks vpp "
                        "mass-failure fleet");
    assert_int_equal(start, 5);
    assert_string_equal(complete_at("sh", 99, &f, &rc, &start), "show");
    assert_string_equal(complete_at("show backend \"b", 15, &f, &rc, &start),
                        "be1 be2 be3=NAME  Backend name");
    assert_int_equal(start, 13);
    assert_string_equal(complete_at("show   \"ba\"", 11, &f, &rc, &start), "backend backends");
    assert_int_equal(start, 7);
    assert_string_equal(complete_at(NULL, 0, &f, &rc, &start),
                        "show set sync plan config watch help quit exit");
}

/* ---- `?` help ---- */

static void test_help(void **state)
{
    (void)state;
    struct fake f = { 0 };
    help("", &f, 0,
         "  show      Show state\n"
         "  set       Change state\n"
         "  sync      Bring VPP in line with maglevd\n"
         "  plan      Show what a sync or a change would do, changing nothing\n"
         "  config    Check or reload the configuration\n"
         "  watch     Follow events as they happen\n"
         "  help      Explain the shell\n"
         "  quit      Leave the shell\n"
         "  exit      Leave the shell\n");
    help("show ba", &f, 0,
         "  backend   Show one backend\n"
         "  backends  Show all backends\n");
    help("sh h", &f, 0,
         "  healthcheck   Show one healthcheck\n"
         "  healthchecks  Show all healthchecks\n");
    help("set frontend web pool primary backend be1 weight ", &f, 0, "  <0-100>   Weight\n");
    help("show version ", &f, 0, "  <cr>      Run the command\n");
    help("show version", &f, 0, "  version   Show the maglevd version\n");
    help("show backend ", &f, 0,
         "  NAME      Backend name\n"
         "  be1\n"
         "  be2\n"
         "  be3\n"
         "  db1\n");
    help("show backend d", NULL, 0, "  NAME      Backend name\n");
    help("show backend db1 ", &f, 0, "  <cr>      Run the command\n");
    help("watch events log ", &f, 0,
         "  level     Minimum level of log records (default info)\n"
         "  num       Stop after N events, the initial state included\n"
         "  backend   Backend state transitions\n"
         "  frontend  Frontend state changes\n"
         "  vpp       Weight changes maglevd made in VPP\n"
         "  <cr>      Run the command\n");
    help("watch events ", &f, 0,
         "  num       Stop after N events, the initial state included\n"
         "  log       Log records\n"
         "  backend   Backend state transitions\n"
         "  frontend  Frontend state changes\n"
         "  vpp       Weight changes maglevd made in VPP\n"
         "  <cr>      Run the command\n");
    help("watch events vpp ", &f, 0,
         "  num       Stop after N events, the initial state included\n"
         "  log       Log records\n"
         "  backend   Backend state transitions\n"
         "  frontend  Frontend state changes\n"
         "  <cr>      Run the command\n");
    help("watch events num ", &f, 0, "  <1-1000000>  Number of events\n");
    help("shw ", &f, -1,
         "unknown word \"shw\"; expected one of: show, set, sync, plan, config, watch, help, "
         "quit, exit\n");
    help("show zz", &f, -1,
         "unknown word \"zz\"; expected one of: version, frontend, frontends, backend, "
         "backends, healthcheck, healthchecks, vpp, mass-failure, fleet\n");
    help("show \"x", &f, -1,
         "unknown word \"x\"; expected one of: version, frontend, frontends, backend, "
         "backends, healthcheck, healthchecks, vpp, mass-failure, fleet\n");
    help("quit x", &f, -1, "unexpected word \"x\"; expected end of command\n");
}

/* ---- hidden keywords (aliases) and the VPP commands ---- */

static void test_hidden(void **state)
{
    (void)state;
    /* a tree of its own: "alps" is an alias of "alpha", "alpine" visible */
    static const struct cmd_node kids[] = {
        { .kind = CMD_KEYWORD, .word = "alpha", .help = "Alpha", .action = 1 },
        { .kind = CMD_KEYWORD,
          .word = "alps",
          .help = "Old alpha",
          .action = 1,
          .flags = CMD_F_HIDDEN },
        { .kind = CMD_KEYWORD, .word = "beta", .help = "Beta", .action = 2 },
        { 0 },
    };
    static const struct cmd_node r = { .kind = CMD_KEYWORD, .children = kids };
    struct strlist w = STRLIST_INIT;
    struct cmd_parsed p;
    assert_int_equal(cmd_tree_check(&r, err, sizeof(err)), 0);
    assert_int_equal(cmd_parse_line(&r, "alps", &w, &p, err, sizeof(err)), 1);
    assert_int_equal(cmd_parse_line(&r, "ALPS", &w, &p, err, sizeof(err)), 1);
    /* never by a prefix, so no ambiguity with "alpha" */
    assert_int_equal(cmd_parse_line(&r, "alp", &w, &p, err, sizeof(err)), 1);
    assert_int_equal(cmd_parse_line(&r, "al", &w, &p, err, sizeof(err)), 1);
    assert_int_equal(cmd_parse_line(&r, "alpsx", &w, &p, err, sizeof(err)), -1);
    assert_string_equal(err, "unknown word \"alpsx\"; expected one of: alpha, beta");
    cmd_strlist_free(&w);

    struct cmd_completion c;
    assert_int_equal(cmd_complete(&r, "al", 2, NULL, NULL, &c), 1);
    assert_string_equal(c.words.v[0], "alpha");
    cmd_strlist_free(&c.words);
    assert_int_equal(cmd_complete(&r, "", 0, NULL, NULL, &c), 2);
    assert_string_equal(c.words.v[1], "beta");
    cmd_strlist_free(&c.words);
    assert_int_equal(cmd_complete(&r, "alps", 4, NULL, NULL, &c), 1); /* typed in full */
    assert_string_equal(c.words.v[0], "alps");
    cmd_strlist_free(&c.words);
    struct strbuf sb = STRBUF_INIT;
    assert_int_equal(cmd_help(&r, "", NULL, NULL, &sb), 0);
    assert_string_equal(strbuf_str(&sb), "  alpha     Alpha\n"
                                         "  beta      Beta\n");
    strbuf_reset(&sb);
    assert_int_equal(cmd_help(&r, "alps", NULL, NULL, &sb), 0);
    assert_string_equal(strbuf_str(&sb), "  alps      Old alpha\n");
    strbuf_free(&sb);

    /* the checks: only keywords are hidden, a command needs a visible way on */
    static const struct cmd_node hslot[] = {
        { .kind = CMD_SLOT,
          .slot = CMD_SLOT_BACKEND,
          .word = "B",
          .help = "",
          .action = 1,
          .flags = CMD_F_HIDDEN },
        { 0 },
    };
    static const struct cmd_node honly[] = {
        { .kind = CMD_KEYWORD, .word = "x", .help = "", .action = 1, .flags = CMD_F_HIDDEN },
        { 0 },
    };
    static const struct cmd_node hclash[] = {
        { .kind = CMD_KEYWORD, .word = "x", .help = "", .action = 1 },
        { .kind = CMD_KEYWORD, .word = "x", .help = "", .action = 1, .flags = CMD_F_HIDDEN },
        { 0 },
    };
    static const struct cmd_node cases[][2] = {
        { { .kind = CMD_KEYWORD, .word = "r", .help = "", .action = 1, .children = hslot }, { 0 } },
        { { .kind = CMD_KEYWORD, .word = "r", .help = "", .children = honly }, { 0 } },
        { { .kind = CMD_KEYWORD, .word = "r", .help = "", .children = hclash }, { 0 } },
    };
    const char *want[] = {
        "\"B\": only a keyword can be hidden",
        "\"r\": only hidden tokens follow it",
        "keyword \"x\" twice at one position",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cmd_node t = { .kind = CMD_KEYWORD, .children = cases[i] };
        assert_int_equal(cmd_tree_check(&t, err, sizeof(err)), -1);
        assert_string_equal(err, want[i]);
    }
    /* with an action of its own, "r" may be followed by hidden words only */
    struct cmd_node ok[2] = {
        { .kind = CMD_KEYWORD, .word = "r", .help = "", .action = 1, .children = honly }, { 0 }
    };
    struct cmd_node t = { .kind = CMD_KEYWORD, .children = ok };
    assert_int_equal(cmd_tree_check(&t, err, sizeof(err)), 0);
}

/* plan set ... and the change options --max-disruption PCT / --force */
static void test_change_guard(void **state)
{
    (void)state;
    assert_int_equal(parse("plan set backend b1 disable"), CMD_PLAN_BACKEND_CHANGE);
    assert_string_equal(arg(ARG_BACKEND), "b1");
    assert_string_equal(arg(ARG_CHANGE), "disable");
    assert_int_equal(parse("pl se ba b1 res"), CMD_PLAN_BACKEND_CHANGE);
    assert_string_equal(arg(ARG_CHANGE), "resume");
    assert_int_equal(parse("plan set frontend web pool primary backend b1 weight 7"),
                     CMD_PLAN_FRONTEND_WEIGHT);
    assert_string_equal(arg(ARG_FRONTEND), "web");
    assert_string_equal(arg(ARG_POOL), "primary");
    assert_int_equal(parsed.arg[ARG_WEIGHT].num, 7);
    assert_int_equal(parse("plan set backend b1 damping"), -1); /* not a plan */
    assert_int_equal(parse("set backend b1 disable"), CMD_SET_BACKEND_DISABLE);
    assert_null(arg(ARG_MAX_DISRUPTION));
    assert_null(arg(ARG_FORCE));
    assert_int_equal(parse("set backend b1 disable --max-disruption 5"), CMD_SET_BACKEND_DISABLE);
    assert_int_equal(parsed.arg[ARG_MAX_DISRUPTION].num, 5);
    assert_int_equal(parse("set backend b1 pause --force"), CMD_SET_BACKEND_PAUSE);
    assert_non_null(arg(ARG_FORCE));
    assert_int_equal(
        parse("set frontend web pool p backend b1 weight 5 --force --max-disruption 3"),
        CMD_SET_FRONTEND_WEIGHT);
    assert_int_equal(parsed.arg[ARG_WEIGHT].num, 5);
    assert_int_equal(parsed.arg[ARG_MAX_DISRUPTION].num, 3);
    assert_non_null(arg(ARG_FORCE));
    parse_err("set backend b1 enable --max-disruption 0", "\"0\" is out of range 1..100");
    assert_int_equal(parse("set backend b1 resume --force --force"), -1);
    assert_int_equal(parse("set backend b1 damping clear --force"), -1);
}

static void test_vpp_commands(void **state)
{
    (void)state;
    static const struct want w[] = {
        { "show vpp info", CMD_SHOW_VPP_INFO, NULL, NULL, NULL, NULL },
        { "show vpp lb state", CMD_SHOW_VPP_LB_STATE, NULL, NULL, NULL, NULL },
        { "show vpp lb state web", CMD_SHOW_VPP_LB_STATE, "web", NULL, NULL, NULL },
        { "show vpp lb counters", CMD_SHOW_VPP_LB_COUNTERS, NULL, NULL, NULL, NULL },
        { "show vpp lb counters web", CMD_SHOW_VPP_LB_COUNTERS, "web", NULL, NULL, NULL },
        { "sh v l c web", CMD_SHOW_VPP_LB_COUNTERS, "web", NULL, NULL, NULL },
        { "show vpp lbstate", CMD_SHOW_VPP_LB_STATE, NULL, NULL, NULL, NULL },
        { "show vpp lbstate web", CMD_SHOW_VPP_LB_STATE, "web", NULL, NULL, NULL },
        { "SHOW VPP LBSTATE Web", CMD_SHOW_VPP_LB_STATE, "Web", NULL, NULL, NULL },
        { "sync vpp lb state", CMD_SYNC_VPP_LB_STATE, NULL, NULL, NULL, NULL },
        { "sync vpp lb state web", CMD_SYNC_VPP_LB_STATE, "web", NULL, NULL, NULL },
        { "sync vpp lbstate", CMD_SYNC_VPP_LB_STATE, NULL, NULL, NULL, NULL },
        { "sync vpp lbstate web", CMD_SYNC_VPP_LB_STATE, "web", NULL, NULL, NULL },
        { "plan vpp lb state", CMD_PLAN_VPP_LB_STATE, NULL, NULL, NULL, NULL },
        { "plan vpp lb state web", CMD_PLAN_VPP_LB_STATE, "web", NULL, NULL, NULL },
        /* prefixes: "v" is version or vpp, decided by what follows */
        { "sh v l s", CMD_SHOW_VPP_LB_STATE, NULL, NULL, NULL, NULL },
        { "sh v l s web", CMD_SHOW_VPP_LB_STATE, "web", NULL, NULL, NULL },
        { "sh vp i", CMD_SHOW_VPP_INFO, NULL, NULL, NULL, NULL },
        { "sh v i", CMD_SHOW_VPP_INFO, NULL, NULL, NULL, NULL },
        { "sh v", CMD_SHOW_VERSION, NULL, NULL, NULL, NULL },
        { "sy v l s", CMD_SYNC_VPP_LB_STATE, NULL, NULL, NULL, NULL },
        { "sy v l s web", CMD_SYNC_VPP_LB_STATE, "web", NULL, NULL, NULL },
        { "p v l s api", CMD_PLAN_VPP_LB_STATE, "api", NULL, NULL, NULL },
        /* a frontend may be called like a keyword */
        { "show vpp lb state state", CMD_SHOW_VPP_LB_STATE, "state", NULL, NULL, NULL },
    };
    for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
        int rc = parse(w[i].line);
        if (rc != w[i].action)
            fail_msg("%s: %d (%s), want %d", w[i].line, rc, err, w[i].action);
        if (!w[i].fe)
            assert_null(arg(ARG_FRONTEND));
        else
            assert_string_equal(arg(ARG_FRONTEND), w[i].fe);
        assert_null(arg(ARG_BACKEND));
    }
    /* the aliases are typed in full, never by a prefix */
    parse_err("show vpp lbs", "unknown word \"lbs\"; expected one of: info, lb");
    parse_err("show vpp lbstat web", "unknown word \"lbstat\"; expected one of: info, lb");
    parse_err("plan vpp lbstate", "unknown word \"lbstate\"; expected: lb"); /* no such alias */
    parse_err("show vpp", "incomplete command; expected one of: info, lb");
    parse_err("show vpp lb", "incomplete command; expected one of: state, counters");
    parse_err("sync vpp", "incomplete command; expected: lb");
    parse_err("sh v l", "ambiguous \"v\": version, vpp");     /* neither completes */
    parse_err("s v l s", "ambiguous \"s\": show, set, sync"); /* show and sync both do */
    parse_err("show vpp info x", "unexpected word \"x\"; expected end of command");
    parse_err("show vpp lb state web x", "unexpected word \"x\"; expected end of command");
    parse_err("sync vpp lb state \"\"", "NAME cannot be empty");
}

static void test_vpp_complete_and_help(void **state)
{
    (void)state;
    struct fake f = { 0 };
    comp("p", &f, 1, "plan");
    comp("sy", &f, 1, "sync");
    comp("show v", &f, 2, "version vpp");
    comp("show vpp ", &f, 2, "info lb");
    comp("show vpp l", &f, 1, "lb"); /* not lbstate */
    comp("show vpp lb", &f, 1, "lb");
    comp("show vpp lbs", &f, 0, "=unknown word \"lbs\"; expected one of: info, lb");
    comp("show vpp lbstate", &f, 1, "lbstate"); /* typed in full: kept */
    comp("show vpp lb ", &f, 2, "state counters");
    comp("show vpp lb state ", &f, 3, "api web web-v6=NAME  Frontend name: only its VIP");
    assert_int_equal(f.kind, CMD_SLOT_FRONTEND);
    comp("show vpp lbstate w", &f, 2, "web web-v6=NAME  Frontend name: only its VIP");
    comp("show vpp lb state web ", &f, 0, "=<cr>  Run the command");
    comp("show vpp info ", &f, 0, "=<cr>  Run the command");
    comp("sync ", &f, 1, "vpp");
    comp("sync vpp ", &f, 1, "lb");
    comp("sync vpp l", &f, 1, "lb");
    comp("sync vpp lb state a", &f, 1, "api=NAME  Frontend name: only its VIP");
    comp("plan vpp ", &f, 1, "lb");
    comp("plan vpp lb state ", &f, 3, "api web web-v6=NAME  Frontend name: only its VIP");
    comp("sh v l s ", &f, 3, "api web web-v6=NAME  Frontend name: only its VIP");

    help("show vpp ", &f, 0,
         "  info      Show maglevd's connection to VPP\n"
         "  lb        Show VPP's load-balancer plugin\n");
    help("show vpp l", &f, 0, "  lb        Show VPP's load-balancer plugin\n");
    help("show vpp lbstate", &f, 0, "  lbstate   Same as \"lb state\"\n");
    help("show vpp lbs", &f, -1, "unknown word \"lbs\"; expected one of: info, lb\n");
    help("show vpp lb ", &f, 0,
         "  state     Show the LB conf, VIPs and ASes as VPP has them\n"
         "  counters  Show VPP's per-VIP LB packet counters and their rates\n");
    help("show vpp lb state ", &f, 0,
         "  NAME      Frontend name: only its VIP\n"
         "  api\n"
         "  web\n"
         "  web-v6\n"
         "  <cr>      Run the command\n");
    help("sync vpp ", &f, 0, "  lb        VPP's load-balancer plugin\n");
    help("sync vpp lb ", &f, 0,
         "  state     Apply what VPP's LB state lacks, all VIPs or one frontend's\n");
    help("plan vpp lb ", &f, 0,
         "  state     List the operations a sync would apply, applying none\n");
    help("sync vpp lbstate ", &f, 0,
         "  NAME      Frontend name: only its VIP\n"
         "  api\n"
         "  web\n"
         "  web-v6\n"
         "  <cr>      Run the command\n");
}

/* ---- a prefix of several keywords: completion and help resolve it as
 * execution does (issue 13: "sh ba ng<TAB>" said "expected end of command") */

/* Completion of line a gives what completion of line b gives. */
static void comp_same(const char *a, const char *b, struct fake *f)
{
    int ra, rb;
    char got[1024];
    snprintf(got, sizeof(got), "%s", complete_at(a, strlen(a), f, &ra, NULL));
    const char *want = complete_at(b, strlen(b), f, &rb, NULL);
    if (ra != rb || strcmp(got, want) != 0)
        fail_msg("complete '%s': %d '%s', but '%s': %d '%s'", a, ra, got, b, rb, want);
}

/* The help of line a begins with the help of line b, then has `more`. */
static void help_same(const char *a, const char *b, const char *more, struct fake *f)
{
    struct strbuf sa = STRBUF_INIT, sb = STRBUF_INIT;
    int ra = cmd_help(root, a, f ? fake_names : NULL, f, &sa);
    int rb = cmd_help(root, b, f ? fake_names : NULL, f, &sb);
    strbuf_adds(&sb, more);
    if (ra != rb || strcmp(strbuf_str(&sa), strbuf_str(&sb)) != 0)
        fail_msg("help '%s': %d\n%s---but '%s': %d\n%s", a, ra, strbuf_str(&sa), b, rb,
                 strbuf_str(&sb));
    strbuf_free(&sa);
    strbuf_free(&sb);
}

static void test_prefix_resolution(void **state)
{
    (void)state;
    struct fake f = { 0 };
    /* execution: "ba" is backends alone, backend before a name */
    assert_int_equal(parse("sh ba"), CMD_SHOW_BACKENDS);
    assert_int_equal(parse("sh ba nginx1"), CMD_SHOW_BACKEND);
    assert_string_equal(arg(ARG_BACKEND), "nginx1");

    /* completion: a word after "ba" can only be show backend's NAME */
    comp("sh ba ng", &f, 0, "=NAME  Backend name");
    comp_same("sh ba ng", "show backend ng", &f);
    comp("sh ba b", &f, 3, "be1 be2 be3=NAME  Backend name");
    comp_same("sh ba b", "show backend b", &f);
    comp_same("sh ba ", "show backend ", &f);
    comp_same("sh b d", "show backend d", &f);
    comp_same("sh backe be", "show backend be", &f);
    comp_same("sh fr w", "show frontend w", &f);
    comp_same("sh fr ", "show frontend ", &f);
    comp_same("sh front w", "show frontend w", &f);
    comp_same("sh h h", "show healthcheck h", &f);
    comp_same("sh healthc ", "show healthcheck ", &f);
    comp("sh ba ng", NULL, 0, "=NAME  Backend name");
    /* "v": version or vpp; a word after it is vpp's */
    comp_same("sh v ", "show vpp ", &f);
    comp_same("sh v l", "show vpp l", &f);
    comp_same("sh v l s ", "show vpp lb state ", &f);
    /* "s": show, set or sync; what follows picks */
    comp_same("s b x ", "set backend x ", &f);
    comp_same("s b x p", "set backend x p", &f);
    comp_same("s v l s w", "show vpp lb state w", &f); /* sync also fits: same names */
    comp_same("s ve", "show ve", &f);
    comp("s b ", &f, 4, "be1 be2 be3 db1=NAME  Backend name");
    comp("s ", &f, 10,
         "version frontend frontends backend backends healthcheck healthchecks vpp mass-failure "
         "fleet");
    /* nothing after the prefix fits: execution's ambiguity error */
    comp("sh ba ng x", &f, -1, "=ambiguous \"ba\": backend, backends");
    comp("sh ba ng x ", &f, -1, "=ambiguous \"ba\": backend, backends");
    comp("show backend ng x", &f, 0, "=unexpected word \"x\"; expected end of command");
    parse_err("sh ba ng x", "ambiguous \"ba\": backend, backends");
    comp("sh v zz", &f, -1, "=ambiguous \"v\": version, vpp");
    parse_err("sh v zz", "ambiguous \"v\": version, vpp");

    /* help: what "show backend" takes, and <cr> as "sh ba" runs "show backends" */
    help_same("sh ba ", "show backend ", "  <cr>      Run the command\n", &f);
    help("sh ba ", &f, 0,
         "  NAME      Backend name\n"
         "  be1\n"
         "  be2\n"
         "  be3\n"
         "  db1\n"
         "  <cr>      Run the command\n");
    help_same("sh ba ng", "show backend ng", "", &f);
    help_same("sh ba b", "show backend b", "", &f);
    help_same("sh fr ", "show frontend ", "  <cr>      Run the command\n", &f);
    help_same("sh fr w", "show frontend w", "", &f);
    help_same("sh h ", "show healthcheck ", "  <cr>      Run the command\n", &f);
    help_same("sh v l", "show vpp l", "", &f);
    help_same("sh v l ", "show vpp lb ", "", &f);
    help_same("s b x ", "set backend x ", "  <cr>      Run the command\n", &f);
    help_same("s b x d", "set backend x d", "", &f);
    help("sh v ", &f, 0,
         "  info      Show maglevd's connection to VPP\n"
         "  lb        Show VPP's load-balancer plugin\n"
         "  <cr>      Run the command\n");
    help("sh ba ng x", &f, -1, "ambiguous \"ba\": backend, backends\n");
    help("sh ba ng x ", &f, -1, "ambiguous \"ba\": backend, backends\n");
    /* several readings: each one's tokens, a line listed once */
    help("s b ", &f, 0,
         "  NAME      Backend name\n"
         "  be1\n"
         "  be2\n"
         "  be3\n"
         "  db1\n"
         "  <cr>      Run the command\n");
    help("s f", &f, 0,
         "  frontend   Show one frontend\n"
         "  frontends  Show all frontends\n"
         "  fleet      Compare the load balancers given by --server: config, weights, Maglev "
         "tables\n"
         "  frontend   Change a frontend\n");

    /* an exact keyword is not a prefix: "backend" is show backend */
    comp_same("sh backend ", "show backend ", &f);
    help_same("sh backend ", "show backend ", "", &f);
    help_same("sh backends ", "show backends ", "", &f);

    /* watch options: "l" is log, then "le" level; "lo l" a level word */
    comp_same("w e lo le ", "watch events log level ", &f);
    comp_same("w e lo ", "watch events log ", &f);

    /* the path: which token each word resolved to */
    const struct cmd_node *path[4];
    char *argv[] = { "sh", "ba", "nginx1", NULL };
    assert_int_equal(cmd_parse_path(root, 3, argv, NULL, path, 4, NULL, 0), CMD_SHOW_BACKEND);
    assert_string_equal(path[0]->word, "show");
    assert_string_equal(path[1]->word, "backend");
    assert_int_equal(path[2]->slot, CMD_SLOT_BACKEND);
    assert_null(path[3]);
    assert_int_equal(cmd_parse_path(root, 2, argv, NULL, path, 4, NULL, 0), CMD_SHOW_BACKENDS);
    assert_string_equal(path[1]->word, "backends");
    assert_null(path[2]);
    char *bad[] = { "sh", "ba", "x", "y", NULL };
    assert_int_equal(cmd_parse_path(root, 4, bad, NULL, path, 4, err, sizeof(err)), -1);
    assert_null(path[0]);
    assert_string_equal(err, "ambiguous \"ba\": backend, backends");
}

/* ---- every valid command: at every point of it, completion and help offer
 * the token execution resolves the next word to ---- */

#define GEN_WORDS 16

struct gen_cmd {
    const struct cmd_node *node[GEN_WORDS]; /* the token of each word */
    const char *word[GEN_WORDS];
    char num[GEN_WORDS][24];
    size_t n;
    size_t commands, variants, points; /* tallies */
};

/* A value the fake provider lists, so completion offers it. */
static const char *slot_value(const struct cmd_node *t, char *buf, size_t len)
{
    switch (t->slot) {
    case CMD_SLOT_FRONTEND:
        return "web";
    case CMD_SLOT_POOL:
        return "primary";
    case CMD_SLOT_BACKEND:
        return "be1";
    case CMD_SLOT_HEALTHCHECK:
        return "http";
    default:
        snprintf(buf, len, "%lld", t->max);
        return buf;
    }
}

static const char *tok_name(const struct cmd_node *t, char *buf, size_t len)
{
    if (t->kind == CMD_SLOT && t->slot == CMD_SLOT_NUMBER) {
        snprintf(buf, len, "<%lld-%lld>", t->min, t->max);
        return buf;
    }
    return t->word;
}

/* Does `?` output text list token t (its name, then its help)? */
static bool help_lists(const char *text, const struct cmd_node *t)
{
    char buf[64];
    const char *name = tok_name(t, buf, sizeof(buf));
    size_t nl = strlen(name);
    for (const char *l = text; *l; l = strchr(l, '\n') + 1) {
        const char *e = strchr(l, '\n');
        if (!e)
            break;
        if (strncmp(l, "  ", 2) != 0 || strncmp(l + 2, name, nl) != 0 || l[2 + nl] != ' ')
            continue;
        const char *h = l + 2 + nl;
        while (*h == ' ')
            h++;
        if ((size_t)(e - h) == strlen(t->help) && strncmp(h, t->help, (size_t)(e - h)) == 0)
            return true;
    }
    return false;
}

static bool has_word(const struct strlist *sl, const char *w)
{
    for (size_t i = 0; i < sl->n; i++)
        if (strcmp(sl->v[i], w) == 0)
            return true;
    return false;
}

/* The line of words[0..k) and the first `len` bytes of words[k] (none for
 * k == n): with len 0, a blank ends the line so a new word begins. */
static void cut_line(char *const *w, size_t n, size_t k, size_t len, char *out, size_t outlen)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < k; i++)
        o += (size_t)snprintf(out + o, outlen - o, "%s ", w[i]);
    if (k < n && len)
        snprintf(out + o, outlen - o, "%.*s", (int)len, w[k]);
    else if (k == n && o)
        out[o - 1] = '\0'; /* the whole line, no blank after it */
}

/* The invariant at every point of a command given as words w (resolving to
 * g->node[]): for every word k and every prefix of it, cut there, completion
 * and help succeed and offer g->node[k]; after the last word, <cr>. */
static void check_points(struct gen_cmd *g, char *const *w)
{
    struct fake f = { 0 };
    char line[512], buf[64];
    for (size_t k = 0; k <= g->n; k++) {
        size_t wl = k < g->n ? strlen(w[k]) : 0;
        for (size_t len = 0; len <= wl; len++) {
            const struct cmd_node *t = k < g->n ? g->node[k] : NULL;
            cut_line(w, g->n, k, len, line, sizeof(line));
            if (k == g->n)
                strcat(line, " ");
            g->points++;
            if (t && (t->flags & CMD_F_HIDDEN) && len < wl)
                continue; /* an alias is offered only once typed in full */

            struct cmd_completion c;
            int rc = cmd_complete(root, line, strlen(line), fake_names, &f, &c);
            bool ok = rc >= 0;
            if (ok && t && t->kind == CMD_KEYWORD)
                ok = has_word(&c.words, t->word);
            else if (ok && t) {
                char hint[128];
                snprintf(hint, sizeof(hint), "%s  %s", tok_name(t, buf, sizeof(buf)), t->help);
                ok = strcmp(c.msg, hint) == 0 &&
                     (t->slot == CMD_SLOT_NUMBER || has_word(&c.words, w[k]));
            }
            if (!ok)
                fail_msg("complete '%s' (of '%s ...'): rc %d, msg '%s', does not offer %s", line,
                         w[0], rc, c.msg, t ? tok_name(t, buf, sizeof(buf)) : "<cr>");
            cmd_strlist_free(&c.words);

            struct strbuf sb = STRBUF_INIT;
            rc = cmd_help(root, line, fake_names, &f, &sb);
            ok = rc == 0 &&
                 (t ? help_lists(strbuf_str(&sb), t) : strstr(strbuf_str(&sb), "  <cr>") != NULL);
            if (!ok)
                fail_msg("help '%s': rc %d, does not list %s:\n%s", line, rc,
                         t ? tok_name(t, buf, sizeof(buf)) : "<cr>", strbuf_str(&sb));
            strbuf_free(&sb);
        }
    }
}

/* Does the command, its words given as w, parse to the tokens g->node[]? */
static bool parses_as(const struct gen_cmd *g, char *const *w)
{
    const struct cmd_node *path[GEN_WORDS + 1];
    int rc = cmd_parse_path(root, (int)g->n, w, NULL, path, g->n + 1, NULL, 0);
    if (rc != g->node[g->n - 1]->action)
        return false;
    for (size_t i = 0; i < g->n; i++)
        if (path[i] != g->node[i])
            return false;
    return true;
}

/* Checks the command in g in several spellings: in full; with each keyword
 * cut to its shortest prefix that keeps the meaning, left to right; and
 * with one word at each prefix that keeps it, the others in full or short. */
static void check_command(struct gen_cmd *g)
{
    char full[GEN_WORDS][64], shrt[GEN_WORDS][64], var[GEN_WORDS][64];
    char *w[GEN_WORDS + 1];
    g->commands++;
    for (size_t i = 0; i < g->n; i++) {
        snprintf(full[i], sizeof(full[i]), "%s", g->word[i]);
        snprintf(shrt[i], sizeof(shrt[i]), "%s", g->word[i]);
        w[i] = shrt[i];
    }
    w[g->n] = NULL;
    if (!parses_as(g, w))
        fail_msg("\"%s ...\" (%zu words) does not parse as the tree says", full[0], g->n);
    check_points(g, w);
    g->variants++;
    for (size_t i = 0; i < g->n; i++) {
        if (g->node[i]->kind != CMD_KEYWORD)
            continue;
        for (size_t len = 1; len < strlen(full[i]); len++) {
            shrt[i][len] = '\0';
            if (parses_as(g, w))
                break;
            snprintf(shrt[i], sizeof(shrt[i]), "%s", full[i]);
        }
    }
    check_points(g, w);
    g->variants++;
    for (int base = 0; base < 2 && g->n <= 6; base++) {
        for (size_t j = 0; j < g->n; j++) {
            if (g->node[j]->kind != CMD_KEYWORD)
                continue;
            for (size_t i = 0; i < g->n; i++) {
                snprintf(var[i], sizeof(var[i]), "%s", base ? shrt[i] : full[i]);
                w[i] = var[i];
            }
            for (size_t len = 1; len < strlen(full[j]); len++) {
                snprintf(var[j], sizeof(var[j]), "%.*s", (int)len, full[j]);
                if (strcmp(var[j], shrt[j]) == 0 || !parses_as(g, w))
                    continue;
                check_points(g, w);
                g->variants++;
            }
        }
    }
}

/* Every command of the tree (each option order too), by the tree's own
 * rules (cmdtree.h), not by the walker under test. */
static void gen_commands(struct gen_cmd *g, const struct cmd_node *node,
                         const struct cmd_node *group, uint32_t used)
{
    const struct cmd_node *next[2 * CMD_MAX_CHILDREN];
    size_t nn = 0, ng = 0;
    if (group)
        while (group->children[ng].kind)
            ng++;
    if (node != group)
        for (const struct cmd_node *c = node->children; c && c->kind; c++)
            next[nn++] = c;
    if (node == group || (group && node->action))
        for (size_t i = 0; i < ng; i++)
            if (!(used & (1u << i)))
                next[nn++] = &group->children[i];
    if (g->n == GEN_WORDS)
        return;
    for (size_t k = 0; k < nn; k++) {
        const struct cmd_node *t = next[k];
        const struct cmd_node *g2 = group;
        uint32_t u2 = used;
        g->node[g->n] = t;
        g->word[g->n] =
            t->kind == CMD_KEYWORD ? t->word : slot_value(t, g->num[g->n], sizeof(g->num[0]));
        g->n++;
        if (group && t >= group->children && t < group->children + ng)
            u2 |= 1u << (t - group->children);
        if (t->flags & CMD_F_OPTIONS) {
            g2 = t;
            u2 = 0;
        }
        if (t->action)
            check_command(g);
        gen_commands(g, t, g2, u2);
        g->n--;
    }
}

static void test_prefix_agreement(void **state)
{
    (void)state;
    static struct gen_cmd g;
    memset(&g, 0, sizeof(g));
    gen_commands(&g, root, NULL, 0);
    print_message("%zu commands, %zu spellings, %zu points checked\n", g.commands, g.variants,
                  g.points);
    assert_true(g.commands > 100); /* watch events' options in every order */
}

/* ---- tokeniser and hostile input ---- */

static void test_tokenize(void **state)
{
    (void)state;
    struct strlist w = STRLIST_INIT;
    assert_int_equal(cmd_tokenize(" a\tb\r\n  \"c d\" e\"f g\"h \"\" i\"\" \v", &w, err, 64), 0);
    assert_int_equal(w.n, 6);
    const char *want[] = { "a", "b", "c d", "ef gh", "", "i" };
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(w.v[i], want[i]);
    assert_null(w.v[6]);
    cmd_strlist_free(&w);
    assert_int_equal(cmd_tokenize("", &w, err, 64), 0);
    assert_int_equal(w.n, 0);
    assert_int_equal(cmd_tokenize("a \"b", &w, err, 64), -1);
    assert_string_equal(err, "unbalanced quote at column 3");
    cmd_strlist_free(&w);
    assert_int_equal(cmd_tokenize("\"", &w, err, 8), -1);
    assert_string_equal(err, "unbalan"); /* cut to errlen */
    cmd_strlist_free(&w);
    cmd_strlist_free(&w); /* twice is fine */
}

static void test_hostile(void **state)
{
    (void)state;
    /* 10,000 words: the walk stops at the first that does not fit */
    size_t n = 10000;
    char *line = malloc(n * 5 + 1);
    assert_non_null(line);
    for (size_t i = 0; i < n; i++)
        memcpy(line + i * 5, "show ", 5);
    line[n * 5] = '\0';
    parse_err(line, "unknown word \"show\"; expected one of: version, frontend, frontends, "
                    "backend, backends, healthcheck, healthchecks, vpp, mass-failure, fleet");
    assert_int_equal(words.n, n);
    comp(line, NULL, -1,
         "=unknown word \"show\"; expected one of: version, frontend, frontends, backend, "
         "backends, healthcheck, healthchecks, vpp, mass-failure, fleet");
    free(line);

    /* a 1 MB word: cut short in the message */
    size_t big = 1 << 20;
    line = malloc(big + 8);
    assert_non_null(line);
    memcpy(line, "show ", 5);
    memset(line + 5, 'x', big);
    line[big + 5] = '\0';
    assert_int_equal(parse(line), -1);
    assert_non_null(strstr(err, "xxx...\"; expected one of"));
    assert_true(strlen(err) < 300);
    struct strbuf sb = STRBUF_INIT;
    assert_int_equal(cmd_help(root, line, NULL, NULL, &sb), -1);
    strbuf_free(&sb);
    memcpy(line, "show backend ", 13); /* a huge name is still a name */
    assert_int_equal(parse(line), CMD_SHOW_BACKEND);
    assert_int_equal(strlen(arg(ARG_BACKEND)), big + 5 - 13);
    free(line);

    /* a tiny error buffer, bytes above 0x7f, blank-only lines */
    char small[4];
    cmd_strlist_free(&words);
    assert_int_equal(cmd_parse_line(root, "nope", &words, &parsed, small, sizeof(small)), -1);
    assert_string_equal(small, "unk");
    parse_err("\xff\xfe", "unknown word \"\xff\xfe\"; expected one of: show, set, sync, "
                          "plan, config, watch, help, quit, exit");
    assert_int_equal(parse("\n\n\t"), 0);
}

/* Random and garbled lines through parse, complete and help: no crash,
 * and every result is consistent. Run under ASan in CI. */
static uint32_t rnd_state = 12345;

static uint32_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 17;
    rnd_state ^= rnd_state << 5;
    return rnd_state;
}

static void test_fuzz_loop(void **state)
{
    (void)state;
    static const char *const toks[] = {
        "show",    "sh",
        "s",       "set",
        "backend", "backends",
        "b",       "frontend",
        "fro",     "pool",
        "weight",  "watch",
        "events",  "num",
        "log",     "level",
        "debug",   "warn",
        "config",  "reload",
        "check",   "quit",
        "exit",    "help",
        "vpp",     "v",
        "info",    "lb",
        "l",       "state",
        "lbstate", "sync",
        "plan",    "0",
        "100",     "-1",
        "101",     "99999999999999999999",
        "\"",      "\"\"",
        "\"a b\"", "web",
        "primary", "be1",
        "x",       "\t",
        "  ",      "?",
    };
    struct fake f = { 0 };
    char line[512];
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = 0;
        int nw = (int)(rnd() % 12);
        for (int i = 0; i < nw && len < sizeof(line) - 64; i++) {
            const char *t;
            char raw[9];
            if (rnd() % 8 == 0) {
                size_t k = rnd() % 8;
                for (size_t j = 0; j < k; j++)
                    raw[j] = (char)(rnd() % 255 + 1);
                raw[k] = '\0';
                t = raw;
            } else {
                t = toks[rnd() % (sizeof(toks) / sizeof(toks[0]))];
            }
            len +=
                (size_t)snprintf(line + len, sizeof(line) - len, "%s%s", t, rnd() % 4 ? " " : "");
        }
        line[len] = '\0';
        f.fail = rnd() % 5 == 0;

        int rc = parse(line);
        assert_true(rc >= -1 && rc < CMD_ACTION_COUNT);
        if (rc == -1)
            assert_true(err[0] != '\0');
        else
            assert_true(err[0] == '\0' && parsed.action == rc);

        struct cmd_completion c;
        size_t cur = len ? rnd() % (len + 1) : 0;
        int n = cmd_complete(root, line, cur, fake_names, &f, &c);
        assert_true(n >= -1 && c.start <= cur);
        if (n == -1)
            assert_true(c.msg[0] != '\0' && c.words.n == 0);
        else
            assert_int_equal((size_t)n, c.words.n);
        cmd_strlist_free(&c.words);

        struct strbuf sb = STRBUF_INIT;
        int h = cmd_help(root, line, fake_names, &f, &sb);
        assert_true(h == 0 || h == -1);
        assert_true(sb.len > 0 && sb.buf[sb.len - 1] == '\n');
        strbuf_free(&sb);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_tree_check, teardown),
        cmocka_unit_test_teardown(test_prefixes, teardown),
        cmocka_unit_test_teardown(test_exact_wins, teardown),
        cmocka_unit_test_teardown(test_errors, teardown),
        cmocka_unit_test_teardown(test_every_command, teardown),
        cmocka_unit_test_teardown(test_ranges, teardown),
        cmocka_unit_test_teardown(test_watch_options, teardown),
        cmocka_unit_test_teardown(test_complete, teardown),
        cmocka_unit_test_teardown(test_help, teardown),
        cmocka_unit_test_teardown(test_hidden, teardown),
        cmocka_unit_test_teardown(test_vpp_commands, teardown),
        cmocka_unit_test_teardown(test_vpp_complete_and_help, teardown),
        cmocka_unit_test_teardown(test_prefix_resolution, teardown),
        cmocka_unit_test_teardown(test_prefix_agreement, teardown),
        cmocka_unit_test_teardown(test_tokenize, teardown),
        cmocka_unit_test_teardown(test_hostile, teardown),
        cmocka_unit_test_teardown(test_change_guard, teardown),
        cmocka_unit_test_teardown(test_fuzz_loop, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
