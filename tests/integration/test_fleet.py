"""A fleet of load balancers, end to end: two maglevd on the same config,
each with its own vppsim, each probing the nginx lab from a network
namespace of its own, and maglevc across them (--server A --server B).

lb1 runs in the lab's hub. lb2 runs in a second hub this test creates,
with a veth of its own to every backend's namespace; an nftables rule in
that hub (and only there) drops lb2's probes of b3, so lb2 alone sees b3
down: the usual cause of a fleet that disagrees. The config has no
healthchecker netns (each maglevd probes from the namespace it runs in),
so both load the same text and have the same config hash.

Nothing here measures durations: every wait is bounded by WAIT and the
assertions are about states and their causes.
"""
import hashlib
import json
import os
import subprocess
import sys
import threading

import pytest

from lab import MAGLEVC, MAGLEVD, WAIT, Daemon, Lab, is_root, sh
from vpplab import VPPSim, active_ases

sys.path.insert(0, os.environ.get("PROTO_PY_DIR", "build/proto"))

pytestmark = pytest.mark.skipif(not is_root(), reason="the lab needs root (namespaces)")

WEB = ("198.19.0.10/32", 6, 80)
NAMES = ("b1", "b2", "b3")

CONFIG = """maglev:
  healthchecks:
    tcp: {{type: tcp, port: 80, interval: 1s, fast-interval: 200ms, down-interval: 300ms,
          timeout: 300ms, rise: 2, fall: 2}}
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
          startup-min-delay: 0s, startup-max-delay: 0s, sync-interval: 2s}}
"""

# The same meaning, written differently: comments, keys in another order,
# a default spelled out.
CONFIG_REWORDED = """# lb2's copy, edited by hand
maglev:
  vpp:
    lb: {{startup-max-delay: 0s, startup-min-delay: 0s, sync-interval: 2s,
          ipv6-src-address: "2001:db8:ffff::1", ipv4-src-address: 198.19.0.1}}
  frontends:
    web:   # the site
      port: 80
      protocol: tcp
      address: 198.19.0.10
      pools:
        - name: primary
          backends: {{b3: {{}}, b2: {{weight: 100}}, b1: {{}}}}
  backends:
{backends}
  healthchecks:
    tcp: {{type: tcp, port: 80, interval: 1s, fast-interval: 200ms, down-interval: 300ms,
          timeout: 300ms, rise: 2, fall: 2}}
"""


def config_text(lab, template=CONFIG):
    backends = "\n".join(f"    {n}: {{address: {lab.backends[i].v4}, healthcheck: tcp}}"
                         for i, n in enumerate(NAMES))
    return template.format(backends=backends)


class NetnsDaemon(Daemon):
    """maglevd run inside a network namespace (ip netns exec execs it, so
    the pid is maglevd's), JSON logs collected like lab.Daemon's."""

    def __init__(self, ns, config, grpc_addr, *args):
        self.records = []
        self.lock = threading.Lock()
        self.grpc_addr = grpc_addr
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAGLEV_")}
        self.p = subprocess.Popen(
            ["ip", "netns", "exec", ns, MAGLEVD, "--config", config, "--log-format", "json",
             "--log-level", "debug", "--grpc-addr", grpc_addr, "--metrics-addr", "", *args],
            stderr=subprocess.PIPE, text=True, env=env)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()


class Hub2:
    """A second hub: a veth to every backend namespace (198.18.(100+i).0/24)
    and a route to each backend's address over it."""

    def __init__(self, lab):
        self.lab = lab
        self.ns = f"{lab.prefix}hb2"

    def create(self):
        sh("ip", "netns", "add", self.ns)
        sh("ip", "-n", self.ns, "link", "set", "lo", "up")
        for b in self.lab.backends:
            i = b.index
            ha, ba = f"{self.lab.prefix}g{i}", f"{self.lab.prefix}y{i}"
            sh("ip", "link", "add", ha, "netns", self.ns, "type", "veth", "peer", "name", ba,
               "netns", b.ns)
            sh("ip", "-n", self.ns, "addr", "add", f"198.18.{100 + i}.1/24", "dev", ha)
            sh("ip", "-n", b.ns, "addr", "add", f"198.18.{100 + i}.2/24", "dev", ba)
            sh("ip", "-n", self.ns, "link", "set", ha, "up")
            sh("ip", "-n", b.ns, "link", "set", ba, "up")
            sh("ip", "-n", self.ns, "route", "add", f"{b.v4}/32", "via", f"198.18.{100 + i}.2")

    def block(self, addr):
        """Drop what this hub sends to addr (lb2's probes)."""
        sh("ip", "netns", "exec", self.ns, "nft", "-f", "-", input=f"""
table inet fleet_test {{
  chain out {{ type filter hook output priority 0; policy accept; ip daddr {addr} drop; }}
}}
""")

    def unblock(self):
        sh("ip", "netns", "exec", self.ns, "nft", "delete", "table", "inet", "fleet_test",
           check=False)

    def delete(self):
        sh("ip", "netns", "del", self.ns, check=False)  # its veths go with it


def maglevc(*args, env=None):
    return subprocess.run([MAGLEVC, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NO_COLOR": "1", **(env or {})})


def sim_weights(sim):
    """{address: weight} of web's active ASes with a weight (an AS at 0
    has no bucket: the same for the table as no AS)."""
    v = sim.vips().get(WEB)
    return {a: x[0] for a, x in active_ases(v).items() if x[0]} if v else {}


def wait_weights(sim, want, what):
    want = {a: w for a, w in want.items() if w}
    try:
        Lab.wait_for(lambda: sim_weights(sim) == want, what, interval=0.05)
    except AssertionError:
        raise AssertionError(f"timed out waiting for {what}: vppsim has {sim_weights(sim)}") \
            from None


class LB:
    def __init__(self, name, ns, lab):
        self.dir = os.path.join(lab.dir, name)
        os.makedirs(self.dir)
        self.config = os.path.join(self.dir, "maglev.yaml")
        with open(self.config, "w") as f:
            f.write(config_text(lab))
        self.sim = VPPSim(self.dir, name=name)
        self.addr = "unix:" + os.path.join(self.dir, "maglevd.sock")
        self.d = NetnsDaemon(ns, self.config, self.addr, "--vpp-api-addr", self.sim.sock)

    def write(self, text):
        with open(self.config, "w") as f:
            f.write(text)

    def stop(self):
        self.d.stop()
        self.sim.stop()


@pytest.fixture(scope="module")
def fleet():
    with Lab(3) as lab:
        hub2 = Hub2(lab)
        lbs = []
        try:
            hub2.create()
            lbs.append(LB("lb1", lab.hub, lab))
            lbs.append(LB("lb2", hub2.ns, lab))
            all_up = {b.v4: 100 for b in lab.backends}
            for lb in lbs:
                for n in NAMES:
                    lb.d.wait_state(n, "up")
                wait_weights(lb.sim, all_up, "every backend at 100")
            yield lab, hub2, lbs
        finally:
            for lb in lbs:
                lb.stop()
            hub2.unblock()
            hub2.delete()


def servers(lbs):
    return [a for lb in lbs for a in ("--server", lb.addr)]


def fleet_json(lbs, *extra):
    r = maglevc(*servers(lbs), *extra, "-j", "show", "fleet")
    return r, json.loads(r.stdout)


def wait_agree(lbs):
    last = []

    def agree():
        r = maglevc(*servers(lbs), "show", "fleet")
        last[:] = [r]
        return r.returncode == 0
    try:
        Lab.wait_for(agree, "the fleet to agree", interval=0.5)
    except AssertionError:
        raise AssertionError(f"fleet never agreed: {last[0].stdout} {last[0].stderr}") from None


def test_identical_config_agrees(fleet):
    lab, hub2, lbs = fleet
    r, j = fleet_json(lbs)
    assert r.returncode == 0, r.stdout + r.stderr
    assert j["agree"] and j["config_same"] and j["unreachable"] == 0, j
    assert [x["server"] for x in j["lbs"]] == [lb.addr for lb in lbs]
    [web] = j["frontends"]
    assert web["name"] == "web" and web["weights_same"] and web["table_same"], web
    assert web["differences"] == []
    fps = {c["fingerprint"] for c in web["lbs"]}
    assert len(fps) == 1 and len(fps.pop()) == 16, web
    assert all(c["flow_table_length"] > 0 and c["total_weight"] == 300 for c in web["lbs"]), web
    # the config hash is the SHA-256 of the canonical dump, as Python sees it
    dump = subprocess.run([MAGLEVD, "--check", "--dump", "--config", lbs[0].config],
                          capture_output=True, check=True).stdout
    want = hashlib.sha256(dump).hexdigest()
    assert all(x["config_hash"] == want for x in j["lbs"]), (want, j["lbs"])
    # the text: one column per LB, the summary line last
    t = maglevc(*servers(lbs), "show", "fleet")
    assert t.returncode == 0, t.stderr
    assert t.stdout.rstrip().splitlines()[-1] == "fleet agrees: 2 load balancers, 1 frontend"
    assert f"lb2  {lbs[1].addr}  config {want[:12]}" in t.stdout, t.stdout
    # the same servers from MAGLEV_SERVERS and from a servers file
    e = maglevc("-j", "show", "fleet", env={"MAGLEV_SERVERS": ",".join(lb.addr for lb in lbs)})
    assert e.returncode == 0 and len(json.loads(e.stdout)["lbs"]) == 2, e.stdout + e.stderr
    path = os.path.join(lab.dir, "servers")
    with open(path, "w") as f:
        f.write(f"# the fleet\n{lbs[0].addr}\n\n  {lbs[1].addr}   # lb2\n")
    f = maglevc("--servers-file", path, "-j", "show", "fleet")
    assert f.returncode == 0, f.stdout + f.stderr
    assert [x["server"] for x in json.loads(f.stdout)["lbs"]] == [lb.addr for lb in lbs]


def test_health_disagreement_named(fleet):
    lab, hub2, lbs = fleet
    b3 = lab.backends[2].v4
    hub2.block(b3)
    try:
        lbs[1].d.wait_state("b3", "down")
        wait_weights(lbs[1].sim, {lab.backends[0].v4: 100, lab.backends[1].v4: 100},
                     "b3 out of lb2's VPP")
        assert lbs[0].d.state("b3") == "up"  # lb1's view is unchanged
        r, j = fleet_json(lbs)
        assert r.returncode == 1, r.stdout + r.stderr
        assert not j["agree"] and j["config_same"], j
        [web] = j["frontends"]
        assert not web["agree"] and not web["weights_same"] and not web["table_same"], web
        assert web["lbs"][0]["fingerprint"] != web["lbs"][1]["fingerprint"]
        [d] = web["differences"]
        assert d["backend"] == "b3" and d["pool"] == "primary", d
        assert [(x["label"], x["state"], x["effective_weight"]) for x in d["lbs"]] == \
            [("lb1", "up", 100), ("lb2", "down", 0)], d
        t = maglevc(*servers(lbs), "show", "fleet")
        assert t.returncode == 1
        assert "b3 (primary)" in t.stdout and "DISAGREE" in t.stdout, t.stdout
        assert t.stdout.rstrip().splitlines()[-1] == (
            "fleet disagrees: 0 of 1 frontend agree; web: weights differ, table differs "
            "(b3 down on lb2)"), t.stdout
    finally:
        hub2.unblock()
    lbs[1].d.wait_state("b3", "up")
    wait_agree(lbs)


def test_config_hash_comments_and_real_change(fleet):
    lab, hub2, lbs = fleet
    before = fleet_json(lbs)[1]["lbs"][1]["config_hash"]
    lbs[1].write(config_text(lab, CONFIG_REWORDED))
    r = maglevc("--server", lbs[1].addr, "config", "reload")
    assert r.returncode == 0, r.stdout + r.stderr
    r, j = fleet_json(lbs)
    assert j["lbs"][1]["config_hash"] == before and j["config_same"], j
    assert r.returncode == 0, r.stdout
    # a real difference: the probe timeout
    lbs[1].write(config_text(lab).replace("timeout: 300ms", "timeout: 400ms"))
    r = maglevc("--server", lbs[1].addr, "config", "reload")
    assert r.returncode == 0, r.stdout + r.stderr
    r, j = fleet_json(lbs)
    assert r.returncode == 1 and not j["config_same"], j
    assert j["lbs"][1]["config_hash"] not in ("", before), j
    assert "config differs" in j["summary"], j["summary"]
    lbs[1].write(config_text(lab))
    assert maglevc("--server", lbs[1].addr, "config", "reload").returncode == 0
    wait_agree(lbs)


def test_set_backend_on_every_lb(fleet):
    lab, hub2, lbs = fleet
    v = [b.v4 for b in lab.backends]
    r = maglevc(*servers(lbs), "set", "backend", "b1", "disable")
    assert r.returncode == 0, r.stdout + r.stderr
    assert [line for line in r.stdout.splitlines() if line.startswith("==")] == \
        [f"== {lb.addr} ==" for lb in lbs], r.stdout
    for lb in lbs:
        wait_weights(lb.sim, {v[0]: 0, v[1]: 100, v[2]: 100}, "b1 at 0")
    r = maglevc(*servers(lbs), "-j", "set", "backend", "b1", "enable")
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout)
    assert [(x["server"], x["exit"], x["result"]["enabled"]) for x in out] == \
        [(lb.addr, 0, True) for lb in lbs], out
    for lb in lbs:
        wait_weights(lb.sim, {v[0]: 100, v[1]: 100, v[2]: 100}, "b1 back at 100")


def test_dead_server_stops_unless_continue(fleet):
    lab, hub2, lbs = fleet
    v = [b.v4 for b in lab.backends]
    dead = "unix:" + os.path.join(lab.dir, "nobody.sock")
    args = ["--server", lbs[0].addr, "--server", dead, "--server", lbs[1].addr]
    r = maglevc(*args, "set", "backend", "b2", "disable")
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"cannot reach maglevd at {dead}" in r.stderr, r.stderr
    assert f"stopped after the failure on {dead}; not run on: {lbs[1].addr}" in r.stderr, \
        r.stderr
    assert f"== {lbs[1].addr} ==" not in r.stdout, r.stdout
    wait_weights(lbs[0].sim, {v[0]: 100, v[1]: 0, v[2]: 100}, "b2 at 0 on lb1")
    assert sim_weights(lbs[1].sim) == {v[0]: 100, v[1]: 100, v[2]: 100}  # never asked
    assert lbs[1].d.find("backend-transition", backend="b2", to="disabled") == []
    # show fleet names the dead one and exits 1
    f = maglevc(*args, "show", "fleet")
    assert f.returncode == 1 and f"lb2 ({dead}) unreachable" in f.stdout, f.stdout
    # --continue: on to lb2 past the dead one, still exit 1
    r = maglevc(*args, "--continue", "set", "backend", "b2", "disable")
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"== {lbs[1].addr} ==" in r.stdout and "stopped" not in r.stderr, r.stdout + r.stderr
    wait_weights(lbs[1].sim, {v[0]: 100, v[1]: 0, v[2]: 100}, "b2 at 0 on lb2")
    r = maglevc(*servers(lbs), "set", "backend", "b2", "enable")
    assert r.returncode == 0, r.stdout + r.stderr
    for lb in lbs:
        wait_weights(lb.sim, {v[0]: 100, v[1]: 100, v[2]: 100}, "b2 back at 100")


def test_several_servers_other_commands(fleet):
    lab, hub2, lbs = fleet
    r = maglevc(*servers(lbs), "-j", "show", "backend", "b3")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [(x["server"], x["result"]["name"]) for x in out] == [(lb.addr, "b3") for lb in lbs]
    r = maglevc(*servers(lbs), "watch", "events")
    assert r.returncode == 2 and "give one --server" in r.stderr, r.stderr
    r = subprocess.run([MAGLEVC, *servers(lbs)], input="show version\n", capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and "the shell talks to one maglevd" in r.stderr, r.stderr
