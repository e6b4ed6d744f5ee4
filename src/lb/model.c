/* model.c: the effect of a successful op on a sorted observed state — how
 * src/vpp/sync keeps its model of VPP's LB state between full reads
 * (pure; see lb_model_apply in lb/plan.h). */
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "lb/plan.h"

static struct lb_vip *vip_find(struct lb_state *m, const struct lb_vip_key *k)
{
    size_t i = lb_state_vip_index(m, k);
    return i < m->n_vips && lb_vip_key_cmp(&m->vips[i].key, k) == 0 ? &m->vips[i] : NULL;
}

static void vip_add(struct lb_state *m, const struct lb_op *op)
{
    size_t i = lb_state_vip_index(m, &op->vip);
    if (i < m->n_vips && lb_vip_key_cmp(&m->vips[i].key, &op->vip) == 0) {
        struct lb_vip *v = &m->vips[i]; /* VPP said yes: it is what we asked for */
        v->encap = op->encap;
        v->src_ip_sticky = op->src_ip_sticky;
        return;
    }
    m->vips = mem_realloc(m->vips, (m->n_vips + 1) * sizeof(*m->vips));
    memmove(&m->vips[i + 1], &m->vips[i], (m->n_vips - i) * sizeof(*m->vips));
    m->n_vips++;
    struct lb_vip *v = &m->vips[i];
    memset(v, 0, sizeof(*v));
    v->key = op->vip;
    v->encap = op->encap;
    v->src_ip_sticky = op->src_ip_sticky;
    v->flow_table_length = LB_NEW_FLOWS_TABLE_LENGTH;
}

static void vip_del(struct lb_state *m, const struct lb_vip_key *k)
{
    size_t i = lb_state_vip_index(m, k);
    if (i >= m->n_vips || lb_vip_key_cmp(&m->vips[i].key, k) != 0)
        return;
    free(m->vips[i].name);
    free(m->vips[i].ases);
    memmove(&m->vips[i], &m->vips[i + 1], (m->n_vips - i - 1) * sizeof(*m->vips));
    m->n_vips--;
}

static void as_set(struct lb_vip *v, const struct lb_op *op)
{
    size_t i = lb_vip_as_index(v, &op->as);
    bool found = i < v->n_ases && ip_addr_equal(&v->ases[i].addr, &op->as);
    if (op->kind == LB_OP_AS_WEIGHT || op->kind == LB_OP_AS_DEL) {
        if (!found)
            return;
        if (op->kind == LB_OP_AS_DEL) {
            v->ases[i].active = false;
            v->ases[i].weight = 0;
        } else {
            v->ases[i].weight = op->weight;
        }
        v->ases[i].flush = op->flush;
        return;
    }
    if (!found) { /* LB_OP_AS_ADD */
        v->ases = mem_realloc(v->ases, (v->n_ases + 1) * sizeof(*v->ases));
        memmove(&v->ases[i + 1], &v->ases[i], (v->n_ases - i) * sizeof(*v->ases));
        v->n_ases++;
        memset(&v->ases[i], 0, sizeof(v->ases[i]));
        v->ases[i].addr = op->as;
    }
    v->ases[i].active = true;
    v->ases[i].weight = op->weight;
    v->ases[i].flush = op->flush;
}

void lb_model_apply(struct lb_state *m, const struct lb_op *op)
{
    switch (op->kind) {
    case LB_OP_CONF_SET:
        m->has_conf = true;
        m->conf = op->conf;
        return;
    case LB_OP_VIP_ADD:
        vip_add(m, op);
        return;
    case LB_OP_VIP_DEL:
        vip_del(m, &op->vip);
        return;
    case LB_OP_AS_ADD:
    case LB_OP_AS_DEL:
    case LB_OP_AS_WEIGHT: {
        struct lb_vip *v = vip_find(m, &op->vip);
        if (v)
            as_set(v, op);
        return;
    }
    }
}

void lb_state_copy(struct lb_state *dst, const struct lb_state *src)
{
    *dst = *src;
    dst->vips = src->n_vips ? mem_calloc(src->n_vips, sizeof(*dst->vips)) : NULL;
    for (size_t i = 0; i < src->n_vips; i++) {
        struct lb_vip *d = &dst->vips[i];
        const struct lb_vip *s = &src->vips[i];
        *d = *s;
        d->name = mem_strdup(s->name);
        d->ases = s->n_ases ? mem_calloc(s->n_ases, sizeof(*d->ases)) : NULL;
        if (s->n_ases)
            memcpy(d->ases, s->ases, s->n_ases * sizeof(*d->ases));
    }
}
