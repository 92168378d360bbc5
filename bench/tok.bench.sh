#!/usr/bin/env bash
# Tokenizer benchmark: logrisk's lr_tok_encode against Hugging Face
# tokenizers 0.23.2 (npm, encodeBatch) on the 14 loghub logs (28,000 lines,
# masked by logrisk's preprocessor beforehand; masking is not timed), same
# vocab (models/vocab/logs-8k.txt), same thread count (1 and 2: logrisk
# splits the lines over pthreads, HF over RAYON_NUM_THREADS workers), best of
# 5 passes each. Prints lines/s, tokens/s and the ratio (also for the
# reference WordPiece walk that the linear-time LinMaxMatch replaces).
#
# Then vocabulary coverage: `logrisk vocab` against HF's own WordPiece trainer
# (default settings: the npm binding exposes none; its vocab cut to the same
# size behind the same 10 reserved tokens), both learned from loghub and
# evaluated with the same tokenizer on loghub (seen) and on the kubelet
# journal (unseen): [UNK] share and tokens per line (untruncated).
#
#   bench/tok.bench.sh BUILD_DIR
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
hf=tools/hf_tokenize.mjs
vocab=models/vocab/logs-8k.txt
tmp=$(mktemp -d /tmp/lr_tok_bench_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
command -v node >/dev/null || { echo "tok bench needs node (tools/deps.sh test)"; exit 1; }
if ! grep -q '"version": "0.23.2"' tools/node_modules/tokenizers/package.json 2>/dev/null; then
    (cd tools && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --no-save \
        --no-package-lock --prefix . tokenizers@0.23.2 >"$tmp/npm.log" 2>&1) || { cat "$tmp/npm.log"; exit 1; }
fi
[ -x "$build/bench/bench_tok" ] || { echo "build $build/bench/bench_tok first (make bench)"; exit 1; }
# Private copies: a rebuild of BUILD during the run cannot disturb it.
cp "$build/logrisk" "$tmp/logrisk" && cp "$build/bench/bench_tok" "$tmp/bench_tok" || exit 1
build_bin=$tmp
loghub=(data/loghub/*/*_2k.log)
kubelet=data/k8s/kubelet_e2e_2020-03-25.log
for f in "${loghub[@]}"; do "$build_bin/logrisk" preprocess -i "$f"; done >"$tmp/masked.jsonl" || exit 1

field() { sed -E "s/.*\"?$1\"?[=:]([0-9.e+]+).*/\1/"; }
echo "speed: $(wc -l <"$tmp/masked.jsonl") masked loghub lines, vocab $vocab, max_len 128"
printf '%-8s %-20s %12s %14s %8s\n' threads impl lines/s tokens/s ratio
status=0
for t in 1 2; do
    lr=$("$build_bin/bench_tok" "$vocab" "$t" 5 "${loghub[@]}") || status=1
    hfo=$(RAYON_NUM_THREADS=$t node "$hf" bench --vocab "$vocab" --file "$tmp/masked.jsonl" --jsonl text --repeat 5) || status=1
    lr_lps=$(field lines_per_s <<<"$lr"); lr_tps=$(field tokens_per_s <<<"$lr")
    hf_lps=$(field lines_per_s <<<"$hfo"); hf_tps=$(field tokens_per_s <<<"$hfo")
    ratio=$(awk -v a="$lr_lps" -v b="$hf_lps" 'BEGIN { printf "%.1fx", a / b }')
    printf '%-8s %-20s %12.0f %14.0f %8s\n' "$t" "hf tokenizers" "$hf_lps" "$hf_tps" ""
    printf '%-8s %-20s %12.0f %14.0f %8s\n' "$t" "logrisk" "$lr_lps" "$lr_tps" "$ratio"
    ref=$(LR_TOK_REFERENCE=1 "$build_bin/bench_tok" "$vocab" "$t" 5 "${loghub[@]}") || status=1
    printf '%-8s %-20s %12.0f %14.0f %8s\n' "$t" "logrisk (ref walk)" "$(field lines_per_s <<<"$ref")" \
        "$(field tokens_per_s <<<"$ref")" "$(awk -v a="$(field lines_per_s <<<"$ref")" -v b="$hf_lps" 'BEGIN { printf "%.1fx", a / b }')"
done

# coverage VOCAB FILE...: "[UNK] share, tokens per line" over the files.
coverage() {
    local v=$1 f
    shift
    for f in "$@"; do "$build_bin/logrisk" tokenize --vocab "$v" --max-len 65536 -i "$f"; done |
        awk -F'"ids":\\[' '{ n = split($2, a, ","); sub(/\].*/, "", a[n]); lines++;
                             for (i = 2; i < n; i++) { tok++; if (a[i] == 1) unk++ } }
                           END { printf "unk %.3f%%, %.2f tokens/line", 100 * unk / tok, tok / lines }'
}
size=8000
cat "${loghub[@]}" >"$tmp/loghub.log"
node -e '
  const fs = require("fs");
  const out = fs.readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l).text);
  fs.writeFileSync(process.argv[2], out.join("\n") + "\n");' "$tmp/masked.jsonl" "$tmp/masked.txt" || exit 1
"$build_bin/logrisk" vocab -i "$tmp/loghub.log" -o "$tmp/lr.txt" --size $size || exit 1
node "$hf" train --file "$tmp/masked.txt" --out "$tmp/hf_full.txt" >/dev/null 2>&1 || exit 1
{ head -n 10 "$tmp/lr.txt"; grep -v -x -F -f <(head -n 10 "$tmp/lr.txt") "$tmp/hf_full.txt"; } | head -n $size >"$tmp/hf.txt"
echo "coverage: vocab of $size learned from loghub; tokenized untruncated"
printf '%-22s %-40s %s\n' trainer "loghub (seen)" "kubelet journal (unseen)"
for v in lr hf; do
    name=$([ $v = lr ] && echo "logrisk vocab" || echo "HF WordPieceTrainer")
    printf '%-22s %-40s %s\n' "$name" "$(coverage "$tmp/$v.txt" "${loghub[@]}")" "$(coverage "$tmp/$v.txt" "$kubelet")"
done
exit $status
