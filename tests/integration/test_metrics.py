"""The Prometheus metrics endpoint (--metrics-addr) with real parts:
maglevd probing nginx backends in network namespaces and syncing vppsim,
its scrape checked by `promtool check metrics`, and a real Prometheus
server (/usr/bin/prometheus, on loopback, a free port, a temporary storage
directory) scraping it every second and queried through its HTTP API."""
import json
import os
import signal
import socket
import subprocess
import tempfile

import pytest

from lab import MAGLEVC, MAGLEVD, MINIMAL_CONFIG, WAIT, Lab, is_root
from promlab import Prometheus, free_port, get, wait_until
from vpplab import VPPSim, start_maglevd, wait_synced

PROMTOOL = "/usr/bin/promtool"

needs_root = pytest.mark.skipif(not is_root(), reason="the lab needs root (namespaces)")


def config(lab):
    """b1, b2 checked over http, b3 over tcp, behind frontend web (pools
    primary b1 + b2 weight 50, fallback b3); VPP without warm-up and a
    periodic sync every 2 s."""
    b = lab.backends
    return f"""maglev:
  healthchecker: {{netns: {lab.hub}}}
  healthchecks:
    http:
      type: http
      interval: 1s
      fast-interval: 200ms
      timeout: 1s
      params: {{path: /healthz, host: lab.example}}
    tcp: {{type: tcp, port: 80, interval: 1s, fast-interval: 200ms, timeout: 1s}}
  backends:
    b1: {{address: {b[0].v4}, healthcheck: http}}
    b2: {{address: {b[1].v4}, healthcheck: http}}
    b3: {{address: {b[2].v4}, healthcheck: tcp}}
  frontends:
    web:
      address: 198.19.0.10
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends: {{b1: {{}}, b2: {{weight: 50}}}}
        - name: fallback
          backends: {{b3: {{}}}}
  vpp:
    lb:
      ipv4-src-address: 198.19.0.1
      ipv6-src-address: "2001:db8:ffff::1"
      sync-interval: 2s
      startup-min-delay: 0s
      startup-max-delay: 0s
"""


@pytest.fixture(scope="module")
def lab():
    if not is_root():
        pytest.skip("the lab needs root (namespaces)")
    with Lab() as lab:
        lab.sim = VPPSim(lab.dir)
        lab.port = free_port()
        lab.url = f"http://127.0.0.1:{lab.port}"
        lab.daemon = start_maglevd(lab.write_config(config(lab)), lab.sim,
                                   "--metrics-addr", f"127.0.0.1:{lab.port}")
        try:
            lab.daemon.wait_for("metrics-listening", addr=f"127.0.0.1:{lab.port}")
            for name in ("b1", "b2", "b3"):
                lab.daemon.wait_state(name, "up")
            wait_synced(lab.daemon)
            yield lab
        finally:
            lab.sim.stop()


def scrape(lab, accept=None):
    status, headers, body = get(lab.url + "/metrics", accept=accept)
    assert status == 200, (status, body[:500])
    return headers, body


def sample(body, name, **labels):
    """The value of the sample `name` with exactly these labels, or None."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    key = f"{name}{{{want}}}" if labels else name
    for line in body.splitlines():
        if line.startswith(key + " "):
            return float(line.split(" ")[1])
    return None


@needs_root
def test_scrape_has_every_kind_and_promtool_passes(lab):
    # something in every family: an API call, an operator action (a
    # transition and a VIP sync by trigger operator), a reload, a
    # WatchEvents stream open during the scrape
    subprocess.run([MAGLEVC, "-s", lab.daemon.grpc_addr, "show", "backends"], check=True,
                   capture_output=True, timeout=WAIT)
    subprocess.run([MAGLEVC, "-s", lab.daemon.grpc_addr, "set", "backend", "b2", "pause"], check=True,
                   capture_output=True, timeout=WAIT)
    lab.daemon.wait_state("b2", "paused")
    subprocess.run([MAGLEVC, "-s", lab.daemon.grpc_addr, "set", "backend", "b2", "resume"],
                   check=True, capture_output=True, timeout=WAIT)
    lab.daemon.wait_state("b2", "up")
    n = len(lab.daemon.find("config-reloaded"))
    lab.daemon.signal(signal.SIGHUP)
    wait_until(lambda: len(lab.daemon.find("config-reloaded")) > n, "the reload")
    watch = subprocess.Popen([MAGLEVC, "-s", lab.daemon.grpc_addr, "watch", "events", "backend"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        body = wait_until(
            lambda: (lambda b: b if sample(b, "maglev_api_event_streams") == 1 else None)(
                scrape(lab)[1]), "the WatchEvents stream counted")
    finally:
        watch.terminate()
        watch.wait(timeout=10)
    headers, body = scrape(lab)
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4"), headers

    expect = {
        ("maglev_config_reloads_total", (("result", "success"),)): 1,
        ("maglev_backend_state", (("backend", "b1"), ("state", "up"))): 1,
        ("maglev_backend_state", (("backend", "b1"), ("state", "down"))): 0,
        ("maglev_backend_enabled", (("backend", "b1"),)): 1,
        ("maglev_backend_paused", (("backend", "b2"),)): 0,
        ("maglev_backend_transitions_total",
         (("backend", "b2"), ("from", "up"), ("to", "paused"))): 1,
        ("maglev_frontend_state", (("frontend", "web"), ("state", "up"))): 1,
        ("maglev_frontend_active_pool", (("frontend", "web"), ("pool", "primary"))): 1,
        ("maglev_frontend_backend_configured_weight",
         (("frontend", "web"), ("pool", "primary"), ("backend", "b2"))): 50,
        ("maglev_frontend_backend_effective_weight",
         (("frontend", "web"), ("pool", "fallback"), ("backend", "b3"))): 0,
        ("maglev_vpp_connected", ()): 1,
        ("maglev_vpp_incompatible", ()): 0,
        ("maglev_vpp_connects_total", ()): 1,
        ("maglev_api_requests_total", (("method", "ListBackends"), ("code", "OK"))): None,
    }
    for (name, labels), value in expect.items():
        got = sample(body, name, **dict(labels))
        assert got is not None, f"{name}{dict(labels)} missing from the scrape"
        if value is not None:
            assert got == value, f"{name}{dict(labels)} = {got}, want {value}"
    for prefix in ("maglev_build_info{version=\"",
                   "maglev_backend_probes_total{backend=\"b1\",code=\"L7OK\"} ",
                   "maglev_backend_probes_total{backend=\"b3\",code=\"L4OK\"} ",
                   "maglev_backend_last_probe_age_seconds{backend=\"b1\"} ",
                   "maglev_probe_duration_seconds_bucket{type=\"http\",le=\"+Inf\"} ",
                   "maglev_probe_duration_seconds_count{type=\"tcp\"} ",
                   "maglev_vpp_syncs_total{scope=\"all\",trigger=\"connect\",result=\"success\"} ",
                   "maglev_vpp_syncs_total{scope=\"vip\",trigger=\"operator\",result=\"success\"} ",
                   "maglev_vpp_sync_duration_seconds_bucket{scope=\"vip\",le=\"+Inf\"} ",
                   "maglev_vpp_operations_total{kind=\"as-weight\",result=\"ok\"} ",
                   "maglev_vpp_disconnects_total{reason=\"closed\"} 0",
                   "maglev_vpp_drift_repaired_total ",
                   "maglev_config_last_reload_success_timestamp_seconds ",
                   "maglev_metrics_scrapes_total "):
        assert any(line.startswith(prefix) for line in body.splitlines()), \
            f"no sample {prefix!r} in the scrape"

    with tempfile.NamedTemporaryFile("w", suffix=".prom", delete=False) as f:
        f.write(body)
    try:
        with open(f.name) as fin:
            p = subprocess.run([PROMTOOL, "check", "metrics"], stdin=fin, capture_output=True,
                               text=True, timeout=60)
    finally:
        os.unlink(f.name)
    assert p.returncode == 0 and not p.stdout.strip() and not p.stderr.strip(), \
        f"promtool check metrics: rc {p.returncode}\n{p.stdout}\n{p.stderr}"


@needs_root
def test_openmetrics_and_http(lab):
    headers, body = scrape(lab, accept="application/openmetrics-text;version=1.0.0,"
                                       "text/plain;version=0.0.4;q=0.5")
    assert headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    assert body.endswith("\n# EOF\n"), body[-200:]
    assert "# TYPE maglev_config_reloads counter\n" in body
    assert "\nmaglev_config_reloads_total{result=\"success\"} " in body
    assert 'le="1.0"' in body  # OpenMetrics bucket bounds are floats
    status, _, body = get(lab.url + "/healthz")
    assert (status, body) == (200, "ok\n")
    assert get(lab.url + "/nope")[0] == 404
    status, headers, _ = get(lab.url + "/metrics", method="POST")
    assert status == 405 and headers.get("Allow") == "GET, HEAD"
    status, _, body = get(lab.url + "/metrics", method="HEAD")
    assert status == 200 and body == ""


@needs_root
def test_prometheus_scrapes_and_sees_b1_go_down(lab):
    with Prometheus([f"127.0.0.1:{lab.port}"]) as prom:
        try:
            prom.wait('maglev_backend_state{backend="b1",state="up"} == 1',
                      "Prometheus sees b1 up")
            lab.backends[0].stop_nginx()
            lab.daemon.wait_state("b1", "down")
            prom.wait('maglev_backend_state{backend="b1",state="down"} == 1',
                      "Prometheus sees b1 down")
            assert not prom.query('maglev_backend_state{backend="b1",state="up"} == 1'), \
                "b1 both up and down"
            # and the transition was counted
            assert prom.query(
                'maglev_backend_transitions_total{backend="b1",from="up",to="down"} >= 1')
        finally:
            lab.backends[0].start_nginx()


def test_port_in_use_exits_2(tmp_path):
    """A --metrics-addr that cannot be bound stops maglevd at start with
    exit status 2 and a message naming the flag (no root needed)."""
    config = tmp_path / "maglev.yaml"
    config.write_text(MINIMAL_CONFIG)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        addr = f"127.0.0.1:{s.getsockname()[1]}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAGLEV_")}
        p = subprocess.run([MAGLEVD, "--config", str(config), "--grpc-addr", "",
                            "--vpp-api-addr", "", "--metrics-addr", addr],
                           capture_output=True, text=True, timeout=WAIT, env=env)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert f'--metrics-addr "{addr}": Address already in use' in p.stderr, p.stderr
    for bad in ("9091", "[::1:9091", "127.0.0.1:70000", "127.0.0.1:9091,"):
        p = subprocess.run([MAGLEVD, "--config", str(config), "--grpc-addr", "",
                            "--vpp-api-addr", "", "--metrics-addr", bad],
                           capture_output=True, text=True, timeout=WAIT, env=env)
        assert p.returncode == 2 and "--metrics-addr" in p.stderr, (bad, p.returncode, p.stderr)


def test_empty_env_disables(tmp_path):
    """MAGLEV_METRICS_ADDR="" (set, empty) serves no endpoint."""
    config = tmp_path / "maglev.yaml"
    config.write_text(MINIMAL_CONFIG)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAGLEV_")}
    env["MAGLEV_METRICS_ADDR"] = ""
    p = subprocess.Popen([MAGLEVD, "--config", str(config), "--grpc-addr", "",
                          "--vpp-api-addr", "", "--log-format", "json"],
                         stderr=subprocess.PIPE, text=True, env=env)
    try:
        for line in p.stderr:
            r = json.loads(line)
            assert r["msg"] != "metrics-listening", r
            if r["msg"] == "metrics-disabled":
                break
        else:
            raise AssertionError(f"maglevd ended: {p.wait()}")
    finally:
        p.terminate()
        p.wait(timeout=WAIT)
