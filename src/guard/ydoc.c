/* YAML documents as small trees with line numbers, for the guardrails:
 * every document of a multi-document text (Kubernetes manifests), or the
 * one of the policy file. Read with libyaml's event API as
 * src/pipeline/yaml.c does, with caps on size, values and nesting.
 * Refuses what would let this reader see a different document than
 * Kubernetes does (aliases, merge keys, a key twice, NUL in a value),
 * because a checker fooled that way passes what it should catch. Never
 * reads past len, never prints. */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "guard/guard_int.h"
#include "paved/error.h"
#include "paved/yamltext.h"

struct yload {
    yaml_parser_t yl_parser;
    const unsigned char *yl_data;
    size_t yl_len;
    size_t yl_nodes; /* in the current document */
    unsigned yl_err_line;
    /* libyaml's line i is line yl_lines[i] of the text as editors and
     * forges count lines (by '\n'); NULL when both agree, that is when
     * the text has no line break of YAML 1.1's other kinds (a lone CR,
     * NEL, U+2028, U+2029) */
    unsigned *yl_lines;
    size_t yl_nlines;
    unsigned yl_last; /* the text's last line: libyaml may point past it */
};

/* How many bytes the YAML 1.1 line break at d[i] takes; 0: none. */
static size_t
yload_break(const unsigned char *d, size_t i, size_t n)
{
    if (d[i] == '\n')
        return 1;
    if (d[i] == '\r')
        return i + 1 < n && d[i + 1] == '\n' ? 2 : 1;
    if (d[i] == 0xc2 && i + 1 < n && d[i + 1] == 0x85)
        return 2;
    if (d[i] == 0xe2 && i + 2 < n && d[i + 1] == 0x80 &&
        (d[i + 2] == 0xa8 || d[i + 2] == 0xa9))
        return 3;
    return 0;
}

static int
yload_map_lines(struct yload *yl)
{
    const unsigned char *d = yl->yl_data;
    size_t i, k, n = yl->yl_len, nbreaks = 0;
    unsigned line = 1;
    bool odd = false;

    /* libyaml decodes UTF-16 itself: its lines are left as they are */
    yl->yl_last = UINT_MAX;
    if (n >= 2 &&
        ((d[0] == 0xff && d[1] == 0xfe) || (d[0] == 0xfe && d[1] == 0xff)))
        return 0;
    yl->yl_last = 1;
    for (i = 0; i < n; i += k ? k : 1) {
        if ((k = yload_break(d, i, n)) == 0)
            continue;
        nbreaks++;
        yl->yl_last += d[i + k - 1] == '\n' && i + k < n;
        odd = odd || (d[i] != '\n' && k != 2) || d[i] == 0xc2;
    }
    if (!odd)
        return 0;
    if ((yl->yl_lines = calloc(nbreaks + 1, sizeof(*yl->yl_lines))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    yl->yl_lines[0] = 1;
    for (i = 0; i < n; i += k ? k : 1) {
        if ((k = yload_break(d, i, n)) == 0)
            continue;
        line += d[i + k - 1] == '\n';
        yl->yl_lines[++yl->yl_nlines] = line;
    }
    yl->yl_nlines++;
    return 0;
}

/* The 1-based line of the text for libyaml's 0-based line. At the end of
 * a text, libyaml counts a line more than there is. */
static unsigned
yload_line(const struct yload *yl, size_t yline)
{
    unsigned line;

    if (yl->yl_lines == NULL)
        line = yline < yl->yl_last ? (unsigned)yline + 1 : yl->yl_last;
    else
        line = yl->yl_lines[yline < yl->yl_nlines ? yline : yl->yl_nlines - 1];
    return line < yl->yl_last ? line : yl->yl_last;
}

void
guard_ydoc_free(struct ydoc *d)
{
    size_t i;

    if (d == NULL)
        return;
    for (i = 0; i < d->yd_n; i++)
        guard_ydoc_free(d->yd_items[i]);
    free(d->yd_items);
    free(d->yd_value);
    free(d);
}

void
guard_ydoc_free_all(struct ydoc **docs, size_t n)
{
    size_t i;

    if (docs == NULL)
        return;
    for (i = 0; i < n; i++)
        guard_ydoc_free(docs[i]);
    free(docs);
}

/* An error at line (1-based; 0: the whole text) with the message. */
static int yload_fail(struct yload *yl, int code, unsigned line,
                      const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
yload_fail(struct yload *yl, int code, unsigned line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    yl->yl_err_line = line;
    return paved_error_set(code, "%s", msg);
}

static int
yload_syntax_error(struct yload *yl)
{
    yaml_parser_t *y = &yl->yl_parser;
    const char *problem, *hint;
    yaml_mark_t mark;
    char buf[160];
    unsigned line;

    if (y->error == YAML_MEMORY_ERROR)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    hint = paved_yaml_explain(&problem, &mark, buf, sizeof(buf), y, yl->yl_data,
                              yl->yl_len);
    /* a reader error's line is counted by the hint, in '\n' lines */
    line = y->error != YAML_READER_ERROR ? yload_line(yl, mark.line)
           : mark.line < yl->yl_last     ? (unsigned)mark.line + 1
                                         : yl->yl_last;
    /* where the broken thing began, when libyaml knows and the hint does
     * not say: an open quote is noticed lines later */
    if (y->context != NULL && strncmp(y->context, "while ", 6) == 0 &&
        y->context_mark.line != mark.line && strstr(hint, y->context) == NULL)
        return yload_fail(yl, PAVED_EINVAL, line,
                          "YAML syntax error at column %zu: %s %s that "
                          "starts at line %u (%s)",
                          mark.column + 1, problem, y->context,
                          yload_line(yl, y->context_mark.line), hint);
    return yload_fail(yl, PAVED_EINVAL, line,
                      "YAML syntax error at column %zu: %s (%s)",
                      mark.column + 1, problem, hint);
}

static int
yload_next(struct yload *yl, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&yl->yl_parser, ev)) {
        memset(ev, 0, sizeof(*ev)); /* nothing to delete */
        return yload_syntax_error(yl);
    }
    return 0;
}

static struct ydoc *
yload_new(const struct yload *yl, enum ydoc_type t, const yaml_event_t *ev)
{
    struct ydoc *d;

    if ((d = calloc(1, sizeof(*d))) == NULL)
        return NULL;
    d->yd_type = t;
    d->yd_line = yload_line(yl, ev->start_mark.line);
    d->yd_col = (unsigned)ev->start_mark.column + 1;
    return d;
}

static int
yload_append(struct ydoc *parent, struct ydoc *child)
{
    struct ydoc **items;

    /* grow by doubling; yd_n is a power of two exactly when full */
    if ((parent->yd_n & (parent->yd_n - 1)) == 0) {
        items = realloc(parent->yd_items,
                        (parent->yd_n ? parent->yd_n * 2 : 1) * sizeof(*items));
        if (items == NULL) {
            guard_ydoc_free(child);
            return paved_error_set(PAVED_ENOMEM, "out of memory");
        }
        parent->yd_items = items;
    }
    parent->yd_items[parent->yd_n++] = child;
    return 0;
}

static int
yload_scalar(struct yload *yl, struct ydoc **out, const yaml_event_t *ev)
{
    struct ydoc *d;

    if ((d = yload_new(yl, YD_SCALAR, ev)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    d->yd_plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    d->yd_null = paved_yaml_is_null(ev);
    d->yd_len = ev->data.scalar.length;
    if ((d->yd_value = malloc(d->yd_len + 1)) == NULL) {
        guard_ydoc_free(d);
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    memcpy(d->yd_value, ev->data.scalar.value, d->yd_len);
    d->yd_value[d->yd_len] = '\0';
    if (strlen(d->yd_value) != d->yd_len) {
        guard_ydoc_free(d);
        return yload_fail(yl, PAVED_EINVAL, yload_line(yl, ev->start_mark.line),
                          "a value contains a NUL character (\\0): remove "
                          "it");
    }
    *out = d;
    return 0;
}

/* The key just appended to map (the last item, at an even index): a
 * merge key would add keys that this reader does not see. */
static int
yload_check_merge(struct yload *yl, const struct ydoc *map)
{
    const struct ydoc *k = map->yd_items[map->yd_n - 1];

    if (k->yd_type == YD_SCALAR && k->yd_plain &&
        strcmp(k->yd_value, "<<") == 0)
        return yload_fail(yl, PAVED_EINVAL, k->yd_line,
                          "merge keys (<<) are not supported: write the "
                          "keys out");
    return 0;
}

struct ykey {
    const struct ydoc *yk_key;
    size_t yk_pos;
};

static int
ykey_cmp(const void *a, const void *b)
{
    const struct ykey *x = a, *y = b;
    const struct ydoc *p = x->yk_key, *q = y->yk_key;
    int c;

    if (p->yd_len != q->yd_len)
        return p->yd_len < q->yd_len ? -1 : 1;
    if ((c = memcmp(p->yd_value, q->yd_value, p->yd_len)) != 0)
        return c;
    return x->yk_pos < y->yk_pos ? -1 : 1;
}

static bool
ykey_same(const struct ydoc *p, const struct ydoc *q)
{
    return p->yd_type == YD_SCALAR && q->yd_type == YD_SCALAR &&
           p->yd_len == q->yd_len &&
           memcmp(p->yd_value, q->yd_value, p->yd_len) == 0;
}

/* A complete map: a key twice is refused, the first repeat in document
 * order reported. Small maps are scanned; big ones (a generated
 * ConfigMap) sorted, so that a document of 5,000 keys costs no more than
 * a sort. */
static int
yload_check_dups(struct yload *yl, const struct ydoc *map)
{
    const struct ydoc *first = NULL, *again = NULL;
    size_t i, j, n = map->yd_n / 2, m = 0, best = SIZE_MAX;
    struct ykey *keys;

    if (n <= 32) {
        for (j = 1; j < n && again == NULL; j++)
            for (i = 0; i < j && again == NULL; i++)
                if (ykey_same(map->yd_items[2 * i], map->yd_items[2 * j])) {
                    first = map->yd_items[2 * i];
                    again = map->yd_items[2 * j];
                }
    } else {
        if ((keys = calloc(n, sizeof(*keys))) == NULL)
            return paved_error_set(PAVED_ENOMEM, "out of memory");
        for (i = 0; i < n; i++) {
            if (map->yd_items[2 * i]->yd_type != YD_SCALAR)
                continue;
            keys[m].yk_key = map->yd_items[2 * i];
            keys[m++].yk_pos = i;
        }
        qsort(keys, m, sizeof(*keys), ykey_cmp);
        /* in a run of equal keys the second is a repeat of the first */
        for (i = 1; i < m; i++) {
            if (ykey_same(keys[i - 1].yk_key, keys[i].yk_key) &&
                (i < 2 || !ykey_same(keys[i - 2].yk_key, keys[i].yk_key)) &&
                keys[i].yk_pos < best) {
                best = keys[i].yk_pos;
                first = keys[i - 1].yk_key;
                again = keys[i].yk_key;
            }
        }
        free(keys);
    }
    if (again == NULL)
        return 0;
    return yload_fail(yl, PAVED_EINVAL, again->yd_line,
                      "key \"%.64s\" appears twice in one mapping (first on "
                      "line %u): keep one",
                      again->yd_value, first->yd_line);
}

/* One node whose first event is ev (the caller deletes ev); children
 * recursively, depth bounded by GUARD_YDOC_MAX_DEPTH. */
static int
yload_node(struct yload *yl, struct ydoc **out, const yaml_event_t *ev,
           unsigned depth)
{
    struct ydoc *d = NULL, *child;
    yaml_event_t cev;
    yaml_event_type_t end;
    int error = 0;

    *out = NULL;
    if (++yl->yl_nodes > GUARD_YDOC_MAX_NODES)
        return yload_fail(yl, PAVED_ETOOBIG,
                          yload_line(yl, ev->start_mark.line),
                          "more than %d values in one document: split it "
                          "into several documents or files",
                          GUARD_YDOC_MAX_NODES);
    if (depth > GUARD_YDOC_MAX_DEPTH)
        return yload_fail(yl, PAVED_ETOOBIG,
                          yload_line(yl, ev->start_mark.line),
                          "nested more than %d levels deep: flatten it",
                          GUARD_YDOC_MAX_DEPTH);
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return yload_scalar(yl, out, ev);
    case YAML_ALIAS_EVENT:
        return yload_fail(yl, PAVED_EINVAL, yload_line(yl, ev->start_mark.line),
                          "aliases (*%.64s) are not supported: write the "
                          "value out",
                          (const char *)ev->data.alias.anchor);
    case YAML_SEQUENCE_START_EVENT:
        end = YAML_SEQUENCE_END_EVENT;
        d = yload_new(yl, YD_SEQ, ev);
        break;
    case YAML_MAPPING_START_EVENT:
        end = YAML_MAPPING_END_EVENT;
        d = yload_new(yl, YD_MAP, ev);
        break;
    default:
        return yload_fail(yl, PAVED_EINVAL, yload_line(yl, ev->start_mark.line),
                          "unexpected YAML event (check the structure)");
    }
    if (d == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    for (;;) {
        if ((error = yload_next(yl, &cev)) < 0)
            goto out;
        if (cev.type == end) {
            yaml_event_delete(&cev);
            break;
        }
        error = yload_node(yl, &child, &cev, depth + 1);
        yaml_event_delete(&cev);
        if (error < 0 || (error = yload_append(d, child)) < 0)
            goto out;
        if (d->yd_type == YD_MAP && (d->yd_n & 1) == 1 &&
            (error = yload_check_merge(yl, d)) < 0)
            goto out;
    }
    if (d->yd_type == YD_MAP && (error = yload_check_dups(yl, d)) < 0)
        goto out;
    *out = d;
    d = NULL;
out:
    guard_ydoc_free(d);
    return error;
}

static int
yload_push(struct ydoc ***docs, size_t *n, struct ydoc *d)
{
    struct ydoc **v;

    if ((*n & (*n - 1)) == 0) {
        if ((v = realloc(*docs, (*n ? *n * 2 : 1) * sizeof(*v))) == NULL) {
            guard_ydoc_free(d);
            return paved_error_set(PAVED_ENOMEM, "out of memory");
        }
        *docs = v;
    }
    (*docs)[(*n)++] = d;
    return 0;
}

int
guard_ydoc_load(struct ydoc ***docs, size_t *ndocs, unsigned *err_line,
                const char *data, size_t len)
{
    struct yload yl;
    yaml_event_t ev;
    struct ydoc *root = NULL;
    int error = 0;

    *docs = NULL;
    *ndocs = 0;
    *err_line = 0;
    memset(&yl, 0, sizeof(yl));
    memset(&ev, 0, sizeof(ev));
    if (len > GUARD_YDOC_MAX_BYTES)
        return paved_error_set(PAVED_ETOOBIG,
                               "larger than %d bytes: split it into several "
                               "files",
                               GUARD_YDOC_MAX_BYTES);
    yl.yl_data = (const unsigned char *)data;
    yl.yl_len = len;
    if ((error = yload_map_lines(&yl)) < 0)
        return error;
    if (!yaml_parser_initialize(&yl.yl_parser)) {
        free(yl.yl_lines);
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    yaml_parser_set_input_string(&yl.yl_parser, yl.yl_data, len);
    if ((error = yload_next(&yl, &ev)) < 0) /* stream start */
        goto out;
    for (;;) {
        yaml_event_delete(&ev);
        if ((error = yload_next(&yl, &ev)) < 0)
            goto out;
        if (ev.type == YAML_STREAM_END_EVENT)
            break;
        if (ev.type != YAML_DOCUMENT_START_EVENT) {
            error = yload_fail(&yl, PAVED_EINVAL,
                               yload_line(&yl, ev.start_mark.line),
                               "unexpected YAML event (check the "
                               "structure)");
            goto out;
        }
        yaml_event_delete(&ev);
        yl.yl_nodes = 0;
        if ((error = yload_next(&yl, &ev)) < 0 ||
            (error = yload_node(&yl, &root, &ev, 0)) < 0)
            goto out;
        yaml_event_delete(&ev);
        if ((error = yload_next(&yl, &ev)) < 0) { /* document end */
            guard_ydoc_free(root);
            goto out;
        }
        /* an empty document (between two "---", or only comments) is
         * nothing to check */
        if (root->yd_type == YD_SCALAR && root->yd_null)
            guard_ydoc_free(root);
        else if ((error = yload_push(docs, ndocs, root)) < 0)
            goto out;
        root = NULL;
    }
out:
    yaml_event_delete(&ev);
    yaml_parser_delete(&yl.yl_parser);
    free(yl.yl_lines);
    if (error < 0)
        *err_line = yl.yl_err_line;
    return error;
}

const struct ydoc *
guard_ydoc_key(const struct ydoc *map, const char *key)
{
    size_t i, n;

    if (map == NULL || map->yd_type != YD_MAP || key == NULL)
        return NULL;
    n = strlen(key);
    for (i = 0; i + 1 < map->yd_n; i += 2) {
        const struct ydoc *k = map->yd_items[i];
        if (k->yd_type == YD_SCALAR && k->yd_len == n &&
            memcmp(k->yd_value, key, n) == 0)
            return k;
    }
    return NULL;
}

const struct ydoc *
guard_ydoc_get(const struct ydoc *map, const char *key)
{
    const struct ydoc *k = guard_ydoc_key(map, key);
    size_t i;

    if (k == NULL)
        return NULL;
    for (i = 0; i + 1 < map->yd_n; i += 2)
        if (map->yd_items[i] == k)
            return map->yd_items[i + 1];
    return NULL;
}

const char *
guard_ydoc_str(const struct ydoc *d)
{
    if (d == NULL || d->yd_type != YD_SCALAR || d->yd_null)
        return NULL;
    return d->yd_value;
}

/* digits of base b after any prefix; '_' already removed */
static int
ydoc_digits(const char *s, int base, long long *out)
{
    unsigned long long v = 0;
    int dg;

    if (*s == '\0')
        return 0;
    for (; *s != '\0'; s++) {
        if (*s >= '0' && *s <= '9')
            dg = *s - '0';
        else if (*s >= 'a' && *s <= 'f')
            dg = *s - 'a' + 10;
        else if (*s >= 'A' && *s <= 'F')
            dg = *s - 'A' + 10;
        else
            return 0;
        if (dg >= base)
            return 0;
        if (v > ((unsigned long long)1 << 62) / (unsigned)base)
            return 0; /* far beyond any count a manifest means */
        v = v * (unsigned)base + (unsigned)dg;
    }
    *out = (long long)v;
    return 1;
}

int
guard_ydoc_int(const struct ydoc *d, long long *out)
{
    char buf[72];
    const char *s = guard_ydoc_str(d), *p;
    size_t n = 0;
    bool neg = false;
    long long v;
    int base = 10;

    if (s == NULL || d->yd_len >= sizeof(buf))
        return 0;
    /* the plain forms go-yaml v2 (Kubernetes' reader) takes; a quoted
     * number is plain decimal */
    for (p = s; *p != '\0'; p++)
        if (*p != '_' || !d->yd_plain)
            buf[n++] = *p;
    buf[n] = '\0';
    p = buf;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (d->yd_plain && p[0] == '0' && p[1] != '\0') {
        if (p[1] == 'x' || p[1] == 'X')
            base = 16, p += 2;
        else if (p[1] == 'b' || p[1] == 'B')
            base = 2, p += 2;
        else if (p[1] == 'o' || p[1] == 'O')
            base = 8, p += 2;
        else
            base = 8, p += 1;
    }
    if (!ydoc_digits(p, base, &v))
        return 0;
    *out = neg ? -v : v;
    return 1;
}

int
guard_ydoc_bool(const struct ydoc *d, bool *out)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes",
                                      "Yes",  "YES",  "on",   "On",
                                      "ON",   "y",    "Y"};
    static const char *const no[] = {"false", "False", "FALSE", "no",
                                     "No",    "NO",    "off",   "Off",
                                     "OFF",   "n",     "N"};
    const char *s = guard_ydoc_str(d);
    size_t i;

    if (s == NULL || !d->yd_plain)
        return 0;
    for (i = 0; i < sizeof(yes) / sizeof(*yes); i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = true;
            return 1;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = false;
            return 1;
        }
    }
    return 0;
}

const struct ydoc *
guard_ydoc_at(const struct ydoc *d, ...)
{
    const char *key;
    va_list ap;

    va_start(ap, d);
    while (d != NULL && (key = va_arg(ap, const char *)) != NULL)
        d = guard_ydoc_get(d, key);
    va_end(ap);
    return d;
}
