/* bench/bench: the six workloads of the benchmark, run by
 * `make bench`.
 *
 *   bench [WORKLOAD...]      1 1p 2 3 4 4big 4sh 5 5x 6 7 (default: all)
 *
 * Environment: BENCH_QUICK=1 shrinks every size 16x (1 GiB -> 64 MiB, 2000
 * spawns -> 500, 1000 objects -> 200) for development; BENCH_REPS sets the
 * rounds per table (default 7); BENCH_OUT the output directory (default
 * bench/out); BENCH_FILTER=a,b keeps only the baseline and the contenders
 * whose names contain a or b; BENCH_PYTHON overrides the python3 found by
 * configure (empty: leave Python out).
 *
 * Workloads that measure a process's memory, or need a particular parent,
 * run in a fresh copy of this program (internal modes below), so that the
 * main process's own history never shows in their figures:
 *
 *   bench --heap MB 4             workload 4 from a parent with MB of heap
 *                                 touched (0: a small parent)
 *   bench --scale-mem N BYTES     workload 5's memory and thread figures
 *   bench --many N BYTES          workload 5x: N live objects, every figure
 *   bench --stream KIND BYTES     workload 6 for one contender
 *                                 (read | popen2 | readinto)
 */
#include "config.h"

#include "bench.h"
#include "counters.h"
#include "pattern.h"
#include "popen2.h"

#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

const char *bench_writer = BENCH_WRITER;
const char *bench_python;
const char *bench_pyscript = BENCH_PYSCRIPT;

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static unsigned long long scale = 1; /* divisor for BENCH_QUICK */
static int reps = 7;
static bool failed;

static void run_table(struct table *t)
{
    if (bench_table(t) < 0)
        failed = true;
}

/* ---- 1: capture throughput ---------------------------------------------- */

static const struct contender capture[] = {
    {"read() loop, 1 MiB pipe (baseline)", c_read_loop, true},
    {"splice() to /dev/null (no-copy ceiling)", c_splice, false},
    {"libpopen2 fread 1 MiB", c_p2_fread, false},
    {"libpopen2 fread 1 MiB, bufsize 128 KiB", c_p2_fread_smallbuf, false},
    {"libpopen2 popen2_readinto 1 MiB", c_p2_readinto, false},
    {"poll() loop, 2 pipes", c_poll_capture, true},
    {"read() loop into a buffer 16 bytes past a page (malloc's)", c_read_loop_offpage, false},
    {"libpopen2 popen2_readinto into that buffer", c_p2_readinto_offpage, false},
    {"popen(3) + fread", c_popen_fread, false},
#ifdef HAVE_GLIB
    {"GLib g_spawn_sync", c_glib_sync, false},
    {"GLib GSubprocess communicate", c_glib_sub, false},
#endif
    {"Python subprocess.run", c_py_capture, false},
};

/* BENCH_FILTER=a,b keeps the baseline and the contenders whose names
 * contain a or b (for development). */
static bool filtered_out(const char *name)
{
    const char *f = getenv("BENCH_FILTER"), *p;
    size_t n;

    if (!f || !*f)
        return false;
    for (p = f; *p; p += n + (p[n] == ',')) {
        char part[100];

        n = strcspn(p, ",");
        snprintf(part, sizeof part, "%.*s", (int)n, p);
        if (n && strstr(name, part))
            return false;
    }
    return true;
}

static int contenders_present(const struct contender *c, int n, struct contender *out)
{
    int i, k = 0;

    for (i = 0; i < n; i++)
        if ((bench_python || (c[i].fn != c_py_capture && c[i].fn != c_py_both &&
                              c[i].fn != c_py_cat && c[i].fn != c_spawn_py &&
                              c[i].fn != c_spawn_py_pipes)) &&
            (i == 0 || !filtered_out(c[i].name)))
            out[k++] = c[i];
    return k;
}

static void w1(bool pinned)
{
    struct contender c[16];
    struct table t = {
        .tag = pinned ? "w1p" : "w1",
        .title = pinned ? "1p. Capture 1 GiB from stdout, every process pinned to one CPU"
                        : "1. Capture 1 GiB from stdout",
        .metric = METRIC_THROUGHPUT,
        .reps = reps,
        .input = {.out_bytes = GiB / scale},
        .expect = GiB / scale,
        .c = c,
    };
    cpu_set_t old, one;

    t.n = contenders_present(capture, sizeof capture / sizeof *capture, c);
    if (pinned) {
        /* What taskset -c does: the children and the library's threads
         * inherit the mask, so everything shares one CPU. */
        sched_getaffinity(0, sizeof old, &old);
        CPU_ZERO(&one);
        CPU_SET(sysconf(_SC_NPROCESSORS_ONLN) - 1, &one);
        if (sched_setaffinity(0, sizeof one, &one) < 0) {
            perror("bench: sched_setaffinity");
            failed = true;
            return;
        }
    }
    run_table(&t);
    if (pinned)
        sched_setaffinity(0, sizeof old, &old);
}

/* A throughput table of the contenders of `all` present in this build: the
 * writer's out and err bytes, every one of which each run must receive. */
static void throughput(const char *tag, const char *title, unsigned long long out,
                       unsigned long long err, const struct contender *all, int n)
{
    struct contender c[8];
    struct table t = {
        .tag = tag,
        .title = title,
        .metric = METRIC_THROUGHPUT,
        .reps = reps,
        .input = {.out_bytes = out, .err_bytes = err},
        .expect = out + err,
        .c = c,
    };

    t.n = contenders_present(all, n, c);
    run_table(&t);
}

/* ---- 2: two streams, stdout read to EOF first --------------------------- */

static void w2(void)
{
    static const struct contender all[] = {
        {"poll() loop, 2 pipes (baseline)", c_poll_capture, true},
        {"libpopen2 fread: stdout to EOF, then stderr", c_p2_both, false},
        {"libpopen2 fread, bufsize 128 KiB: stdout, then stderr", c_p2_both_smallbuf, false},
        {"libpopen2 popen2_readinto: stdout to EOF, then stderr", c_p2_readinto, false},
#ifdef HAVE_GLIB
        {"GLib g_spawn_sync", c_glib_sync, false},
        {"GLib GSubprocess communicate", c_glib_sub, false},
#endif
        {"Python subprocess.run", c_py_both, false},
    };

    throughput("w2", "2. 1 GiB on stdout and 1 GiB on stderr at once", GiB / scale, GiB / scale,
               all, (int)(sizeof all / sizeof *all));
}

/* ---- 3: round trip through cat ------------------------------------------ */

static void w3(void)
{
    static const struct contender all[] = {
        {"poll() loop, write + read (baseline)", c_poll_cat, true},
        {"libpopen2 fwrite tochild + fread fromchild, 4 MiB ahead", c_p2_cat, false},
        {"libpopen2 fwrite tochild + popen2_readinto, 4 MiB ahead", c_p2_cat_readinto, false},
        {"libpopen2 as above, writing 1 MiB ahead (not 4)", c_p2_cat_readinto_1ahead, false},
        {"libpopen2, 4 MiB stdin limit (POPEN2_BLOCK): a thread fwrites, popen2_readinto reads",
         c_p2_cat_limited, false},
#ifdef HAVE_GLIB
        {"GLib GSubprocess communicate", c_glib_sub_cat, false},
#endif
        {"Python subprocess.run(input=...)", c_py_cat, false},
    };

    throughput("w3", "3. Round trip: 1 GiB through cat", GiB / scale, 0, all,
               (int)(sizeof all / sizeof *all));
}

/* ---- 7: a line-oriented child --------------------------------------------- */

static void w7(void)
{
    static const struct contender all[] = {
        {"popen(3) + fgets (baseline)", c_popen_fgets, true},
        {"libpopen2 fgets on fromchild", c_p2_fgets, false},
        {"libpopen2 popen2_getline", c_p2_getline, false},
        {"libpopen2 popen2_getline, stdout on a pseudo-terminal (raw)", c_p2_getline_pty, false},
    };

    throughput("w7", "7. Lines: 256 MiB of ~255-byte lines on stdout, read line by line",
               256 * MiB / scale, 0, all, (int)(sizeof all / sizeof *all));
}

/* ---- 4: spawn latency --------------------------------------------------- */

/* Spawns per contender over all rounds: a quick run keeps a quarter, not a
 * sixteenth, so that a round still holds enough spawns for its ratio. */
static long spawn_total(void)
{
    return scale == 1 ? 2000 : 500;
}

static long heap_mb;

static void w4(void)
{
    static const struct contender all[] = {
        {"posix_spawn + waitpid (baseline)", c_spawn_posix, true},
        {"libpopen2 Popen3v + wait + free", c_spawn_p2, false},
        {"libpopen2 spawnv, no pipes + wait + free", c_spawn_p2_nopipes, false},
        {"libpopen2 spawnv + pass_fd (posix_spawn path)", c_spawn_p2_passfd, false},
        {"libpopen2 spawnv + pass_fd + umask (setup path)", c_spawn_p2_umask, false},
        {"fork + exec + waitpid", c_spawn_fork, false},
        {"popen(3) + pclose", c_spawn_popen, false},
#ifdef HAVE_GLIB
        {"GLib g_spawn_sync", c_spawn_glib_sync, false},
        {"GLib GSubprocess + wait", c_spawn_glib_sub, false},
#endif
        {"Python subprocess.run", c_spawn_py, false},
        {"Python subprocess.run, stdin and stdout piped", c_spawn_py_pipes, false},
    };
    struct contender c[16];
    char title[200];
    int rounds = 4 * reps < 20 ? 4 * reps : 20;
    struct table t = {
        .tag = heap_mb ? "w4big" : "w4",
        .title = title,
        .metric = METRIC_LATENCY,
        /* Spawn times drift with the machine's load within seconds, so
         * this table interleaves finer: 2000 spawns per contender in all,
         * over 4x the usual rounds.  A contender that needs more than half
         * a second for its share of a round (fork from a big parent) stops
         * early and is timed per spawn all the same. */
        .reps = rounds,
        .input = {.spawns = spawn_total() / rounds, .budget = 0.5},
        .c = c,
    };

    if (heap_mb)
        snprintf(title, sizeof title,
                 "4big. Spawn /bin/true, parent with %ld MiB of heap touched", heap_mb);
    else
        snprintf(title, sizeof title, "4. Spawn /bin/true (create, wait, free), small parent");
    contenders_set_heap_mb(heap_mb);
    t.n = contenders_present(all, sizeof all / sizeof *all, c);
    run_table(&t);
}

/* The shell forms: Popen3 runs `/bin/sh -c cmd`, so its fair baseline is a
 * bare posix_spawn of the same shell command. */
static void w4sh(void)
{
    static const struct contender all[] = {
        {"posix_spawn /bin/sh -c true + waitpid (baseline)", c_spawn_posix_sh, true},
        {"libpopen2 Popen3(\"true\") + wait + free", c_spawn_p2_sh, false},
    };
    int rounds = 4 * reps < 20 ? 4 * reps : 20;
    struct table t = {
        .tag = "w4sh",
        .title = "4sh. Spawn through the shell (create, wait, free), small parent",
        .metric = METRIC_LATENCY,
        .reps = rounds,
        .input = {.spawns = spawn_total() / rounds, .budget = 0.5},
        .c = all,
        .n = 2,
    };

    run_table(&t);
}

/* Runs WORKLOADs in a fresh copy of this program; its output is ours. */
static int rerun(char *const argv[])
{
    pid_t pid;
    int st, r;

    fflush(stdout);
    r = posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, environ);
    if (r) {
        fprintf(stderr, "bench: re-exec: %s\n", strerror(r));
        return -1;
    }
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* Workload 4 always runs in a fresh copy of the bench: "small parent" must
 * not be this process after the tables above (fork's cost grows with the
 * parent's memory), and the big parent touches its heap before it starts. */
static void w4_fresh(unsigned long long mb_heap)
{
    char mb[32];
    char *argv[] = {"bench", "--heap", mb, "4", NULL};

    snprintf(mb, sizeof mb, "%llu", mb_heap);
    if (rerun(argv) < 0)
        failed = true;
}

/* The big parent's heap; a global, so the compiler cannot drop it. */
char *volatile bench_heap;

/* ---- 5: 1000 objects at once -------------------------------------------- */

static unsigned char *expect_buf; /* the writer's stream, for checking */

static bool check(const unsigned char *p, size_t n, unsigned long long off)
{
    size_t k;

    while (n) {
        k = n < BENCH_CHUNK ? n : BENCH_CHUNK;
        if (memcmp(p, expect_buf + off % BENCH_PERIOD, k))
            return false;
        p += k;
        n -= k;
        off += k;
    }
    return true;
}

static long nobjects;
static unsigned long long obj_bytes = MiB;
static unsigned char rbuf[1 << 20];

/* One poll() loop over every child's stdout: the thread-free baseline. */
static int c_scale_poll(struct run *r)
{
    struct pollfd *pfd = calloc((size_t)nobjects, sizeof *pfd);
    unsigned long long *off = calloc((size_t)nobjects, sizeof *off);
    pid_t *pid = calloc((size_t)nobjects, sizeof *pid);
    char n[32], *argv[] = {(char *)bench_writer, n, NULL};
    posix_spawn_file_actions_t fa;
    long i, open_ = 0;
    bool ok = true;
    ssize_t k;
    double t0;
    int fds[2], st;

    snprintf(n, sizeof n, "%llu", obj_bytes);
    t0 = bench_now();
    for (i = 0; i < nobjects; i++) {
        if (pipe2(fds, O_CLOEXEC) < 0) {
            perror("bench: pipe2");
            return -1;
        }
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
        if (posix_spawn(&pid[i], bench_writer, &fa, NULL, argv, environ)) {
            perror("bench: posix_spawn");
            return -1;
        }
        posix_spawn_file_actions_destroy(&fa);
        close(fds[1]);
        fcntl(fds[0], F_SETFL, O_NONBLOCK);
        pfd[i] = (struct pollfd){.fd = fds[0], .events = POLLIN};
        open_++;
    }
    while (open_) {
        if (poll(pfd, (nfds_t)nobjects, -1) < 0 && errno != EINTR) {
            perror("bench: poll");
            return -1;
        }
        for (i = 0; i < nobjects; i++) {
            if (pfd[i].fd < 0 || !pfd[i].revents)
                continue;
            while ((k = read(pfd[i].fd, rbuf, sizeof rbuf)) > 0) {
                ok = ok && check(rbuf, (size_t)k, off[i]);
                off[i] += (unsigned long long)k;
                r->got += (unsigned long long)k;
            }
            if (k == 0) {
                close(pfd[i].fd);
                pfd[i].fd = -1;
                open_--;
            }
        }
    }
    for (i = 0; i < nobjects; i++) {
        waitpid(pid[i], &st, 0);
        ok = ok && off[i] == obj_bytes && st == 0;
    }
    r->secs = bench_now() - t0;
    free(pfd);
    free(off);
    free(pid);
    if (!ok)
        fprintf(stderr, "bench: poll loop: wrong bytes\n");
    return ok ? 0 : -1;
}

/* Reads one object's fromchild to EOF, checking every byte. */
static bool read_checked(popen2_proc *p, unsigned long long *got)
{
    FILE *f = popen2_fromchild(p);
    unsigned long long off = 0;
    bool ok = true;
    size_t k;

    while ((k = fread(rbuf, 1, sizeof rbuf, f)) > 0) {
        ok = ok && check(rbuf, k, off);
        off += k;
    }
    *got += off;
    return ok && off == obj_bytes && !ferror(f);
}

static int c_scale_p2(struct run *r)
{
    popen2_proc **p = calloc((size_t)nobjects, sizeof *p);
    char n[32], *argv[] = {(char *)bench_writer, n, NULL};
    bool ok = true;
    long i;
    double t0;

    snprintf(n, sizeof n, "%llu", obj_bytes);
    t0 = bench_now();
    for (i = 0; i < nobjects; i++) {
        p[i] = popen2_Popen3v(argv, 0, -1);
        if (!p[i]) {
            perror("bench: popen2_Popen3v");
            return -1;
        }
    }
    for (i = 0; i < nobjects; i++) {
        ok = read_checked(p[i], &r->got) && ok;
        ok = popen2_wait(p[i]) == 0 && ok;
        popen2_free(p[i]);
    }
    r->secs = bench_now() - t0;
    free(p);
    if (!ok)
        fprintf(stderr, "bench: libpopen2: wrong bytes or status\n");
    return ok ? 0 : -1;
}

/* Fresh process: threads and memory of N live objects.  The children
 * (writer -w) first wait for EOF on stdin, so all N objects are alive and
 * idle at once; then they are released, write their 1 MiB each, and the
 * rings hold exactly N MiB: what RSS grows by beyond that is overhead. */
static int scale_mem(void)
{
    popen2_proc **p = calloc((size_t)nobjects, sizeof *p);
    char n[32], *argv[] = {(char *)bench_writer, "-w", n, NULL};
    size_t rss0, rss_idle, rss_full;
    int threads0, threads_live;
    unsigned long long got = 0;
    bool ok = true;
    double t0;
    long i;

    snprintf(n, sizeof n, "%llu", obj_bytes);
    rss0 = bench_rss();
    threads0 = bench_threads();
    for (i = 0; i < nobjects; i++) {
        p[i] = popen2_Popen3v(argv, 0, -1);
        if (!p[i]) {
            perror("bench: popen2_Popen3v");
            return 1;
        }
    }
    threads_live = bench_threads() - threads0;
    rss_idle = bench_rss();
    for (i = 0; i < nobjects; i++)
        fclose(popen2_tochild(p[i]));
    for (i = 0; i < nobjects; i++)
        ok = popen2_wait(p[i]) == 0 && ok;
    /* Every reader at EOF (its thread gone): all bytes are in the rings. */
    t0 = bench_now();
    while (bench_threads() > threads0 && bench_now() - t0 < 60)
        usleep(10000);
    rss_full = bench_rss();
    for (i = 0; i < nobjects; i++) {
        ok = read_checked(p[i], &got) && ok;
        popen2_free(p[i]);
    }
    printf("threads %d\nrss0 %zu\nrss_idle %zu\nrss_full %zu\npeak %zu\nok %d\n", threads_live,
           rss0, rss_idle, rss_full, bench_peak_rss(),
           ok && got == obj_bytes * (unsigned long long)nobjects);
    free(p);
    return 0;
}

static void w5(void)
{
    static const struct contender all[] = {
        {"one poll() loop over all pipes (baseline)", c_scale_poll, true},
        {"libpopen2, one object per child", c_scale_p2, false},
    };
    char title[200], nb[32], bb[32], line[200];
    struct table t = {
        .tag = "w5",
        .title = title,
        .metric = METRIC_THROUGHPUT,
        .reps = reps,
        .expect = obj_bytes * (unsigned long long)nobjects,
        .c = all,
        .n = 2,
    };
    size_t threads = 0, rss0 = 0, rss_idle = 0, rss_full = 0, peak = 0, ok = 0, v;
    double per_obj;
    FILE *f;
    char cmd[200];

    snprintf(title, sizeof title,
             "5. Scale: %ld children alive at once, 1 MiB each, every byte checked", nobjects);
    run_table(&t);

    /* The memory figures come from a fresh process, so that nothing the
     * tables above allocated is counted. */
    snprintf(nb, sizeof nb, "%ld", nobjects);
    snprintf(bb, sizeof bb, "%llu", obj_bytes);
    snprintf(cmd, sizeof cmd, "/proc/%d/exe --scale-mem %s %s", (int)getpid(), nb, bb);
    f = popen(cmd, "r");
    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, "threads %zu", &v) == 1)
            threads = v;
        else if (sscanf(line, "rss0 %zu", &v) == 1)
            rss0 = v;
        else if (sscanf(line, "rss_idle %zu", &v) == 1)
            rss_idle = v;
        else if (sscanf(line, "rss_full %zu", &v) == 1)
            rss_full = v;
        else if (sscanf(line, "peak %zu", &v) == 1)
            peak = v;
        else if (sscanf(line, "ok %zu", &v) == 1)
            ok = v;
    }
    if (!f || pclose(f) != 0 || !rss_full) {
        fprintf(stderr, "bench: --scale-mem failed\n");
        failed = true;
        return;
    }
    per_obj = ((double)rss_full - (double)rss0 - (double)(obj_bytes * (unsigned long long)nobjects)) /
              (double)nobjects;
    bench_say("\n| %ld live objects (fresh process) | measured | target |\n|---|---:|---:|\n",
              nobjects);
    bench_say("| threads per object (a stdout reader; a stderr reader with capturestderr and a "
              "stdin writer once tochild is written: at most 3) | %.2f | <= 3 |\n",
              (double)threads / (double)nobjects);
    bench_say("| RSS per object, alive and idle (nothing buffered) | %.0f KiB | - |\n",
              ((double)rss_idle - (double)rss0) / (double)nobjects / 1024);
    bench_say("| RSS per object beyond the %llu KiB it buffers | %.0f KiB | <= 256 KiB |\n",
              obj_bytes / 1024, per_obj / 1024);
    bench_say("| peak RSS of the process, per object, all bytes included | %.0f KiB | - |\n",
              ((double)peak - (double)rss0) / (double)nobjects / 1024);
    bench_say("| every byte correct | %s | yes |\n", ok ? "yes" : "NO");
    if (!ok)
        failed = true;
}

/* ---- 5x: ten thousand live objects ---------------------------------------- */

/* Raises RLIMIT_NOFILE as far as this process may: the hard limit too when
 * privileged (up to fs.nr_open), else the soft limit to the hard one.  The
 * limit in force afterwards. */
static unsigned long long raise_nofile(void)
{
    struct rlimit rl;
    unsigned long long nr_open = 0;
    FILE *f = fopen("/proc/sys/fs/nr_open", "r");

    if (f) {
        if (fscanf(f, "%llu", &nr_open) != 1)
            nr_open = 0;
        fclose(f);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (nr_open > rl.rlim_max) {
        struct rlimit want = {(rlim_t)nr_open, (rlim_t)nr_open};

        if (setrlimit(RLIMIT_NOFILE, &want) == 0)
            return nr_open;
    }
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    return (unsigned long long)rl.rlim_cur;
}

/* Fresh process: N live objects at once (children that wait for EOF on
 * stdin, then write BYTES each), every byte checked; the figures go to
 * stdout as "key value" lines. */
static int many_mode(long n, unsigned long long bytes)
{
    popen2_proc **p = calloc((size_t)n, sizeof *p);
    char nb[32], *argv[] = {(char *)bench_writer, "-w", nb, NULL};
    unsigned long long limit = raise_nofile(), got = 0, want;
    size_t rss0, rss_idle, rss_full, rss_after;
    int threads0, fds0, threads_live, fds_live, threads_after, fds_after, err = 0;
    double t0, t_create, t_free;
    bool ok = true;
    long i, made;

    if (!p)
        return 1;
    obj_bytes = bytes;
    snprintf(nb, sizeof nb, "%llu", bytes);
    rss0 = bench_rss();
    threads0 = bench_threads();
    fds0 = count_fds();
    t0 = bench_now();
    for (made = 0; made < n; made++) {
        p[made] = popen2_Popen3v(argv, 0, -1);
        if (!p[made]) {
            err = errno; /* a system limit: stop here, cleanly */
            break;
        }
    }
    t_create = bench_now() - t0;
    threads_live = bench_threads() - threads0;
    fds_live = count_fds() - fds0;
    rss_idle = bench_rss();
    for (i = 0; i < made; i++)
        fclose(popen2_tochild(p[i]));
    for (i = 0; i < made; i++)
        ok = popen2_wait(p[i]) == 0 && ok;
    /* Every reader at EOF: all bytes are in the rings. */
    t0 = bench_now();
    while (bench_threads() > threads0 + 64 && bench_now() - t0 < 120)
        usleep(10000);
    rss_full = bench_rss();
    t0 = bench_now();
    for (i = 0; i < made; i++) {
        ok = read_checked(p[i], &got) && ok;
        popen2_free(p[i]);
    }
    popen2_cleanup();
    t_free = bench_now() - t0;
    ok = ok && popen2_active() == 0;
    /* Parked library threads end after their idle time. */
    t0 = bench_now();
    while ((bench_threads() > threads0 || count_fds() > fds0) && bench_now() - t0 < 30)
        usleep(10000);
    threads_after = bench_threads() - threads0;
    fds_after = count_fds() - fds0;
    rss_after = bench_rss();
    want = bytes * (unsigned long long)made;
    printf("nofile %llu\nmade %ld\nerrno %d\ncreate_s %f\nfree_s %f\nthreads %d\nfds %d\n"
           "rss0 %zu\nrss_idle %zu\nrss_full %zu\nrss_after %zu\nthreads_after %d\n"
           "fds_after %d\nok %d\n",
           limit, made, err, t_create, t_free, threads_live, fds_live, rss0, rss_idle, rss_full,
           rss_after, threads_after, fds_after, ok && got == want);
    free(p);
    return 0;
}

/* Microseconds per create + wait + free of /bin/true, over k of them; -1
 * when a create fails. */
static double true_us(long k)
{
    char *true_argv[] = {"/bin/true", NULL};
    double t0 = bench_now();
    popen2_proc *p;
    long i;

    for (i = 0; i < k; i++) {
        p = popen2_Popen3v(true_argv, 0, -1);
        if (!p)
            return -1;
        popen2_wait(p);
        popen2_free(p);
    }
    return (bench_now() - t0) / (double)k * 1e6;
}

/* Fresh process: what a create costs while `n` freed objects' children still
 * run (Python's _cleanup runs at every create and walks that list).  Prints
 * "empty_us X" and "busy_us Y": create + wait + free of /bin/true, in
 * microseconds, with the active list empty and then n long. */
static int active_mode(long n)
{
    char *sleep_argv[] = {"/bin/sleep", "60", NULL};
    pid_t *pids = calloc((size_t)n, sizeof *pids);
    double t0, empty_us, busy_us;
    popen2_proc *p;
    long i, k = 200;

    if (!pids)
        return 1;
    raise_nofile();
    empty_us = true_us(k);
    for (i = 0; i < n; i++) {
        p = popen2_Popen3v(sleep_argv, 0, -1);
        if (!p) {
            n = i;
            break;
        }
        pids[i] = popen2_pid(p);
        popen2_free(p); /* still running: onto the active list */
    }
    busy_us = true_us(k);
    if (empty_us < 0 || busy_us < 0)
        return 1;
    printf("listed %zu\nempty_us %f\nbusy_us %f\n", popen2_active(), empty_us, busy_us);
    for (i = 0; i < n; i++)
        kill(pids[i], SIGKILL);
    t0 = bench_now();
    while (popen2_active() > 0 && bench_now() - t0 < 30) {
        popen2_cleanup();
        usleep(10000);
    }
    free(pids);
    return popen2_active() == 0 ? 0 : 1;
}

static void w5x(void)
{
    long n = scale == 1 ? 10000 : 1000;
    unsigned long long bytes = 64 * 1024;
    char cmd[200], line[200], key[32];
    double v, create_s = 0, free_s = 0;
    double nofile = 0, made = 0, err = 0, threads = 0, fds = 0, rss0 = 0, rss_idle = 0;
    double rss_full = 0, rss_after = 0, threads_after = -1, fds_after = -1, ok = 0;
    FILE *f;

    fprintf(stderr, "bench: 5x. %ld live objects\n", n);
    snprintf(cmd, sizeof cmd, "/proc/%d/exe --many %ld %llu", (int)getpid(), n, bytes);
    f = popen(cmd, "r");
    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, "%31s %lf", key, &v) != 2)
            continue;
#define K(name)                                                                                    \
    if (strcmp(key, #name) == 0)                                                                   \
        name = v;
        K(nofile) K(made) K(err) K(threads) K(fds) K(rss0) K(rss_idle) K(rss_full) K(rss_after)
        K(threads_after) K(fds_after) K(ok)
#undef K
        if (strcmp(key, "create_s") == 0)
            create_s = v;
        if (strcmp(key, "free_s") == 0)
            free_s = v;
        if (strcmp(key, "errno") == 0)
            err = v;
    }
    if (!f || pclose(f) != 0 || made <= 0) {
        fprintf(stderr, "bench: --many failed\n");
        failed = true;
        return;
    }
    bench_say("\n### 5x. Scale: %ld children alive at once, %llu KiB each, every byte checked\n\n",
              n, bytes / 1024);
    bench_say("RLIMIT_NOFILE raised to %.0f for the run.%s\n\n", nofile,
              made < n ? " Creation stopped early (see the errno row)." : "");
    bench_say("| figure | measured | target |\n|---|---:|---:|\n");
    bench_say("| objects created | %.0f of %ld | all, or a clean errno at a system limit |\n",
              made, n);
    if (made < n)
        bench_say("| errno that stopped creation | %s | documented |\n", strerror((int)err));
    bench_say("| creation rate | %.0f objects/s | - |\n", made / create_s);
    bench_say("| threads per live object | %.2f | <= 3 |\n", threads / made);
    bench_say("| descriptors per live object | %.2f | - |\n", fds / made);
    bench_say("| RSS per object, alive and idle | %.1f KiB | - |\n",
              (rss_idle - rss0) / made / 1024);
    bench_say("| RSS per object beyond the %llu KiB it buffers | %.1f KiB | <= 64 KiB |\n",
              bytes / 1024, (rss_full - rss0 - (double)bytes * made) / made / 1024);
    bench_say("| time to read, free and reap them all | %.2f s | - |\n", free_s);
    bench_say("| after cleanup: threads, descriptors above the start | %.0f, %.0f | 0, 0 |\n",
              threads_after, fds_after);
    bench_say("| after cleanup: RSS above the start | %.1f MiB | - |\n",
              (rss_after - rss0) / (1024.0 * 1024.0));
    bench_say("| every byte correct | %s | yes |\n", ok ? "yes" : "NO");
    if (!ok || threads_after != 0 || fds_after != 0)
        failed = true;

    /* The active list's cost, in another fresh process. */
    snprintf(cmd, sizeof cmd, "/proc/%d/exe --active %ld", (int)getpid(), n / 5);
    f = popen(cmd, "r");
    create_s = free_s = made = 0;
    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, "%31s %lf", key, &v) != 2)
            continue;
        if (strcmp(key, "empty_us") == 0)
            create_s = v;
        else if (strcmp(key, "busy_us") == 0)
            free_s = v;
        else if (strcmp(key, "listed") == 0)
            made = v;
    }
    if (!f || pclose(f) != 0 || create_s <= 0) {
        fprintf(stderr, "bench: --active failed\n");
        failed = true;
        return;
    }
    bench_say("| create + wait + free of /bin/true, active list empty | %.0f us | - |\n", create_s);
    bench_say("| the same with %.0f freed children still running on the list | %.0f us (%.2fx) "
              "| - |\n", made, free_s, free_s / create_s);
}

/* ---- 6: streaming memory ------------------------------------------------ */

static int stream_mode(const char *kind, unsigned long long bytes)
{
    struct run r = {.out_bytes = bytes};
    int rc = strcmp(kind, "popen2") == 0     ? c_p2_fread(&r)
             : strcmp(kind, "readinto") == 0 ? c_p2_readinto(&r)
                                              : c_read_loop(&r);

    if (rc < 0 || r.got != bytes)
        return 1;
    printf("%f %llu %zu\n", r.secs, r.got, bench_peak_rss());
    return 0;
}

static void w6(void)
{
    static const char *kinds[] = {"read", "popen2", "readinto"};
    static const char *names[] = {"read() loop, 1 MiB pipe (baseline)", "libpopen2 fread 1 MiB",
                                  "libpopen2 popen2_readinto 1 MiB"};
    double secs[3][16] = {{0}}, peak[3][16] = {{0}}, ms, mp, m0 = 0;
    unsigned long long bytes = 4 * GiB / scale, got;
    size_t pk;
    char cmd[300];
    int k, i, j;

    fprintf(stderr, "bench: 6. streaming memory (%d rounds)\n", reps);
    for (k = 0; k < reps; k++) {
        for (i = 0; i < 3; i++) {
            FILE *f;
            double s = 0;

            snprintf(cmd, sizeof cmd, "/proc/%d/exe --stream %s %llu", (int)getpid(), kinds[i],
                     bytes);
            f = popen(cmd, "r");
            if (!f || fscanf(f, "%lf %llu %zu", &s, &got, &pk) != 3 || pclose(f) != 0) {
                fprintf(stderr, "bench: --stream %s failed\n", kinds[i]);
                failed = true;
                return;
            }
            secs[i][k] = (double)bytes / s / 1e6;
            peak[i][k] = (double)pk / (double)MiB;
            fprintf(stderr, "  %-34s %10.1f MB/s, peak RSS %.1f MiB\n", names[i], secs[i][k],
                    peak[i][k]);
        }
    }
    bench_say("\n### 6. Streaming memory: 4 GiB through stdout, read as it arrives\n\n"
              "| contender | MB/s (median of %d) | peak RSS, MiB (median) | peak RSS, MiB (max) "
              "| target |\n|---|---:|---:|---:|---:|\n",
              reps);
    for (i = 0; i < 3; i++) {
        double sorted_s[16], sorted_p[16], maxp = 0;

        for (j = 0; j < reps; j++) {
            sorted_s[j] = secs[i][j];
            sorted_p[j] = peak[i][j];
            if (peak[i][j] > maxp)
                maxp = peak[i][j];
        }
        /* insertion sort: reps is small */
        for (j = 1; j < reps; j++)
            for (k = j; k > 0 && sorted_s[k] < sorted_s[k - 1]; k--) {
                double x = sorted_s[k];
                sorted_s[k] = sorted_s[k - 1];
                sorted_s[k - 1] = x;
            }
        for (j = 1; j < reps; j++)
            for (k = j; k > 0 && sorted_p[k] < sorted_p[k - 1]; k--) {
                double x = sorted_p[k];
                sorted_p[k] = sorted_p[k - 1];
                sorted_p[k - 1] = x;
            }
        ms = sorted_s[reps / 2];
        mp = sorted_p[reps / 2];
        if (i == 0)
            m0 = ms;
        bench_say("| %s | %.0f (%.2fx) | %.1f | %.1f | %s |\n", names[i], ms, ms / m0, mp, maxp,
                  i ? "<= 16 MiB" : "-");
        bench_dat("w6", i == 0, names[i], mp);
    }
}

/* ---- main --------------------------------------------------------------- */

static void header(void)
{
    struct utsname u;
    char model[256] = "unknown", line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");
    time_t now = time(NULL);
    double load[3] = {0};

    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "model name : %255[^\n]", model) == 1)
            break;
    if (f)
        fclose(f);
    uname(&u);
    getloadavg(load, 3);
    strftime(line, sizeof line, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    bench_say("## libpopen2 benchmark, %s\n\n"
              "Machine: %s, %ld CPUs, Linux %s, glibc %s; load average at start %.2f.\n"
              "Sizes: %s; %d interleaved rounds per table, medians.\n",
              line, model, sysconf(_SC_NPROCESSORS_ONLN), u.release, gnu_get_libc_version(),
              load[0], scale == 1 ? "full" : "BENCH_QUICK (1/16)", reps);
}

static bool wanted(int argc, char **argv, int first, const char *name)
{
    int i;

    if (first >= argc)
        return true;
    for (i = first; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return true;
    return false;
}

int main(int argc, char **argv)
{
    struct rlimit rl;
    const char *e;
    int first = 1;

    e = getenv("BENCH_QUICK");
    if (e && *e && strcmp(e, "0"))
        scale = 16;
    e = getenv("BENCH_REPS");
    if (e && atoi(e) > 0)
        reps = atoi(e) > 16 ? 16 : atoi(e);
    nobjects = scale == 1 ? 1000 : 200;
    e = getenv("BENCH_PYTHON");
    bench_python = e ? (*e ? e : NULL) : BENCH_PYTHON3;
    if (bench_python && !*bench_python)
        bench_python = NULL;
    expect_buf = malloc(BENCH_CHUNK + BENCH_PERIOD);
    if (!expect_buf)
        return 1;
    bench_pattern_fill(expect_buf, BENCH_CHUNK + BENCH_PERIOD);

    /* 1000 objects hold 3000 descriptors; the soft limit is often 1024. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    if (argc == 4 && strcmp(argv[1], "--scale-mem") == 0) {
        nobjects = atol(argv[2]);
        obj_bytes = strtoull(argv[3], NULL, 0);
        return scale_mem();
    }
    if (argc == 3 && strcmp(argv[1], "--active") == 0)
        return active_mode(atol(argv[2]));
    if (argc == 4 && strcmp(argv[1], "--many") == 0)
        return many_mode(atol(argv[2]), strtoull(argv[3], NULL, 0));
    if (argc == 4 && strcmp(argv[1], "--stream") == 0)
        return stream_mode(argv[2], strtoull(argv[3], NULL, 0));
    if (argc >= 3 && strcmp(argv[1], "--heap") == 0) {
        size_t n;

        heap_mb = atol(argv[2]);
        n = (size_t)heap_mb << 20;
        if (n) {
            bench_heap = malloc(n);
            if (!bench_heap)
                return 1;
            memset(bench_heap, 1, n); /* resident, as a big parent's heap is */
            fprintf(stderr, "bench: parent heap %ld MiB, RSS now %zu MiB\n", heap_mb,
                    bench_rss() >> 20);
        }
        first = 3;
        if (wanted(argc, argv, first, "4"))
            w4();
        return failed ? 1 : 0;
    }
    header();

    if (wanted(argc, argv, first, "1"))
        w1(false);
    if (wanted(argc, argv, first, "1p"))
        w1(true);
    if (wanted(argc, argv, first, "2"))
        w2();
    if (wanted(argc, argv, first, "3"))
        w3();
    if (wanted(argc, argv, first, "4"))
        w4_fresh(0);
    if (wanted(argc, argv, first, "4big"))
        w4_fresh(2048 / scale);
    if (wanted(argc, argv, first, "4sh"))
        w4sh();
    if (wanted(argc, argv, first, "5"))
        w5();
    if (wanted(argc, argv, first, "5x"))
        w5x();
    if (wanted(argc, argv, first, "6"))
        w6();
    if (wanted(argc, argv, first, "7"))
        w7();
    return failed ? 1 : 0;
}
