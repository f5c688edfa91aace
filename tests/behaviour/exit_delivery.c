/* exit_delivery: input accepted by fwrite and fclose on tochild reaches a
 * child that reads it, even when the program returns from main right after
 * popen2_free.
 *
 * Regression: the detached writer thread died with the process, so a child
 * that started reading 0.1 s later counted 65,536 of 1 MiB, and even 1,000
 * bytes were lost in 5 of 20 runs.  The library now waits at exit for input
 * rings that still hold bytes, while their writers make progress.  Every
 * byte, every run. */
#include <errno.h>
#include <sys/wait.h>

#include "common.h"
#include "runner.h"
#include "popen2.h"


#define RUNS 20

/* The count the child wrote to path, or -1 while there is none. */
static long read_count(const char *path)
{
    FILE *f = fopen(path, "r");
    long n = -1;

    if (f) {
        if (fscanf(f, "%ld", &n) != 1)
            n = -1;
        fclose(f);
    }
    return n;
}

/* _i: 0 for 1,000 bytes, 1 for 1 MiB. */
START_TEST(every_byte_delivered_after_return_from_main)
{
    static const char *const sizes[] = {"1000", "1048576"};
    char dir[] = "/tmp/popen2-exit-XXXXXX", path[64], *argv[4];
    long want = atol(sizes[_i]), got;
    int run, st, delivered = 0;
    popen2_proc *p;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    for (run = 0; run < RUNS; run++) {
        snprintf(path, sizeof path, "%s/count%d", dir, run);
        argv[0] = EXIT_DELIVER;
        argv[1] = (char *)sizes[_i];
        argv[2] = path;
        argv[3] = NULL;
        p = popen2_Popen3v(argv, 0, -1);
        ck_assert_ptr_nonnull(p);
        st = popen2_wait(p);
        popen2_free(p);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "run %d: status %#x", run, st);
        /* The child outlives the program; wait for its count. */
        ck_assert_msg(EVENTUALLY(read_count(path) >= 0, 60), "run %d: no count", run);
        got = read_count(path);
        if (got == want)
            delivered++;
        else
            fprintf(stderr, "run %d: %ld of %ld bytes delivered\n", run, got, want);
        unlink(path);
    }
    rmdir(dir);
    ck_assert_msg(delivered == RUNS, "%d of %d runs delivered every byte", delivered, RUNS);
}
END_TEST

static const struct test_case cases[] = {
    TEST_LOOP(delivery, every_byte_delivered_after_return_from_main, 0, 2),
};

TEST_MAIN("exit_delivery", cases, .timeout = 240)
