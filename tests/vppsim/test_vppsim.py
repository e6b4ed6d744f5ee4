"""vppsim tests with an independent client (layouts from LAYOUTS.md)."""
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VPPSIM = os.path.join(ROOT, "tools", "vppsim", "vppsim.py")
MODEL = "/work/shared/vpp/tools/maglev_counts.py"

CRC = {
    "sockclnt_delete": "8ac76db6", "control_ping": "51077d14",
    "control_ping_reply": "f6b0b8ca", "show_version": "51077d14",
    "show_version_reply": "c919bde1", "lb_conf": "56cd3261",
    "lb_conf_reply": "e8d4e804", "lb_conf_get": "51077d14",
    "lb_conf_get_reply": "923427ac", "lb_add_del_vip_v2": "7c520e0f",
    "lb_add_del_vip_v2_reply": "e8d4e804", "lb_add_del_as_v2": "2f1d3b0e",
    "lb_add_del_as_v2_reply": "e8d4e804", "lb_as_set_weight": "2d89bdbd",
    "lb_as_set_weight_reply": "e8d4e804", "lb_vip_dump": "56110cb7",
    "lb_vip_details": "1329ec9b", "lb_as_v2_dump": "1063f819",
    "lb_as_v2_details": "90064aae", "lb_flush_vip": "1063f819",
    "lb_flush_vip_reply": "e8d4e804", "sockclnt_delete_reply": "8f38b1ee",
}


class Sim:
    def __init__(self, *args):
        self.dir = tempfile.mkdtemp(prefix="vppsim")
        self.sock = os.path.join(self.dir, "api.sock")
        self.state = os.path.join(self.dir, "state.json")
        self.proc = subprocess.Popen(
            [sys.executable, VPPSIM, "--socket", self.sock,
             "--state-file", self.state] + list(args),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(200):
            if os.path.exists(self.sock):
                break
            time.sleep(0.02)
        else:
            raise RuntimeError("vppsim did not start")

    def read_state(self):
        with open(self.state) as f:
            return json.load(f)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(5)


class Client:
    def __init__(self, path, name="test"):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(3)
        self.s.connect(path)
        self.ctx = 0x100
        self.send_raw(struct.pack(">HI64s", 15, 0xabcd, name.encode()))
        body = self.recv()
        mid, _, ctx, resp, self.index, n = struct.unpack_from(">HIIiIH", body)
        assert (mid, ctx, resp) == (16, 0xabcd, 0)
        assert len(body) == 20 + 66 * n
        self.table = {}
        for i in range(n):
            eid, nm = struct.unpack_from(">H64s", body, 20 + 66 * i)
            self.table[nm.split(b"\0")[0].decode()] = eid
        self.ids = {nm: self.table.get("%s_%s" % (nm, c))
                    for nm, c in CRC.items()}

    def send_raw(self, body, dlen=None):
        self.s.sendall(struct.pack(">QII", 0, len(body) if dlen is None
                                   else dlen, 0) + body)

    def recv_exact(self, n):
        b = b""
        while len(b) < n:
            d = self.s.recv(n - len(b))
            if not d:
                raise EOFError
            b += d
        return b

    def recv(self):
        _, n, _ = struct.unpack(">QII", self.recv_exact(16))
        return self.recv_exact(n)

    def req(self, name, payload=b"", ctx=None, cidx=None):
        self.ctx += 1
        ctx = self.ctx if ctx is None else ctx
        self.send_raw(struct.pack(">HII", self.ids[name],
                                  self.index if cidx is None else cidx, ctx)
                      + payload)
        return ctx

    def call(self, name, payload=b""):
        ctx = self.req(name, payload)
        body = self.recv()
        mid, rctx, rv = struct.unpack_from(">HIi", body)
        assert mid == self.ids[name + "_reply"] and rctx == ctx
        return rv, body

    def dump(self, name, payload, details):
        ctx = self.req(name, payload)
        self.req("control_ping", ctx=ctx)
        out = []
        while True:
            body = self.recv()
            mid, rctx = struct.unpack_from(">HI", body)
            assert rctx == ctx
            if mid == self.ids["control_ping_reply"]:
                return out
            assert mid == self.ids[details]
            out.append(body)


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def addr(a):
    if ":" in a:
        return b"\x01" + socket.inet_pton(socket.AF_INET6, a)
    return b"\x00" + ip4(a) + bytes(12)


def vipk(pfx, proto=6, port=80):
    a, ln = pfx.split("/")
    return addr(a) + struct.pack(">BBH", int(ln), proto, port)


def vip_add(pfx, proto=6, port=80, encap=0, nlen=1024, is_del=0, dscp=0,
            srv_type=0, tport=0, sticky=0):
    return (vipk(pfx, proto, port) + struct.pack(">IB", encap, dscp)
            + struct.pack(">IHHI", srv_type, tport, 0, nlen)
            + bytes([sticky, is_del]))


def as_v2(pfx, a, w=100, is_del=0, flush=0, proto=6, port=80):
    return vipk(pfx, proto, port) + addr(a) + bytes([w, is_del, flush])


@pytest.fixture
def sim():
    s = Sim()
    yield s
    s.stop()


def test_handshake_and_table(sim):
    c = Client(sim.sock)
    assert c.index & 0x80000000
    for nm, crc in CRC.items():
        assert c.table.get("%s_%s" % (nm, crc)), nm
    assert c.table["control_ping_51077d14"] == 23
    assert c.table["sockclnt_create_455fb9c4"] == 15
    assert len(set(c.table.values())) == len(c.table)
    st = sim.read_state()
    assert st["clients"] == ["test"]


def test_missing_and_bad_crc():
    s = Sim("--missing", "lb_as_set_weight,lb_as_v2_dump",
            "--bad-crc", "lb_conf", "--pad", "2000")
    try:
        c = Client(s.sock)
        assert len(c.table) > 2000
        names = " ".join(c.table)
        assert "lb_as_set_weight_" not in names
        assert "lb_as_v2_details_" not in names
        assert "lb_conf_56cd3261" not in c.table
        assert "lb_conf_" in names
        assert c.ids["lb_add_del_vip_v2"]
    finally:
        s.stop()
    s = Sim("--old-lb")
    try:
        c = Client(s.sock)
        assert c.ids["lb_conf_get"] is None
        assert c.ids["lb_add_del_as_v2"] is None
        assert c.ids["lb_vip_dump"]
    finally:
        s.stop()


def test_control_ping_and_version(sim):
    c = Client(sim.sock)
    ctx = c.req("control_ping", ctx=0xdeadbeef)
    b = c.recv()
    mid, rctx, rv, cidx, pid = struct.unpack(">HIiII", b)
    assert (mid, rctx, rv, cidx) == (24, 0xdeadbeef, 0, c.index)
    assert pid == sim.proc.pid and ctx == 0xdeadbeef
    rv, b = c.call("show_version")
    assert rv == 0 and len(b) == 362
    assert b[10:42].split(b"\0")[0] == b"vpe"
    assert b[42:74].split(b"\0")[0] == b"26.10-rc0~374-gb575ec2c5"
    s2 = Sim("--version", "26.06-release")
    try:
        assert Client(s2.sock).call("show_version")[1][42:55] == \
            b"26.06-release"
    finally:
        s2.stop()


def test_wrong_client_index_gets_no_reply(sim):
    c = Client(sim.sock)
    c.req("control_ping", cidx=0)
    c.req("control_ping", ctx=7)
    assert struct.unpack_from(">HI", c.recv()) == (24, 7)


def test_lb_conf(sim):
    c = Client(sim.sock)
    rv, b = c.call("lb_conf_get")
    assert rv == 0 and len(b) == 38
    assert b[10:30] == b"\xff" * 20
    assert struct.unpack_from(">II", b, 30) == (1024, 40)
    assert c.call("lb_conf", ip4("10.0.0.1") + bytes(16)
                  + struct.pack(">II", 1000, 30))[0] == -70
    assert c.call("lb_conf", ip4("10.0.0.1") + bytes(16)
                  + struct.pack(">II", 0xffffffff, 30))[0] == 0
    b = c.call("lb_conf_get")[1]
    assert b[10:14] == ip4("10.0.0.1")
    assert struct.unpack_from(">II", b, 30) == (1024, 30)
    assert c.call("lb_conf", bytes(20) + struct.pack(">II", 4096,
                                                     0xffffffff))[0] == 0
    assert struct.unpack_from(">II", c.call("lb_conf_get")[1], 30) == \
        (4096, 30)
    assert sim.read_state()["conf"]["sticky_buckets_per_core"] == 4096


def test_sticky_zero_is_fatal(sim):
    c = Client(sim.sock)
    rv, _ = c.call("lb_conf", bytes(20) + struct.pack(">II", 0, 40))
    assert rv == 0                       # VPP's pow2 check accepts 0 ...
    assert sim.proc.wait(5) == 70        # ... and then it goes down
    assert sim.read_state()["fatal"]


def test_vip_add_del_errors(sim):
    c = Client(sim.sock)
    V = "lb_add_del_vip_v2"
    assert c.call(V, vip_add("192.0.2.1/32"))[0] == 0
    assert c.call(V, vip_add("192.0.2.1/32"))[0] == -81
    assert c.call(V, vip_add("192.0.2.1/32", 255, 0))[0] == -81
    assert c.call(V, vip_add("192.0.2.1/32", 17, 53, encap=1))[0] == -73
    assert c.call(V, vip_add("192.0.2.2/32", nlen=1000))[0] == -70
    assert c.call(V, vip_add("192.0.2.2/32", encap=4))[0] == -97
    assert c.call(V, vip_add("2001:db8::1/128", encap=2))[0] == 0  # -> gre6
    assert c.call(V, vip_add("192.0.2.9/32", is_del=1))[0] == -6
    assert c.call(V, vip_add("192.0.2.1/32", 17, 53))[0] == 0
    vips = c.dump("lb_vip_dump", bytes(23), "lb_vip_details")
    assert len(vips) == 3 and all(len(b) == 40 for b in vips)
    v6 = [b for b in vips if b[6] == 1][0]
    assert struct.unpack_from(">I", v6, 27)[0] == 1   # reported as GRE6
    assert c.call(V, vip_add("192.0.2.1/32", is_del=1))[0] == 0
    assert len(c.dump("lb_vip_dump", bytes(23), "lb_vip_details")) == 2
    st = sim.read_state()
    assert sorted(v["prefix"] for v in st["vips"]) == [
        "192.0.2.1/32", "2001:db8::1/128"]


def test_vip_details_layout_and_quirks(sim):
    c = Client(sim.sock)
    assert c.call("lb_add_del_vip_v2", vip_add(
        "192.0.2.0/24", 6, 8080, encap=3, srv_type=0x01000000, tport=8080,
        nlen=65536))[0] == 0
    (b,) = c.dump("lb_vip_dump", bytes(23), "lb_vip_details")
    assert b[6:24] == addr("192.0.2.0") + b"\x18"
    assert b[24] == 6 and struct.unpack_from(">H", b, 25)[0] == 8080
    assert struct.unpack_from(">I", b, 27)[0] == 3
    assert b[32] == 1                        # srv_type NODEPORT in byte 32
    assert b[36:38] == b"\x90\x1f"           # target_port little-endian
    assert struct.unpack_from(">H", b, 38)[0] == 0   # 65536 truncated


def test_new_flows_table_length_zero_kills():
    s = Sim()
    try:
        c = Client(s.sock)
        c.req("lb_add_del_vip_v2", vip_add("192.0.2.1/32", nlen=0))
        assert s.proc.wait(5) == 70
        with pytest.raises((EOFError, ConnectionError, socket.timeout)):
            c.recv()
    finally:
        s.stop()
    s = Sim("--on-fatal", "record")
    try:
        c = Client(s.sock)
        c.req("lb_add_del_vip_v2", vip_add("192.0.2.1/32", nlen=0))
        assert c.call("lb_conf_get")[0] == 0        # no reply to the add
        assert s.read_state()["fatal"] and not s.read_state()["vips"]
    finally:
        s.stop()


def as_dump(c, pfx=None):
    pl = bytes(21) if pfx is None else vipk(pfx)
    out = []
    for b in c.dump("lb_as_v2_dump", pl, "lb_as_v2_details"):
        assert len(b) == 54
        out.append((socket.inet_ntoa(b[28:32]) if b[27] == 0 else
                    socket.inet_ntop(socket.AF_INET6, b[28:44]), b[44],
                    b[49], struct.unpack_from(">I", b, 50)[0]))
    return sorted(out)


def test_as_add_del_weight(sim):
    c = Client(sim.sock)
    A, W = "lb_add_del_as_v2", "lb_as_set_weight"
    P = "192.0.2.1/32"
    assert c.call(A, as_v2(P, "10.0.0.1"))[0] == -6
    assert c.call("lb_add_del_vip_v2", vip_add(P))[0] == 0
    for i, w in enumerate((50, 100, 100, 100)):
        assert c.call(A, as_v2(P, "10.0.0.%d" % (i + 1), w))[0] == 0
    assert c.call(A, as_v2(P, "10.0.0.1", 77))[0] == -81
    assert c.call(A, as_v2(P, "2001:db8::1"))[0] == -97
    assert [x[3] for x in as_dump(c)] == [150, 292, 291, 291]
    assert c.call(W, as_v2(P, "10.0.0.2", 0)[:-1])[0] == 0
    assert [x[3] for x in as_dump(c)] == [208, 0, 408, 408]
    assert c.call(W, as_v2(P, "10.0.0.9", 10)[:-1])[0] == -6
    assert c.call(A, as_v2(P, "10.0.0.3", is_del=1, flush=1))[0] == 0
    assert c.call(A, as_v2(P, "10.0.0.3", is_del=1))[0] == 0  # again ok
    assert c.call(A, as_v2(P, "10.0.0.8", is_del=1))[0] == -6
    assert c.call(W, as_v2(P, "10.0.0.3", 10)[:-1])[0] == -6  # removed
    d = as_dump(c)
    assert d[2][:2] == ("10.0.0.3", 0) and d[2][3] == 0
    assert sum(x[3] for x in d) == 1024
    assert c.call(A, as_v2(P, "10.0.0.3", 30))[0] == 0        # reactivate
    d = as_dump(c)
    assert d[2][1:3] == (1, 30)
    st = sim.read_state()["vips"][0]
    assert {a["address"]: a["flushes"] for a in st["ases"]}["10.0.0.3"] == 1
    assert c.call("lb_flush_vip", vipk(P))[0] == 0
    assert c.call("lb_flush_vip", vipk("198.51.100.1/32"))[0] == 0


def test_as_dump_filter_and_model(sim):
    c = Client(sim.sock)
    V, A = "lb_add_del_vip_v2", "lb_add_del_as_v2"
    assert c.call(V, vip_add("2001:db8::/64", encap=1, nlen=64))[0] == 0
    assert c.call(V, vip_add("192.0.2.1/32"))[0] == 0
    assert c.call(A, as_v2("2001:db8::/64", "2001:db8:1::2", 100))[0] == 0
    assert c.call(A, as_v2("2001:db8::/64", "2001:db8:1::1", 50))[0] == 0
    assert c.call(A, as_v2("192.0.2.1/32", "10.0.0.1", 1))[0] == 0
    assert c.call(A, as_v2("192.0.2.1/32", "10.0.0.2", 100))[0] == 0
    assert len(as_dump(c)) == 4
    d6 = as_dump(c, "2001:db8::/64")
    assert [(x[0], x[3]) for x in d6] == [("2001:db8:1::1", 32),
                                          ("2001:db8:1::2", 32)]
    assert as_dump(c, "192.0.2.1/32") == []     # IPv4 filter quirk
    d4 = as_dump(c)[:2]
    assert [x[3] for x in d4] == [11, 1013]
    if os.path.exists(MODEL):
        out = subprocess.run([sys.executable, MODEL, "1024", "10.0.0.1=1",
                              "10.0.0.2=100"], capture_output=True,
                             text=True, check=True).stdout
        assert "buckets 11" in out and "buckets 1013" in out


def test_dump_terminated_by_ping_when_empty(sim):
    c = Client(sim.sock)
    assert c.dump("lb_vip_dump", bytes(23), "lb_vip_details") == []
    assert c.dump("lb_as_v2_dump", bytes(21), "lb_as_v2_details") == []


def test_malformed_and_two_clients(sim):
    a = Client(sim.sock, "a")
    b = Client(sim.sock, "b")
    # short body for lb_conf (needs 38): dropped, no reply
    a.send_raw(struct.pack(">HII", a.ids["lb_conf"], a.index, 1) + bytes(5))
    a.send_raw(struct.pack(">HII", 9999, a.index, 2))   # unknown id
    a.send_raw(b"\x00")                                 # 1-byte body
    a.req("control_ping", ctx=3)
    assert struct.unpack_from(">HI", a.recv()) == (24, 3)
    # header split across writes
    body = struct.pack(">HII", a.ids["control_ping"], a.index, 4)
    a.s.sendall(struct.pack(">QII", 0, len(body), 0)[:5])
    time.sleep(0.05)
    a.s.sendall(struct.pack(">QII", 0, len(body), 0)[5:] + body[:3])
    time.sleep(0.05)
    a.s.sendall(body[3:])
    assert struct.unpack_from(">HI", a.recv()) == (24, 4)
    # b interleaves with a
    b.req("control_ping", ctx=5)
    a.req("control_ping", ctx=6)
    assert struct.unpack_from(">HI", b.recv()) == (24, 5)
    assert struct.unpack_from(">HI", a.recv()) == (24, 6)
    # garbage stream / truncated frame + disconnect must not hurt b
    g = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    g.connect(sim.sock)
    g.sendall(b"\xff" * 40)
    g.close()
    g = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    g.connect(sim.sock)
    g.sendall(struct.pack(">QII", 0, 100, 0) + b"xx")
    g.close()
    assert b.call("lb_conf_get")[0] == 0
    assert set(sim.read_state()["clients"]) == {"a", "b"}


def test_sockclnt_delete(sim):
    c = Client(sim.sock)
    other = Client(sim.sock, "other")
    rv, _ = c.call("sockclnt_delete", struct.pack(">I", 0x8000ffff))
    assert rv == -1
    rv, _ = c.call("sockclnt_delete", struct.pack(">I", c.index))
    assert rv == 1
    with pytest.raises((EOFError, ConnectionError)):
        c.recv()
    assert other.call("lb_conf_get")[0] == 0
    assert sim.read_state()["clients"] == ["other"]
