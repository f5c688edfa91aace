/* flowcontrol: the popen2 documentation's flow-control example, scaled up.
 *
 * Python's popen2 documentation warns that a child writing a lot to stderr
 * while the parent reads its stdout deadlocks: the child blocks on a full
 * stderr pipe, the parent blocks waiting for stdout.  This demo does exactly
 * that with 64 MiB on each stream (or MIB from the command line): the child
 * (this program re-executed with --child) writes its streams in an order
 * that fills stderr first, and the parent reads stdout to EOF before it
 * touches stderr.  With plain pipes it would hang after 64 KiB; with
 * libpopen2 the reader threads drain stderr into a ring buffer meanwhile.
 *
 *   flowcontrol [-s | -i] [MIB]
 *     -s   only the documentation's order: all of stderr, then all of stdout
 *     -i   only interleaved: 64 KiB to stderr, 64 KiB to stdout, ...
 *          (default: both, one after the other)
 *
 * Every byte is checked against a position-dependent pattern.  Exit status:
 * 0 when every run moved every byte intact and the child exited 0, 1
 * otherwise, 2 on a usage error.
 */
#define _XOPEN_SOURCE 700

#include <popen2.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _WIN32
/* Windows (mingw-w64): the same demo without the POSIX extras.  The
 * watchdog is the caller's (scripts/check-wine.sh runs it under timeout),
 * the child's streams are binary, and the child is found by
 * GetModuleFileName. */
#include <fcntl.h>
#include <io.h>
#include <windows.h>
#define alarm(s) ((void)(s))
#define strsignal(sig) "signal"
#else
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#define MIB (1024 * 1024)
#define DEFAULT_MIB 64
#define CHUNK (64 * 1024)      /* the child's write size, and a pipe's default capacity */
#define READ_CHUNK (256 * 1024) /* the parent's fread size */
#define SEED_OUT 1u
#define SEED_ERR 2u
/* A demo that deadlocks should say so rather than hang: generous enough for
 * a slow machine or valgrind. */
#define WATCHDOG_S 300
#define STR(x) #x
#define XSTR(x) STR(x)

enum order { ORDER_STDERR_FIRST, ORDER_INTERLEAVED };

static const char *const order_name[] = {"stderr-first", "interleaved"};

/* The pattern: 64-bit word i of stream `seed` is a hash of (seed, i), so a
 * lost, repeated or swapped byte anywhere changes what follows.  Child and
 * parent are the same binary, so the word's native byte order is shared. */
static uint64_t pattern_word(uint32_t seed, uint64_t i)
{
    uint64_t x = i + (uint64_t)seed * 0x9E3779B97F4A7C15u;

    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9u;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBu;
    return x ^ (x >> 31);
}

/* Fills buf with the pattern from stream offset off; off and n are multiples
 * of 8 (the child's chunks). */
static void pattern_fill(unsigned char *buf, size_t n, uint32_t seed, uint64_t off)
{
    size_t i;
    uint64_t w;

    for (i = 0; i < n; i += 8) {
        w = pattern_word(seed, (off + i) / 8);
        memcpy(buf + i, &w, 8);
    }
}

/* Index of the first byte of buf (at stream offset off) that differs from
 * the pattern, or n when all match.  fread may end a piece anywhere, so
 * unaligned edges are checked byte by byte. */
static size_t pattern_verify(const unsigned char *buf, size_t n, uint32_t seed, uint64_t off)
{
    unsigned char w[8];
    uint64_t x;
    size_t i = 0, j;

    while (i < n) {
        uint64_t o = off + i;

        x = pattern_word(seed, o / 8);
        memcpy(w, &x, 8);
        if (o % 8 == 0 && n - i >= 8 && memcmp(buf + i, w, 8) == 0) {
            i += 8;
            continue;
        }
        for (j = o % 8; j < 8 && i < n; j++, i++)
            if (buf[i] != w[j])
                return i;
    }
    return n;
}

static int write_all(int fd, const unsigned char *buf, size_t n)
{
    ssize_t k;

    while (n > 0) {
        k = write(fd, buf, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        buf += k;
        n -= (size_t)k;
    }
    return 0;
}

/* The child: writes mib MiB of pattern SEED_ERR to fd 2 and of SEED_OUT to
 * fd 1, in the given order, with plain write(2) so nothing is buffered. */
static int child_main(const char *order_arg, const char *mib_arg)
{
    unsigned char *buf = malloc(CHUNK);
    uint64_t total = strtoull(mib_arg, NULL, 10) * MIB, off;
    bool interleaved = strcmp(order_arg, order_name[ORDER_INTERLEAVED]) == 0;
    int rc = 0;

    if (!buf)
        return 3;
    if (interleaved) {
        for (off = 0; off < total && rc == 0; off += CHUNK) {
            pattern_fill(buf, CHUNK, SEED_ERR, off);
            rc = write_all(2, buf, CHUNK);
            pattern_fill(buf, CHUNK, SEED_OUT, off);
            if (rc == 0)
                rc = write_all(1, buf, CHUNK);
        }
    } else {
        for (off = 0; off < total && rc == 0; off += CHUNK) {
            pattern_fill(buf, CHUNK, SEED_ERR, off);
            rc = write_all(2, buf, CHUNK);
        }
        for (off = 0; off < total && rc == 0; off += CHUNK) {
            pattern_fill(buf, CHUNK, SEED_OUT, off);
            rc = write_all(1, buf, CHUNK);
        }
    }
    free(buf);
    return rc == 0 ? 0 : 3;
}

static double now_s(void)
{
#ifdef _WIN32
    return (double)GetTickCount64() / 1e3;
#else
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
#endif
}

static double mib_per_s(uint64_t bytes, double secs)
{
    return secs > 0 ? (double)bytes / MIB / secs : 0.0;
}

#ifndef _WIN32
static void on_alarm(int sig)
{
    static const char msg[] = "flowcontrol: no result after " XSTR(WATCHDOG_S) " s: deadlocked?\n";

    (void)sig;
    /* Only async-signal-safe calls here. */
    if (write(2, msg, sizeof msg - 1) < 0) {
        /* nothing more to do */
    }
    _exit(1);
}
#endif

/* Reads f to EOF, checking every byte; returns the count, or -1 after
 * printing what went wrong. */
static int64_t read_verify(FILE *f, const char *name, uint32_t seed)
{
    unsigned char *buf = malloc(READ_CHUNK);
    uint64_t total = 0;
    size_t k, bad;
    int64_t r = -1;

    if (!buf) {
        fprintf(stderr, "flowcontrol: %s: %s\n", name, strerror(errno));
        return -1;
    }
    while ((k = fread(buf, 1, READ_CHUNK, f)) > 0) {
        bad = pattern_verify(buf, k, seed, total);
        if (bad != k) {
            fprintf(stderr, "flowcontrol: %s: wrong byte at offset %llu\n", name,
                    (unsigned long long)(total + bad));
            goto finish;
        }
        total += k;
    }
    if (ferror(f)) {
        fprintf(stderr, "flowcontrol: reading %s: %s\n", name, strerror(errno));
        goto finish;
    }
    r = (int64_t)total;
finish:
    free(buf);
    return r;
}

static void print_status(int status)
{
    if (WIFEXITED(status))
        printf("  child:  exit code %d\n", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        printf("  child:  killed by signal %d (%s)\n", WTERMSIG(status),
               strsignal(WTERMSIG(status)));
    else
        printf("  child:  wait status 0x%x\n", (unsigned)status);
}

/* One run: spawn the child, read all of stdout, then all of stderr. */
static bool run(const char *self, enum order order, unsigned mib)
{
    char mib_arg[32];
    char *argv[] = {(char *)self, "--child", (char *)order_name[order], mib_arg, NULL};
    uint64_t want = (uint64_t)mib * MIB;
    int64_t out_n, err_n;
    double t0, t1, t2;
    popen2_proc *p;
    FILE *in;
    int status;
    bool ok;

    snprintf(mib_arg, sizeof mib_arg, "%u", mib);
    printf("%s: child writes %u MiB to stderr and %u MiB to stdout, %s;\n"
           "  parent reads stdout to EOF, then stderr (deadlocks with plain pipes)\n",
           order_name[order], mib, mib,
           order == ORDER_STDERR_FIRST ? "all of stderr first" : "in alternating 64 KiB pieces");
    fflush(stdout);

    alarm(WATCHDOG_S);
    t0 = now_s();
    p = popen2_Popen3v(argv, 1, -1);
    if (!p) {
        fprintf(stderr, "flowcontrol: cannot run %s: %s\n", self, strerror(errno));
        alarm(0);
        return false;
    }
    /* The child reads nothing: give it EOF on stdin at once. */
    in = popen2_tochild(p);
    if (in && fclose(in) != 0)
        fprintf(stderr, "flowcontrol: closing tochild: %s\n", strerror(errno));

    out_n = read_verify(popen2_fromchild(p), "stdout", SEED_OUT);
    t1 = now_s();
    err_n = read_verify(popen2_childerr(p), "stderr", SEED_ERR);
    t2 = now_s();
    status = popen2_wait(p);
    alarm(0);
    if (status == -1)
        fprintf(stderr, "flowcontrol: wait: %s\n", strerror(errno));

    if (out_n >= 0)
        printf("  stdout: %llu bytes in %.3f s (%.0f MiB/s), from spawn to EOF\n",
               (unsigned long long)out_n, t1 - t0, mib_per_s((uint64_t)out_n, t1 - t0));
    if (err_n >= 0)
        printf("  stderr: %llu bytes in %.3f s (%.0f MiB/s), then read out of its ring\n",
               (unsigned long long)err_n, t2 - t1, mib_per_s((uint64_t)err_n, t2 - t1));
    if (out_n >= 0 && err_n >= 0)
        printf("  total:  %llu bytes in %.3f s (%.0f MiB/s)\n",
               (unsigned long long)(out_n + err_n), t2 - t0,
               mib_per_s((uint64_t)(out_n + err_n), t2 - t0));
    if (status != -1)
        print_status(status);
    popen2_free(p);

    ok = out_n == (int64_t)want && err_n == (int64_t)want && status != -1 &&
         WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (out_n >= 0 && (uint64_t)out_n != want)
        fprintf(stderr, "flowcontrol: stdout: %lld bytes, expected %llu\n", (long long)out_n,
                (unsigned long long)want);
    if (err_n >= 0 && (uint64_t)err_n != want)
        fprintf(stderr, "flowcontrol: stderr: %lld bytes, expected %llu\n", (long long)err_n,
                (unsigned long long)want);
    printf("  %s\n", ok ? "OK: every byte arrived intact, no deadlock" : "FAILED");
    return ok;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: flowcontrol [-s | -i] [MIB]\n"
               "  Streams MIB MiB (default %d) on each of a child's stdout and stderr and\n"
               "  reads them in the order that deadlocks with plain pipes.\n"
               "  -s  only all-of-stderr-first    -i  only interleaved    (default: both)\n"
               "  -h, --help  show this help\n"
               "Exit status: 0 when every byte arrived intact, 1 otherwise, 2 on a usage\n"
               "error.\n",
               DEFAULT_MIB);
}

int main(int argc, char **argv)
{
    char self[4096];
    const char *self_path = argv[0];
    bool want_s = true, want_i = true, ok = true, have_mib = false;
    unsigned long mib = DEFAULT_MIB;
#ifndef _WIN32
    ssize_t len;
    struct sigaction sa;
    struct rusage ru;
#endif
    char *end;
    int i;

#ifdef _WIN32
    _setmode(1, _O_BINARY);
    _setmode(2, _O_BINARY);
#endif
    if (argc == 4 && strcmp(argv[1], "--child") == 0)
        return child_main(argv[2], argv[3]);
    /* Progress lines and error messages (stderr) stay in order in a log. */
    setvbuf(stdout, NULL, _IOLBF, 0);

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-s") == 0) {
            want_i = false;
        } else if (strcmp(argv[i], "-i") == 0) {
            want_s = false;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "flowcontrol: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (have_mib) {
            /* Two sizes: taking either silently would run what was not asked. */
            fprintf(stderr, "flowcontrol: unexpected argument '%s' (MIB was already given)\n",
                    argv[i]);
            usage(stderr);
            return 2;
        } else {
            /* Digits only: strtoul would take " 7", "+7" or "-7" too. */
            errno = 0;
            mib = strtoul(argv[i], &end, 10);
            if (argv[i][0] < '0' || argv[i][0] > '9' || *end || errno || mib == 0 ||
                mib > 1024 * 1024) {
                fprintf(stderr, "flowcontrol: bad MIB '%s' (a whole number from 1 to %d)\n",
                        argv[i], 1024 * 1024);
                usage(stderr);
                return 2;
            }
            have_mib = true;
        }
    }
    if (!want_s && !want_i) {
        fputs("flowcontrol: -s and -i exclude each other\n", stderr);
        usage(stderr);
        return 2;
    }
    /* The child is this very program: nothing else needs to be installed.
     * The target of /proc/self/exe is the binary itself even when argv[0] is
     * a name found in PATH or a libtool wrapper (and, unlike exec'ing the
     * link, it is still our binary under valgrind); argv[0] is the fallback
     * without /proc. */
#ifdef _WIN32
    if (GetModuleFileNameA(NULL, self, sizeof self) > 0)
        self_path = self;
#else
    len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len > 0) {
        self[len] = '\0';
        if (access(self, X_OK) == 0)
            self_path = self;
    }

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
#endif

    if (want_s)
        ok = run(self_path, ORDER_STDERR_FIRST, (unsigned)mib) && ok;
    if (want_i)
        ok = run(self_path, ORDER_INTERLEAVED, (unsigned)mib) && ok;

    /* The stderr ring held a whole stream while stdout was read: this is the
     * memory that buys freedom from deadlock. */
#ifndef _WIN32
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        printf("peak RSS of the parent: %ld MiB\n", ru.ru_maxrss / 1024);
#endif
    return ok ? 0 : 1;
}
