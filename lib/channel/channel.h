/* channel: the library's third layer, one of the child's standard streams as
 * the parent sees it: a pipe end, the pump thread that moves its bytes
 * (pump.c), the ring between them and the caller's FILE* (stream.c), made
 * and freed as its plan says (channel.c).
 *
 * A channel knows nothing of the object that holds it.  It tells its owner
 * things through data the owner put in it: `notify`, a wake-up descriptor
 * the reader thread signals whenever it buffered bytes or reached the end
 * (set by the event descriptor, may stay NULL), `bell`, which the pump
 * thread rings after every step (bytes buffered or delivered, the stream's
 * end) for an owner that waits for several channels at once, and `ops`, the owner's
 * answers to "the caller closed the FILE" and "a writer thread starts or
 * ends" (it holds the object alive while it delivers input).
 *
 * Pump threads: a reader thread drains one output pipe (stdout or stderr)
 * into its ring until EOF, or until the caller closes the FILE (ring consumer
 * closed and the channel's wake descriptor signalled).  The writer thread
 * feeds the input ring to the child's stdin until the caller closed tochild
 * and every byte is delivered, or the child stops reading (EPIPE).  Each
 * thread closes its pipe end when its stream ends, so the child sees EOF or
 * EPIPE then.
 */
#ifndef POPEN2_CHANNEL_H
#define POPEN2_CHANNEL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "runtime/runtime.h"
#include "ring/ring.h"

enum { CH_STDIN = 0, CH_STDOUT = 1, CH_STDERR = 2, CH_COUNT = 3 };

/* How the child gets a stream, beyond the public POPEN2_PIPE, POPEN2_INHERIT,
 * POPEN2_DEVNULL and POPEN2_MERGE (stderr only: whatever stdout is, which
 * the owner arranges, as it spans two channels). */
enum { STREAM_FD = 100, STREAM_FILE = 101 };

/* The plan of one stream.  Its holder owns fd and path and keeps them until
 * the channel made from the plan has been spawned with. */
struct stream_plan {
    int how;                 /* POPEN2_PIPE ... POPEN2_PTY, STREAM_FD or STREAM_FILE */
    int fd;                  /* STREAM_FD: the descriptor, 3 or above, close-on-exec;
                              * POPEN2_PTY: the terminal's master, the owner's (the
                              * channel works on its own copy; the child's end,
                              * the slave, is the owner's to hand over) */
    char *path;              /* STREAM_FILE: opened at the spawn, by the parent */
    int flags;               /* STREAM_FILE: open's flags (O_CLOEXEC added) and mode */
    mode_t mode;
    struct ring_limit limit; /* POPEN2_PIPE, POPEN2_PTY: the ring's (max 0: none) */
    int bufsize;             /* POPEN2_PIPE, POPEN2_PTY: the FILE's buffering, as
                              * Python's bufsize */
    bool text;               /* POPEN2_PIPE: a text-mode FILE (mode "t"; Windows only
                              * has one) */
};

struct channel;

/* What a channel tells its owner.  Every function is called without any of
 * the channel's locks held. */
struct channel_ops {
    /* The caller fclosed the channel's FILE (ch->file is still set). */
    void (*file_closed)(struct channel *ch);
    /* The writer thread starts (hold) and ends (release): the owner keeps
     * the channel's memory alive in between.  release may free it. */
    void (*hold)(struct channel *ch);
    void (*release)(struct channel *ch);
};

struct channel {
    const struct channel_ops *ops;
    void *owner;           /* the owner's, never looked at here */
    int which;             /* CH_STDIN, CH_STDOUT or CH_STDERR */
    bool used;             /* piped: the parent has a pipe end, a ring and a FILE */
    int fd;                /* the parent's pipe end; the pump thread owns it once started */
    struct relay relay;    /* outputs: what fd's bytes pass through once the stream
                            * is bulk; read and closed with fd, by whoever reads fd */
    bool pty;              /* fd is a copy of a terminal's master: its hang-up (EIO)
                            * is the end, and closing the input sends VEOF */
    struct wake wake;      /* readers: interrupts p2i_fd_wait when the FILE is closed */
    struct wake *notify;   /* readers signal it after buffering bytes or at the end;
                            * set once with a release store, read with acquire */
    struct p2i_bell *bell; /* the pump rings it after each step; set before it starts */
    struct ringbuf ring;
    bool ring_ready;
    struct p2i_job job;    /* the pump, running on a pool thread */
    bool thread_started;   /* the pump has its thread (it may still wait for go) */
    bool pump_waiting;     /* reserved at open, not yet woken (p2i_channel_start) */
    FILE *file;            /* NULL once fclosed (guarded by the owner's lock) */
    unsigned long long direct_moved; /* bytes the caller's thread read from the
                                      * pipe itself (stream.c; that thread only) */
    unsigned direct_misses; /* the direct read's spin: waits in a row it ended
                             * in poll() (stream.c; as above) */
    bool text;             /* the FILE is in text mode (the plan's) */
    char *iobuf;           /* stdio buffer for bufsize > 1, freed with the object */
    bool end_reported;     /* popen2_read returned EOF or an error (owner's lock) */
    bool stdio_read;       /* the FILE has read from the channel (under its lock) */
    bool line_read;        /* the owner read lines from the ring (under the FILE's
                            * lock): the FILE then refuses to read (EBADF) */
    bool closing;          /* the owner is closing or flushing the FILE (atomic):
                            * that flush is not a write (stream.c) */
    unsigned gen;          /* fork generation it was made in (fork.c): in a forked
                            * child the FILE fails with ECHILD and takes no lock */
    int child_fd;          /* what the child gets as this stream until the spawn:
                            * the pipe's other end, an opened file, the plan's
                            * descriptor, or -1 (the parent's) */
    bool child_fd_owned;   /* child_fd is the channel's to close (not the plan's) */
    bool open;             /* between p2i_channel_open and p2i_channel_close */
};

/* ---- channel.c ---------------------------------------------------------- */

/* Makes channel `which` (CH_STDIN ...) of an owner that hears from it
 * through ops and bell (see above), as the plan says: for POPEN2_PIPE the
 * pipe, the wake-up, the reader's thread (outputs; it runs from
 * p2i_channel_start on, and the writer starts with the first write), the
 * ring with its limit, and the FILE; for every stream the child's end
 * (child_fd).  ch must be zero-filled.  0, or -errno with nothing made
 * (p2i_channel_close accepts it as it is). */
int p2i_channel_open(struct channel *ch, int which, const struct stream_plan *plan,
                     const struct channel_ops *ops, void *owner, struct p2i_bell *bell);
/* Sets the reader of an opened output going; nothing for any other
 * channel, or a second time.  Cannot fail.  Every channel opened must get
 * it before it is used, closed or freed: the owner calls it once the child
 * is spawned (or failed to be), so that waking the reader does not compete
 * with the spawn for a CPU. */
void p2i_channel_start(struct channel *ch);
/* The child has its end now, or never will: the parent's copy goes (a
 * reader then sees EOF once the child's copies are closed too). */
void p2i_channel_drop_child_end(struct channel *ch);
/* Frees what p2i_channel_open made, once the pump has ended or never
 * started and the FILE is closed; accepts a zero-filled channel or one
 * whose open failed, and leaves one that is closed. */
void p2i_channel_close(struct channel *ch);

/* ---- pump.c ------------------------------------------------------------- */

/* Starts the channel's pump on a pool thread: a reader for CH_STDOUT /
 * CH_STDERR (joined by the owner), the writer for CH_STDIN (the owner
 * detaches it while a child may still read, joins it otherwise).  0 or
 * -errno (EAGAIN, ENOMEM). */
int p2i_pump_start(struct channel *ch);
/* The same in two steps: reserve takes the thread (and fails as start
 * does), go sets the pump running and cannot fail. */
int p2i_pump_reserve(struct channel *ch);
void p2i_pump_go(struct channel *ch);

/* ---- stream.c ----------------------------------------------------------- */

/* Opens the channel's FILE: read-only for stdout/stderr, write-only for
 * stdin, buffered as Python's bufsize says (-1 default, 0 none, 1 line,
 * N > 1 about N bytes).  NULL with errno on failure.
 *
 * Cancellation: a thread cancelled while blocked reading the FILE (fgets,
 * fread) or in p2i_stream_read leaves the ring and the pipe as they were;
 * closing the FILE is not a cancellation point. */
FILE *p2i_stream_open(struct channel *ch, int bufsize);
/* The caller is handed the channel's FILE (ch->file, open): from here on
 * the FILE may read ahead of the caller (see p2i_cfile_start). */
void p2i_stream_hand_out(struct channel *ch);
/* The input's write for a caller that waits itself, beside the FILE (call
 * it with the FILE locked, after flushing it): starts the writer thread if
 * it is not running yet, then takes what fits of n bytes now, never
 * waiting.  0 with *taken set: all n, or what a POPEN2_BLOCK limit had room
 * for (the rest fits once the writer thread has delivered some: the bell
 * rings then).  -ENOBUFS when a POPEN2_FAIL limit refuses the rest, with
 * *taken what fitted; -EAGAIN or -ENOMEM when no writer thread could be
 * started, -ENOMEM, or the error that ended the writer thread (-EPIPE: the
 * child stopped reading); *taken 0 then. */
int p2i_stream_write_now(struct channel *ch, const void *buf, size_t n, size_t *taken);
/* Flushes the channel's FILE f (its lock held by the caller) the way its
 * close does: the bytes in its buffer go to the queue even past a limit, at
 * most the buffer's size more, so this never waits for the child.  0 or EOF
 * with errno, as fflush. */
int p2i_stream_flush_accepted(struct channel *ch, FILE *f);
/* Closes the channel's FILE f on its owner's behalf (a free), as fclose
 * does; the bytes still in f's buffer are queued even past a limit (see
 * cookie_write), so this never waits for the child. */
int p2i_stream_close(struct channel *ch, FILE *f);
/* Bytes the caller's FILE f has read from the channel but not handed out
 * yet (its buffer and ungetc's), so a caller that reads the rest another way
 * can take them first; SIZE_MAX where the C library does not tell. */
size_t p2i_stream_buffered(FILE *f);
/* A blocking read of an output channel, as the FILE reads: the ring's bytes
 * first, then, for a large request, the pipe itself.  Bytes, 0 at EOF, or
 * -errno. */
ssize_t p2i_stream_read(struct channel *ch, void *buf, size_t n);

#endif
