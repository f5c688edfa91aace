/* libpopen2: Python 2's popen2 module in C, deadlock-free by construction.
 *
 * Every object drains the child's stdout and stderr with reader threads into
 * growable ring buffers and feeds its stdin from a writer thread, so the
 * caller may read and write the three streams in any order and amount.
 * poll() and wait() reap the child on the caller's thread.
 *
 * Errors: functions that return a pointer return NULL, functions that return
 * int return -1; both set errno.  See popen2(7) and the README.
 *
 * Fork: in a process forked from the one that made an object, the object
 * belongs to the parent: every function but popen2_pid fails with ECHILD
 * for it (its FILEs too), and popen2_free ignores it.  New objects,
 * popen2_cleanup and exit() work in such a child.
 *
 * Streams: the FILEs are byte-oriented, as popen(3)'s are.  Wide-character
 * I/O (fgetws, fputws, fwide with a positive mode) and freopen are not
 * supported on them (glibc crashes on a cookie stream put in wide mode);
 * read bytes and convert with mbrtowc or iconv.
 *
 * An output stream that is piped and never read still has all of the
 * child's output drained into memory, without bound, while the caller
 * waits (that is what keeps the child from blocking).  For an output you
 * will not read, use POPEN2_DEVNULL, or bound it with a limit:
 *     popen2_attr_set_stream(a, 1, POPEN2_DEVNULL);
 *     popen2_attr_set_limit(a, 2, 1 << 20, POPEN2_KEEP_TAIL);
 *
 * Language: the header compiles without warnings as C89 and later (also
 * with -pedantic) and as C++98 and later; the library itself is C11.
 */
#ifndef POPEN2_H
#define POPEN2_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#ifndef _WIN32
#include <sys/resource.h> /* struct rusage, for popen2_rusage */
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* On Windows the DLL's exports are dllexport while the library is built
 * (POPEN2_BUILDING) and dllimport for its users; a program linking the
 * static libpopen2.a defines POPEN2_STATIC first (pkg-config --static
 * --cflags says so), since a dllimport reference cannot bind to it. */
#if defined(_WIN32) && defined(POPEN2_BUILDING) && !defined(POPEN2_STATIC)
#define POPEN2_API __declspec(dllexport)
#elif defined(_WIN32) && !defined(POPEN2_STATIC)
#define POPEN2_API __declspec(dllimport)
#elif defined(__GNUC__) && __GNUC__ >= 4
#define POPEN2_API __attribute__((visibility("default")))
#else
#define POPEN2_API
#endif

#ifdef _WIN32
/* What Windows lacks of the names this header uses, defined minimally so
 * the same declarations compile there: the ids of popen2_attr_set_ids
 * (whose call says ENOSYS there), and the wait status macros and signal
 * numbers for a status that is the exit code shifted left by 8 (as Python
 * 2.7's os.waitpid gave it on Windows: never "signalled"). */
#ifndef POPEN2_HAVE_UID_T
#define POPEN2_HAVE_UID_T 1
typedef int popen2_uid_t;
typedef int popen2_gid_t;
#define uid_t popen2_uid_t
#define gid_t popen2_gid_t
#endif
#ifndef POPEN2_HAVE_RUSAGE
#define POPEN2_HAVE_RUSAGE 1
#include <sys/time.h> /* struct timeval */
/* The part of getrusage(2)'s record Windows can fill (GetProcessTimes). */
struct rusage {
    struct timeval ru_utime; /* user CPU time */
    struct timeval ru_stime; /* system CPU time */
};
#endif
#ifndef WIFEXITED
#define WIFEXITED(s) (((s) & 0xff) == 0)
#endif
#ifndef WEXITSTATUS
#define WEXITSTATUS(s) (((s) >> 8) & 0xff)
#endif
#ifndef WIFSIGNALED
#define WIFSIGNALED(s) 0
#endif
#ifndef WTERMSIG
#define WTERMSIG(s) 0
#endif
#ifndef SIGKILL
#define SIGKILL 9
#endif
#endif

/* One Popen3 or Popen4 object: a child process and its three streams. */
typedef struct popen2_proc popen2_proc;

/* Python's Popen3(cmd, capturestderr, bufsize): runs "/bin/sh -c cmd" with its
 * stdout on fromchild, its stdin on tochild and, when capturestderr is
 * non-zero, its stderr on childerr (otherwise it shares the parent's stderr).
 * bufsize: 0 unbuffered, 1 line-buffered, N > 1 about N bytes of stdio
 * buffering, negative the system default for tochild and 1 MiB for
 * fromchild and childerr.  Returns the object, or NULL with errno EINVAL
 * (NULL or empty cmd), EMFILE, ENFILE, ENOMEM or EAGAIN. */
POPEN2_API popen2_proc *popen2_Popen3(const char *cmd, int capturestderr, int bufsize);

/* Python's Popen4(cmd, bufsize): like Popen3 but stdout and stderr share one
 * pipe, read through fromchild in the order written.  Errors as Popen3. */
POPEN2_API popen2_proc *popen2_Popen4(const char *cmd, int bufsize);

/* Popen3 with cmd as a sequence: argv[0] is looked up in PATH as execvp does
 * (a name with a slash is used as is) and run without a shell.  Besides the
 * errors of popen2_Popen3: EINVAL for NULL argv or argv[0], and ENOENT,
 * EACCES or ENOEXEC when the program cannot be executed (never retried
 * through /bin/sh); no child is left behind. */
POPEN2_API popen2_proc *popen2_Popen3v(char *const argv[], int capturestderr, int bufsize);

/* Popen4 with cmd as a sequence; errors as popen2_Popen3v. */
POPEN2_API popen2_proc *popen2_Popen4v(char *const argv[], int bufsize);

/* Python's Popen3.poll(): -1 while the child runs, else its wait status
 * (decode with WIFEXITED and friends).  Never blocks.  Returns -1 with errno
 * ECHILD once the child is known to have been reaped behind the library's
 * back (a waitpid(-1) elsewhere, SIGCHLD ignored), or with the errno of a
 * reap that failed as popen2_wait says; while it runs errno is left as it
 * was. */
POPEN2_API int popen2_poll(popen2_proc *p);

/* Python's Popen3.wait(): blocks until the child exits and returns its wait
 * status, the same on every later call.  Meanwhile a piped output nobody
 * reads is drained into memory without bound (see the top of this file).
 * Retries on EINTR; -1 with errno ECHILD when the child was reaped behind
 * the library's back, EINVAL for a NULL object, or the errno with which the
 * system failed the wait itself (a sandbox's seccomp filter refusing waitid
 * and wait4 with EACCES, say), returned at once and never retried.  Where
 * the kernel or a filter refuses to wait on the child's pidfd (ENOSYS,
 * EPERM, EINVAL), it waits by process id, once the pidfd has shown that the
 * child is not reaped.  Several threads may wait on one object at once. */
POPEN2_API int popen2_wait(popen2_proc *p);

/* The child's stdout (Popen4: stdout and stderr), readable to EOF even after
 * the child was reaped.  Out of memory, its reader thread stops draining (the
 * child waits on a full pipe) and tries again by itself, at most 100 ms
 * apart, until memory comes back or the stream is closed: reads meanwhile
 * wait (popen2_read says EAGAIN), never fail with ENOMEM, and no byte is
 * lost.  The same holds for childerr.  NULL once the caller has fclosed it. */
POPEN2_API FILE *popen2_fromchild(popen2_proc *p);

/* The child's stdin.  Writing never blocks; fclose gives the child EOF once
 * everything written before has been delivered, without waiting for that
 * (also with a limit on stdin: see popen2_attr_set_limit).
 * After the child stopped reading, writes fail with EPIPE (no SIGPIPE):
 * fwrite or fflush when they hand bytes over after the writer met the
 * broken pipe, fclose when input was already dropped by then; input dropped
 * after fclose returned is not reported.  A first write whose writer thread
 * cannot start fails with EAGAIN or ENOMEM (short fwrite, fflush EOF).
 * NULL once the caller has fclosed it, or (ECHILD) in a forked child for
 * an object of the parent. */
POPEN2_API FILE *popen2_tochild(popen2_proc *p);

/* The child's stderr; NULL for Popen4, when capturestderr was 0, or once the
 * caller has fclosed it. */
POPEN2_API FILE *popen2_childerr(popen2_proc *p);

/* The child's process id; -1 with errno EINVAL for a NULL object. */
POPEN2_API pid_t popen2_pid(popen2_proc *p);

/* Closes the streams the caller has not fclosed and frees the object.  Never
 * blocks on the child, whatever the limit on stdin, and never signals it: a
 * child not yet reaped goes to the active list, reaped later by
 * popen2_cleanup().  Input already written to tochild (its stdio buffer
 * included) is still delivered to a child that reads it, also when the
 * program exits right after: exit waits while the writers make progress,
 * and gives up once none has delivered a byte for 3 s, counted once for
 * the whole exit (stdio's flush of a tochild left open included).  NULL is
 * a no-op, and so is an object inherited through fork (it belongs to the
 * parent). */
POPEN2_API void popen2_free(popen2_proc *p);

/* Python's popen2.popen2(cmd, bufsize, mode): runs "/bin/sh -c cmd" and hands
 * back its stdout and stdin.  mode is NULL, "t" or "b".  Once every returned
 * stream is fclosed the object is freed as by popen2_free.  0 on success;
 * -1 with errno as popen2_Popen3, or EINVAL for a bad mode or NULL
 * out-parameter, leaving the out-parameters untouched. */
POPEN2_API int popen2_popen2(const char *cmd, int bufsize, const char *mode,
                             FILE **child_stdout, FILE **child_stdin);

/* Python's popen2.popen3(): popen2_popen2 plus the child's stderr. */
POPEN2_API int popen2_popen3(const char *cmd, int bufsize, const char *mode,
                             FILE **child_stdout, FILE **child_stdin, FILE **child_stderr);

/* Python's popen2.popen4(): the child's stdout and stderr merged, and its stdin. */
POPEN2_API int popen2_popen4(const char *cmd, int bufsize, const char *mode,
                             FILE **child_stdout_and_stderr, FILE **child_stdin);

/* popen2_popen2 with cmd as a sequence (no shell); errors as popen2_Popen3v. */
POPEN2_API int popen2_popen2v(char *const argv[], int bufsize, const char *mode,
                              FILE **child_stdout, FILE **child_stdin);

/* popen2_popen3 with cmd as a sequence (no shell); errors as popen2_Popen3v. */
POPEN2_API int popen2_popen3v(char *const argv[], int bufsize, const char *mode,
                              FILE **child_stdout, FILE **child_stdin, FILE **child_stderr);

/* popen2_popen4 with cmd as a sequence (no shell); errors as popen2_Popen3v. */
POPEN2_API int popen2_popen4v(char *const argv[], int bufsize, const char *mode,
                              FILE **child_stdout_and_stderr, FILE **child_stdin);

/* Python's popen2._cleanup(): reaps every freed object's child that has
 * finished, through the child's pidfd where the kernel has pidfds, so it
 * never reaps a process that is not a freed object's child; a child reaped
 * elsewhere is forgotten.  Never blocks; also runs at the start of every new
 * object. */
POPEN2_API void popen2_cleanup(void);

/* len(popen2._active): how many freed objects still have an unreaped child. */
POPEN2_API size_t popen2_active(void);

/* ======================================================================
 * Beyond popen2
 *
 * What GUI programs and capture tools need besides Python's module:
 * options, timeouts, signals, one-call capture, event-loop integration and
 * bounded memory.  Added beside the contract above, which they never change.
 * Streams are numbered as the child's descriptors: 0 stdin, 1 stdout,
 * 2 stderr.  Conventions as above: -1 or NULL with errno on failure.
 * ====================================================================== */

/* Spawn options, opaque so that options can be added without breaking the
 * ABI (like posix_spawnattr_t).  A NULL popen2_attr means the defaults,
 * which are Popen3's: stdin and stdout piped, stderr inherited, the parent's
 * environment and working directory, no new process group, no limits. */
typedef struct popen2_attr popen2_attr;

/* What one of the child's standard streams is (popen2_attr_set_stream). */
enum {
    POPEN2_PIPE = 0,    /* a pipe to the parent, with a ring and a FILE (default for 0, 1) */
    POPEN2_INHERIT = 1, /* the parent's own descriptor (default for 2) */
    POPEN2_DEVNULL = 2, /* /dev/null */
    POPEN2_MERGE = 3,   /* stderr only: the same as stdout (Popen4's shape) */
    POPEN2_PTY = 4      /* a pseudo-terminal, shared by every stream set to it, with
                         * a ring and a FILE as a pipe has (popen2_attr_set_pty) */
};

/* The terminal's mode (popen2_attr_set_pty); 0 is what a terminal emulator
 * gives: canonical input with echo. */
enum {
    POPEN2_PTY_NOECHO = 1, /* the terminal does not echo input */
    POPEN2_PTY_RAW = 2     /* raw mode (cfmakeraw): bytes pass unchanged both ways */
};

/* Process group of the child (popen2_attr_set_group). */
enum {
    POPEN2_GROUP_INHERIT = 0, /* stays in the parent's group (default) */
    POPEN2_GROUP_NEW = 1,     /* leads a new process group (setpgid(0, 0)) */
    POPEN2_SESSION_NEW = 2    /* leads a new session, so also a new group (setsid) */
};

/* What an output stream does with bytes beyond its memory limit
 * (popen2_attr_set_limit). */
enum {
    POPEN2_BLOCK = 1,    /* stop reading: the child waits on a full pipe until the
                          * caller reads.  Back-pressure, which reintroduces the
                          * flow dependence the library otherwise removes: a
                          * caller that waits for the child before reading the
                          * stream can deadlock. */
    POPEN2_SPILL = 2,    /* write them to an unlinked temporary file in $TMPDIR
                          * (else /tmp) and read them back in order: nothing is
                          * lost, memory stays bounded */
    POPEN2_FAIL = 3,     /* drop them: after the bytes kept, reads fail with
                          * ENOBUFS.  The child is not killed and keeps running
                          * (its later output is drained and dropped). */
    POPEN2_KEEP_TAIL = 4 /* keep the newest `limit` bytes, dropping the oldest */
};

/* Counters of one stream (popen2_stream_stats), a struct tag beside the
 * function of the same name, as struct stat and stat().  Its layout is part
 * of the ABI: new counters would come with a new function.  For stdin
 * (stream 0) total counts the bytes tochild accepted (not those still in
 * its stdio buffer), buffered those queued for the child, dropped those
 * discarded because the child stopped reading; total - buffered - dropped
 * have been delivered into the child's stdin pipe. */
/* The counters are 64-bit everywhere; C89 and C++98 have no long long of
 * their own, so GCC and Clang are told not to warn about it here. */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wlong-long"
#endif
struct popen2_stream_stats {
    unsigned long long total;    /* bytes read from the child so far */
    unsigned long long dropped;  /* bytes discarded (KEEP_TAIL, FAIL, failed spill) */
    unsigned long long spilled;  /* bytes that went through the spill file */
    size_t high_water;           /* most bytes held in memory at once */
    unsigned long long buffered; /* bytes readable now (memory + spill file) */
};
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

/* A new options object with the defaults above; NULL with ENOMEM. */
POPEN2_API popen2_attr *popen2_attr_new(void);

/* Frees it (closing descriptors handed to popen2_attr_set_stream_fd); NULL is
 * a no-op.  Objects spawned with it do not need it any more. */
POPEN2_API void popen2_attr_free(popen2_attr *a);

/* The child's working directory (copied); the child fails to start with the
 * chdir error (e.g. ENOENT) when it does not exist.  A relative program path
 * is then found from dir; files of popen2_attr_set_stream_file from the
 * parent's directory.  NULL dir restores the parent's.  0, or -1 with EINVAL
 * (NULL a), ENOMEM, or ENOSYS where the system has no
 * posix_spawn_file_actions_addchdir_np. */
POPEN2_API int popen2_attr_set_cwd(popen2_attr *a, const char *dir);

/* Replaces the child's whole environment by envp ("NAME=value" strings,
 * copied), instead of the parent's.  Later setenv/unsetenv apply on top.
 * 0, or -1 with EINVAL (NULL a or envp, an entry without '='), ENOMEM. */
POPEN2_API int popen2_attr_set_env(popen2_attr *a, char *const envp[]);

/* Sets one variable in the child's environment, on top of the parent's (or
 * of popen2_attr_set_env's).  The parent's environment is read when the child
 * is spawned, not now.  0, or -1 with EINVAL (NULL a, name or value, empty
 * name or one containing '='), ENOMEM. */
POPEN2_API int popen2_attr_setenv(popen2_attr *a, const char *name, const char *value);

/* Removes one variable from the child's environment; errors as setenv. */
POPEN2_API int popen2_attr_unsetenv(popen2_attr *a, const char *name);

/* What stream 0, 1 or 2 of the child is: POPEN2_PIPE, POPEN2_INHERIT,
 * POPEN2_DEVNULL, POPEN2_MERGE (stream 2 only: stderr goes wherever
 * stdout goes, in one pipe when stdout is piped), or POPEN2_PTY: the
 * streams set to it share one pseudo-terminal, the child's controlling
 * terminal (it then leads a new session), read and written through the
 * usual FILEs; with both 1 and 2 on it, stderr is merged into fromchild.
 * 0, or -1 with EINVAL, or ENOSYS (POPEN2_PTY where the system has no
 * pseudo-terminals). */
POPEN2_API int popen2_attr_set_stream(popen2_attr *a, int stream, int how);

/* Makes stream 0, 1 or 2 of the child a duplicate of fd, which is duplicated
 * now (close-on-exec in the parent), so the caller may close its own.  0, or
 * -1 with EINVAL (bad stream), EBADF (bad fd), EMFILE. */
POPEN2_API int popen2_attr_set_stream_fd(popen2_attr *a, int stream, int fd);

/* Makes stream 0, 1 or 2 of the child the file at path, opened by the parent
 * at spawn time with open(path, flags | O_CLOEXEC, mode), so that an error
 * (ENOENT, EACCES ...) comes back from popen2_spawn.  Typical flags: O_RDONLY
 * for stdin, O_WRONLY | O_CREAT | O_TRUNC (or O_APPEND) for the outputs.
 * 0, or -1 with EINVAL (NULL a or path, bad stream), ENOMEM. */
POPEN2_API int popen2_attr_set_stream_file(popen2_attr *a, int stream, const char *path,
                                           int flags, mode_t mode);

/* Puts the child in a new process group (POPEN2_GROUP_NEW) or session
 * (POPEN2_SESSION_NEW), or leaves it in the parent's (POPEN2_GROUP_INHERIT).
 * A child that leads its group gets signals from popen2_send_signal as a
 * group: grandchildren too.  0, or -1 with EINVAL. */
POPEN2_API int popen2_attr_set_group(popen2_attr *a, int how);

/* Holds at most max_bytes of output stream 1 or 2 in memory and applies
 * policy (POPEN2_BLOCK, POPEN2_SPILL, POPEN2_FAIL, POPEN2_KEEP_TAIL) to what
 * does not fit.  For stdin (stream 0) it bounds what is queued for the
 * child: POPEN2_BLOCK makes writes to tochild wait while max_bytes are
 * queued (large writes then go to the pipe straight from the caller's
 * buffer, without a copy) and, out of memory, until the queue can get some
 * (tried again by itself, at most 100 ms apart) instead of failing with
 * ENOMEM; POPEN2_FAIL makes them short with ENOBUFS; the other policies are
 * EINVAL there.  The limit bounds what writing queues, and a close is not a
 * write: fclose of tochild, popen2_free and the flush at exit neither wait
 * for room nor fail for the lack of it, but queue the bytes still in
 * tochild's stdio buffer past max_bytes (at most the buffer's size more),
 * delivered as any queued input and counted as such (total, buffered,
 * high_water).  Where the C library does not show that an fclose is under
 * way (not glibc) the caller's own fclose flushes as a write does.  A
 * blocked write waits only for the child to read its stdin, never for the
 * caller to read the outputs, so it cannot deadlock while the outputs are
 * unbounded or SPILL; with a BLOCK limit on an output stream the caller
 * does not read meanwhile it can (the child stops reading stdin while it
 * waits to write).  Writes to tochild are not cancellation points.
 * max_bytes 0 removes the limit (the default: writes never block).  0, or
 * -1 with EINVAL (NULL a, unknown stream, bad policy). */
POPEN2_API int popen2_attr_set_limit(popen2_attr *a, int stream, size_t max_bytes, int policy);

/* The size (default 24 rows x 80 columns) and mode (flags: 0, or
 * POPEN2_PTY_NOECHO and POPEN2_PTY_RAW or-ed) of the terminal of POPEN2_PTY
 * streams, set before the child starts.  0, or -1 with EINVAL (NULL a,
 * rows or cols 0, an unknown flag), ENOSYS where the system has no
 * pseudo-terminals (Windows). */
POPEN2_API int popen2_attr_set_pty(popen2_attr *a, unsigned short rows, unsigned short cols,
                                   int flags);

/* popen2_spawnv only: look argv[0] up in PATH as execvp does (on, the
 * default) or use it as a path (off).  0, or -1 with EINVAL. */
POPEN2_API int popen2_attr_set_search_path(popen2_attr *a, int on);

/* Python's bufsize for the FILEs of piped streams (default -1). 0, or -1
 * with EINVAL for a NULL a. */
POPEN2_API int popen2_attr_set_bufsize(popen2_attr *a, int bufsize);

/* ---- Child setup ----------------------------------------------------------
 * Declarative setup of the child, done between its creation and exec: no
 * callback.  Each setting is recorded in the attr; a step that fails at the
 * spawn makes popen2_spawn fail with that step's errno and leaves no
 * descriptor, thread or child behind, as an exec failure does.  Passed
 * descriptors alone keep the spawn on posix_spawn; any other setting here
 * starts the child by a vfork-like clone whose child makes raw system calls
 * only.  In the child, in this order: umask, rlimits, setgroups, setgid,
 * setuid, no_new_privs, the parent-death signal (last: a credential change
 * clears it).  Linux only: elsewhere these calls fail with ENOSYS. */
struct rlimit;

/* The child gets a copy of fd at child_fd (3 or above), and still nothing
 * beyond 0-2 and the descriptors passed this way.  fd is duplicated now
 * (close-on-exec: no other child inherits the copy, and the caller may close
 * fd at once); passing to the same child_fd again replaces the earlier one.
 * Mappings may cycle (3 to 4 and 4 to 3).  0, or -1 with EINVAL (child_fd
 * < 3), EBADF (fd not open), EMFILE, ENOMEM. */
POPEN2_API int popen2_attr_pass_fd(popen2_attr *a, int fd, int child_fd);

/* The child's umask (bits beyond 0777 are EINVAL).  0 or -1 with errno. */
POPEN2_API int popen2_attr_set_umask(popen2_attr *a, mode_t mask);

/* The child's limit for resource (RLIMIT_NOFILE ...), as setrlimit sets it;
 * again for the same resource replaces it.  EINVAL here for an unknown
 * resource or rlim_cur above rlim_max; raising the hard limit without the
 * privilege is EPERM at the spawn.  0 or -1 with errno. */
POPEN2_API int popen2_attr_set_rlimit(popen2_attr *a, int resource, const struct rlimit *rl);

/* The child's user and group ids and supplementary groups (setgroups, then
 * setgid, then setuid, as the real, effective and saved ids).  (uid_t)-1 or
 * (gid_t)-1 keeps the parent's; groups NULL with ngroups 0 clears the
 * supplementary groups when a uid or gid is set.  Needs the privilege:
 * EPERM at the spawn without it.  0, or -1 with EINVAL (groups NULL with
 * ngroups > 0, ngroups above NGROUPS_MAX), ENOMEM. */
POPEN2_API int popen2_attr_set_ids(popen2_attr *a, uid_t uid, gid_t gid, const gid_t *groups,
                                   size_t ngroups);

/* on: the child and everything it runs can never gain privileges by exec
 * (prctl PR_SET_NO_NEW_PRIVS: setuid bits and file capabilities are
 * ignored).  0, or -1 with errno. */
POPEN2_API int popen2_attr_set_no_new_privs(popen2_attr *a, int on);

/* The child gets signal sig when the parent process ends (prctl
 * PR_SET_PDEATHSIG), not when the thread that created it ends: such
 * children are started by one library thread that lives while they run.
 * A parent that ended while the child was being made gets the child the
 * signal at once.  sig 0 turns it off.  0, or -1 with EINVAL (no such
 * signal). */
POPEN2_API int popen2_attr_set_parent_death_signal(popen2_attr *a, int sig);

/* Runs "/bin/sh -c cmd" with the options of a (NULL: Popen3's defaults).
 * The returned object works with every function above: the FILEs of piped
 * streams, poll, wait, free.  NULL with errno as popen2_Popen3, plus the
 * errors of opening an attr file or of changing directory (ENOENT ...). */
POPEN2_API popen2_proc *popen2_spawn(const char *cmd, const popen2_attr *a);

/* popen2_spawn with cmd as a sequence (no shell); errors as popen2_Popen3v. */
POPEN2_API popen2_proc *popen2_spawnv(char *const argv[], const popen2_attr *a);

/* popen2_wait with a bound: the wait status, or -1 with ETIMEDOUT when the
 * child is still running after timeout_ms milliseconds (0: just look; -1: no
 * bound).  Sleeps on a pidfd where the kernel has one, otherwise polls every
 * few milliseconds.  May run beside popen2_wait in other threads.  -1 with
 * EINVAL (NULL p, timeout below -1), ECHILD or the errno of a failed wait
 * as popen2_wait. */
POPEN2_API int popen2_wait_timeout(popen2_proc *p, int timeout_ms);

/* Sends signal sig to the child, or to its whole process group when it leads
 * one (POPEN2_GROUP_NEW / POPEN2_SESSION_NEW), so grandchildren holding the
 * pipes die too.  Goes through the child's pidfd, held from the spawn on
 * where the kernel has pidfds, so the signal can never reach a recycled pid,
 * even when something else in the program reaped the child; a child already
 * reaped is never signalled.  A group whose leader was reaped is still
 * signalled while it has members where the kernel can name the group
 * through the leader's pidfd (Linux 6.9); elsewhere signal the group before
 * reaping its leader (this call never reaps a group leader).  Where the
 * kernel or a sandbox's seccomp filter refuses pidfd_send_signal (ENOSYS,
 * EPERM), the signal goes by process id, once the pidfd has shown that the
 * child is not reaped (never for a group whose leader was reaped).  sig 0
 * only checks.  0, or -1 with EINVAL (NULL p, bad sig), ESRCH (the child was
 * reaped: poll/wait returned its status, or it was reaped behind the
 * library's back; for a group leader, its group is empty or the kernel
 * cannot reach it any more), EPERM. */
POPEN2_API int popen2_send_signal(popen2_proc *p, int sig);

/* Waits until every byte tochild has accepted so far has been delivered
 * into the child's stdin pipe (fflush tochild first: bytes still in its
 * stdio buffer are not counted).  timeout_ms as popen2_wait_timeout.  0, or
 * -1 with EPIPE (the child stopped reading: the rest was discarded, see
 * popen2_stream_stats), ETIMEDOUT, EBADF (stdin not piped), EINVAL. */
POPEN2_API int popen2_drain(popen2_proc *p, int timeout_ms);

/* popen2_send_signal(p, SIGTERM). */
POPEN2_API int popen2_terminate(popen2_proc *p);

/* popen2_send_signal(p, SIGKILL). */
POPEN2_API int popen2_kill(popen2_proc *p);

/* Ends the child as subprocess's terminate(), wait(timeout), kill(), wait()
 * do, in one call: SIGTERM to the child (to its group when it leads one),
 * then SIGCONT so that a stopped child can act on it; up to grace_ms
 * milliseconds for it to end (0: none); then SIGKILL, and a wait that the
 * SIGKILL bounds.  Reaps it and returns its wait status.  When the child
 * leads a group and ends within the grace, the rest of its group has what
 * is left of the grace, then gets SIGKILL (where the kernel can signal a
 * group through the leader's pidfd, Linux 6.9; see popen2_send_signal).  A
 * child that has ended already is reaped and nothing is signalled.  Never
 * signals a child that was reaped.  -1 with EINVAL (NULL p, grace_ms < 0:
 * a stop without a bound is popen2_terminate then popen2_wait), ECHILD (the
 * child was reaped behind the library's back, before or during the call),
 * EPERM, or the errno of a failed wait as popen2_wait. */
POPEN2_API int popen2_stop(popen2_proc *p, int grace_ms);

/* Python 3's Popen.returncode, as Popen.poll() sets it: reaps the child
 * without blocking if it has exited, then stores in *rc its exit code, or
 * -N when signal N ended it, and returns 0.  -1 with EAGAIN while the
 * child runs, EINVAL (NULL p or rc), ECHILD (reaped behind the library's
 * back: no code to give, where Python would say 0), or the errno of a
 * failed reap as popen2_poll. */
POPEN2_API int popen2_returncode(popen2_proc *p, long *rc);

/* The resource usage of the ended child itself (not of its own children):
 * what getrusage(2) describes, as the kernel hands it over when the child is
 * reaped (CPU times, peak resident set size, faults, context switches).
 * Reaps the child without blocking if it has exited, then fills *ru and
 * returns 0.  ru_maxrss (KiB on Linux) is the child's peak resident set
 * over its life, exec included: see popen2_rusage(3) for what a spawned
 * child's count holds.  -1 with EAGAIN while the child runs, EINVAL (NULL p
 * or ru), ECHILD (reaped behind the library's back: its usage was taken
 * with it), or the errno of a failed reap as popen2_poll. */
struct rusage;
POPEN2_API int popen2_rusage(popen2_proc *p, struct rusage *ru);

/* subprocess's communicate(): writes inlen bytes of input to the child's stdin
 * (through the writer thread, so it never blocks on the child), closes stdin,
 * collects stdout into *out / *outlen and stderr into *err / *errlen
 * (malloc'ed, NUL-terminated; NULL and 0 for a stream that is not piped),
 * waits for the child and returns its wait status.  A NULL out or err
 * discards that stream for good: its bytes are drained and dropped as they
 * come, in bounded memory (later calls get nothing more of it, and its
 * errors are not reported); the call still waits for its end.  timeout_ms
 * bounds the whole call, handing over the input included (-1: no bound); on
 * timeout it returns -1 with ETIMEDOUT and keeps what was collected, so a
 * later call (after popen2_kill, say) returns everything.  Input the child
 * has not made room for (a POPEN2_BLOCK limit on stdin) stays with the
 * caller: stdin stays open, and a later call with the same input (the same
 * bytes and inlen) sends the rest, never a byte twice; a later call with no
 * input (NULL, 0) gives the rest up and closes stdin; other input is EINVAL.
 * The same holds after a write error (below).  A child that stops reading
 * ends the input without an error, as in subprocess.  The out-parameters
 * are only written on success.  The output is exactly what the caller has
 * not read: bytes an output's FILE buffered but did not hand out (after an
 * fgets) come first.  Do not read the output FILEs, write tochild or
 * popen2_read at the same time.  A stream's memory limit bounds what is
 * collected too, alike in every run: POPEN2_FAIL fails the call with
 * ENOBUFS once the stream passes the limit, POPEN2_KEEP_TAIL returns its
 * newest max_bytes (the rest counted as dropped); SPILL and BLOCK bound the
 * ring only, the result holds the whole stream.  A child reaped behind the
 * library's back (SIGCHLD ignored, a waitpid(-1) elsewhere) has no status to
 * give: the output is handed over all the same and the status is 0, as
 * CPython's communicate() reports.  Needs no descriptor of its own.  -1 with
 * EINVAL (NULL p, timeout below -1, NULL input with inlen, input but stdin
 * not piped or closed by the caller, input other than an earlier call's),
 * ETIMEDOUT, ECHILD (an object of the process this one was forked from),
 * ENOMEM, ENOTSUP (the caller read from an output's FILE and the C library
 * cannot say what it buffered: not glibc or musl); an input write that could
 * not take the input: ENOBUFS (a POPEN2_FAIL limit on stdin: the rest does
 * not fit), EAGAIN (no writer thread could be started: RLIMIT_NPROC, a
 * cgroup's pids.max), ENOMEM; or the error that ended an output stream
 * early: ENOBUFS (POPEN2_FAIL), a POPEN2_SPILL stream's file error (ENOSPC,
 * EIO, EMFILE ...); or the errno of a failed wait as popen2_wait says (the
 * output is kept for a later call then, as on timeout). */
POPEN2_API int popen2_communicate(popen2_proc *p, const void *input, size_t inlen, char **out,
                                  size_t *outlen, char **err, size_t *errlen, int timeout_ms);

/* A descriptor for an event loop (poll, epoll, GLib's g_unix_fd_add, ...):
 * readable while a piped output stream has bytes to read or an end (EOF or
 * error) not yet returned by popen2_read, or the child has exited and is not
 * yet reaped.  Level-triggered: it stays readable until the caller has read
 * each stream to EAGAIN (or its end) and reaped the child with popen2_poll,
 * so a loop that does so on each wake-up never spins and never misses an
 * event.  A child reaped behind the library's back (SIGCHLD ignored, a
 * waitpid(-1) elsewhere) leaves the descriptor as soon as popen2_poll has
 * said -1 with errno ECHILD: a loop ends on a status or on ECHILD.  A wake-up may find nothing new (a reader thread can signal just
 * after the caller read what it announced); the next popen2_read clears it.
 * Made on the first call (an epoll descriptor holding an eventfd and the
 * child's pidfd), owned by the object, closed by popen2_free: the caller
 * must not close it, and removes it from its loop before popen2_free.  The
 * child's exit is an event only where the kernel has
 * pidfds (Linux 5.3 and later) and epoll; elsewhere (also where a sandbox
 * refuses epoll_create1 with ENOSYS) the descriptor reports the streams
 * only, and a loop learns of the exit from the stdout EOF or by calling
 * popen2_poll on a timer.  -1 with EINVAL (NULL p), EMFILE, ENOMEM. */
POPEN2_API int popen2_event_fd(popen2_proc *p);

/* Non-blocking read of output stream 1 or 2: up to n buffered bytes (as
 * many as there are), 0 at EOF, -1 with EAGAIN when nothing is buffered yet.
 * Only 0 is the end: EAGAIN can still come after popen2_poll or popen2_wait
 * returned the status, while the reader thread moves the child's last bytes
 * out of the pipe, so code ported from plain pipes ("it exited, so all is
 * in the pipe") must keep reading until 0, waking on popen2_event_fd.
 * Other errors: EINVAL (NULL p or buf, unknown stream or stream 0), EBADF
 * (the stream is not piped or its FILE was closed), ENOBUFS (POPEN2_FAIL
 * stream past its limit).  Do not mix with reading the stream's FILE. */
POPEN2_API ssize_t popen2_read(popen2_proc *p, int stream, void *buf, size_t n);

/* The next line of output stream 1 or 2 (the bytes up to and including
 * '\n', or the last bytes before EOF), read from the stream's buffer
 * without stdio, into *line, NUL-terminated and grown as getline(3) grows
 * it (*line NULL or *cap 0 is fine; *line must come from malloc).  Waits up
 * to timeout_ms for a whole line (-1: no bound; 0: just look).  Returns its
 * length; 0 at EOF (again at every later call); -1 with ETIMEDOUT when no
 * whole line arrived in time: what arrived of it is kept, and a later call
 * returns the whole line.  Lines of any length: a line longer than the
 * stream's POPEN2_BLOCK limit is taken out of the buffer as it comes, so
 * the child is never stuck on it.  Wakes on the same events as
 * popen2_event_fd, so an event loop calls it with timeout 0 when that
 * descriptor fires.  Not mixed with the stream's FILE: EBADF once the FILE
 * has read, and from the first call on the FILE's reads fail with EBADF.
 * Other errors: EINVAL (NULL p, line or cap, stream not 1 or 2,
 * timeout_ms below -1), EBADF (not piped, FILE closed), ENOMEM (the line
 * stays for a later call), or the stream's error after its data as
 * popen2_read (ENOBUFS). */
POPEN2_API ssize_t popen2_getline(popen2_proc *p, int stream, char **line, size_t *cap,
                                  int timeout_ms);

/* popen2_getline over every piped output stream whose FILE is open (stdout
 * and stderr) at once: *stream says which one the line came from (1 or 2),
 * and lines come in the order in which the reader threads read their last
 * byte from the child.  0 once every such stream is at EOF; an error with
 * *stream its stream; EBADF when no output stream is piped and open, or
 * one's FILE has read. */
POPEN2_API ssize_t popen2_getline_any(popen2_proc *p, int *stream, char **line, size_t *cap,
                                      int timeout_ms);

/* Sets the size of the child's terminal (POPEN2_PTY streams); the kernel
 * sends SIGWINCH to the terminal's foreground process group.  0, or -1 with
 * EINVAL (NULL p, rows or cols 0), EBADF (no terminal), ECHILD (an object
 * of the parent, in a forked child). */
POPEN2_API int popen2_pty_resize(popen2_proc *p, unsigned short rows, unsigned short cols);

/* The terminal's parent side (the master, non-blocking), owned by p and
 * closed by popen2_free: for tcgetattr/tcsetattr and ioctls; reading or
 * writing it bypasses the streams.  -1 with EBADF when p has no terminal,
 * EINVAL for NULL p. */
POPEN2_API int popen2_pty_fd(popen2_proc *p);

/* Bytes popen2_read can return now without waiting (memory + spill file);
 * for stream 0, bytes queued for the child and not yet delivered (tochild
 * may be closed).  -1 with EINVAL or EBADF as popen2_read. */
POPEN2_API ssize_t popen2_stream_available(popen2_proc *p, int stream);

/* Fills *st with stream 0, 1 or 2's counters; 0, or -1 with EINVAL (NULL p
 * or st, unknown stream) or EBADF (not piped). */
POPEN2_API int popen2_stream_stats(popen2_proc *p, int stream, struct popen2_stream_stats *st);

/* ------------------------------------------------------------------------
 * Beyond the contract: bulk reads without stdio.
 *
 * Not part of Python's popen2 (the contract above, which stays as it is):
 * a faster way to drain an output stream for programs that capture large
 * outputs.  fread on fromchild copies every byte twice (into the FILE's
 * buffer, then into the caller's); this reads straight into the caller's
 * buffer, and for a large n while nothing is buffered, straight from the
 * pipe, as a plain read() loop does.
 * ------------------------------------------------------------------------ */

/* Reads up to n bytes of output stream 1 (fromchild) or 2 (childerr) into
 * buf, blocking until there is at least one byte; returns as many as are
 * there at once (at most n), 0 at EOF.  Bytes already in the stream's FILE
 * buffer are not seen: do not mix with stdio reads (or popen2_read) of
 * the same stream, and (as with fread and fclose) do not free the object
 * while another thread is inside this call.  -1 with EINVAL (NULL p, NULL
 * buf with n > 0, stream not 1 or 2), EBADF (the object has no such
 * stream, or its FILE was closed), or the error that ended the stream. */
POPEN2_API ssize_t popen2_readinto(popen2_proc *p, int stream, void *buf, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* POPEN2_H */
