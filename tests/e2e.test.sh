#!/usr/bin/env bash
# End to end: raw logs -> `logrisk label` with the
# Kubernetes rules -> `logrisk vocab` -> `logrisk train` a tiny model ->
# `logrisk score` -> agreement with the weak labels. Unlike
# tests/train_cli.test.sh (built-in rules, three logs, mostly classes 2-3)
# the data here hold every risk class 0..10: real loghub and kubelet lines
# plus the Kubernetes lines of models/data/k8s_extra.log, so the test also
# proves the model learns the rare high-risk classes and that the rules
# stored in the model are the ones it was trained with. Then the built-in
# model, when the binary carries one: `score` without -m from another
# directory, against the weak labels of models/data/k8s_extra.log.
#
#   bash tests/e2e.test.sh BUILD_DIR
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
root=$(pwd)
bin="$(cd "$build" && pwd)/logrisk"  # BUILD may be relative or absolute
py=python3
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rules=models/rules/k8s.yaml

# --- 600 raw lines: three real logs and 300 Kubernetes lines with every class
{
    sed -n '1,100p' "data/loghub/Linux/Linux_2k.log"
    sed -n '1,100p' "data/loghub/Hadoop/Hadoop_2k.log"
    sed -n '1,100p' "data/k8s/kubelet_e2e_2020-03-25.log"
    sed -n '1,300p' models/data/k8s_extra.log
} >"$tmp/raw.log"
"$bin" label --rules "$rules" -i "$tmp/raw.log" -o "$tmp/labelled.jsonl" && ok || bad "label"
"$bin" vocab --rules "$rules" -i "$tmp/raw.log" -o "$tmp/vocab.txt" --size 1000 && ok || bad "vocab"
# the data must hold all 11 classes, or the rest of the test proves less
$py - "$tmp/labelled.jsonl" <<'EOF' && ok || bad "weak labels do not cover 0..10"
import json, sys
labels = {json.loads(l)["label"] for l in open(sys.argv[1])}
assert labels == set(range(11)), sorted(labels)
EOF

cat >"$tmp/train.yaml" <<EOF
data: $tmp/labelled.jsonl
vocab: $tmp/vocab.txt
rules: $rules
output: $tmp/tiny.lrm
checkpoint: ""
max_len: 64
max_positions: 64
hidden: 64
layers: 1
heads: 2
intermediate: 128
head_hidden: 64
epochs: 15
patience: 15
batch: 16
lr: 1.0e-3
valid_fraction: 0.2
class_weights: balanced
seed: 2
threads: 2
EOF
start=$(date +%s)
if "$bin" train --config "$tmp/train.yaml" 2>"$tmp/train.log"; then ok; else bad "train"; cat "$tmp/train.log"; fi
echo "e2e: trained in $(($(date +%s) - start)) s"

# --- score the raw lines (the model masks them with the k8s rules it stores)
"$bin" score -m "$tmp/tiny.lrm" --threads 2 --input-format raw -i "$tmp/raw.log" -o "$tmp/scores.jsonl" && ok || bad "score"
# Measured (seed 2): agreement 0.923, high-risk recall 0.959. A model this
# small on 480 lines is sensitive to its seed (seeds 1-4: agreement
# 0.81-0.92, recall 0.65-0.96), and other machines round differently, so
# the thresholds sit below the worst seed; a broken pipeline (wrong rules
# or labels, an untrained model) lands far below them (always predicting
# the most common class agrees on 0.36 of the lines, recall 0).
$py - "$tmp/labelled.jsonl" "$tmp/scores.jsonl" <<'EOF' && ok || bad "agreement with the weak labels"
import json, sys
ref = [json.loads(l)["label"] for l in open(sys.argv[1])]
got = [json.loads(l)["risk_label"] for l in open(sys.argv[2])]
assert len(ref) == len(got) == 600, (len(ref), len(got))
agree = sum(r == g for r, g in zip(ref, got)) / len(ref)
hi = [g >= 7 for r, g in zip(ref, got) if r >= 7]
recall = sum(hi) / len(hi)
print("e2e: agreement %.3f, high-risk recall %.3f (%d lines >= 7)" % (agree, recall, len(hi)))
assert agree >= 0.75, agree
assert recall >= 0.50, recall
EOF

# --- the rules travel with the model: the same lines masked differently
# (built-in rules instead of k8s.yaml) change what the model sees. A
# k8s-only level alias: a klog "E..." line is ERROR only with k8s.yaml.
printf 'E1122 10:00:01.000001       1 kubelet.go:1234] Failed to write to log: no space left on device\n' >"$tmp/one.log"
"$bin" label --rules "$rules" -i "$tmp/one.log" | grep -q '"label":8' && ok || bad "k8s rules label"
"$bin" score -m "$tmp/tiny.lrm" -i "$tmp/one.log" | $py -c '
import json, sys
r = json.loads(sys.stdin.readline())
assert r["risk_score"] >= 6, r' && ok || bad "tiny model on an ERROR + full-disk line"

# --- the built-in model (if this build carries one): no -m, any directory
if "$bin" inspect --builtin >"$tmp/inspect" 2>&1; then
    (cd "$tmp" && "$bin" score --threads 2 -i "$root/models/data/k8s_extra.log" -o builtin.jsonl) && ok ||
        bad "score with the built-in model from another directory"
    "$bin" label --rules "$rules" -i models/data/k8s_extra.log -o "$tmp/extra.jsonl"
    # The built-in model learned the risk scale from judged events, not the
    # rules, so it is held to ranking these lines as the k8s rules do, not
    # to their labels (its agreement with people is tests/eval.test.sh's).
    # It reads events as score does by default (auto: the canonical
    # rendering it was trained on); an event spanning several lines takes
    # the highest rule label among them. Measured with the committed model:
    # Spearman 0.778, high-risk recall 0.520 (risk_score >= 6.5 where the
    # rules say >= 7); a model that ignores the text (a constant) has no
    # rank correlation and recall 0.
    $py - "$tmp/extra.jsonl" "$tmp/builtin.jsonl" <<'EOF' && ok || bad "built-in model vs the k8s rules"
import json, sys
labels = [json.loads(l)["label"] for l in open(sys.argv[1])]
out = [json.loads(l) for l in open(sys.argv[2])]
assert out and out[-1]["line_end"] == len(labels), (len(labels), out[-1:])
ref = [max(labels[o["line"] - 1:o["line_end"]]) for o in out]
got = [o["risk_score"] for o in out]
def ranks(v):
    order = sorted(range(len(v)), key=lambda i: v[i])
    r = [0.0] * len(v)
    i = 0
    while i < len(v):
        j = i
        while j + 1 < len(v) and v[order[j + 1]] == v[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2
        i = j + 1
    return r
a, b = ranks(ref), ranks(got)
ma, mb = sum(a) / len(a), sum(b) / len(b)
cov = sum((x - ma) * (y - mb) for x, y in zip(a, b))
rho = cov / (sum((x - ma) ** 2 for x in a) * sum((y - mb) ** 2 for y in b)) ** 0.5
hi = [g >= 6.5 for r, g in zip(ref, got) if r >= 7]
print("e2e: built-in model against the k8s rules: Spearman %.3f, high-risk recall %.3f" % (rho, sum(hi) / len(hi)))
assert rho >= 0.6 and sum(hi) / len(hi) >= 0.45
EOF
else
    echo "e2e: this build has no built-in model; skipping its checks"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
