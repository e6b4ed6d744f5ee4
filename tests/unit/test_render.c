/* Unit tests for maglevc's pure output code: src/cli/table.c (alignment on
 * visible width, colours), render.c (hierarchical frontend, backend
 * details, times), render_vpp.c (VPP info, LB state, sync and plan
 * results) and json.c (escaping, field names). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/json.h"
#include "cli/render.h"
#include "cli/table.h"

/* 2023-11-14 22:13:20.123456 UTC */
#define T0 INT64_C(1700000000123456)

/* s without its colour escapes (a copy to free). */
static char *strip(const char *s)
{
    struct strbuf sb = STRBUF_INIT;
    while (*s) {
        if (s[0] == '\033' && s[1] == '[') {
            s += 2;
            while (*s && (*s < 0x40 || *s > 0x7e))
                s++;
            if (*s)
                s++;
            continue;
        }
        strbuf_addc(&sb, *s++);
    }
    return strbuf_detach(&sb);
}

/* ---- table ---- */

static void test_visible_width(void **state)
{
    (void)state;
    assert_int_equal(table_visible_width(""), 0);
    assert_int_equal(table_visible_width("abc"), 3);
    assert_int_equal(table_visible_width("\033[31mab\033[0m"), 2);
    assert_int_equal(table_visible_width("\033[1;34mx\033[0m"), 1);
    assert_int_equal(table_visible_width("\xe2\x86\x92"), 1);                     /* → */
    assert_int_equal(table_visible_width("12\xc2\xb5s"), 4);                      /* 12µs */
    assert_int_equal(table_visible_width("\033[32m\xc3\xa9t\xc3\xa9\033[0m"), 3); /* été */
}

static char *render_table(bool color)
{
    struct table t;
    struct strbuf sb = STRBUF_INIT;
    static const char *const hdr[] = { "NAME", "STATE", "NOTE", NULL };
    table_init(&t, 3, 2, color);
    table_header(&t, hdr);
    table_cell(&t, TC_BOLD, "b1");
    table_cell(&t, table_state_color("up"), "up");
    table_cell(&t, TC_NONE, "first");
    table_endrow(&t);
    table_cell(&t, TC_BOLD, "backend-long");
    table_cell(&t, table_state_color("down"), "down");
    table_cell(&t, TC_NONE, "\xe2\x86\x92 x"); /* multi-byte, one column */
    table_endrow(&t);
    table_line(&t, 1, "a line outside the columns");
    table_cell(&t, TC_NONE, "\xc3\xa9t\xc3\xa9");
    table_cell(&t, table_state_color("paused"), "paused");
    table_endrow(&t); /* the missing last cell: no trailing blanks */
    table_render(&t, &sb);
    table_free(&t);
    return strbuf_detach(&sb);
}

static void test_table_alignment(void **state)
{
    (void)state;
    char *plain = render_table(false);
    char *colored = render_table(true);
    assert_string_equal(plain, "  NAME          STATE   NOTE\n"
                               "  b1            up      first\n"
                               "  backend-long  down    \xe2\x86\x92 x\n"
                               "   a line outside the columns\n"
                               "  \xc3\xa9t\xc3\xa9           paused\n");
    assert_null(strchr(plain, '\033'));
    assert_non_null(strchr(colored, '\033'));
    /* the coloured table is the plain one plus escapes only */
    char *stripped = strip(colored);
    assert_string_equal(stripped, plain);
    /* and every line of it has the same visible width as the plain one */
    char *a = plain, *b = colored;
    for (;;) {
        char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
        if (!ea || !eb) {
            assert_true(!ea && !eb);
            break;
        }
        *ea = *eb = '\0';
        assert_int_equal(table_visible_width(a), table_visible_width(b));
        a = ea + 1;
        b = eb + 1;
    }
    free(stripped);
    free(plain);
    free(colored);
}

static void test_state_colors(void **state)
{
    (void)state;
    assert_int_equal(table_state_color("up"), TC_GREEN);
    assert_int_equal(table_state_color("down"), TC_RED);
    assert_int_equal(table_state_color("unknown"), TC_YELLOW);
    assert_int_equal(table_state_color("paused"), TC_YELLOW);
    assert_int_equal(table_state_color("disabled"), TC_YELLOW);
    assert_int_equal(table_state_color(NULL), TC_YELLOW);
    assert_string_equal(table_color_start(TC_LABEL), "\033[34m");
    assert_string_equal(table_color_start(TC_NONE), "");

    struct strbuf sb = STRBUF_INIT;
    table_sb_colored(&sb, true, TC_GREEN, "up");
    assert_string_equal(strbuf_str(&sb), "\033[32mup\033[0m");
    strbuf_reset(&sb);
    table_sb_colored(&sb, false, TC_GREEN, "up");
    assert_string_equal(strbuf_str(&sb), "up");
    strbuf_reset(&sb);
    render_error(&sb, true, "backend \"x\" not found");
    assert_string_equal(strbuf_str(&sb),
                        "\033[31merror:\033[0m \033[31mbackend \"x\" not found\033[0m\n");
    strbuf_reset(&sb);
    render_error(&sb, false, "backend \"x\" not found");
    assert_string_equal(strbuf_str(&sb), "error: backend \"x\" not found\n");
    strbuf_free(&sb);
}

/* ---- hand-built messages ---- */

static Maglev__PoolBackend pb(const char *name, const char *addr, uint32_t w, uint32_t eff,
                              const char *st, bool enabled, bool overridden)
{
    Maglev__PoolBackend b = MAGLEV__POOL_BACKEND__INIT;
    b.name = (char *)name;
    b.address = (char *)addr;
    b.weight = w;
    b.effective_weight = eff;
    b.state = (char *)st;
    b.enabled = enabled;
    b.overridden = overridden;
    return b;
}

static void test_frontend_hierarchy(void **state)
{
    (void)state;
    Maglev__PoolBackend b1 = pb("b1", "198.18.1.2", 100, 100, "up", true, false);
    Maglev__PoolBackend b2 = pb("b2", "198.18.2.2", 50, 0, "down", true, true);
    Maglev__PoolBackend b3 = pb("backend3", "2001:db8:3::2", 100, 0, "up", false, false);
    b3.flush = true;
    Maglev__PoolBackend *p1b[] = { &b1, &b2 }, *p2b[] = { &b3 };
    Maglev__Pool p1 = MAGLEV__POOL__INIT, p2 = MAGLEV__POOL__INIT;
    p1.name = "primary";
    p1.n_backends = 2;
    p1.backends = p1b;
    p2.name = "fallback";
    p2.n_backends = 1;
    p2.backends = p2b;
    Maglev__Pool *pools[] = { &p1, &p2 };
    Maglev__Frontend f = MAGLEV__FRONTEND__INIT;
    f.name = "web";
    f.description = "the web site";
    f.address = "192.0.2.1";
    f.protocol = "tcp";
    f.port = 80;
    f.flush_on_down = true;
    f.state = "up";
    f.n_pools = 2;
    f.pools = pools;
    f.active_pool = "primary";

    struct render_opts o = { .color = false, .now_us = T0 };
    struct strbuf sb = STRBUF_INIT;
    render_frontend(&sb, &o, &f);
    assert_string_equal(strbuf_str(&sb),
                        "frontend web up\n"
                        "  address      192.0.2.1 port 80/tcp\n"
                        "  description  the web site\n"
                        "  options      src-ip-sticky no, flush-on-down yes\n"
                        "  active pool  primary\n"
                        "  pool primary (active)\n"
                        "    b1        198.18.1.2     weight 100  effective 100  up\n"
                        "    b2        198.18.2.2     weight 50   effective 0    down  "
                        "[weight override]\n"
                        "  pool fallback\n"
                        "    backend3  2001:db8:3::2  weight 100  effective 0    up    "
                        "[disabled] [flushed]\n");

    /* coloured: the same text, states and markers in their colours */
    struct strbuf c = STRBUF_INIT;
    o.color = true;
    render_frontend(&c, &o, &f);
    char *stripped = strip(strbuf_str(&c));
    assert_string_equal(stripped, strbuf_str(&sb));
    assert_non_null(strstr(strbuf_str(&c), "\033[32m(active)\033[0m"));
    assert_non_null(strstr(strbuf_str(&c), "\033[31mdown\033[0m"));
    assert_non_null(strstr(strbuf_str(&c), "\033[34mweight\033[0m"));
    assert_non_null(strstr(strbuf_str(&c), "\033[33m[weight override]\033[0m"));
    free(stripped);
    strbuf_free(&c);

    /* the list view: one row per frontend, backends up over all */
    Maglev__Frontend *fv[] = { &f };
    Maglev__ListFrontendsResponse lr = MAGLEV__LIST_FRONTENDS_RESPONSE__INIT;
    lr.n_frontends = 1;
    lr.frontends = fv;
    strbuf_reset(&sb);
    o.color = false;
    render_frontends(&sb, &o, &lr);
    assert_string_equal(strbuf_str(&sb),
                        "NAME  ADDRESS    PORT  PROTO  STATE  ACTIVE POOL  BACKENDS  VPP\n"
                        "web   192.0.2.1  80    tcp    up     primary      1/3 up    -\n");
    strbuf_free(&sb);
}

/* The table model: a "buckets" column after the weights, the table line,
 * and the warning when the table cannot represent the weights. */
static void test_frontend_model(void **state)
{
    (void)state;
    Maglev__PoolBackend b1 = pb("b1", "198.18.1.2", 100, 100, "up", true, false);
    Maglev__PoolBackend b2 = pb("b2", "198.18.2.2", 50, 0, "down", true, false);
    b1.buckets = 1024;
    b1.bucket_share_pct = 100;
    b1.weight_share_pct = 100;
    Maglev__PoolBackend *p1b[] = { &b1, &b2 };
    Maglev__Pool p1 = MAGLEV__POOL__INIT;
    p1.name = "primary";
    p1.n_backends = 2;
    p1.backends = p1b;
    Maglev__Pool *pools[] = { &p1 };
    Maglev__Frontend f = MAGLEV__FRONTEND__INIT;
    f.name = "web";
    f.address = "192.0.2.1";
    f.protocol = "tcp";
    f.port = 80;
    f.state = "up";
    f.n_pools = 1;
    f.pools = pools;
    f.active_pool = "primary";
    f.table_length = 1024;
    f.share_warning = "";

    struct render_opts o = { .color = false, .now_us = T0 };
    struct strbuf sb = STRBUF_INIT;
    render_frontend(&sb, &o, &f);
    assert_string_equal(strbuf_str(&sb),
                        "frontend web up\n"
                        "  address      192.0.2.1 port 80/tcp\n"
                        "  options      src-ip-sticky no, flush-on-down no\n"
                        "  active pool  primary\n"
                        "  table        1024 buckets, shares within 0.00 points of the weights\n"
                        "  pool primary (active)\n"
                        "    b1  198.18.1.2  weight 100  effective 100  "
                        "buckets 1024 100.0% (weight 100.0%)  up\n"
                        "    b2  198.18.2.2  weight 50   effective 0    "
                        "buckets 0 0.0% (weight 0.0%)         down\n");
    f.share_error_pp = 4.38;
    f.share_warning = "the table cannot represent the weights";
    strbuf_reset(&sb);
    o.color = true;
    render_frontend(&sb, &o, &f);
    assert_non_null(strstr(strbuf_str(&sb), "shares within 4.38 points"));
    assert_non_null(strstr(strbuf_str(&sb), "\033[34mwarning\033[0m      \033[33mthe table cannot "
                                            "represent the weights\033[0m\n"));
    strbuf_free(&sb);
}

/* The frontend of the VPP tests: pool primary b1 (up, 100) and b2 (down,
 * effective 0), pool fallback b3 (up, disabled, flushed). */
struct vpp_fe {
    Maglev__PoolBackend b1, b2, b3;
    Maglev__PoolBackend *p1b[2], *p2b[1];
    Maglev__Pool p1, p2;
    Maglev__Pool *pools[2];
    Maglev__Frontend f;
};

static void vpp_fe_init(struct vpp_fe *v)
{
    v->b1 = pb("b1", "198.18.1.2", 100, 100, "up", true, false);
    v->b2 = pb("b2", "198.18.2.2", 50, 0, "down", true, false);
    v->b3 = pb("b3", "198.18.3.2", 100, 0, "up", false, false);
    v->b3.flush = true;
    v->b1.vpp_status = v->b2.vpp_status = v->b3.vpp_status = "applied";
    v->b1.vpp_weight = 100;
    v->b2.vpp_weight = v->b3.vpp_weight = 0;
    v->p1b[0] = &v->b1;
    v->p1b[1] = &v->b2;
    v->p2b[0] = &v->b3;
    v->p1 = (Maglev__Pool)MAGLEV__POOL__INIT;
    v->p2 = (Maglev__Pool)MAGLEV__POOL__INIT;
    v->p1.name = "primary";
    v->p1.n_backends = 2;
    v->p1.backends = v->p1b;
    v->p2.name = "fallback";
    v->p2.n_backends = 1;
    v->p2.backends = v->p2b;
    v->pools[0] = &v->p1;
    v->pools[1] = &v->p2;
    v->f = (Maglev__Frontend)MAGLEV__FRONTEND__INIT;
    v->f.name = "web";
    v->f.address = "192.0.2.1";
    v->f.protocol = "tcp";
    v->f.port = 80;
    v->f.state = "up";
    v->f.n_pools = 2;
    v->f.pools = v->pools;
    v->f.active_pool = "primary";
}

static char *render_fe(const Maglev__Frontend *f, bool color)
{
    struct render_opts o = { .color = color, .now_us = T0 };
    struct strbuf sb = STRBUF_INIT;
    render_frontend(&sb, &o, f);
    return strbuf_detach(&sb);
}

static char *render_fes(Maglev__Frontend *f, bool color)
{
    Maglev__Frontend *fv[] = { f };
    Maglev__ListFrontendsResponse lr = MAGLEV__LIST_FRONTENDS_RESPONSE__INIT;
    lr.n_frontends = 1;
    lr.frontends = fv;
    struct render_opts o = { .color = color, .now_us = T0 };
    struct strbuf sb = STRBUF_INIT;
    render_frontends(&sb, &o, &lr);
    return strbuf_detach(&sb);
}

/* The VPP column of `show frontends` for f: the last cell of its row. */
static void check_vpp_summary(Maglev__Frontend *f, const char *want)
{
    char *out = render_fes(f, false);
    const char *row = strchr(out, '\n') + 1, *cell = row;
    for (const char *p = row; (p = strstr(p, "  ")) != NULL; p++)
        cell = p + 2;
    while (*cell == ' ')
        cell++;
    size_t n = strlen(want);
    if (strncmp(cell, want, n) != 0 || strcmp(cell + n, "\n") != 0)
        fail_msg("want VPP column \"%s\" in:\n%s", want, out);
    free(out);
}

static void test_frontend_vpp_status(void **state)
{
    (void)state;
    struct vpp_fe v;
    vpp_fe_init(&v);
    const char *head = "frontend web up\n"
                       "  address      192.0.2.1 port 80/tcp\n"
                       "  options      src-ip-sticky no, flush-on-down no\n"
                       "  active pool  primary\n";

    /* converged: every backend applied */
    char *out = render_fe(&v.f, false);
    struct strbuf want = STRBUF_INIT;
    strbuf_adds(&want, head);
    strbuf_adds(&want, "  pool primary (active)\n"
                       "    b1  198.18.1.2  weight 100  effective 100  up    vpp applied\n"
                       "    b2  198.18.2.2  weight 50   effective 0    down  vpp applied\n"
                       "  pool fallback\n"
                       "    b3  198.18.3.2  weight 100  effective 0    up    vpp applied  "
                       "[disabled] [flushed]\n");
    assert_string_equal(out, strbuf_str(&want));
    free(out);
    check_vpp_summary(&v.f, "ok");

    /* pending: VPP still has 100 for b2; one not in VPP yet (weight unknown) */
    v.b2.vpp_status = "pending";
    v.b2.vpp_weight = 100;
    v.b3.vpp_status = "pending";
    v.b3.vpp_weight = -1;
    out = render_fe(&v.f, false);
    strbuf_reset(&want);
    strbuf_adds(&want, head);
    strbuf_adds(&want, "  pool primary (active)\n"
                       "    b1  198.18.1.2  weight 100  effective 100  up    vpp applied\n"
                       "    b2  198.18.2.2  weight 50   effective 0    down  vpp pending "
                       "100\xe2\x86\x92"
                       "0\n"
                       "  pool fallback\n"
                       "    b3  198.18.3.2  weight 100  effective 0    up    vpp pending        "
                       "[disabled] [flushed]\n");
    assert_string_equal(out, strbuf_str(&want));
    free(out);
    check_vpp_summary(&v.f, "2 pending");

    /* failed: VPP refused, its answer on the line below, in red */
    v.b2.vpp_status = "failed";
    v.b2.vpp_error = "VPP error -73 (NO_SUCH_ENTRY)";
    v.b3.vpp_status = "applied";
    v.b3.vpp_weight = 0;
    out = render_fe(&v.f, false);
    strbuf_reset(&want);
    strbuf_adds(&want, head);
    strbuf_adds(&want, "  pool primary (active)\n"
                       "    b1  198.18.1.2  weight 100  effective 100  up    vpp applied\n"
                       "    b2  198.18.2.2  weight 50   effective 0    down  vpp failed "
                       "100\xe2\x86\x92"
                       "0\n"
                       "      error: VPP error -73 (NO_SUCH_ENTRY)\n"
                       "  pool fallback\n"
                       "    b3  198.18.3.2  weight 100  effective 0    up    vpp applied       "
                       "[disabled] [flushed]\n");
    assert_string_equal(out, strbuf_str(&want));
    free(out);
    check_vpp_summary(&v.f, "1 failed");
    char *colored = render_fe(&v.f, true);
    assert_non_null(strstr(colored, "\033[34mvpp\033[0m \033[32mapplied\033[0m"));
    assert_non_null(strstr(colored, "\033[34mvpp\033[0m \033[31mfailed\033[0m 100"));
    assert_non_null(strstr(colored, "\033[31merror: VPP error -73 (NO_SUCH_ENTRY)\033[0m\n"));
    char *stripped = strip(colored);
    assert_string_equal(stripped, strbuf_str(&want));
    free(stripped);
    free(colored);
    v.b1.vpp_status = "pending";
    check_vpp_summary(&v.f, "1 failed, 1 pending");
    colored = render_fes(&v.f, true);
    assert_non_null(strstr(colored, "\033[31m1 failed, 1 pending\033[0m"));
    free(colored);
    v.b2.vpp_status = "applied";
    colored = render_fes(&v.f, true);
    assert_non_null(strstr(colored, "\033[33m1 pending\033[0m"));
    free(colored);

    /* held by the warm-up: said on the header line */
    v.f.vpp_held = true;
    v.f.state = "unknown";
    out = render_fe(&v.f, false);
    assert_true(strncmp(out,
                        "frontend web unknown (held by the warm-up: VPP's VIP is left as it "
                        "is)\n  address ",
                        80) == 0);
    free(out);
    colored = render_fe(&v.f, true);
    assert_non_null(
        strstr(colored, " \033[33m(held by the warm-up: VPP's VIP is left as it is)\033[0m\n"));
    free(colored);
    check_vpp_summary(&v.f, "held");

    /* the VPP integration disabled: nothing VPP-related, no vpp column */
    v.f.vpp_held = false;
    v.f.state = "up";
    v.b1.vpp_status = v.b2.vpp_status = v.b3.vpp_status = "";
    v.b2.vpp_error = "";
    v.b1.vpp_weight = v.b2.vpp_weight = v.b3.vpp_weight = -1;
    out = render_fe(&v.f, false);
    strbuf_reset(&want);
    strbuf_adds(&want, head);
    strbuf_adds(&want, "  pool primary (active)\n"
                       "    b1  198.18.1.2  weight 100  effective 100  up\n"
                       "    b2  198.18.2.2  weight 50   effective 0    down\n"
                       "  pool fallback\n"
                       "    b3  198.18.3.2  weight 100  effective 0    up    [disabled] "
                       "[flushed]\n");
    assert_string_equal(out, strbuf_str(&want));
    assert_null(strstr(out, "vpp"));
    free(out);
    check_vpp_summary(&v.f, "-");
    strbuf_free(&want);
}

static void test_backend_details(void **state)
{
    (void)state;
    Maglev__Transition t1 = MAGLEV__TRANSITION__INIT, t2 = MAGLEV__TRANSITION__INIT;
    t1.time_us = T0 - 60000000;
    t1.from_state = "unknown";
    t1.to_state = "up";
    t1.code = "L7OK";
    t1.detail = "HTTP 200";
    t2.time_us = T0 - 5000000;
    t2.from_state = "up";
    t2.to_state = "down";
    t2.code = "L4TOUT";
    t2.detail = "no connection within 1s";
    Maglev__Transition *hist[] = { &t1, &t2 };
    char *fes[] = { "web4", "web6" };
    Maglev__Backend b = MAGLEV__BACKEND__INIT;
    b.name = "b1";
    b.address = "198.18.1.2";
    b.healthcheck = "web";
    b.state = "down";
    b.enabled = true;
    b.counter = 1;
    b.rise = 2;
    b.fall = 3;
    b.last_code = "L4TOUT";
    b.last_detail = "no connection within 1s";
    b.last_probe_time_us = T0 - 400000;
    b.last_probe_duration_us = 1000500;
    b.probes = 12;
    b.probes_passed = 10;
    b.n_history = 2;
    b.history = hist;
    b.n_frontends = 2;
    b.frontends = fes;

    struct render_opts o = { .color = false, .now_us = T0 };
    struct strbuf sb = STRBUF_INIT;
    render_backend(&sb, &o, &b);
    assert_string_equal(strbuf_str(&sb),
                        "backend b1 down\n"
                        "  address      198.18.1.2\n"
                        "  state        down since 2023-11-14 22:13:15.123 (5.0s ago)\n"
                        "  enabled      yes\n"
                        "  healthcheck  web\n"
                        "  counter      1 (rise 2, fall 3)\n"
                        "  last code    L4TOUT\n"
                        "  last detail  no connection within 1s\n"
                        "  last probe   2023-11-14 22:13:19.723 (0.4s ago), took 1s\n"
                        "  probes       12 (10 passed)\n"
                        "  frontends    web4, web6\n"
                        "  slow start   off\n"
                        "  damping      off\n"
                        "  history\n"
                        "    2023-11-14 22:12:20.123  unknown  \xe2\x86\x92  up    L7OK    -  "
                        "HTTP 200\n"
                        "    2023-11-14 22:13:15.123  up       \xe2\x86\x92  down  L4TOUT  -  "
                        "no connection within 1s\n");

    Maglev__Backend *bv[] = { &b };
    Maglev__ListBackendsResponse lr = MAGLEV__LIST_BACKENDS_RESPONSE__INIT;
    lr.n_backends = 1;
    lr.backends = bv;
    strbuf_reset(&sb);
    b.enabled = false;
    render_backends(&sb, &o, &lr);
    assert_string_equal(strbuf_str(&sb),
                        "NAME  ADDRESS     STATE            HEALTHCHECK  LAST PROBE  SINCE  "
                        "FRONTENDS\n"
                        "b1    198.18.1.2  down [disabled]  web          L4TOUT      5s     "
                        "web4, web6\n");
    strbuf_free(&sb);
}

static void test_event_lines(void **state)
{
    (void)state;
    struct render_opts o = { .color = false, .now_us = T0 };
    struct strbuf sb = STRBUF_INIT;
    Maglev__Transition tr = MAGLEV__TRANSITION__INIT;
    tr.from_state = "up";
    tr.to_state = "down";
    tr.code = "L7STS";
    tr.detail = "HTTP 503";
    Maglev__BackendEvent be = MAGLEV__BACKEND_EVENT__INIT;
    be.name = "b1";
    be.transition = &tr;
    be.state = "down";
    Maglev__Event e = MAGLEV__EVENT__INIT;
    e.time_us = T0;
    e.kind_case = MAGLEV__EVENT__KIND_BACKEND;
    e.backend = &be;
    render_event(&sb, &o, &e);
    assert_string_equal(strbuf_str(&sb), "2023-11-14 22:13:20.123  backend  b1 up \xe2\x86\x92 "
                                         "down L7STS HTTP 503\n");

    Maglev__FrontendEvent fe = MAGLEV__FRONTEND_EVENT__INIT;
    fe.name = "web";
    fe.from_state = "up";
    fe.to_state = "down";
    fe.active_pool = "fallback";
    e.kind_case = MAGLEV__EVENT__KIND_FRONTEND;
    e.frontend = &fe;
    strbuf_reset(&sb);
    render_event(&sb, &o, &e);
    assert_string_equal(strbuf_str(&sb), "2023-11-14 22:13:20.123  frontend web up \xe2\x86\x92 "
                                         "down (active pool fallback)\n");

    Maglev__LogEvent le = MAGLEV__LOG_EVENT__INIT;
    le.level = "warn";
    le.msg = "x";
    le.line = "time=... level=warn msg=x";
    e.kind_case = MAGLEV__EVENT__KIND_LOG;
    e.log = &le;
    strbuf_reset(&sb);
    render_event(&sb, &o, &e);
    assert_string_equal(strbuf_str(&sb),
                        "2023-11-14 22:13:20.123  log      warn  time=... level=warn msg=x\n");

    /* a weight change maglevd made in VPP */
    Maglev__VPPWeightEvent ve = MAGLEV__VPPWEIGHT_EVENT__INIT;
    ve.frontend = "web";
    ve.backend = "b2";
    ve.address = "198.18.2.2";
    ve.vip = "192.0.2.1/32 tcp:80";
    ve.op = "as-weight";
    ve.old_weight = 50;
    ve.new_weight = 0;
    ve.flush = true;
    ve.trigger = "health";
    ve.took_us = 1474;
    e.kind_case = MAGLEV__EVENT__KIND_VPP_WEIGHT;
    e.vpp_weight = &ve;
    strbuf_reset(&sb);
    render_event(&sb, &o, &e);
    assert_string_equal(strbuf_str(&sb), "2023-11-14 22:13:20.123  vpp      web b2 (198.18.2.2) "
                                         "weight 50\xe2\x86\x92"
                                         "0 flush trigger health took 1.474ms\n");
    /* coloured: labels, dry-run and the error */
    ve.flush = false;
    ve.dry_run = true;
    ve.error = "VPP error -73 (NO_SUCH_ENTRY)";
    ve.took_us = 250;
    strbuf_reset(&sb);
    render_event(&sb, &o, &e);
    assert_string_equal(strbuf_str(&sb), "2023-11-14 22:13:20.123  vpp      web b2 (198.18.2.2) "
                                         "weight 50\xe2\x86\x92"
                                         "0 trigger health took 0.25ms dry-run error: VPP error "
                                         "-73 (NO_SUCH_ENTRY)\n");
    o.color = true;
    strbuf_reset(&sb);
    render_event(&sb, &o, &e);
    assert_non_null(strstr(strbuf_str(&sb), " \033[33mdry-run\033[0m "));
    assert_non_null(strstr(strbuf_str(&sb), " \033[31merror: VPP error -73 (NO_SUCH_ENTRY)"
                                            "\033[0m\n"));
    char *stripped = strip(strbuf_str(&sb));
    assert_string_equal(stripped, "2023-11-14 22:13:20.123  vpp      web b2 (198.18.2.2) "
                                  "weight 50\xe2\x86\x92"
                                  "0 trigger health took 0.25ms dry-run error: VPP error "
                                  "-73 (NO_SUCH_ENTRY)\n");
    free(stripped);
    o.color = false;
    /* an add, an AS no backend has (a VIP no frontend has: the VIP) */
    ve.op = "as-add";
    ve.old_weight = 0;
    ve.new_weight = 100;
    ve.dry_run = false;
    ve.error = "";
    ve.trigger = "connect";
    ve.took_us = 2500000;
    strbuf_reset(&sb);
    render_event(&sb, &o, &e);
    assert_string_equal(strbuf_str(&sb), "2023-11-14 22:13:20.123  vpp      web b2 (198.18.2.2) "
                                         "as-add weight 0\xe2\x86\x92"
                                         "100 trigger connect took 2500ms\n");
    ve.op = "as-del";
    ve.frontend = "";
    ve.backend = "";
    ve.address = "198.18.99.9";
    ve.old_weight = 30;
    ve.new_weight = 0;
    ve.trigger = "periodic";
    ve.took_us = 0;
    strbuf_reset(&sb);
    render_event(&sb, &o, &e);
    assert_string_equal(strbuf_str(&sb),
                        "2023-11-14 22:13:20.123  vpp      192.0.2.1/32 tcp:80 198.18.99.9 "
                        "as-del weight 30\xe2\x86\x92"
                        "0 trigger periodic took 0ms\n");
    strbuf_free(&sb);
}

static void test_config_result(void **state)
{
    (void)state;
    struct render_opts o = { .color = false, .now_us = T0 };
    struct strbuf sb = STRBUF_INIT;
    Maglev__ConfigResult r = MAGLEV__CONFIG_RESULT__INIT;
    r.ok = true;
    r.path = "/etc/maglev.yaml";
    r.summary = "1 healthchecks, 2 backends";
    r.added = 1;
    r.unchanged = 2;
    render_config_result(&sb, &o, &r, true);
    assert_string_equal(strbuf_str(&sb), "OK  /etc/maglev.yaml\n"
                                         "  1 healthchecks, 2 backends\n"
                                         "  added 1, changed 0, removed 0, unchanged 2\n");
    char *errs[] = { "maglev.yaml:3:5: maglev.backends.b1: bad address" };
    r.ok = false;
    r.stage = "semantic";
    r.n_errors = 1;
    r.errors = errs;
    strbuf_reset(&sb);
    render_config_result(&sb, &o, &r, false);
    assert_string_equal(strbuf_str(&sb), "FAILED  /etc/maglev.yaml (semantic)\n"
                                         "  maglev.yaml:3:5: maglev.backends.b1: bad address\n");
    strbuf_free(&sb);
}

/* ---- times ---- */

static void test_times(void **state)
{
    (void)state;
    char b[64];
    render_time(b, sizeof(b), 0);
    assert_string_equal(b, "-");
    render_time(b, sizeof(b), T0);
    assert_string_equal(b, "2023-11-14 22:13:20.123");
    render_time(b, sizeof(b), INT64_C(1700000000000999));
    assert_string_equal(b, "2023-11-14 22:13:20.000");

    static const struct {
        int64_t us;
        const char *s;
    } d[] = {
        { 0, "0\xc2\xb5s" },       { 850, "850\xc2\xb5s" }, { 1200, "1.2ms" },
        { 500000, "500ms" },       { 1000000, "1s" },       { 2500000, "2.5s" },
        { 1234567, "1.23s" },      { 192000000, "3m12s" },  { 7500000000, "2h05m" },
        { 273600000000, "3d04h" }, { -5, "0\xc2\xb5s" },
    };
    for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
        render_duration(b, sizeof(b), d[i].us);
        assert_string_equal(b, d[i].s);
    }
    render_age(b, sizeof(b), 0, T0);
    assert_string_equal(b, "never");
    render_age(b, sizeof(b), T0 - 400000, T0);
    assert_string_equal(b, "0.4s ago");
    render_age(b, sizeof(b), T0 - 12000000, T0);
    assert_string_equal(b, "12s ago");
    render_age(b, sizeof(b), T0 - 192000000, T0);
    assert_string_equal(b, "3m12s ago");
    render_age(b, sizeof(b), T0 + 5000000, T0); /* clock skew */
    assert_string_equal(b, "0.0s ago");
}

/* ---- JSON ---- */

static void check_json_string(const char *in, size_t len, const char *want)
{
    struct strbuf sb = STRBUF_INIT;
    json_string(&sb, in, len);
    assert_string_equal(strbuf_str(&sb), want);
    strbuf_free(&sb);
}

static void test_json_escaping(void **state)
{
    (void)state;
    check_json_string("", 0, "\"\"");
    check_json_string("plain", 5, "\"plain\"");
    check_json_string("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
    check_json_string("\n\r\t\b\f", 5, "\"\\n\\r\\t\\b\\f\"");
    check_json_string("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\"");
    check_json_string("a\0b", 3, "\"a\\u0000b\"");
    /* valid UTF-8 passes through: é → 😀 */
    check_json_string("\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x98\x80", 11,
                      "\"\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x98\x80\"");
    /* invalid: a lone continuation byte, a truncated sequence, an overlong
     * '/', a surrogate, 0xff */
    check_json_string("\x80", 1, "\"\\ufffd\"");
    check_json_string("x\xe2\x86", 3, "\"x\\ufffd\\ufffd\"");
    check_json_string("\xc0\xaf", 2, "\"\\ufffd\\ufffd\"");
    check_json_string("\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\"");
    check_json_string("\xff", 1, "\"\\ufffd\"");
    /* '/' and other printable ASCII stay as they are */
    check_json_string("</a>", 4, "\"</a>\"");
}

static void test_json_fields(void **state)
{
    (void)state;
    Maglev__Transition t = MAGLEV__TRANSITION__INIT;
    t.time_us = T0;
    t.from_state = "up";
    t.to_state = "down";
    t.code = "L7STS";
    t.detail = "said \"no\"";
    Maglev__Transition *hist[] = { &t };
    char *fes[] = { "web" };
    Maglev__Backend b = MAGLEV__BACKEND__INIT;
    b.name = "b1";
    b.state = "down";
    b.enabled = true;
    b.probes = UINT64_C(18446744073709551615);
    b.last_probe_time_us = T0;
    b.n_history = 1;
    b.history = hist;
    b.n_frontends = 1;
    b.frontends = fes;

    struct strbuf sb = STRBUF_INIT;
    json_message(&sb, &b.base, false, 0);
    assert_string_equal(
        strbuf_str(&sb),
        "{\"name\":\"b1\",\"address\":\"\",\"healthcheck\":\"\",\"state\":\"down\","
        "\"enabled\":true,\"counter\":0,\"rise\":0,\"fall\":0,\"last_code\":\"\","
        "\"last_detail\":\"\",\"last_probe_time_us\":1700000000123456,"
        "\"last_probe_duration_us\":0,\"probes\":18446744073709551615,"
        "\"probes_passed\":0,\"history\":[{\"time_us\":1700000000123456,"
        "\"from_state\":\"up\",\"to_state\":\"down\",\"code\":\"L7STS\","
        "\"detail\":\"said \\\"no\\\"\",\"reason\":\"\"}],\"frontends\":[\"web\"],"
        "\"damping\":false,\"damping_penalty\":0,\"damping_suppressed\":false,"
        "\"damping_reuse_in_ms\":0,\"damping_suppressed_since_us\":0,"
        "\"probe_state\":\"\",\"damping_suppressions\":0,\"slow_start_ms\":0,"
        "\"ramping\":false,\"ramp_started_us\":0,\"ramp_ends_us\":0,\"ramp_pct\":0}");

    /* pretty: same content, two-blank indent, scalars of arrays on one line */
    strbuf_reset(&sb);
    b.n_history = 0;
    json_message(&sb, &b.base, true, 0);
    assert_non_null(strstr(strbuf_str(&sb), "{\n  \"name\": \"b1\",\n  \"address\": \"\",\n"));
    assert_non_null(strstr(strbuf_str(&sb), "  \"history\": [],\n  \"frontends\": [\"web\"],\n"));

    /* a oneof: only the member set; a map as an object */
    Maglev__LogEvent__FieldsEntry f1 = MAGLEV__LOG_EVENT__FIELDS_ENTRY__INIT;
    f1.key = "backend";
    f1.value = "b1";
    Maglev__LogEvent__FieldsEntry *fv[] = { &f1 };
    Maglev__LogEvent le = MAGLEV__LOG_EVENT__INIT;
    le.level = "info";
    le.msg = "m";
    le.n_fields = 1;
    le.fields = fv;
    le.line = "l";
    Maglev__Event e = MAGLEV__EVENT__INIT;
    e.time_us = 5;
    e.kind_case = MAGLEV__EVENT__KIND_LOG;
    e.log = &le;
    strbuf_reset(&sb);
    json_message(&sb, &e.base, false, 0);
    assert_string_equal(strbuf_str(&sb), "{\"time_us\":5,\"log\":{\"level\":\"info\",\"msg\":\"m\","
                                         "\"fields\":{\"backend\":\"b1\"},\"line\":\"l\"}}");

    /* an empty message, and a missing sub-message */
    Maglev__BackendEvent be = MAGLEV__BACKEND_EVENT__INIT;
    strbuf_reset(&sb);
    json_message(&sb, &be.base, false, 0);
    assert_string_equal(strbuf_str(&sb), "{\"name\":\"\",\"transition\":null,\"initial\":false,"
                                         "\"state\":\"\"}");
    Maglev__GetVersionRequest gv = MAGLEV__GET_VERSION_REQUEST__INIT;
    strbuf_reset(&sb);
    json_message(&sb, &gv.base, true, 0);
    assert_string_equal(strbuf_str(&sb), "{}");

    /* show version: client and server */
    Maglev__VersionInfo v = MAGLEV__VERSION_INFO__INIT;
    v.version = "0.1.0";
    v.pid = 42;
    strbuf_reset(&sb);
    json_version(&sb, "0.1.0", "abc", "2025-01-01T00:00:00Z", &v.base, false);
    assert_string_equal(strbuf_str(&sb),
                        "{\"client\":{\"version\":\"0.1.0\",\"commit\":\"abc\",\"build_date\":"
                        "\"2025-01-01T00:00:00Z\"},\"server\":{\"version\":\"0.1.0\",\"commit\":"
                        "\"\",\"build_date\":\"\",\"start_time_us\":0,\"pid\":42,"
                        "\"config_path\":\"\",\"checker_status\":\"\",\"checker_reasons\":"
                        "\"\",\"checker_stale_backends\":0,\"checker_probe_error_backends\":0,"
                        "\"checker_window_probes\":0,\"checker_window_late\":0,"
                        "\"checker_degraded_since_us\":0,\"config_hash\":\"\"}}");
    /* the text: the checker's watchdog, ok or degraded and why */
    struct render_opts o = { .now_us = T0 };
    struct client_version cv = { "0.1.0", "abc", "2025-01-01T00:00:00Z" };
    v.checker_status = "ok";
    strbuf_reset(&sb);
    render_version(&sb, &o, &cv, &v);
    assert_non_null(strstr(strbuf_str(&sb), "\n         config -\n         checker ok\n"));
    v.checker_status = "degraded";
    v.checker_reasons = "stale-backends,probe-errors";
    v.checker_stale_backends = 2;
    v.checker_probe_error_backends = 3;
    v.checker_window_probes = 300;
    v.checker_window_late = 1;
    v.checker_degraded_since_us = T0 - 90 * 1000000LL;
    strbuf_reset(&sb);
    render_version(&sb, &o, &cv, &v);
    assert_non_null(strstr(strbuf_str(&sb),
                           "checker degraded (stale-backends,probe-errors): 2 stale, 3 with probe "
                           "errors, 1 of 300 starts late, since "));
    strbuf_free(&sb);
}

/* ---- VPP ---- */

static char *render_info(const Maglev__VPPInfo *i, bool color)
{
    struct render_opts o = { .color = color, .now_us = T0 };
    struct strbuf sb = STRBUF_INIT;
    render_vpp_info(&sb, &o, i);
    return strbuf_detach(&sb);
}

static void test_vpp_info(void **state)
{
    (void)state;
    Maglev__VPPInfo i = MAGLEV__VPPINFO__INIT;
    i.state = "connected";
    i.address = "/run/vpp/api.sock";
    i.version = "24.10-rc0~374-gb575ec2c5";
    i.build_date = "2024-10-01T12:00:00";
    i.build_directory = "/w/vpp";
    i.pid = 4242;
    i.connected_since_us = T0 - 180000000;
    i.client_index = 3;
    i.message_table_size = 812;
    i.connects = 2;
    i.last_sync_us = T0 - 2500000;
    char *out = render_info(&i, false);
    assert_string_equal(out, "vpp connected\n"
                             "  address          /run/vpp/api.sock\n"
                             "  version          24.10-rc0~374-gb575ec2c5\n"
                             "  build date       2024-10-01T12:00:00\n"
                             "  build directory  /w/vpp\n"
                             "  pid              4242\n"
                             "  connected since  2023-11-14 22:10:20.123 (3m00s ago)\n"
                             "  connects         2\n"
                             "  last sync        2023-11-14 22:13:17.623 (2.5s ago)\n"
                             "  dry run          no\n"
                             "  message table    812 messages\n"
                             "  client index     3\n");
    char *colored = render_info(&i, true);
    assert_non_null(strstr(colored, "\033[34mvpp\033[0m \033[32mconnected\033[0m\n"));
    char *stripped = strip(colored);
    assert_string_equal(stripped, out);
    free(stripped);
    free(colored);
    free(out);

    /* incompatible: never connected, why in red; dry run; warm-up */
    Maglev__VPPInfo x = MAGLEV__VPPINFO__INIT;
    x.state = "incompatible";
    x.address = "/run/vpp/api.sock";
    x.version = "21.01";
    x.last_error = "lb_add_del_vip_v2: CRC 0x3fe5b8a1, want 0x7c520e7b";
    x.dry_run = true;
    x.warmup_until_us = T0 + 12000000;
    out = render_info(&x, false);
    assert_string_equal(out, "vpp incompatible\n"
                             "  address          /run/vpp/api.sock\n"
                             "  version          21.01\n"
                             "  build date       -\n"
                             "  pid              unknown\n"
                             "  connected since  not connected\n"
                             "  connects         0\n"
                             "  last sync        never\n"
                             "  last error       lb_add_del_vip_v2: CRC 0x3fe5b8a1, want "
                             "0x7c520e7b\n"
                             "  dry run          yes (nothing is changed in VPP)\n"
                             "  warm-up          until 2023-11-14 22:13:32.123 (12s left; "
                             "nothing is changed in VPP before)\n"
                             "  message table    0 messages\n"
                             "  client index     0\n");
    free(out);
    colored = render_info(&x, true);
    assert_non_null(strstr(colored, "\033[31mincompatible\033[0m\n"));
    assert_non_null(strstr(colored, "\033[31mlb_add_del_vip_v2: CRC"));
    free(colored);
    x.state = "connecting";
    colored = render_info(&x, true);
    assert_non_null(strstr(colored, "\033[33mconnecting\033[0m\n"));
    free(colored);
}

static Maglev__VPPLBAS vpp_as(const char *addr, uint32_t w, uint32_t buckets, uint32_t model,
                              bool active)
{
    Maglev__VPPLBAS a = MAGLEV__VPPLBAS__INIT;
    a.address = (char *)addr;
    a.weight = w;
    a.buckets = buckets;
    a.model_buckets = model;
    a.active = active;
    return a;
}

static Maglev__VPPLBVIP vpp_vip(const char *prefix, const char *proto, uint32_t port,
                                const char *encap, const char *frontend)
{
    Maglev__VPPLBVIP v = MAGLEV__VPPLBVIP__INIT;
    v.prefix = (char *)prefix;
    v.protocol = (char *)proto;
    v.port = port;
    v.encap = (char *)encap;
    v.flow_table_length = 1024;
    v.frontend = (char *)frontend;
    v.src_ip_sticky_known = true;
    return v;
}

static void test_vpp_lb_state(void **state)
{
    (void)state;
    Maglev__VPPLBConf conf = MAGLEV__VPPLBCONF__INIT;
    conf.ipv4_src_address = "198.19.0.1";
    conf.ipv6_src_address = "2001:db8:ffff::1";
    conf.sticky_buckets_per_core = 4096;
    conf.flow_timeout = 30;
    Maglev__VPPLBAS a1 = vpp_as("198.18.1.2", 100, 674, 674, true);
    Maglev__VPPLBAS a2 = vpp_as("198.18.2.2", 50, 350, 350, true);
    Maglev__VPPLBAS a3 = vpp_as("198.18.3.2", 0, 0, 0, false);
    /* a VPP with another algorithm: an equal split */
    Maglev__VPPLBAS a4 = vpp_as("2001:db8:1::2", 100, 512, 820, true);
    Maglev__VPPLBAS a5 = vpp_as("2001:db8:2::2", 25, 512, 204, true);
    Maglev__VPPLBAS *web_as[] = { &a1, &a2, &a3 }, *web6_as[] = { &a4, &a5 };
    Maglev__VPPLBVIP web = vpp_vip("198.19.0.10/32", "tcp", 80, "gre4", "web");
    web.index = 1;
    web.model_consistent = true;
    web.model_fingerprint = 0x0123456789abcdefull;
    web.n_ases = 3;
    web.ases = web_as;
    Maglev__VPPLBVIP web6 = vpp_vip("2001:db8:ff::10/128", "any", 0, "gre6", "web6");
    web6.src_ip_sticky_known = false;
    web6.n_ases = 2;
    web6.ases = web6_as;
    Maglev__VPPLBVIP stale = vpp_vip("192.0.2.99/32", "udp", 53, "gre4", "");
    stale.src_ip_sticky = true;
    stale.index = 7;
    stale.model_consistent = true;
    stale.model_fingerprint = 0xfedcba9876543210ull;
    Maglev__VPPLBVIP *vips[] = { &web, &web6, &stale };
    Maglev__VPPLBState st = MAGLEV__VPPLBSTATE__INIT;
    st.conf = &conf;
    st.n_vips = 3;
    st.vips = vips;

    static const char want[] =
        "lb conf\n"
        "  ipv4-src-address         198.19.0.1\n"
        "  ipv6-src-address         2001:db8:ffff::1\n"
        "  sticky-buckets-per-core  4096\n"
        "  flow-timeout             30s\n"
        "\n"
        "vip 198.19.0.10/32 tcp:80 frontend web\n"
        "  encap              gre4\n"
        "  flow-table-length  1024\n"
        "  src-ip-sticky      no\n"
        "  index              1\n"
        "  ases               3 (1 removed)\n"
        "  model              consistent (fingerprint 0123456789abcdef)\n"
        "    address 198.18.1.2 weight 100 buckets 674 model 674\n"
        "    address 198.18.2.2 weight 50 buckets 350 model 350\n"
        "    address 198.18.3.2 weight 0 buckets 0 model 0 removed\n"
        "\n"
        "vip 2001:db8:ff::10/128 any frontend web6\n"
        "  encap              gre6\n"
        "  flow-table-length  1024\n"
        "  src-ip-sticky      unknown\n"
        "  ases               2\n"
        "  model              MISMATCH: VPP's buckets are not the Maglev "
        "model's (another algorithm?)\n"
        "    address 2001:db8:1::2 weight 100 buckets 512 model 820 mismatch\n"
        "    address 2001:db8:2::2 weight 25 buckets 512 model 204 mismatch\n"
        "\n"
        "vip 192.0.2.99/32 udp:53 frontend (not configured)\n"
        "  encap              gre4\n"
        "  flow-table-length  1024\n"
        "  src-ip-sticky      yes\n"
        "  index              7\n"
        "  ases               none\n"
        "  model              consistent (fingerprint fedcba9876543210)\n";
    struct render_opts o = { .color = false, .now_us = T0 };
    struct strbuf sb = STRBUF_INIT;
    render_vpp_lb_state(&sb, &o, &st);
    assert_string_equal(strbuf_str(&sb), want);

    /* coloured: the same text plus escapes */
    strbuf_reset(&sb);
    o.color = true;
    render_vpp_lb_state(&sb, &o, &st);
    char *stripped = strip(strbuf_str(&sb));
    assert_string_equal(stripped, want);
    free(stripped);
    assert_non_null(strstr(strbuf_str(&sb), "\033[34mvip\033[0m \033[1m198.19.0.10/32\033[0m"));
    assert_non_null(strstr(strbuf_str(&sb), " \033[33mremoved\033[0m\n"));
    assert_non_null(strstr(strbuf_str(&sb), "\033[34mmodel\033[0m 820 \033[31mmismatch\033[0m\n"));
    assert_non_null(strstr(strbuf_str(&sb), "\033[31mMISMATCH: VPP's"));
    assert_non_null(strstr(strbuf_str(&sb), "\033[33m(not configured)\033[0m\n"));

    /* one frontend's VIP that VPP does not have, and no conf */
    Maglev__VPPLBState none = MAGLEV__VPPLBSTATE__INIT;
    strbuf_reset(&sb);
    o.color = false;
    render_vpp_lb_state(&sb, &o, &none);
    assert_string_equal(strbuf_str(&sb), "no VIPs\n");
    strbuf_free(&sb);
}

/* show vpp lb counters: the LB counters, then the prefix's route counters
 * in the same columns, or "route unknown (WHY)" */
static void test_vpp_lb_counters(void **state)
{
    (void)state;
    Maglev__VPPLBVIPCounters web = MAGLEV__VPPLBVIPCOUNTERS__INIT;
    web.frontend = "web";
    web.prefix = "198.19.0.10/32";
    web.protocol = "tcp";
    web.port = 80;
    web.index = 1;
    web.existing_sessions = 120394;
    web.no_server = 55;
    web.rates_known = true;
    web.existing_sessions_rate = 812.44;
    web.route_known = true;
    web.route_stats_index = 1000;
    web.route_packets = 125461;
    web.route_bytes = 9803112;
    web.route_rates_known = true;
    web.route_packets_rate = 846.2;
    web.route_bytes_rate = 66102.5;
    Maglev__VPPLBVIPCounters dns = MAGLEV__VPPLBVIPCOUNTERS__INIT;
    dns.frontend = "dns";
    dns.prefix = "198.19.0.53/32";
    dns.protocol = "udp";
    dns.port = 53;
    dns.index = 2;
    dns.route_error = "this VPP has no ip_route_lookup";
    Maglev__VPPLBVIPCounters *vips[] = { &web, &dns };
    Maglev__VPPLBCounters c = MAGLEV__VPPLBCOUNTERS__INIT;
    c.stats_address = "/run/vpp/stats.sock";
    c.status = "ok";
    c.interval_ms = 5000;
    c.n_vips = 2;
    c.vips = vips;
    struct render_opts o = { .color = false, .now_us = T0 };
    struct strbuf sb = STRBUF_INIT;
    render_vpp_lb_counters(&sb, &o, &c);
    const char *out = strbuf_str(&sb);
    assert_non_null(strstr(out, "vip 198.19.0.10/32 tcp:80 frontend web index 1\n"
                                "  existing-sessions  120394   812.4/s\n"
                                "  first-session      0        0.0/s\n"
                                "  untracked          0        0.0/s\n"
                                "  no-server          55       0.0/s\n"
                                "  route-packets      125461   846.2/s\n"
                                "  route-bytes        9803112  66102.5/s\n"));
    assert_non_null(strstr(out,
                           "vip 198.19.0.53/32 udp:53 frontend dns index 2\n"
                           "  existing-sessions  0        -\n"
                           "  first-session      0        -\n"
                           "  untracked          0        -\n"
                           "  no-server          0        -\n"
                           "  route              unknown  (this VPP has no ip_route_lookup)\n"));
    /* route rates unknown: "-" */
    web.route_rates_known = false;
    strbuf_reset(&sb);
    render_vpp_lb_counters(&sb, &o, &c);
    assert_non_null(strstr(strbuf_str(&sb), "  route-bytes        9803112  -\n"));
    strbuf_free(&sb);
}

static Maglev__VPPLBOp vpp_op(const char *op, const char *vip, const char *addr,
                              const char *frontend, const char *reason)
{
    Maglev__VPPLBOp o = MAGLEV__VPPLBOP__INIT;
    o.op = (char *)op;
    o.vip = (char *)vip;
    o.address = (char *)addr;
    o.frontend = (char *)frontend;
    o.reason = (char *)reason;
    return o;
}

static char *render_sync(const Maglev__VPPLBSyncResult *r, bool plan, bool color)
{
    struct render_opts o = { .color = color, .now_us = T0 };
    struct strbuf sb = STRBUF_INIT;
    render_vpp_sync(&sb, &o, r, plan);
    return strbuf_detach(&sb);
}

static void test_vpp_sync(void **state)
{
    (void)state;
    const char *web = "198.19.0.10/32 tcp:80";
    Maglev__VPPLBOp c = vpp_op("conf-set",
                               "ipv4-src-address 198.19.0.1 ipv6-src-address 2001:db8:ffff::1 "
                               "sticky-buckets-per-core 4096 flow-timeout 30",
                               "", "", "conf");
    Maglev__VPPLBOp va = vpp_op("vip-add", web, "", "web", "missing");
    va.encap = "gre4";
    Maglev__VPPLBOp aa = vpp_op("as-add", web, "198.18.1.2", "web", "missing");
    aa.weight = 100;
    Maglev__VPPLBOp aw = vpp_op("as-weight", web, "198.18.2.2", "web", "weight");
    aw.old_weight = 7;
    aw.weight = 50;
    Maglev__VPPLBOp ad = vpp_op("as-del", web, "198.18.3.2", "web", "not-configured");
    ad.flush = true;
    ad.error = "VPP error -2 (no such address)";
    Maglev__VPPLBOp vd = vpp_op("vip-del", "192.0.2.99/32 udp:53", "", "", "stale");
    Maglev__VPPLBOp v6 = vpp_op("vip-add", "2001:db8:ff::10/128 any", "", "web6", "missing");
    v6.encap = "gre6";
    v6.src_ip_sticky = true;
    Maglev__VPPLBOp *ops[] = { &c, &va, &aa, &aw, &ad, &vd, &v6 };
    Maglev__VPPLBSyncResult r = MAGLEV__VPPLBSYNC_RESULT__INIT;
    r.scope = "all";
    r.applied = true;
    r.n_ops = 7;
    r.ops = ops;
    r.failed = 1;
    r.duration_us = 4200;
    char *out = render_sync(&r, false, false);
    assert_string_equal(
        out, "sync: applied these operations to VPP\n"
             "  conf-set   ipv4-src-address 198.19.0.1 ipv6-src-address 2001:db8:ffff::1 "
             "sticky-buckets-per-core 4096 flow-timeout 30  reason conf\n"
             "  vip-add    198.19.0.10/32 tcp:80    encap gre4 src-ip-sticky no     frontend web   "
             "reason missing\n"
             "  as-add     198.19.0.10/32 tcp:80    address 198.18.1.2 weight 100   frontend web   "
             "reason missing\n"
             "  as-weight  198.19.0.10/32 tcp:80    address 198.18.2.2 weight 7\xe2\x86\x92"
             "50  frontend web   reason weight\n"
             "  as-del     198.19.0.10/32 tcp:80    address 198.18.3.2 flush        frontend web   "
             "reason not-configured  error: VPP error -2 (no such address)\n"
             "  vip-del    192.0.2.99/32 udp:53                                     frontend -     "
             "reason stale\n"
             "  vip-add    2001:db8:ff::10/128 any  encap gre6 src-ip-sticky yes    frontend web6  "
             "reason missing\n"
             "7 operations, 1 failed, in 4.2ms\n");
    char *colored = render_sync(&r, false, true);
    char *stripped = strip(colored);
    assert_string_equal(stripped, out);
    assert_non_null(strstr(colored, "\033[31merror: VPP error -2 (no such address)\033[0m\n"));
    assert_non_null(strstr(colored, "\033[31m1 failed\033[0m"));
    free(stripped);
    free(colored);
    free(out);

    /* the same operations planned: "would", no failures */
    ad.error = "";
    r.applied = false;
    r.failed = 0;
    r.n_ops = 4;
    r.ops = ops + 2; /* as-add, as-weight, as-del, vip-del */
    out = render_sync(&r, true, false);
    assert_string_equal(out, "plan: a sync would apply these operations (nothing applied)\n"
                             "  as-add     198.19.0.10/32 tcp:80  address 198.18.1.2 weight 100  "
                             " frontend web  reason missing\n"
                             "  as-weight  198.19.0.10/32 tcp:80  address 198.18.2.2 weight "
                             "7\xe2\x86\x92"
                             "50  frontend web  reason weight\n"
                             "  as-del     198.19.0.10/32 tcp:80  address 198.18.3.2 flush       "
                             " frontend web  reason not-configured\n"
                             "  vip-del    192.0.2.99/32 udp:53                                  "
                             " frontend -    reason stale\n"
                             "4 operations would be applied, in 4.2ms\n");
    free(out);
    /* a sync under --vpp-sync-dry-run applies nothing either */
    r.n_ops = 1;
    out = render_sync(&r, false, false);
    assert_string_equal(out, "sync: dry run, nothing applied (maglevd --vpp-sync-dry-run)\n"
                             "  as-add     198.19.0.10/32 tcp:80  address 198.18.1.2 weight 100  "
                             "frontend web  reason missing\n"
                             "1 operation would be applied, in 4.2ms\n");
    free(out);

    /* nothing to do */
    Maglev__VPPLBSyncResult empty = MAGLEV__VPPLBSYNC_RESULT__INIT;
    empty.scope = "vip";
    empty.duration_us = 850;
    out = render_sync(&empty, true, false);
    assert_string_equal(out, "plan: nothing to do, in 850\xc2\xb5s\n");
    free(out);
    empty.applied = true;
    empty.duration_us = 1250000;
    out = render_sync(&empty, false, false);
    assert_string_equal(out, "sync: nothing to do, in 1.25s\n");
    free(out);
    colored = render_sync(&empty, false, true);
    assert_string_equal(colored, "\033[34msync:\033[0m nothing to do, in 1.25s\n");
    free(colored);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_visible_width),   cmocka_unit_test(test_table_alignment),
        cmocka_unit_test(test_state_colors),    cmocka_unit_test(test_frontend_hierarchy),
        cmocka_unit_test(test_frontend_model),  cmocka_unit_test(test_frontend_vpp_status),
        cmocka_unit_test(test_backend_details), cmocka_unit_test(test_event_lines),
        cmocka_unit_test(test_config_result),   cmocka_unit_test(test_times),
        cmocka_unit_test(test_json_escaping),   cmocka_unit_test(test_json_fields),
        cmocka_unit_test(test_vpp_info),        cmocka_unit_test(test_vpp_lb_state),
        cmocka_unit_test(test_vpp_lb_counters), cmocka_unit_test(test_vpp_sync),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
