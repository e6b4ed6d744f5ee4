/* Unit tests for src/vpp/sync.c and sync_vip.c: the real VPP sync on a real
 * libev loop against the real vppsim (tools/vppsim, a subprocess), with a
 * desired state the test controls (the sync's source):
 *   - targeted changes: after the connect sync, one VIP's change sends
 *     exactly the differing lb_as_set_weight requests, no dump;
 *   - coalescing within a loop iteration and while a VIP's batch is in
 *     flight (one next batch from the newest desired state);
 *   - the model from replies: success, VPP errors (model unchanged),
 *     a disconnect or a dropped request mid-flight (model invalid, the
 *     connect or repair sync repairs); a flush sent once; a VPP restart;
 *   - the job queue: changes during a running full sync are not lost, API
 *     jobs run in order, cancel, -ENOTCONN, changes resume after a failed
 *     job;
 *   - a reload with a batch in flight (indexes change, a VIP removed),
 *     vpp_sync_free with work in flight, dry run, periodic drift repair;
 *   - warm-up: none, HOLD (nothing written, API syncs -EBUSY, plans
 *     allowed), RELEASING (held VIPs untouched, adopted as they are,
 *     released ones written), OVER (the rest written).
 * vppsim is checked through its control socket: `received` counts, the
 * journal of LB writes, `state`, and fault injection (delay, drop, fail,
 * cut). No tight timing: the loop runs until a condition holds, with
 * generous deadlines. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "config/config.h"
#include "core_harness.h"
#include "lb/plan.h"
#include "vpp/sync.h"
#include "vppsim_proc.h"

static struct ev_loop *loop;
static ev_timer tick; /* so that EVRUN_ONCE returns at least every 10 ms */
static struct vppsim sim;
static struct vpp_sync *vs;

/* ---- the source: a desired state the test controls ---- */

#define N_FE   3
#define N_SLOT 3

/* The test's frontends by id: fa (0): a1 a2 a3; fb (1): b1 b2; fc (2): c1
 * (slots in name order). In the config they have the same indexes, except
 * after a reload to another config: the source maps config indexes to ids
 * by name. */
static const char *const names[N_FE] = { "fa", "fb", "fc" };
static const char *const prefixes[N_FE] = { "198.19.0.10/32", "198.19.0.11/32", "198.19.0.12/32" };
static const char *const addrs[N_FE][N_SLOT] = {
    { "10.0.1.1", "10.0.1.2", "10.0.1.3" },
    { "10.0.2.1", "10.0.2.2", NULL },
    { "10.0.3.1", NULL, NULL },
};
static const size_t n_slots[N_FE] = { 3, 2, 1 };

struct applied_rec {
    char frontend[16];
    enum lb_op_kind kind;
    char as[48];
    uint8_t weight;
    bool flush;
    int retval, err;
    char trigger[16];
    bool dry;
};

static struct {
    struct maglev_config *cfg;
    struct lb_weight w[N_FE][N_SLOT]; /* by id */
    bool held[N_FE];                  /* by id */
    int n_desired;
    int n_desired_vip[N_FE]; /* by id */
    struct applied_rec applied[512];
    size_t n_applied;
} src;

/* The id of config frontend fe. */
static size_t id_of(size_t fe)
{
    const char *name = src.cfg->frontends[fe].name;
    for (size_t id = 0; id < N_FE; id++)
        if (!strcmp(names[id], name))
            return id;
    FAIL("frontend %s is not one of the test's", name);
}

/* The config index of frontend id, -1 when the config does not have it. */
static int fe_of(size_t id)
{
    const struct frontend_conf *fe = config_find_frontend(src.cfg, names[id]);
    return fe ? (int)(fe - src.cfg->frontends) : -1;
}

static void src_weights(void *ctx, size_t fe, struct lb_weight *out, bool *held)
{
    (void)ctx;
    size_t id = id_of(fe);
    memcpy(out, src.w[id], n_slots[id] * sizeof(*out));
    *held = src.held[id];
}

static int src_desired(void *ctx, struct lb_state *out)
{
    src.n_desired++;
    return lb_desired_build(src.cfg, src_weights, ctx, out);
}

static bool src_desired_vip(void *ctx, size_t fe, struct lb_vip *out)
{
    (void)ctx;
    if (fe >= src.cfg->n_frontends)
        return false;
    size_t id = id_of(fe);
    src.n_desired_vip[id]++;
    lb_desired_vip(src.cfg, fe, src.w[id], out);
    out->held = src.held[id];
    return true;
}

static void src_applied(void *ctx, const struct vpp_applied *a)
{
    (void)ctx;
    if (src.n_applied >= 512)
        return;
    struct applied_rec *r = &src.applied[src.n_applied++];
    memset(r, 0, sizeof(*r));
    snprintf(r->frontend, sizeof(r->frontend), "%s", a->op->frontend ? a->op->frontend : "");
    r->kind = a->op->kind;
    ip_addr_format(&a->op->as, r->as, sizeof(r->as));
    r->weight = a->op->weight;
    r->flush = a->op->flush;
    r->retval = a->res ? a->res->retval : 0;
    r->err = a->res ? a->res->err : 0;
    snprintf(r->trigger, sizeof(r->trigger), "%s", a->trigger ? a->trigger : "");
    r->dry = a->dry_run;
}

static void set_w(size_t id, size_t slot, uint8_t weight, bool flush)
{
    src.w[id][slot].weight = weight;
    src.w[id][slot].flush = flush;
}

/* set_w, then the change of frontend id told to the sync (trigger health;
 * id is the config index: before a reload). */
static void set_change(size_t id, size_t slot, uint8_t weight, bool flush)
{
    set_w(id, slot, weight, flush);
    vpp_sync_vip_changed(vs, id, "health", clock_mono_us());
}

static const char config_yaml[] =
    "maglev:\n"
    "  backends:\n"
    "    a1: {address: 10.0.1.1}\n"
    "    a2: {address: 10.0.1.2}\n"
    "    a3: {address: 10.0.1.3}\n"
    "    b1: {address: 10.0.2.1}\n"
    "    b2: {address: 10.0.2.2}\n"
    "    c1: {address: 10.0.3.1}\n"
    "  frontends:\n"
    "    fa:\n"
    "      address: 198.19.0.10\n"
    "      protocol: tcp\n"
    "      port: 80\n"
    "      pools: [{name: p, backends: {a1: {}, a2: {}, a3: {}}}]\n"
    "    fb:\n"
    "      address: 198.19.0.11\n"
    "      protocol: tcp\n"
    "      port: 80\n"
    "      pools: [{name: p, backends: {b1: {}, b2: {}}}]\n"
    "    fc:\n"
    "      address: 198.19.0.12\n"
    "      protocol: tcp\n"
    "      port: 80\n"
    "      pools: [{name: p, backends: {c1: {}}}]\n"
    "  vpp: {lb: {ipv4-src-address: 192.0.2.250, ipv6-src-address: \"2001:db8::1\"}}\n";

/* ---- the sync ---- */

/* Short client timeouts (vppsim holds replies back 1 s where a test needs
 * something in flight: well under the request timeout); no periodic sync
 * in the way of the counts. */
static struct vpp_sync_opts sync_opts(double hold, double release)
{
    struct vpp_sync_opts o = {
        .api_path = sim.api,
        .interval = 3600,
        .hold = hold,
        .release = release,
        .n_frontends = N_FE,
        .client = { .request_timeout = 3, .backoff_min = 0.1, .backoff_max = 0.2 },
    };
    return o;
}

static void start_with(const struct vpp_sync_opts *o)
{
    struct vpp_sync_source s = {
        .desired = src_desired,
        .desired_vip = src_desired_vip,
        .applied = src_applied,
        .ctx = &src,
    };
    vs = vpp_sync_new(loop, o, &s);
    assert_non_null(vs);
    vpp_sync_start(vs);
}

static void start_sync(double hold, double release)
{
    struct vpp_sync_opts o = sync_opts(hold, release);
    start_with(&o);
}

/* vpp_sync_as_status of AS `slot` of frontend id. */
static enum vpp_as_status as_status(size_t id, size_t slot, uint8_t want, int *weight,
                                    const char **error)
{
    const struct frontend_conf *fe = config_find_frontend(src.cfg, names[id]);
    assert_non_null(fe);
    struct lb_vip_key key = lb_frontend_vip_key(fe);
    struct ip_addr a;
    assert_int_equal(ip_addr_parse(addrs[id][slot], &a), 0);
    int w;
    const char *e;
    enum vpp_as_status st =
        vpp_sync_as_status(vs, &key, &a, want, weight ? weight : &w, error ? error : &e);
    return st;
}

/* Every AS of frontend id has its desired weight in the model. */
static bool fe_applied(size_t id)
{
    for (size_t s = 0; s < n_slots[id]; s++)
        if (as_status(id, s, src.w[id][s].weight, NULL, NULL) != VPP_AS_APPLIED)
            return false;
    return true;
}

/* Nothing pending, every frontend of the config applied. */
static bool all_applied(void)
{
    if (vpp_sync_pending(vs) != 0)
        return false;
    for (size_t id = 0; id < N_FE; id++)
        if (fe_of(id) >= 0 && !fe_applied(id))
            return false;
    return true;
}

/* vppsim has frontend id's desired weights. */
static void expect_vppsim(size_t id)
{
    for (size_t s = 0; s < n_slots[id]; s++) {
        int w = vppsim_as_weight(&sim, prefixes[id], 80, addrs[id][s]);
        if (w != src.w[id][s].weight)
            print_error("vppsim: %s %s weight %d, desired %u\n", prefixes[id], addrs[id][s], w,
                        src.w[id][s].weight);
        assert_int_equal(w, src.w[id][s].weight);
    }
}

static void connect_and_sync(void)
{
    start_sync(0, 0);
    RUN_UNTIL(vpp_sync_last_full_us(vs) > 0 && all_applied(), 30);
    assert_int_equal(vpp_sync_warmup(vs), VPP_WARMUP_OVER);
    for (size_t fe = 0; fe < N_FE; fe++)
        expect_vppsim(fe);
}

/* ---- the journal ---- */

static long jmark(void)
{
    struct jv *r = vppsim_ok(&sim, "{\"cmd\": \"journal\", \"since\": 1000000000000}");
    long last = (long)jv_num(jv_get(r, "last"), -1);
    jv_free(r);
    assert_true(last >= 0);
    return last;
}

/* The journal entries after mark (free with jv_free; entries in "journal"). */
static struct jv *jsince(long mark)
{
    return vppsim_ok(&sim, "{\"cmd\": \"journal\", \"since\": %ld}", mark);
}

/* Entries of j named name, for AS as (NULL: any) with weight (-1: any). */
static int jcount(const struct jv *j, const char *name, const char *as, int weight)
{
    const struct jv *e = jv_get(j, "journal");
    int n = 0;
    for (size_t i = 0; e && i < e->n; i++) {
        const struct jv *x = e->items[i];
        if (strcmp(jv_str(jv_get(x, "name")), name) != 0)
            continue;
        const struct jv *f = jv_get(x, "fields");
        if (as && strcmp(jv_str(jv_get(f, "as_address")), as) != 0)
            continue;
        if (weight >= 0 && (int)jv_num(jv_get(f, "weight"), -1) != weight)
            continue;
        n++;
    }
    return n;
}

static size_t jlen(const struct jv *j)
{
    const struct jv *e = jv_get(j, "journal");
    return e ? e->n : 0;
}

/* The journal entries, with MAGLEV_TEST_LOG set. */
static void jprint(const struct jv *j)
{
    if (!getenv("MAGLEV_TEST_LOG"))
        return;
    const struct jv *e = jv_get(j, "journal");
    for (size_t i = 0; e && i < e->n; i++) {
        const struct jv *f = jv_get(e->items[i], "fields");
        print_message("  journal: %s %s %s weight %d\n", jv_str(jv_get(e->items[i], "name")),
                      jv_str(jv_get(f, "prefix")), jv_str(jv_get(f, "as_address")),
                      (int)jv_num(jv_get(f, "weight"), -1));
    }
}

/* ---- fixtures ---- */

static int setup(void **state)
{
    (void)state;
    /* MAGLEV_TEST_LOG=debug|info|warn: the sync's logs on stderr */
    enum log_level lvl = LOG_LEVEL_ERROR;
    const char *env = getenv("MAGLEV_TEST_LOG");
    if (env && log_level_parse(env, &lvl) < 0)
        lvl = LOG_LEVEL_ERROR;
    log_setup(lvl, LOG_FORMAT_TEXT, 2);
    loop = harness_loop_new(&tick);
    memset(&src, 0, sizeof(src));
    src.cfg = harness_load_buffer(config_yaml);
    assert_int_equal(src.cfg->n_frontends, N_FE);
    for (size_t s = 0; s < 3; s++)
        set_w(0, s, 100, false);
    set_w(1, 0, 50, false);
    set_w(1, 1, 50, false);
    set_w(2, 0, 30, false);
    vs = NULL;
    return vppsim_start(&sim, NULL);
}

static int teardown(void **state)
{
    (void)state;
    vpp_sync_free(vs);
    vs = NULL;
    vppsim_stop(&sim);
    harness_loop_free(loop, &tick);
    config_free(src.cfg);
    src.cfg = NULL;
    return 0;
}

/* ---- targeted changes ---- */

static void test_targeted(void **state)
{
    (void)state;
    connect_and_sync();
    assert_true(vpp_sync_is_up(vs));
    assert_int_equal(vppsim_received(&sim, "lb_as_v2_dump"), 1);
    long dumps = vppsim_received(&sim, "lb_as_v2_dump");
    long vdumps = vppsim_received(&sim, "lb_vip_dump");
    long sw = vppsim_received(&sim, "lb_as_set_weight");
    long writes = vppsim_writes(&sim);
    long mark = jmark();
    int desired = src.n_desired;

    /* two of fa's three ASes change: two lb_as_set_weight, nothing else */
    set_w(0, 0, 20, false);
    set_w(0, 2, 0, true);
    src.n_applied = 0;
    vpp_sync_vip_changed(vs, 0, "health", clock_mono_us());
    assert_int_equal(vpp_sync_pending(vs), 1);
    RUN_UNTIL(all_applied(), 20);
    assert_int_equal(vppsim_received(&sim, "lb_as_v2_dump"), dumps);
    assert_int_equal(vppsim_received(&sim, "lb_vip_dump"), vdumps);
    assert_int_equal(vppsim_received(&sim, "lb_as_set_weight"), sw + 2);
    assert_int_equal(vppsim_writes(&sim), writes + 2);
    assert_int_equal(src.n_desired, desired); /* the whole state was not built */
    struct jv *j = jsince(mark);
    jprint(j);
    assert_int_equal(jlen(j), 2);
    assert_int_equal(jcount(j, "lb_as_set_weight", "10.0.1.1", 20), 1);
    assert_int_equal(jcount(j, "lb_as_set_weight", "10.0.1.3", 0), 1);
    /* the flush goes with the weight 0 */
    const struct jv *e = jv_get(j, "journal");
    for (size_t i = 0; i < e->n; i++) {
        const struct jv *f = jv_get(e->items[i], "fields");
        const struct jv *fl = jv_get(f, "is_flush");
        assert_non_null(fl);
        assert_int_equal(fl->b, !strcmp(jv_str(jv_get(f, "as_address")), "10.0.1.3"));
        assert_string_equal(jv_str(jv_get(f, "prefix")), "198.19.0.10/32");
    }
    jv_free(j);
    expect_vppsim(0);
    /* the model: VPP's weight as answered */
    int w;
    const char *err;
    assert_int_equal(as_status(0, 0, 20, &w, &err), VPP_AS_APPLIED);
    assert_int_equal(w, 20);
    assert_string_equal(err, "");
    assert_int_equal(as_status(0, 0, 100, &w, &err), VPP_AS_PENDING); /* not what VPP has */
    assert_int_equal(w, 20);
    /* the source heard of each op with its trigger */
    assert_int_equal(src.n_applied, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_string_equal(src.applied[i].frontend, "fa");
        assert_int_equal(src.applied[i].kind, LB_OP_AS_WEIGHT);
        assert_string_equal(src.applied[i].trigger, "health");
        assert_int_equal(src.applied[i].retval, 0);
        assert_int_equal(src.applied[i].err, 0);
        assert_false(src.applied[i].dry);
    }

    /* a change that changes nothing: no request */
    vpp_sync_vip_changed(vs, 0, "health", clock_mono_us());
    RUN_UNTIL(vpp_sync_pending(vs) == 0, 10);
    harness_run_for(loop, 0.2);
    assert_int_equal(vppsim_writes(&sim), writes + 2);
    /* a frontend that does not exist: ignored */
    vpp_sync_vip_changed(vs, 99, "health", clock_mono_us());
    assert_int_equal(vpp_sync_pending(vs), 0);
    /* the flush is sent once: the same 0-with-flush again is a no-op */
    vpp_sync_vip_changed(vs, 0, "health", clock_mono_us());
    harness_run_for(loop, 0.2);
    assert_int_equal(vppsim_writes(&sim), writes + 2);
    assert_int_equal(vppsim_received(&sim, "lb_as_v2_dump"), dumps);
}

/* ---- coalescing ---- */

static void test_coalesce(void **state)
{
    (void)state;
    connect_and_sync();
    long mark = jmark();
    long dumps = vppsim_received(&sim, "lb_as_v2_dump");

    /* one loop iteration: several changes of fa and fb -> one request per
     * changed AS, planned from the newest desired state */
    memset(src.n_desired_vip, 0, sizeof(src.n_desired_vip));
    set_change(0, 0, 11, false);
    set_change(0, 0, 12, false);
    set_change(1, 0, 13, false);
    vpp_sync_vip_changed(vs, 1, "operator", clock_mono_us());
    vpp_sync_vip_changed(vs, 0, "weight", clock_mono_us());
    assert_int_equal(vpp_sync_pending(vs), 2);
    RUN_UNTIL(all_applied(), 20);
    struct jv *j = jsince(mark);
    jprint(j);
    assert_int_equal(jlen(j), 2);
    assert_int_equal(jcount(j, "lb_as_set_weight", "10.0.1.1", 12), 1);
    assert_int_equal(jcount(j, "lb_as_set_weight", "10.0.2.1", 13), 1);
    jv_free(j);
    assert_int_equal(src.n_desired_vip[0], 1);
    assert_int_equal(src.n_desired_vip[1], 1);
    assert_int_equal(src.n_desired_vip[2], 0);

    /* changes while fa's batch is in flight (its reply held back by vppsim)
     * are merged into one next batch from the newest desired state; fb's
     * change is not held up by fa's batch */
    vppsim_do(&sim, "{\"cmd\": \"delay\", \"seconds\": 1.0, \"names\": [\"lb_as_set_weight\"]}");
    mark = jmark();
    long sw = vppsim_received(&sim, "lb_as_set_weight");
    memset(src.n_desired_vip, 0, sizeof(src.n_desired_vip));
    set_change(0, 0, 21, false);
    RUN_UNTIL(vppsim_received(&sim, "lb_as_set_weight") == sw + 1, 20);
    assert_true(vpp_client_in_flight(vpp_sync_client(vs)) >= 1);
    set_change(0, 0, 22, false);
    ev_run(loop, EVRUN_NOWAIT);
    set_change(0, 1, 23, false);
    ev_run(loop, EVRUN_NOWAIT);
    set_change(1, 1, 25, false);
    ev_run(loop, EVRUN_NOWAIT);
    set_change(0, 0, 24, false);
    ev_run(loop, EVRUN_NOWAIT);
    /* still in flight: fa's first batch was not answered yet */
    assert_true(vpp_client_in_flight(vpp_sync_client(vs)) >= 1);
    RUN_UNTIL(all_applied(), 30);
    j = jsince(mark);
    jprint(j);
    assert_int_equal(jlen(j), 4);
    assert_int_equal(jcount(j, "lb_as_set_weight", "10.0.1.1", 21), 1);
    assert_int_equal(jcount(j, "lb_as_set_weight", "10.0.2.2", 25), 1);
    assert_int_equal(jcount(j, "lb_as_set_weight", "10.0.1.1", 24), 1);
    assert_int_equal(jcount(j, "lb_as_set_weight", "10.0.1.2", 23), 1);
    assert_int_equal(jcount(j, "lb_as_set_weight", "10.0.1.1", 22), 0);
    /* 21 before 24 */
    const struct jv *e = jv_get(j, "journal");
    int pos21 = -1, pos24 = -1;
    for (size_t i = 0; i < e->n; i++) {
        int wt = (int)jv_num(jv_path(e->items[i], "fields", "weight", NULL), -1);
        if (wt == 21)
            pos21 = (int)i;
        if (wt == 24)
            pos24 = (int)i;
    }
    assert_true(pos21 >= 0 && pos24 > pos21);
    jv_free(j);
    assert_int_equal(src.n_desired_vip[0], 2); /* the first batch and one merged batch */
    assert_int_equal(src.n_desired_vip[1], 1);
    vppsim_do(&sim, "{\"cmd\": \"delay\", \"seconds\": 0}");
    for (size_t fe = 0; fe < N_FE; fe++)
        expect_vppsim(fe);
    assert_int_equal(vppsim_received(&sim, "lb_as_v2_dump"), dumps);
}

/* ---- the model from replies ---- */

static void test_replies(void **state)
{
    (void)state;
    connect_and_sync();
    long dumps = vppsim_received(&sim, "lb_as_v2_dump");

    /* a VPP error: FAILED with VPP's answer, the model unchanged */
    vppsim_do(&sim, "{\"cmd\": \"fail\", \"names\": [\"lb_as_set_weight\"], \"retval\": -6, "
                    "\"count\": 1, \"address\": \"10.0.1.1\"}");
    long mark = jmark();
    src.n_applied = 0;
    set_w(0, 0, 33, false);
    set_change(0, 1, 34, false);
    RUN_UNTIL(vpp_sync_pending(vs) == 0 && vppsim_received(&sim, "lb_as_set_weight") > 0 &&
                  as_status(0, 1, 34, NULL, NULL) == VPP_AS_APPLIED,
              20);
    int w;
    const char *err;
    assert_int_equal(as_status(0, 0, 33, &w, &err), VPP_AS_FAILED);
    assert_int_equal(w, 100); /* the model kept what VPP has */
    assert_non_null(strstr(err, "-6"));
    assert_int_equal(vppsim_as_weight(&sim, prefixes[0], 80, "10.0.1.1"), 100);
    assert_int_equal(vppsim_as_weight(&sim, prefixes[0], 80, "10.0.1.2"), 34);
    assert_int_equal(src.n_applied, 2);
    int failed_seen = 0;
    for (size_t i = 0; i < src.n_applied; i++)
        if (!strcmp(src.applied[i].as, "10.0.1.1")) {
            assert_int_equal(src.applied[i].retval, -6);
            failed_seen++;
        }
    assert_int_equal(failed_seen, 1);
    /* a VPP error is an answer: no repair sync */
    harness_run_for(loop, 0.2);
    assert_int_equal(vppsim_received(&sim, "lb_as_v2_dump"), dumps);
    /* planned again against the unchanged model: sent again, applied */
    vpp_sync_vip_changed(vs, 0, "health", clock_mono_us());
    RUN_UNTIL(all_applied(), 20);
    assert_int_equal(as_status(0, 0, 33, &w, &err), VPP_AS_APPLIED);
    assert_int_equal(w, 33);
    assert_string_equal(err, "");
    struct jv *j = jsince(mark);
    jprint(j);
    assert_int_equal(jcount(j, "lb_as_set_weight", "10.0.1.1", 33), 2);
    assert_int_equal(jcount(j, "lb_as_set_weight", "10.0.1.2", 34), 1);
    assert_int_equal(jlen(j), 3);
    jv_free(j);
    expect_vppsim(0);

    /* a request VPP drops (no reply): after the request timeout the model
     * is uncertain, a repair sync reads VPP and applies the change */
    vppsim_do(&sim, "{\"cmd\": \"drop\", \"names\": [\"lb_as_set_weight\"], \"count\": 1}");
    long sw = vppsim_received(&sim, "lb_as_set_weight");
    set_change(0, 2, 55, false);
    RUN_UNTIL(vppsim_received(&sim, "lb_as_set_weight") == sw + 1, 20);
    assert_int_equal(vppsim_as_weight(&sim, prefixes[0], 80, "10.0.1.3"), 100); /* dropped */
    RUN_UNTIL(vppsim_received(&sim, "lb_as_v2_dump") == dumps + 1, 30);
    RUN_UNTIL(all_applied(), 30);
    expect_vppsim(0);
    assert_int_equal(vppsim_received(&sim, "lb_as_set_weight"), sw + 2);
    dumps = vppsim_received(&sim, "lb_as_v2_dump");

    /* a disconnect while a batch is in flight: the model is invalid (every
     * AS pending, VPP's weight unknown); after the reconnect the connect
     * sync reads VPP again and everything is applied */
    vppsim_do(&sim, "{\"cmd\": \"delay\", \"seconds\": 1.0, \"names\": [\"lb_as_set_weight\"]}");
    long creates = vppsim_received(&sim, "sockclnt_create");
    sw = vppsim_received(&sim, "lb_as_set_weight");
    set_change(1, 0, 44, false);
    RUN_UNTIL(vppsim_received(&sim, "lb_as_set_weight") == sw + 1, 20);
    assert_true(vpp_client_in_flight(vpp_sync_client(vs)) >= 1);
    vppsim_do(&sim, "{\"cmd\": \"cut\"}");
    vppsim_do(&sim, "{\"cmd\": \"delay\", \"seconds\": 0}");
    RUN_UNTIL(!vpp_sync_is_up(vs), 20);
    assert_int_equal(as_status(1, 0, 44, &w, &err), VPP_AS_PENDING);
    assert_int_equal(w, -1);
    assert_int_equal(as_status(0, 0, 33, &w, &err), VPP_AS_PENDING);
    assert_int_equal(w, -1);
    mark = jmark();
    RUN_UNTIL(vpp_sync_is_up(vs) && all_applied(), 30);
    assert_int_equal(vppsim_received(&sim, "sockclnt_create"), creates + 1);
    assert_int_equal(vppsim_received(&sim, "lb_as_v2_dump"), dumps + 1);
    assert_int_equal(as_status(1, 0, 44, &w, &err), VPP_AS_APPLIED);
    assert_int_equal(w, 44);
    /* vppsim had applied the request before the cut: nothing to write */
    j = jsince(mark);
    jprint(j);
    assert_int_equal(jlen(j), 0);
    jv_free(j);
    for (size_t fe = 0; fe < N_FE; fe++)
        expect_vppsim(fe);
}

/* ---- the job queue ---- */

struct job_rec {
    int id;
    int err;
    bool applied, full, state;
    size_t n_ops, failed, n_vips;
    size_t as_weight_ops;
    char frontend[16];
};
static struct job_rec jobs[16];
static size_t n_jobs;

static void on_job(void *ctx, const struct vpp_sync_result *r)
{
    struct job_rec *j = &jobs[n_jobs++ % 16];
    memset(j, 0, sizeof(*j));
    j->id = (int)(intptr_t)ctx;
    j->err = r->err;
    j->applied = r->applied;
    j->full = r->full;
    j->failed = r->failed;
    j->n_ops = r->plan ? r->plan->n_ops : 0;
    j->as_weight_ops = r->plan ? r->plan->as_weight : 0;
    snprintf(j->frontend, sizeof(j->frontend), "%s", r->frontend ? r->frontend : "");
}

static void on_state(void *ctx, int err, const struct lb_state *observed)
{
    struct job_rec *j = &jobs[n_jobs++ % 16];
    memset(j, 0, sizeof(*j));
    j->id = (int)(intptr_t)ctx;
    j->err = err;
    j->state = true;
    j->n_vips = observed ? observed->n_vips : 0;
    for (size_t i = 0; observed && i < observed->n_vips; i++)
        assert_non_null(observed->vips[i].name); /* named by the desired VIPs */
}

/* Connected and synced, no job answered yet, and b1's weight set to 3 in
 * vppsim behind the sync's back: a full sync has it to repair. */
static void synced_with_b1_skewed(void)
{
    connect_and_sync();
    n_jobs = 0;
    vppsim_do(&sim, "{\"cmd\": \"as-weight\", \"prefix\": \"198.19.0.11/32\", \"protocol\": 6, "
                    "\"port\": 80, \"address\": \"10.0.2.1\", \"weight\": 3}");
}

static void test_jobs(void **state)
{
    (void)state;
    connect_and_sync();
    n_jobs = 0;

    /* a full API sync, slowed down by vppsim: fa changes while it reads
     * (its desired state has it) and again while it applies (queued behind
     * it, then planned against the model it installs): nothing is lost and
     * nothing is sent twice */
    vppsim_do(&sim, "{\"cmd\": \"as-weight\", \"prefix\": \"198.19.0.11/32\", \"protocol\": 6, "
                    "\"port\": 80, \"address\": \"10.0.2.1\", \"weight\": 3}");
    vppsim_do(&sim, "{\"cmd\": \"delay\", \"seconds\": 1.0, \"names\": [\"lb_as_v2_dump\", "
                    "\"lb_as_set_weight\"]}");
    long mark = jmark();
    long dumps = vppsim_received(&sim, "lb_as_v2_dump");
    long sw = vppsim_received(&sim, "lb_as_set_weight");
    assert_int_equal(vpp_sync_request(vs, NULL, true, on_job, (void *)1, NULL), 0);
    RUN_UNTIL(vppsim_received(&sim, "lb_as_v2_dump") == dumps + 1, 20);
    assert_int_equal(n_jobs, 0);
    set_change(0, 0, 61, false); /* during the read */
    ev_run(loop, EVRUN_NOWAIT);
    RUN_UNTIL(vppsim_received(&sim, "lb_as_set_weight") > sw, 20);
    assert_int_equal(n_jobs, 0);
    set_change(0, 1, 62, false); /* during the apply */
    ev_run(loop, EVRUN_NOWAIT);
    assert_int_equal(n_jobs, 0);
    RUN_UNTIL(n_jobs == 1 && all_applied(), 30);
    assert_int_equal(jobs[0].id, 1);
    assert_int_equal(jobs[0].err, 0);
    assert_true(jobs[0].applied);
    assert_true(jobs[0].full);
    assert_int_equal(jobs[0].failed, 0);
    assert_int_equal(jobs[0].n_ops, 2); /* b1's repair and a1 (read after the change) */
    assert_int_equal(jobs[0].as_weight_ops, 2);
    vppsim_do(&sim, "{\"cmd\": \"delay\", \"seconds\": 0}");
    struct jv *j = jsince(mark);
    jprint(j);
    assert_int_equal(jlen(j), 3);
    assert_int_equal(jcount(j, "lb_as_set_weight", "10.0.2.1", 50), 1);
    assert_int_equal(jcount(j, "lb_as_set_weight", "10.0.1.1", 61), 1);
    assert_int_equal(jcount(j, "lb_as_set_weight", "10.0.1.2", 62), 1);
    jv_free(j);
    for (size_t fe = 0; fe < N_FE; fe++)
        expect_vppsim(fe);

    /* API jobs run in the order they were asked for; a canceled one is
     * never answered */
    n_jobs = 0;
    set_w(1, 1, 7, false); /* something to plan, not told as a change */
    struct vpp_sync_job *cancel = NULL;
    assert_int_equal(vpp_sync_request(vs, "fb", false, on_job, (void *)1, NULL), 0);
    assert_int_equal(vpp_sync_get_state(vs, on_state, (void *)2, NULL), 0);
    assert_int_equal(vpp_sync_request(vs, "fa", true, on_job, (void *)99, &cancel), 0);
    assert_non_null(cancel);
    vpp_sync_cancel(cancel);
    assert_int_equal(vpp_sync_request(vs, "nope", true, on_job, (void *)3, NULL), 0);
    assert_int_equal(vpp_sync_request(vs, NULL, true, on_job, (void *)4, NULL), 0);
    assert_int_equal(vpp_sync_request(vs, "fb", false, on_job, (void *)5, NULL), 0);
    RUN_UNTIL(n_jobs == 5, 30);
    harness_run_for(loop, 0.1);
    assert_int_equal(n_jobs, 5);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(jobs[i].id, (int)i + 1);
    /* 1: a plan of fb, not applied */
    assert_int_equal(jobs[0].err, 0);
    assert_false(jobs[0].applied);
    assert_false(jobs[0].full);
    assert_string_equal(jobs[0].frontend, "fb");
    assert_int_equal(jobs[0].n_ops, 1);
    /* 2: the state, VIPs named */
    assert_true(jobs[1].state);
    assert_int_equal(jobs[1].err, 0);
    assert_int_equal(jobs[1].n_vips, 3);
    /* 3: no such frontend */
    assert_int_equal(jobs[2].err, -ENOENT);
    /* 4: the full sync applies fb's change */
    assert_int_equal(jobs[3].err, 0);
    assert_true(jobs[3].applied);
    assert_int_equal(jobs[3].n_ops, 1);
    /* 5: nothing left to plan */
    assert_int_equal(jobs[4].n_ops, 0);
    expect_vppsim(1);
}

/* A job that fails (here an API sync of a frontend that does not exist)
 * after targeted changes queued behind it: they are sent when it ends,
 * not left waiting for the next event. */
static void test_failed_job_releases_changes(void **state)
{
    (void)state;
    connect_and_sync();
    n_jobs = 0;
    vppsim_do(&sim, "{\"cmd\": \"delay\", \"seconds\": 1.0, \"names\": [\"lb_as_v2_dump\"]}");
    long dumps = vppsim_received(&sim, "lb_as_v2_dump");
    assert_int_equal(vpp_sync_request(vs, "nope", true, on_job, (void *)1, NULL), 0);
    RUN_UNTIL(vppsim_received(&sim, "lb_as_v2_dump") == dumps + 1, 20);
    set_change(0, 0, 71, false); /* while the job reads */
    ev_run(loop, EVRUN_NOWAIT);
    RUN_UNTIL(n_jobs == 1, 20);
    assert_int_equal(jobs[0].err, -ENOENT);
    vppsim_do(&sim, "{\"cmd\": \"delay\", \"seconds\": 0}");
    double t = harness_now();
    while (!all_applied() && harness_now() < t + 5)
        ev_run(loop, EVRUN_ONCE);
    if (!all_applied())
        print_error("the change of fa queued behind the failed job is still pending (%zu) "
                    "%.1f s after the job ended\n",
                    vpp_sync_pending(vs), harness_now() - t);
    assert_true(all_applied());
    expect_vppsim(0);
}

static void test_not_connected(void **state)
{
    (void)state;
    struct vpp_sync_opts o = {
        .api_path = "/nonexistent/maglev-test/api.sock",
        .n_frontends = N_FE,
        .client = { .request_timeout = 1, .backoff_min = 0.1, .backoff_max = 0.2 },
    };
    struct vpp_sync_source s = {
        .desired = src_desired,
        .desired_vip = src_desired_vip,
        .ctx = &src,
    };
    vs = vpp_sync_new(loop, &o, &s);
    assert_non_null(vs);
    vpp_sync_start(vs);
    harness_run_for(loop, 0.2);
    assert_false(vpp_sync_is_up(vs));
    assert_int_equal(vpp_sync_request(vs, NULL, true, on_job, NULL, NULL), -ENOTCONN);
    assert_int_equal(vpp_sync_get_state(vs, on_state, NULL, NULL), -ENOTCONN);
    /* changes wait (the connect sync will cover them); statuses pending */
    vpp_sync_vip_changed(vs, 0, "health", clock_mono_us());
    harness_run_for(loop, 0.1);
    assert_int_equal(as_status(0, 0, 100, NULL, NULL), VPP_AS_PENDING);
}

/* A flush is sent once with the weight 0: also when the weight is 0
 * already; not again by later changes or full syncs. */
static void test_flush_once(void **state)
{
    (void)state;
    connect_and_sync();
    n_jobs = 0;
    long mark = jmark();
    set_change(0, 1, 0, false); /* drained: weight 0, no flush */
    RUN_UNTIL(all_applied(), 20);
    set_change(0, 1, 0, true); /* then down with flush-on-down: the flush goes out */
    RUN_UNTIL(vpp_sync_pending(vs) == 0 && vppsim_received(&sim, "lb_as_set_weight") >= 2, 20);
    vpp_sync_vip_changed(vs, 0, "health", clock_mono_us()); /* again: nothing */
    RUN_UNTIL(vpp_sync_pending(vs) == 0, 20);
    assert_int_equal(vpp_sync_request(vs, NULL, true, on_job, (void *)1, NULL), 0);
    RUN_UNTIL(n_jobs == 1, 20);
    assert_int_equal(jobs[0].err, 0);
    assert_int_equal(jobs[0].n_ops, 0); /* the model remembers the flush across the read */
    vpp_sync_vip_changed(vs, 0, "health", clock_mono_us());
    harness_run_for(loop, 0.2);
    struct jv *j = jsince(mark);
    jprint(j);
    assert_int_equal(jlen(j), 2);
    const struct jv *e = jv_get(j, "journal");
    for (size_t i = 0; i < 2; i++) {
        const struct jv *f = jv_get(e->items[i], "fields");
        assert_string_equal(jv_str(jv_get(f, "as_address")), "10.0.1.2");
        assert_int_equal((int)jv_num(jv_get(f, "weight"), -1), 0);
        assert_int_equal(jv_get(f, "is_flush")->b, i == 1);
    }
    jv_free(j);
    /* up again, then down again: flushed again */
    set_change(0, 1, 50, false);
    RUN_UNTIL(all_applied(), 20);
    mark = jmark();
    set_change(0, 1, 0, true);
    RUN_UNTIL(all_applied(), 20);
    j = jsince(mark);
    assert_int_equal(jlen(j), 1);
    assert_true(jv_path(jv_get(j, "journal")->items[0], "fields", "is_flush", NULL)->b);
    jv_free(j);
}

/* VPP restarts (state wiped, new message ids): the connect sync writes
 * everything again. */
static void test_vpp_restart(void **state)
{
    (void)state;
    connect_and_sync();
    set_change(1, 1, 17, false);
    RUN_UNTIL(all_applied(), 20);
    vppsim_do(&sim, "{\"cmd\": \"restart\", \"down\": 0.3}");
    RUN_UNTIL(!vpp_sync_is_up(vs), 20);
    assert_int_equal(as_status(1, 1, 17, NULL, NULL), VPP_AS_PENDING);
    /* a change while VPP is away waits for the connect sync */
    set_change(0, 2, 18, false);
    RUN_UNTIL(vpp_sync_is_up(vs) && all_applied(), 30);
    for (size_t id = 0; id < N_FE; id++)
        expect_vppsim(id);
    struct jv *st = vppsim_ok(&sim, "{\"cmd\": \"state\"}");
    assert_int_equal((int)jv_num(jv_path(st, "state", "generation", NULL), -1), 1);
    jv_free(st);
}

/* ---- reload, stop, dry run, periodic repair ---- */

/* fb removed: fc is frontend 1 now */
static const char config2_yaml[] =
    "maglev:\n"
    "  backends:\n"
    "    a1: {address: 10.0.1.1}\n"
    "    a2: {address: 10.0.1.2}\n"
    "    a3: {address: 10.0.1.3}\n"
    "    c1: {address: 10.0.3.1}\n"
    "  frontends:\n"
    "    fa:\n"
    "      address: 198.19.0.10\n"
    "      protocol: tcp\n"
    "      port: 80\n"
    "      pools: [{name: p, backends: {a1: {}, a2: {}, a3: {}}}]\n"
    "    fc:\n"
    "      address: 198.19.0.12\n"
    "      protocol: tcp\n"
    "      port: 80\n"
    "      pools: [{name: p, backends: {c1: {}}}]\n"
    "  vpp: {lb: {ipv4-src-address: 192.0.2.250, ipv6-src-address: \"2001:db8::1\"}}\n";

static void test_reload(void **state)
{
    (void)state;
    connect_and_sync();
    long dumps = vppsim_received(&sim, "lb_as_v2_dump");
    vppsim_do(&sim, "{\"cmd\": \"delay\", \"seconds\": 1.0, \"names\": [\"lb_as_set_weight\"]}");
    long mark = jmark();
    long sw = vppsim_received(&sim, "lb_as_set_weight");
    set_change(0, 0, 81, false);
    RUN_UNTIL(vppsim_received(&sim, "lb_as_set_weight") == sw + 1, 20);
    assert_true(vpp_client_in_flight(vpp_sync_client(vs)) >= 1);
    /* the reload, while fa's batch is in flight: indexes change */
    struct maglev_config *old = src.cfg;
    src.cfg = harness_load_buffer(config2_yaml);
    config_free(old);
    vpp_sync_reloaded(vs, 3600, 2);
    assert_int_equal(fe_of(2), 1);
    set_w(2, 0, 82, false);
    vpp_sync_vip_changed(vs, 1, "health", clock_mono_us()); /* fc */
    vpp_sync_vip_changed(vs, 2, "health", clock_mono_us()); /* no such frontend now */
    vppsim_do(&sim, "{\"cmd\": \"delay\", \"seconds\": 0}");
    RUN_UNTIL(all_applied() && !vppsim_has_vip(&sim, prefixes[1], 80), 30);
    assert_true(vppsim_received(&sim, "lb_as_v2_dump") > dumps); /* the reload's full sync */
    expect_vppsim(0);
    expect_vppsim(2);
    struct jv *j = jsince(mark);
    jprint(j);
    assert_int_equal(jcount(j, "lb_as_set_weight", "10.0.1.1", 81), 1);
    assert_int_equal(jcount(j, "lb_as_set_weight", "10.0.3.1", 82), 1);
    /* fb's VIP removed: its ASes deleted with flush, then the VIP */
    assert_int_equal(jcount(j, "lb_add_del_as_v2", "10.0.2.1", -1) +
                         jcount(j, "lb_add_del_as", "10.0.2.1", -1),
                     1);
    assert_int_equal(
        jcount(j, "lb_add_del_vip_v2", NULL, -1) + jcount(j, "lb_add_del_vip", NULL, -1), 1);
    jv_free(j);
}

/* vpp_sync_free with a job applying, jobs queued and a change waiting:
 * queued jobs answered -ECANCELED, nothing reported to the source while
 * stopping, nothing leaks (ASan). */
static void test_free_in_flight(void **state)
{
    (void)state;
    synced_with_b1_skewed();
    vppsim_do(&sim, "{\"cmd\": \"delay\", \"seconds\": 5, \"names\": [\"lb_as_set_weight\"]}");
    long sw = vppsim_received(&sim, "lb_as_set_weight");
    assert_int_equal(vpp_sync_request(vs, NULL, true, on_job, (void *)1, NULL), 0);
    RUN_UNTIL(vppsim_received(&sim, "lb_as_set_weight") > sw, 20);
    assert_int_equal(vpp_sync_request(vs, NULL, true, on_job, (void *)2, NULL), 0);
    assert_int_equal(vpp_sync_get_state(vs, on_state, (void *)3, NULL), 0);
    set_change(0, 0, 91, false);
    ev_run(loop, EVRUN_NOWAIT);
    assert_int_equal(n_jobs, 0);
    src.n_applied = 0;
    vpp_sync_free(vs);
    vs = NULL;
    assert_int_equal(n_jobs, 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(jobs[i].id, (int)i + 1);
    /* the job that was applying: its op failed (canceled) */
    if (jobs[0].err != -ECANCELED)
        assert_int_equal(jobs[0].failed, jobs[0].n_ops);
    assert_int_equal(jobs[1].err, -ECANCELED);
    assert_true(jobs[2].state);
    assert_int_equal(jobs[2].err, -ECANCELED);
    assert_int_equal(src.n_applied, 0);
}

/* Dry run: every plan is reported, nothing is written. */
static void test_dry_run(void **state)
{
    (void)state;
    struct vpp_sync_opts o = sync_opts(0, 0);
    o.dry_run = true;
    start_with(&o);
    assert_true(vpp_sync_dry_run(vs));
    /* the connect sync plans everything (3 VIPs, 6 ASes) */
    RUN_UNTIL(src.n_applied >= 6, 20);
    harness_run_for(loop, 0.1);
    assert_int_equal(src.n_applied, 6);
    for (size_t i = 0; i < src.n_applied; i++) {
        assert_true(src.applied[i].dry);
        assert_int_equal(src.applied[i].kind, LB_OP_AS_ADD);
        assert_string_equal(src.applied[i].trigger, "connect");
    }
    assert_int_equal(vppsim_writes(&sim), 0);
    assert_int_equal(as_status(0, 0, 100, NULL, NULL), VPP_AS_PENDING);
    /* API syncs are plans */
    n_jobs = 0;
    assert_int_equal(vpp_sync_request(vs, NULL, true, on_job, (void *)1, NULL), 0);
    RUN_UNTIL(n_jobs == 1, 20);
    assert_int_equal(jobs[0].err, 0);
    assert_false(jobs[0].applied);
    assert_true(jobs[0].n_ops > 0);
    /* targeted changes are planned against the model (VPP as read) and
     * reported */
    vppsim_do(&sim, "{\"cmd\": \"vip-add\", \"prefix\": \"198.19.0.10/32\", \"protocol\": 6, "
                    "\"port\": 80}");
    for (size_t k = 0; k < 3; k++)
        vppsim_do(&sim,
                  "{\"cmd\": \"as-add\", \"prefix\": \"198.19.0.10/32\", \"protocol\": 6, "
                  "\"port\": 80, \"address\": \"%s\", \"weight\": 100}",
                  addrs[0][k]);
    assert_int_equal(vpp_sync_request(vs, NULL, false, on_job, (void *)2, NULL), 0);
    RUN_UNTIL(n_jobs == 2, 20); /* a plan: its read does not replace the model */
    src.n_applied = 0;
    vpp_sync_vip_changed(vs, 0, "health", clock_mono_us());
    RUN_UNTIL(vpp_sync_pending(vs) == 0 && src.n_applied > 0, 20);
    assert_true(src.applied[0].dry);
    assert_int_equal(vppsim_writes(&sim), 0);
}

/* The periodic sync repairs drift. */
static void test_periodic(void **state)
{
    (void)state;
    struct vpp_sync_opts o = sync_opts(0, 0);
    o.interval = 0.2; /* clamped to 1 s */
    start_with(&o);
    RUN_UNTIL(vpp_sync_last_full_us(vs) > 0 && all_applied(), 30);
    long dumps = vppsim_received(&sim, "lb_as_v2_dump");
    vppsim_do(&sim, "{\"cmd\": \"as-weight\", \"prefix\": \"198.19.0.10/32\", \"protocol\": 6, "
                    "\"port\": 80, \"address\": \"10.0.1.2\", \"weight\": 9}");
    vppsim_do(&sim, "{\"cmd\": \"as-del\", \"prefix\": \"198.19.0.12/32\", \"protocol\": 6, "
                    "\"port\": 80, \"address\": \"10.0.3.1\"}");
    RUN_UNTIL(vppsim_as_weight(&sim, prefixes[0], 80, "10.0.1.2") == 100 &&
                  vppsim_as_weight(&sim, prefixes[2], 80, "10.0.3.1") == 30,
              20);
    assert_true(vppsim_received(&sim, "lb_as_v2_dump") > dumps);
    RUN_UNTIL(all_applied(), 20);
}

/* ---- warm-up ---- */

static void test_warmup_none(void **state)
{
    (void)state;
    /* both delays 0: no warm-up, everything written at connect */
    assert_int_equal(vppsim_writes(&sim), 0);
    start_sync(0, 0);
    assert_int_equal(vpp_sync_warmup(vs), VPP_WARMUP_OVER);
    assert_int_equal(vpp_sync_hold_until_us(vs), 0);
    RUN_UNTIL(vpp_sync_last_full_us(vs) > 0 && all_applied(), 30);
    assert_true(vppsim_writes(&sim) > 0);
    for (size_t fe = 0; fe < N_FE; fe++)
        expect_vppsim(fe);
    /* held flags mean nothing once the warm-up is over */
    src.held[1] = true;
    set_change(1, 0, 9, false);
    RUN_UNTIL(all_applied(), 20);
    expect_vppsim(1);
}

static void test_warmup(void **state)
{
    (void)state;
    /* fc's VIP exists in VPP already (another AS, another weight) */
    vppsim_do(&sim, "{\"cmd\": \"vip-add\", \"prefix\": \"198.19.0.12/32\", \"protocol\": 6, "
                    "\"port\": 80}");
    vppsim_do(&sim, "{\"cmd\": \"as-add\", \"prefix\": \"198.19.0.12/32\", \"protocol\": 6, "
                    "\"port\": 80, \"address\": \"10.0.3.1\", \"weight\": 5}");
    vppsim_do(&sim, "{\"cmd\": \"as-add\", \"prefix\": \"198.19.0.12/32\", \"protocol\": 6, "
                    "\"port\": 80, \"address\": \"10.0.3.99\", \"weight\": 7}");
    src.held[1] = true; /* fb */
    src.held[2] = true; /* fc */
    n_jobs = 0;
    start_sync(1.0, 5.0);
    assert_int_equal(vpp_sync_warmup(vs), VPP_WARMUP_HOLD);
    assert_true(vpp_sync_hold_until_us(vs) > 0);
    RUN_UNTIL(vpp_sync_is_up(vs) || vpp_sync_warmup(vs) != VPP_WARMUP_HOLD, 20);
    if (vpp_sync_warmup(vs) == VPP_WARMUP_HOLD) {
        /* HOLD: API syncs refused, plans allowed, changes wait */
        assert_int_equal(vpp_sync_request(vs, NULL, true, on_job, (void *)1, NULL), -EBUSY);
        assert_int_equal(vpp_sync_request(vs, NULL, false, on_job, (void *)2, NULL), 0);
        vpp_sync_vip_changed(vs, 0, "health", clock_mono_us());
        while (vpp_sync_warmup(vs) == VPP_WARMUP_HOLD) {
            assert_int_equal(vppsim_writes(&sim), 0);
            ev_run(loop, EVRUN_ONCE);
        }
        assert_int_equal(n_jobs, 1);
        assert_int_equal(jobs[0].id, 2);
        assert_int_equal(jobs[0].err, 0);
        assert_false(jobs[0].applied);
        assert_true(jobs[0].n_ops > 0);
    } else {
        print_message("note: the machine was too slow to connect during the hold\n");
    }
    /* the hold is over: nothing written until the loop ran the sync */
    assert_int_equal(vppsim_writes(&sim), 0);
    assert_int_equal(vpp_sync_warmup(vs), VPP_WARMUP_RELEASING);
    assert_int_equal(vpp_sync_hold_until_us(vs), 0);

    /* RELEASING: the startup sync writes fa; fb (held, absent) is not
     * created; fc (held, present) is adopted as it is */
    RUN_UNTIL(vpp_sync_last_full_us(vs) > 0 && fe_applied(0), 20);
    if (vpp_sync_warmup(vs) == VPP_WARMUP_RELEASING) {
        expect_vppsim(0);
        assert_false(vppsim_has_vip(&sim, prefixes[1], 80));
        assert_int_equal(vppsim_as_weight(&sim, prefixes[2], 80, "10.0.3.1"), 5);
        assert_int_equal(vppsim_as_weight(&sim, prefixes[2], 80, "10.0.3.99"), 7);
        assert_int_equal(as_status(2, 0, 30, NULL, NULL), VPP_AS_PENDING);
        /* API syncs are allowed again */
        assert_int_equal(vpp_sync_request(vs, "fa", true, on_job, (void *)3, NULL), 0);
        /* a held VIP that changes is not written */
        long writes = vppsim_writes(&sim);
        set_change(2, 0, 31, false);
        harness_run_for(loop, 0.2);
        if (vpp_sync_warmup(vs) == VPP_WARMUP_RELEASING) {
            assert_int_equal(vppsim_writes(&sim), writes);
            assert_int_equal(vppsim_as_weight(&sim, prefixes[2], 80, "10.0.3.1"), 5);
        }
    } else {
        print_message("note: the machine was too slow to see the releasing phase\n");
    }

    /* fb released: written at once (created: VIP and ASes) */
    src.held[1] = false;
    vpp_sync_vip_changed(vs, 1, "warmup", clock_mono_us());
    RUN_UNTIL(fe_applied(1), 20);
    expect_vppsim(1);
    assert_int_equal(vppsim_n_active(&sim, prefixes[1], 80), 2);
    if (vpp_sync_warmup(vs) == VPP_WARMUP_RELEASING) {
        assert_int_equal(vppsim_as_weight(&sim, prefixes[2], 80, "10.0.3.1"), 5);
        assert_int_equal(vppsim_as_weight(&sim, prefixes[2], 80, "10.0.3.99"), 7);
    }

    /* startup-max-delay: the rest is written (fc repaired: its weight,
     * the AS that is not configured removed) */
    RUN_UNTIL(vpp_sync_warmup(vs) == VPP_WARMUP_OVER && all_applied(), 30);
    expect_vppsim(2);
    assert_int_equal(vppsim_as_weight(&sim, prefixes[2], 80, "10.0.3.99"), -2); /* lingering */
    assert_int_equal(vppsim_n_active(&sim, prefixes[2], 80), 1);
    for (size_t fe = 0; fe < N_FE; fe++)
        expect_vppsim(fe);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (getenv("MAGLEV_TEST_FILTER")) /* one test, by name (a pattern) */
        cmocka_set_test_filter(getenv("MAGLEV_TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_targeted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_coalesce, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jobs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_job_releases_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_connected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vpp_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dry_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_periodic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_warmup_none, setup, teardown),
        cmocka_unit_test_setup_teardown(test_warmup, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
