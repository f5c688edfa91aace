/* tests/faults.c: the -Wl,--wrap wrappers behind tests/faults.h.
 *
 * Each wrapper asks should_fail() whether this is the call to break; if so
 * it fails the way the real function does (NULL or -1 with errno, or the
 * error number as return value for the pthread and posix_spawn families),
 * with the errno a real exhaustion gives, and otherwise calls __real_X. */
#define _GNU_SOURCE /* fopencookie, strerrorname_np, pthread_attr_setsigmask_np */
#include "faults.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Process-wide: large allocations fail on every thread. */
static atomic_size_t large_limit;
static atomic_ulong large_refused;

/* Thread-local: only the arming thread's calls count. */
static __thread bool armed;
static __thread unsigned armed_mask;
static __thread int countdown, counted;
static __thread bool fired;
static __thread enum fault_fn fired_fn;
static __thread int fired_err;

static const char *const names[FAULT_COUNT] = {
    [FAULT_MALLOC] = "malloc",
    [FAULT_CALLOC] = "calloc",
    [FAULT_REALLOC] = "realloc",
    [FAULT_PIPE2] = "pipe2",
    [FAULT_FCNTL_DUPFD] = "fcntl(F_DUPFD_CLOEXEC)",
    [FAULT_EVENTFD] = "eventfd",
    [FAULT_FOPENCOOKIE] = "fopencookie",
    [FAULT_MUTEX_INIT] = "pthread_mutex_init",
    [FAULT_COND_INIT] = "pthread_cond_init",
    [FAULT_ATTR_INIT] = "pthread_attr_init",
    [FAULT_ATTR_SETSIGMASK] = "pthread_attr_setsigmask_np",
    [FAULT_PTHREAD_CREATE] = "pthread_create",
    [FAULT_SPAWN_FA_INIT] = "posix_spawn_file_actions_init",
    [FAULT_SPAWN_FA_ADDDUP2] = "posix_spawn_file_actions_adddup2",
    [FAULT_SPAWN_FA_ADDCLOSEFROM] = "posix_spawn_file_actions_addclosefrom_np",
    [FAULT_SPAWNATTR_INIT] = "posix_spawnattr_init",
    [FAULT_SPAWNATTR_SET] = "posix_spawnattr_set*",
    [FAULT_POSIX_SPAWN] = "posix_spawn(p)",
    [FAULT_OPEN] = "open",
};

/* The errno each function reports when the resource it needs runs out. */
static const int fault_errno[FAULT_COUNT] = {
    [FAULT_MALLOC] = ENOMEM,
    [FAULT_CALLOC] = ENOMEM,
    [FAULT_REALLOC] = ENOMEM,
    [FAULT_PIPE2] = EMFILE,
    [FAULT_FCNTL_DUPFD] = EMFILE,
    [FAULT_EVENTFD] = ENFILE,
    [FAULT_FOPENCOOKIE] = ENOMEM,
    [FAULT_MUTEX_INIT] = ENOMEM,
    [FAULT_COND_INIT] = EAGAIN,
    [FAULT_ATTR_INIT] = ENOMEM,
    [FAULT_ATTR_SETSIGMASK] = ENOMEM,
    [FAULT_PTHREAD_CREATE] = EAGAIN,
    [FAULT_SPAWN_FA_INIT] = ENOMEM,
    [FAULT_SPAWN_FA_ADDDUP2] = ENOMEM,
    [FAULT_SPAWN_FA_ADDCLOSEFROM] = ENOMEM,
    [FAULT_SPAWNATTR_INIT] = ENOMEM,
    [FAULT_SPAWNATTR_SET] = EINVAL,
    [FAULT_POSIX_SPAWN] = EAGAIN,
    [FAULT_OPEN] = EMFILE,
};

void fault_arm(unsigned mask, int nth)
{
    armed = true;
    armed_mask = mask;
    countdown = nth;
    counted = 0;
    fired = false;
}

int fault_disarm(void)
{
    armed = false;
    return counted;
}

bool fault_fired(enum fault_fn *fn, int *err)
{
    if (fired) {
        *fn = fired_fn;
        *err = fired_err;
    }
    return fired;
}

const char *fault_name(enum fault_fn fn)
{
    return fn < FAULT_COUNT ? names[fn] : "?";
}

void fault_fail_large_allocs(size_t min_size)
{
    atomic_store(&large_limit, min_size);
}

unsigned long fault_large_refusals(void)
{
    return atomic_load(&large_refused);
}

static bool too_large(size_t n)
{
    size_t limit = atomic_load_explicit(&large_limit, memory_order_relaxed);

    if (!limit || n < limit)
        return false;
    atomic_fetch_add(&large_refused, 1);
    return true;
}

/* 0: make the real call; else the errno to fail with. */
static int should_fail(enum fault_fn fn)
{
    if (!armed || !(armed_mask & (1u << fn)))
        return 0;
    counted++;
    if (countdown == 0 || (countdown > 0 && counted != countdown))
        return 0;
    fired = true;
    fired_fn = fn;
    fired_err = fault_errno[fn];
    return fired_err;
}

/* Allocation */
void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);

void *__wrap_malloc(size_t n)
{
    int e = too_large(n) ? ENOMEM : should_fail(FAULT_MALLOC);

    if (e) {
        errno = e;
        return NULL;
    }
    return __real_malloc(n);
}

void *__wrap_calloc(size_t k, size_t n)
{
    int e = k && too_large(k *n) ? ENOMEM : should_fail(FAULT_CALLOC);

    if (e) {
        errno = e;
        return NULL;
    }
    return __real_calloc(k, n);
}

void *__wrap_realloc(void *p, size_t n)
{
    int e = too_large(n) ? ENOMEM : should_fail(FAULT_REALLOC);

    if (e) {
        errno = e;
        return NULL;
    }
    return __real_realloc(p, n);
}

/* Descriptors */
int __real_pipe2(int fds[2], int flags);
int __real_fcntl(int fd, int cmd, ...);
int __real_eventfd(unsigned int initval, int flags);

int __wrap_pipe2(int fds[2], int flags)
{
    int e = should_fail(FAULT_PIPE2);

    if (e) {
        errno = e;
        return -1;
    }
    return __real_pipe2(fds, flags);
}

int __wrap_fcntl(int fd, int cmd, ...)
{
    va_list ap;
    long arg;
    int e;

    /* Every command the library uses takes an int (or nothing). */
    va_start(ap, cmd);
    arg = va_arg(ap, long);
    va_end(ap);
    if ((cmd == F_DUPFD_CLOEXEC || cmd == F_DUPFD) && (e = should_fail(FAULT_FCNTL_DUPFD))) {
        errno = e;
        return -1;
    }
    return __real_fcntl(fd, cmd, arg);
}

int __real_open(const char *path, int flags, ...);

int __wrap_open(const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode = 0;
    int e = should_fail(FAULT_OPEN);

    if (flags & (O_CREAT | O_TMPFILE)) {
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    if (e) {
        errno = e;
        return -1;
    }
    return __real_open(path, flags, mode);
}

/* With _FORTIFY_SOURCE (Debian's package build) a two-argument open whose
 * flags are not a constant becomes __open_2. */
int __real___open_2(const char *path, int flags);

int __wrap___open_2(const char *path, int flags)
{
    int e = should_fail(FAULT_OPEN);

    if (e) {
        errno = e;
        return -1;
    }
    return __real___open_2(path, flags);
}

int __wrap_eventfd(unsigned int initval, int flags)
{
    int e = should_fail(FAULT_EVENTFD);

    if (e) {
        errno = e;
        return -1;
    }
    return __real_eventfd(initval, flags);
}

/* stdio */
FILE *__real_fopencookie(void *cookie, const char *mode, cookie_io_functions_t io);

FILE *__wrap_fopencookie(void *cookie, const char *mode, cookie_io_functions_t io)
{
    int e = should_fail(FAULT_FOPENCOOKIE);

    if (e) {
        errno = e;
        return NULL;
    }
    return __real_fopencookie(cookie, mode, io);
}

/* The calls that return their error number: fail with it, or call the real one. */
#define WRAP_ERRNUM(fault, fn, params, args)                                                       \
    int __wrap_##fn params                                                                         \
    {                                                                                              \
        int e = should_fail(fault);                                                                \
                                                                                                   \
        return e ? e : __real_##fn args;                                                           \
    }

/* pthreads: the error number is the return value; errno is left alone. */
int __real_pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a);
int __real_pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *a);
int __real_pthread_attr_init(pthread_attr_t *a);
int __real_pthread_attr_setsigmask_np(pthread_attr_t *a, const sigset_t *set);
int __real_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg);

WRAP_ERRNUM(FAULT_MUTEX_INIT, pthread_mutex_init,
            (pthread_mutex_t *m, const pthread_mutexattr_t *a), (m, a))

WRAP_ERRNUM(FAULT_COND_INIT, pthread_cond_init, (pthread_cond_t *c, const pthread_condattr_t *a),
            (c, a))

WRAP_ERRNUM(FAULT_ATTR_INIT, pthread_attr_init, (pthread_attr_t *a), (a))

WRAP_ERRNUM(FAULT_ATTR_SETSIGMASK, pthread_attr_setsigmask_np,
            (pthread_attr_t *a, const sigset_t *set), (a, set))

WRAP_ERRNUM(FAULT_PTHREAD_CREATE, pthread_create,
            (pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg),
            (t, a, fn, arg))

/* posix_spawn: the error number is the return value too. */
int __real_posix_spawn_file_actions_init(posix_spawn_file_actions_t *fa);
int __real_posix_spawn_file_actions_adddup2(posix_spawn_file_actions_t *fa, int fd, int newfd);
int __real_posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *fa, int from);
int __real_posix_spawnattr_init(posix_spawnattr_t *a);
int __real_posix_spawnattr_setsigmask(posix_spawnattr_t *a, const sigset_t *s);
int __real_posix_spawnattr_setsigdefault(posix_spawnattr_t *a, const sigset_t *s);
int __real_posix_spawnattr_setflags(posix_spawnattr_t *a, short flags);
int __real_posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                       const posix_spawnattr_t *a, char *const argv[], char *const envp[]);
int __real_posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                        const posix_spawnattr_t *a, char *const argv[], char *const envp[]);

WRAP_ERRNUM(FAULT_SPAWN_FA_INIT, posix_spawn_file_actions_init, (posix_spawn_file_actions_t *fa),
            (fa))

WRAP_ERRNUM(FAULT_SPAWN_FA_ADDDUP2, posix_spawn_file_actions_adddup2,
            (posix_spawn_file_actions_t *fa, int fd, int newfd), (fa, fd, newfd))

WRAP_ERRNUM(FAULT_SPAWN_FA_ADDCLOSEFROM, posix_spawn_file_actions_addclosefrom_np,
            (posix_spawn_file_actions_t *fa, int from), (fa, from))

WRAP_ERRNUM(FAULT_SPAWNATTR_INIT, posix_spawnattr_init, (posix_spawnattr_t *a), (a))

WRAP_ERRNUM(FAULT_SPAWNATTR_SET, posix_spawnattr_setsigmask,
            (posix_spawnattr_t *a, const sigset_t *s), (a, s))

WRAP_ERRNUM(FAULT_SPAWNATTR_SET, posix_spawnattr_setsigdefault,
            (posix_spawnattr_t *a, const sigset_t *s), (a, s))

WRAP_ERRNUM(FAULT_SPAWNATTR_SET, posix_spawnattr_setflags, (posix_spawnattr_t *a, short flags),
            (a, flags))

WRAP_ERRNUM(FAULT_POSIX_SPAWN, posix_spawn,
            (pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
             const posix_spawnattr_t *a, char *const argv[], char *const envp[]),
            (pid, path, fa, a, argv, envp))

WRAP_ERRNUM(FAULT_POSIX_SPAWN, posix_spawnp,
            (pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
             const posix_spawnattr_t *a, char *const argv[], char *const envp[]),
            (pid, file, fa, a, argv, envp))
