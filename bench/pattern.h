/* bench/pattern.h: the byte stream bench/writer produces, shared with the
 * bench that checks it.  Byte i of a stream is bench_pattern_byte(i % PERIOD).
 * The period is prime so that a lost, doubled or reordered chunk of any
 * power-of-two size shows up as a mismatch. */
#ifndef BENCH_PATTERN_H
#define BENCH_PATTERN_H

#include <stddef.h>

#define BENCH_CHUNK (1u << 20)  /* bytes per write() in the writer */
#define BENCH_PERIOD 65521u     /* largest prime below 64 Ki */

/* Never 0: GLib's g_spawn_sync hands output back as a C string, so the
 * bench can only count its bytes with strlen. */
static inline unsigned char bench_pattern_byte(size_t i)
{
    size_t x = i * 2654435761u;
    return (unsigned char)((x >> 13 ^ x >> 3 ^ i) % 255 + 1);
}

/* Fills buf[0..n) with the stream from offset 0; n >= PERIOD lets a reader
 * compare any piece of up to n - PERIOD bytes at once. */
static inline void bench_pattern_fill(unsigned char *buf, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        buf[i] = bench_pattern_byte(i % BENCH_PERIOD);
}

#endif
