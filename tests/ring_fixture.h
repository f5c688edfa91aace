/* tests/ring_fixture.h: one ring of MIN_CAP bytes, made before and destroyed
 * after each test of the ring's internal files (lib/ring/ring.h): register
 * ring_setup and ring_teardown as the test's fixture. */
#ifndef POPEN2_TESTS_RING_FIXTURE_H
#define POPEN2_TESTS_RING_FIXTURE_H

#include <check.h>

#include "ring/ring.h"

#define MIN_CAP 4096

static struct ringbuf rb;

static void ring_setup(void)
{
    ck_assert_int_eq(p2i_ringmem_init(&rb, MIN_CAP), 0);
}

static void ring_teardown(void)
{
    p2i_ringmem_destroy(&rb);
}

#endif
