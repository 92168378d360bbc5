#!/usr/bin/env bash
# Installs what logrisk needs on Debian 12, or says how.
#
#   tools/deps.sh build   the libraries and compiler the product builds with
#   tools/deps.sh test    also what the reference tests use (torch, onnx,
#                         clang, qemu, node for Hugging Face tokenizers, ...)
#   tools/deps.sh bench   also the OpenMP OpenBLAS that PyTorch runs fastest
#                         with here (make bench's PyTorch rows) and wrk (the
#                         HTTP load of bench/serve.bench.sh)
#
# As root it runs apt-get; otherwise it prints the exact command to run.
set -eu
what=${1:-build}
extra=()
if [ "$what" = bench ]; then
    what=test
    extra=(libopenblas0-openmp wrk)
fi
# libevent-dev: evhttp for `logrisk serve` (static .a files, no TLS)
pkgs=(gcc make libc6-dev libyaml-dev libpcre2-dev libutf8proc-dev libevent-dev "${extra[@]}")
if [ "$what" = test ]; then
    pkgs+=(python3 python3-torch python3-onnx python3-numpy clang libclang-rt-14-dev
           valgrind nodejs npm gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user curl)
fi
if [ "$what" = test ] && [ "$(dpkg --print-architecture)" != arm64 ]; then
    # arm64 .a files of the libraries, for `make static`'s arm64 binary
    pkgs+=(libyaml-dev:arm64 libpcre2-dev:arm64 libutf8proc-dev:arm64)
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        if [ "$(id -u)" = 0 ]; then
            dpkg --add-architecture arm64
        else
            echo "arm64 libraries need: sudo dpkg --add-architecture arm64" >&2
        fi
    fi
fi
if [ "$what" = test ] && command -v npm >/dev/null 2>&1; then
    # a nodejs that bundles npm (NodeSource's) conflicts with Debian's npm
    keep=()
    for p in "${pkgs[@]}"; do [ "$p" = npm ] || keep+=("$p"); done
    pkgs=("${keep[@]}")
fi
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# libevent-dev:arm64 cannot be installed beside the native libevent-dev
# (both own /usr/include/event2), so `make static`'s arm64 binary gets the
# arm64 archives out of the package itself; the headers are the same.
arm64_event() {
    [ "$what" = test ] && [ "$(dpkg --print-architecture)" != arm64 ] || return 0
    [ -f /usr/lib/aarch64-linux-gnu/libevent_extra.a ] && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "the arm64 libevent archives need root: run tools/deps.sh test as root" >&2
        return 0
    fi
    local d
    d=$(mktemp -d)
    (cd "$d" && apt-get download -qq libevent-dev:arm64 && dpkg-deb -x libevent-dev_*_arm64.deb x) >&2 &&
        install -m 644 "$d"/x/usr/lib/aarch64-linux-gnu/libevent_core.a "$d"/x/usr/lib/aarch64-linux-gnu/libevent_extra.a \
            /usr/lib/aarch64-linux-gnu/
    rm -rf "$d"
}
if [ ${#missing[@]} -eq 0 ]; then
    arm64_event
    exit 0
fi
if [ "$(id -u)" = 0 ]; then
    echo "installing: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    arm64_event
else
    echo "missing packages; run:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
