"""maglevc's VPP commands against a real maglevd and vppsim (the stand-in
VPP on a UNIX socket) in the nginx lab: `show vpp info`, `show vpp lb state`
(checked line by line against vppsim's own state), `plan` and `sync vpp lb
state` repairing drift made through vppsim's control socket, the older
`lbstate` aliases, whether VPP has each backend's weight in `show frontend`
and `show frontends`, `watch events vpp`, errors (unknown frontend, VPP
away, integration disabled), --json, --complete, and TAB / `?` in the
interactive shell.

maglevd runs with sync-interval 1h, so that drift stays until a test asks
for the sync."""
import json
import os
import re
import subprocess
import tempfile
import time

import pexpect
import pytest

from lab import Daemon, Lab, MAGLEVC, is_root
from vpplab import (WEB, WEB6, VPPSim, active_ases, lab_config, mark, start_maglevd,
                    wait_record, wait_synced)

pytestmark = pytest.mark.skipif(not is_root(), reason="the lab needs root (namespaces)")

ESC = "\033"
TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}"
ARROW = "\u2192"

# the lines `show vpp lb state` is made of (maglevc(1), "VPP LB STATE")
LINE_CONF_HEAD = re.compile(r"^lb conf$")
LINE_FIELD = re.compile(r"^  ([a-z0-9-]+) +(\S.*)$")
LINE_VIP = re.compile(r"^vip (\S+) (tcp:\d+|udp:\d+|any) frontend (\S+|\(not configured\))$")
LINE_AS = re.compile(r"^    address (\S+) weight (\d+) buckets (\d+) model (\d+)( mismatch)?"
                     r"( removed)?$")


def config(lab):
    return lab_config(lab, interval="1h")  # drift stays until a test syncs


def converged(lab):
    b = lab.backends
    vips = lab.sim.vips()
    if set(vips) != {WEB, WEB6}:
        return False
    web = {a: x[0] for a, x in active_ases(vips[WEB]).items()}
    web6 = {a: x[0] for a, x in active_ases(vips[WEB6]).items()}
    return (web == {b[0].v4: 100, b[1].v4: 50, b[2].v4: 0}
            and web6 == {b[0].v6: 100, b[1].v6: 25})


@pytest.fixture(scope="module")
def lab():
    with Lab(3) as lab:
        lab.sim = VPPSim(lab.dir)
        lab.daemon = start_maglevd(lab.write_config(config(lab)), lab.sim)
        lab.home = tempfile.mkdtemp(prefix="maglevc-home-", dir=lab.dir)
        for name in ("b1", "b2", "b3", "b1v6", "b2v6"):
            lab.daemon.wait_state(name, "up")
        Lab.wait_for(lambda: converged(lab), "maglevd's first syncs into vppsim")
        yield lab
        lab.daemon.stop()
        lab.sim.stop()


def env(lab, **extra):
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("MAGLEV_") and k not in ("NO_COLOR",)}
    e.update(HOME=lab.home, TERM="xterm", LC_ALL="C.UTF-8")
    e.update(extra)
    return e


def run(lab, *args, server=None, **extra):
    argv = [MAGLEVC, "--server", server or lab.daemon.grpc_addr, *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env(lab, **extra))


def ok(lab, *args):
    r = run(lab, *args)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    assert r.stderr == ""
    return r.stdout


def proto_port(protocol, port):
    return "any" if port == 0 else {6: "tcp", 17: "udp"}[protocol] + f":{port}"


def sim_ases(lab):
    """{(prefix, "tcp:80"): sorted [(address, weight, buckets, removed)]} of
    vppsim's VIPs that are not deleted, from its control socket."""
    out = {}
    for v in lab.sim.call("state")["state"]["vips"]:
        if v["deleted"]:
            continue
        out[(v["prefix"], proto_port(v["protocol"], v["port"]))] = sorted(
            (a["address"], a["weight"], a["num_buckets"], not a["flags"] & 1) for a in v["ases"])
    return out


def parse_state(text):
    """`show vpp lb state` text → (conf fields, {(prefix, pp): {"frontend",
    fields, "ases": [(address, weight, buckets, removed)] in printed order}}).
    Every line must be one of the documented kinds."""
    conf, vips, cur, section = {}, {}, None, None
    for line in text.splitlines():
        if line == "":
            section = None
            continue
        if LINE_CONF_HEAD.match(line):
            section = "conf"
            continue
        m = LINE_VIP.match(line)
        if m:
            cur = {"frontend": m.group(3), "fields": {}, "ases": []}
            vips[(m.group(1), m.group(2))] = cur
            section = "vip"
            continue
        m = LINE_AS.match(line)
        if m:
            assert section == "vip", line
            assert (m.group(3) == m.group(4)) == (m.group(5) is None), line
            cur["ases"].append((m.group(1), int(m.group(2)), int(m.group(3)),
                                m.group(6) is not None))
            continue
        m = LINE_FIELD.match(line)
        assert m and section, f"unexpected line {line!r} in:\n{text}"
        (conf if section == "conf" else cur["fields"])[m.group(1)] = m.group(2)
    return conf, vips


def assert_state_matches_sim(lab, text, only=None):
    """The VIPs and ASes of `show vpp lb state` text are vppsim's (only:
    the key of the one VIP the command was limited to)."""
    _, vips = parse_state(text)
    want = sim_ases(lab)
    if only:
        want = {only: want[only]}
    assert set(vips) == set(want), (vips.keys(), want.keys())
    for key, v in vips.items():
        assert sorted(v["ases"]) == want[key], (key, v["ases"], want[key])
    return vips


# ---- show vpp info ----


def test_show_vpp_info(lab):
    out = ok(lab, "show", "vpp", "info")
    assert ESC not in out
    lines = out.splitlines()
    assert lines[0] == "vpp connected"
    version = lab.sim.state()["version"]
    assert f"  version          {version}" in lines
    assert f"  address          {lab.sim.sock}" in lines
    assert re.search(r"^  pid              [1-9]\d*$", out, re.M)
    assert re.search(rf"^  connected since  {TIME} \(.* ago\)$", out, re.M)
    assert re.search(r"^  connects         [1-9]\d*$", out, re.M)
    assert re.search(rf"^  last sync        {TIME} \(.* ago\)$", out, re.M)
    assert "  dry run          no" in lines
    assert re.search(r"^  message table    [1-9]\d* messages$", out, re.M)
    assert re.search(r"^  client index     \d+$", out, re.M)
    # every line a "label  value" pair under the header
    assert all(re.match(r"^  [a-z][a-z -]*[a-z]  +\S", l) for l in lines[1:]), lines

    doc = json.loads(ok(lab, "--json", "show", "vpp", "info"))
    assert doc["state"] == "connected" and doc["version"] == version
    assert doc["address"] == lab.sim.sock and doc["dry_run"] is False
    assert doc["connected_since_us"] > 0 and doc["message_table_size"] > 40

    # on a terminal: the state in green
    tty = pexpect.run(MAGLEVC, args=["-s", lab.daemon.grpc_addr, "show", "vpp", "info"],
                      env=env(lab), encoding="utf-8", timeout=30)
    assert "\033[32mconnected\033[0m" in tty


# ---- show vpp lb state ----


def test_show_vpp_lb_state_matches_vppsim(lab):
    b = lab.backends
    out = ok(lab, "show", "vpp", "lb", "state")
    conf, vips = parse_state(out)
    assert out.startswith("lb conf\n")
    assert conf == {"ipv4-src-address": "198.19.0.1", "ipv6-src-address": "2001:db8:ffff::1",
                    "sticky-buckets-per-core": "4096", "flow-timeout": "30s"}
    assert_state_matches_sim(lab, out)
    web, web6 = vips[("198.19.0.10/32", "tcp:80")], vips[("2001:db8:ff::10/128", "any")]
    assert web["frontend"] == "web" and web6["frontend"] == "web6"
    assert web["fields"]["encap"] == "gre4" and web6["fields"]["encap"] == "gre6"
    assert web["fields"]["flow-table-length"] == "1024"
    assert web["fields"]["ases"] == "3"
    assert [a[:2] for a in web["ases"]] == [(b[0].v4, 100), (b[1].v4, 50), (b[2].v4, 0)]
    assert sum(a[2] for a in web["ases"]) == 1024
    assert not any(a[3] for a in web["ases"])

    # the ASes are printed in the order maglevd sent them
    doc = json.loads(ok(lab, "--json", "show", "vpp", "lb", "state"))
    assert list(doc) == ["conf", "vips"]
    assert doc["conf"]["flow_timeout"] == 30
    for v in doc["vips"]:
        key = (v["prefix"], proto_port({"tcp": 6, "udp": 17, "any": 0}[v["protocol"]], v["port"]))
        assert [(a["address"], a["weight"], a["buckets"], not a["active"])
                for a in v["ases"]] == vips[key]["ases"]

    # one frontend: only its VIP; the alias says the same
    one = ok(lab, "show", "vpp", "lb", "state", "web6")
    _, only = parse_state(one)
    assert list(only) == [("2001:db8:ff::10/128", "any")]
    assert ok(lab, "show", "vpp", "lbstate", "web6") == one
    assert ok(lab, "sh", "v", "l", "s", "web6") == one


def test_lingering_as_is_shown_removed(lab):
    # an AS added and removed behind maglevd's back lingers until VPP's GC
    lab.sim.call("as-add", prefix=WEB[0], protocol=6, port=80, address="198.18.99.9", weight=30)
    lab.sim.call("as-del", prefix=WEB[0], protocol=6, port=80, address="198.18.99.9")
    out = ok(lab, "show", "vpp", "lb", "state", "web")
    vips = assert_state_matches_sim(lab, out, only=("198.19.0.10/32", "tcp:80"))
    ases = vips[("198.19.0.10/32", "tcp:80")]["ases"]
    lingering = [a for a in ases if a[0] == "198.18.99.9"]
    assert len(lingering) == 1 and lingering[0][3], ases
    assert re.search(r"^    address 198\.18\.99\.9 weight \d+ buckets 0 model 0 removed$", out,
                     re.M)
    assert re.search(r"^  ases +4 \(1 removed\)$", out, re.M)


# ---- show frontend(s): whether VPP has the weights ----

# a backend row of `show frontend` (maglevc(1), "OUTPUT OF SHOW FRONTEND")
LINE_BACKEND = re.compile(r"^    (\S+) +(\S+) +weight (\d+) +effective (\d+) +"
                          r"buckets \d+ \d+\.\d% \(weight \d+\.\d%\) +(\S+) +"
                          rf"vpp (applied|pending|failed)(?: (\d+){ARROW}(\d+))?(?: +(\[.*\]))?$")


def backend_rows(out):
    """{name: (effective, status, vpp weight or None)} of `show frontend`'s
    backend rows; the red error line under a failed one as "error"."""
    rows = {}
    for line in out.splitlines():
        m = LINE_BACKEND.match(line)
        if m:
            rows[m.group(1)] = (int(m.group(4)), m.group(6),
                                int(m.group(7)) if m.group(7) else None)
        elif line.startswith("      error: "):
            rows["error"] = line[len("      error: "):]
    return rows


def test_show_frontend_shows_applied_once_converged(lab):
    b = lab.backends
    out = ok(lab, "show", "frontend", "web")
    assert out.startswith("frontend web up\n"), out  # not held: no warm-up
    assert backend_rows(out) == {"b1": (100, "applied", None), "b2": (50, "applied", None),
                                 "b3": (0, "applied", None)}, out
    assert re.search(rf"^    b2 +{re.escape(b[1].v4)} +weight 50 +effective 50 +buckets 350 +"
                     r"34\.2% \(weight 33\.3%\) +up +"
                     r"vpp applied$", out, re.M), out
    assert backend_rows(ok(lab, "show", "frontend", "web6")) == {
        "b1v6": (100, "applied", None), "b2v6": (25, "applied", None)}

    lines = ok(lab, "show", "frontends").splitlines()
    assert lines[0].split()[-1] == "VPP"
    assert {l.split()[0]: l.split()[-1] for l in lines[1:]} == {"web": "ok", "web6": "ok"}

    doc = json.loads(ok(lab, "--json", "show", "frontend", "web"))
    assert doc["vpp_held"] is False
    for p in doc["pools"]:
        for x in p["backends"]:
            assert (x["vpp_status"], x["vpp_weight"], x["vpp_error"]) == \
                ("applied", x["effective_weight"], ""), x

    # on a terminal: applied in green
    tty = pexpect.run(MAGLEVC, args=["-s", lab.daemon.grpc_addr, "show", "frontend", "web"],
                      env=env(lab), encoding="utf-8", timeout=30)
    assert "\033[34mvpp\033[0m \033[32mapplied\033[0m" in tty, tty


def test_show_frontend_shows_a_failed_weight(lab):
    b = lab.backends
    d = lab.daemon
    lab.sim.fail(["lb_as_set_weight"], -73, address=b[1].v4, prefix=WEB[0])
    try:
        m = mark(d)
        out = ok(lab, "set", "frontend", "web", "pool", "primary", "backend", "b2", "weight", "60")
        assert "[weight override]" in out
        wait_synced(d, after=m, frontend="web", trigger="weight")
        out = ok(lab, "show", "frontend", "web")
        rows = backend_rows(out)
        assert rows["b2"][:2] == (60, "failed"), out
        assert rows["b2"][2] in (50, None), out  # VPP still has 50 (or maglevd no longer knows)
        assert "-73" in rows["error"], out
        assert rows["b1"] == (100, "applied", None)
        lines = ok(lab, "show", "frontends").splitlines()
        assert {l.split()[0]: " ".join(l.split()[8:]) for l in lines[1:]} == \
            {"web": "1 failed", "web6": "ok"}, lines
        tty = pexpect.run(MAGLEVC, args=["-s", d.grpc_addr, "show", "frontend", "web"],
                          env=env(lab), encoding="utf-8", timeout=30)
        assert "\033[31mfailed\033[0m" in tty and "\033[31merror: " in tty, tty
    finally:
        lab.sim.fail_clear()
    # back to 50, which VPP still has: applied again, the error gone
    ok(lab, "set", "frontend", "web", "pool", "primary", "backend", "b2", "weight", "50")
    Lab.wait_for(lambda: backend_rows(ok(lab, "show", "frontend", "web")) ==
                 {"b1": (100, "applied", None), "b2": (50, "applied", None),
                  "b3": (0, "applied", None)}, "b2 applied at 50 again")
    assert converged(lab)


def test_watch_events_vpp_prints_a_weight_change(lab):
    b = lab.backends
    d = lab.daemon
    m = mark(d)
    p = subprocess.Popen([MAGLEVC, "-s", d.grpc_addr, "watch", "events", "vpp", "num", "1"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(lab))
    try:
        wait_record(d, "watch-start", after=m, vpp=True, backend=False)
        ok(lab, "set", "backend", "b2", "disable")
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    try:
        assert p.returncode == 0 and err == "", (p.returncode, err)
        lines = out.splitlines()
        assert len(lines) == 1, out
        assert re.match(rf"^{TIME}  vpp      web b2 \({re.escape(b[1].v4)}\) weight 50{ARROW}0"
                        r"( flush)? trigger operator took \d+(\.\d+)?ms$", lines[0]), lines
        out = ok(lab, "show", "frontend", "web")
        assert backend_rows(out)["b2"] == (0, "applied", None), out
        assert re.search(r"^    b2 .* vpp applied +\[disabled\]", out, re.M), out
    finally:
        m = mark(d)
        ok(lab, "set", "backend", "b2", "enable")
    d.wait_state("b2", "up")
    Lab.wait_for(lambda: converged(lab), "b2 back in VPP")

    # --json: the event as the proto has it
    m = mark(d)
    p = subprocess.Popen([MAGLEVC, "-s", d.grpc_addr, "--json", "watch", "events", "vpp", "num",
                          "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=env(lab))
    try:
        wait_record(d, "watch-start", after=m, vpp=True)
        ok(lab, "set", "frontend", "web", "pool", "primary", "backend", "b2", "weight", "40")
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    ev = json.loads(out)
    assert list(ev) == ["time_us", "vpp_weight"], ev
    v = ev["vpp_weight"]
    assert (v["frontend"], v["backend"], v["address"], v["op"], v["old_weight"],
            v["new_weight"], v["trigger"], v["error"], v["dry_run"]) == \
        ("web", "b2", b[1].v4, "as-weight", 50, 40, "weight", "", False), v
    m = mark(d)
    ok(lab, "set", "frontend", "web", "pool", "primary", "backend", "b2", "weight", "50")
    wait_synced(d, after=m, frontend="web", trigger="weight")
    Lab.wait_for(lambda: converged(lab), "b2 back to 50")


# ---- plan / sync ----


def op_line(op, vip, rest):
    return re.compile(rf"^  {op} +{re.escape(vip)} +{rest}$", re.M)


def test_plan_then_sync_repairs_a_weight(lab):
    b = lab.backends
    lab.sim.call("as-weight", prefix=WEB[0], protocol=6, port=80, address=b[1].v4, weight=7)
    line = op_line("as-weight", "198.19.0.10/32 tcp:80",
                   rf"address {re.escape(b[1].v4)} weight 7{ARROW}50 +frontend web +reason weight")

    out = ok(lab, "plan", "vpp", "lb", "state")
    lines = out.splitlines()
    assert lines[0] == "plan: a sync would apply these operations (nothing applied)"
    assert line.search(out), out
    assert re.match(r"^1 operation would be applied, in \S+$", lines[-1]), lines
    assert len(lines) == 4
    assert re.match(r"^new flows: frontend web vip 198\.19\.0\.10/32 tcp:80: moves \d+/1024 "
                    r"buckets \([\d.]+%\), least possible \d+ \([\d.]+%\)$", lines[2]), lines
    assert active_ases(lab.sim.vips()[WEB])[b[1].v4][0] == 7  # nothing applied

    out = ok(lab, "plan", "vpp", "lb", "state", "web6")
    assert re.match(r"^plan: nothing to do, in \S+\n$", out), out
    doc = json.loads(ok(lab, "--json", "plan", "vpp", "lb", "state", "web"))
    assert doc["applied"] is False and doc["scope"] == "vip" and doc["failed"] == 0
    assert [(o["op"], o["address"], o["old_weight"], o["weight"]) for o in doc["ops"]] == \
        [("as-weight", b[1].v4, 7, 50)]

    out = ok(lab, "sync", "vpp", "lb", "state", "web")
    lines = out.splitlines()
    assert lines[0] == "sync: applied these operations to VPP"
    assert line.search(out), out
    assert re.match(r"^1 operation, 0 failed, in \S+$", lines[-1]), lines
    assert active_ases(lab.sim.vips()[WEB])[b[1].v4][0] == 50
    assert_state_matches_sim(lab, ok(lab, "show", "vpp", "lb", "state"))

    out = ok(lab, "sync", "vpp", "lb", "state")
    assert re.match(r"^sync: nothing to do, in \S+\n$", out), out


def test_stale_vip_is_listed_then_removed(lab):
    lab.sim.call("vip-add", prefix="198.19.0.77/32", protocol=6, port=443, encap="gre4")
    state = ok(lab, "show", "vpp", "lb", "state")
    vips = assert_state_matches_sim(lab, state)
    stale = vips[("198.19.0.77/32", "tcp:443")]
    assert stale["frontend"] == "(not configured)" and stale["fields"]["ases"] == "none"
    # a frontend's plan leaves the stale VIP alone, the full one removes it
    assert re.match(r"^plan: nothing to do", ok(lab, "plan", "vpp", "lb", "state", "web"))
    out = ok(lab, "plan", "vpp", "lb", "state")
    assert op_line("vip-del", "198.19.0.77/32 tcp:443", r"frontend - +reason stale").search(out)
    assert ("198.19.0.77/32", 6, 443) in lab.sim.vips()
    out = ok(lab, "sync", "vpp", "lbstate")  # the older spelling
    assert out.startswith("sync: applied these operations to VPP\n")
    assert op_line("vip-del", "198.19.0.77/32 tcp:443", r"frontend - +reason stale").search(out)
    assert out.splitlines()[-1].startswith("1 operation, 0 failed, in ")
    assert ("198.19.0.77/32", 6, 443) not in lab.sim.vips()


def test_sync_alias_with_a_frontend(lab):
    b = lab.backends
    lab.sim.call("as-weight", prefix=WEB6[0], protocol=255, port=0, address=b[1].v6, weight=9)
    out = ok(lab, "sync", "vpp", "lbstate", "web6")
    assert op_line("as-weight", "2001:db8:ff::10/128 any",
                   rf"address {re.escape(b[1].v6)} weight 9{ARROW}25 +frontend web6 "
                   r"+reason weight").search(out), out
    assert active_ases(lab.sim.vips()[WEB6])[b[1].v6][0] == 25
    doc = json.loads(ok(lab, "--json", "sync", "vpp", "lb", "state"))
    assert doc == {"scope": "all", "applied": True, "ops": [], "failed": 0,
                   "duration_us": doc["duration_us"], "frontend": "", "disruption": []}


# ---- errors ----


def test_unknown_frontend_is_not_found(lab):
    for cmd in (["show", "vpp", "lb", "state"], ["show", "vpp", "lbstate"],
                ["sync", "vpp", "lb", "state"], ["plan", "vpp", "lb", "state"]):
        r = run(lab, *cmd, "nope")
        assert r.returncode == 1, (cmd, r.stdout, r.stderr)
        assert r.stdout == ""
        assert r.stderr == 'error: frontend "nope" not found\n', cmd
    r = run(lab, "--color", "always", "sync", "vpp", "lb", "state", "nope")
    assert r.returncode == 1 and "\033[31m" in r.stderr


def test_usage_errors(lab):
    r = run(lab, "show", "vpp", "lbs")
    assert r.returncode == 2
    assert r.stderr == 'error: unknown word "lbs"; expected one of: info, lb\n'
    r = run(lab, "plan", "vpp", "lbstate")  # that alias never existed
    assert r.returncode == 2 and 'unknown word "lbstate"' in r.stderr
    r = run(lab, "sync", "vpp")
    assert r.returncode == 2 and r.stderr == "error: incomplete command; expected: lb\n"


def test_vpp_away_is_unavailable_with_maglevds_message(lab):
    d = lab.daemon
    m = mark(d)
    # VPP away until the test lets it back (it refuses every handshake),
    # not for a fixed time that three maglevc runs on a busy machine
    # might outlast
    lab.sim.call("handshake", mode="refuse")
    lab.sim.call("cut")
    wait_record(d, "vpp-disconnect", after=m)
    r = run(lab, "show", "vpp", "lb", "state")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("error: VPP is not connected"), r.stderr
    assert "cannot reach maglevd" not in r.stderr
    r = run(lab, "sync", "vpp", "lb", "state")
    assert r.returncode == 1 and r.stderr.startswith("error: VPP is not connected"), r.stderr
    r = run(lab, "show", "vpp", "info")  # still answers, says why
    assert r.returncode == 0
    assert re.match(r"^vpp (disconnected|connecting)\n", r.stdout), r.stdout
    assert re.search(r"^  last error       \S", r.stdout, re.M), r.stdout
    lab.sim.call("handshake", mode="ok")
    wait_synced(d, after=m, trigger="connect")
    Lab.wait_for(lambda: converged(lab), "resynced")
    assert ok(lab, "show", "vpp", "info").startswith("vpp connected\n")


def test_disabled_integration_is_unavailable(lab):
    sock = "unix:" + os.path.join(lab.dir, "novpp.sock")
    d = Daemon(lab.write_config(config(lab), name="novpp.yaml"), grpc_addr=sock)
    try:
        d.wait_for("vpp-disabled")
        for cmd in (["show", "vpp", "info"], ["show", "vpp", "lb", "state"],
                    ["plan", "vpp", "lb", "state"]):
            r = run(lab, *cmd, server=sock)
            assert r.returncode == 1, (cmd, r.stdout, r.stderr)
            assert r.stderr == ('error: VPP integration is disabled '
                                '(maglevd runs with --vpp-api-addr "")\n'), r.stderr
    finally:
        d.stop()


# ---- completion ----


def complete(lab, line):
    r = run(lab, "--complete", line)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def test_complete_flag(lab):
    assert complete(lab, "show vpp ") == ["info", "lb"]
    assert complete(lab, "show vpp l") == ["lb"]
    assert complete(lab, "show vpp lbs") == []
    assert complete(lab, "show vpp lb ") == ["state", "counters"]
    assert complete(lab, "show vpp lb state ") == ["web", "web6"]
    assert complete(lab, "sync vpp lb state w") == ["web", "web6"]
    assert complete(lab, "plan vpp lb state web6") == ["web6"]
    assert complete(lab, "sy") == ["sync"]
    assert complete(lab, "pl") == ["plan"]
    assert complete(lab, "watch events ") == ["num", "log", "backend", "frontend", "vpp"]
    assert complete(lab, "watch events v") == ["vpp"]
    assert complete(lab, "watch events vpp ") == ["num", "log", "backend", "frontend"]


def shell(lab):
    p = pexpect.spawn(MAGLEVC, ["-s", lab.daemon.grpc_addr], env=env(lab, NO_COLOR="1"),
                      encoding="utf-8", timeout=30, dimensions=(40, 160))
    p.expect(r"maglev> ")
    return p


def test_shell_tab_and_question_mark(lab):
    p = shell(lab)
    p.send("show vpp l\t")
    p.expect("b ")  # the line now reads "show vpp lb "
    p.send("state\r")  # so this runs "show vpp lb state"
    p.expect(r"lb conf\r\n")
    p.expect(r"vip 198\.19\.0\.10/32 tcp:80 frontend web\r\n")
    p.expect("maglev> ")
    assert "unknown word" not in p.before

    p.send("show vpp ?")
    p.expect(r"  info +Show maglevd's connection to VPP\r\n")
    p.expect(r"  lb +Show VPP's load-balancer plugin\r\n")
    p.expect(r"maglev> show vpp ")  # re-displayed, unchanged
    assert "lbstate" not in p.before
    p.send("\x15")  # Ctrl-U clears the line

    p.send("show vpp lb state \t")
    time.sleep(0.3)
    p.send("\t")
    p.expect(r"web +web6\r\n")
    p.expect("maglev> show vpp lb state web")  # their common prefix inserted
    p.send("6\r")
    p.expect(r"vip 2001:db8:ff::10/128 any frontend web6\r\n")
    p.expect("maglev> ")

    p.sendline("plan vpp lb state web")
    p.expect(r"plan: nothing to do, in \S+\r\n")
    p.expect("maglev> ")
    p.sendline("quit")
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 0
