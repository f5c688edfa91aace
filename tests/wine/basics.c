/* The library under Wine (cross-built with mingw-w64): one line per test,
 * "ok NAME" or "FAIL NAME: why"; exits 1 when any failed.  The children are
 * cmd.exe and child_win.exe (beside this program).  scripts/check-wine.sh
 * runs it under an outer timeout, so a deadlock fails instead of hanging. */
#include <popen2.h>

#include <errno.h>
#include <fcntl.h>
#include <io.h>
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

/* ---- the options ---------------------------------------------------------- */

/* A fresh path under the temporary directory, in UTF-8 (name may be UTF-8). */
static void temp_path(char *out, size_t n, const char *name)
{
    wchar_t wtmp[MAX_PATH];
    char tmp[3 * MAX_PATH];

    GetTempPathW(MAX_PATH, wtmp);
    WideCharToMultiByte(CP_UTF8, 0, wtmp, -1, tmp, sizeof tmp, NULL, NULL);
    snprintf(out, n, "%sp2t-%lu-%s", tmp, (unsigned long)GetCurrentProcessId(), name);
}

/* The child's directory and a variable, both UTF-8 on our side and UTF-16
 * on the system's. */
static void cwd_and_env_in_utf8(void)
{
    char dir[4 * MAX_PATH], line[4 * MAX_PATH] = "", value[64] = "";
    wchar_t wdir[MAX_PATH];
    char *argv[] = {child, "where", "P2T_WORD", NULL};
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;
    const char *tail;
    FILE *out;

    temp_path(dir, sizeof dir, "d\xc3\xadr-\xc3\xa9");
    MultiByteToWideChar(CP_UTF8, 0, dir, -1, wdir, MAX_PATH);
    CreateDirectoryW(wdir, NULL);
    popen2_attr_set_cwd(a, dir);
    popen2_attr_setenv(a, "P2T_WORD", "w\xc3\xb6rd");
    p = popen2_spawnv(argv, a);
    if (p) {
        out = popen2_fromchild(p);
        if (fgets(line, sizeof line, out))
            fgets(value, sizeof value, out);
        popen2_wait(p);
    }
    tail = strrchr(line, '\\');
    CHECK("cwd_and_env_in_utf8",
          p && tail && strcmp(tail, "\\p2t-") > 0 && strstr(line, "-d\xc3\xadr-\xc3\xa9\n") &&
              strcmp(value, "w\xc3\xb6rd\n") == 0,
          "dir <%s> value <%s>", line, value);
    popen2_free(p);
    popen2_attr_free(a);
    RemoveDirectoryW(wdir);
}

/* stdin from a file by name, stdout into a descriptor, stderr nowhere. */
static void redirects(void)
{
    char in[4 * MAX_PATH], outp[4 * MAX_PATH], got[64] = "";
    char *argv[] = {child, "cat", NULL};
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;
    FILE *f;
    int fd, st = -1;

    temp_path(in, sizeof in, "in.txt");
    temp_path(outp, sizeof outp, "out.txt");
    f = fopen(in, "wb");
    fputs("from a file\n", f);
    fclose(f);
    fd = _open(outp, _O_WRONLY | _O_CREAT | _O_TRUNC | _O_BINARY, 0600);
    popen2_attr_set_stream_file(a, 0, in, O_RDONLY, 0);
    popen2_attr_set_stream_fd(a, 1, fd);
    _close(fd); /* the attr holds its own duplicate */
    popen2_attr_set_stream(a, 2, POPEN2_DEVNULL);
    p = popen2_spawnv(argv, a);
    if (p)
        st = popen2_wait(p);
    popen2_free(p);
    popen2_attr_free(a); /* closes the duplicate: the file can be read */
    f = fopen(outp, "rb");
    if (f) {
        fgets(got, sizeof got, f);
        fclose(f);
    }
    CHECK("redirects_file_fd_devnull",
          p && WIFEXITED(st) && WEXITSTATUS(st) == 0 && strcmp(got, "from a file\n") == 0,
          "status %d got <%s>", st, got);
    DeleteFileA(in);
    DeleteFileA(outp);
}

/* A SPILL limit: the child writes 4 MiB into a 64 KiB ring and ends before
 * we read; every byte comes back, most of it through the spill file. */
static void spill_limit(void)
{
    char *argv[] = {child, "out", "4194304", NULL};
    popen2_attr *a = popen2_attr_new();
    struct popen2_stream_stats s = {0};
    static char buf[1 << 16];
    popen2_proc *p;
    size_t total = 0;
    ssize_t n = 0;
    int st = -1;

    popen2_attr_set_limit(a, 1, 64 * 1024, POPEN2_SPILL);
    popen2_attr_set_stream(a, 0, POPEN2_DEVNULL);
    p = popen2_spawnv(argv, a);
    if (p) {
        st = popen2_wait(p);
        while ((n = popen2_readinto(p, 1, buf, sizeof buf)) > 0)
            total += (size_t)n;
        popen2_stream_stats(p, 1, &s);
    }
    CHECK("spill_limit_keeps_every_byte",
          p && WIFEXITED(st) && n == 0 && total == 4194304 && s.total == 4194304 &&
              s.spilled > 0 && s.high_water <= 64 * 1024 + 65536,
          "status %d got %zu total %llu spilled %llu high %zu", st, total, s.total, s.spilled,
          s.high_water);
    popen2_free(p);
    popen2_attr_free(a);
}

/* Unbuffered tochild, drain, a timed line read, signal 0, stop. */
static void bufsize_drain_stop(void)
{
    char *argv[] = {child, "cat", NULL};
    popen2_attr *a = popen2_attr_new();
    struct popen2_stream_stats s = {0};
    char *line = NULL;
    size_t cap = 0;
    popen2_proc *p;
    int drained = -1, alive = -1, st = -1, gone = 0, e = 0, le = 0;
    ssize_t len = -1;

    popen2_attr_set_bufsize(a, 0);
    p = popen2_spawnv(argv, a);
    if (p) {
        fputs("unbuffered\n", popen2_tochild(p)); /* no flush: bufsize 0 */
        drained = popen2_drain(p, 30000);
        len = popen2_getline(p, 1, &line, &cap, 30000);
        le = errno;
        popen2_stream_stats(p, 0, &s);
        alive = popen2_send_signal(p, 0);
        st = popen2_stop(p, 100);
        gone = popen2_send_signal(p, 0);
        e = errno;
    }
    CHECK("bufsize_drain_getline_stop",
          p && drained == 0 && len == 11 && strcmp(line, "unbuffered\n") == 0 && s.total == 11 &&
              alive == 0 && WIFEXITED(st) && gone == -1 && e == ESRCH,
          "drain %d line %zd/%d stats %llu alive %d status %d after %d/%d", drained, len, le,
          s.total, alive, st, gone, e);
    free(line);
    popen2_free(p);
    popen2_attr_free(a);
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
    cwd_and_env_in_utf8();
    redirects();
    spill_limit();
    bufsize_drain_stop();
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
