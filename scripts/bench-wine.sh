#!/bin/sh
# The library against the bare Win32 calls under Wine (bench/wine.c): run
# scripts/check-wine.sh first (same BUILD_WIN); it made the cross build, the
# Wine prefix and child_win.exe.  Arguments go to the program: rounds (5),
# MiB read per run (64), spawns per round (20).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_WIN:-$top/build-win}
host=x86_64-w64-mingw32
run=$build/wine-run
test -f "$run/child_win.exe" || { echo "SKIP: no Wine run in $build (scripts/check-wine.sh)"; exit 77; }
src=$top
test -f "$build/src/configure" && src=$build/src
# child_win.exe anew: the writer's mode may be newer than check-wine's copy.
$host-gcc -O2 -Wall -o "$run/child_win.exe" "$top/tests/wine/child_win.c"
$host-gcc -O2 -Wall -I"$src/include" -o "$run/bench_wine.exe" "$top/bench/wine.c" \
    -L"$build/lib/.libs" -lpopen2
export WINEPREFIX="$build/wineprefix" WINEDEBUG=-all
cd "$run"
timeout 1200 wine bench_wine.exe "$@"
