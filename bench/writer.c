/* bench/writer: the child of the throughput benchmarks.
 *
 *   writer [-w] OUT_BYTES [ERR_BYTES]
 *
 * Writes OUT_BYTES to stdout and ERR_BYTES (default 0) to stderr, alternating
 * 1 MiB write() calls between the two while both have bytes left, straight
 * from a static buffer: no per-byte work, no stdio, so the child is never
 * what a benchmark measures.  With -w it first waits for EOF on stdin, so a
 * bench can hold many children alive and idle, then release them.
 *
 * The bytes are a pattern with a prime period (see pattern.h), so a reader
 * that wants to can check every byte it got with one memcmp per chunk.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pattern.h"

static unsigned char buf[BENCH_CHUNK + BENCH_PERIOD];

/* Writes the next piece of stream fd (at most one chunk); -1 on error. */
static int step(int fd, unsigned long long *off, unsigned long long total)
{
    unsigned long long left = total - *off;
    size_t n = left < BENCH_CHUNK ? (size_t)left : BENCH_CHUNK;
    ssize_t k = write(fd, buf + *off % BENCH_PERIOD, n);

    if (k < 0)
        return errno == EINTR ? 0 : -1;
    *off += (unsigned long long)k;
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long long out_total, err_total = 0, out = 0, err = 0;
    char c;

    if (argc > 1 && strcmp(argv[1], "-w") == 0) {
        ssize_t k;

        do
            k = read(0, &c, 1);
        while (k > 0 || (k < 0 && errno == EINTR));
        argv++;
        argc--;
    }
    if (argc < 2 || argc > 3)
        return 2;
    out_total = strtoull(argv[1], NULL, 0);
    if (argc == 3)
        err_total = strtoull(argv[2], NULL, 0);
    bench_pattern_fill(buf, sizeof buf);
    while (out < out_total || err < err_total) {
        if (out < out_total && step(1, &out, out_total) < 0)
            return 1;
        if (err < err_total && step(2, &err, err_total) < 0)
            return 1;
    }
    return 0;
}
