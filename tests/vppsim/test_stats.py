"""vppsim's stats segment, checked with a small reader of its own written
from PROTOCOL.md section 8 (not from tools/vppsim/stats.py nor from
maglevd's C reader): the socket hands out a memfd, the layout walks, the
LB counters and /net/route/to follow control increments and new VIPs, and
`show lb vips verbose` prints the same numbers."""
import mmap
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

import pytest

from test_vppsim import VPPSIM, Client, Control, addr, cli, wait_for

LB = ["packet from existing sessions", "first session packet",
      "untracked packet", "no server configured"]
KEYS = ["existing", "first", "untracked", "noserver"]


# --- an independent reader ---------------------------------------------------
class Seg:
    """A read-only view of a stats segment (layout version 2)."""

    def __init__(self, fd):
        self.size = os.fstat(fd).st_size
        self.m = mmap.mmap(fd, self.size, mmap.MAP_SHARED, mmap.PROT_READ)
        self.ino = os.fstat(fd).st_ino

    def close(self):
        self.m.close()

    def u64(self, off):
        return struct.unpack_from("<Q", self.m, off)[0]

    def header(self):
        keys = ("version", "base", "epoch", "in_progress", "directory")
        return dict(zip(keys, struct.unpack_from("<5Q", self.m, 0)))

    def at(self, ptr, length):
        """VPP address -> offset, checked to lie in the mapping."""
        off = ptr - self.header()["base"]
        assert 40 <= off and off + length <= self.size, hex(ptr)
        assert off % 8 == 0
        return off

    def vec(self, ptr, elt):
        """(offset of element 0, length); NULL is empty."""
        if ptr == 0:
            return 0, 0
        n = struct.unpack_from("<I", self.m, self.at(ptr - 8, 8))[0]
        return self.at(ptr, n * elt), n

    def directory(self):
        off, n = self.vec(self.header()["directory"], 144)
        out = []
        for i in range(n):
            typ, _, val, name = struct.unpack_from("<IIQ128s", self.m,
                                                   off + 144 * i)
            assert b"\0" in name
            out.append((typ, val, name.split(b"\0")[0].decode()))
        return out

    def find(self, name):
        for typ, val, nm in self.directory():
            if nm == name and typ != 5:
                return typ, val
        return None

    def per_thread(self, name, words):
        """[[object values]] per thread; an object is an int (simple) or
        a (packets, bytes) tuple (combined)."""
        typ, data = self.find(name)
        assert typ == (2 if words == 1 else 3)
        toff, nt = self.vec(data, 8)
        rows = []
        for t in range(nt):
            voff, n = self.vec(self.u64(toff + 8 * t), 8 * words)
            vals = struct.unpack_from("<%dQ" % (n * words), self.m, voff)
            rows.append(list(vals) if words == 1 else
                        [tuple(vals[2 * i:2 * i + 2]) for i in range(n)])
        return rows

    def total(self, name, i, words=1):
        s = [0] * words
        for row in self.per_thread(name, words):
            if i < len(row):
                v = row[i] if words == 2 else (row[i],)
                s = [a + b for a, b in zip(s, v)]
        return s[0] if words == 1 else tuple(s)

    def lb(self, i):
        return {k: self.total(n, i) for k, n in zip(KEYS, LB)}


def get_fd(path):
    """As a stats client does: connect, take the fd, the peer closes."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(3)
    s.connect(path)
    msg, fds, _, _ = socket.recv_fds(s, 16, 4)
    assert msg == b"" and len(fds) == 1
    assert s.recv(16) == b""          # then closed
    s.close()
    return fds[0]


class StatsSim:
    def __init__(self, *args):
        self.dir = tempfile.mkdtemp(prefix="vppsim-stats")
        self.sock = os.path.join(self.dir, "api.sock")
        self.ctl_path = os.path.join(self.dir, "ctl.sock")
        self.stats = os.path.join(self.dir, "stats.sock")
        self.proc = subprocess.Popen(
            [sys.executable, VPPSIM, "--socket", self.sock, "--control",
             self.ctl_path, "--stats-socket", self.stats,
             "--stats-interval", "0.1"] + list(args),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for(lambda: all(os.path.exists(p) for p in
                             (self.sock, self.ctl_path, self.stats)),
                 "vppsim start")
        self.ctl = Control(self.ctl_path)

    def call(self, cmd, **kw):
        return self.ctl.call(cmd, **kw)

    def seg(self):
        fd = get_fd(self.stats)
        try:
            return Seg(fd)
        finally:
            os.close(fd)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def ss():
    s = StatsSim()
    yield s
    s.stop()


def vip(ss, pfx, port=80, proto=6):
    assert ss.call("vip-add", prefix=pfx, protocol=proto,
                   port=port)["retval"] == 0
    return next(v["index"] for v in ss.call("state")["state"]["vips"]
                if v["prefix"] == pfx and v["port"] == port
                and not v["deleted"])


# --- tests -------------------------------------------------------------------
def test_socket_hands_out_the_segment(ss):
    seg = ss.seg()
    h = seg.header()
    assert h["version"] == 2 and h["in_progress"] == 0
    assert h["base"] != 0 and seg.size >= 1 << 20
    names = [n for _, _, n in seg.directory()]
    assert "/sys/heartbeat" in names and "/net/route/to" in names
    assert not any(n in names for n in LB)      # no VIP yet
    assert seg.find("/sys/heartbeat")[0] == 1   # SCALAR_INDEX
    rows = seg.per_thread("/net/route/to", 2)
    assert len(rows) == 2 and all(len(r) >= 1000 for r in rows)
    # the heartbeat moves (--stats-interval 0.1) without epoch changes
    hb, ep = seg.find("/sys/heartbeat")[1], h["epoch"]
    wait_for(lambda: seg.find("/sys/heartbeat")[1] >= hb + 2, "heartbeat")
    assert seg.header()["epoch"] == ep
    # every connection gets the same segment
    other = ss.seg()
    assert other.ino == seg.ino
    assert ss.call("state")["state"]["stats"]["stats_connects"] == 2
    seg.close()
    other.close()


def test_first_vip_creates_counters_and_increments(ss):
    seg = ss.seg()
    ep = seg.header()["epoch"]
    i1 = vip(ss, "198.19.0.10/32")
    i2 = vip(ss, "198.19.0.11/32", port=443)
    assert seg.header()["epoch"] > ep and seg.header()["in_progress"] == 0
    for name in LB:
        rows = seg.per_thread(name, 1)
        assert len(rows) == 2 and all(len(r) > i2 for r in rows)
        assert all(x == 0 for r in rows for x in r)
    ss.call("counters", prefix="198.19.0.10/32", protocol=6, port=80,
            first=3, existing=10, untracked=1, noserver=2)
    r = ss.call("counters", prefix="198.19.0.10/32", protocol=6, port=80,
                first=4, existing=5, thread=1)
    assert r["counters"] == {"existing": 15, "first": 7, "untracked": 1,
                             "noserver": 2}
    assert seg.lb(i1) == r["counters"]
    assert seg.per_thread("first session packet", 1)[1][i1] == 4
    assert seg.lb(i2) == dict.fromkeys(KEYS, 0)
    # VIP index 0 (per-port mismatches are counted there)
    ss.call("counters", index=0, noserver=9)
    assert seg.lb(0)["noserver"] == 9
    got = ss.call("counters-get")
    assert [v["index"] for v in got["vips"]] == [i1, i2]
    assert got["vips"][0]["counters"] == seg.lb(i1)
    assert got["threads"] == 2 and got["epoch"] == seg.header()["epoch"]
    seg.close()


def test_route_to_at_the_lookup_stats_index(ss):
    vip(ss, "198.19.0.20/32")
    vip(ss, "2001:db8::20/128", port=0, proto=255)
    c = Client(ss.sock)
    c.ids["ip_route_lookup"] = c.table["ip_route_lookup_710d6471"]
    c.ids["ip_route_lookup_reply"] = c.table["ip_route_lookup_reply_5d8febcb"]
    seg = ss.seg()
    for pfx, port, proto in (("198.19.0.20/32", 80, 6),
                             ("2001:db8::20/128", 0, 255)):
        a, ln = pfx.split("/")
        rv, body = c.call("ip_route_lookup", struct.pack(">IB", 0, 1)
                          + addr(a) + bytes([int(ln)]))
        assert rv == 0
        sidx = struct.unpack_from(">I", body, 14)[0]
        r = ss.call("counters", prefix=pfx, protocol=proto, port=port,
                    packets=7, bytes=700)
        r = ss.call("counters", prefix=pfx, protocol=proto, port=port,
                    packets=1, bytes=60, thread=1)
        assert r["route_index"] == sidx
        assert seg.total("/net/route/to", sidx, 2) == (8, 760)
        assert (r["packets"], r["bytes"]) == (8, 760)
    seg.close()


def lookup(c, pfx, table=0, exact=1):
    """ip_route_lookup -> (retval, table_id, stats_index, reply prefix
    bytes (18), n_paths)."""
    if "ip_route_lookup" not in c.ids:
        c.ids["ip_route_lookup"] = c.table["ip_route_lookup_710d6471"]
        c.ids["ip_route_lookup_reply"] = \
            c.table["ip_route_lookup_reply_5d8febcb"]
    a, ln = pfx.split("/")
    rv, body = c.call("ip_route_lookup", struct.pack(">IB", table, exact)
                      + addr(a) + bytes([int(ln)]))
    tid, sidx = struct.unpack_from(">II", body, 10)
    return rv, tid, sidx, bytes(body[18:36]), body[36]


def test_route_lookup_follows_the_vip_prefixes(ss):
    """One FIB entry per VIP prefix (table 0), made with its first VIP,
    shared by the per-port VIPs of the prefix, gone when its last VIP is
    deleted (not at GC); stats_index stable meanwhile; a new route's
    /net/route/to slot starts at 0; freed indexes are reused."""
    c = Client(ss.sock)
    seg = ss.seg()
    assert lookup(c, "198.19.5.1/32") == (-6, 0, 0, bytes(18), 0)
    vip(ss, "198.19.5.1/32", port=80)
    rv, tid, web, pfx, npaths = lookup(c, "198.19.5.1/32")
    assert (rv, tid, npaths) == (0, 0, 0) and web >= 1000
    assert pfx == addr("198.19.5.1") + bytes([32])
    tls = vip(ss, "198.19.5.1/32", port=443)    # the same prefix: same entry
    assert lookup(c, "198.19.5.1/32")[2] == web
    r = ss.call("route-counters", prefix="198.19.5.1/32", packets=3,
                bytes=300)
    assert (r["route_index"], r["packets"], r["bytes"]) == (web, 3, 300)
    ss.call("route-counters", prefix="198.19.5.1/32", packets=1, bytes=50,
            thread=1)
    for port in (80, 443):                      # every VIP of it sees it
        g = ss.call("counters-get", prefix="198.19.5.1/32", protocol=6,
                    port=port)
        assert (g["route_index"], g["packets"], g["bytes"]) == (web, 4, 350)
    assert seg.total("/net/route/to", web, 2) == (4, 350)
    # exact match only, host bits masked, other tables have nothing
    assert lookup(c, "198.19.5.0/24")[0] == -6
    assert lookup(c, "198.19.5.1/32", table=1)[0] == -6
    vip(ss, "2001:db8::5/128", port=0, proto=255)
    rv, _, six, pfx, _ = lookup(c, "2001:db8::5/128")
    assert rv == 0 and six not in (web,) and pfx[0] == 1 and pfx[17] == 128
    # one port VIP deleted: the entry stays, same index, counters kept
    assert ss.call("vip-del", prefix="198.19.5.1/32", protocol=6,
                   port=80)["retval"] == 0
    assert lookup(c, "198.19.5.1/32")[2] == web
    assert seg.total("/net/route/to", web, 2) == (4, 350)
    # the last one: the route goes at once (the VIP lingers until GC)
    assert ss.call("vip-del", prefix="198.19.5.1/32", protocol=6,
                   port=443)["retval"] == 0
    assert lookup(c, "198.19.5.1/32") == (-6, 0, 0, bytes(18), 0)
    with pytest.raises(RuntimeError, match="no route"):
        ss.call("route-counters", prefix="198.19.5.1/32", packets=1)
    g = ss.call("counters-get", index=tls)      # deleted, not collected
    assert g["deleted"] and g["route_index"] is None
    assert (g["packets"], g["bytes"]) == (0, 0)
    # another prefix gets the freed index, its counter zeroed
    vip(ss, "198.19.5.2/32", port=80)
    assert lookup(c, "198.19.5.2/32")[2] == web
    assert seg.total("/net/route/to", web, 2) == (0, 0)
    seg.close()


def test_growth_reuse_and_busy(ss):
    seg = ss.seg()
    first = vip(ss, "198.19.1.0/32")
    route = ss.call("counters", prefix="198.19.1.0/32", protocol=6, port=80,
                    first=42, packets=1, bytes=2)["route_index"]
    data_before = seg.find("first session packet")[1]
    tv_before = seg.per_thread("first session packet", 1)
    for i in range(1, 40):                 # vectors reallocated, epoch bumps
        vip(ss, "198.19.1.%d/32" % i)
    assert seg.find("first session packet")[1] == data_before
    rows = seg.per_thread("first session packet", 1)
    assert all(len(r) >= 40 for r in rows) and len(tv_before[0]) < 40
    assert seg.lb(first)["first"] == 42    # kept across the realloc
    assert seg.total("/net/route/to", route, 2) == (1, 2)
    # delete, collect, add again: the index is reused and zeroed
    assert ss.call("vip-del", prefix="198.19.1.0/32", protocol=6,
                   port=80)["retval"] == 0
    ss.call("gc")
    again = vip(ss, "198.19.2.0/32")
    assert again == first
    assert seg.lb(again) == dict.fromkeys(KEYS, 0)
    # the freed load-balance index went to the new route, zeroed
    r = ss.call("counters-get", prefix="198.19.2.0/32", protocol=6, port=80)
    assert r["route_index"] == route
    assert seg.total("/net/route/to", route, 2) == (0, 0)
    # a VPP stuck mid-update, a stopped heartbeat
    ep = seg.header()["epoch"]
    assert ss.call("stats-fault", busy=True)["busy"] is True
    assert seg.header()["in_progress"] == 1
    vip(ss, "198.19.3.0/32")
    assert seg.header()["in_progress"] == 1 and seg.header()["epoch"] > ep
    ss.call("stats-fault", busy=False, heartbeat=False)
    assert seg.header()["in_progress"] == 0
    hb = seg.find("/sys/heartbeat")[1]
    time.sleep(0.35)
    assert seg.find("/sys/heartbeat")[1] == hb
    seg.close()


def test_show_lb_vips_verbose_agrees(ss):
    i1 = vip(ss, "198.19.0.30/32")
    i2 = vip(ss, "198.19.0.31/32")
    ss.call("counters", prefix="198.19.0.30/32", protocol=6, port=80,
            existing=123, first=45, untracked=6, noserver=7)
    ss.call("counters", prefix="198.19.0.31/32", protocol=6, port=80,
            first=2, thread=1)
    ss.call("counters", prefix="198.19.0.31/32", protocol=6, port=80,
            first=3)
    c = Client(ss.sock)
    rv, text = cli(c, "show lb vips verbose")
    assert rv == 0
    seg = ss.seg()
    shown = {}
    for block in text.split("\n\n"):
        m = re.search(r"\[(\d+)\]", block)
        if not m:
            continue
        shown[int(m.group(1))] = {
            k: int(re.search(r"    %s: (\d+)\n" % n, block).group(1))
            for k, n in zip(KEYS, LB)}
    assert shown[i1] == seg.lb(i1) == {"existing": 123, "first": 45,
                                       "untracked": 6, "noserver": 7}
    assert shown[i2] == seg.lb(i2) == {"existing": 0, "first": 5,
                                       "untracked": 0, "noserver": 0}
    seg.close()


def test_restart_new_segment(ss):
    seg = ss.seg()
    vip(ss, "198.19.0.40/32")
    ss.call("restart", down=0.2)
    wait_for(lambda: ss.call("state")["state"]["stats_listening"],
             "stats socket back")
    new = ss.seg()
    assert new.ino != seg.ino
    assert not any(n in LB for _, _, n in new.directory())
    # the old one is frozen: its heartbeat stops
    hb = seg.find("/sys/heartbeat")[1]
    time.sleep(0.3)
    assert seg.find("/sys/heartbeat")[1] == hb
    assert new.find("/sys/heartbeat")[1] > 0
    assert os.path.exists(ss.stats)
    seg.close()
    new.close()


def test_counters_errors(ss):
    with pytest.raises(RuntimeError, match="no LB counter"):
        ss.call("counters", index=1, first=1)
    with pytest.raises(RuntimeError, match="no VIP"):
        ss.call("counters", prefix="198.19.9.9/32", first=1)
    vip(ss, "198.19.0.50/32")
    with pytest.raises(RuntimeError, match="thread is"):
        ss.call("counters", prefix="198.19.0.50/32", protocol=6, port=80,
                first=1, thread=2)
    with pytest.raises(RuntimeError, match=">= 0"):
        ss.call("counters", prefix="198.19.0.50/32", protocol=6, port=80,
                first=-1)
    with pytest.raises(RuntimeError, match="prefix"):
        ss.call("counters", first=1)


def test_without_stats_socket_counters_still_show():
    d = tempfile.mkdtemp(prefix="vppsim-nostats")
    sock, ctl = os.path.join(d, "api.sock"), os.path.join(d, "ctl.sock")
    p = subprocess.Popen([sys.executable, VPPSIM, "--socket", sock,
                          "--control", ctl, "--stats-threads", "1"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: os.path.exists(sock) and os.path.exists(ctl),
                 "vppsim start")
        k = Control(ctl)
        k.call("vip-add", prefix="198.19.0.60/32")
        r = k.call("counters", prefix="198.19.0.60/32", first=11)
        assert r["counters"]["first"] == 11
        assert k.call("state")["state"]["stats_listening"] is False
        assert k.call("counters-get")["threads"] == 1
    finally:
        p.terminate()
        p.wait(5)
        shutil.rmtree(d, ignore_errors=True)
