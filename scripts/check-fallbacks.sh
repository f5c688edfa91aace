#!/bin/sh
# Builds the library with the Linux-only features turned off and runs the
# test suite on it: no pidfds (children waited for and signalled by process
# id), no epoll (the event descriptor reports the streams only), no eventfd
# (wake-ups through a pipe), no pipe2 (pipe, then fcntl), no pipe sizing, no
# pthread_attr_setsigmask_np, no close_range or addclosefrom_np.  That is
# the path macOS and the BSDs take, apart from funopen for fopencookie,
# which glibc does not have (so that branch stays unbuilt here).  In
# BUILD_FALLBACKS (default build-fallbacks/), from a clean copy of the
# sources; TESTS=... runs a part of the suite.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_FALLBACKS:-$top/build-fallbacks}
rm -rf "$build"
mkdir -p "$build/src" "$build/obj"
(cd "$top" && git ls-files -co --exclude-standard -z | grep -zv '^build' |
    xargs -0 tar -cf - --no-recursion) | tar -xf - -C "$build/src"
(cd "$build/src" && ./autogen.sh >/dev/null 2>&1)
cd "$build/obj"
../src/configure -q --without-gtk \
    ac_cv_have_decl_SYS_pidfd_open=no ac_cv_have_decl_SYS_pidfd_send_signal=no \
    ac_cv_header_sys_epoll_h=no ac_cv_header_sys_eventfd_h=no ac_cv_func_eventfd=no \
    ac_cv_func_pipe2=no ac_cv_have_decl_F_SETPIPE_SZ=no ac_cv_have_decl_F_GETPIPE_SZ=no \
    ac_cv_func_pthread_attr_setsigmask_np=no ac_cv_func_close_range=no \
    ac_cv_func_posix_spawn_file_actions_addclosefrom_np=no >/dev/null
# What was turned off must be off: a feature test that ignores the cache
# variable would make this a second ordinary build.
if grep -E '^#define (HAVE_SYS_EPOLL_H|HAVE_SYS_EVENTFD_H|HAVE_EVENTFD|HAVE_PIPE2|HAVE_CLOSE_RANGE) 1|^#define HAVE_DECL_(SYS_PIDFD_OPEN|F_SETPIPE_SZ) 1' config.h; then
    echo "check-fallbacks: a feature stayed on (above)" >&2
    exit 1
fi
make -s -j2 >/dev/null
if ! make -s -j2 check ${TESTS:+TESTS="$TESTS"}; then
    for log in tests/*.log tests/behaviour/*.log; do
        grep -q -E '^(FAIL|ERROR)|:[FE]:' "$log" 2>/dev/null && { echo "=== $log"; tail -n 40 "$log"; }
    done
    exit 1
fi
