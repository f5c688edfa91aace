/* api: the library's top layer, the exported popen2_* functions.  Each
 * file turns public arguments into calls of the layers below and -errno
 * into -1 or NULL with errno (p2i_fail, p2i_fail_null); none calls another
 * exported function.
 *
 *   object.c      Python's Popen3 / Popen4 class: constructors, poll, wait,
 *                 pid, the three FILEs, free
 *   module.c      Python's module functions: popen2(), popen3(), popen4(),
 *                 _cleanup() and len(_active)
 *   attr.c        the spawn options and popen2_spawn / popen2_spawnv
 *   wait.c        waits with a bound: the child's end, the input's delivery
 *   signal.c      signals to the child or its group
 *   read.c        the non-blocking and bulk reads, the streams' counters
 *   events.c      the event descriptor
 *   communicate.c subprocess's communicate()
 */
#ifndef POPEN2_API_H
#define POPEN2_API_H

#include "core/core.h"

#include <errno.h>

/* A command string runs as `/bin/sh -c cmd`, as Python's popen2 does. */
#define P2I_SHELL "/bin/sh"
#define P2I_SHELL_ARGV(cmd) {P2I_SHELL, "-c", (char *)(cmd), NULL}

/* object.c: the contract's constructors, shared with module.c.  `cmd` runs
 * through the shell (NULL or empty: EINVAL); `argv` is looked up in PATH
 * (NULL argv or argv[0]: EINVAL).  stderr is piped with capture_err, merged
 * into stdout with merge_err, else the parent's.  NULL with errno. */
struct popen2_proc *p2i_popen3_cmd(const char *cmd, bool capture_err, bool merge_err,
                                   int bufsize);
struct popen2_proc *p2i_popen3_argv(char *const argv[], bool capture_err, bool merge_err,
                                    int bufsize);

/* An object made by the parent before this process forked: every function
 * but popen2_pid refuses it with ECHILD, and popen2_free leaves it alone,
 * before touching a lock a thread of the parent may have held (fork.c). */
static inline bool p2i_front_inherited(struct popen2_proc *p)
{
    if (p && p2i_proc_inherited(p)) {
        errno = ECHILD;
        return true;
    }
    return false;
}

/* read.c: the channel of an output stream (1 stdout, 2 stderr) that is
 * piped (and, with need_open, whose FILE is still open); NULL with errno
 * EINVAL (no object, not an output stream) or EBADF. */
struct channel *p2i_output_channel(struct popen2_proc *p, int stream, bool need_open);
/* read.c: popen2_read's non-blocking read of channel ch, without the public
 * errno convention or the event descriptor's re-arming: bytes, 0 at EOF, or
 * -errno (-EAGAIN for nothing yet). */
ssize_t p2i_read_some(struct popen2_proc *p, struct channel *ch, void *buf, size_t n);

#endif
