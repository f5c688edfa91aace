/* wake: a wake-up on Windows (see sys.h) is a pipe of its own, readable
 * once signalled, which p2i_fd_wait looks at beside the stream's pipe. */
#include "config.h"

#include "sys/sys.h"

#include <errno.h>
#include <io.h>
#include <windows.h>

int p2i_wake_open(struct wake *w)
{
    int fds[2];
    int r = p2i_fd_pipe(fds);

    if (r < 0)
        return r;
    w->rfd = fds[0];
    w->wfd = fds[1];
    return 0;
}

void p2i_wake_signal(struct wake *w)
{
    int saved = errno;
    HANDLE h = (HANDLE)_get_osfhandle(w->rfd);
    DWORD avail = 0, put;
    char one = 1;

    /* One byte is enough: a full pipe would block the one who signals. */
    if (h != INVALID_HANDLE_VALUE && PeekNamedPipe(h, NULL, 0, NULL, &avail, NULL) && avail == 0)
        WriteFile((HANDLE)_get_osfhandle(w->wfd), &one, 1, &put, NULL);
    errno = saved;
}

void p2i_wake_clear(struct wake *w)
{
    char junk[64];
    int saved = errno;

    while (p2i_fd_read(w->rfd, junk, sizeof junk) > 0)
        ;
    errno = saved;
}

void p2i_wake_close(struct wake *w)
{
    p2i_fd_close(w->wfd);
    p2i_fd_close(w->rfd);
    w->rfd = w->wfd = -1;
}

bool p2i_wake_pollable(void)
{
    return false;
}
