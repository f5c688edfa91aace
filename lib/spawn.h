/* spawn: starts the child with posix_spawn, wired to the given descriptors. */
#ifndef POPEN2_SPAWN_H
#define POPEN2_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

struct spawn_request {
    const char *file;       /* program: a path, or a name looked up in PATH */
    char *const *argv;
    bool search_path;       /* look file up in PATH as execvp does */
    int fd[3];              /* what becomes the child's 0, 1, 2; -1 inherits the parent's */
    /* Beyond popen2 (popen2_spawn's options); zero values keep the above. */
    bool stderr_to_stdout;  /* the child's 2 becomes a copy of its (inherited) 1 */
    const char *cwd;        /* working directory, NULL: the parent's */
    char *const *envp;      /* environment, NULL: the parent's environ */
    int group;              /* POPEN2_GROUP_NEW: new process group; POPEN2_SESSION_NEW */
};

/* Starts the child; 0 with *pid set, or -errno (ENOENT, EACCES, ENOEXEC for
 * an exec failure, reported synchronously; EAGAIN, ENOMEM, ...).  On failure
 * no child is left behind. */
int spawn_start(const struct spawn_request *req, pid_t *pid);

#endif
