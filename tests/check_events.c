/* check_events: popen2_event_fd, popen2_read, popen2_stream_available:
 * a descriptor an event loop can watch, level-triggered, that never spins
 * once everything is read and the child reaped. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "common.h"
#include "runner.h"
#include "children.h"
#include "popen2.h"
#include "seccomp.h"

static bool readable(int fd, int ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};

    return poll(&pfd, 1, ms) == 1 && (pfd.revents & POLLIN);
}

/* The child of argv through popen2_spawnv, with stderr piped beside stdout. */
static popen2_proc *spawn_both_piped(char *const argv[])
{
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;

    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(popen2_attr_set_stream(a, 2, POPEN2_PIPE), 0);
    p = popen2_spawnv(argv, a);
    popen2_attr_free(a);
    ck_assert_ptr_nonnull(p);
    return p;
}

START_TEST(event_fd_follows_output_eof_and_exit)
{
    char *argv[] = {TEST_CHILD, "echo", NULL};
    popen2_proc *p = popen2_spawnv(argv, NULL);
    char buf[64];
    int efd, st;

    ck_assert_ptr_nonnull(p);
    efd = popen2_event_fd(p);
    ck_assert_int_ge(efd, 3);
    ck_assert_int_eq(popen2_event_fd(p), efd); /* the same one every time */
    ck_assert(!readable(efd, 100));            /* nothing happened yet */
    ck_assert_int_eq(popen2_read(p, 1, buf, sizeof buf), -1);
    ck_assert_int_eq(errno, EAGAIN);

    fputs("hello\n", popen2_tochild(p));
    fflush(popen2_tochild(p));
    ck_assert(readable(efd, 10000));
    ck_assert(EVENTUALLY(popen2_stream_available(p, 1) == 6, 5));
    ck_assert_int_eq(popen2_read(p, 1, buf, sizeof buf), 6);
    ck_assert_int_eq(memcmp(buf, "hello\n", 6), 0);
    /* Read to EAGAIN: quiet again, no spinning. */
    ck_assert_int_eq(popen2_read(p, 1, buf, sizeof buf), -1);
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert(!readable(efd, 100));

    /* EOF on stdin: the child ends; its EOF and its exit wake the loop. */
    fclose(popen2_tochild(p));
    ck_assert(readable(efd, 10000));
    ck_assert(EVENTUALLY(popen2_read(p, 1, buf, sizeof buf) == 0, 5));
    ck_assert(EVENTUALLY((st = popen2_poll(p)) != -1, 5));
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* Everything seen and reaped: the descriptor is quiet for good.  The
     * reader thread signals EOF just after setting it, so the popen2_read
     * that saw the EOF may have come first: one more read clears that
     * wake-up (level-triggered by clear-then-look), and after it nothing
     * may wake the loop again. */
    ck_assert_int_eq(popen2_read(p, 1, buf, sizeof buf), 0);
    ck_assert(!readable(efd, 100));
    popen2_free(p);
}
END_TEST

START_TEST(level_triggered_until_each_stream_is_read)
{
    /* Data left unread keeps the descriptor readable. */
    popen2_proc *p = spawn_both_piped(CHILD("both", "100000", "3", "4"));
    int efd = popen2_event_fd(p);
    char buf[1000];

    popen2_wait(p);
    ck_assert(EVENTUALLY(
        popen2_stream_available(p, 1) == 100000 && popen2_stream_available(p, 2) == 100000, 10));
    ck_assert(readable(efd, 0));
    ck_assert_int_eq(popen2_read(p, 1, buf, sizeof buf), 1000);
    ck_assert(readable(efd, 0)); /* more is there */
    ck_assert_int_eq(popen2_stream_available(p, 1), 99000);
    while (popen2_read(p, 1, buf, sizeof buf) > 0)
        ;
    /* The bytes may all be there a moment before the reader sees EOF. */
    ck_assert(EVENTUALLY(popen2_read(p, 1, buf, sizeof buf) == 0, 5));
    ck_assert(readable(efd, 0)); /* stderr is still unread */
    while (popen2_read(p, 2, buf, sizeof buf) > 0)
        ;
    ck_assert(EVENTUALLY(popen2_read(p, 2, buf, sizeof buf) == 0, 5));
    /* One more read clears a wake-up the reader thread may have sent just
     * after the EOF was seen (see event_fd_follows_output_eof_and_exit). */
    ck_assert_int_eq(popen2_read(p, 2, buf, sizeof buf), 0);
    ck_assert(!readable(efd, 0));
    popen2_free(p);
}
END_TEST

START_TEST(an_event_loop_reads_every_byte_of_two_streams)
{
    char *argv[] = {TEST_CHILD, "both", "8000000", "5", "6", NULL};
    static unsigned char buf[65536];
    uint64_t got[3] = {0, 0, 0};
    bool end[3] = {false, false, false};
    popen2_proc *p;
    int efd, s, st = -1;
    ssize_t k;
    long wakeups = 0;

    p = spawn_both_piped(argv);
    efd = popen2_event_fd(p);
    while (!end[1] || !end[2] || st == -1) {
        /* Without pidfds and epoll the exit is no event (as popen2_event_fd
         * says): the streams can end before the child is reapable, and
         * then a loop waits for the exit as it would without the library. */
        if (end[1] && end[2] && !exit_is_an_event()) {
            st = popen2_wait(p);
            break;
        }
        ck_assert(readable(efd, 10000));
        wakeups++;
        for (s = 1; s <= 2; s++) {
            k = -1; /* a stream already at its end is not read: k must not be stale */
            while (!end[s] && (k = popen2_read(p, s, buf, sizeof buf)) != 0) {
                if (k < 0) {
                    ck_assert_int_eq(errno, EAGAIN);
                    break;
                }
                ck_assert_uint_eq(pattern_check(buf, (size_t)k, s == 1 ? 5 : 6, got[s]), (size_t)k);
                got[s] += (uint64_t)k;
            }
            if (k == 0)
                end[s] = true;
        }
        if (st == -1)
            st = popen2_poll(p);
    }
    ck_assert_uint_eq(got[1], 8000000);
    ck_assert_uint_eq(got[2], 8000000);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert(!readable(efd, 0));
    popen2_free(p);
}
END_TEST

/* Whether this kernel (or valgrind, which does not know the call) has
 * pidfds: without them the event fd reports the streams only, as
 * popen2_event_fd documents. */

START_TEST(child_exit_alone_wakes_the_loop)
{
    char *argv[] = {TEST_CHILD, "sleep", "200", NULL};
    popen2_attr *a;
    popen2_proc *p;
    int efd;

    if (!exit_is_an_event()) {
        fprintf(stderr, "check_events: no pidfd or no epoll here; child exit is not an event\n");
        return;
    }
    a = popen2_attr_new();
    popen2_attr_set_stream(a, 0, POPEN2_DEVNULL);
    popen2_attr_set_stream(a, 1, POPEN2_DEVNULL);
    p = popen2_spawnv(argv, a);
    popen2_attr_free(a);
    ck_assert_ptr_nonnull(p);
    efd = popen2_event_fd(p);
    ck_assert(!readable(efd, 50));
    ck_assert(readable(efd, 10000));
    ck_assert_int_ne(popen2_poll(p), -1);
    ck_assert(!readable(efd, 50));
    popen2_free(p);
}
END_TEST

START_TEST(event_fd_made_after_the_output_is_readable_at_once)
{
    popen2_proc *p = popen2_Popen3("printf xyz", 0, -1);
    char buf[8];

    ck_assert_ptr_nonnull(p);
    ck_assert(EVENTUALLY(popen2_stream_available(p, 1) == 3, 5));
    ck_assert(readable(popen2_event_fd(p), 0));
    ck_assert_int_eq(popen2_read(p, 1, buf, sizeof buf), 3);
    popen2_free(p);
}
END_TEST

/* Where a sandbox refuses epoll with ENOSYS, as where the system has none,
 * the descriptor still tells of the streams (the child's exit is then learnt
 * from the EOF): a loop on it reads every byte to the end. */
START_TEST(without_epoll_the_streams_still_wake_the_loop)
{
    popen2_proc *p;
    char buf[64];
    size_t got = 0;
    ssize_t k;
    int fd, st;

    if (under_valgrind() || seccomp_refuse_epoll(ENOSYS) < 0) {
        fprintf(stderr, "SKIP without_epoll_the_streams_still_wake_the_loop: no seccomp filter\n");
        return;
    }
    p = popen2_Popen3("sleep 0.2; printf hello", 0, -1);
    ck_assert_ptr_nonnull(p);
    fd = popen2_event_fd(p);
    ck_assert_msg(fd >= 0, "popen2_event_fd: %s", strerror(errno));
    for (;;) {
        k = popen2_read(p, 1, buf + got, sizeof buf - got);
        if (k == 0)
            break;
        if (k > 0) {
            got += (size_t)k;
            continue;
        }
        ck_assert_int_eq(errno, EAGAIN);
        ck_assert(readable(fd, 30000)); /* a wake-up, never a hang */
    }
    ck_assert_uint_eq(got, 5);
    ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
    st = popen2_wait(p);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    popen2_free(p);
}
END_TEST

START_TEST(bad_streams_and_arguments)
{
    popen2_proc *p = popen2_Popen3("exit 0", 0, -1);
    char buf[4];

    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(popen2_read(p, 0, buf, 4), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_read(p, 3, buf, 4), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_read(p, -1, buf, 4), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_read(p, 1, NULL, 4), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_read(NULL, 1, buf, 4), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_read(p, 2, buf, 4), -1); /* stderr not captured */
    ck_assert_int_eq(errno, EBADF);
    ck_assert_int_eq(popen2_stream_available(p, 7), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_stream_available(p, 2), -1);
    ck_assert_int_eq(errno, EBADF);
    ck_assert_int_eq(popen2_stream_available(NULL, 1), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_event_fd(NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_read(p, 1, buf, 0), 0);
    /* A stream whose FILE the caller closed is gone for popen2_read too. */
    fclose(popen2_fromchild(p));
    ck_assert_int_eq(popen2_read(p, 1, buf, 4), -1);
    ck_assert_int_eq(errno, EBADF);
    popen2_wait(p);
    popen2_free(p);
}
END_TEST

START_TEST(event_descriptors_are_closed_by_free)
{
    int fds = count_fds(), i;
    popen2_proc *p;

    for (i = 0; i < 20; i++) {
        p = popen2_Popen3("exit 0", 1, -1);
        ck_assert_ptr_nonnull(p);
        ck_assert_int_ge(popen2_event_fd(p), 0);
        popen2_wait(p);
        popen2_free(p);
    }
    ck_assert(EVENTUALLY(count_fds() <= fds, 5));
}
END_TEST

static const struct test_case cases[] = {
    TEST(event_fd, event_fd_follows_output_eof_and_exit),
    TEST(event_fd, level_triggered_until_each_stream_is_read),
    TEST(event_fd, an_event_loop_reads_every_byte_of_two_streams),
    TEST(event_fd, child_exit_alone_wakes_the_loop),
    TEST(event_fd, event_fd_made_after_the_output_is_readable_at_once),
    TEST(event_fd, without_epoll_the_streams_still_wake_the_loop),
    TEST(event_fd, bad_streams_and_arguments),
    TEST(event_fd, event_descriptors_are_closed_by_free),
};

TEST_MAIN("events", cases, .timeout = 30)
