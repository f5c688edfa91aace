/* check_ringlimit: bounded rings, the limit policies of lib/ring/ringlimit.c,
 * driven directly, single-threaded, so the consumer can be
 * made to read between a reservation and its commit: the interleavings the
 * reader thread and a caller produce at random. */
#include <errno.h>

#include "common.h"
#include "runner.h"
#include "popen2.h"
#include "ring/ring.h"
#include "ring_fixture.h"

/* Producer step as the reader thread does it: reserve, "read" up to want
 * bytes of pattern 9 into the space, commit.  Between reserve and commit the
 * consumer may read (mid_read bytes).  Returns the bytes produced. */
static size_t produce(uint64_t *wr, size_t want, size_t mid_read, unsigned char *sink,
                      uint64_t *rd_bytes)
{
    void *space;
    size_t n;
    ssize_t k;

    ck_assert_int_eq(p2i_ringbuf_reserve(&rb, want, &space, &n), 0);
    ck_assert_uint_gt(n, 0);
    if (n > want)
        n = want;
    pattern_fill(space, n, 9, *wr);
    if (mid_read) {
        k = p2i_ringbuf_read(&rb, sink, mid_read, false);
        if (k > 0)
            *rd_bytes += (uint64_t)k;
    }
    ck_assert_int_eq(p2i_ringbuf_commit(&rb, n), 0);
    *wr += n;
    return n;
}

/* Ends the producer after wr bytes and reads the rest from offset rd on
 * through out, every byte in pattern order, to a clean end at wr. */
static void read_the_rest(unsigned char *out, size_t size, uint64_t rd, uint64_t wr)
{
    ssize_t k;

    p2i_ringbuf_close_producer(&rb, 0);
    while ((k = p2i_ringbuf_read(&rb, out, size, false)) > 0) {
        ck_assert_uint_eq(pattern_check(out, (size_t)k, 9, rd), (size_t)k);
        rd += (uint64_t)k;
    }
    ck_assert_int_eq(k, 0);
    ck_assert_uint_eq(rd, wr);
}

START_TEST(spill_keeps_every_byte_in_order_across_switches)
{
    static unsigned char out[70000];
    uint64_t wr = 0, rd = 0, dummy = 0;
    struct popen2_stream_stats st;
    size_t i, want;
    ssize_t k;

    ck_assert_int_eq(p2i_ringlimit_set(&rb, (struct ring_limit){10000, POPEN2_SPILL}), 0);
    for (i = 0; i < 3000; i++) {
        want = 1 + (i * 7919) % 30000;
        produce(&wr, want, 0, out, &dummy);
        /* A consumer that reads in odd amounts, sometimes not at all. */
        if (i % 3) {
            k = p2i_ringbuf_read(&rb, out, 1 + (i * 104729) % sizeof out, false);
            if (k > 0) {
                ck_assert_uint_eq(pattern_check(out, (size_t)k, 9, rd), (size_t)k);
                rd += (uint64_t)k;
            }
        }
        ck_assert_uint_le(p2i_ringbuf_length(&rb), 10000);
    }
    read_the_rest(out, sizeof out, rd, wr);
    p2i_ringlimit_stats(&rb, &st);
    ck_assert_uint_eq(st.total, wr);
    ck_assert_uint_eq(st.dropped, 0);
    ck_assert_uint_gt(st.spilled, 0);
    ck_assert_uint_le(st.high_water, 10000);
    ck_assert_uint_eq(st.buffered, 0);
    ck_assert_uint_le(rb.cap, 10000);
}
END_TEST

START_TEST(spill_with_reads_between_reserve_and_commit)
{
    /* The consumer empties ring and file while the producer holds a staged
     * reservation: the spill file is reset under it, and the commit must
     * still land after everything read. */
    static unsigned char out[200000];
    uint64_t wr = 0, rd = 0;
    size_t i;

    ck_assert_int_eq(p2i_ringlimit_set(&rb, (struct ring_limit){5000, POPEN2_SPILL}), 0);
    for (i = 0; i < 2000; i++) {
        uint64_t before = rd;
        size_t mid = i % 2 ? sizeof out : 1 + i % 3000;

        produce(&wr, 1 + (i * 31) % 9000, 0, out, &rd);
        /* Read during the next reservation, checking what came. */
        produce(&wr, 1 + (i * 17) % 7000, mid, out, &rd);
        ck_assert_uint_eq(pattern_check(out, (size_t)(rd - before), 9, before),
                          (size_t)(rd - before));
    }
    read_the_rest(out, sizeof out, rd, wr);
}
END_TEST

START_TEST(keep_tail_ends_with_exactly_the_last_bytes)
{
    static unsigned char out[100000];
    uint64_t wr = 0, dummy = 0;
    struct popen2_stream_stats st;
    size_t i, limit = 12345;
    ssize_t k;

    ck_assert_int_eq(p2i_ringlimit_set(&rb, (struct ring_limit){limit, POPEN2_KEEP_TAIL}), 0);
    for (i = 0; i < 500; i++)
        produce(&wr, 1 + (i * 7919) % 40000, 0, out, &dummy);
    ck_assert_uint_eq(p2i_ringbuf_length(&rb), limit);
    p2i_ringbuf_close_producer(&rb, 0);
    k = p2i_ringbuf_read(&rb, out, sizeof out, false);
    ck_assert_int_eq(k, (ssize_t)limit);
    ck_assert_uint_eq(pattern_check(out, limit, 9, wr - limit), limit);
    ck_assert_int_eq(p2i_ringbuf_read(&rb, out, sizeof out, false), 0);
    p2i_ringlimit_stats(&rb, &st);
    ck_assert_uint_eq(st.dropped, wr - limit);
    ck_assert_uint_le(st.high_water, limit);
}
END_TEST

START_TEST(keep_tail_with_reads_between_reserve_and_commit)
{
    /* What the consumer gets is the pattern in order with holes; the ring
     * never holds more than the limit. */
    static unsigned char out[8192];
    uint64_t wr = 0, rd_bytes = 0;
    size_t i, limit = 3000;
    ssize_t k;

    ck_assert_int_eq(p2i_ringlimit_set(&rb, (struct ring_limit){limit, POPEN2_KEEP_TAIL}), 0);
    for (i = 0; i < 3000; i++) {
        produce(&wr, 1 + (i * 53) % 5000, i % 4 == 0 ? 1 + i % 2000 : 0, out, &rd_bytes);
        ck_assert_uint_le(p2i_ringbuf_length(&rb), limit);
    }
    p2i_ringbuf_close_producer(&rb, 0);
    /* The last bytes in the ring follow the pattern's end exactly. */
    k = p2i_ringbuf_read(&rb, out, sizeof out, false);
    ck_assert_int_gt(k, 0);
    ck_assert_uint_eq(pattern_check(out, (size_t)k, 9, wr - (uint64_t)k), (size_t)k);
}
END_TEST

START_TEST(fail_keeps_a_prefix_then_says_enobufs)
{
    static unsigned char out[100000];
    uint64_t wr = 0, dummy = 0;
    size_t i;
    ssize_t k;

    ck_assert_int_eq(p2i_ringlimit_set(&rb, (struct ring_limit){7000, POPEN2_FAIL}), 0);
    for (i = 0; i < 100; i++)
        produce(&wr, 1 + (i * 7919) % 3000, 0, out, &dummy);
    k = p2i_ringbuf_read(&rb, out, sizeof out, false);
    ck_assert_int_eq(k, 7000);
    ck_assert_uint_eq(pattern_check(out, 7000, 9, 0), 7000);
    ck_assert_int_eq(p2i_ringbuf_read(&rb, out, sizeof out, false), -ENOBUFS);
    /* Even after the producer ends, and for a blocking reader. */
    p2i_ringbuf_close_producer(&rb, 0);
    ck_assert_int_eq(p2i_ringbuf_read(&rb, out, sizeof out, true), -ENOBUFS);
    ck_assert_uint_eq(rb.bound.dropped, wr - 7000);
}
END_TEST

START_TEST(block_hands_out_no_more_room_than_the_limit)
{
    void *space;
    size_t n;

    ck_assert_int_eq(p2i_ringlimit_set(&rb, (struct ring_limit){6000, POPEN2_BLOCK}), 0);
    ck_assert_int_eq(p2i_ringbuf_reserve(&rb, 16384, &space, &n), 0);
    ck_assert_uint_le(n, 6000);
    pattern_fill(space, n, 9, 0);
    ck_assert_int_eq(p2i_ringbuf_commit(&rb, n), 0);
    if (n < 6000) {
        ck_assert_int_eq(p2i_ringbuf_reserve(&rb, 16384, &space, &n), 0);
        ck_assert_uint_le(p2i_ringbuf_length(&rb) + n, 6000);
        ck_assert_int_eq(p2i_ringbuf_commit(&rb, 0), 0);
    }
    ck_assert_uint_le(rb.cap, 6000);
    /* A closed consumer releases a producer that would wait. */
    p2i_ringbuf_close_consumer(&rb, 0);
    ck_assert_int_eq(p2i_ringbuf_reserve(&rb, 16384, &space, &n), -EPIPE);
}
END_TEST

/* An append that must not wait (the input ring's close) goes past the
 * limit, only as far as it asks, and every byte stays in order. */
START_TEST(append_past_the_limit_keeps_every_byte)
{
    static const size_t pieces[] = {3000, 2000};
    unsigned char in[3000], out[9000];
    struct popen2_stream_stats st;
    size_t off = 0, got = 0, i;
    ssize_t k;

    ck_assert_int_eq(p2i_ringlimit_set(&rb, (struct ring_limit){6000, POPEN2_BLOCK}), 0);
    for (i = 0; i < 2; i++) {
        pattern_fill(in, pieces[i], 9, off);
        ck_assert_int_eq(p2i_ringinput_append(&rb, in, pieces[i], false), pieces[i]);
        off += pieces[i];
    }
    /* 1000 bytes of room left under the limit, 3000 to go. */
    pattern_fill(in, 3000, 9, off);
    ck_assert_int_eq(p2i_ringbuf_append(&rb, in, 3000), 3000);
    off += 3000;
    ck_assert_uint_eq(p2i_ringbuf_length(&rb), off);
    ck_assert_uint_eq(rb.cap, off);
    while ((k = p2i_ringbuf_read(&rb, out + got, sizeof out - got, false)) > 0)
        got += (size_t)k;
    ck_assert_uint_eq(got, off);
    ck_assert_uint_eq(pattern_check(out, got, 9, 0), got);
    p2i_ringlimit_stats(&rb, &st);
    ck_assert_uint_eq(st.total, off);
    ck_assert_uint_eq(st.high_water, off);
    ck_assert_uint_eq(st.dropped, 0);
}
END_TEST

START_TEST(bad_policy_is_einval)
{
    ck_assert_int_eq(p2i_ringlimit_set(&rb, (struct ring_limit){100, 0}), -EINVAL);
    ck_assert_int_eq(p2i_ringlimit_set(&rb, (struct ring_limit){100, 77}), -EINVAL);
}
END_TEST

static const struct test_case cases[] = {
    TEST(bounded_ring, spill_keeps_every_byte_in_order_across_switches),
    TEST(bounded_ring, spill_with_reads_between_reserve_and_commit),
    TEST(bounded_ring, keep_tail_ends_with_exactly_the_last_bytes),
    TEST(bounded_ring, keep_tail_with_reads_between_reserve_and_commit),
    TEST(bounded_ring, fail_keeps_a_prefix_then_says_enobufs),
    TEST(bounded_ring, block_hands_out_no_more_room_than_the_limit),
    TEST(bounded_ring, append_past_the_limit_keeps_every_byte),
    TEST(bounded_ring, bad_policy_is_einval),
};

TEST_MAIN("ringlimit", cases, .timeout = 30, .setup = ring_setup, .teardown = ring_teardown)
