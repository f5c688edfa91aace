/* popen3: Python's Popen3 and Popen4 classes.
 *
 * Popen3(cmd, capturestderr, bufsize) pipes the child's stdin and stdout and,
 * with capturestderr, its stderr; Popen4 merges stderr into stdout.  poll()
 * and wait() reap on the caller's thread (child.c).
 *
 * Every constructor of the library ends here, popen2_spawn's too: a plan
 * (core.h) and the program, as Python's cmd is a string for the shell or a
 * list for execvp. */
#include "config.h"

#include "api/api.h"

#include <errno.h>

int p2i_object_spawn(const struct spawn_plan *plan, const char *cmd, char *const argv[],
                     struct popen2_proc **out)
{
    struct spawn_plan run = *plan;
    char *sh_argv[] = P2I_SHELL_ARGV(cmd);

    if (cmd) {
        if (!*cmd)
            return -EINVAL;
        run.req.file = P2I_SHELL;
        run.req.argv = sh_argv;
        run.req.search_path = false;
    } else {
        /* An empty argv[0] is left to posix_spawnp, which says ENOENT as
         * execvp. */
        if (!argv || !argv[0])
            return -EINVAL;
        run.req.file = argv[0];
        run.req.argv = argv;
    }
    return p2i_proc_create(&run, out);
}

int p2i_object_contract(const char *cmd, char *const argv[], int err_how, int bufsize,
                        bool text, struct popen2_proc **out)
{
    struct spawn_plan plan;
    int i;

    p2i_proc_plan_init(&plan);
    plan.io[CH_STDERR].how = err_how;
    for (i = 0; i < CH_COUNT; i++) {
        plan.io[i].bufsize = bufsize;
        plan.io[i].text = text;
    }
    return p2i_object_spawn(&plan, cmd, argv, out);
}

static popen2_proc *contract(const char *cmd, char *const argv[], int err_how, int bufsize)
{
    popen2_proc *p;
    int r = p2i_object_contract(cmd, argv, err_how, bufsize, false, &p);

    return r < 0 ? p2i_fail_null(r) : p;
}

popen2_proc *popen2_Popen3(const char *cmd, int capturestderr, int bufsize)
{
    return contract(cmd, NULL, capturestderr ? POPEN2_PIPE : POPEN2_INHERIT, bufsize);
}

popen2_proc *popen2_Popen4(const char *cmd, int bufsize)
{
    return contract(cmd, NULL, POPEN2_MERGE, bufsize);
}

popen2_proc *popen2_Popen3v(char *const argv[], int capturestderr, int bufsize)
{
    return contract(NULL, argv, capturestderr ? POPEN2_PIPE : POPEN2_INHERIT, bufsize);
}

popen2_proc *popen2_Popen4v(char *const argv[], int bufsize)
{
    return contract(NULL, argv, POPEN2_MERGE, bufsize);
}

int popen2_poll(popen2_proc *p)
{
    int st, r, saved = errno;

    if (!p)
        return p2i_fail(-EINVAL);
    if (p2i_api_inherited(p))
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
    if (p2i_api_inherited(p))
        return -1;
    r = p2i_child_wait(&p->child, -1, &st);
    return r == 1 ? st : p2i_fail(r);
}

static FILE *get_file(popen2_proc *p, int which)
{
    if (!p)
        return p2i_fail_null(-EINVAL);
    if (p2i_api_inherited(p))
        return NULL;
    return p2i_proc_give_file(p, which);
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
