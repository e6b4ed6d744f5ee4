#!/usr/bin/python3
"""Golden tests for the config loader, run through the real `maglevd --check`.

valid/NAME.yaml    must pass: `--check` exits 0, `--check --dump` prints
                   exactly valid/NAME.dump, and that dump loads again to the
                   same dump (the canonical form is a fixed point).
invalid/NAME.yaml  must fail: invalid/NAME.expect holds "exit N" on its first
                   line, then the exact stderr of `maglevd --check`.
Also checks examples/maglev.yaml.

--update rewrites .dump/.expect files from the current output (review the
diff before committing).
"""
import argparse
import os
import subprocess
import sys
import tempfile


def run(maglevd, path, *extra, cwd=None):
    env = dict(os.environ)
    env.pop("MAGLEV_CONFIG", None)
    p = subprocess.run([maglevd, "--check", *extra, "--config", path], cwd=cwd,
                       capture_output=True, text=True, env=env, timeout=60)
    return p.returncode, p.stdout, p.stderr


def check_valid(maglevd, d, name, update):
    rc, out, err = run(maglevd, name + ".yaml", "--dump", cwd=d)
    if rc != 0:
        return f"exit {rc}, want 0; stderr:\n{err}"
    dump_path = os.path.join(d, name + ".dump")
    if update:
        with open(dump_path, "w") as f:
            f.write(out)
    with open(dump_path) as f:
        want = f.read()
    if out != want:
        return f"dump differs from {name}.dump:\n{out}"
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as t:
        t.write(out)
    try:
        rc2, out2, err2 = run(maglevd, t.name, "--dump")
    finally:
        os.unlink(t.name)
    if rc2 != 0 or out2 != out:
        return f"the dump does not load to itself (exit {rc2}):\n{err2}{out2}"
    rc3, out3, _ = run(maglevd, name + ".yaml", cwd=d)
    if rc3 != 0 or not out3.startswith(name + ".yaml: OK: "):
        return f"--check without --dump: exit {rc3}, stdout {out3!r}"
    return None


def check_invalid(maglevd, d, name, update):
    rc, out, err = run(maglevd, name + ".yaml", cwd=d)
    got = f"exit {rc}\n{err}"
    exp_path = os.path.join(d, name + ".expect")
    if update:
        with open(exp_path, "w") as f:
            f.write(got)
    with open(exp_path) as f:
        want = f.read()
    if rc not in (1, 2):
        return f"exit {rc}, want 1 or 2"
    if out:
        return f"unexpected stdout: {out!r}"
    if got != want:
        return f"want:\n{want}got:\n{got}"
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--maglevd", required=True)
    ap.add_argument("--dir", required=True, help="tests/config")
    ap.add_argument("--example", required=True)
    ap.add_argument("--update", action="store_true")
    a = ap.parse_args()
    passed = failed = 0
    cases = []
    for kind, fn in (("valid", check_valid), ("invalid", check_invalid)):
        d = os.path.join(a.dir, kind)
        for f in sorted(os.listdir(d)):
            if f.endswith(".yaml"):
                cases.append((kind, d, f[:-5], fn))
    for kind, d, name, fn in cases:
        try:
            problem = fn(a.maglevd, d, name, a.update)
        except subprocess.TimeoutExpired:
            problem = "timed out"
        if problem:
            failed += 1
            print(f"FAIL {kind}/{name}: {problem}")
        else:
            passed += 1
            print(f"ok   {kind}/{name}")
    rc, out, err = run(a.maglevd, a.example)
    if rc == 0:
        passed += 1
        print(f"ok   example {os.path.basename(a.example)}")
    else:
        failed += 1
        print(f"FAIL example: exit {rc}\n{err}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
