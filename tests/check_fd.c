/* check_fd: the descriptor helpers (lib/sys/fd.posix.c), tested directly: pipes are
 * close-on-exec and never 0, 1 or 2, a pipe can be grown, and a wake-up
 * descriptor stays readable once signalled. */
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "common.h"
#include "runner.h"
#include "sys/sys.h"

START_TEST(fd_pipe_never_hands_out_0_1_or_2)
{
    int fds[2], saved = dup(0);

    close(0);
    ck_assert_int_eq(p2i_fd_pipe(fds), 0);
    ck_assert_int_ge(fds[0], 3);
    ck_assert_int_ge(fds[1], 3);
    ck_assert(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
    ck_assert(fcntl(fds[1], F_GETFD) & FD_CLOEXEC);
    ck_assert_int_eq(fcntl(0, F_GETFD), -1); /* fd 0 left closed, not taken */
    dup2(saved, 0);
    close(saved);
    close(fds[0]);
    close(fds[1]);
}
END_TEST

START_TEST(fd_grow_pipe_raises_the_capacity)
{
#ifdef F_GETPIPE_SZ
    int fds[2];

    ck_assert_int_eq(p2i_fd_pipe(fds), 0);
    p2i_fd_grow_pipe(fds[0]);
    ck_assert_int_ge(fcntl(fds[0], F_GETPIPE_SZ), 256 * 1024);
    close(fds[0]);
    close(fds[1]);
#endif
}
END_TEST

START_TEST(a_wake_descriptor_becomes_readable_and_stays_so)
{
    struct wake w;
    struct pollfd pfd;

    ck_assert_int_eq(p2i_wake_open(&w), 0);
    ck_assert_int_ge(w.rfd, 3);
    pfd.fd = w.rfd;
    pfd.events = POLLIN;
    ck_assert_int_eq(poll(&pfd, 1, 0), 0);
    p2i_wake_signal(&w);
    p2i_wake_signal(&w);
    ck_assert_int_eq(poll(&pfd, 1, 0), 1);
    ck_assert_int_eq(poll(&pfd, 1, 0), 1);
    p2i_wake_close(&w);
    ck_assert_int_eq(w.rfd, -1);
    p2i_wake_close(&w); /* closing twice is harmless */
}
END_TEST

static const struct test_case cases[] = {
    TEST(fd, fd_pipe_never_hands_out_0_1_or_2),
    TEST(fd, fd_grow_pipe_raises_the_capacity),
    TEST(fd, a_wake_descriptor_becomes_readable_and_stays_so),
};

TEST_MAIN("fd", cases, .timeout = 30)
