#!/bin/sh
# The Windows build under Wine, as the README's test command runs it (where
# mingw-w64, Wine, CMake and dpkg-dev are installed): scripts/check-wine.sh
# (the cross build, tests/wine/basics.exe against the build tree and against
# an install, demos/flowcontrol with 64 MiB per stream), then
# scripts/check-wine-ring.sh (Check built for mingw-w64 from Debian's source
# package, and the ring's Check programs).  In BUILD_WIN (default
# build-win/).  Exits 77 (SKIP) when the tools are missing.
set -eu
cd "$(dirname "$0")/.."
for tool in x86_64-w64-mingw32-gcc wine cmake dpkg-source; do
    command -v $tool >/dev/null || {
        echo "SKIP: $tool missing (apt-get install mingw-w64 wine64 wine cmake dpkg-dev)"
        exit 77
    }
done
export BUILD_WIN="${BUILD_WIN:-$PWD/build-win}"
scripts/check-wine.sh
scripts/check-wine-ring.sh
