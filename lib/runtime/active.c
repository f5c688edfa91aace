/* active: the list of freed objects' children, reaped by popen2_cleanup().
 *
 * Python's _cleanup() polls every instance on _active and drops the ones that
 * finished; Popen3.__init__ calls it first, so zombies never pile up.  Each
 * node keeps the child's pidfd, and reaps through it: a child reaped
 * elsewhere (a waitpid(-1) in the application, SIGCHLD ignored) is then
 * forgotten, and the list can never reap a process that got its number
 * afterwards, such as the application's own helper.  Without pidfds the node
 * reaps by number, as Python does.
 *
 * Python's loop asks every child on the list at every call, and every new
 * object makes that call: with thousands of freed children still running,
 * each create would cost thousands of system calls.  So the nodes' pidfds
 * sit in one epoll set (made while the list holds any), and a call asks the
 * kernel which of them have exited and reaps only those: its cost follows
 * the children that ended, not the length of the list.  Nodes without a
 * pidfd, or whose pidfd the set refused, are asked one by one, as before.
 */
#include "config.h"

#include "runtime/runtime.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

/* Ready nodes taken from the set per look. */
#define REAP_BATCH 64

static pthread_mutex_t active_mu = PTHREAD_MUTEX_INITIALIZER;
static struct p2i_active_node *active_head;
static size_t active_len;
static size_t active_scanned; /* nodes asked one by one (not in the set) */
static int active_epfd = -1;  /* the exit-watching set, -1 while the list is empty */
/* A forked child's copy of the parent's list, set aside: still reachable, so
 * leak checkers in the child do not count it, and never reaped there. */
static struct p2i_active_node *inherited;

static void unlink_locked(struct p2i_active_node *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        active_head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    active_len--;
    if (!n->watched)
        active_scanned--;
}

/* Puts the node's pidfd into the set; false when there is no set to be had
 * (no pollset on this system, no descriptor), and the node is asked one by
 * one. */
static bool watch_locked(struct p2i_active_node *n)
{
    int fd;

    if (n->pidfd < 0)
        return false;
    if (active_epfd < 0) {
        fd = p2i_pollset_open();
        if (fd < 0)
            return false;
        active_epfd = fd;
    }
    return p2i_pollset_add(active_epfd, n->pidfd, n) == 0;
}

void p2i_active_add(struct p2i_active_node *node)
{
    pthread_mutex_lock(&active_mu);
    node->prev = NULL;
    node->next = active_head;
    if (active_head)
        active_head->prev = node;
    active_head = node;
    active_len++;
    node->watched = watch_locked(node);
    if (!node->watched)
        active_scanned++;
    pthread_mutex_unlock(&active_mu);
}

/* Reaps n if its child has ended (or was reaped elsewhere) and moves it to
 * *done; active_mu held. */
static void try_reap_locked(struct p2i_active_node *n, struct p2i_active_node **done)
{
    int st, r;

    r = n->pidfd >= 0 ? p2i_process_reap(n->pidfd, n->pid, &st, NULL, NULL)
                      : p2i_process_reap_pid(n->pid, &st, NULL, NULL);
    /* ECHILD: reaped behind our back; like Python we forget it. */
    if (r == 1 || r == -ECHILD) {
        unlink_locked(n);
        /* Out of the set before the node goes, by name: closing the pidfd
         * alone would not remove it while a forked child still holds a
         * copy of the descriptor, and a later look would name a freed
         * node. */
        if (n->watched)
            p2i_pollset_del(active_epfd, n->pidfd);
        n->pidfd = p2i_fd_close(n->pidfd);
        n->next = *done;
        *done = n;
    }
}

void p2i_active_reap(void)
{
    struct p2i_active_node *n, *next, *done = NULL;
    int saved = errno, cancel;
    void *ready[REAP_BATCH];
    int k, i;

    /* waitid is a cancellation point, even with WNOHANG. */
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
    pthread_mutex_lock(&active_mu);
    /* A node leaves the set (try_reap_locked) when it leaves the list: an
     * event always names a listed node. */
    while (active_epfd >= 0 && active_len > active_scanned) {
        k = p2i_pollset_ready(active_epfd, ready, REAP_BATCH);
        for (i = 0; i < k; i++)
            try_reap_locked(ready[i], &done);
        if (k < REAP_BATCH)
            break;
    }
    if (active_scanned) {
        for (n = active_head; n; n = next) {
            next = n->next;
            if (!n->watched)
                try_reap_locked(n, &done);
        }
    }
    if (active_len == 0)
        active_epfd = p2i_fd_close(active_epfd);
    pthread_mutex_unlock(&active_mu);
    while ((n = done) != NULL) {
        done = n->next;
        free(n);
    }
    pthread_setcancelstate(cancel, NULL);
    errno = saved;
}

size_t p2i_active_count(void)
{
    size_t n;

    pthread_mutex_lock(&active_mu);
    n = active_len;
    pthread_mutex_unlock(&active_mu);
    return n;
}

void p2i_active_lock(void)
{
    pthread_mutex_lock(&active_mu);
}

void p2i_active_unlock(void)
{
    pthread_mutex_unlock(&active_mu);
}

void p2i_active_forked(void)
{
    struct p2i_active_node *n, *last = NULL;

    for (n = active_head; n; n = n->next) {
        n->pidfd = p2i_fd_close(n->pidfd);
        last = n;
    }
    if (last) {
        last->next = inherited;
        inherited = active_head;
    }
    active_head = NULL;
    active_len = 0;
    active_scanned = 0;
    /* The set is shared with the parent (one epoll instance): the child
     * only drops its reference to it. */
    active_epfd = p2i_fd_close(active_epfd);
    /* Taken by this thread in p2i_active_lock before the fork. */
    pthread_mutex_unlock(&active_mu);
}
