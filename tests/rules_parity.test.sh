#!/usr/bin/env bash
# rules_parity.test.sh BUILD — `logrisk preprocess` / `logrisk label` with
# the built-in rules against tools/reference_rules.py (docs/rules.md written
# in Python with `re`), byte for byte:
#   - every line of the 14 loghub systems and the kubelet journal (JSONL);
#   - the loghub corpus as CSV out, preprocess, and CSV in;
#   - the committed hostile golden files (tests/golden/rules_hostile.*),
#     which need no Python;
#   - 60,000 random hostile lines (near-misses of every mask, invalid UTF-8,
#     NUL, CR) from tests/golden/rules_gen_hostile.py with a fixed seed;
#   - a 5 MB line.
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
# /usr/bin/python3 starts faster than a pyenv shim; any python3 works
py=/usr/bin/python3
[ -x $py ] || py=$(command -v python3)
ref="$py tools/reference_rules.py"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# a private copy, so that a concurrent rebuild of the tree cannot disturb the run
cp "$build/logrisk" "$tmp/logrisk" || { echo "no $build/logrisk; run make first"; echo "0 passed, 1 failed"; exit 1; }
bin=$tmp/logrisk
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# same NAME FILE_A FILE_B: byte-identical, else show the first difference
same() {
    if cmp -s "$2" "$3"; then ok; else
        bad "$1 differs"
        diff "$2" "$3" | head -n 6
    fi
}

# golden files: no Python needed
g=tests/golden/rules_hostile
"$bin" label -i $g.log >"$tmp/g1" && same "golden label jsonl" "$tmp/g1" $g.label.jsonl
"$bin" label --format csv -i $g.log >"$tmp/g2" && same "golden label csv" "$tmp/g2" $g.label.csv
"$bin" preprocess <$g.log >"$tmp/g3" && same "golden preprocess jsonl" "$tmp/g3" $g.preprocess.jsonl

# the committed golden files are what the reference produces today
$ref label -i $g.log >"$tmp/r1" && same "reference vs golden" "$tmp/r1" $g.label.jsonl

# every loghub system and the kubelet journal
logs=(data/loghub/*/*_2k.log data/k8s/kubelet_e2e_2020-03-25.log)
if [ ! -f "${logs[0]}" ]; then bad "no loghub data under data/"; fi
n_lines=0
: >"$tmp/c"
for f in "${logs[@]}"; do
    [ -f "$f" ] || continue
    "$bin" label -i "$f" >"$tmp/one" || bad "logrisk label failed on $f"
    n=$(wc -l <"$tmp/one")
    want=$(awk "END { print NR }" "$f")
    [ "$n" -eq "$want" ] && ok || bad "$(basename "$f"): $n records for $want lines"
    n_lines=$((n_lines + n))
    cat "$tmp/one" >>"$tmp/c"
done
$ref label $(printf -- '-i %q ' "${logs[@]}") >"$tmp/p"
same "label on every loghub system and the kubelet log" "$tmp/c" "$tmp/p"
echo "compared $n_lines real log lines"

cat "${logs[@]}" >"$tmp/all.log"
"$bin" label --format csv -i "$tmp/all.log" >"$tmp/c" && $ref label --format csv -i "$tmp/all.log" >"$tmp/p"
same "label csv (all logs)" "$tmp/c" "$tmp/p"
"$bin" preprocess --format csv -i "$tmp/all.log" >"$tmp/c" && $ref preprocess --format csv -i "$tmp/all.log" >"$tmp/p"
same "preprocess csv (all logs)" "$tmp/c" "$tmp/p"
"$bin" preprocess -i "$tmp/all.log" >"$tmp/c" && $ref preprocess -i "$tmp/all.log" >"$tmp/p"
same "preprocess jsonl (all logs)" "$tmp/c" "$tmp/p"

# CSV in: the logs written as a CSV column by Python's csv module
$py - "$tmp/all.log" "$tmp/all.csv" <<'PY'
import csv, sys
rows = open(sys.argv[1], "rb").read().decode("utf-8", "replace").split("\n")[:-1]
with open(sys.argv[2], "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["n", "message", "extra"])
    for i, r in enumerate(rows):
        w.writerow([i, r, "x,y"])
PY
"$bin" label --input-format csv --column message -i "$tmp/all.csv" >"$tmp/c"
$ref label --input-format csv --column message -i "$tmp/all.csv" >"$tmp/p"
same "label with csv input" "$tmp/c" "$tmp/p"

# random hostile lines
$py tests/golden/rules_gen_hostile.py 1 60000 >"$tmp/h.log"
"$bin" label -i "$tmp/h.log" >"$tmp/c" && $ref label -i "$tmp/h.log" >"$tmp/p"
same "60000 random hostile lines" "$tmp/c" "$tmp/p"

# a 5 MB line (with masks, a level and keywords in it), between two others
$py -c '
import sys
w = sys.stdout.buffer.write
w(b"first\n")
w(b"ERROR " + b"2024-01-15T10:30:45Z 10.0.0.1 /a/b/c pid=42 oomkilled \xff " * 80000 + b"\r\n")
w(b"last")' >"$tmp/big.log"
"$bin" label -i "$tmp/big.log" >"$tmp/c" && $ref label -i "$tmp/big.log" >"$tmp/p"
same "5 MB line" "$tmp/c" "$tmp/p"
[ "$(wc -l <"$tmp/c")" -eq 3 ] && ok || bad "5 MB line: not 3 records"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
