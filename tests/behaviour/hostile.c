/* hostile: children that misbehave.  Whatever the child does, the
 * parent gets every byte it wrote, the right status, and popen2_free returns
 * at once, leaving no descriptor, thread or child behind. */
#define _GNU_SOURCE /* fopencookie, strerrorname_np, pthread_attr_setsigmask_np */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "runner.h"
#include "popen2.h"

#define MIB (1024 * 1024)

/* How long "promptly" may take: a free never waits on the child, so this is
 * scheduling noise only, stretched for valgrind's slowdown. */
/* "Promptly" as a generous timeout, not a speed: the children here run for
 * a minute or never end, so a free that waited for one would take that
 * long; a slow checker (valgrind, a sanitizer on a loaded machine) stays
 * far below it. */
static double prompt_s(void)
{
    return under_valgrind() ? 30.0 : 10.0;
}

struct counts {
    int fds, threads, children;
};

static struct counts base;

static void take_base(void)
{
    base.fds = count_fds();
    base.threads = count_threads();
    base.children = count_children();
}

static bool back_to_base(void)
{
    popen2_cleanup();
    return count_fds() == base.fds && count_threads() == base.threads &&
           count_children() == base.children && popen2_active() == 0;
}

/* popen2_free, asserting it came back promptly. */
static void timed_free(popen2_proc *p)
{
    double t0 = now_s(), dt;

    popen2_free(p);
    dt = now_s() - t0;
    ck_assert_msg(dt < prompt_s(), "popen2_free took %.3f s", dt);
}

static void setup(void)
{
    take_base();
}

static void teardown(void)
{
    ck_assert_msg(EVENTUALLY(back_to_base(), 5),
                  "left behind: fds %d->%d threads %d->%d children %d->%d active %zu", base.fds,
                  count_fds(), base.threads, count_threads(), base.children, count_children(),
                  popen2_active());
}

/* The child writes 100000 bytes, closes stdout, lingers, exits 3: the
 * parent sees all the bytes, then EOF before the child is gone. */
START_TEST(child_closes_stdout_early)
{
    popen2_proc *p =
        popen2_Popen3("'" TEST_CHILD "' pattern 1 100000 3; exec 1>&-; sleep 0.3; exit 3", 0, -1);
    int st;

    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(read_pattern(popen2_fromchild(p), 3, 4096), 100000);
    st = popen2_wait(p);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 3);
    timed_free(p);
}
END_TEST

/* The child exits at once without reading; the parent writes 100 MiB.
 * Writing never blocks, no SIGPIPE reaches the parent, and once the writer
 * thread has met the closed pipe the writes fail with EPIPE. */
START_TEST(child_exits_without_reading_100mib)
{
    char *const argv[] = {TEST_CHILD, "noread-exit", "5", NULL};
    size_t total = (under_valgrind() ? 16 : 100) * (size_t)MIB, sent = 0, k;
    unsigned char *chunk = malloc(MIB);
    popen2_proc *p = popen2_Popen3v(argv, 0, -1);
    double t0;
    int st, failed_errno = 0;

    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(chunk);
    memset(chunk, 'x', MIB);
    t0 = now_s();
    while (sent < total) {
        k = fwrite(chunk, 1, MIB, popen2_tochild(p));
        if (k < MIB) {
            failed_errno = errno;
            break;
        }
        sent += k;
    }
    if (!failed_errno && fflush(popen2_tochild(p)) != 0)
        failed_errno = errno;
    ck_assert_msg(failed_errno == 0 || failed_errno == EPIPE, "write failed with %s",
                  strerror(failed_errno));
    ck_assert_msg(now_s() - t0 < 30, "writing blocked");
    st = popen2_wait(p);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 5);
    /* The child is gone: the writer thread meets EPIPE soon, after which a
     * write fails with it. */
    ck_assert(EVENTUALLY(
        fwrite(chunk, 1, 1, popen2_tochild(p)) == 0 || fflush(popen2_tochild(p)) == EOF, 10));
    ck_assert_int_eq(errno, EPIPE);
    timed_free(p);
    free(chunk);
}
END_TEST

/* Regression: the fopencookie write function returned -1 on EPIPE, and
 * glibc keeps that in a size_t, so a direct (here: unbuffered) fwrite to a
 * child that had gone read past the end of the caller's buffer and crashed.
 * The buffer ends at a PROT_NONE page to make any over-read fault. */
START_TEST(unbuffered_write_after_child_exit_fails_cleanly)
{
    char *const argv[] = {TEST_CHILD, "noread-exit", "0", NULL};
    long page = sysconf(_SC_PAGESIZE);
    size_t len = 16 * (size_t)page;
    char *map =
        mmap(NULL, len + (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    popen2_proc *p = popen2_Popen3v(argv, 0, 0);
    size_t k;

    ck_assert_ptr_ne(map, MAP_FAILED);
    ck_assert_int_eq(mprotect(map + len, (size_t)page, PROT_NONE), 0);
    memset(map, 'z', len);
    ck_assert_ptr_nonnull(p);
    ck_assert(WIFEXITED(popen2_wait(p)));
    /* Once the writer thread has met EPIPE, writes fail. */
    ck_assert(EVENTUALLY(fwrite(map, 1, 1, popen2_tochild(p)) == 0, 10));
    errno = 0;
    k = fwrite(map, 1, len, popen2_tochild(p));
    ck_assert_uint_eq(k, 0);
    ck_assert_int_eq(errno, EPIPE);
    timed_free(p);
    munmap(map, len + (size_t)page);
}
END_TEST

/* SIGKILL while the child writes as fast as it can: every byte read is in
 * order with none missing (the pattern is position dependent), the stream
 * ends with EOF, and the status says SIGKILL. */
START_TEST(child_killed_mid_write)
{
    char *const argv[] = {TEST_CHILD, "pattern", "1", "1099511627776", "11", NULL};
    popen2_proc *p = popen2_Popen3v(argv, 0, -1);
    unsigned char *buf = malloc(65536);
    size_t total = 0, k, bad;
    int st;

    ck_assert_ptr_nonnull(p);
    while (total < 4 * MIB && (k = fread(buf, 1, 65536, popen2_fromchild(p))) > 0) {
        bad = pattern_check(buf, k, 11, total);
        ck_assert_msg(bad == k, "wrong byte at %zu", total + bad);
        total += k;
    }
    ck_assert_uint_ge(total, 4 * MIB);
    ck_assert_int_eq(kill(popen2_pid(p), SIGKILL), 0);
    /* What the child wrote before it died is still in the pipe and ring. */
    while ((k = fread(buf, 1, 65536, popen2_fromchild(p))) > 0) {
        bad = pattern_check(buf, k, 11, total);
        ck_assert_msg(bad == k, "wrong byte at %zu", total + bad);
        total += k;
    }
    ck_assert(feof(popen2_fromchild(p)));
    ck_assert(!ferror(popen2_fromchild(p)));
    st = popen2_wait(p);
    ck_assert(WIFSIGNALED(st));
    ck_assert_int_eq(WTERMSIG(st), SIGKILL);
    timed_free(p);
    free(buf);
}
END_TEST

/* One gigantic line: 1 GiB of zeros with no newline, read with fread in
 * 1 MiB pieces.  Every byte arrives; nothing waits for a newline. */
START_TEST(child_writes_1gib_without_newline)
{
    /* valgrind and TSan copy at a small fraction of native speed. */
#if POPEN2_TEST_TSAN
    size_t want = 256 * (size_t)MIB;
#else
    size_t want = under_valgrind() ? 64 * (size_t)MIB : 1024 * (size_t)MIB;
#endif
    char count[32];
    char *argv[] = {"head", "-c", count, "/dev/zero", NULL};
    static const unsigned char zero[MIB];
    unsigned char *buf = malloc(MIB);
    size_t total = 0, k;
    popen2_proc *p;
    double t0 = now_s();
    int st;

    snprintf(count, sizeof count, "%zu", want);
    p = popen2_Popen3v(argv, 0, -1);
    ck_assert_ptr_nonnull(p);
    while ((k = fread(buf, 1, MIB, popen2_fromchild(p))) > 0) {
        ck_assert_msg(memcmp(buf, zero, k) == 0, "non-zero byte near %zu", total);
        total += k;
    }
    ck_assert_uint_eq(total, want);
    st = popen2_wait(p);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    timed_free(p);
    free(buf);
    fprintf(stderr, "no-newline test: %zu MiB in %.2f s\n", want / MIB, now_s() - t0);
}
END_TEST

/* sh starts a grandchild that inherits the pipes and outlives it.  The
 * parent gets "hi" and the shell's status at once, and popen2_free returns
 * at once, although fromchild has no EOF yet: EOF means every holder of the
 * pipe's write end closed it, and the grandchild still holds it. */
START_TEST(grandchild_holds_the_pipes)
{
    popen2_proc *p = popen2_Popen3("sleep 30 & echo $!; echo hi", 0, -1);
    char line[64];
    pid_t grandchild;
    double t0;
    int st;

    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, popen2_fromchild(p)));
    grandchild = (pid_t)atol(line);
    ck_assert_int_gt(grandchild, 1);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, popen2_fromchild(p)));
    ck_assert_str_eq(line, "hi\n");
    t0 = now_s();
    st = popen2_wait(p);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert_msg(now_s() - t0 < prompt_s(), "wait waited for the grandchild");
    ck_assert_int_eq(popen2_poll(p), st);
    timed_free(p);
    /* The grandchild is init's (or a subreaper's) now, not ours. */
    ck_assert_int_eq(kill(grandchild, SIGKILL), 0);
}
END_TEST

struct eof_probe {
    FILE *f;
    atomic_int got; /* 0 while fgetc blocks, then its result + 2 */
};

static void *probe_main(void *arg)
{
    struct eof_probe *e = arg;

    atomic_store(&e->got, fgetc(e->f) + 2);
    return NULL;
}

/* The same, read to EOF: the read blocks while the grandchild lives, even
 * though the child was reaped, and ends as soon as the grandchild dies. */
START_TEST(fromchild_eof_waits_for_the_grandchild)
{
    popen2_proc *p = popen2_Popen3("sleep 30 & echo $!", 0, -1);
    struct eof_probe probe = {0};
    pthread_t t;
    char line[64];
    pid_t grandchild;

    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, popen2_fromchild(p)));
    grandchild = (pid_t)atol(line);
    ck_assert_int_gt(grandchild, 1);
    ck_assert(WIFEXITED(popen2_wait(p)));
    probe.f = popen2_fromchild(p);
    ck_assert_int_eq(pthread_create(&t, NULL, probe_main, &probe), 0);
    sleep_ms(300);
    ck_assert_msg(probe.got == 0, "EOF before the grandchild closed the pipe");
    ck_assert_int_eq(kill(grandchild, SIGKILL), 0);
    ck_assert(EVENTUALLY(probe.got != 0, prompt_s() * 3));
    ck_assert_int_eq(probe.got, EOF + 2);
    pthread_join(t, NULL);
    timed_free(p);
}
END_TEST

/* A child that ignores SIGTERM keeps running; popen2_free does not wait
 * for it (nor signal it) but parks it on the active list, and
 * popen2_cleanup reaps it once it is killed. */
START_TEST(child_ignores_sigterm)
{
    popen2_proc *p =
        popen2_Popen3("trap '' TERM; echo ready; exec '" TEST_CHILD "' sleep 60000", 0, -1);
    char line[16];
    pid_t pid;

    ck_assert_ptr_nonnull(p);
    pid = popen2_pid(p);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, popen2_fromchild(p)));
    ck_assert_str_eq(line, "ready\n");
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    sleep_ms(200);
    ck_assert_int_eq(popen2_poll(p), -1);
    timed_free(p);
    ck_assert_uint_eq(popen2_active(), 1);
    popen2_cleanup();
    ck_assert_uint_eq(popen2_active(), 1); /* still running: not reaped */
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    ck_assert(EVENTUALLY((popen2_cleanup(), popen2_active() == 0), 5));
}
END_TEST

static const struct test_case cases[] = {
    TEST(children, child_closes_stdout_early),
    TEST(children, child_exits_without_reading_100mib),
    TEST(children, unbuffered_write_after_child_exit_fails_cleanly),
    TEST(children, child_killed_mid_write),
    TEST(children, child_writes_1gib_without_newline),
    TEST(children, grandchild_holds_the_pipes),
    TEST(children, fromchild_eof_waits_for_the_grandchild),
    TEST(children, child_ignores_sigterm),
};

TEST_MAIN("hostile", cases, .timeout = 60, .setup = setup, .teardown = teardown)
