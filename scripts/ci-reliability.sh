#!/usr/bin/env bash
# Reliability stage of CI, run by .ci/run after the test suite:
#   1. make check under ASan + UBSan     (--enable-sanitizers=address,undefined),
#      then a short soak (SANITIZER_SOAK_SECONDS, default 30) in that build
#   2. make check under TSan             (--enable-sanitizers=thread), and the same
#      short soak: many threads and objects at once are where races show
#   3. make check-valgrind               (memcheck; errors and definite leaks fail)
#   4. make soak for SOAK_SECONDS        (default 120)
#   5. make fuzz, FUZZ_SECONDS per target (default 60)
# Each stage builds out of tree in build-ci/<stage>, from a clean copy of the
# sources (build.sh configures the source tree itself, and automake refuses
# VPATH builds of a configured tree).  Installs its own Debian packages when
# missing.  Any failure stops the script with the failing logs printed.
#
#   scripts/ci-reliability.sh [stage...]   stages: asan tsan valgrind soak fuzz
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
ci=$top/build-ci
jobs=${CI_JOBS:-2}
# The stages' make targets (check, check-valgrind; soak and fuzz are a
# program each) run one job more than there are CPUs: under the sanitizers and
# valgrind a third of the machine sat idle at -j2 (tests waiting on children
# and timeouts), and the suite must hold on a loaded machine anyway.
check_jobs=${CI_CHECK_JOBS:-$((jobs + 1))}
export SOAK_SECONDS=${SOAK_SECONDS:-120}
export FUZZ_SECONDS=${FUZZ_SECONDS:-60}
sanitizer_soak=${SANITIZER_SOAK_SECONDS:-30}
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(asan tsan valgrind soak fuzz)

# Debian packages and a file each that shows it is installed.
deps=(autoconf:/usr/bin/autoconf automake:/usr/bin/automake libtool:/usr/bin/libtoolize
      pkg-config:/usr/bin/pkg-config check:/usr/include/check.h
      autoconf-archive:/usr/share/aclocal/ax_pthread.m4 make:/usr/bin/make gcc:/usr/bin/gcc
      valgrind:/usr/bin/valgrind clang:/usr/bin/clang
      libclang-rt-14-dev:/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a)

say() { printf '\n=== ci-reliability: %s\n' "$*"; }
die() { printf '\n*** ci-reliability: FAILED: %s\n' "$*" >&2; exit 1; }

install_deps() {
    local missing=() d
    for d in "${deps[@]}"; do
        [ -e "${d#*:}" ] || missing+=("${d%%:*}")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "missing packages: ${missing[*]} (apt-get install them as root)"
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# A clean copy of the tracked (and new, not ignored) files, bootstrapped once.
prepare_source() {
    rm -rf "$ci/src"
    mkdir -p "$ci/src"
    git ls-files -co --exclude-standard -z | grep -zv '^build-ci/' |
        xargs -0 tar -cf - --no-recursion | tar -xf - -C "$ci/src"
    (cd "$ci/src" && ./autogen.sh >/dev/null 2>&1) || die "autogen.sh"
}

# Prints the logs of failed tests in a build directory.
show_failures() {
    local dir=$1 trs
    for trs in "$dir"/tests/*.trs "$dir"/tests/behaviour/*.trs "$dir"/examples/*.trs; do
        [ -e "$trs" ] || continue
        if grep -q '^:test-result: \(FAIL\|ERROR\)' "$trs"; then
            echo "--- ${trs%.trs}.log"
            tail -n 80 "${trs%.trs}.log"
        fi
    done
}

# configure + build in build-ci/NAME with the given configure arguments.
configure_build() {
    local name=$1
    shift
    rm -rf "${ci:?}/$name"
    mkdir -p "$ci/$name"
    (cd "$ci/$name" && ../src/configure -q "$@" >/dev/null) || die "$name: configure $*"
    (cd "$ci/$name" && make -s -j"$jobs" >/dev/null) || die "$name: build"
}

# Runs make TARGET in build-ci/NAME, failing loudly with the logs.
run_make() {
    local name=$1 target=$2
    shift 2
    if ! (cd "$ci/$name" && env "$@" make -s -j"$check_jobs" "$target"); then
        show_failures "$ci/$name"
        die "$name: make $target"
    fi
}

declare -A took
stage() {
    local name=$1 t0=$SECONDS
    say "$name"
    "stage_$name"
    took[$name]=$((SECONDS - t0))
    say "$name passed in ${took[$name]} s"
}

stage_asan() {
    configure_build asan --enable-sanitizers=address,undefined
    # Leaks found by LeakSanitizer at the exit of each (forked) test fail it.
    local asan=(ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1
                UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1)
    run_make asan check "${asan[@]}"
    run_make asan soak "${asan[@]}" SOAK_SECONDS="$sanitizer_soak"
}

stage_tsan() {
    configure_build tsan --enable-sanitizers=thread
    run_make tsan check TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
    run_make tsan soak TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
        SOAK_SECONDS="$sanitizer_soak"
}

stage_valgrind() {
    configure_build plain
    run_make plain check-valgrind
}

stage_soak() {
    [ -d "$ci/plain" ] || configure_build plain
    run_make plain soak
}

stage_fuzz() {
    [ -d "$ci/plain" ] || configure_build plain
    run_make plain fuzz
}

t_all=$SECONDS
install_deps
prepare_source
for s in "${stages[@]}"; do
    declare -F "stage_$s" >/dev/null || die "unknown stage $s"
    stage "$s"
done
say "all passed in $((SECONDS - t_all)) s:$(for s in "${stages[@]}"; do printf ' %s %ss' "$s" "${took[$s]}"; done)"
