/* check_communicate: popen2_communicate, subprocess's communicate() in C. */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#include "common.h"
#include "runner.h"
#include "popen2.h"

#define MIB (1024 * 1024)

START_TEST(input_goes_in_and_output_comes_back)
{
    char *argv[] = {TEST_CHILD, "cat", NULL};
    popen2_proc *p = popen2_spawnv(argv, NULL);
    unsigned char *in = malloc(3 * MIB);
    char *out = NULL, *err = (char *)1;
    size_t outlen = 0, errlen = 99;
    int st;

    ck_assert_ptr_nonnull(p);
    pattern_fill(in, 3 * MIB, 31, 0);
    st = popen2_communicate(p, in, 3 * MIB, &out, &outlen, &err, &errlen, -1);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert_uint_eq(outlen, 3 * MIB);
    ck_assert_int_eq(memcmp(out, in, 3 * MIB), 0);
    ck_assert_int_eq(out[outlen], '\0');
    ck_assert_ptr_null(err); /* stderr is not piped by default */
    ck_assert_uint_eq(errlen, 0);
    ck_assert_ptr_null(popen2_tochild(p)); /* closed by communicate */
    free(out);
    free(in);
    popen2_free(p);
}
END_TEST

START_TEST(both_outputs_at_once_without_deadlock)
{
    char *argv[] = {TEST_CHILD, "both", "5000000", "32", "33", NULL};
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;
    char *out, *err;
    size_t outlen, errlen;
    int st;

    popen2_attr_set_stream(a, 2, POPEN2_PIPE);
    p = popen2_spawnv(argv, a);
    popen2_attr_free(a);
    ck_assert_ptr_nonnull(p);
    st = popen2_communicate(p, NULL, 0, &out, &outlen, &err, &errlen, 20000);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert_uint_eq(outlen, 5000000);
    ck_assert_uint_eq(errlen, 5000000);
    ck_assert_uint_eq(pattern_check((unsigned char *)out, outlen, 32, 0), outlen);
    ck_assert_uint_eq(pattern_check((unsigned char *)err, errlen, 33, 0), errlen);
    free(out);
    free(err);
    popen2_free(p);
}
END_TEST

START_TEST(a_timeout_keeps_what_was_collected_for_the_next_call)
{
    popen2_proc *p;
    char cmd[256], *out = (char *)1;
    size_t outlen = 7;
    double t0;
    int st;

    snprintf(cmd, sizeof cmd, "echo early; exec %s sleep 60000", TEST_CHILD);
    p = popen2_spawn(cmd, NULL);
    ck_assert_ptr_nonnull(p);
    t0 = now_s();
    ck_assert_int_eq(popen2_communicate(p, "x", 1, &out, &outlen, NULL, NULL, 300), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    ck_assert(now_s() - t0 >= 0.29 && now_s() - t0 < 5.0);
    ck_assert_ptr_eq(out, (char *)1); /* untouched on failure */
    ck_assert_uint_eq(outlen, 7);
    /* Again: still running. */
    ck_assert_int_eq(popen2_communicate(p, NULL, 0, &out, &outlen, NULL, NULL, 0), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    ck_assert_int_eq(popen2_kill(p), 0);
    st = popen2_communicate(p, NULL, 0, &out, &outlen, NULL, NULL, -1);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    ck_assert_str_eq(out, "early\n");
    ck_assert_uint_eq(outlen, 6);
    free(out);
    popen2_free(p);
}
END_TEST

/* Regression: after the caller read part of stdout with fgets, communicate
 * returned only what the ring still held; the rest of the FILE's buffer
 * ("b\nc\n") was lost.  It now returns exactly the bytes not read yet.
 * _i: the FILE's buffering (default, 4 KiB, line). */
START_TEST(communicate_after_fgets_returns_the_rest)
{
    static const int bufsizes[] = {-1, 4096, 1};
    popen2_proc *p = popen2_Popen3("printf 'a\\nb\\nc\\n'", 0, bufsizes[_i]);
    char line[16], *out = NULL;
    size_t outlen = 0;
    int st;

    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, popen2_fromchild(p)));
    ck_assert_str_eq(line, "a\n");
    st = popen2_communicate(p, NULL, 0, &out, &outlen, NULL, NULL, -1);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert_uint_eq(outlen, 4);
    ck_assert_str_eq(out, "b\nc\n");
    free(out);
    popen2_free(p);
}
END_TEST

/* A byte pushed back with ungetc is unread too. */
START_TEST(communicate_after_ungetc_returns_it)
{
    popen2_proc *p = popen2_Popen3("printf 'xyz'", 0, -1);
    char *out = NULL;
    size_t outlen = 0;
    int st, c;

    ck_assert_ptr_nonnull(p);
    c = fgetc(popen2_fromchild(p));
    ck_assert_int_eq(c, 'x');
    ck_assert_int_eq(ungetc('X', popen2_fromchild(p)), 'X');
    st = popen2_communicate(p, NULL, 0, &out, &outlen, NULL, NULL, -1);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert_str_eq(out, "Xyz");
    free(out);
    popen2_free(p);
}
END_TEST

/* Regression: after a timeout closed stdin, a second call with new input
 * said success and dropped the input; it is EINVAL, and the call after it
 * (without input) still returns everything. */
START_TEST(new_input_after_stdin_was_closed_is_einval)
{
    popen2_proc *p;
    char cmd[256], *out = (char *)1;
    size_t outlen = 7;
    int st;

    snprintf(cmd, sizeof cmd, "echo early; exec %s sleep 60000", TEST_CHILD);
    p = popen2_spawn(cmd, NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(popen2_communicate(p, "x", 1, &out, &outlen, NULL, NULL, 100), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    errno = 0;
    ck_assert_int_eq(popen2_communicate(p, "more", 4, &out, &outlen, NULL, NULL, 0), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_ptr_eq(out, (char *)1);
    ck_assert_int_eq(popen2_kill(p), 0);
    st = popen2_communicate(p, NULL, 0, &out, &outlen, NULL, NULL, -1);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    ck_assert_str_eq(out, "early\n");
    free(out);
    popen2_free(p);
}
END_TEST

START_TEST(input_for_a_child_that_does_not_read)
{
    char *argv[] = {TEST_CHILD, "noread-exit", "3", NULL};
    popen2_proc *p = popen2_spawnv(argv, NULL);
    char *in = calloc(1, 4 * MIB), *out;
    size_t outlen;
    int st;

    ck_assert_ptr_nonnull(p);
    st = popen2_communicate(p, in, 4 * MIB, &out, &outlen, NULL, NULL, 20000);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 3);
    ck_assert_str_eq(out, ""); /* empty, but a string */
    ck_assert_uint_eq(outlen, 0);
    free(out);
    free(in);
    popen2_free(p);
}
END_TEST

START_TEST(discarded_outputs_and_a_second_call)
{
    popen2_proc *p = popen2_Popen3("echo out; echo err >&2; exit 4", 1, -1);
    char *err;
    size_t errlen;
    int st;

    ck_assert_ptr_nonnull(p);
    st = popen2_communicate(p, NULL, 0, NULL, NULL, &err, &errlen, 10000);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 4);
    ck_assert_str_eq(err, "err\n");
    free(err);
    /* Once done, it says the same status with nothing more. */
    st = popen2_communicate(p, NULL, 0, NULL, NULL, &err, &errlen, 0);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 4);
    ck_assert_uint_eq(errlen, 0);
    free(err);
    popen2_free(p);
}
END_TEST

START_TEST(a_failed_stream_is_reported)
{
    char *argv[] = {TEST_CHILD, "pattern", "1", "1000000", "34", NULL};
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;
    char *out = (char *)1;
    size_t outlen;

    popen2_attr_set_limit(a, 1, 4096, POPEN2_FAIL);
    p = popen2_spawnv(argv, a);
    popen2_attr_free(a);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(popen2_communicate(p, NULL, 0, &out, &outlen, NULL, NULL, 10000), -1);
    ck_assert_int_eq(errno, ENOBUFS);
    ck_assert_ptr_eq(out, (char *)1);
    ck_assert(WIFEXITED(popen2_poll(p))); /* waited for, all the same */
    popen2_free(p);
}
END_TEST

/* The limit bounds what communicate gathers, in every run alike, however
 * fast it drains the ring (a fast reader keeps the ring itself under the
 * limit). */
START_TEST(limits_bound_what_is_gathered_every_time)
{
    char *argv[] = {TEST_CHILD, "pattern", "1", "1048576", "35", NULL};
    struct popen2_stream_stats st;
    char *out;
    size_t outlen;
    int run;

    for (run = 0; run < 20; run++) {
        popen2_attr *a = popen2_attr_new();
        popen2_proc *p;

        ck_assert_int_eq(popen2_attr_set_limit(a, 1, 65536, POPEN2_FAIL), 0);
        p = popen2_spawnv(argv, a);
        ck_assert_ptr_nonnull(p);
        out = NULL;
        ck_assert_int_eq(popen2_communicate(p, NULL, 0, &out, &outlen, NULL, NULL, 60000), -1);
        ck_assert_int_eq(errno, ENOBUFS);
        ck_assert_ptr_null(out);
        popen2_free(p);

        ck_assert_int_eq(popen2_attr_set_limit(a, 1, 65536, POPEN2_KEEP_TAIL), 0);
        p = popen2_spawnv(argv, a);
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(popen2_communicate(p, NULL, 0, &out, &outlen, NULL, NULL, 60000), 0);
        ck_assert_uint_eq(outlen, 65536);
        ck_assert_uint_eq(pattern_check((unsigned char *)out, outlen, 35, 1048576 - 65536), outlen);
        ck_assert_int_eq(popen2_stream_stats(p, 1, &st), 0);
        ck_assert_uint_eq(st.total, 1048576);
        ck_assert_uint_eq(st.dropped, 1048576 - 65536);
        free(out);
        popen2_free(p);
        popen2_attr_free(a);
    }
}
END_TEST

START_TEST(bad_arguments)
{
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;
    char *out;
    size_t n;

    ck_assert_int_eq(popen2_communicate(NULL, NULL, 0, &out, &n, NULL, NULL, -1), -1);
    ck_assert_int_eq(errno, EINVAL);
    popen2_attr_set_stream(a, 0, POPEN2_DEVNULL);
    p = popen2_spawn("cat", a);
    popen2_attr_free(a);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(popen2_communicate(p, NULL, 0, &out, &n, NULL, NULL, -2), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_communicate(p, NULL, 5, &out, &n, NULL, NULL, -1), -1);
    ck_assert_int_eq(errno, EINVAL);
    /* Input, but stdin is /dev/null. */
    ck_assert_int_eq(popen2_communicate(p, "abc", 3, &out, &n, NULL, NULL, -1), -1);
    ck_assert_int_eq(errno, EINVAL);
    /* Without input it works. */
    ck_assert_int_eq(popen2_communicate(p, NULL, 0, &out, &n, NULL, NULL, 10000), 0);
    ck_assert_str_eq(out, "");
    free(out);
    popen2_free(p);
}
END_TEST

START_TEST(nothing_is_left_behind)
{
    int fds = count_fds(), threads = count_threads(), i;
    popen2_proc *p;
    char *out;
    size_t n;

    for (i = 0; i < 10; i++) {
        p = popen2_Popen3("cat", 1, -1);
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(popen2_communicate(p, "hi", 2, &out, &n, NULL, NULL, 10000), 0);
        ck_assert_str_eq(out, "hi");
        free(out);
        popen2_free(p);
    }
    ck_assert(EVENTUALLY(count_fds() <= fds && count_threads() <= threads, 5));
    ck_assert_int_eq(count_children(), 0);
}
END_TEST

static const struct test_case cases[] = {
    TEST(communicate, input_goes_in_and_output_comes_back),
    TEST(communicate, both_outputs_at_once_without_deadlock),
    TEST(communicate, a_timeout_keeps_what_was_collected_for_the_next_call),
    TEST_LOOP(communicate, communicate_after_fgets_returns_the_rest, 0, 3),
    TEST(communicate, communicate_after_ungetc_returns_it),
    TEST(communicate, new_input_after_stdin_was_closed_is_einval),
    TEST(communicate, input_for_a_child_that_does_not_read),
    TEST(communicate, discarded_outputs_and_a_second_call),
    TEST(communicate, a_failed_stream_is_reported),
    TEST(communicate, limits_bound_what_is_gathered_every_time),
    TEST(communicate, bad_arguments),
    TEST(communicate, nothing_is_left_behind),
};

TEST_MAIN("communicate", cases, .timeout = 30)
