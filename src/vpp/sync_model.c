/* sync_model.c: every read of VPP's LB state is checked against the table
 * model (lb/table.h): VPP's bucket counts per AS must be those of its own
 * weights. A difference means VPP builds its table with another algorithm
 * than the one maglevd models (its views and fleet fingerprints would be
 * wrong): logged once per VPP connection. */
#include <stdlib.h>

#include "common/log.h"
#include "common/mem.h"
#include "lb/table.h"
#include "vpp/sync_int.h"

/* The frontend with VIP key k in desired (by name, so a scan: only on the
 * one mismatch logged), or "". */
static const char *frontend_of(const struct lb_state *desired, const struct lb_vip_key *k)
{
    for (size_t i = 0; desired && i < desired->n_vips; i++)
        if (lb_vip_key_cmp(&desired->vips[i].key, k) == 0)
            return desired->vips[i].name ? desired->vips[i].name : "";
    return "";
}

void vpp_sync_model_check(struct vpp_sync *s, const struct lb_state *observed,
                          const struct lb_state *desired)
{
    if (s->model_warned)
        return;
    uint32_t *counts = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < observed->n_vips; i++) {
        const struct lb_vip *v = &observed->vips[i];
        if (!v->n_ases)
            continue;
        mem_grow((void **)&counts, &cap, v->n_ases, sizeof(*counts));
        if (lb_table_counts(v, v->flow_table_length, counts) == UINT32_MAX)
            continue; /* not a table length VPP builds: nothing to compare */
        long k = lb_table_mismatch(v, counts);
        if (k < 0)
            continue;
        char vip[96], as[IP_ADDR_STRLEN];
        log_warn("vpp-lb-model-mismatch", LOG_STR("frontend", frontend_of(desired, &v->key)),
                 LOG_STR("vip", lb_vip_key_format(&v->key, vip, sizeof(vip))),
                 LOG_STR("address", ip_addr_format(&v->ases[k].addr, as, sizeof(as))),
                 LOG_UINT("vpp-buckets", v->ases[k].buckets), LOG_UINT("model-buckets", counts[k]),
                 LOG_UINT("table-length", v->flow_table_length));
        s->model_warned = true;
        break;
    }
    free(counts);
}
