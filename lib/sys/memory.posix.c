/* memory: how much memory the machine has, for the library's own caps on
 * memory it keeps for later (runtime/warm.c), faulting fresh pages in
 * ahead of a writer (ring/ringmem.c), and keeping kept memory out of the
 * children a host program forks (runtime/warm.c). */
#include "config.h"

#include "sys/sys.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

/* Linux 5.14; older headers lack the name, older kernels say EINVAL. */
#if defined(__linux__) && !defined(MADV_POPULATE_WRITE)
#define MADV_POPULATE_WRITE 23
#endif

size_t p2i_memory_total(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

    if (pages <= 0 || size <= 0)
        return 0;
    return (size_t)pages * (size_t)size;
}

/* Faulting pages in one at a time, as the first write to each does, is
 * what makes fresh memory slow: on the 2-CPU VM the library is measured on,
 * writing 256 MiB of fresh pages ran at 200 MB/s, and at 300-400 MB/s when
 * each 8 MiB was first faulted in by one MADV_POPULATE_WRITE.  The call
 * changes no byte.  Only whole pages inside the range are asked for, so no
 * neighbouring mapping is touched.  A failure (an older kernel's EINVAL, a
 * range the kernel will not populate) only leaves the pages to fault in as
 * they are written: one failed call per range, never an error. */
/* The whole pages inside [addr, addr + len): the only ones a madvise on
 * a malloc'd range may name without touching a neighbour's memory.  0
 * when there are none. */
static size_t whole_pages(void *addr, size_t len, uintptr_t *start)
{
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t end;

    if (!addr || page <= 0)
        return 0;
    *start = ((uintptr_t)addr + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
    end = ((uintptr_t)addr + len) & ~((uintptr_t)page - 1);
    return end > *start ? end - *start : 0;
}

void p2i_memory_prefault(void *addr, size_t len)
{
#ifdef MADV_POPULATE_WRITE
    uintptr_t start;
    size_t n = whole_pages(addr, len, &start);
    int saved = errno;

    if (n)
        (void)madvise((void *)start, n, MADV_POPULATE_WRITE);
    errno = saved;
#else
    (void)addr;
    (void)len;
#endif
}

/* fork() write-protects every page of the parent so that parent and child
 * may share it until one writes: after the child has exec'd, the parent's
 * next write to each page still takes a fault.  Memory kept for later is
 * written from its first byte to its last when it is used again, so a host
 * program that forks between two large captures (GLib's spawn does) would
 * pay for 32,768 faults per 128 MiB kept, on the 2-CPU VM the library is
 * measured on as slow as fresh pages.  MADV_DONTFORK leaves such memory out
 * of the child altogether, which also makes the fork cheaper; the child
 * must then forget it (runtime/warm.c does).  Systems without the advice
 * only pay the faults. */
void p2i_memory_keep_from_children(void *addr, size_t len, bool keep)
{
#if defined(MADV_DONTFORK) && defined(MADV_DOFORK)
    uintptr_t start;
    size_t n = whole_pages(addr, len, &start);
    int saved = errno;

    if (n)
        (void)madvise((void *)start, n, keep ? MADV_DONTFORK : MADV_DOFORK);
    errno = saved;
#else
    (void)addr;
    (void)len;
    (void)keep;
#endif
}
