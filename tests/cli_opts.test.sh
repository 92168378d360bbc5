#!/usr/bin/env bash
# cli_opts.test.sh BUILD — the table-driven option parser (src/cli/opts.c)
# seen from the command line of every command that uses it: --help on
# stdout (exit 0) whose synopsis names only options of the list below it
# and every one of them, reproduced as is in docs/cli.md; usage errors (unknown option, missing value, bad
# number or word, option given twice, flag given a value, stray argument)
# as exactly one line on stderr naming the problem, with the hint
# "try 'logrisk CMD --help'", exit 2 and nothing on stdout.
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d /tmp/lr_cli_opts_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
bin=$build/logrisk
source tests/lib.sh

# The commands on the parser; a command that moves to it joins the list
# (a subcommand's words are split where the command is run: "anomaly train").
commands=(tokenize vocab inspect eval calibrate export quantize train pretrain score preprocess label convert
    serve templates "anomaly train" "anomaly detect")

# usage_error NAME CMD PATTERN ARGS...: `logrisk CMD ARGS` exits 2 with one
# stderr line "logrisk CMD: <PATTERN>; try 'logrisk CMD --help'", no stdout
usage_error() {
    local name=$1 cmd=$2 pattern=$3
    shift 3
    # shellcheck disable=SC2086 # "anomaly train" is two words
    run $cmd "$@"
    expect "$name" 2 err "^logrisk $cmd: $pattern; try 'logrisk $cmd --help'\$"
    [ "$(wc -l <"$tmp/err")" -eq 1 ] && ok || bad "$name: $(wc -l <"$tmp/err") lines on stderr: $err"
    [ -z "$out" ] && ok || bad "$name: wrote to stdout: ${out:0:200}"
}

# shellcheck disable=SC2086 # $cmd unquoted below: "anomaly train" is two words
for cmd in "${commands[@]}"; do
    run $cmd --help
    expect "$cmd --help" 0 out "^usage: logrisk $cmd"
    [ -z "$err" ] && ok || bad "$cmd --help wrote to stderr: $err"
    run $cmd -h
    expect "$cmd -h" 0 out "^usage: logrisk $cmd"
    # the synopsis (up to the first blank line) against the option list
    # (lines "  -x, --name META  help"): the same options both ways
    "$bin" $cmd --help | sed '/^$/q' | grep -oE -- '(^|[[ ])--?[a-z][a-z0-9-]*' | tr -d '[ ' | sort -u >"$tmp/syn"
    "$bin" $cmd --help | grep -E '^  -' | grep -oE -- '^  -[a-z](, --[a-z0-9-]+)?|^  --[a-z0-9-]+' |
        tr ',' '\n' | tr -d ' ' | grep -vxE -- '-h|--help' | sort -u >"$tmp/list"
    while read -r opt; do
        grep -qx -- "$opt" "$tmp/list" && ok || bad "$cmd: the synopsis names $opt, which is not in its option list"
    done <"$tmp/syn"
    # each listed option is in the synopsis by one of its names
    "$bin" $cmd --help | grep -E '^  -' | grep -oE -- '^  -[a-z](, --[a-z0-9-]+)?|^  --[a-z0-9-]+' |
        grep -vE -- '--help' | while read -r names; do
        found=0
        for n in $(tr ',' ' ' <<<"$names"); do grep -qx -- "$n" "$tmp/syn" && found=1; done
        [ $found -eq 1 ] && echo ok || echo "bad $cmd: option $names is not in the synopsis"
    done >"$tmp/both"
    while read -r verdict rest; do
        if [ "$verdict" = ok ]; then ok; else bad "$rest"; fi
    done <"$tmp/both"
    [ -s "$tmp/syn" ] && [ -s "$tmp/list" ] && ok || bad "$cmd --help: no options found in synopsis or list"
    usage_error "$cmd unknown option" "$cmd" "unknown option '--bogus'" --bogus
    usage_error "$cmd unknown --name=value" "$cmd" "unknown option '--bogus'" --bogus=1
done

# docs/cli.md reproduces each command's --help exactly: the fenced block
# under its "### `logrisk CMD`" heading, or for a subcommand under the line
# "`logrisk CMD SUB --help`:"; `anomaly --help` lists the subcommands
for cmd in "${commands[@]}" anomaly; do
    awk -v head="### \`logrisk $cmd\`" -v sub_head="\`logrisk $cmd --help\`:" '
        $0 == head || $0 == sub_head { in_sec = 1; next }
        in_sec && /^#/ { exit }
        in_sec && /^```/ { if (in_blk) exit; in_blk = 1; next }
        in_blk { print }' docs/cli.md >"$tmp/doc"
    "$bin" $cmd --help >"$tmp/help"
    if [ -s "$tmp/doc" ] && cmp -s "$tmp/doc" "$tmp/help"; then ok; else
        bad "docs/cli.md's block for $cmd is not its --help: $(diff "$tmp/doc" "$tmp/help" | head -n 6)"
    fi
done

# a value missing at the end of the line, per command
usage_error "serve missing value" serve "option '--listen' needs a value" -m x --listen
usage_error "anomaly train missing value" "anomaly train" "option '--epochs' needs a value" -o x --epochs
usage_error "anomaly detect missing value" "anomaly detect" "option '-m' needs a value" -m
usage_error "tokenize missing value" tokenize "option '--vocab' needs a value" --vocab
usage_error "vocab missing value" vocab "option '--size' needs a value" -i a -o b --size
usage_error "eval missing value" eval "option '-m' needs a value" --gold g -m
usage_error "calibrate missing value" calibrate "option '--threads' needs a value" --gold g -o x --threads
usage_error "export missing value" export "option '--onnx' needs a value" -m x --onnx
usage_error "quantize missing value" quantize "option '--dtype' needs a value" -o x --dtype
usage_error "train missing value" train "option '--config' needs a value" --config
usage_error "pretrain missing value" pretrain "option '-o' needs a value" --config c -o

# bad numbers and words, named with the option as written
usage_error "tokenize bad number" tokenize "--max-len must be an integer in 2..65536, not 'x'" --vocab v --max-len x
usage_error "tokenize number out of range" tokenize "--max-len must be an integer in 2..65536, not '65537'" \
    --vocab v --max-len 65537
usage_error "tokenize --name=value number" tokenize "--max-len must be an integer in 2..65536, not '1'" \
    --vocab v --max-len=1
usage_error "vocab bad number" vocab "--size must be an integer in 11..1000000, not '12x'" -i a -o b --size 12x
usage_error "vocab bad min-freq" vocab "--min-freq must be an integer in 1..1000000000, not '0'" \
    -i a -o b --size 100 --min-freq 0
usage_error "eval bad number" eval "--threads must be an integer in 1..256, not '2.5'" --gold g --threads 2.5
usage_error "calibrate bad number" calibrate "--threads must be an integer in 1..256, not ''" --gold g -o x --threads=
usage_error "export bad opset" export "--opset must be 14 or 17, not '13'" -m x --onnx y --opset 13
usage_error "quantize bad dtype" quantize "--dtype must be q8 or bf16, not 'int4'" -o x --dtype int4
usage_error "tokenize bad format" tokenize "--input-format must be auto, raw, cri, docker, jsonl, csv, logfmt, klog, syslog or log4j, not 'xml'" \
    --vocab v --input-format xml
usage_error "vocab bad multiline" vocab "--multiline must be on or off, not 'yes'" -i a -o b --size 100 --multiline yes

usage_error "serve bad number" serve "--threads must be an integer in 1..256, not '0'" --threads 0
usage_error "serve bad timeout" serve "--timeout must be a number in 0.01..86400, not '0'" --timeout 0
usage_error "serve bad drain-timeout" serve "--drain-timeout must be a number in 0..86400, not '-1'" \
    --drain-timeout=-1
usage_error "serve bad cache" serve "--cache must be an integer in 0..4194304, not '4194305'" --cache 4194305
usage_error "serve bad max-queue" serve "--max-queue must be a whole number in 1..1000000000, not '1.5'" \
    --max-queue 1.5
usage_error "serve bad max-body" serve "--max-body must be a whole number of bytes in 1..1073741824, not '2e9'" \
    --max-body 2e9
# --max-queue and --max-body take 1e6 as they always have: the values pass,
# and the parser, storing as it goes, stops only at the unknown option
usage_error "serve accepts 1e6" serve "unknown option '--bogus'" --max-queue 1e6 --max-body=8e6 --bogus
usage_error "serve flag with a value" serve "option '--no-verify' takes no value" --no-verify=1
usage_error "anomaly train bad number" "anomaly train" "--window must be an integer in 1..64, not '65'" \
    -o x --window 65
usage_error "anomaly detect bad word" "anomaly detect" "--format must be jsonl, keys or lines, not 'csv'" \
    -m x --format csv
usage_error "anomaly train required" "anomaly train" "-o OUT.lrm is required"
usage_error "anomaly no subcommand" anomaly "no subcommand \(train or detect\)"
usage_error "anomaly unknown subcommand" anomaly "unknown subcommand 'frob' \(train or detect\)" frob
run anomaly --help
expect "anomaly --help lists the subcommands" 0 out '^  detect +'
grep -qE '^  train +' "$tmp/out" && ok || bad "anomaly --help does not list train: $out"

# required options, given twice, flags with a value, stray arguments
usage_error "tokenize required" tokenize "--vocab VOCAB.txt is required"
usage_error "vocab required" vocab "--size N is required" -i a -o b
usage_error "export required" export "--onnx OUT.onnx is required" -m x
usage_error "quantize required choice" quantize "--dtype is required \(q8 or bf16\)" -o x
usage_error "train required" train "--config TRAIN.yaml is required"
usage_error "given twice" vocab "option '-o' given twice" -i a -o b -o c --size 100
usage_error "given twice, both spellings" eval "option '--model' given twice" --gold g -m a --model b
usage_error "flag with a value" inspect "option '--json' takes no value" --json=yes x.lrm
usage_error "stray argument" tokenize "unexpected argument 'extra'" --vocab v extra
usage_error "inspect two files" inspect "one model file at a time" a.lrm b.lrm
usage_error "inspect no file" inspect "no model file given" --json
usage_error "inspect file and builtin" inspect "a model file or --builtin, not both" --builtin a.lrm
usage_error "tokenize exclusive" tokenize "--rules and --no-mask exclude each other" --vocab v --rules r --no-mask

# what is accepted: --name=value, the long and short spellings, '--' before
# an argument that starts with '-', '-' as an argument
vocab=models/vocab/logs-8k.txt
printf 'disk full on node\n' >"$tmp/in.log"
run tokenize --vocab="$vocab" --input="$tmp/in.log" --max-len=4
expect "--name=value" 0 out '^\{"tokens":\["\[CLS\]","disk","full","\[SEP\]"\]'
stdin=$tmp/in.log run tokenize --vocab "$vocab" -i - -o "$tmp/o.jsonl"
[ "$rc" -eq 0 ] && grep -q '"full","on","node"' "$tmp/o.jsonl" && ok || bad "-i - -o FILE: rc $rc, $(cat "$tmp/o.jsonl")"
cp "$tmp/in.log" "$tmp/-odd.lrm"
abs_bin=$(cd "$(dirname "$bin")" && pwd)/logrisk
(cd "$tmp" && "$abs_bin" inspect -- -odd.lrm >/dev/null 2>"$tmp/err2")
r=$?
[ $r -eq 1 ] && grep -q "not an .lrm model file" "$tmp/err2" && ok || bad "'--' then -odd.lrm: exit $r, $(cat "$tmp/err2")"

# version has no options, and says so
run version --help
expect "version --help" 0 out '^usage: logrisk version$'
usage_error "version unknown option" version "unknown option '--bogus'" --bogus
run version
expect "version" 0 out '^logrisk [0-9]+\.[0-9]+\.[0-9]+ \(kernels: '

# the top level: an unknown command is one line too
run frobnicate
expect "unknown command" 2 err "^logrisk: unknown command 'frobnicate'; try 'logrisk --help'\$"
[ "$(wc -l <"$tmp/err")" -eq 1 ] && ok || bad "unknown command: $(wc -l <"$tmp/err") lines"

finish
