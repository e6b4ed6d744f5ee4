#!/bin/sh
# run-all.sh — every test, as CI runs them (`make test`):
#   1. style check (clang-format)
#   2. gcc build with -Werror, all test suites
#   3. clang build with AddressSanitizer + UndefinedBehaviorSanitizer,
#      unit and config suites again
#   4. each fuzzer for a bounded time (FUZZ_SECONDS, default 60 in total)
#   5. as root: the Debian package built, installed, upgraded and purged
#      (tests/pkg/test_install.sh, ~1.5 minutes)
# and ends with one line: "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
results=""

step() { echo; echo "=== $* ==="; }

step "style"
if clang-format --dry-run --Werror $(git ls-files '*.c' '*.h'); then style=0; else style=1; fi
results="$results --result style=$style"

step "gcc -Werror build and all tests"
if [ ! -f build/build.ninja ]; then
    CC=gcc meson setup build -Dwerror=true >/dev/null || results="$results --result gcc-setup=1"
else
    meson configure build -Dwerror=true >/dev/null
fi
if ninja -C build; then
    meson test -C build --print-errorlogs
    results="$results --meson build"
else
    results="$results --result gcc-build=1"
fi

step "clang ASan+UBSan build, unit and config tests"
if [ ! -f build-asan/build.ninja ]; then
    CC=clang meson setup build-asan -Dwerror=true -Db_sanitize=address,undefined \
        -Db_lundef=false >/dev/null || results="$results --result asan-setup=1"
fi
if ninja -C build-asan; then
    meson test -C build-asan --suite unit --suite config --print-errorlogs
    results="$results --meson build-asan"
else
    results="$results --result asan-build=1"
fi

step "fuzzers"
tests/run-fuzz.sh
results="$results --result fuzzers=$?"

step "Debian package: build, install, upgrade, purge (tests/pkg/test_install.sh)"
if [ "$(id -u)" -eq 0 ]; then
    tests/pkg/test_install.sh
    results="$results --result pkg-install=$?"
else
    echo "skipped: not root (the install test runs dpkg -i and dpkg --purge)"
fi

step "summary"
# shellcheck disable=SC2086
exec /usr/bin/python3 tools/test_summary.py $results
