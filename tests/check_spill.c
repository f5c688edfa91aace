/* check_spill: 2 GiB through a SPILL stream with a 16 MiB memory limit,
 * read back after the child has exited, every byte checked, while the peak
 * resident memory of this process stays under 64 MiB.  Needs about 2.25 GiB
 * free in $TMPDIR (or /tmp); without it the program says so and reports
 * SKIP (exit status 77) to the automake test driver. */
#include <errno.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

#include "common.h"
#include "runner.h"
#include "popen2.h"

#define MIB (1024ull * 1024)
#define LIMIT (16 * MIB)

/* Under a sanitizer or valgrind the bytes move
 * at a fraction of native speed (2 GiB took 71 s under TSan) and the
 * checker's shadow memory counts in the RSS (104 MiB under TSan).  There
 * 256 MiB go through, and only the library's own bound (high_water within
 * the limit) is asserted, not the process's RSS. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED true
#else
#define SANITIZED false
#endif
static bool slow_run(void)
{
    return SANITIZED || under_valgrind();
}
#define TOTAL (slow_run() ? 256 * MIB : 2048 * MIB)

/* Peak resident set of this process, in KiB (Linux: VmHWM). */
static long peak_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;

    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    if (kib < 0) {
        struct rusage ru;

        getrusage(RUSAGE_SELF, &ru);
        kib = ru.ru_maxrss;
    }
    return kib;
}

static const char *spill_dir(void)
{
    const char *d = getenv("TMPDIR");

    return d && d[0] == '/' ? d : "/tmp";
}

static bool enough_space(void)
{
    struct statvfs vfs;

    return statvfs(spill_dir(), &vfs) == 0 &&
           (unsigned long long)vfs.f_bavail * vfs.f_frsize >= TOTAL + 256 * MIB;
}

START_TEST(two_gib_spill_with_a_16_mib_limit)
{
    char n[32];
    char *argv[] = {TEST_CHILD, "pattern", "1", n, "21", NULL};
    static unsigned char buf[1 << 20];
    struct popen2_stream_stats st;
    popen2_attr *a;
    popen2_proc *p;
    double t0, t1, t2;
    uint64_t got = 0;
    ssize_t k;
    int status;

    snprintf(n, sizeof n, "%llu", TOTAL);
    a = popen2_attr_new();
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(popen2_attr_set_limit(a, 1, LIMIT, POPEN2_SPILL), 0);
    t0 = now_s();
    p = popen2_spawnv(argv, a);
    popen2_attr_free(a);
    ck_assert_ptr_nonnull(p);

    /* Nobody reads: the child still runs to its end. */
    status = popen2_wait(p);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert(EVENTUALLY(popen2_stream_stats(p, 1, &st) == 0 && st.total == TOTAL, 30));
    t1 = now_s();
    ck_assert_uint_le(st.high_water, LIMIT);
    ck_assert_uint_ge(st.spilled, TOTAL - LIMIT);
    ck_assert_uint_eq(st.dropped, 0);

    while ((k = popen2_read(p, 1, buf, sizeof buf)) > 0) {
        ck_assert_uint_eq(pattern_check(buf, (size_t)k, 21, got), (size_t)k);
        got += (uint64_t)k;
    }
    ck_assert_int_eq(k, 0); /* EOF, not EAGAIN: the child is done */
    t2 = now_s();
    ck_assert_uint_eq(got, TOTAL);
    ck_assert_int_eq(popen2_stream_stats(p, 1, &st), 0);
    ck_assert_uint_eq(st.buffered, 0);
    popen2_free(p);

    fprintf(stderr,
            "spill: %llu MiB written in %.1f s (%.0f MiB/s), read back and checked in %.1f s "
            "(%.0f MiB/s), peak RSS %ld KiB\n",
            TOTAL / MIB, t1 - t0, (double)(TOTAL / MIB) / (t1 - t0), t2 - t1,
            (double)(TOTAL / MIB) / (t2 - t1), peak_rss_kib());
    if (!slow_run())
        ck_assert_int_lt(peak_rss_kib(), 64 * 1024);
}
END_TEST

static const struct test_case cases[] = {
    TEST(two_gib, two_gib_spill_with_a_16_mib_limit),
};

/* Why the test cannot run here: too little room for the spill file. */
static const char *no_room_for_the_spill_file(void)
{
    static char why[300];

    if (enough_space())
        return NULL;
    snprintf(why, sizeof why, "needs 2.25 GiB free in %s", spill_dir());
    return why;
}

TEST_MAIN("spill", cases, .timeout = 180, .skip = no_room_for_the_spill_file)
