#!/usr/bin/env bash
# static.test.sh — the static binaries and the built-in model.
#
#   bash tests/static.test.sh BUILD_DIR
#
# Builds with `make static` (the x86-64 binary links BUILD_DIR's objects
# with -static; the arm64 one is cross-compiled into BUILD_DIR/static-arm64,
# kept between runs) with a model embedded: the default
# models/logrisk-mini.lrm when it exists, else a tiny model converted from
# tests/fixtures/model/linear, so the built-in path is always what is tested.
# The reference is BUILD_DIR/logrisk (dynamic) scoring the same lines with
# `-m` on the same model file.
#
# Checked: the x86-64 binary has no program interpreter and no dynamic
# section; copied ALONE into an empty directory and run there with chroot
# (or `unshare -r --root`), so no /lib, /etc or /proc, it scores lines from
# stdin with no -m: one JSON object per input line, in order, identical to
# the reference; -m with a model copied in works too; a build with `MODEL=`
# says "no built-in model" and exits non-zero; replacing the model file
# relinks the binary (new scores); the arm64 binary (static, AArch64) scores
# the same lines under qemu-aarch64 within 1e-4 of the reference for an f32
# model; for a q8 one (the default built-in model) within 5e-3 (NEON's fp32
# kernels round differently from AVX-512's, and a last-bit difference can
# move an activation across an int8 rounding step), and then the f32 master
# models/logrisk-mini.f32.lrm, given with -m, within 1e-4. Sizes with
# and without the model are printed. Without root or the cross tools this
# suite fails in CI (CI=true) and says loudly what it skipped elsewhere.
# Last line: `N passed, N failed`.
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
bin=$build/logrisk
out=tests/out/static
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
. tests/lib.sh
skip_or_fail() {
    if [ "${CI:-}" = true ]; then bad "$1"; else echo "static: SKIPPED: $1" >&2; fi
}

# A sanitizer build's objects cannot be linked -static (ASan has no static
# runtime): this suite is about the product binary, which `make test` checks.
if nm "$build/obj/util.o" 2>/dev/null | grep -q __asan; then
    echo "static: $build is a sanitizer build; static linking is checked by make test" >&2
    finish
fi

# The make run from here must not inherit `make test`'s flags or jobserver.
unset MAKEFLAGS MFLAGS MAKELEVEL
mk() { make --no-print-directory -j2 BUILD="$build" "$@" >"$out/make.log" 2>&1 || { cat "$out/make.log"; return 1; }; }

rm -rf "$out"
mkdir -p "$out"

# ------------------------------------------------------------ models, input
if ! "$bin" convert --from-safetensors tests/fixtures/model/linear -o "$out/a.lrm" >"$out/conv.log" 2>&1 ||
   ! "$bin" convert --from-safetensors tests/fixtures/model/pooler -o "$out/b.lrm" >>"$out/conv.log" 2>&1; then
    bad "convert of the test fixtures failed: $(cat "$out/conv.log")"
    finish
fi
model=${LR_STATIC_MODEL:-models/logrisk-mini.lrm} # env: another model to embed
[ -f "$model" ] || model=$out/a.lrm
echo "static: embedded model: $model ($(wc -c <"$model") bytes)" >&2

{
    head -n 30 models/samples/sample_logs.log
    printf '\n'                                          # an empty line
    printf 'kubelet: pod evicted, disk pressure\r\n'     # CRLF
    printf 'bad utf-8 \xff\xfe here and a NUL \0 byte\n'
    printf 'E1122 panic: runtime error: index out of range' # no final newline
} >"$out/in.txt"
n_in=$(($(wc -l <"$out/in.txt") + 1))

"$bin" score -m "$model" <"$out/in.txt" >"$out/ref.jsonl" 2>"$out/ref.err"
check '[ $? -eq 0 ] && [ "$(wc -l <"$out/ref.jsonl")" -eq $n_in ]' "reference scoring with -m failed: $(cat "$out/ref.err")"
"$bin" score -m "$out/b.lrm" <"$out/in.txt" >"$out/ref_b.jsonl" 2>/dev/null
"$bin" score -m "$out/a.lrm" <"$out/in.txt" >"$out/ref_a.jsonl" 2>/dev/null

# jsonl_ok FILE [N]: one JSON object per input line, "line" counting 1..N (n_in)
jsonl_ok() {
    "$py" - "$1" "${2:-$n_in}" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
want = int(sys.argv[2])
assert len(rows) == want, f"{len(rows)} outputs for {want} lines"
for i, r in enumerate(rows, 1):
    assert r["line"] == i, f"output {i} has line {r['line']}"
    assert abs(sum(r["probabilities"]) - 1) < 1e-4, f"line {i}: probabilities sum"
EOF
}
# near A B: same lines, probabilities and risk_score within 1e-4 (another ISA)
near() { # A.jsonl B.jsonl [TOLERANCE, default 1e-4]
    "$py" - "$1" "$2" "${3:-1e-4}" <<'EOF'
import json, sys
tol = float(sys.argv[3])
a = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
b = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
assert len(a) == len(b) and a, f"{len(a)} vs {len(b)} lines"
worst = 0.0
for x, y in zip(a, b):
    assert x["line"] == y["line"]
    d = max(abs(p - q) for p, q in zip(x["probabilities"], y["probabilities"]))
    worst = max(worst, d, abs(x["risk_score"] - y["risk_score"]) / 10)
    p = sorted(x["probabilities"])
    assert x["risk_label"] == y["risk_label"] or p[-1] - p[-2] < tol, f"line {x['line']}: label"
assert worst < tol, f"max difference {worst}"
print(f"max difference {worst:.2e}", file=sys.stderr)
EOF
}

# --------------------------------------------------------- x86-64 (host)
st=$out/x86
arm=$build/static-arm64
have_cross=1
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 && command -v qemu-aarch64 >/dev/null 2>&1 || have_cross=0
[ "$(uname -m)" = x86_64 ] || have_cross=0
t0=$(date +%s)
if [ $have_cross = 1 ]; then
    mk static STATIC="$st" STATIC_ARM64="$arm" MODEL="$model"
else
    mk "$st/logrisk" STATIC="$st" MODEL="$model"
fi
check '[ $? -eq 0 ] && [ -x "$st/logrisk" ]' "make static failed"
echo "static: make static took $(($(date +%s) - t0)) s" >&2
[ -x "$st/logrisk" ] || finish

check '! readelf -lW "$st/logrisk" | grep -q "INTERP\|DYNAMIC"' "x86-64 binary is not fully static"

# run_alone DIR ARGS...: the binary DIR/logrisk as / of its own world
runner=
root=$out/root
mkdir -p "$root"
cp "$st/logrisk" "$root/logrisk"
if [ "$(id -u)" = 0 ] && chroot "$root" /logrisk score --help >/dev/null 2>&1; then
    runner=chroot
elif unshare -r --root="$root" /logrisk score --help >/dev/null 2>&1; then
    runner=unshare
fi
run_alone() {
    local dir=$1
    shift
    if [ $runner = chroot ]; then chroot "$dir" "$@"; else unshare -r --root="$dir" "$@"; fi
}
if [ -z "$runner" ]; then
    skip_or_fail "neither chroot (needs root) nor unshare -r works here: the empty-directory run is NOT tested"
else
    check '[ "$(ls -A "$root")" = logrisk ]' "the run directory holds more than the binary"
    run_alone "$root" /logrisk score <"$out/in.txt" >"$out/x86.jsonl" 2>"$out/x86.err"
    check '[ $? -eq 0 ] && jsonl_ok "$out/x86.jsonl"' "built-in model in an empty root: $(head -c 300 "$out/x86.err")"
    check 'cmp -s "$out/x86.jsonl" "$out/ref.jsonl"' "built-in model scores differ from -m on the same file"
    cp "$out/b.lrm" "$root/b.lrm"
    run_alone "$root" /logrisk score -m /b.lrm <"$out/in.txt" >"$out/x86_b.jsonl" 2>/dev/null
    check '[ $? -eq 0 ] && cmp -s "$out/x86_b.jsonl" "$out/ref_b.jsonl"' "-m with a model copied into the empty root"
    rm -f "$root/b.lrm"
    # inspect --builtin: the same report as inspect on the file, bar the name
    run_alone "$root" /logrisk inspect --builtin >"$out/insp.txt" 2>&1
    "$bin" inspect "$model" >"$out/insp_ref.txt" 2>&1
    check '[ $? -eq 0 ] && grep -q "^file: *built-in $(basename "$model")\$" "$out/insp.txt" &&
           diff <(tail -n +2 "$out/insp.txt") <(tail -n +2 "$out/insp_ref.txt") >/dev/null' \
        "inspect --builtin differs from inspect on the model file"
    run_alone "$root" /logrisk score --help >"$out/help.txt" 2>&1
    check '[ $? -eq 0 ] && grep -q "usage: logrisk score" "$out/help.txt"' "score --help in the empty root"
fi

# ------------------------------------- the image, through the C API
# A program of our own linked with the model object (as docs/building.md tells
# users to): the image is 64-byte aligned, in a read-only mapping of the
# executable, byte-identical to the file, and loads.
cat >"$out/probe.c" <<'PROBE'
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "logrisk.h"
#include "model_builtin.h"
int main(int argc, char **argv) {
    const void *img;
    size_t n;
    const char *name;
    if (argc != 2 || !lr_model_has_builtin() || !lr__model_builtin_image(&img, &n, &name)) return puts("no image"), 1;
    if ((uintptr_t)img % 64) return puts("not 64-byte aligned"), 1;
    FILE *f = fopen(argv[1], "rb");
    char *buf = malloc(n + 1);
    if (!f || !buf || fread(buf, 1, n + 1, f) != n || memcmp(buf, img, n)) return puts("differs from the file"), 1;
    fclose(f);
    free(buf);
    char line[512], perms[8] = "";
    FILE *maps = fopen("/proc/self/maps", "r");
    while (maps && fgets(line, sizeof line, maps)) {
        uintptr_t lo, hi;
        char p[8];
        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %4s", &lo, &hi, p) == 3 && lo <= (uintptr_t)img &&
            (uintptr_t)img < hi)
            memcpy(perms, p, 5);
    }
    if (maps) fclose(maps);
    if (strcmp(perms, "r--p") != 0) return printf("mapped '%s', not r--p\n", perms), 1;
    lr_error err = {0};
    lr_model *m = lr_model_load_builtin(&err);
    if (!m) return printf("load: %s\n", err.msg), 1;
    lr_model_free(m);
    printf("ok %s\n", name);
    return 0;
}
PROBE
if cc -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude -Isrc "$out/probe.c" "$st/logrisk-model.o" \
      "$build/liblogrisk.a" -lyaml -lpcre2-8 -lutf8proc -lpthread -lm -o "$out/probe" 2>"$out/probe.err"; then
    "$out/probe" "$model" >"$out/probe.txt" 2>&1
    check '[ $? -eq 0 ] && [ "$(cat "$out/probe.txt")" = "ok built-in $(basename "$model")" ]' \
        "embedded image via the C API: $(cat "$out/probe.txt")"
else
    bad "a program linked with the model object does not build: $(cat "$out/probe.err")"
fi

# ------------------------------------------------------------- no model
nm_dir=$out/nomodel
mk "$nm_dir/logrisk" STATIC="$nm_dir" MODEL=
check '[ $? -eq 0 ] && [ -x "$nm_dir/logrisk" ]' "static build with MODEL= failed"
if [ -x "$nm_dir/logrisk" ]; then
    echo x | "$nm_dir/logrisk" score >/dev/null 2>"$out/nm.err"
    check '[ $? -ne 0 ] && grep -q "no built-in model" "$out/nm.err"' "MODEL= build: score without -m must say there is no built-in model"
    "$nm_dir/logrisk" inspect --builtin >/dev/null 2>"$out/nm.err"
    check '[ $? -eq 1 ] && grep -q "no built-in model" "$out/nm.err"' "MODEL= build: inspect --builtin must fail"
    "$nm_dir/logrisk" score -m "$model" <"$out/in.txt" >"$out/nm.jsonl" 2>/dev/null
    check 'cmp -s "$out/nm.jsonl" "$out/ref.jsonl"' "MODEL= build with -m"
    with=$(wc -c <"$st/logrisk")
    without=$(wc -c <"$nm_dir/logrisk")
    msize=$(wc -c <"$model")
    # the model's bytes, give or take the page alignment of the segments
    d=$((with - without - msize))
    check '[ ${d#-} -lt 8192 ]' "the model adds $((with - without)) bytes, not about its $msize"
    echo "static: x86-64 binary: $without bytes without the model, $with with it ($model)" >&2
fi

# --------------------------------------------------- a new model relinks
sw=$out/swap
cp "$out/a.lrm" "$out/swap.lrm"
mk "$sw/logrisk" STATIC="$sw" MODEL="$out/swap.lrm"
"$sw/logrisk" score <"$out/in.txt" >"$out/swap1.jsonl" 2>/dev/null
check 'cmp -s "$out/swap1.jsonl" "$out/ref_a.jsonl"' "embedded model a"
sleep 1 # a newer mtime than the object's, on any file system
cp "$out/b.lrm" "$out/swap.lrm"
mk "$sw/logrisk" STATIC="$sw" MODEL="$out/swap.lrm"
"$sw/logrisk" score <"$out/in.txt" >"$out/swap2.jsonl" 2>/dev/null
check 'cmp -s "$out/swap2.jsonl" "$out/ref_b.jsonl"' "replacing the model file did not relink the binary"

# ------------------------------------------------------------------ arm64
if [ $have_cross = 0 ]; then
    skip_or_fail "no aarch64-linux-gnu-gcc / qemu-aarch64 (bash tools/deps.sh test): arm64 NOT tested"
else
    check '[ -x "$arm/logrisk" ]' "make static built no arm64 binary"
    if [ -x "$arm/logrisk" ]; then
        hdr=$(readelf -hlW "$arm/logrisk")
        check 'grep -q "AArch64" <<<"$hdr" && ! grep -q "INTERP\|DYNAMIC" <<<"$hdr"' "arm64 binary is not a static AArch64 executable"
        # emulation runs BERT-mini at ~2 lines/s: 6 log lines + the 4 hostile ones
        { head -n 6 "$out/in.txt"; tail -n 4 "$out/in.txt"; } >"$out/arm_in.txt"
        "$bin" score -m "$model" <"$out/arm_in.txt" >"$out/arm_ref.jsonl" 2>/dev/null
        qemu-aarch64 "$arm/logrisk" score <"$out/arm_in.txt" >"$out/arm.jsonl" 2>"$out/arm.err"
        check '[ $? -eq 0 ] && jsonl_ok "$out/arm.jsonl" 10' "arm64 under qemu: $(head -c 300 "$out/arm.err")"
        tol=1e-4
        "$bin" inspect "$model" | grep -q 'model\.dtype *"q8"' && tol=5e-3
        check 'near "$out/arm.jsonl" "$out/arm_ref.jsonl" $tol' "arm64 scores differ from the x86-64 reference"
        master=models/logrisk-mini.f32.lrm
        if [ "$tol" != 1e-4 ] && [ "$model" = models/logrisk-mini.lrm ] && [ -f "$master" ]; then
            "$bin" score -m "$master" <"$out/arm_in.txt" >"$out/arm_ref32.jsonl" 2>/dev/null
            qemu-aarch64 "$arm/logrisk" score -m "$master" <"$out/arm_in.txt" >"$out/arm32.jsonl" 2>"$out/arm.err"
            check '[ $? -eq 0 ] && near "$out/arm32.jsonl" "$out/arm_ref32.jsonl"' \
                "arm64 scores with the f32 master differ from the x86-64 reference: $(head -c 300 "$out/arm.err")"
        fi
        echo "static: arm64 binary: $(wc -c <"$arm/logrisk") bytes with the model" >&2
    fi
fi
finish
