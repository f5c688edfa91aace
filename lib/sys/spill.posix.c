/* spill: temporary-file I/O for rings with the SPILL policy (see base.h). */
#include "config.h"

#include "sys/sys.h"

#include <pthread.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The directory for spill files: $TMPDIR as every Unix tool reads it (only
 * when it is an absolute path, so a stray relative value cannot put the file
 * somewhere surprising), else /tmp. */
static const char *spill_dir(void)
{
    const char *d = getenv("TMPDIR");

    return d && d[0] == '/' ? d : "/tmp";
}

int p2i_spill_open(void)
{
    const char *dir = spill_dir();
    char path[PATH_MAX];
    int fd;

#ifdef O_TMPFILE
    /* Never linked: nothing to clean up even if the process dies now. */
    fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return p2i_fd_lift(fd);
        /* EOPNOTSUPP / EISDIR: the file system cannot; fall back. */
#endif
    if (snprintf(path, sizeof path, "%s/libpopen2-spill-XXXXXX", dir) >= (int)sizeof path)
        return -ENAMETOOLONG;
    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0)
        return -errno;
    unlink(path);
    return p2i_fd_lift(fd);
}

int p2i_spill_write(int fd, unsigned long long off, const void *buf, size_t n)
{
    const char *p = buf;
    ssize_t k;

    while (n) {
        k = pwrite(fd, p, n, (off_t)off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (k == 0)
            return -EIO;
        p += k;
        off += (unsigned long long)k;
        n -= (size_t)k;
    }
    return 0;
}

ssize_t p2i_spill_read(int fd, unsigned long long off, void *buf, size_t n)
{
    ssize_t k;
    int cancel;

    /* pread is a cancellation point, and the caller's thread gets here
     * holding the ring's lock (a read of fromchild). */
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
    do
        k = pread(fd, buf, n, (off_t)off);
    while (k < 0 && errno == EINTR);
    if (k < 0)
        k = -errno;
    else if (k == 0)
        k = -EIO;
    pthread_setcancelstate(cancel, NULL);
    return k;
}

void p2i_spill_reset(int fd)
{
    int saved = errno;

    if (ftruncate(fd, 0) < 0)
        errno = saved; /* the space comes back when the file is closed */
    errno = saved;
}
