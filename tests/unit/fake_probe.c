/* A scripted probe layer for the tests on a real loop (see fake_probe.h):
 * probes never touch the network; the test completes them with the result
 * it wants. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core_harness.h"
#include "fake_probe.h"

static void tls_fill(const struct probe_req *req);

struct probe *fake_probes[256];
int fake_n;
int fake_started;

struct probe_env *probe_env_new(struct ev_loop *loop)
{
    struct probe_env *env = calloc(1, sizeof(*env));
    env->loop = loop;
    return env;
}

void probe_env_free(struct probe_env *env)
{
    free(env);
}

struct probe *probe_start(struct probe_env *env, const struct probe_req *req, probe_cb cb,
                          void *ctx)
{
    struct probe *p = calloc(1, sizeof(*p));
    p->env = env;
    p->hc = req->hc;
    p->addr = req->addr;
    p->backend = strdup(req->backend);
    p->cb = cb;
    p->ctx = ctx;
    env->live++;
    fake_probes[fake_n++] = p;
    fake_started++;
    tls_fill(req);
    return p;
}

static void drop(struct probe *p)
{
    for (int i = 0; i < fake_n; i++) {
        if (fake_probes[i] == p) {
            memmove(&fake_probes[i], &fake_probes[i + 1], (size_t)(fake_n - i - 1) * sizeof(p));
            fake_n--;
            break;
        }
    }
    p->env->live--;
    free(p->backend);
    free(p);
}

void probe_cancel(struct probe *p)
{
    if (p)
        drop(p);
}

int fake_find(const char *backend)
{
    for (int i = 0; i < fake_n; i++)
        if (strcmp(fake_probes[i]->backend, backend) == 0)
            return i;
    return -1;
}

void fake_complete(int i, enum probe_code code)
{
    struct probe *p = fake_probes[i];
    struct probe_result r = { .code = code };
    strcpy(r.detail, "scripted");
    probe_cb cb = p->cb;
    void *ctx = p->ctx;
    drop(p);
    cb(ctx, &r);
}

void fake_drive(struct ev_loop *loop, const char *backend, enum probe_code code)
{
    ev_timer tick;
    harness_tick_start(loop, &tick);
    double end = harness_now() + 20;
    int i;
    while ((i = fake_find(backend)) < 0 && harness_now() < end)
        ev_run(loop, EVRUN_ONCE);
    harness_tick_stop(loop, &tick);
    if (i < 0)
        FAIL("no probe of backend %s started", backend);
    fake_complete(i, code);
}

/* TLS session caches: a probe of an https healthcheck with tls-resume
 * fills its backend's slot with a token, as the real probe creates a share
 * handle; the checker must free it whenever the worker stops. */
struct probe_tls_cache {
    int token;
};
int fake_tls_live;

static void tls_fill(const struct probe_req *req)
{
    if (req->tls_cache && !*req->tls_cache && req->hc->type == HC_HTTPS && req->hc->tls_resume) {
        *req->tls_cache = calloc(1, sizeof(**req->tls_cache));
        fake_tls_live++;
    }
}

void probe_tls_cache_free(struct probe_tls_cache *c)
{
    if (c) {
        fake_tls_live--;
        free(c);
    }
}
