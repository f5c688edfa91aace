/* tests/common.h: what every test program shares, so each check_*.c reads
 * as a list of behaviours.  Header-only on purpose: tests/child.c uses the
 * pattern helpers too. */
#ifndef POPEN2_TESTS_COMMON_H
#define POPEN2_TESTS_COMMON_H

#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

/* The programs the tests run, in the build tree: Makefile.am defines
 * TEST_BUILDDIR; without it (a test compiled by hand) they are relative to
 * the directory it runs in. */
#ifdef TEST_BUILDDIR
#define TEST_BUILT(path) TEST_BUILDDIR "/" path
#else
#define TEST_BUILT(path) path
#endif
#ifndef TEST_CHILD
#define TEST_CHILD TEST_BUILT("tests/child")
#endif
#define EXIT_DELIVER TEST_BUILT("tests/exit-deliver")
#define CAPTURE_DEMO TEST_BUILT("demos/capture")
#define MAINLOOP_DEMO TEST_BUILT("demos/mainloop")
#define LIBPOPEN2_SO TEST_BUILT("lib/.libs/libpopen2.so")

/* The byte at offset off of pattern seed: cheap, position-dependent, and
 * different per seed, so a lost, duplicated or swapped byte is caught. */
static inline unsigned char pattern_byte(unsigned seed, uint64_t off)
{
    uint64_t x = off * 0x9E3779B97F4A7C15ull + seed * 0xD1B54A32D192ED03ull;
    return (unsigned char)(x >> 56 ^ x >> 29 ^ off);
}

static inline void pattern_fill(unsigned char *buf, size_t n, unsigned seed, uint64_t off)
{
    size_t i;

    for (i = 0; i < n; i++)
        buf[i] = pattern_byte(seed, off + i);
}

/* Offset of the first byte that differs from the pattern, or n if none. */
static inline size_t pattern_check(const unsigned char *buf, size_t n, unsigned seed,
                                   uint64_t off)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (buf[i] != pattern_byte(seed, off + i))
            return i;
    return n;
}

#ifndef TEST_CHILD_ONLY
/* Reads f to EOF with fread in `chunk`-byte calls and checks every byte
 * against pattern seed; returns the byte count, or (size_t)-1 at the first
 * mismatch (reported on stderr). */
static inline size_t read_pattern(FILE *f, unsigned seed, size_t chunk)
{
    unsigned char *buf = malloc(chunk);
    size_t total = 0, k, bad;

    if (!buf)
        return (size_t)-1;
    while ((k = fread(buf, 1, chunk, f)) > 0) {
        bad = pattern_check(buf, k, seed, total);
        if (bad != k) {
            fprintf(stderr, "pattern %u: wrong byte at offset %zu\n", seed, total + bad);
            free(buf);
            return (size_t)-1;
        }
        total += k;
    }
    free(buf);
    return total;
}

/* Reads f to EOF into a malloc'ed, NUL-terminated buffer. */
static inline char *read_all(FILE *f, size_t *len)
{
    size_t cap = 4096, n = 0, k;
    char *buf = malloc(cap + 1), *nb;

    while (buf && (k = fread(buf + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (buf)
        buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

#include "counters.h"

static inline double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Polls cond every 10 ms for up to timeout_s; true once it held.  For counts
 * that settle asynchronously (a detached writer thread ending). */
#define EVENTUALLY(cond, timeout_s)                                                                \
    ({                                                                                             \
        double until_ = now_s() + (timeout_s);                                                     \
        bool ok_;                                                                                  \
        while (!(ok_ = (cond)) && now_s() < until_)                                                \
            sleep_ms(10);                                                                          \
        ok_;                                                                                       \
    })

/* True under valgrind, which turns posix_spawn's CLONE_VFORK into a plain
 * fork: exec errors of the `v` forms then show up as exit status 127 instead
 * of synchronously, so the tests of those errors skip themselves.  Set
 * POPEN2_UNDER_VALGRIND=1, or rely on the LD_PRELOAD valgrind sets. */
static inline bool under_valgrind(void)
{
    const char *pre = getenv("LD_PRELOAD");

    return getenv("POPEN2_UNDER_VALGRIND") != NULL || (pre && strstr(pre, "vgpreload"));
}

/* Whether the library reaches children through pidfds here: it was built
 * with them (a build without, as macOS and the BSDs take, goes by process
 * id) and the kernel has them (valgrind does not know the call).  What the
 * header promises "where the kernel has pidfds" is checked only then. */
static inline bool pidfds_here(void)
{
#if defined(__linux__) && HAVE_DECL_SYS_PIDFD_OPEN
    long fd = syscall(SYS_pidfd_open, (long)getpid(), 0L);

    if (fd >= 0) {
        close((int)fd);
        return true;
    }
#endif
    return false;
}

/* Whether the child's exit is an event on popen2_event_fd: pidfds and
 * epoll, as the header says; elsewhere it reports the streams only. */
static inline bool exit_is_an_event(void)
{
#ifdef HAVE_SYS_EPOLL_H
    return pidfds_here();
#else
    return false;
#endif
}

/* The state letter of process pid from /proc/<pid>/stat ('T' once it is
 * stopped), or 0 when there is no such process. */
static inline char proc_state(pid_t pid)
{
    char path[64], buf[512], *rp, st = 0;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return 0;
    if (fgets(buf, sizeof buf, f) && (rp = strrchr(buf, ')')) != NULL)
        st = rp[2];
    fclose(f);
    return st;
}

/* A shell command that stops itself before it runs cmd: whatever the test
 * does meanwhile cannot be waiting for the child, with no clock involved.
 * The test waits for proc_state(pid) == 'T', then sends SIGCONT. */
#define STOPPED_FIRST(cmd) "kill -STOP $$; exec " cmd
#endif /* TEST_CHILD_ONLY */

#endif
