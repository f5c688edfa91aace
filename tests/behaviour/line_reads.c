/* line_reads: popen2_getline and popen2_getline_any across the object, the
 * rings and the event descriptor: a partial line survives a timeout, lines of
 * any length (past a POPEN2_BLOCK limit too), the end with and without a
 * final newline, the FILE and the lines kept apart, bad arguments, the
 * arrival order over both streams, an event loop's wake-ups bounded by the
 * lines, and a flood on the other stream that never wedges the one read. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "common.h"
#include "runner.h"
#include "popen2.h"

#define MIB (1024 * 1024)

static popen2_proc *sh(const char *cmd, int capturestderr)
{
    popen2_proc *p = popen2_Popen3(cmd, capturestderr, -1);

    ck_assert_ptr_nonnull(p);
    return p;
}

/* One byte to the child, which waits for it before its next step. */
static void go_on(popen2_proc *p)
{
    FILE *in = popen2_tochild(p);

    ck_assert_int_ne(fputc('\n', in), EOF);
    ck_assert_int_eq(fflush(in), 0);
}

/* The next line of stdout is `want` ("" for the end). */
static void expect_line(popen2_proc *p, char **line, size_t *cap, int timeout_ms, const char *want)
{
    ck_assert_int_eq(popen2_getline(p, 1, line, cap, timeout_ms), (ssize_t)strlen(want));
    if (*want)
        ck_assert_str_eq(*line, want);
}

static void finish(popen2_proc *p, char *line)
{
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
    free(line);
}

START_TEST(a_timeout_keeps_the_partial_line)
{
    popen2_proc *p = sh("printf abc; read x; printf 'def\\n'", 0);
    char *line = NULL;
    size_t cap = 0;

    ck_assert(EVENTUALLY(popen2_stream_available(p, 1) == 3, 20));
    errno = 0;
    ck_assert_int_eq(popen2_getline(p, 1, &line, &cap, 50), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    ck_assert_int_eq(popen2_getline(p, 1, &line, &cap, 0), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    go_on(p);
    expect_line(p, &line, &cap, -1, "abcdef\n");
    ck_assert_uint_ge(cap, 8);
    expect_line(p, &line, &cap, -1, "");
    finish(p, line);
}
END_TEST

static void expect_long_line(popen2_proc *p, size_t n, char c)
{
    char *line = NULL;
    size_t cap = 0, i;

    ck_assert_int_eq(popen2_getline(p, 1, &line, &cap, -1), (ssize_t)n + 1);
    ck_assert_uint_gt(cap, n + 1 - 1);
    for (i = 0; i < n && line[i] == c; i++)
        ;
    ck_assert_uint_eq(i, n);
    ck_assert_int_eq(line[n], '\n');
    ck_assert_int_eq(line[n + 1], '\0');
    expect_line(p, &line, &cap, -1, "tail\n");
    expect_line(p, &line, &cap, -1, "");
    finish(p, line);
}

START_TEST(a_three_mib_line_comes_whole)
{
    expect_long_line(sh("head -c 3145728 /dev/zero | tr '\\0' a; echo; echo tail", 0), 3 * MIB, 'a');
}
END_TEST

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

START_TEST(the_last_bytes_before_eof_are_a_line_and_eof_stays)
{
    popen2_proc *p = sh("printf 'one\\ntwo'", 0);
    char *line = NULL;
    size_t cap = 0;

    expect_line(p, &line, &cap, -1, "one\n");
    expect_line(p, &line, &cap, -1, "two");
    expect_line(p, &line, &cap, -1, "");
    expect_line(p, &line, &cap, 0, "");
    expect_line(p, &line, &cap, -1, "");
    finish(p, line);
}
END_TEST

START_TEST(the_file_and_the_lines_are_not_mixed)
{
    popen2_proc *p = sh("echo a; echo b", 0);
    FILE *f = popen2_fromchild(p);
    char buf[8], *line = NULL;
    size_t cap = 0;
    int s;

    if (_i == 0) {
        /* The FILE read first: its buffer may hold lines, so no lines. */
        ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
        ck_assert_int_eq(popen2_getline(p, 1, &line, &cap, -1), -1);
        ck_assert_int_eq(errno, EBADF);
        ck_assert_int_eq(popen2_getline_any(p, &s, &line, &cap, -1), -1);
        ck_assert_int_eq(errno, EBADF);
        ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
        ck_assert_str_eq(buf, "b\n");
    } else {
        /* Lines first: a partial line may be kept, so the FILE reads nothing. */
        expect_line(p, &line, &cap, -1, "a\n");
        errno = 0;
        ck_assert_int_eq(fgetc(f), EOF);
        ck_assert(ferror(f));
        ck_assert_int_eq(errno, EBADF);
        expect_line(p, &line, &cap, -1, "b\n");
    }
    finish(p, line);
}
END_TEST

START_TEST(bad_arguments_fail_cleanly)
{
    struct baseline b = baseline();
    popen2_proc *p = sh("echo a", 0);
    char *line = NULL;
    size_t cap = 0;
    int s;

    errno = 0;
    ck_assert_int_eq(popen2_getline(NULL, 1, &line, &cap, -1), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_getline(p, 0, &line, &cap, -1), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_getline(p, 3, &line, &cap, -1), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_getline(p, 1, NULL, &cap, -1), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_getline(p, 1, &line, NULL, -1), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_getline(p, 1, &line, &cap, -2), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_getline(p, 2, &line, &cap, -1), -1); /* stderr not piped */
    ck_assert_int_eq(errno, EBADF);
    ck_assert_int_eq(popen2_getline_any(NULL, &s, &line, &cap, -1), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_getline_any(p, NULL, &line, &cap, -1), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_getline_any(p, &s, NULL, &cap, -1), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_ptr_null(line);
    /* Still usable after all that. */
    ck_assert_int_eq(popen2_getline_any(p, &s, &line, &cap, -1), 2);
    ck_assert_int_eq(s, 1);
    ck_assert_str_eq(line, "a\n");
    finish(p, line);
    assert_back_to(b);
}
END_TEST

START_TEST(getline_any_gives_lines_in_arrival_order)
{
    /* Each line is read by its reader thread before the child is let go to
     * write the next, so the order of arrival is known; all are buffered
     * before the first getline_any. */
    popen2_proc *p = sh("for i in 1 2 3 4 5; do echo o$i; read x; echo e$i >&2; read x; done", 1);
    char *line = NULL, want[8];
    size_t cap = 0;
    ssize_t got[3] = {0, 0, 0};
    int i, s;

    for (i = 0; i < 10; i++) {
        s = i % 2 ? 2 : 1;
        got[s] += 3;
        ck_assert(EVENTUALLY(popen2_stream_available(p, s) == got[s], 20));
        go_on(p);
    }
    for (i = 0; i < 10; i++) {
        snprintf(want, sizeof want, "%c%d\n", i % 2 ? 'e' : 'o', i / 2 + 1);
        ck_assert_int_eq(popen2_getline_any(p, &s, &line, &cap, -1), 3);
        ck_assert_str_eq(line, want);
        ck_assert_int_eq(s, i % 2 ? 2 : 1);
    }
    ck_assert_int_eq(popen2_getline_any(p, &s, &line, &cap, -1), 0);
    ck_assert_int_eq(popen2_getline_any(p, &s, &line, &cap, 0), 0);
    finish(p, line);
}
END_TEST

START_TEST(getline_any_interleaves_as_lines_arrive)
{
    /* Lines read one at a time while the child waits: each getline_any sees
     * exactly one new line, from the stream it was written to. */
    popen2_proc *p = sh("for i in 1 2 3; do echo o$i; read x; echo e$i >&2; read x; done", 1);
    char *line = NULL;
    size_t cap = 0;
    int i, s;

    for (i = 0; i < 6; i++) {
        ck_assert_int_eq(popen2_getline_any(p, &s, &line, &cap, -1), 3);
        ck_assert_int_eq(line[0], i % 2 ? 'e' : 'o');
        ck_assert_int_eq(s, i % 2 ? 2 : 1);
        errno = 0;
        ck_assert_int_eq(popen2_getline_any(p, &s, &line, &cap, 0), -1);
        ck_assert_int_eq(errno, ETIMEDOUT);
        go_on(p);
    }
    ck_assert_int_eq(popen2_getline_any(p, &s, &line, &cap, -1), 0);
    finish(p, line);
}
END_TEST

START_TEST(an_event_loop_wakes_about_once_per_line)
{
    popen2_proc *p = sh("i=0; while [ $i -lt 20 ]; do i=$((i+1)); echo line$i; sleep 0.01; done", 0);
    struct pollfd pfd = {.fd = popen2_event_fd(p), .events = POLLIN};
    char *line = NULL, want[16];
    size_t cap = 0;
    int lines = 0, wakeups = 0, status = -1;
    bool eof = false;
    ssize_t r;

    ck_assert_int_ge(pfd.fd, 0);
    while (!eof || status < 0) {
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
    /* A reader may signal just after the read it announced: at most one
     * empty wake-up per chunk, plus the child's exit. */
    ck_assert_int_le(wakeups, 2 * lines + 4);
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
    TEST(partial, a_timeout_keeps_the_partial_line),
    TEST(long_lines, a_three_mib_line_comes_whole),
    TEST(long_lines, a_line_longer_than_a_block_limit_never_wedges),
    TEST(eof, the_last_bytes_before_eof_are_a_line_and_eof_stays),
    TEST_LOOP(stdio, the_file_and_the_lines_are_not_mixed, 0, 2),
    TEST(args, bad_arguments_fail_cleanly),
    TEST(any, getline_any_gives_lines_in_arrival_order),
    TEST(any, getline_any_interleaves_as_lines_arrive),
    TEST(events, an_event_loop_wakes_about_once_per_line),
    TEST_T(flood, a_flood_on_stderr_never_wedges_lines_on_stdout, 240),
};
TEST_MAIN("line_reads", cases, .timeout = 60)
