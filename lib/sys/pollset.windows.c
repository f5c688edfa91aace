/* pollset: Windows has no set of pipes and processes that is itself a
 * descriptor, so there is no event descriptor (popen2_event_fd says
 * ENOSYS) and the active list reaps by looking at each child. */
#include "config.h"

#include "sys/sys.h"

int p2i_pollset_open(void)
{
    return -ENOSYS;
}

int p2i_pollset_add(int set, int fd, void *tag)
{
    (void)set;
    (void)fd;
    (void)tag;
    return -ENOSYS;
}

void p2i_pollset_del(int set, int fd)
{
    (void)set;
    (void)fd;
}

int p2i_pollset_ready(int set, void **tags, int max)
{
    (void)set;
    (void)tags;
    (void)max;
    return -ENOSYS;
}
