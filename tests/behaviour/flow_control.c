/* flow_control: the deadlock freedom that is the reason for this
 * library.  The popen2 documentation's flow-control example exactly, then
 * the versions that deadlock with plain pipes (the child blocks on a full
 * pipe the parent is not reading, the parent waits for the other one): each
 * must finish, with every byte checked.  A deadlock hits the Check timeout. */
#include <errno.h>
#include <sys/wait.h>

#include "common.h"
#include "runner.h"
#include "children.h"
#include "popen2.h"

#define MIB16 (16u << 20)

/* A shell command line running the helper child. */
static const char *child_cmd(char *buf, size_t size, const char *args)
{
    snprintf(buf, size, "'%s' %s", TEST_CHILD, args);
    return buf;
}

static void assert_exited_0(int st)
{
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
}

/* What one stream of a flood must carry: bytes of pattern seed, read in
 * pieces of piece bytes. */
struct flood {
    unsigned seed;
    size_t bytes, piece;
};

static void expect_flood(FILE *f, struct flood want)
{
    ck_assert_uint_eq(read_pattern(f, want.seed, want.piece), want.bytes);
}

/* Reads both streams of p to EOF, stderr first or stdout first (the order
 * is the point: the other stream must be drained meanwhile), then expects
 * exit 0 and frees p. */
static void expect_floods(popen2_proc *p, bool stderr_first, struct flood out, struct flood err)
{
    ck_assert_ptr_nonnull(p);
    if (stderr_first)
        expect_flood(popen2_childerr(p), err);
    expect_flood(popen2_fromchild(p), out);
    if (!stderr_first)
        expect_flood(popen2_childerr(p), err);
    assert_exited_0(popen2_wait(p));
    popen2_free(p);
}

/* Python's readlines(): every line to EOF, checked against "this is a test
 * N" as the documentation's child writes them. */
static void readlines_expect(FILE *f, int count)
{
    char *line = NULL, want[64];
    size_t cap = 0;
    int n = 0;

    while (getline(&line, &cap, f) > 0) {
        ck_assert_int_lt(n, count);
        snprintf(want, sizeof want, "this is a test %d\n", n);
        ck_assert_str_eq(line, want);
        n++;
    }
    free(line);
    ck_assert_int_eq(n, count);
    ck_assert(feof(f) && !ferror(f));
}

/* The documentation's example: the child writes 400 lines to stderr, then
 * 400 to stdout; the parent reads all of stderr, then stdout, then closes
 * the three files. */
START_TEST(test_doc_example)
{
    int kids = count_children();
    char cmd[512];
    FILE *r, *w, *e;

    ck_assert_int_eq(popen2_popen3(child_cmd(cmd, sizeof cmd, "doc-example"), -1, NULL, &r, &w, &e),
                     0);
    readlines_expect(e, 400);
    readlines_expect(r, 400);
    ck_assert_int_eq(fclose(r), 0);
    ck_assert_int_eq(fclose(e), 0);
    ck_assert_int_eq(fclose(w), 0);
    ck_assert(EVENTUALLY((popen2_cleanup(), count_children() == kids), 10));
}
END_TEST

/* 16 MiB to stderr while the parent reads stdout to EOF first: with plain
 * pipes the child blocks at 64 KiB of stderr and stdout never ends. */
START_TEST(test_stderr_flood_read_stdout_first)
{
    char cmd[1024], a[64], b[64];
    popen2_proc *p;

    snprintf(a, sizeof a, "pattern 2 %u 21", MIB16);
    snprintf(b, sizeof b, "pattern 1 %u 22", MIB16);
    snprintf(cmd, sizeof cmd, "'%s' %s && '%s' %s", TEST_CHILD, a, TEST_CHILD, b);
    p = popen2_Popen3(cmd, 1, -1);
    expect_floods(p, false, (struct flood){22, MIB16, 65536}, (struct flood){21, MIB16, 65536});

    /* Only stderr, no shell: stdout is empty and ends only with the child. */
    p = popen2_Popen3v(CHILD("pattern", "2", "16777216", "23"), 1, -1);
    expect_floods(p, false, (struct flood){0, 0, 4096}, (struct flood){23, MIB16, 4096});
}
END_TEST

/* The reverse: 16 MiB to stdout, the parent reads stderr to EOF first. */
START_TEST(test_stdout_flood_read_stderr_first)
{
    popen2_proc *p = popen2_Popen3v(CHILD("pattern", "1", "16777216", "24"), 1, -1);

    expect_floods(p, true, (struct flood){24, MIB16, 65536}, (struct flood){0, 0, 4096});
}
END_TEST

/* Both streams interleaved in 4 KiB pieces; the parent reads stdout fully,
 * then stderr. */
START_TEST(test_both_interleaved)
{
    popen2_proc *p = popen2_Popen3v(CHILD("both", "16777216", "25", "26"), 1, -1);

    expect_floods(p, false, (struct flood){25, MIB16, 65536}, (struct flood){26, MIB16, 65536});
}
END_TEST

/* Writes total bytes of pattern seed to f in piece-sized fwrites. */
static void write_pattern(FILE *f, unsigned seed, size_t total, size_t piece)
{
    unsigned char *buf = malloc(piece);
    size_t off, n;

    ck_assert_ptr_nonnull(buf);
    for (off = 0; off < total; off += n) {
        n = total - off < piece ? total - off : piece;
        pattern_fill(buf, n, seed, off);
        ck_assert_uint_eq(fwrite(buf, 1, n, f), n);
    }
    free(buf);
}

/* 16 MiB of pattern seed into p's `cat` in wpiece-sized writes, closed,
 * then read back in rpiece-sized reads, every byte checked; expects exit 0
 * and frees p. */
static void cat_roundtrip(popen2_proc *p, unsigned seed, size_t wpiece, size_t rpiece)
{
    ck_assert_ptr_nonnull(p);
    write_pattern(popen2_tochild(p), seed, MIB16, wpiece);
    ck_assert_int_eq(fclose(popen2_tochild(p)), 0);
    ck_assert_uint_eq(read_pattern(popen2_fromchild(p), seed, rpiece), MIB16);
    assert_exited_0(popen2_wait(p));
    popen2_free(p);
}

/* 16 MiB into `cat` before reading anything back: with plain pipes both
 * sides block once the two pipes are full. */
START_TEST(test_cat_write_all_first)
{
    popen2_proc *p = popen2_Popen3v(CHILD("cat"), 1, -1);
    double t0;

    ck_assert_ptr_nonnull(p);
    t0 = now_s();
    write_pattern(popen2_tochild(p), 27, MIB16, 65536);
    ck_assert_int_eq(fclose(popen2_tochild(p)), 0);
    fprintf(stderr, "flowcontrol: 16 MiB written to cat in %.3f s\n", now_s() - t0);
    ck_assert_uint_eq(read_pattern(popen2_fromchild(p), 27, 65536), MIB16);
    ck_assert_uint_eq(read_pattern(popen2_childerr(p), 0, 4096), 0);
    assert_exited_0(popen2_wait(p));
    popen2_free(p);

    /* The system's `cat` through the shell, in odd-sized pieces. */
    cat_roundtrip(popen2_Popen3("cat", 0, -1), 28, 12345, 54321);
}
END_TEST

/* Write everything, close, then wait for the child's exit before reading a
 * byte: `cat` must be able to push all 16 MiB out with nobody reading. */
START_TEST(test_cat_write_all_wait_then_read)
{
    popen2_proc *p = popen2_Popen3v(CHILD("cat"), 0, -1);

    ck_assert_ptr_nonnull(p);
    write_pattern(popen2_tochild(p), 29, MIB16, 1 << 20);
    ck_assert_int_eq(fclose(popen2_tochild(p)), 0);
    assert_exited_0(popen2_wait(p));
    ck_assert_uint_eq(read_pattern(popen2_fromchild(p), 29, 65536), MIB16);
    popen2_free(p);
}
END_TEST

/* ---- the same with Popen4 ----------------------------------------------- */

START_TEST(test_popen4_cat_write_all_first)
{
    cat_roundtrip(popen2_Popen4v(CHILD("cat"), -1), 30, 65536, 65536);
}
END_TEST

/* 16 MiB on stderr into the merged stream, read after wait(). */
START_TEST(test_popen4_stderr_flood)
{
    char cmd[512];
    popen2_proc *p = popen2_Popen4(child_cmd(cmd, sizeof cmd, "pattern 2 16777216 31"), -1);

    ck_assert_ptr_nonnull(p);
    assert_exited_0(popen2_wait(p));
    ck_assert_uint_eq(read_pattern(popen2_fromchild(p), 31, 65536), MIB16);
    popen2_free(p);
}
END_TEST

/* Both streams interleaved into one pipe: the pieces alternate exactly. */
START_TEST(test_popen4_both_interleaved)
{
    enum { PIECE = 4096 };
    popen2_proc *p = popen2_Popen4v(CHILD("both", "16777216", "32", "33"), -1);
    unsigned char *buf = malloc(2 * PIECE);
    size_t off;

    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(buf);
    for (off = 0; off < MIB16; off += PIECE) {
        ck_assert_uint_eq(fread(buf, 1, 2 * PIECE, popen2_fromchild(p)), 2 * PIECE);
        ck_assert_uint_eq(pattern_check(buf, PIECE, 32, off), PIECE);
        ck_assert_uint_eq(pattern_check(buf + PIECE, PIECE, 33, off), PIECE);
    }
    ck_assert_int_eq(fgetc(popen2_fromchild(p)), EOF);
    free(buf);
    assert_exited_0(popen2_wait(p));
    popen2_free(p);
}
END_TEST

static const struct test_case cases[] = {
    TEST_T(doc_example, test_doc_example, 10),
    /* 16 MiB cases take well under a second each; 30 s means stuck. */
    TEST(popen3, test_stderr_flood_read_stdout_first),
    TEST(popen3, test_stdout_flood_read_stderr_first),
    TEST(popen3, test_both_interleaved),
    TEST(popen3, test_cat_write_all_first),
    TEST(popen3, test_cat_write_all_wait_then_read),
    TEST(popen4, test_popen4_cat_write_all_first),
    TEST(popen4, test_popen4_stderr_flood),
    TEST(popen4, test_popen4_both_interleaved),
};

TEST_MAIN("flow_control", cases, .timeout = 30)
