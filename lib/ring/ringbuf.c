/* ringbuf: the growable byte ring between a pipe thread and a FILE*.
 *
 * The producer never waits for space: when a write does not fit, the ring
 * doubles.  A consumer that keeps up keeps the ring at its first size, since
 * an empty ring restarts at offset 0 and so offers its whole capacity as one
 * contiguous run.  A ring that grew shrinks back once it is empty again, so
 * memory follows what is buffered, not what once was.
 *
 * Only the producer reallocates, under mu.  Both consumers work outside mu
 * on bytes they have claimed: the writer thread write()s straight from a
 * peeked run, and p2i_ringbuf_read copies into the caller's buffer after
 * dropping mu, so the producer's read() into the ring and the caller's copy
 * out of it overlap instead of taking turns on the lock.  A grow while the
 * consumer works retires the old buffer instead of freeing it (see
 * p2i_ringbuf_consume and finish_read).
 */
#include "config.h"

#include "runtime/runtime.h"
#include "popen2.h"
#include "ring/ring.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>


/* How long the producer stays parked after a direct read (see ring.h):
 * long enough to span the gap between two freads of a consumer in a loop,
 * short enough that a child whose reader stopped reading waits at most this
 * long before the producer drains its pipe again. */
#define LEASE_NS (5 * 1000 * 1000)

static void add_ns(struct timespec *ts, long ns)
{
    ts->tv_nsec += ns;
    while (ts->tv_nsec >= 1000000000L) {
        ts->tv_nsec -= 1000000000L;
        ts->tv_sec++;
    }
}

static bool before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Producer, mu held: true after waiting while a direct read holds the
 * source or its lease runs (the caller re-checks everything), false when
 * the producer may go on. */
static bool wait_for_direct_locked(struct ringbuf *rb)
{
    struct timespec now, until;

    if (!rb->direct && rb->lease_end.tv_sec == 0)
        return false;
    p2i_clock_cond_now(&now);
    if (rb->direct) {
        until = now;
        add_ns(&until, LEASE_NS);
    } else if (before(&now, &rb->lease_end)) {
        until = rb->lease_end;
    } else {
        rb->lease_end.tv_sec = 0; /* expired: back to the plain fast path */
        return false;
    }
    p2i_ringmem_wait_until_locked(rb, &until);
    return true;
}

int p2i_ringbuf_reserve(struct ringbuf *rb, size_t want, void **space, size_t *n)
{
    size_t tail, ahead = 0;
    char *fresh = NULL;
    int r = 0, backoff_ms = 0;

    pthread_mutex_lock(&rb->mu);
    rb->bound.staged = false;
    rb->copy_to = NULL; /* each reservation decides where its bytes go */
    for (;;) {
        if (rb->consumer_done) {
            r = -EPIPE;
            goto finish;
        }
        if (wait_for_direct_locked(rb))
            continue;
        /* Discarded bytes never stay: an empty ring of any size will do. */
        if (rb->bound.limit.max && !rb->discarding) {
            /* A bounded ring (see ringlimit.c). */
            r = p2i_ringlimit_room_locked(rb, &want);
            if (r == 1) {
                *space = rb->stage;
                *n = P2I_RING_STAGE_SIZE;
                rb->producer_busy = true; /* a read() in flight, as below */
                r = 0;
                goto finish;
            }
            if (r == 0)
                break;
            if (r == -EAGAIN)
                p2i_ringmem_wait_locked(rb); /* BLOCK at the limit: the consumer has bytes */
            else
                p2i_ringmem_wait_for_memory_locked(rb, &backoff_ms);
            r = 0;
            continue;
        }
        if (p2i_ringmem_make_room_locked(rb, want) == 0 || (rb->buf && rb->len < rb->cap))
            break;
        /* Out of memory: stop draining until the consumer reads or memory
         * comes back.  The child then waits on a full pipe, but no byte is
         * dropped, and the stream never fails for it. */
        p2i_ringmem_wait_for_memory_locked(rb, &backoff_ms);
    }
    tail = rb->head + rb->len;
    if (tail >= rb->cap) {
        tail -= rb->cap;
        *n = rb->head - tail;
    } else {
        *n = rb->cap - tail;
    }
    if (rb->bound.limit.max && *n > rb->bound.limit.max - rb->len)
        *n = rb->bound.limit.max - rb->len;
    *space = rb->buf + tail;
    if (rb->kept && !rb->bound.limit.max && !rb->discarding) {
        /* On the VM this library is measured on, a read() into the pages
         * of a kept buffer runs at a third of the speed of a copy into
         * them from user space, though no page faults: 1 GiB of stderr
         * held while stdout is read took 2.2-3.0 s against 0.7 s.  So the
         * producer reads into the stage, which stays in the CPU's cache,
         * and its commit copies the bytes on; elsewhere that costs a copy
         * of cached bytes.  Only below the mark the buffer came with: a
         * fresh page would be faulted in twice, ahead of the read and by
         * the copy, so past it the ring is written as a fresh one is. */
        size_t run = *n < P2I_RING_STAGE_SIZE ? *n : P2I_RING_STAGE_SIZE;

        if (tail + run > rb->touched)
            rb->kept = false;
        else if (rb->stage || (rb->stage = malloc(P2I_RING_STAGE_SIZE))) {
            rb->copy_to = rb->buf + tail;
            *space = rb->stage;
            *n = run;
        }
    }
    if (!rb->copy_to)
        ahead = p2i_ringmem_prefault_locked(rb, tail, *n, &fresh);
    rb->producer_busy = true;
finish:
    pthread_mutex_unlock(&rb->mu);
    /* Outside mu: faulting 8 MiB in takes milliseconds, and a reader of
     * the bytes already held need not wait for it. */
    p2i_memory_prefault(fresh, ahead);
    return r;
}

int p2i_ringbuf_commit(struct ringbuf *rb, size_t n)
{
    int r = 0;

    /* No lock: only the producer sets copy_to and moves buf, and nobody
     * else looks at the free run it points into. */
    if (rb->copy_to) {
        memcpy(rb->copy_to, rb->stage, n);
        rb->copy_to = NULL;
    }
    pthread_mutex_lock(&rb->mu);
    rb->producer_busy = false;
    if (rb->consumer_done) {
        r = -EPIPE;
    } else if (rb->discarding) {
        rb->bound.staged = false;
        rb->acct.total += n;
    } else if (rb->bound.staged) {
        /* The bytes are in the stage (bounded ring).  A commit of 0 only
         * gives the reservation up (see pump.c). */
        rb->bound.staged = false;
        if (n) {
            p2i_ringlimit_commit_staged_locked(rb, n);
            p2i_ringline_stamp_locked(rb, rb->stage, n, rb->acct.total);
            p2i_ringmem_wake(rb);
        }
    } else {
        rb->len += n;
        rb->acct.total += n;
        if (rb->len > rb->acct.high_water)
            rb->acct.high_water = rb->len;
        if (n) {
            /* The reservation was one contiguous run ending at the tail. */
            size_t tail = (rb->head + rb->len - n) % rb->cap;

            p2i_ringline_stamp_locked(rb, rb->buf + tail, n, rb->acct.total);
            p2i_ringmem_wake(rb);
        }
    }
    pthread_mutex_unlock(&rb->mu);
    return r;
}

ssize_t p2i_ringbuf_append(struct ringbuf *rb, const void *src, size_t n)
{
    char *fresh = NULL;
    size_t tail;
    ssize_t r;

    pthread_mutex_lock(&rb->mu);
    if (rb->consumer_done) {
        r = -(rb->consumer_error ? rb->consumer_error : EPIPE);
        goto finish;
    }
    if (n == 0) {
        r = 0;
        goto finish;
    }
    r = p2i_ringmem_make_room_locked(rb, n);
    if (r < 0)
        goto finish;
    tail = (rb->head + rb->len) % rb->cap;
    /* Under mu, unlike reserve's: the copy right below writes there. */
    p2i_memory_prefault(fresh, p2i_ringmem_prefault_locked(rb, tail, n, &fresh));
    p2i_ring_copy_in(rb->buf, rb->cap, tail, src, n);
    rb->len += n;
    rb->acct.total += n;
    if (rb->len > rb->acct.high_water)
        rb->acct.high_water = rb->len;
    p2i_ringmem_set_lingering_locked(rb, true);
    p2i_ringmem_wake(rb);
    r = (ssize_t)n;
finish:
    pthread_mutex_unlock(&rb->mu);
    return r;
}

void p2i_ringbuf_close_producer(struct ringbuf *rb, int err)
{
    struct timespec until;

    pthread_mutex_lock(&rb->mu);
    /* A direct read uses the producer's source: it must end before the
     * producer closes it.  (Rare: the producer only gets here while a claim
     * is held when its poll() fails.)  The consumer does not signal the end
     * of a claim, hence the timed wait. */
    while (rb->direct) {
        p2i_clock_cond_now(&until);
        add_ns(&until, 1000 * 1000);
        p2i_ringmem_wait_until_locked(rb, &until);
    }
    rb->producer_done = true;
    rb->producer_busy = false;
    p2i_ringline_stamp_end_locked(rb);
    rb->error = err;
    p2i_ringmem_wake(rb);
    pthread_mutex_unlock(&rb->mu);
}

/* Ends a copy out of the ring that ran without mu: drops the k bytes and
 * frees a buffer the producer retired meanwhile.  mu held. */
static char *finish_read_locked(struct ringbuf *rb, size_t k)
{
    char *old = rb->retired;

    /* head is not reset to 0 when this empties the ring: the producer may
     * be filling a reservation right behind the data.  Only the producer
     * rewinds an empty ring (make_room_locked). */
    rb->head = (rb->head + k) % rb->cap;
    rb->len -= k;
    rb->peeking = false;
    rb->retired = NULL;
    p2i_ringmem_wake(rb); /* a producer out of memory waits for this space */
    return old;
}

ssize_t p2i_ringbuf_read(struct ringbuf *rb, void *dst, size_t n, bool block)
{
    const char *base;
    char *old;
    size_t k, head, cap;
    ssize_t r;

    pthread_mutex_lock(&rb->mu);
    while (rb->len == 0 && !rb->producer_done && block && !p2i_ringlimit_pending_locked(rb))
        p2i_ringmem_wait_locked(rb);
    if (rb->len == 0) {
        /* Spilled bytes come after the ring's, and a stream that
         * overflowed reports why after its data. */
        if (rb->bound.spill_wr > rb->bound.spill_rd)
            r = p2i_ringlimit_spill_read_locked(rb, dst, n);
        else if (rb->bound.overflow_error)
            r = -rb->bound.overflow_error;
        else
            r = rb->producer_done ? -rb->error : -EAGAIN;
        pthread_mutex_unlock(&rb->mu);
        return r;
    }
    /* Hand over whatever is there, at once: interactive readers (fgets on a
     * prompt) must not wait for more bytes than the child wrote. */
    k = n < rb->len ? n : rb->len;
    if (rb->bound.limit.max) {
        /* A bounded ring's producer may drop the oldest bytes (KEEP_TAIL)
         * under the lock, so its consumer copies under the lock too. */
        p2i_ring_copy_out(dst, rb->buf, rb->cap, rb->head, k);
        old = finish_read_locked(rb, k);
        pthread_mutex_unlock(&rb->mu);
        free(old);
        return (ssize_t)k;
    }
    base = rb->buf;
    head = rb->head;
    cap = rb->cap;
    /* The k bytes are ours: the producer only writes free space, and a grow
     * while we copy keeps `base` alive in `retired` (ringmem.c). */
    rb->peeking = true;
    pthread_mutex_unlock(&rb->mu);

    p2i_ring_copy_out(dst, base, cap, head, k);

    pthread_mutex_lock(&rb->mu);
    old = finish_read_locked(rb, k);
    pthread_mutex_unlock(&rb->mu);
    free(old);
    return (ssize_t)k;
}

void p2i_ringbuf_peek(struct ringbuf *rb, const void **data, size_t *n)
{
    pthread_mutex_lock(&rb->mu);
    while (rb->len == 0 && rb->lend.len == 0 && !rb->producer_done) {
        p2i_ringmem_set_lingering_locked(rb, false); /* everything delivered, for now */
        p2i_ringmem_wait_locked(rb);
    }
    if (rb->len == 0 && rb->lend.len) {
        /* A lent buffer is only handed over while the ring is empty, so
         * its bytes come after every byte of the ring. */
        *data = rb->lend.buf;
        *n = rb->lend.len;
        rb->lend.peeking = true;
    } else if (rb->len == 0) {
        p2i_ringmem_set_lingering_locked(rb, false);
        *data = NULL;
        *n = 0;
    } else {
        *data = rb->buf + rb->head;
        *n = rb->cap - rb->head < rb->len ? rb->cap - rb->head : rb->len;
        rb->peeking = true;
    }
    pthread_mutex_unlock(&rb->mu);
}

void p2i_ringbuf_consume(struct ringbuf *rb, size_t n)
{
    char *old;

    pthread_mutex_lock(&rb->mu);
    if (rb->lend.peeking) {
        if (n > rb->lend.len)
            n = rb->lend.len;
        rb->lend.buf += n;
        rb->lend.len -= n;
        rb->lend.done += n;
        rb->lend.peeking = false;
        p2i_ringmem_wake(rb); /* the lender waits for this */
        pthread_mutex_unlock(&rb->mu);
        return;
    }
    if (n > rb->len)
        n = rb->len; /* the consumer closed meanwhile: nothing left to drop */
    rb->head = rb->cap ? (rb->head + n) % rb->cap : 0;
    rb->len -= n;
    rb->peeking = false;
    old = rb->retired;
    rb->retired = NULL;
    p2i_ringmem_wake(rb);
    pthread_mutex_unlock(&rb->mu);
    free(old);
}

/* Drops what the consumer has not read, in memory and spilled.  The ring
 * stays where it is: a producer reservation in flight is dropped by its
 * commit.  mu held. */
static void drop_buffered_locked(struct ringbuf *rb)
{
    rb->head = rb->cap ? (rb->head + rb->len) % rb->cap : 0;
    rb->len = 0;
    if (rb->bound.spill_fd >= 0 && rb->bound.spill_wr) {
        p2i_spill_reset(rb->bound.spill_fd);
        rb->bound.spill_wr = rb->bound.spill_rd = 0;
    }
}

void p2i_ringbuf_close_consumer(struct ringbuf *rb, int err)
{
    pthread_mutex_lock(&rb->mu);
    rb->consumer_done = true;
    rb->consumer_error = err;
    /* An input ring's consumer closes with an error only when the child
     * stopped reading: what was queued for it is lost, and counted.  (An
     * output ring's consumer closes with 0: the caller chose not to read.) */
    if (err)
        rb->bound.dropped += rb->len + rb->lend.len;
    rb->lend.len = 0;
    drop_buffered_locked(rb);
    p2i_ringmem_set_lingering_locked(rb, false);
    p2i_ringmem_wake(rb);
    pthread_mutex_unlock(&rb->mu);
}

void p2i_ringbuf_discard(struct ringbuf *rb)
{
    pthread_mutex_lock(&rb->mu);
    rb->discarding = true;
    drop_buffered_locked(rb);
    rb->bound.overflow_error = 0; /* nobody is left to tell */
    p2i_ringmem_wake(rb);      /* a producer waiting for room (BLOCK) drains again */
    pthread_mutex_unlock(&rb->mu);
}

int p2i_ringbuf_consumer_error(struct ringbuf *rb)
{
    int e;

    pthread_mutex_lock(&rb->mu);
    e = rb->consumer_done ? rb->consumer_error : 0;
    pthread_mutex_unlock(&rb->mu);
    return -e;
}

void p2i_ringbuf_set_linger(struct ringbuf *rb)
{
    rb->acct.linger = true;
}

bool p2i_ringbuf_direct_begin(struct ringbuf *rb)
{
    bool ok;

    pthread_mutex_lock(&rb->mu);
    /* Spilled bytes, or an overflow error to report, come before anything
     * still in the pipe. */
    ok = rb->len == 0 && !p2i_ringlimit_pending_locked(rb) && !rb->producer_busy &&
         !rb->producer_done && !rb->consumer_done && !rb->discarding;
    if (ok)
        rb->direct = true;
    pthread_mutex_unlock(&rb->mu);
    return ok;
}

void p2i_ringbuf_direct_end(struct ringbuf *rb, size_t n)
{
    pthread_mutex_lock(&rb->mu);
    rb->direct = false;
    rb->acct.total += n;
    /* No wake-up: the producer parked in p2i_ringbuf_reserve waits out the
     * lease by itself, which is the point (see ring.h). */
    p2i_clock_cond_now(&rb->lease_end);
    add_ns(&rb->lease_end, LEASE_NS);
    pthread_mutex_unlock(&rb->mu);
}

size_t p2i_ringbuf_length(struct ringbuf *rb)
{
    size_t n;

    pthread_mutex_lock(&rb->mu);
    n = rb->len;
    pthread_mutex_unlock(&rb->mu);
    return n;
}
