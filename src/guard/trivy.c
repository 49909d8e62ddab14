/* Trivy's JSON report (schema 2) read with jansson into plain data, and the
 * gate that turns it into findings: failing vulnerabilities by severity,
 * failed misconfigurations and secrets at their file and lines. Never runs
 * Trivy, never prints, and never copies a secret's Match or Code lines out
 * of the report: they are not even looked at. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "guard/guard_int.h"
#include "paved/error.h"
#include "paved/trivy.h"

/* a real image report is a few MiB; these only stop a hostile one from
 * taking the machine (jansson needs ~10x the text in memory) */
#define TRIVY_MAX_BYTES ((size_t)256 << 20)
#define TRIVY_MAX_ENTRIES 1000000
#define TRIVY_WHERE_MAX 96

static const struct paved_rule trivy_rules[] = {
    {"trivy.vulnerability", PAVED_SEV_HIGH,
     "the image has no known vulnerability of a failing severity (default "
     "critical and high): upgrade the package or the base image"},
    {"trivy.misconfiguration", PAVED_SEV_MEDIUM,
     "the files Trivy checks have no failed misconfiguration: apply the "
     "rule's resolution"},
    {"trivy.secret", PAVED_SEV_CRITICAL,
     "Trivy finds no secret in the image or repository: rotate it and load "
     "it from a secret store at run time"},
};

const struct paved_rule *
guard_trivy_rules(size_t *n)
{
    *n = sizeof(trivy_rules) / sizeof(trivy_rules[0]);
    return trivy_rules;
}

/* ---- strings ----------------------------------------------------------- */

/* A copy of s with what could steer a terminal or hide text in a review
 * (C0 controls, DEL, C1 controls, bidirectional overrides and isolates)
 * replaced by '?'. jansson has checked that s is UTF-8. */
static char *
trivy_clean_dup(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), i = 0, o = 0;
    char *out;

    if ((out = malloc(len + 1)) == NULL)
        return NULL;
    while (i < len) {
        unsigned char c = p[i];

        if (c < 0x20 || c == 0x7f) {
            out[o++] = '?';
            i++;
        } else if (c == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 &&
                   p[i + 1] <= 0x9f) {
            out[o++] = '?'; /* U+0080..U+009F */
            i += 2;
        } else if (c == 0xe2 && i + 2 < len &&
                   ((p[i + 1] == 0x80 && p[i + 2] >= 0xaa &&
                     p[i + 2] <= 0xae) ||
                    (p[i + 1] == 0x81 && p[i + 2] >= 0xa6 &&
                     p[i + 2] <= 0xa9))) {
            out[o++] = '?'; /* U+202A..U+202E, U+2066..U+2069 */
            i += 3;
        } else {
            out[o++] = (char)c;
            i++;
        }
    }
    out[o] = '\0';
    return out;
}

static const char *
trivy_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "a whole number";
    case JSON_REAL:
        return "a number with a fraction";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
    default:
        return "null";
    }
}

/* obj[key] as a cleaned copy in *out. Absent, null or "": NULL, or an
 * error when required (Go's encoding/json omits empty strings, so "" and
 * absent are the same thing to Trivy). */
static int
trivy_str(char **out, const json_t *obj, const char *where, const char *key,
          bool required)
{
    const json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (v == NULL || json_is_null(v) ||
        (json_is_string(v) && json_string_length(v) == 0)) {
        if (!required)
            return 0;
        return paved_error_set(PAVED_EINVAL, "Trivy report: %s%s%s is missing",
                               where, *where != '\0' ? "." : "", key);
    }
    if (!json_is_string(v))
        return paved_error_set(
            PAVED_EINVAL, "Trivy report: %s%s%s is %s, not a string", where,
            *where != '\0' ? "." : "", key, trivy_type_name(v));
    if ((*out = trivy_clean_dup(json_string_value(v))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    return 0;
}

/* obj[key] as a line number; absent or null is 0 */
static int
trivy_line(unsigned *out, const json_t *obj, const char *where, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    json_int_t n;

    *out = 0;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return paved_error_set(PAVED_EINVAL,
                               "Trivy report: %s.%s is %s, not a whole number",
                               where, key, trivy_type_name(v));
    n = json_integer_value(v);
    if (n < 0 || n > INT_MAX)
        return paved_error_set(PAVED_EINVAL,
                               "Trivy report: %s.%s %lld is not a line number",
                               where, key, (long long)n);
    *out = (unsigned)n;
    return 0;
}

/* Is s short and made of letters, so that quoting it in an error cannot
 * leak anything? */
static bool
trivy_quotable(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++)
        if (i >= 16 ||
            !((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')))
            return false;
    return true;
}

/* obj.Severity: UNKNOWN LOW MEDIUM HIGH CRITICAL; absent is UNKNOWN */
static int
trivy_severity(enum paved_severity *out, const json_t *obj, const char *where)
{
    const json_t *v = json_object_get(obj, "Severity");
    const char *s;

    *out = PAVED_SEV_INFO;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return paved_error_set(PAVED_EINVAL,
                               "Trivy report: %s.Severity is %s, not a string",
                               where, trivy_type_name(v));
    s = json_string_value(v);
    /* a gate that guessed here could pass what it should fail: refuse */
    if (paved_severity_parse(out, s) < 0)
        return paved_error_set(PAVED_EINVAL,
                               "Trivy report: %s.Severity%s%s%s is not one of "
                               "UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL",
                               where, trivy_quotable(s) ? " \"" : "",
                               trivy_quotable(s) ? s : "",
                               trivy_quotable(s) ? "\"" : "");
    return 0;
}

/* obj[key] as an array, or NULL when absent or null */
static int
trivy_array(const json_t **out, const json_t *obj, const char *where,
            const char *key)
{
    const json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return paved_error_set(
            PAVED_EINVAL, "Trivy report: %s%s%s is %s, not an array", where,
            *where != '\0' ? "." : "", key, trivy_type_name(v));
    *out = v;
    return 0;
}

static int
trivy_object(const json_t *v, const char *where)
{
    if (!json_is_object(v))
        return paved_error_set(PAVED_EINVAL,
                               "Trivy report: %s is %s, not an object", where,
                               trivy_type_name(v));
    return 0;
}

/* ---- entries ----------------------------------------------------------- */

static int
trivy_vuln(struct paved_trivy_vuln *tv, const json_t *v, const char *where,
           const char *target, const char *class)
{
    int error;

    memset(tv, 0, sizeof(*tv));
    if ((error = trivy_object(v, where)) < 0 ||
        (error = trivy_str(&tv->tv_id, v, where, "VulnerabilityID", true)) <
            0 ||
        (error = trivy_str(&tv->tv_pkg, v, where, "PkgName", true)) < 0 ||
        (error = trivy_str(&tv->tv_installed, v, where, "InstalledVersion",
                           false)) < 0 ||
        (error = trivy_str(&tv->tv_fixed, v, where, "FixedVersion", false)) <
            0 ||
        (error = trivy_str(&tv->tv_title, v, where, "Title", false)) < 0 ||
        (error = trivy_severity(&tv->tv_severity, v, where)) < 0)
        return error;
    if (tv->tv_installed == NULL && (tv->tv_installed = strdup("")) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    if ((tv->tv_target = strdup(target)) == NULL ||
        (class != NULL && (tv->tv_class = strdup(class)) == NULL))
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    return 0;
}

/* 1 and *tm filled for a failed check, 0 for one that passed or was
 * excepted (Trivy lists those with --include-non-failures) */
static int
trivy_misconf(struct paved_trivy_misconf *tm, const json_t *v,
              const char *where, const char *target)
{
    const json_t *cause;
    char *status = NULL;
    char cwhere[TRIVY_WHERE_MAX + 16];
    int error;

    memset(tm, 0, sizeof(*tm));
    if ((error = trivy_object(v, where)) < 0 ||
        (error = trivy_str(&status, v, where, "Status", false)) < 0)
        goto out;
    /* no Status is taken as a failure: a gate does not guess "passed" */
    if (status != NULL && strcmp(status, "FAIL") != 0) {
        error = 0;
        goto out;
    }
    if ((error = trivy_str(&tm->tm_id, v, where, "ID", false)) < 0 ||
        (tm->tm_id == NULL &&
         (error = trivy_str(&tm->tm_id, v, where, "AVDID", false)) < 0))
        goto out;
    if (tm->tm_id == NULL) {
        error = paved_error_set(
            PAVED_EINVAL, "Trivy report: %s has neither ID nor AVDID", where);
        goto out;
    }
    if ((error = trivy_str(&tm->tm_title, v, where, "Title", false)) < 0 ||
        (error = trivy_str(&tm->tm_message, v, where, "Message", false)) < 0 ||
        (error = trivy_str(&tm->tm_resolution, v, where, "Resolution", false)) <
            0 ||
        (error = trivy_severity(&tm->tm_severity, v, where)) < 0)
        goto out;
    if (tm->tm_title == NULL && (tm->tm_title = strdup(tm->tm_id)) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    cause = json_object_get(v, "CauseMetadata");
    if (cause != NULL && !json_is_null(cause)) {
        snprintf(cwhere, sizeof(cwhere), "%s.CauseMetadata", where);
        if ((error = trivy_object(cause, cwhere)) < 0 ||
            (error = trivy_line(&tm->tm_line, cause, cwhere, "StartLine")) <
                0 ||
            (error = trivy_line(&tm->tm_end_line, cause, cwhere, "EndLine")) <
                0)
            goto out;
    }
    if ((tm->tm_target = strdup(target)) == NULL) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    error = 1;
out:
    free(status);
    return error;
}

static int
trivy_secret(struct paved_trivy_secret *ts, const json_t *v, const char *where,
             const char *target)
{
    int error;

    /* Match and Code are never read: they hold the secret's line and its
     * neighbours, which may hold more secrets */
    memset(ts, 0, sizeof(*ts));
    if ((error = trivy_object(v, where)) < 0 ||
        (error = trivy_str(&ts->ts_rule, v, where, "RuleID", true)) < 0 ||
        (error = trivy_str(&ts->ts_title, v, where, "Title", false)) < 0 ||
        (error = trivy_severity(&ts->ts_severity, v, where)) < 0 ||
        (error = trivy_line(&ts->ts_line, v, where, "StartLine")) < 0 ||
        (error = trivy_line(&ts->ts_end_line, v, where, "EndLine")) < 0)
        return error;
    if ((ts->ts_title == NULL &&
         (ts->ts_title = strdup(ts->ts_rule)) == NULL) ||
        (ts->ts_target = strdup(target)) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    return 0;
}

/* ---- the report -------------------------------------------------------- */

static void
trivy_vuln_free(struct paved_trivy_vuln *tv)
{
    free(tv->tv_target);
    free(tv->tv_class);
    free(tv->tv_id);
    free(tv->tv_pkg);
    free(tv->tv_installed);
    free(tv->tv_fixed);
    free(tv->tv_title);
}

static void
trivy_misconf_free(struct paved_trivy_misconf *tm)
{
    free(tm->tm_target);
    free(tm->tm_id);
    free(tm->tm_title);
    free(tm->tm_message);
    free(tm->tm_resolution);
}

static void
trivy_secret_free(struct paved_trivy_secret *ts)
{
    free(ts->ts_target);
    free(ts->ts_rule);
    free(ts->ts_title);
}

void
paved_trivy_free(struct paved_trivy_report *r)
{
    size_t i;

    if (r == NULL)
        return;
    for (i = 0; i < r->tr_nvulns; i++)
        trivy_vuln_free(&r->tr_vulns[i]);
    for (i = 0; i < r->tr_nmisconfs; i++)
        trivy_misconf_free(&r->tr_misconfs[i]);
    for (i = 0; i < r->tr_nsecrets; i++)
        trivy_secret_free(&r->tr_secrets[i]);
    free(r->tr_vulns);
    free(r->tr_misconfs);
    free(r->tr_secrets);
    free(r->tr_artifact);
    free(r->tr_artifact_type);
    free(r);
}

/* jansson's message without its "near '...'" part, which quotes the
 * report and could quote a secret in it */
static int
trivy_json_error(const json_error_t *jerr)
{
    char text[JSON_ERROR_TEXT_LENGTH];
    char *near;

    memcpy(text, jerr->text, sizeof(text));
    text[sizeof(text) - 1] = '\0';
    if ((near = strstr(text, " near ")) != NULL)
        *near = '\0';
    if (json_error_code(jerr) == json_error_duplicate_key)
        return paved_error_set(PAVED_EINVAL,
                               "Trivy report: a key appears twice in one "
                               "object at line %d, column %d: Trivy never "
                               "writes that, so the report was edited or is "
                               "not Trivy's",
                               jerr->line, jerr->column);
    return paved_error_set(PAVED_EINVAL,
                           "Trivy report is not JSON: %s at line %d, "
                           "column %d",
                           text, jerr->line, jerr->column);
}

/* The first pass: every Result an object, every list an array, and the
 * sizes within the cap, before anything is allocated. */
static int
trivy_count(const json_t *results, size_t *nv, size_t *nm, size_t *ns)
{
    const json_t *res, *a;
    char where[TRIVY_WHERE_MAX];
    size_t i, total;
    int error;

    *nv = *nm = *ns = 0;
    total = json_array_size(results);
    if (total > TRIVY_MAX_ENTRIES)
        goto toobig;
    json_array_foreach(results, i, res)
    {
        snprintf(where, sizeof(where), "Results[%zu]", i);
        if ((error = trivy_object(res, where)) < 0)
            return error;
        if ((error = trivy_array(&a, res, where, "Vulnerabilities")) < 0)
            return error;
        *nv += json_array_size(a);
        total += json_array_size(a);
        if ((error = trivy_array(&a, res, where, "Misconfigurations")) < 0)
            return error;
        *nm += json_array_size(a);
        total += json_array_size(a);
        if ((error = trivy_array(&a, res, where, "Secrets")) < 0)
            return error;
        *ns += json_array_size(a);
        total += json_array_size(a);
        if (total > TRIVY_MAX_ENTRIES)
            goto toobig;
    }
    return 0;
toobig:
    return paved_error_set(PAVED_ETOOBIG,
                           "Trivy report: more than %d results, "
                           "vulnerabilities, misconfigurations and secrets",
                           TRIVY_MAX_ENTRIES);
}

static int
trivy_result(struct paved_trivy_report *r, const json_t *res, size_t ri)
{
    const json_t *a, *v;
    char *target = NULL, *class = NULL;
    char rwhere[TRIVY_WHERE_MAX], where[TRIVY_WHERE_MAX];
    size_t i;
    int error;

    snprintf(rwhere, sizeof(rwhere), "Results[%zu]", ri);
    if ((error = trivy_str(&target, res, rwhere, "Target", true)) < 0 ||
        (error = trivy_str(&class, res, rwhere, "Class", false)) < 0)
        goto out;
    /* the arrays' types were checked by trivy_count */
    (void)trivy_array(&a, res, rwhere, "Vulnerabilities");
    json_array_foreach(a, i, v)
    {
        struct paved_trivy_vuln *tv = &r->tr_vulns[r->tr_nvulns];

        snprintf(where, sizeof(where), "Results[%zu].Vulnerabilities[%zu]", ri,
                 i);
        error = trivy_vuln(tv, v, where, target, class);
        if (error < 0) {
            trivy_vuln_free(tv);
            goto out;
        }
        r->tr_by_severity[tv->tv_severity]++;
        r->tr_nvulns++;
    }
    (void)trivy_array(&a, res, rwhere, "Misconfigurations");
    json_array_foreach(a, i, v)
    {
        struct paved_trivy_misconf *tm = &r->tr_misconfs[r->tr_nmisconfs];

        snprintf(where, sizeof(where), "Results[%zu].Misconfigurations[%zu]",
                 ri, i);
        error = trivy_misconf(tm, v, where, target);
        if (error <= 0)
            trivy_misconf_free(tm);
        if (error < 0)
            goto out;
        if (error > 0)
            r->tr_nmisconfs++;
    }
    (void)trivy_array(&a, res, rwhere, "Secrets");
    json_array_foreach(a, i, v)
    {
        struct paved_trivy_secret *ts = &r->tr_secrets[r->tr_nsecrets];

        snprintf(where, sizeof(where), "Results[%zu].Secrets[%zu]", ri, i);
        error = trivy_secret(ts, v, where, target);
        if (error < 0) {
            trivy_secret_free(ts);
            goto out;
        }
        r->tr_nsecrets++;
    }
    error = 0;
out:
    free(target);
    free(class);
    return error;
}

int
paved_trivy_parse(struct paved_trivy_report **out, const char *json, size_t len)
{
    struct paved_trivy_report *r = NULL;
    const json_t *schema, *results, *res;
    json_error_t jerr;
    json_t *root = NULL;
    size_t i, nv, nm, ns;
    int error;

    *out = NULL;
    if (len > TRIVY_MAX_BYTES)
        return paved_error_set(PAVED_ETOOBIG,
                               "Trivy report: %zu bytes, more than the %zu "
                               "MiB read",
                               len, TRIVY_MAX_BYTES >> 20);
    if (json == NULL && len > 0)
        return paved_error_set(PAVED_EINVAL, "Trivy report: no data");
    /* Go never writes a key twice; two Severity keys would be read
     * differently by different tools, so refuse rather than pick one */
    root = json_loadb(json != NULL ? json : "", len, JSON_REJECT_DUPLICATES,
                      &jerr);
    if (root == NULL) {
        error = trivy_json_error(&jerr);
        goto out;
    }
    if (!json_is_object(root)) {
        error = paved_error_set(PAVED_EINVAL,
                                "not a Trivy report: the top level is %s, not "
                                "an object",
                                trivy_type_name(root));
        goto out;
    }
    schema = json_object_get(root, "SchemaVersion");
    if (schema == NULL) {
        error = paved_error_set(PAVED_EINVAL,
                                "not a Trivy report: no SchemaVersion (run "
                                "trivy with --format json)");
        goto out;
    }
    if (!json_is_integer(schema)) {
        error = paved_error_set(PAVED_EINVAL,
                                "not a Trivy report: SchemaVersion is %s, "
                                "not the whole number 2",
                                trivy_type_name(schema));
        goto out;
    }
    if (json_integer_value(schema) != 2) {
        error = paved_error_set(PAVED_EINVAL,
                                "Trivy report: SchemaVersion %lld; only "
                                "schema 2 (Trivy 0.20 and later) is read",
                                (long long)json_integer_value(schema));
        goto out;
    }
    if ((error = trivy_array(&results, root, "", "Results")) < 0 ||
        (error = trivy_count(results, &nv, &nm, &ns)) < 0)
        goto out;
    if ((r = calloc(1, sizeof(*r))) == NULL ||
        (nv > 0 && (r->tr_vulns = calloc(nv, sizeof(*r->tr_vulns))) == NULL) ||
        (nm > 0 &&
         (r->tr_misconfs = calloc(nm, sizeof(*r->tr_misconfs))) == NULL) ||
        (ns > 0 &&
         (r->tr_secrets = calloc(ns, sizeof(*r->tr_secrets))) == NULL)) {
        error = paved_error_set(PAVED_ENOMEM, "out of memory");
        goto out;
    }
    if ((error = trivy_str(&r->tr_artifact, root, "", "ArtifactName", false)) <
            0 ||
        (error = trivy_str(&r->tr_artifact_type, root, "", "ArtifactType",
                           false)) < 0)
        goto out;
    json_array_foreach(results, i, res)
    {
        if ((error = trivy_result(r, res, i)) < 0)
            goto out;
    }
    if (r->tr_nmisconfs == 0) {
        free(r->tr_misconfs); /* all passed: keep the "NULL when none" */
        r->tr_misconfs = NULL;
    }
    *out = r;
    r = NULL;
    error = 0;
out:
    paved_trivy_free(r); /* non-NULL only on failure */
    json_decref(root);
    return error;
}

/* ---- the gate ---------------------------------------------------------- */

int
paved_trivy_gate_parse(unsigned *mask, const char *list)
{
    const char *p = list, *end, *comma;
    enum paved_severity sev;
    unsigned m = 0;
    char word[16];
    size_t n;

    if (list == NULL || list[strspn(list, " \t")] == '\0')
        return paved_error_set(PAVED_EINVAL,
                               "empty severity list: name at least one of "
                               "UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL");
    for (;;) {
        p += strspn(p, " \t");
        comma = strchr(p, ',');
        end = comma != NULL ? comma : p + strlen(p);
        while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        n = (size_t)(end - p);
        if (n == 0)
            return paved_error_set(PAVED_EINVAL,
                                   "severity list \"%.64s\": an empty entry "
                                   "between commas",
                                   list);
        if (n < sizeof(word)) {
            memcpy(word, p, n);
            word[n] = '\0';
        }
        if (n >= sizeof(word) || paved_severity_parse(&sev, word) < 0)
            return paved_error_set(PAVED_EINVAL,
                                   "severity list: \"%.*s\" is not a "
                                   "severity: use UNKNOWN, LOW, MEDIUM, HIGH "
                                   "or CRITICAL",
                                   (int)(n > 32 ? 32 : n), p);
        m |= 1u << sev;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    *mask = m;
    return 0;
}

static int
trivy_vuln_finding(struct paved_findings *fs, const struct paved_trivy_vuln *v,
                   const char *path)
{
    const bool os = v->tv_class == NULL || strcmp(v->tv_class, "os-pkgs") == 0;
    const char *sp = v->tv_installed[0] != '\0' ? " " : "";
    const char *sev = paved_severity_name(v->tv_severity);

    if (v->tv_fixed == NULL)
        return paved_findings_add(
            fs, "trivy.vulnerability", v->tv_severity, path, 0, 0,
            "%s%s%s: %s (%s), no fix yet: %s, or add a policy exception "
            "with a reason and an expiry date",
            v->tv_pkg, sp, v->tv_installed, v->tv_id, sev,
            os ? "remove the package or change the base image"
               : "drop or replace the dependency");
    if (os)
        return paved_findings_add(
            fs, "trivy.vulnerability", v->tv_severity, path, 0, 0,
            "%s%s%s: %s (%s), fixed in %s: upgrade the "
            "package or the base image",
            v->tv_pkg, sp, v->tv_installed, v->tv_id, sev, v->tv_fixed);
    return paved_findings_add(fs, "trivy.vulnerability", v->tv_severity, path,
                              0, 0,
                              "%s%s%s: %s (%s), fixed in %s: upgrade the "
                              "dependency (%s)",
                              v->tv_pkg, sp, v->tv_installed, v->tv_id, sev,
                              v->tv_fixed, v->tv_target);
}

int
paved_trivy_findings(struct paved_findings *fs,
                     const struct paved_trivy_report *r,
                     const struct paved_trivy_gate *g, const char *report_path)
{
    static const struct paved_trivy_gate gate_default = {
        PAVED_TRIVY_GATE_DEFAULT, false};
    const char *path;
    size_t i;
    int error, failed = 0;

    if (g == NULL)
        g = &gate_default;
    path = report_path != NULL      ? report_path
           : r->tr_artifact != NULL ? r->tr_artifact
                                    : "";
    for (i = 0; i < r->tr_nvulns; i++) {
        const struct paved_trivy_vuln *v = &r->tr_vulns[i];

        if ((g->tg_severities & (1u << v->tv_severity)) == 0 ||
            (g->tg_ignore_unfixed && v->tv_fixed == NULL))
            continue;
        if ((error = trivy_vuln_finding(fs, v, path)) < 0)
            return error;
        failed++;
    }
    for (i = 0; i < r->tr_nmisconfs; i++) {
        const struct paved_trivy_misconf *m = &r->tr_misconfs[i];

        error = paved_findings_add(
            fs, "trivy.misconfiguration", m->tm_severity, m->tm_target,
            m->tm_line, m->tm_end_line, "%s (%s)%s%s: %s", m->tm_title,
            m->tm_id, m->tm_message != NULL ? ": " : "",
            m->tm_message != NULL ? m->tm_message : "",
            m->tm_resolution != NULL ? m->tm_resolution
                                     : "fix what Trivy's rule asks for");
        if (error < 0)
            return error;
    }
    for (i = 0; i < r->tr_nsecrets; i++) {
        const struct paved_trivy_secret *s = &r->tr_secrets[i];

        error = paved_findings_add(
            fs, "trivy.secret", s->ts_severity, s->ts_target, s->ts_line,
            s->ts_end_line,
            "%s (Trivy rule %s): revoke and rotate it, remove it from the "
            "file and its history, and load it from a secret store at run "
            "time",
            s->ts_title, s->ts_rule);
        if (error < 0)
            return error;
    }
    return failed;
}
