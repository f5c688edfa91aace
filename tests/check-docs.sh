#!/bin/sh
# The ring sizes the documentation quotes are the code's:
#  - OUT_RING_MIN and IN_RING_MIN: the first sizes of the output and input
#    rings;
#  - SHRINK_FACTOR: how many times its first size a ring must have grown
#    before it gives memory back.
# Each fact's home is the guarantee in popen2(7) (man/man7/popen2.7) and the
# invariant in docs/ringbuf.md; docs/benchmarks.md quotes them as the
# reasons for its figures.  The defines are looked up anywhere under lib/,
# so moving a file does not break the check, and the documents are read
# with their lines joined, as the sentences wrap.
#
# Environment (set by Makefile.am's SH_LOG_COMPILER): top_srcdir.
set -u
: "${top_srcdir:=.}"
status=0
fail() { echo "FAIL: $*"; status=1; }

# define_value NAME PATTERN: the value of "#define NAME PATTERN" in exactly
# one file under lib/ (a second definition would make the check ambiguous).
define_value() {
    v=$(find "$top_srcdir/lib" -name '*.c' -exec sed -n "s/^#define $1 $2\$/\1/p" {} +)
    [ "$(printf '%s\n' "$v" | grep -c .)" -eq 1 ] && printf '%s\n' "$v"
}
out=$(define_value OUT_RING_MIN '(\([0-9][0-9]*\) \* 1024)')
in=$(define_value IN_RING_MIN '(\([0-9][0-9]*\) \* 1024)')
shrink=$(define_value SHRINK_FACTOR '\([0-9][0-9]*\)')
[ -n "$out" ] && [ -n "$in" ] && [ -n "$shrink" ] || {
    echo "FAIL: OUT_RING_MIN ('$out'), IN_RING_MIN ('$in') or SHRINK_FACTOR ('$shrink') not found once under lib/ as '#define NAME (N * 1024)' / '#define SHRINK_FACTOR N'"
    exit 1
}
echo "code: output ring $out KiB, input ring $in KiB, shrink past ${shrink}x"

# joined FILE: the file as one line, runs of blanks squeezed.
joined() {
    tr '\n' ' ' <"$1" | tr -s ' \t' '  '
}
# says FILE TEXT: the joined file contains TEXT.
says() {
    if joined "$1" | grep -qF -- "$2"; then
        echo "ok: $(basename "$1") says \"$2\""
    else
        fail "$1 does not say \"$2\""
    fi
}

man7=$top_srcdir/man/man7/popen2.7
says "$man7" "An output ring gets $out KiB when the first byte arrives, the input ring $in KiB."
says "$man7" "a ring that grew to $shrink times its first size or more goes back to it"
says "$top_srcdir/docs/ringbuf.md" "A ring that grew to $shrink times its first size"
says "$top_srcdir/docs/ringbuf.md" "($out KiB for outputs and input)"
bench=$top_srcdir/docs/benchmarks.md
says "$bench" "gives memory back only past $shrink times its first size"
says "$bench" "The input ring starts at $in KiB."
exit "$status"
