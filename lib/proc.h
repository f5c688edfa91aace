/* proc: the Popen3 / Popen4 object shared by proc.c, pump.c, stream.c and
 * module.c.
 *
 * Lifetime: refs counts the caller's handle (or, for the module functions,
 * the set of FILEs handed out) plus the writer thread, which may outlive the
 * handle while it delivers input the caller already wrote.  The last
 * proc_unref frees the memory.
 *
 * Lock order: proc->mu before any ring's mu; no code holds two rings' locks.
 * Reader threads never take proc->mu, so joining them under it is safe.
 */
#ifndef POPEN2_PROC_H
#define POPEN2_PROC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "popen2.h"
#include "active.h"
#include "fd.h"
#include "ringbuf.h"

enum { CH_STDIN = 0, CH_STDOUT = 1, CH_STDERR = 2, CH_COUNT = 3 };

/* One of the child's standard streams as the parent sees it: a pipe end, the
 * thread that pumps it, the ring between them and the caller's FILE*. */
struct channel {
    struct popen2_proc *proc;
    int which;             /* CH_STDIN, CH_STDOUT or CH_STDERR */
    bool used;             /* this object has the stream at all */
    int fd;                /* the parent's pipe end; the pump thread owns it once started */
    struct wake wake;      /* readers: interrupts poll() when the FILE is closed */
    struct ringbuf ring;
    bool ring_ready;
    pthread_t thread;
    bool thread_started;
    FILE *file;            /* NULL once fclosed (guarded by proc->mu) */
    unsigned long long direct_moved; /* bytes the caller's thread read from the
                                      * pipe itself (stream.c; that thread only) */
    char *iobuf;           /* stdio buffer for bufsize > 1, freed with the object */
    bool end_reported;     /* Beyond popen2: popen2_read returned EOF or an error */
};

struct popen2_proc {
    pthread_mutex_t mu;    /* guards everything below but the channels' rings */
    int refs;
    pid_t pid;             /* -1 until spawned */
    bool reaped;           /* status holds the wait status */
    int status;
    bool handle_open;      /* popen2_free not called yet (false for module objects) */
    bool finishing;        /* teardown started: stream closes must not start it again */
    int open_files;
    struct channel ch[CH_COUNT];
    struct active_node *node; /* preallocated, so going on the active list cannot fail */

    /* Beyond popen2 (lib/kill.c, lib/event.c, lib/communicate.c). */
    int pidfd;             /* the child's pidfd, else -1; closed with the object */
    bool pidfd_tried;      /* pidfd_open was tried (see kill_pidfd_locked) */
    bool group_leader;     /* the child leads its own process group */
    struct events *events; /* popen2_event_fd's descriptors, NULL until asked for */
    struct collected *collected; /* what popen2_communicate has gathered so far */
};

/* How to build an object: the contract's constructors and popen2_spawn
 * (lib/attr.c) both fill one of these for proc_create. */
struct proc_setup {
    const char *file;      /* program: a path, or a name looked up in PATH */
    char *const *argv;
    bool search_path;
    bool pipe[CH_COUNT];   /* streams that get a pipe, a ring, a thread and a FILE */
    int child_fd[CH_COUNT]; /* the others: what the child gets (-1: the parent's) */
    bool merge_err;        /* the child's stderr is whatever its stdout is */
    int bufsize;
    size_t limit[CH_COUNT]; /* output rings' memory limit (0: none) and policy */
    int policy[CH_COUNT];
    const char *cwd;       /* NULL: the parent's */
    char *const *envp;     /* NULL: the parent's environ */
    int group;             /* POPEN2_GROUP_INHERIT, _NEW or POPEN2_SESSION_NEW */
    bool pidfd_at_spawn;   /* open the pidfd right away (popen2_spawn objects) */
};

/* Builds the object and spawns the child; NULL with errno. */
struct popen2_proc *proc_create(const struct proc_setup *su);

/* Drops one reference; the last frees the object. */
void proc_unref(struct popen2_proc *p);
/* Called by stream.c when the caller fcloses one of the object's FILEs. */
void proc_file_closed(struct channel *ch);
/* Called by stream.c at the first write to tochild: starts the writer
 * thread, which takes a reference.  0 or -errno (EAGAIN, ENOMEM). */
int proc_start_writer(struct channel *ch);

#endif
