/* pty: pseudo-terminals, which the Windows build does not offer:
 * POPEN2_PTY and the popen2_pty_* calls fail with ENOSYS there, as the
 * header says (a console is not a terminal's master and slave). */
#include "config.h"

#include "sys/sys.h"

bool p2i_pty_supported(void)
{
    return false;
}

int p2i_pty_open(struct p2i_pty *t, unsigned short rows, unsigned short cols, int flags)
{
    (void)rows, (void)cols, (void)flags;
    t->master = t->slave = -1;
    return -ENOSYS;
}

int p2i_pty_resize(int master, unsigned short rows, unsigned short cols)
{
    (void)master, (void)rows, (void)cols;
    return -ENOSYS;
}

ssize_t p2i_pty_read(int master, void *buf, size_t n)
{
    (void)master, (void)buf, (void)n;
    errno = ENOSYS;
    return -1;
}

int p2i_pty_send_eof(int master, int last)
{
    (void)master, (void)last;
    return -ENOSYS;
}

void p2i_pty_close(struct p2i_pty *t)
{
    t->master = p2i_fd_close(t->master);
    t->slave = p2i_fd_close(t->slave);
}
