#!/usr/bin/env bash
# callgrind.bench.sh — instructions executed by ONE forward pass, counted
# by valgrind's callgrind: a low-noise number for regression tracking (run
# to run it moves by a few instructions, where wall time moves by percent).
#
#   bash bench/callgrind.bench.sh [BUILD_DIR]       (part of `make bench`)
#   UPDATE_BASELINE=1 bash bench/callgrind.bench.sh  rewrites the baseline
#
# For the default model's f32 master (models/logrisk-mini.f32.lrm; the
# built-in models/logrisk-mini.lrm is its q8 copy) and its q8 and bf16
# copies (made with BUILD/logrisk quantize into bench/out/callgrind/), each
# with LOGRISK_ISA=ref and with the best path valgrind runs (valgrind does
# not emulate AVX-512 and hides it from CPUID, so the dispatch picks AVX2 by
# itself), it runs BUILD/bench/icount (bench/icount.c: load, tokenize a
# fixed set of real log lines, one warm-up forward, one measured forward in
# measured_forward(), single thread) under
#   valgrind --tool=callgrind --toggle-collect='measured_forward*'
# and reads the total Ir ("totals:" of the callgrind out file). It prints
# instructions per forward and per token and the change against
# bench/icount_baseline.txt (lines "dtype path Ir  # lines=N tokens=T",
# path = the kernels that ran the encoder's Linear layers), flagging
# changes beyond +-2% as REGRESSION / IMPROVEMENT. A row whose path or
# token count differs from the baseline's is not compared.
#
# Time: valgrind runs FMA code very slowly (each vfmadd is a helper call)
# and the reference path is scalar, so the slow rows count fewer lines
# (LINES below); the whole script takes ~2 minutes on an idle core.
#
# Exit status: 0 whatever the numbers (it is a report); 1 when valgrind or
# icount fails or counts nothing. Without valgrind: a SKIP line, exit 0.
set -uo pipefail
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
say() { echo "callgrind.bench: $*" >&2; }

if ! command -v valgrind >/dev/null 2>&1; then
    echo "callgrind.bench: SKIP: valgrind is not installed (apt-get install valgrind)"
    exit 0
fi
icount=$build/bench/icount
for f in "$build/logrisk" "$icount"; do
    [ -x "$f" ] || { say "missing $f (make all bench-binaries)"; exit 1; }
done
model=models/logrisk-mini.f32.lrm
[ -f "$model" ] || { say "missing $model"; exit 1; }
out=bench/out/callgrind
baseline=bench/icount_baseline.txt
mkdir -p "$out"

# ------------------------------------------------------------ the models
declare -A lrm=([f32]=$model)
for dt in q8 bf16; do
    lrm[$dt]=$out/logrisk-mini.$dt.lrm
    if [ ! -s "${lrm[$dt]}" ] || [ "${lrm[$dt]}" -ot "$model" ] || [ "${lrm[$dt]}" -ot "$build/logrisk" ]; then
        "$build/logrisk" quantize -m "$model" -o "${lrm[$dt]}" --dtype "$dt" >&2 ||
            { say "logrisk quantize --dtype $dt failed"; exit 1; }
    fi
done

# ------------------------------------------------------------ the runs
# dtype, LOGRISK_ISA ("-": unset, the dispatch's own choice), lines.
# Under valgrind the fp32 SIMD GEMMs are slow (FMA helpers): 2 lines; the
# int8 AVX2 table has no FMA: all 8; the scalar reference: 4, and 2 for
# bf16 (its reference GEMM rounds the activation to bf16 in the inner
# loop, once per multiply: ~4x the Ir of the f32 reference).
RUNS=("f32 ref 4" "f32 - 2" "q8 ref 4" "q8 - 8" "bf16 ref 2" "bf16 - 2")

group() { echo "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; } # 1234567 -> 1,234,567

field() { # field KEY "LINE": the value of KEY=value in icount's output line
    local kv
    for kv in $2; do
        [ "${kv%%=*}" = "$1" ] && { echo "${kv#*=}"; return; }
    done
}

# baseline: "dtype path" -> "Ir tokens"
declare -A base_ir=() base_tok=()
model_sha=$(sha256sum "$model" | cut -c1-16)
if [ -f "$baseline" ]; then
    base_sha=$(sed -n 's/.*sha256 \([0-9a-f]*\).*/\1/p' "$baseline" | head -n1)
    [ "$base_sha" = "$model_sha" ] ||
        echo "note: $baseline was measured on another $model (sha256 ${base_sha:-?}, now $model_sha):" \
             "the changes include the model's"
    while read -r dt path ir rest; do
        case "$dt" in '' | '#'*) continue ;; esac
        base_ir["$dt $path"]=$ir
        base_tok["$dt $path"]=$(field tokens "$rest")
    done <"$baseline"
fi

native=$("$icount" "$model" --lines 1) || { say "icount failed natively"; exit 1; }
vg=$(valgrind --version)
echo "instructions (Ir) of one forward pass, single thread, $vg; natively this CPU" \
     "would run fp32 $(field kern "$native"), int8/bf16 $(field qkern "$native")"
echo
echo "| dtype | LOGRISK_ISA | path (fp32 / q table) | lines | tokens | Ir per forward | Ir per token | baseline | change |"
echo "|---|---|---|---:|---:|---:|---:|---:|---|"
status=0
new_rows=()
t_all=$SECONDS
for run in "${RUNS[@]}"; do
    read -r dt isa lines <<<"$run"
    tag=$dt-${isa/-/best}
    cg=$out/$tag.callgrind
    rm -f "$cg"
    t0=$SECONDS
    if [ "$isa" = - ]; then envset=(env -u LOGRISK_ISA); else envset=(env LOGRISK_ISA="$isa"); fi
    "${envset[@]}" valgrind --tool=callgrind --toggle-collect='measured_forward*' \
        --callgrind-out-file="$cg" "$icount" "${lrm[$dt]}" --lines "$lines" \
        >"$out/$tag.txt" 2>"$out/$tag.log"
    rc=$?
    info=$(cat "$out/$tag.txt")
    ir=$(sed -n 's/^totals: *\([0-9][0-9]*\).*/\1/p' "$cg" 2>/dev/null | head -n1)
    [ -n "$ir" ] || ir=$(sed -n 's/^summary: *\([0-9][0-9]*\).*/\1/p' "$cg" 2>/dev/null | head -n1)
    if [ "$rc" != 0 ] || [ -z "$info" ] || [ -z "$ir" ] || [ "$ir" = 0 ]; then
        say "$tag: valgrind/icount failed (exit $rc, Ir '${ir:-}'); $out/$tag.log:"
        grep -v '^==' "$out/$tag.log" | tail -n 5 >&2
        status=1
        continue
    fi
    path=$(field gemm "$info")
    tokens=$(field tokens "$info")
    key="$dt $path"
    new_rows+=("$key $ir  # lines=$lines tokens=$tokens")
    change="no baseline"
    bir=${base_ir[$key]:-}
    if [ -n "$bir" ] && [ "${base_tok[$key]:-}" != "$tokens" ]; then
        change="not compared (baseline had ${base_tok[$key]:-?} tokens)"
    elif [ -n "$bir" ]; then
        change=$(awk -v a="$ir" -v b="$bir" 'BEGIN {
            d = (a - b) / b * 100
            flag = d > 2 ? " REGRESSION" : d < -2 ? " IMPROVEMENT" : ""
            printf "%+.3f%%%s", d, flag }')
    fi
    printf '| %s | %s | %s (%s / %s) | %s | %s | %s | %s | %s | %s |\n' \
        "$dt" "$isa" "$path" "$(field kern "$info")" "$(field qkern "$info")" "$lines" "$tokens" \
        "$(group "$ir")" \
        "$(group "$(awk -v a="$ir" -v t="$tokens" 'BEGIN { printf "%.0f", a / t }')")" \
        "$(group "${bir:--}")" "$change"
    say "$tag: $((SECONDS - t0)) s under valgrind"
done
echo
echo "($((SECONDS - t_all)) s under valgrind; callgrind files in $out/; REGRESSION/IMPROVEMENT: beyond +-2% of $baseline)"

if [ "${UPDATE_BASELINE:-0}" = 1 ]; then
    if [ "$status" != 0 ]; then
        say "not updating $baseline: a run failed"
    else
        {
            echo "# Ir of one forward pass (bench/callgrind.bench.sh; UPDATE_BASELINE=1 rewrites it):"
            echo "# dtype path Ir  # lines tokens. Measured $(date -u +%Y-%m-%d) with $vg,"
            echo "# model $model sha256 $model_sha."
            printf '%s\n' "${new_rows[@]}"
        } >"$baseline"
        say "wrote $baseline"
    fi
fi
exit "$status"
