#!/usr/bin/env bash
# coldstart.test.sh — the cold-start load path of `logrisk score` from the CLI.
#
#   bash tests/coldstart.test.sh BUILD_DIR
#
# score verifies its model whole, the weights' checksum included (as
# inspect does); --no-verify skips the weights' checksum (lr_model_load_flags,
# LR_MODEL_LOAD_NO_VERIFY). On the tiny model (converted here): the fast and
# the verified load score identically; with one flipped bit in a weight
# VALUE, score --no-verify still runs but score and inspect fail with the
# checksum message (exit 1); with a flipped header byte, every load fails;
# --help lists --no-verify.
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
bin=$build/logrisk
tiny=tests/fixtures/tiny
out=tests/out/coldstart_cli
. tests/lib.sh

rm -rf "$out"
mkdir -p "$out/tiny"
cp "$tiny/model.safetensors" "$tiny/config.json" "$out/tiny/"
{
    printf '%s\n' "[PAD]" "[UNK]" "[CLS]" "[SEP]" "[MASK]" error connection refused kubelet pod disk
    i=0
    while [ $i -lt 501 ]; do echo "w$i"; i=$((i + 1)); done
} >"$out/tiny/vocab.txt"
if ! "$bin" convert --from-safetensors "$out/tiny" -o "$out/tiny.lrm" >"$out/convert.log" 2>&1; then
    bad "convert of the tiny fixture failed: $(cat "$out/convert.log")"
    finish
fi
printf '%s\n' "kubelet error: connection refused" "pod disk error" "" "w3 w77 w500" >"$out/in.log"

"$bin" score -m "$out/tiny.lrm" -i "$out/in.log" --logits --no-verify >"$out/fast.jsonl" 2>"$out/err.txt"
check '[ $? -eq 0 ] && [ "$(wc -l <"$out/fast.jsonl")" -eq 4 ]' "score (fast load): $(cat "$out/err.txt")"
"$bin" score -m "$out/tiny.lrm" -i "$out/in.log" --logits --verify >"$out/verified.jsonl" 2>"$out/err.txt"
check '[ $? -eq 0 ] && cmp -s "$out/fast.jsonl" "$out/verified.jsonl"' "score --verify differs from the fast load"

# one bit of the last byte of the file: inside the last tensor's data
cp "$out/tiny.lrm" "$out/bad.lrm"
size=$(stat -c %s "$out/bad.lrm")
last=$(od -An -tu1 -j $((size - 1)) -N1 "$out/bad.lrm" | tr -d ' ')
printf "$(printf '\\%03o' $((last ^ 4)))" | dd of="$out/bad.lrm" bs=1 seek=$((size - 1)) conv=notrunc 2>/dev/null
check '! cmp -s "$out/tiny.lrm" "$out/bad.lrm"' "the corrupted copy equals the original"
"$bin" score -m "$out/bad.lrm" -i "$out/in.log" --no-verify >"$out/bad.jsonl" 2>"$out/err.txt"
check '[ $? -eq 0 ] && [ "$(wc -l <"$out/bad.jsonl")" -eq 4 ]' "score --no-verify should load a weight-corrupted file: $(cat "$out/err.txt")"
"$bin" score -m "$out/bad.lrm" -i "$out/in.log" >"$out/bad2.jsonl" 2>"$out/err.txt"
rc=$?
check '[ $rc -eq 1 ] && grep -q "checksum" "$out/err.txt" && [ ! -s "$out/bad2.jsonl" ]' "score (verifies by default): rc $rc, $(cat "$out/err.txt")"
"$bin" score -m "$out/bad.lrm" -i "$out/in.log" --verify >"$out/bad3.jsonl" 2>"$out/err.txt"
rc=$?
check '[ $rc -eq 1 ] && grep -q "checksum" "$out/err.txt" && [ ! -s "$out/bad3.jsonl" ]' "score --verify: rc $rc, $(cat "$out/err.txt")"
"$bin" inspect "$out/bad.lrm" >/dev/null 2>"$out/err.txt"
rc=$?
check '[ $rc -eq 1 ] && grep -q "checksum" "$out/err.txt"' "inspect: rc $rc, $(cat "$out/err.txt")"

# a header byte (inside the metadata): the structure check still runs
cp "$out/tiny.lrm" "$out/bad_hdr.lrm"
printf 'Z' | dd of="$out/bad_hdr.lrm" bs=1 seek=200 conv=notrunc 2>/dev/null
"$bin" score -m "$out/bad_hdr.lrm" -i "$out/in.log" >/dev/null 2>"$out/err.txt"
rc=$?
check '[ $rc -ne 0 ] && [ -s "$out/err.txt" ]' "score on a corrupted header: rc $rc"

"$bin" score --help >"$out/help.txt"
check '[ $? -eq 0 ] && grep -q -- "--no-verify" "$out/help.txt"' "score --help does not list --no-verify"

finish
