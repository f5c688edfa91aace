/* warm: large ring buffers kept warm between uses.
 *
 * The first write to a freshly mapped page costs far more than the copy
 * into it, and on virtual machines most of all: on the 2-CPU VM this
 * library is measured on, memset into fresh anonymous memory runs at about
 * 200 MB/s and into pages touched before at 9-14 GB/s.  A ring that holds a
 * stream the caller reads later (stderr while stdout is read to its end)
 * writes every byte into fresh pages, so that first touch, not the copy,
 * sets the stream's speed.  Freed ring buffers of P2I_WARM_MIN bytes or
 * more therefore come here instead of going back to the system, and a ring
 * that must grow past that size takes the smallest kept buffer that fits:
 * a program that captures large outputs one after another pays for fresh
 * pages once.
 *
 * What is kept is bounded three ways: at most WARM_SLOTS buffers; at most
 * 1/8 of the machine's memory and never more than WARM_MAX_BYTES in all,
 * counting the pages a buffer has in (a ring that doubled to 2 GiB for
 * 1 GiB of bytes holds 1 GiB); and a buffer unused for WARM_AGE_MS is freed
 * at the next take or give (the library starts no thread for it), as an
 * allocator without a background thread purges, unless that take is the
 * one that wants it: freeing it there would only make the ring fault the
 * same number of fresh pages in.  The oldest goes first
 * when a new one would not fit.  Everything kept is freed when the library
 * is unloaded.
 *
 * Kept buffers are left out of the children a host program forks
 * (p2i_memory_keep_from_children): a fork write-protects the parent's
 * pages, and the first write to each afterwards would cost a fault, as
 * fresh pages do.  In such a child their pages are absent, so the child
 * forgets them: it never frees or hands them out (a page or two of each at
 * its edges stays allocated in that child).
 */
#include "config.h"

#include "runtime/runtime.h"

#include <pthread.h>
#include <stdlib.h>

#define WARM_SLOTS 4
#define WARM_MAX_BYTES ((size_t)2 << 30)
#define WARM_AGE_MS 60000

struct kept {
    void *buf; /* NULL: a free slot */
    size_t cap;
    size_t touched; /* its first bytes whose pages are in: what it costs */
    long long since_ms;
    unsigned long seq; /* the order they came in: the oldest goes first */
};

static long long age_ms = WARM_AGE_MS;
static pthread_mutex_t warm_mu = PTHREAD_MUTEX_INITIALIZER;
static struct kept kept[WARM_SLOTS];
static size_t kept_bytes;
static unsigned long kept_seq;

/* 1/8 of the machine's memory, at most WARM_MAX_BYTES: a machine that
 * cannot say how much it has keeps nothing.  Asked once (it is a system
 * call); a race only asks twice. */
static size_t max_bytes(void)
{
    static size_t max = (size_t)-1;
    size_t m = __atomic_load_n(&max, __ATOMIC_RELAXED);

    if (m == (size_t)-1) {
        m = p2i_memory_total() / 8;
        if (m > WARM_MAX_BYTES)
            m = WARM_MAX_BYTES;
        __atomic_store_n(&max, m, __ATOMIC_RELAXED);
    }
    return m;
}

/* Moves slot i to *out (freed by the caller, after the lock). */
static void drop_locked(int i, struct kept *out)
{
    *out = kept[i];
    kept_bytes -= kept[i].touched;
    kept[i].buf = NULL;
}

/* Drops the buffers unused for too long into out[]; their count. */
static int age_locked(long long now, struct kept *out)
{
    int i, n = 0;

    for (i = 0; i < WARM_SLOTS; i++)
        if (kept[i].buf && now - kept[i].since_ms >= __atomic_load_n(&age_ms, __ATOMIC_RELAXED))
            drop_locked(i, &out[n++]);
    return n;
}

/* Their pages go back into the children of a fork first: freed memory may
 * become anybody's. */
static void free_all(struct kept *old, int n)
{
    while (n--) {
        p2i_memory_keep_from_children(old[n].buf, old[n].cap, false);
        free(old[n].buf);
    }
}

void *p2i_warm_take(size_t need, size_t most, size_t *cap, size_t *touched)
{
    struct kept old[WARM_SLOTS], got;
    void *buf = NULL;
    int i, best = -1, n;

    pthread_mutex_lock(&warm_mu);
    for (i = 0; i < WARM_SLOTS; i++)
        if (kept[i].buf && kept[i].cap >= need && kept[i].cap <= most &&
            (best < 0 || kept[i].cap < kept[best].cap))
            best = i;
    if (best >= 0) {
        drop_locked(best, &got);
        buf = got.buf;
        *cap = got.cap;
        *touched = got.touched;
    }
    n = age_locked(p2i_clock_now_ms(), old); /* after the take: see the top */
    pthread_mutex_unlock(&warm_mu);
    free_all(old, n);
    if (buf) /* a ring in use is an ordinary buffer again */
        p2i_memory_keep_from_children(buf, *cap, false);
    return buf;
}

void p2i_warm_give(void *buf, size_t cap, size_t touched)
{
    struct kept old[WARM_SLOTS + 1];
    long long now;
    int i, n, slot = -1;
    size_t max;

    if (touched > cap)
        touched = cap;
    if (!buf || cap < P2I_WARM_MIN || touched < P2I_WARM_MIN || touched > (max = max_bytes())) {
        free(buf);
        return;
    }
    /* Before it is listed: a child forked in between has neither the pages
     * nor the listing. */
    p2i_memory_keep_from_children(buf, cap, true);
    now = p2i_clock_now_ms();
    pthread_mutex_lock(&warm_mu);
    n = age_locked(now, old);
    for (;;) {
        int oldest = -1;

        for (i = 0; i < WARM_SLOTS; i++) {
            if (!kept[i].buf)
                slot = i;
            else if (oldest < 0 || kept[i].seq < kept[oldest].seq)
                oldest = i;
        }
        if (slot >= 0 && kept_bytes + touched <= max)
            break;
        drop_locked(oldest, &old[n++]); /* touched <= max: something is kept */
        slot = -1;
    }
    kept[slot] = (struct kept){
        .buf = buf, .cap = cap, .touched = touched, .since_ms = now, .seq = ++kept_seq};
    kept_bytes += touched;
    pthread_mutex_unlock(&warm_mu);
    free_all(old, n);
}

void p2i_warm_set_age_ms(long long ms)
{
    __atomic_store_n(&age_ms, ms, __ATOMIC_RELAXED);
}

void p2i_warm_lock(void)
{
    pthread_mutex_lock(&warm_mu);
}

void p2i_warm_unlock(void)
{
    pthread_mutex_unlock(&warm_mu);
}

/* Async-signal-safe: only the lock, taken by this thread in before_fork,
 * and the listing, which is this library's own memory.  The kept pages are
 * not in this child (see the top of this file), so they are forgotten,
 * never freed or handed out. */
void p2i_warm_forked(void)
{
    for (int i = 0; i < WARM_SLOTS; i++)
        kept[i].buf = NULL;
    kept_bytes = 0;
    pthread_mutex_unlock(&warm_mu);
}

void p2i_warm_drop_all(void)
{
    struct kept old[WARM_SLOTS];
    int i, n = 0;

    pthread_mutex_lock(&warm_mu);
    for (i = 0; i < WARM_SLOTS; i++)
        if (kept[i].buf)
            drop_locked(i, &old[n++]);
    pthread_mutex_unlock(&warm_mu);
    free_all(old, n);
}

/* A library unloaded by dlclose leaves none of its memory behind. */
__attribute__((destructor)) static void warm_unload(void)
{
    p2i_warm_drop_all();
}
