/* spawn_setup: the child setup beyond descriptors (umask, rlimits, ids,
 * prctl) is POSIX; on Windows the calls that ask for it say ENOSYS. */
#include "config.h"

#include "sys/sys.h"

bool p2i_spawn_setup_supported(void)
{
    return false;
}

bool p2i_spawn_setup_needs_child(const struct p2i_spawn_setup *s)
{
    return s && (s->set_umask || s->n_rlimits || s->set_ids || s->no_new_privs || s->pdeath_sig);
}

int p2i_spawn_setup_run(const struct p2i_spawn_job *job, pid_t *pid)
{
    (void)job;
    (void)pid;
    return -ENOSYS;
}

int p2i_rlimit_widen(int resource, const struct rlimit *rl, struct p2i_rlimit_set *out)
{
    (void)resource;
    (void)rl;
    (void)out;
    return -ENOSYS;
}

long p2i_ngroups_max(void)
{
    return -1;
}
