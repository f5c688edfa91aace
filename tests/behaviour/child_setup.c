/* child_setup: the declarative child setup of popen2_attr.
 *
 * - Passed descriptors: the child has exactly 0-2 and the passed ones, each
 *   a copy of its source at its number, also when the mapping cycles or a
 *   descriptor keeps its own number, on both spawn paths (posix_spawn, and
 *   the setup path a umask sends it to); the parent's descriptors keep
 *   close-on-exec, and a spawn in another thread meanwhile never inherits a
 *   passed one.
 * - umask, rlimits, no_new_privs are what the child sees; the parent's stay.
 * - ids: as root, the child runs as nobody (skipped without root).
 * - Failures: bad input at the setter (EINVAL, EBADF), a step refused at the
 *   spawn (EPERM, in a process without privilege; ENOENT) fails creation
 *   synchronously and leaves no descriptor, thread or child.
 * - The parent-death signal: not sent when the creating thread ends, sent
 *   when the parent process ends.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "baseline.h"
#include "common.h"
#include "runner.h"
#include "children.h"
#include "popen2.h"

/* Runs argv (or cmd through the shell) with a; its stdout after it exited 0. */
static char *run_ok(const char *cmd, char *const argv[], const popen2_attr *a)
{
    popen2_proc *p = cmd ? popen2_spawn(cmd, a) : popen2_spawnv(argv, a);
    char *out;

    ck_assert_msg(p != NULL, "spawn: %s", strerror(errno));
    out = read_all(popen2_fromchild(p), NULL);
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
    return out;
}

/* The descriptors `child fds` printed, as a bit set of 0..63 (64 and up: 1<<63). */
static unsigned long long fd_set_of(const char *text)
{
    unsigned long long set = 0;
    const char *s = text;
    char *end;
    long fd;

    while (*s) {
        fd = strtol(s, &end, 10);
        ck_assert_ptr_ne(end, s);
        set |= 1ULL << (fd < 63 ? fd : 63);
        s = *end ? end + 1 : end;
    }
    return set;
}

/* Path 0 is posix_spawn's; path 1 adds a umask, which takes the setup path. */
static void choose_path(popen2_attr *a, int path)
{
    if (path == 1)
        ck_assert_int_eq(popen2_attr_set_umask(a, 022), 0);
}

START_TEST(exactly_std_and_passed)
{
    popen2_attr *a = popen2_attr_new();
    int null = open("/dev/null", O_RDONLY); /* inheritable on purpose */
    int pipefd[2];
    char *out;

    ck_assert_int_ge(null, 0);
    ck_assert_int_eq(pipe(pipefd), 0);
    choose_path(a, _i);
    ck_assert_int_eq(popen2_attr_pass_fd(a, pipefd[1], 5), 0);
    ck_assert_int_eq(popen2_attr_pass_fd(a, null, 9), 0);
    /* The caller may close its own at once: the attr holds copies. */
    close(null);
    out = run_ok(NULL, CHILD("fds"), a);
    ck_assert_msg(fd_set_of(out) == ((1ULL << 0) | (1ULL << 1) | (1ULL << 2) | (1ULL << 5) |
                                     (1ULL << 9)),
                  "child fds: %s", out);
    free(out);
    popen2_attr_free(a);
    close(pipefd[0]);
    close(pipefd[1]);
}
END_TEST

/* Reads what the pipe holds once every writer is gone. */
static char *drain(int rfd)
{
    FILE *f = fdopen(rfd, "r");
    char *text;

    ck_assert_ptr_nonnull(f);
    text = read_all(f, NULL);
    fclose(f);
    return text;
}

/* A's write end goes to the child at B's number and B's to A's: a cycle
 * in the parent's numbers; and a third keeps its own number. */
START_TEST(mapping_cycle_and_own_number)
{
    popen2_attr *a = popen2_attr_new();
    int pa[2], pb[2], pc[2];
    char cmd[128], *out, *ta, *tb, *tc;

    ck_assert_int_eq(pipe2(pa, O_CLOEXEC), 0);
    ck_assert_int_eq(pipe2(pb, O_CLOEXEC), 0);
    ck_assert_int_eq(pipe(pc), 0); /* not close-on-exec: it must stay so */
    choose_path(a, _i);
    ck_assert_int_eq(popen2_attr_pass_fd(a, pa[1], pb[1]), 0);
    ck_assert_int_eq(popen2_attr_pass_fd(a, pb[1], pa[1]), 0);
    ck_assert_int_eq(popen2_attr_pass_fd(a, pc[1], pc[1]), 0);
    snprintf(cmd, sizeof cmd, "echo to-a >&%d; echo to-b >&%d; echo to-c >&%d", pb[1], pa[1],
             pc[1]);
    out = run_ok(cmd, NULL, a);
    ck_assert_str_eq(out, "");
    free(out);
    /* The parent's flags are as they were. */
    ck_assert_int_eq(fcntl(pa[1], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    ck_assert_int_eq(fcntl(pc[1], F_GETFD) & FD_CLOEXEC, 0);
    popen2_attr_free(a);
    close(pa[1]);
    close(pb[1]);
    close(pc[1]);
    ta = drain(pa[0]);
    tb = drain(pb[0]);
    tc = drain(pc[0]);
    ck_assert_str_eq(ta, "to-a\n");
    ck_assert_str_eq(tb, "to-b\n");
    ck_assert_str_eq(tc, "to-c\n");
    free(ta);
    free(tb);
    free(tc);
}
END_TEST

static atomic_bool stop_plain;
static atomic_int plain_leaks, plain_runs;

/* Spawns plain children that list their descriptors, until told to stop. */
static void *plain_spawner(void *arg)
{
    char *out;
    popen2_proc *p;

    (void)arg;
    while (!atomic_load(&stop_plain) || atomic_load(&plain_runs) < 20) {
        p = popen2_spawnv(CHILD("fds"), NULL);
        if (!p)
            continue;
        out = read_all(popen2_fromchild(p), NULL);
        popen2_wait(p);
        popen2_free(p);
        if (fd_set_of(out) != 7)
            atomic_fetch_add(&plain_leaks, 1);
        atomic_fetch_add(&plain_runs, 1);
        free(out);
    }
    return NULL;
}

START_TEST(concurrent_spawn_never_inherits)
{
    popen2_attr *a = popen2_attr_new();
    pthread_t t;
    int i, pipefd[2];
    char *out;

    ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
    choose_path(a, _i);
    ck_assert_int_eq(popen2_attr_pass_fd(a, pipefd[1], 7), 0);
    atomic_store(&stop_plain, false);
    atomic_store(&plain_leaks, 0);
    atomic_store(&plain_runs, 0);
    ck_assert_int_eq(pthread_create(&t, NULL, plain_spawner, NULL), 0);
    for (i = 0; i < 40; i++) {
        out = run_ok(NULL, CHILD("fds"), a);
        ck_assert_msg(fd_set_of(out) == (7ULL | 1ULL << 7), "child fds: %s", out);
        free(out);
    }
    atomic_store(&stop_plain, true);
    pthread_join(t, NULL);
    ck_assert_int_eq(atomic_load(&plain_leaks), 0);
    popen2_attr_free(a);
    close(pipefd[0]);
    close(pipefd[1]);
}
END_TEST

START_TEST(umask_and_rlimits_in_the_child_only)
{
    popen2_attr *a = popen2_attr_new();
    struct rlimit nofile, before, after, core = {0, 0}, small = {64, 64};
    mode_t mine;
    char *out;

    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &before), 0);
    ck_assert_int_eq(popen2_attr_set_umask(a, 027), 0);
    ck_assert_int_eq(popen2_attr_set_rlimit(a, RLIMIT_CORE, &core), 0);
    if (under_valgrind()) {
        /* valgrind keeps descriptors of its own above the soft limit and
         * refuses (EPERM) any change of RLIMIT_NOFILE's hard limit. */
        fprintf(stderr, "limits: RLIMIT_NOFILE skipped under valgrind\n");
        out = run_ok("umask; ulimit -c", NULL, a);
        ck_assert_str_eq(out, "0027\n0\n");
        free(out);
        popen2_attr_free(a);
        return;
    }
    ck_assert_int_eq(popen2_attr_set_rlimit(a, RLIMIT_NOFILE, &small), 0);
    out = run_ok("umask; ulimit -n; ulimit -c", NULL, a);
    ck_assert_str_eq(out, "0027\n64\n0\n");
    free(out);
    /* Set again for the same resource: the last one counts. */
    nofile = (struct rlimit){32, 64};
    ck_assert_int_eq(popen2_attr_set_rlimit(a, RLIMIT_NOFILE, &nofile), 0);
    out = run_ok("ulimit -n", NULL, a);
    ck_assert_str_eq(out, "32\n");
    free(out);
    popen2_attr_free(a);
    mine = umask(0);
    umask(mine);
    ck_assert_int_ne(mine, 027);
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &after), 0);
    ck_assert(after.rlim_cur == before.rlim_cur && after.rlim_max == before.rlim_max);
}
END_TEST

START_TEST(no_new_privs_in_the_child)
{
    popen2_attr *a = popen2_attr_new();
    char *out;

    ck_assert_int_eq(popen2_attr_set_no_new_privs(a, 1), 0);
    out = run_ok("grep '^NoNewPrivs' /proc/self/status", NULL, a);
    ck_assert_str_eq(out, "NoNewPrivs:\t1\n");
    free(out);
    popen2_attr_free(a);
    ck_assert_int_eq(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 0);
}
END_TEST

START_TEST(ids_as_root)
{
    popen2_attr *a;
    char *out;

    if (geteuid() != 0) {
        fprintf(stderr, "ids_as_root: skipped (not root)\n");
        return;
    }
    a = popen2_attr_new();
    ck_assert_int_eq(popen2_attr_set_ids(a, 65534, 65534, NULL, 0), 0);
    out = run_ok("id -u; id -g; id -G", NULL, a);
    ck_assert_str_eq(out, "65534\n65534\n65534\n");
    free(out);
    /* Only the gid, with a supplementary group: the uid stays root's. */
    ck_assert_int_eq(popen2_attr_set_ids(a, (uid_t)-1, 65534, (gid_t[]){4}, 1), 0);
    out = run_ok("id -u; id -g; id -G", NULL, a);
    ck_assert_str_eq(out, "0\n65534\n65534 4\n");
    free(out);
    popen2_attr_free(a);
}
END_TEST

START_TEST(setters_refuse_bad_input)
{
    popen2_attr *a = popen2_attr_new();
    struct rlimit inverted = {10, 5}, fine = {5, 10};
    int pipefd[2];

    ck_assert_int_eq(pipe(pipefd), 0);
    close(pipefd[1]);
    errno = 0;
    ck_assert_int_eq(popen2_attr_pass_fd(a, pipefd[1], 5), -1);
    ck_assert_int_eq(errno, EBADF);
    ck_assert_int_eq(popen2_attr_pass_fd(a, -1, 5), -1);
    ck_assert_int_eq(errno, EBADF);
    ck_assert_int_eq(popen2_attr_pass_fd(a, pipefd[0], 2), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_attr_pass_fd(NULL, pipefd[0], 5), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_attr_set_rlimit(a, RLIMIT_NOFILE, &inverted), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_attr_set_rlimit(a, 9999, &fine), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_attr_set_rlimit(a, -1, &fine), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_attr_set_rlimit(a, RLIMIT_NOFILE, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_attr_set_umask(a, 01777), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_attr_set_ids(a, 1, 1, NULL, 2), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_attr_set_parent_death_signal(a, -1), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_attr_set_parent_death_signal(a, 4096), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_attr_set_no_new_privs(NULL, 1), -1);
    ck_assert_int_eq(errno, EINVAL);
    popen2_attr_free(a);
    close(pipefd[0]);
}
END_TEST

/* One spawn that must fail with want, leaving nothing behind. */
static int expect_spawn_error(const popen2_attr *a, int want)
{
    popen2_proc *p = popen2_spawnv(CHILD("exit", "0"), a);

    if (p) {
        popen2_wait(p);
        popen2_free(p);
        return 1;
    }
    return errno == want ? 0 : 2;
}

START_TEST(failed_step_fails_creation_cleanly)
{
    struct baseline b = baseline();
    popen2_attr *a = popen2_attr_new();
    char *missing[] = {"/nonexistent/program", NULL};

    /* An exec failure on the setup path is synchronous too. */
    ck_assert_int_eq(popen2_attr_set_umask(a, 022), 0);
    ck_assert_ptr_null(popen2_spawnv(missing, a));
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_int_eq(popen2_attr_set_parent_death_signal(a, SIGTERM), 0);
    ck_assert_ptr_null(popen2_spawnv(missing, a));
    ck_assert_int_eq(errno, ENOENT);
    popen2_attr_free(a);
    assert_back_to(b);
}
END_TEST

/* In a process without privilege (a forked one that became nobody when we
 * are root): a gid it cannot take, and a hard limit above its own, are EPERM
 * at the spawn, with no descriptor or child left.  Exit codes name the
 * step that went wrong. */
static int unprivileged_failures(void)
{
    struct rlimit now, higher;
    popen2_attr *a;
    int fds, r;

    if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0))
        return 10;
    fds = count_fds();
    a = popen2_attr_new();
    if (popen2_attr_set_ids(a, (uid_t)-1, 0, NULL, 0) < 0)
        return 11;
    if ((r = expect_spawn_error(a, EPERM)) != 0)
        return 20 + r;
    popen2_attr_free(a);
    a = popen2_attr_new();
    if (getrlimit(RLIMIT_NOFILE, &now) < 0 || now.rlim_max == RLIM_INFINITY)
        return 0;
    higher = (struct rlimit){now.rlim_max + 1, now.rlim_max + 1};
    if (popen2_attr_set_rlimit(a, RLIMIT_NOFILE, &higher) < 0)
        return 12;
    if ((r = expect_spawn_error(a, EPERM)) != 0)
        return 30 + r;
    popen2_attr_free(a);
    if (count_fds() != fds)
        return 13;
    if (count_children() != 0)
        return 14;
    return 0;
}

START_TEST(refused_step_is_eperm_at_the_spawn)
{
    pid_t pid = fork();
    int st;

    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(unprivileged_failures());
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
}
END_TEST

static void *spawn_sleeper_with_pdeath(void *arg)
{
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;

    (void)arg;
    popen2_attr_set_parent_death_signal(a, SIGTERM);
    p = popen2_spawnv(CHILD("sleep", "60000"), a);
    popen2_attr_free(a);
    return p;
}

START_TEST(death_signal_outlives_the_creating_thread)
{
    struct baseline b = baseline();
    pthread_t t;
    void *res;
    popen2_proc *p;
    int i;

    ck_assert_int_eq(pthread_create(&t, NULL, spawn_sleeper_with_pdeath, NULL), 0);
    ck_assert_int_eq(pthread_join(t, &res), 0);
    p = res;
    ck_assert_ptr_nonnull(p);
    /* The kernel would have sent it as the thread exited: give it ample
     * time to show. */
    for (i = 0; i < 20; i++) {
        ck_assert_int_eq(popen2_poll(p), -1);
        sleep_ms(20);
    }
    ck_assert_int_eq(popen2_kill(p), 0);
    ck_assert(WIFSIGNALED(popen2_wait(p)));
    popen2_free(p);
    /* The spawner thread ends once its children have, which it learns from
     * their pidfds: without them (an old kernel, or valgrind) it stays. */
    if (!pidfds_here()) {
        fprintf(stderr, "death: no pidfds here, the spawner thread stays\n");
        return;
    }
    assert_back_to(b);
}
END_TEST

START_TEST(death_signal_when_the_parent_process_ends)
{
    int pipefd[2], st;
    pid_t mid, grandchild = 0;

    /* The grandchild becomes ours when the middle process ends, so its end
     * can be waited for here. */
    ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    ck_assert_int_eq(pipe(pipefd), 0);
    mid = fork();
    ck_assert_int_ge(mid, 0);
    if (mid == 0) {
        popen2_attr *a = popen2_attr_new();
        popen2_proc *p;
        pid_t gc;

        close(pipefd[0]);
        if (popen2_attr_set_parent_death_signal(a, SIGTERM) < 0)
            _exit(2);
        p = popen2_spawnv(CHILD("sleep", "60000"), a);
        if (!p)
            _exit(3);
        gc = popen2_pid(p);
        if (write(pipefd[1], &gc, sizeof gc) != sizeof gc)
            _exit(4);
        _exit(0);
    }
    close(pipefd[1]);
    ck_assert_int_eq(read(pipefd[0], &grandchild, sizeof grandchild), (ssize_t)sizeof grandchild);
    close(pipefd[0]);
    ck_assert_int_eq(waitpid(mid, &st, 0), mid);
    ck_assert_int_eq(st, 0);
    /* Without the signal this would wait the whole minute: the test's
     * timeout fails it first. */
    ck_assert_int_eq(waitpid(grandchild, &st, 0), grandchild);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "status %#x", st);
}
END_TEST

static const struct test_case cases[] = {
    TEST_LOOP(passing, exactly_std_and_passed, 0, 2),
    TEST_LOOP(cycle, mapping_cycle_and_own_number, 0, 2),
    TEST_LOOP(concurrent, concurrent_spawn_never_inherits, 0, 2),
    TEST(limits, umask_and_rlimits_in_the_child_only),
    TEST(privs, no_new_privs_in_the_child),
    TEST(ids, ids_as_root),
    TEST(bad_input, setters_refuse_bad_input),
    TEST(failures, failed_step_fails_creation_cleanly),
    TEST(failures_unprivileged, refused_step_is_eperm_at_the_spawn),
    TEST(death, death_signal_outlives_the_creating_thread),
    TEST(death_process, death_signal_when_the_parent_process_ends),
};

TEST_MAIN("child_setup", cases, .timeout = 30)
