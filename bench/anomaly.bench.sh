#!/usr/bin/env bash
# Sequence anomalies (`logrisk anomaly`, docs/anomalies.md) on the HDFS
# sessions of data/hdfs, with the default model (window 10, 2 x LSTM 64,
# embedding 16, 30 epochs over the distinct windows) and the transformer
# variant (--arch transformer: 2 layers of width 64, 2 heads):
#
#  1. hdfs100k: train on the train split (its labelled anomalies and a
#     held-out tenth of its normal sessions choose the epoch and top-k),
#     then precision, recall and F1 on the test split, beside the best F1
#     any detector of event sequences can reach there
#     (tools/anomaly_bound.py: many anomalous blocks of this sample have
#     exactly the events of normal ones);
#  2. DeepLog's split: train on the first 4,370 of deeplog/hdfs_train (its
#     own held-out tenth chooses k at <= 1% false alarms), recall on the
#     16,838 sessions of deeplog/hdfs_test_abnormal, false alarms on the
#     other 485 normal sessions, and the precision and F1 that false-alarm
#     rate would give on the ~553k normal test sessions DeepLog was
#     evaluated on (not available here);
#  3. speed: training time and windows/s, detection sessions/s and
#     events/s (threads: 2, or BENCH_THREADS).
#
# Published on the full HDFS set (logdeep's benchmark table): DeepLog
# P 0.9583 R 0.9330 F1 0.9454; LogAnomaly P 0.9690 R 0.9825 F1 0.9757.
#
#   bench/anomaly.bench.sh BUILD_DIR
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
threads=${BENCH_THREADS:-2}
tmp=$(mktemp -d /tmp/lr_anomaly_bench_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
[ -x "$build/logrisk" ] || { echo "build $build/logrisk first"; exit 1; }
cp "$build/logrisk" "$tmp/logrisk" || exit 1
bin=$tmp/logrisk
jsonl=data/hdfs/hdfs100k_sessions.jsonl
now() { date +%s.%N; }
secs() { echo "$1 $2" | awk '{printf "%.1f", $2 - $1}'; }
metric() { sed -n "s/.*$1 \([0-9.]*\).*/\1/p" "$2" | tail -n 1; }

head -n 4370 data/hdfs/deeplog/hdfs_train >"$tmp/train_keys"
tail -n +4371 data/hdfs/deeplog/hdfs_train >"$tmp/normal_keys"

# BENCH_ARCHS: the networks to measure (default both; the LSTM is the default)
for arch in ${BENCH_ARCHS:-lstm transformer}; do
    echo "== $arch: hdfs100k (deep-loglizer's split of the first 100k HDFS lines)"
    t0=$(now)
    "$bin" anomaly train -i "$jsonl" --split train -o "$tmp/h100.lrm" --threads "$threads" --arch "$arch" 2>"$tmp/train.log" ||
        { cat "$tmp/train.log"; exit 1; }
    t1=$(now)
    grep -E '^[0-9]+ sessions:|^kept epoch|^chose top-k' "$tmp/train.log"
    k=$(sed -n 's/^chose top-k \([0-9]*\).*/\1/p' "$tmp/train.log")
    grep -E "^held out: top-k +$k " "$tmp/train.log"
    windows=$(sed -n 's/.*(\([0-9]*\) windows, \([0-9]*\) distinct, \([0-9]*\) per epoch.*/\3/p' "$tmp/train.log")
    epochs=$(grep -c '^epoch ' "$tmp/train.log")
    echo "train: $(secs "$t0" "$t1") s for $epochs epochs of $windows windows" \
         "($(echo "$windows $epochs $t0 $t1" | awk '{printf "%.0f", $1 * $2 / ($4 - $3)}') windows/s, $threads threads)"
    t0=$(now)
    "$bin" anomaly detect -m "$tmp/h100.lrm" -i "$jsonl" --split test --threads "$threads" -q 2>"$tmp/detect.log" ||
        { cat "$tmp/detect.log"; exit 1; }
    t1=$(now)
    cat "$tmp/detect.log"
    echo "test split: precision $(metric precision "$tmp/detect.log") recall $(metric recall "$tmp/detect.log")" \
         "F1 $(metric F1 "$tmp/detect.log") (goal 0.95; DeepLog 0.9454 and LogAnomaly 0.9757 on full HDFS)"
    python3 tools/anomaly_bound.py "$jsonl" test | sed 's/^/ceiling: /'
    sessions=$(sed -n 's/^\([0-9]*\) sessions.*/\1/p' "$tmp/detect.log")
    echo "detect: $(secs "$t0" "$t1") s for $sessions sessions (load and read included)"

    echo "== $arch: DeepLog's HDFS keys (wuyifan18/DeepLog)"
    t0=$(now)
    "$bin" anomaly train --format keys -i "$tmp/train_keys" -o "$tmp/dl.lrm" --threads "$threads" --arch "$arch" 2>"$tmp/dtrain.log" ||
        { cat "$tmp/dtrain.log"; exit 1; }
    t1=$(now)
    grep -E '^[0-9]+ sessions:|^kept epoch|^chose top-k|^held out' "$tmp/dtrain.log"
    echo "train: $(secs "$t0" "$t1") s"
    t0=$(now)
    "$bin" anomaly detect --format keys --label 1 -m "$tmp/dl.lrm" -i data/hdfs/deeplog/hdfs_test_abnormal \
        --threads "$threads" -q 2>"$tmp/dab.log" || { cat "$tmp/dab.log"; exit 1; }
    t1=$(now)
    "$bin" anomaly detect --format keys --label 0 -m "$tmp/dl.lrm" -i "$tmp/normal_keys" \
        --threads "$threads" -q 2>"$tmp/dno.log" || { cat "$tmp/dno.log"; exit 1; }
    recall=$(metric recall "$tmp/dab.log")
    n_ab=$(sed -n 's/^\([0-9]*\) sessions.*/\1/p' "$tmp/dab.log")
    n_no=$(sed -n 's/^\([0-9]*\) sessions.*/\1/p' "$tmp/dno.log")
    fp=$(sed -n 's/^[0-9]* sessions, \([0-9]*\) anomalous.*/\1/p' "$tmp/dno.log")
    events=$(awk '{n += NF} END {print n}' data/hdfs/deeplog/hdfs_test_abnormal)
    echo "abnormal: recall $recall on $n_ab sessions; normal held back: $fp of $n_no flagged"
    echo "$recall $fp $n_no $n_ab" | awk '{fpr = $2 / $3; tp = $1 * $4; fpn = fpr * 553366;
        p = tp / (tp + fpn); f = 2 * p * $1 / (p + $1);
        printf "at the full set'"'"'s 553,366 normal sessions that false-alarm rate (%.4f) gives precision %.4f, F1 %.4f (DeepLog 0.9583 / 0.9454)\n", fpr, p, f}'
    echo "detect: $(secs "$t0" "$t1") s for $n_ab sessions, $events events" \
         "($(echo "$n_ab $events $t0 $t1" | awk '{printf "%.0f sessions/s, %.0f events/s", $1 / ($4 - $3), $2 / ($4 - $3)}'))"
done
