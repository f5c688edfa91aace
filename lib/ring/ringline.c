/* ringline: lines out of an output ring, and the order they arrived in.
 *
 * A line is taken up to its '\n' and no further, so the bytes after it stay
 * in the ring, under its limit, for whichever read comes next.
 *
 * Arrival order across rings: the producer stamps each committed chunk that
 * holds a '\n' from one process-wide counter, under the ring's mu.  A line's
 * stamp is that of the chunk holding its '\n', the line's last byte, so two
 * rings' lines compare by when their producers appended that byte.  Offsets
 * are the stream's (acct.total counts every byte appended, read or dropped),
 * so a record whose '\n' is no longer buffered (read through the FILE,
 * popen2_read, dropped by KEEP_TAIL or FAIL, discarded) is stale by
 * arithmetic alone and pruned: no other read path needs to know about the
 * records, and they stay bounded by the buffered chunks.
 */
#include "config.h"

#include "runtime/runtime.h"
#include "popen2.h"
#include "ring/ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The clock of arrival: process-wide, so any two rings compare. */
static unsigned long long p2i_line_clock;

/* Smallest queue allocated, and the size past which an emptied one is freed. */
#define STAMPS_MIN 16
#define STAMPS_KEEP 1024

static unsigned long long tick(void)
{
    return __atomic_add_fetch(&p2i_line_clock, 1, __ATOMIC_SEQ_CST);
}

/* Stream offset of the oldest byte still buffered (memory, then spill);
 * mu held. */
static unsigned long long out_offset_locked(const struct ringbuf *rb)
{
    return rb->acct.total - rb->len - (rb->bound.spill_wr - rb->bound.spill_rd);
}

/* Drops records whose '\n' lies before stream offset `from`; mu held. */
static void prune_locked(struct ringbuf *rb, unsigned long long from)
{
    struct ring_lines *l = &rb->lines;

    while (l->len && l->q[l->head].end <= from) {
        l->head = (l->head + 1) % l->cap;
        l->len--;
    }
    if (l->len == 0) {
        l->head = 0;
        if (l->cap > STAMPS_KEEP) {
            free(l->q);
            l->q = NULL;
            l->cap = 0;
        }
    }
}

static bool grow_locked(struct ring_lines *l)
{
    size_t ncap = l->cap ? l->cap * 2 : STAMPS_MIN, i;
    struct ring_stamp *nq = malloc(ncap * sizeof *nq);

    if (!nq)
        return false;
    for (i = 0; i < l->len; i++)
        nq[i] = l->q[(l->head + i) % l->cap];
    free(l->q);
    l->q = nq;
    l->cap = ncap;
    l->head = 0;
    return true;
}

void p2i_ringline_stamp_locked(struct ringbuf *rb, const char *src, size_t n,
                               unsigned long long end)
{
    struct ring_lines *l = &rb->lines;
    const char *nl = n ? memrchr(src, '\n', n) : NULL;
    unsigned long long e;

    if (!nl)
        return;
    e = end - (unsigned long long)(n - (size_t)(nl - src) - 1);
    prune_locked(rb, out_offset_locked(rb));
    if (l->len == l->cap && !grow_locked(l)) {
        /* Out of memory: the newest record takes this chunk's newlines too,
         * so they keep their place after every older line; only lines of
         * the other stream that came in between may come out after them. */
        if (l->len) {
            l->q[(l->head + l->len - 1) % l->cap].end = e;
            l->q[(l->head + l->len - 1) % l->cap].seq = tick();
        }
        return;
    }
    l->q[(l->head + l->len) % l->cap] = (struct ring_stamp){.end = e, .seq = tick()};
    l->len++;
}

void p2i_ringline_stamp_end_locked(struct ringbuf *rb)
{
    if (!rb->lines.end_seq)
        rb->lines.end_seq = tick();
}

/* The stamp of the '\n' at stream offset `at`, which is buffered; mu held. */
static unsigned long long stamp_of_locked(struct ringbuf *rb, unsigned long long at)
{
    struct ring_lines *l = &rb->lines;

    /* Records before the one of the chunk holding `at` end at or before it:
     * a later '\n' of an older chunk would be buffered before this one. */
    prune_locked(rb, at);
    if (l->len)
        return l->q[l->head].seq;
    /* No record (memory ran out at the very first): now is after its arrival. */
    return __atomic_load_n(&p2i_line_clock, __ATOMIC_SEQ_CST);
}

/* Copies up to n bytes from the ring's memory, stopping after a '\n'; mu
 * held, len > 0.  The copy runs under mu, as a bounded ring's reads do: a
 * KEEP_TAIL producer moves the oldest bytes under it. */
static size_t take_memory_locked(struct ringbuf *rb, char *dst, size_t n)
{
    size_t k = n < rb->len ? n : rb->len;
    size_t first = rb->cap - rb->head < k ? rb->cap - rb->head : k;
    const char *nl = memchr(rb->buf + rb->head, '\n', first);

    if (nl)
        k = (size_t)(nl - (rb->buf + rb->head)) + 1;
    else if (k > first && (nl = memchr(rb->buf, '\n', k - first)) != NULL)
        k = first + (size_t)(nl - rb->buf) + 1;
    p2i_ring_copy_out(dst, rb->buf, rb->cap, rb->head, k);
    /* head is not rewound on empty: the producer may be filling right
     * behind the data (see ringbuf.c). */
    rb->head = (rb->head + k) % rb->cap;
    rb->len -= k;
    return k;
}

/* As take_memory_locked from the spill file, ring memory empty: the bytes
 * after the '\n' are read but left where they are. */
static ssize_t take_spill_locked(struct ringbuf *rb, char *dst, size_t n)
{
    unsigned long long left = rb->bound.spill_wr - rb->bound.spill_rd;
    const char *nl;
    ssize_t k;

    if (n > left)
        n = (size_t)left;
    k = p2i_spill_read(rb->bound.spill_fd, rb->bound.spill_rd, dst, n);
    if (k <= 0)
        return k < 0 ? k : -EIO;
    nl = memchr(dst, '\n', (size_t)k);
    if (nl)
        k = nl - dst + 1;
    rb->bound.spill_rd += (unsigned long long)k;
    if (rb->bound.spill_rd == rb->bound.spill_wr) {
        p2i_spill_reset(rb->bound.spill_fd);
        rb->bound.spill_rd = rb->bound.spill_wr = 0;
    }
    return k;
}

ssize_t p2i_ringline_take(struct ringbuf *rb, char *dst, size_t n, unsigned long long *seq)
{
    unsigned long long at;
    ssize_t r;

    *seq = 0;
    if (n == 0)
        return -EINVAL;
    pthread_mutex_lock(&rb->mu);
    at = out_offset_locked(rb);
    if (rb->len)
        r = (ssize_t)take_memory_locked(rb, dst, n);
    else if (rb->bound.spill_wr > rb->bound.spill_rd)
        r = take_spill_locked(rb, dst, n);
    else if (rb->bound.overflow_error)
        r = -rb->bound.overflow_error;
    else
        r = rb->producer_done ? -rb->error : -EAGAIN;
    if (r > 0) {
        if (dst[r - 1] == '\n')
            *seq = stamp_of_locked(rb, at + (unsigned long long)r - 1);
        prune_locked(rb, out_offset_locked(rb));
        p2i_ringmem_wake(rb); /* a producer at a BLOCK limit waits for this room */
    } else if (r != -EAGAIN) {
        *seq = rb->lines.end_seq; /* the end, or an error, after the data */
    }
    pthread_mutex_unlock(&rb->mu);
    return r;
}
