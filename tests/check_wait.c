/* check_wait: popen2_wait_timeout: a timed wait that gives up, returns as
 * soon as the child exits, only looks with 0, and agrees with a blocking
 * wait beside it; and the arguments it and the signal calls refuse.
 * popen2_returncode and popen2_rusage: what an ended child leaves besides
 * its wait status, EAGAIN before. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "common.h"
#include "baseline.h"
#include "runner.h"
#include "children.h"
#include "popen2.h"

START_TEST(wait_timeout_expires_then_kill_ends_the_child)
{
    popen2_proc *p = sleeper(60000);
    double t0 = now_s(), dt;
    int st;

    ck_assert_int_eq(popen2_wait_timeout(p, 150), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    dt = now_s() - t0;
    ck_assert(dt >= 0.14 && dt < 30.0); /* waited, and not for the child's minute */
    ck_assert_int_eq(popen2_kill(p), 0);
    st = popen2_wait_timeout(p, 10000);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    /* The same status again, from every waiting function. */
    ck_assert_int_eq(popen2_wait_timeout(p, 0), st);
    ck_assert_int_eq(popen2_wait(p), st);
    ck_assert_int_eq(popen2_poll(p), st);
    popen2_free(p);
}
END_TEST

START_TEST(wait_timeout_returns_as_soon_as_the_child_exits)
{
    popen2_proc *p = sleeper(200);
    double t0 = now_s();
    int st;

    st = popen2_wait_timeout(p, 20000);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert(now_s() - t0 < 15.0); /* not the whole 20 s bound */
    popen2_free(p);
}
END_TEST

START_TEST(wait_timeout_zero_only_looks)
{
    popen2_proc *p = sleeper(60000);
    double t0 = now_s();

    ck_assert_int_eq(popen2_wait_timeout(p, 0), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    ck_assert(now_s() - t0 < 30.0); /* half the child's minute: it did not wait */
    ck_assert_int_eq(popen2_terminate(p), 0);
    ck_assert(WTERMSIG(popen2_wait_timeout(p, -1)) == SIGTERM);
    popen2_free(p);
}
END_TEST

START_TEST(wait_timeout_beside_a_blocking_wait)
{
    popen2_proc *p = sleeper(300);
    struct waiter w = {.p = p, .status = -2};
    pthread_t t;
    int st;

    ck_assert_int_eq(pthread_create(&t, NULL, wait_thread, &w), 0);
    st = popen2_wait_timeout(p, 20000);
    pthread_join(t, NULL);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert_int_eq(w.status, st);
    popen2_free(p);
}
END_TEST

START_TEST(bad_arguments_are_einval)
{
    popen2_proc *p = sleeper(10);

    ck_assert_int_eq(popen2_wait_timeout(NULL, 10), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_wait_timeout(p, -2), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_wait_timeout(p, -1000), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_send_signal(NULL, SIGTERM), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_send_signal(p, -1), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_send_signal(p, NSIG + 5), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_kill(NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_terminate(NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    popen2_wait(p);
    popen2_free(p);
}
END_TEST

/* ---- returncode ---------------------------------------------------------- */

START_TEST(returncode_is_the_exit_code)
{
    popen2_proc *p = popen2_Popen3v(CHILD("exit", "3"), 0, -1);
    long rc = 99;

    ck_assert_ptr_nonnull(p);
    ck_assert(WEXITSTATUS(popen2_wait(p)) == 3);
    ck_assert_int_eq(popen2_returncode(p, &rc), 0);
    ck_assert_int_eq(rc, 3);
    popen2_free(p);
}
END_TEST

START_TEST(returncode_is_minus_the_signal)
{
    popen2_proc *p = sleeper(60000);
    long rc = 99;

    ck_assert_int_eq(popen2_returncode(p, &rc), -1);
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert_int_eq(rc, 99); /* untouched while it runs */
    ck_assert_int_eq(popen2_kill(p), 0);
    /* It reaps as Python's poll() does: no wait needed before it. */
    ck_assert(EVENTUALLY(popen2_returncode(p, &rc) == 0, 20));
    ck_assert_int_eq(rc, -SIGKILL);
    ck_assert(WTERMSIG(popen2_wait(p)) == SIGKILL); /* the same end, already reaped */
    ck_assert_int_eq(popen2_returncode(p, &rc), 0);
    ck_assert_int_eq(rc, -9);
    popen2_free(p);
}
END_TEST

START_TEST(returncode_of_a_child_reaped_elsewhere_is_echild)
{
    popen2_proc *p = sleeper(10);
    long rc = 99;
    int st;

    ck_assert_int_eq(waitpid(popen2_pid(p), &st, 0), popen2_pid(p));
    ck_assert_int_eq(popen2_returncode(p, &rc), -1);
    ck_assert_int_eq(errno, ECHILD);
    ck_assert_int_eq(popen2_rusage(p, &(struct rusage){0}), -1);
    ck_assert_int_eq(errno, ECHILD);
    ck_assert_int_eq(rc, 99);
    popen2_free(p);
}
END_TEST

/* ---- rusage -------------------------------------------------------------- */

static long long us_of(struct timeval tv)
{
    return (long long)tv.tv_sec * 1000000 + tv.tv_usec;
}

START_TEST(rusage_counts_the_cpu_time_the_child_burned)
{
    /* The child spins until its own CPU clock says 300 ms and prints what
     * it counted; the kernel's user time must be a good part of that (the
     * ratio holds on a loaded machine, where wall time would not). */
    popen2_proc *p = popen2_Popen3v(CHILD("burn", "300"), 0, -1);
    struct rusage ru;
    char *out;
    long long burned;

    ck_assert_ptr_nonnull(p);
    out = read_all(popen2_fromchild(p), NULL);
    burned = atoll(out);
    free(out);
    ck_assert_int_ge(burned, 300000);
    ck_assert_int_eq(popen2_wait(p), 0);
    ck_assert_int_eq(popen2_rusage(p, &ru), 0);
    ck_assert_msg(us_of(ru.ru_utime) >= burned / 2, "user %lld us, burned %lld us",
                  us_of(ru.ru_utime), burned);
    /* All of it is the child's CPU time, and its clock counted all of it. */
    ck_assert_msg(us_of(ru.ru_utime) + us_of(ru.ru_stime) <= burned * 2 + 100000,
                  "user %lld us + system %lld us, burned %lld us", us_of(ru.ru_utime),
                  us_of(ru.ru_stime), burned);
    popen2_free(p);
}
END_TEST

START_TEST(rusage_counts_the_memory_the_child_touched)
{
    popen2_proc *p = popen2_Popen3v(CHILD("touch", "64"), 0, -1);
    struct rusage ru;

    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(popen2_wait(p), 0);
    ck_assert_int_eq(popen2_rusage(p, &ru), 0);
    ck_assert_msg(ru.ru_maxrss >= 64 * 1024, "ru_maxrss %ld KiB", ru.ru_maxrss); /* KiB */
    ck_assert_int_gt(ru.ru_minflt, 64 * 1024 / 8); /* it faulted its pages in */
    popen2_free(p);
}
END_TEST

START_TEST(rusage_is_eagain_until_the_child_ended)
{
    struct baseline b = baseline();
    popen2_proc *p = sleeper(60000);
    struct rusage ru, again;

    memset(&ru, 0x5a, sizeof ru);
    again = ru;
    ck_assert_int_eq(popen2_rusage(p, &ru), -1);
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert_int_eq(memcmp(&ru, &again, sizeof ru), 0); /* untouched */
    ck_assert_int_eq(popen2_terminate(p), 0);
    /* Reaps as popen2_poll does: the usage comes without a wait. */
    ck_assert(EVENTUALLY(popen2_rusage(p, &ru) == 0, 20));
    ck_assert(WTERMSIG(popen2_wait(p)) == SIGTERM);
    ck_assert_int_gt(ru.ru_maxrss, 0);
    ck_assert_int_eq(popen2_rusage(p, &again), 0); /* the same, kept */
    ck_assert_int_eq(memcmp(&ru, &again, sizeof ru), 0);
    popen2_free(p);
    assert_back_to(b);
}
END_TEST

START_TEST(returncode_and_rusage_refuse_bad_arguments)
{
    popen2_proc *p = sleeper(10);
    struct rusage ru;
    long rc;

    ck_assert_int_eq(popen2_returncode(NULL, &rc), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_returncode(p, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_rusage(NULL, &ru), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_rusage(p, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
}
END_TEST

static const struct test_case cases[] = {
    TEST(wait_timeout, wait_timeout_expires_then_kill_ends_the_child),
    TEST(wait_timeout, wait_timeout_returns_as_soon_as_the_child_exits),
    TEST(wait_timeout, wait_timeout_zero_only_looks),
    TEST(wait_timeout, wait_timeout_beside_a_blocking_wait),
    TEST(wait_timeout, bad_arguments_are_einval),
    TEST(returncode, returncode_is_the_exit_code),
    TEST(returncode, returncode_is_minus_the_signal),
    TEST(returncode, returncode_of_a_child_reaped_elsewhere_is_echild),
    TEST(returncode, returncode_and_rusage_refuse_bad_arguments),
    TEST(rusage, rusage_counts_the_cpu_time_the_child_burned),
    TEST(rusage, rusage_counts_the_memory_the_child_touched),
    TEST(rusage, rusage_is_eagain_until_the_child_ended),
};

TEST_MAIN("wait", cases, .timeout = 30)
