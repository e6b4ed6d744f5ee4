/* parse_lb.c: backends: and frontends: sections, with their references. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_int.h"

static const char *const backend_keys[] = { "address", "healthcheck", "enabled", "slow-start",
                                            NULL };
static const char *const frontend_keys[] = {
    "description",   "address",         "protocol", "port", "src-ip-sticky",
    "flush-on-down", "panic-threshold", "pools",    NULL,
};
static const char *const pool_keys[] = { "name", "backends", NULL };
static const char *const pool_backend_keys[] = { "weight", NULL };

static const char *family_word(int family)
{
    return family == AF_INET ? "IPv4" : "IPv6";
}

/* The required address: of map n (of name key) into *addr, its mark into
 * *mark; an error saying what it is when it is missing. Its node or NULL. */
static const struct yt_node *parse_address(struct pctx *c, const struct yt_node *key,
                                           const struct yt_node *n, const char *path,
                                           struct ip_addr *addr, struct config_mark *mark,
                                           const char *what)
{
    const struct yt_node *an = config_walk_ip(c, CONFIG_STAGE_SEMANTIC, n, path, "address", addr);
    *mark = config_mark_of(an);
    if (!an && config_walk_unset(n, "address"))
        config_err(c, CONFIG_STAGE_SEMANTIC, config_walk_req_node(n, "address", n, key), path,
                   "address is required (%s)", what);
    return an;
}

static void parse_backend(struct pctx *c, struct backend_conf *b, const struct yt_node *key,
                          const struct yt_node *bn)
{
    char path[PATH_MAX_LEN];
    config_path_fmt(path, "backends.%s", key->value);
    b->name = mem_strdup(key->value);
    b->mark = config_mark_of(key);
    b->hc_index = -1;
    b->enabled = true;
    config_walk_name(c, key, path, "backend");
    if (!config_walk_map(c, bn, path, "a backend", backend_keys))
        return;
    const struct yt_node *an = parse_address(c, key, bn, path, &b->address, &b->address_mark,
                                             "the backend's IPv4 or IPv6 address");
    config_walk_bool(c, bn, path, "enabled", &b->enabled);
    b->slow_start_set = config_walk_slow_start(c, bn, path, &b->slow_start) != NULL;
    const struct yt_node *hn = config_walk_str(c, bn, path, "healthcheck", &b->healthcheck);
    if (!hn)
        return;
    b->healthcheck_mark = config_mark_of(hn);
    const struct healthcheck_conf *hc = config_find_healthcheck(c->cfg, b->healthcheck);
    if (!hc) {
        const char **names = mem_calloc(c->cfg->n_healthchecks + 1, sizeof(*names));
        for (size_t i = 0; i < c->cfg->n_healthchecks; i++)
            names[i] = c->cfg->healthchecks[i].name;
        const char *s = config_suggest(b->healthcheck, names);
        free(names);
        config_err(c, CONFIG_STAGE_SEMANTIC, hn, path,
                   "healthcheck \"%s\" is not defined under healthchecks%s%s%s", b->healthcheck,
                   s ? "; did you mean \"" : "", s ? s : "", s ? "\"?" : "");
        return;
    }
    b->hc_index = (int)(hc - c->cfg->healthchecks);
    int fam = hc->source_address.family;
    if (fam && b->address.family && fam != b->address.family) {
        char a[IP_ADDR_STRLEN], s[IP_ADDR_STRLEN];
        config_err(c, CONFIG_STAGE_SEMANTIC, an, path,
                   "address %s is %s but healthcheck \"%s\" has the %s source-address %s; use a "
                   "healthcheck whose source-address matches the family",
                   ip_addr_format(&b->address, a, sizeof(a)), family_word(b->address.family),
                   hc->name, family_word(fam), ip_addr_format(&hc->source_address, s, sizeof(s)));
    }
}

void config_parse_backends(struct pctx *c, const struct yt_node *n)
{
    if (!config_walk_map(c, n, "backends", "backends by name", NULL) || !n || n->kind != YT_MAP)
        return;
    c->cfg->backends = mem_calloc(n->n, sizeof(struct backend_conf));
    c->cfg->n_backends = n->n;
    for (size_t i = 0; i < n->n; i++)
        parse_backend(c, &c->cfg->backends[i], n->map[i].key, n->map[i].value);
    qsort(c->cfg->backends, n->n, sizeof(struct backend_conf), config_cmp_name);
}

/* What a frontend has seen so far, to check its pools against each other. */
struct fe_seen {
    const struct backend_conf *backend;
    const struct yt_node *node;
    const char *pool;
};

struct fe_state {
    struct fe_seen *seen;
    size_t n_seen;
    int family; /* of the first backend */
    const struct yt_node *family_node;
    const char *family_backend;
};

static void check_pool_backend(struct pctx *c, struct fe_state *st, const struct yt_node *key,
                               const struct backend_conf *b, const char *path, const char *pool)
{
    char a[IP_ADDR_STRLEN];
    for (size_t i = 0; i < st->n_seen; i++) {
        const struct fe_seen *s = &st->seen[i];
        if (s->backend == b) {
            config_err(c, CONFIG_STAGE_SEMANTIC, key, path,
                       "backend \"%s\" is already in pool \"%s\" of this frontend (line %d); a "
                       "backend may appear only once per frontend",
                       b->name, s->pool, s->node->line);
            return;
        }
        if (b->address.family && ip_addr_equal(&s->backend->address, &b->address)) {
            config_err(
                c, CONFIG_STAGE_SEMANTIC, key, path,
                "backend \"%s\" has the same address %s as backend \"%s\" (line %d); VPP keys "
                "backends by address, so one frontend cannot use both",
                b->name, ip_addr_format(&b->address, a, sizeof(a)), s->backend->name,
                s->node->line);
            return;
        }
    }
    if (b->address.family) {
        if (!st->family) {
            st->family = b->address.family;
            st->family_node = key;
            st->family_backend = b->name;
        } else if (st->family != b->address.family) {
            config_err(c, CONFIG_STAGE_SEMANTIC, key, path,
                       "backend \"%s\" is %s but backend \"%s\" (line %d) is %s; all backends of a "
                       "frontend must share one address family",
                       b->name, family_word(b->address.family), st->family_backend,
                       st->family_node->line, family_word(st->family));
        }
    }
    st->seen[st->n_seen++] = (struct fe_seen){ b, key, pool };
}

static void parse_pool_backend(struct pctx *c, struct fe_state *st, struct pool_backend_conf *pb,
                               const struct yt_node *key, const struct yt_node *v,
                               const char *ppath, const char *pool)
{
    char path[PATH_MAX_LEN];
    config_path_fmt(path, "%s.backends.%s", ppath, key->value);
    pb->backend = mem_strdup(key->value);
    pb->mark = config_mark_of(key);
    pb->backend_index = -1;
    pb->weight = CONFIG_WEIGHT_MAX;
    if (config_walk_map(c, v, path, "backend settings such as {weight: 100}", pool_backend_keys)) {
        long long w;
        const struct yt_node *wn = config_walk_int(c, v, path, "weight", &w);
        if (wn && config_walk_range(c, CONFIG_STAGE_SEMANTIC, wn, path, "weight", w, 0,
                                    CONFIG_WEIGHT_MAX))
            pb->weight = (uint8_t)w;
    }
    const struct backend_conf *b = config_find_backend(c->cfg, key->value);
    if (!b) {
        const char **names = mem_calloc(c->cfg->n_backends + 1, sizeof(*names));
        for (size_t i = 0; i < c->cfg->n_backends; i++)
            names[i] = c->cfg->backends[i].name;
        const char *s = config_suggest(key->value, names);
        config_err(c, CONFIG_STAGE_SEMANTIC, key, path,
                   "backend \"%s\" is not defined under backends%s%s%s", key->value,
                   s ? "; did you mean \"" : "", s ? s : "", s ? "\"?" : "");
        free(names);
        return;
    }
    pb->backend_index = (int)(b - c->cfg->backends);
    check_pool_backend(c, st, key, b, path, pool);
}

static void parse_pool(struct pctx *c, struct fe_state *st, struct frontend_conf *fe, size_t idx,
                       const struct yt_node *pn, const char *fpath)
{
    struct pool_conf *p = &fe->pools[idx];
    char path[PATH_MAX_LEN];
    config_path_fmt(path, "%s.pools[%zu]", fpath, idx);
    p->mark = config_mark_of(pn);
    if (!config_walk_map(c, pn, path, "a pool with name and backends", pool_keys))
        return;
    const struct yt_node *nn = config_walk_str(c, pn, path, "name", &p->name);
    if (!nn) {
        if (config_walk_unset(pn, "name"))
            config_err(c, CONFIG_STAGE_SEMANTIC, config_walk_req_node(pn, "name", pn, NULL), path,
                       "name is required: give the pool a name");
    } else if (config_walk_name(c, nn, path, "pool")) {
        for (size_t i = 0; i < idx; i++)
            if (fe->pools[i].name && strcmp(fe->pools[i].name, p->name) == 0)
                config_err(
                    c, CONFIG_STAGE_SEMANTIC, nn, path,
                    "pool name \"%s\" is already used by pools[%zu]; pool names must be unique "
                    "within a frontend",
                    p->name, i);
    }
    const struct yt_node *bn = yt_map_get(pn, "backends");
    if (!config_walk_map(c, bn, path, "backends by name", NULL))
        return;
    if (config_walk_unset(pn, "backends")) {
        config_err(c, CONFIG_STAGE_SEMANTIC, config_walk_req_node(pn, "backends", pn, NULL), path,
                   "backends is required: a pool needs at least one backend");
        return;
    }
    if (bn->kind != YT_MAP || bn->n == 0) {
        config_err(c, CONFIG_STAGE_SEMANTIC, bn, path,
                   "backends is empty; a pool needs at least one backend");
        return;
    }
    p->backends = mem_calloc(bn->n, sizeof(*p->backends));
    p->n_backends = bn->n;
    st->seen = mem_realloc(st->seen, (st->n_seen + bn->n) * sizeof(*st->seen));
    for (size_t i = 0; i < bn->n; i++)
        parse_pool_backend(c, st, &p->backends[i], bn->map[i].key, bn->map[i].value, path,
                           p->name ? p->name : "?");
    qsort(p->backends, p->n_backends, sizeof(*p->backends), config_cmp_name);
}

static void parse_pools(struct pctx *c, struct frontend_conf *fe, const struct yt_node *fn,
                        const struct yt_node *key, const char *path)
{
    const struct yt_node *pools = yt_map_get(fn, "pools");
    if (!pools || (pools->kind == YT_SCALAR && pools->is_null) ||
        (pools->kind == YT_SEQ && pools->n == 0)) {
        const struct yt_node *at =
            pools && pools->kind == YT_SEQ ? pools : config_walk_req_node(fn, "pools", fn, key);
        config_err(c, CONFIG_STAGE_SEMANTIC, at, path,
                   "pools is required: an ordered list of pools, e.g. [{name: primary, backends: "
                   "{be1: {}}}]");
        return;
    }
    if (pools->kind != YT_SEQ) {
        config_err(c, CONFIG_STAGE_STRUCTURE, pools, path,
                   "pools: expected a list of pools (each \"- name: ...\"), got a %s",
                   pools->kind == YT_MAP ? "mapping" : "scalar");
        return;
    }
    fe->pools = mem_calloc(pools->n, sizeof(*fe->pools));
    fe->n_pools = pools->n;
    struct fe_state st = { 0 };
    for (size_t i = 0; i < pools->n; i++)
        parse_pool(c, &st, fe, i, pools->seq[i], path);
    free(st.seen);
}

static void parse_proto_port(struct pctx *c, struct frontend_conf *fe, const struct yt_node *fn,
                             const char *path)
{
    long long port = 0;
    const struct yt_node *pn = config_walk_int(c, fn, path, "port", &port);
    if (pn && config_walk_range(c, CONFIG_STAGE_SEMANTIC, pn, path, "port", port, 0, 65535))
        fe->port = (uint16_t)port;
    char *proto = NULL;
    const struct yt_node *prn = config_walk_str(c, fn, path, "protocol", &proto);
    if (prn) {
        if (strcmp(proto, "tcp") == 0)
            fe->protocol = FE_PROTO_TCP;
        else if (strcmp(proto, "udp") == 0)
            fe->protocol = FE_PROTO_UDP;
        else
            config_err(c, CONFIG_STAGE_SEMANTIC, prn, path, "protocol \"%s\" is not tcp or udp",
                       proto);
        if (fe->protocol != FE_PROTO_ANY && pn && port == 0) {
            config_err(c, CONFIG_STAGE_SEMANTIC, prn, path,
                       "protocol %s has no effect with port 0 (a VIP on all ports takes every "
                       "protocol); remove protocol or set a port",
                       proto);
            fe->protocol = FE_PROTO_ANY;
        }
        if (!pn && config_walk_unset(fn, "port"))
            config_err(c, CONFIG_STAGE_SEMANTIC, prn, path,
                       "protocol %s needs a port; set port (or remove protocol and use port 0 for "
                       "all ports)",
                       proto);
    } else if (pn && port != 0 && config_walk_unset(fn, "protocol")) {
        config_err(c, CONFIG_STAGE_SEMANTIC, pn, path, "port %lld needs a protocol: tcp or udp",
                   port);
    }
    free(proto);
}

static void parse_frontend(struct pctx *c, struct frontend_conf *fe, const struct yt_node *key,
                           const struct yt_node *fn)
{
    char path[PATH_MAX_LEN];
    config_path_fmt(path, "frontends.%s", key->value);
    fe->name = mem_strdup(key->value);
    fe->mark = config_mark_of(key);
    fe->flush_on_down = true;
    config_walk_name(c, key, path, "frontend");
    if (!config_walk_map(c, fn, path, "a frontend", frontend_keys))
        return;
    const struct yt_node *v;
    if ((v = config_walk_str(c, fn, path, "description", &fe->description)))
        config_walk_token(c, v, path, "description", fe->description, true);
    parse_address(c, key, fn, path, &fe->address, &fe->address_mark,
                  "the VIP: an IPv4 or IPv6 address");
    parse_proto_port(c, fe, fn, path);
    config_walk_bool(c, fn, path, "src-ip-sticky", &fe->src_ip_sticky);
    config_walk_bool(c, fn, path, "flush-on-down", &fe->flush_on_down);
    config_walk_percent(c, fn, path, "panic-threshold", &fe->panic_threshold);
    parse_pools(c, fe, fn, key, path);
}

static int cmp_vip(const void *a, const void *b)
{
    const struct frontend_conf *x = *(const struct frontend_conf *const *)a;
    const struct frontend_conf *y = *(const struct frontend_conf *const *)b;
    int r = ip_addr_cmp(&x->address, &y->address);
    if (!r)
        r = (int)x->protocol - (int)y->protocol;
    if (!r)
        r = (int)x->port - (int)y->port;
    if (!r)
        r = x->mark.line - y->mark.line;
    return r;
}

static bool same_vip(const struct frontend_conf *x, const struct frontend_conf *y)
{
    return ip_addr_equal(&x->address, &y->address) && x->protocol == y->protocol &&
           x->port == y->port;
}

/* Two frontends may not program the same VIP (address, protocol, port). */
static void check_vips(struct pctx *c)
{
    size_t n = c->cfg->n_frontends;
    const struct frontend_conf **v = mem_calloc(n, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = &c->cfg->frontends[i];
    qsort(v, n, sizeof(*v), cmp_vip);
    for (size_t i = 1; i < n; i++) {
        if (!v[i]->address.family || !same_vip(v[i - 1], v[i]))
            continue;
        char a[IP_ADDR_STRLEN], where[PATH_MAX_LEN];
        config_path_fmt(where, "frontends.%s", v[i]->name);
        config_diag_add(c->d, CONFIG_STAGE_SEMANTIC, v[i]->address_mark, where,
                        "VIP %s %s port %u is already used by frontend \"%s\" (line %d); each "
                        "frontend needs its own address, protocol and port",
                        ip_addr_format(&v[i]->address, a, sizeof(a)),
                        config_fe_protocol_name(v[i]->protocol), v[i]->port, v[i - 1]->name,
                        v[i - 1]->mark.line);
    }
    free(v);
}

void config_parse_frontends(struct pctx *c, const struct yt_node *n)
{
    if (!config_walk_map(c, n, "frontends", "frontends by name", NULL) || !n || n->kind != YT_MAP)
        return;
    c->cfg->frontends = mem_calloc(n->n, sizeof(struct frontend_conf));
    c->cfg->n_frontends = n->n;
    for (size_t i = 0; i < n->n; i++)
        parse_frontend(c, &c->cfg->frontends[i], n->map[i].key, n->map[i].value);
    qsort(c->cfg->frontends, n->n, sizeof(struct frontend_conf), config_cmp_name);
    check_vips(c);
}
