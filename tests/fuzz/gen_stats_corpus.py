#!/usr/bin/python3
"""Writes the seed corpus of fuzz_vpp_stats: small, valid VPP stats segments
(layout version 2, shared/vpp/PROTOCOL.md section 8) with the base the
fuzzer pins (FUZZ_BASE in fuzz_vpp_stats.c).

    tests/fuzz/gen_stats_corpus.py [OUTDIR]   (default tests/fuzz/corpus-stats)

Deterministic; the output is committed, rerunning must leave it unchanged.
"""
import os
import struct
import sys

BASE = 0x7f3a12000000
ENTRY = 144
SCALAR, SIMPLE, COMBINED, NAMES, EMPTY, SYMLINK = 1, 2, 3, 4, 5, 6
LB = ["packet from existing sessions", "first session packet",
      "untracked packet", "no server configured"]


class Seg:
    def __init__(self, cap):
        self.b = bytearray(40)
        self.cap = cap
        self.dir = self.vec(cap, ENTRY)
        self.n = 0
        struct.pack_into("<QQQQQ", self.b, 0, 2, BASE, 1, 0, BASE + self.dir)

    def vec(self, n, elt):
        """vec_header_t (u32 len + 4 bytes) then n elements; -> data offset."""
        while len(self.b) % 8:
            self.b.append(0)
        hdr = len(self.b)
        self.b += struct.pack("<IBBBB", n, 0, 0, 0, 0) + bytes(n * elt)
        return hdr + 8

    def entry(self, typ, name, value):
        assert self.n < self.cap
        off = self.dir + self.n * ENTRY
        struct.pack_into("<IIQ128s", self.b, off, typ, 0, value, name.encode())
        self.n += 1
        struct.pack_into("<I", self.b, self.dir - 8, self.n)
        return self.n - 1

    def counter(self, rows, words):
        """rows[t] = list of values (words=1) or (packets, bytes) pairs."""
        tv = self.vec(len(rows), 8)
        for t, row in enumerate(rows):
            v = self.vec(len(row), 8 * words)
            struct.pack_into("<Q", self.b, tv + 8 * t, BASE + v)
            for i, x in enumerate(row):
                xs = x if words == 2 else (x,)
                struct.pack_into("<%dQ" % words, self.b, v + 8 * words * i,
                                 *xs)
        return BASE + tv

    def names(self, strs):
        nv = self.vec(len(strs), 8)
        for i, s in enumerate(strs):
            if s is None:
                continue
            v = self.vec(len(s) + 1, 1)
            self.b[v:v + len(s)] = s.encode()
            struct.pack_into("<Q", self.b, nv + 8 * i, BASE + v)
        return BASE + nv

    def data(self):
        return bytes(self.b)


def lb_segment(threads, vips):
    s = Seg(10)
    s.entry(SCALAR, "/sys/heartbeat", 12)
    s.entry(COMBINED, "/net/route/to",
            s.counter([[(t + i, 100 * (t + i)) for i in range(4)]
                       for t in range(threads)], 2))
    s.entry(EMPTY, "", 0)
    for k, name in enumerate(LB):
        s.entry(SIMPLE, name, s.counter(
            [[k * 100 + t * 10 + i for i in range(vips - t)]
             for t in range(threads)], 1))
    # the last 16 bytes: the route indexes the fuzzer reads
    s.b += struct.pack("<IIII", 0, 1, 3, 1000)
    return s.data()


def misc_segment():
    s = Seg(8)
    s.entry(SCALAR, "/sys/boottime", 1700000000)
    errs = s.entry(SIMPLE, "/node/errors", s.counter([[1, 2, 3], [4, 5]], 1))
    s.entry(SYMLINK, "/err/lb4-gre4/no error", errs | (1 << 32))
    s.entry(SYMLINK, "/err/lb4-gre4/protocol not supported", errs | (2 << 32))
    s.entry(NAMES, "/if/names", s.names(["local0", None, "tap0"]))
    s.entry(9, "/sys/vector_rate", 3)
    s.entry(SCALAR, "/sys/heartbeat", 5)
    return s.data()


def empty_segment():
    s = Seg(2)
    s.entry(SCALAR, "/sys/heartbeat", 1)
    return s.data()


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus-stats")
    os.makedirs(out, exist_ok=True)
    seeds = {
        "lb-2threads": lb_segment(2, 4),
        "lb-1thread-8vips": lb_segment(1, 8),
        "lb-3threads-short": lb_segment(3, 3),
        "symlinks-names": misc_segment(),
        "no-lb": empty_segment(),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
