/* Tests for src/guard/trivy.c: the four real Trivy reports of
 * ../shared/corpus/trivy (exact counts and fields), hand-written reports
 * and per-rule pass/fail fixtures in tests/fixtures/guardrails/trivy, the
 * gate and its messages, and hostile input: not JSON, not Trivy, wrong
 * types, duplicated keys, \u escapes, huge sizes, and a secret's text that
 * must never survive parsing. Reads files only; writes nothing. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "guard/guard_int.h"
#include "paved/error.h"
#include "paved/trivy.h"

#define FIXTURES "tests/fixtures/guardrails/trivy"
#define SEVBIT(s) (1u << (s))
#define GATE_ALL 0x1fu

/* the dummy token in the corpus' secrets.json.golden (Code line 5) */
#define CORPUS_TOKEN "ghp_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
/* built from pieces so that secret scanners do not flag this file */
#define AWS_KEY                                                                \
    "AKIA"                                                                     \
    "IOSFODNN7"                                                                \
    "EXAMPLE"

/* ---- helpers ----------------------------------------------------------- */

/* dir/rel (dir from env, else fallback), NUL-terminated; NULL if absent */
static char *
load_file(const char *env, const char *fallback, const char *rel, size_t *len)
{
    const char *dir = getenv(env);
    char path[4096];
    char *buf;
    long size;
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", dir != NULL ? dir : fallback, rel);
    if ((fp = fopen(path, "rb")) == NULL)
        return NULL;
    fseek(fp, 0, SEEK_END);
    size = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    buf = malloc((size_t)size + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, fp), (size_t)size);
    fclose(fp);
    buf[size] = '\0';
    *len = (size_t)size;
    return buf;
}

static struct paved_trivy_report *
parse_file(const char *env, const char *fallback, const char *rel)
{
    struct paved_trivy_report *r = NULL;
    size_t len;
    char *json = load_file(env, fallback, rel, &len);
    int rc;

    if (json == NULL)
        fail_msg("cannot read %s under $%s", rel, env);
    rc = paved_trivy_parse(&r, json, len);
    if (rc != 0)
        fail_msg("%s: %s", rel, paved_error_last());
    free(json);
    assert_non_null(r);
    return r;
}

static struct paved_trivy_report *
parse_corpus(const char *name)
{
    char rel[512];

    snprintf(rel, sizeof(rel), "corpus/trivy/%s", name);
    return parse_file("PAVED_SHARED_DIR", "../shared", rel);
}

static struct paved_trivy_report *
parse_fixture(const char *name)
{
    char rel[512];

    snprintf(rel, sizeof(rel), FIXTURES "/%s", name);
    return parse_file("PAVED_SOURCE_DIR", ".", rel);
}

static struct paved_trivy_report *
parse_str(const char *json)
{
    struct paved_trivy_report *r = NULL;
    int rc = paved_trivy_parse(&r, json, strlen(json));

    if (rc != 0)
        fail_msg("parse: %s: %s", paved_error_name(rc), paved_error_last());
    assert_non_null(r);
    return r;
}

/* Refused with code, and the message holds want. */
static void
expect_refused(const char *json, size_t len, int code, const char *want)
{
    struct paved_trivy_report *r = (void *)1;
    int rc;

    paved_error_clear();
    rc = paved_trivy_parse(&r, json, len);
    if (rc != code)
        fail_msg("%.80s: got %s (%s), want %s", json, paved_error_name(rc),
                 paved_error_last(), paved_error_name(code));
    assert_null(r);
    if (want != NULL && strstr(paved_error_last(), want) == NULL)
        fail_msg("%.80s: message \"%s\" lacks \"%s\"", json, paved_error_last(),
                 want);
}

static void
expect_refused_str(const char *json, int code, const char *want)
{
    expect_refused(json, strlen(json), code, want);
}

static bool
has(const char *s, const char *needle)
{
    return s != NULL && strstr(s, needle) != NULL;
}

/* Does any string the parsed report holds contain needle? */
static bool
report_contains(const struct paved_trivy_report *r, const char *needle)
{
    size_t i;

    if (has(r->tr_artifact, needle) || has(r->tr_artifact_type, needle))
        return true;
    for (i = 0; i < r->tr_nvulns; i++) {
        const struct paved_trivy_vuln *v = &r->tr_vulns[i];
        if (has(v->tv_target, needle) || has(v->tv_class, needle) ||
            has(v->tv_id, needle) || has(v->tv_pkg, needle) ||
            has(v->tv_installed, needle) || has(v->tv_fixed, needle) ||
            has(v->tv_title, needle))
            return true;
    }
    for (i = 0; i < r->tr_nmisconfs; i++) {
        const struct paved_trivy_misconf *m = &r->tr_misconfs[i];
        if (has(m->tm_target, needle) || has(m->tm_id, needle) ||
            has(m->tm_title, needle) || has(m->tm_message, needle) ||
            has(m->tm_resolution, needle))
            return true;
    }
    for (i = 0; i < r->tr_nsecrets; i++) {
        const struct paved_trivy_secret *s = &r->tr_secrets[i];
        if (has(s->ts_target, needle) || has(s->ts_rule, needle) ||
            has(s->ts_title, needle))
            return true;
    }
    return false;
}

static bool
findings_contain(const struct paved_findings *fs, const char *needle)
{
    size_t i;

    for (i = 0; i < fs->fs_n; i++) {
        const struct paved_finding *f = &fs->fs_items[i];
        if (has(f->f_rule, needle) || has(f->f_path, needle) ||
            has(f->f_message, needle) || has(f->f_fingerprint, needle))
            return true;
    }
    return false;
}

static size_t
count_rule(const struct paved_findings *fs, const char *rule)
{
    size_t i, n = 0;

    for (i = 0; i < fs->fs_n; i++)
        n += strcmp(fs->fs_items[i].f_rule, rule) == 0;
    return n;
}

/* {"SchemaVersion":2,"Results":[<results>]} */
static struct paved_trivy_report *
parse_results(const char *results)
{
    char json[4096];

    snprintf(json, sizeof(json), "{\"SchemaVersion\":2,\"Results\":[%s]}",
             results);
    return parse_str(json);
}

static void
expect_results_refused(const char *results, const char *want)
{
    char json[4096];

    snprintf(json, sizeof(json), "{\"SchemaVersion\":2,\"Results\":[%s]}",
             results);
    expect_refused_str(json, PAVED_EINVAL, want);
}

/* one vulnerability whose fields are given as JSON members */
#define VULN(members)                                                          \
    "{\"Target\":\"img (debian 12.5)\",\"Class\":\"os-pkgs\","                 \
    "\"Vulnerabilities\":[{" members "}]}"
#define VULN_OK                                                                \
    "\"VulnerabilityID\":\"CVE-2024-1\",\"PkgName\":\"p\","                    \
    "\"InstalledVersion\":\"1\""

/* ---- the catalog ------------------------------------------------------- */

static void
test_rules(void **state)
{
    const struct paved_rule *t;
    size_t n, i;

    (void)state;
    t = guard_trivy_rules(&n);
    assert_int_equal(n, 3);
    assert_string_equal(t[0].r_id, "trivy.vulnerability");
    assert_int_equal(t[0].r_severity, PAVED_SEV_HIGH);
    assert_string_equal(t[1].r_id, "trivy.misconfiguration");
    assert_int_equal(t[1].r_severity, PAVED_SEV_MEDIUM);
    assert_string_equal(t[2].r_id, "trivy.secret");
    assert_int_equal(t[2].r_severity, PAVED_SEV_CRITICAL);
    for (i = 0; i < n; i++) {
        assert_ptr_equal(paved_guard_rule(t[i].r_id), &t[i]);
        assert_true(strlen(t[i].r_summary) > 20);
        assert_null(strchr(t[i].r_summary, '\n'));
    }
}

/* ---- the real reports -------------------------------------------------- */

struct corpus_want {
    const char *cw_file;
    const char *cw_type;
    size_t cw_nvulns, cw_nmisconfs, cw_nsecrets;
    size_t cw_by[5]; /* info low medium high critical */
};

static const struct corpus_want corpus_wants[] = {
    {"debian-buster.json.golden", "container_image", 2, 0, 0, {0, 1, 0, 0, 1}},
    {"sl-micro-rancher5.4.json.golden",
     "container_image",
     0,
     0,
     0,
     {0, 0, 0, 0, 0}},
    {"dockerfile.json.golden", "repository", 0, 1, 0, {0, 0, 0, 0, 0}},
    {"secrets.json.golden", "repository", 0, 0, 2, {0, 0, 0, 0, 0}},
};
#define NCORPUS (sizeof(corpus_wants) / sizeof(corpus_wants[0]))

/* every file of the corpus directory parses and has the counts above; a
 * file added there without a row here fails */
static void
test_corpus_counts(void **state)
{
    const char *shared = getenv("PAVED_SHARED_DIR");
    char dir[4096];
    struct dirent *de;
    size_t seen = 0, i, k;
    DIR *d;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/corpus/trivy",
             shared != NULL ? shared : "../shared");
    if ((d = opendir(dir)) == NULL)
        fail_msg("cannot open %s (set PAVED_SHARED_DIR)", dir);
    while ((de = readdir(d)) != NULL) {
        const struct corpus_want *w = NULL;
        struct paved_trivy_report *r;
        size_t nlen = strlen(de->d_name);

        if (nlen < 7 || strcmp(de->d_name + nlen - 7, ".golden") != 0)
            continue;
        for (i = 0; i < NCORPUS; i++)
            if (strcmp(corpus_wants[i].cw_file, de->d_name) == 0)
                w = &corpus_wants[i];
        if (w == NULL)
            fail_msg("%s: no expected counts in corpus_wants[]", de->d_name);
        r = parse_corpus(de->d_name);
        assert_string_equal(r->tr_artifact_type, w->cw_type);
        assert_non_null(r->tr_artifact);
        assert_int_equal(r->tr_nvulns, w->cw_nvulns);
        assert_int_equal(r->tr_nmisconfs, w->cw_nmisconfs);
        assert_int_equal(r->tr_nsecrets, w->cw_nsecrets);
        for (k = 0; k < 5; k++)
            if (r->tr_by_severity[k] != w->cw_by[k])
                fail_msg(
                    "%s: %zu %s, want %zu", de->d_name, r->tr_by_severity[k],
                    paved_severity_name((enum paved_severity)k), w->cw_by[k]);
        paved_trivy_free(r);
        seen++;
    }
    closedir(d);
    assert_int_equal(seen, NCORPUS);
}

static void
test_debian_buster(void **state)
{
    struct paved_trivy_gate g = {PAVED_TRIVY_GATE_DEFAULT, false};
    struct paved_findings fs = {0};
    struct paved_trivy_report *r;
    const struct paved_trivy_vuln *v;

    (void)state;
    r = parse_corpus("debian-buster.json.golden");
    assert_string_equal(r->tr_artifact,
                        "testdata/fixtures/images/debian-buster.tar.gz");
    assert_int_equal(r->tr_nvulns, 2);
    v = &r->tr_vulns[0];
    assert_string_equal(
        v->tv_target,
        "testdata/fixtures/images/debian-buster.tar.gz (debian 10.1)");
    assert_string_equal(v->tv_class, "os-pkgs");
    assert_string_equal(v->tv_id, "CVE-2019-18276");
    assert_string_equal(v->tv_pkg, "bash");
    assert_string_equal(v->tv_installed, "5.0-4");
    assert_null(v->tv_fixed); /* Status "affected": no FixedVersion */
    assert_string_equal(v->tv_title, "bash: when effective UID is not equal "
                                     "to its real UID the saved UID is not "
                                     "dropped");
    assert_int_equal(v->tv_severity, PAVED_SEV_LOW);
    v = &r->tr_vulns[1];
    assert_string_equal(v->tv_id, "CVE-2019-18224");
    assert_string_equal(v->tv_pkg, "libidn2-0");
    assert_string_equal(v->tv_installed, "2.0.5-1");
    assert_string_equal(v->tv_fixed, "2.0.5-1+deb10u1");
    assert_int_equal(v->tv_severity, PAVED_SEV_CRITICAL);

    /* the default gate: the critical one fails, the low one does not */
    assert_int_equal(paved_trivy_findings(&fs, r, NULL, "debian.json"), 1);
    assert_int_equal(fs.fs_n, 1);
    assert_string_equal(fs.fs_items[0].f_rule, "trivy.vulnerability");
    assert_int_equal(fs.fs_items[0].f_severity, PAVED_SEV_CRITICAL);
    assert_string_equal(fs.fs_items[0].f_path, "debian.json");
    assert_int_equal(fs.fs_items[0].f_line, 0);
    assert_int_equal(fs.fs_items[0].f_end_line, 0);
    assert_null(fs.fs_items[0].f_fingerprint);
    assert_string_equal(fs.fs_items[0].f_message,
                        "libidn2-0 2.0.5-1: CVE-2019-18224 (critical), fixed "
                        "in 2.0.5-1+deb10u1: upgrade the package or the base "
                        "image");
    paved_findings_dispose(&fs);

    /* every severity: the unfixed low one too */
    g.tg_severities = GATE_ALL;
    assert_int_equal(paved_trivy_findings(&fs, r, &g, "debian.json"), 2);
    assert_int_equal(fs.fs_n, 2);
    assert_string_equal(fs.fs_items[0].f_message,
                        "bash 5.0-4: CVE-2019-18276 (low), no fix yet: remove "
                        "the package or change the base image, or add a "
                        "policy exception with a reason and an expiry date");
    assert_int_equal(fs.fs_items[0].f_severity, PAVED_SEV_LOW);
    paved_findings_dispose(&fs);

    /* ignoring unfixed ones leaves the critical one */
    g.tg_ignore_unfixed = true;
    assert_int_equal(paved_trivy_findings(&fs, r, &g, "debian.json"), 1);
    assert_true(has(fs.fs_items[0].f_message, "CVE-2019-18224"));
    paved_findings_dispose(&fs);

    /* only LOW, unfixed ignored: nothing */
    g.tg_severities = SEVBIT(PAVED_SEV_LOW);
    assert_int_equal(paved_trivy_findings(&fs, r, &g, "debian.json"), 0);
    assert_int_equal(fs.fs_n, 0);
    g.tg_ignore_unfixed = false;
    assert_int_equal(paved_trivy_findings(&fs, r, &g, "debian.json"), 1);
    assert_true(has(fs.fs_items[0].f_message, "CVE-2019-18276"));
    paved_findings_dispose(&fs);

    /* MEDIUM only: neither */
    g.tg_severities = SEVBIT(PAVED_SEV_MEDIUM);
    assert_int_equal(paved_trivy_findings(&fs, r, &g, "debian.json"), 0);

    /* no report path: the image name */
    assert_int_equal(paved_trivy_findings(&fs, r, NULL, NULL), 1);
    assert_string_equal(fs.fs_items[0].f_path,
                        "testdata/fixtures/images/debian-buster.tar.gz");
    paved_findings_dispose(&fs);
    paved_trivy_free(r);
}

static void
test_sl_micro_clean(void **state)
{
    struct paved_findings fs = {0};
    struct paved_trivy_report *r;

    (void)state;
    r = parse_corpus("sl-micro-rancher5.4.json.golden");
    assert_string_equal(
        r->tr_artifact,
        "testdata/fixtures/images/sle-micro-rancher-5.4_ndb.tar.gz");
    assert_int_equal(r->tr_nvulns, 0);
    assert_null(r->tr_vulns);
    assert_null(r->tr_misconfs);
    assert_null(r->tr_secrets);
    assert_int_equal(paved_trivy_findings(&fs, r, NULL, "x"), 0);
    assert_int_equal(fs.fs_n, 0);
    paved_trivy_free(r);
}

static void
test_dockerfile_misconf(void **state)
{
    struct paved_findings fs = {0};
    struct paved_trivy_report *r;
    const struct paved_trivy_misconf *m;

    (void)state;
    r = parse_corpus("dockerfile.json.golden");
    assert_string_equal(r->tr_artifact, "testdata/fixtures/repo/dockerfile");
    assert_int_equal(r->tr_nmisconfs, 1);
    m = &r->tr_misconfs[0];
    assert_string_equal(m->tm_target, "Dockerfile");
    assert_string_equal(m->tm_id, "DS-0002");
    assert_string_equal(m->tm_title, "Image user should not be 'root'");
    assert_string_equal(m->tm_message, "Specify at least 1 USER command in "
                                       "Dockerfile with non-root user as "
                                       "argument");
    /* written as \u003c ... \u003e by Go */
    assert_string_equal(m->tm_resolution,
                        "Add 'USER <non root user name>' line to the "
                        "Dockerfile");
    assert_int_equal(m->tm_severity, PAVED_SEV_HIGH);
    /* this CauseMetadata has no StartLine/EndLine: the file as a whole */
    assert_int_equal(m->tm_line, 0);
    assert_int_equal(m->tm_end_line, 0);

    assert_int_equal(paved_trivy_findings(&fs, r, NULL, "trivy.json"), 0);
    assert_int_equal(fs.fs_n, 1);
    assert_string_equal(fs.fs_items[0].f_rule, "trivy.misconfiguration");
    assert_int_equal(fs.fs_items[0].f_severity, PAVED_SEV_HIGH);
    assert_string_equal(fs.fs_items[0].f_path, "Dockerfile");
    assert_int_equal(fs.fs_items[0].f_line, 0);
    assert_string_equal(fs.fs_items[0].f_message,
                        "Image user should not be 'root' (DS-0002): Specify "
                        "at least 1 USER command in Dockerfile with non-root "
                        "user as argument: Add 'USER <non root user name>' "
                        "line to the Dockerfile");
    paved_findings_dispose(&fs);
    paved_trivy_free(r);
}

static void
test_secrets_never_kept(void **state)
{
    struct paved_findings fs = {0};
    struct paved_trivy_report *r;
    size_t len;
    char *raw;

    (void)state;
    /* the input does hold the token, so the checks below can fail */
    raw = load_file("PAVED_SHARED_DIR", "../shared",
                    "corpus/trivy/secrets.json.golden", &len);
    assert_non_null(raw);
    assert_non_null(strstr(raw, CORPUS_TOKEN));
    free(raw);

    r = parse_corpus("secrets.json.golden");
    assert_int_equal(r->tr_nsecrets, 2);
    assert_string_equal(r->tr_secrets[0].ts_target, "deploy.sh");
    assert_string_equal(r->tr_secrets[0].ts_rule, "aws-access-key-id");
    assert_string_equal(r->tr_secrets[0].ts_title, "AWS Access Key ID");
    assert_int_equal(r->tr_secrets[0].ts_severity, PAVED_SEV_CRITICAL);
    assert_int_equal(r->tr_secrets[0].ts_line, 3);
    assert_int_equal(r->tr_secrets[0].ts_end_line, 3);
    assert_string_equal(r->tr_secrets[1].ts_target, "deploy.sh");
    assert_string_equal(r->tr_secrets[1].ts_rule, "mysecret");
    assert_string_equal(r->tr_secrets[1].ts_title, "My Secret");
    assert_int_equal(r->tr_secrets[1].ts_severity, PAVED_SEV_HIGH);
    assert_int_equal(r->tr_secrets[1].ts_line, 7);
    assert_int_equal(r->tr_secrets[1].ts_end_line, 7);

    assert_int_equal(paved_trivy_findings(&fs, r, NULL, "trivy.json"), 0);
    assert_int_equal(fs.fs_n, 2);
    assert_string_equal(fs.fs_items[0].f_rule, "trivy.secret");
    assert_string_equal(fs.fs_items[0].f_path, "deploy.sh");
    assert_int_equal(fs.fs_items[0].f_line, 3);
    assert_int_equal(fs.fs_items[0].f_end_line, 3);
    assert_int_equal(fs.fs_items[0].f_severity, PAVED_SEV_CRITICAL);
    assert_string_equal(fs.fs_items[0].f_message,
                        "AWS Access Key ID (Trivy rule aws-access-key-id): "
                        "revoke and rotate it, remove it from the file and "
                        "its history, and load it from a secret store at run "
                        "time");
    assert_int_equal(fs.fs_items[1].f_line, 7);
    assert_int_equal(fs.fs_items[1].f_severity, PAVED_SEV_HIGH);

    /* neither the token (a Code line), nor Match, nor any Code line */
    assert_false(report_contains(r, CORPUS_TOKEN));
    assert_false(findings_contain(&fs, CORPUS_TOKEN));
    assert_false(report_contains(r, "ghp_"));
    assert_false(findings_contain(&fs, "ghp_"));
    assert_false(report_contains(r, "AWS_ACCESS_KEY_ID"));
    assert_false(findings_contain(&fs, "AWS_ACCESS_KEY_ID"));
    assert_false(report_contains(r, "****"));
    assert_false(findings_contain(&fs, "****"));
    assert_false(report_contains(r, "#!/bin/sh"));
    paved_findings_dispose(&fs);
    paved_trivy_free(r);
}

/* Trivy masks Match; a report from a tool that does not, or an edited one,
 * must still not carry the secret anywhere, nor in an error message. */
static void
test_unmasked_secret(void **state)
{
    struct paved_findings fs = {0};
    struct paved_trivy_report *r;

    (void)state;
    r = parse_results(
        "{\"Target\":\".env\",\"Class\":\"secret\",\"Secrets\":[{"
        "\"RuleID\":\"aws-access-key-id\",\"Category\":\"AWS\","
        "\"Severity\":\"CRITICAL\",\"Title\":\"AWS Access Key ID\","
        "\"StartLine\":2,\"EndLine\":2,\"Code\":{\"Lines\":[{\"Number\":2,"
        "\"Content\":\"AWS_ACCESS_KEY_ID=" AWS_KEY "\",\"IsCause\":true}]},"
        "\"Match\":\"AWS_ACCESS_KEY_ID=" AWS_KEY "\",\"Offset\":19}]}");
    assert_int_equal(r->tr_nsecrets, 1);
    assert_int_equal(r->tr_secrets[0].ts_line, 2);
    assert_int_equal(paved_trivy_findings(&fs, r, NULL, "r.json"), 0);
    assert_int_equal(fs.fs_n, 1);
    assert_false(report_contains(r, AWS_KEY));
    assert_false(findings_contain(&fs, AWS_KEY));
    assert_false(findings_contain(&fs, "AKIA"));
    paved_findings_dispose(&fs);
    paved_trivy_free(r);

    /* jansson quotes the input near a syntax error: that part is cut */
    expect_refused_str("{\"SchemaVersion\":2,\"Results\":[{\"Target\":\"a\","
                       "\"Secrets\":[{\"Match\":\"" AWS_KEY "\x01\"}]}]}",
                       PAVED_EINVAL, "not JSON");
    assert_null(strstr(paved_error_last(), "AKIA"));
    expect_refused_str("{\"SchemaVersion\":2,\"Results\":[{\"Target\":\"a\","
                       "\"Secrets\":[{\"Match\":\"" AWS_KEY,
                       PAVED_EINVAL, "not JSON");
    assert_null(strstr(paved_error_last(), "AKIA"));
    expect_refused_str("{\"SchemaVersion\":2,\"Results\":[{\"Target\":\"a\","
                       "\"Secrets\":[{\"Match\":" AWS_KEY "}]}]}",
                       PAVED_EINVAL, "not JSON: invalid token at line 1");
    assert_null(strstr(paved_error_last(), "AKIA"));
    /* nor in a severity word */
    expect_results_refused("{\"Target\":\"a\",\"Secrets\":[{\"RuleID\":\"x\","
                           "\"Severity\":\"" AWS_KEY "\"}]}",
                           "Results[0].Secrets[0].Severity is not one of");
    assert_null(strstr(paved_error_last(), "AKIA"));
}

/* ---- hand-written reports ---------------------------------------------- */

static void
test_alpine39_two_critical_four_medium(void **state)
{
    struct paved_findings fs = {0};
    struct paved_trivy_report *r;
    size_t i;

    (void)state;
    r = parse_fixture("reports/alpine-39.json");
    assert_int_equal(r->tr_nvulns, 6);
    assert_int_equal(r->tr_by_severity[PAVED_SEV_CRITICAL], 2);
    assert_int_equal(r->tr_by_severity[PAVED_SEV_HIGH], 0);
    assert_int_equal(r->tr_by_severity[PAVED_SEV_MEDIUM], 4);
    assert_int_equal(r->tr_by_severity[PAVED_SEV_LOW], 0);
    assert_int_equal(r->tr_by_severity[PAVED_SEV_INFO], 0);
    for (i = 0; i < r->tr_nvulns; i++)
        assert_non_null(r->tr_vulns[i].tv_fixed);
    /* the musl entries have no Title */
    assert_string_equal(r->tr_vulns[4].tv_pkg, "musl");
    assert_null(r->tr_vulns[4].tv_title);
    assert_string_equal(r->tr_vulns[0].tv_title,
                        "openssl: information disclosure in fork()");

    assert_int_equal(paved_trivy_findings(&fs, r, NULL, "alpine.json"), 2);
    assert_int_equal(fs.fs_n, 2);
    assert_string_equal(fs.fs_items[0].f_message,
                        "musl 1.1.20-r4: CVE-2019-14697 (critical), fixed in "
                        "1.1.20-r5: upgrade the package or the base image");
    assert_string_equal(fs.fs_items[1].f_message,
                        "musl-utils 1.1.20-r4: CVE-2019-14697 (critical), "
                        "fixed in 1.1.20-r5: upgrade the package or the base "
                        "image");
    paved_findings_dispose(&fs);

    /* all fixed: ignoring unfixed changes nothing */
    {
        struct paved_trivy_gate g = {
            SEVBIT(PAVED_SEV_MEDIUM) | SEVBIT(PAVED_SEV_CRITICAL), true};
        assert_int_equal(paved_trivy_findings(&fs, r, &g, "alpine.json"), 6);
    }
    paved_findings_dispose(&fs);
    paved_trivy_free(r);
}

static void
test_lang_pkgs(void **state)
{
    struct paved_findings fs = {0};
    struct paved_trivy_report *r;

    (void)state;
    r = parse_fixture("reports/fluentd-gems.json");
    assert_int_equal(r->tr_nvulns, 4);
    assert_int_equal(r->tr_by_severity[PAVED_SEV_CRITICAL], 1);
    assert_int_equal(r->tr_by_severity[PAVED_SEV_HIGH], 2);
    assert_int_equal(r->tr_by_severity[PAVED_SEV_MEDIUM], 1);
    assert_string_equal(r->tr_vulns[0].tv_class, "os-pkgs");
    assert_string_equal(r->tr_vulns[1].tv_class, "lang-pkgs");
    assert_string_equal(r->tr_vulns[1].tv_target, "Ruby");
    assert_string_equal(r->tr_vulns[1].tv_fixed, "6.0.3.1, 5.2.4.3");
    assert_string_equal(r->tr_vulns[2].tv_target, "Node.js");
    assert_string_equal(r->tr_vulns[3].tv_pkg, "path-parse");

    assert_int_equal(paved_trivy_findings(&fs, r, NULL, "img"), 3);
    assert_int_equal(fs.fs_n, 3);
    assert_string_equal(fs.fs_items[1].f_message,
                        "activesupport 6.0.2.1: CVE-2020-8165 (high), fixed "
                        "in 6.0.3.1, 5.2.4.3: upgrade the dependency (Ruby)");
    assert_string_equal(fs.fs_items[2].f_message,
                        "ansi-regex 3.0.0: GHSA-93q8-gq69-wqmw (high), fixed "
                        "in 5.0.1, 6.0.1, 4.1.1, 3.0.1: upgrade the "
                        "dependency (Node.js)");
    paved_findings_dispose(&fs);
    paved_trivy_free(r);
}

static void
test_no_results_key(void **state)
{
    struct paved_findings fs = {0};
    struct paved_trivy_report *r;

    (void)state;
    r = parse_fixture("reports/alpine-39-skip.json");
    assert_string_equal(r->tr_artifact,
                        "testdata/fixtures/images/alpine-39.tar.gz");
    assert_int_equal(r->tr_nvulns + r->tr_nmisconfs + r->tr_nsecrets, 0);
    assert_int_equal(paved_trivy_findings(&fs, r, NULL, "x"), 0);
    assert_int_equal(fs.fs_n, 0);
    paved_trivy_free(r);

    /* null where Go would write nil slices: the same */
    r = parse_str("{\"SchemaVersion\":2,\"Results\":null}");
    assert_int_equal(r->tr_nvulns, 0);
    assert_null(r->tr_artifact);
    paved_trivy_free(r);
    r = parse_results("{\"Target\":\"t\",\"Vulnerabilities\":null,"
                      "\"Misconfigurations\":null,\"Secrets\":null}");
    assert_int_equal(r->tr_nvulns + r->tr_nmisconfs + r->tr_nsecrets, 0);
    paved_trivy_free(r);
}

static void
test_misconf_lines_and_statuses(void **state)
{
    struct paved_findings fs = {0};
    struct paved_trivy_report *r;

    (void)state;
    r = parse_fixture("reports/k8s-misconfigs.json");
    /* PASS (KSV-0001) and EXCEPTION (KSV-0012) are not kept */
    assert_int_equal(r->tr_nmisconfs, 3);
    assert_string_equal(r->tr_misconfs[0].tm_id, "KSV-0011");
    assert_int_equal(r->tr_misconfs[0].tm_severity, PAVED_SEV_LOW);
    assert_int_equal(r->tr_misconfs[0].tm_line, 19);
    assert_int_equal(r->tr_misconfs[0].tm_end_line, 32);
    assert_string_equal(r->tr_misconfs[1].tm_id, "KSV-0014");
    assert_string_equal(r->tr_misconfs[1].tm_target, "deploy/api.yaml");
    assert_int_equal(r->tr_misconfs[1].tm_severity, PAVED_SEV_HIGH);
    assert_string_equal(r->tr_misconfs[2].tm_id, "DS001"); /* ID over AVDID */
    assert_string_equal(r->tr_misconfs[2].tm_target, "Dockerfile");
    assert_int_equal(r->tr_misconfs[2].tm_line, 1);
    assert_int_equal(r->tr_misconfs[2].tm_end_line, 1);
    assert_false(report_contains(r, "KSV-0001"));
    assert_false(report_contains(r, "KSV-0012"));
    assert_false(report_contains(r, "image: registry")); /* a Code line */

    assert_int_equal(paved_trivy_findings(&fs, r, NULL, "x"), 0);
    assert_int_equal(fs.fs_n, 3);
    assert_int_equal(count_rule(&fs, "trivy.misconfiguration"), 3);
    assert_string_equal(fs.fs_items[1].f_path, "deploy/api.yaml");
    assert_int_equal(fs.fs_items[1].f_line, 19);
    assert_int_equal(fs.fs_items[1].f_end_line, 32);
    assert_int_equal(fs.fs_items[1].f_severity, PAVED_SEV_HIGH);
    assert_string_equal(fs.fs_items[1].f_message,
                        "Root file system is not read-only (KSV-0014): "
                        "Container 'api' of Deployment 'api' should set "
                        "'securityContext.readOnlyRootFilesystem' to true: "
                        "Change 'containers[].securityContext."
                        "readOnlyRootFilesystem' to 'true'.");
    paved_findings_dispose(&fs);
    paved_trivy_free(r);

    /* AVDID when there is no ID; no Status is a failure; Title falls back
     * to the ID; no Message nor Resolution */
    r = parse_results("{\"Target\":\"Dockerfile\",\"Misconfigurations\":[{"
                      "\"AVDID\":\"AVD-DS-0002\",\"Severity\":\"HIGH\"}]}");
    assert_int_equal(r->tr_nmisconfs, 1);
    assert_string_equal(r->tr_misconfs[0].tm_id, "AVD-DS-0002");
    assert_string_equal(r->tr_misconfs[0].tm_title, "AVD-DS-0002");
    assert_null(r->tr_misconfs[0].tm_message);
    assert_null(r->tr_misconfs[0].tm_resolution);
    assert_int_equal(paved_trivy_findings(&fs, r, NULL, "x"), 0);
    assert_string_equal(fs.fs_items[0].f_message,
                        "AVD-DS-0002 (AVD-DS-0002): fix what Trivy's rule "
                        "asks for");
    paved_findings_dispose(&fs);
    paved_trivy_free(r);

    /* all passed: no array kept */
    r = parse_results("{\"Target\":\"Dockerfile\",\"Misconfigurations\":[{"
                      "\"ID\":\"DS-0002\",\"Status\":\"PASS\"}]}");
    assert_int_equal(r->tr_nmisconfs, 0);
    assert_null(r->tr_misconfs);
    paved_trivy_free(r);
}

/* Each rule has a report that passes and one that fails with exactly that
 * finding; the expectations are here because JSON has no comments. */
struct rule_fixture {
    const char *rf_rule;
    const char *rf_path; /* NULL: the report path given */
    unsigned rf_line, rf_end_line;
    enum paved_severity rf_severity;
    const char *rf_in_message;
};

static const struct rule_fixture rule_fixtures[] = {
    {"trivy.vulnerability", NULL, 0, 0, PAVED_SEV_HIGH,
     "libc6 2.36-9+deb12u4: CVE-2024-2961 (high), fixed in 2.36-9+deb12u7"},
    {"trivy.misconfiguration", "deploy/worker.yaml", 24, 41, PAVED_SEV_HIGH,
     "Privileged container (KSV-0017)"},
    {"trivy.secret", "config/slack.env", 4, 4, PAVED_SEV_MEDIUM,
     "Slack Webhook (Trivy rule slack-web-hook)"},
};

static void
test_rule_fixtures(void **state)
{
    const struct paved_rule *t;
    size_t n, i, k;

    (void)state;
    t = guard_trivy_rules(&n);
    for (i = 0; i < n; i++) {
        const struct rule_fixture *rf = NULL;
        struct paved_findings fs = {0};
        struct paved_trivy_report *r;
        char rel[256];

        for (k = 0; k < sizeof(rule_fixtures) / sizeof(*rule_fixtures); k++)
            if (strcmp(rule_fixtures[k].rf_rule, t[i].r_id) == 0)
                rf = &rule_fixtures[k];
        if (rf == NULL)
            fail_msg("%s: no row in rule_fixtures[]", t[i].r_id);

        snprintf(rel, sizeof(rel), "%s/pass.json", t[i].r_id);
        r = parse_fixture(rel);
        assert_true(paved_trivy_findings(&fs, r, NULL, rel) >= 0);
        if (count_rule(&fs, t[i].r_id) != 0)
            fail_msg("%s: %s", rel, fs.fs_items[0].f_message);
        paved_findings_dispose(&fs);
        paved_trivy_free(r);

        snprintf(rel, sizeof(rel), "%s/fail.json", t[i].r_id);
        r = parse_fixture(rel);
        assert_true(paved_trivy_findings(&fs, r, NULL, rel) >= 0);
        assert_int_equal(fs.fs_n, 1);
        assert_string_equal(fs.fs_items[0].f_rule, t[i].r_id);
        assert_string_equal(fs.fs_items[0].f_path,
                            rf->rf_path != NULL ? rf->rf_path : rel);
        assert_int_equal(fs.fs_items[0].f_line, rf->rf_line);
        assert_int_equal(fs.fs_items[0].f_end_line, rf->rf_end_line);
        assert_int_equal(fs.fs_items[0].f_severity, rf->rf_severity);
        if (strstr(fs.fs_items[0].f_message, rf->rf_in_message) == NULL)
            fail_msg("%s: \"%s\" lacks \"%s\"", rel, fs.fs_items[0].f_message,
                     rf->rf_in_message);
        paved_findings_dispose(&fs);
        paved_trivy_free(r);
    }
}

/* many Results, built here: order and counts hold across them */
static void
test_many_results(void **state)
{
    static const char *const sevs[] = {"CRITICAL", "HIGH", "MEDIUM", "LOW",
                                       "UNKNOWN"};
    struct paved_findings fs = {0};
    struct paved_trivy_report *r = NULL;
    char *json = NULL;
    size_t len = 0, i, j;
    FILE *fp;

    (void)state;
    fp = open_memstream(&json, &len);
    assert_non_null(fp);
    fputs("{\"SchemaVersion\":2,\"ArtifactName\":\"many\",\"Results\":[", fp);
    for (i = 0; i < 400; i++) {
        fprintf(fp,
                "%s{\"Target\":\"usr/lib/app%zu/package.json\","
                "\"Class\":\"lang-pkgs\",\"Type\":\"node-pkg\","
                "\"Vulnerabilities\":[",
                i ? "," : "", i);
        for (j = 0; j < 5; j++)
            fprintf(fp,
                    "%s{\"VulnerabilityID\":\"CVE-2024-%zu\","
                    "\"PkgName\":\"pkg%zu\",\"InstalledVersion\":\"1.0.%zu\","
                    "%s\"Severity\":\"%s\"}",
                    j ? "," : "", i * 5 + j, j, i,
                    j % 2 == 0 ? "\"FixedVersion\":\"2.0.0\"," : "", sevs[j]);
        fputs("]", fp);
        if (i % 100 == 0)
            fprintf(fp, ",\"Secrets\":[{\"RuleID\":\"private-key\","
                        "\"Severity\":\"HIGH\",\"StartLine\":1,"
                        "\"EndLine\":28}]");
        fputs("}", fp);
    }
    fputs("]}", fp);
    fclose(fp);
    assert_int_equal(paved_trivy_parse(&r, json, len), 0);
    free(json);
    assert_int_equal(r->tr_nvulns, 2000);
    assert_int_equal(r->tr_nsecrets, 4);
    for (i = 0; i < 5; i++)
        assert_int_equal(r->tr_by_severity[i], 400);
    assert_string_equal(r->tr_vulns[1234].tv_id, "CVE-2024-1234");
    assert_string_equal(r->tr_vulns[1234].tv_target,
                        "usr/lib/app246/package.json");
    assert_string_equal(r->tr_secrets[3].ts_target,
                        "usr/lib/app300/package.json");
    assert_string_equal(r->tr_secrets[3].ts_title, "private-key");
    assert_int_equal(r->tr_secrets[3].ts_end_line, 28);

    /* CRITICAL and HIGH: 800; of those the HIGH ones (j = 1) are unfixed */
    assert_int_equal(paved_trivy_findings(&fs, r, NULL, "many.json"), 800);
    assert_int_equal(fs.fs_n, 804);
    paved_findings_dispose(&fs);
    {
        struct paved_trivy_gate g = {PAVED_TRIVY_GATE_DEFAULT, true};
        assert_int_equal(paved_trivy_findings(&fs, r, &g, "many.json"), 400);
    }
    paved_findings_dispose(&fs);
    paved_trivy_free(r);
}

/* ---- the gate ---------------------------------------------------------- */

static void
test_gate_parse(void **state)
{
    unsigned m = 0;

    (void)state;
    assert_int_equal(paved_trivy_gate_parse(&m, "CRITICAL,HIGH"), 0);
    assert_int_equal(m, PAVED_TRIVY_GATE_DEFAULT);
    assert_int_equal(paved_trivy_gate_parse(&m, "critical"), 0);
    assert_int_equal(m, SEVBIT(PAVED_SEV_CRITICAL));
    assert_int_equal(paved_trivy_gate_parse(&m, " high , Medium,LOW "), 0);
    assert_int_equal(m, SEVBIT(PAVED_SEV_HIGH) | SEVBIT(PAVED_SEV_MEDIUM) |
                            SEVBIT(PAVED_SEV_LOW));
    assert_int_equal(
        paved_trivy_gate_parse(&m, "UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL"), 0);
    assert_int_equal(m, GATE_ALL);
    assert_int_equal(paved_trivy_gate_parse(&m, "HIGH,HIGH"), 0);
    assert_int_equal(m, SEVBIT(PAVED_SEV_HIGH));

    /* errors name the bad word and leave the mask alone */
    m = 12345;
    assert_int_equal(paved_trivy_gate_parse(&m, "CRITICAL,HIHG"), PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "\"HIHG\" is not a severity"));
    assert_int_equal(m, 12345);
    assert_int_equal(paved_trivy_gate_parse(&m, "CRITICAL;HIGH"), PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "\"CRITICAL;HIGH\""));
    assert_int_equal(paved_trivy_gate_parse(&m, "HIGH,,LOW"), PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "empty entry"));
    assert_int_equal(paved_trivy_gate_parse(&m, "HIGH,"), PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "empty entry"));
    assert_int_equal(paved_trivy_gate_parse(&m, ""), PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "empty severity list"));
    assert_int_equal(paved_trivy_gate_parse(&m, "  "), PAVED_EINVAL);
    assert_int_equal(paved_trivy_gate_parse(&m, NULL), PAVED_EINVAL);
    assert_int_equal(paved_trivy_gate_parse(&m, "HIGH,CRITICALCRITICALCRIT"),
                     PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "\"CRITICALCRITICALCRIT\""));
    assert_int_equal(paved_trivy_gate_parse(&m, "HIGH, crit ical"),
                     PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "\"crit ical\""));
    assert_int_equal(m, 12345);
}

static void
test_gate_messages(void **state)
{
    struct paved_findings fs = {0};
    struct paved_trivy_report *r;

    (void)state;
    /* no InstalledVersion (Go omits it when empty); a lang-pkgs one with
     * no fix; a Result with no Class */
    r = parse_results(VULN("\"VulnerabilityID\":\"CVE-2024-7\",\"PkgName\":"
                           "\"zlib1g\","
                           "\"FixedVersion\":\"1:1.2.13\",\"Severity\":"
                           "\"HIGH\"") ","
                                       "{\"Target\":\"go.sum\",\"Class\":"
                                       "\"lang-pkgs\",\"Vulnerabilities\":"
                                       "[{\"VulnerabilityID\":\"GO-2024-1\","
                                       "\"PkgName\":\"golang.org/x/net\","
                                       "\"InstalledVersion\":\"v0.1.0\","
                                       "\"Severity\":\"CRITICAL\"}]},"
                                       "{\"Target\":\"t\",\"Vulnerabilities\":["
                                       "{\"VulnerabilityID\":\"X-1\","
                                       "\"PkgName\":\"q\",\"InstalledVersion\":"
                                       "\"2\",\"FixedVersion\":\"3\","
                                       "\"Severity\":\"HIGH\"}]}");
    assert_string_equal(r->tr_vulns[0].tv_installed, "");
    assert_null(r->tr_vulns[2].tv_class);
    assert_int_equal(paved_trivy_findings(&fs, r, NULL, "r.json"), 3);
    assert_string_equal(fs.fs_items[0].f_message,
                        "zlib1g: CVE-2024-7 (high), fixed in 1:1.2.13: "
                        "upgrade the package or the base image");
    assert_string_equal(fs.fs_items[1].f_message,
                        "golang.org/x/net v0.1.0: GO-2024-1 (critical), no "
                        "fix yet: drop or replace the dependency, or add a "
                        "policy exception with a reason and an expiry date");
    assert_string_equal(fs.fs_items[2].f_message,
                        "q 2: X-1 (high), fixed in 3: upgrade the package or "
                        "the base image");
    paved_findings_dispose(&fs);
    paved_trivy_free(r);

    /* UNKNOWN is info, and "" FixedVersion is no fix */
    r = parse_results(VULN(VULN_OK ",\"FixedVersion\":\"\","
                                   "\"Severity\":\"UNKNOWN\""));
    assert_int_equal(r->tr_by_severity[PAVED_SEV_INFO], 1);
    assert_null(r->tr_vulns[0].tv_fixed);
    paved_trivy_free(r);
    /* no Severity at all: info, passes the default gate */
    r = parse_results(VULN(VULN_OK));
    assert_int_equal(r->tr_vulns[0].tv_severity, PAVED_SEV_INFO);
    assert_int_equal(paved_trivy_findings(&fs, r, NULL, "r.json"), 0);
    assert_int_equal(fs.fs_n, 0);
    paved_trivy_free(r);
}

/* ---- hostile input ----------------------------------------------------- */

static void
test_not_json(void **state)
{
    (void)state;
    expect_refused_str("", PAVED_EINVAL, "not JSON");
    expect_refused(NULL, 0, PAVED_EINVAL, "not JSON");
    expect_refused_str("{", PAVED_EINVAL, "not JSON");
    expect_refused_str("SchemaVersion: 2", PAVED_EINVAL, "not JSON");
    expect_refused_str("{\"SchemaVersion\":2,}", PAVED_EINVAL, "not JSON");
    expect_refused_str("{\"SchemaVersion\":2} {}", PAVED_EINVAL, "not JSON");
    expect_refused_str("{\"SchemaVersion\":2,\"ArtifactName\":\"\xff\"}",
                       PAVED_EINVAL, "not JSON");
    expect_refused_str("\"SchemaVersion\"", PAVED_EINVAL, "not JSON");
    /* a NUL inside the length */
    expect_refused("{\"SchemaVersion\":2}\0", 20, PAVED_EINVAL, "not JSON");
    /* numbers jansson cannot hold */
    expect_refused_str("{\"SchemaVersion\":99999999999999999999}", PAVED_EINVAL,
                       "not JSON");
    expect_refused_str(
        "{\"SchemaVersion\":2,\"Results\":[{\"Target\":\"t\","
        "\"Secrets\":[{\"RuleID\":\"r\",\"StartLine\":1e400}]}]}",
        PAVED_EINVAL, "not JSON");
    /* the message says where */
    expect_refused_str("{\n\"SchemaVersion\": 2,\n\"Results\": [,]\n}",
                       PAVED_EINVAL, "line 3");
}

static void
test_not_trivy(void **state)
{
    (void)state;
    expect_refused_str("[1,2]", PAVED_EINVAL,
                       "not a Trivy report: the top level is an array");
    expect_refused_str("{}", PAVED_EINVAL, "no SchemaVersion");
    /* a CycloneDX SBOM, which trivy also writes */
    expect_refused_str("{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.5\"}",
                       PAVED_EINVAL, "no SchemaVersion");
    expect_refused_str("{\"SchemaVersion\":\"2\"}", PAVED_EINVAL,
                       "SchemaVersion is a string, not the whole number 2");
    expect_refused_str("{\"SchemaVersion\":2.0}", PAVED_EINVAL,
                       "SchemaVersion is a number with a fraction");
    expect_refused_str("{\"SchemaVersion\":null}", PAVED_EINVAL,
                       "SchemaVersion is null");
    /* Trivy < 0.20 wrote a bare array; a future schema is not guessed */
    expect_refused_str("{\"SchemaVersion\":1}", PAVED_EINVAL,
                       "SchemaVersion 1; only schema 2");
    expect_refused_str("{\"SchemaVersion\":3,\"Results\":[]}", PAVED_EINVAL,
                       "SchemaVersion 3");
    expect_refused_str("{\"SchemaVersion\":2,\"Results\":{}}", PAVED_EINVAL,
                       "Results is an object, not an array");
    expect_refused_str("{\"SchemaVersion\":2,\"ArtifactName\":[]}",
                       PAVED_EINVAL, "ArtifactName is an array, not a string");
}

static void
test_wrong_types(void **state)
{
    (void)state;
    expect_results_refused("1", "Results[0] is a whole number, not an object");
    expect_results_refused("{\"Target\":\"t\"},\"x\"",
                           "Results[1] is a string, not an object");
    expect_results_refused("{\"Vulnerabilities\":[]}",
                           "Results[0].Target is missing");
    expect_results_refused("{\"Target\":7}",
                           "Results[0].Target is a whole number, not a string");
    expect_results_refused("{\"Target\":\"t\",\"Class\":true}",
                           "Results[0].Class is a boolean, not a string");
    expect_results_refused("{\"Target\":\"t\",\"Vulnerabilities\":\"x\"}",
                           "Results[0].Vulnerabilities is a string, not an "
                           "array");
    expect_results_refused("{\"Target\":\"t\",\"Secrets\":{}}",
                           "Results[0].Secrets is an object, not an array");
    expect_results_refused("{\"Target\":\"t\",\"Misconfigurations\":1}",
                           "Results[0].Misconfigurations is a whole number");
    expect_results_refused("{\"Target\":\"t\",\"Vulnerabilities\":[[]]}",
                           "Results[0].Vulnerabilities[0] is an array, not an "
                           "object");
    expect_results_refused(VULN("\"VulnerabilityID\":\"C\",\"PkgName\":5"),
                           "Results[0].Vulnerabilities[0].PkgName is a whole "
                           "number, not a string");
    expect_results_refused(VULN("\"VulnerabilityID\":\"C\""),
                           "Results[0].Vulnerabilities[0].PkgName is missing");
    expect_results_refused(VULN("\"VulnerabilityID\":\"\",\"PkgName\":\"p\""),
                           "Vulnerabilities[0].VulnerabilityID is missing");
    expect_results_refused(VULN(VULN_OK ",\"FixedVersion\":[\"1\"]"),
                           "FixedVersion is an array, not a string");
    expect_results_refused(VULN(VULN_OK ",\"Severity\":\"SEVERE\""),
                           "Vulnerabilities[0].Severity \"SEVERE\" is not "
                           "one of UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL");
    expect_results_refused(VULN(VULN_OK ",\"Severity\":4"),
                           "Severity is a whole number, not a string");
    expect_results_refused(VULN(VULN_OK ",\"Title\":{}"),
                           "Title is an object, not a string");
    /* the error names the entry, not the first one */
    expect_results_refused(
        "{\"Target\":\"t\",\"Vulnerabilities\":[{" VULN_OK "},{" VULN_OK
        ",\"Title\":1.5}]}",
        "Results[0].Vulnerabilities[1].Title is a number with a fraction, not "
        "a string");

    expect_results_refused("{\"Target\":\"t\",\"Misconfigurations\":[{"
                           "\"Status\":\"FAIL\",\"Title\":\"x\"}]}",
                           "Misconfigurations[0] has neither ID nor AVDID");
    expect_results_refused("{\"Target\":\"t\",\"Misconfigurations\":[{"
                           "\"Status\":3}]}",
                           "Misconfigurations[0].Status is a whole number");
    expect_results_refused("{\"Target\":\"t\",\"Misconfigurations\":[{"
                           "\"ID\":\"D\",\"CauseMetadata\":\"x\"}]}",
                           "Misconfigurations[0].CauseMetadata is a string, "
                           "not an object");
    expect_results_refused("{\"Target\":\"t\",\"Misconfigurations\":[{"
                           "\"ID\":\"D\",\"CauseMetadata\":{\"StartLine\":"
                           "\"3\"}}]}",
                           "CauseMetadata.StartLine is a string, not a whole "
                           "number");
    expect_results_refused("{\"Target\":\"t\",\"Secrets\":[{\"Title\":\"x\"}]}",
                           "Results[0].Secrets[0].RuleID is missing");
    expect_results_refused("{\"Target\":\"t\",\"Secrets\":[{\"RuleID\":\"r\","
                           "\"StartLine\":-1}]}",
                           "Secrets[0].StartLine -1 is not a line number");
    expect_results_refused("{\"Target\":\"t\",\"Secrets\":[{\"RuleID\":\"r\","
                           "\"EndLine\":99999999999}]}",
                           "EndLine 99999999999 is not a line number");
    expect_results_refused("{\"Target\":\"t\",\"Secrets\":[{\"RuleID\":\"r\","
                           "\"StartLine\":2.5}]}",
                           "StartLine is a number with a fraction, not a "
                           "whole number");
}

static void
test_escapes(void **state)
{
    struct paved_trivy_report *r;

    (void)state;
    /* Go's HTML-safe escaping, other BMP characters, a surrogate pair */
    r = parse_results(
        VULN("\"VulnerabilityID\":\"CVE-1\",\"PkgName\":\"a\\u0026b\","
             "\"InstalledVersion\":\"\\u003c1\\u003e\","
             "\"Title\":\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\/ \\\\\""));
    assert_string_equal(r->tr_vulns[0].tv_pkg, "a&b");
    assert_string_equal(r->tr_vulns[0].tv_installed, "<1>");
    assert_string_equal(r->tr_vulns[0].tv_title,
                        "caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\" / \\");
    paved_trivy_free(r);

    /* what could steer a terminal or hide text becomes '?' */
    r = parse_results(
        VULN("\"VulnerabilityID\":\"CVE-1\",\"PkgName\":\"\\u001b[31mred\","
             "\"InstalledVersion\":\"a\\nb\\tc\\r\\u007f\","
             "\"Title\":\"x\\u0085y\\u202ez\\u2066w\\u00a0\""));
    assert_string_equal(r->tr_vulns[0].tv_pkg, "?[31mred");
    assert_string_equal(r->tr_vulns[0].tv_installed, "a?b?c??");
    /* NEL, RLO, LRI replaced; the no-break space is text and stays */
    assert_string_equal(r->tr_vulns[0].tv_title, "x?y?z?w\xc2\xa0");
    paved_trivy_free(r);

    /* escapes that are not text */
    expect_results_refused(VULN("\"VulnerabilityID\":\"C\\u0000D\","
                                "\"PkgName\":\"p\""),
                           "not JSON");
    expect_results_refused(VULN("\"VulnerabilityID\":\"\\ud800\","
                                "\"PkgName\":\"p\""),
                           "not JSON");
    expect_results_refused(VULN("\"VulnerabilityID\":\"\\udc00\\ud800\","
                                "\"PkgName\":\"p\""),
                           "not JSON");
    expect_results_refused(VULN("\"VulnerabilityID\":\"\\u12g4\","
                                "\"PkgName\":\"p\""),
                           "not JSON");
    expect_results_refused(VULN("\"VulnerabilityID\":\"\\x41\","
                                "\"PkgName\":\"p\""),
                           "not JSON");
    /* an escaped key is the same key */
    expect_refused_str("{\"SchemaVersion\":2,\"Schema\\u0056ersion\":2}",
                       PAVED_EINVAL, "a key appears twice");
    r = parse_str("{\"Schema\\u0056ersion\":2,\"Artifact\\u004eame\":\"x\"}");
    assert_string_equal(r->tr_artifact, "x");
    paved_trivy_free(r);
}

static void
test_duplicate_keys(void **state)
{
    (void)state;
    expect_refused_str("{\"SchemaVersion\":2,\"SchemaVersion\":2}",
                       PAVED_EINVAL, "a key appears twice in one object");
    expect_refused_str("{\"SchemaVersion\":2,\"Results\":[],\"Results\":"
                       "[{\"Target\":\"t\"}]}",
                       PAVED_EINVAL, "a key appears twice");
    /* two Severity keys: one reader would fail the gate, one would not */
    expect_results_refused(VULN(VULN_OK ",\"Severity\":\"CRITICAL\","
                                        "\"Severity\":\"LOW\""),
                           "a key appears twice");
    expect_results_refused(VULN(VULN_OK ",\"FixedVersion\":\"2\","
                                        "\"FixedVersion\":\"3\""),
                           "line 1");
    /* same key in sibling objects is fine */
    {
        struct paved_trivy_report *r =
            parse_results("{\"Target\":\"a\"},{\"Target\":\"b\","
                          "\"Vulnerabilities\":[{" VULN_OK "},{" VULN_OK "}]}");
        assert_int_equal(r->tr_nvulns, 2);
        assert_string_equal(r->tr_vulns[1].tv_target, "b");
        paved_trivy_free(r);
    }
}

static void
test_huge(void **state)
{
    struct paved_trivy_report *r = (void *)1;
    const size_t big = ((size_t)256 << 20) + 1;
    size_t n, i, len;
    char *json, *p;
    void *map;

    (void)state;
    /* past 256 MiB: refused before a byte is read (the pages are never
     * touched, so this costs no memory) */
    map = mmap(NULL, big, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(map != MAP_FAILED);
    assert_int_equal(paved_trivy_parse(&r, map, big), PAVED_ETOOBIG);
    assert_null(r);
    assert_non_null(strstr(paved_error_last(), "256 MiB"));
    munmap(map, big);

    /* 1 Result + 999,999 entries is at the cap: it is read (and the
     * entries, numbers, are wrong); one more is past it */
    for (n = 999999; n <= 1000000; n++) {
        static const char head[] =
            "{\"SchemaVersion\":2,\"Results\":[{\"Target\":\"t\","
            "\"Vulnerabilities\":[";
        len = sizeof(head) - 1 + 2 * n + 8;
        json = malloc(len);
        assert_non_null(json);
        memcpy(json, head, sizeof(head) - 1);
        p = json + sizeof(head) - 1;
        for (i = 0; i < n; i++) {
            *p++ = '0';
            *p++ = ',';
        }
        p[-1] = ']';
        memcpy(p, "}]}", 3);
        p += 3;
        r = (void *)1;
        if (n == 999999)
            assert_int_equal(paved_trivy_parse(&r, json, (size_t)(p - json)),
                             PAVED_EINVAL);
        else
            assert_int_equal(paved_trivy_parse(&r, json, (size_t)(p - json)),
                             PAVED_ETOOBIG);
        assert_null(r);
        free(json);
    }
    assert_non_null(strstr(paved_error_last(), "more than 1000000"));
}

static void
test_free_null(void **state)
{
    (void)state;
    paved_trivy_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_corpus_counts),
        cmocka_unit_test(test_debian_buster),
        cmocka_unit_test(test_sl_micro_clean),
        cmocka_unit_test(test_dockerfile_misconf),
        cmocka_unit_test(test_secrets_never_kept),
        cmocka_unit_test(test_unmasked_secret),
        cmocka_unit_test(test_alpine39_two_critical_four_medium),
        cmocka_unit_test(test_lang_pkgs),
        cmocka_unit_test(test_no_results_key),
        cmocka_unit_test(test_misconf_lines_and_statuses),
        cmocka_unit_test(test_rule_fixtures),
        cmocka_unit_test(test_many_results),
        cmocka_unit_test(test_gate_parse),
        cmocka_unit_test(test_gate_messages),
        cmocka_unit_test(test_not_json),
        cmocka_unit_test(test_not_trivy),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_huge),
        cmocka_unit_test(test_free_null),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
