/* linger: input still on its way to a child when the program exits.
 *
 * Writing to tochild never blocks: the bytes wait in the input ring and the
 * writer thread delivers them.  A program that writes, fcloses (or frees the
 * object) and returns from main would end the process, and the writer
 * thread with it, before the child got its input.  So the library keeps
 * count of input rings that hold bytes not yet delivered (ringbuf.c marks a
 * ring busy from the append that fills it until the writer finds it empty,
 * both under the ring's lock, so the count never dips to 0 between two
 * writes), and its destructor, which runs at exit after the program's
 * atexit handlers and before stdio's final flush, waits until the count is
 * 0.
 *
 * The wait is bounded by progress, not by a total: it goes on while any
 * writer delivers bytes, and gives up once none has delivered a byte for
 * P2I_LINGER_STALL_MS (a child that neither reads nor exits).  A child that
 * exits or closes its stdin ends its writer at once (EPIPE), so it never
 * holds the exit up.  stdio's own flush at exit (a tochild the program
 * never closed) comes after this destructor; the FILE's write sees
 * p2i_linger_exiting() and waits for its ring in the same way.  Every wait
 * of the exit runs on one stall clock (p2i_linger_stall_left_ms), so a
 * flush after the destructor gave up does not wait a second stall, and the
 * exit ends P2I_LINGER_STALL_MS after the last delivery at the latest.
 */
#include "config.h"

#include "runtime/runtime.h"

#include <pthread.h>
#include <time.h>

static int busy;                    /* input rings holding undelivered bytes */
static unsigned long long progress; /* bumped by writers at every delivery */
static bool exiting;

/* The exit's stall clock: the progress count last seen and when it was
 * first seen (-1 until the exit starts the clock).  Only the exit's waits
 * use it, so a lock costs the writers nothing. */
static pthread_mutex_t stall_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned long long stall_seen;
static long long stall_from = -1;

void p2i_linger_add(int delta)
{
    __atomic_add_fetch(&busy, delta, __ATOMIC_ACQ_REL);
}

void p2i_linger_progress(void)
{
    __atomic_add_fetch(&progress, 1, __ATOMIC_RELAXED);
}

unsigned long long p2i_linger_progress_count(void)
{
    return __atomic_load_n(&progress, __ATOMIC_RELAXED);
}

bool p2i_linger_exiting(void)
{
    return __atomic_load_n(&exiting, __ATOMIC_ACQUIRE);
}

void p2i_linger_forked(void)
{
    /* The parent's writer threads did not come along. */
    __atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
}

int p2i_linger_stall_left_ms(void)
{
    unsigned long long now = p2i_linger_progress_count();
    long long t = p2i_clock_now_ms(), left;

    pthread_mutex_lock(&stall_mu);
    if (stall_from < 0 || now != stall_seen) {
        stall_seen = now;
        stall_from = t;
    }
    left = P2I_LINGER_STALL_MS - (t - stall_from);
    pthread_mutex_unlock(&stall_mu);
    return left > 0 ? (int)left : 0;
}

/* Polls rather than sleeping on a condition: this runs once, at exit, and
 * keeps the writers' fast path free of any shared lock. */
__attribute__((destructor)) static void deliver_before_exit(void)
{
    __atomic_store_n(&exiting, true, __ATOMIC_RELEASE);
    while (__atomic_load_n(&busy, __ATOMIC_ACQUIRE) > 0 && p2i_linger_stall_left_ms() > 0)
        nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
}
