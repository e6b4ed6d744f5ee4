/* desired.c: VIP keys and their text, the desired LB state of a config,
 * sorting, lookup and release of states (pure; see lb/plan.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/duration.h"
#include "common/mem.h"
#include "lb/plan.h"

int lb_vip_key_cmp(const struct lb_vip_key *a, const struct lb_vip_key *b)
{
    int c = ip_addr_cmp(&a->addr, &b->addr); /* family first, then numeric */
    if (c)
        return c;
    if (a->plen != b->plen)
        return a->plen < b->plen ? -1 : 1;
    if (a->protocol != b->protocol)
        return a->protocol < b->protocol ? -1 : 1;
    if (a->port != b->port)
        return a->port < b->port ? -1 : 1;
    return 0;
}

const char *lb_vip_key_format(const struct lb_vip_key *k, char *buf, size_t len)
{
    if (!buf || !len)
        return "";
    char a[IP_ADDR_STRLEN];
    ip_addr_format(&k->addr, a, sizeof(a));
    if (k->protocol == LB_PROTO_ANY && k->port == 0)
        snprintf(buf, len, "%s/%u any", a, (unsigned)k->plen);
    else if (k->protocol == 6)
        snprintf(buf, len, "%s/%u tcp:%u", a, (unsigned)k->plen, (unsigned)k->port);
    else if (k->protocol == 17)
        snprintf(buf, len, "%s/%u udp:%u", a, (unsigned)k->plen, (unsigned)k->port);
    else
        snprintf(buf, len, "%s/%u proto-%u:%u", a, (unsigned)k->plen, (unsigned)k->protocol,
                 (unsigned)k->port);
    return buf;
}

const char *lb_op_kind_name(enum lb_op_kind k)
{
    switch (k) {
    case LB_OP_CONF_SET:
        return "conf-set";
    case LB_OP_VIP_ADD:
        return "vip-add";
    case LB_OP_VIP_DEL:
        return "vip-del";
    case LB_OP_AS_ADD:
        return "as-add";
    case LB_OP_AS_DEL:
        return "as-del";
    case LB_OP_AS_WEIGHT:
        return "as-weight";
    }
    return "unknown";
}

const char *lb_encap_name(uint32_t encap)
{
    switch (encap) {
    case LB_ENCAP_GRE4:
        return "gre4";
    case LB_ENCAP_GRE6:
        return "gre6";
    case LB_ENCAP_L3DSR:
        return "l3dsr";
    case LB_ENCAP_NAT4:
        return "nat4";
    case LB_ENCAP_NAT6:
        return "nat6";
    default:
        return "unknown";
    }
}

struct lb_vip_key lb_frontend_vip_key(const struct frontend_conf *fe)
{
    struct lb_vip_key k;
    memset(&k, 0, sizeof(k));
    k.addr = fe->address;
    k.plen = fe->address.family == AF_INET ? 32 : 128;
    switch (fe->protocol) {
    case FE_PROTO_TCP:
        k.protocol = 6;
        k.port = fe->port;
        break;
    case FE_PROTO_UDP:
        k.protocol = 17;
        k.port = fe->port;
        break;
    default:
        k.protocol = LB_PROTO_ANY;
        k.port = 0;
        break;
    }
    return k;
}

/* A slot with its backend's address, for sorting; equal addresses keep
 * the config's order, so the first of two pool backends with one address
 * wins. */
struct slot_addr {
    const struct ip_addr *addr;
    uint32_t slot;
};

static int slot_addr_cmp(const void *a, const void *b)
{
    const struct slot_addr *x = a, *y = b;
    int c = ip_addr_cmp(x->addr, y->addr);
    if (c)
        return c;
    return x->slot < y->slot ? -1 : x->slot > y->slot;
}

size_t lb_vip_order(const struct maglev_config *cfg, size_t fe_index, uint32_t *order)
{
    const struct frontend_conf *fe = &cfg->frontends[fe_index];
    size_t slots = lb_slots(fe), n = 0, i = 0;
    struct slot_addr stack[64], *t = slots <= 64 ? stack : mem_calloc(slots, sizeof(*t));
    for (size_t p = 0; p < fe->n_pools; p++) {
        for (size_t b = 0; b < fe->pools[p].n_backends; b++, i++) {
            int bi = fe->pools[p].backends[b].backend_index;
            if (bi < 0 || (size_t)bi >= cfg->n_backends ||
                !ip_addr_is_set(&cfg->backends[bi].address))
                continue;
            t[n].addr = &cfg->backends[bi].address;
            t[n++].slot = (uint32_t)i;
        }
    }
    if (n > 1)
        qsort(t, n, sizeof(*t), slot_addr_cmp);
    size_t k = 0;
    for (size_t j = 0; j < n; j++) {
        if (j > 0 && ip_addr_equal(t[j - 1].addr, t[j].addr))
            continue; /* a duplicate address: the first in the config wins */
        order[k++] = t[j].slot;
    }
    if (t != stack)
        free(t);
    return k;
}

/* The address of slot s of fe. */
static const struct ip_addr *slot_address(const struct maglev_config *cfg,
                                          const struct frontend_conf *fe, size_t s)
{
    size_t p = 0;
    while (p < fe->n_pools && s >= fe->pools[p].n_backends)
        s -= fe->pools[p++].n_backends;
    return &cfg->backends[fe->pools[p].backends[s].backend_index].address;
}

void lb_desired_vip_ordered(const struct maglev_config *cfg, size_t fe_index,
                            const struct lb_weight *w, const uint32_t *order, size_t n,
                            struct lb_vip *v)
{
    const struct frontend_conf *fe = &cfg->frontends[fe_index];
    memset(v, 0, sizeof(*v));
    v->name = mem_strdup(fe->name ? fe->name : "");
    v->key = lb_frontend_vip_key(fe);
    v->src_ip_sticky = fe->src_ip_sticky ? 1 : 0;
    v->flow_table_length = LB_NEW_FLOWS_TABLE_LENGTH;
    v->ases = n ? mem_calloc(n, sizeof(*v->ases)) : NULL;
    for (size_t k = 0; k < n; k++) {
        struct lb_as *a = &v->ases[v->n_ases++];
        a->addr = *slot_address(cfg, fe, order[k]);
        a->weight = w[order[k]].weight;
        a->flush = w[order[k]].flush;
        a->active = true;
    }
    int fam = v->n_ases ? v->ases[0].addr.family : fe->address.family;
    v->encap = fam == AF_INET ? LB_ENCAP_GRE4 : LB_ENCAP_GRE6;
}

void lb_desired_vip(const struct maglev_config *cfg, size_t fe_index, const struct lb_weight *w,
                    struct lb_vip *v)
{
    size_t slots = lb_slots(&cfg->frontends[fe_index]);
    uint32_t stack[64], *order = slots <= 64 ? stack : mem_calloc(slots, sizeof(*order));
    size_t n = lb_vip_order(cfg, fe_index, order);
    lb_desired_vip_ordered(cfg, fe_index, w, order, n, v);
    if (order != stack)
        free(order);
}

void lb_vip_clear(struct lb_vip *v)
{
    if (!v)
        return;
    free(v->name);
    free(v->ases);
    memset(v, 0, sizeof(*v));
}

static int vip_name_cmp(const void *a, const void *b)
{
    const struct lb_vip *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : lb_vip_key_cmp(&x->key, &y->key);
}

static uint32_t seconds_of(int64_t ns)
{
    if (ns <= 0)
        return 0;
    int64_t s = ns / DURATION_SEC;
    return s > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

/* VPP always reports both source addresses; an unset one is all zeros. */
static struct ip_addr src_or_zero(const struct ip_addr *a, int family)
{
    struct ip_addr r;
    if (ip_addr_is_set(a))
        return *a;
    memset(&r, 0, sizeof(r));
    r.family = family;
    return r;
}

/* Every backend up, no override: the weights of a config at rest. The
 * states cover every backend index the frontend names (hand-made configs
 * in tests may name more than cfg has). */
static void all_up_weights(const struct maglev_config *cfg, size_t i, struct lb_weight *out)
{
    const struct frontend_conf *fe = &cfg->frontends[i];
    size_t n = cfg->n_backends;
    for (size_t p = 0; p < fe->n_pools; p++)
        for (size_t b = 0; b < fe->pools[p].n_backends; b++)
            if (fe->pools[p].backends[b].backend_index >= (int)n)
                n = (size_t)fe->pools[p].backends[b].backend_index + 1;
    enum backend_state *st = mem_calloc(n, sizeof(*st));
    for (size_t b = 0; b < n; b++)
        st[b] = BS_UP;
    lb_compute(fe, st, NULL, out);
    free(st);
}

int lb_desired_build(const struct maglev_config *cfg, lb_weights_fn weights, void *ctx,
                     struct lb_state *out)
{
    struct lb_state st;
    memset(&st, 0, sizeof(st));
    st.has_conf = true;
    st.conf.ip4_src = src_or_zero(&cfg->vpp.ipv4_src_address, AF_INET);
    st.conf.ip6_src = src_or_zero(&cfg->vpp.ipv6_src_address, AF_INET6);
    st.conf.sticky_buckets_per_core = cfg->vpp.sticky_buckets_per_core;
    st.conf.flow_timeout = seconds_of(cfg->vpp.flow_timeout);
    st.vips = cfg->n_frontends ? mem_calloc(cfg->n_frontends, sizeof(*st.vips)) : NULL;
    struct lb_weight *w = NULL;
    size_t wcap = 0;
    for (size_t i = 0; i < cfg->n_frontends; i++) {
        size_t slots = lb_slots(&cfg->frontends[i]);
        mem_grow((void **)&w, &wcap, slots ? slots : 1, sizeof(*w));
        bool held = false;
        if (weights)
            weights(ctx, i, w, &held);
        else
            all_up_weights(cfg, i, w);
        struct lb_vip *v = &st.vips[st.n_vips++];
        lb_desired_vip(cfg, i, w, v);
        v->held = held;
    }
    free(w);
    if (st.n_vips > 1)
        qsort(st.vips, st.n_vips, sizeof(*st.vips), vip_name_cmp);
    *out = st;
    return 0;
}

static int as_cmp(const void *a, const void *b)
{
    const struct lb_as *x = a, *y = b;
    int c = ip_addr_cmp(&x->addr, &y->addr);
    if (c)
        return c;
    /* duplicates (not from VPP in practice): the active one first, then by
     * content, so the order never depends on the input order */
    if (x->active != y->active)
        return x->active ? -1 : 1;
    if (x->weight != y->weight)
        return x->weight < y->weight ? -1 : 1;
    if (x->buckets != y->buckets)
        return x->buckets < y->buckets ? -1 : 1;
    return (int)x->flush - (int)y->flush;
}

static int vip_key_order(const void *a, const void *b)
{
    const struct lb_vip *x = a, *y = b;
    int c = lb_vip_key_cmp(&x->key, &y->key);
    if (c)
        return c;
    if (x->encap != y->encap)
        return x->encap < y->encap ? -1 : 1;
    if (x->n_ases != y->n_ases)
        return x->n_ases < y->n_ases ? -1 : 1;
    return 0;
}

void lb_state_sort_observed(struct lb_state *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_vips; i++)
        if (s->vips[i].n_ases > 1)
            qsort(s->vips[i].ases, s->vips[i].n_ases, sizeof(struct lb_as), as_cmp);
    if (s->n_vips > 1)
        qsort(s->vips, s->n_vips, sizeof(*s->vips), vip_key_order);
}

/* The first of n sorted elements (of size bytes) not below key. */
static size_t lower_bound(const void *base, size_t n, size_t size, const void *key,
                          int (*below)(const void *elem, const void *key))
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (below((const char *)base + mid * size, key))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int vip_below(const void *elem, const void *key)
{
    return lb_vip_key_cmp(&((const struct lb_vip *)elem)->key, key) < 0;
}

static int as_below(const void *elem, const void *key)
{
    return ip_addr_cmp(&((const struct lb_as *)elem)->addr, key) < 0;
}

size_t lb_state_vip_index(const struct lb_state *s, const struct lb_vip_key *k)
{
    return lower_bound(s->vips, s->n_vips, sizeof(*s->vips), k, vip_below);
}

const struct lb_vip *lb_state_find(const struct lb_state *observed, const struct lb_vip_key *k)
{
    if (!observed || !k)
        return NULL;
    size_t i = lb_state_vip_index(observed, k);
    if (i < observed->n_vips && lb_vip_key_cmp(&observed->vips[i].key, k) == 0)
        return &observed->vips[i];
    return NULL;
}

size_t lb_vip_as_index(const struct lb_vip *v, const struct ip_addr *a)
{
    return lower_bound(v->ases, v->n_ases, sizeof(*v->ases), a, as_below);
}

const struct lb_as *lb_vip_find_as(const struct lb_vip *v, const struct ip_addr *a)
{
    if (!v)
        return NULL;
    size_t i = lb_vip_as_index(v, a);
    return i < v->n_ases && ip_addr_equal(&v->ases[i].addr, a) ? &v->ases[i] : NULL;
}

void lb_state_free(struct lb_state *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_vips; i++) {
        free(s->vips[i].name);
        free(s->vips[i].ases);
    }
    free(s->vips);
    memset(s, 0, sizeof(*s));
}
