/* communicate: subprocess's communicate() in one call, as an operation of
 * the object (popen2_communicate is its front).
 *
 * One loop on the caller's thread does everything: it hands the input to
 * the input ring (the writer thread delivers it, so this thread never
 * blocks on the child), gathers both outputs from their rings, and sleeps
 * on the object's bell in between, which every pump thread rings after
 * each step.  So the deadline bounds all of it, the input included, and
 * the call needs no descriptor of its own: it cannot fail at a descriptor
 * limit, nor where a sandbox refuses epoll or eventfd.  Once both outputs
 * are at their end and the input is all taken, it waits for the child.
 *
 * The input is taken as the ring has room: all at once without a limit,
 * what fits under a POPEN2_BLOCK limit, waiting (until the deadline) for the
 * writer thread to make room for the rest.  A write that cannot take
 * everything for good (a POPEN2_FAIL limit, no writer thread, no memory)
 * fails the call with its errno, since a status over truncated input would
 * be a lie; stdin then stays open.  How much was taken is kept, so a call
 * with the same input continues where the last stopped, as Python's
 * communicate() goes on with its input after TimeoutExpired; a call with no
 * input gives the rest up and closes stdin.  A child that stopped reading
 * (EPIPE) ends the input early without an error, as in subprocess.
 *
 * What was gathered lives in the object (struct p2i_collected, freed with
 * it), so a call that timed out leaves it for the next one, like
 * subprocess's TimeoutExpired.
 *
 * A discarded output (NULL out or err) is not gathered at all: its ring is
 * told to drop its bytes, and its reader thread drains the pipe into
 * nothing (p2i_ringbuf_discard), so an endless child costs no memory.  Its
 * end is still waited for, as subprocess reads every pipe to EOF.
 *
 * A stream's memory limit (popen2_attr_set_limit) bounds what is gathered
 * too, the same in every run however fast this thread drains the ring:
 * POPEN2_FAIL ends the stream with ENOBUFS once its total passes the limit,
 * POPEN2_KEEP_TAIL keeps the newest `limit` bytes (the rest counted as
 * dropped in popen2_stream_stats).  SPILL and BLOCK bound the ring only: a
 * result handed over in memory holds the whole stream by definition.
 *
 * The caller may have read part of an output through its FILE first (fgets
 * on fromchild, then communicate for the rest).  stdio then holds bytes it
 * took from the ring but did not hand out; they come first, taken from the
 * FILE itself (p2i_stream_buffered says how many), so the caller gets
 * exactly the bytes it has not read.
 *
 * Cancellation: the waits (the bell, the child's wait) are cancellation
 * points outside every lock; what was gathered and how much input was
 * taken stay in the object, so a later call goes on from there.  Handing
 * input over runs with cancellation disabled, so the count taken is always
 * the ring's.
 */
#include "config.h"

#include "core/core.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Room made before each read: large reads drain a busy ring in few calls. */
#define READ_CHUNK (64 * 1024)

struct gathered {
    char *data;
    size_t len, cap;
    bool done;    /* EOF, error, or nothing to gather */
    int error;    /* errno that ended the stream early (ENOBUFS ...) */
    bool piped;   /* the caller gets a buffer (else NULL) */
    bool discard; /* its ring drops the bytes (p2i_ringbuf_discard) */
};

struct p2i_collected {
    bool input_started;          /* a call got as far as the input: in_len is fixed */
    bool input_done;             /* stdin is closed (or was never ours to write) */
    size_t in_len;               /* the input's length; later calls pass it again, or none */
    size_t in_taken;             /* bytes of it the input ring has taken */
    struct gathered s[CH_COUNT]; /* [CH_STDOUT], [CH_STDERR] */
};

void p2i_communicate_free(struct p2i_collected *c)
{
    if (!c)
        return;
    free(c->s[CH_STDOUT].data);
    free(c->s[CH_STDERR].data);
    free(c);
}

/* Applies the stream's limit to what was gathered (see the top).  KEEP_TAIL
 * compacts only once twice the limit is gathered (or at the end), so each
 * byte is moved about once. */
static void bound(struct ringbuf *rb, struct gathered *g)
{
    size_t drop;

    if (!rb->bound.limit.max || g->len <= rb->bound.limit.max)
        return;
    if (rb->bound.limit.policy == POPEN2_KEEP_TAIL && !g->done && g->len / 2 < rb->bound.limit.max)
        return;
    if (rb->bound.limit.policy == POPEN2_FAIL) {
        g->len = rb->bound.limit.max; /* what a ring alone would have kept */
        g->error = ENOBUFS;
        g->done = true;
    } else if (rb->bound.limit.policy == POPEN2_KEEP_TAIL) {
        drop = g->len - rb->bound.limit.max;
        memmove(g->data, g->data + drop, rb->bound.limit.max);
        g->len = rb->bound.limit.max;
        p2i_ringlimit_add_dropped(rb, drop);
    }
}

/* Makes room for `need` more bytes and the terminating NUL; 0 or -ENOMEM. */
static int make_room(struct gathered *g, size_t need)
{
    size_t ncap;
    char *nd;

    if (g->cap - g->len >= need + 1)
        return 0;
    ncap = g->cap ? g->cap * 2 : READ_CHUNK * 2;
    while (ncap - g->len < need + 1) {
        if (ncap > SIZE_MAX / 2)
            return -ENOMEM;
        ncap *= 2;
    }
    nd = realloc(g->data, ncap);
    if (!nd)
        return -ENOMEM;
    g->data = nd;
    g->cap = ncap;
    return 0;
}

/* Takes the bytes stream `which`'s FILE holds unread (the caller read part
 * of the stream through it) before anything in the ring.  0, -ENOMEM, or
 * -ENOTSUP where the C library cannot say how many bytes its FILE holds and
 * the caller has read through it (nothing is taken then). */
static int take_buffered(struct popen2_proc *p, int which, struct gathered *g)
{
    FILE *f = p2i_proc_file(p, which);
    size_t n;
    int r = 0;

    if (!f || g->done)
        return 0;
    flockfile(f);
    n = p2i_stream_buffered(f);
    if (n == SIZE_MAX) {
        r = p->ch[which].stdio_read ? -ENOTSUP : 0;
    } else if (n > 0) {
        r = make_room(g, n);
        if (r == 0)
            g->len += fread(g->data + g->len, 1, n, f); /* from the buffer alone */
    }
    funlockfile(f);
    return r;
}

/* Reads stream `which` until it has nothing more for now, or until the
 * deadline (a child writing faster than this thread reads would otherwise
 * keep it here past it); 0 or -ENOMEM. */
static int gather(struct popen2_proc *p, int which, struct gathered *g, long long deadline)
{
    struct channel *ch = &p->ch[which];
    struct ringbuf *rb = &ch->ring;
    ssize_t k;
    char none;
    int r;

    while (!g->done) {
        r = g->discard ? 0 : make_room(g, READ_CHUNK);
        if (r < 0)
            return r;
        /* Checked at every read: the caller may have closed the FILE. */
        if (!p2i_proc_stream_ok(p, which, true))
            k = -EBADF;
        else if (g->discard)
            k = p2i_proc_read_some(p, ch, &none, 1); /* a discarding ring only ends */
        else
            k = p2i_proc_read_some(p, ch, g->data + g->len, g->cap - g->len - 1);
        if (k > 0 && !g->discard) {
            g->len += (size_t)k;
            bound(rb, g);
            if (p2i_clock_ms_left(deadline) == 0)
                break;
        } else if (k == 0) {
            g->done = true;
        } else if (k == -EAGAIN) {
            break;
        } else if (k < 0) {
            /* EBADF: the caller closed it.  A discarded stream's error
             * concerns bytes nobody wants. */
            g->error = k == -EBADF || g->discard ? 0 : (int)-k;
            g->done = true;
        }
    }
    if (g->done)
        bound(rb, g);
    return 0;
}

/* Hands a stream's bytes to the caller, or drops them. */
static void hand_over(struct gathered *g, char **dst, size_t *dstlen)
{
    if (dst) {
        if (g->piped && !g->data)
            g->data = calloc(1, 1); /* an empty output is "", not NULL */
        if (g->data)
            g->data[g->len] = '\0';
        *dst = g->piped ? g->data : NULL;
        if (!g->piped)
            free(g->data);
    } else {
        free(g->data);
    }
    if (dstlen)
        *dstlen = g->piped ? g->len : 0;
    g->data = NULL;
    g->len = g->cap = 0;
}

/* Fixes what this call does with the input, before anything is taken: a
 * first input is remembered; later calls pass the same input again (its
 * rest is sent) or none (its rest is given up).  0 or -EINVAL. */
static int plan_input(struct popen2_proc *p, struct p2i_collected *c, size_t inlen)
{
    if (!c->input_started) {
        if (!p2i_proc_file(p, CH_STDIN)) {
            if (inlen)
                return -EINVAL; /* stdin not piped, or closed by the caller */
            c->input_done = true;
        }
        c->input_started = true;
        c->in_len = inlen;
        return 0;
    }
    if (inlen && inlen != c->in_len)
        return -EINVAL; /* a second input: the first is (partly) the child's */
    if (!inlen && !c->input_done)
        c->in_len = c->in_taken;
    return 0;
}

/* Hands the ring what it takes of the input now, and closes stdin once all
 * of it is taken.  0, or -errno of a write that could not take its bytes
 * (ENOBUFS, EAGAIN, ENOMEM), stdin left open for the rest. */
static int feed(struct popen2_proc *p, struct p2i_collected *c, const char *input)
{
    FILE *f = p2i_proc_file(p, CH_STDIN);
    size_t taken = 0;
    int r = 0, cancel;

    if (!f) {
        c->input_done = true; /* the caller closed it: nothing more can go */
        return 0;
    }
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
    flockfile(f);
    /* Bytes the caller wrote to tochild itself go first, without waiting
     * for room: the deadline bounds this call. */
    if (p2i_stream_flush_accepted(&p->ch[CH_STDIN], f) == EOF)
        r = -errno;
    if (r == 0 && c->in_taken < c->in_len) {
        r = p2i_stream_write_now(&p->ch[CH_STDIN], input + c->in_taken, c->in_len - c->in_taken,
                                  &taken);
        c->in_taken += taken;
    }
    funlockfile(f);
    /* The child stopped reading: the rest is dropped, as subprocess does. */
    if (r == -EPIPE) {
        r = 0;
        c->in_taken = c->in_len;
    }
    if (r == 0 && c->in_taken == c->in_len) {
        fclose(f); /* EOF once delivered; its EPIPE is the one above */
        c->input_done = true;
    }
    pthread_setcancelstate(cancel, NULL);
    return r;
}

/* The object's gathering state, made on the first call; NULL when out of
 * memory. */
static struct p2i_collected *collected_get(struct popen2_proc *p)
{
    struct p2i_collected *c;
    int i;

    pthread_mutex_lock(&p->mu);
    c = p->collected;
    if (!c && (c = calloc(1, sizeof *c)) != NULL) {
        for (i = CH_STDOUT; i <= CH_STDERR; i++) {
            c->s[i].piped = p->ch[i].used;
            c->s[i].done = !p->ch[i].used || !p->ch[i].file;
        }
        p->collected = c;
    }
    pthread_mutex_unlock(&p->mu);
    return c;
}

/* A stream the caller does not want: what was gathered goes, and its ring
 * drops the rest as it comes. */
static void discard(struct popen2_proc *p, int which, struct gathered *g)
{
    free(g->data);
    g->data = NULL;
    g->len = g->cap = 0;
    if (!g->done && !g->discard)
        p2i_ringbuf_discard(&p->ch[which].ring);
    g->discard = true;
}

/* The outputs to their ends and the input all taken, or the deadline;
 * 0 or -errno. */
static int run(struct popen2_proc *p, struct p2i_collected *c, const char *input, long long deadline)
{
    unsigned long long seen;
    int i, r;

    for (;;) {
        /* The count first, then the look: a step a pump takes after the
         * look rings after it, and the wait below returns at once. */
        seen = p2i_bell_count(&p->bell);
        if (!c->input_done) {
            r = feed(p, c, input);
            if (r < 0)
                return r;
        }
        for (i = CH_STDOUT; i <= CH_STDERR; i++) {
            r = gather(p, i, &c->s[i], deadline);
            if (r < 0)
                return r;
        }
        /* The event descriptor, if the caller has one, shows what is left. */
        p2i_events_rearm(p);
        if (c->input_done && c->s[CH_STDOUT].done && c->s[CH_STDERR].done)
            return 0;
        if (p2i_clock_ms_left(deadline) == 0)
            return -ETIMEDOUT;
        p2i_bell_wait(&p->bell, seen, deadline);
    }
}

int p2i_communicate_run(struct popen2_proc *p, const void *input, size_t inlen,
                        const struct p2i_communicate_to *to, int timeout_ms)
{
    long long deadline = p2i_clock_deadline(timeout_ms);
    struct p2i_collected *c;
    int i, r, st;

    c = collected_get(p);
    if (!c)
        return -ENOMEM;
    r = plan_input(p, c, inlen);
    if (r < 0)
        return r;
    for (i = CH_STDOUT; i <= CH_STDERR; i++) {
        if (!to->data[i]) {
            discard(p, i, &c->s[i]);
            continue;
        }
        r = take_buffered(p, i, &c->s[i]);
        if (r < 0)
            return r;
    }
    r = run(p, c, input, deadline);
    if (r < 0)
        return r; /* keeps everything for the next call */

    r = p2i_child_wait(&p->child, p2i_clock_ms_left(deadline), &st);
    if (r < 0 && r != -ECHILD)
        return r; /* a timeout or a failed wait: everything is kept for the next call */
    /* Reaped elsewhere (a waitpid(-1) in the program, SIGCHLD ignored): no
     * status can be had, but the output was collected and is the caller's.
     * CPython's communicate() reports returncode 0 then; so do we.  poll and
     * wait keep saying ECHILD for this object. */
    if (r == -ECHILD)
        st = 0;

    for (i = CH_STDOUT; i <= CH_STDERR; i++) {
        if (c->s[i].error) {
            r = c->s[i].error;
            c->s[i].error = 0;
            free(c->s[CH_STDOUT].data);
            free(c->s[CH_STDERR].data);
            memset(&c->s[CH_STDOUT], 0, sizeof c->s[0]);
            memset(&c->s[CH_STDERR], 0, sizeof c->s[0]);
            c->s[CH_STDOUT].done = c->s[CH_STDERR].done = true;
            return -r;
        }
    }
    for (i = CH_STDOUT; i <= CH_STDERR; i++)
        hand_over(&c->s[i], to->data[i], to->len[i]);
    return st;
}
