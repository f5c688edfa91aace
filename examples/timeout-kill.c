/* Give a command a time limit and kill it when it runs over.
 *
 *     timeout-kill [MS [PROGRAM ARGS...]]   default: 200 ms for sleep 600
 *
 * Waits at most MS milliseconds for the command; if it is still running,
 * kills it (SIGKILL; popen2_terminate would send SIGTERM) and reaps it.
 * Exits 0 when the command ended either way and the status says how, 1 on
 * an error.  Run without arguments it checks that sleep 600 was killed. */
#include <popen2.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
    char *fallback[] = {"sleep", "600", NULL};
    int ms = argc > 1 ? atoi(argv[1]) : 200;
    char *const *cmd = argc > 2 ? argv + 2 : fallback;
    popen2_attr *a;
    popen2_proc *p;
    int status;

    /* The child reads nothing and its output is not wanted: say so, or an
     * output nobody reads would be collected in memory while we wait. */
    a = popen2_attr_new();
    if (!a) {
        perror("timeout-kill: popen2_attr_new");
        return 1;
    }
    popen2_attr_set_stream(a, 0, POPEN2_DEVNULL);
    popen2_attr_set_stream(a, 1, POPEN2_DEVNULL);
    /* A group of its own, so the kill also reaches what a shell command
     * started (the signal goes to the whole group). */
    popen2_attr_set_group(a, POPEN2_GROUP_NEW);
    p = popen2_spawnv(cmd, a);
    popen2_attr_free(a);
    if (!p) {
        fprintf(stderr, "timeout-kill: cannot run %s: %s\n", cmd[0], strerror(errno));
        return 1;
    }

    status = popen2_wait_timeout(p, ms);
    if (status == -1 && errno == ETIMEDOUT) {
        printf("%s still running after %d ms: killing it\n", cmd[0], ms);
        if (popen2_kill(p) == -1 && errno != ESRCH) { /* ESRCH: it ended meanwhile */
            perror("timeout-kill: popen2_kill");
            popen2_free(p);
            return 1;
        }
        status = popen2_wait(p); /* reaps it: no zombie left */
    }
    if (status == -1) {
        perror("timeout-kill: wait");
        popen2_free(p);
        return 1;
    }
    popen2_free(p);

    if (WIFEXITED(status)) {
        printf("%s exited with status %d\n", cmd[0], WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        printf("%s was killed by signal %d\n", cmd[0], WTERMSIG(status));
    }
    if (argc == 1 && !(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
        fprintf(stderr, "timeout-kill: sleep 600 was not killed\n");
        return 1;
    }
    return 0;
}
