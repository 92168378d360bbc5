#!/usr/bin/env bash
# make_builtin.sh — the built-in model from its f32 master: the last step
# of tools/make_model.sh, and the whole job when only the master changed.
#
#   bash tools/make_builtin.sh [LOGRISK_BINARY] [MASTER.lrm] [OUT.lrm]
#
# Defaults: build/logrisk, models/logrisk-mini.f32.lrm (the trained model,
# f32, what `make model` writes), models/logrisk-mini.lrm (what the Makefile
# embeds in the CLI). It
# 1. writes OUT as `logrisk quantize -m MASTER --dtype q8` (deterministic:
#    the same master gives the same bytes on any machine and kernel table;
#    tests/builtin_q8.test.sh checks the committed pair);
# 2. evaluates both on the judged test split (`logrisk eval --split test`,
#    2 threads; the rules too) and prints the two rows;
# 3. in OUT's metrics file (OUT without .lrm, plus .metrics.json, written
#    by make_model.sh for the master; created when missing) sets
#    "judged_test" to the evaluation of OUT, "judged_test_f32" to that of
#    the master, "model" and "master" to their paths, and "dtype" to "q8".
#    The other entries (the held-out weak-label table, the training curves)
#    stay as make_model.sh measured them on the master.
# The q8 model ships because it scores about 3 times faster and loses at
# most 0.01 on each figure (Spearman, AUC(>= 7), MAE, ECE, exact, within
# one); this script fails (exit 1) when it loses more, and then writes no
# metrics and leaves the q8 file beside OUT as OUT.rejected.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/logrisk}
master=${2:-models/logrisk-mini.f32.lrm}
out=${3:-models/logrisk-mini.lrm}
py=${PYTHON:-python3}
judged=models/data/judged/judged.jsonl
rules=models/rules/k8s.yaml
metrics=${out%.lrm}.metrics.json
[ -x "$bin" ] || { echo "make_builtin: $bin not built (run make first)" >&2; exit 1; }
[ -s "$master" ] || { echo "make_builtin: no f32 master $master (make model writes it)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lr_make_builtin.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

"$bin" quantize -m "$master" -o "$tmp/q8.lrm" --dtype q8
"$bin" eval -m "$tmp/q8.lrm" --gold "$judged" --split test --rules "$rules" --threads 2 --json >"$tmp/q8.json"
"$bin" eval -m "$master" --gold "$judged" --split test --threads 2 --json >"$tmp/f32.json"
if ! "$py" - "$tmp/q8.json" "$tmp/f32.json" "$metrics" "$out" "$master" <<'EOF'; then
import json, os, sys
q8_p, f32_p, metrics_p, out, master = sys.argv[1:6]
q8, f32 = json.load(open(q8_p)), json.load(open(f32_p))
q8["model"]["name"], f32["model"]["name"] = out, master
keys = ["spearman", "auc_ge7", "mae", "exact", "within_one", "ece"]
a, b = q8["model"]["all"], f32["model"]["all"]
print("| judged test split | " + " | ".join(keys) + " |")
print("| %s (q8) | %s |" % (out, " | ".join("%.4f" % a[k] for k in keys)))
print("| %s (f32) | %s |" % (master, " | ".join("%.4f" % b[k] for k in keys)))
worst = max(keys, key=lambda k: abs(a[k] - b[k]))
print("largest difference: %s %.4f (at most 0.01 to ship q8)" % (worst, abs(a[worst] - b[worst])))
if abs(a[worst] - b[worst]) > 0.01:
    sys.exit(1)
m = json.load(open(metrics_p)) if os.path.exists(metrics_p) else {}
m.update({"model": out, "dtype": "q8", "master": master, "judged_test": q8, "judged_test_f32": f32})
with open(metrics_p + ".tmp", "w") as f:
    json.dump(m, f, indent=1)
    f.write("\n")
os.replace(metrics_p + ".tmp", metrics_p)
EOF
    cp "$tmp/q8.lrm" "$out.rejected"
    echo "make_builtin: the q8 model loses more than 0.01 on a figure: $out not replaced, see $out.rejected" >&2
    exit 1
fi
cp "$tmp/q8.lrm" "$out.tmp"
mv "$out.tmp" "$out"
echo "make_builtin: $out ($(wc -c <"$out") bytes, q8 of $master, $(wc -c <"$master") bytes)"
