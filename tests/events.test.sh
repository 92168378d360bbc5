#!/usr/bin/env bash
# events.test.sh BUILD — the record and event layer from the command line
# (docs/events.md):
#   - goldens: every file tests/golden/events/NAME.log (one per format and
#     per nesting: JSON, logfmt, klog, syslog, log4j/Python, CRI and Docker
#     around JSON/klog/logfmt, multi-line traces, PostgreSQL's
#     log_line_prefix; meta.log: every wrapper's
#     and header's metadata and the stamps read for the time only, whose
#     fields tests/test_event.c checks against meta.fields.txt) gives
#     NAME.auto.jsonl with `preprocess --input-format auto` (for meta.log:
#     the model's text is the line's own where only a time was taken), and
#     the same with its format named;
#   - invariance: 33 messages x 3 levels written by 21 wrappers (plain, klog,
#     logfmt, zap, logrus, slog, bunyan, RFC 5424, RFC 3164, journald around
#     klog, log4j, Python, Python with empty MDC fields, CRI around zap and
#     klog, Docker around zap and logfmt, docker compose around plain text
#     and zap, foreman around logfmt, kubectl --prefix around klog;
#     tests/golden/events/wrap.py) give byte-identical model input
#     and, with the built-in model, scores equal within 1e-5;
#   - every input line belongs to exactly one result (line .. line_end);
#     `--multiline off` gives one result per line; raw input stays per line;
#   - a 100,000-line trace: one result per capped group of 256 lines, no
#     line lost; `score` on a 3,000-line trace gives 12 results;
#   - `tokenize` shows the ids `score` reads (same count per event);
#   - `vocab` and `label` read events with a log --input-format.
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
bin="$(cd "$build" && pwd)/logrisk"
py=python3
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
g=tests/golden/events

# ---------------------------------------------------------------- goldens
for f in $g/*.log; do
    name=$(basename "$f" .log)
    "$bin" preprocess --input-format auto -i "$f" >"$tmp/$name.out" 2>"$tmp/err" || bad "$name: $(cat "$tmp/err")"
    cmp -s "$tmp/$name.out" "$g/$name.auto.jsonl" && ok || { bad "golden $name"; diff "$tmp/$name.out" "$g/$name.auto.jsonl" | head -n 6; }
done
for p in json:jsonl logfmt:logfmt klog:klog syslog:syslog log4j:log4j cri_nested:cri docker_nested:docker; do
    name=${p%%:*}
    "$bin" preprocess --input-format "${p#*:}" -i "$g/$name.log" | cmp -s - "$g/$name.auto.jsonl" && ok ||
        bad "golden $name with --input-format ${p#*:}"
done

# every line in exactly one result; --multiline off and raw: one per line
for f in $g/*.log; do
    n=$(wc -l <"$f")
    for mode in on off; do
        "$bin" preprocess --input-format auto --multiline $mode -i "$f" >"$tmp/parts"
        $py - "$tmp/parts" "$n" "$mode" <<'EOF' && ok || bad "line coverage of $f (multiline $mode)"
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
n, mode = int(sys.argv[2]), sys.argv[3]
want = 1
for r in rs:
    assert r["line"] == want and r["line_end"] >= r["line"], (r, want)
    if mode == "off":
        assert r["line_end"] == r["line"] or r["line_end"] == r["line"] + 1, r  # a CRI/Docker partial joins
    want = r["line_end"] + 1
assert want == n + 1, (want, n)
EOF
    done
done
"$bin" preprocess -i $g/multiline.log | wc -l | grep -qx "$(wc -l <$g/multiline.log)" && ok || bad "raw preprocess: one record per line"

# vocab and label read events too: a vocabulary learned from JSON events
# holds the words of messages and errors, not the JSON keys
"$bin" vocab --input-format auto -i $g/json.log -o "$tmp/va.txt" --size 300 --min-freq 1 &&
    "$bin" vocab -i $g/json.log -o "$tmp/vr.txt" --size 300 --min-freq 1 || bad "vocab"
grep -qx caller "$tmp/vr.txt" && ! grep -qx caller "$tmp/va.txt" && grep -qx deadlock "$tmp/va.txt" && ok ||
    bad "vocab --input-format auto learns from the rendering"
"$bin" label --input-format auto -i $g/klog.log | head -n 3 | tail -n 1 | grep -q '^{"text":"ERROR Error syncing pod, skipping: failed to \\"StartContainer\\" for \\"web\\" with CrashLoopBackOff","level_raw":"ERROR","label":8,"line":3,"line_end":3}$' && ok ||
    bad "label --input-format auto: $("$bin" label --input-format auto -i $g/klog.log | sed -n 3p)"

# ---------------------------------------------------------------- invariance
$py $g/wrap.py "$tmp/w" || bad "wrap.py"
for f in "$tmp"/w/*.log; do
    "$bin" preprocess --input-format auto -i "$f" | $py -c '
import json, sys
for l in sys.stdin: print(json.dumps(json.loads(l)["text"]))' >"${f%.log}.text"
done
[ "$(wc -l <"$tmp/w/plain.text")" -eq 99 ] && ok || bad "99 plain events"
for f in "$tmp"/w/*.log; do
    cmp -s "${f%.log}.text" "$tmp/w/plain.text" && ok || { bad "model input of $(basename "$f") differs from plain"; diff "${f%.log}.text" "$tmp/w/plain.text" | head -n 4; }
done
if "$bin" inspect --builtin >/dev/null 2>&1; then
    for f in "$tmp"/w/*.log; do "$bin" score --threads 2 -i "$f" >"${f%.log}.score" || bad "score $f"; done
    $py - "$tmp"/w/*.score <<'EOF' && ok || bad "scores over wrappers"
import json, sys
runs = {f: [json.loads(l)["risk_score"] for l in open(f)] for f in sys.argv[1:]}
n = {len(v) for v in runs.values()}
assert n == {99}, n
spread = [max(v[i] for v in runs.values()) - min(v[i] for v in runs.values()) for i in range(99)]
print("events: invariance over %d wrappers: mean spread %.2e, max %.2e" % (len(runs), sum(spread) / 99, max(spread)))
assert max(spread) <= 1e-5, max(spread)
EOF
else
    echo "events: no built-in model; score invariance skipped"
fi

# ---------------------------------------------------------------- hostile
# a 100,000-line trace: groups of at most 256 lines, nothing lost
$py - "$tmp/trace.log" <<'EOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("2024-03-11 08:00:01,000 [main] ERROR c.x.App - stack overflow\n")
    f.write("java.lang.StackOverflowError\n")
    for i in range(99998):
        f.write("\tat c.x.App.recurse(App.java:%d)\n" % (i % 97))
EOF
"$bin" preprocess --input-format auto -i "$tmp/trace.log" >"$tmp/trace.out"
$py - "$tmp/trace.out" <<'EOF' && ok || bad "100,000-line trace"
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
assert len(rs) == (100000 + 255) // 256, len(rs)
assert rs[0]["line"] == 1 and rs[-1]["line_end"] == 100000
assert all(b["line"] == a["line_end"] + 1 for a, b in zip(rs, rs[1:]))
assert all(r["line_end"] - r["line"] < 256 for r in rs)
assert rs[0]["text"].startswith("ERROR stack overflow: java.lang.StackOverflowError\n\tat")
EOF
head -n 3000 "$tmp/trace.log" >"$tmp/trace3k.log"
if "$bin" inspect --builtin >/dev/null 2>&1; then
    "$bin" score --threads 2 --stats -i "$tmp/trace3k.log" >"$tmp/t.score" 2>"$tmp/t.err"
    [ "$(wc -l <"$tmp/t.score")" -eq 12 ] && grep -q "11 groups cut" "$tmp/t.err" && ok ||
        bad "score of a 3,000-line trace: $(wc -l <"$tmp/t.score") results; $(cat "$tmp/t.err")"
    head -n 1 "$tmp/t.score" | grep -q '"line":1,"line_end":256,' && ok || bad "first group 1..256"
    # --multiline off: one result per line
    "$bin" score --threads 2 --multiline off -i $g/multiline.log | wc -l | grep -qx 31 && ok || bad "--multiline off"
fi

# tokenize reads events like score: one id list per event, the window rule applied
vocab=tests/golden/tok_vocab.txt
if [ -f "$vocab" ]; then
    "$bin" tokenize --vocab "$vocab" --max-len 16 --input-format auto -i $g/multiline.log >"$tmp/tok"
    $py - "$tmp/tok" <<'EOF' && ok || bad "tokenize --input-format auto"
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
assert len(rs) == 8, len(rs)
assert [r["line"] for r in rs] == [1, 8, 9, 16, 17, 26, 30, 31], [r["line"] for r in rs]
first = rs[0]["tokens"]
assert len(first) == 16 and first[0] == "[CLS]" and first[1] == "error", first
assert ":" in first[2:], first  # the error detail starts inside the window
EOF
fi

# train reads labelled texts as logs with input_format: the same event in
# three wrappers trains like the plain line (one tiny epoch); bad values
# are one-line errors
if [ -f "$vocab" ]; then
    $py - "$tmp/lab.jsonl" <<'EOF'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(40):
        msg, lab = ("disk failed on node %d" % i, 9) if i % 2 else ("started container %d" % i, 1)
        for t in ("ERROR " + msg, '2024-05-01T12:00:00Z {"level":"error","msg":"%s"}' % msg,
                  "<11>1 2024-05-01T12:00:00Z node-a app 1 - - " + msg):
            f.write(json.dumps({"text": t, "label": lab}) + "\n")
EOF
    for fmt in auto raw; do
        cat >"$tmp/train_$fmt.yaml" <<EOF
data: $tmp/lab.jsonl
vocab: $vocab
output: $tmp/m_$fmt.lrm
input_format: $fmt
max_len: 16
epochs: 1
hidden: 16
layers: 1
heads: 2
intermediate: 32
head_hidden: 8
max_positions: 16
threads: 1
EOF
        "$bin" train --config "$tmp/train_$fmt.yaml" 2>"$tmp/train_$fmt.err" >/dev/null && [ -s "$tmp/m_$fmt.lrm" ] && ok ||
            bad "train with input_format: $fmt: $(tail -n 2 "$tmp/train_$fmt.err")"
    done
    # the three wrappers of one event get one score from the model trained on them
    head -n 3 "$tmp/lab.jsonl" | $py -c 'import json,sys; [print(json.loads(l)["text"]) for l in sys.stdin]' >"$tmp/w.log"
    "$bin" score -m "$tmp/m_auto.lrm" -i "$tmp/w.log" | $py -c '
import json, sys
s = [json.loads(l)["risk_score"] for l in sys.stdin]
assert len(s) == 3 and max(s) - min(s) < 1e-5, s' && ok || bad "scores of the wrappers differ"
    for v in csv bogus; do
        sed "s/^input_format: auto/input_format: $v/" "$tmp/train_auto.yaml" >"$tmp/bad_fmt.yaml"
        "$bin" train --config "$tmp/bad_fmt.yaml" 2>"$tmp/err" >/dev/null
        [ $? -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "input_format must be raw, auto" "$tmp/err" && ok ||
            bad "input_format: $v: $(cat "$tmp/err")"
    done
    # pretrain reads its log with input_format too (events, not lines)
    sed -e "s#^data: .*#data: $g/kernel.log#" -e "s#^output: .*#output: $tmp/enc.lrm#" "$tmp/train_auto.yaml" >"$tmp/pre.yaml"
    "$bin" pretrain --config "$tmp/pre.yaml" 2>"$tmp/pre.err" >/dev/null && [ -s "$tmp/enc.lrm" ] && ok ||
        bad "pretrain with input_format: auto: $(tail -n 2 "$tmp/pre.err")"
    sed "s/^input_format: auto/input_format: csv/" "$tmp/pre.yaml" >"$tmp/pre_bad.yaml"
    "$bin" pretrain --config "$tmp/pre_bad.yaml" 2>"$tmp/err" >/dev/null
    [ $? -eq 1 ] && grep -q "input_format must be raw, auto" "$tmp/err" && ok || bad "pretrain input_format: csv: $(cat "$tmp/err")"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
