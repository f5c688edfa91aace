/* communicate: subprocess's communicate() in one call.
 *
 * The input goes through the stdin FILE, so it lands in the input ring and
 * the writer thread delivers it: this thread never blocks on the child, and
 * reading both outputs meanwhile needs no thread of its own.  The outputs are
 * gathered with popen2_read, sleeping in poll() on the readers' eventfd in
 * between (not on the full event descriptor: an exited child whose
 * grandchildren still hold the pipes would make that one spin).
 *
 * What was gathered lives in the object's slot (struct collected), so a call
 * that timed out leaves it for the next one, like subprocess's
 * TimeoutExpired.
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
 * Cancellation: the waits (poll on the readers' descriptor, the child's
 * wait) are cancellation points outside every lock; what was gathered so far
 * stays in the slot, so a later call goes on from there.  Handing the input
 * over runs with cancellation disabled, so input is either all queued and
 * stdin closed, or neither.
 */
#include "config.h"

#include "front.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Room made before each read: large reads drain a busy ring in few calls. */
#define READ_CHUNK (64 * 1024)

struct gathered {
    char *data;
    size_t len, cap;
    bool done;  /* EOF, error, or nothing to gather */
    int error;  /* errno that ended the stream early (ENOBUFS ...) */
    bool piped; /* the caller gets a buffer (else NULL) */
};

struct collected {
    bool input_done;
    struct gathered s[CH_COUNT]; /* [CH_STDOUT], [CH_STDERR] */
};

static void collected_free(void *slot)
{
    struct collected *c = slot;

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

    if (!rb->limit || g->len <= rb->limit)
        return;
    if (rb->policy == POPEN2_KEEP_TAIL && !g->done && g->len / 2 < rb->limit)
        return;
    if (rb->policy == POPEN2_FAIL) {
        g->len = rb->limit; /* what a ring alone would have kept */
        g->error = ENOBUFS;
        g->done = true;
    } else if (rb->policy == POPEN2_KEEP_TAIL) {
        drop = g->len - rb->limit;
        memmove(g->data, g->data + drop, rb->limit);
        g->len = rb->limit;
        p2i_ringbuf_add_dropped(rb, drop);
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

/* Reads stream `which` until it has nothing more for now; 0 or -ENOMEM. */
static int gather(struct popen2_proc *p, int which, struct gathered *g)
{
    struct ringbuf *rb = &p->ch[which].ring;
    struct channel *ch;
    ssize_t k;
    int r;

    while (!g->done) {
        r = make_room(g, READ_CHUNK);
        if (r < 0)
            return r;
        /* Looked up at every read: the caller may have closed the FILE. */
        ch = p2i_output_channel(p, which, true);
        k = ch ? p2i_read_some(p, ch, g->data + g->len, g->cap - g->len - 1) : -errno;
        if (k > 0) {
            g->len += (size_t)k;
            bound(rb, g);
        } else if (k == 0) {
            g->done = true;
        } else if (k == -EAGAIN) {
            break;
        } else {
            g->error = k == -EBADF ? 0 : (int)-k; /* EBADF: caller closed it */
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

static int send_input(struct popen2_proc *p, const void *input, size_t inlen)
{
    FILE *f = p2i_proc_file(p, CH_STDIN);
    int cancel;

    if (!f)
        return inlen ? -EINVAL : 0; /* stdin not piped, or closed already */
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
    /* The ring takes it all at once; a child that stopped reading makes this
     * fail with EPIPE, which subprocess ignores too. */
    if (inlen)
        fwrite(input, 1, inlen, f);
    fclose(f); /* EOF once delivered */
    pthread_setcancelstate(cancel, NULL);
    return 0;
}

int popen2_communicate(popen2_proc *p, const void *input, size_t inlen, char **out, size_t *outlen,
                       char **err, size_t *errlen, int timeout_ms)
{
    long long deadline;
    struct collected *c;
    struct pollfd pfd;
    int i, r, st, evfd;

    if (!p || timeout_ms < -1 || (inlen && !input)) {
        errno = EINVAL;
        return -1;
    }
    if (p2i_front_inherited(p))
        return -1;
    deadline = p2i_deadline(timeout_ms);
    pthread_mutex_lock(&p->mu);
    c = p->slot;
    if (!c && !p->slot_free && (c = calloc(1, sizeof *c)) != NULL) {
        for (i = CH_STDOUT; i <= CH_STDERR; i++) {
            c->s[i].piped = p->ch[i].used;
            c->s[i].done = !p->ch[i].used || !p->ch[i].file;
        }
        p->slot = c;
        p->slot_free = collected_free;
    }
    pthread_mutex_unlock(&p->mu);
    if (!c) {
        errno = ENOMEM;
        return -1;
    }
    /* A call after a timeout closed stdin already: new input could only be
     * dropped, so it is refused before anything is taken. */
    if (c->input_done && inlen) {
        errno = EINVAL;
        return -1;
    }
    for (i = CH_STDOUT; i <= CH_STDERR; i++) {
        r = take_buffered(p, i, &c->s[i]);
        if (r < 0) {
            errno = -r;
            return -1;
        }
    }
    if (!c->input_done) {
        r = send_input(p, input, inlen);
        if (r < 0) {
            errno = -r;
            return -1;
        }
        c->input_done = true;
    }

    evfd = p2i_events_stream_fd(p);
    if (evfd < 0) {
        errno = -evfd;
        return -1;
    }
    for (;;) {
        /* Clear first, then read: a byte buffered after our read signals
         * the eventfd after this clear, so the poll below sees it. */
        p2i_events_rearm(p);
        for (i = CH_STDOUT; i <= CH_STDERR; i++) {
            r = gather(p, i, &c->s[i]);
            if (r < 0) {
                errno = -r;
                return -1;
            }
        }
        if (c->s[CH_STDOUT].done && c->s[CH_STDERR].done)
            break;
        if (p2i_ms_left(deadline) == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        pfd.fd = evfd;
        pfd.events = POLLIN;
        poll(&pfd, 1, p2i_ms_left(deadline));
    }

    r = p2i_child_wait(&p->child, p2i_ms_left(deadline), &st);
    if (r < 0 && r != -ECHILD) {
        /* Keeps everything for the next call, also when the wait failed:
         * the output is collected, only the status is missing. */
        errno = -r;
        return -1;
    }
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
            errno = r;
            return -1;
        }
    }
    hand_over(&c->s[CH_STDOUT], out, outlen);
    hand_over(&c->s[CH_STDERR], err, errlen);
    return st;
}
