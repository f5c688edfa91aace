/* communicate: the front of subprocess's communicate(); the gathering, its
 * state kept between calls and why it works as it does are the object's
 * (lib/core/communicate.c). */
#include "config.h"

#include "api/api.h"

#include <errno.h>

int popen2_communicate(popen2_proc *p, const void *input, size_t inlen, char **out, size_t *outlen,
                       char **err, size_t *errlen, int timeout_ms)
{
    struct p2i_communicate_to to = {
        .data = {[CH_STDOUT] = out, [CH_STDERR] = err},
        .len = {[CH_STDOUT] = outlen, [CH_STDERR] = errlen},
    };
    int r;

    if (!p || timeout_ms < -1 || (inlen && !input))
        return p2i_fail(-EINVAL);
    if (p2i_api_inherited(p))
        return -1;
    r = p2i_communicate_run(p, input, inlen, &to, timeout_ms);
    return r < 0 ? p2i_fail(r) : r;
}
