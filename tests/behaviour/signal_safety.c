/* signal_safety: what the library does, and must never do, with
 * signals.
 *
 * - A child that exits without reading its input never sends SIGPIPE to the
 *   parent: not with the default disposition (it would kill this test
 *   process, which Check runs forked), not to a handler, not left pending.
 * - The parent's signal mask and dispositions are the same after creating,
 *   using and freeing objects as before.
 * - The child starts with an empty mask and default dispositions whatever
 *   the parent blocks or ignores.
 * - A child killed by a signal is reported as such, and wait() carries on
 *   through EINTR from the caller's own handlers.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "common.h"
#include "runner.h"
#include "children.h"
#include "popen2.h"

#define MIB (1024 * 1024)

static void restore_action(int sig, const struct sigaction *old)
{
    ck_assert_int_eq(sigaction(sig, old, NULL), 0);
}

/* ---- no SIGPIPE in the parent --------------------------------------- */

static volatile sig_atomic_t sigpipe_hits;

static void count_sigpipe(int sig)
{
    (void)sig;
    sigpipe_hits++;
}

/* One more small write to tochild; true once it fails with EPIPE, which
 * proves the writer thread really hit the closed pipe. */
static bool write_fails_epipe(FILE *in)
{
    static const char chunk[4096];

    clearerr(in);
    errno = 0;
    if (fwrite(chunk, 1, sizeof chunk, in) == sizeof chunk && fflush(in) == 0)
        return false;
    return errno == EPIPE;
}

static void assert_sigpipe_not_pending(void)
{
    sigset_t pending;

    ck_assert_int_eq(sigpending(&pending), 0);
    ck_assert_msg(!sigismember(&pending, SIGPIPE), "a SIGPIPE is pending in the parent");
}

/* 1 MiB into a child that exits without reading it, in the three orders a
 * caller may do things: the writer thread meets EPIPE every time, with the
 * FILE still open, after it was closed, or after the object was freed.  The
 * caller checks what reached the process. */
static void feed_quitting_children(void)
{
    unsigned char *buf = malloc(MIB);
    int i, st, threads = count_threads();

    ck_assert_ptr_nonnull(buf);
    pattern_fill(buf, MIB, 1, 0);
    for (i = 0; i < 6; i++) {
        popen2_proc *p = child3(i % 2, "noread-exit", "0");
        FILE *in;
        size_t w;
        int r;

        ck_assert_ptr_nonnull(p);
        in = popen2_tochild(p);
        ck_assert_ptr_nonnull(in);
        /* Never blocks; may already fail if the child is gone. */
        errno = 0;
        w = fwrite(buf, 1, MIB, in);
        ck_assert_msg(w == MIB || errno == EPIPE, "fwrite: %zu bytes, %s", w, strerror(errno));
        switch (i % 3) {
        case 0: /* write, fclose, wait (the writer is still delivering) */
            errno = 0;
            r = fclose(in);
            ck_assert_msg(r == 0 || errno == EPIPE, "fclose: %s", strerror(errno));
            st = popen2_wait(p);
            ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
            popen2_free(p);
            break;
        case 1: /* write, wait, write again: EPIPE, then fclose */
            st = popen2_wait(p);
            ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
            ck_assert_msg(EVENTUALLY(write_fails_epipe(in), 10),
                          "writes to a child that exited never failed with EPIPE");
            errno = 0;
            r = fclose(in);
            ck_assert_msg(r == 0 || errno == EPIPE, "fclose: %s", strerror(errno));
            popen2_free(p);
            break;
        default: /* write, free at once: the writer outlives the handle */
            popen2_free(p);
            break;
        }
        /* The writer thread ends only after its write failed. */
        ck_assert(EVENTUALLY(count_threads() == threads, 10));
        assert_sigpipe_not_pending();
    }
    ck_assert(EVENTUALLY((popen2_cleanup(), popen2_active() == 0), 10));
    free(buf);
}

/* Check forks each test, so a SIGPIPE with the default disposition would
 * kill this process and fail the test. */
START_TEST(no_sigpipe_with_default_disposition)
{
    struct sigaction dfl = {.sa_handler = SIG_DFL}, old;

    sigemptyset(&dfl.sa_mask);
    ck_assert_int_eq(sigaction(SIGPIPE, &dfl, &old), 0);
    feed_quitting_children();
    restore_action(SIGPIPE, &old);
}
END_TEST

START_TEST(no_sigpipe_reaches_a_handler)
{
    struct sigaction sa = {.sa_handler = count_sigpipe}, old;

    sigemptyset(&sa.sa_mask);
    sigpipe_hits = 0;
    ck_assert_int_eq(sigaction(SIGPIPE, &sa, &old), 0);
    feed_quitting_children();
    ck_assert_int_eq(sigpipe_hits, 0);
    restore_action(SIGPIPE, &old);
}
END_TEST

/* With SIGPIPE blocked in the caller a process-directed SIGPIPE would stay
 * pending instead of killing anything: the pending set must stay clean. */
START_TEST(no_sigpipe_left_pending_when_blocked)
{
    sigset_t pipe_only, old;

    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &pipe_only, &old), 0);
    feed_quitting_children();
    assert_sigpipe_not_pending();
    ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
}
END_TEST

/* ---- the parent's signal state is left alone ------------------------- */

struct sigstate {
    sigset_t mask;
    bool ok[NSIG];
    struct sigaction sa[NSIG];
};

static void sigstate_get(struct sigstate *s)
{
    int sig;

    memset(s, 0, sizeof *s);
    ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, NULL, &s->mask), 0);
    /* glibc reserves 32 and 33 (sigaction says EINVAL): compare that too. */
    for (sig = 1; sig < NSIG; sig++)
        s->ok[sig] = sigaction(sig, NULL, &s->sa[sig]) == 0;
}

static void sigstate_set(const struct sigstate *s)
{
    int sig;

    for (sig = 1; sig < NSIG; sig++)
        if (s->ok[sig] && sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &s->sa[sig], NULL);
    pthread_sigmask(SIG_SETMASK, &s->mask, NULL);
}

/* The first signal whose mask bit or action differs, or 0. */
static int sigstate_diff(const struct sigstate *a, const struct sigstate *b)
{
    int sig, m;

    for (sig = 1; sig < NSIG; sig++) {
        const struct sigaction *x = &a->sa[sig], *y = &b->sa[sig];

        if (sigismember(&a->mask, sig) != sigismember(&b->mask, sig) || a->ok[sig] != b->ok[sig])
            return sig;
        if (!a->ok[sig])
            continue;
        if (x->sa_handler != y->sa_handler || x->sa_flags != y->sa_flags)
            return sig;
        for (m = 1; m < NSIG; m++)
            if (sigismember(&x->sa_mask, m) != sigismember(&y->sa_mask, m))
                return sig;
    }
    return 0;
}

/* Atomic, not volatile sig_atomic_t: the handler runs on the waiter thread
 * and the test reads the count on main (a data race ThreadSanitizer
 * reports); lock-free atomics are async-signal-safe. */
static atomic_int usr1_hits;

static void count_usr1(int sig)
{
    (void)sig;
    usr1_hits++;
}

/* Every kind of object and path the library has, with the state checked
 * while they are alive too. */
static void exercise_library(const struct sigstate *expect)
{
    struct sigstate mid;
    char *missing[] = {"/nonexistent/popen2-test/no-such-program", NULL};
    char *fourv[] = {TEST_CHILD, "both", "100000", "3", "4", NULL};
    popen2_proc *a, *b, *c, *d;
    FILE *out, *in, *err;
    char *text;
    size_t len;
    unsigned char *buf = calloc(1, MIB);
    int st;

    ck_assert_ptr_nonnull(buf);
    a = popen2_Popen3("cat; echo to-stderr >&2", 1, -1);
    b = popen2_Popen4v(fourv, 0);
    c = child3(0, "noread-exit", "0");
    d = child3(1, "cat", NULL);
    ck_assert(a && b && c && d);
    ck_assert_int_eq(popen2_poll(d), -1);
    fputs("hello\n", popen2_tochild(a));
    fwrite(buf, 1, MIB, popen2_tochild(c)); /* the EPIPE path */
    sigstate_get(&mid);
    ck_assert_msg(sigstate_diff(expect, &mid) == 0, "signal %d changed while objects live",
                  sigstate_diff(expect, &mid));

    fclose(popen2_tochild(a));
    text = read_all(popen2_fromchild(a), &len);
    ck_assert_str_eq(text, "hello\n");
    free(text);
    text = read_all(popen2_childerr(a), &len);
    ck_assert_str_eq(text, "to-stderr\n");
    free(text);
    ck_assert_int_eq(popen2_wait(a), 0);
    ck_assert_uint_eq(len, 10);
    st = popen2_wait(c);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert(EVENTUALLY(write_fails_epipe(popen2_tochild(c)), 10));
    popen2_free(a);
    popen2_free(b); /* still writing, perhaps */
    popen2_free(c);
    popen2_free(d); /* still running: goes to the active list */

    ck_assert_int_eq(popen2_popen3("cat", 0, "t", &out, &in, &err), 0);
    fputs("x\n", in);
    fclose(in);
    text = read_all(out, &len);
    ck_assert_str_eq(text, "x\n");
    free(text);
    fclose(err);
    fclose(out);

    errno = 0;
    a = popen2_Popen3v(missing, 1, -1);
    if (!under_valgrind()) {
        ck_assert_ptr_null(a);
        ck_assert_int_eq(errno, ENOENT);
    }
    if (a) {
        popen2_wait(a);
        popen2_free(a);
    }
    ck_assert(EVENTUALLY((popen2_cleanup(), popen2_active() == 0), 10));
    free(buf);
}

START_TEST(parent_signal_state_unchanged)
{
    struct sigstate orig, before, after;
    struct sigaction sa = {.sa_handler = count_usr1, .sa_flags = SA_RESTART};
    struct sigaction ign = {.sa_handler = SIG_IGN};
    sigset_t block;
    int d;

    sigstate_get(&orig);
    /* Something to preserve: a handler with its own mask, an ignored
     * signal, and blocked ones. */
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR2);
    sigemptyset(&ign.sa_mask);
    ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
    ck_assert_int_eq(sigaction(SIGINT, &ign, NULL), 0);
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    sigaddset(&block, SIGTERM);
    ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &block, NULL), 0);
    sigstate_get(&before);

    exercise_library(&before);

    sigstate_get(&after);
    d = sigstate_diff(&before, &after);
    sigstate_set(&orig);
    ck_assert_msg(d == 0, "signal %d: mask or disposition changed", d);
}
END_TEST

/* Without anything installed first, too: the default state is kept. */
START_TEST(default_signal_state_unchanged)
{
    struct sigstate before, after;
    int d;

    sigstate_get(&before);
    exercise_library(&before);
    sigstate_get(&after);
    d = sigstate_diff(&before, &after);
    ck_assert_msg(d == 0, "signal %d: mask or disposition changed", d);
}
END_TEST

/* ---- the child starts clean ------------------------------------------ */

/* Runs a child that prints its blocked and ignored signals; asserts it ran
 * and printed nothing. */
static void assert_clean_child(popen2_proc *p, const char *what)
{
    char *text;
    size_t len;
    int st;

    ck_assert_msg(p != NULL, "%s: %s", what, strerror(errno));
    fclose(popen2_tochild(p));
    text = read_all(popen2_fromchild(p), &len);
    ck_assert_ptr_nonnull(text);
    st = popen2_wait(p);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: status %#x", what, st);
    ck_assert_msg(len == 0, "%s: child's signal state:\n%s", what, text);
    free(text);
    popen2_free(p);
}

START_TEST(child_gets_empty_mask_and_default_dispositions)
{
    static const int ignored[] = {SIGINT, SIGPIPE, SIGQUIT, SIGHUP, SIGUSR2, SIGTERM};
    struct sigstate orig;
    struct sigaction ign = {.sa_handler = SIG_IGN};
    struct sigaction sa = {.sa_handler = count_usr1};
    char *argv[] = {TEST_CHILD, "sigstate", NULL};
    sigset_t block;
    size_t i;

    sigstate_get(&orig);
    sigemptyset(&ign.sa_mask);
    sigemptyset(&sa.sa_mask);
    for (i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
        ck_assert_int_eq(sigaction(ignored[i], &ign, NULL), 0);
    /* A handler cannot survive exec; it must come back as the default. */
    ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGCHLD);
    sigaddset(&block, SIGWINCH);
    sigaddset(&block, SIGRTMIN);
    ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &block, NULL), 0);

    assert_clean_child(popen2_Popen3v(argv, 1, -1), "Popen3v");
    assert_clean_child(popen2_Popen3v(argv, 0, -1), "Popen3v, stderr shared");
    assert_clean_child(popen2_Popen4v(argv, -1), "Popen4v");
    /* /bin/sh keeps what was ignored when it started; exec hands it on. */
    assert_clean_child(popen2_Popen3("exec " TEST_CHILD " sigstate", 1, -1), "Popen3");
    assert_clean_child(popen2_Popen4("exec " TEST_CHILD " sigstate", -1), "Popen4");

    sigstate_set(&orig);
}
END_TEST

/* ---- death by signal, and EINTR ----------------------------------------- */

static void assert_killed_by(popen2_proc *p, int sig)
{
    int st;

    ck_assert_ptr_nonnull(p);
    st = popen2_wait(p);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == sig, "status %#x, want signal %d", st, sig);
    /* The same status on every later call. */
    ck_assert_int_eq(popen2_wait(p), st);
    ck_assert_int_eq(popen2_poll(p), st);
    popen2_free(p);
}

START_TEST(child_killed_by_signal_is_reported)
{
    char *argv[] = {TEST_CHILD, "raise", "15", NULL};
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    popen2_proc *p;

    assert_killed_by(popen2_Popen3v(argv, 0, -1), SIGTERM);
    argv[2] = "10";
    assert_killed_by(popen2_Popen4v(argv, -1), SIGUSR1);
    assert_killed_by(popen2_Popen3("kill -9 $$", 1, -1), SIGKILL);

    /* Killed from outside while it sleeps. */
    p = child3(0, "sleep", "300000");
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(popen2_poll(p), -1);
    ck_assert_int_eq(kill(popen2_pid(p), SIGKILL), 0);
    assert_killed_by(p, SIGKILL);

    /* The parent ignores SIGTERM; the child has the default, so dies. */
    sigemptyset(&ign.sa_mask);
    ck_assert_int_eq(sigaction(SIGTERM, &ign, &old), 0);
    p = child3(0, "sleep", "300000");
    restore_action(SIGTERM, &old);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(kill(popen2_pid(p), SIGTERM), 0);
    ck_assert_msg(EVENTUALLY(popen2_poll(p) != -1, 5), "the child inherited SIG_IGN for SIGTERM");
    assert_killed_by(p, SIGTERM);
}
END_TEST

/* A handler without SA_RESTART makes waitpid/waitid fail with EINTR on the
 * thread it interrupts; wait() must go back to waiting. */
START_TEST(wait_retries_on_eintr)
{
    struct sigaction sa = {.sa_handler = count_usr1, .sa_flags = 0}, old;
    struct waiter w = {0};
    sigset_t usr1;
    pthread_t t;
    int i;

    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGUSR1, &sa, &old), 0);
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    ck_assert_int_eq(pthread_sigmask(SIG_UNBLOCK, &usr1, NULL), 0);
    usr1_hits = 0;

    w.p = child3(0, "drain-exit", "42");
    ck_assert_ptr_nonnull(w.p);
    ck_assert_int_eq(pthread_create(&t, NULL, wait_thread, &w), 0);
    /* From here on the waiter is the only thread that takes SIGUSR1 (the
     * library's threads block everything), so process-directed ones
     * interrupt it too. */
    ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &usr1, NULL), 0);
    for (i = 0; i < 6; i++) {
        sleep_ms(40);
        if (i % 2)
            ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
        else
            ck_assert_int_eq(pthread_kill(t, SIGUSR1), 0);
    }
    sleep_ms(40);
    ck_assert_msg(!atomic_load(&w.done), "wait returned early: %d (%s)", w.status, strerror(w.err));
    ck_assert_int_gt(usr1_hits, 1);
    fclose(popen2_tochild(w.p)); /* now the child ends */
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_msg(WIFEXITED(w.status) && WEXITSTATUS(w.status) == 42, "status %#x (%s)", w.status,
                  strerror(w.err));
    popen2_free(w.p);
    ck_assert_int_eq(pthread_sigmask(SIG_UNBLOCK, &usr1, NULL), 0);
    restore_action(SIGUSR1, &old);
}
END_TEST

static const struct test_case cases[] = {
    TEST(sigpipe, no_sigpipe_with_default_disposition),
    TEST(sigpipe, no_sigpipe_reaches_a_handler),
    TEST(sigpipe, no_sigpipe_left_pending_when_blocked),
    TEST(parent_state, parent_signal_state_unchanged),
    TEST(parent_state, default_signal_state_unchanged),
    TEST_T(child_state, child_gets_empty_mask_and_default_dispositions, 20),
    TEST_T(status, child_killed_by_signal_is_reported, 20),
    TEST_T(status, wait_retries_on_eintr, 20),
};

TEST_MAIN("signal_safety", cases, .timeout = 30)
