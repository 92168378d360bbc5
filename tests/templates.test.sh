#!/usr/bin/env bash
# `logrisk templates`: usage and errors, one object per event in order
# (also for a multi-line event, CSV and JSON lines), the state file across
# runs (ids kept, --match-only learns nothing, a damaged state refused and
# left as it is), and rate alerts end to end on a crafted burst.
#
#   tests/templates.test.sh BUILD_DIR
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
bin=$build/logrisk
tmp=$(mktemp -d /tmp/lr_templates_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# ok, bad, run (stdin from $stdin), expect NAME RC STREAM REGEX
source tests/lib.sh

run templates --help;                 expect "--help" 0 out "^usage: logrisk templates"
run templates --bogus;                expect "unknown option" 2 err "unknown option '--bogus'"
run templates --similarity 2;         expect "similarity range" 2 err "similarity must be"
run templates --match-only;           expect "match-only alone" 2 err "needs --state"
run templates --k 3 --n 2;            expect "k > n" 2 err "must not exceed"
run templates -i /nonexistent.log;    expect "missing input" 1 err "cannot open '/nonexistent.log'"
run templates --match-only --state "$tmp/none.lrt"
expect "match-only without a state" 1 err "needs a state file"

# one object per event, in order
printf '%s\n' "Connection closed for peer alice after 12 s" "Connection closed for peer bob-2 after 7 s" \
    "disk full on /dev/sda1" "Connection closed for peer carol-9 after 1 s" >"$tmp/a.log"
run templates -i "$tmp/a.log" --input-format raw
expect "first event" 0 out '^\{"line":1,"template_id":1,"template":"Connection closed for peer alice after <\*> s","novel":true\}'
check '[ "$(wc -l <"$tmp/out")" -eq 4 ]' "4 events, 4 lines out"
check 'sed -n 2p "$tmp/out" | grep -q "\"line\":2,\"template_id\":1,\"template\":\"Connection closed for peer <\*> after <\*> s\",\"novel\":false"' \
    "second event generalises template 1"
check 'sed -n 3p "$tmp/out" | grep -q "\"template_id\":2,.*\"novel\":true"' "a new template"
check 'sed -n 4p "$tmp/out" | grep -q "\"line\":4,\"template_id\":1,"' "back to template 1"

# a Java stack trace is one event with line_end
printf '%s\n' "2024-01-02 03:04:05,123 ERROR [main] c.x.Svc - request failed" \
    "java.lang.IllegalStateException: boom" "	at c.x.Svc.run(Svc.java:42)" \
    "2024-01-02 03:04:06,000 INFO [main] c.x.Svc - request ok" >"$tmp/j.log"
run templates -i "$tmp/j.log"
expect "multi-line event" 0 out '^\{"line":1,"line_end":3,"template_id":1,"template":"request failed"'
check 'sed -n 2p "$tmp/out" | grep -q "\"line\":4,\"template_id\":2,\"template\":\"request ok\""' "next event"

# CSV column and JSON lines
printf 'id,msg\n1,"user root logged in from 10.0.0.1"\n2,"user admin logged in from 10.0.0.2"\n' >"$tmp/c.csv"
run templates -i "$tmp/c.csv" --input-format csv --column msg
expect "csv" 0 out '"line":3,"template_id":1,"template":"user <\*> logged in from <\*>"'
printf '%s\n' '{"level":"info","msg":"synced 12 pods","pod":"p1"}' '{"level":"info","msg":"synced 7 pods","pod":"p2"}' >"$tmp/j.jsonl"
run templates -i "$tmp/j.jsonl"
expect "jsonl" 0 out '"line":2,"template_id":1,"template":"synced <\*> pods","novel":false'

# the state across runs
run templates -i "$tmp/a.log" --input-format raw --state "$tmp/s.lrt" --stats
expect "state written" 0 err "4 events, 2 templates, 2 novel"
check '[ -s "$tmp/s.lrt" ]' "state file exists"
printf '%s\n' "fan failure on board 3" "disk full on /dev/sdb2" >"$tmp/b.log"
run templates -i "$tmp/b.log" --input-format raw --state "$tmp/s.lrt" --match-only --stats
expect "match-only" 0 err "2 events, 2 templates, 0 novel, 1 unmatched"
check 'sed -n 1p "$tmp/out" | grep -q "\"template_id\":0,\"template\":null"' "unmatched is id 0"
check 'sed -n 2p "$tmp/out" | grep -q "\"template_id\":2,"' "matched the stored template"
run templates -i "$tmp/b.log" --input-format raw --state "$tmp/s.lrt" --stats
expect "learning goes on" 0 err "2 events, 3 templates, 1 novel"
check 'sed -n 1p "$tmp/out" | grep -q "\"template_id\":3,.*\"novel\":true"' "ids continue after the stored ones"
run templates --state "$tmp/s.lrt" --list
expect "list" 0 out '^\{"template_id":1,"template":"Connection closed for peer <\*> after <\*> s","count":3,"first_seen":1,"last_seen":4\}'
check '[ "$(wc -l <"$tmp/out")" -eq 3 ]' "list: 3 templates"
run templates --list;                 expect "list without state" 2 err "needs --state"
printf 'X' | dd of="$tmp/s.lrt" bs=1 seek=200 conv=notrunc 2>/dev/null
cp "$tmp/s.lrt" "$tmp/keep.lrt"
run templates -i "$tmp/b.log" --input-format raw --state "$tmp/s.lrt"
expect "damaged state" 1 err "checksum"
check 'cmp -s "$tmp/s.lrt" "$tmp/keep.lrt"' "a damaged state is left as it is"
printf 'not a state' >"$tmp/t.lrt"
run templates -i "$tmp/b.log" --state "$tmp/t.lrt"
expect "not a state" 1 err "t.lrt"

# rate alerts: 20 steady minutes, then a burst of one template
python3 - "$tmp/r.log" <<'PY'
import sys
out = open(sys.argv[1], "w")
for minute in range(40):
    burst = 25 <= minute < 30
    for i in range(60 if burst else 5):
        out.write("2024-01-02T03:%02d:%02d.000Z INFO job %d finished in %d ms\n" % (minute, i % 60, i, i * 3))
    for i in range(20):
        out.write("2024-01-02T03:%02d:%02d.500Z INFO heartbeat ok from node-%d\n" % (minute, i, i % 4))
PY
run templates -i "$tmp/r.log" --alerts "$tmp/alerts.jsonl" --window 60 --stats
expect "alerts run" 0 err "1 alerts"
check '[ "$(wc -l <"$tmp/alerts.jsonl")" -eq 1 ]' "one incident, one alert"
check 'grep -q "\"alert\":\"burst\",\"template_id\":1,\"template\":\"job <\*> finished in <\*> ms\",\"window\":{\"start\":\"2024-01-02T03:26:00.000Z\",\"end\":\"2024-01-02T03:27:00.000Z\"},\"expected\":5,.*\"seen\":60,\"windows\":\"2 of 3\",\"lines\":\[" "$tmp/alerts.jsonl"' \
    "the alert names the template, window, counts"

# per entity from a JSON field, windows of events (no time in the records)
python3 - "$tmp/e.jsonl" <<'PY'
import json, sys
out = open(sys.argv[1], "w")
for w in range(30):
    for i in range(50):
        burst = 20 <= w < 23 and i % 2 == 0
        pod = "p2" if (i % 10 == 0 or burst) else "p1"
        out.write(json.dumps({"msg": "synced %d pods" % i, "k8s": {"pod": pod}}) + "\n")
PY
run templates -i "$tmp/e.jsonl" --alerts "$tmp/e_alerts.jsonl" --window-lines 50 --entity k8s.pod --stats
expect "entity run" 0 err "1 alerts"
check 'grep -q "\"alert\":\"burst\",\"template_id\":1,\"template\":\"synced <\*> pods\",\"entity\":\"p2\",\"window\":{\"first_event\":1051,\"last_event\":1100}" "$tmp/e_alerts.jsonl"' \
    "the burst of one pod, in windows of events"
run templates -i "$tmp/e.jsonl" --alerts "$tmp/e2.jsonl" --window-lines 50 --entity auto --stats
# no such field: one key for all pods, whose count per window does not move
expect "entity auto without such fields" 0 err " 0 alerts"
check '[ ! -s "$tmp/e2.jsonl" ]' "no entity found: no alert"
sed 's/"k8s": {"pod"/"kubernetes": {"pod_name"/' "$tmp/e.jsonl" >"$tmp/e3.jsonl"
run templates -i "$tmp/e3.jsonl" --alerts "$tmp/e3_alerts.jsonl" --window-lines 50 --entity auto
expect "entity auto" 0 out "synced"
check 'grep -q "\"entity\":\"p2\"" "$tmp/e3_alerts.jsonl"' "auto finds kubernetes.pod_name"

# per host of syslog lines (lr_event.host): the burst of host h2 is found
# with --entity host and auto; per program (one for both hosts) it is not
python3 - "$tmp/s.log" <<'PY'
import sys
out = open(sys.argv[1], "w")
for w in range(30):
    for i in range(50):
        burst = 20 <= w < 23 and i % 2 == 0
        host = "h2" if (i % 10 == 0 or burst) else "h1"
        t = w * 50 + i
        out.write("Jan  2 %02d:%02d:%02d %s app[7]: synced %d pods\n" % (t // 3600, t // 60 % 60, t % 60, host, i))
PY
for e in host auto; do
    run templates -i "$tmp/s.log" --alerts "$tmp/s_$e.jsonl" --window 50 --entity $e --stats
    expect "syslog entity $e" 0 err "1 alerts, 0 without a time"
    check 'grep -q "\"alert\":\"burst\",\"template_id\":1,\"template\":\"synced <\*> pods\",\"entity\":\"h2\"" "$tmp/s_$e.jsonl"' \
        "--entity $e: the burst of host h2"
done
run templates -i "$tmp/s.log" --alerts "$tmp/s_src.jsonl" --window 50 --entity source --stats
expect "syslog entity source" 0 err " 0 alerts"

# loghub stamps read for the time only (HDFS yyMMdd HHmmss, Spark yy/MM/dd):
# every event has a time, and the template is the line's as before
printf '%s\n' '081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_1 terminating' \
    '17/06/09 20:10:40 INFO spark.SecurityManager: Changing view acls to: yarn' >"$tmp/lh.log"
run templates -i "$tmp/lh.log" --stats
expect "loghub stamps" 0 err "2 events, .* 0 without a time"
check 'grep -q "\"template\":\"<\*> <\*> <\*> INFO dfs.DataNode" "$tmp/out"' "the HDFS line keeps its text, stamp and pid (as variables)"
finish
