/* bell: a wake-up without a descriptor, for a thread that waits for any of
 * several things other threads do, with a deadline.
 *
 * A counter under a mutex, and a condition variable on the monotonic
 * clock.  A waiter reads the count first, then looks at whatever it waits
 * for, and sleeps only while the count has not moved: a ring between the
 * look and the sleep moves it, so no wake-up is lost.  Needing no
 * descriptor, it cannot fail at a descriptor limit or where a sandbox
 * refuses eventfd or epoll, and it costs nothing to set up once an object
 * exists.
 *
 * Locking: the mutex is a leaf; ringing takes it for an instant, under any
 * other lock or none, and never blocks otherwise. */
#include "config.h"

#include "sys/sys.h"

#include <pthread.h>
#include <time.h>

int p2i_bell_init(struct p2i_bell *b)
{
    int r;

    b->rung = 0;
    b->waiters = 0;
    r = pthread_mutex_init(&b->mu, NULL);
    if (r)
        return -r;
    r = p2i_clock_cond_init(&b->cond);
    if (r < 0)
        pthread_mutex_destroy(&b->mu);
    return r;
}

void p2i_bell_destroy(struct p2i_bell *b)
{
    pthread_cond_destroy(&b->cond);
    pthread_mutex_destroy(&b->mu);
}

void p2i_bell_ring(struct p2i_bell *b)
{
    pthread_mutex_lock(&b->mu);
    b->rung++;
    /* Nobody waiting is the common case (a reader thread rings after every
     * pipeful): no futex call then. */
    if (b->waiters)
        pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->mu);
}

unsigned long long p2i_bell_count(struct p2i_bell *b)
{
    unsigned long long n;

    pthread_mutex_lock(&b->mu);
    n = b->rung;
    pthread_mutex_unlock(&b->mu);
    return n;
}

/* A thread cancelled in the wait (pthread_cond_timedwait re-takes the mutex
 * first) gives the mutex back, so the bell keeps working. */
static void wait_cancelled(void *arg)
{
    struct p2i_bell *b = arg;

    b->waiters--;
    pthread_mutex_unlock(&b->mu);
}

void p2i_bell_wait(struct p2i_bell *b, unsigned long long seen, long long deadline_ms)
{
    struct timespec until;

    until.tv_sec = (time_t)(deadline_ms / 1000);
    until.tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
    pthread_mutex_lock(&b->mu);
    b->waiters++;
    pthread_cleanup_push(wait_cancelled, b);
    while (b->rung == seen) {
        if (deadline_ms < 0)
            pthread_cond_wait(&b->cond, &b->mu);
        else if (p2i_clock_ms_left(deadline_ms) == 0 ||
                 pthread_cond_timedwait(&b->cond, &b->mu, &until) == ETIMEDOUT)
            break;
    }
    pthread_cleanup_pop(0);
    b->waiters--;
    pthread_mutex_unlock(&b->mu);
}
