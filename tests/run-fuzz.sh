#!/bin/sh
# run-fuzz.sh — builds the libFuzzer targets (clang, ASan+UBSan) and runs
# each for a bounded time; FUZZ_SECONDS (default 60) is split among them.
# Exit status: 0 when no fuzzer found a problem.
set -u
cd "$(dirname "$0")/.."
B=build-fuzz
FUZZERS="fuzz_config fuzz_cmdtree fuzz_vpp_decode fuzz_vpp_stats"
total=${FUZZ_SECONDS:-60}
n=$(echo $FUZZERS | wc -w)
each=$((total / n))
[ "$each" -ge 5 ] || each=5
if [ ! -f $B/build.ninja ]; then
    CC=clang meson setup $B -Dfuzz=true -Dtests=false -Db_sanitize=address,undefined \
        -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link -Dbuildtype=debugoptimized \
        >/dev/null || exit 1
fi
ninja -C $B >/dev/null || { ninja -C $B; exit 1; }
rc=0
for f in $FUZZERS; do
    work=$(mktemp -d)
    mkdir -p "$work/corpus" "$work/artifacts"
    case $f in
    fuzz_config) seeds="tests/config/valid tests/config/invalid examples"; dict=tests/fuzz/config.dict ;;
    fuzz_cmdtree) seeds="tests/fuzz/corpus-cmdtree"; dict=tests/fuzz/cmdtree.dict ;;
    fuzz_vpp_decode) seeds="tests/fuzz/corpus-vpp"; dict=tests/fuzz/vpp.dict ;;
    fuzz_vpp_stats) seeds="tests/fuzz/corpus-stats"; dict=tests/fuzz/stats.dict ;;
    esac
    echo "fuzz: $f for ${each}s"
    if ! $B/tests/fuzz/$f -max_total_time="$each" -timeout=10 -rss_limit_mb=2048 \
        -dict="$dict" -artifact_prefix="$work/artifacts/" -print_final_stats=1 \
        "$work/corpus" $seeds >"$work/log" 2>&1; then
        echo "fuzz: $f FAILED; last lines of its log:"
        tail -n 40 "$work/log"
        mkdir -p fuzz-artifacts && cp "$work"/artifacts/* fuzz-artifacts/ 2>/dev/null
        rc=1
    else
        grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "$work/log" | sed "s/^/fuzz: $f: /"
    fi
    rm -rf "$work"
done
exit $rc
