/* check_relay: the relay a bulk stream's bytes pass through (lib/sys/relay.posix.c),
 * tested directly on a pipe that a thread fills: every byte arrives once and
 * in order whatever the reads' sizes and buffers, the relay is made only
 * for a bulk stream that goes on (not for one that ends as it turns bulk)
 * and closed with it, and where it cannot be had (a
 * seccomp filter that refuses splice, the descriptor limit) the reads go
 * to the pipe and still deliver everything.  Also the 64-byte landing of
 * large reads (lib/sys/fd.posix.c): a buffer at any offset gets its bytes
 * at its start. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"
#include "runner.h"
#include "seccomp.h"
#include "sys/sys.h"

#define TOTAL (24u << 20)

static unsigned char byte_at(size_t i)
{
    return (unsigned char)(i % 251 ^ i >> 12);
}

struct feed {
    int fd;
    size_t total;
};

/* Writes the stream in odd-sized pieces, so that pipe pages are not all
 * whole ones, then closes its end. */
static void *feed_main(void *arg)
{
    struct feed *f = arg;
    static const size_t sizes[] = {1 << 20, 100003, 4096, 7, 300000, 65536};
    unsigned char *chunk = malloc(1 << 20);
    size_t off = 0, i = 0, n, k;
    ssize_t w;

    while (off < f->total) {
        n = sizes[i++ % 6];
        if (n > f->total - off)
            n = f->total - off;
        for (k = 0; k < n; k++)
            chunk[k] = byte_at(off + k);
        for (k = 0; k < n; k += (size_t)w) {
            w = write(f->fd, chunk + k, n - k);
            if (w < 0 && errno == EINTR)
                w = 0;
            else if (w < 0)
                goto out;
        }
        off += n;
    }
out:
    free(chunk);
    close(f->fd);
    return NULL;
}

/* Starts a thread writing total bytes into a pipe; returns the read end,
 * non-blocking, as the library's streams are. */
static int start_feed(pthread_t *t, struct feed *f, size_t total)
{
    int fds[2];

    ck_assert_int_eq(p2i_fd_pipe(fds), 0);
    ck_assert_int_eq(p2i_fd_set_nonblock(fds[0]), 0);
    p2i_fd_grow_pipe(fds[0]);
    f->fd = fds[1];
    f->total = total;
    ck_assert_int_eq(pthread_create(t, NULL, feed_main, f), 0);
    return fds[0];
}

/* Reads fd through r to EOF with reads of changing sizes into buffers at
 * changing offsets (the small ones below the relay's minimum), checking
 * every byte; returns how many came. */
static size_t drain(struct relay *r, int fd, bool bulk)
{
    static const size_t sizes[] = {1 << 20, 100, 200000, 65536, 1 << 20, 4097};
    static const size_t offsets[] = {0, 16, 1, 48, 4095, 32};
    unsigned char *mem = malloc((1 << 20) + 8192);
    size_t got = 0, i = 0, j, n;
    ssize_t k;

    ck_assert_ptr_nonnull(mem);
    for (;;) {
        unsigned char *buf = mem + offsets[i % 6];

        n = sizes[i++ % 6];
        k = p2i_relay_read(r, fd, buf, n, bulk);
        if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
            ck_assert_int_ge(p2i_fd_wait(fd, false, NULL), 0);
            continue;
        }
        ck_assert_msg(k >= 0, "read failed: %s", strerror(errno));
        if (k == 0)
            break;
        ck_assert_uint_le((size_t)k, n);
        for (j = 0; j < (size_t)k; j++)
            if (buf[j] != byte_at(got + j))
                ck_abort_msg("byte %zu: %d, not %d", got + j, buf[j], byte_at(got + j));
        got += (size_t)k;
    }
    free(mem);
    return got;
}

static bool cloexec(int fd)
{
    return (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
}

START_TEST(a_relay_delivers_every_byte_once_and_in_order)
{
    struct relay r;
    struct feed f;
    pthread_t t;
    int fd;

    p2i_relay_init(&r);
    fd = start_feed(&t, &f, TOTAL);
    ck_assert_uint_eq(drain(&r, fd, true), TOTAL);
    pthread_join(t, NULL);
#ifdef HAVE_SPLICE
    /* Made at the second bulk read, close-on-exec like every descriptor
     * of ours. */
    ck_assert_int_ge(r.rfd, 3);
    ck_assert_int_ge(r.wfd, 3);
    ck_assert(cloexec(r.rfd) && cloexec(r.wfd));
    ck_assert(!r.off);
#endif
    ck_assert_uint_eq(r.held, 0);
    p2i_relay_close(&r);
    ck_assert_int_eq(r.rfd, -1);
    ck_assert_int_eq(r.wfd, -1);
    p2i_relay_close(&r); /* twice is harmless */
    close(fd);
}
END_TEST

START_TEST(a_stream_that_is_not_bulk_gets_no_relay)
{
    struct relay r;
    struct feed f;
    pthread_t t;
    int fd, before = count_fds();

    p2i_relay_init(&r);
    fd = start_feed(&t, &f, 4u << 20);
    ck_assert_uint_eq(drain(&r, fd, false), 4u << 20);
    pthread_join(t, NULL);
    ck_assert_int_eq(r.rfd, -1);
    ck_assert_int_eq(count_fds(), before + 1); /* the pipe's read end only */
    close(fd);
}
END_TEST

/* A stream whose last bytes make it bulk: the read after them sees EOF
 * and must not make a relay first (a pipe and four fcntl calls for
 * nothing). */
START_TEST(a_stream_that_ends_as_it_turns_bulk_gets_no_relay)
{
    unsigned char *buf = malloc(1 << 20);
    struct relay r;
    struct feed f;
    pthread_t t;
    int fd, before = count_fds();
    ssize_t k;

    ck_assert_ptr_nonnull(buf);
    p2i_relay_init(&r);
    fd = start_feed(&t, &f, 1u << 20);
    ck_assert_uint_eq(drain(&r, fd, false), 1u << 20);
    pthread_join(t, NULL);
    while ((k = p2i_relay_read(&r, fd, buf, 1 << 20, true)) < 0 && errno == EINTR)
        ;
    ck_assert_int_eq(k, 0);
    ck_assert_int_eq(r.rfd, -1);
    ck_assert_int_eq(count_fds(), before + 1); /* the pipe's read end only */
    close(fd);
    free(buf);
}
END_TEST

START_TEST(a_refused_splice_turns_the_relay_off_and_loses_nothing)
{
    struct relay r;
    struct feed f;
    pthread_t t;
    int fd;

#ifdef SYS_splice
    if (seccomp_refuse_one(SYS_splice, EPERM) < 0)
        return; /* no seccomp here: nothing to refuse with */
#endif
    p2i_relay_init(&r);
    fd = start_feed(&t, &f, TOTAL);
    ck_assert_uint_eq(drain(&r, fd, true), TOTAL);
    pthread_join(t, NULL);
    ck_assert(r.off);
    ck_assert_int_eq(r.rfd, -1);
    ck_assert_int_eq(r.wfd, -1);
    close(fd);
}
END_TEST

START_TEST(a_relay_at_the_descriptor_limit_is_never_made)
{
    struct relay r;
    struct feed f;
    struct rlimit rl, low;
    pthread_t t;
    int fd;

    int spare[256], n = 0;

    p2i_relay_init(&r);
    fd = start_feed(&t, &f, TOTAL);
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    low = rl;
    low.rlim_cur = 256;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
    /* Every number below the limit taken: no room for the relay's pipe. */
    while (n < 256 && (spare[n] = dup(0)) >= 0)
        n++;
    ck_assert_int_eq(errno, EMFILE);
    ck_assert_uint_eq(drain(&r, fd, true), TOTAL);
    while (n > 0)
        close(spare[--n]);
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    pthread_join(t, NULL);
#ifdef HAVE_SPLICE
    ck_assert(r.off);
#endif
    ck_assert_int_eq(r.rfd, -1);
    close(fd);
}
END_TEST

/* p2i_fd_read of a large request lands on the buffer's next 64-byte
 * boundary and moves the bytes down: they must start at buf, whatever its
 * offset, and nothing past buf + n may be touched. */
START_TEST(a_large_read_into_a_buffer_at_any_offset_gets_its_bytes_at_the_start)
{
    const size_t n = 256 * 1024;
    unsigned char *mem = malloc(n + 4096 + 64), *buf, *src = malloc(n);
    int fds[2];
    size_t i, off;
    ssize_t k;

    ck_assert_ptr_nonnull(mem);
    ck_assert_ptr_nonnull(src);
    for (i = 0; i < n; i++)
        src[i] = byte_at(i);
    for (off = 0; off < 64; off += 8) {
        buf = (unsigned char *)(((uintptr_t)mem + 4095) & ~(uintptr_t)4095) + off;
        memset(buf, 0xee, n + 64);
        ck_assert_int_eq(p2i_fd_pipe(fds), 0);
        p2i_fd_grow_pipe(fds[1]);
        ck_assert_int_eq(write(fds[1], src, n), (ssize_t)n);
        k = p2i_fd_read(fds[0], buf, n);
        ck_assert_int_gt(k, (ssize_t)(n - 4096 - 64)); /* whole pages, less the landing */
        ck_assert_int_le(k, (ssize_t)n);
        ck_assert_int_eq(memcmp(buf, src, (size_t)k), 0);
        for (i = n; i < n + 64; i++)
            ck_assert_int_eq(buf[i], 0xee);
        close(fds[0]);
        close(fds[1]);
    }
    free(mem);
    free(src);
}
END_TEST

static const struct test_case cases[] = {
    TEST(relay, a_relay_delivers_every_byte_once_and_in_order),
    TEST(relay, a_stream_that_is_not_bulk_gets_no_relay),
    TEST(relay, a_stream_that_ends_as_it_turns_bulk_gets_no_relay),
    TEST(relay, a_refused_splice_turns_the_relay_off_and_loses_nothing),
    TEST(relay, a_relay_at_the_descriptor_limit_is_never_made),
    TEST(relay, a_large_read_into_a_buffer_at_any_offset_gets_its_bytes_at_the_start),
};

TEST_MAIN("relay", cases, .timeout = 60)
