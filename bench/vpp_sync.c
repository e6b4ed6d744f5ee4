/* bench/vpp_sync: a full LB sync of V VIPs x A ASes (default 1,000 x 32)
 * from an empty VPP into vppsim (tools/vppsim, the stand-in VPP speaking
 * the real socket protocol), then a no-op full sync over the same state.
 *
 * The same code the daemon runs: vpp_lb_read (lb_conf_get, lb_vip_dump,
 * lb_as_v2_dump, show lb vips verbose), lb_plan_build, vpp_lb_apply. Two
 * modes in the same run, each against a fresh vppsim:
 *   pipelined      up to --window requests in flight (the daemon's 256);
 *   one-at-a-time  window 1: each request waits for its reply (baseline).
 * Figures: wall time of the full sync (read + plan + apply), operations
 * and messages (requests + replies + details) per second, and the no-op
 * full sync (read + plan, nothing to apply). Targets from the issue are
 * printed for information; it exits 0 whatever the figures (1 only if a
 * sync failed). */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "lb/plan.h"
#include "vpp/client.h"
#include "vpp/lb.h"

#ifndef VPPSIM_PATH
#define VPPSIM_PATH "tools/vppsim/vppsim.py"
#endif

struct run {
    struct ev_loop *loop;
    struct vpp_client *c;
    bool up, done;
    int err;
    struct lb_state observed;
    size_t failed;
};

/* This process's CPU time (the client side: maglevd's code), seconds. */
static double cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_up(void *ctx)
{
    ((struct run *)ctx)->up = true;
}

static void on_read(void *ctx, int err, struct lb_state *observed)
{
    struct run *r = ctx;
    r->err = err;
    if (!err)
        r->observed = *observed;
    r->done = true;
}

static void on_applied(void *ctx, const struct vpp_op_result *res, size_t failed)
{
    (void)res;
    struct run *r = ctx;
    r->failed = failed;
    r->done = true;
}

static bool spin(struct run *r, bool *flag, double timeout)
{
    double end = now() + timeout;
    while (!*flag && now() < end)
        ev_run(r->loop, EVRUN_ONCE);
    return *flag;
}

/* V VIPs 10.(i/250).(i%250).1/32 tcp:80, each with A ASes in 172.16/12. */
static void build_desired(struct lb_state *d, size_t nv, size_t na)
{
    memset(d, 0, sizeof(*d));
    d->has_conf = true;
    d->conf.ip4_src.family = AF_INET;
    memcpy(d->conf.ip4_src.u.bytes, "\xc6\x13\x00\x01", 4);
    d->conf.ip6_src.family = AF_INET6;
    d->conf.ip6_src.u.bytes[0] = 0x20;
    d->conf.ip6_src.u.bytes[1] = 0x01;
    d->conf.ip6_src.u.bytes[15] = 1;
    d->conf.sticky_buckets_per_core = 65536;
    d->conf.flow_timeout = 40;
    d->vips = calloc(nv, sizeof(*d->vips));
    d->n_vips = nv;
    for (size_t i = 0; i < nv; i++) {
        struct lb_vip *v = &d->vips[i];
        char name[32];
        snprintf(name, sizeof(name), "fe%05zu", i);
        v->name = strdup(name);
        v->key.addr.family = AF_INET;
        uint8_t a[4] = { 10, (uint8_t)(i / 250), (uint8_t)(i % 250), 1 };
        memcpy(v->key.addr.u.bytes, a, 4);
        v->key.plen = 32;
        v->key.protocol = 6;
        v->key.port = 80;
        v->encap = LB_ENCAP_GRE4;
        v->src_ip_sticky = 0;
        v->flow_table_length = LB_NEW_FLOWS_TABLE_LENGTH;
        v->ases = calloc(na, sizeof(*v->ases));
        v->n_ases = na;
        for (size_t k = 0; k < na; k++) {
            size_t n = i * na + k + 1;
            uint8_t b[4] = { 172, (uint8_t)(16 + (n >> 16)), (uint8_t)(n >> 8), (uint8_t)n };
            v->ases[k].addr.family = AF_INET;
            memcpy(v->ases[k].addr.u.bytes, b, 4);
            v->ases[k].weight = (uint8_t)(k % 4 == 0 ? 50 : 100);
            v->ases[k].active = true;
        }
    }
}

static pid_t start_vppsim(const char *sock)
{
    unlink(sock);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", 1);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execl("/usr/bin/python3", "python3", VPPSIM_PATH, "--socket", sock, "--gc-period", "3600",
              (char *)NULL);
        _exit(127);
    }
    struct stat st;
    for (int i = 0; i < 500 && stat(sock, &st) != 0; i++)
        usleep(10000);
    return pid;
}

static void stop_vppsim(pid_t pid)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

struct figures {
    size_t ops, details;
    double full_s, apply_s, noop_s;
    double full_cpu, noop_cpu; /* client CPU */
    size_t noop_ops;
};

/* read -> plan -> (apply). Returns 0 or -1. */
static int sync_once(struct run *r, const struct lb_state *desired, size_t window,
                     struct lb_plan *plan, size_t *details, double *apply_s)
{
    r->done = false;
    if (vpp_lb_read(r->c, on_read, r) < 0 || !spin(r, &r->done, 120) || r->err)
        return -1;
    *details = r->observed.n_vips;
    for (size_t i = 0; i < r->observed.n_vips; i++)
        *details += r->observed.vips[i].n_ases;
    int rc = lb_plan_build(desired, &r->observed, NULL, plan);
    lb_state_free(&r->observed);
    if (rc < 0)
        return -1;
    if (!apply_s)
        return 0;
    double t = now();
    r->done = false;
    if (vpp_lb_apply(r->c, plan, window, on_applied, r) < 0 || !spin(r, &r->done, 600))
        return -1;
    *apply_s = now() - t;
    return r->failed ? -1 : 0;
}

static int measure(const char *sock, size_t window, const struct lb_state *desired,
                   struct figures *f)
{
    memset(f, 0, sizeof(*f));
    pid_t pid = start_vppsim(sock);
    struct run r = { .loop = ev_loop_new(EVFLAG_AUTO) };
    struct vpp_client_opts o = { .request_timeout = 30 };
    struct vpp_client_cbs cbs = { .up = on_up, .ctx = &r };
    r.c = vpp_client_new(r.loop, sock, &o, &cbs);
    vpp_client_start(r.c);
    int rc = -1;
    struct lb_plan plan;
    memset(&plan, 0, sizeof(plan));
    if (!spin(&r, &r.up, 10)) {
        fprintf(stderr, "vpp-sync: vppsim did not come up at %s\n", sock);
        goto out;
    }
    size_t details;
    double t = now(), c = cpu();
    if (sync_once(&r, desired, window, &plan, &details, &f->apply_s) < 0) {
        fprintf(stderr, "vpp-sync: the full sync failed (window %zu)\n", window);
        goto out;
    }
    f->full_s = now() - t;
    f->full_cpu = cpu() - c;
    f->ops = plan.n_ops;
    lb_plan_free(&plan);
    t = now();
    c = cpu();
    if (sync_once(&r, desired, window, &plan, &f->details, NULL) < 0) {
        fprintf(stderr, "vpp-sync: the no-op sync failed\n");
        goto out;
    }
    f->noop_s = now() - t;
    f->noop_cpu = cpu() - c;
    f->noop_ops = plan.n_ops;
    rc = 0;
out:
    lb_plan_free(&plan);
    vpp_client_free(r.c);
    ev_loop_destroy(r.loop);
    stop_vppsim(pid);
    return rc;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_vpp_sync [--vips N] [--ases N] [--window N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    size_t nv = 1000, na = 32, window = 256;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        if (!strcmp(argv[i], "--vips"))
            nv = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--ases"))
            na = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--window"))
            window = strtoul(argv[++i], NULL, 10);
        else
            usage();
    }
    if (!nv || nv > 62500 || !na || na > 4096 || nv * na > 4000000 || !window)
        usage();
    log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT, STDERR_FILENO);
    signal(SIGPIPE, SIG_IGN);
    char sock[64];
    snprintf(sock, sizeof(sock), "/tmp/bench-vpp-sync-%d.sock", (int)getpid());
    struct lb_state desired;
    build_desired(&desired, nv, na);
    printf("vpp-sync: %zu VIPs x %zu ASes into vppsim (%s), full sync from empty, then a "
           "no-op full sync\n",
           nv, na, VPPSIM_PATH);
    struct figures fp, f1;
    int rc = measure(sock, window, &desired, &fp);
    if (rc == 0)
        rc = measure(sock, 1, &desired, &f1);
    lb_state_free(&desired);
    if (rc < 0)
        return 1;
    printf("\n%-14s %6s %6s %11s %8s %9s %9s %10s %8s %10s\n", "mode", "window", "ops",
           "full sync s", "apply s", "ops/s", "msgs/s", "client CPU", "no-op s", "client CPU");
    const struct figures *fs[2] = { &fp, &f1 };
    const char *names[2] = { "pipelined", "one-at-a-time" };
    size_t windows[2] = { window, 1 };
    for (int i = 0; i < 2; i++) {
        const struct figures *f = fs[i];
        /* requests and their replies while applying */
        double msgs = 2.0 * (double)f->ops;
        printf("%-14s %6zu %6zu %11.3f %8.3f %9.0f %9.0f %10.3f %8.3f %10.3f\n", names[i],
               windows[i], f->ops, f->full_s, f->apply_s, (double)f->ops / f->apply_s,
               msgs / f->apply_s, f->full_cpu, f->noop_s, f->noop_cpu);
    }
    double speedup = f1.full_s / fp.full_s;
    printf("\nfull sync, pipelined vs one-at-a-time: %.1fx faster (target >= 5x: %s)\n", speedup,
           speedup >= 5 ? "PASS" : "MISS");
    printf("no-op full sync of %zu VIPs / %zu ASes: %.3f s, %zu ops (target < 1 s: %s); "
           "maglevd's share: %.3f s CPU\n",
           nv, fp.details - nv, fp.noop_s, fp.noop_ops,
           fp.noop_s < 1 && fp.noop_ops == 0 ? "PASS" : "MISS", fp.noop_cpu);
    return 0;
}
