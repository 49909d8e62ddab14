/* Diagnostics of the pipeline loaders: a list of file:line:column
 * messages that keeps growing past the first error, so that one `paved
 * lint` shows everything wrong with a file. Also the small helpers every
 * message needs: quoting hostile values and "did you mean". Never prints:
 * the CLI and the daemon decide where messages go. */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paved/buf.h"
#include "paved/error.h"
#include "pipeline/pipeline_int.h"

void
paved_pipeline_diags_dispose(struct paved_pipeline_diags *dl)
{
    size_t i;

    if (dl == NULL)
        return;
    for (i = 0; i < dl->dl_n; i++) {
        free(dl->dl_items[i].dg_file);
        free(dl->dl_items[i].dg_message);
    }
    free(dl->dl_items);
    dl->dl_items = NULL;
    dl->dl_n = 0;
    dl->dl_cap = 0;
}

int
paved_pipeline_diag_format(char **out, const struct paved_pipeline_diag *dg)
{
    struct paved_buf b = PAVED_BUF_INIT(64 * 1024);
    int error;

    *out = NULL;
    if (dg->dg_line == 0)
        error = paved_buf_printf(&b, "%s: %s", dg->dg_file, dg->dg_message);
    else
        error = paved_buf_printf(&b, "%s:%u:%u: %s", dg->dg_file, dg->dg_line,
                                 dg->dg_column, dg->dg_message);
    if (error == 0 && (*out = paved_buf_detach(&b, NULL)) == NULL)
        error = PAVED_ENOMEM;
    paved_buf_dispose(&b);
    if (error < 0)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    return 0;
}

static int
diag_push(struct paved_pipeline_diags *dl, const char *file, unsigned line,
          unsigned col, const char *msg)
{
    struct paved_pipeline_diag *items, *d;
    size_t cap;

    if (dl->dl_n == dl->dl_cap) {
        cap = dl->dl_cap ? dl->dl_cap * 2 : 8;
        if ((items = realloc(dl->dl_items, cap * sizeof(*items))) == NULL)
            return PAVED_ENOMEM;
        dl->dl_items = items;
        dl->dl_cap = cap;
    }
    d = &dl->dl_items[dl->dl_n];
    d->dg_file = strdup(file);
    d->dg_message = strdup(msg);
    if (d->dg_file == NULL || d->dg_message == NULL) {
        free(d->dg_file);
        free(d->dg_message);
        return PAVED_ENOMEM;
    }
    d->dg_line = line;
    d->dg_column = col;
    dl->dl_n++;
    return 0;
}

static void
diag_vadd(struct pl_ctx *cx, const char *file, unsigned line, unsigned col,
          const char *fmt, va_list ap)
{
    char msg[1024];

    if (cx->c_fatal != 0 || cx->c_count > PL_MAX_DIAGS)
        return;
    if (cx->c_count == PL_MAX_DIAGS)
        snprintf(msg, sizeof(msg),
                 "too many errors; stopping here (fix "
                 "these and run paved lint again)");
    else
        vsnprintf(msg, sizeof(msg), fmt, ap);
    cx->c_count++;
    if (diag_push(cx->c_diags, file, line, col, msg) < 0)
        cx->c_fatal = PAVED_ENOMEM;
}

void
pl_diag(struct pl_ctx *cx, unsigned line, unsigned col, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    diag_vadd(cx, cx->c_file, line, col, fmt, ap);
    va_end(ap);
}

void
pl_diag_at(struct pl_ctx *cx, const struct ynode *n, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    diag_vadd(cx, cx->c_file, n ? n->yn_line : 1, n ? n->yn_col : 1, fmt, ap);
    va_end(ap);
}

void
pl_diag_in(struct pl_ctx *cx, const char *file, unsigned line, unsigned col,
           const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    diag_vadd(cx, file, line, col, fmt, ap);
    va_end(ap);
}

static int
diag_cmp(const struct paved_pipeline_diag *a,
         const struct paved_pipeline_diag *b)
{
    int c = strcmp(a->dg_file, b->dg_file);

    if (c != 0)
        return c;
    if (a->dg_line != b->dg_line)
        return a->dg_line < b->dg_line ? -1 : 1;
    if (a->dg_column != b->dg_column)
        return a->dg_column < b->dg_column ? -1 : 1;
    return 0;
}

void
pl_diags_sort(struct paved_pipeline_diags *dl, size_t from)
{
    struct paved_pipeline_diag t;
    size_t i, j;

    /* insertion sort: stable, and a file has at most PL_MAX_DIAGS + 1 */
    for (i = from + 1; i < dl->dl_n; i++) {
        t = dl->dl_items[i];
        for (j = i; j > from && diag_cmp(&dl->dl_items[j - 1], &t) > 0; j--)
            dl->dl_items[j] = dl->dl_items[j - 1];
        dl->dl_items[j] = t;
    }
}

int
pl_diags_move(struct paved_pipeline_diags *dst,
              struct paved_pipeline_diags *src)
{
    struct paved_pipeline_diag *items;
    size_t need;

    if (dst == NULL || src->dl_n == 0) {
        paved_pipeline_diags_dispose(src);
        return 0;
    }
    need = dst->dl_n + src->dl_n;
    if (need > dst->dl_cap) {
        if ((items = realloc(dst->dl_items, need * sizeof(*items))) == NULL) {
            paved_pipeline_diags_dispose(src);
            return paved_error_set(PAVED_ENOMEM, "out of memory");
        }
        dst->dl_items = items;
        dst->dl_cap = need;
    }
    memcpy(dst->dl_items + dst->dl_n, src->dl_items,
           src->dl_n * sizeof(*items));
    dst->dl_n = need;
    free(src->dl_items);
    src->dl_items = NULL;
    src->dl_n = src->dl_cap = 0;
    return 0;
}

int
pl_diags_fail(const struct paved_pipeline_diags *dl, size_t from)
{
    const struct paved_pipeline_diag *d;
    size_t more;

    if (dl->dl_n <= from)
        return paved_error_set(PAVED_EINVAL, "invalid pipeline");
    d = &dl->dl_items[from];
    more = dl->dl_n - from - 1;
    if (d->dg_line == 0)
        return paved_error_set(PAVED_EINVAL, "%s: %s%s", d->dg_file,
                               d->dg_message, more ? " (and more errors)" : "");
    if (more > 0)
        return paved_error_set(PAVED_EINVAL, "%s:%u:%u: %s (and %zu more)",
                               d->dg_file, d->dg_line, d->dg_column,
                               d->dg_message, more);
    return paved_error_set(PAVED_EINVAL, "%s:%u:%u: %s", d->dg_file, d->dg_line,
                           d->dg_column, d->dg_message);
}

int
pl_ctx_result(struct pl_ctx *cx)
{
    if (cx->c_fatal < 0)
        return paved_error_set(cx->c_fatal, "out of memory");
    if (cx->c_diags->dl_n > 0) {
        pl_diags_sort(cx->c_diags, 0);
        return pl_diags_fail(cx->c_diags, 0);
    }
    return 0;
}
