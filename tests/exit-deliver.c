/* tests/exit-deliver: writes NBYTES to a child and returns from main at
 * once, as a program that hands a child its input and quits does.
 *
 *   exit-deliver NBYTES OUTFILE
 *
 * The child, `sleep 0.1; wc -c`, starts reading only after this process is
 * likely gone, and writes its count to OUTFILE (through OUTFILE.tmp, so a
 * reader never sees half a number).  Exit status 0 once fwrite, fclose and
 * popen2_free all said yes; check_exit reads the count. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "popen2.h"

int main(int argc, char **argv)
{
    char cmd[4096];
    popen2_proc *p;
    size_t n;
    char *buf;

    if (argc != 3)
        return 2;
    n = strtoul(argv[1], NULL, 10);
    snprintf(cmd, sizeof cmd, "sleep 0.1; wc -c > '%s.tmp' && mv '%s.tmp' '%s'", argv[2],
             argv[2], argv[2]);
    buf = malloc(n);
    if (!buf)
        return 3;
    memset(buf, 'x', n);
    p = popen2_Popen3(cmd, 0, -1);
    if (!p)
        return 4;
    if (fwrite(buf, 1, n, popen2_tochild(p)) != n)
        return 5;
    if (fclose(popen2_tochild(p)) != 0)
        return 6;
    popen2_free(p);
    free(buf);
    return 0;
}
