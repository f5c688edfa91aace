#!/usr/bin/env bash
# One entry point for a fresh machine (README quick start, and .ci/run):
#   ./build.sh demo    install what the build needs, build, run demos/flowcontrol
#   ./build.sh check   install what the build needs, build, run the test suite
#   ./build.sh bench   also install the benchmark's optional contenders and
#                      chart tool (GLib, Python, gnuplot), then run make bench
# Building happens in the source tree; a configured tree is reused.
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages the build needs, and a file from each that shows it is there.
deps=(autoconf:/usr/bin/autoconf automake:/usr/bin/automake libtool:/usr/bin/libtoolize
      pkg-config:/usr/bin/pkg-config check:/usr/include/check.h
      autoconf-archive:/usr/share/aclocal/ax_pthread.m4 make:/usr/bin/make gcc:/usr/bin/gcc
      # Beyond popen2: demos/mainloop and its test (optional at configure time).
      libglib2.0-dev:/usr/include/glib-2.0/glib.h)
# Optional: demos/gtk-runner (GTK 4) and its test (a virtual X server).
# Installed when running as root; without them the demo is not built and its
# test is skipped, so another user gets a note and the build goes on.
optional_deps=(libgtk-4-dev:/usr/include/gtk-4.0/gtk/gtk.h xvfb:/usr/bin/xvfb-run
               xauth:/usr/bin/xauth)

install_deps() {
    local missing=() optional=() d
    for d in "${deps[@]}"; do
        [ -e "${d#*:}" ] || missing+=("${d%%:*}")
    done
    for d in "${optional_deps[@]}"; do
        [ -e "${d#*:}" ] || optional+=("${d%%:*}")
    done
    if [ "$(id -u)" -ne 0 ]; then
        [ ${#optional[@]} -eq 0 ] ||
            echo "build.sh: optional packages not installed: ${optional[*]} (demos/gtk-runner and its test are skipped)" >&2
        [ ${#missing[@]} -eq 0 ] && return 0
        echo "build.sh: missing packages: ${missing[*]}; install them (as root: apt-get install ${missing[*]})" >&2
        exit 1
    fi
    [ ${#missing[@]} -eq 0 ] && [ ${#optional[@]} -eq 0 ] && return 0
    apt-get update -qq
    if [ ${#missing[@]} -gt 0 ]; then
        echo "build.sh: installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    if [ ${#optional[@]} -gt 0 ]; then
        echo "build.sh: installing ${optional[*]} (optional)"
        if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${optional[@]}" >/dev/null; then
            # A tree configured before GTK was there must look for it again.
            rm -f Makefile
        else
            echo "build.sh: could not install ${optional[*]}: demos/gtk-runner and its test are skipped" >&2
        fi
    fi
}

build() {
    install_deps
    [ -x configure ] || ./autogen.sh
    [ -f Makefile ] || ./configure
    make -j"$(nproc)"
}

# What make bench compares against and draws with; configure finds each.
bench_deps=(libglib2.0-dev:/usr/include/glib-2.0/glib.h python3:/usr/bin/python3
            gnuplot-nox:/usr/bin/gnuplot)

case "${1:-}" in
bench)
    deps+=("${bench_deps[@]}")
    missing_bench=0
    for d in "${bench_deps[@]}"; do [ -e "${d#*:}" ] || missing_bench=1; done
    install_deps
    # A tree configured before these were installed must look for them again.
    [ "$missing_bench" -eq 1 ] && [ -f Makefile ] && rm -f Makefile
    build
    make bench
    ;;
demo)
    build
    ./demos/flowcontrol
    ;;
check)
    build
    rc=0
    make -j"$(nproc)" check || rc=$?
    # Show what failed: the per-program logs hold Check's messages.
    for log in tests/check_*.log; do
        grep -q ':[FE]:' "$log" 2>/dev/null && { echo "=== $log"; cat "$log"; }
    done
    # One closing line over every Check suite: "N passed, N failed".
    cat tests/check_*.log 2>/dev/null | awk '
        /Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+/ {
            gsub(/,/, ""); for (i = 1; i <= NF; i++) {
                if ($i == "Checks:") n += $(i + 1)
                if ($i == "Failures:" || $i == "Errors:") f += $(i + 1)
            }
        }
        END { printf "checks: %d passed, %d failed\n", n - f, f }' | tee tests/check-summary.txt
    exit $rc
    ;;
*)
    echo "usage: $0 demo|check|bench" >&2
    exit 2
    ;;
esac
