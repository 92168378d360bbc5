#!/usr/bin/env bash
# score_follow.bench.sh — `logrisk score` in production mode, on the
# BERT-mini model engine.bench.sh converts (bench/out/bert-mini.lrm; run that
# bench first — bench/run.sh does).
#
#   bash bench/score_follow.bench.sh [BUILD_DIR]
#
# 1. --follow throughput: the first 250 lines of every loghub system (3500
#    lines, fixed order) piped in at once, --follow (window of one batch,
#    interval 1 s) vs the batch mode (window of 8 batches) in the same run;
#    both with --cache 0 so the model scores every line; lines/s and ratio.
#    Then the latency of a lone line with --interval 0.2 (median of 5).
# 2. The cache: hit rate (--cache 4096, the default) on each loghub system's
#    2k log, and the lines/s with and without the cache on all of them.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
lrm=bench/out/bert-mini.lrm
out=bench/out/score_follow
THREADS=${THREADS:-2}
[ -x "$build/logrisk" ] || { echo "score_follow.bench: missing $build/logrisk" >&2; exit 1; }
[ -f "$lrm" ] || { echo "score_follow.bench: missing $lrm (run bench/engine.bench.sh first)" >&2; exit 1; }
mkdir -p "$out"
now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.1f", n / (b - a) }'; }

corpus=$out/corpus.log
for f in data/loghub/*/*_2k.log; do head -n 250 "$f"; done >"$corpus"
n=$(wc -l <"$corpus")

t0=$(now)
"$build/logrisk" score -m "$lrm" --threads "$THREADS" --cache 0 -i "$corpus" -o "$out/batch.jsonl"
t1=$(now)
cat "$corpus" | "$build/logrisk" score -m "$lrm" --threads "$THREADS" --cache 0 --follow -o "$out/follow.jsonl"
t2=$(now)
cmp -s "$out/batch.jsonl" "$out/follow.jsonl" || { echo "score_follow.bench: follow output differs from batch" >&2; exit 1; }
rb=$(rate "$n" "$t0" "$t1")
rf=$(rate "$n" "$t1" "$t2")
echo "score --follow: $n lines, $rf lines/s (batch mode $rb lines/s; follow/batch $(awk -v a="$rf" -v b="$rb" 'BEGIN { printf "%.2f", a / b }')), $THREADS threads, cache off"

# latency of a lone line: written to a FIFO, until its score is in the file
# (--interval 0.2: the line waits for the interval, then one model call)
fifo=$out/fifo
rm -f "$fifo"
mkfifo "$fifo"
"$build/logrisk" score -m "$lrm" --threads "$THREADS" --follow --interval 0.2 -i "$fifo" -o "$out/lat.jsonl" &
spid=$!
exec 7>"$fifo"
lats=""
for i in 1 2 3 4 5; do
    sleep 0.3
    t0=$(now)
    printf 'kubelet ERROR lone line %d\n' "$i" >&7
    while [ "$(wc -l <"$out/lat.jsonl")" -lt "$i" ]; do sleep 0.005; done
    t1=$(now)
    lats="$lats $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
done
exec 7>&-
wait "$spid"
rm -f "$fifo"
echo "score --follow --interval 0.2: latency of a lone line (s):$lats (median $(tr ' ' '\n' <<<"$lats" | sed '/^$/d' | sort -n | sed -n 3p))"

echo "cache hit rate per loghub system (2k lines each, --cache 4096):"
total=0 hits_all=0
for f in data/loghub/*/*_2k.log; do
    sys=$(basename "$(dirname "$f")")
    "$build/logrisk" score -m "$lrm" --threads "$THREADS" --stats -i "$f" -o /dev/null 2>"$out/$sys.stats"
    line=$(grep "stats:" "$out/$sys.stats")
    h=$(sed -n 's/.*cache \([0-9]*\)\/\([0-9]*\) hits (\([0-9.]*\)%).*/\1 \2 \3/p' <<<"$line")
    lps=$(sed -n 's/.* \([0-9.]*\) lines\/s.*/\1/p' <<<"$line")
    set -- $h
    printf '  %-11s %5.1f%% (%s/%s)  %s lines/s\n' "$sys" "$3" "$1" "$2" "$lps"
    total=$((total + $2))
    hits_all=$((hits_all + $1))
done
awk -v h="$hits_all" -v t="$total" 'BEGIN { printf "  all         %5.1f%% (%d/%d)\n", 100 * h / t, h, t }'
cat data/loghub/*/*_2k.log >"$out/all2k.log"
na=$(wc -l <"$out/all2k.log")
t0=$(now)
"$build/logrisk" score -m "$lrm" --threads "$THREADS" -i "$out/all2k.log" -o "$out/c_on.jsonl"
t1=$(now)
"$build/logrisk" score -m "$lrm" --threads "$THREADS" --cache 0 -i "$out/all2k.log" -o "$out/c_off.jsonl"
t2=$(now)
cmp -s "$out/c_on.jsonl" "$out/c_off.jsonl" || { echo "score_follow.bench: cache changed the output" >&2; exit 1; }
ron=$(rate "$na" "$t0" "$t1")
roff=$(rate "$na" "$t1" "$t2")
echo "all loghub 2k logs ($na lines): cache on $ron lines/s, off $roff lines/s ($(awk -v a="$ron" -v b="$roff" 'BEGIN { printf "%.2f", a / b }')x), identical output"
