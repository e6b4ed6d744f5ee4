/* table.c: the new-flow table model of one VIP (see table.h). */
#include "lb/table.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/mem.h"

uint32_t lb_table_len(const struct lb_vip *v)
{
    return v->flow_table_length ? v->flow_table_length : LB_NEW_FLOWS_TABLE_LENGTH;
}

static bool in_table(const struct lb_as *a)
{
    return a->active && a->weight > 0;
}

/* v's ASes as the table sees them (weight 0 = not in it). */
static struct lb_mg_as *mg_ases(const struct lb_vip *v)
{
    struct lb_mg_as *m = mem_calloc(v->n_ases, sizeof(*m));
    for (size_t i = 0; i < v->n_ases; i++) {
        m[i].addr = v->ases[i].addr;
        m[i].weight = in_table(&v->ases[i]) ? v->ases[i].weight : 0;
    }
    return m;
}

uint32_t lb_table_counts(const struct lb_vip *v, uint32_t len, uint32_t *counts)
{
    if (!lb_mg_len_ok(len))
        return UINT32_MAX;
    struct lb_mg_as *m = mg_ases(v);
    uint32_t none = lb_mg_counts(m, v->n_ases, len, counts);
    free(m);
    return none;
}

size_t lb_table_members(const struct lb_vip *v)
{
    size_t n = 0;
    for (size_t i = 0; i < v->n_ases; i++)
        n += in_table(&v->ases[i]);
    return n;
}

int lb_table_shares(const struct lb_vip *v, uint32_t len, struct lb_table_share *shares,
                    struct lb_table_model *m)
{
    if (!lb_mg_len_ok(len))
        return -EINVAL;
    struct lb_mg_as *ma = mg_ases(v);
    uint32_t *counts = mem_calloc(v->n_ases, sizeof(*counts));
    lb_mg_counts(ma, v->n_ases, len, counts);
    m->len = len;
    m->sum_weights = 0;
    for (size_t i = 0; i < v->n_ases; i++)
        m->sum_weights += ma[i].weight;
    m->error_pp = lb_mg_share_error_pp(ma, v->n_ases, counts, len);
    m->worst = -1;
    double worst = -1;
    for (size_t i = 0; i < v->n_ases; i++) {
        struct lb_table_share *s = &shares[i];
        s->buckets = counts[i];
        s->bucket_pct = 100.0 * counts[i] / len;
        s->weight_pct = m->sum_weights ? 100.0 * ma[i].weight / (double)m->sum_weights : 0;
        double gap = fabs(s->bucket_pct - s->weight_pct);
        if (ma[i].weight && gap > worst) {
            worst = gap;
            m->worst = (long)i;
        }
    }
    free(counts);
    free(ma);
    return 0;
}

bool lb_table_off(const struct lb_table_model *m)
{
    return m->worst >= 0 && m->error_pp > LB_MG_SHARE_TOLERANCE_PP;
}

const char *lb_table_warning(const struct lb_table_model *m, const struct lb_table_share *worst,
                             const char *name, size_t n_ases, char *buf, size_t len)
{
    if (!len)
        return buf;
    buf[0] = '\0';
    if (!lb_table_off(m) || !worst)
        return buf;
    char why[96];
    if (m->sum_weights > m->len)
        snprintf(why, sizeof(why), "the weights sum to %llu, more than its %u buckets",
                 (unsigned long long)m->sum_weights, m->len);
    else
        snprintf(why, sizeof(why), "%zu backends with weights summing to %llu", n_ases,
                 (unsigned long long)m->sum_weights);
    snprintf(buf, len,
             "the %u-bucket new-flow table cannot represent the weights within %.0f points "
             "(%s): backend %s has %.2f%% of the weight but gets %.2f%% of new flows "
             "(%u buckets); use fewer backends or larger weights",
             m->len, LB_MG_SHARE_TOLERANCE_PP, why, name ? name : "?", worst->weight_pct,
             worst->bucket_pct, worst->buckets);
    return buf;
}

long lb_table_mismatch(const struct lb_vip *v, const uint32_t *counts)
{
    for (size_t i = 0; i < v->n_ases; i++)
        if (v->ases[i].buckets != counts[i])
            return (long)i;
    return -1;
}

uint64_t lb_table_fingerprint(const struct lb_vip *v, uint32_t len)
{
    if (!lb_mg_len_ok(len))
        return 0;
    struct lb_mg_as *ma = mg_ases(v);
    int32_t *t = mem_calloc(len, sizeof(*t));
    lb_mg_table_alloc(ma, v->n_ases, len, t);
    uint64_t fp = lb_mg_fingerprint(ma, t, len);
    free(t);
    free(ma);
    return fp;
}
