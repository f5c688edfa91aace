#!/bin/sh
# demos/gtk-runner end to end, on a virtual X server (xvfb-run):
#  1. seq 1 100000 on the terminal (the default): the view's last line is
#     "100000", exit status 0, every byte counted (the terminal's CR LF);
#  2. yes | head -c 1G with a KEEP_TAIL limit of 4 MiB per stream: the
#     demo's peak RSS stays under its idle peak (measured in this run, so no
#     absolute number) plus both limits plus a margin, and its 50 ms timer
#     keeps ticking at a quarter of its rate or better throughout;
#  3. Cancel on sh -c 'sleep 100 & sleep 100' ends the whole process group,
#     and so does Cancel on a group that ignores SIGTERM (SIGKILL after the
#     grace period), also when the shell has already exited;
#  4. the screenshot of run 1 is a PNG of a real size, not one colour
#     (checked by the demo's own --check-png: no Python, no new dependency);
#  5. the terminal: SGR colour sequences become text tags (red, bold green)
#     and no ESC byte reaches the view; the tool's stdout is a terminal, and
#     with --no-terminal a pipe.
# The flood and the Cancel of a shell that exited run with --no-terminal:
# the first measures the library's pipes, and in the second the shell's
# exit would hang the terminal up, so SIGHUP would end its child before
# Cancel could show the group kill.
# The figures (RSS, tick rates, Cancel times) are printed for the log.
# Skips (exit 77) when the demo was not built (no GTK 4 at configure time) or
# xvfb-run / xauth is missing.
#
# Also skipped in a ThreadSanitizer build: GTK and GLib are not instrumented,
# so TSan sees their threads' accesses without their synchronisation and
# reports races inside them that are not there.  (An ASan build runs.)
#
# Environment (set by Makefile.am's SH_LOG_COMPILER): GTK_RUNNER (the demo,
# empty when not built), XVFB_RUN, SANITIZE_CFLAGS.
set -u
: "${GTK_RUNNER:=}" "${XVFB_RUN:=}" "${SANITIZE_CFLAGS:=}"

if [ -z "${GTK_RUNNER_ON_XVFB:-}" ]; then
    if [ -z "$GTK_RUNNER" ] || [ ! -x "$GTK_RUNNER" ]; then
        echo "SKIP: demos/gtk-runner was not built (configure found no usable GTK 4)"
        exit 77
    fi
    case " $SANITIZE_CFLAGS " in
    *-fsanitize=*thread*)
        echo "SKIP: ThreadSanitizer build (GTK and GLib are not instrumented for it)"
        exit 77
        ;;
    esac
    [ -n "$XVFB_RUN" ] || XVFB_RUN=$(command -v xvfb-run) || true
    if [ -z "$XVFB_RUN" ] || [ ! -x "$XVFB_RUN" ] || ! command -v xauth >/dev/null 2>&1; then
        echo "SKIP: xvfb-run or xauth not found (Debian: apt-get install xvfb xauth)"
        exit 77
    fi
    # Every run below shares one server.
    GTK_RUNNER_ON_XVFB=1 GTK_RUNNER=$GTK_RUNNER
    export GTK_RUNNER_ON_XVFB GTK_RUNNER
    exec "$XVFB_RUN" -a -s "-screen 0 1280x1024x24" "${SHELL:-/bin/sh}" "$0"
fi

# The X server of xvfb-run, whatever the session around us is; no
# accessibility bus to look for.
unset WAYLAND_DISPLAY
GDK_BACKEND=x11 GTK_A11Y=none NO_AT_BRIDGE=1
export GDK_BACKEND GTK_A11Y NO_AT_BRIDGE
# In an ASan build: GTK, GLib and fontconfig keep allocations for the life
# of the process, which LeakSanitizer reports at exit (the library's own
# leaks are the Check suites' business); and ASan holds up to 256 MiB of
# freed memory back to catch use after free, which would count as the
# demo's RSS during the flood.  (Later options win.)
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0:quarantine_size_mb=16"
export ASAN_OPTIONS

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
status=0
fail() { echo "FAIL: $*"; status=1; }
ms() { echo $(($(date +%s%N) / 1000000)); }
t_all=$(ms)

# A hung demo fails the test instead of hanging make check.  Ten minutes:
# the flood takes about a second on a quiet machine, but GTK's start alone
# took 20 s and the flood over two minutes here under a load of 13.
guard=
command -v timeout >/dev/null 2>&1 && guard="timeout -k 5 600"

# run NAME ARGS...: the demo with ARGS, its report in $tmp/NAME.
run() {
    name=$1
    shift
    if ! $guard "$GTK_RUNNER" "$@" >"$tmp/$name" 2>"$tmp/$name.err"; then
        fail "$name: gtk-runner $* exited with $?"
        cat "$tmp/$name.err"
    fi
}
val() { sed -n "s/^$2=//p" "$tmp/$1" | head -n 1; }
# expect NAME KEY VALUE WHAT: the run NAME reported KEY=VALUE, or WHAT failed.
expect() {
    [ "$(val "$1" "$2")" = "$3" ] || fail "$1: $4 ($2 is '$(val "$1" "$2")', expected '$3')"
}
rate() { awk -v t="$1" -v m="$2" 'BEGIN { printf "%.1f", (m > 0 ? t * 1000 / m : 0) }'; }

# The members of a process group, from /proc (no procps needed).  The
# command name may hold spaces and parentheses: the fields after the last
# ") " are state, ppid, pgrp.
group_members() {
    awk -v pg="$1" '{ sub(/.*\) /, ""); if ($3 == pg) print FILENAME }' \
        /proc/[0-9]*/stat 2>/dev/null | sed 's|/proc/\([0-9]*\)/stat|\1|'
}

# wait_group_gone PGID: 0 once no process of the group is left (20 s at most).
wait_group_gone() {
    i=0
    while [ -n "$(group_members "$1")" ]; do
        i=$((i + 1))
        if [ $i -gt 100 ]; then
            echo "left in group $1: $(group_members "$1" | tr '\n' ' ')"
            kill -KILL -- "-$1" 2>/dev/null
            return 1
        fi
        sleep 0.2
    done
    return 0
}

# cancel_run NAME COMMAND: runs COMMAND and presses Cancel after 300 ms;
# sets t0 (the start) and pgid (the command's process group, which must be
# reported).
cancel_run() {
    t0=$(ms)
    run "$1" --run "$2" --cancel-after 300 --quit-when-done ${3:-}
    pgid=$(val "$1" pgid)
    [ "${pgid:-0}" -gt 1 ] || fail "$1: no process group reported"
}

# --- idle baseline: the same window, a command that only waits -------------
run idle --run 'sleep 1' --quit-when-done
idle_kb=$(val idle peak_rss_kb)
tick_ms=$(val idle tick_ms)
idle_rate=$(rate "$(val idle run_ticks)" "$(val idle run_ms)")
echo "idle: peak RSS ${idle_kb} kB, $(val idle run_ticks) ticks in $(val idle run_ms) ms" \
    "(${idle_rate}/s; nominal $((1000 / ${tick_ms:-50}))/s)"

# --- 1. seq 1 100000, with the screenshot of 4 ------------------------------
run seq --run 'seq 1 100000' --quit-when-done --screenshot "$tmp/shot.png"
expect seq status 0 "the exit status"
expect seq last_line 100000 "the view's last line"
# 1..9: 2 bytes a line, 10..99: 3, ... 100000: 7 (588895), plus the
# terminal's CR before each of the 100000 LFs.
expect seq bytes 688895 "the byte count"
echo "seq 1 100000: status $(val seq status), last line '$(val seq last_line)'," \
    "$(val seq bytes) bytes in $(val seq run_ms) ms"

# --- 2. 1 GiB flood under a 4 MiB tail --------------------------------------
limit_mib=4
margin_mib=64
run flood --run 'yes | head -c 1G' --limit $limit_mib --no-terminal --quit-when-done
flood_kb=$(val flood peak_rss_kb)
expect flood status 0 "the exit status"
expect flood bytes 1073741824 "the byte count (1 GiB)"
expect flood last_line y "the view's last line"
# Both streams may hold their limit; the margin covers the view's bounded
# tail, the read buffer and allocator slack.
bound_kb=$((${idle_kb:-0} + 2 * limit_mib * 1024 + margin_mib * 1024))
echo "flood: peak RSS ${flood_kb} kB (idle ${idle_kb} kB, +$((${flood_kb:-0} - ${idle_kb:-0})) kB;" \
    "limit ${limit_mib} MiB per stream; bound ${bound_kb} kB)," \
    "high water $(val flood high_water) bytes, dropped $(val flood dropped)"
[ -n "$flood_kb" ] && [ -n "$idle_kb" ] && [ "$flood_kb" -le "$bound_kb" ] ||
    fail "flood: peak RSS ${flood_kb} kB over idle + limits + margin (${bound_kb} kB)"
run_ticks=$(val flood run_ticks)
run_ms=$(val flood run_ms)
echo "flood: $run_ticks ticks in $run_ms ms ($(rate "$run_ticks" "$run_ms")/s," \
    "idle ${idle_rate}/s), longest gap $(val flood max_tick_gap_ms) ms"
# A quarter of the nominal rate, one tick of slack for the rounding of a
# short run.
[ -n "$run_ticks" ] && [ $(((run_ticks + 1) * ${tick_ms:-50} * 4)) -ge "${run_ms:-1}" ] ||
    fail "flood: $run_ticks ticks in $run_ms ms, under a quarter of one per ${tick_ms} ms"

# --- 3. Cancel ends the whole process group --------------------------------
cancel_run cancel 'sleep 100 & sleep 100'
[ "$(val cancel signal)" != 0 ] || [ "$(val cancel status)" != none ] ||
    fail "cancel: the command did not end"
wait_group_gone "$pgid" || fail "cancel: processes of group $pgid survived Cancel"
echo "cancel: group gone; Cancel to end of run $(val cancel cancel_ms) ms" \
    "(signal $(val cancel signal), SIGKILL needed: $(val cancel killed)); whole run $(($(ms) - t0)) ms"

cancel_run cancel-kill 'trap "" TERM; sleep 100 & sleep 100'
expect cancel-kill killed 1 "SIGTERM was ignored, yet no SIGKILL followed"
expect cancel-kill signal 9 "the signal that ended it"
wait_group_gone "$pgid" || fail "cancel-kill: processes of group $pgid survived SIGKILL"
echo "cancel (SIGTERM ignored): group gone; Cancel to end of run $(val cancel-kill cancel_ms) ms" \
    "(SIGKILL after the grace period); whole run $(($(ms) - t0)) ms"

# The shell has exited (and was reaped) while a child that ignores SIGTERM
# holds its stdout: the group is killed by its id after the grace period.
cancel_run cancel-orphan 'trap "" TERM; sleep 100 & echo started' --no-terminal
expect cancel-orphan status 0 "the shell's status"
expect cancel-orphan killed 1 "no SIGKILL after the grace period"
wait_group_gone "$pgid" || fail "cancel-orphan: the shell's child in group $pgid survived"
echo "cancel (shell gone, its child holds the pipe): group gone; Cancel to end of run" \
    "$(val cancel-orphan cancel_ms) ms; whole run $(($(ms) - t0)) ms"

# --- 4. the screenshot ------------------------------------------------------
if [ -f "$tmp/shot.png" ]; then
    size=$(wc -c <"$tmp/shot.png")
    "$GTK_RUNNER" --check-png "$tmp/shot.png" >"$tmp/png" 2>&1 || { cat "$tmp/png"; fail "png: not readable"; }
    w=$(val png png_width)
    h=$(val png png_height)
    colours=$(val png png_colours | tr -d +)
    echo "screenshot: $size bytes, ${w}x${h}, ${colours} colours or more;" \
        "$(val seq screenshot_tries) tries"
    [ "$size" -gt 4096 ] || fail "screenshot: only $size bytes"
    [ "${w:-0}" -ge 300 ] && [ "${h:-0}" -ge 200 ] || fail "screenshot: ${w}x${h} is too small"
    [ "${colours:-0}" -ge 16 ] || fail "screenshot: ${colours} colours: blank, not a rendered window"
else
    fail "screenshot: no file"
fi

# --- 5. the terminal ---------------------------------------------------------
run colour --run "printf '\\033[31mred\\033[0m plain \\033[1;32mbold green\\033[0m\\033[K\\n'" \
    --quit-when-done
expect colour status 0 "the exit status"
expect colour last_line "red plain bold green" "the text without its escape sequences"
expect colour escapes 0 "ESC bytes in the view"
expect colour sgr_tags "fg1,fg2,bold" "the colour tags applied"
echo "colour: last line '$(val colour last_line)', tags $(val colour sgr_tags)," \
    "$(val colour escapes) ESC bytes in the view"
run tty --run 'test -t 1 && echo terminal || echo pipe' --quit-when-done
expect tty last_line terminal "stdout on the terminal"
expect tty terminal 1 "Terminal on by default"
run pipe --run 'test -t 1 && echo terminal || echo pipe' --no-terminal --quit-when-done
expect pipe last_line pipe "stdout on a pipe with --no-terminal"
expect pipe terminal 0 "Terminal off with --no-terminal"

echo "total: $(($(ms) - t_all)) ms"
exit $status
