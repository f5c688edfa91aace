/* tests/waiting.h: a child that sleeps, and a thread blocked in popen2_wait
 * on it: what the tests of timed waits, signals and threads wait with. */
#ifndef POPEN2_TESTS_WAITING_H
#define POPEN2_TESTS_WAITING_H

#include <check.h>
#include <errno.h>
#include <popen2.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include "common.h"

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
