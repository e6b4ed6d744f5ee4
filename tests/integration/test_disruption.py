"""Disruption in every plan, end to end: real nginx backends in
namespaces, real maglevd, vppsim, maglevc.

One frontend, one pool of b1..b3 at weight 100 (a VIP of 1024 buckets).
The buckets a change moves are computed here independently, with vppsim's
own model of VPP's table (tools/vppsim/lb.py new_flow_table), and compared
with what maglevd says: in `plan vpp lb state` after drift made behind its
back, in `plan set backend b1 disable` (which must change nothing), in the
refusal of `set backend b1 disable --max-disruption 1` (nothing changed
either), in the same with --force (done), and in the vpp-lbsync-done line
of the targeted change that follows.

No durations are measured: every wait is bounded by WAIT; the assertions
are about causes and effects (weights in vppsim, log records in order).
"""
import ipaddress
import os
import re
import subprocess
import sys

import grpc
import pytest

from lab import MAGLEVC, Lab, is_root
from vpplab import VPPSim, active_ases, mark, rpc, start_maglevd, wait_record

sys.path.insert(0, os.environ.get("PROTO_PY_DIR", "build/proto"))
import maglev_pb2 as pb  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools", "vppsim"))
from lb import new_flow_table  # noqa: E402

pytestmark = pytest.mark.skipif(not is_root(), reason="the lab needs root (namespaces)")

WEB = ("198.19.0.10/32", 6, 80)
NAMES = ("b1", "b2", "b3")
LEN = 1024


def config(lab):
    b = lab.backends
    backends = "\n".join(f"    {n}: {{address: {b[i].v4}, healthcheck: tcp}}"
                         for i, n in enumerate(NAMES))
    return f"""maglev:
  healthchecker:
    netns: {lab.hub}
  healthchecks:
    tcp: {{type: tcp, port: 80, interval: 1s, fast-interval: 200ms, down-interval: 300ms,
          timeout: 500ms, rise: 2, fall: 2}}
  backends:
{backends}
  frontends:
    web:
      address: 198.19.0.10
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends: {{b1: {{}}, b2: {{}}, b3: {{}}}}
  vpp:
    lb: {{ipv4-src-address: 198.19.0.1, ipv6-src-address: "2001:db8:ffff::1",
          startup-min-delay: 0s, startup-max-delay: 0s, sync-interval: 1h}}
"""


def ip46(addr):
    a = ipaddress.ip_address(addr)
    return bytes(12) + a.packed if a.version == 4 else a.packed


def expect(before, after):
    """(moved, minimum) from weights {address: weight} before and after,
    with vppsim's table model."""
    def table(w):
        ases = sorted(w.items())
        t = new_flow_table(LEN, [(ip46(a), x) for a, x in ases])
        return [ases[i][0] if i >= 0 else None for i in t]
    ta, tb = table(before), table(after)
    moved = sum(1 for x, y in zip(ta, tb) if x != y)
    owners = set(ta) | set(tb)
    minimum = sum(max(0, ta.count(o) - tb.count(o)) for o in owners)
    return moved, minimum


def backend(ch, name):
    return rpc(ch, "GetBackend", pb.GetBackendRequest(name=name), pb.Backend)


def sim_weights(sim):
    v = sim.vips().get(WEB)
    return {a: x[0] for a, x in active_ases(v).items()} if v else {}


def wait_weight(sim, addr, want, what):
    try:
        Lab.wait_for(lambda: sim_weights(sim).get(addr) == want, what, interval=0.02)
    except AssertionError:
        raise AssertionError(f"timed out waiting for {what}: vppsim has {sim_weights(sim)}") \
            from None


def maglevc(d, *args):
    return subprocess.run([MAGLEVC, "--server", d.grpc_addr, *args], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "NO_COLOR": "1"})


MOVES = re.compile(r"moves (\d+)/(\d+) buckets \(([\d.]+)%\), least possible (\d+)")


def moves_line(out, frontend="web"):
    for line in out.splitlines():
        if f"frontend {frontend} " in line and "moves" in line:
            m = MOVES.search(line)
            assert m, line
            return int(m[1]), int(m[2]), int(m[4])
    raise AssertionError(f"no moves line for {frontend} in:\n{out}")


@pytest.fixture(scope="module")
def lab():
    with Lab(3) as lab:
        yield lab


@pytest.fixture
def up(lab):
    for b in lab.backends:
        if b.proc is None:
            b.start_nginx()
    sim = VPPSim(lab.dir)
    d = start_maglevd(lab.write_config(config(lab)), sim, level="info")
    ch = grpc.insecure_channel(d.grpc_addr)
    try:
        Lab.wait_for(lambda: all(backend(ch, n).state == "up" for n in NAMES), "all up")
        for b in lab.backends:
            wait_weight(sim, b.v4, 100, f"{b.v4} at 100")
        yield sim, d, ch
    finally:
        ch.close()
        d.stop()
        sim.stop()


def test_plan_vpp_lb_state_shows_the_moves_of_drift(lab, up):
    sim, d, ch = up
    addrs = [b.v4 for b in lab.backends]
    # behind maglevd's back: b2 at 30 in VPP; a plan puts it back to 100
    sim.call("as_weight", prefix=WEB[0], address=addrs[1], weight=30, protocol=6, port=80)
    Lab.wait_for(lambda: sim_weights(sim).get(addrs[1]) == 30, "b2 drifted to 30")
    before = {a: (30 if a == addrs[1] else 100) for a in addrs}
    after = {a: 100 for a in addrs}
    moved, minimum = expect(before, after)
    assert 0 < minimum <= moved < LEN
    r = rpc(ch, "PlanVPPLBState", pb.SyncVPPLBStateRequest(frontend="web"), pb.VPPLBSyncResult)
    assert [o.op for o in r.ops] == ["as-weight"], r
    assert len(r.disruption) == 1, r
    x = r.disruption[0]
    assert (x.frontend, x.vip, x.table_length) == ("web", "198.19.0.10/32 tcp:80", LEN), x
    assert (x.buckets_moved, x.buckets_minimum) == (moved, minimum), (x, moved, minimum)
    out = maglevc(d, "plan", "vpp", "lb", "state")
    assert out.returncode == 0, out.stderr
    assert moves_line(out.stdout) == (moved, LEN, minimum), out.stdout
    # the plan changed nothing; the sync does, and says what it moved
    assert sim_weights(sim).get(addrs[1]) == 30
    m0 = mark(d)
    r = rpc(ch, "SyncVPPLBState", pb.SyncVPPLBStateRequest(frontend="web"), pb.VPPLBSyncResult)
    assert r.applied and r.failed == 0 and len(r.disruption) == 1, r
    assert r.disruption[0].buckets_moved == moved, r
    done, _ = wait_record(d, "vpp-lbsync-done", after=m0, scope="vip", trigger="api")
    assert (done["buckets-moved"], done["buckets-minimum"], done["table-length"]) == \
        (moved, minimum, LEN), done
    assert sim_weights(sim).get(addrs[1]) == 100


def test_plan_set_backend_changes_nothing(lab, up):
    sim, d, ch = up
    addrs = [b.v4 for b in lab.backends]
    moved, minimum = expect({a: 100 for a in addrs},
                            {a: (0 if a == addrs[0] else 100) for a in addrs})
    m0 = mark(d)
    out = maglevc(d, "plan", "set", "backend", "b1", "disable")
    assert out.returncode == 0, out.stderr
    assert moves_line(out.stdout) == (moved, LEN, minimum), out.stdout
    assert f"backend b1 ({addrs[0]}) 100" in out.stdout, out.stdout
    r = rpc(ch, "PlanBackendChange", pb.PlanChangeRequest(backend="b1", action="pause"),
            pb.PlanChangeResult)
    assert [(x.frontend, x.buckets_moved, x.buckets_minimum) for x in r.disruption] == \
        [("web", moved, minimum)], r
    assert [(w.backend, w.address, w.weight_before, w.weight_after) for w in r.weights] == \
        [("b1", addrs[0], 100, 0)], r
    # a weight: computed the same way
    wm, wmin = expect({a: 100 for a in addrs}, {a: (50 if a == addrs[2] else 100) for a in addrs})
    out = maglevc(d, "plan", "set", "frontend", "web", "pool", "primary", "backend", "b3",
                  "weight", "50")
    assert out.returncode == 0, out.stderr
    assert moves_line(out.stdout) == (wm, LEN, wmin), out.stdout
    # enable of an enabled backend: nothing moves
    r = rpc(ch, "PlanBackendChange", pb.PlanChangeRequest(backend="b2", action="enable"),
            pb.PlanChangeResult)
    assert [x.buckets_moved for x in r.disruption] == [0], r
    # nothing changed: states, weights, no sync
    assert backend(ch, "b1").state == "up" and backend(ch, "b1").enabled
    assert sim_weights(sim) == {a: 100 for a in addrs}
    with d.lock:
        later = [r["msg"] for r in d.records[m0:]]
    assert "vpp-lbsync-done" not in later and "operator-action" not in later, later
    err = maglevc(d, "plan", "set", "backend", "nosuch", "disable")
    assert err.returncode == 1 and "nosuch" in err.stderr, err


def test_max_disruption_refuses_then_force_applies(lab, up):
    sim, d, ch = up
    addrs = [b.v4 for b in lab.backends]
    moved, minimum = expect({a: 100 for a in addrs},
                            {a: (0 if a == addrs[0] else 100) for a in addrs})
    assert moved * 100 > LEN  # more than 1 %
    m0 = mark(d)
    out = maglevc(d, "set", "backend", "b1", "disable", "--max-disruption", "1")
    assert out.returncode == 1, out
    assert f"would move {moved}/{LEN} buckets" in out.stderr and '"web"' in out.stderr \
        and "1%" in out.stderr, out.stderr
    wait_record(d, "operator-action-refused", after=m0, action="disable", frontend="web")
    assert backend(ch, "b1").enabled and backend(ch, "b1").state == "up"
    assert sim_weights(sim).get(addrs[0]) == 100
    # the API's own check, weight too
    with pytest.raises(grpc.RpcError) as e:
        rpc(ch, "SetFrontendPoolBackendWeight",
            pb.SetWeightRequest(frontend="web", pool="primary", backend="b3", weight=0,
                                max_disruption_pct=5.0), pb.Frontend)
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION, e.value
    assert sim_weights(sim).get(addrs[2]) == 100
    # a limit above the moves lets it through; --force ignores the limit
    m1 = mark(d)
    out = maglevc(d, "set", "backend", "b1", "disable", "--max-disruption", "1", "--force")
    assert out.returncode == 0, out.stderr
    wait_weight(sim, addrs[0], 0, "b1 at 0 after the forced disable")
    assert not backend(ch, "b1").enabled
    done, _ = wait_record(d, "vpp-lbsync-done", after=m1, scope="vip", trigger="operator")
    assert (done["buckets-moved"], done["buckets-minimum"], done["table-length"]) == \
        (moved, minimum, LEN), done
    out = maglevc(d, "set", "backend", "b1", "enable", "--max-disruption", "100")
    assert out.returncode == 0, out.stderr


def test_health_transition_logs_buckets_moved(lab, up):
    sim, d, ch = up
    addrs = [b.v4 for b in lab.backends]
    moved, minimum = expect({a: 100 for a in addrs},
                            {a: (0 if a == addrs[2] else 100) for a in addrs})
    m0 = mark(d)
    lab.backends[2].stop_nginx()
    try:
        _, i = wait_record(d, "backend-transition", after=m0, backend="b3", to="down")
        wait_weight(sim, addrs[2], 0, "b3 at 0")
        done, _ = wait_record(d, "vpp-lbsync-done", after=i, scope="vip", trigger="health")
        assert (done["frontend"], done["buckets-moved"], done["buckets-minimum"],
                done["table-length"]) == ("web", moved, minimum, LEN), done
    finally:
        lab.backends[2].start_nginx()
