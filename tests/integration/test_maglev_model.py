"""The Maglev table model (src/lb/maglev.h, src/lb/table.h) in maglevd's
views, end to end: real nginx backends in namespaces, real maglevd,
vppsim, the API and maglevc.

Frontend web: pool primary b1 (tcp-checked, 100), b2 (tcp-checked, 30), s1
(no healthcheck, 7); pool fallback s2. Frontend wide: one backend at 100
and twenty at 50, no healthcheck (weights summing to 1100 > 1024: the table
flattens them, the warning is due). Backends without a healthcheck are
never probed and get no traffic; their addresses are documentation
addresses nobody sends to.

The expected counts come from vppsim's own model (tools/vppsim/lb.py
maglev_counts), not from constants; vppsim's reported counts are a second,
independent witness. With vppsim --bucket-model equal (a VPP running
another algorithm) maglevd shows the mismatch and logs it once per VPP
connection. Waits are bounded by WAIT; nothing is timed.
"""
import json
import os
import subprocess
import sys

import grpc
import pytest

from lab import MAGLEVC, Lab, is_root
from vpplab import VPPSim, active_ases, mark, rpc, start_maglevd, wait_record, wait_synced

import lb as lbm  # noqa: E402 (tools/vppsim, on the path through vpplab)
from wire import parse_addr  # noqa: E402

sys.path.insert(0, os.environ.get("PROTO_PY_DIR", "build/proto"))
import maglev_pb2 as pb  # noqa: E402

pytestmark = pytest.mark.skipif(not is_root(), reason="the lab needs root (namespaces)")

WEB = ("198.19.0.10/32", 6, 80)
WIDE = ("198.19.0.20/32", 6, 80)
S1, S2 = "198.51.100.101", "198.51.100.102"
WIDE_BACKENDS = [(f"w{i:02d}", f"198.51.100.{i + 1}", 100 if i == 0 else 50) for i in range(21)]


def config(lab):
    b = lab.backends
    wide_defs = "\n".join(f"    {n}: {{address: {a}}}" for n, a, _ in WIDE_BACKENDS)
    wide_pool = ", ".join(f"{n}: {{weight: {w}}}" for n, _, w in WIDE_BACKENDS)
    return f"""maglev:
  healthchecker: {{netns: {lab.hub}}}
  healthchecks:
    tcp: {{type: tcp, port: 80, interval: 1s, fast-interval: 200ms, down-interval: 300ms,
          timeout: 500ms, rise: 2, fall: 2}}
  backends:
    b1: {{address: {b[0].v4}, healthcheck: tcp}}
    b2: {{address: {b[1].v4}, healthcheck: tcp}}
    s1: {{address: {S1}}}
    s2: {{address: {S2}}}
{wide_defs}
  frontends:
    web:
      address: 198.19.0.10
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends: {{b1: {{}}, b2: {{weight: 30}}, s1: {{weight: 7}}}}
        - name: fallback
          backends: {{s2: {{}}}}
    wide:
      address: 198.19.0.20
      protocol: tcp
      port: 80
      pools:
        - name: all
          backends: {{{wide_pool}}}
  vpp:
    lb:
      ipv4-src-address: 198.19.0.1
      ipv6-src-address: "2001:db8:ffff::1"
      sync-interval: 1h
      startup-min-delay: 0s
      startup-max-delay: 0s
"""


def frontend(ch, name):
    return rpc(ch, "GetFrontend", pb.GetFrontendRequest(name=name), pb.Frontend)


def vpp_state(ch):
    return rpc(ch, "GetVPPLBState", pb.GetVPPLBStateRequest(), pb.VPPLBState)


def maglevc(d, *args):
    r = subprocess.run([MAGLEVC, "--server", d.grpc_addr, *args], capture_output=True,
                       text=True, timeout=60, env={**os.environ, "NO_COLOR": "1"})
    assert r.returncode == 0, (args, r.stderr)
    return r.stdout


def backends(f):
    return [b for p in f.pools for b in p.backends]


def model(weights):
    """{address: buckets} of VPP's table for {address: weight} (vppsim's
    closed form; weight 0: not in the table)."""
    addrs = sorted(weights)
    counts, drop = lbm.maglev_counts(1024, [(parse_addr(a)[1], weights[a]) for a in addrs])
    assert drop == (1024 if not any(weights.values()) else 0)
    return dict(zip(addrs, counts))


def sim_ases(sim, key):
    v = sim.vips().get(key)
    return active_ases(v) if v else {}


def wait_vpp_weights(sim, key, weights, what):
    """Until vppsim's active ASes of key have exactly these weights."""
    try:
        Lab.wait_for(lambda: {a: x[0] for a, x in sim_ases(sim, key).items()} == weights, what,
                     interval=0.05)
    except AssertionError:
        raise AssertionError(f"timed out waiting for {what}: vppsim has {sim_ases(sim, key)}") \
            from None


def effective(f):
    return {b.address: b.effective_weight for b in backends(f)}


def check_frontend_model(f):
    """GetFrontend's model against vppsim's closed form: buckets, shares,
    the sum over the serving backends, the error; returns the counts."""
    eff = effective(f)
    want = model(eff)
    total_w = sum(eff.values())
    assert f.table_length == 1024
    for b in backends(f):
        assert b.buckets == want[b.address], (b.name, b.buckets, want[b.address])
        assert b.bucket_share_pct == pytest.approx(100.0 * b.buckets / 1024)
        assert b.weight_share_pct == pytest.approx(100.0 * b.effective_weight / total_w)
        if b.effective_weight == 0:
            assert b.buckets == 0 and b.weight_share_pct == 0
    assert sum(b.buckets for b in backends(f) if b.effective_weight > 0) == 1024
    gaps = [abs(b.bucket_share_pct - b.weight_share_pct) for b in backends(f)
            if b.effective_weight > 0]
    assert f.share_error_pp == pytest.approx(max(gaps))
    return want


@pytest.fixture(scope="module")
def lab():
    with Lab(2) as lab:
        yield lab


@pytest.fixture
def run(lab):
    started = []

    def start(*sim_args):
        for b in lab.backends:
            if b.proc is None:
                b.start_nginx()
        sim = VPPSim(lab.dir, *sim_args)
        d = start_maglevd(lab.write_config(config(lab)), sim)
        ch = grpc.insecure_channel(d.grpc_addr)
        started.append((sim, d, ch))
        Lab.wait_for(lambda: frontend(ch, "web").active_pool == "primary" and
                     all(b.state == "up" for b in backends(frontend(ch, "web"))
                         if b.name in ("b1", "b2")), "b1 and b2 up")
        b = lab.backends
        wait_vpp_weights(sim, WEB, {b[0].v4: 100, b[1].v4: 30, S1: 7, S2: 0}, "web in vppsim")
        wait_vpp_weights(sim, WIDE, {a: w for _, a, w in WIDE_BACKENDS}, "wide in vppsim")
        return sim, d, ch

    yield start
    for sim, d, ch in started:
        ch.close()
        d.stop()
        sim.stop()
    for b in lab.backends:
        if b.proc is None:
            b.start_nginx()


def test_frontend_buckets_follow_the_model_and_vpp(lab, run):
    sim, d, ch = run()
    b = lab.backends
    # web: the model's counts, and what vppsim (VPP) reports for the same weights
    web = frontend(ch, "web")
    want = check_frontend_model(web)
    assert want[S2] == 0 and want[b[0].v4] > want[b[1].v4] > want[S1] > 0
    reported = {a: x[1] for a, x in sim_ases(sim, WEB).items()}
    assert {a: n for a, n in want.items() if n} == {a: n for a, n in reported.items() if n}
    assert web.share_warning == "" and web.share_error_pp <= 2.0
    # wide: weights above the table; the heavy backend is the furthest off
    wide = frontend(ch, "wide")
    want = check_frontend_model(wide)
    assert want == {a: x[1] for a, x in sim_ases(sim, WIDE).items()}
    assert wide.share_error_pp > 2.0
    heavy = [x for x in backends(wide) if x.name == "w00"][0]
    assert heavy.weight_share_pct == pytest.approx(100 * 100 / 1100)
    w = wide.share_warning
    assert "backend w00 " in w and "use fewer backends or larger weights" in w, w
    assert f"{heavy.weight_share_pct:.2f}% of the weight" in w, w
    assert f"{heavy.bucket_share_pct:.2f}% of new flows ({heavy.buckets} buckets)" in w, w
    assert "the weights sum to 1100, more than its 1024 buckets" in w, w

    # maglevc: the column, the table line, the warning; JSON has the fields
    out = maglevc(d, "show", "frontend", "wide")
    assert f"  warning      {w}\n" in out, out
    assert "  table        1024 buckets, shares within " in out
    row = [line.split() for line in out.splitlines() if line.split()[:1] == ["w00"]][0]
    assert row[6:9] == ["buckets", str(heavy.buckets), f"{heavy.bucket_share_pct:.1f}%"], row
    assert "warning" not in maglevc(d, "show", "frontend", "web")
    j = json.loads(maglevc(d, "-j", "show", "frontend", "wide"))
    assert j["share_warning"] == w and j["table_length"] == 1024
    assert {x["name"]: x["buckets"] for x in j["pools"][0]["backends"]} == \
        {x.name: x.buckets for x in backends(wide)}

    # a health transition: b2 down, its buckets go to the others, as the model says
    b[1].stop_nginx()
    Lab.wait_for(lambda: effective(frontend(ch, "web"))[b[1].v4] == 0, "b2's weight 0")
    wait_vpp_weights(sim, WEB, {b[0].v4: 100, b[1].v4: 0, S1: 7, S2: 0}, "b2 at 0 in vppsim")
    web = frontend(ch, "web")
    want = check_frontend_model(web)
    assert want[b[1].v4] == 0 and want[b[0].v4] + want[S1] == 1024
    assert {a: x[1] for a, x in sim_ases(sim, WEB).items()} == want
    b[1].start_nginx()

    # VPP's state: consistent, model counts equal VPP's, no mismatch logged
    st = vpp_state(ch)
    vips = {v.frontend: v for v in st.vips}
    assert set(vips) == {"web", "wide"}
    for v in vips.values():
        assert v.model_consistent and v.model_fingerprint != 0, v
        assert all(a.model_buckets == a.buckets for a in v.ases), v
    assert vips["web"].model_fingerprint != vips["wide"].model_fingerprint
    out = maglevc(d, "show", "vpp", "lb", "state")
    assert out.count("  model              consistent (fingerprint ") == 2, out
    assert "mismatch" not in out.lower(), out
    assert not d.find("vpp-lb-model-mismatch")


def test_another_algorithm_is_shown_and_logged_once_per_connection(lab, run):
    sim, d, ch = run("--bucket-model", "equal")
    # the connect sync read an empty VPP; a read now sees the VIPs it made
    out = maglevc(d, "show", "vpp", "lb", "state")
    rec, _ = wait_record(d, "vpp-lb-model-mismatch")
    assert rec["level"] == "warn" and rec["table-length"] == 1024, rec
    assert rec["frontend"] == "web", rec  # wide's counts agree (below)
    key = WEB
    assert rec["vip"].startswith(key[0]), rec
    ases = sim_ases(sim, key)
    assert rec["vpp-buckets"] == ases[rec["address"]][1], rec
    assert rec["model-buckets"] == model({a: x[0] for a, x in ases.items()})[rec["address"]]
    assert rec["vpp-buckets"] != rec["model-buckets"]
    assert "MISMATCH: VPP's buckets are not the Maglev model's" in out, out
    assert " mismatch\n" in out, out

    # more reads of VPP's state on the same connection: no second line
    m = mark(d)
    maglevc(d, "sync", "vpp", "lb", "state")
    wait_synced(d, after=m, trigger="api")
    st = vpp_state(ch)
    vips = {v.frontend: v for v in st.vips}
    assert set(vips) == {"web", "wide"}
    web = vips["web"]
    assert not web.model_consistent
    want = model({a: x[0] for a, x in sim_ases(sim, WEB).items()})
    assert [(a.buckets, a.model_buckets) for a in web.ases if a.weight] == \
        [(1024 // 3 + (i == 0), want[a.address]) for i, a in
         enumerate(a for a in web.ases if a.weight)]
    assert any(a.buckets != a.model_buckets for a in web.ases)
    # wide: weights above the table flatten Maglev's counts to the equal
    # split itself (48 or 49 each): the counts cannot tell the two apart
    assert vips["wide"].model_consistent
    assert {a.buckets for a in vips["wide"].ases} <= {48, 49}
    assert len(d.find("vpp-lb-model-mismatch")) == 1

    # the GetFrontend view is the model's, whatever VPP reports
    check_frontend_model(frontend(ch, "wide"))

    # a new connection (VPP restarted): logged once more at the first read
    # that sees the VIPs, then not again
    m = mark(d)
    sim.call("restart", down=0.3)
    wait_record(d, "vpp-connect", after=m)
    wait_synced(d, after=m, trigger="connect")
    wait_vpp_weights(sim, WIDE, {a: w for _, a, w in WIDE_BACKENDS}, "wide in vppsim again")
    maglevc(d, "sync", "vpp", "lb", "state")
    wait_record(d, "vpp-lb-model-mismatch", after=m)
    m2 = mark(d)
    maglevc(d, "sync", "vpp", "lb", "state")
    wait_synced(d, after=m2, trigger="api")
    assert len(d.find("vpp-lb-model-mismatch")) == 2
