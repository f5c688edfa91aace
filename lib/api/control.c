/* control: timed waits and signals, beside Python's poll() and wait(), and
 * waiting for the input to be delivered.
 *
 * Both act on the child through child.c, which holds it by its pidfd: a
 * signal can never reach a process that got the child's number after it was
 * reaped, and a wait can only ever return this child's status. */
#include "config.h"

#include "api/api.h"

#include <errno.h>
#include <signal.h>

int popen2_wait_timeout(popen2_proc *p, int timeout_ms)
{
    int st, r;

    if (!p || timeout_ms < -1)
        return p2i_fail(-EINVAL);
    if (p2i_front_inherited(p))
        return -1;
    r = p2i_child_wait(&p->child, timeout_ms, &st);
    return r == 1 ? st : p2i_fail(r);
}

static int send_signal(popen2_proc *p, int sig)
{
    int r;

    if (!p || sig < 0 || sig >= NSIG)
        return p2i_fail(-EINVAL);
    if (p2i_front_inherited(p))
        return -1;
    r = p2i_child_signal(&p->child, sig);
    return r < 0 ? p2i_fail(r) : 0;
}

int popen2_drain(popen2_proc *p, int timeout_ms)
{
    int r;

    if (!p || timeout_ms < -1)
        return p2i_fail(-EINVAL);
    if (!p2i_proc_stream_ok(p, CH_STDIN, false))
        return p2i_fail(-EBADF);
    r = p2i_ringbuf_wait_drained(&p->ch[CH_STDIN].ring, p2i_deadline(timeout_ms));
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
