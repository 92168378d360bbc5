#!/usr/bin/env bash
# engine.bench.sh — logrisk's BERT-mini forward vs ONNX Runtime, same model,
# same workload, same machine, one invocation.
#
#   bash bench/engine.bench.sh [BUILD_DIR]      (QUICK=1: fewer repetitions)
#
# 1. bench/peers/make_model.py (/usr/bin/python3 with python3-torch and
#    python3-onnx) writes the BERT-mini every engine runs, once, into
#    bench/out/peers (gitignored): seeded weights (vocab 30522, L4 H256 A4
#    I1024) as model.safetensors, its torch.onnx export model.onnx, and
#    workload.json (the token lengths of 2,048 log lines).
# 2. Writes a 30522-line vocab.txt (the learned log vocabulary
#    models/vocab/logs-8k.txt padded with filler words: the random model has
#    no vocabulary of its own) and runs `logrisk convert`.
# 3. build/bench/bench_engine: lines/s, tokens/s, GFLOP/s on the same
#    workloads (lr_model_logits directly, tokenization untimed), p50/p99
#    single-line latency, peak RSS.
# 4. Cold start: wall time of `logrisk score -m model.lrm` on one line
#    (process start to exit), median of 5.
# 5. With node: onnxruntime-node (npm, ONNXRUNTIME_NODE_INSTALL=skip, in
#    tools/node_modules_ort) runs bench/peers/ort_bench.mjs on the same model
#    and workloads, and its --cold; /usr/bin/python3 runs
#    bench/peers/torch_bench.py (PyTorch) on them too.
#    Then the same engine runs on the model quantized with `logrisk quantize`
#    (q8: int8 weights, per-row int8 activations; bf16), as logrisk-q8 and
#    logrisk-bf16 rows (DTYPES="q8 bf16" by default; DTYPES= skips them).
# 6. A summary table with the ratios logrisk / ORT (fp32), per weight type,
#    with the % of each type's measured peak on this CPU.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
root=$PWD
work=$root/bench/out/peers
ORT_VERSION=1.30.0
model_dir=$root/bench/out/bert-mini
lrm=$root/bench/out/bert-mini.lrm
results=$root/bench/out/engine.jsonl
PY=/usr/bin/python3
THREADS=${THREADS:-2}
if [ "${QUICK:-0}" = 1 ]; then REPS=3; COLD=3; else REPS=5; COLD=10; fi

say() { echo "engine.bench: $*" >&2; }
for f in "$build/logrisk" "$build/bench/bench_engine"; do
    [ -x "$f" ] || { say "missing $f (run make bench)"; exit 1; }
done

# ---------------------------------------------------------------- 1. model
st=$work/model.safetensors
if [ ! -e "$st" ] || [ ! -e "$work/model.onnx" ] || [ "$st" -ot bench/peers/make_model.py ] ||
   [ "$st" -ot tools/ref_bert.py ]; then
    if ! $PY -c 'import torch, onnx' 2>/dev/null; then
        say "SKIP: needs /usr/bin/python3 with torch and onnx (tools/deps.sh test)"
        exit 0
    fi
    say "writing the benchmark model (bench/peers/make_model.py)"
    mkdir -p "$work"
    $PY bench/peers/make_model.py "$work" >"$root/bench/out/make_model.log" 2>&1 || {
        tail "$root/bench/out/make_model.log" >&2; exit 1; }
fi

# ---------------------------------------------------------------- 2. convert
if [ ! -e "$lrm" ] || [ "$lrm" -ot "$st" ] || [ "$lrm" -ot "$build/logrisk" ] ||
   [ "$lrm" -ot "$root/bench/engine.bench.sh" ]; then
    mkdir -p "$model_dir"
    ln -sf "$st" "$model_dir/model.safetensors"
    cp "$work/config.json" "$model_dir/config.json"
    vocab=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["vocab_size"])' "$model_dir/config.json")
    # The random model has no vocabulary of its own; only the size matters
    # for speed, but real log lines should tokenize to realistic lengths:
    # the project's learned log vocabulary (models/vocab/logs-8k.txt) first,
    # then filler words up to the model's vocab size. Without it, a synthetic
    # one (specials, masks, printable ASCII and their ## forms).
    $PY - "$vocab" "$root/models/vocab/logs-8k.txt" >"$model_dir/vocab.txt" <<'EOF'
import os, sys
n, learned = int(sys.argv[1]), sys.argv[2]
if os.path.exists(learned):
    toks = [t for t in open(learned, encoding="utf-8").read().split("\n") if t]
else:
    toks = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "<TIME>", "<ID>", "<IP>", "<PID>", "<PATH>"]
    chars = [chr(c) for c in range(33, 127) if not ("A" <= chr(c) <= "Z")]
    toks += chars + ["##" + c for c in chars]
seen, i = set(toks), 0
while len(toks) < n:
    if f"w{i}" not in seen:
        toks.append(f"w{i}")
    i += 1
print("\n".join(toks[:n]))
EOF
    "$build/logrisk" convert --from-safetensors "$model_dir" -o "$lrm" >&2
fi
ls -l "$lrm" >&2

# ---------------------------------------------------------------- 3. engine
: >"$results"
say "logrisk engine ($THREADS threads, $REPS reps)"
"$build/bench/bench_engine" "$lrm" "$work/workload.json" \
    --threads "$THREADS" --reps "$REPS" | tee -a "$results"

for dt in ${DTYPES-q8 bf16}; do
    qlrm=$root/bench/out/bert-mini-$dt.lrm
    if [ ! -e "$qlrm" ] || [ "$qlrm" -ot "$lrm" ]; then
        "$build/logrisk" quantize -m "$lrm" -o "$qlrm" --dtype "$dt"
    fi
    say "logrisk engine, $dt weights ($THREADS threads, $REPS reps)"
    "$build/bench/bench_engine" "$qlrm" "$work/workload.json" --threads "$THREADS" --reps "$REPS" |
        sed "s/\"engine\":\"logrisk\"/\"engine\":\"logrisk-$dt\"/" | tee -a "$results"
done

# ---------------------------------------------------------------- 4. cold start
ms_now() { date +%s%N; }
cold_runs=()
for ((i = 0; i < COLD; i++)); do
    t0=$(ms_now)
    echo "2026-11-22T10:00:00Z kubelet E1122 pod sandbox failed: connection refused" |
        "$build/logrisk" score -m "$lrm" --threads "$THREADS" >/dev/null
    t1=$(ms_now)
    cold_runs+=($(( (t1 - t0) / 1000 )))
done
rss_kb=$(echo "ERROR disk pressure on node" | $PY -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' \
    "$build/logrisk" score -m "$lrm" --threads "$THREADS" -o /dev/null)
printf '{"engine":"logrisk","bench":"cold_start","wall_us":[%s],"score_one_line_peak_rss_kb":%s,"model_bytes":%s}\n' \
    "$(IFS=,; echo "${cold_runs[*]}")" "$rss_kb" "$(stat -c %s "$lrm")" | tee -a "$results"

# the whole pipeline (read, mask, tokenize, bucket, model, JSON) on 2,048
# real loghub lines (the first 147 of each system), wall time incl. start-up
sample=$root/bench/out/loghub2048.log
if ls "$root"/data/loghub/*/*_2k.log >/dev/null 2>&1; then
    for f in "$root"/data/loghub/*/*_2k.log; do head -n 147 "$f"; done | head -n 2048 >"$sample"
    n_sample=$(wc -l <"$sample")
    t0=$(ms_now)
    "$build/logrisk" score -m "$lrm" --threads "$THREADS" -i "$sample" -o /dev/null
    t1=$(ms_now)
    printf '{"engine":"logrisk","bench":"score_pipeline","lines":%s,"wall_us":%s}\n' \
        "$n_sample" $(( (t1 - t0) / 1000 )) | tee -a "$results"
fi

# ---------------------------------------------------------------- 5. ORT
ort_dir=$root/tools/node_modules_ort
if command -v npm >/dev/null 2>&1 && [ ! -e "$ort_dir/node_modules/onnxruntime-node/bin" ]; then
    say "installing onnxruntime-node@$ORT_VERSION into tools/node_modules_ort (ONNXRUNTIME_NODE_INSTALL=skip)"
    mkdir -p "$ort_dir"
    ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix "$ort_dir" --no-save --no-audit --no-fund \
        "onnxruntime-node@$ORT_VERSION" >"$root/bench/out/npm-install.log" 2>&1 ||
        say "npm install failed; see bench/out/npm-install.log"
fi
if command -v node >/dev/null 2>&1 && [ -e "$ort_dir/node_modules/onnxruntime-node/bin" ]; then
    ort_bench=(node bench/peers/ort_bench.mjs --ort "$ort_dir" --model "$work/model.onnx" --threads "$THREADS")
    say "ONNX Runtime (onnxruntime-node, $THREADS threads, $REPS reps)"
    "${ort_bench[@]}" --workload "$work/workload.json" --only realistic,latency --reps "$REPS" | tee -a "$results"
    ort_cold=()
    for ((i = 0; i < COLD; i++)); do
        t0=$(ms_now)
        "${ort_bench[@]}" --cold >/dev/null
        t1=$(ms_now)
        ort_cold+=($(( (t1 - t0) / 1000 )))
    done
    printf '{"engine":"onnxruntime-node","bench":"cold_start","wall_us":[%s]}\n' \
        "$(IFS=,; echo "${ort_cold[*]}")" | tee -a "$results"
else
    say "no node/onnxruntime-node: ORT not measured, no ratios"
fi

# ---------------------------------------------------------------- 5b. PyTorch
# bench/peers/torch_bench.py on the same model and workloads (PYTORCH=0
# skips it): OpenBLAS left to detect the CPU (an inherited
# OPENBLAS_CORETYPE unset), with the openmp variant of OpenBLAS when it is
# installed (libopenblas0-openmp: PyTorch's fastest configuration here).
if [ "${PYTORCH:-1}" = 1 ] && $PY -c 'import torch' 2>/dev/null; then
    tag=debian-auto
    ompdir=/usr/lib/x86_64-linux-gnu/openblas-openmp
    torch_env=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)
    if [ -e "$ompdir/libopenblas.so.0" ]; then
        tag=tuned-openmp
        torch_env+=(LD_LIBRARY_PATH=$ompdir)
    fi
    say "PyTorch [$tag] ($THREADS threads, $REPS reps)"
    "${torch_env[@]}" $PY bench/peers/torch_bench.py --model "$work" --workload "$work/workload.json" \
        --only realistic,latency --threads "$THREADS" --reps "$REPS" --tag "$tag" | tee -a "$results"
fi

# ---------------------------------------------------------------- 6. summary
$PY - "$results" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
# the measured 2-core peaks of this machine type (AMD EPYC, Zen 5; inline-asm
# loops of 16 independent accumulators): fp32 FMA, bf16 vdpbf16ps, int8
# vpdpbusd, in G(FL)OP/s
PEAKS = {"logrisk": 445.0, "logrisk-bf16": 911.0, "logrisk-q8": 1834.0}
def find(engine, bench, workload=None):
    for r in rows:
        if r.get("engine") == engine and r.get("bench") == bench and (workload is None or r.get("workload") == workload):
            return r
eng, ort, torch = "logrisk", "onnxruntime-node", "pytorch"
tag = (find(torch, "torch_infer") or {}).get("tag", "")
print("\n| weights | workload | logrisk lines/s | tokens/s | GFLOP/s | % of the type's peak | "
      "ORT fp32 lines/s | ratio to ORT | PyTorch lines/s | ratio to PyTorch |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for name in ("logrisk", "logrisk-q8", "logrisk-bf16"):
    for wl, owl in [("fixed_b32_s128", "fixed_b32_s128"), ("logs2048_bucketed", "logs2048_bucketed"),
                    ("logs2048_unsorted", "logs2048_pad128")]:
        e, o = find(name, "engine_infer", wl), find(ort, "ort_infer", owl)
        t = find(torch, "torch_infer", owl)
        if not e:
            continue
        ol = f'{o["lines_per_s"]:.1f} ({owl})' if o else "-"
        ratio = f'{e["lines_per_s"] / o["lines_per_s"]:.2f}x' if o else "-"
        tl = f'{t["lines_per_s"]:.1f}' if t else "-"
        tr = f'{e["lines_per_s"] / t["lines_per_s"]:.2f}x' if t else "-"
        dt = {"logrisk": "fp32", "logrisk-q8": "q8", "logrisk-bf16": "bf16"}[name]
        print(f'| {dt} | {wl} | {e["lines_per_s"]:.1f} | {e["tokens_per_s"]:.0f} | {e["gflops_exec"]:.1f} | '
              f'{100 * e["gflops_exec"] / PEAKS[name]:.0f}% | {ol} | {ratio} | {tl} | {tr} |')
if tag:
    print(f"(PyTorch: Debian's python3-torch, OpenBLAS {tag}, same run)")
o = find(ort, "ort_latency")
print("\n| latency b1 x 24 | p50 ms | p99 ms | ORT p50 | ORT p99 | p50 / ORT's p50 |")
print("|---|---:|---:|---:|---:|---:|")
for name in ("logrisk", "logrisk-q8", "logrisk-bf16"):
    e = find(name, "engine_latency")
    if e:
        print(f'| {name} | {e["p50_ms"]:.3f} | {e["p99_ms"]:.3f} | ' +
              (f'{o["p50_ms"]:.3f} | {o["p99_ms"]:.3f} | {e["p50_ms"] / o["p50_ms"]:.2f} |' if o else "- | - | - |"))
t = find(torch, "torch_latency")
if t:
    print(f'| PyTorch [{tag}] | {t["p50_ms"]:.3f} | {t["p99_ms"]:.3f} | | | |')
e, o = find(eng, "cold_start"), find(ort, "cold_start")
load, rss = find(eng, "engine_load"), find(eng, "engine_rss")
if e:
    em = statistics.median(e["wall_us"]) / 1e3
    line = f'\ncold start (process start to first score, wall, median of {len(e["wall_us"])}): logrisk {em:.1f} ms'
    if o:
        om = statistics.median(o["wall_us"]) / 1e3
        line += f', ORT (node + session + 1 line) {om:.1f} ms, ratio {om / em:.1f}x faster'
    print(line)
    print(f'model file {e["model_bytes"] / 1e6:.1f} MB; peak RSS: `logrisk score` one line '
          f'{e["score_one_line_peak_rss_kb"] / 1024:.1f} MB' +
          (f', bench_engine (all workloads) {rss["peak_rss_mb"]:.1f} MB' if rss else "") +
          (f'; in-process model load {load["load_ms"]:.2f} ms, context {load["ctx_ms"]:.2f} ms' if load else ""))
if load and "scorer_new_ms" in load:
    print(f'in-process cold start: model load {load["load_ms"]:.1f} ms + scorer (rules, tokenizer, pool) '
          f'{load["scorer_new_ms"]:.1f} ms + first line {load["first_line_ms"]:.1f} ms' +
          (f' (model load with the data checksum, as inspect and score --verify: '
           f'{load["load_verified_ms"]:.1f} ms)' if "load_verified_ms" in load else ""))
p = find(eng, "score_pipeline")
if p:
    print(f'`logrisk score` pipeline on {p["lines"]} loghub lines: {p["lines"] / (p["wall_us"] / 1e6):.0f} lines/s '
          f'(wall {p["wall_us"] / 1e3:.0f} ms incl. start-up)')
EOF
