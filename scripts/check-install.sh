#!/usr/bin/env bash
# Build the release tarball the way a distribution does and use what it
# installs the way a user does:
#   1. configure with dpkg-buildflags' hardening CFLAGS/CPPFLAGS/LDFLAGS in the
#      environment; the compile and link lines must carry them, the library
#      must come out with RELRO, BIND_NOW and the stack protector, and no
#      compiler warning may appear (-Wall -Wextra are on);
#   2. make install into a scratch prefix: library, header, popen2.pc and
#      every manual page land there, and man -l renders each installed page,
#      read by its path from another directory,
#      without a warning;
#   3. tests/installed-demo.c, built with `pkg-config --cflags --libs popen2`
#      against that prefix, runs and loads the installed libpopen2.so.0; the
#      same with `pkg-config --static` and -static, which needs Libs.private.
# Usage: scripts/check-install.sh [libpopen2-X.Y.Z.tar.gz]
# Without a tarball, one is made with make dist (configuring the tree first
# if it is not).  Needs gcc, make, pkg-config, man-db, binutils, dpkg-dev.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
say() { printf '\n=== check-install: %s\n' "$*"; }
die() { printf 'check-install: FAIL: %s\n' "$*" >&2; exit 1; }

# shellcheck source=scripts/tarball.sh
. "$top/scripts/tarball.sh"
unpack_tarball "${1:-}"
prefix="$work/prefix"

say "configure + make with dpkg-buildflags (hardening=+all) from $(basename "$tarball")"
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
CFLAGS=$(dpkg-buildflags --get CFLAGS)
CPPFLAGS=$(dpkg-buildflags --get CPPFLAGS)
LDFLAGS=$(dpkg-buildflags --get LDFLAGS)
export CFLAGS CPPFLAGS LDFLAGS
echo "CFLAGS=$CFLAGS"; echo "CPPFLAGS=$CPPFLAGS"; echo "LDFLAGS=$LDFLAGS"
(cd "$src" && ./configure -q --prefix="$prefix" && make -j2 V=1) >"$work/build.log" 2>&1 ||
    { tail -n 40 "$work/build.log"; die "build failed"; }
unset CFLAGS CPPFLAGS LDFLAGS

if grep -E ': (warning|error):' "$work/build.log" | grep -v '^libtool:'; then
    die "the compiler warned (above)"
fi
# Every compile of a library source, and the link of the .so, carried the flags.
compiles=$(grep -E -- '-c .*lib/[a-z]+/[a-z.]+\.c' "$work/build.log" | grep -v '^libtool:' || true)
[ -n "$compiles" ] || die "no compile lines found in the build log"
for flag in -fstack-protector-strong -D_FORTIFY_SOURCE=2 -Werror=format-security -O2; do
    if echo "$compiles" | grep -v -- "$flag" >/dev/null; then die "a library compile lacks $flag"; fi
done
grep -E 'link: .*-shared.*libpopen2\.so' "$work/build.log" | grep -- '-z -Wl,now' >/dev/null ||
    die "the shared library link lacks -Wl,-z,now"
so="$src/lib/.libs/libpopen2.so.0"
readelf -lW "$so" | grep GNU_RELRO >/dev/null || die "libpopen2.so has no RELRO segment"
readelf -dW "$so" | grep -E 'BIND_NOW|FLAGS.*NOW' >/dev/null || die "libpopen2.so is not BIND_NOW"
nm -D "$so" | grep __stack_chk_fail >/dev/null || die "libpopen2.so has no stack protector"
echo "no warnings; flags on every compile; RELRO, BIND_NOW, stack protector in libpopen2.so"

say "make install into a scratch prefix"
(cd "$src" && make install) >"$work/install.log" 2>&1 || { tail -n 30 "$work/install.log"; die "make install failed"; }
for f in include/popen2.h lib/libpopen2.so.0 lib/libpopen2.a lib/pkgconfig/popen2.pc share/man/man7/popen2.7; do
    [ -e "$prefix/$f" ] || die "make install did not install $f"
done
[ ! -e "$prefix/bin" ] || die "make install installed programs: $(ls "$prefix/bin")"
# Every function in the header has an installed page, and each renders clean.
names=$(for h in "$prefix"/include/*.h; do cc -E -P -I"$prefix/include" "$h"; done | grep -o 'popen2_[A-Za-z0-9_]*[[:space:]]*(' | tr -d ' (' | sort -u)
n=0
for fn in $names; do
    [ -f "$prefix/share/man/man3/$fn.3" ] || die "no installed manual page for $fn"
done
# Read by path from another directory, as a user of a private prefix does: a
# ".so" stub would fail there (make install turns them into links).
for page in "$prefix"/share/man/man3/*.3 "$prefix"/share/man/man7/*.7; do
    out=$(cd / && LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null) ||
        die "man -l failed on $page: $out"
    [ -z "$out" ] || die "man -l says on stderr for $page: $out"
    n=$((n + 1))
done
echo "$(echo "$names" | wc -w) functions have pages; $n installed pages render from / without a word on stderr (man --warnings -l)"

say "a program built with pkg-config against the installed library"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
out=$(PKG_CONFIG_LIBDIR="$prefix/lib/pkgconfig" pkg-config --validate popen2 2>&1) && [ -z "$out" ] ||
    die "popen2.pc does not validate cleanly: $out"
[ "$(pkg-config --modversion popen2)" = "$(cd "$src" && ./configure --version | sed -n '1s/.* //p')" ] ||
    die "popen2.pc's version is not the package version"
cflags=$(pkg-config --cflags popen2); libs=$(pkg-config --libs popen2)
echo "pkg-config --cflags --libs popen2: $cflags $libs"
cc -Wall -Wextra -Werror $cflags -o "$work/demo" "$src/tests/installed-demo.c" $libs
LD_LIBRARY_PATH="$prefix/lib" ldd "$work/demo" | grep "$prefix/lib/libpopen2.so.0" >/dev/null ||
    die "the demo does not load the installed libpopen2.so.0"
LD_LIBRARY_PATH="$prefix/lib" "$work/demo" || die "the demo failed against the installed library"
slibs=$(pkg-config --static --libs popen2)
echo "pkg-config --static --libs popen2: $slibs"
cc -static -Wall -Wextra -Werror $cflags -o "$work/demo-static" "$src/tests/installed-demo.c" $slibs
if readelf -dW "$work/demo-static" 2>/dev/null | grep NEEDED >/dev/null; then die "the -static demo is dynamic"; fi
"$work/demo-static" || die "the static demo failed"

say "OK: hardened warning-free build, clean install, pkg-config works (shared and static)"
