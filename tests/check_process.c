/* check_process: the process handle (the child's pidfd): an object gives
 * it back when freed, and a Popen3/Popen4 object opens one only for the
 * first signal or timed wait. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "common.h"
#include "runner.h"
#include "children.h"
#include "popen2.h"

START_TEST(objects_keep_no_descriptor_after_free)
{
    int fds = count_fds(), i;
    popen2_proc *p;

    for (i = 0; i < 20; i++) {
        p = sleeper(1);
        popen2_wait_timeout(p, 5000);
        popen2_free(p);
    }
    ck_assert(EVENTUALLY(count_fds() <= fds, 5));
}
END_TEST

START_TEST(contract_objects_open_a_pidfd_only_when_asked)
{
    /* Popen3 keeps the descriptors the README counts; the first signal or
     * timed wait adds the pidfd, then works as for popen2_spawn objects. */
    char *argv[] = {TEST_CHILD, "sleep", "60000", NULL};
    popen2_proc *p;
    int before, live, st;

    before = count_fds();
    p = popen2_Popen3v(argv, 0, -1);
    ck_assert_ptr_nonnull(p);
    live = count_fds();
    ck_assert_int_eq(popen2_wait_timeout(p, 10), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    ck_assert_int_le(count_fds(), live + 1);
    ck_assert_int_eq(popen2_kill(p), 0);
    st = popen2_wait_timeout(p, 10000);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    popen2_free(p);
    ck_assert(EVENTUALLY(count_fds() <= before, 5));
}
END_TEST

static const struct test_case cases[] = {
    TEST(pidfd, objects_keep_no_descriptor_after_free),
    TEST(pidfd, contract_objects_open_a_pidfd_only_when_asked),
};

TEST_MAIN("process", cases, .timeout = 30)
