/* demos/gtk-runner: a GTK 4 window that runs a command-line tool.
 *
 *   gtk-runner [--run CMD] [--cancel-after MS] [--limit MIB] [--no-terminal]
 *              [--screenshot FILE.png] [--screenshot-after MS]
 *              [--quit-when-done]
 *   gtk-runner --check-png FILE.png
 *
 * Type a shell command, press Run: its stdout and stderr (in red) stream into
 * the view as they arrive, a spinner turns and the status line counts bytes
 * and seconds, then shows the exit status or the signal.  With "Terminal"
 * on (the default; --no-terminal turns it off) the tool's stdout is a
 * pseudo-terminal (POPEN2_PTY) and its stderr stays a pipe: tools then
 * print line by line and in colour, as in a terminal, and the view renders
 * the basic SGR colours (ESC [ ... m: reset, bold, the 16 foreground and
 * background colours and their defaults) with text tags; other escape
 * sequences are dropped, and so is the terminal's CR of CR LF.  Cancel sends
 * SIGTERM to the tool's whole process group and SIGKILL after a grace
 * period, so whatever the shell started dies with it.
 *
 * What keeps the window alive whatever the tool does:
 *  - no thread of ours and no blocking call: the object's event descriptor
 *    sits on the main loop, popen2_read returns at once, popen2_poll only
 *    looks;
 *  - memory stays bounded: the library keeps only the newest --limit MiB of
 *    each stream (POPEN2_KEEP_TAIL), each wake-up puts at most a few KiB into
 *    the text view, and the view drops its oldest lines past a bound;
 *  - the descriptor's source runs below GTK's redraw and input priorities,
 *    so a flood of output never starves painting or clicks.
 *
 * The other options are for tests and documentation: --run starts CMD at
 * once, --cancel-after presses Cancel MS after the start, --screenshot
 * saves the window as GTK renders it (when the run has ended, or MS after the
 * start with --screenshot-after), --quit-when-done closes the window after
 * the run (and the screenshot).  At exit a report goes to stdout, one
 * "key=value" per line (status, signal, bytes, last_line, ticks, elapsed_ms,
 * peak_rss_kb, terminal, escapes (ESC bytes left in the view), sgr_tags
 * (the colour tags applied), screenshot_tries (a window not drawn yet is
 * tried again), ...).  --check-png needs no display: it loads a PNG and
 * prints its size and how many colours it has (exit 1 if it cannot).
 *
 * Exits 0, 1 when the command or the screenshot failed, 2 on a usage error.
 */
#include <popen2.h>

#include <errno.h>
#include <glib-unix.h>
#include <gtk/gtk.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

/* The responsiveness probe: a plain GLib timer.  Its count over a run, set
 * against the nominal rate, shows whether the loop ever stalled. */
#define TICK_MS 50
/* Most bytes, and longest time, spent reading one stream per wake-up.
 * Reading is a copy out of the library's ring, so it can go well beyond
 * what is shown; the time bound keeps a slow machine's wake-ups short too.
 * What is left wakes us again after the other sources had their turn. */
#define READ_CHUNK (64 * 1024)
#define READ_BUDGET (1024 * 1024)
#define READ_BUDGET_US 10000
/* Most bytes of one stream inserted into the view per wake-up: the newest
 * ones.  Laying out text is what costs, so this bounds each iteration. */
#define INSERT_MAX (8 * 1024)
/* The view's own bound.  GtkTextBuffer keeps per-line structures, so lines
 * count as well as characters.  Trimming goes down to 3/4 of the bound, so
 * it happens once per many batches rather than on each. */
#define VIEW_MAX_LINES 20000
#define VIEW_MAX_CHARS (1024 * 1024)
/* Pango lays out a whole paragraph at once: a tool that never prints a
 * newline would otherwise give the view one line of a megabyte. */
#define LINE_MAX_BYTES 2000
/* Between SIGTERM and SIGKILL on Cancel. */
#define GRACE_MS 2000
/* After the SIGKILL, how long the output may stay open before the run
 * stops waiting for it: only a process outside the group can hold it that
 * long, but on a loaded machine the group's end takes seconds to be seen. */
#define GIVE_UP_MS 10000
/* Let GTK validate and allocate the final text before it is rendered. */
#define SETTLE_MS 300
/* Tries at a window not drawn yet, SETTLE_MS apart: a minute, for an X
 * server under load (GTK's start alone took 20 s under a load of 13). */
#define SHOT_TRIES 200
#define DEFAULT_LIMIT_MIB 8
#define UNSET INT_MIN

/* What a terminal's escape sequences said so far, and where the parser is
 * (a sequence may end in the next wake-up's bytes). */
enum { ESC_TEXT, ESC_START, ESC_INTER, ESC_CSI, ESC_OSC, ESC_OSC_END };

struct sgr {
    int fg, bg;   /* 0-15, -1 the default */
    bool bold;
    int state;    /* ESC_* */
    char csi[64]; /* the parameter bytes of the CSI being read */
    size_t csi_len;
};

struct stream {
    int num;                             /* 1 stdout, 2 stderr */
    struct sgr sgr;
    bool eof;
    int error;                           /* errno that ended it, or 0 */
    GString *batch;                      /* newest bytes of this wake-up */
    unsigned long long skipped;          /* read but not shown, before batch */
    unsigned long long dropped_seen;     /* the library's KEEP_TAIL count so far */
    struct popen2_stream_stats st;       /* last known counters */
};

static struct {
    /* options */
    char *run_cmd, *screenshot;
    int cancel_after, screenshot_after, limit_mib;
    gboolean quit_when_done;

    GMainLoop *loop;
    GtkWidget *window, *entry, *run_btn, *cancel_btn, *spinner, *status, *view;
    GtkTextBuffer *buf;
    GtkTextTag *err_tag, *note_tag;
    GtkTextTag *fg_tag[16], *bg_tag[16], *bold_tag; /* the SGR colours */
    GtkWidget *term_check;
    gboolean no_terminal;
    GtkTextMark *end_mark;
    size_t tail_line; /* bytes of the view's last line (LINE_MAX_BYTES) */
    bool follow;

    /* the run */
    popen2_proc *p;
    pid_t pgid;
    guint source, grace_source, cancel_source, shot_source;
    struct stream out, err;
    bool running, started, reaped, cancelled, killed;
    int wstatus;
    gint64 t_start, t_end, t_cancel;
    long ticks_at_start, run_ticks;
    unsigned long long view_skipped;

    /* the probe */
    long ticks;
    gint64 t_main, last_tick, max_gap;

    bool shot_taken;
    int shot_tries; /* made so far (a window not drawn yet is tried again) */
    int rc;
} app;

static gint64 now_us(void)
{
    return g_get_monotonic_time();
}

static void set_status(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void set_status(const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    s = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (app.status)
        gtk_label_set_text(GTK_LABEL(app.status), s);
    g_free(s);
}

static char *size_str(unsigned long long n)
{
    return g_format_size_full(n, G_FORMAT_SIZE_IEC_UNITS);
}

/* Length of an incomplete UTF-8 sequence at the end of s, to be held back
 * until the rest of it arrives. */
static size_t incomplete_utf8_tail(const char *s, size_t len)
{
    size_t back;

    for (back = 1; back <= 3 && back <= len; back++) {
        unsigned char c = (unsigned char)s[len - back];
        size_t need;

        if ((c & 0xC0) == 0x80)
            continue;
        if (c < 0x80)
            return 0;
        need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        return need > back ? back : 0;
    }
    return 0;
}

/* Keeps the newest INSERT_MAX bytes of what this wake-up read. */
static void keep_tail(struct stream *s, const char *data, size_t n)
{
    GString *b = s->batch;

    if (n >= INSERT_MAX) {
        s->skipped += b->len + (n - INSERT_MAX);
        g_string_truncate(b, 0);
        g_string_append_len(b, data + (n - INSERT_MAX), INSERT_MAX);
        return;
    }
    g_string_append_len(b, data, (gssize)n);
    if (b->len > INSERT_MAX) {
        size_t over = b->len - INSERT_MAX;

        s->skipped += over;
        g_string_erase(b, 0, (gssize)over);
    }
}

static void drain(struct stream *s)
{
    static char chunk[READ_CHUNK];
    size_t budget = READ_BUDGET;
    gint64 deadline = now_us() + READ_BUDGET_US;
    ssize_t k;

    while (!s->eof && budget > 0 && now_us() < deadline) {
        k = popen2_read(app.p, s->num, chunk, budget < sizeof chunk ? budget : sizeof chunk);
        if (k > 0) {
            keep_tail(s, chunk, (size_t)k);
            budget -= (size_t)k;
        } else if (k == 0) {
            s->eof = true;
        } else {
            if (errno != EAGAIN && errno != EINTR) {
                s->error = errno; /* ends the stream like EOF */
                s->eof = true;
            }
            break;
        }
    }
}

static void insert_text(const char *text, size_t len, GtkTextTag *const *tags, int ntags)
{
    GtkTextIter start, end;
    int off, i;

    gtk_text_buffer_get_end_iter(app.buf, &end);
    off = gtk_text_iter_get_offset(&end);
    gtk_text_buffer_insert(app.buf, &end, text, (gint)len);
    gtk_text_buffer_get_iter_at_offset(app.buf, &start, off);
    gtk_text_buffer_get_end_iter(app.buf, &end);
    for (i = 0; i < ntags; i++)
        gtk_text_buffer_apply_tag(app.buf, tags[i], &start, &end);
}

/* Appends valid UTF-8 to the view with the tags, breaking lines longer than
 * LINE_MAX_BYTES. */
static void append_wrapped(const char *text, size_t len, GtkTextTag *const *tags, int ntags)
{
    GString *out = g_string_sized_new(len + len / LINE_MAX_BYTES + 2);
    const char *p = text, *end = text + len;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl + 1 : end;
        size_t room = LINE_MAX_BYTES - app.tail_line;

        if ((size_t)(stop - p) > room && (!nl || (size_t)(nl - p) > room)) {
            const char *cut = p + room;

            /* Never inside a character. */
            while (cut > p && ((unsigned char)*cut & 0xC0) == 0x80)
                cut--;
            if (cut == p && app.tail_line == 0)
                cut = g_utf8_next_char(p);
            g_string_append_len(out, p, cut - p);
            g_string_append_c(out, '\n');
            app.tail_line = 0;
            p = cut;
            continue;
        }
        g_string_append_len(out, p, stop - p);
        app.tail_line = nl ? 0 : app.tail_line + (size_t)(stop - p);
        p = stop;
    }
    insert_text(out->str, out->len, tags, ntags);
    g_string_free(out, TRUE);
}

/* SGR parameters ("1;31", "" for 0): the basic colours and bold.  Anything
 * else (256 colours, italics, private sequences) is left out. */
static void sgr_apply(struct sgr *g, const char *params)
{
    const char *p = params;
    char *end;
    long v;

    if (strspn(params, "0123456789;") != strlen(params))
        return;
    for (;;) {
        v = strtol(p, &end, 10); /* an empty field is 0 */
        if (v == 0) {
            g->fg = g->bg = -1;
            g->bold = false;
        } else if (v == 1) {
            g->bold = true;
        } else if (v == 22) {
            g->bold = false;
        } else if ((v >= 30 && v <= 37) || (v >= 90 && v <= 97)) {
            g->fg = (int)(v >= 90 ? v - 90 + 8 : v - 30);
        } else if ((v >= 40 && v <= 47) || (v >= 100 && v <= 107)) {
            g->bg = (int)(v >= 100 ? v - 100 + 8 : v - 40);
        } else if (v == 39) {
            g->fg = -1;
        } else if (v == 49) {
            g->bg = -1;
        } else if (v == 38 || v == 48) {
            return; /* extended colours: their arguments are no attributes */
        }
        if (*end != ';')
            return;
        p = end + 1;
    }
}

/* Appends the text run with the stream's current attributes. */
static void flush_run(const struct stream *s, GString *run)
{
    GtkTextTag *tags[4];
    int n = 0;

    if (!run->len)
        return;
    if (s->sgr.fg >= 0)
        tags[n++] = app.fg_tag[s->sgr.fg];
    else if (s->num == 2)
        tags[n++] = app.err_tag;
    if (s->sgr.bg >= 0)
        tags[n++] = app.bg_tag[s->sgr.bg];
    if (s->sgr.bold)
        tags[n++] = app.bold_tag;
    append_wrapped(run->str, run->len, tags, n);
    g_string_truncate(run, 0);
}

/* Appends what a terminal printed: text with the colours its SGR sequences
 * set; other escape sequences (CSI, OSC, two-byte ESC) and control bytes
 * dropped, CR of CR LF too.  The parser's state lives in the stream, since
 * a sequence may be cut between two wake-ups. */
static void append_terminal(struct stream *s, const char *text, size_t len)
{
    struct sgr *g = &s->sgr;
    GString *run = g_string_sized_new(len);
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];

        switch (g->state) {
        case ESC_TEXT:
            if (c == 0x1b) {
                flush_run(s, run);
                g->state = ESC_START;
            } else if (c >= 0x20 || c == '\n' || c == '\t') {
                g_string_append_c(run, (char)c);
            }
            break;
        case ESC_START:
            g->csi_len = 0;
            g->state = c == '[' ? ESC_CSI : c == ']' ? ESC_OSC : c >= 0x20 && c <= 0x2f ? ESC_INTER
                                                                                     : ESC_TEXT;
            break;
        case ESC_INTER:
            if (c >= 0x30)
                g->state = ESC_TEXT;
            break;
        case ESC_CSI:
            if (c >= 0x40 && c <= 0x7e) {
                g->csi[g->csi_len] = '\0';
                if (c == 'm')
                    sgr_apply(g, g->csi);
                g->state = ESC_TEXT;
            } else if (c < 0x20 || c >= 0x80) {
                g->state = ESC_TEXT; /* not a sequence after all */
            } else if (g->csi_len < sizeof g->csi - 1) {
                g->csi[g->csi_len++] = (char)c;
            }
            break;
        case ESC_OSC:
            if (c == 0x07)
                g->state = ESC_TEXT;
            else if (c == 0x1b)
                g->state = ESC_OSC_END;
            break;
        default: /* ESC_OSC_END: ESC \ ends it */
            g->state = ESC_TEXT;
            break;
        }
    }
    flush_run(s, run);
    g_string_free(run, TRUE);
}

/* Puts the newest bytes of this wake-up into the view, after a note of how
 * much before them is not shown (skipped here, or dropped by the library's
 * KEEP_TAIL limit while we were busy). */
static void show(struct stream *s)
{
    const char *start = s->batch->str;
    size_t len = s->batch->len, hold = 0;
    char *valid;

    if (s->st.dropped > s->dropped_seen) {
        s->skipped += s->st.dropped - s->dropped_seen;
        s->dropped_seen = s->st.dropped;
    }
    if (s->skipped > 0 && len > 0) {
        /* Resume at a line start: half a line after a gap reads as garbage. */
        const char *nl = memchr(start, '\n', len);

        if (nl && (size_t)(nl + 1 - start) < len) {
            s->skipped += (size_t)(nl + 1 - start);
            len -= (size_t)(nl + 1 - start);
            start = nl + 1;
        }
        while (len > 0 && ((unsigned char)*start & 0xC0) == 0x80) {
            start++;
            len--;
            s->skipped++;
        }
    }
    if (!s->eof)
        hold = incomplete_utf8_tail(start, len);
    if (s->skipped > 0 && (len > hold || s->eof)) {
        char *size = size_str(s->skipped), *note;

        note = g_strdup_printf("%s[... %s of %s not shown ...]\n", app.tail_line ? "\n" : "",
                               size, s->num == 1 ? "stdout" : "stderr");
        insert_text(note, strlen(note), &app.note_tag, 1);
        app.tail_line = 0;
        app.view_skipped += s->skipped;
        s->skipped = 0;
        g_free(note);
        g_free(size);
    }
    if (len > hold) {
        /* Invalid bytes become U+FFFD: GtkTextBuffer takes only UTF-8. */
        valid = g_utf8_make_valid(start, (gssize)(len - hold));
        append_terminal(s, valid, strlen(valid));
        g_free(valid);
    }
    /* The held-back bytes open the next batch. */
    g_string_erase(s->batch, 0, (gssize)(start + len - hold - s->batch->str));
}

static void trim_view(void)
{
    int lines = gtk_text_buffer_get_line_count(app.buf);
    int chars = gtk_text_buffer_get_char_count(app.buf);
    GtkTextIter start, cut;

    if (lines <= VIEW_MAX_LINES && chars <= VIEW_MAX_CHARS)
        return;
    gtk_text_buffer_get_iter_at_line(app.buf, &cut, MAX(0, lines - VIEW_MAX_LINES * 3 / 4));
    if (gtk_text_iter_get_offset(&cut) < chars - VIEW_MAX_CHARS * 3 / 4) {
        gtk_text_buffer_get_iter_at_offset(app.buf, &cut, chars - VIEW_MAX_CHARS * 3 / 4);
        if (!gtk_text_iter_starts_line(&cut))
            gtk_text_iter_forward_line(&cut);
    }
    gtk_text_buffer_get_start_iter(app.buf, &start);
    gtk_text_buffer_delete(app.buf, &start, &cut);
}

/* New output scrolls the view to its end unless the user scrolled away:
 * the wheel or a key moving up, or a press on the scrollbar.  Reaching the
 * bottom again resumes following.  The adjustment alone cannot tell: the
 * view moves it itself while it lays out text. */
static void on_scrolled(GtkAdjustment *adj, gpointer data)
{
    (void)data;
    if (gtk_adjustment_get_value(adj) + gtk_adjustment_get_page_size(adj) >=
        gtk_adjustment_get_upper(adj) - 4.0)
        app.follow = true;
}

static gboolean on_wheel(GtkEventControllerScroll *c, double dx, double dy, gpointer data)
{
    (void)c;
    (void)dx;
    (void)data;
    if (dy < 0)
        app.follow = false;
    return FALSE;
}

static gboolean on_key(GtkEventControllerKey *c, guint keyval, guint keycode,
                       GdkModifierType state, gpointer data)
{
    (void)c;
    (void)keycode;
    (void)state;
    (void)data;
    if (keyval == GDK_KEY_Up || keyval == GDK_KEY_Page_Up || keyval == GDK_KEY_Home ||
        keyval == GDK_KEY_KP_Up || keyval == GDK_KEY_KP_Page_Up || keyval == GDK_KEY_KP_Home)
        app.follow = false;
    return FALSE;
}

static void on_scrollbar_pressed(GtkGestureClick *g, int n, double x, double y, gpointer data)
{
    (void)g;
    (void)n;
    (void)x;
    (void)y;
    (void)data;
    app.follow = false;
}

/* The view learns the height of new text only as it lays it out, in idle
 * steps, so the end is a moving target: keep following it as it grows. */
static void on_view_grown(GtkAdjustment *adj, gpointer data)
{
    (void)data;
    if (app.follow)
        gtk_adjustment_set_value(adj, gtk_adjustment_get_upper(adj) -
                                          gtk_adjustment_get_page_size(adj));
}

static void scroll_to_end(void)
{
    if (app.follow)
        gtk_text_view_scroll_to_mark(GTK_TEXT_VIEW(app.view), app.end_mark, 0.0, TRUE, 0.0, 1.0);
}

static void refresh_stats(void)
{
    if (!app.p)
        return;
    popen2_stream_stats(app.p, 1, &app.out.st);
    popen2_stream_stats(app.p, 2, &app.err.st);
}

static unsigned long long total_bytes(void)
{
    return app.out.st.total + app.err.st.total;
}

static void update_running_status(void)
{
    unsigned long long dropped = app.out.st.dropped + app.err.st.dropped;
    double secs = (double)(now_us() - app.t_start) / 1e6;
    char *got = size_str(total_bytes()), *lost = size_str(dropped);

    if (dropped)
        set_status("%s %s in %.1f s (all but the newest %d MiB of each stream dropped: %s)",
                   app.cancelled ? "Stopping..." : "Running:", got, secs, app.limit_mib, lost);
    else
        set_status("%s %s in %.1f s", app.cancelled ? "Stopping..." : "Running:", got, secs);
    g_free(got);
    g_free(lost);
}

static void maybe_quit(void)
{
    if (app.quit_when_done && !app.running && (!app.screenshot || app.shot_taken))
        g_main_loop_quit(app.loop);
}

/* What one try at the screenshot gave. */
enum shot { SHOT_SAVED, SHOT_NOT_YET, SHOT_FAILED };

/* A window that is not mapped, or has no renderer or no drawing yet, gives
 * no render node or no texture: on a loaded X server that can still be so
 * when a short run has ended, so the caller tries again later. */
static enum shot save_screenshot(const char *file, const char **why)
{
    GtkWidget *w = app.window;
    int width = gtk_widget_get_width(w), height = gtk_widget_get_height(w);
    GskRenderer *renderer = gtk_native_get_renderer(GTK_NATIVE(w));
    GdkPaintable *paintable;
    GtkSnapshot *snap;
    GskRenderNode *node;
    GdkTexture *tex = NULL;
    bool ok;

    *why = NULL;
    if (!gtk_widget_get_mapped(w) || width <= 0 || height <= 0)
        *why = "the window is not mapped, or has no size";
    else if (!renderer)
        *why = "the window has no renderer";
    if (*why)
        return SHOT_NOT_YET;
    paintable = gtk_widget_paintable_new(w);
    snap = gtk_snapshot_new();
    gdk_paintable_snapshot(paintable, snap, width, height);
    node = gtk_snapshot_free_to_node(snap);
    g_object_unref(paintable);
    if (!node) {
        *why = "the window drew nothing";
        return SHOT_NOT_YET;
    }
    tex = gsk_renderer_render_texture(renderer, node,
                                      &GRAPHENE_RECT_INIT(0, 0, (float)width, (float)height));
    gsk_render_node_unref(node);
    if (!tex) {
        *why = "the renderer made no texture";
        return SHOT_NOT_YET;
    }
    ok = gdk_texture_save_to_png(tex, file);
    g_object_unref(tex);
    if (!ok) {
        *why = "the PNG could not be written";
        return SHOT_FAILED;
    }
    return SHOT_SAVED;
}

static gboolean on_screenshot(gpointer data)
{
    const char *why;
    enum shot r;

    (void)data;
    app.shot_source = 0;
    if (!app.shot_taken) {
        r = save_screenshot(app.screenshot, &why);
        app.shot_tries++;
        if (r == SHOT_NOT_YET && app.shot_tries < SHOT_TRIES) {
            app.shot_source = g_timeout_add(SETTLE_MS, on_screenshot, NULL);
            return G_SOURCE_REMOVE;
        }
        app.shot_taken = true;
        if (r != SHOT_SAVED) {
            fprintf(stderr, "gtk-runner: cannot save the screenshot to %s: %s (%d tries)\n",
                    app.screenshot, why, app.shot_tries);
            app.rc = 1;
        }
    }
    maybe_quit();
    return G_SOURCE_REMOVE;
}

static void remove_source(guint *id)
{
    if (*id) {
        g_source_remove(*id);
        *id = 0;
    }
}

static void finish_run(void)
{
    char *got;
    const char *held;
    double secs;

    app.running = false;
    app.t_end = now_us();
    app.run_ticks = app.ticks - app.ticks_at_start;
    remove_source(&app.grace_source);
    remove_source(&app.cancel_source);
    /* The descriptor belongs to the object: off the loop before the free. */
    remove_source(&app.source);
    refresh_stats();
    popen2_free(app.p);
    app.p = NULL;

    scroll_to_end();
    gtk_spinner_stop(GTK_SPINNER(app.spinner));
    gtk_widget_set_visible(app.spinner, FALSE);
    gtk_widget_set_sensitive(app.run_btn, TRUE);
    gtk_widget_set_sensitive(app.cancel_btn, FALSE);
    got = size_str(total_bytes());
    secs = (double)(app.t_end - app.t_start) / 1e6;
    held = app.out.eof && app.err.eof ? ""
                                      : "; the output is still held open outside the group";
    if (!app.reaped)
        set_status("Gave up: the output is still held open by a process outside the group "
                   "(%s in %.1f s)", got, secs);
    else if (WIFEXITED(app.wstatus))
        set_status("Exited with status %d: %s in %.1f s%s%s", WEXITSTATUS(app.wstatus), got, secs,
                   app.cancelled ? " (cancelled)" : "", held);
    else if (WIFSIGNALED(app.wstatus))
        set_status("Killed by signal %d (%s): %s in %.1f s%s%s", WTERMSIG(app.wstatus),
                   g_strsignal(WTERMSIG(app.wstatus)), got, secs,
                   app.cancelled ? " (cancelled)" : "", held);
    g_free(got);

    if (app.screenshot && !app.shot_taken && app.screenshot_after == UNSET && !app.shot_source)
        app.shot_source = g_timeout_add(SETTLE_MS, on_screenshot, NULL);
    maybe_quit();
}

/* Keeps the child's status once it has ended.  poll() only looks, it never
 * waits; reaping also keeps the event descriptor from reporting the exit
 * again. */
static void reap_if_ended(void)
{
    int st;

    if (!app.reaped && (st = popen2_poll(app.p)) != -1) {
        app.reaped = true;
        app.wstatus = st;
    }
}

static gboolean on_child_event(gint fd, GIOCondition cond, gpointer data)
{
    (void)fd;
    (void)cond;
    (void)data;
    drain(&app.out);
    drain(&app.err);
    refresh_stats();
    show(&app.out);
    show(&app.err);
    trim_view();
    scroll_to_end();
    reap_if_ended(); /* the descriptor also reports the exit */
    if (app.out.eof && app.err.eof && app.reaped) {
        app.source = 0;
        finish_run();
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static gboolean on_grace_over(gpointer data)
{
    (void)data;
    if (!app.running)
        return G_SOURCE_REMOVE;
    if (!app.killed) {
        app.killed = true;
        /* After the reap popen2_kill says ESRCH and signals nothing (the pid
         * may be reused).  Output still open usually means some of the group
         * lives on (unless what holds the pipes left the group), and Linux
         * does not reuse the id of a group that has members, so the group
         * can still be killed by its id. */
        if (popen2_kill(app.p) != 0 && errno == ESRCH && app.pgid > 0)
            kill(-app.pgid, SIGKILL);
        app.grace_source = g_timeout_add(GIVE_UP_MS, on_grace_over, NULL);
        return G_SOURCE_REMOVE;
    }
    app.grace_source = 0;
    /* The output stays open, but the status may be known: reported, not
     * lost with the object. */
    reap_if_ended();
    finish_run();
    return G_SOURCE_REMOVE;
}

static void cancel_run(void)
{
    if (!app.running || app.cancelled)
        return;
    app.cancelled = true;
    app.t_cancel = now_us();
    gtk_widget_set_sensitive(app.cancel_btn, FALSE);
    /* The whole group, so the shell's children stop too.  ESRCH: it has
     * just exited; the grace timer still covers what holds the pipes. */
    popen2_terminate(app.p);
    app.grace_source = g_timeout_add(GRACE_MS, on_grace_over, NULL);
    update_running_status();
}

static gboolean on_auto_cancel(gpointer data)
{
    (void)data;
    app.cancel_source = 0;
    cancel_run();
    return G_SOURCE_REMOVE;
}

static void reset_stream(struct stream *s, int num)
{
    if (!s->batch)
        s->batch = g_string_new(NULL);
    g_string_truncate(s->batch, 0);
    s->num = num;
    s->eof = false;
    s->error = 0;
    s->skipped = 0;
    s->dropped_seen = 0;
    memset(&s->st, 0, sizeof s->st);
    memset(&s->sgr, 0, sizeof s->sgr);
    s->sgr.fg = s->sgr.bg = -1;
}

static void start_run(const char *cmd)
{
    char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
    size_t limit = (size_t)app.limit_mib << 20;
    bool terminal = gtk_check_button_get_active(GTK_CHECK_BUTTON(app.term_check));
    popen2_attr *a;
    int fd = -1, err = 0;

    if (app.running || !cmd || !*cmd)
        return;
    a = popen2_attr_new();
    /* No stdin (the window has nothing to type into the tool), stderr in its
     * own pipe, a process group of its own so Cancel reaches everything the
     * shell starts, and the newest `limit` bytes of each stream kept: a
     * tool that prints gigabytes costs at most that much memory.  With
     * Terminal on, stdout is a terminal (the tool's session then, which
     * is a process group of its own as well). */
    if (!a || popen2_attr_set_stream(a, 0, POPEN2_DEVNULL) != 0 ||
        popen2_attr_set_stream(a, 2, POPEN2_PIPE) != 0 ||
        (terminal && (popen2_attr_set_stream(a, 1, POPEN2_PTY) != 0 ||
                      popen2_attr_set_pty(a, 24, 80, 0) != 0)) ||
        popen2_attr_set_group(a, POPEN2_GROUP_NEW) != 0 ||
        popen2_attr_set_limit(a, 1, limit, POPEN2_KEEP_TAIL) != 0 ||
        popen2_attr_set_limit(a, 2, limit, POPEN2_KEEP_TAIL) != 0)
        err = errno;
    app.p = err ? NULL : popen2_spawnv(argv, a);
    if (!err && !app.p)
        err = errno;
    popen2_attr_free(a);
    if (app.p && (fd = popen2_event_fd(app.p)) < 0) {
        err = errno;
        popen2_kill(app.p);
        popen2_wait_timeout(app.p, 1000);
        popen2_free(app.p);
        app.p = NULL;
    }
    if (!app.p) {
        set_status("Cannot run the command: %s", g_strerror(err));
        fprintf(stderr, "gtk-runner: cannot run '%s': %s\n", cmd, g_strerror(err));
        app.rc = 1;
        if (app.quit_when_done)
            g_main_loop_quit(app.loop);
        return;
    }

    app.pgid = popen2_pid(app.p);
    reset_stream(&app.out, 1);
    reset_stream(&app.err, 2);
    app.running = app.started = true;
    app.reaped = app.cancelled = app.killed = false;
    app.view_skipped = 0;
    app.t_start = now_us();
    app.t_cancel = app.t_end = 0;
    app.ticks_at_start = app.ticks;
    gtk_text_buffer_set_text(app.buf, "", 0);
    app.tail_line = 0;
    app.follow = true;
    /* Below GTK's redraw and event priorities: while output floods in,
     * painting, clicks and timers still come first, and the source runs
     * whenever they are idle. */
    app.source = g_unix_fd_add_full(G_PRIORITY_DEFAULT_IDLE, fd, G_IO_IN, on_child_event, NULL,
                                    NULL);
    gtk_widget_set_visible(app.spinner, TRUE);
    gtk_spinner_start(GTK_SPINNER(app.spinner));
    gtk_widget_set_sensitive(app.run_btn, FALSE);
    gtk_widget_set_sensitive(app.cancel_btn, TRUE);
    update_running_status();
    if (app.cancel_after != UNSET)
        app.cancel_source = g_timeout_add((guint)app.cancel_after, on_auto_cancel, NULL);
    if (app.screenshot && app.screenshot_after != UNSET && !app.shot_taken && !app.shot_source)
        app.shot_source = g_timeout_add((guint)app.screenshot_after, on_screenshot, NULL);
}

static gboolean on_tick(gpointer data)
{
    gint64 now = now_us();

    (void)data;
    if (app.last_tick && now - app.last_tick > app.max_gap)
        app.max_gap = now - app.last_tick;
    app.last_tick = now;
    app.ticks++;
    if (app.running) {
        /* Without pidfds the descriptor reports the streams only: the exit
         * is found here once both have ended. */
        if (app.out.eof && app.err.eof && !app.reaped) {
            int st = popen2_poll(app.p);

            if (st != -1) {
                app.reaped = true;
                app.wstatus = st;
                finish_run();
                return G_SOURCE_CONTINUE;
            }
        }
        if (app.ticks % 4 == 0) {
            refresh_stats();
            update_running_status();
        }
    }
    return G_SOURCE_CONTINUE;
}

static void on_run_clicked(GtkWidget *w, gpointer data)
{
    (void)w;
    (void)data;
    start_run(gtk_editable_get_text(GTK_EDITABLE(app.entry)));
}

static void on_cancel_clicked(GtkWidget *w, gpointer data)
{
    (void)w;
    (void)data;
    cancel_run();
}

static gboolean on_start(gpointer data)
{
    (void)data;
    start_run(app.run_cmd);
    return G_SOURCE_REMOVE;
}

static gboolean on_close_request(GtkWindow *w, gpointer data)
{
    (void)w;
    (void)data;
    /* main() destroys the window after the report, which reads its buffer. */
    g_main_loop_quit(app.loop);
    return TRUE;
}

/* The terminal's 16 colours (the Tango palette of GNOME Terminal), as
 * foreground and background tags, and bold.  Created after the stderr tag,
 * so a colour the tool chose wins over it. */
static void make_sgr_tags(void)
{
    static const char *const palette[16] = {
        "#2e3436", "#cc0000", "#4e9a06", "#c4a000", "#3465a4", "#75507b", "#06989a", "#d3d7cf",
        "#555753", "#ef2929", "#8ae234", "#fce94f", "#729fcf", "#ad7fa8", "#34e2e2", "#eeeeec",
    };
    char name[16];
    int i;

    for (i = 0; i < 16; i++) {
        snprintf(name, sizeof name, "fg%d", i);
        app.fg_tag[i] = gtk_text_buffer_create_tag(app.buf, name, "foreground", palette[i], NULL);
        snprintf(name, sizeof name, "bg%d", i);
        app.bg_tag[i] = gtk_text_buffer_create_tag(app.buf, name, "background", palette[i], NULL);
    }
    app.bold_tag = gtk_text_buffer_create_tag(app.buf, "bold", "weight", PANGO_WEIGHT_BOLD, NULL);
}

/* Whether tag is applied anywhere in the view. */
static bool tag_used(GtkTextTag *tag)
{
    GtkTextIter it;

    gtk_text_buffer_get_start_iter(app.buf, &it);
    return gtk_text_iter_has_tag(&it, tag) || gtk_text_iter_forward_to_tag_toggle(&it, tag);
}

/* The report's sgr_tags= (the colour tags applied) and escapes= (ESC bytes
 * left in the view: none when the view rendered them). */
static void report_terminal(void)
{
    GtkTextIter start, end;
    char *text, *p;
    const char *sep = "";
    int i, escapes = 0;

    printf("terminal=%d\nsgr_tags=", gtk_check_button_get_active(GTK_CHECK_BUTTON(app.term_check)));
    for (i = 0; i < 16; i++) {
        if (tag_used(app.fg_tag[i])) {
            printf("%sfg%d", sep, i);
            sep = ",";
        }
        if (tag_used(app.bg_tag[i])) {
            printf("%sbg%d", sep, i);
            sep = ",";
        }
    }
    printf("%s\n", tag_used(app.bold_tag) ? *sep ? ",bold" : "bold" : "");
    gtk_text_buffer_get_bounds(app.buf, &start, &end);
    text = gtk_text_buffer_get_text(app.buf, &start, &end, TRUE);
    for (p = text; (p = strchr(p, 0x1b)) != NULL; p++)
        escapes++;
    printf("escapes=%d\n", escapes);
    g_free(text);
}

static void build_window(void)
{
    GtkWidget *box, *row, *scroll, *bottom;
    GtkEventController *ctl;
    GtkTextIter end;

    app.window = gtk_window_new();
    gtk_window_set_title(GTK_WINDOW(app.window), "gtk-runner (libpopen2)");
    gtk_window_set_default_size(GTK_WINDOW(app.window), 760, 440);
    g_signal_connect(app.window, "close-request", G_CALLBACK(on_close_request), NULL);

    box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 6);
    gtk_widget_set_margin_start(box, 8);
    gtk_widget_set_margin_end(box, 8);
    gtk_widget_set_margin_top(box, 8);
    gtk_widget_set_margin_bottom(box, 8);
    gtk_window_set_child(GTK_WINDOW(app.window), box);

    row = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
    app.entry = gtk_entry_new();
    gtk_entry_set_placeholder_text(GTK_ENTRY(app.entry), "shell command, e.g. make -j2");
    gtk_widget_set_hexpand(app.entry, TRUE);
    g_signal_connect(app.entry, "activate", G_CALLBACK(on_run_clicked), NULL);
    app.run_btn = gtk_button_new_with_mnemonic("_Run");
    gtk_widget_add_css_class(app.run_btn, "suggested-action");
    g_signal_connect(app.run_btn, "clicked", G_CALLBACK(on_run_clicked), NULL);
    app.cancel_btn = gtk_button_new_with_mnemonic("_Cancel");
    gtk_widget_set_sensitive(app.cancel_btn, FALSE);
    g_signal_connect(app.cancel_btn, "clicked", G_CALLBACK(on_cancel_clicked), NULL);
    app.term_check = gtk_check_button_new_with_mnemonic("_Terminal");
    gtk_check_button_set_active(GTK_CHECK_BUTTON(app.term_check), !app.no_terminal);
    gtk_widget_set_tooltip_text(app.term_check, "Run with stdout on a pseudo-terminal: line by "
                                                "line and in colour, as in a terminal");
    gtk_box_append(GTK_BOX(row), app.entry);
    gtk_box_append(GTK_BOX(row), app.term_check);
    gtk_box_append(GTK_BOX(row), app.run_btn);
    gtk_box_append(GTK_BOX(row), app.cancel_btn);
    gtk_box_append(GTK_BOX(box), row);

    app.view = gtk_text_view_new();
    gtk_text_view_set_editable(GTK_TEXT_VIEW(app.view), FALSE);
    gtk_text_view_set_cursor_visible(GTK_TEXT_VIEW(app.view), FALSE);
    gtk_text_view_set_monospace(GTK_TEXT_VIEW(app.view), TRUE);
    gtk_text_view_set_wrap_mode(GTK_TEXT_VIEW(app.view), GTK_WRAP_CHAR);
    app.buf = g_object_ref(gtk_text_view_get_buffer(GTK_TEXT_VIEW(app.view)));
    app.err_tag = gtk_text_buffer_create_tag(app.buf, "stderr", "foreground", "#c01c28", NULL);
    app.note_tag = gtk_text_buffer_create_tag(app.buf, "note", "foreground", "#77767b", "style",
                                              PANGO_STYLE_ITALIC, NULL);
    make_sgr_tags();
    gtk_text_buffer_get_end_iter(app.buf, &end);
    app.end_mark = gtk_text_buffer_create_mark(app.buf, "end", &end, FALSE);
    scroll = gtk_scrolled_window_new();
    gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(scroll), app.view);
    app.follow = true;
    g_signal_connect(gtk_scrollable_get_vadjustment(GTK_SCROLLABLE(app.view)), "value-changed",
                     G_CALLBACK(on_scrolled), NULL);
    g_signal_connect(gtk_scrollable_get_vadjustment(GTK_SCROLLABLE(app.view)), "changed",
                     G_CALLBACK(on_view_grown), NULL);
    ctl = gtk_event_controller_scroll_new(GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);
    g_signal_connect(ctl, "scroll", G_CALLBACK(on_wheel), NULL);
    gtk_widget_add_controller(app.view, ctl);
    ctl = gtk_event_controller_key_new();
    g_signal_connect(ctl, "key-pressed", G_CALLBACK(on_key), NULL);
    gtk_widget_add_controller(app.view, ctl);
    ctl = GTK_EVENT_CONTROLLER(gtk_gesture_click_new());
    gtk_event_controller_set_propagation_phase(ctl, GTK_PHASE_CAPTURE);
    g_signal_connect(ctl, "pressed", G_CALLBACK(on_scrollbar_pressed), NULL);
    gtk_widget_add_controller(gtk_scrolled_window_get_vscrollbar(GTK_SCROLLED_WINDOW(scroll)), ctl);
    gtk_widget_set_vexpand(scroll, TRUE);
    gtk_box_append(GTK_BOX(box), scroll);

    bottom = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
    app.spinner = gtk_spinner_new();
    gtk_widget_set_visible(app.spinner, FALSE);
    app.status = gtk_label_new("Ready.");
    gtk_label_set_xalign(GTK_LABEL(app.status), 0.0f);
    gtk_label_set_ellipsize(GTK_LABEL(app.status), PANGO_ELLIPSIZE_END);
    gtk_widget_set_hexpand(app.status, TRUE);
    gtk_box_append(GTK_BOX(bottom), app.spinner);
    gtk_box_append(GTK_BOX(bottom), app.status);
    gtk_box_append(GTK_BOX(box), bottom);
}

/* The last non-empty line of the view. */
static char *last_line(void)
{
    GtkTextIter start, end;
    int line = gtk_text_buffer_get_line_count(app.buf) - 1;
    char *s = NULL;

    for (; line >= 0; line--) {
        gtk_text_buffer_get_iter_at_line(app.buf, &start, line);
        end = start;
        if (!gtk_text_iter_ends_line(&end))
            gtk_text_iter_forward_to_line_end(&end);
        s = gtk_text_buffer_get_text(app.buf, &start, &end, FALSE);
        if (*s)
            break;
        g_free(s);
        s = NULL;
    }
    return s ? s : g_strdup("");
}

static long peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    struct rusage ru;

    if (f) {
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
                break;
        fclose(f);
    }
    if (kb < 0 && getrusage(RUSAGE_SELF, &ru) == 0)
        kb = ru.ru_maxrss; /* kilobytes on Linux */
    return kb;
}

static void report(void)
{
    char *line = last_line();
    size_t i;

    for (i = 0; line[i]; i++)
        if (line[i] == '\r')
            line[i] = ' ';
    if (app.started && app.reaped && WIFEXITED(app.wstatus))
        printf("status=%d\nsignal=0\n", WEXITSTATUS(app.wstatus));
    else if (app.started && app.reaped && WIFSIGNALED(app.wstatus))
        printf("status=none\nsignal=%d\n", WTERMSIG(app.wstatus));
    else
        printf("status=none\nsignal=0\n");
    printf("bytes=%llu\n", total_bytes());
    printf("bytes_stdout=%llu\nbytes_stderr=%llu\n", app.out.st.total, app.err.st.total);
    printf("dropped=%llu\n", app.out.st.dropped + app.err.st.dropped);
    printf("not_shown=%llu\n", app.view_skipped);
    printf("high_water=%zu\n", MAX(app.out.st.high_water, app.err.st.high_water));
    printf("limit_bytes=%zu\n", (size_t)app.limit_mib << 20);
    printf("last_line=%s\n", line);
    if (app.screenshot)
        printf("screenshot_tries=%d\n", app.shot_tries);
    printf("view_lines=%d\nview_chars=%d\n", gtk_text_buffer_get_line_count(app.buf),
           gtk_text_buffer_get_char_count(app.buf));
    printf("tick_ms=%d\nticks=%ld\n", TICK_MS, app.ticks);
    printf("elapsed_ms=%lld\n", (long long)((now_us() - app.t_main) / 1000));
    printf("run_ticks=%ld\n", app.run_ticks);
    printf("run_ms=%lld\n", app.started ? (long long)((app.t_end - app.t_start) / 1000) : 0LL);
    printf("max_tick_gap_ms=%lld\n", (long long)(app.max_gap / 1000));
    printf("cancel_ms=%lld\n",
           app.cancelled && app.t_end ? (long long)((app.t_end - app.t_cancel) / 1000) : -1LL);
    printf("killed=%d\n", app.killed ? 1 : 0);
    printf("pgid=%ld\n", (long)(app.started ? app.pgid : 0));
    printf("peak_rss_kb=%ld\n", peak_rss_kb());
    report_terminal();
    fflush(stdout);
    g_free(line);
}

/* --check-png: size and colours of a PNG, with no display needed. */
static int check_png(const char *file)
{
    GError *error = NULL;
    GdkTexture *tex = gdk_texture_new_from_filename(file, &error);
    GHashTable *colours;
    guchar *px;
    int w, h, x, y, n;

    if (!tex) {
        fprintf(stderr, "gtk-runner: %s: %s\n", file, error->message);
        g_error_free(error);
        return 1;
    }
    w = gdk_texture_get_width(tex);
    h = gdk_texture_get_height(tex);
    px = g_malloc((gsize)w * (gsize)h * 4);
    gdk_texture_download(tex, px, (gsize)w * 4);
    colours = g_hash_table_new(NULL, NULL);
    for (y = 0; y < h && g_hash_table_size(colours) < 1000; y++)
        for (x = 0; x < w; x++) {
            guint32 c;

            memcpy(&c, px + ((gsize)y * (gsize)w + (gsize)x) * 4, 4);
            g_hash_table_add(colours, GUINT_TO_POINTER(c));
        }
    n = (int)g_hash_table_size(colours);
    printf("png_width=%d\npng_height=%d\npng_colours=%d%s\n", w, h, n, n >= 1000 ? "+" : "");
    g_hash_table_destroy(colours);
    g_free(px);
    g_object_unref(tex);
    return 0;
}

static bool check_ms(const char *name, int v)
{
    if (v != UNSET && v < 0) {
        fprintf(stderr, "gtk-runner: %s wants a number of milliseconds >= 0, not %d\n", name, v);
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    char *png = NULL;
    GError *error = NULL;
    GOptionContext *ctx;
    GOptionEntry entries[] = {
        {"run", 0, 0, G_OPTION_ARG_STRING, &app.run_cmd, "Run CMD (a shell command) at start",
         "CMD"},
        {"cancel-after", 0, 0, G_OPTION_ARG_INT, &app.cancel_after,
         "Press Cancel MS milliseconds after the run started", "MS"},
        {"limit", 0, 0, G_OPTION_ARG_INT, &app.limit_mib,
         "Keep only the newest MIB MiB of each output stream (default 8)", "MIB"},
        {"screenshot", 0, 0, G_OPTION_ARG_FILENAME, &app.screenshot,
         "Save the window as a PNG when the run has ended", "FILE"},
        {"screenshot-after", 0, 0, G_OPTION_ARG_INT, &app.screenshot_after,
         "Take the screenshot MS milliseconds after the start instead", "MS"},
        {"no-terminal", 0, 0, G_OPTION_ARG_NONE, &app.no_terminal,
         "Start with Terminal off: stdout is a pipe", NULL},
        {"quit-when-done", 0, 0, G_OPTION_ARG_NONE, &app.quit_when_done,
         "Quit once the run (and the screenshot) is done", NULL},
        {"check-png", 0, 0, G_OPTION_ARG_FILENAME, &png,
         "Print the size and colour count of a PNG and exit (no display needed)", "FILE"},
        {NULL, 0, 0, 0, NULL, NULL, NULL}};

    app.cancel_after = app.screenshot_after = UNSET;
    app.limit_mib = DEFAULT_LIMIT_MIB;
    ctx = g_option_context_new("- run a command in a GTK window with libpopen2");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "At exit a report goes to stdout: status=, signal=, bytes=, last_line=, ticks=,\n"
             "elapsed_ms=, run_ms=, run_ticks=, cancel_ms=, peak_rss_kb=, ... one per line.\n");
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        fprintf(stderr, "gtk-runner: %s\nTry 'gtk-runner --help'.\n", error->message);
        g_error_free(error);
        g_option_context_free(ctx);
        return 2;
    }
    g_option_context_free(ctx);
    if (argc > 1) {
        fprintf(stderr, "gtk-runner: unexpected argument '%s' (the command goes after --run)\n",
                argv[1]);
        return 2;
    }
    if (!check_ms("--cancel-after", app.cancel_after) ||
        !check_ms("--screenshot-after", app.screenshot_after))
        return 2;
    if (app.limit_mib < 1 || app.limit_mib > 65536) {
        fprintf(stderr, "gtk-runner: --limit wants 1 to 65536 MiB, not %d\n", app.limit_mib);
        return 2;
    }
    if (app.screenshot_after != UNSET && !app.screenshot) {
        fprintf(stderr, "gtk-runner: --screenshot-after needs --screenshot\n");
        return 2;
    }
    if (png) {
        int rc = check_png(png);

        g_free(png);
        return rc;
    }
    if ((app.quit_when_done || app.cancel_after != UNSET || app.screenshot) && !app.run_cmd) {
        fprintf(stderr, "gtk-runner: --quit-when-done, --cancel-after and --screenshot need --run\n");
        return 2;
    }
    if (!gtk_init_check()) {
        fprintf(stderr, "gtk-runner: cannot open a display\n");
        return 1;
    }

    app.t_main = now_us();
    app.loop = g_main_loop_new(NULL, FALSE);
    build_window();
    gtk_window_present(GTK_WINDOW(app.window));
    g_timeout_add(TICK_MS, on_tick, NULL);
    if (app.run_cmd) {
        gtk_editable_set_text(GTK_EDITABLE(app.entry), app.run_cmd);
        g_idle_add(on_start, NULL);
    }

    g_main_loop_run(app.loop);

    if (app.p) {
        /* Closed while running: the tool and its group go with the window. */
        int st;

        refresh_stats();
        popen2_kill(app.p);
        if ((st = popen2_wait_timeout(app.p, 2000)) != -1) {
            app.reaped = true;
            app.wstatus = st;
        }
        app.t_end = now_us();
        app.run_ticks = app.ticks - app.ticks_at_start;
        remove_source(&app.source);
        popen2_free(app.p);
        app.p = NULL;
    }
    report();
    if (app.window)
        gtk_window_destroy(GTK_WINDOW(app.window));
    g_object_unref(app.buf);
    g_main_loop_unref(app.loop);
    g_free(app.run_cmd);
    g_free(app.screenshot);
    return app.rc;
}
