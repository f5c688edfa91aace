/* child: the child process, held by a handle rather than a number.
 *
 * The rule this file keeps, and the only place that needs to: never signal,
 * wait for or reap a process that is not ours.  A pid is only a number; once
 * a child is reaped (by us, or behind our back by a waitpid(-1) elsewhere in
 * the program, or by the kernel when SIGCHLD is ignored) the number may go
 * to an unrelated process.  So:
 *
 * - the pidfd is opened right after the spawn.  Between posix_spawn and
 *   pidfd_open the child cannot have been reaped by us, and a foreign reap
 *   in that instant shows as ESRCH (or, if the number was reused as well,
 *   as ECHILD from the first waitid, since the new process is not our
 *   child); either way the child is recorded as gone.  glibc 2.39's
 *   pidfd_spawn would close even that instant;
 * - reaping is waitid(P_PIDFD), which can only return this child's status
 *   and says ECHILD once something else reaped it: the child is then
 *   "gone", and poll, wait and the signals say ECHILD / ESRCH from then on;
 * - signals go through pidfd_send_signal, which cannot reach a successor;
 * - a child that leads its process group is signalled as a group, also
 *   after we reaped it, while the group has members (the grandchildren that
 *   still hold its pipes).  Only through the pidfd, never by number: the
 *   pidfd pins the kernel's record of the leader's pid, and the members
 *   name that very record as their group, so the signal reaches them and
 *   nobody else; once the group is empty the kernel says ESRCH, even if the
 *   number went to a new group meanwhile.  By number it would be safe only
 *   while a member lives, which we cannot know: an empty group's number is
 *   free for reuse.  So kernels before 6.9, which cannot signal a group
 *   through a pidfd, say ESRCH after the reap, and a group leader is never
 *   reaped by a signal call, so that "signal the group, then reap" works
 *   there (an unreaped leader, zombie or not, keeps its number ours);
 * - where the kernel has no pidfds (before Linux 5.3) the pid is used, as
 *   Python does; that is safe only while nothing else in the program reaps;
 * - where it has them but refuses to signal or reap through one (Linux 5.3
 *   cannot wait on a pidfd; a sandbox's seccomp filter may refuse
 *   pidfd_send_signal or waitid), pidfd.c does that call by number, once
 *   the pidfd has shown the child unreaped: its number cannot have passed
 *   on.  Any other error of a reap is the caller's answer, never retried in
 *   a loop: poll and wait return it.
 *
 * Waiting happens on the caller's thread: poll() on the pidfd (readable once
 * the child has exited) outside the lock, then a non-blocking reap under it,
 * so several threads may wait on one child and all get the status.  Without
 * a pidfd, waitid(WNOWAIT) by number plays the part of the poll.  No SIGCHLD
 * handler is ever installed.
 */
#include "config.h"

#include "core/core.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

/* How often a stop looks whether the group of a leader that ended within
 * the grace still has members. */
#define GROUP_LOOK_MS 10

int p2i_child_init(struct child *c)
{
    int r = pthread_mutex_init(&c->mu, NULL);

    c->pid = -1;
    c->pidfd = -1;
    c->watch_epfd = -1;
    return -r;
}

void p2i_child_destroy(struct child *c)
{
    c->pidfd = p2i_fd_close(c->pidfd);
    pthread_mutex_destroy(&c->mu);
}

int p2i_child_start(struct child *c, const struct p2i_spawn_request *req)
{
    int r = p2i_spawn_start(req, &c->pid);

    if (r < 0) {
        c->pid = -1;
        return r;
    }
    c->group_leader = req->group != POPEN2_GROUP_INHERIT;
    r = p2i_process_open(c->pid);
    if (r >= 0)
        c->pidfd = r;
    else if (r == -ESRCH)
        c->gone = true; /* reaped elsewhere already: see the top of the file */
    /* Otherwise (no pidfds in this kernel, or no descriptor to be had) the
     * child is held by its number, as documented. */
    return 0;
}

/* The child is known gone or reaped: a pollset watching its pidfd would
 * stay readable for good, so take it out.  c->mu held. */
static void unwatch_locked(struct child *c)
{
    p2i_pollset_del(c->watch_epfd, c->pidfd);
    c->watch_epfd = -1;
}

/* Reaps without blocking; c->mu held.  0, or the -errno of a reap that
 * failed (the child's state is unchanged then).  waitid is a cancellation
 * point even with WNOHANG: cancelled here, a thread would leave c->mu
 * locked. */
static int try_reap_locked(struct child *c)
{
    int st = 0, r, cancel;

    if (c->reaped || c->gone || c->pid <= 0)
        return 0;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
    if (c->pidfd >= 0)
        r = p2i_process_reap(c->pidfd, c->pid, &st, &c->usage, &c->returncode);
    else
        r = p2i_process_reap_pid(c->pid, &st, &c->usage, &c->returncode);
    if (r == 1) {
        c->status = st;
        c->reaped = true;
        unwatch_locked(c);
    } else if (r == -ECHILD) {
        c->gone = true;
        unwatch_locked(c);
    }
    pthread_setcancelstate(cancel, NULL);
    return r < 0 && r != -ECHILD ? r : 0;
}

/* A group leader without a pidfd is not reaped by a signal call (its group
 * may be signalled until the caller reaps it), but a foreign reap must still
 * be noticed before its number is used.  c->mu held. */
static void check_gone_locked(struct child *c)
{
    int cancel;

    if (c->reaped || c->gone || c->pid <= 0)
        return;
    /* A cancellation point, as in try_reap_locked. */
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
    if (p2i_process_gone(c->pid)) {
        c->gone = true;
        unwatch_locked(c);
    }
    pthread_setcancelstate(cancel, NULL);
}

/* What poll and wait say once the child is reaped or gone; -EAGAIN while it
 * runs.  c->mu held. */
static int outcome_locked(struct child *c, int *status)
{
    if (c->reaped) {
        *status = c->status;
        return 1;
    }
    return c->gone ? -ECHILD : -EAGAIN;
}

/* p2i_child_poll, with the returncode too when code is not NULL. */
static int poll_child(struct child *c, int *status, long *code)
{
    int r;

    pthread_mutex_lock(&c->mu);
    r = try_reap_locked(c);
    if (r == 0)
        r = outcome_locked(c, status);
    if (r == 1 && code)
        *code = c->returncode;
    pthread_mutex_unlock(&c->mu);
    return r == -EAGAIN ? 0 : r;
}

int p2i_child_poll(struct child *c, int *status)
{
    return poll_child(c, status, NULL);
}

int p2i_child_poll_returncode(struct child *c, long *code)
{
    int st;

    return poll_child(c, &st, code);
}


int p2i_child_wait(struct child *c, int timeout_ms, int *status)
{
    long long deadline = p2i_clock_deadline(timeout_ms);
    int r, left;

    for (;;) {
        pthread_mutex_lock(&c->mu);
        r = try_reap_locked(c);
        if (r == 0)
            r = outcome_locked(c, status);
        pthread_mutex_unlock(&c->mu);
        if (r != -EAGAIN)
            return r;
        left = p2i_clock_ms_left(deadline);
        if (left == 0)
            return -ETIMEDOUT;
        r = p2i_process_sleep(c->pidfd, c->pid, left);
        if (r < 0)
            return r;
    }
}

int p2i_child_signal(struct child *c, int sig)
{
    int r, cancel;

    pthread_mutex_lock(&c->mu);
    /* Under the same lock as reaping: a child we have not reaped cannot
     * have passed its number on, unless it was reaped elsewhere, which the
     * pidfd catches.  A group leader is left unreaped here: until the
     * caller reaps it, its group can be signalled on every kernel.  A reap
     * that fails leaves the child unreaped, so its number is as much ours
     * as before and the signal goes on. */
    if (!c->group_leader)
        (void)try_reap_locked(c);
    else if (c->pidfd < 0)
        check_gone_locked(c);
    if (c->gone || c->pid <= 0) {
        r = -ESRCH;
    } else if (c->reaped) {
        /* Whatever of its group outlived it; see the top of the file. */
        r = -ESRCH;
        if (c->group_leader && c->pidfd >= 0) {
            r = p2i_process_signal_group(c->pidfd, sig);
            if (r == -ENOSYS)
                r = -ESRCH;
        }
    } else if (c->pidfd >= 0) {
        /* Where the pidfd call is refused, the check before the call by
         * number polls and may waitid: cancellation points, as in
         * try_reap_locked. */
        pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
        r = p2i_process_signal(c->pidfd, c->pid, sig, c->group_leader);
        pthread_setcancelstate(cancel, NULL);
        if (r == -ESRCH) {
            /* Exited and reaped elsewhere since we looked: it is gone. */
            c->gone = true;
            unwatch_locked(c);
        }
    } else {
        r = p2i_process_signal(-1, c->pid, sig, c->group_leader);
    }
    pthread_mutex_unlock(&c->mu);
    return r;
}

int p2i_child_usage(struct child *c, struct rusage *ru)
{
    int r, st;

    pthread_mutex_lock(&c->mu);
    r = try_reap_locked(c);
    if (r == 0)
        r = outcome_locked(c, &st);
    if (r == 1) {
        *ru = c->usage;
        r = 0;
    }
    pthread_mutex_unlock(&c->mu);
    return r;
}

/* The members of a group whose leader ended within the grace, which had the
 * same SIGTERM: the rest of the grace to end, then SIGKILL.  Only the
 * kernel's group signal through the pidfd reaches them once the leader is
 * reaped (Linux 6.9); elsewhere the first look says ESRCH and they are left
 * alone, as popen2_send_signal leaves them. */
static void stop_group_members(struct child *c, long long deadline)
{
    int left;

    while (p2i_child_signal(c, 0) == 0) {
        left = p2i_clock_ms_left(deadline);
        if (left == 0) {
            (void)p2i_child_signal(c, SIGKILL);
            return;
        }
        p2i_clock_sleep_ms(left < GROUP_LOOK_MS ? left : GROUP_LOOK_MS);
    }
}

int p2i_child_stop(struct child *c, int grace_ms, int *status)
{
    long long deadline;
    int r;

    /* Ended already: its status, and no signal to anyone. */
    r = p2i_child_poll(c, status);
    if (r != 0)
        return r;
    deadline = p2i_clock_deadline(grace_ms);
    r = p2i_child_signal(c, SIGTERM);
    if (r == 0)
        /* A stopped child would sit on the SIGTERM until the SIGKILL;
         * continued, it can act on it (as systemd does). */
        (void)p2i_child_signal(c, SIGCONT);
    else if (r != -ESRCH) /* ESRCH: it ended since the poll; the wait reaps it */
        return r;
    r = p2i_child_wait(c, grace_ms, status);
    if (r == 1 && c->group_leader)
        stop_group_members(c, deadline);
    if (r != -ETIMEDOUT)
        return r;
    r = p2i_child_signal(c, SIGKILL);
    if (r < 0 && r != -ESRCH)
        return r;
    /* SIGKILL ends any process, so this wait is bounded.  It sleeps on the
     * pidfd, which wakes at the exit even when a waitpid(-1) elsewhere
     * takes the status; the reap then says ECHILD (without a pidfd,
     * waitid by number says ECHILD then too). */
    return p2i_child_wait(c, -1, status);
}

int p2i_child_watch(struct child *c, int epfd)
{
    int r = 1;

    pthread_mutex_lock(&c->mu);
    try_reap_locked(c);
    if (c->pidfd >= 0 && !c->reaped && !c->gone && c->watch_epfd < 0) {
        r = p2i_pollset_add(epfd, c->pidfd, NULL);
        if (r == 0)
            c->watch_epfd = epfd;
    }
    pthread_mutex_unlock(&c->mu);
    return r;
}

void p2i_child_release(struct child *c, struct p2i_active_node **node)
{
    pthread_mutex_lock(&c->mu);
    try_reap_locked(c);
    unwatch_locked(c);
    if (c->pid > 0 && !c->reaped && !c->gone) {
        (*node)->pid = c->pid;
        (*node)->pidfd = c->pidfd; /* the list reaps through it from now on */
        c->pidfd = -1;
        p2i_active_add(*node);
        *node = NULL;
    }
    pthread_mutex_unlock(&c->mu);
}
