/* terminal: a child on a pseudo-terminal (POPEN2_PTY) behaves as under a
 * terminal emulator, and the library reads it as it reads a pipe: isatty
 * on those streams only, the terminal is the controlling one of a session
 * the child leads, stdio's line buffering makes lines arrive as printed,
 * every byte arrives however fast the child exits (the hang-up is EOF, not
 * an error), the size and its changes (SIGWINCH), echo, VEOF at fclose of
 * tochild, limits and communicate; nothing leaks over many objects, and bad
 * input is refused.  The terminal's own primitives are check_pty's. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "baseline.h"
#include "children.h"
#include "common.h"
#include "runner.h"
#include "popen2.h"

#define MIB (1024 * 1024)

/* A child of tests/child with streams 0, 1, 2 as hows says, on a terminal
 * of the given flags (-1: the attr's defaults). */
static popen2_proc *on_terminal(char *const argv[], const int hows[3], int flags)
{
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;
    int i;

    ck_assert_ptr_nonnull(a);
    for (i = 0; i < 3; i++)
        ck_assert_int_eq(popen2_attr_set_stream(a, i, hows[i]), 0);
    if (flags >= 0)
        ck_assert_int_eq(popen2_attr_set_pty(a, 24, 80, flags), 0);
    p = popen2_spawnv(argv, a);
    popen2_attr_free(a);
    ck_assert_msg(p != NULL, "spawn: %s", strerror(errno));
    return p;
}

static const int OUT_PTY[3] = {POPEN2_PIPE, POPEN2_PTY, POPEN2_PIPE};
static const int IN_OUT_PTY[3] = {POPEN2_PTY, POPEN2_PTY, POPEN2_PIPE};
static const int ALL_PTY[3] = {POPEN2_PTY, POPEN2_PTY, POPEN2_PTY};

/* Everything of stream `stream` up to EOF, NUL-terminated. */
static char *read_to_end(popen2_proc *p, int stream, size_t *len)
{
    size_t n = 0, cap = 4096;
    char *buf = malloc(cap + 1);
    ssize_t k;

    ck_assert_ptr_nonnull(buf);
    for (;;) {
        if (cap - n < 4096) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            ck_assert_ptr_nonnull(buf);
        }
        k = popen2_readinto(p, stream, buf + n, cap - n);
        ck_assert_msg(k >= 0, "readinto: %s", strerror(errno));
        if (k == 0)
            break;
        n += (size_t)k;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static void expect_exit(popen2_proc *p, int code)
{
    int st = popen2_wait(p);

    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == code, "status %#x, want exit %d", st, code);
}

/* Reads stdout to the end, which must hold `want`; the child exits 0 and p
 * is freed. */
static void expect_said(popen2_proc *p, const char *want)
{
    char *out = read_to_end(p, 1, NULL);

    ck_assert_msg(strstr(out, want) != NULL, "child said: %s", out);
    free(out);
    expect_exit(p, 0);
    popen2_free(p);
}

START_TEST(isatty_holds_on_the_terminal_streams_only)
{
    popen2_proc *p = on_terminal(CHILD("tty"), OUT_PTY, -1);

    /* stdin and stderr stay pipes; stderr is not merged. */
    ck_assert_ptr_nonnull(popen2_childerr(p));
    expect_said(p, "tty 0 1 0\r\n");
    p = on_terminal(CHILD("tty"), ALL_PTY, -1);
    ck_assert_ptr_null(popen2_childerr(p)); /* merged into fromchild */
    expect_said(p, "tty 1 1 1\r\n");
}
END_TEST

/* The child leads a new session whose controlling terminal is ours, on
 * both spawn paths (a umask takes the second one). */
START_TEST(the_terminal_controls_the_session_the_child_leads)
{
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;

    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(popen2_attr_set_stream(a, 1, POPEN2_PTY), 0);
    if (_i == 1)
        ck_assert_int_eq(popen2_attr_set_umask(a, 022), 0);
    p = popen2_spawnv(CHILD("tty"), a);
    popen2_attr_free(a);
    ck_assert_ptr_nonnull(p);
    expect_said(p, "ctty 1 1\r\n");
}
END_TEST

/* stdio line-buffers a terminal: each line arrives while the child still
 * waits for the next input line, which it gets only once the test has its
 * line.  On a pipe the same child's stdout is fully buffered, so nothing
 * arrives before it exits. */
START_TEST(lines_arrive_as_printed_on_a_terminal_not_on_a_pipe)
{
    static const int out_pipe[3] = {POPEN2_PIPE, POPEN2_PIPE, POPEN2_INHERIT};
    popen2_proc *p = on_terminal(CHILD("prompt", "3"), OUT_PTY, -1);
    FILE *in = popen2_tochild(p);
    char *line = NULL, want[32];
    size_t cap = 0;
    int i;

    for (i = 1; i <= 3; i++) {
        ck_assert_int_gt(popen2_getline(p, 1, &line, &cap, 20000), 0);
        snprintf(want, sizeof want, "line %d\r\n", i);
        ck_assert_str_eq(line, want);
        fputs("go\n", in);
        fflush(in);
    }
    ck_assert_int_eq(popen2_getline(p, 1, &line, &cap, 20000), 0);
    expect_exit(p, 0);
    popen2_free(p);

    p = on_terminal(CHILD("prompt", "3"), out_pipe, -1);
    ck_assert_int_eq(popen2_getline(p, 1, &line, &cap, 300), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    ck_assert_int_eq(popen2_poll(p), -1); /* it waits for its input */
    fclose(popen2_tochild(p));
    ck_assert_int_gt(popen2_getline(p, 1, &line, &cap, 20000), 0);
    ck_assert_str_eq(line, "line 1\n");
    expect_exit(p, 0);
    popen2_free(p);
    free(line);
}
END_TEST

/* A line each 200 ms: the first arrives well before the end (in less than
 * half of the run, whose last 1.4 s are the child's sleeps after it),
 * measured against the run itself. */
START_TEST(the_first_line_arrives_long_before_the_end)
{
    popen2_proc *p = on_terminal(CHILD("lines", "8", "200"), OUT_PTY, -1);
    double t0 = now_s(), first = -1, end;
    char *line = NULL;
    size_t cap = 0;
    ssize_t r;
    int n = 0;

    while ((r = popen2_getline(p, 1, &line, &cap, 20000)) > 0) {
        if (n++ == 0)
            first = now_s() - t0;
    }
    end = now_s() - t0;
    ck_assert_int_eq(r, 0);
    ck_assert_int_eq(n, 8);
    ck_assert_msg(first < end / 2, "first line after %.3f s of %.3f s", first, end);
    expect_exit(p, 0);
    popen2_free(p);
    free(line);
}
END_TEST

/* 1 MiB and an immediate exit: every byte, then EOF (the hang-up's EIO is
 * the end, not an error); raw mode, so the bytes pass unchanged.  Read by
 * the caller's large direct reads (_i 0), the FILE through the reader
 * thread (1), and communicate (2). */
START_TEST(a_mebibyte_then_exit_arrives_whole)
{
    int round;

    for (round = 0; round < 5; round++) {
        popen2_proc *p = on_terminal(CHILD("pattern", "1", "1048576", "7"), OUT_PTY, POPEN2_PTY_RAW);
        char *out = NULL;
        size_t len = 0;

        if (_i == 0) {
            out = read_to_end(p, 1, &len);
        } else if (_i == 1) {
            FILE *f = popen2_fromchild(p);

            out = read_all(f, &len);
            ck_assert(feof(f) && !ferror(f));
        } else {
            ck_assert_int_eq(popen2_communicate(p, NULL, 0, &out, &len, NULL, NULL, 20000), 0);
        }
        ck_assert_uint_eq(len, MIB);
        ck_assert_uint_eq(pattern_check((unsigned char *)out, len, 7, 0), len);
        errno = 0;
        if (_i == 0) {
            char c;

            ck_assert_int_eq(popen2_readinto(p, 1, &c, 1), 0); /* EOF again */
            ck_assert_int_eq(errno, 0);
        }
        free(out);
        expect_exit(p, 0);
        popen2_free(p);
    }
}
END_TEST

START_TEST(the_size_is_24x80_or_as_set)
{
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;

    expect_said(on_terminal(CHILD("tty"), OUT_PTY, -1), "size 24 80\r\n");
    ck_assert_int_eq(popen2_attr_set_stream(a, 1, POPEN2_PTY), 0);
    ck_assert_int_eq(popen2_attr_set_pty(a, 40, 132, 0), 0);
    p = popen2_spawnv(CHILD("tty"), a);
    popen2_attr_free(a);
    ck_assert_ptr_nonnull(p);
    expect_said(p, "size 40 132\r\n");
}
END_TEST

START_TEST(a_resize_reaches_the_child_with_sigwinch)
{
    popen2_proc *p = on_terminal(CHILD("winch", "20000"), OUT_PTY, -1);
    char *line = NULL;
    size_t cap = 0;

    /* Its handler is in place once it printed its size. */
    ck_assert_int_gt(popen2_getline(p, 1, &line, &cap, 20000), 0);
    ck_assert_str_eq(line, "size 24 80\r\n");
    ck_assert_int_eq(popen2_pty_resize(p, 50, 100), 0);
    ck_assert_int_gt(popen2_getline(p, 1, &line, &cap, 20000), 0);
    ck_assert_str_eq(line, "winch 50 100\r\n");
    expect_exit(p, 0);
    popen2_free(p);
    free(line);
}
END_TEST

/* A terminal echoes input (before the child reads it), unless NOECHO. */
START_TEST(echo_on_by_default_off_with_noecho)
{
    popen2_proc *p = on_terminal(CHILD("echo"), IN_OUT_PTY, _i ? POPEN2_PTY_NOECHO : -1);
    FILE *in = popen2_tochild(p);
    char *out;

    fputs("hello\n", in);
    fclose(in);
    out = read_to_end(p, 1, NULL);
    ck_assert_str_eq(out, _i ? "hello\r\n" : "hello\r\nhello\r\n");
    free(out);
    expect_exit(p, 0);
    popen2_free(p);
}
END_TEST

/* fclose of tochild ends `cat` as ctrl-D at a terminal does: after a whole
 * line, after a partial one (VEOF twice), and with nothing written. */
START_TEST(closing_tochild_sends_end_of_file)
{
    static const char *const input[] = {"a line\n", "partial", ""};
    popen2_proc *p = on_terminal(CHILD("cat"), IN_OUT_PTY, POPEN2_PTY_NOECHO);
    char *out;

    fputs(input[_i], popen2_tochild(p));
    fclose(popen2_tochild(p));
    out = read_to_end(p, 1, NULL);
    ck_assert_str_eq(out, _i == 0 ? "a line\r\n" : input[_i]);
    free(out);
    expect_exit(p, 0);
    popen2_free(p);
}
END_TEST

/* Limits apply to the terminal's ring as to a pipe's: KEEP_TAIL keeps the
 * newest bytes, FAIL ends the stream with ENOBUFS. */
START_TEST(a_limit_applies_to_the_terminal_stream)
{
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;
    char *out;
    size_t len;
    int r;

    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(popen2_attr_set_stream(a, 1, POPEN2_PTY), 0);
    ck_assert_int_eq(popen2_attr_set_pty(a, 24, 80, POPEN2_PTY_RAW), 0);
    ck_assert_int_eq(popen2_attr_set_limit(a, 1, 4096, _i ? POPEN2_FAIL : POPEN2_KEEP_TAIL), 0);
    p = popen2_spawnv(CHILD("pattern", "1", "262144", "3"), a);
    popen2_attr_free(a);
    ck_assert_ptr_nonnull(p);
    r = popen2_communicate(p, NULL, 0, &out, &len, NULL, NULL, 20000);
    if (_i == 0) {
        ck_assert_int_eq(r, 0);
        ck_assert_uint_eq(len, 4096);
        ck_assert_uint_eq(pattern_check((unsigned char *)out, len, 3, 262144 - 4096), len);
        free(out);
    } else {
        ck_assert_int_eq(r, -1);
        ck_assert_int_eq(errno, ENOBUFS);
    }
    popen2_free(p);
}
END_TEST

/* communicate feeds the terminal (VEOF at the end of the input) and
 * gathers it, with stderr on its own pipe. */
START_TEST(communicate_through_the_terminal)
{
    popen2_proc *p = on_terminal(CHILD("cat"), IN_OUT_PTY, POPEN2_PTY_NOECHO);
    char *out = NULL, *err = NULL;
    size_t olen, elen;

    ck_assert_int_eq(popen2_communicate(p, "one\ntwo\n", 8, &out, &olen, &err, &elen, 20000), 0);
    ck_assert_str_eq(out, "one\r\ntwo\r\n");
    ck_assert_uint_eq(elen, 0);
    free(out);
    free(err);
    popen2_free(p);
}
END_TEST

/* Many objects, read to the end or freed while the child runs (the
 * hang-up then ends it with SIGHUP, as closing a terminal window does):
 * no descriptor, thread or child is left. */
START_TEST(nothing_leaks_over_many_terminals)
{
    struct baseline b = baseline();
    int i;

    for (i = 0; i < 40; i++) {
        popen2_proc *p;

        if (i % 2) {
            p = on_terminal(CHILD("sleep", "60000"), ALL_PTY, -1);
            ck_assert_int_ge(popen2_pty_fd(p), 3);
        } else {
            char *out;

            p = on_terminal(CHILD("tty"), IN_OUT_PTY, -1);
            out = read_to_end(p, 1, NULL);
            free(out);
            expect_exit(p, 0);
        }
        popen2_free(p);
    }
    assert_back_to(b);
}
END_TEST

START_TEST(bad_input_is_refused)
{
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;

    ck_assert_ptr_nonnull(a);
    errno = 0;
    ck_assert_int_eq(popen2_attr_set_pty(NULL, 24, 80, 0), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_attr_set_pty(a, 0, 80, 0), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_attr_set_pty(a, 24, 0, 0), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_attr_set_pty(a, 24, 80, 4), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_attr_set_stream(a, 3, POPEN2_PTY), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_pty_fd(NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_pty_resize(NULL, 24, 80), -1);
    ck_assert_int_eq(errno, EINVAL);

    /* An object without a terminal. */
    p = popen2_spawnv(CHILD("exit", "0"), a);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(popen2_pty_fd(p), -1);
    ck_assert_int_eq(errno, EBADF);
    ck_assert_int_eq(popen2_pty_resize(p, 24, 80), -1);
    ck_assert_int_eq(errno, EBADF);
    expect_exit(p, 0);
    popen2_free(p);

    /* One with: a zero size is still refused. */
    ck_assert_int_eq(popen2_attr_set_stream(a, 1, POPEN2_PTY), 0);
    p = popen2_spawnv(CHILD("exit", "0"), a);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(popen2_pty_resize(p, 0, 80), -1);
    ck_assert_int_eq(errno, EINVAL);
    expect_exit(p, 0);
    popen2_free(p);
    popen2_attr_free(a);
}
END_TEST

static const struct test_case cases[] = {
    TEST(isatty, isatty_holds_on_the_terminal_streams_only),
    TEST_LOOP(ctty, the_terminal_controls_the_session_the_child_leads, 0, 2),
    TEST(lines, lines_arrive_as_printed_on_a_terminal_not_on_a_pipe),
    TEST(lines, the_first_line_arrives_long_before_the_end),
    TEST_LOOP(whole, a_mebibyte_then_exit_arrives_whole, 0, 3),
    TEST(size, the_size_is_24x80_or_as_set),
    TEST(size, a_resize_reaches_the_child_with_sigwinch),
    TEST_LOOP(echo, echo_on_by_default_off_with_noecho, 0, 2),
    TEST_LOOP(eof, closing_tochild_sends_end_of_file, 0, 3),
    TEST_LOOP(limits, a_limit_applies_to_the_terminal_stream, 0, 2),
    TEST(communicate, communicate_through_the_terminal),
    TEST_T(leaks, nothing_leaks_over_many_terminals, 60),
    TEST(bad_input, bad_input_is_refused),
};

TEST_MAIN("terminal", cases, .timeout = 30)
