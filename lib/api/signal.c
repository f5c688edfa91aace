/* signal: signals to the child, or to the process group it leads, and the
 * stop that escalates from SIGTERM to SIGKILL.
 *
 * They go through child.c, which holds the child by its pidfd: a signal can
 * never reach a process that got the child's number after it was reaped. */
#include "config.h"

#include "api/api.h"

#include <errno.h>
#include <signal.h>

static int send_signal(popen2_proc *p, int sig)
{
    int r;

    if (!p || sig < 0 || sig >= NSIG)
        return p2i_fail(-EINVAL);
    if (p2i_api_inherited(p))
        return -1;
    r = p2i_child_signal(&p->child, sig);
    return r < 0 ? p2i_fail(r) : 0;
}

int popen2_send_signal(popen2_proc *p, int sig)
{
    return send_signal(p, sig);
}

int popen2_terminate(popen2_proc *p)
{
    return send_signal(p, SIGTERM);
}

int popen2_kill(popen2_proc *p)
{
    return send_signal(p, SIGKILL);
}

int popen2_stop(popen2_proc *p, int grace_ms)
{
    int st, r;

    if (!p || grace_ms < 0)
        return p2i_fail(-EINVAL);
    if (p2i_api_inherited(p))
        return -1;
    r = p2i_child_stop(&p->child, grace_ms, &st);
    return r == 1 ? st : p2i_fail(r);
}
