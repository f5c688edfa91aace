/* bench/glib.c: GLib's two ways to run a child and collect its output,
 * g_spawn_sync and GSubprocess + g_subprocess_communicate, as contenders.
 * Built only when configure finds gio-2.0. */
#include "config.h"

#include "bench.h"

#include <gio/gio.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

static int gfail(const char *what, GError *err)
{
    fprintf(stderr, "bench: %s: %s\n", what, err ? err->message : "failed");
    g_clear_error(&err);
    return -1;
}

/* The writer's bytes are never 0 (pattern.h), so strlen counts them. */
int c_glib_sync(struct run *r)
{
    char o[32], e[32], *argv[4];
    gchar *out = NULL, *err = NULL;
    GError *error = NULL;
    gint status;
    double t0;

    bench_writer_argv(r, argv, o, e);
    t0 = bench_now();
    if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                      r->err_bytes ? &err : NULL, &status, &error))
        return gfail("g_spawn_sync", error);
    r->secs = bench_now() - t0;
    r->got = strlen(out) + (err ? strlen(err) : 0);
    g_free(out);
    g_free(err);
    return status == 0 ? 0 : gfail("g_spawn_sync child", NULL);
}

static int communicate(struct run *r, char *const argv[], GSubprocessFlags flags,
                       GBytes *input)
{
    GError *error = NULL;
    GSubprocess *p;
    GBytes *out = NULL, *err = NULL;
    double t0;
    int rc = 0;

    t0 = bench_now();
    p = g_subprocess_newv((const gchar *const *)argv, flags, &error);
    if (!p)
        return gfail("g_subprocess_newv", error);
    if (!g_subprocess_communicate(p, input, NULL, &out,
                                  flags & G_SUBPROCESS_FLAGS_STDERR_PIPE ? &err : NULL,
                                  &error))
        rc = gfail("g_subprocess_communicate", error);
    else if (!g_subprocess_get_successful(p))
        rc = gfail("GSubprocess child", NULL);
    r->secs = bench_now() - t0;
    if (out)
        r->got += g_bytes_get_size(out);
    if (err)
        r->got += g_bytes_get_size(err);
    g_clear_pointer(&out, g_bytes_unref);
    g_clear_pointer(&err, g_bytes_unref);
    g_object_unref(p);
    return rc;
}

int c_glib_sub(struct run *r)
{
    char o[32], e[32], *argv[4];

    bench_writer_argv(r, argv, o, e);
    return communicate(r, argv,
                       G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                           (r->err_bytes ? G_SUBPROCESS_FLAGS_STDERR_PIPE : 0),
                       NULL);
}

int c_glib_sub_cat(struct run *r)
{
    static char *argv[] = {"cat", NULL};
    GBytes *in = g_bytes_new_static(bench_input(r->out_bytes), r->out_bytes);
    int rc = communicate(r, argv, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE,
                         in);

    g_bytes_unref(in);
    return rc;
}

static char *true_argv[] = {"/bin/true", NULL};

int c_spawn_glib_sync(struct run *r)
{
    GError *error = NULL;
    gint status;
    double t0 = bench_now();

    while (r->done < r->spawns && (r->done == 0 || bench_now() - t0 < r->budget)) {
        if (!g_spawn_sync(NULL, true_argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL,
                          &status, &error))
            return gfail("g_spawn_sync", error);
        r->done++;
    }
    r->secs = bench_now() - t0;
    return 0;
}

int c_spawn_glib_sub(struct run *r)
{
    GError *error = NULL;
    GSubprocess *p;
    double t0 = bench_now();

    while (r->done < r->spawns && (r->done == 0 || bench_now() - t0 < r->budget)) {
        p = g_subprocess_newv((const gchar *const *)true_argv, G_SUBPROCESS_FLAGS_NONE, &error);
        if (!p)
            return gfail("g_subprocess_newv", error);
        if (!g_subprocess_wait(p, NULL, &error)) {
            g_object_unref(p);
            return gfail("g_subprocess_wait", error);
        }
        g_object_unref(p);
        r->done++;
    }
    r->secs = bench_now() - t0;
    return 0;
}
