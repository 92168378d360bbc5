#!/usr/bin/env bash
# onnx.test.sh — `logrisk export` proven with onnx.checker and ONNX Runtime.
#
#   bash tests/onnx.test.sh BUILD_DIR
#
# Models (every head, several shapes; each exported at opset 14 and 17):
#   tiny    the tiny fixture tests/fixtures/tiny (MLP head, H32, 2 layers), converted with
#           a generated 512-token vocabulary
#   linear  tests/fixtures/model/linear (one Linear on [CLS], 11 labels)
#   pooler  tests/fixtures/model/pooler (HF pooler + Linear, 3 labels)
#   mini    BERT-mini shape (L4 H256 A4 I1024 P512, MLP head), random
#           weights from tools/make_onnx_fixture.py, logs-8k vocabulary
#   odd     1 layer, H48 with 3 heads, I40, 16 positions, a single label
# For each export:
#   - /usr/bin/python3 tools/onnx_check.py: onnx.checker full_check, the
#     inputs/outputs (int64 [batch, sequence] x2, float [batch, C]), the
#     opset and IR version, and metadata_props equal to the model's own
#     labels, max_len, vocabulary and rules (`logrisk inspect --json`);
#   - 500 real log lines (30 from each loghub system + 80 kubelet lines)
#     tokenized by `logrisk tokenize` with the vocabulary, rules and max_len
#     read back from the ONNX metadata, run by ONNX Runtime (npm
#     onnxruntime-node) at batch 1 and 32 (padded, attention_mask 0): every
#     logit within 1e-4 of `logrisk score --logits`;
#   - ORT's optimised graph (level 'all') saved and counted: every LayerNorm
#     fused (2 per layer + 1) and every GELU fused (1 per layer), and no
#     Erf/Pow/Sqrt/ReduceMean left — the opset-14 patterns are what ORT fuses.
# Plus the command line: --help, usage errors (exit 2), a missing or corrupt
# model (exit 1, no file left behind).
#
# onnxruntime-node is installed on first use into tools/node_modules_ort
# (gitignored; ONNXRUNTIME_NODE_INSTALL=skip), or reused from
# bench/out/peers when the engine bench already installed it.
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
root=$PWD
bin="$(cd "$build" && pwd)/logrisk"  # BUILD may be relative or absolute
# A directory of its own per run (several runs may share the tree); removed
# at the end unless KEEP=1.
mkdir -p "$root/tests/out"
out=$(mktemp -d "$root/tests/out/onnx.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$out"' EXIT
PY=/usr/bin/python3
ORT_VERSION=1.30.0
. tests/lib.sh

[ -x "$bin" ] || { bad "missing $bin (make first)"; finish; }

# ---------------------------------------------------------------- command line
"$bin" export --help >"$out/help.txt" 2>&1
check '[ $? -eq 0 ] && grep -q "^usage: logrisk export" "$out/help.txt"' "export --help"
"$bin" export --onnx "$out/x.onnx" >/dev/null 2>"$out/err.txt"
check '[ $? -eq 2 ] && grep -q "try .logrisk export --help" "$out/err.txt"' "export without -m: exit 2 and the hint"
"$bin" export -m x.lrm --onnx "$out/x.onnx" --opset 13 >/dev/null 2>"$out/err.txt"
check '[ $? -eq 2 ] && grep -q "14 or 17" "$out/err.txt"' "--opset 13: exit 2"
"$bin" export -m "$out/none.lrm" --onnx "$out/x.onnx" >/dev/null 2>"$out/err.txt"
check '[ $? -eq 1 ] && grep -q "none.lrm" "$out/err.txt" && [ ! -e "$out/x.onnx" ]' \
      "missing model: exit 1 naming it, no output"

# ---------------------------------------------------------------- the models
tiny=$root/tests/fixtures/tiny
mkdir -p "$out/tiny"
cp "$tiny/model.safetensors" "$tiny/config.json" "$out/tiny/"
{
    echo "[PAD]"; for i in $(seq 0 98); do echo "[unused$i]"; done
    printf '%s\n' "[UNK]" "[CLS]" "[SEP]" "[MASK]" "<TIME>" "<ID>" "<IP>" "<PID>" "<PATH>"
    for w in error warn info debug failed connection refused kubelet pod node disk timeout \
             kernel memory out of to the is not ready image; do echo "$w"; done
    for c in a b c d e f g h i j k l m n o p q r s t u v w x y z 0 1 2 3 4 5 6 7 8 9; do
        echo "$c"; echo "##$c"
    done
    for c in '.' ',' ':' ';' '-' '_' '/' '=' '[' ']' '(' ')' '"' "'" '<' '>' '!' '?' '*' '#'; do
        echo "$c"
    done
    i=0; while [ $i -lt 512 ]; do echo "filler$i"; i=$((i + 1)); done
} | head -n 512 >"$out/tiny/vocab.txt"
cp -r tests/fixtures/model/linear tests/fixtures/model/pooler "$out/"
models=(tiny linear pooler)
if $PY -c 'import numpy' 2>/dev/null; then
    if $PY tools/make_onnx_fixture.py "$out/mini" >"$out/mini.log" 2>&1; then
        models+=(mini)
    else
        bad "make_onnx_fixture.py: $(tail -n 3 "$out/mini.log")"
    fi
    # Odd sizes: 3 heads of 16, I = 40, 16 positions (lines cut at 16
    # tokens), a single label.
    if $PY tools/make_onnx_fixture.py "$out/odd" --layers 1 --hidden 48 --heads 3 --intermediate 40 \
            --positions 16 --labels 1 --seed 7 >"$out/odd.log" 2>&1; then
        models+=(odd)
    else
        bad "make_onnx_fixture.py odd: $(tail -n 3 "$out/odd.log")"
    fi
fi
for m in "${models[@]}"; do
    "$bin" convert --from-safetensors "$out/$m" -o "$out/$m.lrm" >"$out/$m.convert.log" 2>&1 ||
        bad "convert $m: $(cat "$out/$m.convert.log")"
done

# A corrupt model is refused and leaves nothing behind.
head -c 3000 "$out/tiny.lrm" >"$out/cut.lrm"
"$bin" export -m "$out/cut.lrm" --onnx "$out/cut.onnx" >/dev/null 2>"$out/err.txt"
check '[ $? -eq 1 ] && [ -s "$out/err.txt" ] && [ ! -e "$out/cut.onnx" ] && [ -z "$(ls "$out" | grep "cut.onnx.tmp")" ]' \
      "truncated model: exit 1, no output and no temporary"
"$bin" export -m "$out/tiny.lrm" --onnx "$out/no/such/dir/x.onnx" >/dev/null 2>"$out/err.txt"
check '[ $? -eq 1 ] && grep -q "cannot create" "$out/err.txt"' "unwritable output: exit 1"

for m in "${models[@]}"; do
    for opset in 14 17; do
        if "$bin" export -m "$out/$m.lrm" --onnx "$out/$m.$opset.onnx" --opset "$opset" 2>"$out/err.txt"; then
            ok
        else
            bad "export $m opset $opset: $(cat "$out/err.txt")"
        fi
    done
done

# ---------------------------------------------------------------- the checker
if ! $PY -c 'import onnx' 2>/dev/null; then
    echo "skip: onnx.checker and ORT parity need /usr/bin/python3 with python3-onnx (tools/deps.sh test)"
    finish
fi
for m in "${models[@]}"; do
    "$bin" inspect --json "$out/$m.lrm" >"$out/$m.inspect.json" 2>&1 || bad "inspect $m"
    for opset in 14 17; do
        f=$out/$m.$opset.onnx
        if ! $PY tools/onnx_check.py "$f" >"$out/$m.$opset.info.json" 2>"$out/err.txt"; then
            bad "onnx.checker $m opset $opset: $(cat "$out/err.txt")"
            continue
        fi
        ok
        res=$($PY - "$out/$m.$opset.info.json" "$out/$m.inspect.json" "$opset" "$out/$m.$opset" <<'EOF' 2>&1
import json, sys
info = json.load(open(sys.argv[1]))
lrm = json.load(open(sys.argv[2]))
opset, prefix = int(sys.argv[3]), sys.argv[4]
meta = {m["key"]: m["value"] for m in lrm["metadata"]} if isinstance(lrm["metadata"], list) else lrm["metadata"]
labels = meta["model.labels"]
problems = []
want_io = ([{"name": "input_ids", "elem_type": 7, "dims": ["batch", "sequence"]},
            {"name": "attention_mask", "elem_type": 7, "dims": ["batch", "sequence"]}],
           [{"name": "logits", "elem_type": 1, "dims": ["batch", len(labels)]}])
if (info["inputs"], info["outputs"]) != want_io:
    problems.append(f"graph io {info['inputs']} {info['outputs']}")
if info["opsets"] != {"ai.onnx": opset} or info["ir_version"] != (7 if opset == 14 else 8):
    problems.append(f"opset/ir {info['opsets']} {info['ir_version']}")
if info["producer"][0] != "logrisk":
    problems.append(f"producer {info['producer']}")
md = info["metadata"]
if json.loads(md.get("logrisk.labels", "null")) != labels:
    problems.append(f"labels {md.get('logrisk.labels')} != {labels}")
if md.get("logrisk.max_len") != str(meta["tokenizer.max_len"]):
    problems.append("max_len")
if md.get("logrisk.vocab") != meta["tokenizer.vocab"]:
    problems.append("vocab")
if md.get("logrisk.rules_yaml") != meta.get("rules.yaml"):
    problems.append("rules")
# What a consumer needs, written where the tokenizer can read it.
open(prefix + ".vocab.txt", "w", encoding="utf-8").write(md.get("logrisk.vocab", ""))
open(prefix + ".rules.yaml", "w", encoding="utf-8").write(md.get("logrisk.rules_yaml", ""))
open(prefix + ".max_len", "w").write(md.get("logrisk.max_len", "2"))
ops = info["ops"]
if opset == 14 and ("LayerNormalization" in ops or ops.get("Erf", 0) == 0):
    problems.append(f"opset 14 ops {ops}")
if opset == 17 and ops.get("LayerNormalization", 0) == 0:
    problems.append(f"opset 17 ops {ops}")
print("; ".join(problems) if problems else "ok")
EOF
)
        check '[ "$res" = ok ]' "metadata/io of $m opset $opset: $res"
    done
done

# ---------------------------------------------------------------- ONNX Runtime
if ! command -v node >/dev/null 2>&1; then
    echo "skip: ORT parity needs node/npm (tools/deps.sh test)"
    finish
fi
ort_dir=$root/tools/node_modules_ort
if [ ! -e "$ort_dir/node_modules/onnxruntime-node/package.json" ]; then
    if [ -e "$root/bench/out/peers/node_modules/onnxruntime-node/package.json" ]; then
        ort_dir=$root/bench/out/peers
    else
        echo "installing onnxruntime-node@$ORT_VERSION into tools/node_modules_ort (once)"
        mkdir -p "$ort_dir"
        ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix "$ort_dir" --no-save --no-audit --no-fund \
            "onnxruntime-node@$ORT_VERSION" >"$out/npm.log" 2>&1 || { bad "npm install: $(tail -n 5 "$out/npm.log")"; finish; }
    fi
fi

for f in "$root"/data/loghub/*/*_2k.log; do head -n 30 "$f"; done >"$out/lines.log"
head -n 80 "$root/data/k8s/kubelet_e2e_2020-03-25.log" >>"$out/lines.log"
head -n 500 "$out/lines.log" >"$out/lines500.log"
n_lines=$(wc -l <"$out/lines500.log")
check '[ "$n_lines" -eq 500 ]' "500 real log lines (got $n_lines)"

for m in "${models[@]}"; do
    [ -e "$out/$m.14.max_len" ] || continue
    "$bin" score -m "$out/$m.lrm" --input-format raw -i "$out/lines500.log" --logits >"$out/$m.score.jsonl" 2>"$out/err.txt" ||
        { bad "score $m: $(cat "$out/err.txt")"; continue; }
    "$bin" tokenize --vocab "$out/$m.14.vocab.txt" --rules "$out/$m.14.rules.yaml" \
        --max-len "$(cat "$out/$m.14.max_len")" -i "$out/lines500.log" >"$out/$m.tok.jsonl" 2>"$out/err.txt" ||
        { bad "tokenize $m: $(cat "$out/err.txt")"; continue; }
    for opset in 14 17; do
        opt=$out/$m.$opset.ort_optimized.onnx
        if ! node tools/ort_check.mjs --ort "$ort_dir" --model "$out/$m.$opset.onnx" --tokens "$out/$m.tok.jsonl" \
                --ref "$out/$m.score.jsonl" --batch 1,32 --optimized "$opt" >"$out/$m.$opset.ort.json" 2>"$out/err.txt"; then
            bad "ORT run $m opset $opset: $(grep -v '^\s*$' "$out/err.txt" | tail -n 5)"
            continue
        fi
        ok
        L=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["num_hidden_layers"])' "$out/$m/config.json")
        res=$($PY - "$out/$m.$opset.ort.json" "$opt" "$L" <<'EOF' 2>&1
import json, subprocess, sys
r = json.load(open(sys.argv[1]))
L = int(sys.argv[3])
problems, diffs = [], []
for bs in ("1", "32"):
    b = r["batches"][bs]
    diffs.append(f"b{bs} {b['max_diff']:.2g}")
    if not b["max_diff"] <= 1e-4:
        problems.append(f"batch {bs}: max |logit diff| {b['max_diff']}")
info = json.loads(subprocess.run([sys.executable, "tools/onnx_check.py", sys.argv[2], "--no-check"],
                                 capture_output=True, text=True, check=True).stdout)
ops = info["ops"]
ln = sum(ops.get(k, 0) for k in ("LayerNormalization", "SkipLayerNormalization",
                                 "EmbedLayerNormalization", "SkipSimplifiedLayerNormalization"))
gelu = sum(ops.get(k, 0) for k in ("Gelu", "BiasGelu", "FastGelu"))
if ln != 2 * L + 1:
    problems.append(f"{ln} fused LayerNorms, want {2 * L + 1}: {ops}")
if gelu != L:
    problems.append(f"{gelu} fused GELUs, want {L}: {ops}")
left = {k: ops[k] for k in ("Erf", "Pow", "Sqrt", "ReduceMean") if ops.get(k)}
if left:
    problems.append(f"unfused ops left: {left}")
print("; ".join(problems) if problems else "ok " + ", ".join(diffs) + f", LN {ln}, GELU {gelu}")
EOF
)
        check '[ "${res%% *}" = ok ]' "ORT $m opset $opset: $res"
        echo "ORT $m opset $opset: $res"
    done
done

# ---------------------------------------------------------------- docs example
# The Node example of docs/onnx.md ("Running it"), run as written on the
# tiny model: its risk scores must be logrisk's.
sed -n '/<!-- ort-example -->/,/<!-- \/ort-example -->/p' docs/onnx.md | sed '1,2d;$d' | sed '$d' >"$out/ort_score.mjs"
ln -sfn "$ort_dir/node_modules" "$out/node_modules"
head -n 40 "$out/lines500.log" >"$out/ex.log"
if [ -s "$out/ort_score.mjs" ] &&
   PATH="$(dirname "$bin"):$PATH" node "$out/ort_score.mjs" "$out/tiny.14.onnx" "$out/tiny.14.vocab.txt" \
        "$(cat "$out/tiny.14.max_len")" <"$out/ex.log" >"$out/ex.jsonl" 2>"$out/err.txt"; then
    "$bin" score -m "$out/tiny.lrm" --input-format raw -i "$out/ex.log" >"$out/ex_ref.jsonl"
    res=$($PY - "$out/ex.jsonl" "$out/ex_ref.jsonl" <<'EOF' 2>&1
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
if len(a) != len(b) or len(a) != 40:
    print(f"{len(a)} lines vs {len(b)}")
else:
    worst = max(abs(x["risk_score"] - y["risk_score"]) for x, y in zip(a, b))
    print("ok" if worst <= 1e-3 else f"max risk_score diff {worst}")
EOF
)
    check '[ "$res" = ok ]' "docs/onnx.md ORT example vs logrisk score: $res"
else
    bad "docs/onnx.md ORT example failed: $(tail -n 5 "$out/err.txt")"
fi
finish
