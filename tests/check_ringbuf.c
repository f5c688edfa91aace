/* check_ringbuf: the byte ring's producer/consumer protocol (lib/ring/ringbuf.c),
 * tested directly: appends and reads, reservations, EOF and errors, blocking
 * reads, direct claims.  Its memory (growth, shrinking, waits for room) is
 * check_ringmem's. */
#include <errno.h>
#include <pthread.h>

#include "common.h"
#include "runner.h"
#include "popen2.h"
#include "ring/ring.h"
#include "ring_fixture.h"

START_TEST(append_then_read_keeps_bytes_in_order_across_wraps)
{
    /* Odd chunk sizes on both sides walk the head and tail around the ring. */
    unsigned char in[1000], out[1000];
    uint64_t wr = 0, rd = 0;
    size_t i, k;
    ssize_t r;

    for (i = 0; i < 2000; i++) {
        k = 1 + (i * 37) % sizeof in;
        pattern_fill(in, k, 7, wr);
        ck_assert_int_eq(p2i_ringbuf_append(&rb, in, k), (ssize_t)k);
        wr += k;
        while (rd + 600 <= wr || (i == 1999 && rd < wr)) {
            r = p2i_ringbuf_read(&rb, out, 1 + (rd * 13) % sizeof out, false);
            ck_assert_int_gt(r, 0);
            ck_assert_uint_eq(pattern_check(out, (size_t)r, 7, rd), (size_t)r);
            rd += (uint64_t)r;
        }
    }
    ck_assert_uint_eq(rd, wr);
    ck_assert_uint_eq(rb.acct.total, wr);
}
END_TEST

START_TEST(reserve_and_commit_write_in_place)
{
    unsigned char out[100];
    void *space;
    size_t n;

    ck_assert_int_eq(p2i_ringbuf_reserve(&rb, 100, &space, &n), 0);
    ck_assert_uint_ge(n, 100);
    pattern_fill(space, 100, 3, 0);
    ck_assert_uint_eq(p2i_ringbuf_length(&rb), 0); /* not visible before commit */
    ck_assert_int_eq(p2i_ringbuf_commit(&rb, 100), 0);
    ck_assert_int_eq(p2i_ringbuf_read(&rb, out, sizeof out, false), 100);
    ck_assert_uint_eq(pattern_check(out, 100, 3, 0), 100);
}
END_TEST

START_TEST(nonblocking_read_of_an_empty_ring_is_eagain)
{
    char c;

    ck_assert_int_eq(p2i_ringbuf_read(&rb, &c, 1, false), -EAGAIN);
}
END_TEST

START_TEST(eof_comes_after_the_data_and_repeats)
{
    char buf[8];

    ck_assert_int_eq(p2i_ringbuf_append(&rb, "abc", 3), 3);
    p2i_ringbuf_close_producer(&rb, 0);
    ck_assert_int_eq(p2i_ringbuf_read(&rb, buf, sizeof buf, true), 3);
    ck_assert_int_eq(memcmp(buf, "abc", 3), 0);
    ck_assert_int_eq(p2i_ringbuf_read(&rb, buf, sizeof buf, true), 0);
    ck_assert_int_eq(p2i_ringbuf_read(&rb, buf, sizeof buf, false), 0);
}
END_TEST

START_TEST(a_producer_error_is_reported_after_the_data)
{
    char buf[8];

    ck_assert_int_eq(p2i_ringbuf_append(&rb, "xy", 2), 2);
    p2i_ringbuf_close_producer(&rb, EIO);
    ck_assert_int_eq(p2i_ringbuf_read(&rb, buf, sizeof buf, true), 2);
    ck_assert_int_eq(p2i_ringbuf_read(&rb, buf, sizeof buf, true), -EIO);
}
END_TEST

START_TEST(a_closed_consumer_refuses_further_bytes)
{
    void *space;
    size_t n;

    ck_assert_int_eq(p2i_ringbuf_reserve(&rb, 10, &space, &n), 0);
    p2i_ringbuf_close_consumer(&rb, 0);
    ck_assert_int_eq(p2i_ringbuf_commit(&rb, 10), -EPIPE);
    ck_assert_int_eq(p2i_ringbuf_append(&rb, "a", 1), -EPIPE);
    ck_assert_int_eq(p2i_ringbuf_reserve(&rb, 10, &space, &n), -EPIPE);
    ck_assert_uint_eq(p2i_ringbuf_length(&rb), 0);
}
END_TEST

START_TEST(a_consumer_error_is_what_appends_report)
{
    p2i_ringbuf_close_consumer(&rb, ENOSPC);
    ck_assert_int_eq(p2i_ringbuf_append(&rb, "a", 1), -ENOSPC);
}
END_TEST

START_TEST(peek_at_eof_gives_nothing)
{
    const void *data;
    size_t n = 99;

    p2i_ringbuf_close_producer(&rb, 0);
    p2i_ringbuf_peek(&rb, &data, &n);
    ck_assert_uint_eq(n, 0);
}
END_TEST

/* Producer thread streaming a pattern through reserve/commit, the way a
 * reader thread drains a pipe. */
struct stream_args {
    uint64_t total;
};

static void *producer(void *arg)
{
    struct stream_args *a = arg;
    uint64_t off = 0;
    void *space;
    size_t n;

    while (off < a->total) {
        if (p2i_ringbuf_reserve(&rb, 1024, &space, &n) < 0)
            break;
        if (n > a->total - off)
            n = (size_t)(a->total - off);
        if (n > 5000)
            n = 5000 - (size_t)(off % 7); /* uneven chunks */
        pattern_fill(space, n, 11, off);
        if (p2i_ringbuf_commit(&rb, n) < 0)
            break;
        off += n;
    }
    p2i_ringbuf_close_producer(&rb, 0);
    return NULL;
}

START_TEST(a_producer_and_a_blocking_consumer_move_every_byte)
{
    struct stream_args a = {.total = 64ull << 20};
    unsigned char buf[3000];
    uint64_t off = 0;
    pthread_t t;
    ssize_t r;

    ck_assert_int_eq(pthread_create(&t, NULL, producer, &a), 0);
    while ((r = p2i_ringbuf_read(&rb, buf, sizeof buf, true)) > 0) {
        ck_assert_uint_eq(pattern_check(buf, (size_t)r, 11, off), (size_t)r);
        off += (uint64_t)r;
    }
    ck_assert_int_eq(r, 0);
    pthread_join(t, NULL);
    ck_assert_uint_eq(off, a.total);
}
END_TEST

static void *delayed_append(void *arg)
{
    (void)arg;
    sleep_ms(100);
    p2i_ringbuf_append(&rb, "late", 4);
    return NULL;
}

START_TEST(a_blocking_read_waits_for_data_and_returns_what_is_there)
{
    char buf[100];
    pthread_t t;

    ck_assert_int_eq(pthread_create(&t, NULL, delayed_append, NULL), 0);
    /* Returns the 4 bytes without waiting for the 100 asked for. */
    ck_assert_int_eq(p2i_ringbuf_read(&rb, buf, sizeof buf, true), 4);
    ck_assert_int_eq(memcmp(buf, "late", 4), 0);
    pthread_join(t, NULL);
}
END_TEST

/* ---- direct claims ---------------------------------------------------------- */

START_TEST(a_direct_claim_needs_an_empty_ring_and_no_read_in_flight)
{
    static unsigned char buf[10];
    void *space;
    size_t n;

    ck_assert_int_eq(p2i_ringbuf_append(&rb, buf, sizeof buf), 10);
    ck_assert(!p2i_ringbuf_direct_begin(&rb)); /* bytes buffered: they go first */
    ck_assert_int_eq(p2i_ringbuf_read(&rb, buf, sizeof buf, false), 10);
    ck_assert_int_eq(p2i_ringbuf_reserve(&rb, 1, &space, &n), 0);
    ck_assert(!p2i_ringbuf_direct_begin(&rb)); /* the producer may be mid-read() */
    ck_assert_int_eq(p2i_ringbuf_commit(&rb, 0), 0);
    ck_assert(p2i_ringbuf_direct_begin(&rb));
    p2i_ringbuf_direct_end(&rb, 5);
    ck_assert_uint_eq(rb.acct.total, 15);
    p2i_ringbuf_close_producer(&rb, 0);
    ck_assert(!p2i_ringbuf_direct_begin(&rb)); /* the source is closed */
}
END_TEST

struct timed_reserve {
    double t0;   /* taken by the test before the thread starts, so a thread
                  * that starts late on a loaded machine cannot shorten it */
    double took;
};

static void *reserve_after_claim(void *arg)
{
    struct timed_reserve *t = arg;
    void *space;
    size_t n;

    ck_assert_int_eq(p2i_ringbuf_reserve(&rb, 1, &space, &n), 0);
    t->took = now_s() - t->t0;
    p2i_ringbuf_commit(&rb, 0);
    return NULL;
}

START_TEST(the_producer_waits_out_a_claim_and_its_lease_then_goes_on)
{
    struct timed_reserve t = {0};
    pthread_t th;

    ck_assert(p2i_ringbuf_direct_begin(&rb));
    t.t0 = now_s();
    ck_assert_int_eq(pthread_create(&th, NULL, reserve_after_claim, &t), 0);
    sleep_ms(100);
    p2i_ringbuf_direct_end(&rb, 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    /* It waited for the claim (100 ms); the upper bound is a generous
     * timeout (a producer stuck for good), not the 5 ms lease. */
    ck_assert_msg(t.took >= 0.09 && t.took < 10.0, "reserve took %.3f s", t.took);
}
END_TEST

START_TEST(closing_the_consumer_ends_a_producer_parked_by_a_lease)
{
    void *space;
    size_t n;

    ck_assert(p2i_ringbuf_direct_begin(&rb));
    p2i_ringbuf_direct_end(&rb, 0);
    p2i_ringbuf_close_consumer(&rb, 0);
    ck_assert_int_eq(p2i_ringbuf_reserve(&rb, 1, &space, &n), -EPIPE);
}
END_TEST

/* ---- regressions: defects found by the soak test and the fuzzer ----------
 * (tests/soak.c, fuzz/fuzz_ringbuf.c), each on a ring of its own. */

/* A ring of 64 bytes holding "0123456789" with a reservation open behind
 * them: the state in which the consumer empties the ring below. */
static void *ten_bytes_and_a_reservation(struct ringbuf *rb, size_t *n)
{
    void *space;

    ck_assert_int_eq(p2i_ringmem_init(rb, 64), 0);
    ck_assert_int_eq(p2i_ringbuf_append(rb, "0123456789", 10), 10);
    ck_assert_int_eq(p2i_ringbuf_reserve(rb, 1, &space, n), 0);
    return space;
}

/* Commits the five bytes of five into the reservation at space and expects
 * to read them, and only them, back; destroys the ring. */
static void commit_five_and_read_them(struct ringbuf *rb, void *space, const char *five)
{
    unsigned char out[100];

    memcpy(space, five, 5);
    ck_assert_int_eq(p2i_ringbuf_commit(rb, 5), 0);
    ck_assert_int_eq(p2i_ringbuf_read(rb, out, sizeof out, false), 5);
    ck_assert_int_eq(memcmp(out, five, 5), 0);
    p2i_ringmem_destroy(rb);
}

/* The reader thread reserves space at the tail, fills it without the lock
 * and commits.  p2i_ringbuf_read used to move head back to 0 whenever it
 * emptied the ring; a commit after that counted the new bytes from offset
 * 0, so the consumer got stale bytes instead (at 64 KiB multiples, the
 * first ring size).  Same sequence here, on one thread. */
START_TEST(read_to_empty_during_a_reservation_keeps_the_bytes)
{
    struct ringbuf rb;
    unsigned char out[100];
    void *space;
    size_t n;

    space = ten_bytes_and_a_reservation(&rb, &n);
    ck_assert_uint_ge(n, 5);
    /* The consumer drains everything while the reservation is open. */
    ck_assert_int_eq(p2i_ringbuf_read(&rb, out, sizeof out, false), 10);
    commit_five_and_read_them(&rb, space, "abcde");
}
END_TEST

/* The same with the peek/consume pair of the writer thread's side. */
START_TEST(consume_to_empty_during_a_reservation_keeps_the_bytes)
{
    struct ringbuf rb;
    const void *data;
    void *space;
    size_t n;

    space = ten_bytes_and_a_reservation(&rb, &n);
    p2i_ringbuf_peek(&rb, &data, &n);
    ck_assert_uint_eq(n, 10);
    p2i_ringbuf_consume(&rb, 10);
    commit_five_and_read_them(&rb, space, "vwxyz");
}
END_TEST

/* Fills the next reservation with pattern 5 bytes from offset *off. */
static void produce(struct ringbuf *rb, size_t n, uint64_t *off)
{
    void *space;
    size_t room;

    while (n) {
        ck_assert_int_eq(p2i_ringbuf_reserve(rb, n, &space, &room), 0);
        if (room > n)
            room = n;
        pattern_fill(space, room, 5, *off);
        ck_assert_int_eq(p2i_ringbuf_commit(rb, room), 0);
        *off += room;
        n -= room;
    }
}

/* A bounded ring with the SPILL policy (extras): a read of 0 bytes while
 * the spill file holds data said EIO (pread of 0 bytes returns 0, taken
 * for a truncated file) instead of 0.  Found by fuzz/fuzz_ringbuf. */
START_TEST(zero_byte_read_with_spilled_data_is_zero)
{
    struct ringbuf rb;
    unsigned char out[1000];
    uint64_t off = 0, got = 0;
    ssize_t k;

    ck_assert_int_eq(p2i_ringmem_init(&rb, 64), 0);
    ck_assert_int_eq(p2i_ringlimit_set(&rb, (struct ring_limit){64, POPEN2_SPILL}), 0);
    produce(&rb, 500, &off); /* 64 in memory, the rest in the spill file */
    p2i_ringbuf_close_producer(&rb, 0);
    ck_assert_int_eq(p2i_ringbuf_read(&rb, out, 64, false), 64);
    ck_assert_uint_eq(pattern_check(out, 64, 5, 0), 64);
    got = 64;
    ck_assert_int_eq(p2i_ringbuf_read(&rb, out, 0, false), 0);
    while ((k = p2i_ringbuf_read(&rb, out, sizeof out, false)) > 0) {
        ck_assert_uint_eq(pattern_check(out, (size_t)k, 5, got), (size_t)k);
        got += (uint64_t)k;
    }
    ck_assert_int_eq(k, 0); /* EOF */
    ck_assert_uint_eq(got, 500);
    p2i_ringmem_destroy(&rb);
}
END_TEST

static const struct test_case cases[] = {
    TEST(ring, append_then_read_keeps_bytes_in_order_across_wraps),
    TEST(ring, reserve_and_commit_write_in_place),
    TEST(ring, nonblocking_read_of_an_empty_ring_is_eagain),
    TEST(ring, eof_comes_after_the_data_and_repeats),
    TEST(ring, a_producer_error_is_reported_after_the_data),
    TEST(ring, a_closed_consumer_refuses_further_bytes),
    TEST(ring, a_consumer_error_is_what_appends_report),
    TEST(ring, peek_at_eof_gives_nothing),
    TEST(ring, a_producer_and_a_blocking_consumer_move_every_byte),
    TEST(ring, a_blocking_read_waits_for_data_and_returns_what_is_there),
    TEST(ring, a_direct_claim_needs_an_empty_ring_and_no_read_in_flight),
    TEST(ring, the_producer_waits_out_a_claim_and_its_lease_then_goes_on),
    TEST(ring, closing_the_consumer_ends_a_producer_parked_by_a_lease),
    TEST(regress, read_to_empty_during_a_reservation_keeps_the_bytes),
    TEST(regress, consume_to_empty_during_a_reservation_keeps_the_bytes),
    TEST(regress, zero_byte_read_with_spilled_data_is_zero),
};

TEST_MAIN("ringbuf", cases, .timeout = 30, .setup = ring_setup, .teardown = ring_teardown)
