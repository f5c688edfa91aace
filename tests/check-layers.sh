#!/bin/sh
# The library's layers stay as HACKING.md's table draws them: a file of lib/
# includes only its own layer's header or a lower one's, calls only functions
# defined in its own layer or a lower one, and internal code never calls an
# exported popen2_* function (only the top layer defines them).
#
# The table rows look like
#   | 3 | channel | `lib/channel.h` | `lib/pump.c` `lib/stream.c` | ... |
# Every lib/*.c and lib/*.h must be in exactly one row.
#
# Environment (set by Makefile.am's SH_LOG_COMPILER): top_srcdir, top_builddir.
set -u
: "${top_srcdir:=.}" "${top_builddir:=.}"
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
status=0

# file -> layer number, from the table.
awk -F'|' '/^\| *[0-9]+ *\|/ {
        layer = $2; gsub(/ /, "", layer)
        for (col = 4; col <= 5; col++) {
            n = split($col, w, /[` ]+/)
            for (i = 1; i <= n; i++) if (w[i] ~ /^lib\//) print w[i], layer
        }
    }' "$top_srcdir/HACKING.md" >"$tmp/layers"
if [ ! -s "$tmp/layers" ]; then
    echo "FAIL: no layer table in HACKING.md"
    exit 1
fi
layer_of() { awk -v f="$1" '$1 == f { print $2; exit }' "$tmp/layers"; }

for f in "$top_srcdir"/lib/*.c "$top_srcdir"/lib/*.h; do
    rel="lib/${f##*/}"
    n=$(awk -v f="$rel" '$1 == f' "$tmp/layers" | wc -l)
    if [ "$n" -ne 1 ]; then
        echo "FAIL: $rel is in $n rows of HACKING.md's layer table (must be 1)"
        status=1
        continue
    fi
    mine=$(layer_of "$rel")
    for inc in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
        case $inc in config.h | popen2.h) continue ;; esac
        theirs=$(layer_of "lib/$inc")
        if [ -z "$theirs" ]; then
            echo "FAIL: $rel includes \"$inc\", which is in no layer"
            status=1
        elif [ "$theirs" -gt "$mine" ]; then
            echo "FAIL: $rel (layer $mine) includes lib/$inc (layer $theirs)"
            status=1
        fi
    done
done

# Calls, from the objects of the internal static library: who defines what,
# and who needs what.
objs=
for src in $(awk '$1 ~ /\.c$/ { print $1 }' "$tmp/layers"); do
    o="$top_builddir/lib/libpopen2_internal_la-$(basename "$src" .c).o"
    if [ ! -f "$o" ]; then
        echo "FAIL: $o (of $src) is not built"
        exit 1
    fi
    objs="$objs $o"
done
for o in $objs; do
    src=$(echo "${o##*/}" | sed 's/^libpopen2_internal_la-//; s/\.o$/.c/')
    nm --defined-only -g "$o" | awk -v s="lib/$src" 'NF == 3 { print $3, s }'
done | sort >"$tmp/defs"
for o in $objs; do
    src=lib/$(echo "${o##*/}" | sed 's/^libpopen2_internal_la-//; s/\.o$/.c/')
    mine=$(layer_of "$src")
    for sym in $(nm -u "$o" | awk '{ print $2 }' | grep -E '^(p2i|popen2)_'); do
        case $sym in
        popen2_*)
            echo "FAIL: $src calls the exported $sym"
            status=1
            continue
            ;;
        esac
        def=$(awk -v s="$sym" '$1 == s { print $2; exit }' "$tmp/defs")
        theirs=$(layer_of "$def")
        if [ -n "$theirs" ] && [ "$theirs" -gt "$mine" ]; then
            echo "FAIL: $src (layer $mine) calls $sym of $def (layer $theirs)"
            status=1
        fi
    done
done
top=$(awk '{ print $2 }' "$tmp/layers" | sort -n | tail -1)
awk '$1 ~ /^popen2_/ { print $2 }' "$tmp/defs" | sort -u | while read -r src; do
    if [ "$(layer_of "$src")" != "$top" ]; then
        echo "FAIL: $src defines exported functions below the front layer"
        exit 1
    fi
done || status=1
echo "$(wc -l <"$tmp/layers") files in $(awk '{ print $2 }' "$tmp/layers" | sort -u | wc -l) layers checked"
exit $status
