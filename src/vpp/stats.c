/* vpp/stats: the reader's state — mapping, restart detection, the
 * optimistic read loop, the per-epoch name cache (see stats.h). The walk
 * is stats_seg.c (pure), the socket and mmap stats_io.c. */
#include "vpp/stats.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vpp/lbcli.h"
#include "vpp/stats_int.h"
#include "vpp/stats_seg.h"

#define SAME(a, b) ((int)(a) == (int)(b))
_Static_assert(SAME(VPP_STATS_LB_N, VPP_LB_N_CTR) &&
                   SAME(VPP_STATS_LB_EXISTING, VPP_LB_CTR_EXISTING) &&
                   SAME(VPP_STATS_LB_FIRST, VPP_LB_CTR_FIRST) &&
                   SAME(VPP_STATS_LB_UNTRACKED, VPP_LB_CTR_UNTRACKED) &&
                   SAME(VPP_STATS_LB_NO_SERVER, VPP_LB_CTR_NO_SERVER),
               "stats.h and lbcli.h order the LB counters differently");

/* LB vectors longer than this are taken for garbage. */
#define MAX_VIPS           (1u << 20)
#define CONNECT_GIVE_UP_US 5000000

const char *const vpp_stats_lb_names[VPP_STATS_LB_N] = {
    "packet from existing sessions",
    "first session packet",
    "untracked packet",
    "no server configured",
};

/* The names looked up in one directory scan; index NM_LB + k is LB counter k. */
enum { NM_HEARTBEAT, NM_LB, NM_ROUTE = NM_LB + VPP_STATS_LB_N, N_NAMES };

static const char *const names[N_NAMES] = {
    VPP_STATS_NAME_HEARTBEAT, "packet from existing sessions", "first session packet",
    "untracked packet",       "no server configured",          VPP_STATS_NAME_ROUTE_TO,
};

struct vpp_stats {
    char path[108]; /* "" for an attached mapping */
    struct vpp_stats_opts o;
    int sock; /* a connect waiting for VPP's fd, or -1 */
    int64_t sock_since_us;
    struct vpp_stats_file_id sock_id; /* the socket file we got the fd from */
    int memfd;                        /* kept to notice a size change */
    bool mapped, owned;
    struct vpp_stats_seg seg;
    /* directory indexes of names[], valid while the epoch is cache_epoch */
    bool cache_ok;
    uint64_t cache_epoch;
    int64_t idx[N_NAMES];
    /* liveness */
    bool hb_seen;
    uint64_t hb;
    int64_t hb_moved_us;
    /* results of the current attempt, copied out on success */
    uint64_t *scratch;
    size_t scratch_cap;
    struct vpp_stats_info info;
    char err[512];
};

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

__attribute__((format(printf, 3, 4))) static int fail(struct vpp_stats *s, int rc, const char *fmt,
                                                      ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof(s->err), fmt, ap);
    va_end(ap);
    return rc;
}

static const char *where(const struct vpp_stats *s)
{
    return s->path[0] ? s->path : "attached stats segment";
}

struct vpp_stats *vpp_stats_new(const char *sock_path, const struct vpp_stats_opts *opts)
{
    struct vpp_stats *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    snprintf(s->path, sizeof(s->path), "%s", sock_path ? sock_path : VPP_STATS_DEFAULT_SOCKET);
    if (opts)
        s->o = *opts;
    if (s->o.spin_us == 0)
        s->o.spin_us = 100;
    if (s->o.attempts == 0)
        s->o.attempts = 3;
    if (s->o.connect_wait_ms == 0)
        s->o.connect_wait_ms = 10;
    if (s->o.heartbeat_timeout == 0)
        s->o.heartbeat_timeout = 35;
    s->sock = s->memfd = -1;
    snprintf(s->info.path, sizeof(s->info.path), "%s", s->path);
    return s;
}

static void unmap(struct vpp_stats *s)
{
    if (s->mapped && s->owned)
        vpp_stats_io_unmap(s->seg.map, s->seg.size);
    if (s->memfd >= 0)
        close(s->memfd);
    s->memfd = -1;
    s->mapped = s->owned = false;
    memset(&s->seg, 0, sizeof(s->seg));
    s->cache_ok = s->hb_seen = false;
    s->info.connected = false;
}

void vpp_stats_disconnect(struct vpp_stats *s)
{
    unmap(s);
    if (s->sock >= 0)
        close(s->sock);
    s->sock = -1;
}

void vpp_stats_free(struct vpp_stats *s)
{
    if (!s)
        return;
    vpp_stats_disconnect(s);
    free(s->scratch);
    free(s);
}

static void mapped(struct vpp_stats *s, size_t size)
{
    s->mapped = true;
    s->info.connected = true;
    s->info.size = size;
    s->info.connects++;
    s->err[0] = 0;
}

static int open_failed(struct vpp_stats *s, int rc, size_t size)
{
    if (rc == -EPROTONOSUPPORT)
        return fail(s, rc,
                    "%s: stats segment layout version %llu, maglevd reads version %d only "
                    "(a VPP release this maglevd does not know; upgrade maglevd)",
                    where(s), (unsigned long long)s->seg.version, VPP_STATS_SEG_VERSION);
    return fail(s, rc, "%s: not a stats segment (%zu bytes)", where(s), size);
}

int vpp_stats_attach(struct vpp_stats *s, const void *map, size_t size)
{
    vpp_stats_disconnect(s);
    s->path[0] = 0;
    int rc = vpp_stats_seg_open(&s->seg, map, size);
    if (rc < 0)
        return open_failed(s, rc, size);
    mapped(s, size);
    return 0;
}

/* The connected socket's fd, mapped. */
static int map_fd(struct vpp_stats *s, int fd)
{
    const void *map;
    size_t size;
    int rc = vpp_stats_io_map(fd, &map, &size);
    if (rc < 0) {
        close(fd);
        return fail(s, rc, "%s: cannot map the stats segment VPP sent: %s", s->path, strerror(-rc));
    }
    rc = vpp_stats_seg_open(&s->seg, map, size);
    if (rc < 0) {
        vpp_stats_io_unmap(map, size);
        close(fd);
        return open_failed(s, rc, size);
    }
    s->memfd = fd;
    s->owned = true;
    mapped(s, size);
    return 0;
}

int vpp_stats_connect(struct vpp_stats *s)
{
    if (s->mapped)
        return 0;
    if (!s->path[0])
        return fail(s, -ENOTCONN, "attached stats segment dropped");
    int rc;
    if (s->sock < 0) {
        rc = vpp_stats_io_path_id(s->path, &s->sock_id);
        if (rc == 0)
            rc = vpp_stats_io_dial(s->path, &s->sock);
        if (rc < 0)
            return fail(s, rc, "%s: %s (is VPP running, and is this its statseg socket-name?)",
                        s->path, strerror(-rc));
        s->sock_since_us = now_us();
    }
    int fd;
    rc = vpp_stats_io_recv_fd(s->sock, s->o.connect_wait_ms, &fd);
    if (rc == -EAGAIN) {
        if (now_us() - s->sock_since_us < CONNECT_GIVE_UP_US)
            return fail(s, -EINPROGRESS, "%s: waiting for VPP to send the stats segment", s->path);
        rc = -ETIMEDOUT;
    }
    close(s->sock);
    s->sock = -1;
    if (rc < 0)
        return fail(s, rc, "%s: no stats segment received: %s", s->path,
                    rc == -ETIMEDOUT ? "VPP did not send it within 5 s" : strerror(-rc));
    return map_fd(s, fd);
}

int vpp_stats_reconnect(struct vpp_stats *s)
{
    vpp_stats_disconnect(s);
    return vpp_stats_connect(s);
}

bool vpp_stats_is_connected(const struct vpp_stats *s)
{
    return s->mapped;
}

const struct vpp_stats_info *vpp_stats_info(const struct vpp_stats *s)
{
    return &s->info;
}

const char *vpp_stats_error(const struct vpp_stats *s)
{
    return s->err;
}

/* Why the mapping is no longer VPP's current segment, or NULL. */
static const char *stale_reason(struct vpp_stats *s)
{
    if (s->owned) {
        struct vpp_stats_file_id id;
        size_t size;
        if (vpp_stats_io_path_id(s->path, &id) < 0)
            return "the stats socket is gone";
        if (id.dev != s->sock_id.dev || id.ino != s->sock_id.ino ||
            id.ctime_s != s->sock_id.ctime_s || id.ctime_ns != s->sock_id.ctime_ns)
            return "the stats socket was re-created";
        if (vpp_stats_io_size(s->memfd, &size) < 0 || size != s->seg.size)
            return "the segment's size changed";
    }
    if (vpp_stats_seg_moved(&s->seg))
        return "the segment's header changed";
    if (s->o.heartbeat_timeout > 0 && s->hb_seen &&
        now_us() - s->hb_moved_us > (int64_t)(s->o.heartbeat_timeout * 1e6))
        return "/sys/heartbeat stopped";
    return NULL;
}

/* Connected to VPP's current segment, remapping after a restart. */
static int ready(struct vpp_stats *s)
{
    if (!s->mapped)
        return vpp_stats_connect(s);
    const char *why = stale_reason(s);
    if (!why)
        return 0;
    if (!s->owned) {
        unmap(s);
        return fail(s, -ESTALE, "%s: %s", where(s), why);
    }
    s->info.remaps++;
    vpp_stats_disconnect(s);
    int rc = vpp_stats_connect(s);
    if (rc < 0 && rc != -EINPROGRESS) {
        char prev[sizeof(s->err)];
        snprintf(prev, sizeof(prev), "%s", s->err);
        return fail(s, rc, "%s; remapping because %s", prev, why);
    }
    return rc;
}

static int scratch(struct vpp_stats *s, size_t n)
{
    if (n <= s->scratch_cap)
        return 0;
    uint64_t *p = realloc(s->scratch, n * sizeof(*p));
    if (!p)
        return -ENOMEM;
    s->scratch = p;
    s->scratch_cap = n;
    return 0;
}

/* The directory indexes of names[] for this epoch (one scan per epoch). */
static int lookup(struct vpp_stats *s, const struct vpp_stats_dir *d, uint64_t epoch)
{
    if (s->cache_ok && s->cache_epoch == epoch)
        return 0;
    s->info.rescans++;
    int rc = vpp_stats_seg_lookup(&s->seg, d, names, N_NAMES, s->idx);
    s->cache_ok = rc == 0;
    s->cache_epoch = epoch;
    return rc;
}

/* Entry for names[k]: -ENOENT if absent; a cached index whose name no
 * longer matches is looked up again. */
static int entry(struct vpp_stats *s, const struct vpp_stats_dir *d, int k,
                 struct vpp_stats_entry *e)
{
    if (s->idx[k] >= 0 && !vpp_stats_seg_is(&s->seg, d, (uint32_t)s->idx[k], names[k])) {
        s->info.rescans++;
        int rc = vpp_stats_seg_lookup(&s->seg, d, names, N_NAMES, s->idx);
        if (rc < 0)
            return rc;
    }
    if (s->idx[k] < 0)
        return -ENOENT;
    return vpp_stats_seg_entry(&s->seg, d, (uint32_t)s->idx[k], e);
}

typedef int (*walk_fn)(struct vpp_stats *s, const struct vpp_stats_dir *d, void *arg);

/* One attempt's walk: the directory, the names, the heartbeat, then fn. */
static int walk(struct vpp_stats *s, uint64_t epoch, walk_fn fn, void *arg, bool *have_hb,
                uint64_t *hb)
{
    struct vpp_stats_dir d;
    int rc = vpp_stats_seg_dir(&s->seg, &d);
    if (rc == 0)
        rc = lookup(s, &d, epoch);
    if (rc < 0)
        return rc;
    struct vpp_stats_entry e;
    rc = entry(s, &d, NM_HEARTBEAT, &e);
    if (rc == 0 && (e.type == VPP_STATS_TYPE_SCALAR_INDEX || e.type == VPP_STATS_TYPE_GAUGE)) {
        *have_hb = true;
        *hb = e.value;
    } else if (rc != 0 && rc != -ENOENT) {
        return rc;
    }
    return fn(s, &d, arg);
}

static void committed(struct vpp_stats *s, uint64_t epoch, bool have_hb, uint64_t hb)
{
    s->info.epoch = epoch;
    if (!have_hb)
        return;
    if (!s->hb_seen || hb != s->hb) {
        s->hb = hb;
        s->hb_moved_us = now_us();
        s->hb_seen = true;
    }
    s->info.heartbeat = hb;
}

/* VPP's optimistic read around fn, bounded in time and attempts. */
static int read_segment(struct vpp_stats *s, walk_fn fn, void *arg)
{
    int rc = ready(s);
    if (rc < 0)
        return rc;
    int64_t deadline = now_us() + (s->o.spin_us > 0 ? s->o.spin_us : 0);
    for (unsigned a = 0; a < s->o.attempts; a++) {
        uint64_t epoch;
        while ((rc = vpp_stats_seg_begin(&s->seg, &epoch)) == -EAGAIN && now_us() < deadline)
            cpu_relax();
        if (rc < 0)
            break;
        bool have_hb = false;
        uint64_t hb = 0;
        int wrc = walk(s, epoch, fn, arg, &have_hb, &hb);
        if (s->o.hook)
            s->o.hook(s->o.hook_arg, a);
        if (vpp_stats_seg_end(&s->seg, epoch) == 0) {
            if (wrc == -EBADMSG || wrc == -ELOOP) {
                s->cache_ok = false;
                return fail(s, -EBADMSG,
                            "%s: malformed stats segment (a pointer or length outside the "
                            "mapping, or a bad entry)",
                            where(s));
            }
            if (wrc == 0) {
                committed(s, epoch, have_hb, hb);
                s->err[0] = 0;
            }
            return wrc;
        }
        s->cache_ok = false; /* torn: VPP changed the directory meanwhile */
        s->info.retries++;
        rc = -EAGAIN;
    }
    s->info.busy++;
    return fail(s, -EAGAIN, "%s: VPP is updating the stats directory; retry later", where(s));
}

/* --- LB counters ------------------------------------------------------- */

static int walk_lb(struct vpp_stats *s, const struct vpp_stats_dir *d, void *arg)
{
    struct vpp_lb_counters *r = arg; /* r->n, r->present: this attempt */
    uint64_t data[VPP_STATS_LB_N];
    bool have[VPP_STATS_LB_N];
    uint32_t n = 0;
    r->present = false;
    for (int k = 0; k < VPP_STATS_LB_N; k++) {
        struct vpp_stats_entry e;
        int rc = entry(s, d, NM_LB + k, &e);
        have[k] = rc == 0;
        if (rc == -ENOENT)
            continue;
        if (rc < 0)
            return rc;
        if (e.type != VPP_STATS_TYPE_COUNTER_SIMPLE)
            return -EBADMSG;
        uint32_t threads, len;
        rc = vpp_stats_seg_counter_len(&s->seg, e.value, 1, &threads, &len);
        if (rc < 0)
            return rc;
        data[k] = e.value;
        r->present = true;
        if (len > n)
            n = len;
    }
    if (n > MAX_VIPS)
        return -EBADMSG;
    r->n = n;
    if (n == 0)
        return 0;
    if (scratch(s, (size_t)n * VPP_STATS_LB_N) < 0)
        return -ENOMEM;
    for (int k = 0; k < VPP_STATS_LB_N; k++) {
        uint64_t *col = s->scratch + (size_t)k * n;
        int rc = 0;
        if (have[k])
            rc = vpp_stats_seg_counter_sum(&s->seg, data[k], 1, NULL, n, col);
        else
            memset(col, 0, n * sizeof(*col));
        if (rc < 0)
            return rc;
    }
    return 0;
}

int vpp_stats_read_lb(struct vpp_stats *s, struct vpp_lb_counters *out)
{
    struct vpp_lb_counters r = { 0 };
    int rc = read_segment(s, walk_lb, &r);
    if (rc < 0)
        return rc;
    if (r.n > out->cap) {
        struct vpp_lb_vip_counters *v = realloc(out->vip, r.n * sizeof(*v));
        if (!v)
            return fail(s, -ENOMEM, "out of memory");
        out->vip = v;
        out->cap = r.n;
    }
    for (size_t i = 0; i < r.n; i++)
        for (int k = 0; k < VPP_STATS_LB_N; k++)
            out->vip[i].c[k] = s->scratch[(size_t)k * r.n + i];
    out->n = r.n;
    out->present = r.present;
    out->epoch = s->info.epoch;
    return 0;
}

void vpp_lb_counters_free(struct vpp_lb_counters *c)
{
    if (!c)
        return;
    free(c->vip);
    memset(c, 0, sizeof(*c));
}

/* --- /net/route/to, /sys/heartbeat ------------------------------------- */

struct route_job {
    const uint32_t *idx;
    size_t n;
};

static int walk_route(struct vpp_stats *s, const struct vpp_stats_dir *d, void *arg)
{
    const struct route_job *j = arg;
    struct vpp_stats_entry e;
    int rc = entry(s, d, NM_ROUTE, &e);
    if (rc == -ENOENT)
        return fail(s, rc, "%s: no %s in VPP's stats segment", where(s), VPP_STATS_NAME_ROUTE_TO);
    if (rc < 0)
        return rc;
    if (e.type != VPP_STATS_TYPE_COUNTER_COMBINED)
        return -EBADMSG;
    if (j->n == 0)
        return 0;
    if (scratch(s, j->n * 2) < 0)
        return -ENOMEM;
    return vpp_stats_seg_counter_sum(&s->seg, e.value, 2, j->idx, j->n, s->scratch);
}

int vpp_stats_read_route(struct vpp_stats *s, const uint32_t *stats_indexes, size_t n,
                         uint64_t *packets, uint64_t *bytes)
{
    if (n > SIZE_MAX / 16)
        return -EINVAL;
    struct route_job j = { stats_indexes, n };
    int rc = read_segment(s, walk_route, &j);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        packets[i] = s->scratch[2 * i];
        bytes[i] = s->scratch[2 * i + 1];
    }
    return 0;
}

static int walk_heartbeat(struct vpp_stats *s, const struct vpp_stats_dir *d, void *arg)
{
    struct vpp_stats_entry e;
    int rc = entry(s, d, NM_HEARTBEAT, &e);
    if (rc == -ENOENT)
        return fail(s, rc, "%s: no %s in VPP's stats segment", where(s), VPP_STATS_NAME_HEARTBEAT);
    if (rc < 0)
        return rc;
    if (e.type != VPP_STATS_TYPE_SCALAR_INDEX && e.type != VPP_STATS_TYPE_GAUGE)
        return -EBADMSG;
    *(uint64_t *)arg = e.value;
    return 0;
}

int vpp_stats_read_heartbeat(struct vpp_stats *s, uint64_t *value)
{
    uint64_t v = 0;
    int rc = read_segment(s, walk_heartbeat, &v);
    if (rc < 0)
        return rc;
    *value = v;
    return 0;
}
