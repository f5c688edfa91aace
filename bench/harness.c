/* bench/harness.c: runs a table of contenders and reports it.
 *
 * The machine is shared and its speed drifts (measured: up to 5x with where
 * the scheduler puts the two ends of a pipe), so no figure is compared with
 * one taken at another time: every contender of a table runs in the same
 * process, in rounds A B C A B C ..., and each median is divided by the
 * baseline's median from the same rounds.
 */
#include "config.h"

#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

double bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

size_t bench_rss(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

size_t bench_peak_rss(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (size_t)ru.ru_maxrss * 1024;
}

int bench_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

const char *bench_out_dir(void)
{
    static const char *dir;

    if (!dir) {
        dir = getenv("BENCH_OUT");
        if (!dir || !*dir)
            dir = "bench/out";
        mkdir(dir, 0777);
    }
    return dir;
}

void bench_say(const char *fmt, ...)
{
    static FILE *results;
    va_list ap;

    if (!results) {
        char path[4096];

        snprintf(path, sizeof path, "%s/results.md", bench_out_dir());
        results = fopen(path, "a");
        if (results)
            setvbuf(results, NULL, _IOLBF, 0);
    }
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
    if (results) {
        va_start(ap, fmt);
        vfprintf(results, fmt, ap);
        va_end(ap);
    }
}

void bench_dat(const char *tag, bool first, const char *label, double value)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s.dat", bench_out_dir(), tag);
    f = fopen(path, first ? "w" : "a");
    if (!f)
        return;
    fprintf(f, "\"%s\" %.4f\n", label, value);
    fclose(f);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The figure one run gives: MB/s (10^6 bytes) or microseconds per spawn. */
static double figure(const struct table *t, const struct run *r)
{
    if (t->metric == METRIC_THROUGHPUT)
        return r->secs > 0 ? (double)r->got / r->secs / 1e6 : 0;
    return r->done > 0 ? r->secs / (double)r->done * 1e6 : 0;
}

/* Round k's best plain figure (the highest throughput, the lowest time per
 * spawn); the baseline's when no contender is marked plain.  0 when none of
 * them ran. */
static double best_plain(const struct table *t, const double *v, const bool *bad, int k)
{
    double best = 0;
    bool any_plain = false;
    int i;

    for (i = 0; i < t->n; i++)
        any_plain |= t->c[i].plain;
    for (i = 0; i < t->n; i++) {
        double x = v[i * t->reps + k];

        if (bad[i] || x <= 0 || (any_plain ? !t->c[i].plain : i != 0))
            continue;
        if (best <= 0 || (t->metric == METRIC_THROUGHPUT ? x > best : x < best))
            best = x;
    }
    return best;
}

/* Contender i's run of each round divided by that round's best plain
 * figure: the median, and the smallest and largest of them. */
static void round_ratios(const struct table *t, const double *v, const bool *bad, int i,
                         double *med, double *lo, double *hi)
{
    double r[64];
    int k, n = 0;

    for (k = 0; k < t->reps && n < 64; k++) {
        double ref = best_plain(t, v, bad, k);

        if (ref > 0 && v[i * t->reps + k] > 0)
            r[n++] = v[i * t->reps + k] / ref;
    }
    *med = *lo = *hi = 0;
    if (!n)
        return;
    *med = median(r, n); /* sorts r */
    *lo = r[0];
    *hi = r[n - 1];
}

int bench_table(const struct table *t)
{
    double *v = calloc((size_t)(t->n * t->reps), sizeof *v);
    double *med = calloc((size_t)t->n, sizeof *med);
    bool *bad = calloc((size_t)t->n, sizeof *bad);
    long *done = calloc((size_t)t->n, sizeof *done);
    int i, k, failures = 0, plain = 0;
    bool first_row = true;
    char per_round[100];

    if (!v || !med || !bad || !done) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    fprintf(stderr, "bench: %s (%d rounds)\n", t->title, t->reps);
    for (k = 0; k < t->reps; k++) {
        for (i = 0; i < t->n; i++) {
            struct run r = t->input;

            if (bad[i])
                continue;
            if (t->c[i].fn(&r) < 0) {
                bad[i] = true;
                continue;
            }
            if (t->expect && r.got != t->expect) {
                fprintf(stderr, "bench: %s: got %llu bytes, expected %llu\n", t->c[i].name,
                        r.got, t->expect);
                bad[i] = true;
                continue;
            }
            v[i * t->reps + k] = figure(t, &r);
            done[i] += r.done;
            fprintf(stderr, "  %-34s %10.1f %s\n", t->c[i].name, v[i * t->reps + k],
                    t->metric == METRIC_THROUGHPUT ? "MB/s" : "us/spawn");
        }
    }
    for (i = 0; i < t->n; i++)
        if (!bad[i]) {
            double sorted[64];
            int m = t->reps < 64 ? t->reps : 64;

            /* median() sorts: the rounds' order is kept for the per-round ratios. */
            memcpy(sorted, v + i * t->reps, (size_t)m * sizeof *sorted);
            med[i] = median(sorted, m);
        }

    for (i = 0; i < t->n; i++)
        plain += t->c[i].plain;
    bench_say("\n### %s\n\n", t->title);
    snprintf(per_round, sizeof per_round, "per round, to the %s: median [min-max]",
             plain > 1 ? "round's best plain loop" : "round's baseline");
    if (t->metric == METRIC_THROUGHPUT)
        bench_say("| contender | MB/s (median of %d) | ratio to %s | %s |\n|---|---:|---:|---:|\n",
                  t->reps, t->c[0].name, per_round);
    else
        bench_say("| contender | us per spawn (median of %d) | ratio to %s | %s | spawns |\n"
                  "|---|---:|---:|---:|---:|\n",
                  t->reps, t->c[0].name, per_round);
    for (i = 0; i < t->n; i++) {
        double ratio = med[0] > 0 && !bad[i] ? med[i] / med[0] : 0;
        double rmed, rlo, rhi;

        if (bad[i]) {
            failures++;
            bench_say("| %s | FAILED | - | - |%s\n", t->c[i].name,
                      t->metric == METRIC_LATENCY ? " - |" : "");
            continue;
        }
        round_ratios(t, v, bad, i, &rmed, &rlo, &rhi);
        if (t->metric == METRIC_THROUGHPUT)
            bench_say("| %s | %.0f | %.2fx | %.2fx [%.2f-%.2f] |\n", t->c[i].name, med[i], ratio,
                      rmed, rlo, rhi);
        else
            bench_say("| %s | %.0f | %.2fx | %.2fx [%.2f-%.2f] | %ld |\n", t->c[i].name, med[i],
                      ratio, rmed, rlo, rhi, done[i]);
        bench_dat(t->tag, first_row, t->c[i].name, ratio);
        first_row = false;
    }
    free(v);
    free(med);
    free(bad);
    free(done);
    return failures ? -1 : 0;
}
