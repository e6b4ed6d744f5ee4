/* dashboard.c: the dashboard's HTTP side on the metrics listeners (the
 * route of metrics_set_route), and the feed of its event streams from the
 * core's observers. See dashboard.h.
 *
 * Changes are not rendered in the observer callbacks: they mark frontends
 * and backends dirty, and a short timer (DASH_COALESCE_S) renders one
 * "update" event for all clients, so a burst of transitions costs one
 * rendering. A 1 s tick catches what no observer reports (a new probe
 * result, latency, VPP's connection, the LB counters' rates): it compares
 * fingerprints of what the page shows with those last sent. */
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/mem.h"
#include "dashboard/dash_int.h"
#include "dashboard_app_js.h"
#include "dashboard_favicon_svg.h"
#include "dashboard_index_html.h"
#include "dashboard_style_css.h"
#include "metrics/metrics.h"

/* Every answer: the page and its data come from here only, no script
 * but app.js (no inline script, no eval), and it is not framed. */
#define CSP                                                                                        \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "                    \
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

struct asset {
    const char *path, *ctype;
    const unsigned char *data;
    const size_t *len;
};

static const struct asset assets[] = {
    { "/", "text/html; charset=utf-8", dashboard_index_html, &dashboard_index_html_len },
    { "/index.html", "text/html; charset=utf-8", dashboard_index_html, &dashboard_index_html_len },
    { "/app.js", "text/javascript; charset=utf-8", dashboard_app_js, &dashboard_app_js_len },
    { "/style.css", "text/css; charset=utf-8", dashboard_style_css, &dashboard_style_css_len },
    { "/favicon.svg", "image/svg+xml", dashboard_favicon_svg, &dashboard_favicon_svg_len },
    { "/favicon.ico", "image/svg+xml", dashboard_favicon_svg, &dashboard_favicon_svg_len },
};

static void headers(struct MHD_Response *r, const char *ctype, const char *cache)
{
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
    MHD_add_response_header(r, "Content-Security-Policy", CSP);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
}

static int queue(struct MHD_Connection *conn, unsigned status, struct MHD_Response *r)
{
    if (!r)
        return MHD_NO;
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static int json(struct MHD_Connection *conn, unsigned status, char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    headers(r, "application/json; charset=utf-8", "no-store");
    return queue(conn, status, r);
}

static int api(struct dashboard *d, struct MHD_Connection *conn, const char *what)
{
    size_t len = 0;
    char *body = dash_view_doc(d->core, what, &len);
    if (body)
        return json(conn, MHD_HTTP_OK, body, len);
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "{\"error\":");
    jw_escape(&sb, "no such view: try /api/state, /api/version, /api/frontends, "
                   "/api/backends or /api/vpp");
    strbuf_addc(&sb, '}');
    len = sb.len;
    return json(conn, MHD_HTTP_NOT_FOUND, strbuf_detach(&sb), len);
}

/* "event: NAME\ndata: JSON\n\n" (the JSON has no newline). */
static struct dash_msg *event(const char *prefix, const char *name, const char *data, size_t len)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "%sevent: %s\ndata: ", prefix, name);
    strbuf_add(&sb, data, len);
    strbuf_adds(&sb, "\n\n");
    struct dash_msg *m = dash_msg_new(sb.buf, sb.len);
    strbuf_free(&sb);
    return m;
}

/* ---- what was sent: fingerprints, dirty marks ---- */

static void schedule(struct dashboard *d)
{
    d->dirty = true;
    if (d->n_clients && !ev_is_active(&d->flush)) {
        ev_timer_set(&d->flush, DASH_COALESCE_S, 0.);
        ev_timer_start(d->loop, &d->flush);
    }
}

/* The baseline is now: sized to the config, fingerprints of what a
 * snapshot taken now shows. */
static void rebase(struct dashboard *d)
{
    const struct maglev_config *cfg = core_config(d->core);
    d->n_fe = cfg->n_frontends;
    d->n_be = cfg->n_backends;
    free(d->fe_dirty);
    free(d->be_dirty);
    free(d->fe_fp);
    free(d->be_fp);
    d->fe_dirty = mem_calloc(d->n_fe, 1);
    d->be_dirty = mem_calloc(d->n_be, 1);
    d->fe_fp = mem_calloc(d->n_fe, sizeof(uint64_t));
    d->be_fp = mem_calloc(d->n_be, sizeof(uint64_t));
    for (size_t i = 0; i < d->n_fe; i++)
        d->fe_fp[i] = dash_fp_frontend(d->core, i);
    for (size_t i = 0; i < d->n_be; i++)
        d->be_fp[i] = dash_fp_backend(d->core, i);
    struct core_lbctr_view v;
    core_lbctr(d->core, &v);
    d->lbctr_seen = v.sampled_us;
    struct jw w;
    jw_init(&w);
    dash_view_vpp(&w, d->core);
    free(d->vpp_sent);
    d->vpp_sent = strbuf_detach(&w.sb);
    d->need_snapshot = false;
    d->dirty = false;
}

static bool resized(const struct dashboard *d)
{
    const struct maglev_config *cfg = core_config(d->core);
    return d->n_fe != cfg->n_frontends || d->n_be != cfg->n_backends;
}

static void send_snapshot(struct dashboard *d)
{
    size_t len = 0;
    char *doc = dash_view_doc(d->core, "state", &len);
    struct dash_msg *m = event("", "snapshot", doc, len);
    free(doc);
    dash_broadcast(d, m);
    dash_msg_unref(m);
    rebase(d);
}

/* One "update" event with every dirty frontend and backend, and VPP's
 * view when it changed; nothing when nothing did. */
static void flush(struct dashboard *d)
{
    ev_timer_stop(d->loop, &d->flush);
    if (!d->n_clients) {
        d->dirty = false;
        return;
    }
    if (d->need_snapshot || resized(d)) {
        send_snapshot(d);
        return;
    }
    struct jw v;
    jw_init(&v);
    dash_view_vpp(&v, d->core);
    bool vpp = !d->vpp_sent || strcmp(d->vpp_sent, strbuf_str(&v.sb));
    if (!d->dirty && !vpp) {
        jw_free(&v);
        return;
    }
    struct jw w;
    jw_init(&w);
    jw_obj(&w);
    jw_kint(&w, "now_ms", clock_wall_us() / 1000);
    jw_key(&w, "frontends");
    jw_arr(&w);
    for (size_t i = 0; i < d->n_fe; i++) {
        if (d->fe_dirty[i]) {
            dash_view_frontend(&w, d->core, i);
            d->fe_fp[i] = dash_fp_frontend(d->core, i);
            d->fe_dirty[i] = 0;
        }
    }
    jw_arr_end(&w);
    jw_key(&w, "backends");
    jw_arr(&w);
    for (size_t i = 0; i < d->n_be; i++) {
        if (d->be_dirty[i]) {
            dash_view_backend(&w, d->core, i);
            d->be_fp[i] = dash_fp_backend(d->core, i);
            d->be_dirty[i] = 0;
        }
    }
    jw_arr_end(&w);
    if (vpp) {
        jw_key(&w, "vpp");
        dash_view_vpp(&w, d->core);
        free(d->vpp_sent);
        d->vpp_sent = strbuf_detach(&v.sb);
    }
    jw_obj_end(&w);
    jw_free(&v);
    d->dirty = false;
    struct dash_msg *m = event("", "update", w.sb.buf, w.sb.len);
    jw_free(&w);
    dash_broadcast(d, m);
    dash_msg_unref(m);
}

static void on_flush(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    flush(t->data);
}

static void on_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)revents;
    struct dashboard *d = t->data;
    if (!d->n_clients) {
        ev_timer_stop(loop, t);
        return;
    }
    if (!d->need_snapshot && !resized(d)) {
        struct core_lbctr_view v;
        core_lbctr(d->core, &v);
        bool rates = v.sampled_us != d->lbctr_seen;
        d->lbctr_seen = v.sampled_us;
        for (size_t i = 0; i < d->n_fe; i++)
            if (rates || dash_fp_frontend(d->core, i) != d->fe_fp[i])
                d->fe_dirty[i] = 1, d->dirty = true;
        for (size_t i = 0; i < d->n_be; i++)
            if (dash_fp_backend(d->core, i) != d->be_fp[i])
                d->be_dirty[i] = 1, d->dirty = true;
    }
    flush(d);
    if (++d->ticks % DASH_KEEPALIVE == 0) { /* proxies keep an idle stream open */
        static const char ka[] = ": keep-alive\n\n";
        struct dash_msg *m = dash_msg_new(ka, sizeof(ka) - 1);
        dash_broadcast(d, m);
        dash_msg_unref(m);
    }
}

/* ---- the core's observers: mark, the flush timer renders ---- */

static void mark_fe(struct dashboard *d, size_t i)
{
    if (i < d->n_fe) {
        d->fe_dirty[i] = 1;
        schedule(d);
    }
}

static void obs_backend(void *ctx, const struct backend_rt *b, const struct health_transition *t)
{
    (void)t;
    struct dashboard *d = ctx;
    if (!d->n_clients || b->cfg_index < 0 || (size_t)b->cfg_index >= d->n_be)
        return; /* removed: the reload's snapshot follows */
    d->be_dirty[b->cfg_index] = 1;
    size_t n = 0;
    const uint32_t *fes = core_backend_frontends(d->core, (size_t)b->cfg_index, &n);
    for (size_t k = 0; k < n; k++)
        mark_fe(d, fes[k]);
    schedule(d);
}

static void obs_frontend(void *ctx, const struct frontend_conf *fe, enum fe_state from,
                         enum fe_state to, int active_pool, bool panic)
{
    (void)from;
    (void)to;
    (void)active_pool;
    (void)panic;
    struct dashboard *d = ctx;
    const struct maglev_config *cfg = core_config(d->core);
    if (d->n_clients && fe >= cfg->frontends && fe < cfg->frontends + cfg->n_frontends)
        mark_fe(d, (size_t)(fe - cfg->frontends));
}

static void obs_reloaded(void *ctx)
{
    struct dashboard *d = ctx;
    d->need_snapshot = true;
    schedule(d);
}

static void obs_vpp(void *ctx, const struct core_vpp_change *ch)
{
    struct dashboard *d = ctx;
    const struct maglev_config *cfg = core_config(d->core);
    const struct frontend_conf *fe = config_find_frontend(cfg, ch->frontend);
    if (d->n_clients && fe)
        mark_fe(d, (size_t)(fe - cfg->frontends));
}

/* ---- HTTP ---- */

static int events(struct dashboard *d, struct MHD_Connection *conn, bool head)
{
    if (d->n_clients >= DASHBOARD_MAX_CLIENTS || d->stopping || head) {
        const char *msg = head ? "" : "too many dashboard clients: close a tab and retry\n";
        struct MHD_Response *r =
            MHD_create_response_from_buffer(strlen(msg), (void *)msg, MHD_RESPMEM_PERSISTENT);
        if (!r)
            return MHD_NO;
        headers(r, head ? "text/event-stream" : "text/plain; charset=utf-8", "no-store");
        return queue(conn, head ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, r);
    }
    if (d->n_clients && (d->need_snapshot || resized(d)))
        send_snapshot(d); /* the others first: a reload is pending for them */
    else if (!d->n_clients)
        rebase(d); /* the baseline is now */
    size_t len = 0;
    char *doc = dash_view_doc(d->core, "state", &len);
    struct dash_msg *first = event("retry: 2000\n", "snapshot", doc, len);
    free(doc);
    struct MHD_Response *r = dash_client_new(d, conn, first);
    if (!r)
        return MHD_NO;
    headers(r, "text/event-stream", "no-store");
    MHD_add_response_header(r, "X-Accel-Buffering", "no"); /* nginx: do not buffer */
    if (!ev_is_active(&d->tick)) {
        ev_timer_set(&d->tick, DASH_TICK_S, DASH_TICK_S);
        ev_timer_start(d->loop, &d->tick);
    }
    return queue(conn, MHD_HTTP_OK, r);
}

static int handle(void *ctx, struct MHD_Connection *conn, const char *url, const char *method)
{
    struct dashboard *d = ctx;
    bool head = !strcmp(method, MHD_HTTP_METHOD_HEAD);
    if (!strcmp(url, "/events"))
        return events(d, conn, head);
    if (!strncmp(url, "/api/", 5))
        return api(d, conn, url + 5);
    for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]); i++) {
        const struct asset *a = &assets[i];
        if (strcmp(url, a->path))
            continue;
        struct MHD_Response *r =
            MHD_create_response_from_buffer(*a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
        if (!r)
            return MHD_NO;
        headers(r, a->ctype, "no-cache");
        return queue(conn, MHD_HTTP_OK, r);
    }
    return METRICS_ROUTE_NONE;
}

static void stop(void *ctx)
{
    struct dashboard *d = ctx;
    d->stopping = true;
    ev_timer_stop(d->loop, &d->flush);
    ev_timer_stop(d->loop, &d->tick);
    dash_close_all(d);
}

struct dashboard *dashboard_new(struct core *core, struct metrics *m)
{
    struct dashboard *d = mem_calloc(1, sizeof(*d));
    d->core = core;
    d->metrics = m;
    d->loop = core_loop(core);
    d->queue_msgs = DASH_QUEUE_MSGS;
    ev_timer_init(&d->flush, on_flush, DASH_COALESCE_S, 0.);
    d->flush.data = d;
    ev_timer_init(&d->tick, on_tick, DASH_TICK_S, DASH_TICK_S);
    d->tick.data = d;
    d->obs = (struct core_observer){ .backend = obs_backend,
                                     .frontend = obs_frontend,
                                     .reloaded = obs_reloaded,
                                     .vpp_change = obs_vpp,
                                     .ctx = d };
    core_observe(core, &d->obs);
    rebase(d);
    struct metrics_route r = { .handle = handle, .stop = stop, .ctx = d };
    metrics_set_route(m, &r);
    return d;
}

void dashboard_free(struct dashboard *d)
{
    if (!d)
        return;
    stop(d);
    core_unobserve(d->core, &d->obs);
    free(d->fe_dirty);
    free(d->be_dirty);
    free(d->fe_fp);
    free(d->be_fp);
    free(d->vpp_sent);
    free(d);
}

size_t dashboard_clients(const struct dashboard *d)
{
    return d ? d->n_clients : 0;
}

unsigned long dashboard_dropped(const struct dashboard *d)
{
    return d ? d->dropped : 0;
}

void dashboard_set_queue_msgs(struct dashboard *d, size_t n)
{
    if (d && n >= 2 && n <= DASH_QUEUE_MSGS)
        d->queue_msgs = n;
}
