/* proc: the process object (Python's Popen3 and Popen4, and popen2_spawn's).
 *
 * Creation builds everything that can fail first (pipes, wake descriptors,
 * rings, FILEs, threads) and spawns the child last, so a failure never leaves
 * a child to kill: undoing a half-built object is the same teardown as a
 * free, with no child.
 */
#include "config.h"

#include "core.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* First ring sizes: an output ring that keeps up stays this small; the input
 * ring only holds what the caller wrote ahead of the child.  Both are
 * allocated at the first byte, and a ring rewinds when empty, so a quiet
 * stream only ever touches its first pages.  The input ring matches the
 * output one so that 1 MiB fwrites settle in a ring of a few MiB instead of
 * crossing the shrink threshold (ringbuf.c) at every pause. */
#define OUT_RING_MIN (64 * 1024)
#define IN_RING_MIN (64 * 1024)

static void proc_destroy(struct popen2_proc *p)
{
    int i;

    for (i = 0; i < CH_COUNT; i++) {
        struct channel *ch = &p->ch[i];

        if (!ch->used)
            continue;
        /* A pump thread closes its own pipe end; one never started did not. */
        if (!ch->thread_started)
            ch->fd = p2i_fd_close(ch->fd);
        p2i_wake_close(&ch->wake);
        if (ch->ring_ready)
            p2i_ringbuf_destroy(&ch->ring);
        free(ch->iobuf);
    }
    p2i_events_destroy(p);
    if (p->slot_free)
        p->slot_free(p->slot);
    p2i_bell_destroy(&p->bell);
    p2i_child_destroy(&p->child);
    free(p->node);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

static void proc_unref(struct popen2_proc *p)
{
    int left;

    pthread_mutex_lock(&p->mu);
    left = --p->refs;
    pthread_mutex_unlock(&p->mu);
    if (left == 0)
        proc_destroy(p);
}

/* The part of a free that follows closing the FILEs: joins the readers (they
 * were woken by the closes and end at once), hands an unreaped child to the
 * active list and drops the handle's reference.  The writer thread, once
 * detached, keeps its own reference until it has delivered what was
 * written. */
static void proc_finish(struct popen2_proc *p)
{
    struct channel *in = &p->ch[CH_STDIN];
    int i;
    int saved = errno;

    /* A failed create (no child) leaves no thread behind, not even a
     * parked one; a free may leave the pool's threads parked for reuse. */
    for (i = CH_STDOUT; i < CH_COUNT; i++) {
        if (!p->ch[i].used || !p->ch[i].thread_started)
            continue;
        if (p->child.pid > 0)
            p2i_pool_join(&p->ch[i].job);
        else
            p2i_pool_join_retire(&p->ch[i].job);
    }
    /* With no child (a failed create) the writer has nothing to deliver and
     * ends as soon as tochild is closed: joining it means the failing call
     * returns with no thread and none of its descriptors left (they would
     * otherwise linger until its last reference goes).  With a child it may
     * still be delivering input, so it is detached and owns its reference. */
    if (in->used && in->thread_started) {
        if (p->child.pid > 0)
            p2i_pool_detach(&in->job);
        else
            p2i_pool_join_retire(&in->job);
    }
    pthread_mutex_lock(&p->mu);
    p2i_child_release(&p->child, &p->node);
    pthread_mutex_unlock(&p->mu);
    proc_unref(p);
    errno = saved;
}

/* channel_ops: what the channels tell the object. */
static void on_file_closed(struct channel *ch)
{
    struct popen2_proc *p = ch->owner;
    bool last;

    pthread_mutex_lock(&p->mu);
    ch->file = NULL;
    p->open_files--;
    /* Module objects have no handle: the last fclose frees them. */
    last = p->open_files == 0 && !p->handle_open && !p->finishing;
    if (last)
        p->finishing = true;
    pthread_mutex_unlock(&p->mu);
    if (last)
        proc_finish(p);
}

static void on_hold(struct channel *ch)
{
    struct popen2_proc *p = ch->owner;

    pthread_mutex_lock(&p->mu);
    p->refs++;
    pthread_mutex_unlock(&p->mu);
}

static void on_release(struct channel *ch)
{
    proc_unref(ch->owner);
}

static const struct channel_ops proc_channel_ops = {
    .file_closed = on_file_closed,
    .hold = on_hold,
    .release = on_release,
};

/* Closes every FILE the caller still has open.  Taking them under the lock
 * one at a time means a racing caller fclose and this never close one twice
 * (the callback clears ch->file under the same lock). */
static void close_files(struct popen2_proc *p)
{
    int i;
    FILE *f;

    for (i = 0; i < CH_COUNT; i++) {
        pthread_mutex_lock(&p->mu);
        f = p->ch[i].file;
        pthread_mutex_unlock(&p->mu);
        if (f)
            fclose(f);
    }
}

void p2i_proc_free(struct popen2_proc *p)
{
    int cancel;

    /* Joins and closes are cancellation points; a free cancelled half-way
     * would leave an object nobody can free again. */
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
    pthread_mutex_lock(&p->mu);
    p->handle_open = false;
    p->finishing = true;
    pthread_mutex_unlock(&p->mu);
    close_files(p);
    proc_finish(p);
    pthread_setcancelstate(cancel, NULL);
}

bool p2i_proc_inherited(const struct popen2_proc *p)
{
    return p->gen != p2i_fork_generation();
}

void p2i_proc_drop_handle(struct popen2_proc *p)
{
    pthread_mutex_lock(&p->mu);
    p->handle_open = false;
    pthread_mutex_unlock(&p->mu);
}

FILE *p2i_proc_file(struct popen2_proc *p, int which)
{
    FILE *f;

    pthread_mutex_lock(&p->mu);
    f = p->ch[which].file;
    pthread_mutex_unlock(&p->mu);
    return f;
}

bool p2i_proc_stream_ok(struct popen2_proc *p, int which, bool need_open)
{
    bool ok;

    pthread_mutex_lock(&p->mu);
    ok = p->ch[which].used && (p->ch[which].file || !need_open);
    pthread_mutex_unlock(&p->mu);
    return ok;
}

void p2i_proc_end_reported(struct popen2_proc *p, int which)
{
    pthread_mutex_lock(&p->mu);
    p->ch[which].end_reported = true;
    pthread_mutex_unlock(&p->mu);
}

static int channel_setup(struct popen2_proc *p, int which, int child_fd[3],
                         const struct proc_setup *su)
{
    struct channel *ch = &p->ch[which];
    int fds[2], r;

    ch->used = true;
    r = p2i_fd_pipe(fds);
    if (r < 0)
        return r;
    /* The parent keeps the write end of stdin and the read end of the
     * outputs; the other end is the child's until the spawn is done. */
    if (which == CH_STDIN) {
        ch->fd = fds[1];
        child_fd[which] = fds[0];
    } else {
        ch->fd = fds[0];
        child_fd[which] = fds[1];
    }
    r = p2i_fd_set_nonblock(ch->fd);
    if (r < 0)
        return r;
    if (which != CH_STDIN) {
        r = p2i_wake_open(&ch->wake);
        if (r < 0)
            return r;
    }
    r = p2i_ringbuf_init(&ch->ring, which == CH_STDIN ? IN_RING_MIN : OUT_RING_MIN);
    if (r < 0)
        return r;
    ch->ring_ready = true;
    if (su->limit[which]) {
        r = p2i_ringbuf_set_limit(&ch->ring, (struct ring_limit){su->limit[which], su->policy[which]});
        if (r < 0)
            return r;
    }
    if (!p2i_stream_open(ch, su->bufsize))
        return -errno;
    p->open_files++;
    /* The writer thread starts with the first byte written to tochild
     * (stream.c): a child whose stdin is never written, the common case,
     * costs one thread less to create and to end. */
    if (which == CH_STDIN)
        return 0;
    return p2i_pump_start(ch);
}

struct popen2_proc *p2i_proc_create(const struct proc_setup *su)
{
    struct p2i_spawn_request req = {.file = su->file,
                                    .argv = su->argv,
                                    .search_path = su->search_path,
                                    .cwd = su->cwd,
                                    .envp = su->envp,
                                    .group = su->group};
    struct popen2_proc *p = NULL;
    int child_fd[3] = {-1, -1, -1};
    int i, r, cancel;

    /* Python's Popen3.__init__ starts with _cleanup(). */
    p2i_active_reap();

    p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    /* Creating never blocks for long, and its closes on the way out of a
     * failure are cancellation points that would leave half an object. */
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
    r = -pthread_mutex_init(&p->mu, NULL);
    if (r == 0) {
        r = p2i_child_init(&p->child);
        if (r < 0)
            pthread_mutex_destroy(&p->mu);
    }
    if (r == 0) {
        r = p2i_bell_init(&p->bell);
        if (r < 0) {
            p2i_child_destroy(&p->child);
            pthread_mutex_destroy(&p->mu);
        }
    }
    if (r < 0) {
        free(p);
        pthread_setcancelstate(cancel, NULL);
        return p2i_fail_null(r);
    }
    p->refs = 1;
    p->handle_open = true;
    p->gen = p2i_fork_generation();
    for (i = 0; i < CH_COUNT; i++) {
        p->ch[i].ops = &proc_channel_ops;
        p->ch[i].owner = p;
        p->ch[i].which = i;
        p->ch[i].bell = &p->bell;
        p->ch[i].fd = -1;
        p->ch[i].wake.rfd = p->ch[i].wake.wfd = -1;
    }
    p->node = malloc(sizeof *p->node);
    if (!p->node) {
        r = -ENOMEM;
        goto fail;
    }

    r = 0;
    for (i = 0; i < CH_COUNT && r == 0; i++)
        if (su->pipe[i])
            r = channel_setup(p, i, child_fd, su);
    if (r < 0)
        goto fail;
    for (i = 0; i < CH_COUNT; i++)
        req.fd[i] = su->pipe[i] ? child_fd[i] : su->child_fd[i];
    /* Popen4: stdout and stderr are one pipe, so the bytes keep the order
     * the child wrote them in.  An inherited stdout is merged in the child. */
    if (su->merge_err) {
        req.fd[CH_STDERR] = req.fd[CH_STDOUT];
        req.stderr_to_stdout = req.fd[CH_STDOUT] < 0;
    }

    r = p2i_child_start(&p->child, &req);
    if (r < 0)
        goto fail;
    for (i = 0; i < 3; i++)
        child_fd[i] = p2i_fd_close(child_fd[i]);
    pthread_setcancelstate(cancel, NULL);
    return p;

fail:
    /* Closing the child's ends first gives the readers EOF and the FILE
     * closes stop every thread; then it is a plain free with no child. */
    for (i = 0; i < 3; i++)
        child_fd[i] = p2i_fd_close(child_fd[i]);
    p2i_proc_free(p);
    pthread_setcancelstate(cancel, NULL);
    return p2i_fail_null(r);
}
