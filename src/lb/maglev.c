/* maglev.c: VPP's new-flow table, exactly (see maglev.h for the rules). */
#include "lb/maglev.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"

void lb_mg_ip46(const struct ip_addr *a, uint8_t out[16])
{
    memset(out, 0, 16);
    if (a->family == AF_INET)
        memcpy(out + 12, a->u.bytes, 4);
    else if (a->family == AF_INET6)
        memcpy(out, a->u.bytes, 16);
}

static inline uint64_t rotl64(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

#define XXP1 11400714785074694791ull
#define XXP2 14029467366897019727ull
#define XXP3 1609587929392839161ull
#define XXP4 9650029242287828579ull
#define XXP5 2870177450012600261ull

uint64_t lb_mg_xxhash(uint64_t key)
{
    uint64_t k = rotl64(key * XXP2, 31) * XXP1;
    uint64_t h = 0x9e3779b97f4a7c13ull + XXP5 + 8;
    h = rotl64(h ^ k, 27) * XXP1 + XXP4;
    h = (h ^ (h >> 33)) * XXP2;
    h = (h ^ (h >> 29)) * XXP3;
    return h ^ (h >> 32);
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

void lb_mg_permutation(const uint8_t ip46[16], uint32_t replica, uint32_t len, uint32_t *offset,
                       uint32_t *skip)
{
    uint64_t seed = lb_mg_xxhash(le64(ip46) ^ le64(ip46 + 8) ^ replica);
    uint32_t mask = len - 1;
    *offset = (uint32_t)(seed >> 32) & mask;
    *skip = ((uint32_t)seed | 1u) & mask;
}

bool lb_mg_len_ok(uint32_t len)
{
    return len >= 1 && len <= LB_MG_MAX_LEN && (len & (len - 1)) == 0;
}

/* The ASes with a weight, by ip46 (what the sort of VPP's entries puts in
 * order within a replica level). */
struct live {
    uint8_t ip[16];
    uint32_t idx, w;
};

struct walk {
    uint32_t next, skip, idx;
};

static int live_cmp(const void *a, const void *b)
{
    return memcmp(((const struct live *)a)->ip, ((const struct live *)b)->ip, 16);
}

static size_t live_collect(const struct lb_mg_as *ases, size_t n, struct live *out, uint64_t *total)
{
    size_t m = 0;
    *total = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ases[i].weight)
            continue;
        lb_mg_ip46(&ases[i].addr, out[m].ip);
        out[m].idx = (uint32_t)i;
        out[m].w = ases[i].weight;
        *total += ases[i].weight;
        m++;
    }
    qsort(out, m, sizeof(*out), live_cmp);
    return m;
}

static size_t n_entries(const struct lb_mg_as *ases, size_t n, uint32_t len)
{
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++)
        w += ases[i].weight;
    return w < len ? (size_t)w : len;
}

size_t lb_mg_scratch_size(const struct lb_mg_as *ases, size_t n, uint32_t len)
{
    return n * sizeof(struct live) + n_entries(ases, n, len) * sizeof(struct walk) + 8;
}

int lb_mg_table(const struct lb_mg_as *ases, size_t n, uint32_t len, int32_t *table, void *scratch)
{
    if (!lb_mg_len_ok(len))
        return -EINVAL;
    for (uint32_t b = 0; b < len; b++)
        table[b] = LB_MG_NONE;
    struct live *live = scratch;
    uint64_t total;
    size_t m = live_collect(ases, n, live, &total);
    if (!m)
        return 0;
    struct walk *walk = (struct walk *)(live + n);
    size_t ne = 0;
    uint32_t top = 0;
    for (size_t i = 0; i < m; i++)
        top = live[i].w > top ? live[i].w : top;
    /* the sorted entries: level r, then address; the first len only */
    for (uint32_t r = 0; r < top && ne < len; r++)
        for (size_t i = 0; i < m && ne < len; i++)
            if (live[i].w > r) {
                lb_mg_permutation(live[i].ip, r, len, &walk[ne].next, &walk[ne].skip);
                walk[ne++].idx = live[i].idx;
            }
    uint32_t mask = len - 1, left = len;
    for (;;)
        for (size_t e = 0; e < ne; e++) {
            uint32_t b = walk[e].next;
            while (table[b] != LB_MG_NONE)
                b = (b + walk[e].skip) & mask;
            table[b] = (int32_t)walk[e].idx;
            walk[e].next = (b + walk[e].skip) & mask;
            if (--left == 0)
                return 0;
        }
}

int lb_mg_table_alloc(const struct lb_mg_as *ases, size_t n, uint32_t len, int32_t *table)
{
    if (!lb_mg_len_ok(len))
        return -EINVAL;
    void *scratch = mem_alloc(lb_mg_scratch_size(ases, n, len));
    int rc = lb_mg_table(ases, n, len, table, scratch);
    free(scratch);
    return rc;
}

uint32_t lb_mg_counts(const struct lb_mg_as *ases, size_t n, uint32_t len, uint32_t *counts)
{
    for (size_t i = 0; i < n; i++)
        counts[i] = 0;
    struct live *live = n ? mem_alloc(n * sizeof(*live)) : NULL;
    uint64_t total;
    size_t m = live_collect(ases, n, live, &total);
    if (!m) {
        free(live);
        return len;
    }
    uint64_t k = len / total, rem = len % total;
    for (size_t i = 0; i < m; i++)
        counts[live[i].idx] = (uint32_t)(k * live[i].w);
    /* the first rem entries of the sorted list, level by level: between
     * two distinct weights the ASes with w > r stay the same */
    uint32_t r = 0;
    size_t np = m; /* live[0..np) compacted to the ASes with w > r, in order */
    while (rem > 0) {
        uint32_t lowest = UINT32_MAX;
        for (size_t i = 0; i < np; i++)
            lowest = live[i].w < lowest ? live[i].w : lowest;
        uint64_t full = rem / np;
        if (full > lowest - r)
            full = lowest - r;
        if (full) {
            for (size_t i = 0; i < np; i++)
                counts[live[i].idx] += (uint32_t)full;
            rem -= full * np;
            r += (uint32_t)full;
        }
        if (r < lowest) { /* rem < np: a partial level */
            for (size_t i = 0; i < rem; i++)
                counts[live[i].idx]++;
            break;
        }
        size_t j = 0;
        for (size_t i = 0; i < np; i++)
            if (live[i].w > r)
                live[j++] = live[i];
        np = j;
    }
    free(live);
    return 0;
}

uint64_t lb_mg_fingerprint(const struct lb_mg_as *ases, const int32_t *table, uint32_t len)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a over the owners' ip46 */
    static const uint8_t none[16];
    for (uint32_t b = 0; b < len; b++) {
        uint8_t ip[16];
        if (table[b] == LB_MG_NONE)
            memcpy(ip, none, 16);
        else
            lb_mg_ip46(&ases[table[b]].addr, ip);
        for (int i = 0; i < 16; i++) {
            h ^= ip[i];
            h *= 0x100000001b3ull;
        }
    }
    return h ^ len;
}

/* Owners by address across both tables: a's and b's ASes, each address
 * once, sorted; an owner's counts in a and in b. */
struct owner {
    uint8_t ip[16];
    uint32_t ca, cb;
};

static int owner_cmp(const void *a, const void *b)
{
    return memcmp(((const struct owner *)a)->ip, ((const struct owner *)b)->ip, 16);
}

/* The owner of ip (there by construction) in o[0..n), sorted. */
static struct owner *owner_find(struct owner *o, size_t n, const uint8_t ip[16])
{
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(o[mid].ip, ip, 16) <= 0)
            lo = mid;
        else
            hi = mid;
    }
    return &o[lo];
}

void lb_mg_disruption(const struct lb_mg_as *a, size_t na, const int32_t *ta,
                      const struct lb_mg_as *b, size_t nb, const int32_t *tb, uint32_t len,
                      struct lb_mg_disruption *out)
{
    /* ip46 of every index, and a sorted owner list (no AS: the zero
     * address, which no AS has) */
    uint8_t(*ipa)[16] = mem_alloc((na + 1) * 16);
    uint8_t(*ipb)[16] = mem_alloc((nb + 1) * 16);
    struct owner *o = mem_calloc(na + nb + 1, sizeof(*o));
    size_t no = 0;
    for (size_t i = 0; i < na; i++) {
        lb_mg_ip46(&a[i].addr, ipa[i]);
        memcpy(o[no++].ip, ipa[i], 16);
    }
    for (size_t i = 0; i < nb; i++) {
        lb_mg_ip46(&b[i].addr, ipb[i]);
        memcpy(o[no++].ip, ipb[i], 16);
    }
    memset(ipa[na], 0, 16);
    memset(ipb[nb], 0, 16);
    memset(o[no++].ip, 0, 16);
    qsort(o, no, sizeof(*o), owner_cmp);
    size_t u = 0;
    for (size_t i = 0; i < no; i++)
        if (!u || memcmp(o[u - 1].ip, o[i].ip, 16))
            o[u++] = o[i];
    *out = (struct lb_mg_disruption){ .len = len };
    for (uint32_t k = 0; k < len; k++) {
        const uint8_t *x = ipa[ta[k] == LB_MG_NONE ? na : (size_t)ta[k]];
        const uint8_t *y = ipb[tb[k] == LB_MG_NONE ? nb : (size_t)tb[k]];
        out->moved += memcmp(x, y, 16) != 0;
        owner_find(o, u, x)->ca++;
        owner_find(o, u, y)->cb++;
    }
    for (size_t i = 0; i < u; i++)
        out->minimum += o[i].ca > o[i].cb ? o[i].ca - o[i].cb : 0;
    free(ipa);
    free(ipb);
    free(o);
}

double lb_mg_share_error_pp(const struct lb_mg_as *ases, size_t n, const uint32_t *counts,
                            uint32_t len)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += ases[i].weight;
    if (!total || !len)
        return 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ases[i].weight)
            continue;
        double e = fabs(100.0 * counts[i] / len - 100.0 * ases[i].weight / (double)total);
        worst = e > worst ? e : worst;
    }
    return worst;
}
