/* attr: popen2_attr, the spawn options, and popen2_spawn / popen2_spawnv.
 *
 * The object only records what the caller asked for.  Everything is turned
 * into descriptors and an environment vector at spawn time, in the parent:
 * files are opened there (so their errors come back from popen2_spawn, not
 * as an exit status), the environment is composed there from the parent's
 * current one, and posix_spawn's file actions and attributes do the rest in
 * the child, which therefore runs no code of ours between clone and exec.
 *
 * Thread safety: an attr may be used by several popen2_spawn calls at once,
 * but must not be changed or freed during one.
 */
#include "config.h"

#include "api/api.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

/* Stream setups beyond the public POPEN2_PIPE .. POPEN2_MERGE. */
enum { HOW_FD = 100, HOW_FILE = 101 };

struct stream_opt {
    int how;
    int fd;     /* HOW_FD: our duplicate of the caller's descriptor */
    char *path; /* HOW_FILE */
    int flags;
    mode_t mode;
    size_t limit; /* outputs: memory limit, 0 none */
    int policy;
};

struct popen2_attr {
    char *cwd;
    char **env_base; /* popen2_attr_set_env's copy, NULL: the parent's */
    char **env_ops;  /* "NAME=value" sets and "NAME" unsets, in order */
    size_t n_ops;
    struct stream_opt io[3];
    int group;
    bool search_path;
    int bufsize;
};

static void stream_reset(struct stream_opt *o)
{
    if (o->how == HOW_FD)
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
    int i;

    if (!a)
        return NULL;
    for (i = 0; i < 3; i++)
        a->io[i].fd = -1;
    /* Popen3's defaults: stdin and stdout piped, stderr the parent's. */
    a->io[0].how = POPEN2_PIPE;
    a->io[1].how = POPEN2_PIPE;
    a->io[2].how = POPEN2_INHERIT;
    a->search_path = true;
    a->bufsize = -1;
    return a;
}

void popen2_attr_free(popen2_attr *a)
{
    size_t i;

    if (!a)
        return;
    for (i = 0; i < 3; i++)
        stream_reset(&a->io[i]);
    free(a->cwd);
    free_strv(a->env_base);
    for (i = 0; i < a->n_ops; i++)
        free(a->env_ops[i]);
    free(a->env_ops);
    free(a);
}

static int fail(int err)
{
    errno = err;
    return -1;
}

int popen2_attr_set_cwd(popen2_attr *a, const char *dir)
{
    char *copy = NULL;

    if (!a)
        return fail(EINVAL);
#ifndef HAVE_POSIX_SPAWN_FILE_ACTIONS_ADDCHDIR_NP
    if (dir)
        return fail(ENOSYS);
#endif
    if (dir && !(copy = strdup(dir)))
        return fail(ENOMEM);
    free(a->cwd);
    a->cwd = copy;
    return 0;
}

int popen2_attr_set_env(popen2_attr *a, char *const envp[])
{
    size_t n, i;
    char **copy;

    if (!a || !envp)
        return fail(EINVAL);
    for (n = 0; envp[n]; n++)
        if (!strchr(envp[n], '=') || envp[n][0] == '=')
            return fail(EINVAL);
    copy = calloc(n + 1, sizeof *copy);
    if (!copy)
        return fail(ENOMEM);
    for (i = 0; i < n; i++) {
        if (!(copy[i] = strdup(envp[i]))) {
            free_strv(copy);
            return fail(ENOMEM);
        }
    }
    free_strv(a->env_base);
    a->env_base = copy;
    /* A replacement starts over: earlier set/unset calls were about the
     * environment it replaces. */
    for (i = 0; i < a->n_ops; i++)
        free(a->env_ops[i]);
    a->n_ops = 0;
    return 0;
}

static bool bad_name(const char *name)
{
    return !name || !*name || strchr(name, '=');
}

static int add_env_op(popen2_attr *a, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = value ? strlen(value) : 0;
    char **ops, *op;

    op = malloc(nl + (value ? vl + 1 : 0) + 1);
    if (!op)
        return fail(ENOMEM);
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
        return fail(ENOMEM);
    }
    a->env_ops = ops;
    a->env_ops[a->n_ops++] = op;
    return 0;
}

int popen2_attr_setenv(popen2_attr *a, const char *name, const char *value)
{
    if (!a || bad_name(name) || !value)
        return fail(EINVAL);
    return add_env_op(a, name, value);
}

int popen2_attr_unsetenv(popen2_attr *a, const char *name)
{
    if (!a || bad_name(name))
        return fail(EINVAL);
    return add_env_op(a, name, NULL);
}

static bool bad_stream(const popen2_attr *a, int stream)
{
    return !a || stream < 0 || stream > 2;
}

int popen2_attr_set_stream(popen2_attr *a, int stream, int how)
{
    if (bad_stream(a, stream))
        return fail(EINVAL);
    if (how != POPEN2_PIPE && how != POPEN2_INHERIT && how != POPEN2_DEVNULL &&
        !(how == POPEN2_MERGE && stream == 2))
        return fail(EINVAL);
    stream_reset(&a->io[stream]);
    a->io[stream].how = how;
    return 0;
}

int popen2_attr_set_stream_fd(popen2_attr *a, int stream, int fd)
{
    int dup;

    if (bad_stream(a, stream))
        return fail(EINVAL);
    if (fd < 0)
        return fail(EBADF);
    /* Our own copy, 3 or above (so the child's dup2 onto 0..2 cannot clobber
     * another source) and close-on-exec (so no other child inherits it). */
    dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (dup < 0)
        return -1;
    stream_reset(&a->io[stream]);
    a->io[stream].how = HOW_FD;
    a->io[stream].fd = dup;
    return 0;
}

int popen2_attr_set_stream_file(popen2_attr *a, int stream, const char *path, int flags,
                                mode_t mode)
{
    char *copy;

    if (bad_stream(a, stream) || !path || !*path)
        return fail(EINVAL);
    if (!(copy = strdup(path)))
        return fail(ENOMEM);
    stream_reset(&a->io[stream]);
    a->io[stream].how = HOW_FILE;
    a->io[stream].path = copy;
    a->io[stream].flags = flags;
    a->io[stream].mode = mode;
    return 0;
}

int popen2_attr_set_group(popen2_attr *a, int how)
{
    if (!a || (how != POPEN2_GROUP_INHERIT && how != POPEN2_GROUP_NEW && how != POPEN2_SESSION_NEW))
        return fail(EINVAL);
#ifndef POSIX_SPAWN_SETSID
    if (how == POPEN2_SESSION_NEW)
        return fail(ENOSYS);
#endif
    a->group = how;
    return 0;
}

int popen2_attr_set_limit(popen2_attr *a, int stream, size_t max_bytes, int policy)
{
    if (!a || stream < 0 || stream > 2)
        return fail(EINVAL);
    if (policy != POPEN2_BLOCK && policy != POPEN2_SPILL && policy != POPEN2_FAIL &&
        policy != POPEN2_KEEP_TAIL)
        return fail(EINVAL);
    /* Input is the caller's own: it can wait for room or be refused, but
     * spilling or dropping the oldest of it would be silent loss. */
    if (stream == 0 && policy != POPEN2_BLOCK && policy != POPEN2_FAIL)
        return fail(EINVAL);
    a->io[stream].limit = max_bytes;
    a->io[stream].policy = policy;
    return 0;
}

int popen2_attr_set_search_path(popen2_attr *a, int on)
{
    if (!a)
        return fail(EINVAL);
    a->search_path = on != 0;
    return 0;
}

int popen2_attr_set_bufsize(popen2_attr *a, int bufsize)
{
    if (!a)
        return fail(EINVAL);
    a->bufsize = bufsize;
    return 0;
}

/* Length of the name part of "NAME=value" (or of a bare "NAME"). */
static size_t name_len(const char *s)
{
    const char *eq = strchr(s, '=');

    return eq ? (size_t)(eq - s) : strlen(s);
}

/* The child's environment: the base (the parent's environ now, or the
 * replacement) with the set/unset operations applied in order.  The vector
 * is new; its strings belong to the base and to the attr, which both outlive
 * the spawn.  -errno on failure. */
static int build_env(const popen2_attr *a, char ***out)
{
    char *const *base = a->env_base ? a->env_base : environ;
    size_t nb = 0, n = 0, i, j, k;
    char **v;

    while (base && base[nb])
        nb++;
    v = malloc((nb + a->n_ops + 1) * sizeof *v);
    if (!v)
        return -ENOMEM;
    for (i = 0; i < nb; i++)
        v[n++] = base[i];
    for (i = 0; i < a->n_ops; i++) {
        const char *op = a->env_ops[i];
        size_t len = name_len(op);

        /* Drop every entry of that name, then add the new value. */
        for (j = k = 0; j < n; j++)
            if (!(name_len(v[j]) == len && memcmp(v[j], op, len) == 0))
                v[k++] = v[j];
        n = k;
        if (op[len] == '=')
            v[n++] = (char *)op;
    }
    v[n] = NULL;
    *out = v;
    return 0;
}

static popen2_proc *attr_spawn(const char *file, char *const argv[], bool search,
                               const popen2_attr *a)
{
    struct proc_setup su = {
        .file = file,
        .argv = argv,
        .search_path = search,
        .pipe = {true, true, false},
        .child_fd = {-1, -1, -1},
        .bufsize = -1,
    };
    int opened[3] = {-1, -1, -1};
    char **envp = NULL;
    popen2_proc *p = NULL;
    int i, r = 0, fd;

    if (!a)
        return p2i_proc_create(&su); /* Popen3's defaults */
    for (i = 0; i < 3; i++) {
        const struct stream_opt *o = &a->io[i];

        su.pipe[i] = o->how == POPEN2_PIPE;
        su.limit[i] = o->limit;
        su.policy[i] = o->policy;
        switch (o->how) {
        case POPEN2_DEVNULL:
            fd = open("/dev/null", (i == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
            goto opened;
        case HOW_FILE:
            fd = open(o->path, o->flags | O_CLOEXEC, o->mode);
        opened:
            if (fd < 0) {
                r = -errno;
                goto finish;
            }
            /* 3 or above, so the child's dup2s cannot clobber each other. */
            opened[i] = p2i_fd_lift(fd);
            if (opened[i] < 0) {
                r = opened[i];
                goto finish;
            }
            su.child_fd[i] = opened[i];
            break;
        case HOW_FD:
            su.child_fd[i] = o->fd;
            break;
        case POPEN2_MERGE:
            su.merge_err = true;
            break;
        default: /* POPEN2_PIPE, POPEN2_INHERIT */
            break;
        }
    }
    if (a->env_base || a->n_ops) {
        r = build_env(a, &envp);
        if (r < 0)
            goto finish;
        su.envp = envp;
    }
    su.cwd = a->cwd;
    su.group = a->group;
    su.bufsize = a->bufsize;
    p = p2i_proc_create(&su);
    if (!p)
        r = -errno;
finish:
    for (i = 0; i < 3; i++)
        p2i_fd_close(opened[i]);
    free(envp);
    if (r < 0)
        errno = -r;
    return p;
}

popen2_proc *popen2_spawn(const char *cmd, const popen2_attr *a)
{
    char *argv[] = P2I_SHELL_ARGV(cmd);

    if (!cmd || !*cmd)
        return p2i_fail_null(-EINVAL);
    return attr_spawn(P2I_SHELL, argv, false, a);
}

popen2_proc *popen2_spawnv(char *const argv[], const popen2_attr *a)
{
    if (!argv || !argv[0])
        return p2i_fail_null(-EINVAL);
    return attr_spawn(argv[0], argv, a ? a->search_path : true, a);
}
