#!/usr/bin/python3
"""The demo lab for `make run`: three nginx backends in network namespaces of
their own (198.18.x.2 and 2001:db8:x::2, reachable only through the lab's hub
namespace), a maglev.yaml for them, vppsim (tools/vppsim, the stand-in VPP)
as the embedded dataplane, and maglevd in the foreground probing the
backends with HTTP, HTTPS, TCP and ICMP and programming vppsim's LB plugin.
Ctrl-C stops maglevd and vppsim and removes the lab. Needs root
(namespaces). While it runs, in another terminal:

    build/src/cli/maglevc --server unix:/run/vpp-maglev/demo.sock
    maglevc> show vpp lb state

Nothing leaves the machine: every probe goes to an address inside the lab.
"""
import os
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from lab import Lab  # noqa: E402


def demo_config(lab):
    b = lab.backends
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
    nginx1: {{address: {b[0].v4}, healthcheck: http}}
    nginx2: {{address: {b[1].v4}, healthcheck: http}}
    nginx3: {{address: {b[2].v4}, healthcheck: https}}
    nginx1-v6: {{address: "{b[0].v6}", healthcheck: tcp}}
    nginx2-v6: {{address: "{b[1].v6}", healthcheck: ping}}
    nginx3-v6: {{address: "{b[2].v6}", healthcheck: http}}
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


def main():
    if os.geteuid() != 0:
        sys.exit("demo: run as root (the lab creates network namespaces)")
    maglevd = os.environ.get("MAGLEVD", "build/src/daemon/maglevd")
    sock = os.environ.get("DEMO_GRPC", "unix:/run/vpp-maglev/demo.sock")
    with Lab(3) as lab:
        cfg = lab.write_config(demo_config(lab))
        vpp_sock = os.path.join(lab.dir, "vpp-api.sock")
        sim = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "vppsim", "vppsim.py"),
                                "--socket", vpp_sock, "--control",
                                os.path.join(lab.dir, "vpp-ctl.sock"), "--state-file",
                                os.path.join(lab.dir, "vpp-state.json")],
                               start_new_session=True)  # Ctrl-C is for maglevd: it stops first
        print(f"demo: lab up: hub netns {lab.hub}, backends "
              + ", ".join(f"{b.ns} ({b.v4}, {b.v6})" for b in lab.backends), flush=True)
        print(f"demo: config {cfg}; API {sock}; vppsim {vpp_sock}; Ctrl-C to stop", flush=True)
        b1 = lab.backends[0]
        print(f"demo: watch VPP follow health: maglevc --server {sock} watch events vpp frontend; "
              f"in another terminal stop a backend (kill -QUIT $(cat {b1.dir}/nginx.pid)) or "
              f"'maglevc --server {sock} set backend nginx1 disable', then "
              f"'maglevc --server {sock} show frontend web4'", flush=True)
        Lab.wait_for(lambda: os.path.exists(vpp_sock), "vppsim", timeout=10)
        p = subprocess.Popen([maglevd, "--config", cfg, "--grpc-addr", sock,
                              "--vpp-api-addr", vpp_sock, *sys.argv[1:]])
        try:
            p.wait()
        except KeyboardInterrupt:
            p.send_signal(signal.SIGTERM)
            p.wait()
        finally:
            sim.terminate()
            sim.wait()
    return p.returncode


if __name__ == "__main__":
    sys.exit(main())
