#!/bin/sh
# The static archive is linked into other programs, so it may define no
# global name of its own outside popen2_ (the API): the build makes every
# internal (p2i_) name local (Makefile.am, with objcopy; without objcopy the
# internals stay global, but prefixed).  A program with its own ringbuf_init,
# fd_close or even p2i_fd_close must still link.  This links such a program
# against lib/.libs/libpopen2.a and runs it.
#
# Environment (set by Makefile.am's SH_LOG_COMPILER): top_srcdir,
# top_builddir, CC, CFLAGS, PTHREAD_LIBS, ARCHIVE_LOCALIZED (yes or no).
# Exit 77 (skip) for a shared-only build.
set -u
: "${top_srcdir:=.}" "${top_builddir:=.}" "${CC:=cc}" "${CFLAGS:=}" "${PTHREAD_LIBS:=-lpthread}"
: "${ARCHIVE_LOCALIZED:=yes}"
if [ "$ARCHIVE_LOCALIZED" = yes ]; then
    allowed='^popen2_'
else
    allowed='^(popen2_|p2i_)'
fi

a="$top_builddir/lib/.libs/libpopen2.a"
if [ ! -f "$a" ]; then
    echo "SKIP: $a not built (shared-only build)"
    exit 77
fi
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
status=0

nm -g --defined-only "$a" | awk 'NF == 3 { print $3 }' | sort -u >"$tmp/globals"
bad=$(grep -v -E "$allowed" "$tmp/globals")
if [ -n "$bad" ]; then
    echo "FAIL: libpopen2.a defines global names not matching $allowed:"
    echo "$bad" | sed 's/^/  /'
    status=1
fi

# Generic names a program may well define itself, some of them the names the
# library's internals had once.
cat >"$tmp/own.c" <<'C'
#include <popen2.h>
#include <stdio.h>
#include <string.h>
int ringbuf_init(void) { return 1; }
int fd_close(int fd) { return fd; }
int stream_open(void) { return 3; }
int proc_create(void) { return 4; }
int spawn_start(void) { return 5; }
int active_add(void) { return 6; }
int wake_open(void) { return 7; }
int pump_start(void) { return 8; }
int child_wait(void) { return 9; }
#ifdef LOCALIZED
int p2i_fd_close(int fd) { return fd; }
int p2i_ringbuf_init(void) { return 10; }
#endif
int main(void)
{
    char *argv[] = {"echo", "linked", NULL};
    char line[32] = "";
    popen2_proc *p = popen2_Popen3v(argv, 0, -1);

    if (!p || !fgets(line, sizeof line, popen2_fromchild(p)) || popen2_wait(p) != 0)
        return 1;
    popen2_free(p);
    return strcmp(line, "linked\n") != 0 || ringbuf_init() + fd_close(1) != 2;
}
C
defs=
[ "$ARCHIVE_LOCALIZED" = yes ] && defs=-DLOCALIZED
if ! $CC $CFLAGS $defs -I"$top_srcdir/include" -o "$tmp/own" "$tmp/own.c" "$a" $PTHREAD_LIBS \
        >"$tmp/ld.log" 2>&1; then
    echo "FAIL: a program with its own generic names does not link statically:"
    sed 's/^/  /' "$tmp/ld.log"
    status=1
elif ! "$tmp/own"; then
    echo "FAIL: the statically linked program did not run the child correctly"
    status=1
fi
echo "$(wc -l <"$tmp/globals") global names checked in libpopen2.a"
exit $status
