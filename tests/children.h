/* tests/children.h: the children the tests start (tests/child in one mode,
 * through the `v` forms; a child that sleeps) and a thread blocked in
 * popen2_wait on one. */
#ifndef POPEN2_TESTS_CHILDREN_H
#define POPEN2_TESTS_CHILDREN_H

#include <check.h>
#include <errno.h>
#include <popen2.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include "common.h"

/* A child argv: TEST_CHILD followed by the mode and its arguments. */
#define CHILD(...) ((char *const[]){TEST_CHILD, __VA_ARGS__, NULL})

/* The test child in one mode, as Popen3 and Popen4 objects. */
static inline popen2_proc *child3(int capturestderr, const char *mode, const char *arg)
{
    char *argv[] = {TEST_CHILD, (char *)mode, (char *)arg, NULL};

    return popen2_Popen3v(argv, capturestderr, -1);
}

static inline popen2_proc *child4(const char *mode, const char *arg)
{
    char *argv[] = {TEST_CHILD, (char *)mode, (char *)arg, NULL};

    return popen2_Popen4v(argv, -1);
}

/* `cat` as an object of one of three shapes: Popen3 capturing stderr,
 * Popen3 without, Popen4. */
static inline popen2_proc *cat_of_shape(int shape)
{
    return shape % 3 == 2 ? child4("cat", NULL) : child3(shape % 3 == 0, "cat", NULL);
}

/* tests/child sleeping ms milliseconds, through popen2_spawnv. */
static inline popen2_proc *sleeper(int ms)
{
    char arg[16];
    char *argv[] = {TEST_CHILD, "sleep", arg, NULL};
    popen2_proc *p;

    snprintf(arg, sizeof arg, "%d", ms);
    p = popen2_spawnv(argv, NULL);
    ck_assert_ptr_nonnull(p);
    return p;
}

/* p must exist: its stdout read to EOF must be want and its exit 0; frees p. */
static inline void expect_stdout_then_exit_0(popen2_proc *p, const char *want)
{
    char *out;

    ck_assert_ptr_nonnull(p);
    out = read_all(popen2_fromchild(p), NULL);
    ck_assert_str_eq(out, want);
    free(out);
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
}

/* One thread in popen2_wait(p): its status and errno, and done once it
 * returned, so a test can tell a waiter still blocked from one that ended. */
struct waiter {
    popen2_proc *p;
    int status;
    int err;
    atomic_bool done;
};

static inline void *wait_thread(void *arg)
{
    struct waiter *w = arg;

    errno = 0;
    w->status = popen2_wait(w->p);
    w->err = errno;
    atomic_store(&w->done, true);
    return NULL;
}

#endif
