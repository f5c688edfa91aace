/* check_pool: the library's thread pool (lib/runtime/pool.c), tested
 * directly: a job runs and is joined; a parked thread takes the next job; a
 * job that reserved its thread runs only once it is handed its function,
 * even after longer than a parked thread waits for work; and a job joined
 * with retire leaves no thread behind. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "common.h"
#include "runner.h"
#include "runtime/runtime.h"

struct probe {
    int ran;        /* times the job's function ran */
    pthread_t tid;  /* the thread it ran on */
};

static void *record(void *arg)
{
    struct probe *pr = arg;

    pr->tid = pthread_self();
    __atomic_add_fetch(&pr->ran, 1, __ATOMIC_RELEASE);
    return NULL;
}

START_TEST(a_started_job_runs_and_is_joined)
{
    struct probe pr = {0};
    struct p2i_job job;

    ck_assert_int_eq(p2i_pool_start(&job, record, &pr), 0);
    p2i_pool_join(&job);
    ck_assert_int_eq(__atomic_load_n(&pr.ran, __ATOMIC_ACQUIRE), 1);
    ck_assert(!pthread_equal(pr.tid, pthread_self()));
}
END_TEST

START_TEST(a_parked_thread_takes_the_next_job)
{
    struct probe a = {0}, b = {0};
    struct p2i_job job;

    ck_assert_int_eq(p2i_pool_start(&job, record, &a), 0);
    p2i_pool_join(&job);
    ck_assert_int_eq(p2i_pool_start(&job, record, &b), 0);
    p2i_pool_join(&job);
    ck_assert_int_eq(a.ran + b.ran, 2);
    ck_assert(pthread_equal(a.tid, b.tid));
}
END_TEST

START_TEST(a_reserved_job_runs_only_once_handed_its_function)
{
    struct probe pr = {0};
    struct p2i_job job;

    ck_assert_int_eq(p2i_pool_reserve(&job), 0);
    usleep(50 * 1000);
    ck_assert_int_eq(__atomic_load_n(&pr.ran, __ATOMIC_ACQUIRE), 0);
    p2i_pool_go(&job, record, &pr);
    p2i_pool_join(&job);
    ck_assert_int_eq(__atomic_load_n(&pr.ran, __ATOMIC_ACQUIRE), 1);
}
END_TEST

/* A reserved thread that ended for idling would never run the job, and the
 * join would wait until the test's timeout fails it. */
START_TEST(a_reserved_thread_outlives_the_idle_time)
{
    struct probe pr = {0};
    struct p2i_job job;

    ck_assert_int_eq(p2i_pool_reserve(&job), 0);
    usleep((P2I_POOL_IDLE_MS + 500) * 1000);
    p2i_pool_go(&job, record, &pr);
    p2i_pool_join(&job);
    ck_assert_int_eq(pr.ran, 1);
}
END_TEST

START_TEST(join_retire_leaves_no_thread)
{
    struct probe pr = {0};
    struct p2i_job job;
    int before = count_threads();

    ck_assert_int_eq(p2i_pool_start(&job, record, &pr), 0);
    p2i_pool_join_retire(&job);
    ck_assert_int_eq(pr.ran, 1);
    ck_assert(EVENTUALLY(count_threads() == before, 10));
}
END_TEST

static const struct test_case cases[] = {
    TEST(pool, a_started_job_runs_and_is_joined),
    TEST(pool, a_parked_thread_takes_the_next_job),
    TEST(reserve, a_reserved_job_runs_only_once_handed_its_function),
    TEST(reserve, a_reserved_thread_outlives_the_idle_time),
    TEST(retire, join_retire_leaves_no_thread),
};

TEST_MAIN("pool", cases, .timeout = 30)
