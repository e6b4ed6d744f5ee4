/* Unit tests for the config loader: defaults, stages, messages, limits. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/duration.h"
#include "common/strbuf.h"
#include "config/config.h"
#include "config/config_int.h"

#define VPP_OK                                                                                     \
    "  vpp:\n    lb:\n      ipv4-src-address: 192.0.2.1\n      ipv6-src-address: 2001:db8::1\n"

struct loaded {
    struct maglev_config *cfg;
    struct config_diags d;
    int rc;
};

static struct loaded load(const char *yaml)
{
    struct loaded l = { 0 };
    l.rc = config_load_buffer("t.yaml", yaml, strlen(yaml), &l.cfg, &l.d);
    return l;
}

static void unload(struct loaded *l)
{
    config_free(l->cfg);
    config_diags_free(&l->d);
}

/* The formatted diagnostics joined by newlines. */
static char *diags(const struct loaded *l)
{
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < l->d.n; i++) {
        char *s = config_diag_format(&l->d, i);
        strbuf_addf(&sb, "%s\n", s);
        free(s);
    }
    return strbuf_detach(&sb);
}

static void expect_error(const char *yaml, int exit_code, const char *needle)
{
    struct loaded l = load(yaml);
    char *all = diags(&l);
    if (l.rc == 0 || config_exit_code(&l.d) != exit_code || !strstr(all, needle)) {
        print_error("rc=%d exit=%d, want exit %d and \"%s\" in:\n%s", l.rc, config_exit_code(&l.d),
                    exit_code, needle, all);
        free(all);
        unload(&l);
        fail();
    }
    free(all);
    unload(&l);
}

static void test_minimal_defaults(void **state)
{
    (void)state;
    struct loaded l = load("maglev:\n" VPP_OK);
    assert_int_equal(l.rc, 0);
    assert_int_equal(config_exit_code(&l.d), 0);
    assert_int_equal(l.cfg->transition_history, 5);
    assert_null(l.cfg->netns);
    assert_int_equal(l.cfg->n_backends, 0);
    const struct vpp_lb_conf *v = &l.cfg->vpp;
    assert_int_equal(v->sync_interval, 30 * DURATION_SEC);
    assert_int_equal(v->sticky_buckets_per_core, 65536);
    assert_int_equal(v->flow_timeout, 40 * DURATION_SEC);
    assert_int_equal(v->startup_min_delay, 5 * DURATION_SEC);
    assert_int_equal(v->startup_max_delay, 30 * DURATION_SEC);
    assert_int_equal(v->ipv4_src_address.family, AF_INET);
    assert_int_equal(v->ipv6_src_address.family, AF_INET6);
    unload(&l);
}

static const char *full =
    "maglev:\n"
    "  healthchecks:\n"
    "    web: {type: http}\n"
    "    sec: {type: https, params: {tls-insecure: true}}\n"
    "    ping: {type: icmp, interval: 500ms}\n"
    "    conn: {type: tcp, port: 22, interval: 1s, fast-interval: 200ms, down-interval: 10s,"
    " timeout: 300ms, rise: 4, fall: 5, source-address: 192.0.2.99}\n"
    "  backends:\n"
    "    zed: {address: 192.0.2.30, healthcheck: conn}\n"
    "    alpha: {address: 192.0.2.10, healthcheck: web, enabled: false}\n"
    "    mid: {address: 192.0.2.20}\n"
    "  frontends:\n"
    "    vip:\n"
    "      address: 203.0.113.1\n"
    "      protocol: udp\n"
    "      port: 53\n"
    "      pools:\n"
    "        - name: first\n"
    "          backends: {zed: {weight: 7}, alpha: }\n"
    "        - name: second\n"
    "          backends: {mid: {}}\n" VPP_OK;

static void test_full_values(void **state)
{
    (void)state;
    struct loaded l = load(full);
    assert_int_equal(l.rc, 0);
    const struct maglev_config *c = l.cfg;
    /* sorted by name */
    assert_string_equal(c->healthchecks[0].name, "conn");
    assert_string_equal(c->backends[0].name, "alpha");
    assert_string_equal(c->backends[2].name, "zed");
    const struct healthcheck_conf *h = config_find_healthcheck(c, "web");
    assert_non_null(h);
    assert_int_equal(h->type, HC_HTTP);
    assert_int_equal(h->port, 80);
    assert_string_equal(h->path, "/");
    assert_int_equal(h->n_codes, 1);
    assert_int_equal(h->codes[0].lo, 200);
    assert_int_equal(h->codes[0].hi, 399);
    assert_int_equal(h->interval, 2 * DURATION_SEC);
    assert_int_equal(h->fast_interval, 2 * DURATION_SEC);
    assert_int_equal(h->down_interval, 2 * DURATION_SEC);
    assert_int_equal(h->timeout, DURATION_SEC);
    assert_int_equal(h->rise, 2);
    assert_int_equal(h->fall, 3);
    h = config_find_healthcheck(c, "sec");
    assert_int_equal(h->port, 443);
    assert_true(h->tls_insecure);
    assert_true(h->tls_resume); /* the default */
    h = config_find_healthcheck(c, "ping");
    assert_int_equal(h->port, 0);
    assert_int_equal(h->fast_interval, 500 * DURATION_MS);
    assert_int_equal(h->timeout, 500 * DURATION_MS); /* default capped at interval */
    h = config_find_healthcheck(c, "conn");
    assert_int_equal(h->port, 22);
    assert_int_equal(h->fast_interval, 200 * DURATION_MS);
    assert_int_equal(h->down_interval, 10 * DURATION_SEC);
    assert_int_equal(h->timeout, 300 * DURATION_MS);
    assert_int_equal(h->rise, 4);
    assert_int_equal(h->fall, 5);
    assert_int_equal(h->source_address.family, AF_INET);
    const struct backend_conf *b = config_find_backend(c, "alpha");
    assert_false(b->enabled);
    assert_int_equal(b->hc_index, (int)(config_find_healthcheck(c, "web") - c->healthchecks));
    assert_int_equal(config_find_backend(c, "mid")->hc_index, -1);
    assert_null(config_find_backend(c, "nope"));
    const struct frontend_conf *f = config_find_frontend(c, "vip");
    assert_int_equal(f->protocol, FE_PROTO_UDP);
    assert_int_equal(f->port, 53);
    assert_true(f->flush_on_down);
    assert_false(f->src_ip_sticky);
    assert_int_equal(f->n_pools, 2);
    assert_string_equal(f->pools[0].name, "first");
    assert_int_equal(f->pools[0].n_backends, 2);
    assert_string_equal(f->pools[0].backends[0].backend, "alpha");
    assert_int_equal(f->pools[0].backends[0].weight, 100);
    assert_int_equal(f->pools[0].backends[1].weight, 7);
    assert_string_equal(c->backends[f->pools[0].backends[1].backend_index].name, "zed");
    unload(&l);
}

static void test_dump_roundtrip(void **state)
{
    (void)state;
    struct loaded l = load(full);
    assert_int_equal(l.rc, 0);
    char *d1 = config_dump(l.cfg);
    struct loaded l2 = load(d1);
    assert_int_equal(l2.rc, 0);
    char *d2 = config_dump(l2.cfg);
    assert_string_equal(d1, d2);
    assert_non_null(strstr(d1, "      source-address: 192.0.2.99\n"));
    assert_non_null(strstr(d1, "        response-codes: [\"200-399\"]\n"));
    char *s = config_summary(l.cfg);
    assert_string_equal(s, "4 healthchecks, 3 backends, 1 frontend, 2 pools");
    free(s);
    free(d1);
    free(d2);
    unload(&l);
    unload(&l2);
}

static void test_stage_order(void **state)
{
    (void)state;
    /* structure errors hide semantic ones */
    expect_error("maglev:\n  backends:\n    b: {address: nope, bogus: 1}\n" VPP_OK, 1,
                 "t.yaml:3:24: backends.b: unknown key \"bogus\"");
    struct loaded l = load("maglev:\n  backends:\n    b: {address: nope, bogus: 1}\n" VPP_OK);
    assert_int_equal(l.d.n, 1);
    assert_int_equal(l.d.stage, CONFIG_STAGE_STRUCTURE);
    unload(&l);
    /* semantic errors hide VPP ones; all semantic errors are reported */
    l = load("maglev:\n  backends:\n    b: {address: nope}\n    c: {address: 1.2.3}\n");
    assert_int_equal(l.d.stage, CONFIG_STAGE_SEMANTIC);
    assert_int_equal(l.d.n, 2);
    assert_int_equal(config_exit_code(&l.d), 2);
    unload(&l);
    /* VPP last */
    l = load("maglev:\n  backends:\n    b: {address: 192.0.2.1}\n");
    assert_int_equal(l.d.stage, CONFIG_STAGE_VPP);
    assert_int_equal(l.d.n, 2);
    assert_int_equal(config_exit_code(&l.d), 2);
    unload(&l);
}

static void test_messages(void **state)
{
    (void)state;
    expect_error("maglev:\n  healthchecks:\n    h: {type: tcp, port: 1, intervall: 2s}\n", 1,
                 "did you mean \"interval\"?");
    expect_error("maglev:\n  backends: {a: {address: 192.0.2.1}, a: {address: 192.0.2.2}}\n", 1,
                 "duplicate key \"a\" (first defined at line 2)");
    expect_error("maglev:\n  healthchecks:\n    h: {type: tcp, port: 1, interval: 30}\n", 1,
                 "\"30\" is a bare number; a duration needs a unit");
    expect_error("maglev:\n  healthchecks:\n    h: {type: tcp, port: \"22\"}\n", 1,
                 "port: expected an integer, got the string \"22\"");
    expect_error("maglev:\n  backends:\n    b: {address: 192.0.2.1, enabled: yes}\n", 1,
                 "enabled: expected true or false, got \"yes\"");
    expect_error("maglev:\n  frontends:\n    f: {address: 192.0.2.1, pools: {}}\n", 1,
                 "pools: expected a list of pools");
    expect_error("mgalev: {}\n", 1, "unknown key \"mgalev\"; did you mean \"maglev\"?");
    expect_error("- a\n", 1, "expected a top-level mapping");
    expect_error("maglev:\n  frontends:\n    f:\n      address: 192.0.2.9\n      pools:\n"
                 "        - name: p\n          backends: {b: {weight: 101}}\n"
                 "  backends: {b: {address: 192.0.2.1}}\n" VPP_OK,
                 2, "t.yaml:7:34: frontends.f.pools[0].backends.b: weight 101 out of range 0..100");
}

static void test_yaml_limits(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "maglev: ");
    for (int i = 0; i < 10000; i++)
        strbuf_addc(&sb, '[');
    for (int i = 0; i < 10000; i++)
        strbuf_addc(&sb, ']');
    expect_error(strbuf_str(&sb), 1, "nesting deeper than 64 levels");
    strbuf_reset(&sb);
    strbuf_adds(&sb, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 10; i++) {
        strbuf_addf(&sb, "a%d: &a%d [", i, i);
        for (int j = 0; j < 10; j++)
            strbuf_addf(&sb, "%s*a%d", j ? ", " : "", i - 1);
        strbuf_adds(&sb, "]\n");
    }
    expect_error(strbuf_str(&sb), 1, "alias bomb");
    strbuf_free(&sb);
    expect_error("a: &x [*x]\n", 1, "");
    expect_error("a: *nope\n", 1, "refers to no anchor");
    expect_error("", 1, "the file is empty");
    expect_error("maglev: {}\n---\nmaglev: {}\n", 1, "a second YAML document");
    expect_error("maglev: !custom {}\n", 1, "unsupported YAML tag");
    expect_error("maglev:\n  backends:\n   [a]: 1\n", 1, "");
}

static void test_hostile_buffers(void **state)
{
    (void)state;
    /* 50 MB: rejected by size before any parsing */
    size_t big = 50u * 1024 * 1024;
    char *data = malloc(big);
    assert_non_null(data);
    memset(data, '#', big);
    struct config_diags d = { 0 };
    struct maglev_config *cfg = NULL;
    assert_int_equal(config_load_buffer("big.yaml", data, big, &cfg, &d), -EINVAL);
    char *s = config_diag_format(&d, 0);
    assert_string_equal(s, "big.yaml: file is 52428800 bytes, larger than the 16 MiB limit");
    free(s);
    config_diags_free(&d);
    /* binary garbage, with NUL bytes */
    uint32_t x = 12345;
    for (size_t i = 0; i < 4096; i++) {
        x = x * 1103515245 + 12345;
        data[i] = (char)(x >> 16);
    }
    memset(&d, 0, sizeof(d));
    assert_int_equal(config_load_buffer("bin.yaml", data, 4096, &cfg, &d), -EINVAL);
    assert_int_equal(config_exit_code(&d), 1);
    config_diags_free(&d);
    free(data);
    /* a NUL inside a quoted scalar is not silently cut */
    static const char nul[] = "maglev:\n  healthchecker: {netns: \"a\\0b\"}\n";
    expect_error(nul, 1, "netns: value contains a NUL byte");
    /* many small documents' worth of nodes */
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "x: [");
    for (int i = 0; i < 1100000; i++)
        strbuf_adds(&sb, "1,");
    strbuf_adds(&sb, "1]\n");
    expect_error(strbuf_str(&sb), 1, "more than 1000000 nodes");
    strbuf_free(&sb);
}

static void test_aliases_allowed(void **state)
{
    (void)state;
    struct loaded l = load("maglev:\n"
                           "  healthchecks:\n"
                           "    h: &hc {type: tcp, port: 80}\n"
                           "    h2: *hc\n"
                           "  backends:\n"
                           "    a: {address: 192.0.2.1, healthcheck: h}\n" VPP_OK);
    assert_int_equal(l.rc, 0);
    assert_int_equal(config_find_healthcheck(l.cfg, "h2")->port, 80);
    unload(&l);
}

static void test_big_config(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "maglev:\n  healthchecks:\n    h: {type: tcp, port: 80}\n  backends:\n");
    for (int i = 0; i < 5000; i++)
        strbuf_addf(&sb, "    b%d: {address: 10.0.%d.%d, healthcheck: h}\n", i, i / 256, i % 256);
    strbuf_adds(&sb, "  frontends:\n    f:\n      address: 192.0.2.1\n      pools:\n"
                     "        - name: p\n          backends:\n");
    for (int i = 0; i < 5000; i++)
        strbuf_addf(&sb, "            b%d: {}\n", i);
    strbuf_adds(&sb, VPP_OK);
    struct loaded l = load(strbuf_str(&sb));
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.cfg->n_backends, 5000);
    assert_int_equal(l.cfg->frontends[0].pools[0].n_backends, 5000);
    assert_non_null(config_find_backend(l.cfg, "b4999"));
    unload(&l);
    strbuf_free(&sb);
}

static void test_file_errors(void **state)
{
    (void)state;
    struct config_diags d = { 0 };
    struct maglev_config *cfg = NULL;
    assert_int_equal(config_load_file("/nonexistent/maglev.yaml", &cfg, &d), -EINVAL);
    assert_int_equal(config_exit_code(&d), 1);
    char *s = config_diag_format(&d, 0);
    assert_string_equal(s, "/nonexistent/maglev.yaml: cannot open: No such file or directory "
                           "(give the path with --config or MAGLEV_CONFIG)");
    free(s);
    config_diags_free(&d);
    memset(&d, 0, sizeof(d));
    assert_int_equal(config_load_file("/", &cfg, &d), -EINVAL);
    s = config_diag_format(&d, 0);
    assert_non_null(strstr(s, "is a directory"));
    free(s);
    config_diags_free(&d);
    assert_null(cfg);
}

static void test_levenshtein_suggest(void **state)
{
    (void)state;
    assert_int_equal(config_levenshtein("kitten", "sitting"), 3);
    assert_int_equal(config_levenshtein("", "abc"), 3);
    assert_int_equal(config_levenshtein("same", "same"), 0);
    static const char *const keys[] = { "interval", "fast-interval", "timeout", NULL };
    assert_string_equal(config_suggest("intervall", keys), "interval");
    assert_string_equal(config_suggest("fast_interval", keys), "fast-interval");
    assert_string_equal(config_suggest("timeot", keys), "timeout");
    assert_null(config_suggest("zzzzzz", keys));
}

/* config_hash_hex: the canonical dump's identity (the integration test
 * checks it against Python's hashlib over maglevd --check --dump) */
static void test_config_hash(void **state)
{
    (void)state;
    static const char a[] =
        "maglev:\n"
        "  backends:\n"
        "    b1: {address: 192.0.2.10}\n"
        "    b2: {address: 192.0.2.11}\n"
        "  frontends:\n"
        "    web:\n"
        "      address: 198.19.0.10\n"
        "      protocol: tcp\n"
        "      port: 80\n"
        "      pools:\n"
        "        - name: primary\n"
        "          backends: {b1: {}, b2: {weight: 50}}\n"
        "  vpp:\n"
        "    lb: {ipv4-src-address: 192.0.2.1, ipv6-src-address: \"2001:db8::1\"}\n";
    /* the same meaning: comments, other key order, a default written out */
    static const char b[] =
        "# the fleet's config\n"
        "maglev:\n"
        "  vpp:\n"
        "    lb: {ipv6-src-address: \"2001:db8::1\", ipv4-src-address: 192.0.2.1}\n"
        "  frontends:\n"
        "    web:  # the site\n"
        "      port: 80\n"
        "      protocol: tcp\n"
        "      address: 198.19.0.10\n"
        "      pools:\n"
        "        - name: primary\n"
        "          backends: {b2: {weight: 50}, b1: {weight: 100}}\n"
        "  backends:\n"
        "    b2: {address: 192.0.2.11}\n"
        "    b1: {address: 192.0.2.10}\n";
    struct loaded la = load(a), lb = load(b);
    assert_int_equal(la.rc, 0);
    assert_int_equal(lb.rc, 0);
    char ha[CONFIG_HASH_HEX], hb[CONFIG_HASH_HEX], hc[CONFIG_HASH_HEX];
    config_hash_hex(la.cfg, ha);
    config_hash_hex(lb.cfg, hb);
    assert_int_equal(strlen(ha), 64);
    assert_int_equal(strspn(ha, "0123456789abcdef"), 64);
    assert_string_equal(ha, hb);
    /* a real difference: b2's weight */
    char *c = strdup(a);
    char *w = strstr(c, "weight: 50");
    assert_non_null(w);
    memcpy(w, "weight: 51", 10);
    struct loaded lc = load(c);
    assert_int_equal(lc.rc, 0);
    config_hash_hex(lc.cfg, hc);
    assert_int_equal(strlen(hc), 64);
    assert_string_not_equal(ha, hc);
    free(c);
    unload(&la);
    unload(&lb);
    unload(&lc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_defaults),
        cmocka_unit_test(test_full_values),
        cmocka_unit_test(test_dump_roundtrip),
        cmocka_unit_test(test_stage_order),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_yaml_limits),
        cmocka_unit_test(test_aliases_allowed),
        cmocka_unit_test(test_hostile_buffers),
        cmocka_unit_test(test_big_config),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_levenshtein_suggest),
        cmocka_unit_test(test_config_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
