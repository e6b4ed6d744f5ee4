/* events.c: WatchEvents subscribers. Backend transitions and frontend
 * changes come from the core's observer hooks on the loop thread; log
 * records come from the log hook on any thread and cross to the loop
 * through a bounded queue and an ev_async. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "api/arena.h"
#include "api/build.h"
#include "common/log.h"
#include "common/mem.h"

#define LOG_QUEUE_MAX 4096

struct sub {
    struct events *ev;
    struct api_call *call;
    bool log, backend, frontend, vpp;
    enum log_level level;
    struct sub *next;
};

struct logq_item {
    int64_t time_us;
    enum log_level level;
    char *event, *line;
    size_t n_fields;
    char **keys, **values;
    struct logq_item *next;
};

struct events {
    struct api *api;
    struct ev_loop *loop;
    struct core_observer obs;
    struct sub *subs;
    pthread_mutex_t mu;
    struct logq_item *head, *tail;
    size_t queued, dropped;
    ev_async async;
    bool hooked;
};

static void logq_free_item(struct logq_item *it)
{
    for (size_t i = 0; i < it->n_fields; i++) {
        free(it->keys[i]);
        free(it->values[i]);
    }
    free(it->keys);
    free(it->values);
    free(it->event);
    free(it->line);
    free(it);
}

static char *kv_value(const struct log_kv *kv)
{
    char buf[64];
    switch (kv->type) {
    case LOG_KV_STR:
        return mem_strdup(kv->v.s ? kv->v.s : "");
    case LOG_KV_INT:
        snprintf(buf, sizeof(buf), "%lld", (long long)kv->v.i);
        break;
    case LOG_KV_UINT:
        snprintf(buf, sizeof(buf), "%llu", (unsigned long long)kv->v.u);
        break;
    case LOG_KV_BOOL:
        snprintf(buf, sizeof(buf), "%s", kv->v.b ? "true" : "false");
        break;
    case LOG_KV_DOUBLE:
        snprintf(buf, sizeof(buf), "%g", kv->v.d);
        break;
    default:
        buf[0] = '\0';
    }
    return mem_strdup(buf);
}

/* Any thread; serialised by the log module. */
static void on_log(const struct log_record *rec, void *ctx)
{
    struct events *ev = ctx;
    struct logq_item *it = mem_calloc(1, sizeof(*it));
    it->time_us = rec->time_us;
    it->level = rec->level;
    it->event = mem_strdup(rec->event ? rec->event : "");
    it->line = mem_strdup(rec->line ? rec->line : "");
    size_t n = 0;
    while (rec->fields && rec->fields[n].type != LOG_KV_END)
        n++;
    it->keys = mem_calloc(n, sizeof(char *));
    it->values = mem_calloc(n, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        it->keys[i] = mem_strdup(rec->fields[i].key ? rec->fields[i].key : "");
        it->values[i] = kv_value(&rec->fields[i]);
        it->n_fields = i + 1;
    }
    pthread_mutex_lock(&ev->mu);
    if (ev->queued >= LOG_QUEUE_MAX) {
        ev->dropped++;
        pthread_mutex_unlock(&ev->mu);
        logq_free_item(it);
        return;
    }
    if (ev->tail)
        ev->tail->next = it;
    else
        ev->head = it;
    ev->tail = it;
    ev->queued++;
    pthread_mutex_unlock(&ev->mu);
    ev_async_send(ev->loop, &ev->async);
}

static void sub_remove(struct events *ev, struct sub *s)
{
    for (struct sub **pp = &ev->subs; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    free(s);
}

/* The lowest level any subscriber wants, for the log hook. */
static void update_hook(struct events *ev)
{
    bool any = false;
    enum log_level min = LOG_LEVEL_ERROR;
    for (struct sub *s = ev->subs; s; s = s->next) {
        if (s->log) {
            any = true;
            if (s->level < min)
                min = s->level;
        }
    }
    if (any)
        log_set_hook(on_log, ev, min);
    else if (ev->hooked)
        log_set_hook(NULL, NULL, LOG_LEVEL_ERROR);
    ev->hooked = any;
}

static void on_cancel(struct api_call *call, void *ctx)
{
    (void)call;
    struct sub *s = ctx;
    struct events *ev = s->ev;
    sub_remove(ev, s);
    update_hook(ev);
}

/* Sends e to s; a subscriber that cannot keep up is ended. Returns false
 * when s is gone. */
static bool deliver(struct sub *s, const Maglev__Event *e)
{
    int rc = api_stream_send(s->call, (const ProtobufCMessage *)e);
    if (rc == 0)
        return true;
    struct events *ev = s->ev;
    api_call_on_cancel(s->call, NULL, NULL);
    if (rc == -ENOBUFS) {
        log_warn("watch-dropped", LOG_STR("peer", api_call_peer(s->call)),
                 LOG_STR("reason", "subscriber too slow"));
        api_fail(s->call, GRPC_STATUS_RESOURCE_EXHAUSTED,
                 "subscriber too slow: too many events queued; watch again");
    } else {
        api_fail(s->call, GRPC_STATUS_CANCELLED, "client gone");
    }
    sub_remove(ev, s);
    update_hook(ev);
    return false;
}

static void on_async(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)loop;
    (void)revents;
    struct events *ev = w->data;
    pthread_mutex_lock(&ev->mu);
    struct logq_item *it = ev->head;
    ev->head = ev->tail = NULL;
    ev->queued = 0;
    pthread_mutex_unlock(&ev->mu);
    while (it) {
        struct logq_item *next = it->next;
        struct arena a = ARENA_INIT;
        Maglev__Event *e = ar_new(&a, Maglev__Event);
        maglev__event__init(e);
        e->time_us = it->time_us;
        e->kind_case = MAGLEV__EVENT__KIND_LOG;
        Maglev__LogEvent *m = e->log = ar_new(&a, Maglev__LogEvent);
        maglev__log_event__init(m);
        m->level = (char *)log_level_name(it->level);
        m->msg = it->event;
        m->line = it->line;
        m->n_fields = it->n_fields;
        m->fields = ar_array(&a, Maglev__LogEvent__FieldsEntry *, it->n_fields);
        for (size_t i = 0; i < it->n_fields; i++) {
            Maglev__LogEvent__FieldsEntry *f = m->fields[i] =
                ar_new(&a, Maglev__LogEvent__FieldsEntry);
            maglev__log_event__fields_entry__init(f);
            f->key = it->keys[i];
            f->value = it->values[i];
        }
        struct sub *s = ev->subs;
        while (s) {
            struct sub *sn = s->next;
            if (s->log && it->level >= s->level)
                deliver(s, e);
            s = sn;
        }
        arena_free(&a);
        logq_free_item(it);
        it = next;
    }
}

static void on_backend(void *ctx, const struct backend_rt *b, const struct health_transition *t)
{
    struct events *ev = ctx;
    struct arena a = ARENA_INIT;
    Maglev__Event *e = api_build_backend_event(&a, b, t, false);
    for (struct sub *s = ev->subs, *sn; s; s = sn) {
        sn = s->next;
        if (s->backend)
            deliver(s, e);
    }
    arena_free(&a);
}

static void on_frontend(void *ctx, const struct frontend_conf *fe, enum fe_state from,
                        enum fe_state to, int active_pool, bool panic)
{
    struct events *ev = ctx;
    struct arena a = ARENA_INIT;
    Maglev__Event *e = api_build_frontend_event(&a, fe, from, to, active_pool, panic, false);
    for (struct sub *s = ev->subs, *sn; s; s = sn) {
        sn = s->next;
        if (s->frontend)
            deliver(s, e);
    }
    arena_free(&a);
}

static void on_vpp_change(void *ctx, const struct core_vpp_change *ch)
{
    struct events *ev = ctx;
    bool any = false;
    for (struct sub *s = ev->subs; s && !any; s = s->next)
        any = s->vpp;
    if (!any)
        return;
    struct arena a = ARENA_INIT;
    Maglev__Event *e = api_build_vpp_event(&a, ch);
    for (struct sub *s = ev->subs, *sn; s; s = sn) {
        sn = s->next;
        if (s->vpp)
            deliver(s, e);
    }
    arena_free(&a);
}

/* The current state of everything, to a new subscriber. */
static bool snapshot(struct events *ev, struct sub *s)
{
    struct core *c = ev->api->core;
    const struct maglev_config *cfg = core_config(c);
    if (s->backend) {
        for (size_t i = 0; i < cfg->n_backends; i++) {
            const struct backend_rt *b = core_backend(c, i);
            if (!b)
                continue;
            const struct health_transition *t =
                b->history.len ? health_history_at(&b->history, b->history.len - 1) : NULL;
            struct arena a = ARENA_INIT;
            bool ok = deliver(s, api_build_backend_event(&a, b, t, true));
            arena_free(&a);
            if (!ok)
                return false;
        }
    }
    if (s->frontend) {
        for (size_t i = 0; i < cfg->n_frontends; i++) {
            struct core_frontend_view v;
            core_frontend(c, i, &v);
            struct lb_frontend_result r = v.result;
            struct arena a = ARENA_INIT;
            bool ok = deliver(s, api_build_frontend_event(&a, v.conf, r.state, r.state,
                                                          r.active_pool, r.panic, true));
            arena_free(&a);
            if (!ok)
                return false;
        }
    }
    return true;
}

void api_events_watch(struct api_call *call, const ProtobufCMessage *req, void *ctx)
{
    const Maglev__WatchEventsRequest *r = (const void *)req;
    struct events *ev = ((struct api *)ctx)->events;
    struct sub *s = mem_calloc(1, sizeof(*s));
    s->ev = ev;
    s->call = call;
    s->log = r->log;
    s->backend = r->backend;
    s->frontend = r->frontend;
    s->vpp = r->vpp;
    if (!s->log && !s->backend && !s->frontend && !s->vpp)
        s->log = s->backend = s->frontend = s->vpp = true;
    s->level = LOG_LEVEL_INFO;
    if (r->log_level && *r->log_level && log_level_parse(r->log_level, &s->level) < 0) {
        free(s);
        char shown[API_NAME_BUF];
        api_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
                 "log level \"%s\" is not debug, info, warn or error",
                 api_name_shown(r->log_level, shown));
        return;
    }
    s->next = ev->subs;
    ev->subs = s;
    api_call_on_cancel(call, on_cancel, s);
    log_info("watch-start", LOG_STR("peer", api_call_peer(call)), LOG_BOOL("log", s->log),
             LOG_STR("level", log_level_name(s->level)), LOG_BOOL("backend", s->backend),
             LOG_BOOL("frontend", s->frontend), LOG_BOOL("vpp", s->vpp));
    if (snapshot(ev, s))
        update_hook(ev);
}

struct events *api_events_new(struct api *api)
{
    struct events *ev = mem_calloc(1, sizeof(*ev));
    ev->api = api;
    ev->loop = core_loop(api->core);
    pthread_mutex_init(&ev->mu, NULL);
    ev_async_init(&ev->async, on_async);
    ev->async.data = ev;
    ev_async_start(ev->loop, &ev->async);
    ev->obs = (struct core_observer){
        .backend = on_backend, .frontend = on_frontend, .vpp_change = on_vpp_change, .ctx = ev
    };
    core_observe(api->core, &ev->obs);
    return ev;
}

void api_events_free(struct events *ev)
{
    if (!ev)
        return;
    if (ev->hooked)
        log_set_hook(NULL, NULL, LOG_LEVEL_ERROR);
    core_unobserve(ev->api->core, &ev->obs);
    ev_async_stop(ev->loop, &ev->async);
    while (ev->subs) {
        struct sub *s = ev->subs;
        api_call_on_cancel(s->call, NULL, NULL);
        api_fail(s->call, GRPC_STATUS_UNAVAILABLE, "maglevd is stopping");
        sub_remove(ev, s);
    }
    struct logq_item *it = ev->head;
    while (it) {
        struct logq_item *next = it->next;
        logq_free_item(it);
        it = next;
    }
    pthread_mutex_destroy(&ev->mu);
    free(ev);
}

size_t api_events_count(const struct events *ev)
{
    size_t n = 0;
    for (const struct sub *s = ev ? ev->subs : NULL; s; s = s->next)
        n++;
    return n;
}
