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
};

/* Drops one reference; the last frees the object. */
void proc_unref(struct popen2_proc *p);
/* Called by stream.c when the caller fcloses one of the object's FILEs. */
void proc_file_closed(struct channel *ch);
/* Called by stream.c at the first write to tochild: starts the writer
 * thread, which takes a reference.  0 or -errno (EAGAIN, ENOMEM). */
int proc_start_writer(struct channel *ch);

#endif
