/* tests/common.h: what every test program shares, so each check_*.c reads
 * as a list of behaviours.  Header-only on purpose: tests/child.c uses the
 * pattern helpers too. */
#ifndef POPEN2_TESTS_COMMON_H
#define POPEN2_TESTS_COMMON_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef TEST_CHILD
#define TEST_CHILD "tests/child"
#endif

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

static inline int count_dir(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - (strcmp(path, "/proc/self/fd") == 0); /* the DIR's own */
}

/* Open descriptors and threads of this process. */
static inline int count_fds(void)
{
    return count_dir("/proc/self/fd");
}

/* ThreadSanitizer runs a background thread of
 * its own from the first pthread_create on (and in every forked child from
 * then on), which would make every "threads back to 1" check fail under
 * --enable-sanitizers=thread.  Start it before main, and leave it out. */
#if defined(__SANITIZE_THREAD__)
#define POPEN2_TEST_RUNTIME_THREADS 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define POPEN2_TEST_RUNTIME_THREADS 1
#endif
#endif
#ifdef POPEN2_TEST_RUNTIME_THREADS
#include <pthread.h>
static void *popen2_test_noop(void *arg)
{
    return arg;
}
__attribute__((constructor)) static void popen2_test_start_tsan_thread(void)
{
    pthread_t t;

    if (pthread_create(&t, NULL, popen2_test_noop, NULL) == 0)
        pthread_join(t, NULL);
}
#else
#define POPEN2_TEST_RUNTIME_THREADS 0
#endif

static inline int count_threads(void)
{
    return count_dir("/proc/self/task") - POPEN2_TEST_RUNTIME_THREADS;
}

/* Children of this process in state `state` (from /proc/<pid>/stat), or in
 * any state when it is 0. */
static inline int count_children_in(char state)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    char path[300], buf[512], *rp, st;
    int n = 0, ppid;
    FILE *f;

    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(buf, sizeof buf, f) && (rp = strrchr(buf, ')')) != NULL &&
            sscanf(rp + 2, "%c %d", &st, &ppid) == 2 && ppid == getpid() &&
            (!state || st == state))
            n++;
        fclose(f);
    }
    closedir(d);
    return n;
}

static inline int count_children(void)
{
    return count_children_in(0);
}

/* Zombie children: exited, not yet reaped. */
static inline int count_zombies(void)
{
    return count_children_in('Z');
}

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
