/* active: the list of freed objects' children, reaped by popen2_cleanup().
 *
 * Python's _cleanup() polls every instance on _active and drops the ones that
 * finished; Popen3.__init__ calls it first, so zombies never pile up.  Only
 * pids are kept: a pid stays ours until we reap it, so it cannot be recycled
 * under us while it is on the list. */
#include "config.h"

#include "active.h"
#include "popen2.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>

static pthread_mutex_t active_mu = PTHREAD_MUTEX_INITIALIZER;
static struct active_node *active_head;
static size_t active_len;

void active_add(struct active_node *node)
{
    pthread_mutex_lock(&active_mu);
    node->next = active_head;
    active_head = node;
    active_len++;
    pthread_mutex_unlock(&active_mu);
}

void popen2_cleanup(void)
{
    struct active_node **pp, *n, *done = NULL;
    int saved = errno, st;
    pid_t r;

    pthread_mutex_lock(&active_mu);
    for (pp = &active_head; (n = *pp) != NULL;) {
        do
            r = waitpid(n->pid, &st, WNOHANG);
        while (r < 0 && errno == EINTR);
        /* ECHILD: reaped behind our back; like Python we forget it. */
        if (r == n->pid || (r < 0 && errno == ECHILD)) {
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
        free(n);
    }
    errno = saved;
}

size_t popen2_active(void)
{
    size_t n;

    pthread_mutex_lock(&active_mu);
    n = active_len;
    pthread_mutex_unlock(&active_mu);
    return n;
}
