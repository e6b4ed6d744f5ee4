"""The web dashboard (docs/dashboard.md) in a real browser: headless Chromium
(Debian's chromium + chromium-driver, python3-selenium) against maglevd on
the nginx lab with vppsim.

The page loads without console errors, shows the frontend and its
backends; a stopped nginx turns its backend red on the page without a
reload. Under load only the order is asserted (the transition is logged,
then the page shows it), every wait bounded by WAIT.

Screenshots are saved to $DASHBOARD_ARTIFACT_DIR, else to meson-logs/ of the
build directory the test runs in (cd BUILDDIR), else to the lab's directory:
dashboard-up.png and dashboard-down.png.
"""
import json
import os
import re
import shutil
import socket
import sys
import threading
import time
import urllib.request

import pytest

import bidi
from lab import WAIT, Lab, is_root
from promlab import free_port
from vpplab import VPPSim, mark, start_maglevd, wait_record

pytestmark = [
    pytest.mark.skipif(not is_root(), reason="the lab needs root (namespaces)"),
    pytest.mark.skipif(not shutil.which("chromedriver") or not shutil.which("chromium"),
                       reason="needs chromium and chromium-driver (make deps)"),
]

NAMES = ("b1", "b2")
DASH_COALESCE = 0.08  # s: more than the dashboard coalesces changes (50 ms)

sys.path.insert(0, os.environ.get("PROTO_PY_DIR", "build/proto"))


def config(lab, statics=0):
    """statics: as many backends more without a healthcheck (never probed)
    in the pool, to make each update of the frontend large."""
    b = lab.backends
    backends = "\n".join(f"    {n}: {{address: {b[i].v4}, healthcheck: tcp}}"
                         for i, n in enumerate(NAMES))
    backends += "".join(f"\n    s{i}: {{address: 127.0.{1 + i // 250}.{1 + i % 250}}}"
                        for i in range(statics))
    pool = ", ".join([f"{n}: {{}}" for n in NAMES] + [f"s{i}: {{}}" for i in range(statics)])
    return f"""maglev:
  healthchecker:
    netns: {lab.hub}
  healthchecks:
    tcp: {{type: tcp, port: 80, interval: 1s, fast-interval: 200ms, down-interval: 500ms,
          timeout: 300ms, rise: 2, fall: 2}}
  backends:
{backends}
  frontends:
    web:
      address: 198.19.0.10
      protocol: tcp
      port: 80
      description: "<img src=x onerror=window.pwned=1> & co"
      pools:
        - name: primary
          backends: {{{pool}}}
  vpp:
    lb: {{ipv4-src-address: 198.19.0.1, ipv6-src-address: "2001:db8:ffff::1",
          startup-min-delay: 0s, startup-max-delay: 0s}}
"""


def artifact_dir(lab):
    d = os.environ.get("DASHBOARD_ARTIFACT_DIR")
    if not d and os.path.isdir("meson-logs"):
        d = "meson-logs"
    d = d or lab.dir
    os.makedirs(d, exist_ok=True)
    return d


def get(url):
    with urllib.request.urlopen(url, timeout=WAIT) as r:
        return r.status, dict(r.headers), r.read()


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1200,900"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)


@pytest.fixture(scope="module")
def lab():
    with Lab(2) as lab:
        yield lab


@pytest.fixture
def daemon(lab):
    for b in lab.backends:
        if b.proc is None:
            b.start_nginx()
    sim = VPPSim(lab.dir)
    port = free_port()
    d = start_maglevd(lab.write_config(config(lab)), sim, "--metrics-addr", f"127.0.0.1:{port}")
    d.url = f"http://127.0.0.1:{port}"
    d.wait_for("metrics-listening")
    d.wait_state("b1", "up")
    d.wait_state("b2", "up")
    yield d
    d.stop()
    sim.stop()
    assert d.p.returncode == 0, d.records[-5:]
    for b in lab.backends:
        if b.proc is None:
            b.start_nginx()


def test_api_views_and_headers(daemon):
    status, headers, body = get(daemon.url + "/")
    assert status == 200 and b'src="app.js"' in body and b"<script>" not in body
    assert headers["Content-Security-Policy"].startswith("default-src 'self'"), headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    for what in ("version", "frontends", "backends", "vpp", "state"):
        status, headers, body = get(f"{daemon.url}/api/{what}")
        doc = json.loads(body)
        assert status == 200 and "now_ms" in doc and headers["Content-Type"].startswith(
            "application/json"), (what, doc)
    doc = json.loads(get(daemon.url + "/api/state")[2])
    fe = doc["frontends"][0]
    assert fe["name"] == "web" and fe["address"] == "198.19.0.10" and fe["port"] == 80
    assert [b["name"] for b in fe["pools"][0]["backends"]] == ["b1", "b2"]
    assert {b["name"]: b["state"] for b in doc["backends"]} == {"b1": "up", "b2": "up"}
    assert doc["vpp"]["enabled"] and doc["vpp"]["state"] == "connected", doc["vpp"]
    assert b"\\u003cimg" in get(daemon.url + "/api/frontends")[2]  # escaped in JSON
    # read-only: nothing but GET and HEAD
    req = urllib.request.Request(daemon.url + "/api/state", method="POST", data=b"x")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=WAIT)
    assert e.value.code == 405


def test_page_turns_a_stopped_backend_red(lab, daemon):
    from selenium.webdriver.common.by import By
    from selenium.common.exceptions import StaleElementReferenceException as Stale
    from selenium.webdriver.support.ui import WebDriverWait
    drv = browser()
    try:
        drv.get(daemon.url + "/")
        wait = WebDriverWait(drv, WAIT, poll_frequency=0.05, ignored_exceptions=(Stale,))
        row = '[data-frontend="web"] tr[data-backend="{}"]'
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, row.format("b2")))
        wait.until(lambda d: d.find_element(By.ID, "live").text == "live")
        states, text = drv.execute_script(
            "const q = s => document.querySelector(s);"
            "return [arguments[0].map(s => q(s) ? q(s).getAttribute('data-state') : ''),"
            "        q('[data-frontend=\"web\"]').innerText];",
            [row.format(n) for n in NAMES])
        assert states == ["up"] * len(NAMES), states
        assert "198.19.0.10 tcp:80" in text and "active pool primary" in text, text
        # the description is shown as text, never run as markup
        assert "<img src=x" in text
        assert drv.execute_script("return window.pwned === undefined")
        drv.save_screenshot(os.path.join(artifact_dir(lab), "dashboard-up.png"))
        m = mark(daemon)
        lab.backends[1].stop_nginx()
        _, i = wait_record(daemon, "backend-transition", after=m, backend="b2", to="down")
        # then the page, without a reload: red
        sel = row.format("b2") + '[data-state="down"] .badge.st-down'
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, sel))
        # read in one script: the page replaces its elements as it updates,
        # so an element found by one call may be gone by the next
        colour, b1 = drv.execute_script(
            "const e = document.querySelector(arguments[0]);"
            "const b1 = document.querySelector(arguments[1]);"
            "return [e ? getComputedStyle(e).backgroundColor : '',"
            "        b1 ? b1.getAttribute('data-state') : ''];", sel, row.format("b1"))
        r, g, b_ = [int(x) for x in re.findall(r"\d+", colour)[:3]]
        assert r > 150 and g < 100 and b_ < 100, colour
        assert b1 == "up"
        drv.save_screenshot(os.path.join(artifact_dir(lab), "dashboard-down.png"))
        severe = [e for e in drv.get_log("browser") if e["level"] == "SEVERE"]
        assert not severe, severe
    finally:
        drv.quit()


@pytest.mark.skipif(not bidi.binary(), reason="needs firefox-esr (make deps)")
def test_page_in_firefox_on_a_phone(lab, daemon):
    """The same page in Firefox (WebDriver BiDi, bidi.py) at a phone's
    viewport: no console error, nothing wider than the screen, and a
    stopped backend turns red without a reload."""
    ff = bidi.Firefox(timeout=WAIT)
    try:
        ff.viewport(390, 844)
        ff.navigate(daemon.url + "/")
        row = '[data-frontend="web"] tr[data-backend="{}"]'
        ff.wait_js(f"document.querySelector('{row.format('b2')}') !== null && "
                   "document.getElementById('live').textContent === 'live'", "the page, live")
        states = ff.js(f"['b1', 'b2'].map(n => document.querySelector("
                       f"'[data-frontend=\"web\"] tr[data-backend=\"' + n + '\"]')"
                       ".getAttribute('data-state'))")
        assert states == ["up", "up"], states
        text = ff.js("document.querySelector('[data-frontend=\"web\"]').innerText")
        assert "198.19.0.10 tcp:80" in text and "<img src=x" in text, text
        assert ff.js("window.pwned === undefined")
        assert ff.js("window.innerWidth") == 390
        width = ff.js("document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width} px wide on a 390 px screen"
        ff.screenshot(os.path.join(artifact_dir(lab), "dashboard-firefox-phone-up.png"))
        m = mark(daemon)
        lab.backends[1].stop_nginx()
        wait_record(daemon, "backend-transition", after=m, backend="b2", to="down")
        sel = row.format("b2") + '[data-state="down"] .badge.st-down'
        ff.wait_js(f"document.querySelector('{sel}') !== null", "b2 red")
        colour = ff.js(f"getComputedStyle(document.querySelector('{sel}')).backgroundColor")
        r, g, b_ = [int(x) for x in re.findall(r"\d+", colour)[:3]]
        assert r > 150 and g < 100 and b_ < 100, colour
        ff.screenshot(os.path.join(artifact_dir(lab), "dashboard-firefox-phone-down.png"))
        errors = ff.console()
        assert not errors, errors
    finally:
        ff.close()


def events_socket(port, rcvbuf=None):
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
    return s


def test_a_slow_event_client_is_dropped_not_the_loop(lab):
    """A client of /events that stops reading is closed once its queue is
    full (4 messages here, --test-dashboard-queue-msgs; 512 by default),
    while the loop goes on: every API call answers, a reading client keeps
    getting updates."""
    import grpc
    import maglev_pb2 as pb
    for b in lab.backends:
        if b.proc is None:
            b.start_nginx()
    sim = VPPSim(lab.dir)
    port = free_port()
    d = start_maglevd(lab.write_config(config(lab, statics=200)), sim,
                      "--metrics-addr", f"127.0.0.1:{port}", "--test-dashboard-queue-msgs", "4")
    ch = None
    slow = good = None
    try:
        d.wait_for("metrics-listening")
        d.wait_state("b1", "up")
        ch = grpc.insecure_channel(d.grpc_addr)

        def rpc(method, req, resp):
            return ch.unary_unary(f"/maglev.Maglev/{method}",
                                  request_serializer=req.SerializeToString,
                                  response_deserializer=resp.FromString)(
                req, timeout=WAIT, wait_for_ready=True)

        slow = events_socket(port, rcvbuf=1024)  # connects, then never reads
        good = events_socket(port)
        got = [0]

        def drain():
            while True:
                try:
                    data = good.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                got[0] += len(data)
        threading.Thread(target=drain, daemon=True).start()
        m = mark(d)
        deadline = time.monotonic() + 4 * WAIT
        dropped = None
        while dropped is None:
            assert time.monotonic() < deadline, "the slow client was never dropped"
            for method in ("PauseBackend", "ResumeBackend"):
                b = rpc(method, pb.BackendActionRequest(name="b1"), pb.Backend)
                assert b.name == "b1"
                time.sleep(DASH_COALESCE)  # one update each
            dropped = next((r for r in d.records[m:]
                            if r.get("msg") == "dashboard-client-dropped"), None)
        assert "too slow" in dropped["reason"] and dropped["queued-messages"] >= 4, dropped
        # the slow one is closed: what was in flight, then EOF
        slow.settimeout(WAIT)
        while slow.recv(65536):
            pass
        # the reading client was not: it gets the next update
        before = got[0]
        rpc("PauseBackend", pb.BackendActionRequest(name="b1"), pb.Backend)
        Lab.wait_for(lambda: got[0] > before, "the reading client's next update")
        assert sum(r.get("msg") == "dashboard-client-dropped" for r in d.records[m:]) == 1
        assert rpc("GetVersion", pb.GetVersionRequest(), pb.VersionInfo).version
    finally:
        for s in (slow, good):
            if s:
                s.close()
        if ch:
            ch.close()
        d.stop()
        sim.stop()


def test_packet_rates_on_the_page(lab):
    """Per-VIP packet rates from VPP's LB counters (vppsim's stats segment,
    read every 500 ms): traffic shows as a rate on the page, and none as
    0 pps once it stops."""
    from selenium.common.exceptions import StaleElementReferenceException as Stale
    from selenium.webdriver.support.ui import WebDriverWait
    for b in lab.backends:
        if b.proc is None:
            b.start_nginx()
    stats = os.path.join(lab.dir, "rates-stats.sock")
    sim = VPPSim(lab.dir, "--stats-socket", stats, name="rates")
    Lab.wait_for(lambda: os.path.exists(stats), "vppsim's stats socket")
    port = free_port()
    d = start_maglevd(lab.write_config(config(lab)), sim, "--metrics-addr", f"127.0.0.1:{port}",
                      "--vpp-stats-addr", stats, "--test-vpp-stats-interval-ms", "500")
    url = f"http://127.0.0.1:{port}"
    stop = threading.Event()
    drv = None

    def traffic():
        while not stop.wait(0.25):
            sim.call("counters", prefix="198.19.0.10/32", protocol=6, port=80,
                     first=50, existing=450)

    def rates():
        fe = json.loads(get(url + "/api/frontends")[2])["frontends"][0]
        return fe["rates"]

    try:
        Lab.wait_for(lambda: "198.19.0.10/32" in {v["prefix"] for v in sim.vips().values()},
                     "the VIP in vppsim")
        t = threading.Thread(target=traffic, daemon=True)
        t.start()
        Lab.wait_for(lambda: (rates() or {}).get("known") and rates()["packets"] > 0,
                     "a packet rate in /api/frontends")
        r = rates()
        assert r["existing_sessions"] > r["first_session"] > 0 and r["no_server"] == 0, r
        drv = browser()
        drv.get(url + "/")
        wait = WebDriverWait(drv, WAIT, poll_frequency=0.05, ignored_exceptions=(Stale,))
        rate = '[data-frontend="web"] .rate'
        shown = re.compile(r"^\d+(\.\d+)? [kM]?pps$")

        def text(d_):  # read at once: the page replaces its elements as it updates
            return d_.execute_script(
                f"const e = document.querySelector('{rate}'); return e ? e.textContent : ''")
        wait.until(lambda d_: shown.match(text(d_)) and text(d_) != "0 pps")
        stop.set()
        t.join()
        wait.until(lambda d_: text(d_) == "0 pps")
        assert rates()["packets"] == 0
        severe = [e for e in drv.get_log("browser") if e["level"] == "SEVERE"]
        assert not severe, severe
    finally:
        stop.set()
        if drv:
            drv.quit()
        d.stop()
        sim.stop()
