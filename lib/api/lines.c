/* lines: timed line reads from the output streams, without stdio
 * (lib/core/lines.c does the work). */
#include "config.h"

#include "api/api.h"

#include <errno.h>
#include <limits.h>

ssize_t popen2_getline(popen2_proc *p, int stream, char **line, size_t *cap, int timeout_ms)
{
    struct channel *ch;
    ssize_t r;

    if (!line || !cap || timeout_ms < -1)
        return p2i_fail(-EINVAL);
    ch = p2i_read_channel(p, stream, true);
    if (!ch)
        return -1;
    r = p2i_lines_get(p, stream, line, cap, timeout_ms);
    return r < 0 ? p2i_fail((int)r) : r;
}

ssize_t popen2_getline_any(popen2_proc *p, int *stream, char **line, size_t *cap, int timeout_ms)
{
    int which = 0;
    ssize_t r;

    if (!p || !stream || !line || !cap || timeout_ms < -1)
        return p2i_fail(-EINVAL);
    if (p2i_api_inherited(p))
        return -1;
    r = p2i_lines_get_any(p, &which, line, cap, timeout_ms);
    *stream = which;
    return r < 0 ? p2i_fail((int)r) : r;
}
