/* pty: the pseudo-terminal behind POPEN2_PTY streams.
 *
 * The parent opens both sides: the master it keeps, and the slave with
 * O_NOCTTY (the parent must never get a controlling terminal from it),
 * which the spawn hands to the child's streams.  The parent closes its
 * slave right after the spawn: the kernel reports the hang-up (read gives
 * EIO) only once every slave descriptor is closed, so a copy kept here would
 * keep the readers from ever seeing the child's end.
 *
 * Reading the master: Linux returns the bytes still buffered first and EIO
 * after them, once the last slave is closed; EIO is therefore the end of
 * the stream, as EOF is on a pipe (p2i_pty_read).
 *
 * Size and mode are set before the spawn, so the child's first ioctl sees
 * them: TIOCSWINSZ on the master, termios on the slave (cfmakeraw for
 * POPEN2_PTY_RAW, ECHO cleared for POPEN2_PTY_NOECHO).
 */
#include "config.h"

#include "popen2.h"
#include "sys/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

/* Every POSIX system this builds on has them (Linux, the BSDs, macOS);
 * the Windows build has its own file, where the calls say ENOSYS. */
#if !defined(TIOCSWINSZ) || !defined(TIOCGWINSZ)
#error "POPEN2_PTY needs the terminal size ioctls TIOCSWINSZ and TIOCGWINSZ"
#endif
bool p2i_pty_supported(void)
{
    return true;
}

static int set_mode(int slave, int flags)
{
    struct termios t;

    if (!(flags & (POPEN2_PTY_RAW | POPEN2_PTY_NOECHO)))
        return 0;
    if (tcgetattr(slave, &t) < 0)
        return -errno;
    if (flags & POPEN2_PTY_RAW)
        cfmakeraw(&t);
    if (flags & POPEN2_PTY_NOECHO)
        t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
    return tcsetattr(slave, TCSANOW, &t) < 0 ? -errno : 0;
}

int p2i_pty_open(struct p2i_pty *t, unsigned short rows, unsigned short cols, int flags)
{
    int r;

    t->master = t->slave = -1;
    r = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (r < 0)
        return -errno;
    t->master = p2i_fd_lift(r);
    if (t->master < 0) {
        r = t->master;
        goto fail;
    }
    if (grantpt(t->master) < 0 || unlockpt(t->master) < 0) {
        r = -errno;
        goto fail;
    }
    r = -ptsname_r(t->master, t->path, sizeof t->path);
    if (r < 0)
        goto fail;
    r = open(t->path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (r < 0) {
        r = -errno;
        goto fail;
    }
    t->slave = p2i_fd_lift(r);
    if (t->slave < 0) {
        r = t->slave;
        goto fail;
    }
    r = p2i_pty_resize(t->master, rows, cols);
    if (r == 0)
        r = set_mode(t->slave, flags);
    if (r < 0)
        goto fail;
    return 0;
fail:
    p2i_pty_close(t);
    return r;
}

int p2i_pty_resize(int master, unsigned short rows, unsigned short cols)
{
    struct winsize ws;

    memset(&ws, 0, sizeof ws);
    ws.ws_row = rows;
    ws.ws_col = cols;
    /* The kernel sends SIGWINCH to the terminal's foreground group when the
     * size changes. */
    return ioctl(master, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

ssize_t p2i_pty_read(int master, void *buf, size_t n)
{
    ssize_t k = read(master, buf, n);

    if (k < 0 && errno == EIO)
        return 0; /* hung up: every slave is closed and the bytes are read */
    return k;
}

/* Writes all n bytes to the non-blocking master, waiting while its input
 * queue is full; 0 or -errno. */
static int write_all(int fd, const unsigned char *b, size_t n)
{
    struct pollfd pfd = {.fd = fd, .events = POLLOUT};
    ssize_t k;

    while (n) {
        k = write(fd, b, n);
        if (k > 0) {
            b += k;
            n -= (size_t)k;
            continue;
        }
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
                return -errno;
            continue;
        }
        return k < 0 ? -errno : -EIO;
    }
    return 0;
}

int p2i_pty_send_eof(int master, int last)
{
    unsigned char eof[2];
    struct termios t;

    /* The line discipline's own settings decide: a raw (non-canonical)
     * terminal has no end-of-file character, and one turned off
     * (_POSIX_VDISABLE) means the same. */
    if (tcgetattr(master, &t) < 0)
        return -errno;
    if (!(t.c_lflag & ICANON) || t.c_cc[VEOF] == _POSIX_VDISABLE)
        return 0;
    /* VEOF hands a pending partial line over as it is; only a VEOF at the
     * start of a line makes the reader's read() return 0. */
    eof[0] = eof[1] = t.c_cc[VEOF];
    return write_all(master, eof, last == '\n' ? 1 : 2);
}

void p2i_pty_close(struct p2i_pty *t)
{
    t->master = p2i_fd_close(t->master);
    t->slave = p2i_fd_close(t->slave);
}
