#!/usr/bin/env bash
# score_hostile.test.sh — `logrisk score` in production: input formats
# (CRI with a dangling partial at EOF, Docker json-file, JSON lines, CSV),
# malformed records scored as raw text with a warning count, a 50 MB line
# in bounded memory whose score equals that of its first 2 KB (the model
# sees the first 128 tokens), 1 MB of seeded binary garbage, NUL bytes,
# invalid UTF-8 echoed as valid JSON, empty input, CSV output, --min-risk,
# --top-k, the cache (identical output with --cache 0), --follow through a
# FIFO (output before EOF), SIGTERM mid-stream (everything read is written,
# exit 0), a regular file followed like tail -f, write errors in --follow.
#
#   bash tests/score_hostile.test.sh BUILD_DIR
#
# Model: the tiny random BERT of tests/fixtures/tiny
# converted with a generated vocabulary, as in score.test.sh.
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
bin=$build/logrisk
tiny=tests/fixtures/tiny
out=tests/out/score_hostile
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
sc() { "$bin" score -m "$model" --threads 1 "$@"; }
# never hang: a background scorer still running after 30 s is killed (the
# check that waits for it then fails)
watchdog() { ( sleep 30; kill -KILL "$1" 2>/dev/null ) & wdog=$!; }
unwatch() { kill "$wdog" 2>/dev/null; wait "$wdog" 2>/dev/null; }

# q.py FILE EXPR: evaluates EXPR with r = the list of parsed JSON outputs
cat >"$out/q.py" <<'EOF'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
print(ascii(eval(sys.argv[2])))
EOF
q() { $PY "$out/q.py" "$@" 2>&1; }
# same scores (probabilities) in the same order, line numbers aside
same_scores() { $PY -c 'import json, sys
a = [json.loads(l)["probabilities"] for l in open(sys.argv[1])]
b = [json.loads(l)["probabilities"] for l in open(sys.argv[2])]
print("ok" if a == b and a else f"{len(a)} vs {len(b)} lines, differ")' "$1" "$2" 2>&1; }

# ---------------------------------------------------------------- empty, NUL, no newline
sc </dev/null >"$out/empty.jsonl" 2>"$out/err.txt"
check '[ $? -eq 0 ] && [ ! -s "$out/empty.jsonl" ] && [ ! -s "$out/err.txt" ]' "empty input: no output, no warning, exit 0"
printf 'a\0b ERROR\nplain\nlast no newline' | sc --echo >"$out/nul.jsonl"
res=$(q "$out/nul.jsonl" '[o["line"] for o in r], [o["message"] for o in r]')
check '[ "$res" = "([1, 2, 3], ['"'"'a\\x00b ERROR'"'"', '"'"'plain'"'"', '"'"'last no newline'"'"'])" ]' "NUL bytes kept, last line without newline scored: $res"

# ---------------------------------------------------------------- invalid UTF-8, CRLF
printf 'bad \xff\xfe \xc3\x28 \xed\xa0\x80 end\r\nok \xc3\xa9\r\n' | sc --echo >"$out/utf8.jsonl"
res=$(q "$out/utf8.jsonl" '[o["message"] for o in r]')
check '[ "$res" = "['"'"'bad \\ufffd\\ufffd \\ufffd( \\ufffd\\ufffd\\ufffd end'"'"', '"'"'ok \\xe9'"'"']" ]' \
    "invalid UTF-8 echoed as U+FFFD in valid JSON, CR of CRLF removed: $res"
printf 'bad \xff\xfe \xc3\x28 \xed\xa0\x80 end\nok \xc3\xa9\n' | sc >"$out/utf8lf.jsonl"
check '[ "$(same_scores "$out/utf8.jsonl" "$out/utf8lf.jsonl")" = ok ]' "CRLF lines score like LF lines"

# ---------------------------------------------------------------- 50 MB line
big=$out/big.log
{
    printf 'first ERROR line\n'
    $PY -c 'import sys
w = [b"kubelet", b"error", b"pod", b"disk", b"pressure", b"timeout", b"node"]
chunk = b" ".join(w[i % 7] for i in range(100000)) + b" "
n = 50 * 1024 * 1024
while n > 0:
    sys.stdout.buffer.write(chunk[:n]); n -= len(chunk)'
    printf '\nafter the big one\n'
} >"$big"
head -c 2048 <(sed -n 2p "$big") >"$out/prefix.log"; echo >>"$out/prefix.log"
/usr/bin/time -f %M -o "$out/rss.txt" "$bin" score -m "$model" --threads 1 -i "$big" -o "$out/big.jsonl" 2>"$out/err.txt"
check '[ $? -eq 0 ] && [ "$(q "$out/big.jsonl" "[o[\"line\"] for o in r]")" = "[1, 2, 3]" ]' "50 MB line: 3 lines scored in order"
rss=$(tail -1 "$out/rss.txt")
check '[ "$rss" -lt 120000 ]' "50 MB line read in bounded memory (peak RSS $rss KB < 120 MB)"
sc -i "$out/prefix.log" >"$out/prefix.jsonl"
check '[ "$(q "$out/big.jsonl" "r[1][\"probabilities\"]")" = "$(q "$out/prefix.jsonl" "r[0][\"probabilities\"]")" ]' \
    "the 50 MB line scores like its first 2 KB (the model sees 128 tokens)"
rm -f "$big"

# ---------------------------------------------------------------- binary garbage
$PY -c 'import random, sys
random.seed(7)
sys.stdout.buffer.write(bytes(random.getrandbits(8) for _ in range(1 << 20)))' >"$out/garbage.bin"
n_gb=$($PY -c 'import sys; d = open(sys.argv[1], "rb").read(); print(d.count(b"\n") + (0 if d.endswith(b"\n") else 1))' "$out/garbage.bin")
sc -i "$out/garbage.bin" --echo --input-format raw >"$out/garbage.jsonl" 2>"$out/err.txt"
res=$(q "$out/garbage.jsonl" '[o["line"] for o in r] == list(range(1, len(r) + 1)) and len(r)')
check '[ "$res" = "$n_gb" ]' "1 MB of binary garbage: $n_gb lines, one valid JSON output each, in order ($res)"
sc -i "$out/garbage.bin" --multiline off >"$out/garbage_auto.jsonl" 2>"$out/err.txt"
check '[ $? -eq 0 ] && [ "$(wc -l <"$out/garbage_auto.jsonl")" -eq "$n_gb" ]' "binary garbage with auto detection: $n_gb outputs"

# ---------------------------------------------------------------- CRI
cat >"$out/cri.log" <<'EOF'
2024-05-01T10:00:00.000000001Z stdout F kubelet ERROR failed to pull image
2024-05-01T10:00:01.5+00:00 stderr P part one,
2024-05-01T10:00:01.6+00:00 stderr P  part two,
2024-05-01T10:00:01.7+00:00 stderr F  the end
this is not a CRI line
2024-05-01T10:00:02Z stdout P dangling at EOF
EOF
truncate -s -1 "$out/cri.log" # no final newline either
sc -i "$out/cri.log" --input-format cri --echo >"$out/cri.jsonl" 2>"$out/err.txt"
res=$(q "$out/cri.jsonl" '[(o["line"], o["message"]) for o in r]')
check '[ "$res" = "[(1, '"'"'kubelet ERROR failed to pull image'"'"'), (2, '"'"'part one, part two, the end'"'"'), (5, '"'"'this is not a CRI line'"'"'), (6, '"'"'dangling at EOF'"'"')]" ]' \
    "CRI: partials joined, the record keeps its first line, dangling partial at EOF emitted: $res"
check 'grep -q "warning: 1 malformed cri record" "$out/err.txt"' "CRI: one malformed line counted on stderr: $(cat "$out/err.txt")"
printf 'kubelet ERROR failed to pull image\npart one, part two, the end\nthis is not a CRI line\ndangling at EOF\n' | sc >"$out/cri_raw.jsonl"
check '[ "$(same_scores "$out/cri.jsonl" "$out/cri_raw.jsonl")" = ok ]' "CRI messages score like the same raw lines"

# ---------------------------------------------------------------- Docker json-file, JSON lines
long=$(head -c 20000 /dev/zero | tr '\0' 'y')
{
    printf '{"log":"disk pressure WARN\\n","stream":"stderr","time":"2024-05-01T10:00:00Z"}\n'
    printf '{"log":"%s","stream":"stdout","time":"t"}\n' "${long:0:16384}"
    printf '{"log":"%s\\n","stream":"stdout","time":"t"}\n' "${long:16384}"
    printf '{"log": truncated garbage\n'
} >"$out/docker.log"
sc -i "$out/docker.log" --input-format docker --echo --stats >"$out/docker.jsonl" 2>"$out/err.txt"
res=$(q "$out/docker.jsonl" '[(o["line"], len(o["message"])) for o in r]')
check '[ "$res" = "[(1, 18), (2, 20000), (4, 25)]" ]' "docker: 16 KiB pieces joined, \\n stripped, malformed line raw: $res"
check 'grep -q "format docker, 3 records, 3 written, 1 malformed" "$out/err.txt"' "docker: --stats line: $(cat "$out/err.txt")"
printf '%s\n' '{"level":"error","msg":"connection refused"}' '{"level":"info","message":"all good","msg":"x"}' \
    'not json at all' '{"ctx":{"text":"nested"},"msg":"y"}' >"$out/j.log"
sc -i "$out/j.log" --input-format jsonl --echo >"$out/j.jsonl" 2>"$out/err.txt"
res=$(q "$out/j.jsonl" '[o["message"] for o in r]')
check '[ "$res" = "['"'"'ERROR connection refused'"'"', '"'"'INFO all good'"'"', '"'"'not json at all'"'"', '"'"'y'"'"']" ]' "jsonl: level, then message, then msg: $res"
check 'grep -q "warning: 1 malformed jsonl" "$out/err.txt"' "jsonl: malformed line counted"
sc -i "$out/j.log" --input-format jsonl --field ctx.text --echo >"$out/jf.jsonl" 2>"$out/err.txt"
res=$(q "$out/jf.jsonl" '[o["message"] for o in r][3]')
check '[ "$res" = "'"'"'nested'"'"'" ] && grep -q "warning: 3 malformed" "$out/err.txt"' "jsonl --field ctx.text (dotted path): $res"
printf 'ERROR connection refused\nINFO all good\nnot json at all\ny\n' | sc >"$out/j_raw.jsonl"
check '[ "$(same_scores "$out/j.jsonl" "$out/j_raw.jsonl")" = ok ]' "jsonl messages score like the same raw lines"

# ---------------------------------------------------------------- CSV in and out
printf 'ts,text\n1,"connection refused"\n2,"all good"\n3,"multi\nline, quoted"\n' >"$out/in.csv"
sc -i "$out/in.csv" --column text --echo >"$out/csvin.jsonl"
res=$(q "$out/csvin.jsonl" '[(o["line"], o["message"]) for o in r]')
check '[ "$res" = "[(2, '"'"'connection refused'"'"'), (3, '"'"'all good'"'"'), (4, '"'"'multi\nline, quoted'"'"')]" ]' "csv input --column: $res"
sc -i "$out/j.log" --format csv --echo --top-k 2 --logits >"$out/j.csv" 2>/dev/null
res=$($PY -c 'import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8")))
js = [json.loads(l) for l in open(sys.argv[2])]
ok = len(rows) == len(js) == 4
for row, o in zip(rows, js):
    ok = ok and int(row["line"]) == o["line"] and int(row["risk_label"]) == o["risk_label"]
    ok = ok and float(row["risk_score"]) == o["risk_score"] and row["message"] == o["message"]
    ok = ok and [float(row[f"p_{i}"]) for i in range(11)] == o["probabilities"]
    p = o["probabilities"]
    ok = ok and int(row["top1_label"]) == max(range(11), key=lambda i: (p[i], -i))
print("ok" if ok else "differ")' "$out/j.csv" "$out/j.jsonl")
check '[ "$res" = ok ]' "--format csv: header and values equal the JSON output: $res"

# ---------------------------------------------------------------- --min-risk, --top-k
corpus=$out/corpus.log
for f in data/loghub/*/*_2k.log; do head -n 40 "$f"; done >"$corpus"
sc -i "$corpus" --top-k 3 >"$out/all.jsonl"
res=$(q "$out/all.jsonl" 'all([t["label"] for t in o["top"]] == sorted(range(11), key=lambda i: (-o["probabilities"][i], i))[:3] and [t["p"] for t in o["top"]] == [o["probabilities"][t["label"]] for t in o["top"]] for o in r) and len(r)')
check '[ "$res" = "$(wc -l <"$corpus")" ]' "--top-k 3: the 3 likeliest classes with their p, every line: $res"
# thresholds: the median of max(label, score), and just above the largest
for which in median top; do
    thr=$(q "$out/all.jsonl" 'sorted(max(o["risk_label"], o["risk_score"]) for o in r)[len(r) // 2]')
    [ $which = top ] && thr=$(q "$out/all.jsonl" 'max(max(o["risk_label"], o["risk_score"]) for o in r) + 0.001')
    sc -i "$corpus" --top-k 3 --min-risk "$thr" >"$out/min.jsonl"
    res=$($PY -c 'import json, sys
t = float(sys.argv[3])
a = [l for l in open(sys.argv[1]) if (lambda o: o["risk_label"] >= t or o["risk_score"] >= t)(json.loads(l))]
b = open(sys.argv[2]).readlines()
print("ok" if a == b and (len(b) > 0) == (sys.argv[4] == "median") else f"{len(a)} vs {len(b)}")' \
        "$out/all.jsonl" "$out/min.jsonl" "$thr" $which)
    check '[ "$res" = ok ]' "--min-risk $thr ($which): exactly the lines with risk_label or risk_score >= N: $res"
done

# ---------------------------------------------------------------- cache
cat "$corpus" "$corpus" >"$out/twice.log"
sc -i "$out/twice.log" --stats >"$out/c_on.jsonl" 2>"$out/c_on.err"
sc -i "$out/twice.log" --stats --cache 0 >"$out/c_off.jsonl" 2>"$out/c_off.err"
sc -i "$out/twice.log" --stats --cache 7 >"$out/c_small.jsonl" 2>"$out/c_small.err"
check 'cmp -s "$out/c_on.jsonl" "$out/c_off.jsonl" && cmp -s "$out/c_on.jsonl" "$out/c_small.jsonl"' \
    "cache: output byte-identical with --cache 4096, 7 and 0"
hits=$(sed -n 's/.*cache \([0-9]*\)\/.*/\1/p' "$out/c_on.err")
n_c=$(wc -l <"$corpus")
check '[ "$hits" -ge "$n_c" ] && grep -q "cache 0/0 hits" "$out/c_off.err"' \
    "cache: the second copy of the corpus all hits ($hits hits >= $n_c), none with --cache 0"

# ---------------------------------------------------------------- --follow
fifo=$out/fifo
rm -f "$fifo"
mkfifo "$fifo"
"$bin" score -m "$model" --threads 1 -i "$fifo" --follow --interval 0.2 -o "$out/follow.jsonl" 2>"$out/follow.err" &
spid=$!
watchdog "$spid"
exec 7>"$fifo"
for i in 1 2 3; do printf 'slow line %d ERROR\n' "$i" >&7; sleep 0.3; done
got=$(wc -l <"$out/follow.jsonl")
check '[ "$got" -eq 3 ]' "--follow --interval 0.2: 3 slow lines written before EOF (got $got)"
printf 'burst %d\n' $(seq 1 5) >&7
sleep 0.5
got=$(wc -l <"$out/follow.jsonl")
check '[ "$got" -eq 8 ]' "--follow: a burst of 5 scored within the interval (got $got of 8)"
exec 7>&-
wait "$spid"
rc=$?
unwatch
check '[ $rc -eq 0 ] && [ "$(q "$out/follow.jsonl" "[o[\"line\"] for o in r] == list(range(1, 9))")" = True ]' \
    "--follow: pipe closed, exit 0, lines 1..8 in order"

# SIGTERM mid-stream: a long interval, so nothing is scored until the signal
rm -f "$fifo"
mkfifo "$fifo"
"$bin" score -m "$model" --threads 1 -i "$fifo" --follow --interval 100 -o "$out/term.jsonl" 2>"$out/term.err" &
spid=$!
watchdog "$spid"
exec 7>"$fifo"
printf 'queued %d\n' $(seq 1 4) >&7
printf 'partial without newline' >&7
sleep 0.5
got=$(wc -l <"$out/term.jsonl")
kill -TERM "$spid"
wait "$spid"
rc=$?
unwatch
exec 7>&-
check '[ "$got" -eq 0 ] && [ $rc -eq 0 ] && [ "$(wc -l <"$out/term.jsonl")" -eq 5 ]' \
    "SIGTERM: the 4 queued lines and the partial one written, exit 0 (rc $rc, before $got, after $(wc -l <"$out/term.jsonl"))"
rm -f "$fifo"

# a regular file that grows, like tail -f; SIGINT ends it
: >"$out/grow.log"
"$bin" score -m "$model" --threads 1 -i "$out/grow.log" --follow --interval 0.1 --echo -o "$out/grow.jsonl" 2>"$out/grow.err" &
spid=$!
watchdog "$spid"
sleep 0.3
printf 'appended ERROR one\n' >>"$out/grow.log"
printf 'appended two' >>"$out/grow.log"
sleep 0.6
got=$(wc -l <"$out/grow.jsonl")
printf ' finished\n' >>"$out/grow.log"
sleep 0.6
kill -INT "$spid"
wait "$spid"
rc=$?
unwatch
res=$(q "$out/grow.jsonl" '[o["message"] for o in r]')
check '[ "$got" -eq 1 ] && [ $rc -eq 0 ] && [ "$res" = "['"'"'appended ERROR one'"'"', '"'"'appended two finished'"'"']" ]' \
    "--follow on a growing file: lines as they complete, SIGINT exit 0 (rc $rc, mid $got): $res"

# write errors in --follow: a clear message, non-zero exit
printf 'a\nb\n' | sc --follow -o /dev/full 2>"$out/err.txt"
rc=$?
check '[ $rc -ne 0 ] && grep -qi "no space" "$out/err.txt"' "--follow to /dev/full: ENOSPC reported: $(head -c 200 "$out/err.txt")"
sc -i "$corpus" 2>"$out/err.txt" | head -n 1 >/dev/null
check '[ "${PIPESTATUS[0]}" -ne 0 ] && grep -qi "broken pipe" "$out/err.txt"' "EPIPE: reported, non-zero exit"

# ---------------------------------------------------------------- CLI errors
sc --input-format xml </dev/null >/dev/null 2>"$out/err.txt"
check '[ $? -eq 2 ] && [ "$(wc -l <"$out/err.txt")" -eq 1 ] && grep -q "^logrisk score: --input-format must be .*; try" "$out/err.txt"' "--input-format xml: usage error"
sc --follow --input-format csv </dev/null >/dev/null 2>"$out/err.txt"
check '[ $? -eq 2 ]' "--follow with csv: usage error"
sc --column nope -i "$out/in.csv" >/dev/null 2>"$out/err.txt"
check '[ $? -eq 1 ] && grep -q "nope" "$out/err.txt"' "csv column missing: clear error, exit 1"
# CSV: a 300 MB quoted field (300,000 lines of 1,000 bytes) is cut at the
# record cap and counted like an over-long line, in bounded memory, and the
# record after it is whole; the same through preprocess --max-line
{
    printf 'id,text\n1,"'
    head -c 300000000 /dev/zero | tr '\0' x | fold -w 1000
    printf '"\n2,ERROR disk full\n'
} >"$out/huge.csv"
rss=$(python3 -c 'import resource, subprocess, sys
rc = subprocess.run(sys.argv[1:]).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(rc)' "$bin" score -m "$model" --input-format csv --column text --stats -i "$out/huge.csv" \
    -o "$out/huge.jsonl" 2>"$out/err.txt")
rc=$?
check '[ $rc -eq 0 ] && [ "$(wc -l <"$out/huge.jsonl")" -eq 2 ] && grep -q " 1 truncated" "$out/err.txt"' \
    "300 MB CSV field: rc $rc, $(wc -l <"$out/huge.jsonl") results, $(cat "$out/err.txt")"
check '[ "$rss" -lt 150000 ]' "300 MB CSV field: peak RSS ${rss} KB (bound: 150 MB)"
rss=$(python3 -c 'import resource, subprocess, sys
rc = subprocess.run(sys.argv[1:]).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(rc)' "$bin" preprocess --input-format csv --column text --max-line 65536 -i "$out/huge.csv" -o "$out/huge_prep.jsonl" 2>"$out/err.txt")
rc=$?
check '[ $rc -eq 0 ] && [ "$(wc -l <"$out/huge_prep.jsonl")" -eq 2 ] && tail -n 1 "$out/huge_prep.jsonl" | grep -q "disk full"' \
    "preprocess of the 300 MB CSV field: rc $rc, $(cat "$out/err.txt")"
check '[ "$rss" -lt 150000 ]' "preprocess of the 300 MB CSV field: peak RSS ${rss} KB (bound: 150 MB)"
rm -f "$out/huge.csv"

finish
