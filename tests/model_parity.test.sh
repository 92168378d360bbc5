#!/usr/bin/env bash
# BERT-mini parity and the `convert` command line.
#
#   tests/model_parity.test.sh BUILD_DIR
#
# 1. tools/make_fixtures.py (Debian python3-torch via /usr/bin/python3) makes
#    a random BERT-mini-size model in Hugging Face layout (L4/H256/A4/I1024/
#    P512, vocab 1000) and float64 PyTorch logits for batches of lengths
#    1..128 (and 200, 333, 512) into tests/out/model_parity/ (gitignored;
#    regenerated when the generator or the reference model changes).
# 2. BUILD_DIR/tests/test_model DIR converts it and compares every logit and
#    [CLS] state to 1e-4 with 1 and 2 threads.
# 3. The small fixtures on the reference kernels (LOGRISK_ISA=ref).
# 4. `logrisk convert` end to end: success, and the exit status and message
#    of each kind of bad input.
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

out=tests/out/model_parity
mkdir -p "$out"
gen=tools/make_fixtures.py
ref=tools/ref_bert.py
if ! /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null; then
    bad "/usr/bin/python3 with torch and numpy is needed (tools/deps.sh test installs python3-torch)"
else
    if [ ! -f "$out/mini/fixture.json" ] || [ "$gen" -nt "$out/mini/fixture.json" ] ||
        [ "$ref" -nt "$out/mini/fixture.json" ]; then
        rm -rf "$out/mini"
        /usr/bin/python3 "$gen" mini "$out" || bad "fixture generation failed"
    fi
    if [ -f "$out/mini/fixture.json" ]; then
        if "$build/tests/test_model" "$out/mini" >"$out/parity.log" 2>&1; then
            ok
        else
            bad "BERT-mini parity"
        fi
        grep -E '^parity|FAIL|diff' "$out/parity.log" | head -n 20
    fi
fi

# The small fixtures again on the scalar reference kernels (panel width 1,
# so the last layer's Q / K|V weight views are used even for H = 24 or 32).
if LOGRISK_ISA=ref "$build/tests/test_model" tiny own paths >"$out/ref.log" 2>&1; then
    ok
else
    bad "small fixtures with LOGRISK_ISA=ref: $(tail -n 5 "$out/ref.log")"
fi

# --- the command line -------------------------------------------------------
lr="$build/logrisk"
src=tests/fixtures/model/pooler
expect() { # expect STATUS MESSAGE-REGEX -- command...
    local want=$1 msg=$2
    shift 3
    local got
    "$@" >"$out/cli.out" 2>"$out/cli.err"
    got=$?
    if [ "$got" -ne "$want" ]; then
        bad "'$*' exited $got, expected $want: $(head -c 300 "$out/cli.err")"
    elif [ -n "$msg" ] && ! grep -Eq -- "$msg" "$out/cli.err" "$out/cli.out"; then
        bad "'$*': output lacks /$msg/: $(head -c 300 "$out/cli.err")"
    else
        ok
    fi
}
rm -f "$out/cli.lrm"
expect 0 "" -- "$lr" convert --from-safetensors "$src" -o "$out/cli.lrm"
if [ -s "$out/cli.lrm" ] && "$lr" inspect "$out/cli.lrm" >"$out/inspect.txt" 2>&1 &&
    grep -q 'model.head .*"pooler_linear"' "$out/inspect.txt" &&
    grep -q '"ok", "suspicious", "bad"' "$out/inspect.txt" &&
    grep -q 'bert.pooler.dense.weight' "$out/inspect.txt"; then
    ok
else
    bad "inspect of the converted model: $(head -c 300 "$out/inspect.txt")"
fi
expect 0 "usage: logrisk convert" -- "$lr" convert --help
expect 2 "is required" -- "$lr" convert -o "$out/x.lrm"
expect 2 "is required" -- "$lr" convert --from-safetensors "$src"
expect 2 "unknown option" -- "$lr" convert --from-safetensors "$src" -o "$out/x.lrm" --bogus
expect 2 "needs a value" -- "$lr" convert --from-safetensors
expect 1 "vocab.txt: missing.*--vocab" -- "$lr" convert --from-safetensors tests/fixtures/tiny -o "$out/x.lrm"
expect 1 "cannot open" -- "$lr" convert --from-safetensors "$out/nonexistent" -o "$out/x.lrm"
expect 1 "3 outputs" -- "$lr" convert --from-safetensors "$src" -o "$out/x.lrm" --labels a,b
expect 1 "cannot open" -- "$lr" convert --from-safetensors "$src" -o "$out/x.lrm" --rules "$out/none.yaml"
# a truncated safetensors file
mkdir -p "$out/trunc"
cp "$src/config.json" "$src/vocab.txt" "$out/trunc/"
head -c 20000 "$src/model.safetensors" >"$out/trunc/model.safetensors"
expect 1 "past the end" -- "$lr" convert --from-safetensors "$out/trunc" -o "$out/x.lrm"
printf '\377\377\377\377\377\377\377\377{}' >"$out/trunc/model.safetensors"
expect 1 "header length" -- "$lr" convert --from-safetensors "$out/trunc" -o "$out/x.lrm"
[ -e "$out/x.lrm" ] && bad "a failed convert left $out/x.lrm behind" || ok

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
