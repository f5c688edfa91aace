/* capture_demo: demos/capture's --timeout, --max-memory, --spill, --pty and
 * --lines (the options built on the API beside Python's names). */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#include "common.h"
#include "runner.h"
#include "popen2.h"


/* Runs capture with argv, returns its exit code and its report. */
static int run_capture(char *const argv[], char **report)
{
    popen2_proc *p = popen2_spawnv(argv, NULL);
    int st;

    ck_assert_ptr_nonnull(p);
    st = popen2_communicate(p, NULL, 0, report, NULL, NULL, NULL, 60000);
    ck_assert(WIFEXITED(st));
    popen2_free(p);
    return WEXITSTATUS(st);
}

START_TEST(timeout_kills_the_command_and_its_group)
{
    char script[256];
    char *argv[] = {CAPTURE_DEMO, "--timeout", "3000", "--", "/bin/sh", "-c", script, NULL};
    char *report;

    /* The background grandchild holds stdout for ten minutes: only a group
     * kill lets the demo see EOF before the test's timeout.  Three seconds
     * leave a loaded machine time to run the echo first. */
    snprintf(script, sizeof script, "echo hi; %s sleep 600000 & exec %s sleep 600000", TEST_CHILD,
             TEST_CHILD);
    ck_assert_int_eq(run_capture(argv, &report), 124);
    ck_assert_ptr_nonnull(strstr(report, "stdout:     3 bytes"));
    ck_assert_ptr_nonnull(strstr(report, "killed by signal 9"));
    ck_assert_ptr_nonnull(strstr(report, "timeout:    killed after 3000 ms"));
    free(report);
}
END_TEST

START_TEST(spill_saves_every_byte_with_bounded_memory)
{
    char path[] = "/tmp/popen2-capture-XXXXXX";
    char *argv[] = {CAPTURE_DEMO, "--spill", "--max-memory", "1M", "-o", path, "--", TEST_CHILD,
                    "pattern",    "1",       "50000000",     "41", NULL};
    char *report, *line;
    size_t held;
    unsigned long long spilled;
    FILE *f;
    int fd = mkstemp(path);

    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(run_capture(argv, &report), 0);
    ck_assert_ptr_nonnull(strstr(report, "stdout:     50000000 bytes"));
    line = strstr(report, "memory:     stdout held at most ");
    ck_assert_ptr_nonnull(line);
    ck_assert_int_eq(
        sscanf(line, "memory:     stdout held at most %zu bytes, %llu spilled", &held, &spilled),
        2);
    ck_assert_uint_le(held, 1 << 20);
    ck_assert_uint_ge(spilled, 50000000 - (1 << 20));
    f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(read_pattern(f, 41, 1 << 16), 50000000);
    fclose(f);
    unlink(path);
    free(report);
}
END_TEST

START_TEST(bad_option_values_are_usage_errors)
{
    char *bad_t[] = {CAPTURE_DEMO, "--timeout", "soon", "--", "true", NULL};
    char *bad_m[] = {CAPTURE_DEMO, "--max-memory", "12Q", "--", "true", NULL};
    char *zero_m[] = {CAPTURE_DEMO, "-M", "0", "--", "true", NULL};
    char *report;

    ck_assert_int_eq(run_capture(bad_t, &report), 2);
    free(report);
    ck_assert_int_eq(run_capture(bad_m, &report), 2);
    free(report);
    ck_assert_int_eq(run_capture(zero_m, &report), 2);
    free(report);
}
END_TEST

/* --pty: stdout (only) is a terminal, and its "\r\n" line ends are what
 * was captured. */
START_TEST(pty_gives_the_command_a_terminal_on_stdout)
{
    char *argv[] = {CAPTURE_DEMO, "--pty", "--",
                    "/bin/sh",    "-c",    "test -t 1 && test ! -t 2 && echo tty", NULL};
    char *report;

    ck_assert_int_eq(run_capture(argv, &report), 0);
    ck_assert_ptr_nonnull(strstr(report, "stdout:     5 bytes")); /* "tty\r\n" */
    free(report);
}
END_TEST

/* --lines: each line tagged, in the order written on one stream (merged,
 * or the terminal), the last one without its newline too; a terminal's
 * "\r\n" is printed as one line end. */
START_TEST(lines_are_tagged_in_arrival_order)
{
    char *argv[] = {CAPTURE_DEMO,
                    "--lines",
                    _i ? "--pty" : "--merge",
                    "--",
                    "/bin/sh",
                    "-c",
                    "echo one; echo two; printf 'no newline'",
                    NULL};
    char *report, *one, *two, *last;

    ck_assert_int_eq(run_capture(argv, &report), 0);
    one = strstr(report, "[out] one\n");
    two = strstr(report, "[out] two\n");
    last = strstr(report, "[out] no newline\n");
    ck_assert_msg(one && two && last && one < two && two < last, "report: %s", report);
    ck_assert_ptr_null(strstr(report, "\r")); /* a terminal's line ends, printed once */
    free(report);
}
END_TEST

/* --lines with both streams: stderr's line arrives while stdout waits,
 * and each is tagged with its own stream. */
START_TEST(lines_of_both_streams_carry_their_tags)
{
    char *argv[] = {CAPTURE_DEMO, "--lines", "--", "/bin/sh", "-c", "echo out; echo err >&2",
                    NULL};
    char *report;

    ck_assert_int_eq(run_capture(argv, &report), 0);
    ck_assert_ptr_nonnull(strstr(report, "[out] out\n"));
    ck_assert_ptr_nonnull(strstr(report, "[err] err\n"));
    free(report);
}
END_TEST

static const struct test_case cases[] = {
    TEST(pty, pty_gives_the_command_a_terminal_on_stdout),
    TEST_LOOP(lines, lines_are_tagged_in_arrival_order, 0, 2),
    TEST(lines, lines_of_both_streams_carry_their_tags),
    TEST(capture, timeout_kills_the_command_and_its_group),
    TEST(capture, spill_saves_every_byte_with_bounded_memory),
    TEST(capture, bad_option_values_are_usage_errors),
};

TEST_MAIN("capture_demo", cases, .timeout = 60)
