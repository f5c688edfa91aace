/* Push a large input through a filter with bounded memory.
 *
 *     bounded-input [MIB [FILTER ARGS...]]   default: 64 MiB through cat
 *
 * Writing to tochild never blocks by default, so a program that writes
 * faster than the child reads queues the difference in memory.  A
 * POPEN2_BLOCK limit on stdin makes writes wait instead while LIMIT bytes
 * are queued; a POPEN2_BLOCK limit on stdout makes the child wait while
 * LIMIT bytes of its output are unread.  Both need the output read while
 * the input is written, so a second thread writes and this one reads.
 *
 * Exits 1 on an error, or when the process's peak memory grew with the
 * bytes moved: after the first 8 MiB it may grow by at most an eighth of
 * the rest (the queues' own growth to their limits is about 1 MiB; without
 * the limits the growth is 35-43 MiB).  Through cat (the default) every
 * byte is checked as well. */
#include <popen2.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

#define LIMIT (1 << 20)  /* at most 1 MiB queued each way */
#define CHUNK (1 << 18)  /* bytes per fwrite / fread */
#define WARMUP (8 << 20) /* bytes read before the memory baseline */
/* ThreadSanitizer keeps four bytes of shadow beside each byte the program
 * touches, so the queues' one-time growth to their limits shows five times
 * over (6-8 MiB), and so would a growth with the bytes moved (82-84 MiB). */
#if defined(__SANITIZE_THREAD__)
#define SHADOW 5
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SHADOW 5
#endif
#endif
#ifndef SHADOW
#define SHADOW 1
#endif
#define PERIOD 251       /* of the input's byte pattern: a prime, so a lost,
                          * repeated or reordered chunk cannot match */

struct job {
    FILE *in;
    unsigned long long total;
    int err;
};

/* Byte i of the input is i % PERIOD: CHUNK bytes from offset off are
 * pattern + off % PERIOD. */
static unsigned char pattern[CHUNK + PERIOD];

static const unsigned char *at(unsigned long long off)
{
    return pattern + off % PERIOD;
}

static long peak_rss_kib(void)
{
    struct rusage ru;

    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

static void *writer(void *arg)
{
    struct job *j = arg;
    unsigned long long off;

    for (off = 0; off < j->total; off += CHUNK) {
        size_t n = j->total - off < CHUNK ? (size_t)(j->total - off) : CHUNK;

        /* Waits while LIMIT bytes are queued for the child. */
        if (fwrite(at(off), 1, n, j->in) != n)
            break;
    }
    j->err = off < j->total ? errno : 0;
    /* EOF on the child's stdin, after the last byte is handed over. */
    if (fclose(j->in) == EOF && !j->err)
        j->err = errno;
    return NULL;
}

int main(int argc, char **argv)
{
    char *cat[] = {"cat", NULL};
    char *const *filter = argc > 2 ? argv + 2 : cat;
    int check = argc <= 2;
    struct job job = {NULL, (unsigned long long)(argc > 1 ? atoi(argv[1]) : 64) << 20, 0};
    unsigned char *buf = malloc(CHUNK);
    unsigned long long got = 0;
    long rss_warm = -1, rss_end;
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p = NULL;
    pthread_t t;
    size_t k;
    int status, ok = 0;

    for (k = 0; k < sizeof pattern; k++)
        pattern[k] = (unsigned char)(k % PERIOD);
    if (!buf || !a || job.total <= WARMUP) {
        fprintf(stderr, "bounded-input: out of memory, or MIB not above %d\n", WARMUP >> 20);
        goto done;
    }
    popen2_attr_set_limit(a, 0, LIMIT, POPEN2_BLOCK);
    popen2_attr_set_limit(a, 1, LIMIT, POPEN2_BLOCK);
    p = popen2_spawnv(filter, a);
    if (!p) {
        fprintf(stderr, "bounded-input: cannot run %s: %s\n", filter[0], strerror(errno));
        goto done;
    }
    job.in = popen2_tochild(p);
    if (pthread_create(&t, NULL, writer, &job) != 0) {
        fprintf(stderr, "bounded-input: cannot start the writer thread\n");
        goto done;
    }
    while ((k = fread(buf, 1, CHUNK, popen2_fromchild(p))) > 0) {
        if (check && memcmp(buf, at(got), k) != 0) {
            fprintf(stderr, "bounded-input: wrong bytes after %llu\n", got);
            break;
        }
        if (got < WARMUP && got + k >= WARMUP)
            rss_warm = peak_rss_kib();
        got += k;
    }
    /* Stopped before the end: the child and the writer would wait on the
     * unread output for ever, so end the child (the writer then fails). */
    if (!feof(popen2_fromchild(p)))
        popen2_kill(p);
    pthread_join(t, NULL);
    status = popen2_wait(p);
    rss_end = peak_rss_kib();

    printf("%llu bytes in, %llu bytes out; %s exit status %d\n", job.total, got, filter[0],
           WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    printf("peak RSS %ld KiB after %d MiB, %ld KiB at the end\n", rss_warm, WARMUP >> 20,
           rss_end);
    if (job.err)
        fprintf(stderr, "bounded-input: writing: %s\n", strerror(job.err));
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "bounded-input: %s failed\n", filter[0]);
    else if (check && got != job.total)
        fprintf(stderr, "bounded-input: %llu bytes came back, not %llu\n", got, job.total);
    else if (rss_warm < 0 || rss_end - rss_warm > (long)((job.total - WARMUP) / 8 / 1024 * SHADOW))
        fprintf(stderr, "bounded-input: memory grew with the bytes moved\n");
    else
        ok = 1;
done:
    popen2_attr_free(a);
    popen2_free(p);
    free(buf);
    return ok ? 0 : 1;
}
