/* tests/counters.h: what this process holds, counted from /proc: open
 * descriptors, threads, children (and zombies among them).  Header-only:
 * the tests and the benchmark (bench/bench.c) count with the same code. */
#ifndef POPEN2_TESTS_COUNTERS_H
#define POPEN2_TESTS_COUNTERS_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Built with ThreadSanitizer (gcc says so one way, clang another). */
#if defined(__SANITIZE_THREAD__)
#define POPEN2_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define POPEN2_TEST_TSAN 1
#endif
#endif
#ifndef POPEN2_TEST_TSAN
#define POPEN2_TEST_TSAN 0
#endif

/* ThreadSanitizer runs a background thread of
 * its own from the first pthread_create on (and in every forked child from
 * then on), which would make every "threads back to 1" check fail under
 * --enable-sanitizers=thread.  Start it before main, and leave it out. */
#if POPEN2_TEST_TSAN
#define POPEN2_TEST_RUNTIME_THREADS 1
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
 * any state when it is 0; each is handed to fn (when not NULL). */
static inline int each_child_in(char state, void (*fn)(pid_t pid, void *arg), void *arg)
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
            (!state || st == state)) {
            n++;
            if (fn)
                fn((pid_t)atoi(e->d_name), arg);
        }
        fclose(f);
    }
    closedir(d);
    return n;
}

static inline int count_children_in(char state)
{
    return each_child_in(state, NULL, NULL);
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

#endif
