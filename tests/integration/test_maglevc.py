"""maglevc against a real maglevd in the nginx lab: one-shot commands (output,
JSON, exit codes, colours), --complete and the bash completion script, and
the interactive shell through a pseudo-terminal (pexpect): banner, TAB
completion of keywords and live names, `?` help, history, Ctrl-C, quit."""
import json
import os
import re
import signal
import subprocess
import tempfile
import time

import pexpect
import pytest

from lab import Lab, MAGLEVC, is_root, start_web_lab

pytestmark = pytest.mark.skipif(not is_root(), reason="the lab needs root (namespaces)")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMPLETION = os.path.join(ROOT, "contrib", "maglevc.bash-completion")
VERSION = open(os.path.join(ROOT, "VERSION")).read().strip()
ESC = "\033"
TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}"
ARROW = "\u2192"


@pytest.fixture(scope="module")
def lab():
    with Lab(3) as lab:
        start_web_lab(lab)
        lab.home = tempfile.mkdtemp(prefix="maglevc-home-", dir=lab.dir)
        yield lab


def env(lab, **extra):
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("MAGLEV_") and k not in ("NO_COLOR",)}
    e.update(HOME=lab.home, TERM="xterm", LC_ALL="C.UTF-8")
    e.update(extra)
    return e


def run(lab, *args, server=True, **extra):
    argv = [MAGLEVC] + (["--server", lab.daemon.grpc_addr] if server else []) + list(args)
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, env=env(lab, **extra))


# ---- one-shot ----


def test_show_backends_lists_every_backend(lab):
    r = run(lab, "show", "backends")
    assert r.returncode == 0, r.stderr
    assert ESC not in r.stdout  # not a terminal: no colour
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["NAME", "ADDRESS", "STATE", "HEALTHCHECK", "LAST", "PROBE",
                                "SINCE", "FRONTENDS"]
    rows = {l.split()[0]: l.split() for l in lines[1:]}
    assert set(rows) == {"b1", "b2", "b3"}
    for i, name in enumerate(("b1", "b2", "b3")):
        assert rows[name][1] == lab.backends[i].v4
        assert rows[name][2] == "up"
    assert rows["b3"][3] == "tcp" and rows["b3"][-1] == "web"
    # columns line up: STATE starts at the same offset on every line
    col = lines[0].index("STATE")
    assert all(l[col:col + 2] == "up" for l in lines[1:])


def test_prefixes_are_enough(lab):
    r = run(lab, "sh", "ba")
    assert r.returncode == 0, r.stderr
    assert [l.split()[0] for l in r.stdout.splitlines()[1:]] == ["b1", "b2", "b3"]
    r = run(lab, "sh", "fronte", "web")
    assert r.returncode == 0 and r.stdout.startswith("frontend web up"), r.stderr


def test_show_backend_with_history(lab):
    r = run(lab, "show", "backend", "b1")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.startswith("backend b1 up\n")
    assert re.search(rf"^  address +{re.escape(lab.backends[0].v4)}$", out, re.M)
    assert re.search(rf"^  state +up since {TIME} \(.* ago\)$", out, re.M)
    assert re.search(r"^  counter +\d+ \(rise 2, fall 3\)$", out, re.M)
    assert re.search(r"^  last code +L7OK$", out, re.M)
    assert re.search(r"^  last detail +HTTP 200$", out, re.M)
    assert re.search(rf"^  last probe +{TIME} \(.* ago\), took \S+$", out, re.M)
    assert re.search(r"^  probes +\d+ \(\d+ passed\)$", out, re.M)
    assert re.search(r"^  frontends +web$", out, re.M)
    hist = out.split("  history\n")[1].splitlines()
    assert re.match(rf"^    {TIME}  unknown  {ARROW}  up +L7OK +probe +HTTP 200$", hist[0]), hist


def test_show_frontend_hierarchy(lab):
    r = run(lab, "show", "frontend", "web")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "frontend web up"
    assert re.match(r"^  address +198\.19\.0\.10 port 80/tcp$", lines[1])
    assert "  description  the web" in lines
    assert "  active pool  primary" in lines
    i = lines.index("  pool primary (active)")
    j = lines.index("  pool fallback")
    assert i < j
    pool1 = [l.split() for l in lines[i + 1:j]]
    # the model's column: "buckets N B% (weight W%)" (values: test_maglev_model.py)
    assert [r[:6] + r[-1:] for r in pool1] == [
        ["b1", lab.backends[0].v4, "weight", "100", "effective", "100", "up"],
        ["b2", lab.backends[1].v4, "weight", "50", "effective", "50", "up"],
    ]
    assert all(r[6] == "buckets" and r[9] == "(weight" and len(r) == 12 for r in pool1), pool1
    assert sum(int(r[7]) for r in pool1) == 1024
    b3 = lines[j + 1].split()
    assert b3 == ["b3", lab.backends[2].v4, "weight", "100", "effective", "0", "buckets", "0",
                  "0.0%", "(weight", "0.0%)", "up"]
    assert "  table        1024 buckets, shares within " in r.stdout
    assert "warning" not in r.stdout
    # backend rows are one table: the weight columns line up across pools
    assert len({l.index("weight") for l in lines if "weight " in l}) == 1
    # maglevd runs without VPP: nothing about it, in either view
    assert "vpp" not in r.stdout and "held" not in r.stdout
    lines = run(lab, "show", "frontends").stdout.splitlines()
    assert lines[0].split() == ["NAME", "ADDRESS", "PORT", "PROTO", "STATE", "ACTIVE", "POOL",
                                "BACKENDS", "VPP"]
    assert lines[1].split() == ["web", "198.19.0.10", "80", "tcp", "up", "primary", "3/3", "up",
                                "-"]


def test_json_show_backends(lab):
    r = run(lab, "--json", "show", "backends")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert list(doc) == ["backends"]
    assert [b["name"] for b in doc["backends"]] == ["b1", "b2", "b3"]
    fields = ["name", "address", "healthcheck", "state", "enabled", "counter", "rise", "fall",
              "last_code", "last_detail", "last_probe_time_us", "last_probe_duration_us",
              "probes", "probes_passed", "history", "frontends",
              "damping", "damping_penalty", "damping_suppressed", "damping_reuse_in_ms",
              "damping_suppressed_since_us", "probe_state", "damping_suppressions",
              "slow_start_ms", "ramping", "ramp_started_us", "ramp_ends_us", "ramp_pct"]
    for b in doc["backends"]:
        assert list(b) == fields
        assert b["state"] == "up" and b["enabled"] is True
        assert isinstance(b["last_probe_time_us"], int) and b["last_probe_time_us"] > 0
        assert list(b["history"][0]) == ["time_us", "from_state", "to_state", "code", "detail",
                                             "reason"]
    assert doc["backends"][0]["history"][0]["to_state"] == "up"


def test_json_every_show(lab):
    for cmd, key in ((["show", "version"], "client"), (["show", "frontends"], "frontends"),
                     (["show", "frontend", "web"], "pools"), (["show", "backend", "b2"], "history"),
                     (["show", "healthchecks"], "healthchecks"),
                     (["show", "healthcheck", "http"], "response_codes"),
                     (["config", "check"], "ok")):
        r = run(lab, "--json", *cmd)
        assert r.returncode == 0, (cmd, r.stderr)
        assert key in json.loads(r.stdout), cmd
    v = json.loads(run(lab, "--json", "show", "version").stdout)
    assert v["client"]["version"] == VERSION and v["server"]["version"] == VERSION
    assert v["server"]["pid"] == lab.daemon.p.pid
    h = json.loads(run(lab, "-j", "show", "healthcheck", "http").stdout)
    assert h["tls_insecure"] is False and h["tls_resume"] is False  # https only
    f = json.loads(run(lab, "-j", "show", "frontend", "web").stdout)
    assert f["active_pool"] == "primary"
    assert [p["name"] for p in f["pools"]] == ["primary", "fallback"]
    assert list(f["pools"][0]["backends"][0]) == ["name", "address", "weight",
                                                  "effective_weight", "state", "enabled",
                                                  "overridden", "flush", "vpp_status",
                                                  "vpp_error", "vpp_weight", "held",
                                                  "ramping", "ramp_pct", "buckets",
                                                  "bucket_share_pct", "weight_share_pct"]
    assert f["table_length"] == 1024 and f["share_warning"] == ""
    serving = [x for p in f["pools"] for x in p["backends"] if x["effective_weight"] > 0]
    assert serving and sum(x["buckets"] for x in serving) == 1024
    assert f["vpp_held"] is False
    assert f["panic"] is False and f["panic_threshold"] == 0
    for p in f["pools"]:  # the VPP integration is disabled
        assert {(x["vpp_status"], x["vpp_error"], x["vpp_weight"]) for x in p["backends"]} == \
            {("", "", -1)}


def test_unknown_backend_is_a_server_error(lab):
    r = run(lab, "show", "backend", "nope")
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr == 'error: backend "nope" not found\n'  # no colour, no gRPC words
    r = run(lab, "--color", "always", "show", "backend", "nope")
    assert r.returncode == 1 and "\033[31m" in r.stderr


def test_usage_errors(lab):
    r = run(lab, "bogus")
    assert r.returncode == 2
    assert 'unknown word "bogus"' in r.stderr
    assert "show, set, sync, plan, config, watch, help, quit, exit" in r.stderr
    r = run(lab, "show", "backend")
    assert r.returncode == 2 and "incomplete command" in r.stderr
    r = run(lab, "s", "x")
    assert r.returncode == 2 and r.stderr.startswith("error: ")
    r = run(lab, "set", "frontend", "web", "pool", "primary", "backend", "b2", "weight", "101")
    assert r.returncode == 2 and "out of range" in r.stderr
    r = run(lab, "--color", "sometimes", "show", "version")
    assert r.returncode == 2
    r = run(lab, "--server", "nonsense", "show", "version")
    assert r.returncode == 2 and "unix:PATH or HOST:PORT" in r.stderr


def test_unreachable_server(lab):
    sock = os.path.join(lab.dir, "nobody.sock")
    r = run(lab, "--server", "unix:" + sock, "show", "backends", server=False)
    assert r.returncode == 1
    assert r.stderr.startswith(f"error: cannot reach maglevd at unix:{sock}: ")
    # MAGLEV_SERVER is the default address
    r = run(lab, "show", "backends", server=False, MAGLEV_SERVER=lab.daemon.grpc_addr)
    assert r.returncode == 0 and "b1" in r.stdout


def test_pause_shows_paused(lab):
    r = run(lab, "set", "backend", "b3", "pause")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "backend b3 paused (state paused)\n"
    r = run(lab, "show", "backend", "b3")
    assert r.stdout.startswith("backend b3 paused\n")
    assert re.search(rf"{ARROW}  paused +paused", r.stdout)
    r = run(lab, "show", "backends")
    assert [l.split()[2] for l in r.stdout.splitlines()[1:]] == ["up", "up", "paused"]
    r = run(lab, "set", "backend", "b3", "resume")
    assert r.returncode == 0 and "b3 resumed" in r.stdout
    lab.daemon.wait_state("b3", "up")
    r = run(lab, "set", "backend", "nope", "disable")
    assert r.returncode == 1 and 'backend "nope" not found' in r.stderr


def test_set_weight_marks_the_override(lab):
    r = run(lab, "set", "frontend", "web", "pool", "primary", "backend", "b2", "weight", "7")
    assert r.returncode == 0, r.stderr
    row = [l.split() for l in r.stdout.splitlines() if l.split()[:1] == ["b2"]][0]
    assert row[2:6] + row[-3:] == ["weight", "50", "effective", "7", "up", "[weight",
                                   "override]"]
    r = run(lab, "set", "frontend", "web", "pool", "primary", "backend", "b3", "weight", "7")
    assert r.returncode == 1 and 'backend "b3"' in r.stderr
    r = run(lab, "set", "frontend", "web", "pool", "primary", "backend", "b2", "weight", "50")
    assert r.returncode == 0


def test_config_check_and_reload(lab):
    r = run(lab, "config", "check")
    assert r.returncode == 0, r.stderr
    path = os.path.join(lab.dir, "maglev.yaml")
    assert r.stdout == f"OK  {path}\n  2 healthchecks, 3 backends, 1 frontend, 2 pools\n"
    r = run(lab, "config", "reload")
    assert r.returncode == 0
    assert r.stdout.splitlines()[-1] == "  added 0, changed 0, removed 0, unchanged 3"
    good = open(path).read()
    try:
        with open(path, "w") as f:
            f.write(good.replace("weight: 50", "weight: 500"))
        r = run(lab, "config", "check")
        assert r.returncode == 1
        assert r.stdout.startswith(f"FAILED  {path} (semantic)\n")
        assert "weight 500 out of range 0..100" in r.stdout
        r = run(lab, "--json", "config", "reload")
        assert r.returncode == 1 and json.loads(r.stdout)["ok"] is False
    finally:
        with open(path, "w") as f:
            f.write(good)
    assert run(lab, "config", "reload").returncode == 0


def test_watch_events_num(lab):
    r = run(lab, "watch", "events", "num", "4")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 4
    for i, name in enumerate(("b1", "b2", "b3")):
        assert re.match(rf"^{TIME}  backend  {name} \S+ {ARROW} up L[47]OK .*\(initial\)$",
                        lines[i]), lines[i]
    assert re.match(rf"^{TIME}  frontend web \S+ {ARROW} up \(active pool primary\) \(initial\)$",
                    lines[3]), lines[3]
    # no kind chosen: all four asked for, as the server's default
    lab.daemon.wait_for("watch-start", log=True, backend=True, frontend=True, vpp=True)
    r = run(lab, "--json", "watch", "events", "frontend", "num", "1")
    ev = json.loads(r.stdout)
    assert ev["frontend"]["name"] == "web" and ev["frontend"]["initial"] is True
    assert "backend" not in ev and "log" not in ev
    r = run(lab, "watch", "events", "log", "level", "debug", "num", "1")
    assert r.returncode == 0 and re.match(rf"^{TIME}  log      \w+ +\S", r.stdout), r.stdout


def test_watch_events_ends_on_sigint(lab):
    p = subprocess.Popen([MAGLEVC, "-s", lab.daemon.grpc_addr, "watch", "events", "backend"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(lab))
    first = p.stdout.readline()
    assert "backend  b1" in first
    time.sleep(0.3)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert err == ""


# ---- completion ----


def complete(lab, line, **kw):
    r = run(lab, "--complete", line, **kw)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def test_complete_flag(lab):
    assert complete(lab, "sh") == ["show"]
    assert complete(lab, "show ") == ["version", "frontend", "frontends", "backend", "backends",
                                      "healthcheck", "healthchecks", "vpp", "mass-failure", "fleet"]
    assert complete(lab, "show backend ") == ["b1", "b2", "b3"]
    assert complete(lab, "show healthcheck ") == ["http", "tcp"]
    assert complete(lab, "set frontend web pool ") == ["fallback", "primary"]
    assert complete(lab, "set frontend web pool fallback backend ") == ["b3"]
    assert complete(lab, "set backend b1 ") == ["pause", "resume", "enable", "disable",
                                                "damping"]
    assert complete(lab, "set backend b1 damping ") == ["clear"]
    assert complete(lab, "watch events ") == ["num", "log", "backend", "frontend", "vpp"]
    assert complete(lab, "watch events vpp num 3 ") == ["log", "backend", "frontend"]
    # no server: keywords still complete, names do not
    nobody = "unix:" + os.path.join(lab.dir, "nobody.sock")
    assert complete(lab, "show backend ", server=False, MAGLEV_SERVER=nobody) == []
    assert complete(lab, "con", server=False, MAGLEV_SERVER=nobody) == ["config"]


def bash_complete(lab, words):
    """Runs the bash completion function for `words` (the last one being
    completed) and returns COMPREPLY."""
    line = " ".join(words)
    script = f"""
source {COMPLETION}
COMP_LINE='{line}'
COMP_POINT=${{#COMP_LINE}}
COMP_WORDS=({' '.join(repr(w) for w in words)})
COMP_CWORD={len(words) - 1}
_maglevc maglevc '{words[-1]}' '{words[-2]}'
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    e = env(lab, PATH=os.path.dirname(MAGLEVC) + ":" + os.environ["PATH"])
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=e, timeout=30)
    assert r.returncode == 0, r.stderr
    return [l for l in r.stdout.splitlines() if l]


def test_bash_completion(lab):
    addr = lab.daemon.grpc_addr
    assert bash_complete(lab, ["maglevc", "--server", addr, "sh"]) == ["show"]
    assert bash_complete(lab, ["maglevc", "--server", addr, "show", "backend", "b"]) == \
        ["b1", "b2", "b3"]
    assert bash_complete(lab, ["maglevc", "-s", addr, "set", "frontend", "web", "pool", ""]) == \
        ["fallback", "primary"]
    assert bash_complete(lab, ["maglevc", "--color", "al"]) == ["always"]
    assert "--json" in bash_complete(lab, ["maglevc", "--"])


# ---- colour on a terminal ----


def pty_run(lab, *args, **extra):
    out = pexpect.run(MAGLEVC, args=["-s", lab.daemon.grpc_addr, *args], env=env(lab, **extra),
                      encoding="utf-8", timeout=30, dimensions=(40, 200))
    return out.replace("\r\n", "\n")


def test_colours_on_a_terminal(lab):
    out = pty_run(lab, "show", "backends")
    assert "\033[34mNAME\033[0m" in out  # labels dark blue
    assert "\033[32mup\033[0m" in out  # up green
    plain = re.sub(r"\033\[[0-9;]*m", "", out).splitlines()
    col = plain[0].index("STATE")
    assert all(l[col:col + 2] == "up" for l in plain[1:])  # aligned despite escapes
    assert ESC not in pty_run(lab, "show", "backends", NO_COLOR="1")
    assert ESC not in pty_run(lab, "--color", "never", "show", "backends")


# ---- the interactive shell ----


def shell(lab, **extra):
    """The shell on a pseudo-terminal; without colours (NO_COLOR) unless
    asked, so that the text can be matched."""
    extra.setdefault("NO_COLOR", "1")
    p = pexpect.spawn(MAGLEVC, ["-s", lab.daemon.grpc_addr], env=env(lab, **extra),
                      encoding="utf-8", timeout=30, dimensions=(40, 160))
    p.expect(r"maglev> ")
    return p


def test_shell_banner_and_quit(lab):
    p = pexpect.spawn(MAGLEVC, ["-s", lab.daemon.grpc_addr], env=env(lab), encoding="utf-8",
                      timeout=30)
    p.expect(rf"maglevc {re.escape(VERSION)} \(\S+\), maglevd {re.escape(VERSION)} \(\S+\) "
             rf"at {re.escape(lab.daemon.grpc_addr)}")
    p.expect("maglev> ")
    p.sendline("quit")
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 0


def test_shell_tab_completes_a_command(lab):
    p = shell(lab)
    p.send("sh\t")
    p.expect("ow ")  # the line now reads "show "
    p.send("backends\r")  # so this runs "show backends"
    p.expect("NAME +ADDRESS +STATE")
    p.expect("maglev> ")
    assert "unknown word" not in p.before
    p.sendline("exit")
    p.expect(pexpect.EOF)


def test_shell_tab_lists_backend_names(lab):
    p = shell(lab)
    p.send("show backend b\t")
    time.sleep(0.3)
    p.send("\t")
    p.expect(r"b1 +b2 +b3\r\n")
    p.expect("maglev> show backend b")  # the line is shown again
    p.send("2\r")
    p.expect("backend b2 up")
    p.expect("maglev> ")
    p.sendline("quit")
    p.expect(pexpect.EOF)


def test_shell_question_mark_help(lab):
    p = shell(lab)
    p.send("show ?")
    for word, help in (("version", "Show the maglevd version"), ("frontends", "Show all frontends"),
                       ("backend", "Show one backend"), ("healthchecks", "Show all healthchecks")):
        p.expect(rf"  {word} +{help}\r\n")
    p.expect(r"maglev> show ")  # re-displayed, unchanged
    p.send("backends\r")
    p.expect("NAME +ADDRESS +STATE")
    p.expect("maglev> ")
    p.send("show backend ?")
    p.expect(r"NAME +Backend name")
    p.expect(r"  b3\r\n")
    p.expect(r"maglev> show backend ")
    p.send("\x15quit\r")  # Ctrl-U clears the line
    p.expect(pexpect.EOF)


def test_shell_errors_and_ctrl_c(lab):
    p = shell(lab)
    p.sendline("show backend nope")
    p.expect('error: backend "nope" not found')
    p.expect("maglev> ")
    p.sendline("bogus")
    p.expect('unknown word "bogus"')
    p.expect("maglev> ")
    p.send("show fronts")
    p.send("\x03")  # Ctrl-C drops the line
    p.expect("maglev> ")
    p.sendline("watch events backend")
    p.expect("backend  b1")
    p.send("\x03")  # Ctrl-C ends the stream, the shell stays
    p.expect("maglev> ")
    p.sendline("show version")
    p.expect(rf"maglevd +{re.escape(VERSION)}")
    p.expect("maglev> ")
    p.sendeof()  # Ctrl-D leaves
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 0


def test_shell_history(lab):
    home = tempfile.mkdtemp(prefix="maglevc-hist-", dir=lab.dir)
    p = shell(lab, HOME=home)
    p.sendline("show healthchecks")
    p.expect("RISE/FALL")
    p.expect("maglev> ")
    p.sendline("quit")
    p.expect(pexpect.EOF)
    assert "show\\040healthchecks" in open(os.path.join(home, ".maglevc_history")).read()
    p = shell(lab, HOME=home)
    p.send("\x1b[A")  # Up: the previous session's last command (quit is not kept)
    p.send("\r")
    p.expect("RISE/FALL")
    p.expect("maglev> ")
    p.sendline("quit")
    p.expect(pexpect.EOF)


def test_batch_mode_from_a_pipe(lab):
    r = subprocess.run([MAGLEVC, "-s", lab.daemon.grpc_addr], input="show backends\n# c\n"
                       "show backend nope\nshow frontends\n", capture_output=True, text=True,
                       env=env(lab), timeout=30)
    assert r.returncode == 1
    assert "b3" in r.stdout and "web" in r.stdout
    assert 'backend "nope" not found' in r.stderr
