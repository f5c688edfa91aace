/* bench/bench.h: what the benchmark's files share.
 *
 *   harness.c    timing, interleaved repetitions, medians, tables, chart data
 *   contenders.c every way to talk to a child that we compare: plain POSIX
 *                loops (the baselines), popen(3), fork+exec, libpopen2, and
 *                Python's subprocess.run through bench/subprocess_run.py
 *   glib.c       GLib's g_spawn_sync and GSubprocess (when configure found GLib)
 *   bench.c      the six workloads and main()
 */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>

/* One timed run of one contender.  The workload fills the inputs; the
 * contender fills the outputs, timing only the work itself (never the start
 * of an interpreter, never a check of the bytes). */
struct run {
    /* inputs */
    unsigned long long out_bytes; /* the writer's stdout (capture), or bytes through cat */
    unsigned long long err_bytes; /* the writer's stderr */
    long spawns;                  /* spawn workload: at most this many ... */
    double budget;                /* ... or stop after this many seconds */
    /* outputs */
    double secs;                  /* the timed part */
    unsigned long long got;       /* bytes received, all streams */
    long done;                    /* spawns done */
};

typedef int (*contender_fn)(struct run *r); /* 0, or -1 after printing why */

struct contender {
    const char *name;
    contender_fn fn;
    /* A plain loop a careful programmer writes by hand (no library): each
     * round's best plain figure is what the per-round ratios compare with. */
    bool plain;
};

enum metric {
    METRIC_THROUGHPUT, /* bytes per second: ratio = figure / baseline, higher is better */
    METRIC_LATENCY,    /* seconds per spawn: ratio = figure / baseline, lower is better */
};

/* A table: every contender run `reps` times, interleaved (A B C A B C ...),
 * the median of each, and each median as a ratio to contenders[0]; beside
 * it, each run divided by the best plain loop of the same round, as the
 * median of those per-round ratios and their spread (min-max): on a machine
 * whose speed drifts within a minute, a round's contenders share its
 * conditions, so these ratios are steadier than ratios of medians. */
struct table {
    const char *tag;       /* file name of the chart data, e.g. "w1" */
    const char *title;
    enum metric metric;
    int reps;
    struct run input;      /* copied into every run */
    unsigned long long expect; /* bytes every run must receive (0: not checked) */
    const struct contender *c;
    int n;
};

/* Runs and prints a table (stdout and the results file); 0 if every run
 * succeeded and received what it should. */
int bench_table(const struct table *t);

/* Where results go: $BENCH_OUT or bench/out (created). */
const char *bench_out_dir(void);
/* Appends formatted text to stdout and to results.md in the output dir. */
void bench_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Writes one chart data row "label value" into <tag>.dat (truncated at the
 * table's first row). */
void bench_dat(const char *tag, bool first, const char *label, double value);

double bench_now(void);
/* Resident set size of this process now, and its peak, in bytes. */
size_t bench_rss(void);
size_t bench_peak_rss(void);
int bench_threads(void);

/* Paths fixed at build time or found at run time. */
extern const char *bench_writer; /* bench/writer */
extern const char *bench_python; /* python3, or NULL when absent */
extern const char *bench_pyscript; /* bench/subprocess_run.py */
/* argv of the writer for run r (contenders.c); the numbers live in o and e. */
void bench_writer_argv(const struct run *r, char *argv[4], char o[32], char e[32]);

/* contenders.c */
int c_read_loop(struct run *r);   /* posix_spawn + read() into 1 MiB, max pipe */
int c_read_loop_offpage(struct run *r); /* the same into a buffer 16 bytes past a page */
int c_splice(struct run *r);      /* posix_spawn + splice() to /dev/null, max pipe */
int c_poll_capture(struct run *r); /* poll() over stdout and stderr pipes */
int c_popen_fread(struct run *r); /* popen(3) + fread 1 MiB */
int c_popen_fgets(struct run *r); /* popen(3) + fgets, line by line */
int c_p2_fgets(struct run *r);    /* libpopen2: fgets on fromchild */
int c_p2_getline(struct run *r);  /* libpopen2: popen2_getline, line by line */
int c_p2_getline_pty(struct run *r); /* the same, stdout on a pseudo-terminal (raw) */
int c_p2_fread(struct run *r);    /* libpopen2: fread on fromchild, 1 MiB blocks */
int c_p2_fread_smallbuf(struct run *r); /* the same with a 128 KiB FILE buffer (bufsize) */
int c_p2_both(struct run *r);     /* libpopen2: fromchild to EOF, then childerr */
int c_p2_both_smallbuf(struct run *r); /* the same with 128 KiB FILE buffers (bufsize) */
int c_p2_readinto(struct run *r); /* libpopen2: popen2_readinto 1 MiB, stdout then stderr */
int c_p2_readinto_offpage(struct run *r); /* the same into a buffer 16 bytes past a page */
int c_poll_cat(struct run *r);    /* poll() loop writing to and reading from cat */
int c_p2_cat(struct run *r);      /* libpopen2: fwrite tochild, fread fromchild */
int c_p2_cat_readinto(struct run *r); /* ... popen2_readinto fromchild */
int c_p2_cat_readinto_1ahead(struct run *r); /* ... writing only 1 MiB ahead */
int c_p2_cat_limited(struct run *r);
int c_spawn_posix_sh(struct run *r); /* posix_spawn /bin/sh -c true + waitpid */
int c_spawn_p2_sh(struct run *r);    /* popen2_Popen3("true") + wait + free */ /* ... a thread writes with a 4 MiB stdin BLOCK limit */
int c_py_capture(struct run *r);  /* subprocess.run(capture_output=True) */
int c_py_both(struct run *r);
int c_py_cat(struct run *r);      /* subprocess.run(input=..., capture_output=True) */
int c_spawn_posix(struct run *r); /* posix_spawn + waitpid of /bin/true */
int c_spawn_fork(struct run *r);  /* fork + execv + waitpid */
int c_spawn_popen(struct run *r); /* popen + pclose */
int c_spawn_p2(struct run *r);    /* Popen3v + wait + free */
int c_spawn_p2_passfd(struct run *r); /* spawnv with a passed descriptor (posix_spawn) */
int c_spawn_p2_umask(struct run *r);  /* spawnv with a passed descriptor and a umask (clone) */
int c_spawn_py(struct run *r);    /* subprocess.run(["/bin/true"]) */
int c_spawn_py_pipes(struct run *r); /* ... with stdin and stdout piped, as Popen3v */
int c_spawn_p2_nopipes(struct run *r); /* popen2_spawnv, every stream inherited */
void contenders_set_heap_mb(long mb); /* the Python contender's heap, spawn workload */

/* glib.c (only when HAVE_GLIB) */
int c_glib_sync(struct run *r);   /* g_spawn_sync capturing stdout (and stderr) */
int c_glib_sub(struct run *r);    /* GSubprocess + communicate */
int c_glib_sub_cat(struct run *r);
int c_spawn_glib_sync(struct run *r);
int c_spawn_glib_sub(struct run *r);

/* The bytes cat gets in the round trip, shared by every contender. */
const unsigned char *bench_input(unsigned long long n);

#endif
