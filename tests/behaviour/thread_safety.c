/* thread_safety: objects used from many threads at once, and the
 * library's own threads.
 *
 * - Many threads creating, using and freeing objects at once get every
 *   byte right and leave nothing behind.
 * - Several threads may wait on, or poll, one object: all see one status.
 * - An object may be freed by another thread than the one that made it.
 * - Each object runs exactly its reader and writer threads, which end with
 *   their streams.
 *
 * Worker threads never call ck_assert (in CK_FORK=no mode it longjmps across
 * threads); they record the first failure for the main thread to report.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "baseline.h"
#include "common.h"
#include "runner.h"
#include "children.h"
#include "popen2.h"

/* The first failure any worker thread saw. */
static pthread_mutex_t fail_mu = PTHREAD_MUTEX_INITIALIZER;
static char fail_msg[256];
static atomic_int fail_count;

__attribute__((format(printf, 1, 2))) static void record_failure(const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&fail_mu);
    if (atomic_fetch_add(&fail_count, 1) == 0) {
        va_start(ap, fmt);
        vsnprintf(fail_msg, sizeof fail_msg, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&fail_mu);
}

static void reset_failures(void)
{
    atomic_store(&fail_count, 0);
    fail_msg[0] = '\0';
}

static void assert_no_failures(void)
{
    ck_assert_msg(atomic_load(&fail_count) == 0, "%d failures, first: %s", atomic_load(&fail_count),
                  fail_msg);
}

/* ---- many threads at once -------------------------------------------------- */

#define WORKERS 8
#define PER_WORKER 25

/* One object through its whole life: a pattern of a size and seed unique to
 * (worker, i) written through `cat` and checked byte by byte. */
static void one_object(unsigned worker, unsigned i)
{
    unsigned seed = worker * 1000 + i;
    size_t n = 1 + (size_t)seed * 7919 % 150000;
    unsigned char *buf = malloc(n);
    popen2_proc *p;
    size_t got;
    int st;

    if (!buf) {
        record_failure("malloc");
        return;
    }
    pattern_fill(buf, n, seed, 0);
    p = cat_of_shape((int)(i % 3));
    if (!p) {
        record_failure("worker %u object %u: %s", worker, i, strerror(errno));
        free(buf);
        return;
    }
    if (fwrite(buf, 1, n, popen2_tochild(p)) != n)
        record_failure("worker %u object %u: fwrite: %s", worker, i, strerror(errno));
    fclose(popen2_tochild(p));
    got = read_pattern(popen2_fromchild(p), seed, 1 + seed % 8192);
    if (got != n)
        record_failure("worker %u object %u: read %zd of %zu bytes", worker, i, (ssize_t)got, n);
    if (popen2_childerr(p) && read_pattern(popen2_childerr(p), 0, 512) != 0)
        record_failure("worker %u object %u: unexpected stderr", worker, i);
    st = popen2_wait(p);
    if (st != 0)
        record_failure("worker %u object %u: status %#x", worker, i, st);
    popen2_free(p);
    free(buf);
}

static void *worker_main(void *arg)
{
    unsigned worker = (unsigned)(uintptr_t)arg, i;

    for (i = 0; i < PER_WORKER; i++)
        one_object(worker, i);
    return NULL;
}

START_TEST(many_threads_create_use_and_free)
{
    struct baseline b = baseline();
    pthread_t t[WORKERS];
    uintptr_t w;

    reset_failures();
    for (w = 0; w < WORKERS; w++)
        ck_assert_int_eq(pthread_create(&t[w], NULL, worker_main, (void *)w), 0);
    for (w = 0; w < WORKERS; w++)
        ck_assert_int_eq(pthread_join(t[w], NULL), 0);
    assert_no_failures();
    assert_back_to(b);
}
END_TEST

/* ---- several threads on one object ------------------------------------------- */

/* Polls until the child has a status; -2 if it never got one. */
static void *poll_main(void *arg)
{
    struct waiter *w = arg;
    double until = now_s() + 20;
    int r;

    while ((r = popen2_poll(w->p)) == -1 && now_s() < until)
        sleep_ms(1);
    w->status = r == -1 ? -2 : r;
    atomic_store(&w->done, true);
    return NULL;
}

START_TEST(two_threads_wait_on_one_object)
{
    struct baseline b = baseline();
    struct waiter w[2] = {{0}};
    pthread_t t[2];
    popen2_proc *p = child3(0, "sleep", "300");
    int i;

    ck_assert_ptr_nonnull(p);
    for (i = 0; i < 2; i++) {
        w[i].p = p;
        ck_assert_int_eq(pthread_create(&t[i], NULL, wait_thread, &w[i]), 0);
    }
    for (i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    for (i = 0; i < 2; i++)
        ck_assert_msg(w[i].status == 0, "waiter %d: status %#x (%s)", i, w[i].status,
                      strerror(w[i].err));
    ck_assert_int_eq(popen2_wait(p), 0);
    ck_assert_int_eq(popen2_poll(p), 0);
    popen2_free(p);
    assert_back_to(b);
}
END_TEST

/* The waiters are surely asleep in wait() when the child is killed. */
START_TEST(three_threads_wait_then_child_killed)
{
    struct baseline b = baseline();
    struct waiter w[3] = {{0}};
    pthread_t t[3];
    popen2_proc *p = child3(1, "sleep", "300000");
    int i, st;

    ck_assert_ptr_nonnull(p);
    for (i = 0; i < 3; i++) {
        w[i].p = p;
        ck_assert_int_eq(pthread_create(&t[i], NULL, wait_thread, &w[i]), 0);
    }
    sleep_ms(100);
    for (i = 0; i < 3; i++)
        ck_assert_msg(!atomic_load(&w[i].done), "waiter %d returned early", i);
    ck_assert_int_eq(kill(popen2_pid(p), SIGKILL), 0);
    for (i = 0; i < 3; i++)
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    st = w[0].status;
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status %#x", st);
    for (i = 1; i < 3; i++)
        ck_assert_int_eq(w[i].status, st);
    popen2_free(p);
    assert_back_to(b);
}
END_TEST

START_TEST(threads_poll_while_another_waits)
{
    struct baseline b = baseline();
    struct waiter waiter = {0}, pollers[4] = {{0}};
    pthread_t tw, tp[4];
    popen2_proc *p = child3(1, "drain-exit", "7");
    int i;

    ck_assert_ptr_nonnull(p);
    waiter.p = p;
    ck_assert_int_eq(pthread_create(&tw, NULL, wait_thread, &waiter), 0);
    for (i = 0; i < 4; i++) {
        pollers[i].p = p;
        ck_assert_int_eq(pthread_create(&tp[i], NULL, poll_main, &pollers[i]), 0);
    }
    sleep_ms(100);
    ck_assert(!atomic_load(&waiter.done));
    for (i = 0; i < 4; i++)
        ck_assert_msg(!atomic_load(&pollers[i].done), "poller %d: status %#x while running", i,
                      pollers[i].status);
    fclose(popen2_tochild(p)); /* the child exits 7 now */
    ck_assert_int_eq(pthread_join(tw, NULL), 0);
    for (i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_join(tp[i], NULL), 0);
    ck_assert_msg(WIFEXITED(waiter.status) && WEXITSTATUS(waiter.status) == 7,
                  "waiter: status %#x (%s)", waiter.status, strerror(waiter.err));
    for (i = 0; i < 4; i++)
        ck_assert_msg(pollers[i].status == waiter.status, "poller %d: status %#x", i,
                      pollers[i].status);
    popen2_free(p);
    assert_back_to(b);
}
END_TEST

/* ---- freeing from another thread --------------------------------------------- */

struct handoff {
    popen2_proc *p;
    unsigned seed;
    size_t n;
    double took;
};

static void *create_main(void *arg)
{
    struct handoff *h = arg;
    unsigned char *buf = malloc(h->n);

    h->p = child3(1, "cat", NULL);
    if (!h->p || !buf) {
        record_failure("create: %s", strerror(errno));
        free(buf);
        return NULL;
    }
    pattern_fill(buf, h->n, h->seed, 0);
    if (fwrite(buf, 1, h->n, popen2_tochild(h->p)) != h->n)
        record_failure("fwrite: %s", strerror(errno));
    fclose(popen2_tochild(h->p));
    free(buf);
    return NULL;
}

static void *read_and_free_main(void *arg)
{
    struct handoff *h = arg;
    size_t got = read_pattern(popen2_fromchild(h->p), h->seed, 4096);
    int st;

    if (got != h->n)
        record_failure("read %zd of %zu bytes", (ssize_t)got, h->n);
    st = popen2_wait(h->p);
    if (st != 0)
        record_failure("status %#x", st);
    popen2_free(h->p);
    return NULL;
}

static void *free_main(void *arg)
{
    struct handoff *h = arg;
    double t0 = now_s();

    popen2_free(h->p);
    h->took = now_s() - t0;
    return NULL;
}

START_TEST(free_from_another_thread)
{
    struct baseline b = baseline();
    struct handoff h = {.seed = 99, .n = 300000};
    pthread_t t;
    int i;

    reset_failures();
    /* Created (and written) on one thread, read and freed on another. */
    for (i = 0; i < 5; i++) {
        h.seed = 99 + (unsigned)i;
        ck_assert_int_eq(pthread_create(&t, NULL, create_main, &h), 0);
        ck_assert_int_eq(pthread_join(t, NULL), 0);
        ck_assert_ptr_nonnull(h.p);
        ck_assert_int_eq(pthread_create(&t, NULL, read_and_free_main, &h), 0);
        ck_assert_int_eq(pthread_join(t, NULL), 0);
        assert_no_failures();
    }

    /* Freed on another thread while the child still writes: prompt. */
    h.p = child3(1, "yes", NULL);
    ck_assert_ptr_nonnull(h.p);
    sleep_ms(50);
    ck_assert_int_eq(pthread_create(&t, NULL, free_main, &h), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    /* A generous timeout, not a speed: `yes` never ends by itself. */
    ck_assert_msg(h.took < 10.0, "popen2_free took %.3f s", h.took);
    assert_back_to(b); /* `yes` dies of EPIPE once its pipe is closed */
}
END_TEST

/* ---- the library's own threads ---------------------------------------------- */

START_TEST(thread_count_per_object)
{
    struct baseline b = baseline();
    popen2_proc *p;
    char *text;

    /* Reader for stdout, reader for stderr; the writer for stdin starts
     * with the first byte written to tochild. */
    p = child3(1, "cat", NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(count_threads(), b.threads + 2);
    ck_assert_int_eq(fputc('x', popen2_tochild(p)), 'x');
    ck_assert_int_eq(fflush(popen2_tochild(p)), 0);
    ck_assert_int_eq(count_threads(), b.threads + 3);
    popen2_free(p);
    ck_assert(EVENTUALLY(count_threads() == b.threads, 10));

    p = child3(0, "cat", NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(count_threads(), b.threads + 1);
    popen2_free(p);
    ck_assert(EVENTUALLY(count_threads() == b.threads, 10));

    p = child4("cat", NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(count_threads(), b.threads + 1);
    popen2_free(p);
    ck_assert(EVENTUALLY(count_threads() == b.threads, 10));

    /* Each thread ends with its stream, before the object is freed: the
     * writer once tochild is closed and delivered, the readers at EOF. */
    p = child3(1, "cat", NULL);
    ck_assert_ptr_nonnull(p);
    fputs("one line\n", popen2_tochild(p));
    fclose(popen2_tochild(p));
    text = read_all(popen2_fromchild(p), NULL);
    ck_assert_str_eq(text, "one line\n");
    free(text);
    text = read_all(popen2_childerr(p), NULL);
    ck_assert_str_eq(text, "");
    free(text);
    ck_assert_msg(EVENTUALLY(count_threads() == b.threads, 10), "threads: %d, baseline %d",
                  count_threads(), b.threads);
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);

    /* Many objects alive at once, each written to: three threads each, no
     * more. */
    {
        popen2_proc *ps[20];
        int i;

        for (i = 0; i < 20; i++) {
            ps[i] = child3(1, "cat", NULL);
            ck_assert_ptr_nonnull(ps[i]);
            ck_assert_int_eq(fputc('x', popen2_tochild(ps[i])), 'x');
            ck_assert_int_eq(fflush(popen2_tochild(ps[i])), 0);
        }
        ck_assert_int_eq(count_threads(), b.threads + 60);
        for (i = 0; i < 20; i++)
            popen2_free(ps[i]);
    }
    assert_back_to(b);
}
END_TEST

static const struct test_case cases[] = {
    TEST_T(concurrency, many_threads_create_use_and_free, 60),
    TEST(shared_object, two_threads_wait_on_one_object),
    TEST(shared_object, three_threads_wait_then_child_killed),
    TEST(shared_object, threads_poll_while_another_waits),
    TEST(shared_object, free_from_another_thread),
    TEST(library_threads, thread_count_per_object),
};

TEST_MAIN("thread_safety", cases, .timeout = 20)
