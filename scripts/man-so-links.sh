#!/bin/sh
# Usage: scripts/man-so-links.sh MANDIR
# Turns every page under MANDIR/man*/ that is nothing but a ".so" request
# into a symbolic link to the page it names.  A ".so" path is resolved from
# the current directory: man-db changes to the top of the man tree when it
# finds a page by name, but `man -l PAGE` reads the page where it is, so a
# stub read by path from anywhere else renders as an error.  A link reads
# the same from everywhere (and Debian policy prefers links to ".so").
# make install runs it on the installed tree; tests/check-manpages.sh on a
# copy of man/.
set -eu
[ $# -eq 1 ] && [ -d "$1" ] || { echo "usage: $0 MANDIR" >&2; exit 2; }
for page in "$1"/man*/*; do
    [ -f "$page" ] && [ ! -L "$page" ] || continue
    [ "$(wc -l <"$page")" -le 1 ] || continue
    target=$(sed -n 's/^\.so[[:space:]][[:space:]]*\([^[:space:]]*\)[[:space:]]*$/\1/p' "$page")
    [ -n "$target" ] || continue
    section=$(dirname "$page")
    # The target is relative to MANDIR; the link is relative to the page's
    # directory, so the tree can be moved (DESTDIR, packaging).
    case $target in
    "$(basename "$section")"/*) link=${target#*/} ;;
    *) link=../$target ;;
    esac
    [ -f "$section/$link" ] || { echo "$0: $page: no page $target" >&2; exit 1; }
    ln -sf "$link" "$page"
done
