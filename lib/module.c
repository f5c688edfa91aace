/* module: Python's popen2.popen2(), popen3() and popen4().
 *
 * Each builds a Popen3 or Popen4 object and hands back only its FILEs; the
 * object has no handle, so it is freed (as by popen2_free) when the caller
 * has fclosed every one of them.  Python's functions take mode 't' or 'b',
 * which mean the same on POSIX. */
#include "config.h"

#include "proc.h"

#include <errno.h>
#include <string.h>

static bool mode_ok(const char *mode)
{
    return !mode || strcmp(mode, "t") == 0 || strcmp(mode, "b") == 0;
}

/* Hands the object's FILEs out and gives up the handle: its reference now
 * belongs to the set of FILEs, dropped by the last fclose (proc_finish).  The
 * out-parameters were checked before the object was made, so this cannot
 * fail. */
static int hand_out(popen2_proc *p, FILE **out, FILE **in, FILE **err)
{
    *out = popen2_fromchild(p);
    *in = popen2_tochild(p);
    if (err)
        *err = popen2_childerr(p);
    pthread_mutex_lock(&p->mu);
    p->handle_open = false;
    pthread_mutex_unlock(&p->mu);
    return 0;
}

#define CHECK_ARGS(ok)                                                                             \
    do {                                                                                           \
        if (!(ok) || !mode_ok(mode)) {                                                             \
            errno = EINVAL;                                                                        \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

int popen2_popen2(const char *cmd, int bufsize, const char *mode, FILE **child_stdout,
                  FILE **child_stdin)
{
    popen2_proc *p;

    CHECK_ARGS(child_stdout && child_stdin);
    p = popen2_Popen3(cmd, 0, bufsize);
    return p ? hand_out(p, child_stdout, child_stdin, NULL) : -1;
}

int popen2_popen3(const char *cmd, int bufsize, const char *mode, FILE **child_stdout,
                  FILE **child_stdin, FILE **child_stderr)
{
    popen2_proc *p;

    CHECK_ARGS(child_stdout && child_stdin && child_stderr);
    p = popen2_Popen3(cmd, 1, bufsize);
    return p ? hand_out(p, child_stdout, child_stdin, child_stderr) : -1;
}

int popen2_popen4(const char *cmd, int bufsize, const char *mode,
                  FILE **child_stdout_and_stderr, FILE **child_stdin)
{
    popen2_proc *p;

    CHECK_ARGS(child_stdout_and_stderr && child_stdin);
    p = popen2_Popen4(cmd, bufsize);
    return p ? hand_out(p, child_stdout_and_stderr, child_stdin, NULL) : -1;
}

int popen2_popen2v(char *const argv[], int bufsize, const char *mode, FILE **child_stdout,
                   FILE **child_stdin)
{
    popen2_proc *p;

    CHECK_ARGS(child_stdout && child_stdin);
    p = popen2_Popen3v(argv, 0, bufsize);
    return p ? hand_out(p, child_stdout, child_stdin, NULL) : -1;
}

int popen2_popen3v(char *const argv[], int bufsize, const char *mode, FILE **child_stdout,
                   FILE **child_stdin, FILE **child_stderr)
{
    popen2_proc *p;

    CHECK_ARGS(child_stdout && child_stdin && child_stderr);
    p = popen2_Popen3v(argv, 1, bufsize);
    return p ? hand_out(p, child_stdout, child_stdin, child_stderr) : -1;
}

int popen2_popen4v(char *const argv[], int bufsize, const char *mode,
                   FILE **child_stdout_and_stderr, FILE **child_stdin)
{
    popen2_proc *p;

    CHECK_ARGS(child_stdout_and_stderr && child_stdin);
    p = popen2_Popen4v(argv, bufsize);
    return p ? hand_out(p, child_stdout_and_stderr, child_stdin, NULL) : -1;
}
