/* clock: the monotonic clock in milliseconds, for every timeout the library
 * takes (wait_timeout, communicate).  CLOCK_MONOTONIC never jumps with the
 * wall clock, so a timeout is as long as it says. */
#include "config.h"

#include "sys/sys.h"

#include <pthread.h>
#include <time.h>

long long p2i_clock_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void p2i_clock_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    /* An interrupted sleep is only a shorter one: the callers look again. */
    (void)nanosleep(&ts, NULL);
}

int p2i_clock_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t ca;
    int r = pthread_condattr_init(&ca);

    if (r == 0) {
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        r = pthread_cond_init(cond, &ca);
        pthread_condattr_destroy(&ca);
    }
    return -r;
}

void p2i_clock_cond_now(struct timespec *ts)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
}
