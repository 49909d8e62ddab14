/* What a finished run's check run shows besides its state, when paved
 * reports as a GitHub App: a summary table of the steps, the tail of each
 * failed step's log, what steps wrote to $PAVED_SUMMARY (markdown: a
 * canary's verdict) and the annotations steps wrote to $PAVED_ANNOTATIONS.
 * Logs are read as written, so secrets are already masked in them; the
 * summary and annotation files are written by the steps themselves, so
 * they are masked here. Only regular files are read: a step may put a
 * FIFO or a symlink at those names. The
 * reads are small and bounded (a log's last 16 KiB, an annotation file's
 * first MiB) and happen once, when the run ends. Never fails the run: what
 * cannot be read is left out. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "paved/buf.h"
#include "paved/error.h"
#include "paved/forgeapi.h"
#include "paved/mask.h"
#include "sched/sched_int.h"

#define OUTPUT_TAIL_BYTES (16 * 1024)
#define OUTPUT_TAIL_LINES 40
#define OUTPUT_ANNOTATIONS_BYTES (1024 * 1024)
#define OUTPUT_SUMMARY_BYTES (32 * 1024)
#define OUTPUT_TEXT_MAX (PAVED_FORGEAPI_CHECK_TEXT_MAX * 4)

static const char *
output_result(const struct paved_step_rec *rec)
{
    switch (rec->sr_state) {
    case PAVED_RUN_SUCCESS:
        return "passed";
    case PAVED_RUN_FAILURE:
        return "**failed**";
    case PAVED_RUN_ERROR:
        return "**error**";
    default:
        return paved_run_state_name(rec->sr_state);
    }
}

/* a table cell: one line, no '|' to end it early */
static void
output_cell(struct paved_buf *b, const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        if (*s == '|')
            (void)paved_buf_puts(b, "\\|");
        else
            (void)paved_buf_putc(b, *s == '\n' || *s == '\r' ? ' ' : *s);
    }
}

char *
sched_output_summary(const struct sched_run *r)
{
    struct paved_buf b;
    size_t i;

    paved_buf_init(&b, PAVED_FORGEAPI_CHECK_TEXT_MAX);
    (void)paved_buf_puts(&b, "| Step | Result | Attempts | Time |\n"
                             "| --- | --- | --- | --- |\n");
    for (i = 0; i < r->r_nsteps; i++) {
        const struct paved_step_rec *rec = &r->r_steps[i].ss_rec;
        int64_t ms = rec->sr_started_ms > 0 && rec->sr_finished_ms > 0
                         ? rec->sr_finished_ms - rec->sr_started_ms
                         : 0;
        (void)paved_buf_puts(&b, "| ");
        output_cell(&b, rec->sr_name);
        (void)paved_buf_printf(&b, " | %s", output_result(rec));
        if (rec->sr_reason != NULL && rec->sr_state != PAVED_RUN_SUCCESS) {
            (void)paved_buf_puts(&b, ": ");
            output_cell(&b, rec->sr_reason);
        }
        (void)paved_buf_printf(&b, " | %u | %lld.%01llds |\n", rec->sr_attempts,
                               (long long)(ms / 1000),
                               (long long)(ms % 1000 / 100));
    }
    return paved_buf_detach(&b, NULL);
}

/* A file in the run directory, opened to read only if it is a regular
 * file: a step can put anything at these names, and a FIFO would block
 * the daemon in open() or read(), a symlink publish its target. -1 when
 * not. */
static int
output_open(const char *path, struct stat *sb)
{
    int fd;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) < 0)
        return -1;
    if (fstat(fd, sb) < 0 || !S_ISREG(sb->st_mode)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The last lines of a log file, without their timestamps. */
static void
output_tail(struct paved_buf *b, const char *path)
{
    char buf[OUTPUT_TAIL_BYTES + 1], *p, *line;
    size_t lines = 0;
    struct stat sb;
    ssize_t n;
    off_t off;
    int fd;

    if ((fd = output_open(path, &sb)) < 0)
        return;
    off = sb.st_size > OUTPUT_TAIL_BYTES ? sb.st_size - OUTPUT_TAIL_BYTES : 0;
    n = pread(fd, buf, OUTPUT_TAIL_BYTES, off);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    p = buf;
    if (off > 0 && (p = strchr(buf, '\n')) != NULL)
        p++; /* the first line is cut: drop it */
    if (p == NULL)
        return;
    /* keep the last OUTPUT_TAIL_LINES lines */
    line = buf + n;
    if (line > p && line[-1] == '\n')
        line--;
    for (; line > p; line--)
        if (line[-1] == '\n' && ++lines >= OUTPUT_TAIL_LINES)
            break;
    p = line;
    while (*p != '\0') {
        char *end = strchr(p, '\n'), *text = strchr(p, ' ');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        /* "2026-11-27T07:01:02.345Z out hello" -> "out hello" */
        if (text != NULL && (size_t)(text - p) < len)
            (void)paved_buf_put(b, text + 1, len - (size_t)(text + 1 - p));
        else
            (void)paved_buf_put(b, p, len);
        (void)paved_buf_putc(b, '\n');
        p += len + (end != NULL);
    }
}

/* A step's summary file, as written (at most OUTPUT_SUMMARY_BYTES, not
 * ending inside a UTF-8 character), with the run's secrets masked: the
 * step writes it itself, not through the masked log. */
static void
output_summary_file(struct paved_buf *b, const struct sched_step *st,
                    const char *path)
{
    char buf[OUTPUT_SUMMARY_BYTES];
    struct stat sb;
    ssize_t n;
    size_t len, k;
    int fd;

    if ((fd = output_open(path, &sb)) < 0)
        return;
    n = pread(fd, buf, sizeof(buf), 0);
    close(fd);
    if (n <= 0)
        return;
    len = (size_t)n;
    if (sb.st_size > n) {
        /* cut: drop a character the cut split (a lead byte followed by
         * fewer continuation bytes than it announces) */
        for (k = len;
             k > 0 && len - k < 4 && ((unsigned char)buf[k - 1] & 0xC0) == 0x80;
             k--)
            ;
        if (k > 0) {
            unsigned char lead = (unsigned char)buf[k - 1];
            size_t want = lead >= 0xF0   ? 4
                          : lead >= 0xE0 ? 3
                          : lead >= 0xC0 ? 2
                                         : 1;
            if (len - (k - 1) < want)
                len = k - 1;
        }
    }
    (void)paved_buf_puts(b, "### ");
    output_cell(b, st->ss_rec.sr_name);
    (void)paved_buf_puts(b, "\n\n");
    (void)paved_mask_apply(st->ss_run->r_mask, buf, len, b);
    (void)paved_buf_puts(b, len > 0 && buf[len - 1] == '\n' ? "\n" : "\n\n");
}

char *
sched_output_text(const struct sched_run *r)
{
    struct paved_buf b;
    size_t i;
    char *log;

    paved_buf_init(&b, OUTPUT_TEXT_MAX);
    /* what steps wrote to $PAVED_SUMMARY (a canary's verdict), first:
     * when the text is cut, the end goes */
    for (i = 0; i < r->r_nsteps; i++) {
        const struct sched_step *st = &r->r_steps[i];
        char *path = sched_step_file(st, "summary");
        if (path != NULL)
            output_summary_file(&b, st, path);
        free(path);
    }
    for (i = 0; i < r->r_nsteps; i++) {
        const struct sched_step *st = &r->r_steps[i];
        enum paved_run_state state = st->ss_rec.sr_state;
        if (state != PAVED_RUN_FAILURE && state != PAVED_RUN_ERROR)
            continue;
        if ((log = sched_step_file(st, "log")) == NULL)
            continue;
        (void)paved_buf_puts(&b, "### ");
        output_cell(&b, st->ss_rec.sr_name);
        /* a fence longer than any a log line is likely to hold */
        (void)paved_buf_puts(&b, ": the log's last lines\n\n`````text\n");
        output_tail(&b, log);
        (void)paved_buf_puts(&b, "`````\n\n");
        free(log);
    }
    if (b.b_len == 0) {
        paved_buf_dispose(&b);
        return NULL;
    }
    return paved_buf_detach(&b, NULL);
}

/* A path the step wrote in its workspace, made relative to the checkout
 * (GitHub wants the path in the repository). */
static void
output_relative(json_t *a, const char *workspace)
{
    const char *path = json_string_value(json_object_get(a, "path"));
    size_t wl = workspace != NULL ? strlen(workspace) : 0;

    if (path != NULL && wl > 0 && strncmp(path, workspace, wl) == 0 &&
        path[wl] == '/')
        json_object_set_new(a, "path", json_string(path + wl + 1));
    else if (path != NULL && path[0] == '.' && path[1] == '/')
        json_object_set_new(a, "path", json_string(path + 2));
}

/* One line of an annotations file, checked, or NULL with why. */
static json_t *
output_annotation(const char *line, size_t len, const char *workspace,
                  char *why, size_t whylen)
{
    json_t *a;
    char *text;
    int ok;

    if ((a = json_loadb(line, len, 0, NULL)) == NULL) {
        snprintf(why, whylen, "not JSON");
        return NULL;
    }
    if (json_is_object(a))
        output_relative(a, workspace);
    if ((text = json_dumps(a, JSON_COMPACT)) == NULL) {
        snprintf(why, whylen, "out of memory");
        json_decref(a);
        return NULL;
    }
    ok = paved_forgeapi_annotation_ok(text, strlen(text), why, whylen);
    free(text);
    if (!ok) {
        json_decref(a);
        return NULL;
    }
    return a;
}

static void
output_read_annotations(json_t *all, const struct sched_step *st,
                        const char *workspace)
{
    char *path, *buf = NULL, *p, why[160], note[256];
    size_t skipped = 0, lineno = 0;
    struct stat sb;
    ssize_t n;
    int fd = -1;

    if ((path = sched_step_file(st, "annotations")) == NULL)
        return;
    if ((fd = output_open(path, &sb)) < 0 ||
        (buf = malloc(OUTPUT_ANNOTATIONS_BYTES + 1)) == NULL)
        goto out;
    if ((n = pread(fd, buf, OUTPUT_ANNOTATIONS_BYTES, 0)) <= 0)
        goto out;
    buf[n] = '\0';
    why[0] = '\0';
    for (p = buf; *p != '\0';) {
        char *end = strchr(p, '\n');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        json_t *a;

        lineno++;
        if (end == NULL && sb.st_size > OUTPUT_ANNOTATIONS_BYTES)
            break; /* cut by the cap: not a whole line */
        if (len > 0 && json_array_size(all) < SCHED_ANNOTATIONS_MAX) {
            /* the step wrote the file itself: mask the run's secrets */
            struct paved_buf line;
            paved_buf_init(&line, 3 * len + 64);
            if (paved_mask_apply(st->ss_run->r_mask, p, len, &line) < 0) {
                a = NULL;
                snprintf(why, sizeof(why), "cannot mask it");
            } else {
                a = output_annotation(line.b_ptr, line.b_len, workspace, why,
                                      sizeof(why));
            }
            paved_buf_dispose(&line);
            if (a != NULL)
                json_array_append_new(all, a);
            else if (skipped++ == 0)
                snprintf(note, sizeof(note), "annotations line %zu skipped: %s",
                         lineno, why);
        }
        p += len + (end != NULL);
    }
    if (skipped > 0) {
        char *log = sched_step_file(st, "log");
        if (log != NULL) {
            (void)paved_proc_log_note(log, note);
            if (skipped > 1) {
                snprintf(note, sizeof(note),
                         "%zu annotation lines skipped in all", skipped);
                (void)paved_proc_log_note(log, note);
            }
        }
        free(log);
    }
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    free(path);
}

char *
sched_output_annotations(const struct sched_run *r)
{
    json_t *all = json_array();
    char *out = NULL;
    size_t i;

    if (all == NULL)
        return NULL;
    for (i = 0; i < r->r_nsteps; i++)
        output_read_annotations(all, &r->r_steps[i], r->r_workspace);
    if (json_array_size(all) > 0)
        out = json_dumps(all, JSON_COMPACT);
    json_decref(all);
    return out;
}
