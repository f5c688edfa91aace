/* pidfd: the kernel's process handles.
 *
 * A pid is only a number: once a child is reaped the kernel may give it to
 * an unrelated process, and a kill() or waitpid() by number then reaches the
 * stranger.  A pidfd names the process itself.  waitid(P_PIDFD) reaps
 * exactly that process and fails with ECHILD when it is not a child of ours
 * (any more), so a status can only ever be our child's; pidfd_send_signal
 * fails with ESRCH once the process is reaped.
 *
 * The calls go through syscall(): glibc before 2.36 has no wrappers, and a
 * kernel without them says ENOSYS, which sends callers to the pid paths.
 */
#include "config.h"

#include "base.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

#ifndef P_PIDFD
#define P_PIDFD 3 /* linux/wait.h, kernel 5.4 */
#endif
#ifndef PIDFD_SIGNAL_PROCESS_GROUP
#define PIDFD_SIGNAL_PROCESS_GROUP (1U << 2) /* linux/pidfd.h, kernel 6.9 */
#endif

int p2i_pidfd_open(pid_t pid)
{
#if defined(__linux__) && defined(SYS_pidfd_open)
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);

    if (fd < 0)
        return -errno;
    return p2i_fd_lift(fd);
#else
    (void)pid;
    return -ENOSYS;
#endif
}

static int send_signal(int pidfd, int sig, unsigned flags)
{
#if defined(__linux__) && defined(SYS_pidfd_send_signal)
    return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, flags) < 0 ? -errno : 0;
#else
    (void)pidfd;
    (void)sig;
    (void)flags;
    return -ENOSYS;
#endif
}

int p2i_pidfd_signal(int pidfd, pid_t pid, int sig, bool group)
{
    int r;

    if (!group)
        return send_signal(pidfd, sig, 0);
    r = send_signal(pidfd, sig, PIDFD_SIGNAL_PROCESS_GROUP);
    if (r != -EINVAL && r != -ENOSYS)
        return r;
    /* Before Linux 6.9: check through the pidfd that the leader is alive
     * and unreaped, then signal its group by number.  An unreaped leader
     * keeps its group id from being reused, so the number is still ours. */
    r = send_signal(pidfd, 0, 0);
    if (r < 0)
        return r;
    return kill(-pid, sig) < 0 ? -errno : 0;
}

int p2i_pidfd_signal_group(int pidfd, int sig)
{
    int r = send_signal(pidfd, sig, PIDFD_SIGNAL_PROCESS_GROUP);

    /* EINVAL: a kernel without the flag (sig was checked by the caller).
     * There is deliberately no fallback by number here. */
    return r == -EINVAL ? -ENOSYS : r;
}

/* The wait status waitpid would have given for what waitid reports. */
static int status_of(const siginfo_t *si)
{
    switch (si->si_code) {
    case CLD_EXITED:
        return (si->si_status & 0xff) << 8;
    case CLD_DUMPED:
        return (si->si_status & 0x7f) | 0x80;
    default: /* CLD_KILLED */
        return si->si_status & 0x7f;
    }
}

int p2i_pidfd_reap(int pidfd, int *status)
{
    siginfo_t si;
    int r;

    memset(&si, 0, sizeof si);
    do
        r = waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED | WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return -errno;
    if (si.si_pid == 0)
        return 0;
    *status = status_of(&si);
    return 1;
}

int p2i_pid_reap(pid_t pid, int *status)
{
    pid_t r;

    do
        r = waitpid(pid, status, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return -errno;
    return r == pid ? 1 : 0;
}
