#!/usr/bin/env bash
# selfcontained.test.sh — the repository stands on its own: no source file,
# script, configuration, help text or document points at a document that is
# not in it, or at a tracker's issue number. A reader of a comment, of
# `logrisk CMD --help` or of docs/ must find what is referred to here.
#
#   bash tests/selfcontained.test.sh [BUILD_DIR]
#
# What is looked for (the patterns are spelled below, in `patterns`):
#   - the name of the product specification kept outside the repository,
#     as a word, and the section sign used to cite its sections;
#   - the file names of the outside design, style and specification notes;
#   - paths into the development machine's shared folder or workspace;
#   - issue or pull-request numbers ("issue 8", "(#12)").
# Where: every tracked file that is code, a script, a configuration or a
# document (by extension: c h S sh py mjs js md yaml yml txt, and Makefile,
# .ci/run), including the README files of the data folders, which may cite
# public addresses (an address such as .../issues/123 is not an issue
# number here: only the forms above are). Not scanned: data (logs, corpora,
# judged events, vocabularies, fuzz corpora, fixtures and golden outputs,
# which are text that logrisk reads, not text that refers to anything),
# except the scripts among them. And the `--help` text of every command of
# BUILD_DIR/logrisk, when it is built.
#
# Also: every relative link of README.md and docs/*.md leads to a file of
# the repository (and a #section to one of its headings).
#
# Exceptions: none. This file is skipped because it has to name what it
# looks for; the test proves it can fail by planting one reference of each
# kind in a scratch file first.
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d /tmp/lr_selfcontained_XXXXXX)
trap 'rm -rf "$tmp"' EXIT

source tests/lib.sh

# One extended regex per kind; `i` in the second field makes it
# case-insensitive. Spelled so that no line of this file matches one.
sect=$'\xc2\xa7'
patterns=(
    "\\bS""PEC\\b|$sect|cs"
    "\\b(S""PEC|ST""YLE|DES""IGN)\\.md\\b|cs"
    "\\.\\./sha""red\\b|/wo""rk/|cs"
    "\\b(iss""ues?|pull requests?|PR)[ ]?#?[0-9]+\\b|\\(#[0-9]+\\)|i"
)

# scan FILE...: prints FILE:LINE:TEXT for every line matching a pattern
scan() {
    local p re mode
    for p in "${patterns[@]}"; do
        mode=${p##*|}
        re=${p%|*}
        if [ "$mode" = i ]; then
            grep -HniE -- "$re" "$@" 2>/dev/null
        else
            grep -HnE -- "$re" "$@" 2>/dev/null
        fi
    done
}

# The files: tracked ones when this is a git checkout, else every file.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files >"$tmp/all"
else
    find . -type f ! -path './.git/*' | sed 's|^\./||' >"$tmp/all"
fi
is_script='\.(c|h|S|sh|py|mjs|js)$'
while IFS= read -r f; do
    [ -f "$f" ] || continue
    case $f in
        tests/selfcontained.test.sh) continue ;;
        tools/node_modules*/*) continue ;;
    esac
    case $f in
        data/* | models/data/* | models/vocab/* | tests/fuzz/corpus/* | tests/fixtures/* | tests/golden/*)
            # data: only their READMEs and the scripts that made them
            if [[ $f =~ (^|/)README[^/]*$ ]] || [[ $f =~ $is_script ]]; then
                echo "$f"
            fi
            continue ;;
    esac
    if [[ $f =~ \.(c|h|S|sh|py|mjs|js|md|yaml|yml|txt)$ ]] || [[ $f =~ (^|/)Makefile$ ]] || [ "$f" = .ci/run ]; then
        echo "$f"
    fi
done <"$tmp/all" >"$tmp/files"
n_files=$(wc -l <"$tmp/files")
check '[ "$n_files" -ge 100 ]' "only $n_files files to scan: the file list is wrong"
for must in README.md include/logrisk.h src/rules.c docs/index.md Makefile; do
    check 'grep -qx "$must" "$tmp/files"' "$must is not scanned"
done

# The test can fail: one planted reference of each kind is found.
printf '%s\n' "see the S""PEC $sect""2" "as ST""YLE.md says" "in ../sha""red/data" \
    "fixed in iss""ue #8" "(#12)" "clean line" >"$tmp/planted.c"
found=$(scan "$tmp/planted.c" | cut -d: -f2 | sort -u | tr '\n' ' ')
check '[ "$found" = "1 2 3 4 5 " ]' "planted references: found lines '$found', expected '1 2 3 4 5 '"

# The repository.
tr '\n' '\0' <"$tmp/files" | xargs -0 bash -c "$(declare -p patterns); $(declare -f scan); scan \"\$@\"" _ \
    | sort -u >"$tmp/hits"
if [ -s "$tmp/hits" ]; then
    bad "references to documents outside the repository or to issue numbers ($(wc -l <"$tmp/hits") lines):"
    head -n 40 "$tmp/hits" | sed 's/^/    /'
else
    ok
fi

# Links between the documents: every relative link of README.md and docs/
# names a file of the repository, and a #section of a Markdown file one of
# its headings (as GitHub makes anchors of them).
cat >"$tmp/links.py" <<'PY'
import os, re, sys
def slug(h):
    h = re.sub(r'[^\w\- ]', '', h.strip().lower())
    return h.replace(' ', '-')
def anchors(path):
    out, seen, code = set(), {}, False
    for line in open(path, encoding='utf-8'):
        if line.startswith('```'):
            code = not code
            continue
        m = None if code else re.match(r'#{1,6}\s+(.*)', line)
        if m:
            s = slug(m.group(1))
            n = seen.get(s, 0)
            seen[s] = n + 1
            out.add(s if n == 0 else f'{s}-{n}')
    return out
for doc in sys.argv[1:]:
    text = re.sub(r'```.*?```', '', open(doc, encoding='utf-8').read(), flags=re.S)
    for m in re.finditer(r'\]\(([^)\s]+)\)', text):
        link = m.group(1)
        if re.match(r'[a-z]+:', link):
            continue
        path, _, frag = link.partition('#')
        target = os.path.normpath(os.path.join(os.path.dirname(doc), path)) if path else doc
        if not os.path.exists(target):
            print(f'{doc}: {link}: no such file')
        elif frag and target.endswith('.md') and frag not in anchors(target):
            print(f'{doc}: {link}: no such section')
PY
printf '# Title\n[a](no-such-file.md) [b](#no-such-section) [c](#title) [d](https://example.org/x)\n' >"$tmp/planted.md"
python3 "$tmp/links.py" "$tmp/planted.md" >"$tmp/links"
check '[ "$(wc -l <"$tmp/links")" -eq 2 ]' "planted broken links: found $(wc -l <"$tmp/links"), expected 2"
python3 "$tmp/links.py" README.md docs/*.md >"$tmp/links"
check '[ ! -s "$tmp/links" ]' "broken links in README.md or docs/: $(head -n 20 "$tmp/links" | tr '\n' ';')"

# The help text of every command.
bin=$build/logrisk
if [ -x "$bin" ]; then
    "$bin" --help >"$tmp/help.txt" 2>&1
    for cmd in $(sed -n 's/^  \([a-z][a-z0-9-]*\)  .*/\1/p' "$tmp/help.txt"); do
        "$bin" "$cmd" --help >>"$tmp/help.txt" 2>&1
    done
    check '[ "$(grep -c . "$tmp/help.txt")" -ge 50 ]' "the help text of $bin is too short to be real"
    hits=$(scan "$tmp/help.txt")
    check '[ -z "$hits" ]' "--help text refers outside the repository: $hits"
else
    echo "note: $bin not built, --help text not checked"
fi

finish
