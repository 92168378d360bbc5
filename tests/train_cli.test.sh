#!/usr/bin/env bash
# `logrisk train` end to end on real logs: label -> vocab -> train a tiny
# model -> score with it; usage and config errors; and resume after kill -9
# giving the same model, byte for byte, as an uninterrupted run.
#
#   bash tests/train_cli.test.sh BUILD_DIR
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
bin="$build/logrisk"
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- usage
"$bin" train --help >"$tmp/help" 2>/dev/null && grep -q "usage: logrisk train" "$tmp/help" && ok ||
    bad "train --help"
"$bin" train >/dev/null 2>&1
[ $? -eq 2 ] && ok || bad "train without --config should exit 2"
"$bin" train --config >/dev/null 2>&1
[ $? -eq 2 ] && ok || bad "train --config without a value should exit 2"

# --- data: 1,500 lines of 3 real logs, weak-labelled
{
    head -n 600 "data/loghub/Linux/Linux_2k.log"
    head -n 300 "data/loghub/Apache/Apache_2k.log"
    head -n 600 "data/k8s/kubelet_e2e_2020-03-25.log"
} >"$tmp/raw.log"
"$bin" label -i "$tmp/raw.log" -o "$tmp/labelled.jsonl" && ok || bad "label"
"$bin" vocab -i "$tmp/raw.log" -o "$tmp/vocab.txt" --size 600 && ok || bad "vocab"

cat >"$tmp/train.yaml" <<EOF
data: $tmp/labelled.jsonl
vocab: $tmp/vocab.txt
output: $tmp/a.lrm
max_len: 32
epochs: 3
batch: 32
lr: 2.0e-3
hidden: 32
layers: 1
heads: 2
intermediate: 64
head_hidden: 16
max_positions: 32
seed: 3
threads: 2
patience: 5
EOF

# --- config errors: file:line:column and exit 1
printf 'data: x\nvocab: y\nepoch: 3\n' >"$tmp/bad.yaml"
"$bin" train --config "$tmp/bad.yaml" 2>"$tmp/err" >/dev/null
rc=$?
[ $rc -eq 1 ] && grep -q "bad.yaml:3:1: unknown setting epoch" "$tmp/err" && ok ||
    { bad "unknown key (exit $rc)"; cat "$tmp/err"; }
printf 'data: x\nvocab: y\nlr: 1e-3\nlr: 1e-4\n' >"$tmp/bad.yaml"
"$bin" train --config "$tmp/bad.yaml" 2>"$tmp/err" >/dev/null
rc=$?
[ $rc -eq 1 ] && grep -q "bad.yaml:4:1: setting given twice: lr" "$tmp/err" && ok ||
    { bad "duplicate key (exit $rc)"; cat "$tmp/err"; }
printf 'data: x\nvocab: y\nlr: fast\n' >"$tmp/bad.yaml"
"$bin" train --config "$tmp/bad.yaml" 2>"$tmp/err" >/dev/null
[ $? -eq 1 ] && grep -q "bad.yaml:3:5: bad value for lr" "$tmp/err" && ok ||
    { bad "bad number"; cat "$tmp/err"; }
sed "s|^data: .*|data: $tmp/missing.jsonl|" "$tmp/train.yaml" >"$tmp/missing.yaml"
"$bin" train --config "$tmp/missing.yaml" 2>"$tmp/err" >/dev/null
[ $? -eq 1 ] && grep -q "missing.jsonl" "$tmp/err" && ok || { bad "missing data"; cat "$tmp/err"; }

# --- train, then score with the model
if "$bin" train --config "$tmp/train.yaml" 2>"$tmp/log"; then ok; else bad "train"; cat "$tmp/log"; fi
# progress: step, loss, tokens/s and ETA (plain lines when stderr is not a tty)
grep -Eq '^logrisk train: epoch [0-9]+/[0-9]+ step [0-9]+/[0-9]+ loss [0-9.]+ [0-9]+ tokens/s ETA [0-9]+m[0-9]{2}s$' "$tmp/log" && ok ||
    bad "no progress line in the train log: $(head -3 "$tmp/log")"
grep -q "epoch 3/3" "$tmp/log" && ok || { bad "no epoch lines"; cat "$tmp/log"; }
/usr/bin/env python3 - "$tmp/a.lrm.metrics.json" <<'EOF' && ok || bad "metrics file"
import json, sys
m = json.load(open(sys.argv[1]))
assert len(m["epochs"]) == 3, m
v = m["epochs"][-1]["validation"]
assert v["examples"] == 150 and len(v["confusion"]) == 11 and "macro_f1" in v, v
assert 1 <= m["best_epoch"] <= 3
EOF
"$bin" score -m "$tmp/a.lrm" --input-format raw -i "$tmp/raw.log" -o "$tmp/scores.jsonl" && ok || bad "score"
# agreement with the weak labels (the tiny model learns the majority and
# the frequent keywords; threshold 0.8)
/usr/bin/env python3 - "$tmp/scores.jsonl" "$tmp/labelled.jsonl" <<'EOF' && ok || bad "agreement"
import json, sys
s = [json.loads(l)["risk_label"] for l in open(sys.argv[1])]
w = [json.loads(l)["label"] for l in open(sys.argv[2])]
assert len(s) == len(w) == 1500, (len(s), len(w))
agree = sum(a == b for a, b in zip(s, w)) / len(w)
print(f"agreement with weak labels: {agree:.3f}")
assert agree >= 0.8, agree
EOF

# --- resume after kill -9 gives the same model as the run above
sed -e "s|^output: .*|output: $tmp/b.lrm|" -e '$aresume: true' "$tmp/train.yaml" >"$tmp/resume.yaml"
"$bin" train --config "$tmp/resume.yaml" 2>"$tmp/log_b1" &
pid=$!
for _ in $(seq 1 600); do
    [ -f "$tmp/b.lrm.ckpt" ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.01
done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
if [ -f "$tmp/b.lrm.ckpt" ]; then ok; else bad "no checkpoint before the kill"; fi
# the kill must have hit the run before its end, or the check below is void
grep -q "epoch 3/3" "$tmp/log_b1" && bad "the killed run had already finished" || ok
"$bin" train --config "$tmp/resume.yaml" 2>"$tmp/log_b2" && ok || { bad "resume"; cat "$tmp/log_b2"; }
grep -q "resumed from" "$tmp/log_b2" && ok || bad "resume did not load the checkpoint"
cmp -s "$tmp/a.lrm" "$tmp/b.lrm" && ok || bad "resumed model differs from the uninterrupted one"

# --- MLM pre-training on the raw lines, then train from that encoder
sed -e "s|^data: .*|data: $tmp/raw.log|" -e "s|^output: .*|output: $tmp/enc.lrm|" \
    -e 's|^epochs: .*|epochs: 2|' "$tmp/train.yaml" >"$tmp/pre.yaml"
if "$bin" pretrain --config "$tmp/pre.yaml" 2>"$tmp/log_pre"; then ok; else bad "pretrain"; cat "$tmp/log_pre"; fi
grep -Eq '^logrisk pretrain: epoch [0-9]+/[0-9]+ step [0-9]+/[0-9]+ loss [0-9.]+ [0-9]+ tokens/s ETA' "$tmp/log_pre" && ok ||
    bad "no progress line in the pretrain log"
/usr/bin/env python3 - "$tmp/enc.lrm.metrics.json" <<'EOF2' && ok || bad "MLM loss did not fall"
import json, sys
e = json.load(open(sys.argv[1]))["epochs"]
print("MLM loss curve:", [(x["train_loss"], x["val_loss"]) for x in e])
assert len(e) == 2 and e[1]["train_loss"] < e[0]["train_loss"] and e[1]["val_loss"] < e[0]["val_loss"], e
EOF2
sed -e "s|^output: .*|output: $tmp/c.lrm|" -e "\$ainit: $tmp/enc.lrm" -e 's|^epochs: .*|epochs: 1|' \
    "$tmp/train.yaml" >"$tmp/fine.yaml"
"$bin" train --config "$tmp/fine.yaml" 2>"$tmp/log_c" && ok || { bad "train from the encoder"; cat "$tmp/log_c"; }
"$bin" score -m "$tmp/c.lrm" --input-format raw -i "$tmp/raw.log" -o "$tmp/scores_c.jsonl" && ok || bad "score fine-tuned"
sed -e "s|^init: .*|init: $tmp/raw.log|" "$tmp/fine.yaml" >"$tmp/wrong.yaml"
"$bin" train --config "$tmp/wrong.yaml" 2>"$tmp/err" >/dev/null
[ $? -eq 1 ] && grep -q "raw.log" "$tmp/err" && ok || { bad "init from a non-model"; cat "$tmp/err"; }

# --- a separate validation file (valid_data): every line of data trains,
# validation is exactly that file's examples; the ordinal loss options run
head -n 120 "$tmp/labelled.jsonl" >"$tmp/valid.jsonl"
sed -e "s|^output: .*|output: $tmp/v.lrm|" -e 's|^epochs: .*|epochs: 1|' "$tmp/train.yaml" >"$tmp/valid.yaml"
printf 'valid_data: %s\nlabel_smoothing: 0.1\nlabel_spread: 1.0\nexpected_weight: 0.05\n' "$tmp/valid.jsonl" >>"$tmp/valid.yaml"
"$bin" train --config "$tmp/valid.yaml" 2>"$tmp/log_v" && ok || { bad "train with valid_data"; cat "$tmp/log_v"; }
grep -q "1620 examples (1500 train, 120 validation)" "$tmp/log_v" && ok ||
    bad "valid_data: not 1500 train + 120 validation: $(grep examples "$tmp/log_v")"
/usr/bin/env python3 - "$tmp/v.lrm.metrics.json" <<'EOF2' && ok || bad "valid_data metrics"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["epochs"][0]["validation"]["examples"] == 120, m["epochs"][0]["validation"]
EOF2
sed "s|^valid_data: .*|valid_data: $tmp/nope.jsonl|" "$tmp/valid.yaml" >"$tmp/valid_bad.yaml"
"$bin" train --config "$tmp/valid_bad.yaml" 2>"$tmp/err" >/dev/null
[ $? -eq 1 ] && grep -q "nope.jsonl" "$tmp/err" && ok || { bad "missing valid_data"; cat "$tmp/err"; }
printf '{"text":"x","label":"oom"}\n{"text":"y","label":"disk"}\n' >"$tmp/valid_names.jsonl"
sed "s|^valid_data: .*|valid_data: $tmp/valid_names.jsonl|" "$tmp/valid.yaml" >"$tmp/valid_cls.yaml"
"$bin" train --config "$tmp/valid_cls.yaml" 2>"$tmp/err" >/dev/null
[ $? -eq 1 ] && grep -q "valid_names.jsonl: its labels are not the same classes" "$tmp/err" && ok ||
    { bad "valid_data with other classes"; cat "$tmp/err"; }
sed "s|^label_spread: .*|label_spread: -1|" "$tmp/valid.yaml" >"$tmp/spread_bad.yaml"
grep -qx 'label_spread: -1' "$tmp/spread_bad.yaml" || bad "valid.yaml sets no label_spread"
"$bin" train --config "$tmp/spread_bad.yaml" 2>"$tmp/err" >/dev/null
[ $? -eq 1 ] && grep -q "bad value for label_spread" "$tmp/err" && ok || { bad "negative label_spread"; cat "$tmp/err"; }

# --- temporaries are never followed: symlinks planted where the metrics and
# checkpoint temporaries used to be made leave their targets untouched; a
# config that is a FIFO is refused at once
printf 'victim\n' >"$tmp/victim"
ln -s "$tmp/victim" "$tmp/s.lrm.metrics.json.tmp"
ln -s "$tmp/victim" "$tmp/s.lrm.ckpt.tmp"
sed -e "s|^output: .*|output: $tmp/s.lrm|" -e 's|^epochs: .*|epochs: 1|' "$tmp/train.yaml" >"$tmp/sym.yaml"
"$bin" train --config "$tmp/sym.yaml" 2>"$tmp/log_s" && ok || { bad "train with planted symlinks"; cat "$tmp/log_s"; }
[ "$(cat "$tmp/victim")" = victim ] && ok || bad "a planted symlink's target was overwritten"
[ -f "$tmp/s.lrm" ] && [ -s "$tmp/s.lrm.metrics.json" ] && ok || bad "no model or metrics next to planted symlinks"
mkfifo "$tmp/cfg.fifo"
timeout 10 "$bin" train --config "$tmp/cfg.fifo" 2>"$tmp/err" >/dev/null
rc=$?
[ $rc -eq 1 ] && grep -q "not a regular file" "$tmp/err" && ok || bad "FIFO config (exit $rc): $(cat "$tmp/err")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
