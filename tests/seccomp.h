/* tests/seccomp.h: a seccomp filter that refuses chosen system calls, as a
 * container runtime or a sandboxing host program may.
 *
 * Header-only so any test program can include it.  The filter is installed
 * on every thread of the calling process (SECCOMP_FILTER_FLAG_TSYNC), so the
 * library's parked pool threads see it too; it is inherited by the children
 * the test spawns and can never be removed, so call it only inside a test
 * that Check runs in a forked process of its own. */
#ifndef POPEN2_TESTS_SECCOMP_H
#define POPEN2_TESTS_SECCOMP_H

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define SECCOMP_TEST_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SECCOMP_TEST_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef SECCOMP_TEST_ARCH
/* Installs prog on every thread; 0, or -1 with errno. */
static inline int seccomp_install(struct sock_fprog *prog)
{
    long r;

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -1;
    /* With TSYNC a positive result names a thread that could not be synced. */
    r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, prog);
    if (r == 0)
        return 0;
    if (r > 0)
        errno = EBUSY;
    return -1;
}
#endif

/* Makes each system call numbered in nrs[0..n-1] fail with errno err in this
 * process from now on.  Returns 0, or -1 with errno (no seccomp in this
 * kernel, or an architecture the filter does not know: the caller skips). */
static inline int seccomp_refuse(const long *nrs, size_t n, int err)
{
#ifdef SECCOMP_TEST_ARCH
    struct sock_filter f[64];
    struct sock_fprog prog;
    size_t i, k = 0;

    if (n > 58) {
        errno = EINVAL;
        return -1;
    }
    /* A foreign architecture passes untouched: the numbers would mean other calls. */
    f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                          offsetof(struct seccomp_data, arch));
    f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_TEST_ARCH, 1, 0);
    f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                          offsetof(struct seccomp_data, nr));
    for (i = 0; i < n; i++) {
        f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nrs[i], 0, 1);
        f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
                                              SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA));
    }
    f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    prog.len = (unsigned short)k;
    prog.filter = f;
    return seccomp_install(&prog);
#else
    (void)nrs;
    (void)n;
    (void)err;
    errno = ENOSYS;
    return -1;
#endif
}

/* One call refused. */
static inline int seccomp_refuse_one(long nr, int err)
{
    return seccomp_refuse(&nr, 1, err);
}

/* Makes system call nr fail with errno err only when its first argument is
 * arg0 (compared as a 32-bit int, which is how the kernel reads an int
 * argument such as waitid's idtype), as a filter that allows a call but not
 * one of its modes.  Returns as seccomp_refuse. */
static inline int seccomp_refuse_if_arg0(long nr, unsigned arg0, int err)
{
#ifdef SECCOMP_TEST_ARCH
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_TEST_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 3),
        /* The argument's low half: both architectures above are little-endian. */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arg0, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = (unsigned short)(sizeof f / sizeof f[0]), .filter = f};

    return seccomp_install(&prog);
#else
    (void)nr;
    (void)arg0;
    (void)err;
    errno = ENOSYS;
    return -1;
#endif
}

/* Every call that makes an epoll set refused with err, as a sandbox without
 * epoll in its profile does. */
static inline int seccomp_refuse_epoll(int err)
{
    static const long nrs[] = {
        SYS_epoll_create1,
#ifdef SYS_epoll_create
        SYS_epoll_create,
#endif
    };

    return seccomp_refuse(nrs, sizeof nrs / sizeof nrs[0], err);
}

#endif
