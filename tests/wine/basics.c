/* The library under Wine (cross-built with mingw-w64): one line per test,
 * "ok NAME" or "FAIL NAME: why"; exits 1 when any failed.  The children are
 * cmd.exe and child_win.exe (beside this program).  scripts/check-wine.sh
 * runs it under an outer timeout, so a deadlock fails instead of hanging. */
#include <popen2.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

static int failed;
static char child[MAX_PATH];

#define CHECK(name, cond, ...)                                        \
    do {                                                              \
        if (cond) {                                                   \
            printf("ok %s\n", name);                                  \
        } else {                                                      \
            failed = 1;                                               \
            printf("FAIL %s: ", name);                                \
            printf(__VA_ARGS__);                                      \
            printf(" (errno %d)\n", errno);                           \
        }                                                             \
        fflush(stdout);                                               \
    } while (0)

static size_t drain(FILE *f, int want)
{
    char buf[65536];
    size_t n, total = 0;
    int bad = 0;

    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        for (size_t i = 0; i < n; i++)
            bad |= buf[i] != want;
        total += n;
    }
    return bad ? (size_t)-1 : total;
}

static void text_and_binary(void)
{
    char line[64] = "";
    FILE *out, *in, *err;
    int r;

    r = popen2_popen2("echo hi", -1, "t", &out, &in);
    CHECK("popen2_t", r == 0 && fclose(in) == 0 && fgets(line, sizeof line, out) &&
                          strcmp(line, "hi\n") == 0 && fclose(out) == 0,
          "text line");
    r = popen2_popen2("echo hi", -1, "b", &out, &in);
    CHECK("popen2_b", r == 0 && fclose(in) == 0 && fgets(line, sizeof line, out) &&
                          strcmp(line, "hi\r\n") == 0 && fclose(out) == 0,
          "binary line");
    r = popen2_popen3("echo hi", -1, "t", &out, &in, &err);
    CHECK("popen3_t", r == 0 && fclose(in) == 0 && fgets(line, sizeof line, out) &&
                          strcmp(line, "hi\n") == 0 && fclose(out) == 0 && fclose(err) == 0,
          "text line");
    r = popen2_popen4("echo hi 1>&2", -1, "t", &out, &in);
    CHECK("popen4_t_merges_stderr", r == 0 && fclose(in) == 0 && fgets(line, sizeof line, out) &&
                                        strcmp(line, "hi \n") == 0 && fclose(out) == 0,
          "text line <%s>", line);
}

static void flow_control(void)
{
    char *argv[] = {child, "flood", "4194304", NULL};
    FILE *out, *in, *err;
    size_t o, e;
    int r;

    /* The child fills stderr first while we read stdout to its end. */
    r = popen2_popen3v(argv, -1, "b", &out, &in, &err);
    if (r < 0) {
        CHECK("popen3_flow_control", 0, "spawn");
        return;
    }
    fclose(in);
    o = drain(out, 'o');
    e = drain(err, 'e');
    CHECK("popen3_flow_control", o == 4194304 && e == 4194304, "stdout %zu stderr %zu", o, e);
    fclose(out);
    fclose(err);
}

static void merged(void)
{
    char *argv[] = {child, "flood", "100000", NULL};
    FILE *out, *in;
    char buf[65536];
    size_t n, total = 0;
    int r = popen2_popen4v(argv, -1, "b", &out, &in);

    if (r == 0) {
        fclose(in);
        while ((n = fread(buf, 1, sizeof buf, out)) > 0)
            total += n;
        fclose(out);
    }
    CHECK("popen4_merged", r == 0 && total == 200000, "got %zu", total);
}

/* The calls that read an output without stdio see every byte of it while
 * the caller never asked for the stream's FILE: nothing reads ahead into a
 * FILE nobody reads. */
#define DIRECT_BYTES (16u << 20)

static void readinto_gets_every_byte(void)
{
    char *argv[] = {child, "out", "16777216", NULL};
    popen2_proc *p = popen2_Popen3v(argv, 0, -1);
    static char buf[1 << 20];
    size_t total = 0;
    ssize_t n = 0;
    int bad = 0;

    while (p && (n = popen2_readinto(p, 1, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            bad |= buf[i] != 'o';
        total += (size_t)n;
    }
    CHECK("readinto_gets_every_byte", p && n == 0 && !bad && total == DIRECT_BYTES,
          "got %zu of %u, last %zd", total, DIRECT_BYTES, n);
    if (p)
        popen2_wait(p);
    popen2_free(p);
}

static void read_gets_every_byte(void)
{
    char *argv[] = {child, "out", "1048576", NULL};
    popen2_proc *p = popen2_Popen3v(argv, 0, -1);
    char buf[65536];
    size_t total = 0;
    ssize_t n = 0;

    while (p) {
        n = popen2_read(p, 1, buf, sizeof buf);
        if (n > 0)
            total += (size_t)n;
        else if (n < 0 && errno == EAGAIN)
            Sleep(1);
        else
            break;
    }
    CHECK("read_gets_every_byte", p && n == 0 && total == 1048576, "got %zu, last %zd", total, n);
    if (p)
        popen2_wait(p);
    popen2_free(p);
}

static void communicate_gets_every_byte(void)
{
    char *argv[] = {child, "flood", "1048576", NULL};
    popen2_proc *p = popen2_Popen3v(argv, 1, -1);
    char *out = NULL, *err = NULL;
    size_t olen = 0, elen = 0;
    int st = p ? popen2_communicate(p, NULL, 0, &out, &olen, &err, &elen, -1) : -1;

    CHECK("communicate_gets_every_byte",
          p && st >= 0 && WIFEXITED(st) && olen == 1048576 && elen == 1048576 &&
              out[0] == 'o' && out[olen - 1] == 'o' && err[0] == 'e' && err[elen - 1] == 'e',
          "status %d stdout %zu stderr %zu", st, olen, elen);
    free(out);
    free(err);
    popen2_free(p);
}

static void argv_roundtrip(void)
{
    char *argv[] = {child, "args", "a b", "", "q\"uote", "back\\slash", "tail\\\\", "bs\\\"q",
                    "\xc3\xa9t\xc3\xa9", "\t", NULL};
    const char *want = "[a b]\n[]\n[q\"uote]\n[back\\slash]\n[tail\\\\]\n[bs\\\"q]\n[\xc3\xa9t\xc3\xa9]\n[\t]\n";
    char got[512] = "";
    popen2_proc *p = popen2_Popen3v(argv, 0, -1);
    size_t n = 0;

    if (p) {
        n = fread(got, 1, sizeof got - 1, popen2_fromchild(p));
        got[n] = '\0';
        popen2_wait(p);
        popen2_free(p);
    }
    CHECK("argv_quoting_roundtrip", p && strcmp(got, want) == 0, "got <%s>", got);
}

static void enoent(void)
{
    char *argv[] = {"no-such-program-here", NULL};
    popen2_proc *p;

    errno = 0;
    p = popen2_Popen3v(argv, 0, -1);
    CHECK("enoent_at_creation", !p && errno == ENOENT, "p %p", (void *)p);
}

static void batch_refused(void)
{
    char *argv[] = {"C:\\windows\\x.bat", "a&b", NULL};
    popen2_proc *p;

    errno = 0;
    p = popen2_Popen3v(argv, 0, -1);
    /* A .bat that does not exist is ENOENT before it is refused. */
    CHECK("batch_file_refused_or_missing", !p && (errno == EINVAL || errno == ENOENT), "p %p", (void *)p);
}

static void poll_wait_pid(void)
{
    char *argv[] = {child, "cat", NULL};
    popen2_proc *p = popen2_Popen3v(argv, 1, -1);
    char line[64] = "";
    int before, st;

    if (!p) {
        CHECK("poll_wait_pid_streams", 0, "spawn");
        return;
    }
    before = popen2_poll(p);
    fputs("round trip\n", popen2_tochild(p));
    fclose(popen2_tochild(p));
    fgets(line, sizeof line, popen2_fromchild(p));
    st = popen2_wait(p);
    CHECK("poll_wait_pid_streams",
          before == -1 && popen2_pid(p) > 0 && strcmp(line, "round trip\n") == 0 &&
              WIFEXITED(st) && WEXITSTATUS(st) == 0 && popen2_childerr(p) != NULL,
          "before %d line <%s> status %d", before, line, st);
    popen2_free(p);
}

static void exit_status(void)
{
    char *argv[] = {child, "exit", "7", NULL};
    popen2_proc *p = popen2_Popen3v(argv, 0, -1);
    long rc = 0;
    int st = p ? popen2_wait(p) : -1;

    CHECK("exit_status", p && WEXITSTATUS(st) == 7 && popen2_returncode(p, &rc) == 0 && rc == 7,
          "status %d rc %ld", st, rc);
    popen2_free(p);
}

/* The wait status holds the exit code shifted left by 8, so only its low
 * 8 bits survive there; the returncode keeps all 32, a crash's NTSTATUS
 * included (as a long of 32 bits: compared as unsigned). */
static void whole_exit_code(const char *name, const char *arg, unsigned long want)
{
    char *argv[] = {child, "exit", (char *)arg, NULL};
    popen2_proc *p = popen2_Popen3v(argv, 0, -1);
    long rc = 0;
    int st = p ? popen2_wait(p) : -1;
    int r = p ? popen2_returncode(p, &rc) : -1;

    CHECK(name, p && WIFEXITED(st) && WEXITSTATUS(st) == (int)(want & 0xff) && r == 0 &&
                    (unsigned long)rc == want,
          "status %d rc %ld (want %lu)", st, rc, want);
    popen2_free(p);
}

static void timeout_and_kill(void)
{
    char *argv[] = {child, "cat", NULL};
    popen2_proc *p = popen2_Popen3v(argv, 0, -1);
    int r, e, st;

    if (!p) {
        CHECK("wait_timeout_then_kill", 0, "spawn");
        return;
    }
    r = popen2_wait_timeout(p, 300);
    e = errno;
    popen2_kill(p);
    st = popen2_wait(p);
    CHECK("wait_timeout_then_kill", r == -1 && e == ETIMEDOUT && WEXITSTATUS(st) == 1,
          "r %d errno %d status %d", r, e, st);
    popen2_free(p);
}

static void group_kill(void)
{
    char cmd[MAX_PATH + 32];
    char *argv[] = {"cmd.exe", "/c", cmd, NULL};
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;
    int st;
    char buf[16];

    /* cmd.exe starts the child, which waits on its stdin (inherited); the
     * job ends both. */
    snprintf(cmd, sizeof cmd, "%s cat", child);
    popen2_attr_set_group(a, POPEN2_GROUP_NEW);
    p = popen2_spawnv(argv, a);
    popen2_attr_free(a);
    if (!p) {
        CHECK("group_new_kills_the_tree", 0, "spawn");
        return;
    }
    Sleep(300);
    popen2_kill(p);
    st = popen2_wait(p);
    /* The grandchild held stdout: EOF comes only once it died too. */
    fclose(popen2_tochild(p));
    CHECK("group_new_kills_the_tree", WEXITSTATUS(st) == 1 && fread(buf, 1, 1, popen2_fromchild(p)) == 0,
          "status %d", st);
    popen2_free(p);
}

/* An inheritable handle of the parent (made so by another part of the
 * program) stays out of the child: only the three standard ones are in its
 * handle list. */
static void only_three_handles(void)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE r, w;
    char num[32];
    char *argv[] = {child, "write-handle", num, NULL};
    popen2_proc *p;
    DWORD avail = 1;

    if (!CreatePipe(&r, &w, &sa, 0)) {
        CHECK("only_the_standard_handles_are_inherited", 0, "CreatePipe");
        return;
    }
    snprintf(num, sizeof num, "%lld", (long long)(intptr_t)w);
    p = popen2_Popen3v(argv, 0, -1);
    if (p)
        popen2_wait(p);
    CloseHandle(w);
    PeekNamedPipe(r, NULL, 0, NULL, &avail, NULL);
    /* Wine (8.0 here) gives the child every inheritable handle whatever
     * the handle list says: what this proves needs a real Windows. */
    if (p && avail && GetProcAddress(GetModuleHandleA("ntdll.dll"), "wine_get_version"))
        printf("skip only_the_standard_handles_are_inherited: Wine ignores the handle list\n");
    else
        CHECK("only_the_standard_handles_are_inherited", p && avail == 0, "%lu bytes arrived",
              (unsigned long)avail);
    CloseHandle(r);
    popen2_free(p);
}

static void enosys(void)
{
    popen2_attr *a = popen2_attr_new();
    char *argv[] = {child, "exit", "0", NULL};
    popen2_proc *p = popen2_Popen3v(argv, 0, -1);
    int r1, e1, r2, e2, r3, e3;

    r1 = popen2_event_fd(p);
    e1 = errno;
    r2 = popen2_attr_set_umask(a, 022);
    e2 = errno;
    r3 = popen2_attr_set_group(a, POPEN2_SESSION_NEW);
    e3 = errno;
    CHECK("posix_only_calls_enosys", r1 == -1 && e1 == ENOSYS && r2 == -1 && e2 == ENOSYS &&
                                         r3 == -1 && e3 == ENOSYS,
          "event_fd %d/%d umask %d/%d session %d/%d", r1, e1, r2, e2, r3, e3);
    popen2_wait(p);
    popen2_free(p);
    popen2_attr_free(a);
}

int main(void)
{
    char *slash;

    GetModuleFileNameA(NULL, child, sizeof child);
    slash = strrchr(child, '\\');
    strcpy(slash ? slash + 1 : child, "child_win.exe");
    text_and_binary();
    flow_control();
    merged();
    readinto_gets_every_byte();
    read_gets_every_byte();
    communicate_gets_every_byte();
    argv_roundtrip();
    enoent();
    batch_refused();
    poll_wait_pid();
    exit_status();
    whole_exit_code("returncode_is_the_whole_exit_code", "0x12345", 0x12345UL);
    whole_exit_code("returncode_keeps_a_crash_code", "3221225477", 0xC0000005UL);
    timeout_and_kill();
    group_kill();
    only_three_handles();
    enosys();
    return failed;
}
