/* ringlimit: the bounded ring's policies (popen2_attr_set_limit).
 *
 * A ring with a limit holds at most `limit` bytes in buf.  What the producer
 * reads beyond that lands in `stage`, and its commit applies the policy:
 * SPILL appends it to the spill file (and, to keep the order, so does every
 * later commit until the consumer has read the file back), FAIL and a failed
 * spill drop it and remember the errno to report after the data, KEEP_TAIL
 * drops the oldest bytes of the ring to make room.  BLOCK never stages: the
 * producer waits for the consumer.  The stage is allocated when first
 * needed, which is when the caller is not reading: a producer that cannot
 * get it retries on its own (p2i_ringmem_wait_for_memory_locked). */
#include "config.h"

#include "runtime/runtime.h"
#include "popen2.h"
#include "ring/ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool spill_pending(const struct ringbuf *rb)
{
    return rb->bound.spill_wr > rb->bound.spill_rd;
}

/* A blocking consumer has something to return besides ring bytes. */
bool p2i_ringlimit_pending_locked(const struct ringbuf *rb)
{
    return spill_pending(rb) || rb->bound.overflow_error;
}

/* Producer, mu held: where the next bytes go.  1: into the stage; 0: into the
 * ring, which has room (and *want is trimmed to the limit); -EAGAIN: nowhere
 * yet (BLOCK at the limit); -ENOMEM: no memory for the ring or the stage. */
int p2i_ringlimit_room_locked(struct ringbuf *rb, size_t *want)
{
    size_t room;

    if (rb->bound.overflow_error || spill_pending(rb) || rb->len >= rb->bound.limit.max) {
        if (rb->bound.limit.policy == POPEN2_BLOCK)
            return -EAGAIN;
        if (!rb->stage && !(rb->stage = malloc(P2I_RING_STAGE_SIZE)))
            return -ENOMEM;
        rb->bound.staged = true;
        return 1;
    }
    room = rb->bound.limit.max - rb->len;
    if (*want > room)
        *want = room;
    if (p2i_ringmem_make_room_locked(rb, *want) == 0 || (rb->buf && rb->len < rb->cap))
        return 0;
    return -ENOMEM; /* below the limit, so only memory was missing */
}

/* Copies n bytes to the ring's tail; room for them was made. */
static void put_locked(struct ringbuf *rb, const char *src, size_t n)
{
    p2i_ring_copy_in(rb->buf, rb->cap, (rb->head + rb->len) % rb->cap, src, n);
    rb->len += n;
}

/* KEEP_TAIL: the newest `limit` bytes survive, the oldest go. */
static void keep_tail_locked(struct ringbuf *rb, const char *src, size_t n)
{
    size_t drop;

    if (n >= rb->bound.limit.max) {
        rb->bound.dropped += rb->len + (n - rb->bound.limit.max);
        src += n - rb->bound.limit.max;
        n = rb->bound.limit.max;
        rb->len = 0;
        rb->head = 0;
    } else if (rb->len + n > rb->bound.limit.max) {
        drop = rb->len + n - rb->bound.limit.max;
        rb->bound.dropped += drop;
        rb->head = (rb->head + drop) % rb->cap;
        rb->len -= drop;
    }
    if (p2i_ringmem_make_room_locked(rb, n) < 0 || rb->cap - rb->len < n) {
        rb->bound.dropped += n; /* out of memory: these are the ones lost */
        return;
    }
    put_locked(rb, src, n);
}

void p2i_ringlimit_commit_staged_locked(struct ringbuf *rb, size_t n)
{
    int r;

    rb->acct.total += n;
    if (rb->bound.overflow_error) {
        rb->bound.dropped += n;
    } else if (rb->bound.limit.policy == POPEN2_FAIL) {
        rb->bound.overflow_error = ENOBUFS;
        rb->bound.dropped += n;
    } else if (rb->bound.limit.policy == POPEN2_KEEP_TAIL) {
        keep_tail_locked(rb, rb->stage, n);
    } else { /* POPEN2_SPILL */
        if (rb->bound.spill_fd < 0)
            rb->bound.spill_fd = p2i_spill_open();
        r = rb->bound.spill_fd < 0 ? rb->bound.spill_fd : p2i_spill_write(rb->bound.spill_fd, rb->bound.spill_wr, rb->stage, n);
        if (r < 0) {
            /* A full or broken disk ends the stream after what was kept. */
            rb->bound.spill_fd = rb->bound.spill_fd < 0 ? -1 : rb->bound.spill_fd;
            rb->bound.overflow_error = -r;
            rb->bound.dropped += n;
        } else {
            rb->bound.spill_wr += n;
            rb->bound.spilled += n;
        }
    }
    if (rb->len > rb->acct.high_water)
        rb->acct.high_water = rb->len;
}

/* Consumer, mu held, ring empty: the oldest spilled bytes. */
ssize_t p2i_ringlimit_spill_read_locked(struct ringbuf *rb, void *dst, size_t n)
{
    unsigned long long left = rb->bound.spill_wr - rb->bound.spill_rd;
    ssize_t k;

    if (n > left)
        n = (size_t)left;
    /* A zero-byte read is 0, as from the ring: pread of 0 bytes returns 0,
     * which p2i_spill_read takes for a file that lost data (EIO).  Found by
     * fuzz/fuzz_ringbuf; latent today (popen2_read returns early for 0 and
     * stdio never asks for 0 bytes), but the ring's contract allows it. */
    if (n == 0)
        return 0;
    k = p2i_spill_read(rb->bound.spill_fd, rb->bound.spill_rd, dst, n);
    if (k < 0)
        return k;
    rb->bound.spill_rd += (unsigned long long)k;
    if (rb->bound.spill_rd == rb->bound.spill_wr) {
        /* All read back: new bytes may use the ring again. */
        p2i_spill_reset(rb->bound.spill_fd);
        rb->bound.spill_rd = rb->bound.spill_wr = 0;
    }
    p2i_ringmem_wake(rb);
    return k;
}

int p2i_ringlimit_set(struct ringbuf *rb, struct ring_limit lim)
{
    if (lim.policy != POPEN2_BLOCK && lim.policy != POPEN2_SPILL && lim.policy != POPEN2_FAIL &&
        lim.policy != POPEN2_KEEP_TAIL)
        return -EINVAL;
    pthread_mutex_lock(&rb->mu);
    rb->bound.limit = lim;
    pthread_mutex_unlock(&rb->mu);
    return 0;
}

unsigned long long p2i_ringlimit_available(struct ringbuf *rb)
{
    unsigned long long n;

    pthread_mutex_lock(&rb->mu);
    n = rb->consumer_done ? 0 : rb->len + rb->lend.len + (rb->bound.spill_wr - rb->bound.spill_rd);
    pthread_mutex_unlock(&rb->mu);
    return n;
}

bool p2i_ringlimit_readable(struct ringbuf *rb)
{
    bool r;

    pthread_mutex_lock(&rb->mu);
    r = !rb->consumer_done && (rb->len || p2i_ringlimit_pending_locked(rb) || rb->producer_done);
    pthread_mutex_unlock(&rb->mu);
    return r;
}

void p2i_ringlimit_add_dropped(struct ringbuf *rb, unsigned long long n)
{
    pthread_mutex_lock(&rb->mu);
    rb->bound.dropped += n;
    pthread_mutex_unlock(&rb->mu);
}

void p2i_ringlimit_stats(struct ringbuf *rb, struct popen2_stream_stats *st)
{
    pthread_mutex_lock(&rb->mu);
    st->total = rb->acct.total;
    st->dropped = rb->bound.dropped;
    st->spilled = rb->bound.spilled;
    st->high_water = rb->acct.high_water;
    st->buffered = rb->len + rb->lend.len + (rb->bound.spill_wr - rb->bound.spill_rd);
    pthread_mutex_unlock(&rb->mu);
}

