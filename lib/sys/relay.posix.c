/* relay: a pipe of the library's own that a stream's bytes pass through on
 * their way to whoever reads the stream.
 *
 * Reading a pipe copies its bytes under the pipe's lock, and the child's
 * write() needs that lock too: a plain read() loop and its child take turns,
 * so each mebibyte costs the child's copy plus ours.  splice() from the
 * child's pipe into the relay moves the pipe's pages (references, no copy)
 * and lets go of the lock at once; our copy then comes out of the relay,
 * whose lock the child never wants, while the child already writes its
 * next mebibyte.  Capturing 1 GiB from a child writing 1 MiB at a time, on
 * the 2-CPU EPYC VM this library is measured on: 1,939-2,190 MB/s with
 * read() and 3,057-3,788 MB/s through a relay (1.47-1.85x, six pairs of
 * runs), in the same number of calls as read() (one splice and one read per
 * mebibyte instead of one read).
 *
 * Only a stream that counts as bulk gets one (the caller says so): it costs
 * two descriptors and a pipe of 1 MiB, counted against the user's
 * pipe-user-pages-soft as the enlarged stream pipe is.  Where no relay can
 * be had (no splice, a descriptor limit, a pipe quota, a seccomp filter
 * that refuses splice), reads go to the source as before; that is decided
 * once per stream and never retried.
 *
 * One reader at a time: the channel lets only the reader thread or a
 * caller's direct read at the source, and the relay goes with it. */
#include "config.h"

#include "sys/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/* Reads smaller than this (stdio refills for fgets, a line reader) take
 * what the source has directly: a relay pays only where a read moves many
 * pages. */
#define RELAY_MIN (64 * 1024)

/* A relay smaller than this (the pipe quota refused 1 MiB and 256 KiB)
 * would split each mebibyte into many splices: not worth it. */
#define RELAY_CAP_MIN (256 * 1024)

void p2i_relay_init(struct relay *r)
{
    r->rfd = r->wfd = -1;
    r->held = 0;
    r->off = false;
    r->armed = false;
}

void p2i_relay_close(struct relay *r)
{
    r->rfd = p2i_fd_close(r->rfd);
    r->wfd = p2i_fd_close(r->wfd);
    r->held = 0;
}

#if defined(HAVE_SPLICE) && defined(HAVE_DECL_F_GETPIPE_SZ) && HAVE_DECL_F_GETPIPE_SZ
/* Makes the relay; false (and off for good) when it cannot be had. */
static bool relay_make(struct relay *r)
{
    int fds[2];

    if (p2i_fd_pipe(fds) < 0)
        goto off;
    r->rfd = fds[0];
    r->wfd = fds[1];
    if (p2i_fd_set_nonblock(r->rfd) < 0 || p2i_fd_set_nonblock(r->wfd) < 0)
        goto off;
    p2i_fd_grow_pipe(r->wfd);
    if (fcntl(r->wfd, F_GETPIPE_SZ) < RELAY_CAP_MIN)
        goto off;
    return true;
off:
    p2i_relay_close(r);
    r->off = true;
    return false;
}

ssize_t p2i_relay_read(struct relay *r, int fd, void *buf, size_t n, bool bulk)
{
    ssize_t k, m;
    int saved;

    if (r->held) {
        /* Bytes moved earlier come before anything still in the source. */
        m = p2i_fd_read(r->rfd, buf, n); /* the relay holds nothing else */
        if (m > 0)
            r->held -= (size_t)m;
        return m;
    }
    if (r->off || n < RELAY_MIN || (r->rfd < 0 && !bulk))
        return p2i_fd_read(fd, buf, n);
    if (r->rfd < 0 && !r->armed) {
        /* A stream may turn bulk on its last bytes: its next read sees
         * EOF, and a relay made for it (a pipe, four fcntl calls) would go
         * unused.  So the first bulk read goes to the source, and a relay
         * is made once that found more to come. */
        k = p2i_fd_read(fd, buf, n);
        r->armed = k > 0;
        return k;
    }
    if (r->rfd < 0 && !relay_make(r))
        return p2i_fd_read(fd, buf, n);
    /* No more than the read out of the relay will take at once: what it
     * left would cost a second read, and a short one, per block. */
    k = splice(fd, NULL, r->wfd, NULL, p2i_fd_read_size(buf, n),
               SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (k < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return -1; /* the source is empty (or a signal came): as read() says */
        /* Refused (a seccomp filter's EPERM or ENOSYS, EINVAL where the
         * source cannot be spliced): no relay for this stream. */
        saved = errno;
        p2i_relay_close(r);
        r->off = true;
        errno = saved;
        return p2i_fd_read(fd, buf, n);
    }
    if (k == 0)
        return 0; /* EOF, and the relay is empty */
    r->held = (size_t)k;
    /* The bytes are in the relay, so this read cannot find it empty; should
     * it fail anyway, they stay held for the next call. */
    m = p2i_fd_read(r->rfd, buf, n);
    if (m > 0)
        r->held -= (size_t)m;
    return m;
}
#else
ssize_t p2i_relay_read(struct relay *r, int fd, void *buf, size_t n, bool bulk)
{
    (void)r;
    (void)bulk;
    return p2i_fd_read(fd, buf, n);
}
#endif
