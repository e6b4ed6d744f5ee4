#!/usr/bin/python3
"""bench/api_flood.py: GetBackend latency of the real maglevd while N idle
API connections are held.

maglevd runs with a minimal config (one backend without healthcheck, so
nothing is probed), no VPP (--vpp-api-addr ""), a unix listener and a
loopback TCP listener, --grpc-max-connections 6000 and --grpc-idle-timeout
1h (so the idle timeout cannot cut the flood), under RLIMIT_NOFILE 65536
(or the hard limit when lower). One python grpc channel on the unix socket
makes 100 warm-up calls, then for each N (default 0, 1000, 5000 and the cap
maglevd logs in `fd-budget`, less the unix channel's connection), the bench
holds N idle connections to the TCP listener, each a real gRPC transport:
it sends the HTTP/2 preface and an empty SETTINGS frame, then acknowledges
the server's SETTINGS (which proves maglevd handed it to gRPC). The flood
grows from one N to the next. It checks that maglevd's descriptor count grew
by ~2N, then times --calls (2000) sequential GetBackend unary calls on the
unix channel, then calls for --window (1.2 s) back to back, so that at least
full pass of maglevd's connection sweep (a tenth of the held connections
every 100 ms, on its loop, where the calls are served) falls in them. Figures per N: p50, p99,
max of the 2000 calls, the longest call in the window (µs), maglevd's VmRSS,
descriptor count, and CPU over 2 s without calls. At the cap, one more TCP
connection must be closed at once. maglevd uses gRPC's poll poller unless
GRPC_POLL_STRATEGY is set (maglevd keeps it): `make bench-api-flood` runs
the bench twice, with maglevd's default and with GRPC_POLL_STRATEGY=epoll1.
Last, every flood connection is closed and the RSS after maglevd's sweep
(descriptors back to the baseline; malloc_trim when connections drop to a
quarter of their peak) is printed beside the RSS before the flood.

A benchmark, not a test: it prints figures and exits 0 (1 when a run could
not complete: maglevd died, connections were not held).
Usage: bench/api_flood.py [--conns 0,1000,5000,cap] [--calls 2000]
                          [--window 1.2] [--max-connections 6000]
"""
import argparse
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD", os.path.join(ROOT, "build"))
MAGLEVD = os.environ.get("MAGLEVD", os.path.join(BUILD, "src", "daemon", "maglevd"))
sys.path.insert(0, os.environ.get("PROTO_PY_DIR", os.path.join(BUILD, "proto")))
import grpc  # noqa: E402
import maglev_pb2 as pb  # noqa: E402

# tests/integration/lab.py MINIMAL_CONFIG: no healthcheck, nothing probed.
CONFIG = """maglev:
  backends:
    b1: {address: 192.0.2.10}
  frontends:
    web:
      address: 198.19.0.10
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends: {b1: {}}
  vpp:
    lb: {ipv4-src-address: 192.0.2.1, ipv6-src-address: "2001:db8::1"}
"""

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
SETTINGS_ACK = b"\x00\x00\x00\x04\x01\x00\x00\x00\x00"
WARMUP = 100


def nofile_target():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 65536 if hard == resource.RLIM_INFINITY else min(65536, hard)


def raise_nofile():
    want = nofile_target()
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
    except (ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def n_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pct(xs, p):
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def frames(buf):
    """(type, flags, payload) of the complete HTTP/2 frames in buf, rest."""
    out = []
    while len(buf) >= 9:
        ln = int.from_bytes(buf[:3], "big")
        if len(buf) < 9 + ln:
            break
        out.append((buf[3], buf[4], buf[9:9 + ln]))
        buf = buf[9 + ln:]
    return out, buf


def h2_handshake(s, timeout=5.0):
    """Reads the server's frames until its SETTINGS; acknowledges it (and any
    PING). True once acknowledged: the connection is a gRPC transport."""
    s.settimeout(timeout)
    buf = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            d = s.recv(4096)
        except (socket.timeout, OSError):
            return False
        if not d:
            return False
        fs, buf = frames(buf + d)
        for typ, flags, payload in fs:
            if typ == 6 and not flags & 1:
                s.sendall(b"\x00\x00\x08\x06\x01\x00\x00\x00\x00" + payload)
            if typ == 4 and not flags & 1:
                s.sendall(SETTINGS_ACK)
                return True
    return False


class Flood:
    """Idle HTTP/2 connections to maglevd's TCP listener."""

    def __init__(self, port):
        self.port = port
        self.socks = []

    def grow(self, n):
        """Up to n held connections: opens in batches (the connect completes
        in the listen queue; maglevd accepts 64 at a time), then finishes each
        one's HTTP/2 handshake. Returns the count that failed."""
        failed = 0
        while len(self.socks) < n:
            batch = []
            for _ in range(min(256, n - len(self.socks) - len(batch))):
                i = len(self.socks) + len(batch)
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                # spread the sources over 127.0.0.x: 250 ports each at most
                s.bind((f"127.0.0.{i % 250 + 2}", 0))
                s.connect(("127.0.0.1", self.port))
                s.sendall(PREFACE + SETTINGS)
                batch.append(s)
            for s in batch:
                if h2_handshake(s):
                    s.setblocking(False)
                    self.socks.append(s)
                else:
                    s.close()
                    failed += 1
            if failed:
                break
        return failed

    def close(self):
        for s in self.socks:
            s.close()
        self.socks = []


def over_cap_closed(port, timeout=3.0):
    """One more connection past the cap: maglevd should close it at once."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(PREFACE + SETTINGS)
        try:
            return s.recv(4096) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
    finally:
        s.close()


def time_calls(call, n=None, seconds=None):
    """n calls (or calls for `seconds`) back to back: sorted latencies, µs."""
    req = pb.GetBackendRequest(name="b1")
    lat = []
    end = time.perf_counter() + (seconds or 0)
    while (len(lat) < n) if n is not None else (time.perf_counter() < end):
        t = time.perf_counter_ns()
        r = call(req, timeout=10)
        lat.append((time.perf_counter_ns() - t) / 1000)
        assert r.name == "b1"
    lat.sort()
    return lat


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        x = f.read().rsplit(")", 1)[1].split()
    return (int(x[11]) + int(x[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu(pid, seconds):
    """maglevd's CPU share (% of one core) while no call is made."""
    c, t = cpu_s(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_s(pid) - c) / (time.monotonic() - t) * 100


def measure(p, call, calls, window):
    lat = time_calls(call, calls)
    win = time_calls(call, seconds=window)
    return dict(rss=rss_kb(p.pid), fds=n_fds(p.pid), p50=pct(lat, 0.50), p99=pct(lat, 0.99),
                max=lat[-1], wmax=win[-1], cpu=idle_cpu(p.pid, 2.0))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--conns", default="0,1000,5000,cap",
                    help="held connections per step, ascending; 'cap' = maglevd's logged cap "
                         "less the unix channel")
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--window", type=float, default=1.2,
                    help="seconds of back-to-back calls for the max/win column")
    ap.add_argument("--max-connections", type=int, default=6000,
                    help="maglevd's --grpc-max-connections")
    a = ap.parse_args()
    if not os.access(MAGLEVD, os.X_OK):
        sys.exit(f"api_flood: no maglevd at {MAGLEVD} (build first)")
    raise_nofile()
    tmp = tempfile.mkdtemp(prefix="maglev-apiflood-")
    cfg = os.path.join(tmp, "maglev.yaml")
    with open(cfg, "w") as f:
        f.write(CONFIG)
    sock = os.path.join(tmp, "maglevd.sock")
    port = free_port()
    p = subprocess.Popen([MAGLEVD, "--config", cfg, "--vpp-api-addr", "", "--log-format", "json",
                          "--grpc-addr", f"unix:{sock},127.0.0.1:{port}",
                          "--grpc-max-connections", str(a.max_connections),
                          "--grpc-idle-timeout", "1h"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         preexec_fn=raise_nofile)
    log = {"budget": None, "refused": 0, "warn": []}
    lock = threading.Lock()

    def reader():
        for line in p.stderr:
            try:
                r = json.loads(line)
            except ValueError:
                continue
            with lock:
                if r.get("msg") == "fd-budget":
                    log["budget"] = r
                elif r.get("msg") == "api-conn-refused":
                    log["refused"] += 1
                elif r.get("level") in ("warn", "error"):
                    log["warn"].append(r)
    threading.Thread(target=reader, daemon=True).start()

    flood = Flood(port)
    channel = None
    rows, failed = [], False
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(sock) or log["budget"] is None:
            if p.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"api_flood: maglevd did not start (rc {p.poll()})")
            time.sleep(0.05)
        # the TCP listener too
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit("api_flood: the TCP listener does not answer")
                time.sleep(0.05)
        cap = int(log["budget"]["api-max-connections"])
        steps = sorted({cap - 1 if x.strip() == "cap" else int(x) for x in a.conns.split(",")})
        channel = grpc.insecure_channel(f"unix:{sock}")
        call = channel.unary_unary("/maglev.Maglev/GetBackend",
                                   request_serializer=pb.GetBackendRequest.SerializeToString,
                                   response_deserializer=pb.Backend.FromString)
        time_calls(call, WARMUP)
        time.sleep(1.5)  # the probe connection above swept
        fd0, rss0 = n_fds(p.pid), rss_kb(p.pid)
        print(f"maglevd pid {p.pid}: nofile {log['budget'].get('nofile')}, "
              f"api-max-connections {cap}, poller "
              f"{os.environ.get('GRPC_POLL_STRATEGY') or 'poll (maglevd default)'}; baseline {fd0} fds, {rss0 / 1024:.1f} MiB RSS",
              flush=True)
        for n in steps:
            if n > cap - 1:
                print(f"api_flood: N={n} is over the cap {cap} less the unix channel; skipped",
                      file=sys.stderr)
                continue
            t = time.monotonic()
            bad = flood.grow(n)
            t_open = time.monotonic() - t
            if bad:
                print(f"api_flood: {bad} connections not held at N={n}", file=sys.stderr)
                failed = True
                break
            # maglevd's count settles (accept and hand-over are asynchronous)
            want = fd0 + 2 * n
            t = time.monotonic()
            while n_fds(p.pid) < want - 2 and time.monotonic() - t < 5:
                time.sleep(0.05)
            held = abs(n_fds(p.pid) - want) <= max(4, n // 100)
            failed = failed or not held
            r = measure(p, call, a.calls, a.window)
            r.update(n=n, want=want, held=held, t_open=t_open)
            rows.append(r)
            if p.poll() is not None:
                failed = True
                break
        if p.poll() is not None:
            print(f"api_flood: maglevd exited with {p.returncode}", file=sys.stderr)
            return 1
        over = None
        if rows and rows[-1]["n"] == cap - 1 and p.poll() is None:
            over = over_cap_closed(port)
        fd_peak, rss_peak = n_fds(p.pid), rss_kb(p.pid)
        flood.close()
        t = time.monotonic()
        while n_fds(p.pid) > fd0 and time.monotonic() - t < 5:
            time.sleep(0.05)
        t_back = time.monotonic() - t
        time.sleep(1.2)  # one more sweep: the trim runs after the last gone()
        after = measure(p, call, a.calls, a.window)
    finally:
        flood.close()
        if channel is not None:
            channel.close()
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"{'held conns':>10} {'open s':>7} {'maglevd fds':>12} {'RSS MiB':>8} "
          f"{'p50 µs':>8} {'p99 µs':>8} {'max µs':>8} {'max/win µs':>11} {'idle CPU %':>11}")

    def line(label, r, t_open="", mark=""):
        print(f"{label:>10} {t_open:>7} {r['fds']:>12} {r['rss'] / 1024:>8.1f} "
              f"{r['p50']:>8.0f} {r['p99']:>8.0f} {r['max']:>8.0f} {r['wmax']:>11.0f} "
              f"{r['cpu']:>11.1f}{mark}")
    for r in rows:
        line(r["n"], r, f"{r['t_open']:.2f}", "" if r["held"] else f" (expected ~{r['want']})")
    if rows:
        line("closed", after)
    print(f"RSS: before the flood {rss0 / 1024:.1f} MiB, at its peak {rss_peak / 1024:.1f} MiB "
          f"({fd_peak} fds), after closing {after['rss'] / 1024:.1f} MiB ({after['fds']} fds, "
          f"back to {fd0} in {t_back:.1f} s)")
    if over is not None:
        print(f"connection {cap + 1} (over the cap of {cap}, the unix channel included): "
              f"{'closed at once' if over else 'NOT closed'}; api-conn-refused logged "
              f"{log['refused']}x")
        failed = failed or not over
    for w in log["warn"]:
        if w.get("msg") != "api-conn-refused":
            print(f"maglevd {w.get('level')}: {w.get('msg')}", file=sys.stderr)
    print(f"p50/p99/max: {a.calls} sequential GetBackend calls on one python grpc channel over "
          f"the unix socket (after {WARMUP} warm-up calls); max/win: the longest call of "
          f"{a.window:g} s of back-to-back calls (so at least one full pass of maglevd's connection "
          f"sweep falls in it); idle CPU: maglevd over 2 s without calls. 'held conns': idle "
          f"HTTP/2 connections on the TCP listener, 2 maglevd descriptors each.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
