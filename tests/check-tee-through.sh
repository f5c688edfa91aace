#!/bin/sh
# demos/tee-through streams a file through a filter with a bounded input
# queue: the output is byte for byte what the shell's pipe gives, and the
# peak RSS stays small however much faster the file is read than the filter
# takes it.  Without the limit (-l 0) the input piles up in memory, which
# the same run shows for comparison.
#
# Environment (set by Makefile.am's SH_LOG_COMPILER): top_builddir.
set -u
: "${top_builddir:=.}"
demo="$top_builddir/demos/tee-through"
command -v gzip >/dev/null 2>&1 || { echo "SKIP: no gzip"; exit 77; }
# A deadlock fails the test (timeout's 124) instead of hanging the suite.
guard=
command -v timeout >/dev/null 2>&1 && guard="timeout -k 5 300"
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
status=0

# 64 MiB that gzip compresses slowly (random bytes): the file is read far
# faster than gzip takes it.
head -c 67108864 /dev/urandom >"$tmp/in" || exit 99
gzip -c -n -1 <"$tmp/in" >"$tmp/ref" || exit 99

peak() { sed -n 's/^tee-through: peak RSS \([0-9]*\) MiB.*/\1/p' "$1"; }

if ! $guard "$demo" -o "$tmp/out" "$tmp/in" -- gzip -c -n -1 2>"$tmp/log"; then
    echo "FAIL: tee-through exited non-zero:"; cat "$tmp/log"; exit 1
fi
cmp -s "$tmp/out" "$tmp/ref" || { echo "FAIL: output differs from the shell's"; status=1; }
limited=$(peak "$tmp/log")
$guard "$demo" -l 0 -o "$tmp/out0" "$tmp/in" -- gzip -c -n -1 2>"$tmp/log0" || status=1
cmp -s "$tmp/out0" "$tmp/ref" || { echo "FAIL: output (-l 0) differs from the shell's"; status=1; }
unlimited=$(peak "$tmp/log0")
echo "peak RSS: $limited MiB with the default input limit, $unlimited MiB without"
if [ -z "$limited" ] || [ "$limited" -gt 32 ]; then
    echo "FAIL: peak RSS ${limited:-?} MiB with an input limit (at most 32 expected)"
    status=1
fi
if $guard "$demo" -l abc "$tmp/in" -- cat >/dev/null 2>"$tmp/err"; then
    echo "FAIL: -l abc accepted"; status=1
elif ! grep -q "abc" "$tmp/err"; then
    echo "FAIL: the error does not name the bad argument"; status=1
fi
exit $status
