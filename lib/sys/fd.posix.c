/* fd: descriptor helpers (see sys.h): close-on-exec pipes numbered 3 and
 * up, pipe sizing. */
#include "config.h"

#include "sys/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Pipe capacity we ask for: measured here, 1 MiB pipes move about 2.9x the bytes
 * of 64 KiB ones when the two ends run on different CPUs. */
#define PIPE_WANT (1 << 20)

int p2i_fd_close(int fd)
{
    int saved = errno;

    if (fd >= 0)
        close(fd);
    errno = saved;
    return -1;
}

/* Moves a descriptor below 3 up, keeping it close-on-exec.  A parent that
 * closed its own stdin would otherwise get 0 back from pipe2. */
static int lift(int *fd)
{
    int nfd;

    if (*fd > 2)
        return 0;
    nfd = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
    if (nfd < 0)
        return -errno;
    p2i_fd_close(*fd);
    *fd = nfd;
    return 0;
}

int p2i_fd_pipe(int fds[2])
{
    int r;

#ifdef HAVE_PIPE2
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
#else
    /* Without pipe2 another thread's fork+exec may see these for an
     * instant; the library itself spawns only with posix_spawn and closes
     * every descriptor above 2 in the child. */
    if (pipe(fds) < 0)
        return -errno;
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
#endif
    r = lift(&fds[0]);
    if (r == 0)
        r = lift(&fds[1]);
    if (r < 0) {
        fds[0] = p2i_fd_close(fds[0]);
        fds[1] = p2i_fd_close(fds[1]);
    }
    return r;
}

int p2i_fd_set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    return 0;
}

void p2i_fd_grow_pipe(int fd)
{
#if defined(HAVE_DECL_F_SETPIPE_SZ) && HAVE_DECL_F_SETPIPE_SZ
    int saved = errno;

    /* Past /proc/sys/fs/pipe-max-size the kernel says EINVAL/EPERM; try the
     * default maximum's quarter before giving up. */
    if (fcntl(fd, F_SETPIPE_SZ, PIPE_WANT) < 0)
        (void)fcntl(fd, F_SETPIPE_SZ, PIPE_WANT / 4);
    errno = saved;
#else
    (void)fd;
#endif
}


int p2i_fd_lift(int fd)
{
    int nfd = fd, r;

    if (fd < 0)
        return -EBADF;
    r = lift(&nfd);
    if (r < 0) {
        p2i_fd_close(fd);
        return r;
    }
    return nfd;
}

/* Bulk reads land on a 64-byte boundary.  Linux copies a pipe's bytes out
 * with `rep movsb` on x86 CPUs with fast short string moves, and on AMD's
 * Zen 3 (the EPYC VM this library is measured on) that copy runs at about
 * 2 GB/s instead of 12 when the destination sits 4 to 28 bytes past the
 * source's 64-byte phase; a bulk writer's bytes start on a page in the pipe,
 * and malloc(1 MiB) hands out a page + 16, so the common case is the slow
 * one.  Such a read goes to the buffer's next 64-byte boundary instead, in
 * whole 4 KiB pages so that the next one starts on a page of the pipe
 * too, and a memmove (in cache, never slow) puts the bytes at buf.
 * Capturing 1 GiB into a buffer at a page + 16 ran at 890-999 MB/s with
 * plain reads and at 2,052-2,183 MB/s so, as into an aligned buffer
 * (2,063-2,105); the memmove cost nothing measurable there.  Small reads
 * (lines, a wake descriptor's counter) are left alone. */
#if defined(__x86_64__) || defined(__i386__)
#define ALIGN_READ_MIN (64 * 1024)
#else
#define ALIGN_READ_MIN SIZE_MAX /* no such copy known elsewhere: plain reads */
#endif
#define READ_ALIGN 64
#define READ_GRAIN 4096

/* How far past buf a landing read puts its bytes: 0 for a plain read. */
static size_t landing(const void *buf, size_t n)
{
    return n < ALIGN_READ_MIN ? 0 : (size_t)(-(uintptr_t)buf & (READ_ALIGN - 1));
}

/* What a read that lands pad bytes past buf asks for: whole pages of what fits. */
static size_t landing_size(size_t pad, size_t n)
{
    return pad ? (n - pad) & ~(size_t)(READ_GRAIN - 1) : n;
}

size_t p2i_fd_read_size(const void *buf, size_t n)
{
    return landing_size(landing(buf, n), n);
}

ssize_t p2i_fd_read(int fd, void *buf, size_t n)
{
    size_t pad = landing(buf, n);
    ssize_t k;

    if (pad == 0)
        return read(fd, buf, n);
    k = read(fd, (char *)buf + pad, landing_size(pad, n));
    if (k > 0)
        memmove(buf, (char *)buf + pad, (size_t)k);
    return k;
}

ssize_t p2i_fd_write(int fd, const void *buf, size_t n)
{
    return write(fd, buf, n);
}

/* A thread cancelled in this poll() leaves the frame by the longjmp of
 * pthread_cleanup_push, so the frame's redzones stay poisoned below the
 * stack pointer; gcc 12's ASan then checks its own sigaltstack() call in the
 * unwinding against them and reports a stack-buffer-underflow that is not
 * there.  The frame carries no redzones: pfd is its only object, and poll()
 * is handed its exact size. */
__attribute__((no_sanitize_address)) int p2i_fd_wait(int fd, bool out, struct wake *w)
{
    struct pollfd pfd[2] = {
        {.fd = fd, .events = out ? POLLOUT : POLLIN},
        {.fd = w ? w->rfd : -1, .events = POLLIN},
    };

    /* EINTR (glibc's setuid, say, signals every thread) leaves revents
     * unset: the caller looks again. */
    if (poll(pfd, w ? 2 : 1, -1) < 0)
        return -errno;
    return pfd[1].revents ? 0 : 1;
}

void p2i_fd_eat_sigpipe(void)
{
    static const struct timespec zero = {0, 0};
    sigset_t pipe_only, pending;

    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
        while (sigtimedwait(&pipe_only, NULL, &zero) < 0 && errno == EINTR)
            ;
}

int p2i_fd_dup(int fd)
{
    int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);

    return dup < 0 ? -errno : dup;
}
