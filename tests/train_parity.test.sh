#!/usr/bin/env bash
# Training parity against a FRESH PyTorch run (the committed fixture is
# checked by test_optim itself): regenerate the fixture with
# tools/make_train_fixture.py (Debian python3-torch via /usr/bin/python3)
# into a temporary directory, then run test_optim's parity cases on it.
# Also checks that the committed fixture's index lists the same records.
#
#   bash tests/train_parity.test.sh BUILD_DIR
#
# Without python3-torch the suite reports 0 passed, 0 failed (CI installs
# it with tools/deps.sh test).
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
pass=0
fail=0
py=/usr/bin/python3
if ! "$py" -c "import torch" 2>/dev/null; then
    echo "train_parity: python3-torch not available, skipped"
    echo "0 passed, 0 failed"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if "$py" tools/make_train_fixture.py "$tmp" >"$tmp/gen.log" 2>&1; then
    pass=$((pass + 1))
else
    echo "FAIL: tools/make_train_fixture.py"; cat "$tmp/gen.log"; fail=$((fail + 1))
fi

# same records, same sizes as the committed fixture
if diff <(awk '$1 == "tensor" {print $2, $3, $4}' tests/fixtures/train/parity.txt) \
        <(awk '$1 == "tensor" {print $2, $3, $4}' "$tmp/parity.txt") >"$tmp/diff.log"; then
    pass=$((pass + 1))
else
    echo "FAIL: committed fixture index differs from the generator's"; head -20 "$tmp/diff.log"
    fail=$((fail + 1))
fi

if LR_TRAIN_FIXTURE="$tmp" T_VERBOSE=1 "$build/tests/test_optim" parity >"$tmp/c.log" 2>&1; then
    pass=$((pass + 1))
    grep -E "worst" "$tmp/c.log"
else
    echo "FAIL: test_optim parity against the fresh fixture"; tail -20 "$tmp/c.log"
    fail=$((fail + 1))
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
