/* The library against the bare Win32 calls, under Wine (scripts/bench-wine.sh
 * cross-builds and runs it): reading the child's stdout to EOF with fread on
 * fromchild and with popen2_readinto, against a ReadFile loop on an
 * anonymous pipe; and spawn + wait with popen2_Popen3v, against
 * CreateProcess + WaitForSingleObject.  The contenders take turns in each
 * round, so a change of load meanwhile falls on all of them; medians of
 * the rounds, printed as ratios to the bare calls.  The writer is
 * child_win.exe (tests/wine/child_win.c), beside this program. */
#include <popen2.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#define CHUNK 65536
#define MAX_ROUNDS 64

static char child[MAX_PATH];
static char buf[CHUNK];

static double now_s(void)
{
    LARGE_INTEGER t, f;

    QueryPerformanceCounter(&t);
    QueryPerformanceFrequency(&f);
    return (double)t.QuadPart / (double)f.QuadPart;
}

/* Starts child_win.exe with args, its stdout the handle out (NULL: ours). */
static HANDLE start(const char *args, HANDLE out)
{
    char line[2 * MAX_PATH];
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;

    snprintf(line, sizeof line, "\"%s\" %s", child, args);
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    if (out) {
        si.dwFlags = STARTF_USESTDHANDLES;
        si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
        si.hStdOutput = out;
        si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
    }
    if (!CreateProcessA(NULL, line, NULL, NULL, out != NULL, 0, NULL, NULL, &si, &pi)) {
        fprintf(stderr, "CreateProcess failed: %lu\n", (unsigned long)GetLastError());
        exit(1);
    }
    CloseHandle(pi.hThread);
    return pi.hProcess;
}

static void check_total(const char *who, long long got, long long want)
{
    if (got != want) {
        fprintf(stderr, "%s read %lld bytes of %lld\n", who, got, want);
        exit(1);
    }
}

static double bare_read(long long size)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    char args[64];
    HANDLE r, w, proc;
    DWORD n;
    long long total = 0;
    double t0 = now_s();

    /* The write end alone is inherited. */
    CreatePipe(&r, &w, &sa, CHUNK);
    SetHandleInformation(r, HANDLE_FLAG_INHERIT, 0);
    snprintf(args, sizeof args, "out %lld", size);
    proc = start(args, w);
    CloseHandle(w);
    while (ReadFile(r, buf, sizeof buf, &n, NULL) && n > 0)
        total += n;
    WaitForSingleObject(proc, INFINITE);
    CloseHandle(proc);
    CloseHandle(r);
    check_total("ReadFile", total, size);
    return now_s() - t0;
}

/* fread on fromchild, or (direct) popen2_readinto without the FILE. */
static double lib_read(long long size, bool direct)
{
    char num[32];
    char *argv[] = {child, "out", num, NULL};
    popen2_proc *p;
    long long total = 0;
    double t0 = now_s();
    ssize_t n;

    snprintf(num, sizeof num, "%lld", size);
    p = popen2_Popen3v(argv, 0, -1);
    if (!p) {
        perror("popen2_Popen3v");
        exit(1);
    }
    fclose(popen2_tochild(p));
    if (direct)
        while ((n = popen2_readinto(p, 1, buf, sizeof buf)) > 0)
            total += n;
    else
        while ((n = (ssize_t)fread(buf, 1, sizeof buf, popen2_fromchild(p))) > 0)
            total += n;
    popen2_wait(p);
    popen2_free(p);
    check_total(direct ? "popen2_readinto" : "fread", total, size);
    return now_s() - t0;
}

static double bare_spawn(int n)
{
    double t0 = now_s();

    for (int i = 0; i < n; i++) {
        HANDLE proc = start("exit 0", NULL);

        WaitForSingleObject(proc, INFINITE);
        CloseHandle(proc);
    }
    return (now_s() - t0) / n;
}

static double lib_spawn(int n)
{
    char *argv[] = {child, "exit", "0", NULL};
    double t0 = now_s();

    for (int i = 0; i < n; i++) {
        popen2_proc *p = popen2_Popen3v(argv, 0, -1);

        if (!p) {
            perror("popen2_Popen3v");
            exit(1);
        }
        popen2_wait(p);
        popen2_free(p);
    }
    return (now_s() - t0) / n;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    long long mib = argc > 2 ? atoll(argv[2]) : 64, size = mib << 20;
    int spawns = argc > 3 ? atoi(argv[3]) : 20;
    double t[5][MAX_ROUNDS], m[5];
    char *slash;

    if (rounds < 1 || rounds > MAX_ROUNDS || mib < 1 || spawns < 1)
        return 2;
    GetModuleFileNameA(NULL, child, sizeof child);
    slash = strrchr(child, '\\');
    strcpy(slash ? slash + 1 : child, "child_win.exe");
    for (int r = 0; r < rounds; r++) {
        t[0][r] = bare_read(size);
        t[1][r] = lib_read(size, false);
        t[4][r] = lib_read(size, true);
        t[2][r] = bare_spawn(spawns);
        t[3][r] = lib_spawn(spawns);
    }
    for (int i = 0; i < 5; i++)
        m[i] = median(t[i], rounds);
    printf("Under Wine (figures are Wine's, not Windows'): %d interleaved rounds, medians\n", rounds);
    printf("read %lld MiB of the child's stdout to EOF, throughput as a ratio to ReadFile:\n", mib);
    printf("  ReadFile loop on an anonymous pipe  1.00x (%.0f MiB/s under Wine)\n", mib / m[0]);
    printf("  fread on popen2_fromchild           %.2fx\n", m[0] / m[1]);
    printf("  popen2_readinto loop                %.2fx\n", m[0] / m[4]);
    printf("spawn + wait of child_win.exe exit 0 (%d per round), time as a ratio:\n", spawns);
    printf("  CreateProcess + WaitForSingleObject 1.00x (%.0f us under Wine)\n", m[2] * 1e6);
    printf("  popen2_Popen3v + popen2_wait + free %.2fx\n", m[3] / m[2]);
    return 0;
}
