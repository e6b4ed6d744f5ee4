"""Panic mode (fail open, frontends.NAME.panic-threshold) and the
mass-failure guard (healthchecker.mass-failure), end to end: real nginx
backends in namespaces, real maglevd, vppsim's weights, the API, maglevc.

Each test starts its own maglevd and vppsim on the module's lab of four
backends; one frontend, one pool of b1..b4 at weight 100:

    web   198.19.0.10 tcp:80  primary b1..b4 100

Nothing here measures durations: every wait is bounded by WAIT, and the
assertions are about causes and their order in maglevd's log.
"""
import os
import subprocess
import sys

import grpc
import pytest

from lab import MAGLEVC, Lab, is_root
from vpplab import VPPSim, active_ases, mark, rpc, start_maglevd, wait_record

sys.path.insert(0, os.environ.get("PROTO_PY_DIR", "build/proto"))
import maglev_pb2 as pb  # noqa: E402

pytestmark = pytest.mark.skipif(not is_root(), reason="the lab needs root (namespaces)")

WEB = ("198.19.0.10/32", 6, 80)
NAMES = ("b1", "b2", "b3", "b4")


def config(lab, frontend_extra="", checker_extra=""):
    b = lab.backends
    backends = "\n".join(f"    {n}: {{address: {b[i].v4}, healthcheck: tcp}}"
                         for i, n in enumerate(NAMES))
    return f"""maglev:
  healthchecker:
    netns: {lab.hub}
{checker_extra}  healthchecks:
    tcp: {{type: tcp, port: 80, interval: 1s, fast-interval: 200ms, down-interval: 500ms,
          timeout: 300ms, rise: 2, fall: 2}}
  backends:
{backends}
  frontends:
    web:
      address: 198.19.0.10
      protocol: tcp
      port: 80
{frontend_extra}      pools:
        - name: primary
          backends: {{b1: {{}}, b2: {{}}, b3: {{}}, b4: {{}}}}
  vpp:
    lb: {{ipv4-src-address: 198.19.0.1, ipv6-src-address: "2001:db8:ffff::1",
          startup-min-delay: 0s, startup-max-delay: 0s}}
"""


def frontend(ch):
    return rpc(ch, "GetFrontend", pb.GetFrontendRequest(name="web"), pb.Frontend)


def guard(ch):
    return rpc(ch, "GetMassFailureGuard", pb.GetMassFailureGuardRequest(), pb.MassFailureGuard)


def states(ch):
    return {x.name: x.state for p in frontend(ch).pools for x in p.backends}


def sim_weights(sim):
    v = sim.vips().get(WEB)
    return {a: x[0] for a, x in active_ases(v).items()} if v else {}


def wait_weights(sim, want, what):
    try:
        Lab.wait_for(lambda: sim_weights(sim) == want, what, interval=0.02)
    except AssertionError:
        raise AssertionError(f"timed out waiting for {what}: want {want}, "
                             f"vppsim has {sim_weights(sim)}") from None


def weights(lab, **w):
    """{address: weight} for b1..b4, 100 unless given."""
    return {b.v4: w.get(n, 100) for n, b in zip(NAMES, lab.backends)}


def maglevc(d, *args):
    return subprocess.run([MAGLEVC, "--server", d.grpc_addr, *args], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "NO_COLOR": "1"})


def transitions(d, after, to):
    """Indexes (in d.records) of the backend transitions to `to` after `after`."""
    with d.lock:
        recs = list(enumerate(d.records))[after:]
    return [(i, r["backend"]) for i, r in recs if r["msg"] == "backend-transition"
            and r.get("to") == to]


@pytest.fixture(scope="module")
def lab():
    with Lab(4) as lab:
        yield lab


@pytest.fixture
def run(lab):
    """Starts maglevd (with vppsim) on a config; stops both and restarts
    every stopped nginx afterwards."""
    started = []

    def start(text):
        for b in lab.backends:
            if b.proc is None:
                b.start_nginx()
        sim = VPPSim(lab.dir)
        d = start_maglevd(lab.write_config(text), sim)
        ch = grpc.insecure_channel(d.grpc_addr)
        started.append((sim, d, ch))
        Lab.wait_for(lambda: set(states(ch).values()) == {"up"}, "every backend up")
        wait_weights(sim, weights(lab), "the first weights in vppsim")
        return sim, d, ch

    yield start
    for sim, d, ch in started:
        ch.close()
        d.stop()
        sim.stop()
    for b in lab.backends:
        if b.proc is None:
            b.start_nginx()


def test_panic_keeps_weights_when_3_of_4_stop_with_a_50_percent_threshold(lab, run):
    sim, d, ch = run(config(lab, frontend_extra="      panic-threshold: 50%\n"))
    fe = frontend(ch)
    assert fe.panic_threshold == 50 and not fe.panic
    w = ch.unary_stream("/maglev.Maglev/WatchEvents",
                        request_serializer=pb.WatchEventsRequest.SerializeToString,
                        response_deserializer=pb.Event.FromString)(
        pb.WatchEventsRequest(frontend=True), timeout=120)
    m = mark(d)
    for b in lab.backends[1:]:
        b.stop_nginx()
    # panic once the third is down (1 of 4 up: 25 % < 50 %), not before
    rec, i_panic = wait_record(d, "frontend-panic", after=m, frontend="web")
    downs = transitions(d, m, "down")
    assert len(downs) == 3, downs
    assert downs[2][0] < i_panic - 1, "panic before the third backend went down"
    assert rec["up"] == 1 and rec["counted"] == 4 and rec["threshold-pct"] == 50, rec
    assert rec["level"] == "warn" and rec["pool"] == "primary", rec
    # the weights are those of all up: the dead keep their weight, unflushed
    wait_weights(sim, weights(lab), "every weight back at 100 in panic")
    fe = frontend(ch)
    assert fe.panic and fe.state == "up" and fe.active_pool == "primary", fe
    assert {x.name: (x.state, x.effective_weight, x.flush) for x in fe.pools[0].backends} == {
        "b1": ("up", 100, False), "b2": ("down", 100, False), "b3": ("down", 100, False),
        "b4": ("down", 100, False)}
    # streamed: a frontend event with panic set (after the initial snapshot)
    seen = []
    for ev in w:
        seen.append(ev)
        if ev.WhichOneof("kind") == "frontend" and ev.frontend.panic:
            break
    assert not seen[-1].frontend.initial and seen[-1].frontend.name == "web", seen
    w.cancel()
    out = maglevc(d, "show", "frontend", "web")
    assert out.returncode == 0 and "PANIC" in out.stdout and "panic-threshold 50%" in out.stdout, \
        out.stdout
    # leaving: at or above 50 % + 10 points, so with 3 of 4 up (75 %), not with 2 (50 %)
    m = mark(d)
    for b in lab.backends[1:]:
        b.start_nginx()
    end, i_end = wait_record(d, "frontend-panic-end", after=m, frontend="web")
    ups = transitions(d, m, "up")
    assert len(ups) >= 2 and ups[1][0] < i_end - 1, (ups, i_end)
    assert end["up"] >= 3, end
    Lab.wait_for(lambda: set(states(ch).values()) == {"up"}, "every backend up again")
    wait_weights(sim, weights(lab), "all up")
    assert not frontend(ch).panic
    assert len(d.find("frontend-panic")) == 1, "panic entered more than once"


def test_without_panic_threshold_weights_follow_health(lab, run):
    sim, d, ch = run(config(lab))
    for b in lab.backends[1:]:
        b.stop_nginx()
    wait_weights(sim, weights(lab, b2=0, b3=0, b4=0), "b2..b4 at 0")
    assert not d.find("frontend-panic") and not frontend(ch).panic


def test_mass_failure_holds_until_released_then_until_recovery(lab, run):
    # a 30 s window: the three down transitions fall in it however loaded the machine
    sim, d, ch = run(config(lab, checker_extra="    mass-failure: 50%\n"
                                               "    mass-failure-window: 30s\n"))
    g = guard(ch)
    assert g.threshold_pct == 50 and g.window_us == 30_000_000 and not g.holding, g
    m = mark(d)
    for b in lab.backends[1:]:
        b.stop_nginx()
    hold, i_hold = wait_record(d, "mass-failure-hold", after=m)
    downs = transitions(d, m, "down")
    assert len(downs) >= 3 and downs[2][0] < i_hold - 1, (downs, i_hold)
    assert hold["level"] == "error" and hold["downs"] == 3 and hold["backends"] == 4, hold
    assert sorted(hold["held"].split(",")) == ["b2", "b3", "b4"], hold
    # the weights from before the failure, the real states visible
    wait_weights(sim, weights(lab), "the weights held at 100")
    g = guard(ch)
    assert g.holding and sorted(g.held_backends) == ["b2", "b3", "b4"] and g.trips == 1, g
    fe = frontend(ch)
    assert {x.name: (x.state, x.held, x.effective_weight) for x in fe.pools[0].backends} == {
        "b1": ("up", False, 100), "b2": ("down", True, 100), "b3": ("down", True, 100),
        "b4": ("down", True, 100)}
    out = maglevc(d, "show", "mass-failure")
    assert out.returncode == 0 and "HOLDING" in out.stdout and "b2, b3, b4" in out.stdout, \
        out.stdout

    # the operator confirms: the real states apply
    m = mark(d)
    out = maglevc(d, "set", "mass-failure", "release")
    assert out.returncode == 0, out.stderr
    end, _ = wait_record(d, "mass-failure-end", after=m, reason="operator")
    assert end["released"] == 3, end
    wait_weights(sim, weights(lab, b2=0, b3=0, b4=0), "b2..b4 at 0 after the release")
    assert not guard(ch).holding
    out = maglevc(d, "set", "mass-failure", "release")
    assert out.returncode == 1 and "not holding" in out.stderr, (out.stdout, out.stderr)

    # again, and this time the backends recover: the hold ends by itself
    for b in lab.backends[1:]:
        b.start_nginx()
    Lab.wait_for(lambda: set(states(ch).values()) == {"up"}, "every backend up again")
    wait_weights(sim, weights(lab), "all up")
    m = mark(d)
    for b in lab.backends[1:]:
        b.stop_nginx()
    wait_record(d, "mass-failure-hold", after=m)
    wait_weights(sim, weights(lab), "the weights held again")
    assert guard(ch).trips == 2
    m = mark(d)
    for b in lab.backends[1:]:
        b.start_nginx()
    end, i_end = wait_record(d, "mass-failure-end", after=m, reason="recovered")
    ups = transitions(d, m, "up")
    assert ups and ups[0][0] < i_end - 1, (ups, i_end)
    Lab.wait_for(lambda: set(states(ch).values()) == {"up"}, "every backend up at last")
    wait_weights(sim, weights(lab), "all up")
    assert not guard(ch).holding
