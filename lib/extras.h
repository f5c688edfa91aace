/* extras: the hooks through which the "Beyond popen2" modules (kill.c,
 * event.c, communicate.c) take part in an object's life.  The core files
 * call these at a few marked places; nothing else of the extras leaks into
 * them.
 */
#ifndef POPEN2_EXTRAS_H
#define POPEN2_EXTRAS_H

struct popen2_proc;

/* kill.c: the child's pidfd (where the kernel has pidfd_open), or -1;
 * proc->mu held (or the object not yet shared).  popen2_spawn objects get it
 * right after the spawn; contract objects (Popen3/4) on the first call that
 * needs it, so they keep the descriptor count and create cost the README
 * documents.  Opening it late is as safe: the child is not reaped yet (we
 * check under the lock reaping takes), so its pid cannot have been reused.
 * It is kept until the object is destroyed, so a thread may poll it while
 * another reaps; signals check `reaped` first and never use it after. */
int kill_pidfd_locked(struct popen2_proc *p);
/* event.c: the child was just reaped (proc->mu held): takes its pidfd out of
 * the event descriptor's epoll set, which would otherwise stay readable. */
void event_reaped_locked(struct popen2_proc *p);

/* event.c: a reader thread buffered bytes or reached its end.  Reader
 * threads call this without any lock; it never blocks. */
void event_notify(struct popen2_proc *p);

/* event.c: the eventfd the reader threads signal (made on first use), for
 * popen2_communicate, which waits for output but not for the child's exit;
 * or -errno. */
int event_stream_fd(struct popen2_proc *p);

/* At the object's end, once its threads are gone: closes the pidfd and the
 * event descriptors and frees what communicate collected. */
void kill_destroy(struct popen2_proc *p);
void event_destroy(struct popen2_proc *p);
void communicate_destroy(struct popen2_proc *p);

static inline void extras_destroy(struct popen2_proc *p)
{
    kill_destroy(p);
    event_destroy(p);
    communicate_destroy(p);
}

#endif
