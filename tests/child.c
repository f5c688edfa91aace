/* tests/child: the helper child program of the test suites, one mode per
 * behaviour, so tests check exact bytes instead of trusting a shell.
 *
 *   child pattern FD NBYTES SEED    write NBYTES of pattern SEED to FD (1 or 2)
 *   child both NBYTES SEED1 SEED2   NBYTES of SEED1 to stdout and of SEED2 to
 *                                   stderr, interleaved in 4 KiB pieces
 *   child doc-example               the popen2 documentation's flow-control
 *                                   child: 400 lines to stderr, then stdout
 *   child cat                       copy stdin to stdout with read/write
 *   child echo                      line by line: read a line, write it back
 *                                   at once (interactive use)
 *   child count                     read stdin to EOF, print the byte count
 *   child fds                       print the open descriptors, one a line
 *   child sigstate                  print "mask N" (blocked signals) and
 *                                   "ignored N" for each ignored signal, as
 *                                   the kernel has them (/proc/self/status)
 *   child argv                      print each argument as "LEN:BYTES\n"
 *   child exit N                    exit with status N
 *   child raise SIG                 die by signal SIG
 *   child sleep MS                  sleep MS milliseconds, then exit 0
 *   child yes                       write "y\n" to stdout forever
 *   child noread-exit N             exit with status N without reading stdin
 *   child drain-exit N              read stdin to EOF, discard it, exit N (a
 *                                   child whose end the test decides)
 *   child burn MS                   use MS milliseconds of CPU time by its own
 *                                   clock (CLOCK_PROCESS_CPUTIME_ID), print
 *                                   the microseconds it used, exit 0
 *   child touch MIB                 write to every page of MIB MiB, exit 0
 *   child ignore-term MS            ignore SIGTERM, print "ready", then sleep
 *                                   MS milliseconds and exit 0
 *   child hold MS                   print the capacity of the stdin pipe, then
 *                                   read nothing until SIGUSR1 (exit 3 after MS
 *                                   milliseconds without it); then as count
 *   child tty                       print "tty A B C" (isatty of 0, 1, 2),
 *                                   "ctty S D" (S: 1 when the terminal on the
 *                                   first of 0-2 that is one has this process's
 *                                   session, tcgetsid == getpid == getsid; D: 1
 *                                   when /dev/tty opens) and "size ROWS COLS"
 *                                   (TIOCGWINSZ of that terminal), to stderr
 *                                   when stdout is no terminal
 *   child winch MS                  print "size ROWS COLS", wait up to MS ms for
 *                                   SIGWINCH, print "winch ROWS COLS" (exit 3
 *                                   without it)
 *   child prompt N                  N times: printf a line "line I" (stdio, no
 *                                   fflush), then read a line of stdin with
 *                                   read(2) (stdio's flush on input stays out);
 *                                   stops at EOF
 *   child lines N MS                N lines "line I" with printf, MS ms apart,
 *                                   never flushed by hand
 *   child drip N MS                 N times "drip\n" with write(2), MS ms apart
 */
#define _GNU_SOURCE /* F_GETPIPE_SZ */
#include <dirent.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TEST_CHILD_ONLY
#include "common.h"

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;

    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int mode_pattern(int fd, size_t total, unsigned seed)
{
    static unsigned char buf[1 << 16];
    size_t off = 0, n;

    while (off < total) {
        n = total - off < sizeof buf ? total - off : sizeof buf;
        pattern_fill(buf, n, seed, off);
        if (write_all(fd, buf, n) < 0)
            return 1;
        off += n;
    }
    return 0;
}

static int mode_both(size_t total, unsigned s1, unsigned s2)
{
    static unsigned char buf[4096];
    size_t off = 0, n;

    while (off < total) {
        n = total - off < sizeof buf ? total - off : sizeof buf;
        pattern_fill(buf, n, s1, off);
        if (write_all(1, buf, n) < 0)
            return 1;
        pattern_fill(buf, n, s2, off);
        if (write_all(2, buf, n) < 0)
            return 1;
        off += n;
    }
    return 0;
}

static int mode_cat(void)
{
    static char buf[1 << 16];
    ssize_t k;

    while ((k = read(0, buf, sizeof buf)) != 0) {
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return 1;
        }
        if (write_all(1, buf, (size_t)k) < 0)
            return 1;
    }
    return 0;
}

static int mode_count(void)
{
    static char buf[1 << 16];
    unsigned long long total = 0;
    ssize_t k;

    while ((k = read(0, buf, sizeof buf)) > 0 || (k < 0 && errno == EINTR))
        if (k > 0)
            total += (unsigned long long)k;
    printf("%llu\n", total);
    return 0;
}

/* The test fills the pipe and the queue behind it exactly, so it needs the
 * pipe's capacity; SIGUSR1 is blocked before it is printed, so a signal sent
 * as soon as the test has read it is not lost. */
static int mode_hold(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    sigset_t usr1;
    int r;

    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
#ifdef F_GETPIPE_SZ
    printf("%d\n", fcntl(0, F_GETPIPE_SZ));
#else
    printf("-1\n");
#endif
    fflush(stdout);
    while ((r = sigtimedwait(&usr1, NULL, &ts)) < 0 && errno == EINTR)
        ;
    return r == SIGUSR1 ? mode_count() : 3;
}

static long long cpu_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Spins in user space: the test compares the kernel's user time with what
 * the child's own clock counted. */
static int mode_burn(long ms)
{
    volatile unsigned long x = 0;
    long long t0 = cpu_us(), used;
    int i;

    do
        for (i = 0; i < 100000; i++)
            x += (unsigned long)i * 2654435761u;
    while ((used = cpu_us() - t0) < ms * 1000LL);
    printf("%lld\n", used);
    return 0;
}

static int mode_touch(long mib)
{
    size_t n = (size_t)mib << 20, off;
    long page = sysconf(_SC_PAGESIZE);
    volatile char *m = malloc(n);

    if (!m)
        return 1;
    for (off = 0; off < n; off += (size_t)page)
        m[off] = 1;
    free((void *)m); /* a leak would be an exit status of 1 under LeakSanitizer */
    return 0;
}

static void nap(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* The first of 0-2 that is a terminal, or -1. */
static int first_tty(void)
{
    int fd;

    for (fd = 0; fd < 3; fd++)
        if (isatty(fd))
            return fd;
    return -1;
}

static void print_size(FILE *out, const char *what, int fd)
{
    struct winsize ws = {0, 0, 0, 0};

    if (fd >= 0)
        ioctl(fd, TIOCGWINSZ, &ws);
    fprintf(out, "%s %d %d\n", what, ws.ws_row, ws.ws_col);
    fflush(out);
}

static int mode_tty(void)
{
    FILE *out = isatty(1) ? stdout : stderr;
    int fd = first_tty(), dev;

    fprintf(out, "tty %d %d %d\n", isatty(0), isatty(1), isatty(2));
    dev = open("/dev/tty", O_RDWR | O_NOCTTY);
    fprintf(out, "ctty %d %d\n",
            fd >= 0 && tcgetsid(fd) == getpid() && getsid(0) == getpid(), dev >= 0);
    if (dev >= 0)
        close(dev);
    print_size(out, "size", fd);
    return 0;
}

static volatile sig_atomic_t winched;

static void on_winch(int sig)
{
    (void)sig;
    winched = 1;
}

static int mode_winch(long ms)
{
    signal(SIGWINCH, on_winch);
    print_size(stdout, "size", first_tty());
    while (!winched && ms > 0) {
        nap(10);
        ms -= 10;
    }
    if (!winched)
        return 3;
    print_size(stdout, "winch", first_tty());
    return 0;
}

static int mode_prompt(int n)
{
    char c;
    int i;

    for (i = 1; i <= n; i++) {
        printf("line %d\n", i);
        /* One line of input, byte by byte with read(2). */
        do {
            if (read(0, &c, 1) != 1)
                return 0;
        } while (c != '\n');
    }
    return 0;
}

static int mode_lines(int n, long ms)
{
    int i;

    for (i = 1; i <= n; i++) {
        printf("line %d\n", i);
        if (i < n)
            nap(ms);
    }
    return 0;
}

static int mode_drip(int n, long ms)
{
    int i;

    for (i = 0; i < n; i++) {
        if (i)
            nap(ms);
        if (write(1, "drip\n", 5) != 5)
            return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    int i;

    if (!strcmp(mode, "pattern") && argc == 5)
        return mode_pattern(atoi(argv[2]), strtoull(argv[3], NULL, 0),
                            (unsigned)strtoul(argv[4], NULL, 0));
    if (!strcmp(mode, "both") && argc == 5)
        return mode_both(strtoull(argv[2], NULL, 0), (unsigned)strtoul(argv[3], NULL, 0),
                         (unsigned)strtoul(argv[4], NULL, 0));
    if (!strcmp(mode, "doc-example")) {
        /* The child of the popen2 documentation's flow-control section. */
        for (i = 0; i < 400; i++)
            fprintf(stderr, "this is a test %d\n", i);
        fflush(stderr);
        for (i = 0; i < 400; i++)
            printf("this is a test %d\n", i);
        return 0;
    }
    if (!strcmp(mode, "cat"))
        return mode_cat();
    if (!strcmp(mode, "echo")) {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;

        while ((n = getline(&line, &cap, stdin)) > 0) {
            fwrite(line, 1, (size_t)n, stdout);
            fflush(stdout);
        }
        free(line);
        return 0;
    }
    if (!strcmp(mode, "count"))
        return mode_count();
    if (!strcmp(mode, "tty"))
        return mode_tty();
    if (!strcmp(mode, "winch") && argc == 3)
        return mode_winch(atol(argv[2]));
    if (!strcmp(mode, "prompt") && argc == 3)
        return mode_prompt(atoi(argv[2]));
    if (!strcmp(mode, "lines") && argc == 4)
        return mode_lines(atoi(argv[2]), atol(argv[3]));
    if (!strcmp(mode, "drip") && argc == 4)
        return mode_drip(atoi(argv[2]), atol(argv[3]));
    if (!strcmp(mode, "burn") && argc == 3)
        return mode_burn(atol(argv[2]));
    if (!strcmp(mode, "touch") && argc == 3)
        return mode_touch(atol(argv[2]));
    if (!strcmp(mode, "ignore-term") && argc == 3) {
        long ms = atol(argv[2]);
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

        signal(SIGTERM, SIG_IGN);
        printf("ready\n");
        fflush(stdout);
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
        return 0;
    }
    if (!strcmp(mode, "hold") && argc == 3)
        return mode_hold(atol(argv[2]));
    if (!strcmp(mode, "fds")) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        int dfd = d ? dirfd(d) : -1;

        if (!d)
            return 1;
        while ((e = readdir(d)) != NULL)
            if (e->d_name[0] != '.' && atoi(e->d_name) != dfd)
                printf("%s\n", e->d_name);
        closedir(d);
        return 0;
    }
    if (!strcmp(mode, "sigstate")) {
        sigset_t mask;
        struct sigaction sa;
        unsigned long long ign = 0, blk = 0;
        char line[256];
        FILE *st = fopen("/proc/self/status", "r");
        int sig;

        /* The kernel's view first: glibc's sigaction and sigismember refuse
         * the signals it reserves (32 and 33), which a child can still
         * inherit ignored. */
        while (st && fgets(line, sizeof line, st)) {
            sscanf(line, "SigIgn: %llx", &ign);
            sscanf(line, "SigBlk: %llx", &blk);
        }
        if (st)
            fclose(st);
        sigprocmask(SIG_SETMASK, NULL, &mask);
        for (sig = 1; sig < NSIG; sig++) {
            bool in_kernel = sig <= 64;
            unsigned long long bit = in_kernel ? 1ull << (sig - 1) : 0;

            if (sigismember(&mask, sig) == 1 || (blk & bit))
                printf("mask %d\n", sig);
            if ((sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN) || (ign & bit))
                printf("ignored %d\n", sig);
        }
        return 0;
    }
    if (!strcmp(mode, "argv")) {
        for (i = 2; i < argc; i++) {
            printf("%zu:", strlen(argv[i]));
            fwrite(argv[i], 1, strlen(argv[i]), stdout);
            putchar('\n');
        }
        return 0;
    }
    if (!strcmp(mode, "exit") && argc == 3)
        return atoi(argv[2]);
    if (!strcmp(mode, "noread-exit") && argc == 3)
        return atoi(argv[2]);
    if (!strcmp(mode, "drain-exit") && argc == 3) {
        static char buf[1 << 16];
        ssize_t k;

        while ((k = read(0, buf, sizeof buf)) > 0 || (k < 0 && errno == EINTR))
            ;
        return atoi(argv[2]);
    }
    if (!strcmp(mode, "raise") && argc == 3) {
        int sig = atoi(argv[2]);
        signal(sig, SIG_DFL);
        raise(sig);
        return 99;
    }
    if (!strcmp(mode, "sleep") && argc == 3) {
        long ms = atol(argv[2]);
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
        return 0;
    }
    if (!strcmp(mode, "yes")) {
        static char buf[8192];
        for (i = 0; i + 1 < (int)sizeof buf; i += 2)
            memcpy(buf + i, "y\n", 2);
        while (write_all(1, buf, sizeof buf) == 0)
            ;
        return 0;
    }
    fprintf(stderr, "child: unknown mode '%s'\n", mode);
    return 2;
}
