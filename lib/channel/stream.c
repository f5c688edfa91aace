/* stream: FILE* glue.
 *
 * Reads copy straight from the ring into the buffer stdio hands us, as much
 * as is there, returning as soon as there is one byte: fgets on a prompt
 * gets the line the child wrote without waiting for more.  Writes append to
 * the input ring and never block.  Closing the FILE tells the object (see
 * the owner's file_closed), so the object never closes it a second time.
 *
 * Large reads (popen2_readinto, stdio's refills of a large FILE buffer)
 * skip the ring when it is empty: the caller's thread reads the pipe
 * itself, so the bytes are copied once, as in a plain read() loop, and no
 * thread hand-off sits between the child and the caller (measured: the
 * stdio layer is where the cost was).  Once the stream is bulk, that read
 * goes through the stream's relay (relay.posix.c), as the reader thread's
 * do.  The reader thread meanwhile waits; see p2i_ringbuf_direct_begin for
 * why that keeps the order of the bytes and never lets the child block for
 * long.
 *
 * Every cookie function returns what its stdio wants even on failure
 * (fopencookie: a write says 0 with errno, never -1; a read -1 with errno;
 * a close -1 with errno; cfile.posix.c adapts them to funopen), and first
 * checks that the FILE was made in this process (the fork generation): in
 * a forked child a FILE inherited from the parent fails with ECHILD at once
 * instead of taking locks that threads which did not come along may hold,
 * so exit()'s flush cannot hang there.
 */
#include "config.h"

#include "channel/channel.h"
#include "popen2.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#ifdef HAVE_STDIO_EXT_H
#include <stdio_ext.h>
#endif

/* Reads at least this large may go to the pipe directly.  Smaller ones
 * (stdio's own buffer refills for fgets and getc) stay on the ring, where
 * the reader thread batches the pipe into large reads. */
#define DIRECT_MIN (64 * 1024)

/* The stdio buffer of fromchild and childerr for bufsize -1.  glibc's fread
 * on a cookie FILE always goes through the FILE's buffer (it never hands a
 * large request to cookie_read with the caller's buffer), in pieces of the
 * buffer's size; its default, BUFSIZ (8 KiB), turned a 1 MiB fread into 128
 * calls and the ring's copy into an extra one.  A refill reads the pipe
 * directly (DIRECT_MIN) and takes what is there, up to the buffer's size:
 * with 1 MiB it takes a whole enlarged pipe at once, so the child is woken
 * once per mebibyte, not eight times as with 128 KiB: on the 2-CPU VM the
 * library is measured on, reading 1 GiB took about 2,400 context switches
 * instead of 14,264, and about 4% less time (the bench's two fread rows
 * measured in both orders).  The memory is touched only as far as refills
 * fill it: a quiet stream's FILE holds a page, one read in bulk up to 1 MiB
 * until the object is freed. */
#define READ_BUFSIZE (1024 * 1024)

/* The stdio buffer starts on a 64-byte boundary, where the kernel's copy
 * out of a pipe is fast on every x86 CPU (p2i_fd_read has the figures):
 * malloc would put a large one 16 bytes past a page. */
#define IOBUF_ALIGN 64

/* With a blocking limit on stdin, writes at least this large are lent to
 * the writer thread instead of copied into the input ring (ringinput.c):
 * the caller waits anyway, so the bytes may as well go to the pipe straight
 * from its buffer.  Smaller ones (line-buffered prompts) are copied, so that
 * they do not wait for a thread hand-off each. */
#define LEND_MIN (64 * 1024)

/* After this many bytes a stream counts as bulk and its pipe is enlarged,
 * as the reader thread does (pump.c). */
#define DIRECT_BULK (1024 * 1024)

/* An empty pipe is asked again up to this many times before the caller
 * sleeps in poll().  A child writing in bulk is back in write() within
 * microseconds, and a read() that meets its write waits on the pipe's lock,
 * which the kernel spins on while the writer copies: the bytes come without
 * a sleep and a wake-up of this thread, which on the 2-CPU VM the library is
 * measured on cost more than the read.  Capturing 1 GiB took about 200
 * context switches instead of 450-900, and popen2_readinto's median per
 * round went from 0.92x to 1.01x of the best plain loop (six runs each,
 * interleaved). */
#define DIRECT_SPINS 64

/* ... and for at most this long: a read that meets an empty pipe costs
 * about 1.1 us here, so 64 of them fit, but where each costs far more (a
 * loaded machine, valgrind's serialised syscalls) a spin that outlasts the
 * child's own pace would only burn its CPU. */
#define DIRECT_SPIN_NS (100 * 1000L)

/* A spin that ends in poll() anyway was CPU taken from the child (and from
 * the library's writer thread, when the child is a filter such as cat fed
 * through tochild): each one halves the next, one that meets bytes restores
 * it.  After SPIN_MISSES_MAX misses the spin is off, and every
 * SPIN_PROBE_EVERY waits one full spin looks whether the child got fast
 * again.  Feeding 1 GiB through cat with a 4 MiB stdin limit (three
 * interleaved runs, median per round), a spin on every wait ran at
 * 0.56-0.76x the poll() loop, no spin at 0.78-0.90x, this rule at
 * 0.67-1.01x, while capturing one stream kept its 1.0x: a child that writes
 * in bulk keeps the full spin.  A child that writes seldom costs about 6
 * extra reads per wait. */
#define SPIN_MISSES_MAX 7
#define SPIN_PROBE_EVERY 16

static long ns_since(const struct timespec *t0)
{
    struct timespec t;

    p2i_clock_cond_now(&t);
    return (long)(t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec);
}

static int spin_budget(const struct channel *ch)
{
    return ch->direct_misses < SPIN_MISSES_MAX ? DIRECT_SPINS >> ch->direct_misses : 0;
}

/* How the last wait for an empty pipe went: paid if the bytes (or the end)
 * came before poll(). */
static void spin_learn(struct channel *ch, bool paid)
{
    /* Misses past SPIN_MISSES_MAX count the waits without a spin. */
    if (paid || ++ch->direct_misses >= SPIN_MISSES_MAX + SPIN_PROBE_EVERY)
        ch->direct_misses = 0; /* restored, or the probe */
}

/* Reads the pipe into buf while a direct claim is held: what is there now,
 * up to n bytes, waiting only while there is nothing at all.  Bytes, 0 at
 * EOF, or -errno. */
static ssize_t direct_read(struct channel *ch, char *buf, size_t n)
{
    size_t got = 0;
    ssize_t k;
    int r, spins = 0, budget = spin_budget(ch);
    bool slept = false;
    struct timespec t0;

    for (;;) {
        /* One read() takes all a pipe holds (up to n): asking again would
         * only cost a syscall that says EAGAIN. */
        k = ch->pty ? p2i_pty_read(ch->fd, buf + got, n - got)
                    : p2i_relay_read(&ch->relay, ch->fd, buf + got, n - got,
                                     ch->direct_moved >= DIRECT_BULK);
        if (k > 0) {
            got += (size_t)k;
            break;
        }
        if (k == 0)
            break; /* EOF (a terminal's hang-up); the reader thread will see it too */
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return got ? (ssize_t)got : -errno;
        if (got)
            break;
        if (spins == 0 && budget)
            p2i_clock_cond_now(&t0);
        if (spins < budget && (spins == 0 || ns_since(&t0) < DIRECT_SPIN_NS)) {
            spins++;
            continue;
        }
        slept = true;
        r = p2i_fd_wait(ch->fd, false, NULL);
        if (r < 0 && r != -EINTR)
            return r;
    }
    if (spins || slept)
        spin_learn(ch, !slept);
    if (ch->direct_moved < DIRECT_BULK && ch->direct_moved + got >= DIRECT_BULK)
        p2i_fd_grow_pipe(ch->fd);
    ch->direct_moved += got;
    return (ssize_t)got;
}

/* A thread cancelled in direct_read's poll() must give its claim back: the
 * reader thread would otherwise wait for it for ever, and popen2_free with
 * it.  No byte is lost: poll() consumes none. */
static void direct_cancelled(void *arg)
{
    struct channel *ch = arg;

    p2i_ringbuf_direct_end(&ch->ring, 0);
}

ssize_t p2i_stream_read(struct channel *ch, void *buf, size_t n)
{
    ssize_t r;

    if (n >= DIRECT_MIN && p2i_ringbuf_direct_begin(&ch->ring)) {
        pthread_cleanup_push(direct_cancelled, ch);
        r = direct_read(ch, buf, n);
        pthread_cleanup_pop(0);
        p2i_ringbuf_direct_end(&ch->ring, r > 0 ? (size_t)r : 0);
        return r;
    }
    return p2i_ringbuf_read(&ch->ring, buf, n, true);
}

/* The FILE was inherited from the parent through fork (see the top). */
static bool inherited(const struct channel *ch)
{
    return ch->gen != p2i_fork_generation();
}

static ssize_t cookie_read(void *cookie, char *buf, size_t n)
{
    ssize_t r;

    if (inherited(cookie)) {
        errno = ECHILD;
        return -1;
    }
    /* The owner keeps a partial line of its own once it read lines: the
     * FILE would skip it, so it reads nothing at all. */
    if (((struct channel *)cookie)->line_read) {
        errno = EBADF;
        return -1;
    }
    ((struct channel *)cookie)->stdio_read = true;
    r = p2i_stream_read(cookie, buf, n);

    if (r < 0) {
        errno = (int)-r;
        return -1;
    }
    return r;
}

/* Starts the writer thread at the first write; 0 or -errno (EAGAIN at
 * RLIMIT_NPROC or a cgroup's pids.max, ENOMEM), nothing started then.  Its
 * callers hold the FILE's lock, so only one thread gets here first. */
static int writer_start(struct channel *ch)
{
    int e;

    if (ch->thread_started)
        return 0;
    ch->ops->hold(ch); /* the writer thread's; never the last: our FILE holds one */
    e = p2i_pump_start(ch);
    if (e < 0)
        ch->ops->release(ch);
    return e;
}

/* glibc's flag for a FILE on its list of open streams (libio.h, not in the
 * installed headers).  fclose takes the FILE off that list before its last
 * flush, so a write that finds it off the list is that flush. */
#define GLIBC_IO_LINKED 0x80

/* The write is the FILE's last flush, not the caller's write: in an fclose
 * (the caller's, or popen2_free's through p2i_stream_close) or stdio's
 * flush at exit.  ch->file changes only when this FILE is opened and inside
 * its own close, never while a write of it runs. */
static bool closing(const struct channel *ch)
{
    if (__atomic_load_n(&ch->closing, __ATOMIC_ACQUIRE) || p2i_linger_exiting())
        return true;
#if defined(__GLIBC__)
    return ch->file && !(ch->file->_flags & GLIBC_IO_LINKED);
#else
    return false; /* no way to tell the caller's own fclose from an fflush */
#endif
}

static ssize_t cookie_write(void *cookie, const char *buf, size_t n)
{
    struct channel *ch = cookie;
    bool limited;
    ssize_t r;

    if (inherited(ch)) {
        errno = ECHILD;
        return 0;
    }
    /* Writes always go through the ring and the writer thread, never to
     * the pipe from the caller's thread: a write() there could raise SIGPIPE
     * on the caller's thread, and keeping it away would mean changing the
     * caller's signal mask, which the contract forbids even for an
     * instant. */
    r = writer_start(ch);
    if (r < 0) {
        /* Nothing is taken, so fwrite comes back short and fflush with EOF,
         * and a later write tries again.  0, not -1: see below. */
        errno = (int)-r;
        return 0;
    }
    /* The ring's limit and policy are set before the object is shared and
     * never change, so reading them here needs no lock.  The limit bounds
     * what the caller queues by writing; a close is not a write.  The bytes
     * its flush hands over were accepted by fwrite long ago, so they are
     * queued past the limit (at most the FILE's buffer more) and delivered
     * as any other: neither waiting for a child that may never read (a
     * close never waits for the child) nor failing would keep them. */
    limited = ch->ring.bound.limit.max && !closing(ch);
    if (limited && ch->ring.bound.limit.policy == POPEN2_BLOCK && n >= LEND_MIN)
        r = p2i_ringinput_lend(&ch->ring, buf, n);
    else if (limited)
        r = p2i_ringinput_append(&ch->ring, buf, n, ch->ring.bound.limit.policy == POPEN2_BLOCK);
    else
        r = p2i_ringbuf_append(&ch->ring, buf, n);
    /* stdio's last flush at exit comes after the library's exit wait
     * (linger.c): wait for these bytes here the same way, on the same
     * clock. */
    if (r > 0 && p2i_linger_exiting())
        p2i_ringinput_exit_wait(&ch->ring);

    /* Failure is 0 with errno set, as fopencookie(3) demands ("must not
     * return a negative value"): glibc's cookie write passes -1 up as a
     * byte count of SIZE_MAX, so an unbuffered fwrite reported success after
     * EPIPE (copying one byte past the caller's buffer) and fflush lost the
     * error.  A 0 makes fwrite short and fflush EOF, with errno EPIPE.
     * funopen wants -1 instead; cfile.posix.c maps it. */
    if (r < 0) {
        errno = (int)-r;
        return 0;
    }
    /* A short count is an error for stdio too (the FILE's error flag is
     * set); say why: the limit (POPEN2_FAIL) or a child that stopped
     * reading part-way. */
    if ((size_t)r < n)
        errno = ch->ring.bound.limit.policy == POPEN2_FAIL ? ENOBUFS : EPIPE;
    return r;
}

int p2i_stream_write_now(struct channel *ch, const void *buf, size_t n, size_t *taken)
{
    ssize_t r;

    *taken = 0;
    r = writer_start(ch);
    if (r < 0)
        return (int)r;
    /* Without a limit the ring takes it all; with one, what fits (the
     * writer thread never waits for this thread, so neither do we). */
    if (ch->ring.bound.limit.max)
        r = p2i_ringinput_append(&ch->ring, buf, n, false);
    else
        r = p2i_ringbuf_append(&ch->ring, buf, n);
    if (r == -ENOBUFS && ch->ring.bound.limit.policy == POPEN2_BLOCK)
        return 0; /* full for now */
    if (r < 0)
        return (int)r;
    *taken = (size_t)r;
    if ((size_t)r < n && ch->ring.bound.limit.policy == POPEN2_FAIL)
        return -ENOBUFS;
    return 0;
}

static int cookie_close(void *cookie)
{
    struct channel *ch = cookie;
    int r = 0, e, cancel;

    if (inherited(ch)) {
        errno = ECHILD; /* the parent's object: left alone */
        return -1;
    }
    /* A close cancelled half-way would leave the object counting a FILE
     * stdio has already given up; it never blocks for long anyway. */
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
    if (ch->which == CH_STDIN) {
        /* EOF for the child once the writer thread has delivered the rest;
         * with nothing ever written there is no writer thread, and the
         * child gets EOF now. */
        p2i_ringbuf_close_producer(&ch->ring, 0);
        /* With nothing written, a terminal's end of input is one VEOF at
         * the start of a line (the writer thread sends it otherwise). */
        if (!ch->thread_started && ch->pty)
            p2i_pty_send_eof(ch->fd, '\n');
        if (!ch->thread_started)
            ch->fd = p2i_fd_close(ch->fd);
        /* The child already stopped reading and bytes were dropped: the
         * caller learns it here, as a write error it could not see yet
         * (the bytes had left the FILE's buffer). */
        e = p2i_ringbuf_consumer_error(&ch->ring);
        if (e < 0)
            r = e;
    } else {
        p2i_ringbuf_close_consumer(&ch->ring, 0);
        p2i_wake_signal(&ch->wake);
    }
    ch->ops->file_closed(ch);
    pthread_setcancelstate(cancel, NULL);
    if (r < 0) {
        errno = -r;
        return -1;
    }
    return 0;
}

int p2i_stream_flush_accepted(struct channel *ch, FILE *f)
{
    bool was = __atomic_load_n(&ch->closing, __ATOMIC_ACQUIRE);
    int r;

    /* The bytes in f's buffer were accepted by fwrite long ago: handed over
     * as a close hands them (see cookie_write), they never wait for room. */
    __atomic_store_n(&ch->closing, true, __ATOMIC_RELEASE);
    r = fflush(f);
    if (!was)
        __atomic_store_n(&ch->closing, false, __ATOMIC_RELEASE);
    return r;
}

int p2i_stream_close(struct channel *ch, FILE *f)
{
    /* Where the C library does not show that an fclose is under way, the
     * flag tells the FILE's last flush. */
    __atomic_store_n(&ch->closing, true, __ATOMIC_RELEASE);
    return p2i_cfile_close(f);
}

static const struct p2i_cfile_ops ops_in = {.write = cookie_write, .close = cookie_close};
static const struct p2i_cfile_ops ops_out = {.read = cookie_read, .close = cookie_close};

static FILE *make_file(struct channel *ch)
{
    if (ch->which == CH_STDIN)
        return p2i_cfile_open(ch, &ops_in, true, ch->text);
    return p2i_cfile_open(ch, &ops_out, false, ch->text);
}

FILE *p2i_stream_open(struct channel *ch, int bufsize)
{
    FILE *f;

    /* glibc ignores setvbuf's size unless it is handed the buffer, so a
     * bufsize of N > 1 brings its own; the channel frees it with the object,
     * after the FILE is closed. */
    ch->gen = p2i_fork_generation();
    if (ch->which == CH_STDIN)
        p2i_ringbuf_set_linger(&ch->ring);
    if (bufsize < 0 && ch->which != CH_STDIN)
        bufsize = READ_BUFSIZE;
    if (bufsize > 1) {
        ch->iobuf = malloc((size_t)bufsize + IOBUF_ALIGN - 1);
        if (!ch->iobuf)
            return NULL;
    }
    f = make_file(ch);
    if (!f) {
        free(ch->iobuf);
        ch->iobuf = NULL;
        return NULL;
    }
    /* Python's bufsize: 0 unbuffered, 1 line buffered, N > 1 about N bytes,
     * negative the system default (stdio's own choice for tochild,
     * READ_BUFSIZE for the outputs).  With the buffer supplied, setvbuf
     * cannot fail. */
    if (bufsize == 0)
        setvbuf(f, NULL, _IONBF, 0);
    else if (bufsize == 1)
        setvbuf(f, NULL, _IOLBF, BUFSIZ);
    else if (bufsize > 1)
        setvbuf(f, (char *)(((uintptr_t)ch->iobuf + IOBUF_ALIGN - 1) & ~(uintptr_t)(IOBUF_ALIGN - 1)),
                _IOFBF, (size_t)bufsize);
    ch->file = f;
    return f;
}

void p2i_stream_hand_out(struct channel *ch)
{
    if (ch->which != CH_STDIN)
        p2i_cfile_start(ch->file);
}

/* glibc's flag for "reading from the ungetc backup area" (libio.h, not in
 * the installed headers; gnulib's freadahead uses the same). */
#define GLIBC_IO_IN_BACKUP 0x100

size_t p2i_stream_buffered(FILE *f)
{
#if defined(__GLIBC__)
    size_t n;

    if (f->_IO_write_ptr > f->_IO_write_base)
        return 0;
    n = (size_t)(f->_IO_read_end - f->_IO_read_ptr);
    if (f->_flags & GLIBC_IO_IN_BACKUP)
        n += (size_t)(f->_IO_save_end - f->_IO_save_base);
    return n;
#elif defined(HAVE___FREADAHEAD)
    return __freadahead(f);
#else
    (void)f;
    return SIZE_MAX;
#endif
}
