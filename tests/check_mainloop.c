/* check_mainloop: demos/mainloop runs three tools in one GLib loop; a timer
 * keeps firing all along (no gap over one second, a generous bound for a
 * loaded machine), every line of each tool arrives in order, and the
 * timeout kills the tool that would run for a minute. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#include "common.h"
#include "popen2.h"

#ifndef MAINLOOP_DEMO
#define MAINLOOP_DEMO "demos/mainloop"
#endif

#define FLOOD_LINES 300000

START_TEST(the_loop_stays_responsive_while_three_tools_run)
{
    char flood[64];
    char *argv[] = {MAINLOOP_DEMO,
                    "--timeout",
                    "1500",
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
    double t0 = now_s();
    int st;

    snprintf(flood, sizeof flood, "seq 1 %d", FLOOD_LINES);
    p = popen2_spawnv(argv, NULL);
    ck_assert_ptr_nonnull(p);
    st = popen2_communicate(p, NULL, 0, &out, &outlen, NULL, NULL, 60000);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert(now_s() - t0 < 30.0); /* the 60 s tool was killed */

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
    fprintf(stderr, "mainloop: %ld ticks, longest gap %ld ms\n", ticks, gap);
    ck_assert_int_ge(ticks, 20); /* 1.5 s of 20 ms ticks, very loosely */
    ck_assert_int_ge(gap, 0);
    ck_assert_int_lt(gap, 1000);
    free(out);
    popen2_free(p);
}
END_TEST

static Suite *mainloop_suite(void)
{
    Suite *s = suite_create("mainloop");
    TCase *tc = tcase_create("GLib");

    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, the_loop_stays_responsive_while_three_tools_run);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(mainloop_suite)
