#!/usr/bin/env bash
# quant_accuracy.sh — how far a quantized model's scores are from its f32
# original, on real logs: the quantization accuracy gates.
#
#   tools/quant_accuracy.sh LOGRISK OUT_DIR [MODEL.lrm]
#
# Quantizes MODEL (default: models/logrisk-mini.f32.lrm, the f32 master of
# the built-in model, which is itself q8) to q8 and bf16
# with `logrisk quantize`, scores the loghub corpus (14 systems x 2,000
# lines from data/loghub) and models/samples/sample_logs.log with
# all three, and prints per corpus and type: lines, argmax agreement with
# f32, mean and max |delta risk_score|. Gates, on each corpus: agreement
# >= 0.99 and mean |delta| <= 0.05. Exit 1 when a gate fails, 2 on errors.
set -euo pipefail
bin=$1
out=$2
model=${3:-models/logrisk-mini.f32.lrm}
cd "$(dirname "$0")/.."
mkdir -p "$out"
corpus_loghub=$out/loghub.log
cat "$PWD"/data/loghub/*/*_2k.log >"$corpus_loghub"
corpus_samples=models/samples/sample_logs.log

m_args=()
[ -n "$model" ] && m_args=(-m "$model")
"$bin" quantize "${m_args[@]}" -o "$out/q8.lrm" --dtype q8
"$bin" quantize "${m_args[@]}" -o "$out/bf16.lrm" --dtype bf16

status=0
printf '%-8s %-5s %7s %10s %12s %12s  %s\n' corpus dtype lines agreement "mean|d|" "max|d|" gate
for name in loghub samples; do
    corpus=corpus_$name
    corpus=${!corpus}
    # --cache 0: every line through the model (the cache is exact anyway)
    "$bin" score "${m_args[@]}" --format csv --cache 0 -i "$corpus" -o "$out/$name.f32.csv"
    for dt in q8 bf16; do
        "$bin" score -m "$out/$dt.lrm" --format csv --cache 0 -i "$corpus" -o "$out/$name.$dt.csv"
        # the columns are found by name in the header (line, risk_label,
        # risk_score, then the probabilities)
        if ! paste -d, "$out/$name.f32.csv" "$out/$name.$dt.csv" | awk -F, -v corpus="$name" -v dt="$dt" '
            NR == 1 {
                w = NF / 2
                for (i = 1; i <= w; i++) col[$i] = i
                if (!col["line"] || !col["risk_label"] || !col["risk_score"]) {
                    print "no line, risk_label or risk_score column" > "/dev/stderr"; exit 2
                }
                L = col["line"]; R = col["risk_label"]; S = col["risk_score"]
                next
            }
            {
                if ($L != $(w + L)) { print "line mismatch at row " NR > "/dev/stderr"; exit 2 }
                n++; agree += ($R == $(w + R))
                d = $S - $(w + S); if (d < 0) d = -d
                sum += d; if (d > max) max = d
            }
            END {
                if (n == 0) { print "no lines scored" > "/dev/stderr"; exit 2 }
                a = agree / n; m = sum / n
                ok = (a >= 0.99 && m <= 0.05)
                printf "%-8s %-5s %7d %10.4f %12.5f %12.5f  %s\n", corpus, dt, n, a, m, max, ok ? "pass" : "FAIL"
                exit ok ? 0 : 1
            }'; then
            status=1
        fi
    done
done
exit $status
