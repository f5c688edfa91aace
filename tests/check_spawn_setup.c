/* check_spawn_setup: the second spawn path (lib/sys/spawn_setup.posix.c),
 * reached through p2i_spawn_start with a setup posix_spawn cannot do.  The
 * child of that path must give the program what posix_spawn's child gives
 * (signals, group, directory, environment, descriptors), and a step that
 * fails in it must come back as that step's errno with the child reaped.
 * The public calls and the parent-death thread (spawner.posix.c) are
 * behaviour/child_setup's. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "common.h"
#include "runner.h"
#include "popen2.h"
#include "spawn_request.h"
#include "sys/sys.h"

/* A umask alone: the smallest setup that takes the second path. */
static struct p2i_spawn_setup with_umask = {.set_umask = true, .umask = 022};

START_TEST(only_passed_settings_stay_on_posix_spawn)
{
    struct p2i_fd_pass pass = {.fd = 0, .child_fd = 3};
    struct p2i_spawn_setup s = {.pass = &pass, .n_pass = 1};

    ck_assert(!p2i_spawn_setup_needs_child(NULL));
    ck_assert(!p2i_spawn_setup_needs_child(&s));
    ck_assert(p2i_spawn_setup_needs_child(&with_umask));
    s.no_new_privs = true;
    ck_assert(p2i_spawn_setup_needs_child(&s));
}
END_TEST

START_TEST(default_signals_and_an_empty_mask_here_too)
{
    char *argv[] = {TEST_CHILD, "sigstate", NULL};
    struct p2i_spawn_request req = {.file = TEST_CHILD, .argv = argv, .fd = {-1, -1, -1},
                                    .setup = &with_umask};
    struct sigaction ign = {.sa_handler = SIG_IGN}, old_pipe, old_int;
    sigset_t block, old;
    int st;
    char *out;

    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    sigaction(SIGPIPE, &ign, &old_pipe);
    sigaction(SIGINT, &ign, &old_int);
    out = run_request(req, &st);
    sigaction(SIGPIPE, &old_pipe, NULL);
    sigaction(SIGINT, &old_int, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    ck_assert_int_eq(st, 0);
    ck_assert_str_eq(out, ""); /* nothing blocked, nothing ignored (32, 33 included) */
    free(out);
}
END_TEST

START_TEST(directory_environment_and_path_search)
{
    char *argv[] = {"sh", "-c", "pwd; printf '%s,%s' \"$P2I_A\" \"${P2I_B-unset}\"", NULL};
    char *base[] = {"P2I_A=base", "P2I_B=base", "PATH=/usr/bin:/bin", NULL};
    char *ops[] = {"P2I_A=one", "P2I_B", NULL};
    struct p2i_spawn_request req = {.file = "sh", .argv = argv, .search_path = true,
                                    .fd = {-1, -1, -1}, .cwd = "/usr", .envp = base,
                                    .env_ops = ops, .n_env_ops = 2, .setup = &with_umask};
    int st;
    char *out = run_request(req, &st);

    ck_assert_int_eq(st, 0);
    ck_assert_str_eq(out, "/usr\none,unset");
    free(out);
}
END_TEST

START_TEST(a_new_group_is_led_by_the_child)
{
    char *argv[] = {TEST_CHILD, "sleep", "60000", NULL};
    struct p2i_spawn_request req = {.file = TEST_CHILD, .argv = argv, .fd = {-1, -1, -1},
                                    .group = POPEN2_GROUP_NEW, .setup = &with_umask};
    pid_t pid;
    int st;

    ck_assert_int_eq(p2i_spawn_start(&req, &pid), 0);
    ck_assert_int_eq(getpgid(pid), pid);
    kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
}
END_TEST

/* The kernel's refusal in the child is the spawn's result, and the failed
 * child is reaped: no child of ours is left. */
START_TEST(a_failing_step_is_its_errno_with_the_child_reaped)
{
    char *argv[] = {TEST_CHILD, "exit", "0", NULL};
    struct p2i_rlimit_set bad = {.resource = 4096, .cur = 1, .max = 1};
    struct p2i_spawn_setup s = {.rlimits = &bad, .n_rlimits = 1};
    struct p2i_spawn_request req = {.file = TEST_CHILD, .argv = argv, .fd = {-1, -1, -1},
                                    .setup = &s};
    char *missing[] = {"/nonexistent/program", NULL};
    pid_t pid = -1;

    ck_assert_int_eq(p2i_spawn_start(&req, &pid), -EINVAL);
    ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
    ck_assert_int_eq(errno, ECHILD);
    req.setup = &with_umask;
    req.file = missing[0];
    req.argv = missing;
    ck_assert_int_eq(p2i_spawn_start(&req, &pid), -ENOENT);
    ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
    ck_assert_int_eq(errno, ECHILD);
}
END_TEST

/* Targets that are the sources' own numbers, crossed: the lifted copies
 * keep every source readable until its dup2. */
START_TEST(crossed_passes_land_where_named)
{
    int pa[2], pb[2], st;
    char cmd[96], buf[8];
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    struct p2i_fd_pass pass[2];
    struct p2i_spawn_setup s = {.pass = pass, .n_pass = 2, .set_umask = true, .umask = 022};
    struct p2i_spawn_request req = {.file = "/bin/sh", .argv = argv, .fd = {-1, -1, -1},
                                    .setup = &s};
    char *out;

    ck_assert_int_eq(p2i_fd_pipe(pa), 0);
    ck_assert_int_eq(p2i_fd_pipe(pb), 0);
    pass[0] = (struct p2i_fd_pass){pa[1], pb[1]};
    pass[1] = (struct p2i_fd_pass){pb[1], pa[1]};
    snprintf(cmd, sizeof cmd, "printf a >&%d; printf b >&%d", pb[1], pa[1]);
    out = run_request(req, &st);
    ck_assert_int_eq(st, 0);
    free(out);
    close(pa[1]);
    close(pb[1]);
    ck_assert_int_eq(read(pa[0], buf, sizeof buf), 1);
    ck_assert_int_eq(buf[0], 'a');
    ck_assert_int_eq(read(pb[0], buf, sizeof buf), 1);
    ck_assert_int_eq(buf[0], 'b');
    close(pa[0]);
    close(pb[0]);
}
END_TEST

static const struct test_case cases[] = {
    TEST(setup, only_passed_settings_stay_on_posix_spawn),
    TEST(setup, default_signals_and_an_empty_mask_here_too),
    TEST(setup, directory_environment_and_path_search),
    TEST(setup, a_new_group_is_led_by_the_child),
    TEST(setup, a_failing_step_is_its_errno_with_the_child_reaped),
    TEST(setup, crossed_passes_land_where_named),
};

TEST_MAIN("spawn_setup", cases, .timeout = 30)
