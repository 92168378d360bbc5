#!/usr/bin/env bash
# fuzz_replay.test.sh BUILD — replays every committed fuzz corpus
# (tests/fuzz/corpus/fuzz_NAME/) through its target tests/fuzz/fuzz_NAME.c,
# built with the system compiler and tests/fuzz/replay_main.c against
# BUILD/liblogrisk.a (with ASan + UBSan when that library was built with
# them, as in `make sanitize`). Each corpus file is one test; a target that
# does not build or crashes counts as a failure. `make fuzz` (clang,
# libFuzzer) is what grows the corpora.
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
cc=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# a private copy of the library, in case the tree is rebuilt meanwhile
cp "$build/liblogrisk.a" "$tmp/lib.a" || { echo "no $build/liblogrisk.a; run make first"; echo "0 passed, 1 failed"; exit 1; }
flags="-std=c11 -g -O1 -Iinclude -Isrc -D_GNU_SOURCE"
if nm "$tmp/lib.a" 2>/dev/null | grep -q __asan_; then
    flags="$flags -fsanitize=address,undefined -fno-sanitize-recover=all"
fi
libs="-lyaml -lpcre2-8 -lutf8proc -lpthread -lm"
pass=0
fail=0
for src in tests/fuzz/fuzz_*.c; do
    [ -f "$src" ] || continue
    name=$(basename "$src" .c)
    corpus=tests/fuzz/corpus/$name
    # shellcheck disable=SC2086
    if ! $cc $flags "$src" tests/fuzz/replay_main.c "$tmp/lib.a" $libs -o "$tmp/$name" 2>"$tmp/$name.cc"; then
        fail=$((fail + 1))
        echo "FAIL: $name does not build"
        head -n 10 "$tmp/$name.cc"
        continue
    fi
    if [ ! -d "$corpus" ]; then
        fail=$((fail + 1))
        echo "FAIL: $name has no seed corpus $corpus"
        continue
    fi
    out=$("$tmp/$name" "$corpus" 2>&1)
    rc=$?
    line=$(printf '%s\n' "$out" | tail -n 1)
    if [ $rc -eq 0 ] && [[ $line =~ ^([0-9]+)\ passed,\ 0\ failed$ ]]; then
        pass=$((pass + BASH_REMATCH[1]))
        echo "$name: ${BASH_REMATCH[1]} inputs replayed"
    else
        fail=$((fail + 1))
        echo "FAIL: $name (exit $rc)"
        printf '%s\n' "$out" | tail -n 20
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
