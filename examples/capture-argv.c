/* Capture a command's output: run an argument vector (no shell, so no
 * quoting to get wrong), collect stdout and stderr, get the exit status.
 *
 *     capture-argv [PROGRAM ARGS...]     default: echo 'hello, world'
 *
 * Prints what the command wrote and how it ended; exits 1 if it could not
 * be run or did not exit with status 0.  Run without arguments it also
 * checks the captured bytes. */
#include <popen2.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
    char *fallback[] = {"echo", "hello, world", NULL};
    char *const *cmd = argc > 1 ? argv + 1 : fallback;
    char *out = NULL, *err = NULL;
    size_t outlen = 0, errlen = 0;
    int status, ok;

    /* 1: capture stderr apart from stdout; -1: the default buffering. */
    popen2_proc *p = popen2_Popen3v(cmd, 1, -1);
    if (!p) {
        fprintf(stderr, "capture-argv: cannot run %s: %s\n", cmd[0], strerror(errno));
        return 1;
    }
    /* No input; both outputs collected whole; no timeout (-1). */
    status = popen2_communicate(p, NULL, 0, &out, &outlen, &err, &errlen, -1);
    if (status == -1) {
        fprintf(stderr, "capture-argv: %s\n", strerror(errno));
        popen2_free(p);
        return 1;
    }
    printf("stdout (%zu bytes): %s", outlen, out);
    printf("stderr (%zu bytes): %s\n", errlen, err);
    ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (WIFEXITED(status))
        printf("exit status %d\n", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        printf("killed by signal %d\n", WTERMSIG(status));
    if (argc == 1 && (strcmp(out, "hello, world\n") != 0 || errlen != 0)) {
        fprintf(stderr, "capture-argv: unexpected output\n");
        ok = 0;
    }
    free(out);
    free(err);
    popen2_free(p);
    return ok ? 0 : 1;
}
