#!/usr/bin/python3
"""bench/startup.py: the real maglevd bringing N http-checked backends up
from unknown, with VPP (vppsim) following every transition.

N backends (default 1,000 and 10,000, in N/10 frontends of 10 backends,
two pools) are loopback addresses 127.1.x.y, all answered by one nginx
this program starts (listening on 0.0.0.0:PORT, `return 200`), so every
backend answers every probe. maglevd runs as a process with an http
healthcheck (interval 1 s, fast-interval 200 ms, rise 2, fall 3, timeout
1 s) and no warm-up, programming vppsim. Figures per N, side by side:

  - time from maglevd's start until every backend is up (its logs);
  - spurious transitions: any transition to `down` (there should be none:
    every backend answers);
  - maglevd CPU (utime + stime from /proc) until then, and per transition;
  - VPP: targeted changes logged (vpp-lbsync-done scope=vip) and
    lb_as_set_weight requests vppsim received, and whether vppsim's final
    weights are the configured ones.

The transitions' cost must not grow with N (the old design looked every
backend up by name on each transition: 1-2 ms each at 10,000). A
benchmark, not a test: it prints figures and exits 0 (1 only when a run
could not complete). Run as root (RLIMIT_NOFILE); needs nginx.
Usage: bench/startup.py [--sizes 1000,10000] [--timeout 120]
"""
import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools", "vppsim"))
from control import Control  # noqa: E402

MAGLEVD = os.environ.get("MAGLEVD", os.path.join(ROOT, "build", "src", "daemon", "maglevd"))
VPPSIM = os.path.join(ROOT, "tools", "vppsim", "vppsim.py")
PORT = 18080
PER_FE = 10

NGINX_CONF = """
worker_processes 2;
pid {dir}/nginx.pid;
error_log {dir}/error.log crit;
daemon off;
worker_rlimit_nofile 65536;
events {{ worker_connections 16384; }}
http {{
    access_log off;
    client_body_temp_path {dir}/tmp;
    proxy_temp_path {dir}/tmp;
    fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp;
    scgi_temp_path {dir}/tmp;
    server {{ listen {port} reuseport backlog=8192; location / {{ return 200 "ok\\n"; }} }}
}}
"""


def addr(i):
    return f"127.1.{i // 250}.{i % 250 + 1}"


def config(n):
    lines = ["maglev:", "  healthchecks:",
             "    http: {type: http, port: %d, params: {path: /}, interval: 1s, fast-interval: 200ms,"
             " rise: 2, fall: 3, timeout: 1s}" % PORT, "  backends:"]
    lines += [f"    b{i}: {{address: {addr(i)}, healthcheck: http}}" for i in range(n)]
    lines.append("  frontends:")
    for f in range(n // PER_FE):
        bs = [f"b{f * PER_FE + k}" for k in range(PER_FE)]
        lines += [f"    fe{f}:", f"      address: 198.19.{f // 250}.{f % 250 + 1}",
                  "      protocol: tcp", "      port: 80", "      pools:",
                  "        - name: primary",
                  "          backends: {" + ", ".join(f"{b}: {{}}" for b in bs[:7]) + "}",
                  "        - name: backup",
                  "          backends: {" + ", ".join(f"{b}: {{}}" for b in bs[7:]) + "}"]
    lines += ["  vpp:", "    lb:", "      ipv4-src-address: 198.19.255.1",
              "      ipv6-src-address: 2001:db8::1", "      sync-interval: 1h",
              "      startup-min-delay: 0s", "      startup-max-delay: 0s"]
    return "\n".join(lines) + "\n"


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        x = f.read().rsplit(")", 1)[1].split()
    return (int(x[11]) + int(x[12])) / os.sysconf("SC_CLK_TCK")


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536 if hard == resource.RLIM_INFINITY else min(65536, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def run(n, tmp, timeout):
    d = os.path.join(tmp, f"n{n}")
    os.makedirs(os.path.join(d, "tmp"))
    cfg = os.path.join(d, "maglev.yaml")
    with open(cfg, "w") as f:
        f.write(config(n))
    sock, ctl = os.path.join(d, "vpp.sock"), os.path.join(d, "vpp-ctl.sock")
    sim = subprocess.Popen([sys.executable, VPPSIM, "--socket", sock, "--control", ctl],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not (os.path.exists(sock) and os.path.exists(ctl)):
        time.sleep(0.05)
    t0 = time.monotonic()
    p = subprocess.Popen([MAGLEVD, "--config", cfg, "--grpc-addr", "", "--vpp-api-addr", sock,
                          "--log-format", "json"], stderr=subprocess.PIPE, text=True,
                         preexec_fn=raise_nofile)
    st = {"up": set(), "down": 0, "transitions": 0, "vip_done": 0, "as_weight": 0,
          "t_up": None, "cpu_up": None, "connect": False}
    lock = threading.Lock()

    def reader():
        for line in p.stderr:
            try:
                r = json.loads(line)
            except ValueError:
                continue
            with lock:
                if r.get("msg") == "backend-transition":
                    st["transitions"] += 1
                    if r.get("to") == "up":
                        st["up"].add(r["backend"])
                    elif r.get("to") == "down":
                        st["down"] += 1
                        st["up"].discard(r["backend"])
                    if len(st["up"]) == n and st["t_up"] is None:
                        st["t_up"] = time.monotonic() - t0
                        st["cpu_up"] = cpu_s(p.pid)
                elif r.get("msg") == "vpp-lbsync-done":
                    if r.get("scope") == "vip":
                        st["vip_done"] += 1
                        st["as_weight"] += r.get("as-weight", 0)
                    elif r.get("trigger") == "connect":
                        st["connect"] = True
    th = threading.Thread(target=reader, daemon=True)
    th.start()
    deadline = t0 + timeout
    while time.monotonic() < deadline:
        with lock:
            if st["t_up"] is not None:
                break
        if p.poll() is not None:
            break
        time.sleep(0.1)
    if p.poll() is not None:
        print(f"startup: maglevd exited with {p.returncode} (n={n})", file=sys.stderr)
    time.sleep(2)  # the last VPP replies; then spurious downs would show
    ok = st["t_up"] is not None
    received = Control(ctl).call("received")["received"]
    state = Control(ctl).call("state")["state"]
    full = sum(1 for v in state["vips"] if not v["deleted"] for a in v["ases"]
               if a["flags"] & 1 and a["weight"] == 100)
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)
    sim.terminate()
    sim.wait()
    res = dict(n=n, ok=ok, t_up=st["t_up"], cpu=st["cpu_up"], transitions=st["transitions"],
               down=st["down"], vip_done=st["vip_done"], as_weight=st["as_weight"],
               set_weight=received.get("lb_as_set_weight", 0), ases_at_100=full,
               primaries=n // PER_FE * 7)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args()
    if not shutil.which("nginx"):
        sys.exit("startup: needs nginx")
    raise_nofile()
    tmp = tempfile.mkdtemp(prefix="maglev-startup-")
    with open(os.path.join(tmp, "nginx.conf"), "w") as f:
        f.write(NGINX_CONF.format(dir=tmp, port=PORT))
    os.makedirs(os.path.join(tmp, "tmp"))
    ngx = subprocess.Popen(["nginx", "-c", os.path.join(tmp, "nginx.conf"), "-p", tmp],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    rows, failed = [], False
    try:
        for n in (int(x) for x in a.sizes.split(",")):
            r = run(n, tmp, a.timeout)
            rows.append(r)
            failed = failed or not r["ok"]
    finally:
        ngx.send_signal(signal.SIGQUIT)
        ngx.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{'backends':>9} {'all up':>8} {'down':>5} {'trans.':>7} {'CPU s':>7} "
          f"{'µs/trans.':>10} {'VIP chg':>8} {'set_weight':>10} {'ASes=100':>9}")
    for r in rows:
        per = r["cpu"] / r["transitions"] * 1e6 if r["cpu"] and r["transitions"] else 0
        t = f"{r['t_up']:.2f}s" if r["t_up"] is not None else "timeout"
        print(f"{r['n']:>9} {t:>8} {r['down']:>5} {r['transitions']:>7} "
              f"{(r['cpu'] or 0):>7.2f} {per:>10.1f} {r['vip_done']:>8} {r['set_weight']:>10} "
              f"{r['ases_at_100']:>6}/{r['primaries']}")
    print("CPU per transition is maglevd's whole CPU until all are up (probes, logs, VPP "
          "changes included) divided by the transitions; it should not grow with N. "
          "Target (issue): no spurious down transition.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
