/* bench/failover: how fast a health transition reaches VPP, through the
 * daemon's own control loop: scripted probe result -> checker (the one
 * transition function) -> core (the frontends using that backend, by
 * index) -> lb_compute -> vpp_sync (targeted per-VIP change, planned
 * against the model, pipelined) -> vppsim's reply.
 *
 * The health sources are built with bench/failover_probe.c instead of
 * src/health/probe.c: probes never touch the network, the bench completes
 * them (see failover_probe.h). vppsim (tools/vppsim) runs as a separate
 * process on a socket in a temporary directory; the config is a generated
 * maglev.yaml in the same directory, loaded with config_load_file.
 *
 * Case 1, failover (default 1,000 frontends x 32 backends, as in
 * bench/vpp_sync): every backend up and VPP converged first, then
 *   (a) one backend shared by 100 frontends goes down (trials rotate over
 *       the shared backends; each comes back up between its trials), and
 *       a backend in one frontend: time from just before the probe result
 *       to VPP's last reply, p50/p99 over --trials; the way back up too;
 *   (b) --burst backends (one per frontend) go down in one loop
 *       iteration: time until every reply is in.
 * Run twice in the same process, each against a fresh vppsim:
 *   pipelined      the real core + VPP sync (core_vpp_start);
 *   one-at-a-time  the baseline: the same core and transitions, VPP kept
 *                  in sync by a serial applier here that plans each
 *                  changed VIP the same way (lb_desired_vip, lb_plan_vip
 *                  against a model) and sends the ops with vpp_lb_apply,
 *                  window 1 — one request in flight at a time. (The
 *                  sync's own window is per VIP batch, so a window of 1
 *                  would not serialise a change spanning many VIPs.)
 * CPU per weight change: getrusage of this process (maglevd's code;
 * vppsim is another process) over the measured transitions, divided by
 * VPP's replies.
 *
 * Case 2, ramp-up (--sizes, default 1,000 and 10,000 backends, 10 per
 * frontend, each in one frontend): from unknown, every probe passes as soon
 * as it starts (probes start spread over the 1 s interval, as the checker
 * plans them; the ones starting before the connect sync is done wait for
 * it). Time until all are up, spurious (down) transitions, and CPU per
 * transition: the whole process over the window, and the transition path
 * alone (checker + core + lb + marking the VIP). Side by side for the two
 * sizes: a transition must cost the same whatever the number of backends.
 *
 * VPP's side is checked: replies are counted (core_observer vpp_change),
 * and vppsim's final state (control socket `state`, `received`) must have
 * every AS at its weight and as many lb_as_set_weight requests as replies.
 * Targets from the issue are printed beside the figures; the program exits
 * 0 whatever they are (1 only when something did not work). */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "core/core.h"
#include "failover_probe.h"
#include "lb/plan.h"
#include "vpp/client.h"
#include "vpp/lb.h"
#include "vpp/sync.h"

#ifndef VPPSIM_PATH
#define VPPSIM_PATH "tools/vppsim/vppsim.py"
#endif

/* ---- options ---- */

static struct {
    size_t vips, ases, share, trials, solo, burst, burst_trials, fe_backends;
    size_t sizes[8], n_sizes;
    bool baseline, keep;
    enum log_level log_level;
} O = {
    .vips = 1000,
    .ases = 32,
    .share = 100,
    .trials = 200,
    .solo = 20,
    .burst = 1000,
    .burst_trials = 3,
    .fe_backends = 10,
    .sizes = { 1000, 10000 },
    .n_sizes = 2,
    .baseline = true,
    .log_level = LOG_LEVEL_ERROR,
};

/* ---- small helpers ---- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* This process's CPU time (maglevd's code; vppsim is another process),
 * seconds: user and system. */
struct cpu {
    double user, sys;
};

static struct cpu cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (struct cpu){ (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
                         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6 };
}

/* *acc += now - since */
static void cpu_add(struct cpu *acc, struct cpu since)
{
    struct cpu c = cpu_now();
    acc->user += c.user - since.user;
    acc->sys += c.sys - since.sys;
}

static void die(const char *what)
{
    fprintf(stderr, "failover: %s\n", what);
    exit(1);
}

struct samples {
    double *v;
    size_t n, cap;
};

static void sample_add(struct samples *s, double x)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->v = realloc(s->v, s->cap * sizeof(*s->v));
        if (!s->v)
            die("out of memory");
    }
    s->v[s->n++] = x;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile (p in 0..1) of s, sorted here. */
static double pct(struct samples *s, double p)
{
    if (!s->n)
        return 0;
    qsort(s->v, s->n, sizeof(*s->v), cmp_double);
    size_t k = (size_t)(p * (double)s->n + 0.999999);
    return s->v[k ? k - 1 : 0];
}

/* ---- vppsim ---- */

/* What an early exit (die, a timeout) must not leave behind: the running
 * vppsim and the temporary directory. */
static struct {
    pid_t sim;
    char dir[64];
} cleanup_state;

static void cleanup(void)
{
    if (cleanup_state.sim > 0) {
        kill(cleanup_state.sim, SIGTERM);
        waitpid(cleanup_state.sim, NULL, 0);
        cleanup_state.sim = 0;
    }
    if (cleanup_state.dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", cleanup_state.dir);
        if (system(cmd) != 0)
            fprintf(stderr, "failover: could not remove %s\n", cleanup_state.dir);
        cleanup_state.dir[0] = 0;
    }
}

struct vppsim {
    pid_t pid;
    char api[128], ctl[128];
};

static void vppsim_start(struct vppsim *v, const char *dir, const char *tag)
{
    snprintf(v->api, sizeof(v->api), "%s/%s-api.sock", dir, tag);
    snprintf(v->ctl, sizeof(v->ctl), "%s/%s-ctl.sock", dir, tag);
    fflush(NULL);
    v->pid = fork();
    if (v->pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execl("/usr/bin/python3", "python3", VPPSIM_PATH, "--socket", v->api, "--control", v->ctl,
              "--gc-period", "3600", "--journal-max", "0", (char *)NULL);
        _exit(127);
    }
    if (v->pid < 0)
        die("fork failed");
    cleanup_state.sim = v->pid;
    struct stat st;
    for (int i = 0; i < 1000 && (stat(v->api, &st) != 0 || stat(v->ctl, &st) != 0); i++)
        usleep(10000);
}

static void vppsim_stop(struct vppsim *v)
{
    if (v->pid > 0) {
        kill(v->pid, SIGTERM);
        waitpid(v->pid, NULL, 0);
    }
    v->pid = 0;
    cleanup_state.sim = 0;
}

/* What vppsim holds, from its control socket. */
struct vpp_view {
    long vips, ases, weighted, zero, set_weight, flushes;
};

static const char check_py[] =
    "import sys\n"
    "sys.path.insert(0, sys.argv[1])\n"
    "from control import Control\n"
    "c = Control(sys.argv[2], timeout=120)\n"
    "st = c.call('state')['state']\n"
    "rc = c.call('received')['received']\n"
    "vips = [v for v in st['vips'] if not v['deleted']]\n"
    "ases = [a for v in vips for a in v['ases'] if a['flags'] & 1]\n"
    "print(len(vips), len(ases), sum(1 for a in ases if a['weight'] > 0),\n"
    "      sum(1 for a in ases if a['weight'] == 0), rc.get('lb_as_set_weight', 0),\n"
    "      sum(a['flushes'] for a in ases))\n";

static int vppsim_view(const struct vppsim *v, const char *dir, struct vpp_view *out)
{
    char script[256], cmd[1024], vdir[512];
    snprintf(script, sizeof(script), "%s/check.py", dir);
    FILE *f = fopen(script, "w");
    if (!f)
        return -1;
    fputs(check_py, f);
    fclose(f);
    snprintf(vdir, sizeof(vdir), "%s", VPPSIM_PATH);
    char *slash = strrchr(vdir, '/');
    if (slash)
        *slash = 0;
    else
        strcpy(vdir, ".");
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s' '%s' '%s'", script, vdir, v->ctl);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    int n = fscanf(p, "%ld %ld %ld %ld %ld %ld", &out->vips, &out->ases, &out->weighted, &out->zero,
                   &out->set_weight, &out->flushes);
    return pclose(p) == 0 && n == 6 ? 0 : -1;
}

/* ---- the config ---- */

/* Case 1: frontend f has the shared backend f / share (in `share`
 * frontends) and ases - 1 backends of its own. Case 2 (n_shared 0):
 * frontend f has ases backends of its own. Backends are named be%06zu in
 * index order, so their config index is their number. */
struct layout {
    size_t vips, ases, n_shared, n_backends;
};

static size_t own_backend(const struct layout *l, size_t f, size_t k)
{
    return l->n_shared + f * (l->ases - (l->n_shared ? 1 : 0)) + k;
}

static void write_config(const char *path, const struct layout *l, bool failover)
{
    FILE *f = fopen(path, "w");
    if (!f)
        die("cannot write the config");
    fputs("maglev:\n  healthchecks:\n", f);
    if (failover) /* one result makes a transition; a next probe soon after */
        fputs("    hc: {type: tcp, port: 80, interval: 100ms, fast-interval: 100ms, "
              "down-interval: 100ms, rise: 1, fall: 1}\n",
              f);
    else /* the defaults, but 1 s */
        fputs("    hc: {type: tcp, port: 80, interval: 1s}\n", f);
    fputs("  backends:\n", f);
    for (size_t n = 0; n < l->n_backends; n++) {
        size_t a = n + 1;
        fprintf(f, "    be%06zu: {address: 172.%zu.%zu.%zu, healthcheck: hc}\n", n, 16 + (a >> 16),
                (a >> 8) & 255, a & 255);
    }
    fputs("  frontends:\n", f);
    for (size_t i = 0; i < l->vips; i++) {
        fprintf(f,
                "    fe%05zu:\n      address: 10.%zu.%zu.1\n      protocol: tcp\n      port: 80\n"
                "      pools:\n        - name: p\n          backends:\n",
                i, i / 250, i % 250);
        size_t own = l->ases - (l->n_shared ? 1 : 0);
        if (l->n_shared)
            fprintf(f, "            be%06zu: {weight: 50}\n", i / O.share);
        for (size_t k = 0; k < own; k++)
            fprintf(f, "            be%06zu: {weight: %d}\n", own_backend(l, i, k),
                    k % 4 == 3 ? 50 : 100);
    }
    fputs("  vpp:\n    lb:\n      ipv4-src-address: 198.19.0.1\n"
          "      ipv6-src-address: 2001:db8::1\n      sync-interval: 1h\n"
          "      startup-min-delay: 0s\n      startup-max-delay: 0s\n",
          f);
    if (fclose(f) != 0)
        die("cannot write the config");
}

static size_t backend_index(const char *name)
{
    return (size_t)strtoul(name + 2, NULL, 10);
}

/* ---- one daemon instance ---- */

struct serial;

struct bench {
    struct ev_loop *loop;
    const char *dir;
    struct vppsim sim;
    struct core *core;
    struct serial *ser; /* the baseline's applier, NULL for the real sync */
    struct core_observer obs;
    uint64_t ok, bad; /* VPP's replies to AS weight changes */
    double last_reply;
    double core_at; /* just before core_new */
    uint64_t to_up, to_down, to_other;
    size_t n_up, up_target;
    size_t max_in_flight; /* VPP requests without reply, sampled after each iteration */
    double all_up_at;     /* when n_up reached up_target */
};

/* The counters, for the next instance. */
static void bench_reset(struct bench *b)
{
    memset(&b->ok, 0, sizeof(*b) - offsetof(struct bench, ok));
}

/* ---- the baseline: one request at a time ---- */

struct serial {
    struct bench *b;
    struct vpp_client *c;
    size_t window;
    bool up, ready, busy;
    struct lb_state model, desired;
    bool *dirty_fe;
    size_t *dirty, n_dirty;
    ev_prepare flush;
    struct lb_vip *dvs; /* the desired VIPs of the plan in flight */
    size_t n_dvs;
    struct lb_plan plan;
};

static void serial_kick(struct serial *s)
{
    if (s->ready && !s->busy && s->n_dirty)
        ev_prepare_start(s->b->loop, &s->flush);
}

static void serial_applied(void *ctx, const struct vpp_op_result *res, size_t failed)
{
    (void)failed;
    struct serial *s = ctx;
    for (size_t i = 0; i < s->plan.n_ops; i++) {
        bool ok = !res[i].err && !res[i].retval;
        if (ok)
            lb_model_apply(&s->model, &s->plan.ops[i]);
        if (s->plan.ops[i].kind == LB_OP_AS_WEIGHT)
            ok ? s->b->ok++ : s->b->bad++;
    }
    s->b->last_reply = now();
    free(s->plan.ops);
    memset(&s->plan, 0, sizeof(s->plan));
    for (size_t i = 0; i < s->n_dvs; i++)
        lb_vip_clear(&s->dvs[i]);
    free(s->dvs);
    s->dvs = NULL;
    s->n_dvs = 0;
    s->busy = false;
    serial_kick(s);
}

/* The end of the loop iteration: every changed VIP planned against the
 * model, all their ops sent as one plan, window requests in flight. */
static void serial_flush(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)revents;
    ev_prepare_stop(loop, w);
    struct serial *s = w->data;
    if (!s->ready || s->busy || !s->n_dirty)
        return;
    const struct maglev_config *cfg = core_config(s->b->core);
    s->dvs = calloc(s->n_dirty, sizeof(*s->dvs));
    for (size_t i = 0; i < s->n_dirty; i++) {
        size_t fe = s->dirty[i];
        s->dirty_fe[fe] = false;
        struct lb_vip *dv = &s->dvs[s->n_dvs++];
        lb_desired_vip(cfg, fe, core_frontend_weights(s->b->core, fe), dv);
        struct lb_plan p;
        lb_plan_vip(dv, lb_state_find(&s->model, &dv->key), &p);
        if (s->plan.n_ops + p.n_ops > s->plan.cap) {
            s->plan.cap = 2 * (s->plan.n_ops + p.n_ops);
            s->plan.ops = realloc(s->plan.ops, s->plan.cap * sizeof(*s->plan.ops));
            if (!s->plan.ops)
                die("out of memory");
        }
        if (p.n_ops)
            memcpy(&s->plan.ops[s->plan.n_ops], p.ops, p.n_ops * sizeof(*p.ops));
        s->plan.n_ops += p.n_ops;
        lb_plan_free(&p);
    }
    s->n_dirty = 0;
    s->busy = true;
    if (vpp_lb_apply(s->c, &s->plan, s->window, serial_applied, s) < 0)
        die("baseline: VPP is not connected");
}

static void serial_backend(struct serial *s, size_t bi)
{
    size_t n;
    const uint32_t *fes = core_backend_frontends(s->b->core, bi, &n);
    for (size_t k = 0; k < n; k++) {
        if (!s->dirty_fe[fes[k]]) {
            s->dirty_fe[fes[k]] = true;
            s->dirty[s->n_dirty++] = fes[k];
        }
    }
    serial_kick(s);
}

static void serial_init_applied(void *ctx, const struct vpp_op_result *res, size_t failed)
{
    struct serial *s = ctx;
    if (failed)
        die("baseline: the initial sync failed");
    for (size_t i = 0; i < s->plan.n_ops; i++)
        if (!res[i].err && !res[i].retval)
            lb_model_apply(&s->model, &s->plan.ops[i]);
    lb_plan_free(&s->plan);
    lb_state_free(&s->desired);
    s->ready = true;
    serial_kick(s);
}

/* The initial full sync (read, plan, apply pipelined): the model. */
static void serial_read(void *ctx, int err, struct lb_state *observed)
{
    struct serial *s = ctx;
    if (err)
        die("baseline: reading VPP's state failed");
    s->model = *observed;
    core_lb_desired(s->b->core, &s->desired);
    for (size_t i = 0; i < s->desired.n_vips; i++) /* no warm-up here (delays 0) */
        s->desired.vips[i].held = false;
    lb_plan_build(&s->desired, &s->model, NULL, &s->plan);
    if (vpp_lb_apply(s->c, &s->plan, 256, serial_init_applied, s) < 0)
        die("baseline: VPP is not connected");
}

static void serial_up(void *ctx)
{
    struct serial *s = ctx;
    s->up = true;
    if (vpp_lb_read(s->c, serial_read, s) < 0)
        die("baseline: cannot read VPP's state");
}

static struct serial *serial_new(struct bench *b)
{
    struct serial *s = calloc(1, sizeof(*s));
    const struct maglev_config *cfg = core_config(b->core);
    s->b = b;
    s->window = 256; /* while setting up; 1 for the measurements */
    s->dirty_fe = calloc(cfg->n_frontends, sizeof(*s->dirty_fe));
    s->dirty = calloc(cfg->n_frontends, sizeof(*s->dirty));
    ev_prepare_init(&s->flush, serial_flush);
    s->flush.data = s;
    struct vpp_client_opts o = { 0 }; /* the daemon's defaults, as the sync's client */
    struct vpp_client_cbs cbs = { .up = serial_up, .ctx = s };
    s->c = vpp_client_new(b->loop, b->sim.api, &o, &cbs);
    vpp_client_start(s->c);
    return s;
}

static void serial_free(struct serial *s)
{
    if (!s)
        return;
    ev_prepare_stop(s->b->loop, &s->flush);
    vpp_client_free(s->c);
    lb_state_free(&s->model);
    free(s->dirty_fe);
    free(s->dirty);
    free(s);
}

/* ---- the instance ---- */

static void on_backend(void *ctx, const struct backend_rt *b, const struct health_transition *t)
{
    struct bench *x = ctx;
    if (t->to == BS_UP)
        x->to_up++;
    else if (t->to == BS_DOWN)
        x->to_down++;
    else
        x->to_other++;
    if (t->to == BS_UP && ++x->n_up == x->up_target)
        x->all_up_at = now();
    if (t->from == BS_UP)
        x->n_up--;
    if (x->ser && b->cfg_index >= 0 && t->to != BS_REMOVED)
        serial_backend(x->ser, (size_t)b->cfg_index);
}

static void on_vpp_change(void *ctx, const struct core_vpp_change *ch)
{
    struct bench *x = ctx;
    if (!ch->res || ch->op->kind != LB_OP_AS_WEIGHT)
        return;
    if (!ch->res->err && !ch->res->retval)
        x->ok++;
    else
        x->bad++;
    x->last_reply = now();
}

static size_t pending(const struct bench *b)
{
    if (b->ser)
        return b->ser->n_dirty + b->ser->busy;
    return vpp_sync_pending(core_vpp(b->core));
}

static bool synced(const struct bench *b)
{
    if (b->ser)
        return b->ser->ready && !pending(b);
    struct vpp_sync *s = core_vpp(b->core);
    return vpp_sync_last_full_us(s) != 0 && !pending(b);
}

/* Runs the loop until cond(b, arg) or timeout seconds. */
static void spin(struct bench *b, bool (*cond)(struct bench *, const void *), const void *arg,
                 double timeout, const char *what)
{
    double end = now() + timeout;
    while (!cond(b, arg)) {
        if (now() > end) {
            fprintf(stderr,
                    "failover: timed out waiting for %s (%llu replies, %llu failed, %zu pending, "
                    "%zu up, %zu probes held)\n",
                    what, (unsigned long long)b->ok, (unsigned long long)b->bad, pending(b),
                    b->n_up, fprobe_n_held());
            exit(1);
        }
        ev_run(b->loop, EVRUN_ONCE);
        struct vpp_client *vc = b->ser ? b->ser->c : vpp_sync_client(core_vpp(b->core));
        size_t n = vpp_client_in_flight(vc);
        if (n > b->max_in_flight)
            b->max_in_flight = n;
    }
}

static bool c_synced(struct bench *b, const void *arg)
{
    (void)arg;
    return synced(b);
}

static bool c_held(struct bench *b, const void *arg)
{
    (void)b;
    return fprobe_n_held() >= *(const size_t *)arg;
}

static bool c_replies(struct bench *b, const void *arg)
{
    return b->ok + b->bad >= *(const uint64_t *)arg && !pending(b);
}

static void instance_start(struct bench *b, const char *cfg_path, size_t n_backends, bool serial,
                           const char *tag)
{
    vppsim_start(&b->sim, b->dir, tag);
    struct config_diags d = { 0 };
    struct maglev_config *cfg = NULL;
    if (config_load_file(cfg_path, &cfg, &d) < 0) {
        char *line = d.n ? config_diag_format(&d, 0) : NULL;
        fprintf(stderr, "failover: config: %s\n", line ? line : "invalid");
        exit(1);
    }
    config_diags_free(&d);
    for (size_t i = 0; i < cfg->n_backends; i++)
        if (backend_index(cfg->backends[i].name) != i)
            die("backends are not in index order");
    fprobe_setup(n_backends, backend_index);
    fprobe_set_mode(FPROBE_HOLD);
    b->core_at = now();
    b->core = core_new(b->loop, cfg_path, cfg);
    b->obs = (struct core_observer){ .backend = on_backend, .vpp_change = on_vpp_change, .ctx = b };
    core_observe(b->core, &b->obs);
    if (serial) {
        b->ser = serial_new(b);
    } else {
        struct core_vpp_opts o = { .api_path = b->sim.api };
        if (core_vpp_start(b->core, &o) < 0)
            die("core_vpp_start failed");
    }
}

static void instance_stop(struct bench *b)
{
    serial_free(b->ser);
    b->ser = NULL;
    core_free(b->core);
    b->core = NULL;
    fprobe_teardown();
    vppsim_stop(&b->sim);
}

/* Completes the held probes of ids with pass or fail in this iteration and
 * runs the loop until `expect` more replies are in and nothing is pending.
 * Returns the seconds from just before the first result to the last
 * reply; adds the CPU time to *cpu_s and the replies to *replies. */
static double transition(struct bench *b, const size_t *ids, size_t n, bool pass, uint64_t expect,
                         struct cpu *cpu_s, uint64_t *replies)
{
    uint64_t want = b->ok + b->bad + expect, bad0 = b->bad;
    struct cpu c0 = cpu_now();
    b->max_in_flight = 0;
    double t0 = now();
    for (size_t i = 0; i < n; i++)
        if (!fprobe_complete(ids[i], pass))
            die("a probe was not held");
    spin(b, c_replies, &want, 60, "VPP's replies");
    cpu_add(cpu_s, c0);
    *replies += expect;
    if (b->bad != bad0 || b->ok + b->bad != want)
        die("VPP failed a change, or more changes than expected");
    return b->last_reply - t0;
}

static size_t n_frontends_of(const struct bench *b, size_t bi)
{
    size_t n;
    core_backend_frontends(b->core, bi, &n);
    return n;
}

/* ---- case 1: failover ---- */

struct fig {
    struct samples down, up;
    struct cpu cpu;
    uint64_t replies;
    size_t max_in_flight;
};

struct failover_figs {
    double connect_s, all_up_s;
    uint64_t all_up_changes;
    size_t all_up_in_flight;
    struct fig shared, solo, burst;
    struct vpp_view mid, end;
};

/* Trials over k target backends (all up, probes held): down (measured),
 * then back up when its next probe is held (measured too). */
static void run_single(struct bench *b, const size_t *t, size_t k, size_t trials, struct fig *f)
{
    bool *down = calloc(k, sizeof(*down));
    size_t done = 0, n_down = 0;
    while (done < trials || n_down) {
        bool acted = false;
        for (size_t i = 0; i < k; i++) {
            if (!fprobe_held(t[i]) || (!down[i] && done >= trials))
                continue;
            uint64_t e = n_frontends_of(b, t[i]);
            double s = transition(b, &t[i], 1, down[i], e, &f->cpu, &f->replies);
            sample_add(down[i] ? &f->up : &f->down, s);
            if (down[i]) {
                n_down--;
            } else {
                done++;
                n_down++;
            }
            down[i] = !down[i];
            acted = true;
        }
        if (!acted)
            ev_run(b->loop, EVRUN_ONCE);
    }
    free(down);
}

static bool c_all_held(struct bench *b, const void *arg)
{
    (void)b;
    const size_t *v = arg; /* n, then the ids */
    for (size_t i = 0; i < v[0]; i++)
        if (!fprobe_held(v[1 + i]))
            return false;
    return true;
}

static void run_burst(struct bench *b, const struct layout *l, struct failover_figs *ff)
{
    size_t n = O.burst < l->vips ? O.burst : l->vips;
    size_t *v = calloc(n + 1, sizeof(*v));
    v[0] = n;
    for (size_t f = 0; f < n; f++)
        v[1 + f] = own_backend(l, f, 1);
    for (size_t t = 0; t < O.burst_trials; t++) {
        spin(b, c_all_held, v, 30, "held probes");
        sample_add(&ff->burst.down,
                   transition(b, v + 1, n, false, n, &ff->burst.cpu, &ff->burst.replies));
        if (b->max_in_flight > ff->burst.max_in_flight)
            ff->burst.max_in_flight = b->max_in_flight;
        if (t == 0 && vppsim_view(&b->sim, b->dir, &ff->mid) < 0)
            die("cannot read vppsim's state");
        if (t == 0 && ff->mid.zero != (long)n)
            die("vppsim does not have the burst's ASes at weight 0");
        spin(b, c_all_held, v, 30, "held probes");
        sample_add(&ff->burst.up,
                   transition(b, v + 1, n, true, n, &ff->burst.cpu, &ff->burst.replies));
    }
    free(v);
}

static void failover(struct bench *b, const char *cfg_path, const struct layout *l, bool serial,
                     struct failover_figs *ff)
{
    memset(ff, 0, sizeof(*ff));
    instance_start(b, cfg_path, l->n_backends, serial, serial ? "serial" : "pipelined");
    spin(b, c_synced, NULL, 120, "the connect sync");
    ff->connect_s = now() - b->core_at;
    size_t all = l->n_backends;
    spin(b, c_held, &all, 30, "the first probes");
    /* every backend up in one iteration: every AS gets its weight */
    size_t *ids = calloc(all, sizeof(*ids));
    for (size_t i = 0; i < all; i++)
        ids[i] = i;
    struct cpu c = { 0, 0 };
    uint64_t r = 0;
    ff->all_up_changes = (uint64_t)l->vips * l->ases;
    ff->all_up_s = transition(b, ids, all, true, ff->all_up_changes, &c, &r);
    ff->all_up_in_flight = b->max_in_flight;
    free(ids);
    if (b->n_up != all)
        die("not every backend is up");
    spin(b, c_held, &all, 30, "the next probes");
    if (b->ser)
        b->ser->window = 1;
    /* (a): the shared backends, then backends of one frontend */
    size_t *t = calloc(l->n_shared + O.solo, sizeof(*t));
    for (size_t i = 0; i < l->n_shared; i++)
        t[i] = i;
    run_single(b, t, l->n_shared, O.trials, &ff->shared);
    size_t k = O.solo < l->vips ? O.solo : l->vips;
    for (size_t i = 0; i < k; i++)
        t[i] = own_backend(l, i, 0);
    run_single(b, t, k, O.trials, &ff->solo);
    free(t);
    /* (b) */
    run_burst(b, l, ff);
    if (vppsim_view(&b->sim, b->dir, &ff->end) < 0)
        die("cannot read vppsim's state");
    long want_ases = (long)(l->vips * l->ases);
    if (ff->end.vips != (long)l->vips || ff->end.ases != want_ases ||
        ff->end.weighted != want_ases || ff->end.set_weight != (long)b->ok) {
        fprintf(stderr,
                "failover: vppsim's state differs: %ld VIPs, %ld ASes, %ld weighted, "
                "%ld lb_as_set_weight received vs %llu replies\n",
                ff->end.vips, ff->end.ases, ff->end.weighted, ff->end.set_weight,
                (unsigned long long)b->ok);
        exit(1);
    }
    instance_stop(b);
}

/* ---- case 2: ramp-up ---- */

struct rampup_figs {
    size_t backends, frontends;
    double connect_s, all_up_s, converged_s, window_s;
    uint64_t up, down, other, replies, probes;
    struct cpu cpu;
    double path_cpu_s;
    struct vpp_view end;
};

static bool c_rampup_done(struct bench *b, const void *arg)
{
    const struct rampup_figs *r = arg;
    return b->n_up >= r->backends && b->ok + b->bad >= r->backends && !pending(b);
}

static void rampup(struct bench *b, size_t n, struct rampup_figs *r)
{
    memset(r, 0, sizeof(*r));
    struct layout l = { .vips = n / O.fe_backends, .ases = O.fe_backends, .n_backends = n };
    r->backends = n;
    r->frontends = l.vips;
    char path[256];
    snprintf(path, sizeof(path), "%s/rampup-%zu.yaml", b->dir, n);
    write_config(path, &l, false);
    b->up_target = n;
    instance_start(b, path, n, false, "rampup");
    double t0 = b->core_at;
    spin(b, c_synced, NULL, 120, "the connect sync");
    double tg = now();
    struct cpu cg = cpu_now();
    r->connect_s = tg - t0;
    struct fprobe_stats s0, s1;
    fprobe_stats(&s0);
    fprobe_set_mode(FPROBE_PASS);
    spin(b, c_rampup_done, r, 120, "every backend up");
    double te = now();
    cpu_add(&r->cpu, cg);
    fprobe_stats(&s1);
    r->all_up_s = b->all_up_at - t0;
    r->converged_s = b->last_reply - t0;
    r->window_s = te - tg;
    r->up = b->to_up;
    r->down = b->to_down;
    r->other = b->to_other;
    r->replies = b->ok;
    r->probes = s1.auto_completed - s0.auto_completed;
    r->path_cpu_s = (double)(s1.auto_cpu_ns - s0.auto_cpu_ns) / 1e9;
    if (vppsim_view(&b->sim, b->dir, &r->end) < 0)
        die("cannot read vppsim's state");
    if (r->end.weighted != (long)n || r->end.set_weight != (long)b->ok || b->bad) {
        fprintf(stderr, "failover: ramp-up: vppsim has %ld weighted ASes of %zu, %ld requests\n",
                r->end.weighted, n, r->end.set_weight);
        exit(1);
    }
    instance_stop(b);
    bench_reset(b);
}

/* ---- output ---- */

static void row(const char *what, const char *mode, struct samples *s, const struct fig *f,
                double target_ms)
{
    double p50 = pct(s, 0.5) * 1e3, p99 = pct(s, 0.99) * 1e3, mx = pct(s, 1) * 1e3;
    double per = f->replies ? 1e6 / (double)f->replies : 0;
    printf("%-30s %-13s %6zu %8.2f %8.2f %8.2f %10.1f", what, mode, s->n, p50, p99, mx,
           (f->cpu.user + f->cpu.sys) * per);
    if (target_ms > 0)
        printf("   p99 < %g ms: %s", target_ms, p99 < target_ms ? "PASS" : "MISS");
    printf("\n");
}

static void print_failover(const struct layout *l, struct failover_figs *p, struct failover_figs *s)
{
    printf("\nsetup (pipelined): connect sync %.2f s; all %zu backends up at once: %llu weight "
           "changes in %.3f s, up to %zu requests in flight\n",
           p->connect_s, l->n_backends, (unsigned long long)p->all_up_changes, p->all_up_s,
           p->all_up_in_flight);
    printf("\n%-30s %-13s %6s %8s %8s %8s %10s\n", "transition -> last VPP reply", "mode", "trials",
           "p50 ms", "p99 ms", "max ms", "CPU us/chg");
    struct failover_figs *m[2] = { p, s };
    const char *names[2] = { "pipelined", "one-at-a-time" };
    char what[64];
    size_t sh = O.share < l->vips ? O.share : l->vips; /* the first shared backend's */
    snprintf(what, sizeof(what), "(a) down, in %zu frontends", sh);
    for (int i = 0; i < 2; i++)
        if (m[i])
            row(what, names[i], &m[i]->shared.down, &m[i]->shared, i ? 0 : 10);
    snprintf(what, sizeof(what), "    up again, %zu frontends", sh);
    for (int i = 0; i < 2; i++)
        if (m[i])
            row(what, names[i], &m[i]->shared.up, &m[i]->shared, 0);
    for (int i = 0; i < 2; i++)
        if (m[i])
            row("(a) down, in 1 frontend", names[i], &m[i]->solo.down, &m[i]->solo, i ? 0 : 2);
    for (int i = 0; i < 2; i++)
        if (m[i])
            row("    up again, 1 frontend", names[i], &m[i]->solo.up, &m[i]->solo, 0);
    size_t n = O.burst < l->vips ? O.burst : l->vips;
    snprintf(what, sizeof(what), "(b) %zu down at once", n);
    for (int i = 0; i < 2; i++)
        if (m[i])
            row(what, names[i], &m[i]->burst.down, &m[i]->burst, i ? 0 : 1000);
    snprintf(what, sizeof(what), "    %zu up at once", n);
    for (int i = 0; i < 2; i++)
        if (m[i])
            row(what, names[i], &m[i]->burst.up, &m[i]->burst, 0);
    printf("(CPU us/chg: this process's CPU, user + system, over the measured transitions, per "
           "AS change answered by VPP; down and up rows share one figure)\n");
    for (int i = 0; i < 2; i++)
        if (m[i])
            printf("vppsim (%s): after the first burst down %ld of %ld ASes at weight 0; at "
                   "the end %ld VIPs, %ld/%ld ASes weighted, %ld lb_as_set_weight received, "
                   "%ld flushes\n",
                   names[i], m[i]->mid.zero, m[i]->mid.ases, m[i]->end.vips, m[i]->end.weighted,
                   m[i]->end.ases, m[i]->end.set_weight, m[i]->end.flushes);
    for (int i = 0; i < 2; i++)
        if (m[i])
            printf("requests in flight (%s, sampled after each loop iteration): up to %zu in "
                   "the (b) bursts\n",
                   names[i], m[i]->burst.max_in_flight);
    if (s) {
        printf("\npipelined vs one-at-a-time, p50 of the way down: %.1fx faster for a backend in "
               "%zu frontends, %.1fx for %zu backends at once (a backend in 1 frontend is one "
               "request either way)\n",
               pct(&s->shared.down, .5) / pct(&p->shared.down, .5), sh,
               pct(&s->burst.down, .5) / pct(&p->burst.down, .5), n);
    }
}

static void print_rampup(const struct rampup_figs *r, size_t n)
{
    printf("\nramp-up: from unknown, every probe passes as soon as it starts (interval 1 s); "
           "%zu backends per frontend, each in one frontend\n",
           O.fe_backends);
    printf("%8s %9s %9s %9s %10s %11s %8s %8s %8s %9s %10s\n", "backends", "frontends", "synced s",
           "all up s", "VPP done s", "transitions", "spurious", "replies", "probes", "CPU us/tr",
           "path us/tr");
    for (size_t i = 0; i < n; i++) {
        const struct rampup_figs *x = &r[i];
        double tr = x->up ? (double)x->up : 1;
        printf("%8zu %9zu %9.3f %9.3f %10.3f %11llu %8llu %8llu %8llu %9.1f %10.1f\n", x->backends,
               x->frontends, x->connect_s, x->all_up_s, x->converged_s, (unsigned long long)x->up,
               (unsigned long long)(x->down + x->other), (unsigned long long)x->replies,
               (unsigned long long)x->probes, (x->cpu.user + x->cpu.sys) / tr * 1e6,
               x->path_cpu_s / tr * 1e6);
    }
    printf("(CPU us/tr: this process over the window from the connect sync's end to the last "
           "reply, per transition — probe timers, checker, core, VPP requests and replies; "
           "path us/tr: the probe result -> checker -> core -> lb -> VIP marked, alone; "
           "target < 20 us per transition of a backend in one frontend)\n");
    for (size_t i = 0; i < n; i++)
        printf("vppsim (%zu backends): %ld VIPs, %ld/%ld ASes weighted, %ld lb_as_set_weight "
               "received; %s\n",
               r[i].backends, r[i].end.vips, r[i].end.weighted, r[i].end.ases, r[i].end.set_weight,
               r[i].down + r[i].other == 0 ? "no spurious transition: PASS"
                                           : "spurious transitions: MISS");
}

/* ---- main ---- */

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_failover [--vips N] [--ases N] [--share N] [--trials N] [--solo N]\n"
            "                      [--burst N] [--burst-trials N] [--sizes N,N] "
            "[--fe-backends N]\n"
            "                      [--no-baseline] [--no-failover] [--no-rampup] [--log LEVEL] "
            "[--keep]\n");
    exit(2);
}

static size_t parse_sizes(const char *s)
{
    O.n_sizes = 0;
    while (*s && O.n_sizes < 8) {
        char *end;
        O.sizes[O.n_sizes++] = strtoul(s, &end, 10);
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            usage();
    }
    return O.n_sizes;
}

int main(int argc, char **argv)
{
    bool do_failover = true, do_rampup = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--no-baseline")) {
            O.baseline = false;
            continue;
        }
        if (!strcmp(a, "--no-failover")) {
            do_failover = false;
            continue;
        }
        if (!strcmp(a, "--no-rampup")) {
            do_rampup = false;
            continue;
        }
        if (!strcmp(a, "--keep")) {
            O.keep = true;
            continue;
        }
        if (i + 1 >= argc)
            usage();
        const char *v = argv[++i];
        size_t n = strtoul(v, NULL, 10);
        if (!strcmp(a, "--vips"))
            O.vips = n;
        else if (!strcmp(a, "--ases"))
            O.ases = n;
        else if (!strcmp(a, "--share"))
            O.share = n;
        else if (!strcmp(a, "--trials"))
            O.trials = n;
        else if (!strcmp(a, "--solo"))
            O.solo = n;
        else if (!strcmp(a, "--burst"))
            O.burst = n;
        else if (!strcmp(a, "--burst-trials"))
            O.burst_trials = n;
        else if (!strcmp(a, "--fe-backends"))
            O.fe_backends = n;
        else if (!strcmp(a, "--sizes"))
            parse_sizes(v);
        else if (!strcmp(a, "--log")) {
            if (log_level_parse(v, &O.log_level) < 0)
                usage();
        } else
            usage();
    }
    if (!O.vips || O.vips > 62500 || O.ases < 3 || O.ases > 1000 || O.vips * O.ases > 2000000 ||
        !O.share || !O.trials || !O.solo || !O.burst || !O.burst_trials || !O.fe_backends)
        usage();
    for (size_t i = 0; i < O.n_sizes; i++)
        if (O.sizes[i] < O.fe_backends || O.sizes[i] / O.fe_backends > 62500)
            usage();
    signal(SIGPIPE, SIG_IGN);
    char dir[] = "/tmp/bench-failover-XXXXXX";
    if (!mkdtemp(dir))
        die("mkdtemp failed");
    if (!O.keep)
        snprintf(cleanup_state.dir, sizeof(cleanup_state.dir), "%s", dir);
    atexit(cleanup);
    /* logs below error (--log info: what the daemon writes by default) go
     * to /dev/null, or with --keep to maglevd.log in the directory */
    char log_path[128];
    snprintf(log_path, sizeof(log_path), "%s/maglevd.log", dir);
    int log_fd = 2;
    if (O.log_level != LOG_LEVEL_ERROR)
        log_fd = O.keep ? open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644)
                        : open("/dev/null", O_WRONLY);
    log_setup(O.log_level, LOG_FORMAT_TEXT, log_fd);
    struct bench b = { .loop = ev_loop_new(EVFLAG_AUTO), .dir = dir };

    if (do_failover) {
        struct layout l = { .vips = O.vips, .ases = O.ases };
        l.n_shared = (O.vips + O.share - 1) / O.share;
        l.n_backends = l.n_shared + O.vips * (O.ases - 1);
        char path[256];
        snprintf(path, sizeof(path), "%s/failover.yaml", dir);
        write_config(path, &l, true);
        printf("failover: %zu frontends x %zu backends (%zu backends: %zu shared, each in %zu "
               "frontends), into vppsim (%s), log level %s\n",
               l.vips, l.ases, l.n_backends, l.n_shared, O.share, VPPSIM_PATH,
               log_level_name(O.log_level));
        fflush(stdout);
        static struct failover_figs fp, fs;
        failover(&b, path, &l, false, &fp);
        bench_reset(&b);
        if (O.baseline) {
            failover(&b, path, &l, true, &fs);
            bench_reset(&b);
        }
        print_failover(&l, &fp, O.baseline ? &fs : NULL);
        fflush(stdout);
    }
    if (do_rampup) {
        struct rampup_figs r[8];
        for (size_t i = 0; i < O.n_sizes; i++)
            rampup(&b, O.sizes[i], &r[i]);
        print_rampup(r, O.n_sizes);
    }
    ev_loop_destroy(b.loop);
    if (O.keep)
        printf("kept %s\n", dir);
    return 0; /* cleanup() removes the directory */
}
