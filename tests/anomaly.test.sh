#!/usr/bin/env bash
# `logrisk anomaly train|detect` end to end, in seconds: a small model on
# part of the HDFS sessions of data/hdfs (JSONL and DeepLog keys) and on
# raw HDFS log lines (data/loghub/HDFS), the alert JSONL and its evidence,
# the summary with precision and recall, and the errors: usage, bad input
# (one line naming the line), hostile or foreign model files.
#
#   tests/anomaly.test.sh BUILD_DIR
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
bin=$build/logrisk
tmp=$(mktemp -d /tmp/lr_anomaly_XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# ok, bad, check, run, expect, finish
source tests/lib.sh

need_bin

# usage
run anomaly
expect "no subcommand" 2 err "^logrisk anomaly: no subcommand \(train or detect\); try 'logrisk anomaly --help'$"
run anomaly --help
expect "--help" 0 out 'logrisk anomaly detect -m MODEL.lrm'
run anomaly frobnicate
expect "unknown subcommand" 2 err "unknown subcommand 'frobnicate'"
run anomaly train -i data/hdfs/hdfs100k_sessions.jsonl
expect "train without -o" 2 err 'OUT.lrm is required'
run anomaly detect --top-k 0 -m x.lrm
expect "top-k range" 2 err 'top-k'

# a small model on 1,500 sessions of the train split (its anomalies choose k)
small="--epochs 4 --hidden 16 --embed 8 --layers 1 --threads 1"
head -n 1500 data/hdfs/hdfs100k_sessions.jsonl >"$tmp/train.jsonl"
tail -n 400 data/hdfs/hdfs100k_sessions.jsonl >"$tmp/test.jsonl"
# shellcheck disable=SC2086
run anomaly train -i "$tmp/train.jsonl" --split train -o "$tmp/m.lrm" $small
expect "train" 0 err 'chose top-k [0-9]+ on [0-9]+ held-out normal and [0-9]+ labelled anomalous'
check '[ -s "$tmp/m.lrm" ]' "train wrote no model"
grep -qE '^epoch 4/4: train loss [0-9.]+' "$tmp/err" && ok || bad "no progress line per epoch: $err"

run anomaly detect -m "$tmp/m.lrm" -i "$tmp/test.jsonl" --split test --threads 1 -o "$tmp/alerts.jsonl"
expect "detect summary" 0 err '^[0-9]+ sessions, [0-9]+ anomalous \(top-k [0-9]+\)'
expect "detect metrics" 0 err 'labelled [0-9]+: precision [0-9.]+ recall [0-9.]+ F1 [0-9.]+ \(TP'
n_alerts=$(wc -l <"$tmp/alerts.jsonl")
n_flagged=$(sed -n 's/^[0-9]* sessions, \([0-9]*\) anomalous.*/\1/p' "$tmp/err")
check '[ "$n_alerts" -gt 0 ] && [ "$n_alerts" = "$n_flagged" ]' "alerts $n_alerts, summary says $n_flagged"
# every alert carries its evidence
fields='^\{"session":"blk_-?[0-9]+","label":[01],"anomalous":true,"events":[0-9]+,"unexpected":[1-9][0-9]*,"position":[0-9]+,.*"event":.*"known":(true|false).*"expected":\[\{"event":"[^"]*","p":[0-9.e-]+\}.*\],"context":\[.*\],"lines":\[[0-9]+\]\}$'
check '[ "$(grep -cE "$fields" "$tmp/alerts.jsonl")" = "$n_alerts" ]' "alert lines without their fields: $(grep -vE "$fields" "$tmp/alerts.jsonl" | head -2)"
# the block that ends after two events is flagged at its end
grep -q '"event":"<end>"' "$tmp/alerts.jsonl" && ok || bad "no session flagged for ending early"

# --all: one verdict per session; -q: none; the same counts
run anomaly detect -m "$tmp/m.lrm" -i "$tmp/test.jsonl" --split test --threads 1 --all
n_sessions=$(sed -n 's/^\([0-9]*\) sessions.*/\1/p' "$tmp/err")
check '[ "$(wc -l <"$tmp/out")" = "$n_sessions" ] && grep -q "\"anomalous\":false" "$tmp/out"' "--all: not one line per session"
run anomaly detect -m "$tmp/m.lrm" -i "$tmp/test.jsonl" --split test --threads 1 -q
check '[ ! -s "$tmp/out" ]' "-q printed alerts"
expect "-q summary" 0 err "sessions, $n_flagged anomalous"
# a larger k flags no more sessions
run anomaly detect -m "$tmp/m.lrm" -i "$tmp/test.jsonl" --split test --threads 1 -q --top-k 12
k12=$(sed -n 's/^[0-9]* sessions, \([0-9]*\) anomalous.*/\1/p' "$tmp/err")
check '[ "$k12" -le "$n_flagged" ]' "top-k 12 flags $k12 > $n_flagged"
# standard input
stdin=$tmp/test.jsonl run anomaly detect -m "$tmp/m.lrm" --threads 1 -q
expect "stdin" 0 err '^400 sessions'

# DeepLog keys: train on normal sessions only (k by the false-alarm bound)
head -n 300 data/hdfs/deeplog/hdfs_train >"$tmp/keys_train"
head -n 200 data/hdfs/deeplog/hdfs_test_abnormal >"$tmp/keys_abnormal"
# shellcheck disable=SC2086
run anomaly train --format keys -i "$tmp/keys_train" -o "$tmp/k.lrm" $small --max-fpr 0.05
expect "keys train" 0 err 'chose top-k [0-9]+ on [0-9]+ held-out normal and 0 labelled'
run anomaly detect --format keys --label 1 -m "$tmp/k.lrm" -i "$tmp/keys_abnormal" --threads 1 -q
expect "keys detect" 0 err 'labelled 200: precision 1.0000 recall 0\.[5-9][0-9]*|labelled 200: precision 1.0000 recall 1.0000'

# raw log lines: sessions by block id, events are the masked lines
# shellcheck disable=SC2086
run anomaly train --format lines -i data/loghub/HDFS/HDFS_2k.log -o "$tmp/l.lrm" $small
expect "lines train" 0 err 'sessions: [0-9]+ to train on'
expect "lines train: lines without an id counted" 0 err '^[0-9]+ sessions from the lines; [0-9]+ lines matched no session id$'
printf '%s\n' \
    '081109 203518 143 INFO dfs.DataNode$DataXceiver: Receiving block blk_-1608999687919862906 src: /10.250.19.102:54106 dest: /10.250.19.102:50010' \
    '081109 203519 29 INFO dfs.DataNode$PacketResponder: Received block blk_-1608999687919862906 of size 91178 from /10.250.10.6' \
    '081109 203521 31 WARN dfs.DataNode: something entirely new happened to blk_-1608999687919862906' >"$tmp/new.log"
run anomaly detect --format lines -m "$tmp/l.lrm" -i "$tmp/new.log" --threads 1
expect "lines detect" 0 out '"known":false.*"lines":\[\{"line":1,"text":"081109 203518'
expect "lines detect evidence" 0 out '\{"line":3,"text":"081109 203521 31 WARN dfs.DataNode: something entirely new'

# bad input: one line naming the line, exit 1
printf '{"BlockId": "a", "Templates": ["x"]}\n{"BlockId": "b", "Templates": "x"}\n' >"$tmp/bad.jsonl"
run anomaly detect -m "$tmp/m.lrm" -i "$tmp/bad.jsonl"
expect "bad jsonl" 1 err '^logrisk anomaly detect: .*bad.jsonl: line 2: no events \(array field "Templates"\)$'
check '[ "$(wc -l <"$tmp/err")" -eq 1 ]' "bad jsonl: not one line: $err"
run anomaly train -i "$tmp/nonexistent" -o "$tmp/x.lrm"
expect "missing input" 1 err '^logrisk anomaly train: cannot open .*nonexistent: No such file'
check '[ ! -e "$tmp/x.lrm" ]' "a failed train wrote a model"
printf '{"BlockId": "a", "Label": 1, "Templates": ["x"]}\n' >"$tmp/only_anomalous.jsonl"
run anomaly train -i "$tmp/only_anomalous.jsonl" -o "$tmp/x.lrm"
expect "nothing to train on" 1 err 'no normal sessions to train on'

run anomaly detect --format lines -m "$tmp/m.lrm" -i "$tmp/new.log"
expect "lines with a model of no templates" 1 err '^logrisk anomaly detect: .*m.lrm was not trained on log lines'

# hostile and foreign model files
head -c 300 "$tmp/m.lrm" >"$tmp/cut.lrm"
run anomaly detect -m "$tmp/cut.lrm" -i "$tmp/test.jsonl"
expect "truncated model" 1 err 'cut.lrm'
cp "$tmp/m.lrm" "$tmp/flip.lrm"
size=$(stat -c %s "$tmp/flip.lrm")
printf '\x55' | dd of="$tmp/flip.lrm" bs=1 seek=$((size - 9)) conv=notrunc 2>/dev/null
run anomaly detect -m "$tmp/flip.lrm" -i "$tmp/test.jsonl"
expect "flipped weight" 1 err 'checksum'
if [ -f models/logrisk-mini.lrm ]; then
    run anomaly detect -m models/logrisk-mini.lrm -i "$tmp/test.jsonl"
    expect "a risk model is not an anomaly model" 1 err 'anomaly.arch'
fi
run anomaly detect -m "$tmp/missing.lrm" -i "$tmp/test.jsonl"
expect "missing model" 1 err 'missing.lrm'

finish
