/* check_ringbuf_regress: regression tests for ring buffer defects found by
 * the soak test and the fuzzer (tests/soak.c, fuzz/fuzz_ringbuf.c).  Kept
 * apart from check_ringbuf.c, which covers the ring's specified behaviour. */
#include <check.h>
#include <string.h>

#include "common.h"
#include "ringbuf.h"

/* The reader thread reserves space at the tail, fills it without the lock
 * and commits.  ringbuf_read used to move head back to 0 whenever it
 * emptied the ring; a commit after that counted the new bytes from offset
 * 0, so the consumer got stale bytes instead (at 64 KiB multiples, the
 * first ring size).  Same sequence here, on one thread. */
START_TEST(read_to_empty_during_a_reservation_keeps_the_bytes)
{
    struct ringbuf rb;
    unsigned char out[100];
    void *space;
    size_t n;

    ck_assert_int_eq(ringbuf_init(&rb, 64), 0);
    ck_assert_int_eq(ringbuf_append(&rb, "0123456789", 10), 10);
    ck_assert_int_eq(ringbuf_reserve(&rb, 1, &space, &n), 0);
    ck_assert_uint_ge(n, 5);
    /* The consumer drains everything while the reservation is open. */
    ck_assert_int_eq(ringbuf_read(&rb, out, sizeof out, false), 10);
    memcpy(space, "abcde", 5);
    ck_assert_int_eq(ringbuf_commit(&rb, 5), 0);
    ck_assert_int_eq(ringbuf_read(&rb, out, sizeof out, false), 5);
    ck_assert_int_eq(memcmp(out, "abcde", 5), 0);
    ringbuf_destroy(&rb);
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

    ck_assert_int_eq(ringbuf_init(&rb, 64), 0);
    ck_assert_int_eq(ringbuf_append(&rb, "0123456789", 10), 10);
    ck_assert_int_eq(ringbuf_reserve(&rb, 1, &space, &n), 0);
    ringbuf_peek(&rb, &data, &n);
    ck_assert_uint_eq(n, 10);
    ringbuf_consume(&rb, 10);
    memcpy(space, "vwxyz", 5);
    ck_assert_int_eq(ringbuf_commit(&rb, 5), 0);
    ck_assert_int_eq(ringbuf_read(&rb, out, sizeof out, false), 5);
    ck_assert_int_eq(memcmp(out, "vwxyz", 5), 0);
    ringbuf_destroy(&rb);
}
END_TEST

static Suite *regress_suite(void)
{
    Suite *s = suite_create("ringbuf_regress");
    TCase *tc = tcase_create("races");

    tcase_add_test(tc, read_to_empty_during_a_reservation_keeps_the_bytes);
    tcase_add_test(tc, consume_to_empty_during_a_reservation_keeps_the_bytes);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(regress_suite)
