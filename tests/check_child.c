/* check_child: the child module (lib/core/child.c): the child is held by its
 * pidfd from the spawn on, statuses come from waitid, and a child reaped
 * behind the library's back (a waitpid(-1) elsewhere, SIGCHLD ignored) is
 * never signalled, waited for or reaped by number afterwards, even when its
 * number has gone to another process.
 *
 * The pid-reuse cases force a number through /proc/sys/kernel/ns_last_pid,
 * which only root may write; elsewhere they say so and pass without
 * checking.  They, and the pidfd count, also need pidfds: without them the
 * library holds the child by its number (documented as safe only while
 * nothing else reaps), and so does a run under valgrind, which does not
 * know pidfd_open; there they say so too.
 *
 * The sandboxed cases play a host whose seccomp filter refuses some of the
 * calls the library makes (tests/seccomp.h): a refused pidfd call falls back
 * to the number under the same checks, any other error is returned, and
 * nothing loops on it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "common.h"
#include "runner.h"
#include "popen2.h"
#include "seccomp.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static popen2_proc *run(const char *mode, const char *arg)
{
    char *argv[] = {TEST_CHILD, (char *)mode, (char *)arg, NULL};
    popen2_proc *p = popen2_Popen3v(argv, 1, -1);

    ck_assert_msg(p != NULL, "spawn %s: %s", mode, strerror(errno));
    return p;
}

/* Waits until the child has exited (a zombie), without reaping it. */
static void wait_exited(pid_t pid)
{
    siginfo_t si;

    memset(&si, 0, sizeof si);
    ck_assert_int_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
}

/* Makes the kernel hand out `want` as the next pid; false where it cannot
 * be forced (not root, no such file). */
static bool next_pid_is(pid_t want)
{
    int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY);
    char buf[24];
    int n;
    bool ok;

    if (fd < 0)
        return false;
    n = snprintf(buf, sizeof buf, "%d", (int)want - 1);
    ok = write(fd, buf, (size_t)n) == n;
    close(fd);
    return ok;
}

/* Whether this process can have pidfds (the kernel, or valgrind, may not). */
static bool have_pidfds(const char *test)
{
    if (pidfds_here())
        return true;
    fprintf(stderr, "check_child: %s: skipped, no pidfds here\n", test);
    return false;
}

static bool can_force_pids(const char *test)
{
    if (!have_pidfds(test))
        return false;
    FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "r");
    int last = -1;

    if (f) {
        if (fscanf(f, "%d", &last) != 1)
            last = -1;
        fclose(f);
    }
    /* Writing back what is there shows the right to write, and moves nothing. */
    if (geteuid() == 0 && last > 0 && next_pid_is(last + 1))
        return true;
    fprintf(stderr, "check_child: %s: skipped, pid reuse can only be forced as root\n", test);
    return false;
}

/* A process of the application's own, not the library's, with number `want`:
 * it exits with `code` at once (code >= 0) or waits to be killed.  -1 when
 * the number could not be had (another process took it first). */
static pid_t stranger_with_pid(pid_t want, int code)
{
    int tries;
    pid_t pid;

    for (tries = 0; tries < 50; tries++) {
        if (!next_pid_is(want))
            return -1;
        pid = fork();
        if (pid == 0) {
            if (code >= 0)
                _exit(code);
            for (;;)
                pause();
        }
        if (pid == want)
            return pid;
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
    }
    return -1;
}

START_TEST(statuses_decode_as_waitpid_gives_them)
{
    popen2_proc *p = run("exit", "7");
    int st = popen2_wait(p);

    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 7);
    ck_assert_int_eq(popen2_poll(p), st);
    popen2_free(p);

    p = run("raise", "15");
    st = popen2_wait(p);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
    popen2_free(p);

    p = run("exit", "0");
    st = popen2_wait(p);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    popen2_free(p);
}
END_TEST

/* Every object holds its child's pidfd from the spawn on, contract objects
 * included. */
START_TEST(pidfd_is_held_from_the_spawn)
{
    popen2_proc *p = run("sleep", "60000");
    char path[64], target[64];
    int fd, found = 0;
    ssize_t n;

    if (!have_pidfds("pidfd held")) {
        ck_assert_int_eq(popen2_kill(p), 0);
        ck_assert(WIFSIGNALED(popen2_wait(p)));
        popen2_free(p);
        return;
    }
    for (fd = 3; fd < 1024; fd++) {
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        n = readlink(path, target, sizeof target - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (strstr(target, "pidfd"))
            found++;
    }
    if (access("/proc/self/fd", F_OK) == 0)
        ck_assert_int_eq(found, 1);
    ck_assert_int_eq(popen2_kill(p), 0);
    ck_assert(WIFSIGNALED(popen2_wait(p)));
    popen2_free(p);
}
END_TEST

/* Reaped behind the library's back, the child's number reused by another
 * process: the signals say ESRCH and reach nobody; poll and wait say ECHILD. */
START_TEST(foreign_reap_then_reuse_never_signals_the_stranger)
{
    popen2_proc *p;
    pid_t pid, s;
    int st;

    if (!can_force_pids("signal after reuse"))
        return;
    p = run("exit", "0");
    pid = popen2_pid(p);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid); /* the application reaps it */
    s = stranger_with_pid(pid, -1);
    if (s < 0) {
        fprintf(stderr, "check_child: could not reuse pid %d; not checked\n", (int)pid);
        popen2_free(p);
        return;
    }
    ck_assert_int_eq(popen2_terminate(p), -1);
    ck_assert_int_eq(errno, ESRCH);
    ck_assert_int_eq(popen2_kill(p), -1);
    ck_assert_int_eq(errno, ESRCH);
    errno = 0;
    ck_assert_int_eq(popen2_poll(p), -1);
    ck_assert_int_eq(errno, ECHILD);
    ck_assert_int_eq(popen2_wait(p), -1);
    ck_assert_int_eq(errno, ECHILD);
    ck_assert_int_eq(popen2_wait_timeout(p, 0), -1);
    ck_assert_int_eq(errno, ECHILD);
    popen2_free(p);
    popen2_cleanup();
    /* The stranger is alive and still ours to reap. */
    ck_assert_int_eq(waitpid(s, &st, WNOHANG), 0);
    kill(s, SIGKILL);
    ck_assert_int_eq(waitpid(s, &st, 0), s);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}
END_TEST

/* A reaped elsewhere, its number reused by the library's own child B: A's
 * wait says ECHILD (never B's status), B's wait gets B's status. */
START_TEST(foreign_reap_then_reuse_by_our_child_keeps_statuses_apart)
{
    popen2_proc *a, *b = NULL;
    pid_t pid;
    int st, tries;

    if (!can_force_pids("wait after reuse"))
        return;
    a = run("exit", "3");
    pid = popen2_pid(a);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    /* The object's reader threads take numbers before its child does, so
     * aim a few numbers below. */
    for (tries = 0; tries < 50 && !b; tries++) {
        ck_assert(next_pid_is(pid - tries % 4));
        b = run("exit", "7");
        if (popen2_pid(b) != pid) {
            popen2_wait(b);
            popen2_free(b);
            b = NULL;
        }
    }
    if (!b) {
        fprintf(stderr, "check_child: could not reuse pid %d; not checked\n", (int)pid);
        popen2_free(a);
        return;
    }
    wait_exited(pid);
    ck_assert_int_eq(popen2_wait(a), -1);
    ck_assert_int_eq(errno, ECHILD);
    st = popen2_wait(b);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 7);
    popen2_free(a);
    popen2_free(b);
}
END_TEST

/* A freed object's child is on the active list; the application reaps it
 * and forks a helper that gets its number.  popen2_cleanup must leave the
 * helper alone. */
START_TEST(cleanup_never_reaps_the_applications_own_child)
{
    popen2_proc *p;
    pid_t pid, h;
    int st;

    if (!can_force_pids("cleanup after reuse"))
        return;
    p = run("sleep", "60000");
    pid = popen2_pid(p);
    popen2_free(p);
    ck_assert_uint_eq(popen2_active(), 1);
    kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    h = stranger_with_pid(pid, 42);
    if (h < 0) {
        fprintf(stderr, "check_child: could not reuse pid %d; not checked\n", (int)pid);
        popen2_cleanup();
        return;
    }
    wait_exited(h);
    popen2_cleanup();
    ck_assert_uint_eq(popen2_active(), 0);
    ck_assert_int_eq(waitpid(h, &st, 0), h);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 42);
}
END_TEST

/* Without any pid reuse: a waitpid(-1) elsewhere reaps the child. */
START_TEST(foreign_reap_is_reported_as_echild)
{
    popen2_proc *p = run("exit", "5");
    pid_t pid = popen2_pid(p);
    int st;

    ck_assert_int_eq(waitpid(-1, &st, 0), pid);
    errno = 0;
    ck_assert_int_eq(popen2_poll(p), -1);
    ck_assert_int_eq(errno, ECHILD);
    ck_assert_int_eq(popen2_wait(p), -1);
    ck_assert_int_eq(errno, ECHILD);
    ck_assert_int_eq(popen2_send_signal(p, 0), -1);
    ck_assert_int_eq(errno, ESRCH);
    popen2_free(p);
    ck_assert_uint_eq(popen2_active(), 0);
}
END_TEST

/* SIGCHLD ignored: the kernel reaps every child itself.  The event loop the
 * header documents must end, without spinning, and see all output. */
START_TEST(sigchld_ignored_event_loop_ends)
{
    char *argv[] = {TEST_CHILD, "pattern", "1", "100000", "9", NULL};
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    unsigned char buf[4096];
    size_t got = 0, bad;
    bool eof = false, done = false;
    long wakeups = 0;
    struct pollfd pfd;
    popen2_proc *p;
    ssize_t k;
    int efd;

    sigaction(SIGCHLD, &ign, &old);
    p = popen2_spawnv(argv, NULL);
    ck_assert_ptr_nonnull(p);
    efd = popen2_event_fd(p);
    ck_assert_int_ge(efd, 0);
    while (!(eof && done)) {
        pfd.fd = efd;
        pfd.events = POLLIN;
        if (eof && !exit_is_an_event()) {
            /* The exit is no event here: after the EOF the loop looks on a
             * timer, as the header says. */
            ck_assert_int_eq(poll(&pfd, 1, 20), 0);
            ck_assert_int_lt(++wakeups, 100000);
        } else {
            ck_assert_int_eq(poll(&pfd, 1, 30000), 1); /* a hang fails here */
            ck_assert_int_lt(++wakeups, 100000);       /* a spin fails here */
        }
        while (!eof && (k = popen2_read(p, 1, buf, sizeof buf)) != 0) {
            if (k < 0) {
                ck_assert_int_eq(errno, EAGAIN);
                break;
            }
            bad = pattern_check(buf, (size_t)k, 9, got);
            ck_assert_uint_eq(bad, (size_t)k);
            got += (size_t)k;
        }
        eof = eof || k == 0;
        if (!done) {
            errno = 0;
            done = popen2_poll(p) != -1 || errno == ECHILD;
        }
    }
    ck_assert_uint_eq(got, 100000);
    /* Nothing is left to announce: the descriptor is quiet for good. */
    pfd.fd = efd;
    pfd.events = POLLIN;
    ck_assert_int_eq(poll(&pfd, 1, 0), 0);
    popen2_free(p);
    sigaction(SIGCHLD, &old, NULL);
}
END_TEST

/* SIGCHLD ignored: communicate hands the output over all the same. */
START_TEST(sigchld_ignored_communicate_keeps_the_output)
{
    char *argv[] = {TEST_CHILD, "both", "50000", "3", "4", NULL};
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    char *out = NULL, *err = NULL;
    size_t outlen = 0, errlen = 0;
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;

    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(popen2_attr_set_stream(a, 2, POPEN2_PIPE), 0);
    sigaction(SIGCHLD, &ign, &old);
    p = popen2_spawnv(argv, a);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(popen2_communicate(p, NULL, 0, &out, &outlen, &err, &errlen, 30000), 0);
    ck_assert_uint_eq(outlen, 50000);
    ck_assert_uint_eq(errlen, 50000);
    ck_assert_uint_eq(pattern_check((unsigned char *)out, outlen, 3, 0), outlen);
    ck_assert_uint_eq(pattern_check((unsigned char *)err, errlen, 4, 0), errlen);
    errno = 0;
    ck_assert_int_eq(popen2_poll(p), -1);
    ck_assert_int_eq(errno, ECHILD);
    free(out);
    free(err);
    popen2_free(p);
    popen2_attr_free(a);
    sigaction(SIGCHLD, &old, NULL);
}
END_TEST

/* ---- sandboxed: a seccomp filter refuses some calls ---------------------- */

/* What a sandbox answers to a call it refuses: ENOSYS (a container runtime
 * for calls newer than its profile) or EPERM (the usual default). */
static const int refusals[] = {ENOSYS, EPERM};

/* Makes call nr fail with err from now on (only when its first argument
 * is arg0, unless that is -1); false, said on stderr, where no filter can
 * be had (valgrind does not know seccomp), and the test then passes without
 * checking. */
static bool sandbox(const char *test, long nr, int arg0, int err)
{
    int r = -1;

    errno = ENOSYS;
    if (!under_valgrind())
        r = arg0 < 0 ? seccomp_refuse_one(nr, err)
                     : seccomp_refuse_if_arg0(nr, (unsigned)arg0, err);
    if (r == 0)
        return true;
    fprintf(stderr, "check_child: %s: skipped, no seccomp filter here (%s)\n", test,
            strerror(errno));
    return false;
}

/* A group leader whose background grandchild holds stdout, once both run;
 * the leader then sleeps too (stays) or exits with 0 at once. */
static popen2_proc *leader_with_grandchild(bool stays)
{
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;
    char cmd[512], line[64];

    snprintf(cmd, sizeof cmd, "%s sleep 60000 & echo started; %s%s", TEST_CHILD,
             stays ? "exec " TEST_CHILD : "exit 0", stays ? " sleep 60000" : "");
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(popen2_attr_set_group(a, POPEN2_GROUP_NEW), 0);
    p = popen2_spawn(cmd, a);
    popen2_attr_free(a);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, popen2_fromchild(p)));
    ck_assert_str_eq(line, "started\n");
    return p;
}

/* pidfd_send_signal refused, pidfd_open allowed: every signal still reaches
 * the child (by number, once the pidfd shows the number is still its), a
 * group still dies with its grandchildren, and a reaped child or group is
 * never signalled by number. */
START_TEST(signals_when_pidfd_send_signal_is_refused)
{
    popen2_proc *p;
    size_t len;
    char *rest;
    int st;

    if (!sandbox("signals refused", SYS_pidfd_send_signal, -1, refusals[_i]))
        return;
    p = run("sleep", "60000");
    ck_assert_int_eq(popen2_send_signal(p, 0), 0);
    ck_assert_int_eq(popen2_terminate(p), 0);
    st = popen2_wait(p);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
    ck_assert_int_eq(popen2_kill(p), -1);
    ck_assert_int_eq(errno, ESRCH);
    popen2_free(p);

    p = run("sleep", "60000");
    ck_assert_int_eq(popen2_kill(p), 0);
    st = popen2_wait(p);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    popen2_free(p);

    /* A runner's Cancel: the group is terminated and waited for with a
     * bound, then whatever is left of it would be killed. */
    p = leader_with_grandchild(true);
    ck_assert_int_eq(popen2_terminate(p), 0);
    st = popen2_wait_timeout(p, 30000);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
    rest = read_all(popen2_fromchild(p), &len); /* EOF: the grandchild died too */
    ck_assert_uint_eq(len, 0);
    free(rest);
    ck_assert_int_eq(popen2_kill(p), -1);
    ck_assert_int_eq(errno, ESRCH);
    popen2_free(p);

    /* The leader has exited, its grandchild holds stdout: signalled before
     * the reap, the group dies (the unreaped leader keeps its number ours). */
    p = leader_with_grandchild(false);
    wait_exited(popen2_pid(p));
    ck_assert_int_eq(popen2_kill(p), 0);
    rest = read_all(popen2_fromchild(p), &len);
    ck_assert_uint_eq(len, 0);
    free(rest);
    st = popen2_wait(p);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    popen2_free(p);
    ck_assert_uint_eq(popen2_active(), 0);
}
END_TEST

/* What the library answers when waitid(P_PIDFD) is refused with
 * refusals[] or EINVAL (Linux 5.3, which has pidfds but cannot wait on
 * them): it waits by number, and still tells a foreign reap apart. */
static const int wait_refusals[] = {ENOSYS, EPERM, EINVAL};

START_TEST(waits_when_waitid_by_pidfd_is_refused)
{
    popen2_proc *p;
    pid_t pid;
    int st;

    if (!sandbox("waitid refused", SYS_waitid, P_PIDFD, wait_refusals[_i]))
        return;
    p = run("exit", "7");
    st = popen2_wait(p); /* a spin here fails by the Check timeout */
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 7);
    ck_assert_int_eq(popen2_poll(p), st);
    popen2_free(p);

    p = run("sleep", "60000");
    errno = 0;
    ck_assert_int_eq(popen2_poll(p), -1);
    ck_assert_int_eq(errno, 0);
    ck_assert_int_eq(popen2_wait_timeout(p, 0), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    ck_assert_int_eq(popen2_kill(p), 0);
    st = popen2_wait_timeout(p, -1);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    popen2_free(p);

    p = run("exit", "5");
    pid = popen2_pid(p);
    ck_assert_int_eq(waitpid(-1, &st, 0), pid);
    errno = 0;
    ck_assert_int_eq(popen2_wait(p), -1);
    ck_assert_int_eq(errno, ECHILD);
    ck_assert_int_eq(popen2_send_signal(p, 0), -1);
    ck_assert_int_eq(errno, ESRCH);
    popen2_free(p);
}
END_TEST

/* The same refusals: the active list reaps a freed object's child by
 * number too, once it has exited. */
START_TEST(cleanup_reaps_when_waitid_by_pidfd_is_refused)
{
    popen2_proc *p;
    pid_t pid;
    int st;

    if (!sandbox("waitid refused, cleanup", SYS_waitid, P_PIDFD, wait_refusals[_i]))
        return;
    p = run("sleep", "60000");
    pid = popen2_pid(p);
    popen2_free(p);
    ck_assert_uint_eq(popen2_active(), 1);
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    wait_exited(pid);
    popen2_cleanup();
    ck_assert_uint_eq(popen2_active(), 0);
    ck_assert_int_eq(waitpid(pid, &st, WNOHANG), -1);
    ck_assert_int_eq(errno, ECHILD);
}
END_TEST

/* Where the child cannot be reaped through its pidfd (waitid refused as
 * above, or no pidfd at all: pidfd_open refused), its usage comes from
 * wait4 by number at the reap, and popen2_stop still ends a child that
 * ignores SIGTERM. */
START_TEST(usage_and_stop_without_a_reap_by_pidfd)
{
    popen2_proc *p;
    struct rusage ru;
    char line[16];
    long rc;
    bool ok = _i < 3 ? sandbox("usage, waitid refused", SYS_waitid, P_PIDFD, wait_refusals[_i])
                     : sandbox("usage, pidfd_open refused", SYS_pidfd_open, -1, ENOSYS);

    if (!ok)
        return;
    p = run("touch", "32");
    ck_assert_int_eq(popen2_wait(p), 0);
    ck_assert_int_eq(popen2_rusage(p, &ru), 0);
    ck_assert_msg(ru.ru_maxrss >= 32 * 1024, "ru_maxrss %ld KiB", ru.ru_maxrss);
    ck_assert_int_eq(popen2_returncode(p, &rc), 0);
    ck_assert_int_eq(rc, 0);
    popen2_free(p);

    p = run("ignore-term", "60000");
    ck_assert_ptr_nonnull(fgets(line, sizeof line, popen2_fromchild(p)));
    ck_assert_int_eq(WTERMSIG(popen2_stop(p, 100)), SIGKILL);
    ck_assert_int_eq(popen2_returncode(p, &rc), 0);
    ck_assert_int_eq(rc, -SIGKILL);
    ck_assert_int_eq(popen2_rusage(p, &ru), 0);
    popen2_free(p);
}
END_TEST

/* An error that is no refusal (here EACCES, from waitid(P_PIDFD), or from
 * every wait by number for a child held by its number) is returned by
 * poll, wait and communicate, never looped on. */
START_TEST(a_wait_error_is_returned)
{
    popen2_proc *p;
    char *out = NULL;
    size_t len;
    if (_i == 0) {
        if (!pidfds_here() || !sandbox("wait error", SYS_waitid, P_PIDFD, EACCES))
            return;
        p = run("exit", "7");
    } else {
        /* Only this child's waits by number: LeakSanitizer waits for a
         * helper of its own at exit. */
        if (!sandbox("wait error", SYS_pidfd_open, -1, EACCES))
            return;
        p = run("exit", "7");
        ck_assert(sandbox("wait error", SYS_wait4, popen2_pid(p), EACCES));
        ck_assert(sandbox("wait error", SYS_waitid, P_PID, EACCES));
    }
    errno = 0;
    ck_assert_int_eq(popen2_wait(p), -1); /* a spin here fails by the Check timeout */
    ck_assert_int_eq(errno, EACCES);
    errno = 0;
    ck_assert_int_eq(popen2_wait_timeout(p, -1), -1);
    ck_assert_int_eq(errno, EACCES);
    errno = 0;
    ck_assert_int_eq(popen2_poll(p), -1);
    ck_assert_int_eq(errno, EACCES);
    errno = 0;
    ck_assert_int_eq(popen2_communicate(p, NULL, 0, &out, &len, NULL, NULL, -1), -1);
    ck_assert_int_eq(errno, EACCES);
    popen2_free(p);
}
END_TEST

/* Refusals the library met before: pidfd_open (the child is held by its
 * number), clone3 (glibc's posix_spawn falls back to clone on ENOSYS only)
 * and close_range (glibc closes the descriptors one by one).  The output,
 * the descriptors, the status and the signals are as without a filter. */
static const struct {
    long nr;
    int err;
} spawn_refusals[] = {
    {SYS_pidfd_open, ENOSYS},  {SYS_pidfd_open, EPERM},  {SYS_clone3, ENOSYS},
    {SYS_close_range, ENOSYS}, {SYS_close_range, EPERM},
};

START_TEST(spawns_when_other_calls_are_refused)
{
    popen2_proc *p;
    char *out;
    size_t len;
    int st;

    if (!sandbox("spawn refused", spawn_refusals[_i].nr, -1, spawn_refusals[_i].err))
        return;
    p = run("fds", NULL);
    out = read_all(popen2_fromchild(p), &len);
    ck_assert_str_eq(out, "0\n1\n2\n");
    free(out);
    st = popen2_wait(p);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    popen2_free(p);

    p = leader_with_grandchild(true);
    ck_assert_int_eq(popen2_terminate(p), 0);
    st = popen2_wait(p);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
    out = read_all(popen2_fromchild(p), &len);
    ck_assert_uint_eq(len, 0);
    free(out);
    popen2_free(p);
    ck_assert_uint_eq(popen2_active(), 0);
}
END_TEST

static const struct test_case cases[] = {
    TEST(handle, statuses_decode_as_waitpid_gives_them),
    TEST(handle, pidfd_is_held_from_the_spawn),
    TEST(handle, foreign_reap_is_reported_as_echild),
    TEST(pid_reuse, foreign_reap_then_reuse_never_signals_the_stranger),
    TEST(pid_reuse, foreign_reap_then_reuse_by_our_child_keeps_statuses_apart),
    TEST(pid_reuse, cleanup_never_reaps_the_applications_own_child),
    TEST(sigchld_ignored, sigchld_ignored_event_loop_ends),
    TEST(sigchld_ignored, sigchld_ignored_communicate_keeps_the_output),
    TEST_LOOP(sandboxed, signals_when_pidfd_send_signal_is_refused, 0,
              (int)(sizeof refusals / sizeof refusals[0])),
    TEST_LOOP(sandboxed, waits_when_waitid_by_pidfd_is_refused, 0,
              (int)(sizeof wait_refusals / sizeof wait_refusals[0])),
    TEST_LOOP(sandboxed, cleanup_reaps_when_waitid_by_pidfd_is_refused, 0,
              (int)(sizeof wait_refusals / sizeof wait_refusals[0])),
    TEST_LOOP(sandboxed, usage_and_stop_without_a_reap_by_pidfd, 0, 4),
    TEST_LOOP(sandboxed, a_wait_error_is_returned, 0, 2),
    TEST_LOOP(sandboxed, spawns_when_other_calls_are_refused, 0,
              (int)(sizeof spawn_refusals / sizeof spawn_refusals[0])),
};

TEST_MAIN("child", cases, .timeout = 60)
