/* bench/contenders.c: the ways to talk to a child that the tables compare.
 *
 * Every contender times the whole operation a user would write: create the
 * pipes, start the child, move the bytes, reap the child.  Buffers are
 * allocated and touched before the clock starts, so no contender pays page
 * faults another does not.  The plain POSIX loops are written to be as fast
 * as a careful programmer makes them (1 MiB reads, pipes raised to
 * /proc/sys/fs/pipe-max-size): they are the baselines, and a weak baseline
 * would flatter everyone else.
 */
#include "config.h"

#include "bench.h"
#include "pattern.h"
#include "popen2.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define BLOCK (1u << 20)   /* read / fread / fwrite size of every contender */
#define WINDOW (4u << 20)  /* round trip: bytes written ahead of those read */

/* BLOCK bytes the readers read into, on a page: the kernel copies a pipe's
 * bytes into a buffer 16 bytes past a page (where malloc puts 1 MiB) at
 * about a sixth of the speed on AMD's Zen 3 (see lib/sys/fd.posix.c), and a
 * plain loop should be measured at its best.  buf_offpage is the buffer
 * malloc would give, for the rows that show what that costs. */
static unsigned char *buf;
static unsigned char *buf_offpage;
static unsigned char *chunk; /* the writer's pattern, for what we send to cat */
static long heap_mb;

/* Allocated and touched once, before any clock runs. */
static void buffers(void)
{
    if (buf)
        return;
    buf = aligned_alloc(4096, BLOCK);
    buf_offpage = aligned_alloc(4096, BLOCK + 4096);
    chunk = malloc(BLOCK + BENCH_PERIOD);
    if (!buf || !buf_offpage || !chunk) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    buf_offpage += 16;
    memset(buf, 1, BLOCK);
    memset(buf_offpage, 1, BLOCK);
    bench_pattern_fill(chunk, BLOCK + BENCH_PERIOD);
}

void contenders_set_heap_mb(long mb)
{
    heap_mb = mb;
}

const unsigned char *bench_input(unsigned long long n)
{
    static unsigned char *in;
    static unsigned long long in_len;
    unsigned long long off;

    buffers();
    if (in_len < n) {
        free(in);
        in = malloc(n);
        if (!in) {
            fprintf(stderr, "bench: out of memory for %llu input bytes\n", n);
            exit(1);
        }
        for (off = 0; off < n; off += BLOCK)
            memcpy(in + off, chunk + off % BENCH_PERIOD, n - off < BLOCK ? n - off : BLOCK);
        in_len = n;
    }
    return in;
}

/* The best a plain program can ask for: /proc/sys/fs/pipe-max-size. */
static void pipe_max(int fd)
{
    static int max = -1;

    if (max < 0) {
        FILE *f = fopen("/proc/sys/fs/pipe-max-size", "r");

        max = 1 << 20;
        if (f) {
            if (fscanf(f, "%d", &max) != 1)
                max = 1 << 20;
            fclose(f);
        }
    }
    fcntl(fd, F_SETPIPE_SZ, max);
}

static int fail(const char *what)
{
    fprintf(stderr, "bench: %s: %s\n", what, strerror(errno));
    return -1;
}

/* posix_spawn of argv with the given descriptors (or -1) on 0, 1 and 2. */
static int spawn(char *const argv[], int in, int out, int err, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    int r;

    posix_spawn_file_actions_init(&fa);
    if (in >= 0)
        posix_spawn_file_actions_adddup2(&fa, in, 0);
    if (out >= 0)
        posix_spawn_file_actions_adddup2(&fa, out, 1);
    if (err >= 0)
        posix_spawn_file_actions_adddup2(&fa, err, 2);
    r = posix_spawnp(pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (r) {
        errno = r;
        return fail(argv[0]);
    }
    return 0;
}

static int reap(pid_t pid)
{
    int st;

    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return fail("waitpid");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bench: child failed (status %#x)\n", st);
        return -1;
    }
    return 0;
}

/* argv of the writer for a run; the numbers live in the caller's arrays. */
void bench_writer_argv(const struct run *r, char *argv[4], char o[32], char e[32])
{
    snprintf(o, 32, "%llu", r->out_bytes);
    snprintf(e, 32, "%llu", r->err_bytes);
    argv[0] = (char *)bench_writer;
    argv[1] = o;
    argv[2] = r->err_bytes ? e : NULL;
    argv[3] = NULL;
}

/* ---- capture: one stream ------------------------------------------------ */

/* Starts the writer of r with its stdout on a pipe; *fd is the read end,
 * *t0 the start of the timed part. */
static int start_writer(struct run *r, int *fd, pid_t *pid, double *t0)
{
    char o[32], e[32], *argv[4];
    int fds[2];

    bench_writer_argv(r, argv, o, e);
    *t0 = bench_now();
    if (pipe2(fds, O_CLOEXEC) < 0)
        return fail("pipe2");
    pipe_max(fds[0]);
    if (spawn(argv, -1, fds[1], -1, pid) < 0)
        return -1;
    close(fds[1]);
    *fd = fds[0];
    return 0;
}

/* Closes the read end fd, reaps the writer and times the run. */
static int end_writer(struct run *r, int fd, pid_t pid, double t0)
{
    close(fd);
    if (reap(pid) < 0)
        return -1;
    r->secs = bench_now() - t0;
    return 0;
}

static int read_loop(struct run *r, unsigned char *into)
{
    int fd;
    pid_t pid;
    ssize_t k;
    double t0;

    buffers();
    if (start_writer(r, &fd, &pid, &t0) < 0)
        return -1;
    while ((k = read(fd, into ? into : buf, BLOCK)) > 0 || (k < 0 && errno == EINTR))
        if (k > 0)
            r->got += (unsigned long long)k;
    return end_writer(r, fd, pid, t0);
}

int c_read_loop(struct run *r)
{
    return read_loop(r, NULL);
}

int c_read_loop_offpage(struct run *r)
{
    buffers();
    return read_loop(r, buf_offpage);
}

int c_splice(struct run *r)
{
    static int null = -1;
    int fd;
    pid_t pid;
    ssize_t k;
    double t0;

    if (null < 0 && (null = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
        return fail("/dev/null");
    if (start_writer(r, &fd, &pid, &t0) < 0)
        return -1;
    while ((k = splice(fd, NULL, null, NULL, BLOCK, SPLICE_F_MOVE)) > 0 ||
           (k < 0 && errno == EINTR))
        if (k > 0)
            r->got += (unsigned long long)k;
    return end_writer(r, fd, pid, t0);
}

/* The classic event loop: both pipes non-blocking, poll, read what is ready. */
int c_poll_capture(struct run *r)
{
    char o[32], e[32], *argv[4];
    int out[2], err[2];
    struct pollfd pfd[2];
    int open_ = 2, i;
    pid_t pid;
    ssize_t k;
    double t0;

    buffers();
    bench_writer_argv(r, argv, o, e);
    t0 = bench_now();
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
        return fail("pipe2");
    pipe_max(out[0]);
    pipe_max(err[0]);
    if (spawn(argv, -1, out[1], err[1], &pid) < 0)
        return -1;
    close(out[1]);
    close(err[1]);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(err[0], F_SETFL, O_NONBLOCK);
    pfd[0] = (struct pollfd){.fd = out[0], .events = POLLIN};
    pfd[1] = (struct pollfd){.fd = err[0], .events = POLLIN};
    while (open_) {
        if (poll(pfd, 2, -1) < 0 && errno != EINTR)
            return fail("poll");
        for (i = 0; i < 2; i++) {
            if (pfd[i].fd < 0 || !pfd[i].revents)
                continue;
            /* Drain what is there: one poll per pipeful, not per read. */
            while ((k = read(pfd[i].fd, buf, BLOCK)) > 0)
                r->got += (unsigned long long)k;
            if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
                close(pfd[i].fd);
                pfd[i].fd = -1;
                open_--;
            }
        }
    }
    if (reap(pid) < 0)
        return -1;
    r->secs = bench_now() - t0;
    return 0;
}

/* One popen(3) run of the writer: `drain` reads what it wrote; the time
 * covers both. */
static int popen_capture(struct run *r, int (*drain)(FILE *, struct run *))
{
    char cmd[4200];
    FILE *f;
    double t0;

    buffers();
    snprintf(cmd, sizeof cmd, "'%s' %llu", bench_writer, r->out_bytes);
    t0 = bench_now();
    f = popen(cmd, "r");
    if (!f)
        return fail("popen");
    if (drain(f, r) < 0) {
        pclose(f);
        return -1;
    }
    if (pclose(f) != 0) {
        fprintf(stderr, "bench: popen child failed\n");
        return -1;
    }
    r->secs = bench_now() - t0;
    return 0;
}

static int popen_fread_all(FILE *f, struct run *r)
{
    size_t k;

    while ((k = fread(buf, 1, BLOCK, f)) > 0)
        r->got += k;
    return 0;
}

int c_popen_fread(struct run *r)
{
    return popen_capture(r, popen_fread_all);
}

/* The writer's pattern has a '\n' about every 255 bytes and no NUL: a line
 * stream whose lines strlen measures. */
static int fgets_all(FILE *f, struct run *r)
{
    while (fgets((char *)buf, BLOCK, f))
        r->got += strlen((char *)buf);
    return ferror(f) ? fail("fgets") : 0;
}

int c_popen_fgets(struct run *r)
{
    return popen_capture(r, fgets_all);
}

/* ---- libpopen2 ---------------------------------------------------------- */

static int read_to_eof(FILE *f, unsigned long long *got)
{
    size_t k;

    while ((k = fread(buf, 1, BLOCK, f)) > 0)
        *got += k;
    return ferror(f) ? fail("fread") : 0;
}

static int p2_end(popen2_proc *p)
{
    int st = popen2_wait(p);

    popen2_free(p);
    if (st < 0)
        return fail("popen2_wait");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bench: child failed (status %#x)\n", st);
        return -1;
    }
    return 0;
}

/* One capture run through the library: spawn the writer with stderr
 * captured or not (or as attr says, when not NULL), then `drain` reads what
 * it wrote; the time covers both. */
static int p2_capture_as(struct run *r, int capturestderr, const popen2_attr *a,
                         int bufsize, int (*drain)(popen2_proc *, struct run *))
{
    char o[32], e[32], *argv[4];
    popen2_proc *p;
    double t0;

    buffers();
    bench_writer_argv(r, argv, o, e);
    t0 = bench_now();
    p = a ? popen2_spawnv(argv, a) : popen2_Popen3v(argv, capturestderr, bufsize);
    if (!p)
        return fail(a ? "popen2_spawnv" : "popen2_Popen3v");
    if (drain(p, r) < 0 || p2_end(p) < 0)
        return -1;
    r->secs = bench_now() - t0;
    return 0;
}

static int p2_capture(struct run *r, int capturestderr, int (*drain)(popen2_proc *, struct run *))
{
    return p2_capture_as(r, capturestderr, NULL, -1, drain);
}

static int drain_fread(popen2_proc *p, struct run *r)
{
    return read_to_eof(popen2_fromchild(p), &r->got);
}

int c_p2_fread(struct run *r)
{
    return p2_capture(r, 0, drain_fread);
}

/* The same with a FILE buffer of 128 KiB (Python's bufsize argument), the
 * default before it was 1 MiB: each refill takes an eighth of a pipeful. */
#define SMALL_FILE_BUFFER (128 * 1024)

int c_p2_fread_smallbuf(struct run *r)
{
    return p2_capture_as(r, 0, NULL, SMALL_FILE_BUFFER, drain_fread);
}

static int drain_fgets(popen2_proc *p, struct run *r)
{
    return fgets_all(popen2_fromchild(p), r);
}

int c_p2_fgets(struct run *r)
{
    return p2_capture(r, 0, drain_fgets);
}

/* Lines without stdio: popen2_getline, no bound on the wait. */
static int drain_getline(popen2_proc *p, struct run *r)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t k;

    while ((k = popen2_getline(p, 1, &line, &cap, -1)) > 0)
        r->got += (unsigned long long)k;
    free(line);
    return k < 0 ? fail("popen2_getline") : 0;
}

int c_p2_getline(struct run *r)
{
    return p2_capture(r, 0, drain_getline);
}

/* The same child with its stdout on a pseudo-terminal (POPEN2_PTY), read
 * with popen2_getline: what a GUI that shows a tool's lines as they come
 * pays for the terminal.  Raw mode, so the bytes are the pipe's (a default
 * terminal would add a CR to every line). */
int c_p2_getline_pty(struct run *r)
{
    popen2_attr *a = popen2_attr_new();
    int rc;

    if (!a || popen2_attr_set_stream(a, 1, POPEN2_PTY) < 0 ||
        popen2_attr_set_pty(a, 24, 80, POPEN2_PTY_RAW) < 0)
        rc = fail("popen2_attr_set_stream(POPEN2_PTY)");
    else
        rc = p2_capture_as(r, 0, a, -1, drain_getline);
    popen2_attr_free(a);
    return rc;
}

/* The fastest path the library offers: popen2_readinto, beside the
 * contract, into the caller's buffer without stdio's extra copy. */
static int readinto_to_eof(popen2_proc *p, int stream, unsigned char *into,
                           unsigned long long *got)
{
    ssize_t k;

    while ((k = popen2_readinto(p, stream, into, BLOCK)) > 0)
        *got += (unsigned long long)k;
    return k < 0 ? fail("popen2_readinto") : 0;
}

static int drain_readinto(popen2_proc *p, struct run *r)
{
    if (readinto_to_eof(p, 1, buf, &r->got) < 0)
        return -1;
    return r->err_bytes ? readinto_to_eof(p, 2, buf, &r->got) : 0;
}

int c_p2_readinto(struct run *r)
{
    return p2_capture(r, r->err_bytes ? 1 : 0, drain_readinto);
}

static int drain_readinto_offpage(popen2_proc *p, struct run *r)
{
    return readinto_to_eof(p, 1, buf_offpage, &r->got);
}

int c_p2_readinto_offpage(struct run *r)
{
    return p2_capture(r, 0, drain_readinto_offpage);
}

/* Reads all of stdout before touching stderr: the order a plain-pipe
 * program cannot use, since the child blocks on a full stderr pipe. */
static int drain_stdout_first(popen2_proc *p, struct run *r)
{
    if (read_to_eof(popen2_fromchild(p), &r->got) < 0)
        return -1;
    return read_to_eof(popen2_childerr(p), &r->got);
}

int c_p2_both(struct run *r)
{
    return p2_capture(r, 1, drain_stdout_first);
}

int c_p2_both_smallbuf(struct run *r)
{
    return p2_capture_as(r, 1, NULL, SMALL_FILE_BUFFER, drain_stdout_first);
}

/* ---- round trip through cat --------------------------------------------- */

static char *cat_argv[] = {"cat", NULL};

int c_poll_cat(struct run *r)
{
    int in[2], out[2];
    struct pollfd pfd[2];
    unsigned long long sent = 0;
    size_t n;
    pid_t pid;
    ssize_t k;
    double t0;

    buffers();
    t0 = bench_now();
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
        return fail("pipe2");
    pipe_max(in[1]);
    pipe_max(out[0]);
    if (spawn(cat_argv, in[0], out[1], -1, &pid) < 0)
        return -1;
    close(in[0]);
    close(out[1]);
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    pfd[0] = (struct pollfd){.fd = in[1], .events = POLLOUT};
    pfd[1] = (struct pollfd){.fd = out[0], .events = POLLIN};
    while (pfd[1].fd >= 0) {
        if (poll(pfd, 2, -1) < 0 && errno != EINTR)
            return fail("poll");
        if (pfd[0].fd >= 0 && pfd[0].revents) {
            for (;;) {
                n = r->out_bytes - sent < BLOCK ? (size_t)(r->out_bytes - sent) : BLOCK;
                k = write(in[1], chunk + sent % BENCH_PERIOD, n);
                if (k <= 0)
                    break;
                sent += (unsigned long long)k;
                if (sent == r->out_bytes) {
                    close(in[1]);
                    pfd[0].fd = -1;
                    break;
                }
            }
        }
        if (pfd[1].revents) {
            while ((k = read(out[0], buf, BLOCK)) > 0)
                r->got += (unsigned long long)k;
            if (k == 0) {
                close(out[0]);
                pfd[1].fd = -1;
            }
        }
    }
    if (reap(pid) < 0)
        return -1;
    r->secs = bench_now() - t0;
    return 0;
}

/* Writes ahead of what it reads by `window` bytes, as a streaming filter
 * would; writing never blocks, so no poll is needed.  Reads with fread, or
 * with popen2_readinto when `raw`. */
static int p2_cat(struct run *r, bool raw, unsigned long long window)
{
    unsigned long long sent = 0;
    popen2_proc *p;
    FILE *to, *from;
    size_t n, k;
    double t0;

    buffers();
    t0 = bench_now();
    p = popen2_Popen3v(cat_argv, 0, -1);
    if (!p)
        return fail("popen2_Popen3v");
    to = popen2_tochild(p);
    from = popen2_fromchild(p);
    while (sent < r->out_bytes) {
        n = r->out_bytes - sent < BLOCK ? (size_t)(r->out_bytes - sent) : BLOCK;
        if (fwrite(chunk + sent % BENCH_PERIOD, 1, n, to) != n || fflush(to) != 0)
            return fail("fwrite");
        sent += n;
        /* More than a block is on its way, so this fread never waits for
         * bytes still sitting in our own buffers. */
        while (sent - r->got > window) {
            if (raw) {
                ssize_t kk = popen2_readinto(p, 1, buf, BLOCK);

                if (kk <= 0)
                    return fail("popen2_readinto");
                k = (size_t)kk;
            } else {
                k = fread(buf, 1, BLOCK, from);
                if (k == 0)
                    return fail("fread");
            }
            r->got += k;
        }
    }
    fclose(to);
    if ((raw ? readinto_to_eof(p, 1, buf, &r->got) : read_to_eof(from, &r->got)) < 0 ||
        p2_end(p) < 0)
        return -1;
    r->secs = bench_now() - t0;
    return 0;
}

int c_p2_cat(struct run *r)
{
    return p2_cat(r, false, WINDOW);
}

int c_p2_cat_readinto(struct run *r)
{
    return p2_cat(r, true, WINDOW);
}

/* One block ahead only: about what the poll() loop has in flight (its two
 * pipes), so the writes find nothing queued and go to the pipe directly. */
int c_p2_cat_readinto_1ahead(struct run *r)
{
    return p2_cat(r, true, BLOCK);
}

/* With a blocking limit on stdin (POPEN2_BLOCK, WINDOW bytes), the way a
 * streaming filter is written: one thread fwrites the whole input (each
 * 1 MiB fwrite goes to the pipe from this buffer, no copy into the ring),
 * this one reads with popen2_readinto. */
struct cat_feed {
    popen2_proc *p;
    unsigned long long n;
    int err;
};

static void *cat_feed_main(void *arg)
{
    struct cat_feed *f = arg;
    FILE *to = popen2_tochild(f->p);
    unsigned long long sent = 0;
    size_t n;

    while (sent < f->n) {
        n = f->n - sent < BLOCK ? (size_t)(f->n - sent) : BLOCK;
        if (fwrite(chunk + sent % BENCH_PERIOD, 1, n, to) != n) {
            f->err = errno;
            break;
        }
        sent += n;
    }
    if (fclose(to) != 0 && !f->err)
        f->err = errno;
    return NULL;
}

int c_p2_cat_limited(struct run *r)
{
    struct cat_feed f = {.n = r->out_bytes};
    popen2_attr *a;
    pthread_t t;
    double t0;
    int rc;

    buffers();
    t0 = bench_now();
    a = popen2_attr_new();
    if (!a || popen2_attr_set_limit(a, 0, WINDOW, POPEN2_BLOCK) < 0)
        return fail("popen2_attr_set_limit");
    f.p = popen2_spawnv(cat_argv, a);
    popen2_attr_free(a);
    if (!f.p)
        return fail("popen2_spawnv");
    if ((rc = pthread_create(&t, NULL, cat_feed_main, &f)) != 0) {
        errno = rc;
        return fail("pthread_create");
    }
    rc = readinto_to_eof(f.p, 1, buf, &r->got);
    pthread_join(t, NULL);
    if (f.err) {
        errno = f.err;
        return fail("fwrite");
    }
    if (rc < 0 || p2_end(f.p) < 0)
        return -1;
    r->secs = bench_now() - t0;
    return 0;
}

/* ---- spawn latency ------------------------------------------------------ */

static char *true_argv[] = {"/bin/true", NULL};

#define SPAWN_LOOP(body)                                                                  \
    do {                                                                                  \
        double t0 = bench_now();                                                          \
        while (r->done < r->spawns && (r->done == 0 || bench_now() - t0 < r->budget)) {   \
            body;                                                                         \
            r->done++;                                                                    \
        }                                                                                 \
        r->secs = bench_now() - t0;                                                       \
    } while (0)

/* The bare baseline: posix_spawn + waitpid of argv, no pipes. */
static int spawn_posix_loop(struct run *r, char *const argv[])
{
    pid_t pid;
    int rc;

    SPAWN_LOOP({
        rc = posix_spawn(&pid, argv[0], NULL, NULL, argv, environ);
        if (rc) {
            errno = rc;
            return fail("posix_spawn");
        }
        if (reap(pid) < 0)
            return -1;
    });
    return 0;
}

int c_spawn_posix(struct run *r)
{
    return spawn_posix_loop(r, true_argv);
}

int c_spawn_fork(struct run *r)
{
    pid_t pid;

    SPAWN_LOOP({
        pid = fork();
        if (pid < 0)
            return fail("fork");
        if (pid == 0) {
            execv(true_argv[0], true_argv);
            _exit(127);
        }
        if (reap(pid) < 0)
            return -1;
    });
    return 0;
}

int c_spawn_popen(struct run *r)
{
    FILE *f;

    SPAWN_LOOP({
        f = popen("/bin/true", "r");
        if (!f)
            return fail("popen");
        if (pclose(f) != 0)
            return -1;
    });
    return 0;
}

/* The shell forms: `/bin/sh -c "true"` spawned bare, and popen2_Popen3. */
static char *sh_true_argv[] = {"/bin/sh", "-c", "true", NULL};

int c_spawn_posix_sh(struct run *r)
{
    return spawn_posix_loop(r, sh_true_argv);
}

/* popen2_Popen3 of the shell command cmd, or popen2_Popen3v of /bin/true
 * when cmd is NULL: spawn, wait, free, over and over. */
static int spawn_p2_loop(struct run *r, const char *cmd)
{
    popen2_proc *p;

    SPAWN_LOOP({
        p = cmd ? popen2_Popen3(cmd, 0, -1) : popen2_Popen3v(true_argv, 0, -1);
        if (!p)
            return fail(cmd ? "popen2_Popen3" : "popen2_Popen3v");
        if (p2_end(p) < 0)
            return -1;
    });
    return 0;
}

int c_spawn_p2_sh(struct run *r)
{
    return spawn_p2_loop(r, "true");
}

int c_spawn_p2(struct run *r)
{
    return spawn_p2_loop(r, NULL);
}

/* popen2_spawnv of /bin/true with the options a, over and over. */
static int spawnv_loop(struct run *r, const popen2_attr *a)
{
    popen2_proc *p;

    SPAWN_LOOP({
        p = popen2_spawnv(true_argv, a);
        if (!p)
            return fail("popen2_spawnv");
        if (p2_end(p) < 0)
            return -1;
    });
    return 0;
}

/* Popen3v's streams plus one child setup option: a passed descriptor
 * (still posix_spawn) or a umask (the setup path's clone). */
static int spawn_p2_setup_loop(struct run *r, bool umask_too)
{
    popen2_attr *a = popen2_attr_new();
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC), rc;

    if (!a || fd < 0 || popen2_attr_pass_fd(a, fd, 3) < 0 ||
        (umask_too && popen2_attr_set_umask(a, 022) < 0))
        rc = fail("popen2_attr");
    else
        rc = spawnv_loop(r, a);
    if (fd >= 0)
        close(fd);
    popen2_attr_free(a);
    return rc;
}

int c_spawn_p2_passfd(struct run *r)
{
    return spawn_p2_setup_loop(r, false);
}

int c_spawn_p2_umask(struct run *r)
{
    return spawn_p2_setup_loop(r, true);
}

/* All three streams inherited: no pipe, no reader thread, the shape of
 * Python's subprocess.run(["/bin/true"]). */
int c_spawn_p2_nopipes(struct run *r)
{
    popen2_attr *a = popen2_attr_new();
    int rc;

    if (!a || popen2_attr_set_stream(a, 0, POPEN2_INHERIT) < 0 ||
        popen2_attr_set_stream(a, 1, POPEN2_INHERIT) < 0)
        rc = fail("popen2_attr");
    else
        rc = spawnv_loop(r, a);
    popen2_attr_free(a);
    return rc;
}

/* ---- Python's subprocess.run, timed inside the interpreter -------------- */

/* Runs bench/subprocess_run.py with args; it prints "seconds count". */
static int python(struct run *r, const char *args, double *secs, unsigned long long *count)
{
    char cmd[8400];
    FILE *f;
    int n;

    if (!bench_python)
        return -1;
    snprintf(cmd, sizeof cmd, "'%s' '%s' %s", bench_python, bench_pyscript, args);
    f = popen(cmd, "r");
    if (!f)
        return fail("popen python3");
    n = fscanf(f, "%lf %llu", secs, count);
    if (pclose(f) != 0 || n != 2) {
        fprintf(stderr, "bench: %s failed\n", cmd);
        return -1;
    }
    (void)r;
    return 0;
}

int c_py_capture(struct run *r)
{
    char args[4200];

    snprintf(args, sizeof args, "capture '%s' %llu 0", bench_writer, r->out_bytes);
    return python(r, args, &r->secs, &r->got);
}

int c_py_both(struct run *r)
{
    char args[4200];

    snprintf(args, sizeof args, "capture '%s' %llu %llu", bench_writer, r->out_bytes,
             r->err_bytes);
    return python(r, args, &r->secs, &r->got);
}

int c_py_cat(struct run *r)
{
    char args[100];

    snprintf(args, sizeof args, "cat %llu", r->out_bytes);
    return python(r, args, &r->secs, &r->got);
}

static int spawn_py(struct run *r, const char *mode)
{
    char args[200];
    unsigned long long done;

    snprintf(args, sizeof args, "%s %ld %.3f %ld", mode, r->spawns, r->budget, heap_mb);
    if (python(r, args, &r->secs, &done) < 0)
        return -1;
    r->done = (long)done;
    return 0;
}

int c_spawn_py(struct run *r)
{
    return spawn_py(r, "spawn");
}

int c_spawn_py_pipes(struct run *r)
{
    return spawn_py(r, "spawn-pipes");
}
