/* event: popen2_event_fd, popen2_read and the per-stream queries.
 *
 * The event descriptor is an epoll set holding two things: an eventfd that
 * the reader threads signal whenever they buffer bytes or reach the end of
 * their stream, and the child's pidfd, readable once the child has exited.
 * So one descriptor, pollable by any event loop, covers the three events a
 * GUI program waits for, with no thread of its own.
 *
 * The eventfd is made level-triggered by "clear, then look again": every
 * popen2_read empties the eventfd and then signals it again if any stream
 * still has something to return (bytes, or an end not yet reported).  A
 * reader thread signals after its commit, so a byte buffered after the look
 * signals after the clear: no wake-up is lost.  The pidfd leaves the set
 * when the child is reaped, since it stays readable for good.
 *
 * Locking: events is created under proc->mu and published with a release
 * store; reader threads (which never take proc->mu) read it with an acquire
 * load.  It is freed only in proc_destroy, after the readers were joined.
 */
#include "config.h"

#include "extras.h"
#include "proc.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#ifdef HAVE_SYS_EPOLL_H
#include <sys/epoll.h>
#endif

struct events {
    int epfd;           /* what popen2_event_fd returns (the eventfd without epoll) */
    struct wake wake;   /* signalled by reader threads */
    bool child_watched; /* the pidfd is in the epoll set */
};

static struct events *events_get(struct popen2_proc *p)
{
    return __atomic_load_n(&p->events, __ATOMIC_ACQUIRE);
}

void event_notify(struct popen2_proc *p)
{
    struct events *ev = events_get(p);

    if (ev)
        wake_signal(&ev->wake);
}

void event_reaped_locked(struct popen2_proc *p)
{
#ifdef HAVE_SYS_EPOLL_H
    struct events *ev = p->events;

    if (ev && ev->child_watched) {
        epoll_ctl(ev->epfd, EPOLL_CTL_DEL, p->pidfd, NULL);
        ev->child_watched = false;
    }
#else
    (void)p;
#endif
}

void event_destroy(struct popen2_proc *p)
{
    struct events *ev = p->events;

    if (!ev)
        return;
    if (ev->epfd != ev->wake.rfd)
        fd_close(ev->epfd);
    wake_close(&ev->wake);
    free(ev);
    p->events = NULL;
}

/* A stream popen2_read would not answer EAGAIN for, and whose end the caller
 * has not yet seen. */
static bool stream_pending(struct popen2_proc *p, int which)
{
    struct channel *ch = &p->ch[which];
    bool reported;

    if (!ch->used)
        return false;
    pthread_mutex_lock(&p->mu);
    reported = ch->end_reported || !ch->file;
    pthread_mutex_unlock(&p->mu);
    return !reported && ringbuf_readable(&ch->ring);
}

/* Clear, then look again (see the top of the file). */
static void rearm(struct popen2_proc *p)
{
    struct events *ev = events_get(p);
    uint64_t junk;

    if (!ev)
        return;
    while (read(ev->wake.rfd, &junk, sizeof junk) > 0)
        ; /* an eventfd empties in one read, a pipe fallback may need more */
    if (stream_pending(p, CH_STDOUT) || stream_pending(p, CH_STDERR))
        wake_signal(&ev->wake);
}

int popen2_event_fd(popen2_proc *p)
{
    struct events *ev;
    int r = 0, fd;

    if (!p) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&p->mu);
    if (p->events) {
        fd = p->events->epfd;
        pthread_mutex_unlock(&p->mu);
        return fd;
    }
    ev = calloc(1, sizeof *ev);
    if (!ev) {
        r = -ENOMEM;
        goto finish;
    }
    ev->epfd = -1;
    r = wake_open(&ev->wake);
    if (r < 0) {
        free(ev);
        ev = NULL;
        goto finish;
    }
#ifdef HAVE_SYS_EPOLL_H
    {
        struct epoll_event e = {.events = EPOLLIN};

        fd = epoll_create1(EPOLL_CLOEXEC);
        ev->epfd = fd < 0 ? -errno : fd_lift(fd);
        if (ev->epfd < 0) {
            r = ev->epfd;
            goto undo;
        }
        e.data.fd = ev->wake.rfd;
        if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, ev->wake.rfd, &e) < 0) {
            r = -errno;
            goto undo;
        }
        if (kill_pidfd_locked(p) >= 0 && !p->reaped) {
            e.data.fd = p->pidfd;
            if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, p->pidfd, &e) < 0) {
                r = -errno;
                goto undo;
            }
            ev->child_watched = true;
        }
    }
#else
    /* No epoll: the streams' events only; the caller polls for the exit. */
    ev->epfd = ev->wake.rfd;
#endif
    __atomic_store_n(&p->events, ev, __ATOMIC_RELEASE);
    goto finish;
#ifdef HAVE_SYS_EPOLL_H
undo:
    fd_close(ev->epfd);
    wake_close(&ev->wake);
    free(ev);
    ev = NULL;
#endif
finish:
    pthread_mutex_unlock(&p->mu);
    if (r < 0) {
        errno = -r;
        return -1;
    }
    /* Bytes buffered before the descriptor existed count too. */
    rearm(p);
    return ev->epfd;
}

int event_stream_fd(struct popen2_proc *p)
{
    struct events *ev = events_get(p);

    if (!ev && popen2_event_fd(p) < 0)
        return -errno;
    return events_get(p)->wake.rfd;
}

/* The channel of output stream `stream`, or NULL with errno. */
static struct channel *output(popen2_proc *p, int stream, bool need_open)
{
    struct channel *ch;
    bool ok;

    if (!p || (stream != CH_STDOUT && stream != CH_STDERR)) {
        errno = EINVAL;
        return NULL;
    }
    ch = &p->ch[stream];
    pthread_mutex_lock(&p->mu);
    ok = ch->used && (ch->file || !need_open);
    pthread_mutex_unlock(&p->mu);
    if (!ok) {
        errno = EBADF;
        return NULL;
    }
    return ch;
}

ssize_t popen2_read(popen2_proc *p, int stream, void *buf, size_t n)
{
    struct channel *ch = output(p, stream, true);
    ssize_t r;

    if (!ch)
        return -1;
    if (!buf) {
        errno = EINVAL;
        return -1;
    }
    if (n == 0)
        return 0;
    if (n > SSIZE_MAX)
        n = SSIZE_MAX;
    r = ringbuf_read(&ch->ring, buf, n, false);
    if (r == 0 || (r < 0 && r != -EAGAIN)) {
        pthread_mutex_lock(&p->mu);
        ch->end_reported = true;
        pthread_mutex_unlock(&p->mu);
    }
    rearm(p);
    if (r < 0) {
        errno = (int)-r;
        return -1;
    }
    return r;
}

ssize_t popen2_stream_available(popen2_proc *p, int stream)
{
    struct channel *ch = output(p, stream, true);
    unsigned long long n;

    if (!ch)
        return -1;
    n = ringbuf_available(&ch->ring);
    return n > SSIZE_MAX ? SSIZE_MAX : (ssize_t)n;
}

int popen2_stream_stats(popen2_proc *p, int stream, struct popen2_stream_stats *st)
{
    struct channel *ch = output(p, stream, false);

    if (!ch)
        return -1;
    if (!st) {
        errno = EINVAL;
        return -1;
    }
    ringbuf_stats(&ch->ring, st);
    return 0;
}
