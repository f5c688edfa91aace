/* memory: how much memory the machine has, for the library's own caps on
 * memory it keeps for later (runtime/warm.c). */
#include "config.h"

#include "sys/sys.h"

#include <windows.h>

size_t p2i_memory_total(void)
{
    MEMORYSTATUSEX m = {.dwLength = sizeof m};

    if (!GlobalMemoryStatusEx(&m))
        return 0;
    return (size_t)m.ullTotalPhys;
}

/* The pages of a fresh VirtualAlloc'd or heap range fault in as they are
 * written; Windows has no call that faults anonymous memory in for
 * writing without touching it, so this is a hint that does nothing. */
void p2i_memory_prefault(void *addr, size_t len)
{
    (void)addr;
    (void)len;
}

/* Windows has no fork: no child ever shares these pages. */
void p2i_memory_keep_from_children(void *addr, size_t len, bool keep)
{
    (void)addr;
    (void)len;
    (void)keep;
}
