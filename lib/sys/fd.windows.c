/* fd: descriptors on Windows (see sys.h).  The library's pipe ends are the
 * C runtime's descriptors over anonymous pipe handles, none of them
 * inheritable: spawn.windows.c hands the child inheritable copies of its
 * own three alone.  Anonymous pipes cannot be non-blocking or polled, so a
 * read looks first (PeekNamedPipe) and says EAGAIN when nothing is there,
 * and a wait for input looks again after short sleeps; a write blocks until
 * the child has taken the bytes, which only the writer thread does. */
#include "config.h"

#include "sys/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <pthread.h>
#include <windows.h>

/* The pipe's buffer: as large as the POSIX pipes the library grows to. */
#define PIPE_SIZE (1 << 20)

/* The longest sleep between two looks at an empty pipe: short enough that
 * a reader wakes quickly once bytes come, long enough to cost nothing while
 * the child is quiet. */
#define WAIT_MAX_MS 4

int p2i_win_errno(unsigned long error)
{
    switch (error) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_DRIVE:
    case ERROR_BAD_PATHNAME:
    case ERROR_DIRECTORY:
        return ENOENT;
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
        return EACCES;
    case ERROR_BAD_EXE_FORMAT:
    case ERROR_EXE_MACHINE_TYPE_MISMATCH:
        return ENOEXEC;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
        return ENOMEM;
    case ERROR_TOO_MANY_OPEN_FILES:
        return EMFILE;
    case ERROR_BROKEN_PIPE:
    case ERROR_NO_DATA:
        return EPIPE;
    case ERROR_INVALID_HANDLE:
        return EBADF;
    case ERROR_FILENAME_EXCED_RANGE:
        return ENAMETOOLONG;
    default:
        return EINVAL;
    }
}

int p2i_fd_close(int fd)
{
    int saved = errno;

    if (fd >= 0)
        _close(fd);
    errno = saved;
    return -1;
}

int p2i_fd_pipe(int fds[2])
{
    HANDLE r, w;
    int e;

    /* No SECURITY_ATTRIBUTES: neither end is inheritable. */
    if (!CreatePipe(&r, &w, NULL, PIPE_SIZE))
        return -p2i_win_errno(GetLastError());
    fds[0] = _open_osfhandle((intptr_t)r, _O_RDONLY | _O_BINARY | _O_NOINHERIT);
    if (fds[0] < 0) {
        e = errno;
        CloseHandle(r);
        CloseHandle(w);
        return -e;
    }
    fds[1] = _open_osfhandle((intptr_t)w, _O_WRONLY | _O_BINARY | _O_NOINHERIT);
    if (fds[1] < 0) {
        e = errno;
        _close(fds[0]);
        CloseHandle(w);
        return -e;
    }
    return 0;
}

int p2i_fd_set_nonblock(int fd)
{
    (void)fd; /* reads look before they read (p2i_fd_read) */
    return 0;
}

void p2i_fd_grow_pipe(int fd)
{
    (void)fd; /* made at its full size */
}

int p2i_fd_lift(int fd)
{
    return fd; /* nothing is inherited by number on Windows */
}

ssize_t p2i_fd_read(int fd, void *buf, size_t n)
{
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    DWORD avail = 0, got = 0, err;

    if (h == INVALID_HANDLE_VALUE) {
        errno = EBADF;
        return -1;
    }
    if (!PeekNamedPipe(h, NULL, 0, NULL, &avail, NULL)) {
        err = GetLastError();
        if (err == ERROR_BROKEN_PIPE)
            return 0; /* every writer closed its end: EOF */
        if (err != ERROR_INVALID_FUNCTION) {
            errno = p2i_win_errno(err);
            return -1;
        }
        avail = (DWORD)(n > 0x40000000 ? 0x40000000 : n); /* not a pipe: a plain read */
    }
    if (avail == 0) {
        errno = EAGAIN;
        return -1;
    }
    if (n > avail)
        n = avail;
    if (!ReadFile(h, buf, (DWORD)n, &got, NULL)) {
        err = GetLastError();
        if (err == ERROR_BROKEN_PIPE)
            return 0;
        errno = p2i_win_errno(err);
        return -1;
    }
    return (ssize_t)got;
}

ssize_t p2i_fd_write(int fd, const void *buf, size_t n)
{
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    DWORD put = 0;

    if (h == INVALID_HANDLE_VALUE) {
        errno = EBADF;
        return -1;
    }
    if (n > 0x40000000)
        n = 0x40000000;
    if (!WriteFile(h, buf, (DWORD)n, &put, NULL)) {
        errno = p2i_win_errno(GetLastError());
        return -1;
    }
    return (ssize_t)put;
}

/* Whether a read of fd would not say EAGAIN: bytes, EOF or an error. */
static bool readable(int fd)
{
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    DWORD avail = 0;

    if (h == INVALID_HANDLE_VALUE || !PeekNamedPipe(h, NULL, 0, NULL, &avail, NULL))
        return true;
    return avail > 0;
}

int p2i_fd_wait(int fd, bool out, struct wake *w)
{
    int ms = 0;

    for (;;) {
        if (w && readable(w->rfd))
            return 0;
        if (out || readable(fd))
            return 1;
        pthread_testcancel();
        Sleep((DWORD)ms);
        ms = ms ? (ms * 2 > WAIT_MAX_MS ? WAIT_MAX_MS : ms * 2) : 1;
    }
}

void p2i_fd_eat_sigpipe(void)
{
    /* A broken pipe is ERROR_NO_DATA here, never a signal. */
}

int p2i_fd_dup(int fd)
{
    HANDLE h = (HANDLE)_get_osfhandle(fd), copy;
    int dup;

    if (h == INVALID_HANDLE_VALUE)
        return -EBADF;
    /* Not inheritable: only spawn.windows.c's copies reach a child. */
    if (!DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &copy, 0, FALSE,
                         DUPLICATE_SAME_ACCESS))
        return -p2i_win_errno(GetLastError());
    dup = _open_osfhandle((intptr_t)copy, _O_BINARY | _O_NOINHERIT);
    if (dup < 0) {
        CloseHandle(copy);
        return -EMFILE;
    }
    return dup;
}
