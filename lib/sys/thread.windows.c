/* thread: a Windows thread's stack holds no thread-local storage (the
 * loader keeps it elsewhere), so a thread needs its frames, in the 64 KiB
 * granules the system reserves stacks in. */
#include "config.h"

#include "sys/sys.h"

#define GRANULE (64 * 1024)

size_t p2i_thread_stack_size(size_t frames)
{
    return (frames + GRANULE - 1) / GRANULE * GRANULE;
}

int p2i_thread_create(pthread_t *tid, pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    /* No signals reach a thread on Windows: nothing to block. */
    return pthread_create(tid, attr, fn, arg);
}

int p2i_thread_atfork(void (*before)(void), void (*parent)(void), void (*child)(void))
{
    (void)before;
    (void)parent;
    (void)child;
    return 0; /* no fork on Windows */
}
