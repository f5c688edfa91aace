/* fault_injection: every step of the create path made to fail in turn, and
 * real exhaustion of descriptors, processes and threads.
 *
 * The fault tests link the internal copy of the library with -Wl,--wrap
 * wrappers (tests/faults.c): the nth allocation or system call on the
 * creating thread fails as it would on a starved machine.  For every n up
 * to the first run that gets through, creation must give NULL (or -1) with
 * the injected errno, and leave the descriptor, thread and child counts as
 * they were.  The exhaustion tests lower real rlimits in a forked child. */
#define _GNU_SOURCE /* fopencookie, strerrorname_np, pthread_attr_setsigmask_np */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "runner.h"
#include "faults.h"
#include "popen2.h"

/* "fd=target ..." of this process, for messages about leaked descriptors. */
static const char *fd_list(void)
{
    static char out[2048];
    struct dirent *e;
    char path[sizeof "/proc/self/fd/" + sizeof e->d_name], target[256];
    DIR *d = opendir("/proc/self/fd");
    size_t len = 0;
    ssize_t k;

    out[0] = '\0';
    while (d && (e = readdir(d)) != NULL && len + 300 < sizeof out) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        k = readlink(path, target, sizeof target - 1);
        target[k > 0 ? k : 0] = '\0';
        len += (size_t)snprintf(out + len, sizeof out - len, " %s=%s", e->d_name, target);
    }
    if (d)
        closedir(d);
    return out;
}

/* What must be back where it was after a failed create. */
struct counts {
    int fds, threads, children;
    size_t active;
};

static struct counts take_counts(void)
{
    struct counts c = {count_fds(), count_threads(), count_children(), popen2_active()};
    return c;
}

static bool counts_equal(struct counts a, struct counts b)
{
    return a.fds == b.fds && a.threads == b.threads && a.children == b.children &&
           a.active == b.active;
}

/* The ways to build an object; each must undo a failure at every step. */
enum creator {
    C_POPEN3_CAPTURE,
    C_POPEN3_BUF,
    C_POPEN4V,
    C_MODULE_POPEN3V,
    C_MODULE_POPEN2,
    C_SPAWNV_ATTR, /* popen2_spawnv with options that allocate and open */
    C_COUNT
};

static char *const child_argv[] = {TEST_CHILD, "pattern", "1", "1000", "7", NULL};
#define CHILD_CMD "'" TEST_CHILD "' pattern 1 1000 7"

/* Fault arming for the next create_and_run: only the create call itself is
 * armed, never the test's own reading and checking afterwards. */
static unsigned arm_mask;
static int arm_nth;
static int arm_calls; /* counted calls of the last create */

/* Builds one object (or module stream set) with faults armed; on success
 * checks it works (1000 bytes of pattern 7, exit 0) and frees it.  Returns
 * 0 on success, -1 with errno on failure. */
static int create_and_run(enum creator c)
{
    popen2_proc *p = NULL;
    FILE *out = (FILE *)1, *in = (FILE *)1, *err = (FILE *)1;
    popen2_attr *a = NULL;
    int r = 0, st, e;

    if (c == C_SPAWNV_ATTR) {
        /* Made before arming: the options object is not the create path. */
        a = popen2_attr_new();
        ck_assert_ptr_nonnull(a);
        ck_assert_int_eq(popen2_attr_setenv(a, "POPEN2_FAULTS", "1"), 0);
        ck_assert_int_eq(popen2_attr_set_cwd(a, "/"), 0);
        ck_assert_int_eq(popen2_attr_set_stream(a, 2, POPEN2_DEVNULL), 0);
        ck_assert_int_eq(popen2_attr_set_group(a, POPEN2_GROUP_NEW), 0);
        ck_assert_int_eq(popen2_attr_set_limit(a, 1, 1 << 20, POPEN2_SPILL), 0);
        ck_assert_int_eq(popen2_attr_set_bufsize(a, 512), 0);
    }
    fault_arm(arm_mask, arm_nth);
    switch (c) {
    case C_POPEN3_CAPTURE:
        p = popen2_Popen3(CHILD_CMD, 1, -1);
        break;
    case C_POPEN3_BUF:
        p = popen2_Popen3v(child_argv, 0, 4096); /* bufsize > 1 allocates a stdio buffer */
        break;
    case C_POPEN4V:
        p = popen2_Popen4v(child_argv, 0);
        break;
    case C_MODULE_POPEN3V:
        r = popen2_popen3v(child_argv, 1, "b", &out, &in, &err);
        break;
    case C_MODULE_POPEN2:
        r = popen2_popen2(CHILD_CMD, 1, NULL, &out, &in);
        break;
    case C_SPAWNV_ATTR:
        p = popen2_spawnv(child_argv, a);
        break;
    default:
        ck_abort();
    }
    e = errno;
    arm_calls = fault_disarm();
    popen2_attr_free(a);
    if (c == C_MODULE_POPEN3V || c == C_MODULE_POPEN2) {
        if (r < 0) {
            /* Out-parameters are untouched on failure. */
            ck_assert_ptr_eq(out, (FILE *)1);
            ck_assert_ptr_eq(in, (FILE *)1);
            if (c == C_MODULE_POPEN3V)
                ck_assert_ptr_eq(err, (FILE *)1);
            errno = e;
            return -1;
        }
        ck_assert_uint_eq(read_pattern(out, 7, 333), 1000);
        fclose(in);
        if (c == C_MODULE_POPEN3V)
            fclose(err);
        fclose(out);
        return 0;
    }
    if (!p) {
        errno = e;
        return -1;
    }
    ck_assert_uint_eq(read_pattern(popen2_fromchild(p), 7, 4096), 1000);
    st = popen2_wait(p);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    popen2_free(p);
    return 0;
}

static bool settled(struct counts base)
{
    popen2_cleanup();
    return counts_equal(take_counts(), base);
}

/* Waits until every child of earlier runs is reaped and every detached
 * writer thread has ended, and returns the counts then: the baseline. */
static struct counts quiet_counts(void)
{
    struct counts c;
    int i;

    for (i = 0; i < 500; i++) {
        popen2_cleanup();
        c = take_counts();
        /* Only once no library thread is left can nothing close behind
         * our back: count again then. */
        if (c.children == 0 && c.active == 0 && c.threads == 1)
            return take_counts();
        sleep_ms(10);
    }
    ck_abort_msg("never quiet: %d children, %zu active, %d threads", c.children, c.active,
                 c.threads);
    return c;
}

/* Fails the 1st, 2nd, ... counted call until a run completes without a
 * fault.  Returns the mask of functions that were made to fail. */
static unsigned every_step(enum creator c, unsigned mask)
{
    struct counts base, now;
    enum fault_fn fn;
    static char base_fds[2048];
    unsigned seen = 0;
    int n, r, e, want;

    /* One untouched run first: lazily allocated libc state (stdio, the
     * thread stack cache, posix_spawn's) must be in the baseline. */
    ck_assert_int_eq(create_and_run(c), 0);
    base = quiet_counts();
    strcpy(base_fds, fd_list());
    for (n = 1; n < 1000; n++) {
        arm_mask = mask;
        arm_nth = n;
        r = create_and_run(c);
        e = errno;
        arm_mask = 0;
        if (!fault_fired(&fn, &want)) {
            ck_assert_msg(r == 0, "creator %d: no fault at step %d, yet it failed: %s", c, n,
                          strerror(e));
            break;
        }
        seen |= 1u << fn;
        if (fn == FAULT_ATTR_SETSIGMASK) {
            /* Recovered from (pump.c falls back to pthread_sigmask). */
            ck_assert_msg(r == 0, "creator %d: setsigmask failure not recovered", c);
        } else {
            ck_assert_msg(r == -1, "creator %d: step %d (%s) failed, yet create succeeded", c, n,
                          fault_name(fn));
            ck_assert_msg(e == want, "creator %d: step %d (%s): errno %s, want %s", c, n,
                          fault_name(fn), strerrorname_np(e), strerrorname_np(want));
        }
        /* The writer thread is detached and ends a moment later. */
        if (!EVENTUALLY(settled(base), 5)) {
            now = take_counts();
            ck_abort_msg("creator %d: after %s failed (step %d): fds %d->%d threads %d->%d "
                         "children %d->%d active %zu->%zu; fds were%s, are%s",
                         c, fault_name(fn), n, base.fds, now.fds, base.threads, now.threads,
                         base.children, now.children, base.active, now.active, base_fds, fd_list());
        }
    }
    ck_assert_msg(n < 1000, "creator %d never got through", c);
    fprintf(stderr, "creator %d: %d failure points, each clean\n", c, n - 1);
    return seen;
}

/* The wrapped calls a build without them never makes (pipe() and a wake-up
 * pipe instead: the fallbacks that macOS and the BSDs take). */
static unsigned not_built(void)
{
    unsigned none = 0;

#ifndef HAVE_PIPE2
    none |= 1u << FAULT_PIPE2;
#endif
#if !defined(HAVE_EVENTFD) || !defined(HAVE_SYS_EVENTFD_H)
    none |= 1u << FAULT_EVENTFD;
#endif
    return none;
}

START_TEST(every_step_of_create_fails_cleanly)
{
    unsigned seen = every_step((enum creator)_i, FAULT_ALL);
    unsigned must = 1u << FAULT_CALLOC | 1u << FAULT_MALLOC | 1u << FAULT_PIPE2 |
                    1u << FAULT_EVENTFD | 1u << FAULT_FOPENCOOKIE | 1u << FAULT_PTHREAD_CREATE |
                    1u << FAULT_MUTEX_INIT | 1u << FAULT_COND_INIT | 1u << FAULT_ATTR_INIT |
                    1u << FAULT_POSIX_SPAWN | 1u << FAULT_SPAWN_FA_INIT |
                    1u << FAULT_SPAWN_FA_ADDDUP2 | 1u << FAULT_SPAWNATTR_INIT |
                    1u << FAULT_SPAWNATTR_SET;
    enum fault_fn fn;

    if (_i == C_SPAWNV_ATTR)
        must |= 1u << FAULT_OPEN; /* the /dev/null stderr */
    must &= ~not_built();

    /* Proof the wrappers are in the path: each of these must have fired. */
    for (fn = 0; fn < FAULT_COUNT; fn++)
        ck_assert_msg(!(must & (1u << fn)) || (seen & (1u << fn)), "%s never failed",
                      fault_name(fn));
}
END_TEST

/* The named calls of the issue, each alone: its first call fails. */
static const enum fault_fn named[] = {FAULT_PIPE2,  FAULT_POSIX_SPAWN, FAULT_PTHREAD_CREATE,
                                      FAULT_MALLOC, FAULT_CALLOC,      FAULT_FOPENCOOKIE,
                                      FAULT_EVENTFD};

START_TEST(each_named_call_fails_with_its_errno)
{
    enum fault_fn fn = named[_i], got;
    struct counts base;
    int r, e, want, k;

    if (not_built() & (1u << fn)) {
        fprintf(stderr, "%s: not in this build\n", fault_name(fn));
        return;
    }
    ck_assert_int_eq(create_and_run(C_POPEN3_CAPTURE), 0);
    base = quiet_counts();
    /* First, and last, call of that function on the path. */
    for (k = 0; k < 2; k++) {
        int calls;

        arm_mask = 1u << fn;
        arm_nth = 0;
        ck_assert_int_eq(create_and_run(C_POPEN3_BUF), 0);
        calls = arm_calls;
        ck_assert_msg(calls > 0, "%s is not on the create path", fault_name(fn));
        ck_assert(EVENTUALLY(settled(base), 5));

        arm_nth = k == 0 ? 1 : calls;
        r = create_and_run(C_POPEN3_BUF);
        e = errno;
        arm_mask = 0;
        ck_assert(fault_fired(&got, &want));
        ck_assert_int_eq(r, -1);
        ck_assert_msg(e == want, "%s: errno %s", fault_name(fn), strerrorname_np(e));
        ck_assert_msg(EVENTUALLY(settled(base), 5), "%s: counts not back", fault_name(fn));
    }
}
END_TEST

/* Regression: p2i_pump_start ignored a failing pthread_attr_setsigmask_np, so
 * the writer thread ran with SIGPIPE unblocked and a child that exits
 * without reading killed the whole process. */
START_TEST(setsigmask_failure_still_blocks_sigpipe)
{
    char *const argv[] = {TEST_CHILD, "noread-exit", "4", NULL};
    static char chunk[1 << 16];
    popen2_proc *p;
    int i, st;

    fault_arm(1u << FAULT_ATTR_SETSIGMASK, -1);
    p = popen2_Popen3v(argv, 0, -1);
    fault_disarm();
    ck_assert_ptr_nonnull(p);
    st = popen2_wait(p);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 4);
    /* The child is gone: the writer's write() gets EPIPE and SIGPIPE. */
    for (i = 0; i < 64; i++)
        if (fwrite(chunk, 1, sizeof chunk, popen2_tochild(p)) != sizeof chunk)
            break;
    fflush(popen2_tochild(p));
    sleep_ms(100);
    popen2_free(p);
    /* Still alive: Check reports a death by signal as a failure. */
}
END_TEST

/* ---- out of memory while an object runs ---------------------------------- */

/* A reader whose ring cannot grow stops draining instead of dropping bytes:
 * the child then waits on a full pipe, and every byte arrives once the
 * caller reads (the API's "no byte is ever dropped"). */
START_TEST(output_ring_that_cannot_grow_drops_nothing)
{
    char *const argv[] = {TEST_CHILD, "pattern", "1", "4194304", "21", NULL};
    popen2_proc *p = popen2_Popen3v(argv, 0, 0);
    int st;

    ck_assert_ptr_nonnull(p);
    /* The first 64 KiB ring is allowed, growing it is not. */
    fault_fail_large_allocs(100 * 1024);
    sleep_ms(500);
    /* Unable to grow, the ring is full: the child, which writes 4 MiB in a
     * few milliseconds otherwise, is still blocked. */
    ck_assert_int_eq(popen2_poll(p), -1);
    ck_assert_uint_eq(read_pattern(popen2_fromchild(p), 21, 4096), 4194304);
    fault_fail_large_allocs(0);
    st = popen2_wait(p);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    popen2_free(p);
}
END_TEST

/* A write to tochild that needs memory there is not fails as a whole with
 * ENOMEM: what was written before is delivered, nothing of the failed
 * write, and writing works again afterwards. */
START_TEST(input_write_without_memory_fails_whole)
{
    char *const argv[] = {TEST_CHILD, "cat", NULL};
    popen2_proc *p = popen2_Popen3v(argv, 0, 0);
    static unsigned char big[1 << 20];
    unsigned char piece[1000];
    size_t k;
    int st;

    ck_assert_ptr_nonnull(p);
    pattern_fill(piece, sizeof piece, 22, 0);
    ck_assert_uint_eq(fwrite(piece, 1, sizeof piece, popen2_tochild(p)), sizeof piece);
    fault_fail_large_allocs(100 * 1024);
    errno = 0;
    k = fwrite(big, 1, sizeof big, popen2_tochild(p));
    fault_fail_large_allocs(0);
    ck_assert_uint_eq(k, 0);
    ck_assert_int_eq(errno, ENOMEM);
    clearerr(popen2_tochild(p));
    pattern_fill(piece, sizeof piece, 22, sizeof piece);
    ck_assert_uint_eq(fwrite(piece, 1, sizeof piece, popen2_tochild(p)), sizeof piece);
    ck_assert_int_eq(fclose(popen2_tochild(p)), 0);
    ck_assert_uint_eq(read_pattern(popen2_fromchild(p), 22, 333), 2 * sizeof piece);
    st = popen2_wait(p);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    popen2_free(p);
}
END_TEST

/* Regression: when the writer thread could not be started at the first
 * write (RLIMIT_NPROC, a cgroup's pids.max, ENOMEM), the FILE's write
 * returned -1, which glibc takes as a byte count of SIZE_MAX: an unbuffered
 * fwrite crashed or said it wrote everything, a buffered one's fflush said
 * 0, and the bytes were gone.  Now the write fails cleanly with the errno,
 * and the next write starts the thread.  _i: 0 unbuffered, 1 buffered. */
START_TEST(first_write_without_a_thread_fails_cleanly)
{
    char *const argv[] = {TEST_CHILD, "cat", NULL};
    popen2_proc *p = popen2_Popen3v(argv, 0, _i == 0 ? 0 : -1);
    unsigned char piece[1000];
    enum fault_fn fn;
    int st, err;
    size_t k;
    FILE *in;

    ck_assert_ptr_nonnull(p);
    in = popen2_tochild(p);
    pattern_fill(piece, sizeof piece, 23, 0);
    errno = 0;
    fault_arm(1u << FAULT_PTHREAD_CREATE, 1);
    k = fwrite(piece, 1, sizeof piece, in);
    if (_i == 1) {
        ck_assert_uint_eq(k, sizeof piece); /* only into the FILE's buffer */
        ck_assert_int_eq(fflush(in), EOF);
    } else {
        ck_assert_uint_eq(k, 0);
    }
    err = errno;
    fault_disarm();
    ck_assert(fault_fired(&fn, &st) && fn == FAULT_PTHREAD_CREATE);
    ck_assert_int_eq(err, EAGAIN);
    ck_assert(ferror(in));
    /* The failed bytes are gone (stdio drops a buffer it could not write,
     * and said so); the next write works and is all the child gets. */
    clearerr(in);
    pattern_fill(piece, sizeof piece, 23, 0);
    ck_assert_uint_eq(fwrite(piece, 1, sizeof piece, in), sizeof piece);
    ck_assert_int_eq(fclose(in), 0);
    ck_assert_uint_eq(read_pattern(popen2_fromchild(p), 23, 333), sizeof piece);
    st = popen2_wait(p);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    popen2_free(p);
}
END_TEST

/* ---- a stream that cannot get memory resumes by itself ------------------
 * Nothing tells a reader thread that memory came back, and in each case
 * below the caller has nothing to read that would wake it: the stream must
 * try again on its own, and every byte arrive once allocations work again. */

/* Reads stream 1 to EOF with popen2_read, sleeping in poll() on the event
 * descriptor while it says EAGAIN, and checks every byte against pattern
 * seed.  The byte count, or (size_t)-1 at a wrong byte. */
static size_t read_pattern_nonblocking(popen2_proc *p, unsigned seed)
{
    struct pollfd pfd = {.fd = popen2_event_fd(p), .events = POLLIN};
    unsigned char buf[4096];
    size_t total = 0;
    ssize_t k;

    ck_assert_int_ge(pfd.fd, 0);
    for (;;) {
        k = popen2_read(p, 1, buf, sizeof buf);
        if (k == 0)
            return total;
        if (k < 0) {
            ck_assert_msg(errno == EAGAIN, "popen2_read: %s", strerror(errno));
            /* No bound: a stream that never resumes is a Check timeout. */
            ck_assert_int_ge(poll(&pfd, 1, -1), 0);
            continue;
        }
        if (pattern_check(buf, (size_t)k, seed, total) != (size_t)k)
            return (size_t)-1;
        total += (size_t)k;
    }
}

/* Reads n bytes of f (unbuffered: each read is a small one from the ring,
 * never the pipe itself) and checks them against pattern seed from `off`;
 * the count read. */
static size_t read_pattern_n(FILE *f, unsigned seed, uint64_t off, size_t n)
{
    unsigned char buf[4096];
    size_t total = 0, k;

    while (total < n) {
        k = fread(buf, 1, n - total < sizeof buf ? n - total : sizeof buf, f);
        if (k == 0 || pattern_check(buf, k, seed, off + total) != k)
            break;
        total += k;
    }
    return total;
}

/* The ring's first buffer refused: the reader has no buffer to read into
 * and the caller nothing to read. */
START_TEST(ring_without_a_first_buffer_resumes)
{
    unsigned long before = fault_large_refusals();
    popen2_proc *p;
    int st;

    fault_fail_large_allocs(64 * 1024);
    /* stdin holds the child back until the refusal was seen. */
    p = popen2_Popen3("read x; exec '" TEST_CHILD "' pattern 1 1048576 41", 0, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert(EVENTUALLY(fault_large_refusals() > before, 30));
    ck_assert_int_eq(fclose(popen2_tochild(p)), 0); /* EOF for read: the child writes */
    fault_fail_large_allocs(0);
    ck_assert_uint_eq(read_pattern_nonblocking(p, 41), 1048576);
    st = popen2_wait(p);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    popen2_free(p);
}
END_TEST

/* A ring that grew past 64 times its first size and emptied swaps its
 * buffer for a small one at the next bytes; refused that, it keeps the one
 * it has and drains on. */
START_TEST(emptied_large_ring_without_a_small_buffer_resumes)
{
    static const char cmd[] = "read x; '" TEST_CHILD "' pattern 1 5242880 42; "
                              "read y; exec '" TEST_CHILD "' pattern 1 1048576 43";
    popen2_proc *p = popen2_Popen3(cmd, 0, 0);
    unsigned long before;
    FILE *in, *out;
    int st;

    ck_assert_ptr_nonnull(p);
    in = popen2_tochild(p);
    out = popen2_fromchild(p);
    /* The input ring's buffer is made now, while allocations work. */
    ck_assert_int_eq(fputs("a\n", in), 1);
    ck_assert(EVENTUALLY(popen2_stream_available(p, 1) == 5242880, 60));
    before = fault_large_refusals();
    fault_fail_large_allocs(64 * 1024);
    ck_assert_uint_eq(read_pattern_n(out, 42, 0, 5242880), 5242880);
    ck_assert_int_eq(fputs("b\n", in), 1);
    /* The bytes that follow need the small buffer first, and are refused
     * it; they arrive all the same. */
    ck_assert_uint_eq(read_pattern_n(out, 43, 0, 1048576), 1048576);
    ck_assert_uint_gt(fault_large_refusals(), before);
    fault_fail_large_allocs(0);
    ck_assert_int_eq(fgetc(out), EOF);
    ck_assert(!ferror(out));
    st = popen2_wait(p);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    popen2_free(p);
}
END_TEST

/* KEEP_TAIL, FAIL and SPILL allocate their scratch buffer when the stream
 * first goes past its limit, which is exactly when the caller is not
 * reading: refused it, the reader must not wait for the caller.  The
 * caller here waits for the child before it reads anything at all. */
static const int stage_policy[] = {POPEN2_KEEP_TAIL, POPEN2_FAIL, POPEN2_SPILL};

START_TEST(limit_scratch_buffer_refused_resumes)
{
    enum { LIMIT = 64 * 1024, TOTAL = 1048576 };
    char *const argv[] = {TEST_CHILD, "pattern", "1", "1048576", "44", NULL};
    int policy = stage_policy[_i];
    struct popen2_stream_stats stats;
    unsigned long before;
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;
    FILE *out;
    int st;

    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(popen2_attr_set_limit(a, 1, LIMIT, policy), 0);
    ck_assert_int_eq(popen2_attr_set_bufsize(a, 0), 0);
    before = fault_large_refusals();
    /* The 64 KiB ring may be had, the 256 KiB scratch buffer not. */
    fault_fail_large_allocs(128 * 1024);
    p = popen2_spawnv(argv, a);
    popen2_attr_free(a);
    ck_assert_ptr_nonnull(p);
    ck_assert(EVENTUALLY(fault_large_refusals() > before, 30));
    fault_fail_large_allocs(0);
    st = popen2_wait(p);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* The child's end leaves up to a pipe's capacity still to be read: the
     * tail is the last bytes only once the reader has taken them all. */
    ck_assert(EVENTUALLY(popen2_stream_stats(p, 1, &stats) == 0 && stats.total == TOTAL, 60));
    out = popen2_fromchild(p);
    if (policy == POPEN2_SPILL) {
        ck_assert_uint_eq(read_pattern(out, 44, 4096), TOTAL);
    } else if (policy == POPEN2_KEEP_TAIL) {
        ck_assert_uint_eq(read_pattern_n(out, 44, TOTAL - LIMIT, LIMIT), LIMIT);
        ck_assert_int_eq(fgetc(out), EOF);
        ck_assert(!ferror(out));
    } else {
        ck_assert_uint_eq(read_pattern_n(out, 44, 0, LIMIT), LIMIT);
        errno = 0;
        ck_assert_int_eq(fgetc(out), EOF);
        ck_assert(ferror(out) && errno == ENOBUFS);
    }
    ck_assert_int_eq(popen2_stream_stats(p, 1, &stats), 0);
    ck_assert_uint_eq(stats.total, TOTAL);
    popen2_free(p);
}
END_TEST

/* The retry ends with the stream: freeing the object while its reader
 * waits for memory neither waits for memory nor leaves the reader behind. */
START_TEST(free_while_a_reader_waits_for_memory)
{
    char *const argv[] = {TEST_CHILD, "pattern", "1", "1048576", "45", NULL};
    unsigned long before = fault_large_refusals();
    struct counts base = quiet_counts();
    popen2_proc *p;

    fault_fail_large_allocs(64 * 1024);
    p = popen2_Popen3v(argv, 0, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert(EVENTUALLY(fault_large_refusals() > before, 30));
    popen2_free(p); /* joins the reader: a Check timeout if it kept retrying */
    ck_assert_uint_gt(fault_large_refusals(), before);
    fault_fail_large_allocs(0);
    ck_assert(EVENTUALLY(settled(base), 30));
}
END_TEST

/* A blocking write to a limited tochild whose ring has no buffer yet: the
 * writer thread has nothing to consume, so only a retry gets the bytes in
 * once memory is back (here: once the helper thread saw the refusal). */
static unsigned long allow_after;

static void *allow_after_refusal(void *arg)
{
    (void)arg;
    while (fault_large_refusals() <= allow_after)
        sleep_ms(1);
    fault_fail_large_allocs(0);
    return NULL;
}

START_TEST(blocking_input_without_a_buffer_resumes)
{
    char *const argv[] = {"sh", "-c", "echo ready; exec '" TEST_CHILD "' cat", NULL};
    unsigned char piece[1000];
    char line[16];
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;
    pthread_t helper;
    FILE *in, *out;
    int st;

    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(popen2_attr_set_limit(a, 0, 1 << 20, POPEN2_BLOCK), 0);
    ck_assert_int_eq(popen2_attr_set_bufsize(a, 0), 0);
    p = popen2_spawnv(argv, a);
    popen2_attr_free(a);
    ck_assert_ptr_nonnull(p);
    in = popen2_tochild(p);
    out = popen2_fromchild(p);
    /* Once a line came through, the output ring has its buffer: the only
     * large allocation left is the input ring's. */
    ck_assert_ptr_nonnull(fgets(line, sizeof line, out));
    ck_assert_str_eq(line, "ready\n");
    allow_after = fault_large_refusals();
    fault_fail_large_allocs(64 * 1024);
    ck_assert_int_eq(pthread_create(&helper, NULL, allow_after_refusal, NULL), 0);
    pattern_fill(piece, sizeof piece, 46, 0);
    ck_assert_uint_eq(fwrite(piece, 1, sizeof piece, in), sizeof piece);
    ck_assert_int_eq(pthread_join(helper, NULL), 0);
    ck_assert_int_eq(fclose(in), 0);
    ck_assert_uint_eq(read_pattern(out, 46, 333), sizeof piece);
    st = popen2_wait(p);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    popen2_free(p);
}
END_TEST

/* ---- real exhaustion, each in a forked child so limits do not leak ---- */

/* Runs fn in a child process; it returns 0 for success or prints why not.
 * 77 means "skipped". */
static int in_child(int (*fn)(void))
{
    pid_t pid;
    int st;

    fflush(NULL);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(fn());
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st), "exhaustion child died by signal %d", WTERMSIG(st));
    return WEXITSTATUS(st);
}

#define FAIL_IF(cond, ...)                                                                         \
    do {                                                                                           \
        if (cond) {                                                                                \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

/* Every limit from "no descriptor left" up to "enough": each failure is
 * EMFILE and frees what it took; the first that works, works. */
static int nofile_body(void)
{
    struct rlimit rl;
    struct counts base;
    popen2_proc *p;
    int extra, st, failures = 0;

    FAIL_IF(getrlimit(RLIMIT_NOFILE, &rl) < 0, "getrlimit");
    ck_assert_int_eq(create_and_run(C_POPEN3_CAPTURE), 0); /* warm up libc */
    base = quiet_counts();
    for (extra = 0; extra < 40; extra++) {
        /* count_fds() itself needs one descriptor; base.fds excludes it. */
        rl.rlim_cur = (rlim_t)base.fds + 1 + (rlim_t)extra;
        FAIL_IF(setrlimit(RLIMIT_NOFILE, &rl) < 0, "setrlimit");
        p = popen2_Popen3(CHILD_CMD, 1, -1);
        if (!p) {
            FAIL_IF(errno != EMFILE, "limit +%d: errno %s, want EMFILE", extra,
                    strerrorname_np(errno));
            failures++;
            FAIL_IF(!EVENTUALLY(settled(base), 5), "limit +%d: counts not back", extra);
            continue;
        }
        FAIL_IF(read_pattern(popen2_fromchild(p), 7, 4096) != 1000, "short read");
        st = popen2_wait(p);
        FAIL_IF(!WIFEXITED(st) || WEXITSTATUS(st), "status %#x", st);
        popen2_free(p);
        break;
    }
    FAIL_IF(extra == 40, "never succeeded");
    FAIL_IF(failures < 6, "only %d failing limits (3 pipes and 2 wake fds expected)", failures);
    return 0;
}

START_TEST(rlimit_nofile_gives_emfile)
{
    if (under_valgrind()) {
        /* valgrind keeps descriptors of its own near the limit and
         * emulates RLIMIT_NOFILE itself: a lowered limit is not what pipe2
         * meets. */
        fprintf(stderr, "SKIP rlimit_nofile_gives_emfile: not meaningful under valgrind\n");
        return;
    }
    ck_assert_int_eq(in_child(nofile_body), 0);
}
END_TEST

/* RLIMIT_NPROC counts the tasks (threads too) of a user, and root is exempt,
 * so the child becomes a user nobody else is: its own count is then exact.
 * Every limit from 1 (itself only: the first pthread_create fails) up to the
 * first that suffices is tried; each failure must be EAGAIN and clean, and
 * both kinds must occur: thread creation (posix_spawn never reached) and
 * the spawn's clone (reached, counted by the wrappers).  The number of
 * threads started before the spawn is not assumed (the writer may be lazy). */
static uid_t lonely_uid(void)
{
    uid_t u;

    for (u = 61000; u < 62000; u++)
        if (!getpwuid(u))
            return u;
    return 0;
}

static int nproc_limits(void)
{
    struct rlimit rl;
    struct counts base;
    popen2_proc *p;
    int thread_failures = 0, spawn_failures = 0, spawn_calls, st;
    rlim_t limit;

    base = quiet_counts();
    FAIL_IF(getrlimit(RLIMIT_NPROC, &rl) < 0, "getrlimit");
    for (limit = 1; limit < 16; limit++) {
        rl.rlim_cur = limit; /* soft only: a lowered hard limit cannot be raised again */
        FAIL_IF(setrlimit(RLIMIT_NPROC, &rl) < 0, "setrlimit: %s", strerror(errno));
        fault_arm(1u << FAULT_POSIX_SPAWN, 0); /* count spawns, fail nothing */
        p = popen2_Popen3("exit 0", 0, -1);
        spawn_calls = fault_disarm();
        if (p) {
            st = popen2_wait(p);
            FAIL_IF(!WIFEXITED(st) || WEXITSTATUS(st), "limit %ld: status %#x", (long)limit, st);
            popen2_free(p);
            break;
        }
        FAIL_IF(errno != EAGAIN, "limit %ld: errno %s, want EAGAIN", (long)limit,
                strerrorname_np(errno));
        FAIL_IF(!EVENTUALLY(settled(base), 5), "limit %ld: counts not back", (long)limit);
        if (spawn_calls)
            spawn_failures++;
        else
            thread_failures++;
    }
    FAIL_IF(limit == 16, "never created");
    FAIL_IF(!thread_failures, "no limit made thread creation fail");
    FAIL_IF(!spawn_failures, "no limit made the spawn fail");
    return 0;
}

static int nproc_body(void)
{
    uid_t uid;

    if (getuid() != 0) {
        /* Our user's task count is unknown (and may be large): no exact
         * limit to set. */
        fprintf(stderr, "SKIP rlimit_nproc: needs root to switch to a user of its own\n");
        return 77;
    }
    uid = lonely_uid();
    FAIL_IF(!uid, "no free uid");
    FAIL_IF(setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0, "setuid: %s",
            strerror(errno));
    /* setuid made us non-dumpable, which hides /proc/self/fd from us. */
    prctl(PR_SET_DUMPABLE, 1);
    return nproc_limits();
}

START_TEST(rlimit_nproc_gives_eagain)
{
    int r = in_child(nproc_body);

    if (r == 77)
        return; /* skipped, said why on stderr */
    ck_assert_int_eq(r, 0);
}
END_TEST

static const struct test_case cases[] = {
    TEST_WITH(injected, every_step_of_create_fails_cleanly, .end = C_COUNT, .timeout = 120),
    TEST_WITH(injected, each_named_call_fails_with_its_errno,
              .end = (int)(sizeof named / sizeof named[0]), .timeout = 120),
    TEST_T(injected, setsigmask_failure_still_blocks_sigpipe, 120),
    TEST(oom_while_running, output_ring_that_cannot_grow_drops_nothing),
    TEST(oom_while_running, input_write_without_memory_fails_whole),
    TEST_LOOP(oom_while_running, first_write_without_a_thread_fails_cleanly, 0, 2),
    TEST(oom_resumes, ring_without_a_first_buffer_resumes),
    TEST(oom_resumes, emptied_large_ring_without_a_small_buffer_resumes),
    TEST_LOOP(oom_resumes, limit_scratch_buffer_refused_resumes, 0,
              (int)(sizeof stage_policy / sizeof stage_policy[0])),
    TEST(oom_resumes, free_while_a_reader_waits_for_memory),
    TEST(oom_resumes, blocking_input_without_a_buffer_resumes),
    TEST(exhaustion, rlimit_nofile_gives_emfile),
    TEST(exhaustion, rlimit_nproc_gives_eagain),
};

TEST_MAIN("fault_injection", cases, .timeout = 60)
