/* lb_build: building lb states by hand for the unit tests of src/lb
 * (test_lb_plan, test_lb_model). Include after cmocka.h. */
#ifndef MAGLEV_TESTS_LB_BUILD_H
#define MAGLEV_TESTS_LB_BUILD_H

#include <stdlib.h>
#include <string.h>

#include "lb/plan.h"

static inline struct ip_addr ip(const char *s)
{
    struct ip_addr a;
    assert_int_equal(ip_addr_parse(s, &a), 0);
    return a;
}

static inline struct lb_vip_key key(const char *addr, uint8_t protocol, uint16_t port)
{
    struct lb_vip_key k;
    memset(&k, 0, sizeof(k));
    k.addr = ip(addr);
    k.plen = k.addr.family == AF_INET ? 32 : 128;
    k.protocol = protocol;
    k.port = port;
    return k;
}

/* Appends a VIP (name NULL for observed ones); encap -1 = from the family. */
static inline struct lb_vip *add_vip(struct lb_state *s, const char *name, const char *addr,
                                     uint8_t protocol, uint16_t port, int encap, int sticky)
{
    struct lb_vip *v = realloc(s->vips, (s->n_vips + 1) * sizeof(*v));
    assert_non_null(v);
    s->vips = v;
    v = &s->vips[s->n_vips++];
    memset(v, 0, sizeof(*v));
    v->name = name ? strdup(name) : NULL;
    v->key = key(addr, protocol, port);
    v->encap = encap >= 0                      ? (uint32_t)encap
               : v->key.addr.family == AF_INET ? LB_ENCAP_GRE4
                                               : LB_ENCAP_GRE6;
    v->src_ip_sticky = sticky;
    v->flow_table_length = LB_NEW_FLOWS_TABLE_LENGTH;
    return v;
}

static inline void add_as(struct lb_vip *v, const char *addr, uint8_t weight, bool flush,
                          bool active)
{
    struct lb_as *a = realloc(v->ases, (v->n_ases + 1) * sizeof(*a));
    assert_non_null(a);
    v->ases = a;
    a = &v->ases[v->n_ases++];
    memset(a, 0, sizeof(*a));
    a->addr = ip(addr);
    a->weight = weight;
    a->flush = flush;
    a->active = active;
    a->buckets = active ? 64 : 0;
}

#endif
