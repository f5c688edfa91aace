/* pump: reader and writer threads.
 *
 * Pipe ends are non-blocking, so a thread tries the syscall first and sleeps
 * in p2i_fd_wait only when the pipe is empty (or full): a busy stream costs one
 * read or write per chunk, not a poll too.  Readers poll their wake
 * descriptor beside the pipe, so closing fromchild or freeing the object
 * interrupts them at once even while the child writes nothing.
 *
 * The pumps run on the pool's threads (pool.c), which have every signal
 * blocked: the caller's handlers never run on our threads, and the SIGPIPE a write to a closed pipe raises
 * stays pending on the writer thread, which consumes it (sigtimedwait with a
 * zero timeout).  The process-wide SIGPIPE disposition is never touched.
 *
 * Nobody can cancel a library thread (the caller never sees its pthread_t),
 * but each one also turns cancellation off first: its blocking calls are
 * then never cancellation points holding a ring's lock or a pipe end.
 */
#include "config.h"

#include "channel/channel.h"

#include <errno.h>
#include <limits.h>

/* A reader asks for at least this much contiguous room per read(): a ring
 * with less free space doubles instead of doing tiny reads. */
#define READ_MIN (16 * 1024)

/* After this many bytes a stream counts as bulk and its pipe is enlarged.
 * Small chatty children never spend the user's pipe-user-pages-soft quota. */
#define BULK_BYTES (1024 * 1024)

/* Tells whoever watches the channel (the event descriptor, the owner's
 * bell) that there is something new; never blocks. */
static void notify(struct channel *ch)
{
    struct wake *w = __atomic_load_n(&ch->notify, __ATOMIC_ACQUIRE);

    if (w)
        p2i_wake_signal(w);
    if (ch->bell)
        p2i_bell_ring(ch->bell);
}

static void *reader_main(void *arg)
{
    struct channel *ch = arg;
    unsigned long long moved = 0;
    bool grown = false;
    void *space;
    size_t n;
    ssize_t k;
    int err = 0, r;

    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    for (;;) {
        if (p2i_ringbuf_reserve(&ch->ring, READ_MIN, &space, &n) < 0)
            break; /* the caller closed the FILE */
        k = ch->pty ? p2i_pty_read(ch->fd, space, n)
                    : p2i_relay_read(&ch->relay, ch->fd, space, n, grown);
        if (k > 0) {
            if (p2i_ringbuf_commit(&ch->ring, (size_t)k) < 0)
                break;
            notify(ch);
            moved += (unsigned long long)k;
            if (!grown && moved >= BULK_BYTES) {
                p2i_fd_grow_pipe(ch->fd);
                grown = true;
            }
            continue;
        }
        if (k == 0)
            break; /* EOF: every writer of the pipe (or every slave) has closed it */
        if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
            err = errno;
            break;
        }
        if (errno == EINTR) {
            p2i_ringbuf_commit(&ch->ring, 0);
            continue;
        }
        /* Nothing to read: give the reservation up, so that the consumer
         * may read the pipe itself meanwhile (p2i_ringbuf_direct_begin). */
        p2i_ringbuf_commit(&ch->ring, 0);
        r = p2i_fd_wait(ch->fd, false, &ch->wake);
        if (r == -EINTR)
            continue;
        if (r < 0) {
            err = -r;
            break;
        }
        if (r == 0)
            break; /* woken: the FILE was closed */
    }
    p2i_ringbuf_close_producer(&ch->ring, err);
    notify(ch);
    /* Closing our end now gives a child still writing EPIPE, as closing a
     * Python file object does. */
    ch->fd = p2i_fd_close(ch->fd);
    p2i_relay_close(&ch->relay);
    return NULL;
}

static void *writer_main(void *arg)
{
    struct channel *ch = arg;
    unsigned long long moved = 0;
    bool grown = false;
    const void *data;
    size_t n;
    ssize_t k;
    int err = 0, r, last = '\n';

    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    for (;;) {
        p2i_ringbuf_peek(&ch->ring, &data, &n);
        if (n == 0)
            break; /* tochild closed and everything delivered */
        k = p2i_fd_write(ch->fd, data, n);
        if (k > 0) {
            last = ((const unsigned char *)data)[k - 1];
            p2i_ringbuf_consume(&ch->ring, (size_t)k);
            p2i_linger_progress(); /* an exit waiting for us sees we move */
            if (ch->bell)
                p2i_bell_ring(ch->bell); /* room for more input */
            moved += (unsigned long long)k;
            if (!grown && moved >= BULK_BYTES) {
                p2i_fd_grow_pipe(ch->fd);
                grown = true;
            }
            continue;
        }
        p2i_ringbuf_consume(&ch->ring, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* A child that exits or closes stdin makes this POLLERR, so the
             * wait ends with the child at the latest. */
            r = p2i_fd_wait(ch->fd, true, NULL);
            if (r < 0 && r != -EINTR) {
                err = -r;
                break;
            }
            continue;
        }
        err = k < 0 ? errno : EIO;
        if (err == EPIPE)
            p2i_fd_eat_sigpipe();
        break;
    }
    /* A terminal has no end of input but the one its line discipline
     * makes of VEOF (ctrl-D): closing our copy of the master would not do,
     * the object keeps another. */
    if (!err && ch->pty)
        err = -p2i_pty_send_eof(ch->fd, last);
    /* The child stopped reading: what is queued is discarded and later
     * writes to tochild fail with this errno (EPIPE), as in Python. */
    if (err)
        p2i_ringbuf_close_consumer(&ch->ring, err);
    ch->fd = p2i_fd_close(ch->fd);
    if (ch->bell)
        p2i_bell_ring(ch->bell);
    ch->ops->release(ch); /* last: it may free the channel */
    return NULL;
}

int p2i_pump_reserve(struct channel *ch)
{
    int r = p2i_pool_reserve(&ch->job);

    if (r < 0)
        return r;
    ch->thread_started = true;
    return 0;
}

void p2i_pump_go(struct channel *ch)
{
    p2i_pool_go(&ch->job, ch->which == CH_STDIN ? writer_main : reader_main, ch);
}

int p2i_pump_start(struct channel *ch)
{
    int r = p2i_pump_reserve(ch);

    if (r == 0)
        p2i_pump_go(ch);
    return r;
}
