#!/usr/bin/python3
"""The demo lab for `make run`: three nginx backends in network namespaces of
their own (198.18.x.2 and 2001:db8:x::2, reachable only through the lab's hub
namespace), a maglev.yaml for them (checked with `maglevd --check` before
anything starts), vppsim (tools/vppsim, the stand-in VPP) as the embedded
dataplane, and maglevd in the foreground probing the backends with HTTP,
HTTPS, TCP and ICMP and programming vppsim's LB plugin. Needs root
(namespaces).

    tools/demo.py [MAGLEVD_ARGS...]   run the demo (what `make run` does)
    tools/demo.py fail BACKEND        stop the nginx that serves BACKEND
    tools/demo.py heal BACKEND        start that nginx again

While it runs, in another terminal:

    build/src/cli/maglevc --server unix:/run/vpp-maglev/demo.sock watch events
    build/src/cli/maglevc --server unix:/run/vpp-maglev/demo.sock
    maglev> show vpp lb state

and in a third one `make demo-fail BACKEND=nginx2` (nginx2 goes down, VPP's
weight for it in web4 goes 50 -> 0), then `make demo-heal BACKEND=nginx2`.

vppsim runs with its nftables mirror (`--nft-netns HUB`): the VIPs are real
in the hub namespace (a nat rule per VIP hashes each new connection into a
1,024-bucket map built as VPP builds its new-flow table), so traffic to
them shows the failover from the outside:

    ip netns exec HUB curl -s http://198.19.0.10/
    ip netns exec HUB build/src/tester/maglevt --header X-Backend http://198.19.0.10/

fail stops the backend's nginx (SIGTERM, nginx's fast shutdown); heal starts
it again exactly as the lab first did. Every backend checked over HTTP, HTTPS
or TCP on that nginx goes down and comes back (nginx1 and nginx1-v6 share
one nginx, so do nginx3 and nginx3-v6); nginx2-v6 is checked by ICMP ping,
which its namespace answers whether nginx runs or not, so fail refuses it.

The running demo describes itself in a state file (DEMO_STATE, default: the
API socket's path with .json, i.e. /run/vpp-maglev/demo.json), removed on
exit; fail and heal read it. The API address is DEMO_GRPC (default
unix:/run/vpp-maglev/demo.sock).

Ctrl-C (or SIGTERM) stops maglevd, then vppsim, then nginx, and removes the
namespaces and the lab's directory, saying so at each step, and ends with
"demo: lab removed". Nothing leaves the machine: every probe goes to an
address inside the lab.
"""
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from lab import Lab, sh  # noqa: E402

DEFAULT_GRPC = "unix:/run/vpp-maglev/demo.sock"

# name -> (lab backend index, address family, healthcheck): the demo's
# backends, in the config's order.
BACKENDS = {
    "nginx1": (0, "v4", "http"),
    "nginx2": (1, "v4", "http"),
    "nginx3": (2, "v4", "https"),
    "nginx1-v6": (0, "v6", "tcp"),
    "nginx2-v6": (1, "v6", "ping"),
    "nginx3-v6": (2, "v6", "http"),
}
WEB4 = ("198.19.0.10/32", 6, 80)
WEB6 = ("2001:db8:ffff::10/128", 6, 443)


def address(lab, name):
    index, family, _ = BACKENDS[name]
    return getattr(lab.backends[index], family)


def demo_config(lab):
    backends = "\n".join(
        f"    {name}: {{address: \"{address(lab, name)}\", healthcheck: {hc}}}"
        for name, (_, _, hc) in BACKENDS.items())
    return f"""maglev:
  healthchecker:
    netns: {lab.hub}
    transition-history: 10
  healthchecks:
    http:
      type: http
      interval: 2s
      fast-interval: 500ms
      down-interval: 3s
      timeout: 1s
      params: {{path: /healthz, host: lab.example, response-regex: "^ok"}}
    https:
      type: https
      interval: 3s
      timeout: 1s
      params: {{path: /healthz, tls-server-name: lab.example, tls-insecure: true}}
    tcp:
      type: tcp
      port: 80
      interval: 2s
    ping:
      type: icmp
      interval: 1s
      timeout: 500ms
  backends:
{backends}
  frontends:
    web4:
      description: "demo web over IPv4"
      address: 198.19.0.10
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends: {{nginx1: {{}}, nginx2: {{weight: 50}}}}
        - name: fallback
          backends: {{nginx3: {{}}}}
    web6:
      description: "demo web over IPv6"
      address: "2001:db8:ffff::10"
      protocol: tcp
      port: 443
      src-ip-sticky: true
      pools:
        - name: primary
          backends: {{nginx1-v6: {{}}, nginx2-v6: {{}}}}
        - name: fallback
          backends: {{nginx3-v6: {{}}}}
  vpp:
    lb:
      ipv4-src-address: 198.19.0.1
      ipv6-src-address: "2001:db8:ffff::1"
      startup-min-delay: 0s
      startup-max-delay: 0s
"""


# ---- where things are ----


def grpc_addr():
    return os.environ.get("DEMO_GRPC") or DEFAULT_GRPC


def state_path():
    """DEMO_STATE, else the API socket's path with .json (the default:
    /run/vpp-maglev/demo.json), else (a TCP API) /run/vpp-maglev/demo.json."""
    if os.environ.get("DEMO_STATE"):
        return os.environ["DEMO_STATE"]
    addr = grpc_addr()
    if addr.startswith("unix:"):
        return os.path.splitext(addr[len("unix:"):])[0] + ".json"
    return "/run/vpp-maglev/demo.json"


def env_prefix():
    """What another shell needs in front of `make demo-fail` to find this
    demo ("" for the defaults)."""
    out = []
    if os.environ.get("DEMO_STATE"):
        out.append(f"DEMO_STATE={os.environ['DEMO_STATE']}")
    elif grpc_addr() != DEFAULT_GRPC:
        out.append(f"DEMO_GRPC={grpc_addr()}")
    return " ".join(out) + " " if out else ""


def say(msg):
    try:
        print(f"demo: {msg}", flush=True)
    except OSError:  # the terminal is gone (SIGHUP): clean up all the same
        pass


def pid_alive(pid):
    """True while pid runs (a zombie, exited but not yet reaped, is not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def demo_alive(pid):
    """pid is a running demo (not a pid reused since a demo was killed)."""
    try:
        with open(f"/proc/{int(pid)}/cmdline", "rb") as f:
            return pid_alive(pid) and b"demo.py" in f.read()
    except (FileNotFoundError, ProcessLookupError, TypeError, ValueError):
        return False


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (FileNotFoundError, ValueError):
        return None


def nginx_pid(b):
    """The pid of the nginx master serving b (a state-file backend entry),
    None when none runs."""
    pid = read_pid(b["pid_file"])
    if pid is None or not pid_alive(pid):
        return None
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ")  # "nginx: master process nginx -c CONF ..."
    except FileNotFoundError:
        return None
    if not cmd.startswith(b"nginx") or b["nginx_conf"].encode() not in cmd:
        return None  # a stale pid file, the pid reused by something else
    return pid


def wait_gone(pid, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return not pid_alive(pid)


# ---- the state file ----


def memberships(cfg):
    """{backend: [{"frontend", "pool", "weight"}]} from the demo's config."""
    import yaml
    with open(cfg) as f:
        doc = yaml.safe_load(f)["maglev"]
    out = {name: [] for name in doc["backends"]}
    for fe, f in doc["frontends"].items():
        for pool in f["pools"]:
            for name, opts in pool["backends"].items():
                out[name].append({"frontend": fe, "pool": pool["name"],
                                  "weight": (opts or {}).get("weight", 100)})
    return out


def write_state(path, lab, cfg, vpp_sock, maglevd_pid):
    st = {
        "pid": os.getpid(),
        "maglevd_pid": maglevd_pid,
        "lab_dir": lab.dir,
        "hub": lab.hub,
        "api": grpc_addr(),
        "config": cfg,
        "vppsim": vpp_sock,
        "nft": {"netns": lab.hub, "table": "vppsim"},
        "backends": {},
    }
    member = memberships(cfg)
    for name, (index, family, hc) in BACKENDS.items():
        b = lab.backends[index]
        st["backends"][name] = {
            "address": getattr(b, family), "healthcheck": hc, "namespace": b.ns,
            "nginx_dir": b.dir, "nginx_conf": os.path.join(b.dir, "nginx.conf"),
            "pid_file": os.path.join(b.dir, "nginx.pid"),
            "shares_nginx_with": [n for n, (i, _, _) in BACKENDS.items()
                                  if i == index and n != name],
            "frontends": member[name],
        }
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(st, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def read_state():
    """The running demo's state, or exit 1 saying that no demo runs."""
    path = state_path()
    try:
        with open(path) as f:
            st = json.load(f)
    except FileNotFoundError:
        sys.exit(f"demo: no demo is running (no {path}); start one with `make run` "
                 "(as root), then fail and heal its backends from another terminal")
    except ValueError as e:
        sys.exit(f"demo: {path} is not a demo state file ({e}); is a demo running?")
    if not demo_alive(st.get("pid")):
        sys.exit(f"demo: no demo is running: {path} was left by demo pid {st.get('pid')}, "
                 "which is gone (remove the file; `make run` starts a demo)")
    return st


# ---- fail / heal ----


def backend_or_exit(st, name, verb):
    names = list(st["backends"])
    if not name:
        sys.exit(f"demo: {verb} which backend? e.g. `make demo-{verb} BACKEND=nginx2`; "
                 f"the demo's backends: {', '.join(names)}")
    if name not in st["backends"]:
        sys.exit(f"demo: unknown backend {name!r}; the demo's backends: {', '.join(names)}")
    b = st["backends"][name]
    if b["healthcheck"] == "ping":
        sys.exit(f"demo: {name} is checked by ICMP ping, which its namespace answers whether "
                 f"nginx runs or not: stopping its nginx would not fail it. "
                 f"Try one checked over HTTP, HTTPS or TCP: "
                 + ", ".join(n for n in names if st["backends"][n]["healthcheck"] != "ping"))
    return b


def affected(st, name):
    """The backends that go down with name's nginx (those it serves that
    are not pinged), name first."""
    b = st["backends"][name]
    return [name] + [n for n in b["shares_nginx_with"]
                     if st["backends"][n]["healthcheck"] != "ping"]


def vpp_changes(st, names, up):
    """What VPP should show when names go down (up=False) or come back."""
    out = []
    for n in names:
        b = st["backends"][n]
        for m in b.get("frontends", []):
            w = m["weight"]
            if m["pool"] == "primary":
                out.append(f"{m['frontend']} {n} ({b['address']}) weight "
                           + (f"{w} -> 0" if not up else f"0 -> {w}"))
            else:
                out.append(f"{m['frontend']} {n} ({b['address']}) weight 0 (pool {m['pool']}: "
                           "VPP gives it weight only while the pools before it have no backend "
                           "up)")
    out = out or ["no VIP has it"]
    if not up:
        out.append("a frontend whose primary pool is left with no backend up fails over to "
                   "its fallback pool")
    return "; ".join(out)


def watch_hint(st):
    maglevc = os.path.relpath(os.environ.get("MAGLEVC") or
                              os.path.join(HERE, "..", "build", "src", "cli", "maglevc"))
    hint = (f"watch: {maglevc} --server {st['api']} watch events   "
            f"(and `show vpp lb state`, `show frontends`)")
    if st.get("nft"):
        hint += (f"; the traffic: ip netns exec {st['hub']} {maglevt_path(maglevc)} "
                 f"--header X-Backend http://198.19.0.10/")
    return hint


def cmd_fail(name):
    st = read_state()
    b = backend_or_exit(st, name, "fail")
    down = affected(st, name)
    pid = nginx_pid(b)
    if pid is None:
        say(f"{name}'s nginx (namespace {b['namespace']}) is already stopped; nothing to do "
            f"(`make demo-heal BACKEND={name}` starts it again)")
        return 0
    os.kill(pid, signal.SIGTERM)
    if not wait_gone(pid, 10):
        say(f"nginx pid {pid} did not stop in 10 s after SIGTERM; killing it")
        os.kill(pid, signal.SIGKILL)
        wait_gone(pid, 5)
    say(f"failed {name}: stopped its nginx (pid {pid}, namespace {b['namespace']}, "
        f"{b['nginx_dir']}); it no longer answers on {b['address']}")
    say(f"expect: {' and '.join(down)} down after 3 failed probes (connection refused, "
        f"a few seconds), then in VPP: {vpp_changes(st, down, up=False)}")
    say(watch_hint(st))
    say(f"undo: {env_prefix()}make demo-heal BACKEND={name}")
    return 0


def start_nginx(b):
    """Start nginx for a state-file backend entry as Lab.start_nginx does
    (same config, same namespace), detached from this process."""
    stderr = open(os.path.join(b["nginx_dir"], "stderr.log"), "a")
    p = subprocess.Popen(["ip", "netns", "exec", b["namespace"], "nginx", "-c", b["nginx_conf"],
                          "-p", b["nginx_dir"]],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                         start_new_session=True)
    stderr.close()

    def listening(port):
        out = sh("ip", "netns", "exec", b["namespace"], "ss", "-Hltn", f"sport = :{port}",
                 check=False).stdout
        return out.count("LISTEN") >= 2

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if p.poll() is not None:
            with open(os.path.join(b["nginx_dir"], "stderr.log")) as f:
                tail = f.read()[-2000:]
            sys.exit(f"demo: nginx in {b['namespace']} exited ({p.returncode}): {tail}")
        if listening(80) and listening(443):
            return p.pid
        time.sleep(0.05)
    sys.exit(f"demo: nginx in {b['namespace']} (pid {p.pid}) is not listening after 15 s")


def cmd_heal(name):
    st = read_state()
    b = backend_or_exit(st, name, "heal")
    up = affected(st, name)
    pid = nginx_pid(b)
    if pid is not None:
        say(f"{name}'s nginx (pid {pid}, namespace {b['namespace']}) is running; nothing to do")
        return 0
    pid = start_nginx(b)
    say(f"healed {name}: started its nginx again (pid {pid}, namespace {b['namespace']}, "
        f"{b['nginx_dir']}), listening on {b['address']} :80 and :443")
    say(f"expect: {' and '.join(up)} up after 2 passed probes (a few seconds), then in "
        f"VPP: {vpp_changes(st, up, up=True)}")
    say(watch_hint(st))
    return 0


# ---- the demo ----


class Stop(Exception):
    """SIGTERM or SIGHUP: clean up as for Ctrl-C."""


def on_signal(sig, frame):
    raise Stop(signal.Signals(sig).name)


def vpp_has_weights(state_file, lab):
    """vppsim's state file shows both VIPs with their primary pools' weights."""
    try:
        with open(state_file) as f:
            st = json.load(f)
    except (FileNotFoundError, ValueError):
        return False
    vips = {(v["prefix"], v["protocol"], v["port"]): {a["address"]: a["weight"]
                                                      for a in v["ases"]}
            for v in st.get("vips", []) if not v.get("deleted")}
    want = {WEB4: ("nginx1", "nginx2"), WEB6: ("nginx1-v6", "nginx2-v6")}
    return all(vips.get(vip, {}).get(address(lab, n), 0) > 0
               for vip, names in want.items() for n in names)


def maglevt_path(maglevc):
    """maglevt beside maglevc (build/src/tester/maglevt), or MAGLEVT."""
    return os.environ.get("MAGLEVT") or os.path.join(
        os.path.dirname(os.path.dirname(maglevc)), "tester", "maglevt")


def traffic_hint(hub, maglevc, indent="    "):
    """How to watch the VIPs answer from the hub namespace."""
    mt = maglevt_path(maglevc)
    return (f"{indent}ip netns exec {hub} sh -c 'while sleep 0.2; do curl -s -m 1 "
            f"http://198.19.0.10/; done'\n"
            f"{indent}ip netns exec {hub} {mt} --header X-Backend http://198.19.0.10/\n"
            f"{indent}ip netns exec {hub} curl -sk https://[2001:db8:ffff::10]/   "
            f"# web6: src-ip-sticky, one client sticks to one backend")


def print_hints(sock, maglevc, hub=None):
    e = env_prefix()
    mc = f"{maglevc} --server {sock}"
    traffic = "" if hub is None else f"""demo: watch a failover from the outside: the VIPs are real in the hub namespace
      (vppsim mirrors VPP's new-flow tables into nftables there: `ip netns exec {hub} nft list table inet vppsim`);
      nginx answers with its lab name (b1 = nginx1, b2 = nginx2, b3 = nginx3):
{traffic_hint(hub, maglevc)}
"""
    print(f"""
demo: ready: maglevd serves {sock} and VPP (vppsim) has the weights.
demo: in another terminal, watch what happens:
    {mc} watch events
demo: look at VPP's state (maglevc without a command is the maglev> shell):
    {mc} show vpp lb state
    {mc} show frontends
demo: fail a backend, then heal it (from a third terminal, as root):
    {e}make demo-fail BACKEND=nginx2   # stops nginx2's nginx: down, VPP weight 50 -> 0 in web4
    {e}make demo-heal BACKEND=nginx2   # starts it again: up, VPP weight 0 -> 50
{traffic}demo: backends: {', '.join(BACKENDS)}; Ctrl-C stops the demo and removes the lab
""", flush=True)


def stop_proc(p, what, timeout=15):
    if p is None:
        return
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            say(f"{what} did not stop in {timeout} s after SIGTERM; killing it")
            p.kill()
            p.wait()
    say(f"{what} stopped (exit {p.returncode})")


def remove_lab(lab):
    """Stop every nginx (the lab's own and any that heal started, by pid
    file), delete the namespaces and the lab's directory."""
    for b in lab.backends:
        entry = {"pid_file": os.path.join(b.dir, "nginx.pid"),
                 "nginx_conf": os.path.join(b.dir, "nginx.conf")}
        pid = nginx_pid(entry)
        if pid is not None and (b.proc is None or b.proc.pid != pid):
            os.kill(pid, signal.SIGTERM)  # started by `heal`: not our child
            if not wait_gone(pid, 10):
                os.kill(pid, signal.SIGKILL)
                wait_gone(pid, 5)
    lab.teardown()
    say(f"nginx stopped in {', '.join(b.ns for b in lab.backends)}")
    left = set(sh("ip", "netns", "list", check=False).stdout.split())
    gone = [ns for ns in [lab.hub] + [b.ns for b in lab.backends] if ns not in left]
    still = sorted(left & ({lab.hub} | {b.ns for b in lab.backends}))
    say(f"namespaces removed: {', '.join(gone)}"
        + (f"; still there: {', '.join(still)}" if still else ""))
    say(f"{lab.dir} removed")


def run(maglevd_args):
    if os.geteuid() != 0:
        sys.exit("demo: run as root (the lab creates network namespaces)")
    maglevd = os.environ.get("MAGLEVD", "build/src/daemon/maglevd")
    maglevc = os.path.relpath(os.environ.get("MAGLEVC") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(maglevd))), "cli", "maglevc"))
    if not os.access(maglevd, os.X_OK):
        sys.exit(f"demo: no maglevd at {maglevd} (build it with `make`, or set MAGLEVD)")
    sock = grpc_addr()
    spath = state_path()
    try:
        with open(spath) as f:
            other = json.load(f).get("pid")
    except (FileNotFoundError, ValueError, AttributeError):
        other = None
    if other and other != os.getpid() and demo_alive(other):
        sys.exit(f"demo: a demo is already running (pid {other}, {spath}); stop it first, "
                 "or give this one another DEMO_GRPC")
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    lab = Lab(3)
    sim = p = None
    rc = 0
    wrote_state = False
    try:
        lab.setup()
        cfg = lab.write_config(demo_config(lab))
        check = subprocess.run([maglevd, "--check", "--config", cfg],
                               capture_output=True, text=True)
        if check.returncode != 0:
            sys.stderr.write(check.stdout + check.stderr)
            say(f"the demo's config {cfg} fails `maglevd --check` (exit {check.returncode}); "
                "not starting")
            rc = 1
            return rc
        summary = check.stdout.strip()
        if summary.startswith(cfg + ": "):
            summary = summary[len(cfg) + 2:]
        say(f"maglevd --check --config {cfg}: {summary}")
        vpp_sock = os.path.join(lab.dir, "vpp-api.sock")
        vpp_state = os.path.join(lab.dir, "vpp-state.json")
        # vppsim and maglevd in sessions of their own: Ctrl-C reaches only
        # this script (and the lab's nginx), which stops them in order.
        sim = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "vppsim", "vppsim.py"),
                                "--socket", vpp_sock, "--control",
                                os.path.join(lab.dir, "vpp-ctl.sock"), "--state-file", vpp_state,
                                "--nft-netns", lab.hub],
                               start_new_session=True)
        say(f"lab up: hub netns {lab.hub}, backends "
            + ", ".join(f"{b.ns} ({b.v4}, {b.v6})" for b in lab.backends))
        say(f"API {sock}; vppsim {vpp_sock}; state {spath}; Ctrl-C to stop")
        Lab.wait_for(lambda: os.path.exists(vpp_sock), "vppsim", timeout=10)
        p = subprocess.Popen([maglevd, "--config", cfg, "--grpc-addr", sock,
                              "--vpp-api-addr", vpp_sock, *maglevd_args],
                             start_new_session=True)
        wrote_state = True
        write_state(spath, lab, cfg, vpp_sock, p.pid)
        hinted = False
        deadline = time.monotonic() + 30
        while p.poll() is None:
            if not hinted and (vpp_has_weights(vpp_state, lab) or time.monotonic() > deadline):
                print_hints(sock, maglevc, lab.hub)
                hinted = True
            for b in lab.backends:  # reap an nginx that `fail` stopped
                if b.proc is not None:
                    b.proc.poll()
            time.sleep(0.2)
        say(f"maglevd exited by itself (exit {p.returncode})")
        rc = p.returncode or 1
    except (KeyboardInterrupt, Stop) as e:
        try:
            print(flush=True)
        except OSError:
            pass
        say(f"{'Ctrl-C' if isinstance(e, KeyboardInterrupt) else e}: stopping maglevd, vppsim, "
            "nginx and removing the lab")
    finally:
        # no second Ctrl-C half-way through the clean-up
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        stop_proc(p, "maglevd")
        stop_proc(sim, "vppsim")
        remove_lab(lab)
        if wrote_state:
            try:
                os.unlink(spath)
                say(f"{spath} removed")
            except FileNotFoundError:
                pass
        say("lab removed")
    return rc


def main(argv):
    if argv[:1] in (["fail"], ["heal"]):
        if len(argv) > 2:
            sys.exit(f"usage: tools/demo.py {argv[0]} BACKEND")
        if os.geteuid() != 0:
            sys.exit(f"demo: {argv[0]} needs root (the lab's nginx and namespaces are root's)")
        name = argv[1] if len(argv) > 1 else ""
        return (cmd_fail if argv[0] == "fail" else cmd_heal)(name)
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__)
        return 0
    return run(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
