/* check_pty: the pseudo-terminal primitives (lib/sys/pty.posix.c), tested
 * directly, without a child: both sides close-on-exec and 3 or above, the
 * size and mode set before anyone opens the slave, the hang-up read as the
 * end after the buffered bytes, and the end of input a terminal gives
 * (VEOF once at the start of a line, twice after a partial one, nothing in
 * raw mode). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "common.h"
#include "runner.h"
#include "popen2.h"
#include "sys/sys.h"

START_TEST(open_gives_both_sides_close_on_exec_above_2)
{
    struct p2i_pty t;
    struct winsize ws;
    struct termios tio;

    ck_assert_int_eq(p2i_pty_open(&t, 24, 80, 0), 0);
    ck_assert_int_ge(t.master, 3);
    ck_assert_int_ge(t.slave, 3);
    ck_assert(fcntl(t.master, F_GETFD) & FD_CLOEXEC);
    ck_assert(fcntl(t.slave, F_GETFD) & FD_CLOEXEC);
    ck_assert(isatty(t.slave));
    ck_assert_int_eq(strncmp(t.path, "/dev/", 5), 0);
    ck_assert_int_eq(ioctl(t.slave, TIOCGWINSZ, &ws), 0);
    ck_assert_int_eq(ws.ws_row, 24);
    ck_assert_int_eq(ws.ws_col, 80);
    /* What a terminal emulator starts with: canonical, echo, CR LF out. */
    ck_assert_int_eq(tcgetattr(t.slave, &tio), 0);
    ck_assert(tio.c_lflag & ICANON);
    ck_assert(tio.c_lflag & ECHO);
    ck_assert(tio.c_oflag & ONLCR);
    p2i_pty_close(&t);
    ck_assert_int_eq(t.master, -1);
    ck_assert_int_eq(t.slave, -1);
    p2i_pty_close(&t); /* a closed one is fine */
}
END_TEST

START_TEST(the_mode_flags_and_a_resize)
{
    struct p2i_pty t;
    struct winsize ws;
    struct termios tio;

    ck_assert_int_eq(p2i_pty_open(&t, 10, 20, POPEN2_PTY_NOECHO), 0);
    ck_assert_int_eq(tcgetattr(t.slave, &tio), 0);
    ck_assert(tio.c_lflag & ICANON);
    ck_assert(!(tio.c_lflag & ECHO));
    ck_assert_int_eq(p2i_pty_resize(t.master, 30, 40), 0);
    ck_assert_int_eq(ioctl(t.slave, TIOCGWINSZ, &ws), 0);
    ck_assert_int_eq(ws.ws_row, 30);
    ck_assert_int_eq(ws.ws_col, 40);
    p2i_pty_close(&t);

    ck_assert_int_eq(p2i_pty_open(&t, 10, 20, POPEN2_PTY_RAW), 0);
    ck_assert_int_eq(tcgetattr(t.slave, &tio), 0);
    ck_assert(!(tio.c_lflag & (ICANON | ECHO)));
    ck_assert(!(tio.c_oflag & OPOST));
    p2i_pty_close(&t);
}
END_TEST

/* What the slave wrote, then 0 once it is closed: never EIO. */
START_TEST(the_hang_up_reads_as_the_end_after_the_bytes)
{
    struct p2i_pty t;
    char buf[64];
    size_t got = 0;
    ssize_t k;

    ck_assert_int_eq(p2i_pty_open(&t, 24, 80, POPEN2_PTY_RAW), 0);
    ck_assert_int_eq(write(t.slave, "bytes", 5), 5);
    t.slave = p2i_fd_close(t.slave);
    while ((k = p2i_pty_read(t.master, buf + got, sizeof buf - got)) > 0)
        got += (size_t)k;
    ck_assert_int_eq(k, 0);
    ck_assert_uint_eq(got, 5);
    ck_assert_int_eq(memcmp(buf, "bytes", 5), 0);
    ck_assert_int_eq(p2i_pty_read(t.master, buf, sizeof buf), 0); /* and again */
    p2i_pty_close(&t);
}
END_TEST

/* Reads the slave's input without blocking: what a reader there gets. */
static ssize_t slave_input(int slave, char *buf, size_t n)
{
    struct pollfd pfd = {.fd = slave, .events = POLLIN};

    if (poll(&pfd, 1, 5000) != 1)
        return -1;
    return read(slave, buf, n);
}

START_TEST(end_of_input_is_veof_at_a_line_start)
{
    struct p2i_pty t;
    char buf[64];

    ck_assert_int_eq(p2i_pty_open(&t, 24, 80, POPEN2_PTY_NOECHO), 0);
    if (_i == 0) {
        /* Nothing pending: the first read gives 0, the end. */
        ck_assert_int_eq(p2i_pty_send_eof(t.master, '\n'), 0);
        ck_assert_int_eq(slave_input(t.slave, buf, sizeof buf), 0);
    } else {
        /* A partial line: the first VEOF hands it over, the second ends. */
        ck_assert_int_eq(write(t.master, "part", 4), 4);
        ck_assert_int_eq(p2i_pty_send_eof(t.master, 't'), 0);
        ck_assert_int_eq(slave_input(t.slave, buf, sizeof buf), 4);
        ck_assert_int_eq(memcmp(buf, "part", 4), 0);
        ck_assert_int_eq(slave_input(t.slave, buf, sizeof buf), 0);
    }
    p2i_pty_close(&t);
}
END_TEST

START_TEST(raw_mode_has_no_end_of_input)
{
    struct p2i_pty t;
    struct pollfd pfd;

    ck_assert_int_eq(p2i_pty_open(&t, 24, 80, POPEN2_PTY_RAW), 0);
    ck_assert_int_eq(p2i_pty_send_eof(t.master, '\n'), 0);
    pfd = (struct pollfd){.fd = t.slave, .events = POLLIN};
    ck_assert_int_eq(poll(&pfd, 1, 100), 0); /* nothing was sent */
    p2i_pty_close(&t);
}
END_TEST

static const struct test_case cases[] = {
    TEST(open, open_gives_both_sides_close_on_exec_above_2),
    TEST(open, the_mode_flags_and_a_resize),
    TEST(read, the_hang_up_reads_as_the_end_after_the_bytes),
    TEST_LOOP(eof, end_of_input_is_veof_at_a_line_start, 0, 2),
    TEST(eof, raw_mode_has_no_end_of_input),
};

TEST_MAIN("pty", cases)
