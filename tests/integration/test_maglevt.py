"""maglevt, the VIP tester, against real nginx backends in namespaces (no
VPP, no maglevd): each backend's address is a TARGET of its own, and nginx
names itself in an X-Backend header (lab.py).

A backend stopped mid-run and started again appears as a gap, one stopped
for good as gone and out of the recent share; the requests of a stopped
backend's target fail as connect refused; each backend's count in the
summary equals the requests in its nginx access log. Every wait is bounded
by WAIT; the assertions are about counts and the order of events, never
durations.
"""
import json
import os
import signal
import subprocess
import threading

import pytest

from lab import MAGLEVD, WAIT, Lab, is_root

MAGLEVT = os.environ.get("MAGLEVT") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(MAGLEVD))), "tester", "maglevt")

needs_root = pytest.mark.skipif(not is_root(), reason="the lab needs root (namespaces)")


@pytest.fixture(scope="module")
def lab():
    with Lab(3) as lab:
        yield lab


def requests_logged(backend, since):
    """maglevt's requests in the backend's access log after line `since`."""
    return sum(1 for line in backend.access_log()[since:] if '"maglevt/' in line)


class Maglevt:
    """maglevt in the lab's hub namespace: the summary (--json) on stdout,
    the live view's plain lines on stderr, read as they come."""

    def __init__(self, lab, *args):
        self.lines = []
        self.cond = threading.Condition()
        self.p = subprocess.Popen(["ip", "netns", "exec", lab.hub, MAGLEVT, *args],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.p.stderr:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()

    def wait_line(self, pred, what, start=0):
        """The index of the first line from `start` on that satisfies pred."""
        with self.cond:
            ok = self.cond.wait_for(
                lambda: any(pred(x) for x in self.lines[start:]) or self.p.poll() is not None,
                timeout=WAIT)
            for i in range(start, len(self.lines)):
                if pred(self.lines[i]):
                    return i
        raise AssertionError(f"maglevt: no line {what} (exited: {not ok or self.p.poll()}); "
                             f"last lines: {self.lines[-10:]}")

    def stop(self):
        self.p.send_signal(signal.SIGINT)
        out, _ = self.p.communicate(timeout=WAIT)
        self.reader.join(timeout=5)
        return self.p.returncode, out


@needs_root
def test_failover_timeline(lab):
    b1, b2, b3 = lab.backends
    since = [len(b.access_log()) for b in lab.backends]
    t = Maglevt(lab, "--json", "--interval", "100ms", "--timeout", "5s", "--window", "2s",
               f"http://{b1.v4}/", f"http://{b2.v4}/", f"http://[{b3.v6}]/")
    try:
        for b in ("b1", "b2", "b3"):
            t.wait_line(lambda x, b=b: x.endswith(f"{b} first seen"), f"{b} first seen")
        b2.stop_nginx()
        i_missing = t.wait_line(lambda x: "b2 missing since" in x, "b2 missing")
        b2.start_nginx()
        i_back = t.wait_line(lambda x: "b2 back after a gap" in x, "b2 back", i_missing)
        b3.stop_nginx()
        i_gone = t.wait_line(lambda x: "b3 missing since" in x, "b3 missing", i_back)
        # out of the recent share (2s): a status line shows it at 0 %
        t.wait_line(lambda x: " sent " in x and " b3 0.0%" in x and " b1 " in x,
                    "with b3 at 0.0%", i_gone)
    finally:
        rc, out = t.stop()
        b3.start_nginx()  # for the other tests of the module
    assert rc == 1, out  # some requests failed
    s = json.loads(out)
    by_name = {b["name"]: b for b in s["backends"]}
    assert sorted(by_name) == ["b1", "b2", "b3"]
    assert [len(by_name[n]["gaps"]) for n in ("b1", "b2", "b3")] == [0, 1, 0]
    assert [by_name[n]["gone"] for n in ("b1", "b2", "b3")] == [False, False, True]
    gap = by_name["b2"]["gaps"][0]
    assert gap["rounds"] >= 3 and gap["length_us"] > 0
    # in order: b2's gap, then b3 gone
    assert gap["start_us"] + gap["length_us"] <= by_name["b3"]["gone_since_us"]
    assert by_name["b3"]["recent_share"] == 0
    assert s["global_gaps"] == []

    t1, t2, t3 = s["targets"]
    assert t1["failed"] == 0
    for tt in (t2, t3):  # a stopped nginx: connect refused (a connection
        # caught in nginx's accept queue as it closed may be reset)
        assert tt["errors"]["refused"] >= 1, tt
        assert tt["failed"] == tt["errors"]["refused"] + tt["errors"]["reset"], tt
        assert tt["requests"] == tt["ok"] + tt["failed"]
    assert s["requests"] == sum(tt["requests"] for tt in s["targets"])
    assert s["failed"] == t2["failed"] + t3["failed"]

    # each backend's count is what its nginx logged
    for b, start in zip(lab.backends, since):
        assert by_name[b.name]["answers"] == requests_logged(b, start), b.name
    assert by_name["b1"]["answers"] == t1["ok"]


@needs_root
def test_duration_https_and_exit_codes(lab):
    b1 = lab.backends[0]
    run = ["ip", "netns", "exec", lab.hub, MAGLEVT]
    # plain text, no failures: exit 0
    r = subprocess.run(run + ["--quiet", "--duration", "1s", f"http://{b1.v4}/"],
                       capture_output=True, text=True, timeout=WAIT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert ", 0 failed" in r.stdout and "\nb1 " in r.stdout, r.stdout
    # https with the lab's self-signed certificate: a TLS error, exit 1 ...
    r = subprocess.run(run + ["--quiet", "--json", "--duration", "500ms", f"https://{b1.v4}/"],
                       capture_output=True, text=True, timeout=WAIT)
    assert r.returncode == 1, r.stdout + r.stderr
    s = json.loads(r.stdout)
    assert s["requests"] >= 1 and s["errors"]["tls"] == s["requests"] == s["failed"], s
    # ... and with --insecure the answer names b1; the backend from a body regex
    r = subprocess.run(run + ["--quiet", "--json", "--duration", "500ms", "--insecure",
                              "--body-regex", "^(b[0-9]+)$", f"https://{b1.v4}/"],
                       capture_output=True, text=True, timeout=WAIT)
    assert r.returncode == 0, r.stdout + r.stderr
    s = json.loads(r.stdout)
    assert [b["name"] for b in s["backends"]] == ["b1"]
    assert s["backends"][0]["answers"] == s["requests"] >= 1


def test_usage_errors():
    for args, says in ((["--interval", "soon", "http://192.0.2.1/"], '--interval "soon"'),
                       (["http://example.com/"], '"example.com" is not an IPv4 address'),
                       ([], "no TARGET")):
        r = subprocess.run([MAGLEVT, *args], capture_output=True, text=True, timeout=WAIT)
        assert r.returncode == 2 and says in r.stderr, (args, r.stderr)
