"""vppsim stats segment (PROTOCOL.md section 8), written from the layout
notes only — not from maglevd's C reader.

A memfd of `size` bytes (sparse: untouched pages cost nothing) shared
read/write by vppsim and read-only by clients, laid out as VPP's layout
version 2:

  offset 0, 40 bytes, host byte order: version u64 = 2, base (the fake VPP
  address of offset 0), epoch u64, in_progress u64, directory_vector.
  Every pointer is base + offset.  A vector pointer points at element 0;
  the 8 bytes before it are vppinfra's vec_header_t (u32 len, u8 hdr_size,
  u8 log2_align, u8 grow_elts, u8 pad).  The directory is a vector of
  144-byte entries (u32 type, 4 bytes pad, u64 value/data pointer, char
  name[128]).  A simple (combined) counter's data pointer is a vector with
  one pointer per thread to a vector of u64 ({u64 packets, u64 bytes}).

Entries: /sys/heartbeat, /sys/boottime, one EMPTY slot (a deleted entry,
as VPP leaves them), /net/route/to (combined, 1000 load-balance objects to
start with); the LB plugin's four simple counters appear with the first
VIP.  Changes to the directory or reallocations of counter vectors are
bracketed like VPP's: in_progress = 1, change, epoch += 1, in_progress = 0.
Counter increments and the heartbeat are plain stores.
"""
import contextlib
import mmap
import os
import struct
import time

VERSION = 2
HDR_SIZE = 40
ENTRY_SIZE = 144
NAME_MAX = 128
# stat_directory_type_t
SCALAR_INDEX, COUNTER_SIMPLE, COUNTER_COMBINED, NAME_VECTOR, EMPTY, SYMLINK = \
    range(1, 7)

HEARTBEAT = "/sys/heartbeat"
BOOTTIME = "/sys/boottime"
ROUTE_TO = "/net/route/to"
# the LB plugin registers its counters under their display names
LB_COUNTERS = ["packet from existing sessions", "first session packet",
               "untracked packet", "no server configured"]
LB_KEYS = ["existing", "first", "untracked", "noserver"]   # control names
ROUTE_BASE = 1000            # /net/route/to's length to start with
DEFAULT_SIZE = 32 << 20      # VPP's default `statseg { size }`
DEFAULT_BASE = 0x7f1c40000000
CACHE_LINE = 64
U64 = (1 << 64) - 1


class SegmentFull(Exception):
    pass


class Segment:
    def __init__(self, size=DEFAULT_SIZE, threads=2, base=DEFAULT_BASE):
        if size < 4096 or not 1 <= threads <= 256:
            raise ValueError("stats segment: size >= 4096, threads 1..256")
        size = -(-size // 4096) * 4096
        self.size, self.threads, self.base = size, threads, base
        self.fd = os.memfd_create("vppsim-stats", os.MFD_CLOEXEC)
        os.ftruncate(self.fd, size)
        self.mm = mmap.mmap(self.fd, size)            # MAP_SHARED, rw
        self.q = memoryview(self.mm).cast("Q")        # whole 8-byte stores
        self.top = CACHE_LINE                         # bump allocator
        self.free = []                                # [(off, size)]
        self.blocks = {}                              # data off -> block
        self.caps = {}                                # data off -> capacity
        self.depth = 0
        self.busy = False                             # control stats-fault
        self.index = {}                               # name -> entry index
        self.counters = {}                            # name -> words
        self.n = 0
        self.dir = 0
        self.put(0, VERSION)
        self.put(8, base)
        with self.update():
            self.dir = self.vec_alloc(0, ENTRY_SIZE, 8, cap=64)
            self.put(32, self.ptr(self.dir))
            self.add_entry(SCALAR_INDEX, HEARTBEAT, 0)
            self.add_entry(SCALAR_INDEX, BOOTTIME, int(time.time()))
            self.add_entry(EMPTY, "", 0)
            self.add_counter(ROUTE_TO, 2, ROUTE_BASE)

    def close(self):
        """vppsim's side only: a client's mapping stays valid (and frozen)."""
        if self.mm is None:
            return
        self.q.release()
        self.mm.close()
        os.close(self.fd)
        self.mm = self.q = None

    # --- raw access --------------------------------------------------------
    def put(self, off, v):
        self.q[off // 8] = v & U64

    def get(self, off):
        return self.q[off // 8]

    def ptr(self, off):
        return self.base + off if off else 0

    def off(self, ptr):
        return ptr - self.base if ptr else 0

    @contextlib.contextmanager
    def update(self):
        """What VPP does around directory changes and vector reallocs."""
        self.depth += 1
        if self.depth == 1:
            self.put(24, 1)
        try:
            yield
        finally:
            self.depth -= 1
            if self.depth == 0:
                self.put(16, self.get(16) + 1)
                self.put(24, 1 if self.busy else 0)

    def set_busy(self, busy):
        self.busy = bool(busy)
        if self.depth == 0:
            self.put(24, 1 if self.busy else 0)

    @property
    def epoch(self):
        return self.get(16)

    # --- vectors -----------------------------------------------------------
    def alloc(self, nbytes, align):
        for i, (o, sz) in enumerate(self.free):
            start = -(-o // align) * align
            if start + nbytes <= o + sz:
                del self.free[i]
                return o, sz, start
        o = self.top
        start = -(-o // align) * align
        if start + nbytes > self.size:
            raise SegmentFull("stats segment full (%d bytes)" % self.size)
        self.top = start + nbytes
        return o, self.top - o, start

    def vec_alloc(self, n, elt, align, cap=None):
        """A zeroed vector of n elements (room for cap) -> data offset."""
        cap = max(n, cap or 0)
        blk, bsz, start = self.alloc(8 + cap * elt + align, align)
        data = -(-(start + 8) // align) * align
        self.mm[data - 8:data + cap * elt] = bytes(8 + cap * elt)
        struct.pack_into("<IBBBB", self.mm, data - 8, n, 0,
                         align.bit_length() - 1, 0, 0)
        self.blocks[data] = (blk, bsz)
        self.caps[data] = cap
        return data

    def vec_free(self, data):
        self.free.append(self.blocks.pop(data))
        del self.caps[data]

    def vec_len(self, data):
        return struct.unpack_from("<I", self.mm, data - 8)[0] if data else 0

    def vec_grow(self, data, n, elt, align):
        """vec_validate: length n, reallocated (moved) when over capacity;
        -> the (new) data offset. Call inside update()."""
        old = self.vec_len(data)
        if n <= old:
            return data
        if data and n <= self.caps[data]:
            self.mm[data + old * elt:data + n * elt] = bytes((n - old) * elt)
            struct.pack_into("<I", self.mm, data - 8, n)
            return data
        new = self.vec_alloc(n, elt, align, cap=n + n // 2)
        if data:
            self.mm[new:new + old * elt] = self.mm[data:data + old * elt]
            self.vec_free(data)
        return new

    # --- directory ---------------------------------------------------------
    def entry_off(self, i):
        return self.dir + i * ENTRY_SIZE

    def add_entry(self, typ, name, value):
        raw = name.encode()
        if len(raw) >= NAME_MAX:
            raise ValueError("stats name too long: %r" % name)
        with self.update():
            self.dir = self.vec_grow(self.dir, self.n + 1, ENTRY_SIZE, 8)
            self.put(32, self.ptr(self.dir))
            e = self.entry_off(self.n)
            struct.pack_into("<II", self.mm, e, typ, 0)
            self.put(e + 8, value)
            self.mm[e + 16:e + 16 + NAME_MAX] = raw.ljust(NAME_MAX, b"\0")
            self.index[name] = self.n
            self.n += 1

    def scalar(self, name):
        return self.get(self.entry_off(self.index[name]) + 8)

    def set_scalar(self, name, v):
        self.put(self.entry_off(self.index[name]) + 8, v)

    def heartbeat(self):
        self.set_scalar(HEARTBEAT, self.scalar(HEARTBEAT) + 1)

    # --- counters ----------------------------------------------------------
    def add_counter(self, name, words, length):
        with self.update():
            tv = self.vec_alloc(self.threads, 8, 8)
            for t in range(self.threads):
                self.put(tv + 8 * t, self.ptr(
                    self.vec_alloc(length, 8 * words, CACHE_LINE)))
            self.counters[name] = words
            self.add_entry(COUNTER_SIMPLE if words == 1 else COUNTER_COMBINED,
                           name, self.ptr(tv))

    def thread_vecs(self, name):
        tv = self.off(self.get(self.entry_off(self.index[name]) + 8))
        return tv, [self.off(self.get(tv + 8 * t))
                    for t in range(self.vec_len(tv))]

    def counter_len(self, name):
        if name not in self.counters:
            return 0
        return min(self.vec_len(v) for v in self.thread_vecs(name)[1])

    def grow_counter(self, name, length):
        """vlib_validate_*_counter: every thread's vector >= length."""
        words = self.counters[name]
        tv, vecs = self.thread_vecs(name)
        if all(self.vec_len(v) >= length for v in vecs):
            return
        with self.update():
            for t, v in enumerate(vecs):
                self.put(tv + 8 * t, self.ptr(
                    self.vec_grow(v, length, 8 * words, CACHE_LINE)))

    def cell(self, name, thread, index):
        words = self.counters[name]
        return self.thread_vecs(name)[1][thread] + index * 8 * words

    def zero(self, name, index):
        words = self.counters[name]
        for v in self.thread_vecs(name)[1]:
            for w in range(words):
                self.put(v + (index * words + w) * 8, 0)

    def add(self, name, thread, index, *values):
        c = self.cell(name, thread, index)
        for w, x in enumerate(values):
            self.put(c + 8 * w, self.get(c + 8 * w) + x)

    def total(self, name, index):
        """Summed over threads (0 past a vector's end); a tuple of words."""
        if name not in self.counters:
            return (0,) * (2 if name == ROUTE_TO else 1)
        words = self.counters[name]
        out = [0] * words
        for v in self.thread_vecs(name)[1]:
            if index < self.vec_len(v):
                for w in range(words):
                    out[w] += self.get(v + (index * words + w) * 8)
        return tuple(x & U64 for x in out)

    # --- what the LB plugin and the FIB do ---------------------------------
    def vip_added(self, index):
        """lb_vip_add: the four counters validated up to the VIP's index
        (created with the first VIP) and its slot zeroed."""
        if any(self.counter_len(n) <= index for n in LB_COUNTERS):
            with self.update():          # only when something is (re)allocated
                for name in LB_COUNTERS:
                    if name not in self.counters:
                        self.add_counter(name, 1, index + 1)
                    else:
                        self.grow_counter(name, index + 1)
        for name in LB_COUNTERS:
            self.zero(name, index)

    def route_added(self, stats_index):
        """A new FIB entry (load_balance_create): /net/route/to validated up
        to its load-balance index, that slot zeroed."""
        if self.counter_len(ROUTE_TO) <= stats_index:
            with self.update():
                self.grow_counter(ROUTE_TO, stats_index + 1)
        self.zero(ROUTE_TO, stats_index)

    def lb_totals(self, index):
        """{existing, first, untracked, noserver} of VIP index."""
        return {k: self.total(n, index)[0]
                for k, n in zip(LB_KEYS, LB_COUNTERS)}
