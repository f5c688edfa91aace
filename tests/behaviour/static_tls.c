/* check_static_tls: the library's threads work in a program with a large
 * static thread-local storage.  glibc carves every thread's copy of the
 * static TLS (the program's __thread variables and those of the libraries
 * loaded with it) out of the stack size asked for, so a small fixed stack
 * leaves the thread too little (pthread_create refuses it with EINVAL) or
 * almost nothing (the reader thread overflows it opening a spill file).
 *
 * Built twice, with STATIC_TLS_KIB 60 (more than a 64 KiB stack can hold
 * beside glibc's own) and 56 (fits, leaving a few KiB of stack): objects
 * with pipes and a writer thread, and a SPILL stream whose file the reader
 * thread opens, must work in both, every byte checked. */
#include <check.h>
#include <errno.h>
#include <sys/wait.h>

#include "common.h"
#include "runner.h"
#include "popen2.h"

#ifndef STATIC_TLS_KIB
#error "build with -DSTATIC_TLS_KIB=n"
#endif

/* Used, so the compiler and linker keep all of it in the static TLS. */
__attribute__((used)) static __thread unsigned char tls_block[STATIC_TLS_KIB * 1024];

/* Touches this thread's block: the test really runs with it in place. */
static void touch_tls(void)
{
    volatile unsigned char *b = tls_block;

    b[0] = 1;
    b[sizeof tls_block - 1] = 2;
    ck_assert_int_eq(b[0] + b[sizeof tls_block - 1], 3);
}

/* Output and error read back, input written through the writer thread. */
START_TEST(pipes_with_large_static_tls)
{
    char *const both[] = {TEST_CHILD, "both", "1048576", "51", "52", NULL};
    char *const cat[] = {TEST_CHILD, "cat", NULL};
    static unsigned char input[1 << 20];
    popen2_proc *p;
    int st;

    touch_tls();
    p = popen2_Popen3v(both, 1, -1);
    ck_assert_msg(p != NULL, "Popen3v: %s", strerror(errno));
    ck_assert_uint_eq(read_pattern(popen2_childerr(p), 52, 4096), 1048576);
    ck_assert_uint_eq(read_pattern(popen2_fromchild(p), 51, 4096), 1048576);
    st = popen2_wait(p);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    popen2_free(p);

    p = popen2_Popen3v(cat, 0, -1);
    ck_assert_msg(p != NULL, "Popen3v: %s", strerror(errno));
    pattern_fill(input, sizeof input, 53, 0);
    ck_assert_uint_eq(fwrite(input, 1, sizeof input, popen2_tochild(p)), sizeof input);
    ck_assert_int_eq(fclose(popen2_tochild(p)), 0);
    ck_assert_uint_eq(read_pattern(popen2_fromchild(p), 53, 4096), sizeof input);
    st = popen2_wait(p);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    popen2_free(p);
}
END_TEST

/* The reader thread opens the spill file itself (a PATH_MAX buffer on its
 * stack); the caller reads only after the child has exited. */
START_TEST(spill_with_large_static_tls)
{
    char *const argv[] = {TEST_CHILD, "pattern", "1", "4194304", "54", NULL};
    struct popen2_stream_stats stats;
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;
    int st;

    touch_tls();
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(popen2_attr_set_limit(a, 1, 64 * 1024, POPEN2_SPILL), 0);
    p = popen2_spawnv(argv, a);
    popen2_attr_free(a);
    ck_assert_msg(p != NULL, "spawnv: %s", strerror(errno));
    st = popen2_wait(p);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert_int_eq(popen2_stream_stats(p, 1, &stats), 0);
    ck_assert_uint_gt(stats.spilled, 0);
    ck_assert_uint_eq(read_pattern(popen2_fromchild(p), 54, 4096), 4194304);
    popen2_free(p);
}
END_TEST

#define STR_(x) #x
#define STR(x) STR_(x)

/* Named for its size, so the logs of the two builds tell them apart. */
static const struct test_case cases[] = {
    TEST(threads, pipes_with_large_static_tls),
    TEST(threads, spill_with_large_static_tls),
};

TEST_MAIN("static_tls_" STR(STATIC_TLS_KIB) "k", cases, .timeout = 60)
