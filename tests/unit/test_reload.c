/* Unit tests for reloads at scale (the real core and checker on a real
 * libev loop, scripted probes and VPP sync as in test_core):
 *   - run-time weight overrides: many of them, set in any order, found,
 *     filled into frontends and pruned by a new config (sorted lookups);
 *   - the healthchecks of backends across a reload with many distinct
 *     healthchecks (one lookup per config healthcheck);
 *   - core_reload_start: a 50,000-frontend reload read off the loop (the
 *     loop runs other watchers meanwhile), a rejected one keeping the
 *     running config, reloads asked during one, a forgotten asker, the
 *     core freed while a worker reads. */
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
#include "common/strbuf.h"
#include "config/config.h"
#include "core/core.h"
#include "core_harness.h"
#include "health/health.h"
#include "lb/lb.h"

static struct ev_loop *loop;
static ev_timer tick;
static struct harness_dir tmp;

static int setup(void **state)
{
    (void)state;
    loop = harness_loop_new(&tick);
    return harness_dir_make(&tmp, "reload");
}

static int teardown(void **state)
{
    (void)state;
    harness_loop_free(loop, &tick);
    harness_dir_remove(&tmp);
    return 0;
}

/* n frontends f<i> (VIP 10.<v>.x.y) of one pool p with backends
 * b<i>, b<i+1> (of n, 127.x, not probed); bad: the last one names a
 * backend that does not exist. */
static char *config_text(int n, int v, bool bad)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "maglev:\n  backends:\n");
    for (int i = 0; i < n; i++)
        strbuf_addf(&sb, "    b%d: {address: 127.%d.%d.%d}\n", i, 1 + (i >> 16), i >> 8 & 255,
                    i & 255);
    strbuf_adds(&sb, "  frontends:\n");
    for (int f = 0; f < n; f++)
        strbuf_addf(&sb,
                    "    f%d:\n      address: 10.%d.%d.%d\n      pools:\n      - name: p\n"
                    "        backends: {b%d: , b%d: }\n",
                    f, v + (f >> 16), f >> 8 & 255, f & 255, f,
                    bad && f == n - 1 ? n : (f + 1) % n);
    strbuf_adds(&sb, "  vpp:\n    lb:\n      ipv4-src-address: 192.0.2.1\n"
                     "      ipv6-src-address: 2001:db8::1\n");
    return strbuf_detach(&sb);
}

static void write_config(int n, int v, bool bad)
{
    char *text = config_text(n, v, bad);
    harness_write_config(&tmp, text);
    free(text);
}

/* ---- overrides ---- */

static void test_overrides_many(void **state)
{
    (void)state;
    enum { N = 2000 };
    struct lb_overrides *o = lb_overrides_new();
    char fe[32], be[32];
    /* every frontend of twice as many as the config has, in a scrambled
     * order (7919 is prime, so i * 7919 mod 2N visits each once) */
    for (int i = 0; i < 2 * N; i++) {
        int f = (int)((long)i * 7919 % (2 * N));
        snprintf(fe, sizeof(fe), "f%d", f);
        snprintf(be, sizeof(be), "b%d", f % N);
        lb_overrides_set(o, fe, "p", be, (uint8_t)(f % 100));
    }
    for (int f = 0; f < 2 * N; f += 3) { /* updates in place */
        snprintf(fe, sizeof(fe), "f%d", f);
        snprintf(be, sizeof(be), "b%d", f % N);
        lb_overrides_set(o, fe, "p", be, 100);
    }
    for (int f = 0; f < 2 * N; f++) {
        snprintf(fe, sizeof(fe), "f%d", f);
        snprintf(be, sizeof(be), "b%d", f % N);
        assert_int_equal(lb_overrides_get(o, fe, "p", be), f % 3 == 0 ? 100 : f % 100);
        assert_int_equal(lb_overrides_get(o, fe, "q", be), -1);
        snprintf(be, sizeof(be), "b%d", (f + 1) % N);
        assert_int_equal(lb_overrides_get(o, fe, "p", be), -1);
    }
    /* the config has f0..f(N-1): the others are pruned */
    char *text = config_text(N, 0, false);
    struct maglev_config *cfg = harness_load_buffer(text);
    free(text);
    assert_int_equal(lb_overrides_prune(o, cfg), N);
    for (int f = 0; f < 2 * N; f++) {
        snprintf(fe, sizeof(fe), "f%d", f);
        snprintf(be, sizeof(be), "b%d", f % N);
        int want = f >= N ? -1 : f % 3 == 0 ? 100 : f % 100;
        assert_int_equal(lb_overrides_get(o, fe, "p", be), want);
    }
    /* filled per slot: b<f> has the override, b<f+1> none */
    for (size_t i = 0; i < cfg->n_frontends; i++) {
        const struct frontend_conf *f = &cfg->frontends[i];
        int16_t flat[2];
        lb_overrides_fill(o, f, flat);
        int fi = atoi(f->name + 1);
        for (size_t b = 0; b < 2; b++) {
            int bi = atoi(f->pools[0].backends[b].backend + 1);
            int want = bi == fi ? (fi % 3 == 0 ? 100 : fi % 100) : -1;
            if (fi == N - 1 && bi == 0) /* f(N-1) uses b(N-1) and b0 */
                want = -1;
            assert_int_equal(flat[b], want);
        }
    }
    config_free(cfg);
    lb_overrides_free(o);
}

/* ---- healthchecks across a reload ---- */

static char *hc_config(int shift)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "maglev:\n  healthchecks:\n");
    for (int h = 0; h < 50; h++)
        strbuf_addf(&sb, "    h%d: {type: tcp, port: %d, interval: 24h, fast-interval: 24h}\n", h,
                    1000 + h);
    strbuf_adds(&sb, "  backends:\n");
    for (int i = 0; i < 500; i++)
        strbuf_addf(&sb, "    b%d: {address: 127.0.%d.%d, healthcheck: h%d}\n", i, 1 + i / 250,
                    i % 250, (i + shift) % 50);
    strbuf_adds(&sb, "  vpp:\n    lb:\n      ipv4-src-address: 192.0.2.1\n"
                     "      ipv6-src-address: 2001:db8::1\n");
    return strbuf_detach(&sb);
}

static void check_hc_ports(const struct core *c, int shift)
{
    const struct maglev_config *cfg = core_config(c);
    assert_int_equal(cfg->n_backends, 500);
    for (size_t i = 0; i < cfg->n_backends; i++) {
        int bi = atoi(cfg->backends[i].name + 1);
        const struct healthcheck_conf *h = checker_backend_healthcheck(core_backend(c, i));
        assert_non_null(h);
        assert_int_equal(h->port, 1000 + (bi + shift) % 50);
    }
}

static void test_healthchecks_reload(void **state)
{
    (void)state;
    char *text = hc_config(0);
    harness_write_config(&tmp, text);
    free(text);
    struct core *c = core_new(loop, tmp.path, harness_load_file(tmp.path));
    check_hc_ports(c, 0);
    /* every backend moves to another healthcheck, then half of them back */
    for (int shift = 1; shift <= 2; shift++) {
        text = hc_config(shift == 1 ? 7 : 0);
        harness_write_config(&tmp, text);
        free(text);
        struct config_diags d = { 0 };
        struct checker_reload_stats st;
        int rc = core_reload(c, &d, &st);
        harness_print_diags(&d);
        assert_int_equal(rc, 0);
        assert_int_equal(st.changed, 500);
        check_hc_ports(c, shift == 1 ? 7 : 0);
    }
    core_free(c);
}

/* ---- asynchronous reload ---- */

struct answer {
    int calls, rc;
    size_t n_diags;
    struct checker_reload_stats st;
    int order; /* among the answers */
};

static int answers_given;

static void on_answer(void *ctx, int rc, const struct config_diags *d,
                      const struct checker_reload_stats *st)
{
    struct answer *a = ctx;
    a->calls++;
    a->rc = rc;
    a->n_diags = d->n;
    a->st = *st;
    a->order = ++answers_given;
}

static void on_timer(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l, (void)revents;
    int *fired_before = w->data;
    *fired_before = answers_given == 0 ? 1 : 0;
}

static void test_async_large(void **state)
{
    (void)state;
    enum { N = 50000 };
    answers_given = 0;
    write_config(N, 0, false);
    struct core *c = core_new(loop, tmp.path, harness_load_file(tmp.path));
    char err[128];
    assert_int_equal(core_set_weight(c, "f7", "p", "b7", 42, err, sizeof(err)), 0);
    write_config(N, 16, false);
    struct answer a = { 0 };
    core_reload_start(c, on_answer, &a);
    /* a watcher due at once runs while the worker reads the file */
    int fired_before = -1;
    ev_timer t;
    ev_timer_init(&t, on_timer, 0, 0);
    t.data = &fired_before;
    ev_timer_start(loop, &t);
    RUN_UNTIL(a.calls == 1, 120);
    assert_int_equal(fired_before, 1);
    assert_int_equal(a.rc, 0);
    assert_int_equal(a.n_diags, 0);
    assert_int_equal(a.st.unchanged, N);
    const struct maglev_config *cfg = core_config(c);
    assert_int_equal(cfg->n_frontends, N);
    const struct frontend_conf *f = config_find_frontend(cfg, "f7");
    assert_non_null(f);
    assert_int_equal(f->address.u.bytes[0], 10);
    assert_int_equal(f->address.u.bytes[1], 16);
    /* the override survived the reload */
    struct core_slot_view sv;
    core_frontend_slot(c, (size_t)(f - cfg->frontends), 0, &sv);
    assert_int_equal(sv.override, 42);

    /* a rejected one keeps the running config */
    write_config(N, 32, true);
    struct answer b = { 0 };
    core_reload_start(c, on_answer, &b);
    RUN_UNTIL(b.calls == 1, 120);
    assert_int_equal(b.rc, -EINVAL);
    assert_true(b.n_diags > 0);
    assert_ptr_equal(core_config(c), cfg);
    assert_int_equal(config_find_frontend(cfg, "f7")->address.u.bytes[1], 16);
    core_free(c);
}

static void test_async_queue(void **state)
{
    (void)state;
    answers_given = 0;
    write_config(100, 0, false);
    struct core *c = core_new(loop, tmp.path, harness_load_file(tmp.path));
    write_config(100, 1, false);
    struct answer a = { 0 }, b = { 0 }, x = { 0 };
    core_reload_start(c, on_answer, &a);
    struct core_reload_waiter *wx = core_reload_start(c, on_answer, &x);
    core_reload_start(c, on_answer, &b);
    core_reload_forget(c, wx);
    /* the file is replaced (renamed over: the first read may be under
     * way): the reloads asked during the first read it again */
    char *text = config_text(100, 2, false);
    char next[192];
    snprintf(next, sizeof(next), "%s/next.yaml", tmp.dir);
    FILE *fp = fopen(next, "w");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
    assert_int_equal(fclose(fp), 0);
    free(text);
    assert_int_equal(rename(next, tmp.path), 0);
    RUN_UNTIL(a.calls == 1 && b.calls == 1, 30);
    harness_run_for(loop, 0.05);
    assert_int_equal(x.calls, 0);
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    assert_int_equal(a.rc, 0);
    assert_int_equal(b.rc, 0);
    assert_true(a.order < b.order);
    assert_int_equal(config_find_frontend(core_config(c), "f3")->address.u.bytes[1], 2);
    /* freed while a worker reads: the worker is waited for, nothing told */
    struct answer y = { 0 };
    core_reload_start(c, on_answer, &y);
    core_free(c);
    assert_int_equal(y.calls, 0);
}

int main(void)
{
    log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT, 2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_overrides_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_healthchecks_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_queue, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
