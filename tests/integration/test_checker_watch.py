"""The checker watches itself: with the checker's network namespace gone
(the lab's hub, healthchecker.netns) no probe can run. Every probe ends in
SOCKERR, the checker's own failure: the watchdog logs checker-degraded,
GetVersion and `maglevc show version` say degraded, the backends keep
their state and VPP (vppsim) its weights. With the namespace back, the
probes pass again and the checker recovers, still without a VPP change.

Real maglevd, vppsim and nginx backends in network namespaces."""
import os
import subprocess
import sys

import grpc
import pytest

from lab import MAGLEVC, WAIT, Lab, is_root, sh
from vpplab import WEB, VPPSim, active_ases, lab_config, mark, start_maglevd, wait_record

sys.path.insert(0, os.environ.get("PROTO_PY_DIR", "build/proto"))
import maglev_pb2 as pb  # noqa: E402

pytestmark = pytest.mark.skipif(not is_root(), reason="the lab needs root (namespaces)")

WRITES = ("lb_conf", "lb_add_del_vip", "lb_add_del_vip_v2", "lb_add_del_as",
          "lb_add_del_as_v2", "lb_as_set_weight", "lb_flush_vip")
BACKENDS = ("b1", "b2", "b3", "b1v6", "b2v6")  # lab_config's, all probed


@pytest.fixture
def lab():
    with Lab(3) as lab:
        lab.sim = VPPSim(lab.dir)
        try:
            yield lab
        finally:
            if lab.daemon:
                lab.daemon.stop()
            lab.sim.stop()


def version(channel):
    f = channel.unary_unary("/maglev.Maglev/GetVersion",
                            request_serializer=pb.GetVersionRequest.SerializeToString,
                            response_deserializer=pb.VersionInfo.FromString)
    return f(pb.GetVersionRequest(), timeout=WAIT)


def web_weights(sim):
    vip = sim.vips().get(WEB)
    return {a: w for a, (w, _) in active_ases(vip).items()} if vip else None


def unlink(lab, b):
    """Removes b's link to the hub (its end in b's namespace; the peer goes
    with it) and waits until it is gone."""
    ba = f"{lab.prefix}x{b.index}"
    sh("ip", "-n", b.ns, "link", "del", ba, check=False)
    Lab.wait_for(lambda: sh("ip", "-n", b.ns, "link", "show", ba, check=False).returncode != 0,
                 f"{ba} gone")


def relink(lab, b):
    """b's veth link to the hub again, addresses and all (as Backend.create)."""
    hub = lab.hub
    ha, ba = f"{lab.prefix}h{b.index}", f"{lab.prefix}x{b.index}"
    sh("ip", "link", "add", ha, "netns", hub, "type", "veth", "peer", "name", ba, "netns", b.ns)
    sh("ip", "-n", hub, "addr", "add", f"{b.hub_v4}/24", "dev", ha)
    sh("ip", "-n", hub, "addr", "add", f"2001:db8:{b.index}::1/64", "dev", ha, "nodad")
    sh("ip", "-n", b.ns, "addr", "add", f"{b.v4}/24", "dev", ba)
    sh("ip", "-n", b.ns, "addr", "add", f"{b.v6}/64", "dev", ba, "nodad")
    sh("ip", "-n", hub, "link", "set", ha, "up")
    sh("ip", "-n", b.ns, "link", "set", ba, "up")


def test_lost_netns_degrades_the_checker_and_changes_nothing_in_vpp(lab):
    sim = lab.sim
    b = lab.backends
    d = lab.daemon = start_maglevd(lab.write_config(lab_config(lab, with_web6=False,
                                                               interval="1h")), sim)
    for name in BACKENDS:
        d.wait_state(name, "up")
    want = {b[0].v4: 100, b[1].v4: 50, b[2].v4: 0}
    Lab.wait_for(lambda: web_weights(sim) == want, f"vppsim web weights {want}")
    ch = grpc.insecure_channel(d.grpc_addr)
    try:
        # a busy machine may start a probe late at first: wait for ok
        Lab.wait_for(lambda: version(ch).checker_status == "ok", "checker ok")
        m = mark(d)
        seq = sim.journal_mark()

        # the checker's namespace goes away: every probe fails locally
        sh("ip", "netns", "del", lab.hub)
        rec, after = wait_record(d, "checker-degraded", m)
        assert "probe-errors" in rec["reasons"].split(","), rec
        assert rec["code"] == "SOCKERR" and rec["backend"] in BACKENDS, rec
        assert f"netns {lab.hub}" in rec["detail"], rec
        # the cause came first: a SOCKERR probe result before the error
        with d.lock:
            before = d.records[m:after]
        assert any(r["msg"] == "probe-result" and r["code"] == "SOCKERR" for r in before)

        # every backend: SOCKERR, then (3 intervals without a valid
        # result) stale; GetVersion says so
        def all_failing():
            v = version(ch)
            n = len(BACKENDS)
            return (v.checker_status == "degraded" and v.checker_probe_error_backends == n
                    and v.checker_stale_backends == n)
        Lab.wait_for(all_failing, "every backend with probe errors and stale")
        v = version(ch)
        assert set(v.checker_reasons.split(",")) >= {"stale-backends", "probe-errors"}, v
        assert v.checker_degraded_since_us > 0
        out = subprocess.run([MAGLEVC, "--server", d.grpc_addr, "show", "version"],
                             capture_output=True, text=True, timeout=WAIT)
        assert out.returncode == 0, out.stderr
        assert "checker degraded (" in out.stdout and "probe-errors" in out.stdout, out.stdout

        # the error is not repeated within the minute, whatever the probes do
        assert len(d.find("checker-degraded")) == 1
        # nothing moved: no transition, no write to VPP, the same weights
        with d.lock:
            since = d.records[m:]
        assert not [r for r in since if r["msg"] == "backend-transition"], since
        assert sim.journal(since=seq, names=WRITES) == []
        assert web_weights(sim) == want

        # the namespace back (its old links went with it; ours go too if
        # they are still around), the probes pass: recovered
        for x in b:
            unlink(lab, x)
        sh("ip", "netns", "add", lab.hub)
        sh("ip", "-n", lab.hub, "link", "set", "lo", "up")
        for x in b:
            relink(lab, x)
        wait_record(d, "checker-recovered", after)
        Lab.wait_for(lambda: version(ch).checker_status == "ok", "checker ok again")
        v = version(ch)
        assert (v.checker_reasons, v.checker_stale_backends, v.checker_probe_error_backends,
                v.checker_degraded_since_us) == ("", 0, 0, 0), v
        out = subprocess.run([MAGLEVC, "--server", d.grpc_addr, "show", "version"],
                             capture_output=True, text=True, timeout=WAIT)
        assert "checker ok" in out.stdout, out.stdout
        with d.lock:
            since = d.records[m:]
        assert not [r for r in since if r["msg"] == "backend-transition"], since
        assert any(r["msg"] == "probe-result" and r["code"] == "L4OK" for r in since[after - m:])
        assert sim.journal(since=seq, names=WRITES) == []
        assert web_weights(sim) == want
    finally:
        ch.close()
