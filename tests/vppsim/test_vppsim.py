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
VPPSIM_DIR = os.path.join(ROOT, "tools", "vppsim")
VPPSIM = os.path.join(VPPSIM_DIR, "vppsim.py")
sys.path.insert(0, VPPSIM_DIR)
sys.dont_write_bytecode = True
from control import Control  # noqa: E402
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
    "cli_inband": "f8377302", "cli_inband_reply": "05879051",
    "lb_add_del_vip": "6fa569c7", "lb_add_del_vip_reply": "e8d4e804",
    "lb_add_del_as": "35d72500", "lb_add_del_as_reply": "e8d4e804",
}


class Sim:
    def __init__(self, *args):
        self.dir = tempfile.mkdtemp(prefix="vppsim")
        self.sock = os.path.join(self.dir, "api.sock")
        self.ctl_path = os.path.join(self.dir, "ctl.sock")
        self.state = os.path.join(self.dir, "state.json")
        self.proc = subprocess.Popen(
            [sys.executable, VPPSIM, "--socket", self.sock, "--control",
             self.ctl_path, "--state-file", self.state] + list(args),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for(lambda: os.path.exists(self.sock)
                 and os.path.exists(self.ctl_path), "vppsim start")
        self.ctl = Control(self.ctl_path)

    def call(self, cmd, **kw):
        return self.ctl.call(cmd, **kw)

    def read_state(self):
        """From memory while running (the file is written lazily), from
        the file (written on exit) once it has stopped."""
        if self.proc.poll() is None:
            return self.call("state")["state"]
        return self.read_file()

    def read_file(self):
        with open(self.state) as f:
            return json.load(f)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(WAIT)


# The bound of every wait for something that must happen (CI shares two
# busy cores: generous, it costs nothing when the thing happens).
WAIT = 30.0
RECV_TIMEOUT = 10.0  # a reply that must come


def wait_for(cond, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.01)
    raise AssertionError("timed out waiting for " + what)


class Client:
    def __init__(self, path, name="test"):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(RECV_TIMEOUT)
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
    c.req("control_ping", cidx=0x80000063)             # no such registration
    c.req("control_ping", cidx=c.index & 0x7fffffff)   # bit 31 missing
    c.req("lb_conf_get", cidx=0x12345678)
    c.req("control_ping", ctx=7)
    assert struct.unpack_from(">HI", c.recv()) == (24, 7)
    # VPP replies to the registration named by client_index (1.5)
    d = Client(sim.sock, "other")
    c.req("control_ping", ctx=8, cidx=d.index)
    c.req("control_ping", ctx=9)
    b = d.recv()
    assert struct.unpack_from(">HIiI", b) == (24, 8, 0, d.index)
    assert struct.unpack_from(">HI", c.recv()) == (24, 9)
    assert sim.call("received")["received"]["control_ping"] == 6


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
    assert sim.proc.wait(WAIT) == 70        # ... and then it goes down
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
    assert sorted(v["prefix"] for v in st["vips"] if not v["deleted"]) == [
        "192.0.2.1/32", "2001:db8::1/128"]
    # deleted without ASes, it still waits for the GC process (5.4)
    assert [(v["prefix"], v["port"]) for v in st["vips"] if v["deleted"]] \
        == [("192.0.2.1/32", 80)]
    assert sim.call("gc") == {"ok": True, "ases": 0, "vips": 1}


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
        assert s.proc.wait(WAIT) == 70
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


# --- helpers for the control-socket tests ----------------------------------
def cli(c, cmd):
    rv, b = c.call("cli_inband", struct.pack(">I", len(cmd)) + cmd.encode())
    n = struct.unpack_from(">I", b, 10)[0]
    assert len(b) == 14 + n
    return rv, b[14:].decode()


def no_reply(c, wait=0.3):
    """True if nothing arrives on c within `wait` seconds."""
    c.s.settimeout(wait)
    try:
        c.recv()
        return False
    except socket.timeout:
        return True
    finally:
        c.s.settimeout(RECV_TIMEOUT)


def dynamic_ids(c):
    """Ids of the messages this test client knows, except memclnt's."""
    return {n: i for n, i in c.ids.items()
            if n not in ("control_ping", "control_ping_reply",
                         "sockclnt_delete", "sockclnt_delete_reply")}


def connect_raw(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(RECV_TIMEOUT)
    s.connect(path)
    return s


def create_raw(s, ctx=0x42, name=b"raw"):
    s.sendall(struct.pack(">QII", 0, 70, 0)
              + struct.pack(">HI64s", 15, ctx, name))


def recv_frame(s):
    h = b""
    while len(h) < 16:
        d = s.recv(16 - len(h))
        if not d:
            raise EOFError
        h += d
    n = struct.unpack_from(">I", h, 8)[0]
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            raise EOFError
        b += d
    return b


# --- control socket: introspection -----------------------------------------
def test_control_state_received_clients(sim):
    assert os.stat(sim.ctl_path).st_mode & 0o777 == 0o600
    c = Client(sim.sock, "alpha")
    keep = Client(sim.sock, "beta")
    assert c.call("lb_add_del_vip_v2", vip_add("192.0.2.1/32"))[0] == 0
    st = sim.call("state")["state"]
    assert [v["prefix"] for v in st["vips"]] == ["192.0.2.1/32"]
    assert st["clients"] == ["alpha", "beta"] and st["version"]
    assert st["conf"]["flow_timeout"] == 40
    got = sim.call("received")["received"]
    assert got == {"sockclnt_create": 2, "lb_add_del_vip_v2": 1}
    cl = sim.call("clients")
    assert cl["clients"] == ["alpha", "beta"]
    assert {r["index"] for r in cl["registrations"]} >= {c.index}
    with pytest.raises(RuntimeError, match="unknown command"):
        sim.call("no-such-command")
    with pytest.raises(RuntimeError, match="address"):
        sim.call("as-add", prefix="192.0.2.1/32")           # missing arg
    with pytest.raises(RuntimeError, match="bogus"):
        sim.call("cut", bogus=1)                             # unknown arg
    # not JSON / not an object: an error line, the connection stays usable
    s = connect_raw(sim.ctl_path)
    s.sendall(b"not json\n[1]\n{\"cmd\": \"clients\"}\n")
    f = s.makefile("rb")
    assert json.loads(f.readline())["ok"] is False
    assert json.loads(f.readline())["ok"] is False
    assert json.loads(f.readline())["clients"] == ["alpha", "beta"]
    s.close()
    keep.s.close()


def test_state_file_is_lazy_but_fresh_and_written_on_exit(sim):
    c = Client(sim.sock)
    assert c.call("lb_add_del_vip_v2", vip_add("192.0.2.1/32"))[0] == 0
    wait_for(lambda: [v["prefix"] for v in sim.read_file()["vips"]]
             == ["192.0.2.1/32"], "state file")
    assert c.call("lb_add_del_vip_v2", vip_add("192.0.2.2/32"))[0] == 0
    sim.call("stop")
    assert sim.proc.wait(WAIT) == 0
    assert len(sim.read_file()["vips"]) == 2
    assert not os.path.exists(sim.sock)
    assert not os.path.exists(sim.ctl_path)


def test_control_client_reconnects(tmp_path):
    """A server that closes the control connection after every reply."""
    path = str(tmp_path / "ctl.sock")
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    ls.listen(4)
    import threading

    def serve():
        for n in range(3):
            s, _ = ls.accept()
            req = json.loads(s.makefile("rb").readline())
            s.sendall(json.dumps({"ok": n != 2, "n": n, "cmd": req["cmd"],
                                  "error": "nope"}).encode() + b"\n")
            s.close()
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    ctl = Control(path, timeout=RECV_TIMEOUT)
    assert ctl.call("state")["n"] == 0
    time.sleep(0.05)                # the server has closed it by now
    assert ctl.call("received")["n"] == 1
    with pytest.raises(RuntimeError, match="nope"):
        ctl.call("clients")
    t.join(3)
    ls.close()


# --- restart / cut ----------------------------------------------------------
def test_restart_wipes_state_changes_ids_and_comes_back(sim):
    c = Client(sim.sock)
    ids1 = dynamic_ids(c)
    assert c.call("lb_add_del_vip_v2", vip_add("192.0.2.1/32"))[0] == 0
    assert c.call("lb_conf", ip4("10.0.0.1") + bytes(16)
                  + struct.pack(">II", 4096, 30))[0] == 0
    ctl = Control(sim.ctl_path)
    t0 = time.monotonic()
    r = ctl.call("restart", down=0.6)
    assert r["generation"] == 1
    assert not os.path.exists(sim.sock)              # unlinked at once
    with pytest.raises((EOFError, ConnectionError)):
        c.recv()
    with pytest.raises(OSError):
        Client(sim.sock)
    st = ctl.call("state")["state"]                  # control stays up
    assert st["vips"] == [] and st["clients"] == []
    assert st["api_listening"] is False
    assert st["conf"]["sticky_buckets_per_core"] == 1024
    assert st["conf"]["ip4_src_address"] == "255.255.255.255"
    wait_for(lambda: os.path.exists(sim.sock), "API socket back")
    assert time.monotonic() - t0 >= 0.55
    c2 = Client(sim.sock)
    ids2 = dynamic_ids(c2)
    assert set(ids2) == set(ids1) and all(ids1[n] != ids2[n] for n in ids1)
    assert c2.table["control_ping_51077d14"] == 23     # memclnt fixed
    assert c2.table["sockclnt_create_455fb9c4"] == 15
    rv, b = c2.call("lb_conf_get")
    assert struct.unpack_from(">II", b, 30) == (1024, 40)
    assert c2.dump("lb_vip_dump", bytes(23), "lb_vip_details") == []
    # counted across restarts, sockclnt_create included
    got = ctl.call("received")["received"]
    assert got["sockclnt_create"] == 2 and got["lb_conf_get"] == 1
    assert got["lb_add_del_vip_v2"] == 1
    # a second restart changes them again
    ctl.call("restart", down=0)
    wait_for(lambda: os.path.exists(sim.sock), "API socket back")
    ids3 = dynamic_ids(Client(sim.sock))
    assert all(ids3[n] != ids2[n] for n in ids2)


def test_ids_differ_between_starts_without_seed():
    tables = []
    for _ in range(2):
        s = Sim()
        try:
            tables.append(dynamic_ids(Client(s.sock)))
        finally:
            s.stop()
    assert tables[0] != tables[1]
    assert min(min(t.values()) for t in tables) >= 29


def test_seed_and_id_base_are_deterministic():
    def run(*args):
        s = Sim(*args)
        try:
            first = Client(s.sock).table
            s.call("restart", down=0)
            wait_for(lambda: os.path.exists(s.sock), "API socket back")
            return first, Client(s.sock).table
        finally:
            s.stop()
    a = run("--seed", "7")
    assert a == run("--seed", "7")
    assert a[0] != a[1]
    assert a != run("--seed", "8")
    f, g = run("--id-base", "100")
    dyn = [i for n, i in f.items() if not n.startswith(
        ("sockclnt_", "control_ping", "memclnt_", "get_first", "api_vers"))]
    assert min(dyn) == 100 and max(dyn) == 100 + len(dyn) - 1  # no gaps
    assert f["show_version_51077d14"] == 100
    dyn2 = {n: i for n, i in g.items() if n in f and f[n] in dyn}
    assert all(dyn2[n] != f[n] for n in dyn2)


def test_cut_closes_connections_and_keeps_state(sim):
    a = Client(sim.sock, "a")
    b = Client(sim.sock, "b")
    raw = connect_raw(sim.sock)                       # not registered yet
    assert a.call("lb_add_del_vip_v2", vip_add("192.0.2.1/32"))[0] == 0
    assert sim.call("cut")["closed"] == 3
    for s in (a.s, b.s, raw):
        with pytest.raises((EOFError, ConnectionError)):
            if s.recv(16) == b"":
                raise EOFError
    assert sim.call("clients")["clients"] == []
    c = Client(sim.sock)
    assert dynamic_ids(c) == dynamic_ids(a)           # same VPP, same ids
    assert len(c.dump("lb_vip_dump", bytes(23), "lb_vip_details")) == 1


# --- delay / drop -----------------------------------------------------------
def readable(s):
    import select
    return bool(select.select([s], [], [], 0)[0])


def test_delay_holds_replies_back_in_order(sim):
    # 2 s: far longer than it takes to get the other connection's reply,
    # even on a busy machine, so that the order below shows the delay
    D = 2.0
    c = Client(sim.sock)
    other = Client(sim.sock, "other")
    sim.call("delay", seconds=D, names=["lb_conf_get"])
    t0 = time.monotonic()
    c.req("lb_conf_get", ctx=1)
    c.req("control_ping", ctx=2)                      # not delayed itself
    other.req("control_ping", ctx=3)                  # another connection
    assert struct.unpack_from(">HI", other.recv()) == (24, 3)
    # nobody slept: the other connection was answered while the delayed
    # reply (and the ping behind it) still waited
    assert not readable(c.s), "the delayed reply came before another connection's"
    b1 = c.recv()
    t1 = time.monotonic() - t0
    b2 = c.recv()
    assert struct.unpack_from(">HI", b1)[1] == 1 and len(b1) == 38
    assert struct.unpack_from(">HI", b2) == (24, 2)   # order kept
    # held back D (a timer never fires early; late on a busy machine)
    assert D - 0.01 <= t1 < D + 5
    # requests were handled at once: a change queued behind a delayed
    # reply is already visible
    c.req("lb_conf_get", ctx=4)
    c.req("lb_add_del_vip_v2", vip_add("192.0.2.1/32"), ctx=5)
    wait_for(lambda: len(sim.call("state")["state"]["vips"]) == 1, "the VIP added")
    assert not readable(c.s), "the change was seen only after the delayed reply"
    assert [struct.unpack_from(">HI", c.recv())[1] for _ in range(2)] == \
        [4, 5]
    # all messages, then cleared: with D still set the reply would take D
    # at least (the bound below leaves a busy machine D / 2)
    sim.call("delay", seconds=0)
    sim.call("delay", seconds=D)
    t0 = time.monotonic()
    c.call("show_version")
    assert time.monotonic() - t0 >= D - 0.01
    sim.call("delay", seconds=0)
    t0 = time.monotonic()
    c.call("show_version")
    assert time.monotonic() - t0 < D / 2


def test_drop_ignores_requests(sim):
    c = Client(sim.sock)
    sim.call("drop", names=["lb_conf_get"], count=2)
    for ctx in (1, 2, 3):
        c.req("lb_conf_get", ctx=ctx)
    c.req("control_ping", ctx=4)
    assert struct.unpack_from(">HI", c.recv())[1] == 3
    assert struct.unpack_from(">HI", c.recv()) == (24, 4)
    r = sim.call("received")
    assert r["received"]["lb_conf_get"] == 3
    assert r["ignored"] == {"lb_conf_get": 2}
    # until cleared; dropped requests have no effect
    sim.call("drop", names=["lb_add_del_vip_v2", "show_version"])
    for i in range(3):
        c.req("lb_add_del_vip_v2", vip_add("192.0.2.%d/32" % (i + 1)))
    assert no_reply(c)
    assert sim.call("state")["state"]["vips"] == []
    sim.call("drop", names=["lb_add_del_vip_v2"], count=0)
    assert c.call("lb_add_del_vip_v2", vip_add("192.0.2.1/32"))[0] == 0
    c.req("show_version")
    assert no_reply(c)
    sim.call("drop", count=0)                         # clears everything
    assert c.call("show_version")[0] == 0
    with pytest.raises(RuntimeError):
        sim.call("drop", count=3)                     # names needed


# --- handshake / table ------------------------------------------------------
def test_handshake_modes(sim):
    sim.call("handshake", mode="silent")
    for _ in range(2):                                # sticky
        s = connect_raw(sim.sock)
        create_raw(s)
        s.settimeout(0.3)
        with pytest.raises(socket.timeout):
            s.recv(16)
        s.close()
    sim.call("handshake", mode="refuse")
    s = connect_raw(sim.sock)
    create_raw(s, ctx=0x99)
    b = recv_frame(s)
    assert len(b) == 20
    mid, _, ctx, resp, _, n = struct.unpack(">HIIiIH", b)
    assert (mid, ctx, resp, n) == (16, 0x99, -1, 0)
    s.close()
    sim.call("handshake", mode="close")
    s = connect_raw(sim.sock)
    create_raw(s)
    assert s.recv(16) == b""
    s.close()
    assert sim.call("clients")["clients"] == []
    with pytest.raises(RuntimeError):
        sim.call("handshake", mode="maybe")
    sim.call("handshake", mode="ok")
    c = Client(sim.sock)
    assert c.call("lb_conf_get")[0] == 0
    assert sim.call("received")["received"]["sockclnt_create"] == 5


def test_table_changes_apply_to_new_handshakes(sim):
    old = Client(sim.sock, "old")
    r = sim.call("table", missing=["lb_as_set_weight"], bad_crc=["lb_conf"])
    new = Client(sim.sock, "new")
    assert len(new.table) == r["entries"]
    names = " ".join(new.table)
    assert "lb_as_set_weight_" not in names
    assert "lb_as_set_weight_reply_" not in names
    assert "lb_conf_56cd3261" not in new.table and "lb_conf_" in names
    assert dynamic_ids(new)["lb_add_del_vip_v2"] == \
        dynamic_ids(old)["lb_add_del_vip_v2"]
    # the registered client keeps the ids it has
    assert old.call("lb_as_set_weight",
                    as_v2("192.0.2.1/32", "10.0.0.1")[:-1])[0] == -6
    sim.call("table", old_lb=True)
    c = Client(sim.sock)
    assert c.ids["lb_conf_get"] is None and c.ids["lb_add_del_as_v2"] is None
    assert c.ids["lb_as_v2_dump"] is None and c.ids["lb_as_v2_details"] is None
    assert c.ids["lb_vip_dump"] and "lb_as_dump_1063f819" in c.table
    assert old.call("lb_conf_get")[0] == 0
    sim.call("table")
    c = Client(sim.sock)
    assert all(c.ids.values())


# --- garbage ----------------------------------------------------------------
def test_garbage_framed_and_raw(sim):
    a = Client(sim.sock, "a")
    b = Client(sim.sock, "b")
    raw = connect_raw(sim.sock)                       # unregistered: nothing
    r = sim.call("garbage", bytes="00ff1234abcd")
    assert r["sent"] == 2
    for c in (a, b):
        assert c.recv() == bytes.fromhex("00ff1234abcd")
    hdr = struct.pack(">QII", 0, 100 << 20, 0)        # announces 100 MB
    sim.call("garbage", bytes=hdr.hex(), raw=True)
    sim.call("garbage", bytes="deadbeef", raw=True)
    for c in (a, b):                                 # unframed, as given
        assert c.recv_exact(20) == hdr + bytes.fromhex("deadbeef")
    raw.settimeout(0.2)
    with pytest.raises(socket.timeout):
        raw.recv(1)
    with pytest.raises(RuntimeError):
        sim.call("garbage", bytes="xyz")
    assert b.call("lb_conf_get")[0] == 0              # still served


# --- drift ------------------------------------------------------------------
WEB = dict(prefix="198.19.0.10/32", protocol=6, port=80)


def test_drift_vip_and_as_return_codes(sim):
    c = Client(sim.sock)
    rv = lambda cmd, **kw: sim.call(cmd, **kw)["retval"]   # noqa: E731
    assert rv("vip-add", encap="gre4", **WEB) == 0
    assert rv("vip-add", encap="gre4", **WEB) == -81
    assert rv("vip-add", prefix="198.19.0.10/32", port=0, encap="gre4") == -81
    assert rv("vip-add", prefix="198.19.0.10/32", protocol=17, port=53,
              encap="gre6") == -73
    assert rv("vip-add", prefix="198.19.0.11/32", encap="nat6") == -97
    assert rv("vip-add", prefix="198.19.0.11/32", encap="gre4",
              new_flows_table_length=1000) == -70
    assert rv("vip-add", prefix="2001:db8::1/128", encap="l3dsr") == 0
    assert rv("vip-add", prefix="198.19.0.12/32", encap="gre4",
              src_ip_sticky=True, new_flows_table_length=64) == 0
    with pytest.raises(RuntimeError, match="encap"):
        sim.call("vip-add", prefix="198.19.0.13/32", encap="vxlan")
    with pytest.raises(RuntimeError, match="down"):
        sim.call("vip-add", prefix="198.19.0.13/32", encap="gre4",
                 new_flows_table_length=0)
    vips = {v["prefix"]: v for v in sim.read_state()["vips"]}
    assert vips["2001:db8::1/128"]["encap"] == "gre6"    # silently GRE6
    assert vips["198.19.0.12/32"]["src_ip_sticky"] is True
    assert vips["198.19.0.12/32"]["new_flows_table_length"] == 64
    assert vips["198.19.0.12/32"]["protocol"] == 255
    # ASes
    assert rv("as-add", address="198.18.1.2", **WEB) == 0
    assert rv("as-add", address="198.18.1.2", weight=5, **WEB) == -81
    assert rv("as-add", address="2001:db8::2", **WEB) == -97
    assert rv("as-add", address="198.18.1.3", weight=50, **WEB) == 0
    assert rv("as-add", prefix="198.19.0.99/32", address="198.18.1.3") == -6
    assert rv("as-weight", address="198.18.1.2", weight=7, **WEB) == 0
    assert rv("as-weight", address="198.18.1.9", weight=7, **WEB) == -6
    assert [x[1:3] for x in as_dump(c)] == [(1, 7), (1, 50)]
    assert rv("as-del", address="198.18.1.3", flush=True, **WEB) == 0
    assert rv("as-del", address="198.18.1.3", **WEB) == 0     # again ok
    assert rv("as-del", address="198.18.1.8", **WEB) == -6
    assert rv("as-weight", address="198.18.1.3", weight=9, **WEB) == -6
    d = as_dump(c)
    assert d == [("198.18.1.2", 1, 7, 1024), ("198.18.1.3", 0, 50, 0)]
    assert rv("flush-vip", **WEB) == 0
    assert rv("flush-vip", prefix="198.51.100.1/32") == 0     # always 0
    web = [v for v in sim.read_state()["vips"]
           if v["prefix"] == WEB["prefix"]][0]
    assert web["flushes"] == 1
    assert [a["flushes"] for a in web["ases"]] == [1, 2]
    # gc collects the lingering AS now
    assert sim.call("gc", min_age=3600) == {"ok": True, "ases": 0, "vips": 0}
    assert sim.call("gc")["ases"] == 1
    assert [x[0] for x in as_dump(c)] == ["198.18.1.2"]
    # VIP delete with ASes: gone from the dump, ASes lingering until GC
    assert rv("vip-del", **WEB) == 0
    assert rv("vip-del", **WEB) == -6
    assert len(c.dump("lb_vip_dump", bytes(23), "lb_vip_details")) == 2
    assert as_dump(c) == [("198.18.1.2", 0, 7, 0)]
    assert sim.call("gc") == {"ok": True, "ases": 1, "vips": 1}
    assert as_dump(c) == []
    assert rv("vip-del", prefix="2001:db8::1/128") == 0
    assert rv("vip-del", prefix="2001:db8::1/128", protocol=6, port=0) == -6


def test_drift_conf(sim):
    c = Client(sim.sock)
    assert sim.call("conf", ip4_src_address="198.19.0.1",
                    flow_timeout=30)["retval"] == 0
    b = c.call("lb_conf_get")[1]
    assert b[10:14] == ip4("198.19.0.1") and b[14:30] == b"\xff" * 16
    assert struct.unpack_from(">II", b, 30) == (1024, 30)
    assert sim.call("conf", ip6_src_address="2001:db8::1",
                    sticky_buckets_per_core=4096)["retval"] == 0
    b = c.call("lb_conf_get")[1]
    assert b[10:14] == ip4("198.19.0.1")
    assert b[14:30] == socket.inet_pton(socket.AF_INET6, "2001:db8::1")
    assert struct.unpack_from(">II", b, 30) == (4096, 30)
    assert sim.call("conf", sticky_buckets_per_core=1000)["retval"] == -70
    with pytest.raises(RuntimeError):
        sim.call("conf", sticky_buckets_per_core=0)
    st = sim.read_state()["conf"]
    assert st["ip6_src_address"] == "20010db8000000000000000000000001"
    assert st["sticky_buckets_per_core"] == 4096 and st["sticky_resets"] == 1


# --- CLI --------------------------------------------------------------------
def dpo_free(text):
    import re
    return re.sub(r"dpo:\d+", "dpo:N", text)


def test_show_lb_vips_verbose_exact(sim):
    c = Client(sim.sock)
    V, A = "lb_add_del_vip_v2", "lb_add_del_as_v2"
    P, P6 = "198.19.0.10/32", "2001:db8::1/128"
    assert c.call(V, vip_add(P, sticky=1))[0] == 0
    assert c.call(V, vip_add(P6, 255, 0, encap=1, nlen=64))[0] == 0
    for a, w in (("198.18.1.2", 100), ("198.18.1.3", 50), ("198.18.1.4", 0)):
        assert c.call(A, as_v2(P, a, w))[0] == 0
    assert c.call(A, as_v2(P, "198.18.1.3", is_del=1))[0] == 0   # lingers
    for a in ("2001:db8:1::2", "2001:db8:1::1"):
        assert c.call(A, as_v2(P6, a, 100, proto=255, port=0))[0] == 0
    rv, out = cli(c, "show lb vips verbose")
    assert rv == 0
    counters = ("  counters:\n"
                "    packet from existing sessions: 0\n"
                "    first session packet: 0\n"
                "    untracked packet: 0\n"
                "    no server configured: 0\n")
    assert dpo_free(out) == (
        " ip4-gre4 [1] 198.19.0.10/32 src_ip_sticky\n"
        "  new_size:1024\n"
        "  protocol:6 port:80\n" + counters +
        "  #as:3\n"
        "    198.18.1.2 weight:100 buckets:1024 flows:0 dpo:N used\n"
        "    198.18.1.3 weight:50 buckets:0 flows:0 dpo:N  removed\n"
        "    198.18.1.4 weight:0 buckets:0 flows:0 dpo:N used\n"
        "\n"
        " ip6-gre6 [2] 2001:db8::1/128\n"
        "  new_size:64\n" + counters +
        "  #as:2\n"
        "    2001:db8:1::2 weight:100 buckets:32 flows:0 dpo:N used\n"
        "    2001:db8:1::1 weight:100 buckets:32 flows:0 dpo:N used\n"
        "\n")
    assert cli(c, "show lb vips verbose")[1] == out       # stable dpo
    rv, out = cli(c, "show lb vips")
    assert (rv, out) == (0,
                         "ip4-gre4 198.19.0.10/32 new_size:1024 #as:3"
                         "  protocol:6 port:80 \n"
                         "ip6-gre6 2001:db8::1/128 new_size:64 #as:2\n")
    assert cli(c, "show lb")[1] == (
        "lb_main ip4-src-address: 255.255.255.255 \n"
        " ip6-src-address: ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff \n"
        " #vips: 3\n"                     # VIP 0 (the placeholder) counts
        " #ass: 5\n")
    # a deleted VIP stays listed, " removed", with its index and its ASes
    # (all removed now) until the GC process frees it (lb_vip_del clears
    # LB_VIP_FLAGS_USED; lb_show_vips_command_fn lists every pool VIP)
    assert c.call(V, vip_add(P, is_del=1))[0] == 0
    assert c.call(V, vip_add("192.0.2.7/32", 17, 53, encap=0))[0] == 0
    out = dpo_free(cli(c, "show lb vips verbose")[1])
    assert out.startswith(
        " ip4-gre4 [1] 198.19.0.10/32 src_ip_sticky removed\n"
        "  new_size:1024\n"
        "  protocol:6 port:80\n" + counters +
        "  #as:3\n"
        "    198.18.1.2 weight:100 buckets:0 flows:0 dpo:N  removed\n"
        "    198.18.1.3 weight:50 buckets:0 flows:0 dpo:N  removed\n"
        "    198.18.1.4 weight:0 buckets:0 flows:0 dpo:N  removed\n"
        "\n"
        " ip6-gre6 [2] 2001:db8::1/128\n"), out
    assert out.endswith(
        " ip4-gre4 [3] 192.0.2.7/32\n"
        "  new_size:1024\n"
        "  protocol:17 port:53\n" + counters +
        "  #as:0\n"
        "\n"), out
    assert cli(c, "show lb vips")[1].startswith(
        "ip4-gre4 198.19.0.10/32 new_size:1024 #as:3 removed"
        "  protocol:6 port:80 \n")
    assert cli(c, "show lb")[1].endswith(" #vips: 4\n #ass: 5\n")
    # the GC process frees it (ASes first, then the empty VIP)
    assert sim.call("gc") == {"ok": True, "ases": 3, "vips": 1}
    out = cli(c, "show lb vips verbose")[1]
    assert "[1]" not in out and "removed" not in out
    assert cli(c, "show lb")[1].endswith(" #vips: 3\n #ass: 2\n")
    # the freed index is reused
    assert c.call(V, vip_add("192.0.2.9/32"))[0] == 0
    assert " ip4-gre4 [1] 192.0.2.9/32\n" in cli(c, "show lb vips verbose")[1]
    rv, out = cli(c, "show lb bogus")
    assert rv == -1 and "unknown input" in out
    assert cli(c, "show version")[1].startswith("vpp v26.10")


def test_show_lb_vips_nat_and_l3dsr_exact(sim):
    """format_lb_vip(_detailed) for NAT: ntohs() of the host-order port
    (80 -> 20480 on x86-64), of the network-order target_port (as given),
    and no newline before "  counters:"; L3DSR: the dscp line."""
    c = Client(sim.sock)
    V = "lb_add_del_vip_v2"
    assert c.call(V, vip_add("192.0.2.8/32", 6, 80, encap=3,
                             tport=8080))[0] == 0
    assert c.call(V, vip_add("192.0.2.9/32", 255, 0, encap=2,
                             dscp=0x4a))[0] == 0          # masked to 6 bits
    out = cli(c, "show lb vips verbose")[1]
    counters = ("    packet from existing sessions: 0\n"
                "    first session packet: 0\n"
                "    untracked packet: 0\n"
                "    no server configured: 0\n")
    assert out == (
        " ip4-nat4 [1] 192.0.2.8/32\n"
        "  new_size:1024\n"
        "  protocol:6 port:80\n"
        "  type:clusterip port:20480 target_port:8080  counters:\n"
        + counters + "  #as:0\n\n"
        " ip4-l3dsr [2] 192.0.2.9/32\n"
        "  new_size:1024\n"
        "  dscp:10\n"
        "  counters:\n" + counters + "  #as:0\n\n")
    assert cli(c, "show lb vips")[1] == (
        "ip4-nat4 192.0.2.8/32 new_size:1024 #as:0  protocol:6 port:80  "
        "type:clusterip port:20480 target_port:8080\n"
        "ip4-l3dsr 192.0.2.9/32 new_size:1024 #as:0  dscp:10\n")


# --- journal ----------------------------------------------------------------
def journal(sim, **kw):
    return sim.call("journal", **kw)


def test_journal_order_fields_retval(sim):
    c = Client(sim.sock)
    V, A, W = "lb_add_del_vip_v2", "lb_add_del_as_v2", "lb_as_set_weight"
    P = "198.19.0.10/32"
    t0 = time.monotonic()
    assert journal(sim) == {"ok": True, "journal": [], "last": 0,
                            "first": 1, "more": False}
    assert c.call("lb_conf", ip4("198.19.0.1")
                  + socket.inet_pton(socket.AF_INET6, "2001:db8::1")
                  + struct.pack(">II", 4096, 0xffffffff))[0] == 0
    assert c.call(V, vip_add(P, sticky=1))[0] == 0
    assert c.call(V, vip_add(P, sticky=1))[0] == -81
    assert c.call(A, as_v2(P, "198.18.1.2", 50))[0] == 0
    assert c.call(A, as_v2(P, "2001:db8::2"))[0] == -97
    assert c.call(W, as_v2(P, "198.18.1.2", 0)[:-2] + b"\x01")[0] == 0
    assert c.call("lb_flush_vip", vipk(P))[0] == 0
    assert c.call(A, as_v2(P, "198.18.1.2", is_del=1, flush=1))[0] == 0
    assert c.call("lb_add_del_as", vipk(P) + addr("198.18.1.3")
                  + b"\x00\x00")[0] == 0                 # v1: no weight
    assert c.call("lb_add_del_vip", vip_add(
        "2001:db8::1/128", 255, 0, encap=1)[:-2] + b"\x00")[0] == 0
    c.call("lb_conf_get")                                # reads: not kept
    c.dump("lb_as_v2_dump", bytes(21), "lb_as_v2_details")
    cli(c, "show lb vips verbose")
    r = journal(sim)
    j = r["journal"]
    assert r["last"] == 10 and r["first"] == 1 and not r["more"]
    assert [e["seq"] for e in j] == list(range(1, 11))
    assert [(e["name"], e["retval"]) for e in j] == [
        ("lb_conf", 0), (V, 0), (V, -81), (A, 0), (A, -97), (W, 0),
        ("lb_flush_vip", 0), (A, 0), ("lb_add_del_as", 0),
        ("lb_add_del_vip", 0)]
    times = [e["time"] for e in j]
    assert t0 <= times[0] and times == sorted(times)
    assert time.monotonic() >= times[-1]              # same clock
    assert all(e["client"] == c.index and e["fault"] is None
               and e["generation"] == 0 for e in j)
    assert len({e["context"] for e in j}) == 10
    assert j[0]["fields"] == {
        "ip4_src_address": "198.19.0.1", "ip6_src_address": "2001:db8::1",
        "sticky_buckets_per_core": 4096, "flow_timeout": 0xffffffff}
    assert j[1]["fields"] == {
        "prefix": P, "protocol": 6, "port": 80, "encap": "gre4", "dscp": 0,
        "type": 0, "target_port": 0, "node_port": 0,
        "new_flows_table_length": 1024, "src_ip_sticky": True,
        "is_del": False}
    assert j[3]["fields"] == {
        "prefix": P, "protocol": 6, "port": 80, "as_address": "198.18.1.2",
        "weight": 50, "is_del": False, "is_flush": False}
    assert j[4]["fields"]["as_address"] == "2001:db8::2"
    assert j[5]["fields"] == {
        "prefix": P, "protocol": 6, "port": 80, "as_address": "198.18.1.2",
        "weight": 0, "is_flush": True}
    assert j[6]["fields"] == {"prefix": P, "protocol": 6, "port": 80}
    assert (j[7]["fields"]["is_del"], j[7]["fields"]["is_flush"]) == \
        (True, True)
    assert j[8]["fields"] == {
        "prefix": P, "protocol": 6, "port": 80, "as_address": "198.18.1.3",
        "is_del": False, "is_flush": False}
    f = j[9]["fields"]
    assert (f["prefix"], f["protocol"], f["port"], f["encap"]) == \
        ("2001:db8::1/128", 255, 0, "gre6")
    assert "src_ip_sticky" not in f and f["is_del"] is False
    json.dumps(r)                                      # JSON-friendly


def test_journal_since_limit_names_clear(sim):
    c = Client(sim.sock)
    P = "198.19.0.10/32"
    assert c.call("lb_add_del_vip_v2", vip_add(P))[0] == 0
    for i in range(5):
        assert c.call("lb_add_del_as_v2",
                      as_v2(P, "198.18.1.%d" % (i + 1)))[0] == 0
    for w in (7, 0, 9):
        assert c.call("lb_as_set_weight",
                      as_v2(P, "198.18.1.1", w)[:-1])[0] == 0
    assert [e["seq"] for e in journal(sim, since=6)["journal"]] == [7, 8, 9]
    assert journal(sim, since=9)["journal"] == []
    assert journal(sim, since=100)["journal"] == []
    r = journal(sim, since=2, limit=2)
    assert [e["seq"] for e in r["journal"]] == [3, 4] and r["more"]
    r = journal(sim, names=["lb_as_set_weight"])
    assert [e["fields"]["weight"] for e in r["journal"]] == [7, 0, 9]
    assert r["last"] == 9
    # sequence numbers go on after a clear
    assert sim.call("journal-clear") == {"ok": True, "cleared": 9,
                                         "last": 9}
    assert journal(sim) == {"ok": True, "journal": [], "last": 9,
                            "first": 10, "more": False}
    assert c.call("lb_flush_vip", vipk(P))[0] == 0
    r = journal(sim)
    assert [e["seq"] for e in r["journal"]] == [10] and r["first"] == 10
    assert journal(sim, since=3)["journal"] == r["journal"]
    with pytest.raises(RuntimeError):
        journal(sim, limit=-1)


def test_journal_survives_restart(sim):
    a = Client(sim.sock)
    assert a.call("lb_add_del_vip_v2", vip_add("192.0.2.1/32"))[0] == 0
    sim.call("restart", down=0.1)
    wait_for(lambda: sim.call("state")["state"]["api_listening"],
             "api back")
    b = Client(sim.sock, "again")
    assert b.call("lb_add_del_vip_v2", vip_add("192.0.2.1/32"))[0] == 0
    assert b.call("lb_add_del_vip_v2", vip_add("192.0.2.1/32"))[0] == -81
    j = journal(sim)["journal"]
    assert [(e["seq"], e["generation"], e["retval"]) for e in j] == [
        (1, 0, 0), (2, 1, 0), (3, 1, -81)]
    assert j[0]["client"] == a.index and j[1]["client"] == b.index


def test_journal_drop_truncated_and_unanswered(sim):
    c = Client(sim.sock)
    P = "192.0.2.1/32"
    sim.call("drop", names=["lb_add_del_vip_v2"], count=1)
    c.req("lb_add_del_vip_v2", vip_add(P))                  # dropped
    c.send_raw(struct.pack(">HII", c.ids["lb_flush_vip"], c.index, 9)
               + bytes(5))                                 # truncated
    c.req("lb_add_del_vip_v2", vip_add(P), cidx=0)          # no reply
    c.req("control_ping", ctx=77)
    assert struct.unpack_from(">HI", c.recv()) == (24, 77)
    j = journal(sim)["journal"]
    assert [(e["name"], e["fault"], e["retval"]) for e in j] == [
        ("lb_add_del_vip_v2", "drop", None),
        ("lb_flush_vip", "truncated", None),
        ("lb_add_del_vip_v2", None, 0)]                 # handled, sent nowhere
    assert j[0]["fields"]["prefix"] == P and j[1]["fields"] == {}
    assert j[2]["client"] == 0
    assert len(sim.call("state")["state"]["vips"]) == 1


def test_journal_is_bounded():
    s = Sim("--journal-max", "3")
    try:
        c = Client(s.sock)
        for i in range(5):
            assert c.call("lb_add_del_vip_v2",
                          vip_add("192.0.2.%d/32" % (i + 1)))[0] == 0
        r = s.call("journal")
        assert [e["seq"] for e in r["journal"]] == [3, 4, 5]
        assert (r["first"], r["last"]) == (3, 5)
        assert [e["seq"] for e in s.call("journal", since=1)["journal"]] \
            == [3, 4, 5]                 # first > since + 1: some were lost
    finally:
        s.stop()


# --- fail injection ---------------------------------------------------------
def test_fail_answers_without_applying(sim):
    c = Client(sim.sock)
    V, A, W = "lb_add_del_vip_v2", "lb_add_del_as_v2", "lb_as_set_weight"
    P, Q = "198.19.0.10/32", "198.19.0.11/32"
    r = sim.call("fail", names=[V], retval=-81, count=2)
    assert r["fails"] == [{"names": [V], "retval": -81, "count": 2,
                           "prefix": None, "port": None, "address": None,
                           "is_del": None, "hits": 0}]
    assert c.call(V, vip_add(P))[0] == -81
    assert sim.call("state")["state"]["vips"] == []        # not applied
    assert c.call(V, vip_add(P))[0] == -81
    assert sim.call("fails")["fails"] == []                # used up
    assert c.call(V, vip_add(P))[0] == 0
    assert c.call(V, vip_add(Q))[0] == 0
    for a in ("198.18.1.2", "198.18.1.3"):
        assert c.call(A, as_v2(P, a))[0] == 0
        assert c.call(A, as_v2(Q, a))[0] == 0
    before = sim.call("state")["state"]["vips"]
    # filters: AS address, VIP prefix, port, is_del
    sim.call("fail", names=[W, A], retval=-6, address="198.18.1.3",
             prefix="198.19.0.10/32")
    assert c.call(W, as_v2(P, "198.18.1.3", 7)[:-1])[0] == -6
    assert c.call(A, as_v2(P, "198.18.1.3", is_del=1))[0] == -6
    assert c.call(W, as_v2(P, "198.18.1.2", 7)[:-1])[0] == 0   # other AS
    assert c.call(W, as_v2(Q, "198.18.1.3", 7)[:-1])[0] == 0   # other VIP
    assert c.call(W, as_v2(P, "198.18.1.2", 100)[:-1])[0] == 0
    assert c.call(W, as_v2(Q, "198.18.1.3", 100)[:-1])[0] == 0
    assert sim.call("state")["state"]["vips"] == before     # state unchanged
    sim.call("fail", names=[A], retval=-81, is_del=False, port=80,
             prefix=Q)
    assert c.call(A, as_v2(Q, "198.18.1.9"))[0] == -81     # add: failed
    assert c.call(A, as_v2(Q, "198.18.1.2", is_del=1))[0] == 0  # del: ok
    fails = sim.call("fails")["fails"]
    assert [(f["hits"], f["count"]) for f in fails] == [(2, None),
                                                        (1, None)]
    # the first matching rule answers
    assert c.call(A, as_v2(P, "198.18.1.3"))[0] == -6
    # clear by name, then everything
    r = sim.call("fail-clear", names=[W])
    assert r["cleared"] == 1 and len(r["fails"]) == 1
    assert c.call(W, as_v2(P, "198.18.1.3", 5)[:-1])[0] == 0
    assert sim.call("fail-clear") == {"ok": True, "cleared": 1, "fails": []}
    assert c.call(A, as_v2(Q, "198.18.1.9"))[0] == 0
    # every write can fail, with any retval; the reply is {id, ctx, retval}
    sim.call("fail", names=["lb_conf", "lb_flush_vip"], retval=-7, count=1)
    rv, b = c.call("lb_conf", bytes(20) + struct.pack(">II", 4096, 30))
    assert rv == -7 and len(b) == 10
    assert c.call("lb_flush_vip", vipk(P))[0] == 0
    assert sim.call("state")["state"]["conf"]["sticky_buckets_per_core"] \
        == 1024
    # a count of 1 for two names: one request in all
    assert sim.call("fails")["fails"] == []
    # the journal tells injected answers apart
    j = journal(sim)["journal"]
    assert [e["retval"] for e in j if e["fault"] == "fail"] == \
        [-81, -81, -6, -6, -81, -6, -7]
    assert [e["fields"]["as_address"] for e in j
            if e["fault"] == "fail" and e["name"] == W] == ["198.18.1.3"]


def test_fail_bad_arguments_and_restart(sim):
    for kw in (dict(names=["lb_vip_dump"], retval=-6),
               dict(names=[], retval=-6),
               dict(names=["lb_conf"], retval=-6, count=0),
               dict(names=["lb_conf"]),
               dict(names=["lb_flush_vip"], retval=-6, prefix="bogus"),
               dict(names=["lb_add_del_as_v2"], retval=-6, address="x")):
        with pytest.raises(RuntimeError):
            sim.call("fail", **kw)
    assert sim.call("fails")["fails"] == []
    sim.call("fail", names="lb_add_del_vip_v2", retval=-6)  # comma list ok
    sim.call("restart", down=0.1)                           # rules survive
    wait_for(lambda: sim.call("state")["state"]["api_listening"],
             "api back")
    c = Client(sim.sock)
    assert c.call("lb_add_del_vip_v2", vip_add("192.0.2.1/32"))[0] == -6
    # a dropped request is not answered at all, whatever the fail rules
    sim.call("drop", names=["lb_add_del_vip_v2"], count=1)
    c.req("lb_add_del_vip_v2", vip_add("192.0.2.1/32"))
    assert no_reply(c)
    assert [(e["fault"], e["retval"]) for e in journal(sim)["journal"]] \
        == [("fail", -6), ("drop", None)]


def test_fail_reply_delayed_in_order(sim):
    c = Client(sim.sock)
    sim.call("fail", names=["lb_add_del_vip_v2"], retval=-81)
    sim.call("delay", seconds=0.3, names=["lb_add_del_vip_v2"])
    t0 = time.monotonic()
    c.req("lb_add_del_vip_v2", vip_add("192.0.2.1/32"), ctx=1)
    c.req("control_ping", ctx=2)
    b = c.recv()
    assert struct.unpack_from(">HIi", b)[1:] == (1, -81)
    assert time.monotonic() - t0 >= 0.25
    assert struct.unpack_from(">HI", c.recv()) == (24, 2)


# --- model and speed --------------------------------------------------------
def brute_counts(M, ases):
    entries = sorted((r, a, i) for i, (a, w) in enumerate(ases)
                     for r in range(w))
    out = [0] * len(ases)
    for n in range(M if entries else 0):
        out[entries[n % len(entries)][2]] += 1
    return out


def test_fast_bucket_counts_match_the_round_robin():
    import random
    import lb
    rng = random.Random(1)
    cases = [(1024, [100] * 4), (1024, [50, 100, 100, 100]),
             (1024, [50, 0, 100, 100]), (1024, [1, 100]), (64, [100, 50]),
             (1024, [100] * 20)]
    for _ in range(300):
        cases.append((rng.choice([1, 2, 8, 64, 1024, 4096]),
                      [rng.choice([0, 1, 2, 3, 7, 50, 100, 255])
                       for _ in range(rng.randint(1, 12))]))
    for M, ws in cases:
        ases = [(bytes(12) + bytes([10, 0, rng.randrange(256), i]), w)
                for i, w in enumerate(ws)]
        got, drop = lb.maglev_counts(M, ases)
        assert got == brute_counts(M, ases), (M, ws)
        assert drop == (M if not any(ws) else 0)
        assert sum(got) + drop == M


def cpu_seconds(pid):
    """The CPU time (user + system) a process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_pipelined_adds_are_fast(sim):
    c = Client(sim.sock)
    nv, na = 100, 32
    out = b""
    for i in range(nv):
        out += struct.pack(">QII", 0, 50, 0) + struct.pack(
            ">HII", c.ids["lb_add_del_vip_v2"], c.index, i) + vip_add(
            "10.1.%d.1/32" % i)
    for i in range(nv):
        for j in range(na):
            out += struct.pack(">QII", 0, 51, 0) + struct.pack(
                ">HII", c.ids["lb_add_del_as_v2"], c.index, 1000) + as_v2(
                "10.1.%d.1/32" % i, "198.18.0.%d" % (j + 1), 100 - j)
    # fast: measured in vppsim's own CPU time, which a busy machine does
    # not stretch as it does the wall clock
    cpu0 = cpu_seconds(sim.proc.pid)
    c.s.sendall(out)
    for _ in range(nv * (na + 1)):
        assert struct.unpack_from(">HIi", c.recv())[2] == 0
    d = as_dump(c)
    assert len(d) == nv * na and sum(x[3] for x in d) == nv * 1024
    cpu = cpu_seconds(sim.proc.pid) - cpu0
    print(f"\n{nv * (na + 1)} pipelined adds and a dump: {cpu:.2f} s of vppsim's CPU")
    assert cpu < 5


def test_bucket_model_equal_fault():
    """--bucket-model equal: VPP's dump (and the state) report an even
    split of the table over the ASes with a weight, whatever the weights;
    the `bucket-model` command switches at run time and survives a
    restart; weight-0 and removed ASes keep 0 buckets."""
    import lb as lbm
    from wire import parse_addr
    s = Sim("--bucket-model", "equal")
    try:
        c = Client(s.sock)
        A = "lb_add_del_as_v2"
        assert c.call("lb_add_del_vip_v2", vip_add("192.0.2.1/32"))[0] == 0
        for addr, w in (("10.0.0.1", 1), ("10.0.0.2", 100), ("10.0.0.3", 50),
                        ("10.0.0.4", 0)):
            assert c.call(A, as_v2("192.0.2.1/32", addr, w))[0] == 0
        # 1024 over three: 342, 341, 341 in address order; .4 has no weight
        assert [(x[0], x[3]) for x in as_dump(c)] == [
            ("10.0.0.1", 342), ("10.0.0.2", 341), ("10.0.0.3", 341),
            ("10.0.0.4", 0)]
        assert s.call("bucket-model") == {"ok": True, "model": "equal"}
        # back to VPP's algorithm: the model's counts of the same weights
        assert s.call("bucket-model", model="maglev")["model"] == "maglev"
        want, _ = lbm.maglev_counts(1024, [
            (parse_addr(a)[1], w) for a, w in (
                ("10.0.0.1", 1), ("10.0.0.2", 100), ("10.0.0.3", 50),
                ("10.0.0.4", 0))])
        got = [x[3] for x in as_dump(c)]
        assert got == want and got != [342, 341, 341, 0], got
        assert sum(got) == 1024
        with pytest.raises(RuntimeError, match="bucket model"):
            s.call("bucket-model", model="random")
        # the setting survives a restart (a VPP build does not change)
        s.call("bucket-model", model="equal")
        s.call("restart", down=0.2)
        wait_for(lambda: os.path.exists(s.sock), "vppsim back")
        c = Client(s.sock)
        assert c.call("lb_add_del_vip_v2", vip_add("192.0.2.1/32"))[0] == 0
        for addr, w in (("10.0.0.1", 1), ("10.0.0.2", 100)):
            assert c.call(A, as_v2("192.0.2.1/32", addr, w))[0] == 0
        assert [x[3] for x in as_dump(c)] == [512, 512]
        st = s.read_state()["vips"]
        assert [a["num_buckets"] for a in st[0]["ases"]] == [512, 512]
    finally:
        s.stop()
