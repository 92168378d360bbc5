#!/bin/sh
# man.sh BINARY > logrisk.1 — the man page, built from the help texts the
# binary prints (`logrisk --help`, then `logrisk COMMAND --help` for each
# command it lists), so the page cannot say anything the program does not.
# `make man` runs it; `make install` installs the page. Plain POSIX sh and
# sed; roff escapes: a backslash doubled, a leading '.' or '\'' protected.
set -eu
bin=$1
version=$("$bin" version 2>/dev/null | sed -n '1s/^logrisk \([^ ]*\).*/\1/p')
[ -n "$version" ] || version=unknown
top=$("$bin" --help 2>&1) || true
commands=$(printf '%s\n' "$top" | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
[ -n "$commands" ] || { echo "man.sh: '$bin --help' lists no commands" >&2; exit 1; }

# verbatim TEXT: a help text as a no-fill block
verbatim() {
    printf '.nf\n'
    printf '%s\n' "$1" | sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
    printf '.fi\n'
}

printf '.TH LOGRISK 1 "" "logrisk %s" "User Commands"\n' "$version"
printf '.SH NAME\nlogrisk \\- a risk score from 0 (noise) to 10 (outage) for every log line\n'
printf '.SH SYNOPSIS\n.B logrisk\n.I COMMAND\n.RI [ OPTIONS ]\n'
printf '.SH DESCRIPTION\n'
verbatim "$top"
printf '.SH COMMANDS\n'
for c in $commands; do
    printf '.SS %s\n' "$c"
    verbatim "$("$bin" "$c" --help 2>&1 || true)"
done
printf '.SH FILES\n'
printf '.TP\n.I /var/lib/logrisk/state\nthe checkpoint of the node agent (score \\-\\-state), as the systemd unit and the DaemonSet set it\n'
printf '.SH SEE ALSO\nThe docs/ directory of the source: docs/agent.md for the node agent (DaemonSet, systemd, inputs, follow, state, metadata).\n'
