/* spawn: posix_spawn with file actions and attributes, no fork.
 *
 * posix_spawn keeps the create path flat however large the parent is
 * (fork-based spawning measured ~108x slower from a 2 GiB parent), and
 * it leaves the child side to libc, which runs only async-signal-safe code
 * between clone and exec.  Everything the child needs is prepared here, in
 * the parent: the file actions, the signal sets, the argument vector.
 *
 * What the child gets: the three descriptors of the request on 0, 1, 2 and
 * nothing else (every library descriptor is close-on-exec anyway; closefrom
 * also shuts the caller's leaky ones), an empty signal mask and default
 * dispositions for every signal, SIGPIPE included, whatever the parent
 * ignores.  The parent's own mask and dispositions are never touched.
 * Passed descriptors (popen2_attr_pass_fd) are dup2 actions too, so a
 * spawn with them stays here; any other setup (umask, rlimits, ids, prctl)
 * goes to the second path, spawn_setup.posix.c, with the same preparation.
 */
#include "config.h"

#include "popen2.h"
#include "sys/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

#ifndef HAVE_POSIX_SPAWN_FILE_ACTIONS_ADDCLOSEFROM_NP
/* Without addclosefrom, name every inheritable descriptor above 2 in a close
 * action.  This runs in the parent, so it needs no async-signal-safety; a
 * descriptor another thread opens meanwhile without O_CLOEXEC can still slip
 * through, which is why the library's own are all close-on-exec. */
static int add_close_inheritable(posix_spawn_file_actions_t *fa)
{
    long max = sysconf(_SC_OPEN_MAX);
    int fd, r, fl;

    if (max < 0 || max > 65536)
        max = 65536;
    for (fd = 3; fd < max; fd++) {
        fl = fcntl(fd, F_GETFD);
        if (fl < 0 || (fl & FD_CLOEXEC))
            continue;
        r = posix_spawn_file_actions_addclose(fa, fd);
        if (r)
            return r;
    }
    return 0;
}
#endif

/* ---- PATH search in the child's environment ------------------------------
 * posix_spawnp (like execvp) looks the program up in the *parent's* PATH,
 * whatever environment it hands the child.  A caller who gives the child its
 * own PATH means that one, as Python's subprocess and GLib's
 * G_SPAWN_SEARCH_PATH_FROM_ENVP take it; so when the environment is the
 * caller's, the search runs here, in the parent, and the child is started
 * from the absolute (or cwd-relative) path found.  Searching in the child
 * instead would mean code of ours between clone and exec. */

/* The value of PATH in envp (the first entry, as getenv finds it), or NULL. */
static const char *env_path(char *const *envp)
{
    size_t i;

    for (i = 0; envp[i]; i++)
        if (strncmp(envp[i], "PATH=", 5) == 0)
            return envp[i] + 5;
    return NULL;
}

/* What execvp searches when the environment has no PATH. */
static char *default_path(void)
{
#ifdef _CS_PATH
    size_t n = confstr(_CS_PATH, NULL, 0);
    char *s;

    if (n > 0 && (s = malloc(n)) != NULL) {
        if (confstr(_CS_PATH, s, n) == n)
            return s;
        free(s);
    }
#endif
    return strdup("/bin:/usr/bin");
}

/* Whether the file at path may be executed: 0 when it may, 1 for a match that
 * cannot be executed (execve would say EACCES), -1 for no match at all (a
 * missing file, a directory, an unusable path element). */
static int probe(const char *path)
{
    struct stat st;

    if (stat(path, &st) < 0)
        return errno == EACCES ? 1 : -1; /* EACCES: an unsearchable directory */
    if (S_ISDIR(st.st_mode))
        return -1;
    if (!S_ISREG(st.st_mode))
        return 1;
    /* The effective ids decide, as for execve; AT_EACCESS may be refused
     * where the C library cannot emulate it, and then the real ids serve,
     * which differ only in a setuid program. */
    if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) == 0)
        return 0;
    if (errno == EINVAL && access(path, X_OK) == 0)
        return 0;
    return 1;
}

int p2i_spawn_search(const char *file, char *const *envp, const char *cwd, char **out)
{
    size_t flen = strlen(file), clen = cwd ? strlen(cwd) : 0, dlen;
    const char *dir, *end, *path;
    char *own = NULL, *cand = NULL, *check;
    bool denied = false;
    int r = -ENOENT, k;

    if (!*file)
        return -ENOENT;
    path = env_path(envp);
    if (!path) {
        own = default_path();
        if (!own)
            return -ENOMEM;
        path = own;
    }
    /* Room for cwd "/" dir "/" file: every candidate fits. */
    cand = malloc(clen + 1 + strlen(path) + 1 + flen + 1);
    if (!cand) {
        r = -ENOMEM;
        goto finish;
    }
    for (dir = path;; dir = end + 1) {
        end = strchr(dir, ':');
        if (!end)
            end = dir + strlen(dir);
        dlen = (size_t)(end - dir);
        /* The candidate as the child will exec it: an empty element is the
         * current directory, as for execvp. */
        check = cand + clen + 1;
        if (dlen) {
            memcpy(check, dir, dlen);
            check[dlen] = '/';
            memcpy(check + dlen + 1, file, flen + 1);
        } else {
            memcpy(check, file, flen + 1);
        }
        /* A relative candidate is found from the child's working directory
         * (the spawn changes to it before exec), so look there too. */
        if (cwd && check[0] != '/') {
            memcpy(cand, cwd, clen);
            cand[clen] = '/';
            k = probe(cand);
        } else {
            k = probe(check);
        }
        if (k == 0) {
            *out = strdup(check);
            r = *out ? 0 : -ENOMEM;
            goto finish;
        }
        if (k == 1)
            denied = true;
        if (!*end)
            break;
    }
    r = denied ? -EACCES : -ENOENT;
finish:
    free(cand);
    free(own);
    return r;
}

/* Length of the name part of "NAME=value" (or of a bare "NAME"). */
static size_t name_len(const char *s)
{
    const char *eq = strchr(s, '=');

    return eq ? (size_t)(eq - s) : strlen(s);
}

/* The child's environment, composed in the parent at the spawn: the base
 * (the parent's environ now, or the request's) with the request's set and
 * unset operations applied in order.  *out is a new vector (NULL when there
 * is no operation: the base serves as it is); its strings are the base's
 * and the request's, which both outlive the spawn.  0 or -ENOMEM. */
static int compose_env(const struct p2i_spawn_request *req, char ***out)
{
    char *const *base = req->envp ? req->envp : environ;
    size_t nb = 0, n = 0, i, j, k;
    char **v;

    *out = NULL;
    if (!req->n_env_ops)
        return 0;
    while (base && base[nb])
        nb++;
    v = malloc((nb + req->n_env_ops + 1) * sizeof *v);
    if (!v)
        return -ENOMEM;
    for (i = 0; i < nb; i++)
        v[n++] = base[i];
    for (i = 0; i < req->n_env_ops; i++) {
        char *op = req->env_ops[i];
        size_t len = name_len(op);

        /* Drop every entry of that name, then add the new value. */
        for (j = k = 0; j < n; j++)
            if (!(name_len(v[j]) == len && memcmp(v[j], op, len) == 0))
                v[k++] = v[j];
        n = k;
        if (op[len] == '=')
            v[n++] = op;
    }
    v[n] = NULL;
    *out = v;
    return 0;
}

/* The posix_spawn flags for popen2_attr_set_group.  A new
 * session makes the child lead a new process group as well. */
static short spawn_group_flags(int group)
{
    if (group == POPEN2_GROUP_NEW)
        return POSIX_SPAWN_SETPGROUP;
#ifdef POSIX_SPAWN_SETSID
    if (group == POPEN2_SESSION_NEW)
        return POSIX_SPAWN_SETSID;
#endif
    return 0;
}

bool p2i_spawn_group_supported(int group)
{
    return group != POPEN2_SESSION_NEW || spawn_group_flags(group) != 0;
}

bool p2i_spawn_cwd_supported(void)
{
#ifdef HAVE_POSIX_SPAWN_FILE_ACTIONS_ADDCHDIR_NP
    return true;
#else
    return false;
#endif
}

/* glibc keeps the first real-time signals (32 and 33 on Linux: thread
 * cancellation and setxid) for itself: sigfillset leaves them out and
 * sigaddset refuses them, and its posix_spawn sets every signal it was not
 * told to reset, and that it keeps, to SIG_IGN in the child.  Across exec an
 * ignored signal stays ignored, so every child would start with 32 and 33
 * ignored (CPython's subprocess gives them SIG_DFL).  Put them in the set
 * by hand: posix_spawnattr_setsigdefault copies the set as it is, and the
 * child, whose signals are all blocked until just before exec, then resets
 * them to SIG_DFL like the rest. */
static void add_reserved_signals(sigset_t *set)
{
#if defined(__GLIBC__) && defined(__SIGRTMIN)
    unsigned long *words = (unsigned long *)set;
    const int bits = (int)(8 * sizeof words[0]);
    int sig;

    for (sig = __SIGRTMIN; sig < SIGRTMIN; sig++)
        if (sigaddset(set, sig) < 0 && (size_t)(sig - 1) / bits < sizeof *set / sizeof words[0])
            words[(sig - 1) / bits] |= 1UL << ((sig - 1) % bits);
#else
    (void)set;
#endif
}

/* The passed descriptors, copied once more above every number the child
 * will have (max_target): then no dup2 onto a target can clobber the source
 * of a later one, however the mapping cycles (3 to 4 and 4 to 3), and a
 * source already numbered as its own target still moves (a dup2 onto a
 * different number is what clears close-on-exec, in the child only).  The
 * copies are close-on-exec, so a spawn in another thread meanwhile never
 * inherits one, and the parent's descriptors keep their flag.  *out has
 * n_pass entries, -1 where nothing was made; 0 or -errno. */
static int lift_passed(const struct p2i_spawn_setup *s, int max_target, int **out)
{
    int *v;
    size_t i;

    *out = NULL;
    if (!s || !s->n_pass)
        return 0;
    v = malloc(s->n_pass * sizeof *v);
    if (!v)
        return -ENOMEM;
    for (i = 0; i < s->n_pass; i++)
        v[i] = -1;
    *out = v;
    for (i = 0; i < s->n_pass; i++) {
        v[i] = fcntl(s->pass[i].fd, F_DUPFD_CLOEXEC, max_target + 1);
        if (v[i] < 0)
            return -errno;
    }
    return 0;
}

static void close_lifted(int *v, size_t n)
{
    size_t i;

    for (i = 0; v && i < n; i++)
        p2i_fd_close(v[i]);
    free(v);
}

static bool is_target(const struct p2i_spawn_setup *s, int fd)
{
    size_t i;

    for (i = 0; s && i < s->n_pass; i++)
        if (s->pass[i].child_fd == fd)
            return true;
    return false;
}

/* The second path: everything decided here, the setup done in the child. */
static int start_with_setup(const struct p2i_spawn_request *req, const char *file,
                            char *const *envp, const int *lifted, int max_target, pid_t *pid)
{
    static char *const no_env[] = {NULL};
    const struct p2i_spawn_setup *s = req->setup;
    struct p2i_spawn_job job;
    char *found = NULL;
    int *to = NULL, r;
    size_t i;

    /* Without the caller's environment posix_spawnp would search the
     * parent's PATH; the child of this path execs a path, so search here. */
    if (req->search_path && !strchr(file, '/')) {
        r = p2i_spawn_search(file, envp ? envp : environ ? environ : no_env, req->cwd, &found);
        if (r < 0)
            return r;
        file = found;
    }
    if (s->n_pass && !(to = malloc(s->n_pass * sizeof *to))) {
        free(found);
        return -ENOMEM;
    }
    for (i = 0; i < s->n_pass; i++)
        to[i] = s->pass[i].child_fd;
    job = (struct p2i_spawn_job){
        .file = file,
        .argv = req->argv,
        .envp = envp ? envp : environ ? environ : no_env,
        .fd = {req->fd[0], req->fd[1], req->fd[2]},
        .stderr_to_stdout = req->stderr_to_stdout,
        .cwd = req->cwd,
        .group = req->group,
        .pass_from = lifted,
        .pass_to = to,
        .n_pass = s->n_pass,
        .max_target = max_target,
        .setup = s,
        .tty_fd = req->tty_path ? req->tty_fd : -1,
    };
    /* The parent-death signal follows the creating thread: make the child
     * on the library's long-lived spawner thread (spawner.posix.c). */
    r = s->pdeath_sig ? p2i_spawner_run(&job, pid) : p2i_spawn_setup_run(&job, pid);
    free(to);
    free(found);
    return r;
}

int p2i_spawn_start(const struct p2i_spawn_request *req, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, defaults;
    const struct p2i_spawn_setup *setup = req->setup;
    size_t n_pass = setup ? setup->n_pass : 0, k;
    const char *file = req->file;
    char *const *envp;
    char *found = NULL, **composed;
    int *lifted = NULL;
    int r, i, max_target = 2;
    bool fa_ok = false, attr_ok = false;

    r = -compose_env(req, &composed);
    if (r)
        goto finish;
    envp = composed ? composed : req->envp;
    for (k = 0; k < n_pass; k++)
        if (setup->pass[k].child_fd > max_target)
            max_target = setup->pass[k].child_fd;
    r = -lift_passed(setup, max_target, &lifted);
    if (r)
        goto finish;
    if (p2i_spawn_setup_needs_child(setup)) {
        r = -start_with_setup(req, file, envp, lifted, max_target, pid);
        goto finish;
    }
    /* With the caller's own environment, its PATH decides (see above); a name
     * with a slash is a path, as for execvp. */
    if (req->search_path && envp && !strchr(file, '/')) {
        r = -p2i_spawn_search(file, envp, req->cwd, &found);
        if (r)
            goto finish;
        file = found;
    }
    r = posix_spawn_file_actions_init(&fa);
    if (r)
        goto finish;
    fa_ok = true;
    r = posix_spawnattr_init(&attr);
    if (r)
        goto finish;
    attr_ok = true;

    /* The request's descriptors are all 3 or above (p2i_fd_pipe), so one dup2
     * cannot overwrite the source of a later one. */
    for (i = 0; i < 3 && r == 0; i++)
        if (req->fd[i] >= 0)
            r = posix_spawn_file_actions_adddup2(&fa, req->fd[i], i);
    /* POPEN2_MERGE with an inherited stdout. */
    if (r == 0 && req->stderr_to_stdout)
        r = posix_spawn_file_actions_adddup2(&fa, 1, 2);
    /* A session leader without a controlling terminal that opens a terminal
     * without O_NOCTTY gets it as its controlling terminal (Linux and System V;
     * the BSDs need TIOCSCTTY, which posix_spawn cannot do).  glibc and musl run setsid
     * (POSIX_SPAWN_SETSID) before the file actions, so reopening the slave
     * here makes it the child's; the dup2s above gave the O_NOCTTY copy. */
    if (r == 0 && req->tty_path)
        r = posix_spawn_file_actions_addopen(&fa, req->tty_fd, req->tty_path, O_RDWR, 0);
    /* The working directory.  Files named in the attr were
     * opened by the parent (channel.c), relative to the parent's directory; a
     * relative program path is found from the new one, as with subprocess. */
    if (r == 0 && req->cwd) {
#ifdef HAVE_POSIX_SPAWN_FILE_ACTIONS_ADDCHDIR_NP
        r = posix_spawn_file_actions_addchdir_np(&fa, req->cwd);
#else
        r = ENOSYS;
#endif
    }
#ifndef HAVE_POSIX_SPAWN_FILE_ACTIONS_ADDCLOSEFROM_NP
    /* Before the passed descriptors land, so none of them is closed. */
    if (r == 0)
        r = add_close_inheritable(&fa);
#endif
    /* The passed descriptors, from their copies above every target (the
     * stdio sources were read above already, so a target may reuse one's
     * number); then everything else from 3 on closes. */
    for (k = 0; k < n_pass && r == 0; k++)
        r = posix_spawn_file_actions_adddup2(&fa, lifted[k], setup->pass[k].child_fd);
    for (i = 3; i <= max_target && r == 0; i++)
        if (!is_target(setup, i))
            r = posix_spawn_file_actions_addclose(&fa, i);
#ifdef HAVE_POSIX_SPAWN_FILE_ACTIONS_ADDCLOSEFROM_NP
    if (r == 0)
        r = posix_spawn_file_actions_addclosefrom_np(&fa, max_target + 1);
#endif
    if (r)
        goto finish;

    /* Default dispositions for every signal: an ignored SIGPIPE or SIGINT in
     * the parent must not leak into a shell pipeline in the child.  Handlers
     * cannot survive exec anyway, so this only resets the ignored ones. */
    sigemptyset(&none);
    sigfillset(&defaults);
    sigdelset(&defaults, SIGKILL);
    sigdelset(&defaults, SIGSTOP);
    add_reserved_signals(&defaults);
    r = posix_spawnattr_setsigmask(&attr, &none);
    if (r == 0)
        r = posix_spawnattr_setsigdefault(&attr, &defaults);
    if (r == 0)
        r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                                spawn_group_flags(req->group));
    if (r == 0 && req->group == POPEN2_GROUP_NEW)
        r = posix_spawnattr_setpgroup(&attr, 0); /* its own pid as group id */
    if (r)
        goto finish;

    /* glibc and musl report exec failures (ENOENT, EACCES, ENOEXEC) as the
     * return value and reap the failed child themselves.  posix_spawnp does
     * not retry ENOEXEC through /bin/sh, unlike execvp, and neither does a
     * program found above. */
    if (req->search_path && !found)
        r = posix_spawnp(pid, file, &fa, &attr, req->argv, envp ? envp : environ);
    else
        r = posix_spawn(pid, file, &fa, &attr, req->argv, envp ? envp : environ);
finish:
    if (attr_ok)
        posix_spawnattr_destroy(&attr);
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    close_lifted(lifted, n_pass);
    free(found);
    free(composed);
    return -r;
}
