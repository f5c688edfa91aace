/* capture: run a command and capture its stdout and stderr separately.
 *
 *   capture [-m] [-o FILE] [-e FILE] -- CMD ARGS...
 *     -m, --merge        one stream: stdout and stderr in the order written (Popen4)
 *     -o, --stdout FILE  save the captured stdout (with -m: both) to FILE
 *     -e, --stderr FILE  save the captured stderr to FILE
 *
 * CMD runs without a shell (popen2_Popen3v / popen2_Popen4v), with an empty
 * stdin.  capture reads all of stdout first and only then stderr: with plain
 * pipes a command that writes more than a pipe's worth to stderr would hang
 * there; libpopen2's reader threads keep draining both meanwhile.  Then it
 * prints the sizes, the exit status and the throughput.
 *
 * Exit status: the command's exit code (128 + N when it died of signal N),
 * 127 when CMD is not found, 126 when it cannot be executed, 1 on any other
 * error of capture itself, 2 on a usage error.
 */
#define _XOPEN_SOURCE 700

#include <popen2.h>

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#define EXIT_USAGE 2
#define READ_CHUNK (64 * 1024)

/* Everything the command line says.  A new option is a field here, an entry
 * in long_options and a case in parse_options. */
struct options {
    bool merge;
    const char *out_path;
    const char *err_path;
    char **argv; /* the command, NULL-terminated */
};

/* A captured stream: bytes in a growing buffer. */
struct capture {
    char *data;
    size_t len;
    size_t cap;
};

static void usage(FILE *f)
{
    fputs("usage: capture [-m] [-o FILE] [-e FILE] -- CMD ARGS...\n"
          "  Runs CMD (no shell, empty stdin), captures its stdout and stderr, and\n"
          "  prints their sizes, its exit status and the throughput.\n"
          "  -m, --merge        capture stdout and stderr as one stream, in order\n"
          "  -o, --stdout FILE  save the captured stdout (with -m: both) to FILE\n"
          "  -e, --stderr FILE  save the captured stderr to FILE\n"
          "  -h, --help         show this help\n"
          "Exit status: CMD's (128+N if killed by signal N; 127 not found, 126 not\n"
          "executable), 1 on an error of capture, 2 on a usage error.\n",
          f);
}

/* 0 when o is ready to run, EXIT_USAGE after a message, -1 after --help. */
static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option long_options[] = {
        {"merge", no_argument, NULL, 'm'},
        {"stdout", required_argument, NULL, 'o'},
        {"stderr", required_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    memset(o, 0, sizeof *o);
    opterr = 0; /* our own messages, named "capture" rather than argv[0] */
    /* "+": stop at the first non-option, so CMD's own options stay its own
     * even without "--"; ":": report a missing FILE apart from a bad option. */
    while ((c = getopt_long(argc, argv, "+:mo:e:h", long_options, NULL)) != -1) {
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
        case 'h':
            usage(stdout);
            return -1;
        case ':':
            fprintf(stderr, "capture: option -%c needs a FILE\n", optopt);
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

/* Reads f to EOF into c; 0, or -1 with errno. */
static int capture_read(struct capture *c, FILE *f)
{
    size_t k;
    char *nd;

    for (;;) {
        if (c->cap - c->len < READ_CHUNK) {
            size_t ncap = c->cap ? c->cap * 2 : 2 * READ_CHUNK;

            nd = realloc(c->data, ncap);
            if (!nd)
                return -1;
            c->data = nd;
            c->cap = ncap;
        }
        k = fread(c->data + c->len, 1, c->cap - c->len, f);
        c->len += k;
        if (k == 0)
            return ferror(f) ? -1 : 0;
    }
}

/* Writes c to path; 0, or -1 after a message. */
static int capture_save(const struct capture *c, const char *path)
{
    FILE *f = fopen(path, "wb");

    if (!f) {
        fprintf(stderr, "capture: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fwrite(c->data, 1, c->len, f) != c->len) {
        fprintf(stderr, "capture: writing %s: %s\n", path, strerror(errno));
        fclose(f);
        return -1;
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "capture: writing %s: %s\n", path, strerror(errno));
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

int main(int argc, char **argv)
{
    struct options o;
    struct capture out = {0}, err = {0};
    popen2_proc *p = NULL;
    double t0, t_eof, t_exit;
    int status = -1, rc;
    FILE *in;

    rc = parse_options(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;

    t0 = now_s();
    p = o.merge ? popen2_Popen4v(o.argv, -1) : popen2_Popen3v(o.argv, 1, -1);
    if (!p) {
        int e = errno;

        fprintf(stderr, "capture: cannot run %s: %s\n", o.argv[0], strerror(e));
        return e == ENOENT ? 127 : e == EACCES || e == ENOEXEC ? 126 : 1;
    }
    rc = 1;
    /* The command gets an empty stdin. */
    in = popen2_tochild(p);
    if (in && fclose(in) != 0) {
        fprintf(stderr, "capture: closing the command's stdin: %s\n", strerror(errno));
        goto finish;
    }
    /* stdout to EOF first, then stderr: the order that hangs with plain
     * pipes when the command writes a lot to stderr. */
    if (capture_read(&out, popen2_fromchild(p)) < 0) {
        fprintf(stderr, "capture: reading stdout: %s\n", strerror(errno));
        goto finish;
    }
    if (!o.merge && capture_read(&err, popen2_childerr(p)) < 0) {
        fprintf(stderr, "capture: reading stderr: %s\n", strerror(errno));
        goto finish;
    }
    t_eof = now_s();
    status = popen2_wait(p);
    t_exit = now_s();
    if (status == -1) {
        fprintf(stderr, "capture: waiting for %s: %s\n", o.argv[0], strerror(errno));
        goto finish;
    }

    print_command(o.argv);
    if (o.merge) {
        printf("output:     %zu bytes (stdout and stderr merged)\n", out.len);
    } else {
        printf("stdout:     %zu bytes\n", out.len);
        printf("stderr:     %zu bytes\n", err.len);
    }
    print_status(status);
    printf("time:       %.3f s to EOF, %.3f s to exit\n", t_eof - t0, t_exit - t0);
    printf("throughput: %.1f MiB/s\n",
           t_eof > t0 ? (double)(out.len + err.len) / (1024.0 * 1024.0) / (t_eof - t0) : 0.0);

    rc = exit_code_of(status);
    if (o.out_path) {
        if (capture_save(&out, o.out_path) < 0)
            rc = 1;
        else
            printf("saved:      %s -> %s\n", o.merge ? "output" : "stdout", o.out_path);
    }
    if (o.err_path) {
        if (capture_save(&err, o.err_path) < 0)
            rc = 1;
        else
            printf("saved:      stderr -> %s\n", o.err_path);
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "capture: writing the report: %s\n", strerror(errno));
        rc = 1;
    }
finish:
    /* Never blocks: a command still running after an error is left to the
     * active list, as Python's popen2 does. */
    popen2_free(p);
    free(out.data);
    free(err.data);
    return rc;
}
