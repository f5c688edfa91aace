/* spawner: Windows has no parent-death signal, so no thread to tie one to;
 * and no fork, so nothing to do around one. */
#include "config.h"

#include "sys/sys.h"

int p2i_spawner_run(const struct p2i_spawn_job *job, pid_t *pid)
{
    (void)job;
    (void)pid;
    return -ENOSYS;
}

void p2i_spawner_lock(void)
{
}

void p2i_spawner_unlock(void)
{
}

void p2i_spawner_forked(void)
{
}
