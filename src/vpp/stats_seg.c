/* vpp/stats_seg: the stats segment walked in place (see stats_seg.h). */
#include "vpp/stats_seg.h"

#include <errno.h>
#include <string.h>

#define HDR   VPP_STATS_SEG_HDR_SIZE
#define ENTRY VPP_STATS_SEG_ENTRY_SIZE

/* Loads from the shared mapping: aligned (every offset is checked to be a
 * multiple of 8, the mapping is aligned), relaxed atomics, so each value
 * is read exactly once and a concurrent writer cannot tear it. */
static uint64_t ld64(const struct vpp_stats_seg *s, uint64_t off)
{
    return __atomic_load_n((const uint64_t *)(const void *)(s->map + off), __ATOMIC_RELAXED);
}

static uint32_t ld32(const struct vpp_stats_seg *s, uint64_t off)
{
    return __atomic_load_n((const uint32_t *)(const void *)(s->map + off), __ATOMIC_RELAXED);
}

static uint64_t ld64_acquire(const struct vpp_stats_seg *s, uint64_t off)
{
    return __atomic_load_n((const uint64_t *)(const void *)(s->map + off), __ATOMIC_ACQUIRE);
}

/* VPP's address vaddr -> offset of an object of len bytes, or -EBADMSG
 * unless the whole object lies in the mapping, past the header, aligned. */
static int seg_range(const struct vpp_stats_seg *s, uint64_t vaddr, uint64_t len, uint64_t *off)
{
    if (vaddr < s->base)
        return -EBADMSG;
    uint64_t o = vaddr - s->base;
    if (o < HDR || o > s->size || len > s->size - o || (o & 7))
        return -EBADMSG;
    *off = o;
    return 0;
}

/* A vppinfra vector of elements of elt bytes: its offset and length
 * (NULL: empty). The length is read once, at vaddr - 8. */
static int seg_vec(const struct vpp_stats_seg *s, uint64_t vaddr, uint64_t elt, uint64_t *off,
                   uint32_t *n)
{
    if (vaddr == 0) {
        *off = 0;
        *n = 0;
        return 0;
    }
    uint64_t h;
    if (vaddr < 8 || seg_range(s, vaddr - 8, 8, &h) < 0)
        return -EBADMSG;
    uint32_t len = ld32(s, h);
    int rc = seg_range(s, vaddr, (uint64_t)len * elt, off);
    if (rc < 0)
        return rc;
    *n = len;
    return 0;
}

int vpp_stats_seg_open(struct vpp_stats_seg *s, const void *map, size_t size)
{
    memset(s, 0, sizeof(*s));
    if (!map || size < HDR || ((uintptr_t)map & 7))
        return -EBADMSG;
    s->map = map;
    s->size = size;
    s->version = ld64(s, VPP_STATS_SEG_OFF_VERSION);
    s->base = ld64(s, VPP_STATS_SEG_OFF_BASE);
    if (s->version != VPP_STATS_SEG_VERSION)
        return -EPROTONOSUPPORT;
    return 0;
}

bool vpp_stats_seg_moved(const struct vpp_stats_seg *s)
{
    return ld64(s, VPP_STATS_SEG_OFF_VERSION) != s->version ||
           ld64(s, VPP_STATS_SEG_OFF_BASE) != s->base;
}

int vpp_stats_seg_begin(const struct vpp_stats_seg *s, uint64_t *epoch)
{
    uint64_t e = ld64_acquire(s, VPP_STATS_SEG_OFF_EPOCH);
    if (ld64_acquire(s, VPP_STATS_SEG_OFF_IN_PROGRESS) != 0)
        return -EAGAIN;
    *epoch = e;
    return 0;
}

int vpp_stats_seg_end(const struct vpp_stats_seg *s, uint64_t epoch)
{
    /* every read of the walk happens before the epoch is looked at again */
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (ld64(s, VPP_STATS_SEG_OFF_IN_PROGRESS) != 0 || ld64(s, VPP_STATS_SEG_OFF_EPOCH) != epoch)
        return -EAGAIN;
    return 0;
}

int vpp_stats_seg_dir(const struct vpp_stats_seg *s, struct vpp_stats_dir *d)
{
    uint64_t off;
    uint32_t n;
    int rc = seg_vec(s, ld64(s, VPP_STATS_SEG_OFF_DIRECTORY), ENTRY, &off, &n);
    if (rc < 0)
        return rc;
    if (n > VPP_STATS_SEG_MAX_ENTRIES)
        return -EBADMSG;
    d->off = off;
    d->n = n;
    return 0;
}

int vpp_stats_seg_entry(const struct vpp_stats_seg *s, const struct vpp_stats_dir *d, uint32_t i,
                        struct vpp_stats_entry *e)
{
    if (i >= d->n)
        return -ENOENT;
    uint64_t at = d->off + (uint64_t)i * ENTRY; /* inside: checked by seg_dir */
    e->type = ld32(s, at);
    e->value = ld64(s, at + 8);
    memcpy(e->name, s->map + at + 16, sizeof(e->name));
    if (!memchr(e->name, 0, sizeof(e->name))) {
        e->name[sizeof(e->name) - 1] = 0;
        return -EBADMSG;
    }
    return 0;
}

static bool live_type(uint32_t t)
{
    return t != VPP_STATS_TYPE_EMPTY && t != VPP_STATS_TYPE_ILLEGAL;
}

bool vpp_stats_seg_is(const struct vpp_stats_seg *s, const struct vpp_stats_dir *d, uint32_t i,
                      const char *name)
{
    size_t len = strlen(name) + 1; /* the NUL must match too */
    if (i >= d->n || len > VPP_STATS_SEG_NAME_MAX)
        return false;
    uint64_t at = d->off + (uint64_t)i * ENTRY;
    return live_type(ld32(s, at)) && memcmp(s->map + at + 16, name, len) == 0;
}

int vpp_stats_seg_lookup(const struct vpp_stats_seg *s, const struct vpp_stats_dir *d,
                         const char *const *names, size_t n, int64_t *idx)
{
    size_t left = n;
    for (size_t k = 0; k < n; k++)
        idx[k] = -1;
    for (uint32_t i = 0; i < d->n && left > 0; i++) {
        uint64_t at = d->off + (uint64_t)i * ENTRY;
        if (!live_type(ld32(s, at)))
            continue;
        const uint8_t *nm = s->map + at + 16;
        for (size_t k = 0; k < n; k++) {
            size_t len = strlen(names[k]) + 1;
            if (idx[k] < 0 && len <= VPP_STATS_SEG_NAME_MAX && nm[0] == (uint8_t)names[k][0] &&
                memcmp(nm, names[k], len) == 0) {
                idx[k] = i;
                left--;
            }
        }
    }
    return 0;
}

/* The per-thread pointer vector of a counter. */
static int seg_threads(const struct vpp_stats_seg *s, uint64_t data, uint64_t *off, uint32_t *n)
{
    int rc = seg_vec(s, data, 8, off, n);
    if (rc == 0 && *n > VPP_STATS_SEG_MAX_THREADS)
        rc = -EBADMSG;
    return rc;
}

int vpp_stats_seg_counter_len(const struct vpp_stats_seg *s, uint64_t data, unsigned words,
                              uint32_t *threads, uint32_t *maxlen)
{
    uint64_t toff;
    uint32_t nt, max = 0;
    if (words != 1 && words != 2)
        return -EINVAL;
    int rc = seg_threads(s, data, &toff, &nt);
    if (rc < 0)
        return rc;
    for (uint32_t t = 0; t < nt; t++) {
        uint64_t voff;
        uint32_t len;
        rc = seg_vec(s, ld64(s, toff + 8ull * t), 8ull * words, &voff, &len);
        if (rc < 0)
            return rc;
        if (len > max)
            max = len;
    }
    *threads = nt;
    *maxlen = max;
    return 0;
}

int vpp_stats_seg_counter_sum(const struct vpp_stats_seg *s, uint64_t data, unsigned words,
                              const uint32_t *idx, size_t n, uint64_t *out)
{
    if (words != 1 && words != 2)
        return -EINVAL;
    if (n == 0)
        return 0;
    memset(out, 0, n * words * sizeof(*out));
    uint64_t toff;
    uint32_t nt;
    int rc = seg_threads(s, data, &toff, &nt);
    if (rc < 0)
        return rc;
    for (uint32_t t = 0; t < nt; t++) {
        uint64_t voff;
        uint32_t len;
        rc = seg_vec(s, ld64(s, toff + 8ull * t), 8ull * words, &voff, &len);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < n; i++) {
            uint64_t obj = idx ? idx[i] : i;
            if (obj >= len) {
                if (!idx)
                    break; /* the rest of 0..n-1 is past this thread's end */
                continue;
            }
            for (unsigned w = 0; w < words; w++)
                out[i * words + w] += ld64(s, voff + (obj * words + w) * 8);
        }
    }
    return 0;
}

int vpp_stats_seg_symlink(const struct vpp_stats_seg *s, const struct vpp_stats_dir *d,
                          const struct vpp_stats_entry *e, uint64_t out[2], unsigned *words)
{
    if (e->type != VPP_STATS_TYPE_SYMLINK)
        return -EINVAL;
    uint32_t target = (uint32_t)e->value, column = (uint32_t)(e->value >> 32);
    struct vpp_stats_entry t;
    int rc = vpp_stats_seg_entry(s, d, target, &t);
    if (rc < 0)
        return rc == -ENOENT ? -EBADMSG : rc;
    unsigned w;
    if (t.type == VPP_STATS_TYPE_COUNTER_SIMPLE)
        w = 1;
    else if (t.type == VPP_STATS_TYPE_COUNTER_COMBINED)
        w = 2;
    else if (t.type == VPP_STATS_TYPE_SYMLINK)
        return -ELOOP;
    else
        return -EBADMSG;
    out[0] = out[1] = 0;
    rc = vpp_stats_seg_counter_sum(s, t.value, w, &column, 1, out);
    if (rc < 0)
        return rc;
    *words = w;
    return 0;
}
