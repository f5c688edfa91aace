/* check_warm: the warm ring buffers (lib/runtime/warm.c), tested directly:
 * a large freed buffer comes back to the next take, the smallest that fits
 * first, counted by the pages it has in, and a much larger one only by a
 * ring nobody has read yet; small ones are freed; at most four are kept, the oldest dropped
 * first, and an old one is freed unless a take wants it; a ring that grows past a mebibyte writes into a freed ring's
 * pages, a bounded one never takes more memory than its limit; the
 * lock survives a fork from a program whose other thread is using it; and
 * what is kept is left out of a forked child, so the parent writes into it
 * afterwards without a fault per page. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "runner.h"
#include "popen2.h"
#include "ring/ring.h"
#include "runtime/runtime.h"

#define MIB ((size_t)1 << 20)

/* Built with a sanitizer that keeps shadow memory beside the program's. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SHADOW_MEMORY 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SHADOW_MEMORY 1
#endif
#endif
#ifndef SHADOW_MEMORY
#define SHADOW_MEMORY 0
#endif

/* A take with no upper bound on the size. */
#define p2i_warm_take_any(need, cap, touched) p2i_warm_take((need), SIZE_MAX, (cap), (touched))

/* A buffer of n bytes, each page touched, as a ring leaves its buffer. */
static void *written(size_t n)
{
    char *b = malloc(n);

    ck_assert_ptr_nonnull(b);
    memset(b, 0x5a, n);
    return b;
}

START_TEST(nothing_kept_gives_nothing)
{
    size_t cap = 0, touched = 0;

    ck_assert_ptr_null(p2i_warm_take_any(1, &cap, &touched));
    ck_assert_ptr_null(p2i_warm_take_any(P2I_WARM_MIN, &cap, &touched));
}
END_TEST

START_TEST(a_freed_large_buffer_comes_back_to_the_next_take)
{
    void *b = written(2 * MIB), *got;
    size_t cap = 0, touched = 0;

    p2i_warm_give(b, 2 * MIB, 2 * MIB);
    got = p2i_warm_take_any(MIB, &cap, &touched);
    ck_assert_ptr_eq(got, b);
    ck_assert_uint_eq(cap, 2 * MIB);
    ck_assert_ptr_null(p2i_warm_take_any(MIB, &cap, &touched)); /* taken once only */
    free(got);
}
END_TEST

START_TEST(drop_all_frees_what_is_kept)
{
    size_t cap = 0, touched = 0;

    p2i_warm_give(written(2 * MIB), 2 * MIB, 2 * MIB);
    p2i_warm_give(written(3 * MIB), 3 * MIB, 3 * MIB);
    p2i_warm_drop_all();
    ck_assert_ptr_null(p2i_warm_take_any(MIB, &cap, &touched));
}
END_TEST

START_TEST(the_smallest_buffer_that_fits_is_taken)
{
    void *big = written(8 * MIB), *small = written(2 * MIB), *got;
    size_t cap = 0, touched = 0;

    p2i_warm_give(big, 8 * MIB, 8 * MIB);
    p2i_warm_give(small, 2 * MIB, 2 * MIB);
    ck_assert_ptr_null(p2i_warm_take_any(9 * MIB, &cap, &touched)); /* none fits */
    got = p2i_warm_take_any(MIB + MIB / 2, &cap, &touched);
    ck_assert_ptr_eq(got, small);
    free(got);
    got = p2i_warm_take_any(3 * MIB, &cap, &touched);
    ck_assert_ptr_eq(got, big);
    ck_assert_uint_eq(cap, 8 * MIB);
    free(got);
}
END_TEST

START_TEST(small_buffers_are_freed_not_kept)
{
    size_t cap = 0, touched = 0;

    /* valgrind and LeakSanitizer would report it if it were dropped unfreed. */
    p2i_warm_give(written(P2I_WARM_MIN / 2), P2I_WARM_MIN / 2, P2I_WARM_MIN / 2);
    ck_assert_ptr_null(p2i_warm_take_any(1, &cap, &touched));
    p2i_warm_give(NULL, 4 * MIB, 4 * MIB); /* nothing to keep: a no-op */
    ck_assert_ptr_null(p2i_warm_take_any(1, &cap, &touched));
}
END_TEST

START_TEST(a_buffer_counts_by_the_pages_it_has_in)
{
    /* A ring that doubled past its bytes has pages in only as far as it
     * wrote: 256 MiB of address space, 2 MiB in, is kept and said so. */
    char *big = malloc(256 * MIB), *got;
    size_t cap = 0, touched = 0;

    ck_assert_ptr_nonnull(big);
    memset(big, 1, 2 * MIB);
    p2i_warm_give(big, 256 * MIB, 2 * MIB);
    got = p2i_warm_take_any(100 * MIB, &cap, &touched);
    ck_assert_ptr_eq(got, big);
    ck_assert_uint_eq(cap, 256 * MIB);
    ck_assert_uint_eq(touched, 2 * MIB);
    free(got);
    /* One with less than a mebibyte in is not worth keeping. */
    big = malloc(8 * MIB);
    ck_assert_ptr_nonnull(big);
    memset(big, 1, 64 * 1024);
    p2i_warm_give(big, 8 * MIB, 64 * 1024);
    ck_assert_ptr_null(p2i_warm_take_any(1, &cap, &touched));
}
END_TEST

START_TEST(at_most_four_are_kept_and_the_oldest_goes_first)
{
    void *b[5], *got;
    size_t cap = 0, touched = 0;
    int i, j, found;

    for (i = 0; i < 5; i++) {
        b[i] = written(MIB);
        p2i_warm_give(b[i], MIB, MIB);
    }
    for (i = 0; i < 4; i++) {
        got = p2i_warm_take_any(MIB, &cap, &touched);
        ck_assert_ptr_nonnull(got);
        ck_assert_ptr_ne(got, b[0]); /* the first one given was dropped */
        for (found = 0, j = 1; j < 5; j++)
            found += got == b[j];
        ck_assert_int_eq(found, 1);
        free(got);
    }
    ck_assert_ptr_null(p2i_warm_take_any(MIB, &cap, &touched));
}
END_TEST

/* A buffer nobody takes is freed at the next give or take once it is
 * older than the age limit (shortened here from 60 s); one that a take
 * wants is taken whatever its age, since freeing it would only make the
 * ring fault as many fresh pages in. */
START_TEST(an_old_buffer_is_freed_unless_a_take_wants_it)
{
    void *a = written(2 * MIB), *b = written(2 * MIB), *c = written(8 * MIB), *got;
    size_t cap = 0, touched = 0;

    p2i_warm_set_age_ms(50);
    p2i_warm_give(a, 2 * MIB, 2 * MIB);
    sleep_ms(100);
    p2i_warm_give(b, 2 * MIB, 2 * MIB); /* frees a */
    p2i_warm_give(c, 8 * MIB, 8 * MIB);
    sleep_ms(100);
    got = p2i_warm_take_any(4 * MIB, &cap, &touched);
    ck_assert_ptr_eq(got, c); /* old, but wanted */
    ck_assert_uint_eq(cap, 8 * MIB);
    free(got);
    /* b was as old and nobody wanted it: freed by that take. */
    ck_assert_ptr_null(p2i_warm_take_any(MIB, &cap, &touched));
    p2i_warm_set_age_ms(60000);
}
END_TEST

/* Fills a fresh ring with n pattern bytes (seed) and returns it. */
static void fill_ring(struct ringbuf *rb, size_t n, unsigned seed)
{
    static unsigned char chunk[64 * 1024];
    size_t off;

    ck_assert_int_eq(p2i_ringmem_init(rb, 4096), 0);
    for (off = 0; off < n; off += sizeof chunk) {
        pattern_fill(chunk, sizeof chunk, seed, off);
        ck_assert_int_eq(p2i_ringbuf_append(rb, chunk, sizeof chunk), (ssize_t)sizeof chunk);
    }
}

/* Reads all n bytes back and checks them. */
static void drain_ring(struct ringbuf *rb, size_t n, unsigned seed)
{
    static unsigned char chunk[64 * 1024];
    size_t off;

    for (off = 0; off < n; off += sizeof chunk) {
        ck_assert_int_eq(p2i_ringbuf_read(rb, chunk, sizeof chunk, false), (ssize_t)sizeof chunk);
        ck_assert_uint_eq(pattern_check(chunk, sizeof chunk, seed, off), sizeof chunk);
    }
}

START_TEST(a_ring_growing_past_a_mebibyte_writes_into_a_freed_rings_pages)
{
    struct ringbuf a, b;
    void *old;
    size_t old_cap;

    fill_ring(&a, 4 * MIB, 1);
    old = a.buf;
    old_cap = a.cap;
    ck_assert_uint_ge(old_cap, 4 * MIB);
    p2i_ringmem_destroy(&a); /* kept, not freed */

    fill_ring(&b, 2 * MIB, 2);
    ck_assert_ptr_eq(b.buf, old);
    ck_assert_uint_eq(b.cap, old_cap); /* the whole kept buffer: no further growth */
    drain_ring(&b, 2 * MIB, 2);
    p2i_ringmem_destroy(&b);
}
END_TEST

START_TEST(a_ring_being_read_leaves_a_much_larger_buffer_for_one_that_is_not)
{
    struct ringbuf b;
    char *big = written(64 * MIB), *got;
    size_t cap = 0, touched = 0;

    p2i_warm_give(big, 64 * MIB, 64 * MIB);
    /* A ring whose reader took bytes grows into fresh memory rather than
     * take 64 MiB for 2 MiB of bytes ... */
    fill_ring(&b, 64 * 1024, 3);
    drain_ring(&b, 64 * 1024, 3);
    {
        static unsigned char chunk[64 * 1024];
        size_t off;

        for (off = 0; off < 2 * MIB; off += sizeof chunk)
            ck_assert_int_eq(p2i_ringbuf_append(&b, chunk, sizeof chunk), (ssize_t)sizeof chunk);
    }
    ck_assert_ptr_ne(b.buf, big);
    ck_assert_uint_lt(b.cap, 64 * MIB);
    p2i_ringmem_destroy(&b);
    free(p2i_warm_take(P2I_WARM_MIN, 32 * MIB, &cap, &touched)); /* the one it gave back */
    /* ... which a ring nobody has read yet (fill_ring reads nothing) takes. */
    fill_ring(&b, 2 * MIB, 4);
    ck_assert_ptr_eq(b.buf, big);
    drain_ring(&b, 2 * MIB, 4);
    p2i_ringmem_destroy(&b);
    got = p2i_warm_take_any(P2I_WARM_MIN, &cap, &touched);
    ck_assert_ptr_eq(got, big); /* given back by the destroy */
    free(got);
}
END_TEST

START_TEST(a_bounded_ring_never_takes_more_memory_than_its_limit)
{
    struct ringbuf b;
    struct ring_limit lim = {.max = 2 * MIB, .policy = POPEN2_BLOCK};
    void *big = written(16 * MIB), *got;
    size_t cap = 0, touched = 0;

    p2i_warm_give(big, 16 * MIB, 16 * MIB);
    ck_assert_int_eq(p2i_ringmem_init(&b, 4096), 0);
    ck_assert_int_eq(p2i_ringlimit_set(&b, lim), 0);
    {
        static unsigned char chunk[64 * 1024];
        size_t off;

        for (off = 0; off < 2 * MIB; off += sizeof chunk)
            ck_assert_int_eq(p2i_ringbuf_append(&b, chunk, sizeof chunk), (ssize_t)sizeof chunk);
    }
    ck_assert_uint_le(b.cap, 2 * MIB);
    ck_assert_ptr_ne(b.buf, big);
    p2i_ringmem_destroy(&b);
    got = p2i_warm_take_any(16 * MIB, &cap, &touched); /* still kept */
    ck_assert_ptr_eq(got, big);
    free(got);
}
END_TEST

static volatile int churning = 1;

static void *churn(void *arg)
{
    size_t cap, touched;

    (void)arg;
    while (__atomic_load_n(&churning, __ATOMIC_RELAXED)) {
        void *b = p2i_warm_take_any(MIB, &cap, &touched);

        p2i_warm_give(b ? b : written(MIB), b ? cap : MIB, b ? cap : MIB);
    }
    return NULL;
}

START_TEST(a_fork_while_another_thread_uses_it_leaves_it_usable_in_the_child)
{
    pthread_t t;
    int i, st;
    unsigned gen = p2i_fork_generation(); /* links the fork handlers, as the library does */

    /* The child's copy of the buffer the other thread held at the fork is
     * unreachable there (that thread did not come along), and memcheck's
     * leak check at the child's exit fails it; ASan and TSan run this. */
    if (under_valgrind()) {
        fprintf(stderr, "check_warm: fork case skipped under valgrind\n");
        return;
    }

    p2i_warm_give(written(2 * MIB), 2 * MIB, 2 * MIB);
    ck_assert_int_eq(pthread_create(&t, NULL, churn, NULL), 0);
    for (i = 0; i < 50; i++) {
        pid_t pid = fork();

        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            size_t cap, touched;
            void *b = p2i_warm_take_any(MIB, &cap, &touched); /* hangs if the lock came along held */

            p2i_warm_give(b ? b : written(MIB), b ? cap : MIB, b ? cap : MIB);
            _exit(p2i_fork_generation() == gen + 1 ? 0 : 1);
        }
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    __atomic_store_n(&churning, 0, __ATOMIC_RELAXED);
    pthread_join(t, NULL);
}
END_TEST

static long minor_faults(void)
{
    struct rusage ru;

    ck_assert_int_eq(getrusage(RUSAGE_SELF, &ru), 0);
    return ru.ru_minflt;
}

START_TEST(what_is_kept_is_left_out_of_a_forked_child)
{
    size_t n = 4 * MIB, cap, touched, page = (size_t)sysconf(_SC_PAGESIZE);
    char *b = written(n), *got;
    /* a whole page inside the buffer, away from malloc's header */
    char *mid = (char *)(((uintptr_t)b + n / 2) & ~(uintptr_t)(page - 1));
    unsigned char in;
    long before;
    pid_t pid;
    int st;

    /* Valgrind does not model MADV_DONTFORK, and the child's forgotten
     * buffer is a leak to memcheck; ASan and TSan run this. */
    if (under_valgrind()) {
        fprintf(stderr, "check_warm: fork case skipped under valgrind\n");
        free(b);
        return;
    }
    (void)p2i_fork_generation(); /* links the fork handlers, as the library does */
    p2i_warm_give(b, n, n);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* mincore fails with ENOMEM on a range that is not mapped. */
        int absent = mincore(mid, page, &in) < 0 && errno == ENOMEM;
        int forgotten = p2i_warm_take_any(MIB, &cap, &touched) == NULL;

        _exit(absent && forgotten ? 0 : 1);
    }
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "the forked child had the kept pages, or could take them");
    got = p2i_warm_take_any(MIB, &cap, &touched);
    ck_assert_ptr_eq(got, b);
    ck_assert_int_eq(mincore(mid, page, &in), 0);
    /* Write-protected pages would fault once each: 1,024 for 4 MiB.  A
     * sanitizer's shadow of the buffer is memory of its own that the fork
     * write-protected, and its faults count too: the count means something
     * only without one (the child's check above runs everywhere). */
    before = minor_faults();
    memset(got, 0xa5, n);
    if (!SHADOW_MEMORY)
        ck_assert_int_lt(minor_faults() - before, (long)(n / page / 4));
    free(got);
}
END_TEST

static const struct test_case cases[] = {
    TEST(warm, nothing_kept_gives_nothing),
    TEST(warm, a_freed_large_buffer_comes_back_to_the_next_take),
    TEST(warm, drop_all_frees_what_is_kept),
    TEST(warm, the_smallest_buffer_that_fits_is_taken),
    TEST(warm, small_buffers_are_freed_not_kept),
    TEST(warm, a_buffer_counts_by_the_pages_it_has_in),
    TEST(warm, at_most_four_are_kept_and_the_oldest_goes_first),
    TEST(warm, an_old_buffer_is_freed_unless_a_take_wants_it),
    TEST(ring, a_ring_growing_past_a_mebibyte_writes_into_a_freed_rings_pages),
    TEST(ring, a_ring_being_read_leaves_a_much_larger_buffer_for_one_that_is_not),
    TEST(ring, a_bounded_ring_never_takes_more_memory_than_its_limit),
    TEST(fork, a_fork_while_another_thread_uses_it_leaves_it_usable_in_the_child),
    TEST(fork, what_is_kept_is_left_out_of_a_forked_child),
};

TEST_MAIN("warm", cases, .timeout = 60)
