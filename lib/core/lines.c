/* lines: line reads from the output rings, as an operation of the object
 * (popen2_getline and popen2_getline_any are its front).
 *
 * What arrived of a line is taken out of the ring into proc->line and kept
 * there between calls: a call that times out loses nothing, and a line
 * longer than a POPEN2_BLOCK limit cannot wedge the stream, since taking
 * its first part frees the ring for the rest (the line is then bounded by
 * the caller's memory only).  Bytes after a line's '\n' stay in the ring,
 * under its limit.
 *
 * Because a partial line lives here, the stream's FILE would skip it: once
 * lines were read, the FILE refuses to read (EBADF), and once the FILE has
 * read, lines are refused (EBADF).  Both flags are set and looked at under
 * the FILE's lock, which its reads hold.
 *
 * The waits sleep on the object's bell, which every reader thread rings
 * after each chunk, and the event descriptor is re-armed before each sleep
 * and return: with the arrived part of a line out of the ring, the ring is
 * empty and the descriptor quiet until the next chunk, so a loop that polls
 * it and calls with timeout 0 wakes once per chunk.
 *
 * Arrival order over both streams: each ring stamps its chunks from one
 * process-wide clock (ringline.c), and the line whose '\n' has the lower
 * stamp comes first.  A stream is looked at again after another one's line
 * turned whole, since its reader may have appended an older line between
 * the two looks; once a pass turns no new line whole, the order is exact.
 */
#include "config.h"

#include "core/core.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Room made before each take from the ring. */
#define TAKE_MIN 4096
/* A kept buffer larger than this is freed once its line is handed over. */
#define LINE_KEEP (64 * 1024)
/* getline(3)'s first allocation in the GNU C library. */
#define FIRST_CAP 120

/* Takes what arrived of stream `which`'s line; proc->mu held.  1 once it is
 * whole (its '\n' or the stream's end arrived), 0 at the end with nothing,
 * -EAGAIN for more to come, -ENOMEM, or the stream's error after its data. */
static int advance_locked(struct popen2_proc *p, int which)
{
    struct p2i_line *l = &p->line[which];
    unsigned long long seq;
    size_t ncap;
    char *nb;
    ssize_t k;

    while (!l->whole) {
        if (l->cap - l->len < TAKE_MIN) {
            ncap = l->cap * 2 > l->len + TAKE_MIN ? l->cap * 2 : l->len + TAKE_MIN;
            nb = realloc(l->buf, ncap);
            if (!nb)
                return -ENOMEM;
            l->buf = nb;
            l->cap = ncap;
        }
        k = p2i_ringline_take(&p->ch[which].ring, l->buf + l->len, l->cap - l->len, &seq);
        if (k > 0) {
            l->len += (size_t)k;
            if (l->buf[l->len - 1] == '\n') {
                l->whole = true;
                l->seq = seq;
            }
            continue;
        }
        if (k == -EAGAIN || l->len == 0)
            return (int)k;
        /* The last bytes before the end (or an error) are a line too; the
         * end itself comes with the next call. */
        l->whole = true;
        l->seq = seq;
    }
    return 1;
}

/* Hands the whole line over as getline(3) does; proc->mu held.  Its length
 * or -ENOMEM (the line stays). */
static ssize_t deliver_locked(struct p2i_line *l, char **line, size_t *cap)
{
    size_t n = l->len, ncap, their_cap = *line ? *cap : 0;
    char *theirs = *line, *nb;

    if (their_cap < n + 1) {
        /* Too small: getline(3) would realloc the caller's buffer, so ours
         * goes to the caller instead and theirs becomes ours: a long line
         * is not copied again. */
        ncap = n + 1 > FIRST_CAP ? n + 1 : FIRST_CAP;
        if (l->cap < ncap) {
            nb = realloc(l->buf, ncap);
            if (!nb)
                return -ENOMEM;
            l->buf = nb;
            l->cap = ncap;
        }
        *line = l->buf;
        *cap = l->cap;
        l->buf = theirs;
        l->cap = their_cap;
    } else {
        memcpy(*line, l->buf, n);
    }
    (*line)[n] = '\0';
    l->len = 0;
    l->whole = false;
    if (l->cap > LINE_KEEP) {
        free(l->buf);
        l->buf = NULL;
        l->cap = 0;
    }
    return (ssize_t)n;
}

/* The stream's FILE and its lines are not mixed (see the top): 0 once the
 * stream is ours to read lines from, -EBADF when its FILE is closed or has
 * read. */
static int claim(struct popen2_proc *p, int which)
{
    struct channel *ch = &p->ch[which];
    FILE *f = p2i_proc_file(p, which);
    bool read_before;

    if (!f)
        return -EBADF;
    flockfile(f);
    read_before = ch->stdio_read;
    if (!read_before)
        ch->line_read = true;
    funlockfile(f);
    return read_before ? -EBADF : 0;
}

/* One look at every stream in want[]; proc->mu held.  st[] gets what
 * advance_locked said; looks again while a look turned a line whole. */
static void look_locked(struct popen2_proc *p, const bool want[CH_COUNT], int st[CH_COUNT])
{
    bool again = true;
    int i, was;

    while (again) {
        again = false;
        for (i = CH_STDOUT; i <= CH_STDERR; i++) {
            if (!want[i])
                continue;
            was = st[i];
            st[i] = advance_locked(p, i);
            if (st[i] == 1 && was != 1)
                again = true;
        }
    }
}

/* What one look gives the caller; proc->mu held.  A line (the oldest
 * whole one), the first error, 0 when every stream is at its end, or
 * -EAGAIN. */
static ssize_t pick_locked(struct popen2_proc *p, const bool want[CH_COUNT], const int st[CH_COUNT],
                           int *which, char **line, size_t *cap)
{
    int i, best = -1, err = 0, at_end = 0, wanted = 0;

    for (i = CH_STDOUT; i <= CH_STDERR; i++) {
        if (!want[i])
            continue;
        wanted++;
        if (st[i] == 1 && (best < 0 || p->line[i].seq < p->line[best].seq))
            best = i;
        else if (st[i] == 0)
            at_end++;
        else if (st[i] != -EAGAIN && !err) {
            err = st[i];
            *which = i;
        }
    }
    if (best >= 0) {
        *which = best;
        return deliver_locked(&p->line[best], line, cap);
    }
    if (err) {
        if (err != -ENOMEM)
            p->ch[*which].end_reported = true;
        return err;
    }
    if (at_end == wanted) {
        for (i = CH_STDOUT; i <= CH_STDERR; i++)
            if (want[i])
                p->ch[i].end_reported = true;
        return 0;
    }
    return -EAGAIN;
}

/* Looks until a line, the end or an error, or the deadline; every look and
 * the return re-arm the event descriptor. */
static ssize_t run(struct popen2_proc *p, const bool want[CH_COUNT], int *which, char **line,
                   size_t *cap, int timeout_ms)
{
    long long deadline = p2i_clock_deadline(timeout_ms);
    unsigned long long seen;
    int st[CH_COUNT] = {0, -EAGAIN, -EAGAIN};
    ssize_t r;

    for (;;) {
        /* The count first, then the look: a chunk appended after the look
         * rings after it, and the wait returns at once. */
        seen = p2i_bell_count(&p->bell);
        pthread_mutex_lock(&p->mu);
        look_locked(p, want, st);
        r = pick_locked(p, want, st, which, line, cap);
        pthread_mutex_unlock(&p->mu);
        p2i_events_rearm(p);
        if (r != -EAGAIN)
            return r;
        if (p2i_clock_ms_left(deadline) == 0)
            return -ETIMEDOUT;
        p2i_bell_wait(&p->bell, seen, deadline);
    }
}

ssize_t p2i_lines_get(struct popen2_proc *p, int which, char **line, size_t *cap, int timeout_ms)
{
    bool want[CH_COUNT] = {false, false, false};
    int r = claim(p, which), from;

    if (r < 0)
        return r;
    want[which] = true;
    return run(p, want, &from, line, cap, timeout_ms);
}

ssize_t p2i_lines_get_any(struct popen2_proc *p, int *which, char **line, size_t *cap,
                          int timeout_ms)
{
    bool want[CH_COUNT] = {false, false, false}, any = false;
    int i, r;

    for (i = CH_STDOUT; i <= CH_STDERR; i++) {
        if (!p2i_proc_stream_ok(p, i, true))
            continue;
        r = claim(p, i);
        if (r < 0)
            return r;
        want[i] = any = true;
    }
    if (!any)
        return -EBADF;
    return run(p, want, which, line, cap, timeout_ms);
}

void p2i_lines_free(struct popen2_proc *p)
{
    int i;

    for (i = 0; i < CH_COUNT; i++) {
        free(p->line[i].buf);
        p->line[i].buf = NULL;
    }
}
