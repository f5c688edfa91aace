/* Follow a command's output line by line as it comes, stdout and stderr
 * together, with a time limit for each line.
 *
 *     line-by-line [MS [COMMAND]]   default: 5000 ms for a short shell script
 *
 * Prints each line as "out| ..." or "err| ..." in the order the child wrote
 * them; a line cut by a pause comes out whole.  When no line comes for MS
 * milliseconds the command is killed.  Exits 0 when the command ended and
 * every line was read, 1 on an error or a timeout.  Run without arguments it
 * checks the script's three lines, the one written in two parts included. */
#include <popen2.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCRIPT "echo one; sleep 0.1; echo two >&2; printf thr; sleep 0.2; echo ee"

int main(int argc, char **argv)
{
    int ms = argc > 1 ? atoi(argv[1]) : 5000;
    const char *cmd = argc > 2 ? argv[2] : SCRIPT;
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;
    char *line = NULL;
    size_t cap = 0;
    int stream, lines = 0, whole = 0, status;
    ssize_t n;

    if (!a) {
        perror("line-by-line: popen2_attr_new");
        return 1;
    }
    /* stdin is not used; stderr gets a pipe of its own, so both are read. */
    popen2_attr_set_stream(a, 0, POPEN2_DEVNULL);
    popen2_attr_set_stream(a, 2, POPEN2_PIPE);
    p = popen2_spawn(cmd, a);
    popen2_attr_free(a);
    if (!p) {
        fprintf(stderr, "line-by-line: cannot run %s: %s\n", cmd, strerror(errno));
        return 1;
    }
    while ((n = popen2_getline_any(p, &stream, &line, &cap, ms)) > 0) {
        printf("%s| %s%s", stream == 1 ? "out" : "err", line, line[n - 1] == '\n' ? "" : "\n");
        lines++;
        whole += strcmp(line, "three\n") == 0;
    }
    if (n < 0) {
        fprintf(stderr, "line-by-line: %s\n", strerror(errno));
        if (errno == ETIMEDOUT)
            popen2_kill(p);
    }
    status = popen2_wait(p); /* reaps it: no zombie left */
    popen2_free(p);
    free(line);
    if (n < 0 || status != 0)
        return 1;
    /* Without arguments: the script's three lines, "three" in one piece. */
    return argc > 2 || (lines == 3 && whole == 1) ? 0 : 1;
}
