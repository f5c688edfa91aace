#!/bin/sh
# Cross-builds libpopen2 for Windows with mingw-w64 in build-win/ and runs
# tests/wine/basics.exe under Wine (an outer timeout: a deadlock fails, it
# never hangs), once built against the build tree and once against an
# install, compiled as the README tells a Windows user to.  Needs:
# mingw-w64, wine (Debian: apt-get install mingw-w64 wine64 wine).  Exits
# 77 (SKIP) without them.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_WIN:-$top/build-win}
host=x86_64-w64-mingw32
command -v $host-gcc >/dev/null && command -v wine >/dev/null || {
    echo "SKIP: $host-gcc or wine missing"; exit 77; }
mkdir -p "$build"
# A source tree configured in place (build.sh does that) refuses VPATH
# builds: build from a clean copy of the tracked and new files then.
src=$top
if [ -f "$top/config.status" ] || [ ! -f "$top/configure" ]; then
    src=$build/src
    rm -rf "$src"
    mkdir -p "$src"
    (cd "$top" && git ls-files -co --exclude-standard -z | grep -zv '^build-' |
        xargs -0 tar -cf - --no-recursion) | tar -xf - -C "$src"
    (cd "$src" && ./autogen.sh >/dev/null 2>&1)
    rm -f "$build/Makefile"
fi
cd "$build"
test -f Makefile || "$src/configure" -q --host=$host --without-glib --without-gtk
make -j2 lib/libpopen2.la demos/flowcontrol.exe
run="$build/wine-run"
mkdir -p "$run"
$host-gcc -O2 -Wall -o "$run/child_win.exe" "$src/tests/wine/child_win.c"
$host-gcc -O2 -Wall -I"$src/include" -o "$run/basics.exe" "$src/tests/wine/basics.c" \
    -L"$build/lib/.libs" -lpopen2
cp "$build/lib/.libs/libpopen2-0.dll" "$run/"
cp "$build/demos/.libs/flowcontrol.exe" "$run/" 2>/dev/null || cp "$build/demos/flowcontrol.exe" "$run/"
# The DLLs the library links (winpthreads, and libgcc with the posix gcc).
for dll in libwinpthread-1.dll libgcc_s_seh-1.dll; do
    f=$($host-gcc -print-file-name=$dll)
    test -f "$f" && cp "$f" "$run/"
done
# The prefix lives in the build dir; a crash must fail the test, not open
# the debugger and wait.
export WINEPREFIX="$build/wineprefix" WINEDEBUG=-all
if [ ! -d "$WINEPREFIX" ]; then
    timeout 300 wineboot -i >/dev/null 2>&1 || true
    wine reg add 'HKCU\Software\Wine\WineDbg' /v ShowCrashDialog /t REG_DWORD /d 0 /f >/dev/null 2>&1 || true
    wine reg add 'HKLM\Software\Microsoft\Windows NT\CurrentVersion\AeDebug' /v Auto /t REG_SZ /d 1 /f >/dev/null 2>&1 || true
    wine reg add 'HKLM\Software\Microsoft\Windows NT\CurrentVersion\AeDebug' /v Debugger /t REG_SZ /d false /f >/dev/null 2>&1 || true
fi
cd "$run"
timeout 300 wine basics.exe
# The same tests compiled as the README tells a Windows user to: against
# the installed header and import library, with the README's command, and
# only the DLLs it says to ship beside the program.
inst=$build/inst
rm -rf "$inst" "$build/installed-run"
make -C "$build" install prefix="$inst" >/dev/null
mkdir -p "$build/installed-run"
cd "$build/installed-run"
$host-gcc -I"$inst/include" -o basics.exe "$src/tests/wine/basics.c" -L"$inst/lib" -lpopen2
cp "$inst/bin/libpopen2-0.dll" "$($host-gcc -print-file-name=libwinpthread-1.dll)" \
    "$run/child_win.exe" .
timeout 300 wine basics.exe
cd "$run"
# 64 MiB on each of stdout and stderr, read in the order that deadlocks
# with plain pipes.
timeout 600 wine flowcontrol.exe 64
