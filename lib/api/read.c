/* read: the reads beside the FILEs, and the streams' counters.
 *
 * popen2_read never blocks (EAGAIN while the stream has nothing), for event
 * loops; popen2_readinto blocks as fread does but copies straight into the
 * caller's buffer, without stdio's buffer and its extra copy.  Both read the
 * same ring (and pipe) as the stream's FILE. */
#include "config.h"

#include "api/api.h"

#include <errno.h>
#include <limits.h>

struct channel *p2i_read_channel(struct popen2_proc *p, int stream, bool need_open)
{
    if (!p || (stream != CH_STDOUT && stream != CH_STDERR))
        return p2i_fail_null(-EINVAL);
    if (p2i_api_inherited(p))
        return NULL;
    if (!p2i_proc_stream_ok(p, stream, need_open))
        return p2i_fail_null(-EBADF);
    return &p->ch[stream];
}

/* Any piped stream, for the queries.  stdin's queue outlives its FILE (the
 * writer thread delivers after fclose), so stdin need not be open. */
static struct channel *any_channel(struct popen2_proc *p, int stream, bool need_open)
{
    if (p && stream == CH_STDIN) {
        if (!p2i_proc_stream_ok(p, CH_STDIN, false))
            return p2i_fail_null(-EBADF);
        return &p->ch[CH_STDIN];
    }
    return p2i_read_channel(p, stream, need_open);
}

ssize_t popen2_read(popen2_proc *p, int stream, void *buf, size_t n)
{
    struct channel *ch = p2i_read_channel(p, stream, true);
    ssize_t r;

    if (!ch)
        return -1;
    if (!buf)
        return p2i_fail(-EINVAL);
    if (n == 0)
        return 0;
    if (n > SSIZE_MAX)
        n = SSIZE_MAX;
    r = p2i_proc_read_some(p, ch, buf, n);
    p2i_events_rearm(p);
    return r < 0 ? p2i_fail((int)r) : r;
}

ssize_t popen2_readinto(popen2_proc *p, int stream, void *buf, size_t n)
{
    struct channel *ch;
    ssize_t r;

    if (!buf && n)
        return p2i_fail(-EINVAL);
    ch = p2i_read_channel(p, stream, true);
    if (!ch)
        return -1;
    if (n == 0)
        return 0;
    r = p2i_stream_read(ch, buf, n);
    return r < 0 ? p2i_fail((int)r) : r;
}

ssize_t popen2_stream_available(popen2_proc *p, int stream)
{
    struct channel *ch = any_channel(p, stream, true);
    unsigned long long n;

    if (!ch)
        return -1;
    n = p2i_ringlimit_available(&ch->ring);
    return n > SSIZE_MAX ? SSIZE_MAX : (ssize_t)n;
}

int popen2_stream_stats(popen2_proc *p, int stream, struct popen2_stream_stats *st)
{
    struct channel *ch = any_channel(p, stream, false);

    if (!ch)
        return -1;
    if (!st)
        return p2i_fail(-EINVAL);
    p2i_ringlimit_stats(&ch->ring, st);
    return 0;
}
