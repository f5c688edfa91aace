/* attr: popen2_attr, the spawn options, and popen2_spawn / popen2_spawnv.
 *
 * The object is a spawn plan (core.h) and the storage the plan points to:
 * popen2_spawn hands the plan down as it is.  It only records what the
 * caller asked for; files are opened at the spawn, in the parent
 * (channel.c), so their errors come back from popen2_spawn, not as an exit
 * status, and the environment is composed then from the parent's current
 * one (spawn.c).  posix_spawn's file actions and attributes do the rest in
 * the child, which therefore runs no code of ours between clone and exec;
 * only the child setup beyond passed descriptors (umask, rlimits, ids,
 * prctl) takes the second path, whose child makes raw system calls alone
 * (spawn_setup.posix.c).
 *
 * Thread safety: an attr may be used by several popen2_spawn calls at once,
 * but must not be changed or freed during one.
 */
#include "config.h"

#include "api/api.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct popen2_attr {
    struct spawn_plan plan; /* its streams' fd and path are the attr's own */
    char *cwd;              /* the strings plan.req points to */
    char **env_base;        /* popen2_attr_set_env's copy, NULL: the parent's */
    char **env_ops;         /* "NAME=value" sets and "NAME" unsets, in order */
    size_t n_ops;
    struct p2i_spawn_setup setup; /* plan.req.setup points here once set */
};

static void stream_reset(struct stream_plan *o)
{
    if (o->how == STREAM_FD)
        o->fd = p2i_fd_close(o->fd);
    free(o->path);
    o->path = NULL;
    o->fd = -1;
}

static void free_strv(char **v)
{
    size_t i;

    for (i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

popen2_attr *popen2_attr_new(void)
{
    popen2_attr *a = calloc(1, sizeof *a);

    if (!a)
        return p2i_fail_null(-ENOMEM);
    p2i_proc_plan_init(&a->plan);
    return a;
}

void popen2_attr_free(popen2_attr *a)
{
    size_t i;

    if (!a)
        return;
    for (i = 0; i < CH_COUNT; i++)
        stream_reset(&a->plan.io[i]);
    free(a->cwd);
    free_strv(a->env_base);
    for (i = 0; i < a->n_ops; i++)
        free(a->env_ops[i]);
    free(a->env_ops);
    for (i = 0; i < a->setup.n_pass; i++)
        p2i_fd_close(a->setup.pass[i].fd);
    free(a->setup.pass);
    free(a->setup.rlimits);
    free(a->setup.groups);
    free(a);
}

int popen2_attr_set_cwd(popen2_attr *a, const char *dir)
{
    char *copy = NULL;

    if (!a)
        return p2i_fail(-EINVAL);
    if (dir && !p2i_spawn_cwd_supported())
        return p2i_fail(-ENOSYS);
    if (dir && !(copy = strdup(dir)))
        return p2i_fail(-ENOMEM);
    free(a->cwd);
    a->cwd = copy;
    a->plan.req.cwd = copy;
    return 0;
}

/* A copy of envp, every entry "NAME=value"; -EINVAL or -ENOMEM. */
static int copy_env(char *const envp[], char ***out)
{
    size_t n, i;
    char **copy;

    for (n = 0; envp[n]; n++)
        if (!strchr(envp[n], '=') || envp[n][0] == '=')
            return -EINVAL;
    copy = calloc(n + 1, sizeof *copy);
    if (!copy)
        return -ENOMEM;
    for (i = 0; i < n; i++) {
        if (!(copy[i] = strdup(envp[i]))) {
            free_strv(copy);
            return -ENOMEM;
        }
    }
    *out = copy;
    return 0;
}

int popen2_attr_set_env(popen2_attr *a, char *const envp[])
{
    char **copy;
    size_t i;
    int r;

    if (!a || !envp)
        return p2i_fail(-EINVAL);
    r = copy_env(envp, &copy);
    if (r < 0)
        return p2i_fail(r);
    free_strv(a->env_base);
    a->env_base = copy;
    a->plan.req.envp = copy;
    /* A replacement starts over: earlier set/unset calls were about the
     * environment it replaces. */
    for (i = 0; i < a->n_ops; i++)
        free(a->env_ops[i]);
    a->n_ops = 0;
    a->plan.req.n_env_ops = 0;
    return 0;
}

static bool bad_name(const char *name)
{
    return !name || !*name || strchr(name, '=');
}

/* Appends the operation "name=value" (a set) or "name" (an unset); 0 or
 * -ENOMEM. */
static int add_env_op(popen2_attr *a, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = value ? strlen(value) : 0;
    char **ops, *op;

    op = malloc(nl + (value ? vl + 1 : 0) + 1);
    if (!op)
        return -ENOMEM;
    memcpy(op, name, nl);
    if (value) {
        op[nl] = '=';
        memcpy(op + nl + 1, value, vl + 1);
    } else {
        op[nl] = '\0';
    }
    ops = realloc(a->env_ops, (a->n_ops + 1) * sizeof *ops);
    if (!ops) {
        free(op);
        return -ENOMEM;
    }
    a->env_ops = ops;
    a->env_ops[a->n_ops++] = op;
    a->plan.req.env_ops = ops;
    a->plan.req.n_env_ops = a->n_ops;
    return 0;
}

int popen2_attr_setenv(popen2_attr *a, const char *name, const char *value)
{
    int r;

    if (!a || bad_name(name) || !value)
        return p2i_fail(-EINVAL);
    r = add_env_op(a, name, value);
    return r < 0 ? p2i_fail(r) : 0;
}

int popen2_attr_unsetenv(popen2_attr *a, const char *name)
{
    int r;

    if (!a || bad_name(name))
        return p2i_fail(-EINVAL);
    r = add_env_op(a, name, NULL);
    return r < 0 ? p2i_fail(r) : 0;
}

static bool bad_stream(const popen2_attr *a, int stream)
{
    return !a || stream < 0 || stream >= CH_COUNT;
}

int popen2_attr_set_stream(popen2_attr *a, int stream, int how)
{
    if (bad_stream(a, stream))
        return p2i_fail(-EINVAL);
    if (how != POPEN2_PIPE && how != POPEN2_INHERIT && how != POPEN2_DEVNULL &&
        how != POPEN2_PTY && !(how == POPEN2_MERGE && stream == CH_STDERR))
        return p2i_fail(-EINVAL);
    /* The child leads a session to own the terminal: both must exist. */
    if (how == POPEN2_PTY &&
        (!p2i_pty_supported() || !p2i_spawn_group_supported(POPEN2_SESSION_NEW)))
        return p2i_fail(-ENOSYS);
    stream_reset(&a->plan.io[stream]);
    a->plan.io[stream].how = how;
    return 0;
}

/* The attr's own copy of the caller's fd, 3 or above (so the child's dup2
 * onto 0..2 cannot clobber another source) and close-on-exec (so no other
 * child, another thread's spawn included, inherits it; the caller may close
 * fd at once).  The copy, or -errno (EBADF for a descriptor not open). */
static int own_copy(int fd)
{
    int dup;

    if (fd < 0)
        return -EBADF;
    dup = p2i_fd_dup(fd);
    return dup;
}

int popen2_attr_set_stream_fd(popen2_attr *a, int stream, int fd)
{
    int dup;

    if (bad_stream(a, stream))
        return p2i_fail(-EINVAL);
    dup = own_copy(fd);
    if (dup < 0)
        return p2i_fail(dup);
    stream_reset(&a->plan.io[stream]);
    a->plan.io[stream].how = STREAM_FD;
    a->plan.io[stream].fd = dup;
    return 0;
}

int popen2_attr_set_stream_file(popen2_attr *a, int stream, const char *path, int flags,
                                mode_t mode)
{
    struct stream_plan *o;
    char *copy;

    if (bad_stream(a, stream) || !path || !*path)
        return p2i_fail(-EINVAL);
    if (!(copy = strdup(path)))
        return p2i_fail(-ENOMEM);
    o = &a->plan.io[stream];
    stream_reset(o);
    o->how = STREAM_FILE;
    o->path = copy;
    o->flags = flags;
    o->mode = mode;
    return 0;
}

int popen2_attr_set_group(popen2_attr *a, int how)
{
    if (!a || (how != POPEN2_GROUP_INHERIT && how != POPEN2_GROUP_NEW && how != POPEN2_SESSION_NEW))
        return p2i_fail(-EINVAL);
    if (!p2i_spawn_group_supported(how))
        return p2i_fail(-ENOSYS);
    a->plan.req.group = how;
    return 0;
}

int popen2_attr_set_limit(popen2_attr *a, int stream, size_t max_bytes, int policy)
{
    if (bad_stream(a, stream))
        return p2i_fail(-EINVAL);
    if (policy != POPEN2_BLOCK && policy != POPEN2_SPILL && policy != POPEN2_FAIL &&
        policy != POPEN2_KEEP_TAIL)
        return p2i_fail(-EINVAL);
    /* Input is the caller's own: it can wait for room or be refused, but
     * spilling or dropping the oldest of it would be silent loss. */
    if (stream == CH_STDIN && policy != POPEN2_BLOCK && policy != POPEN2_FAIL)
        return p2i_fail(-EINVAL);
    a->plan.io[stream].limit = (struct ring_limit){.max = max_bytes, .policy = policy};
    return 0;
}

int popen2_attr_set_pty(popen2_attr *a, unsigned short rows, unsigned short cols, int flags)
{
    if (!a || !rows || !cols || (flags & ~(POPEN2_PTY_NOECHO | POPEN2_PTY_RAW)))
        return p2i_fail(-EINVAL);
    if (!p2i_pty_supported())
        return p2i_fail(-ENOSYS);
    a->plan.pty_rows = rows;
    a->plan.pty_cols = cols;
    a->plan.pty_flags = flags;
    return 0;
}

int popen2_attr_set_search_path(popen2_attr *a, int on)
{
    if (!a)
        return p2i_fail(-EINVAL);
    a->plan.req.search_path = on != 0;
    return 0;
}

int popen2_attr_set_bufsize(popen2_attr *a, int bufsize)
{
    int i;

    if (!a)
        return p2i_fail(-EINVAL);
    for (i = 0; i < CH_COUNT; i++)
        a->plan.io[i].bufsize = bufsize;
    return 0;
}

/* ---- child setup --------------------------------------------------------
 * Recorded here; spawn.posix.c turns passed descriptors into dup2 actions
 * and hands anything else to the second spawn path (spawn_setup.posix.c).
 * Where the second path is missing (lib/sys says), the calls are ENOSYS. */

static int setup_begin(popen2_attr *a)
{
    if (!a)
        return -EINVAL;
    if (!p2i_spawn_setup_supported())
        return -ENOSYS;
    a->plan.req.setup = &a->setup;
    return 0;
}

int popen2_attr_pass_fd(popen2_attr *a, int fd, int child_fd)
{
    struct p2i_fd_pass *v;
    size_t i;
    int dup;

    if (!a || child_fd < 3)
        return p2i_fail(-EINVAL);
    dup = own_copy(fd);
    if (dup < 0)
        return p2i_fail(dup);
    for (i = 0; i < a->setup.n_pass; i++) {
        if (a->setup.pass[i].child_fd == child_fd) {
            p2i_fd_close(a->setup.pass[i].fd);
            a->setup.pass[i].fd = dup;
            return 0;
        }
    }
    v = realloc(a->setup.pass, (a->setup.n_pass + 1) * sizeof *v);
    if (!v) {
        p2i_fd_close(dup);
        return p2i_fail(-ENOMEM);
    }
    a->setup.pass = v;
    v[a->setup.n_pass++] = (struct p2i_fd_pass){.fd = dup, .child_fd = child_fd};
    /* Passing fits posix_spawn everywhere: no ENOSYS here. */
    a->plan.req.setup = &a->setup;
    return 0;
}

int popen2_attr_set_umask(popen2_attr *a, mode_t mask)
{
    int r = setup_begin(a);

    if (r == 0 && (mask & ~(mode_t)0777))
        r = -EINVAL;
    if (r < 0)
        return p2i_fail(r);
    a->setup.set_umask = true;
    a->setup.umask = mask;
    return 0;
}

int popen2_attr_set_rlimit(popen2_attr *a, int resource, const struct rlimit *rl)
{
    struct p2i_rlimit_set *v, one;
    size_t i;
    int r = setup_begin(a);

    if (r == 0)
        r = p2i_rlimit_widen(resource, rl, &one);
    if (r < 0)
        return p2i_fail(r);
    for (i = 0; i < a->setup.n_rlimits; i++) {
        if (a->setup.rlimits[i].resource == resource) {
            a->setup.rlimits[i] = one;
            return 0;
        }
    }
    v = realloc(a->setup.rlimits, (a->setup.n_rlimits + 1) * sizeof *v);
    if (!v)
        return p2i_fail(-ENOMEM);
    a->setup.rlimits = v;
    v[a->setup.n_rlimits++] = one;
    return 0;
}

int popen2_attr_set_ids(popen2_attr *a, uid_t uid, gid_t gid, const gid_t *groups,
                        size_t ngroups)
{
    long max = p2i_ngroups_max();
    gid_t *copy = NULL;
    int r = setup_begin(a);

    if (r == 0 && ((!groups && ngroups) || (max >= 0 && ngroups > (size_t)max)))
        r = -EINVAL;
    if (r == 0 && ngroups && !(copy = malloc(ngroups * sizeof *copy)))
        r = -ENOMEM;
    if (r < 0)
        return p2i_fail(r);
    if (ngroups)
        memcpy(copy, groups, ngroups * sizeof *copy);
    free(a->setup.groups);
    a->setup.groups = copy;
    a->setup.n_groups = ngroups;
    a->setup.uid = uid;
    a->setup.gid = gid;
    /* Groups are set whenever given, and cleared (none given) when the
     * child becomes another user or group: supplementary groups the parent
     * had must not come along to the new identity. */
    a->setup.set_groups = ngroups || uid != (uid_t)-1 || gid != (gid_t)-1;
    a->setup.set_ids = a->setup.set_groups;
    return 0;
}

int popen2_attr_set_no_new_privs(popen2_attr *a, int on)
{
    int r = setup_begin(a);

    if (r < 0)
        return p2i_fail(r);
    a->setup.no_new_privs = on != 0;
    return 0;
}

int popen2_attr_set_parent_death_signal(popen2_attr *a, int sig)
{
    int r = setup_begin(a);

    if (r == 0 && (sig < 0 || sig >= NSIG))
        r = -EINVAL;
    if (r < 0)
        return p2i_fail(r);
    a->setup.pdeath_sig = sig;
    return 0;
}

/* popen2_spawn's plan is the attr's, or without one a fresh attr's. */
static popen2_proc *attr_spawn(const char *cmd, char *const argv[], const popen2_attr *a)
{
    struct spawn_plan defaults;
    popen2_proc *p;
    int r;

    if (!a)
        p2i_proc_plan_init(&defaults);
    r = p2i_object_spawn(a ? &a->plan : &defaults, cmd, argv, &p);
    return r < 0 ? p2i_fail_null(r) : p;
}

popen2_proc *popen2_spawn(const char *cmd, const popen2_attr *a)
{
    return attr_spawn(cmd, NULL, a);
}

popen2_proc *popen2_spawnv(char *const argv[], const popen2_attr *a)
{
    return attr_spawn(NULL, argv, a);
}
