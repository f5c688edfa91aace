/* proc: Python's Popen3 and Popen4 classes.
 *
 * Creation builds everything that can fail first (pipes, wake descriptors,
 * rings, FILEs, threads) and spawns the child last, so a failure never leaves
 * a child to kill: undoing a half-built object is the same teardown as a
 * free, with no child.
 *
 * Reaping happens on the caller's thread: poll() is waitpid(WNOHANG) and
 * wait() sleeps in waitid(WNOWAIT) outside the lock, then reaps under it, so
 * several threads may wait on one object and all get the status.  No SIGCHLD
 * handler is ever installed.
 */
#include "config.h"

#include "proc.h"
#include "extras.h"
#include "pump.h"
#include "spawn.h"
#include "stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

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
            ch->fd = fd_close(ch->fd);
        wake_close(&ch->wake);
        if (ch->ring_ready)
            ringbuf_destroy(&ch->ring);
        free(ch->iobuf);
    }
    /* Beyond popen2: the pidfd, the event descriptors, communicate's data. */
    extras_destroy(p);
    free(p->node);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

void proc_unref(struct popen2_proc *p)
{
    int left;

    pthread_mutex_lock(&p->mu);
    left = --p->refs;
    pthread_mutex_unlock(&p->mu);
    if (left == 0)
        proc_destroy(p);
}

/* Reaps without blocking; mu held.  Python's poll(): a child reaped behind
 * our back (ECHILD) simply stays "running" (-1). */
static void try_reap_locked(struct popen2_proc *p)
{
    int st;
    pid_t r;

    if (p->reaped || p->pid <= 0)
        return;
    do
        r = waitpid(p->pid, &st, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == p->pid) {
        p->status = st;
        p->reaped = true;
        event_reaped_locked(p); /* Beyond popen2: the event fd stops watching it */
    }
}

/* The part of a free that follows closing the FILEs: joins the readers (they
 * were woken by the closes and end at once), hands an unreaped child to the
 * active list and drops the handle's reference.  The writer thread, once detached,
 * keeps its own reference until it has delivered what was written. */
static void proc_finish(struct popen2_proc *p)
{
    struct channel *in = &p->ch[CH_STDIN];
    int i;
    int saved = errno;

    for (i = CH_STDOUT; i < CH_COUNT; i++)
        if (p->ch[i].used && p->ch[i].thread_started)
            pthread_join(p->ch[i].thread, NULL);
    /* With no child (a failed create) the writer has nothing to deliver and
     * ends as soon as tochild is closed: joining it means the failing call
     * returns with no thread and none of its descriptors left (they would
     * otherwise linger until its last proc_unref).  With a child it may
     * still be delivering input, so it is detached and owns its reference. */
    if (in->used && in->thread_started) {
        if (p->pid > 0)
            pthread_detach(in->thread);
        else
            pthread_join(in->thread, NULL);
    }
    pthread_mutex_lock(&p->mu);
    try_reap_locked(p);
    if (p->pid > 0 && !p->reaped) {
        p->node->pid = p->pid;
        active_add(p->node);
        p->node = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    proc_unref(p);
    errno = saved;
}

void proc_file_closed(struct channel *ch)
{
    struct popen2_proc *p = ch->proc;
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

void popen2_free(popen2_proc *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->handle_open = false;
    p->finishing = true;
    pthread_mutex_unlock(&p->mu);
    close_files(p);
    proc_finish(p);
}

static int channel_setup(struct popen2_proc *p, int which, int child_fd[3],
                         const struct proc_setup *su)
{
    struct channel *ch = &p->ch[which];
    int fds[2], r;

    ch->used = true;
    r = fd_pipe(fds);
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
    r = fd_set_nonblock(ch->fd);
    if (r < 0)
        return r;
    if (which != CH_STDIN) {
        r = wake_open(&ch->wake);
        if (r < 0)
            return r;
    }
    r = ringbuf_init(&ch->ring, which == CH_STDIN ? IN_RING_MIN : OUT_RING_MIN);
    if (r < 0)
        return r;
    ch->ring_ready = true;
    if (which != CH_STDIN && su->limit[which]) { /* Beyond popen2: bounded memory */
        r = ringbuf_set_limit(&ch->ring, su->limit[which], su->policy[which]);
        if (r < 0)
            return r;
    }
    if (!stream_open(ch, su->bufsize))
        return -errno;
    p->open_files++;
    /* The writer thread starts with the first byte written to tochild
     * (proc_start_writer): a child whose stdin is never written, the common
     * case, costs one thread less to create and to end. */
    if (which == CH_STDIN)
        return 0;
    return pump_start(ch);
}

int proc_start_writer(struct channel *ch)
{
    struct popen2_proc *p = ch->proc;
    int r;

    pthread_mutex_lock(&p->mu);
    p->refs++; /* the writer thread's */
    pthread_mutex_unlock(&p->mu);
    r = pump_start(ch);
    if (r < 0)
        proc_unref(p); /* never the last: the caller's FILE holds one */
    return r;
}

struct popen2_proc *proc_create(const struct proc_setup *su)
{
    struct spawn_request req = {.file = su->file,
                                .argv = su->argv,
                                .search_path = su->search_path,
                                .cwd = su->cwd,
                                .envp = su->envp,
                                .group = su->group};
    struct popen2_proc *p = NULL;
    int child_fd[3] = {-1, -1, -1};
    int i, r;

    /* Python's Popen3.__init__ starts with _cleanup(). */
    popen2_cleanup();

    p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    r = -pthread_mutex_init(&p->mu, NULL);
    if (r < 0) {
        free(p);
        errno = -r;
        return NULL;
    }
    p->refs = 1;
    p->pid = -1;
    p->pidfd = -1;
    p->handle_open = true;
    for (i = 0; i < CH_COUNT; i++) {
        p->ch[i].proc = p;
        p->ch[i].which = i;
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

    r = spawn_start(&req, &p->pid);
    if (r < 0)
        goto fail;
    p->group_leader = su->group != POPEN2_GROUP_INHERIT;
    if (su->pidfd_at_spawn)
        kill_pidfd_locked(p); /* Beyond popen2: hold the child's pidfd from now on */
    for (i = 0; i < 3; i++)
        child_fd[i] = fd_close(child_fd[i]);
    return p;

fail:
    /* Closing the child's ends first gives the readers EOF and the FILE
     * closes stop every thread; then it is a plain free with no child. */
    for (i = 0; i < 3; i++)
        child_fd[i] = fd_close(child_fd[i]);
    p->pid = -1;
    popen2_free(p);
    errno = -r;
    return NULL;
}

static bool bad_argv(char *const argv[])
{
    /* An empty argv[0] is left to posix_spawnp, which says ENOENT as execvp. */
    return !argv || !argv[0];
}

/* The contract's shapes: stdin and stdout piped; stderr piped (Popen3 with
 * capturestderr), inherited (Popen3 without) or merged (Popen4). */
static popen2_proc *contract_create(const char *file, char *const argv[], bool search_path,
                                    bool capture_err, bool merge_err, int bufsize)
{
    struct proc_setup su = {
        .file = file,
        .argv = argv,
        .search_path = search_path,
        .pipe = {true, true, capture_err},
        .child_fd = {-1, -1, -1},
        .merge_err = merge_err,
        .bufsize = bufsize,
    };

    return proc_create(&su);
}

popen2_proc *popen2_Popen3(const char *cmd, int capturestderr, int bufsize)
{
    char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};

    if (!cmd || !*cmd) {
        errno = EINVAL;
        return NULL;
    }
    return contract_create("/bin/sh", argv, false, capturestderr != 0, false, bufsize);
}

popen2_proc *popen2_Popen4(const char *cmd, int bufsize)
{
    char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};

    if (!cmd || !*cmd) {
        errno = EINVAL;
        return NULL;
    }
    return contract_create("/bin/sh", argv, false, false, true, bufsize);
}

popen2_proc *popen2_Popen3v(char *const argv[], int capturestderr, int bufsize)
{
    if (bad_argv(argv)) {
        errno = EINVAL;
        return NULL;
    }
    return contract_create(argv[0], argv, true, capturestderr != 0, false, bufsize);
}

popen2_proc *popen2_Popen4v(char *const argv[], int bufsize)
{
    if (bad_argv(argv)) {
        errno = EINVAL;
        return NULL;
    }
    return contract_create(argv[0], argv, true, false, true, bufsize);
}

int popen2_poll(popen2_proc *p)
{
    int r;

    if (!p) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&p->mu);
    try_reap_locked(p);
    r = p->reaped ? p->status : -1;
    pthread_mutex_unlock(&p->mu);
    return r;
}

int popen2_wait(popen2_proc *p)
{
    siginfo_t si;
    int r;

    if (!p) {
        errno = EINVAL;
        return -1;
    }
    for (;;) {
        pthread_mutex_lock(&p->mu);
        try_reap_locked(p);
        if (p->reaped) {
            r = p->status;
            pthread_mutex_unlock(&p->mu);
            return r;
        }
        pthread_mutex_unlock(&p->mu);
        /* WNOWAIT leaves the zombie for the reap under the lock, so every
         * thread waiting here wakes and finds the same status. */
        memset(&si, 0, sizeof si);
        if (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOWAIT) < 0) {
            if (errno == EINTR)
                continue;
            r = errno;
            pthread_mutex_lock(&p->mu);
            if (p->reaped) { /* another thread reaped it meanwhile */
                r = p->status;
                pthread_mutex_unlock(&p->mu);
                return r;
            }
            pthread_mutex_unlock(&p->mu);
            errno = r; /* ECHILD: reaped behind the library's back */
            return -1;
        }
    }
}

static FILE *get_file(popen2_proc *p, int which)
{
    FILE *f;

    if (!p) {
        errno = EINVAL;
        return NULL;
    }
    pthread_mutex_lock(&p->mu);
    f = p->ch[which].file;
    pthread_mutex_unlock(&p->mu);
    return f;
}

FILE *popen2_fromchild(popen2_proc *p)
{
    return get_file(p, CH_STDOUT);
}

FILE *popen2_tochild(popen2_proc *p)
{
    return get_file(p, CH_STDIN);
}

FILE *popen2_childerr(popen2_proc *p)
{
    return get_file(p, CH_STDERR);
}

pid_t popen2_pid(popen2_proc *p)
{
    if (!p) {
        errno = EINVAL;
        return -1;
    }
    return p->pid;
}
