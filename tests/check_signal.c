/* check_signal: popen2_send_signal, popen2_terminate, popen2_kill: signals
 * through the pidfd, whole process groups, and never a signal to a child
 * already reaped; popen2_stop: SIGTERM, the grace, SIGKILL, for a child and
 * a group, and nothing for a child that has ended. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "common.h"
#include "baseline.h"
#include "runner.h"
#include "children.h"
#include "popen2.h"

START_TEST(send_signal_delivers_the_signal_asked_for)
{
    popen2_proc *p = sleeper(60000);
    int st;

    ck_assert_int_eq(popen2_send_signal(p, 0), 0); /* alive */
    ck_assert_int_eq(popen2_send_signal(p, SIGUSR1), 0);
    st = popen2_wait(p);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1);
    popen2_free(p);
}
END_TEST

START_TEST(a_reaped_child_is_never_signalled)
{
    popen2_proc *p = sleeper(10);

    popen2_wait(p);
    ck_assert_int_eq(popen2_send_signal(p, SIGTERM), -1);
    ck_assert_int_eq(errno, ESRCH);
    ck_assert_int_eq(popen2_kill(p), -1);
    ck_assert_int_eq(errno, ESRCH);
    ck_assert_int_eq(popen2_terminate(p), -1);
    ck_assert_int_eq(errno, ESRCH);
    ck_assert_int_eq(popen2_send_signal(p, 0), -1);
    ck_assert_int_eq(errno, ESRCH);
    popen2_free(p);
}
END_TEST

START_TEST(a_child_reaped_behind_our_back_is_not_signalled_by_number)
{
    /* The caller's own waitpid reaps it: the library does not know, but the
     * pidfd does, so the signal cannot go to whoever gets the pid next. */
    popen2_proc *p = sleeper(10);
    int st;

    ck_assert_int_eq(waitpid(popen2_pid(p), &st, 0), popen2_pid(p));
    ck_assert_int_eq(popen2_send_signal(p, SIGTERM), -1);
    ck_assert_int_eq(errno, ESRCH);
    ck_assert_int_eq(popen2_wait_timeout(p, 1000), -1);
    ck_assert_int_eq(errno, ECHILD);
    popen2_free(p);
}
END_TEST

START_TEST(a_group_leader_is_signalled_with_its_grandchildren)
{
    /* The shell's background child holds stdout: only a group kill lets the
     * reader see EOF before that grandchild would end by itself (60 s). */
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;
    char cmd[512];
    size_t len;
    char *out;
    double t0;
    int st;

    snprintf(cmd, sizeof cmd, "%s sleep 60000 & echo started; exec %s sleep 60000", TEST_CHILD,
             TEST_CHILD);
    ck_assert_int_eq(popen2_attr_set_group(a, POPEN2_GROUP_NEW), 0);
    p = popen2_spawn(cmd, a);
    popen2_attr_free(a);
    ck_assert_ptr_nonnull(p);
    sleep_ms(100);
    t0 = now_s();
    ck_assert_int_eq(popen2_terminate(p), 0);
    st = popen2_wait(p);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
    out = read_all(popen2_fromchild(p), &len); /* EOF: the grandchild died too */
    ck_assert_str_eq(out, "started\n");
    ck_assert(now_s() - t0 < 30.0); /* half the grandchild's minute */
    free(out);
    popen2_free(p);
}
END_TEST

/* ---- the group after its leader was reaped ------------------------------- */

/* Whether the kernel signals a process group through a pidfd (Linux 6.9):
 * the only way the library signals a group whose leader it has reaped. */
static bool kernel_signals_groups_by_pidfd(void)
{
#if HAVE_DECL_SYS_PIDFD_SEND_SIGNAL
    int fd, r;

    if (!pidfds_here() || (fd = (int)syscall(SYS_pidfd_open, getpid(), 0)) < 0)
        return false;
    r = (int)syscall(SYS_pidfd_send_signal, fd, 0, NULL, 1U << 2 /* PROCESS_GROUP */);
    close(fd);
    return r == 0;
#else
    return false;
#endif
}

/* A shell leading a new group that starts a grandchild holding its stdout,
 * prints the grandchild's pid and exits at once.  This process becomes the
 * grandchild's reaper (a subreaper), so that the test can reap it and see
 * the group become empty. */
static popen2_proc *leader_leaving_a_grandchild(pid_t *grandchild)
{
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;
    char cmd[512], line[64];
    long g = 0;

    ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    snprintf(cmd, sizeof cmd, "%s sleep 60000 & echo $!; exit 0", TEST_CHILD);
    ck_assert_int_eq(popen2_attr_set_group(a, POPEN2_GROUP_NEW), 0);
    p = popen2_spawn(cmd, a);
    popen2_attr_free(a);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, popen2_fromchild(p)));
    g = strtol(line, NULL, 10);
    ck_assert_int_gt(g, 0);
    *grandchild = (pid_t)g;
    return p;
}

/* Reaps the grandchild (we are its subreaper); returns its wait status. */
static int reap_grandchild(pid_t g)
{
    int st;

    ck_assert_int_eq(waitpid(g, &st, 0), g);
    return st;
}

START_TEST(the_group_is_signalled_after_its_leader_was_reaped)
{
    pid_t g;
    popen2_proc *p = leader_leaving_a_grandchild(&g);
    size_t len;
    char *rest;
    int st;

    st = popen2_wait(p);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert_int_eq(kill(g, 0), 0); /* the grandchild outlived its parent */
    if (!kernel_signals_groups_by_pidfd()) {
        /* Never by number after the reap: ESRCH, as documented. */
        ck_assert_int_eq(popen2_kill(p), -1);
        ck_assert_int_eq(errno, ESRCH);
        kill(g, SIGKILL);
        reap_grandchild(g);
    } else {
        /* "Wait, then kill whatever still holds my pipe." */
        ck_assert_int_eq(popen2_send_signal(p, 0), 0); /* the group has a member */
        ck_assert_int_eq(popen2_kill(p), 0);
        st = reap_grandchild(g);
        ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        rest = read_all(popen2_fromchild(p), &len); /* EOF: nobody holds stdout */
        ck_assert_uint_eq(len, 0);
        free(rest);
        /* An empty group: ESRCH, and the leader's status stays as it was. */
        ck_assert_int_eq(popen2_send_signal(p, SIGTERM), -1);
        ck_assert_int_eq(errno, ESRCH);
        ck_assert_int_eq(popen2_kill(p), -1);
        ck_assert_int_eq(errno, ESRCH);
        ck_assert_int_eq(popen2_wait(p), 0);
    }
    popen2_free(p);
    prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
}
END_TEST

START_TEST(the_group_is_signalled_between_the_leaders_exit_and_its_reap)
{
    /* The rule that holds on every kernel: signal the group before the
     * leader is reaped.  The signal call itself must not reap it. */
    siginfo_t si;
    pid_t g;
    popen2_proc *p = leader_leaving_a_grandchild(&g);
    int st;

    memset(&si, 0, sizeof si);
    ck_assert_int_eq(waitid(P_PID, (id_t)popen2_pid(p), &si, WEXITED | WNOWAIT), 0);
    ck_assert_int_eq(si.si_pid, popen2_pid(p)); /* exited, not reaped */
    ck_assert_int_eq(popen2_kill(p), 0);
    st = reap_grandchild(g);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    st = popen2_wait(p);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0); /* it had exited before the kill */
    popen2_free(p);
    prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
}
END_TEST

START_TEST(without_a_group_a_reaped_child_stays_unsignalled)
{
    /* Only a group leader's group outlives the reap; a plain child's number
     * is never used again. */
    popen2_proc *p = sleeper(10);

    ck_assert_int_eq(popen2_wait(p), 0);
    ck_assert_int_eq(popen2_send_signal(p, 0), -1);
    ck_assert_int_eq(errno, ESRCH);
    popen2_free(p);
}
END_TEST

START_TEST(without_a_group_only_the_child_is_signalled)
{
    popen2_proc *p;
    char cmd[512], c;
    int st;

    snprintf(cmd, sizeof cmd, "%s sleep 1500 & exec %s sleep 60000", TEST_CHILD, TEST_CHILD);
    p = popen2_spawn(cmd, NULL);
    ck_assert_ptr_nonnull(p);
    sleep_ms(100);
    ck_assert_int_eq(popen2_kill(p), 0);
    st = popen2_wait(p);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    /* The grandchild lives on and keeps stdout open for now. */
    sleep_ms(200);
    ck_assert_int_eq(popen2_read(p, 1, &c, 1), -1);
    ck_assert_int_eq(errno, EAGAIN);
    popen2_free(p);
}
END_TEST

START_TEST(a_new_session_is_signalled_as_a_group_too)
{
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;
    char cmd[512];
    size_t len;
    char *out;

    snprintf(cmd, sizeof cmd, "%s sleep 60000 & exec %s sleep 60000", TEST_CHILD, TEST_CHILD);
    ck_assert_int_eq(popen2_attr_set_group(a, POPEN2_SESSION_NEW), 0);
    p = popen2_spawn(cmd, a);
    popen2_attr_free(a);
    ck_assert_ptr_nonnull(p);
    sleep_ms(100);
    ck_assert_int_eq(popen2_kill(p), 0);
    out = read_all(popen2_fromchild(p), &len);
    ck_assert_uint_eq(len, 0);
    free(out);
    ck_assert(WTERMSIG(popen2_wait(p)) == SIGKILL);
    popen2_free(p);
}
END_TEST

/* ---- popen2_stop --------------------------------------------------------- */

/* tests/child ignoring SIGTERM, once it says so. */
static popen2_proc *ignoring_sigterm(void)
{
    popen2_proc *p = popen2_Popen3v(CHILD("ignore-term", "60000"), 0, -1);
    char line[16];

    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, popen2_fromchild(p)));
    ck_assert_str_eq(line, "ready\n");
    return p;
}

START_TEST(stop_kills_a_child_that_ignores_sigterm_after_the_grace)
{
    struct baseline b = baseline();
    popen2_proc *p = ignoring_sigterm();
    double t0 = now_s();
    int st;

    st = popen2_stop(p, 300);
    ck_assert(now_s() - t0 >= 0.29); /* it had its grace */
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status %#x", st);
    ck_assert_int_eq(popen2_wait(p), st); /* reaped: the same status */
    ck_assert_int_eq(popen2_send_signal(p, 0), -1);
    ck_assert_int_eq(errno, ESRCH);
    popen2_free(p);
    assert_back_to(b);
}
END_TEST

START_TEST(stop_ends_an_obedient_child_with_sigterm_alone)
{
    popen2_proc *p = sleeper(60000);
    int st;

    /* A grace far beyond the test's timeout: only SIGTERM can end it in time. */
    st = popen2_stop(p, 3600 * 1000);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "status %#x", st);
    popen2_free(p);
}
END_TEST

START_TEST(stop_continues_a_stopped_child)
{
    popen2_proc *p = sleeper(60000);
    siginfo_t si;
    int st;

    ck_assert_int_eq(popen2_send_signal(p, SIGSTOP), 0);
    memset(&si, 0, sizeof si);
    ck_assert_int_eq(waitid(P_PID, (id_t)popen2_pid(p), &si, WSTOPPED | WNOWAIT), 0);
    st = popen2_stop(p, 3600 * 1000);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "status %#x", st);
    popen2_free(p);
}
END_TEST

/* A group led by tests/child in `leader` mode ("ignore-term" or "sleep")
 * with a grandchild that ignores SIGTERM and holds stdout; returned once
 * every process that ignores SIGTERM has said so. */
static popen2_proc *group_with_a_stubborn_grandchild(const char *leader)
{
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;
    char cmd[512], line[16];
    int ready = strcmp(leader, "ignore-term") == 0 ? 2 : 1;

    snprintf(cmd, sizeof cmd, "%s ignore-term 60000 & exec %s %s 60000", TEST_CHILD, TEST_CHILD,
             leader);
    ck_assert_int_eq(popen2_attr_set_group(a, POPEN2_GROUP_NEW), 0);
    p = popen2_spawn(cmd, a);
    popen2_attr_free(a);
    ck_assert_ptr_nonnull(p);
    while (ready-- > 0)
        ck_assert_ptr_nonnull(fgets(line, sizeof line, popen2_fromchild(p)));
    return p;
}

/* Nobody holds p's stdout any more: the grandchild is gone too. */
static void expect_stdout_at_eof(popen2_proc *p)
{
    size_t len;
    char *out = read_all(popen2_fromchild(p), &len);

    ck_assert_uint_eq(len, 0);
    free(out);
}

START_TEST(stop_ends_the_whole_group)
{
    popen2_proc *p = group_with_a_stubborn_grandchild("ignore-term");
    int st;

    st = popen2_stop(p, 100);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status %#x", st);
    expect_stdout_at_eof(p);
    popen2_free(p);
}
END_TEST

START_TEST(stop_gives_the_group_the_rest_of_the_grace_then_kills_it)
{
    /* The leader obeys SIGTERM, its grandchild does not: once the grace is
     * over the grandchild gets SIGKILL too. */
    popen2_proc *p;
    double t0;
    int st;

    if (!kernel_signals_groups_by_pidfd()) {
        fprintf(stderr, "skipped: this kernel cannot signal a group through a pidfd\n");
        return;
    }
    p = group_with_a_stubborn_grandchild("sleep");
    t0 = now_s();
    st = popen2_stop(p, 400);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "status %#x", st);
    ck_assert(now_s() - t0 >= 0.39); /* the grandchild had the grace */
    expect_stdout_at_eof(p);
    popen2_free(p);
}
END_TEST

START_TEST(stop_of_an_ended_child_signals_nothing)
{
    /* The leader has exited (unreaped); its grandchild, in its group, must
     * not get the SIGTERM a stop of a running child would send. */
    pid_t g;
    popen2_proc *p = leader_leaving_a_grandchild(&g);
    siginfo_t si;
    int st;

    memset(&si, 0, sizeof si);
    ck_assert_int_eq(waitid(P_PID, (id_t)popen2_pid(p), &si, WEXITED | WNOWAIT), 0);
    st = popen2_stop(p, 100);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert_int_eq(popen2_stop(p, 0), st); /* reaped: the same, again */
    sleep_ms(200);
    memset(&si, 0, sizeof si);
    ck_assert_int_eq(waitid(P_PID, (id_t)g, &si, WEXITED | WNOHANG | WNOWAIT), 0);
    ck_assert_int_eq(si.si_pid, 0); /* the grandchild still runs */
    kill(g, SIGKILL);
    reap_grandchild(g);
    popen2_free(p);
    prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
}
END_TEST

START_TEST(stop_of_a_child_reaped_elsewhere_is_echild)
{
    popen2_proc *p = sleeper(10);
    int st;

    ck_assert_int_eq(waitpid(popen2_pid(p), &st, 0), popen2_pid(p));
    ck_assert_int_eq(popen2_stop(p, 100), -1);
    ck_assert_int_eq(errno, ECHILD);
    popen2_free(p);
}
END_TEST

static void *thief(void *arg)
{
    pid_t pid = *(pid_t *)arg;
    int st;

    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return NULL;
}

START_TEST(stop_does_not_hang_when_a_thief_reaps)
{
    /* A waitpid in another thread takes the status at the SIGKILL: stop
     * must come back (with ECHILD, or the status if it reaped first). */
    popen2_proc *p = ignoring_sigterm();
    pid_t pid = popen2_pid(p);
    pthread_t t;
    int st;

    ck_assert_int_eq(pthread_create(&t, NULL, thief, &pid), 0);
    st = popen2_stop(p, 100);
    ck_assert(st == -1 ? errno == ECHILD : WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    pthread_join(t, NULL);
    popen2_free(p);
}
END_TEST

START_TEST(stop_refuses_bad_arguments)
{
    struct baseline b = baseline();
    popen2_proc *p = sleeper(60000);
    int st;

    ck_assert_int_eq(popen2_stop(NULL, 100), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_stop(p, -1), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_send_signal(p, 0), 0); /* untouched */
    st = popen2_stop(p, 0); /* no grace: SIGTERM, then SIGKILL at once */
    ck_assert(WIFSIGNALED(st) && (WTERMSIG(st) == SIGTERM || WTERMSIG(st) == SIGKILL));
    popen2_free(p);
    assert_back_to(b);
}
END_TEST

static const struct test_case cases[] = {
    TEST(signals, send_signal_delivers_the_signal_asked_for),
    TEST(signals, a_reaped_child_is_never_signalled),
    TEST(signals, a_child_reaped_behind_our_back_is_not_signalled_by_number),
    TEST(signals, a_group_leader_is_signalled_with_its_grandchildren),
    TEST(signals, without_a_group_only_the_child_is_signalled),
    TEST(signals, the_group_is_signalled_after_its_leader_was_reaped),
    TEST(signals, the_group_is_signalled_between_the_leaders_exit_and_its_reap),
    TEST(signals, without_a_group_a_reaped_child_stays_unsignalled),
    TEST(signals, a_new_session_is_signalled_as_a_group_too),
    TEST(stop, stop_kills_a_child_that_ignores_sigterm_after_the_grace),
    TEST(stop, stop_ends_an_obedient_child_with_sigterm_alone),
    TEST(stop, stop_continues_a_stopped_child),
    TEST(stop, stop_ends_the_whole_group),
    TEST(stop, stop_gives_the_group_the_rest_of_the_grace_then_kills_it),
    TEST(stop, stop_of_an_ended_child_signals_nothing),
    TEST(stop, stop_of_a_child_reaped_elsewhere_is_echild),
    TEST(stop, stop_does_not_hang_when_a_thief_reaps),
    TEST(stop, stop_refuses_bad_arguments),
};

TEST_MAIN("signal", cases, .timeout = 30)
