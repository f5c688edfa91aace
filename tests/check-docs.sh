#!/bin/sh
# The ring sizes the documentation quotes are the code's:
#  - OUT_RING_MIN and IN_RING_MIN (lib/channel.c): the first sizes of the
#    output and input rings, in the README's "Memory" paragraph, its "What
#    made it fast" list and docs/ringbuf.md;
#  - SHRINK_FACTOR (lib/ringmem.c): how many times its first size a ring
#    must have grown before it gives memory back, in the same places.
# The documents are read with their lines joined, as the sentences wrap.
#
# Environment (set by Makefile.am's SH_LOG_COMPILER): top_srcdir.
set -u
: "${top_srcdir:=.}"
status=0
fail() { echo "FAIL: $*"; status=1; }

# define_kib FILE NAME: the value of "#define NAME (N * 1024)" in KiB.
define_kib() {
    sed -n "s/^#define $2 (\([0-9][0-9]*\) \* 1024)\$/\1/p" "$1"
}
out=$(define_kib "$top_srcdir/lib/channel.c" OUT_RING_MIN)
in=$(define_kib "$top_srcdir/lib/channel.c" IN_RING_MIN)
shrink=$(sed -n 's/^#define SHRINK_FACTOR \([0-9][0-9]*\)$/\1/p' "$top_srcdir/lib/ringmem.c")
[ -n "$out" ] && [ -n "$in" ] && [ -n "$shrink" ] || {
    echo "FAIL: OUT_RING_MIN ('$out'), IN_RING_MIN ('$in') or SHRINK_FACTOR ('$shrink') not found as '#define NAME (N * 1024)' / '#define SHRINK_FACTOR N'"
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

readme=$top_srcdir/README
says "$readme" "An output ring gets $out KiB when the first byte arrives, the input ring $in KiB."
says "$readme" "a ring that grew to $shrink times its first size or more goes back to it"
says "$readme" "gives memory back only past $shrink times its first size"
says "$readme" "The input ring starts at $in KiB."
says "$top_srcdir/docs/ringbuf.md" "A ring that grew to $shrink times its first size"
exit "$status"
