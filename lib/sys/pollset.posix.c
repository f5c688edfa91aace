/* pollset: a set of descriptors whose readiness is asked for all at once
 * (see sys.h), so the layers above ask a question and never name the
 * system's mechanism.  Here it is epoll; where the system has none every
 * call says -ENOSYS and the callers keep to what they can do without one. */
#include "config.h"

#include "sys/sys.h"

#include <errno.h>
#ifdef HAVE_SYS_EPOLL_H
#include <sys/epoll.h>
#endif

int p2i_pollset_open(void)
{
#ifdef HAVE_SYS_EPOLL_H
    int fd = epoll_create1(EPOLL_CLOEXEC);

    return fd < 0 ? -errno : p2i_fd_lift(fd);
#else
    return -ENOSYS;
#endif
}

int p2i_pollset_add(int set, int fd, void *tag)
{
#ifdef HAVE_SYS_EPOLL_H
    struct epoll_event e = {.events = EPOLLIN};

    e.data.ptr = tag;
    return epoll_ctl(set, EPOLL_CTL_ADD, fd, &e) < 0 ? -errno : 0;
#else
    (void)set;
    (void)fd;
    (void)tag;
    return -ENOSYS;
#endif
}

void p2i_pollset_del(int set, int fd)
{
#ifdef HAVE_SYS_EPOLL_H
    if (set >= 0)
        epoll_ctl(set, EPOLL_CTL_DEL, fd, NULL);
#else
    (void)set;
    (void)fd;
#endif
}

int p2i_pollset_ready(int set, void **tags, int max)
{
#ifdef HAVE_SYS_EPOLL_H
    struct epoll_event ev[64];
    int k, i;

    if (max > 64)
        max = 64;
    k = epoll_wait(set, ev, max, 0);
    if (k < 0)
        return -errno;
    for (i = 0; i < k; i++)
        tags[i] = ev[i].data.ptr;
    return k;
#else
    (void)set;
    (void)tags;
    (void)max;
    return -ENOSYS;
#endif
}
