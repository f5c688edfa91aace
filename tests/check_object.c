/* check_object: the Popen3 / Popen4 objects through the public API: Python's
 * own test cases, poll and wait, creation errors, argument passing, reading
 * after the child is gone, popen2_free, and interactive use. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common.h"
#include "runner.h"
#include "children.h"
#include "popen2.h"

/* Python's test_popen2 writes this to `cat` and expects it back. */
static const char teststr[] = "ab cd\n";

/* Python's validate_output: write teststr, close stdin, read everything
 * back; stderr (when captured) must stay empty.  p must exist and have a
 * childerr exactly when it captures stderr; frees p. */
static void validate_cat(popen2_proc *p, bool captures_stderr)
{
    char *out, *err;
    size_t n;
    int st;

    ck_assert_ptr_nonnull(p);
    if (captures_stderr)
        ck_assert_ptr_nonnull(popen2_childerr(p));
    else
        ck_assert_ptr_null(popen2_childerr(p));

    ck_assert_ptr_nonnull(popen2_tochild(p));
    ck_assert_ptr_nonnull(popen2_fromchild(p));
    ck_assert_int_ge(fputs(teststr, popen2_tochild(p)), 0);
    ck_assert_int_eq(fclose(popen2_tochild(p)), 0);
    ck_assert_ptr_null(popen2_tochild(p));
    out = read_all(popen2_fromchild(p), &n);
    ck_assert_ptr_nonnull(out);
    ck_assert_str_eq(out, teststr);
    free(out);
    if (popen2_childerr(p)) {
        err = read_all(popen2_childerr(p), &n);
        ck_assert_ptr_nonnull(err);
        ck_assert_msg(n == 0, "unexpected %s on stderr", err);
        free(err);
    }
    st = popen2_wait(p);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    popen2_free(p);
}

/* Checked fixture of every tcase: lets children that earlier tests left on
 * the active list end and be reaped, and their detached writer threads end
 * (each frees its object's last descriptors), so the counts a test takes
 * stay put.  This matters with CK_FORK=no, where all tests share one
 * process; the test program itself runs no thread but main. */
static void settle(void)
{
    ck_assert(EVENTUALLY((popen2_cleanup(), popen2_active() == 0), 10));
    ck_assert(EVENTUALLY(count_threads() == 1, 10));
}

/* ---- Python's cases ----------------------------------------------------- */

START_TEST(test_popen3_cat_capture)
{
    validate_cat(popen2_Popen3("cat", 1, -1), true);
}
END_TEST

START_TEST(test_popen3_cat_nocapture)
{
    validate_cat(popen2_Popen3("cat", 0, -1), false);
}
END_TEST

START_TEST(test_popen3v_cat)
{
    validate_cat(popen2_Popen3v((char *const[]){"cat", NULL}, 1, -1), true);
    validate_cat(popen2_Popen3v((char *const[]){"cat", NULL}, 0, -1), false);
}
END_TEST

START_TEST(test_popen4_cat)
{
    validate_cat(popen2_Popen4("cat", -1), false);
    validate_cat(popen2_Popen4v((char *const[]){"cat", NULL}, -1), false);
}
END_TEST

/* Popen4: stdout and stderr arrive through fromchild in the order written. */
START_TEST(test_popen4_merges_in_order)
{
    expect_stdout_then_exit_0(
        popen2_Popen4("echo out1; echo err1 >&2; echo out2; echo err2 >&2", -1),
        "out1\nerr1\nout2\nerr2\n");
}
END_TEST

/* `both` alternates 4 KiB pieces of two patterns on stdout and stderr: the
 * merged stream must hold them strictly alternating, every byte in place. */
START_TEST(test_popen4v_merges_in_order)
{
    enum { TOTAL = 256 * 1024, PIECE = 4096 };
    popen2_proc *p = popen2_Popen4v(CHILD("both", "262144", "31", "32"), -1);
    unsigned char *buf;
    size_t n, off;

    ck_assert_ptr_nonnull(p);
    buf = (unsigned char *)read_all(popen2_fromchild(p), &n);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(n, 2 * TOTAL);
    for (off = 0; off < TOTAL; off += PIECE) {
        ck_assert_uint_eq(pattern_check(buf + 2 * off, PIECE, 31, off), PIECE);
        ck_assert_uint_eq(pattern_check(buf + 2 * off + PIECE, PIECE, 32, off), PIECE);
    }
    free(buf);
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
}
END_TEST

/* ---- poll and wait ------------------------------------------------------ */

START_TEST(test_poll_running_then_status)
{
    popen2_proc *p = popen2_Popen3v(CHILD("sleep", "300"), 0, -1);
    int st;

    ck_assert_ptr_nonnull(p);
    ck_assert_int_gt(popen2_pid(p), 0);
    ck_assert_int_eq(popen2_poll(p), -1);
    ck_assert_int_eq(popen2_poll(p), -1);
    ck_assert(EVENTUALLY(popen2_poll(p) != -1, 10));
    st = popen2_poll(p);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    /* Known once, the same on every later call, from poll and wait. */
    ck_assert_int_eq(popen2_poll(p), st);
    ck_assert_int_eq(popen2_poll(p), st);
    ck_assert_int_eq(popen2_wait(p), st);
    popen2_free(p);
}
END_TEST

START_TEST(test_poll_exit_code)
{
    popen2_proc *p = popen2_Popen3v(CHILD("exit", "3"), 0, -1);
    int st;

    ck_assert_ptr_nonnull(p);
    ck_assert(EVENTUALLY((st = popen2_poll(p)) != -1, 10));
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 3);
    ck_assert_int_eq(popen2_wait(p), st);
    ck_assert_int_eq(popen2_poll(p), st);
    popen2_free(p);
}
END_TEST

/* Waits for p, expects wait and poll to give the same status again after,
 * frees p and returns the status. */
static int wait_settled(popen2_proc *p)
{
    int st;

    ck_assert_ptr_nonnull(p);
    st = popen2_wait(p);
    ck_assert_int_eq(popen2_wait(p), st);
    ck_assert_int_eq(popen2_poll(p), st);
    popen2_free(p);
    return st;
}

/* wait_settled(p), expecting an exit with code. */
static void expect_exited(popen2_proc *p, int code)
{
    int st = wait_settled(p);

    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), code);
}

static const int exit_codes[] = {0, 3, 255};

START_TEST(test_wait_exit_codes)
{
    char code[16];

    snprintf(code, sizeof code, "%d", exit_codes[_i]);
    expect_exited(popen2_Popen3v(CHILD("exit", code), 0, -1), exit_codes[_i]);
    /* The same through the shell. */
    snprintf(code, sizeof code, "exit %d", exit_codes[_i]);
    expect_exited(popen2_Popen3(code, 0, -1), exit_codes[_i]);
}
END_TEST

static const int death_signals[] = {SIGTERM, SIGKILL};

START_TEST(test_wait_signaled)
{
    char sig[8];
    int st;

    snprintf(sig, sizeof sig, "%d", death_signals[_i]);
    st = wait_settled(popen2_Popen3v(CHILD("raise", sig), 0, -1));
    ck_assert(WIFSIGNALED(st));
    ck_assert_int_eq(WTERMSIG(st), death_signals[_i]);
}
END_TEST

/* wait() says ECHILD only when someone else reaped the child. */
START_TEST(test_wait_echild_when_reaped_behind_back)
{
    popen2_proc *p = popen2_Popen3v(CHILD("exit", "7"), 0, -1);
    pid_t pid;
    int st;

    ck_assert_ptr_nonnull(p);
    pid = popen2_pid(p);
    ck_assert_int_gt(pid, 0);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 7);
    errno = 0;
    ck_assert_int_eq(popen2_wait(p), -1);
    ck_assert_int_eq(errno, ECHILD);
    /* poll cannot know either: like Python's, it keeps saying "running". */
    ck_assert_int_eq(popen2_poll(p), -1);
    popen2_free(p);
}
END_TEST

START_TEST(test_null_object)
{
    errno = 0;
    ck_assert_int_eq(popen2_wait(NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(popen2_poll(NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(popen2_pid(NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_ptr_null(popen2_fromchild(NULL));
    ck_assert_ptr_null(popen2_tochild(NULL));
    ck_assert_ptr_null(popen2_childerr(NULL));
    popen2_free(NULL); /* a no-op */
}
END_TEST

/* ---- creation errors ---------------------------------------------------- */

#define ASSERT_FAILS(expr, err)                                                                    \
    do {                                                                                           \
        errno = 0;                                                                                 \
        ck_assert_ptr_null(expr);                                                                  \
        ck_assert_msg(errno == (err), "%s: errno %d (%s), wanted %d", #expr, errno,                \
                      strerror(errno), (err));                                                     \
    } while (0)

START_TEST(test_einval)
{
    int fds = count_fds(), kids = count_children();

    ASSERT_FAILS(popen2_Popen3(NULL, 1, -1), EINVAL);
    ASSERT_FAILS(popen2_Popen3("", 1, -1), EINVAL);
    ASSERT_FAILS(popen2_Popen4(NULL, -1), EINVAL);
    ASSERT_FAILS(popen2_Popen4("", -1), EINVAL);
    ASSERT_FAILS(popen2_Popen3v(NULL, 1, -1), EINVAL);
    ASSERT_FAILS(popen2_Popen3v((char *const[]){NULL}, 1, -1), EINVAL);
    ASSERT_FAILS(popen2_Popen4v(NULL, -1), EINVAL);
    ASSERT_FAILS(popen2_Popen4v((char *const[]){NULL}, -1), EINVAL);
    ck_assert_int_eq(count_fds(), fds);
    ck_assert_int_eq(count_children(), kids);
}
END_TEST

/* A `v` form that cannot exec fails synchronously and leaves nothing. */
static void assert_exec_fails(char *const argv[], int err)
{
    int fds, kids, threads;

    fds = count_fds();
    kids = count_children();
    threads = count_threads();

    ASSERT_FAILS(popen2_Popen3v(argv, 1, -1), err);
    ASSERT_FAILS(popen2_Popen3v(argv, 0, 0), err);
    ASSERT_FAILS(popen2_Popen4v(argv, 1), err);
    ck_assert_int_eq(count_children(), kids);
    ck_assert_int_eq(count_fds(), fds);
    ck_assert_int_eq(count_threads(), threads);
}

#define SKIP_UNDER_VALGRIND()                                                                      \
    do {                                                                                           \
        if (under_valgrind()) {                                                                    \
            fprintf(stderr, "%s: skipped under valgrind (exec errors arrive as exit 127)\n",       \
                    __func__);                                                                     \
            return;                                                                                \
        }                                                                                          \
    } while (0)

START_TEST(test_enoent)
{
    SKIP_UNDER_VALGRIND();
    assert_exec_fails((char *const[]){"/nonexistent/popen2-no-such-program", NULL}, ENOENT);
    /* Looked up in PATH, found nowhere. */
    assert_exec_fails((char *const[]){"popen2-no-such-program-xyz", "arg", NULL}, ENOENT);
}
END_TEST

/* Makes a temporary file with the given contents and mode; returns its
 * path in buf (closed, so exec does not see ETXTBSY). */
static void make_temp(char *buf, size_t size, const char *contents, mode_t mode)
{
    int fd;

    snprintf(buf, size, "/tmp/popen2-check-proc-XXXXXX");
    fd = mkstemp(buf);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, contents, strlen(contents)), (ssize_t)strlen(contents));
    ck_assert_int_eq(fchmod(fd, mode), 0);
    ck_assert_int_eq(close(fd), 0);
}

/* A text file without #! is not a valid executable: execvp would hand it
 * to /bin/sh, the `v` forms must not. */
START_TEST(test_enoexec_no_shell_retry)
{
    char path[64], marker[80], script[160];

    SKIP_UNDER_VALGRIND();
    make_temp(path, sizeof path, "echo hi\n", 0755);
    assert_exec_fails((char *const[]){path, NULL}, ENOEXEC);
    unlink(path);

    /* Had a shell run it, the marker file would exist. */
    snprintf(marker, sizeof marker, "/tmp/popen2-check-proc-marker-%d", (int)getpid());
    unlink(marker);
    snprintf(script, sizeof script, "echo hi\n: > %s\n", marker);
    make_temp(path, sizeof path, script, 0755);
    assert_exec_fails((char *const[]){path, NULL}, ENOEXEC);
    unlink(path);
    sleep_ms(50);
    ck_assert_int_eq(access(marker, F_OK), -1);
}
END_TEST

/* Without any execute bit even root gets EACCES. */
START_TEST(test_eacces)
{
    char path[64];

    SKIP_UNDER_VALGRIND();
    make_temp(path, sizeof path, "#!/bin/sh\necho hi\n", 0644);
    assert_exec_fails((char *const[]){path, NULL}, EACCES);
    unlink(path);
}
END_TEST

/* A missing command in the string form is the shell's business: 127. */
START_TEST(test_shell_127)
{
    popen2_proc *p = popen2_Popen3("popen2-no-such-command-xyz", 1, -1);
    char *err;
    int st;

    ck_assert_ptr_nonnull(p);
    st = popen2_wait(p);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 127);
    err = read_all(popen2_childerr(p), NULL);
    ck_assert_ptr_nonnull(strstr(err, "not found"));
    free(err);
    popen2_free(p);
}
END_TEST

/* ---- arguments ---------------------------------------------------------- */

START_TEST(test_argv_byte_for_byte)
{
    static char *const args[] = {"a b",
                                 "\"double\" 'single'",
                                 "$HOME $(id) `id`",
                                 "back\\slash\\",
                                 "new\nline\n",
                                 "\xff\xfe non-UTF-8 \x80",
                                 "",
                                 "*?[x]",
                                 ";|&<>"};
    char *argv[2 + sizeof args / sizeof args[0] + 1];
    char expect[1024], *out;
    size_t i, n, len = 0;
    popen2_proc *p;

    argv[0] = TEST_CHILD;
    argv[1] = "argv";
    for (i = 0; i < sizeof args / sizeof args[0]; i++) {
        argv[2 + i] = args[i];
        len += (size_t)snprintf(expect + len, sizeof expect - len, "%zu:%s\n", strlen(args[i]),
                                args[i]);
    }
    argv[2 + i] = NULL;
    p = popen2_Popen3v(argv, 1, -1);
    ck_assert_ptr_nonnull(p);
    out = read_all(popen2_fromchild(p), &n);
    ck_assert_uint_eq(n, len);
    ck_assert(memcmp(out, expect, len) == 0);
    free(out);
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
}
END_TEST

/* ---- reading after the child is gone ------------------------------------ */

/* wait() first: the child must be able to write 4 MiB on each stream with
 * nobody reading, and every byte is still there afterwards. */
START_TEST(test_wait_before_read)
{
    popen2_proc *p = popen2_Popen3v(CHILD("both", "4194304", "11", "12"), 1, -1);
    int st;

    ck_assert_ptr_nonnull(p);
    st = popen2_wait(p);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    ck_assert_uint_eq(read_pattern(popen2_fromchild(p), 11, 65536), 4194304);
    ck_assert_uint_eq(read_pattern(popen2_childerr(p), 12, 65536), 4194304);
    popen2_free(p);
}
END_TEST

START_TEST(test_read_after_reaped)
{
    popen2_proc *p = popen2_Popen3v(CHILD("pattern", "1", "100000", "5"), 0, -1);

    ck_assert_ptr_nonnull(p);
    ck_assert(EVENTUALLY(popen2_poll(p) != -1, 10));
    ck_assert_int_eq(popen2_poll(p), 0);
    sleep_ms(50);
    ck_assert_uint_eq(read_pattern(popen2_fromchild(p), 5, 1000), 100000);
    /* EOF stays EOF. */
    ck_assert_int_eq(fgetc(popen2_fromchild(p)), EOF);
    popen2_free(p);
}
END_TEST

/* ---- popen2_free -------------------------------------------------------- */

START_TEST(test_free_while_child_writes)
{
    int kids = count_children();
    popen2_proc *p = popen2_Popen3v(CHILD("yes"), 1, -1);
    char line[8];
    double t0, took;

    ck_assert_ptr_nonnull(p);
    /* Make sure it is writing. */
    ck_assert_ptr_nonnull(fgets(line, sizeof line, popen2_fromchild(p)));
    ck_assert_str_eq(line, "y\n");
    t0 = now_s();
    popen2_free(p);
    took = now_s() - t0;
    /* A generous timeout, not a speed: `yes` never ends by itself. */
    ck_assert_msg(took < (under_valgrind() ? 30.0 : 10.0), "popen2_free took %.3f s", took);
    /* Closing fromchild gave the child EPIPE; it ends and is cleaned up. */
    ck_assert(EVENTUALLY((popen2_cleanup(), count_children() == kids), 10));
}
END_TEST

/* Streams the caller fcloses are not closed again by popen2_free (valgrind
 * would see the double fclose; glibc would likely abort). */
START_TEST(test_fclose_then_free)
{
    int fds = count_fds();
    popen2_proc *p = popen2_Popen3v(CHILD("cat"), 1, -1);

    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(fclose(popen2_fromchild(p)), 0);
    ck_assert_ptr_null(popen2_fromchild(p));
    ck_assert_int_eq(fclose(popen2_childerr(p)), 0);
    ck_assert_ptr_null(popen2_childerr(p));
    ck_assert_int_eq(fclose(popen2_tochild(p)), 0);
    ck_assert_ptr_null(popen2_tochild(p));
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
    ck_assert(EVENTUALLY(count_fds() == fds, 5));

    /* Some closed, some left to popen2_free. */
    p = popen2_Popen3v(CHILD("cat"), 1, -1);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(fclose(popen2_tochild(p)), 0);
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
    ck_assert(EVENTUALLY(count_fds() == fds, 5));
}
END_TEST

/* ---- interactive use ---------------------------------------------------- */

static const int interactive_bufsizes[] = {0, 1};

/* With bufsize 0 or 1 a line written without fflush reaches the child, and
 * fgets returns the answer without waiting for more.  A missing flush
 * blocks fgets forever, which the tcase timeout turns into a failure. */
START_TEST(test_interactive_echo)
{
    popen2_proc *p = popen2_Popen3v(CHILD("echo"), 0, interactive_bufsizes[_i]);
    char line[64], want[64];
    int i;

    ck_assert_ptr_nonnull(p);
    for (i = 0; i < 20; i++) {
        snprintf(want, sizeof want, "question %d\n", i);
        ck_assert_int_ge(fputs(want, popen2_tochild(p)), 0);
        ck_assert_ptr_nonnull(fgets(line, sizeof line, popen2_fromchild(p)));
        ck_assert_str_eq(line, want);
    }
    ck_assert_int_eq(fclose(popen2_tochild(p)), 0);
    ck_assert_ptr_null(fgets(line, sizeof line, popen2_fromchild(p)));
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
}
END_TEST

/* The same through the shell's own `read`/`echo` loop. */
START_TEST(test_interactive_shell)
{
    popen2_proc *p =
        popen2_Popen3("while read -r l; do echo \"got $l\"; done", 0, interactive_bufsizes[_i]);
    char line[64];

    ck_assert_ptr_nonnull(p);
    ck_assert_int_ge(fputs("one\n", popen2_tochild(p)), 0);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, popen2_fromchild(p)));
    ck_assert_str_eq(line, "got one\n");
    ck_assert_int_ge(fprintf(popen2_tochild(p), "%s\n", "two"), 0);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, popen2_fromchild(p)));
    ck_assert_str_eq(line, "got two\n");
    popen2_free(p); /* stdin gets EOF, the loop ends */
}
END_TEST

static const struct test_case cases[] = {
    TEST(python, test_popen3_cat_capture),
    TEST(python, test_popen3_cat_nocapture),
    TEST(python, test_popen3v_cat),
    TEST(python, test_popen4_cat),
    TEST(python, test_popen4_merges_in_order),
    TEST(python, test_popen4v_merges_in_order),
    TEST(poll_wait, test_poll_running_then_status),
    TEST(poll_wait, test_poll_exit_code),
    TEST_LOOP(poll_wait, test_wait_exit_codes, 0, 3),
    TEST_LOOP(poll_wait, test_wait_signaled, 0, 2),
    TEST(poll_wait, test_wait_echild_when_reaped_behind_back),
    TEST(poll_wait, test_null_object),
    TEST(errors, test_einval),
    TEST(errors, test_enoent),
    TEST(errors, test_enoexec_no_shell_retry),
    TEST(errors, test_eacces),
    TEST(errors, test_shell_127),
    TEST(argv, test_argv_byte_for_byte),
    TEST_T(after_exit, test_wait_before_read, 30),
    TEST_T(after_exit, test_read_after_reaped, 30),
    TEST(free, test_free_while_child_writes),
    TEST(free, test_fclose_then_free),
    TEST_WITH(interactive, test_interactive_echo, .start = 0, .end = 2, .timeout = 10),
    TEST_WITH(interactive, test_interactive_shell, .start = 0, .end = 2, .timeout = 10),
};

TEST_MAIN("object", cases, .timeout = 20, .setup = settle)
