#!/usr/bin/env bash
# serve.test.sh — `logrisk serve` end to end over loopback with curl, on the
# tiny model of tests/fixtures/tiny.
#
#   bash tests/serve.test.sh BUILD_DIR
#
# Checked: /health (200 once loaded), /v1/model; POST /v1/score in its three
# framings (NDJSON, a JSON array, text lines with a multi-line group)
# against `logrisk score` on the same records: the same events (line,
# line_end), risk_score and risk_label, the records' own members kept and
# in order; /predict's shape (TEI: labels by descending score, one list per
# input) against score --input-format raw; errors: 400 naming the record,
# 413 over --max-body, 404, 405 with Allow, 429 with Retry-After when the
# queue is full; 32 concurrent clients with distinct records get exactly
# their own records back, in order; /metrics parses as Prometheus text
# (names, labels, values, histograms consistent); the answers evhttp gives
# itself (413 over --max-body, with and without Expect: 100-continue; 400
# for a malformed request line or headers over the limit) each counted once
# under route "other", and the handler's answers once each, not again; a
# client sending a byte at a time neither delays another request nor keeps
# its connection past --timeout; at --max-connections further clients wait;
# SIGTERM with requests in flight: every one answered in full, exit 0.
# Last line: `N passed, N failed`.
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
bin=$build/logrisk
out=tests/out/serve
tmp=$out
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
. tests/lib.sh

rm -rf "$out"
mkdir -p "$out"
command -v curl >/dev/null || { bad "curl is missing (tools/deps.sh test)"; finish; }
command -v "$PY" >/dev/null || { bad "python3 is missing (tools/deps.sh test)"; finish; }
if ! msg=$(make_tiny_model "$bin" "$out"); then
    bad "convert of the tiny fixture failed: $msg"
    finish
fi
model=$out/tiny.lrm

pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; }
trap cleanup EXIT

# start NAME ARGS...: runs serve on a free port; sets addr (host:port) and spid
start() {
    local name=$1; shift
    "$bin" serve -m "$model" --listen 127.0.0.1:0 "$@" 2>"$out/$name.err" &
    spid=$!
    pids+=("$spid")
    addr=
    for _ in $(seq 1 100); do
        addr=$(sed -n 's/^logrisk serve: listening on //p' "$out/$name.err" 2>/dev/null)
        [ -n "$addr" ] && break
        sleep 0.05
    done
    for _ in $(seq 1 100); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/health")" = 200 ] && return 0
        sleep 0.05
    done
    return 1
}

# post PATH CTYPE FILE: POST FILE; sets code and body (out/resp.*)
post() {
    code=$(curl -s -o "$out/resp.body" -D "$out/resp.head" -w '%{http_code}' -H "Content-Type: $2" \
        --data-binary @"$3" "http://$addr$1")
    body=$(cat "$out/resp.body")
}

"$bin" serve --help >"$out/help.txt" 2>&1
check '[ $? -eq 0 ] && grep -q "usage: logrisk serve" "$out/help.txt"' "--help: usage, exit 0"
"$bin" serve -m "$model" --listen nowhere >/dev/null 2>"$out/bad.err"
check '[ $? -ne 0 ] && grep -q "not ADDR:PORT" "$out/bad.err"' "a bad --listen is a one-line error"
"$bin" serve -m "$model" --threads 0 >/dev/null 2>"$out/bad.err"
check '[ $? -eq 2 ] && grep -q "threads" "$out/bad.err"' "--threads 0 is a usage error"
"$bin" serve -m "$out/none.lrm" --listen 127.0.0.1:0 >/dev/null 2>"$out/bad.err"
check '[ $? -ne 0 ] && grep -q "none.lrm" "$out/bad.err"' "a model that does not load: error naming it, non-zero exit"

if ! start main --max-body 200000; then
    bad "the server did not come up: $(cat "$out/main.err")"
    finish
fi

# ---------------------------------------------------------------- health, model
code=$(curl -s -o "$out/h.json" -w '%{http_code}' "http://$addr/health")
check '[ "$code" = 200 ] && grep -q "\"status\":\"ok\"" "$out/h.json"' "/health: 200 {\"status\":\"ok\"}"
curl -s "http://$addr/v1/model" >"$out/model.json"
check '$PY -c "
import json,sys
m=json.load(open(\"$out/model.json\"))
assert m[\"labels\"] and m[\"n_labels\"]==len(m[\"labels\"]) and m[\"max_len\"]>1 and m[\"dtype\"] and m[\"version\"]
"' "/v1/model: labels, max_len, dtype, version"

# ---------------------------------------------------------------- score parity
cat >"$out/recs.ndjson" <<'EOF'
{"level":"error","msg":"disk pressure on node a","pod":"p1","n":1}
{"level":"info","msg":"pod ready","pod":"p2","nested":{"k":[1,2]}}
{"msg":"kernel panic: out of memory","risk_score":99}
{"log":"connection refused\n","stream":"stderr","time":"2024-05-01T12:00:00Z"}
{"level":"warn","message":"image pull back off","unicode":"\u00e9t\u00e9"}
EOF
"$bin" score -m "$model" -i "$out/recs.ndjson" >"$out/score.ndjson" 2>"$out/score.err"
post /v1/score application/x-ndjson "$out/recs.ndjson"
cp "$out/resp.body" "$out/serve.ndjson"
cat >"$out/cmp.py" <<'EOF'
import json, sys
ref = [json.loads(l) for l in open(sys.argv[1])]
mode, path = sys.argv[2], sys.argv[3]
if mode == "array":
    got = json.load(open(path))
else:
    got = [json.loads(l) for l in open(path)]
assert len(ref) == len(got), (len(ref), len(got))
for r, g in zip(ref, got):
    assert (r["line"], r["line_end"], r["risk_label"]) == (g["line"], g["line_end"], g["risk_label"]), (r, g)
    assert abs(r["risk_score"] - g["risk_score"]) < 1e-6, (r, g)
if len(sys.argv) > 4:   # the records' own members, in order, before the risk fields
    recs = [json.loads(l) for l in open(sys.argv[4]) if l.strip()]
    own = {"risk_score", "risk_label", "line", "line_end", "top", "probabilities", "logits"}
    for rec, g in zip(recs, got):
        keep = [k for k in rec if k not in own]
        assert list(g)[:len(keep)] == keep, (list(g), keep)
        for k in keep:
            assert g[k] == rec[k], (k, g[k], rec[k])
        assert list(g)[len(keep):len(keep) + 4] == ["risk_score", "risk_label", "line", "line_end"], list(g)
EOF
check '[ "$code" = 200 ] && grep -qi "content-type: application/x-ndjson" "$out/resp.head"' "NDJSON: 200, answered as NDJSON"
check '$PY "$out/cmp.py" "$out/score.ndjson" ndjson "$out/serve.ndjson" "$out/recs.ndjson" 2>"$out/cmp.err"' \
    "NDJSON: the scores of score, the records' members kept in order ($(cat "$out/cmp.err" 2>/dev/null | tail -1))"

# the same records as a pretty-printed JSON array (Fluent Bit format json, Vector json)
$PY -c "
import json
recs=[json.loads(l) for l in open('$out/recs.ndjson')]
open('$out/recs.json','w').write(json.dumps(recs, indent=2, ensure_ascii=False))
"
post /v1/score application/json "$out/recs.json"
cp "$out/resp.body" "$out/serve.json"
check '[ "$code" = 200 ] && grep -qi "content-type: application/json" "$out/resp.head"' "JSON array: 200, answered as JSON"
check '$PY "$out/cmp.py" "$out/score.ndjson" array "$out/serve.json" "$out/recs.ndjson" 2>"$out/cmp.err"' \
    "JSON array: a JSON array with the scores of score ($(tail -1 "$out/cmp.err" 2>/dev/null))"
# json_lines sent as application/json (older Fluent Bit) is NDJSON
post /v1/score application/json "$out/recs.ndjson"
check '[ "$code" = 200 ] && $PY "$out/cmp.py" "$out/score.ndjson" ndjson "$out/resp.body"' \
    "NDJSON sent as application/json: read as NDJSON"
# an empty array
printf '[ ]' >"$out/empty.json"
post /v1/score application/json "$out/empty.json"
check '[ "$code" = 200 ] && [ "$body" = "[]" ]' "an empty array: 200 []"

# text lines, with a Java stack trace that is one event
cat >"$out/recs.txt" <<'EOF'
2024-05-01T12:00:00Z ERROR failed to connect to db
java.lang.IllegalStateException: pool exhausted
	at com.example.Pool.get(Pool.java:42)
	at com.example.Main.main(Main.java:7)
INFO started worker 3
E0501 12:00:01.000000       1 kubelet.go:100] node not ready
EOF
"$bin" score -m "$model" -i "$out/recs.txt" >"$out/score.txt.ndjson" 2>/dev/null
post /v1/score text/plain "$out/recs.txt"
cp "$out/resp.body" "$out/serve.txt.ndjson"
check '[ "$code" = 200 ] && $PY "$out/cmp.py" "$out/score.txt.ndjson" ndjson "$out/serve.txt.ndjson" 2>"$out/cmp.err"' \
    "text/plain: the events and scores of score ($(tail -1 "$out/cmp.err" 2>/dev/null))"
check '$PY -c "
import json
g=[json.loads(l) for l in open(\"$out/serve.txt.ndjson\")]
assert any(x[\"line_end\"]>x[\"line\"] for x in g), g
x=[x for x in g if x[\"line_end\"]>x[\"line\"]][0]
assert \"at com.example.Main.main\" in x[\"message\"], x
"' "text/plain: a multi-line group is one event whose message holds its lines"

# ---------------------------------------------------------------- /predict
printf '{"inputs":"kernel panic: out of memory"}' >"$out/p1.json"
post /predict application/json "$out/p1.json"
printf 'kernel panic: out of memory\n' >"$out/p1.txt"
"$bin" score -m "$model" --input-format raw -i "$out/p1.txt" >"$out/p1.score" 2>/dev/null
check '[ "$code" = 200 ] && $PY -c "
import json
p=json.load(open(\"$out/resp.body\")); s=json.loads(open(\"$out/p1.score\").read())
assert isinstance(p,list) and all(set(x)=={\"label\",\"score\"} for x in p), p
sc=[x[\"score\"] for x in p]; assert sc==sorted(sc,reverse=True) and abs(sum(sc)-1)<1e-4
assert p[0][\"label\"]==str(s[\"risk_label\"]), (p[0], s[\"risk_label\"])
assert abs(max(s[\"probabilities\"])-p[0][\"score\"])<1e-6
"' "/predict: TEI's list of {label, score}, highest first, as score --input-format raw"
printf '{"inputs":["a b c","node not ready","pod ready"]}' >"$out/p3.json"
post /predict application/json "$out/p3.json"
check '[ "$code" = 200 ] && $PY -c "
import json
p=json.load(open(\"$out/resp.body\"))
assert len(p)==3 and all(isinstance(x,list) and len(x)>1 for x in p), p
"' "/predict with a list: one list per input"
printf '{"inputs":42}' >"$out/pbad.json"
post /predict application/json "$out/pbad.json"
check '[ "$code" = 400 ] && grep -q inputs "$out/resp.body"' "/predict without string inputs: 400"

# ---------------------------------------------------------------- errors
printf '{"msg":"a"}\n{"msg":"b"\n{"msg":"c"}\n' >"$out/bad.ndjson"
post /v1/score application/x-ndjson "$out/bad.ndjson"
check '[ "$code" = 400 ] && grep -q "record 2" "$out/resp.body"' "malformed NDJSON: 400 naming record 2 ($body)"
printf '[{"msg":"a"},{"msg":"b"},"x"]' >"$out/bad.json"
post /v1/score application/json "$out/bad.json"
check '[ "$code" = 400 ] && grep -q "record 3" "$out/resp.body"' "a non-object in an array: 400 naming record 3 ($body)"
printf '[{"msg":"a"}' >"$out/bad2.json"
post /v1/score application/json "$out/bad2.json"
check '[ "$code" = 400 ]' "an unclosed array: 400"
head -c 300000 /dev/zero | tr '\0' 'x' >"$out/big.txt"
post /v1/score text/plain "$out/big.txt"
check '[ "$code" = 413 ]' "a body over --max-body: 413 (got $code)"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/nothing")
check '[ "$code" = 404 ]' "unknown path: 404"
code=$(curl -s -o /dev/null -D "$out/h405" -w '%{http_code}' "http://$addr/v1/score")
check '[ "$code" = 405 ] && grep -qi "^allow: POST" "$out/h405"' "GET /v1/score: 405 with Allow: POST"
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "http://$addr/health")
check '[ "$code" = 405 ]' "DELETE /health: 405"

# ---------------------------------------------------------------- 32 clients
for c in $(seq 1 32); do
    for k in 1 2 3 4 5 6; do
        printf '{"msg":"client %d record %d node not ready","id":"c%d-%d"}\n' "$c" "$k" "$c" "$k"
    done >"$out/c$c.ndjson"
done
cpids=()
for c in $(seq 1 32); do
    curl -s -o "$out/c$c.out" -w '%{http_code}' -H 'Content-Type: application/x-ndjson' \
        --data-binary @"$out/c$c.ndjson" "http://$addr/v1/score" >"$out/c$c.code" &
    cpids+=($!)
done
wait "${cpids[@]}"
check '$PY -c "
import json
for c in range(1,33):
    assert open(\"$out/c%d.code\"%c).read()==\"200\", c
    g=[json.loads(l) for l in open(\"$out/c%d.out\"%c)]
    assert [x[\"id\"] for x in g]==[\"c%d-%d\"%(c,k) for k in range(1,7)], (c,[x[\"id\"] for x in g])
    assert [x[\"line\"] for x in g]==list(range(1,7))
"' "32 concurrent clients: each gets exactly its own 6 records, in order"

# ---------------------------------------------------------------- metrics
curl -s -D "$out/mh" "http://$addr/metrics" >"$out/metrics.txt"
cat >"$out/prom.py" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
assert text.endswith("\n")
types, samples = {}, []
name_re = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
for line in text.splitlines():
    if line.startswith("# HELP ") or line.startswith("# TYPE "):
        parts = line.split(" ", 3)
        assert re.fullmatch(name_re, parts[2]), line
        if parts[1] == "TYPE":
            assert parts[3] in ("counter", "gauge", "histogram", "summary", "untyped"), line
            assert parts[2] not in types, "TYPE twice: " + line
            types[parts[2]] = parts[3]
        continue
    assert not line.startswith("#") and line.strip(), repr(line)
    m = re.fullmatch(r"(" + name_re + r")(\{(.*)\})? (\S+)", line)
    assert m, "bad sample: " + line
    labels = {}
    if m.group(3):
        for lm in re.finditer(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)', m.group(3)):
            labels[lm.group(1)] = lm.group(2)
        assert ",".join('%s="%s"' % kv for kv in labels.items()) == m.group(3), line
    v = float(m.group(4))
    base = re.sub(r"_(bucket|sum|count)$", "", m.group(1))
    assert m.group(1) in types or base in types, "no TYPE for " + line
    samples.append((m.group(1), labels, v))
# histograms: buckets cumulative, +Inf == count
for name, t in types.items():
    if t != "histogram":
        continue
    series = {}
    for n, l, v in samples:
        if n == name + "_bucket":
            key = tuple(sorted((k, x) for k, x in l.items() if k != "le"))
            series.setdefault(key, []).append((float(l["le"]), v))
    for key, b in series.items():
        vals = [v for _, v in b]
        assert vals == sorted(vals) and b[-1][0] == float("inf"), (name, key, b)
        count = [v for n, l, v in samples if n == name + "_count"
                 and tuple(sorted(l.items())) == key]
        assert count and count[0] == vals[-1], (name, key)
get = lambda n, **l: sum(v for s, ll, v in samples if s == n and all(ll.get(k) == x for k, x in l.items()))
assert get("logrisk_http_requests_total", route="score", code="200") >= 36, get("logrisk_http_requests_total", route="score", code="200")
assert get("logrisk_http_requests_total", route="score", code="400") >= 3
assert get("logrisk_records_total") >= 32 * 6
assert get("logrisk_model_info") == 1 and get("logrisk_model_loaded") == 1
assert get("logrisk_queue_records") >= 0 and get("logrisk_cache_lookups_total") >= get("logrisk_cache_hits_total")
assert get("logrisk_batch_round_records_count") >= 1
print("ok")
EOF
$PY "$out/prom.py" "$out/metrics.txt" >"$out/prom.out" 2>&1
check 'grep -qi "content-type: text/plain; version=0.0.4" "$out/mh" && [ "$(cat "$out/prom.out")" = ok ]' \
    "/metrics: Prometheus text 0.0.4 that parses, with consistent histograms and counts ($(tail -1 "$out/prom.out"))"

# evhttp's own answers: each request changes exactly the counters named
# (the scrape after it adds metrics/200 +1)
cat >"$out/counted.py" <<'EOF'
import re, sys
def load(p):
    d = {}
    for l in open(p):
        m = re.fullmatch(r'logrisk_http_requests_total\{route="(\w+)",code="(\d+)"\} (\d+)\n?', l)
        if m:
            d[m.group(1) + "/" + m.group(2)] = int(m.group(3))
    return d
a, b = load(sys.argv[1]), load(sys.argv[2])
print(" ".join("%s%+d" % (k, b.get(k, 0) - a.get(k, 0)) for k in sorted(set(a) | set(b)) if b.get(k, 0) != a.get(k, 0)))
EOF
curl -s "http://$addr/metrics" >"$out/m0.txt"
# counted WANT WHAT: the counters changed since the last scrape are WANT
counted() {
    local want=$1 got
    curl -s "http://$addr/metrics" >"$out/m1.txt"
    got=$($PY "$out/counted.py" "$out/m0.txt" "$out/m1.txt")
    check '[ "$got" = "$want" ]' "/metrics: $2 (changed: $got)"
    mv "$out/m1.txt" "$out/m0.txt"
}
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: text/plain' -H 'Expect: 100-continue' \
    --data-binary @"$out/big.txt" "http://$addr/v1/score")
counted "metrics/200+1 other/413+1" "a body over --max-body announced with Expect: 100-continue (answered $code) is one other/413"
# without Expect the body is on its way: the client may see the 413 or a reset
curl -s -o /dev/null -H 'Content-Type: text/plain' -H 'Expect:' --data-binary @"$out/big.txt" "http://$addr/v1/score"
counted "metrics/200+1 other/413+1" "a body over --max-body sent at once is one other/413"
post /v1/score application/x-ndjson "$out/recs.ndjson"
counted "metrics/200+1 score/200+1" "a normal request (answered $code): score/200 once, nothing else"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/nothing")
counted "metrics/200+1 other/404+1" "the handler's own 404 (answered $code): other/404 once, not again as evhttp's"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $(printf '%20000s' '' | tr ' ' y)" "http://$addr/health")
counted "metrics/200+1 other/400+1" "headers over the limit (answered $code) are one other/400"
(
    exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}" || exit 1
    printf 'GARBAGE\r\n\r\n' >&3
    timeout 5 cat <&3 >"$out/garbage.out"
)
counted "metrics/200+1 other/400+1" "a malformed request line ($(head -c 12 "$out/garbage.out")) is one other/400"

kill -TERM "$spid"
wait "$spid"
check '[ $? -eq 0 ]' "SIGTERM on an idle server: exit 0"

# ---------------------------------------------------------------- slow clients, connections
if start slow --timeout 1; then
    # a client that sends its request a byte at a time (0.2 s apart)
    (
        exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}" || exit 1
        req=$'POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n'
        for ((i = 0; i < ${#req}; i++)); do printf '%s' "${req:i:1}" >&3 2>/dev/null || exit 0; sleep 0.2; done
    ) &
    slow=$!
    sleep 0.3
    t0=$(date +%s%N)
    post /v1/score application/x-ndjson "$out/recs.ndjson"
    t1=$(date +%s%N)
    check '[ "$code" = 200 ] && [ $(( (t1 - t0) / 1000000 )) -lt 1000 ]' \
        "a byte-a-second client does not delay another request ($(( (t1 - t0) / 1000000 )) ms)"
    # the slow connection is shut down after --timeout: the writer sees it closed
    for _ in $(seq 1 40); do kill -0 "$slow" 2>/dev/null || break; sleep 0.1; done
    check '! kill -0 $slow 2>/dev/null' "the slow connection is closed after --timeout"
    kill "$slow" 2>/dev/null
    wait "$slow" 2>/dev/null
    kill -TERM "$spid"
    wait "$spid"
else
    bad "the slow-client server did not come up"
fi
if start conns --timeout 20 --max-connections 3; then
    # three idle connections fill --max-connections: a fourth client waits
    exec 4<>"/dev/tcp/${addr%:*}/${addr##*:}" 5<>"/dev/tcp/${addr%:*}/${addr##*:}" 6<>"/dev/tcp/${addr%:*}/${addr##*:}"
    sleep 0.5
    code=$(curl -s -m 1 -o /dev/null -w '%{http_code}' "http://$addr/health")
    check '[ "$code" != 200 ]' "at --max-connections a further client waits (got $code)"
    exec 4>&- 5>&- 6>&-
    code=000
    for _ in $(seq 1 30); do
        code=$(curl -s -m 1 -o /dev/null -w '%{http_code}' "http://$addr/health")
        [ "$code" = 200 ] && break
        sleep 0.1
    done
    check '[ "$code" = 200 ]' "when connections close, clients are accepted again"
    kill -TERM "$spid"
    wait "$spid"
else
    bad "the connections server did not come up"
fi

# ---------------------------------------------------------------- 429 and the drain
$PY -c "
import json
with open('$out/many.ndjson','w') as f:
    for i in range(12000):
        f.write(json.dumps({'msg':'worker %d failed to connect to node %d: connection refused' % (i, i*7), 'i': i})+'\n')
"
if start q --max-queue 10 --threads 1 --max-body 4000000; then
    curl -s -o "$out/q-big.out" -w '%{http_code}' -H 'Content-Type: application/x-ndjson' \
        --data-binary @"$out/many.ndjson" "http://$addr/v1/score" >"$out/q-big.code" &
    big=$!
    sleep 0.15
    qpids=()
    for c in $(seq 1 12); do
        curl -s -o "$out/q$c.out" -D "$out/q$c.head" -w '%{http_code}' -H 'Content-Type: application/x-ndjson' \
            --data-binary @"$out/c$c.ndjson" "http://$addr/v1/score" >"$out/q$c.code" &
        qpids+=($!)
    done
    wait "${qpids[@]}" "$big"
    n429=0
    n200=0
    good_retry=1
    for c in $(seq 1 12); do
        case $(cat "$out/q$c.code") in
        429) n429=$((n429 + 1)); grep -qi "^retry-after: 1" "$out/q$c.head" || good_retry=0 ;;
        200) n200=$((n200 + 1)) ;;
        esac
    done
    check '[ $n429 -ge 1 ] && [ $good_retry = 1 ] && [ $((n429 + n200)) = 12 ]' \
        "a full queue: 429 with Retry-After (429: $n429, 200: $n200 of 12)"
    check '[ "$(cat "$out/q-big.code")" = 200 ] && [ "$(wc -l <"$out/q-big.out")" = 12000 ]' "the big request: all 12000 records"
    kill -TERM "$spid"
    wait "$spid"
else
    bad "the queue server did not come up"
fi
if start drain --threads 1 --max-body 4000000 --max-queue 100000; then

    # SIGTERM with requests in flight: every one answered in full, exit 0
    # (sent once all three are accepted: in flight, or just answered)
    dpids=()
    for c in 1 2 3; do
        curl -s -o "$out/d$c.out" -w '%{http_code}' -H 'Content-Type: application/x-ndjson' \
            --data-binary @"$out/many.ndjson" "http://$addr/v1/score" >"$out/d$c.code" &
        dpids+=($!)
    done
    inflight=0
    for _ in $(seq 1 400); do
        curl -s "http://$addr/metrics" >"$out/dm.txt"
        inflight=$(awk '$1 == "logrisk_requests_in_flight" { print $2 }' "$out/dm.txt")
        done200=$(awk '$1 == "logrisk_http_requests_total{route=\"score\",code=\"200\"}" { print $2 }' "$out/dm.txt")
        [ $((${inflight:-0} + ${done200:-0})) -ge 3 ] && break
        sleep 0.02
    done
    echo "serve: SIGTERM with $inflight of 3 requests in flight" >&2
    kill -TERM "$spid"
    wait "${dpids[@]}"
    wait "$spid"
    rc=$?
    all=1
    for c in 1 2 3; do
        [ "$(cat "$out/d$c.code")" = 200 ] && [ "$(wc -l <"$out/d$c.out")" = 12000 ] || all=0
    done
    check '[ $rc -eq 0 ] && [ $all = 1 ] && [ "${inflight:-0}" -ge 1 ]' \
        "SIGTERM with requests in flight ($inflight of 3): all answered in full, exit 0 (rc $rc)"
    check 'grep -q "stopped" "$out/drain.err"' "SIGTERM: the server says it stopped"
else
    bad "the drain server did not come up"
fi
finish
