/* wait: waiting with a bound, beside Python's poll() and wait(): for the
 * child to end, and for the input to be delivered; and what the ended child
 * leaves besides its wait status: Python 3's returncode, its resource usage.
 *
 * The child is waited for through child.c, which holds it by its pidfd, so
 * a wait can only ever return this child's status. */
#include "config.h"

#include "api/api.h"

#include <errno.h>

int popen2_wait_timeout(popen2_proc *p, int timeout_ms)
{
    int st, r;

    if (!p || timeout_ms < -1)
        return p2i_fail(-EINVAL);
    if (p2i_api_inherited(p))
        return -1;
    r = p2i_child_wait(&p->child, timeout_ms, &st);
    return r == 1 ? st : p2i_fail(r);
}

int popen2_drain(popen2_proc *p, int timeout_ms)
{
    int r;

    if (!p || timeout_ms < -1)
        return p2i_fail(-EINVAL);
    if (!p2i_proc_stream_ok(p, CH_STDIN, false))
        return p2i_fail(-EBADF);
    r = p2i_ringinput_wait_drained(&p->ch[CH_STDIN].ring, p2i_clock_deadline(timeout_ms));
    return r < 0 ? p2i_fail(r) : 0;
}

int popen2_returncode(popen2_proc *p, long *rc)
{
    int r;

    if (!p || !rc)
        return p2i_fail(-EINVAL);
    if (p2i_api_inherited(p))
        return -1;
    /* Python's poll() reaps, and sets returncode on the way. */
    r = p2i_child_poll_returncode(&p->child, rc);
    if (r == 0)
        return p2i_fail(-EAGAIN);
    return r < 0 ? p2i_fail(r) : 0;
}

int popen2_rusage(popen2_proc *p, struct rusage *ru)
{
    int r;

    if (!p || !ru)
        return p2i_fail(-EINVAL);
    if (p2i_api_inherited(p))
        return -1;
    r = p2i_child_usage(&p->child, ru);
    return r < 0 ? p2i_fail(r) : 0;
}
