/* process: Windows process handles (see sys.h).  The handle spawn.windows.c
 * got at the creation is kept here, by process id, until the reap; while it
 * is open the id names our child and nobody else.  Only SIGTERM and SIGKILL
 * mean something (both end the process with exit code 1, as Python's
 * Popen.terminate does on Windows; with a job object, the whole tree), and
 * 0 asks whether it is still ours.  The wait status is the exit code
 * shifted left by 8, as Python 2.7's os.waitpid on Windows gave it. */
#include "config.h"

#include "sys/sys.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

/* A wait longer than this looks for a cancel in between. */
#define SLICE_MS 100

struct held {
    pid_t pid;
    HANDLE process;
    HANDLE job; /* POPEN2_GROUP_NEW: the tree's job object; else NULL */
    struct held *next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct held *list;

int p2i_process_adopt(pid_t pid, void *process, void *job)
{
    struct held *h = malloc(sizeof *h);

    if (!h)
        return -ENOMEM;
    h->pid = pid;
    h->process = process;
    h->job = job;
    pthread_mutex_lock(&mu);
    h->next = list;
    list = h;
    pthread_mutex_unlock(&mu);
    return 0;
}

/* The handle of our child pid (NULL: none), and its job. */
static HANDLE find(pid_t pid, HANDLE *job)
{
    struct held *h;
    HANDLE r = NULL;

    pthread_mutex_lock(&mu);
    for (h = list; h; h = h->next)
        if (h->pid == pid) {
            r = h->process;
            if (job)
                *job = h->job;
            break;
        }
    pthread_mutex_unlock(&mu);
    return r;
}

/* Takes pid off the list and closes its handles. */
static void forget(pid_t pid)
{
    struct held **p, *h = NULL;

    pthread_mutex_lock(&mu);
    for (p = &list; *p; p = &(*p)->next)
        if ((*p)->pid == pid) {
            h = *p;
            *p = h->next;
            break;
        }
    pthread_mutex_unlock(&mu);
    if (!h)
        return;
    CloseHandle(h->process);
    if (h->job)
        CloseHandle(h->job);
    free(h);
}

int p2i_process_open(pid_t pid)
{
    (void)pid;
    return -ENOSYS;
}

int p2i_process_signal(int pidfd, pid_t pid, int sig, bool group)
{
    HANDLE job = NULL, h = find(pid, &job);

    (void)pidfd;
    if (sig != 0 && sig != SIGTERM && sig != SIGKILL)
        return -EINVAL;
    if (!h)
        return -ESRCH;
    /* An exited child not yet reaped is a zombie: kill() of one succeeds. */
    if (sig == 0 || WaitForSingleObject(h, 0) == WAIT_OBJECT_0)
        return 0;
    if (group && job) {
        if (!TerminateJobObject(job, 1))
            return -p2i_win_errno(GetLastError());
        return 0;
    }
    if (!TerminateProcess(h, 1) && WaitForSingleObject(h, 0) != WAIT_OBJECT_0)
        return -p2i_win_errno(GetLastError());
    return 0;
}

int p2i_process_signal_group(int pidfd, int sig)
{
    (void)pidfd;
    (void)sig;
    return -ENOSYS;
}

int p2i_process_reap(int pidfd, pid_t pid, int *status, struct rusage *ru, long *code)
{
    (void)pidfd;
    return p2i_process_reap_pid(pid, status, ru, code);
}

/* 100-ns FILETIME ticks as a timeval. */
static struct timeval timeval_of(FILETIME ft)
{
    unsigned long long t = ((unsigned long long)ft.dwHighDateTime << 32) | ft.dwLowDateTime;
    struct timeval tv;

    tv.tv_sec = (long)(t / 10000000ULL);
    tv.tv_usec = (long)(t % 10000000ULL / 10);
    return tv;
}

int p2i_process_reap_pid(pid_t pid, int *status, struct rusage *ru, long *code)
{
    HANDLE h = find(pid, NULL);
    FILETIME created, exited, kernel, user;
    DWORD exit_code;

    if (!h)
        return -ECHILD;
    switch (WaitForSingleObject(h, 0)) {
    case WAIT_TIMEOUT:
        return 0;
    case WAIT_OBJECT_0:
        break;
    default:
        return -p2i_win_errno(GetLastError());
    }
    if (!GetExitCodeProcess(h, &exit_code))
        return -p2i_win_errno(GetLastError());
    *status = (int)((unsigned)exit_code << 8);
    /* The shift drops the top 8 bits (NTSTATUS crash codes such as
     * 0xC0000005 live there); the returncode keeps all 32, as a long,
     * which is 32 bits on Windows: a code above LONG_MAX reads negative
     * and converts back to it unchanged. */
    if (code)
        *code = (long)exit_code;
    if (ru) {
        memset(ru, 0, sizeof *ru);
        if (GetProcessTimes(h, &created, &exited, &kernel, &user)) {
            ru->ru_utime = timeval_of(user);
            ru->ru_stime = timeval_of(kernel);
        }
    }
    forget(pid);
    return 1;
}

bool p2i_process_gone(pid_t pid)
{
    return !find(pid, NULL);
}

static void close_handle(void *h)
{
    CloseHandle(h);
}

int p2i_process_sleep(int pidfd, pid_t pid, int ms)
{
    HANDLE h = NULL, own;
    DWORD slice;
    struct held *e;

    (void)pidfd;
    /* A copy of the handle: a reap in another thread meanwhile closes the
     * list's. */
    pthread_mutex_lock(&mu);
    for (e = list; e; e = e->next)
        if (e->pid == pid) {
            if (DuplicateHandle(GetCurrentProcess(), e->process, GetCurrentProcess(), &own,
                                SYNCHRONIZE, FALSE, 0))
                h = own;
            break;
        }
    pthread_mutex_unlock(&mu);
    if (!h)
        return 0; /* the caller looks again and finds it reaped */
    pthread_cleanup_push(close_handle, h);
    /* In slices, so that a thread cancelled meanwhile stops waiting (the
     * POSIX half sleeps in poll(), a cancellation point). */
    for (;;) {
        pthread_testcancel();
        slice = ms < 0 || ms > SLICE_MS ? SLICE_MS : (DWORD)ms;
        if (WaitForSingleObject(h, slice) != WAIT_TIMEOUT)
            break;
        if (ms >= 0) {
            ms -= (int)slice;
            if (ms <= 0)
                break;
        }
    }
    pthread_cleanup_pop(1);
    return 0;
}
