/* vpp/stats_seg: VPP's stats segment (layout version 2), read in place.
 * Pure: works on a (pointer, size) mapping handed in; no I/O, no clock,
 * no allocation. The daemon's reader (stats.h) is built on it; the unit
 * test and the fuzzer feed it segments built in memory.
 *
 * Layout (shared/vpp/PROTOCOL.md section 8; VPP's src/vlib/stats/shared.h):
 *
 *   header at offset 0, 40 bytes, host byte order:
 *     0 version u64 (2)   8 base (VPP's address of offset 0)
 *    16 epoch u64        24 in_progress u64      32 directory_vector
 *   every pointer in the segment is VPP's address: offset = ptr - base;
 *   a vppinfra vector pointer points at element 0, its u32 length is at
 *   ptr - 8, and NULL is the empty vector;
 *   the directory is a vector of 144-byte entries: type u32, pad, a u64
 *   union (value / index / {index1, index2} / data pointer), name[128];
 *   a simple (combined) counter's data is a vector, one pointer per
 *   thread, of vectors of u64 ({u64 packets, u64 bytes}) per object.
 *
 * Safety: nothing outside [map, map + size) is ever read. Every pointer is
 * translated and checked together with the whole object read through it
 * (vector header, every element range, each per-thread vector, each
 * 144-byte entry, the name's NUL within 128 bytes); objects must lie past
 * the 40-byte header and be 8-byte aligned (VPP's allocations always are);
 * each shared value is loaded once, so a writer changing it between a
 * check and a use cannot move a read outside the mapping. There is no
 * pointer chasing beyond a fixed depth; symlinks may not point at
 * symlinks (-ELOOP), and thread counts or entry counts beyond the limits
 * below are rejected.
 *
 * Consistency is the caller's: bracket every walk with
 * vpp_stats_seg_begin / vpp_stats_seg_end (VPP's optimistic protocol) and
 * discard what was read when end fails. A walk error inside a bracket
 * whose end fails is a torn read, not a bad segment.
 *
 * Errors: -EBADMSG (a pointer or length outside the mapping, misaligned,
 * over a limit, a name without NUL), -EPROTONOSUPPORT (version is not 2),
 * -EAGAIN (VPP is changing the directory: retry), -ENOENT (no such
 * entry), -ELOOP (symlink to a symlink), -EINVAL (wrong entry type). */
#ifndef MAGLEV_VPP_STATS_SEG_H
#define MAGLEV_VPP_STATS_SEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VPP_STATS_SEG_VERSION     2
#define VPP_STATS_SEG_HDR_SIZE    40
#define VPP_STATS_SEG_ENTRY_SIZE  144
#define VPP_STATS_SEG_NAME_MAX    128 /* with the NUL */
#define VPP_STATS_SEG_MAX_THREADS 1024
#define VPP_STATS_SEG_MAX_ENTRIES (1u << 22)

/* Header field offsets. */
#define VPP_STATS_SEG_OFF_VERSION     0
#define VPP_STATS_SEG_OFF_BASE        8
#define VPP_STATS_SEG_OFF_EPOCH       16
#define VPP_STATS_SEG_OFF_IN_PROGRESS 24
#define VPP_STATS_SEG_OFF_DIRECTORY   32

/* stat_directory_type_t */
enum vpp_stats_type {
    VPP_STATS_TYPE_ILLEGAL = 0,
    VPP_STATS_TYPE_SCALAR_INDEX = 1,
    VPP_STATS_TYPE_COUNTER_SIMPLE = 2,
    VPP_STATS_TYPE_COUNTER_COMBINED = 3,
    VPP_STATS_TYPE_NAME_VECTOR = 4,
    VPP_STATS_TYPE_EMPTY = 5,
    VPP_STATS_TYPE_SYMLINK = 6,
    VPP_STATS_TYPE_HISTOGRAM_LOG2 = 7,
    VPP_STATS_TYPE_RING_BUFFER = 8,
    VPP_STATS_TYPE_GAUGE = 9,
};

struct vpp_stats_seg {
    const uint8_t *map; /* 8-byte aligned */
    size_t size;
    uint64_t version; /* as read by open */
    uint64_t base;    /* VPP's address of map[0], as read by open */
};

/* The directory as read by one vpp_stats_seg_dir call. */
struct vpp_stats_dir {
    uint64_t off; /* offset of entry 0 in the mapping (0 when n is 0) */
    uint32_t n;
};

/* A directory entry, copied out. */
struct vpp_stats_entry {
    uint32_t type;  /* enum vpp_stats_type, or anything VPP adds later */
    uint64_t value; /* the union: scalar value, data pointer, or
                     * index1 | index2 << 32 for symlinks */
    char name[VPP_STATS_SEG_NAME_MAX];
};

/* Reads version and base. -EBADMSG if size < 40 or map is misaligned,
 * -EPROTONOSUPPORT if the version is not 2 (s->version tells which). */
int vpp_stats_seg_open(struct vpp_stats_seg *s, const void *map, size_t size);

/* True when the header's version or base no longer match those read by
 * open: the segment was re-initialised; map it again. */
bool vpp_stats_seg_moved(const struct vpp_stats_seg *s);

/* Starts a read: the epoch now, -EAGAIN while in_progress is set. */
int vpp_stats_seg_begin(const struct vpp_stats_seg *s, uint64_t *epoch);
/* Ends it: 0 if nothing changed since begin, -EAGAIN if the epoch moved
 * or in_progress is set (discard what was read). */
int vpp_stats_seg_end(const struct vpp_stats_seg *s, uint64_t epoch);

/* The directory vector (re-read at every round: it moves when it grows). */
int vpp_stats_seg_dir(const struct vpp_stats_seg *s, struct vpp_stats_dir *d);
/* Entry i: -ENOENT if i >= d->n, -EBADMSG if its name has no NUL. */
int vpp_stats_seg_entry(const struct vpp_stats_seg *s, const struct vpp_stats_dir *d, uint32_t i,
                        struct vpp_stats_entry *e);
/* True if entry i exists, is not EMPTY/ILLEGAL and is named exactly name. */
bool vpp_stats_seg_is(const struct vpp_stats_seg *s, const struct vpp_stats_dir *d, uint32_t i,
                      const char *name);
/* One pass over the directory: idx[k] = index of the first live entry
 * named names[k] exactly, -1 if there is none. */
int vpp_stats_seg_lookup(const struct vpp_stats_seg *s, const struct vpp_stats_dir *d,
                         const char *const *names, size_t n, int64_t *idx);

/* A counter entry's data (words 1: simple, 2: combined): the number of
 * threads and the longest thread vector. */
int vpp_stats_seg_counter_len(const struct vpp_stats_seg *s, uint64_t data, unsigned words,
                              uint32_t *threads, uint32_t *maxlen);
/* Sums over threads: out[i * words + w] = sum of [thread][idx[i]] word w
 * (idx NULL: object i itself). An object beyond a thread's vector counts
 * 0 for that thread. out is written in any case (zeroed first). */
int vpp_stats_seg_counter_sum(const struct vpp_stats_seg *s, uint64_t data, unsigned words,
                              const uint32_t *idx, size_t n, uint64_t *out);
/* A symlink entry's value: the target entry's column index2 summed over
 * threads; *words = 1 (simple target) or 2 (combined). */
int vpp_stats_seg_symlink(const struct vpp_stats_seg *s, const struct vpp_stats_dir *d,
                          const struct vpp_stats_entry *e, uint64_t out[2], unsigned *words);

#endif
