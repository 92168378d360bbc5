#!/usr/bin/env bash
# agent.bench.sh — the node agent (`logrisk score --follow` on a directory,
# docs/agent.md) with the built-in model:
#
# 1. Throughput over 100 followed files: 30 lines appended to each of 100
#    files while the agent follows the directory, timed until the last
#    result is out; the peer is one-pass scoring of the same 3,000 lines
#    in one file, measured in the same run (--cache 0 both). Then the same
#    with --state (a checkpoint after every written batch).
# 2. CPU time per 1,000 lines (user + system, from /proc) of that run.
# 3. Idle CPU: the agent following 100 files while nothing is written, for
#    IDLE seconds, with inotify and with --poll 0.25.
# 4. Resident memory per followed file: VmRSS with 1,000 files followed
#    less VmRSS with 10, divided by 990.
#
#   bash bench/agent.bench.sh [BUILD_DIR]      (THREADS=2, IDLE=10)
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
bin=$build/logrisk
THREADS=${THREADS:-2}
IDLE=${IDLE:-10}
[ -x "$bin" ] || { echo "agent.bench: missing $bin" >&2; exit 1; }
"$bin" score -i /dev/null </dev/null >/dev/null 2>&1 || { echo "agent.bench: $bin has no built-in model" >&2; exit 1; }
out=$(mktemp -d /tmp/lr_agent_bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$out"' EXIT
now() { date +%s.%N; }
tick=$(getconf CLK_TCK)
# cpu PID: user + system seconds so far
cpu() { awk -v t="$tick" '{ printf "%.3f", ($14 + $15) / t }' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
wait_lines() { # FILE N [timeout s]
    local end
    end=$(awk -v n="$(now)" -v t="${3:-300}" 'BEGIN { printf "%.0f", n + t }')
    while [ "$({ wc -l <"$1"; } 2>/dev/null || echo 0)" -lt "$2" ]; do
        [ "$(date +%s)" -lt "$end" ] || { echo "agent.bench: timed out waiting for $2 lines in $1" >&2; exit 1; }
        sleep 0.02
    done
}
agent() { exec "$bin" score --threads "$THREADS" --cache 0 --follow --interval 0.2 "$@"; }

# distinct lines, as a node's pods write them
line() { printf '%s %s pod-%d request %d to svc-%d took %dms status %d\n' \
    "$(printf '%(%Y-%m-%dT%H:%M:%S)T' -1)" "$1" "$2" "$3" $(($3 % 7)) $((($3 * 37) % 900)) $((200 + ($3 % 3) * 150)); }
levels=(INFO WARN ERROR INFO DEBUG)

# ---------------------------------------------------- 1-2. 100 files
run_files() { # NAME EXTRA_ARGS...: lines/s and CPU per 1000 lines
    local name=$1 d=$out/$1
    shift
    mkdir -p "$d"
    for f in $(seq 1 100); do : >"$d/pod-$f.log"; done
    agent -i "$d" -o "$out/$name.jsonl" "$@" 2>"$out/$name.err" &
    local pid=$!
    sleep 1
    local c0 t0 t1 c1
    c0=$(cpu $pid)
    t0=$(now)
    for i in $(seq 1 30); do
        for f in $(seq 1 100); do line "${levels[$(((i + f) % 5))]}" "$f" $((i * 100 + f)) >>"$d/pod-$f.log"; done
    done
    wait_lines "$out/$name.jsonl" 3000
    t1=$(now)
    c1=$(cpu $pid)
    kill -TERM $pid
    wait $pid
    awk -v a="$t0" -v b="$t1" -v c0="$c0" -v c1="$c1" \
        'BEGIN { printf "%.1f %.3f", 3000 / (b - a), (c1 - c0) / 3 }'
}
# the peer: the same 3,000 lines, one file, one pass
for i in $(seq 1 30); do
    for f in $(seq 1 100); do line "${levels[$(((i + f) % 5))]}" "$f" $((i * 100 + f)); done
done >"$out/one.log"
t0=$(now)
"$bin" score --threads "$THREADS" --cache 0 -i "$out/one.log" -o "$out/one.jsonl"
t1=$(now)
peer=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", 3000 / (b - a) }')
read -r rate cpu_k <<<"$(run_files plain)"
echo "agent, 100 followed files, 3,000 lines appended: $rate lines/s (one-pass scoring of one file: $peer lines/s;" \
     "agent/one-pass $(awk -v a="$rate" -v b="$peer" 'BEGIN { printf "%.2f", a / b }')), $THREADS threads, cache off"
echo "agent CPU time per 1,000 lines: $cpu_k s (user + system)"
read -r rate_s cpu_s <<<"$(run_files state --state "$out/bench.state")"
echo "agent with --state (a checkpoint per written batch): $rate_s lines/s, CPU $cpu_s s per 1,000 lines" \
     "(state/no state $(awk -v a="$rate_s" -v b="$rate" 'BEGIN { printf "%.2f", a / b }'))"

# ---------------------------------------------------- 3. idle CPU
idle() { # EXTRA_ARGS...: CPU % while nothing is written
    local d=$out/idle
    mkdir -p "$d"
    for f in $(seq 1 100); do printf 'INFO ready\n' >"$d/pod-$f.log"; done
    agent -i "$d" -o "$out/idle.jsonl" "$@" 2>/dev/null &
    local pid=$!
    wait_lines "$out/idle.jsonl" 100
    sleep 1
    local c0 c1
    c0=$(cpu $pid)
    sleep "$IDLE"
    c1=$(cpu $pid)
    kill -TERM $pid
    wait $pid
    rm -f "$out/idle.jsonl"
    awk -v a="$c0" -v b="$c1" -v t="$IDLE" 'BEGIN { printf "%.3f%% (%.3f s CPU in %d s)", 100 * (b - a) / t, b - a, t }'
}
echo "idle CPU, 100 followed files, nothing written: inotify $(idle), polling every 0.25 s $(idle --poll 0.25)"

# ---------------------------------------------------- 4. memory per file
rss_with() { # N: VmRSS (KiB) following N files, once all are read
    local d=$out/rss$1
    mkdir -p "$d"
    for f in $(seq 1 "$1"); do printf 'INFO pod %d ready\n' "$f" >"$d/pod-$f.log"; done
    agent -i "$d" -o "$out/rss$1.jsonl" 2>/dev/null &
    local pid=$!
    wait_lines "$out/rss$1.jsonl" "$1"
    sleep 1
    local r
    r=$(rss_kb $pid)
    kill -TERM $pid
    wait $pid
    echo "$r"
}
r10=$(rss_with 10)
r1000=$(rss_with 1000)
echo "resident memory: $r10 KiB following 10 files, $r1000 KiB following 1,000:" \
     "$(awk -v a="$r10" -v b="$r1000" 'BEGIN { printf "%.1f", (b - a) / 990 }') KiB per followed file"
