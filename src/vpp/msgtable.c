#include "vpp/msgtable.h"

#include <errno.h>
#include <string.h>

bool vpp_msg_required(enum vppmsg_index i)
{
    switch (i) {
    case VPPMSG_IDX_SOCKCLNT_DELETE:
    case VPPMSG_IDX_SOCKCLNT_DELETE_REPLY:
    case VPPMSG_IDX_CONTROL_PING:
    case VPPMSG_IDX_CONTROL_PING_REPLY:
    case VPPMSG_IDX_SHOW_VERSION:
    case VPPMSG_IDX_SHOW_VERSION_REPLY:
    case VPPMSG_IDX_LB_CONF:
    case VPPMSG_IDX_LB_CONF_REPLY:
    case VPPMSG_IDX_LB_CONF_GET:
    case VPPMSG_IDX_LB_CONF_GET_REPLY:
    case VPPMSG_IDX_LB_ADD_DEL_VIP_V2:
    case VPPMSG_IDX_LB_ADD_DEL_VIP_V2_REPLY:
    case VPPMSG_IDX_LB_ADD_DEL_AS_V2:
    case VPPMSG_IDX_LB_ADD_DEL_AS_V2_REPLY:
    case VPPMSG_IDX_LB_AS_SET_WEIGHT:
    case VPPMSG_IDX_LB_AS_SET_WEIGHT_REPLY:
    case VPPMSG_IDX_LB_VIP_DUMP:
    case VPPMSG_IDX_LB_VIP_DETAILS:
    case VPPMSG_IDX_LB_AS_V2_DUMP:
    case VPPMSG_IDX_LB_AS_V2_DETAILS:
        return true;
    default:
        return false;
    }
}

static void list_add(char *list, size_t cap, size_t *n, const char *name)
{
    size_t used = strlen(list);
    if (*n > 0 && used + 2 < cap) {
        memcpy(list + used, ", ", 3);
        used += 2;
    }
    if (used + strlen(name) + 1 < cap)
        memcpy(list + used, name, strlen(name) + 1);
    (*n)++;
}

/* "<name>_<8 hex>": length of <name>, or 0 when the entry has no CRC suffix. */
static size_t base_len(const char *s, size_t len)
{
    if (len < 10 || s[len - 9] != '_')
        return 0;
    for (size_t i = len - 8; i < len; i++) {
        char ch = s[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return 0;
    }
    return len - 9;
}

int vpp_msgtable_build(struct vpp_msgtable *t, const struct vppapi_message_table_entry *entries,
                       size_t n)
{
    /* seen[i]: 0 none, 1 some other CRC, 2 exact */
    uint8_t seen[VPPMSG_N_MSGS] = { 0 };
    memset(t, 0, sizeof(*t));
    t->entries = (uint32_t)n;
    for (size_t e = 0; e < n; e++) {
        const char *name = entries[e].name;
        size_t len = strnlen(name, sizeof(entries[e].name) - 1);
        size_t bl = base_len(name, len);
        if (!bl)
            continue;
        for (int i = 0; i < VPPMSG_N_MSGS; i++) {
            const struct vppmsg_desc *d = &vppmsg_table[i];
            if (strlen(d->name) != bl || memcmp(d->name, name, bl) != 0)
                continue;
            bool exact = strlen(d->name_crc) == len && memcmp(d->name_crc, name, len) == 0;
            uint16_t id = entries[e].index;
            if (exact && seen[i] != 2 && id != 0 && (!d->fixed_id || d->fixed_id == id) &&
                !t->by_id[id]) {
                seen[i] = 2;
                t->id[i] = id;
                t->by_id[id] = (uint8_t)(i + 1);
            } else if (!seen[i]) {
                seen[i] = 1;
            }
        }
    }
    for (int i = 0; i < VPPMSG_N_MSGS; i++) {
        if (!vpp_msg_required((enum vppmsg_index)i) || seen[i] == 2)
            continue;
        if (seen[i] == 1)
            list_add(t->mismatched, sizeof(t->mismatched), &t->n_mismatched,
                     vppmsg_table[i].name_crc);
        else
            list_add(t->missing, sizeof(t->missing), &t->n_missing, vppmsg_table[i].name);
    }
    return t->n_missing || t->n_mismatched ? -EPROTONOSUPPORT : 0;
}
