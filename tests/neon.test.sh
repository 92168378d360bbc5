#!/usr/bin/env bash
# The NEON kernels on arm64: cross-compiles the kernel and pool sources
# (util.c, pool.c, kern*.c: nothing that needs libyaml, PCRE2 or utf8proc)
# with tests/test_kern.c and tests/test_pool.c using Debian's
# aarch64-linux-gnu-gcc, and runs them under qemu-aarch64, where the NEON
# table is compared with the scalar reference like the x86 tables are.
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
lib=(src/util.c src/pool.c src/kern.c src/kern_ref.c src/kern_neon.c)
pass=0
fail=0
for t in kern pool; do
    if ! "$cc" "${flags[@]}" "tests/test_$t.c" "${lib[@]}" -lpthread -lm -o "$out/test_$t"; then
        echo "neon: cross-compiling test_$t failed" >&2
        fail=$((fail + 1))
    fi
done

# run ENV BINARY [CASES...]: adds the binary's `N passed, N failed` to the totals
run() {
    local env=$1 bin=$2 line
    shift 2
    # a hang (emulation trouble) must fail the suite, not stall the run
    line=$(env "$env" timeout 300 qemu-aarch64 -L "$sysroot" "$bin" "$@" 2>&1 | tee /dev/stderr |
           tail -n 1)
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
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
