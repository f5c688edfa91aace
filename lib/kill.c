/* kill: the child's pidfd, signals and timed waits.
 *
 * A pid is only a number: once a child is reaped the kernel may give it to
 * an unrelated process, so kill(pid) after a reap can hit a stranger.  The
 * object therefore (1) never signals a child it has reaped (ESRCH), with the
 * check and the signal under proc->mu, where reaping also happens, and (2)
 * holds a pidfd opened right after the spawn, which names this very process
 * whatever happens to the number, and signals through it.  Only a waitpid(-1)
 * elsewhere in the caller's program could reap our child behind our back;
 * the pidfd keeps even that case from reaching a stranger.
 *
 * A child that leads its own process group (popen2_attr_set_group) is
 * signalled as a group: pidfd_send_signal's PIDFD_SIGNAL_PROCESS_GROUP where
 * the kernel has it (6.9), else kill(-pgid), safe because an unreaped leader
 * keeps its group id from being reused.
 *
 * Timed waits sleep in poll() on the pidfd, which becomes readable when the
 * child exits, then reap under the lock as popen2_wait does; without a pidfd
 * they look every few milliseconds with waitid(WNOHANG | WNOWAIT).
 */
#include "config.h"

#include "extras.h"
#include "proc.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

#ifndef PIDFD_SIGNAL_PROCESS_GROUP
#define PIDFD_SIGNAL_PROCESS_GROUP (1U << 2) /* linux/pidfd.h, kernel 6.9 */
#endif

/* The fallback's look interval: short enough for a prompt timeout, long
 * enough to cost nothing. */
#define POLL_STEP_MS 5

/* Raw system calls: glibc before 2.36 has no wrappers, and a kernel without
 * them says ENOSYS, which sends us down the fallback paths. */
static int sys_pidfd_open(pid_t pid)
{
#if defined(__linux__) && defined(SYS_pidfd_open)
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

static int sys_pidfd_send_signal(int pidfd, int sig, unsigned flags)
{
#if defined(__linux__) && defined(SYS_pidfd_send_signal)
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, flags);
#else
    (void)pidfd;
    (void)sig;
    (void)flags;
    errno = ENOSYS;
    return -1;
#endif
}

int kill_pidfd_locked(struct popen2_proc *p)
{
    int fd;

    if (p->pidfd >= 0 || p->pidfd_tried || p->reaped || p->pid <= 0)
        return p->pidfd;
    p->pidfd_tried = true;
    fd = sys_pidfd_open(p->pid);
    /* No pidfd (old kernel, seccomp): the reaped-check alone protects. */
    p->pidfd = fd < 0 ? -1 : fd_lift(fd);
    if (p->pidfd < 0)
        p->pidfd = -1;
    return p->pidfd;
}

void kill_destroy(struct popen2_proc *p)
{
    p->pidfd = fd_close(p->pidfd);
}

/* proc->mu held, child not reaped. */
static int signal_locked(struct popen2_proc *p, int sig)
{
    if (p->group_leader) {
        if (p->pidfd >= 0) {
            if (sys_pidfd_send_signal(p->pidfd, sig, PIDFD_SIGNAL_PROCESS_GROUP) == 0)
                return 0;
            if (errno != EINVAL && errno != ENOSYS)
                return -errno;
            /* Older kernel: check through the pidfd that the leader is ours
             * and unreaped, then signal its group by number. */
            if (sys_pidfd_send_signal(p->pidfd, 0, 0) < 0 && errno != ENOSYS)
                return -errno;
        }
        return kill(-p->pid, sig) < 0 ? -errno : 0;
    }
    if (p->pidfd >= 0) {
        if (sys_pidfd_send_signal(p->pidfd, sig, 0) == 0)
            return 0;
        if (errno != ENOSYS)
            return -errno;
    }
    return kill(p->pid, sig) < 0 ? -errno : 0;
}

int popen2_send_signal(popen2_proc *p, int sig)
{
    int r;

    if (!p || sig < 0 || sig >= NSIG) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&p->mu);
    if (!p->reaped)
        kill_pidfd_locked(p);
    r = p->reaped || p->pid <= 0 ? -ESRCH : signal_locked(p, sig);
    pthread_mutex_unlock(&p->mu);
    if (r < 0) {
        errno = -r;
        return -1;
    }
    return 0;
}

int popen2_terminate(popen2_proc *p)
{
    return popen2_send_signal(p, SIGTERM);
}

int popen2_kill(popen2_proc *p)
{
    return popen2_send_signal(p, SIGKILL);
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int popen2_wait_timeout(popen2_proc *p, int timeout_ms)
{
    long long deadline, left;
    siginfo_t si;
    struct pollfd pfd;
    int st, r, pidfd;

    if (!p || timeout_ms < -1) {
        errno = EINVAL;
        return -1;
    }
    if (timeout_ms == -1)
        return popen2_wait(p);
    deadline = now_ms() + timeout_ms;
    pthread_mutex_lock(&p->mu);
    pidfd = kill_pidfd_locked(p);
    pthread_mutex_unlock(&p->mu);
    for (;;) {
        st = popen2_poll(p); /* reaps under the lock, as popen2_wait does */
        if (st != -1)
            return st;
        /* Not reaped: exited (reap on the next round), running, or reaped
         * behind the library's back (ECHILD, as popen2_wait says). */
        memset(&si, 0, sizeof si);
        r = waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT);
        if (r < 0 && errno == ECHILD) {
            st = popen2_poll(p); /* another thread may have just reaped it */
            if (st != -1)
                return st;
            errno = ECHILD;
            return -1;
        }
        if (r == 0 && si.si_pid == p->pid)
            continue;
        left = deadline - now_ms();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        /* The pidfd is closed only when the object is destroyed, so it is
         * safe to poll here while another thread reaps. */
        if (pidfd >= 0) {
            pfd.fd = pidfd;
            pfd.events = POLLIN;
            poll(&pfd, 1, (int)left);
        } else {
            poll(NULL, 0, (int)(left < POLL_STEP_MS ? left : POLL_STEP_MS));
        }
    }
}
