/* events: the event descriptor.
 *
 * A pollset (sys.h) holding two things: a wake-up descriptor that the reader
 * threads signal whenever they buffer bytes or reach the end of their stream
 * (each output channel's `notify` points at it), and the child's pidfd,
 * readable once the child has exited.  So one descriptor, pollable by any
 * event loop, covers the three events a GUI program waits for, with no
 * thread of its own.
 *
 * The wake-up is made level-triggered by "clear, then look again": every
 * popen2_read empties it and then signals it again if any stream still has
 * something to return (bytes, or an end not yet reported).  A reader thread
 * signals after its commit, so a byte buffered after the look signals after
 * the clear: no wake-up is lost.  The pidfd leaves the set as soon as the
 * child is known gone, reaped by us or elsewhere (child.c takes it out),
 * since it would stay readable for good.
 *
 * Locking: events is created under proc->mu; the channels' notify pointers
 * are published with a release store after it is complete.  It is freed only
 * when the object is destroyed, after the readers were joined.
 */
#include "config.h"

#include "core/core.h"

#include <errno.h>
#include <stdlib.h>

struct events {
    int epfd;         /* what popen2_event_fd returns (the wake-up without a pollset) */
    struct wake wake; /* signalled by reader threads */
};

void p2i_events_destroy(struct popen2_proc *p)
{
    struct events *ev = p->events;

    if (!ev)
        return;
    if (ev->epfd != ev->wake.rfd)
        p2i_fd_close(ev->epfd);
    p2i_wake_close(&ev->wake);
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
    return !reported && p2i_ringlimit_readable(&ch->ring);
}

static struct events *events_get(struct popen2_proc *p)
{
    struct events *ev;

    pthread_mutex_lock(&p->mu);
    ev = p->events;
    pthread_mutex_unlock(&p->mu);
    return ev;
}

void p2i_events_rearm(struct popen2_proc *p)
{
    struct events *ev = events_get(p);

    if (!ev)
        return;
    p2i_wake_clear(&ev->wake);
    if (stream_pending(p, CH_STDOUT) || stream_pending(p, CH_STDERR))
        p2i_wake_signal(&ev->wake);
}

/* Builds the set; proc->mu held.  0 or -errno (nothing left behind). */
static int events_make_locked(struct popen2_proc *p)
{
    struct events *ev = calloc(1, sizeof *ev);
    int r, i;

    if (!ev)
        return -ENOMEM;
    if (!p2i_wake_pollable()) {
        free(ev);
        return -ENOSYS; /* nothing the caller could poll */
    }
    ev->epfd = -1;
    r = p2i_wake_open(&ev->wake);
    if (r < 0) {
        free(ev);
        return r;
    }
    ev->epfd = p2i_pollset_open();
    if (ev->epfd == -ENOSYS) {
        /* No pollset here: the streams' events only; the caller polls for
         * the exit. */
        ev->epfd = ev->wake.rfd;
    } else {
        r = ev->epfd < 0 ? ev->epfd : p2i_pollset_add(ev->epfd, ev->wake.rfd, NULL);
        /* 1: nothing to watch (no pidfd, or the child is gone already). */
        if (r == 0)
            r = p2i_child_watch(&p->child, ev->epfd);
        if (r < 0) {
            p2i_fd_close(ev->epfd);
            p2i_wake_close(&ev->wake);
            free(ev);
            return r;
        }
    }
    p->events = ev;
    for (i = CH_STDOUT; i < CH_COUNT; i++)
        if (p->ch[i].used)
            __atomic_store_n(&p->ch[i].notify, &ev->wake, __ATOMIC_RELEASE);
    return 0;
}

static int events_get_or_make(struct popen2_proc *p, struct events **out)
{
    int r = 0;

    pthread_mutex_lock(&p->mu);
    if (!p->events)
        r = events_make_locked(p);
    *out = p->events;
    pthread_mutex_unlock(&p->mu);
    if (r == 0)
        p2i_events_rearm(p); /* bytes buffered before the set existed count too */
    return r;
}

int p2i_events_fd(struct popen2_proc *p)
{
    struct events *ev;
    int r = events_get_or_make(p, &ev);

    return r < 0 ? r : ev->epfd;
}

