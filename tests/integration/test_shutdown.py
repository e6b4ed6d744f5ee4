"""SIGTERM with probes of every type in flight stops maglevd cleanly: exit 0,
no memory errors, nothing definitely or indirectly lost, no descriptor left
open (valgrind's memcheck and --track-fds)."""
import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from lab import MAGLEVD, Lab, is_root

pytestmark = [
    pytest.mark.skipif(not is_root(), reason="the lab needs root (namespaces)"),
    pytest.mark.skipif(not shutil.which("valgrind"), reason="valgrind not installed"),
]


def test_sigterm_under_valgrind():
    with Lab(1) as lab:
        b = lab.backends[0]
        cfg = lab.write_config(f"""maglev:
  healthchecker: {{netns: {lab.hub}}}
  healthchecks:
    http: {{type: http, interval: 500ms, timeout: 500ms, params: {{path: /healthz, response-regex: ok}}}}
    https: {{type: https, interval: 500ms, timeout: 500ms, params: {{tls-insecure: true}}}}
    tcp: {{type: tcp, port: 80, interval: 500ms, timeout: 500ms}}
    icmp: {{type: icmp, interval: 500ms, timeout: 500ms}}
    dead: {{type: tcp, port: 81, interval: 500ms, timeout: 500ms}}
  backends:
    h: {{address: {b.v4}, healthcheck: http}}
    s: {{address: "{b.v6}", healthcheck: https}}
    t: {{address: {b.v4}, healthcheck: tcp}}
    i4: {{address: {b.v4}, healthcheck: icmp}}
    i6: {{address: "{b.v6}", healthcheck: icmp}}
    d: {{address: {b.v4}, healthcheck: dead}}
  vpp:
    lb: {{ipv4-src-address: 192.0.2.1, ipv6-src-address: "2001:db8::1"}}
""")
        vlog = os.path.join(lab.dir, "valgrind.log")
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAGLEV_")}
        p = subprocess.Popen(["valgrind", "--leak-check=full", "--show-leak-kinds=definite,indirect",
                              "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99",
                              "--track-fds=yes", f"--log-file={vlog}",
                              MAGLEVD, "--config", cfg, "--log-format", "json",
                              "--grpc-addr", ""],
                             stderr=subprocess.PIPE, text=True, env=env)
        # (valgrind makes maglevd some 20 times slower, a busy machine more:
        # generous timeouts, a probe every 500 ms, 3 minutes to start)
        ups = set()
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and len(ups) < 5:
            line = p.stderr.readline()
            if not line:
                break
            if '"msg":"backend-transition"' in line and '"to":"up"' in line:
                ups.add(re.search(r'"backend":"([^"]+)"', line).group(1))
        assert ups == {"h", "s", "t", "i4", "i6"}, ups
        time.sleep(0.3)  # probes of every kind in flight
        p.send_signal(signal.SIGTERM)
        p.stderr.read()
        rc = p.wait(timeout=180)
        log = open(vlog).read()
        assert rc == 0, log
        assert "ERROR SUMMARY: 0 errors" in log, log
        assert re.search(r"definitely lost: 0 bytes", log) or "All heap blocks were freed" in log, log
        # at exit only stdin/stdout/stderr (and what valgrind inherited) may be open
        m = re.search(r"FILE DESCRIPTORS: (\d+) open(?: \((\d+) std\))?", log)
        assert m, log
        opened, std = int(m.group(1)), int(m.group(2) or 3)
        inherited = log.count("<inherited from parent>")
        assert opened - std - inherited == 0, log


def test_sigterm_with_api_calls_and_streams_in_flight(tmp_path):
    """With event streams open and calls being made, SIGTERM stops maglevd
    promptly and cleanly under valgrind; the socket and lock are released so
    a new maglevd can take the same path at once."""
    import sys
    import threading
    import grpc
    sys.path.insert(0, os.environ.get("PROTO_PY_DIR", "build/proto"))
    import maglev_pb2 as pb
    cfg = tmp_path / "maglev.yaml"
    cfg.write_text("""maglev:
  backends: {a: {address: 192.0.2.10}, b: {address: 192.0.2.11}}
  frontends:
    f: {address: 198.19.0.1, protocol: tcp, port: 80, pools: [{name: p, backends: {a: {}, b: {}}}]}
  vpp: {lb: {ipv4-src-address: 198.19.0.2, ipv6-src-address: "2001:db8::1"}}
""")
    sock = tmp_path / "run" / "maglevd.sock"
    vlog = tmp_path / "valgrind.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAGLEV_")}
    p = subprocess.Popen(["valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite",
                          "--error-exitcode=99", f"--log-file={vlog}", MAGLEVD,
                          "--config", str(cfg), "--grpc-addr", f"unix:{sock}"],
                         stderr=subprocess.PIPE, text=True, env=env)
    line = ""
    while "api-listening" not in line:
        line = p.stderr.readline()
        assert line, "maglevd exited"
    assert oct(os.stat(sock).st_mode & 0o777) == "0o660"
    assert oct(os.stat(sock.parent).st_mode & 0o777) == "0o750"
    # a second maglevd must not steal the socket
    second = subprocess.run([MAGLEVD, "--config", str(cfg), "--grpc-addr", f"unix:{sock}"],
                            capture_output=True, text=True, env=env, timeout=30)
    assert second.returncode == 1 and "lock" in second.stderr, second.stderr
    ch = grpc.insecure_channel(f"unix:{sock}")
    watch = ch.unary_stream("/maglev.Maglev/WatchEvents",
                            request_serializer=pb.WatchEventsRequest.SerializeToString,
                            response_deserializer=pb.Event.FromString)
    # streams that would last 10 minutes: a shutdown waiting for them
    # instead of cancelling them could not pass for a slow one
    streams = [watch(pb.WatchEventsRequest(), timeout=600) for _ in range(3)]
    for s in streams:
        next(s)
    stop = threading.Event()

    def hammer():
        get = ch.unary_unary("/maglev.Maglev/ListFrontends",
                             request_serializer=pb.ListFrontendsRequest.SerializeToString,
                             response_deserializer=pb.ListFrontendsResponse.FromString)
        while not stop.is_set():
            try:
                get(pb.ListFrontendsRequest(), timeout=5)
            except grpc.RpcError:
                pass
    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    p.stderr.read()
    rc = p.wait(timeout=300)
    elapsed = time.monotonic() - t0
    stop.set()
    for t in threads:
        t.join()
    codes = set()
    for s in streams:
        try:
            for _ in s:
                pass
        except grpc.RpcError as e:
            codes.add(e.code())
    ch.close()
    log = vlog.read_text()
    assert rc == 0, log
    assert "ERROR SUMMARY: 0 errors" in log, log
    # natively milliseconds; valgrind's exit (its leak check) on a busy
    # machine tens of seconds; waiting for the streams' deadline 10 minutes
    assert elapsed < 120, elapsed
    assert codes <= {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED}, codes
    assert not sock.exists()
    # the path is free again
    third = subprocess.Popen([MAGLEVD, "--config", str(cfg), "--grpc-addr", f"unix:{sock}"],
                             stderr=subprocess.PIPE, text=True, env=env)
    line = ""
    while "api-listening" not in line:
        line = third.stderr.readline()
        assert line, "the restarted maglevd exited"
    third.send_signal(signal.SIGTERM)
    assert third.wait(timeout=10) == 0


def test_sigterm_with_vpp_requests_in_flight():
    """Connected to vppsim, a full sync's requests waiting for slow replies:
    SIGTERM still stops maglevd at once and cleanly under valgrind (pending
    requests failed, the socket closed, nothing lost)."""
    from vpplab import VPPSim
    with Lab(1) as lab:
        b = lab.backends[0]
        sim = VPPSim(lab.dir)
        try:
            sim.call("delay", seconds=2)
            cfg = lab.write_config(f"""maglev:
  backends:
    a: {{address: {b.v4}}}
    c: {{address: "{b.v6}"}}
  frontends:
    web: {{address: 198.19.0.10, protocol: tcp, port: 80, pools: [{{name: p, backends: {{a: {{}}}}}}]}}
    web6: {{address: "2001:db8:ff::10", pools: [{{name: p, backends: {{c: {{}}}}}}]}}
  vpp:
    lb: {{ipv4-src-address: 192.0.2.1, ipv6-src-address: "2001:db8::1",
          startup-min-delay: 0s, startup-max-delay: 0s}}
""")
            vlog = os.path.join(lab.dir, "valgrind-vpp.log")
            env = {k: v for k, v in os.environ.items() if not k.startswith("MAGLEV_")}
            p = subprocess.Popen(["valgrind", "--leak-check=full",
                                  "--show-leak-kinds=definite,indirect",
                                  "--errors-for-leak-kinds=definite,indirect",
                                  "--error-exitcode=99", "--track-fds=yes", f"--log-file={vlog}",
                                  MAGLEVD, "--config", cfg, "--log-format", "json",
                                  "--grpc-addr", "", "--vpp-api-addr", sim.sock],
                                 stderr=subprocess.PIPE, text=True, env=env)
            deadline = time.monotonic() + 180
            started = False
            while time.monotonic() < deadline and not started:
                line = p.stderr.readline()
                if not line:
                    break
                started = '"msg":"vpp-lbsync-start"' in line
            assert started
            time.sleep(0.5)  # the reads are sent, their replies held back by vppsim
            t0 = time.monotonic()
            p.send_signal(signal.SIGTERM)
            rest = [json.loads(line) for line in p.stderr]
            rc = p.wait(timeout=180)
            elapsed = time.monotonic() - t0
            log = open(vlog).read()
            assert rc == 0, log
            # at once: the sync's requests were cancelled, not answered nor
            # timed out (either would end the sync with a record: done, or
            # failed after maglevd's 5 s request timeout)
            msgs = [r["msg"] for r in rest]
            assert "maglevd-stop" in msgs, msgs
            assert "vpp-lbsync-done" not in msgs and "vpp-lbsync-failed" not in msgs, rest
            assert elapsed < 120, elapsed  # natively milliseconds
            assert "ERROR SUMMARY: 0 errors" in log, log
            assert re.search(r"definitely lost: 0 bytes", log) or \
                "All heap blocks were freed" in log, log
            m = re.search(r"FILE DESCRIPTORS: (\d+) open(?: \((\d+) std\))?", log)
            assert m, log
            opened, std = int(m.group(1)), int(m.group(2) or 3)
            assert opened - std - log.count("<inherited from parent>") == 0, log
            assert "lb_conf_get" in sim.received()
        finally:
            sim.stop()
