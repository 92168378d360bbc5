#!/usr/bin/env bash
# cli_label.test.sh BUILD — the `logrisk preprocess` / `logrisk label`
# command lines: help and usage errors (exit 2), runtime errors (exit 1,
# message on stderr), -i/-o/-, --rules (k8s.yaml, YAML errors with
# file:line:column), --format/--input-format/--column, --max-line,
# streaming from a pipe that stays open, and memory that stays bounded.
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# a private copy, so that a concurrent rebuild of the tree cannot disturb the run
cp "$build/logrisk" "$tmp/logrisk" || { echo "no $build/logrisk; run make first"; echo "0 passed, 1 failed"; exit 1; }
bin=$tmp/logrisk
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect NAME STATUS CMD...: exit status STATUS; stdout in $tmp/out, stderr in $tmp/err
expect() {
    local name=$1 want=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" -eq "$want" ]; then ok; else
        bad "$name: exit $got, want $want"
        head -n 3 "$tmp/err"
    fi
}
# has NAME FILE TEXT: FILE contains TEXT (fixed string)
has() { if grep -qF -- "$3" "$2"; then ok; else bad "$1: '$3' not in $(basename "$2"): $(head -c 300 "$2")"; fi; }

# help and usage
expect "--help" 0 "$bin" --help
has "--help lists label" "$tmp/out" "label"
has "--help lists preprocess" "$tmp/out" "preprocess"
for cmd in label preprocess; do
    expect "$cmd --help" 0 "$bin" $cmd --help
    has "$cmd --help on stdout" "$tmp/out" "usage: logrisk $cmd"
    [ -s "$tmp/err" ] && bad "$cmd --help wrote to stderr" || ok
    expect "$cmd unknown option" 2 "$bin" $cmd --bogus
    has "$cmd unknown option message" "$tmp/err" "unknown option '--bogus'"
    has "$cmd usage error hint" "$tmp/err" "; try 'logrisk $cmd --help'"
    expect "$cmd -i without value" 2 "$bin" $cmd -i
    expect "$cmd bad --format" 2 "$bin" $cmd --format xml
    expect "$cmd bad --input-format" 2 "$bin" $cmd --input-format json
    expect "$cmd --column without csv" 2 "$bin" $cmd --column text
    expect "$cmd bad --max-line" 2 "$bin" $cmd --max-line -5
    expect "$cmd missing input" 1 "$bin" $cmd -i "$tmp/nope.log"
    has "$cmd missing input message" "$tmp/err" "nope.log"
done

# input and output
printf 'ERROR a\nb' >"$tmp/in.log"
expect "-i/-o" 0 "$bin" label -i "$tmp/in.log" -o "$tmp/o.jsonl"
printf '{"text":"ERROR a","level_raw":"ERROR","label":6}\n{"text":"b","level_raw":null,"label":3}\n' >"$tmp/want"
cmp -s "$tmp/o.jsonl" "$tmp/want" && ok || bad "-o content"
expect "-i - (stdin)" 0 sh -c "\"$bin\" label -i - <\"$tmp/in.log\""
cmp -s "$tmp/out" "$tmp/want" && ok || bad "stdin content"
expect "--opt=value" 0 "$bin" label --format=csv -i "$tmp/in.log"
printf 'text,level_raw,label\nERROR a,ERROR,6\nb,,3\n' | cmp -s - "$tmp/out" && ok || bad "csv content"
expect "preprocess has no label" 0 "$bin" preprocess -i "$tmp/in.log"
has "preprocess record" "$tmp/out" '{"text":"ERROR a","level_raw":"ERROR"}'
grep -q label "$tmp/out" && bad "preprocess wrote a label" || ok
if [ -w /dev/full ]; then
    expect "write error" 1 "$bin" label -i "$tmp/in.log" -o /dev/full
    has "write error message" "$tmp/err" "No space left on device"
fi
expect "unwritable output" 1 "$bin" label -i "$tmp/in.log" -o "$tmp/no/such/dir/out"

# CSV input
printf 'id,msg\n1,"WARN x, y"\n2,plain\n' >"$tmp/in.csv"
expect "csv input" 0 "$bin" label --input-format csv --column msg -i "$tmp/in.csv"
has "csv input record" "$tmp/out" '{"text":"WARN x, y","level_raw":"WARN","label":4}'
expect "csv missing column" 1 "$bin" label --input-format csv --column text -i "$tmp/in.csv"
has "csv missing column message" "$tmp/err" "no column 'text'"

# rules
expect "k8s rules" 0 "$bin" label --rules models/rules/k8s.yaml -i - <<<'E1122 12:13:43.123456    1 kubelet.go:1] no space left on device'
has "k8s klog + keyword" "$tmp/out" '"level_raw":"ERROR","label":8}'
printf 'levels:\n  ERROR: 6\nlevel_words: [ERROR, NOPE]\n' >"$tmp/bad.yaml"
expect "bad rules" 1 "$bin" label --rules "$tmp/bad.yaml" -i "$tmp/in.log"
has "bad rules file:line:col" "$tmp/err" "bad.yaml:3:22: level_words: 'NOPE' is not a level"
printf 'levels: [\n' >"$tmp/broken.yaml"
expect "broken yaml" 1 "$bin" label --rules "$tmp/broken.yaml" -i "$tmp/in.log"
has "broken yaml position" "$tmp/err" "broken.yaml:2:1:"
expect "missing rules" 1 "$bin" label --rules "$tmp/none.yaml" -i "$tmp/in.log"
has "missing rules message" "$tmp/err" "none.yaml"

# --max-line cuts, one record per line all the same
head -c 100000 /dev/zero | tr '\0' 'x' >"$tmp/long.log"
printf '\nshort\n' >>"$tmp/long.log"
expect "--max-line" 0 "$bin" preprocess --max-line 10 -i "$tmp/long.log"
printf '{"text":"xxxxxxxxxx","level_raw":null}\n{"text":"short","level_raw":null}\n' | cmp -s - "$tmp/out" && ok || bad "--max-line output"

# with CSV input the cap applies to the field (a quoted field spans lines)
printf 'n,text\n1,"abcdefghijkl\nmnop"\n2,short\n' >"$tmp/cap.csv"
expect "--max-line csv" 0 "$bin" preprocess --max-line 6 --input-format csv -i "$tmp/cap.csv"
printf '{"text":"abcdef","level_raw":null}\n{"text":"short","level_raw":null}\n' | cmp -s - "$tmp/out" && ok || bad "--max-line csv output"

# streaming: the first record comes out while the pipe is still open
mkfifo "$tmp/fifo"
"$bin" label -i "$tmp/fifo" >"$tmp/stream.out" &
pid=$!
exec 7>"$tmp/fifo"
echo "ERROR first" >&7
for _ in $(seq 50); do [ -s "$tmp/stream.out" ] && break; sleep 0.1; done
has "streamed before EOF" "$tmp/stream.out" '"level_raw":"ERROR"'
echo "second" >&7
exec 7>&-
wait $pid && ok || bad "streaming exit status"
[ "$(wc -l <"$tmp/stream.out")" -eq 2 ] && ok || bad "streaming: not 2 records"

# bounded memory: 200 MB through a 150 MB address-space limit (not under
# ASan, whose shadow memory needs terabytes of address space)
if nm "$bin" 2>/dev/null | grep -q __asan_init; then
    echo "skipped: bounded-memory check under ASan"
elif (ulimit -v 150000 && yes '2024-01-15T10:30:45Z ERROR pod 10.0.0.1 /var/lib/x/y connection refused' |
    head -n 2600000 | "$bin" label | tail -n 1 >"$tmp/mem.out"); then
    has "200 MB stream" "$tmp/mem.out" '"label":7}'
else
    bad "200 MB stream under a 150 MB limit"
fi

# a user mask never lets a secret through: a 2,000-byte match (more than
# PCRE2's default JIT stack) is masked, and a match too long for the limits
# masks the rest of the line instead of passing it unmasked
printf 'masks:\n  - {name: tok, pattern: "tok=(?:x|y)+", replace: "<TOK>"}\n' >"$tmp/tok.yaml"
{
    printf 'a tok=%s b\n' "$(head -c 2000 /dev/zero | tr '\0' x)"
    printf 'c tok=%s secret\n' "$(head -c 3000000 /dev/zero | tr '\0' y)"
} >"$tmp/tok.log"
"$bin" preprocess --rules "$tmp/tok.yaml" -i "$tmp/tok.log" >"$tmp/tok.out" 2>"$tmp/tok.err" && ok || bad "masking limits: exit status"
printf '{"text":"a <TOK> b","level_raw":null}\n{"text":"<TOK>","level_raw":null}\n' | cmp -s - "$tmp/tok.out" &&
    ok || bad "masking limits: output $(head -c 200 "$tmp/tok.out")"
grep -q "hit its limits on 1 line(s)" "$tmp/tok.err" && ok || bad "masking limits: no warning: $(cat "$tmp/tok.err")"

# a rules file that is a FIFO with no writer, or a device, fails at once
mkfifo "$tmp/rules.fifo"
for r in "$tmp/rules.fifo" /dev/zero; do
    timeout 10 "$bin" label --rules "$r" </dev/null >/dev/null 2>"$tmp/err"
    rc=$?
    [ $rc -eq 1 ] && grep -q "not a regular file" "$tmp/err" && ok || bad "label --rules $r (exit $rc): $(cat "$tmp/err")"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
