/* clock: deadlines on the platform's clock (p2i_clock_now_ms in
 * clock.posix.c or clock.windows.c), the same everywhere. */
#include "config.h"

#include "sys/sys.h"

#include <limits.h>

long long p2i_clock_deadline(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : p2i_clock_now_ms() + timeout_ms;
}

int p2i_clock_ms_left(long long deadline)
{
    long long left;

    if (deadline < 0)
        return -1;
    left = deadline - p2i_clock_now_ms();
    if (left <= 0)
        return 0;
    return left > INT_MAX ? INT_MAX : (int)left;
}
