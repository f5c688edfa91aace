/* ringbuf: the growable byte ring between a pipe thread and a FILE*.
 *
 * The producer never waits for space: when a write does not fit, the ring
 * doubles.  A consumer that keeps up keeps the ring at its first size, since
 * an empty ring restarts at offset 0 and so offers its whole capacity as one
 * contiguous run.  A ring that grew shrinks back once it is empty again, so
 * memory follows what is buffered, not what once was.
 *
 * Only the producer reallocates, under mu.  The consumer of the output rings
 * copies under mu; the consumer of the input ring (the writer thread) writes
 * straight from a peeked run without mu, so a grow during a peek retires the
 * old buffer instead of freeing it (see ringbuf_consume).
 */
#include "config.h"

#include "ringbuf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* An empty ring at least this many times its first size gives memory back. */
#define SHRINK_FACTOR 16

int ringbuf_init(struct ringbuf *rb, size_t min_cap)
{
    int r;

    memset(rb, 0, sizeof *rb);
    rb->min_cap = min_cap ? min_cap : 4096;
    r = pthread_mutex_init(&rb->mu, NULL);
    if (r)
        return -r;
    r = pthread_cond_init(&rb->cond, NULL);
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

/* Moves the data into a new buffer of new_cap bytes starting at offset 0.
 * Called by the producer with mu held.  -ENOMEM leaves the ring as it was. */
static int resize_locked(struct ringbuf *rb, size_t new_cap)
{
    char *nb = malloc(new_cap);
    size_t first;

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
    return resize_locked(rb, new_cap);
}

int ringbuf_reserve(struct ringbuf *rb, size_t want, void **space, size_t *n)
{
    size_t tail;
    int r = 0;

    pthread_mutex_lock(&rb->mu);
    for (;;) {
        if (rb->consumer_done) {
            r = -EPIPE;
            goto finish;
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
    *space = rb->buf + tail;
finish:
    pthread_mutex_unlock(&rb->mu);
    return r;
}

int ringbuf_commit(struct ringbuf *rb, size_t n)
{
    int r = 0;

    pthread_mutex_lock(&rb->mu);
    if (rb->consumer_done) {
        r = -EPIPE;
    } else {
        rb->len += n;
        rb->total += n;
        if (rb->len > rb->high_water)
            rb->high_water = rb->len;
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
    pthread_mutex_lock(&rb->mu);
    rb->producer_done = true;
    rb->error = err;
    wake(rb);
    pthread_mutex_unlock(&rb->mu);
}

ssize_t ringbuf_read(struct ringbuf *rb, void *dst, size_t n, bool block)
{
    size_t k, first;
    ssize_t r;

    pthread_mutex_lock(&rb->mu);
    while (rb->len == 0 && !rb->producer_done && block)
        wait_locked(rb);
    if (rb->len == 0) {
        r = rb->producer_done ? -rb->error : -EAGAIN;
        goto finish;
    }
    /* Hand over whatever is there, at once: interactive readers (fgets on a
     * prompt) must not wait for more bytes than the child wrote. */
    k = n < rb->len ? n : rb->len;
    first = rb->cap - rb->head < k ? rb->cap - rb->head : k;
    memcpy(dst, rb->buf + rb->head, first);
    memcpy((char *)dst + first, rb->buf, k - first);
    /* head is not reset to 0 when this empties the ring: the producer may
     * be filling a reservation right behind the data.  Only the producer
     * rewinds an empty ring (make_room_locked). */
    rb->head = (rb->head + k) % rb->cap;
    rb->len -= k;
    wake(rb); /* a producer out of memory waits for this space */
    r = (ssize_t)k;
finish:
    pthread_mutex_unlock(&rb->mu);
    return r;
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
    wake(rb);
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
