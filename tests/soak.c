/* tests/soak: many objects from several threads, for a bounded time.
 *
 * Each thread makes objects in a random mix of ways (Popen3/Popen4, string
 * and argv forms, module functions, every bufsize) and uses them in a
 * random mix of ways: round trips through a cat child, large outputs read
 * in random pieces, stdout and stderr read in the opposite order to the one
 * written, early fcloses, frees of children still running, children that
 * exit without reading, waits and poll loops.  Every byte read is compared
 * with the byte expected at that position (tests/common.h patterns: a lost,
 * duplicated or reordered byte is caught), and every status is checked.
 *
 * At the end the descriptor, thread, child and active-list counts and the
 * malloc'ed bytes must be back to what they were at the start.
 *
 *   SOAK_SECONDS  how long to run (default 60)
 *   SOAK_THREADS  threads (default 4)
 *   SOAK_SEED     random seed (default: time), printed for reruns
 *
 * Prints objects/s and bytes checked; exits 1 at the first problem. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "popen2.h"
#include "runtime/runtime.h"

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "soak: FAIL %s:%d: ", __FILE__, __LINE__);                                 \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
        exit(1);                                                                                   \
    } while (0)
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            FAIL(__VA_ARGS__);                                                                     \
    } while (0)

enum scenario {
    S_ROUNDTRIP,    /* cat: write all, fclose tochild, read all back */
    S_LOCKSTEP,     /* cat: write a piece, read it back, repeat */
    S_OUTPUT,       /* child writes N bytes to stdout, read in random pieces */
    S_REVERSED,     /* stdout and stderr, read stderr first (needs buffering) */
    S_MERGED,       /* Popen4: stderr through fromchild */
    S_EARLY_CLOSE,  /* read a little, fclose fromchild, child gets EPIPE */
    S_FREE_RUNNING, /* popen2_free while the child runs (active list) */
    S_NOREAD,       /* child exits without reading what we write */
    S_MODULE,       /* popen2_popen2v / popen3 round trip through FILEs only */
    S_POLL_LOOP,    /* poll until done instead of wait */
    S_COUNT
};

static const char *const scenario_name[S_COUNT] = {
    "roundtrip",   "lockstep",     "output", "reversed", "merged",
    "early-close", "free-running", "noread", "module",   "poll-loop",
};

static double deadline;
static __thread enum scenario current; /* for failure messages */
static __thread int current_bufsize;
static atomic_ullong bytes_checked, bytes_written, objects, per_scenario[S_COUNT];

struct rng {
    uint64_t s;
};

static uint64_t next(struct rng *r)
{
    /* xorshift64*: plenty for picking sizes. */
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 2685821657736338717ull;
}

static size_t below(struct rng *r, size_t n)
{
    return n ? (size_t)(next(r) % n) : 0;
}

/* Sizes: mostly small, sometimes large, sometimes empty. */
static size_t pick_size(struct rng *r)
{
    switch (below(r, 8)) {
    case 0:
        return 0;
    case 1:
    case 2:
        return below(r, 4096);
    case 3:
    case 4:
    case 5:
        return below(r, 256 * 1024);
    default:
        return below(r, 4 * 1024 * 1024);
    }
}

static int pick_bufsize(struct rng *r)
{
    static const int sizes[] = {-1, 0, 1, 2, 512, 4096, 65536};
    return sizes[below(r, sizeof sizes / sizeof sizes[0])];
}

/* Reads exactly n bytes (or to EOF when n is SIZE_MAX) in random pieces,
 * comparing each with pattern seed from offset off.  Returns bytes read. */
static size_t read_checked(struct rng *r, FILE *f, unsigned seed, uint64_t off, size_t n)
{
    unsigned char buf[65536];
    size_t total = 0, want, k, bad;

    while (total < n) {
        want = 1 + below(r, sizeof buf);
        if (want > n - total)
            want = n - total;
        k = fread(buf, 1, want, f);
        if (k == 0)
            break;
        bad = pattern_check(buf, k, seed, off + total);
        CHECK(bad == k, "%s (bufsize %d): seed %u: wrong byte at offset %llu",
              scenario_name[current], current_bufsize, seed,
              (unsigned long long)(off + total + bad));
        total += k;
    }
    atomic_fetch_add(&bytes_checked, total);
    return total;
}

/* Writes n bytes of pattern seed from offset off in random pieces. */
static void write_pattern(struct rng *r, FILE *f, unsigned seed, uint64_t off, size_t n)
{
    unsigned char buf[65536];
    size_t done = 0, k;

    while (done < n) {
        k = 1 + below(r, sizeof buf);
        if (k > n - done)
            k = n - done;
        pattern_fill(buf, k, seed, off + done);
        CHECK(fwrite(buf, 1, k, f) == k, "fwrite to tochild: %s", strerror(errno));
        done += k;
    }
    atomic_fetch_add(&bytes_written, n);
}

static void expect_exit(int st, int code, const char *what)
{
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == code, "%s: status %#x, want exit %d", what, st, code);
}

/* Reads f to EOF, expecting n bytes of pattern seed, then exit 0; frees p. */
static void expect_all_then_exit(struct rng *r, popen2_proc *p, FILE *f, unsigned seed, size_t n,
                                 const char *what)
{
    size_t k = read_checked(r, f, seed, 0, SIZE_MAX);

    CHECK(k == n, "%s: %zu of %zu bytes", what, k, n);
    expect_exit(popen2_wait(p), 0, what);
    popen2_free(p);
}

static popen2_proc *make(struct rng *r, char **argv, int capturestderr)
{
    popen2_proc *p;
    char cmd[512];
    size_t len = 0;
    int i, bufsize = pick_bufsize(r);

    current_bufsize = bufsize;
    /* Half through /bin/sh with a command string, half as argv. */
    if (below(r, 2)) {
        for (i = 0; argv[i]; i++)
            len +=
                (size_t)snprintf(cmd + len, sizeof cmd - len, "%s'%s'", i ? " " : "exec ", argv[i]);
        p = popen2_Popen3(cmd, capturestderr, bufsize);
    } else {
        p = popen2_Popen3v(argv, capturestderr, bufsize);
    }
    CHECK(p, "create: %s", strerror(errno));
    return p;
}

static void one_object(struct rng *r, enum scenario sc)
{
    char nbuf[32], s1buf[16], s2buf[16];
    unsigned seed = (unsigned)next(r), seed2 = (unsigned)next(r);
    size_t n = pick_size(r), k, piece;
    popen2_proc *p;
    FILE *out, *in;
    int st;

    current = sc;
    current_bufsize = -2; /* not through make() */
    snprintf(nbuf, sizeof nbuf, "%zu", n);
    snprintf(s1buf, sizeof s1buf, "%u", seed);
    snprintf(s2buf, sizeof s2buf, "%u", seed2);
    switch (sc) {
    case S_ROUNDTRIP: {
        char *argv[] = {TEST_CHILD, "cat", NULL};
        p = make(r, argv, 0);
        write_pattern(r, popen2_tochild(p), seed, 0, n);
        fclose(popen2_tochild(p));
        expect_all_then_exit(r, p, popen2_fromchild(p), seed, n, "roundtrip");
        break;
    }
    case S_LOCKSTEP: {
        char *argv[] = {TEST_CHILD, "cat", NULL};
        uint64_t off = 0;
        p = make(r, argv, 0);
        n = below(r, 512 * 1024);
        while (off < n) {
            piece = 1 + below(r, 65536);
            if (piece > n - off)
                piece = n - off;
            write_pattern(r, popen2_tochild(p), seed, off, piece);
            fflush(popen2_tochild(p));
            k = read_checked(r, popen2_fromchild(p), seed, off, piece);
            CHECK(k == piece, "lockstep: %zu of %zu", k, piece);
            off += piece;
        }
        fclose(popen2_tochild(p));
        CHECK(read_checked(r, popen2_fromchild(p), seed, off, SIZE_MAX) == 0, "lockstep: extra");
        expect_exit(popen2_wait(p), 0, "lockstep");
        popen2_free(p);
        break;
    }
    case S_OUTPUT: {
        char *argv[] = {TEST_CHILD, "pattern", "1", nbuf, s1buf, NULL};
        p = make(r, argv, below(r, 2));
        expect_all_then_exit(r, p, popen2_fromchild(p), seed, n, "output");
        break;
    }
    case S_REVERSED: {
        char *argv[] = {TEST_CHILD, "both", nbuf, s1buf, s2buf, NULL};
        p = make(r, argv, 1);
        /* The child writes stdout first in each 4 KiB step; reading stderr
         * to EOF first only works because stdout is drained meanwhile. */
        k = read_checked(r, popen2_childerr(p), seed2, 0, SIZE_MAX);
        CHECK(k == n, "reversed stderr: %zu of %zu", k, n);
        expect_all_then_exit(r, p, popen2_fromchild(p), seed, n, "reversed stdout");
        break;
    }
    case S_MERGED: {
        char *argv[] = {TEST_CHILD, "pattern", "2", nbuf, s1buf, NULL};
        p = below(r, 2) ? popen2_Popen4v(argv, pick_bufsize(r)) : NULL;
        if (!p) {
            char cmd[256];
            snprintf(cmd, sizeof cmd, "exec '%s' pattern 2 %zu %u", TEST_CHILD, n, seed);
            p = popen2_Popen4(cmd, pick_bufsize(r));
        }
        CHECK(p, "Popen4: %s", strerror(errno));
        CHECK(popen2_childerr(p) == NULL, "Popen4 has childerr");
        expect_all_then_exit(r, p, popen2_fromchild(p), seed, n, "merged");
        break;
    }
    case S_EARLY_CLOSE: {
        char *argv[] = {TEST_CHILD, "pattern", "1", "1099511627776", s1buf, NULL};
        p = make(r, argv, 0);
        k = read_checked(r, popen2_fromchild(p), seed, 0, below(r, 1 << 20));
        fclose(popen2_fromchild(p));
        st = popen2_wait(p);
        /* EPIPE: the helper exits 1 on a failed write, or SIGPIPE kills it. */
        CHECK((WIFEXITED(st) && WEXITSTATUS(st) == 1) ||
                  (WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE),
              "early close: status %#x", st);
        popen2_free(p);
        break;
    }
    case S_FREE_RUNNING: {
        char ms[16];
        snprintf(ms, sizeof ms, "%zu", below(r, 50));
        char *sleeper[] = {TEST_CHILD, "sleep", ms, NULL};
        char *yes[] = {TEST_CHILD, "yes", NULL};
        double t0 = now_s();
        p = make(r, below(r, 2) ? sleeper : yes, below(r, 2));
        if (below(r, 2))
            write_pattern(r, popen2_tochild(p), seed, 0, below(r, 100000));
        popen2_free(p);
        CHECK(now_s() - t0 < 30.0, "free of a running child took %.3f s", now_s() - t0);
        break;
    }
    case S_NOREAD: {
        char *argv[] = {TEST_CHILD, "noread-exit", "3", NULL};
        p = make(r, argv, 0);
        /* Writes succeed until the writer thread meets EPIPE, then fail
         * with EPIPE; either way they never block. */
        for (k = 0; k < n; k += 4096)
            if (fwrite(s1buf, 1, sizeof s1buf, popen2_tochild(p)) != sizeof s1buf) {
                CHECK(errno == EPIPE, "noread: write failed with %s", strerror(errno));
                break;
            }
        expect_exit(popen2_wait(p), 3, "noread");
        popen2_free(p);
        break;
    }
    case S_MODULE: {
        char *argv[] = {TEST_CHILD, "cat", NULL};
        FILE *err = NULL;
        int r2 = below(r, 2) ? popen2_popen2v(argv, pick_bufsize(r), "b", &out, &in)
                             : popen2_popen3v(argv, pick_bufsize(r), NULL, &out, &in, &err);
        CHECK(r2 == 0, "module: %s", strerror(errno));
        write_pattern(r, in, seed, 0, n);
        fclose(in);
        k = read_checked(r, out, seed, 0, SIZE_MAX);
        CHECK(k == n, "module: %zu of %zu", k, n);
        if (err) {
            CHECK(fgetc(err) == EOF, "module: stderr not empty");
            fclose(err);
        }
        fclose(out);
        break;
    }
    case S_POLL_LOOP: {
        char *argv[] = {TEST_CHILD, "pattern", "1", nbuf, s1buf, NULL};
        p = make(r, argv, 0);
        k = read_checked(r, popen2_fromchild(p), seed, 0, SIZE_MAX);
        CHECK(k == n, "poll-loop: %zu of %zu", k, n);
        while ((st = popen2_poll(p)) == -1)
            sleep_ms(1);
        expect_exit(st, 0, "poll-loop");
        CHECK(popen2_wait(p) == st && popen2_poll(p) == st, "poll-loop: status changed");
        popen2_free(p);
        break;
    }
    default:
        FAIL("scenario %d", sc);
    }
    atomic_fetch_add(&objects, 1);
    atomic_fetch_add(&per_scenario[sc], 1);
}

static void *worker(void *arg)
{
    struct rng r = {*(uint64_t *)arg | 1};

    while (now_s() < deadline)
        one_object(&r, (enum scenario)below(&r, S_COUNT));
    return NULL;
}

static long env_long(const char *name, long def)
{
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 0) : def;
}

static size_t malloc_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

int main(void)
{
    long seconds = env_long("SOAK_SECONDS", 60), nthreads = env_long("SOAK_THREADS", 4);
    uint64_t seed = (uint64_t)env_long("SOAK_SEED", (long)time(NULL));
    uint64_t seeds[64];
    pthread_t th[64];
    int fds0, threads0, i, sc;
    size_t mem0, mem1;
    double t0, dt;

    if (nthreads < 1 || nthreads > 64)
        FAIL("SOAK_THREADS must be 1..64");
    /* Warm up libc (stdio buffers, thread stack cache) before the baseline. */
    {
        struct rng r = {seed | 1};
        one_object(&r, S_ROUNDTRIP);
    }
    /* The warm-up's pump threads park in the library's pool and end after
     * its idle time: the baseline is the process without them. */
    (void)EVENTUALLY(count_threads() == 1, 10);
    fds0 = count_fds();
    threads0 = count_threads();
    mem0 = malloc_in_use();
    printf("soak: %ld s, %ld threads, seed %llu\n", seconds, nthreads, (unsigned long long)seed);
    fflush(stdout);

    t0 = now_s();
    deadline = t0 + (double)seconds;
    for (i = 0; i < nthreads; i++) {
        seeds[i] = seed * 0x9E3779B97F4A7C15ull + (uint64_t)i;
        CHECK(pthread_create(&th[i], NULL, worker, &seeds[i]) == 0, "pthread_create");
    }
    for (i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    dt = now_s() - t0;

    /* Freed running children finish by themselves (sleepers end, "yes"
     * gets EPIPE); popen2_cleanup must then reap every one. */
    CHECK(EVENTUALLY((popen2_cleanup(), popen2_active() == 0 && count_children() == 0), 30),
          "after the run: %zu active, %d children", popen2_active(), count_children());
    CHECK(EVENTUALLY(count_threads() == threads0, 10), "threads %d, were %d", count_threads(),
          threads0);
    CHECK(count_fds() == fds0, "descriptors %d, were %d", count_fds(), fds0);
    /* The ring buffers kept warm for the next large ring are a bounded
     * reserve, not a leak: given back first, the rest must be back too. */
    p2i_warm_drop_all();
    mem1 = malloc_in_use();
    /* Freed memory is back, give or take malloc's own bookkeeping: about
     * 8 KiB stays in use per exited worker thread (its arena's), however
     * many objects it made, so the allowance depends on threads only. */
    CHECK(mem1 <= mem0 + 64 * 1024 + (size_t)nthreads * 16 * 1024, "malloc'ed bytes %zu, were %zu",
          mem1, mem0);

    printf("soak: %llu objects in %.1f s = %.0f objects/s; %llu bytes checked (%.0f MB/s), "
           "%llu bytes written\n",
           (unsigned long long)objects, dt, (double)objects / dt, (unsigned long long)bytes_checked,
           (double)bytes_checked / dt / 1e6, (unsigned long long)bytes_written);
    printf("soak: per scenario:");
    for (sc = 0; sc < S_COUNT; sc++)
        printf(" %s %llu", scenario_name[sc], (unsigned long long)per_scenario[sc]);
    printf("\nsoak: back to baseline: %d fds, %d threads, 0 children, 0 active, "
           "malloc in use %zu -> %zu bytes\n",
           fds0, threads0, mem0, mem1);
    return 0;
}
