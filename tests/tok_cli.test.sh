#!/usr/bin/env bash
# `logrisk tokenize` and `logrisk vocab`: usage, errors, one output line per
# input line (empty lines, NUL bytes, CRLF, invalid UTF-8, no final newline),
# masking on and off, and a learned vocab of exactly the size asked.
#
#   tests/tok_cli.test.sh BUILD_DIR
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
bin=$build/logrisk
vocab=models/vocab/logs-8k.txt
tmp=$(mktemp -d /tmp/lr_tok_cli_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# ok, bad, run (stdin from $stdin), expect NAME RC STREAM REGEX
source tests/lib.sh

for cmd in tokenize vocab; do
    run $cmd --help;          expect "$cmd --help" 0 out "^usage: logrisk $cmd"
    run $cmd --bogus;         expect "$cmd unknown option" 2 err "unknown option '--bogus'"
    run $cmd;                 expect "$cmd missing required" 2 err "required"
done
run tokenize --vocab "$vocab" --max-len 1;   expect "max-len 1" 2 err "max-len must be"
run tokenize --vocab "$vocab" --max-len x;   expect "max-len x" 2 err "max-len must be"
run tokenize --vocab "$vocab" -i;            expect "-i without value" 2 err "needs a value"
run tokenize --vocab /nonexistent.txt;       expect "missing vocab" 1 err "cannot open vocab '/nonexistent.txt'"
printf '[PAD]\n[UNK]\n[SEP]\n[MASK]\n' >"$tmp/nocls.txt"
run tokenize --vocab "$tmp/nocls.txt";       expect "vocab without [CLS]" 1 err "no \[CLS\] token"
run tokenize --vocab "$vocab" -i /nonexistent.log; expect "missing input" 1 err "cannot open '/nonexistent.log'"
run vocab -i /nonexistent.log -o "$tmp/v.txt" --size 100; expect "vocab missing corpus" 1 err "cannot open corpus"
run vocab -i "$vocab" -o "$tmp/v.txt" --size 5; expect "vocab size 5" 2 err "size must be"

# One output line per input line, whatever the bytes.
printf 'first line\n\nnul\0byte\r\ncrlf line\r\n\xff\xfe invalid\nlast without newline' >"$tmp/in"
stdin=$tmp/in run tokenize --vocab "$vocab"
n=$(wc -l <"$tmp/out")
[ "$rc" -eq 0 ] && [ "$n" -eq 6 ] && ok || bad "6 input lines gave $n output lines (rc $rc)"
[ "$(sed -n 2p "$tmp/out")" = '{"tokens":["[CLS]","[SEP]"],"ids":[2,3]}' ] && ok || bad "empty line: $(sed -n 2p "$tmp/out")"
grep -q '"tokens":\["\[CLS\]","first","line","\[SEP\]"\]' "$tmp/out" && ok || bad "first line tokens: $(head -n 1 "$tmp/out")"

# Masking: on by default, off with --no-mask (raw line as is).
printf 'connect to 10.0.0.1 failed pid=4242\n' >"$tmp/ip"
run tokenize --vocab "$vocab" -i "$tmp/ip"
expect "masked" 0 out '"<IP>".*"<PID>"'
run tokenize --vocab "$vocab" --no-mask -i "$tmp/ip"
expect "no-mask keeps the raw text" 0 out '"10",".","0",".","0",".","1"'
run tokenize --vocab "$vocab" --max-len 4 -i "$tmp/ip" -o "$tmp/o4.jsonl"
[ "$rc" -eq 0 ] && grep -qx '{"tokens":\["\[CLS\]","connect","to","\[SEP\]"\],"ids":\[[0-9,]*\]}' "$tmp/o4.jsonl" && ok ||
    bad "max-len 4 to -o: $(cat "$tmp/o4.jsonl")"

# A write error is reported (exit 1), not lost; a log format adds the lines.
if [ -w /dev/full ]; then
    run tokenize --vocab "$vocab" -i "$tmp/ip" -o /dev/full
    expect "write error" 1 err "logrisk tokenize: .*No space left on device"
fi
printf 'ERROR boom\n  at a.b(c.java:1)\nINFO ok\n' >"$tmp/ml.log"
run tokenize --vocab "$vocab" --input-format auto -i "$tmp/ml.log"
[ "$rc" -eq 0 ] && [ "$(wc -l <"$tmp/out")" -eq 2 ] && grep -q '"line":1,"line_end":2}$' "$tmp/out" &&
    grep -q '"line":3,"line_end":3}$' "$tmp/out" && ok || bad "log format events with lines: rc $rc, $out"

# vocab: exactly --size lines, reserved tokens first, loads back.
run vocab -i "data/loghub/Apache/Apache_2k.log" -o "$tmp/v.txt" --size 300
expect "vocab Apache" 0 err "^$"
[ "$(wc -l <"$tmp/v.txt")" -eq 300 ] && ok || bad "vocab --size 300 gave $(wc -l <"$tmp/v.txt") lines"
[ "$(head -n 10 "$tmp/v.txt" | tr '\n' ' ')" = "[PAD] [UNK] [CLS] [SEP] [MASK] <TIME> <ID> <IP> <PID> <PATH> " ] && ok ||
    bad "vocab order: $(head -n 10 "$tmp/v.txt" | tr '\n' ' ')"
run tokenize --vocab "$tmp/v.txt" -i "data/loghub/Apache/Apache_2k.log"
[ "$rc" -eq 0 ] && [ "$(wc -l <"$tmp/out")" -eq 2000 ] && ! grep -q '"\[UNK\]"' "$tmp/out" && ok ||
    bad "learned vocab does not cover its own corpus"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
