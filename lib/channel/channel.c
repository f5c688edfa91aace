/* channel: a stream's constructor and destructor.
 *
 * A piped stream is made in the order that lets a failure undo it alone:
 * the pipe, the wake-up, the ring and its limit, the reader's thread, and
 * the FILE last.  Once the FILE exists, closing it is the caller's business
 * and tells the owner (ops->file_closed), so nothing may fail after it; the
 * reader started before it is stopped by the channel itself.  The reader's
 * thread is only reserved here and woken by p2i_channel_start, which cannot
 * fail, after the spawn.
 *
 * Files and /dev/null are opened here, in the parent, at the spawn: their
 * errors come back from the call that spawns, not as an exit status, and
 * the child runs no code of ours between clone and exec.
 */
#include "config.h"

#include "channel/channel.h"
#include "popen2.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

/* First ring sizes: an output ring that keeps up stays this small; the input
 * ring only holds what the caller wrote ahead of the child.  Both are
 * allocated at the first byte, and a ring rewinds when empty, so a quiet
 * stream only ever touches its first pages.  The input ring matches the
 * output one so that 1 MiB fwrites settle in a ring of a few MiB instead of
 * crossing the shrink threshold (ringbuf.c) at every pause. */
#define OUT_RING_MIN (64 * 1024)
#define IN_RING_MIN (64 * 1024)

/* The child's end of a stream that is not piped. */
static int open_child_end(struct channel *ch, const struct stream_plan *plan)
{
    int fd;

    switch (plan->how) {
    case POPEN2_DEVNULL:
        fd = open(P2I_DEVNULL, (ch->which == CH_STDIN ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
        break;
    case STREAM_FILE:
        fd = open(plan->path, plan->flags | O_CLOEXEC, plan->mode);
        break;
    case STREAM_FD:
        ch->child_fd = plan->fd;
        return 0;
    default: /* POPEN2_INHERIT, POPEN2_MERGE */
        return 0;
    }
    if (fd < 0)
        return -errno;
    /* 3 or above, so the child's dup2s cannot clobber each other. */
    fd = p2i_fd_lift(fd);
    if (fd < 0)
        return fd;
    ch->child_fd = fd;
    ch->child_fd_owned = true;
    return 0;
}

/* A reader started for a channel whose FILE could not be made: nobody
 * will close the FILE to end it, so the channel does, and leaves no thread. */
static void stop_reader(struct channel *ch)
{
    p2i_channel_start(ch); /* a reserved job is joined only once it runs */
    p2i_ringbuf_close_consumer(&ch->ring, 0);
    p2i_wake_signal(&ch->wake);
    p2i_pool_join_retire(&ch->job);
}

/* The parent's end: a pipe whose other end is the child's, or a copy of
 * the terminal's master (each channel on the terminal closes its own copy,
 * so the end of one stream never closes the master under another). */
static int open_end(struct channel *ch, const struct stream_plan *plan)
{
    bool input = ch->which == CH_STDIN;
    int fds[2], r;

    if (plan->how == POPEN2_PTY) {
        ch->fd = p2i_fd_dup(plan->fd);
        if (ch->fd < 0)
            return ch->fd;
        ch->used = true;
        ch->pty = true;
        return 0;
    }
    r = p2i_fd_pipe(fds);
    if (r < 0)
        return r;
    ch->used = true;
    /* The parent keeps the write end of stdin and the read end of the
     * outputs; the other end is the child's until the spawn is done. */
    ch->fd = input ? fds[1] : fds[0];
    ch->child_fd = input ? fds[0] : fds[1];
    ch->child_fd_owned = true;
    return 0;
}

static int open_pipe(struct channel *ch, const struct stream_plan *plan)
{
    bool input = ch->which == CH_STDIN;
    int r;

    r = open_end(ch, plan);
    if (r < 0)
        return r;
    r = p2i_fd_set_nonblock(ch->fd);
    if (r == 0 && !input)
        r = p2i_wake_open(&ch->wake);
    if (r == 0)
        r = p2i_ringmem_init(&ch->ring, input ? IN_RING_MIN : OUT_RING_MIN);
    if (r < 0)
        return r;
    ch->ring_ready = true;
    if (plan->limit.max) {
        r = p2i_ringlimit_set(&ch->ring, plan->limit);
        if (r < 0)
            return r;
    }
    /* The writer thread starts with the first byte written to tochild
     * (stream.c): a child whose stdin is never written, the common case,
     * costs one thread less to create and to end. */
    if (!input) {
        r = p2i_pump_reserve(ch);
        if (r < 0)
            return r;
        ch->pump_waiting = true;
    }
    ch->text = plan->text;
    if (!p2i_stream_open(ch, plan->bufsize)) {
        r = -errno;
        if (!input)
            stop_reader(ch);
        return r;
    }
    return 0;
}

int p2i_channel_open(struct channel *ch, int which, const struct stream_plan *plan,
                     const struct channel_ops *ops, void *owner, struct p2i_bell *bell)
{
    int r;

    ch->ops = ops;
    ch->owner = owner;
    ch->bell = bell;
    ch->which = which;
    ch->fd = ch->child_fd = -1;
    p2i_relay_init(&ch->relay);
    ch->wake.rfd = ch->wake.wfd = -1;
    ch->open = true;
    r = plan->how == POPEN2_PIPE || plan->how == POPEN2_PTY ? open_pipe(ch, plan)
                                                            : open_child_end(ch, plan);
    if (r < 0)
        p2i_channel_close(ch);
    return r;
}

void p2i_channel_start(struct channel *ch)
{
    if (!ch->pump_waiting)
        return;
    ch->pump_waiting = false;
    p2i_pump_go(ch);
}

void p2i_channel_drop_child_end(struct channel *ch)
{
    if (ch->child_fd_owned)
        p2i_fd_close(ch->child_fd);
    ch->child_fd = -1;
    ch->child_fd_owned = false;
}

void p2i_channel_close(struct channel *ch)
{
    if (!ch->open)
        return;
    p2i_channel_drop_child_end(ch);
    /* A pump thread closes its own pipe end; one never started did not. */
    if (!ch->thread_started) {
        ch->fd = p2i_fd_close(ch->fd);
        p2i_relay_close(&ch->relay);
    }
    p2i_wake_close(&ch->wake);
    if (ch->ring_ready)
        p2i_ringmem_destroy(&ch->ring);
    ch->ring_ready = false;
    free(ch->iobuf);
    ch->iobuf = NULL;
    ch->used = false;
    ch->pty = false;
    ch->open = false;
}
