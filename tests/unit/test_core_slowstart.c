/* Unit tests of slow start in src/core (slowstart.c): the real core and
 * checker on a real loop, scripted probes, a scripted VPP sync:
 *   - no ramp at start-up; up from down ramps: the weight climbs in steps
 *     (monotonic, full at the end), every step a targeted change with
 *     trigger "slow-start" of only the frontends using the backend;
 *   - disable/enable ramps; down mid-ramp ends it;
 *   - no ramp in a frontend coming out of a full outage;
 *   - a reload keeps a ramp with the new duration, or ends it when turned
 *     off; the backend's slow-start wins over the healthcheck's;
 *   - config errors name the key and the fix. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/log.h"
#include "config/config.h"
#include "core/core.h"
#include "core_harness.h"
#include "fake_probe.h"
#include "fake_vpp_sync.h"
#include "health/health.h"

static struct ev_loop *loop;
static ev_timer tick;
static struct harness_dir tmp;

#define VPP                                                                                        \
    "  vpp: {lb: {ipv4-src-address: 192.0.2.250, ipv6-src-address: \"2001:db8::1\", "              \
    "startup-min-delay: 0s, startup-max-delay: 0s}}\n"

/* a and b in web; b alone in other; h ramps over 2 s (2 steps of 1 s) */
#define YAML(HC_SS, B_SS)                                                                          \
    "maglev:\n"                                                                                    \
    "  healthchecks:\n"                                                                            \
    "    h: {type: tcp, port: 80, interval: 100ms, rise: 1, fall: 1" HC_SS "}\n"                   \
    "  backends:\n"                                                                                \
    "    a: {address: 10.0.0.1, healthcheck: h}\n"                                                 \
    "    b: {address: 10.0.0.2, healthcheck: h" B_SS "}\n"                                         \
    "    c: {address: 10.0.0.3, healthcheck: h}\n"                                                 \
    "  frontends:\n"                                                                               \
    "    web:\n"                                                                                   \
    "      address: 192.0.2.1\n"                                                                   \
    "      protocol: tcp\n"                                                                        \
    "      port: 80\n"                                                                             \
    "      pools: [{name: p, backends: {a: {weight: 100}, b: {weight: 50}}}]\n"                    \
    "    solo:\n"                                                                                  \
    "      address: 192.0.2.2\n"                                                                   \
    "      protocol: tcp\n"                                                                        \
    "      port: 80\n"                                                                             \
    "      pools: [{name: p, backends: {c: {weight: 100}}}]\n" VPP

static struct core *core_of(const char *yaml)
{
    harness_write_config(&tmp, yaml);
    struct core *c = core_new(loop, tmp.path, harness_load_file(tmp.path));
    struct core_vpp_opts vo = { .api_path = "/nonexistent/api.sock" };
    assert_int_equal(core_vpp_start(c, &vo), 0);
    return c;
}

static void reload(struct core *c, const char *yaml)
{
    harness_write_config(&tmp, yaml);
    struct config_diags d = { 0 };
    struct checker_reload_stats st;
    int rc = core_reload(c, &d, &st);
    harness_print_diags(&d);
    assert_int_equal(rc, 0);
}

static size_t be(const struct core *c, const char *name)
{
    const struct backend_conf *b = config_find_backend(core_config(c), name);
    if (!b)
        FAIL("no backend %s", name);
    return (size_t)(b - core_config(c)->backends);
}

static size_t fe(const struct core *c, const char *name)
{
    const struct frontend_conf *f = config_find_frontend(core_config(c), name);
    if (!f)
        FAIL("no frontend %s", name);
    return (size_t)(f - core_config(c)->frontends);
}

/* The effective weight of backend in frontend f (and its slot view). */
static unsigned weight(const struct core *c, const char *f, const char *backend,
                       struct core_slot_view *sv)
{
    size_t fi = fe(c, f);
    struct core_frontend_view fv;
    core_frontend(c, fi, &fv);
    for (size_t s = 0; s < fv.n_slots; s++) {
        core_frontend_slot(c, fi, s, sv);
        if (!strcmp(sv->pb->backend, backend))
            return sv->effective.weight;
    }
    FAIL("no slot %s in %s", backend, f);
}

static bool ramping(const struct core *c, const char *backend)
{
    struct core_ramp_view rv;
    core_backend_ramp(c, be(c, backend), &rv);
    return rv.ramping;
}

static void until_state(struct core *c, const char *backend, enum backend_state st,
                        enum probe_code code)
{
    while (core_backend_state(c, be(c, backend)) != st)
        fake_drive(loop, backend, code);
}

/* Runs until backend's ramp ends, recording the weights it takes in web. */
static size_t follow_ramp(struct core *c, const char *backend, unsigned *seen, size_t max)
{
    struct core_slot_view sv;
    size_t n = 0;
    seen[n++] = weight(c, "web", backend, &sv);
    double end = harness_now() + 30;
    while (ramping(c, backend)) {
        if (harness_now() > end)
            FAIL("the ramp of %s did not end", backend);
        ev_run(loop, EVRUN_ONCE);
        unsigned w = weight(c, "web", backend, &sv);
        if (w != seen[n - 1] && n < max)
            seen[n++] = w;
    }
    unsigned w = weight(c, "web", backend, &sv);
    if (w != seen[n - 1] && n < max)
        seen[n++] = w;
    return n;
}

static int setup(void **state)
{
    (void)state;
    loop = harness_loop_new(&tick);
    fake_n = 0;
    fake_started = 0;
    fake_sync_reset();
    assert_int_equal(harness_dir_make(&tmp, "slowstart"), 0);
    log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT, 2);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    harness_dir_remove(&tmp);
    harness_loop_free(loop, &tick);
    return 0;
}

static void test_ramp_after_down(void **state)
{
    (void)state;
    struct core *c = core_of(YAML(", slow-start: 2s", ""));
    struct core_slot_view sv;
    until_state(c, "a", BS_UP, PC_L4OK);
    until_state(c, "b", BS_UP, PC_L4OK);
    until_state(c, "c", BS_UP, PC_L4OK);
    /* start-up: no ramp */
    assert_false(ramping(c, "b"));
    assert_int_equal(weight(c, "web", "b", &sv), 50);
    assert_false(sv.ramping);
    assert_int_equal(sv.ramp_pct, 100);

    until_state(c, "b", BS_DOWN, PC_L4CON);
    assert_int_equal(weight(c, "web", "b", &sv), 0);
    size_t web = fe(c, "web"), solo = fe(c, "solo");
    size_t solo_before = fake_sync_count(solo, NULL);
    until_state(c, "b", BS_UP, PC_L4OK);
    assert_true(ramping(c, "b"));
    struct core_ramp_view rv;
    core_backend_ramp(c, be(c, "b"), &rv);
    assert_int_equal(rv.slow_start_us, 2000000);
    assert_int_equal(rv.pct, 5);
    assert_true(rv.ends_us - rv.started_us == 2000000);
    assert_int_equal(weight(c, "web", "b", &sv), 3); /* 5 % of 50, rounded */
    assert_true(sv.ramping);
    assert_int_equal(sv.ramp_pct, 5);
    assert_int_equal(core_ramping(c), 1);
    /* the steps: 3, 25, 50 in order, each a targeted change of web */
    unsigned seen[16];
    size_t n = follow_ramp(c, "b", seen, 16);
    assert_int_equal(n, 3);
    assert_int_equal(seen[0], 3);
    assert_int_equal(seen[1], 25);
    assert_int_equal(seen[2], 50);
    assert_int_equal(fake_sync_count(web, "slow-start"), 2);
    assert_int_equal(fake_sync_count(solo, NULL), solo_before); /* not using b */
    assert_int_equal(core_ramping(c), 0);
    core_backend_ramp(c, be(c, "b"), &rv);
    assert_int_equal(rv.pct, 100);
    assert_int_equal(rv.started_us, 0);

    /* disable, enable: a ramp; down mid-ramp ends it */
    assert_int_equal(core_disable(c, "b"), 0);
    assert_int_equal(core_enable(c, "b"), 0);
    until_state(c, "b", BS_UP, PC_L4OK);
    assert_true(ramping(c, "b"));
    until_state(c, "b", BS_DOWN, PC_L4CON);
    assert_false(ramping(c, "b"));
    /* pause, resume: a ramp */
    until_state(c, "b", BS_UP, PC_L4OK);
    assert_true(ramping(c, "b")); /* from down */
    until_state(c, "b", BS_DOWN, PC_L4CON);
    assert_int_equal(core_pause(c, "b"), 0);
    assert_int_equal(core_resume(c, "b"), 0);
    until_state(c, "b", BS_UP, PC_L4OK);
    assert_true(ramping(c, "b"));
    core_free(c);
}

static void test_no_ramp_after_full_outage(void **state)
{
    (void)state;
    struct core *c = core_of(YAML(", slow-start: 2s", ""));
    struct core_slot_view sv;
    until_state(c, "a", BS_UP, PC_L4OK);
    until_state(c, "b", BS_UP, PC_L4OK);
    until_state(c, "c", BS_UP, PC_L4OK);
    /* c alone in solo: back from a full outage, nothing to protect */
    until_state(c, "c", BS_DOWN, PC_L4CON);
    until_state(c, "c", BS_UP, PC_L4OK);
    assert_false(ramping(c, "c"));
    assert_int_equal(weight(c, "solo", "c", &sv), 100);
    /* web down entirely: b comes back first at full weight, a then ramps */
    until_state(c, "a", BS_DOWN, PC_L4CON);
    until_state(c, "b", BS_DOWN, PC_L4CON);
    until_state(c, "b", BS_UP, PC_L4OK);
    assert_false(ramping(c, "b"));
    assert_int_equal(weight(c, "web", "b", &sv), 50);
    until_state(c, "a", BS_UP, PC_L4OK);
    assert_true(ramping(c, "a"));
    assert_int_equal(weight(c, "web", "a", &sv), 5);
    core_free(c);
}

static void test_reload(void **state)
{
    (void)state;
    struct core *c = core_of(YAML(", slow-start: 20s", ""));
    struct core_slot_view sv;
    until_state(c, "a", BS_UP, PC_L4OK);
    until_state(c, "b", BS_UP, PC_L4OK);
    until_state(c, "b", BS_DOWN, PC_L4CON);
    until_state(c, "b", BS_UP, PC_L4OK);
    assert_true(ramping(c, "b"));
    assert_int_equal(weight(c, "web", "b", &sv), 3);
    /* a reload that changes nothing of it: the ramp goes on, not restarted */
    struct core_ramp_view r0, r1;
    core_backend_ramp(c, be(c, "b"), &r0);
    reload(c, YAML(", slow-start: 20s", ", enabled: true"));
    core_backend_ramp(c, be(c, "b"), &r1);
    assert_true(r1.ramping);
    assert_int_equal(r1.started_us, r0.started_us);
    assert_int_equal(weight(c, "web", "b", &sv), 3);
    /* the new duration: same start, new end */
    reload(c, YAML(", slow-start: 40s", ""));
    core_backend_ramp(c, be(c, "b"), &r1);
    assert_true(r1.ramping);
    assert_int_equal(r1.started_us, r0.started_us);
    assert_int_equal(r1.ends_us - r1.started_us, 40000000);
    assert_int_equal(r1.slow_start_us, 40000000);
    /* the backend's own 0 wins over the healthcheck's: the ramp ends */
    reload(c, YAML(", slow-start: 40s", ", slow-start: 0"));
    assert_false(ramping(c, "b"));
    assert_int_equal(weight(c, "web", "b", &sv), 50);
    core_backend_ramp(c, be(c, "b"), &r1);
    assert_int_equal(r1.slow_start_us, 0);
    /* turned off entirely: no ramp after a down */
    reload(c, YAML("", ""));
    until_state(c, "b", BS_DOWN, PC_L4CON);
    until_state(c, "b", BS_UP, PC_L4OK);
    assert_false(ramping(c, "b"));
    /* the backend's own setting alone */
    reload(c, YAML("", ", slow-start: 5s"));
    until_state(c, "b", BS_DOWN, PC_L4CON);
    until_state(c, "b", BS_UP, PC_L4OK);
    assert_true(ramping(c, "b"));
    core_free(c); /* with a ramp going: its timer stopped */
}

static void expect_error(const char *yaml, const char *needle)
{
    struct maglev_config *cfg = NULL;
    struct config_diags d = { 0 };
    int rc = config_load_buffer("t.yaml", yaml, strlen(yaml), &cfg, &d);
    assert_int_not_equal(rc, 0);
    bool found = false;
    for (size_t i = 0; i < d.n; i++) {
        char *line = config_diag_format(&d, i);
        found = found || strstr(line, needle);
        if (!found)
            print_error("%s\n", line);
        free(line);
    }
    config_diags_free(&d);
    if (!found)
        FAIL("no error with \"%s\"", needle);
}

static void test_config(void **state)
{
    (void)state;
    expect_error(YAML(", slow-start: 500ms", ""),
                 "t.yaml:3:77: healthchecks.h: slow-start 500ms is below the minimum 1s");
    expect_error(YAML("", ", slow-start: 2h"),
                 "backends.b: slow-start 2h0m0s is above the maximum 1h");
    expect_error(YAML("", ", slow-start: 5"), "slow-start: \"5\" is a bare number");
    struct maglev_config *cfg = harness_load_buffer(YAML(", slow-start: 10s", ", slow-start: 0"));
    assert_int_equal(config_backend_slow_start(cfg, config_find_backend(cfg, "a")), 10000000000LL);
    assert_int_equal(config_backend_slow_start(cfg, config_find_backend(cfg, "b")), 0);
    /* the dump keeps both, and loads again to the same */
    char *dump = config_dump(cfg);
    assert_non_null(strstr(dump, "      slow-start: 10s\n"));
    assert_non_null(strstr(dump, "      slow-start: 0s\n"));
    struct maglev_config *again = harness_load_buffer(dump);
    char *dump2 = config_dump(again);
    assert_string_equal(dump, dump2);
    free(dump);
    free(dump2);
    config_free(again);
    config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ramp_after_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_ramp_after_full_outage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
