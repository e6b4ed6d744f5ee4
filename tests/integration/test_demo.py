"""tools/demo.py, the lab of `make run`, end to end in a pty as a user runs
it: it checks its own config, comes up, says how to fail and heal a backend;
`demo.py fail nginx2` stops nginx2's nginx and the weight VPP (vppsim) has
for nginx2 in web4 goes to 0 (the backend-down event before the weight
change, the other backends keeping theirs); `heal` brings it back; Ctrl-C
stops maglevd, vppsim and nginx in that order, removes the lab and says
`demo: lab removed`, leaving no namespace, process or state file. fail and
heal without a demo, or for an unknown backend, fail clearly. And `make run`
returns only after the demo's clean-up.

The demo runs on its own API socket (DEMO_GRPC) in a temporary directory,
so its state file (the socket's path with .json) never is a user's.
Waits are bounded generously (a busy 2-core machine); only causes and the
order of events are asserted, never durations."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pexpect
import pytest

from lab import MAGLEVC, MAGLEVD, Lab, is_root

pytestmark = pytest.mark.skipif(not is_root(), reason="the demo lab needs root (namespaces)")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO = os.path.join(ROOT, "tools", "demo.py")
WAIT = 30  # seconds; generous bound for anything the demo does
NAMES = ["nginx1", "nginx2", "nginx3", "nginx1-v6", "nginx2-v6", "nginx3-v6"]


def demo_env(sock_dir):
    e = {k: v for k, v in os.environ.items()
         if not k.startswith(("MAGLEV_", "DEMO_")) and k != "NO_COLOR"}
    e.update(MAGLEVD=os.path.abspath(MAGLEVD), MAGLEVC=os.path.abspath(MAGLEVC),
             DEMO_GRPC=f"unix:{sock_dir}/demo.sock", TERM="xterm", LC_ALL="C.UTF-8",
             HOME=sock_dir)
    return e


class Terminal:
    """A command in a pty (its own session, the pty its controlling
    terminal, as in a shell); a thread drains the output (a full pty
    would block maglevd's log writes)."""

    def __init__(self, cmd, args, env, cwd=ROOT):
        self.c = pexpect.spawn(cmd, args, env=env, cwd=cwd, encoding="utf-8",
                               codec_errors="replace", timeout=WAIT, dimensions=(50, 200))
        self.buf = []
        self.lock = threading.Lock()
        self.eof = threading.Event()
        self.t = threading.Thread(target=self._drain, daemon=True)
        self.t.start()

    def _drain(self):
        while True:
            try:
                data = self.c.read_nonblocking(65536, timeout=0.2)
            except pexpect.TIMEOUT:
                continue
            except (pexpect.EOF, OSError, ValueError):
                break
            with self.lock:
                self.buf.append(data)
        self.eof.set()

    def text(self):
        with self.lock:
            return "".join(self.buf).replace("\r\n", "\n")

    def wait_for(self, pattern, timeout=WAIT, start=0):
        """The first match of pattern in the output after offset start."""
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.text(), start)
            if m:
                return m
            if self.eof.is_set() or time.monotonic() > deadline:
                m = rx.search(self.text(), start)
                if m:
                    return m
                raise AssertionError(f"no {pattern!r} in the output "
                                     f"({'exited' if self.eof.is_set() else 'timed out'}):\n"
                                     + self.text()[-6000:])
            time.sleep(0.05)

    def ctrl_c(self):
        self.c.sendintr()  # ^C: the terminal sends SIGINT to its foreground process group

    def wait_exit(self, timeout=60):
        """-> (exit status, signal), after the output's end."""
        assert self.eof.wait(timeout), "no end of output within %ss:\n%s" % (timeout,
                                                                             self.text()[-6000:])
        self.t.join(timeout=5)
        deadline = time.monotonic() + 10
        while self.c.isalive() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.c.close()
        return self.c.exitstatus, self.c.signalstatus

    def kill(self):
        if self.c.isalive():
            try:
                os.killpg(self.c.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.c.close(force=True)


def procs_in(path):
    """Live processes whose command line mentions path: the lab's nginx
    (its config), vppsim (its sockets), maglevd (its config)."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/stat") as f:
                zombie = f.read().rsplit(")", 1)[1].split()[0] == "Z"
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if path in cmd and not zombie:
            out.append((int(pid), cmd))
    return out


def netns_list():
    return set(subprocess.run(["ip", "netns", "list"], capture_output=True,
                              text=True).stdout.split())


def leftovers(st):
    """What remains of the demo described by state st: namespaces and
    processes."""
    names = {st["hub"]} | {b["namespace"] for b in st["backends"].values()}
    left = sorted(names & netns_list())
    return left, procs_in(st["lab_dir"])


def force_cleanup(st):
    """Last resort after a failed test: nothing of this demo survives."""
    for pid, _ in procs_in(st["lab_dir"]):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for ns in {st["hub"]} | {b["namespace"] for b in st["backends"].values()}:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    shutil.rmtree(st["lab_dir"], ignore_errors=True)


def ctl(env, *args, json_out=True):
    argv = [MAGLEVC, "--server", env["DEMO_GRPC"]] + (["--json"] if json_out else []) + list(args)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=WAIT, env=env)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return json.loads(r.stdout) if json_out else r.stdout


def demo_cmd(env, *args):
    return subprocess.run(["/usr/bin/python3", DEMO, *args], capture_output=True, text=True,
                          timeout=WAIT * 2, env=env, cwd=ROOT)


def vpp_weights(env, frontend):
    """{address: weight} of the active ASes VPP has in frontend's VIP."""
    doc = ctl(env, "show", "vpp", "lb", "state", frontend)
    assert len(doc["vips"]) == 1, doc
    return {a["address"]: a["weight"] for a in doc["vips"][0]["ases"] if a["active"]}


def vip_answers(st, n=40):
    """n GETs to web4's VIP from the hub, each on a new connection (a new
    source port: a new flow for the table vppsim mirrors into nftables):
    the backends that answered, by name, and how many requests failed."""
    script = f"for i in $(seq {n}); do curl -s -m 3 http://198.19.0.10/ || echo FAILED; done"
    r = subprocess.run(["ip", "netns", "exec", st["hub"], "sh", "-c", script],
                       capture_output=True, text=True, timeout=n * 4 + 30)
    words = r.stdout.split()
    return {w: words.count(w) for w in set(words) if w != "FAILED"}, words.count("FAILED")


def wait_answers(st, pred, what):
    last = []

    def ok():
        last[:] = [vip_answers(st)]
        return pred(*last[0])
    try:
        Lab.wait_for(ok, what, timeout=WAIT, interval=0.2)
    except AssertionError:
        raise AssertionError(f"{what}: the VIP answered {last}") from None


def wait_weights(env, frontend, want, what):
    last = {}

    def ok():
        nonlocal last
        last = vpp_weights(env, frontend)
        return last == want
    try:
        Lab.wait_for(ok, what, timeout=WAIT, interval=0.2)
    except AssertionError:
        raise AssertionError(f"timed out waiting for {what}: VPP has {last}, want {want}")


class Watch:
    """`maglevc --json watch events backend vpp`, one event per line."""

    def __init__(self, env):
        self.p = subprocess.Popen([MAGLEVC, "--server", env["DEMO_GRPC"], "--json", "watch",
                                   "events", "backend", "vpp"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=env)
        self.events = []
        self.lock = threading.Lock()
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            with self.lock:
                self.events.append(json.loads(line))

    def snapshot(self):
        with self.lock:
            return list(self.events)

    def wait(self, pred, what, after=0):
        """-> the index of the first event from after on that pred accepts."""
        found = []

        def seen():
            for i, e in enumerate(self.snapshot()[after:], after):
                if pred(e):
                    found.append(i)
                    return True
            return False
        try:
            Lab.wait_for(seen, what, timeout=WAIT, interval=0.05)
        except AssertionError:
            raise AssertionError(f"no event {what}; events: {self.snapshot()[after:]}")
        return found[0]

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            self.p.wait(timeout=10)
        self.t.join(timeout=5)


def backend_event(name, state):
    return lambda e: ("backend" in e and e["backend"]["name"] == name
                      and not e["backend"]["initial"]
                      and e["backend"]["transition"]["to_state"] == state)


def vpp_event(frontend, backend, new):
    return lambda e: ("vpp_weight" in e and e["vpp_weight"]["frontend"] == frontend
                      and e["vpp_weight"]["backend"] == backend
                      and e["vpp_weight"]["new_weight"] == new)


def start_demo(sock_dir, cmd="/usr/bin/python3", args=None):
    env = demo_env(sock_dir)
    t = Terminal(cmd, args if args is not None else [DEMO], env)
    state_file = os.path.join(sock_dir, "demo.json")
    try:
        t.wait_for(r"^demo: ready: ", timeout=90)
        with open(state_file) as f:
            st = json.load(f)
    except BaseException:
        t.kill()
        raise
    return t, env, st, state_file


@pytest.fixture(scope="module")
def demo():
    sock_dir = tempfile.mkdtemp(prefix="maglev-demo-test-")
    t, env, st, state_file = start_demo(sock_dir)
    d = {"t": t, "env": env, "st": st, "state_file": state_file}
    yield d
    try:
        if t.c.isalive():
            t.ctrl_c()
            try:
                t.wait_exit(60)
            except AssertionError:
                pass
    finally:
        t.kill()
        force_cleanup(st)
        shutil.rmtree(sock_dir, ignore_errors=True)


# ---- no demo ----


def test_fail_and_heal_without_a_demo_say_so():
    d = tempfile.mkdtemp(prefix="maglev-demo-none-")
    try:
        env = demo_env(d)
        for verb in ("fail", "heal"):
            r = demo_cmd(env, verb, "nginx2")
            assert r.returncode == 1, (r.stdout, r.stderr)
            assert r.stdout == ""
            assert r.stderr.startswith(f"demo: no demo is running (no {d}/demo.json)"), r.stderr
            assert "make run" in r.stderr
        # a state file left by a demo that is gone (SIGKILL) is no demo either
        with open(os.path.join(d, "demo.json"), "w") as f:
            json.dump({"pid": 2 ** 22 + 1, "backends": {}}, f)
        r = demo_cmd(env, "fail", "nginx2")
        assert r.returncode == 1, (r.stdout, r.stderr)
        assert r.stderr.startswith("demo: no demo is running: "), r.stderr
        assert "which is gone" in r.stderr
        # DEMO_STATE names the file directly
        r = demo_cmd(dict(env, DEMO_STATE=os.path.join(d, "other.json")), "heal", "nginx1")
        assert r.returncode == 1 and f"no {d}/other.json" in r.stderr, r.stderr
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_a_config_that_fails_the_check_stops_the_demo():
    """The demo checks the config it wrote with `maglevd --check` before
    starting anything; a failure (here from a maglevd that refuses every
    config) is said, and the lab is removed again."""
    d = tempfile.mkdtemp(prefix="maglev-demo-badcfg-")
    fake = os.path.join(d, "maglevd")
    with open(fake, "w") as f:
        f.write('#!/bin/sh\n[ "$1" = --check ] || exit 99\n'
                'echo "$3:2:3: maglev.frontends: something is wrong" >&2\nexit 2\n')
    os.chmod(fake, 0o755)
    try:
        env = dict(demo_env(d), MAGLEVD=fake)
        r = subprocess.run(["/usr/bin/python3", DEMO], capture_output=True, text=True,
                           timeout=WAIT * 2, env=env, cwd=ROOT)
        assert r.returncode == 1, (r.stdout, r.stderr)
        m = re.search(r"^(/\S+/maglev\.yaml):2:3: maglev.frontends: something is wrong$",
                      r.stderr, re.M)
        assert m, r.stderr
        assert re.search(r"^demo: the demo's config " + re.escape(m.group(1))
                         + r" fails `maglevd --check` \(exit 2\); not starting$", r.stdout,
                         re.M), r.stdout
        assert "msg=maglevd-start" not in r.stdout + r.stderr and "vppsim" not in r.stdout
        assert r.stdout.rstrip().endswith("demo: lab removed"), r.stdout
        assert not os.path.exists(os.path.join(d, "demo.json"))
        lab_dir = os.path.dirname(m.group(1))
        assert not os.path.exists(lab_dir) and procs_in(lab_dir) == []
        prefix = re.search(r"namespaces removed: (mgl\d+)hub", r.stdout).group(1)
        assert not [n for n in netns_list() if n.startswith(prefix)]
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---- the running demo ----


def test_demo_checks_its_config_and_says_what_to_do(demo):
    t, st = demo["t"], demo["st"]
    out = t.text()
    sock = demo["env"]["DEMO_GRPC"]
    # its own config passed maglevd --check before maglevd started
    m = re.search(r"^demo: maglevd --check --config (\S+): OK: (.*)$", out, re.M)
    assert m and m.group(1) == st["config"], out
    assert "6 backends, 2 frontends" in m.group(2)
    assert out.index("demo: maglevd --check") < out.index("msg=maglevd-start")
    ready = out[out.index("demo: ready: "):]
    assert f"--server {sock} watch events" in ready
    assert "show vpp lb state" in ready
    assert f"DEMO_GRPC={sock} make demo-fail BACKEND=nginx2" in ready
    assert f"DEMO_GRPC={sock} make demo-heal BACKEND=nginx2" in ready
    # the state file: the lab, every backend, the API
    assert st["pid"] == t.c.pid
    assert st["api"] == sock
    assert list(st["backends"]) == NAMES
    for name, b in st["backends"].items():
        assert os.path.isdir(b["nginx_dir"]) and b["nginx_dir"].startswith(st["lab_dir"])
        assert b["namespace"] in netns_list()
    assert os.path.exists(st["backends"]["nginx2"]["pid_file"])


def test_fail_unknown_or_pinged_backend_is_refused(demo):
    env = demo["env"]
    for verb in ("fail", "heal"):
        r = demo_cmd(env, verb, "nginx9")
        assert r.returncode == 1, (r.stdout, r.stderr)
        assert r.stderr.strip() == ("demo: unknown backend 'nginx9'; the demo's backends: "
                                    + ", ".join(NAMES)), r.stderr
        r = demo_cmd(env, verb)  # make demo-fail without BACKEND=
        assert r.returncode == 1 and "BACKEND=nginx2" in r.stderr and "nginx3-v6" in r.stderr
    r = demo_cmd(env, "fail", "nginx2-v6")
    assert r.returncode == 1 and "ICMP ping" in r.stderr, r.stderr
    # nothing was stopped
    assert ctl(env, "show", "backend", "nginx2")["state"] == "up"


def test_a_second_demo_on_the_same_api_refuses_to_start(demo):
    r = subprocess.run(["/usr/bin/python3", DEMO], capture_output=True, text=True,
                       timeout=WAIT * 2, env=demo["env"], cwd=ROOT)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stderr.startswith(f"demo: a demo is already running (pid {demo['st']['pid']}, "
                               f"{demo['state_file']})"), r.stderr
    assert r.stdout == ""
    with open(demo["state_file"]) as f:
        assert json.load(f) == demo["st"]  # the running demo's, untouched


def test_fail_then_heal_nginx2_shows_in_vpp(demo):
    env, st = demo["env"], demo["st"]
    b = {n: x["address"] for n, x in st["backends"].items()}
    base4 = {b["nginx1"]: 100, b["nginx2"]: 50, b["nginx3"]: 0}
    base6 = {b["nginx1-v6"]: 100, b["nginx2-v6"]: 100, b["nginx3-v6"]: 0}
    Lab.wait_for(lambda: ctl(env, "show", "backend", "nginx2")["state"] == "up", "nginx2 up",
                 timeout=WAIT, interval=0.2)
    wait_weights(env, "web4", base4, "VPP to have web4's weights")
    wait_weights(env, "web6", base6, "VPP to have web6's weights")

    # the VIP answers, through the hub's nftables (vppsim's mirror of VPP)
    wait_answers(st, lambda a, failed: not failed and set(a) == {"b1", "b2"},
                 "b1 and b2 answering at the VIP")
    w = Watch(env)
    try:
        # the watch is live once it sent its first snapshot (nginx2 included)
        w.wait(lambda e: "backend" in e and e["backend"]["initial"]
               and e["backend"]["name"] == "nginx2", "the watch's snapshot of nginx2")
        mark = len(w.snapshot())

        r = demo_cmd(env, "fail", "nginx2")
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert r.stderr == ""
        assert re.search(r"^demo: failed nginx2: stopped its nginx \(pid \d+, namespace "
                         + re.escape(st["backends"]["nginx2"]["namespace"]), r.stdout, re.M), \
            r.stdout
        assert "demo: expect: nginx2 down" in r.stdout
        assert f"web4 nginx2 ({b['nginx2']}) weight 50 -> 0" in r.stdout
        assert "make demo-heal BACKEND=nginx2" in r.stdout

        down = w.wait(backend_event("nginx2", "down"), "nginx2 down", after=mark)
        zero = w.wait(vpp_event("web4", "nginx2", 0), "web4 nginx2 weight 0", after=mark)
        assert down < zero, w.snapshot()[mark:]
        ev = w.snapshot()[zero]["vpp_weight"]
        assert (ev["old_weight"], ev["trigger"], ev["error"]) == (50, "health", ""), ev
        assert w.snapshot()[down]["backend"]["transition"]["from_state"] == "up"
        # VPP has it: nginx2 at 0, the others keep theirs
        wait_weights(env, "web4", dict(base4, **{b["nginx2"]: 0}), "nginx2 at 0 in VPP")
        assert vpp_weights(env, "web6") == base6
        assert ctl(env, "show", "backend", "nginx1")["state"] == "up"
        # no new connection reaches nginx2, and none fails
        wait_answers(st, lambda a, failed: not failed and set(a) == {"b1"},
                     "only b1 answering at the VIP")
        # the demo's terminal shows it too (maglevd's log)
        demo["t"].wait_for(r"msg=backend-transition backend=nginx2 from=up to=down ")

        # fail again: nothing to do
        r = demo_cmd(env, "fail", "nginx2")
        assert r.returncode == 0 and "already stopped" in r.stdout, (r.stdout, r.stderr)

        mark = len(w.snapshot())
        r = demo_cmd(env, "heal", "nginx2")
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert r.stderr == ""
        assert re.search(r"^demo: healed nginx2: started its nginx again \(pid \d+", r.stdout,
                         re.M), r.stdout
        assert "demo: expect: nginx2 up" in r.stdout
        assert f"web4 nginx2 ({b['nginx2']}) weight 0 -> 50" in r.stdout
        up = w.wait(backend_event("nginx2", "up"), "nginx2 up", after=mark)
        back = w.wait(vpp_event("web4", "nginx2", 50), "web4 nginx2 weight 50", after=mark)
        assert up < back, w.snapshot()[mark:]
        wait_weights(env, "web4", base4, "nginx2 back at 50 in VPP")
        assert vpp_weights(env, "web6") == base6
        wait_answers(st, lambda a, failed: not failed and set(a) == {"b1", "b2"},
                     "b2 answering at the VIP again")

        r = demo_cmd(env, "heal", "nginx2")
        assert r.returncode == 0 and "nothing to do" in r.stdout, (r.stdout, r.stderr)
    finally:
        w.stop()


def test_ctrl_c_stops_everything_in_order(demo):
    t, st = demo["t"], demo["st"]
    # a healed nginx is not the demo's child: fail and heal nginx1 first, so
    # that the clean-up has one of those to stop as well
    env = demo["env"]
    assert demo_cmd(env, "fail", "nginx1").returncode == 0
    assert demo_cmd(env, "heal", "nginx1").returncode == 0
    healed = int(open(st["backends"]["nginx1"]["pid_file"]).read())

    start = len(t.text())
    t.ctrl_c()
    status, sig = t.wait_exit(90)
    out = t.text()[start:]
    assert sig is None and status == 0, (status, sig, out)
    steps = [r"^demo: Ctrl-C: stopping maglevd, vppsim, nginx and removing the lab$",
             r"^demo: maglevd stopped \(exit 0\)$",
             r"^demo: vppsim stopped \(exit -?\d+\)$",
             r"^demo: nginx stopped in " + re.escape(st["backends"]["nginx1"]["namespace"]),
             r"^demo: namespaces removed: " + re.escape(st["hub"]) + ", ",
             r"^demo: " + re.escape(st["lab_dir"]) + " removed$",
             r"^demo: " + re.escape(demo["state_file"]) + " removed$",
             r"^demo: lab removed$"]
    at = []
    for s in steps:
        m = re.search(s, out, re.M)
        assert m, (s, out)
        at.append(m.start())
    assert at == sorted(at), out
    assert out.rstrip().endswith("demo: lab removed"), out
    assert "still there" not in out
    assert "Traceback" not in out

    assert not os.path.exists(demo["state_file"])
    assert not os.path.exists(st["lab_dir"])
    left, procs = leftovers(st)
    assert left == [] and procs == [], (left, procs)
    for pid in (healed, st["maglevd_pid"]):  # among those, but by pid as well
        assert pid not in [p for p, _ in procs_in("")], pid


# ---- make run ----


@pytest.mark.skipif(not shutil.which("make"), reason="no make")
def test_make_run_returns_after_the_clean_up():
    """Ctrl-C in `make run`: make (which gets the SIGINT too) returns only
    after the demo's "lab removed", with nothing of the lab left by then.
    (-o deps -o build: the build is the suite's, not to be redone here.)"""
    build = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(MAGLEVD))))
    sock_dir = tempfile.mkdtemp(prefix="maglev-demo-make-")
    t, env, st, state_file = start_demo(sock_dir, cmd="make",
                                        args=["--no-print-directory", "-o", "deps", "-o",
                                              "build", f"BUILD={build}", "run"])
    try:
        start = len(t.text())
        # the demo's own config is checked, not examples/maglev.yaml
        assert "examples/" not in t.text()
        m = re.search(r"^demo: maglevd --check --config (\S+): OK: ", t.text(), re.M)
        assert m and m.group(1) == st["config"], t.text()
        t.ctrl_c()
        deadline = time.monotonic() + 90
        while t.c.isalive() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not t.c.isalive(), t.text()[start:]
        # make has returned: the clean-up is over
        left, procs = leftovers(st)
        assert left == [] and procs == [], (left, procs, t.text()[start:])
        assert not os.path.exists(state_file) and not os.path.exists(st["lab_dir"])
        status, sig = t.wait_exit(30)
        out = t.text()[start:]
        # make dies of the SIGINT it got, once its child (the demo) is done
        assert (status, sig) == (None, signal.SIGINT), (status, sig, out)
        # the demo's last word is the last line (the demo exits 0, so make
        # has no "*** [run] Interrupt" to add; were it there, it would follow)
        removed = re.search(r"^demo: lab removed$", out, re.M)
        assert removed, out
        assert re.sub(r"^make: \*\*\* .*$", "", out[removed.end():], flags=re.M).strip() == "", \
            out
    finally:
        t.kill()
        force_cleanup(st)
        shutil.rmtree(sock_dir, ignore_errors=True)
