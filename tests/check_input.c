/* check_input: what is written to tochild, bounded and accounted for.
 * Limits on stream 0 (POPEN2_BLOCK waits, large blocked writes go to the
 * pipe from the caller's buffer; POPEN2_FAIL is short with ENOBUFS), the
 * counters of stream 0, and popen2_drain. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "common.h"
#include "runner.h"
#include "popen2.h"

#define KiB 1024
#define MiB (1024 * 1024)

static popen2_proc *spawn_limited(const char *mode, const char *arg, size_t limit, int policy,
                                  int bufsize)
{
    char *argv[] = {TEST_CHILD, (char *)mode, (char *)arg, NULL};
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;

    ck_assert_ptr_nonnull(a);
    if (limit)
        ck_assert_int_eq(popen2_attr_set_limit(a, 0, limit, policy), 0);
    ck_assert_int_eq(popen2_attr_set_bufsize(a, bufsize), 0);
    p = popen2_spawnv(argv, a);
    ck_assert_msg(p != NULL, "spawn: %s", strerror(errno));
    popen2_attr_free(a);
    return p;
}

struct reader {
    FILE *f;
    unsigned seed;
    size_t got; /* bytes matching the pattern, or (size_t)-1 */
};

static void *read_pattern_thread(void *arg)
{
    struct reader *r = arg;

    r->got = read_pattern(r->f, r->seed, 64 * KiB);
    return NULL;
}

/* Writes `total` bytes of pattern `seed` in pieces of the given sizes, in
 * turn. */
static void write_pattern(FILE *f, unsigned seed, size_t total, const size_t *sizes, int nsizes)
{
    unsigned char *buf = malloc(2 * MiB);
    size_t off = 0, k;
    int i = 0;

    ck_assert_ptr_nonnull(buf);
    while (off < total) {
        k = sizes[i++ % nsizes];
        if (k > total - off)
            k = total - off;
        pattern_fill(buf, k, seed, off);
        ck_assert_uint_eq(fwrite(buf, 1, k, f), k);
        off += k;
    }
    free(buf);
}

START_TEST(stream0_accepts_block_and_fail_only)
{
    popen2_attr *a = popen2_attr_new();

    ck_assert_int_eq(popen2_attr_set_limit(a, 0, 4096, POPEN2_BLOCK), 0);
    ck_assert_int_eq(popen2_attr_set_limit(a, 0, 4096, POPEN2_FAIL), 0);
    ck_assert_int_eq(popen2_attr_set_limit(a, 0, 4096, POPEN2_SPILL), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_attr_set_limit(a, 0, 4096, POPEN2_KEEP_TAIL), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_attr_set_limit(a, 3, 4096, POPEN2_BLOCK), -1);
    ck_assert_int_eq(errno, EINVAL);
    popen2_attr_free(a);
}
END_TEST

/* Through cat, with small (copied) and large (lent) writes in turn: every
 * byte arrives in order, and the ring never holds more than the limit. */
static void through_cat(int bufsize)
{
    static const size_t sizes[] = {100, 300 * KiB, 7, 1 * MiB, 65 * KiB, 64 * KiB - 1};
    popen2_proc *p = spawn_limited("cat", NULL, 64 * KiB, POPEN2_BLOCK, bufsize);
    struct reader r = {popen2_fromchild(p), 11, 0};
    struct popen2_stream_stats st;
    pthread_t t;

    ck_assert_int_eq(pthread_create(&t, NULL, read_pattern_thread, &r), 0);
    write_pattern(popen2_tochild(p), 11, 24 * MiB, sizes, 6);
    ck_assert_int_eq(fflush(popen2_tochild(p)), 0);
    ck_assert_int_eq(popen2_drain(p, 60000), 0);
    ck_assert_int_eq(popen2_stream_stats(p, 0, &st), 0);
    ck_assert_uint_eq(st.total, 24 * MiB);
    ck_assert_uint_eq(st.buffered, 0);
    ck_assert_uint_eq(st.dropped, 0);
    ck_assert_uint_le(st.high_water, 64 * KiB);
    ck_assert_int_eq(fclose(popen2_tochild(p)), 0);
    pthread_join(t, NULL);
    ck_assert_uint_eq(r.got, 24 * MiB);
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
}

START_TEST(block_limit_keeps_order_unbuffered)
{
    through_cat(0);
}
END_TEST

START_TEST(block_limit_keeps_order_buffered)
{
    through_cat(-1);
}
END_TEST

/* The blocked writer waits for the child's stdin only: nobody reads stdout
 * here, yet 16 MiB go through cat (the stdout ring grows meanwhile). */
START_TEST(block_limit_never_waits_for_unread_output)
{
    static const size_t sizes[] = {1 * MiB, 4 * KiB};
    popen2_proc *p = spawn_limited("cat", NULL, 64 * KiB, POPEN2_BLOCK, 0);

    write_pattern(popen2_tochild(p), 5, 16 * MiB, sizes, 2);
    ck_assert_int_eq(fclose(popen2_tochild(p)), 0);
    ck_assert_uint_eq(read_pattern(popen2_fromchild(p), 5, 64 * KiB), 16 * MiB);
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
}
END_TEST

/* FAIL: a child that never reads; writes are short with ENOBUFS once the
 * limit (plus what the pipe holds) is queued, and the counters agree. */
START_TEST(fail_limit_is_a_short_write)
{
    popen2_proc *p = spawn_limited("sleep", "60000", 64 * KiB, POPEN2_FAIL, 0);
    unsigned char *buf = calloc(1, MiB);
    struct popen2_stream_stats st;
    size_t n;

    ck_assert_ptr_nonnull(buf);
    n = fwrite(buf, 1, MiB, popen2_tochild(p));
    ck_assert_uint_lt(n, MiB);
    ck_assert_uint_ge(n, 64 * KiB);
    ck_assert_int_eq(errno, ENOBUFS);
    ck_assert(ferror(popen2_tochild(p)));
    ck_assert_int_eq(popen2_stream_stats(p, 0, &st), 0);
    ck_assert_uint_eq(st.total, n);
    ck_assert_uint_le(st.buffered, 64 * KiB);
    ck_assert_uint_eq(st.dropped, 0);
    ck_assert_int_eq(popen2_stream_available(p, 0), (ssize_t)st.buffered);
    ck_assert_int_eq(popen2_kill(p), 0);
    ck_assert(WIFSIGNALED(popen2_wait(p)));
    free(buf);
    popen2_free(p);
}
END_TEST

/* Unlimited input, counted: the child reads it all. */
START_TEST(drain_then_count)
{
    popen2_proc *p = spawn_limited("count", NULL, 0, 0, -1);
    unsigned char *buf = calloc(1, MiB);
    struct popen2_stream_stats st;
    char line[64] = "";

    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fwrite(buf, 1, MiB, popen2_tochild(p)), MiB);
    ck_assert_int_eq(fflush(popen2_tochild(p)), 0);
    ck_assert_int_eq(popen2_drain(p, 60000), 0);
    ck_assert_int_eq(popen2_stream_stats(p, 0, &st), 0);
    ck_assert_uint_eq(st.total, MiB);
    ck_assert_uint_eq(st.buffered, 0);
    ck_assert_int_eq(popen2_stream_available(p, 0), 0);
    ck_assert_int_eq(fclose(popen2_tochild(p)), 0);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, popen2_fromchild(p)));
    ck_assert_str_eq(line, "1048576\n");
    /* stdin closed, its counters still there */
    ck_assert_int_eq(popen2_stream_stats(p, 0, &st), 0);
    ck_assert_uint_eq(st.total, MiB);
    ck_assert_int_eq(popen2_drain(p, 0), 0);
    ck_assert_int_eq(popen2_wait(p), 0);
    free(buf);
    popen2_free(p);
}
END_TEST

/* A child that exits without reading: the queue is discarded, drain says
 * EPIPE and the counters show what was lost. */
START_TEST(drain_reports_lost_input)
{
    popen2_proc *p = spawn_limited("noread-exit", "0", 0, 0, 0);
    unsigned char *buf = calloc(1, 4 * MiB);
    struct popen2_stream_stats st;

    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(popen2_wait(p), 0);
    /* The first write may be accepted (the writer finds EPIPE later). */
    fwrite(buf, 1, 4 * MiB, popen2_tochild(p));
    ck_assert_int_eq(popen2_drain(p, 60000), -1);
    ck_assert_int_eq(errno, EPIPE);
    ck_assert_int_eq(popen2_stream_stats(p, 0, &st), 0);
    ck_assert_uint_eq(st.buffered, 0);
    ck_assert_uint_gt(st.dropped, 0);
    ck_assert_uint_le(st.dropped, st.total);
    free(buf);
    popen2_free(p);
}
END_TEST

START_TEST(drain_times_out_while_the_child_does_not_read)
{
    popen2_proc *p = spawn_limited("sleep", "60000", 0, 0, 0);
    unsigned char *buf = calloc(1, 4 * MiB);

    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fwrite(buf, 1, 4 * MiB, popen2_tochild(p)), 4 * MiB);
    ck_assert_int_eq(popen2_drain(p, 50), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    ck_assert_int_eq(popen2_drain(NULL, 0), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_drain(p, -2), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_kill(p), 0);
    ck_assert(WIFSIGNALED(popen2_wait(p)));
    free(buf);
    popen2_free(p);
}
END_TEST

START_TEST(drain_needs_a_piped_stdin)
{
    char *argv[] = {TEST_CHILD, "exit", "0", NULL};
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;

    ck_assert_int_eq(popen2_attr_set_stream(a, 0, POPEN2_DEVNULL), 0);
    p = popen2_spawnv(argv, a);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(popen2_drain(p, 0), -1);
    ck_assert_int_eq(errno, EBADF);
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
    popen2_attr_free(a);
}
END_TEST

/* A child that dies while a large write is lent to the writer thread: the
 * write comes back (short or whole), never hangs, and no SIGPIPE reaches
 * the process. */
START_TEST(lent_write_ends_when_the_child_dies)
{
    popen2_proc *p = spawn_limited("sleep", "60000", 64 * KiB, POPEN2_BLOCK, 0);
    unsigned char *buf = calloc(1, 8 * MiB);
    struct popen2_stream_stats st;
    size_t n;

    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(kill(popen2_pid(p), SIGKILL), 0);
    n = fwrite(buf, 1, 8 * MiB, popen2_tochild(p));
    ck_assert_uint_lt(n, 8 * MiB);
    ck_assert_int_eq(errno, EPIPE);
    ck_assert_int_eq(popen2_stream_stats(p, 0, &st), 0);
    ck_assert_uint_eq(st.buffered, 0);
    ck_assert(WIFSIGNALED(popen2_wait(p)));
    free(buf);
    popen2_free(p);
}
END_TEST

static const struct test_case cases[] = {
    TEST(limits, stream0_accepts_block_and_fail_only),
    TEST(limits, block_limit_keeps_order_unbuffered),
    TEST(limits, block_limit_keeps_order_buffered),
    TEST(limits, block_limit_never_waits_for_unread_output),
    TEST(limits, fail_limit_is_a_short_write),
    TEST(limits, lent_write_ends_when_the_child_dies),
    TEST(delivery, drain_then_count),
    TEST(delivery, drain_reports_lost_input),
    TEST(delivery, drain_times_out_while_the_child_does_not_read),
    TEST(delivery, drain_needs_a_piped_stdin),
};

TEST_MAIN("input", cases, .timeout = 120)
