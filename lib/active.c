/* active: the list of freed objects' children, reaped by popen2_cleanup().
 *
 * Python's _cleanup() polls every instance on _active and drops the ones that
 * finished; Popen3.__init__ calls it first, so zombies never pile up.  Each
 * node keeps the child's pidfd, and reaps through it: a child reaped
 * elsewhere (a waitpid(-1) in the application, SIGCHLD ignored) is then
 * forgotten, and the list can never reap a process that got its number
 * afterwards, such as the application's own helper.  Without pidfds the node
 * reaps by number, as Python does. */
#include "config.h"

#include "base.h"

#include <pthread.h>
#include <stdlib.h>

static pthread_mutex_t active_mu = PTHREAD_MUTEX_INITIALIZER;
static struct p2i_active_node *active_head;
static size_t active_len;
/* A forked child's copy of the parent's list, set aside: still reachable, so
 * leak checkers in the child do not count it, and never reaped there. */
static struct p2i_active_node *inherited;

void p2i_active_add(struct p2i_active_node *node)
{
    pthread_mutex_lock(&active_mu);
    node->next = active_head;
    active_head = node;
    active_len++;
    pthread_mutex_unlock(&active_mu);
}

void p2i_active_reap(void)
{
    struct p2i_active_node **pp, *n, *done = NULL;
    int saved = errno, st, r, cancel;

    /* waitid is a cancellation point, even with WNOHANG. */
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
    pthread_mutex_lock(&active_mu);
    for (pp = &active_head; (n = *pp) != NULL;) {
        r = n->pidfd >= 0 ? p2i_pidfd_reap(n->pidfd, &st) : p2i_pid_reap(n->pid, &st);
        /* ECHILD: reaped behind our back; like Python we forget it. */
        if (r == 1 || r == -ECHILD) {
            *pp = n->next;
            n->next = done;
            done = n;
            active_len--;
        } else {
            pp = &n->next;
        }
    }
    pthread_mutex_unlock(&active_mu);
    while ((n = done) != NULL) {
        done = n->next;
        p2i_fd_close(n->pidfd);
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
    /* Taken by this thread in p2i_active_lock before the fork. */
    pthread_mutex_unlock(&active_mu);
}
