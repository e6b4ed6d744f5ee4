/* The whole control loop in one process: the real core and checker
 * (scripted probes, fake_probe.c), the real VPP sync and client, and the
 * real vppsim (a subprocess). A probe result, an operator action, a weight
 * or a reload goes through core -> vpp_sync -> vppsim, and comes back as
 * the per-AS VPP status of the views and the observers' VPP changes;
 * the warm-up holds VIPs until their backends are known. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "config/config.h"
#include "core/core.h"
#include "core_harness.h"
#include "fake_probe.h"
#include "health/health.h"
#include "vpp/sync.h"
#include "vppsim_proc.h"

static struct ev_loop *loop;
static ev_timer tick;
static struct vppsim sim;
static struct core *core;
static struct harness_dir tmp;

static void drive(const char *backend, enum probe_code code)
{
    fake_drive(loop, backend, code);
}

static void start_core(const char *yaml)
{
    harness_write_config(&tmp, yaml);
    core = core_new(loop, tmp.path, harness_load_file(tmp.path));
    struct core_vpp_opts o = { .api_path = sim.api };
    assert_int_equal(core_vpp_start(core, &o), 0);
}

/* ---- what the core says about VPP ---- */

static size_t fe_index(const char *name)
{
    const struct maglev_config *cfg = core_config(core);
    const struct frontend_conf *fe = config_find_frontend(cfg, name);
    if (!fe)
        FAIL("no frontend %s", name);
    return (size_t)(fe - cfg->frontends);
}

static struct core_slot_view slot(const char *fe, const char *backend)
{
    size_t fi = fe_index(fe);
    struct core_frontend_view fv;
    core_frontend(core, fi, &fv);
    struct core_slot_view sv;
    for (size_t s = 0; s < fv.n_slots; s++) {
        core_frontend_slot(core, fi, s, &sv);
        if (!strcmp(sv.pb->backend, backend))
            return sv;
    }
    FAIL("no backend %s in frontend %s", backend, fe);
}

/* Every slot of frontend fe is applied in VPP (by the sync's model). */
static bool fe_applied(const char *fe)
{
    size_t fi = fe_index(fe);
    struct core_frontend_view fv;
    core_frontend(core, fi, &fv);
    for (size_t s = 0; s < fv.n_slots; s++) {
        struct core_slot_view sv;
        core_frontend_slot(core, fi, s, &sv);
        if (sv.vpp != CORE_VPP_APPLIED || sv.vpp_weight != sv.effective.weight)
            return false;
    }
    return vpp_sync_pending(core_vpp(core)) == 0;
}

static bool held(const char *fe)
{
    struct core_frontend_view fv;
    core_frontend(core, fe_index(fe), &fv);
    return fv.vpp_held;
}

/* ---- the observer's VPP changes ---- */

struct change {
    char frontend[16], backend[16], trigger[16];
    enum lb_op_kind kind;
    int weight, retval;
    bool flush;
};
static struct change changes[256];
static size_t n_changes;

static void on_vpp_change(void *ctx, const struct core_vpp_change *ch)
{
    (void)ctx;
    if (n_changes >= 256)
        return;
    struct change *c = &changes[n_changes++];
    snprintf(c->frontend, sizeof(c->frontend), "%s", ch->frontend);
    snprintf(c->backend, sizeof(c->backend), "%s", ch->backend);
    snprintf(c->trigger, sizeof(c->trigger), "%s", ch->trigger);
    c->kind = ch->op->kind;
    c->weight = ch->op->weight;
    c->flush = ch->op->flush;
    c->retval = ch->res ? ch->res->retval : 0;
}

static struct core_observer observer = { .vpp_change = on_vpp_change };

/* The one change of backend be with this kind; fails unless exactly one. */
static const struct change *change_of(const char *be, enum lb_op_kind kind)
{
    const struct change *found = NULL;
    for (size_t i = 0; i < n_changes; i++)
        if (!strcmp(changes[i].backend, be) && changes[i].kind == kind) {
            if (found)
                FAIL("two %s changes of %s", lb_op_kind_name(kind), be);
            found = &changes[i];
        }
    if (!found)
        FAIL("no %s change of %s", lb_op_kind_name(kind), be);
    return found;
}

/* ---- fixtures ---- */

static int setup(void **state)
{
    (void)state;
    log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT, 2);
    loop = harness_loop_new(&tick);
    fake_n = 0;
    fake_started = 0;
    n_changes = 0;
    core = NULL;
    if (harness_dir_make(&tmp, "core-vpp") < 0)
        return -1;
    return vppsim_start(&sim, NULL);
}

static int teardown(void **state)
{
    (void)state;
    core_free(core);
    core = NULL;
    vppsim_stop(&sim);
    harness_loop_free(loop, &tick);
    harness_dir_remove(&tmp);
    return 0;
}

#define CONFIG(VPPKEYS, STAT)                                                                      \
    "maglev:\n"                                                                                    \
    "  healthchecks:\n"                                                                            \
    "    h: {type: tcp, port: 80, interval: 100ms, rise: 1, fall: 1}\n"                            \
    "  backends:\n"                                                                                \
    "    s1: {address: 10.0.5.1}\n"                                                                \
    "    p1: {address: 10.0.5.2, healthcheck: h}\n"                                                \
    "    p2: {address: 10.0.5.3, healthcheck: h}\n"                                                \
    "  frontends:\n"                                                                               \
    "    web:\n"                                                                                   \
    "      address: 198.19.1.10\n"                                                                 \
    "      protocol: tcp\n"                                                                        \
    "      port: 80\n"                                                                             \
    "      pools:\n"                                                                               \
    "        - {name: main, backends: {p1: {weight: 60}, p2: {weight: 40}}}\n"                     \
    "        - {name: backup, backends: {s1: {weight: 100}}}\n" STAT                               \
    "  vpp: {lb: {ipv4-src-address: 192.0.2.250, ipv6-src-address: \"2001:db8::1\", "              \
    "sync-interval: 1h, " VPPKEYS "}}\n"
#define STAT_FE                                                                                    \
    "    stat:\n"                                                                                  \
    "      address: 198.19.1.11\n"                                                                 \
    "      protocol: tcp\n"                                                                        \
    "      port: 80\n"                                                                             \
    "      pools: [{name: p, backends: {s1: {weight: 25}}}]\n"
#define NO_WARMUP "startup-min-delay: 0s, startup-max-delay: 0s"

static const char *const WEB = "198.19.1.10/32";
static const char *const STAT = "198.19.1.11/32";

static void test_loop(void **state)
{
    (void)state;
    start_core(CONFIG(NO_WARMUP, STAT_FE));
    core_observe(core, &observer);
    /* the connect sync: p1, p2 unknown, so the backup pool serves */
    RUN_UNTIL(fe_applied("web") && fe_applied("stat"), 30);
    assert_int_equal(vppsim_as_weight(&sim, WEB, 80, "10.0.5.1"), 100);
    assert_int_equal(vppsim_as_weight(&sim, WEB, 80, "10.0.5.2"), 0);
    assert_int_equal(vppsim_as_weight(&sim, WEB, 80, "10.0.5.3"), 0);
    assert_int_equal(vppsim_as_weight(&sim, STAT, 80, "10.0.5.1"), 25);
    assert_int_equal(change_of("p1", LB_OP_AS_ADD)->weight, 0);
    assert_string_equal(change_of("p1", LB_OP_AS_ADD)->trigger, "connect");
    assert_false(held("web"));

    /* p1 up: main takes over; p2 is still unknown (trigger health) */
    n_changes = 0;
    drive("p1", PC_L4OK);
    RUN_UNTIL(fe_applied("web"), 20);
    assert_int_equal(vppsim_as_weight(&sim, WEB, 80, "10.0.5.2"), 60);
    assert_int_equal(vppsim_as_weight(&sim, WEB, 80, "10.0.5.1"), 0);
    assert_int_equal(n_changes, 2);
    const struct change *c = change_of("p1", LB_OP_AS_WEIGHT);
    assert_string_equal(c->frontend, "web");
    assert_string_equal(c->trigger, "health");
    assert_int_equal(c->weight, 60);
    assert_int_equal(c->retval, 0);
    assert_int_equal(change_of("s1", LB_OP_AS_WEIGHT)->weight, 0);
    struct core_slot_view sv = slot("web", "p1");
    assert_int_equal(sv.vpp, CORE_VPP_APPLIED);
    assert_int_equal(sv.vpp_weight, 60);
    assert_string_equal(sv.vpp_error, "");

    /* p2 down: weight 0 already, flushed now (flush-on-down); every
     * backend of web is known now, but there is no warm-up: trigger health */
    n_changes = 0;
    long mark;
    {
        struct jv *r = vppsim_ok(&sim, "{\"cmd\": \"journal\", \"since\": 1000000000000}");
        mark = (long)jv_num(jv_get(r, "last"), -1);
        jv_free(r);
    }
    drive("p2", PC_L4CON);
    RUN_UNTIL(n_changes == 1 && fe_applied("web"), 20);
    c = change_of("p2", LB_OP_AS_WEIGHT);
    assert_int_equal(c->weight, 0);
    assert_true(c->flush);
    assert_string_equal(c->trigger, "health");
    struct jv *j = vppsim_ok(&sim, "{\"cmd\": \"journal\", \"since\": %ld}", mark);
    const struct jv *e = jv_get(j, "journal");
    assert_int_equal(e->n, 1);
    assert_true(jv_path(e->items[0], "fields", "is_flush", NULL)->b);
    jv_free(j);

    /* a run-time weight: trigger weight */
    n_changes = 0;
    char err[128];
    assert_int_equal(core_set_weight(core, "web", "main", "p1", 30, err, sizeof(err)), 0);
    RUN_UNTIL(fe_applied("web") && n_changes == 1, 20);
    assert_string_equal(change_of("p1", LB_OP_AS_WEIGHT)->trigger, "weight");
    assert_int_equal(vppsim_as_weight(&sim, WEB, 80, "10.0.5.2"), 30);

    /* the operator pauses p1: main has nothing up, backup serves again */
    n_changes = 0;
    assert_int_equal(core_pause(core, "p1"), 0);
    RUN_UNTIL(fe_applied("web") && n_changes == 2, 20);
    assert_string_equal(change_of("p1", LB_OP_AS_WEIGHT)->trigger, "operator");
    assert_int_equal(vppsim_as_weight(&sim, WEB, 80, "10.0.5.2"), 0);
    assert_int_equal(vppsim_as_weight(&sim, WEB, 80, "10.0.5.1"), 100);
    assert_int_equal(vppsim_as_weight(&sim, STAT, 80, "10.0.5.1"), 25); /* untouched */

    /* reload without stat: its VIP goes; web is kept as it is */
    harness_write_config(&tmp, CONFIG(NO_WARMUP, ""));
    struct config_diags d = { 0 };
    struct checker_reload_stats st;
    assert_int_equal(core_reload(core, &d, &st), 0);
    config_diags_free(&d);
    RUN_UNTIL(!vppsim_has_vip(&sim, STAT, 80) && fe_applied("web"), 30);
    assert_int_equal(vppsim_as_weight(&sim, WEB, 80, "10.0.5.1"), 100);
    /* and the loop goes on with the new indexes */
    assert_int_equal(core_resume(core, "p1"), 0);
    drive("p1", PC_L4OK);
    RUN_UNTIL(fe_applied("web") && vppsim_as_weight(&sim, WEB, 80, "10.0.5.2") == 30, 20);
    core_unobserve(core, &observer);
}

static void test_warmup(void **state)
{
    (void)state;
    start_core(CONFIG("startup-min-delay: 500ms, startup-max-delay: 20s", STAT_FE));
    struct vpp_sync *vs = core_vpp(core);
    assert_int_equal(vpp_sync_warmup(vs), VPP_WARMUP_HOLD);
    /* HOLD: everything held, nothing written */
    assert_true(held("web"));
    assert_true(held("stat"));
    while (vpp_sync_warmup(vs) == VPP_WARMUP_HOLD) {
        assert_int_equal(vppsim_writes(&sim), 0);
        ev_run(loop, EVRUN_ONCE);
    }
    /* RELEASING: stat (static backend: known) written at the hold's end;
     * web waits for its probed backends */
    assert_false(held("stat"));
    assert_true(held("web"));
    RUN_UNTIL(fe_applied("stat"), 20);
    assert_int_equal(vppsim_as_weight(&sim, STAT, 80, "10.0.5.1"), 25);
    assert_false(vppsim_has_vip(&sim, WEB, 80));
    struct core_slot_view sv = slot("web", "s1");
    assert_int_equal(sv.vpp, CORE_VPP_PENDING);
    assert_int_equal(sv.vpp_weight, -1);
    drive("p1", PC_L4OK);
    for (int i = 0; i < 10; i++)
        ev_run(loop, EVRUN_NOWAIT);
    assert_true(held("web")); /* p2 still unknown */
    assert_false(vppsim_has_vip(&sim, WEB, 80));
    drive("p2", PC_L4OK);
    assert_false(held("web"));
    RUN_UNTIL(fe_applied("web"), 20);
    assert_int_equal(vppsim_as_weight(&sim, WEB, 80, "10.0.5.2"), 60);
    assert_int_equal(vppsim_as_weight(&sim, WEB, 80, "10.0.5.3"), 40);
    assert_int_equal(vppsim_as_weight(&sim, WEB, 80, "10.0.5.1"), 0);
    assert_int_equal(vpp_sync_warmup(vs), VPP_WARMUP_RELEASING);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_warmup, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
