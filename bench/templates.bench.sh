#!/usr/bin/env bash
# templates.bench.sh BUILD — `logrisk templates` end to end, one thread, CPU
# time: the 14 loghub 2k logs (data/loghub) repeated 8 times (224k lines),
# read through the record and event layer, masked with the built-in rules,
# mined and written as JSON lines; then the same with --match-only against
# the state the first run wrote, and with rate alerts on. The miner alone
# (pre-masked messages) and the grouping accuracy per system are printed by
# BUILD/bench/bench_templates, which bench/run.sh runs before this script;
# its grouping accuracy is checked here against an independent evaluator
# (tools/template_accuracy.py, loghub's definition in Python).
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
bin=$build/logrisk
[ -x "$bin" ] || { echo "templates.bench.sh: build $bin first (make)"; exit 1; }
if [ -x "$build/bench/bench_templates" ]; then
    python3 tools/template_accuracy.py "$build/bench/bench_templates" | tail -n 1 | sed 's/^average    /grouping accuracy, /'
fi
tmp=$(mktemp -d /tmp/lr_templates_bench_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
for _ in 1 2 3 4 5 6 7 8; do cat data/loghub/*/*_2k.log; done >"$tmp/corpus.log"
n=$(wc -l <"$tmp/corpus.log")
mb=$(awk -v b="$(wc -c <"$tmp/corpus.log")" 'BEGIN { printf "%.1f", b / 1e6 }')
cpu() {
    local TIMEFORMAT='%U %S'
    { time "$@" >/dev/null 2>&1; } 2>&1 | awk '{ print $1 + $2 }'
}
learn=$(cpu "$bin" templates -i "$tmp/corpus.log" --state "$tmp/s.lrt" -o "$tmp/out.jsonl")
match=$(cpu "$bin" templates -i "$tmp/corpus.log" --state "$tmp/s.lrt" --match-only -o "$tmp/out2.jsonl")
alerts=$(cpu "$bin" templates -i "$tmp/corpus.log" -o "$tmp/out3.jsonl" --alerts "$tmp/alerts.jsonl")
templates=$("$bin" inspect "$tmp/s.lrt" 2>/dev/null | awk '/templates.count/ { print $2 }')
awk -v n="$n" -v mb="$mb" -v l="$learn" -v m="$match" -v a="$alerts" -v t="$templates" 'BEGIN {
    printf "full path (%d lines, %s MB, CPU time, records + events + masks + miner + JSON out): learning %.2f s (%.0f lines/s), match only %.2f s (%.0f lines/s), learning with rate alerts %.2f s (%.0f lines/s); %s templates\n",
        n, mb, l, n / l, m, n / m, a, n / a, t
    printf "peer (quoted, not measured here): Python Drain (Drain3) about 10,000 messages/s\n" }'
