#!/usr/bin/env bash
# make fuzz: builds each libFuzzer target tests/fuzz/fuzz_*.c with clang
# (ASan + UBSan + fuzzer) against the library sources and runs it for a
# duration on its committed seed corpus tests/fuzz/corpus/<name>/.
#   tests/fuzz/run.sh [DURATION] [TARGETS]
#     DURATION  seconds, or a number with s, m or h (90, 90s, 10m, 1h);
#               default 20 seconds, each target
#     TARGETS   names (or parts of names) separated by spaces or commas:
#               "fuzz_rules fuzz_config"; default every target
#   make fuzz FUZZ_TIME=10m FUZZ_TARGETS="fuzz_rules fuzz_config"
# Each run prints its executions, coverage (cov: edges, ft: features) and
# corpus size. New inputs go to build-fuzz/corpus/<name>/; with
# FUZZ_MERGE=1 the inputs that add coverage are then merged into the
# committed corpus (libFuzzer -merge=1, which keeps it small enough for the
# replay in `make test`, tests/fuzz_replay.test.sh).
set -eu
duration=${1:-20}
targets=${2:-}
case $duration in
*h) seconds=$(( ${duration%h} * 3600 )) ;;
*m) seconds=$(( ${duration%m} * 60 )) ;;
*s) seconds=${duration%s} ;;
*) seconds=$duration ;;
esac
[[ $seconds =~ ^[0-9]+$ ]] && [ "$seconds" -gt 0 ] || { echo "make fuzz: bad duration '$duration' (90, 90s, 10m, 1h)" >&2; exit 2; }
cd "$(dirname "$0")/../.."
command -v clang >/dev/null || { echo "make fuzz needs clang (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
mkdir -p build-fuzz
src=$(ls src/*.c convert/*.c 2>/dev/null | grep -v -E "kern_(avx2|avx512|avxvnni|neon)\.c")
flags="-std=c11 -g -O1 -Iinclude -Isrc -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
libs="-lyaml -lpcre2-8 -lutf8proc -levent_extra -levent_core -lpthread -lm"
# the per-ISA kernels need their own target flags (as in the Makefile)
isa=""
case $(clang -dumpmachine) in
x86_64*)
    if [ -f src/kern_avx2.c ]; then
        # shellcheck disable=SC2086
        clang $flags -mavx2 -mfma -mf16c -c src/kern_avx2.c -o build-fuzz/kern_avx2.o
        isa="$isa build-fuzz/kern_avx2.o"
    fi
    if [ -f src/kern_avx512.c ]; then
        # shellcheck disable=SC2086
        clang $flags -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma -c src/kern_avx512.c -o build-fuzz/kern_avx512.o
        isa="$isa build-fuzz/kern_avx512.o"
    fi
    # the low-precision tables (qkern.c refers to them), flags as in the Makefile
    for q in "qkern_avx2:-mavx2 -mfma" "qkern_avxvnni:-mavx2 -mfma -mavxvnni" \
             "qkern_avx512:-mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx512bf16 -mfma"; do
        [ -f "src/${q%%:*}.c" ] || continue
        # shellcheck disable=SC2086
        clang $flags ${q#*:} -c "src/${q%%:*}.c" -o "build-fuzz/${q%%:*}.o"
        isa="$isa build-fuzz/${q%%:*}.o"
    done
    ;;
aarch64*)
    if [ -f src/kern_neon.c ]; then
        # shellcheck disable=SC2086
        clang $flags -c src/kern_neon.c -o build-fuzz/kern_neon.o
        isa="$isa build-fuzz/kern_neon.o"
    fi
    if [ -f src/qkern_neon.c ]; then
        # shellcheck disable=SC2086
        clang $flags -march=armv8.2-a+dotprod -c src/qkern_neon.c -o build-fuzz/qkern_neon.o
        isa="$isa build-fuzz/qkern_neon.o"
    fi
    ;;
esac
status=0
selected() {
    [ -z "$targets" ] && return 0
    local t
    for t in ${targets//,/ }; do [[ $1 == *"$t"* ]] && return 0; done
    return 1
}
ran=0
for f in tests/fuzz/fuzz_*.c; do
    [ -f "$f" ] || continue
    name=$(basename "$f" .c)
    selected "$name" || continue
    ran=$((ran + 1))
    echo "== $name (${seconds}s)"
    # shellcheck disable=SC2086
    clang $flags "$f" $src $isa $libs -o "build-fuzz/$name"
    mkdir -p "build-fuzz/corpus/$name" "tests/fuzz/corpus/$name"
    log="build-fuzz/$name.log"
    if ! "build-fuzz/$name" -max_total_time="$seconds" -print_final_stats=1 \
        "build-fuzz/corpus/$name" "tests/fuzz/corpus/$name" >"$log" 2>&1; then
        status=1
        tail -n 30 "$log"
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\).*/cov \1 ft \2 corpus \3/p' <<<"$last")
    echo "$name: ${execs:-?} executions in ${seconds}s; ${cov:-no coverage line}"
    if [ "${FUZZ_MERGE:-0}" = 1 ]; then
        before=$(ls "tests/fuzz/corpus/$name" | wc -l)
        "build-fuzz/$name" -merge=1 "tests/fuzz/corpus/$name" "build-fuzz/corpus/$name" >"build-fuzz/$name.merge.log" 2>&1 || status=1
        echo "$name: committed corpus $before -> $(ls "tests/fuzz/corpus/$name" | wc -l) files"
    fi
done
[ "$ran" -gt 0 ] || { echo "make fuzz: no target matches '$targets'" >&2; exit 2; }
exit $status
