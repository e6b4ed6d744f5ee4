/* The LB plugin through the VPP client: read and apply (see lb.h). */
#include "vpp/lb.h"

#include "vpp/lbcli.h"
#include "common/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *vpp_retval_name(int retval)
{
    switch (retval) {
    case 0:
        return "OK";
    case -6:
        return "NO_SUCH_ENTRY";
    case -7:
        return "INVALID_VALUE";
    case -70:
        return "INVALID_MEMORY_SIZE";
    case -73:
        return "INVALID_ARGUMENT";
    case -81:
        return "VALUE_EXIST";
    case -97:
        return "INVALID_ADDRESS_FAMILY";
    default:
        return "";
    }
}

const char *vpp_op_result_format(const struct vpp_op_result *r, char *buf, size_t len)
{
    if (r->err == -ETIMEDOUT)
        snprintf(buf, len, "no reply from VPP (timeout)");
    else if (r->err == -ENOMSG)
        snprintf(buf, len, "VPP dropped the request");
    else if (r->err == -ECONNRESET || r->err == -ENOTCONN)
        snprintf(buf, len, "VPP disconnected");
    else if (r->err)
        snprintf(buf, len, "%s", strerror(-r->err));
    else if (r->retval)
        snprintf(buf, len, "VPP error %d%s%s%s", r->retval, *vpp_retval_name(r->retval) ? " (" : "",
                 vpp_retval_name(r->retval), *vpp_retval_name(r->retval) ? ")" : "");
    else
        snprintf(buf, len, "ok");
    return buf;
}

/* ---- conversions ---- */

static void addr_from_api(const struct vppapi_address *a, struct ip_addr *out)
{
    memset(out, 0, sizeof(*out));
    if (a->af == VPPAPI_ADDRESS_IP4) {
        out->family = AF_INET;
        memcpy(out->u.bytes, a->un.ip4, 4);
    } else {
        out->family = AF_INET6;
        memcpy(out->u.bytes, a->un.ip6, 16);
    }
}

static void addr_to_api(const struct ip_addr *a, struct vppapi_address *out)
{
    memset(out, 0, sizeof(*out));
    out->af = a->family == AF_INET ? VPPAPI_ADDRESS_IP4 : VPPAPI_ADDRESS_IP6;
    memcpy(out->un.ip6, a->u.bytes, a->family == AF_INET ? 4 : 16);
}

static void key_from_api(const struct vppapi_lb_vip *v, struct lb_vip_key *k)
{
    memset(k, 0, sizeof(*k));
    addr_from_api(&v->pfx.address, &k->addr);
    k->plen = v->pfx.len;
    k->protocol = v->protocol;
    k->port = v->port;
}

/* ---- read ---- */

struct lb_read {
    struct vpp_client *c;
    vpp_lb_read_cb cb;
    void *ctx;
    int outstanding;
    int err;
    struct lb_state st;
    size_t vip_cap;
    bool have_cli; /* "show lb vips verbose" answered and parsed */
    struct vpp_cli_vips cli;
    struct lb_as_tmp {
        struct lb_vip_key key;
        struct lb_as as;
    } * ases;
    size_t n_ases, as_cap;
};

static void on_vip(void *ctx, const void *m)
{
    struct lb_read *r = ctx;
    const struct vppmsg_lb_vip_details *d = m;
    if (r->err)
        return;
    if (r->st.n_vips >= VPP_LB_READ_MAX_VIPS) {
        r->err = -E2BIG;
        return;
    }
    mem_grow((void **)&r->st.vips, &r->vip_cap, r->st.n_vips + 1, sizeof(*r->st.vips));
    struct lb_vip *v = &r->st.vips[r->st.n_vips++];
    memset(v, 0, sizeof(*v));
    key_from_api(&d->vip, &v->key);
    v->encap = d->encap;
    v->src_ip_sticky = LB_STICKY_UNKNOWN; /* the CLI may tell */
    v->flow_table_length = d->flow_table_length;
}

static void on_as(void *ctx, const void *m)
{
    struct lb_read *r = ctx;
    const struct vppmsg_lb_as_v2_details *d = m;
    if (r->err)
        return;
    if (r->n_ases >= VPP_LB_READ_MAX_ASES) {
        r->err = -E2BIG;
        return;
    }
    mem_grow((void **)&r->ases, &r->as_cap, r->n_ases + 1, sizeof(*r->ases));
    struct lb_as_tmp *t = &r->ases[r->n_ases++];
    memset(t, 0, sizeof(*t));
    key_from_api(&d->vip, &t->key);
    addr_from_api(&d->app_srv, &t->as.addr);
    t->as.weight = d->weight;
    t->as.active = d->flags & 1;
    t->as.buckets = d->num_buckets;
}

static int tmp_cmp(const void *a, const void *b)
{
    const struct lb_as_tmp *x = a, *y = b;
    int c = lb_vip_key_cmp(&x->key, &y->key);
    if (c)
        return c;
    c = ip_addr_cmp(&x->as.addr, &y->as.addr);
    if (c)
        return c;
    return (int)y->as.active - (int)x->as.active; /* active first */
}

/* Hands the ASes to their VIPs (both sorted). */
static int attach_ases(struct lb_read *r)
{
    lb_state_sort_observed(&r->st);
    if (r->n_ases)
        qsort(r->ases, r->n_ases, sizeof(*r->ases), tmp_cmp);
    size_t i = 0;
    while (i < r->n_ases) {
        size_t j = i;
        while (j < r->n_ases && lb_vip_key_cmp(&r->ases[j].key, &r->ases[i].key) == 0)
            j++;
        struct lb_vip *v = (struct lb_vip *)lb_state_find(&r->st, &r->ases[i].key);
        if (v) {
            v->ases = mem_calloc(j - i, sizeof(*v->ases));
            for (size_t k = i; k < j; k++) {
                if (v->n_ases && ip_addr_equal(&v->ases[v->n_ases - 1].addr, &r->ases[k].as.addr))
                    continue; /* the active duplicate came first */
                v->ases[v->n_ases++] = r->ases[k].as;
            }
        }
        i = j;
    }
    return 0;
}

static void read_finish(struct lb_read *r);

/* Stickiness and index from the CLI; VIPs it does not list stay unknown. */
static void apply_cli(struct lb_read *r)
{
    for (size_t i = 0; i < r->st.n_vips; i++) {
        struct lb_vip *v = &r->st.vips[i];
        const struct vpp_cli_vip *cv = vpp_cli_vips_find(&r->cli, &v->key);
        if (!cv)
            continue;
        v->src_ip_sticky = cv->src_ip_sticky ? 1 : 0;
        v->index = cv->index;
    }
}

/* cli_inband_reply: an error or a failed command only costs the flag. */
static void read_cli(void *ctx, int err, const void *reply)
{
    struct lb_read *r = ctx;
    const struct vppmsg_cli_inband_reply *c = reply;
    if (!err && c && c->retval == 0 && c->reply) {
        if (vpp_lbcli_parse(c->reply, c->reply_len, &r->cli) == 0)
            r->have_cli = true;
    } else if (err == -ECONNRESET || err == -ECANCELED) {
        if (!r->err)
            r->err = err;
    }
    if (--r->outstanding > 0)
        return;
    read_finish(r);
}

static void read_step(void *ctx, int err, const void *reply)
{
    struct lb_read *r = ctx;
    if (err && !r->err)
        r->err = err;
    if (reply) { /* lb_conf_get_reply */
        const struct vppmsg_lb_conf_get_reply *g = reply;
        if (g->retval == 0) {
            r->st.has_conf = true;
            r->st.conf.ip4_src.family = AF_INET;
            memcpy(r->st.conf.ip4_src.u.bytes, g->ip4_src_address, 4);
            r->st.conf.ip6_src.family = AF_INET6;
            memcpy(r->st.conf.ip6_src.u.bytes, g->ip6_src_address, 16);
            r->st.conf.sticky_buckets_per_core = g->sticky_buckets_per_core;
            r->st.conf.flow_timeout = g->flow_timeout;
        }
    }
    if (--r->outstanding > 0)
        return;
    read_finish(r);
}

static void read_finish(struct lb_read *r)
{
    if (!r->err)
        r->err = attach_ases(r);
    if (!r->err && r->have_cli)
        apply_cli(r);
    vpp_cli_vips_free(&r->cli);
    free(r->ases);
    if (r->err) {
        lb_state_free(&r->st);
        r->cb(r->ctx, r->err, NULL);
    } else {
        r->cb(r->ctx, 0, &r->st);
    }
    free(r);
}

int vpp_lb_read(struct vpp_client *c, vpp_lb_read_cb cb, void *ctx)
{
    if (!vpp_client_is_up(c))
        return -ENOTCONN;
    struct lb_read *r = mem_calloc(1, sizeof(*r));
    r->c = c;
    r->cb = cb;
    r->ctx = ctx;
    struct vppmsg_lb_conf_get cg;
    struct vppmsg_lb_vip_dump vd;
    struct vppmsg_lb_as_v2_dump ad;
    vppmsg_lb_conf_get_init(&cg);
    vppmsg_lb_vip_dump_init(&vd);
    vppmsg_lb_as_v2_dump_init(&ad); /* all-zero prefix: every VIP */
    int e =
        vpp_client_call(c, VPPMSG_IDX_LB_CONF_GET, &cg, VPPMSG_IDX_LB_CONF_GET_REPLY, read_step, r);
    if (e < 0) {
        free(r);
        return e;
    }
    r->outstanding = 3; /* the callbacks come from the loop, never from here */
    e = vpp_client_dump(c, VPPMSG_IDX_LB_VIP_DUMP, &vd, VPPMSG_IDX_LB_VIP_DETAILS, on_vip,
                        read_step, r);
    if (e < 0) {
        r->outstanding--;
        r->err = e;
    }
    e = vpp_client_dump(c, VPPMSG_IDX_LB_AS_V2_DUMP, &ad, VPPMSG_IDX_LB_AS_V2_DETAILS, on_as,
                        read_step, r);
    if (e < 0) {
        r->outstanding--;
        r->err = e;
    }
    /* optional: VPPs without cli_inband leave stickiness unknown */
    if (vpp_client_msg_id(c, VPPMSG_IDX_CLI_INBAND) && !r->err) {
        struct vppmsg_cli_inband ci;
        vppmsg_cli_inband_init(&ci);
        ci.cmd = (char *)VPP_LBCLI_COMMAND;
        ci.cmd_len = (uint32_t)strlen(VPP_LBCLI_COMMAND);
        r->outstanding++;
        if (vpp_client_call(c, VPPMSG_IDX_CLI_INBAND, &ci, VPPMSG_IDX_CLI_INBAND_REPLY, read_cli,
                            r) < 0)
            r->outstanding--;
    }
    return 0;
}

/* ---- apply ---- */

struct lb_apply {
    struct vpp_client *c;
    const struct lb_plan *plan;
    size_t window, next, done, in_flight, failed;
    struct vpp_op_result *res;
    vpp_lb_apply_cb cb;
    void *ctx;
    bool sending; /* inside pump(): completions are counted, not pumped */
};

struct op_ctx {
    struct lb_apply *a;
    size_t i;
};

static void op_prefix(const struct lb_vip_key *k, struct vppapi_prefix *pfx)
{
    addr_to_api(&k->addr, &pfx->address);
    pfx->len = k->plen;
}

/* The VIP of op into request m: every LB request names it by pfx, protocol
 * and port. */
#define SET_VIP(m, op)                                                                             \
    do {                                                                                           \
        op_prefix(&(op)->vip, &(m).pfx);                                                           \
        (m).protocol = (op)->vip.protocol;                                                         \
        (m).port = (op)->vip.port;                                                                 \
    } while (0)

static int send_op(struct vpp_client *c, const struct lb_op *op, vpp_reply_cb cb, void *ctx)
{
    switch (op->kind) {
    case LB_OP_CONF_SET: {
        struct vppmsg_lb_conf m;
        vppmsg_lb_conf_init(&m);
        memcpy(m.ip4_src_address, op->conf.ip4_src.u.bytes, 4);
        memcpy(m.ip6_src_address, op->conf.ip6_src.u.bytes, 16);
        m.sticky_buckets_per_core = op->conf.sticky_buckets_per_core;
        m.flow_timeout = op->conf.flow_timeout;
        return vpp_client_call(c, VPPMSG_IDX_LB_CONF, &m, VPPMSG_IDX_LB_CONF_REPLY, cb, ctx);
    }
    case LB_OP_VIP_ADD:
    case LB_OP_VIP_DEL: {
        struct vppmsg_lb_add_del_vip_v2 m;
        vppmsg_lb_add_del_vip_v2_init(&m);
        SET_VIP(m, op);
        m.encap = op->encap;
        m.new_flows_table_length = LB_NEW_FLOWS_TABLE_LENGTH;
        m.src_ip_sticky = op->src_ip_sticky;
        m.is_del = op->kind == LB_OP_VIP_DEL;
        return vpp_client_call(c, VPPMSG_IDX_LB_ADD_DEL_VIP_V2, &m,
                               VPPMSG_IDX_LB_ADD_DEL_VIP_V2_REPLY, cb, ctx);
    }
    case LB_OP_AS_ADD:
    case LB_OP_AS_DEL: {
        struct vppmsg_lb_add_del_as_v2 m;
        vppmsg_lb_add_del_as_v2_init(&m);
        SET_VIP(m, op);
        addr_to_api(&op->as, &m.as_address);
        m.weight = op->weight;
        m.is_del = op->kind == LB_OP_AS_DEL;
        m.is_flush = op->flush;
        return vpp_client_call(c, VPPMSG_IDX_LB_ADD_DEL_AS_V2, &m,
                               VPPMSG_IDX_LB_ADD_DEL_AS_V2_REPLY, cb, ctx);
    }
    case LB_OP_AS_WEIGHT: {
        struct vppmsg_lb_as_set_weight m;
        vppmsg_lb_as_set_weight_init(&m);
        SET_VIP(m, op);
        addr_to_api(&op->as, &m.as_address);
        m.weight = op->weight;
        m.is_flush = op->flush;
        return vpp_client_call(c, VPPMSG_IDX_LB_AS_SET_WEIGHT, &m,
                               VPPMSG_IDX_LB_AS_SET_WEIGHT_REPLY, cb, ctx);
    }
    }
    return -EINVAL;
}

static void pump(struct lb_apply *a);

static void finish_if_done(struct lb_apply *a)
{
    if (a->done < a->plan->n_ops || a->sending)
        return;
    a->cb(a->ctx, a->res, a->failed);
    free(a->res);
    free(a);
}

static void on_op(void *ctx, int err, const void *reply)
{
    struct op_ctx *oc = ctx;
    struct lb_apply *a = oc->a;
    struct vpp_op_result *r = &a->res[oc->i];
    free(oc);
    r->err = err;
    /* every reply used here is {id, context, retval} */
    r->retval = err ? 0 : ((const struct vppmsg_lb_conf_reply *)reply)->retval;
    if (r->err || r->retval)
        a->failed++;
    a->done++;
    a->in_flight--;
    if (!a->sending)
        pump(a);
}

static void pump(struct lb_apply *a)
{
    a->sending = true;
    while (a->next < a->plan->n_ops && a->in_flight < a->window) {
        size_t i = a->next++;
        struct op_ctx *oc = mem_alloc(sizeof(*oc));
        oc->a = a;
        oc->i = i;
        int e = send_op(a->c, &a->plan->ops[i], on_op, oc);
        if (e < 0) {
            free(oc);
            a->res[i].err = e;
            a->failed++;
            a->done++;
        } else {
            a->in_flight++;
        }
    }
    a->sending = false;
    finish_if_done(a);
}

int vpp_lb_apply(struct vpp_client *c, const struct lb_plan *plan, size_t window,
                 vpp_lb_apply_cb cb, void *ctx)
{
    if (!vpp_client_is_up(c))
        return -ENOTCONN;
    struct lb_apply *a = mem_calloc(1, sizeof(*a));
    a->res = mem_calloc(plan->n_ops, sizeof(*a->res));
    a->c = c;
    a->plan = plan;
    a->window = window ? window : 1;
    a->cb = cb;
    a->ctx = ctx;
    pump(a);
    return 0;
}

/* ---- FIB: a VIP prefix's route ---- */

struct route_lookup {
    vpp_route_cb cb;
    void *ctx;
};

static void on_route(void *ctx, int err, const void *reply)
{
    struct route_lookup *l = ctx;
    const struct vppmsg_ip_route_lookup_reply *r = reply;
    if (err)
        l->cb(l->ctx, err, 0, 0);
    else
        l->cb(l->ctx, 0, r->retval, r->retval == 0 ? r->route.stats_index : 0);
    free(l);
}

int vpp_route_lookup(struct vpp_client *c, const struct ip_addr *addr, uint8_t plen,
                     vpp_route_cb cb, void *ctx)
{
    struct route_lookup *l = malloc(sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->cb = cb;
    l->ctx = ctx;
    struct vppmsg_ip_route_lookup m;
    vppmsg_ip_route_lookup_init(&m);
    m.table_id = 0;
    m.exact = 1;
    addr_to_api(addr, &m.prefix.address);
    m.prefix.len = plen;
    int e = vpp_client_call(c, VPPMSG_IDX_IP_ROUTE_LOOKUP, &m, VPPMSG_IDX_IP_ROUTE_LOOKUP_REPLY,
                            on_route, l);
    if (e < 0)
        free(l);
    return e;
}
