#!/usr/bin/env bash
# make_model.sh — the recipe of the built-in default model
# models/logrisk-mini.lrm, from the public logs to the committed files, with
# one command (`make model`; docs/training.md): the trained f32 model, the
# master models/logrisk-mini.f32.lrm, and its int8 copy, the built-in.
#
#   bash tools/make_model.sh [LOGRISK_BINARY] [WORK_DIR]
#
# 1. weak labels: every source (loghub's 14 *_2k.log, the kubelet e2e
#    journal, models/data/k8s_extra.log) through `logrisk label` with
#    models/rules/k8s.yaml;
# 2. vocabulary: `logrisk vocab --size 4096` over all the raw lines and
#    the texts of the judged training events (the train split of
#    models/data/judged and its synthetic events, rendered as scoring
#    renders them: tools/judged_train.py; no labels involved), so that the
#    words of the messages people judged are tokens, not fragments;
# 3. data sets (models/train/prepare.py): dedup by masked text, a seeded
#    10% held-out split per source, at most 300 pre-training lines per
#    source (round-robin over the weak labels; k8s_extra uncapped);
# 4. MLM pre-training of BERT-mini (models/train/pretrain.yaml, 5 epochs)
#    on the raw training lines and the judged training texts of step 2;
# 5. fine-tuning from that encoder on the judged labels of
#    models/data/judged (the train split of the corpus and the synthetic
#    training events, rendered as `logrisk score` renders them:
#    tools/judged_train.py; models/train/judged.yaml), the epoch chosen by
#    the loss on the judged dev split (valid_data);
# 6. a temperature fitted on the judged dev split (`logrisk calibrate`)
#    and folded into the model;
# 7. evaluation: `logrisk eval` on the judged test split (model and
#    rules), and the agreement with the weak labels on step 3's held-out
#    lines (models/train/evaluate.py), into models/logrisk-mini.metrics.json.
#
# Every step is seeded (2 threads, fixed seeds), so a rerun on the same
# machine type gives the same model. Intermediate files go to WORK_DIR
# (default build/model); the model and the metrics are only replaced at
# the end, after a complete run: the f32 master first, then the built-in
# model, `logrisk quantize --dtype q8` of it, by tools/make_builtin.sh,
# which also evaluates both on the judged test split and records the two
# in the metrics (judged_test: the built-in q8 model, the figures the README
# shows; judged_test_f32: the master), and fails if q8 loses more than 0.01
# on a figure. MODEL_OUT=FILE.lrm writes FILE.lrm (q8), FILE.f32.lrm and
# FILE.metrics.json instead, e.g. to compare with the committed model.
# Prints the time each step took.
#
# FROM_STEP=N (default 1) starts at step N and reuses the outputs of the
# earlier steps that an earlier complete run left in WORK_DIR (vocabulary,
# data sets, encoder); a missing one stops the recipe with its name. Use it
# when only a later step's inputs changed (the recipe of steps 5-7). A
# change of the judged corpus's train split or of the event rendering
# changes steps 2 and 4 too: FROM_STEP=2.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/logrisk}
work=${2:-build/model}
py=${PYTHON:-python3}
rules=models/rules/k8s.yaml
[ -x "$bin" ] || { echo "make_model: $bin not built (run make first)" >&2; exit 1; }
[ -d "data/loghub" ] || { echo "make_model: no data in data/ (see data/README.md)" >&2; exit 1; }
mkdir -p "$work"
start=$(date +%s)
t0=$start
step() { local now; now=$(date +%s); echo "make_model: $1 ($((now - t0)) s)"; t0=$now; }
from=${FROM_STEP:-1}
case $from in [1-7]) ;; *) echo "make_model: FROM_STEP must be 1..7, not '$from'" >&2; exit 2 ;; esac
runs() { # N: run step N, or check that the outputs it would write exist
    local n=$1 f
    shift
    [ "$n" -ge "$from" ] && return 0
    for f in "$@"; do
        [ -s "$work/$f" ] || { echo "make_model: FROM_STEP=$from needs $work/$f from step $n" >&2; exit 1; }
    done
    echo "make_model: step $n reused from $work"
    return 1
}

# --- 1. weak labels
sources=()
for f in data/loghub/*/*_2k.log; do
    sources+=("$(basename "$f" _2k.log)=$f")
done
sources+=("kubelet=data/k8s/kubelet_e2e_2020-03-25.log" "k8s_extra=models/data/k8s_extra.log")
labelled=()
for s in "${sources[@]}"; do
    labelled+=("$s:$work/${s%%=*}.jsonl")
done
if runs 1 corpus.log kubelet.jsonl; then
    : >"$work/corpus.log"
    for s in "${sources[@]}"; do
        "$bin" label --rules "$rules" -i "${s#*=}" -o "$work/${s%%=*}.jsonl"
        cat "${s#*=}" >>"$work/corpus.log"
    done
    step "labelled ${#sources[@]} sources, $(wc -l <"$work/corpus.log") lines"
fi

# --- 2. vocabulary, over the raw lines and the judged training texts
judged=models/data/judged/judged.jsonl
judged_texts() { # the training events rendered, one text a line (a multi-line text: its lines)
    "$py" tools/judged_train.py "$bin" "$judged" train "$work/judged_train.jsonl" "$work/judged_weights.yaml" \
        models/data/judged/synthetic.jsonl
    "$py" -c 'import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    print(json.loads(line)["text"])' "$work/judged_train.jsonl" >"$work/judged_text.log"
}
if runs 2 vocab.txt judged_text.log; then
judged_texts
cat "$work/corpus.log" "$work/judged_text.log" >"$work/vocab_corpus.log"
"$bin" vocab --rules "$rules" -i "$work/vocab_corpus.log" -o "$work/vocab.txt" --size 4096
step "vocab: $(wc -l <"$work/vocab.txt") tokens over $(wc -l <"$work/vocab_corpus.log") lines"
fi

# --- 3. data sets
if runs 3 pretrain.log heldout.jsonl heldout.log stats.json; then
"$py" models/train/prepare.py "$work" "${labelled[@]}"
step "data sets"
fi

# --- 4. MLM pre-training
if runs 4 encoder.lrm pretrain.metrics.json; then
cat "$work/pretrain.log" "$work/judged_text.log" >"$work/pretrain_all.log"
{
    cat models/train/pretrain.yaml
    echo "data: $work/pretrain_all.log"
    echo "vocab: $work/vocab.txt"
    echo "rules: $rules"
    echo "output: $work/encoder.lrm"
    echo "metrics: $work/pretrain.metrics.json"
    echo "checkpoint: \"\""
} >"$work/pretrain.yaml"
"$bin" pretrain --config "$work/pretrain.yaml"
step "pre-training"
fi

# --- 5. fine-tuning on the judged labels (the train split of
#        models/data/judged and its synthetic events, rendered as scoring
#        renders events), from the pre-trained encoder, validated on the
#        dev split
[ "$from" -le 2 ] || judged_texts # rendered in step 2 when it ran
"$py" tools/judged_train.py "$bin" "$judged" dev "$work/judged_dev.jsonl" -
{
    cat models/train/judged.yaml
    cat "$work/judged_weights.yaml"
    echo "data: $work/judged_train.jsonl"
    echo "valid_data: $work/judged_dev.jsonl"
    echo "vocab: $work/vocab.txt"
    echo "rules: $rules"
    echo "init: $work/encoder.lrm"
    echo "output: $work/judged.lrm"
    echo "metrics: $work/judged.metrics.json"
} >"$work/judged.yaml"
"$bin" train --config "$work/judged.yaml"
step "fine-tuning on judged labels"

# --- 6. temperature on the dev split (never the test split)
"$bin" calibrate -m "$work/judged.lrm" --gold "$judged" --split dev -o "$work/logrisk-mini.lrm" --threads 2 |
    tee "$work/calibration.txt"
step "calibration"

# --- 7. evaluation: the judged test split (model and rules), and the
#        weak-label held-out split of step 3, then install the model
"$bin" eval -m "$work/logrisk-mini.lrm" --gold "$judged" --split test --rules "$rules" --threads 2 --json \
    >"$work/eval_test.json"
"$bin" eval -m "$work/logrisk-mini.lrm" --gold "$judged" --split test --rules "$rules" --threads 2
"$bin" score -m "$work/logrisk-mini.lrm" --threads 2 --input-format raw -i "$work/heldout.log" \
    -o "$work/heldout.scores.jsonl"
"$py" models/train/evaluate.py "$work/heldout.jsonl" "$work/heldout.scores.jsonl" "$work/stats.json" \
    "$work/pretrain.metrics.json" "$work/metrics.json" \
    "$(($(date +%s) - start))" "$work/judged.metrics.json" "$work/eval_test.json" "$work/calibration.txt"
out=${MODEL_OUT:-models/logrisk-mini.lrm}
master=${out%.lrm}.f32.lrm
cp "$work/logrisk-mini.lrm" "$master.tmp"
mv "$master.tmp" "$master"
cp "$work/metrics.json" "${out%.lrm}.metrics.json"
step "evaluation"
bash tools/make_builtin.sh "$bin" "$master" "$out"
step "the built-in model, q8 (tools/make_builtin.sh)"
total=$(($(date +%s) - start))
echo "make_model: $master ($(wc -c <"$master") bytes, f32) and $out ($(wc -c <"$out") bytes, q8)" \
    "in $((total / 60)) min $((total % 60)) s"
