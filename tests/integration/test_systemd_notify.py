"""maglevd driven as systemd drives a Type=notify unit: a NOTIFY_SOCKET of
the test (a datagram socket) and WATCHDOG_USEC. READY once the listeners
are up, STATUS, RELOADING (with MONOTONIC_USEC) then READY around a SIGHUP
reload (a bad one too), STOPPING on SIGTERM, and watchdog pings that stop
while the loop cannot turn (SIGSTOP) and come back after SIGCONT."""
import os
import signal
import socket
import subprocess
import time

import pytest

from lab import MAGLEVD, MINIMAL_CONFIG, Lab


class Notify:
    """The test's end of NOTIFY_SOCKET: every datagram, with its arrival time."""

    def __init__(self, path):
        self.path = path
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.bind(path)
        self.msgs = []

    def drain(self, seconds):
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            self.s.settimeout(left)
            try:
                self.msgs.append((time.monotonic(), self.s.recv(4096).decode()))
            except socket.timeout:
                return

    def wait(self, pred, what, timeout=20.0, start=0):
        """The index of the first message from start with pred(text)."""
        deadline = time.monotonic() + timeout
        while True:
            for i in range(start, len(self.msgs)):
                if pred(self.msgs[i][1]):
                    return i
            if time.monotonic() >= deadline:
                raise AssertionError(f"no {what} in {[m for _, m in self.msgs[start:]]}")
            self.drain(0.1)

    def close(self):
        self.s.close()


@pytest.fixture
def unit(tmp_path):
    cfg = tmp_path / "maglev.yaml"
    cfg.write_text(MINIMAL_CONFIG)
    n = Notify(str(tmp_path / "notify.sock"))
    sock = tmp_path / "api" / "maglevd.sock"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAGLEV_")}
    env.update(NOTIFY_SOCKET=n.path, WATCHDOG_USEC="400000")
    log = open(tmp_path / "maglevd.log", "w")
    p = subprocess.Popen([MAGLEVD, "--config", str(cfg), "--vpp-api-addr", "",
                          "--grpc-addr", f"unix:{sock}"], env=env, stderr=log)
    p.cfg, p.sock, p.notify, p.logpath = cfg, sock, n, tmp_path / "maglevd.log"
    yield p
    if p.poll() is None:
        p.send_signal(signal.SIGCONT)
        p.kill()
    p.wait(timeout=10)
    log.close()
    n.close()


def is_ready(m):
    return "READY=1" in m.split("\n")


def test_ready_after_listeners_status_and_stopping(unit):
    n = unit.notify
    i = n.wait(is_ready, "READY=1")
    # READY means the API listens: the socket answers at once
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
        c.connect(str(unit.sock))
    status = [m for _, m in n.msgs[:i + 1] if m.startswith("STATUS=")]
    assert status, n.msgs
    # the checker's watchdog last: "ok", or "degraded (...)" should this
    # busy machine have started a probe later than its interval
    assert status[-1].startswith("STATUS=backends up 1/1, frontends 1, VPP disabled, checker "), \
        status
    unit.send_signal(signal.SIGTERM)
    assert unit.wait(timeout=20) == 0
    n.drain(0.3)
    texts = [m for _, m in n.msgs]
    assert "STOPPING=1" in texts, texts
    # nothing claims readiness after STOPPING
    assert not any(is_ready(m) for m in texts[texts.index("STOPPING=1"):]), texts


def test_reload_reloading_then_ready(unit):
    n = unit.notify
    i = n.wait(is_ready, "READY=1")
    t0 = time.monotonic_ns() // 1000
    unit.send_signal(signal.SIGHUP)
    j = n.wait(lambda m: m.startswith("RELOADING=1"), "RELOADING=1", start=i + 1)
    fields = dict(line.split("=", 1) for line in n.msgs[j][1].split("\n"))
    # MONOTONIC_USEC is CLOCK_MONOTONIC, taken when the reload began
    assert t0 <= int(fields["MONOTONIC_USEC"]) <= time.monotonic_ns() // 1000, fields
    n.wait(is_ready, "READY=1 after the reload", start=j + 1)
    assert "msg=config-reloaded" in open(unit.logpath).read()
    # a bad config: refused, the daemon runs on and says READY again
    unit.cfg.write_text("maglev: [not, a, map\n")
    unit.send_signal(signal.SIGHUP)
    k = n.wait(lambda m: m.startswith("RELOADING=1"), "second RELOADING=1", start=j + 1)
    n.wait(is_ready, "READY=1 after the refused reload", start=k + 1)
    assert unit.poll() is None
    assert "msg=config-reload-failed" in open(unit.logpath).read()


def stopped(pid):
    """Every thread of the process is parked by SIGSTOP (state T)."""
    states = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            states.append(f.read().rsplit(")", 1)[1].split()[0])
    return all(st == "T" for st in states)


def test_watchdog_pings_stop_while_the_loop_is_stopped(unit):
    n = unit.notify
    i = n.wait(is_ready, "READY=1")
    # WATCHDOG_USEC=400000: a ping every 200 ms (waited for, not counted in
    # a fixed time: a busy machine delays them)
    j = n.wait(lambda m: m == "WATCHDOG=1", "a watchdog ping", start=i + 1)
    n.wait(lambda m: m == "WATCHDOG=1", "a second watchdog ping", start=j + 1)
    unit.send_signal(signal.SIGSTOP)
    # once stopped, no ping can be under way any more: what was sent is in
    # the socket's queue, drained here
    Lab.wait_for(lambda: stopped(unit.pid), "maglevd stopped")
    n.drain(0.1)
    before = len(n.msgs)
    n.drain(1.5)
    assert [m for _, m in n.msgs[before:] if m == "WATCHDOG=1"] == [], n.msgs[before:]
    unit.send_signal(signal.SIGCONT)
    n.wait(lambda m: m == "WATCHDOG=1", "a ping after SIGCONT", start=before)


def test_no_notify_socket_no_watchdog_log(tmp_path):
    """Without NOTIFY_SOCKET maglevd runs the same and says nothing of a watchdog."""
    cfg = tmp_path / "maglev.yaml"
    cfg.write_text(MINIMAL_CONFIG)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MAGLEV_") and k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    p = subprocess.Popen([MAGLEVD, "--config", str(cfg), "--vpp-api-addr", "",
                          "--grpc-addr", f"unix:{tmp_path}/m.sock"], env=env,
                         stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not os.path.exists(f"{tmp_path}/m.sock") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert os.path.exists(f"{tmp_path}/m.sock")
    finally:
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=20)
    assert p.returncode == 0, err
    assert "watchdog-enabled" not in err
