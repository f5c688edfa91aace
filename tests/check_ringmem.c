/* check_ringmem: the ring's memory (lib/ring/ringmem.c), tested directly: it
 * grows only for a write that does not fit, doubles, shrinks back once
 * emptied, keeps peeked bytes and wrapped runs in order across a grow, and
 * a ring that cannot grow makes its producer wait for room. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common.h"
#include "runner.h"
#include "popen2.h"
#include "ring/ring.h"
#include "ring_fixture.h"

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

START_TEST(a_consumer_that_keeps_up_never_makes_it_grow)
{
    static unsigned char buf[MIN_CAP / 2];
    int i;

    for (i = 0; i < 10000; i++) {
        ck_assert_int_eq(p2i_ringbuf_append(&rb, buf, sizeof buf), (ssize_t)sizeof buf);
        ck_assert_int_eq(p2i_ringbuf_read(&rb, buf, sizeof buf, false), (ssize_t)sizeof buf);
    }
    ck_assert_uint_eq(rb.cap, MIN_CAP);
    ck_assert_uint_eq(rb.acct.high_water, sizeof buf);
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

/* Fills the ring to its first size, then starts the consumer fn. */
static pthread_t fill_then_start(void *(*fn)(void *))
{
    static unsigned char buf[MIN_CAP];
    pthread_t t;

    ck_assert_int_eq(p2i_ringbuf_append(&rb, buf, sizeof buf), MIN_CAP);
    ck_assert_int_eq(pthread_create(&t, NULL, fn, NULL), 0);
    return t;
}

/* A ring that is full and cannot grow (the allocation is refused: asking for
 * more room than memory has) makes the producer wait, dropping nothing,
 * until the consumer reads; then it resumes by itself. */
START_TEST(a_full_ring_that_cannot_grow_waits_for_the_consumer)
{
    void *space;
    size_t n;
    pthread_t t = fill_then_start(delayed_read);

    ck_assert_int_eq(p2i_ringbuf_reserve(&rb, SIZE_MAX / 2, &space, &n), 0);
    ck_assert_uint_eq(n, 100); /* exactly what the consumer freed */
    ck_assert_uint_eq(p2i_ringbuf_length(&rb), MIN_CAP - 100);
    pthread_join(t, NULL);
    ck_assert_uint_eq(rb.cap, MIN_CAP);
}
END_TEST

START_TEST(closing_the_consumer_wakes_a_producer_waiting_for_room)
{
    void *space;
    size_t n;
    pthread_t t = fill_then_start(delayed_close);

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

/* ---- growing a wrapped ring in place ----------------------------------------- */

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

/* Pages of [p, p + n) not resident, by mincore(); -1 where it cannot say. */
static long absent_pages(const void *p, size_t n)
{
    long page = sysconf(_SC_PAGESIZE), absent = 0;
    uintptr_t start = ((uintptr_t)p + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
    uintptr_t end = ((uintptr_t)p + n) & ~((uintptr_t)page - 1);
    unsigned char vec[4096];
    size_t k, pages = (end - start) / (size_t)page;

    if (end <= start || pages > sizeof vec || mincore((void *)start, end - start, vec) < 0)
        return -1;
    for (k = 0; k < pages; k++)
        absent += !(vec[k] & 1);
    return absent;
}

/* Whether this kernel populates pages on request (Linux 5.14). */
static bool populate_works(void)
{
#ifdef __linux__
    size_t n = 4 * (size_t)sysconf(_SC_PAGESIZE);
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    bool ok;

    ck_assert_ptr_ne(p, MAP_FAILED);
    ok = madvise(p, n, 23 /* MADV_POPULATE_WRITE */) == 0;
    munmap(p, n);
    return ok;
#else
    return false;
#endif
}

START_TEST(a_large_ring_faults_fresh_pages_in_ahead_of_the_producer)
{
    static unsigned char chunk[64 * 1024];
    size_t off, ahead;

#ifndef __linux__
    return; /* MADV_POPULATE_WRITE is Linux's */
#endif
    for (off = 0; off < 3 * 1024 * 1024; off += sizeof chunk) {
        pattern_fill(chunk, sizeof chunk, 7, off);
        ck_assert_int_eq(p2i_ringbuf_append(&rb, chunk, sizeof chunk), (ssize_t)sizeof chunk);
    }
    /* 3 MiB held in a 4 MiB ring: the pages past the bytes are in already,
     * and none of the held bytes changed. */
    ck_assert_uint_eq(rb.cap, 4 * 1024 * 1024);
    ck_assert_uint_gt(rb.touched, rb.len);
    ahead = rb.touched - rb.len;
    ck_assert_uint_le(ahead, rb.len / 16); /* a small share of what it holds */
    if (!populate_works()) {
        /* Kernels before 5.14 lack the call: the pages fault in as written. */
        fprintf(stderr, "check_ringmem: MADV_POPULATE_WRITE not available, prefault untested\n");
        return;
    }
    ck_assert_int_eq(absent_pages(rb.buf + rb.len, ahead), 0);
    for (off = 0; off < 3 * 1024 * 1024; off += sizeof chunk) {
        ck_assert_int_eq(p2i_ringbuf_read(&rb, chunk, sizeof chunk, false), (ssize_t)sizeof chunk);
        ck_assert_uint_eq(pattern_check(chunk, sizeof chunk, 7, off), sizeof chunk);
    }
}
END_TEST

/* Gives the empty ring a buffer of cap bytes as if it had been kept warm,
 * its first `touched` bytes written before.  mu held. */
static void take_as_kept_locked(size_t cap, size_t touched)
{
    ck_assert_uint_eq(rb.len, 0);
    free(rb.buf);
    rb.buf = malloc(cap);
    ck_assert_ptr_nonnull(rb.buf);
    memset(rb.buf, 0, touched);
    rb.cap = cap;
    rb.touched = touched;
    rb.kept = true;
    rb.head = 0;
}

/* A ring that took a kept buffer is touched far past its bytes: writing
 * at its start faults nothing in, and only a write that nears the mark
 * faults in the next stretch past it. */
START_TEST(a_write_far_below_the_touched_mark_faults_nothing_in)
{
    const size_t MiB = 1024 * 1024;
    char *start = NULL;
    size_t n;

    pthread_mutex_lock(&rb.mu);
    take_as_kept_locked(64 * MiB, 32 * MiB);
    rb.len = 31 * MiB; /* what the step is a share of */
    /* The whole free run is offered; the producer writes its start. */
    ck_assert_uint_eq(p2i_ringmem_prefault_locked(&rb, 0, 64 * MiB, &start), 0);
    ck_assert_uint_eq(p2i_ringmem_prefault_locked(&rb, 20 * MiB, 44 * MiB, &start), 0);
    ck_assert_uint_eq(rb.touched, 32 * MiB);
    n = p2i_ringmem_prefault_locked(&rb, 31 * MiB, 33 * MiB, &start);
    ck_assert_uint_gt(n, 0);
    ck_assert_uint_le(n, rb.len / 16); /* a share of what it holds */
    ck_assert_ptr_eq(start, rb.buf + 32 * MiB);
    ck_assert_uint_eq(rb.touched, 32 * MiB + n);
    rb.len = 0;
    pthread_mutex_unlock(&rb.mu);
}
END_TEST

/* A ring in a kept buffer has its producer read into the stage while the
 * run lies below the touched mark, and the commit copies the bytes in, in
 * order; past the mark the producer reads into the ring itself. */
START_TEST(a_kept_buffer_is_written_through_the_stage_below_the_touched_mark)
{
    const size_t MiB = 1024 * 1024;
    static unsigned char chunk[64 * 1024];
    size_t off = 0, n, k, staged = 0, direct = 0;
    void *space;

    pthread_mutex_lock(&rb.mu);
    take_as_kept_locked(8 * MiB, 2 * MiB);
    pthread_mutex_unlock(&rb.mu);
    while (off < 3 * MiB) {
        ck_assert_int_eq(p2i_ringbuf_reserve(&rb, 16 * 1024, &space, &n), 0);
        if ((char *)space >= rb.buf && (char *)space < rb.buf + rb.cap) {
            ck_assert_ptr_eq(space, rb.buf + off);
            direct++;
        } else {
            ck_assert_uint_le(off + n, 2 * MiB); /* only below the mark */
            ck_assert_uint_eq(direct, 0);          /* and never again past it */
            staged++;
        }
        k = n < sizeof chunk ? n : sizeof chunk;
        pattern_fill(space, k, 9, off);
        ck_assert_int_eq(p2i_ringbuf_commit(&rb, k), 0);
        off += k;
    }
    /* Staged until a stage's worth would cross the mark. */
    ck_assert_uint_ge(staged, (2 * MiB - P2I_RING_STAGE_SIZE) / sizeof chunk);
    ck_assert_uint_ge(direct, MiB / sizeof chunk);
    for (off = 0; off < 3 * MiB; off += sizeof chunk) {
        ck_assert_int_eq(p2i_ringbuf_read(&rb, chunk, sizeof chunk, false), (ssize_t)sizeof chunk);
        ck_assert_uint_eq(pattern_check(chunk, sizeof chunk, 9, off), sizeof chunk);
    }
}
END_TEST

static const struct test_case cases[] = {
    TEST(memory, a_consumer_that_keeps_up_never_makes_it_grow),
    TEST(memory, a_write_that_does_not_fit_doubles_the_capacity),
    TEST(memory, an_emptied_big_ring_shrinks_back),
    TEST(memory, reserve_grows_when_less_than_wanted_is_free),
    TEST(memory, a_grow_during_a_peek_keeps_the_peeked_bytes_valid),
    TEST(memory, a_full_ring_that_cannot_grow_waits_for_the_consumer),
    TEST(memory, closing_the_consumer_wakes_a_producer_waiting_for_room),
    TEST(memory, an_append_too_big_to_allocate_fails_whole),
    TEST(memory, growing_a_ring_wrapped_near_its_end_keeps_the_order),
    TEST(memory, growing_a_ring_wrapped_near_its_start_keeps_the_order),
    TEST(memory, a_large_ring_faults_fresh_pages_in_ahead_of_the_producer),
    TEST(memory, a_write_far_below_the_touched_mark_faults_nothing_in),
    TEST(memory, a_kept_buffer_is_written_through_the_stage_below_the_touched_mark),
};

TEST_MAIN("ringmem", cases, .timeout = 30, .setup = ring_setup, .teardown = ring_teardown)
