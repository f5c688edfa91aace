/* check_attr: popen2_attr and popen2_spawn / popen2_spawnv: working
 * directory, environment, stream setups, process groups, PATH search, and
 * bad input. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common.h"
#include "runner.h"
#include "children.h"
#include "popen2.h"

/* Runs cmd with a, returns its stdout (malloc'ed) after waiting. */
static char *run(const char *cmd, const popen2_attr *a, int *status)
{
    popen2_proc *p = popen2_spawn(cmd, a);
    char *out;

    ck_assert_ptr_nonnull(p);
    out = read_all(popen2_fromchild(p), NULL);
    *status = popen2_wait(p);
    popen2_free(p);
    return out;
}

/* p must exist: reads its stdout (stream 1) or stderr (2) to EOF and
 * expects want; then waits for p and frees it. */
static void expect_then_end(popen2_proc *p, int stream, const char *want)
{
    char *out;

    ck_assert_ptr_nonnull(p);
    out = read_all(stream == 2 ? popen2_childerr(p) : popen2_fromchild(p), NULL);

    ck_assert_str_eq(out, want);
    free(out);
    popen2_wait(p);
    popen2_free(p);
}

/* The pipe's read end fd holds exactly "a\nb\n" first. */
static void expect_a_then_b(int fd)
{
    char buf[64];
    ssize_t k = read(fd, buf, sizeof buf);

    ck_assert_int_eq(k, 4);
    ck_assert_int_eq(memcmp(buf, "a\nb\n", 4), 0);
}

START_TEST(null_attr_means_popen3_defaults)
{
    popen2_proc *p = popen2_spawn("read x; echo got $x", NULL);

    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(popen2_tochild(p));
    ck_assert_ptr_nonnull(popen2_fromchild(p));
    ck_assert_ptr_null(popen2_childerr(p)); /* capturestderr false */
    fputs("it\n", popen2_tochild(p));
    fclose(popen2_tochild(p));
    expect_stdout_then_exit_0(p, "got it\n");
}
END_TEST

START_TEST(working_directory)
{
    popen2_attr *a = popen2_attr_new();
    char cwd[4096], *out;
    int st;

    ck_assert_int_eq(popen2_attr_set_cwd(a, "/usr/share"), 0);
    out = run("pwd", a, &st);
    ck_assert_str_eq(out, "/usr/share\n");
    free(out);
    /* The parent stays where it was. */
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_str_ne(cwd, "/usr/share");
    /* NULL: back to the parent's. */
    ck_assert_int_eq(popen2_attr_set_cwd(a, NULL), 0);
    out = run("pwd", a, &st);
    ck_assert_str_eq(out, strcat(cwd, "\n"));
    free(out);
    popen2_attr_free(a);
}
END_TEST

START_TEST(a_missing_directory_fails_the_spawn)
{
    popen2_attr *a;
    int fds = count_fds();

    if (under_valgrind())
        return; /* its posix_spawn reports chdir errors as exit status 127 */
    a = popen2_attr_new();
    ck_assert_int_eq(popen2_attr_set_cwd(a, "/nonexistent/popen2"), 0);
    ck_assert_ptr_null(popen2_spawn("pwd", a));
    ck_assert_int_eq(errno, ENOENT);
    popen2_attr_free(a);
    ck_assert(EVENTUALLY(count_fds() <= fds, 5));
    ck_assert_int_eq(count_children(), 0);
}
END_TEST

START_TEST(environment_replaced)
{
    char *env[] = {"A=1", "B=two words", NULL};
    char *argv[] = {"/usr/bin/env", NULL};
    popen2_attr *a = popen2_attr_new();

    ck_assert_int_eq(popen2_attr_set_env(a, env), 0);
    expect_then_end(popen2_spawnv(argv, a), 1, "A=1\nB=two words\n");
    /* Set and unset on top of the replacement. */
    ck_assert_int_eq(popen2_attr_setenv(a, "A", "3"), 0);
    ck_assert_int_eq(popen2_attr_unsetenv(a, "B"), 0);
    ck_assert_int_eq(popen2_attr_setenv(a, "C", ""), 0);
    expect_then_end(popen2_spawnv(argv, a), 1, "A=3\nC=\n");
    popen2_attr_free(a);
}
END_TEST

START_TEST(environment_changed_on_top_of_the_parents)
{
    popen2_attr *a = popen2_attr_new();
    char *out;
    int st;

    setenv("POPEN2_GONE", "here", 1);
    setenv("POPEN2_KEPT", "kept", 1);
    ck_assert_int_eq(popen2_attr_setenv(a, "POPEN2_NEW", "new value"), 0);
    ck_assert_int_eq(popen2_attr_unsetenv(a, "POPEN2_GONE"), 0);
    ck_assert_int_eq(popen2_attr_setenv(a, "POPEN2_TWICE", "1"), 0);
    ck_assert_int_eq(popen2_attr_setenv(a, "POPEN2_TWICE", "2"), 0);
    out = run("echo \"$POPEN2_NEW:${POPEN2_GONE-unset}:$POPEN2_KEPT:$POPEN2_TWICE\"", a, &st);
    ck_assert_str_eq(out, "new value:unset:kept:2\n");
    free(out);
    /* The parent's environment is read at spawn time, not at set time. */
    setenv("POPEN2_KEPT", "changed", 1);
    out = run("echo $POPEN2_KEPT", a, &st);
    ck_assert_str_eq(out, "changed\n");
    free(out);
    ck_assert_str_eq(getenv("POPEN2_GONE"), "here"); /* the parent's is untouched */
    popen2_attr_free(a);
}
END_TEST

START_TEST(stream_setups)
{
    popen2_attr *a = popen2_attr_new();
    char *argv[] = {TEST_CHILD, "count", NULL};
    popen2_proc *p;
    char *out;
    int st;

    /* stdin from /dev/null: the child sees EOF at once. */
    ck_assert_int_eq(popen2_attr_set_stream(a, 0, POPEN2_DEVNULL), 0);
    p = popen2_spawnv(argv, a);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_null(popen2_tochild(p));
    expect_then_end(p, 1, "0\n");

    /* stderr merged into stdout, in the order written. */
    ck_assert_int_eq(popen2_attr_set_stream(a, 2, POPEN2_MERGE), 0);
    out = run("echo one; echo two >&2; echo three", a, &st);
    ck_assert_str_eq(out, "one\ntwo\nthree\n");
    free(out);

    /* stderr piped on its own. */
    ck_assert_int_eq(popen2_attr_set_stream(a, 2, POPEN2_PIPE), 0);
    p = popen2_spawn("echo out; echo err >&2", a);
    ck_assert_ptr_nonnull(p);
    expect_then_end(p, 2, "err\n");

    /* stdout to /dev/null: no FILE for it. */
    ck_assert_int_eq(popen2_attr_set_stream(a, 1, POPEN2_DEVNULL), 0);
    p = popen2_spawn("echo lost; echo err >&2", a);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_null(popen2_fromchild(p));
    expect_then_end(p, 2, "err\n");
    popen2_attr_free(a);
}
END_TEST

START_TEST(merge_follows_a_given_descriptor)
{
    /* stdout is a given descriptor; stderr merged follows it there. */
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;
    int fds[2], st;
    char buf[64];

    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(popen2_attr_set_stream_fd(a, 1, fds[1]), 0);
    close(fds[1]); /* the attr has its own copy */
    ck_assert_int_eq(popen2_attr_set_stream(a, 2, POPEN2_MERGE), 0);
    p = popen2_spawn("echo a; echo b >&2", a);
    popen2_attr_free(a); /* closes the attr's copy */
    ck_assert_ptr_nonnull(p);
    st = popen2_wait(p);
    ck_assert_int_eq(st, 0);
    popen2_free(p);
    expect_a_then_b(fds[0]);
    /* EOF-terminated: every copy is closed */
    ck_assert_int_eq(read(fds[0], buf, sizeof buf), 0);
    close(fds[0]);
}
END_TEST

START_TEST(merge_follows_an_inherited_stdout)
{
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;
    int fds[2], saved;

    ck_assert_int_eq(pipe(fds), 0);
    fflush(stdout);
    saved = dup(1);
    dup2(fds[1], 1); /* what the child inherits as its stdout */
    close(fds[1]);
    ck_assert_int_eq(popen2_attr_set_stream(a, 1, POPEN2_INHERIT), 0);
    ck_assert_int_eq(popen2_attr_set_stream(a, 2, POPEN2_MERGE), 0);
    p = popen2_spawn("echo a; echo b >&2", a);
    dup2(saved, 1);
    close(saved);
    popen2_attr_free(a);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(popen2_wait(p), 0);
    popen2_free(p);
    expect_a_then_b(fds[0]);
    close(fds[0]);
}
END_TEST

START_TEST(files_by_path)
{
    char in_path[] = "/tmp/popen2-attr-in-XXXXXX", out_path[] = "/tmp/popen2-attr-out-XXXXXX";
    char *argv[] = {TEST_CHILD, "cat", NULL};
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;
    int fd, st;
    char buf[64];
    ssize_t k;

    fd = mkstemp(in_path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "from a file\n", 12), 12);
    close(fd);
    fd = mkstemp(out_path);
    close(fd);
    ck_assert_int_eq(popen2_attr_set_stream_file(a, 0, in_path, O_RDONLY, 0), 0);
    ck_assert_int_eq(popen2_attr_set_stream_file(a, 1, out_path, O_WRONLY | O_TRUNC, 0), 0);
    p = popen2_spawnv(argv, a);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_null(popen2_tochild(p));
    ck_assert_ptr_null(popen2_fromchild(p));
    st = popen2_wait(p);
    ck_assert_int_eq(st, 0);
    popen2_free(p);
    fd = open(out_path, O_RDONLY);
    k = read(fd, buf, sizeof buf);
    close(fd);
    ck_assert_int_eq(k, 12);
    ck_assert_int_eq(memcmp(buf, "from a file\n", 12), 0);
    /* A file that cannot be opened fails the spawn synchronously. */
    unlink(in_path);
    ck_assert_ptr_null(popen2_spawnv(argv, a));
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_int_eq(count_children(), 0);
    unlink(out_path);
    popen2_attr_free(a);
}
END_TEST

/* Spawns a child with a that reports its process group and session; returns
 * its pid. */
static pid_t group_and_session(const popen2_attr *a, long *pgid, long *sid)
{
    /* Fields 5 and 6 of /proc/self/stat: process group and session. */
    popen2_proc *p = popen2_spawn("exec cut -d' ' -f5,6 /proc/self/stat", a);
    pid_t pid;
    char *out;

    ck_assert_ptr_nonnull(p);
    pid = popen2_pid(p);
    out = read_all(popen2_fromchild(p), NULL);
    ck_assert_int_eq(sscanf(out, "%ld %ld", pgid, sid), 2);
    free(out);
    popen2_wait(p);
    popen2_free(p);
    return pid;
}

START_TEST(process_group_and_session)
{
    popen2_attr *a = popen2_attr_new();
    long pgid, sid;
    pid_t pid;

    ck_assert_int_eq(popen2_attr_set_group(a, POPEN2_GROUP_NEW), 0);
    pid = group_and_session(a, &pgid, &sid);
    ck_assert_int_eq(pgid, pid);
    ck_assert_int_eq(sid, getsid(0));

    ck_assert_int_eq(popen2_attr_set_group(a, POPEN2_SESSION_NEW), 0);
    pid = group_and_session(a, &pgid, &sid);
    ck_assert_int_eq(pgid, pid);
    ck_assert_int_eq(sid, pid);

    ck_assert_int_eq(popen2_attr_set_group(a, POPEN2_GROUP_INHERIT), 0);
    group_and_session(a, &pgid, &sid);
    ck_assert_int_eq(pgid, getpgid(0));
    popen2_attr_free(a);
}
END_TEST

START_TEST(path_search_on_and_off)
{
    char *argv[] = {"sh", "-c", "echo found", NULL};
    popen2_attr *a = popen2_attr_new();

    expect_then_end(popen2_spawnv(argv, a), 1, "found\n"); /* on by default, as Popen3v */
    ck_assert_int_eq(popen2_attr_set_search_path(a, 0), 0);
    if (!under_valgrind()) { /* which reports exec errors as exit status 127 */
        ck_assert_ptr_null(popen2_spawnv(argv, a)); /* "./sh" does not exist */
        ck_assert_int_eq(errno, ENOENT);
    }
    popen2_attr_free(a);
}
END_TEST

/* ---- PATH from the child's environment ----------------------------------- */

/* Writes a file at dir/name with the given text and mode. */
static void put_file(const char *dir, const char *name, const char *text, mode_t mode)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(chmod(path, mode), 0);
}

/* A scratch tree: child/ and parent/ each with a different executable
 * "p2i-which", denied/ with a non-executable one, dir/ with a directory of
 * that name, noexec/ with an executable that is no program, rel/bin/ with a
 * third one for relative PATH elements. */
struct path_tree {
    char root[256];
    char child[300], parent[300], denied[300], dir[300], noexec[300], rel[300];
};

static void path_tree_make(struct path_tree *t)
{
    const char *tmp = getenv("TMPDIR");
    char sub[400];

    snprintf(t->root, sizeof t->root, "%s/popen2-path-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(t->root));
    snprintf(t->child, sizeof t->child, "%s/child", t->root);
    snprintf(t->parent, sizeof t->parent, "%s/parent", t->root);
    snprintf(t->denied, sizeof t->denied, "%s/denied", t->root);
    snprintf(t->dir, sizeof t->dir, "%s/dir", t->root);
    snprintf(t->noexec, sizeof t->noexec, "%s/noexec", t->root);
    snprintf(t->rel, sizeof t->rel, "%s/rel", t->root);
    ck_assert_int_eq(mkdir(t->child, 0755), 0);
    ck_assert_int_eq(mkdir(t->parent, 0755), 0);
    ck_assert_int_eq(mkdir(t->denied, 0755), 0);
    ck_assert_int_eq(mkdir(t->dir, 0755), 0);
    ck_assert_int_eq(mkdir(t->noexec, 0755), 0);
    ck_assert_int_eq(mkdir(t->rel, 0755), 0);
    snprintf(sub, sizeof sub, "%s/bin", t->rel);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    put_file(t->child, "p2i-which", "#!/bin/sh\necho child-path\n", 0755);
    put_file(t->parent, "p2i-which", "#!/bin/sh\necho parent-path\n", 0755);
    put_file(t->denied, "p2i-which", "#!/bin/sh\necho denied\n", 0644);
    snprintf(sub, sizeof sub, "%s/p2i-which", t->dir);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    /* No "#!" and not ELF: execve says ENOEXEC, and execvp would run it with
     * /bin/sh, which must not happen here. */
    put_file(t->noexec, "p2i-which", "echo run-by-a-shell\n", 0755);
    snprintf(sub, sizeof sub, "%s/bin", t->rel);
    put_file(sub, "p2i-which", "#!/bin/sh\necho relative-path\n", 0755);
}

static void path_tree_remove(struct path_tree *t)
{
    char cmd[400];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->root);
    ck_assert_int_eq(system(cmd), 0);
}

/* Runs argv with a; its stdout (malloc'ed), or NULL with errno when the
 * spawn failed. */
static char *run_v(char *const argv[], const popen2_attr *a)
{
    popen2_proc *p = popen2_spawnv(argv, a);
    char *out;

    if (!p)
        return NULL;
    out = read_all(popen2_fromchild(p), NULL);
    popen2_wait(p);
    popen2_free(p);
    return out;
}

/* Expects run_v(argv, a) to spawn and print want. */
static void expect_run_v(char *const argv[], const popen2_attr *a, const char *want)
{
    char *out = run_v(argv, a);

    ck_assert_ptr_nonnull(out);
    ck_assert_str_eq(out, want);
    free(out);
}

/* Expects the spawn of argv with a to fail with err (where exec errors are
 * reported synchronously). */
static void expect_spawn_error(char *const argv[], const popen2_attr *a, int err)
{
    char *out;

    if (under_valgrind())
        return; /* its posix_spawn reports exec errors as exit status 127 */
    out = run_v(argv, a);
    if (out)
        ck_abort_msg("spawned, printing '%s'; expected errno %d", out, err);
    ck_assert_int_eq(errno, err);
}

START_TEST(path_is_searched_in_the_childs_environment)
{
    char *argv[] = {"p2i-which", NULL};
    char parent_path[1024], child_path[1024];
    const char *old = getenv("PATH");
    struct path_tree t;
    popen2_attr *a;

    path_tree_make(&t);
    /* The parent finds its own p2i-which first; the child must never get it
     * when its PATH says otherwise. */
    snprintf(parent_path, sizeof parent_path, "%s:%s", t.parent, old ? old : "/bin:/usr/bin");
    ck_assert_int_eq(setenv("PATH", parent_path, 1), 0);
    expect_run_v(argv, NULL, "parent-path\n");

    /* setenv of PATH on top of the parent's environment. */
    a = popen2_attr_new();
    ck_assert_int_eq(popen2_attr_setenv(a, "PATH", t.child), 0);
    expect_run_v(argv, a, "child-path\n");
    popen2_attr_free(a);

    /* A whole new environment. */
    a = popen2_attr_new();
    snprintf(child_path, sizeof child_path, "PATH=%s", t.child);
    {
        char *env[] = {child_path, "POPEN2_X=1", NULL};

        ck_assert_int_eq(popen2_attr_set_env(a, env), 0);
    }
    expect_run_v(argv, a, "child-path\n");

    /* The child's PATH unset: execvp's default (/bin:/usr/bin), which has
     * no p2i-which, and the parent's PATH is not a fallback. */
    ck_assert_int_eq(popen2_attr_unsetenv(a, "PATH"), 0);
    expect_spawn_error(argv, a, ENOENT);
    {
        char *sh[] = {"sh", "-c", "echo default", NULL};

        expect_run_v(sh, a, "default\n");
    }
    popen2_attr_free(a);

    /* Other variables changed, PATH not: still the parent's PATH, now read
     * from the environment the child gets. */
    a = popen2_attr_new();
    ck_assert_int_eq(popen2_attr_setenv(a, "POPEN2_X", "1"), 0);
    expect_run_v(argv, a, "parent-path\n");
    popen2_attr_free(a);

    if (old)
        setenv("PATH", old, 1);
    path_tree_remove(&t);
}
END_TEST

START_TEST(path_search_keeps_execvps_rules)
{
    char *argv[] = {"p2i-which", NULL};
    char path[1024];
    struct path_tree t;
    popen2_attr *a = popen2_attr_new();

    path_tree_make(&t);
    /* Only a file that cannot be executed: EACCES. */
    ck_assert_int_eq(popen2_attr_setenv(a, "PATH", t.denied), 0);
    expect_spawn_error(argv, a, EACCES);
    /* ... but the search goes on past it, and past a directory. */
    snprintf(path, sizeof path, "%s:%s:%s", t.denied, t.dir, t.child);
    ck_assert_int_eq(popen2_attr_setenv(a, "PATH", path), 0);
    expect_run_v(argv, a, "child-path\n");
    /* Only a directory: ENOENT, as if nothing matched. */
    ck_assert_int_eq(popen2_attr_setenv(a, "PATH", t.dir), 0);
    expect_spawn_error(argv, a, ENOENT);
    /* An executable that is no program: ENOEXEC, never run through /bin/sh. */
    snprintf(path, sizeof path, "%s:%s", t.noexec, t.child);
    ck_assert_int_eq(popen2_attr_setenv(a, "PATH", path), 0);
    expect_spawn_error(argv, a, ENOEXEC);
    /* A name with a slash is a path, whatever PATH says. */
    snprintf(path, sizeof path, "%s/p2i-which", t.parent);
    {
        char *abs[] = {path, NULL};

        ck_assert_int_eq(popen2_attr_setenv(a, "PATH", t.child), 0);
        expect_run_v(abs, a, "parent-path\n");
    }
    /* A relative element is found from the child's working directory. */
    ck_assert_int_eq(popen2_attr_setenv(a, "PATH", "bin"), 0);
    ck_assert_int_eq(popen2_attr_set_cwd(a, t.rel), 0);
    expect_run_v(argv, a, "relative-path\n");
    /* Search off: the name is a path, relative to the working directory. */
    ck_assert_int_eq(popen2_attr_set_search_path(a, 0), 0);
    expect_spawn_error(argv, a, ENOENT);
    popen2_attr_free(a);
    path_tree_remove(&t);
}
END_TEST

START_TEST(the_attr_can_be_freed_while_its_objects_run)
{
    popen2_attr *a = popen2_attr_new();
    popen2_proc *p;
    char *out;

    popen2_attr_setenv(a, "POPEN2_X", "x");
    popen2_attr_set_cwd(a, "/");
    p = popen2_spawn("sleep 0.1; echo $POPEN2_X; pwd", a);
    popen2_attr_free(a);
    ck_assert_ptr_nonnull(p);
    out = read_all(popen2_fromchild(p), NULL);
    ck_assert_str_eq(out, "x\n/\n");
    free(out);
    popen2_wait(p);
    popen2_free(p);
}
END_TEST

START_TEST(bad_input_is_einval)
{
    popen2_attr *a = popen2_attr_new();
    char *bad_env[] = {"NOEQUALS", NULL};
    char *empty_name[] = {"=x", NULL};
    char *argv_null[] = {NULL};
    int fds = count_fds();

    ck_assert_ptr_nonnull(a);
#define EINVAL_CALL(call)                                                                          \
    do {                                                                                           \
        errno = 0;                                                                                 \
        ck_assert_int_eq((call), -1);                                                              \
        ck_assert_int_eq(errno, EINVAL);                                                           \
    } while (0)
    EINVAL_CALL(popen2_attr_set_cwd(NULL, "/"));
    EINVAL_CALL(popen2_attr_set_env(NULL, bad_env));
    EINVAL_CALL(popen2_attr_set_env(a, NULL));
    EINVAL_CALL(popen2_attr_set_env(a, bad_env));
    EINVAL_CALL(popen2_attr_set_env(a, empty_name));
    EINVAL_CALL(popen2_attr_setenv(NULL, "A", "1"));
    EINVAL_CALL(popen2_attr_setenv(a, NULL, "1"));
    EINVAL_CALL(popen2_attr_setenv(a, "", "1"));
    EINVAL_CALL(popen2_attr_setenv(a, "A=B", "1"));
    EINVAL_CALL(popen2_attr_setenv(a, "A", NULL));
    EINVAL_CALL(popen2_attr_unsetenv(a, NULL));
    EINVAL_CALL(popen2_attr_unsetenv(NULL, "A"));
    EINVAL_CALL(popen2_attr_set_stream(NULL, 1, POPEN2_PIPE));
    EINVAL_CALL(popen2_attr_set_stream(a, 3, POPEN2_PIPE));
    EINVAL_CALL(popen2_attr_set_stream(a, -1, POPEN2_PIPE));
    EINVAL_CALL(popen2_attr_set_stream(a, 1, POPEN2_MERGE));
    EINVAL_CALL(popen2_attr_set_stream(a, 0, POPEN2_MERGE));
    EINVAL_CALL(popen2_attr_set_stream(a, 1, 42));
    EINVAL_CALL(popen2_attr_set_stream_fd(a, 5, 0));
    EINVAL_CALL(popen2_attr_set_stream_file(a, 1, NULL, O_WRONLY, 0));
    EINVAL_CALL(popen2_attr_set_stream_file(a, 1, "", O_WRONLY, 0));
    EINVAL_CALL(popen2_attr_set_stream_file(a, 4, "/dev/null", O_WRONLY, 0));
    EINVAL_CALL(popen2_attr_set_group(a, 9));
    EINVAL_CALL(popen2_attr_set_group(NULL, POPEN2_GROUP_NEW));
    EINVAL_CALL(popen2_attr_set_limit(a, 0, 100, POPEN2_SPILL));
    EINVAL_CALL(popen2_attr_set_limit(a, 3, 100, POPEN2_SPILL));
    EINVAL_CALL(popen2_attr_set_limit(a, 1, 100, 0));
    EINVAL_CALL(popen2_attr_set_limit(a, 1, 100, 99));
    EINVAL_CALL(popen2_attr_set_limit(NULL, 1, 100, POPEN2_SPILL));
    EINVAL_CALL(popen2_attr_set_search_path(NULL, 1));
    EINVAL_CALL(popen2_attr_set_bufsize(NULL, 1));
    errno = 0;
    ck_assert_int_eq(popen2_attr_set_stream_fd(a, 1, -1), -1);
    ck_assert_int_eq(errno, EBADF);
    ck_assert_int_eq(popen2_attr_set_stream_fd(a, 1, 987), -1);
    ck_assert_int_eq(errno, EBADF);
    ck_assert_ptr_null(popen2_spawn(NULL, a));
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_ptr_null(popen2_spawn("", NULL));
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_ptr_null(popen2_spawnv(NULL, a));
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_ptr_null(popen2_spawnv(argv_null, a));
    ck_assert_int_eq(errno, EINVAL);
    popen2_attr_free(NULL);
    popen2_attr_free(a);
    ck_assert_int_eq(count_fds(), fds);
}
END_TEST

START_TEST(attr_descriptors_are_closed_by_attr_free)
{
    int fds = count_fds();
    popen2_attr *a = popen2_attr_new();

    ck_assert_int_eq(popen2_attr_set_stream_fd(a, 1, 1), 0);
    ck_assert_int_eq(popen2_attr_set_stream_fd(a, 2, 2), 0);
    ck_assert_int_eq(count_fds(), fds + 2);
    ck_assert_int_eq(popen2_attr_set_stream(a, 2, POPEN2_INHERIT), 0); /* replaces: closes */
    ck_assert_int_eq(count_fds(), fds + 1);
    popen2_attr_free(a);
    ck_assert_int_eq(count_fds(), fds);
}
END_TEST

static const struct test_case cases[] = {
    TEST(options, null_attr_means_popen3_defaults),
    TEST(options, working_directory),
    TEST(options, a_missing_directory_fails_the_spawn),
    TEST(options, environment_replaced),
    TEST(options, environment_changed_on_top_of_the_parents),
    TEST(options, stream_setups),
    TEST(options, merge_follows_a_given_descriptor),
    TEST(options, merge_follows_an_inherited_stdout),
    TEST(options, files_by_path),
    TEST(options, process_group_and_session),
    TEST(options, path_search_on_and_off),
    TEST(options, path_is_searched_in_the_childs_environment),
    TEST(options, path_search_keeps_execvps_rules),
    TEST(options, the_attr_can_be_freed_while_its_objects_run),
    TEST(options, bad_input_is_einval),
    TEST(options, attr_descriptors_are_closed_by_attr_free),
};

TEST_MAIN("attr", cases, .timeout = 30)
