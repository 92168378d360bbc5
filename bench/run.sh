#!/usr/bin/env bash
# Runs every benchmark: the C programs BUILD/bench/bench_* and the scripts
# bench/*.bench.sh (which get BUILD as $1). Each prints its own results and
# the ratio to the peer it measured in the same run. Output is also kept in
# bench/out/latest.txt.
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
mkdir -p bench/out
{
    echo "# logrisk bench $(date -u +%Y-%m-%dT%H:%MZ) on $(uname -m), $(nproc) cores," \
         "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
    status=0
    for b in "$build"/bench/bench_*; do
        [ -x "$b" ] || continue
        echo "## $(basename "$b")"
        "$b" || status=1
    done
    for s in bench/*.bench.sh; do
        [ -f "$s" ] || continue
        echo "## $(basename "$s" .bench.sh)"
        bash "$s" "$build" || status=1
    done
    exit $status
} 2>&1 | tee bench/out/latest.txt
exit "${PIPESTATUS[0]}"
