#!/usr/bin/env bash
# score_templates.test.sh — `logrisk score --templates STATE`: every result
# carries the id of its event's template (the online miner of `logrisk
# templates`), on the tiny model of tests/fixtures/tiny.
#
#   bash tests/score_templates.test.sh BUILD_DIR
#
# Checked: ids are given in order of first appearance and "novel":true only
# on the event that created its template; a second run with the state file
# gives the same ids and no novel; a new message gets the next id;
# --templates-match-only never learns (the state file is byte-identical,
# unknown messages get template_id 0, "template":null); --template-text;
# CSV columns; enriched output (a record's own "template_id" member is
# replaced, not duplicated); several inputs and standard input; --follow
# --state saves the miner at its checkpoints (before SIGTERM) and a kill -9
# followed by a restart keeps every message's id; the scores are the same
# with and without templates; bad use is a one-line error.
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
bin=$build/logrisk
tmp=tests/out/score_templates
PY=/usr/bin/python3
. tests/lib.sh

rm -rf "$tmp"
mkdir -p "$tmp"
if ! msg=$(make_tiny_model "$bin" "$tmp"); then
    bad "convert of the tiny fixture failed: $msg"
    finish
fi
model=$tmp/tiny.lrm
sc() { "$bin" score -m "$model" --threads 1 "$@"; }
# q FILE EXPR: EXPR over r, the JSON objects of FILE's lines, printed as JSON
q() { $PY -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; print(json.dumps(eval(sys.argv[2]), separators=(",",":")))' "$1" "$2"; }

cat >"$tmp/a.log" <<'EOF'
connection refused to 10.0.0.1 port 80
connection refused to 10.0.0.2 port 443
disk pressure on node worker1
user alice logged in
connection refused to 10.0.0.9 port 80
disk pressure on node worker7
user bob logged in
EOF
printf 'kernel panic now\nuser carol logged in\n' >"$tmp/b.log"

# ------------------------------------------------------------ learn, restart
st=$tmp/t.state
sc -i "$tmp/a.log" --templates "$st" >"$tmp/r1.jsonl" 2>"$tmp/err"
rc=$?
got=$(q "$tmp/r1.jsonl" "[(o['template_id'], o.get('novel')) for o in r]")
check '[ $rc -eq 0 ] && [ "$got" = "[[1,true],[1,null],[2,true],[3,true],[1,null],[2,null],[3,null]]" ]' \
    "first run: ids in order of appearance, novel only on the first of each (rc $rc: $got $(cat "$tmp/err"))"
check '[ -s "$st" ]' "first run: the state file is written"
check '! grep -q "\"novel\":false" "$tmp/r1.jsonl"' "novel is left out when false"

sc -i "$tmp/a.log" --templates "$st" >"$tmp/r2.jsonl"
got=$(q "$tmp/r2.jsonl" "[(o['template_id'], o.get('novel')) for o in r]")
check '[ "$got" = "[[1,null],[1,null],[2,null],[3,null],[1,null],[2,null],[3,null]]" ]' \
    "restart with the state: the same ids, none novel ($got)"

# the scores do not depend on the templates
sc -i "$tmp/a.log" >"$tmp/plain.jsonl"
a=$(q "$tmp/plain.jsonl" "[(o['line'], o['risk_score'], o['probabilities']) for o in r]")
b=$(q "$tmp/r2.jsonl" "[(o['line'], o['risk_score'], o['probabilities']) for o in r]")
check '[ "$a" = "$b" ]' "the scores are the same with and without --templates"
check '! grep -q template "$tmp/plain.jsonl"' "without --templates: no template members"

# several inputs: the same template across files, a new one gets the next id
sc -i "$tmp/b.log" -i "$tmp/a.log" --templates "$st" --template-text >"$tmp/r3.jsonl"
got=$(q "$tmp/r3.jsonl" "[(o['file'].split('/')[-1], o['line'], o['template_id'], o.get('novel'), o['template']) for o in r][:3]")
check '[ "$got" = "[[\"b.log\",1,4,true,\"kernel panic now\"],[\"b.log\",2,3,null,\"user <*> logged in\"],[\"a.log\",1,1,null,\"connection refused to <*> port <*>\"]]" ]' \
    "several inputs: file, template_id, novel and template per result ($got)"

# standard input
sc --templates "$st" <"$tmp/b.log" >"$tmp/r4.jsonl"
got=$(q "$tmp/r4.jsonl" "[(o['template_id'], o.get('novel')) for o in r]")
check '[ "$got" = "[[4,null],[3,null]]" ]' "standard input: the ids of the state ($got)"

# ------------------------------------------------------------ match only
cp "$st" "$tmp/before.state"
printf 'user dave logged in\nsomething entirely different happened\n' >"$tmp/c.log"
sc -i "$tmp/c.log" --templates "$st" --templates-match-only --template-text >"$tmp/m.jsonl"
rc=$?
got=$(q "$tmp/m.jsonl" "[(o['template_id'], o.get('novel'), o['template']) for o in r]")
check '[ $rc -eq 0 ] && [ "$got" = "[[3,null,\"user <*> logged in\"],[0,null,null]]" ]' \
    "match only: a known template, and id 0 / template null for an unknown message ($got)"
check 'cmp -s "$st" "$tmp/before.state"' "match only: the state file is not written"
sc -i "$tmp/c.log" --templates "$st" --templates-match-only >/dev/null
sc -i "$tmp/c.log" --templates "$st" --templates-match-only >"$tmp/m2.jsonl"
check 'grep -q "\"template_id\":0" "$tmp/m2.jsonl" && cmp -s "$st" "$tmp/before.state"' \
    "match only, run again: the unknown message is still unknown (nothing learnt)"

# ------------------------------------------------------------ CSV, enrich
sc -i "$tmp/a.log" --templates "$st" --format csv --template-text --echo >"$tmp/r.csv"
hdr=$(head -n 1 "$tmp/r.csv" | tr -d '\r')
row=$(sed -n 2p "$tmp/r.csv" | tr -d '\r')
check '[[ $hdr == *",template_id,novel,template,message" ]] && [[ $row == *",1,false,connection refused to <*> port <*>,connection refused to 10.0.0.1 port 80"* ]]' \
    "CSV: template_id, novel and template columns before message ($hdr / $row)"
rm -f "$tmp/n.state"
sc -i "$tmp/b.log" --templates "$tmp/n.state" --format csv >"$tmp/n.csv"
check '[ "$(cut -d, -f16,17 "$tmp/n.csv" | tr -d "\r" | tr "\n" " ")" = "template_id,novel 1,true 2,true " ]' \
    "CSV: novel is true or false ($(cut -d, -f16,17 "$tmp/n.csv" | tr '\r\n' '  '))"

printf '{"msg":"user erin logged in","template_id":"theirs","level":"info"}\n' >"$tmp/j.log"
sc -i "$tmp/j.log" --templates "$st" -o enrich >"$tmp/e.jsonl"
got=$(q "$tmp/e.jsonl" "[(o['msg'], o['template_id'], o['level']) for o in r]")
check '[ "$got" = "[[\"user erin logged in\",3,\"info\"]]" ] && [ "$(grep -o template_id "$tmp/e.jsonl" | wc -l)" -eq 1 ]' \
    "enrich: the record's members, our template_id replaces the record's own ($got)"

# `logrisk templates` reads the state score wrote
"$bin" templates --state "$st" --list >"$tmp/list.txt" 2>&1
check '[ $? -eq 0 ] && grep -q "kernel panic now" "$tmp/list.txt"' "logrisk templates --list reads the state"

# ------------------------------------------------------------ follow
follow() { exec "$bin" score -m "$model" --threads 1 --follow --interval 0.05 "$@"; }
# wait_for CMD: up to 10 s for CMD to succeed
wait_for() { for _ in $(seq 1 200); do eval "$1" && return 0; sleep 0.05; done; return 1; }
words="alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango"
: >"$tmp/f.log"
rm -f "$tmp/f.state" "$tmp/f.tstate"
follow -i "$tmp/f.log" --state "$tmp/f.state" --templates "$tmp/f.tstate" -o "$tmp/f1.jsonl" 2>"$tmp/err" &
pid=$!
printf 'phase alpha started at step 1\nphase bravo started at step 2\n' >>"$tmp/f.log"
wait_for '[ -s "$tmp/f1.jsonl" ] && [ "$(wc -l <"$tmp/f1.jsonl")" -ge 2 ]'
check 'wait_for "[ -s \"$tmp/f.tstate\" ]"' "--follow: the templates are saved at a checkpoint, before the end"
kill -TERM $pid
wait $pid
rc=$?
got=$(q "$tmp/f1.jsonl" "[(o['template_id'], o.get('novel')) for o in r]")
check '[ $rc -eq 0 ] && [ "$got" = "[[1,true],[2,true]]" ]' "--follow: two templates, then SIGTERM exits 0 ($got, rc $rc)"

# kill -9 mid-stream, restart: every message keeps its id
for i in $(seq 1 1500); do
    set -- $words
    shift $(((i / 75) % 20))
    echo "phase $1 started at step $i"
done >"$tmp/g.log"
rm -f "$tmp/g.state" "$tmp/g.tstate"
follow -i "$tmp/g.log" --batch 8 --state "$tmp/g.state" --templates "$tmp/g.tstate" -o "$tmp/g1.jsonl" 2>"$tmp/err" &
pid=$!
wait_for '[ -s "$tmp/g1.jsonl" ] && [ "$(wc -l <"$tmp/g1.jsonl")" -ge 400 ]'
kill -KILL $pid
wait $pid 2>/dev/null
sc -i "$tmp/g.log" --batch 8 --state "$tmp/g.state" --templates "$tmp/g.tstate" -o "$tmp/g2.jsonl" 2>"$tmp/err"
res=$($PY - "$tmp/g.log" "$tmp/g1.jsonl" "$tmp/g2.jsonl" <<'EOF'
import json, sys
text = open(sys.argv[1]).read().split("\n")
ids = {}
seen = set()
for path in sys.argv[2:]:
    for l in open(path):
        if not l.endswith("\n"):
            continue
        o = json.loads(l)
        seen.add(o["line"])
        ids.setdefault(text[o["line"] - 1].split()[1], set()).add(o["template_id"])
by_id = {}
for w, s in ids.items():
    for i in s:
        by_id.setdefault(i, set()).add(w)
ok = all(len(s) == 1 for s in ids.values()) and all(len(s) == 1 for s in by_id.values())
print(int(ok), len(ids), 1500 - len(seen))
EOF
)
read -r consistent n_words lost <<<"$res"
check '[ "$consistent" = 1 ] && [ "$n_words" = 20 ] && [ "$lost" = 0 ]' \
    "kill -9 then restart: each phase keeps one id (consistent $consistent, $n_words phases, $lost lines lost)"

# ------------------------------------------------------------ errors
stdin=$tmp/a.log run score -m "$model" --template-text
expect "--template-text without --templates: usage error" 2 err "needs --templates"
run score -m "$model" -i "$tmp/a.log" --templates "$tmp/none.state" --templates-match-only
expect "--templates-match-only without a state file: error" 1 err "no template state"
check '[ ! -e "$tmp/none.state" ] && [ ! -s "$tmp/out" ]' "match only without a state: nothing written"
head -c 100 "$st" >"$tmp/cut.state"
run score -m "$model" -i "$tmp/a.log" --templates "$tmp/cut.state"
expect "a damaged state: an error" 1 err "cut.state"
check '[ "$(wc -l <"$tmp/err")" -eq 1 ] && [ "$(wc -c <"$tmp/cut.state")" -eq 100 ]' \
    "a damaged state: one line, the file kept ($(cat "$tmp/err"))"
run score -m "$model" -i "$tmp/a.log" --templates ""
expect "--templates '': usage error" 2 err "--templates must be a non-empty value"

finish
