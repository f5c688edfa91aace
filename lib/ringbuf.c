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
 * peeked run, and ringbuf_read copies into the caller's buffer after
 * dropping mu, so the producer's read() into the ring and the caller's copy
 * out of it overlap instead of taking turns on the lock.  A grow while the
 * consumer works retires the old buffer instead of freeing it (see
 * ringbuf_consume and finish_read).
 */
#include "config.h"

#include "fd.h"
#include "popen2.h"
#include "ringbuf.h"
#include "spill.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* An empty ring at least this many times its first size gives memory back.
 * Large enough that a stream moving 1 MiB pipefuls through a 64 KiB ring
 * settles at a few MiB instead of freeing and refaulting them at every
 * pause (PERF-NOTES: fresh pages copy at a tenth of the speed). */
#define SHRINK_FACTOR 64

/* How long the producer stays parked after a direct read (see ringbuf.h):
 * long enough to span the gap between two freads of a consumer in a loop,
 * short enough that a child whose reader stopped reading waits at most this
 * long before the producer drains its pipe again. */
#define LEASE_NS (5 * 1000 * 1000)

/* Beyond popen2: the producer's scratch buffer for bytes that go to the
 * spill file or are dropped; large, so a 2 GiB spill costs few pwrites. */
#define STAGE_SIZE (256 * 1024)

int ringbuf_init(struct ringbuf *rb, size_t min_cap)
{
    pthread_condattr_t ca;
    int r;

    memset(rb, 0, sizeof *rb);
    rb->min_cap = min_cap ? min_cap : 4096;
    rb->spill_fd = -1;
    r = pthread_mutex_init(&rb->mu, NULL);
    if (r)
        return -r;
    /* Timed waits (the direct-read lease) count on the monotonic clock. */
    r = pthread_condattr_init(&ca);
    if (r == 0) {
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        r = pthread_cond_init(&rb->cond, &ca);
        pthread_condattr_destroy(&ca);
    }
    if (r) {
        pthread_mutex_destroy(&rb->mu);
        return -r;
    }
    return 0;
}

void ringbuf_destroy(struct ringbuf *rb)
{
    free(rb->buf);
    free(rb->retired);
    free(rb->stage);
    rb->spill_fd = fd_close(rb->spill_fd);
    pthread_cond_destroy(&rb->cond);
    pthread_mutex_destroy(&rb->mu);
    rb->buf = rb->retired = NULL;
}

static void wake(struct ringbuf *rb)
{
    /* Skipping the broadcast when nobody waits keeps the fast path free of
     * futex calls; waiters is only changed under mu. */
    if (rb->waiters)
        pthread_cond_broadcast(&rb->cond);
}

static void wait_locked(struct ringbuf *rb)
{
    rb->waiters++;
    pthread_cond_wait(&rb->cond, &rb->mu);
    rb->waiters--;
}

/* Grows a ring nobody peeks into with realloc, which for large buffers is
 * mremap: the buffered bytes are not copied and their pages not faulted in
 * again.  Only the wrapped part moves: the shorter of the run before the
 * break (to the end of the new buffer, which always has room for it) and the
 * run after it (to just past the old end, when it fits there). */
static int grow_in_place_locked(struct ringbuf *rb, size_t new_cap)
{
    char *nb = realloc(rb->buf, new_cap);
    size_t first, wrapped;

    if (!nb)
        return -ENOMEM;
    first = rb->cap - rb->head < rb->len ? rb->cap - rb->head : rb->len;
    wrapped = rb->len - first;
    /* A bounded ring (Beyond popen2) may grow by less than double: the run
     * after the break moves past the old end only if it fits there. */
    if (wrapped && wrapped <= first && rb->cap + wrapped <= new_cap) {
        memcpy(nb + rb->cap, nb, wrapped);
    } else if (wrapped) {
        memmove(nb + new_cap - first, nb + rb->head, first);
        rb->head = new_cap - first;
    }
    rb->buf = nb;
    rb->cap = new_cap;
    return 0;
}

static void wait_until_locked(struct ringbuf *rb, const struct timespec *until)
{
    rb->waiters++;
    pthread_cond_timedwait(&rb->cond, &rb->mu, until);
    rb->waiters--;
}

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
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (rb->direct) {
        until = now;
        add_ns(&until, LEASE_NS);
    } else if (before(&now, &rb->lease_end)) {
        until = rb->lease_end;
    } else {
        rb->lease_end.tv_sec = 0; /* expired: back to the plain fast path */
        return false;
    }
    wait_until_locked(rb, &until);
    return true;
}

/* Moves the data into a new buffer of new_cap bytes starting at offset 0.
 * Called by the producer with mu held.  -ENOMEM leaves the ring as it was. */
static int resize_locked(struct ringbuf *rb, size_t new_cap)
{
    char *nb;
    size_t first;

    if (!rb->peeking && new_cap > rb->cap)
        return grow_in_place_locked(rb, new_cap);
    nb = malloc(new_cap);
    if (!nb)
        return -ENOMEM;
    if (rb->len) {
        first = rb->cap - rb->head < rb->len ? rb->cap - rb->head : rb->len;
        memcpy(nb, rb->buf + rb->head, first);
        memcpy(nb + first, rb->buf, rb->len - first);
    }
    if (rb->peeking && !rb->retired)
        rb->retired = rb->buf; /* the consumer still reads from it */
    else
        free(rb->buf);
    rb->buf = nb;
    rb->cap = new_cap;
    rb->head = 0;
    return 0;
}

/* Makes room for `need` more bytes (or any room at all when need is 0 and
 * the ring is full); returns 0 or -ENOMEM.  Producer only, mu held. */
static int make_room_locked(struct ringbuf *rb, size_t need)
{
    size_t new_cap;

    if (rb->len == 0) {
        rb->head = 0; /* an empty ring offers its whole capacity in one run */
        if (rb->cap >= SHRINK_FACTOR * rb->min_cap && !rb->peeking && need <= rb->min_cap) {
            free(rb->buf);
            rb->buf = NULL;
            rb->cap = 0;
        }
    }
    if (!rb->buf) {
        new_cap = rb->min_cap;
        while (new_cap < need) {
            if (new_cap > SIZE_MAX / 2)
                return -ENOMEM;
            new_cap *= 2;
        }
        if (rb->limit && new_cap > rb->limit) /* bounded: never hold more */
            new_cap = rb->limit > need ? rb->limit : need;
        rb->buf = malloc(new_cap);
        if (!rb->buf)
            return -ENOMEM;
        rb->cap = new_cap;
        rb->head = 0;
        return 0;
    }
    if (rb->cap - rb->len >= need && rb->cap > rb->len)
        return 0;
    new_cap = rb->cap;
    do {
        if (new_cap > SIZE_MAX / 2)
            return -ENOMEM;
        new_cap *= 2;
    } while (new_cap - rb->len < need);
    if (rb->limit && new_cap > rb->limit) {
        /* Bounded ring at its ceiling: whatever room is left will do. */
        new_cap = rb->limit;
        if (new_cap <= rb->cap)
            return rb->cap > rb->len ? 0 : -ENOBUFS;
    }
    return resize_locked(rb, new_cap);
}

/* ---- Beyond popen2: bounded rings ---------------------------------------
 *
 * A ring with a limit holds at most `limit` bytes in buf.  What the producer
 * reads beyond that lands in `stage`, and its commit applies the policy:
 * SPILL appends it to the spill file (and, to keep the order, so does every
 * later commit until the consumer has read the file back), FAIL and a failed
 * spill drop it and remember the errno to report after the data, KEEP_TAIL
 * drops the oldest bytes of the ring to make room.  BLOCK never stages: the
 * producer waits for the consumer, as an out-of-memory ring does. */

static bool spill_pending(const struct ringbuf *rb)
{
    return rb->spill_wr > rb->spill_rd;
}

/* A blocking consumer has something to return besides ring bytes. */
static bool limited_pending_locked(const struct ringbuf *rb)
{
    return spill_pending(rb) || rb->overflow_error;
}

/* Producer, mu held: where the next bytes go.  1: into the stage; 0: into the
 * ring, which has room (and *want is trimmed to the limit); -EAGAIN: nowhere
 * yet, wait for the consumer. */
static int limited_room_locked(struct ringbuf *rb, size_t *want)
{
    size_t room;

    if (rb->overflow_error || spill_pending(rb) || rb->len >= rb->limit) {
        if (rb->policy == POPEN2_BLOCK)
            return -EAGAIN;
        if (!rb->stage && !(rb->stage = malloc(STAGE_SIZE)))
            return -EAGAIN; /* out of memory: wait as an unbounded ring does */
        rb->staged = true;
        return 1;
    }
    room = rb->limit - rb->len;
    if (*want > room)
        *want = room;
    if (make_room_locked(rb, *want) == 0 || (rb->buf && rb->len < rb->cap))
        return 0;
    return -EAGAIN;
}

/* Copies n bytes to the ring's tail; room for them was made. */
static void put_locked(struct ringbuf *rb, const char *src, size_t n)
{
    size_t tail = (rb->head + rb->len) % rb->cap;
    size_t first = rb->cap - tail < n ? rb->cap - tail : n;

    memcpy(rb->buf + tail, src, first);
    memcpy(rb->buf, src + first, n - first);
    rb->len += n;
}

/* KEEP_TAIL: the newest `limit` bytes survive, the oldest go. */
static void keep_tail_locked(struct ringbuf *rb, const char *src, size_t n)
{
    size_t drop;

    if (n >= rb->limit) {
        rb->dropped += rb->len + (n - rb->limit);
        src += n - rb->limit;
        n = rb->limit;
        rb->len = 0;
        rb->head = 0;
    } else if (rb->len + n > rb->limit) {
        drop = rb->len + n - rb->limit;
        rb->dropped += drop;
        rb->head = (rb->head + drop) % rb->cap;
        rb->len -= drop;
    }
    if (make_room_locked(rb, n) < 0 || rb->cap - rb->len < n) {
        rb->dropped += n; /* out of memory: these are the ones lost */
        return;
    }
    put_locked(rb, src, n);
}

static void commit_staged_locked(struct ringbuf *rb, size_t n)
{
    int r;

    rb->total += n;
    if (rb->overflow_error) {
        rb->dropped += n;
    } else if (rb->policy == POPEN2_FAIL) {
        rb->overflow_error = ENOBUFS;
        rb->dropped += n;
    } else if (rb->policy == POPEN2_KEEP_TAIL) {
        keep_tail_locked(rb, rb->stage, n);
    } else { /* POPEN2_SPILL */
        if (rb->spill_fd < 0)
            rb->spill_fd = spill_open();
        r = rb->spill_fd < 0 ? rb->spill_fd : spill_write(rb->spill_fd, rb->spill_wr, rb->stage, n);
        if (r < 0) {
            /* A full or broken disk ends the stream after what was kept. */
            rb->spill_fd = rb->spill_fd < 0 ? -1 : rb->spill_fd;
            rb->overflow_error = -r;
            rb->dropped += n;
        } else {
            rb->spill_wr += n;
            rb->spilled += n;
        }
    }
    if (rb->len > rb->high_water)
        rb->high_water = rb->len;
}

/* Consumer, mu held, ring empty: the oldest spilled bytes. */
static ssize_t spill_read_locked(struct ringbuf *rb, void *dst, size_t n)
{
    unsigned long long left = rb->spill_wr - rb->spill_rd;
    ssize_t k;

    if (n > left)
        n = (size_t)left;
    /* A zero-byte read is 0, as from the ring: pread of 0 bytes returns 0,
     * which spill_read takes for a file that lost data (EIO).  Found by
     * fuzz/fuzz_ringbuf; latent today (popen2_read returns early for 0 and
     * stdio never asks for 0 bytes), but the ring's contract allows it. */
    if (n == 0)
        return 0;
    k = spill_read(rb->spill_fd, rb->spill_rd, dst, n);
    if (k < 0)
        return k;
    rb->spill_rd += (unsigned long long)k;
    if (rb->spill_rd == rb->spill_wr) {
        /* All read back: new bytes may use the ring again. */
        spill_reset(rb->spill_fd);
        rb->spill_rd = rb->spill_wr = 0;
    }
    wake(rb);
    return k;
}

int ringbuf_set_limit(struct ringbuf *rb, size_t limit, int policy)
{
    if (policy != POPEN2_BLOCK && policy != POPEN2_SPILL && policy != POPEN2_FAIL &&
        policy != POPEN2_KEEP_TAIL)
        return -EINVAL;
    pthread_mutex_lock(&rb->mu);
    rb->limit = limit;
    rb->policy = policy;
    pthread_mutex_unlock(&rb->mu);
    return 0;
}

unsigned long long ringbuf_available(struct ringbuf *rb)
{
    unsigned long long n;

    pthread_mutex_lock(&rb->mu);
    n = rb->consumer_done ? 0 : rb->len + (rb->spill_wr - rb->spill_rd);
    pthread_mutex_unlock(&rb->mu);
    return n;
}

bool ringbuf_readable(struct ringbuf *rb)
{
    bool r;

    pthread_mutex_lock(&rb->mu);
    r = !rb->consumer_done && (rb->len || limited_pending_locked(rb) || rb->producer_done);
    pthread_mutex_unlock(&rb->mu);
    return r;
}

void ringbuf_stats(struct ringbuf *rb, struct popen2_stream_stats *st)
{
    pthread_mutex_lock(&rb->mu);
    st->total = rb->total;
    st->dropped = rb->dropped;
    st->spilled = rb->spilled;
    st->high_water = rb->high_water;
    st->buffered = rb->len + (rb->spill_wr - rb->spill_rd);
    pthread_mutex_unlock(&rb->mu);
}

int ringbuf_reserve(struct ringbuf *rb, size_t want, void **space, size_t *n)
{
    size_t tail;
    int r = 0;

    pthread_mutex_lock(&rb->mu);
    rb->staged = false;
    for (;;) {
        if (rb->consumer_done) {
            r = -EPIPE;
            goto finish;
        }
        if (wait_for_direct_locked(rb))
            continue;
        if (rb->limit) {
            /* Beyond popen2: a bounded ring (see limited_room_locked). */
            r = limited_room_locked(rb, &want);
            if (r == 1) {
                *space = rb->stage;
                *n = STAGE_SIZE;
                rb->producer_busy = true; /* a read() in flight, as below */
                r = 0;
                goto finish;
            }
            if (r == 0)
                break;
            r = 0;
            wait_locked(rb); /* BLOCK at the limit, or out of memory */
            continue;
        }
        if (make_room_locked(rb, want) == 0 || (rb->buf && rb->len < rb->cap))
            break;
        /* Full and out of memory: stop draining until the consumer reads.
         * The child then waits on a full pipe, but no byte is dropped. */
        wait_locked(rb);
    }
    tail = rb->head + rb->len;
    if (tail >= rb->cap) {
        tail -= rb->cap;
        *n = rb->head - tail;
    } else {
        *n = rb->cap - tail;
    }
    if (rb->limit && *n > rb->limit - rb->len)
        *n = rb->limit - rb->len;
    *space = rb->buf + tail;
    rb->producer_busy = true;
finish:
    pthread_mutex_unlock(&rb->mu);
    return r;
}

int ringbuf_commit(struct ringbuf *rb, size_t n)
{
    int r = 0;

    pthread_mutex_lock(&rb->mu);
    rb->producer_busy = false;
    if (rb->consumer_done) {
        r = -EPIPE;
    } else if (rb->staged) {
        /* Beyond popen2: the bytes are in the stage (bounded ring).  A
         * commit of 0 only gives the reservation up (see pump.c). */
        rb->staged = false;
        if (n) {
            commit_staged_locked(rb, n);
            wake(rb);
        }
    } else {
        rb->len += n;
        rb->total += n;
        if (rb->len > rb->high_water)
            rb->high_water = rb->len;
        if (n)
            wake(rb);
    }
    pthread_mutex_unlock(&rb->mu);
    return r;
}

ssize_t ringbuf_append(struct ringbuf *rb, const void *src, size_t n)
{
    size_t tail, first;
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
    r = make_room_locked(rb, n);
    if (r < 0)
        goto finish;
    tail = (rb->head + rb->len) % rb->cap;
    first = rb->cap - tail < n ? rb->cap - tail : n;
    memcpy(rb->buf + tail, src, first);
    memcpy(rb->buf, (const char *)src + first, n - first);
    rb->len += n;
    rb->total += n;
    if (rb->len > rb->high_water)
        rb->high_water = rb->len;
    wake(rb);
    r = (ssize_t)n;
finish:
    pthread_mutex_unlock(&rb->mu);
    return r;
}

void ringbuf_close_producer(struct ringbuf *rb, int err)
{
    struct timespec until;

    pthread_mutex_lock(&rb->mu);
    /* A direct read uses the producer's source: it must end before the
     * producer closes it.  (Rare: the producer only gets here while a claim
     * is held when its poll() fails.)  The consumer does not signal the end
     * of a claim, hence the timed wait. */
    while (rb->direct) {
        clock_gettime(CLOCK_MONOTONIC, &until);
        add_ns(&until, 1000 * 1000);
        wait_until_locked(rb, &until);
    }
    rb->producer_done = true;
    rb->producer_busy = false;
    rb->error = err;
    wake(rb);
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
    wake(rb); /* a producer out of memory waits for this space */
    return old;
}

ssize_t ringbuf_read(struct ringbuf *rb, void *dst, size_t n, bool block)
{
    const char *base;
    char *old;
    size_t k, first, head, cap;
    ssize_t r;

    pthread_mutex_lock(&rb->mu);
    while (rb->len == 0 && !rb->producer_done && block && !limited_pending_locked(rb))
        wait_locked(rb);
    if (rb->len == 0) {
        /* Beyond popen2: spilled bytes come after the ring's, and a
         * stream that overflowed reports why after its data. */
        if (rb->spill_wr > rb->spill_rd)
            r = spill_read_locked(rb, dst, n);
        else if (rb->overflow_error)
            r = -rb->overflow_error;
        else
            r = rb->producer_done ? -rb->error : -EAGAIN;
        pthread_mutex_unlock(&rb->mu);
        return r;
    }
    /* Hand over whatever is there, at once: interactive readers (fgets on a
     * prompt) must not wait for more bytes than the child wrote. */
    k = n < rb->len ? n : rb->len;
    if (rb->limit) {
        /* Beyond popen2: a bounded ring's producer may drop the oldest
         * bytes (KEEP_TAIL) under the lock, so its consumer copies under
         * the lock too. */
        first = rb->cap - rb->head < k ? rb->cap - rb->head : k;
        memcpy(dst, rb->buf + rb->head, first);
        memcpy((char *)dst + first, rb->buf, k - first);
        old = finish_read_locked(rb, k);
        pthread_mutex_unlock(&rb->mu);
        free(old);
        return (ssize_t)k;
    }
    base = rb->buf;
    head = rb->head;
    cap = rb->cap;
    /* The k bytes are ours: the producer only writes free space, and a grow
     * while we copy keeps `base` alive in `retired` (resize_locked). */
    rb->peeking = true;
    pthread_mutex_unlock(&rb->mu);

    first = cap - head < k ? cap - head : k;
    memcpy(dst, base + head, first);
    memcpy((char *)dst + first, base, k - first);

    pthread_mutex_lock(&rb->mu);
    old = finish_read_locked(rb, k);
    pthread_mutex_unlock(&rb->mu);
    free(old);
    return (ssize_t)k;
}

void ringbuf_peek(struct ringbuf *rb, const void **data, size_t *n)
{
    pthread_mutex_lock(&rb->mu);
    while (rb->len == 0 && !rb->producer_done)
        wait_locked(rb);
    if (rb->len == 0) {
        *data = NULL;
        *n = 0;
    } else {
        *data = rb->buf + rb->head;
        *n = rb->cap - rb->head < rb->len ? rb->cap - rb->head : rb->len;
        rb->peeking = true;
    }
    pthread_mutex_unlock(&rb->mu);
}

void ringbuf_consume(struct ringbuf *rb, size_t n)
{
    char *old;

    pthread_mutex_lock(&rb->mu);
    if (n > rb->len)
        n = rb->len; /* the consumer closed meanwhile: nothing left to drop */
    rb->head = rb->cap ? (rb->head + n) % rb->cap : 0;
    rb->len -= n;
    rb->peeking = false;
    old = rb->retired;
    rb->retired = NULL;
    wake(rb);
    pthread_mutex_unlock(&rb->mu);
    free(old);
}

void ringbuf_close_consumer(struct ringbuf *rb, int err)
{
    pthread_mutex_lock(&rb->mu);
    rb->consumer_done = true;
    rb->consumer_error = err;
    /* Nobody will read these bytes.  The ring stays where it is: a producer
     * reservation in flight is dropped by its commit. */
    rb->head = rb->cap ? (rb->head + rb->len) % rb->cap : 0;
    rb->len = 0;
    if (rb->spill_fd >= 0 && rb->spill_wr) { /* nor the spilled ones */
        spill_reset(rb->spill_fd);
        rb->spill_wr = rb->spill_rd = 0;
    }
    wake(rb);
    pthread_mutex_unlock(&rb->mu);
}

bool ringbuf_direct_begin(struct ringbuf *rb)
{
    bool ok;

    pthread_mutex_lock(&rb->mu);
    /* Beyond popen2: spilled bytes, or an overflow error to report, come
     * before anything still in the pipe. */
    ok = rb->len == 0 && !limited_pending_locked(rb) && !rb->producer_busy &&
         !rb->producer_done && !rb->consumer_done;
    if (ok)
        rb->direct = true;
    pthread_mutex_unlock(&rb->mu);
    return ok;
}

void ringbuf_direct_end(struct ringbuf *rb, size_t n)
{
    pthread_mutex_lock(&rb->mu);
    rb->direct = false;
    rb->total += n;
    /* No wake-up: the producer parked in ringbuf_reserve waits out the
     * lease by itself, which is the point (see ringbuf.h). */
    clock_gettime(CLOCK_MONOTONIC, &rb->lease_end);
    add_ns(&rb->lease_end, LEASE_NS);
    pthread_mutex_unlock(&rb->mu);
}

size_t ringbuf_length(struct ringbuf *rb)
{
    size_t n;

    pthread_mutex_lock(&rb->mu);
    n = rb->len;
    pthread_mutex_unlock(&rb->mu);
    return n;
}
