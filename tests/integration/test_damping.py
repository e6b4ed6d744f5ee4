"""Flap damping (healthchecks.NAME.damping), end to end: real nginx
backends in namespaces, real maglevd, vppsim's weights, the API, maglevc.

One frontend, one pool of b1..b2 at weight 100. b1 is flapped (its nginx
stopped and started) until a flap suppresses it: then it stays down, with
weight 0 in vppsim, while its probes say up, until the penalty decays to
reuse (a short half-life), when it goes up with reason damping-reuse.

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
NAMES = ("b1", "b2")


def config(lab, damping):
    b = lab.backends
    backends = "\n".join(f"    {n}: {{address: {b[i].v4}, healthcheck: tcp}}"
                         for i, n in enumerate(NAMES))
    return f"""maglev:
  healthchecker:
    netns: {lab.hub}
  healthchecks:
    tcp: {{type: tcp, port: 80, interval: 1s, fast-interval: 200ms, down-interval: 300ms,
          timeout: 150ms, rise: 2, fall: 2, damping: {damping}}}
  backends:
{backends}
  frontends:
    web:
      address: 198.19.0.10
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends: {{b1: {{}}, b2: {{}}}}
  vpp:
    lb: {{ipv4-src-address: 198.19.0.1, ipv6-src-address: "2001:db8:ffff::1",
          startup-min-delay: 0s, startup-max-delay: 0s}}
"""


def backend(ch, name="b1"):
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


@pytest.fixture(scope="module")
def lab():
    with Lab(2) as lab:
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
        Lab.wait_for(lambda: all(backend(ch, n).state == "up" for n in NAMES), "both up")
        for b in lab.backends:
            wait_weight(sim, b.v4, 100, f"{b.v4} at 100")
        return sim, d, ch

    yield start
    for sim, d, ch in started:
        ch.close()
        d.stop()
        sim.stop()
    for b in lab.backends:
        if b.proc is None:
            b.start_nginx()


def flap_until_suppressed(lab, d, flaps=5):
    """Stops and starts b1's nginx until a down transition suppresses it."""
    b1 = lab.backends[0]
    m0 = mark(d)
    for _ in range(flaps):
        m = mark(d)
        b1.stop_nginx()
        rec, _ = wait_record(d, "backend-transition", after=m, backend="b1", to="down")
        b1.start_nginx()
        if rec.get("reason") == "damping-suppressed":
            return wait_record(d, "backend-damping-suppressed", after=m0, backend="b1")
        wait_record(d, "backend-transition", after=m, backend="b1", to="up")
    raise AssertionError(f"not suppressed after {flaps} flaps")


def test_flapping_backend_is_suppressed_then_reused(lab, run):
    sim, d, ch = run(config(lab, "{half-life: 2s, max-suppress: 8s}"))
    b1 = lab.backends[0].v4
    hc = rpc(ch, "GetHealthCheck", pb.GetHealthCheckRequest(name="tcp"), pb.HealthCheck)
    assert (hc.damping, hc.damping_half_life_ms, hc.damping_penalty, hc.damping_suppress,
            hc.damping_reuse, hc.damping_max_suppress_ms) == (True, 2000, 1000, 2000, 750, 8000)
    rec, i_sup = flap_until_suppressed(lab, d)
    assert rec["penalty"] > 2000 and rec["reuse"] == 750, rec
    # held down while its probes pass: weight 0 in vppsim
    wait_weight(sim, b1, 0, "b1 at 0 while suppressed")
    held = None
    for _ in range(2):  # the probes may say up before the reuse, or not (a loaded machine)
        b = backend(ch)
        if not b.damping_suppressed:
            break
        assert b.state == "down" and b.damping and b.damping_suppressions == 1, b
        if b.probe_state == "up":
            held = b
            break
        Lab.wait_for(lambda: backend(ch).probe_state == "up" or not backend(ch).damping_suppressed,
                     "b1's probes up or the reuse")
    if held is not None:
        assert held.damping_reuse_in_ms > 0 and held.damping_suppressed_since_us > 0, held
        assert held.damping_penalty > 750, held
        assert sim_weights(sim).get(b1) == 0, "a suppressed backend got weight"
        out = maglevc(d, "show", "backend", "b1")
        assert out.returncode == 0 and "SUPPRESSED" in out.stdout, out.stdout
    # the reuse: the damping line, then the transition up with its reason
    reuse, i_reuse = wait_record(d, "backend-damping-reuse", after=i_sup, backend="b1")
    up, i_up = wait_record(d, "backend-transition", after=i_reuse, backend="b1", to="up")
    assert up["reason"] == "damping-reuse", up
    wait_weight(sim, b1, 100, "b1 back at 100 after the reuse")
    b = backend(ch)
    assert not b.damping_suppressed and b.damping_reuse_in_ms == 0 and b.state == "up", b
    reasons = [t.reason for t in b.history]
    assert "damping-suppressed" in reasons and reasons[-1] == "damping-reuse", reasons
    out = maglevc(d, "-j", "show", "backend", "b1")
    assert out.returncode == 0 and '"damping_penalty"' in out.stdout, out.stdout


def test_operator_clear_ends_a_suppression(lab, run):
    # one flap suppresses (penalty 3000 > 2000); a long half-life: no reuse meanwhile
    sim, d, ch = run(config(lab, "{half-life: 1m, penalty: 3000}"))
    b1 = lab.backends[0].v4
    _, i_sup = flap_until_suppressed(lab, d, flaps=1)
    wait_weight(sim, b1, 0, "b1 at 0 while suppressed")
    Lab.wait_for(lambda: backend(ch).probe_state == "up", "b1's probes say up")
    assert backend(ch).state == "down"
    out = maglevc(d, "set", "backend", "b1", "damping", "clear")
    assert out.returncode == 0, out.stderr
    up, _ = wait_record(d, "backend-transition", after=i_sup, backend="b1", to="up")
    assert up["reason"] == "damping-clear", up
    wait_weight(sim, b1, 100, "b1 back at 100 after the clear")
    b = backend(ch)
    assert b.damping_penalty == 0 and not b.damping_suppressed, b
    # b2's healthcheck has damping too; a backend without it is refused
    err = maglevc(d, "set", "backend", "nosuch", "damping", "clear")
    assert err.returncode != 0


def reload(ch, lab, text):
    lab.write_config(text)
    r = rpc(ch, "ReloadConfig", pb.ReloadConfigRequest(), pb.ConfigResult)
    assert r.ok, r.errors
    return r


def test_reload_keeps_a_suppression_until_damping_is_turned_off(lab, run):
    sim, d, ch = run(config(lab, "{half-life: 1m, penalty: 3000}"))
    b1 = lab.backends[0].v4
    _, i_sup = flap_until_suppressed(lab, d, flaps=1)
    wait_weight(sim, b1, 0, "b1 at 0 while suppressed")
    Lab.wait_for(lambda: backend(ch).probe_state == "up", "b1's probes say up")
    before = backend(ch).damping_penalty
    # a reload changing only the reuse threshold: the penalty and the
    # suppression carry over (the penalty is far above both thresholds)
    reload(ch, lab, config(lab, "{half-life: 1m, penalty: 3000, reuse: 500}"))
    hc = rpc(ch, "GetHealthCheck", pb.GetHealthCheckRequest(name="tcp"), pb.HealthCheck)
    assert hc.damping_reuse == 500, hc
    b = backend(ch)
    assert b.damping_suppressed and b.state == "down", b
    assert 500 < b.damping_penalty <= before, (before, b.damping_penalty)
    assert sim_weights(sim).get(b1) == 0, "a reload released a suppressed backend"
    # damping turned off: the suppression ends at once, with its reason
    reload(ch, lab, config(lab, "false"))
    up, _ = wait_record(d, "backend-transition", after=i_sup, backend="b1", to="up")
    assert up["reason"] == "damping-clear", up
    wait_weight(sim, b1, 100, "b1 back at 100 once damping is off")
    b = backend(ch)
    assert not b.damping and not b.damping_suppressed and b.damping_penalty == 0, b
