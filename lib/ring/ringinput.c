/* ringinput: the input ring's producer side, for a caller that wants its
 * writes to tochild bounded (popen2_attr_set_limit on stream 0).
 *
 * The writer thread is the consumer; it waits only for the child to read.
 * A producer here waits only for the consumer, never for the child's
 * output, so it cannot deadlock against output streams that are unbounded
 * or spill (it can against an output stream with POPEN2_BLOCK that the
 * caller does not read: the child then stops reading too).
 *
 * Lending: a large blocking write need not be copied into the ring at all.
 * The producer waits until the ring is empty, lends its own buffer, and the
 * writer thread write()s straight from it; the producer returns once every
 * byte is in the pipe.  The order of the bytes is kept: the buffer is lent
 * only after every byte appended before it has been consumed, and nothing
 * is appended while it is lent (stdio calls us under the FILE's lock, so
 * there is one producer at a time).
 *
 * Cancellation is held off while a producer waits: a thread cancelled with
 * its buffer lent would leave the writer thread reading a dead stack.
 */
#include "config.h"

#include "runtime/runtime.h"
#include "popen2.h"
#include "ring/ring.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

/* Bytes queued, lent, or taken by the consumer but not yet written. */
static bool undelivered_locked(const struct ringbuf *rb)
{
    return rb->len || rb->lend.len || rb->peeking || rb->lend.peeking;
}

static ssize_t consumer_error_locked(const struct ringbuf *rb)
{
    return -(rb->consumer_error ? rb->consumer_error : EPIPE);
}

ssize_t p2i_ringinput_append(struct ringbuf *rb, const void *src, size_t n, bool block)
{
    const char *p = src;
    size_t done = 0, room, k;
    ssize_t r = 0;
    int oldstate, backoff_ms = 0;

    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &oldstate);
    pthread_mutex_lock(&rb->mu);
    while (done < n) {
        if (rb->consumer_done) {
            r = consumer_error_locked(rb);
            break;
        }
        room = rb->bound.limit.max > rb->len ? rb->bound.limit.max - rb->len : 0;
        if (room == 0) {
            if (!block) {
                r = -ENOBUFS;
                break;
            }
            p2i_ringmem_wait_locked(rb);
            continue;
        }
        k = n - done < room ? n - done : room;
        if (p2i_ringmem_make_room_locked(rb, k) < 0 || rb->cap - rb->len < k) {
            /* Out of memory: what fits now, else wait (or fail) as above. */
            k = rb->buf ? rb->cap - rb->len : 0;
            if (k == 0) {
                if (!block) {
                    r = -ENOMEM;
                    break;
                }
                /* A ring with no buffer yet gives the writer thread nothing
                 * to consume, so nobody would wake an untimed wait. */
                p2i_ringmem_wait_for_memory_locked(rb, &backoff_ms);
                continue;
            }
            if (k > n - done)
                k = n - done;
        }
        p2i_ring_copy_in(rb->buf, rb->cap, (rb->head + rb->len) % rb->cap, p + done, k);
        rb->len += k;
        p2i_ringmem_set_lingering_locked(rb, true);
        rb->acct.total += k;
        if (rb->len > rb->acct.high_water)
            rb->acct.high_water = rb->len;
        done += k;
        p2i_ringmem_wake(rb);
    }
    pthread_mutex_unlock(&rb->mu);
    pthread_setcancelstate(oldstate, NULL);
    return done ? (ssize_t)done : r;
}

ssize_t p2i_ringinput_lend(struct ringbuf *rb, const void *src, size_t n)
{
    ssize_t r;
    int oldstate;

    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &oldstate);
    pthread_mutex_lock(&rb->mu);
    while ((rb->len || rb->peeking) && !rb->consumer_done)
        p2i_ringmem_wait_locked(rb);
    if (rb->consumer_done) {
        r = consumer_error_locked(rb);
        goto finish;
    }
    rb->lend.buf = src;
    rb->lend.len = n;
    rb->lend.done = 0;
    rb->acct.total += n; /* high_water is the ring's memory: a lent buffer is the caller's */
    p2i_ringmem_set_lingering_locked(rb, true);
    p2i_ringmem_wake(rb);
    while ((rb->lend.len || rb->lend.peeking) && !rb->consumer_done)
        p2i_ringmem_wait_locked(rb);
    /* A consumer that closed meanwhile counted the rest as dropped. */
    r = rb->lend.done ? (ssize_t)rb->lend.done : consumer_error_locked(rb);
    rb->lend.buf = NULL;
    rb->lend.len = 0;
    rb->lend.done = 0;
finish:
    pthread_mutex_unlock(&rb->mu);
    pthread_setcancelstate(oldstate, NULL);
    return r;
}

/* Waits until nothing is undelivered (0), the consumer closed (its error),
 * the deadline (a p2i_clock_now_ms value; -1 none) passed, or, with at_exit, the
 * exit's stall clock ran out (linger.c): -ETIMEDOUT for either.  Every
 * writer's delivery restarts that clock, this ring's among them. */
static int wait_undelivered(struct ringbuf *rb, long long deadline_ms, bool at_exit)
{
    struct timespec until;
    long long wake;
    int r = 0, oldstate, left;

    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &oldstate);
    pthread_mutex_lock(&rb->mu);
    while (undelivered_locked(rb) && !rb->consumer_done) {
        left = at_exit ? p2i_linger_stall_left_ms() : -1;
        if (left == 0 || (deadline_ms >= 0 && p2i_clock_ms_left(deadline_ms) == 0)) {
            r = -ETIMEDOUT;
            break;
        }
        /* The stall clock is looked at every 50 ms; the deadline is kept
         * exactly. */
        wake = left > 0 ? p2i_clock_now_ms() + (left < 50 ? left : 50) : -1;
        if (deadline_ms >= 0 && (wake < 0 || deadline_ms < wake))
            wake = deadline_ms;
        if (wake < 0) {
            p2i_ringmem_wait_locked(rb);
        } else {
            until.tv_sec = (time_t)(wake / 1000);
            until.tv_nsec = (long)(wake % 1000) * 1000000L;
            p2i_ringmem_wait_until_locked(rb, &until);
        }
    }
    if (r == 0 && rb->consumer_done)
        r = (int)consumer_error_locked(rb);
    pthread_mutex_unlock(&rb->mu);
    pthread_setcancelstate(oldstate, NULL);
    return r;
}

int p2i_ringinput_wait_drained(struct ringbuf *rb, long long deadline_ms)
{
    return wait_undelivered(rb, deadline_ms, false);
}

int p2i_ringinput_exit_wait(struct ringbuf *rb)
{
    return wait_undelivered(rb, -1, true);
}
