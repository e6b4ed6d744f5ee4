#!/usr/bin/python3
"""Counts test results across meson test logs and extra result files, and
prints one closing line: "N passed, N failed".

A cmocka binary counts its own tests ("[  PASSED  ] N test(s)."), a runner
that prints "N passed, N failed" counts those, pytest counts its summary, anything else counts once by
its exit status. A test that failed without reporting a failure counts as one
failure, so a crash is never lost.
usage: test_summary.py [--meson BUILDDIR]... [--result NAME=RC]...
"""
import argparse
import json
import os
import re
import sys

CM_PASS = re.compile(r"^\[  PASSED  \] (\d+) test", re.M)
CM_FAIL = re.compile(r"^\[  FAILED  \] (\d+) test", re.M)
PLAIN = re.compile(r"^(\d+) passed, (\d+) failed", re.M)
PYTEST = re.compile(r"^=*\s*((?:\d+ \w+(?:, )?)+) in [\d.]+s", re.M)


def pytest_counts(out):
    m = PYTEST.findall(out)
    if not m:
        return None
    words = dict((w, int(n)) for n, w in re.findall(r"(\d+) (\w+)", m[-1]))
    return words.get("passed", 0), words.get("failed", 0) + words.get("error", 0) + \
        words.get("errors", 0)


def count_meson(builddir):
    passed = failed = 0
    path = os.path.join(builddir, "meson-logs", "testlog.json")
    with open(path) as f:
        for line in f:
            t = json.loads(line)
            out = (t.get("stdout") or "") + "\n" + (t.get("stderr") or "")
            ok = t.get("result") == "OK"
            p = f = 0
            m = PLAIN.findall(out)
            if CM_PASS.search(out) or CM_FAIL.search(out):
                p = sum(int(x) for x in CM_PASS.findall(out))
                f = sum(int(x) for x in CM_FAIL.findall(out))
            elif m:
                p, f = int(m[-1][0]), int(m[-1][1])
            elif pytest_counts(out):
                p, f = pytest_counts(out)
            else:
                p, f = (1, 0) if ok else (0, 1)
            if not ok and f == 0:
                f = 1
            passed += p
            failed += f
    return passed, failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--meson", action="append", default=[])
    ap.add_argument("--result", action="append", default=[])
    a = ap.parse_args()
    passed = failed = 0
    for d in a.meson:
        try:
            p, f = count_meson(d)
        except OSError as e:
            print(f"summary: {d}: {e}", file=sys.stderr)
            p, f = 0, 1
        print(f"summary: {d}: {p} passed, {f} failed")
        passed += p
        failed += f
    for r in a.result:
        name, rc = r.rsplit("=", 1)
        ok = rc == "0"
        print(f"summary: {name}: {'passed' if ok else 'FAILED'}")
        passed += ok
        failed += not ok
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
