#!/usr/bin/env bash
# events.bench.sh BUILD — the record layer's throughput per format and its
# share of `score`'s time per event, measured in the same run:
#   1. bench_events: events/s of records + events (wrappers, parsing,
#      grouping), + the canonical rendering, + the whole model input
#      (masks, tokenizer, window), CPU time, best of 3, 100,000 generated
#      lines per format (plain, plain behind a time, JSON, logfmt, klog,
#      RFC 5424, journald around klog, log4j, Python, CRI around JSON,
#      Docker around logfmt, log4j with Java traces, dmesg with oopses);
#   2. `logrisk score --threads 1 --cache 0` on the first 2,000 lines of each
#      generated file (events/s from --stats), and the share of the
#      canonical step (parse + render) in score's time per event.
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
[ -x "$build/bench/bench_events" ] || { echo "events.bench.sh: build $build/bench/bench_events first (make bench-binaries)"; exit 1; }
model=()
[ -f models/logrisk-mini.lrm ] && model=(-m models/logrisk-mini.lrm)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/bench/bench_events" --lines "${EVENTS_BENCH_LINES:-100000}" --write "$tmp" "${model[@]}" | tee "$tmp/layer.txt"
echo
printf '%-14s %12s %12s %18s\n' format "score ev/s" "render ev/s" "canonical share"
awk 'NR > 2 { print $1, $4 }' "$tmp/layer.txt" | while read -r fmt render; do
    head -n 2000 "$tmp/$fmt.log" >"$tmp/s.log"
    "$build/logrisk" score "${model[@]}" --threads 1 --cache 0 --stats -i "$tmp/s.log" -o /dev/null 2>"$tmp/err" || {
        echo "$fmt: score failed: $(cat "$tmp/err")"; continue; }
    eps=$(sed -n 's/.*records, .*, \([0-9.]*\) lines\/s.*/\1/p' "$tmp/err")
    awk -v f="$fmt" -v s="$eps" -v r="$render" \
        'BEGIN { printf "%-14s %12.0f %12.0f %17.3f%%\n", f, s, r, (s > 0 && r > 0) ? 100 * s / r : -1 }'
done
