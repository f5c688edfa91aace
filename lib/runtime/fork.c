/* fork: what the library does when the program forks.
 *
 * A program with threads that forks gets a child with one thread, the one
 * that called fork, and with every lock exactly as it was at that instant:
 * a mutex another thread held stays held for ever.  Two things follow.
 *
 * - The library's global state (the active list, the pool, the warm ring
 *   buffers) must be usable in the child, so the fork handlers take
 *   their locks around fork and hand the child an empty list: the parent's
 *   children are not the child's to reap.
 * - Objects the child inherited are a copy of the parent's, locks and all,
 *   and their threads did not come along.  They are unusable in the child:
 *   every object and channel remembers the fork generation it was made in,
 *   and a mismatch makes each of its functions and FILE operations fail at
 *   once with ECHILD, before it could touch a lock.  exit() in the child
 *   flushes an inherited tochild FILE; that flush fails instead of hanging.
 *
 * The handlers are registered when the library is loaded.  posix_spawn
 * runs no fork handlers, so the library's own spawns never get here.
 */
#include "config.h"

#include "runtime/runtime.h"

#include <pthread.h>

static unsigned generation;

unsigned p2i_fork_generation(void)
{
    return __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
}

/* pool_mu and the warm buffers' lock are leaves and active_mu nests under
 * nothing of the pool's, so the order here is free; it is the same every
 * time. */
static void before_fork(void)
{
    p2i_spawner_lock();
    p2i_active_lock();
    p2i_pool_lock();
    p2i_warm_lock();
}

static void in_parent(void)
{
    p2i_warm_unlock();
    p2i_pool_unlock();
    p2i_active_unlock();
    p2i_spawner_unlock();
}

/* Async-signal-safe only: a forked child of a threaded program may do
 * nothing else before exec. */
static void in_child(void)
{
    __atomic_add_fetch(&generation, 1, __ATOMIC_ACQ_REL);
    p2i_active_forked();
    p2i_pool_forked();
    p2i_linger_forked();
    p2i_spawner_forked();
    p2i_warm_forked();
}

/* A failure (ENOMEM) leaves the library as it was before fork handling
 * existed; there is nobody to report it to at load time. */
__attribute__((constructor)) static void install_fork_handlers(void)
{
    pthread_atfork(before_fork, in_parent, in_child);
}
