#!/usr/bin/env bash
# builtin_q8.test.sh — the built-in model is the int8 copy of the committed
# f32 master, and loses nothing that matters against it.
#
#   tests/builtin_q8.test.sh BUILD_DIR
#
# 1. tools/make_builtin.sh, run into a temporary directory, quantizes
#    models/logrisk-mini.f32.lrm (`quantize --dtype q8`): its output is
#    byte for byte models/logrisk-mini.lrm (so is a second quantization
#    with the reference kernels: the result does not depend on the CPU),
#    and the binary carries that file (inspect --builtin: the same
#    checksums, model.dtype "q8"; the master has none, so it is f32).
# 2. The two evaluations make_builtin.sh wrote (judged test split,
#    2 threads): every figure the README's table shows (Spearman,
#    AUC(>= 7), MAE, exact, within one, ECE) differs by at most 0.01
#    between q8 and f32, recomputed here from the two reports; and the
#    committed models/logrisk-mini.metrics.json states those figures
#    (within 0.01, as tests/eval.test.sh checks the README's row).
# 3. make_builtin.sh refuses a master that is not f32, with the
#    quantizer's message, and writes nothing.
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
bin=$build/logrisk
master=models/logrisk-mini.f32.lrm
builtin=models/logrisk-mini.lrm
tmp=$(mktemp -d /tmp/lr_builtin_q8_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
PY=python3

# ------------------------------------------------ 1. the same bytes
if bash tools/make_builtin.sh "$bin" "$master" "$tmp/q8.lrm" >"$tmp/make.txt" 2>&1; then
    ok
else
    bad "make_builtin.sh: $(tail -n 5 "$tmp/make.txt")"
fi
cat "$tmp/make.txt"
check 'cmp -s "$tmp/q8.lrm" "$builtin"' "$builtin is not quantize --dtype q8 of $master (regenerate: bash tools/make_builtin.sh)"
LOGRISK_ISA=ref "$bin" quantize -m "$master" -o "$tmp/q8_ref.lrm" --dtype q8 2>"$tmp/err"
check 'cmp -s "$tmp/q8_ref.lrm" "$builtin"' "quantize with LOGRISK_ISA=ref wrote other bytes: $(cat "$tmp/err")"

run inspect "$builtin"
sums_file=$(grep '^checksums:' "$tmp/out")
expect "inspect the built-in file: q8" 0 out 'model\.dtype +"q8"'
run inspect --builtin
sums_bin=$(grep '^checksums:' "$tmp/out")
expect "inspect --builtin: q8" 0 out 'model\.dtype +"q8"'
check '[ -n "$sums_bin" ] && [ "$sums_bin" = "$sums_file" ]' \
    "the binary does not carry $builtin: '$sums_bin' vs '$sums_file'"
run inspect "$master"
check '[ "$rc" -eq 0 ] && ! grep -q "model\.dtype" "$tmp/out"' "$master is not an f32 model (no model.dtype)"

# ------------------------------------------------ 2. the figures
res=$($PY - "$tmp/q8.metrics.json" models/logrisk-mini.metrics.json <<'EOF' 2>&1
import json, sys
fresh, committed = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
keys = ["spearman", "auc_ge7", "mae", "exact", "within_one", "ece"]
q8, f32 = fresh["judged_test"]["model"]["all"], fresh["judged_test_f32"]["model"]["all"]
bad = [f"q8 {k} {q8[k]} vs f32 {f32[k]}" for k in keys if abs(q8[k] - f32[k]) > 0.01]
if q8["n"] != f32["n"] or q8["n"] < 1000:
    bad.append(f"events: q8 {q8['n']}, f32 {f32['n']}")
for key in "judged_test", "judged_test_f32":
    have = committed.get(key, {}).get("model", {}).get("all", {})
    want = fresh[key]["model"]["all"]
    bad += [f"metrics.json {key}.{k}: {have.get(k)}, fresh {want[k]}" for k in keys
            if not isinstance(have.get(k), (int, float)) or abs(have[k] - want[k]) > 0.01]
if committed.get("dtype") != "q8" or committed.get("master") != "models/logrisk-mini.f32.lrm":
    bad.append(f"metrics.json dtype {committed.get('dtype')}, master {committed.get('master')}")
print("; ".join(bad) if bad else "ok")
EOF
)
check '[ "$res" = ok ]' "q8 against f32 on the judged test split: $res"

# ------------------------------------------------ 3. a master that is not f32
bash tools/make_builtin.sh "$bin" "$builtin" "$tmp/again.lrm" >"$tmp/again.txt" 2>&1
rc=$?
check '[ "$rc" -ne 0 ] && grep -q "already a q8 model" "$tmp/again.txt"' \
    "make_builtin.sh on a q8 master: exit $rc, $(tail -n 2 "$tmp/again.txt")"
check '[ ! -e "$tmp/again.lrm" ] && [ ! -e "$tmp/again.metrics.json" ]' "make_builtin.sh on a q8 master wrote a file"

finish
