"""A real dataplane for the lab: vppsim mirrors its LB state into nftables
in the lab's hub namespace (tools/vppsim/nft.py, `--nft-netns`), and real
TCP connections from the hub to the VIP reach the nginx backends.

A client in the hub (a small Python program run with `ip netns exec`,
driven line by line over stdin/stdout) opens connections to the VIP, each
from a new source port, and tallies which backend answered (nginx's body
names it). Checked: every answer comes from an AS with weight > 0, the
shares roughly follow the bucket counts, an AS set to weight 0 gets no new
connection (an established one stays: conntrack, as VPP's sticky table),
a VIP without a live AS rejects, a src_ip_sticky VIP sends one client to
one backend, IPv6 too. With maglevd (MAGLEVD): the failover end to end, a
stopped nginx -> maglevd sets its weight 0 -> no new connection reaches it.
With maglevt (MAGLEVT, or build/src/tester/maglevt): maglevt sees the
stopped backend go.
"""
import json
import os
import shutil
import subprocess
import time

import pytest

from lab import WAIT, Lab, is_root, sh
from vpplab import VPPSim, start_maglevd

pytestmark = pytest.mark.skipif(
    not is_root() or not shutil.which("nft"),
    reason="the lab needs root (namespaces) and nftables (apt-get install nftables)")

V4 = dict(prefix="198.19.0.10/32", protocol=6, port=80)
V6 = dict(prefix="2001:db8:ffff::10/128", protocol=6, port=80)
HOST4, HOST6 = "198.19.0.10", "2001:db8:ffff::10"

CLIENT = r'''
import json, socket, sys

def get(s, host):
    s.sendall(b"GET / HTTP/1.1\r\nHost: lab.example\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            raise ConnectionResetError("eof")
        buf += d
    head, _, body = buf.partition(b"\r\n\r\n")
    n = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            n = int(v)
    while len(body) < n:
        d = s.recv(4096)
        if not d:
            raise ConnectionResetError("eof")
        body += d
    return body.decode().strip()

def kind(e):
    if isinstance(e, ConnectionRefusedError):
        return "refused"
    if isinstance(e, ConnectionResetError):
        return "reset"
    if isinstance(e, socket.timeout):
        return "timeout"
    return type(e).__name__

held = None
for line in sys.stdin:
    req = json.loads(line)
    host, port = req.get("host"), req.get("port", 80)
    if req["op"] == "burst":
        out = {"answers": {}, "errors": {}}
        for i in range(req["n"]):
            try:
                with socket.create_connection((host, port), timeout=5) as s:
                    b = get(s, host)
                out["answers"][b] = out["answers"].get(b, 0) + 1
            except OSError as e:
                out["errors"][kind(e)] = out["errors"].get(kind(e), 0) + 1
    elif req["op"] == "open":
        held = socket.create_connection((host, port), timeout=5)
        out = {"backend": get(held, host)}
    elif req["op"] == "again":
        try:
            out = {"backend": get(held, host)}
        except OSError as e:
            out = {"error": kind(e)}
    print(json.dumps(out), flush=True)
'''


class Client:
    """The client process in the hub namespace."""

    def __init__(self, ns):
        self.p = subprocess.Popen(["ip", "netns", "exec", ns, "/usr/bin/python3", "-u", "-c",
                                   CLIENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)

    def ask(self, **req):
        self.p.stdin.write(json.dumps(req) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        assert line, "the client in the hub namespace died"
        return json.loads(line)

    def burst(self, n, host=HOST4, port=80):
        return self.ask(op="burst", n=n, host=host, port=port)

    def close(self):
        self.p.stdin.close()
        try:
            self.p.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


@pytest.fixture(scope="module")
def lab():
    with Lab(3) as lab:
        yield lab


@pytest.fixture
def sim(lab):
    s = VPPSim(lab.dir, "--nft-netns", lab.hub, name="nftsim")
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def client(lab):
    c = Client(lab.hub)
    try:
        yield c
    finally:
        c.close()


def synced(sim):
    Lab.wait_for(lambda: sim.call("nft")["nft"]["synced"], "the nft mirror in step")
    st = sim.call("nft")["nft"]
    assert st["errors"] == 0, st["last_error"]
    return st


def vip_buckets(sim, prefix, port):
    v = [v for v in sim.state()["vips"]
         if v["prefix"] == prefix and v["port"] == port and not v["deleted"]][0]
    return {a["address"]: a["num_buckets"] for a in v["ases"] if a["flags"] & 1}


def names_by_address(lab):
    out = {}
    for b in lab.backends:
        out[b.v4] = out[b.v6] = b.name
    return out


def check_shares(answers, buckets, by_addr, n):
    """Every answer from an AS with buckets; shares within loose bounds of
    buckets/M (the 4-tuple's jhash over the kernel's ephemeral ports)."""
    total = sum(buckets.values())
    want = {by_addr[a]: c / total for a, c in buckets.items() if c}
    assert set(answers) <= set(want), (answers, want)
    got = sum(answers.values())
    assert got >= 0.95 * n, answers
    for name, share in want.items():
        assert abs(answers.get(name, 0) / got - share) < 0.12, (answers, want)


def test_connections_follow_the_table_v4(lab, sim, client):
    assert sim.call("vip-add", **V4)["retval"] == 0
    for b, w in zip(lab.backends, (100, 50, 100)):
        assert sim.call("as-add", address=b.v4, weight=w, **V4)["retval"] == 0
    synced(sim)
    by_addr = names_by_address(lab)
    buckets = vip_buckets(sim, V4["prefix"], 80)
    r = client.burst(300)
    assert not r["errors"], r
    check_shares(r["answers"], buckets, by_addr, 300)
    assert set(r["answers"]) == {"b1", "b2", "b3"}

    # an established connection stays on its backend when that backend's
    # weight goes to 0 (conntrack); new connections never reach it
    held = client.ask(op="open", host=HOST4, port=80)["backend"]
    gone = [b for b in lab.backends if b.name == held][0]
    assert sim.call("as-weight", address=gone.v4, weight=0, **V4)["retval"] == 0
    st = synced(sim)
    name = list(st["vips"])[0]
    assert gone.v4 not in st["vips"][name]["buckets"]
    r = client.burst(200)
    assert not r["errors"], r
    assert held not in r["answers"], r
    check_shares(r["answers"], vip_buckets(sim, V4["prefix"], 80), by_addr, 200)
    assert client.ask(op="again", host=HOST4)["backend"] == held

    # weight back: it gets new connections again
    assert sim.call("as-weight", address=gone.v4, weight=80, **V4)["retval"] == 0
    synced(sim)
    r = client.burst(200)
    assert held in r["answers"], r

    # no AS with a weight: every bucket is a drop bucket, connections are
    # refused (a TCP reset from the mirror's reject rule), at once
    for b in lab.backends:
        sim.call("as-weight", address=b.v4, weight=0, **V4)
    synced(sim)
    t0 = time.monotonic()
    r = client.burst(20)
    assert r == {"answers": {}, "errors": {"refused": 20}}, r
    assert time.monotonic() - t0 < WAIT
    rules = sh("ip", "netns", "exec", lab.hub, "nft", "list", "chain", "inet", "vppsim",
               "vips").stdout
    reject = [x for x in rules.splitlines() if HOST4 in x and "reject" in x]
    assert len(reject) == 1 and "counter packets 0 " not in reject[0], rules

    # VIP deleted: no route to it any more in the hub
    assert sim.call("vip-del", **V4)["retval"] == 0
    synced(sim)
    r = client.burst(3)
    assert not r["answers"] and sum(r["errors"].values()) == 3, r


def test_ipv6_and_src_ip_sticky(lab, sim, client):
    assert sim.call("vip-add", **V6)["retval"] == 0
    for b in lab.backends:
        assert sim.call("as-add", address=b.v6, **V6)["retval"] == 0
    synced(sim)
    by_addr = names_by_address(lab)
    r = client.burst(240, host=HOST6)
    assert not r["errors"], r
    check_shares(r["answers"], vip_buckets(sim, V6["prefix"], 80), by_addr, 240)

    # a sticky VIP hashes the source address only: one client, one backend
    assert sim.call("vip-del", **V6)["retval"] == 0
    assert sim.call("vip-add", src_ip_sticky=True, **V6)["retval"] == 0
    for b in lab.backends:
        assert sim.call("as-add", address=b.v6, **V6)["retval"] == 0
    synced(sim)
    r = client.burst(40, host=HOST6)
    assert not r["errors"] and len(r["answers"]) == 1, r
    (only,) = r["answers"]
    addr = [b.v6 for b in lab.backends if b.name == only][0]
    sim.call("as-weight", address=addr, weight=0, **V6)
    synced(sim)
    r = client.burst(40, host=HOST6)
    assert not r["errors"] and len(r["answers"]) == 1 and only not in r["answers"], r


def maglevt_path():
    env = os.environ.get("MAGLEVT")
    if env:
        return env
    maglevd = os.environ.get("MAGLEVD", "build/src/daemon/maglevd")
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(maglevd))),
                        "tester", "maglevt")


def test_maglevt_sees_a_stopped_backend_go(lab, sim):
    mt = maglevt_path()
    if not os.access(mt, os.X_OK):
        pytest.skip(f"no maglevt at {mt} (set MAGLEVT)")
    assert sim.call("vip-add", **V4)["retval"] == 0
    for b in lab.backends:
        assert sim.call("as-add", address=b.v4, **V4)["retval"] == 0
    synced(sim)
    b2 = lab.backends[1]
    p = subprocess.Popen(["ip", "netns", "exec", lab.hub, mt, "-q", "-j", "-i", "50ms",
                          "-d", "8s", "-r", "^(b[0-9]+)", f"http://{HOST4}/"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2.5)
        # the failover as maglevd does it: weight 0 first, the backend goes
        assert sim.call("as-weight", address=b2.v4, weight=0, **V4)["retval"] == 0
        synced(sim)
        b2.stop_nginx()
        out, err = p.communicate(timeout=WAIT + 8)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        if b2.proc is None:
            b2.start_nginx()
    rep = json.loads(out)
    seen = {b["name"]: b for b in rep["backends"]}
    assert {"b1", "b2", "b3"} <= set(seen), (rep, err)
    assert seen["b2"]["gone"] and not seen["b1"]["gone"] and not seen["b3"]["gone"], rep
    assert rep["failed"] <= 0.1 * rep["requests"], rep


def maglevd_config(lab):
    b = lab.backends
    return f"""maglev:
  healthchecker: {{netns: {lab.hub}}}
  healthchecks:
    tcp: {{type: tcp, port: 80, interval: 500ms, fast-interval: 200ms, timeout: 500ms,
           rise: 2, fall: 2}}
  backends:
    b1: {{address: {b[0].v4}, healthcheck: tcp}}
    b2: {{address: {b[1].v4}, healthcheck: tcp}}
    b3: {{address: {b[2].v4}, healthcheck: tcp}}
  frontends:
    web:
      address: 198.19.0.10
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends: {{b1: {{}}, b2: {{weight: 50}}}}
        - name: fallback
          backends: {{b3: {{}}}}
  vpp:
    lb:
      ipv4-src-address: 198.19.0.1
      ipv6-src-address: "2001:db8:ffff::1"
      startup-min-delay: 0s
      startup-max-delay: 0s
"""


def test_failover_end_to_end_with_maglevd(lab, sim, client):
    maglevd = os.environ.get("MAGLEVD", "build/src/daemon/maglevd")
    if not os.access(maglevd, os.X_OK):
        pytest.skip(f"no maglevd at {maglevd} (set MAGLEVD)")
    b1, b2, b3 = lab.backends
    d = start_maglevd(lab.write_config(maglevd_config(lab), "dataplane.yaml"), sim)
    try:
        def weights():
            v = [v for v in sim.state()["vips"] if v["prefix"] == V4["prefix"]
                 and v["port"] == 80 and not v["deleted"]]
            return {a["address"]: a["weight"] for a in v[0]["ases"] if a["flags"] & 1} if v else {}
        Lab.wait_for(lambda: weights().get(b1.v4) == 100 and weights().get(b2.v4) == 50,
                     "maglevd programs web")
        synced(sim)
        r = client.burst(150)
        assert set(r["answers"]) == {"b1", "b2"} and not r["errors"], r

        b2.stop_nginx()
        d.wait_state("b2", "down")
        Lab.wait_for(lambda: weights().get(b2.v4) == 0, "b2's weight 0 in VPP")
        synced(sim)
        r = client.burst(150)
        assert set(r["answers"]) == {"b1"} and not r["errors"], r

        b1.stop_nginx()            # the primary pool empty: the fallback
        d.wait_state("b1", "down")
        Lab.wait_for(lambda: weights().get(b1.v4) == 0 and weights().get(b3.v4, 0) > 0,
                     "failover to b3")
        synced(sim)
        r = client.burst(60)
        assert set(r["answers"]) == {"b3"} and not r["errors"], r
    finally:
        d.stop()
        for b in (b1, b2):
            if b.proc is None:
                b.start_nginx()
