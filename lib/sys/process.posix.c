/* pidfd: the kernel's process handles.
 *
 * A pid is only a number: once a child is reaped the kernel may give it to
 * an unrelated process, and a kill() or waitpid() by number then reaches the
 * stranger.  A pidfd names the process itself.  waitid(P_PIDFD) reaps
 * exactly that process and fails with ECHILD when it is not a child of ours
 * (any more), so a status can only ever be our child's; pidfd_send_signal
 * fails with ESRCH once the process is reaped.
 *
 * The calls go through syscall(): glibc before 2.36 has no wrappers.  A
 * kernel without them, or a sandbox's seccomp filter that refuses them,
 * sends the signals and the reaping to the number; before each call by
 * number the pidfd shows that the number is still the process's (running,
 * or exited and not yet reaped: the kernel gives a number to nobody else
 * while its process is unreaped).
 */
#include "config.h"

#include "sys/sys.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

/* Without a pidfd a timed wait looks this often: short enough for a prompt
 * timeout, long enough to cost nothing. */
#define POLL_STEP_MS 5

#ifndef P_PIDFD
#define P_PIDFD 3 /* linux/wait.h, kernel 5.4 */
#endif
#ifndef PIDFD_SIGNAL_PROCESS_GROUP
#define PIDFD_SIGNAL_PROCESS_GROUP (1U << 2) /* linux/pidfd.h, kernel 6.9 */
#endif

int p2i_process_open(pid_t pid)
{
#if defined(__linux__) && HAVE_DECL_SYS_PIDFD_OPEN
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
#if defined(__linux__) && HAVE_DECL_SYS_PIDFD_SEND_SIGNAL
    if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, flags) == 0)
        return 0;
    /* Refusals, as -ENOSYS: ENOSYS from a kernel before 5.1 or a filter;
     * EPERM from a filter (a real lack of permission comes back from the
     * kill() by number as well, so it is not lost there); EINVAL for the
     * group flag before Linux 6.9 (sig was checked by the caller, so
     * nothing else makes it EINVAL). */
    if (errno == ENOSYS || errno == EPERM || (errno == EINVAL && flags != 0))
        return -ENOSYS;
    return -errno;
#else
    (void)pidfd;
    (void)sig;
    (void)flags;
    return -ENOSYS;
#endif
}

/* Where the process stands, by its pidfd, for a call by number: 0 while it
 * runs, 1 once it has exited but is not reaped (a zombie, still holding
 * its number), -ESRCH once it is reaped (the number may be another's now),
 * or another -errno.  Reaps nothing. */
static int number_state(int pidfd, pid_t pid)
{
    struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
    siginfo_t si;
    int r;

    do
        r = poll(&pfd, 1, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return -errno;
    if (pfd.revents & POLLNVAL)
        return -EBADF;
    /* A pidfd is readable once the process has exited. */
    if (!(pfd.revents & (POLLIN | POLLHUP)))
        return 0;
    /* Linux 6.9 adds POLLHUP once it is reaped. */
    if (pfd.revents & POLLHUP)
        return -ESRCH;
    /* Before that, signal 0 tells a zombie (0) from a reaped one (ESRCH). */
    r = send_signal(pidfd, 0, 0);
    if (r != -ENOSYS)
        return r == 0 ? 1 : r;
    /* Refused too: the look of the pid path, without reaping.  A process
     * running under the number is not ours, which has exited; a zombie
     * under it is ours unless ours was reaped elsewhere and the number
     * went to another child of this program that has exited as well,
     * which is what the pid path cannot rule out either. */
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
        return errno == ECHILD ? -ESRCH : -errno;
    return si.si_pid == pid ? 1 : -ESRCH;
}

int p2i_process_signal(int pidfd, pid_t pid, int sig, bool group)
{
    int r;

    if (pidfd < 0) /* no pidfds here: the caller keeps to the number */
        return kill(group ? -pid : pid, sig) < 0 ? -errno : 0;
    r = send_signal(pidfd, sig, group ? PIDFD_SIGNAL_PROCESS_GROUP : 0);

    if (r != -ENOSYS)
        return r;
    /* By number, after checking through the pidfd that the process is not
     * reaped: its number, and as its group's leader its group's number, is
     * then still ours. */
    r = number_state(pidfd, pid);
    if (r < 0)
        return r;
    return kill(group ? -pid : pid, sig) < 0 ? -errno : 0;
}

int p2i_process_signal_group(int pidfd, int sig)
{
    /* There is deliberately no fallback by number here: the leader is
     * reaped, so its number may name a stranger's group. */
    return send_signal(pidfd, sig, PIDFD_SIGNAL_PROCESS_GROUP);
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

/* x32 takes the compat waitid, whose struct rusage is not __kernel_long_t's. */
#if defined(__linux__) && defined(SYS_waitid) && !(defined(__x86_64__) && defined(__ILP32__))
/* The kernel's struct rusage as its waitid writes it: __kernel_long_t
 * throughout, which is long on every Linux ABI but x32 (left out above).
 * Spelled long rather than taken from <asm/posix_types.h>, which C
 * libraries' toolchains such as musl-gcc do not ship.  The C library's
 * struct rusage is the same on 64-bit systems but not on 32-bit ones built
 * with a 64-bit time_t, so the fields are copied. */
struct kernel_rusage {
    long utime[2], stime[2];
    long rest[14]; /* ru_maxrss ... ru_nivcsw, in struct rusage's order */
};

static void rusage_of(const struct kernel_rusage *k, struct rusage *ru)
{
    memset(ru, 0, sizeof *ru);
    ru->ru_utime.tv_sec = k->utime[0];
    ru->ru_utime.tv_usec = k->utime[1];
    ru->ru_stime.tv_sec = k->stime[0];
    ru->ru_stime.tv_usec = k->stime[1];
    ru->ru_maxrss = k->rest[0];
    ru->ru_ixrss = k->rest[1];
    ru->ru_idrss = k->rest[2];
    ru->ru_isrss = k->rest[3];
    ru->ru_minflt = k->rest[4];
    ru->ru_majflt = k->rest[5];
    ru->ru_nswap = k->rest[6];
    ru->ru_inblock = k->rest[7];
    ru->ru_oublock = k->rest[8];
    ru->ru_msgsnd = k->rest[9];
    ru->ru_msgrcv = k->rest[10];
    ru->ru_nsignals = k->rest[11];
    ru->ru_nvcsw = k->rest[12];
    ru->ru_nivcsw = k->rest[13];
}

/* waitid(P_PIDFD) as the kernel has it: glibc's waitid drops the fifth
 * argument, the reaped child's resource usage, which exists only at the
 * reap.  0 or -1 with errno, as waitid. */
static int waitid_pidfd(int pidfd, siginfo_t *si, struct rusage *ru)
{
    struct kernel_rusage k;

    if (syscall(SYS_waitid, P_PIDFD, pidfd, si, WEXITED | WNOHANG, ru ? &k : NULL) < 0)
        return -1;
    if (ru && si->si_pid != 0)
        rusage_of(&k, ru);
    return 0;
}
#else
/* Without the raw call a usage asked for is had from wait4 by number, which
 * the refusal (ENOSYS) leads p2i_process_reap to once the pidfd has shown
 * the child exited and unreaped. */
static int waitid_pidfd(int pidfd, siginfo_t *si, struct rusage *ru)
{
    if (ru) {
        errno = ENOSYS;
        return -1;
    }
    return waitid((idtype_t)P_PIDFD, (id_t)pidfd, si, WEXITED | WNOHANG);
}
#endif

/* Python 3's returncode of a wait status; only exits and deaths are waited
 * for (WEXITED), never stops. */
static long code_of(int status)
{
    return WIFSIGNALED(status) ? -(long)WTERMSIG(status) : (long)WEXITSTATUS(status);
}

int p2i_process_reap(int pidfd, pid_t pid, int *status, struct rusage *ru, long *code)
{
    siginfo_t si;
    int r;

    memset(&si, 0, sizeof si);
    do
        r = waitid_pidfd(pidfd, &si, ru);
    while (r < 0 && errno == EINTR);
    if (r == 0) {
        if (si.si_pid == 0)
            return 0;
        *status = status_of(&si);
        if (code)
            *code = code_of(*status);
        return 1;
    }
    /* Refusals: EINVAL from Linux 5.3, which has pidfds but not P_PIDFD
     * (the options are valid everywhere, so nothing else makes it EINVAL);
     * ENOSYS or EPERM from a filter (waitid itself never says either).
     * Anything else (ECHILD: not our child any more) is the answer. */
    if (errno != EINVAL && errno != ENOSYS && errno != EPERM)
        return -errno;
    r = number_state(pidfd, pid);
    if (r <= 0)
        return r == -ESRCH ? -ECHILD : r;
    r = p2i_process_reap_pid(pid, status, ru, code);
    /* Exited, yet not reapable under its number: reaped elsewhere just now. */
    return r == 0 ? -ECHILD : r;
}

int p2i_process_reap_pid(pid_t pid, int *status, struct rusage *ru, long *code)
{
    pid_t r;

    /* wait4 is waitpid with the reaped child's resource usage. */
    do
        r = wait4(pid, status, WNOHANG, ru);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return -errno;
    if (r != pid)
        return 0;
    if (code)
        *code = code_of(*status);
    return 1;
}

bool p2i_process_gone(pid_t pid)
{
    siginfo_t si;

    memset(&si, 0, sizeof si);
    return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD;
}

int p2i_process_sleep(int pidfd, pid_t pid, int ms)
{
    struct pollfd pfd;
    siginfo_t si;
    int flags = WEXITED | WNOWAIT;

    /* The caller closes the pidfd only when its object is destroyed, so
     * polling it here while another thread reaps is safe. */
    if (pidfd >= 0) {
        pfd.fd = pidfd;
        pfd.events = POLLIN;
        return poll(&pfd, 1, ms) < 0 && errno != EINTR ? -errno : 0;
    }
    /* By number: the child is not reaped (the caller looked), so the number
     * is still ours unless something else in the program reaps. */
    if (ms >= 0)
        flags |= WNOHANG;
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, (id_t)pid, &si, flags) == 0) {
        if (si.si_pid == pid)
            return 0;
    } else if (errno != EINTR && errno != ECHILD) {
        /* ECHILD: reaped elsewhere, which the caller's reap records. */
        return -errno;
    }
    if (ms >= 0)
        poll(NULL, 0, ms < POLL_STEP_MS ? ms : POLL_STEP_MS);
    return 0;
}
