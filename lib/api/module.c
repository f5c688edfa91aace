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

/* Builds a Popen3 or Popen4 object (cmd or argv as p2i_object_spawn takes
 * them), hands its FILEs out and gives up the handle: its reference now
 * belongs to the set of FILEs, dropped by the last fclose (proc_finish).
 * The out-parameters are checked before the object is made, so they are
 * untouched on failure.  err is stderr's only when it is piped. */
static int hand_out(const char *cmd, char *const argv[], int err_how, int bufsize, const char *mode,
                    FILE **out, FILE **in, FILE **err)
{
    popen2_proc *p;
    int r;

    if (!out || !in || (err_how == POPEN2_PIPE && !err) || !mode_ok(mode))
        return p2i_fail(-EINVAL);
    /* Mode "t": text-mode FILEs where the C library has them (Windows). */
    r = p2i_object_contract(cmd, argv, err_how, bufsize, mode && strcmp(mode, "t") == 0, &p);
    if (r < 0)
        return p2i_fail(r);
    *out = p2i_proc_give_file(p, CH_STDOUT);
    *in = p2i_proc_give_file(p, CH_STDIN);
    if (err_how == POPEN2_PIPE)
        *err = p2i_proc_give_file(p, CH_STDERR);
    p2i_proc_drop_handle(p);
    return 0;
}

int popen2_popen2(const char *cmd, int bufsize, const char *mode, FILE **child_stdout,
                  FILE **child_stdin)
{
    return hand_out(cmd, NULL, POPEN2_INHERIT, bufsize, mode, child_stdout, child_stdin, NULL);
}

int popen2_popen3(const char *cmd, int bufsize, const char *mode, FILE **child_stdout,
                  FILE **child_stdin, FILE **child_stderr)
{
    return hand_out(cmd, NULL, POPEN2_PIPE, bufsize, mode, child_stdout, child_stdin, child_stderr);
}

int popen2_popen4(const char *cmd, int bufsize, const char *mode, FILE **child_stdout_and_stderr,
                  FILE **child_stdin)
{
    return hand_out(cmd, NULL, POPEN2_MERGE, bufsize, mode, child_stdout_and_stderr, child_stdin,
                    NULL);
}

int popen2_popen2v(char *const argv[], int bufsize, const char *mode, FILE **child_stdout,
                   FILE **child_stdin)
{
    return hand_out(NULL, argv, POPEN2_INHERIT, bufsize, mode, child_stdout, child_stdin, NULL);
}

int popen2_popen3v(char *const argv[], int bufsize, const char *mode, FILE **child_stdout,
                   FILE **child_stdin, FILE **child_stderr)
{
    return hand_out(NULL, argv, POPEN2_PIPE, bufsize, mode, child_stdout, child_stdin,
                    child_stderr);
}

int popen2_popen4v(char *const argv[], int bufsize, const char *mode,
                   FILE **child_stdout_and_stderr, FILE **child_stdin)
{
    return hand_out(NULL, argv, POPEN2_MERGE, bufsize, mode, child_stdout_and_stderr, child_stdin,
                    NULL);
}

void popen2_cleanup(void)
{
    p2i_active_reap();
}

size_t popen2_active(void)
{
    return p2i_active_count();
}
