#!/usr/bin/env bash
# The NEON kernels on arm64: cross-compiles the kernel and pool sources
# (util.c, pool.c, kern*.c, qkern*.c: nothing that needs libyaml, PCRE2 or
# utf8proc) with tests/test_kern.c, tests/test_pool.c and tests/test_qkern.c
# using Debian's aarch64-linux-gnu-gcc, and runs them under qemu-aarch64,
# where the NEON tables are compared with the scalar reference like the x86
# tables are. The int8 tables run twice: on qemu's default CPU (which has
# the dot product: "neondot" and "neon" both checked) and on a Cortex-A53
# model (ARMv8.0, no dot product: only "neon" may run, and an instruction
# newer than v8.0 in its code would kill it with SIGILL).
#
#   tests/neon.test.sh BUILD_DIR
#
# The cross toolchain and qemu come from `tools/deps.sh test`. Without them
# this suite fails (in CI, CI=true) or says loudly that it skipped (on a
# developer machine). Last line: `N passed, N failed`.
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
cc=aarch64-linux-gnu-gcc
sysroot=/usr/aarch64-linux-gnu
out=$build/neon

missing=()
command -v "$cc" >/dev/null 2>&1 || missing+=(gcc-aarch64-linux-gnu)
command -v qemu-aarch64 >/dev/null 2>&1 || missing+=(qemu-user)
if [ ${#missing[@]} -ne 0 ]; then
    echo "neon: missing ${missing[*]} (install with: bash tools/deps.sh test)" >&2
    if [ "${CI:-}" = true ]; then
        echo "0 passed, 1 failed"
        exit 1
    fi
    echo "neon: SKIPPED on this machine, NOT tested" >&2
    echo "0 passed, 0 failed"
    exit 0
fi

mkdir -p "$out"
# Static: with Debian's multiarch arm64 libc also installed, a dynamic binary
# under `qemu-aarch64 -L` can load ld.so and libc from different packages
# and hang in pthread_create; a static one depends on nothing.
flags=(-std=c11 -Wall -Wextra -Werror -O2 -g -static -Iinclude -Isrc -Itests -D_GNU_SOURCE)
lib=(src/util.c src/cpu.c src/pool.c src/kern.c src/kern_ref.c src/kern_neon.c)
qlib=(src/util.c src/cpu.c src/qkern.c src/qkern_ref.c "$out/qkern_neon.o")
pass=0
fail=0
for t in kern pool; do
    if ! "$cc" "${flags[@]}" "tests/test_$t.c" "${lib[@]}" -lpthread -lm -o "$out/test_$t"; then
        echo "neon: cross-compiling test_$t failed" >&2
        fail=$((fail + 1))
    fi
done
# qkern_neon.c needs the dot-product extension's flags (as in the Makefile)
rm -f "$out/test_qkern"
if ! "$cc" "${flags[@]}" -march=armv8.2-a+dotprod -c src/qkern_neon.c -o "$out/qkern_neon.o" ||
   ! "$cc" "${flags[@]}" tests/test_qkern.c "${qlib[@]}" -lpthread -lm -o "$out/test_qkern"; then
    echo "neon: cross-compiling test_qkern failed" >&2
    fail=$((fail + 1))
fi

# run ENV BINARY [CASES...]: adds the binary's `N passed, N failed` to the
# totals; its whole output stays in $last_out
last_out=
run() {
    local env=$1 bin=$2 line
    shift 2
    # a hang must fail the suite, not stall the run (not `tee /dev/stderr`:
    # when stderr is a file, tee reopens it with O_TRUNC and overwrites what
    # this script already wrote there). test_pool hangs in about one run of
    # three under qemu-user (never natively in the same tests), so a run
    # that times out is retried, up to 6 times, and each retry is reported
    local attempt rc
    for attempt in 1 2 3 4 5 6; do
        last_out=$(env "$env" timeout 90 qemu-aarch64 -L "$sysroot" "$bin" "$@" 2>&1)
        rc=$?
        [ $rc -ne 124 ] && break
        echo "neon: $bin $* timed out under qemu (attempt $attempt), retrying" >&2
    done
    printf '%s\n' "$last_out" >&2
    line=$(tail -n 1 <<<"$last_out")
    if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        pass=$((pass + BASH_REMATCH[1]))
        fail=$((fail + BASH_REMATCH[2]))
    else
        echo "neon: $bin $* printed no result line" >&2
        fail=$((fail + 1))
    fi
}

if [ -x "$out/test_kern" ]; then
    # test_isa_selection checks that neon is the table chosen on arm64
    run LOGRISK_ISA= "$out/test_kern"
    run LOGRISK_ISA=ref "$out/test_kern" isa
    run LOGRISK_ISA=avx512 "$out/test_kern" isa
fi
[ -x "$out/test_pool" ] && run LOGRISK_ISA= "$out/test_pool"

# expect CPU N: the int8 tables besides ref that test_qkern compared on qemu
# CPU model CPU ("max" has the dot product, cortex-a53 does not)
expect_tables() {
    if grep -q "q8: $2 table(s) besides ref" <<<"$last_out"; then
        pass=$((pass + 1))
    else
        echo "neon: on qemu CPU $1 test_qkern should compare $2 int8 table(s) with ref" >&2
        fail=$((fail + 1))
    fi
}
if [ -x "$out/test_qkern" ]; then
    run QEMU_CPU=max "$out/test_qkern"
    expect_tables max 2
    run QEMU_CPU=cortex-a53 "$out/test_qkern"
    expect_tables cortex-a53 1
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
