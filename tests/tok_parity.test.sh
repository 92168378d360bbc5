#!/usr/bin/env bash
# Tokenizer parity with Hugging Face `tokenizers` 0.23.2 (npm): the tokens
# and ids of `logrisk tokenize` must equal, byte for byte, what
# tools/hf_tokenize.mjs prints for the same text, on every line of the 14
# loghub logs and the kubelet journal (masked by logrisk's preprocessor) and
# on the hostile set tests/golden/tok_hostile.txt (raw and masked), with the
# test vocab, the committed models/vocab vocab and a 30,522-token vocab
# learned here; and HF's per-code-point Unicode behaviour must still match
# the golden the C unit tests check.
#
#   tests/tok_parity.test.sh BUILD_DIR            run the checks
#   tests/tok_parity.test.sh BUILD_DIR --regen    rewrite tests/golden/tok_*
#
# Installs `tokenizers` into tools/node_modules (gitignored) when missing.
set -u
build=${1:-build}
regen=${2:-}
cd "$(dirname "$0")/.." || exit 1
bin=$build/logrisk
hf=tools/hf_tokenize.mjs
pass=0
fail=0
tmp=$(mktemp -d /tmp/lr_tok_parity_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

if ! command -v node >/dev/null; then
    echo "FAIL: node not found (tools/deps.sh test installs nodejs and npm)"
    echo "0 passed, 1 failed"
    exit 1
fi
if ! grep -q '"version": "0.23.2"' tools/node_modules/tokenizers/package.json 2>/dev/null; then
    (cd tools && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --no-save \
        --no-package-lock --prefix . tokenizers@0.23.2 >"$tmp/npm.log" 2>&1) || {
        cat "$tmp/npm.log"
        echo "FAIL: npm install tokenizers@0.23.2"
        echo "0 passed, 1 failed"
        exit 1
    }
fi
[ -x "$bin" ] || { echo "FAIL: $bin not built"; echo "0 passed, 1 failed"; exit 1; }
cp "$bin" "$tmp/logrisk" && bin=$tmp/logrisk # a rebuild during the run cannot disturb it

vocab=tests/golden/tok_vocab.txt
hostile=tests/golden/tok_hostile.txt

if [ "$regen" = --regen ]; then
    node "$hf" unicode >tests/golden/tok_unicode.txt
    node "$hf" encode --vocab "$vocab" -i "$hostile" >tests/golden/tok_hostile.jsonl
    "$bin" preprocess -i "$hostile" >"$tmp/hm.jsonl"
    node "$hf" encode --vocab "$vocab" --jsonl text --max-len 8 -i "$tmp/hm.jsonl" >tests/golden/tok_hostile_masked8.jsonl
    for f in data/loghub/*/*_2k.log; do head -n 50 "$f"; done >"$tmp/sample.log"
    "$bin" preprocess -i "$tmp/sample.log" >"$tmp/sample.jsonl"
    node "$hf" encode --vocab models/vocab/logs-8k.txt --jsonl text -i "$tmp/sample.jsonl" |
        sed 's/^{"tokens":.*,"ids":/{"ids":/' >tests/golden/tok_loghub.jsonl
    echo "goldens rewritten"
    exit 0
fi

# same NAME VOCAB MAXLEN MODE INPUT...: logrisk tokenize vs HF on the files
# (each file on its own, outputs concatenated; one HF run for all).
# MODE mask: logrisk masks the raw lines, HF gets `logrisk preprocess` text;
# MODE raw: both take the raw lines (--no-mask).
same() {
    local name=$1 v=$2 max=$3 mode=$4 in=$5 f
    shift 4
    if [ "$mode" = mask ]; then
        for f in "$@"; do "$bin" preprocess -i "$f" || return 1; done >"$tmp/pre.jsonl" &&
            node "$hf" encode --vocab "$v" --max-len "$max" --jsonl text -i "$tmp/pre.jsonl" >"$tmp/hf.jsonl" &&
            for f in "$@"; do "$bin" tokenize --vocab "$v" --max-len "$max" -i "$f" || return 1; done >"$tmp/lr.jsonl"
    else
        node "$hf" encode --vocab "$v" --max-len "$max" -i "$in" >"$tmp/hf.jsonl" &&
            "$bin" tokenize --no-mask --vocab "$v" --max-len "$max" -i "$in" >"$tmp/lr.jsonl"
    fi || { bad "$name: a tool failed"; return; }
    local n
    n=$(wc -l <"$tmp/hf.jsonl")
    [ "$n" -eq "$(wc -l <"$tmp/lr.jsonl")" ] || { bad "$name: line counts differ"; return; }
    if [ "$n" -eq 0 ]; then
        bad "$name: no output"
    elif cmp -s "$tmp/hf.jsonl" "$tmp/lr.jsonl"; then
        ok
    else
        local line
        line=$(cmp "$tmp/hf.jsonl" "$tmp/lr.jsonl" 2>&1 | grep -oE 'line [0-9]+' | head -n 1 | cut -d' ' -f2)
        bad "$name: differs from HF at output line ${line:-?} of $n"
        [ -n "$line" ] && { sed -n "${line}p" "$tmp/hf.jsonl" | cut -c1-300; sed -n "${line}p" "$tmp/lr.jsonl" | cut -c1-300; }
    fi
}

loghub=(data/loghub/*/*_2k.log)
[ ${#loghub[@]} -eq 14 ] || bad "expected the 14 loghub logs under data/loghub, found ${#loghub[@]}"
kubelet=data/k8s/kubelet_e2e_2020-03-25.log
same "loghub, all 14 logs (28,000 lines)" "$vocab" 128 mask "${loghub[@]}"
same "kubelet journal" "$vocab" 128 mask "$kubelet"
same "hostile raw" "$vocab" 128 raw "$hostile"
same "hostile raw, max-len 512" "$vocab" 512 raw "$hostile"
same "hostile masked, max-len 8" "$vocab" 8 mask "$hostile"
same "hostile raw, models/vocab/logs-8k" models/vocab/logs-8k.txt 128 raw "$hostile"
same "loghub + kubelet, models/vocab/logs-8k" models/vocab/logs-8k.txt 128 mask "${loghub[@]}" "$kubelet"

# A BERT-sized vocab learned by logrisk itself must load in HF unchanged.
cat data/loghub/*/*_2k.log "$kubelet" >"$tmp/corpus.log"
if "$bin" vocab -i "$tmp/corpus.log" -o "$tmp/v30k.txt" --size 30522 --min-freq 1 &&
    [ "$(wc -l <"$tmp/v30k.txt")" -eq 30522 ]; then
    ok
    same "30522-token vocab, Android + HDFS + Windows" "$tmp/v30k.txt" 128 mask \
        data/loghub/{Android,HDFS,Windows}/*_2k.log
    same "30522-token vocab, hostile raw" "$tmp/v30k.txt" 128 raw "$hostile"
else
    bad "logrisk vocab --size 30522 did not give 30522 lines"
fi

# HF's Unicode behaviour is what the committed golden says.
if node "$hf" unicode | cmp -s - tests/golden/tok_unicode.txt; then
    ok
else
    bad "HF per-code-point table differs from tests/golden/tok_unicode.txt"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
