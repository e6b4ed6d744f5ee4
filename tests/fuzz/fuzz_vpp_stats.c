/* libFuzzer target: any bytes taken as VPP's stats segment must never make
 * the reader read outside the mapping (ASan: the input is copied to a heap
 * block of exactly its size), crash, hang or leak.
 *
 * The header's version and base are pinned (2 and FUZZ_BASE, the base the
 * seed generator gen_stats_corpus.py uses): every pointer in the segment
 * is base + offset, so a fuzzed base would send every pointer out of range
 * and the walk would never get past the directory. The version check is
 * covered by the unit test. The last 16 bytes also pick four
 * /net/route/to indexes. Through the reader (vpp_stats_read_lb/route/
 * heartbeat on an attached mapping) and then the pure walk on every entry
 * (entries, names, symlinks, counters). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vpp/stats.h"
#include "vpp/stats_seg.h"

#define FUZZ_BASE 0x7f3a12000000ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

static void through_reader(struct vpp_stats *s, const uint8_t *seg, size_t size)
{
    if (vpp_stats_attach(s, seg, size) < 0)
        return;
    struct vpp_lb_counters c = { 0 };
    int rc = vpp_stats_read_lb(s, &c);
    check(rc == 0 || rc == -EBADMSG || rc == -EAGAIN || rc == -ENOMEM);
    if (rc == 0)
        check(c.n <= size / 8 && (c.n == 0 || c.present));
    vpp_lb_counters_free(&c);

    uint32_t idx[4] = { 0, 1, 1000, 0xffffffffu };
    if (size >= 56)
        memcpy(idx, seg + size - 16, sizeof(idx));
    uint64_t p[4], b[4];
    rc = vpp_stats_read_route(s, idx, 4, p, b);
    check(rc == 0 || rc == -EBADMSG || rc == -EAGAIN || rc == -ENOENT || rc == -ENOMEM);
    uint64_t hb;
    rc = vpp_stats_read_heartbeat(s, &hb);
    check(rc == 0 || rc == -EBADMSG || rc == -EAGAIN || rc == -ENOENT);
    check(vpp_stats_error(s) != NULL);
}

static void walk_entry(const struct vpp_stats_seg *g, const struct vpp_stats_dir *d, uint32_t i)
{
    struct vpp_stats_entry e;
    if (vpp_stats_seg_entry(g, d, i, &e) < 0)
        return;
    check(memchr(e.name, 0, sizeof(e.name)) != NULL);
    if (e.name[0])
        check(vpp_stats_seg_is(g, d, i, e.name) ==
              (e.type != VPP_STATS_TYPE_EMPTY && e.type != VPP_STATS_TYPE_ILLEGAL));
    uint64_t out[8];
    unsigned words;
    if (e.type == VPP_STATS_TYPE_SYMLINK) {
        int rc = vpp_stats_seg_symlink(g, d, &e, out, &words);
        check(rc == 0 || rc == -EBADMSG || rc == -ELOOP);
    } else if (e.type == VPP_STATS_TYPE_COUNTER_SIMPLE ||
               e.type == VPP_STATS_TYPE_COUNTER_COMBINED) {
        words = e.type == VPP_STATS_TYPE_COUNTER_SIMPLE ? 1 : 2;
        uint32_t threads, maxlen;
        if (vpp_stats_seg_counter_len(g, e.value, words, &threads, &maxlen) == 0) {
            check(threads <= VPP_STATS_SEG_MAX_THREADS && maxlen <= g->size / 8);
            uint32_t idx[4] = { 0, maxlen ? maxlen - 1 : 0, maxlen, i };
            check(vpp_stats_seg_counter_sum(g, e.value, words, idx, 4, out) == 0);
            check(vpp_stats_seg_counter_sum(g, e.value, words, NULL, maxlen < 4 ? maxlen : 4,
                                            out) == 0);
        } else {
            check(vpp_stats_seg_counter_sum(g, e.value, words, NULL, 1, out) == -EBADMSG);
        }
    }
}

static void pure_walk(const uint8_t *seg, size_t size)
{
    struct vpp_stats_seg g;
    struct vpp_stats_dir d;
    uint64_t epoch;
    if (vpp_stats_seg_open(&g, seg, size) < 0)
        return;
    check(!vpp_stats_seg_moved(&g));
    if (vpp_stats_seg_begin(&g, &epoch) == 0)
        check(vpp_stats_seg_end(&g, epoch) == 0);
    if (vpp_stats_seg_dir(&g, &d) < 0)
        return;
    check(d.n == 0 || (d.off >= VPP_STATS_SEG_HDR_SIZE &&
                       d.off + (uint64_t)d.n * VPP_STATS_SEG_ENTRY_SIZE <= size));
    const char *names[3] = { "/sys/heartbeat", "/net/route/to", "first session packet" };
    int64_t idx[3];
    check(vpp_stats_seg_lookup(&g, &d, names, 3, idx) == 0);
    for (int k = 0; k < 3; k++)
        check(idx[k] < 0 || vpp_stats_seg_is(&g, &d, (uint32_t)idx[k], names[k]));
    for (uint32_t i = 0; i < d.n && i < 4096; i++)
        walk_entry(&g, &d, i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vpp_stats *s;
    if (!s) {
        struct vpp_stats_opts o = { .spin_us = -1, .attempts = 1, .heartbeat_timeout = -1 };
        s = vpp_stats_new(NULL, &o);
        if (!s)
            abort();
    }
    /* exactly size bytes (malloc aligns to 16): ASan sees any over-read */
    uint8_t *seg = malloc(size ? size : 1);
    if (!seg)
        return 0;
    memcpy(seg, data, size);
    if (size >= 16) {
        uint64_t v = VPP_STATS_SEG_VERSION, base = FUZZ_BASE;
        memcpy(seg, &v, 8);
        memcpy(seg + 8, &base, 8);
    }
    through_reader(s, seg, size);
    pure_walk(seg, size);
    vpp_stats_disconnect(s);
    free(seg);
    return 0;
}
