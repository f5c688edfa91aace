/* check_wait: popen2_wait_timeout: a timed wait that gives up, returns as
 * soon as the child exits, only looks with 0, and agrees with a blocking
 * wait beside it; and the arguments it and the signal calls refuse. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "common.h"
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

static const struct test_case cases[] = {
    TEST(wait_timeout, wait_timeout_expires_then_kill_ends_the_child),
    TEST(wait_timeout, wait_timeout_returns_as_soon_as_the_child_exits),
    TEST(wait_timeout, wait_timeout_zero_only_looks),
    TEST(wait_timeout, wait_timeout_beside_a_blocking_wait),
    TEST(wait_timeout, bad_arguments_are_einval),
};

TEST_MAIN("wait", cases, .timeout = 30)
