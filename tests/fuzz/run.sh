#!/usr/bin/env bash
# make fuzz: builds each libFuzzer target tests/fuzz/fuzz_*.c with clang
# (ASan + UBSan + fuzzer) against the library sources and runs it for
# SECONDS seconds on its committed seed corpus tests/fuzz/corpus/<name>/.
#   tests/fuzz/run.sh [SECONDS] [NAME]   (NAME: only targets whose name contains it)
# tests/fuzz_replay.test.sh replays the committed corpora in `make test`.
# New inputs go to build-fuzz/corpus/<name>/ so the committed corpus only
# changes when someone copies a finding in on purpose.
set -eu
seconds=${1:-20}
only=${2:-}
cd "$(dirname "$0")/../.."
command -v clang >/dev/null || { echo "make fuzz needs clang (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
mkdir -p build-fuzz
src=$(ls src/*.c convert/*.c 2>/dev/null | grep -v -E "kern_(avx2|avx512|avxvnni|neon)\.c")
flags="-std=c11 -g -O1 -Iinclude -Isrc -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
libs="-lyaml -lpcre2-8 -lutf8proc -lpthread -lm"
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
for f in tests/fuzz/fuzz_*.c; do
    [ -f "$f" ] || continue
    name=$(basename "$f" .c)
    [ -n "$only" ] && [[ $name != *"$only"* ]] && continue
    echo "== $name"
    # shellcheck disable=SC2086
    clang $flags "$f" $src $isa $libs -o "build-fuzz/$name"
    mkdir -p "build-fuzz/corpus/$name" "tests/fuzz/corpus/$name"
    log="build-fuzz/$name.log"
    if ! "build-fuzz/$name" -max_total_time="$seconds" -print_final_stats=1 \
        "build-fuzz/corpus/$name" "tests/fuzz/corpus/$name" >"$log" 2>&1; then
        status=1
        tail -n 30 "$log"
    fi
    grep -E 'stat::number_of_executed_units' "$log" || true
done
exit $status
