/* output_limits: bounded memory per output stream (popen2_attr_set_limit):
 * BLOCK, FAIL, KEEP_TAIL and SPILL, and the counters of popen2_stream_stats.
 * The 2 GiB spill test has its own program (check_spill). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include "common.h"
#include "runner.h"
#include "popen2.h"

#define MIB (1024 * 1024)

static popen2_proc *spawn_pattern(size_t limit, int policy, size_t nbytes, unsigned seed)
{
    char n[32], s[16];
    char *argv[] = {TEST_CHILD, "pattern", "1", n, s, NULL};
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;

    snprintf(n, sizeof n, "%zu", nbytes);
    snprintf(s, sizeof s, "%u", seed);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(popen2_attr_set_limit(a, 1, limit, policy), 0);
    p = popen2_spawnv(argv, a);
    popen2_attr_free(a);
    ck_assert_ptr_nonnull(p);
    return p;
}

/* Reads stream 1 with popen2_read (sleeping on the event fd) until its end;
 * checks the bytes against the pattern starting at offset `off`.  Returns the
 * byte count; *end_errno is 0 for EOF or the errno that ended it. */
static size_t drain(popen2_proc *p, unsigned seed, uint64_t off, int *end_errno)
{
    static unsigned char buf[256 * 1024];
    struct pollfd pfd = {.fd = popen2_event_fd(p), .events = POLLIN};
    size_t total = 0;
    ssize_t k;

    ck_assert_int_ge(pfd.fd, 0);
    for (;;) {
        k = popen2_read(p, 1, buf, sizeof buf);
        if (k > 0) {
            ck_assert_uint_eq(pattern_check(buf, (size_t)k, seed, off + total), (size_t)k);
            total += (size_t)k;
            continue;
        }
        if (k == 0) {
            *end_errno = 0;
            return total;
        }
        if (errno != EAGAIN) {
            *end_errno = errno;
            return total;
        }
        popen2_poll(p); /* reap, or the exited child keeps the fd readable */
        ck_assert_int_ge(poll(&pfd, 1, 10000), 1);
    }
}

START_TEST(block_stops_reading_at_the_limit_and_loses_nothing)
{
    popen2_proc *p = spawn_pattern(64 * 1024, POPEN2_BLOCK, 4 * MIB, 11);
    struct popen2_stream_stats st;
    int st_code;

    /* The child fills the ring and the pipe, then waits for us. */
    sleep_ms(300);
    ck_assert_int_eq(popen2_poll(p), -1);
    ck_assert_int_eq(popen2_stream_stats(p, 1, &st), 0);
    ck_assert_uint_le(st.high_water, 64 * 1024);
    ck_assert_uint_le(st.total, 64 * 1024);
    ck_assert_uint_eq(st.dropped, 0);
    /* Reading lets it go on; every byte arrives. */
    ck_assert_uint_eq(read_pattern(popen2_fromchild(p), 11, 65536), 4 * MIB);
    st_code = popen2_wait(p);
    ck_assert(WIFEXITED(st_code) && WEXITSTATUS(st_code) == 0);
    ck_assert_int_eq(popen2_stream_stats(p, 1, &st), 0);
    ck_assert_uint_eq(st.total, 4 * MIB);
    ck_assert_uint_le(st.high_water, 64 * 1024);
    popen2_free(p);
}
END_TEST

START_TEST(block_through_an_event_loop)
{
    /* The loop's reads free room, the blocked reader resumes and wakes the
     * loop again: back-pressure without a lost wake-up. */
    popen2_proc *p = spawn_pattern(32 * 1024, POPEN2_BLOCK, 8 * MIB, 22);
    struct popen2_stream_stats st;
    int end;

    ck_assert_uint_eq(drain(p, 22, 0, &end), 8 * MIB);
    ck_assert_int_eq(end, 0);
    ck_assert_int_eq(popen2_stream_stats(p, 1, &st), 0);
    ck_assert_uint_le(st.high_water, 32 * 1024);
    ck_assert(WIFEXITED(popen2_wait(p)));
    popen2_free(p);
}
END_TEST

START_TEST(fail_keeps_the_first_bytes_then_reports_enobufs)
{
    popen2_proc *p = spawn_pattern(64 * 1024, POPEN2_FAIL, 2 * MIB, 12);
    struct popen2_stream_stats st;
    int st_code, end;
    size_t got;

    /* The child is neither killed nor blocked: it writes everything. */
    st_code = popen2_wait(p);
    ck_assert(WIFEXITED(st_code) && WEXITSTATUS(st_code) == 0);
    got = drain(p, 12, 0, &end);
    ck_assert_uint_eq(got, 64 * 1024);
    ck_assert_int_eq(end, ENOBUFS);
    /* And it stays failed. */
    ck_assert_int_eq(popen2_read(p, 1, &end, 1), -1);
    ck_assert_int_eq(errno, ENOBUFS);
    /* The reader thread drains the rest of the pipe (dropping it) even
     * after the child has exited: wait for it to reach EOF. */
    ck_assert(EVENTUALLY(popen2_stream_stats(p, 1, &st) == 0 && st.total == 2 * MIB, 10));
    ck_assert_uint_eq(st.dropped, 2 * MIB - 64 * 1024);
    ck_assert_uint_le(st.high_water, 64 * 1024);
    popen2_free(p);
}
END_TEST

START_TEST(fail_shows_as_a_stream_error_through_the_file)
{
    popen2_proc *p = spawn_pattern(4096, POPEN2_FAIL, 100000, 13);
    FILE *f = popen2_fromchild(p);
    unsigned char buf[8192];
    size_t k;

    popen2_wait(p);
    k = fread(buf, 1, sizeof buf, f);
    ck_assert_uint_eq(k, 4096);
    ck_assert_uint_eq(pattern_check(buf, k, 13, 0), k);
    ck_assert(ferror(f));
    ck_assert_int_eq(errno, ENOBUFS);
    popen2_free(p);
}
END_TEST

START_TEST(keep_tail_keeps_exactly_the_newest_bytes)
{
    /* A limit that is no power of two, smaller than a pipe's worth. */
    const size_t limit = 100000, total = 3 * MIB + 12345;
    popen2_proc *p = spawn_pattern(limit, POPEN2_KEEP_TAIL, total, 14);
    struct popen2_stream_stats st;
    int end;

    popen2_wait(p);
    /* Wait for the reader to reach EOF so the tail is complete. */
    ck_assert(EVENTUALLY(popen2_stream_stats(p, 1, &st) == 0 && st.total == total, 60));
    ck_assert_uint_eq(drain(p, 14, total - limit, &end), limit);
    ck_assert_int_eq(end, 0);
    ck_assert_int_eq(popen2_stream_stats(p, 1, &st), 0);
    ck_assert_uint_eq(st.dropped, total - limit);
    ck_assert_uint_le(st.high_water, limit);
    popen2_free(p);
}
END_TEST

START_TEST(keep_tail_while_reading_delivers_an_in_order_suffix)
{
    /* Read slowly while the child writes: what arrives is the pattern with
     * holes, never reordered bytes; the last bytes always arrive. */
    const size_t limit = 32768, total = 4 * MIB;
    popen2_proc *p = spawn_pattern(limit, POPEN2_KEEP_TAIL, total, 15);
    struct popen2_stream_stats st;
    static unsigned char buf[4096];
    unsigned char last = 0;
    size_t got = 0;
    ssize_t k;

    while ((k = fread(buf, 1, sizeof buf, popen2_fromchild(p))) > 0) {
        got += (size_t)k;
        last = buf[k - 1];
    }
    ck_assert_uint_gt(got, 0);
    ck_assert_uint_eq(last, pattern_byte(15, total - 1));
    popen2_wait(p);
    ck_assert_int_eq(popen2_stream_stats(p, 1, &st), 0);
    ck_assert_uint_eq(st.total, total);
    ck_assert_uint_eq(st.total - st.dropped, got);
    popen2_free(p);
}
END_TEST

START_TEST(spill_loses_nothing_after_the_child_exits)
{
    popen2_proc *p = spawn_pattern(64 * 1024, POPEN2_SPILL, 24 * MIB, 16);
    struct popen2_stream_stats st;
    int st_code;

    st_code = popen2_wait(p); /* exits: nothing blocks it */
    ck_assert(WIFEXITED(st_code) && WEXITSTATUS(st_code) == 0);
    ck_assert(EVENTUALLY(popen2_stream_stats(p, 1, &st) == 0 && st.total == 24 * MIB, 10));
    ck_assert_uint_ge(st.spilled, 24 * MIB - 64 * 1024);
    ck_assert_uint_le(st.high_water, 64 * 1024);
    ck_assert_uint_eq(st.buffered, 24 * MIB);
    ck_assert_int_eq(popen2_stream_available(p, 1), 24 * MIB);
    ck_assert_uint_eq(read_pattern(popen2_fromchild(p), 16, 100000), 24 * MIB);
    ck_assert_int_eq(popen2_stream_stats(p, 1, &st), 0);
    ck_assert_uint_eq(st.buffered, 0);
    ck_assert_uint_eq(st.dropped, 0);
    popen2_free(p);
}
END_TEST

START_TEST(spill_while_reading_keeps_the_order)
{
    /* A reader slower than the child: bytes move between ring and file many
     * times (small reads), and the order must hold at every switch. */
    popen2_proc *p = spawn_pattern(16 * 1024, POPEN2_SPILL, 16 * MIB, 17);
    struct popen2_stream_stats st;
    int end;

    ck_assert_uint_eq(drain(p, 17, 0, &end), 16 * MIB);
    ck_assert_int_eq(end, 0);
    ck_assert_int_eq(popen2_stream_stats(p, 1, &st), 0);
    ck_assert_uint_le(st.high_water, 16 * 1024);
    ck_assert_uint_eq(st.dropped, 0);
    popen2_free(p);
}
END_TEST

START_TEST(spill_to_an_impossible_directory_reports_after_the_kept_bytes)
{
    popen2_proc *p;
    int end, fds;

    fds = count_fds();
    setenv("TMPDIR", "/nonexistent-popen2-dir", 1);
    p = spawn_pattern(8192, POPEN2_SPILL, MIB, 18);
    popen2_wait(p);
    ck_assert_uint_eq(drain(p, 18, 0, &end), 8192);
    ck_assert_int_eq(end, ENOENT);
    popen2_free(p);
    unsetenv("TMPDIR");
    ck_assert(EVENTUALLY(count_fds() <= fds, 5));
}
END_TEST

START_TEST(spill_file_is_unlinked_and_closed_with_the_object)
{
    int fds = count_fds();
    popen2_proc *p = spawn_pattern(8192, POPEN2_SPILL, 4 * MIB, 19);
    char path[64], target[512];
    int fd, found = 0;
    ssize_t k;

    popen2_wait(p);
    ck_assert(EVENTUALLY(popen2_stream_available(p, 1) == 4 * MIB, 10));
    /* The spill file is open but has no name. */
    for (fd = 3; fd < 1024; fd++) {
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        k = readlink(path, target, sizeof target - 1);
        if (k <= 0)
            continue;
        target[k] = '\0';
        if (strstr(target, "(deleted)") &&
            (strstr(target, "/#") || strstr(target, "libpopen2-spill"))) {
            found++;
            ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
        }
    }
    ck_assert_int_eq(found, 1);
    popen2_free(p);
    ck_assert(EVENTUALLY(count_fds() <= fds, 5));
}
END_TEST

START_TEST(limit_zero_means_unbounded)
{
    popen2_proc *p = spawn_pattern(0, POPEN2_FAIL, 2 * MIB, 20);
    struct popen2_stream_stats st;

    popen2_wait(p);
    ck_assert(EVENTUALLY(popen2_stream_stats(p, 1, &st) == 0 && st.total == 2 * MIB, 10));
    ck_assert_uint_eq(st.high_water, 2 * MIB);
    ck_assert_uint_eq(read_pattern(popen2_fromchild(p), 20, 65536), 2 * MIB);
    popen2_free(p);
}
END_TEST

START_TEST(stats_on_a_contract_object)
{
    popen2_proc *p = popen2_Popen3("printf abc", 0, -1);
    struct popen2_stream_stats st;

    ck_assert_ptr_nonnull(p);
    popen2_wait(p);
    ck_assert(EVENTUALLY(popen2_stream_stats(p, 1, &st) == 0 && st.total == 3, 10));
    ck_assert_int_eq(popen2_stream_stats(p, 2, &st), -1); /* stderr not captured */
    ck_assert_int_eq(errno, EBADF);
    /* stdin is piped: its counters exist, and nothing was written. */
    ck_assert_int_eq(popen2_stream_stats(p, 0, &st), 0);
    ck_assert_uint_eq(st.total, 0);
    ck_assert_uint_eq(st.buffered, 0);
    ck_assert_int_eq(popen2_stream_stats(p, 3, &st), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_stream_stats(p, 1, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_stream_stats(NULL, 1, &st), -1);
    ck_assert_int_eq(errno, EINVAL);
    popen2_free(p);
}
END_TEST

static const struct test_case cases[] = {
    TEST(policies, block_stops_reading_at_the_limit_and_loses_nothing),
    TEST(policies, block_through_an_event_loop),
    TEST(policies, fail_keeps_the_first_bytes_then_reports_enobufs),
    TEST(policies, fail_shows_as_a_stream_error_through_the_file),
    TEST(policies, keep_tail_keeps_exactly_the_newest_bytes),
    TEST(policies, keep_tail_while_reading_delivers_an_in_order_suffix),
    TEST(policies, spill_loses_nothing_after_the_child_exits),
    TEST(policies, spill_while_reading_keeps_the_order),
    TEST(policies, spill_to_an_impossible_directory_reports_after_the_kept_bytes),
    TEST(policies, spill_file_is_unlinked_and_closed_with_the_object),
    TEST(policies, limit_zero_means_unbounded),
    TEST(policies, stats_on_a_contract_object),
};

TEST_MAIN("output_limits", cases, .timeout = 30)
