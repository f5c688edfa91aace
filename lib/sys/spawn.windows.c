/* spawn: CreateProcessW on Windows (see sys.h).
 *
 * The child's command line is the argv quoted by the Microsoft C runtime's
 * rules, so a child that parses it as that runtime does gets exactly the
 * caller's argv.  A command string ({P2I_SHELL, "-c", cmd}) runs as
 * `%ComSpec% /c "cmd"` (cmd.exe when ComSpec is unset), as Python 2.7's
 * subprocess did.  A .bat or .cmd program in an argv form is refused with
 * EINVAL: Windows would run it through cmd.exe, whose parsing of the line
 * differs from the runtime's, so no quoting keeps its argv exact.
 *
 * The program is looked up here, in PATH (the environment's the child gets)
 * with ".exe" appended to a name without an extension, so a missing program
 * is ENOENT at once, as the POSIX half reports an exec failure.
 *
 * Only the child's three standard handles reach it: inheritable copies made
 * for this spawn alone (the library's handles are never inheritable), named
 * in PROC_THREAD_ATTRIBUTE_HANDLE_LIST, so handles another thread of the
 * program made inheritable meanwhile stay out too.  With POPEN2_GROUP_NEW
 * the child starts suspended, joins a job object of its own and then runs:
 * everything it starts is in the job, which the process calls end at once.
 *
 * Names, arguments, environment and directory are UTF-8, converted to
 * UTF-16 for the system. */
#include "config.h"

#include "sys/sys.h"

#include <errno.h>
#include <io.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <windows.h>

bool p2i_spawn_group_supported(int group)
{
    return group != 2; /* POPEN2_SESSION_NEW: no sessions on Windows */
}

bool p2i_spawn_cwd_supported(void)
{
    return true; /* CreateProcessW's lpCurrentDirectory */
}

/* UTF-8 to a malloc'ed UTF-16 string; NULL with errno EINVAL (not UTF-8)
 * or ENOMEM. */
static wchar_t *wide(const char *s)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    wchar_t *w;

    if (n <= 0) {
        errno = EINVAL;
        return NULL;
    }
    w = malloc((size_t)n * sizeof *w);
    if (!w) {
        errno = ENOMEM;
        return NULL;
    }
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n);
    return w;
}

/* A growable UTF-8 string. */
struct buf {
    char *s;
    size_t len, cap;
    bool failed;
};

static void put(struct buf *b, const char *s, size_t n)
{
    char *t;
    size_t cap;

    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        cap = (b->len + n + 1) * 2;
        t = realloc(b->s, cap);
        if (!t) {
            b->failed = true;
            return;
        }
        b->s = t;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void put_backslashes(struct buf *b, size_t n)
{
    while (n--)
        put(b, "\\", 1);
}

/* One argument as the C runtime splits a command line: as it is when it
 * has no blank or quote (and is not empty); else in quotes, where a quote
 * is preceded by a backslash, and the backslashes before a quote (or the
 * closing one) are doubled.  Backslashes elsewhere stay single. */
static void quote_arg(struct buf *b, const char *a)
{
    size_t slashes = 0;

    if (*a && !strpbrk(a, " \t\n\v\"")) {
        put(b, a, strlen(a));
        return;
    }
    put(b, "\"", 1);
    for (; *a; a++) {
        if (*a == '\\') {
            slashes++;
            continue;
        }
        if (*a == '"')
            put_backslashes(b, slashes * 2 + 1);
        else
            put_backslashes(b, slashes);
        slashes = 0;
        put(b, a, 1);
    }
    put_backslashes(b, slashes * 2);
    put(b, "\"", 1);
}

static bool is_shell(char *const *argv)
{
    return argv[0] && strcmp(argv[0], P2I_SHELL) == 0 && argv[1] && strcmp(argv[1], "-c") == 0 &&
           argv[2] && !argv[3];
}

/* The value of NAME in envp (NULL: the parent's environment), or NULL. */
static const char *env_get(char *const *envp, const char *name)
{
    size_t n = strlen(name);

    if (!envp)
        return getenv(name);
    for (; *envp; envp++)
        if (_strnicmp(*envp, name, n) == 0 && (*envp)[n] == '=')
            return *envp + n + 1;
    return NULL;
}

static bool has_dir(const char *file)
{
    return strchr(file, '/') || strchr(file, '\\') || strchr(file, ':');
}

/* The extension of the last part of file, or NULL. */
static const char *extension(const char *file)
{
    const char *base = file, *p;

    for (p = file; *p; p++)
        if (*p == '/' || *p == '\\' || *p == ':')
            base = p + 1;
    return strrchr(base, '.');
}

/* Whether path names a file that is not a directory. */
static int file_exists(const char *path)
{
    wchar_t *w = wide(path);
    DWORD a;

    if (!w)
        return -errno;
    a = GetFileAttributesW(w);
    free(w);
    return a != INVALID_FILE_ATTRIBUTES && !(a & FILE_ATTRIBUTE_DIRECTORY);
}

int p2i_spawn_search(const char *file, char *const *envp, const char *cwd, char **out)
{
    const char *path, *p, *end, *ext = extension(file);
    struct buf b = {0};
    int r;

    (void)cwd; /* relative PATH elements stay relative: CreateProcessW resolves
                * them against the child's directory, which is given too */
    *out = NULL;
    if (has_dir(file) || !(path = env_get(envp, "PATH"))) {
        put(&b, file, strlen(file));
        if (!ext)
            put(&b, ".exe", 4);
        if (b.failed)
            return -ENOMEM;
        r = has_dir(file) ? file_exists(b.s) : 0;
        if (r <= 0) {
            free(b.s);
            return r < 0 ? r : -ENOENT;
        }
        *out = b.s;
        return 0;
    }
    for (p = path;; p = end + 1) {
        end = strchr(p, ';');
        if (!end)
            end = p + strlen(p);
        if (end > p) {
            b.len = 0;
            put(&b, p, (size_t)(end - p));
            if (end[-1] != '\\' && end[-1] != '/')
                put(&b, "\\", 1);
            put(&b, file, strlen(file));
            if (!ext)
                put(&b, ".exe", 4);
            if (b.failed) {
                free(b.s);
                return -ENOMEM;
            }
            if (file_exists(b.s) > 0) {
                *out = b.s;
                return 0;
            }
        }
        if (!*end)
            break;
    }
    free(b.s);
    return -ENOENT;
}

/* The environment block: envp (NULL: the parent's) with the ops applied,
 * as "NAME=value" UTF-16 strings sorted by name without regard to case (as
 * Windows keeps them), each ended by a NUL and the block by another.
 * *block NULL: the child inherits the parent's unchanged. */
static int compare_names(const void *a, const void *b)
{
    return _wcsicmp(*(wchar_t *const *)a, *(wchar_t *const *)b);
}

/* Whether entry e ("NAME=value" or "NAME") names the same variable as n. */
static bool same_name(const char *e, const char *n)
{
    size_t le = strcspn(e, "="), ln = strcspn(n, "=");

    return le == ln && _strnicmp(e, n, le) == 0;
}

static int make_env(const struct p2i_spawn_request *req, wchar_t **block)
{
    char *const *src = req->envp ? req->envp : _environ;
    const char **v = NULL;
    wchar_t **w = NULL, *out = NULL;
    size_t n = 0, i, j, k, total = 1, len;
    int r = -ENOMEM;

    *block = NULL;
    if (!req->envp && !req->n_env_ops)
        return 0;
    for (i = 0; src && src[i]; i++)
        n++;
    v = malloc((n + req->n_env_ops + 1) * sizeof *v);
    if (!v)
        return -ENOMEM;
    for (i = 0; i < n; i++)
        v[i] = src[i];
    for (k = 0; k < req->n_env_ops; k++) {
        const char *op = req->env_ops[k];

        for (i = j = 0; i < n; i++)
            if (!same_name(v[i], op))
                v[j++] = v[i];
        n = j;
        if (strchr(op, '='))
            v[n++] = op;
    }
    w = calloc(n + 1, sizeof *w);
    if (!w)
        goto out;
    for (i = 0; i < n; i++) {
        w[i] = wide(v[i]);
        if (!w[i]) {
            r = -errno;
            goto out;
        }
        total += wcslen(w[i]) + 1;
    }
    qsort(w, n, sizeof *w, compare_names);
    out = malloc((total + 1) * sizeof *out);
    if (!out)
        goto out;
    for (i = 0, j = 0; i < n; i++) {
        len = wcslen(w[i]) + 1;
        memcpy(out + j, w[i], len * sizeof *out);
        j += len;
    }
    out[j++] = L'\0';
    if (n == 0)
        out[j++] = L'\0'; /* an empty block is two NULs */
    *block = out;
    r = 0;
out:
    if (w)
        for (i = 0; i < n; i++)
            free(w[i]);
    free(w);
    free(v);
    return r;
}

/* The command line, UTF-8. */
static int make_cmdline(const struct p2i_spawn_request *req, char **out)
{
    struct buf b = {0};
    const char *comspec;
    size_t i;

    if (is_shell(req->argv)) {
        comspec = env_get(req->envp, "ComSpec");
        if (!comspec || !*comspec)
            comspec = "cmd.exe";
        quote_arg(&b, comspec);
        put(&b, " /c \"", 5);
        put(&b, req->argv[2], strlen(req->argv[2]));
        put(&b, "\"", 1);
    } else {
        for (i = 0; req->argv[i]; i++) {
            if (i)
                put(&b, " ", 1);
            quote_arg(&b, req->argv[i]);
        }
    }
    if (b.failed) {
        free(b.s);
        return -ENOMEM;
    }
    *out = b.s;
    return 0;
}

/* An inheritable copy of the handle the child gets as its stream i. */
static int child_handle(const struct p2i_spawn_request *req, int i, HANDLE *out)
{
    static const DWORD std[3] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE};
    int which = i == 2 && req->stderr_to_stdout ? 1 : i;
    HANDLE h = req->fd[which] >= 0 ? (HANDLE)_get_osfhandle(req->fd[which]) : GetStdHandle(std[which]);

    /* A parent without such a stream (no console) gives the child NUL. */
    if (h == NULL || h == INVALID_HANDLE_VALUE) {
        SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};

        h = CreateFileW(L"NUL", i == 0 ? GENERIC_READ : GENERIC_WRITE,
                        FILE_SHARE_READ | FILE_SHARE_WRITE, &sa, OPEN_EXISTING, 0, NULL);
        if (h == INVALID_HANDLE_VALUE)
            return -p2i_win_errno(GetLastError());
        *out = h;
        return 0;
    }
    if (!DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), out, 0, TRUE,
                         DUPLICATE_SAME_ACCESS))
        return -p2i_win_errno(GetLastError());
    return 0;
}

static bool is_batch(const char *file)
{
    const char *ext = extension(file);

    return ext && (_stricmp(ext, ".bat") == 0 || _stricmp(ext, ".cmd") == 0);
}

int p2i_spawn_start(const struct p2i_spawn_request *req, pid_t *pid)
{
    HANDLE handles[3] = {NULL, NULL, NULL}, job = NULL;
    STARTUPINFOEXW si;
    PROCESS_INFORMATION pi;
    SIZE_T attr_size = 0;
    char *program = NULL, *line = NULL;
    wchar_t *wprogram = NULL, *wline = NULL, *wcwd = NULL, *env = NULL;
    DWORD flags = EXTENDED_STARTUPINFO_PRESENT | CREATE_UNICODE_ENVIRONMENT;
    bool shell = is_shell(req->argv);
    int r, i;

    memset(&si, 0, sizeof si);
    if (req->setup && (req->setup->n_pass || p2i_spawn_setup_needs_child(req->setup)))
        return -ENOSYS;
    if (!shell) {
        r = p2i_spawn_search(req->file, req->envp, req->cwd, &program);
        if (r < 0)
            goto out;
        if (is_batch(program)) {
            r = -EINVAL;
            goto out;
        }
        wprogram = wide(program);
        if (!wprogram) {
            r = -errno;
            goto out;
        }
    }
    r = make_cmdline(req, &line);
    if (r < 0)
        goto out;
    wline = wide(line);
    if (!wline || (req->cwd && !(wcwd = wide(req->cwd)))) {
        r = -errno;
        goto out;
    }
    r = make_env(req, &env);
    if (r < 0)
        goto out;
    for (i = 0; i < 3; i++) {
        r = child_handle(req, i, &handles[i]);
        if (r < 0)
            goto out;
    }
    InitializeProcThreadAttributeList(NULL, 1, 0, &attr_size);
    si.lpAttributeList = malloc(attr_size);
    if (!si.lpAttributeList) {
        r = -ENOMEM;
        goto out;
    }
    if (!InitializeProcThreadAttributeList(si.lpAttributeList, 1, 0, &attr_size)) {
        free(si.lpAttributeList);
        si.lpAttributeList = NULL;
        r = -p2i_win_errno(GetLastError());
        goto out;
    }
    if (!UpdateProcThreadAttribute(si.lpAttributeList, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST,
                                   handles, sizeof handles, NULL, NULL)) {
        r = -p2i_win_errno(GetLastError());
        goto out;
    }
    si.StartupInfo.cb = sizeof si;
    si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
    si.StartupInfo.hStdInput = handles[0];
    si.StartupInfo.hStdOutput = handles[1];
    si.StartupInfo.hStdError = handles[2];
    if (req->group == 1) { /* POPEN2_GROUP_NEW */
        job = CreateJobObjectW(NULL, NULL);
        if (!job) {
            r = -p2i_win_errno(GetLastError());
            goto out;
        }
        flags |= CREATE_SUSPENDED | CREATE_NEW_PROCESS_GROUP;
    }
    if (!CreateProcessW(wprogram, wline, NULL, NULL, TRUE, flags, env, wcwd, &si.StartupInfo, &pi)) {
        r = -p2i_win_errno(GetLastError());
        goto out;
    }
    if (job) {
        /* In the job before it runs, so nothing it starts escapes. */
        if (!AssignProcessToJobObject(job, pi.hProcess)) {
            r = -p2i_win_errno(GetLastError());
            TerminateProcess(pi.hProcess, 1);
            WaitForSingleObject(pi.hProcess, INFINITE);
            CloseHandle(pi.hThread);
            CloseHandle(pi.hProcess);
            goto out;
        }
        ResumeThread(pi.hThread);
    }
    CloseHandle(pi.hThread);
    r = p2i_process_adopt((pid_t)pi.dwProcessId, pi.hProcess, job);
    if (r < 0) {
        TerminateProcess(pi.hProcess, 1);
        WaitForSingleObject(pi.hProcess, INFINITE);
        CloseHandle(pi.hProcess);
        goto out;
    }
    job = NULL; /* the process list's now */
    *pid = (pid_t)pi.dwProcessId;
out:
    if (si.lpAttributeList) {
        DeleteProcThreadAttributeList(si.lpAttributeList);
        free(si.lpAttributeList);
    }
    for (i = 0; i < 3; i++)
        if (handles[i])
            CloseHandle(handles[i]);
    if (job)
        CloseHandle(job);
    free(env);
    free(wcwd);
    free(wline);
    free(line);
    free(wprogram);
    free(program);
    return r;
}
