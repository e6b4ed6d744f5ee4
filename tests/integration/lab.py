"""A test lab of real parts: network namespaces joined by veth links, real
nginx backends inside them, and maglevd driven as a process.

Layout (names carry a per-run prefix so parallel runs never collide):

    root ns: maglevd (probes through healthchecker.netns = HUB)
    HUB ns  --veth--  backend ns b1 (198.18.1.2, 2001:db8:1::2) nginx :80 :443
            --veth--  backend ns b2 (198.18.2.2, 2001:db8:2::2) nginx ...
            ...
HUB holds .1 of every link. The addresses exist only inside these
namespaces (198.18.0.0/15 is the benchmarking range, 2001:db8::/32 the
documentation range), so no probe can leave the machine.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

MAGLEVD = os.environ.get("MAGLEVD", "build/src/daemon/maglevd")
MAGLEVC = os.environ.get("MAGLEVC") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(MAGLEVD))), "cli", "maglevc")

# One frontend, one backend without a healthcheck: nothing is probed (for
# tests of the API edge, not of health).
MINIMAL_CONFIG = """maglev:
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


# Time bounds (seconds). CI shares two cores with other jobs at load
# averages of 10-20 (tests/run-under-load.sh reproduces that): a process
# may wait hundreds of milliseconds for a core, several times in a row.
# WAIT bounds every wait for something that must happen: it costs nothing
# when the thing happens, so it is generous. LOAD_SLACK is what a test
# adds to a wall-clock duration it bounds from above (a lower bound needs
# none: a timer never fires early); each such bound stays well below the
# duration of the fault it is there to catch.
WAIT = 30.0
LOAD_SLACK = 5.0


def sh(*args, check=True, **kw):
    return subprocess.run(list(args), check=check, capture_output=True, text=True, **kw)


def is_root():
    return os.geteuid() == 0


NGINX_CONF = """
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
daemon off;
events {{ worker_connections 256; }}
http {{
    log_format probe '$remote_addr "$request" $status "$http_user_agent" host=$host sni=$ssl_server_name tls-reused=$ssl_session_reused $msec';
    access_log {dir}/access.log probe;
    client_body_temp_path {dir}/tmp;
    proxy_temp_path {dir}/tmp;
    fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp;
    scgi_temp_path {dir}/tmp;
    server {{
        listen {v4}:80;
        listen [{v6}]:80;
        listen {v4}:443 ssl;
        listen [{v6}]:443 ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;  # as Debian's nginx.conf; 1.22 alone: TLS 1.2 at most
        add_header X-Backend {name} always;  # who answered, for maglevt
        location = /healthz {{ return 200 "ok\\n"; }}
        location = /sick {{ return 503 "sick\\n"; }}
        location / {{ return 200 "{name}\\n"; }}
    }}
}}
"""


class Backend:
    def __init__(self, lab, index):
        self.lab = lab
        self.index = index
        self.name = f"b{index}"
        self.ns = f"{lab.prefix}{self.name}"
        self.v4 = f"198.18.{index}.2"
        self.v6 = f"2001:db8:{index}::2"
        self.hub_v4 = f"198.18.{index}.1"
        self.dir = os.path.join(lab.dir, self.name)
        self.proc = None

    def create(self):
        os.makedirs(os.path.join(self.dir, "tmp"), exist_ok=True)
        hub = self.lab.hub
        ha, ba = f"{self.lab.prefix}h{self.index}", f"{self.lab.prefix}x{self.index}"
        sh("ip", "netns", "add", self.ns)
        sh("ip", "link", "add", ha, "netns", hub, "type", "veth", "peer", "name", ba,
           "netns", self.ns)
        sh("ip", "-n", hub, "addr", "add", f"{self.hub_v4}/24", "dev", ha)
        sh("ip", "-n", hub, "addr", "add", f"2001:db8:{self.index}::1/64", "dev", ha, "nodad")
        sh("ip", "-n", self.ns, "addr", "add", f"{self.v4}/24", "dev", ba)
        sh("ip", "-n", self.ns, "addr", "add", f"{self.v6}/64", "dev", ba, "nodad")
        for ns, dev in ((hub, ha), (self.ns, ba), (self.ns, "lo")):
            sh("ip", "-n", ns, "link", "set", dev, "up")

    def start_nginx(self):
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(dir=self.dir, v4=self.v4, v6=self.v6, name=self.name,
                                      cert=self.lab.cert, key=self.lab.key))
        self.stderr = open(os.path.join(self.dir, "stderr.log"), "w")
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.ns, "nginx", "-c", conf,
                                      "-p", self.dir],
                                     stdout=subprocess.DEVNULL, stderr=self.stderr)

        def ready():
            if self.proc.poll() is not None:
                with open(os.path.join(self.dir, "stderr.log")) as f:
                    raise AssertionError(f"nginx in {self.ns} exited: {f.read()}")
            return self.listening(80) and self.listening(443)
        self.lab.wait_for(ready, f"nginx in {self.ns} listening")

    def listening(self, port):
        out = sh("ip", "netns", "exec", self.ns, "ss", "-Hltn", f"sport = :{port}",
                 check=False).stdout
        return out.count("LISTEN") >= 2

    def stop_nginx(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if getattr(self, "stderr", None):
            self.stderr.close()
            self.stderr = None

    def access_log(self):
        try:
            with open(os.path.join(self.dir, "access.log")) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []


class Lab:
    def __init__(self, n_backends=3):
        self.prefix = f"mgl{os.getpid() % 100000}"
        self.hub = f"{self.prefix}hub"
        self.dir = tempfile.mkdtemp(prefix="maglev-lab-")
        self.cert = os.path.join(self.dir, "cert.pem")
        self.key = os.path.join(self.dir, "key.pem")
        self.backends = [Backend(self, i + 1) for i in range(n_backends)]
        self.daemon = None

    def __enter__(self):
        try:
            self.setup()
        except BaseException:
            self.teardown()
            raise
        return self

    def __exit__(self, *exc):
        self.teardown()

    def setup(self):
        sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
           "-subj", "/CN=lab.example", "-addext", "subjectAltName=DNS:lab.example",
           "-keyout", self.key, "-out", self.cert)
        sh("ip", "netns", "add", self.hub)
        sh("ip", "-n", self.hub, "link", "set", "lo", "up")
        for b in self.backends:
            b.create()
            b.start_nginx()

    def teardown(self):
        if self.daemon:
            self.daemon.stop()
        for b in self.backends:
            b.stop_nginx()
        for b in self.backends:
            sh("ip", "netns", "del", b.ns, check=False)
        sh("ip", "netns", "del", self.hub, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    @staticmethod
    def wait_for(cond, what, timeout=WAIT, interval=0.05):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cond():
                return
            time.sleep(interval)
        raise AssertionError(f"timed out waiting for {what}")

    def write_config(self, text, name="maglev.yaml"):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path


class Daemon:
    """maglevd in the foreground, JSON logs collected by a reader thread."""

    def __init__(self, config, *args, level="debug", grpc_addr=None):
        import threading
        self.records = []
        self.lock = threading.Lock()
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAGLEV_")}
        if grpc_addr is None:
            grpc_addr = "unix:" + os.path.join(os.path.dirname(os.path.abspath(config)),
                                               "maglevd.sock")
        self.grpc_addr = grpc_addr
        if "--vpp-api-addr" not in args:  # no VPP unless a test brings vppsim
            args = ("--vpp-api-addr", "", *args)
        self.p = subprocess.Popen([MAGLEVD, "--config", config, "--log-format", "json",
                                   "--log-level", level, "--grpc-addr", grpc_addr, *args],
                                  stderr=subprocess.PIPE, text=True, env=env)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.p.stderr:
            r = json.loads(line)
            with self.lock:
                self.records.append(r)

    def find(self, msg, **fields):
        with self.lock:
            return [r for r in self.records
                    if r["msg"] == msg and all(r.get(k) == v for k, v in fields.items())]

    def wait_for(self, msg, timeout=WAIT, **fields):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.find(msg, **fields)
            if found:
                return found[-1]
            if self.p.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"no {msg} {fields} record within {timeout}s; "
                             f"last records: {self.records[-10:]}")

    def state(self, backend):
        """The backend's state after its last transition (None if none yet)."""
        t = self.find("backend-transition", backend=backend)
        return t[-1]["to"] if t else None

    def wait_state(self, backend, state, timeout=WAIT):
        Lab.wait_for(lambda: self.state(backend) == state, f"{backend} {state}", timeout)
        return time.monotonic()

    def signal(self, sig):
        self.p.send_signal(sig)

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.reader.join(timeout=5)
        return self.p.returncode


def web_config(lab):
    """Three backends (http, http, tcp) behind one frontend with two pools:
    the config the API and maglevc tests share. The tests look at the last
    probe's code (L7OK): a timeout as long as the interval keeps a busy
    machine from failing one of these probes, which take a millisecond."""
    b = lab.backends
    return f"""maglev:
  healthchecker: {{netns: {lab.hub}, transition-history: 7}}
  healthchecks:
    http:
      type: http
      interval: 1s
      fast-interval: 200ms
      timeout: 1s
      params: {{path: /healthz, host: lab.example, response-codes: [200, "300-399"]}}
    tcp: {{type: tcp, port: 80, interval: 1s, fast-interval: 200ms, timeout: 1s}}
  backends:
    b1: {{address: {b[0].v4}, healthcheck: http}}
    b2: {{address: {b[1].v4}, healthcheck: http}}
    b3: {{address: {b[2].v4}, healthcheck: tcp}}
  frontends:
    web:
      description: "the web"
      address: 198.19.0.10
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends: {{b1: {{}}, b2: {{weight: 50}}}}
        - name: fallback
          backends: {{b3: {{}}}}
  vpp:
    lb: {{ipv4-src-address: 198.19.0.1, ipv6-src-address: "2001:db8:ffff::1"}}
"""


def start_web_lab(lab):
    """maglevd on web_config, once every backend is up."""
    lab.daemon = Daemon(lab.write_config(web_config(lab)))
    for name in ("b1", "b2", "b3"):
        lab.daemon.wait_state(name, "up")
