/* tee-through: stream a file through a filter command.
 *
 *   tee-through [-s] [-l BYTES] [-o FILE] INPUT_FILE -- FILTER ARGS...
 *     e.g.  tee-through big.bin -- gzip -c > big.bin.gz
 *
 * The file goes to the filter's stdin through tochild while the filter's
 * stdout comes back through fromchild, at the same time: this thread writes,
 * a second thread reads and copies to stdout (or FILE).  With -s everything
 * is written first and read back only afterwards: the order that hangs with
 * plain pipes as soon as the filter's output fills its pipe, and that
 * libpopen2 makes safe.  Bytes in and out, the time and the peak RSS go to
 * stderr.
 *
 * Input is limited by default (-l, 1 MiB): writes to tochild wait while that
 * much is queued for the filter (popen2_attr_set_limit with POPEN2_BLOCK on
 * stream 0), so a file read faster than the filter takes it never piles up
 * in memory, and large writes go to the pipe without a copy.  -l 0 restores
 * the contract's "writes never block": the whole input may then be queued.
 * The output is never limited, so the blocked writer cannot deadlock.
 *
 * FILTER runs without a shell; its stderr is ours.  Exit status: the
 * filter's exit code (128 + N when it died of signal N), 127 when it is not
 * found, 126 when it cannot be executed, 1 on an error of tee-through
 * itself, 2 on a usage error.
 */
#define _XOPEN_SOURCE 700

#include <popen2.h>

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#define EXIT_USAGE 2
#define CHUNK (256 * 1024)
#define DEFAULT_LIMIT (1024 * 1024)

struct options {
    bool sequential;
    size_t input_limit;   /* -l: bytes queued for the filter at most, 0 none */
    const char *out_path; /* NULL: stdout */
    const char *in_path;
    char **argv;          /* the filter, NULL-terminated */
};

/* One direction of the copy: from `src` to `dst` until EOF. */
struct copy {
    FILE *src;
    FILE *dst;
    const char *src_name;
    const char *dst_name;
    uint64_t bytes;
    bool read_failed;  /* err is a read error of src ... */
    bool write_failed; /* ... or a write error of dst */
    int err;
};

static void usage(FILE *f)
{
    fputs("usage: tee-through [-s] [-l BYTES] [-o FILE] INPUT_FILE -- FILTER ARGS...\n"
          "  Streams INPUT_FILE through FILTER (no shell), writing its output to\n"
          "  stdout or FILE; bytes in and out and the time go to stderr.\n"
          "  -s, --sequential  write all input first, then read all output\n"
          "  -l, --input-limit BYTES  queue at most BYTES of input for FILTER\n"
          "                    (writes wait meanwhile; default 1048576, 0: no limit)\n"
          "  -o, --output FILE write the filter's output to FILE\n"
          "  -h, --help        show this help\n"
          "Exit status: FILTER's (128+N if killed by signal N; 127 not found, 126 not\n"
          "executable), 1 on an error of tee-through, 2 on a usage error.\n",
          f);
}

/* 0 when o is ready to run, EXIT_USAGE after a message, -1 after --help. */
static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option long_options[] = {
        {"sequential", no_argument, NULL, 's'},
        {"input-limit", required_argument, NULL, 'l'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    unsigned long long v;
    char *end;
    int c;

    memset(o, 0, sizeof *o);
    o->input_limit = DEFAULT_LIMIT;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:sl:o:h", long_options, NULL)) != -1) {
        switch (c) {
        case 's':
            o->sequential = true;
            break;
        case 'l':
            errno = 0;
            v = strtoull(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] == '-' || v > SIZE_MAX) {
                fprintf(stderr, "tee-through: bad --input-limit '%s': a byte count\n", optarg);
                return EXIT_USAGE;
            }
            o->input_limit = (size_t)v;
            break;
        case 'o':
            o->out_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return -1;
        case ':':
            fprintf(stderr, "tee-through: option -%c needs %s\n", optopt,
                    optopt == 'l' ? "a byte count" : "a FILE");
            usage(stderr);
            return EXIT_USAGE;
        default:
            if (optopt)
                fprintf(stderr, "tee-through: unknown option -%c\n", optopt);
            else
                fprintf(stderr, "tee-through: unknown option %s\n", argv[optind - 1]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    /* INPUT_FILE, then "--" (optional when FILTER does not start with '-'),
     * then the filter. */
    if (optind < argc)
        o->in_path = argv[optind++];
    if (optind < argc && strcmp(argv[optind], "--") == 0)
        optind++;
    if (!o->in_path || optind >= argc) {
        fputs(o->in_path ? "tee-through: no filter command given\n"
                         : "tee-through: no input file given\n",
              stderr);
        usage(stderr);
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

/* Copies c->src to c->dst until EOF or an error, which it records. */
static void copy_run(struct copy *c)
{
    char *buf = malloc(CHUNK);
    size_t k;

    if (!buf) {
        c->err = errno;
        c->read_failed = true;
        return;
    }
    while ((k = fread(buf, 1, CHUNK, c->src)) > 0) {
        if (fwrite(buf, 1, k, c->dst) != k) {
            c->err = errno;
            c->write_failed = true;
            goto finish;
        }
        c->bytes += k;
    }
    if (ferror(c->src)) {
        c->err = errno;
        c->read_failed = true;
    }
finish:
    free(buf);
}

static void *copy_thread(void *arg)
{
    copy_run(arg);
    return NULL;
}

/* 0, or -1 after printing what failed. */
static int copy_report(const struct copy *c)
{
    if (c->read_failed)
        fprintf(stderr, "tee-through: reading %s: %s\n", c->src_name, strerror(c->err));
    else if (c->write_failed)
        fprintf(stderr, "tee-through: writing %s: %s\n", c->dst_name, strerror(c->err));
    return c->read_failed || c->write_failed ? -1 : 0;
}

static int exit_code_of(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 1;
}

static double mib_per_s(uint64_t bytes, double secs)
{
    return secs > 0 ? (double)bytes / (1024.0 * 1024.0) / secs : 0.0;
}

int main(int argc, char **argv)
{
    struct options o;
    struct copy in = {0}, out = {0};
    popen2_proc *p = NULL;
    popen2_attr *a = NULL;
    FILE *src = NULL, *dst = stdout, *tochild;
    pthread_t reader;
    bool filter_stopped = false;
    double t0, t1;
    int status = -1, rc, r;
    struct rusage ru;

    rc = parse_options(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;

    rc = 1;
    src = fopen(o.in_path, "rb");
    if (!src) {
        fprintf(stderr, "tee-through: %s: %s\n", o.in_path, strerror(errno));
        goto finish;
    }
    if (o.out_path) {
        dst = fopen(o.out_path, "wb");
        if (!dst) {
            fprintf(stderr, "tee-through: %s: %s\n", o.out_path, strerror(errno));
            goto finish;
        }
    }

    a = popen2_attr_new();
    if (!a || (o.input_limit && popen2_attr_set_limit(a, 0, o.input_limit, POPEN2_BLOCK) < 0)) {
        fprintf(stderr, "tee-through: %s\n", strerror(errno));
        goto finish;
    }
    t0 = now_s();
    p = popen2_spawnv(o.argv, a); /* Popen3's shape: stdin and stdout piped, stderr ours */
    if (!p) {
        int e = errno;

        fprintf(stderr, "tee-through: cannot run %s: %s\n", o.argv[0], strerror(e));
        rc = e == ENOENT ? 127 : e == EACCES || e == ENOEXEC ? 126 : 1;
        goto finish;
    }
    tochild = popen2_tochild(p);
    in = (struct copy){.src = src, .dst = tochild, .src_name = o.in_path,
                       .dst_name = "the filter's stdin"};
    out = (struct copy){.src = popen2_fromchild(p), .dst = dst, .src_name = "the filter's stdout",
                        .dst_name = o.out_path ? o.out_path : "stdout"};

    if (!o.sequential) {
        r = pthread_create(&reader, NULL, copy_thread, &out);
        if (r != 0) {
            fprintf(stderr, "tee-through: cannot start a thread: %s\n", strerror(r));
            goto finish;
        }
    }
    copy_run(&in);
    /* fclose flushes the last piece and gives the filter EOF once the
     * library has delivered everything before it. */
    if (fclose(tochild) != 0 && !in.write_failed && !in.read_failed) {
        in.err = errno;
        in.write_failed = true;
    }
    /* EPIPE: the filter exited or closed its stdin before taking all the
     * input (like `head`).  That is the filter's choice, not our error. */
    if (in.write_failed && in.err == EPIPE) {
        filter_stopped = true;
        in.write_failed = false;
    }
    if (o.sequential)
        copy_run(&out);
    else
        pthread_join(reader, NULL);
    if (fflush(dst) != 0 && !out.write_failed) {
        out.err = errno;
        out.write_failed = true;
    }
    status = popen2_wait(p);
    t1 = now_s();
    if (status == -1) {
        fprintf(stderr, "tee-through: waiting for %s: %s\n", o.argv[0], strerror(errno));
        goto finish;
    }

    fprintf(stderr, "tee-through: in  %llu bytes%s\n", (unsigned long long)in.bytes,
            filter_stopped ? " (the filter stopped reading before the end)" : "");
    fprintf(stderr, "tee-through: out %llu bytes\n", (unsigned long long)out.bytes);
    fprintf(stderr, "tee-through: %.3f s, %.1f MiB/s in, %.1f MiB/s out (%s)\n", t1 - t0,
            mib_per_s(in.bytes, t1 - t0), mib_per_s(out.bytes, t1 - t0),
            o.sequential ? "all input written before any output was read"
                         : "written and read at the same time");
    if (WIFEXITED(status))
        fprintf(stderr, "tee-through: %s exited with code %d\n", o.argv[0], WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        fprintf(stderr, "tee-through: %s killed by signal %d (%s)\n", o.argv[0],
                WTERMSIG(status), strsignal(WTERMSIG(status)));
    /* Without an input limit, input read faster than the filter takes it
     * waits in the library's ring: this shows what that cost. */
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        fprintf(stderr, "tee-through: peak RSS %ld MiB (input limit %zu bytes)\n",
                ru.ru_maxrss / 1024, o.input_limit);

    rc = exit_code_of(status);
    if (copy_report(&in) < 0 || copy_report(&out) < 0)
        rc = 1;
finish:
    /* The reader thread is joined by now: no stream is in use. */
    popen2_free(p);
    popen2_attr_free(a);
    if (src)
        fclose(src);
    if (dst && dst != stdout && fclose(dst) != 0 && rc == 0) {
        fprintf(stderr, "tee-through: writing %s: %s\n", o.out_path, strerror(errno));
        rc = 1;
    }
    return rc;
}
