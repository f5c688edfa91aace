#!/bin/sh
# include/popen2.h compiles without a warning in every language standard it
# promises: C89 and later with -pedantic, and C++98 and later when a C++
# compiler is there.  A program built with -Werror must never break on it.
#
# Environment (set by Makefile.am's SH_LOG_COMPILER): CC, top_srcdir.
set -u
: "${top_srcdir:=.}" "${CC:=cc}"
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT

# Uses every type the header declares, so a struct field is compiled too.
cat >"$tmp/use.c" <<'SRC'
#include <popen2.h>
int main(void)
{
    struct popen2_stream_stats st;
    popen2_proc *p = 0;
    popen2_attr *a = 0;
    (void)a;
    st.total = 0;
    return popen2_stream_stats(p, 1, &st) == 0 ? (int)st.total : 1;
}
SRC
cp "$tmp/use.c" "$tmp/use.cc"

fail=0
try() { # try COMPILER STD SOURCE
    if $1 -std="$2" -pedantic -Wall -Wextra -Werror -I"$top_srcdir/include" \
        -c "$3" -o "$tmp/use.o" 2>"$tmp/err"; then
        echo "ok: $1 -std=$2 -pedantic -Werror"
    else
        echo "FAIL: $1 -std=$2 -pedantic -Werror:"
        cat "$tmp/err"
        fail=1
    fi
}
for std in c89 c99 c11 gnu89; do
    try "$CC" "$std" "$tmp/use.c"
done
# The C++ compiler of the C compiler's family, when installed.
for cxx in g++ clang++; do
    command -v "$cxx" >/dev/null 2>&1 || continue
    for std in c++98 c++11 c++17; do
        try "$cxx" "$std" "$tmp/use.cc"
    done
done
exit $fail
