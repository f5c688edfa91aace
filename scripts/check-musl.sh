#!/usr/bin/env bash
# Build the library and the demos with musl-gcc (Debian's musl-tools) and run
# them.  musl has no glibc extensions beyond the common ones, so a clean build
# shows the code keeps to POSIX and the extensions configure checks for; the
# runs show the behaviour holds on a second libc.  Check is built for glibc,
# so the Check suites stay a glibc job: configure here does not see Check
# (empty pkg-config path) and make check runs only the shell tests (exported
# symbols, manual pages).
#   - every demo and tests/installed-demo.c run with musl's dynamic loader
#     and report success; their interpreter must be ld-musl;
#   - no compiler warning (-Wall -Wextra are on).
# Usage: scripts/check-musl.sh [libpopen2-X.Y.Z.tar.gz]
# Without a tarball, one is made with make dist (configuring the tree first
# if it is not).  Installs musl-tools with apt-get when run as root.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
say() { printf '\n=== check-musl: %s\n' "$*"; }
die() { printf 'check-musl: FAIL: %s\n' "$*" >&2; exit 1; }

if ! command -v musl-gcc >/dev/null; then
    [ "$(id -u)" -eq 0 ] || die "musl-gcc missing (apt-get install musl-tools)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends musl-tools >/dev/null
fi

# shellcheck source=scripts/tarball.sh
. "$top/scripts/tarball.sh"
unpack_tarball "${1:-}"
cd "$src"

say "configure CC=musl-gcc && make ($(basename "$tarball"))"
(PKG_CONFIG_PATH= PKG_CONFIG_LIBDIR=/nonexistent ./configure -q CC=musl-gcc --prefix="$work/prefix" &&
    make -j2) >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log"; die "musl build failed"; }
if grep -E ': (warning|error):' "$work/build.log" | grep -v '^libtool:'; then
    die "musl-gcc warned (above)"
fi
grep -q 'HAVE_FOPENCOOKIE 1' config.h || die "configure did not find musl's fopencookie"
interp=$(readelf -lW demos/.libs/flowcontrol | sed -n 's/.*interpreter: \(.*\)]/\1/p')
case "$interp" in */ld-musl-*) echo "demos load with $interp" ;; *) die "demos load with '$interp', not musl" ;; esac
readelf -dW lib/.libs/libpopen2.so | grep NEEDED | grep -v 'libc.so' >/dev/null &&
    die "libpopen2.so (musl) needs more than libc.so: $(readelf -dW lib/.libs/libpopen2.so | grep NEEDED)"

say "make check (shell tests only: Check is glibc's)"
make check >"$work/check.log" 2>&1 || { cat tests/*.log tests/behaviour/*.log; die "make check failed under musl"; }
grep -E '^(PASS|SKIP|FAIL|XFAIL|ERROR):' "$work/check.log"

say "demos under musl"
dd if=/dev/urandom of="$work/input" bs=1M count=4 status=none

run() {  # run NAME CMD...: the command must exit 0
    local name=$1; shift
    local t0 t1
    t0=$(date +%s%N)
    if ! "$@" >"$work/$name.out" 2>"$work/$name.err"; then
        cat "$work/$name.out" "$work/$name.err"
        die "$name failed under musl: $*"
    fi
    t1=$(date +%s%N)
    printf '  %-32s ok (%d ms)\n' "$name" $(( (t1 - t0) / 1000000 ))
}
# flowcontrol checks every byte itself and exits 0 only when all arrived.
run flowcontrol ./demos/flowcontrol 16
grep -q 'OK: every byte arrived intact' "$work/flowcontrol.out" || die "flowcontrol did not report OK"
# capture: stdout and stderr saved apart, stdout read to EOF first.
run capture ./demos/capture -o "$work/cap.out" -e "$work/cap.err" -- \
    sh -c 'head -c 3000000 "$1" >&2; cat "$1"' sh "$work/input"
cmp -s "$work/cap.out" "$work/input" || die "capture: stdout differs"
[ "$(wc -c <"$work/cap.err")" -eq 3000000 ] || die "capture: stderr is not 3000000 bytes"
head -c 3000000 "$work/input" | cmp -s - "$work/cap.err" || die "capture: stderr differs"
# capture's exit status is the command's.
set +e; ./demos/capture -- sh -c 'exit 7' >/dev/null 2>&1; rc=$?; set -e
[ "$rc" -eq 7 ] || die "capture: exit status $rc, expected the command's 7"
echo "  capture exit status passes through (7)"
# The options beyond popen2 (popen2_spawnv with an attr): a timeout that
# kills the command's whole process group (exit 124, as timeout(1)), and a
# 1 MiB memory limit that spills the rest to a temporary file.
t0=$SECONDS
set +e; ./demos/capture -t 300 -- sh -c 'sleep 30 & sleep 30' >/dev/null 2>&1; rc=$?; set -e
[ "$rc" -eq 124 ] || die "capture -t: exit status $rc, expected 124"
[ $((SECONDS - t0)) -lt 10 ] || die "capture -t 300 took $((SECONDS - t0))s: the group was not killed"
echo "  capture --timeout kills the process group (124, $((SECONDS - t0))s)"
run capture-spill ./demos/capture -M 1M -s -o "$work/spill.out" -- cat "$work/input" "$work/input"
cat "$work/input" "$work/input" | cmp -s - "$work/spill.out" || die "capture --spill: output differs"
grep -E 'stdout held at most [0-9]+ bytes, [1-9][0-9]* spilled' "$work/capture-spill.out" ||
    die "capture --spill: nothing went through the spill file"
# tee-through, both at once and the write-all-first order.
run tee-through ./demos/tee-through -o "$work/tee.gz" "$work/input" -- gzip -c
gzip -dc "$work/tee.gz" | cmp -s - "$work/input" || die "tee-through: gzip round trip differs"
run tee-through-s ./demos/tee-through -s -o "$work/tee.cat" "$work/input" -- cat
cmp -s "$work/tee.cat" "$work/input" || die "tee-through -s: output differs"
# A program built against the musl library, as a user would.
make install >/dev/null
musl-gcc -Wall -Wextra -Werror -I"$work/prefix/include" -o "$work/installed-demo" \
    tests/installed-demo.c -L"$work/prefix/lib" -lpopen2 -pthread
run installed-demo env LD_LIBRARY_PATH="$work/prefix/lib" "$work/installed-demo"
musl-gcc -static -Wall -Wextra -Werror -I"$work/prefix/include" -o "$work/installed-demo-static" \
    tests/installed-demo.c "$work/prefix/lib/libpopen2.a" -pthread
run installed-demo-static "$work/installed-demo-static"

say "OK: library and demos build warning-free with musl-gcc and run correctly"
