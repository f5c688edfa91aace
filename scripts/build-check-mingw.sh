#!/bin/sh
# Builds the Check unit-test framework for Windows (mingw-w64) from Debian's
# source package, so the Check programs can be cross-built: apt-get source
# check (a deb-src line is added to the apt sources when none is there), a
# CMake cross build with a mingw toolchain file, installed into
# $BUILD_WIN/check-prefix.  Nothing is vendored.  Prints the prefix.
# Under Wine there is no fork mode: run the programs with CK_FORK=no and an
# outer timeout (Check's own timeouts need fork).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_WIN:-$top/build-win}
prefix=$build/check-prefix
host=x86_64-w64-mingw32
# Check's CMake build on mingw finds no librt and compiles its own
# clock_gettime, which gives 0 for every clock; linked statically it
# replaces winpthreads' for the library and the tests alike, and every timed
# wait and measured interval reads zero.  Take it out: winpthreads has the
# real one (link -lwinpthread).
drop_clock_stub() {
    $host-ar d "$prefix/lib/libcheck.a" clock_gettime.c.obj 2>/dev/null || true
}
if [ -f "$prefix/lib/libcheck.a" ]; then
    drop_clock_stub
    echo "$prefix"
    exit 0
fi
mkdir -p "$build/check-src"
cd "$build/check-src"
if ! ls -d check-*/ >/dev/null 2>&1; then
    if ! apt-get source --download-only check >/dev/null 2>&1; then
        # No deb-src line yet: add the bookworm one beside the deb lines.
        if [ "$(id -u)" = 0 ]; then
            printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
                >/etc/apt/sources.list.d/popen2-deb-src.sources
            apt-get update -qq >/dev/null
        fi
    fi
    apt-get source check >/dev/null 2>&1
fi
src=$(ls -d check-*/ | head -n1)
cat >toolchain.cmake <<EOT
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_C_COMPILER $host-gcc)
set(CMAKE_RC_COMPILER $host-windres)
set(CMAKE_FIND_ROOT_PATH /usr/$host)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
EOT
mkdir -p build
cd build
cmake -DCMAKE_TOOLCHAIN_FILE=../toolchain.cmake -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DCHECK_ENABLE_TESTS=OFF -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release "../$src" >cmake.out
make -j2 >make.out
make install >install.out
# Check's CMake writes the autotools name of its library (check_pic) into
# check.pc; the CMake build installs it as libcheck.
sed -i 's/-lcheck_pic/-lcheck/' "$prefix/lib/pkgconfig/check.pc"
drop_clock_stub
echo "$prefix"
