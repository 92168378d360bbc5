#!/usr/bin/env bash
# score.test.sh — `logrisk score` end to end on the tiny model of tests/fixtures/tiny.
#
#   bash tests/score.test.sh BUILD_DIR
#
# The tiny model (tests/fixtures/tiny: vocab 512, H32, 2 layers,
# random weights) is converted with `logrisk convert` and a generated
# 512-line vocabulary. Checked: one output per input line, in order, for
# hostile input (empty lines, NUL bytes, invalid UTF-8, CRLF, no trailing
# newline, a 5 MB line) in bounded memory; probabilities sum to 1,
# risk_score is their median point, risk_label their argmax; identical
# results for --batch 1/7/32 and --threads 1/2 (length bucketing and
# threading do not change a line's score); the logits against PyTorch
# (ref_bert.py) on the token ids `logrisk tokenize` gives, when
# /usr/bin/python3 has torch; CLI errors and exit codes; write errors
# (ENOSPC via /dev/full, EPIPE) reported with a non-zero exit.
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
bin=$build/logrisk
tiny=tests/fixtures/tiny
out=tests/out/score
PY=/usr/bin/python3
. tests/lib.sh

rm -rf "$out"
mkdir -p "$out/tiny"

# ---------------------------------------------------------------- the model
if ! msg=$(make_tiny_model "$bin" "$out"); then
    bad "convert of the tiny fixture failed: $msg"
    finish
fi
ok
model=$out/tiny.lrm

# ---------------------------------------------------------------- CLI basics
"$bin" score --help >"$out/help.txt" 2>/dev/null
check '[ $? -eq 0 ] && grep -q "usage: logrisk score" "$out/help.txt"' "--help: usage on stdout, exit 0"
# without -m: the built-in model when the binary carries one, else a clear error
printf 'x\ny\n' | "$bin" score >"$out/nom.jsonl" 2>"$out/err.txt"
rc=$?
check '{ [ $rc -ne 0 ] && grep -q "no model given (-m)" "$out/err.txt"; } ||
       { [ $rc -eq 0 ] && [ "$(grep -c "^{\"line\":" "$out/nom.jsonl")" -eq 2 ]; }' \
    "no -m: a clear error, or two lines scored by the built-in model (rc $rc)"
"$bin" score -m "$model" --bogus </dev/null >/dev/null 2>"$out/err.txt"
rc=$?
check '[ $rc -eq 2 ] && [ "$(wc -l <"$out/err.txt")" -eq 1 ] && grep -q "unknown option.*; try .logrisk score --help.$" "$out/err.txt"' "unknown option: usage, exit 2"
"$bin" score -m "$model" --batch 0 </dev/null >/dev/null 2>"$out/err.txt"
check '[ $? -eq 2 ]' "--batch 0 is a usage error"
"$bin" score -m "$model" --threads x </dev/null >/dev/null 2>"$out/err.txt"
check '[ $? -eq 2 ]' "--threads x is a usage error"
"$bin" score -m "$out/nonexistent.lrm" </dev/null >/dev/null 2>"$out/err.txt"
check '[ $? -eq 1 ] && [ -s "$out/err.txt" ]' "missing model file: message, exit 1"
"$bin" score -m "$model" -i "$out/nonexistent.log" >/dev/null 2>"$out/err.txt"
check '[ $? -eq 1 ] && grep -q "nonexistent.log" "$out/err.txt"' "missing input file: message, exit 1"
"$bin" score -m "$model" </dev/null >"$out/empty.jsonl"
check '[ $? -eq 0 ] && [ ! -s "$out/empty.jsonl" ]' "empty input: no output, exit 0"

# ---------------------------------------------------------------- hostile input
hostile=$out/hostile.log
{
    printf '2024-01-15T10:30:45.123Z kubelet ERROR connection refused from 192.168.1.100:8080\n'
    printf '\n'
    printf 'windows line WARN disk pressure\r\n'
    printf 'nul \0 bytes \0\0 inside\n'
    printf 'invalid utf8 \xff\xfe \xc3\x28 \xe2\x82 end\n'
    printf '\n\n'
    printf 'node not ready; kernel panic\n'
    printf 'huge line follows\n'
    head -c 5000000 /dev/zero | tr '\0' 'a'
    printf ' tail\n'
    printf '\r\n'
    printf 'no trailing newline INFO done'
} >"$hostile"
n_in=$(( $(tr -cd '\n' <"$hostile" | wc -c) + 1 ))   # + the last line without '\n'
# peak RSS (KB) of a command run with the given arguments; its exit status is kept
peak_rss_kb() {
    $PY -c 'import resource, subprocess, sys
rc = subprocess.run(sys.argv[1:]).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(rc)' "$@"
}
rss=$(peak_rss_kb "$bin" score -m "$model" -i "$hostile" -o "$out/hostile.jsonl" --batch 4 2>"$out/err.txt")
check '[ $? -eq 0 ]' "hostile input scored (exit 0): $(cat "$out/err.txt")"
check '[ "$(wc -l <"$out/hostile.jsonl")" -eq "$n_in" ]' "hostile: $n_in input lines, $(wc -l <"$out/hostile.jsonl") outputs"
# the same run on one short line: a 5 MB line kept in memory would add >= 5 MB
rss0=$(peak_rss_kb "$bin" score -m "$model" -i /dev/null -o /dev/null --batch 4)
check '[ $((rss - rss0)) -lt 2048 ]' "5 MB line read in bounded memory (peak RSS ${rss} KB vs ${rss0} KB without it)"

# every output: valid JSON, the keys in order, line = 1..N, probabilities sum
# to 1, risk_score = the median point (class i spread over [i-0.5, i+0.5]),
# risk_label = argmax
cat >"$out/check.py" <<'EOF'
import json, sys
n, errs = 0, []
for i, raw in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    o = json.loads(raw)
    keys = list(o)
    want = ["line", "line_end", "risk_label", "risk_score", "probabilities"] + (["logits"] if "logits" in o else [])
    if keys != want: errs.append(f"line {i}: keys {keys}")
    if o["line"] != i: errs.append(f"line {i}: numbered {o['line']}")
    p = o["probabilities"]
    if len(p) != 11 or abs(sum(p) - 1) > 1e-5: errs.append(f"line {i}: sum {sum(p)}")
    cum, med = 0.0, 10.0
    for k, x in enumerate(p):
        if x > 0 and cum + x >= 0.5:
            med = min(max(k - 0.5 + (0.5 - cum) / x, 0.0), 10.0)
            break
        cum += x
    if abs(med - o["risk_score"]) > 1e-4: errs.append(f"line {i}: score {o['risk_score']} vs {med}")
    if o["risk_label"] != max(range(11), key=lambda k: p[k]): errs.append(f"line {i}: label")
    if not isinstance(o["risk_label"], int): errs.append(f"line {i}: label not a number")
    n += 1
print("\n".join(errs[:5]) if errs else f"ok {n}")
EOF
res=$($PY "$out/check.py" "$out/hostile.jsonl" 2>&1)
check '[ "$res" = "ok $n_in" ]' "hostile outputs well formed: $res"

# CRLF: 'x\r' scores like 'x'; a line longer than the cap scores like its
# first 64 KiB
printf 'windows line WARN disk pressure\n' >"$out/lf.log"
"$bin" score -m "$model" -i "$out/lf.log" >"$out/lf.jsonl"
check '[ "$(sed -n 3p "$out/hostile.jsonl" | cut -d, -f3-)" = "$(cut -d, -f3- "$out/lf.jsonl")" ]' \
    "CRLF line scores like the LF line"

# ---------------------------------------------------------------- batching / threads
corpus=$out/corpus.log
if ls data/loghub/*/*_2k.log >/dev/null 2>&1; then
    for f in data/loghub/*/*_2k.log; do head -n 60 "$f"; done >"$corpus"
else
    cp "$hostile" "$corpus"
fi
cat "$hostile" >>"$corpus"
n_corpus=$(( $(tr -cd '\n' <"$corpus" | wc -c) + 1 ))
"$bin" score -m "$model" -i "$corpus" --batch 32 --threads 2 --logits >"$out/b32.jsonl"
check '[ $? -eq 0 ] && [ "$(wc -l <"$out/b32.jsonl")" -eq "$n_corpus" ]' "corpus: one output per line"
"$bin" score -m "$model" -i "$corpus" --batch 1 --threads 1 --logits >"$out/b1.jsonl"
"$bin" score -m "$model" -i "$corpus" --batch 7 --threads 2 --logits >"$out/b7.jsonl"
"$bin" score -m "$model" -i "$corpus" --batch 32 --threads 1 --logits >"$out/b32t1.jsonl"
cat >"$out/same.py" <<'EOF'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
if len(a) != len(b): print(f"{len(a)} vs {len(b)} lines"); sys.exit()
worst = 0.0
for x, y in zip(a, b):
    if x["line"] != y["line"] or x["risk_label"] != y["risk_label"]: print(f"line {x['line']} differs"); sys.exit()
    for k in ("probabilities", "logits"):
        worst = max(worst, max(abs(u - v) for u, v in zip(x[k], y[k])))
    worst = max(worst, abs(x["risk_score"] - y["risk_score"]))
print("ok" if worst <= 1e-5 else f"max diff {worst}")
EOF
for other in b1 b7 b32t1; do
    res=$($PY "$out/same.py" "$out/b32.jsonl" "$out/$other.jsonl" 2>&1)
    check '[ "$res" = ok ]' "--batch 32 --threads 2 vs $other: $res"
done
res=$($PY "$out/check.py" "$out/b32.jsonl" 2>&1)
check '[ "$res" = "ok $n_corpus" ]' "corpus outputs well formed (with logits): $res"

# ---------------------------------------------------------------- streaming
# a pipe that goes quiet gets its lines scored and written before EOF
fifo=$out/fifo
rm -f "$fifo"
mkfifo "$fifo"
"$bin" score -m "$model" -i "$fifo" -o "$out/stream.jsonl" &
spid=$!
exec 7>"$fifo"
printf 'first ERROR line\nsecond WARN line\n' >&7
got=0
for _ in $(seq 1 50); do
    got=$(wc -l <"$out/stream.jsonl" 2>/dev/null || echo 0)
    [ "$got" -ge 2 ] && break
    sleep 0.1
done
check '[ "$got" -eq 2 ]' "streaming: 2 lines written while the pipe is still open (got $got)"
printf 'third line, no newline' >&7
exec 7>&-
wait "$spid"
check '[ $? -eq 0 ] && [ "$(wc -l <"$out/stream.jsonl")" -eq 3 ]' "streaming: all 3 lines after EOF"

# ---------------------------------------------------------------- named labels
# a model whose labels are not 0..C-1 writes the name of the argmax class
names="ok,debug,info,notice,warn,minor,error,major,critical,fatal,outage"
if "$bin" convert --from-safetensors "$out/tiny" -o "$out/named.lrm" --labels "$names" >/dev/null 2>&1; then
    head -n 40 "$corpus" | "$bin" score -m "$out/named.lrm" >"$out/named.jsonl"
    res=$($PY - "$out/named.jsonl" "$out/b32.jsonl" "$names" <<'EOF' 2>&1
import json, sys
names = sys.argv[3].split(",")
named = [json.loads(l) for l in open(sys.argv[1])]
nums = [json.loads(l) for l in open(sys.argv[2])][:len(named)]
bad = [a["line"] for a, b in zip(named, nums)
       if a["risk_label"] != names[b["risk_label"]] or abs(a["risk_score"] - b["risk_score"]) > 1e-6]
print("ok" if len(named) == 40 and not bad else f"{len(named)} lines, differing: {bad[:5]}")
EOF
)
    check '[ "$res" = ok ]' "named labels: risk_label is the class name: $res"
else
    bad "convert --labels failed"
fi

# ---------------------------------------------------------------- against PyTorch
# logits of the tiny model in PyTorch on the ids of `logrisk tokenize`
# (preprocessed with the default rules, like score does), max_len 64 = the
# model's max positions
if $PY -c 'import torch' 2>/dev/null && "$bin" tokenize --help >/dev/null 2>&1; then
    head -n 300 "$corpus" >"$out/ref.log"
    "$bin" score -m "$model" -i "$out/ref.log" --logits >"$out/ref_score.jsonl"
    maxlen=$($PY -c 'import json,sys; print(min(128, json.load(open(sys.argv[1]))["max_position_embeddings"]))' "$tiny/config.json")
    "$bin" tokenize --vocab "$out/tiny/vocab.txt" --max-len "$maxlen" --input-format auto -i "$out/ref.log" >"$out/ref_tok.jsonl"
    res=$($PY - "$PWD/tools" "$out/tiny" "$out/ref_tok.jsonl" "$out/ref_score.jsonl" <<'EOF' 2>&1
import json, sys
sys.path.insert(0, sys.argv[1])
import torch, ref_bert
torch.set_num_threads(1)
m = ref_bert.load_model(sys.argv[2]).double()
toks = [json.loads(l)["ids"] for l in open(sys.argv[3])]
ours = [json.loads(l)["logits"] for l in open(sys.argv[4])]
assert len(toks) == len(ours), (len(toks), len(ours))
worst = 0.0
with torch.no_grad():
    for ids, lg in zip(toks, ours):
        x = torch.tensor([ids])
        ref = m(x, torch.ones_like(x))[0]
        worst = max(worst, max(abs(float(a) - b) for a, b in zip(ref, lg)))
print("ok" if worst <= 1e-4 else f"max |logit diff| {worst}")
EOF
)
    check '[ "$res" = ok ]' "logits vs PyTorch float64 on 300 lines: $res"
else
    echo "skip: PyTorch reference (needs /usr/bin/python3 with torch and logrisk tokenize)"
fi

# ---------------------------------------------------------------- write errors
if [ -w /dev/full ]; then
    "$bin" score -m "$model" -i "$corpus" >/dev/full 2>"$out/err.txt"
    rc=$?
    check '[ $rc -ne 0 ] && grep -qi "no space" "$out/err.txt"' "ENOSPC: message and non-zero exit (rc $rc: $(cat "$out/err.txt"))"
fi
for _ in 1 2 3 4 5 6 7 8; do cat "$corpus"; done >"$out/long.log"
"$bin" score -m "$model" -i "$out/long.log" 2>"$out/err.txt" | head -n 1 >/dev/null
rc=${PIPESTATUS[0]}
check '[ $rc -ne 0 ] && grep -qi "broken pipe" "$out/err.txt"' "EPIPE: message and non-zero exit (rc $rc: $(cat "$out/err.txt"))"

# ---------------------------------------------------------------- FIFOs and devices
# a model file that is a FIFO with no writer fails at once (it used to block
# forever in open), and so does a device
mkfifo "$out/model.fifo"
timeout 10 "$bin" score -m "$out/model.fifo" -i "$corpus" >/dev/null 2>"$out/err.txt"
rc=$?
check '[ $rc -eq 1 ] && grep -q "not a regular file" "$out/err.txt"' "score -m FIFO (rc $rc: $(cat "$out/err.txt"))"
timeout 10 "$bin" score -m /dev/zero -i "$corpus" >/dev/null 2>"$out/err.txt"
rc=$?
check '[ $rc -eq 1 ] && grep -q "not a regular file" "$out/err.txt"' "score -m /dev/zero (rc $rc: $(cat "$out/err.txt"))"
rm -f "$out/model.fifo"

# a rules regex that hits its limits while scoring: the line is scored masked
# to its end (tests/cli_label.test.sh shows the masked text), a warning says
# so, and --stats counts it
printf 'masks:\n  - {name: runaway, pattern: "(a+)+$", replace: "<A>"}\n' >"$out/tok.yaml"
if "$bin" convert --from-safetensors "$out/tiny" -o "$out/tok.lrm" --rules "$out/tok.yaml" >/dev/null 2>"$out/err.txt"; then
    printf 'key aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab secret\nplain line\n' >"$out/tok.log"
    "$bin" score -m "$out/tok.lrm" --input-format raw --stats -i "$out/tok.log" >"$out/tok.jsonl" 2>"$out/err.txt"
    rc=$?
    check '[ $rc -eq 0 ] && [ "$(wc -l <"$out/tok.jsonl")" -eq 2 ]' \
        "score with a failing mask: rc $rc, $(head -c 300 "$out/tok.jsonl")"
    check 'grep -q "hit its limits on 1 line(s)" "$out/err.txt" && grep -q " 1 regex limits" "$out/err.txt"' \
        "score: regex limit not reported: $(cat "$out/err.txt")"
else
    bad "convert with a rules file: $(cat "$out/err.txt")"
fi

finish
