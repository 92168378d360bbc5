#!/usr/bin/env bash
# Module layering: no two modules include each other, directly or through
# others, and the model is described in one place.
#
#   bash tests/layering.test.sh [BUILD_DIR]   (the build is not used)
#
# A module is a source file's name without its extension (model.c and
# model.h are the module `model`; model_bert.c is its own module); module A
# depends on B when a file of A has `#include "B.h"` and B.h is one of
# ours (src/, src/cli/, convert/). The dependencies must form no cycle
# (tsort finds one); the check is also run on a small tree with a cycle,
# which it must reject, so that it cannot pass by finding nothing.
#
# One description (arch.c): the head types (LR_HEAD_*) are named only in
# the description, and the tensor names (embeddings, encoder layers, head
# prefixes) are spelled out in one source file only, so inference,
# training, conversion and export cannot drift apart.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
tmp=$(mktemp -d /tmp/layering.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# deps DIR...: "A B" lines, A includes B's header (both in the given dirs)
deps() {
    find "$@" -maxdepth 1 -name '*.h' -printf '%f\n' | sort -u >"$tmp/headers"
    find "$@" -maxdepth 1 -name '*.[ch]' | sort | xargs awk -v headers="$tmp/headers" '
        BEGIN { while ((getline h < headers) > 0) ours[h] = 1 }
        /^[ \t]*#[ \t]*include[ \t]*"/ {
            match($0, /"[^"]*"/)
            n = split(substr($0, RSTART + 1, RLENGTH - 2), part, "/")
            h = part[n]
            if (!(h in ours)) next
            from = FILENAME; sub(/.*\//, "", from); sub(/\.[ch]$/, "", from)
            to = h; sub(/\.h$/, "", to)
            if (from != to) print from, to
        }' | sort -u
}

# cycles DIR...: prints the modules on an include cycle; fails when there is one
cycles() {
    local out
    out=$(deps "$@" | tsort 2>&1 >/dev/null)
    [ -z "$out" ] && return 0
    echo "$out" | sed -n 's/^tsort: //p' | grep -v 'input contains a loop' | tr '\n' ' '
    return 1
}

# --- the check rejects a cycle (a -> b -> c -> a) and accepts a chain
mkdir -p "$tmp/cyc" "$tmp/chain"
printf '#include "b.h"\n' >"$tmp/cyc/a.c"
printf '#include "c.h"\n' >"$tmp/cyc/b.h"
printf '#include "a.h"\n' >"$tmp/cyc/c.c"
: >"$tmp/cyc/a.h"
: >"$tmp/cyc/c.h"
if loop=$(cycles "$tmp/cyc"); then
    bad "the cycle check passed a tree with the cycle a -> b -> c -> a"
else
    check '[ -n "$loop" ]' "the cycle check names no module of the cycle"
fi
printf '#include "b.h"\n' >"$tmp/chain/a.c"
printf '#include "c.h"\n#include <stdio.h>\n' >"$tmp/chain/b.c"
: >"$tmp/chain/b.h"
: >"$tmp/chain/c.h"
check 'cycles "$tmp/chain" >/dev/null' "the cycle check rejects a tree without a cycle"

# --- the tree: no cycle
deps src src/cli convert >"$tmp/tree"
n_edges=$(wc -l <"$tmp/tree")
check '[ "$n_edges" -gt 100 ]' "found only $n_edges include dependencies: the scan is broken"
if loop=$(cycles src src/cli convert); then ok; else bad "include cycle between modules: $loop"; fi
# the ones this test was written for, by name
for pair in "model quant" "model train_bert" "model convert"; do
    set -- $pair
    if grep -qx "$1 $2" "$tmp/tree" && grep -qx "$2 $1" "$tmp/tree"; then
        bad "$1 and $2 include each other"
    else
        ok
    fi
done
# arch (the description) and wtype (weight types) sit below the model
for m in arch wtype; do
    up=$(awk -v m="$m" '$1 == m && ($2 ~ /^(model|quant|train|score|onnx|safetensors)/) {print $2}' "$tmp/tree")
    check '[ -z "$up" ]' "$m includes modules above it: $up"
done

# --- one description
types=$(sed -n 's/^ *\(LR_HEAD_[A-Z_]*\) = [0-9].*/\1/p' src/arch.h | paste -sd'|')
check '[ -n "$types" ]' "no head types found in src/arch.h"
heads=$([ -n "$types" ] && grep -lE "\\b($types)\\b" src/*.c src/*.h src/cli/*.c convert/*.c | grep -v '^src/arch\.[ch]$' | tr '\n' ' ')
check '[ -z "$heads" ]' "head types named outside the model description: $heads"
for name in attention.self.query.weight intermediate.dense.bias output.LayerNorm.weight \
    bert.embeddings.word_embeddings.weight bert.embeddings.LayerNorm.bias classifier.4 \
    bert.pooler.dense; do
    files=$(grep -l "\"$name\"" src/*.c src/*.h convert/*.c src/cli/*.c | tr '\n' ' ')
    check '[ "$files" = "src/arch.c " ]' "tensor name $name is spelled in: ${files:-nothing} (only src/arch.c)"
done

finish
