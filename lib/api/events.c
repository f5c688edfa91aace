/* events: the event descriptor, for a caller's own event loop.
 *
 * The descriptor itself (an epoll set of the readers' wake-up and the
 * child's pidfd) is made and owned by the object (core/events.c); this is
 * its public face. */
#include "config.h"

#include "api/api.h"

#include <errno.h>

int popen2_event_fd(popen2_proc *p)
{
    int r;

    if (!p)
        return p2i_fail(-EINVAL);
    if (p2i_api_inherited(p))
        return -1;
    r = p2i_events_fd(p);
    return r < 0 ? p2i_fail(r) : r;
}
