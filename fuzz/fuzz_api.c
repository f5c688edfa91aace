/* fuzz_api: libFuzzer target for mode and argv handling, through the
 * public API, with harmless inputs only.
 *
 * The first byte picks what to fuzz:
 *  - mode strings: popen2_popen2v / popen3v / popen4v with a fuzzed mode (or
 *    NULL) and bufsize, running "tests/child exit 0": NULL, "t" and "b"
 *    must succeed, anything else must be EINVAL with the out-parameters
 *    untouched and nothing spawned;
 *  - arguments: Popen3v / Popen4v of "tests/child argv ARGS..." with fuzzed
 *    arguments (any bytes but NUL): every argument must reach the child byte
 *    for byte, the exit status must be 0;
 *  - program names that cannot run: NULL argv or argv[0] is EINVAL, an
 *    empty name or a fuzzed name under a directory that does not exist is
 *    ENOENT.  Fuzzed names are never looked up in PATH: whatever a random
 *    name would find there is not ours to run. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "popen2.h"

#ifndef TEST_CHILD
#error "build with -DTEST_CHILD=\"/abs/path/tests/child\""
#endif

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_api: %s failed at line %d (errno %d)\n", #c, __LINE__, errno);   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define MAX_ARGS 16

static int bufsize_of(uint8_t b)
{
    static const int sizes[] = {-1, 0, 1, 2, 7, 4096, 65536, -1000};
    return sizes[b % 8];
}

static void fuzz_mode(const uint8_t *data, size_t size)
{
    char *const argv[] = {TEST_CHILD, "exit", "0", NULL};
    char mode[16];
    const char *m;
    FILE *out = (FILE *)1, *in = (FILE *)1, *err = (FILE *)1;
    int which, bufsize, r;
    size_t len;
    bool good;

    if (size < 2)
        return;
    which = data[0] % 3;
    bufsize = bufsize_of(data[1]);
    data += 2;
    size -= 2;
    /* An empty remainder stands for a NULL mode. */
    len = size < sizeof mode - 1 ? size : sizeof mode - 1;
    memcpy(mode, data, len);
    mode[len] = '\0';
    m = size ? mode : NULL;
    good = !m || !strcmp(m, "t") || !strcmp(m, "b");
    errno = 0;
    if (which == 0)
        r = popen2_popen2v(argv, bufsize, m, &out, &in);
    else if (which == 1)
        r = popen2_popen3v(argv, bufsize, m, &out, &in, &err);
    else
        r = popen2_popen4v(argv, bufsize, m, &out, &in);
    if (!good) {
        CHECK(r == -1 && errno == EINVAL);
        CHECK(out == (FILE *)1 && in == (FILE *)1 && err == (FILE *)1);
        return;
    }
    CHECK(r == 0);
    CHECK(fgetc(out) == EOF); /* the child writes nothing */
    fclose(in);
    if (which == 1) {
        CHECK(fgetc(err) == EOF);
        fclose(err);
    }
    fclose(out); /* the last fclose frees the object */
}

static void fuzz_argv(const uint8_t *data, size_t size)
{
    char *argv[MAX_ARGS + 3];
    char *copy, *p, *end, *expect, *got;
    size_t argc = 0, i, glen, elen = 0;
    popen2_proc *proc;
    int st, merged;

    if (size < 1)
        return;
    merged = data[0] & 1;
    data++;
    size--;
    /* NUL separates the arguments; each may hold any other byte. */
    copy = malloc(size + 1);
    CHECK(copy);
    memcpy(copy, data, size);
    copy[size] = '\0';
    argv[argc++] = TEST_CHILD;
    argv[argc++] = "argv";
    for (p = copy, end = copy + size; argc < MAX_ARGS + 2; p += strlen(p) + 1) {
        argv[argc++] = p;
        if (p + strlen(p) >= end)
            break;
    }
    argv[argc] = NULL;
    /* What the child must print: "LEN:BYTES\n" per argument. */
    expect = malloc(size + 32 * MAX_ARGS + 1);
    CHECK(expect);
    for (i = 2; i < argc; i++) {
        elen += (size_t)sprintf(expect + elen, "%zu:", strlen(argv[i]));
        memcpy(expect + elen, argv[i], strlen(argv[i]));
        elen += strlen(argv[i]);
        expect[elen++] = '\n';
    }
    proc = merged ? popen2_Popen4v(argv, -1) : popen2_Popen3v(argv, 1, -1);
    CHECK(proc);
    got = malloc(elen + 2);
    CHECK(got);
    glen = fread(got, 1, elen + 1, popen2_fromchild(proc));
    CHECK(glen == elen && memcmp(got, expect, elen) == 0);
    st = popen2_wait(proc);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    popen2_free(proc);
    free(got);
    free(expect);
    free(copy);
}

static void fuzz_bad_program(const uint8_t *data, size_t size)
{
    char name[256] = "/nonexistent-popen2-fuzz/";
    char *argv[] = {name, "x", NULL};
    char *null_argv0[] = {NULL};
    char empty[] = "";
    char *empty_argv[] = {empty, NULL};
    size_t len = strlen(name), i;
    popen2_proc *p;

    if (size < 1)
        return;
    switch (data[0] % 4) {
    case 0:
        errno = 0;
        CHECK(!popen2_Popen3v(NULL, data[0] & 4, -1) && errno == EINVAL);
        break;
    case 1:
        errno = 0;
        CHECK(!popen2_Popen4v(null_argv0, -1) && errno == EINVAL);
        break;
    case 2:
        errno = 0;
        p = popen2_Popen3v(empty_argv, 0, -1);
        CHECK(!p && errno == ENOENT);
        break;
    default:
        /* Any name below a directory that does not exist; a slash in the
         * name means no PATH search. */
        for (i = 1; i < size && len < sizeof name - 1; i++)
            if (data[i])
                name[len++] = (char)data[i];
        name[len] = '\0';
        errno = 0;
        p = popen2_Popen3v(argv, 0, -1);
        if (getenv("POPEN2_UNDER_VALGRIND") && p) {
            /* valgrind: exec errors show as exit 127 instead. */
            popen2_free(p);
            break;
        }
        CHECK(!p && (errno == ENOENT || errno == ENAMETOOLONG || errno == ENOTDIR));
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 3) {
    case 0:
        fuzz_mode(data + 1, size - 1);
        break;
    case 1:
        fuzz_argv(data + 1, size - 1);
        break;
    default:
        fuzz_bad_program(data + 1, size - 1);
        break;
    }
    /* Module objects freed with a running child sit on the active list. */
    popen2_cleanup();
    return 0;
}
