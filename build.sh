#!/usr/bin/env bash
# One entry point for a fresh machine (README quick start, and .ci/run):
#   ./build.sh demo    needs a compiler and the autotools; build, run demos/flowcontrol
#   ./build.sh check   needs Check as well; build, run the test suite, then
#                      the Windows build under Wine where mingw-w64 and Wine
#                      are installed (as root they are)
#   ./build.sh bench   also the benchmark's optional contenders and chart tool
#                      (GLib, Python, gnuplot), then make bench
# As root, missing packages are installed (optional ones too: GLib for
# demos/mainloop, GTK 4 and xvfb for demos/gtk-runner); as another user, a missing required package stops the
# script with its name, a missing optional one is only reported and the
# build goes on without what it serves.  Building happens in the source
# tree; a configured tree is reused.
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages, each with a file that shows it is there.  What every
# build needs: a compiler and the autotools.
deps=(autoconf:/usr/bin/autoconf automake:/usr/bin/automake libtool:/usr/bin/libtoolize
      pkg-config:/usr/bin/pkg-config autoconf-archive:/usr/share/aclocal/ax_pthread.m4
      make:/usr/bin/make gcc:/usr/bin/gcc)
# The Check test suite: needed by `check` only.
check_deps=(check:/usr/include/check.h)
# Optional: configure builds what they serve when they are there and leaves it
# out otherwise.  GLib: demos/mainloop and its test.  GTK 4: demos/gtk-runner,
# whose test runs it on a virtual X server (xvfb-run, which needs xauth).
optional_deps=(libglib2.0-dev:/usr/include/glib-2.0/glib.h
               libgtk-4-dev:/usr/include/gtk-4.0/gtk/gtk.h xvfb:/usr/bin/xvfb-run
               xauth:/usr/bin/xauth)
# The Windows build under Wine (mingw-w64, Wine, and for Check's cross build
# CMake and dpkg-source): optional, `check` runs it where they are there.
windows_deps=(mingw-w64:/usr/bin/x86_64-w64-mingw32-gcc wine64:/usr/bin/wine64 wine:/usr/bin/wine
              cmake:/usr/bin/cmake dpkg-dev:/usr/bin/dpkg-source)
# What make bench compares against and draws with; configure finds each.
bench_deps=(libglib2.0-dev:/usr/include/glib-2.0/glib.h python3:/usr/bin/python3
            gnuplot-nox:/usr/bin/gnuplot)

# The packages of a list whose file is missing.
missing_of() {
    local d
    for d in "$@"; do
        [ -e "${d#*:}" ] || printf '%s\n' "${d%%:*}"
    done | sort -u
}

apt_install() {
    echo "build.sh: installing $*"
    apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# install_deps REQUIRED... [-- OPTIONAL...]: as root, installs whatever is
# missing; as another user, stops when something required is missing and
# only says which optional packages would add to the build.
install_deps() {
    local required=() optional=() want=() d seen=0
    for d in "$@"; do
        if [ "$d" = -- ]; then seen=1
        elif [ "$seen" -eq 0 ]; then required+=("$d")
        else optional+=("$d")
        fi
    done
    mapfile -t missing < <(missing_of "${required[@]}")
    mapfile -t missing_opt < <(missing_of "${optional[@]+"${optional[@]}"}")
    if [ "$(id -u)" -ne 0 ]; then
        if [ ${#missing[@]} -gt 0 ]; then
            echo "build.sh: missing packages: ${missing[*]}; install them (as root: apt-get install ${missing[*]})" >&2
            exit 1
        fi
        [ ${#missing_opt[@]} -eq 0 ] ||
            echo "build.sh: optional packages not installed, building without them: ${missing_opt[*]} (as root: apt-get install ${missing_opt[*]})" >&2
        return 0
    fi
    want=("${missing[@]+"${missing[@]}"}" "${missing_opt[@]+"${missing_opt[@]}"}")
    [ ${#want[@]} -eq 0 ] && return 0
    if ! apt_install "${want[@]}"; then
        # The build works without the optional ones: try again without them.
        if [ ${#missing[@]} -gt 0 ] && ! apt_install "${missing[@]}"; then
            echo "build.sh: cannot install ${missing[*]}" >&2
            exit 1
        fi
        echo "build.sh: optional packages not installed, building without them: ${missing_opt[*]}" >&2
    fi
}

# Whether the configured tree left out something whose package is there now.
stale_config() {
    [ -n "${reconfigure_for_bench:-}" ] && return 0
    { [ -e /usr/include/check.h ] && grep -q "^HAVE_CHECK_TRUE='#'" config.log; } ||
        { [ -e /usr/include/glib-2.0/glib.h ] && grep -q "^HAVE_GLIB_TRUE='#'" config.log; } ||
        { [ -e /usr/include/gtk-4.0/gtk/gtk.h ] && grep -q "^HAVE_GTK_TRUE='#'" config.log; } ||
        { [ -e /usr/bin/xvfb-run ] && grep -q "^ac_cv_path_XVFB_RUN=$" config.log; }
}

# Builds in the source tree, reusing a configured tree; one configured before
# a package was installed looks again, with its own configure arguments.
build() {
    [ -x configure ] || ./autogen.sh
    if [ -f Makefile ] && [ -f config.status ] && stale_config; then
        ./config.status --recheck >/dev/null && ./config.status >/dev/null
    fi
    [ -f Makefile ] || ./configure
    make -j"$(nproc)"
}

case "${1:-}" in
bench)
    missing_bench=$(missing_of "${bench_deps[@]}")
    install_deps "${deps[@]}" -- "${bench_deps[@]}"
    # A tree configured before these were installed must look for them again.
    [ -n "$missing_bench" ] && [ -z "$(missing_of "${bench_deps[@]}")" ] && reconfigure_for_bench=1
    build
    make bench
    ;;
demo)
    install_deps "${deps[@]}" -- "${optional_deps[@]}"
    build
    ./demos/flowcontrol
    ;;
check)
    install_deps "${deps[@]}" "${check_deps[@]}" -- "${optional_deps[@]}" "${windows_deps[@]}"
    build
    rc=0
    # The Windows build under Wine runs beside the suite, where its tools are
    # installed: it builds in build-win/ from a copy of the sources, and Wine
    # spends most of its time starting processes, not computing.
    scripts/check-windows.sh >tests/wine.log 2>&1 &
    win_pid=$!
    make -j"$(nproc)" check || rc=$?
    win_rc=0
    wait "$win_pid" || win_rc=$?
    # Show what failed: the per-program logs hold Check's messages.
    for log in tests/check_*.log tests/behaviour/*.log; do
        grep -q ':[FE]:' "$log" 2>/dev/null && { echo "=== $log"; cat "$log"; }
    done
    # One closing line over every Check suite: "N passed, N failed".
    cat tests/check_*.log tests/behaviour/*.log 2>/dev/null | awk '
        /Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+/ {
            gsub(/,/, ""); for (i = 1; i <= NF; i++) {
                if ($i == "Checks:") n += $(i + 1)
                if ($i == "Failures:" || $i == "Errors:") f += $(i + 1)
            }
        }
        END { printf "checks: %d passed, %d failed\n", n - f, f }' >tests/check-summary.txt
    # The Windows build's results: one line per test of tests/wine/basics
    # ("ok" or "FAIL") and Check's lines.
    if [ "$win_rc" -eq 77 ]; then
        echo "windows (mingw-w64 under Wine): not run: $(grep -m1 '^SKIP' tests/wine.log)" >>tests/check-summary.txt
    else
        grep -E '^(ok|FAIL|skip) |^[0-9]+%: Checks|OK: every byte' tests/wine.log || true
        [ "$win_rc" -eq 0 ] || { rc=1; echo "=== tests/wine.log"; tail -n 60 tests/wine.log; }
        awk '/^ok / { n++ } /^FAIL / { n++; f++ }
             /Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+/ {
                 gsub(/,/, ""); for (i = 1; i <= NF; i++) {
                     if ($i == "Checks:") n += $(i + 1)
                     if ($i == "Failures:" || $i == "Errors:") f += $(i + 1)
                 }
             }
             END { printf "windows (mingw-w64 under Wine): %d passed, %d failed%s\n", n - f, f,
                          rc ? " (the run stopped early: tests/wine.log)" : "" }' rc="$win_rc" tests/wine.log \
            >>tests/check-summary.txt
    fi
    cat tests/check-summary.txt
    exit $rc
    ;;
*)
    echo "usage: $0 demo|check|bench" >&2
    exit 2
    ;;
esac
