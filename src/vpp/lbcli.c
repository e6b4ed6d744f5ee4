/* Parser of VPP's `show lb vips verbose` text (see lbcli.h). */
#include "vpp/lbcli.h"
#include "common/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One line, without its newline, as a bounded copy. */
struct line {
    char s[256];
};

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* "198.19.0.10/32" -> address and length. */
static int parse_prefix(const char *tok, struct lb_vip_key *k)
{
    char a[IP_ADDR_STRLEN + 1];
    const char *slash = strchr(tok, '/');
    if (!slash || (size_t)(slash - tok) >= sizeof(a))
        return -EINVAL;
    memcpy(a, tok, (size_t)(slash - tok));
    a[slash - tok] = '\0';
    char *end;
    unsigned long plen = strtoul(slash + 1, &end, 10);
    if (end == slash + 1 || *end || ip_addr_parse(a, &k->addr) < 0)
        return -EINVAL;
    if (plen > (k->addr.family == AF_INET ? 32u : 128u))
        return -EINVAL;
    k->plen = (uint8_t)plen;
    k->protocol = LB_PROTO_ANY;
    k->port = 0;
    return 0;
}

/* " ip4-gre4 [1] 198.19.0.10/32 src_ip_sticky removed" */
static bool parse_header(const char *p, struct vpp_cli_vip *v)
{
    char type[32], idx[32], pfx[80], f1[32] = "", f2[32] = "";
    int n = sscanf(p, "%31s %31s %79s %31s %31s", type, idx, pfx, f1, f2);
    if (n < 3 || strncmp(type, "ip", 2) != 0 || (type[2] != '4' && type[2] != '6') ||
        type[3] != '-')
        return false;
    size_t il = strlen(idx);
    if (il < 3 || idx[0] != '[' || idx[il - 1] != ']')
        return false;
    memset(v, 0, sizeof(*v));
    snprintf(v->type, sizeof(v->type), "%.15s", type);
    char *end;
    v->index = (uint32_t)strtoul(idx + 1, &end, 10);
    if (end != idx + il - 1 || parse_prefix(pfx, &v->key) < 0)
        return false;
    v->src_ip_sticky = !strcmp(f1, "src_ip_sticky") || !strcmp(f2, "src_ip_sticky");
    v->removed = !strcmp(f1, "removed") || !strcmp(f2, "removed");
    return true;
}

static const char *const counter_names[VPP_LB_N_CTR] = {
    [VPP_LB_CTR_EXISTING] = "packet from existing sessions:",
    [VPP_LB_CTR_FIRST] = "first session packet:",
    [VPP_LB_CTR_UNTRACKED] = "untracked packet:",
    [VPP_LB_CTR_NO_SERVER] = "no server configured:",
};

/* A line inside a VIP's block. */
static void parse_detail(const char *p, struct vpp_cli_vip *v)
{
    unsigned proto, port, size;
    if (sscanf(p, "protocol:%u port:%u", &proto, &port) == 2 && proto <= 255 && port <= 65535) {
        v->key.protocol = (uint8_t)proto;
        v->key.port = (uint16_t)port;
        return;
    }
    if (sscanf(p, "new_size:%u", &size) == 1) {
        v->new_size = size;
        return;
    }
    for (int i = 0; i < VPP_LB_N_CTR; i++) {
        size_t l = strlen(counter_names[i]);
        if (!strncmp(p, counter_names[i], l)) {
            v->counters[i] = strtoull(p + l, NULL, 10);
            return;
        }
    }
}

static void push(struct vpp_cli_vips *out, const struct vpp_cli_vip *v)
{
    mem_grow((void **)&out->v, &out->cap, out->n + 1, sizeof(*out->v));
    out->v[out->n++] = *v;
}

static int cli_vip_cmp(const void *a, const void *b)
{
    const struct vpp_cli_vip *x = a, *y = b;
    int c = lb_vip_key_cmp(&x->key, &y->key);
    if (c)
        return c;
    return (int)x->removed - (int)y->removed; /* the live one first */
}

int vpp_lbcli_parse(const char *text, size_t len, struct vpp_cli_vips *out)
{
    memset(out, 0, sizeof(*out));
    struct vpp_cli_vip cur;
    bool in_vip = false;
    size_t off = 0;
    while (off < len) {
        const char *nl = memchr(text + off, '\n', len - off);
        size_t ll = nl ? (size_t)(nl - (text + off)) : len - off;
        struct line l;
        size_t cp = ll < sizeof(l.s) - 1 ? ll : sizeof(l.s) - 1;
        memcpy(l.s, text + off, cp);
        l.s[cp] = '\0';
        off += ll + (nl ? 1 : 0);
        if (memchr(l.s, '\0', cp)) /* an embedded NUL: the line is garbage */
            continue;
        const char *p = skip_ws(l.s);
        struct vpp_cli_vip next;
        if (!strncmp(p, "ip", 2) && p[2] && p[3] == '-') {
            if (in_vip)
                push(out, &cur);
            in_vip = parse_header(p, &next);
            if (in_vip)
                cur = next;
            continue;
        }
        if (in_vip)
            parse_detail(p, &cur);
    }
    if (in_vip)
        push(out, &cur);
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(*out->v), cli_vip_cmp);
    return 0;
}

void vpp_cli_vips_free(struct vpp_cli_vips *v)
{
    if (!v)
        return;
    free(v->v);
    memset(v, 0, sizeof(*v));
}

const struct vpp_cli_vip *vpp_cli_vips_find(const struct vpp_cli_vips *v,
                                            const struct lb_vip_key *k)
{
    size_t lo = 0, hi = v ? v->n : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (lb_vip_key_cmp(&v->v[mid].key, k) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (v && lo < v->n && !v->v[lo].removed && lb_vip_key_cmp(&v->v[lo].key, k) == 0)
        return &v->v[lo];
    return NULL;
}
