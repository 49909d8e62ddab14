/* A YAML document as a small tree of nodes with line:column, read with
 * libyaml's event API the way src/core/config.c reads the config, so that
 * the pipeline checks can walk it and report every error instead of the
 * first. Never resolves aliases (refused, like config.c does) and never
 * reads past len. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "paved/buf.h"
#include "paved/error.h"
#include "paved/yamltext.h"
#include "pipeline/pipeline_int.h"

struct yload {
    yaml_parser_t y_yaml;
    struct pl_ctx *y_cx;
    const unsigned char *y_data;
    size_t y_len;
    size_t y_nodes;
    int y_error; /* a syntax error stops the walk: libyaml cannot resume */
};

void
pl_ynode_free(struct ynode *n)
{
    size_t i;

    if (n == NULL)
        return;
    for (i = 0; i < n->yn_n; i++)
        pl_ynode_free(n->yn_items[i]);
    free(n->yn_items);
    free(n->yn_value);
    free(n);
}

static int
yload_syntax_error(struct yload *yl)
{
    yaml_parser_t *y = &yl->y_yaml;
    const char *problem, *hint;
    yaml_mark_t mark;
    char buf[160];

    if (y->error == YAML_MEMORY_ERROR) {
        yl->y_cx->c_fatal = PAVED_ENOMEM;
        return PAVED_ENOMEM;
    }
    hint = paved_yaml_explain(&problem, &mark, buf, sizeof(buf), y, yl->y_data,
                              yl->y_len);
    pl_diag(yl->y_cx, (unsigned)mark.line + 1, (unsigned)mark.column + 1,
            "YAML syntax error: %s (%s)", problem, hint);
    return PAVED_EINVAL;
}

static int
yload_next(struct yload *yl, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&yl->y_yaml, ev)) {
        memset(ev, 0, sizeof(*ev)); /* nothing to delete */
        return yload_syntax_error(yl);
    }
    return 0;
}

static struct ynode *
yload_new(struct yload *yl, enum ynode_type t, const yaml_event_t *ev)
{
    struct ynode *n;

    if ((n = calloc(1, sizeof(*n))) == NULL) {
        yl->y_cx->c_fatal = PAVED_ENOMEM;
        return NULL;
    }
    n->yn_type = t;
    n->yn_line = (unsigned)ev->start_mark.line + 1;
    n->yn_col = (unsigned)ev->start_mark.column + 1;
    n->yn_index = ev->start_mark.index;
    return n;
}

static int
yload_append(struct yload *yl, struct ynode *parent, struct ynode *child)
{
    struct ynode **items;

    /* grow by doubling; yn_n is a power of two exactly when full */
    if ((parent->yn_n & (parent->yn_n - 1)) == 0) {
        items = realloc(parent->yn_items,
                        (parent->yn_n ? parent->yn_n * 2 : 1) * sizeof(*items));
        if (items == NULL) {
            pl_ynode_free(child);
            yl->y_cx->c_fatal = PAVED_ENOMEM;
            return PAVED_ENOMEM;
        }
        parent->yn_items = items;
    }
    parent->yn_items[parent->yn_n++] = child;
    return 0;
}

/* One node whose first event is ev (consumed); children recursively. */
static int
yload_node(struct yload *yl, struct ynode **out, yaml_event_t *ev,
           unsigned depth)
{
    struct ynode *n = NULL, *child;
    yaml_event_t cev;
    yaml_event_type_t end;
    int error = 0;

    *out = NULL;
    if (++yl->y_nodes > PL_MAX_NODES || depth > PL_MAX_DEPTH) {
        pl_diag(yl->y_cx, (unsigned)ev->start_mark.line + 1,
                (unsigned)ev->start_mark.column + 1,
                "%s (a definition needs far less)",
                depth > PL_MAX_DEPTH ? "nested too deeply" : "too many values");
        return PAVED_EINVAL;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        if ((n = yload_new(yl, YN_SCALAR, ev)) == NULL)
            return PAVED_ENOMEM;
        n->yn_style = (int)ev->data.scalar.style;
        n->yn_null = paved_yaml_is_null(ev);
        n->yn_len = ev->data.scalar.length;
        if ((n->yn_value = malloc(n->yn_len + 1)) == NULL) {
            pl_ynode_free(n);
            yl->y_cx->c_fatal = PAVED_ENOMEM;
            return PAVED_ENOMEM;
        }
        memcpy(n->yn_value, ev->data.scalar.value, n->yn_len);
        n->yn_value[n->yn_len] = '\0';
        if (strlen(n->yn_value) != n->yn_len) {
            pl_diag_at(yl->y_cx, n, "value contains a NUL byte");
            n->yn_type = YN_BAD;
        }
        *out = n;
        return 0;
    case YAML_ALIAS_EVENT:
        if ((n = yload_new(yl, YN_BAD, ev)) == NULL)
            return PAVED_ENOMEM;
        pl_diag_at(yl->y_cx, n,
                   "aliases (*name) are not supported (write the value "
                   "out)");
        *out = n;
        return 0;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        break;
    default:
        pl_diag(yl->y_cx, (unsigned)ev->start_mark.line + 1,
                (unsigned)ev->start_mark.column + 1, "unexpected YAML event");
        return PAVED_EINVAL;
    }
    end = ev->type == YAML_SEQUENCE_START_EVENT ? YAML_SEQUENCE_END_EVENT
                                                : YAML_MAPPING_END_EVENT;
    if ((n = yload_new(yl, end == YAML_SEQUENCE_END_EVENT ? YN_SEQ : YN_MAP,
                       ev)) == NULL)
        return PAVED_ENOMEM;
    for (;;) {
        if ((error = yload_next(yl, &cev)) < 0)
            goto out;
        if (cev.type == end) {
            yaml_event_delete(&cev);
            break;
        }
        error = yload_node(yl, &child, &cev, depth + 1);
        yaml_event_delete(&cev);
        if (error < 0 || (error = yload_append(yl, n, child)) < 0)
            goto out;
    }
    *out = n;
    n = NULL;
out:
    pl_ynode_free(n);
    return error;
}

int
pl_yaml_load(struct ynode **out, struct pl_ctx *cx, const void *data,
             size_t len)
{
    struct yload yl;
    yaml_event_t ev;
    int error = 0;

    *out = NULL;
    memset(&yl, 0, sizeof(yl));
    memset(&ev, 0, sizeof(ev));
    if (!yaml_parser_initialize(&yl.y_yaml)) {
        cx->c_fatal = PAVED_ENOMEM;
        return PAVED_ENOMEM;
    }
    yl.y_cx = cx;
    yl.y_data = data;
    yl.y_len = len;
    yaml_parser_set_input_string(&yl.y_yaml, data, len);
    if ((error = yload_next(&yl, &ev)) < 0) /* stream start */
        goto out;
    yaml_event_delete(&ev);
    if ((error = yload_next(&yl, &ev)) < 0)
        goto out;
    if (ev.type == YAML_STREAM_END_EVENT) {
        pl_diag(cx, 1, 1, "the file is empty");
        error = PAVED_EINVAL;
        goto out;
    }
    yaml_event_delete(&ev); /* document start */
    if ((error = yload_next(&yl, &ev)) < 0)
        goto out;
    error = yload_node(&yl, out, &ev, 0);
    yaml_event_delete(&ev);
    if (error < 0)
        goto out;
    if ((error = yload_next(&yl, &ev)) < 0) /* document end */
        goto out;
    yaml_event_delete(&ev);
    if ((error = yload_next(&yl, &ev)) < 0)
        goto out;
    if (ev.type != YAML_STREAM_END_EVENT) {
        pl_diag(cx, (unsigned)ev.start_mark.line + 1,
                (unsigned)ev.start_mark.column + 1,
                "only one YAML document is allowed per file (remove "
                "\"---\"; one definition per file)");
        error = PAVED_EINVAL;
    }
out:
    yaml_event_delete(&ev);
    yaml_parser_delete(&yl.y_yaml);
    /* problems are in cx; a tree that has some (an alias, a second
     * document) is still worth walking for the rest. *out is NULL only
     * when the YAML itself could not be read. */
    (void)error;
    return cx->c_fatal;
}

static int
yaml_read_file(char **out, size_t *len, struct pl_ctx *cx, const char *path)
{
    struct paved_buf b = PAVED_BUF_INIT(PL_MAX_FILE);
    char chunk[8192];
    FILE *fp = NULL;
    size_t n;
    int error = 0;

    *out = NULL;
    *len = 0;
    if ((fp = fopen(path, "r")) == NULL) {
        error = errno == ENOENT ? PAVED_ENOTFOUND : PAVED_EINVAL;
        pl_diag(cx, 0, 0, "cannot open: %s", strerror(errno));
        goto out;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
        if ((error = paved_buf_put(&b, chunk, n)) < 0) {
            if (error == PAVED_ETOOBIG) {
                error = PAVED_EINVAL;
                pl_diag(cx, 0, 0,
                        "larger than %d bytes: too large for a definition",
                        PL_MAX_FILE);
            } else {
                cx->c_fatal = error;
            }
            goto out;
        }
    }
    if (ferror(fp)) {
        error = PAVED_EINVAL;
        pl_diag(cx, 0, 0, "cannot read: %s", strerror(errno));
        goto out;
    }
    *len = b.b_len;
    if ((*out = paved_buf_detach(&b, NULL)) == NULL) {
        cx->c_fatal = error = PAVED_ENOMEM;
        goto out;
    }
out:
    if (fp != NULL)
        fclose(fp);
    paved_buf_dispose(&b);
    return error;
}

int
pl_read_file(char **out, size_t *len, struct paved_pipeline_diags *diags,
             const char *path)
{
    struct paved_pipeline_diags local = PAVED_PIPELINE_DIAGS_INIT;
    struct pl_ctx cx;
    int error;

    memset(&cx, 0, sizeof(cx));
    cx.c_diags = &local;
    cx.c_file = path;
    if ((error = yaml_read_file(out, len, &cx, path)) < 0) {
        if (error != PAVED_ENOMEM && local.dl_n > 0)
            pl_diags_fail(&local, 0);
        else
            paved_error_set(PAVED_ENOMEM, "out of memory");
        pl_diags_move(diags, &local);
    }
    return error;
}
