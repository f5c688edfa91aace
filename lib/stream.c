/* stream: FILE* glue.
 *
 * Reads copy straight from the ring into the buffer stdio hands us, as much
 * as is there, returning as soon as there is one byte: fgets on a prompt
 * gets the line the child wrote without waiting for more.  Writes append to
 * the input ring and never block.  Closing the FILE tells the object (see
 * proc_file_closed), so the object never closes it a second time.
 */
#include "config.h"

#include "stream.h"
#include "proc.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

static ssize_t cookie_read(void *cookie, char *buf, size_t n)
{
    struct channel *ch = cookie;
    ssize_t r = ringbuf_read(&ch->ring, buf, n, true);

    if (r < 0) {
        errno = (int)-r;
        return -1;
    }
    return r;
}

static ssize_t cookie_write(void *cookie, const char *buf, size_t n)
{
    struct channel *ch = cookie;
    ssize_t r = ringbuf_append(&ch->ring, buf, n);

    /* Failure is 0 with errno set, as fopencookie(3) demands ("must not
     * return a negative value"): glibc's cookie write passes -1 up as a
     * byte count of SIZE_MAX, so an unbuffered fwrite reported success after
     * EPIPE (copying one byte past the caller's buffer) and fflush lost the
     * error.  A 0 makes fwrite short and fflush EOF, with errno EPIPE.
     * funopen wants -1 instead; funopen_write maps it. */
    if (r < 0) {
        errno = (int)-r;
        return 0;
    }
    return r;
}

static int cookie_close(void *cookie)
{
    struct channel *ch = cookie;

    if (ch->which == CH_STDIN) {
        /* EOF for the child once the writer thread has delivered the rest. */
        ringbuf_close_producer(&ch->ring, 0);
    } else {
        ringbuf_close_consumer(&ch->ring, 0);
        wake_signal(&ch->wake);
    }
    proc_file_closed(ch);
    return 0;
}

#if defined(HAVE_FOPENCOOKIE)
static FILE *make_file(struct channel *ch)
{
    cookie_io_functions_t io = {
        .read = ch->which == CH_STDIN ? NULL : cookie_read,
        .write = ch->which == CH_STDIN ? cookie_write : NULL,
        .seek = NULL,
        .close = cookie_close,
    };
    return fopencookie(ch, ch->which == CH_STDIN ? "w" : "r", io);
}
#else
static int funopen_read(void *cookie, char *buf, int n)
{
    return (int)cookie_read(cookie, buf, (size_t)n);
}

static int funopen_write(void *cookie, const char *buf, int n)
{
    ssize_t r = cookie_write(cookie, buf, (size_t)n);

    /* BSD stdio takes -1 as the error (errno is already set). */
    return r == 0 && n > 0 ? -1 : (int)r;
}

static FILE *make_file(struct channel *ch)
{
    if (ch->which == CH_STDIN)
        return funopen(ch, NULL, funopen_write, NULL, cookie_close);
    return funopen(ch, funopen_read, NULL, NULL, cookie_close);
}
#endif

FILE *stream_open(struct channel *ch, int bufsize)
{
    FILE *f;

    /* glibc ignores setvbuf's size unless it is handed the buffer, so a
     * bufsize of N > 1 brings its own; the channel frees it with the object,
     * after the FILE is closed. */
    if (bufsize > 1) {
        ch->iobuf = malloc((size_t)bufsize);
        if (!ch->iobuf)
            return NULL;
    }
    f = make_file(ch);
    if (!f) {
        free(ch->iobuf);
        ch->iobuf = NULL;
        return NULL;
    }
    /* Python's bufsize: 0 unbuffered, 1 line buffered, N > 1 about N bytes,
     * negative the system default (stdio's own choice).  With the buffer
     * supplied, setvbuf cannot fail. */
    if (bufsize == 0)
        setvbuf(f, NULL, _IONBF, 0);
    else if (bufsize == 1)
        setvbuf(f, NULL, _IOLBF, BUFSIZ);
    else if (bufsize > 1)
        setvbuf(f, ch->iobuf, _IOFBF, (size_t)bufsize);
    ch->file = f;
    return f;
}
