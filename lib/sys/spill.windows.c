/* spill: the temporary file behind a spilling ring, on Windows (see sys.h).
 * It is opened without sharing and deleted when its handle closes, so no
 * other process can open it and nothing is left behind, even when the
 * process dies. */
#include "config.h"

#include "sys/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <string.h>
#include <windows.h>

int p2i_spill_open(void)
{
    wchar_t dir[MAX_PATH + 1], path[MAX_PATH + 1];
    HANDLE h;
    int fd;

    if (!GetTempPathW(MAX_PATH + 1, dir) || !GetTempFileNameW(dir, L"p2s", 0, path))
        return -p2i_win_errno(GetLastError());
    /* GetTempFileNameW made the file; this opens it again, for us alone. */
    h = CreateFileW(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                    FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        int e = p2i_win_errno(GetLastError());

        DeleteFileW(path);
        return -e;
    }
    fd = _open_osfhandle((intptr_t)h, _O_RDWR | _O_BINARY | _O_NOINHERIT);
    if (fd < 0) {
        CloseHandle(h);
        return -EMFILE;
    }
    return fd;
}

static OVERLAPPED at(unsigned long long off)
{
    OVERLAPPED o;

    memset(&o, 0, sizeof o);
    o.Offset = (DWORD)off;
    o.OffsetHigh = (DWORD)(off >> 32);
    return o;
}

int p2i_spill_write(int fd, unsigned long long off, const void *buf, size_t n)
{
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    const char *p = buf;
    DWORD put, chunk;
    OVERLAPPED o;

    while (n > 0) {
        chunk = n > 0x40000000 ? 0x40000000 : (DWORD)n;
        o = at(off);
        if (!WriteFile(h, p, chunk, &put, &o))
            return -p2i_win_errno(GetLastError());
        if (put == 0)
            return -EIO;
        p += put;
        off += put;
        n -= put;
    }
    return 0;
}

ssize_t p2i_spill_read(int fd, unsigned long long off, void *buf, size_t n)
{
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    DWORD got = 0;
    OVERLAPPED o = at(off);

    if (n > 0x40000000)
        n = 0x40000000;
    if (!ReadFile(h, buf, (DWORD)n, &got, &o) && GetLastError() != ERROR_HANDLE_EOF)
        return -p2i_win_errno(GetLastError());
    return got > 0 ? (ssize_t)got : -EIO;
}

void p2i_spill_reset(int fd)
{
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    LARGE_INTEGER zero;

    zero.QuadPart = 0;
    if (SetFilePointerEx(h, zero, NULL, FILE_BEGIN))
        SetEndOfFile(h);
}
