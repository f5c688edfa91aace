/* tests/baseline.h: "what this process holds before a test, it holds after":
 * descriptors, threads and children, settled with EVENTUALLY since detached
 * writer threads and exiting children finish on their own time. */
#ifndef POPEN2_TESTS_BASELINE_H
#define POPEN2_TESTS_BASELINE_H

#include <check.h>
#include <popen2.h>

#include "common.h"

/* Children (live or zombie) are gone once the active list is reaped. */
static inline bool no_children_left(void)
{
    popen2_cleanup();
    return popen2_active() == 0 && count_children() == 0;
}

struct baseline {
    int fds, threads;
};

static inline struct baseline baseline(void)
{
    struct baseline b;

    /* Whatever an earlier test (CK_FORK=no) left still settling. */
    ck_assert(EVENTUALLY(no_children_left(), 10));
    /* An earlier test's pump threads park in the library's pool and end
     * after its idle time (2 s): count without them.  (No assertion: a
     * test may run threads of its own.) */
    if (count_threads() > 1)
        (void)EVENTUALLY(count_threads() == 1, 5);
    b.fds = count_fds();
    b.threads = count_threads();
    return b;
}

/* Children first: a freed object whose child still runs is on the active
 * list with the child's pidfd, which popen2_cleanup closes when it reaps. */
static inline void assert_back_to(struct baseline b)
{
    ck_assert_msg(EVENTUALLY(no_children_left(), 10), "children: %d, active %zu", count_children(),
                  popen2_active());
    ck_assert_msg(EVENTUALLY(count_fds() == b.fds, 10), "descriptors: %d, baseline %d", count_fds(),
                  b.fds);
    ck_assert_msg(EVENTUALLY(count_threads() == b.threads, 10), "threads: %d, baseline %d",
                  count_threads(), b.threads);
}

#endif
