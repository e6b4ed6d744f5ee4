/* Unit tests for src/core: the real core with the real checker on a real
 * libev loop, a scripted probe layer (fake_probe.c) and a scripted VPP
 * sync (fake_vpp_sync.c, recording every vpp_sync_vip_changed):
 *   - the effective-weight truth table (state x pool position x
 *     flush-on-down x override) through core_lb_desired and the views;
 *   - active pool selection, failover and back, a frontend without any up
 *     backend;
 *   - the backend -> frontends index: a transition recomputes and reports
 *     only the frontends using that backend;
 *   - held VIPs (warm-up release, sticky, across reloads);
 *   - reload: overrides survive, weights recomputed, views consistent. */
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
#include "core/core.h"
#include "core_harness.h"
#include "fake_probe.h"
#include "fake_vpp_sync.h"
#include "health/health.h"

static struct ev_loop *loop;
static struct harness_dir tmp;

/* ---- helpers ---- */

/* Completes the next probe of `backend` with code. */
static void drive(const char *backend, enum probe_code code)
{
    fake_drive(loop, backend, code);
}

static struct core *core_of(const char *yaml)
{
    harness_write_config(&tmp, yaml);
    return core_new(loop, tmp.path, harness_load_file(tmp.path));
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

static size_t fe_index(const struct core *c, const char *name)
{
    const struct maglev_config *cfg = core_config(c);
    const struct frontend_conf *fe = config_find_frontend(cfg, name);
    if (!fe)
        FAIL("no frontend %s", name);
    return (size_t)(fe - cfg->frontends);
}

static size_t be_index(const struct core *c, const char *name)
{
    const struct maglev_config *cfg = core_config(c);
    const struct backend_conf *b = config_find_backend(cfg, name);
    if (!b)
        FAIL("no backend %s", name);
    return (size_t)(b - cfg->backends);
}

static enum backend_state be_state(const struct core *c, const char *name)
{
    return core_backend_state(c, be_index(c, name));
}

static const struct lb_vip *desired_vip(const struct lb_state *d, const char *fe)
{
    for (size_t i = 0; i < d->n_vips; i++)
        if (!strcmp(d->vips[i].name, fe))
            return &d->vips[i];
    FAIL("no desired VIP %s", fe);
}

static const struct lb_as *desired_as(const struct lb_vip *v, const char *addr)
{
    struct ip_addr a;
    assert_int_equal(ip_addr_parse(addr, &a), 0);
    for (size_t i = 0; i < v->n_ases; i++)
        if (ip_addr_equal(&v->ases[i].addr, &a))
            return &v->ases[i];
    FAIL("no AS %s in the desired VIP %s", addr, v->name);
}

/* The view of the slot of `backend` in frontend fe. */
static void slot_of(const struct core *c, size_t fe, const char *backend,
                    struct core_slot_view *out, size_t *slot)
{
    struct core_frontend_view fv;
    core_frontend(c, fe, &fv);
    for (size_t s = 0; s < fv.n_slots; s++) {
        core_frontend_slot(c, fe, s, out);
        if (!strcmp(out->pb->backend, backend)) {
            if (slot)
                *slot = s;
            return;
        }
    }
    FAIL("no slot %s in frontend %s", backend, fv.conf->name);
}

/* The weight and flush of `backend` (address addr) in frontend fe: the same
 * in the slot view, the cached weights and the desired state. */
static struct lb_weight weight_of(struct core *c, const char *fe, const char *backend,
                                  const char *addr)
{
    size_t fi = fe_index(c, fe), slot;
    struct core_slot_view sv;
    slot_of(c, fi, backend, &sv, &slot);
    const struct lb_weight *w = core_frontend_weights(c, fi);
    assert_int_equal(w[slot].weight, sv.effective.weight);
    assert_int_equal(w[slot].flush, sv.effective.flush);
    struct lb_state d;
    assert_int_equal(core_lb_desired(c, &d), 0);
    const struct lb_as *as = desired_as(desired_vip(&d, fe), addr);
    assert_int_equal(as->weight, sv.effective.weight);
    assert_int_equal(as->flush, sv.effective.flush);
    lb_state_free(&d);
    return sv.effective;
}

static bool desired_held(struct core *c, const char *fe)
{
    struct lb_state d;
    assert_int_equal(core_lb_desired(c, &d), 0);
    bool held = desired_vip(&d, fe)->held;
    lb_state_free(&d);
    return held;
}

/* ---- the observer ---- */

struct fe_event {
    char name[32];
    enum fe_state from, to;
    int pool;
    bool panic;
};

static struct fe_event fe_events[256];
static size_t n_fe_events;
static size_t n_be_events;
static size_t n_reloaded;

static void obs_frontend(void *ctx, const struct frontend_conf *fe, enum fe_state from,
                         enum fe_state to, int active_pool, bool panic)
{
    (void)ctx;
    if (n_fe_events < 256) {
        struct fe_event *e = &fe_events[n_fe_events++];
        snprintf(e->name, sizeof(e->name), "%s", fe->name);
        e->from = from;
        e->to = to;
        e->pool = active_pool;
        e->panic = panic;
    }
}

static void obs_backend(void *ctx, const struct backend_rt *b, const struct health_transition *t)
{
    (void)ctx;
    (void)b;
    (void)t;
    n_be_events++;
}

static void obs_reloaded(void *ctx)
{
    (void)ctx;
    n_reloaded++;
}

static struct core_observer observer = {
    .backend = obs_backend,
    .frontend = obs_frontend,
    .reloaded = obs_reloaded,
};

static size_t fe_event_count(const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < n_fe_events; i++)
        if (!strcmp(fe_events[i].name, name))
            n++;
    return n;
}

static void clear_events(void)
{
    n_fe_events = 0;
    n_be_events = 0;
    fake_sync.n_changes = 0;
}

static void expect_last_event(const char *name, enum fe_state from, enum fe_state to, int pool)
{
    assert_true(n_fe_events > 0);
    const struct fe_event *e = &fe_events[n_fe_events - 1];
    assert_string_equal(e->name, name);
    assert_int_equal(e->from, from);
    assert_int_equal(e->to, to);
    assert_int_equal(e->pool, pool);
}

/* ---- fixtures ---- */

static int setup(void **state)
{
    (void)state;
    loop = ev_loop_new(EVFLAG_AUTO);
    fake_n = 0;
    fake_started = 0;
    fake_sync_reset();
    n_fe_events = n_be_events = n_reloaded = 0;
    assert_int_equal(harness_dir_make(&tmp, "core"), 0);
    log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT, 2);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    harness_dir_remove(&tmp);
    ev_loop_destroy(loop);
    return 0;
}

#define VPP                                                                                        \
    "  vpp: {lb: {ipv4-src-address: 192.0.2.250, ipv6-src-address: \"2001:db8::1\", "              \
    "startup-min-delay: 0s, startup-max-delay: 0s}}\n"
#define HC                                                                                         \
    "  healthchecks:\n"                                                                            \
    "    h: {type: tcp, port: 80, interval: 100ms, rise: 1, fall: 1}\n"

/* ---- the truth table ---- */

/* s: static (up), x: probed, no override (weight 40), y: probed, override
 * 7 (configured 60). act-*: x and y in the active pool (s keeps it
 * active); oth-*: x and y in the second pool while s keeps the first
 * active. *-f: flush-on-down; *-n: not. */
static const char table_yaml[] =
    "maglev:\n" HC "  backends:\n"
    "    s: {address: 10.0.0.1}\n"
    "    x: {address: 10.0.0.2, healthcheck: h}\n"
    "    y: {address: 10.0.0.3, healthcheck: h}\n"
    "  frontends:\n"
    "    act-f:\n"
    "      address: 192.0.2.1\n"
    "      protocol: tcp\n"
    "      port: 80\n"
    "      flush-on-down: true\n"
    "      pools:\n"
    "        - {name: p0, backends: {s: {weight: 10}, x: {weight: 40}, y: {weight: 60}}}\n"
    "    act-n:\n"
    "      address: 192.0.2.2\n"
    "      protocol: tcp\n"
    "      port: 80\n"
    "      flush-on-down: false\n"
    "      pools:\n"
    "        - {name: p0, backends: {s: {weight: 10}, x: {weight: 40}, y: {weight: 60}}}\n"
    "    oth-f:\n"
    "      address: 192.0.2.3\n"
    "      protocol: tcp\n"
    "      port: 80\n"
    "      flush-on-down: true\n"
    "      pools:\n"
    "        - {name: p0, backends: {s: {weight: 10}}}\n"
    "        - {name: p1, backends: {x: {weight: 40}, y: {weight: 60}}}\n"
    "    oth-n:\n"
    "      address: 192.0.2.4\n"
    "      protocol: tcp\n"
    "      port: 80\n"
    "      flush-on-down: false\n"
    "      pools:\n"
    "        - {name: p0, backends: {s: {weight: 10}}}\n"
    "        - {name: p1, backends: {x: {weight: 40}, y: {weight: 60}}}\n" VPP;

/* lb.h, written out independently. */
static struct lb_weight expected(enum backend_state st, bool active, bool flush_on_down,
                                 uint8_t configured, int override)
{
    struct lb_weight w = { 0, false };
    switch (st) {
    case BS_UP:
        w.weight = active ? (uint8_t)(override >= 0 ? override : configured) : 0;
        break;
    case BS_DOWN:
        w.flush = flush_on_down;
        break;
    case BS_DISABLED:
        w.flush = true;
        break;
    default: /* unknown, paused: drain */
        break;
    }
    return w;
}

static void check_table(struct core *c, enum backend_state st)
{
    static const struct {
        const char *fe;
        bool active, flush;
        const char *pool;
    } fes[] = {
        { "act-f", true, true, "p0" },
        { "act-n", true, false, "p0" },
        { "oth-f", false, true, "p1" },
        { "oth-n", false, false, "p1" },
    };
    assert_int_equal(be_state(c, "x"), st);
    assert_int_equal(be_state(c, "y"), st);
    assert_int_equal(be_state(c, "s"), BS_UP);
    struct lb_state d;
    assert_int_equal(core_lb_desired(c, &d), 0);
    assert_int_equal(d.n_vips, 4);
    for (size_t k = 0; k < 4; k++) {
        /* membership never changes: every backend is an AS of its VIP */
        assert_int_equal(desired_vip(&d, fes[k].fe)->n_ases, 3);
        struct lb_weight ex = expected(st, fes[k].active, fes[k].flush, 40, -1);
        struct lb_weight ey = expected(st, fes[k].active, fes[k].flush, 60, 7);
        struct lb_weight wx = weight_of(c, fes[k].fe, "x", "10.0.0.2");
        struct lb_weight wy = weight_of(c, fes[k].fe, "y", "10.0.0.3");
        struct lb_weight ws = weight_of(c, fes[k].fe, "s", "10.0.0.1");
        if (wx.weight != ex.weight || wx.flush != ex.flush || wy.weight != ey.weight ||
            wy.flush != ey.flush)
            print_error("state %s, frontend %s: x %u/%d (want %u/%d), y %u/%d (want %u/%d)\n",
                        health_state_name(st), fes[k].fe, wx.weight, wx.flush, ex.weight, ex.flush,
                        wy.weight, wy.flush, ey.weight, ey.flush);
        assert_int_equal(wx.weight, ex.weight);
        assert_int_equal(wx.flush, ex.flush);
        assert_int_equal(wy.weight, ey.weight);
        assert_int_equal(wy.flush, ey.flush);
        assert_int_equal(ws.weight, 10); /* s keeps the first pool active */
        assert_false(ws.flush);
        size_t fi = fe_index(c, fes[k].fe);
        struct core_slot_view sv;
        slot_of(c, fi, "x", &sv, NULL);
        assert_int_equal(sv.state, st);
        assert_int_equal(sv.override, -1);
        assert_int_equal(sv.vpp, CORE_VPP_NONE); /* no VPP integration */
        assert_int_equal(sv.vpp_weight, -1);
        assert_string_equal(sv.vpp_error, "");
        slot_of(c, fi, "y", &sv, NULL);
        assert_int_equal(sv.override, 7);
        struct core_frontend_view fv;
        core_frontend(c, fi, &fv);
        assert_int_equal(fv.result.state, FE_UP);
        assert_int_equal(fv.result.active_pool, 0);
        assert_false(fv.vpp_held);
    }
    lb_state_free(&d);
}

/* An operator action (core_pause, ...) on x and on y: both accepted. */
static void on_xy(struct core *c, int (*action)(struct core *, const char *))
{
    assert_int_equal(action(c, "x"), 0);
    assert_int_equal(action(c, "y"), 0);
}

/* Completes the next probes of x (with cx) and y (with cy). */
static void drive_xy(enum probe_code cx, enum probe_code cy)
{
    drive("x", cx);
    drive("y", cy);
}

static void test_truth_table(void **state)
{
    (void)state;
    struct core *c = core_of(table_yaml);
    char err[256];
    static const char *const fes[] = { "act-f", "act-n", "oth-f", "oth-n" };
    for (size_t k = 0; k < 4; k++)
        assert_int_equal(core_set_weight(c, fes[k], k < 2 ? "p0" : "p1", "y", 7, err, sizeof(err)),
                         0);
    check_table(c, BS_UNKNOWN);
    drive_xy(PC_L4OK, PC_L4OK);
    check_table(c, BS_UP);
    drive_xy(PC_L4CON, PC_L4TOUT);
    check_table(c, BS_DOWN);
    on_xy(c, core_pause);
    check_table(c, BS_PAUSED);
    on_xy(c, core_resume);
    check_table(c, BS_UNKNOWN);
    drive_xy(PC_L4OK, PC_L4OK);
    check_table(c, BS_UP);
    /* paused while up: drained, not flushed */
    on_xy(c, core_pause);
    check_table(c, BS_PAUSED);
    on_xy(c, core_resume);
    drive_xy(PC_L4OK, PC_L4OK);
    check_table(c, BS_UP);
    on_xy(c, core_disable);
    check_table(c, BS_DISABLED);
    /* pause/resume of a disabled backend: refused, nothing changes */
    assert_int_equal(core_pause(c, "x"), -EPERM);
    assert_int_equal(core_resume(c, "y"), -EPERM);
    check_table(c, BS_DISABLED);
    on_xy(c, core_enable);
    check_table(c, BS_UNKNOWN);
    drive_xy(PC_L4CON, PC_L4CON);
    check_table(c, BS_DOWN);
    /* down -> disabled */
    on_xy(c, core_disable);
    check_table(c, BS_DISABLED);
    on_xy(c, core_enable);
    drive_xy(PC_L4OK, PC_L4OK);
    check_table(c, BS_UP);
    /* the override can be changed, and set on a backend without one */
    assert_int_equal(core_set_weight(c, "act-f", "p0", "x", 0, err, sizeof(err)), 0);
    assert_int_equal(weight_of(c, "act-f", "x", "10.0.0.2").weight, 0);
    assert_int_equal(weight_of(c, "act-n", "x", "10.0.0.2").weight, 40); /* per frontend */
    assert_int_equal(core_set_weight(c, "act-f", "p0", "x", 100, err, sizeof(err)), 0);
    assert_int_equal(weight_of(c, "act-f", "x", "10.0.0.2").weight, 100);
    /* in another pool an override does not give a weight */
    assert_int_equal(core_set_weight(c, "oth-f", "p1", "x", 90, err, sizeof(err)), 0);
    assert_int_equal(weight_of(c, "oth-f", "x", "10.0.0.2").weight, 0);
    /* names are checked */
    assert_int_equal(core_set_weight(c, "nope", "p0", "x", 1, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "nope"));
    assert_int_equal(core_set_weight(c, "act-f", "p9", "x", 1, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "p9"));
    assert_int_equal(core_set_weight(c, "act-f", "p0", "zz", 1, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "zz"));
    assert_int_equal(core_set_weight(c, "oth-f", "p0", "x", 1, err, sizeof(err)), -ENOENT);
    assert_int_equal(core_pause(c, "nope"), -ENOENT);
    assert_int_equal(core_enable(c, "nope"), -ENOENT);
    core_free(c);
    assert_int_equal(fake_n, 0);
}

/* ---- active pool, failover and back ---- */

static const char failover_yaml[] = "maglev:\n" HC "  backends:\n"
                                    "    a1: {address: 10.0.1.1, healthcheck: h}\n"
                                    "    a2: {address: 10.0.1.2, healthcheck: h}\n"
                                    "    b1: {address: 10.0.2.1, healthcheck: h}\n"
                                    "    b2: {address: 10.0.2.2, healthcheck: h}\n"
                                    "  frontends:\n"
                                    "    web:\n"
                                    "      address: 192.0.2.1\n"
                                    "      protocol: tcp\n"
                                    "      port: 80\n"
                                    "      pools:\n"
                                    "        - {name: p1, backends: {a1: {weight: 100}, a2: "
                                    "{weight: 50}}}\n"
                                    "        - {name: p2, backends: {b1: {weight: 30}, b2: "
                                    "{weight: 20}}}\n" VPP;

static void expect_weights(struct core *c, int a1, int a2, int b1, int b2)
{
    assert_int_equal(weight_of(c, "web", "a1", "10.0.1.1").weight, a1);
    assert_int_equal(weight_of(c, "web", "a2", "10.0.1.2").weight, a2);
    assert_int_equal(weight_of(c, "web", "b1", "10.0.2.1").weight, b1);
    assert_int_equal(weight_of(c, "web", "b2", "10.0.2.2").weight, b2);
}

static void expect_frontend(struct core *c, enum fe_state st, int pool)
{
    struct core_frontend_view fv;
    core_frontend(c, 0, &fv);
    assert_int_equal(fv.result.state, st);
    assert_int_equal(fv.result.active_pool, pool);
}

/* web is in state `to` on pool `pool`, its last event the change from
 * `from` to that, and its weights are a1 a2 b1 b2. */
static void expect_web(struct core *c, enum fe_state from, enum fe_state to, int pool, int a1,
                       int a2, int b1, int b2)
{
    expect_frontend(c, to, pool);
    expect_last_event("web", from, to, pool);
    expect_weights(c, a1, a2, b1, b2);
}

static void test_failover(void **state)
{
    (void)state;
    struct core *c = core_of(failover_yaml);
    core_observe(c, &observer);
    expect_frontend(c, FE_UNKNOWN, -1);
    expect_weights(c, 0, 0, 0, 0);
    /* the first pool with an up backend serves, even while p1 is unknown */
    drive("b1", PC_L4OK);
    expect_web(c, FE_UNKNOWN, FE_UP, 1, 0, 0, 30, 0);
    drive("b2", PC_L4OK);
    expect_weights(c, 0, 0, 30, 20);
    size_t n = n_fe_events;
    /* p1 gets an up backend: it takes over, p2 goes to 0 */
    drive("a1", PC_L4OK);
    assert_int_equal(n_fe_events, n + 1);
    expect_web(c, FE_UP, FE_UP, 0, 100, 0, 0, 0);
    /* p1 all down: failover to p2 */
    drive("a1", PC_L4CON);
    expect_web(c, FE_UP, FE_UP, 1, 0, 0, 30, 20);
    assert_true(weight_of(c, "web", "a1", "10.0.1.1").flush); /* flush-on-down by default */
    assert_false(weight_of(c, "web", "a2", "10.0.1.2").flush);
    drive("a2", PC_L4CON);
    expect_frontend(c, FE_UP, 1);
    expect_weights(c, 0, 0, 30, 20);
    /* p1 recovers: back */
    drive("a2", PC_L4OK);
    expect_web(c, FE_UP, FE_UP, 0, 0, 50, 0, 0);
    drive("a1", PC_L4OK);
    expect_weights(c, 100, 50, 0, 0);
    /* everything down: all weights 0, the frontend down, no active pool */
    drive("a1", PC_L4CON);
    drive("a2", PC_L4CON);
    expect_frontend(c, FE_UP, 1);
    drive("b1", PC_L4CON);
    drive("b2", PC_L4CON);
    expect_web(c, FE_UP, FE_DOWN, -1, 0, 0, 0, 0);
    for (size_t s = 0; s < 4; s++)
        assert_true(core_frontend_weights(c, 0)[s].flush);
    struct lb_state d;
    assert_int_equal(core_lb_desired(c, &d), 0);
    assert_int_equal(desired_vip(&d, "web")->n_ases, 4); /* still every backend */
    lb_state_free(&d);
    /* one back up in p2: p2 serves again */
    drive("b2", PC_L4OK);
    expect_web(c, FE_DOWN, FE_UP, 1, 0, 0, 0, 20);
    core_unobserve(c, &observer);
    core_free(c);
}

/* ---- the index ---- */

static const char index_yaml[] = "maglev:\n" HC "  backends:\n"
                                 "    a: {address: 10.0.1.1, healthcheck: h}\n"
                                 "    b: {address: 10.0.1.2, healthcheck: h}\n"
                                 "    c: {address: 10.0.1.3, healthcheck: h}\n"
                                 "  frontends:\n"
                                 "    f1:\n"
                                 "      address: 192.0.2.1\n"
                                 "      protocol: tcp\n"
                                 "      port: 80\n"
                                 "      pools: [{name: p, backends: {a: {weight: 10}}}]\n"
                                 "    f2:\n"
                                 "      address: 192.0.2.2\n"
                                 "      protocol: tcp\n"
                                 "      port: 80\n"
                                 "      pools:\n"
                                 "        - {name: p, backends: {b: {weight: 20}}}\n"
                                 "        - {name: q, backends: {a: {weight: 30}}}\n"
                                 "    f3:\n"
                                 "      address: 192.0.2.3\n"
                                 "      protocol: tcp\n"
                                 "      port: 80\n"
                                 "      pools: [{name: p, backends: {c: {weight: 40}}}]\n" VPP;

static void test_index(void **state)
{
    (void)state;
    struct core *c = core_of(index_yaml);
    core_observe(c, &observer);
    struct core_vpp_opts vo = { .api_path = "/nonexistent/api.sock" };
    assert_int_equal(core_vpp_start(c, &vo), 0);
    assert_int_equal(fake_sync.created, 1);
    assert_int_equal(fake_sync.started, 1);
    assert_int_equal(fake_sync.opts.n_frontends, 3);
    assert_non_null(core_vpp(c));
    /* during the warm-up a VIP's release is a change of its own (trigger
     * warmup); without one it is the transition's */
    fake_sync.warmup = VPP_WARMUP_RELEASING;
    /* backend -> frontends, ascending, each once */
    size_t n;
    const uint32_t *f = core_backend_frontends(c, be_index(c, "a"), &n);
    assert_int_equal(n, 2);
    assert_int_equal(f[0], fe_index(c, "f1"));
    assert_int_equal(f[1], fe_index(c, "f2"));
    f = core_backend_frontends(c, be_index(c, "b"), &n);
    assert_int_equal(n, 1);
    assert_int_equal(f[0], fe_index(c, "f2"));
    f = core_backend_frontends(c, be_index(c, "c"), &n);
    assert_int_equal(n, 1);
    assert_int_equal(f[0], fe_index(c, "f3"));
    size_t f1 = fe_index(c, "f1"), f2 = fe_index(c, "f2"), f3 = fe_index(c, "f3");

    /* a up: f1 and f2 (both use a), not f3 */
    clear_events();
    drive("a", PC_L4OK);
    assert_int_equal(n_be_events, 1);
    assert_int_equal(fe_event_count("f1"), 1);
    assert_int_equal(fe_event_count("f2"), 1);
    assert_int_equal(fe_event_count("f3"), 0);
    assert_int_equal(fake_sync.n_changes, 2);
    assert_int_equal(fake_sync_count(f1, "warmup"), 1); /* every backend of f1 known */
    assert_int_equal(fake_sync_count(f2, "health"), 1); /* b still unknown */
    assert_int_equal(weight_of(c, "f2", "a", "10.0.1.1").weight, 30);

    /* c up: f3 only */
    clear_events();
    drive("c", PC_L4OK);
    assert_int_equal(fe_event_count("f3"), 1);
    assert_int_equal(n_fe_events, 1);
    assert_int_equal(fake_sync.n_changes, 1);
    assert_int_equal(fake_sync_count(f3, "warmup"), 1);

    /* b up: f2's weights change (p takes over from q), f2 released; f2's
     * state stays up but its active pool changes */
    clear_events();
    drive("b", PC_L4OK);
    assert_int_equal(n_fe_events, 1);
    expect_last_event("f2", FE_UP, FE_UP, 0);
    assert_int_equal(fake_sync.n_changes, 1);
    assert_int_equal(fake_sync_count(f2, "warmup"), 1);
    assert_int_equal(weight_of(c, "f2", "a", "10.0.1.1").weight, 0);
    assert_int_equal(weight_of(c, "f2", "b", "10.0.1.2").weight, 20);

    /* a down: f1 (down now) and f2 (a was already at 0 there, but the flush
     * flag changes: its VIP is marked too) */
    clear_events();
    drive("a", PC_L4CON);
    assert_int_equal(fe_event_count("f1"), 1);
    expect_last_event("f1", FE_UP, FE_DOWN, -1);
    assert_int_equal(fe_event_count("f2"), 0);
    assert_int_equal(fake_sync_count(f1, "health"), 1);
    assert_int_equal(fake_sync_count(f2, "health"), 1);
    assert_int_equal(fake_sync_count(f3, NULL), 0);
    assert_int_equal(fake_sync.n_changes, 2);

    /* operator: pause c -> f3 only, trigger operator */
    clear_events();
    assert_int_equal(core_pause(c, "c"), 0);
    assert_int_equal(fake_sync.n_changes, 1);
    assert_int_equal(fake_sync_count(f3, "operator"), 1);
    expect_last_event("f3", FE_UP, FE_DOWN, -1);
    /* resume c: back to unknown — f3's weights do not change (0 either
     * way): no VPP change */
    clear_events();
    assert_int_equal(core_resume(c, "c"), 0);
    assert_int_equal(fake_sync.n_changes, 0);
    /* a pass while up, and a probe of c: no transition, nothing marked */
    clear_events();
    drive("b", PC_L4OK);
    assert_int_equal(n_be_events, 0);
    assert_int_equal(fake_sync.n_changes, 0);
    drive("c", PC_L4OK); /* back up: f3 again, trigger health */
    assert_int_equal(fake_sync.n_changes, 1);
    assert_int_equal(fake_sync_count(f3, "health"), 1);

    /* a weight: that frontend only, trigger weight; the same weight again
     * changes nothing */
    char err[128];
    clear_events();
    assert_int_equal(core_set_weight(c, "f2", "p", "b", 5, err, sizeof(err)), 0);
    assert_int_equal(fake_sync.n_changes, 1);
    assert_int_equal(fake_sync_count(f2, "weight"), 1);
    assert_int_equal(core_set_weight(c, "f2", "p", "b", 5, err, sizeof(err)), 0);
    assert_int_equal(fake_sync.n_changes, 1);
    /* an override of a backend that is not serving: no weight change */
    assert_int_equal(core_set_weight(c, "f2", "q", "a", 77, err, sizeof(err)), 0);
    assert_int_equal(fake_sync.n_changes, 1);
    assert_int_equal(n_fe_events, 0);
    core_unobserve(c, &observer);
    core_free(c);
    assert_int_equal(fake_sync.freed, 1);
}

/* ---- held VIPs ---- */

static const char held_yaml[] = "maglev:\n" HC "  backends:\n"
                                "    s: {address: 10.0.1.1}\n"
                                "    x: {address: 10.0.1.2, healthcheck: h}\n"
                                "    y: {address: 10.0.1.3, healthcheck: h}\n"
                                "  frontends:\n"
                                "    fs:\n"
                                "      address: 192.0.2.1\n"
                                "      protocol: tcp\n"
                                "      port: 80\n"
                                "      pools: [{name: p, backends: {s: {}}}]\n"
                                "    fx:\n"
                                "      address: 192.0.2.2\n"
                                "      protocol: tcp\n"
                                "      port: 80\n"
                                "      pools:\n"
                                "        - {name: p, backends: {s: {}}}\n"
                                "        - {name: q, backends: {x: {}}}\n"
                                "    fy:\n"
                                "      address: 192.0.2.3\n"
                                "      protocol: tcp\n"
                                "      port: 80\n"
                                "      pools: [{name: p, backends: {y: {}}}]\n" VPP;

/* fx kept (x moves: a new address restarts it from unknown), fy removed,
 * fn new with a new backend z (unknown), fk new with known backends only. */
static const char held2_yaml[] = "maglev:\n" HC "  backends:\n"
                                 "    s: {address: 10.0.1.1}\n"
                                 "    x: {address: 10.0.1.12, healthcheck: h}\n"
                                 "    y: {address: 10.0.1.3, healthcheck: h}\n"
                                 "    z: {address: 10.0.1.4, healthcheck: h}\n"
                                 "  frontends:\n"
                                 "    fk:\n"
                                 "      address: 192.0.2.5\n"
                                 "      protocol: tcp\n"
                                 "      port: 80\n"
                                 "      pools: [{name: p, backends: {s: {}, y: {}}}]\n"
                                 "    fn:\n"
                                 "      address: 192.0.2.4\n"
                                 "      protocol: tcp\n"
                                 "      port: 80\n"
                                 "      pools: [{name: p, backends: {z: {}}}]\n"
                                 "    fx:\n"
                                 "      address: 192.0.2.2\n"
                                 "      protocol: tcp\n"
                                 "      port: 80\n"
                                 "      pools:\n"
                                 "        - {name: p, backends: {s: {}}}\n"
                                 "        - {name: q, backends: {x: {}, z: {}}}\n" VPP;

static bool view_held(struct core *c, const char *fe)
{
    struct core_frontend_view fv;
    core_frontend(c, fe_index(c, fe), &fv);
    return fv.vpp_held;
}

static void test_held(void **state)
{
    (void)state;
    struct core *c = core_of(held_yaml);
    struct core_vpp_opts vo = { .api_path = "/nonexistent/api.sock" };
    assert_int_equal(core_vpp_start(c, &vo), 0);
    /* s is static (up from the start): fs is released at once */
    assert_false(desired_held(c, "fs"));
    assert_true(desired_held(c, "fx"));
    assert_true(desired_held(c, "fy"));
    /* the views follow the warm-up phase */
    fake_sync.warmup = VPP_WARMUP_HOLD;
    assert_true(view_held(c, "fs"));
    assert_true(view_held(c, "fx"));
    fake_sync.warmup = VPP_WARMUP_RELEASING;
    assert_false(view_held(c, "fs"));
    assert_true(view_held(c, "fx"));
    assert_true(view_held(c, "fy"));
    /* x up: fx released (marked for VPP with trigger warmup even though its
     * weights do not change: x is in the second pool) */
    fake_sync.n_changes = 0;
    drive("x", PC_L4OK);
    assert_false(desired_held(c, "fx"));
    assert_false(view_held(c, "fx"));
    assert_true(desired_held(c, "fy"));
    assert_int_equal(fake_sync.n_changes, 1);
    assert_int_equal(fake_sync_count(fe_index(c, "fx"), "warmup"), 1);
    /* y down: leaving unknown for down releases too */
    drive("y", PC_L4CON);
    assert_false(desired_held(c, "fy"));
    assert_int_equal(fake_sync_count(fe_index(c, "fy"), "warmup"), 1);
    /* sticky: x paused, resumed (unknown again): fx stays released */
    assert_int_equal(core_pause(c, "x"), 0);
    assert_int_equal(core_resume(c, "x"), 0);
    assert_int_equal(be_state(c, "x"), BS_UNKNOWN);
    assert_false(desired_held(c, "fx"));
    assert_false(view_held(c, "fx"));
    /* warm-up over: nothing is held in the views */
    fake_sync.warmup = VPP_WARMUP_OVER;
    assert_false(view_held(c, "fy"));

    /* reload: fx survives (released, though x restarts from unknown and z
     * is new), fy is gone, fn is new and held (z unknown), fk is new with
     * known backends only: released at once */
    fake_sync.warmup = VPP_WARMUP_RELEASING;
    fake_sync.n_changes = 0;
    reload(c, held2_yaml);
    assert_int_equal(fake_sync.reloads, 1);
    assert_int_equal(fake_sync.reload_n_frontends, 3);
    assert_int_equal(fake_sync.n_changes, 0); /* the reload's full sync covers VPP */
    assert_int_equal(be_state(c, "x"), BS_UNKNOWN);
    assert_int_equal(be_state(c, "z"), BS_UNKNOWN);
    assert_int_equal(be_state(c, "y"), BS_DOWN);
    assert_false(desired_held(c, "fx"));
    assert_false(view_held(c, "fx"));
    assert_true(desired_held(c, "fn"));
    assert_true(view_held(c, "fn"));
    assert_false(desired_held(c, "fk"));
    /* z up: fn released */
    drive("z", PC_L4OK);
    assert_false(desired_held(c, "fn"));
    assert_int_equal(fake_sync_count(fe_index(c, "fn"), "warmup"), 1);
    core_free(c);
}

/* ---- reload ---- */

static const char reload1_yaml[] = "maglev:\n" HC "  backends:\n"
                                   "    a: {address: 10.0.1.1, healthcheck: h}\n"
                                   "    b: {address: 10.0.1.2, healthcheck: h}\n"
                                   "    c: {address: 10.0.1.3}\n"
                                   "  frontends:\n"
                                   "    other:\n"
                                   "      address: 192.0.2.9\n"
                                   "      protocol: tcp\n"
                                   "      port: 80\n"
                                   "      pools: [{name: p, backends: {c: {}}}]\n"
                                   "    web:\n"
                                   "      address: 192.0.2.1\n"
                                   "      protocol: tcp\n"
                                   "      port: 80\n"
                                   "      pools: [{name: p, backends: {a: {weight: 100}, b: "
                                   "{weight: 50}}}]\n" VPP;

/* c removed, aa added (static, between a and b: every index after a
 * shifts), b's weight changed, a new frontend zzz (index after web). */
static const char reload2_yaml[] = "maglev:\n" HC "  backends:\n"
                                   "    a: {address: 10.0.1.1, healthcheck: h}\n"
                                   "    aa: {address: 10.0.1.5}\n"
                                   "    b: {address: 10.0.1.2, healthcheck: h}\n"
                                   "  frontends:\n"
                                   "    web:\n"
                                   "      address: 192.0.2.1\n"
                                   "      protocol: tcp\n"
                                   "      port: 80\n"
                                   "      pools: [{name: p, backends: {a: {weight: 100}, aa: "
                                   "{weight: 10}, b: {weight: 80}}}]\n"
                                   "    zzz:\n"
                                   "      address: 192.0.2.2\n"
                                   "      protocol: tcp\n"
                                   "      port: 80\n"
                                   "      pools: [{name: p, backends: {b: {weight: 60}}}]\n" VPP;

/* a's pool renamed: its override goes */
static const char reload3_yaml[] = "maglev:\n" HC "  backends:\n"
                                   "    a: {address: 10.0.1.1, healthcheck: h}\n"
                                   "    b: {address: 10.0.1.2, healthcheck: h}\n"
                                   "  frontends:\n"
                                   "    web:\n"
                                   "      address: 192.0.2.1\n"
                                   "      protocol: tcp\n"
                                   "      port: 80\n"
                                   "      pools: [{name: p2, backends: {a: {weight: 100}, b: "
                                   "{weight: 80}}}]\n" VPP;

static void check_views(struct core *c)
{
    const struct maglev_config *cfg = core_config(c);
    for (size_t i = 0; i < cfg->n_backends; i++) {
        const struct backend_rt *b = core_backend(c, i);
        assert_non_null(b);
        assert_int_equal(b->cfg_index, (int)i);
        assert_string_equal(b->name, cfg->backends[i].name);
        assert_int_equal(core_backend_state(c, i), b->sm.state);
        /* the index agrees with the config */
        size_t n;
        const uint32_t *f = core_backend_frontends(c, i, &n);
        size_t want = 0;
        for (size_t fi = 0; fi < cfg->n_frontends; fi++) {
            const struct frontend_conf *fe = &cfg->frontends[fi];
            bool uses = false;
            for (size_t p = 0; p < fe->n_pools; p++)
                for (size_t k = 0; k < fe->pools[p].n_backends; k++)
                    uses = uses || fe->pools[p].backends[k].backend_index == (int)i;
            if (uses) {
                assert_true(want < n);
                assert_int_equal(f[want], fi);
                want++;
            }
        }
        assert_int_equal(n, want);
    }
    for (size_t fi = 0; fi < cfg->n_frontends; fi++) {
        struct core_frontend_view fv;
        core_frontend(c, fi, &fv);
        assert_ptr_equal(fv.conf, &cfg->frontends[fi]);
        assert_int_equal(fv.n_slots, lb_slots(fv.conf));
        for (size_t s = 0; s < fv.n_slots; s++) {
            struct core_slot_view sv;
            core_frontend_slot(c, fi, s, &sv);
            assert_ptr_equal(sv.backend, &cfg->backends[sv.pb->backend_index]);
            assert_int_equal(sv.state, core_backend_state(c, (size_t)sv.pb->backend_index));
        }
    }
}

static void test_reload(void **state)
{
    (void)state;
    struct core *c = core_of(reload1_yaml);
    core_observe(c, &observer);
    drive("a", PC_L4OK);
    drive("b", PC_L4OK);
    char err[128];
    assert_int_equal(core_set_weight(c, "web", "p", "a", 7, err, sizeof(err)), 0);
    assert_int_equal(weight_of(c, "web", "a", "10.0.1.1").weight, 7);
    assert_int_equal(weight_of(c, "web", "b", "10.0.1.2").weight, 50);
    check_views(c);
    n_fe_events = 0;
    reload(c, reload2_yaml);
    assert_int_equal(n_reloaded, 1);
    check_views(c);
    assert_int_equal(core_config(c)->n_backends, 3);
    assert_int_equal(be_state(c, "a"), BS_UP); /* unchanged: kept */
    assert_int_equal(be_state(c, "b"), BS_UP);
    assert_int_equal(be_state(c, "aa"), BS_UP); /* static */
    /* the override survives, b's new configured weight applies */
    assert_int_equal(weight_of(c, "web", "a", "10.0.1.1").weight, 7);
    assert_int_equal(weight_of(c, "web", "aa", "10.0.1.5").weight, 10);
    assert_int_equal(weight_of(c, "web", "b", "10.0.1.2").weight, 80);
    assert_int_equal(weight_of(c, "zzz", "b", "10.0.1.2").weight, 60);
    struct core_slot_view sv;
    slot_of(c, fe_index(c, "web"), "a", &sv, NULL);
    assert_int_equal(sv.override, 7);
    /* the new frontend went unknown -> up (reported), web stayed up */
    assert_int_equal(fe_event_count("zzz"), 1);
    assert_int_equal(fe_event_count("web"), 0);
    struct core_frontend_view fv;
    core_frontend(c, fe_index(c, "zzz"), &fv);
    assert_int_equal(fv.result.state, FE_UP);
    /* transitions after the reload reach the right frontends */
    drive("b", PC_L4CON);
    assert_int_equal(weight_of(c, "web", "b", "10.0.1.2").weight, 0);
    assert_int_equal(weight_of(c, "zzz", "b", "10.0.1.2").weight, 0);
    core_frontend(c, fe_index(c, "zzz"), &fv);
    assert_int_equal(fv.result.state, FE_DOWN);
    /* the override can be changed after the reload */
    assert_int_equal(core_set_weight(c, "web", "p", "a", 9, err, sizeof(err)), 0);
    assert_int_equal(weight_of(c, "web", "a", "10.0.1.1").weight, 9);

    /* a config that does not load: the running one stays */
    harness_write_config(&tmp, "maglev:\n  backends: [\n");
    struct config_diags d = { 0 };
    struct checker_reload_stats st;
    assert_int_equal(core_reload(c, &d, &st), -EINVAL);
    assert_true(d.n > 0);
    config_diags_free(&d);
    assert_int_equal(core_config(c)->n_frontends, 2);
    assert_int_equal(weight_of(c, "web", "a", "10.0.1.1").weight, 9);
    check_views(c);

    /* the pool renamed: the override is dropped */
    reload(c, reload3_yaml);
    check_views(c);
    assert_int_equal(weight_of(c, "web", "a", "10.0.1.1").weight, 100);
    slot_of(c, 0, "a", &sv, NULL);
    assert_int_equal(sv.override, -1);
    core_unobserve(c, &observer);
    core_free(c);
    assert_int_equal(fake_n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_truth_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_held, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
