#!/bin/sh
# Every function the public headers (include/*.h) declare has a section 3 manual page that
# make install installs, and every page is clean roff:
#  - man/man3/<function>.3 exists and is in the installed list (MAN_PAGES);
#  - it is a page whose NAME section names the function, or a ".so" link to
#    one (so whatis/apropos and lintian's whatis check find every name);
#  - groff -ww -z -man reports nothing for any installed page (skipped
#    when groff is not installed; the ABI part still runs);
#  - after scripts/man-so-links.sh (what make install runs) on a copy of
#    man/, `man -l` renders every page read by its path from another
#    directory, with nothing on stderr (skipped without man-db).
#
# Environment (set by Makefile.am's SH_LOG_COMPILER): CPP, top_srcdir,
# MAN_PAGES (the installed pages, relative to top_srcdir).
set -u
: "${top_srcdir:=.}" "${CPP:=cc -E}" "${MAN_PAGES:=}"

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
status=0
fail() { echo "FAIL: $*"; status=1; }

# Every public header (include/*.h; a later one such as an extras header
# counts too).
for h in "$top_srcdir"/include/*.h; do
    $CPP -P -I"$top_srcdir/include" "$h" || exit 99
done >"$tmp/header.i"
grep -o 'popen2_[A-Za-z0-9_]*[[:space:]]*(' "$tmp/header.i" |
    sed 's/[[:space:]]*($//' | sort -u >"$tmp/declared"
[ -s "$tmp/declared" ] || { echo "FAIL: no popen2_* declaration found"; exit 1; }

# The names a page's NAME section gives: the line(s) after .SH NAME up to
# the next request, before the "\-".
names_of() {
    sed -n '/^\.SH NAME/,/^\.SH/{/^\.SH/d;p}' "$1" | tr '\n' ' ' |
        sed 's/\\-.*//' | tr ',' '\n' | tr -d ' '
}

for fn in $(cat "$tmp/declared"); do
    page="man/man3/$fn.3"
    case " $(echo $MAN_PAGES) " in
    *" $page "*) ;;
    *) fail "$page is not in dist_man_MANS (Makefile.am): make install would not install it" ;;
    esac
    if [ ! -f "$top_srcdir/$page" ]; then
        fail "$fn has no manual page $page"
        continue
    fi
    target="$top_srcdir/$page"
    link=$(sed -n 's/^\.so[[:space:]]*//p' "$target")
    if [ -n "$link" ]; then
        target="$top_srcdir/man/$link"
        [ -f "$target" ] || { fail "$page: .so target man/$link does not exist"; continue; }
    fi
    names_of "$target" | grep -qx "$fn" ||
        fail "$fn is not named in the NAME section of ${target#"$top_srcdir/"}"
done
echo "$(wc -l <"$tmp/declared") functions checked for a manual page"

if command -v groff >/dev/null 2>&1; then
    n=0
    for page in $MAN_PAGES; do
        # .so requests are relative to the top of the man tree.
        out=$(cd "$top_srcdir/man" && groff -ww -z -man "${page#man/}" 2>&1) ||
            fail "groff failed on $page"
        [ -z "$out" ] || fail "groff warns on $page:
$out"
        n=$((n + 1))
    done
    echo "$n pages checked with groff -ww -z -man"
else
    echo "groff not installed: roff warnings not checked"
fi

if command -v man >/dev/null 2>&1; then
    cp -R "$top_srcdir/man" "$tmp/man" && chmod -R u+w "$tmp/man" || exit 99
    sh "$top_srcdir/scripts/man-so-links.sh" "$tmp/man" || fail "scripts/man-so-links.sh failed"
    n=0
    for page in $MAN_PAGES; do
        err=$(cd / && LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$tmp/$page" 2>&1 >/dev/null) ||
            fail "man -l failed on $page: $err"
        [ -z "$err" ] || fail "man -l says on stderr for $page: $err"
        n=$((n + 1))
    done
    echo "$n pages read with man -l from / after scripts/man-so-links.sh"
else
    echo "man not installed: man -l not checked"
fi
exit $status
