/* tests/runner.h: a Check program is a table of its tests, one line each, and
 * one TEST_MAIN line:
 *
 *     static const struct test_case cases[] = {
 *         TEST(wait, wait_returns_the_status),
 *         TEST_T(flood, a_gigabyte_flood, 120),            (its own timeout, seconds)
 *         TEST_LOOP(modes, each_mode_works, 0, 3),         (_i = 0, 1, 2)
 *         TEST_WITH(ring, lent_bytes, .setup = ring_setup, .teardown = ring_teardown),
 *     };
 *     TEST_MAIN("proc", cases, .timeout = 20, .setup = settle)
 *
 * The first word of an entry is Check's test case name: CK_RUN_CASE=wait
 * runs the entries named wait, CK_RUN_SUITE=proc the program's suite.  Each
 * entry becomes a Check test case of its own (Check runs every test case
 * whose name matches), so a timeout or a fixture belongs to the test that
 * needs it rather than to its neighbours. */
#ifndef POPEN2_TESTS_RUNNER_H
#define POPEN2_TESTS_RUNNER_H

#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

struct test_case {
    const char *name;         /* Check's test case: what CK_RUN_CASE selects */
    const TTest *const *test; /* what START_TEST(fn) defined */
    int start, end;           /* a loop test runs _i = start .. end - 1; 0, 0: once */
    double timeout;           /* seconds; 0: the program's */
    SFun setup, teardown;     /* a checked fixture of this test, inside the program's */
};

#define TEST(tcase, fn) {.name = #tcase, .test = &fn}
#define TEST_T(tcase, fn, seconds) {.name = #tcase, .test = &fn, .timeout = (seconds)}
#define TEST_LOOP(tcase, fn, from, to) {.name = #tcase, .test = &fn, .start = (from), .end = (to)}
/* Anything else, by field: TEST_WITH(name, fn, .end = 4, .timeout = 30). */
#define TEST_WITH(tcase, fn, ...) {.name = #tcase, .test = &fn, __VA_ARGS__}

struct test_suite {
    const char *name;           /* what CK_RUN_SUITE selects */
    double timeout;             /* seconds, for every entry that names none; 0: Check's */
    SFun setup, teardown;       /* a checked fixture around every test */
    const char *(*skip)(void);  /* why the program cannot run here (it exits 77), or NULL */
};

static inline int test_run(const struct test_suite *s, const struct test_case *cases, size_t n)
{
    Suite *suite;
    SRunner *sr;
    TCase *tc;
    const char *why;
    double timeout;
    size_t i;
    int failed;

    if (s->skip && (why = s->skip()) != NULL) {
        fprintf(stderr, "%s: SKIP: %s\n", s->name, why);
        return 77;
    }
    suite = suite_create(s->name);
    for (i = 0; i < n; i++) {
        const struct test_case *c = &cases[i];

        tc = tcase_create(c->name);
        timeout = c->timeout > 0 ? c->timeout : s->timeout;
        if (timeout > 0)
            tcase_set_timeout(tc, timeout);
        if (s->setup || s->teardown)
            tcase_add_checked_fixture(tc, s->setup, s->teardown);
        if (c->setup || c->teardown)
            tcase_add_checked_fixture(tc, c->setup, c->teardown);
        _tcase_add_test(tc, *c->test, 0, 0, c->start, c->end > c->start ? c->end : c->start + 1);
        suite_add_tcase(suite, tc);
    }
    sr = srunner_create(suite);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* The program's main: its suite's name, the table, then struct test_suite's
 * fields by name (.timeout at least). */
#define TEST_MAIN(suite_name, cases, ...)                                                          \
    int main(void)                                                                                 \
    {                                                                                              \
        static const struct test_suite suite_ = {.name = (suite_name), __VA_ARGS__};               \
        return test_run(&suite_, cases, sizeof cases / sizeof cases[0]);                           \
    }

#endif
