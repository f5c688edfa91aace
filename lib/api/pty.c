/* pty: the terminal of POPEN2_PTY streams, seen from the object: its size
 * and its parent side.  The object made and owns it (core/proc.c); the
 * system calls are in sys/pty.posix.c. */
#include "config.h"

#include "api/api.h"

#include <errno.h>

int popen2_pty_resize(popen2_proc *p, unsigned short rows, unsigned short cols)
{
    int r;

    if (!p || !rows || !cols)
        return p2i_fail(-EINVAL);
    if (p2i_api_inherited(p))
        return -1;
    if (p->pty.master < 0)
        return p2i_fail(-EBADF);
    r = p2i_pty_resize(p->pty.master, rows, cols);
    return r < 0 ? p2i_fail(r) : 0;
}

int popen2_pty_fd(popen2_proc *p)
{
    if (!p)
        return p2i_fail(-EINVAL);
    if (p2i_api_inherited(p))
        return -1;
    if (p->pty.master < 0)
        return p2i_fail(-EBADF);
    return p->pty.master;
}
