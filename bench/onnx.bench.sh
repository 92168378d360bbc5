#!/usr/bin/env bash
# onnx.bench.sh — the exported ONNX file in ONNX Runtime vs logrisk itself,
# same model, same lines, same threads, one invocation.
#
#   bash bench/onnx.bench.sh [BUILD_DIR]      (THREADS=N, default 2; REPS=N, default 3)
#
# Model: the benchmark BERT-mini (vocab 30522) as bench/engine.bench.sh
# converts it (bench/out/bert-mini.lrm) when that bench has run; ORT then
# also runs PyTorch's own export of the same weights (bench/peers/
# make_model.py: torch.onnx.export, opset 14) for comparison. Otherwise
# tools/make_onnx_fixture.py (BERT-mini sizes L4 H256 A4 I1024 P512, seeded
# random weights, logs-8k vocabulary). Exported at opset 14 (the default).
# Lines: the first 146 of each of the 14 loghub logs (2,044 lines).
#   logrisk  `logrisk score --threads N` on the raw lines, wall time of the
#            whole process (load, masking, tokenizing, scoring, JSON out);
#   ORT      onnxruntime-node on the ids `logrisk tokenize` made (tokenizing
#            not timed, session created before timing), intra-op threads N,
#            batch 1 and batch 32 with the lines sorted by length (as the
#            logrisk scorer batches them); graph optimisation 'all'.
# Best of REPS for each; the ORT runs of the two files alternate so both
# see the same machine load. Also prints the max |logit difference| ORT vs
# logrisk over all lines. ORT comes from tools/node_modules_ort
# (tests/onnx.test.sh and bench/engine.bench.sh install it).
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
root=$PWD
out=$root/bench/out/onnx
THREADS=${THREADS:-2}
REPS=${REPS:-3}
PY=/usr/bin/python3
say() { echo "onnx.bench: $*" >&2; }

bin=$root/$build/logrisk
[ -x "$bin" ] || { say "missing $bin (make first)"; exit 1; }
ort_dir=
for d in "$root/tools/node_modules_ort"; do
    [ -e "$d/node_modules/onnxruntime-node/package.json" ] && { ort_dir=$d; break; }
done
if [ -z "$ort_dir" ] || ! command -v node >/dev/null || ! $PY -c 'import numpy' 2>/dev/null; then
    say "SKIP: needs node + onnxruntime-node (run tests/onnx.test.sh once) and /usr/bin/python3 numpy"
    exit 0
fi

mkdir -p "$out"
torch_onnx=$root/bench/out/peers/model.onnx
if [ -e "$root/bench/out/bert-mini.lrm" ] && [ -e "$torch_onnx" ]; then
    lrm=$root/bench/out/bert-mini.lrm
    vocab=$root/bench/out/bert-mini/vocab.txt
    what="benchmark BERT-mini (L4 H256 A4 I1024, vocab 30522)"
else
    torch_onnx=
    if [ ! -e "$out/mini.lrm" ] || [ "$out/mini.lrm" -ot tools/make_onnx_fixture.py ]; then
        $PY tools/make_onnx_fixture.py "$out/mini"
        "$bin" convert --from-safetensors "$out/mini" -o "$out/mini.lrm"
    fi
    lrm=$out/mini.lrm
    vocab=$out/mini/vocab.txt
    what="BERT-mini shape (L4 H256 A4 I1024, vocab 8000, random)"
fi
"$bin" export -m "$lrm" --onnx "$out/model.onnx"
for f in "$root"/data/loghub/*/*_2k.log; do head -n 146 "$f"; done >"$out/lines.log"
n=$(wc -l <"$out/lines.log")
"$bin" tokenize --vocab "$vocab" -i "$out/lines.log" >"$out/tok.jsonl"

best=
for _ in $(seq "$REPS"); do
    t0=$(date +%s.%N)
    "$bin" score -m "$lrm" --threads "$THREADS" --logits -i "$out/lines.log" >"$out/score.jsonl"
    t1=$(date +%s.%N)
    best=$(echo "$t0 $t1 ${best:-1e9}" | awk '{d = $2 - $1; print (d < $3 ? d : $3)}')
done

: >"$out/ort.jsonl"
for _ in $(seq "$REPS"); do
    for m in "$out/model.onnx" $torch_onnx; do
        node tools/ort_check.mjs --ort "$ort_dir" --model "$m" --tokens "$out/tok.jsonl" \
            --ref "$out/score.jsonl" --batch 1,32 --sort 1 --threads "$THREADS" \
            >>"$out/ort.jsonl" 2>"$out/ort.log"
    done
done
$PY - "$out/ort.jsonl" "$n" "$best" "$THREADS" "$what" "$out/model.onnx" <<'EOF'
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
n, lr_s, threads, what, ours = int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
lr = n / lr_s
print(f"{what}, {n} loghub lines, {threads} threads, opset 14, best of each")
print(f"  logrisk score (whole process)               {lr:9.0f} lines/s")
for model in dict.fromkeys(r["model"] for r in runs):
    name = "ORT, logrisk's export" if model == ours else "ORT, PyTorch's export"
    for bs in ("1", "32"):
        b = [r["batches"][bs] for r in runs if r["model"] == model]
        best = max(x["lines_per_s"] for x in b)
        diff = max(x["max_diff"] for x in b)
        print(f"  {name}, batch {bs:>2} (ids given) {best:9.0f} lines/s"
              f"   logrisk/ORT {lr / best:.2f}x   max |logit - logrisk| {diff:.2g}")
EOF
