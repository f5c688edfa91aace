/* glib_mainloop: demos/mainloop runs three tools in one GLib loop; a timer
 * keeps firing all along, every line of each tool arrives in order, and the
 * timeout kills the tool that would run for a minute.
 *
 * "All along" is measured against the run's own length, never a clock
 * bound: under a sanitizer on a loaded machine the loop runs slower, and
 * the whole run stretches with it.  The timer must fire at a fair fraction
 * of its nominal rate over the run, and no gap may span the whole run. */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#include "common.h"
#include "runner.h"
#include "popen2.h"


#define FLOOD_LINES 300000

START_TEST(the_loop_stays_responsive_while_three_tools_run)
{
    char flood[64];
    char *argv[] = {MAINLOOP_DEMO,
                    /* Long enough that a loop descheduled for a second on a
                     * loaded machine is still told from one that blocks. */
                    "--timeout",
                    "4000",
                    "--tick",
                    "20",
                    "--report",
                    flood,
                    "for i in 1 2 3 4 5; do echo slow $i; sleep 0.2; done",
                    "echo sleeping; exec sleep 60",
                    NULL};
    popen2_proc *p;
    char *out, *line, *save = NULL, expect[32];
    size_t outlen;
    long next_flood = 1, slow = 0, ticks = -1, gap = -1;
    bool slept = false, killed = false;
    double t0 = now_s(), elapsed;
    int st;

    snprintf(flood, sizeof flood, "seq 1 %d", FLOOD_LINES);
    p = popen2_spawnv(argv, NULL);
    ck_assert_ptr_nonnull(p);
    st = popen2_communicate(p, NULL, 0, &out, &outlen, NULL, NULL, 60000);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    elapsed = now_s() - t0;
    ck_assert(elapsed < 50.0); /* the 60 s tool was killed */

    for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(line, "[1] ", 4) && line[4] >= '0' && line[4] <= '9') {
            snprintf(expect, sizeof expect, "%ld", next_flood);
            ck_assert_str_eq(line + 4, expect); /* in order, none lost */
            next_flood++;
        } else if (!strncmp(line, "[2] slow ", 9)) {
            ck_assert_int_eq(atol(line + 9), ++slow);
        } else if (!strcmp(line, "[3] sleeping")) {
            slept = true;
        } else if (!strcmp(line, "[3] killed by signal 9")) {
            killed = true;
        } else if (!strncmp(line, "ticks ", 6)) {
            ck_assert_int_eq(sscanf(line, "ticks %ld max-gap-ms %ld", &ticks, &gap), 2);
        }
    }
    ck_assert_int_eq(next_flood - 1, FLOOD_LINES);
    ck_assert_int_eq(slow, 5);
    ck_assert(slept && killed);
    fprintf(stderr, "mainloop: %ld ticks, longest gap %ld ms, in %.2f s\n", ticks, gap, elapsed);
    /* 20 ms ticks: a loop that stays responsive fires at least a tenth of
     * the nominal 50 per second over the run (a blocked loop fires none). */
    ck_assert_msg(ticks >= 1 && ticks >= (long)(elapsed * 50 / 10), "%ld ticks in %.2f s", ticks,
                  elapsed);
    ck_assert_int_ge(gap, 0);
    ck_assert_msg(gap < (long)(elapsed * 1000 / 2), "a gap of %ld ms in a %.2f s run", gap, elapsed);
    free(out);
    popen2_free(p);
}
END_TEST

static const struct test_case cases[] = {
    TEST(GLib, the_loop_stays_responsive_while_three_tools_run),
};

TEST_MAIN("glib_mainloop", cases, .timeout = 90)
