/* check_ringline: lines out of the ring and their arrival stamps
 * (lib/ring/ringline.c), tested directly: a take stops after its '\n',
 * keeps partial bytes apart from whole lines, stamps order the chunks of two
 * rings as they were committed, records of bytes read another way are
 * pruned, the end and errors come after the data, spilled bytes split at
 * their '\n' too. */
#include <errno.h>
#include <string.h>

#include "common.h"
#include "runner.h"
#include "popen2.h"
#include "ring/ring.h"
#include "ring_fixture.h"

/* The producer commits s as one chunk (the reader thread's read()). */
static void put(struct ringbuf *r, const char *s)
{
    size_t len = strlen(s), n;
    void *space;

    while (len) {
        ck_assert_int_eq(p2i_ringbuf_reserve(r, len, &space, &n), 0);
        if (n > len)
            n = len;
        memcpy(space, s, n);
        ck_assert_int_eq(p2i_ringbuf_commit(r, n), 0);
        s += n;
        len -= n;
    }
}

/* One take into a NUL-terminated buffer. */
static ssize_t take(struct ringbuf *r, char *buf, size_t n, unsigned long long *seq)
{
    ssize_t k = p2i_ringline_take(r, buf, n - 1, seq);

    buf[k > 0 ? k : 0] = '\0';
    return k;
}

/* One take gives exactly `want`; its stamp in *seq. */
static void expect_take(struct ringbuf *r, const char *want, unsigned long long *seq)
{
    char buf[64];

    ssize_t k = take(r, buf, sizeof buf, seq);

    if (!*want && k < 0)
        k = 0; /* the end, or an error, after the data */
    ck_assert_int_eq(k, (ssize_t)strlen(want));
    ck_assert_str_eq(buf, want);
}

START_TEST(take_stops_after_the_newline_and_leaves_the_rest)
{
    unsigned long long s1, s2, s3;
    char buf[64];

    put(&rb, "ab\ncd\nef");
    expect_take(&rb, "ab\n", &s1);
    expect_take(&rb, "cd\n", &s2);
    ck_assert_uint_gt(s1, 0);
    ck_assert_uint_eq(s1, s2); /* one chunk, one stamp */
    expect_take(&rb, "ef", &s3);
    ck_assert_uint_eq(s3, 0); /* no '\n': not a line yet */
    ck_assert_int_eq(take(&rb, buf, sizeof buf, &s3), -EAGAIN);
    ck_assert_uint_eq(rb.lines.len, 0);
}
END_TEST

START_TEST(take_is_bounded_by_the_room_given)
{
    unsigned long long seq;
    char buf[4];

    put(&rb, "abcdef\n");
    ck_assert_int_eq(take(&rb, buf, sizeof buf, &seq), 3);
    ck_assert_uint_eq(seq, 0);
    ck_assert_int_eq(take(&rb, buf, sizeof buf, &seq), 3);
    ck_assert_str_eq(buf, "def");
    expect_take(&rb, "\n", &seq);
    ck_assert_uint_gt(seq, 0);
}
END_TEST

START_TEST(stamps_order_the_chunks_of_two_rings_as_committed)
{
    struct ringbuf other;
    unsigned long long a1, b1, a2;
    char buf[16];

    ck_assert_int_eq(p2i_ringmem_init(&other, MIN_CAP), 0);
    put(&rb, "a1\n");
    put(&other, "b1\n");
    put(&rb, "a2\n");
    ck_assert_int_eq(take(&rb, buf, sizeof buf, &a1), 3);
    ck_assert_int_eq(take(&rb, buf, sizeof buf, &a2), 3);
    ck_assert_int_eq(take(&other, buf, sizeof buf, &b1), 3);
    ck_assert_uint_lt(a1, b1);
    ck_assert_uint_lt(b1, a2);
    p2i_ringmem_destroy(&other);
}
END_TEST

START_TEST(a_line_split_over_chunks_takes_the_stamp_of_its_last_byte)
{
    struct ringbuf other;
    unsigned long long a, b;
    char buf[16];

    ck_assert_int_eq(p2i_ringmem_init(&other, MIN_CAP), 0);
    put(&rb, "late");
    ck_assert_int_eq(take(&rb, buf, sizeof buf, &a), 4);
    ck_assert_uint_eq(a, 0);
    put(&other, "early\n");
    put(&rb, "r\n");
    ck_assert_int_eq(take(&rb, buf, sizeof buf, &a), 2);
    ck_assert_int_eq(take(&other, buf, sizeof buf, &b), 6);
    ck_assert_uint_lt(b, a);
    p2i_ringmem_destroy(&other);
}
END_TEST

START_TEST(records_of_bytes_read_another_way_are_pruned)
{
    char buf[4096];
    int i;

    for (i = 0; i < 1000; i++) {
        put(&rb, "line\n");
        while (p2i_ringbuf_read(&rb, buf, sizeof buf, false) > 0)
            ;
    }
    /* Each commit prunes what was read: at most the newest record lives. */
    ck_assert_uint_le(rb.lines.len, 1);
    ck_assert_uint_le(rb.lines.cap, 16);
}
END_TEST

START_TEST(the_end_or_an_error_comes_after_the_data)
{
    static const int ends[] = {0, EIO}; /* EOF, a failed read() */
    unsigned long long seq;

    put(&rb, "x\ny");
    p2i_ringbuf_close_producer(&rb, ends[_i]);
    expect_take(&rb, "x\n", &seq);
    expect_take(&rb, "y", &seq);
    ck_assert_uint_eq(seq, 0);
    expect_take(&rb, "", &seq);
    ck_assert_uint_gt(seq, 0);
    ck_assert_uint_eq(seq, rb.lines.end_seq);
    ck_assert_int_eq(p2i_ringline_take(&rb, (char[4]){0}, 4, &seq), -ends[_i]); /* again */
}
END_TEST

START_TEST(spilled_bytes_split_at_their_newline)
{
    static char fill[MIN_CAP + 1];
    unsigned long long seq;
    char buf[2 * MIN_CAP];
    size_t got = 0;
    ssize_t k;

    ck_assert_int_eq(p2i_ringlimit_set(&rb, (struct ring_limit){MIN_CAP, POPEN2_SPILL}), 0);
    memset(fill, 'x', MIN_CAP);
    put(&rb, fill);        /* the ring's memory, full */
    put(&rb, "yy\nzz\n");  /* to the spill file */
    ck_assert_uint_gt(rb.bound.spill_wr, 0);
    while ((k = take(&rb, buf, sizeof buf, &seq)) > 0 && buf[k - 1] != '\n')
        got += (size_t)k;
    ck_assert_uint_eq(got, MIN_CAP);
    ck_assert_str_eq(buf, "yy\n");
    ck_assert_uint_gt(seq, 0);
    expect_take(&rb, "zz\n", &seq);
    ck_assert_int_eq(take(&rb, buf, sizeof buf, &seq), -EAGAIN);
}
END_TEST

static const struct test_case cases[] = {
    TEST(take, take_stops_after_the_newline_and_leaves_the_rest),
    TEST(take, take_is_bounded_by_the_room_given),
    TEST(stamps, stamps_order_the_chunks_of_two_rings_as_committed),
    TEST(stamps, a_line_split_over_chunks_takes_the_stamp_of_its_last_byte),
    TEST(stamps, records_of_bytes_read_another_way_are_pruned),
    TEST_LOOP(end, the_end_or_an_error_comes_after_the_data, 0, 2),
    TEST(spill, spilled_bytes_split_at_their_newline),
};
TEST_MAIN("ringline", cases, .timeout = 30, .setup = ring_setup, .teardown = ring_teardown)
