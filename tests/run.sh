#!/usr/bin/env bash
# Runs every test suite and adds up their results.
#
#   tests/run.sh BUILD_DIR [FILTER]
#
# Suites are the C test binaries BUILD_DIR/tests/test_* and the scripts
# tests/*.test.sh (which get BUILD_DIR as $1). Each suite's last line is
# `N passed, N failed`; a suite that crashes or prints no such line counts as
# one failure. With LR_VALGRIND=1 the C binaries run under valgrind memcheck.
# The last line printed here is the total, `N passed, N failed`.
set -u
build=${1:-build}
filter=${2:-}
cd "$(dirname "$0")/.." || exit 1

total_pass=0
total_fail=0
failed_suites=()

run_suite() {
    local name=$1; shift
    local out rc line p f
    out=$(mktemp)
    "$@" >"$out" 2>&1
    rc=$?
    line=$(grep -E '^([A-Za-z_-]+: )?[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
    if [[ $line =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
        p=${BASH_REMATCH[1]}; f=${BASH_REMATCH[2]}
    else
        p=0; f=1
    fi
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
    if [ "$f" -ne 0 ]; then
        failed_suites+=("$name")
        echo "--- $name: $p passed, $f failed (exit $rc)"
        tail -n 40 "$out"
    else
        echo "--- $name: $p passed, $f failed"
    fi
    rm -f "$out"
}

vg=()
if [ "${LR_VALGRIND:-0}" = 1 ]; then
    vg=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite)
fi

for t in "$build"/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    [ -n "$filter" ] && [[ $name != *"$filter"* ]] && continue
    run_suite "$name" "${vg[@]}" "$t"
done

if [ "${LR_VALGRIND:-0}" != 1 ]; then
    for s in tests/*.test.sh; do
        [ -f "$s" ] || continue
        name=$(basename "$s" .test.sh)
        [ -n "$filter" ] && [[ $name != *"$filter"* ]] && continue
        run_suite "$name" bash "$s" "$build"
    done
fi

if [ ${#failed_suites[@]} -ne 0 ]; then
    echo "failing suites: ${failed_suites[*]}"
fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
