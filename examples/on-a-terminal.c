/* Run a command on a pseudo-terminal, so it behaves as for a person: stdio
 * line-buffers (lines come as printed, not at exit), tools colour, isatty
 * is true.  Lines are read as they come, with a time limit for each.
 *
 *     on-a-terminal [MS [COMMAND]]   default: 5000 ms for a short check
 *
 * Prints each line as "tty| ..." without the terminal's "\r\n" ending.
 * stderr stays a pipe of its own, read after stdout ends.  Exits 0 when the
 * command ended and every line was read, 1 on an error or a timeout.  Run
 * without arguments it checks that the child's stdout (only) is a terminal
 * of 30 rows and 100 columns, the controlling one (/dev/tty). */
#include <popen2.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK                                                                                      \
    "test -t 1 && echo stdout-is-a-tty; test -t 2 || echo stderr-is-a-pipe; stty size </dev/tty"

/* stdout on a terminal of 30 x 100; stdin stays /dev/null (a terminal
 * there would echo), stderr a pipe of its own. */
static popen2_proc *start_on_terminal(const char *cmd)
{
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p = NULL;

    if (a && popen2_attr_set_stream(a, 0, POPEN2_DEVNULL) == 0 &&
        popen2_attr_set_stream(a, 1, POPEN2_PTY) == 0 &&
        popen2_attr_set_stream(a, 2, POPEN2_PIPE) == 0 && popen2_attr_set_pty(a, 30, 100, 0) == 0)
        p = popen2_spawn(cmd, a);
    popen2_attr_free(a);
    return p;
}

int main(int argc, char **argv)
{
    int ms = argc > 1 ? atoi(argv[1]) : 5000;
    const char *cmd = argc > 2 ? argv[2] : CHECK;
    popen2_proc *p = start_on_terminal(cmd);
    char *line = NULL;
    size_t cap = 0;
    int seen = 0, status;
    ssize_t n;

    if (!p) {
        fprintf(stderr, "on-a-terminal: cannot run %s: %s\n", cmd, strerror(errno));
        return 1;
    }
    for (;;) {
        n = popen2_getline(p, 1, &line, &cap, ms);
        if (n <= 0)
            break;
        /* The terminal ends output lines with "\r\n" (its ONLCR). */
        line[strcspn(line, "\r\n")] = '\0';
        printf("tty| %s\n", line);
        seen += !strcmp(line, "stdout-is-a-tty") || !strcmp(line, "stderr-is-a-pipe") ||
                !strcmp(line, "30 100");
    }
    if (n < 0 && errno == ETIMEDOUT)
        popen2_kill(p); /* then reaped below */
    if (n < 0)
        perror("on-a-terminal");
    status = popen2_wait(p);
    popen2_free(p);
    free(line);
    return n == 0 && status == 0 && (argc > 2 || seen == 3) ? 0 : 1;
}
