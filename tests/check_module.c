/* check_module: Python's popen2(), popen3() and popen4() functions, their
 * `v` forms, argument checking, and the _active / _cleanup behaviour of the
 * objects they leave behind once every stream is closed. */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#include "common.h"
#include "runner.h"
#include "children.h"
#include "popen2.h"

static const char teststr[] = "ab cd\n";

/* Any pointer that is not a stream and not NULL: failures must leave the
 * out-parameters holding it. */
static char sentinel_obj;
#define SENTINEL ((FILE *)&sentinel_obj)

/* Python's validate_output for the module functions: write, close stdin,
 * read the echo, stderr (if any) empty, then close everything. */
static void validate(FILE *r, FILE *w, FILE *e)
{
    char *got;
    size_t n;

    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_ge(fputs(teststr, w), 0);
    ck_assert_int_eq(fclose(w), 0);
    got = read_all(r, &n);
    ck_assert_str_eq(got, teststr);
    free(got);
    ck_assert_int_eq(fclose(r), 0);
    if (e) {
        got = read_all(e, &n);
        ck_assert_msg(n == 0, "unexpected %s on stderr", got);
        free(got);
        ck_assert_int_eq(fclose(e), 0);
    }
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

/* After a test: every child ends, cleanup reaps it, nothing stays active. */
/* Every child of this process gets sig (the module functions hand out no
 * pid). */
static void kill_one(pid_t pid, void *sig)
{
    kill(pid, *(int *)sig);
}

static void signal_children(int sig)
{
    ck_assert_int_ge(each_child_in(0, kill_one, &sig), 0);
}

static void assert_all_reaped(int kids)
{
    ck_assert(EVENTUALLY((popen2_cleanup(), count_children() == kids), 10));
    ck_assert_uint_eq(popen2_active(), 0);
}

START_TEST(test_popen2)
{
    int kids = count_children();
    FILE *r = NULL, *w = NULL;

    ck_assert_int_eq(popen2_popen2("cat", -1, NULL, &r, &w), 0);
    validate(r, w, NULL);
    ck_assert_int_eq(popen2_popen2v((char *const[]){"cat", NULL}, -1, NULL, &r, &w), 0);
    validate(r, w, NULL);
    assert_all_reaped(kids);
}
END_TEST

START_TEST(test_popen3)
{
    int kids = count_children();
    FILE *r = NULL, *w = NULL, *e = NULL;

    ck_assert_int_eq(popen2_popen3("cat", -1, NULL, &r, &w, &e), 0);
    ck_assert_ptr_nonnull(e);
    validate(r, w, e);
    ck_assert_int_eq(popen2_popen3v((char *const[]){"cat", NULL}, -1, NULL, &r, &w, &e), 0);
    ck_assert_ptr_nonnull(e);
    validate(r, w, e);
    assert_all_reaped(kids);
}
END_TEST

START_TEST(test_popen4)
{
    int kids = count_children();
    FILE *r = NULL, *w = NULL;
    char *got;

    ck_assert_int_eq(popen2_popen4("cat", -1, NULL, &r, &w), 0);
    validate(r, w, NULL);
    ck_assert_int_eq(popen2_popen4v((char *const[]){"cat", NULL}, -1, NULL, &r, &w), 0);
    validate(r, w, NULL);

    /* stdout and stderr merged in the order written. */
    ck_assert_int_eq(popen2_popen4("echo 1; echo 2 >&2; echo 3", -1, NULL, &r, &w), 0);
    got = read_all(r, NULL);
    ck_assert_str_eq(got, "1\n2\n3\n");
    free(got);
    ck_assert_int_eq(fclose(r), 0);
    ck_assert_int_eq(fclose(w), 0);
    assert_all_reaped(kids);
}
END_TEST

/* popen3's stderr is its own stream. */
START_TEST(test_popen3_separates_stderr)
{
    FILE *r, *w, *e;
    char *out, *err;

    ck_assert_int_eq(popen2_popen3("echo out; echo err >&2", 0, "t", &r, &w, &e), 0);
    out = read_all(r, NULL);
    err = read_all(e, NULL);
    ck_assert_str_eq(out, "out\n");
    ck_assert_str_eq(err, "err\n");
    free(out);
    free(err);
    fclose(r);
    fclose(w);
    fclose(e);
}
END_TEST

static const char *const good_modes[] = {NULL, "t", "b"};

START_TEST(test_good_modes)
{
    const char *mode = good_modes[_i];
    FILE *r, *w, *e;

    ck_assert_int_eq(popen2_popen2("cat", -1, mode, &r, &w), 0);
    validate(r, w, NULL);
    ck_assert_int_eq(popen2_popen3("cat", 0, mode, &r, &w, &e), 0);
    validate(r, w, e);
    ck_assert_int_eq(popen2_popen4("cat", 1, mode, &r, &w), 0);
    validate(r, w, NULL);
    ck_assert_int_eq(popen2_popen2v(CHILD("cat"), 4096, mode, &r, &w), 0);
    validate(r, w, NULL);
    ck_assert_int_eq(popen2_popen3v(CHILD("cat"), -1, mode, &r, &w, &e), 0);
    validate(r, w, e);
    ck_assert_int_eq(popen2_popen4v(CHILD("cat"), -1, mode, &r, &w), 0);
    validate(r, w, NULL);
}
END_TEST

/* Runs every module function with the given arguments and expects -1 with
 * errno err, the out-parameters untouched, and no child, descriptor or
 * thread left behind. */
static void assert_all_fail(const char *cmd, char *const argv[], const char *mode, int err)
{
    int kids, fds, threads;
    FILE *a = SENTINEL, *b = SENTINEL, *c = SENTINEL;

    kids = count_children();
    fds = count_fds();
    threads = count_threads();

#define FAILS(call)                                                                                \
    do {                                                                                           \
        errno = 0;                                                                                 \
        ck_assert_int_eq(call, -1);                                                                \
        ck_assert_msg(errno == err, "%s: errno %d (%s), wanted %d", #call, errno, strerror(errno), \
                      err);                                                                        \
        ck_assert(a == SENTINEL && b == SENTINEL && c == SENTINEL);                                \
    } while (0)
    FAILS(popen2_popen2(cmd, -1, mode, &a, &b));
    FAILS(popen2_popen3(cmd, -1, mode, &a, &b, &c));
    FAILS(popen2_popen4(cmd, -1, mode, &a, &b));
    FAILS(popen2_popen2v(argv, -1, mode, &a, &b));
    FAILS(popen2_popen3v(argv, -1, mode, &a, &b, &c));
    FAILS(popen2_popen4v(argv, -1, mode, &a, &b));
#undef FAILS
    ck_assert_int_eq(count_children(), kids);
    ck_assert_int_eq(count_fds(), fds);
    ck_assert_int_eq(count_threads(), threads);
}

static const char *const bad_modes[] = {"r", "w", "x", "", "rb", "tb", "T", "t "};

START_TEST(test_bad_mode)
{
    assert_all_fail("cat", CHILD("cat"), bad_modes[_i], EINVAL);
}
END_TEST

START_TEST(test_bad_command)
{
    assert_all_fail(NULL, NULL, NULL, EINVAL);
    assert_all_fail("", (char *const[]){NULL}, "b", EINVAL);
}
END_TEST

START_TEST(test_missing_program)
{
    /* The string forms succeed (the shell reports 127), so only the `v`
     * forms are checked here. */
    char *const argv[] = {"popen2-no-such-program-xyz", NULL};
    FILE *a = SENTINEL, *b = SENTINEL, *c = SENTINEL;
    int kids, fds;

    if (under_valgrind()) {
        fprintf(stderr, "%s: skipped under valgrind (exec errors arrive as exit 127)\n", __func__);
        return;
    }
    kids = count_children();
    fds = count_fds();

    errno = 0;
    ck_assert_int_eq(popen2_popen2v(argv, -1, NULL, &a, &b), -1);
    ck_assert_int_eq(errno, ENOENT);
    errno = 0;
    ck_assert_int_eq(popen2_popen3v(argv, -1, NULL, &a, &b, &c), -1);
    ck_assert_int_eq(errno, ENOENT);
    errno = 0;
    ck_assert_int_eq(popen2_popen4v(argv, -1, "b", &a, &b), -1);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert(a == SENTINEL && b == SENTINEL && c == SENTINEL);
    ck_assert_int_eq(count_children(), kids);
    ck_assert_int_eq(count_fds(), fds);
}
END_TEST

/* A NULL out-parameter is EINVAL before anything is spawned. */
START_TEST(test_null_out_params)
{
    FILE *a = SENTINEL, *b = SENTINEL, *c = SENTINEL;
    int kids, fds;

    kids = count_children();
    fds = count_fds();

#define NULLFAILS(call)                                                                            \
    do {                                                                                           \
        errno = 0;                                                                                 \
        ck_assert_int_eq(call, -1);                                                                \
        ck_assert_int_eq(errno, EINVAL);                                                           \
        ck_assert(a == SENTINEL && b == SENTINEL && c == SENTINEL);                                \
    } while (0)
    NULLFAILS(popen2_popen2("cat", -1, NULL, NULL, &b));
    NULLFAILS(popen2_popen2("cat", -1, NULL, &a, NULL));
    NULLFAILS(popen2_popen3("cat", -1, NULL, NULL, &b, &c));
    NULLFAILS(popen2_popen3("cat", -1, NULL, &a, NULL, &c));
    NULLFAILS(popen2_popen3("cat", -1, NULL, &a, &b, NULL));
    NULLFAILS(popen2_popen4("cat", -1, NULL, NULL, &b));
    NULLFAILS(popen2_popen4("cat", -1, NULL, &a, NULL));
    NULLFAILS(popen2_popen2v(CHILD("cat"), -1, NULL, NULL, &b));
    NULLFAILS(popen2_popen2v(CHILD("cat"), -1, NULL, &a, NULL));
    NULLFAILS(popen2_popen3v(CHILD("cat"), -1, NULL, NULL, &b, &c));
    NULLFAILS(popen2_popen3v(CHILD("cat"), -1, NULL, &a, NULL, &c));
    NULLFAILS(popen2_popen3v(CHILD("cat"), -1, NULL, &a, &b, NULL));
    NULLFAILS(popen2_popen4v(CHILD("cat"), -1, NULL, NULL, &b));
    NULLFAILS(popen2_popen4v(CHILD("cat"), -1, NULL, &a, NULL));
#undef NULLFAILS
    ck_assert_int_eq(count_children(), kids);
    ck_assert_int_eq(count_fds(), fds);
}
END_TEST

/* ---- _active and _cleanup ----------------------------------------------- */

/* The last fclose frees the object; its still running child goes on the
 * active list, stays there (as a zombie) after it exits until cleanup reaps
 * it, and then the list is shorter. */
START_TEST(test_active_then_cleanup)
{
    size_t base;
    int zombies = count_zombies();
    FILE *r, *w;

    popen2_cleanup();
    base = popen2_active();
    ck_assert_int_eq(popen2_popen2v(CHILD("sleep", "200"), -1, NULL, &r, &w), 0);
    ck_assert_uint_eq(popen2_active(), base);
    ck_assert_int_eq(fclose(r), 0);
    ck_assert_uint_eq(popen2_active(), base); /* w is still open */
    ck_assert_int_eq(fclose(w), 0);
    ck_assert_uint_eq(popen2_active(), base + 1);
    /* Running: cleanup leaves it. */
    popen2_cleanup();
    ck_assert_uint_eq(popen2_active(), base + 1);
    /* Exited: a zombie until someone cleans up. */
    ck_assert(EVENTUALLY(count_zombies() == zombies + 1, 10));
    ck_assert_uint_eq(popen2_active(), base + 1);
    popen2_cleanup();
    ck_assert_uint_eq(popen2_active(), base);
    ck_assert_int_eq(count_zombies(), zombies);
}
END_TEST

/* Python's Popen3.__init__ runs _cleanup() first: so does every new object,
 * module function or not. */
START_TEST(test_new_object_runs_cleanup)
{
    int kids = count_children(), zombies = count_zombies();
    size_t base;
    popen2_proc *p;
    FILE *r, *w, *e;

    popen2_cleanup();
    base = popen2_active();
    /* The child runs until the test ends it: one that exits by itself
     * could be reaped by the last fclose already and never be listed. */
    ck_assert_int_eq(popen2_popen3v(CHILD("sleep", "600000"), -1, NULL, &r, &w, &e), 0);
    fclose(w);
    fclose(e);
    fclose(r);
    ck_assert_uint_eq(popen2_active(), base + 1);
    signal_children(SIGKILL);
    ck_assert(EVENTUALLY(count_zombies() == zombies + 1, 10));
    ck_assert_uint_eq(popen2_active(), base + 1);
    p = popen2_Popen3v(CHILD("exit", "0"), 0, -1);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(popen2_active(), base);
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
    ck_assert_uint_eq(popen2_active(), base);

    /* Through a module function too. */
    ck_assert_int_eq(popen2_popen4v(CHILD("sleep", "600000"), -1, NULL, &r, &w), 0);
    fclose(w);
    fclose(r);
    ck_assert_uint_eq(popen2_active(), base + 1);
    signal_children(SIGKILL);
    ck_assert(EVENTUALLY(count_zombies() == zombies + 1, 10));
    ck_assert_int_eq(popen2_popen2v(CHILD("exit", "0"), -1, NULL, &r, &w), 0);
    ck_assert_uint_eq(popen2_active(), base);
    fclose(r);
    fclose(w);
    assert_all_reaped(kids);
}
END_TEST

/* An object whose child was already waited for, or has already exited
 * when it is freed, never goes on the list. */
START_TEST(test_reaped_never_active)
{
    int kids = count_children(), zombies = count_zombies();
    size_t base;
    popen2_proc *p;

    popen2_cleanup();
    base = popen2_active();
    p = popen2_Popen3v(CHILD("exit", "0"), 0, -1);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
    ck_assert_uint_eq(popen2_active(), base);

    p = popen2_Popen3v(CHILD("exit", "0"), 0, -1);
    ck_assert_ptr_nonnull(p);
    ck_assert(EVENTUALLY(count_zombies() == zombies + 1, 10));
    popen2_free(p); /* reaps the zombie on the way */
    ck_assert_uint_eq(popen2_active(), base);
    ck_assert_int_eq(count_children(), kids);
}
END_TEST

/* popen2_cleanup never blocks, even with running children on the list:
 * they run for ten minutes, so a cleanup that waited for them would outlast
 * the test's timeout.  No clock bound. */
START_TEST(test_cleanup_never_blocks)
{
    int kids = count_children();
    FILE *r, *w;
    int i;

    for (i = 0; i < 5; i++) {
        ck_assert_int_eq(popen2_popen2v(CHILD("sleep", "600000"), -1, NULL, &r, &w), 0);
        fclose(r);
        fclose(w);
    }
    ck_assert_uint_ge(popen2_active(), 5);
    popen2_cleanup();
    ck_assert_uint_ge(popen2_active(), 5);
    signal_children(SIGKILL);
    assert_all_reaped(kids);
}
END_TEST

/* 200 objects from the module functions, their streams closed while (some
 * of) the children still run: cleanup leaves no zombie, no descriptor, no
 * thread behind. */
START_TEST(test_no_zombies_after_200)
{
    int kids = count_children(), fds = count_fds(), threads = count_threads();
    FILE *r, *w, *e;
    int i;

    for (i = 0; i < 200; i++) {
        switch (i % 6) {
        case 0:
            ck_assert_int_eq(popen2_popen2("exit 0", -1, NULL, &r, &w), 0);
            e = NULL;
            break;
        case 1:
            ck_assert_int_eq(popen2_popen3("echo hi", -1, "t", &r, &w, &e), 0);
            break;
        case 2:
            ck_assert_int_eq(popen2_popen4("echo hi >&2", -1, "b", &r, &w), 0);
            e = NULL;
            break;
        case 3:
            ck_assert_int_eq(popen2_popen2v(CHILD("exit", "0"), 0, NULL, &r, &w), 0);
            e = NULL;
            break;
        case 4:
            ck_assert_int_eq(popen2_popen3v(CHILD("cat"), 1, NULL, &r, &w, &e), 0);
            break;
        default:
            ck_assert_int_eq(popen2_popen4v(CHILD("pattern", "1", "1000", "1"), 4096, NULL, &r, &w),
                             0);
            e = NULL;
            break;
        }
        /* Half are read to EOF first, half are closed at once. */
        if (i % 2) {
            fclose(w);
            free(read_all(r, NULL));
        }
        if (e)
            fclose(e);
        fclose(r);
        if (!(i % 2))
            fclose(w);
    }
    ck_assert(EVENTUALLY((popen2_cleanup(), count_children() == kids), 20));
    ck_assert_uint_eq(popen2_active(), 0);
    ck_assert_int_eq(count_zombies(), 0);
    ck_assert(EVENTUALLY(count_fds() == fds, 5));
    ck_assert(EVENTUALLY(count_threads() == threads, 5));
}
END_TEST

static const struct test_case cases[] = {
    TEST(python, test_popen2),
    TEST(python, test_popen3),
    TEST(python, test_popen4),
    TEST(python, test_popen3_separates_stderr),
    TEST_LOOP(python, test_good_modes, 0, 3),
    TEST_LOOP(errors, test_bad_mode, 0, (int)(sizeof bad_modes / sizeof bad_modes[0])),
    TEST(errors, test_bad_command),
    TEST(errors, test_missing_program),
    TEST(errors, test_null_out_params),
    TEST_T(active, test_active_then_cleanup, 30),
    TEST_T(active, test_new_object_runs_cleanup, 30),
    TEST_T(active, test_reaped_never_active, 30),
    TEST_T(active, test_cleanup_never_blocks, 30),
    TEST_T(zombies, test_no_zombies_after_200, 60),
};

TEST_MAIN("module", cases, .timeout = 20, .setup = settle)
