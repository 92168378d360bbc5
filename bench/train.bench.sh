#!/usr/bin/env bash
# Training throughput: logrisk's autograd-lite BERT-mini against PyTorch,
# measured in the same run.
#
#   bash bench/train.bench.sh BUILD_DIR
#
# Runs BUILD_DIR/bench/bench_train (batch 32 x seq 128 and 32 x seq 32,
# forward + backward + AdamW, dropout on, 2 threads), then
# bench/peers/torch_bench.py `--only train` (same workloads, same model
# size, AdamW lr 3e-5 wd 0.01) in two configurations: plain Debian
# (OPENBLAS_* unset) and the tuned one (openblas-openmp variant), and prints
# the ratio of logrisk's tokens/s to the best PyTorch configuration of
# this run.
# PyTorch needs /usr/bin/python3 with python3-torch (tools/deps.sh test);
# without it only logrisk's numbers are printed.
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
bin="$build/bench/bench_train"
if [ ! -x "$bin" ]; then
    echo "train.bench: $bin is missing (make $bin)" >&2
    exit 1
fi
threads=${LR_BENCH_THREADS:-2}
ours=$("$bin" --threads "$threads") || { echo "$ours"; exit 1; }
echo "$ours"

py=/usr/bin/python3
if ! "$py" -c "import torch" 2>/dev/null; then
    echo "train.bench: no python3-torch at $py, PyTorch not measured"
    exit 0
fi
mkdir -p bench/out/peers
torch_out=bench/out/peers/train.jsonl
torch_train=(bench/peers/torch_bench.py --only train --train-steps-128 2 --train-steps-32 6
             --vocab 30522 --threads "$threads")
{
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$py" "${torch_train[@]}" --tag debian-auto 2>/dev/null
    openmp=/usr/lib/$(uname -m)-linux-gnu/openblas-openmp
    if [ -d "$openmp" ]; then
        env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE LD_LIBRARY_PATH="$openmp" "$py" "${torch_train[@]}" \
            --tag tuned-openmp 2>/dev/null
    fi
} >"$torch_out"

"$py" - "$torch_out" "$ours" <<'EOF'
import json, re, sys
torch_lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
ours = {}
for line in sys.argv[2].splitlines():
    m = re.match(r"(train_b32_s\d+): .*?, (\d+) tokens/s", line)
    if m:
        ours[m.group(1)] = float(m.group(2))
for wl in ("train_b32_s128", "train_b32_s32"):
    runs = [r for r in torch_lines if r.get("workload") == wl]
    for r in runs:
        print(f"pytorch [{r['tag']}] {wl}: {r['steps_per_s']} steps/s, {r['tokens_per_s']} tokens/s")
    if runs and wl in ours:
        best = max(runs, key=lambda r: r["tokens_per_s"])
        print(f"ratio {wl}: logrisk {ours[wl]:.0f} / pytorch best [{best['tag']}] "
              f"{best['tokens_per_s']} tokens/s = {ours[wl] / best['tokens_per_s']:.2f}x (same run)")
EOF
