#!/usr/bin/env bash
# CI for the distribution side, run by .ci/run after the test suite:
#   1. make distcheck (VPATH build of every program, the quick tests (the
#      module programs, shell tests and examples: QUICK_TESTS in Makefile.am),
#      DESTDIR install, uninstall leaves nothing, the tarball rebuilds itself),
#      and no compiler warning anywhere in it (library, demos, tests);
#   2. scripts/check-install.sh on that tarball: hardened build with
#      dpkg-buildflags, install to a prefix, man -l, pkg-config demo;
#   3. scripts/check-musl.sh on that tarball: musl-gcc build, demos run;
#   4. scripts/check-debian.sh: dpkg-buildpackage -us -uc -b and lintian, and
#      the source package (that tarball as .orig.tar.gz + debian/) linted too;
#      with DEB_BUILD_OPTIONS=nocheck, because the whole suite has run on the
#      same sources three times before this script.
# Installs the Debian packages it needs when they are missing (as root).
# Any failure stops the run with a non-zero status; a summary with the time
# of each step is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

deps=(autoconf:/usr/bin/autoconf automake:/usr/bin/automake libtool:/usr/bin/libtoolize
      pkg-config:/usr/bin/pkg-config check:/usr/include/check.h
      autoconf-archive:/usr/share/aclocal/ax_check_vscript.m4 make:/usr/bin/make gcc:/usr/bin/gcc
      build-essential:/usr/share/doc/build-essential dpkg-dev:/usr/bin/dpkg-buildpackage
      debhelper:/usr/bin/dh lintian:/usr/bin/lintian fakeroot:/usr/bin/fakeroot
      musl-tools:/usr/bin/musl-gcc groff-base:/usr/bin/groff man-db:/usr/bin/man
      binutils:/usr/bin/objdump git:/usr/bin/git gzip:/bin/gzip)
missing=()
for d in "${deps[@]}"; do [ -e "${d#*:}" ] || missing+=("${d%%:*}"); done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "ci-distro: missing packages: ${missing[*]} (apt-get install them)" >&2
        exit 1
    fi
    echo "ci-distro: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

summary=()
step() {  # step NAME CMD...: run, time, and stop the whole run on failure
    local name=$1; shift
    local t0=$SECONDS
    printf '\n##### ci-distro: %s\n' "$name"
    if ! "$@"; then
        printf '\n##### ci-distro: FAILED: %s (after %ds)\n' "$name" $((SECONDS - t0)) >&2
        exit 1
    fi
    summary+=("$(printf '%-44s %4ds' "$name" $((SECONDS - t0)))")
}

distcheck() {
    [ -f Makefile ] || { ./autogen.sh && ./configure; } >/dev/null
    rm -f libpopen2-*.tar.gz
    if ! make -j2 distcheck 'TESTS=$(QUICK_TESTS)' >distcheck.log 2>&1; then
        tail -n 60 distcheck.log
        # The failing test logs, when it was make check inside distcheck.
        find libpopen2-*/_build -name '*.log' -path '*tests*' -exec grep -l -E '^(FAIL|ERROR)' {} + 2>/dev/null |
            while read -r log; do echo "=== $log"; cat "$log"; done
        echo "(full log: distcheck.log)"
        return 1
    fi
    grep -A3 -E '^=+$' distcheck.log | grep -E 'archives ready|\.tar\.gz' || true
    if grep -E '\.(c|h):[0-9]+(:[0-9]+)?: (warning|error):' distcheck.log; then
        echo "compiler warnings in the distcheck build (above)"
        return 1
    fi
    echo "no compiler warnings in the distcheck build"
    rm -f distcheck.log
}

step "make distcheck" distcheck
tarball=$(ls "$top"/libpopen2-*.tar.gz)
step "install, pkg-config, man (check-install.sh)" scripts/check-install.sh "$tarball"
step "musl-gcc build and demos (check-musl.sh)" scripts/check-musl.sh "$tarball"
step "Debian package and lintian (check-debian.sh)" \
    env DEB_BUILD_OPTIONS=nocheck scripts/check-debian.sh --orig "$tarball"

printf '\n##### ci-distro: all passed\n'
printf '  %s\n' "${summary[@]}"
