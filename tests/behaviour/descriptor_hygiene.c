/* descriptor_hygiene: no descriptor leaks, in either direction.
 *
 * - The child has only 0, 1 and 2, even when the parent holds inheritable
 *   descriptors and other objects' pipes.
 * - One object's pipe end never leaks into another's child, so closing A's
 *   tochild gives A EOF even after B was spawned.
 * - Objects created, used and freed (including failed spawns and module
 *   objects) leave no descriptor, thread or child behind.
 * - A parent that closed its own standard descriptors can still spawn.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>

#include "baseline.h"
#include "common.h"
#include "runner.h"
#include "children.h"
#include "popen2.h"

/* Closes tochild, reads fromchild to EOF, waits; returns the output. */
static char *finish(popen2_proc *p, int *status)
{
    char *text;

    fclose(popen2_tochild(p));
    text = read_all(popen2_fromchild(p), NULL);
    *status = popen2_wait(p);
    return text;
}

/* finish(p), expecting exit 0 and the output want; frees p. */
static void finish_expect(popen2_proc *p, const char *want)
{
    int st;
    char *text = finish(p, &st);

    ck_assert_str_eq(text, want);
    ck_assert_int_eq(st, 0);
    free(text);
    popen2_free(p);
}

/* ---- the child has 0, 1, 2 only ------------------------------------------ */

static void assert_only_std_fds(popen2_proc *p, const char *what)
{
    char *text;
    int st;

    ck_assert_msg(p != NULL, "%s: %s", what, strerror(errno));
    text = finish(p, &st);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: status %#x", what, st);
    ck_assert_msg(text && strcmp(text, "0\n1\n2\n") == 0, "%s: child's descriptors:\n%s", what,
                  text);
    free(text);
    popen2_free(p);
}

START_TEST(child_has_only_std_fds)
{
    struct baseline b = baseline();
    int leaky = open("/dev/null", O_RDONLY); /* no O_CLOEXEC on purpose */
    int high, pfd[2];
    popen2_proc *other3, *other4;

    ck_assert_int_ge(leaky, 0);
    high = fcntl(leaky, F_DUPFD, 100);
    ck_assert_int_ge(high, 100);
    ck_assert_int_eq(pipe(pfd), 0);
    ck_assert_int_eq(fcntl(leaky, F_GETFD) & FD_CLOEXEC, 0);
    /* Other objects alive, with their pipes and threads. */
    other3 = child3(1, "cat", NULL);
    other4 = child4("cat", NULL);
    ck_assert(other3 && other4);
    fputs("still here\n", popen2_tochild(other3));

    assert_only_std_fds(child3(1, "fds", NULL), "Popen3v capturestderr");
    assert_only_std_fds(child3(0, "fds", NULL), "Popen3v");
    assert_only_std_fds(child4("fds", NULL), "Popen4v");
    assert_only_std_fds(popen2_Popen3("exec " TEST_CHILD " fds", 1, -1), "Popen3");
    assert_only_std_fds(popen2_Popen4("exec " TEST_CHILD " fds", 0), "Popen4");

    /* The other objects were not disturbed. */
    finish_expect(other3, "still here\n");
    popen2_free(other4);
    close(leaky);
    close(high);
    close(pfd[0]);
    close(pfd[1]);
    assert_back_to(b);
}
END_TEST

/* ---- A's EOF does not depend on B ----------------------------------------- */

START_TEST(closing_tochild_gives_eof_after_another_spawn)
{
    struct baseline b = baseline();
    unsigned char buf[100000];
    popen2_proc *a, *bs[4];
    size_t i;
    int st;

    pattern_fill(buf, sizeof buf, 7, 0);
    a = child3(1, "count", NULL);
    ck_assert_ptr_nonnull(a);
    ck_assert_uint_eq(fwrite(buf, 1, sizeof buf, popen2_tochild(a)), sizeof buf);
    /* Spawned while A's stdin pipe is open in this process. */
    bs[0] = child3(1, "cat", NULL);
    bs[1] = child4("cat", NULL);
    bs[2] = popen2_Popen3("cat", 0, -1);
    bs[3] = child3(0, "sleep", "300000");
    for (i = 0; i < 4; i++)
        ck_assert_ptr_nonnull(bs[i]);
    ck_assert_uint_eq(fwrite(buf, 1, sizeof buf, popen2_tochild(a)), sizeof buf);

    finish_expect(a, "200000\n"); /* would hang if a B held A's write end */

    for (i = 0; i < 4; i++)
        ck_assert_msg(popen2_poll(bs[i]) == -1, "B %zu is not running", i);
    /* And the Bs still work, each its own way. */
    for (i = 0; i < 3; i++) {
        fputs("b\n", popen2_tochild(bs[i]));
        finish_expect(bs[i], "b\n");
    }
    ck_assert_int_eq(kill(popen2_pid(bs[3]), SIGKILL), 0);
    st = popen2_wait(bs[3]);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    popen2_free(bs[3]);
    assert_back_to(b);
}
END_TEST

/* ---- nothing left behind ------------------------------------------------- */

/* 200 objects of every shape: half of them finished and waited for, half
 * freed while the child may still run (they go to the active list). */
START_TEST(fds_back_to_baseline_after_200_objects)
{
    struct baseline b = baseline();
    unsigned char buf[3000];
    int i, st;

    for (i = 0; i < 200; i++) {
        popen2_proc *p;
        size_t n = 1 + (size_t)i * 13 % sizeof buf;

        switch (i % 4) {
        case 0:
        case 1:
        case 2:
            p = cat_of_shape(i % 4);
            break;
        default:
            p = popen2_Popen3("exec " TEST_CHILD " cat", 1, i % 3 - 1);
            break;
        }
        ck_assert_msg(p != NULL, "object %d: %s", i, strerror(errno));
        pattern_fill(buf, n, (unsigned)i, 0);
        ck_assert_uint_eq(fwrite(buf, 1, n, popen2_tochild(p)), n);
        if (i % 2 == 0) {
            fclose(popen2_tochild(p));
            ck_assert_uint_eq(read_pattern(popen2_fromchild(p), (unsigned)i, 1000), n);
            st = popen2_wait(p);
            ck_assert_int_eq(st, 0);
        }
        popen2_free(p);
    }
    assert_back_to(b);
}
END_TEST

/* A stream that has moved 1 MiB reads through a relay pipe of its own (two
 * descriptors more); they go with the object, whether it was read to the
 * end or freed with bytes still on their way. */
START_TEST(bulk_streams_relays_go_with_the_object)
{
    struct baseline b = baseline();
    unsigned char *buf = malloc(1 << 20);
    int i;

    ck_assert_ptr_nonnull(buf);
    for (i = 0; i < 2; i++) {
        popen2_proc *p = popen2_Popen3("exec " TEST_CHILD " both 8388608 3 4", 1, -1);

        ck_assert_ptr_nonnull(p);
        if (i == 0) {
            ck_assert_uint_eq(read_pattern(popen2_fromchild(p), 3, 1 << 20), 8u << 20);
            ck_assert_uint_eq(read_pattern(popen2_childerr(p), 4, 1 << 20), 8u << 20);
            ck_assert_int_eq(popen2_wait(p), 0);
        } else {
            ck_assert_uint_eq(fread(buf, 1, 1 << 20, popen2_fromchild(p)), 1u << 20);
            ck_assert_uint_eq(fread(buf, 1, 1 << 20, popen2_fromchild(p)), 1u << 20);
            ck_assert_uint_eq(fread(buf, 1, 1 << 20, popen2_childerr(p)), 1u << 20);
        }
        popen2_free(p);
    }
    free(buf);
    assert_back_to(b);
}
END_TEST

/* Every way a `v` form can fail to exec: NULL with ENOENT, out-parameters
 * untouched, and nothing left. */
START_TEST(failed_spawns_leave_nothing)
{
    struct baseline b = baseline();
    char *abs[] = {"/nonexistent/popen2-test/no-such-program", "arg", NULL};
    char *path[] = {"popen2-test-no-such-program", NULL};
    FILE *const sentinel = (FILE *)&b;
    /* ThreadSanitizer's handling of fork makes a spawn cost about 20 ms
     * there (0.45 ms in a plain build): fewer rounds keep the test inside
     * its timeout on a loaded machine. */
    int i, n = under_valgrind() ? 64 : POPEN2_TEST_TSAN ? 128 : 1024, r = 0;

    for (i = 0; i < n; i++) {
        char **argv = i % 2 ? abs : path;
        FILE *o = sentinel, *in = sentinel, *e = sentinel;
        popen2_proc *p = NULL;

        errno = 0;
        switch (i % 6) {
        case 0:
            p = popen2_Popen3v(argv, 1, -1);
            break;
        case 1:
            p = popen2_Popen3v(argv, 0, 0);
            break;
        case 2:
            p = popen2_Popen4v(argv, 1);
            break;
        case 3:
            r = popen2_popen2v(argv, -1, NULL, &o, &in);
            break;
        case 4:
            r = popen2_popen3v(argv, -1, "t", &o, &in, &e);
            break;
        default:
            r = popen2_popen4v(argv, -1, "b", &o, &in);
            break;
        }
        if (under_valgrind()) {
            /* The exec error arrives as exit status 127 instead. */
            if (p) {
                popen2_wait(p);
                popen2_free(p);
            } else if (i % 6 >= 3 && r == 0) {
                fclose(in);
                fclose(o);
                if (e != sentinel)
                    fclose(e);
            }
            continue;
        }
        if (i % 6 < 3) {
            ck_assert_msg(p == NULL, "spawn %d of a missing program succeeded", i);
        } else {
            ck_assert_msg(r == -1, "spawn %d of a missing program succeeded", i);
            ck_assert(o == sentinel && in == sentinel && e == sentinel);
        }
        ck_assert_msg(errno == ENOENT, "spawn %d: %s", i, strerror(errno));
    }
    assert_back_to(b);
}
END_TEST

/* ---- a parent without its standard descriptors --------------------------- */

/* Runs `cat` through an object while fds 0..nclosed-1 of this process are
 * closed; restores them before asserting, so Check can still report. */
static void spawn_with_std_closed(int nclosed)
{
    static const char line[] = "through a closed stdin\n";
    int saved[3], i, st = -1, st4 = -1;
    char *echo = NULL, *fds = NULL, *err = NULL;
    popen2_proc *p, *q = NULL;
    int fail_errno = 0;

    for (i = 0; i < nclosed; i++) {
        saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 10);
        ck_assert_int_ge(saved[i], 10);
    }
    for (i = 0; i < nclosed; i++)
        close(i);

    p = child3(1, "cat", NULL);
    if (p) {
        fputs(line, popen2_tochild(p));
        echo = finish(p, &st);
        err = read_all(popen2_childerr(p), NULL);
        popen2_free(p);
        q = child4("fds", NULL);
        if (q) {
            fds = finish(q, &st4);
            popen2_free(q);
        }
    }
    if (!p || !q)
        fail_errno = errno;

    for (i = 0; i < nclosed; i++) {
        dup2(saved[i], i);
        close(saved[i]);
    }
    ck_assert_msg(p != NULL && q != NULL, "spawn with fds 0..%d closed: %s", nclosed - 1,
                  strerror(fail_errno));
    ck_assert_int_eq(st, 0);
    ck_assert_str_eq(echo, line);
    ck_assert_str_eq(err, "");
    ck_assert_int_eq(st4, 0);
    ck_assert_str_eq(fds, "0\n1\n2\n");
    free(echo);
    free(err);
    free(fds);
}

START_TEST(spawn_with_stdin_closed)
{
    struct baseline b = baseline();

    spawn_with_std_closed(1);
    assert_back_to(b);
}
END_TEST

START_TEST(spawn_with_all_std_closed)
{
    struct baseline b = baseline();

    spawn_with_std_closed(3);
    assert_back_to(b);
}
END_TEST

/* ---- module functions ---------------------------------------------------- */

START_TEST(fds_back_to_baseline_after_module_objects)
{
    struct baseline b = baseline();
    char *argv[] = {TEST_CHILD, "cat", NULL};
    unsigned char buf[5000];
    int i;

    for (i = 0; i < 60; i++) {
        FILE *out, *in, *err = NULL;
        size_t n = 1 + (size_t)i * 71 % sizeof buf;
        int r;

        switch (i % 3) {
        case 0:
            r = popen2_popen3("exec " TEST_CHILD " cat", -1, NULL, &out, &in, &err);
            break;
        case 1:
            r = popen2_popen3v(argv, 0, "b", &out, &in, &err);
            break;
        default:
            r = popen2_popen4v(argv, 1, "t", &out, &in);
            break;
        }
        ck_assert_msg(r == 0, "object %d: %s", i, strerror(errno));
        pattern_fill(buf, n, (unsigned)i, 0);
        ck_assert_uint_eq(fwrite(buf, 1, n, in), n);
        /* Close in different orders: the last fclose frees the object. */
        if (i % 2) {
            fclose(in);
            ck_assert_uint_eq(read_pattern(out, (unsigned)i, 4096), n);
            if (err)
                ck_assert_uint_eq(read_pattern(err, 0, 4096), 0);
            fclose(out);
            if (err)
                fclose(err);
        } else {
            if (err)
                fclose(err);
            fclose(out);
            fclose(in);
        }
    }
    assert_back_to(b);
}
END_TEST

static const struct test_case cases[] = {
    TEST(child_side, child_has_only_std_fds),
    TEST(child_side, closing_tochild_gives_eof_after_another_spawn),
    TEST_T(no_leaks, fds_back_to_baseline_after_200_objects, 60),
    TEST_T(no_leaks, failed_spawns_leave_nothing, 60),
    TEST_T(no_leaks, bulk_streams_relays_go_with_the_object, 60),
    TEST_T(no_leaks, fds_back_to_baseline_after_module_objects, 60),
    TEST(closed_std_fds, spawn_with_stdin_closed),
    TEST(closed_std_fds, spawn_with_all_std_closed),
};

TEST_MAIN("descriptor_hygiene", cases, .timeout = 20)
