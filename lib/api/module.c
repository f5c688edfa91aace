/* module: Python's popen2.popen2(), popen3() and popen4(), _cleanup() and
 * len(_active).
 *
 * Each builds a Popen3 or Popen4 object and hands back only its FILEs; the
 * object has no handle, so it is freed (as by popen2_free) when the caller
 * has fclosed every one of them.  Python's functions take mode 't' or 'b',
 * which mean the same on POSIX. */
#include "config.h"

#include "api/api.h"

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
    *out = p2i_proc_file(p, CH_STDOUT);
    *in = p2i_proc_file(p, CH_STDIN);
    if (err)
        *err = p2i_proc_file(p, CH_STDERR);
    p2i_proc_drop_handle(p);
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
    p = p2i_popen3_cmd(cmd, false, false, bufsize);
    return p ? hand_out(p, child_stdout, child_stdin, NULL) : -1;
}

int popen2_popen3(const char *cmd, int bufsize, const char *mode, FILE **child_stdout,
                  FILE **child_stdin, FILE **child_stderr)
{
    popen2_proc *p;

    CHECK_ARGS(child_stdout && child_stdin && child_stderr);
    p = p2i_popen3_cmd(cmd, true, false, bufsize);
    return p ? hand_out(p, child_stdout, child_stdin, child_stderr) : -1;
}

int popen2_popen4(const char *cmd, int bufsize, const char *mode,
                  FILE **child_stdout_and_stderr, FILE **child_stdin)
{
    popen2_proc *p;

    CHECK_ARGS(child_stdout_and_stderr && child_stdin);
    p = p2i_popen3_cmd(cmd, false, true, bufsize);
    return p ? hand_out(p, child_stdout_and_stderr, child_stdin, NULL) : -1;
}

int popen2_popen2v(char *const argv[], int bufsize, const char *mode, FILE **child_stdout,
                   FILE **child_stdin)
{
    popen2_proc *p;

    CHECK_ARGS(child_stdout && child_stdin);
    p = p2i_popen3_argv(argv, false, false, bufsize);
    return p ? hand_out(p, child_stdout, child_stdin, NULL) : -1;
}

int popen2_popen3v(char *const argv[], int bufsize, const char *mode, FILE **child_stdout,
                   FILE **child_stdin, FILE **child_stderr)
{
    popen2_proc *p;

    CHECK_ARGS(child_stdout && child_stdin && child_stderr);
    p = p2i_popen3_argv(argv, true, false, bufsize);
    return p ? hand_out(p, child_stdout, child_stdin, child_stderr) : -1;
}

int popen2_popen4v(char *const argv[], int bufsize, const char *mode,
                   FILE **child_stdout_and_stderr, FILE **child_stdin)
{
    popen2_proc *p;

    CHECK_ARGS(child_stdout_and_stderr && child_stdin);
    p = p2i_popen3_argv(argv, false, true, bufsize);
    return p ? hand_out(p, child_stdout_and_stderr, child_stdin, NULL) : -1;
}

void popen2_cleanup(void)
{
    p2i_active_reap();
}

size_t popen2_active(void)
{
    return p2i_active_count();
}
