"""Headless Firefox driven over WebDriver BiDi, for the dashboard's tests.

Debian packages Firefox ESR (firefox-esr) but no geckodriver; Firefox
speaks the W3C WebDriver BiDi protocol itself (--remote-debugging-port),
a JSON protocol over a WebSocket, which python3-websocket talks. Only what
the tests need: a session, the console's log entries, navigate, evaluate a
script, set the viewport, take a screenshot.

The profile keeps Firefox on this machine: every request that is not to
a loopback address goes to a proxy at 127.0.0.1:9 (nothing listens), and
updates, telemetry, remote settings, captive-portal and connectivity
checks are off (the remote agent's own recommended preferences do most of
that too).
"""
import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time

PREFS = {
    "network.proxy.type": 1,
    "network.proxy.http": "127.0.0.1", "network.proxy.http_port": 9,
    "network.proxy.ssl": "127.0.0.1", "network.proxy.ssl_port": 9,
    "network.proxy.no_proxies_on": "127.0.0.1, localhost, ::1",
    "network.proxy.allow_hijacking_localhost": False,
    "network.trr.mode": 5,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "app.update.enabled": False, "app.update.auto": False,
    "app.normandy.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.healthreport.uploadEnabled": False,
    "toolkit.telemetry.enabled": False, "toolkit.telemetry.unified": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "extensions.update.enabled": False, "extensions.getAddons.cache.enabled": False,
    "browser.search.update": False, "browser.region.update.enabled": False,
    "services.settings.server": "http://127.0.0.1:9/v1",
    "messaging-system.rsexperimentloader.enabled": False,
    "browser.newtabpage.enabled": False, "browser.startup.page": 0,
}


def binary():
    return shutil.which("firefox-esr") or shutil.which("firefox")


class BiDiError(Exception):
    pass


class Firefox:
    def __init__(self, timeout=30):
        import websocket  # python3-websocket
        self.timeout = timeout
        self.dir = tempfile.mkdtemp(prefix="mgl-firefox-")
        with open(os.path.join(self.dir, "user.js"), "w") as f:
            for k, v in PREFS.items():
                f.write(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n")
        self.output = []
        self.p = subprocess.Popen(
            [binary(), "--headless", "--no-remote", "--remote-debugging-port", "0",
             "--profile", self.dir, "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, env={**os.environ, "MOZ_HEADLESS": "1", "MOZ_CRASHREPORTER_DISABLE": "1"})
        self.cond = threading.Condition()
        self.url = None
        self.ws = None
        self.next_id = 0
        self.replies = {}
        self.events = []
        threading.Thread(target=self._drain, daemon=True).start()
        try:  # whatever fails from here, Firefox does not outlive it
            with self.cond:
                if not self.cond.wait_for(lambda: self.url or self.p.poll() is not None,
                                          timeout=timeout) or not self.url:
                    raise BiDiError(f"firefox did not start its BiDi server: "
                                    f"{self.output[-10:]}")
            # no Origin header: Firefox refuses one it was not told to allow
            self.ws = websocket.create_connection(self.url + "/session", timeout=timeout,
                                                  suppress_origin=True)
            self.reader = threading.Thread(target=self._read, daemon=True)
            self.reader.start()
            self.call("session.new", capabilities={})
            self.call("session.subscribe", events=["log.entryAdded"])
            self.context = self.call("browsingContext.getTree")["contexts"][0]["context"]
        except BaseException:
            self.close()
            raise

    def _drain(self):
        for line in self.p.stdout:
            with self.cond:
                self.output.append(line.rstrip())
                m = re.search(r"WebDriver BiDi listening on (ws://\S+)", line)
                if m:
                    self.url = m.group(1)
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def _read(self):
        while True:
            try:
                msg = json.loads(self.ws.recv())
            except Exception:  # closed
                with self.cond:
                    self.replies[None] = True
                    self.cond.notify_all()
                return
            with self.cond:
                if "id" in msg and msg.get("type") != "event":
                    self.replies[msg["id"]] = msg
                else:
                    self.events.append(msg)
                self.cond.notify_all()

    def call(self, method, **params):
        with self.cond:
            self.next_id += 1
            i = self.next_id
        self.ws.send(json.dumps({"id": i, "method": method, "params": params}))
        with self.cond:
            if not self.cond.wait_for(lambda: i in self.replies or None in self.replies,
                                      timeout=self.timeout) or i not in self.replies:
                raise BiDiError(f"{method}: no answer")
            r = self.replies.pop(i)
        if r.get("type") == "error" or "error" in r:
            raise BiDiError(f"{method}: {r.get('error')}: {r.get('message')}")
        return r["result"]

    def navigate(self, url):
        return self.call("browsingContext.navigate", context=self.context, url=url,
                         wait="complete")

    def viewport(self, width, height):
        self.call("browsingContext.setViewport", context=self.context,
                  viewport={"width": width, "height": height})

    def js(self, expression):
        """The value of a JavaScript expression, through JSON."""
        r = self.call("script.evaluate", expression=f"JSON.stringify({expression})",
                      target={"context": self.context}, awaitPromise=True)
        if r.get("type") != "success":
            raise BiDiError(f"{expression}: {r.get('exceptionDetails')}")
        v = r["result"].get("value")
        return None if v is None else json.loads(v)

    def wait_js(self, expression, what):
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.js(expression):
                return
            time.sleep(0.05)
        raise AssertionError(f"firefox: timed out waiting for {what}")

    def console(self, levels=("error",)):
        with self.cond:
            return [e["params"] for e in self.events if e.get("method") == "log.entryAdded"
                    and e["params"].get("level") in levels]

    def screenshot(self, path):
        r = self.call("browsingContext.captureScreenshot", context=self.context)
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))

    def close(self):
        try:
            if self.ws:
                try:
                    self.call("session.end")
                except Exception:
                    pass
                self.ws.close()
        finally:
            if self.p.poll() is None:
                self.p.terminate()
                try:
                    self.p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.p.kill()
                    self.p.wait()
            shutil.rmtree(self.dir, ignore_errors=True)
