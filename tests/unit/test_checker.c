/* Unit tests for the checker engine on a real libev loop, with a scripted
 * probe layer in place of the network (tests/unit/fake_probe.c): workers,
 * scheduling, operator actions, the hook, and reload. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "config/config.h"
#include "core_harness.h"
#include "fake_probe.h"
#include "health/health.h"

static struct ev_loop *loop;
static struct health_transition seen[64];
static char seen_name[64][32];
static int n_seen;

static void hook(void *ctx, const struct backend_rt *b, const struct health_transition *t)
{
    (void)ctx;
    if (n_seen < 64) {
        seen[n_seen] = *t;
        snprintf(seen_name[n_seen], sizeof(seen_name[0]), "%s", b->name);
        n_seen++;
    }
}

#define VPP "  vpp: {lb: {ipv4-src-address: 192.0.2.1, ipv6-src-address: \"2001:db8::1\"}}\n"
#define HCS                                                                                        \
    "  healthchecks:\n"                                                                            \
    "    h: {type: tcp, port: 80, interval: 100ms, rise: 2, fall: 2}\n"                            \
    "    h2: {type: tcp, port: 81, interval: 100ms}\n"

/* Runs the loop until every probing backend has a probe in flight. */
static void run_until_probing(int want)
{
    for (int i = 0; i < 200 && fake_n < want; i++)
        ev_run(loop, EVRUN_ONCE);
    assert_int_equal(fake_n, want);
}

static int setup(void **state)
{
    (void)state;
    loop = ev_loop_new(EVFLAG_AUTO);
    n_seen = 0;
    fake_n = 0;
    fake_started = 0;
    log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT, 2);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ev_loop_destroy(loop);
    return 0;
}

static void test_probe_drives_state(void **state)
{
    (void)state;
    struct maglev_config *cfg =
        harness_load_buffer("maglev:\n" HCS "  backends:\n"
                            "    a: {address: 192.0.2.10, healthcheck: h}\n"
                            "    s: {address: 192.0.2.11}\n"
                            "    d: {address: 192.0.2.12, healthcheck: h, enabled: "
                            "false}\n" VPP);
    struct checker *ck = checker_new(loop, cfg);
    checker_set_hook(ck, hook, NULL);
    /* static backend up at once, disabled one disabled, no probes for them */
    assert_int_equal(checker_find(ck, "s")->sm.state, BS_UP);
    assert_int_equal(checker_find(ck, "d")->sm.state, BS_DISABLED);
    assert_int_equal(checker_find(ck, "d")->history.len, 1);
    run_until_probing(1);
    assert_int_equal(fake_find("a"), 0);
    fake_complete(0, PC_L4OK);
    const struct backend_rt *a = checker_find(ck, "a");
    assert_int_equal(a->sm.state, BS_UP);
    assert_int_equal(a->last.code, PC_L4OK);
    assert_int_equal(n_seen, 1);
    assert_string_equal(seen_name[0], "a");
    assert_int_equal(seen[0].from, BS_UNKNOWN);
    assert_int_equal(seen[0].to, BS_UP);
    /* the next probe is scheduled; two failures take it down (fall 2) */
    run_until_probing(1);
    fake_complete(0, PC_L4CON);
    assert_int_equal(a->sm.state, BS_UP);
    run_until_probing(1);
    fake_complete(0, PC_L4TOUT);
    assert_int_equal(a->sm.state, BS_DOWN);
    assert_int_equal(seen[n_seen - 1].code, PC_L4TOUT);
    assert_int_equal(a->history.len, 2);
    assert_int_equal(a->probes, 3);
    assert_int_equal(a->passes, 1);
    checker_free(ck);
    assert_int_equal(fake_n, 0);
    config_free(cfg);
}

static void test_operator_actions(void **state)
{
    (void)state;
    struct maglev_config *cfg = harness_load_buffer(
        "maglev:\n" HCS "  backends:\n    a: {address: 192.0.2.10, healthcheck: h}\n" VPP);
    struct checker *ck = checker_new(loop, cfg);
    const struct backend_rt *a = checker_find(ck, "a");
    run_until_probing(1);
    fake_complete(0, PC_L4OK);
    run_until_probing(1);
    /* pause cancels the probe in flight and starts no new one */
    assert_int_equal(checker_pause(ck, "a"), 0);
    assert_int_equal(a->sm.state, BS_PAUSED);
    assert_int_equal(fake_n, 0);
    int started = fake_started;
    harness_run_for(loop, 0.3); /* three intervals */
    assert_int_equal(fake_started, started);
    assert_int_equal(checker_pause(ck, "a"), 0); /* again: no-op */
    /* resume: unknown, probing at once, history kept */
    size_t hist = a->history.len;
    assert_int_equal(checker_resume(ck, "a"), 0);
    assert_int_equal(a->sm.state, BS_UNKNOWN);
    assert_int_equal(a->history.len, hist + 1);
    run_until_probing(1);
    fake_complete(0, PC_L4OK);
    assert_int_equal(a->sm.state, BS_UP);
    /* disable: pause and resume are errors while disabled */
    assert_int_equal(checker_disable(ck, "a"), 0);
    assert_int_equal(a->sm.state, BS_DISABLED);
    assert_int_equal(a->history.len ? health_history_at(&a->history, a->history.len - 1)->code
                                    : PC_NONE,
                     PC_DISABLED);
    assert_int_equal(fake_n, 0);
    assert_int_equal(checker_pause(ck, "a"), -EPERM);
    assert_int_equal(checker_resume(ck, "a"), -EPERM);
    assert_int_equal(checker_enable(ck, "a"), 0);
    assert_int_equal(a->sm.state, BS_UNKNOWN);
    run_until_probing(1);
    assert_int_equal(checker_pause(ck, "nope"), -ENOENT);
    assert_int_equal(checker_enable(ck, "nope"), -ENOENT);
    checker_free(ck);
    config_free(cfg);
}

static void test_reload(void **state)
{
    (void)state;
    struct maglev_config *c1 =
        harness_load_buffer("maglev:\n" HCS "  backends:\n"
                            "    keep: {address: 192.0.2.10, healthcheck: h}\n"
                            "    move: {address: 192.0.2.11, healthcheck: h}\n"
                            "    swap: {address: 192.0.2.12, healthcheck: h}\n"
                            "    gone: {address: 192.0.2.13, healthcheck: h}\n"
                            "    off: {address: 192.0.2.14, healthcheck: h}\n" VPP);
    struct checker *ck = checker_new(loop, c1);
    checker_set_hook(ck, hook, NULL);
    run_until_probing(5);
    for (int i = 0; i < 5; i++)
        fake_complete(0, PC_L4OK);
    assert_int_equal(checker_disable(ck, "off"), 0); /* run-time flag */
    run_until_probing(4);
    struct probe *keep_probe = fake_probes[fake_find("keep")];
    n_seen = 0;
    /* keep: unchanged (its healthcheck is renamed but identical);
     * move: new address; swap: other healthcheck; gone: removed; new: added */
    struct maglev_config *c2 =
        harness_load_buffer("maglev:\n" HCS "    h3: {type: tcp, port: 80, interval: "
                            "100ms, rise: 2, fall: 2}\n"
                            "  backends:\n"
                            "    keep: {address: 192.0.2.10, healthcheck: h3}\n"
                            "    move: {address: 192.0.2.21, healthcheck: h}\n"
                            "    swap: {address: 192.0.2.12, healthcheck: h2}\n"
                            "    off: {address: 192.0.2.14, healthcheck: h}\n"
                            "    new: {address: 192.0.2.15, healthcheck: h}\n" VPP);
    struct checker_reload_stats st;
    checker_reload(ck, c2, &st);
    config_free(c1);
    assert_int_equal(st.added, 1);
    assert_int_equal(st.changed, 2);
    assert_int_equal(st.removed, 1);
    assert_int_equal(st.unchanged, 2);
    assert_int_equal(checker_count(ck), 5);
    assert_null(checker_find(ck, "gone"));
    /* keep: same state, same probe still in flight */
    assert_int_equal(checker_find(ck, "keep")->sm.state, BS_UP);
    assert_ptr_equal(fake_probes[fake_find("keep")], keep_probe);
    /* move and swap restarted from unknown */
    assert_int_equal(checker_find(ck, "move")->sm.state, BS_UNKNOWN);
    assert_int_equal(checker_find(ck, "swap")->sm.state, BS_UNKNOWN);
    assert_int_equal(checker_backend_healthcheck(checker_find(ck, "swap"))->port, 81);
    /* the run-time disable survives the reload */
    assert_int_equal(checker_find(ck, "off")->sm.state, BS_DISABLED);
    assert_int_equal(checker_find(ck, "new")->sm.state, BS_UNKNOWN);
    /* the hook saw move/swap restart and gone removed */
    int removed = -1;
    for (int i = 0; i < n_seen; i++)
        if (seen[i].to == BS_REMOVED)
            removed = i;
    assert_true(removed >= 0);
    assert_string_equal(seen_name[removed], "gone");
    assert_int_equal(seen[removed].code, PC_REMOVED);
    /* the in-flight probe of keep completes normally after the reload */
    fake_complete(fake_find("keep"), PC_L4OK);
    assert_int_equal(checker_find(ck, "keep")->probes, 2);
    /* a config that flips enabled wins over the run-time flag */
    struct maglev_config *c3 =
        harness_load_buffer("maglev:\n" HCS "  backends:\n"
                            "    keep: {address: 192.0.2.10, healthcheck: h, enabled: "
                            "false}\n"
                            "    off: {address: 192.0.2.14, healthcheck: h}\n" VPP);
    checker_reload(ck, c3, &st);
    config_free(c2);
    assert_int_equal(checker_find(ck, "keep")->sm.state, BS_DISABLED);
    assert_int_equal(checker_find(ck, "off")->sm.state, BS_DISABLED);
    checker_free(ck);
    assert_int_equal(fake_n, 0);
    config_free(c3);
}

/* Each backend's TLS session cache lives as long as its worker with the
 * same settings: kept across probes and across a reload that leaves the
 * backend alone, freed when its TLS settings change, on pause and when the
 * backend is removed; none for tls-resume: false. */
static const char *tls_cfg(const char *params_a)
{
    static char buf[1024];
    snprintf(buf, sizeof(buf),
             "maglev:\n  healthchecks:\n"
             "    ta: {type: https, interval: 100ms, params: {%s}}\n"
             "    full: {type: https, interval: 100ms, params: {tls-resume: false}}\n"
             "  backends:\n"
             "    a: {address: 192.0.2.10, healthcheck: ta}\n"
             "    b: {address: 192.0.2.10, healthcheck: ta}\n"
             "    f: {address: 192.0.2.11, healthcheck: full}\n" VPP,
             params_a);
    return buf;
}

static void test_tls_cache_lifetime(void **state)
{
    (void)state;
    fake_tls_live = 0;
    struct maglev_config *c1 = harness_load_buffer(tls_cfg("tls-insecure: true"));
    struct checker *ck = checker_new(loop, c1);
    run_until_probing(3);
    /* one cache per backend, even for two on the same address and settings */
    const struct backend_rt *a = checker_find(ck, "a"), *b = checker_find(ck, "b");
    assert_non_null(a->tls);
    assert_non_null(b->tls);
    assert_ptr_not_equal(a->tls, b->tls);
    assert_null(checker_find(ck, "f")->tls); /* tls-resume: false */
    assert_int_equal(fake_tls_live, 2);
    struct probe_tls_cache *a_tls = a->tls;
    for (int i = 0; i < 3; i++)
        fake_complete(0, PC_L7OK);
    run_until_probing(3);
    assert_ptr_equal(a->tls, a_tls); /* kept from probe to probe */

    /* a's settings the same: kept; b's TLS settings changed: freed */
    struct maglev_config *c3 = harness_load_buffer(
        "maglev:\n  healthchecks:\n"
        "    ta: {type: https, interval: 100ms, params: {tls-insecure: true}}\n"
        "    tb: {type: https, interval: 100ms, params: {tls-insecure: false}}\n"
        "    full: {type: https, interval: 100ms, params: {tls-resume: false}}\n"
        "  backends:\n"
        "    a: {address: 192.0.2.10, healthcheck: ta}\n"
        "    b: {address: 192.0.2.10, healthcheck: tb}\n"
        "    f: {address: 192.0.2.11, healthcheck: full}\n" VPP);
    struct checker_reload_stats st;
    checker_reload(ck, c3, &st);
    config_free(c1);
    assert_int_equal(st.unchanged, 2);
    assert_int_equal(st.changed, 1);
    assert_ptr_equal(checker_find(ck, "a")->tls, a_tls);
    assert_null(checker_find(ck, "b")->tls);
    assert_int_equal(fake_tls_live, 1);
    /* paused: freed; removed: freed */
    assert_int_equal(checker_pause(ck, "a"), 0);
    assert_null(checker_find(ck, "a")->tls);
    assert_int_equal(fake_tls_live, 0);
    assert_int_equal(checker_resume(ck, "a"), 0);
    run_until_probing(3);
    assert_int_equal(fake_tls_live, 2);
    struct maglev_config *c4 = harness_load_buffer(tls_cfg("tls-insecure: true"));
    checker_reload(ck, c4, &st); /* b back to ta: changed again */
    config_free(c3);
    assert_int_equal(fake_tls_live, 1);
    checker_free(ck);
    assert_int_equal(fake_tls_live, 0);
    config_free(c4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_probe_drives_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_operator_actions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_cache_lifetime, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
