"""A real Prometheus server for the tests (Debian's /usr/bin/prometheus):
on loopback at a free port, a temporary storage directory, scraping the
given targets every second; queried through its HTTP API."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from lab import WAIT

PROMETHEUS = "/usr/bin/prometheus"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, accept=None, method="GET", timeout=10):
    """(status, headers, body) of an HTTP request; errors are answers too."""
    req = urllib.request.Request(url, method=method)
    if accept:
        req.add_header("Accept", accept)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def wait_until(cond, what, timeout=WAIT, interval=0.2):
    """cond()'s first true value, polled until timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout}s (last: {last!r})")


class Prometheus:
    """`with Prometheus(["127.0.0.1:9091"]) as prom: prom.query(...)`."""

    def __init__(self, targets):
        self.tmp = tempfile.mkdtemp(prefix="maglev-prom-")
        self.port = free_port()
        self.api = f"http://127.0.0.1:{self.port}"
        conf = os.path.join(self.tmp, "prometheus.yml")
        with open(conf, "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: maglevd
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs:
      - targets: {json.dumps(list(targets))}
""")
        self.log = open(os.path.join(self.tmp, "prometheus.log"), "w")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={conf}",
             f"--storage.tsdb.path={os.path.join(self.tmp, 'data')}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: self.proc.poll() is None and self._ready(), "Prometheus ready",
                       timeout=WAIT * 2)
        except BaseException:
            self.stop()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def _ready(self):
        try:
            return get(self.api + "/-/ready", timeout=2)[0] == 200
        except OSError:
            return False

    def query(self, q):
        """The result vector of an instant query."""
        status, _, body = get(self.api + "/api/v1/query?" + urllib.parse.urlencode({"query": q}))
        assert status == 200, (status, body)
        return json.loads(body)["data"]["result"]

    def targets(self):
        try:
            return json.loads(get(self.api + "/api/v1/targets")[2])["data"]["activeTargets"]
        except (OSError, ValueError, KeyError):
            return "unreachable"

    def wait(self, q, what, timeout=WAIT * 2):
        """The result of query q once it is not empty; on a time-out the
        message says what the scrape targets look like."""
        try:
            return wait_until(lambda: self.query(q), what, timeout=timeout)
        except AssertionError as e:
            raise AssertionError(f"{e}; targets: {self.targets()}") from None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
