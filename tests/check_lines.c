/* check_lines: popen2_getline and popen2_getline_any (lib/api/lines.c,
 * lib/core/lines.c): a partial line survives a timeout, a 3 MiB line, the
 * end with and without a final newline, the FILE and the lines kept apart,
 * bad arguments, and the arrival order over both streams.  What they prove
 * with the rest of the library (limits, the event descriptor, a flood on
 * the other stream) is behaviour/line_reads. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "common.h"
#include "runner.h"
#include "popen2.h"
#include "lines.h"

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

START_TEST(a_three_mib_line_comes_whole)
{
    expect_long_line(sh("head -c 3145728 /dev/zero | tr '\\0' a; echo; echo tail", 0), 3 * MIB, 'a');
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

static const struct test_case cases[] = {
    TEST(partial, a_timeout_keeps_the_partial_line),
    TEST(long_lines, a_three_mib_line_comes_whole),
    TEST(eof, the_last_bytes_before_eof_are_a_line_and_eof_stays),
    TEST_LOOP(stdio, the_file_and_the_lines_are_not_mixed, 0, 2),
    TEST(args, bad_arguments_fail_cleanly),
    TEST(any, getline_any_gives_lines_in_arrival_order),
    TEST(any, getline_any_interleaves_as_lines_arrive),
};
TEST_MAIN("lines", cases, .timeout = 60)
