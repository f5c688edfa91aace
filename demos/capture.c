/* capture: run a command and capture its stdout and stderr separately.
 *
 *   capture [-m] [-p] [-l] [-o FILE] [-e FILE] [-t MS] [-M SIZE] [-s] -- CMD ARGS...
 *     -m, --merge        one stream: stdout and stderr in the order written (Popen4)
 *     -p, --pty          CMD's stdout is a pseudo-terminal (stderr stays a pipe):
 *                        it line-buffers and colours as for a person
 *     -l, --lines        print each line as it arrives, tagged "[out] " or
 *                        "[err] ", in arrival order (before the report)
 *     -o, --stdout FILE  save the captured stdout (with -m: both) to FILE
 *     -e, --stderr FILE  save the captured stderr to FILE
 *     -t, --timeout MS   kill CMD (and its process group) after MS milliseconds
 *     -M, --max-memory SIZE  hold at most SIZE bytes (K, M, G suffixes) of each
 *                        stream in memory: should capture fall that far
 *                        behind, the stream fails (exit 1) unless --spill
 *     -s, --spill        bytes beyond --max-memory (default 16M) go to a
 *                        temporary file: CMD runs to its end without waiting
 *                        for capture, which reads everything back afterwards
 *
 * CMD runs without a shell (popen2_Popen3v / popen2_Popen4v), with an empty
 * stdin.  capture reads all of stdout first and only then stderr: with plain
 * pipes a command that writes more than a pipe's worth to stderr would hang
 * there; libpopen2's reader threads keep draining both meanwhile.  Then it
 * prints the sizes, the exit status and the throughput.  The -o / -e files
 * are opened before CMD starts (so a bad path fails without running it) and
 * the output is streamed into them as it is read, never held whole in
 * capture's memory; without them the bytes are only counted.
 *
 * With -p (the terminal's "\r\n" line ends are counted as they come) or -l
 * too.  With -t, -M, -s, -p or -l capture uses the library's options beyond Python's
 * popen2 (see run_bounded): CMD leads its own process group, its output is
 * streamed to the -o / -e files (or only counted) instead of kept in
 * capture's memory, and the report adds each stream's memory high-water mark
 * and spilled bytes.
 *
 * Exit status: the command's exit code (128 + N when it died of signal N),
 * 124 when --timeout killed it (as timeout(1) says), 127 when CMD is not
 * found, 126 when it cannot be executed, 1 on any other error of capture
 * itself (an output over --max-memory without --spill included), 2 on a
 * usage error.
 */
#define _XOPEN_SOURCE 700

#include <popen2.h>

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#define EXIT_USAGE 2
#define EXIT_TIMEOUT 124
#define READ_CHUNK (64 * 1024)
#define DEFAULT_SPILL_LIMIT (16u << 20)

/* Everything the command line says.  A new option is a field here, an entry
 * in long_options and a case in parse_options. */
struct options {
    bool merge;
    const char *out_path;
    const char *err_path;
    int timeout_ms;    /* -1: none */
    size_t max_memory; /* 0: unbounded */
    bool spill;
    bool pty;
    bool lines;
    char **argv; /* the command, NULL-terminated */
};

static void usage(FILE *f)
{
    fputs("usage: capture [-m] [-p] [-l] [-o FILE] [-e FILE] [-t MS] [-M SIZE] [-s] -- CMD ARGS...\n"
          "  Runs CMD (no shell, empty stdin), captures its stdout and stderr, and\n"
          "  prints their sizes, its exit status and the throughput.\n"
          "  -m, --merge        capture stdout and stderr as one stream, in order\n"
          "  -p, --pty          CMD's stdout is a terminal (stderr stays a pipe)\n"
          "  -l, --lines        print each line as it comes: [out] ... / [err] ...\n"
          "  -o, --stdout FILE  save the captured stdout (with -m: both) to FILE\n"
          "  -e, --stderr FILE  save the captured stderr to FILE\n"
          "  -t, --timeout MS   kill CMD and its process group after MS milliseconds\n"
          "  -M, --max-memory SIZE  hold at most SIZE bytes (K, M, G) of each stream\n"
          "                     in memory; falling further behind is an error\n"
          "                     unless --spill\n"
          "  -s, --spill        beyond --max-memory (default 16M), use a temporary\n"
          "                     file: CMD never waits for capture\n"
          "  -h, --help         show this help\n"
          "Exit status: CMD's (128+N if killed by signal N; 127 not found, 126 not\n"
          "executable), 124 after --timeout, 1 on an error of capture, 2 on a usage\n"
          "error.\n",
          f);
}

/* A decimal count, with a K, M or G suffix (powers of 1024) if sized; 0 or
 * -1 for anything else. */
static int parse_number(const char *s, bool sized, unsigned long long *out)
{
    unsigned long long n, mult = 1;
    char *end;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    n = strtoull(s, &end, 10);
    if (errno)
        return -1;
    if (sized && *end && !end[1]) {
        switch (*end) {
        case 'k':
        case 'K':
            mult = 1ull << 10;
            end++;
            break;
        case 'm':
        case 'M':
            mult = 1ull << 20;
            end++;
            break;
        case 'g':
        case 'G':
            mult = 1ull << 30;
            end++;
            break;
        }
    }
    if (*end || (mult > 1 && n > (unsigned long long)-1 / mult))
        return -1;
    *out = n * mult;
    return 0;
}

/* 0 when o is ready to run, EXIT_USAGE after a message, -1 after --help. */
static int parse_options(int argc, char **argv, struct options *o)
{
    unsigned long long n;
    static const struct option long_options[] = {
        {"merge", no_argument, NULL, 'm'},
        {"stdout", required_argument, NULL, 'o'},
        {"stderr", required_argument, NULL, 'e'},
        {"timeout", required_argument, NULL, 't'},
        {"max-memory", required_argument, NULL, 'M'},
        {"spill", no_argument, NULL, 's'},
        {"pty", no_argument, NULL, 'p'},
        {"lines", no_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    memset(o, 0, sizeof *o);
    o->timeout_ms = -1;
    opterr = 0; /* our own messages, named "capture" rather than argv[0] */
    /* "+": stop at the first non-option, so CMD's own options stay its own
     * even without "--"; ":": report a missing FILE apart from a bad option. */
    while ((c = getopt_long(argc, argv, "+:mplo:e:t:M:sh", long_options, NULL)) != -1) {
        switch (c) {
        case 'm':
            o->merge = true;
            break;
        case 'o':
            o->out_path = optarg;
            break;
        case 'e':
            o->err_path = optarg;
            break;
        case 't':
            if (parse_number(optarg, false, &n) < 0 || n > 0x7fffffff) {
                fprintf(stderr, "capture: bad --timeout '%s' (milliseconds)\n", optarg);
                return EXIT_USAGE;
            }
            o->timeout_ms = (int)n;
            break;
        case 'M':
            if (parse_number(optarg, true, &n) < 0 || n == 0) {
                fprintf(stderr, "capture: bad --max-memory '%s' (bytes, K, M or G)\n", optarg);
                return EXIT_USAGE;
            }
            o->max_memory = (size_t)n;
            break;
        case 's':
            o->spill = true;
            break;
        case 'p':
        case 'l':
            *(c == 'p' ? &o->pty : &o->lines) = true;
            break;
        case 'h':
            usage(stdout);
            return -1;
        case ':':
            fprintf(stderr, "capture: option -%c needs %s\n", optopt,
                    optopt == 't'   ? "MS"
                    : optopt == 'M' ? "a SIZE"
                                    : "a FILE");
            usage(stderr);
            return EXIT_USAGE;
        default:
            if (optopt) /* a short option; a long one leaves optopt 0 */
                fprintf(stderr, "capture: unknown option -%c\n", optopt);
            else
                fprintf(stderr, "capture: unknown option %s\n", argv[optind - 1]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fputs("capture: no command given\n", stderr);
        usage(stderr);
        return EXIT_USAGE;
    }
    if (o->merge && o->err_path) {
        fputs("capture: -e makes no sense with -m (stderr is merged into stdout)\n", stderr);
        return EXIT_USAGE;
    }
    o->argv = argv + optind;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Copies f to EOF into out (NULL: only counts), adding to *len; 0, or -1
 * after a message naming the stream or the file. */
static int copy_stream(FILE *f, const char *name, FILE *out, const char *out_path, size_t *len)
{
    static char buf[READ_CHUNK];
    size_t k;

    while ((k = fread(buf, 1, sizeof buf, f)) > 0) {
        if (out && fwrite(buf, 1, k, out) != k) {
            fprintf(stderr, "capture: writing %s: %s\n", out_path, strerror(errno));
            return -1;
        }
        *len += k;
    }
    if (ferror(f)) {
        fprintf(stderr, "capture: reading %s: %s\n", name, strerror(errno));
        return -1;
    }
    return 0;
}

/* The shell's convention, so `capture -- CMD; echo $?` reads as usual. */
static int exit_code_of(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 1;
}

static void print_command(char **argv)
{
    fputs("command:    ", stdout);
    for (; *argv; argv++)
        printf("%s%s", *argv, argv[1] ? " " : "\n");
}

static void print_status(int status)
{
    if (WIFEXITED(status))
        printf("exit:       code %d\n", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        printf("exit:       killed by signal %d (%s)\n", WTERMSIG(status),
               strsignal(WTERMSIG(status)));
    else
        printf("exit:       wait status 0x%x\n", (unsigned)status);
}

/* ---- Beyond popen2: --timeout, --max-memory, --spill --------------------- */

/* One output stream of run_bounded: where its bytes go and how many came. */
struct sink {
    FILE *file; /* -o / -e, or NULL: only count */
    size_t len;
    bool end;
    int error; /* errno that ended the stream early (ENOBUFS) */
};

/* Moves what stream `which` has now into s; 0, or -1 after a message. */
static int sink_drain(popen2_proc *p, int which, struct sink *s)
{
    static char buf[READ_CHUNK];
    ssize_t k;

    while (!s->end) {
        k = popen2_read(p, which, buf, sizeof buf);
        if (k > 0) {
            if (s->file && fwrite(buf, 1, (size_t)k, s->file) != (size_t)k) {
                fprintf(stderr, "capture: saving output: %s\n", strerror(errno));
                return -1;
            }
            s->len += (size_t)k;
        } else if (k == 0) {
            s->end = true;
        } else if (errno == EAGAIN) {
            break;
        } else {
            s->error = errno;
            s->end = true;
        }
    }
    return 0;
}

/* --lines: prints the lines both streams have now, tagged, in the order
 * they arrived (popen2_getline_any), and moves them into their sinks.  0,
 * or -1 after a message. */
static int sink_lines(popen2_proc *p, struct sink *sinks)
{
    static char *line;
    static size_t cap;
    struct sink *s;
    ssize_t k;
    int from;

    for (;;) {
        k = popen2_getline_any(p, &from, &line, &cap, 0);
        if (k == 0) {
            sinks[1].end = sinks[2].end = true;
            break;
        }
        if (k < 0 && errno == ETIMEDOUT)
            break;
        s = &sinks[k < 0 ? (from == 2 ? 2 : 1) : from];
        if (k < 0) {
            s->error = errno;
            s->end = true;
            break;
        }
        if (s->file && fwrite(line, 1, (size_t)k, s->file) != (size_t)k) {
            fprintf(stderr, "capture: saving output: %s\n", strerror(errno));
            return -1;
        }
        s->len += (size_t)k;
        /* A terminal ends its lines in "\r\n": print one line end. */
        line[strcspn(line, "\r\n")] = '\0';
        printf("[%s] %s\n", from == 2 ? "err" : "out", line);
    }
    fflush(stdout);
    return 0;
}

static long long now_ms(void)
{
    return (long long)(now_s() * 1000.0);
}

static void print_memory(popen2_proc *p, int which, const char *name)
{
    struct popen2_stream_stats st;

    if (popen2_stream_stats(p, which, &st) == 0)
        printf("memory:     %s held at most %zu bytes, %llu spilled to disk, %llu dropped\n", name,
               st.high_water, st.spilled, st.dropped);
}

/* Opens the -o / -e file; NULL after a message. */
static FILE *open_sink(const char *path)
{
    FILE *f = fopen(path, "wb");

    if (!f)
        fprintf(stderr, "capture: %s: %s\n", path, strerror(errno));
    return f;
}

/* Closes a -o / -e file; 0, or -1 after a message (a late write error). */
static int close_sink(FILE *f, const char *path)
{
    if (f && fclose(f) != 0) {
        fprintf(stderr, "capture: writing %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* CMD as the options say: an empty stdin, stderr piped or merged, stdout
 * on a terminal with --pty, its own process group, each stream bounded by
 * --max-memory.  NULL after a message, with *rc the exit status to give. */
static popen2_proc *spawn_with_options(const struct options *o, size_t limit, int *rc)
{
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;
    int e;

    *rc = 1;
    if (!a) {
        perror("capture");
        return NULL;
    }
    popen2_attr_set_stream(a, 0, POPEN2_DEVNULL);
    popen2_attr_set_stream(a, 2, o->merge ? POPEN2_MERGE : POPEN2_PIPE);
    /* A terminal's child leads a session, so a group of its own too. */
    if (o->pty && popen2_attr_set_stream(a, 1, POPEN2_PTY) < 0) {
        perror("capture: --pty");
        popen2_attr_free(a);
        return NULL;
    }
    popen2_attr_set_group(a, POPEN2_GROUP_NEW);
    if (limit) {
        popen2_attr_set_limit(a, 1, limit, o->spill ? POPEN2_SPILL : POPEN2_FAIL);
        popen2_attr_set_limit(a, 2, limit, o->spill ? POPEN2_SPILL : POPEN2_FAIL);
    }
    p = popen2_spawnv(o->argv, a);
    popen2_attr_free(a);
    if (!p) {
        e = errno;
        fprintf(stderr, "capture: cannot run %s: %s\n", o->argv[0], strerror(e));
        *rc = e == ENOENT ? 127 : e == EACCES || e == ENOEXEC ? 126 : 1;
    }
    return p;
}

/* capture with the library's options: CMD in its own process group (so the
 * timeout's kill reaches whatever it started), the output streamed to the
 * files as it comes, the memory per stream bounded.  With --spill capture
 * first lets CMD run to its end without reading a byte -- its output waits
 * in the spill file -- and only then reads it back. */
static int run_bounded(const struct options *o, FILE *out_file, FILE *err_file)
{
    struct sink sink[3] = {{0}};
    size_t limit = o->max_memory ? o->max_memory : o->spill ? DEFAULT_SPILL_LIMIT : 0;
    long long t0 = now_ms(), deadline = t0 + o->timeout_ms, left;
    double t_start = now_s(), t_eof, t_exit;
    bool timed_out = false;
    popen2_proc *p;
    struct pollfd pfd;
    int status = -1, rc, i;

    p = spawn_with_options(o, limit, &rc);
    if (!p)
        return rc;
    rc = 1;
    sink[2].end = o->merge;
    sink[1].file = out_file;
    sink[2].file = err_file;

    if (o->spill) {
        /* Not a byte read: the command cannot be held up by us. */
        status = popen2_wait_timeout(p, o->timeout_ms);
        if (status == -1 && errno == ETIMEDOUT) {
            timed_out = true;
            popen2_kill(p);
        }
    }
    pfd.fd = popen2_event_fd(p);
    pfd.events = POLLIN;
    if (pfd.fd < 0) {
        perror("capture: event descriptor");
        goto finish;
    }
    for (;;) {
        if (o->lines && sink_lines(p, sink) < 0)
            goto finish;
        for (i = 1; i <= 2 && !o->lines; i++)
            if (sink_drain(p, i, &sink[i]) < 0)
                goto finish;
        if (sink[1].end && sink[2].end)
            break;
        popen2_poll(p); /* an exited child must be reaped, or the fd stays readable */
        left = -1;
        if (o->timeout_ms >= 0 && !timed_out) {
            left = deadline - now_ms();
            if (left <= 0) {
                timed_out = true;
                popen2_kill(p); /* then read on: the group's death brings EOF */
                continue;
            }
        }
        poll(&pfd, 1, (int)left);
    }
    t_eof = now_s();
    status = popen2_wait(p);
    t_exit = now_s();

    print_command(o->argv);
    if (o->merge) {
        printf("output:     %zu bytes (stdout and stderr merged)\n", sink[1].len);
    } else {
        printf("stdout:     %zu bytes\n", sink[1].len);
        printf("stderr:     %zu bytes\n", sink[2].len);
    }
    print_status(status);
    if (timed_out)
        printf("timeout:    killed after %d ms\n", o->timeout_ms);
    printf("time:       %.3f s to EOF, %.3f s to exit\n", t_eof - t_start, t_exit - t_start);
    print_memory(p, 1, o->merge ? "output" : "stdout");
    if (!o->merge)
        print_memory(p, 2, "stderr");
    rc = timed_out ? EXIT_TIMEOUT : exit_code_of(status);
    for (i = 1; i <= 2; i++) {
        if (sink[i].error) {
            fprintf(stderr, "capture: %s: %s%s\n", i == 1 ? "stdout" : "stderr",
                    strerror(sink[i].error),
                    sink[i].error == ENOBUFS ? " (over --max-memory; try --spill)" : "");
            rc = 1;
        }
    }
finish:
    if (fflush(stdout) != 0)
        rc = 1;
    popen2_free(p);
    return rc;
}

int main(int argc, char **argv)
{
    struct options o;
    size_t out_len = 0, err_len = 0;
    popen2_proc *p = NULL;
    FILE *out_file = NULL, *err_file = NULL, *in;
    double t0, t_eof, t_exit;
    int status = -1, rc;

    rc = parse_options(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    /* The files first: a path that cannot be written fails before CMD runs
     * rather than after it did its work. */
    rc = 1;
    if ((o.out_path && !(out_file = open_sink(o.out_path))) ||
        (o.err_path && !(err_file = open_sink(o.err_path))))
        goto finish;
    if (o.timeout_ms >= 0 || o.max_memory || o.spill || o.pty || o.lines) {
        rc = run_bounded(&o, out_file, err_file); /* Beyond popen2 */
        goto finish;
    }

    t0 = now_s();
    p = o.merge ? popen2_Popen4v(o.argv, -1) : popen2_Popen3v(o.argv, 1, -1);
    if (!p) {
        int e = errno;

        fprintf(stderr, "capture: cannot run %s: %s\n", o.argv[0], strerror(e));
        rc = e == ENOENT ? 127 : e == EACCES || e == ENOEXEC ? 126 : 1;
        goto finish;
    }
    /* The command gets an empty stdin. */
    in = popen2_tochild(p);
    if (in && fclose(in) != 0) {
        fprintf(stderr, "capture: closing the command's stdin: %s\n", strerror(errno));
        goto finish;
    }
    /* stdout to EOF first, then stderr: the order that hangs with plain
     * pipes when the command writes a lot to stderr.  Each goes straight
     * to its file (stderr waits in the library's ring meanwhile). */
    if (copy_stream(popen2_fromchild(p), "stdout", out_file, o.out_path, &out_len) < 0)
        goto finish;
    if (!o.merge &&
        copy_stream(popen2_childerr(p), "stderr", err_file, o.err_path, &err_len) < 0)
        goto finish;
    t_eof = now_s();
    status = popen2_wait(p);
    t_exit = now_s();
    if (status == -1) {
        fprintf(stderr, "capture: waiting for %s: %s\n", o.argv[0], strerror(errno));
        goto finish;
    }

    print_command(o.argv);
    if (o.merge) {
        printf("output:     %zu bytes (stdout and stderr merged)\n", out_len);
    } else {
        printf("stdout:     %zu bytes\n", out_len);
        printf("stderr:     %zu bytes\n", err_len);
    }
    print_status(status);
    printf("time:       %.3f s to EOF, %.3f s to exit\n", t_eof - t0, t_exit - t0);
    printf("throughput: %.1f MiB/s\n",
           t_eof > t0 ? (double)(out_len + err_len) / (1024.0 * 1024.0) / (t_eof - t0) : 0.0);

    rc = exit_code_of(status);
    if (o.out_path) {
        if (close_sink(out_file, o.out_path) < 0)
            rc = 1;
        else
            printf("saved:      %s -> %s\n", o.merge ? "output" : "stdout", o.out_path);
        out_file = NULL;
    }
    if (o.err_path) {
        if (close_sink(err_file, o.err_path) < 0)
            rc = 1;
        else
            printf("saved:      stderr -> %s\n", o.err_path);
        err_file = NULL;
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "capture: writing the report: %s\n", strerror(errno));
        rc = 1;
    }
finish:
    /* Never blocks: a command still running after an error is left to the
     * active list, as Python's popen2 does. */
    popen2_free(p);
    if (close_sink(out_file, o.out_path) < 0 || close_sink(err_file, o.err_path) < 0)
        rc = 1;
    return rc;
}
