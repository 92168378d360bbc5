# tests/lib.sh — sourced by the script suites (tests/*.test.sh) after they
# cd to the repository root: the pass/fail counters that end in the
# `N passed, N failed` line tests/run.sh reads, and the tiny test model.

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit; }
# need_bin: a suite whose $bin was not built ends here with one failure
need_bin() { [ -x "$bin" ] || { bad "$bin not built"; finish; }; }
# wait_lines FILE N [SECONDS]: until FILE has N lines (at most SECONDS, 10)
wait_lines() {
    local i
    for i in $(seq 1 $((${3:-10} * 20))); do
        [ "$({ wc -l <"$1"; } 2>/dev/null || echo 0)" -ge "$2" ] && return 0
        sleep 0.05
    done
    return 1
}

# run ARGS...: runs "$bin" ARGS (the suite sets bin and its temp dir tmp)
# with standard input from the file $stdin (default /dev/null); sets rc and
# the captured out and err
run() {
    "$bin" "$@" <"${stdin:-/dev/null}" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    out=$(cat "$tmp/out")
    err=$(cat "$tmp/err")
}

# expect NAME RC STREAM PATTERN: the last run exited RC and STREAM (out or
# err) matches the extended regex PATTERN
expect() {
    local name=$1 want_rc=$2 stream=$3 pattern=$4 text
    if [ "$stream" = out ]; then text=$out; else text=$err; fi
    if [ "$rc" -ne "$want_rc" ]; then
        bad "$name: exit $rc, expected $want_rc (stderr: $err)"
    elif ! grep -qE -- "$pattern" <<<"$text"; then
        bad "$name: std$stream does not match /$pattern/: ${text:0:300}"
    else
        ok
    fi
}

# make_tiny_model BIN OUT: converts the tiny random BERT
# (tests/fixtures/tiny: vocab 512, H32, 2 layers) with a generated
# 512-line vocabulary (specials, masks, log words, letters with ## forms,
# punctuation, fillers) into OUT/tiny.lrm; the vocabulary is OUT/tiny/vocab.txt.
# Returns non-zero, with the converter's message on stdout, on failure.
make_tiny_model() {
    local bin=$1 out=$2 tiny=tests/fixtures/tiny
    mkdir -p "$out/tiny"
    cp "$tiny/model.safetensors" "$tiny/config.json" "$out/tiny/" || return 1
    {
        echo "[PAD]"
        for i in $(seq 0 98); do echo "[unused$i]"; done
        printf '%s\n' "[UNK]" "[CLS]" "[SEP]" "[MASK]" "<TIME>" "<ID>" "<IP>" "<PID>" "<PATH>"
        for w in error warn info debug fatal failed connection refused kubelet pod node disk \
                 pressure timeout panic kernel memory out of to the a is not ready image pull back off; do
            echo "$w"
        done
        for c in a b c d e f g h i j k l m n o p q r s t u v w x y z 0 1 2 3 4 5 6 7 8 9; do
            echo "$c"; echo "##$c"
        done
        for c in '.' ',' ':' ';' '-' '_' '/' '=' '[' ']' '(' ')' '"' "'" '<' '>' '!' '?' '*' '#' '@' '%' '&' '+'; do
            echo "$c"
        done
        i=0
        while [ $i -lt 512 ]; do echo "filler$i"; i=$((i + 1)); done
    } | head -n 512 >"$out/tiny/vocab.txt"
    if ! "$bin" convert --from-safetensors "$out/tiny" -o "$out/tiny.lrm" >"$out/convert.log" 2>&1; then
        cat "$out/convert.log"
        return 1
    fi
}
