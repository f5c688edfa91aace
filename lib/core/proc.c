/* proc: the process object (Python's Popen3 and Popen4, and popen2_spawn's).
 *
 * Creation builds everything that can fail first (pipes, wake descriptors,
 * rings, FILEs, threads) and spawns the child last, so a failure never leaves
 * a child to kill: undoing a half-built object is the same teardown as a
 * free, with no child.
 */
#include "config.h"

#include "core/core.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void proc_destroy(struct popen2_proc *p)
{
    int i;

    for (i = 0; i < CH_COUNT; i++)
        p2i_channel_close(&p->ch[i]);
    p2i_events_destroy(p);
    p2i_communicate_free(p->collected);
    p2i_lines_free(p);
    p2i_bell_destroy(&p->bell);
    p2i_child_destroy(&p->child);
    p2i_pty_close(&p->pty);
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
            p2i_stream_close(&p->ch[i], f);
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

/* Under the lock: the close callback clears the file under it, so a FILE
 * seen here is still open when it is handed out. */
static FILE *file_of(struct popen2_proc *p, int which, bool give)
{
    FILE *f;

    pthread_mutex_lock(&p->mu);
    f = p->ch[which].file;
    if (f && give)
        p2i_stream_hand_out(&p->ch[which]);
    pthread_mutex_unlock(&p->mu);
    return f;
}

FILE *p2i_proc_file(struct popen2_proc *p, int which)
{
    return file_of(p, which, false);
}

FILE *p2i_proc_give_file(struct popen2_proc *p, int which)
{
    return file_of(p, which, true);
}

bool p2i_proc_stream_ok(struct popen2_proc *p, int which, bool need_open)
{
    bool ok;

    pthread_mutex_lock(&p->mu);
    ok = p->ch[which].used && (p->ch[which].file || !need_open);
    pthread_mutex_unlock(&p->mu);
    return ok;
}

ssize_t p2i_proc_read_some(struct popen2_proc *p, struct channel *ch, void *buf, size_t n)
{
    ssize_t r = p2i_ringbuf_read(&ch->ring, buf, n, false);

    /* The event descriptor stops announcing an end once it was seen. */
    if (r == 0 || (r < 0 && r != -EAGAIN)) {
        pthread_mutex_lock(&p->mu);
        ch->end_reported = true;
        pthread_mutex_unlock(&p->mu);
    }
    return r;
}

void p2i_proc_plan_init(struct spawn_plan *plan)
{
    int i;

    memset(plan, 0, sizeof *plan);
    for (i = 0; i < CH_COUNT; i++) {
        plan->io[i].how = i == CH_STDERR ? POPEN2_INHERIT : POPEN2_PIPE;
        plan->io[i].fd = -1;
        plan->io[i].bufsize = -1;
    }
    plan->pty_rows = 24;
    plan->pty_cols = 80;
    plan->req.search_path = true;
    plan->req.group = POPEN2_GROUP_INHERIT;
}

/* An object with its locks and its place on the active list, but no
 * channel and no child yet; 0 or -errno with nothing left. */
static int proc_new(struct popen2_proc **out)
{
    struct popen2_proc *p = calloc(1, sizeof *p);
    int r;

    if (!p)
        return -ENOMEM;
    r = -pthread_mutex_init(&p->mu, NULL);
    if (r < 0)
        goto fail;
    r = p2i_child_init(&p->child);
    if (r < 0)
        goto fail_mu;
    r = p2i_bell_init(&p->bell);
    if (r < 0)
        goto fail_child;
    p->node = malloc(sizeof *p->node);
    if (!p->node) {
        r = -ENOMEM;
        goto fail_bell;
    }
    p->pty.master = p->pty.slave = -1;
    p->refs = 1;
    p->handle_open = true;
    p->gen = p2i_fork_generation();
    *out = p;
    return 0;

fail_bell:
    p2i_bell_destroy(&p->bell);
fail_child:
    p2i_child_destroy(&p->child);
fail_mu:
    pthread_mutex_destroy(&p->mu);
fail:
    free(p);
    return r;
}

/* The terminal of POPEN2_PTY streams, when there are any: opened, and the
 * streams' plans pointed at its master (io is the object's copy of the
 * plan's).  Stdout and stderr both on it read as one stream, fromchild, as
 * Popen4's merged pipe: one reader reads the master.  The child leads a new
 * session, whose controlling terminal it becomes.  0 or -errno. */
static int plan_pty(struct popen2_proc *p, const struct spawn_plan *plan,
                    struct stream_plan io[CH_COUNT], struct p2i_spawn_request *req)
{
    int i, r, first = -1;

    for (i = CH_COUNT - 1; i >= 0; i--)
        if (io[i].how == POPEN2_PTY)
            first = i;
    if (first < 0)
        return 0;
    r = p2i_pty_open(&p->pty, plan->pty_rows, plan->pty_cols, plan->pty_flags);
    if (r < 0)
        return r;
    for (i = 0; i < CH_COUNT; i++)
        io[i].fd = io[i].how == POPEN2_PTY ? p->pty.master : io[i].fd;
    if (io[CH_STDOUT].how == POPEN2_PTY && io[CH_STDERR].how == POPEN2_PTY)
        io[CH_STDERR].how = POPEN2_MERGE;
    req->tty_path = p->pty.path;
    req->tty_fd = first;
    req->group = POPEN2_SESSION_NEW;
    return 0;
}

int p2i_proc_create(const struct spawn_plan *plan, struct popen2_proc **out)
{
    struct p2i_spawn_request req = plan->req;
    struct stream_plan io[CH_COUNT];
    bool merge;
    struct popen2_proc *p;
    int i, r, cancel;

    /* Python's Popen3.__init__ starts with _cleanup(). */
    p2i_active_reap();

    /* Creating never blocks for long, and its closes on the way out of a
     * failure are cancellation points that would leave half an object. */
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
    r = proc_new(&p);
    if (r < 0)
        goto finish;
    memcpy(io, plan->io, sizeof io);
    r = plan_pty(p, plan, io, &req);
    merge = io[CH_STDERR].how == POPEN2_MERGE;
    for (i = 0; i < CH_COUNT && r == 0; i++) {
        r = p2i_channel_open(&p->ch[i], i, &io[i], &proc_channel_ops, p, &p->bell);
        if (r == 0 && p->ch[i].used)
            p->open_files++;
    }
    if (r == 0) {
        for (i = 0; i < CH_COUNT; i++)
            req.fd[i] = io[i].how == POPEN2_PTY ? p->pty.slave : p->ch[i].child_fd;
        /* Popen4: stdout and stderr are one pipe, so the bytes keep the
         * order the child wrote them in.  An inherited stdout is merged in
         * the child. */
        if (merge)
            req.fd[CH_STDERR] = req.fd[CH_STDOUT];
        req.stderr_to_stdout = merge && req.fd[CH_STDOUT] < 0;
        r = p2i_child_start(&p->child, &req);
    }
    /* The readers' threads were reserved by the opens and are woken only
     * now: a thread woken before the spawn runs beside the child being
     * started, on a machine with few CPUs in its way.  After a failure too:
     * a reserved reader is joined only once it runs. */
    for (i = 0; i < CH_COUNT; i++)
        p2i_channel_start(&p->ch[i]);
    /* The child has its ends now.  After a failure, closing them gives the
     * readers EOF and the FILE closes stop every thread; then it is a plain
     * free with no child. */
    for (i = 0; i < CH_COUNT; i++)
        p2i_channel_drop_child_end(&p->ch[i]);
    p->pty.slave = p2i_fd_close(p->pty.slave);
    if (r < 0)
        p2i_proc_free(p);
    else
        *out = p;
finish:
    pthread_setcancelstate(cancel, NULL);
    return r;
}
