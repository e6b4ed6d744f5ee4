/* views.c: the dashboard's JSON views of the core (docs/dashboard.md has
 * every field). Times are wall clock, milliseconds since the epoch (what
 * JavaScript's Date takes); 0 = never. Runs on the loop thread. */
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/mem.h"
#include "common/version.h"
#include "dashboard/dash_int.h"
#include "vpp/client.h"
#include "vpp/lbctr.h"
#include "vpp/sync.h"

static int64_t ms(int64_t us)
{
    return us / 1000;
}

static void kaddr(struct jw *w, const char *k, const struct ip_addr *ip)
{
    char buf[IP_ADDR_STRLEN];
    jw_kstr(w, k, ip_addr_is_set(ip) ? ip_addr_format(ip, buf, sizeof(buf)) : "");
}

void dash_view_version(struct jw *w, const struct core *c)
{
    const struct maglev_config *cfg = core_config(c);
    jw_obj(w);
    jw_kstr(w, "version", version_string());
    jw_kstr(w, "commit", version_commit());
    jw_kstr(w, "date", version_date());
    jw_kstr(w, "config", core_config_path(c));
    jw_kint(w, "started_ms", ms(core_start_us(c)));
    jw_kuint(w, "frontends", cfg->n_frontends);
    jw_kuint(w, "backends", cfg->n_backends);
    jw_obj_end(w);
}

/* The LB plugin's per-VIP packet rates of fe (packets per second), null
 * when there are none (no VPP, no stats socket, no reading yet). */
static void rates(struct jw *w, const struct core *c, const struct frontend_conf *fe)
{
    struct core_lbctr_view v;
    core_lbctr(c, &v);
    struct lb_vip_key key = lb_frontend_vip_key(fe);
    const struct lbctr_vip *x = v.enabled && v.have && v.table ? lbctr_find(v.table, &key) : NULL;
    jw_key(w, "rates");
    if (!x || !x->have) {
        jw_null(w);
        return;
    }
    jw_obj(w);
    jw_kbool(w, "known", x->rates_known);
    jw_kint(w, "sampled_ms", ms(x->wall_us));
    double total = 0;
    for (size_t k = 0; k < VPP_STATS_LB_N; k++)
        total += x->rate[k];
    jw_kdouble(w, "packets", x->rates_known ? total : 0);
    jw_kdouble(w, "existing_sessions", x->rates_known ? x->rate[VPP_STATS_LB_EXISTING] : 0);
    jw_kdouble(w, "first_session", x->rates_known ? x->rate[VPP_STATS_LB_FIRST] : 0);
    jw_kdouble(w, "untracked", x->rates_known ? x->rate[VPP_STATS_LB_UNTRACKED] : 0);
    jw_kdouble(w, "no_server", x->rates_known ? x->rate[VPP_STATS_LB_NO_SERVER] : 0);
    jw_obj_end(w);
}

static void slot(struct jw *w, const struct core *c, size_t i, size_t s,
                 const struct lb_table_share *model)
{
    struct core_slot_view sv;
    core_frontend_slot(c, i, s, &sv);
    jw_obj(w);
    jw_kstr(w, "name", sv.pb->backend);
    kaddr(w, "address", &sv.backend->address);
    jw_kstr(w, "state", health_state_name(sv.state));
    jw_kuint(w, "weight", sv.pb->weight);
    jw_kuint(w, "effective_weight", sv.effective.weight);
    jw_kbool(w, "flush", sv.effective.flush);
    jw_kbool(w, "overridden", sv.override >= 0);
    jw_kbool(w, "held", sv.held);
    jw_kstr(w, "vpp", core_vpp_status_name(sv.vpp));
    jw_kint(w, "vpp_weight", sv.vpp_weight);
    jw_kstr(w, "vpp_error", sv.vpp_error);
    jw_kuint(w, "buckets", model->buckets);
    jw_kdouble(w, "bucket_share_pct", model->bucket_pct);
    jw_obj_end(w);
}

void dash_view_frontend(struct jw *w, const struct core *c, size_t i)
{
    struct core_frontend_view v;
    core_frontend(c, i, &v);
    const struct frontend_conf *fe = v.conf;
    jw_obj(w);
    jw_kstr(w, "name", fe->name);
    jw_kstr(w, "description", fe->description);
    kaddr(w, "address", &fe->address);
    jw_kstr(w, "protocol", config_fe_protocol_name(fe->protocol));
    jw_kuint(w, "port", fe->port);
    jw_kstr(w, "state", lb_fe_state_name(v.result.state));
    jw_kstr(w, "active_pool",
            v.result.active_pool >= 0 ? fe->pools[v.result.active_pool].name : "");
    jw_kbool(w, "panic", v.result.panic);
    jw_kbool(w, "vpp_held", v.vpp_held);
    /* the table model (core_frontend_model): computed here, when the view
     * is asked for */
    struct lb_table_share *model = mem_calloc(v.n_slots, sizeof(*model));
    struct core_model_view mv;
    core_frontend_model(c, i, model, &mv);
    jw_key(w, "pools");
    jw_arr(w);
    size_t s = 0;
    for (size_t p = 0; p < fe->n_pools; p++) {
        jw_obj(w);
        jw_kstr(w, "name", fe->pools[p].name);
        jw_key(w, "backends");
        jw_arr(w);
        for (size_t b = 0; b < fe->pools[p].n_backends && s < v.n_slots; b++, s++)
            slot(w, c, i, s, &model[s]);
        jw_arr_end(w);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    free(model);
    rates(w, c, fe);
    jw_obj_end(w);
}

void dash_view_backend(struct jw *w, const struct core *c, size_t i)
{
    const struct maglev_config *cfg = core_config(c);
    const struct backend_conf *bc = &cfg->backends[i];
    const struct backend_rt *b = core_backend(c, i);
    jw_obj(w);
    jw_kstr(w, "name", bc->name);
    kaddr(w, "address", &bc->address);
    jw_kstr(w, "healthcheck", bc->healthcheck);
    jw_kstr(w, "state", health_state_name(b ? b->sm.state : BS_UNKNOWN));
    jw_kbool(w, "held", core_backend_held(c, i));
    jw_kstr(w, "last_code", b ? probe_code_name(b->last.code) : "none");
    jw_kstr(w, "last_detail", b ? b->last.detail : "");
    jw_kint(w, "last_probe_ms", b ? ms(b->last_probe_us) : 0);
    jw_kint(w, "latency_us", b ? b->last.duration_us : 0);
    jw_kuint(w, "rise", b ? b->sm.rise : 0);
    jw_kuint(w, "fall", b ? b->sm.fall : 0);
    jw_kuint(w, "counter", b ? (uint64_t)b->sm.counter : 0);
    jw_kuint(w, "probes", b ? b->probes : 0);
    jw_kuint(w, "passes", b ? b->passes : 0);
    jw_key(w, "frontends");
    jw_arr(w);
    size_t n = 0;
    const uint32_t *fes = core_backend_frontends(c, i, &n);
    for (size_t k = 0; k < n; k++)
        jw_str(w, cfg->frontends[fes[k]].name);
    jw_arr_end(w);
    jw_key(w, "history"); /* the newest DASH_HISTORY, oldest first */
    jw_arr(w);
    size_t len = b ? b->history.len : 0;
    for (size_t h = len > DASH_HISTORY ? len - DASH_HISTORY : 0; h < len; h++) {
        const struct health_transition *t = health_history_at(&b->history, h);
        jw_obj(w);
        jw_kint(w, "time_ms", ms(t->time_us));
        jw_kstr(w, "from", health_state_name(t->from));
        jw_kstr(w, "to", health_state_name(t->to));
        jw_kstr(w, "code", probe_code_name(t->code));
        jw_kstr(w, "detail", t->detail);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_obj_end(w);
}

static void lbctr(struct jw *w, const struct core *c)
{
    struct core_lbctr_view v;
    core_lbctr(c, &v);
    jw_key(w, "counters");
    jw_obj(w);
    jw_kbool(w, "enabled", v.enabled);
    jw_kstr(w, "status", !v.enabled ? "off" : !v.have ? "waiting" : v.stale ? "stale" : "ok");
    jw_kstr(w, "error", v.enabled ? v.error : "");
    jw_kint(w, "sampled_ms", v.enabled ? ms(v.sampled_us) : 0);
    jw_kuint(w, "interval_ms", v.enabled ? v.interval_ms : 0);
    jw_obj_end(w);
}

void dash_view_vpp(struct jw *w, const struct core *c)
{
    const struct vpp_sync *s = core_vpp(c);
    jw_obj(w);
    jw_kbool(w, "enabled", s != NULL);
    if (s) {
        const struct vpp_info *i = vpp_sync_info(s);
        jw_kstr(w, "state", vpp_conn_state_name(i->state));
        jw_kbool(w, "connected", vpp_sync_is_up(s));
        jw_kstr(w, "address", i->path);
        jw_kstr(w, "version", i->version);
        jw_kint(w, "connected_since_ms", ms(i->connected_since_us));
        jw_kint(w, "last_sync_ms", ms(vpp_sync_last_full_us(s)));
        jw_kstr(w, "last_error", i->last_error);
        jw_kbool(w, "dry_run", vpp_sync_dry_run(s));
        jw_kint(w, "warmup_until_ms", ms(vpp_sync_hold_until_us(s)));
        jw_kuint(w, "connects", i->connects);
        jw_kuint(w, "pending", vpp_sync_pending(s));
        lbctr(w, c);
    }
    jw_obj_end(w);
}

static void all_frontends(struct jw *w, const struct core *c)
{
    jw_key(w, "frontends");
    jw_arr(w);
    for (size_t i = 0; i < core_config(c)->n_frontends; i++)
        dash_view_frontend(w, c, i);
    jw_arr_end(w);
}

static void all_backends(struct jw *w, const struct core *c)
{
    jw_key(w, "backends");
    jw_arr(w);
    for (size_t i = 0; i < core_config(c)->n_backends; i++)
        dash_view_backend(w, c, i);
    jw_arr_end(w);
}

char *dash_view_doc(const struct core *c, const char *what, size_t *len)
{
    bool all = !strcmp(what, "state");
    if (!all && strcmp(what, "version") && strcmp(what, "frontends") && strcmp(what, "backends") &&
        strcmp(what, "vpp"))
        return NULL;
    struct jw w;
    jw_init(&w);
    jw_obj(&w);
    jw_kint(&w, "now_ms", ms(clock_wall_us()));
    if (all || !strcmp(what, "version")) {
        jw_key(&w, "version");
        dash_view_version(&w, c);
    }
    if (all || !strcmp(what, "vpp")) {
        jw_key(&w, "vpp");
        dash_view_vpp(&w, c);
    }
    if (all || !strcmp(what, "frontends"))
        all_frontends(&w, c);
    if (all || !strcmp(what, "backends"))
        all_backends(&w, c);
    jw_obj_end(&w);
    *len = w.sb.len;
    return strbuf_detach(&w.sb);
}

/* ---- fingerprints (FNV-1a over what the views show that changes) ---- */

static uint64_t mix(uint64_t h, uint64_t v)
{
    for (int k = 0; k < 8; k++) {
        h ^= (v >> (8 * k)) & 0xff;
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t dash_fp_frontend(const struct core *c, size_t i)
{
    struct core_frontend_view v;
    core_frontend(c, i, &v);
    uint64_t h = 0xcbf29ce484222325ULL;
    h = mix(h, (uint64_t)v.result.state);
    h = mix(h, (uint64_t)(int64_t)v.result.active_pool);
    h = mix(h, (uint64_t)v.result.panic << 1 | v.vpp_held);
    for (size_t s = 0; s < v.n_slots; s++) {
        struct core_slot_view sv;
        core_frontend_slot(c, i, s, &sv);
        h = mix(h, (uint64_t)sv.state | (uint64_t)sv.held << 8 | (uint64_t)sv.vpp << 16 |
                       (uint64_t)sv.effective.weight << 24 | (uint64_t)sv.effective.flush << 32 |
                       (uint64_t)(sv.override >= 0) << 33);
        h = mix(h, (uint64_t)(int64_t)sv.vpp_weight);
    }
    return h;
}

uint64_t dash_fp_backend(const struct core *c, size_t i)
{
    const struct backend_rt *b = core_backend(c, i);
    uint64_t h = 0xcbf29ce484222325ULL;
    if (!b)
        return h;
    h = mix(h, (uint64_t)b->sm.state | (uint64_t)core_backend_held(c, i) << 8);
    h = mix(h, (uint64_t)b->last_probe_us);
    return mix(h, b->history.len);
}
