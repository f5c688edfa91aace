/* memory: how much memory the machine has, for the library's own caps on
 * memory it keeps for later (runtime/reserve.c). */
#include "config.h"

#include "sys/sys.h"

#include <unistd.h>

size_t p2i_memory_total(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

    if (pages <= 0 || size <= 0)
        return 0;
    return (size_t)pages * (size_t)size;
}
