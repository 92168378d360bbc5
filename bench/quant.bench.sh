#!/usr/bin/env bash
# quant.bench.sh — accuracy of the quantized models: the f32 master of
# the built-in model (models/logrisk-mini.f32.lrm) quantized to q8 and
# bf16, scored on the loghub corpus and the sample logs against f32
# (tools/quant_accuracy.sh: argmax agreement,
# mean and max |delta risk_score|, the gates agreement >= 0.99 and mean
# |delta| <= 0.05). Their speed is in engine.bench.sh.
#
#   bash bench/quant.bench.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
[ -x "$build/logrisk" ] || { echo "quant.bench: missing $build/logrisk (run make bench)" >&2; exit 1; }
bash tools/quant_accuracy.sh "$build/logrisk" bench/out/quant
