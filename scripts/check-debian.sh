#!/usr/bin/env bash
# Build the Debian packages from a clean copy of the committed tree (plus
# uncommitted changes to tracked files) and check them:
#   1. dpkg-buildpackage -us -uc -b, with DPKG_GENSYMBOLS_CHECK_LEVEL=4 so a
#      debian/libpopen2-0.symbols that misses or invents a symbol fails;
#   2. lintian on the result: any error or warning fails;
#   3. a demo built with pkg-config against the packaged files (unpacked into
#      a scratch root, not installed) runs and links libpopen2.so.0 from there;
#   4. with --orig TARBALL (a make dist tarball): the source package, that
#      tarball as .orig.tar.gz plus debian/, is built with dpkg-source and
#      lintian checks it too (errors and warnings fail).
# Usage: scripts/check-debian.sh [--orig libpopen2-X.Y.Z.tar.gz] [OUTDIR]
#   (OUTDIR keeps the .debs, .changes, .buildinfo and logs)
# Installs its build dependencies with apt-get when run as root.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
say() { printf '\n=== check-debian: %s\n' "$*"; }
die() { printf 'check-debian: FAIL: %s\n' "$*" >&2; exit 1; }

# The tools this script runs; debian/control's Build-Depends come after.
need=(dpkg-dev:/usr/bin/dpkg-buildpackage debhelper:/usr/bin/dh lintian:/usr/bin/lintian
      build-essential:/usr/share/doc/build-essential fakeroot:/usr/bin/fakeroot
      autoconf-archive:/usr/share/aclocal/ax_pthread.m4 pkgconf:/usr/bin/pkgconf
      check:/usr/include/check.h groff-base:/usr/bin/groff git:/usr/bin/git)
missing=()
for d in "${need[@]}"; do [ -e "${d#*:}" ] || missing+=("${d%%:*}"); done
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || die "missing packages: ${missing[*]} (apt-get install them)"
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The rest of debian/control's Build-Depends (apt reads them from the tree).
if ! dpkg-checkbuilddeps 2>/dev/null; then
    [ "$(id -u)" -eq 0 ] || { dpkg-checkbuilddeps || true; die "build dependencies of debian/control not satisfied"; }
    say "installing the build dependencies of debian/control"
    DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -qq --no-install-recommends ./ >/dev/null
    dpkg-checkbuilddeps || die "build dependencies of debian/control not satisfied"
fi

orig=
if [ "${1:-}" = --orig ]; then
    orig=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
    shift 2
fi
outdir=${1:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -n "$outdir" ] && mkdir -p "$outdir"

# A clean tree: git stash create makes a commit of the working tree's tracked
# files without touching the checkout (nothing to stash: HEAD itself).
version=$(dpkg-parsechangelog -S Version)
upstream=${version%-*}
src="$work/libpopen2-$upstream"
rev=$(git -c user.name=check-debian -c user.email=check-debian@localhost stash create) || die "git stash create failed"
say "exporting ${rev:-HEAD} to $src"
mkdir -p "$src"
git archive --format=tar "${rev:-HEAD}" | tar -x -C "$src"

say "dpkg-buildpackage -us -uc -b ($version)"
t0=$(date +%s)
if ! (cd "$src" && DPKG_GENSYMBOLS_CHECK_LEVEL=4 dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1; then
    tail -n 80 "$work/build.log"
    [ -n "$outdir" ] && cp "$work/build.log" "$outdir/"
    die "dpkg-buildpackage failed (full log: ${outdir:-not kept; pass OUTDIR})"
fi
echo "built in $(( $(date +%s) - t0 ))s:"
grep -E '^(dpkg-deb: building|dpkg-gensymbols)' "$work/build.log" || true
changes=$(ls "$work"/libpopen2_"${version}"_*.changes)

say "lintian $(basename "$changes")"
# --fail-on error,warning: info and pedantic tags are shown, not fatal.
if ! lintian --fail-on error,warning --display-info "$changes" | tee "$work/lintian.log"; then
    die "lintian reported errors or warnings"
fi
[ -s "$work/lintian.log" ] || echo "(lintian: no tags at all)"

say "demo built with pkg-config against the packaged files"
root="$work/root"
for deb in "$work"/libpopen2-0_*.deb "$work"/libpopen2-dev_*.deb; do dpkg-deb -x "$deb" "$root"; done
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
# PKG_CONFIG_SYSROOT_DIR puts the scratch root in front of the .pc's /usr paths.
cflags=$(PKG_CONFIG_LIBDIR="$root/usr/lib/$multiarch/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$root" \
         pkg-config --cflags popen2)
libs=$(PKG_CONFIG_LIBDIR="$root/usr/lib/$multiarch/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$root" \
       pkg-config --libs popen2)
echo "pkg-config: $cflags $libs"
cc -Wall -Wextra -Werror $cflags -o "$work/demo" tests/installed-demo.c $libs
LD_LIBRARY_PATH="$root/usr/lib/$multiarch" ldd "$work/demo" | grep "$root/usr/lib/$multiarch/libpopen2.so.0" >/dev/null ||
    die "the demo does not load libpopen2.so.0 from the package"
LD_LIBRARY_PATH="$root/usr/lib/$multiarch" "$work/demo" || die "the demo failed against the packaged library"

if [ -n "$orig" ]; then
    say "source package from $(basename "$orig") + debian/, and lintian"
    srcpkg="$work/source"
    mkdir -p "$srcpkg"
    cp "$orig" "$srcpkg/libpopen2_$upstream.orig.tar.gz"
    tar -xzf "$orig" -C "$srcpkg"
    [ -d "$srcpkg/libpopen2-$upstream" ] || die "$(basename "$orig") does not unpack to libpopen2-$upstream/"
    # debian/ as committed ($src/debian now holds build results).
    git archive --format=tar "${rev:-HEAD}" debian | tar -x -C "$srcpkg/libpopen2-$upstream"
    (cd "$srcpkg/libpopen2-$upstream" && dpkg-source -b .) >"$work/source.log" 2>&1 ||
        { cat "$work/source.log"; die "dpkg-source -b failed"; }
    lintian --fail-on error,warning --display-info "$srcpkg/libpopen2_$version.dsc" | tee -a "$work/lintian.log" ||
        die "lintian reported errors or warnings on the source package"
fi

[ -n "$outdir" ] && cp "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$work"/*.log "$outdir"/
say "OK: packages build${orig:+ (binary and source)}, lintian is clean, the -dev package links a program"
