#!/bin/sh
# The shared library exports exactly the functions include/*.h declare:
# no internal helper leaks out (that would become ABI nobody meant to keep),
# and no declared function is missing.  When the build used the linker
# version script, each export must also carry the POPEN2_1.0 version node.
#
# Environment (set by Makefile.am's SH_LOG_COMPILER): CPP, top_srcdir,
# top_builddir, VERSION_NODE (empty when the linker had no version scripts).
# Exit 77 (skip) when no shared library was built (--disable-shared).
set -u
: "${top_srcdir:=.}" "${top_builddir:=.}" "${CPP:=cc -E}" "${VERSION_NODE:=}"

so="$top_builddir/lib/.libs/libpopen2.so"
if [ ! -f "$so" ]; then
    echo "SKIP: $so not built (static-only build)"
    exit 77
fi
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT

# The declared functions: the header's identifiers popen2_* followed by "(",
# after the preprocessor removed comments (which name functions too).
# Every public header (include/*.h; a later one such as an extras header
# counts too).
for h in "$top_srcdir"/include/*.h; do
    $CPP -P -I"$top_srcdir/include" "$h" || exit 99
done >"$tmp/header.i"
grep -o 'popen2_[A-Za-z0-9_]*[[:space:]]*(' "$tmp/header.i" |
    sed 's/[[:space:]]*($//' | sort -u >"$tmp/declared"
if [ ! -s "$tmp/declared" ]; then
    echo "FAIL: found no popen2_* declaration in include/*.h"
    exit 1
fi

# The exported symbols: everything defined in the dynamic symbol table but
# the version node's own absolute symbol (type A).  Newer nm appends
# @@VERSION to the name; that is checked below, from objdump -T.
nm -D --defined-only "$so" >"$tmp/nm" || exit 99
awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' "$tmp/nm" | sort -u >"$tmp/exported-names"

status=0
extra=$(comm -13 "$tmp/declared" "$tmp/exported-names")
missing=$(comm -23 "$tmp/declared" "$tmp/exported-names")
if [ -n "$extra" ]; then
    echo "FAIL: exported but not declared in include/*.h:"
    echo "$extra" | sed 's/^/  /'
    status=1
fi
if [ -n "$missing" ]; then
    echo "FAIL: declared in include/*.h but not exported:"
    echo "$missing" | sed 's/^/  /'
    status=1
fi
if [ -n "$VERSION_NODE" ]; then
    # objdump -T lines end in "<version> <name>"; a hidden version shows as
    # "(<version>)".  Undefined references (*UND*) are imports, not exports.
    objdump -T "$so" >"$tmp/objdump" || exit 99
    unversioned=$(awk -v node="$VERSION_NODE" '
        NR == FNR { want[$1] = 1; next }
        ($NF in want) && $0 !~ /\*UND\*/ && $(NF-1) != node { print "  " $NF " (" $(NF-1) ")" }
        ' "$tmp/exported-names" "$tmp/objdump")
    if [ -n "$unversioned" ]; then
        echo "FAIL: exports not bound to version node $VERSION_NODE:"
        echo "$unversioned"
        status=1
    fi
fi
# The Debian symbols file lists every export (dpkg-gensymbols refuses the
# package otherwise, late in a long build); it is in the repository, not in
# the release tarball.
symbols="$top_srcdir/debian/libpopen2-0.symbols"
if [ -f "$symbols" ]; then
    sed -n 's/^ \(popen2_[A-Za-z0-9_]*\)@.*/\1/p' "$symbols" | sort -u >"$tmp/debian"
    if ! cmp -s "$tmp/debian" "$tmp/exported-names"; then
        echo "FAIL: debian/libpopen2-0.symbols differs from the exports (< symbols file, > exports):"
        diff "$tmp/debian" "$tmp/exported-names" | grep '^[<>]' | sed 's/^/  /'
        status=1
    fi
fi
echo "$(wc -l <"$tmp/exported-names") exports checked against $(wc -l <"$tmp/declared") declarations${VERSION_NODE:+, version node $VERSION_NODE}"
exit $status
