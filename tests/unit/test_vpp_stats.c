/* src/vpp/stats*.c: VPP's stats segment, built byte by byte in memory with
 * the layout of shared/vpp/PROTOCOL.md section 8 (header, directory
 * vector of 144-byte entries, per-thread counter vectors, pointers as
 * VPP's addresses = fake base + offset): the LB counters and
 * /net/route/to summed over threads, missing counters, the optimistic
 * read protocol (busy, torn reads, the name cache), hostile segments
 * (bad pointers, lengths past the end, loops, wrong version), the real
 * I/O path (SOCK_SEQPACKET listener, memfd over SCM_RIGHTS, VPP restarts),
 * and against vppsim's segment (tools/vppsim/stats.py, written separately
 * from the same notes). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vpp/stats.h"
#include "vpp/stats_seg.h"
#include "vppsim_proc.h"

#define BASE 0x7f3a12000000ull

/* --- a segment builder --------------------------------------------------- */

struct segb {
    uint8_t *buf;
    size_t size, used;
    uint64_t dir; /* offset of directory element 0 */
    uint32_t cap;
};

static void w64(struct segb *b, uint64_t off, uint64_t v)
{
    assert_true(off + 8 <= b->size);
    memcpy(b->buf + off, &v, 8);
}

static uint64_t r64(const struct segb *b, uint64_t off)
{
    uint64_t v;
    memcpy(&v, b->buf + off, 8);
    return v;
}

static void w32(struct segb *b, uint64_t off, uint32_t v)
{
    memcpy(b->buf + off, &v, 4);
}

/* A vector of n elements of elt bytes (header u32 len at data - 8, then 4
 * bytes of vec_header_t fields); returns the data's offset. */
static uint64_t sb_vec(struct segb *b, uint32_t n, size_t elt)
{
    uint64_t hdr = (b->used + 7) & ~7ull;
    uint64_t data = hdr + 8;
    assert_true(data + n * elt <= b->size);
    w32(b, hdr, n);
    b->used = data + n * elt;
    return data;
}

static uint64_t va(uint64_t off)
{
    return BASE + off;
}

static void sb_init(struct segb *b, uint8_t *mem, size_t size, uint32_t cap)
{
    memset(mem, 0, size);
    *b = (struct segb){ .buf = mem, .size = size, .used = VPP_STATS_SEG_HDR_SIZE, .cap = cap };
    w64(b, 0, 2);
    w64(b, 8, BASE);
    w64(b, 16, 1); /* epoch */
    b->dir = sb_vec(b, cap, VPP_STATS_SEG_ENTRY_SIZE);
    w32(b, b->dir - 8, 0);
    w64(b, 32, va(b->dir));
}

static uint32_t sb_entry(struct segb *b, uint32_t type, const char *name, uint64_t value)
{
    uint32_t n;
    memcpy(&n, b->buf + b->dir - 8, 4);
    assert_true(n < b->cap);
    uint64_t e = b->dir + (uint64_t)n * VPP_STATS_SEG_ENTRY_SIZE;
    w32(b, e, type);
    w64(b, e + 8, value);
    snprintf((char *)b->buf + e + 16, VPP_STATS_SEG_NAME_MAX, "%s", name);
    w32(b, b->dir - 8, n + 1);
    return n;
}

/* A counter: threads vectors of lens[t] objects of words u64 each, value
 * f(t, i, w). Returns the data pointer (VPP address). */
static uint64_t sb_counter(struct segb *b, uint32_t threads, const uint32_t *lens, unsigned words,
                           uint64_t (*f)(uint32_t t, uint32_t i, unsigned w))
{
    uint64_t tv = sb_vec(b, threads, 8);
    for (uint32_t t = 0; t < threads; t++) {
        uint64_t v = sb_vec(b, lens[t], 8 * words);
        w64(b, tv + 8 * t, va(v));
        for (uint32_t i = 0; i < lens[t]; i++)
            for (unsigned w = 0; w < words; w++)
                w64(b, v + (i * words + w) * 8, f(t, i, w));
    }
    return va(tv);
}

/* LB counter k, thread t, VIP i */
static uint64_t lbval(unsigned k, uint32_t t, uint32_t i)
{
    return 1000000ull * (k + 1) + 1000ull * (t + 1) + i;
}
#define LBF(k)                                                                                     \
    static uint64_t lbf##k(uint32_t t, uint32_t i, unsigned w)                                     \
    {                                                                                              \
        return lbval(k, t, i);                                                                     \
    }
LBF(0)
LBF(1)
LBF(2)
LBF(3)
static uint64_t (*const lbf[4])(uint32_t, uint32_t, unsigned) = { lbf0, lbf1, lbf2, lbf3 };

static uint64_t routef(uint32_t t, uint32_t i, unsigned w)
{
    return w == 0 ? 10ull * (t + 1) + i : 1500ull * (t + 1) + i;
}

/* the usual segment: heartbeat, an unrelated counter, LB counters for
 * two threads (lens), /net/route/to for two threads of 1005 and 1002 */
static void sb_vpp(struct segb *b, uint8_t *mem, size_t size, const uint32_t *lens, bool lb)
{
    sb_init(b, mem, size, 16);
    sb_entry(b, VPP_STATS_TYPE_SCALAR_INDEX, "/sys/heartbeat", 41);
    uint32_t one[1] = { 3 };
    sb_entry(b, VPP_STATS_TYPE_COUNTER_SIMPLE, "/err/lb4-gre4/no error",
             sb_counter(b, 1, one, 1, lbf0));
    sb_entry(b, VPP_STATS_TYPE_EMPTY, "", 0);
    uint32_t rl[2] = { 1005, 1002 };
    sb_entry(b, VPP_STATS_TYPE_COUNTER_COMBINED, "/net/route/to", sb_counter(b, 2, rl, 2, routef));
    if (lb)
        for (unsigned k = 0; k < 4; k++)
            sb_entry(b, VPP_STATS_TYPE_COUNTER_SIMPLE, vpp_stats_lb_names[k],
                     sb_counter(b, 2, lens, 1, lbf[k]));
}

static _Alignas(4096) uint8_t mem[1 << 16];
#define SMALL (sizeof(mem) / 4 * 3) /* a second segment of another size */

static struct vpp_stats *attached(const struct vpp_stats_opts *o, size_t size)
{
    struct vpp_stats *s = vpp_stats_new(NULL, o);
    assert_non_null(s);
    assert_int_equal(vpp_stats_attach(s, mem, size), 0);
    return s;
}

/* --- reading ------------------------------------------------------------- */

static void test_lb_two_threads(void **state)
{
    struct segb b;
    uint32_t lens[2] = { 4, 4 };
    sb_vpp(&b, mem, sizeof(mem), lens, true);
    struct vpp_stats *s = attached(NULL, b.used);
    struct vpp_lb_counters c = { 0 };
    assert_int_equal(vpp_stats_read_lb(s, &c), 0);
    assert_true(c.present);
    assert_int_equal(c.n, 4);
    for (uint32_t i = 0; i < 4; i++)
        for (unsigned k = 0; k < 4; k++)
            assert_int_equal(c.vip[i].c[k], lbval(k, 0, i) + lbval(k, 1, i));
    assert_int_equal(c.epoch, 1);
    uint64_t hb;
    assert_int_equal(vpp_stats_read_heartbeat(s, &hb), 0);
    assert_int_equal(hb, 41);
    assert_int_equal(vpp_stats_info(s)->heartbeat, 41);
    assert_string_equal(vpp_stats_error(s), "");
    vpp_lb_counters_free(&c);
    vpp_stats_free(s);
}

static void test_thread_shorter_than_index(void **state)
{
    struct segb b;
    uint32_t lens[2] = { 6, 2 }; /* the worker's vector was not grown yet */
    sb_vpp(&b, mem, sizeof(mem), lens, true);
    struct vpp_stats *s = attached(NULL, b.used);
    struct vpp_lb_counters c = { 0 };
    assert_int_equal(vpp_stats_read_lb(s, &c), 0);
    assert_int_equal(c.n, 6);
    for (uint32_t i = 0; i < 6; i++)
        assert_int_equal(c.vip[i].c[VPP_STATS_LB_FIRST],
                         lbval(1, 0, i) + (i < 2 ? lbval(1, 1, i) : 0));
    vpp_lb_counters_free(&c);
    vpp_stats_free(s);
}

static void test_missing_counters(void **state)
{
    struct segb b;
    sb_vpp(&b, mem, sizeof(mem), NULL, false); /* no VIP added yet */
    struct vpp_stats *s = attached(NULL, b.used);
    struct vpp_lb_counters c = { 0 };
    assert_int_equal(vpp_stats_read_lb(s, &c), 0);
    assert_false(c.present);
    assert_int_equal(c.n, 0);

    /* only two of the four (and one with no threads at all) */
    uint32_t lens[2] = { 3, 3 };
    sb_entry(&b, VPP_STATS_TYPE_COUNTER_SIMPLE, "untracked packet",
             sb_counter(&b, 2, lens, 1, lbf2));
    sb_entry(&b, VPP_STATS_TYPE_COUNTER_SIMPLE, "first session packet", 0);
    w64(&b, 16, 2); /* VPP bumps the epoch after adding entries */
    assert_int_equal(vpp_stats_attach(s, mem, b.used), 0);
    assert_int_equal(vpp_stats_read_lb(s, &c), 0);
    assert_true(c.present);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.vip[2].c[VPP_STATS_LB_UNTRACKED], lbval(2, 0, 2) + lbval(2, 1, 2));
    assert_int_equal(c.vip[2].c[VPP_STATS_LB_FIRST], 0);
    assert_int_equal(c.vip[2].c[VPP_STATS_LB_EXISTING], 0);
    vpp_lb_counters_free(&c);
    vpp_stats_free(s);
}

static void test_route_to(void **state)
{
    struct segb b;
    sb_vpp(&b, mem, sizeof(mem), NULL, false);
    struct vpp_stats *s = attached(NULL, b.used);
    uint32_t idx[4] = { 1000, 1003, 1004, 7000 };
    uint64_t p[4], by[4];
    assert_int_equal(vpp_stats_read_route(s, idx, 4, p, by), 0);
    assert_int_equal(p[0], 10 + 1000 + 20 + 1000);
    assert_int_equal(by[0], 1500 + 1000 + 3000 + 1000);
    assert_int_equal(p[2], 10 + 1004); /* past thread 1's 1002 */
    assert_int_equal(by[2], 1500 + 1004);
    assert_int_equal(p[3], 0);
    assert_int_equal(by[3], 0);
    assert_int_equal(vpp_stats_read_route(s, NULL, 0, NULL, NULL), 0);
    vpp_stats_free(s);

    /* a VPP without /net/route/to */
    sb_init(&b, mem, sizeof(mem), 4);
    s = attached(NULL, b.used);
    assert_int_equal(vpp_stats_read_route(s, idx, 4, p, by), -ENOENT);
    assert_non_null(strstr(vpp_stats_error(s), "/net/route/to"));
    uint64_t hb;
    assert_int_equal(vpp_stats_read_heartbeat(s, &hb), -ENOENT);
    vpp_stats_free(s);
}

/* --- the optimistic read protocol ---------------------------------------- */

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void test_busy(void **state)
{
    struct segb b;
    uint32_t lens[2] = { 2, 2 };
    sb_vpp(&b, mem, sizeof(mem), lens, true);
    struct vpp_stats *s = attached(NULL, b.used);
    struct vpp_lb_counters c = { 0 };
    assert_int_equal(vpp_stats_read_lb(s, &c), 0);
    c.vip[0].c[0] = 4242;
    w64(&b, 24, 1); /* in_progress, for good */
    int64_t t0 = mono_us();
    assert_int_equal(vpp_stats_read_lb(s, &c), -EAGAIN);
    assert_true(mono_us() - t0 < 50000);   /* ~100 µs of spinning */
    assert_int_equal(c.vip[0].c[0], 4242); /* untouched */
    assert_int_equal(vpp_stats_info(s)->busy, 1);
    assert_non_null(strstr(vpp_stats_error(s), "retry later"));
    w64(&b, 24, 0);
    w64(&b, 16, 2);
    assert_int_equal(vpp_stats_read_lb(s, &c), 0);
    assert_int_equal(c.epoch, 2);
    vpp_lb_counters_free(&c);
    vpp_stats_free(s);

    /* the pure bracket */
    struct vpp_stats_seg g;
    uint64_t e;
    assert_int_equal(vpp_stats_seg_open(&g, mem, b.used), 0);
    assert_int_equal(vpp_stats_seg_begin(&g, &e), 0);
    assert_int_equal(vpp_stats_seg_end(&g, e), 0);
    w64(&b, 16, 3);
    assert_int_equal(vpp_stats_seg_end(&g, e), -EAGAIN);
    assert_int_equal(vpp_stats_seg_begin(&g, &e), 0);
    w64(&b, 24, 1);
    assert_int_equal(vpp_stats_seg_end(&g, e), -EAGAIN);
    assert_int_equal(vpp_stats_seg_begin(&g, &e), -EAGAIN);
    w64(&b, 24, 0);
}

struct bump {
    struct segb *b;
    unsigned times, calls;
};

/* VPP "changes the directory" while the reader copies: grows the LB
 * vectors of thread 0 and bumps the epoch */
static void bump_hook(void *arg, unsigned attempt)
{
    struct bump *h = arg;
    h->calls++;
    if (h->calls > h->times)
        return;
    w64(h->b, 16, r64(h->b, 16) + 1);
}

static void test_epoch_changed_during_read(void **state)
{
    struct segb b;
    uint32_t lens[2] = { 2, 2 };
    sb_vpp(&b, mem, sizeof(mem), lens, true);
    struct bump h = { &b, 1, 0 };
    struct vpp_stats_opts o = { .hook = bump_hook, .hook_arg = &h };
    struct vpp_stats *s = attached(&o, b.used);
    struct vpp_lb_counters c = { 0 };
    assert_int_equal(vpp_stats_read_lb(s, &c), 0); /* second attempt */
    assert_int_equal(h.calls, 2);
    assert_int_equal(c.epoch, 2);
    assert_int_equal(vpp_stats_info(s)->retries, 1);
    assert_int_equal(vpp_stats_info(s)->rescans, 2); /* a torn scan is not kept */

    h = (struct bump){ &b, 100, 0 };
    c.vip[1].c[3] = 77;
    assert_int_equal(vpp_stats_read_lb(s, &c), -EAGAIN);
    assert_int_equal(h.calls, 3); /* attempts */
    assert_int_equal(c.vip[1].c[3], 77);
    assert_int_equal(vpp_stats_info(s)->busy, 1);
    vpp_lb_counters_free(&c);
    vpp_stats_free(s);
}

static void test_name_cache(void **state)
{
    struct segb b;
    sb_vpp(&b, mem, sizeof(mem), NULL, false);
    struct vpp_stats *s = attached(NULL, b.used);
    struct vpp_lb_counters c = { 0 };
    uint64_t hb;
    assert_int_equal(vpp_stats_read_lb(s, &c), 0);
    assert_int_equal(vpp_stats_read_heartbeat(s, &hb), 0);
    assert_int_equal(vpp_stats_read_lb(s, &c), 0);
    assert_int_equal(vpp_stats_info(s)->rescans, 1);
    /* the first VIP: four vectors appear, epoch bumped -> found */
    uint32_t lens[2] = { 2, 2 };
    for (unsigned k = 0; k < 4; k++)
        sb_entry(&b, VPP_STATS_TYPE_COUNTER_SIMPLE, vpp_stats_lb_names[k],
                 sb_counter(&b, 2, lens, 1, lbf[k]));
    w64(&b, 16, 2);
    assert_int_equal(vpp_stats_attach(s, mem, b.used), 0);
    assert_int_equal(vpp_stats_read_lb(s, &c), 0);
    assert_true(c.present);
    assert_int_equal(c.vip[1].c[3], lbval(3, 0, 1) + lbval(3, 1, 1));
    /* a cached index whose entry changed under the same epoch (not what
     * VPP does) is looked up again, not trusted */
    uint64_t e0 = b.dir + 0 * VPP_STATS_SEG_ENTRY_SIZE;
    snprintf((char *)mem + e0 + 16, 128, "/sys/old");
    sb_entry(&b, VPP_STATS_TYPE_SCALAR_INDEX, "/sys/heartbeat", 99);
    assert_int_equal(vpp_stats_read_heartbeat(s, &hb), 0);
    assert_int_equal(hb, 99);
    vpp_lb_counters_free(&c);
    vpp_stats_free(s);
}

/* --- hostile segments ----------------------------------------------------- */

static int read_all(struct vpp_stats *s)
{
    struct vpp_lb_counters c = { 0 };
    int rc = vpp_stats_read_lb(s, &c);
    vpp_lb_counters_free(&c);
    return rc;
}

static void test_bad_pointers(void **state)
{
    struct segb b;
    uint32_t lens[2] = { 2, 2 };
    static const struct {
        uint64_t off_field; /* where to write */
        int64_t delta;      /* added to the pointer there (0: set to value) */
        uint64_t value;
    } cases[] = {
        { 32, 0, BASE - 8 },         /* directory below base */
        { 32, 0, BASE + 16 },        /* directory inside the header */
        { 32, 0, BASE + (1 << 20) }, /* past the end */
        { 32, 3, 0 },                /* misaligned */
        { 32, 0, 1 },                /* wraps when the header is located */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sb_vpp(&b, mem, sizeof(mem), lens, true);
        uint64_t v = cases[i].delta ? r64(&b, cases[i].off_field) + cases[i].delta : cases[i].value;
        w64(&b, cases[i].off_field, v);
        struct vpp_stats *s = attached(NULL, b.used);
        assert_int_equal(read_all(s), -EBADMSG);
        assert_non_null(strstr(vpp_stats_error(s), "malformed"));
        vpp_stats_free(s);
    }

    /* the LB entry's data pointer, the thread vector, a thread's data */
    for (int what = 0; what < 3; what++) {
        sb_vpp(&b, mem, sizeof(mem), lens, true);
        uint64_t e = b.dir + 4 * VPP_STATS_SEG_ENTRY_SIZE; /* the first LB entry */
        assert_string_equal((char *)mem + e + 16, vpp_stats_lb_names[0]);
        uint64_t tv = r64(&b, e + 8) - BASE;
        if (what == 0)
            w64(&b, e + 8, BASE + b.used + 64);
        else if (what == 1)
            w64(&b, tv + 8, BASE + b.size + 8);
        else
            w64(&b, tv, r64(&b, tv) + 4);
        struct vpp_stats *s = attached(NULL, b.used);
        assert_int_equal(read_all(s), -EBADMSG);
        vpp_stats_free(s);
    }
}

static void test_lengths_past_the_end(void **state)
{
    struct segb b;
    uint32_t lens[2] = { 2, 2 };
    for (int what = 0; what < 4; what++) {
        sb_vpp(&b, mem, sizeof(mem), lens, true);
        uint64_t e = b.dir + 4 * VPP_STATS_SEG_ENTRY_SIZE;
        uint64_t tv = r64(&b, e + 8) - BASE;
        uint64_t t1 = r64(&b, tv + 8) - BASE;
        size_t size = b.used;
        if (what == 0)
            w32(&b, b.dir - 8, 0xffffffffu); /* directory */
        else if (what == 1)
            w32(&b, tv - 8, VPP_STATS_SEG_MAX_THREADS + 1); /* threads: absurd */
        else if (what == 2)
            w32(&b, t1 - 8, (uint32_t)((size - t1) / 8 + 1)); /* one past the end */
        else
            size = t1 + 8; /* the mapping ends inside thread 1's vector */
        struct vpp_stats *s = attached(NULL, size);
        assert_int_equal(read_all(s), -EBADMSG);
        vpp_stats_free(s);
    }
    /* a length exactly to the end is fine */
    sb_vpp(&b, mem, sizeof(mem), lens, true);
    struct vpp_stats *s = attached(NULL, b.used);
    assert_int_equal(read_all(s), 0);
    vpp_stats_free(s);
    /* too small for a header */
    struct vpp_stats_seg g;
    assert_int_equal(vpp_stats_seg_open(&g, mem, 39), -EBADMSG);
    assert_int_equal(vpp_stats_seg_open(&g, mem + 4, 100), -EBADMSG);
}

static void test_loops_and_names(void **state)
{
    struct segb b;
    sb_init(&b, mem, sizeof(mem), 8);
    uint32_t lens[1] = { 5 };
    uint32_t simple = sb_entry(&b, VPP_STATS_TYPE_COUNTER_SIMPLE, "/node/errors",
                               sb_counter(&b, 1, lens, 1, lbf1));
    uint32_t good = sb_entry(&b, VPP_STATS_TYPE_SYMLINK, "/err/x/y", simple | (3ull << 32));
    uint32_t self = sb_entry(&b, VPP_STATS_TYPE_SYMLINK, "/err/self", 2);
    uint32_t to_link = sb_entry(&b, VPP_STATS_TYPE_SYMLINK, "/err/link", good);
    uint32_t past = sb_entry(&b, VPP_STATS_TYPE_SYMLINK, "/err/past", 77);
    uint32_t noname = sb_entry(&b, VPP_STATS_TYPE_SCALAR_INDEX, "", 1);
    memset(mem + b.dir + noname * VPP_STATS_SEG_ENTRY_SIZE + 16, 'x', 128);

    struct vpp_stats_seg g;
    struct vpp_stats_dir d;
    struct vpp_stats_entry e;
    uint64_t out[2];
    unsigned words;
    assert_int_equal(vpp_stats_seg_open(&g, mem, b.used), 0);
    assert_int_equal(vpp_stats_seg_dir(&g, &d), 0);
    assert_int_equal(d.n, 6);
    assert_int_equal(vpp_stats_seg_entry(&g, &d, good, &e), 0);
    assert_int_equal(vpp_stats_seg_symlink(&g, &d, &e, out, &words), 0);
    assert_int_equal(words, 1);
    assert_int_equal(out[0], lbval(1, 0, 3));
    assert_int_equal(vpp_stats_seg_entry(&g, &d, self, &e), 0);
    assert_int_equal(vpp_stats_seg_symlink(&g, &d, &e, out, &words), -ELOOP);
    assert_int_equal(vpp_stats_seg_entry(&g, &d, to_link, &e), 0);
    assert_int_equal(vpp_stats_seg_symlink(&g, &d, &e, out, &words), -ELOOP);
    assert_int_equal(vpp_stats_seg_entry(&g, &d, past, &e), 0);
    assert_int_equal(vpp_stats_seg_symlink(&g, &d, &e, out, &words), -EBADMSG);
    assert_int_equal(vpp_stats_seg_entry(&g, &d, noname, &e), -EBADMSG);
    assert_int_equal(vpp_stats_seg_entry(&g, &d, 6, &e), -ENOENT);
    const char *nm[2] = { "/err/x/y", "/err/x" };
    int64_t idx[2];
    assert_int_equal(vpp_stats_seg_lookup(&g, &d, nm, 2, idx), 0);
    assert_int_equal(idx[0], good);
    assert_int_equal(idx[1], -1);

    /* the directory vector pointing back at the header */
    w64(&b, 32, BASE + 8);
    assert_int_equal(vpp_stats_seg_dir(&g, &d), -EBADMSG);
    /* a thread vector that is the directory itself: garbage, but in bounds */
    sb_vpp(&b, mem, sizeof(mem), lens, false);
    uint32_t k =
        sb_entry(&b, VPP_STATS_TYPE_COUNTER_SIMPLE, "packet from existing sessions", va(b.dir));
    (void)k;
    struct vpp_stats *s = attached(NULL, b.used);
    int rc = read_all(s);
    assert_true(rc == 0 || rc == -EBADMSG);
    vpp_stats_free(s);
}

static void test_wrong_version_and_stale(void **state)
{
    struct segb b;
    sb_vpp(&b, mem, sizeof(mem), NULL, false);
    w64(&b, 0, 1);
    struct vpp_stats *s = vpp_stats_new(NULL, NULL);
    assert_int_equal(vpp_stats_attach(s, mem, b.used), -EPROTONOSUPPORT);
    assert_non_null(strstr(vpp_stats_error(s), "version 1"));
    assert_false(vpp_stats_is_connected(s));
    assert_int_equal(read_all(s), -ENOTCONN);
    w64(&b, 0, 2);
    assert_int_equal(vpp_stats_attach(s, mem, b.used), 0);
    assert_int_equal(read_all(s), 0);
    w64(&b, 8, BASE + 4096); /* VPP re-initialised the segment */
    assert_int_equal(read_all(s), -ESTALE);
    assert_false(vpp_stats_is_connected(s));
    vpp_stats_free(s);
}

/* --- the real I/O path ---------------------------------------------------- */

struct fakevpp {
    char dir[32], path[64];
    int listener;
};

static void fv_listen(struct fakevpp *v)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", v->path);
    v->listener = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    assert_true(v->listener >= 0);
    unlink(v->path);
    assert_int_equal(bind(v->listener, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(v->listener, 4), 0);
}

static void fv_stop(struct fakevpp *v)
{
    close(v->listener);
    unlink(v->path);
}

/* What VPP does for each connection: one empty message with the memfd. */
static void fv_serve(struct fakevpp *v, int memfd)
{
    int c = accept(v->listener, NULL, NULL);
    assert_true(c >= 0);
    if (memfd >= 0) {
        union {
            char buf[CMSG_SPACE(sizeof(int))];
            struct cmsghdr align;
        } u;
        char nothing = 0;
        struct iovec io = { .iov_base = &nothing, .iov_len = 0 };
        struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1 };
        m.msg_control = u.buf;
        m.msg_controllen = sizeof(u.buf);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &memfd, sizeof(int));
        assert_int_equal(sendmsg(c, &m, 0), 0);
    }
    close(c);
}

/* A memfd holding a copy of mem[0..size) and a writable mapping of it. */
static int memfd_of(size_t size, uint8_t **rw)
{
    int fd = memfd_create("vpp-stats-test", MFD_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)size), 0);
    *rw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_true(*rw != MAP_FAILED);
    memcpy(*rw, mem, size);
    return fd;
}

static void fv_init(struct fakevpp *v)
{
    snprintf(v->dir, sizeof(v->dir), "/tmp/vppstatsXXXXXX");
    assert_non_null(mkdtemp(v->dir));
    snprintf(v->path, sizeof(v->path), "%s/stats.sock", v->dir);
    v->listener = -1;
}

static void fv_done(struct fakevpp *v)
{
    unlink(v->path);
    rmdir(v->dir);
}

static void test_real_io(void **state)
{
    struct fakevpp v;
    fv_init(&v);
    struct vpp_stats *s = vpp_stats_new(v.path, NULL);
    struct vpp_lb_counters c = { 0 };
    assert_int_equal(vpp_stats_read_lb(s, &c), -ENOENT);
    assert_non_null(strstr(vpp_stats_error(s), v.path));

    struct segb b;
    uint32_t lens[2] = { 3, 3 };
    sb_vpp(&b, mem, sizeof(mem), lens, true);
    uint8_t *rw;
    int fd = memfd_of(sizeof(mem), &rw);
    fv_listen(&v);
    assert_int_equal(vpp_stats_connect(s), -EINPROGRESS); /* VPP has not accepted yet */
    fv_serve(&v, fd);
    assert_int_equal(vpp_stats_read_lb(s, &c), 0);
    assert_true(vpp_stats_is_connected(s));
    assert_int_equal(vpp_stats_info(s)->size, sizeof(mem));
    assert_int_equal(c.n, 3);
    assert_int_equal(c.vip[2].c[0], lbval(0, 0, 2) + lbval(0, 1, 2));

    /* VPP counts packets: the shared mapping shows them */
    uint64_t e = b.dir + 4 * VPP_STATS_SEG_ENTRY_SIZE;
    uint64_t t1 = r64(&b, r64(&b, e + 8) - BASE + 8) - BASE;
    uint64_t x;
    memcpy(&x, rw + t1 + 16, 8);
    x += 5;
    memcpy(rw + t1 + 16, &x, 8);
    assert_int_equal(vpp_stats_read_lb(s, &c), 0);
    assert_int_equal(c.vip[2].c[0], lbval(0, 0, 2) + lbval(0, 1, 2) + 5);
    uint32_t idx = 1001;
    uint64_t p, by;
    assert_int_equal(vpp_stats_read_route(s, &idx, 1, &p, &by), 0);
    assert_int_equal(p, 10 + 1001 + 20 + 1001);
    assert_int_equal(vpp_stats_info(s)->connects, 1);
    assert_int_equal(vpp_stats_info(s)->remaps, 0);

    /* a peer that closes without an fd; a segment of another version */
    vpp_stats_disconnect(s);
    assert_int_equal(vpp_stats_connect(s), -EINPROGRESS);
    fv_serve(&v, -1);
    assert_int_equal(vpp_stats_connect(s), -ECONNRESET);
    rw[0] = 3;
    assert_int_equal(vpp_stats_connect(s), -EINPROGRESS);
    fv_serve(&v, fd);
    assert_int_equal(vpp_stats_connect(s), -EPROTONOSUPPORT);
    assert_non_null(strstr(vpp_stats_error(s), "version 3"));
    rw[0] = 2;

    fv_stop(&v);
    munmap(rw, sizeof(mem));
    close(fd);
    vpp_lb_counters_free(&c);
    vpp_stats_free(s);
    fv_done(&v);
}

static void test_restart(void **state)
{
    struct fakevpp v;
    fv_init(&v);
    struct vpp_stats_opts o = { .heartbeat_timeout = 0.2 };
    struct vpp_stats *s = vpp_stats_new(v.path, &o);
    struct vpp_lb_counters c = { 0 };
    struct segb b;
    uint32_t lens[2] = { 2, 2 };
    sb_vpp(&b, mem, sizeof(mem), lens, true);
    uint8_t *rw1, *rw2;
    int fd1 = memfd_of(sizeof(mem), &rw1);
    fv_listen(&v);
    assert_int_equal(vpp_stats_connect(s), -EINPROGRESS);
    fv_serve(&v, fd1);
    assert_int_equal(vpp_stats_read_lb(s, &c), 0);
    assert_int_equal(c.n, 2);

    /* VPP restarts: a new socket file (on tmpfs often with the same inode
     * number), a new segment of another size */
    fv_stop(&v);
    uint32_t lens2[2] = { 5, 5 };
    sb_vpp(&b, mem, SMALL, lens2, true);
    int fd2 = memfd_of(SMALL, &rw2);
    fv_listen(&v);
    assert_int_equal(vpp_stats_read_lb(s, &c), -EINPROGRESS);
    assert_int_equal(vpp_stats_info(s)->remaps, 1);
    fv_serve(&v, fd2);
    assert_int_equal(vpp_stats_read_lb(s, &c), 0);
    assert_int_equal(c.n, 5);
    assert_int_equal(vpp_stats_info(s)->size, SMALL);
    assert_int_equal(vpp_stats_info(s)->connects, 2);

    /* the heartbeat moves: no remap; it stops: remap */
    for (int i = 0; i < 4; i++) {
        usleep(80000);
        rw2[b.dir + 8] += 1; /* entry 0 (/sys/heartbeat): its value */
        assert_int_equal(vpp_stats_read_lb(s, &c), 0);
    }
    assert_int_equal(vpp_stats_info(s)->remaps, 1);
    usleep(300000);
    assert_int_equal(vpp_stats_read_lb(s, &c), -EINPROGRESS);
    assert_int_equal(vpp_stats_info(s)->remaps, 2);
    fv_serve(&v, fd2);
    assert_int_equal(vpp_stats_read_lb(s, &c), 0);

    /* VPP gone */
    fv_stop(&v);
    assert_int_equal(vpp_stats_read_lb(s, &c), -ENOENT);
    assert_non_null(strstr(vpp_stats_error(s), "remapping because the stats socket is gone"));
    assert_false(vpp_stats_is_connected(s));
    assert_int_equal(c.n, 5); /* the last good values stay */

    munmap(rw1, sizeof(mem));
    munmap(rw2, SMALL);
    close(fd1);
    close(fd2);
    vpp_lb_counters_free(&c);
    vpp_stats_free(s);
    fv_done(&v);
}

/* --- against vppsim ---------------------------------------------------------- */

/* Calls fn until it stops saying "not yet" (vppsim answers from its loop). */
static int settle(struct vpp_stats *s, struct vpp_lb_counters *c)
{
    int rc = -EINPROGRESS;
    for (int i = 0; i < 200; i++) {
        rc = vpp_stats_read_lb(s, c);
        if (rc != -EINPROGRESS && rc != -ENOENT && rc != -ECONNREFUSED && rc != -EAGAIN)
            break;
        usleep(10000);
    }
    return rc;
}

static void test_against_vppsim(void **state)
{
    char dir[] = "/tmp/vppstatsimXXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/stats.sock", dir);
    const char *extra[] = { "--stats-socket", path, "--stats-interval", "0.05", NULL };
    struct vppsim v;
    assert_int_equal(vppsim_start(&v, extra), 0);
    struct vpp_stats *s = vpp_stats_new(path, NULL);
    struct vpp_lb_counters c = { 0 };
    assert_int_equal(settle(s, &c), 0);
    assert_false(c.present);

    vppsim_do(&v, "{\"cmd\":\"vip-add\",\"prefix\":\"198.19.0.10/32\",\"protocol\":6,\"port\":80}");
    vppsim_do(&v, "{\"cmd\":\"vip-add\",\"prefix\":\"2001:db8::10/128\"}");
    vppsim_do(&v, "{\"cmd\":\"counters\",\"prefix\":\"198.19.0.10/32\",\"protocol\":6,"
                  "\"port\":80,\"existing\":5,\"first\":3,\"untracked\":2,\"noserver\":1,"
                  "\"packets\":11,\"bytes\":1100}");
    vppsim_do(&v, "{\"cmd\":\"counters\",\"prefix\":\"198.19.0.10/32\",\"protocol\":6,"
                  "\"port\":80,\"first\":4,\"thread\":1,\"packets\":1,\"bytes\":60}");
    vppsim_do(&v, "{\"cmd\":\"counters\",\"prefix\":\"2001:db8::10/128\",\"untracked\":9}");
    assert_int_equal(vpp_stats_read_lb(s, &c), 0);
    assert_true(c.present);
    assert_true(c.n >= 3);
    assert_int_equal(c.vip[1].c[VPP_STATS_LB_EXISTING], 5);
    assert_int_equal(c.vip[1].c[VPP_STATS_LB_FIRST], 7);
    assert_int_equal(c.vip[1].c[VPP_STATS_LB_UNTRACKED], 2);
    assert_int_equal(c.vip[1].c[VPP_STATS_LB_NO_SERVER], 1);
    assert_int_equal(c.vip[2].c[VPP_STATS_LB_UNTRACKED], 9);
    struct jv *r = vppsim_ok(&v, "{\"cmd\":\"counters-get\",\"index\":1}");
    assert_int_equal((uint64_t)jv_num(jv_path(r, "counters", "first", NULL), -1), 7);
    uint32_t route = (uint32_t)jv_num(jv_get(r, "route_index"), -1);
    jv_free(r);
    uint32_t idx[2] = { route, route + 1 };
    uint64_t p[2], b[2];
    assert_int_equal(vpp_stats_read_route(s, idx, 2, p, b), 0);
    assert_int_equal(p[0], 12);
    assert_int_equal(b[0], 1160);
    assert_int_equal(p[1], 0);

    uint64_t hb1, hb2;
    assert_int_equal(vpp_stats_read_heartbeat(s, &hb1), 0);
    usleep(200000);
    assert_int_equal(vpp_stats_read_heartbeat(s, &hb2), 0);
    assert_true(hb2 > hb1);

    /* VPP restarts: a new socket file and segment, no LB counters yet */
    vppsim_do(&v, "{\"cmd\":\"restart\",\"down\":0.1}");
    usleep(300000);
    assert_int_equal(settle(s, &c), 0);
    assert_false(c.present);
    assert_int_equal(vpp_stats_info(s)->remaps, 1);
    assert_int_equal(vpp_stats_info(s)->connects, 2);

    vpp_lb_counters_free(&c);
    vpp_stats_free(s);
    vppsim_stop(&v);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lb_two_threads),
        cmocka_unit_test(test_thread_shorter_than_index),
        cmocka_unit_test(test_missing_counters),
        cmocka_unit_test(test_route_to),
        cmocka_unit_test(test_busy),
        cmocka_unit_test(test_epoch_changed_during_read),
        cmocka_unit_test(test_name_cache),
        cmocka_unit_test(test_bad_pointers),
        cmocka_unit_test(test_lengths_past_the_end),
        cmocka_unit_test(test_loops_and_names),
        cmocka_unit_test(test_wrong_version_and_stale),
        cmocka_unit_test(test_real_io),
        cmocka_unit_test(test_restart),
        cmocka_unit_test(test_against_vppsim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
