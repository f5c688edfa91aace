/* clock: milliseconds for every timeout on Windows.  winpthreads' timed
 * condition waits count on the system time (its condition variables take
 * no other clock), so the deadlines do too; a change of the wall clock
 * meanwhile lengthens or shortens a wait under way. */
#include "config.h"

#include "sys/sys.h"

#include <pthread.h>
#include <time.h>
#include <windows.h>

long long p2i_clock_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void p2i_clock_sleep_ms(int ms)
{
    pthread_testcancel();
    Sleep(ms > 0 ? (DWORD)ms : 0);
    pthread_testcancel();
}

int p2i_clock_cond_init(pthread_cond_t *cond)
{
    return -pthread_cond_init(cond, NULL);
}

void p2i_clock_cond_now(struct timespec *ts)
{
    clock_gettime(CLOCK_REALTIME, ts);
}
