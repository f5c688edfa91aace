/* thread: what a new thread's stack must hold (see sys.h). */
#include "config.h"

#include "sys/sys.h"

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#if defined(HAVE_LINK_H) && defined(HAVE_DL_ITERATE_PHDR)
#include <link.h>
#define MEASURE_TLS 1
#endif

#ifdef MEASURE_TLS
/* Adds one module's TLS block, with its alignment padding, to *arg. */
static int add_module_tls(struct dl_phdr_info *info, size_t size, void *arg)
{
    size_t *sum = arg, align;
    int i;

    (void)size;
    for (i = 0; i < info->dlpi_phnum; i++) {
        if (info->dlpi_phdr[i].p_type != PT_TLS)
            continue;
        align = info->dlpi_phdr[i].p_align > 1 ? (size_t)info->dlpi_phdr[i].p_align : 1;
        *sum += ((size_t)info->dlpi_phdr[i].p_memsz + align - 1) / align * align + align;
    }
    return 0;
}
#endif

/* glibc places every thread's copy of the static TLS (the __thread variables
 * of the program and of the libraries loaded with it) inside the stack size
 * it is given: a program with 60 KiB of them left a 64 KiB request nothing
 * (pthread_create: EINVAL), one with 56 KiB a few KiB (a stack overflow in
 * the reader thread).  So the request grows by the TLS of every loaded
 * module, measured through dl_iterate_phdr, a public interface of glibc,
 * musl and the BSDs (glibc's own __pthread_get_minstack is private).  musl
 * adds the TLS to the request by itself: there this costs a little unused
 * stack.  Modules loaded later get dynamic TLS, which does not live on the
 * stack; counting those loaded before the first thread only errs on the
 * generous side. */
size_t p2i_thread_stack_size(size_t frames)
{
    size_t tls = 0, size;
    long page = sysconf(_SC_PAGESIZE);

#ifdef MEASURE_TLS
    dl_iterate_phdr(add_module_tls, &tls);
#endif
    size = frames + tls;
#ifdef PTHREAD_STACK_MIN
    if (size < (size_t)PTHREAD_STACK_MIN)
        size = PTHREAD_STACK_MIN;
#endif
    if (page > 0)
        size = (size + (size_t)page - 1) / (size_t)page * (size_t)page;
    return size;
}

int p2i_thread_create(pthread_t *tid, pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    sigset_t all, old;
    bool masked = false;
    int r;

    sigfillset(&all);
#ifdef HAVE_PTHREAD_ATTR_SETSIGMASK_NP
    /* glibc allocates the attribute's mask, so this can fail with ENOMEM.
     * Ignoring that would start the thread with the caller's mask: a writer
     * with SIGPIPE unblocked kills the whole process on EPIPE.  Then fall
     * back to the portable way below. */
    masked = pthread_attr_setsigmask_np(attr, &all) == 0;
#endif
    /* The new thread inherits the creator's mask; block for the instant of
     * pthread_create only, then put the caller's mask back unchanged. */
    if (!masked)
        pthread_sigmask(SIG_SETMASK, &all, &old);
    r = pthread_create(tid, attr, fn, arg);
    if (!masked)
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    return r;
}

int p2i_thread_atfork(void (*before)(void), void (*parent)(void), void (*child)(void))
{
    return pthread_atfork(before, parent, child);
}
