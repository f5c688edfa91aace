/* spawner: the one library thread that starts children with a parent-death
 * signal.
 *
 * PR_SET_PDEATHSIG fires when the *thread* that created the child ends, not
 * the process: a child spawned from a short-lived application thread would
 * be signalled as that thread returned.  So those spawns run here, on a
 * thread the library owns, which lives as long as any child it started
 * does: it holds each child's pidfd and polls them, and ends once all have
 * exited (a child that exited needs no signal any more).  Without pidfds it
 * cannot tell, and lives until the process ends.
 *
 * One spawn at a time: the caller hands its job over and sleeps until the
 * thread has run it.  Every signal is blocked on the thread, as on the
 * library's other threads.  After a fork the child has no such thread and
 * starts afresh (p2i_spawner_forked).
 */
#include "config.h"

#include "sys/sys.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>

#define SPAWNER_STACK (64 * 1024)

struct call {
    const struct p2i_spawn_job *job;
    pid_t pid;
    int r;
    bool done;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER; /* a call taken or done */
static bool running;         /* the thread exists */
static bool forever;         /* a child it cannot watch: never end */
static struct wake wake = {-1, -1};
static struct call *pending; /* the call handed over, until done */
static int *watched;         /* pidfds of children that may still run */
static size_t n_watched, cap_watched;

/* Keeps the pidfd of a child just started; mu held. */
static void watch_locked(pid_t pid)
{
    int fd = p2i_process_open(pid), *v;

    if (fd == -ESRCH)
        return; /* reaped already: nothing left to signal */
    if (fd < 0) {
        forever = true;
        return;
    }
    if (n_watched == cap_watched) {
        v = realloc(watched, (cap_watched * 2 + 4) * sizeof *v);
        if (!v) {
            p2i_fd_close(fd);
            forever = true;
            return;
        }
        watched = v;
        cap_watched = cap_watched * 2 + 4;
    }
    watched[n_watched++] = fd;
}

/* Forgets the children that have exited (their pidfd reads ready). */
static void sweep_locked(const struct pollfd *pf, size_t n)
{
    size_t i, k;

    for (i = k = 0; i < n_watched; i++) {
        if (i < n && pf[i].fd == watched[i] && (pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
            p2i_fd_close(watched[i]);
        else
            watched[k++] = watched[i];
    }
    n_watched = k;
}

static void *spawner_main(void *arg)
{
    struct pollfd *pf = NULL;
    size_t n = 0, i;
    struct call *c;

    (void)arg;
    pthread_mutex_lock(&mu);
    for (;;) {
        p2i_wake_clear(&wake);
        if (pf)
            sweep_locked(pf + 1, n);
        if ((c = pending) != NULL && !c->done) {
            pthread_mutex_unlock(&mu);
            c->r = p2i_spawn_setup_run(c->job, &c->pid);
            pthread_mutex_lock(&mu);
            if (c->r == 0)
                watch_locked(c->pid);
            c->done = true;
            pending = NULL;
            pthread_cond_broadcast(&cond);
        }
        if (!n_watched && !forever && !pending)
            break;
        free(pf);
        n = n_watched;
        pf = malloc((n + 1) * sizeof *pf);
        if (!pf) {
            forever = true;
            n = 0;
            pf = NULL;
            pthread_mutex_unlock(&mu);
            /* Out of memory: go on serving calls without watching. */
            poll(&(struct pollfd){.fd = wake.rfd, .events = POLLIN}, 1, -1);
            pthread_mutex_lock(&mu);
            continue;
        }
        pf[0] = (struct pollfd){.fd = wake.rfd, .events = POLLIN};
        for (i = 0; i < n; i++)
            pf[i + 1] = (struct pollfd){.fd = watched[i], .events = POLLIN};
        pthread_mutex_unlock(&mu);
        while (poll(pf, n + 1, -1) < 0 && errno == EINTR)
            ;
        pthread_mutex_lock(&mu);
    }
    running = false;
    p2i_wake_close(&wake);
    wake = (struct wake){-1, -1};
    pthread_mutex_unlock(&mu);
    free(pf);
    return NULL;
}

/* Starts the thread; mu held.  0 or -errno. */
static int start_locked(void)
{
    pthread_attr_t attr;
    pthread_t tid;
    sigset_t all, old;
    int r;

    r = p2i_wake_open(&wake);
    if (r < 0)
        return r;
    r = pthread_attr_init(&attr);
    if (r == 0) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, p2i_thread_stack_size(SPAWNER_STACK));
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        r = pthread_create(&tid, &attr, spawner_main, NULL);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        pthread_attr_destroy(&attr);
    }
    if (r) {
        p2i_wake_close(&wake);
        wake = (struct wake){-1, -1};
        return -r;
    }
    running = true;
    return 0;
}

int p2i_spawner_run(const struct p2i_spawn_job *job, pid_t *pid)
{
    struct call c = {.job = job, .r = 0, .done = false};
    int r = 0, cancel;

    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
    pthread_mutex_lock(&mu);
    while (pending)
        pthread_cond_wait(&cond, &mu);
    if (!running)
        r = start_locked();
    if (r == 0) {
        pending = &c;
        p2i_wake_signal(&wake);
        while (!c.done)
            pthread_cond_wait(&cond, &mu);
        r = c.r;
        if (r == 0)
            *pid = c.pid;
    }
    pthread_mutex_unlock(&mu);
    pthread_setcancelstate(cancel, NULL);
    return r;
}

void p2i_spawner_lock(void)
{
    pthread_mutex_lock(&mu);
}

void p2i_spawner_unlock(void)
{
    pthread_mutex_unlock(&mu);
}

/* In a forked child: the thread did not come along, and the children it
 * watched are not this process's.  Async-signal-safe; mu was taken by this
 * thread in p2i_spawner_lock. */
void p2i_spawner_forked(void)
{
    static const pthread_cond_t fresh = PTHREAD_COND_INITIALIZER;
    size_t i;

    for (i = 0; i < n_watched; i++)
        p2i_fd_close(watched[i]);
    n_watched = 0;
    p2i_wake_close(&wake);
    wake = (struct wake){-1, -1};
    running = false;
    forever = false;
    pending = NULL;
    cond = fresh;
    pthread_mutex_unlock(&mu);
}
