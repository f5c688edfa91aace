/* check_communicate: popen2_communicate, subprocess's communicate() in C. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "common.h"
#include "runner.h"
#include "popen2.h"
#include "seccomp.h"

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
    ck_assert(now_s() - t0 >= 0.29 && now_s() - t0 < 30.0);
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

/* Runs argv with a 64 KiB limit of `policy` on its stdin. */
static popen2_proc *spawn_input_limited(char *const argv[], int policy)
{
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;

    ck_assert_int_eq(popen2_attr_set_limit(a, 0, 65536, policy), 0);
    p = popen2_spawnv(argv, a);
    popen2_attr_free(a);
    ck_assert_ptr_nonnull(p);
    return p;
}

/* The ring took the MIB bytes of input once in all (none twice); frees. */
static void input_taken_once_and_free(popen2_proc *p, char *out, unsigned char *data)
{
    struct popen2_stream_stats in;

    ck_assert_int_eq(popen2_stream_stats(p, 0, &in), 0);
    ck_assert_uint_eq(in.total, MIB);
    free(out);
    free(data);
    popen2_free(p);
}

/* Regression: with a POPEN2_FAIL limit on stdin the input did not fit, the
 * short write was ignored and communicate returned status 0 over the 64 KiB
 * the child got (output "65536").  A short input write is the call's error
 * now; what was taken stays taken and stdin open, and the same call again
 * goes on from there, so the child gets every byte exactly once. */
START_TEST(a_short_input_write_is_an_error)
{
    char *argv[] = {TEST_CHILD, "count", NULL};
    popen2_proc *p = spawn_input_limited(argv, POPEN2_FAIL);
    unsigned char *data = malloc(MIB);
    char *out = (char *)1;
    size_t outlen = 7;
    int st;

    pattern_fill(data, MIB, 36, 0);
    errno = 0;
    ck_assert_int_eq(popen2_communicate(p, data, MIB, &out, &outlen, NULL, NULL, 30000), -1);
    ck_assert_int_eq(errno, ENOBUFS);
    ck_assert_ptr_eq(out, (char *)1); /* untouched on failure */
    ck_assert_uint_eq(outlen, 7);
    ck_assert_ptr_nonnull(popen2_tochild(p)); /* the rest of the input is still to come */
    while ((st = popen2_communicate(p, data, MIB, &out, &outlen, NULL, NULL, 30000)) == -1) {
        ck_assert_int_eq(errno, ENOBUFS);
        sleep_ms(1); /* the child reads on meanwhile */
    }
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert_str_eq(out, "1048576\n");
    input_taken_once_and_free(p, out, data);
}
END_TEST

static void *nothing(void *arg)
{
    return arg;
}

/* Regression: when no writer thread could be started (RLIMIT_NPROC reached)
 * the input was dropped and communicate returned status 0 with "0" from
 * `wc -c`.  It fails with EAGAIN now, before taking anything, and once a
 * thread can be had the same call delivers the input.  RLIMIT_NPROC is real
 * here: root is exempt from it, so a test run as root first becomes another
 * user (Check runs each test in a process of its own). */
START_TEST(no_writer_thread_is_an_error)
{
    popen2_proc *p = popen2_Popen3("wc -c", 0, -1);
    struct rlimit rl;
    pthread_t t;
    char *out = (char *)1;
    size_t outlen = 7;
    int st;

    ck_assert_ptr_nonnull(p);
    if (getuid() == 0) {
        /* Any other user: no count reaches below a limit of 0. */
        ck_assert_int_eq(setgroups(0, NULL), 0);
        ck_assert_int_eq(setgid(65534), 0);
        ck_assert_int_eq(setuid(65534), 0);
    }
    ck_assert_int_eq(getrlimit(RLIMIT_NPROC, &rl), 0);
    rl.rlim_cur = 0; /* the soft limit alone: it can be raised again */
    ck_assert_int_eq(setrlimit(RLIMIT_NPROC, &rl), 0);
    if (pthread_create(&t, NULL, nothing, NULL) == 0) {
        pthread_join(t, NULL);
        fprintf(stderr, "SKIP no_writer_thread_is_an_error: RLIMIT_NPROC not enforced\n");
        popen2_free(p);
        return;
    }
    errno = 0;
    ck_assert_int_eq(popen2_communicate(p, "hello\n", 6, &out, &outlen, NULL, NULL, 30000), -1);
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert_ptr_eq(out, (char *)1);
    ck_assert_uint_eq(outlen, 7);
    ck_assert_ptr_nonnull(popen2_tochild(p));
    rl.rlim_cur = rl.rlim_max;
    ck_assert_int_eq(setrlimit(RLIMIT_NPROC, &rl), 0);
    st = popen2_communicate(p, "hello\n", 6, &out, &outlen, NULL, NULL, 30000);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert_int_eq(atoi(out), 6);
    free(out);
    popen2_free(p);
}
END_TEST

/* Regression: with a POPEN2_BLOCK limit on stdin, handing the input over
 * waited for the child to read it, however long: a child that never read
 * held communicate until it exited, timeout or not.  The timeout bounds the
 * input too now; what was not taken stays for the next call with the same
 * input, which finishes the job.  The child reads only once the test lets
 * it (a file appears), long after the first call's timeout. */
START_TEST(the_timeout_bounds_sending_the_input)
{
    char flag[64], cmd[256], *out = (char *)1;
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    unsigned char *data = malloc(MIB);
    size_t outlen = 7;
    popen2_proc *p;
    double t0, took;
    int st, fd;

    snprintf(flag, sizeof flag, "/tmp/check_communicate.%ld", (long)getpid());
    unlink(flag);
    snprintf(cmd, sizeof cmd, "while [ ! -e %s ]; do sleep 0.05; done; exec %s cat", flag,
             TEST_CHILD);
    p = spawn_input_limited(argv, POPEN2_BLOCK);
    pattern_fill(data, MIB, 37, 0);
    t0 = now_s();
    ck_assert_int_eq(popen2_communicate(p, data, MIB, &out, &outlen, NULL, NULL, 300), -1);
    took = now_s() - t0;
    ck_assert_int_eq(errno, ETIMEDOUT);
    /* The child would wait for ever: any return at all is the bound. */
    ck_assert_msg(took >= 0.29, "returned after %.3f s, before the timeout", took);
    ck_assert_ptr_eq(out, (char *)1);
    ck_assert_uint_eq(outlen, 7);
    ck_assert_ptr_nonnull(popen2_tochild(p));
    /* Other input would be a second input: refused, nothing taken. */
    ck_assert_int_eq(popen2_communicate(p, data, MIB / 2, &out, &outlen, NULL, NULL, 0), -1);
    ck_assert_int_eq(errno, EINVAL);

    fd = open(flag, O_WRONLY | O_CREAT | O_EXCL, 0600);
    ck_assert_int_ge(fd, 0);
    close(fd);
    st = popen2_communicate(p, data, MIB, &out, &outlen, NULL, NULL, 60000);
    unlink(flag);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert_uint_eq(outlen, MIB);
    ck_assert_int_eq(memcmp(out, data, MIB), 0);
    input_taken_once_and_free(p, out, data);
}
END_TEST

/* After a timeout that left input behind, a call without input gives the
 * rest up: stdin is closed and the call collects as usual (the pattern of
 * popen2_kill, then communicate). */
START_TEST(no_input_after_a_timeout_gives_the_rest_up)
{
    unsigned char *data = calloc(1, MIB);
    char *argv[] = {TEST_CHILD, "sleep", "60000", NULL}, *out = NULL;
    popen2_proc *p = spawn_input_limited(argv, POPEN2_BLOCK);
    size_t outlen;
    int st;

    ck_assert_int_eq(popen2_communicate(p, data, MIB, &out, &outlen, NULL, NULL, 100), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    ck_assert_int_eq(popen2_kill(p), 0);
    st = popen2_communicate(p, NULL, 0, &out, &outlen, NULL, NULL, -1);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    ck_assert_ptr_null(popen2_tochild(p));
    ck_assert_str_eq(out, "");
    free(out);
    free(data);
    popen2_free(p);
}
END_TEST

/* The process's peak resident memory in bytes (VmHWM). */
static size_t peak_rss(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kb = 0;

    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %zu kB", &kb) == 1)
            break;
    fclose(f);
    return kb * 1024;
}

/* Regression: a NULL out was still gathered whole into memory and dropped
 * at the end: 1 GiB of output cost over 2 GiB of memory, and an endless
 * child exhausted it before any timeout.  A discarded stream is drained and
 * dropped as it comes now: neither the ring nor the process grows with the
 * bytes moved. */
START_TEST(a_discarded_stream_costs_no_memory)
{
    char total[32], *argv[] = {TEST_CHILD, "pattern", "1", total, "38", NULL};
    size_t n = 128 * (size_t)MIB, before;
    struct popen2_stream_stats st;
    popen2_proc *p;
    int status;

    snprintf(total, sizeof total, "%zu", n);
    p = popen2_spawnv(argv, NULL);
    ck_assert_ptr_nonnull(p);
    before = peak_rss();
    status = popen2_communicate(p, NULL, 0, NULL, NULL, NULL, NULL, 120000);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_int_eq(popen2_stream_stats(p, 1, &st), 0);
    ck_assert_uint_eq(st.total, n);
    ck_assert_msg(st.high_water < n / 16, "the ring held %zu of %zu bytes", st.high_water, n);
    ck_assert_msg(peak_rss() - before < n / 8, "peak memory grew by %zu moving %zu bytes",
                  peak_rss() - before, n);
    popen2_free(p);
}
END_TEST

/* A child that never ends: the discarding call times out, memory bounded. */
START_TEST(an_endless_discarded_stream_times_out_in_bounded_memory)
{
    char *argv[] = {TEST_CHILD, "yes", NULL};
    struct popen2_stream_stats st;
    popen2_proc *p = popen2_spawnv(argv, NULL);
    size_t before;

    ck_assert_ptr_nonnull(p);
    before = peak_rss();
    ck_assert_int_eq(popen2_communicate(p, NULL, 0, NULL, NULL, NULL, NULL, 1500), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    ck_assert_int_eq(popen2_stream_stats(p, 1, &st), 0);
    ck_assert(st.total > 0);
    ck_assert_msg(peak_rss() - before < st.total / 4 + 16 * (size_t)MIB,
                  "peak memory grew by %zu moving %llu bytes", peak_rss() - before, st.total);
    ck_assert_int_eq(popen2_kill(p), 0);
    ck_assert(WIFSIGNALED(popen2_communicate(p, NULL, 0, NULL, NULL, NULL, NULL, -1)));
    popen2_free(p);
}
END_TEST

/* Opens /dev/null until the descriptor limit is reached; how many. */
static int use_up_descriptors(int *fds, int max)
{
    int n = 0, fd;

    while (n < max && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
        fds[n++] = fd;
    ck_assert_int_eq(errno, EMFILE);
    return n;
}

/* Regression: communicate built the event descriptor (eventfd, epoll, pidfd
 * watch) after it had taken the input and closed stdin: at the descriptor
 * limit it failed with EMFILE, and the same call again said EINVAL.  It
 * needs no descriptor of its own now. */
START_TEST(communicate_at_the_descriptor_limit)
{
    popen2_proc *p = popen2_Popen3("cat", 0, -1);
    struct rlimit rl, low;
    int fds[64], n, st;
    char *out;
    size_t outlen;

    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    low = rl;
    low.rlim_cur = 64; /* descriptors numbered above stay open; no new one is had */
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
    n = use_up_descriptors(fds, 64);
    st = popen2_communicate(p, "hello\n", 6, &out, &outlen, NULL, NULL, 30000);
    ck_assert_msg(st != -1, "communicate: %s", strerror(errno));
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert_str_eq(out, "hello\n");
    free(out);
    while (n > 0)
        close(fds[--n]);
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    popen2_free(p);
}
END_TEST

/* Regression: where a sandbox refuses epoll, communicate always failed with
 * ENOSYS (it slept on an epoll set).  It does not use one now. */
START_TEST(communicate_without_epoll)
{
    popen2_proc *p;
    char *out, *err;
    size_t outlen, errlen;
    int st;

    if (seccomp_refuse_epoll(ENOSYS) < 0) {
        fprintf(stderr, "SKIP communicate_without_epoll: no seccomp filter: %s\n", strerror(errno));
        return;
    }
    p = popen2_Popen3("cat; echo done >&2", 1, -1);
    ck_assert_ptr_nonnull(p);
    st = popen2_communicate(p, "hello\n", 6, &out, &outlen, &err, &errlen, 30000);
    ck_assert_msg(st != -1, "communicate: %s", strerror(errno));
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert_str_eq(out, "hello\n");
    ck_assert_str_eq(err, "done\n");
    free(out);
    free(err);
    popen2_free(p);
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
    /* What communicate promises about its input, its memory and what it
     * needs, under limits a host may set. */
    TEST_T(promises, a_short_input_write_is_an_error, 60),
    TEST_T(promises, no_writer_thread_is_an_error, 60),
    TEST_T(promises, the_timeout_bounds_sending_the_input, 60),
    TEST_T(promises, no_input_after_a_timeout_gives_the_rest_up, 60),
    TEST_T(promises, a_discarded_stream_costs_no_memory, 60),
    TEST_T(promises, an_endless_discarded_stream_times_out_in_bounded_memory, 60),
    TEST_T(promises, communicate_at_the_descriptor_limit, 60),
    TEST_T(promises, communicate_without_epoll, 60),
};

TEST_MAIN("communicate", cases, .timeout = 30)
