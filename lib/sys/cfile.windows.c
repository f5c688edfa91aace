/* cfile: a FILE * made of a read or write callback on Windows (see sys.h),
 * whose C runtime has neither fopencookie nor funopen.  The FILE is the
 * C runtime's, over one end of a private pipe; a thread moves the bytes
 * between the pipe's other end and the callback:
 *
 *   reading: callback -> pipe -> FILE; at the callback's EOF the thread
 *            closes its end, and the FILE reads EOF once the pipe is empty.
 *   writing: FILE -> pipe -> callback; the FILE's close is the pipe's EOF.
 *
 * A reading thread is made suspended and resumed by p2i_cfile_start, when
 * the caller is handed the FILE: until then the callback's bytes stay where
 * the library's direct reads find them.
 *
 * The close callback runs once: in p2i_cfile_close (the library's own
 * fclose), or when the thread sees that the caller fclosed the FILE (the
 * writer's EOF; for a reader, a write into the pipe that finds no reader,
 * or, after the callback's EOF, the FILE's descriptor gone).  The memory
 * belongs to the FILE and the thread together; the last of them frees it. */
#include "config.h"

#include "sys/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <pthread.h>
#include <stdlib.h>
#include <windows.h>

#define CHUNK (64 * 1024)

/* How often a reader whose callback said EOF looks whether the caller
 * fclosed the FILE. */
#define CLOSED_POLL_MS 50

struct cfile {
    void *cookie;
    const struct p2i_cfile_ops *ops;
    bool writing;
    HANDLE end;     /* the thread's end of the pipe */
    HANDLE file_h;  /* the FILE's end, as its descriptor holds it */
    int fd;         /* the FILE's descriptor */
    FILE *f;
    HANDLE thread;
    bool started;   /* the thread was resumed (under mu) */
    LONG closed;    /* the close callback has run (or is running) */
    LONG refs;      /* the thread's and the FILE's */
    struct cfile *next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct cfile *list;

static void unref(struct cfile *cf)
{
    if (InterlockedDecrement(&cf->refs) == 0) {
        CloseHandle(cf->thread);
        free(cf);
    }
}

/* Takes cf off the list of open FILEs (once). */
static bool unlist(struct cfile *cf)
{
    struct cfile **p;
    bool found = false;

    pthread_mutex_lock(&mu);
    for (p = &list; *p; p = &(*p)->next)
        if (*p == cf) {
            *p = cf->next;
            found = true;
            break;
        }
    pthread_mutex_unlock(&mu);
    return found;
}

/* Runs the close callback unless it ran already; its result. */
static int run_close(struct cfile *cf)
{
    if (InterlockedExchange(&cf->closed, 1))
        return 0;
    return cf->ops->close(cf->cookie);
}

/* The caller fclosed the FILE behind our back: its close. */
static void closed_by_caller(struct cfile *cf)
{
    if (unlist(cf)) {
        run_close(cf);
        unref(cf); /* the FILE's */
    }
}

static bool write_all(HANDLE h, const char *p, size_t n)
{
    DWORD put;

    while (n > 0) {
        if (!WriteFile(h, p, (DWORD)n, &put, NULL))
            return false;
        p += put;
        n -= put;
    }
    return true;
}

static DWORD WINAPI reader_main(void *arg)
{
    struct cfile *cf = arg;
    char *buf = malloc(CHUNK);
    ssize_t n;
    bool gone = false;

    for (;;) {
        if (!buf || InterlockedCompareExchange(&cf->closed, 0, 0))
            break;
        n = cf->ops->read(cf->cookie, buf, CHUNK);
        if (n <= 0)
            break; /* EOF, or the error the FILE cannot carry: EOF too */
        if (!write_all(cf->end, buf, (size_t)n)) {
            gone = true; /* nobody reads the FILE any more */
            break;
        }
    }
    free(buf);
    CloseHandle(cf->end);
    if (!gone)
        /* The FILE reads to EOF now; its descriptor tells when the caller
         * closes it (a later descriptor with that number has another
         * handle). */
        while (!InterlockedCompareExchange(&cf->closed, 0, 0) &&
               (HANDLE)_get_osfhandle(cf->fd) == cf->file_h)
            Sleep(CLOSED_POLL_MS);
    closed_by_caller(cf);
    unref(cf);
    return 0;
}

static DWORD WINAPI writer_main(void *arg)
{
    struct cfile *cf = arg;
    char *buf = malloc(CHUNK);
    DWORD got;
    size_t off;
    ssize_t k;

    while (buf && ReadFile(cf->end, buf, CHUNK, &got, NULL) && got > 0) {
        for (off = 0; off < got; off += (size_t)k) {
            k = cf->ops->write(cf->cookie, buf + off, got - off);
            if (k <= 0)
                break; /* refused (EPIPE, ENOBUFS): the rest is dropped */
        }
    }
    free(buf);
    CloseHandle(cf->end);
    closed_by_caller(cf);
    unref(cf);
    return 0;
}

FILE *p2i_cfile_open(void *cookie, const struct p2i_cfile_ops *ops, bool writing, bool text)
{
    struct cfile *cf = calloc(1, sizeof *cf);
    HANDLE r, w;
    int e;

    if (!cf) {
        errno = ENOMEM;
        return NULL;
    }
    if (!CreatePipe(&r, &w, NULL, CHUNK)) {
        e = p2i_win_errno(GetLastError());
        free(cf);
        errno = e;
        return NULL;
    }
    cf->cookie = cookie;
    cf->ops = ops;
    cf->writing = writing;
    cf->end = writing ? r : w;
    cf->file_h = writing ? w : r;
    cf->refs = 2;
    cf->fd = _open_osfhandle((intptr_t)cf->file_h,
                             (writing ? _O_WRONLY : _O_RDONLY) | (text ? _O_TEXT : _O_BINARY) | _O_NOINHERIT);
    if (cf->fd < 0) {
        e = errno;
        CloseHandle(r);
        CloseHandle(w);
        free(cf);
        errno = e;
        return NULL;
    }
    cf->f = _fdopen(cf->fd, writing ? "w" : "r");
    if (!cf->f) {
        e = errno;
        _close(cf->fd);
        CloseHandle(cf->end);
        free(cf);
        errno = e;
        return NULL;
    }
    pthread_mutex_lock(&mu);
    cf->next = list;
    list = cf;
    pthread_mutex_unlock(&mu);
    cf->started = writing;
    cf->thread = CreateThread(NULL, 64 * 1024, writing ? writer_main : reader_main, cf,
                              STACK_SIZE_PARAM_IS_A_RESERVATION | (writing ? 0 : CREATE_SUSPENDED),
                              NULL);
    if (!cf->thread) {
        e = p2i_win_errno(GetLastError());
        unlist(cf);
        fclose(cf->f);
        CloseHandle(cf->end);
        free(cf);
        errno = e;
        return NULL;
    }
    return cf->f;
}

void p2i_cfile_start(FILE *f)
{
    struct cfile *cf;

    pthread_mutex_lock(&mu);
    for (cf = list; cf; cf = cf->next)
        if (cf->f == f) {
            if (!cf->started)
                ResumeThread(cf->thread);
            cf->started = true;
            break;
        }
    pthread_mutex_unlock(&mu);
}

int p2i_cfile_close(FILE *f)
{
    struct cfile **p, *cf = NULL;
    bool idle = false;
    int r, c;

    pthread_mutex_lock(&mu);
    for (p = &list; *p; p = &(*p)->next)
        if ((*p)->f == f) {
            cf = *p;
            *p = cf->next;
            idle = !cf->started;
            cf->started = true;
            break;
        }
    pthread_mutex_unlock(&mu);
    r = fclose(f);
    if (!cf)
        return r;
    if (cf->writing)
        /* The thread hands the rest on (the callback never waits for the
         * child once the owner is closing), then sees EOF. */
        WaitForSingleObject(cf->thread, INFINITE);
    c = run_close(cf);
    if (idle)
        /* A thread that never ran finds the close done and ends without
         * calling the callback. */
        ResumeThread(cf->thread);
    unref(cf);
    return r ? r : c;
}
