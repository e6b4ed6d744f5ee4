"""maglevd as a process: version, --check, logging formats, reload on SIGHUP
(a bad config keeps the running one), clean stop on SIGTERM/SIGINT."""
import json
import os
import re
import signal
import subprocess
import time


MAGLEVD = os.environ.get("MAGLEVD", "build/src/daemon/maglevd")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "examples", "maglev.yaml")

GOOD = """maglev:
  backends:
    b1: {address: 192.0.2.10}
  vpp:
    lb: {ipv4-src-address: 192.0.2.1, ipv6-src-address: "2001:db8::1"}
"""


def env(**extra):
    e = {k: v for k, v in os.environ.items() if not k.startswith("MAGLEV_")}
    e["MAGLEV_GRPC_ADDR"] = ""  # no API unless a test asks for one
    e.update(extra)
    return e


class Daemon:
    """maglevd in the foreground with JSON logs read line by line."""

    def __init__(self, config, *args):
        sock = "unix:" + os.path.join(os.path.dirname(config), "maglevd.sock")
        self.p = subprocess.Popen([MAGLEVD, "--config", config, "--log-format", "json",
                                   "--grpc-addr", sock, *args],
                                  stderr=subprocess.PIPE, text=True, env=env())
        self.records = []

    def wait_for(self, msg, timeout=30):
        deadline = time.monotonic() + timeout
        for r in self.records:
            if r["msg"] == msg:
                return r
        while time.monotonic() < deadline:
            line = self.p.stderr.readline()
            if not line:
                break
            r = json.loads(line)  # every line must be valid JSON
            self.records.append(r)
            if r["msg"] == msg:
                return r
        raise AssertionError(f"no {msg} record; got {[r['msg'] for r in self.records]}")

    def stop(self, sig=signal.SIGTERM):
        self.p.send_signal(sig)
        rc = self.p.wait(timeout=30)
        for line in self.p.stderr:
            self.records.append(json.loads(line))
        return rc


def test_version():
    p = subprocess.run([MAGLEVD, "--version"], capture_output=True, text=True)
    assert p.returncode == 0
    version = open(os.path.join(ROOT, "VERSION")).read().strip()
    m = re.fullmatch(r"maglevd (\S+) \(commit (\S+), built (\S+)\)\n", p.stdout)
    assert m, p.stdout
    assert m.group(1) == version
    assert re.fullmatch(r"[0-9a-f]{7,}(-dirty)?|unknown", m.group(2))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", m.group(3))


def test_check_exit_codes(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    p = subprocess.run([MAGLEVD, "--check", "--config", str(good)], capture_output=True,
                       text=True, env=env())
    assert (p.returncode, p.stdout) == (0, f"{good}: OK: 0 healthchecks, 1 backend, "
                                           "0 frontends, 0 pools\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("192.0.2.10", "192.0.2.300"))
    p = subprocess.run([MAGLEVD, "--check", "--config", str(bad)], capture_output=True,
                       text=True, env=env())
    assert p.returncode == 2
    assert f"{bad}:3:19: backends.b1: address: \"192.0.2.300\" is not an IPv4 or IPv6 address" \
        in p.stderr
    bad.write_text("maglev: [\n")
    p = subprocess.run([MAGLEVD, "--check", "--config", str(bad)], capture_output=True,
                       text=True, env=env())
    assert p.returncode == 1 and "YAML syntax error" in p.stderr


def test_config_from_environment(tmp_path):
    good = tmp_path / "env.yaml"
    good.write_text(GOOD)
    p = subprocess.run([MAGLEVD, "--check"], capture_output=True, text=True,
                       env=env(MAGLEV_CONFIG=str(good)))
    assert p.returncode == 0 and p.stdout.startswith(f"{good}: OK:")
    # --config wins over the environment
    p = subprocess.run([MAGLEVD, "--check", "--config", EXAMPLE], capture_output=True,
                       text=True, env=env(MAGLEV_CONFIG="/nonexistent"))
    assert p.returncode == 0


def test_dump_of_example_is_a_fixed_point(tmp_path):
    p = subprocess.run([MAGLEVD, "--check", "--dump", "--config", EXAMPLE], capture_output=True,
                       text=True, env=env())
    assert p.returncode == 0
    dumped = tmp_path / "dump.yaml"
    dumped.write_text(p.stdout)
    q = subprocess.run([MAGLEVD, "--check", "--dump", "--config", str(dumped)],
                       capture_output=True, text=True, env=env())
    assert q.returncode == 0 and q.stdout == p.stdout


def test_usage_errors():
    for args in (["--log-level", "loud"], ["--log-format", "xml"], ["--bogus"], ["extra"]):
        p = subprocess.run([MAGLEVD, *args], capture_output=True, text=True, env=env())
        assert p.returncode == 2, args
        assert p.stderr


def test_start_reload_stop(tmp_path):
    cfg = tmp_path / "maglev.yaml"
    cfg.write_text(GOOD)
    d = Daemon(str(cfg))
    try:
        start = d.wait_for("maglevd-start")
        assert start["level"] == "info" and start["version"] and start["commit"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", start["time"])
        loaded = d.wait_for("config-loaded")
        assert loaded["backends"] == 1
        # a broken config is rejected, every error logged, the old one kept
        cfg.write_text(GOOD.replace("192.0.2.10", "nope") +
                       "  frontends:\n    f: {address: 192.0.2.99}\n")
        d.p.send_signal(signal.SIGHUP)
        failed = d.wait_for("config-reload-failed")
        assert failed["level"] == "warn"
        errors = [r for r in d.records if r["msg"] == "config-reload-error"]
        assert len(errors) == 2, errors
        assert any("is not an IPv4 or IPv6 address" in r["error"] for r in errors)
        assert any("pools is required" in r["error"] for r in errors)
        # a good one replaces it
        cfg.write_text(GOOD.replace("    b1: {address: 192.0.2.10}\n",
                                    "    b1: {address: 192.0.2.10}\n    b2: {address: 192.0.2.11}\n"))
        d.p.send_signal(signal.SIGHUP)
        reloaded = d.wait_for("config-reloaded")
        assert reloaded["backends"] == 2
    finally:
        rc = d.stop()
    assert rc == 0
    assert d.records[-1]["msg"] == "maglevd-stop"


def test_sigint_stops(tmp_path):
    cfg = tmp_path / "maglev.yaml"
    cfg.write_text(GOOD)
    d = Daemon(str(cfg))
    d.wait_for("config-loaded")
    assert d.stop(signal.SIGINT) == 0
    assert d.records[-1]["signal"] == "SIGINT"


def test_invalid_config_refuses_to_start(tmp_path):
    cfg = tmp_path / "maglev.yaml"
    cfg.write_text("maglev: {}\n")
    p = subprocess.run([MAGLEVD, "--config", str(cfg)], capture_output=True, text=True,
                       env=env(), timeout=30)
    assert p.returncode == 1
    assert "ipv4-src-address is required" in p.stderr
    assert "msg=maglevd-stop" in p.stderr


def test_text_log_lines_parse(tmp_path):
    """Every text record is valid logfmt, even with quotes and spaces in values."""
    cfg = tmp_path / "we ird\"name.yaml"
    cfg.write_text(GOOD)
    p = subprocess.Popen([MAGLEVD, "--config", str(cfg)], stderr=subprocess.PIPE, text=True,
                         env=env())
    line = p.stderr.readline()
    while "config-loaded" not in line:
        line = p.stderr.readline()
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)
    pairs = re.findall(r'(\w[\w.-]*)=("(?:[^"\\]|\\.)*"|[^ \n]*)', line)
    fields = {k: v for k, v in pairs}
    assert fields["msg"] == "config-loaded"
    assert json.loads(fields["path"]) == str(cfg)
    rebuilt = " ".join(f"{k}={v}" for k, v in pairs)
    assert rebuilt == line.rstrip("\n")
