#!/usr/bin/env bash
# rules.bench.sh BUILD — preprocess + label throughput of logrisk against
# the Python reference (tools/reference_rules.py, docs/rules.md written
# with `re`), measured in the same run on the same corpus (loghub 14 x 2k lines +
# the kubelet journal), single thread:
#   1. in-process: lines/s of the per-line work only (bench_rules --brief
#      for C; a timed loop over reference_rules.preprocess + label in
#      Python), best of 3, both timed in CPU time (the machine may be shared);
#   2. end to end: `logrisk label` vs `reference_rules.py label` on the
#      corpus repeated 8 times (264k lines): read, process, write JSONL;
#      CPU time (user + sys) of each process, and whether outputs are equal.
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
py=/usr/bin/python3
[ -x $py ] || py=$(command -v python3)
[ -x "$build/bench/bench_rules" ] || { echo "rules.bench.sh: build $build/bench/bench_rules first (make bench)"; exit 1; }
files=(data/loghub/*/*_2k.log data/k8s/kubelet_e2e_2020-03-25.log)

c_lps=$("$build/bench/bench_rules" --brief | awk '/lines_per_sec/ { print $2 }')
py_lps=$($py - "${files[@]}" <<'PY'
import sys, time
sys.path.insert(0, "tools")
import reference_rules as R
lines = []
for path in sys.argv[1:]:
    lines.extend(R.raw_lines(open(path, "rb").read()))
best = 0.0
for _ in range(3):
    t0 = time.process_time()
    for line in lines:
        text, level = R.preprocess(line)
        R.label(text, level)
    best = max(best, len(lines) / (time.process_time() - t0))
print("%.0f" % best)
PY
)
echo "in-process, 1 thread: logrisk $c_lps lines/s, Python reference $py_lps lines/s"
awk -v c="$c_lps" -v p="$py_lps" 'BEGIN { printf "ratio (in-process): %.1fx the Python reference\n", c / p }'

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for _ in 1 2 3 4 5 6 7 8; do cat "${files[@]}"; done >"$tmp/corpus.log"
n=$(wc -l <"$tmp/corpus.log")
mb=$(awk -v b="$(wc -c <"$tmp/corpus.log")" 'BEGIN { printf "%.1f", b / 1e6 }')
# CPU seconds (user + sys) of a command, like the in-process numbers
cpu() {
    local TIMEFORMAT='%U %S'
    { time "$@" >/dev/null 2>&1; } 2>&1 | awk '{ print $1 + $2 }'
}
c=$(cpu "$build/logrisk" label -i "$tmp/corpus.log" -o "$tmp/c.jsonl")
p=$(cpu $py tools/reference_rules.py label -i "$tmp/corpus.log" -o "$tmp/p.jsonl")
same=$(cmp -s "$tmp/c.jsonl" "$tmp/p.jsonl" && echo "identical output" || echo "OUTPUT DIFFERS")
awk -v n="$n" -v mb="$mb" -v c="$c" -v p="$p" -v same="$same" 'BEGIN {
    printf "end to end (%d lines, %s MB, CPU time): logrisk label %.2f s (%.0f lines/s, %.0f MB/s), reference %.2f s (%.0f lines/s); ratio %.1fx; %s\n",
        n, mb, c, n / c, mb / c, p, n / p, p / c, same }'
