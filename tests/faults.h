/* tests/faults.h: fault injection on the create path.
 *
 * tests/faults.c defines __wrap_X for every allocation and system call the
 * library makes while it builds an object.  check_faults links the internal
 * (static) copy of the library with -Wl,--wrap=X for each, so only the
 * library's own calls (and the test's) go through them; libc, Check and the
 * shipped libpopen2.so are untouched.  Nothing here is compiled into any
 * installed file.
 *
 * A wrapper counts calls only on the thread that armed it, so the reader and
 * writer threads an object starts (which allocate on their own) do not make
 * the count depend on scheduling. */
#ifndef POPEN2_TESTS_FAULTS_H
#define POPEN2_TESTS_FAULTS_H

#include <stdbool.h>
#include <stddef.h>

enum fault_fn {
    FAULT_MALLOC,
    FAULT_CALLOC,
    FAULT_REALLOC,
    FAULT_PIPE2,
    FAULT_FCNTL_DUPFD, /* fcntl(F_DUPFD_CLOEXEC); the other commands cannot fail on a pipe */
    FAULT_EVENTFD,
    FAULT_FOPENCOOKIE,
    FAULT_MUTEX_INIT,
    FAULT_COND_INIT,
    FAULT_ATTR_INIT,
    FAULT_ATTR_SETSIGMASK,
    FAULT_PTHREAD_CREATE,
    FAULT_SPAWN_FA_INIT,
    FAULT_SPAWN_FA_ADDDUP2,
    FAULT_SPAWN_FA_ADDCLOSEFROM,
    FAULT_SPAWNATTR_INIT,
    FAULT_SPAWNATTR_SET, /* setsigmask, setsigdefault, setflags */
    FAULT_POSIX_SPAWN,   /* posix_spawn and posix_spawnp */
    FAULT_OPEN,          /* open: popen2_attr files and /dev/null streams */
    FAULT_COUNT
};

/* Arms this thread: the nth (1-based) counted call of a function in `mask`
 * (bits 1 << enum fault_fn) fails; n == 0 counts without failing, n < 0
 * fails every one. */
void fault_arm(unsigned mask, int nth);
/* Disarms; returns how many counted calls there were. */
int fault_disarm(void);
/* After a run: whether a call was made to fail, which one, and the errno it
 * reported (the return value for pthread and posix_spawn functions). */
bool fault_fired(enum fault_fn *fn, int *err);
/* From any thread, until called again with 0: malloc, calloc and realloc
 * of min_size bytes or more fail with ENOMEM.  For out-of-memory while
 * objects run (rings that cannot grow); 0 turns it off. */
void fault_fail_large_allocs(size_t min_size);
/* How many allocations fault_fail_large_allocs has refused so far, on any
 * thread: a test waits for it to grow to know a library thread has met the
 * refusal. */
unsigned long fault_large_refusals(void);
/* The function's name, for messages. */
const char *fault_name(enum fault_fn fn);

#define FAULT_ALL ((1u << FAULT_COUNT) - 1)

#endif
