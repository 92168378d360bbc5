#!/usr/bin/env bash
# `logrisk inspect`: output on a valid model, exit codes and messages on
# truncated, bit-flipped, hostile and non-model files, usage errors.
# The model files come from `test_format fixture_files` (the same writer
# and corruption helpers as the C suite).
#
#   tests/inspect.test.sh BUILD_DIR
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
bin=$build/logrisk
tmp=$(mktemp -d /tmp/lrm_inspect_XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# ok, bad, run, expect
source tests/lib.sh

if [ ! -x "$bin" ] || [ ! -x "$build/tests/test_format" ]; then
    echo "FAIL: $bin or $build/tests/test_format not built"
    echo "0 passed, 1 failed"
    exit 1
fi
if ! LR_FORMAT_FIXTURES=$tmp "$build/tests/test_format" fixture_files >/dev/null 2>&1 ||
    [ ! -f "$tmp/good.lrm" ]; then
    echo "FAIL: could not write the fixture models"
    echo "0 passed, 1 failed"
    exit 1
fi

# usage
run inspect --help
expect "--help" 0 out '^usage: logrisk inspect \[--json\] MODEL\.lrm'
run inspect
expect "no file" 2 err 'no model file given'
[ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "; try 'logrisk inspect --help'$" "$tmp/err" && ok ||
    bad "no file: not one line with the hint: $err"
run inspect --bogus "$tmp/good.lrm"
expect "unknown option" 2 err "unknown option '--bogus'"
run inspect "$tmp/good.lrm" "$tmp/good.lrm"
expect "two files" 2 err 'one model file at a time'

# a valid model: header, metadata, tensor table, totals
run inspect "$tmp/good.lrm"
expect "good: exit 0" 0 out '^format: +\.lrm version 1, 1344 bytes'
expect "good: checksums" 0 out '^checksums: header [0-9a-f]{16} ok, data [0-9a-f]{16} ok$'
expect "good: string" 0 out '^  name +"bert-mini"$'
expect "good: binary string escaped" 0 out '^  binary +"a\\x00b\\n\\xff"$'
expect "good: long string abbreviated" 0 out '^  rules\.yaml +"abcdefghij.*\.\.\. \(199 bytes\)$'
expect "good: integer" 0 out '^  min +-9223372036854775808$'
expect "good: float" 0 out '^  ln_eps +1e-12$'
expect "good: string array" 0 out '^  labels +\[4 strings\] "noise", "info", "", "outage \\"x\\""$'
expect "good: tensor row" 0 out '^  w\.i8 +i8 +\[2, 3, 4, 5\] +1024 +120$'
expect "good: tensor row f16" 0 out '^  w\.f16 +f16 +\[1, 1, 65\] +1152 +130$'
expect "good: totals" 0 out '^total: +4 tensors, 207 parameters, 338 bytes of tensor data$'
[ -z "$err" ] && ok || bad "good: unexpected stderr: $err"

# --json: one valid JSON object with full values (checked by a JSON parser)
run inspect --json "$tmp/good.lrm"
expect "json: exit 0" 0 out '^\{"file":'
if command -v python3 >/dev/null; then
    if python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
assert d["version"] == 1 and d["size"] == 1344 and d["data_checksum_ok"] is True, d
m = d["metadata"]
assert m["name"] == "bert-mini" and m["hidden"] == 256 and m["ln_eps"] == 1e-12, m
assert m["labels"] == ["noise", "info", "", "outage \"x\""] and m["none"] == [], m
assert m["rules.yaml"] == "".join(chr(97 + i % 26) for i in range(199)), m["rules.yaml"]
assert m["binary"] == "a\x00b\n\ufffd", repr(m["binary"])
t = {x["name"]: x for x in d["tensors"]}
assert t["w.i8"] == {"name": "w.i8", "dtype": "i8", "shape": [2, 3, 4, 5], "offset": 1024, "bytes": 120}, t
assert d["parameters"] == 207
' <<<"$out" 2>"$tmp/py"; then ok; else bad "json content: $(cat "$tmp/py")"; fi
fi
run inspect --json "$tmp/flipped.lrm"
expect "json flipped: exit 1" 1 out '"data_checksum_ok":false'
expect "json flipped: message" 1 err 'data checksum mismatch'

# corrupted files: exit 1 and a message that says what is wrong
run inspect "$tmp/truncated.lrm"
expect "truncated" 1 err "^logrisk inspect: .*truncated\.lrm: header says 1344 bytes but the file has 1244"
[ -z "$out" ] && ok || bad "truncated: printed a table for an invalid file"
run inspect "$tmp/flipped.lrm"
expect "flipped data bit" 1 err 'data checksum mismatch'
expect "flipped data bit: shown as MISMATCH" 1 out 'data [0-9a-f]{16} MISMATCH$'
run inspect "$tmp/hostile.lrm"
expect "hostile tensor count" 1 err '1000000 tensors cannot fit'
# every single byte of the header region changed: always exit 1, never a crash
size=$(stat -c %s "$tmp/good.lrm")
crashes=0
accepted=0
for off in 0 8 12 16 24 32 40 48 52 56 64 100 200 400 600 800 895; do
    cp "$tmp/good.lrm" "$tmp/x.lrm"
    printf '\xa5' | dd of="$tmp/x.lrm" bs=1 seek="$off" conv=notrunc status=none
    cmp -s "$tmp/x.lrm" "$tmp/good.lrm" && continue
    "$bin" inspect "$tmp/x.lrm" >/dev/null 2>&1
    r=$?
    [ $r -eq 0 ] && accepted=$((accepted + 1))
    [ $r -gt 2 ] && crashes=$((crashes + 1))
done
[ $accepted -eq 0 ] && [ $crashes -eq 0 ] && ok || bad "byte changes: $accepted accepted, $crashes crashed"
head -c $((size - 1)) "$tmp/good.lrm" >"$tmp/short.lrm"
run inspect "$tmp/short.lrm"
expect "one byte short" 1 err 'truncated'

# not model files
run inspect "$tmp/missing.lrm"
expect "missing file" 1 err "cannot open '.*missing\.lrm'"
run inspect README.md
expect "text file" 1 err 'not an \.lrm model file \(bad magic\)'
: >"$tmp/empty.lrm"
run inspect "$tmp/empty.lrm"
expect "empty file" 1 err 'not an \.lrm model file'
run inspect "$tmp"
expect "directory" 1 err 'is not a regular file'

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
