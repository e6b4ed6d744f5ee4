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
import shutil
import urllib.request

import pytest

from lab import WAIT, Lab, is_root
from promlab import free_port
from vpplab import VPPSim, mark, start_maglevd, wait_record

pytestmark = [
    pytest.mark.skipif(not is_root(), reason="the lab needs root (namespaces)"),
    pytest.mark.skipif(not shutil.which("chromedriver") or not shutil.which("chromium"),
                       reason="needs chromium and chromium-driver (make deps)"),
]

NAMES = ("b1", "b2")


def config(lab):
    b = lab.backends
    backends = "\n".join(f"    {n}: {{address: {b[i].v4}, healthcheck: tcp}}"
                         for i, n in enumerate(NAMES))
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
          backends: {{b1: {{}}, b2: {{}}}}
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
    from selenium.webdriver.support.ui import WebDriverWait
    drv = browser()
    try:
        drv.get(daemon.url + "/")
        wait = WebDriverWait(drv, WAIT, poll_frequency=0.05)
        row = '[data-frontend="web"] tr[data-backend="{}"]'
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, row.format("b2")))
        wait.until(lambda d: d.find_element(By.ID, "live").text == "live")
        for n in NAMES:
            assert drv.find_element(By.CSS_SELECTOR, row.format(n)).get_attribute(
                "data-state") == "up"
        card = drv.find_element(By.CSS_SELECTOR, '[data-frontend="web"]')
        assert "198.19.0.10 tcp:80" in card.text and "active pool primary" in card.text
        # the description is shown as text, never run as markup
        assert "<img src=x" in card.text
        assert drv.execute_script("return window.pwned === undefined")
        drv.save_screenshot(os.path.join(artifact_dir(lab), "dashboard-up.png"))
        m = mark(daemon)
        lab.backends[1].stop_nginx()
        _, i = wait_record(daemon, "backend-transition", after=m, backend="b2", to="down")
        # then the page, without a reload: red
        sel = row.format("b2") + '[data-state="down"] .badge.st-down'
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, sel))
        colour = drv.find_element(By.CSS_SELECTOR, sel).value_of_css_property("background-color")
        r, g, b_ = [int(x) for x in colour[colour.index("(") + 1:].split(",")[:3]]
        assert r > 150 and g < 100 and b_ < 100, colour
        assert drv.find_element(By.CSS_SELECTOR, row.format("b1")).get_attribute(
            "data-state") == "up"
        drv.save_screenshot(os.path.join(artifact_dir(lab), "dashboard-down.png"))
        severe = [e for e in drv.get_log("browser") if e["level"] == "SEVERE"]
        assert not severe, severe
    finally:
        drv.quit()
