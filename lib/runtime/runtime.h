/* runtime: the library's second layer, its process-wide state, above the
 * operating system's primitives (sys.h) and below everything that belongs to
 * one object.
 *
 *   active.c  Python's popen2._active: freed objects' unreaped children
 *   pool.c    the library's threads, parked between jobs for reuse
 *   fork.c    the fork handlers and the fork generation (inherited objects)
 *   linger.c  input still being delivered when the program exits
 *   warm.c    large ring buffers kept warm between uses
 *
 * Each keeps its state behind its own lock, which nests under any lock of a
 * higher layer; fork.c takes them all around fork() (see fork.c).
 */
#ifndef POPEN2_RUNTIME_H
#define POPEN2_RUNTIME_H

#include "sys/sys.h"

/* ---- pool.c ----------------------------------------------------------------
 * Runs functions on the library's threads (all signals blocked, small
 * stacks), reusing parked ones.  A job is joined or detached exactly once. */

/* How long a parked thread waits for a job before it ends. */
#define P2I_POOL_IDLE_MS 2000

struct p2i_worker;
struct p2i_job {
    struct p2i_worker *worker;
    unsigned long gen;
};

/* Runs fn(arg) on a pool thread; 0 or -errno (EAGAIN, ENOMEM) with nothing
 * started. */
int p2i_pool_start(struct p2i_job *job, void *(*fn)(void *), void *arg);
/* p2i_pool_start in two steps: reserve takes a thread (parked, or a new
 * one) and can fail as start does; go hands it the function and wakes it,
 * and cannot fail.  A reserved job must be handed its function before it is
 * joined. */
int p2i_pool_reserve(struct p2i_job *job);
void p2i_pool_go(struct p2i_job *job, void *(*fn)(void *), void *arg);
/* Waits until the job's function has returned. */
void p2i_pool_join(struct p2i_job *job);
/* The same, and ends the job's thread rather than parking it (unless it has
 * taken another job meanwhile), waiting until it is gone: for a call that
 * fails and must leave no thread behind. */
void p2i_pool_join_retire(struct p2i_job *job);
/* Gives the job up: it runs on, and nobody waits for it. */
void p2i_pool_detach(struct p2i_job *job);
/* Fork handlers (fork.c): the pool's lock around fork(), and in the child
 * an empty pool (async-signal-safe). */
void p2i_pool_lock(void);
void p2i_pool_unlock(void);
void p2i_pool_forked(void);

/* ---- active.c --------------------------------------------------------------
 * A global list under one mutex; nothing else in the library takes that
 * mutex, so it nests under any other lock. */

struct p2i_active_node {
    pid_t pid;
    int pidfd; /* owned by the list from p2i_active_add on; -1 without pidfds */
    bool watched; /* its pidfd is in the list's epoll set */
    struct p2i_active_node *next, *prev;
};

/* Takes ownership of node (allocated when the object was made, so that a
 * free can never fail for want of memory) and its pidfd, and reaps the
 * child later. */
void p2i_active_add(struct p2i_active_node *node);
/* Reaps every listed child that has exited and forgets those reaped
 * elsewhere; never blocks. */
void p2i_active_reap(void);
/* How many children are listed. */
size_t p2i_active_count(void);
/* The fork handlers' part (fork.c): the list's lock taken around fork, and
 * in the child an empty list (the parent's children are not the child's;
 * their descriptors are closed).  Async-signal-safe in the child. */
void p2i_active_lock(void);
void p2i_active_unlock(void);
void p2i_active_forked(void);

/* ---- fork.c ----------------------------------------------------------------
 * Fork handlers, registered when the library is loaded.  Each fork bumps
 * the generation in the child; an object or channel made in an earlier
 * generation belongs to the parent and is unusable here (ECHILD). */

/* The current fork generation. */
unsigned p2i_fork_generation(void);

/* ---- linger.c --------------------------------------------------------------
 * At exit the library waits for input rings that still hold undelivered
 * bytes, while their writers make progress: until none is left, or none has
 * delivered a byte for P2I_LINGER_STALL_MS. */
#define P2I_LINGER_STALL_MS 3000

/* An input ring starts (+1) or stops (-1) holding undelivered bytes. */
void p2i_linger_add(int delta);
/* A writer delivered bytes. */
void p2i_linger_progress(void);
/* How often writers delivered bytes, to measure stalls. */
unsigned long long p2i_linger_progress_count(void);
/* The process is exiting: the library's destructor has run. */
bool p2i_linger_exiting(void);
/* At exit: milliseconds left before the exit gives up on the writers, 0
 * once none has delivered a byte for P2I_LINGER_STALL_MS.  The first call
 * (the destructor's) starts the clock; any delivery restarts it. */
int p2i_linger_stall_left_ms(void);
/* In a forked child: the parent's writers are not here. */
void p2i_linger_forked(void);

/* ---- warm.c ----------------------------------------------------------------
 * Freed ring buffers of at least P2I_WARM_MIN bytes, kept (bounded in
 * number, bytes and age) so that the next large ring writes into pages
 * already touched.  Its lock is a leaf: callers may hold a ring's. */
#define P2I_WARM_MIN (1024 * 1024)

/* A kept buffer (from malloc) of at least need and at most `most` bytes,
 * the smallest there is, its size in *cap and how far its pages are in in
 * *touched; NULL when none fits. */
void *p2i_warm_take(size_t need, size_t most, size_t *cap, size_t *touched);
/* Frees buf (from malloc, cap bytes, its first `touched` bytes' pages in),
 * or keeps it for a later take. */
void p2i_warm_give(void *buf, size_t cap, size_t touched);
/* Frees every kept buffer now: at unload, and before a leak check that
 * counts what malloc holds. */
void p2i_warm_drop_all(void);
/* How long a buffer nobody takes is kept (60 s; tests shorten it). */
void p2i_warm_set_age_ms(long long ms);
/* Fork handlers (fork.c): the lock around fork(); in the child the kept
 * buffers stay usable (they are the child's memory too). */
void p2i_warm_lock(void);
void p2i_warm_unlock(void);
void p2i_warm_forked(void);

#endif
