"""The API's connection limits (maglevd accepts on its unix and plaintext TCP
listeners itself and hands a connection to gRPC once it has sent the HTTP/2
preface): per-listener (?max-conns=N) and total (--grpc-max-connections)
caps, the handshake and idle timeouts, recovery from EMFILE, probes that a
flood cannot starve, memory given back after a flood, read-only listeners
(?ro), the caller's identity in operator-action, and the bad values that
stop maglevd at start.

Raw connections are python sockets: "silent" ones send nothing, "live"
ones send the HTTP/2 preface and an empty SETTINGS frame (gRPC then serves
them) and acknowledge the server's SETTINGS. Nothing here asserts a tight
duration: waits are bounded generously and the tests look at causes (log
records, EOF) and their order."""
import json
import os
import pwd
import grp
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import grpc
import pytest

import lab
from lab import Daemon, Lab, MAGLEVC, MINIMAL_CONFIG, is_root

sys.path.insert(0, os.environ.get("PROTO_PY_DIR", "build/proto"))
import maglev_pb2 as pb  # noqa: E402


pytestmark = pytest.mark.skipif(not is_root(), reason="integration tests run as root")

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"      # empty SETTINGS
SETTINGS_ACK = b"\x00\x00\x00\x04\x01\x00\x00\x00\x00"
LIVE = PREFACE + SETTINGS
WAIT = 25.0  # the bound of every wait for maglevd (CI shares two busy cores)
READ_ONLY_MSG = ("{}: not allowed through a read-only listener (only Get*, List*, Watch* "
                 "and Plan*): use the admin socket")


# ---- helpers ----

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAGLEV_")}
    env.update(extra)
    return env


@pytest.fixture
def tdir():
    """A short temp dir (unix socket paths stay well under 108 bytes) that
    nobody may traverse, holding MINIMAL_CONFIG."""
    d = tempfile.mkdtemp(prefix="maglev-lim-")
    os.chmod(d, 0o755)
    with open(os.path.join(d, "maglev.yaml"), "w") as f:
        f.write(MINIMAL_CONFIG)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def daemons():
    """Starts maglevd (Daemon's arguments, plus nofile=N to run it under
    prlimit --nofile=N:N); every one is stopped at the end."""
    started = []

    def start(config, *args, grpc_addr, nofile=None, level="debug"):
        saved = lab.MAGLEVD
        if nofile:
            wrapper = os.path.join(os.path.dirname(config), f"maglevd-nofile-{nofile}")
            with open(wrapper, "w") as f:
                f.write(f'#!/bin/sh\nexec prlimit --nofile={nofile}:{nofile} '
                        f'{os.path.abspath(saved)} "$@"\n')
            os.chmod(wrapper, 0o755)
            lab.MAGLEVD = wrapper
        try:
            d = Daemon(config, *args, level=level, grpc_addr=grpc_addr)
        finally:
            lab.MAGLEVD = saved
        started.append(d)
        d.wait_for("api-listening", timeout=WAIT)
        return d

    yield start
    for d in started:
        d.stop()


def maglevc(server, *args, timeout=30):
    return subprocess.run([MAGLEVC, "-s", server, *args], capture_output=True, text=True,
                          env=clean_env(), timeout=timeout)


def serves(server):
    """maglevc through server answers (retried: gRPC may still hold
    connections the clients closed until maglevd's next sweep)."""
    last = []

    def ok():
        r = maglevc(server, "show", "version")
        last[:] = [r]
        return r.returncode == 0
    try:
        Lab.wait_for(ok, f"maglevc through {server}", timeout=WAIT, interval=0.2)
    except AssertionError:
        raise AssertionError(f"maglevc through {server}: {last[0].stderr if last else ''}")
    return last[0]


def nfds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {key}")


def vmrss_kib(pid):
    return proc_status(pid, "VmRSS")


def nofile_limits(pid):
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return int(soft), int(hard)
    raise AssertionError("no Max open files")


def raise_own_nofile(n):
    """Lets this process hold n sockets; returns what to restore."""
    old = resource.getrlimit(resource.RLIMIT_NOFILE)
    soft, hard = old
    if soft < n:
        if hard != resource.RLIM_INFINITY and hard < n:
            hard = n
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, hard))
    return old


def connect(addr):
    if addr.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(addr[5:])
    else:
        host, port = addr.rsplit(":", 1)
        s = socket.create_connection((host, int(port)), timeout=10)
    return s


class Flood:
    """n raw connections to addr, each sending `send` at once (and, when
    live, acknowledging the server's SETTINGS: its first frame). poll()
    reads what the server sent and notes which the server closed (EOF or
    a reset)."""

    def __init__(self, addr, n, send=b""):
        self.socks, self.closed, self.heard = [], set(), set()
        self.ack = send.startswith(PREFACE)
        try:
            for _ in range(n):
                s = connect(addr)
                self.socks.append(s)
                if send:
                    try:
                        s.sendall(send)
                    except OSError:  # closed at once by the server (over a cap)
                        self.closed.add(len(self.socks) - 1)
                s.setblocking(False)
        except BaseException:
            self.close()
            raise

    def poll(self):
        for i, s in enumerate(self.socks):
            if i in self.closed:
                continue
            while True:
                try:
                    data = s.recv(65536)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:  # ECONNRESET, EPIPE
                    self.closed.add(i)
                    break
                if not data:
                    self.closed.add(i)
                    break
                if i not in self.heard:
                    self.heard.add(i)
                    if self.ack:
                        try:
                            s.send(SETTINGS_ACK)
                        except OSError:
                            pass
        return self

    @property
    def n_open(self):
        return len(self.socks) - len(self.closed)

    def wait(self, cond, what, timeout=WAIT):
        Lab.wait_for(lambda: cond(self.poll()), what, timeout=timeout, interval=0.05)

    def close(self):
        for s in self.socks:
            s.close()
        self.socks = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def channel_fn(ch, method, req, resp, kind="unary_unary"):
    return getattr(ch, kind)(f"/maglev.Maglev/{method}",
                             request_serializer=req.SerializeToString,
                             response_deserializer=resp.FromString)


# ---- 1. caps ----

def test_listener_cap(tdir, daemons):
    """?max-conns=5 on the unix listener: of 30 silent connections 5 are
    held, the rest closed at once (listener-cap); the TCP listener serves
    meanwhile; once the 5 go, the unix listener serves again."""
    sock = os.path.join(tdir, "a.sock")
    tcp = f"127.0.0.1:{free_port()}"
    d = daemons(os.path.join(tdir, "maglev.yaml"), "--grpc-max-connections", "20",
                "--grpc-handshake-timeout", "5m",  # the held ones never time out here
                grpc_addr=f"unix:{sock}?max-conns=5,{tcp}")
    with Flood("unix:" + sock, 30) as fl:
        fl.wait(lambda f: len(f.closed) >= 25, "25 of 30 connections closed")
        rec = d.wait_for("api-conn-refused", timeout=WAIT)
        assert rec["level"] == "warn"
        assert (rec["listener"], rec["reason"], rec["cap"]) == ("unix:" + sock, "listener-cap", 5)
        r = maglevc(tcp, "show", "backends")
        assert r.returncode == 0, r.stderr
        assert "b1" in r.stdout and "up" in r.stdout
        assert fl.poll().n_open == 5, f"{fl.n_open} held, cap 5"
        assert sorted(fl.closed) == list(range(5, 30)), "the first 5 are held, later ones closed"
        # a 31st through the full listener: closed at once too
        with Flood("unix:" + sock, 1) as one:
            one.wait(lambda f: len(f.closed) == 1, "a connection over the cap closed")
        assert fl.poll().n_open == 5
    # the 5 went away: the listener has room again
    assert "maglevd" in serves("unix:" + sock).stdout
    assert not d.find("api-conn-refused", reason="total-cap")


def test_total_cap_and_descriptors(tdir, daemons):
    """--grpc-max-connections 8: of 30 live TCP connections 8 are served by
    gRPC (they hear the server's SETTINGS), the rest closed at once
    (total-cap); maglevd holds at most 2 descriptors per connection."""
    sock = os.path.join(tdir, "a.sock")
    tcp = f"127.0.0.1:{free_port()}"
    d = daemons(os.path.join(tdir, "maglev.yaml"), "--grpc-max-connections", "8",
                grpc_addr=f"unix:{sock},{tcp}")
    budget = d.wait_for("fd-budget")
    assert budget["api-max-connections"] == 8 and budget["api-descriptors"] == 16
    rest = nfds(d.p.pid)
    serves("unix:" + sock)
    # maglevc's connection is let go (else it would count against the cap)
    Lab.wait_for(lambda: nfds(d.p.pid) <= rest, "descriptors at rest", timeout=WAIT)
    base = nfds(d.p.pid)
    with Flood(tcp, 30, send=LIVE) as fl:
        fl.wait(lambda f: len(f.closed) >= 22 and len(f.heard) >= 8,
                "22 of 30 closed and 8 served")
        rec = d.wait_for("api-conn-refused", timeout=WAIT)
        assert (rec["listener"], rec["reason"], rec["cap"]) == (tcp, "total-cap", 8)
        assert fl.poll().n_open == 8
        assert fl.heard - fl.closed == set(range(8)) == set(range(30)) - fl.closed
        held = nfds(d.p.pid)
        assert held <= base + 2 * 8 + 8, (base, held)
        assert held >= base + 8, (base, held)  # they are held indeed
        # the unix listener is under the same total cap
        with Flood("unix:" + sock, 3) as more:
            more.wait(lambda f: len(f.closed) == 3, "unix connections over the total cap")
    print(f"\ntotal cap 8: descriptors {base} before, {held} with 8 held")
    assert "maglevd" in serves("unix:" + sock).stdout
    assert "maglevd" in serves(tcp).stdout
    Lab.wait_for(lambda: nfds(d.p.pid) <= base + 4, "descriptors back", timeout=WAIT)


# ---- 2. handshake timeout ----

def test_handshake_timeout(tdir, daemons):
    # 3 s: far from the milliseconds the HTTP/1.1 request below takes to
    # arrive, so that it is closed for what it is, not by the timeout, even
    # when a busy machine holds maglevd up for a while
    sock = os.path.join(tdir, "a.sock")
    d = daemons(os.path.join(tdir, "maglev.yaml"), "--grpc-handshake-timeout", "3s",
                grpc_addr=f"unix:{sock}")
    with Flood("unix:" + sock, 20, send=b"PRI * HTTP/2.0\r\n") as partial, \
            Flood("unix:" + sock, 5) as silent:
        partial.wait(lambda f: len(f.closed) == 20, "20 partial prefaces closed")
        silent.wait(lambda f: len(f.closed) == 5, "5 silent connections closed")
        assert not partial.heard and not silent.heard  # never handed to gRPC
    Lab.wait_for(lambda: len(d.find("api-conn-closed", reason="handshake timeout")) >= 25,
                 "25 handshake timeouts logged", timeout=WAIT)
    recs = d.find("api-conn-closed", reason="handshake timeout")
    assert len(recs) == 25 and all(r["listener"] == "unix:" + sock for r in recs)
    assert not d.find("api-conn-open")  # none reached gRPC
    assert "maglevd" in serves("unix:" + sock).stdout
    # HTTP/1.1 is not HTTP/2: closed as such, not by the timeout
    with Flood("unix:" + sock, 1, send=b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") as http1:
        http1.wait(lambda f: len(f.closed) == 1, "the HTTP/1.1 connection closed")
    rec = d.wait_for("api-conn-closed", timeout=WAIT, reason="not HTTP/2 (no client preface)")
    assert rec["listener"] == "unix:" + sock
    assert len(d.find("api-conn-closed", reason="handshake timeout")) == 25
    assert "maglevd" in serves("unix:" + sock).stdout


# ---- 3. idle timeout ----

def test_idle_timeout_spares_a_watch(tdir, daemons):
    """A gRPC connection without a call is closed by the server after the
    idle timeout; one carrying a WatchEvents stream is not (a call in
    flight) and still gets the events caused afterwards."""
    sock = os.path.join(tdir, "a.sock")
    d = daemons(os.path.join(tdir, "maglev.yaml"), "--grpc-idle-timeout", "2s",
                grpc_addr=f"unix:{sock}")
    ch = grpc.insecure_channel("unix:" + sock)
    try:
        watch = channel_fn(ch, "WatchEvents", pb.WatchEventsRequest, pb.Event, "unary_stream")
        stream = watch(pb.WatchEventsRequest(backend=True), timeout=120)
        first = next(stream)
        assert first.backend.name == "b1" and first.backend.initial
        d.wait_for("api-conn-open", timeout=WAIT)
        # opened after the watch: the watch has been without a new call for longer
        with Flood("unix:" + sock, 1, send=LIVE) as idle:
            idle.wait(lambda f: 0 in f.heard, "the server's SETTINGS")
            idle.wait(lambda f: len(f.closed) == 1, "the idle connection closed by maglevd")
        # closed by maglevd's sweep (gRPC's own idle timer is 10 s later), and said so
        closed = d.wait_for("api-conn-closed", reason="idle timeout", timeout=WAIT)
        assert closed["peer"].startswith("unix:") and "uid=" in closed["peer"], closed
        Lab.wait_for(lambda: len(d.find("api-conn-open")) == 2, "2 connections", timeout=WAIT)
        time.sleep(2.5)  # two more sweeps (1 s apart) with the watch still open
        r = maglevc("unix:" + sock, "set", "backend", "b1", "pause")
        assert r.returncode == 0, r.stderr
        ev = next(stream)
        assert ev.backend.name == "b1" and not ev.backend.initial
        assert ev.backend.transition.to_state == "paused"
        # the watch's connection is the one it started on: no reconnect, only maglevc's
        Lab.wait_for(lambda: len(d.find("api-conn-open")) >= 3, "maglevc's", timeout=WAIT)
        assert len(d.find("api-conn-open")) == 3
        assert len(d.find("watch-start")) == 1
        stream.cancel()
    finally:
        ch.close()


# ---- 4. out of descriptors ----

def test_emfile_pauses_and_resumes_accept(tdir, daemons):
    sock = os.path.join(tdir, "a.sock")
    d = daemons(os.path.join(tdir, "maglev.yaml"), grpc_addr=f"unix:{sock}")
    pid = d.p.pid
    serves("unix:" + sock)
    old = nofile_limits(pid)
    n = nfds(pid)
    limit = n + 4
    sh = lab.sh
    # the soft limit only: raising a hard limit again needs CAP_SYS_RESOURCE
    sh("prlimit", "--pid", str(pid), f"--nofile={limit}:{old[1]}")
    try:
        with Flood("unix:" + sock, 30) as fl:
            rec = d.wait_for("api-accept-paused", timeout=WAIT)
            assert rec["level"] == "warn" and rec["listener"] == "unix:" + sock
            assert "Too many open files" in rec["error"], rec
            assert nfds(pid) <= limit
            assert not d.find("api-accept-resumed")
            assert not fl.poll().closed  # the ones not accepted wait in the backlog
    finally:
        sh("prlimit", "--pid", str(pid), f"--nofile={old[0]}:{old[1]}")
    assert nofile_limits(pid) == old
    r = serves("unix:" + sock)
    assert str(pid) in r.stdout
    resumed = d.wait_for("api-accept-resumed", timeout=WAIT)
    assert resumed["listener"] == "unix:" + sock and resumed["paused-ms"] >= 0
    i_paused = d.records.index(d.find("api-accept-paused")[0])
    assert d.records.index(resumed) > i_paused
    assert len(d.find("api-accept-paused")) == 1
    assert d.p.poll() is None


# ---- 5. probes not starved ----

class ProbeTarget:
    """A TCP listener on 127.0.0.1 that accepts and closes (a healthcheck's target)."""

    def __init__(self):
        import threading
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(1024)
        self.srv.settimeout(0.2)
        self.port = self.srv.getsockname()[1]
        self.stopping = False
        self.accepted = 0
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stopping:
            try:
                c, _ = self.srv.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            c.close()

    def stop(self):
        self.stopping = True
        self.t.join(timeout=5)
        self.srv.close()


# A probe every 300 ms; going down takes 5 failures in a row (1.5 s): a
# flood that took every descriptor would fail them at once ("Too many open
# files"), while a busy machine may at most delay one past its timeout.
PROBED_CONFIG = """maglev:
  healthchecks:
    tcp: {{type: tcp, port: {port}, interval: 300ms, timeout: 300ms, fall: 5}}
  backends:
    b1: {{address: 127.0.0.1, healthcheck: tcp}}
  frontends:
    web:
      address: 198.19.0.10
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends: {{b1: {{}}}}
  vpp:
    lb: {{ipv4-src-address: 192.0.2.1, ipv6-src-address: "2001:db8::1"}}
"""


def test_flood_does_not_starve_probes(tdir, daemons):
    target = ProbeTarget()
    try:
        config = os.path.join(tdir, "probed.yaml")
        with open(config, "w") as f:
            f.write(PROBED_CONFIG.format(port=target.port))
        sock = os.path.join(tdir, "a.sock")
        tcp = f"127.0.0.1:{free_port()}"
        d = daemons(config, grpc_addr=f"unix:{sock},{tcp}", nofile=256)
        budget = d.wait_for("fd-budget")
        assert budget["nofile"] == 256 and budget["api-max-connections"] < 100, budget
        cap = budget["api-max-connections"]
        d.wait_state("b1", "up", timeout=WAIT)
        old = raise_own_nofile(2048)
        try:
            probes_before = len(d.find("probe-result"))
            with Flood(tcp, 500, send=LIVE) as fl:
                fl.wait(lambda f: len(f.closed) >= 500 - cap, "connections over the cap closed")
                time.sleep(3)  # held, for at least 8 probes
                Lab.wait_for(lambda: len(d.find("probe-result")) >= probes_before + 8,
                             "8 probes during the flood", timeout=WAIT)
                fl.poll()
                assert fl.n_open == cap, (fl.n_open, cap)
                assert nfds(d.p.pid) < 256
                during = d.find("probe-result")[probes_before:]
            time.sleep(1)  # and released
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, old)
        rec = d.wait_for("api-conn-refused", timeout=WAIT)
        assert rec["reason"] == "total-cap" and rec["cap"] == cap
        assert len(during) >= 8, "probes ran during the flood"
        bad = [r for r in during if r["state"] != "up"]
        assert not bad, bad
        starved = [r for r in during if "open files" in r.get("detail", "")]
        assert not starved, starved
        # a probe may fail only by its timeout (a busy machine), never for
        # want of a socket
        assert all(r["code"] in ("L4OK", "L4TOUT") for r in during), during
        assert [r["to"] for r in d.find("backend-transition", backend="b1")] == ["up"]
        r = maglevc("unix:" + sock, "show", "backend", "b1")
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("backend b1 up"), r.stdout
        assert d.p.poll() is None
    finally:
        target.stop()


# ---- 6. memory after a flood ----

FLOOD_N = 1500


def start_for_flood(tdir, daemons):
    """maglevd with room for 2000 connections, warmed up; -> (daemon, tcp
    listener, its descriptor count at rest)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nofile = 8192 if hard == resource.RLIM_INFINITY else min(8192, hard)
    if nofile < 4200 + FLOOD_N:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard}: too low for {FLOOD_N} connections")
    sock = os.path.join(tdir, "a.sock")
    tcp = f"127.0.0.1:{free_port()}"
    d = daemons(os.path.join(tdir, "maglev.yaml"), "--grpc-max-connections", "2000",
                grpc_addr=f"unix:{sock},{tcp}", nofile=nofile, level="info")
    budget = d.wait_for("fd-budget")
    assert budget["api-max-connections"] == 2000 and budget["nofile"] == nofile, budget
    rest = nfds(d.p.pid)
    for _ in range(3):
        serves("unix:" + sock)
        serves(tcp)
    Lab.wait_for(lambda: nfds(d.p.pid) <= rest, "descriptors at rest", timeout=WAIT)
    return d, tcp, nfds(d.p.pid)


def flood_and_release(d, tcp, base, n=FLOOD_N):
    """n live connections to tcp, held until maglevd holds 2 descriptors for
    each, then closed; -> (RSS while held, descriptors held), in KiB."""
    pid = d.p.pid
    old = raise_own_nofile(n + 512)
    try:
        with Flood(tcp, n, send=LIVE) as fl:
            fl.wait(lambda f: len(f.heard) == n and not f.closed, f"{n} served", timeout=60)
            Lab.wait_for(lambda: nfds(pid) >= base + 2 * n - 8, "2 descriptors each",
                         timeout=WAIT)
            held = nfds(pid)
            peak = vmrss_kib(pid)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, old)
    Lab.wait_for(lambda: nfds(pid) <= base + 2, "descriptors back", timeout=WAIT)
    time.sleep(1.5)  # one more sweep of maglevd's (it trims when connections drop)
    return peak, held


def test_rss_flood_after_flood(tdir, daemons):
    """What a flood of 1500 gRPC connections grows is given back when they
    go (gRPC's poll poller, a fixed trim threshold, no abseil deadlock
    graph, malloc_trim when they go and 7 times later). At rest RSS is back
    within a few percent after every flood. On a machine at a load average
    of 15, a flood in about six leaves up to 6-9 MiB of the ~23 MiB it grew
    pinned (glibc chunks of objects freed late, among live ones; not
    threads: their number does not change), which a later flood's trims
    give back: it does not add up. So, over three floods: the issue's bar
    (within 20 % of before) after the last one or the one before it (a
    leak of 1.2 KiB per connection would put the second and the third
    over), and never more than 12 MiB over before after any (the most
    left pinned for a while under load is 9 MiB; at load 14 one in five
    runs left 9.1 MiB, 52 % of an RSS of 17 MiB)."""
    d, tcp, base = start_for_flood(tdir, daemons)
    pid = d.p.pid
    before = vmrss_kib(pid)
    threads0 = proc_status(pid, "Threads")

    def settled():
        # gRPC's threads finish freeing a closed connection late on a busy
        # machine, and maglevd trims again 1, 2, 4 ... 64 s apart after the
        # crowd left: wait for 20 % or 40 s (at rest: within a second)
        t0 = time.monotonic()
        while vmrss_kib(pid) > before * 1.2 and time.monotonic() - t0 < 40:
            time.sleep(0.5)
        return vmrss_kib(pid)
    peaks, afters = [], []
    for _ in range(3):
        peak, held = flood_and_release(d, tcp, base)
        peaks.append(peak)
        afters.append(settled())
    print(f"\nVmRSS KiB: {before} before; with {FLOOD_N} connections {peaks}, after {afters}; "
          f"descriptors {base} at rest, {held} held, {nfds(pid)} after; "
          f"threads {threads0} before, {proc_status(pid, 'Threads')} after")
    assert min(peaks) > before + 8192, "the floods were real"
    within = [a <= before * 1.2 for a in afters]
    assert any(within[1:]), (before, peaks, afters)
    assert max(afters) <= before + 12 * 1024, (before, peaks, afters)
    assert "maglevd" in serves(tcp).stdout


# ---- 7. read-only listener ----

def test_read_only_listener(tdir, daemons):
    admin = os.path.join(tdir, "a.sock")
    ro = os.path.join(tdir, "ro.sock")
    d = daemons(os.path.join(tdir, "maglev.yaml"), grpc_addr=f"unix:{admin},unix:{ro}?ro")
    RO, A = "unix:" + ro, "unix:" + admin
    for cmd in (["show", "backends"], ["show", "frontends"], ["show", "backend", "b1"],
                ["show", "version"], ["show", "healthchecks"]):
        r = maglevc(RO, *cmd)
        assert r.returncode == 0, (cmd, r.stderr)
    assert "web" in maglevc(RO, "show", "frontends").stdout
    # Plan* passes the read-only gate (then fails for want of VPP, not of rights)
    r = maglevc(RO, "plan", "vpp", "lb", "state")
    assert r.returncode == 1 and "VPP integration is disabled" in r.stderr, r.stderr
    assert "read-only" not in r.stderr
    for cmd, method in ((["set", "backend", "b1", "pause"], "PauseBackend"),
                        (["config", "reload"], "ReloadConfig"),
                        (["config", "check"], "CheckConfig"),
                        (["set", "frontend", "web", "pool", "primary", "backend", "b1",
                          "weight", "5"], "SetFrontendPoolBackendWeight")):
        r = maglevc(RO, *cmd)
        assert r.returncode == 1, (cmd, r.stdout, r.stderr)
        assert r.stderr.strip() == "error: " + READ_ONLY_MSG.format(method), r.stderr
        rec = d.wait_for("api-denied", method=method)
        assert rec["reason"] == "read-only listener" and rec["peer"].startswith(RO + " uid=0")
    assert not d.find("operator-action")
    assert d.state("b1") == "up"
    assert maglevc(A, "show", "backend", "b1").stdout.startswith("backend b1 up")
    # python grpc through RO
    ch = grpc.insecure_channel(RO)
    try:
        pause = channel_fn(ch, "PauseBackend", pb.BackendActionRequest, pb.Backend)
        with pytest.raises(grpc.RpcError) as e:
            pause(pb.BackendActionRequest(name="b1"), timeout=10)
        assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert e.value.details() == READ_ONLY_MSG.format("PauseBackend")
        get = channel_fn(ch, "GetBackend", pb.GetBackendRequest, pb.Backend)
        assert get(pb.GetBackendRequest(name="b1"), timeout=10).state == "up"
        import reflection_pb2 as rpb
        f = ch.stream_stream("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                             request_serializer=rpb.ServerReflectionRequest.SerializeToString,
                             response_deserializer=rpb.ServerReflectionResponse.FromString)
        out = list(f(iter([rpb.ServerReflectionRequest(list_services="")]), timeout=10))
        assert [s.name for s in out[0].list_services_response.service] == ["maglev.Maglev"]
    finally:
        ch.close()
    assert d.state("b1") == "up"
    # the same through the admin socket works
    r = maglevc(A, "set", "backend", "b1", "pause")
    assert r.returncode == 0, r.stderr
    d.wait_state("b1", "paused", timeout=WAIT)
    r = maglevc(A, "config", "reload")
    assert r.returncode == 0, r.stderr
    assert [r["action"] for r in d.find("operator-action")] == ["pause", "reload"]
    assert all(r["peer"].startswith(A + " uid=0") for r in d.find("operator-action"))


# ---- 8. identity ----

def test_caller_identity(tdir, daemons):
    sock = os.path.join(tdir, "a.sock")
    tcp = f"127.0.0.1:{free_port()}"
    d = daemons(os.path.join(tdir, "maglev.yaml"), "--grpc-socket-mode", "0666",
                grpc_addr=f"unix:{sock},{tcp}")
    if shutil.which("setpriv") is None:
        pytest.skip("no setpriv to run maglevc as nobody")
    nobody = pwd.getpwnam("nobody")
    nogroup = grp.getgrnam("nogroup").gr_gid
    p = subprocess.Popen(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                          MAGLEVC, "-s", "unix:" + sock, "set", "backend", "b1", "pause"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=clean_env())
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    rec = d.wait_for("operator-action", action="pause", timeout=WAIT)
    assert rec["backend"] == "b1"
    assert rec["peer"] == (f"unix:{sock} uid={nobody.pw_uid}(nobody) gid={nogroup} "
                           f"pid={p.pid}"), rec
    # root, as root
    p = subprocess.Popen([MAGLEVC, "-s", "unix:" + sock, "config", "reload"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=clean_env())
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    rec = d.wait_for("operator-action", action="reload", timeout=WAIT)
    assert rec["peer"] == f"unix:{sock} uid=0(root) gid=0 pid={p.pid}", rec
    # a TCP caller: its address
    r = maglevc(tcp, "set", "backend", "b1", "resume")
    assert r.returncode == 0, r.stderr
    rec = d.wait_for("operator-action", action="resume", timeout=WAIT)
    prefix = "ipv4:127.0.0.1:"
    assert rec["peer"].startswith(prefix) and rec["peer"][len(prefix):].isdigit(), rec


# ---- 9. bad values ----

def run_maglevd(tdir, addr, *args, env=None):
    return subprocess.run([lab.MAGLEVD, "--config", os.path.join(tdir, "maglev.yaml"),
                           "--log-format", "json", "--vpp-api-addr", "", "--grpc-addr", addr,
                           *args], capture_output=True, text=True, timeout=30,
                          env=env or clean_env())


def api_errors(stderr):
    out = []
    for line in stderr.splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if r.get("msg") == "api-error":
            out.append(r["error"])
    return out


@pytest.mark.parametrize("opts,says", [
    ("?bogus", ['unknown listener option "bogus"', "known: ro, max-conns=N"]),
    ("?ro&bogus=1", ['unknown listener option "bogus=1"', "known: ro, max-conns=N"]),
    ("?max-conns=0", ['option "max-conns=0"', "from 1 to 1000000"]),
    ("?max-conns=abc", ['option "max-conns=abc"', "from 1 to 1000000"]),
    ("?max-conns=-3", ['option "max-conns=-3"', "from 1 to 1000000"]),
])
def test_bad_listener_option_exits_1(tdir, opts, says):
    sock = os.path.join(tdir, "a.sock")
    p = run_maglevd(tdir, f"unix:{sock}{opts}")
    assert p.returncode == 1, p.stderr
    errs = api_errors(p.stderr)
    assert errs and errs[0].startswith(f"unix:{sock}: "), p.stderr
    for s in says:
        assert s in errs[0], errs[0]
    assert not os.path.exists(sock) and not os.path.exists(sock + ".lock")


@pytest.mark.parametrize("args,env,says", [
    (["--grpc-max-connections", "0"], {}, '--grpc-max-connections "0"'),
    (["--grpc-max-connections", "many"], {}, '--grpc-max-connections "many"'),
    ([], {"MAGLEV_GRPC_MAX_CONNECTIONS": "-1"}, '--grpc-max-connections "-1"'),
    (["--grpc-idle-timeout", "5"], {}, '--grpc-idle-timeout "5"'),
    (["--grpc-handshake-timeout", "0s"], {}, '--grpc-handshake-timeout "0s"'),
    (["--grpc-handshake-timeout", "25h"], {}, '--grpc-handshake-timeout "25h"'),
])
def test_bad_limit_exits_2(tdir, args, env, says):
    sock = os.path.join(tdir, "a.sock")
    p = run_maglevd(tdir, f"unix:{sock}", *args, env=clean_env(**env))
    assert p.returncode == 2, p.stderr
    assert says in p.stderr and "not valid" in p.stderr, p.stderr
    assert not os.path.exists(sock)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    from test_api_tls import make_ca, make_cert
    d = str(tmp_path_factory.mktemp("pki"))
    make_ca(d, "ca")
    make_cert(d, "ca", "server", san="IP:127.0.0.1,DNS:localhost")
    return lambda name: os.path.join(d, name)


@pytest.mark.parametrize("opts", ["?ro", "?max-conns=3", "?ro&max-conns=3"])
def test_options_refused_on_tls_listener(tdir, pki, opts):
    sock = os.path.join(tdir, "a.sock")
    tcp = f"127.0.0.1:{free_port()}"
    p = run_maglevd(tdir, f"unix:{sock}?ro,{tcp}{opts}", "--grpc-tls-cert", pki("server.pem"),
                    "--grpc-tls-key", pki("server.key"), "--grpc-tls-client-ca", pki("ca.pem"))
    assert p.returncode == 1, p.stderr
    errs = api_errors(p.stderr)
    assert errs and errs[0].startswith(f"{tcp}: ?ro and ?max-conns are not supported on TLS "
                                       "listeners"), p.stderr
    assert not os.path.exists(sock) and not os.path.exists(sock + ".lock")
    with socket.socket() as s:  # the port was let go
        s.bind(("127.0.0.1", int(tcp.rsplit(":", 1)[1])))


def test_unix_read_only_listener_beside_tls(tdir, pki, daemons):
    """?ro stays fine on a unix listener when TCP listeners are TLS."""
    ro = os.path.join(tdir, "ro.sock")
    d = daemons(os.path.join(tdir, "maglev.yaml"), "--grpc-tls-cert", pki("server.pem"),
                "--grpc-tls-key", pki("server.key"), "--grpc-tls-client-ca", pki("ca.pem"),
                grpc_addr=f"unix:{ro}?ro,127.0.0.1:{free_port()}")
    assert "maglevd" in serves("unix:" + ro).stdout
    r = maglevc("unix:" + ro, "set", "backend", "b1", "pause")
    assert r.returncode == 1 and READ_ONLY_MSG.format("PauseBackend") in r.stderr, r.stderr
    assert d.state("b1") == "up"

