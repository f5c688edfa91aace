#!/bin/sh
# Runs the ring's Check programs under Wine: builds Check for mingw-w64
# (scripts/build-check-mingw.sh), cross-builds tests/check_ring* against the
# internal static library of the build scripts/check-wine.sh made (run that
# first, same BUILD_WIN), and runs each with CK_FORK=no (Windows has no
# fork; Check's own timeouts need it) under an outer timeout, so a deadlock
# fails instead of hanging.  Exits 77 (SKIP) when there is no such build.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_WIN:-$top/build-win}
# mingw-w64 and Wine were there for it (or it skipped, and so does this).
test -f "$build/config.h" || { echo "SKIP: no cross build in $build (scripts/check-wine.sh)"; exit 77; }
host=x86_64-w64-mingw32
src=$top
test -f "$build/src/configure" && src=$build/src
ck=$(BUILD_WIN=$build "$top/scripts/build-check-mingw.sh" | tail -n1)
make -C "$build" -j2 lib/libpopen2-internal.la >/dev/null
run=$build/wine-ring
mkdir -p "$run"
cp "$($host-gcc -print-file-name=libwinpthread-1.dll)" "$run/"
export WINEPREFIX="$build/wineprefix" WINEDEBUG=-all CK_FORK=no
failed=0
# check_ringmem and check_warm need POSIX (mmap, fork and wait), and
# check_ringinput spawns the POSIX test child and forks: not here; the input
# ring is exercised through tochild by tests/wine/basics.
for t in ringbuf ringline ringlimit; do
    $host-gcc -O2 -std=gnu11 -I"$src/include" -iquote "$src/tests" -iquote "$src/lib" \
        -I"$build" -DPOPEN2_STATIC -DTEST_BUILDDIR='"."' -I"$ck/include" \
        -o "$run/check_$t.exe" "$src/tests/check_$t.c" \
        "$build/lib/.libs/libpopen2-internal.a" "$ck/lib/libcheck.a" -lwinpthread
    (cd "$run" && timeout 300 wine "check_$t.exe") || failed=1
done
echo "skip check_ringmem, check_warm: they need mmap, fork and waitpid"
exit $failed
