#!/bin/sh
# The demos behave like tools on their command line:
#  - -h and --help print a usage to stdout and exit 0 (and run nothing:
#    "mainloop -h" is not a shell command);
#  - an unknown option, a bad number, a missing or extra argument exits 2
#    with a message on stderr that names the offending argument;
#  - capture opens its -o / -e files before it runs the command, so a path
#    that cannot be written fails without running it;
#  - capture streams the output into its -o / -e files.
# demos/mainloop is checked when it was built (GLib found), demos/gtk-runner
# when GTK 4 was.
#
# Environment (set by Makefile.am's SH_LOG_COMPILER): top_builddir.
set -u
: "${top_builddir:=.}"
demos=$top_builddir/demos

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
status=0
# A demo that hangs fails the test (timeout's 124) instead of the suite.
guard=
command -v timeout >/dev/null 2>&1 && guard="timeout -k 5 120"
fail() { echo "FAIL: $*"; status=1; }

# expect CODE WORD CMD...: CMD exits CODE; with CODE 2 its stderr contains
# WORD (the argument it must name); with CODE 0 its stdout says "usage".
expect() {
    code=$1 word=$2
    shift 2
    $guard "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    rc=$?
    if [ "$rc" -ne "$code" ]; then
        fail "$* exited $rc, expected $code: $(head -c 300 "$tmp/err")"
        return
    fi
    if [ "$code" -eq 2 ] && ! grep -qF -- "$word" "$tmp/err"; then
        fail "$* did not name '$word' on stderr: $(head -c 300 "$tmp/err")"
    fi
    if [ "$code" -eq 0 ] && ! grep -q '^usage: ' "$tmp/out"; then
        fail "$* printed no usage on stdout"
    fi
    echo "ok: $* -> $rc"
}

list="flowcontrol capture tee-through"
if [ -x "$demos/mainloop" ]; then
    list="$list mainloop"
else
    echo "demos/mainloop not built (no GLib): not checked"
fi
for d in $list; do
    [ -x "$demos/$d" ] || { fail "demos/$d not built"; continue; }
    expect 0 '' "$demos/$d" -h
    expect 0 '' "$demos/$d" --help
    expect 2 --no-such-option "$demos/$d" --no-such-option
    expect 2 -Z "$demos/$d" -Z
done

# Numbers: strtol with checks, never atoi's silent 0.
expect 2 abc "$demos/flowcontrol" abc
expect 2 12x "$demos/flowcontrol" 12x
expect 2 0 "$demos/flowcontrol" 0
expect 2 2 "$demos/flowcontrol" -s 1 2
expect 2 abc "$demos/capture" --timeout abc -- true
expect 2 -5 "$demos/capture" -t -5 -- true
expect 2 12X "$demos/capture" --max-memory 12X -- true
expect 2 FILE "$demos/capture" -o
expect 2 command "$demos/capture" -m
expect 2 FILE "$demos/tee-through" -o
expect 2 input "$demos/tee-through"
expect 2 filter "$demos/tee-through" "$tmp/out"
if [ -x "$demos/mainloop" ]; then
    expect 2 abc "$demos/mainloop" --timeout abc
    expect 2 0 "$demos/mainloop" --tick 0
    expect 2 --timeout "$demos/mainloop" --timeout
    # The usage, not a shell running "-h".
    $guard "$demos/mainloop" -h >"$tmp/out" 2>&1
    grep -q '^\[1\] started' "$tmp/out" && fail "mainloop -h started a tool: $(cat "$tmp/out")"
fi

# capture -o into a directory that does not exist: an error before the
# command runs (it would have created the marker).
expect 1 '' "$demos/capture" -o /nonexistent/popen2/out -- sh -c ": >'$tmp/ran'"
[ -e "$tmp/ran" ] && fail "capture ran the command although -o could not be opened"
expect 1 '' "$demos/capture" -t 5000 -e /nonexistent/popen2/err -- sh -c ": >'$tmp/ran'"
[ -e "$tmp/ran" ] && fail "capture -t ran the command although -e could not be opened"

# capture streams stdout and stderr into the files, byte for byte.
for opts in "" "-t 60000"; do
    # shellcheck disable=SC2086 # opts is split on purpose
    $guard "$demos/capture" $opts -o "$tmp/o" -e "$tmp/e" -- \
        sh -c 'seq 1 20000; seq 5 9 >&2; exit 3' >"$tmp/report" 2>&1
    rc=$?
    [ "$rc" -eq 3 ] || fail "capture $opts: exit $rc, expected the command's 3"
    seq 1 20000 | cmp -s - "$tmp/o" || fail "capture $opts: -o file differs"
    seq 5 9 | cmp -s - "$tmp/e" || fail "capture $opts: -e file differs"
done

# demos/gtk-runner (built when GTK 4 was found) parses its options with
# GLib's parser, before it opens a display: its usage begins "Usage:".
if [ -x "$demos/gtk-runner" ]; then
    env -u DISPLAY -u WAYLAND_DISPLAY "$demos/gtk-runner" --help >"$tmp/out" 2>"$tmp/err" </dev/null
    rc=$?
    if [ "$rc" -ne 0 ] || ! grep -q '^Usage:' "$tmp/out"; then
        fail "gtk-runner --help exited $rc or printed no usage"
    else
        echo "ok: gtk-runner --help -> 0"
    fi
    expect 2 abc env -u DISPLAY -u WAYLAND_DISPLAY "$demos/gtk-runner" --cancel-after abc
    expect 2 --no-such-option env -u DISPLAY -u WAYLAND_DISPLAY "$demos/gtk-runner" --no-such-option
    expect 2 -5 env -u DISPLAY -u WAYLAND_DISPLAY "$demos/gtk-runner" --limit -5
else
    echo "demos/gtk-runner not built (no GTK 4): not checked"
fi

[ "$status" -eq 0 ] && echo "all demos reject bad arguments and accept --help"
exit "$status"
