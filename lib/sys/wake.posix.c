/* wake: a way to interrupt a thread blocked in poll() (see sys.h): an
 * eventfd where the system has one, else a pipe.  Signalling one is
 * async-signal-safe, so a signal handler or a forked child may do it. */
#include "config.h"

#include "sys/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>
#ifdef HAVE_SYS_EVENTFD_H
#include <sys/eventfd.h>
#endif

int p2i_wake_open(struct wake *w)
{
#if defined(HAVE_SYS_EVENTFD_H) && defined(HAVE_EVENTFD)
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

    if (fd < 0)
        return -errno;
    if (fd <= 2) {
        int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        p2i_fd_close(fd);
        if (nfd < 0)
            return -errno;
        fd = nfd;
    }
    w->rfd = w->wfd = fd;
    return 0;
#else
    int fds[2], r = p2i_fd_pipe(fds);

    if (r < 0)
        return r;
    p2i_fd_set_nonblock(fds[0]);
    p2i_fd_set_nonblock(fds[1]);
    w->rfd = fds[0];
    w->wfd = fds[1];
    return 0;
#endif
}

void p2i_wake_signal(struct wake *w)
{
    int saved = errno;

#if defined(HAVE_SYS_EVENTFD_H) && defined(HAVE_EVENTFD)
    uint64_t one = 1;
    ssize_t r = write(w->wfd, &one, sizeof one);
#else
    char one = 1;
    ssize_t r = write(w->wfd, &one, 1);
#endif
    /* EAGAIN means it is readable already, which is all we want. */
    (void)r;
    errno = saved;
}

void p2i_wake_clear(struct wake *w)
{
    uint64_t junk;
    int saved = errno;

    /* An eventfd empties in one read, the pipe fallback may need more. */
    while (read(w->rfd, &junk, sizeof junk) > 0)
        ;
    errno = saved;
}

void p2i_wake_close(struct wake *w)
{
    if (w->wfd != w->rfd)
        p2i_fd_close(w->wfd);
    p2i_fd_close(w->rfd);
    w->rfd = w->wfd = -1;
}

bool p2i_wake_pollable(void)
{
    return true;
}
