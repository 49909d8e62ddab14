/* A check's result as text for people, JSON for scripts, SARIF 2.1.0 for
 * code-scanning tools, and JSON lines in GitHub's annotation shape for a
 * run's check (the guardrails step writes them to $PAVED_ANNOTATIONS).
 * Findings never hold a secret's bytes, so neither does any of these. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "guard/guard_int.h"
#include "paved/buf.h"
#include "paved/error.h"

#define RENDER_MAX (256 * 1024 * 1024)
#define RENDER_DOCS "docs/guardrails.md"

int
paved_guard_format_parse(enum paved_guard_format *out, const char *s)
{
    static const char *const names[] = {"text", "json", "sarif", "annotations"};
    size_t i;

    for (i = 0; s != NULL && i < sizeof(names) / sizeof(*names); i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum paved_guard_format)i;
            return 0;
        }
    }
    return paved_error_set(PAVED_EINVAL,
                           "format \"%s\": use text, json, sarif or "
                           "annotations",
                           s != NULL ? s : "");
}

static int
render_text(struct paved_buf *b, const struct paved_guard_result *r)
{
    static const char *const plural[] = {"s", ""};
    const struct paved_findings *fs = &r->gr_findings;
    size_t i;
    int s, first = 1;

    for (i = 0; i < fs->fs_n; i++) {
        const struct paved_finding *f = &fs->fs_items[i];
        if (f->f_line > 0)
            paved_buf_printf(b, "%s:%u: ", f->f_path, f->f_line);
        else
            paved_buf_printf(b, "%s: ", f->f_path);
        paved_buf_printf(b, "%s %s: %s\n", paved_severity_name(f->f_severity),
                         f->f_rule, f->f_message);
    }
    paved_buf_printf(b, "%zu finding%s", fs->fs_n, plural[fs->fs_n == 1]);
    for (s = PAVED_SEV_CRITICAL; s >= PAVED_SEV_INFO; s--) {
        if (r->gr_by_severity[s] == 0)
            continue;
        paved_buf_printf(b, "%s%zu %s", first ? " (" : ", ",
                         r->gr_by_severity[s],
                         paved_severity_name((enum paved_severity)s));
        first = 0;
    }
    if (!first)
        paved_buf_putc(b, ')');
    paved_buf_printf(b, " in %zu file%s (%zu manifest%s, %zu Dockerfile%s)",
                     r->gr_files, plural[r->gr_files == 1], r->gr_manifests,
                     plural[r->gr_manifests == 1], r->gr_dockerfiles,
                     plural[r->gr_dockerfiles == 1]);
    if (r->gr_excepted > 0)
        paved_buf_printf(b, "; %zu excepted by .paved/policy.yaml",
                         r->gr_excepted);
    paved_buf_printf(b, "; fails at %s: %s\n",
                     paved_severity_name(r->gr_fail_on),
                     r->gr_failed ? "FAILED" : "passed");
    if (r->gr_note != NULL)
        paved_buf_printf(b, "note: %s\n", r->gr_note);
    return 0;
}

static json_t *
render_finding(const struct paved_finding *f)
{
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    json_object_set_new(o, "rule", json_string(f->f_rule));
    json_object_set_new(o, "severity",
                        json_string(paved_severity_name(f->f_severity)));
    json_object_set_new(o, "path", json_string(f->f_path));
    json_object_set_new(o, "line", json_integer(f->f_line));
    json_object_set_new(o, "end_line", json_integer(f->f_end_line));
    json_object_set_new(o, "message", json_string(f->f_message));
    if (f->f_fingerprint != NULL)
        json_object_set_new(o, "fingerprint", json_string(f->f_fingerprint));
    return o;
}

static json_t *
render_json(const struct paved_guard_result *r)
{
    json_t *root = json_object(), *list = json_array(), *sum = json_object(),
           *sev = json_object();
    size_t i;
    int s;

    if (root == NULL || list == NULL || sum == NULL || sev == NULL) {
        json_decref(root);
        json_decref(list);
        json_decref(sum);
        json_decref(sev);
        return NULL;
    }
    for (i = 0; i < r->gr_findings.fs_n; i++)
        json_array_append_new(list,
                              render_finding(&r->gr_findings.fs_items[i]));
    for (s = PAVED_SEV_INFO; s <= PAVED_SEV_CRITICAL; s++)
        json_object_set_new(sev, paved_severity_name((enum paved_severity)s),
                            json_integer((json_int_t)r->gr_by_severity[s]));
    json_object_set_new(sum, "files", json_integer((json_int_t)r->gr_files));
    json_object_set_new(sum, "manifests",
                        json_integer((json_int_t)r->gr_manifests));
    json_object_set_new(sum, "dockerfiles",
                        json_integer((json_int_t)r->gr_dockerfiles));
    json_object_set_new(sum, "excepted",
                        json_integer((json_int_t)r->gr_excepted));
    json_object_set_new(sum, "by_severity", sev);
    json_object_set_new(sum, "fail_on",
                        json_string(paved_severity_name(r->gr_fail_on)));
    json_object_set_new(sum, "failed", json_boolean(r->gr_failed));
    json_object_set_new(root, "findings", list);
    json_object_set_new(root, "summary", sum);
    if (r->gr_note != NULL)
        json_object_set_new(root, "note", json_string(r->gr_note));
    return root;
}

static const char *
render_level(enum paved_severity s)
{
    return s >= PAVED_SEV_HIGH     ? "error"
           : s == PAVED_SEV_MEDIUM ? "warning"
                                   : "note";
}

/* GitHub code scanning ranks security results by this score */
static const char *
render_score(enum paved_severity s)
{
    static const char *const scores[] = {"1.0", "3.0", "5.5", "8.0", "9.5"};

    return scores[s];
}

static json_t *
render_sarif(const struct paved_guard_result *r, const char *version)
{
    json_t *rules = json_array(), *results = json_array(), *run, *root;
    const struct paved_rule *rule;
    char anchor[160], *p;
    size_t i, k;

    for (i = 0; (rule = paved_guard_rule_at(i)) != NULL; i++) {
        /* the rule's section in paved's own docs, shipped with it */
        snprintf(anchor, sizeof(anchor), "see %s#%s", RENDER_DOCS, rule->r_id);
        for (p = strchr(anchor, '#'); p != NULL && *p != '\0'; p++)
            if (*p == '.')
                *p = '-';
        json_array_append_new(
            rules,
            json_pack("{s:s, s:s, s:{s:s}, s:{s:s}, s:{s:s}, "
                      "s:{s:s, s:[s]}}",
                      "id", rule->r_id, "name", rule->r_id, "shortDescription",
                      "text", rule->r_summary, "help", "text", anchor,
                      "defaultConfiguration", "level",
                      render_level(rule->r_severity), "properties",
                      "security-severity", render_score(rule->r_severity),
                      "tags", "security"));
    }
    for (i = 0; i < r->gr_findings.fs_n; i++) {
        const struct paved_finding *f = &r->gr_findings.fs_items[i];
        json_t *res, *phys, *loc;
        size_t idx = 0;
        for (k = 0; (rule = paved_guard_rule_at(k)) != NULL; k++)
            if (strcmp(rule->r_id, f->f_rule) == 0)
                idx = k;
        phys = json_pack("{s:{s:s, s:s}}", "artifactLocation", "uri", f->f_path,
                         "uriBaseId", "%SRCROOT%");
        if (f->f_line > 0)
            json_object_set_new(phys, "region",
                                json_pack("{s:i, s:i}", "startLine",
                                          (int)f->f_line, "endLine",
                                          (int)f->f_end_line));
        loc = json_pack("[{s:o}]", "physicalLocation", phys);
        res = json_pack("{s:s, s:i, s:s, s:{s:s}, s:o}", "ruleId", f->f_rule,
                        "ruleIndex", (int)idx, "level",
                        render_level(f->f_severity), "message", "text",
                        f->f_message, "locations", loc);
        if (res != NULL && f->f_fingerprint != NULL)
            json_object_set_new(
                res, "partialFingerprints",
                json_pack("{s:s}", "secretFingerprint/v1", f->f_fingerprint));
        json_array_append_new(results, res);
    }
    run = json_pack("{s:{s:{s:s, s:s, s:o}}, s:o}", "tool", "driver", "name",
                    "paved", "version", version != NULL ? version : "0",
                    "rules", rules, "results", results);
    root = json_pack("{s:s, s:s, s:[o]}", "$schema",
                     "https://json.schemastore.org/sarif-2.1.0.json", "version",
                     "2.1.0", "runs", run);
    return root;
}

static int
render_annotations(struct paved_buf *b, const struct paved_guard_result *r)
{
    size_t i;
    int error = 0;

    for (i = 0; i < r->gr_findings.fs_n && error == 0; i++) {
        const struct paved_finding *f = &r->gr_findings.fs_items[i];
        const char *level = f->f_severity >= r->gr_fail_on      ? "failure"
                            : f->f_severity >= PAVED_SEV_MEDIUM ? "warning"
                                                                : "notice";
        char title[128], *line;
        json_t *a;
        snprintf(title, sizeof(title), "%s (%s)", f->f_rule,
                 paved_severity_name(f->f_severity));
        /* GitHub wants a line: a whole-file finding goes on the first */
        a = json_pack("{s:s, s:i, s:i, s:s, s:s, s:s}", "path", f->f_path,
                      "start_line", f->f_line > 0 ? (int)f->f_line : 1,
                      "end_line", f->f_line > 0 ? (int)f->f_end_line : 1,
                      "annotation_level", level, "message", f->f_message,
                      "title", title);
        if (a == NULL || (line = json_dumps(a, JSON_COMPACT)) == NULL) {
            json_decref(a);
            return paved_error_set(PAVED_ENOMEM, "out of memory");
        }
        json_decref(a);
        if ((error = paved_buf_puts(b, line)) == 0)
            error = paved_buf_putc(b, '\n');
        free(line);
    }
    return error;
}

int
paved_guard_render(char **out, const struct paved_guard_result *r,
                   enum paved_guard_format f, const char *version)
{
    struct paved_buf b;
    json_t *doc = NULL;
    char *text;
    int error = 0;

    *out = NULL;
    paved_buf_init(&b, RENDER_MAX);
    switch (f) {
    case PAVED_GUARD_TEXT:
        error = render_text(&b, r);
        break;
    case PAVED_GUARD_ANNOTATIONS:
        error = render_annotations(&b, r);
        break;
    case PAVED_GUARD_JSON:
    case PAVED_GUARD_SARIF:
        doc = f == PAVED_GUARD_JSON ? render_json(r) : render_sarif(r, version);
        if (doc == NULL ||
            (text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) ==
                NULL) {
            error = paved_error_set(PAVED_ENOMEM, "out of memory");
            break;
        }
        error = paved_buf_puts(&b, text);
        if (error == 0)
            error = paved_buf_putc(&b, '\n');
        free(text);
        break;
    }
    json_decref(doc);
    if (error == 0 && (*out = paved_buf_detach(&b, NULL)) == NULL)
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
    paved_buf_dispose(&b);
    return error;
}
