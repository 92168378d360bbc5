#!/usr/bin/env bash
# agent.test.sh — `logrisk score` as the node agent (docs/agent.md):
# several inputs (a second -i adds one), directories and globs, --exclude, inputs that
# cannot be read among readable ones (the suite runs as root in CI, where
# chmod 000 stops nothing, so the unreadable entries are a dangling symlink,
# a FIFO and a directory named *.log), 1,000 files in one directory;
# --follow like tail -F: rename rotation with late writes to the old file,
# copytruncate, delete and recreate, a new pod's file appearing, a file
# deleted while open, the polling fallback; --state: kill -9 then restart
# (lines lost: must be 0; lines repeated: counted, at most one batch), files
# rotated while the agent was stopped (found again by their inode),
# SIGTERM mid-batch (everything written, state at the end, exit 0), a
# corrupt state file and one from another machine; --output enrich with
# Kubernetes metadata from kubelet paths.
#
#   bash tests/agent.test.sh BUILD_DIR
#
# Model: the tiny random BERT of tests/fixtures/tiny (tests/lib.sh).
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
bin=$build/logrisk
PY=/usr/bin/python3
. tests/lib.sh

tmp=$(mktemp -d /tmp/lr_agent_test.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
if ! msg=$(make_tiny_model "$bin" "$tmp"); then
    bad "convert of the tiny fixture failed: $msg"
    finish
fi
ok
model=$tmp/tiny.lrm
sc() { "$bin" score -m "$model" --threads 1 "$@"; }

# q FILE EXPR: EXPR over r, the parsed JSON lines of FILE
cat >"$tmp/q.py" <<'EOF'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
print(json.dumps(eval(sys.argv[2])))
EOF
q() { $PY "$tmp/q.py" "$@" 2>&1; }
# lines FILE NAME: sorted "line" numbers of the results whose file ends in NAME
lines() { q "$1" "' '.join(str(o['line']) for o in sorted(r, key=lambda o: o['line']) if o['file'].endswith('$2'))" | tr -d '"'; }
# stop PID: SIGTERM, then wait; sets rc
stop() { kill -TERM "$1"; wait "$1"; rc=$?; }
# (exec: a background `follow ... &` is the scorer itself, so $! gets the signals)
follow() { exec "$bin" score -m "$model" --threads 1 --follow --interval 0.05 --rotate-wait 0.3 "$@"; }

# ------------------------------------------------------------ several inputs
d=$tmp/logs
mkdir -p "$d"
printf 'INFO start\nERROR disk failed\n' >"$d/a.log"
printf 'WARN slow\n' >"$d/b.log"
printf 'not a log name\n' >"$d/c.txt"
ln -s "$tmp/nowhere" "$d/dangling.log"
mkfifo "$d/fifo.log"
mkdir "$d/dir.log"
sc -i "$d" >"$tmp/out" 2>"$tmp/err"
rc=$?
check '[ $rc -eq 1 ]' "unreadable entries among readable ones: exit 1 (got $rc)"
got=$(q "$tmp/out" "[(o['file'][-5:], o['line']) for o in r]")
check '[ "$got" = "[[\"a.log\", 1], [\"a.log\", 2], [\"b.log\", 1]]" ]' \
    "a directory: its *.log files in order, per-file line numbers: $got"
check 'grep -q "dangling.log.*No such file" "$tmp/err" && grep -q "fifo.log.*FIFO" "$tmp/err" && grep -q "dir.log.*directory" "$tmp/err"' \
    "each unreadable entry named on stderr: $(cat "$tmp/err")"
check '[ "$(wc -l <"$tmp/err")" -eq 3 ]' "one line per unreadable entry"
sc -i "$d/a.log" -i "$d/b.log" >"$tmp/out" 2>"$tmp/err"
check '[ $? -eq 0 ] && [ "$(wc -l <"$tmp/out")" -eq 3 ] && grep -q b.log "$tmp/out"' "a second -i adds an input"
sc -i "$d/*.log" >"$tmp/out" 2>/dev/null
check '[ "$(wc -l <"$tmp/out")" -eq 3 ]' "a glob input"
sc -i "$d/a.log" >"$tmp/out" 2>"$tmp/err"
check '[ $? -eq 0 ] && ! grep -q "\"file\"" "$tmp/out"' "one file: the compact form as before (no \"file\")"
sc -i "$d" --exclude 'b.*' --exclude "$d/nothing" >"$tmp/out" 2>"$tmp/err"
check '[ "$(wc -l <"$tmp/out")" -eq 2 ] && ! grep -q b.log "$tmp/out"' \
    "--exclude: a file matching the pattern is not read (out: $(head -c 400 "$tmp/out"); err: $(head -c 400 "$tmp/err"))"
sc -i "$d/a.log" -i - </dev/null >/dev/null 2>"$tmp/err"
check '[ $? -eq 2 ]' "'-' among several inputs: usage error"
sc -i "$d/a.log" -i "$tmp/missing.log" >"$tmp/out" 2>"$tmp/err"
check '[ $? -eq 1 ] && [ "$(wc -l <"$tmp/out")" -eq 2 ] && grep -q "missing.log" "$tmp/err"' \
    "a missing file: named, the others scored, exit 1"

# 1,000 files in one directory, one pass and followed
m=$tmp/many
mkdir -p "$m"
for i in $(seq 1 1000); do printf 'INFO pod %d ready\n' "$i" >"$m/p$i.log"; done
sc -i "$m" --stats >"$tmp/out" 2>"$tmp/err"
rc=$?
check '[ $rc -eq 0 ] && [ "$(wc -l <"$tmp/out")" -eq 1000 ] && grep -q "files 1000" "$tmp/err"' \
    "1,000 files in one directory: 1,000 results ($(tail -c 200 "$tmp/err"))"
follow -i "$m" -o "$tmp/fm.jsonl" 2>"$tmp/err" &
pid=$!
wait_lines "$tmp/fm.jsonl" 1000
for i in 7 500 1000; do printf 'ERROR pod %d crashed\n' "$i" >>"$m/p$i.log"; done
wait_lines "$tmp/fm.jsonl" 1003
stop $pid
check '[ $rc -eq 0 ] && [ "$(wc -l <"$tmp/fm.jsonl")" -eq 1003 ]' \
    "1,000 followed files: lines appended to three of them are read (got $(wc -l <"$tmp/fm.jsonl"), rc $rc)"

# ------------------------------------------------------------------ follow
f=$tmp/f
mkdir -p "$f"
printf 'INFO one\nINFO two\n' >"$f/app.log"
follow -i "$f" -o "$tmp/rot.jsonl" 2>"$tmp/err" &
pid=$!
wait_lines "$tmp/rot.jsonl" 2
# rename rotation: the writer still appends to the old file for a moment
mv "$f/app.log" "$f/app.log.1"
printf 'INFO three\n' >>"$f/app.log.1"
printf 'INFO new-one\nINFO new-two\n' >"$f/app.log"
wait_lines "$tmp/rot.jsonl" 5
check '[ "$(q "$tmp/rot.jsonl" "[o[\"line\"] for o in r]")" = "[1, 2, 3, 1, 2]" ]' \
    "rename: the old file read to its end (a late line too), then the new one from its start: $(q "$tmp/rot.jsonl" "[o['line'] for o in r]")"
# copytruncate
cp "$f/app.log" "$f/app.log.2"
: >"$f/app.log"
sleep 0.3
printf 'WARN after truncate\n' >>"$f/app.log"
wait_lines "$tmp/rot.jsonl" 6
check '[ "$(q "$tmp/rot.jsonl" "r[-1][\"line\"]")" = 1 ] && grep -q "truncated" "$tmp/err"' \
    "copytruncate: noticed, reading restarts at 0 (line 1): $(tail -n 1 "$tmp/rot.jsonl")"
# delete and recreate
rm "$f/app.log"
sleep 0.2
printf 'INFO recreated\n' >"$f/app.log"
wait_lines "$tmp/rot.jsonl" 7
# a new pod's file appears
printf 'ERROR new pod failed\n' >"$f/new-pod.log"
wait_lines "$tmp/rot.jsonl" 8
# a file deleted while open: what was written before is read
printf 'INFO short-lived\n' >"$f/gone.log"
wait_lines "$tmp/rot.jsonl" 9
{ printf 'ERROR last words\n'; rm "$f/gone.log"; } >>"$f/gone.log"
wait_lines "$tmp/rot.jsonl" 10
stop $pid
check '[ $rc -eq 0 ] && [ "$(wc -l <"$tmp/rot.jsonl")" -eq 10 ]' \
    "delete+recreate, a new file, a file deleted while open: 10 lines, exit 0 (rc $rc): $(q "$tmp/rot.jsonl" "[(o['file'][-9:], o['line']) for o in r]")"
check '[ "$(lines "$tmp/rot.jsonl" gone.log)" = "1 2" ] && [ "$(lines "$tmp/rot.jsonl" new-pod.log)" = "1" ]' \
    "the deleted file's last line and the new pod's line: $(lines "$tmp/rot.jsonl" gone.log) / $(lines "$tmp/rot.jsonl" new-pod.log)"

# the polling fallback: the same rotation
p=$tmp/poll
mkdir -p "$p"
printf 'INFO a\n' >"$p/x.log"
follow --poll 0.05 -i "$p/x.log" -o "$tmp/poll.jsonl" 2>"$tmp/err" &
pid=$!
wait_lines "$tmp/poll.jsonl" 1
mv "$p/x.log" "$p/x.log.1"
printf 'INFO b\n' >"$p/x.log"
wait_lines "$tmp/poll.jsonl" 2
printf 'INFO c\n' >>"$p/x.log"
wait_lines "$tmp/poll.jsonl" 3
stop $pid
check '[ $rc -eq 0 ] && [ "$(q "$tmp/poll.jsonl" "[o[\"line\"] for o in r]")" = "[1, 1, 2]" ]' \
    "--poll: rotation noticed without inotify: $(q "$tmp/poll.jsonl" "[o['line'] for o in r]")"

# ------------------------------------------------------------------- state
s=$tmp/s
mkdir -p "$s"
seq -f 'INFO request %g served' 1 300 >"$s/app.log"
# one pass with a state: a second run writes only what was added
sc -i "$s" --state "$tmp/one.state" >"$tmp/out" 2>"$tmp/err"
rc=$?
check '[ $rc -eq 0 ] && [ "$(wc -l <"$tmp/out")" -eq 300 ] && head -n 1 "$tmp/one.state" | grep -q "logrisk-state 1"' \
    "one pass with --state: 300 lines, the state written"
seq -f 'WARN request %g slow' 301 310 >>"$s/app.log"
sc -i "$s" --state "$tmp/one.state" >"$tmp/out" 2>"$tmp/err"
check '[ "$(q "$tmp/out" "[o[\"line\"] for o in r][:1] + [len(r)]")" = "[301, 10]" ]' \
    "resumed: only the 10 new lines, numbered from 301: $(q "$tmp/out" "[o['line'] for o in r][:3]")"

# rotated while stopped: the rest of the old file is found by its inode
mkdir -p "$s/rot"
seq -f 'INFO before %g' 1 5 >"$s/rot/web.log"
sc -i "$s/rot" --state "$tmp/rot.state" >/dev/null 2>&1
seq -f 'WARN late %g' 6 8 >>"$s/rot/web.log"
mv "$s/rot/web.log" "$s/rot/web.log.1"
printf 'INFO fresh\n' >"$s/rot/web.log"
sc -i "$s/rot" --state "$tmp/rot.state" >"$tmp/out" 2>"$tmp/err"
got=$(q "$tmp/out" "[(o['file'].split('/')[-1], o['line']) for o in r]")
check '[ "$got" = "[[\"web.log.1\", 6], [\"web.log.1\", 7], [\"web.log.1\", 8], [\"web.log\", 1]]" ] && grep -q "rotated" "$tmp/err"' \
    "rotated while stopped: the old file's unread lines (6..8) from its new name, then the new file: $got"

# ... and the kubelet's way: 0.log renamed to 0.log.<time> behind the
# unchanged symlink; the rest keeps the pod's metadata
kp=$s/kube/pods/ns-a_api-7f9c_0c1d/api
mkdir -p "$kp" "$s/kube/containers"
seq -f 'INFO before %g' 1 3 >"$kp/0.log"
kid=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
ln -s "$kp/0.log" "$s/kube/containers/api-7f9c_ns-a_api-$kid.log"
sc -i "$s/kube/containers" --state "$tmp/kube.state" >/dev/null 2>&1
seq -f 'ERROR late %g' 4 5 >>"$kp/0.log"
mv "$kp/0.log" "$kp/0.log.20261207-093000"
printf 'INFO fresh\n' >"$kp/0.log"
sc -i "$s/kube/containers" --state "$tmp/kube.state" --output enrich >"$tmp/out" 2>"$tmp/err"
got=$(q "$tmp/out" "[(o['file'].split('/')[-1][:6], o['line'], o.get('pod')) for o in r]")
check '[ "$got" = "[[\"0.log.\", 4, \"api-7f9c\"], [\"0.log.\", 5, \"api-7f9c\"], [\"api-7f\", 1, \"api-7f9c\"]]" ]' \
    "kubelet rotation while stopped: the rest of 0.log from 0.log.<time>, with the pod's metadata: $got"

# kill -9 mid-stream, then restart with the state: nothing lost
seq -f 'INFO event %g' 1 2000 >"$s/big.log"
follow -i "$s/big.log" --batch 8 --state "$tmp/k.state" -o "$tmp/k1.jsonl" 2>"$tmp/err" &
pid=$!
wait_lines "$tmp/k1.jsonl" 300
kill -KILL $pid
wait $pid 2>/dev/null
n1=$(wc -l <"$tmp/k1.jsonl")
sc -i "$s/big.log" --batch 8 --state "$tmp/k.state" -o "$tmp/k2.jsonl" 2>"$tmp/err"
res=$($PY - "$tmp/k1.jsonl" "$tmp/k2.jsonl" <<'EOF'
import json, sys
a = [json.loads(l)["line"] for l in open(sys.argv[1]) if l.endswith("\n")]
b = [json.loads(l)["line"] for l in open(sys.argv[2])]
lost = set(range(1, 2001)) - set(a) - set(b)
print(len(lost), len(set(a) & set(b)), b[0] if b else 0)
EOF
)
read -r lost repeated first <<<"$res"
echo "kill -9 after $n1 lines written: lost $lost, repeated $repeated (restart began at line $first)"
check '[ "$lost" = 0 ]' "kill -9 then restart: no line lost (lost $lost)"
check '[ "$repeated" -le 8 ]' "kill -9 then restart: at most one batch (8) repeated (repeated $repeated)"

# SIGTERM mid-batch: everything read is written and checkpointed
seq -f 'INFO term %g' 1 5 >"$s/t.log"
follow -i "$s/t.log" --interval 100 --state "$tmp/t.state" -o "$tmp/t1.jsonl" 2>"$tmp/err" &
pid=$!
sleep 1
stop $pid
sc -i "$s/t.log" --state "$tmp/t.state" -o "$tmp/t2.jsonl" 2>"$tmp/err"
check '[ $rc -eq 0 ] && [ "$(wc -l <"$tmp/t1.jsonl")" -eq 5 ] && [ ! -s "$tmp/t2.jsonl" ]' \
    "SIGTERM with a batch waiting (interval 100 s): 5 lines written, exit 0, a restart repeats none (rc $rc, $(wc -l <"$tmp/t2.jsonl") again)"

# a corrupt state file: a clear error, nothing read, the file kept
printf 'logrisk-state 1\n1 2 zz\n' >"$tmp/bad.state"
sc -i "$s/t.log" --state "$tmp/bad.state" >"$tmp/out" 2>"$tmp/err"
rc=$?
check '[ $rc -eq 1 ] && grep -q "bad.state.*line 2" "$tmp/err" && [ ! -s "$tmp/out" ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]' \
    "a corrupt state file: one line naming it, exit 1: $(cat "$tmp/err")"
head -c 300 /dev/urandom >"$tmp/junk.state"
sc -i "$s/t.log" --state "$tmp/junk.state" >/dev/null 2>"$tmp/err"
check '[ $? -eq 1 ] && grep -q "junk.state" "$tmp/err"' "random bytes as the state: error, no crash"
sc -i "$s/t.log" --state /dev/null >/dev/null 2>"$tmp/err"
check '[ $? -eq 1 ] && grep -q "not a regular file" "$tmp/err" && [ -c /dev/null ]' "--state /dev/null: refused, /dev/null intact"
# a state from another machine: its devices and inodes match nothing here
printf 'logrisk-state 1\n64769 99999999 256 0123456789abcdef 5 40 /var/log/elsewhere.log\nend 1\n' >"$tmp/other.state"
sc -i "$s/t.log" --state "$tmp/other.state" >"$tmp/out" 2>"$tmp/err"
check '[ $? -eq 0 ] && [ "$(wc -l <"$tmp/out")" -eq 5 ] && ! grep -q elsewhere "$tmp/other.state"' \
    "a state from another machine: a fresh start (all 5 lines), its entries dropped"
# the same inode with other content (a reused inode): the fingerprint tells
ino=$(stat -c %i "$s/t.log"); dev=$(stat -c %d "$s/t.log")
printf 'logrisk-state 1\n%s %s 16 0123456789abcdef 3 20 %s\nend 1\n' "$dev" "$ino" "$s/t.log" >"$tmp/reuse.state"
sc -i "$s/t.log" --state "$tmp/reuse.state" >"$tmp/out" 2>"$tmp/err"
check '[ "$(q "$tmp/out" "[o[\"line\"] for o in r]")" = "[1, 2, 3, 4, 5]" ]' \
    "an entry for this inode with another fingerprint: read from the start"

# ------------------------------------------------------------------ enrich
k=$tmp/var/log/containers
mkdir -p "$k" "$tmp/var/log/pods/shop-prod_web-0_1111-2222/nginx"
id=7d3c5a1f0e9b8c2d4a6f1e3b5c7d9e0f2a4b6c8d0e1f3a5b7c9d1e2f4a6b8c0d
printf '2026-12-07T09:00:00.000000001Z stdout F 2026-12-07T09:00:00Z INFO listening on :80\n2026-12-07T09:00:01.5Z stderr F {"level":"error","msg":"upstream timed out","code":504}\n' \
    >"$tmp/var/log/pods/shop-prod_web-0_1111-2222/nginx/0.log"
ln -s "$tmp/var/log/pods/shop-prod_web-0_1111-2222/nginx/0.log" "$k/web-0_shop-prod_nginx-$id.log"
sc -i "$k" --output enrich >"$tmp/out" 2>"$tmp/err"
rc=$?
got=$(q "$tmp/out" "[r[0].get(k) for k in ('pod', 'namespace', 'container', 'container_id', 'time', 'message', 'line')]")
want="[\"web-0\", \"shop-prod\", \"nginx\", \"$id\", \"2026-12-07T09:00:00Z\", \"listening on :80\", 1]"
check '[ $rc -eq 0 ] && [ "$got" = "$want" ]' \
    "enrich: pod, namespace, container, container id, time from a kubelet symlink: $got"
got=$(q "$tmp/out" "[r[1].get(k) for k in ('msg', 'code', 'line', 'pod', 'container')] + ['risk_score' in r[1]]")
check '[ "$got" = "[\"upstream timed out\", 504, 2, \"web-0\", \"nginx\", true]" ]' \
    "enrich: a JSON record keeps its own members, then risk and metadata: $got"
got=$(q "$tmp/out" "[r[0].get('stream'), r[1].get('stream'), r[1].get('time')]")
check '[ "$got" = "[\"stdout\", \"stderr\", \"2026-12-07T09:00:01.5Z\"]" ]' \
    "enrich: the CRI stream of each event; a JSON record without a time of its own gets the runtime's: $got"
printf 'Dec  7 09:00:02 node-7 kernel: EXT4-fs error (device sda1): reading directory lblock 0\n' >"$k/sys_kube-system_kmsg-$id.log"
sc -i "$k/sys_kube-system_kmsg-$id.log" --output enrich >"$tmp/out" 2>"$tmp/err"
got=$(q "$tmp/out" "[r[0].get('host'), r[0].get('time'), 'stream' in r[0]]")
check '[ "$got" = "[\"node-7\", \"Dec  7 09:00:02\", false]" ]' \
    "enrich: a syslog line names its host and time, and has no stream: $got"
sc -i "$tmp/var/log/pods/shop-prod_web-0_1111-2222/nginx/0.log" --output enrich --top-k 2 >"$tmp/out" 2>"$tmp/err"
got=$(q "$tmp/out" "[r[0].get('pod'), r[0].get('namespace'), 'container_id' in r[0], len(r[0]['top'])]")
check '[ "$got" = "[\"web-0\", \"shop-prod\", false, 2]" ]' \
    "enrich: a /var/log/pods path gives pod and namespace, no container id; --top-k adds top: $got"
sc -i "$d/a.log" --output enrich --format csv >/dev/null 2>"$tmp/err"
check '[ $? -eq 2 ]' "--output enrich with --format csv: usage error"

finish
