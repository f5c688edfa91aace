#!/bin/sh
# The library's layers are its folders, lowest first:
#
#   lib/sys  lib/runtime  lib/ring  lib/channel  lib/core  lib/api
#
# A file's layer is its folder.  It includes only its own layer's headers or
# a lower one's, calls only functions defined in its own layer or a lower
# one, and internal code never calls an exported popen2_* function (only
# lib/api defines them).  Platform code lives in lib/sys alone: a file named
# for a platform (x.posix.c, x.windows.c) anywhere else fails, so does one
# above lib/sys that calls the system's process, spawn, pipe or readiness
# interfaces itself, and so does a file in lib/ outside every layer folder.
#
# Environment (set by Makefile.am's SH_LOG_COMPILER): top_srcdir, top_builddir.
set -u
: "${top_srcdir:=.}" "${top_builddir:=.}"
LAYERS="sys runtime ring channel core api"
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
status=0

# The layer number of a path below lib/ (lib/ring/ringbuf.c -> 3), or empty.
layer_of() {
    dir=${1#lib/}
    dir=${dir%%/*}
    n=1
    for l in $LAYERS; do
        [ "$l" = "$dir" ] && { echo "$n"; return; }
        n=$((n + 1))
    done
}

srcs=$(cd "$top_srcdir" && find lib -name '*.[ch]' | sort)
for rel in $srcs; do
    mine=$(layer_of "$rel")
    if [ -z "$mine" ] || [ "${rel#lib/*/*/}" != "$rel" ]; then
        echo "FAIL: $rel is not in a layer folder (lib/<layer>/file: $LAYERS)"
        status=1
        continue
    fi
    case ${rel##*/} in
    *.posix.c | *.windows.c | *.linux.c)
        [ "$mine" -eq 1 ] || { echo "FAIL: $rel is platform code outside lib/sys"; status=1; } ;;
    esac
    for inc in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$top_srcdir/$rel"); do
        case $inc in config.h | popen2.h) continue ;; esac
        case $inc in
        */*) target=lib/$inc ;;
        *) target=${rel%/*}/$inc ;; # beside the file
        esac
        theirs=$(layer_of "$target")
        if [ ! -f "$top_srcdir/$target" ] || [ -z "$theirs" ]; then
            echo "FAIL: $rel includes \"$inc\", which is in no layer"
            status=1
        elif [ "$theirs" -gt "$mine" ]; then
            echo "FAIL: $rel (layer $mine) includes $target (layer $theirs)"
            status=1
        fi
    done
done

# Calls, from the objects of the internal static library: who defines what,
# and who needs what.  lib/ring/ringbuf.c is built as
# lib/ring/libpopen2_internal_la-ringbuf.o.
for rel in $srcs; do
    case $rel in *.c) ;; *) continue ;; esac
    dir=${rel%/*}
    base=${rel##*/}
    o="$top_builddir/$dir/libpopen2_internal_la-${base%.c}.o"
    if [ ! -f "$o" ]; then
        # The build picks one half of a primitive by platform (fd.posix.c or
        # fd.windows.c): the other half is not built here.
        case $base in *.posix.c | *.windows.c) continue ;; esac
        echo "FAIL: $o (of $rel) is not built" >&2
        exit 1
    fi
    echo "$o $rel"
done >"$tmp/objs"
while read -r o rel; do
    nm --defined-only -g "$o" | awk -v s="$rel" 'NF == 3 { print $3, s }'
done <"$tmp/objs" | sort >"$tmp/defs"
while read -r o rel; do
    mine=$(layer_of "$rel")
    for sym in $(nm -u "$o" | awk '{ print $2 }' | grep -E '^(p2i|popen2)_'); do
        case $sym in
        popen2_*)
            echo "FAIL: $rel calls the exported $sym"
            status=1
            continue
            ;;
        esac
        def=$(awk -v s="$sym" '$1 == s { print $2; exit }' "$tmp/defs")
        [ -n "$def" ] || continue
        theirs=$(layer_of "$def")
        if [ "$theirs" -gt "$mine" ]; then
            echo "FAIL: $rel (layer $mine) calls $sym of $def (layer $theirs)"
            status=1
        fi
    done
done <"$tmp/objs"
# Platform code lives in lib/sys: no object above it calls the system's
# process, spawn, pipe or readiness interfaces itself (the C library's stdio
# and pthreads are the same everywhere the library builds).
while read -r o rel; do
    [ "$(layer_of "$rel")" -eq 1 ] && continue
    for sym in $(nm -u "$o" | awk '{ print $2 }' |
        grep -E '^(epoll_[a-z0-9_]+|waitid|waitpid|wait4|posix_spawn[a-z_]*|eventfd|syscall|kill|pidfd_[a-z_]+|pipe2|dl_iterate_phdr)$'); do
        echo "FAIL: $rel calls the system's $sym itself: that belongs in lib/sys"
        status=1
    done
done <"$tmp/objs"
top=$(echo $LAYERS | wc -w)
for rel in $(awk '$1 ~ /^popen2_/ { print $2 }' "$tmp/defs" | sort -u); do
    if [ "$(layer_of "$rel")" != "$top" ]; then
        echo "FAIL: $rel defines exported functions below lib/api"
        status=1
    fi
done
echo "$(echo "$srcs" | wc -w) files in $top layers checked"
exit $status
