/* sys: the library's lowest layer, the operating system's primitives every
 * other layer builds on.  Nothing here knows about rings, channels, objects
 * or the library's own state.  A file named for a platform (fd.posix.c) is
 * that platform's half of a primitive; a second platform adds its own file
 * beside it, behind these same declarations.
 *
 *   fd.posix.c       descriptors: close-on-exec pipes numbered 3 and up,
 *                    pipe sizing
 *   wake.posix.c     wake-up descriptors, to interrupt a poll()
 *   pollset.posix.c  a set of descriptors asked for readiness at once
 *   thread.posix.c   what a new thread's stack must hold
 *   clock.posix.c    the monotonic clock in milliseconds, for timeouts
 *   clock.c          deadlines on that clock (the same everywhere)
 *   memory.posix.c   how much memory the machine has; faulting fresh pages
 *                    in ahead of a writer
 *   spawn.posix.c    posix_spawn with the child's descriptors, environment
 *                    and signals
 *   spawn_setup.posix.c  the second spawn path, for the setup posix_spawn
 *                    cannot do (umask, rlimits, ids, prctl): a vfork-like
 *                    clone whose child makes raw system calls only
 *   spawner.posix.c  the thread that starts children with a parent-death
 *                    signal, living while they do
 *   spill.posix.c    the unlinked temporary file behind a spilling ring
 *   pty.posix.c      the pseudo-terminal behind POPEN2_PTY streams
 *   process.posix.c  the kernel's process handles: open, signal, wait
 *   cfile.posix.c    a FILE * made of a read or write callback
 *   bell.c           a wake-up without a descriptor, waited for with a
 *                    deadline (pthreads only: the same everywhere)
 *
 * The Windows halves (*.windows.c) keep descriptors as the C runtime's
 * (_open_osfhandle over pipe handles), so the layers above use the same
 * int everywhere; what Windows cannot do says -ENOSYS.
 *
 * Every global name of the library that is not exported starts with p2i_, so
 * the static archive links into programs that have their own fd_close or
 * ringbuf_init.  Internal functions return 0 (or a count) or -errno.
 */
#ifndef POPEN2_SYS_H
#define POPEN2_SYS_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#ifndef _WIN32
#include <sys/resource.h>
#include <sys/wait.h>
#endif
#include <sys/types.h>
#include <time.h>

#ifdef _WIN32
#include "popen2.h" /* uid_t, gid_t, struct rusage where Windows lacks them */
/* The signal numbers the library's own calls name, where Windows has no
 * such signals: the process calls take SIGTERM and SIGKILL (both end the
 * process), and say EINVAL for the others. */
#ifndef SIGKILL
#define SIGKILL 9
#endif
#ifndef SIGPIPE
#define SIGPIPE 13
#endif
#ifndef SIGCONT
#define SIGCONT 18
#endif
#ifndef SIGSTOP
#define SIGSTOP 19
#endif
/* open()'s close-on-exec is "not inherited" there; files are binary. */
#include <fcntl.h>
#ifndef O_CLOEXEC
#define O_CLOEXEC (_O_NOINHERIT | _O_BINARY)
#endif
#include <string.h>
/* memrchr, which the C runtime lacks. */
static inline void *p2i_memrchr(const void *s, int c, size_t n)
{
    const unsigned char *p = (const unsigned char *)s + n;

    while (n--)
        if (*--p == (unsigned char)c)
            return (void *)p;
    return NULL;
}
#define memrchr p2i_memrchr
#define P2I_DEVNULL "NUL"
/* stdio's FILE locks under their POSIX names. */
#define flockfile _lock_file
#define funlockfile _unlock_file
#else
#define P2I_DEVNULL "/dev/null"
#endif

struct rusage;
struct rlimit;

/* ---- errors at the public boundary -------------------------------------- */

/* The public API returns -1 (or NULL) with errno; internal code returns
 * -errno.  These turn the one into the other in a single place. */
static inline int p2i_fail(int neg_errno)
{
    errno = -neg_errno;
    return -1;
}

static inline void *p2i_fail_null(int neg_errno)
{
    errno = -neg_errno;
    return NULL;
}

/* ---- fd.posix.c ---------------------------------------------------------
 * Every descriptor the library makes is close-on-exec from birth and
 * numbered 3 or above, so posix_spawn's dup2 actions onto 0, 1 and 2 can
 * never clobber one another. */

/* pipe2(O_CLOEXEC) with both ends moved to 3 or above; 0 or -errno. */
int p2i_fd_pipe(int fds[2]);
/* A close-on-exec copy of fd numbered 3 or above (F_DUPFD_CLOEXEC), or
 * -errno (EBADF for a descriptor not open). */
int p2i_fd_dup(int fd);
/* Puts fd in non-blocking mode; 0 or -errno. */
int p2i_fd_set_nonblock(int fd);
/* Raises a pipe's capacity to 1 MiB (capped by the system's limit).  Best
 * effort: a refusal (EPERM past pipe-user-pages-soft) is not an error. */
void p2i_fd_grow_pipe(int fd);
/* close() that keeps errno and ignores -1; returns -1 to reset the caller's copy. */
int p2i_fd_close(int fd);
/* Moves a descriptor the library just got from open(), eventfd(),
 * pidfd_open() ... to 3 or above, close-on-exec (closing the original); the
 * new descriptor, or -errno (closing it too). */
int p2i_fd_lift(int fd);

/* read() and write() of a pipe end the library made: the count, or -1 with
 * errno (EAGAIN when a non-blocking end has nothing, or no room). */
ssize_t p2i_fd_read(int fd, void *buf, size_t n);
ssize_t p2i_fd_write(int fd, const void *buf, size_t n);
/* The most one p2i_fd_read(fd, buf, n) asks the kernel for (POSIX): less
 * than n where a large read lands on a 64-byte boundary (fd.posix.c). */
size_t p2i_fd_read_size(const void *buf, size_t n);
/* A relay: a pipe of the library's own that a stream's bytes pass through
 * on their way to the reader, so that the copy out of it runs beside the
 * child's next write instead of after it (relay.posix.c has why and the
 * figures).  One reader at a time uses it, with the stream's descriptor. */
struct relay {
    int rfd, wfd;  /* -1 until made */
    size_t held;   /* bytes in it: read out before the source is asked again */
    bool off;      /* never to be made: refused once, or none on this system */
    bool armed;    /* a bulk read found bytes: the next one makes the relay */
};
void p2i_relay_init(struct relay *r);
/* p2i_fd_read of the pipe fd through r: the bytes r holds first, else what
 * fd has, moved into r (once bulk says the stream is worth a relay) and
 * read out of it; the same results as p2i_fd_read.  Falls back to plain
 * reads for good when no relay can be had. */
ssize_t p2i_relay_read(struct relay *r, int fd, void *buf, size_t n, bool bulk);
/* Closes the relay's descriptors (with the stream's own); what it held is
 * dropped with the rest of the stream. */
void p2i_relay_close(struct relay *r);

struct wake;
/* Sleeps until fd is readable (out: writable), or has hung up or failed,
 * or until w (NULL: none) is signalled: 1 for fd, 0 for w (w wins when
 * both are), or -errno (-EINTR: look again).  A cancellation point. */
int p2i_fd_wait(int fd, bool out, struct wake *w);
/* After a write that failed with EPIPE: consumes the SIGPIPE it left
 * pending on this thread (whose signals are all blocked), where there are
 * signals. */
void p2i_fd_eat_sigpipe(void);

/* ---- wake.posix.c -------------------------------------------------------
 * A way to interrupt a thread blocked in poll(): an eventfd where the system
 * has one, else a pipe.  rfd is polled, wfd written. */
struct wake {
    int rfd;
    int wfd;
};

/* Whether the caller's poll() can wait on rfd (not on Windows, where it is
 * a pipe only p2i_fd_wait looks at). */
bool p2i_wake_pollable(void);
/* Opens a wake-up descriptor (close-on-exec, non-blocking); 0 or -errno. */
int p2i_wake_open(struct wake *w);
/* Makes rfd readable for good; async-signal-safe. */
void p2i_wake_signal(struct wake *w);
/* Empties rfd again. */
void p2i_wake_clear(struct wake *w);
/* Closes it; accepts a wake that was never opened ({-1, -1}). */
void p2i_wake_close(struct wake *w);

/* ---- pollset.posix.c -----------------------------------------------------
 * A set of descriptors asked for readiness all at once (epoll here), itself
 * a descriptor that polls readable while any member is.  Where the system
 * has no such set, every call says -ENOSYS. */

/* A new, empty set (close-on-exec, numbered 3 or above), or -errno. */
int p2i_pollset_open(void);
/* Adds fd, reported as tag when it reads ready; 0 or -errno. */
int p2i_pollset_add(int set, int fd, void *tag);
/* Takes fd out again; a set of -1 is a no-op. */
void p2i_pollset_del(int set, int fd);
/* Without waiting: the tags of up to max (at most 64) ready members; their
 * count, or -errno. */
int p2i_pollset_ready(int set, void **tags, int max);

/* ---- clock.posix.c ------------------------------------------------------ */

/* CLOCK_MONOTONIC in milliseconds. */
long long p2i_clock_now_ms(void);
/* Milliseconds left until deadline (a p2i_clock_now_ms value), at least 0; -1 for
 * the deadline -1, which means "never". */
int p2i_clock_ms_left(long long deadline);
/* The deadline timeout_ms from now; -1 (never) for a negative timeout. */
long long p2i_clock_deadline(int timeout_ms);
/* Sleeps about ms milliseconds (less if a signal comes).  A cancellation
 * point. */
void p2i_clock_sleep_ms(int ms);
/* A condition variable whose timed waits count on this clock (deadlines
 * from p2i_clock_now_ms); 0 or -errno. */
int p2i_clock_cond_init(pthread_cond_t *cond);
/* Now, on the clock of such a condition variable's timed waits, as the
 * timespec they take (CLOCK_MONOTONIC; the system time on Windows). */
void p2i_clock_cond_now(struct timespec *ts);

/* ---- memory.posix.c ----------------------------------------------------- */

/* The machine's physical memory in bytes; 0 when the system will not say. */
size_t p2i_memory_total(void);
/* Faults in the pages of [addr, addr + len) for writing with one system
 * call where the system has one, changing no byte (NULL or 0: nothing); a
 * hint that never fails. */
void p2i_memory_prefault(void *addr, size_t len);
/* keep: leaves the whole pages of [addr, addr + len) out of the children
 * fork() makes, so the parent's pages are not write-protected by a fork
 * (their memory is then absent in such a child); !keep: undoes it.  Must
 * be undone before the range is freed.  A hint that never fails. */
void p2i_memory_keep_from_children(void *addr, size_t len, bool keep);

/* ---- spawn.posix.c ------------------------------------------------------ */

/* The program a command string runs with "-c" and the string, as Python's
 * popen2 does; a request with the argv {P2I_SHELL, "-c", cmd} is a command
 * string, which Windows runs as `%ComSpec% /c cmd` (spawn.windows.c). */
#define P2I_SHELL "/bin/sh"

/* One descriptor handed to the child: fd (the attr's own close-on-exec
 * copy, 3 or above) becomes the child's child_fd (3 or above). */
struct p2i_fd_pass {
    int fd;
    int child_fd;
};

/* One resource limit for the child, its values as the kernel's 64-bit
 * prlimit takes them (RLIM_INFINITY already widened). */
struct p2i_rlimit_set {
    int resource;
    unsigned long long cur, max;
};

/* The child setup beyond descriptors, environment and group. */
struct p2i_spawn_setup {
    struct p2i_fd_pass *pass;  /* fits posix_spawn (dup2 actions) */
    size_t n_pass;
    /* The rest needs the second path (spawn_setup.posix.c). */
    bool set_umask;
    mode_t umask;
    struct p2i_rlimit_set *rlimits;
    size_t n_rlimits;
    bool set_ids;              /* setgroups, then setgid, then setuid */
    uid_t uid;                 /* (uid_t)-1: keep */
    gid_t gid;                 /* (gid_t)-1: keep */
    gid_t *groups;
    size_t n_groups;
    bool set_groups;           /* call setgroups (a uid or gid, or groups, given) */
    bool no_new_privs;
    int pdeath_sig;            /* 0: none */
};

struct p2i_spawn_request {
    const char *file;       /* program: a path, or a name looked up in PATH */
    char *const *argv;
    bool search_path;       /* look file up in PATH as execvp does: in envp's PATH
                             * when envp is given, else in the parent's */
    int fd[3];              /* what becomes the child's 0, 1, 2; -1 inherits the parent's */
    bool stderr_to_stdout;  /* the child's 2 becomes a copy of its (inherited) 1 */
    const char *cwd;        /* working directory, NULL: the parent's */
    char *const *envp;      /* environment, NULL: the parent's environ at the spawn */
    char *const *env_ops;   /* applied to it in order: "NAME=value" sets, "NAME" unsets */
    size_t n_env_ops;
    int group;              /* POPEN2_GROUP_NEW: new process group; POPEN2_SESSION_NEW */
    const struct p2i_spawn_setup *setup; /* NULL: none */
    /* A terminal on some of 0-2 (their fd are its slave): the child's
     * tty_fd (0, 1 or 2) becomes its controlling terminal, which needs
     * group POPEN2_SESSION_NEW.  tty_path is the slave's name; NULL: no
     * terminal (tty_fd unused). */
    int tty_fd;
    const char *tty_path;
};

/* Checks resource and *rl as setrlimit takes them (EINVAL for a resource
 * getrlimit does not know, for NULL, or for rlim_cur above rlim_max) and
 * gives them as the kernel's 64-bit prlimit takes them (RLIM_INFINITY
 * widened); 0 or -errno. */
int p2i_rlimit_widen(int resource, const struct rlimit *rl, struct p2i_rlimit_set *out);
/* NGROUPS_MAX as sysconf says it; -1 when unknown. */
long p2i_ngroups_max(void);

/* Whether this system has the second spawn path (the prctl settings, the
 * raw-syscall child): false makes the child setup calls ENOSYS. */
bool p2i_spawn_setup_supported(void);
/* Whether the setup needs the second spawn path (anything but passed
 * descriptors); false for NULL. */
bool p2i_spawn_setup_needs_child(const struct p2i_spawn_setup *s);

/* Whether this system's spawn can give the child the group setting group
 * (POPEN2_SESSION_NEW needs POSIX_SPAWN_SETSID). */
bool p2i_spawn_group_supported(int group);
/* Whether this system's spawn can start the child in another working
 * directory (posix_spawn needs glibc 2.29's addchdir_np; CreateProcess
 * takes one). */
bool p2i_spawn_cwd_supported(void);
/* Starts the child; 0 with *pid set, or -errno (ENOENT, EACCES, ENOEXEC for
 * an exec failure, reported synchronously; EAGAIN, ENOMEM, ...).  On failure
 * no child is left behind. */
int p2i_spawn_start(const struct p2i_spawn_request *req, pid_t *pid);
/* execvp's search for file (a name without a slash) in the PATH of envp
 * (confstr(_CS_PATH) when envp has none), done in the parent: *out (malloc'ed)
 * is the first executable regular file found, as the child execs it (a
 * relative PATH element gives a path relative to cwd, the child's working
 * directory, NULL: the parent's).  Directories are skipped.  0, or -EACCES
 * when only files that cannot be executed matched, -ENOENT when none did,
 * -ENOMEM. */
int p2i_spawn_search(const char *file, char *const *envp, const char *cwd, char **out);

/* ---- spawn_setup.posix.c ---------------------------------------------------
 * What spawn.posix.c prepared in the parent, for the second path: every
 * pointer stays valid until p2i_spawn_setup_run returns. */
struct p2i_spawn_job {
    const char *file;        /* a path (searched already), exec'ed as it is */
    char *const *argv;
    char *const *envp;
    int fd[3];               /* as the request's */
    bool stderr_to_stdout;
    const char *cwd;
    int group;
    const int *pass_from;    /* close-on-exec copies above max_target */
    const int *pass_to;
    size_t n_pass;
    int max_target;          /* the highest child descriptor (2 without passes) */
    const struct p2i_spawn_setup *setup;
    int tty_fd;              /* made the controlling terminal (TIOCSCTTY); -1: none */
};

/* Starts the child with the job's setup done in the child before exec; 0
 * with *pid, or -errno of the step that failed (the child is reaped then). */
int p2i_spawn_setup_run(const struct p2i_spawn_job *job, pid_t *pid);

/* ---- spawner.posix.c -------------------------------------------------------
 * The library thread that runs spawns with a parent-death signal, so the
 * signal is tied to the process, not to the caller's thread (the kernel
 * sends it when the creating thread ends).  It lives while a child it
 * started runs. */

/* p2i_spawn_setup_run on that thread (started if need be); its result, or
 * -errno (EAGAIN, ENOMEM) when the thread cannot be had. */
int p2i_spawner_run(const struct p2i_spawn_job *job, pid_t *pid);
/* Fork handlers (runtime's fork.c): its lock around fork(), and in the
 * child no thread and no children (async-signal-safe). */
void p2i_spawner_lock(void);
void p2i_spawner_unlock(void);
void p2i_spawner_forked(void);

/* ---- spill.posix.c ---------------------------------------------------------
 * The file never has a name a second process could open: O_TMPFILE where the
 * kernel and file system support it, else mkostemp + unlink at once.  The
 * ring owns it and calls these under its mutex. */

/* Creates the file in $TMPDIR (or /tmp); the descriptor or -errno. */
int p2i_spill_open(void);
/* Writes all n bytes at offset off; 0 or -errno (ENOSPC, EIO ...). */
int p2i_spill_write(int fd, unsigned long long off, const void *buf, size_t n);
/* Reads up to n bytes at offset off; the count (> 0) or -errno (-EIO for a
 * file shorter than the ring believes). */
ssize_t p2i_spill_read(int fd, unsigned long long off, void *buf, size_t n);
/* Gives the disk space back once every byte was read; best effort. */
void p2i_spill_reset(int fd);

/* ---- pty.posix.c -----------------------------------------------------------
 * One pseudo-terminal: the parent's master and the slave the spawn hands
 * to the child (both close-on-exec, 3 or above).  Where the system has
 * none (Windows), every call says -ENOSYS. */
struct p2i_pty {
    int master;
    int slave;
    char path[64];           /* the slave's name, for the child's open */
};

/* Whether this system has pseudo-terminals. */
bool p2i_pty_supported(void);
/* Opens a terminal of rows x cols in the mode flags say (POPEN2_PTY_NOECHO,
 * POPEN2_PTY_RAW; else canonical with echo, as a terminal emulator starts);
 * 0, or -errno with nothing left open. */
int p2i_pty_open(struct p2i_pty *t, unsigned short rows, unsigned short cols, int flags);
/* Sets the size (the foreground group gets SIGWINCH); 0 or -errno. */
int p2i_pty_resize(int master, unsigned short rows, unsigned short cols);
/* read() of the master, with the hang-up (EIO once every slave is closed
 * and the buffered bytes were read) as 0, the end. */
ssize_t p2i_pty_read(int master, void *buf, size_t n);
/* The end of input as a terminal gives it: VEOF, twice when last (the last
 * byte written, '\n' for none) ended no line, since the first VEOF only
 * hands the partial line over.  Nothing in non-canonical (raw) mode, which
 * has no end-of-file character.  Waits while the input queue is full.  0 or
 * -errno. */
int p2i_pty_send_eof(int master, int last);
/* Closes what is open; accepts a closed one ({-1, -1}). */
void p2i_pty_close(struct p2i_pty *t);

/* ---- process.posix.c -------------------------------------------------------
 * A pidfd names one process for as long as the descriptor is open, whatever
 * happens to its number; waiting and signalling through it can never reach
 * a process that got the number after ours was reaped.  Where the kernel has
 * no pidfds (before Linux 5.3) p2i_process_open says -ENOSYS and callers keep
 * to the pid.  Where it has them but refuses a call on one (an older
 * kernel, or a sandbox's seccomp filter), the call is made by number once
 * the pidfd has shown that the process is not reaped, so that its number is
 * still its own. */

/* A pidfd for pid, close-on-exec and numbered 3 or above; or -errno: -ESRCH
 * when no such process exists any more (reaped), -ENOSYS without pidfds. */
int p2i_process_open(pid_t pid);
/* Sends sig to the process pid that pidfd names (to its whole group with
 * `group`: through the kernel where it can, Linux 6.9).  Where
 * pidfd_send_signal is refused, or cannot signal a group, by kill(pid) or
 * kill(-pid) once the pidfd shows the process unreaped.  With pidfd -1 (a
 * kernel without pidfds) by number at once: the caller's own checks are all
 * there is.  0 or -errno; -ESRCH once the process has been reaped. */
int p2i_process_signal(int pidfd, pid_t pid, int sig, bool group);
/* Sends sig to the process group the process led, through the kernel alone
 * (Linux 6.9), also after the leader was reaped: the pidfd holds the
 * kernel's record of the pid, which the group's members keep naming as
 * their group, while a later process or group given the same number gets a
 * record of its own; so this reaches the original group's remaining members
 * and nobody else.  0, -ESRCH when the group has no member left, -ENOSYS
 * where the kernel cannot or a filter refuses (never a fallback by number,
 * which after the reap could name a stranger's group), or another -errno. */
int p2i_process_signal_group(int pidfd, int sig);
/* Reaps the process pid that pidfd names if it has exited, without
 * blocking: 1 with *status (as waitpid gives it) and, with ru not NULL,
 * *ru (the child's own resource usage, which the kernel gives only at the
 * reap), and with code not NULL *code (Python 3's returncode: the exit
 * code, or -N when signal N ended it; on Windows the whole 32-bit exit
 * code, which the wait status cannot hold), 0 while it runs, -ECHILD when
 * it is not (or no longer) a child of ours to reap, or another -errno.
 * Where waitid(P_PIDFD) is refused, reaps by number once the pidfd shows
 * the process exited but unreaped. */
int p2i_process_reap(int pidfd, pid_t pid, int *status, struct rusage *ru, long *code);
/* As p2i_process_reap, by number, for a kernel without pidfds.  Safe only
 * while nothing else may reap the child. */
int p2i_process_reap_pid(pid_t pid, int *status, struct rusage *ru, long *code);
/* Whether the process, a child of ours that we have not reaped, was reaped
 * elsewhere (a waitpid(-1) in the program, SIGCHLD ignored); looks without
 * reaping (WNOWAIT).  A cancellation point. */
bool p2i_process_gone(pid_t pid);
/* Sleeps until the child may have exited, or ms pass (-1: no limit), on its
 * pidfd where there is one (-1: by number, looking every few ms).  Reaps
 * nothing: the caller looks again.  0, or -errno when the sleep itself
 * fails, returned since the caller would only come straight back. */
int p2i_process_sleep(int pidfd, pid_t pid, int ms);

#ifdef _WIN32
/* ---- process.windows.c, the Windows side only ------------------------------
 * Windows names a process by a handle, which spawn.windows.c gets at the
 * creation; the process calls above look it up by the process id, which
 * the system never gives another process while that handle is open.  So
 * p2i_process_open says -ENOSYS there, and the callers keep to the pid. */

/* Keeps the child's handle (and the job object of its tree, or NULL) until
 * it is reaped; 0 or -ENOMEM (the caller then ends the child). */
int p2i_process_adopt(pid_t pid, void *process, void *job);
/* errno for a Windows error code (GetLastError) (fd.windows.c). */
int p2i_win_errno(unsigned long error);
#endif

/* ---- thread.posix.c ------------------------------------------------------ */

/* The stack size to ask for a thread that needs `frames` bytes for its own
 * frames: that plus the static thread-local storage the C library places on
 * every thread's stack, at least the system's minimum, whole pages. */
size_t p2i_thread_stack_size(size_t frames);
/* pthread_create with every signal blocked in the new thread (the caller's
 * mask unchanged), so the caller's handlers never run on library threads
 * and a write's SIGPIPE stays pending there; pthread_create's result. */
int p2i_thread_create(pthread_t *tid, pthread_attr_t *attr, void *(*fn)(void *), void *arg);
/* pthread_atfork; 0 where there is no fork (Windows). */
int p2i_thread_atfork(void (*before)(void), void (*parent)(void), void (*child)(void));

/* ---- cfile.posix.c ---------------------------------------------------------
 * A FILE * whose reads or writes are callbacks: fopencookie, or funopen on
 * the BSDs and macOS; on Windows a pipe whose other end a thread fills from
 * the read callback (or drains into the write callback), wrapped in a C
 * runtime FILE. */
struct p2i_cfile_ops {
    /* bytes (0 at EOF), or -1 with errno */
    ssize_t (*read)(void *cookie, char *buf, size_t n);
    /* bytes taken; 0 with errno on failure (fopencookie's rule) */
    ssize_t (*write)(void *cookie, const char *buf, size_t n);
    /* 0, or -1 with errno */
    int (*close)(void *cookie);
};

/* A FILE reading (writing: false) or writing through ops, in text mode
 * (CRLF <-> LF) where the C library has one and text is true; NULL with
 * errno. */
FILE *p2i_cfile_open(void *cookie, const struct p2i_cfile_ops *ops, bool writing, bool text);
/* The caller has the reading FILE f now, so it may read ahead: where a
 * thread feeds the FILE (Windows), the thread starts reading the callback
 * here, not at open, and bytes the caller takes without stdio are never
 * held in a FILE nobody reads.  Elsewhere the FILE reads on demand and this
 * does nothing. */
void p2i_cfile_start(FILE *f);
/* fclose of such a FILE: its close callback has run when this returns. */
int p2i_cfile_close(FILE *f);

/* ---- bell.c ----------------------------------------------------------------
 * One waiter sleeps until any of several threads rings, or a deadline. */

struct p2i_bell {
    pthread_mutex_t mu;
    pthread_cond_t cond; /* on CLOCK_MONOTONIC */
    unsigned long long rung; /* how often it was rung */
    int waiters;
};

/* Prepares a bell; 0 or -errno. */
int p2i_bell_init(struct p2i_bell *b);
/* Frees it; nobody may ring or wait any more. */
void p2i_bell_destroy(struct p2i_bell *b);
/* Wakes every waiter; never blocks beyond the bell's own instant lock. */
void p2i_bell_ring(struct p2i_bell *b);
/* How often it was rung so far: read this before looking at what is waited
 * for, and pass it to p2i_bell_wait. */
unsigned long long p2i_bell_count(struct p2i_bell *b);
/* Sleeps until the bell was rung since the count `seen` was read, or until
 * deadline_ms (a p2i_clock_now_ms value; -1: none) passes.  A cancellation point;
 * the bell stays usable after a cancel. */
void p2i_bell_wait(struct p2i_bell *b, unsigned long long seen, long long deadline_ms);

#endif
