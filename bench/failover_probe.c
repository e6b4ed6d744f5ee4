/* bench/failover_probe.c: the scripted probe layer of bench_failover (see
 * failover_probe.h); it stands in for src/health/probe.c. */
#include "failover_probe.h"

#include <ev.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/mem.h"
#include "health/probe_int.h"

static struct {
    size_t n;
    size_t (*index_of)(const char *backend);
    enum fprobe_mode mode;
    struct probe **held; /* by backend index */
    size_t n_held;
    struct probe **queue; /* pass mode: to complete on the next iteration */
    size_t n_queue, queue_cap;
    struct ev_loop *loop;
    ev_timer soon;
    struct fprobe_stats st;
} F;

static int64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static size_t index_of(const struct probe *p)
{
    return (size_t)(uintptr_t)p->impl;
}

static void release(struct probe *p)
{
    free(p);
}

/* Delivers a result: the probe is gone before the checker's callback runs
 * (probe_finish's order). */
static void finish(struct probe *p, bool pass)
{
    struct probe_result r = { .code = pass ? PC_L4OK : PC_L4CON };
    strcpy(r.detail, pass ? "scripted pass" : "scripted fail");
    probe_cb cb = p->cb;
    void *ctx = p->ctx;
    release(p);
    F.st.completed++;
    cb(ctx, &r);
}

static void on_soon(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    int64_t t0 = thread_cpu_ns();
    /* completions start probes only after a delay (the next interval), so
     * the queue does not grow while it is drained; take it anyway */
    while (F.n_queue) {
        size_t n = F.n_queue;
        struct probe **q = F.queue;
        F.queue = NULL;
        F.n_queue = F.queue_cap = 0;
        for (size_t i = 0; i < n; i++)
            finish(q[i], true);
        F.st.auto_completed += n;
        free(q);
    }
    F.st.auto_cpu_ns += thread_cpu_ns() - t0;
}

static void enqueue(struct probe *p)
{
    mem_grow((void **)&F.queue, &F.queue_cap, F.n_queue + 1, sizeof(*F.queue));
    F.queue[F.n_queue++] = p;
    if (!ev_is_active(&F.soon)) {
        ev_timer_set(&F.soon, 0., 0.);
        ev_timer_start(F.loop, &F.soon);
    }
}

void fprobe_setup(size_t n, size_t (*fn)(const char *backend))
{
    memset(&F, 0, sizeof(F));
    F.n = n;
    F.index_of = fn;
    F.held = mem_calloc(n ? n : 1, sizeof(*F.held));
    ev_timer_init(&F.soon, on_soon, 0., 0.);
}

void fprobe_teardown(void)
{
    if (F.loop)
        ev_timer_stop(F.loop, &F.soon);
    for (size_t i = 0; i < F.n; i++)
        free(F.held[i]);
    for (size_t i = 0; i < F.n_queue; i++)
        free(F.queue[i]);
    free(F.held);
    free(F.queue);
    memset(&F, 0, sizeof(F));
}

void fprobe_set_mode(enum fprobe_mode m)
{
    F.mode = m;
    if (m != FPROBE_PASS)
        return;
    for (size_t i = 0; i < F.n && F.n_held; i++) {
        if (F.held[i]) {
            enqueue(F.held[i]);
            F.held[i] = NULL;
            F.n_held--;
        }
    }
}

bool fprobe_held(size_t i)
{
    return i < F.n && F.held[i];
}

size_t fprobe_n_held(void)
{
    return F.n_held;
}

bool fprobe_complete(size_t i, bool pass)
{
    if (!fprobe_held(i))
        return false;
    struct probe *p = F.held[i];
    F.held[i] = NULL;
    F.n_held--;
    finish(p, pass);
    return true;
}

void fprobe_stats(struct fprobe_stats *out)
{
    *out = F.st;
}

/* ---- src/health/probe.h ---- */

struct probe_env *probe_env_new(struct ev_loop *loop)
{
    struct probe_env *env = mem_calloc(1, sizeof(*env));
    env->loop = loop;
    F.loop = loop;
    return env;
}

void probe_env_free(struct probe_env *env)
{
    free(env);
}

struct probe *probe_start(struct probe_env *env, const struct probe_req *req, probe_cb cb,
                          void *ctx)
{
    size_t i = F.index_of(req->backend);
    if (i >= F.n)
        abort();
    struct probe *p = mem_calloc(1, sizeof(*p));
    p->env = env;
    p->hc = req->hc;
    p->addr = req->addr;
    p->cb = cb;
    p->ctx = ctx;
    p->impl = (void *)(uintptr_t)i;
    F.st.started++;
    if (F.mode == FPROBE_PASS) {
        enqueue(p);
    } else {
        if (F.held[i]) /* the checker runs one probe per backend at a time */
            abort();
        F.held[i] = p;
        F.n_held++;
    }
    return p;
}

void probe_cancel(struct probe *p)
{
    if (!p)
        return;
    size_t i = index_of(p);
    F.st.cancelled++;
    if (i < F.n && F.held[i] == p) {
        F.held[i] = NULL;
        F.n_held--;
    } else {
        for (size_t k = 0; k < F.n_queue; k++) {
            if (F.queue[k] == p) {
                memmove(&F.queue[k], &F.queue[k + 1], (F.n_queue - k - 1) * sizeof(*F.queue));
                F.n_queue--;
                break;
            }
        }
    }
    release(p);
}

/* The bench's healthchecks are tcp: no TLS session cache is ever made. */
void probe_tls_cache_free(struct probe_tls_cache *c)
{
    (void)c;
}
