/* line_reads: popen2_getline with the rest of the library: a line longer
 * than a POPEN2_BLOCK limit never wedges the stream, an event loop on
 * popen2_event_fd wakes about once per line, and a flood on stderr never
 * wedges lines read on stdout.  The calls themselves are check_lines's. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "runner.h"
#include "popen2.h"
#include "lines.h"

START_TEST(a_line_longer_than_a_block_limit_never_wedges)
{
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;

    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(popen2_attr_set_limit(a, 1, 64 * 1024, POPEN2_BLOCK), 0);
    p = popen2_spawn("head -c 1048576 /dev/zero | tr '\\0' b; echo; echo tail", a);
    popen2_attr_free(a);
    ck_assert_ptr_nonnull(p);
    expect_long_line(p, MIB, 'b');
}
END_TEST

START_TEST(an_event_loop_wakes_about_once_per_line)
{
    /* The child closes stdout a while before it exits, so the loop always
     * meets an EOF with the child not yet reapable. */
    popen2_proc *p = sh("i=0; while [ $i -lt 20 ]; do i=$((i+1)); echo line$i; sleep 0.01; done;"
                        " exec >&-; sleep 0.2",
                        0);
    struct pollfd pfd = {.fd = popen2_event_fd(p), .events = POLLIN};
    char *line = NULL, want[16];
    size_t cap = 0;
    int lines = 0, wakeups = 0, status = -1;
    bool eof = false;
    ssize_t r;

    ck_assert_int_ge(pfd.fd, 0);
    while (!eof || status < 0) {
        /* Without pidfds (valgrind does not know pidfd_open) the exit is no
         * event, as popen2_event_fd says: the stdout EOF can come before
         * the child is reapable, and the loop then waits for the exit. */
        if (eof && !exit_is_an_event()) {
            status = popen2_wait(p);
            break;
        }
        ck_assert_int_eq(poll(&pfd, 1, 20000), 1);
        wakeups++;
        while (!eof && (r = popen2_getline(p, 1, &line, &cap, 0)) != -1) {
            if (r == 0) {
                eof = true;
                break;
            }
            snprintf(want, sizeof want, "line%d\n", ++lines);
            ck_assert_str_eq(line, want);
        }
        if (!eof)
            ck_assert_int_eq(errno, ETIMEDOUT);
        if (status < 0)
            status = popen2_poll(p);
        ck_assert_int_lt(wakeups, 1000); /* a spinning loop fails here, not by timeout */
    }
    ck_assert_int_eq(lines, 20);
    ck_assert_int_eq(status, 0);
    /* Each line is one chunk; a chunk wakes the loop for itself, at most
     * once more when its reader signals just after the read it announced,
     * or when a re-arm finds it; plus the end and the child's exit.  A loop
     * that spun would count thousands. */
    ck_assert_int_le(wakeups, 3 * lines + 4);
    popen2_free(p);
    free(line);
}
END_TEST

START_TEST(a_flood_on_stderr_never_wedges_lines_on_stdout)
{
    popen2_proc *p = sh("echo first; yes flood | head -c 104857600 >&2; echo last", 1);
    struct popen2_stream_stats st;
    char *line = NULL;
    size_t cap = 0;

    expect_line(p, &line, &cap, -1, "first\n");
    expect_line(p, &line, &cap, -1, "last\n");
    expect_line(p, &line, &cap, -1, "");
    /* Every byte of the flood was drained meanwhile, none lost. */
    ck_assert(EVENTUALLY(popen2_stream_stats(p, 2, &st) == 0 && st.total == 100 * MIB, 60));
    finish(p, line);
}
END_TEST

static const struct test_case cases[] = {
    TEST(long_lines, a_line_longer_than_a_block_limit_never_wedges),
    TEST(events, an_event_loop_wakes_about_once_per_line),
    TEST_T(flood, a_flood_on_stderr_never_wedges_lines_on_stdout, 240),
};
TEST_MAIN("line_reads", cases, .timeout = 60)
