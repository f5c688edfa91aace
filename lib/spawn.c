/* spawn: posix_spawn with file actions and attributes, no fork.
 *
 * posix_spawn keeps the create path flat however large the parent is
 * (fork-based spawning measured ~108x slower from a 2 GiB parent), and
 * it leaves the child side to libc, which runs only async-signal-safe code
 * between clone and exec.  Everything the child needs is prepared here, in
 * the parent: the file actions, the signal sets, the argument vector.
 *
 * What the child gets: the three descriptors of the request on 0, 1, 2 and
 * nothing else (every library descriptor is close-on-exec anyway; closefrom
 * also shuts the caller's leaky ones), an empty signal mask and default
 * dispositions for every signal, SIGPIPE included, whatever the parent
 * ignores.  The parent's own mask and dispositions are never touched.
 */
#include "config.h"

#include "popen2.h"
#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

extern char **environ;

#ifndef HAVE_POSIX_SPAWN_FILE_ACTIONS_ADDCLOSEFROM_NP
/* Without addclosefrom, name every inheritable descriptor above 2 in a close
 * action.  This runs in the parent, so it needs no async-signal-safety; a
 * descriptor another thread opens meanwhile without O_CLOEXEC can still slip
 * through, which is why the library's own are all close-on-exec. */
static int add_close_inheritable(posix_spawn_file_actions_t *fa)
{
    long max = sysconf(_SC_OPEN_MAX);
    int fd, r, fl;

    if (max < 0 || max > 65536)
        max = 65536;
    for (fd = 3; fd < max; fd++) {
        fl = fcntl(fd, F_GETFD);
        if (fl < 0 || (fl & FD_CLOEXEC))
            continue;
        r = posix_spawn_file_actions_addclose(fa, fd);
        if (r)
            return r;
    }
    return 0;
}
#endif

/* The posix_spawn flags for popen2_attr_set_group.  A new
 * session makes the child lead a new process group as well. */
static short spawn_group_flags(int group)
{
    if (group == POPEN2_GROUP_NEW)
        return POSIX_SPAWN_SETPGROUP;
#ifdef POSIX_SPAWN_SETSID
    if (group == POPEN2_SESSION_NEW)
        return POSIX_SPAWN_SETSID;
#endif
    return 0;
}

/* glibc keeps the first real-time signals (32 and 33 on Linux: thread
 * cancellation and setxid) for itself: sigfillset leaves them out and
 * sigaddset refuses them, and its posix_spawn sets every signal it was not
 * told to reset, and that it keeps, to SIG_IGN in the child.  Across exec an
 * ignored signal stays ignored, so every child would start with 32 and 33
 * ignored (CPython's subprocess gives them SIG_DFL).  Put them in the set
 * by hand: posix_spawnattr_setsigdefault copies the set as it is, and the
 * child, whose signals are all blocked until just before exec, then resets
 * them to SIG_DFL like the rest. */
static void add_reserved_signals(sigset_t *set)
{
#if defined(__GLIBC__) && defined(__SIGRTMIN)
    unsigned long *words = (unsigned long *)set;
    const int bits = (int)(8 * sizeof words[0]);
    int sig;

    for (sig = __SIGRTMIN; sig < SIGRTMIN; sig++)
        if (sigaddset(set, sig) < 0 && (size_t)(sig - 1) / bits < sizeof *set / sizeof words[0])
            words[(sig - 1) / bits] |= 1UL << ((sig - 1) % bits);
#else
    (void)set;
#endif
}

int p2i_spawn_start(const struct p2i_spawn_request *req, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, defaults;
    int r, i;
    bool fa_ok = false, attr_ok = false;

    r = posix_spawn_file_actions_init(&fa);
    if (r)
        goto finish;
    fa_ok = true;
    r = posix_spawnattr_init(&attr);
    if (r)
        goto finish;
    attr_ok = true;

    /* The request's descriptors are all 3 or above (p2i_fd_pipe), so one dup2
     * cannot overwrite the source of a later one. */
    for (i = 0; i < 3 && r == 0; i++)
        if (req->fd[i] >= 0)
            r = posix_spawn_file_actions_adddup2(&fa, req->fd[i], i);
    /* POPEN2_MERGE with an inherited stdout. */
    if (r == 0 && req->stderr_to_stdout)
        r = posix_spawn_file_actions_adddup2(&fa, 1, 2);
    /* The working directory.  Files named in the attr were
     * opened by the parent (attr.c), relative to the parent's directory; a
     * relative program path is found from the new one, as with subprocess. */
    if (r == 0 && req->cwd) {
#ifdef HAVE_POSIX_SPAWN_FILE_ACTIONS_ADDCHDIR_NP
        r = posix_spawn_file_actions_addchdir_np(&fa, req->cwd);
#else
        r = ENOSYS;
#endif
    }
#ifdef HAVE_POSIX_SPAWN_FILE_ACTIONS_ADDCLOSEFROM_NP
    if (r == 0)
        r = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#else
    if (r == 0)
        r = add_close_inheritable(&fa);
#endif
    if (r)
        goto finish;

    /* Default dispositions for every signal: an ignored SIGPIPE or SIGINT in
     * the parent must not leak into a shell pipeline in the child.  Handlers
     * cannot survive exec anyway, so this only resets the ignored ones. */
    sigemptyset(&none);
    sigfillset(&defaults);
    sigdelset(&defaults, SIGKILL);
    sigdelset(&defaults, SIGSTOP);
    add_reserved_signals(&defaults);
    r = posix_spawnattr_setsigmask(&attr, &none);
    if (r == 0)
        r = posix_spawnattr_setsigdefault(&attr, &defaults);
    if (r == 0)
        r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                                spawn_group_flags(req->group));
    if (r == 0 && req->group == POPEN2_GROUP_NEW)
        r = posix_spawnattr_setpgroup(&attr, 0); /* its own pid as group id */
    if (r)
        goto finish;

    /* glibc and musl report exec failures (ENOENT, EACCES, ENOEXEC) as the
     * return value and reap the failed child themselves.  posix_spawnp does
     * not retry ENOEXEC through /bin/sh, unlike execvp. */
    if (req->search_path)
        r = posix_spawnp(pid, req->file, &fa, &attr, req->argv, req->envp ? req->envp : environ);
    else
        r = posix_spawn(pid, req->file, &fa, &attr, req->argv, req->envp ? req->envp : environ);
finish:
    if (attr_ok)
        posix_spawnattr_destroy(&attr);
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    return -r;
}
