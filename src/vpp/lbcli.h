/* vpp/lbcli: the text of VPP's `show lb vips verbose` (cli_inband), parsed.
 * Pure: no I/O.
 *
 * VPP's binary-API dumps do not report a VIP's src_ip_sticky flag nor its
 * internal index; the CLI does. The LB plugin prints each VIP as
 *
 *      ip4-gre4 [1] 198.19.0.10/32 src_ip_sticky
 *       new_size:1024
 *       protocol:6 port:80          (only for per-port VIPs)
 *       counters:
 *         packet from existing sessions: 0
 *         first session packet: 0
 *         untracked packet: 0
 *         no server configured: 0
 *       #as:3
 *         198.18.1.2 weight:100 buckets:512 flows:0 dpo:5 used
 *
 * (format_lb_vip_detailed in VPP's src/plugins/lb/lb.c). The parser keys
 * each VIP by (prefix, protocol, port) like the dumps — protocol 255 and
 * port 0 when no protocol line follows — and takes the flag, the index and
 * the four counters. Lines it does not know are skipped; a VIP header
 * whose prefix does not parse ends the current VIP and is ignored. */
#ifndef MAGLEV_VPP_LBCLI_H
#define MAGLEV_VPP_LBCLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lb/plan.h"

#define VPP_LBCLI_COMMAND "show lb vips verbose"

enum vpp_lb_counter {
    VPP_LB_CTR_EXISTING,  /* packet from existing sessions */
    VPP_LB_CTR_FIRST,     /* first session packet */
    VPP_LB_CTR_UNTRACKED, /* untracked packet */
    VPP_LB_CTR_NO_SERVER, /* no server configured */
    VPP_LB_N_CTR,
};

struct vpp_cli_vip {
    struct lb_vip_key key;
    char type[16]; /* "ip4-gre4" ... */
    uint32_t index;
    bool src_ip_sticky;
    bool removed;
    uint32_t new_size;
    uint64_t counters[VPP_LB_N_CTR];
};

struct vpp_cli_vips {
    struct vpp_cli_vip *v;
    size_t n, cap;
};

/* Parses text (len bytes, need not be terminated). Returns 0; out is
 * reset first and must be freed with vpp_cli_vips_free. */
int vpp_lbcli_parse(const char *text, size_t len, struct vpp_cli_vips *out);
void vpp_cli_vips_free(struct vpp_cli_vips *v);
/* The entry with key k (not removed), or NULL (the entries are sorted by key). */
const struct vpp_cli_vip *vpp_cli_vips_find(const struct vpp_cli_vips *v,
                                            const struct lb_vip_key *k);

#endif
