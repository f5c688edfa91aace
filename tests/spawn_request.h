/* tests/spawn_request.h: a spawn request run straight through the spawn
 * layer (lib/sys), for the unit tests of its two paths (check_spawn,
 * check_spawn_setup). */
#ifndef POPEN2_TESTS_SPAWN_REQUEST_H
#define POPEN2_TESTS_SPAWN_REQUEST_H

#include <check.h>
#include <sys/wait.h>

#include "common.h"
#include "sys/sys.h"

/* Spawns the request with its stdout on a pipe; returns what the child
 * printed (malloc'ed) and its wait status in *status. */
static inline char *run_request(struct p2i_spawn_request req, int *status)
{
    int fds[2];
    pid_t pid;
    FILE *f;
    char *out;

    ck_assert_int_eq(p2i_fd_pipe(fds), 0);
    req.fd[1] = fds[1];
    ck_assert_int_eq(p2i_spawn_start(&req, &pid), 0);
    close(fds[1]);
    f = fdopen(fds[0], "r");
    ck_assert_ptr_nonnull(f);
    out = read_all(f, NULL);
    fclose(f);
    ck_assert_int_eq(waitpid(pid, status, 0), pid);
    return out;
}

#endif
