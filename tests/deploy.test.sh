#!/usr/bin/env bash
# deploy.test.sh — deploy/: the Dockerfile, the DaemonSet manifest, the
# systemd unit and the man page, without a docker daemon or a cluster.
#
#  - Dockerfile: its final stage is `FROM scratch` with one COPY of
#    `make static`'s binary and that binary as ENTRYPOINT. The image's
#    layout is rebuilt as a directory (the static binary, linked here with
#    the model inside, at the same path) with a fake /var/log of a node: a
#    pod's CRI log under /var/log/pods, the kubelet's absolute symlink to it
#    in /var/log/containers, the agent's own log beside it.
#  - DaemonSet: parsed with deploy/yamlpaths.c (libyaml; no Python YAML
#    module needed): kind, selector = template labels, image, requests and
#    limits, read-only root file system, no privilege escalation, not
#    privileged; every mount at its host path (the symlinks are absolute
#    host paths), the log mounts read-only, the inputs and the state file
#    under mounts, the agent's own log excluded. Its arguments are then run
#    as the container would run them, in the image directory with chroot
#    (root in CI; else `unshare -r`): enriched lines with the pod's
#    metadata, not its own log, SIGTERM exits 0 with the state written on
#    the state mount, a restart writes nothing again.
#  - systemd unit: ExecStart is the binary `make install` puts in
#    /usr/local/bin, its state under StateDirectory, SIGTERM to stop; its
#    command runs in the same directory tree.
#  - man page: `make man` builds it from the help texts, groff reads it
#    without a warning, `make install` installs it beside the binary.
#
#   bash tests/deploy.test.sh BUILD_DIR
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
bin=$build/logrisk
PY=/usr/bin/python3
. tests/lib.sh
skip_or_fail() {
    if [ "${CI:-}" = true ]; then bad "$1"; else echo "deploy: SKIPPED: $1" >&2; fi
}
unset MAKEFLAGS MFLAGS MAKELEVEL

tmp=$(mktemp -d /tmp/lr_deploy_test.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT

# ------------------------------------------------------------- manifests
if ! cc -std=c11 -Wall -Wextra -Werror -o "$tmp/yamlpaths" deploy/yamlpaths.c -lyaml 2>"$tmp/cc.err"; then
    bad "deploy/yamlpaths.c does not build: $(cat "$tmp/cc.err")"
    finish
fi
if ! "$tmp/yamlpaths" <deploy/daemonset.yaml >"$tmp/ds" 2>"$tmp/err"; then
    bad "deploy/daemonset.yaml does not parse: $(cat "$tmp/err")"
    finish
fi
ok
# y KEY: the value at KEY (one document; "0." and the pod spec's prefix implied)
y() { sed -n "s|^0\.$1=||p" "$tmp/ds"; }
c=spec.template.spec.containers.0
check '[ "$(y apiVersion)" = apps/v1 ] && [ "$(y kind)" = DaemonSet ]' "daemonset: apps/v1 DaemonSet"
check '[ -n "$(y spec.selector.matchLabels.app.kubernetes.io/name)" ] && [ "$(y spec.selector.matchLabels.app.kubernetes.io/name)" = "$(y spec.template.metadata.labels.app.kubernetes.io/name)" ]' \
    "daemonset: the selector matches the template's labels"
check '[ -n "$(y $c.image)" ] && [ -z "$(y $c.command.0)" ]' "daemonset: an image, and its ENTRYPOINT (no command override)"
for k in requests.cpu requests.memory limits.cpu limits.memory; do
    check '[ -n "$(y $c.resources.$k)" ]' "daemonset: resources.$k set"
done
check '[ "$(y $c.securityContext.readOnlyRootFilesystem)" = true ]' "daemonset: read-only root file system"
check '[ "$(y $c.securityContext.allowPrivilegeEscalation)" = false ]' "daemonset: no privilege escalation"
check '[ "$(y $c.securityContext.privileged)" != true ] && [ "$(y $c.securityContext.capabilities.drop.0)" = ALL ]' \
    "daemonset: not privileged, every capability dropped"
# the arguments, one per line
args=()
i=0
while v=$(y "$c.args.$i") && [ -n "$v" ]; do
    args+=("$v")
    i=$((i + 1))
done
arg_after() { local j; for ((j = 0; j < ${#args[@]} - 1; j++)); do [ "${args[j]}" = "$1" ] && echo "${args[j + 1]}"; done; }
check '[ "${args[0]}" = score ] && [[ " ${args[*]} " == *" --follow "* ]] && [ "$(arg_after --output)" = enrich ]' \
    "daemonset: score --follow --output enrich (${args[*]})"
state=$(arg_after --state)
inputs=$(arg_after -i)
check '[ -n "$state" ] && [ -n "$inputs" ] && [ -n "$(arg_after --exclude)" ]' "daemonset: an input, a state file, its own log excluded"
# mounts: name -> mountPath, readOnly; volumes: name -> hostPath
mount_of() { # PATH: the mount index holding PATH (the longest mountPath)
    local j=0 best=-1 bestlen=0 mp
    while mp=$(y "$c.volumeMounts.$j.mountPath") && [ -n "$mp" ]; do
        if [[ $1 == "$mp" || $1 == "$mp"/* ]] && [ ${#mp} -gt $bestlen ]; then best=$j; bestlen=${#mp}; fi
        j=$((j + 1))
    done
    echo $best
}
host_of() { # VOLUME NAME: its hostPath
    local j=0 n
    while n=$(y "spec.template.spec.volumes.$j.name") && [ -n "$n" ]; do
        [ "$n" = "$1" ] && y "spec.template.spec.volumes.$j.hostPath.path"
        j=$((j + 1))
    done
}
j=0
while mp=$(y "$c.volumeMounts.$j.mountPath") && [ -n "$mp" ]; do
    hp=$(host_of "$(y "$c.volumeMounts.$j.name")")
    check '[ "$hp" = "$mp" ]' "daemonset: mount $mp is the host's $mp (got hostPath '$hp')"
    j=$((j + 1))
done
for p in /var/log /var/log/pods /var/lib/docker/containers "$inputs"; do
    m=$(mount_of "$p")
    check '[ "$m" -ge 0 ] && [ "$(y $c.volumeMounts.$m.readOnly)" = true ]' "daemonset: $p is on a read-only mount"
done
m=$(mount_of "$state")
check '[ "$m" -ge 0 ] && [ "$(y $c.volumeMounts.$m.readOnly)" != true ] && [ -n "$(host_of "$(y $c.volumeMounts.$m.name)")" ]' \
    "daemonset: the state file $state is on a writable hostPath mount"

# ------------------------------------------------------------- Dockerfile
final=$(awk '/^FROM /{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' deploy/Dockerfile)
copy=$(grep '^COPY --from=build ' <<<"$final")
src=$(awk '{print $3}' <<<"$copy")
dst=$(awk '{print $4}' <<<"$copy")
entry=$(sed -n 's/^ENTRYPOINT \["\([^"]*\)"\]$/\1/p' <<<"$final")
check '[ "$(head -n 1 <<<"$final")" = "FROM scratch" ] && [ "$(grep -c "^COPY" <<<"$final")" = 1 ]' \
    "Dockerfile: the final stage is scratch with one COPY"
check '[ "$src" = /src/build-static/logrisk ] && grep -q "^WORKDIR /src" deploy/Dockerfile && grep -q "make.* static" deploy/Dockerfile && grep -q "^STATIC *?= *build-static$" Makefile' \
    "Dockerfile: it copies what make static builds ($src)"
check '[ -n "$dst" ] && [ "$entry" = "$dst" ]' "Dockerfile: the binary is the ENTRYPOINT ($entry)"

# ------------------------------------------- the image as a directory, run
if nm "$build/obj/util.o" 2>/dev/null | grep -q __asan; then
    echo "deploy: $build is a sanitizer build; the static image is checked by make test" >&2
    finish
fi
if ! make --no-print-directory BUILD="$build" STATIC="$build/static-deploy" "$build/static-deploy/logrisk" \
        >"$tmp/make.log" 2>&1; then
    bad "make static failed: $(tail -n 20 "$tmp/make.log")"
    finish
fi
root=$tmp/root
mkdir -p "$root$(dirname "$dst")" "$root/var/lib/logrisk" "$root/var/log/containers"
cp "$build/static-deploy/logrisk" "$root$dst"
id=7d3c5a1f0e9b8c2d4a6f1e3b5c7d9e0f2a4b6c8d0e1f3a5b7c9d1e2f4a6b8c0d
pod=/var/log/pods/shop_web-0_5f1c7e2a-0b1d-4c3e-9f8a-7b6c5d4e3f21/nginx
mkdir -p "$root$pod" "$root/var/lib/docker/containers"
printf '2026-12-07T09:00:00.000000001Z stdout F 2026-12-07T09:00:00Z INFO listening on :80\n' >"$root$pod/0.log"
printf '2026-12-07T09:00:01.5Z stderr F {"level":"error","msg":"upstream timed out","code":504}\n' >>"$root$pod/0.log"
ln -s "$pod/0.log" "$root/var/log/containers/web-0_shop_nginx-$id.log"
printf '2026-12-07T09:00:02Z stdout F {"risk_score":9,"pod":"web-0"}\n' \
    >"$root/var/log/containers/logrisk-agent-x7k2q_logging_agent-$id.log"
if [ "$(id -u)" = 0 ] && chroot "$root" "$dst" version >/dev/null 2>&1; then
    in_root() { exec chroot "$root" "$@"; }
elif unshare -r --root="$root" "$dst" version >/dev/null 2>&1; then
    in_root() { exec unshare -r --root="$root" "$@"; }
else
    skip_or_fail "neither chroot (root) nor unshare -r works here: the image directory was not run"
    finish
fi
in_root "$dst" "${args[@]}" >"$tmp/agent.out" 2>"$tmp/agent.err" &
pid=$!
wait_lines "$tmp/agent.out" 2 15
printf '2026-12-07T09:00:03Z stderr F E1207 09:00:03.000000 1 main.go:12] panic: out of memory\n' >>"$root$pod/0.log"
wait_lines "$tmp/agent.out" 3 15
kill -TERM $pid
wait $pid
rc=$?
got=$($PY - "$tmp/agent.out" <<'EOF'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
print(len(r), sorted({(o["pod"], o["namespace"], o["container"], o["container_id"][:6]) for o in r}),
      [o["line"] for o in r], r[1].get("msg"), "risk_score" in r[0])
EOF
)
check '[ $rc -eq 0 ] && [ "$got" = "3 [('"'"'web-0'"'"', '"'"'shop'"'"', '"'"'nginx'"'"', '"'"'7d3c5a'"'"')] [1, 2, 3] upstream timed out True" ]' \
    "the DaemonSet's arguments in the image: 3 enriched lines of the pod, not the agent's own, exit 0 on SIGTERM (rc $rc): $got $(head -c 300 "$tmp/agent.err")"
check '[ -s "$root$state" ] && head -n 1 "$root$state" | grep -q "logrisk-state 1"' "the state file is written on the state mount"
in_root "$dst" "${args[@]}" >"$tmp/again.out" 2>"$tmp/again.err" &
pid=$!
sleep 1.5
kill -TERM $pid
wait $pid
rc=$?
check '[ $rc -eq 0 ] && [ ! -s "$tmp/again.out" ]' "a restarted agent resumes from the state: nothing written twice (rc $rc, $(wc -l <"$tmp/again.out") lines)"

# ------------------------------------------------------------ systemd unit
unit=deploy/logrisk-agent.service
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
read -r -a uargs <<<"$exec_start"
ustate=""
for ((j = 0; j < ${#uargs[@]} - 1; j++)); do [ "${uargs[j]}" = --state ] && ustate=${uargs[j + 1]}; done
check '[ "${uargs[0]}" = /usr/local/bin/logrisk ] && grep -q "^PREFIX *?= */usr/local$" Makefile' \
    "systemd: ExecStart is the binary make install puts in PREFIX/bin (${uargs[0]})"
check '[ "$ustate" = "/var/lib/$(sed -n "s/^StateDirectory=//p" "$unit")/state" ] && grep -q "^KillSignal=SIGTERM$" "$unit" && grep -q "^Restart=on-failure$" "$unit"' \
    "systemd: --state under StateDirectory, SIGTERM to stop, restarted on failure"
if command -v systemd-analyze >/dev/null 2>&1; then
    mkdir -p "$tmp/unit"
    sed "s|/usr/local/bin/logrisk|$(cd "$(dirname "$bin")" && pwd)/logrisk|" "$unit" >"$tmp/unit/logrisk-agent.service"
    systemd-analyze verify "$tmp/unit/logrisk-agent.service" >"$tmp/sa.log" 2>&1
    # (the man page it names is not installed here: that line is left out)
    check '! grep -v "Command .man " "$tmp/sa.log" | grep -qi "logrisk-agent.service.*\(unknown\|invalid\|failed\|not executable\)"' \
        "systemd-analyze verify: $(head -c 300 "$tmp/sa.log")"
fi
mkdir -p "$root/usr/local/bin"
cp "$build/static-deploy/logrisk" "$root/usr/local/bin/logrisk"
rm -f "$root$ustate"
in_root "${uargs[@]}" >"$tmp/unit.out" 2>"$tmp/unit.err" &
pid=$!
wait_lines "$tmp/unit.out" 4 15
kill -TERM $pid
wait $pid
rc=$?
check '[ $rc -eq 0 ] && [ "$(wc -l <"$tmp/unit.out")" -eq 4 ] && [ -s "$root$ustate" ]' \
    "systemd: its command scores the node's logs (the agent's own log too: no --exclude there) and stops on SIGTERM (rc $rc)"

# --------------------------------------------------------------- man page
if ! make --no-print-directory BUILD="$build" man >"$tmp/man.log" 2>&1; then
    bad "make man failed: $(tail -n 20 "$tmp/man.log")"
    finish
fi
page=$build/logrisk.1
check 'head -n 1 "$page" | grep -q "^\.TH LOGRISK 1" && grep -q "^\.SH SYNOPSIS" "$page" && grep -q "^\.SS score" "$page" && grep -q -- "--state FILE" "$page" && grep -q -- "--exclude GLOB" "$page"' \
    "make man: a man page with the synopsis and score's agent options"
if command -v groff >/dev/null 2>&1; then
    groff -man -Tutf8 -ww "$page" >"$tmp/man.txt" 2>"$tmp/groff.err"
    check '[ ! -s "$tmp/groff.err" ] && grep -q "rotate-wait" "$tmp/man.txt"' "groff reads the page without a warning: $(head -c 300 "$tmp/groff.err")"
fi
make --no-print-directory BUILD="$build" DESTDIR="$tmp/inst" PREFIX=/usr/local install >"$tmp/inst.log" 2>&1
check '[ -x "$tmp/inst/usr/local/bin/logrisk" ] && cmp -s "$page" "$tmp/inst/usr/local/share/man/man1/logrisk.1"' \
    "make install: the binary and the man page ($(tail -n 3 "$tmp/inst.log"))"

finish
