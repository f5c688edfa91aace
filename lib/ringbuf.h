/* ringbuf: a growable byte ring shared by one producer and one consumer.
 *
 * Locking: every field is guarded by mu.  The producer may fill the free
 * space it reserved, and the consumer may read the data it peeked, without
 * holding mu: only the producer ever moves the buffer (grow or shrink), and a
 * buffer replaced while the consumer peeks into it is kept alive in `retired`
 * until the consumer is done with it.
 */
#ifndef POPEN2_RINGBUF_H
#define POPEN2_RINGBUF_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

struct ringbuf {
    pthread_mutex_t mu;
    pthread_cond_t cond;  /* data appended, space freed, or a side closed */
    char *buf;            /* NULL until the first byte needs room */
    char *retired;        /* old buffer the consumer still peeks into */
    size_t cap;           /* bytes allocated at buf */
    size_t head;          /* offset of the oldest byte */
    size_t len;           /* bytes buffered */
    size_t min_cap;       /* first allocation, and what an empty ring shrinks back to */
    int waiters;          /* threads blocked on cond */
    bool peeking;         /* consumer holds a pointer from ringbuf_peek */
    bool producer_busy;   /* between ringbuf_reserve and ringbuf_commit */
    bool direct;          /* the consumer reads the producer's source itself */
    struct timespec lease_end; /* the producer stays parked until then */
    bool producer_done;   /* no byte will be appended any more (EOF) */
    bool consumer_done;   /* nobody reads any more: appends fail, data is dropped */
    int error;            /* errno that ended the producer, reported after the data */
    int consumer_error;   /* errno that ended the consumer, reported to appends */
    unsigned long long total;   /* bytes ever appended */
    size_t high_water;          /* most bytes buffered at once */

    /* Beyond popen2: bounded memory (ringbuf_set_limit; the "bounded rings"
     * section of ringbuf.c).
     * With limit 0 none of this is used and the ring behaves as above. */
    size_t limit;               /* most bytes held in memory; 0 unbounded */
    int policy;                 /* POPEN2_BLOCK, _SPILL, _FAIL or _KEEP_TAIL */
    char *stage;                /* producer's scratch for bytes that do not go to buf */
    bool staged;                /* the last reserve handed out stage */
    int overflow_error;         /* ENOBUFS (FAIL) or the spill file's errno: later
                                 * bytes are dropped, reported after the data */
    int spill_fd;               /* SPILL: unlinked temporary file, -1 until needed */
    unsigned long long spill_wr; /* bytes written to the spill file */
    unsigned long long spill_rd; /* of which the consumer has read this many */
    unsigned long long dropped; /* bytes discarded (KEEP_TAIL, FAIL) */
    unsigned long long spilled; /* bytes that went through the spill file */
};

/* Prepares an empty ring; 0 or -errno. */
int ringbuf_init(struct ringbuf *rb, size_t min_cap);
/* Frees the ring; nobody may use it any more. */
void ringbuf_destroy(struct ringbuf *rb);

/* Producer, zero-copy: finds contiguous free space of at least one byte,
 * growing the ring (doubling) when less than `want` bytes are free.  Waits
 * only when the ring is full and cannot grow (out of memory), until the
 * consumer frees some.  0, or -EPIPE once the consumer has closed. */
int ringbuf_reserve(struct ringbuf *rb, size_t want, void **space, size_t *n);
/* Producer: makes n bytes written into the reserved space readable (n may
 * be 0 to give the reservation up).  0, or -EPIPE once the consumer has
 * closed (the bytes are dropped). */
int ringbuf_commit(struct ringbuf *rb, size_t n);
/* Producer, copying: appends all n bytes or none.  n, -ENOMEM, or the
 * consumer's error (-EPIPE by default) once it has closed. */
ssize_t ringbuf_append(struct ringbuf *rb, const void *src, size_t n);
/* Producer: no more bytes (err 0 for EOF, else the errno to report after the
 * buffered bytes).  Waits for a direct read in progress to end, so the
 * producer may close its source once this returns. */
void ringbuf_close_producer(struct ringbuf *rb, int err);

/* Consumer, copying: up to n bytes, as soon as there is at least one.
 * Blocks while empty if `block`, else returns -EAGAIN.  0 at EOF, -error if
 * the producer failed. */
ssize_t ringbuf_read(struct ringbuf *rb, void *dst, size_t n, bool block);
/* Consumer, zero-copy: waits for data and points at the oldest contiguous
 * run of it; *n is 0 at EOF.  The pointer stays valid until ringbuf_consume. */
void ringbuf_peek(struct ringbuf *rb, const void **data, size_t *n);
/* Consumer: drops the n oldest bytes and ends a peek (n may be 0). */
void ringbuf_consume(struct ringbuf *rb, size_t n);
/* Consumer: reads no more; buffered bytes are dropped and later appends fail
 * with -err (EPIPE when err is 0). */
void ringbuf_close_consumer(struct ringbuf *rb, int err);

/* Direct reads: a consumer that asks for a large read while the ring is
 * empty may read the producer's source (the pipe) straight into its own
 * buffer, one copy instead of two, with no thread hand-off.  The ring keeps
 * the order: a claim is granted only while the ring is empty and no
 * producer read is in flight, and while it is held the producer waits in
 * ringbuf_reserve.  The producer also stays parked for a short lease after
 * each claim, so a consumer reading in a loop is not raced by a producer
 * woken for every pipeful; past the lease the producer drains as usual, so
 * a consumer that stops reading never leaves the child blocked for longer.
 *
 * Consumer: true if the claim is granted. */
bool ringbuf_direct_begin(struct ringbuf *rb);
/* Consumer: ends a granted claim; n bytes were read through it. */
void ringbuf_direct_end(struct ringbuf *rb, size_t n);


/* Bytes buffered now. */
size_t ringbuf_length(struct ringbuf *rb);

/* ---- Beyond popen2: bounded memory ------------------------------------- */

struct popen2_stream_stats;

/* Before the producer starts: hold at most `limit` bytes in memory and apply
 * `policy` (POPEN2_BLOCK, POPEN2_SPILL, POPEN2_FAIL, POPEN2_KEEP_TAIL) to
 * what does not fit.  0 or -EINVAL. */
int ringbuf_set_limit(struct ringbuf *rb, size_t limit, int policy);
/* Bytes the consumer can still read: in memory plus in the spill file. */
unsigned long long ringbuf_available(struct ringbuf *rb);
/* True when a non-blocking read would not say EAGAIN (data, EOF or error). */
bool ringbuf_readable(struct ringbuf *rb);
/* Fills the counters of popen2_stream_stats. */
void ringbuf_stats(struct ringbuf *rb, struct popen2_stream_stats *st);

#endif
