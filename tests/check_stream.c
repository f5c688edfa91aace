/* check_stream: the FILE* layer as the caller sees it through the public
 * API: stdio functions, buffering modes, EOF, reading after the child is
 * gone, EPIPE on tochild without SIGPIPE, and what closing each stream does
 * to the child. */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#include "common.h"
#include "runner.h"
#include "children.h"
#include "popen2.h"

START_TEST(test_fileno_is_minus_one)
{
    popen2_proc *p = popen2_Popen3v(CHILD("cat"), 1, -1);

    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(fileno(popen2_fromchild(p)), -1);
    ck_assert_int_eq(fileno(popen2_tochild(p)), -1);
    ck_assert_int_eq(fileno(popen2_childerr(p)), -1);
    popen2_free(p);
}
END_TEST

/* fprintf + fflush out, getline back. */
START_TEST(test_fprintf_getline)
{
    popen2_proc *p = popen2_Popen3v(CHILD("cat"), 0, -1);
    char *line = NULL, want[64];
    size_t cap = 0;
    ssize_t n;
    int i;

    ck_assert_ptr_nonnull(p);
    for (i = 0; i < 1000; i++)
        ck_assert_int_gt(fprintf(popen2_tochild(p), "line %d of %s\n", i, "many"), 0);
    ck_assert_int_eq(fflush(popen2_tochild(p)), 0);
    /* Flushed, not closed: the first line comes back already. */
    n = getline(&line, &cap, popen2_fromchild(p));
    ck_assert_int_eq(n, (ssize_t)strlen("line 0 of many\n"));
    ck_assert_str_eq(line, "line 0 of many\n");
    ck_assert_int_eq(fclose(popen2_tochild(p)), 0);
    for (i = 1; i < 1000; i++) {
        snprintf(want, sizeof want, "line %d of many\n", i);
        ck_assert_int_eq(getline(&line, &cap, popen2_fromchild(p)), (ssize_t)strlen(want));
        ck_assert_str_eq(line, want);
    }
    ck_assert_int_eq(getline(&line, &cap, popen2_fromchild(p)), -1);
    ck_assert(feof(popen2_fromchild(p)));
    free(line);
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
}
END_TEST

/* fwrite / fputc / fputs in, fread / fgetc / fgets / ungetc out. */
START_TEST(test_fread_fgets)
{
    popen2_proc *p = popen2_Popen3v(CHILD("cat"), 0, 4096);
    FILE *in, *out;
    char buf[64];

    ck_assert_ptr_nonnull(p);
    in = popen2_tochild(p);
    out = popen2_fromchild(p);
    ck_assert_uint_eq(fwrite("0123456789", 1, 10, in), 10);
    ck_assert_int_eq(fputc('\n', in), '\n');
    ck_assert_int_ge(fputs("second line\nthird", in), 0);
    ck_assert_int_eq(fclose(in), 0);
    ck_assert_uint_eq(fread(buf, 1, 4, out), 4);
    ck_assert(memcmp(buf, "0123", 4) == 0);
    ck_assert_int_eq(fgetc(out), '4');
    ck_assert_int_eq(ungetc('X', out), 'X');
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, out));
    ck_assert_str_eq(buf, "X56789\n");
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, out));
    ck_assert_str_eq(buf, "second line\n");
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, out));
    ck_assert_str_eq(buf, "third");
    ck_assert_ptr_null(fgets(buf, sizeof buf, out));
    ck_assert(feof(out) && !ferror(out));
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
}
END_TEST

/* A fixed-size pattern through `cat` at every buffering mode, written and
 * read in odd-sized pieces: every byte arrives, in order. */
static const int bufsizes[] = {-1, 0, 1, 4096, 7};

START_TEST(test_bufsize_delivers_every_byte)
{
    enum { TOTAL = 1 << 20, PIECE = 1000 };
    popen2_proc *p = popen2_Popen3v(CHILD("cat"), 1, bufsizes[_i]);
    unsigned char buf[PIECE];
    size_t off, n;

    ck_assert_ptr_nonnull(p);
    for (off = 0; off < TOTAL; off += n) {
        n = TOTAL - off < PIECE ? TOTAL - off : PIECE;
        pattern_fill(buf, n, 40, off);
        ck_assert_uint_eq(fwrite(buf, 1, n, popen2_tochild(p)), n);
    }
    ck_assert_int_eq(fclose(popen2_tochild(p)), 0);
    ck_assert_uint_eq(read_pattern(popen2_fromchild(p), 40, 777), TOTAL);
    ck_assert_uint_eq(read_pattern(popen2_childerr(p), 41, 777), 0);
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
}
END_TEST

/* EOF comes once all bytes are read and then stays: every later read says
 * EOF again, even after clearerr. */
START_TEST(test_eof_sticky)
{
    popen2_proc *p = popen2_Popen3v(CHILD("pattern", "1", "10", "3"), 1, -1);
    unsigned char buf[32];
    FILE *out;
    int i;

    ck_assert_ptr_nonnull(p);
    out = popen2_fromchild(p);
    ck_assert_uint_eq(fread(buf, 1, sizeof buf, out), 10);
    ck_assert_uint_eq(pattern_check(buf, 10, 3, 0), 10);
    ck_assert(feof(out));
    for (i = 0; i < 3; i++) {
        ck_assert_uint_eq(fread(buf, 1, sizeof buf, out), 0);
        ck_assert_int_eq(fgetc(out), EOF);
        ck_assert(feof(out));
        clearerr(out);
        ck_assert_int_eq(fgetc(out), EOF);
        ck_assert(feof(out) && !ferror(out));
    }
    /* The empty stderr too. */
    ck_assert_int_eq(fgetc(popen2_childerr(p)), EOF);
    ck_assert_int_eq(fgetc(popen2_childerr(p)), EOF);
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
}
END_TEST

/* The bytes outlive the child: reaped first, read afterwards. */
START_TEST(test_read_after_reaped)
{
    popen2_proc *p = popen2_Popen3v(CHILD("both", "300000", "51", "52"), 1, 0);
    int st;

    ck_assert_ptr_nonnull(p);
    st = popen2_wait(p);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert_int_eq(popen2_poll(p), st);
    sleep_ms(20);
    ck_assert_uint_eq(read_pattern(popen2_childerr(p), 52, 4096), 300000);
    ck_assert_uint_eq(read_pattern(popen2_fromchild(p), 51, 100), 300000);
    popen2_free(p);
}
END_TEST

/* Writing to a child that has exited without reading: writes are accepted
 * (never blocking) until the writer thread has found the pipe broken; from
 * then on fflush fails with EPIPE.  No SIGPIPE reaches this process (its
 * default action would kill the test). */
START_TEST(test_write_after_child_exit_epipe)
{
    popen2_proc *p = popen2_Popen3v(CHILD("noread-exit", "0"), 0, -1);
    double until = now_s() + 10;
    int r = 0, err = 0;

    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(popen2_wait(p), 0);
    while (now_s() < until) {
        ck_assert_int_ge(fputs("more input\n", popen2_tochild(p)), 0);
        errno = 0;
        r = fflush(popen2_tochild(p));
        err = errno;
        if (r == EOF)
            break;
        sleep_ms(1); /* give the writer thread its turn */
    }
    ck_assert_int_eq(r, EOF);
    ck_assert_int_eq(err, EPIPE);
    ck_assert(ferror(popen2_tochild(p)));
    /* Still failing, still no signal. */
    clearerr(popen2_tochild(p));
    ck_assert_int_eq(fputc('x', popen2_tochild(p)), 'x');
    errno = 0;
    ck_assert_int_eq(fflush(popen2_tochild(p)), EOF);
    ck_assert_int_eq(errno, EPIPE);
    popen2_free(p);
}
END_TEST

/* The same unbuffered and in big pieces: 1 MiB the child never reads, then
 * fwrite itself comes up short with EPIPE (it used to claim success). */
START_TEST(test_fwrite_after_child_exit_epipe)
{
    popen2_proc *p = popen2_Popen3v(CHILD("noread-exit", "0"), 0, 0);
    static unsigned char chunk[1 << 20];
    double until = now_s() + 10;
    size_t w = sizeof chunk;
    int err = 0;

    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(popen2_wait(p), 0);
    pattern_fill(chunk, sizeof chunk, 60, 0);
    while (w == sizeof chunk && now_s() < until) {
        errno = 0;
        w = fwrite(chunk, 1, sizeof chunk, popen2_tochild(p));
        err = errno;
        sleep_ms(1);
    }
    ck_assert_uint_eq(w, 0);
    ck_assert_int_eq(err, EPIPE);
    ck_assert(ferror(popen2_tochild(p)));
    popen2_free(p);
}
END_TEST

/* Regression: input the writer thread could not deliver (the child exited
 * without reading it) was reported nowhere once it had left the FILE's
 * buffer: fflush had succeeded, and fclose said 0 too.  fclose now fails
 * with EPIPE when the writer has already met the broken pipe. */
START_TEST(test_fclose_reports_input_lost_before_it)
{
    popen2_proc *p = popen2_Popen3v(CHILD("noread-exit", "0"), 0, -1);
    int r;

    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(popen2_wait(p), 0);
    /* The reader thread ends at the child's EOF: only this thread is left. */
    ck_assert(EVENTUALLY(count_threads() == 1, 10));
    ck_assert_int_ge(fputs("never read\n", popen2_tochild(p)), 0);
    ck_assert_int_eq(fflush(popen2_tochild(p)), 0); /* queued: fine so far */
    /* The writer thread started, met EPIPE, dropped the bytes and ended. */
    ck_assert(EVENTUALLY(count_threads() == 1, 10));
    errno = 0;
    r = fclose(popen2_tochild(p));
    ck_assert_int_eq(r, EOF);
    ck_assert_int_eq(errno, EPIPE);
    ck_assert_ptr_null(popen2_tochild(p)); /* closed all the same */
    popen2_free(p);
}
END_TEST

/* Everything delivered: fclose says 0, even though the child is gone by
 * then. */
START_TEST(test_fclose_after_delivery_is_zero)
{
    popen2_proc *p = popen2_Popen3v(CHILD("count"), 0, -1);
    char line[64];

    ck_assert_ptr_nonnull(p);
    ck_assert_int_ge(fputs("four", popen2_tochild(p)), 0);
    ck_assert_int_eq(fflush(popen2_tochild(p)), 0);
    ck_assert_int_eq(fclose(popen2_tochild(p)), 0);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, popen2_fromchild(p)));
    ck_assert_int_eq(atoi(line), 4);
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
}
END_TEST

/* p's child writes "y" lines to the stream stream(p) gives for ever: one
 * is read, the stream closed, and the child must die of SIGPIPE. */
static void closing_sigpipes_the_writer(popen2_proc *p, FILE *(*stream)(popen2_proc *))
{
    char line[8];
    int st;

    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, stream(p)));
    ck_assert_str_eq(line, "y\n");
    ck_assert_int_eq(fclose(stream(p)), 0);
    ck_assert_ptr_null(stream(p));
    st = popen2_wait(p);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE, "status %#x", st);
    popen2_free(p);
}

/* Closing fromchild closes the pipe: a child still writing dies of SIGPIPE
 * as with Python's file objects. */
START_TEST(test_fclose_fromchild_sigpipes_child)
{
    closing_sigpipes_the_writer(popen2_Popen3v(CHILD("yes"), 0, -1), popen2_fromchild);
}
END_TEST

/* The same for childerr, through the shell's `yes` (no helper involved). */
START_TEST(test_fclose_childerr_sigpipes_child)
{
    closing_sigpipes_the_writer(popen2_Popen3("exec yes >&2", 1, -1), popen2_childerr);
}
END_TEST

/* fclose(tochild) gives the child EOF after every byte written before it. */
START_TEST(test_fclose_tochild_gives_eof)
{
    enum { TOTAL = 3 << 20 };
    popen2_proc *p = popen2_Popen3v(CHILD("count"), 0, -1);
    unsigned char chunk[12345];
    size_t off, n;
    char line[32];

    ck_assert_ptr_nonnull(p);
    for (off = 0; off < TOTAL; off += n) {
        n = TOTAL - off < sizeof chunk ? TOTAL - off : sizeof chunk;
        pattern_fill(chunk, n, 70, off);
        ck_assert_uint_eq(fwrite(chunk, 1, n, popen2_tochild(p)), n);
    }
    ck_assert_int_eq(fclose(popen2_tochild(p)), 0);
    ck_assert_ptr_null(popen2_tochild(p));
    ck_assert_ptr_nonnull(fgets(line, sizeof line, popen2_fromchild(p)));
    ck_assert_str_eq(line, "3145728\n");
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
}
END_TEST

/* Writing and fclose(tochild) do not wait for the delivery: the child reads
 * nothing until the test lets it (it stops itself), so were either to wait,
 * it would wait for ever and the test's timeout would say so. */
START_TEST(test_fclose_tochild_does_not_wait)
{
    popen2_proc *p = popen2_Popen3(STOPPED_FIRST("cat"), 0, -1);
    static unsigned char chunk[4][1 << 20];
    int i;

    ck_assert_ptr_nonnull(p);
    for (i = 0; i < 4; i++)
        pattern_fill(chunk[i], sizeof chunk[i], 80, (uint64_t)i * sizeof chunk[i]);
    for (i = 0; i < 4; i++)
        ck_assert_uint_eq(fwrite(chunk[i], 1, sizeof chunk[i], popen2_tochild(p)),
                          sizeof chunk[i]);
    ck_assert_int_eq(fclose(popen2_tochild(p)), 0);
    ck_assert(EVENTUALLY(proc_state(popen2_pid(p)) == 'T', 30));
    ck_assert_int_eq(popen2_send_signal(p, SIGCONT), 0);
    /* And everything arrives, in order, once the child reads. */
    ck_assert_uint_eq(read_pattern(popen2_fromchild(p), 80, 65536), (size_t)4 << 20);
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
}
END_TEST

static const struct test_case cases[] = {
    TEST(stdio, test_fileno_is_minus_one),
    TEST(stdio, test_fclose_reports_input_lost_before_it),
    TEST(stdio, test_fclose_after_delivery_is_zero),
    TEST(stdio, test_fprintf_getline),
    TEST(stdio, test_fread_fgets),
    TEST_LOOP(stdio, test_bufsize_delivers_every_byte, 0, (int)(sizeof bufsizes / sizeof bufsizes[0])),
    TEST(eof, test_eof_sticky),
    TEST(eof, test_read_after_reaped),
    TEST(close, test_write_after_child_exit_epipe),
    TEST(close, test_fwrite_after_child_exit_epipe),
    TEST(close, test_fclose_fromchild_sigpipes_child),
    TEST(close, test_fclose_childerr_sigpipes_child),
    TEST(close, test_fclose_tochild_gives_eof),
    TEST(close, test_fclose_tochild_does_not_wait),
};

TEST_MAIN("stream", cases, .timeout = 20)
