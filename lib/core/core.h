/* core: the library's fourth layer, the process object and its child.
 *
 *   proc.c         the object: creation, references, the FILEs, teardown
 *   child.c        the child process: pid and pidfd, reaping, waiting, signals
 *   events.c       the event descriptor (one pollable fd for streams and exit)
 *   communicate.c  communicate(): feeding the input, gathering the outputs,
 *                  the status, with what was gathered kept between calls
 *   lines.c        line reads from the output rings, the part of a line
 *                  that arrived kept between calls
 *
 * Lifetime: refs counts the caller's handle (or, for the module functions,
 * the set of FILEs handed out) plus the writer thread, which may outlive the
 * handle while it delivers input the caller already wrote.  The last
 * reference frees the memory.
 *
 * Lock order: proc->mu, then child.mu, then any one ring's mu; no code holds
 * two rings' locks.  The bell's mutex is a leaf under all of them.  Reader
 * threads never take proc->mu or child.mu, so joining them under either is
 * safe.
 *
 * Cancellation: no lock here is held across a cancellation point.  The
 * blocking waits (poll on the pidfd, waitid by number) run outside the
 * locks; the reaping waitid under child.mu and the whole of a free run with
 * cancellation disabled.  A thread cancelled in popen2_wait or
 * popen2_communicate leaves the object as it was.
 *
 * Fork: an object records the fork generation it was made in (fork.c); in a
 * forked child an inherited object is the parent's, its locks possibly held
 * by threads that did not come along, and the front refuses it (ECHILD)
 * before any lock is taken.
 */
#ifndef POPEN2_CORE_H
#define POPEN2_CORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "popen2.h"
#include "runtime/runtime.h"
#include "channel/channel.h"

/* ---- child.c ------------------------------------------------------------
 * The one rule, kept in child.c alone: never signal, wait for or reap a
 * process that is not ours.  The child is held by its pidfd from the spawn
 * on; once it is known to be gone (reaped by us, or elsewhere: a
 * waitpid(-1) in the application, SIGCHLD ignored) its number is never used
 * again. */
struct child {
    pthread_mutex_t mu;    /* guards everything below */
    pid_t pid;             /* -1 until spawned */
    int pidfd;             /* the child's pidfd; -1 where the kernel has none */
    bool reaped;           /* we reaped it: status holds its wait status */
    bool gone;             /* reaped elsewhere: no status, no number */
    int status;
    long returncode;       /* Python 3's, as the reap gave it with status */
    struct rusage usage;   /* the child's own, as the kernel gave it at the reap */
    bool group_leader;     /* the child leads its own process group */
    int watch_epfd;        /* an epoll set holding pidfd until the child is
                            * known gone (events.c), else -1 */
};

/* Prepares an unspawned child; 0 or -errno. */
int p2i_child_init(struct child *c);
/* Closes the pidfd and frees the lock. */
void p2i_child_destroy(struct child *c);
/* Spawns the child and opens its pidfd at once; 0 or -errno (nothing is
 * left behind on failure). */
int p2i_child_start(struct child *c, const struct p2i_spawn_request *req);
/* Reaps without blocking: 1 with *status once reaped (now or before), 0
 * while it runs, -ECHILD once it is known to have been reaped elsewhere, or
 * the -errno of a reap the kernel (or a sandbox) failed. */
int p2i_child_poll(struct child *c, int *status);
/* As p2i_child_poll, with Python 3's returncode (the whole exit code on
 * Windows, which the wait status cannot hold) in *code instead. */
int p2i_child_poll_returncode(struct child *c, long *code);
/* Waits up to timeout_ms (-1: for ever): 1 with *status, -ETIMEDOUT, or
 * -ECHILD or another -errno as p2i_child_poll (also of the sleep); an
 * error ends the wait, it is never retried. */
int p2i_child_wait(struct child *c, int timeout_ms, int *status);
/* The resource usage of the reaped child (reaping it without blocking if it
 * has exited): 0 with *ru, -EAGAIN while it runs, -ECHILD once it is known
 * to have been reaped elsewhere (no usage then), or another -errno as
 * p2i_child_poll. */
int p2i_child_usage(struct child *c, struct rusage *ru);
/* Ends the child: SIGTERM (and SIGCONT) to it or its group, up to grace_ms
 * (>= 0) for it to end, then SIGKILL; a group whose leader ended within the
 * grace has until the grace is over, then SIGKILL for what is left of it.
 * A child that has ended already is only reaped.  1 with *status, or
 * -ECHILD or another -errno as p2i_child_wait and p2i_child_signal. */
int p2i_child_stop(struct child *c, int grace_ms, int *status);
/* Sends sig to the child (to its group if it leads one); 0, or -ESRCH once
 * it is reaped or gone, or another -errno.  A group leader we reaped still
 * has its group signalled through the pidfd where the kernel can (-ESRCH
 * once the group is empty); a group leader is never reaped by this call. */
int p2i_child_signal(struct child *c, int sig);
/* Adds the pidfd to an epoll set, which then wakes when the child exits;
 * the child takes it out again as soon as it knows the child is gone.  0,
 * 1 when there is nothing to watch (reaped, gone, or no pidfd), or -errno. */
int p2i_child_watch(struct child *c, int epfd);
/* At the object's end: an unreaped child goes to the active list with its
 * pidfd (node is used then and NULL is stored in *node). */
void p2i_child_release(struct child *c, struct p2i_active_node **node);

/* ---- proc.c ------------------------------------------------------------- */

/* An output stream's line being read (lines.c): the bytes taken out of the
 * ring so far, kept between calls.  Guarded by proc->mu. */
struct p2i_line {
    char *buf;
    size_t len, cap;
    bool whole;              /* buf holds a whole line (or the last bytes before the end) */
    unsigned long long seq;  /* its arrival stamp (ringline.c) once whole */
};

struct events;
struct p2i_collected;

struct popen2_proc {
    pthread_mutex_t mu;    /* guards everything below but the child and the rings */
    int refs;
    struct child child;
    bool handle_open;      /* popen2_free not called yet (false for module objects) */
    bool finishing;        /* teardown started: stream closes must not start it again */
    int open_files;
    struct channel ch[CH_COUNT];
    struct p2i_active_node *node; /* preallocated, so going on the active list cannot fail */
    unsigned gen;          /* fork generation it was made in */
    struct events *events; /* the event descriptor, NULL until asked for */
    /* Rung by every pump thread after each step (channel.h): communicate
     * waits on it for its streams, without a descriptor. */
    struct p2i_bell bell;
    /* communicate's state (gathered output, input taken), NULL until the
     * first call; kept between calls, freed with the object. */
    struct p2i_collected *collected;
    /* The line each output stream is in the middle of ([CH_STDOUT],
     * [CH_STDERR]); freed with the object. */
    struct p2i_line line[CH_COUNT];
    /* The terminal of POPEN2_PTY streams ({-1, -1} without): the object
     * keeps the master until its end (popen2_pty_fd); the slave is closed
     * right after the spawn, so the readers see the hang-up when the
     * child's copies close. */
    struct p2i_pty pty;
};

/* One spawn, from the caller's options down to the code that uses each
 * part: the child's options in the spawn request (program, argv,
 * search_path, cwd, environment, group; its fd and stderr_to_stdout are
 * p2i_proc_create's to fill from the channels) and a plan per stream. */
struct spawn_plan {
    struct p2i_spawn_request req;
    struct stream_plan io[CH_COUNT];
    /* The terminal of POPEN2_PTY streams: size and POPEN2_PTY_* flags. */
    unsigned short pty_rows, pty_cols;
    int pty_flags;
};

/* Popen3's plan, which is also a fresh popen2_attr's: stdin and stdout
 * piped, stderr the parent's, stdio's default buffering and no limit; the
 * program looked up in PATH, in the parent's directory, environment and
 * process group.  The one place these defaults live; the program is the
 * caller's to set. */
void p2i_proc_plan_init(struct spawn_plan *plan);
/* Builds the object as plan says and spawns the child; 0 with *out, or
 * -errno. */
int p2i_proc_create(const struct spawn_plan *plan, struct popen2_proc **out);
/* Closes the FILEs the caller still has, ends the readers and gives up the
 * handle (the child, if unreaped, goes to the active list). */
void p2i_proc_free(struct popen2_proc *p);
/* The handle becomes the set of FILEs: the last fclose frees the object. */
void p2i_proc_drop_handle(struct popen2_proc *p);
/* The FILE of stream `which` while the caller has not closed it, else NULL. */
FILE *p2i_proc_file(struct popen2_proc *p, int which);
/* The same, handed to the caller, who may read it from now on
 * (p2i_stream_hand_out). */
FILE *p2i_proc_give_file(struct popen2_proc *p, int which);
/* Whether stream `which` is piped (and, with need_open, its FILE still
 * open); takes proc->mu. */
bool p2i_proc_stream_ok(struct popen2_proc *p, int which, bool need_open);
/* A non-blocking read of output channel ch's ring that marks its end as
 * reported once seen: bytes, 0 at EOF, or -errno (-EAGAIN for nothing
 * yet).  No errno, no re-arming of the event descriptor. */
ssize_t p2i_proc_read_some(struct popen2_proc *p, struct channel *ch, void *buf, size_t n);
/* True in a forked child for an object made by the parent: unusable here,
 * and touching none of its locks. */
bool p2i_proc_inherited(const struct popen2_proc *p);

/* ---- events.c -----------------------------------------------------------
 * An epoll set holding a wake-up descriptor the reader threads signal and
 * the child's pidfd while it can still exit.  Made on first use, freed with
 * the object. */

/* The event descriptor; -errno. */
int p2i_events_fd(struct popen2_proc *p);
/* Clears the readers' descriptor, then signals it again if a stream still
 * has something for popen2_read, so it reads as level-triggered. */
void p2i_events_rearm(struct popen2_proc *p);
/* Frees the descriptors (the object's end, readers joined). */
void p2i_events_destroy(struct popen2_proc *p);

/* ---- communicate.c ------------------------------------------------------
 * subprocess's communicate() on the caller's thread; its state lives in the
 * object (proc->collected) so a call that timed out leaves what it gathered
 * and the input it handed over to the next one. */

/* Where the outputs go, by stream ([CH_STDOUT], [CH_STDERR]): a NULL data
 * discards the stream, a NULL len is not filled. */
struct p2i_communicate_to {
    char **data[CH_COUNT];
    size_t *len[CH_COUNT];
};

/* Feeds input (inlen bytes; a later call passes the same input, or none to
 * give its rest up), gathers the outputs and waits for the child, all
 * within timeout_ms (-1: no bound).  The child's wait status with the
 * outputs handed over, or -errno (-ETIMEDOUT, -EINVAL, -ENOMEM, -ENOBUFS,
 * -ENOTSUP ... as popen2_communicate says), everything kept for the next
 * call. */
int p2i_communicate_run(struct popen2_proc *p, const void *input, size_t inlen,
                        const struct p2i_communicate_to *to, int timeout_ms);
/* Frees the object's communicate state (NULL is fine). */
void p2i_communicate_free(struct p2i_collected *c);

/* ---- lines.c ------------------------------------------------------------
 * Line reads from the output rings, without stdio.  The part of a line that
 * arrived is taken out of the ring into proc->line (so a line longer than a
 * BLOCK limit frees the ring for its rest) and kept there between calls.
 * The waits sleep on the object's bell, which the readers ring after each
 * step, and re-arm the event descriptor, so a loop on it wakes once per
 * chunk read, not more. */

/* The next line of stream `which` (CH_STDOUT, CH_STDERR) into *line (grown
 * as getline(3) does) within timeout_ms (-1: no bound; 0: just look): its
 * length, 0 at the end, -ETIMEDOUT (what arrived stays for the next call),
 * -EBADF once the stream's FILE read, -ENOMEM, or the stream's error after
 * its data.  The FILE refuses reads from the first call on. */
ssize_t p2i_lines_get(struct popen2_proc *p, int which, char **line, size_t *cap,
                      int timeout_ms);
/* The same over every piped output whose FILE is open: the line whose last
 * byte was read first, *which says from where; 0 once all are at their end;
 * an error with *which its stream. */
ssize_t p2i_lines_get_any(struct popen2_proc *p, int *which, char **line, size_t *cap,
                          int timeout_ms);
/* Frees the lines kept (the object's end). */
void p2i_lines_free(struct popen2_proc *p);

#endif
