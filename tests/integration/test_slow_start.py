"""Slow start (backends.NAME.slow-start, healthchecks.NAME.slow-start), end
to end: real nginx backends in namespaces, real maglevd, vppsim's journal of
the weights it was sent, the API, maglevc.

One frontend, one pool of b1..b4 at weight 100; b1 has slow-start:

    web   198.19.0.10 tcp:80  primary b1..b4 100

Nothing here measures durations: every wait is bounded by WAIT, and the
assertions are about causes, order and monotonicity — the steps vppsim
receives for the restarted backend increase and end at the full weight.
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


def config(lab, b1_extra=", slow-start: 5s", hc_extra=""):
    b = lab.backends
    backends = "\n".join(
        f"    {n}: {{address: {b[i].v4}, healthcheck: tcp{b1_extra if n == 'b1' else ''}}}"
        for i, n in enumerate(NAMES))
    return f"""maglev:
  healthchecker:
    netns: {lab.hub}
  healthchecks:
    tcp: {{type: tcp, port: 80, interval: 1s, fast-interval: 200ms, down-interval: 500ms,
          timeout: 300ms, rise: 2, fall: 2{hc_extra}}}
  backends:
{backends}
  frontends:
    web:
      address: 198.19.0.10
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends: {{b1: {{}}, b2: {{}}, b3: {{}}, b4: {{}}}}
  vpp:
    lb: {{ipv4-src-address: 198.19.0.1, ipv6-src-address: "2001:db8:ffff::1",
          startup-min-delay: 0s, startup-max-delay: 0s}}
"""


def frontend(ch):
    return rpc(ch, "GetFrontend", pb.GetFrontendRequest(name="web"), pb.Frontend)


def backend(ch, name):
    return rpc(ch, "GetBackend", pb.GetBackendRequest(name=name), pb.Backend)


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
    return {b.v4: w.get(n, 100) for n, b in zip(NAMES, lab.backends)}


def maglevc(d, *args):
    return subprocess.run([MAGLEVC, "--server", d.grpc_addr, *args], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "NO_COLOR": "1"})


def sent_weights(sim, since, address):
    """The weights vppsim was sent for AS `address` of web since journal seq
    `since`, oldest first, with their journal times."""
    out = []
    for e in sim.journal(since=since, names=["lb_as_set_weight", "lb_add_del_as_v2"]):
        f = e["fields"]
        if f.get("as_address") == address and f.get("prefix") == WEB[0] and not f.get("is_del"):
            out.append((f["weight"], e["time"]))
    return out


@pytest.fixture(scope="module")
def lab():
    with Lab(4) as lab:
        yield lab


@pytest.fixture
def run(lab):
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


def test_restarted_backend_ramps_in_increasing_steps_to_its_weight(lab, run):
    sim, d, ch = run(config(lab))
    # start-up is not a return to service: no ramp, the full weight at once
    assert not d.find("backend-slow-start")
    b = backend(ch, "b1")
    assert b.slow_start_ms == 5000 and not b.ramping and b.ramp_pct == 100, b
    assert backend(ch, "b2").slow_start_ms == 0
    b1 = lab.backends[0]
    b1.stop_nginx()
    wait_weights(sim, weights(lab, b1=0), "b1 at 0 once down")
    seq = sim.journal_mark()
    m = mark(d)
    b1.start_nginx()
    up, i_up = wait_record(d, "backend-transition", after=m, backend="b1", to="up")
    begin, i_begin = wait_record(d, "backend-slow-start", after=m, backend="b1")
    assert i_begin >= i_up - 1 and begin["duration"] == "5s" and begin["steps"] == 5, begin
    # during the ramp: the API and maglevc show it (the ramp lasts seconds;
    # the first step is up at once)
    fe = frontend(ch)
    pb1 = next(x for x in fe.pools[0].backends if x.name == "b1")
    b = backend(ch, "b1")
    if b.ramping:  # not over yet (the machine may be very slow)
        assert b.ramp_started_us > 0 and b.ramp_ends_us - b.ramp_started_us == 5_000_000, b
        assert 5 <= b.ramp_pct < 100, b
    if pb1.ramping:
        assert pb1.effective_weight < 100 and pb1.ramp_pct < 100, pb1
        out = maglevc(d, "show", "frontend", "web")
        assert out.returncode == 0, out.stderr
    end, i_end = wait_record(d, "backend-slow-start-end", after=m, backend="b1", reason="done")
    assert i_end > i_begin
    wait_weights(sim, weights(lab), "b1 back at its full weight")
    steps = sent_weights(sim, seq, b1.v4)
    ws = [w for w, _ in steps]
    # several increasing weights, in order, ending at the full weight
    assert len(ws) >= 3, steps
    assert ws == sorted(ws) and len(set(ws)) == len(ws), steps
    assert ws[0] == 5 and ws[-1] == 100, steps
    # each step was one targeted change with trigger slow-start
    with d.lock:
        recs = d.records[m:]
    synced = [r for r in recs if r["msg"] == "vpp-lbsync-done" and r.get("trigger") == "slow-start"]
    assert synced and all(r.get("frontend") == "web" for r in synced), synced
    b = backend(ch, "b1")
    assert not b.ramping and b.ramp_pct == 100 and b.ramp_started_us == 0, b


def test_going_down_mid_ramp_ends_it_and_zero_turns_it_off(lab, run):
    # the healthcheck's 30 s ramp, b2 opts out with its own 0
    sim, d, ch = run(config(lab, b1_extra="", hc_extra=", slow-start: 30s")
                     .replace("b2: {address", "b2: {slow-start: 0, address"))
    assert backend(ch, "b1").slow_start_ms == 30000
    assert backend(ch, "b2").slow_start_ms == 0
    b1, b2 = lab.backends[0], lab.backends[1]
    b1.stop_nginx()
    b2.stop_nginx()
    wait_weights(sim, weights(lab, b1=0, b2=0), "b1 and b2 at 0")
    m = mark(d)
    b1.start_nginx()
    b2.start_nginx()
    wait_record(d, "backend-slow-start", after=m, backend="b1")
    wait_record(d, "backend-transition", after=m, backend="b2", to="up")
    # b2 takes its weight at once; b1 ramps (its first steps well below 100)
    Lab.wait_for(lambda: sim_weights(sim).get(b2.v4) == 100, "b2 at its full weight")
    assert sim_weights(sim).get(b1.v4, 0) < 100
    assert not [r for r in d.find("backend-slow-start") if r.get("backend") == "b2"]
    b1.stop_nginx()
    end, _ = wait_record(d, "backend-slow-start-end", after=m, backend="b1", reason="down")
    wait_weights(sim, weights(lab, b1=0), "b1 at 0 once down")
    assert not backend(ch, "b1").ramping


def test_no_ramp_after_a_full_outage(lab, run):
    sim, d, ch = run(config(lab, b1_extra="", hc_extra=", slow-start: 30s"))
    for b in lab.backends:
        b.stop_nginx()
    wait_weights(sim, weights(lab, b1=0, b2=0, b3=0, b4=0), "every backend at 0")
    m = mark(d)
    lab.backends[0].start_nginx()
    # the first backend back serves at once: nothing to protect
    skip, _ = wait_record(d, "backend-slow-start-skip", after=m, backend="b1")
    Lab.wait_for(lambda: sim_weights(sim).get(lab.backends[0].v4) == 100, "b1 at 100 at once")
    assert not backend(ch, "b1").ramping
