/* check_ringinput: what is written to tochild, bounded and accounted for.
 * Limits on stream 0 (POPEN2_BLOCK waits, large blocked writes go to the
 * pipe from the caller's buffer; POPEN2_FAIL is short with ENOBUFS), the
 * counters of stream 0, popen2_drain, closing tochild with its queue full
 * (a close, a free or an exit never waits for the child), and large writes,
 * which go through the ring and the writer thread: nothing overtakes queued
 * bytes, nothing blocks, a SIGPIPE never reaches the caller. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "baseline.h"
#include "common.h"
#include "runner.h"
#include "ring/ring.h"
#include "ring_fixture.h"
#include "popen2.h"

#define KiB 1024
#define MiB (1024 * 1024)

static popen2_proc *spawn_limited(const char *mode, const char *arg, size_t limit, int policy,
                                  int bufsize)
{
    char *argv[] = {TEST_CHILD, (char *)mode, (char *)arg, NULL};
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;

    ck_assert_ptr_nonnull(a);
    if (limit)
        ck_assert_int_eq(popen2_attr_set_limit(a, 0, limit, policy), 0);
    ck_assert_int_eq(popen2_attr_set_bufsize(a, bufsize), 0);
    p = popen2_spawnv(argv, a);
    ck_assert_msg(p != NULL, "spawn: %s", strerror(errno));
    popen2_attr_free(a);
    return p;
}

struct reader {
    FILE *f;
    unsigned seed;
    size_t got; /* bytes matching the pattern, or (size_t)-1 */
};

static void *read_pattern_thread(void *arg)
{
    struct reader *r = arg;

    r->got = read_pattern(r->f, r->seed, 64 * KiB);
    return NULL;
}

/* Writes `total` bytes of pattern `seed` in pieces of the given sizes, in
 * turn. */
static void write_pattern(FILE *f, unsigned seed, size_t total, const size_t *sizes, int nsizes)
{
    unsigned char *buf = malloc(2 * MiB);
    size_t off = 0, k;
    int i = 0;

    ck_assert_ptr_nonnull(buf);
    while (off < total) {
        k = sizes[i++ % nsizes];
        if (k > total - off)
            k = total - off;
        pattern_fill(buf, k, seed, off);
        ck_assert_uint_eq(fwrite(buf, 1, k, f), k);
        off += k;
    }
    free(buf);
}

START_TEST(stream0_accepts_block_and_fail_only)
{
    popen2_attr *a = popen2_attr_new();

    ck_assert_int_eq(popen2_attr_set_limit(a, 0, 4096, POPEN2_BLOCK), 0);
    ck_assert_int_eq(popen2_attr_set_limit(a, 0, 4096, POPEN2_FAIL), 0);
    ck_assert_int_eq(popen2_attr_set_limit(a, 0, 4096, POPEN2_SPILL), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_attr_set_limit(a, 0, 4096, POPEN2_KEEP_TAIL), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_attr_set_limit(a, 3, 4096, POPEN2_BLOCK), -1);
    ck_assert_int_eq(errno, EINVAL);
    popen2_attr_free(a);
}
END_TEST

/* Through cat, with small (copied) and large (lent) writes in turn: every
 * byte arrives in order, and the ring never holds more than the limit. */
static void through_cat(int bufsize)
{
    static const size_t sizes[] = {100, 300 * KiB, 7, 1 * MiB, 65 * KiB, 64 * KiB - 1};
    popen2_proc *p = spawn_limited("cat", NULL, 64 * KiB, POPEN2_BLOCK, bufsize);
    struct reader r = {popen2_fromchild(p), 11, 0};
    struct popen2_stream_stats st;
    pthread_t t;

    ck_assert_int_eq(pthread_create(&t, NULL, read_pattern_thread, &r), 0);
    write_pattern(popen2_tochild(p), 11, 24 * MiB, sizes, 6);
    ck_assert_int_eq(fflush(popen2_tochild(p)), 0);
    ck_assert_int_eq(popen2_drain(p, 60000), 0);
    ck_assert_int_eq(popen2_stream_stats(p, 0, &st), 0);
    ck_assert_uint_eq(st.total, 24 * MiB);
    ck_assert_uint_eq(st.buffered, 0);
    ck_assert_uint_eq(st.dropped, 0);
    ck_assert_uint_le(st.high_water, 64 * KiB);
    ck_assert_int_eq(fclose(popen2_tochild(p)), 0);
    pthread_join(t, NULL);
    ck_assert_uint_eq(r.got, 24 * MiB);
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
}

START_TEST(block_limit_keeps_order_unbuffered)
{
    through_cat(0);
}
END_TEST

START_TEST(block_limit_keeps_order_buffered)
{
    through_cat(-1);
}
END_TEST

/* The blocked writer waits for the child's stdin only: nobody reads stdout
 * here, yet 16 MiB go through cat (the stdout ring grows meanwhile). */
START_TEST(block_limit_never_waits_for_unread_output)
{
    static const size_t sizes[] = {1 * MiB, 4 * KiB};
    popen2_proc *p = spawn_limited("cat", NULL, 64 * KiB, POPEN2_BLOCK, 0);

    write_pattern(popen2_tochild(p), 5, 16 * MiB, sizes, 2);
    ck_assert_int_eq(fclose(popen2_tochild(p)), 0);
    ck_assert_uint_eq(read_pattern(popen2_fromchild(p), 5, 64 * KiB), 16 * MiB);
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
}
END_TEST

/* fwrite of n zero bytes to f; returns what fwrite returned, errno as it
 * left it. */
static size_t write_zeros(FILE *f, size_t n)
{
    unsigned char *buf = calloc(1, n);
    size_t k;
    int e;

    ck_assert_ptr_nonnull(buf);
    k = fwrite(buf, 1, n, f);
    e = errno;
    free(buf);
    errno = e;
    return k;
}

/* FAIL: a child that never reads; writes are short with ENOBUFS once the
 * limit (plus what the pipe holds) is queued, and the counters agree. */
START_TEST(fail_limit_is_a_short_write)
{
    popen2_proc *p = spawn_limited("sleep", "60000", 64 * KiB, POPEN2_FAIL, 0);
    struct popen2_stream_stats st;
    size_t n = write_zeros(popen2_tochild(p), MiB);

    ck_assert_uint_lt(n, MiB);
    ck_assert_uint_ge(n, 64 * KiB);
    ck_assert_int_eq(errno, ENOBUFS);
    ck_assert(ferror(popen2_tochild(p)));
    ck_assert_int_eq(popen2_stream_stats(p, 0, &st), 0);
    ck_assert_uint_eq(st.total, n);
    ck_assert_uint_le(st.buffered, 64 * KiB);
    ck_assert_uint_eq(st.dropped, 0);
    /* The writer thread may still be moving queued bytes into the pipe (it
     * grew: valgrind showed 64 KiB moving between two looks); once the pipe
     * is full the two counters agree. */
    ck_assert(EVENTUALLY(popen2_stream_stats(p, 0, &st) == 0 &&
                             popen2_stream_available(p, 0) == (ssize_t)st.buffered,
                         30));
    ck_assert_int_eq(popen2_kill(p), 0);
    ck_assert(WIFSIGNALED(popen2_wait(p)));
    popen2_free(p);
}
END_TEST

/* Unlimited input, counted: the child reads it all. */
START_TEST(drain_then_count)
{
    popen2_proc *p = spawn_limited("count", NULL, 0, 0, -1);
    struct popen2_stream_stats st;
    char line[64] = "";

    ck_assert_uint_eq(write_zeros(popen2_tochild(p), MiB), MiB);
    ck_assert_int_eq(fflush(popen2_tochild(p)), 0);
    ck_assert_int_eq(popen2_drain(p, 60000), 0);
    ck_assert_int_eq(popen2_stream_stats(p, 0, &st), 0);
    ck_assert_uint_eq(st.total, MiB);
    ck_assert_uint_eq(st.buffered, 0);
    ck_assert_int_eq(popen2_stream_available(p, 0), 0);
    ck_assert_int_eq(fclose(popen2_tochild(p)), 0);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, popen2_fromchild(p)));
    ck_assert_str_eq(line, "1048576\n");
    /* stdin closed, its counters still there */
    ck_assert_int_eq(popen2_stream_stats(p, 0, &st), 0);
    ck_assert_uint_eq(st.total, MiB);
    ck_assert_int_eq(popen2_drain(p, 0), 0);
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
}
END_TEST

/* A child that exits without reading: the queue is discarded, drain says
 * EPIPE and the counters show what was lost. */
START_TEST(drain_reports_lost_input)
{
    popen2_proc *p = spawn_limited("noread-exit", "0", 0, 0, 0);
    struct popen2_stream_stats st;

    ck_assert_int_eq(popen2_wait(p), 0);
    /* The first write may be accepted (the writer finds EPIPE later). */
    write_zeros(popen2_tochild(p), 4 * MiB);
    ck_assert_int_eq(popen2_drain(p, 60000), -1);
    ck_assert_int_eq(errno, EPIPE);
    ck_assert_int_eq(popen2_stream_stats(p, 0, &st), 0);
    ck_assert_uint_eq(st.buffered, 0);
    ck_assert_uint_gt(st.dropped, 0);
    ck_assert_uint_le(st.dropped, st.total);
    popen2_free(p);
}
END_TEST

START_TEST(drain_times_out_while_the_child_does_not_read)
{
    popen2_proc *p = spawn_limited("sleep", "60000", 0, 0, 0);

    ck_assert_uint_eq(write_zeros(popen2_tochild(p), 4 * MiB), 4 * MiB);
    ck_assert_int_eq(popen2_drain(p, 50), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    ck_assert_int_eq(popen2_drain(NULL, 0), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_drain(p, -2), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(popen2_kill(p), 0);
    ck_assert(WIFSIGNALED(popen2_wait(p)));
    popen2_free(p);
}
END_TEST

START_TEST(drain_needs_a_piped_stdin)
{
    char *argv[] = {TEST_CHILD, "exit", "0", NULL};
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;

    ck_assert_int_eq(popen2_attr_set_stream(a, 0, POPEN2_DEVNULL), 0);
    p = popen2_spawnv(argv, a);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(popen2_drain(p, 0), -1);
    ck_assert_int_eq(errno, EBADF);
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
    popen2_attr_free(a);
}
END_TEST

/* A child that dies while a large write is lent to the writer thread: the
 * write comes back (short or whole), never hangs, and no SIGPIPE reaches
 * the process. */
START_TEST(lent_write_ends_when_the_child_dies)
{
    popen2_proc *p = spawn_limited("sleep", "60000", 64 * KiB, POPEN2_BLOCK, 0);
    struct popen2_stream_stats st;
    size_t n;

    ck_assert_int_eq(kill(popen2_pid(p), SIGKILL), 0);
    n = write_zeros(popen2_tochild(p), 8 * MiB);
    ck_assert_uint_lt(n, 8 * MiB);
    ck_assert_int_eq(errno, EPIPE);
    ck_assert_int_eq(popen2_stream_stats(p, 0, &st), 0);
    ck_assert_uint_eq(st.buffered, 0);
    ck_assert(WIFSIGNALED(popen2_wait(p)));
    popen2_free(p);
}
END_TEST

/* ---- closing a full queue ------------------------------------------------
 * A child (`child hold`) that does not read; its stdin pipe full, the queue
 * behind it holding the limit, and a few bytes written after that still in
 * tochild's stdio buffer: the close's flush meets a full queue. */

#define CLOSE_LIMIT (64 * KiB)

/* How long `child hold` waits for SIGUSR1 before it gives up (exit 3): far
 * beyond the Check timeout, so within a test it never ends by itself (a
 * close that waits for it fails by that timeout), and far enough below for
 * ever that one left behind by a failed test does end. */
#define HOLD_MS "600000"

/* exit's documented give-up time: 3 s without any delivery (popen2_free). */
#define EXIT_GIVE_UP_MS 3000

struct close_case {
    int policy, bufsize;
    size_t pending; /* bytes left in the stdio buffer for the close */
};

static const struct close_case close_cases[] = {
    {POPEN2_BLOCK, 0, 0},                 /* unbuffered: nothing left to flush */
    {POPEN2_BLOCK, 1, 5},                 /* line buffered, a line not ended */
    {POPEN2_BLOCK, -1, 100},              /* stdio's own buffer */
    {POPEN2_BLOCK, 128 * KiB, 100 * KiB}, /* a flush large enough to be lent */
    {POPEN2_FAIL, 1, 5},
    {POPEN2_FAIL, -1, 100},
    {POPEN2_FAIL, 128 * KiB, 100 * KiB},
    {0, -1, 100}, /* no limit */
};
#define N_CLOSE_CASES (int)(sizeof close_cases / sizeof close_cases[0])

/* Spawns `child hold` for case c; NULL with errno.  No Check asserts: the
 * exit test runs it in a process of its own. */
static popen2_proc *spawn_hold(const struct close_case *c)
{
    char *argv[] = {TEST_CHILD, "hold", HOLD_MS, NULL};
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p = NULL;

    if (a && (!c->policy || popen2_attr_set_limit(a, 0, CLOSE_LIMIT, c->policy) == 0) &&
        popen2_attr_set_bufsize(a, c->bufsize) == 0)
        p = popen2_spawnv(argv, a);
    popen2_attr_free(a);
    return p;
}

static bool put(FILE *f, const unsigned char *buf, size_t n)
{
    return fwrite(buf, 1, n, f) == n && fflush(f) == 0;
}

/* Fills the pipe of p's `child hold`, then the queue to CLOSE_LIMIT (with
 * or without that limit), then leaves c->pending bytes in tochild's buffer.
 * The bytes accepted (not the pending ones), or 0 on failure.  No step
 * waits for the child: every write fits in what is free. */
static size_t fill_queue(popen2_proc *p, const struct close_case *c)
{
    FILE *in = popen2_tochild(p);
    size_t page = (size_t)sysconf(_SC_PAGESIZE), off = 0, k;
    unsigned char *buf = malloc(c->pending > page ? c->pending : page);
    char line[32];
    long cap;
    ssize_t queued;
    struct popen2_stream_stats st;

    if (!buf || !fgets(line, sizeof line, popen2_fromchild(p)) || (cap = atol(line)) <= 0)
        goto fail;
    /* 'x' has no newline, so a line-buffered FILE keeps it all. */
    memset(buf, 'x', c->pending > page ? c->pending : page);
    /* The pipe, a page at a time, each one delivered before the next: the
     * writer thread hands it to the pipe in one write(), which fills one of
     * the pipe's pages whole, so the pipe ends up holding its capacity. */
    for (; off < (size_t)cap; off += page)
        if (!put(in, buf, page) || !EVENTUALLY(popen2_stream_available(p, 0) == 0, 60))
            goto fail;
    /* The queue: nothing moves it any more, so the limit is reached exactly. */
    while ((queued = popen2_stream_available(p, 0)) >= 0 && (size_t)queued < CLOSE_LIMIT) {
        k = CLOSE_LIMIT - (size_t)queued < page ? CLOSE_LIMIT - (size_t)queued : page;
        if (!put(in, buf, k))
            goto fail;
        off += k;
    }
    if (fwrite(buf, 1, c->pending, in) != c->pending)
        goto fail;
    /* The pending bytes are still stdio's: the queue has not seen them. */
    if (popen2_stream_stats(p, 0, &st) != 0 || st.total != off || st.buffered != CLOSE_LIMIT)
        goto fail;
    free(buf);
    return off;
fail:
    free(buf);
    return 0;
}

/* The child is still there: not exited (a zombie) nor reaped. */
static bool running(pid_t pid)
{
    char st = proc_state(pid);

    return st && st != 'Z';
}

/* fclose(tochild) comes back at once with the queue full, whatever the
 * buffering and policy; the bytes of its buffer are queued past the limit,
 * counted, and delivered once the child reads. */
START_TEST(fclose_tochild_never_waits_for_a_full_queue)
{
    const struct close_case *c = &close_cases[_i];
    struct popen2_stream_stats st;
    popen2_proc *p = spawn_hold(c);
    size_t written;
    char line[64];
    pid_t pid;

    ck_assert_msg(p != NULL, "spawn: %s", strerror(errno));
    pid = popen2_pid(p);
    written = fill_queue(p, c);
    ck_assert_uint_gt(written, 0);
    ck_assert_msg(fclose(popen2_tochild(p)) == 0, "fclose: %s", strerror(errno));
    ck_assert_msg(running(pid), "fclose waited for the child to end");
    ck_assert_int_eq(popen2_stream_stats(p, 0, &st), 0);
    ck_assert_uint_eq(st.total, written + c->pending);
    ck_assert_uint_eq(st.buffered, CLOSE_LIMIT + c->pending);
    ck_assert_uint_eq(st.dropped, 0);
    ck_assert_int_eq(kill(pid, SIGUSR1), 0);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, popen2_fromchild(p)));
    ck_assert_uint_eq(strtoull(line, NULL, 10), written + c->pending);
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
}
END_TEST

/* communicate likewise: the bytes the caller left in tochild's buffer go to
 * the queue past the limit, so its timeout bounds the call even with the
 * queue full, and a later call delivers every byte. */
START_TEST(communicate_never_waits_for_a_full_queue)
{
    const struct close_case *c = &close_cases[_i];
    struct popen2_stream_stats st;
    popen2_proc *p = spawn_hold(c);
    char *out = (char *)1;
    size_t outlen = 7, written;
    pid_t pid;
    int status;

    ck_assert_msg(p != NULL, "spawn: %s", strerror(errno));
    pid = popen2_pid(p);
    written = fill_queue(p, c);
    ck_assert_uint_gt(written, 0);
    ck_assert_int_eq(popen2_communicate(p, NULL, 0, &out, &outlen, NULL, NULL, 300), -1);
    ck_assert_msg(errno == ETIMEDOUT, "communicate: %s", strerror(errno));
    ck_assert_msg(running(pid), "communicate waited for the child to end");
    ck_assert_ptr_eq(out, (char *)1);
    ck_assert_int_eq(popen2_stream_stats(p, 0, &st), 0);
    ck_assert_uint_eq(st.total, written + c->pending);
    ck_assert_uint_eq(st.dropped, 0);
    ck_assert_int_eq(kill(pid, SIGUSR1), 0);
    status = popen2_communicate(p, NULL, 0, &out, &outlen, NULL, NULL, 60000);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_uint_eq(strtoull(out, NULL, 10), written + c->pending);
    free(out);
    popen2_free(p);
}
END_TEST

/* popen2_free likewise, leaving nothing behind once the child is gone: it returns while the child still runs. */
START_TEST(free_never_waits_for_a_full_queue)
{
    const struct close_case *c = &close_cases[_i];
    struct baseline b = baseline();
    popen2_proc *p = spawn_hold(c);
    pid_t pid;

    ck_assert_msg(p != NULL, "spawn: %s", strerror(errno));
    pid = popen2_pid(p);
    ck_assert_uint_gt(fill_queue(p, c), 0);
    popen2_free(p);
    ck_assert_msg(running(pid), "popen2_free waited for the child to end");
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    assert_back_to(b);
}
END_TEST

/* The exits: a case of close_cases, and whether popen2_free comes first
 * (else tochild is left open, for stdio's flush at exit). */
static const struct {
    int close_case;
    bool free_first;
} exit_cases[] = {
    {2, false}, /* BLOCK limit */
    {2, true},
    {N_CLOSE_CASES - 1, false}, /* no limit: the library's wait, then stdio's */
};

/* exit() with such an object ends once no byte was delivered for the
 * documented give-up time, not a second time for stdio's flush, and never
 * waits for the child.  Run in a process of its own, which reports the
 * child's pid, then one byte just before it frees or exits. */
START_TEST(exit_gives_up_on_a_full_queue)
{
    const struct close_case *c = &close_cases[exit_cases[_i].close_case];
    int fds[2], st = 0;
    pid_t proc, hold = -1;
    double t0, elapsed;
    bool ended;
    char go;

    ck_assert_int_eq(pipe(fds), 0);
    proc = fork();
    ck_assert_int_ge(proc, 0);
    if (proc == 0) {
        popen2_proc *p = spawn_hold(c);

        close(fds[0]);
        if (!p)
            _exit(10);
        hold = popen2_pid(p);
        if (write(fds[1], &hold, sizeof hold) != sizeof hold || fill_queue(p, c) == 0)
            _exit(11);
        if (write(fds[1], "x", 1) != 1)
            _exit(12);
        if (exit_cases[_i].free_first)
            popen2_free(p);
        exit(0);
    }
    close(fds[1]);
    ck_assert_int_eq(read(fds[0], &hold, sizeof hold), sizeof hold);
    ck_assert_int_eq(read(fds[0], &go, 1), 1);
    t0 = now_s();
    ended = EVENTUALLY(waitpid(proc, &st, WNOHANG) == proc, EXIT_GIVE_UP_MS / 1000.0 + 20);
    elapsed = now_s() - t0;
    close(fds[0]);
    if (!ended) {
        kill(proc, SIGKILL);
        waitpid(proc, NULL, 0);
    }
    kill(hold, SIGKILL);
    ck_assert_msg(ended, "exit still running after %.1f s", elapsed);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
    /* Generous: the documented time plus 2.5 s, below two give-ups. */
    ck_assert_msg(elapsed * 1000 < EXIT_GIVE_UP_MS + 2500, "exit took %.1f s", elapsed);
}
END_TEST

/* ---- large writes (always through the ring and the writer thread) -------- */

struct echo_reader {
    popen2_proc *p;
    size_t n;
    unsigned seed;
    size_t got;
};

static void *read_echo(void *arg)
{
    struct echo_reader *e = arg;

    e->got = read_pattern(popen2_fromchild(e->p), e->seed, 100000);
    return NULL;
}

START_TEST(large_and_small_writes_reach_cat_in_order)
{
    /* Large and small fwrites mixed: nothing may overtake queued bytes. */
    static const size_t sizes[] = {MiB, 3, 200000, 1, 65536, 4095, 2 * MiB, 70000};
    char *argv[] = {TEST_CHILD, "cat", NULL};
    struct echo_reader e = {.n = 40 * MiB + 17, .seed = 21};
    unsigned char *buf = malloc(2 * MiB);
    size_t sent = 0, k, i = 0;
    pthread_t t;

    ck_assert_ptr_nonnull(buf);
    e.p = popen2_Popen3v(argv, 0, -1);
    ck_assert_ptr_nonnull(e.p);
    ck_assert_int_eq(pthread_create(&t, NULL, read_echo, &e), 0);
    while (sent < e.n) {
        k = sizes[i++ % 8];
        if (k > e.n - sent)
            k = e.n - sent;
        pattern_fill(buf, k, 21, sent);
        ck_assert_uint_eq(fwrite(buf, 1, k, popen2_tochild(e.p)), k);
        sent += k;
    }
    ck_assert_int_eq(fclose(popen2_tochild(e.p)), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_uint_eq(e.got, e.n);
    ck_assert_int_eq(popen2_wait(e.p), 0);
    popen2_free(e.p);
    free(buf);
}
END_TEST

START_TEST(large_writes_to_a_child_not_reading_yet_never_block)
{
    /* 64 MiB, far more than a pipe holds, to a child that reads nothing
     * until the test lets it (it stops itself): were fwrite to wait for
     * the child, it would wait for ever and the test's timeout would say
     * so.  No clock is involved. */
    char cmd[512];
    unsigned char *buf = malloc(MiB);
    popen2_proc *p;
    char *text;
    int i;

    ck_assert_ptr_nonnull(buf);
    snprintf(cmd, sizeof cmd, STOPPED_FIRST("'%s' count"), TEST_CHILD);
    p = popen2_Popen3(cmd, 0, -1);
    ck_assert_ptr_nonnull(p);
    pattern_fill(buf, MiB, 22, 0);
    for (i = 0; i < 64; i++)
        ck_assert_uint_eq(fwrite(buf, 1, MiB, popen2_tochild(p)), MiB);
    ck_assert_int_eq(fflush(popen2_tochild(p)), 0);
    ck_assert_int_eq(fclose(popen2_tochild(p)), 0);
    ck_assert(EVENTUALLY(proc_state(popen2_pid(p)) == 'T', 30));
    ck_assert_int_eq(popen2_send_signal(p, SIGCONT), 0);
    text = read_all(popen2_fromchild(p), NULL);
    ck_assert_str_eq(text, "67108864\n");
    free(text);
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
    free(buf);
}
END_TEST

START_TEST(a_large_write_to_a_child_that_quit_is_epipe_not_sigpipe)
{
    /* SIGPIPE keeps its default action (death) in this process: if the
     * caller's own write() let it through, the test would die. */
    char *argv[] = {TEST_CHILD, "noread-exit", "3", NULL};
    unsigned char *buf = calloc(1, MiB); /* defined bytes: memcheck checks write() */
    sigset_t before, after, pending;
    popen2_proc *p;
    size_t k = MiB;
    int i;

    ck_assert_ptr_nonnull(buf);
    signal(SIGPIPE, SIG_DFL);
    pthread_sigmask(SIG_SETMASK, NULL, &before);
    p = popen2_Popen3v(argv, 0, -1);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(popen2_wait(p), 3 << 8);
    /* The writer thread finds EPIPE on its own time: the first writes may
     * still be queued (and then discarded); within a bound, one fails. */
    errno = 0;
    for (i = 0; i < 10000 && k == MiB; i++) {
        k = fwrite(buf, 1, MiB, popen2_tochild(p));
        if (k == MiB)
            sleep_ms(1);
    }
    ck_assert_uint_lt(k, MiB);
    ck_assert_int_eq(errno, EPIPE);
    /* Later writes fail the same way. */
    errno = 0;
    ck_assert_int_eq(fflush(popen2_tochild(p)) == 0 &&
                         fwrite(buf, 1, MiB, popen2_tochild(p)) == MiB,
                     0);
    ck_assert_int_eq(errno, EPIPE);
    /* The caller's mask is as it was and no SIGPIPE waits for it. */
    pthread_sigmask(SIG_SETMASK, NULL, &after);
    ck_assert_int_eq(sigismember(&after, SIGPIPE), sigismember(&before, SIGPIPE));
    sigpending(&pending);
    ck_assert(!sigismember(&pending, SIGPIPE));
    popen2_free(p);
    free(buf);
}
END_TEST

/* ---- lending: the caller's buffer read in place -------------------------- */

struct lender {
    const unsigned char *buf;
    size_t n;
    ssize_t got;
};

static void *lend_main(void *arg)
{
    struct lender *l = arg;

    l->got = p2i_ringinput_lend(&rb, l->buf, l->n);
    return NULL;
}

/* A lent buffer is read in place: the consumer's peek points into the
 * producer's own bytes (no copy into the ring), after every byte appended
 * before it, and the lender returns once all of it was consumed. */
START_TEST(a_lent_buffer_is_read_in_place_after_the_ring)
{
    static unsigned char big[200000];
    unsigned char first[100];
    struct lender l = {big, sizeof big, 0};
    const void *data;
    size_t n, off = 0;
    pthread_t t;

    pattern_fill(first, sizeof first, 4, 0);
    pattern_fill(big, sizeof big, 4, sizeof first);
    ck_assert_int_eq(p2i_ringlimit_set(&rb, (struct ring_limit){4096, POPEN2_BLOCK}), 0);
    ck_assert_int_eq(p2i_ringinput_append(&rb, first, sizeof first, true),
                     (ssize_t)sizeof first);
    ck_assert_int_eq(pthread_create(&t, NULL, lend_main, &l), 0);
    /* The ring's bytes first, copied in. */
    p2i_ringbuf_peek(&rb, &data, &n);
    ck_assert_uint_eq(n, sizeof first);
    ck_assert_uint_eq(pattern_check(data, n, 4, 0), n);
    ck_assert(data < (const void *)big || data >= (const void *)(big + sizeof big));
    p2i_ringbuf_consume(&rb, n);
    /* Then the lent bytes, where the lender keeps them, in pieces. */
    while (off < sizeof big) {
        p2i_ringbuf_peek(&rb, &data, &n);
        ck_assert_ptr_eq(data, big + off);
        ck_assert_uint_eq(n, sizeof big - off);
        n = n > 30000 ? 30000 : n;
        p2i_ringbuf_consume(&rb, n);
        off += n;
    }
    pthread_join(t, NULL);
    ck_assert_int_eq(l.got, (ssize_t)sizeof big);
    ck_assert_uint_eq(p2i_ringbuf_length(&rb), 0);
}
END_TEST

static const struct test_case cases[] = {
    TEST(limits, stream0_accepts_block_and_fail_only),
    TEST(limits, block_limit_keeps_order_unbuffered),
    TEST(limits, block_limit_keeps_order_buffered),
    TEST(limits, block_limit_never_waits_for_unread_output),
    TEST(limits, fail_limit_is_a_short_write),
    TEST(limits, lent_write_ends_when_the_child_dies),
    TEST(delivery, drain_then_count),
    TEST(delivery, drain_reports_lost_input),
    TEST(delivery, drain_times_out_while_the_child_does_not_read),
    TEST(delivery, drain_needs_a_piped_stdin),
    TEST_LOOP(close, fclose_tochild_never_waits_for_a_full_queue, 0, N_CLOSE_CASES),
    TEST_LOOP(close, free_never_waits_for_a_full_queue, 0, N_CLOSE_CASES),
    TEST_LOOP(close, communicate_never_waits_for_a_full_queue, 0, N_CLOSE_CASES),
    TEST_LOOP(close, exit_gives_up_on_a_full_queue, 0,
              (int)(sizeof exit_cases / sizeof exit_cases[0])),
    TEST_T(large_writes, large_and_small_writes_reach_cat_in_order, 60),
    TEST_T(large_writes, large_writes_to_a_child_not_reading_yet_never_block, 60),
    TEST_T(large_writes, a_large_write_to_a_child_that_quit_is_epipe_not_sigpipe, 60),
    TEST_WITH(lending, a_lent_buffer_is_read_in_place_after_the_ring, .setup = ring_setup,
              .teardown = ring_teardown),
};

TEST_MAIN("ringinput", cases, .timeout = 120)
