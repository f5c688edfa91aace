/* cfile: a FILE * made of a read or write callback (see sys.h):
 * fopencookie where the C library has it (glibc, musl), else funopen (the
 * BSDs, macOS).  The callbacks follow fopencookie's rules; funopen's differ
 * only for a failed write, mapped here. */
#include "config.h"

#include "sys/sys.h"

#include <stdio.h>
#include <stdlib.h>

#if defined(HAVE_FOPENCOOKIE)
FILE *p2i_cfile_open(void *cookie, const struct p2i_cfile_ops *ops, bool writing, bool text)
{
    cookie_io_functions_t io = {
        .read = writing ? NULL : ops->read,
        .write = writing ? ops->write : NULL,
        .seek = NULL,
        .close = ops->close,
    };

    (void)text; /* POSIX FILEs have no text mode */
    return fopencookie(cookie, writing ? "w" : "r", io);
}
#else
/* funopen passes one cookie, so it is the pair of the caller's cookie and
 * callbacks; its close frees it. */
struct cfile {
    void *cookie;
    const struct p2i_cfile_ops *ops;
};

static int funopen_read(void *c, char *buf, int n)
{
    struct cfile *cf = c;

    return (int)cf->ops->read(cf->cookie, buf, (size_t)n);
}

static int funopen_write(void *c, const char *buf, int n)
{
    struct cfile *cf = c;
    ssize_t r = cf->ops->write(cf->cookie, buf, (size_t)n);

    /* BSD stdio takes -1 as the error (errno is already set). */
    return r == 0 && n > 0 ? -1 : (int)r;
}

static int funopen_close(void *c)
{
    struct cfile cf = *(struct cfile *)c;

    free(c);
    return cf.ops->close(cf.cookie);
}

FILE *p2i_cfile_open(void *cookie, const struct p2i_cfile_ops *ops, bool writing, bool text)
{
    struct cfile *cf = malloc(sizeof *cf);
    FILE *f;

    (void)text;
    if (!cf)
        return NULL;
    cf->cookie = cookie;
    cf->ops = ops;
    if (writing)
        f = funopen(cf, NULL, funopen_write, NULL, funopen_close);
    else
        f = funopen(cf, funopen_read, NULL, NULL, funopen_close);
    if (!f)
        free(cf);
    return f;
}
#endif

void p2i_cfile_start(FILE *f)
{
    (void)f; /* the C library calls the read callback when the caller reads */
}

int p2i_cfile_close(FILE *f)
{
    return fclose(f);
}
