#!/usr/bin/env bash
# The anomaly model's forward against PyTorch: a small model (2 LSTM
# layers, then a 2-layer transformer) is trained in seconds on part of data/hdfs, then every verdict of
# `logrisk anomaly detect --all` on 300 sessions (the anomalous or not, the
# first unexpected position and its probability) must equal what
# tools/anomaly_ref.py computes with torch.nn.Embedding, torch.nn.LSTM (or
# torch.nn.TransformerEncoderLayer) and torch.nn.Linear from the same model
# file (probabilities within 1e-4).
#
#   tests/anomaly_parity.test.sh BUILD_DIR
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
bin=$build/logrisk
tmp=$(mktemp -d /tmp/lr_anomaly_parity_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
source tests/lib.sh

need_bin
if ! /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null; then
    bad "/usr/bin/python3 with torch and numpy is needed (tools/deps.sh test installs python3-torch)"
    finish
fi
head -n 1200 data/hdfs/hdfs100k_sessions.jsonl >"$tmp/train.jsonl"
tail -n 300 data/hdfs/hdfs100k_sessions.jsonl >"$tmp/test.jsonl"
run anomaly train -i "$tmp/train.jsonl" -o "$tmp/m.lrm" --epochs 3 --hidden 12 --embed 6 --layers 2 --window 6 --threads 1
expect "train" 0 err 'wrote'
run anomaly detect -m "$tmp/m.lrm" -i "$tmp/test.jsonl" --all --threads 1 -o "$tmp/verdicts.jsonl"
expect "detect" 0 err '^300 sessions'
out=$(/usr/bin/python3 tools/anomaly_ref.py "$tmp/m.lrm" "$tmp/test.jsonl" "$tmp/verdicts.jsonl" 2>&1)
rc=$?
if [ $rc -eq 0 ] && grep -q '^300 sessions: 300 agree with torch.nn.LSTM, 0 differ' <<<"$out"; then
    ok
else
    bad "verdicts differ from PyTorch: $out"
fi
# the transformer variant against torch.nn.TransformerEncoderLayer
run anomaly train -i "$tmp/train.jsonl" -o "$tmp/t.lrm" --arch transformer --epochs 3 --hidden 12 --heads 3 --ff 20 --layers 2 --window 6 --threads 1
expect "train transformer" 0 err 'wrote'
run anomaly detect -m "$tmp/t.lrm" -i "$tmp/test.jsonl" --all --threads 1 -o "$tmp/tverdicts.jsonl"
expect "detect transformer" 0 err '^300 sessions'
out=$(/usr/bin/python3 tools/anomaly_ref.py "$tmp/t.lrm" "$tmp/test.jsonl" "$tmp/tverdicts.jsonl" 2>&1)
rc=$?
if [ $rc -eq 0 ] && grep -q '^300 sessions: 300 agree with torch.nn.TransformerEncoderLayer, 0 differ' <<<"$out"; then
    ok
else
    bad "transformer verdicts differ from PyTorch: $out"
fi
# a verdict changed by hand is caught
sed -i '1{s/"anomalous":false/"anomalous":X/; s/"anomalous":true/"anomalous":false/; s/"anomalous":X/"anomalous":true/}' "$tmp/verdicts.jsonl"
/usr/bin/python3 tools/anomaly_ref.py "$tmp/m.lrm" "$tmp/test.jsonl" "$tmp/verdicts.jsonl" >/dev/null 2>&1 &&
    bad "the reference accepted a changed verdict" || ok
finish
