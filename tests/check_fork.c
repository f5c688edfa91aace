/* check_fork: a forked child of a threaded program can use the library.
 *
 * Regressions: while other threads created and freed objects, a forked
 * child calling popen2_Popen3 or popen2_cleanup could hang for ever on the
 * active list's mutex, held at the instant of the fork by a thread that did
 * not come along (7 of 100 children); and exit() in such a child could hang
 * flushing an inherited tochild FILE whose ring mutex was held.  Now the
 * fork handlers keep the active list consistent, and everything inherited
 * from the parent fails at once with ECHILD. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "common.h"
#include "popen2.h"

#define FORKS 200
#define CHURNERS 2

static atomic_bool stop;
/* The churners' objects live in globals, so that a leak checker in a forked
 * child (valgrind checks every process) sees them as reachable: the threads
 * whose stacks held them do not exist there. */
static popen2_proc *churning[CHURNERS];
static popen2_proc *held;
static FILE *held_in;

/* Creates, writes, reads and frees objects without pause, and leaves some
 * children running on the active list, so that forks land on every lock. */
static void *churn(void *arg)
{
    popen2_proc **slot = arg;
    char *cat[] = {TEST_CHILD, "cat", NULL};
    char *nap[] = {TEST_CHILD, "sleep", "20", NULL};
    char line[64];
    unsigned n = 0;

    while (!atomic_load(&stop)) {
        *slot = popen2_Popen3v(n % 3 == 2 ? nap : cat, 0, -1);
        if (!*slot)
            continue;
        if (n % 3 != 2) {
            fputs("churn\n", popen2_tochild(*slot));
            fflush(popen2_tochild(*slot));
            fgets(line, sizeof line, popen2_fromchild(*slot));
            fclose(popen2_tochild(*slot));
            popen2_wait(*slot);
        }
        popen2_free(*slot); /* the napping child goes on the active list */
        *slot = NULL;
        popen2_cleanup();
        n++;
    }
    return NULL;
}

/* The forked child: 0 if all went well, else a code saying what did not. */
static int child_body(bool may_start_threads)
{
    char *cat[] = {TEST_CHILD, "cat", NULL};
    popen2_proc *p;
    char line[64];
    int st;

    popen2_cleanup();
    /* The parent's object is not this process's. */
    errno = 0;
    if (popen2_poll(held) != -1 || errno != ECHILD)
        return 10;
    if (popen2_tochild(held) != NULL || errno != ECHILD)
        return 11;
    if (fputs("lost\n", held_in) < 0 || fflush(held_in) != EOF || errno != ECHILD)
        return 12;
    if (may_start_threads) {
        p = popen2_Popen3v(cat, 0, -1);
        if (!p)
            return 20;
        if (fputs("ping\n", popen2_tochild(p)) < 0 || fclose(popen2_tochild(p)) != 0)
            return 21;
        if (!fgets(line, sizeof line, popen2_fromchild(p)) || strcmp(line, "ping\n") != 0)
            return 22;
        st = popen2_wait(p);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            return 23;
        popen2_free(p);
        popen2_cleanup();
    }
    return 0;
}

START_TEST(forked_children_never_hang)
{
    char *cat[] = {TEST_CHILD, "cat", NULL};
    pthread_t t[CHURNERS];
    int i, k, st, hangs = 0, failures = 0, first_failure = 0;
    /* ThreadSanitizer stops a child of a threaded process that starts a
     * thread (its die_after_fork): there the children only clean up, touch
     * the inherited object and exit. */
    bool may_start_threads = !POPEN2_TEST_RUNTIME_THREADS;
    double limit_s = under_valgrind() ? 60 : 20; /* a hang, not slowness */
    pid_t pid;

    /* An object of the parent with bytes waiting in its tochild buffer:
     * every child's exit() flushes it. */
    held = popen2_Popen3v(cat, 0, -1);
    ck_assert_ptr_nonnull(held);
    held_in = popen2_tochild(held);
    ck_assert_int_ge(fputs("held\n", held_in), 0);
    atomic_store(&stop, false);
    for (k = 0; k < CHURNERS; k++)
        ck_assert_int_eq(pthread_create(&t[k], NULL, churn, &churning[k]), 0);

    for (i = 0; i < FORKS; i++) {
        fflush(stdout);
        fflush(stderr);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
            exit(child_body(may_start_threads)); /* exit, not _exit: stdio flushes */
        double until = now_s() + limit_s;
        while ((k = waitpid(pid, &st, WNOHANG)) == 0 && now_s() < until)
            sleep_ms(1);
        if (k == 0) {
            hangs++;
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
        } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            if (!failures++)
                first_failure = WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
        }
    }
    atomic_store(&stop, true);
    for (k = 0; k < CHURNERS; k++)
        ck_assert_int_eq(pthread_join(t[k], NULL), 0);
    ck_assert_msg(hangs == 0, "%d of %d forked children hung", hangs, FORKS);
    ck_assert_msg(failures == 0, "%d of %d forked children failed (first: %d)", failures, FORKS,
                  first_failure);

    /* The parent's own object never noticed. */
    ck_assert_int_eq(fclose(held_in), 0);
    ck_assert_ptr_nonnull(fgets((char[64]){0}, 64, popen2_fromchild(held)));
    st = popen2_wait(held);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    popen2_free(held);
    ck_assert(EVENTUALLY((popen2_cleanup(), popen2_active() == 0), 30));
}
END_TEST

static Suite *fork_suite(void)
{
    Suite *s = suite_create("fork");
    TCase *tc = tcase_create("threaded_parent");

    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, forked_children_never_hang);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(fork_suite)
