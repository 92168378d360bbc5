#!/usr/bin/env bash
# eval.test.sh — `logrisk eval` and `logrisk calibrate` end to end.
#
#   tests/eval.test.sh BUILD_DIR
#
# 1. On a small committed gold sample (tests/fixtures/eval/gold_sample.jsonl,
#    44 judged one-line events, 4 per risk level) every figure of
#    `eval --json` equals the same figure computed here in Python, by its
#    textbook definition, from what `logrisk score` gives the same lines.
# 2. Bad gold files and options: a clear message with the line number, and
#    the exit status (1 for bad data, 2 for usage).
# 3. --wrappers reports a spread for every event.
# 4. calibrate: the fitted temperature lowers the NLL, and the written
#    model's logits are the original's divided by it.
# 5. The built-in model's figures on the judged test split are those the
#    README states (within 0.01).
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
bin=$build/logrisk
tmp=tests/out/eval
rm -rf "$tmp"
mkdir -p "$tmp"
PY=python3
gold=tests/fixtures/eval/gold_sample.jsonl

# ---------------------------------------------------------------- 1. figures
run eval --gold "$gold" --json
expect "eval --json" 0 out '"spearman"'
cp "$tmp/out" "$tmp/eval.json"
$PY -c 'import json,sys; [print(json.loads(l)["text"]) for l in open(sys.argv[1])]' "$gold" >"$tmp/lines.log"
"$bin" score --logits -i "$tmp/lines.log" -o "$tmp/score.jsonl"
res=$($PY - "$gold" "$tmp/score.jsonl" "$tmp/eval.json" <<'EOF' 2>&1
import json, math, sys
gold = [json.loads(l)["risk"] for l in open(sys.argv[1])]
res = [json.loads(l) for l in open(sys.argv[2])]
rep = json.load(open(sys.argv[3]))["model"]["all"]
assert len(res) == len(gold), (len(res), len(gold))
score = [r["risk_score"] for r in res]
label = [int(r["risk_label"]) for r in res]
conf = [r["probabilities"][int(r["risk_label"])] for r in res]
n = len(gold)

def ranks(v):
    order = sorted(range(n), key=lambda i: v[i])
    r = [0.0] * n
    i = 0
    while i < n:
        j = i
        while j + 1 < n and v[order[j + 1]] == v[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return r

def pearson(x, y):
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    return sxy / math.sqrt(sum((a - mx) ** 2 for a in x) * sum((b - my) ** 2 for b in y))

def sign(v):
    return (v > 0) - (v < 0)

c = d = tx = ty = p = 0
for i in range(n):
    for j in range(i + 1, n):
        p += 1
        s = sign(gold[i] - gold[j]) * sign(score[i] - score[j])
        c += s > 0
        d += s < 0
        tx += gold[i] == gold[j]
        ty += score[i] == score[j]
pos = [score[i] for i in range(n) if gold[i] >= 7]
neg = [score[i] for i in range(n) if gold[i] < 7]
auc = sum((a > b) + 0.5 * (a == b) for a in pos for b in neg) / (len(pos) * len(neg))
bins = {}
for i in range(n):
    bins.setdefault(min(9, int(conf[i] * 10)), []).append(i)
ece = sum(abs(sum(label[i] == gold[i] for i in b) - sum(conf[i] for i in b)) for b in bins.values()) / n
tp = sum(label[i] >= 7 and gold[i] >= 7 for i in range(n))
want = {
    "n": n,
    "spearman": pearson(ranks(gold), ranks(score)),
    "kendall_tau_b": (c - d) / math.sqrt((p - tx) * (p - ty)),
    "auc_ge7": auc,
    "mae": sum(abs(s - g) for s, g in zip(score, gold)) / n,
    "exact": sum(l == g for l, g in zip(label, gold)) / n,
    "within_one": sum(abs(l - g) <= 1 for l, g in zip(label, gold)) / n,
    "precision_ge7": tp / sum(l >= 7 for l in label) if any(l >= 7 for l in label) else None,
    "recall_ge7": tp / len(pos),
    "ece": ece,
}
bad = []
for k, v in want.items():
    got = rep[k]
    if v is None or got is None:
        if v != got:
            bad.append(f"{k}: eval {got}, python {v}")
    elif abs(got - v) > 2e-4:  # scores are printed with 6 digits, eval with 4
        bad.append(f"{k}: eval {got}, python {v:.6f}")
print("; ".join(bad) if bad else "ok")
EOF
)
check '[ "$res" = ok ]' "eval figures against Python: $res"

# the rules side is reported beside the model's, on the same events
run eval --gold "$gold" --rules models/rules/k8s.yaml
expect "eval --rules" 0 out '\| Spearman \| [-0-9.]+ \| [-0-9.]+ \|'
expect "eval per-group table" 0 out '\| loghub \| [0-9]+ \| [0-9]+ \|'

# per-event details: one object per gold event, with both sides
run eval --gold "$gold" --rules models/rules/k8s.yaml --details "$tmp/details.jsonl" -o /dev/null
expect "eval --details" 0 err '^$'
res=$($PY - "$tmp/details.jsonl" "$tmp/score.jsonl" <<'EOF' 2>&1
import json, sys
d = [json.loads(l) for l in open(sys.argv[1])]
s = [json.loads(l) for l in open(sys.argv[2])]
ok = len(d) == len(s) == 44 and all(abs(a["risk_score"] - b["risk_score"]) < 1e-4 and
                                    a["risk_label"] == int(b["risk_label"]) and 0 <= a["rules_label"] <= 10 and
                                    len(a["logits"]) == 11 and
                                    max(abs(x - y) for x, y in zip(a["logits"], b["logits"])) < 1e-3
                                    for a, b in zip(d, s))
print("ok" if ok else f"{len(d)} details, {len(s)} scores, first {d[:1]}")
EOF
)
check '[ "$res" = ok ]' "eval --details: $res"

# ---------------------------------------------------------------- 2. errors
printf '{"text":"ok","risk":3}\n{"text":"bad","risk":11}\n' >"$tmp/bad_risk.jsonl"
run eval --gold "$tmp/bad_risk.jsonl"
expect "risk out of range" 1 err 'bad_risk.jsonl:2: "risk" must be a whole number from 0 to 10'
printf '{"text":"ok","risk":3}\n\n{"risk":3}\n' >"$tmp/no_text.jsonl"
run eval --gold "$tmp/no_text.jsonl"
expect "no text" 1 err 'no_text.jsonl:3: no "text" string'
printf '{"text":"ok","risk":3}\nnot json\n' >"$tmp/not_json.jsonl"
run eval --gold "$tmp/not_json.jsonl"
expect "not JSON" 1 err 'not_json.jsonl:2: not JSON'
run eval --gold "$tmp/missing.jsonl"
expect "missing gold file" 1 err 'missing.jsonl'
run eval --gold "$gold" --split nosuchsplit
expect "empty split" 1 err 'no gold events in split "nosuchsplit"'
run eval
expect "no --gold" 2 err '^logrisk eval: --gold FILE is required'
run eval --gold "$gold" --bogus
expect "unknown option" 2 err "unknown option '--bogus'; try 'logrisk eval --help'$"
check '[ "$(wc -l <"$tmp/err")" -eq 1 ]' "a usage error is one line with the hint"
run eval --gold "$gold" --threads 0
expect "bad --threads" 2 err 'threads must be an integer in 1..256'

# ---------------------------------------------------------------- 3. wrappers
run eval --gold "$gold" --wrappers --json
expect "eval --wrappers" 0 out '"wrappers":\{"events":[0-9]+,"wrappers":10,"mean_spread":[0-9.]+'
n_spread=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["wrappers"]["events"])' "$tmp/out")
check '[ "$n_spread" -eq 44 ]' "every event of the sample has a wrapper spread (got $n_spread)"
# --details gives each event's own spread; their largest and mean are the report's
run eval --gold "$gold" --wrappers --json --details "$tmp/spread_details.jsonl"
res=$($PY - "$tmp/out" "$tmp/spread_details.jsonl" <<'EOF' 2>&1
import json, sys
w = json.load(open(sys.argv[1]))["wrappers"]
d = [json.loads(l)["wrapper_spread"] for l in open(sys.argv[2])]
v = [x for x in d if x is not None]
ok = len(d) == 44 and len(v) == w["events"] and abs(max(v) - w["max_spread"]) < 2e-4 \
    and abs(sum(v) / len(v) - w["mean_spread"]) < 2e-4
print("ok" if ok else f"details {len(d)} lines, {len(v)} spreads, max {max(v, default=None)}, report {w}")
EOF
)
check '[ "$res" = ok ]' "per-event wrapper spreads in --details: $res"
run eval --gold "$gold" --details "$tmp/plain_details.jsonl"
check '! grep -q wrapper_spread "$tmp/plain_details.jsonl"' "--details without --wrappers has no wrapper_spread"

# ---------------------------------------------------------------- 4. calibrate
run calibrate --gold "$gold" -o "$tmp/cal.lrm"
expect "calibrate" 0 out '^temperature [0-9.]+ on 44 events: mean NLL [0-9.]+ -> [0-9.]+'
T=$(sed -E 's/^temperature ([0-9.]+).*/\1/' "$tmp/out")
nll=$(sed -E 's/.*mean NLL ([0-9.]+) -> ([0-9.]+).*/\1 \2/' "$tmp/out")
check "awk -v a=\"${nll% *}\" -v b=\"${nll#* }\" 'BEGIN { exit !(b <= a) }'" "calibration raised the NLL: $nll"
head -n 5 "$tmp/lines.log" >"$tmp/five.log"
"$bin" score --logits -i "$tmp/five.log" -o "$tmp/orig.jsonl"
"$bin" score --logits -m "$tmp/cal.lrm" -i "$tmp/five.log" -o "$tmp/cal.jsonl"
res=$($PY - "$tmp/orig.jsonl" "$tmp/cal.jsonl" "$T" <<'EOF' 2>&1
import json, sys
a = [json.loads(l)["logits"] for l in open(sys.argv[1])]
b = [json.loads(l)["logits"] for l in open(sys.argv[2])]
T = float(sys.argv[3])
worst = max(abs(x / T - y) for ra, rb in zip(a, b) for x, y in zip(ra, rb))
print("ok" if len(a) == len(b) == 5 and worst < 1e-3 else f"max |logit/T - calibrated| {worst}")
EOF
)
check '[ "$res" = ok ]' "calibrated logits: $res"
run inspect "$tmp/cal.lrm"
expect "calibrated model records its temperature" 0 out 'model.temperature'
# the key is kept by copies: calibrating a calibrated model multiplies it,
# and a quantized copy carries it unchanged
temp_of() { "$bin" inspect "$1" | awk '$1 == "model.temperature" { print $2 }'; }
master=models/logrisk-mini.f32.lrm
"$bin" calibrate -m "$master" --gold "$gold" -o "$tmp/cal32.lrm" >"$tmp/cal32.out"
T32=$(sed -E 's/^temperature ([0-9.]+).*/\1/' "$tmp/cal32.out")
"$bin" quantize -m "$tmp/cal32.lrm" -o "$tmp/cal32_q8.lrm" --dtype q8 >/dev/null
t_master=$(temp_of "$master") t_cal=$(temp_of "$tmp/cal32.lrm") t_q8=$(temp_of "$tmp/cal32_q8.lrm")
check "awk -v m=\"$t_master\" -v t=\"$T32\" -v c=\"$t_cal\" 'BEGIN { d = m * t - c; exit !(m > 0 && (d < 0 ? -d : d) < 1e-4 * c) }'" \
    "calibrated master's temperature $t_cal is not master $t_master x fitted $T32"
check '[ -n "$t_q8" ] && [ "$t_q8" = "$t_cal" ]' "quantize kept model.temperature: '$t_q8' vs '$t_cal'"
run calibrate --gold "$gold"
expect "calibrate without -o" 2 err '^logrisk calibrate: -o OUT.lrm is required'

# ---------------------------------------------------------------- 5. README
row=$(grep -E '^\| built-in model, judged test split \|' README.md | head -n 1)
if [ -z "$row" ]; then
    bad "README has no row '| built-in model, judged test split | ...'"
else
    run eval --gold models/data/judged/judged.jsonl --split test --json
    res=$($PY - "$tmp/out" "$row" <<'EOF' 2>&1
import json, sys
rep = json.loads(open(sys.argv[1]).read())["model"]["all"]
cells = [c.strip() for c in sys.argv[2].strip().strip("|").split("|")][1:]
keys = ["spearman", "auc_ge7", "mae", "exact", "within_one", "ece"]
bad = [f"{k}: README {c}, eval {rep[k]:.4f}" for k, c in zip(keys, cells) if abs(float(c) - rep[k]) > 0.01]
print("; ".join(bad) if bad else "ok")
EOF
)
    check '[ "$res" = ok ]' "README figures of the built-in model: $res"
fi
finish
