#!/usr/bin/env bash
# serve.bench.sh — `logrisk serve` under HTTP load (wrk, loopback) beside
# `logrisk score` on the same lines in the same run.
#
#   bash bench/serve.bench.sh [BUILD_DIR]
#   DURATION=5 SOAK=120 THREADS=2 bash bench/serve.bench.sh build
#
# Model: the one built into BUILD_DIR/logrisk (the default model). Lines:
# the first 250 of each loghub 2k log (data/loghub; not BGL or
# Thunderbird), both sides with --cache 0 so that every line reaches the
# model.
# 1. `score` over the lines: its batch throughput (lines/s), the reference.
# 2. `serve` with text/plain bodies of 1 and 100 lines at concurrency 1, 8
#    and 64 (wrk --latency, DURATION seconds each): records/s, p50 and p99
#    latency, non-2xx answers; GET /health at 8 clients (the HTTP side
#    alone); the goals: 8 clients x 100 records at least
#    0.8 x score's lines/s, and 1 record per request at concurrency 8 with
#    p99 under 50 ms.
# 3. A soak: 8 clients x 10 records for SOAK seconds, the server's RSS
#    sampled every 10 s (flat = no growth beyond the first samples).
# Numbers from a shared, loaded machine vary from run to run: compare the
# ratios, which are measured side by side. A run whose requests take longer
# than DURATION shows 0 records/s (nothing was answered within it): give a
# longer DURATION on a slow machine. Between runs the server is let finish
# what is still queued.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
out=bench/out/serve
THREADS=${THREADS:-2}
DURATION=${DURATION:-5}
SOAK=${SOAK:-120}
bin=$build/logrisk
[ -x "$bin" ] || { echo "serve.bench: missing $bin" >&2; exit 1; }
command -v wrk >/dev/null || { echo "serve.bench: wrk is missing (bash tools/deps.sh bench)" >&2; exit 1; }
command -v curl >/dev/null || { echo "serve.bench: curl is missing (bash tools/deps.sh test)" >&2; exit 1; }
mkdir -p "$out"
now() { date +%s.%N; }

corpus=$out/corpus.log
for f in data/loghub/*/*_2k.log; do
    case $f in *BGL* | *Thunderbird*) continue ;; esac
    head -n 250 "$f"
done >"$corpus"
n=$(wc -l <"$corpus")

# 1. score, the reference (twice; the faster run counts)
best=0
for _ in 1 2; do
    t0=$(now)
    "$bin" score --threads "$THREADS" --cache 0 --input-format raw -i "$corpus" -o /dev/null
    t1=$(now)
    r=$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }')
    best=$(awk -v a="$best" -v b="$r" 'BEGIN { print (b > a ? b : a) }')
done
echo "score: $n lines, $best lines/s ($THREADS threads, cache off, --input-format raw)"

# 2. serve under wrk
"$bin" serve --threads "$THREADS" --cache 0 --listen 127.0.0.1:0 --max-queue 100000 2>"$out/serve.err" &
spid=$!
trap 'kill "$spid" 2>/dev/null || true' EXIT
addr=
for _ in $(seq 1 200); do
    addr=$(sed -n 's/^logrisk serve: listening on //p' "$out/serve.err" 2>/dev/null || true)
    [ -n "$addr" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/health")" = 200 ] && break
    sleep 0.05
done
[ -n "$addr" ] || { echo "serve.bench: the server did not start: $(cat "$out/serve.err")" >&2; exit 1; }
cat >"$out/body.lua" <<'EOF'
-- text/plain bodies of RECS lines taken in turn from CORPUS (raw format,
-- so each line is one record, as in the score run)
local n = tonumber(os.getenv("RECS") or "1")
local lines = {}
for l in io.lines(os.getenv("CORPUS")) do lines[#lines + 1] = l end
local i = 0
request = function()
    local t = {}
    for k = 1, n do
        i = i % #lines + 1
        t[k] = lines[i]
    end
    return wrk.format("POST", "/v1/score?format=raw", {["Content-Type"] = "text/plain"}, table.concat(t, "\n") .. "\n")
end
EOF
# wait until the server has answered everything (wrk stops sending at its
# duration, but what it sent stays queued), so runs do not overlap
idle() {
    for _ in $(seq 1 1200); do
        [ "$(curl -s "http://$addr/metrics" | awk '$1 == "logrisk_requests_in_flight" { print $2 }')" = 0 ] && return 0
        sleep 0.25
    done
}
# ms from wrk's "50%  1.23ms" style figures
ms() { awk -v v="$1" 'BEGIN { u = v; sub(/[0-9.]+/, "", u); x = v + 0; if (u == "us") x /= 1000; else if (u == "s") x *= 1000; else if (u == "m") x *= 60000; printf "%.2f", x }'; }
declare -A rps p99s
for recs in 1 100; do
    for c in 1 8 64; do
        t=$((c < 2 ? c : 2))
        RECS=$recs CORPUS=$corpus wrk -t "$t" -c "$c" -d "${DURATION}s" --timeout 60s --latency -s "$out/body.lua" "http://$addr" >"$out/wrk_${recs}_${c}.txt" 2>&1 || true
        idle
        req=$(awk '/^Requests\/sec:/ { print $2 }' "$out/wrk_${recs}_${c}.txt")
        p50=$(awk '$1 == "50%" { print $2 }' "$out/wrk_${recs}_${c}.txt")
        p99=$(awk '$1 == "99%" { print $2 }' "$out/wrk_${recs}_${c}.txt")
        non=$(awk '/Non-2xx/ { print $NF }' "$out/wrk_${recs}_${c}.txt")
        r=$(awk -v q="${req:-0}" -v n="$recs" 'BEGIN { printf "%.1f", q * n }')
        rps[$recs,$c]=$r
        p99s[$recs,$c]=$(ms "${p99:-0ms}")
        printf 'serve: %3d records/request, concurrency %2d: %8s records/s, p50 %7s ms, p99 %7s ms, non-2xx %s\n' \
            "$recs" "$c" "$r" "$(ms "${p50:-0ms}")" "${p99s[$recs,$c]}" "${non:-0}"
    done
done
# the HTTP side alone: GET /health at 8 clients (no model, no queue)
wrk -t 2 -c 8 -d "${DURATION}s" --timeout 60s --latency "http://$addr/health" >"$out/wrk_health.txt" 2>&1 || true
printf 'serve: GET /health, concurrency  8: %8s requests/s, p50 %7s ms, p99 %7s ms (the HTTP side without the model)\n' \
    "$(awk '/^Requests\/sec:/ { print $2 }' "$out/wrk_health.txt")" \
    "$(ms "$(awk '$1 == "50%" { print $2 }' "$out/wrk_health.txt")")" "$(ms "$(awk '$1 == "99%" { print $2 }' "$out/wrk_health.txt")")"
ratio=$(awk -v a="${rps[100,8]}" -v b="$best" 'BEGIN { printf "%.2f", a / b }')
echo "goal 8 clients x 100 records >= 0.8 x score: ${rps[100,8]} / $best = $ratio ($(awk -v r="$ratio" 'BEGIN { print (r >= 0.8 ? "met" : "NOT met") }'))"
echo "goal 1 record/request at concurrency 8, p99 < 50 ms: ${p99s[1,8]} ms ($(awk -v p="${p99s[1,8]}" 'BEGIN { print (p < 50 ? "met" : "NOT met") }'))"
curl -s "http://$addr/metrics" >"$out/metrics.txt"
awk '/^logrisk_batch_round_records_(sum|count)|^logrisk_model_batch(es|_lines)_total/ { v[$1] = $2 }
     END { if (v["logrisk_batch_round_records_count"] > 0 && v["logrisk_model_batches_total"] > 0)
             printf "batching: %.1f records per batcher round, %.1f lines per model call\n",
                    v["logrisk_batch_round_records_sum"] / v["logrisk_batch_round_records_count"],
                    v["logrisk_model_batch_lines_total"] / v["logrisk_model_batches_total"] }' "$out/metrics.txt"

# 3. soak: RSS over SOAK seconds of 8 clients x 10 records
idle
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$spid/status"; }
samples="$(rss)"
RECS=10 CORPUS=$corpus wrk -t 2 -c 8 -d "${SOAK}s" --timeout 60s -s "$out/body.lua" "http://$addr" >"$out/wrk_soak.txt" 2>&1 &
wpid=$!
for _ in $(seq 1 $((SOAK / 10))); do
    sleep 10
    samples="$samples $(rss)"
done
wait "$wpid" || true
samples="$samples $(rss)"
soak_r=$(awk '/^Requests\/sec:/ { printf "%.1f", $2 * 10 }' "$out/wrk_soak.txt")
echo "soak: ${SOAK}s of 8 clients x 10 records, $soak_r records/s; RSS (KiB) every 10 s: $samples"
awk -v s="$samples" 'BEGIN { n = split(s, a, " "); m = a[2]; for (i = 2; i <= n; i++) if (a[i] > m) m = a[i];
     printf "soak: RSS after the first 10 s %d KiB, highest after %d KiB (%+.1f%%)\n", a[2], m, 100 * (m - a[2]) / a[2] }'
kill -TERM "$spid"
wait "$spid" || true
trap - EXIT
