#!/usr/bin/env bash
# `logrisk quantize` from the command line: the accuracy gates
# on real logs (tools/quant_accuracy.sh: the default model's f32 master,
# models/logrisk-mini.f32.lrm, quantized to q8 and bf16, scored on the
# loghub corpus and the sample logs against f32: argmax agreement >= 0.99,
# mean |delta risk_score| <= 0.05), the same q8 scores through the
# reference kernels and the chosen SIMD ones (labels equal, scores within
# 0.02), what inspect shows, refusals (export, re-quantize, quantize
# without -m when the built-in model is q8, as the default one is) and
# usage errors. That the built-in model is the master's q8 copy is
# tests/builtin_q8.test.sh's.
#
#   tests/quantize.test.sh BUILD_DIR
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
bin=$build/logrisk
tmp=$(mktemp -d /tmp/lr_quantize_XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# ok, bad, run, expect
source tests/lib.sh

# ---------------------------------------------------------- accuracy gates
master=models/logrisk-mini.f32.lrm
if bash tools/quant_accuracy.sh "$bin" "$tmp/acc" "$master" >"$tmp/acc.txt" 2>&1; then
    ok
else
    bad "accuracy gates: $(cat "$tmp/acc.txt")"
fi
cat "$tmp/acc.txt"
q8=$tmp/acc/q8.lrm
bf16=$tmp/acc/bf16.lrm

# both quantized files are smaller than the f32 model
f32_size=$(stat -c %s "$master")
for f in "$q8" "$bf16"; do
    if [ -s "$f" ] && [ "$(stat -c %s "$f")" -lt "$f32_size" ]; then ok; else bad "$f is not smaller than f32"; fi
done

# ------------------------------------- reference and SIMD kernels agree (q8)
# LOGRISK_ISA=ref switches the f32 kernels too (attention, LayerNorm, GELU):
# their last-bit differences can move an activation across an int8 rounding
# step, one quantum in a sum, so the scores agree to ~1e-2, not to 1e-6
# (test_qkern checks the int8 kernels themselves bit for bit).
head -n 60 models/samples/sample_logs.log >"$tmp/lines.log"
LOGRISK_ISA=ref "$bin" score -m "$q8" --format csv --cache 0 -i "$tmp/lines.log" -o "$tmp/ref.csv"
"$bin" score -m "$q8" --format csv --cache 0 -i "$tmp/lines.log" -o "$tmp/simd.csv"
if paste -d, "$tmp/ref.csv" "$tmp/simd.csv" | awk -F, 'NR == 1 { w = NF / 2; next }
        { d = $3 - $(w + 3); if (d < 0) d = -d; if (d > max) max = d; if ($2 != $(w + 2)) bad++; n++ }
        END { printf "q8 ref vs chosen kernels: %d lines, max |d risk_score| %.2g\n", n, max;
              exit (n == 60 && bad == 0 && max <= 0.02) ? 0 : 1 }'; then
    ok
else
    bad "q8 scores through ref and the chosen kernels differ"
fi

# ------------------------------------------- score --stats names the weights
stdin=$tmp/lines.log run score -m "$q8" --stats -o /dev/null
expect "score --stats: q8 weights" 0 err 'weights q8, kernels [a-z0-9]+ \(int8/bf16: [a-z0-9]+\)$'
stdin=$tmp/lines.log run score -m "$master" --stats -o /dev/null
expect "score --stats: f32 master" 0 err 'weights f32, kernels'
stdin=$tmp/lines.log run score --stats -o /dev/null
expect "score --stats: built-in q8" 0 err 'weights q8, kernels'

# ------------------------------------------------------------- inspect
run inspect "$q8"
expect "inspect q8: dtype key" 0 out 'model\.dtype.*q8'
expect "inspect q8: int8 weights" 0 out 'attention\.self\.query\.weight +i8'
expect "inspect q8: scales" 0 out 'query\.weight_scale +f32'
run inspect "$bf16"
expect "inspect bf16: bf16 weights" 0 out 'intermediate\.dense\.weight +bf16'

# ------------------------------------------------------------- refusals
run quantize -m "$q8" -o "$tmp/again.lrm" --dtype q8
expect "re-quantize" 1 err 'already a q8 model'
[ -e "$tmp/again.lrm" ] && bad "re-quantize left a file" || ok
run quantize -o "$tmp/again.lrm" --dtype bf16
expect "quantize the q8 built-in" 1 err '^logrisk quantize: built-in logrisk-mini\.lrm is already a q8 model: .* -m .*models/logrisk-mini\.f32\.lrm'
check '[ "$(wc -l <"$tmp/err")" -eq 1 ]' "the refusal is one line"
[ -e "$tmp/again.lrm" ] && bad "quantize of the built-in left a file" || ok
run export -m "$q8" --onnx "$tmp/q8.onnx"
expect "export q8" 1 err 'q8 model'
[ -e "$tmp/q8.onnx" ] && bad "export of q8 left a file" || ok
run quantize -m "$tmp/missing.lrm" -o "$tmp/x.lrm" --dtype q8
expect "missing input" 1 err 'missing\.lrm'
[ -e "$tmp/x.lrm" ] && bad "missing input left a file" || ok
printf 'not a model\n' >"$tmp/junk.lrm"
run quantize -m "$tmp/junk.lrm" -o "$tmp/x.lrm" --dtype bf16
expect "junk input" 1 err 'junk\.lrm'

# ------------------------------------------------- version names the tables
run version
expect "version: int8/bf16 path" 0 out 'int8/bf16: (ref|avx2|avxvnni|avx512vnni|avx512bf16|neon|neondot)\)'
LOGRISK_ISA=ref run version
expect "version: forced ref" 0 out 'kernels: ref, int8/bf16: ref\)'

# ---------------------------------------------------------------- usage
run quantize
expect "no arguments" 2 err 'is required'
run quantize -o "$tmp/x.lrm"
expect "no dtype" 2 err '--dtype is required'
run quantize -o "$tmp/x.lrm" --dtype int4
expect "bad dtype" 2 err "q8 or bf16, not 'int4'"
run quantize -o "$tmp/x.lrm" --bogus
expect "unknown flag" 2 err "unknown option '--bogus'"
run quantize --dtype
expect "flag without value" 2 err 'needs a value'
run quantize --help
expect "help" 0 out 'usage: logrisk quantize'

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
