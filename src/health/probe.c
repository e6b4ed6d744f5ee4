/* probe.c: the probe lifecycle shared by all types. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/mem.h"
#include "common/version.h"
#include "health/probe_int.h"

struct probe_env *probe_env_new(struct ev_loop *loop)
{
    struct probe_env *env = mem_calloc(1, sizeof(*env));
    env->loop = loop;
    netns_hold();
    snprintf(env->user_agent, sizeof(env->user_agent), "vpp-maglev/%s (+%s)", version_string(),
             MAGLEV_PROJECT_URL);
    return env;
}

void probe_env_free(struct probe_env *env)
{
    if (!env)
        return;
    probe_icmp_env_free(env);
    netns_release();
    free(env);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct probe *p = w->data;
    struct probe_result r;
    if (p->failed_soon) {
        r = p->deferred;
    } else {
        memset(&r, 0, sizeof(r));
        p->ops->timed_out(p, &r);
    }
    probe_finish(p, &r);
}

static const struct probe_ops *ops_for(enum hc_type t)
{
    switch (t) {
    case HC_TCP:
        return &probe_tcp_ops;
    case HC_ICMP:
        return &probe_icmp_ops;
    case HC_HTTP:
    case HC_HTTPS:
        return &probe_http_native_ops;
    }
    abort(); /* the config loader admits no other type */
}

struct probe *probe_start(struct probe_env *env, const struct probe_req *req, probe_cb cb,
                          void *ctx)
{
    struct probe *p = mem_calloc(1, sizeof(*p));
    p->env = env;
    p->ops = ops_for(req->hc->type);
    p->hc = req->hc;
    p->addr = req->addr;
    p->netns = mem_strdup(req->netns);
    p->backend = mem_strdup(req->backend ? req->backend : "?");
    p->tls_cache = req->tls_cache;
    p->cb = cb;
    p->ctx = ctx;
    p->start_us = clock_mono_us();
    ev_now_update(env->loop); /* the timeout counts from now, not from the loop's last wake-up */
    ev_timer_init(&p->timer, on_timer, (double)req->hc->timeout / 1e9, 0.);
    /* below the sockets' watchers: when the loop was stalled and wakes up
     * with both the answer and the timeout due, the answer wins (libev
     * calls a higher priority first); a stall is the checker's, and must
     * not become the backend's timeout */
    ev_set_priority(&p->timer, -1);
    p->timer.data = p;
    ev_timer_start(env->loop, &p->timer);
    env->live++;
    p->ops->start(p);
    return p;
}

static void probe_free(struct probe *p)
{
    ev_timer_stop(p->env->loop, &p->timer);
    p->ops->release(p);
    p->env->live--;
    free(p->netns);
    free(p->backend);
    free(p);
}

void probe_finish(struct probe *p, const struct probe_result *r)
{
    struct probe_result res = *r;
    res.duration_us = clock_mono_us() - p->start_us;
    probe_cb cb = p->cb;
    void *ctx = p->ctx;
    probe_free(p);
    cb(ctx, &res);
}

void probe_cancel(struct probe *p)
{
    if (p)
        probe_free(p);
}

void probe_fail_soon(struct probe *p, enum probe_code code, const char *fmt, ...)
{
    p->failed_soon = true;
    p->deferred.code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->deferred.detail, sizeof(p->deferred.detail), fmt, ap);
    va_end(ap);
    ev_timer_stop(p->env->loop, &p->timer);
    ev_timer_set(&p->timer, 0., 0.);
    ev_timer_start(p->env->loop, &p->timer);
}
