/* api: the library's top layer, the exported popen2_* functions.  Each
 * file turns public arguments into calls of the layers below and -errno
 * into -1 or NULL with errno (p2i_fail, p2i_fail_null); none calls another
 * exported function.
 *
 *   object.c      Python's Popen3 / Popen4 class: constructors, poll, wait,
 *                 pid, the three FILEs, free; and every
 *                 constructor's last step, from a plan and a program to an
 *                 object
 *   module.c      Python's module functions: popen2(), popen3(), popen4(),
 *                 _cleanup() and len(_active)
 *   attr.c        the spawn options and popen2_spawn / popen2_spawnv
 *   wait.c        waits with a bound: the child's end, the input's delivery;
 *                 the ended child's returncode and resource usage
 *   signal.c      signals to the child or its group, and popen2_stop
 *   read.c        the non-blocking and bulk reads, the streams' counters
 *   lines.c       timed line reads from one output stream or both
 *   events.c      the event descriptor
 *   communicate.c subprocess's communicate()
 *   pty.c         the terminal of POPEN2_PTY streams: its size, its master
 */
#ifndef POPEN2_API_H
#define POPEN2_API_H

#include "core/core.h"

#include <errno.h>

/* A command string runs as `/bin/sh -c cmd`, as Python's popen2 does
 * (P2I_SHELL: sys.h). */
#define P2I_SHELL_ARGV(cmd) {P2I_SHELL, "-c", (char *)(cmd), NULL}

/* object.c: spawns as plan says, with the program set on the way: `cmd`
 * run by the shell (empty: -EINVAL) or, with cmd NULL, argv (NULL argv or
 * argv[0]: -EINVAL) looked up in PATH as the plan says.  0 with *out, or
 * -errno. */
int p2i_object_spawn(const struct spawn_plan *plan, const char *cmd, char *const argv[],
                     struct popen2_proc **out);
/* object.c: the contract's objects, shared with module.c: Popen3's plan
 * (p2i_proc_plan_init) with stderr as err_how (POPEN2_INHERIT, POPEN2_PIPE
 * for capturestderr, POPEN2_MERGE for Popen4) and every FILE buffered as
 * bufsize, in text mode with text; cmd or argv as for p2i_object_spawn. */
int p2i_object_contract(const char *cmd, char *const argv[], int err_how, int bufsize,
                        bool text, struct popen2_proc **out);

/* An object made by the parent before this process forked: every function
 * but popen2_pid refuses it with ECHILD, and popen2_free leaves it alone,
 * before touching a lock a thread of the parent may have held (fork.c). */
static inline bool p2i_api_inherited(struct popen2_proc *p)
{
    return p && p2i_proc_inherited(p) && p2i_fail(-ECHILD) == -1;
}

/* read.c: the channel of an output stream (1 stdout, 2 stderr) that is
 * piped (and, with need_open, whose FILE is still open); NULL with errno
 * EINVAL (no object, not an output stream) or EBADF. */
struct channel *p2i_read_channel(struct popen2_proc *p, int stream, bool need_open);

#endif
