/* popen3: Python's Popen3 and Popen4 classes.
 *
 * Popen3(cmd, capturestderr, bufsize) pipes the child's stdin and stdout and,
 * with capturestderr, its stderr; Popen4 merges stderr into stdout.  poll()
 * and wait() reap on the caller's thread (child.c). */
#include "config.h"

#include "api/api.h"

#include <errno.h>

/* The contract's shapes: stdin and stdout piped; stderr piped (Popen3 with
 * capturestderr), inherited (Popen3 without) or merged (Popen4). */
static struct popen2_proc *contract_create(const char *file, char *const argv[], bool search_path,
                                           bool capture_err, bool merge_err, int bufsize)
{
    struct proc_setup su = {
        .file = file,
        .argv = argv,
        .search_path = search_path,
        .pipe = {true, true, capture_err},
        .child_fd = {-1, -1, -1},
        .merge_err = merge_err,
        .bufsize = bufsize,
    };

    return p2i_proc_create(&su);
}

struct popen2_proc *p2i_popen3_cmd(const char *cmd, bool capture_err, bool merge_err, int bufsize)
{
    char *argv[] = P2I_SHELL_ARGV(cmd);

    if (!cmd || !*cmd)
        return p2i_fail_null(-EINVAL);
    return contract_create(P2I_SHELL, argv, false, capture_err, merge_err, bufsize);
}

struct popen2_proc *p2i_popen3_argv(char *const argv[], bool capture_err, bool merge_err,
                                    int bufsize)
{
    /* An empty argv[0] is left to posix_spawnp, which says ENOENT as execvp. */
    if (!argv || !argv[0])
        return p2i_fail_null(-EINVAL);
    return contract_create(argv[0], argv, true, capture_err, merge_err, bufsize);
}

popen2_proc *popen2_Popen3(const char *cmd, int capturestderr, int bufsize)
{
    return p2i_popen3_cmd(cmd, capturestderr != 0, false, bufsize);
}

popen2_proc *popen2_Popen4(const char *cmd, int bufsize)
{
    return p2i_popen3_cmd(cmd, false, true, bufsize);
}

popen2_proc *popen2_Popen3v(char *const argv[], int capturestderr, int bufsize)
{
    return p2i_popen3_argv(argv, capturestderr != 0, false, bufsize);
}

popen2_proc *popen2_Popen4v(char *const argv[], int bufsize)
{
    return p2i_popen3_argv(argv, false, true, bufsize);
}

int popen2_poll(popen2_proc *p)
{
    int st, r, saved = errno;

    if (!p)
        return p2i_fail(-EINVAL);
    if (p2i_front_inherited(p))
        return -1;
    r = p2i_child_poll(&p->child, &st);
    if (r == 1)
        return st;
    /* Python's poll() says -1 while the child runs; a child reaped
     * elsewhere also says -1, with errno ECHILD so that a caller can tell,
     * and so does a failed reap, with its errno.  While it runs errno is
     * the caller's, whatever calls the library tried on the way. */
    errno = r < 0 ? -r : saved;
    return -1;
}

int popen2_wait(popen2_proc *p)
{
    int st, r;

    if (!p)
        return p2i_fail(-EINVAL);
    if (p2i_front_inherited(p))
        return -1;
    r = p2i_child_wait(&p->child, -1, &st);
    return r == 1 ? st : p2i_fail(r);
}

static FILE *get_file(popen2_proc *p, int which)
{
    if (!p)
        return p2i_fail_null(-EINVAL);
    if (p2i_front_inherited(p))
        return NULL;
    return p2i_proc_file(p, which);
}

FILE *popen2_fromchild(popen2_proc *p)
{
    return get_file(p, CH_STDOUT);
}

FILE *popen2_tochild(popen2_proc *p)
{
    return get_file(p, CH_STDIN);
}

FILE *popen2_childerr(popen2_proc *p)
{
    return get_file(p, CH_STDERR);
}

pid_t popen2_pid(popen2_proc *p)
{
    if (!p)
        return p2i_fail(-EINVAL);
    return p->child.pid;
}

void popen2_free(popen2_proc *p)
{
    /* The parent's object in a forked child: its memory is a copy that
     * nothing here may free safely, and nothing needs to. */
    if (p && !p2i_proc_inherited(p))
        p2i_proc_free(p);
}
