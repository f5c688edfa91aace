/* fuzz_ringbuf: libFuzzer target for lib/ring/ringbuf.c.
 *
 * The input is a program of ring operations, run on one thread against a
 * trivial model (a flat array of the bytes in flight).  Every byte read or
 * peeked must be the model's next byte, lengths must agree after every
 * step, and errors must be the specified ones.  The producer's bytes are a
 * position-dependent sequence, so a lost, repeated or stale byte shows.
 * Blocking calls are only made when they cannot block (peek only with data
 * or after the producer closed).
 *
 * Interleavings of the two threads that matter are expressed as sequences:
 * "reserve, consumer drains, fill, commit" is one of the generated ops. */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "popen2.h"
#include "ring/ring.h"

#define MAX_BYTES (256 * 1024) /* bytes produced per input, to keep runs fast */

struct model {
    unsigned char *bytes; /* everything ever produced, by producer offset */
    size_t produced;      /* bytes appended or committed */
    size_t consumed;      /* bytes read, consumed or dropped */
    int producer_err;
    int consumer_err;
    int producer_done, consumer_done;
    int spill; /* a limit with POPEN2_SPILL is set */
};

struct input {
    const uint8_t *p;
    size_t n;
};

static unsigned take(struct input *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static unsigned take16(struct input *in)
{
    return take(in) | take(in) << 8;
}

static unsigned char byte_at(size_t off)
{
    return (unsigned char)(off * 131 + (off >> 8) * 7 + 3);
}

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_ringbuf: %s failed at line %d\n", #c, __LINE__);                 \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static size_t in_flight(const struct model *m)
{
    return m->consumer_done ? 0 : m->produced - m->consumed;
}

static void check_bytes(const struct model *m, const unsigned char *got, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        CHECK(got[i] == m->bytes[m->consumed + i]);
}

static void produce(struct model *m, unsigned char *dst, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        m->bytes[m->produced + i] = dst[i] = byte_at(m->produced + i);
}

static void consumer_read(struct ringbuf *rb, struct model *m, size_t want)
{
    unsigned char buf[8192];
    ssize_t r;

    if (m->consumer_done)
        return;
    if (want > sizeof buf)
        want = sizeof buf;
    r = p2i_ringbuf_read(rb, buf, want, false);
    if (in_flight(m) == 0) {
        /* Empty: EOF (or the producer's error) once closed, else EAGAIN. */
        CHECK(r == (m->producer_done ? -m->producer_err : -EAGAIN));
        return;
    }
    if (want == 0) {
        CHECK(r == 0);
        return;
    }
    CHECK(r > 0 && (size_t)r <= want && (size_t)r <= in_flight(m));
    /* Unbounded, it hands over everything it has up to want; with a spill
     * file a read may stop where the file's part ends (a short read). */
    if (!m->spill)
        CHECK((size_t)r == (want < in_flight(m) ? want : in_flight(m)));
    check_bytes(m, buf, (size_t)r);
    m->consumed += (size_t)r;
}

static void consumer_peek(struct ringbuf *rb, struct model *m, size_t k)
{
    const void *data;
    size_t n;

    if (m->spill || m->consumer_done || (in_flight(m) == 0 && !m->producer_done))
        return; /* would block, or not a use of a bounded ring */
    p2i_ringbuf_peek(rb, &data, &n);
    if (in_flight(m) == 0) {
        CHECK(n == 0);
        p2i_ringbuf_consume(rb, 0);
        return;
    }
    CHECK(n > 0 && n <= in_flight(m));
    check_bytes(m, data, n);
    if (k > n)
        k = n;
    p2i_ringbuf_consume(rb, k);
    m->consumed += k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = {data, size};
    struct ringbuf rb;
    struct model m = {0};
    unsigned char *src = NULL;
    ssize_t r;
    void *space;
    size_t n, len;
    int op;

    if (p2i_ringmem_init(&rb, 1 + take16(&in) % 4096) != 0)
        return 0;
    if (take(&in) & 1) {
        struct ring_limit lim = {1 + take16(&in) % 8192, POPEN2_SPILL};

        CHECK(p2i_ringlimit_set(&rb, lim) == 0);
        m.spill = 1;
    }
    /* Allocated once: a fresh 256 KiB per run costs ASan more than the run. */
    static unsigned char bytes_buf[MAX_BYTES + 65536], src_buf[65536];
    m.bytes = bytes_buf;
    src = src_buf;
    while (in.n) {
        op = (int)(take(&in) % 9);
        switch (op) {
        case 0: /* append (the input ring's producer: never bounded) */
            len = take16(&in) % 20000;
            if (m.spill || m.producer_done || m.produced + len > MAX_BYTES)
                break;
            for (n = 0; n < len; n++)
                src[n] = byte_at(m.produced + n);
            r = p2i_ringbuf_append(&rb, src, len);
            if (m.consumer_done) {
                CHECK(r == -(m.consumer_err ? m.consumer_err : EPIPE));
            } else {
                CHECK(r == (ssize_t)len);
                memcpy(m.bytes + m.produced, src, len);
                m.produced += len;
            }
            break;
        case 1:   /* reserve, fill part, commit */
        case 2: { /* reserve, consumer drains meanwhile, fill, commit */
            size_t want = 1 + take16(&in) % 32768, fill;

            if (m.producer_done || m.produced + 65536 > MAX_BYTES)
                break;
            r = p2i_ringbuf_reserve(&rb, want, &space, &n);
            if (m.consumer_done) {
                CHECK(r == -EPIPE);
                break;
            }
            CHECK(r == 0 && n >= 1);
            if (op == 2)
                consumer_read(&rb, &m, in_flight(&m));
            fill = 1 + take16(&in) % 65536;
            if (fill > n)
                fill = n;
            produce(&m, space, fill);
            r = p2i_ringbuf_commit(&rb, fill);
            CHECK(r == 0);
            m.produced += fill;
            break;
        }
        case 3:
            consumer_read(&rb, &m, take16(&in));
            break;
        case 4:
            consumer_peek(&rb, &m, take16(&in));
            break;
        case 5: /* producer ends, with EOF or an error */
            if (!m.producer_done) {
                m.producer_err = take(&in) % 2 ? EIO : 0;
                m.producer_done = 1;
                p2i_ringbuf_close_producer(&rb, m.producer_err);
            }
            break;
        case 6: /* consumer goes away */
            if (take(&in) % 4 == 0 && !m.consumer_done) {
                m.consumer_err = take(&in) % 2 ? ECONNRESET : 0;
                m.consumer_done = 1;
                p2i_ringbuf_close_consumer(&rb, m.consumer_err);
                m.consumed = m.produced;
            }
            break;
        case 7:
            if (!m.consumer_done)
                consumer_read(&rb, &m, 1);
            break;
        case 8:
            break;
        }
        /* Unbounded, everything is in memory; with a spill file, memory
         * plus file. */
        if (m.spill)
            CHECK(p2i_ringlimit_available(&rb) == in_flight(&m));
        else
            CHECK(p2i_ringbuf_length(&rb) == in_flight(&m));
    }
    /* Drain what is left: every byte still comes out in order. */
    while (!m.consumer_done && in_flight(&m))
        consumer_read(&rb, &m, 8192);
    p2i_ringmem_destroy(&rb);
    return 0;
}
