/* dlclose_safety: the library may be dlopened and dlclosed while a detached
 * writer thread still delivers input.
 *
 * Regression: dlopen, write to tochild, fclose, free, dlclose: SIGSEGV, the
 * writer thread still ran in code dlclose had unmapped.  The library is now
 * linked with -z nodelete where the linker has it, so it stays mapped.
 * This program does not link the library: it loads the built one. */
#include <dlfcn.h>
#include <stdio.h>

#include "common.h"
#include "runner.h"
#include "popen2.h"


struct api {
    void *handle;
    popen2_proc *(*Popen3)(const char *, int, int);
    FILE *(*tochild)(popen2_proc *);
    FILE *(*fromchild)(popen2_proc *);
    int (*wait)(popen2_proc *);
    void (*free)(popen2_proc *);
    void (*cleanup)(void);
};

static struct api load(void)
{
    struct api a;

    a.handle = dlopen(LIBPOPEN2_SO, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(a.handle != NULL, "dlopen: %s", dlerror());
    *(void **)&a.Popen3 = dlsym(a.handle, "popen2_Popen3");
    *(void **)&a.tochild = dlsym(a.handle, "popen2_tochild");
    *(void **)&a.fromchild = dlsym(a.handle, "popen2_fromchild");
    *(void **)&a.wait = dlsym(a.handle, "popen2_wait");
    *(void **)&a.free = dlsym(a.handle, "popen2_free");
    *(void **)&a.cleanup = dlsym(a.handle, "popen2_cleanup");
    ck_assert(a.Popen3 && a.tochild && a.fromchild && a.wait && a.free && a.cleanup);
    return a;
}

START_TEST(dlclose_while_a_writer_delivers)
{
    static char big[1 << 20];
    int threads = count_threads();
    struct api a = load();
    popen2_proc *p;
    char line[64];
    int st;

    /* The child reads only after the library was closed. */
    p = a.Popen3("sleep 0.2; exec cat > /dev/null", 0, -1);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(fwrite(big, 1, sizeof big, a.tochild(p)), sizeof big);
    ck_assert_int_eq(fclose(a.tochild(p)), 0);
    a.free(p);
    ck_assert_int_eq(dlclose(a.handle), 0);
    /* The writer thread delivers and ends; it crashed here before. */
    ck_assert_msg(EVENTUALLY(count_threads() == threads, 60), "threads: %d, baseline %d",
                  count_threads(), threads);

    /* Loaded again, it works as before. */
    a = load();
    p = a.Popen3("echo again", 0, -1);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, a.fromchild(p)));
    ck_assert_str_eq(line, "again\n");
    st = a.wait(p);
    ck_assert_int_eq(st, 0);
    a.free(p);
    ck_assert(EVENTUALLY((a.cleanup(), count_children() == 0), 30));
    ck_assert_int_eq(dlclose(a.handle), 0);
}
END_TEST

static const struct test_case cases[] = {
    TEST(unload, dlclose_while_a_writer_delivers),
};

TEST_MAIN("dlclose_safety", cases, .timeout = 120)
