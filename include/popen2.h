/* libpopen2: Python 2's popen2 module in C, deadlock-free by construction.
 *
 * Every object drains the child's stdout and stderr with reader threads into
 * growable ring buffers and feeds its stdin from a writer thread, so the
 * caller may read and write the three streams in any order and amount.
 * poll() and wait() reap the child on the caller's thread.
 *
 * Errors: functions that return a pointer return NULL, functions that return
 * int return -1; both set errno.  See popen2(7) and the README.
 */
#ifndef POPEN2_H
#define POPEN2_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define POPEN2_API __attribute__((visibility("default")))
#else
#define POPEN2_API
#endif

/* One Popen3 or Popen4 object: a child process and its three streams. */
typedef struct popen2_proc popen2_proc;

/* Python's Popen3(cmd, capturestderr, bufsize): runs "/bin/sh -c cmd" with its
 * stdout on fromchild, its stdin on tochild and, when capturestderr is
 * non-zero, its stderr on childerr (otherwise it shares the parent's stderr).
 * bufsize: -1 system default, 0 unbuffered, 1 line-buffered, N > 1 about N
 * bytes of stdio buffering.  Returns the object, or NULL with errno EINVAL
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
 * (decode with WIFEXITED and friends).  Never blocks.  Returns -1 as well when
 * the child was reaped behind the library's back. */
POPEN2_API int popen2_poll(popen2_proc *p);

/* Python's Popen3.wait(): blocks until the child exits and returns its wait
 * status, the same on every later call.  Retries on EINTR; -1 with errno
 * ECHILD only when the child was reaped behind the library's back, EINVAL for
 * a NULL object.  Several threads may wait on one object at once. */
POPEN2_API int popen2_wait(popen2_proc *p);

/* The child's stdout (Popen4: stdout and stderr), readable to EOF even after
 * the child was reaped.  NULL once the caller has fclosed it. */
POPEN2_API FILE *popen2_fromchild(popen2_proc *p);

/* The child's stdin.  Writing never blocks; fclose gives the child EOF once
 * everything written before has been delivered, without waiting for that.
 * After the child stopped reading, writes fail with EPIPE (no SIGPIPE).
 * NULL once the caller has fclosed it. */
POPEN2_API FILE *popen2_tochild(popen2_proc *p);

/* The child's stderr; NULL for Popen4, when capturestderr was 0, or once the
 * caller has fclosed it. */
POPEN2_API FILE *popen2_childerr(popen2_proc *p);

/* The child's process id; -1 with errno EINVAL for a NULL object. */
POPEN2_API pid_t popen2_pid(popen2_proc *p);

/* Closes the streams the caller has not fclosed and frees the object.  Never
 * blocks on the child and never signals it: a child not yet reaped goes to the
 * active list, reaped later by popen2_cleanup().  Input already written to
 * tochild is still delivered to a child that reads it.  NULL is a no-op. */
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
 * finished.  Never blocks; also runs at the start of every new object. */
POPEN2_API void popen2_cleanup(void);

/* len(popen2._active): how many freed objects still have an unreaped child. */
POPEN2_API size_t popen2_active(void);

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
 * buffer are not seen: do not mix with stdio reads of the same stream,
 * and (as with fread and fclose) do not free the object while another
 * thread is inside this call.  -1 with EINVAL (NULL p, NULL buf with n > 0, stream not 1 or 2), EBADF
 * (the object has no such stream, or its FILE was closed), or the error
 * that ended the stream. */
POPEN2_API ssize_t popen2_readinto(popen2_proc *p, int stream, void *buf, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* POPEN2_H */
