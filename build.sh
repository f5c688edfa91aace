#!/usr/bin/env bash
# One entry point for a fresh machine (README quick start, and .ci/run):
#   ./build.sh demo    install what the build needs, build, run demos/flowcontrol
#   ./build.sh check   install what the build needs, build, run the test suite
# Building happens in the source tree; a configured tree is reused.
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages the build needs, and a file from each that shows it is there.
deps=(autoconf:/usr/bin/autoconf automake:/usr/bin/automake libtool:/usr/bin/libtoolize
      pkg-config:/usr/bin/pkg-config check:/usr/include/check.h
      autoconf-archive:/usr/share/aclocal/ax_pthread.m4 make:/usr/bin/make gcc:/usr/bin/gcc
      # Beyond popen2: demos/mainloop and its test (optional at configure time).
      libglib2.0-dev:/usr/include/glib-2.0/glib.h)

install_deps() {
    local missing=() d
    for d in "${deps[@]}"; do
        [ -e "${d#*:}" ] || missing+=("${d%%:*}")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "build.sh: missing packages: ${missing[*]}; install them (as root: apt-get install ${missing[*]})" >&2
        exit 1
    fi
    echo "build.sh: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

build() {
    install_deps
    [ -x configure ] || ./autogen.sh
    [ -f Makefile ] || ./configure
    make -j"$(nproc)"
}

case "${1:-}" in
demo)
    build
    ./demos/flowcontrol
    ;;
check)
    build
    if ! make -j"$(nproc)" check; then
        # Show what failed: the per-program logs hold Check's messages.
        for log in tests/*.log; do
            grep -q '^FAIL\|^ERROR' "${log%.log}.trs" 2>/dev/null && { echo "=== $log"; cat "$log"; }
        done
        exit 1
    fi
    ;;
*)
    echo "usage: $0 demo|check" >&2
    exit 2
    ;;
esac
