/* vpp/stats: maglevd's reader of VPP's stats segment — the LB plugin's four
 * per-VIP counters, /net/route/to (packets and bytes per FIB entry) and
 * /sys/heartbeat. No thread, no libev: plain calls that never block for
 * long, for the daemon's loop thread.
 *
 * How it gets the segment (shared/vpp/PROTOCOL.md 8.1): connect an
 * AF_UNIX SOCK_SEQPACKET socket to VPP's stats socket (default
 * /run/vpp/stats.sock); VPP sends one empty message carrying the memfd of
 * the segment (SCM_RIGHTS) and closes; the reader fstat()s and maps it
 * read-only (MAP_SHARED). The socket is non-blocking: connect on a local
 * socket is immediate, and if VPP has not sent the fd yet the reader waits
 * for it at most connect_wait_ms, then returns -EINPROGRESS and picks it
 * up on the next call (a connect pending for 5 s is abandoned).
 *
 * How it reads (PROTOCOL.md 8.5): VPP's optimistic protocol — epoch, wait
 * while in_progress, walk and copy out, epoch and in_progress again; a
 * changed epoch means retry. The wait on in_progress spins at most
 * spin_us in total per call (default 100 µs) and a read is tried at most
 * attempts times (default 3); then the call returns -EAGAIN ("busy,
 * retry later") instead of waiting. Directory indexes of the names it
 * needs are cached per epoch (one directory scan after each VPP directory
 * change, then O(1) per read). Results are written to the caller's
 * buffers only on success. The walk itself (stats_seg.h) never reads
 * outside the mapping whatever the segment holds.
 *
 * VPP restarts: every call first checks, cheaply (two syscalls), that the
 * mapping is still VPP's current segment, and maps the new one when
 *   - the socket file was re-created (another inode) or is gone,
 *   - the memfd's size changed,
 *   - the header's version or base changed,
 *   - /sys/heartbeat has not moved for heartbeat_timeout (default 35 s;
 *     VPP bumps it every stats update interval, 10 s by default).
 * A remap that fails leaves the reader disconnected (the call returns the
 * connect error); the next call tries again.
 *
 * ===== How the daemon should use it (for whoever wires it in) =====
 *
 *   - One struct vpp_stats, owned by the libev loop thread (the one owner
 *     of state); never share it between threads. Create it with the stats
 *     socket path from the config/flags (VPP's `statseg { socket-name }`,
 *     default /run/vpp/stats.sock) next to the API client.
 *   - Poll from an ev_timer, e.g. every 5 s (VPP's own counters update
 *     continuously; the LB ones per packet). Each tick:
 *       1. vpp_stats_read_lb(s, &ctrs) (reuse one struct vpp_lb_counters;
 *          free it at shutdown with vpp_lb_counters_free). Counters are
 *          indexed by the LB plugin's VIP pool index, which only
 *          `show lb vips verbose` reports (lbcli.h's vpp_cli_vip.index):
 *          map frontend -> VIP index from the last CLI parse. An index is
 *          reused after GC: re-read the CLI after VIP changes, and treat a
 *          counter going backwards as a new VIP (reset, not a huge rate).
 *          ctrs.present false: no VIP was ever added since VPP started —
 *          all counters are 0, not an error.
 *       2. vpp_stats_read_route(s, idx, n, packets, bytes) with the
 *          stats_index of each VIP prefix from ip_route_lookup (exact=1,
 *          table 0), re-resolved after VIP changes and VPP reconnects.
 *   - Return values:
 *       0                done; outputs written.
 *       -EAGAIN          VPP was changing the directory: keep the previous
 *                        values, try at the next tick (count it; log at
 *                        DEBUG only).
 *       -EINPROGRESS, -ENOENT, -ECONNREFUSED, -ETIMEDOUT, -ECONNRESET
 *                        VPP (or its stats socket) is not there yet or
 *                        restarting: metrics "unavailable", retry next tick;
 *                        log once per state change at INFO/WARN with
 *                        vpp_stats_error().
 *       -EPROTONOSUPPORT the segment is not layout version 2: log ERROR
 *                        once (vpp_stats_error() names version and fix);
 *                        retrying is harmless (it reconnects each call).
 *       -EBADMSG         the segment does not parse (pointer out of the
 *                        mapping...): log WARN once, retry next tick.
 *       -ENOENT (read_route, connected) no /net/route/to in this VPP.
 *       -ESTALE          an attached (test) mapping went stale.
 *       -ENOMEM          allocation failed.
 *     Nothing here is fatal to maglevd: stats are best effort.
 *   - vpp_stats_info() for the API / `show vpp` (connected, epoch,
 *     heartbeat, counts of connects, remaps, busy and retries).
 *   - The reader keeps two fds while connected (the memfd and, briefly,
 *     the socket); count them in the fd budget. vpp_stats_free at exit.
 */
#ifndef MAGLEV_VPP_STATS_H
#define MAGLEV_VPP_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VPP_STATS_DEFAULT_SOCKET "/run/vpp/stats.sock"

/* The LB plugin's counters, in the order of enum vpp_lb_counter
 * (lbcli.h), with the exact directory names (no leading slash). */
enum vpp_stats_lb_counter {
    VPP_STATS_LB_EXISTING,  /* "packet from existing sessions" */
    VPP_STATS_LB_FIRST,     /* "first session packet" */
    VPP_STATS_LB_UNTRACKED, /* "untracked packet" */
    VPP_STATS_LB_NO_SERVER, /* "no server configured" */
    VPP_STATS_LB_N,
};
extern const char *const vpp_stats_lb_names[VPP_STATS_LB_N];

#define VPP_STATS_NAME_HEARTBEAT "/sys/heartbeat"
#define VPP_STATS_NAME_ROUTE_TO  "/net/route/to"

struct vpp_lb_vip_counters {
    uint64_t c[VPP_STATS_LB_N]; /* summed over threads */
};

/* Filled by vpp_stats_read_lb; owns vip[]. Zero-initialise before first
 * use; free with vpp_lb_counters_free. */
struct vpp_lb_counters {
    bool present; /* the vectors exist (a VIP was added since VPP start) */
    size_t n;     /* VIP indexes 0..n-1 (the longest thread vector) */
    struct vpp_lb_vip_counters *vip;
    size_t cap;
    uint64_t epoch; /* directory epoch of the read */
};
void vpp_lb_counters_free(struct vpp_lb_counters *c);

struct vpp_stats_opts {
    int spin_us;              /* busy-wait budget per call; 0: 100, < 0: none */
    unsigned attempts;        /* reads tried per call; 0: 3 */
    int connect_wait_ms;      /* wait for VPP's fd per call; 0: 10, < 0: none */
    double heartbeat_timeout; /* seconds; 0: 35, < 0: not checked */
    /* Tests only: called in each attempt after the copy-out, before the
     * epoch is checked again (to simulate VPP changing the directory). */
    void (*hook)(void *arg, unsigned attempt);
    void *hook_arg;
};

struct vpp_stats_info {
    bool connected;
    char path[108];
    uint64_t size;      /* mapping size */
    uint64_t epoch;     /* directory epoch at the last successful read */
    uint64_t heartbeat; /* /sys/heartbeat at the last successful read */
    uint64_t connects;  /* mappings made */
    uint64_t remaps;    /* ... of which after a detected VPP restart */
    uint64_t busy;      /* calls that returned -EAGAIN */
    uint64_t retries;   /* attempts discarded (epoch moved) */
    uint64_t rescans;   /* directory name scans */
};

struct vpp_stats;

/* sock_path NULL: VPP_STATS_DEFAULT_SOCKET; opts NULL: defaults. NULL on
 * allocation failure. Does not connect. */
struct vpp_stats *vpp_stats_new(const char *sock_path, const struct vpp_stats_opts *opts);
/* Unmaps, closes. NULL-safe. */
void vpp_stats_free(struct vpp_stats *s);

/* Maps VPP's segment if not mapped yet (the reads do this themselves).
 * 0, -EINPROGRESS (VPP has not answered yet; call again), or an error as
 * listed above. */
int vpp_stats_connect(struct vpp_stats *s);
/* Drops the mapping now (the next call maps again). */
void vpp_stats_disconnect(struct vpp_stats *s);
/* Drops the mapping and connects again at once. */
int vpp_stats_reconnect(struct vpp_stats *s);
/* Tests and the fuzzer: read this memory (8-byte aligned, not owned, must
 * outlive the reader or the next attach/disconnect) instead of VPP's
 * segment; no socket checks, no reconnects. 0, -EBADMSG,
 * -EPROTONOSUPPORT. */
int vpp_stats_attach(struct vpp_stats *s, const void *map, size_t size);

bool vpp_stats_is_connected(const struct vpp_stats *s);
const struct vpp_stats_info *vpp_stats_info(const struct vpp_stats *s);
/* The last error as text for the log ("" if none). */
const char *vpp_stats_error(const struct vpp_stats *s);

/* The four LB counters per VIP index, summed over threads. */
int vpp_stats_read_lb(struct vpp_stats *s, struct vpp_lb_counters *out);
/* /net/route/to for each stats index (FIB load-balance index):
 * packets[i], bytes[i] summed over threads (0 past the vectors). */
int vpp_stats_read_route(struct vpp_stats *s, const uint32_t *stats_indexes, size_t n,
                         uint64_t *packets, uint64_t *bytes);
/* /sys/heartbeat (-ENOENT if this VPP has none). */
int vpp_stats_read_heartbeat(struct vpp_stats *s, uint64_t *value);

#endif
