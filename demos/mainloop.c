/* demos/mainloop: several tools in one GLib main loop, no threads of ours.
 *
 *   mainloop [--timeout MS] [--tick MS] [--report] [--] [CMD ...]
 *
 * Runs each CMD (a shell command; three built-in ones when none is given)
 * with stdout and stderr merged into one pipe, watches each object's
 * popen2_event_fd with g_unix_fd_add, and prints every line as it arrives,
 * prefixed with the tool's number: "[2] line".  Whatever still runs after
 * --timeout milliseconds (default 3000) is killed with its whole process
 * group.  A --tick timer (default 50 ms) keeps firing meanwhile; --report
 * prints how many ticks ran and the longest gap between two of them, which
 * shows the loop never waits for a child: every call it makes into the
 * library (popen2_read, popen2_poll, popen2_kill) returns at once.
 *
 * Exits 0 once every tool has ended and its output is printed, 1 when a tool
 * cannot be started, 2 on a usage error (-h / --help prints the usage).
 */
#include <errno.h>
#include <getopt.h>
#include <glib-unix.h>
#include <glib.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "popen2.h"

/* Most bytes one wake-up reads from one tool.  The event descriptor is
 * level-triggered, so what is left wakes us again on the next iteration,
 * after the other sources (timers, other tools) had their turn: a tool that
 * floods the loop cannot starve it. */
#define READ_PER_WAKEUP (128 * 1024)

struct tool {
    int num;
    const char *cmd;
    popen2_proc *p;
    guint source;
    GString *line; /* a line not yet complete */
    bool eof;
    bool done;
};

static GMainLoop *loop;
static int running;
static gint64 last_tick, max_gap;
static long ticks;

static void print_line(struct tool *t, const char *s, size_t n)
{
    printf("[%d] %.*s\n", t->num, (int)n, s);
}

/* Prints the complete lines buffered in t->line, keeps the rest. */
static void flush_lines(struct tool *t, bool all)
{
    char *nl, *start = t->line->str;
    size_t used;

    while ((nl = memchr(start, '\n', t->line->len - (size_t)(start - t->line->str))) != NULL) {
        print_line(t, start, (size_t)(nl - start));
        start = nl + 1;
    }
    used = (size_t)(start - t->line->str);
    if (all && used < t->line->len) {
        print_line(t, start, t->line->len - used);
        used = t->line->len;
    }
    g_string_erase(t->line, 0, (gssize)used);
}

static void finish(struct tool *t, int status)
{
    if (WIFEXITED(status))
        printf("[%d] exited with %d\n", t->num, WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        printf("[%d] killed by signal %d\n", t->num, WTERMSIG(status));
    t->done = true;
    if (--running == 0)
        g_main_loop_quit(loop);
}

/* Reaps a tool whose output has ended, once its child has exited; never
 * waits (popen2_poll only looks). */
static bool reap_if_ended(struct tool *t)
{
    int status = popen2_poll(t->p);

    if (!t->eof || status == -1)
        return false;
    finish(t, status);
    return true;
}

static gboolean on_event(gint fd, GIOCondition cond, gpointer data)
{
    struct tool *t = data;
    char buf[16384];
    size_t budget = READ_PER_WAKEUP;
    ssize_t k;

    (void)fd;
    (void)cond;
    while (!t->eof && budget > 0) {
        k = popen2_read(t->p, 1, buf, sizeof buf < budget ? sizeof buf : budget);
        if (k > 0) {
            g_string_append_len(t->line, buf, k);
            budget -= (size_t)k;
        } else if (k == 0) {
            t->eof = true;
        } else {
            if (errno != EAGAIN)
                t->eof = true; /* an error ends the stream like EOF */
            break;
        }
    }
    flush_lines(t, t->eof);
    fflush(stdout);
    if (reap_if_ended(t)) {
        t->source = 0;
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static gboolean on_timeout(gpointer data)
{
    struct tool *tools = data;
    int i;

    for (i = 0; tools[i].cmd; i++) {
        if (tools[i].done)
            continue;
        printf("[%d] still running after the timeout: killing it\n", tools[i].num);
        popen2_kill(tools[i].p); /* the whole group: the shell and its children */
    }
    fflush(stdout);
    return G_SOURCE_REMOVE;
}

static gboolean on_tick(gpointer data)
{
    struct tool *tools = data;
    gint64 now = g_get_monotonic_time();
    int i;

    /* Where the child's exit is no event (no pidfds, as on macOS and the
     * BSDs: the descriptor reports the streams only), a tool whose output
     * ended before its child exited is reaped here. */
    for (i = 0; tools[i].cmd; i++)
        if (!tools[i].done && tools[i].eof && reap_if_ended(&tools[i])) {
            g_source_remove(tools[i].source);
            tools[i].source = 0;
        }
    if (last_tick && now - last_tick > max_gap)
        max_gap = now - last_tick;
    last_tick = now;
    ticks++;
    return G_SOURCE_CONTINUE;
}

static const char *default_cmds[] = {
    "for i in 1 2 3 4 5; do echo \"step $i of 5\"; sleep 0.4; done",
    "ls -l /usr/include | head -n 15; echo 'listing done' >&2",
    "echo 'waiting for a minute...'; sleep 60; echo 'never printed'",
};

static void usage(FILE *f)
{
    fputs("usage: mainloop [--timeout MS] [--tick MS] [--report] [--] [CMD ...]\n"
          "  Runs each CMD (a shell command; three built-in ones when none is given) in\n"
          "  one GLib main loop and prints its lines as they arrive, as \"[N] line\".\n"
          "  -t, --timeout MS  kill whatever still runs after MS milliseconds (default 3000)\n"
          "  -k, --tick MS     a timer firing every MS milliseconds (default 50)\n"
          "  -r, --report      print how many ticks ran and the longest gap between two\n"
          "  -h, --help        show this help\n"
          "A CMD that starts with '-' goes after \"--\".\n"
          "Exit status: 0 once every tool ended, 1 when one cannot be started, 2 on a\n"
          "usage error.\n",
          f);
}

/* A number of milliseconds from 1 to INT_MAX in s; 0, or -1 after a message
 * naming the option and the argument. */
static int parse_ms(const char *opt, const char *s, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end || errno || v < 1 || v > 0x7fffffff) {
        fprintf(stderr, "mainloop: bad %s '%s' (milliseconds, 1 or more)\n", opt, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"timeout", required_argument, NULL, 't'},
        {"tick", required_argument, NULL, 'k'},
        {"report", no_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int timeout_ms = 3000, tick_ms = 50, i, n = 0, argi, c;
    bool report = false;
    struct tool *tools;
    popen2_attr *a;

    opterr = 0; /* our own messages, naming the argument */
    /* "+": the commands are not options, even when they contain some. */
    while ((c = getopt_long(argc, argv, "+:t:k:rh", long_options, NULL)) != -1) {
        switch (c) {
        case 't':
            if (parse_ms("--timeout", optarg, &timeout_ms) < 0)
                return 2;
            break;
        case 'k':
            if (parse_ms("--tick", optarg, &tick_ms) < 0)
                return 2;
            break;
        case 'r':
            report = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            fprintf(stderr, "mainloop: option '%s' needs MS\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        default:
            if (optopt)
                fprintf(stderr, "mainloop: unknown option '-%c'\n", optopt);
            else
                fprintf(stderr, "mainloop: unknown option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    argi = optind;
    n = argc - argi ? argc - argi : 3;
    tools = calloc((size_t)n + 1, sizeof *tools);
    a = popen2_attr_new();
    if (!tools || !a)
        return 1;
    /* stdout and stderr in one pipe, no stdin, and a process group of its
     * own so the timeout's kill reaches whatever the shell started. */
    popen2_attr_set_stream(a, 0, POPEN2_DEVNULL);
    popen2_attr_set_stream(a, 2, POPEN2_MERGE);
    popen2_attr_set_group(a, POPEN2_GROUP_NEW);

    loop = g_main_loop_new(NULL, FALSE);
    for (i = 0; i < n; i++) {
        struct tool *t = &tools[i];
        int fd;

        t->num = i + 1;
        t->cmd = argc - argi ? argv[argi + i] : default_cmds[i];
        t->line = g_string_new(NULL);
        t->p = popen2_spawn(t->cmd, a);
        if (!t->p || (fd = popen2_event_fd(t->p)) < 0) {
            fprintf(stderr, "mainloop: cannot run '%s': %s\n", t->cmd, strerror(errno));
            return 1;
        }
        printf("[%d] started: %s\n", t->num, t->cmd);
        t->source = g_unix_fd_add(fd, G_IO_IN, on_event, t);
        running++;
    }
    popen2_attr_free(a);
    fflush(stdout);
    g_timeout_add((guint)timeout_ms, on_timeout, tools);
    g_timeout_add((guint)tick_ms, on_tick, tools);
    last_tick = g_get_monotonic_time();

    g_main_loop_run(loop);

    if (report)
        printf("ticks %ld max-gap-ms %lld\n", ticks, (long long)(max_gap / 1000));
    for (i = 0; i < n; i++) {
        popen2_free(tools[i].p);
        g_string_free(tools[i].line, TRUE);
    }
    free(tools);
    g_main_loop_unref(loop);
    return 0;
}
