/* Findings and the rule catalog: the one list every checker appends to,
 * the severity names, and the join of each checker's rule table into the
 * catalog that `paved check --rules`, SARIF and the docs are checked
 * against. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "guard/guard_int.h"
#include "paved/error.h"
#include "paved/text.h"

#define FINDING_MESSAGE_MAX 1024

static const char *const severity_names[] = {"info", "low", "medium", "high",
                                             "critical"};

const char *
paved_severity_name(enum paved_severity s)
{
    if ((unsigned)s > PAVED_SEV_CRITICAL)
        return "unknown";
    return severity_names[s];
}

int
paved_severity_parse(enum paved_severity *out, const char *s)
{
    size_t i;

    if (s != NULL && strcasecmp(s, "unknown") == 0) {
        *out = PAVED_SEV_INFO;
        return 0;
    }
    for (i = 0;
         s != NULL && i < sizeof(severity_names) / sizeof(*severity_names);
         i++) {
        if (strcasecmp(s, severity_names[i]) == 0) {
            *out = (enum paved_severity)i;
            return 0;
        }
    }
    return paved_error_set(PAVED_EINVAL,
                           "severity \"%s\": use info, low, medium, high or "
                           "critical",
                           s != NULL ? s : "");
}

/* In place: one line of valid UTF-8 (a cut or a file's bad bytes must not
 * make the JSON and SARIF writers refuse the whole report). */
static void
finding_clean(char *s)
{
    unsigned char *p = (unsigned char *)s, *end = p + strlen(s);
    size_t n;

    while (p < end) {
        if ((n = paved_utf8_decode(p, (size_t)(end - p), NULL)) == 0) {
            *p++ = '?';
            continue;
        }
        if (n == 1 && (*p == '\n' || *p == '\r' || *p == '\t'))
            *p = ' ';
        p += n;
    }
}

static int
findings_vadd(struct paved_findings *fs, const char *rule,
              enum paved_severity sev, const char *path, unsigned line,
              unsigned end_line, const char *fmt, va_list ap)
{
    struct paved_finding *f;
    char msg[FINDING_MESSAGE_MAX];

    if (fs->fs_n == fs->fs_cap) {
        size_t cap = fs->fs_cap ? fs->fs_cap * 2 : 16;
        struct paved_finding *v = realloc(fs->fs_items, cap * sizeof(*v));
        if (v == NULL)
            return paved_error_set(PAVED_ENOMEM, "out of memory");
        fs->fs_items = v;
        fs->fs_cap = cap;
    }
    vsnprintf(msg, sizeof(msg), fmt, ap);
    /* one line of UTF-8: a message is a log line, an annotation, a SARIF
     * text */
    finding_clean(msg);
    f = &fs->fs_items[fs->fs_n];
    memset(f, 0, sizeof(*f));
    f->f_severity = sev;
    f->f_line = line;
    f->f_end_line = line == 0 ? 0 : (end_line >= line ? end_line : line);
    if ((f->f_rule = strdup(rule)) == NULL ||
        (f->f_path = strdup(path != NULL ? path : "")) == NULL ||
        (f->f_message = strdup(msg)) == NULL) {
        free(f->f_rule);
        free(f->f_path);
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    finding_clean(f->f_path);
    fs->fs_n++;
    return 0;
}

int
paved_findings_add(struct paved_findings *fs, const char *rule,
                   enum paved_severity sev, const char *path, unsigned line,
                   unsigned end_line, const char *fmt, ...)
{
    va_list ap;
    int error;

    va_start(ap, fmt);
    error = findings_vadd(fs, rule, sev, path, line, end_line, fmt, ap);
    va_end(ap);
    return error;
}

int
guard_report(struct paved_findings *fs, const char *id, const char *path,
             unsigned line, unsigned end_line, const char *fmt, ...)
{
    const struct paved_rule *r = paved_guard_rule(id);
    va_list ap;
    int error;

    /* a checker that names a rule the catalog lacks is a bug here, not
     * the user's: still report it, as high, so it is seen */
    va_start(ap, fmt);
    error = findings_vadd(fs, id, r != NULL ? r->r_severity : PAVED_SEV_HIGH,
                          path, line, end_line, fmt, ap);
    va_end(ap);
    return error;
}

static void
finding_free(struct paved_finding *f)
{
    free(f->f_rule);
    free(f->f_path);
    free(f->f_message);
    free(f->f_fingerprint);
}

void
paved_findings_remove(struct paved_findings *fs, size_t i)
{
    finding_free(&fs->fs_items[i]);
    memmove(&fs->fs_items[i], &fs->fs_items[i + 1],
            (fs->fs_n - i - 1) * sizeof(*fs->fs_items));
    fs->fs_n--;
}

static int
findings_cmp(const void *a, const void *b)
{
    const struct paved_finding *x = a, *y = b;
    int c;

    if ((c = strcmp(x->f_path, y->f_path)) != 0)
        return c;
    if (x->f_line != y->f_line)
        return x->f_line < y->f_line ? -1 : 1;
    if ((c = strcmp(x->f_rule, y->f_rule)) != 0)
        return c;
    return strcmp(x->f_message, y->f_message);
}

void
paved_findings_sort(struct paved_findings *fs)
{
    if (fs->fs_n > 1)
        qsort(fs->fs_items, fs->fs_n, sizeof(*fs->fs_items), findings_cmp);
}

void
paved_findings_dispose(struct paved_findings *fs)
{
    size_t i;

    if (fs == NULL)
        return;
    for (i = 0; i < fs->fs_n; i++)
        finding_free(&fs->fs_items[i]);
    free(fs->fs_items);
    memset(fs, 0, sizeof(*fs));
}

/* ---- the catalog ------------------------------------------------------ */

typedef const struct paved_rule *(*rules_fn)(size_t *n);

static const rules_fn catalog_parts[] = {
    guard_k8s_rules,   guard_docker_rules, guard_secrets_rules,
    guard_trivy_rules, guard_policy_rules, guard_tree_rules,
};

const struct paved_rule *
paved_guard_rule_at(size_t i)
{
    size_t k, n;

    for (k = 0; k < sizeof(catalog_parts) / sizeof(*catalog_parts); k++) {
        const struct paved_rule *t = catalog_parts[k](&n);
        if (i < n)
            return &t[i];
        i -= n;
    }
    return NULL;
}

const struct paved_rule *
paved_guard_rule(const char *id)
{
    size_t i, j, n;

    for (i = 0; i < sizeof(catalog_parts) / sizeof(*catalog_parts); i++) {
        const struct paved_rule *t = catalog_parts[i](&n);
        for (j = 0; j < n; j++)
            if (strcmp(t[j].r_id, id) == 0)
                return &t[j];
    }
    return NULL;
}
