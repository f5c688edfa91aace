/* A program built the way users build theirs: outside this build system,
 * against an installed libpopen2, with
 *     cc installed-demo.c $(pkg-config --cflags --libs popen2)
 * scripts/check-install.sh and scripts/check-debian.sh build and run it.
 *
 * It does the thing that deadlocks with plain pipes: writes 1 MiB to cat(1)
 * before reading any of the 1 MiB cat writes back, then checks every byte,
 * the exit status and that no child is left unreaped.  Exit 0 on success.
 */
#include <popen2.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define SIZE (1024 * 1024)

static unsigned char byte_at(size_t i)
{
    return (unsigned char)((i * 31 + i / 4096) & 0xff);
}

int main(void)
{
    char *const argv[] = {"cat", NULL};
    unsigned char *buf = malloc(SIZE);
    popen2_proc *p;
    size_t i, got = 0, n;
    int status;

    if (!buf)
        return 2;
    p = popen2_Popen3v(argv, 1, -1);
    if (!p) {
        perror("popen2_Popen3v");
        return 1;
    }
    for (i = 0; i < SIZE; i++)
        buf[i] = byte_at(i);
    /* All of it before reading anything: plain pipes would block here. */
    if (fwrite(buf, 1, SIZE, popen2_tochild(p)) != SIZE || fclose(popen2_tochild(p)) != 0) {
        perror("writing to the child");
        return 1;
    }
    memset(buf, 0, SIZE);
    while ((n = fread(buf + got, 1, SIZE - got, popen2_fromchild(p))) > 0)
        got += n;
    if (got != SIZE || fgetc(popen2_fromchild(p)) != EOF) {
        fprintf(stderr, "read %zu bytes, expected %d\n", got, SIZE);
        return 1;
    }
    for (i = 0; i < SIZE; i++)
        if (buf[i] != byte_at(i)) {
            fprintf(stderr, "byte %zu differs\n", i);
            return 1;
        }
    status = popen2_wait(p);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "cat did not exit 0 (status %d)\n", status);
        return 1;
    }
    popen2_free(p);
    popen2_cleanup();
    if (popen2_active() != 0) {
        fprintf(stderr, "%zu children left on the active list\n", popen2_active());
        return 1;
    }
    free(buf);
    printf("installed libpopen2: 1 MiB through cat(1) and back, exit 0\n");
    return 0;
}
