/* The Windows child of tests/wine/basics.c, one mode per behaviour:
 *   args ARG...   prints each argument (UTF-8 as the C runtime's wide argv
 *                 gives it) in brackets, one per line
 *   cat           copies stdin to stdout (binary), each read as it comes
 *   flood N       writes N bytes to stderr first, then N to stdout
 *   out N         writes N bytes to stdout (bench/wine.c's writer)
 *   exit N        exits with N (any 32-bit code; 0x for hex)
 *   where NAME    prints its working directory, then the variable NAME
 *                 (both UTF-8, from the wide calls), a line each
 *   write-handle H  writes one byte to the handle numbered H (a handle it
 *                 should not have inherited), and exits 0 either way */
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <windows.h>

int main(void)
{
    int argc, i;
    wchar_t **wargv = CommandLineToArgvW(GetCommandLineW(), &argc);
    char buf[65536];
    size_t n;

    _setmode(0, _O_BINARY);
    _setmode(1, _O_BINARY);
    _setmode(2, _O_BINARY);
    if (argc < 2)
        return 2;
    if (wcscmp(wargv[1], L"args") == 0) {
        for (i = 2; i < argc; i++) {
            WideCharToMultiByte(CP_UTF8, 0, wargv[i], -1, buf, sizeof buf, NULL, NULL);
            printf("[%s]\n", buf);
        }
        return 0;
    }
    if (wcscmp(wargv[1], L"cat") == 0) {
        int k;

        /* What has arrived, at once: a line echoes before stdin ends. */
        while ((k = _read(0, buf, sizeof buf)) > 0) {
            fwrite(buf, 1, (size_t)k, stdout);
            fflush(stdout);
        }
        return 0;
    }
    if (wcscmp(wargv[1], L"flood") == 0 && argc > 2) {
        long total = wcstol(wargv[2], NULL, 10), left;

        memset(buf, 'e', sizeof buf);
        for (left = total; left > 0; left -= (long)n)
            n = fwrite(buf, 1, left > (long)sizeof buf ? sizeof buf : (size_t)left, stderr);
        memset(buf, 'o', sizeof buf);
        for (left = total; left > 0; left -= (long)n)
            n = fwrite(buf, 1, left > (long)sizeof buf ? sizeof buf : (size_t)left, stdout);
        return 0;
    }
    if (wcscmp(wargv[1], L"out") == 0 && argc > 2) {
        long long left = _wcstoi64(wargv[2], NULL, 10);

        memset(buf, 'o', sizeof buf);
        for (; left > 0; left -= (long long)n)
            n = fwrite(buf, 1, left > (long long)sizeof buf ? sizeof buf : (size_t)left, stdout);
        return 0;
    }
    if (wcscmp(wargv[1], L"where") == 0 && argc > 2) {
        wchar_t dir[MAX_PATH];
        const wchar_t *v = _wgetenv(wargv[2]);

        GetCurrentDirectoryW(MAX_PATH, dir);
        WideCharToMultiByte(CP_UTF8, 0, dir, -1, buf, sizeof buf, NULL, NULL);
        printf("%s\n", buf);
        WideCharToMultiByte(CP_UTF8, 0, v ? v : L"(unset)", -1, buf, sizeof buf, NULL, NULL);
        printf("%s\n", buf);
        return 0;
    }
    if (wcscmp(wargv[1], L"write-handle") == 0 && argc > 2) {
        DWORD put;

        WriteFile((HANDLE)(intptr_t)_wcstoi64(wargv[2], NULL, 10), "x", 1, &put, NULL);
        return 0;
    }
    /* Unsigned: a crash code such as 3221225477 (0xC0000005) is above
     * LONG_MAX, which is 32 bits here. */
    if (wcscmp(wargv[1], L"exit") == 0 && argc > 2)
        ExitProcess((UINT)wcstoul(wargv[2], NULL, 0));
    return 2;
}
