/* check_direct: the fast path where the caller's thread reads the pipe
 * itself (lib/stream.c): large reads when the ring is empty (ringbuf direct
 * claims), and popen2_readinto, the bulk read beside the contract; plus
 * large writes, which always go through the ring and the writer thread.
 *
 * What can go wrong when the caller's thread reads or writes the pipe while
 * a pump thread also does: bytes out of order (a direct read or write
 * overtaking bytes already queued or in flight), bytes lost, a child left
 * blocked on a full pipe once the caller stops reading, EOF reported early,
 * a SIGPIPE reaching the caller, a write that blocks.  Each test moves a
 * pattern and checks every byte. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "common.h"
#include "runner.h"
#include "popen2.h"

#define MiB (1024 * 1024)

static popen2_proc *pattern_child(int fd, size_t n, unsigned seed, int capture)
{
    char nb[32], fb[8], sb[16];
    char *argv[] = {TEST_CHILD, "pattern", fb, nb, sb, NULL};

    snprintf(fb, sizeof fb, "%d", fd);
    snprintf(nb, sizeof nb, "%zu", n);
    snprintf(sb, sizeof sb, "%u", seed);
    return popen2_Popen3v(argv, capture, -1);
}

/* Reads stream to EOF with popen2_readinto in pieces cycling through sizes,
 * small (ring path) and large (direct path), checking every byte. */
static size_t readinto_pattern(popen2_proc *p, int stream, unsigned seed)
{
    static const size_t sizes[] = {3 * MiB, 1, 70000, 4096, MiB, 65536, 100, 2 * MiB};
    unsigned char *buf = malloc(3 * MiB);
    size_t total = 0, i = 0;
    ssize_t k;

    ck_assert_ptr_nonnull(buf);
    while ((k = popen2_readinto(p, stream, buf, sizes[i++ % 8])) > 0) {
        ck_assert_uint_eq(pattern_check(buf, (size_t)k, seed, total), (size_t)k);
        total += (size_t)k;
    }
    ck_assert_int_eq(k, 0);
    free(buf);
    return total;
}

START_TEST(readinto_gets_every_byte_in_order_with_mixed_sizes)
{
    size_t n = 48 * MiB + 12345;
    popen2_proc *p = pattern_child(1, n, 11, 0);

    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(readinto_pattern(p, 1, 11), n);
    /* EOF stays EOF. */
    ck_assert_int_eq(popen2_readinto(p, 1, (char[16]){0}, 16), 0);
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
}
END_TEST

START_TEST(fread_in_large_and_small_blocks_keeps_the_order)
{
    static const size_t sizes[] = {MiB, 7, 300000, 1, 128 * 1024, 4093};
    size_t n = 32 * MiB + 777, total = 0, i = 0, k;
    popen2_proc *p = pattern_child(1, n, 12, 0);
    unsigned char *buf = malloc(MiB);

    ck_assert_ptr_nonnull(p);
    while ((k = fread(buf, 1, sizes[i++ % 6], popen2_fromchild(p))) > 0) {
        ck_assert_uint_eq(pattern_check(buf, k, 12, total), k);
        total += k;
    }
    ck_assert_uint_eq(total, n);
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
    free(buf);
}
END_TEST

START_TEST(readinto_reads_childerr_too)
{
    size_t n = 8 * MiB + 5;
    popen2_proc *p = pattern_child(2, n, 13, 1);

    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(readinto_pattern(p, 2, 13), n);
    ck_assert_int_eq(popen2_readinto(p, 1, (char[16]){0}, 16), 0); /* stdout: empty */
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
}
END_TEST

/* After a direct read the reader thread is parked for a short lease; a
 * caller that then stops reading must not leave the child blocked on a full
 * pipe: the child finishes and every byte is still there afterwards. */
START_TEST(a_caller_that_stops_reading_after_a_direct_read_never_blocks_the_child)
{
    size_t n = 16 * MiB, got = 0;
    popen2_proc *p = pattern_child(1, n, 14, 0);
    unsigned char *buf = malloc(MiB);
    ssize_t k;

    ck_assert_ptr_nonnull(p);
    k = popen2_readinto(p, 1, buf, MiB);
    ck_assert_int_gt(k, 0);
    ck_assert_uint_eq(pattern_check(buf, (size_t)k, 14, 0), (size_t)k);
    got = (size_t)k;
    /* The child still has ~15 MiB to write, far more than a pipe holds. */
    ck_assert_int_eq(popen2_wait(p), 0);
    while ((k = popen2_readinto(p, 1, buf, MiB)) > 0) {
        ck_assert_uint_eq(pattern_check(buf, (size_t)k, 14, got), (size_t)k);
        got += (size_t)k;
    }
    ck_assert_uint_eq(got, n);
    popen2_free(p);
    free(buf);
}
END_TEST

START_TEST(closing_fromchild_during_the_lease_ends_the_reader_at_once)
{
    popen2_proc *p = pattern_child(1, 64 * MiB, 15, 0);
    unsigned char *buf = malloc(MiB);
    double t0;

    ck_assert_ptr_nonnull(p);
    ck_assert_int_gt(popen2_readinto(p, 1, buf, MiB), 0);
    t0 = now_s();
    fclose(popen2_fromchild(p));
    /* The child gets EPIPE / SIGPIPE; free joins the reader thread. */
    popen2_free(p);
    ck_assert(now_s() - t0 < 5);
    popen2_cleanup();
    free(buf);
}
END_TEST

START_TEST(readinto_rejects_bad_arguments)
{
    char *argv[] = {TEST_CHILD, "exit", "0", NULL};
    popen2_proc *p = popen2_Popen4v(argv, -1);
    char buf[8];

    ck_assert_ptr_nonnull(p);
    errno = 0;
    ck_assert_int_eq(popen2_readinto(NULL, 1, buf, 8), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_readinto(p, 0, buf, 8), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_readinto(p, 3, buf, 8), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_readinto(p, 1, NULL, 8), -1);
    ck_assert_int_eq(errno, EINVAL);
    /* Popen4 has no separate stderr stream. */
    ck_assert_int_eq(popen2_readinto(p, 2, buf, 8), -1);
    ck_assert_int_eq(errno, EBADF);
    ck_assert_int_eq(popen2_readinto(p, 1, buf, 0), 0);
    fclose(popen2_fromchild(p));
    ck_assert_int_eq(popen2_readinto(p, 1, buf, 8), -1);
    ck_assert_int_eq(errno, EBADF);
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
}
END_TEST

/* ---- large writes (always through the ring and the writer thread) -------- */

struct echo_reader {
    popen2_proc *p;
    size_t n;
    unsigned seed;
    size_t got;
};

static void *read_echo(void *arg)
{
    struct echo_reader *e = arg;

    e->got = read_pattern(popen2_fromchild(e->p), e->seed, 100000);
    return NULL;
}

START_TEST(large_and_small_writes_reach_cat_in_order)
{
    /* Large and small fwrites mixed: nothing may overtake queued bytes. */
    static const size_t sizes[] = {MiB, 3, 200000, 1, 65536, 4095, 2 * MiB, 70000};
    char *argv[] = {TEST_CHILD, "cat", NULL};
    struct echo_reader e = {.n = 40 * MiB + 17, .seed = 21};
    unsigned char *buf = malloc(2 * MiB);
    size_t sent = 0, k, i = 0;
    pthread_t t;

    ck_assert_ptr_nonnull(buf);
    e.p = popen2_Popen3v(argv, 0, -1);
    ck_assert_ptr_nonnull(e.p);
    ck_assert_int_eq(pthread_create(&t, NULL, read_echo, &e), 0);
    while (sent < e.n) {
        k = sizes[i++ % 8];
        if (k > e.n - sent)
            k = e.n - sent;
        pattern_fill(buf, k, 21, sent);
        ck_assert_uint_eq(fwrite(buf, 1, k, popen2_tochild(e.p)), k);
        sent += k;
    }
    ck_assert_int_eq(fclose(popen2_tochild(e.p)), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_uint_eq(e.got, e.n);
    ck_assert_int_eq(popen2_wait(e.p), 0);
    popen2_free(e.p);
    free(buf);
}
END_TEST

START_TEST(large_writes_to_a_child_not_reading_yet_never_block)
{
    /* 64 MiB, far more than a pipe holds, to a child that reads nothing
     * until the test lets it (it stops itself): were fwrite to wait for
     * the child, it would wait for ever and the test's timeout would say
     * so.  No clock is involved. */
    char cmd[512];
    unsigned char *buf = malloc(MiB);
    popen2_proc *p;
    char *text;
    int i;

    ck_assert_ptr_nonnull(buf);
    snprintf(cmd, sizeof cmd, STOPPED_FIRST("'%s' count"), TEST_CHILD);
    p = popen2_Popen3(cmd, 0, -1);
    ck_assert_ptr_nonnull(p);
    pattern_fill(buf, MiB, 22, 0);
    for (i = 0; i < 64; i++)
        ck_assert_uint_eq(fwrite(buf, 1, MiB, popen2_tochild(p)), MiB);
    ck_assert_int_eq(fflush(popen2_tochild(p)), 0);
    ck_assert_int_eq(fclose(popen2_tochild(p)), 0);
    ck_assert(EVENTUALLY(proc_state(popen2_pid(p)) == 'T', 30));
    ck_assert_int_eq(popen2_send_signal(p, SIGCONT), 0);
    text = read_all(popen2_fromchild(p), NULL);
    ck_assert_str_eq(text, "67108864\n");
    free(text);
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
    free(buf);
}
END_TEST

START_TEST(a_large_write_to_a_child_that_quit_is_epipe_not_sigpipe)
{
    /* SIGPIPE keeps its default action (death) in this process: if the
     * caller's own write() let it through, the test would die. */
    char *argv[] = {TEST_CHILD, "noread-exit", "3", NULL};
    unsigned char *buf = calloc(1, MiB); /* defined bytes: memcheck checks write() */
    sigset_t before, after, pending;
    popen2_proc *p;
    size_t k = MiB;
    int i;

    ck_assert_ptr_nonnull(buf);
    signal(SIGPIPE, SIG_DFL);
    pthread_sigmask(SIG_SETMASK, NULL, &before);
    p = popen2_Popen3v(argv, 0, -1);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(popen2_wait(p), 3 << 8);
    /* The writer thread finds EPIPE on its own time: the first writes may
     * still be queued (and then discarded); within a bound, one fails. */
    errno = 0;
    for (i = 0; i < 10000 && k == MiB; i++) {
        k = fwrite(buf, 1, MiB, popen2_tochild(p));
        if (k == MiB)
            sleep_ms(1);
    }
    ck_assert_uint_lt(k, MiB);
    ck_assert_int_eq(errno, EPIPE);
    /* Later writes fail the same way. */
    errno = 0;
    ck_assert_int_eq(fflush(popen2_tochild(p)) == 0 &&
                         fwrite(buf, 1, MiB, popen2_tochild(p)) == MiB,
                     0);
    ck_assert_int_eq(errno, EPIPE);
    /* The caller's mask is as it was and no SIGPIPE waits for it. */
    pthread_sigmask(SIG_SETMASK, NULL, &after);
    ck_assert_int_eq(sigismember(&after, SIGPIPE), sigismember(&before, SIGPIPE));
    sigpending(&pending);
    ck_assert(!sigismember(&pending, SIGPIPE));
    popen2_free(p);
    free(buf);
}
END_TEST

static const struct test_case cases[] = {
    TEST(direct_reads, readinto_gets_every_byte_in_order_with_mixed_sizes),
    TEST(direct_reads, fread_in_large_and_small_blocks_keeps_the_order),
    TEST(direct_reads, readinto_reads_childerr_too),
    TEST(direct_reads, a_caller_that_stops_reading_after_a_direct_read_never_blocks_the_child),
    TEST(direct_reads, closing_fromchild_during_the_lease_ends_the_reader_at_once),
    TEST(direct_reads, readinto_rejects_bad_arguments),
    TEST(large_writes, large_and_small_writes_reach_cat_in_order),
    TEST(large_writes, large_writes_to_a_child_not_reading_yet_never_block),
    TEST(large_writes, a_large_write_to_a_child_that_quit_is_epipe_not_sigpipe),
};

TEST_MAIN("direct", cases, .timeout = 60)
