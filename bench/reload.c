/* bench/reload: what a config reload costs, for configs of 10,000, 20,000
 * and 50,000 frontends (one pool of 3 backends each, of n / 4 backends on
 * 127.x checked by n / 40 tcp healthchecks with 24 h intervals: no probe
 * is due during the run), side by side:
 *   load ms     config_load_file of the file alone (read, YAML, checks);
 *   reload ms   a reload on the real core (core_new on a libev loop, no
 *               VPP), from the signal to the new config in place (every
 *               frontend recomputed); the new file moves every VIP;
 *   block ms    the longest the loop was kept from polling by the reload
 *               (time between an ev_check and the next ev_prepare), the
 *               figure that says how long an API call may wait;
 *   RSS MB      after the reloads (the replaced config is freed by a
 *               thread of its own: measured 0.5 s later), then after a
 *               rejected reload of a file of the same size with one bad
 *               reference at its end.
 * Reloads: in-loop (core_reload, all of it on the loop: the way SIGHUP
 * and ReloadConfig worked before), async (core_reload_start: read and
 * checked on a worker thread, swapped in on the loop) and rejected
 * (async). A tenth of the frontends carry a run-time weight override
 * (core_set_weight), which reloads keep.
 * A benchmark, not a test: it asserts nothing. --sizes N,N,... */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "config/config.h"
#include "core/core.h"

static double now_ms(void)
{
    return (double)clock_mono_us() / 1e3;
}

static double rss_mb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return (double)rss * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

/* n frontends of one pool with 3 backends (of n / 4, each in 12
 * frontends), the backends checked by n / 40 healthchecks (tcp, distinct
 * ports, 24 h intervals: no probe is due during the run; the addresses are
 * 127.x anyway). The YAML has ~19 nodes per frontend, under the loader's
 * 1,000,000 node limit at 50,000. Variant v moves every VIP (10.v.x.y), so
 * a reload changes every frontend; bad: the last frontend names an unknown
 * backend. */
static void write_config(const char *path, int n, int v, bool bad)
{
    struct strbuf sb = STRBUF_INIT;
    int nb = n / 4 > 3 ? n / 4 : 3, nh = n / 40 > 1 ? n / 40 : 1;
    strbuf_adds(&sb, "maglev:\n  healthchecks:\n");
    for (int i = 0; i < nh; i++)
        strbuf_addf(&sb, "    h%d: {type: tcp, port: %d, interval: 24h, fast-interval: 24h}\n", i,
                    1024 + i);
    strbuf_adds(&sb, "  backends:\n");
    for (int i = 0; i < nb; i++)
        strbuf_addf(&sb, "    b%d: {address: 127.%d.%d.%d, healthcheck: h%d}\n", i,
                    1 + (i >> 16 & 127), i >> 8 & 255, i & 255, i % nh);
    strbuf_adds(&sb, "  frontends:\n");
    for (int f = 0; f < n; f++) {
        int b = f / 4 * 3;
        strbuf_addf(&sb,
                    "    f%d:\n      address: 10.%d.%d.%d\n      pools:\n      - name: p\n"
                    "        backends: {b%d: , b%d: , b%d: }\n",
                    f, v + (f >> 16 & 15), f >> 8 & 255, f & 255, b % nb, (b + 1) % nb,
                    bad && f == n - 1 ? nb : (b + 2) % nb);
    }
    strbuf_adds(&sb, "  vpp:\n    lb:\n      ipv4-src-address: 192.0.2.1\n"
                     "      ipv6-src-address: 2001:db8::1\n");
    FILE *fp = fopen(path, "w");
    if (!fp || fwrite(sb.buf, 1, sb.len, fp) != sb.len || fclose(fp) != 0) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
    strbuf_free(&sb);
}

/* The loop's longest stretch between polls. */
struct blockmeter {
    ev_prepare prep;
    ev_check check;
    double woke, max;
};

static void on_check(struct ev_loop *loop, ev_check *w, int revents)
{
    (void)loop, (void)revents;
    struct blockmeter *m = (struct blockmeter *)((char *)w - offsetof(struct blockmeter, check));
    m->woke = now_ms();
}

static void on_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)loop, (void)revents;
    struct blockmeter *m = w->data;
    if (m->woke > 0) {
        double t = now_ms() - m->woke;
        if (t > m->max)
            m->max = t;
    }
}

struct reload_run {
    struct core *core;
    struct config_diags d;
    struct checker_reload_stats st;
    int rc;
    bool sync; /* core_reload, all on the loop (the old way) */
    bool done;
    double t0, t1;
};

static void reload_done(void *ctx, int rc, const struct config_diags *d,
                        const struct checker_reload_stats *st)
{
    (void)d;
    struct reload_run *r = ctx;
    r->st = *st;
    r->rc = rc;
    r->done = true;
    r->t1 = now_ms();
}

static void on_start(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)revents;
    struct reload_run *r = w->data;
    r->t0 = now_ms();
    if (r->sync) {
        r->rc = core_reload(r->core, &r->d, &r->st);
        r->done = true;
        r->t1 = now_ms();
    } else {
        core_reload_start(r->core, reload_done, r);
    }
}

/* One reload on the loop: total ms and the longest block (ms). */
static int run_reload(struct ev_loop *loop, struct core *c, bool sync, double *total, double *block)
{
    struct reload_run r = { .core = c, .sync = sync };
    struct blockmeter m = { 0 };
    ev_prepare_init(&m.prep, on_prepare);
    m.prep.data = &m;
    ev_check_init(&m.check, on_check);
    ev_set_priority(&m.check, EV_MAXPRI); /* before any callback of the iteration */
    ev_prepare_start(loop, &m.prep);
    ev_check_start(loop, &m.check);
    ev_timer t;
    ev_timer_init(&t, on_start, 0.001, 0);
    t.data = &r;
    ev_timer_start(loop, &t);
    while (!r.done)
        ev_run(loop, EVRUN_ONCE);
    ev_run(loop, EVRUN_NOWAIT); /* the prepare that closes the last iteration */
    ev_timer_stop(loop, &t);
    ev_prepare_stop(loop, &m.prep);
    ev_check_stop(loop, &m.check);
    *total = r.t1 - r.t0;
    *block = m.max;
    config_diags_free(&r.d);
    return r.rc;
}

int main(int argc, char **argv)
{
    int sizes[8] = { 10000, 20000, 50000 };
    size_t n_sizes = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--sizes") && i + 1 < argc) {
            n_sizes = 0;
            for (char *s = strtok(argv[++i], ","); s && n_sizes < 8; s = strtok(NULL, ","))
                sizes[n_sizes++] = atoi(s);
        } else {
            fprintf(stderr, "usage: %s [--sizes N,N,...]\n", argv[0]);
            return 2;
        }
    }
    log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT, open("/dev/null", O_WRONLY | O_CLOEXEC));
    char dir[] = "/tmp/bench-reload-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char path[256];
    snprintf(path, sizeof(path), "%s/maglev.yaml", dir);
    printf("%-9s %5s %8s %7s | %8s %8s | %8s %8s | %8s %8s %8s %8s\n", "", "", "", "", "in-loop",
           "", "async", "", "rejected", "", "", "");
    printf("%-9s %5s %8s %7s | %8s %8s | %8s %8s | %8s %8s %8s %8s\n", "frontends", "MB", "load ms",
           "RSS MB", "reload", "block", "reload", "block", "reload", "block", "RSS bef", "RSS aft");
    for (size_t k = 0; k < n_sizes; k++) {
        int n = sizes[k];
        write_config(path, n, 0, false);
        double t0 = now_ms();
        struct config_diags d = { 0 };
        struct maglev_config *cfg = NULL;
        if (config_load_file(path, &cfg, &d) < 0) {
            char *e = config_diag_format(&d, 0);
            fprintf(stderr, "bench config invalid: %s\n", e);
            return 1;
        }
        double load = now_ms() - t0;
        config_diags_free(&d);
        FILE *fp = fopen(path, "r");
        fseek(fp, 0, SEEK_END);
        double mb = (double)ftell(fp) / (1024.0 * 1024.0);
        fclose(fp);

        struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
        struct core *c = core_new(loop, path, cfg);
        /* run-time weights on a tenth of the frontends: they survive reloads */
        char err[256];
        for (int f = 0; f < n; f += 10) {
            char fe[32], be[32];
            snprintf(fe, sizeof(fe), "f%d", f);
            const struct frontend_conf *fc = config_find_frontend(core_config(c), fe);
            snprintf(be, sizeof(be), "%s", fc->pools[0].backends[0].backend);
            core_set_weight(c, fe, "p", be, 50, err, sizeof(err));
        }
        double sync_ms, sync_block, async_ms, async_block, bad_ms, bad_block;
        write_config(path, n, 16, false);
        if (run_reload(loop, c, true, &sync_ms, &sync_block) != 0)
            fprintf(stderr, "in-loop reload of %d frontends failed\n", n);
        write_config(path, n, 0, false);
        if (run_reload(loop, c, false, &async_ms, &async_block) != 0)
            fprintf(stderr, "async reload of %d frontends failed\n", n);
        usleep(500 * 1000); /* the replaced config is freed off the loop */
        double rss = rss_mb();
        write_config(path, n, 32, true);
        if (run_reload(loop, c, false, &bad_ms, &bad_block) == 0)
            fprintf(stderr, "the bad reload of %d frontends was accepted\n", n);
        double rss_after = rss_mb();
        printf("%-9d %5.1f %8.0f %7.0f | %8.0f %8.0f | %8.0f %8.0f | %8.0f %8.0f %8.0f %8.0f\n", n,
               mb, load, rss, sync_ms, sync_block, async_ms, async_block, bad_ms, bad_block, rss,
               rss_after);
        fflush(stdout);
        core_free(c);
        ev_loop_destroy(loop);
    }
    unlink(path);
    rmdir(dir);
    return 0;
}
