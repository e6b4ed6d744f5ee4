"""vppsim beside the nginx lab: start/stop it, read its state through its
control socket, wait for maglevd's syncs."""
import calendar
import os
import subprocess
import sys
import time

from lab import WAIT, Daemon, Lab

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VPPSIM_DIR = os.path.join(ROOT, "tools", "vppsim")
sys.path.insert(0, VPPSIM_DIR)
from control import Control  # noqa: E402


class VPPSim:
    """tools/vppsim/vppsim.py on a socket in the lab directory."""

    def __init__(self, directory, *args, name="vpp"):
        self.sock = os.path.join(directory, f"{name}-api.sock")
        self.ctl_path = os.path.join(directory, f"{name}-ctl.sock")
        self.state_file = os.path.join(directory, f"{name}-state.json")
        self.log = open(os.path.join(directory, f"{name}.log"), "w")
        for p in (self.sock, self.ctl_path):
            if os.path.exists(p):
                os.unlink(p)
        self.p = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(VPPSIM_DIR, "vppsim.py"), "--socket", self.sock,
             "--control", self.ctl_path, "--state-file", self.state_file, *args],
            stdout=self.log, stderr=subprocess.STDOUT)
        Lab.wait_for(lambda: os.path.exists(self.sock) and os.path.exists(self.ctl_path),
                     "vppsim sockets")
        self.ctl = Control(self.ctl_path)

    def call(self, cmd, **kw):
        return self.ctl.call(cmd, **kw)

    def state(self):
        return self.call("state")["state"]

    def vips(self):
        """{(prefix, protocol, port): vip} of the VIPs that are not deleted."""
        return {(v["prefix"], v["protocol"], v["port"]): v
                for v in self.state()["vips"] if not v["deleted"]}

    def received(self):
        return self.call("received")["received"]

    def journal(self, since=None, names=None):
        """The LB writes vppsim received (seq > since; only those names),
        oldest first: [{seq, time, generation, client, context, name,
        fields, retval, fault}] (tools/vppsim/README.md, Journal)."""
        kw = {}
        if since is not None:
            kw["since"] = since
        if names is not None:
            kw["names"] = list(names)
        return self.call("journal", **kw)["journal"]

    def journal_mark(self):
        """The last journal seq so far, for a later journal(since=...)."""
        return self.call("journal", since=1 << 62)["last"]

    def journal_clear(self):
        """Forget the journal; -> the last seq (seqs go on from there)."""
        return self.call("journal-clear")["last"]

    def fail(self, names, retval, count=None, **filters):
        """Answer the next `count` (None: all, until fail_clear) requests
        of `names` that match the filters (prefix=, port=, address=,
        is_del=) with `retval`, without applying them."""
        kw = dict(filters, names=list(names), retval=retval)
        if count is not None:
            kw["count"] = count
        return self.call("fail", **kw)["fails"]

    def fail_clear(self, names=None):
        return self.call("fail-clear", **({} if names is None else {"names": list(names)}))

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()


def active_ases(vip):
    """{address: (weight, num_buckets)} of a VIP's active ASes."""
    return {a["address"]: (a["weight"], a["num_buckets"]) for a in vip["ases"] if a["flags"] & 1}


WEB = ("198.19.0.10/32", 6, 80)
WEB6 = ("2001:db8:ff::10/128", 255, 0)


def lab_config(lab, with_web6=True, sticky=False, interval="2s"):
    """The VPP lab's maglev.yaml: frontend web (IPv4, tcp:80, pools primary
    b1 + b2 weight 50, fallback b3) and, unless with_web6 is false, web6
    (IPv6, all ports, b1v6 + b2v6 weight 25); no warm-up."""
    b = lab.backends
    web6 = f"""
    web6:
      address: "2001:db8:ff::10"
      pools:
        - name: only
          backends: {{b1v6: {{}}, b2v6: {{weight: 25}}}}
""" if with_web6 else ""
    return f"""maglev:
  healthchecker: {{netns: {lab.hub}}}
  healthchecks:
    tcp: {{type: tcp, port: 80, interval: 1s, timeout: 500ms}}
  backends:
    b1: {{address: {b[0].v4}, healthcheck: tcp}}
    b2: {{address: {b[1].v4}, healthcheck: tcp}}
    b3: {{address: {b[2].v4}, healthcheck: tcp}}
    b1v6: {{address: "{b[0].v6}", healthcheck: tcp}}
    b2v6: {{address: "{b[1].v6}", healthcheck: tcp}}
  frontends:
    web:
      address: 198.19.0.10
      protocol: tcp
      port: 80
      src-ip-sticky: {str(sticky).lower()}
      pools:
        - name: primary
          backends: {{b1: {{}}, b2: {{weight: 50}}}}
        - name: fallback
          backends: {{b3: {{}}}}
{web6}
  vpp:
    lb:
      ipv4-src-address: 198.19.0.1
      ipv6-src-address: "2001:db8:ffff::1"
      sync-interval: {interval}
      sticky-buckets-per-core: 4096
      flow-timeout: 30s
      startup-min-delay: 0s
      startup-max-delay: 0s
"""


def start_maglevd(config, sim, *args, level="debug"):
    return Daemon(config, "--vpp-api-addr", sim.sock, *args, level=level)


def wait_record(daemon, msg, after=0, timeout=WAIT, **fields):
    """The first `msg` record (with fields) after index `after` of
    daemon.records; returns (record, index after it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with daemon.lock:
            recs = list(enumerate(daemon.records))[after:]
        for i, r in recs:
            if r["msg"] == msg and all(r.get(k) == v for k, v in fields.items()):
                return r, i + 1
        if daemon.p.poll() is not None:
            break
        time.sleep(0.02)
    raise AssertionError(f"no {msg} {fields} within {timeout}s after record {after}; "
                         f"last records: {daemon.records[-10:]}")


def wait_synced(daemon, after=0, timeout=WAIT, **fields):
    """The first vpp-lbsync-done record (with fields) after index `after`."""
    return wait_record(daemon, "vpp-lbsync-done", after, timeout, **fields)


def log_time(rec):
    """A record's time (the log's UTC wall clock, ms) as seconds since the epoch."""
    t = rec["time"]  # 2026-12-04T14:58:05.020Z
    secs = calendar.timegm(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S"))
    return secs + int(t[20:23]) / 1000.0


def mark(daemon):
    with daemon.lock:
        return len(daemon.records)


def rpc(ch, method, req, resp_type):
    """A unary call of maglev.Maglev on channel ch (waits for it to be ready)."""
    f = ch.unary_unary(f"/maglev.Maglev/{method}", request_serializer=req.SerializeToString,
                       response_deserializer=resp_type.FromString)
    return f(req, timeout=WAIT, wait_for_ready=True)
