/* spawn_setup: the second spawn path, for the child setup posix_spawn has
 * no action for: umask, resource limits, user and group ids, no_new_privs
 * and the parent-death signal.
 *
 * The child is a clone(CLONE_VM | CLONE_VFORK) on a stack of its own, as
 * glibc's posix_spawn makes it: no page tables are copied, so the cost stays
 * flat however large the parent is, and the parent thread sleeps until the
 * child has exec'ed or exited.  The child shares the parent's memory, so
 * between clone and exec it makes raw system calls only: no malloc, no
 * locks, no errno of its own, and none of glibc's set*id wrappers, which
 * broadcast the change to every thread of the calling process (SIGSETXID)
 * -- here that process would be the parent.
 *
 * The child does what spawn.posix.c's posix_spawn does: default dispositions
 * for every signal (the parent blocks them all around the clone, so no
 * handler of the parent can run in the child meanwhile), the process group
 * or session, the descriptors (0-2, then the passed ones, then every other
 * descriptor closed), the working directory; then the setup, in this order:
 *
 *   umask, rlimits    (so the limits bind the id changes' own calls too)
 *   setgroups, setgid, setuid   (groups first: dropping the uid first would
 *                     take the privilege the other two need)
 *   PR_SET_NO_NEW_PRIVS
 *   PR_SET_PDEATHSIG  (last: the kernel clears it at a credential change)
 *
 * and then an empty signal mask and execve.  A step that fails writes its
 * errno to a close-on-exec pipe and the child exits; the parent reads the
 * pipe (EOF: exec succeeded), reaps a failed child, and returns the errno,
 * so creation fails synchronously and leaves nothing behind.  The pipe
 * rather than the shared memory carries the errno because a checker that
 * turns the clone into a fork (valgrind) still sees it then.
 */
#include "config.h"

#include "popen2.h"
#include "sys/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef __linux__
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif

/* An rlim_t as the kernel's 64-bit prlimit takes it. */
static unsigned long long rlim64(rlim_t v)
{
    return v == RLIM_INFINITY ? ~0ULL : (unsigned long long)v;
}

int p2i_rlimit_widen(int resource, const struct rlimit *rl, struct p2i_rlimit_set *out)
{
    struct rlimit now;

    /* getrlimit knows the resources of this system: EINVAL for the rest. */
    if (!rl || resource < 0 || getrlimit(resource, &now) < 0)
        return -EINVAL;
    if (rlim64(rl->rlim_cur) > rlim64(rl->rlim_max))
        return -EINVAL;
    *out = (struct p2i_rlimit_set){resource, rlim64(rl->rlim_cur), rlim64(rl->rlim_max)};
    return 0;
}

long p2i_ngroups_max(void)
{
    return sysconf(_SC_NGROUPS_MAX);
}

bool p2i_spawn_setup_needs_child(const struct p2i_spawn_setup *s)
{
    return s && (s->set_umask || s->n_rlimits || s->set_ids || s->no_new_privs || s->pdeath_sig);
}

#if defined(__linux__) && defined(SYS_rt_sigaction) && defined(SYS_prlimit64) && \
    defined(SYS_dup3) && defined(SYS_execve)

/* The kernel's sigaction, as rt_sigaction takes it where sa_restorer
 * exists; only SIG_DFL is ever set, so the layout beyond the handler only
 * needs zeros of the right size. */
struct ksigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    unsigned long mask[2];
};

#define KSIGSET_BYTES 8 /* _NSIG / 8 on every Linux architecture but MIPS */

#ifdef SYS_setuid32
#define RAW_SETUID SYS_setuid32 /* 32-bit ids where the plain call has 16 */
#define RAW_SETGID SYS_setgid32
#define RAW_SETGROUPS SYS_setgroups32
#else
#define RAW_SETUID SYS_setuid
#define RAW_SETGID SYS_setgid
#define RAW_SETGROUPS SYS_setgroups
#endif

#define CHILD_STACK (64 * 1024)

/* ThreadSanitizer's clone interceptor runs its fork bookkeeping in the
 * child (it forgets every descriptor's history), which in a child sharing
 * our memory would be the parent's books: under it the child is a plain
 * fork-like clone instead, slower but the same to the program. */
#if defined(__SANITIZE_THREAD__)
#define SHARE_MEMORY 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SHARE_MEMORY 0
#endif
#endif
#ifndef SHARE_MEMORY
#define SHARE_MEMORY (CLONE_VM | CLONE_VFORK)
#endif

/* The child's code runs on a stack and in a process the sanitizers' books
 * know nothing of; it is all raw system calls anyway. */
#if defined(__GNUC__) && !defined(__clang__)
#define CHILD_CODE __attribute__((no_sanitize_address, no_sanitize_thread, no_sanitize_undefined))
#elif defined(__clang__)
#define CHILD_CODE __attribute__((no_sanitize("address", "thread", "undefined")))
#else
#define CHILD_CODE
#endif

struct child_args {
    const struct p2i_spawn_job *job;
    int err_fd;     /* the error pipe's write end, above every target */
    pid_t parent;   /* getpid() before the clone */
    long open_max;  /* where a close loop ends without close_range */
};

/* Raw system call: the result, or -errno, without touching errno (which in
 * this child would be the parent thread's). */
CHILD_CODE static long raw(long nr, long a, long b, long c, long d, long e)
{
    long r;
    int saved = errno;

    r = syscall(nr, a, b, c, d, e);
    if (r == -1) {
        r = -errno;
        errno = saved;
    }
    return r;
}

CHILD_CODE static void raw_close_range(unsigned lo, unsigned hi, long open_max)
{
    long fd;

    if (lo > hi)
        return;
#ifdef SYS_close_range
    if (raw(SYS_close_range, lo, hi, 0, 0, 0) == 0)
        return;
#endif
    for (fd = lo; fd <= (long)hi && fd < open_max; fd++)
        raw(SYS_close, fd, 0, 0, 0, 0);
}

CHILD_CODE static bool is_target(const struct p2i_spawn_job *j, int fd)
{
    size_t i;

    for (i = 0; i < j->n_pass; i++)
        if (j->pass_to[i] == fd)
            return true;
    return false;
}

/* The descriptors: 0-2 from the request (all 3 or above, so no dup onto
 * 0-2 clobbers another source), the passed ones from their copies above
 * max_target, then every other descriptor closed but the error pipe. */
CHILD_CODE static long child_fds(const struct p2i_spawn_job *j, int err_fd, long open_max)
{
    long r = 0;
    size_t i;
    int fd;

    for (i = 0; i < 3 && r >= 0; i++)
        if (j->fd[i] >= 0)
            r = raw(SYS_dup3, j->fd[i], (long)i, 0, 0, 0);
    if (r >= 0 && j->stderr_to_stdout)
        r = raw(SYS_dup3, 1, 2, 0, 0, 0);
    for (i = 0; i < j->n_pass && r >= 0; i++)
        r = raw(SYS_dup3, j->pass_from[i], j->pass_to[i], 0, 0, 0);
    if (r < 0)
        return r;
    for (fd = 3; fd <= j->max_target; fd++)
        if (!is_target(j, fd))
            raw(SYS_close, fd, 0, 0, 0, 0);
    raw_close_range((unsigned)j->max_target + 1, (unsigned)err_fd - 1, open_max);
    raw_close_range((unsigned)err_fd + 1, ~0U, open_max);
    return 0;
}

CHILD_CODE static long child_ids(const struct p2i_spawn_setup *s)
{
    long r = 0;

    if (s->set_groups)
        r = raw(RAW_SETGROUPS, (long)s->n_groups, (long)(uintptr_t)s->groups, 0, 0, 0);
    if (r >= 0 && s->gid != (gid_t)-1)
        r = raw(RAW_SETGID, (long)s->gid, 0, 0, 0, 0);
    if (r >= 0 && s->uid != (uid_t)-1)
        r = raw(RAW_SETUID, (long)s->uid, 0, 0, 0, 0);
    return r;
}

/* Only raw system calls from here to execve (see the top of the file). */
CHILD_CODE static int child_main(void *arg)
{
    const struct child_args *a = arg;
    const struct p2i_spawn_job *j = a->job;
    const struct p2i_spawn_setup *s = j->setup;
    static const struct ksigaction dfl = {SIG_DFL, 0, NULL, {0, 0}};
    unsigned long empty[2] = {0, 0};
    long r = 0;
    size_t i;
    int sig, err;

    for (sig = 1; sig < 65; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            raw(SYS_rt_sigaction, sig, (long)(uintptr_t)&dfl, 0, KSIGSET_BYTES, 0);
    if (j->group == POPEN2_GROUP_NEW)
        r = raw(SYS_setpgid, 0, 0, 0, 0, 0);
    else if (j->group == POPEN2_SESSION_NEW)
        r = raw(SYS_setsid, 0, 0, 0, 0, 0);
    if (r >= 0)
        r = child_fds(j, a->err_fd, a->open_max);
    /* After setsid: the terminal becomes the new session's. */
    if (r >= 0 && j->tty_fd >= 0)
        r = raw(SYS_ioctl, j->tty_fd, TIOCSCTTY, 0, 0, 0);
    if (r >= 0 && j->cwd)
        r = raw(SYS_chdir, (long)(uintptr_t)j->cwd, 0, 0, 0, 0);
    if (r >= 0 && s->set_umask)
        raw(SYS_umask, (long)s->umask, 0, 0, 0, 0);
    for (i = 0; i < s->n_rlimits && r >= 0; i++) {
        unsigned long long rl[2] = {s->rlimits[i].cur, s->rlimits[i].max};

        r = raw(SYS_prlimit64, 0, s->rlimits[i].resource, (long)(uintptr_t)rl, 0, 0);
    }
    if (r >= 0 && s->set_ids)
        r = child_ids(s);
    if (r >= 0 && s->no_new_privs)
        r = raw(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (r >= 0 && s->pdeath_sig) {
        r = raw(SYS_prctl, PR_SET_PDEATHSIG, s->pdeath_sig, 0, 0, 0);
        /* The parent may have ended before the prctl: the child was then
         * reparented already, and no signal will ever come. */
        if (r >= 0 && raw(SYS_getppid, 0, 0, 0, 0, 0) != a->parent) {
            raw(SYS_rt_sigprocmask, SIG_SETMASK, (long)(uintptr_t)empty, 0, KSIGSET_BYTES, 0);
            raw(SYS_kill, raw(SYS_getpid, 0, 0, 0, 0, 0), s->pdeath_sig, 0, 0, 0);
            raw(SYS_exit_group, 127, 0, 0, 0, 0);
        }
    }
    if (r >= 0) {
        raw(SYS_rt_sigprocmask, SIG_SETMASK, (long)(uintptr_t)empty, 0, KSIGSET_BYTES, 0);
        r = raw(SYS_execve, (long)(uintptr_t)j->file, (long)(uintptr_t)j->argv,
                (long)(uintptr_t)j->envp, 0, 0);
    }
    err = (int)-r;
    raw(SYS_write, a->err_fd, (long)(uintptr_t)&err, sizeof err, 0, 0);
    raw(SYS_exit_group, 127, 0, 0, 0, 0);
    return 127;
}

/* Reads the child's report: 0 at EOF (it exec'ed), else its errno. */
static int read_report(int fd)
{
    int err = 0;
    size_t got = 0;
    ssize_t k;

    while (got < sizeof err) {
        k = read(fd, (char *)&err + got, sizeof err - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    return got == sizeof err ? (err ? err : EIO) : 0;
}

int p2i_spawn_setup_run(const struct p2i_spawn_job *job, pid_t *pid)
{
    unsigned long all[2] = {~0UL, ~0UL}, old[2];
    struct child_args args;
    int pipefd[2], lifted, r, st, cancel;
    long open_max = sysconf(_SC_OPEN_MAX);
    void *stack;
    pid_t child;

    if (open_max < 0 || open_max > 65536)
        open_max = 65536;
    r = p2i_fd_pipe(pipefd);
    if (r < 0)
        return r;
    /* The write end must survive the child's dup2 onto its targets. */
    if (pipefd[1] <= job->max_target) {
        lifted = fcntl(pipefd[1], F_DUPFD_CLOEXEC, job->max_target + 1);
        if (lifted < 0) {
            r = -errno;
            goto out_pipe;
        }
        p2i_fd_close(pipefd[1]);
        pipefd[1] = lifted;
    }
    stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                 -1, 0);
    if (stack == MAP_FAILED) {
        r = -errno;
        goto out_pipe;
    }
    args = (struct child_args){
        .job = job, .err_fd = pipefd[1], .parent = getpid(), .open_max = open_max};
    /* Every signal blocked, glibc's own too (a raw call: sigfillset leaves
     * them out), so no handler of the parent runs on the child's stack; the
     * child gives the blocked ones default dispositions before unblocking. */
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, all, old, KSIGSET_BYTES);
    child = clone(child_main, (char *)stack + CHILD_STACK, SHARE_MEMORY | SIGCHLD, &args);
    r = child < 0 ? -errno : 0;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, old, NULL, KSIGSET_BYTES);
    munmap(stack, CHILD_STACK);
    pipefd[1] = p2i_fd_close(pipefd[1]);
    if (r == 0) {
        r = -read_report(pipefd[0]);
        if (r < 0) {
            while (waitpid(child, &st, 0) < 0 && errno == EINTR)
                ;
        } else {
            *pid = child;
        }
    }
    pthread_setcancelstate(cancel, NULL);
out_pipe:
    p2i_fd_close(pipefd[0]);
    p2i_fd_close(pipefd[1]);
    return r;
}

bool p2i_spawn_setup_supported(void)
{
    return true;
}

#else

bool p2i_spawn_setup_supported(void)
{
    return false;
}

int p2i_spawn_setup_run(const struct p2i_spawn_job *job, pid_t *pid)
{
    (void)job;
    (void)pid;
    return -ENOSYS;
}

#endif
