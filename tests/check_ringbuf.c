/* check_ringbuf: the growable byte ring (lib/ringbuf.c), tested directly. */
#include <check.h>
#include <errno.h>
#include <pthread.h>

#include "common.h"
#include "popen2.h"
#include "ring.h"

#define MIN_CAP 4096

static struct ringbuf rb;

static void setup(void)
{
    ck_assert_int_eq(p2i_ringbuf_init(&rb, MIN_CAP), 0);
}

static void teardown(void)
{
    p2i_ringbuf_destroy(&rb);
}

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
    ck_assert_uint_eq(rb.total, wr);
}
END_TEST

START_TEST(a_consumer_that_keeps_up_never_makes_it_grow)
{
    static unsigned char buf[MIN_CAP / 2];
    int i;

    for (i = 0; i < 10000; i++) {
        ck_assert_int_eq(p2i_ringbuf_append(&rb, buf, sizeof buf), (ssize_t)sizeof buf);
        ck_assert_int_eq(p2i_ringbuf_read(&rb, buf, sizeof buf, false), (ssize_t)sizeof buf);
    }
    ck_assert_uint_eq(rb.cap, MIN_CAP);
    ck_assert_uint_eq(rb.high_water, sizeof buf);
}
END_TEST

START_TEST(a_write_that_does_not_fit_doubles_the_capacity)
{
    static unsigned char buf[3 * MIN_CAP];

    pattern_fill(buf, sizeof buf, 1, 0);
    ck_assert_int_eq(p2i_ringbuf_append(&rb, buf, MIN_CAP), MIN_CAP);
    ck_assert_uint_eq(rb.cap, MIN_CAP);
    ck_assert_int_eq(p2i_ringbuf_append(&rb, buf + MIN_CAP, 1), 1);
    ck_assert_uint_eq(rb.cap, 2 * MIN_CAP);
    ck_assert_int_eq(p2i_ringbuf_append(&rb, buf + MIN_CAP + 1, 2 * MIN_CAP - 1), 2 * MIN_CAP - 1);
    ck_assert_uint_eq(rb.cap, 4 * MIN_CAP);
    memset(buf, 0, sizeof buf);
    ck_assert_int_eq(p2i_ringbuf_read(&rb, buf, sizeof buf, false), (ssize_t)sizeof buf);
    ck_assert_uint_eq(pattern_check(buf, sizeof buf, 1, 0), sizeof buf);
}
END_TEST

START_TEST(an_emptied_big_ring_shrinks_back)
{
    size_t n = 64 * MIN_CAP;
    unsigned char *buf = malloc(n);
    void *space;
    size_t got;

    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(p2i_ringbuf_append(&rb, buf, n), (ssize_t)n);
    ck_assert_uint_ge(rb.cap, n);
    ck_assert_int_eq(p2i_ringbuf_read(&rb, buf, n, false), (ssize_t)n);
    /* The producer gives memory back the next time it needs room. */
    ck_assert_int_eq(p2i_ringbuf_reserve(&rb, 1, &space, &got), 0);
    ck_assert_uint_eq(rb.cap, MIN_CAP);
    ck_assert_uint_eq(got, MIN_CAP);
    free(buf);
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

START_TEST(reserve_grows_when_less_than_wanted_is_free)
{
    static unsigned char buf[MIN_CAP - 10];
    void *space;
    size_t n;

    ck_assert_int_eq(p2i_ringbuf_append(&rb, buf, sizeof buf), (ssize_t)sizeof buf);
    ck_assert_int_eq(p2i_ringbuf_reserve(&rb, 1000, &space, &n), 0);
    ck_assert_uint_eq(rb.cap, 2 * MIN_CAP);
    ck_assert_uint_ge(n, 1000);
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

START_TEST(a_grow_during_a_peek_keeps_the_peeked_bytes_valid)
{
    static unsigned char big[2 * MIN_CAP];
    const size_t part = MIN_CAP;
    const void *data;
    size_t n;

    pattern_fill(big, part, 9, 0);
    ck_assert_int_eq(p2i_ringbuf_append(&rb, big, part), (ssize_t)part);
    p2i_ringbuf_peek(&rb, &data, &n);
    ck_assert_uint_eq(n, part);
    /* Two grows while the consumer holds the pointer (the writer thread
     * writing it to the pipe without the lock). */
    ck_assert_int_eq(p2i_ringbuf_append(&rb, big, part), (ssize_t)part);
    ck_assert_int_eq(p2i_ringbuf_append(&rb, big, sizeof big), (ssize_t)sizeof big);
    ck_assert_uint_eq(pattern_check(data, n, 9, 0), n);
    p2i_ringbuf_consume(&rb, n);
    ck_assert_uint_eq(p2i_ringbuf_length(&rb), 3 * part);
    ck_assert_ptr_null(rb.retired);
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

static void *delayed_read(void *arg)
{
    char buf[100];

    (void)arg;
    sleep_ms(100);
    p2i_ringbuf_read(&rb, buf, sizeof buf, false);
    return NULL;
}

static void *delayed_close(void *arg)
{
    (void)arg;
    sleep_ms(100);
    p2i_ringbuf_close_consumer(&rb, 0);
    return NULL;
}

/* A ring that is full and cannot grow (the allocation is refused: asking for
 * more room than memory has) makes the producer wait, dropping nothing,
 * until the consumer reads; then it resumes by itself. */
START_TEST(a_full_ring_that_cannot_grow_waits_for_the_consumer)
{
    static unsigned char buf[MIN_CAP];
    void *space;
    size_t n;
    pthread_t t;

    ck_assert_int_eq(p2i_ringbuf_append(&rb, buf, sizeof buf), MIN_CAP);
    ck_assert_int_eq(pthread_create(&t, NULL, delayed_read, NULL), 0);
    ck_assert_int_eq(p2i_ringbuf_reserve(&rb, SIZE_MAX / 2, &space, &n), 0);
    ck_assert_uint_eq(n, 100); /* exactly what the consumer freed */
    ck_assert_uint_eq(p2i_ringbuf_length(&rb), MIN_CAP - 100);
    pthread_join(t, NULL);
    ck_assert_uint_eq(rb.cap, MIN_CAP);
}
END_TEST

START_TEST(closing_the_consumer_wakes_a_producer_waiting_for_room)
{
    static unsigned char buf[MIN_CAP];
    void *space;
    size_t n;
    pthread_t t;

    ck_assert_int_eq(p2i_ringbuf_append(&rb, buf, sizeof buf), MIN_CAP);
    ck_assert_int_eq(pthread_create(&t, NULL, delayed_close, NULL), 0);
    ck_assert_int_eq(p2i_ringbuf_reserve(&rb, SIZE_MAX / 2, &space, &n), -EPIPE);
    pthread_join(t, NULL);
}
END_TEST

START_TEST(an_append_too_big_to_allocate_fails_whole)
{
    static unsigned char buf[10];

    ck_assert_int_eq(p2i_ringbuf_append(&rb, buf, sizeof buf), 10);
    ck_assert_int_eq(p2i_ringbuf_append(&rb, buf, SIZE_MAX / 2), -ENOMEM);
    ck_assert_uint_eq(p2i_ringbuf_length(&rb), 10);
}
END_TEST

/* ---- growing a wrapped ring in place, direct claims, idleness ------------ */

/* Fills the ring so that its MIN_CAP bytes wrap, `tail_run` of them at the
 * end of the buffer and the rest from offset 0, then grows it: both ways of
 * unwrapping (moving the shorter run) must keep the order. */
static void grow_wrapped(size_t tail_run)
{

    static unsigned char in[2 * MIN_CAP], out[4 * MIN_CAP];
    uint64_t wr = 0, rd = 0;

    /* Fill, then drain all but tail_run bytes... */
    pattern_fill(in, MIN_CAP, 31, wr);
    ck_assert_int_eq(p2i_ringbuf_append(&rb, in, MIN_CAP), MIN_CAP);
    wr += MIN_CAP;
    ck_assert_int_eq(p2i_ringbuf_read(&rb, out, MIN_CAP - tail_run, false),
                     (ssize_t)(MIN_CAP - tail_run));
    rd += MIN_CAP - tail_run;
    /* ...then refill to full: the new bytes wrap to offset 0. */
    pattern_fill(in, MIN_CAP - tail_run, 31, wr);
    ck_assert_int_eq(p2i_ringbuf_append(&rb, in, MIN_CAP - tail_run), (ssize_t)(MIN_CAP - tail_run));
    wr += MIN_CAP - tail_run;
    ck_assert_uint_eq(rb.cap, MIN_CAP);
    ck_assert_uint_eq(p2i_ringbuf_length(&rb), MIN_CAP);
    /* One more byte grows it (nobody peeks: in place). */
    pattern_fill(in, 1, 31, wr);
    ck_assert_int_eq(p2i_ringbuf_append(&rb, in, 1), 1);
    wr += 1;
    ck_assert_uint_eq(rb.cap, 2 * MIN_CAP);
    ck_assert_int_eq(p2i_ringbuf_read(&rb, out, sizeof out, false), (ssize_t)(wr - rd));
    ck_assert_uint_eq(pattern_check(out, (size_t)(wr - rd), 31, rd), (size_t)(wr - rd));
}

START_TEST(growing_a_ring_wrapped_near_its_end_keeps_the_order)
{
    grow_wrapped(100); /* the short run before the break moves to the end */
}
END_TEST

START_TEST(growing_a_ring_wrapped_near_its_start_keeps_the_order)
{
    grow_wrapped(MIN_CAP - 100); /* the short run after the break moves up */
}
END_TEST

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
    ck_assert_uint_eq(rb.total, 15);
    p2i_ringbuf_close_producer(&rb, 0);
    ck_assert(!p2i_ringbuf_direct_begin(&rb)); /* the source is closed */
}
END_TEST

struct timed_reserve {
    double took;
};

static void *reserve_after_claim(void *arg)
{
    struct timed_reserve *t = arg;
    double t0 = now_s();
    void *space;
    size_t n;

    ck_assert_int_eq(p2i_ringbuf_reserve(&rb, 1, &space, &n), 0);
    t->took = now_s() - t0;
    p2i_ringbuf_commit(&rb, 0);
    return NULL;
}

START_TEST(the_producer_waits_out_a_claim_and_its_lease_then_goes_on)
{
    struct timed_reserve t = {0};
    pthread_t th;

    ck_assert(p2i_ringbuf_direct_begin(&rb));
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

struct lender {
    const unsigned char *buf;
    size_t n;
    ssize_t got;
};

static void *lend_main(void *arg)
{
    struct lender *l = arg;

    l->got = p2i_ringbuf_lend(&rb, l->buf, l->n);
    return NULL;
}

/* A lent buffer is read in place: the consumer's peek points into the
 * producer's own bytes (no copy into the ring), after every byte appended
 * before it, and the lender returns once all of it was consumed. */
START_TEST(a_lent_buffer_is_read_in_place_after_the_ring)
{
    static unsigned char big[200000];
    unsigned char first[100];
    struct lender l = {big, sizeof big, 0};
    const void *data;
    size_t n, off = 0;
    pthread_t t;

    pattern_fill(first, sizeof first, 4, 0);
    pattern_fill(big, sizeof big, 4, sizeof first);
    ck_assert_int_eq(p2i_ringbuf_set_limit(&rb, (struct ring_limit){4096, POPEN2_BLOCK}), 0);
    ck_assert_int_eq(p2i_ringbuf_append_limited(&rb, first, sizeof first, true),
                     (ssize_t)sizeof first);
    ck_assert_int_eq(pthread_create(&t, NULL, lend_main, &l), 0);
    /* The ring's bytes first, copied in. */
    p2i_ringbuf_peek(&rb, &data, &n);
    ck_assert_uint_eq(n, sizeof first);
    ck_assert_uint_eq(pattern_check(data, n, 4, 0), n);
    ck_assert(data < (const void *)big || data >= (const void *)(big + sizeof big));
    p2i_ringbuf_consume(&rb, n);
    /* Then the lent bytes, where the lender keeps them, in pieces. */
    while (off < sizeof big) {
        p2i_ringbuf_peek(&rb, &data, &n);
        ck_assert_ptr_eq(data, big + off);
        ck_assert_uint_eq(n, sizeof big - off);
        n = n > 30000 ? 30000 : n;
        p2i_ringbuf_consume(&rb, n);
        off += n;
    }
    pthread_join(t, NULL);
    ck_assert_int_eq(l.got, (ssize_t)sizeof big);
    ck_assert_uint_eq(p2i_ringbuf_length(&rb), 0);
}
END_TEST

static Suite *ringbuf_suite(void)
{
    Suite *s = suite_create("ringbuf");
    TCase *tc = tcase_create("ring");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, append_then_read_keeps_bytes_in_order_across_wraps);
    tcase_add_test(tc, a_consumer_that_keeps_up_never_makes_it_grow);
    tcase_add_test(tc, a_write_that_does_not_fit_doubles_the_capacity);
    tcase_add_test(tc, an_emptied_big_ring_shrinks_back);
    tcase_add_test(tc, reserve_and_commit_write_in_place);
    tcase_add_test(tc, reserve_grows_when_less_than_wanted_is_free);
    tcase_add_test(tc, nonblocking_read_of_an_empty_ring_is_eagain);
    tcase_add_test(tc, eof_comes_after_the_data_and_repeats);
    tcase_add_test(tc, a_producer_error_is_reported_after_the_data);
    tcase_add_test(tc, a_closed_consumer_refuses_further_bytes);
    tcase_add_test(tc, a_consumer_error_is_what_appends_report);
    tcase_add_test(tc, a_grow_during_a_peek_keeps_the_peeked_bytes_valid);
    tcase_add_test(tc, peek_at_eof_gives_nothing);
    tcase_add_test(tc, a_producer_and_a_blocking_consumer_move_every_byte);
    tcase_add_test(tc, a_blocking_read_waits_for_data_and_returns_what_is_there);
    tcase_add_test(tc, a_full_ring_that_cannot_grow_waits_for_the_consumer);
    tcase_add_test(tc, closing_the_consumer_wakes_a_producer_waiting_for_room);
    tcase_add_test(tc, an_append_too_big_to_allocate_fails_whole);
    tcase_add_test(tc, growing_a_ring_wrapped_near_its_end_keeps_the_order);
    tcase_add_test(tc, growing_a_ring_wrapped_near_its_start_keeps_the_order);
    tcase_add_test(tc, a_direct_claim_needs_an_empty_ring_and_no_read_in_flight);
    tcase_add_test(tc, the_producer_waits_out_a_claim_and_its_lease_then_goes_on);
    tcase_add_test(tc, closing_the_consumer_ends_a_producer_parked_by_a_lease);
    tcase_add_test(tc, a_lent_buffer_is_read_in_place_after_the_ring);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(ringbuf_suite)
