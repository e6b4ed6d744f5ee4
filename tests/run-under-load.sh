#!/bin/sh
# run-under-load.sh — the python suites (integration, api, vppsim), as
# run-all.sh runs them (meson test on the gcc build in build/, as it is:
# build it first), RUNS times in a row (default 5) while a CPU hog keeps
# every core busy: what CI's shared two cores look like at a load average
# of 10-20. A test that passes alone but fails here asserts a timing that
# load can break.
#
#   RUNS=N           runs (default 5)
#   HOGS=N           CPU hog workers (default 6 per core: a load average of
#                    about 14 on two cores, with the tests' own processes)
#   TIMEOUT_MULT=N   meson's test timeout multiplier (default 4: the
#                    integration suite's 900 s is sized for an idle machine)
#   BUILD=dir        the build (default build)
#
# The hog is stress-ng (Debian's stress-ng, see tools/deps.sh) or, without
# it, shell busy loops; it is stopped on exit whatever happens (Ctrl-C
# stops the suite and then this script; a SIGTERM to this script alone
# takes effect once the suite running finishes), and has a timeout of its
# own in case this script is killed outright. Each run's
# meson log is kept in $BUILD/under-load/. Prints per run passed/failed and
# the load average seen, ends with one line "N passed, N failed" (totals);
# exit 1 if any test failed.
set -u
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
BUILD=${BUILD:-build}
TIMEOUT_MULT=${TIMEOUT_MULT:-4}
ncpu=$(nproc)
HOGS=${HOGS:-$((6 * ncpu))}
OUT=$BUILD/under-load
SUITES="--suite integration --suite api --suite vppsim"

if [ ! -f "$BUILD/build.ninja" ]; then
    echo "run-under-load: no $BUILD/build.ninja; build first (make build)" >&2
    exit 1
fi
# one run at a time per build: a second would clear this one's logs
exec 9>"$BUILD/under-load.lock"
if ! flock -n 9; then
    echo "run-under-load: another run-under-load.sh is using $BUILD" >&2
    exit 1
fi
rm -rf "$OUT"
mkdir -p "$OUT"

hog_pid=""
sampler_pid=""
busy_pids=""
cleanup() {
    [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null
    # stress-ng leads its own process group (setsid): the group goes at once
    [ -n "$hog_pid" ] && kill -TERM "-$hog_pid" 2>/dev/null
    for p in $busy_pids; do kill "$p" 2>/dev/null; done
    [ -n "$hog_pid" ] && wait "$hog_pid" 2>/dev/null
    for p in $busy_pids; do wait "$p" 2>/dev/null; done
    sampler_pid="" hog_pid="" busy_pids=""
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# a bound for the hog itself, should this script be killed before its trap
hog_secs=$((RUNS * 3600))
if command -v stress-ng >/dev/null 2>&1; then
    echo "run-under-load: stress-ng --cpu $HOGS on $ncpu cores, $RUNS runs"
    setsid stress-ng --cpu "$HOGS" --timeout "${hog_secs}s" --quiet </dev/null \
        >"$OUT/stress-ng.log" 2>&1 9>&- &
    hog_pid=$!
else
    echo "run-under-load: no stress-ng (apt-get install stress-ng); $HOGS shell busy loops" \
         "on $ncpu cores, $RUNS runs"
    i=0
    while [ $i -lt "$HOGS" ]; do
        timeout "$hog_secs" sh -c 'while :; do :; done' 9>&- &
        busy_pids="$busy_pids $!"
        i=$((i + 1))
    done
fi
# load averages, every 5 s, for the report
(while :; do cut -d' ' -f1 /proc/loadavg; sleep 5; done) >"$OUT/loadavg" 2>/dev/null 9>&- &
sampler_pid=$!
sleep 10 & wait $!  # the load climbs before the first run (a signal ends the wait)

total_p=0 total_f=0 i=1 results=""
while [ $i -le "$RUNS" ]; do
    echo
    echo "=== run $i of $RUNS ($(date -u +%H:%M:%S), load average $(cut -d' ' -f1-3 /proc/loadavg)) ==="
    mark=$(wc -l <"$OUT/loadavg")
    start=$(date +%s)
    # shellcheck disable=SC2086
    meson test -C "$BUILD" --no-rebuild $SUITES --print-errorlogs \
        --timeout-multiplier "$TIMEOUT_MULT" --logbase "under-load-$i"
    secs=$(($(date +%s) - start))
    mkdir -p "$OUT/run-$i/meson-logs"
    cp "$BUILD/meson-logs/under-load-$i.json" "$OUT/run-$i/meson-logs/testlog.json"
    cp "$BUILD/meson-logs/under-load-$i.txt" "$OUT/run-$i/" 2>/dev/null
    counts=$(/usr/bin/python3 -c '
import sys
sys.path.insert(0, "tools")
from test_summary import count_meson
p, f = count_meson(sys.argv[1])
print(p, f)' "$OUT/run-$i") || counts="0 1"
    set -- $counts
    load=$(tail -n +"$((mark + 1))" "$OUT/loadavg" | awk '
        { s += $1; n++; if ($1 > m) m = $1 }
        END { if (n) printf "load average %.1f mean, %.1f max", s / n, m; else print "no load sample" }')
    line="run $i: $1 passed, $2 failed (${secs} s, $load)"
    echo "$line"
    results="$results
$line"
    total_p=$((total_p + $1))
    total_f=$((total_f + $2))
    i=$((i + 1))
done
cleanup

echo
echo "=== summary: $RUNS runs, $HOGS CPU hogs on $ncpu cores ==="
echo "$results" | sed '/^$/d'
echo "$total_p passed, $total_f failed"
[ "$total_f" -eq 0 ]
