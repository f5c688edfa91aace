/* check_read: the fast path where the caller's thread reads the pipe
 * itself (lib/channel/stream.c): large reads when the ring is empty (ringbuf direct
 * claims), and popen2_readinto, the bulk read beside the contract.
 *
 * What can go wrong when the caller's thread reads the pipe while a pump
 * thread also does: bytes out of order (a direct read overtaking bytes
 * already queued), bytes lost, a child left blocked on a full pipe once the
 * caller stops reading, EOF reported early.  Each test moves a pattern and
 * checks every byte.  Large writes, the other side, are in check_ringinput. */
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

/* A direct read finds the pipe empty a few times before it sleeps, in case
 * a writing child is about to fill it; the asking is bounded, so a caller
 * waiting on a quiet child sleeps: its thread's CPU time stays a small part
 * of the wait. */
START_TEST(a_direct_read_of_a_quiet_child_sleeps_instead_of_spinning)
{
    char *argv[] = {TEST_CHILD, "sleep", "500", NULL};
    popen2_proc *p = popen2_Popen3v(argv, 0, -1);
    unsigned char *buf = malloc(MiB);
    struct timespec c0, c1;
    double t0, wall, cpu;

    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(buf);
    t0 = now_s();
    ck_assert_int_eq(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0), 0);
    ck_assert_int_eq(popen2_readinto(p, 1, buf, MiB), 0); /* EOF when it exits */
    ck_assert_int_eq(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1), 0);
    wall = now_s() - t0;
    cpu = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
    /* Spinning through the wait would cost about all of it; 50 ms covers
     * the bounded asking even under valgrind, and a wait cut short by a
     * late start on a loaded machine. */
    ck_assert_msg(cpu < wall / 4 + 0.05, "%.3f s of CPU in a %.3f s wait", cpu, wall);
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
    free(buf);
}
END_TEST

/* The read(2) calls this thread has made (/proc/thread-self/io), or -1
 * where the kernel does not count them. */
static long thread_reads(void)
{
    FILE *f = fopen("/proc/thread-self/io", "r");
    char line[128];
    long n = -1;

    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "syscr: %ld", &n) == 1)
            break;
    fclose(f);
    return n;
}

/* A child that writes a little now and then makes each direct read wait.
 * Asking its empty pipe again never paid, so the read stops asking and
 * sleeps in poll() at once, with a full look now and then: a few read(2)
 * calls per wait, where a fixed spin of 64 makes 66. */
START_TEST(a_direct_read_stops_spinning_for_a_child_that_writes_seldom)
{
    char *argv[] = {TEST_CHILD, "drip", "60", "20", NULL};
    popen2_proc *p = popen2_Popen3v(argv, 0, -1);
    unsigned char *buf = malloc(MiB);
    long r0, reads, calls = 0;
    bool counted;
    size_t got = 0;
    ssize_t k;

    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(buf);
    r0 = thread_reads();
    counted = r0 >= 0;
    if (!counted)
        fprintf(stderr, "check_read: no /proc/thread-self/io here; read calls not counted\n");
    while ((k = popen2_readinto(p, 1, buf, MiB)) > 0) {
        ck_assert_int_eq(memcmp(buf, "drip\ndrip\n", (size_t)k < 10 ? (size_t)k : 10), 0);
        got += (size_t)k;
        calls++;
    }
    ck_assert_int_eq(k, 0);
    reads = thread_reads() - r0;
    ck_assert_uint_eq(got, 60 * 5);
    if (counted) {
        /* Most calls went to the pipe (a late caller may find some bytes
         * on the ring, read without a syscall) ... */
        ck_assert_msg(reads >= calls / 2, "%ld read calls for %ld waits", reads, calls);
        /* ... and did not keep asking it. */
        ck_assert_msg(reads < 20 * calls, "%ld read calls for %ld waits", reads, calls);
    }
    ck_assert_int_eq(popen2_wait(p), 0);
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
    TEST(direct_reads, a_direct_read_of_a_quiet_child_sleeps_instead_of_spinning),
    TEST(direct_reads, a_direct_read_stops_spinning_for_a_child_that_writes_seldom),
};

TEST_MAIN("read", cases, .timeout = 60)
