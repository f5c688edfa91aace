/* ring: the library's second layer, the byte ring between a pump thread and
 * the caller (ringbuf.c), lines out of it and their arrival order
 * (ringline.c), and its memory-limit policies (ringlimit.c).
 *
 * A growable byte ring shared by one producer and one consumer.
 *
 * Locking: every field is guarded by mu.  The producer may fill the free
 * space it reserved, and the consumer may read the data it peeked, without
 * holding mu: only the producer ever moves the buffer (grow or shrink), and a
 * buffer replaced while the consumer peeks into it is kept alive in `retired`
 * until the consumer is done with it.
 */
#ifndef POPEN2_RING_H
#define POPEN2_RING_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

/* A ring's memory limit, as popen2_attr_set_limit takes it and the ring
 * applies it: the same value from the caller's call down to the ring. */
struct ring_limit {
    size_t max; /* most bytes held in memory; 0: unbounded */
    int policy; /* POPEN2_BLOCK, POPEN2_SPILL, POPEN2_FAIL or POPEN2_KEEP_TAIL */
};

/* The input ring's lending (ringinput.c): a blocking producer's own buffer,
 * which the consumer reads in place of the ring while the producer waits,
 * so the bytes are not copied into the ring first.  Guarded by the ring's
 * mu. */
struct ring_lend {
    const char *buf;  /* the producer's buffer, NULL when none is lent */
    size_t len;       /* bytes of it not yet consumed */
    size_t done;      /* bytes of it consumed */
    bool peeking;     /* the consumer's peek points into buf */
};

/* Bounded memory (p2i_ringlimit_set; ringlimit.c).  With limit.max 0 none
 * of this is used and the ring is unbounded.  Guarded by the ring's mu. */
struct ring_bound {
    struct ring_limit limit;    /* as the caller set it */
    bool staged;                /* the last reserve handed out stage for the policy */
    int overflow_error;         /* ENOBUFS (FAIL) or the spill file's errno: later
                                 * bytes are dropped, reported after the data */
    int spill_fd;               /* SPILL: unlinked temporary file, -1 until needed */
    unsigned long long spill_wr; /* bytes written to the spill file */
    unsigned long long spill_rd; /* of which the consumer has read this many */
    unsigned long long dropped; /* bytes discarded (KEEP_TAIL, FAIL) */
    unsigned long long spilled; /* bytes that went through the spill file */
};

/* What the ring counts: its bytes for popen2_stream_stats, and whether the
 * exit waits for it (linger.c).  Guarded by the ring's mu. */
struct ring_account {
    bool linger;                /* an input ring: counted by linger.c while it holds
                                 * undelivered bytes, so exit waits for them */
    bool lingering;             /* counted now */
    unsigned long long total;   /* bytes ever appended */
    size_t high_water;          /* most bytes buffered at once */
};

/* The arrival stamps of an output ring's lines (ringline.c): one record per
 * buffered chunk that brought a '\n', oldest first, in a circular queue.
 * Guarded by the ring's mu. */
struct ring_stamp {
    unsigned long long end; /* stream offset just past the chunk's last '\n' */
    unsigned long long seq; /* when the chunk was appended (process-wide clock) */
};

struct ring_lines {
    struct ring_stamp *q;
    size_t head, len, cap;
    unsigned long long end_seq; /* when the producer closed; 0 while open */
};

struct ringbuf {
    pthread_mutex_t mu;
    pthread_cond_t cond;  /* data appended, space freed, or a side closed */
    char *buf;            /* NULL until the first byte needs room */
    char *retired;        /* old buffer the consumer still peeks into */
    size_t cap;           /* bytes allocated at buf */
    size_t touched;       /* buf's first bytes whose pages are in: where
                           * faulting fresh pages in ahead starts (a hint) */
    bool kept;            /* buf was kept warm before (runtime/warm.c), and
                           * the producer is still below its touched mark */
    char *stage;          /* the producer's scratch, P2I_RING_STAGE_SIZE
                           * bytes, allocated when first needed */
    char *copy_to;        /* the run the staged bytes go to at the commit
                           * (a kept buffer's, see ringbuf.c); or NULL */
    size_t head;          /* offset of the oldest byte */
    size_t len;           /* bytes buffered */
    size_t min_cap;       /* first allocation, and what an empty ring shrinks back to */
    int waiters;          /* threads blocked on cond */
    bool peeking;         /* consumer holds a pointer from p2i_ringbuf_peek */
    bool producer_busy;   /* between p2i_ringbuf_reserve and p2i_ringbuf_commit */
    bool direct;          /* the consumer reads the producer's source itself */
    struct timespec lease_end; /* the producer stays parked until then */
    bool producer_done;   /* no byte will be appended any more (EOF) */
    bool consumer_done;   /* nobody reads any more: appends fail, data is dropped */
    int error;            /* errno that ended the producer, reported after the data */
    int consumer_error;   /* errno that ended the consumer, reported to appends */
    bool discarding;      /* the consumer wants no byte: the producer drains
                           * on, and its bytes are dropped at the commit */
    struct ring_lend lend;     /* the input ring's lent buffer (ringinput.c) */
    struct ring_bound bound;   /* bounded memory and spill (ringlimit.c) */
    struct ring_account acct;  /* counters and the exit's count (ringmem.c) */
    struct ring_lines lines;   /* arrival stamps of lines (ringline.c) */
};

/* Prepares an empty ring; 0 or -errno. */
int p2i_ringmem_init(struct ringbuf *rb, size_t min_cap);
/* Producer, mu held, about to write [off, off + n) of buf: the part of buf
 * to fault in ahead of it (p2i_memory_prefault), a step at a time, as
 * *start and the length returned (0: nothing to do).  The producer may do
 * it after unlocking: only the producer moves buf (ringmem.c). */
size_t p2i_ringmem_prefault_locked(struct ringbuf *rb, size_t off, size_t n, char **start);
/* Frees the ring; nobody may use it any more. */
void p2i_ringmem_destroy(struct ringbuf *rb);

/* Producer, zero-copy: finds contiguous free space of at least one byte,
 * growing the ring (doubling) when less than `want` bytes are free.  Waits
 * only when it cannot get memory, until the consumer frees some or the
 * memory can be had, trying again at most 100 ms apart: never fails for
 * want of memory.  0, or -EPIPE once the consumer has closed. */
int p2i_ringbuf_reserve(struct ringbuf *rb, size_t want, void **space, size_t *n);
/* Producer: makes n bytes written into the reserved space readable (n may
 * be 0 to give the reservation up).  0, or -EPIPE once the consumer has
 * closed (the bytes are dropped). */
int p2i_ringbuf_commit(struct ringbuf *rb, size_t n);
/* Producer, copying: appends all n bytes or none, never waiting; on a
 * bounded ring past its limit if need be (the input ring's close,
 * ringinput.c).  n, -ENOMEM, or the consumer's error (-EPIPE by default)
 * once it has closed. */
ssize_t p2i_ringbuf_append(struct ringbuf *rb, const void *src, size_t n);
/* Producer: no more bytes (err 0 for EOF, else the errno to report after the
 * buffered bytes).  Waits for a direct read in progress to end, so the
 * producer may close its source once this returns. */
void p2i_ringbuf_close_producer(struct ringbuf *rb, int err);

/* Consumer, copying: up to n bytes, as soon as there is at least one.
 * Blocks while empty if `block`, else returns -EAGAIN.  0 at EOF, -error if
 * the producer failed. */
ssize_t p2i_ringbuf_read(struct ringbuf *rb, void *dst, size_t n, bool block);
/* Consumer, zero-copy: waits for data and points at the oldest contiguous
 * run of it; *n is 0 at EOF.  The pointer stays valid until p2i_ringbuf_consume. */
void p2i_ringbuf_peek(struct ringbuf *rb, const void **data, size_t *n);
/* Consumer: drops the n oldest bytes and ends a peek (n may be 0). */
void p2i_ringbuf_consume(struct ringbuf *rb, size_t n);
/* Consumer: reads no more; buffered bytes are dropped and later appends fail
 * with -err (EPIPE when err is 0). */
void p2i_ringbuf_close_consumer(struct ringbuf *rb, int err);
/* Consumer: wants no more bytes, but unlike p2i_ringbuf_close_consumer the
 * producer goes on draining its source, so the other end never sees EPIPE:
 * what is buffered and every later byte is dropped (counted in total only),
 * and the ring no longer grows, whatever its limit.  Reads then say -EAGAIN
 * until the producer's end: 0, or the producer's error. */
void p2i_ringbuf_discard(struct ringbuf *rb);
/* -errno once the consumer ended with an error (the bytes it still had were
 * dropped), else 0. */
int p2i_ringbuf_consumer_error(struct ringbuf *rb);

/* Before the producer starts: the ring is an input ring whose bytes the
 * process waits for at exit (linger.c).  From then on the ring counts as
 * busy there from the append that gives it bytes until the consumer finds
 * it empty, closes, or the ring is destroyed. */
void p2i_ringbuf_set_linger(struct ringbuf *rb);

/* Cancellation: the blocking waits here are cancellation points (the
 * caller's thread may be cancelled in fgets or popen2_readinto); a
 * cancelled wait gives the ring's lock back on its way out, so the ring
 * stays usable.  Nothing else here is a cancellation point. */

/* Direct reads: a consumer that asks for a large read while the ring is
 * empty may read the producer's source (the pipe) straight into its own
 * buffer, one copy instead of two, with no thread hand-off.  The ring keeps
 * the order: a claim is granted only while the ring is empty and no
 * producer read is in flight, and while it is held the producer waits in
 * p2i_ringbuf_reserve.  The producer also stays parked for a short lease after
 * each claim, so a consumer reading in a loop is not raced by a producer
 * woken for every pipeful; past the lease the producer drains as usual, so
 * a consumer that stops reading never leaves the child blocked for longer.
 *
 * Consumer: true if the claim is granted. */
bool p2i_ringbuf_direct_begin(struct ringbuf *rb);
/* Consumer: ends a granted claim; n bytes were read through it. */
void p2i_ringbuf_direct_end(struct ringbuf *rb, size_t n);


/* Bytes buffered now. */
size_t p2i_ringbuf_length(struct ringbuf *rb);

/* ---- the input ring's producer side (ringinput.c) ------------------------
 * The caller's thread is the producer of the input ring.  With a limit
 * (POPEN2_BLOCK or POPEN2_FAIL, set with p2i_ringlimit_set) it may hold
 * at most `limit` bytes queued.  None of these waits for anything but the
 * consumer (the writer thread, which only waits for the child to read) or
 * memory (a timed retry), and
 * none is a cancellation point: cancellation is held off while a producer
 * waits, since a lent buffer must never outlive the call. */

/* Appends up to n bytes, never holding more than the limit: with `block`
 * it waits for room until all n are in (and for memory, retrying as
 * p2i_ringbuf_reserve does), else it takes what fits.  The count appended
 * (> 0), -ENOBUFS when nothing fits and !block, -ENOMEM (only !block), or
 * the consumer's error (-EPIPE) once it has closed; a partial count is
 * returned before an error. */
ssize_t p2i_ringinput_append(struct ringbuf *rb, const void *src, size_t n, bool block);
/* Lends src to the consumer once the ring is empty, and waits until it has
 * consumed all n bytes (or closed).  The count consumed (n unless the
 * consumer closed), or the consumer's error if it consumed nothing. */
ssize_t p2i_ringinput_lend(struct ringbuf *rb, const void *src, size_t n);
/* Waits until everything appended or lent has been consumed (0), the
 * consumer closed (its error, -EPIPE), or deadline_ms (a p2i_clock_now_ms value;
 * -1: none) passed (-ETIMEDOUT). */
int p2i_ringinput_wait_drained(struct ringbuf *rb, long long deadline_ms);
/* Waits as p2i_ringinput_wait_drained, without a deadline but giving up
 * (-ETIMEDOUT) once the exit's stall clock runs out (linger.c): the wait of
 * a write to the ring at exit. */
int p2i_ringinput_exit_wait(struct ringbuf *rb);

/* ---- lines (ringline.c) --------------------------------------------------
 * Every chunk the producer commits that holds a '\n' is stamped from one
 * process-wide clock, under the ring's mu, so the stamps of two rings say
 * in which order their producers appended them.  A record lives while its
 * chunk's last '\n' is buffered; one that any consumer read (or a policy
 * dropped) is pruned by offset, so the queue holds at most one record per
 * buffered chunk with a newline, whoever reads the ring. */

/* Consumer: copies up to n bytes, stopping after the first '\n', from the
 * ring's memory, then its spill file, never waiting.  With a '\n' as the
 * last byte copied, *seq is the stamp of the chunk that brought it; at EOF
 * or an error, the stamp of the producer's end (0 while it runs); else 0.  Bytes, 0 at EOF, -EAGAIN
 * with nothing buffered, or -error after the data as p2i_ringbuf_read. */
ssize_t p2i_ringline_take(struct ringbuf *rb, char *dst, size_t n, unsigned long long *seq);
/* Producer, mu held: stamps a committed chunk of n bytes at src, which end
 * at stream offset `end`, if it holds a '\n'. */
void p2i_ringline_stamp_locked(struct ringbuf *rb, const char *src, size_t n,
                               unsigned long long end);
/* Producer, mu held: stamps the stream's end. */
void p2i_ringline_stamp_end_locked(struct ringbuf *rb);

/* ---- bounded memory (ringlimit.c) --------------------------------------- */

struct popen2_stream_stats;


/* Before the producer starts: hold at most lim.max bytes in memory and
 * apply lim.policy to what does not fit.  0 or -EINVAL. */
int p2i_ringlimit_set(struct ringbuf *rb, struct ring_limit lim);
/* Bytes the consumer can still read: in memory plus in the spill file. */
unsigned long long p2i_ringlimit_available(struct ringbuf *rb);
/* True when a non-blocking read would not say EAGAIN (data, EOF or error). */
bool p2i_ringlimit_readable(struct ringbuf *rb);
/* Counts n bytes a consumer dropped after reading them (a bounded result
 * built from the ring's bytes). */
void p2i_ringlimit_add_dropped(struct ringbuf *rb, unsigned long long n);
/* Fills the counters of popen2_stream_stats. */
void p2i_ringlimit_stats(struct ringbuf *rb, struct popen2_stream_stats *st);


/* ---- shared by ringbuf.c and ringlimit.c only ---------------------------- */

/* The producer's scratch buffer, for bytes that go to the spill file or are
 * dropped (large, so a 2 GiB spill costs few pwrites) and for bytes bound
 * for a kept buffer (small enough to stay in the CPU's cache). */
#define P2I_RING_STAGE_SIZE (256 * 1024)

/* Copies n bytes into a ring buffer of cap bytes at offset tail, wrapping
 * around its end. */
static inline void p2i_ring_copy_in(char *buf, size_t cap, size_t tail, const void *src, size_t n)
{
    size_t first = cap - tail < n ? cap - tail : n;

    memcpy(buf + tail, src, first);
    memcpy(buf, (const char *)src + first, n - first);
}

/* Copies n bytes out of a ring buffer of cap bytes from offset head,
 * wrapping around its end. */
static inline void p2i_ring_copy_out(void *dst, const char *buf, size_t cap, size_t head, size_t n)
{
    size_t first = cap - head < n ? cap - head : n;

    memcpy(dst, buf + head, first);
    memcpy((char *)dst + first, buf, n - first);
}

/* An input ring holding undelivered bytes is counted (linger.c); mu held. */
void p2i_ringmem_set_lingering_locked(struct ringbuf *rb, bool on);
/* Wakes threads waiting on the ring's condition; mu held. */
void p2i_ringmem_wake(struct ringbuf *rb);
/* Waits on the ring's condition; mu held. */
void p2i_ringmem_wait_locked(struct ringbuf *rb);
/* Waits on it at most until the CLOCK_MONOTONIC time `until`; mu held. */
void p2i_ringmem_wait_until_locked(struct ringbuf *rb, const struct timespec *until);
/* Producer out of memory, mu held: waits until the consumer frees space
 * or *backoff_ms passes (the caller then tries to allocate again), and
 * doubles *backoff_ms up to a cap for the next wait.  Start with 0. */
void p2i_ringmem_wait_for_memory_locked(struct ringbuf *rb, int *backoff_ms);
/* Makes room for `need` more bytes (or any room at all when need is 0 and
 * the ring is full); 0, -ENOMEM, or -ENOBUFS for a bounded ring at its
 * ceiling: its limit, or the bytes it holds plus `need` when that is more
 * (a producer that lets bytes past the limit).  Producer only, mu held. */
int p2i_ringmem_make_room_locked(struct ringbuf *rb, size_t need);

/* A blocking consumer has something to return besides ring bytes (spilled
 * bytes, an overflow error); mu held. */
bool p2i_ringlimit_pending_locked(const struct ringbuf *rb);
/* Producer, mu held: where the next bytes go.  1: into the stage; 0: into
 * the ring, which has room (and *want is trimmed to the limit); -EAGAIN:
 * nowhere yet (BLOCK at the limit), wait for the consumer; -ENOMEM: the
 * ring or the stage could not be allocated, try again later. */
int p2i_ringlimit_room_locked(struct ringbuf *rb, size_t *want);
/* Producer, mu held: applies the policy to n staged bytes. */
void p2i_ringlimit_commit_staged_locked(struct ringbuf *rb, size_t n);
/* Consumer, mu held, ring empty: the oldest spilled bytes. */
ssize_t p2i_ringlimit_spill_read_locked(struct ringbuf *rb, void *dst, size_t n);

#endif
