/* tests/lines.h: what the tests of popen2_getline share: a shell child,
 * the byte that lets it go on, the next line expected, a long line. */
#ifndef POPEN2_TESTS_LINES_H
#define POPEN2_TESTS_LINES_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "popen2.h"

#define MIB (1024 * 1024)

/* cmd by the shell, stdin and stdout piped (stderr too with capturestderr). */
static inline popen2_proc *sh(const char *cmd, int capturestderr)
{
    popen2_proc *p = popen2_Popen3(cmd, capturestderr, -1);

    ck_assert_ptr_nonnull(p);
    return p;
}

/* One byte to the child, which waits for it before its next step. */
static inline void go_on(popen2_proc *p)
{
    FILE *in = popen2_tochild(p);

    ck_assert_int_ne(fputc('\n', in), EOF);
    ck_assert_int_eq(fflush(in), 0);
}

/* The next line of stdout is `want` ("" for the end). */
static inline void expect_line(popen2_proc *p, char **line, size_t *cap, int timeout_ms,
                               const char *want)
{
    ck_assert_int_eq(popen2_getline(p, 1, line, cap, timeout_ms), (ssize_t)strlen(want));
    if (*want)
        ck_assert_str_eq(*line, want);
}

/* The child ended with 0; nothing is left. */
static inline void finish(popen2_proc *p, char *line)
{
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
    free(line);
}

/* The child wrote n bytes c, '\n', then "tail\n"; reads them, waits for it. */
static inline void expect_long_line(popen2_proc *p, size_t n, char c)
{
    char *line = NULL;
    size_t cap = 0, i;

    ck_assert_int_eq(popen2_getline(p, 1, &line, &cap, -1), (ssize_t)n + 1);
    ck_assert_uint_gt(cap, n + 1 - 1);
    for (i = 0; i < n && line[i] == c; i++)
        ;
    ck_assert_uint_eq(i, n);
    ck_assert_int_eq(line[n], '\n');
    ck_assert_int_eq(line[n + 1], '\0');
    expect_line(p, &line, &cap, -1, "tail\n");
    expect_line(p, &line, &cap, -1, "");
    finish(p, line);
}

#endif
