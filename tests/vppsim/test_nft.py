"""vppsim's new-flow table (lb.new_flow_table, as VPP's LB plugin builds
it) and its nftables mirror (tools/vppsim/nft.py).

The table's per-AS bucket counts must equal the counts vppsim reports
(lb.maglev_counts, PROTOCOL.md 5.5) for any weights; clib_xxhash must give
what VPP's vppinfra/xxhash.h gives (values computed once by compiling that
header). As root with nft installed, the mirror is checked in a bare
network namespace: what it puts into the kernel (map elements, rules,
routes) and that it takes everything away again on VIP delete and on exit.
The traffic tests (real backends, connections through the mirror) are in
tests/integration/test_dataplane.py.
"""
import ipaddress
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VPPSIM_DIR = os.path.join(ROOT, "tools", "vppsim")
sys.path.insert(0, VPPSIM_DIR)
import lb  # noqa: E402
import nft  # noqa: E402
from control import Control  # noqa: E402

WAIT = 30.0


def a4(s):
    return bytes(12) + ipaddress.IPv4Address(s).packed


def a6(s):
    return ipaddress.IPv6Address(s).packed


# ---- the table, no root needed ----


def test_clib_xxhash_known_values():
    """Computed with VPP's own src/vppinfra/xxhash.h (b575ec2c56d)."""
    assert lb.clib_xxhash(0) == 0x6f06f901bfa27892
    assert lb.clib_xxhash(1) == 0x4a67795370639ba2
    assert lb.clib_xxhash(0x0a0013c600000000) == 0x0558abeae17abdbd
    assert lb.clib_xxhash(0x0212c60000000000 ^ 3) == 0x015a7ae25765eb99
    assert lb.clib_xxhash((1 << 64) - 1) == 0x338f9103fd09985c


def test_permutation_visits_every_bucket():
    for M in (2, 8, 1024):
        for addr in (a4("198.18.1.2"), a6("2001:db8:1::2")):
            for r in range(5):
                off, skip = lb.maglev_permutation(addr, r, M)
                assert skip % 2 == 1 and 0 <= off < M
                seen = {(off + i * skip) % M for i in range(M)}
                assert len(seen) == M


def test_table_counts_equal_maglev_counts_random():
    rng = random.Random(20260822)
    for case in range(1500):
        M = 1 << rng.randint(0, 11)
        ases = []
        for _ in range(rng.randint(0, 9)):
            addr = (bytes(12) + rng.randbytes(4)) if rng.random() < 0.6 else rng.randbytes(16)
            ases.append((addr, rng.choice([0, 1, 2, 3, 50, 100, 255, rng.randint(0, 255)])))
        table = lb.new_flow_table(M, ases)
        counts, drop = lb.maglev_counts(M, ases)
        assert len(table) == M
        got = [table.count(i) for i in range(len(ases))]
        assert (got, table.count(-1)) == (counts, drop), (case, M, ases)


def test_table_protocol_examples():
    """PROTOCOL.md 5.5 / VPP's test_lb.py expectations."""
    four = [a4("10.0.0.%d" % i) for i in range(1, 5)]
    for weights, want in (((100, 100, 100, 100), [256] * 4),
                          ((50, 100, 100, 100), [150, 292, 291, 291]),
                          ((50, 0, 100, 100), [208, 0, 408, 408])):
        t = lb.new_flow_table(1024, list(zip(four, weights)))
        assert [t.count(i) for i in range(4)] == want
    t = lb.new_flow_table(1024, [(four[0], 1), (four[1], 100)])
    assert [t.count(0), t.count(1)] == [11, 1013]
    assert lb.new_flow_table(1024, [(four[0], 0)]) == [-1] * 1024
    assert lb.new_flow_table(1, [(four[0], 7), (four[1], 3)]) == [0]


def test_table_independent_of_slot_order_and_minimal_disruption():
    ases = [(a4("198.18.%d.2" % i), w) for i, w in ((1, 100), (2, 50), (3, 100), (4, 70))]
    t = lb.new_flow_table(1024, ases)
    rev = lb.new_flow_table(1024, ases[::-1])
    n = len(ases)
    assert [ases[i][0] for i in t] == [ases[::-1][i][0] for i in rev]
    # AS 2 weight 0: its buckets go to the others; most of the others'
    # buckets stay where they were (Maglev's property, not exact).
    less = lb.new_flow_table(1024, [(a, 0 if k == 1 else w) for k, (a, w) in enumerate(ases)])
    kept = sum(1 for b in range(1024) if t[b] != 1 and less[b] == t[b])
    assert 1 not in less and kept >= 0.8 * (1024 - t.count(1)), (kept, n)


def test_map_names_are_nft_identifiers():
    import re
    for v4, pfx, port in ((True, "198.19.0.10/32", 80), (False, "2001:db8:ffff::10/128", 443)):
        name = nft.map_name(v4, pfx, port, 1024)
        assert re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", name), name


# ---- the mirror in a bare namespace (root, nft) ----

needs_nft = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("nft"),
                               reason="needs root and nftables (apt-get install nftables)")


def sh(*args, check=True, **kw):
    return subprocess.run(list(args), check=check, capture_output=True, text=True, **kw)


def wait_for(cond, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def bare():
    """A namespace of its own, vppsim mirroring into it."""
    ns = f"vsnft{os.getpid() % 100000}"
    d = tempfile.mkdtemp(prefix="vppsim-nft-")
    sh("ip", "netns", "add", ns)
    sh("ip", "-n", ns, "link", "set", "lo", "up")
    log = open(os.path.join(d, "vppsim.log"), "w")
    sock, ctl = os.path.join(d, "api.sock"), os.path.join(d, "ctl.sock")
    p = subprocess.Popen(["/usr/bin/python3", os.path.join(VPPSIM_DIR, "vppsim.py"),
                          "--socket", sock, "--control", ctl, "--nft-netns", ns],
                         stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: os.path.exists(ctl) or p.poll() is not None, "vppsim")
        assert p.poll() is None, open(os.path.join(d, "vppsim.log")).read()
        yield ns, Control(ctl), p
    finally:
        if p.poll() is None:
            p.terminate()
            p.wait(timeout=WAIT)
        log.close()
        sh("ip", "netns", "del", ns, check=False)
        shutil.rmtree(d, ignore_errors=True)


def synced(ctl):
    wait_for(lambda: ctl.call("nft")["nft"]["synced"], "the mirror in step")
    st = ctl.call("nft")["nft"]
    assert st["errors"] == 0, st["last_error"]
    return st


def kernel_map(ns, name):
    out = json.loads(sh("ip", "netns", "exec", ns, "nft", "-j", "list", "map", "inet",
                        "vppsim", name).stdout)
    m = [x["map"] for x in out["nftables"] if "map" in x][0]
    return {k: v for k, v in m.get("elem", [])}


def local_routes(ns):
    return (sh("ip", "-n", ns, "-4", "route", "show", "table", "local", "proto", "250").stdout
            + sh("ip", "-n", ns, "-6", "route", "show", "table", "local", "proto", "250").stdout)


@needs_nft
def test_mirror_kernel_state_follows_vppsim(bare):
    ns, ctl, p = bare
    st = synced(ctl)
    assert st["vips"] == {} and st["routes"] == []
    V4 = dict(prefix="198.19.0.10/32", protocol=6, port=80)
    V6 = dict(prefix="2001:db8:ffff::10/128", protocol=6, port=443)
    assert ctl.call("vip-add", **V4)["retval"] == 0
    assert ctl.call("vip-add", src_ip_sticky=True, **V6)["retval"] == 0
    # not mirrored: an all-port VIP, a udp one, an IPv4 VIP with IPv6 ASes
    assert ctl.call("vip-add", prefix="198.19.0.20/32")["retval"] == 0
    assert ctl.call("vip-add", prefix="198.19.0.21/32", protocol=17, port=53)["retval"] == 0
    assert ctl.call("vip-add", prefix="198.19.0.22/32", protocol=6, port=80,
                    encap="gre6")["retval"] == 0
    for i, w in ((1, 100), (2, 50), (3, 100)):
        assert ctl.call("as-add", address=f"198.18.{i}.2", weight=w, **V4)["retval"] == 0
        assert ctl.call("as-add", address=f"2001:db8:{i}::2", weight=w, **V6)["retval"] == 0
    st = synced(ctl)
    assert len(st["skipped"]) == 3, st["skipped"]
    n4 = nft.map_name(True, "198.19.0.10/32", 80, 1024)
    n6 = nft.map_name(False, "2001:db8:ffff::10/128", 443, 1024)
    assert set(st["vips"]) == {n4, n6}
    state = {(v["prefix"], v["port"]): v for v in ctl.call("state")["state"]["vips"]}
    for name, key in ((n4, ("198.19.0.10/32", 80)), (n6, ("2001:db8:ffff::10/128", 443))):
        want = {a["address"]: a["num_buckets"] for a in state[key]["ases"]}
        km = kernel_map(ns, name)
        got = {}
        for addr in km.values():
            got[addr] = got.get(addr, 0) + 1
        assert got == want == st["vips"][name]["buckets"]
        assert sorted(km) == list(range(1024))
    # the exact table: what lb.new_flow_table builds for these ASes
    t = lb.new_flow_table(1024, [(a4(f"198.18.{i}.2"), w)
                                 for i, w in ((1, 100), (2, 50), (3, 100))])
    km = kernel_map(ns, n4)
    assert all(km[b] == f"198.18.{t[b] + 1}.2" for b in range(1024))
    rules = sh("ip", "netns", "exec", ns, "nft", "list", "chain", "inet", "vppsim", "vips").stdout
    assert "ip saddr . tcp sport . ip daddr . tcp dport mod 1024" in rules
    assert "ip6 saddr mod 1024" in rules            # src_ip_sticky: the source only
    assert rules.count("reject with tcp reset") == 2
    routes = local_routes(ns)
    assert "198.19.0.10" in routes and "2001:db8:ffff::10" in routes
    assert "198.19.0.20" not in routes

    # a weight change refills the map; weight 0 everywhere: an empty map
    runs = st["runs"]
    assert ctl.call("as-weight", address="198.18.2.2", weight=0, **V4)["retval"] == 0
    st = synced(ctl)
    assert st["runs"] > runs
    assert "198.18.2.2" not in kernel_map(ns, n4).values()
    for i in (1, 3):
        ctl.call("as-weight", address=f"198.18.{i}.2", weight=0, **V4)
    st = synced(ctl)
    assert kernel_map(ns, n4) == {} and st["vips"][n4]["drop_buckets"] == 1024

    # VIP delete: map, rules and route gone; the other VIP stays
    assert ctl.call("vip-del", **V4)["retval"] == 0
    st = synced(ctl)
    assert set(st["vips"]) == {n6}
    listing = sh("ip", "netns", "exec", ns, "nft", "list", "table", "inet", "vppsim").stdout
    assert n4 not in listing and "198.19.0.10" not in listing and n6 in listing
    assert "198.19.0.10" not in local_routes(ns)

    # exit: the table and the routes are removed
    p.terminate()
    assert p.wait(timeout=WAIT) == 0
    assert "vppsim" not in sh("ip", "netns", "exec", ns, "nft", "list", "tables").stdout
    assert local_routes(ns).strip() == ""


@needs_nft
def test_mirror_restart_empties_and_bad_netns_refused(bare):
    ns, ctl, p = bare
    V4 = dict(prefix="198.19.0.10/32", protocol=6, port=80)
    ctl.call("vip-add", **V4)
    ctl.call("as-add", address="198.18.1.2", **V4)
    assert len(synced(ctl)["vips"]) == 1
    ctl.call("restart", down=0.1)                  # LB state back to nothing
    st = synced(ctl)
    assert st["vips"] == {} and st["routes"] == []
    r = sh("/usr/bin/python3", os.path.join(VPPSIM_DIR, "vppsim.py"), "--socket",
           os.path.join(tempfile.gettempdir(), f"nft-bad-{os.getpid()}.sock"),
           "--nft-netns", "no-such-netns-here", check=False, timeout=WAIT)
    assert r.returncode == 2 and "nft mirror in netns no-such-netns-here" in r.stderr
