/* pool: the library's threads, parked between jobs instead of created and
 * joined for each stream.
 *
 * Every pump (a stream's reader or writer) runs as a job on a pool thread.
 * A thread whose job ended parks for a while (P2I_POOL_IDLE_MS); the next
 * p2i_pool_start takes it instead of creating one, so a program that runs
 * many short children pays pthread_create and the join once, not per
 * object.  At most POOL_MAX_IDLE threads stay parked; a parked thread that
 * nobody wanted within the idle time ends.
 *
 * A job may take its thread before it has anything to run
 * (p2i_pool_reserve) and hand it the function later (p2i_pool_go): an
 * object reserves its readers' threads before it spawns the child, so a
 * failure still comes before the child exists, and wakes them after the
 * spawn, so that on a machine with few CPUs the woken thread does not
 * compete with the child being started (on the 2-CPU VM the library is
 * measured on, spawn + wait of /bin/true with stdin and stdout piped went
 * from 1.16-1.24x to 1.05-1.07x of a bare posix_spawn + waitpid).  A reserved
 * thread never ends for idling.
 *
 * Joining is per job, not per thread: p2i_pool_join waits until the job's
 * function has returned (the thread may already run someone else's job by
 * then).  A call that fails must leave no thread behind, so
 * p2i_pool_join_retire also ends the job's thread (unless it already took
 * another job) and waits for it to be gone.  Threads are joinable for that;
 * one that ends on its own after idling detaches itself.  A worker's memory outlives its thread for as long as any handle
 * still expects to join or detach (`handles`), so a late join never touches
 * freed memory.
 *
 * Every pool thread runs with all signals blocked and a small stack, as the
 * pumps need, plus the program's static thread-local storage.  After fork()
 * the child has none of the parent's threads: the child handler (called
 * from fork.c) forgets every worker and starts an empty pool, so a forked
 * child can create objects of its own.
 *
 * Lock order: pool_mu is a leaf: nothing else of the library is taken while
 * it is held (only the C library's own locks, in pthread_create and, once,
 * in dl_iterate_phdr).
 */
#include "config.h"

#include "runtime/runtime.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* Small explicit stacks: the pump loops need a few hundred bytes, and 10,000
 * live objects with default 8 MiB stacks would reserve 80 GiB of address
 * space.  This is the room for our frames; the static TLS comes on top
 * (stack_size_locked).  Sanitizers need more room for their own frames
 * (redzones, and the runtime's report and interceptor code running on our
 * stack).  gcc says it sanitizes with __SANITIZE_ADDRESS__ /
 * __SANITIZE_THREAD__; clang 14 only through __has_feature, so ask both. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||                         \
    __has_feature(memory_sanitizer)
#define POOL_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define POOL_SANITIZED 1
#endif
#ifdef POOL_SANITIZED
#define POOL_STACK (1024 * 1024)
#else
#define POOL_STACK (64 * 1024)
#endif

/* Parked threads kept for reuse (each waits P2I_POOL_IDLE_MS for a job). */
#define POOL_MAX_IDLE 64

struct p2i_worker {
    pthread_cond_t cond;        /* a job was handed to this worker */
    void *(*fn)(void *);        /* the job, NULL while parked */
    void *arg;
    unsigned long gen;          /* jobs handed to this worker so far */
    unsigned long done_gen;     /* of which this many have returned */
    int handles;                /* handles not yet joined or detached */
    bool running;               /* a thread serves this worker */
    bool reserved;              /* taken by a job that has no function yet */
    bool retire;                /* end the thread instead of parking it */
    pthread_t tid;
    struct p2i_worker *next;    /* the idle list */
};

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static size_t stack_size; /* POOL_STACK plus the static TLS; 0 until measured */
static pthread_cond_t pool_done = PTHREAD_COND_INITIALIZER; /* some job returned */
static struct p2i_worker *idle;
static int nidle;
/* The fork handlers (fork.c) hold pool_mu across fork(), so the parent's
 * threads cannot be half-way through a change of the lists. */
void p2i_pool_lock(void)
{
    pthread_mutex_lock(&pool_mu);
}

void p2i_pool_unlock(void)
{
    pthread_mutex_unlock(&pool_mu);
}

/* In the child: the parent's threads do not exist here, so their workers
 * are forgotten (the memory stays the parent's copy), and pool_done, which
 * may count waiters that did not come along, starts afresh.  pool_mu was
 * taken by this very thread in p2i_pool_lock, so it is released the
 * ordinary way (as the active list's is), which also keeps lock checkers'
 * books right. */
void p2i_pool_forked(void)
{
    static const pthread_cond_t fresh_cond = PTHREAD_COND_INITIALIZER;

    pool_done = fresh_cond;
    idle = NULL;
    nidle = 0;
    pthread_mutex_unlock(&pool_mu);
}

static void deadline_in(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_nsec -= 1000000000L;
        ts->tv_sec++;
    }
}

/* Unlinks w from the idle list; pool_mu held. */
static void unpark_locked(struct p2i_worker *w)
{
    struct p2i_worker **pp;

    for (pp = &idle; *pp; pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            nidle--;
            return;
        }
    }
}

/* Runs jobs until the worker is retired (the retirer joins this thread and
 * frees the worker), finds the idle list full, or waits in it unused for
 * P2I_POOL_IDLE_MS. */
static void *worker_main(void *arg)
{
    struct p2i_worker *w = arg;
    struct timespec until;
    void *(*fn)(void *);
    void *fa;
    bool free_now;

    pthread_mutex_lock(&pool_mu);
    for (;;) {
        while (!w->fn && !w->retire) {
            deadline_in(&until, P2I_POOL_IDLE_MS);
            if (pthread_cond_timedwait(&w->cond, &pool_mu, &until) == ETIMEDOUT && !w->fn &&
                !w->retire && !w->reserved)
                goto end;
        }
        if (!w->fn)
            break; /* retired while parked */
        fn = w->fn;
        fa = w->arg;
        pthread_mutex_unlock(&pool_mu);
        fn(fa);
        pthread_mutex_lock(&pool_mu);
        w->fn = NULL;
        w->done_gen = w->gen;
        pthread_cond_broadcast(&pool_done);
        if (w->retire || nidle >= POOL_MAX_IDLE)
            break;
        w->next = idle;
        idle = w;
        nidle++;
    }
end:
    unpark_locked(w); /* a no-op unless it is parked */
    if (w->retire) {
        pthread_mutex_unlock(&pool_mu);
        return NULL;
    }
    pthread_detach(pthread_self()); /* nobody joins a thread that ends on its own */
    w->running = false;
    /* A handle still to be joined or detached keeps the memory; the last
     * of them frees it (p2i_pool_join / p2i_pool_detach). */
    free_now = w->handles == 0;
    pthread_mutex_unlock(&pool_mu);
    if (free_now) {
        pthread_cond_destroy(&w->cond);
        free(w);
    }
    return NULL;
}

/* The stack size to ask for, measured once; pool_mu held, so a fork never
 * copies a half measured value.  glibc places every thread's copy of the
 * static TLS inside the stack size it is given, so the request is our frames'
 * room plus that (p2i_thread_stack_size says how). */
static size_t stack_size_locked(void)
{
    if (!stack_size)
        stack_size = p2i_thread_stack_size(POOL_STACK);
    return stack_size;
}

/* A new worker with its own thread, or NULL with *err; pool_mu held. */
static struct p2i_worker *spawn_worker_locked(int *err)
{
    struct p2i_worker *w = calloc(1, sizeof *w);
    pthread_attr_t attr;
    size_t dflt = 0;
    int r;

    if (!w) {
        *err = ENOMEM;
        return NULL;
    }
    r = pthread_cond_init(&w->cond, NULL);
    if (r) {
        free(w);
        *err = r;
        return NULL;
    }
    r = pthread_attr_init(&attr);
    if (r)
        goto fail;
    if (pthread_attr_getstacksize(&attr, &dflt) != 0)
        dflt = 0;
    pthread_attr_setstacksize(&attr, stack_size_locked());
    w->running = true;
    r = p2i_thread_create(&w->tid, &attr, worker_main, w);
    if (r == EINVAL && dflt && pthread_attr_setstacksize(&attr, dflt) == 0) {
        /* The C library needs more of the stack than measured (a TLS or
         * guard the measure does not see): its default size is what it
         * sizes for itself. */
        r = p2i_thread_create(&w->tid, &attr, worker_main, w);
    }
    pthread_attr_destroy(&attr);
    if (r)
        goto fail;
    return w;
fail:
    pthread_cond_destroy(&w->cond);
    free(w);
    *err = r;
    return NULL;
}

int p2i_pool_reserve(struct p2i_job *job)
{
    struct p2i_worker *w;
    int err = 0;

    pthread_mutex_lock(&pool_mu);
    w = idle;
    if (w) {
        idle = w->next;
        nidle--;
    } else {
        w = spawn_worker_locked(&err);
        if (!w) {
            pthread_mutex_unlock(&pool_mu);
            return -err;
        }
    }
    w->reserved = true;
    w->gen++;
    w->handles++;
    job->worker = w;
    job->gen = w->gen;
    pthread_mutex_unlock(&pool_mu);
    return 0;
}

void p2i_pool_go(struct p2i_job *job, void *(*fn)(void *), void *arg)
{
    struct p2i_worker *w = job->worker;

    pthread_mutex_lock(&pool_mu);
    w->fn = fn;
    w->arg = arg;
    w->reserved = false;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&pool_mu);
}

int p2i_pool_start(struct p2i_job *job, void *(*fn)(void *), void *arg)
{
    int r = p2i_pool_reserve(job);

    if (r == 0)
        p2i_pool_go(job, fn, arg);
    return r;
}

/* Drops the job's handle; pool_mu held.  Frees a worker whose thread has
 * ended and that nobody else expects. */
static void release_locked(struct p2i_job *job)
{
    struct p2i_worker *w = job->worker;

    job->worker = NULL;
    if (--w->handles == 0 && !w->running) {
        pthread_cond_destroy(&w->cond);
        free(w);
    }
}

void p2i_pool_join(struct p2i_job *job)
{
    struct p2i_worker *w = job->worker;

    pthread_mutex_lock(&pool_mu);
    while (w->done_gen < job->gen)
        pthread_cond_wait(&pool_done, &pool_mu);
    release_locked(job);
    pthread_mutex_unlock(&pool_mu);
}

void p2i_pool_join_retire(struct p2i_job *job)
{
    struct p2i_worker *w = job->worker;
    bool mine;

    pthread_mutex_lock(&pool_mu);
    while (w->done_gen < job->gen)
        pthread_cond_wait(&pool_done, &pool_mu);
    /* Only a thread still idle since this job (not taken by another start,
     * not ended on its own) is ours to end. */
    mine = w->running && !w->fn && w->gen == job->gen && !w->retire;
    if (mine) {
        w->retire = true;
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&pool_mu);
        pthread_join(w->tid, NULL);
        pthread_mutex_lock(&pool_mu);
        w->running = false;
    }
    release_locked(job);
    pthread_mutex_unlock(&pool_mu);
}

void p2i_pool_detach(struct p2i_job *job)
{
    pthread_mutex_lock(&pool_mu);
    release_locked(job);
    pthread_mutex_unlock(&pool_mu);
}
