/* check_ringbuf_regress: regression tests for ring buffer defects found by
 * the soak test and the fuzzer (tests/soak.c, fuzz/fuzz_ringbuf.c).  Kept
 * apart from check_ringbuf.c, which covers the ring's specified behaviour. */
#include <check.h>
#include <string.h>

#include "common.h"
#include "popen2.h"
#include "ring.h"

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

    ck_assert_int_eq(p2i_ringbuf_init(&rb, 64), 0);
    ck_assert_int_eq(p2i_ringbuf_append(&rb, "0123456789", 10), 10);
    ck_assert_int_eq(p2i_ringbuf_reserve(&rb, 1, &space, &n), 0);
    ck_assert_uint_ge(n, 5);
    /* The consumer drains everything while the reservation is open. */
    ck_assert_int_eq(p2i_ringbuf_read(&rb, out, sizeof out, false), 10);
    memcpy(space, "abcde", 5);
    ck_assert_int_eq(p2i_ringbuf_commit(&rb, 5), 0);
    ck_assert_int_eq(p2i_ringbuf_read(&rb, out, sizeof out, false), 5);
    ck_assert_int_eq(memcmp(out, "abcde", 5), 0);
    p2i_ringbuf_destroy(&rb);
}
END_TEST

/* The same with the peek/consume pair of the writer thread's side. */
START_TEST(consume_to_empty_during_a_reservation_keeps_the_bytes)
{
    struct ringbuf rb;
    unsigned char out[100];
    const void *data;
    void *space;
    size_t n;

    ck_assert_int_eq(p2i_ringbuf_init(&rb, 64), 0);
    ck_assert_int_eq(p2i_ringbuf_append(&rb, "0123456789", 10), 10);
    ck_assert_int_eq(p2i_ringbuf_reserve(&rb, 1, &space, &n), 0);
    p2i_ringbuf_peek(&rb, &data, &n);
    ck_assert_uint_eq(n, 10);
    p2i_ringbuf_consume(&rb, 10);
    memcpy(space, "vwxyz", 5);
    ck_assert_int_eq(p2i_ringbuf_commit(&rb, 5), 0);
    ck_assert_int_eq(p2i_ringbuf_read(&rb, out, sizeof out, false), 5);
    ck_assert_int_eq(memcmp(out, "vwxyz", 5), 0);
    p2i_ringbuf_destroy(&rb);
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

    ck_assert_int_eq(p2i_ringbuf_init(&rb, 64), 0);
    ck_assert_int_eq(p2i_ringbuf_set_limit(&rb, (struct ring_limit){64, POPEN2_SPILL}), 0);
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
    p2i_ringbuf_destroy(&rb);
}
END_TEST

static Suite *regress_suite(void)
{
    Suite *s = suite_create("ringbuf_regress");
    TCase *tc = tcase_create("races");

    tcase_add_test(tc, read_to_empty_during_a_reservation_keeps_the_bytes);
    tcase_add_test(tc, consume_to_empty_during_a_reservation_keeps_the_bytes);
    tcase_add_test(tc, zero_byte_read_with_spilled_data_is_zero);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(regress_suite)
