/* The repository's guardrail policy, .paved/policy.yaml:
 *
 *     fail_on: high                 # findings at or above fail the check
 *     rules:
 *       k8s.read-only-root-fs: low  # a rule's severity, or "off"
 *     exceptions:
 *       - rule: k8s.host-path
 *         path: deploy/node-exporter.yaml   # a path, a glob or a dir/
 *         reason: node-exporter reads the host's /proc
 *         expires: 2027-03-01
 *
 * An exception needs all four keys; an expired one no longer applies and
 * is itself a finding, so an exception cannot quietly become permanent.
 * Everything wrong in the file is a finding at its line: a broken policy
 * never hides what the checks found. paved_guard_policy_exceptions lists
 * the exceptions for views (the platform's exceptions near expiry) with
 * the same reading of the file, so the two never disagree. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard/guard_int.h"
#include "paved/error.h"

#define POLICY_MAX_RULES 512
#define POLICY_MAX_EXCEPTIONS 1024

static const struct paved_rule policy_rules[] = {
    {"policy.syntax", PAVED_SEV_HIGH,
     "the policy file is valid YAML of the documented shape"},
    {"policy.unknown-rule", PAVED_SEV_MEDIUM,
     "rules and exceptions name rules that exist"},
    {"policy.exception-incomplete", PAVED_SEV_HIGH,
     "every exception has rule, path, reason and expires (YYYY-MM-DD)"},
    {"policy.exception-expired", PAVED_SEV_HIGH,
     "exceptions are renewed or removed before they expire"},
};

const struct paved_rule *
guard_policy_rules(size_t *n)
{
    *n = sizeof(policy_rules) / sizeof(policy_rules[0]);
    return policy_rules;
}

struct policy_sev {
    char *ps_rule;
    bool ps_off;
    enum paved_severity ps_sev;
};

struct policy_exc {
    char *pe_rule;
    char *pe_path;
};

struct guard_policy {
    enum paved_severity p_fail_on;
    struct policy_sev *p_sevs;
    size_t p_nsevs;
    struct policy_exc *p_excs;
    size_t p_nexcs;
};

int
guard_policy_default(struct guard_policy **out)
{
    if ((*out = calloc(1, sizeof(**out))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    (*out)->p_fail_on = PAVED_SEV_HIGH;
    return 0;
}

void
guard_policy_free(struct guard_policy *p)
{
    size_t i;

    if (p == NULL)
        return;
    for (i = 0; i < p->p_nsevs; i++)
        free(p->p_sevs[i].ps_rule);
    for (i = 0; i < p->p_nexcs; i++) {
        free(p->p_excs[i].pe_rule);
        free(p->p_excs[i].pe_path);
    }
    free(p->p_sevs);
    free(p->p_excs);
    free(p);
}

enum paved_severity
guard_policy_fail_on(const struct guard_policy *p)
{
    return p->p_fail_on;
}

/* YYYY-MM-DD, a real calendar day */
static bool
policy_date_ok(const char *s)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int i, y, m, d;

    if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
        (s[3] - '0');
    m = (s[5] - '0') * 10 + (s[6] - '0');
    d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return false;
    return !(m == 2 && d == 29 &&
             !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
}

static int
policy_rules_map(struct guard_policy *p, struct paved_findings *fs,
                 const char *path, const struct ydoc *map)
{
    size_t i;
    int error;

    if (map->yd_type != YD_MAP)
        return guard_report(fs, "policy.syntax", path, map->yd_line, 0,
                            "rules: must be a mapping of rule ID to a "
                            "severity (info..critical) or off");
    for (i = 0; i + 1 < map->yd_n && p->p_nsevs < POLICY_MAX_RULES; i += 2) {
        const struct ydoc *k = map->yd_items[i], *v = map->yd_items[i + 1];
        const char *id = guard_ydoc_str(k), *val = guard_ydoc_str(v);
        struct policy_sev *ps = &p->p_sevs[p->p_nsevs];
        if (id == NULL || paved_guard_rule(id) == NULL) {
            if ((error = guard_report(fs, "policy.unknown-rule", path,
                                      k->yd_line, 0,
                                      "rules: no rule \"%s\": see paved "
                                      "check --rules for the IDs",
                                      id != NULL ? id : "")) < 0)
                return error;
            continue;
        }
        memset(ps, 0, sizeof(*ps));
        if (val != NULL && strcmp(val, "off") == 0) {
            ps->ps_off = true;
        } else if (val == NULL || paved_severity_parse(&ps->ps_sev, val) < 0) {
            if ((error = guard_report(fs, "policy.syntax", path, v->yd_line, 0,
                                      "rules: %s: \"%s\" is not a severity: "
                                      "use info, low, medium, high, critical "
                                      "or off",
                                      id, val != NULL ? val : "")) < 0)
                return error;
            continue;
        }
        if ((ps->ps_rule = strdup(id)) == NULL)
            return paved_error_set(PAVED_ENOMEM, "out of memory");
        p->p_nsevs++;
    }
    return 0;
}

/* What the check makes of one item of `exceptions:`: the one definition
 * of an exception, shared by guard_policy_parse and
 * paved_guard_policy_exceptions so that `paved check` and the views that
 * list exceptions agree on which ones there are. */
enum policy_item_state {
    POLICY_ITEM_OK = 0,     /* applies until (and on) its expiry date */
    POLICY_ITEM_NOT_MAP,    /* policy.syntax */
    POLICY_ITEM_INCOMPLETE, /* policy.exception-incomplete */
    POLICY_ITEM_UNKNOWN     /* policy.unknown-rule */
};

struct policy_item {
    const char *pi_rule, *pi_path, *pi_reason, *pi_expires; /* the tree's */
};

static enum policy_item_state
policy_item_read(struct policy_item *it, const struct ydoc *e)
{
    memset(it, 0, sizeof(*it));
    if (e->yd_type != YD_MAP)
        return POLICY_ITEM_NOT_MAP;
    it->pi_rule = guard_ydoc_str(guard_ydoc_get(e, "rule"));
    it->pi_path = guard_ydoc_str(guard_ydoc_get(e, "path"));
    it->pi_reason = guard_ydoc_str(guard_ydoc_get(e, "reason"));
    it->pi_expires = guard_ydoc_str(guard_ydoc_get(e, "expires"));
    if (it->pi_rule == NULL || it->pi_path == NULL || it->pi_reason == NULL ||
        it->pi_reason[0] == '\0' || !policy_date_ok(it->pi_expires))
        return POLICY_ITEM_INCOMPLETE;
    if (paved_guard_rule(it->pi_rule) == NULL)
        return POLICY_ITEM_UNKNOWN;
    return POLICY_ITEM_OK;
}

/* The file's shape, also shared: the check takes nothing from a file that
 * is not one mapping, nor any exception from an `exceptions:` that is not
 * a list (both are policy.syntax findings). */
static const char policy_msg_root[] =
    "the policy is one mapping with fail_on, rules and exceptions";
static const char policy_msg_list[] = "exceptions: must be a list";

static bool
policy_root_ok(struct ydoc *const *docs, size_t ndocs)
{
    return ndocs == 1 && docs[0]->yd_type == YD_MAP;
}

/* The `exceptions:` list; NULL when there is none (missing or null), and
 * then *bad is the node when it is there but not a list. */
static const struct ydoc *
policy_exc_list(const struct ydoc *root, const struct ydoc **bad)
{
    const struct ydoc *v = guard_ydoc_get(root, "exceptions");

    *bad = NULL;
    if (v == NULL || v->yd_null)
        return NULL;
    if (v->yd_type != YD_SEQ) {
        *bad = v;
        return NULL;
    }
    return v;
}

static int
policy_exception(struct guard_policy *p, struct paved_findings *fs,
                 const char *path, const struct ydoc *e, const char *today)
{
    struct policy_item it;
    struct policy_exc *pe;

    switch (policy_item_read(&it, e)) {
    case POLICY_ITEM_OK:
        break;
    case POLICY_ITEM_NOT_MAP:
        return guard_report(fs, "policy.syntax", path, e->yd_line, 0,
                            "exceptions: each item is a mapping with rule, "
                            "path, reason and expires");
    case POLICY_ITEM_INCOMPLETE:
        return guard_report(
            fs, "policy.exception-incomplete", path, e->yd_line, 0,
            "exception for %s does not apply: it needs rule, "
            "path, a reason and expires: YYYY-MM-DD%s",
            it.pi_rule != NULL ? it.pi_rule : "(no rule)",
            it.pi_expires != NULL && !policy_date_ok(it.pi_expires)
                ? " (expires is not a date)"
                : "");
    case POLICY_ITEM_UNKNOWN:
        return guard_report(fs, "policy.unknown-rule", path, e->yd_line, 0,
                            "exception: no rule \"%s\": see paved check "
                            "--rules for the IDs",
                            it.pi_rule);
    }
    /* ISO dates compare as strings */
    if (strcmp(it.pi_expires, today) < 0)
        return guard_report(fs, "policy.exception-expired", path, e->yd_line, 0,
                            "exception for %s on %s expired on %s: fix the "
                            "finding, or renew the exception with a reason",
                            it.pi_rule, it.pi_path, it.pi_expires);
    if (p->p_nexcs >= POLICY_MAX_EXCEPTIONS)
        return 0;
    pe = &p->p_excs[p->p_nexcs];
    if ((pe->pe_rule = strdup(it.pi_rule)) == NULL ||
        (pe->pe_path = strdup(it.pi_path)) == NULL) {
        free(pe->pe_rule);
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    }
    p->p_nexcs++;
    return 0;
}

int
guard_policy_parse(struct guard_policy **out, struct paved_findings *fs,
                   const char *path, const char *data, size_t len,
                   const char *today)
{
    struct guard_policy *p = NULL;
    struct ydoc **docs = NULL;
    const struct ydoc *root, *v, *bad;
    size_t ndocs = 0, i;
    unsigned line = 0;
    int error;

    *out = NULL;
    if ((error = guard_policy_default(&p)) < 0)
        return error;
    if ((p->p_sevs = calloc(POLICY_MAX_RULES, sizeof(*p->p_sevs))) == NULL ||
        (p->p_excs = calloc(POLICY_MAX_EXCEPTIONS, sizeof(*p->p_excs))) ==
            NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    if ((error = guard_ydoc_load(&docs, &ndocs, &line, data, len)) < 0) {
        if (error == PAVED_ENOMEM)
            goto out;
        error = guard_report(fs, "policy.syntax", path, line, 0, "%s",
                             paved_error_last());
        goto done;
    }
    if (ndocs == 0)
        goto done;
    root = docs[0];
    if (!policy_root_ok(docs, ndocs)) {
        error = guard_report(fs, "policy.syntax", path, root->yd_line, 0, "%s",
                             policy_msg_root);
        goto done;
    }
    for (i = 0; i + 1 < root->yd_n; i += 2) {
        const char *key = guard_ydoc_str(root->yd_items[i]);
        if (key == NULL ||
            (strcmp(key, "fail_on") != 0 && strcmp(key, "rules") != 0 &&
             strcmp(key, "exceptions") != 0))
            if ((error = guard_report(fs, "policy.syntax", path,
                                      root->yd_items[i]->yd_line, 0,
                                      "unknown key \"%s\": the policy has "
                                      "fail_on, rules and exceptions",
                                      key != NULL ? key : "")) < 0)
                goto out;
    }
    if ((v = guard_ydoc_get(root, "fail_on")) != NULL &&
        paved_severity_parse(&p->p_fail_on, guard_ydoc_str(v)) < 0 &&
        (error = guard_report(fs, "policy.syntax", path, v->yd_line, 0,
                              "fail_on: use info, low, medium, high or "
                              "critical")) < 0)
        goto out;
    if ((v = guard_ydoc_get(root, "rules")) != NULL && !v->yd_null &&
        (error = policy_rules_map(p, fs, path, v)) < 0)
        goto out;
    if ((v = policy_exc_list(root, &bad)) != NULL) {
        for (i = 0; i < v->yd_n; i++)
            if ((error = policy_exception(p, fs, path, v->yd_items[i], today)) <
                0)
                goto out;
    } else if (bad != NULL &&
               (error = guard_report(fs, "policy.syntax", path, bad->yd_line, 0,
                                     "%s", policy_msg_list)) < 0) {
        goto out;
    }
done:
    error = 0;
    *out = p;
    p = NULL;
out:
    guard_ydoc_free_all(docs, ndocs);
    guard_policy_free(p);
    return error;
}

/* ---- the exceptions, for views that list them -------------------------- */

void
paved_guard_policy_exceptions_free(struct paved_policy_exception *list,
                                   size_t n)
{
    size_t i;

    if (list == NULL)
        return;
    for (i = 0; i < n; i++) {
        free(list[i].px_rule);
        free(list[i].px_path);
        free(list[i].px_reason);
        free(list[i].px_expires);
    }
    free(list);
}

int
paved_guard_policy_exceptions(struct paved_policy_exception **out, size_t *n,
                              const char *data, size_t len)
{
    struct paved_policy_exception *list = NULL;
    struct ydoc **docs = NULL;
    const struct ydoc *v, *bad;
    size_t ndocs = 0, i, k = 0;
    unsigned line = 0;
    char msg[400];
    int error;

    *out = NULL;
    *n = 0;
    if ((error = guard_ydoc_load(&docs, &ndocs, &line, data, len)) < 0) {
        /* the reader's message lacks the line the check reports it at */
        if (error != PAVED_ENOMEM && line > 0) {
            snprintf(msg, sizeof(msg), "%s", paved_error_last());
            error = paved_error_set(error, "line %u: %s", line, msg);
        }
        goto out;
    }
    if (ndocs == 0)
        goto out;
    if (!policy_root_ok(docs, ndocs)) {
        error = paved_error_set(PAVED_EINVAL, "line %u: %s", docs[0]->yd_line,
                                policy_msg_root);
        goto out;
    }
    if ((v = policy_exc_list(docs[0], &bad)) == NULL) {
        if (bad != NULL)
            error = paved_error_set(PAVED_EINVAL, "line %u: %s", bad->yd_line,
                                    policy_msg_list);
        goto out;
    }
    if (v->yd_n == 0)
        goto out;
    if ((list = calloc(v->yd_n, sizeof(*list))) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < v->yd_n; i++) {
        struct paved_policy_exception *x = &list[k];
        struct policy_item it;

        switch (policy_item_read(&it, v->yd_items[i])) {
        case POLICY_ITEM_OK:
        case POLICY_ITEM_UNKNOWN: /* complete: maybe a newer paved's rule */
            break;
        case POLICY_ITEM_NOT_MAP:
        case POLICY_ITEM_INCOMPLETE:
            continue;
        }
        k++; /* counted first: a half-copied item is freed too */
        x->px_line = v->yd_items[i]->yd_line;
        if ((x->px_rule = strdup(it.pi_rule)) == NULL ||
            (x->px_path = strdup(it.pi_path)) == NULL ||
            (x->px_reason = strdup(it.pi_reason)) == NULL ||
            (x->px_expires = strdup(it.pi_expires)) == NULL) {
            error = paved_error_set(PAVED_ENOMEM, "out of memory");
            goto out;
        }
    }
    *out = list;
    *n = k;
    list = NULL;
out:
    paved_guard_policy_exceptions_free(list, k);
    guard_ydoc_free_all(docs, ndocs);
    return error;
}

/* An exception's path: the file itself, a glob (fnmatch, '*' does not
 * cross '/'), or a directory ending in '/' and everything under it. */
static bool
policy_path_matches(const char *pattern, const char *path)
{
    size_t n = strlen(pattern);

    if (n > 0 && pattern[n - 1] == '/')
        return strncmp(path, pattern, n) == 0;
    return strcmp(pattern, path) == 0 ||
           fnmatch(pattern, path, FNM_PATHNAME) == 0;
}

size_t
guard_policy_apply(const struct guard_policy *p, struct paved_findings *fs)
{
    size_t i = 0, k, excepted = 0;

    while (i < fs->fs_n) {
        struct paved_finding *f = &fs->fs_items[i];
        bool drop = false;
        /* the policy's own findings cannot be configured away */
        if (strncmp(f->f_rule, "policy.", 7) == 0) {
            i++;
            continue;
        }
        for (k = 0; k < p->p_nsevs; k++) {
            if (strcmp(p->p_sevs[k].ps_rule, f->f_rule) == 0) {
                drop = p->p_sevs[k].ps_off;
                f->f_severity = p->p_sevs[k].ps_sev;
            }
        }
        for (k = 0; !drop && k < p->p_nexcs; k++) {
            if (strcmp(p->p_excs[k].pe_rule, f->f_rule) == 0 &&
                policy_path_matches(p->p_excs[k].pe_path, f->f_path)) {
                drop = true;
                excepted++;
            }
        }
        if (drop)
            paved_findings_remove(fs, i);
        else
            i++;
    }
    return excepted;
}
