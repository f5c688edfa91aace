/* check_spawn: posix_spawn wiring (lib/sys/spawn.posix.c), tested directly.  The
 * descriptor helpers it relies on (lib/sys/fd.posix.c) are check_fd's. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common.h"
#include "runner.h"
#include "spawn_request.h"
#include "sys/sys.h"

/* Spawns tests/child with the given mode arguments, as run_request. */
static char *run_child(char *const argv[], int *status)
{
    struct p2i_spawn_request req = {.file = TEST_CHILD, .argv = argv, .fd = {-1, -1, -1}};

    return run_request(req, status);
}

START_TEST(the_child_runs_and_its_status_comes_back)
{
    char *argv[] = {TEST_CHILD, "exit", "3", NULL};
    int st;
    char *out = run_child(argv, &st);

    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 3);
    free(out);
}
END_TEST

START_TEST(the_given_descriptors_become_0_1_2)
{
    struct p2i_spawn_request req = {.file = TEST_CHILD};
    char *argv[] = {TEST_CHILD, "cat", NULL};
    int in[2], out[2], st;
    char buf[16] = {0};
    pid_t pid;

    ck_assert_int_eq(p2i_fd_pipe(in), 0);
    ck_assert_int_eq(p2i_fd_pipe(out), 0);
    req.argv = argv;
    req.fd[0] = in[0];
    req.fd[1] = out[1];
    req.fd[2] = -1;
    ck_assert_int_eq(p2i_spawn_start(&req, &pid), 0);
    close(in[0]);
    close(out[1]);
    ck_assert_int_eq(write(in[1], "ping", 4), 4);
    close(in[1]);
    ck_assert_int_eq(read(out[0], buf, sizeof buf), 4);
    ck_assert_str_eq(buf, "ping");
    close(out[0]);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
END_TEST

START_TEST(only_0_1_2_reach_the_child_even_inheritable_ones)
{
    char *argv[] = {TEST_CHILD, "fds", NULL};
    int leaky = dup(2); /* no O_CLOEXEC: a careless caller's descriptor */
    int st;
    char *out;

    ck_assert_int_ge(leaky, 3);
    out = run_child(argv, &st);
    close(leaky);
    ck_assert_str_eq(out, "0\n1\n2\n");
    free(out);
}
END_TEST

START_TEST(the_child_gets_default_signals_and_an_empty_mask)
{
    char *argv[] = {TEST_CHILD, "sigstate", NULL};
    sigset_t block, old;
    struct sigaction ign = {.sa_handler = SIG_IGN}, old_pipe, old_int;
    int st;
    char *out;

    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    sigaction(SIGPIPE, &ign, &old_pipe);
    sigaction(SIGINT, &ign, &old_int);
    out = run_child(argv, &st);
    sigaction(SIGPIPE, &old_pipe, NULL);
    sigaction(SIGINT, &old_int, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    ck_assert_str_eq(out, "");
    free(out);
}
END_TEST

START_TEST(the_environment_is_the_base_with_sets_and_unsets_in_order)
{
    char *argv[] = {"sh", "-c", "printf '%s,%s,%s' \"$P2I_A\" \"${P2I_B-unset}\" \"$P2I_C\"",
                    NULL};
    char *base[] = {"P2I_A=base", "P2I_B=base", "P2I_C=base", "PATH=/usr/bin:/bin", NULL};
    char *ops[] = {"P2I_A=one", "P2I_B", "P2I_A=two", NULL};
    struct p2i_spawn_request req = {.file = "sh", .argv = argv, .search_path = true,
                                    .fd = {-1, -1, -1}, .envp = base, .env_ops = ops,
                                    .n_env_ops = 3};
    int st;
    char *out = run_request(req, &st);

    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert_str_eq(out, "two,unset,base");
    free(out);
}
END_TEST

START_TEST(a_missing_program_is_enoent_in_the_parent)
{
    struct p2i_spawn_request req = {.file = "popen2-no-such-program", .search_path = true,
                                .fd = {-1, -1, -1}};
    char *argv[] = {"popen2-no-such-program", NULL};
    int before = count_children();
    pid_t pid;

    req.argv = argv;
    if (getenv("POPEN2_UNDER_VALGRIND"))
        return; /* valgrind turns CLONE_VFORK into fork: no exec error comes back */
    ck_assert_int_eq(p2i_spawn_start(&req, &pid), -ENOENT);
    ck_assert_int_eq(count_children(), before);
}
END_TEST

START_TEST(a_file_that_is_not_executable_code_is_enoexec_not_sh)
{
    char path[] = "/tmp/popen2-noexec-XXXXXX";
    int fd = mkstemp(path);
    char *argv[] = {path, NULL};
    struct p2i_spawn_request req = {.file = path, .argv = argv, .search_path = true,
                                .fd = {-1, -1, -1}};
    pid_t pid;
    int r;

    ck_assert_int_ge(fd, 0);
    /* A shell script without #!: execvp would hand it to /bin/sh. */
    ck_assert_int_eq(write(fd, "echo hi\n", 8), 8);
    close(fd);
    chmod(path, 0755);
    if (getenv("POPEN2_UNDER_VALGRIND")) {
        unlink(path);
        return;
    }
    r = p2i_spawn_start(&req, &pid);
    unlink(path);
    ck_assert_int_eq(r, -ENOEXEC);
}
END_TEST

static const struct test_case cases[] = {
    TEST(spawn, the_child_runs_and_its_status_comes_back),
    TEST(spawn, the_given_descriptors_become_0_1_2),
    TEST(spawn, only_0_1_2_reach_the_child_even_inheritable_ones),
    TEST(spawn, the_child_gets_default_signals_and_an_empty_mask),
    TEST(spawn, the_environment_is_the_base_with_sets_and_unsets_in_order),
    TEST(spawn, a_missing_program_is_enoent_in_the_parent),
    TEST(spawn, a_file_that_is_not_executable_code_is_enoexec_not_sh),
};

TEST_MAIN("spawn", cases, .timeout = 30)
