#!/usr/bin/env bash
# CI's Windows stage: installs mingw-w64 and Wine (as root, when missing),
# cross-builds the library in build-ci/windows from a clean copy and runs
# scripts/check-wine.sh there: tests/wine/basics.exe (against the build
# tree and against an install) and demos/flowcontrol with 64 MiB per stream,
# under Wine; then scripts/check-wine-ring.sh: Check built for mingw-w64
# and the ring's Check programs under Wine.
set -euo pipefail
cd "$(dirname "$0")/.."
# dpkg-dev unpacks Check's source package (apt-get source), cmake builds it.
if ! command -v x86_64-w64-mingw32-gcc >/dev/null || ! command -v wine >/dev/null ||
    ! command -v cmake >/dev/null || ! command -v dpkg-source >/dev/null; then
    if [ "$(id -u)" != 0 ]; then
        echo "ci-windows: missing tools (apt-get install mingw-w64 wine64 wine cmake dpkg-dev)" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mingw-w64 wine64 wine cmake dpkg-dev >/dev/null
fi
rm -rf build-ci/windows
BUILD_WIN=$PWD/build-ci/windows scripts/check-wine.sh
BUILD_WIN=$PWD/build-ci/windows scripts/check-wine-ring.sh
