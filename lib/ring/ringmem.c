/* ringmem: the ring's memory and its condition variable.
 *
 * Growing (doubling, with realloc/mremap where no consumer peeks), shrinking
 * an emptied ring back to its first size, the waits and wake-ups on the
 * ring's condition, and the count of undelivered input for the exit wait.
 * ringbuf.c (the producer/consumer protocol), ringlimit.c (the limit
 * policies) and ringinput.c (bounded input) all build on these; this file
 * calls none of them, so the ring's files call each other in one direction
 * only.  All but init and destroy run with the ring's mu held.
 */
#include "config.h"

#include "runtime/runtime.h"
#include "popen2.h"
#include "ring/ring.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* An empty ring at least this many times its first size gives memory back.
 * Large enough that a stream moving 1 MiB pipefuls through a 64 KiB ring
 * settles at a few MiB instead of freeing and refaulting them at every
 * pause (fresh pages, measured here, copy at a tenth of the speed). */
#define SHRINK_FACTOR 64

/* A large ring's fresh pages are faulted in ahead of the producer with one
 * system call, not one fault per page as its writes would
 * (p2i_memory_prefault: 1.5-1.8x faster into fresh memory, measured): at
 * most PREFAULT_STEP, and at most 1/PREFAULT_SHARE of what the ring holds,
 * so the memory a ring has in beyond its bytes stays a small share of
 * them (1000 objects holding 1 MiB each had 1.1 MiB more each when a
 * doubled ring was faulted in to its end).  Only steps of at least
 * PREFAULT_LEAST, so only rings holding PREFAULT_MIN bytes or more: fewer
 * pages are not worth a call. */
#define PREFAULT_STEP (8 * 1024 * 1024)
#define PREFAULT_SHARE 16
#define PREFAULT_MIN (1024 * 1024)
#define PREFAULT_LEAST (PREFAULT_MIN / PREFAULT_SHARE)

/* A producer that cannot get memory looks again after this long, doubling
 * up to the cap.  Nothing announces that memory came back, and the consumer
 * may have nothing to read (the ring has no buffer yet, or the bytes wait
 * for a scratch buffer), so only a timed wait resumes the stream; the cap
 * bounds both the stall after memory returns and the cost of a stream that
 * stays out of memory (ten wake-ups a second). */
#define MEMORY_RETRY_FIRST_MS 1
#define MEMORY_RETRY_MAX_MS 100

/* An input ring holding undelivered bytes is counted (linger.c); mu held. */
void p2i_ringmem_set_lingering_locked(struct ringbuf *rb, bool on)
{
    if (!rb->acct.linger || rb->acct.lingering == on)
        return;
    rb->acct.lingering = on;
    p2i_linger_add(on ? 1 : -1);
}

int p2i_ringmem_init(struct ringbuf *rb, size_t min_cap)
{
    int r;

    memset(rb, 0, sizeof *rb);
    rb->min_cap = min_cap ? min_cap : 4096;
    rb->bound.spill_fd = -1;
    r = pthread_mutex_init(&rb->mu, NULL);
    if (r)
        return -r;
    /* Timed waits (the direct-read lease) count on the monotonic clock. */
    r = p2i_clock_cond_init(&rb->cond);
    if (r < 0)
        pthread_mutex_destroy(&rb->mu);
    return r;
}

void p2i_ringmem_destroy(struct ringbuf *rb)
{
    p2i_ringmem_set_lingering_locked(rb, false); /* nobody else uses it any more */
    p2i_warm_give(rb->buf, rb->cap, rb->touched);
    free(rb->retired);
    free(rb->stage);
    free(rb->lines.q); /* the line stamps' queue (ringline.c) is ring memory too */
    memset(&rb->lines, 0, sizeof rb->lines);
    rb->bound.spill_fd = p2i_fd_close(rb->bound.spill_fd);
    pthread_cond_destroy(&rb->cond);
    pthread_mutex_destroy(&rb->mu);
    rb->buf = rb->retired = NULL;
}

void p2i_ringmem_wake(struct ringbuf *rb)
{
    /* Skipping the broadcast when nobody waits keeps the fast path free of
     * futex calls; waiters is only changed under mu. */
    if (rb->waiters)
        pthread_cond_broadcast(&rb->cond);
}

/* A thread cancelled in a wait (pthread_cond_wait re-takes mu first) must
 * not leave the ring locked: the next read would hang for ever. */
static void wait_cancelled(void *arg)
{
    struct ringbuf *rb = arg;

    rb->waiters--;
    pthread_mutex_unlock(&rb->mu);
}

void p2i_ringmem_wait_locked(struct ringbuf *rb)
{
    rb->waiters++;
    pthread_cleanup_push(wait_cancelled, rb);
    pthread_cond_wait(&rb->cond, &rb->mu);
    pthread_cleanup_pop(0);
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
    /* A bounded ring may grow by less than double: the run
     * after the break moves past the old end only if it fits there. */
    if (wrapped && wrapped <= first && rb->cap + wrapped <= new_cap) {
        memcpy(nb + rb->cap, nb, wrapped);
    } else if (wrapped) {
        memmove(nb + new_cap - first, nb + rb->head, first);
        rb->head = new_cap - first;
    }
    rb->touched = rb->cap + (wrapped && wrapped <= first ? wrapped : 0);
    rb->buf = nb;
    rb->cap = new_cap;
    return 0;
}

size_t p2i_ringmem_prefault_locked(struct ringbuf *rb, size_t off, size_t n, char **start)
{
    size_t from, stop, step = rb->len / PREFAULT_SHARE, run;

    if (step > PREFAULT_STEP)
        step = PREFAULT_STEP;
    run = n < step ? n : step;
    /* The producer writes the run offered from its start, at most a
     * pipeful per read, so only that start decides whether to fault pages
     * in, and only a step of them: a ring in a kept buffer is offered a
     * free run to the buffer's end, far past the touched mark, while its
     * writes stay below the mark; and pages faulted in far ahead would
     * count as memory the ring uses. */
    if (step < PREFAULT_LEAST || off + run <= rb->touched)
        return 0;
    from = off > rb->touched ? off : rb->touched;
    stop = rb->cap - from > step ? from + step : rb->cap;
    rb->touched = stop;
    *start = rb->buf + from;
    return stop - from;
}

void p2i_ringmem_wait_until_locked(struct ringbuf *rb, const struct timespec *until)
{
    rb->waiters++;
    pthread_cleanup_push(wait_cancelled, rb);
    pthread_cond_timedwait(&rb->cond, &rb->mu, until);
    pthread_cleanup_pop(0);
    rb->waiters--;
}

void p2i_ringmem_wait_for_memory_locked(struct ringbuf *rb, int *backoff_ms)
{
    struct timespec until;
    long long wake;

    if (*backoff_ms < MEMORY_RETRY_FIRST_MS)
        *backoff_ms = MEMORY_RETRY_FIRST_MS;
    wake = p2i_clock_now_ms() + *backoff_ms;
    until.tv_sec = (time_t)(wake / 1000);
    until.tv_nsec = (long)(wake % 1000) * 1000000L;
    p2i_ringmem_wait_until_locked(rb, &until);
    *backoff_ms = *backoff_ms > MEMORY_RETRY_MAX_MS / 2 ? MEMORY_RETRY_MAX_MS : *backoff_ms * 2;
}

/* The largest kept buffer a ring growing to new_cap may take.  A ring
 * nobody has read from yet is holding a stream for later (stderr while
 * stdout is read to its end) and may grow to the whole stream: any will do.
 * A ring whose reader keeps taking bytes grew for a moment and will shrink
 * back; a buffer much larger than it needs would be lost to the ring that
 * holds a whole stream, in the same object or the next. */
static size_t warm_most(const struct ringbuf *rb, size_t new_cap)
{
    if (rb->acct.total == rb->len)
        return SIZE_MAX;
    return new_cap > SIZE_MAX / 16 ? SIZE_MAX : new_cap * 16;
}

/* Moves the data into a new buffer of new_cap bytes starting at offset 0
 * (or a larger one kept warm (warm.c), for a ring without a limit).
 * Called by the producer with mu held.  -ENOMEM leaves the ring as it was. */
static int resize_locked(struct ringbuf *rb, size_t new_cap)
{
    char *nb = NULL;
    size_t got = new_cap, got_touched = 0;
    bool warm;

    /* A kept buffer's pages were touched before: copying the bytes held
     * into it costs less than growing into fresh pages (warm.c).  A
     * bounded ring never holds more memory than its limit, so it grows as
     * before. */
    if (new_cap > rb->cap && new_cap >= P2I_WARM_MIN && !rb->bound.limit.max)
        nb = p2i_warm_take(new_cap, warm_most(rb, new_cap), &got, &got_touched);
    warm = nb != NULL;
    if (!nb && !rb->peeking && new_cap > rb->cap)
        return grow_in_place_locked(rb, new_cap);
    if (!nb)
        nb = malloc(new_cap);
    if (!nb)
        return -ENOMEM;
    /* The copy is the first write to a fresh buffer's pages: fault them in
     * at once rather than one by one (see PREFAULT_STEP). */
    if (!warm && rb->len >= PREFAULT_MIN)
        p2i_memory_prefault(nb, rb->len);
    if (rb->len)
        p2i_ring_copy_out(nb, rb->buf, rb->cap, rb->head, rb->len);
    if (rb->peeking && !rb->retired)
        rb->retired = rb->buf; /* the consumer still reads from it */
    else
        p2i_warm_give(rb->buf, rb->cap, rb->touched);
    /* A kept buffer as far as it was touched; a fresh one as far as the
     * copy above wrote. */
    rb->touched = warm && got_touched > rb->len ? got_touched : rb->len;
    rb->kept = warm;
    rb->buf = nb;
    rb->cap = got;
    rb->head = 0;
    return 0;
}

/* Makes room for `need` more bytes (or any room at all when need is 0 and
 * the ring is full); returns 0 or -ENOMEM.  Producer only, mu held.  A
 * bounded ring's ceiling is its limit, or the bytes it holds plus `need`
 * when a producer asks for more than that: the producer decides what may
 * pass the limit (ringinput.c lets a close through), this only keeps the
 * memory from growing beyond what was asked for. */
int p2i_ringmem_make_room_locked(struct ringbuf *rb, size_t need)
{
    size_t new_cap, ceiling = 0;
    char *nb;

    if (rb->len == 0) {
        rb->head = 0; /* an empty ring offers its whole capacity in one run */
        if (rb->cap >= SHRINK_FACTOR * rb->min_cap && !rb->peeking && need <= rb->min_cap) {
            /* The small buffer first: a ring that cannot get it keeps
             * draining into the large one rather than being left with no
             * buffer at all until memory comes back. */
            nb = malloc(rb->min_cap);
            if (nb) {
                p2i_warm_give(rb->buf, rb->cap, rb->touched);
                rb->buf = nb;
                rb->cap = rb->min_cap;
                rb->touched = 0;
                rb->kept = false;
            }
        }
    }
    if (rb->bound.limit.max) {
        if (need > SIZE_MAX - rb->len)
            return -ENOMEM;
        ceiling = rb->len + need > rb->bound.limit.max ? rb->len + need : rb->bound.limit.max;
    }
    if (!rb->buf) {
        new_cap = rb->min_cap;
        while (new_cap < need) {
            if (new_cap > SIZE_MAX / 2)
                return -ENOMEM;
            new_cap *= 2;
        }
        if (ceiling && new_cap > ceiling) /* bounded: never hold more */
            new_cap = ceiling;
        rb->buf = malloc(new_cap);
        if (!rb->buf)
            return -ENOMEM;
        rb->cap = new_cap;
        rb->touched = 0;
        rb->kept = false;
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
    if (ceiling && new_cap > ceiling) {
        /* Bounded ring at its ceiling: whatever room is left will do. */
        new_cap = ceiling;
        if (new_cap <= rb->cap)
            return rb->cap > rb->len ? 0 : -ENOBUFS;
    }
    return resize_locked(rb, new_cap);
}
