/* vpp/msgtable: the message table of sockclnt_create_reply (PROTOCOL.md
 * 1.4) — name_crc -> message ID — checked against the messages maglevd was
 * built for. Pure: no I/O. */
#ifndef MAGLEV_VPP_MSGTABLE_H
#define MAGLEV_VPP_MSGTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vpp/gen/vpp_msgs.h"

struct vpp_msgtable {
    uint16_t id[VPPMSG_N_MSGS]; /* 0 = not usable (missing or other CRC) */
    uint8_t by_id[65536];       /* message ID -> vppmsg index + 1, 0 = none */
    uint32_t entries;           /* entries in VPP's table */
    /* problems with the messages that were asked for, comma-separated
     * names ("lb_as_set_weight, lb_as_v2_dump"), "" when none */
    char missing[512];    /* no "<name>_" entry at all: plugin absent/too old */
    char mismatched[512]; /* "<name>_<other crc>": an incompatible definition */
    size_t n_missing, n_mismatched;
};

/* The messages maglevd cannot work without (requests and their replies or
 * details). */
bool vpp_msg_required(enum vppmsg_index i);

/* Fills t from the reply's table. Every message of vppmsg_table whose exact
 * name_crc is present gets its ID (memclnt's fixed IDs must match theirs);
 * required ones that are absent or advertised with another CRC are listed
 * in missing / mismatched. Duplicate names: the first wins. Entries
 * without a NUL within their 64 bytes are taken as the 63 first bytes.
 * Returns 0 when every required message is usable, -EPROTONOSUPPORT
 * otherwise (t is filled either way). */
int vpp_msgtable_build(struct vpp_msgtable *t, const struct vppapi_message_table_entry *entries,
                       size_t n);

/* The vppmsg index of a received message ID, or -1. */
static inline int vpp_msgtable_index(const struct vpp_msgtable *t, uint16_t id)
{
    return t->by_id[id] ? (int)t->by_id[id] - 1 : -1;
}

#endif
