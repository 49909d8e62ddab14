/* Unit tests for the Kubernetes manifest checker: every rule of its table
 * has a fixture that passes and one that fails at the expected line
 * (tests/fixtures/guardrails/k8s/<rule>/{pass,fail}*.yaml, each with its
 * "# expect: rule:line" comments), realistic files with many findings,
 * the liveness-during-a-migration case word for word, the set-wide rules
 * across files, reading on after a broken document, and the cheap
 * manifest sniffer. */
#include <dirent.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "guard/guard_int.h"
#include "paved/error.h"

#define MAX_EXPECT 32
#define MAX_TEXT 4

struct expect {
    char e_rule[64];
    unsigned e_line;
    bool e_seen;
};

struct fixture {
    struct expect fx_expect[MAX_EXPECT];
    size_t fx_n;
    char fx_text[MAX_TEXT][256]; /* each in some finding's message */
    size_t fx_ntext;
    struct guard_k8s_opts fx_opts;
};

static const char *
fixture_path(char *buf, size_t n, const char *rel)
{
    const char *src = getenv("PAVED_SOURCE_DIR");

    snprintf(buf, n, "%s/tests/fixtures/guardrails/k8s/%s", src ? src : ".",
             rel);
    return buf;
}

static char *
read_all(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long n;

    if (fp == NULL)
        fail_msg("cannot open %s", path);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    assert_true(n >= 0);
    rewind(fp);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

/* "# options: production startup-default=300", "# expect: rule:line" and
 * "# expect-text: words of a message" */
static void
fixture_parse(struct fixture *fx, const char *path, const char *data)
{
    const char *l = data, *p;

    memset(fx, 0, sizeof(*fx));
    fx->fx_opts.ko_startup_default = 60;
    for (; l != NULL && *l != '\0'; l = (p = strchr(l, '\n')) ? p + 1 : NULL) {
        unsigned line;
        char rule[64];
        if (strncmp(l, "# options:", 10) == 0) {
            const char *sd = strstr(l, "startup-default=");
            const char *eol = strchr(l, '\n');
            const char *prod = strstr(l, "production");
            fx->fx_opts.ko_production = prod != NULL && (!eol || prod < eol);
            if (sd != NULL && (!eol || sd < eol))
                fx->fx_opts.ko_startup_default =
                    (unsigned)strtoul(sd + 16, NULL, 10);
        } else if (strncmp(l, "# expect-text: ", 15) == 0) {
            const char *eol = strchr(l, '\n');
            int n = eol != NULL ? (int)(eol - l - 15) : (int)strlen(l + 15);
            if (fx->fx_ntext == MAX_TEXT)
                fail_msg("%s: too many texts", path);
            snprintf(fx->fx_text[fx->fx_ntext++], sizeof(fx->fx_text[0]),
                     "%.*s", n, l + 15);
        } else if (sscanf(l, "# expect: %63[^:]:%u", rule, &line) == 2) {
            if (fx->fx_n == MAX_EXPECT)
                fail_msg("%s: too many expectations", path);
            snprintf(fx->fx_expect[fx->fx_n].e_rule,
                     sizeof(fx->fx_expect[0].e_rule), "%s", rule);
            fx->fx_expect[fx->fx_n++].e_line = line;
        }
    }
}

static void
dump(const struct paved_findings *fs)
{
    size_t i;

    for (i = 0; i < fs->fs_n; i++)
        print_message("  %s:%u %s [%s] %s\n", fs->fs_items[i].f_path,
                      fs->fs_items[i].f_line, fs->fs_items[i].f_rule,
                      paved_severity_name(fs->fs_items[i].f_severity),
                      fs->fs_items[i].f_message);
}

/* Each finding: a rule of the table at its default severity, one line
 * that says what is wrong and how to fix it (a ": " between the two). */
static void
check_finding(const struct paved_finding *f)
{
    const struct paved_rule *r = paved_guard_rule(f->f_rule);

    assert_non_null(r);
    assert_int_equal(f->f_severity, r->r_severity);
    assert_null(strchr(f->f_message, '\n'));
    assert_non_null(strstr(f->f_message, ": "));
    assert_true(strlen(f->f_message) > 40);
    assert_null(f->f_fingerprint);
    assert_true(f->f_end_line == f->f_line);
}

/* Runs one fixture alone and compares its findings with its expectations:
 * the same rules at the same lines, nothing more, nothing less. */
static void
check_fixture(const char *rel, const char *rule, bool fail)
{
    struct paved_findings fs = {0};
    struct fixture fx;
    char path[PATH_MAX];
    guard_k8s *k = NULL;
    size_t len, i, j, own = 0;
    char *data;
    bool bad = false;

    data = read_all(fixture_path(path, sizeof(path), rel), &len);
    fixture_parse(&fx, rel, data);
    assert_true(guard_k8s_looks_like(data, len) ||
                strstr(rel, "not-kubernetes") != NULL);
    assert_int_equal(guard_k8s_new(&k, &fx.fx_opts), 0);
    assert_int_equal(guard_k8s_add(k, &fs, rel, data, len), 0);
    assert_int_equal(guard_k8s_finish(k, &fs), 0);
    for (i = 0; i < fs.fs_n; i++) {
        const struct paved_finding *f = &fs.fs_items[i];
        check_finding(f);
        assert_string_equal(f->f_path, rel);
        for (j = 0; j < fx.fx_n; j++) {
            struct expect *e = &fx.fx_expect[j];
            if (!e->e_seen && e->e_line == f->f_line &&
                strcmp(e->e_rule, f->f_rule) == 0) {
                e->e_seen = true;
                break;
            }
        }
        if (j == fx.fx_n) {
            print_error("%s: unexpected %s:%u\n", rel, f->f_rule, f->f_line);
            bad = true;
        }
    }
    for (j = 0; j < fx.fx_n; j++) {
        if (!fx.fx_expect[j].e_seen) {
            print_error("%s: expected %s:%u, not found\n", rel,
                        fx.fx_expect[j].e_rule, fx.fx_expect[j].e_line);
            bad = true;
        }
        if (rule != NULL && strcmp(fx.fx_expect[j].e_rule, rule) == 0)
            own++;
    }
    for (j = 0; j < fx.fx_ntext; j++) {
        for (i = 0; i < fs.fs_n; i++)
            if (strstr(fs.fs_items[i].f_message, fx.fx_text[j]) != NULL)
                break;
        if (i == fs.fs_n) {
            print_error("%s: no message says \"%s\"\n", rel, fx.fx_text[j]);
            bad = true;
        }
    }
    if (bad)
        dump(&fs);
    assert_false(bad);
    if (rule != NULL && fail)
        assert_true(own > 0); /* a failing fixture fails its own rule */
    if (rule != NULL && !fail)
        assert_int_equal(fs.fs_n, 0); /* a passing one passes everything */
    paved_findings_dispose(&fs);
    guard_k8s_free(k);
    free(data);
}

static bool
has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static bool
has_suffix(const char *s, const char *x)
{
    size_t n = strlen(s), m = strlen(x);

    return n >= m && strcmp(s + n - m, x) == 0;
}

/* Every rule of the table: a directory of fixtures, at least one that
 * passes and one that fails; and no directory for a rule that is not. */
static void
test_every_rule_has_fixtures(void **state)
{
    const struct paved_rule *t;
    char path[PATH_MAX], rel[PATH_MAX];
    struct dirent *de;
    size_t n, i, npass, nfail, nfiles = 0;
    DIR *d;

    (void)state;
    t = guard_k8s_rules(&n);
    assert_true(n >= 19);
    for (i = 0; i < n; i++) {
        npass = nfail = 0;
        if ((d = opendir(fixture_path(path, sizeof(path), t[i].r_id))) == NULL)
            fail_msg("no fixtures for %s (%s)", t[i].r_id, path);
        while ((de = readdir(d)) != NULL) {
            bool pass = has_prefix(de->d_name, "pass");
            bool fail = has_prefix(de->d_name, "fail");
            if (!has_suffix(de->d_name, ".yaml") || (!pass && !fail))
                continue;
            snprintf(rel, sizeof(rel), "%s/%s", t[i].r_id, de->d_name);
            check_fixture(rel, t[i].r_id, fail);
            npass += pass;
            nfail += fail;
            nfiles++;
        }
        closedir(d);
        if (npass == 0 || nfail == 0)
            fail_msg("%s: %zu passing and %zu failing fixtures; each rule "
                     "needs both",
                     t[i].r_id, npass, nfail);
    }
    assert_true(nfiles >= 2 * n);
    d = opendir(fixture_path(path, sizeof(path), ""));
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || strcmp(de->d_name, "realistic") == 0)
            continue;
        if (paved_guard_rule(de->d_name) == NULL)
            fail_msg("fixtures for %s, which is no rule", de->d_name);
    }
    closedir(d);
}

static void
test_realistic(void **state)
{
    char path[PATH_MAX], rel[PATH_MAX];
    struct dirent *de;
    size_t n = 0;
    DIR *d;

    (void)state;
    d = opendir(fixture_path(path, sizeof(path), "realistic"));
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        if (!has_suffix(de->d_name, ".yaml"))
            continue;
        snprintf(rel, sizeof(rel), "realistic/%s", de->d_name);
        check_fixture(rel, NULL, false);
        n++;
    }
    closedir(d);
    assert_true(n >= 5);
}

static void
test_rule_table(void **state)
{
    const struct paved_rule *t, *r;
    size_t n, i, j;
    const char *p;

    (void)state;
    t = guard_k8s_rules(&n);
    for (i = 0; i < n; i++) {
        assert_true(has_prefix(t[i].r_id, "k8s."));
        for (p = t[i].r_id; *p != '\0'; p++)
            assert_true((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                        *p == '.' || *p == '-');
        assert_true(strlen(t[i].r_summary) > 20);
        assert_null(strchr(t[i].r_summary, '\n'));
        assert_true(t[i].r_severity <= PAVED_SEV_CRITICAL);
        for (j = 0; j < i; j++)
            assert_string_not_equal(t[i].r_id, t[j].r_id);
        /* the catalog finds it, with the same entry */
        r = paved_guard_rule(t[i].r_id);
        assert_ptr_equal(r, &t[i]);
    }
    assert_int_equal(paved_guard_rule("k8s.liveness-startup")->r_severity,
                     PAVED_SEV_HIGH);
    assert_int_equal(paved_guard_rule("k8s.privileged")->r_severity,
                     PAVED_SEV_CRITICAL);
    assert_int_equal(paved_guard_rule("k8s.hpa-target")->r_severity,
                     PAVED_SEV_LOW);
    assert_int_equal(paved_guard_rule("k8s.service-selector")->r_severity,
                     PAVED_SEV_LOW);
}

/* Runs data as one file; returns the findings (sorted). */
static void
run(struct paved_findings *fs, const struct guard_k8s_opts *o, const char *data)
{
    guard_k8s *k = NULL;

    memset(fs, 0, sizeof(*fs));
    assert_int_equal(guard_k8s_new(&k, o), 0);
    assert_int_equal(
        guard_k8s_add(k, fs, "deploy/app.yaml", data, strlen(data)), 0);
    assert_int_equal(guard_k8s_finish(k, fs), 0);
    paved_findings_sort(fs);
    guard_k8s_free(k);
}

static const struct paved_finding *
find(const struct paved_findings *fs, const char *rule)
{
    size_t i;

    for (i = 0; i < fs->fs_n; i++)
        if (strcmp(fs->fs_items[i].f_rule, rule) == 0)
            return &fs->fs_items[i];
    return NULL;
}

static size_t
count(const struct paved_findings *fs, const char *rule)
{
    size_t i, n = 0;

    for (i = 0; i < fs->fs_n; i++)
        n += strcmp(fs->fs_items[i].f_rule, rule) == 0;
    return n;
}

/* The outage, word for word: what the team reads on its pull request. */
static void
test_migration_case(void **state)
{
    struct paved_findings fs = {0};
    char path[PATH_MAX];
    guard_k8s *k = NULL;
    char *data;
    size_t len;

    (void)state;
    data = read_all(
        fixture_path(path, sizeof(path), "k8s.liveness-startup/fail.yaml"),
        &len);
    assert_int_equal(guard_k8s_new(&k, NULL), 0);
    assert_int_equal(guard_k8s_add(k, &fs, "deploy/payments.yaml", data, len),
                     0);
    assert_int_equal(guard_k8s_finish(k, &fs), 0);
    assert_int_equal(fs.fs_n, 1);
    assert_string_equal(fs.fs_items[0].f_rule, "k8s.liveness-startup");
    assert_int_equal(fs.fs_items[0].f_severity, PAVED_SEV_HIGH);
    assert_string_equal(fs.fs_items[0].f_path, "deploy/payments.yaml");
    assert_int_equal(fs.fs_items[0].f_line, 51);
    assert_string_equal(
        fs.fs_items[0].f_message,
        "container \"api\": livenessProbe can restart it after 40 s of "
        "startup (initialDelaySeconds 10 + failureThreshold 3 x "
        "periodSeconds 10) but the startup budget is 600 s "
        "(paved.dev/startup-seconds): add a startupProbe with "
        "failureThreshold x periodSeconds >= 600 (e.g. failureThreshold: 60, "
        "periodSeconds: 10)");
    assert_true(guard_k8s_has_probes(k));
    assert_int_equal(guard_k8s_count(k), 4);
    paved_findings_dispose(&fs);
    guard_k8s_free(k);
    free(data);

    /* the same with a startupProbe of 60 x 10 s: clean */
    data = read_all(
        fixture_path(path, sizeof(path), "k8s.liveness-startup/pass.yaml"),
        &len);
    assert_int_equal(guard_k8s_new(&k, NULL), 0);
    assert_int_equal(guard_k8s_add(k, &fs, "deploy/payments.yaml", data, len),
                     0);
    assert_int_equal(guard_k8s_finish(k, &fs), 0);
    if (fs.fs_n != 0)
        dump(&fs);
    assert_int_equal(fs.fs_n, 0);
    paved_findings_dispose(&fs);
    guard_k8s_free(k);
    free(data);
}

#define POD_OK                                                                 \
    "      securityContext:\n"                                                 \
    "        runAsNonRoot: true\n"                                             \
    "      containers:\n"                                                      \
    "        - name: api\n"                                                    \
    "          image: acme/api:1.0.0\n"                                        \
    "          readinessProbe:\n"                                              \
    "            httpGet: {path: /readyz, port: 8080}\n"                       \
    "          resources:\n"                                                   \
    "            requests: {cpu: 100m, memory: 64Mi}\n"                        \
    "            limits: {memory: 128Mi}\n"                                    \
    "          securityContext:\n"                                             \
    "            allowPrivilegeEscalation: false\n"                            \
    "            readOnlyRootFilesystem: true\n"

#define DEPLOY(name, labels)                                                   \
    "apiVersion: apps/v1\n"                                                    \
    "kind: Deployment\n"                                                       \
    "metadata: {name: " name "}\n"                                             \
    "spec:\n"                                                                  \
    "  replicas: 2\n"                                                          \
    "  template:\n"                                                            \
    "    metadata: {labels: " labels "}\n"                                     \
    "    spec:\n" POD_OK

#define DENY                                                                   \
    "apiVersion: networking.k8s.io/v1\n"                                       \
    "kind: NetworkPolicy\n"                                                    \
    "metadata: {name: deny}\n"                                                 \
    "spec: {podSelector: {}, policyTypes: [Ingress]}\n"

/* The set-wide rules see every file added before finish. */
static void
test_across_files(void **state)
{
    static const char a[] = DEPLOY("web", "{app: web, tier: front}");
    static const char b[] = "apiVersion: policy/v1\n"
                            "kind: PodDisruptionBudget\n"
                            "metadata: {name: web}\n"
                            "spec:\n"
                            "  maxUnavailable: 1\n"
                            "  selector: {matchLabels: {app: web}}\n"
                            "---\n" DENY;
    struct paved_findings fs = {0};
    guard_k8s *k = NULL;

    (void)state;
    assert_int_equal(guard_k8s_new(&k, NULL), 0);
    assert_int_equal(guard_k8s_add(k, &fs, "a.yaml", a, strlen(a)), 0);
    assert_int_equal(fs.fs_n, 0); /* nothing set-wide before finish */
    assert_int_equal(guard_k8s_finish(k, &fs), 0);
    assert_int_equal(count(&fs, "k8s.pdb"), 1);
    assert_int_equal(count(&fs, "k8s.network-policy"), 1);
    assert_string_equal(find(&fs, "k8s.pdb")->f_path, "a.yaml");
    assert_int_equal(find(&fs, "k8s.pdb")->f_line, 5); /* replicas: */
    assert_int_equal(find(&fs, "k8s.network-policy")->f_line, 2); /* kind: */
    assert_non_null(strstr(find(&fs, "k8s.pdb")->f_message, "app=web"));
    paved_findings_dispose(&fs);
    guard_k8s_free(k);

    assert_int_equal(guard_k8s_new(&k, NULL), 0);
    assert_int_equal(guard_k8s_add(k, &fs, "a.yaml", a, strlen(a)), 0);
    assert_int_equal(guard_k8s_add(k, &fs, "b.yaml", b, strlen(b)), 0);
    assert_int_equal(guard_k8s_finish(k, &fs), 0);
    if (fs.fs_n != 0)
        dump(&fs);
    assert_int_equal(fs.fs_n, 0);
    assert_int_equal(guard_k8s_count(k), 3);
    paved_findings_dispose(&fs);
    guard_k8s_free(k);
}

/* Namespaces: a default deny in one namespace does not cover another; an
 * object without a namespace goes wherever it is applied. */
static void
test_namespaces(void **state)
{
    static const char y[] = DENY "---\n" DEPLOY(
        "web", "{app: web}") "---\n"
                             "apiVersion: policy/v1\n"
                             "kind: PodDisruptionBudget\n"
                             "metadata: {name: web, namespace: other}\n"
                             "spec: {selector: {matchLabels: {app: web}}}\n";
    static const char z[] = "apiVersion: networking.k8s.io/v1\n"
                            "kind: NetworkPolicy\n"
                            "metadata: {name: deny, namespace: a}\n"
                            "spec: {podSelector: {}}\n"
                            "---\n"
                            "apiVersion: batch/v1\n"
                            "kind: Job\n"
                            "metadata: {name: once, namespace: b}\n"
                            "spec:\n"
                            "  template:\n"
                            "    spec:\n" POD_OK;
    struct paved_findings fs;

    (void)state;
    run(&fs, NULL, y);
    assert_int_equal(fs.fs_n, 0); /* the PDB's namespace is compatible */
    paved_findings_dispose(&fs);
    run(&fs, NULL, z);
    assert_int_equal(fs.fs_n, 1);
    assert_string_equal(fs.fs_items[0].f_rule, "k8s.network-policy");
    assert_int_equal(fs.fs_items[0].f_line, 7);
    assert_non_null(strstr(fs.fs_items[0].f_message, "(b)"));
    paved_findings_dispose(&fs);
}

/* A broken document is a finding at its line; the documents after it are
 * still checked, at their own lines. */
static void
test_reads_on_after_error(void **state)
{
    static const char y[] = DENY                               /* 1-4 */
        "---\n"                                                /* 5 */
        "apiVersion: v1\n"                                     /* 6 */
        "kind: ConfigMap\n"                                    /* 7 */
        "data:\n"                                              /* 8 */
        "  a: \"unclosed\n"                                    /* 9 */
        "  b: 'x\n"                                            /* 10 */
        "---\n"                                                /* 11 */
        "apiVersion: v1\n"                                     /* 12 */
        "kind: Pod\n"                                          /* 13 */
        "metadata: {name: p}\n"                                /* 14 */
        "spec:\n"                                              /* 15 */
        "  hostPID: true\n"                                    /* 16 */
        "  containers: []\n"                                   /* 17 */
        "---\n"                                                /* 18 */
        "a: [b\n"                                              /* 19 */
        "---\n"                                                /* 20 */
        "apiVersion: v1\n"                                     /* 21 */
        "kind: Pod\n"                                          /* 22 */
        "metadata: {name: q}\n"                                /* 23 */
        "spec: {hostNetwork: on}\n";                           /* 24 */
    static const char first_line[] = "apiVersion: v1\n"        /* 1 */
                                     "kind: Pod\n"             /* 2 */
                                     "---\n"                   /* 3 */
                                     "]\n"                     /* 4 */
                                     "---\n"                   /* 5 */
                                     "  ]\n"                   /* 6 */
                                     "---\n"                   /* 7 */
                                     "apiVersion: v1\n"        /* 8 */
                                     "kind: Pod\n"             /* 9 */
                                     "spec: {hostIPC: true}\n" /* 10 */
                                     "--- ]\n";                /* 11 */
    struct paved_findings fs;
    size_t i;

    (void)state;
    /* documents broken on their first line: each round moves on */
    run(&fs, NULL, first_line);
    if (count(&fs, "k8s.yaml-syntax") != 3)
        dump(&fs);
    assert_int_equal(count(&fs, "k8s.yaml-syntax"), 3);
    assert_int_equal(fs.fs_items[0].f_line, 2); /* network-policy */
    assert_int_equal(fs.fs_items[1].f_line, 4);
    assert_int_equal(fs.fs_items[2].f_line, 6);
    assert_int_equal(find(&fs, "k8s.host-namespace")->f_line, 10);
    assert_string_equal(fs.fs_items[fs.fs_n - 1].f_rule, "k8s.yaml-syntax");
    assert_int_equal(fs.fs_items[fs.fs_n - 1].f_line, 11);
    paved_findings_dispose(&fs);

    run(&fs, NULL, y);
    for (i = 0; i < fs.fs_n; i++)
        check_finding(&fs.fs_items[i]);
    if (fs.fs_n != 4)
        dump(&fs);
    assert_int_equal(fs.fs_n, 4);
    /* libyaml notices the open quote at the next "---" */
    assert_string_equal(fs.fs_items[0].f_rule, "k8s.yaml-syntax");
    assert_int_equal(fs.fs_items[0].f_line, 11);
    assert_non_null(strstr(fs.fs_items[0].f_message,
                           "quoted scalar that starts at line 9"));
    assert_string_equal(fs.fs_items[1].f_rule, "k8s.host-namespace");
    assert_int_equal(fs.fs_items[1].f_line, 16);
    assert_string_equal(fs.fs_items[2].f_rule, "k8s.yaml-syntax");
    assert_int_equal(fs.fs_items[2].f_line, 20);
    assert_string_equal(fs.fs_items[3].f_rule, "k8s.host-namespace");
    assert_int_equal(fs.fs_items[3].f_line, 24);
    paved_findings_dispose(&fs);
}

static void
test_limits(void **state)
{
    struct paved_findings fs;
    char *big;
    size_t n = GUARD_YDOC_MAX_BYTES + 100, i;
    guard_k8s *k = NULL;

    (void)state;
    /* a megabyte of broken documents: 50 findings, then the file is
     * given up on, in linear time */
    big = malloc(GUARD_YDOC_MAX_BYTES + 1);
    assert_non_null(big);
    for (i = 0; i + 6 <= GUARD_YDOC_MAX_BYTES; i += 6)
        memcpy(big + i, "---\n]\n", 6);
    big[i] = '\0';
    memset(&fs, 0, sizeof(fs));
    assert_int_equal(guard_k8s_new(&k, NULL), 0);
    assert_int_equal(guard_k8s_add(k, &fs, "broken.yaml", big, i), 0);
    assert_int_equal(fs.fs_n, 50);
    assert_int_equal(fs.fs_items[49].f_line, 100);
    paved_findings_dispose(&fs);
    guard_k8s_free(k);
    free(big);

    /* a file over the cap: one finding for the whole file */
    big = malloc(n + 1);
    assert_non_null(big);
    memcpy(big, DENY, strlen(DENY));
    for (i = strlen(DENY); i < n; i++)
        big[i] = i % 64 == 0 ? '\n' : '#';
    big[n] = '\0';
    memset(&fs, 0, sizeof(fs));
    assert_true(guard_k8s_looks_like(big, n));
    assert_int_equal(guard_k8s_new(&k, NULL), 0);
    assert_int_equal(guard_k8s_add(k, &fs, "huge.yaml", big, n), 0);
    assert_int_equal(fs.fs_n, 1);
    assert_string_equal(fs.fs_items[0].f_rule, "k8s.too-large");
    assert_int_equal(fs.fs_items[0].f_line, 0);
    assert_int_equal(fs.fs_items[0].f_end_line, 0);
    assert_non_null(strstr(fs.fs_items[0].f_message, "1048576"));
    paved_findings_dispose(&fs);
    guard_k8s_free(k);
    free(big);
}

static void
test_templates_and_json(void **state)
{
    static const char helm[] = "apiVersion: apps/v1\n"
                               "kind: Deployment\n"
                               "metadata:\n"
                               "  name: {{ include \"app.fullname\" . }}\n"
                               "spec:\n"
                               "  {{- if not .Values.autoscaling.enabled }}\n"
                               "  replicas: {{ .Values.replicaCount }}\n"
                               "  {{- end }}\n";
    static const char json[] =
        "{\"apiVersion\": \"v1\", \"kind\": \"Pod\",\n"
        " \"metadata\": {\"name\": \"j\"},\n"
        " \"spec\": {\"hostPID\": true, \"containers\": []}}\n";
    struct paved_findings fs;

    (void)state;
    run(&fs, NULL, helm);
    assert_int_equal(fs.fs_n, 1);
    assert_string_equal(fs.fs_items[0].f_rule, "k8s.yaml-syntax");
    assert_non_null(strstr(fs.fs_items[0].f_message, "helm template"));
    paved_findings_dispose(&fs);
    assert_true(guard_k8s_looks_like(json, strlen(json)));
    run(&fs, NULL, json);
    assert_int_equal(count(&fs, "k8s.host-namespace"), 1);
    assert_int_equal(find(&fs, "k8s.host-namespace")->f_line, 3);
    paved_findings_dispose(&fs);
}

/* Fine points of the rules that the fixtures do not spell out. */
static void
test_rule_details(void **state)
{
    static const char sidecar[] =
        DENY "---\n"
             "apiVersion: v1\n"
             "kind: Pod\n"
             "metadata: {name: p, annotations: "
             "{paved.dev/startup-seconds: \"30\"}}\n"
             "spec:\n"
             "  securityContext: {runAsNonRoot: true, runAsUser: 0}\n"
             "  containers:\n"
             "    - image: acme/api:1.0.0\n"
             "      readinessProbe: ~\n"
             "      livenessProbe: {tcpSocket: {port: 80}}\n"
             "      resources: {limits: {cpu: 1, memory: 1Gi}}\n"
             "      securityContext:\n"
             "        allowPrivilegeEscalation: \"false\"\n"
             "        readOnlyRootFilesystem: TRUE\n";
    static const char prod[] =
        DENY "---\n"
             "apiVersion: apps/v1\n"
             "kind: Deployment\n"
             "metadata: {name: p}\n"
             "spec:\n"
             "  replicas: 1\n"
             "  template:\n"
             "    spec:\n" POD_OK "        - name: side\n"
             "          image: acme/side@sha256:0123456789abcdef0123456789abcd"
             "ef0123456789abcdef0123456789abcdef\n"
             "          readinessProbe: {exec: {command: [true]}}\n"
             "          resources: {limits: {cpu: 1, memory: 1Gi}}\n"
             "          securityContext:\n"
             "            allowPrivilegeEscalation: false\n"
             "            readOnlyRootFilesystem: true\n";
    struct guard_k8s_opts o = {.ko_production = true};
    struct paved_findings fs;
    const struct paved_finding *f;

    (void)state;
    run(&fs, NULL, sidecar);
    if (fs.fs_n != 3)
        dump(&fs);
    assert_int_equal(fs.fs_n, 3);
    /* an unnamed container is named by its place; a null probe is none */
    f = find(&fs, "k8s.readiness-probe");
    assert_non_null(f);
    assert_int_equal(f->f_line, 12); /* the container's first line */
    assert_non_null(strstr(f->f_message, "container \"#1\""));
    /* the pod runs as user 0, whatever runAsNonRoot says */
    f = find(&fs, "k8s.run-as-non-root");
    assert_non_null(f);
    assert_int_equal(f->f_line, 10);
    assert_non_null(strstr(f->f_message, "user 0"));
    /* a quoted "false" is a string, which is not false */
    f = find(&fs, "k8s.privilege-escalation");
    assert_non_null(f);
    assert_int_equal(f->f_line, 17);
    /* liveness at the defaults (30 s) covers a budget of 30 s; TRUE is
     * true; limits stand in for requests */
    assert_null(find(&fs, "k8s.liveness-startup"));
    assert_null(find(&fs, "k8s.read-only-root-fs"));
    assert_null(find(&fs, "k8s.resources"));
    paved_findings_dispose(&fs);

    /* production: the tagged image needs a digest, the digest is fine */
    run(&fs, &o, prod);
    if (fs.fs_n != 1)
        dump(&fs);
    assert_int_equal(fs.fs_n, 1);
    assert_string_equal(fs.fs_items[0].f_rule, "k8s.image-digest");
    assert_int_equal(fs.fs_items[0].f_line, 17);
    paved_findings_dispose(&fs);
    run(&fs, NULL, prod);
    assert_int_equal(fs.fs_n, 0);
    paved_findings_dispose(&fs);
}

/* A PodDisruptionBudget's selector as Kubernetes matches it. */
static void
test_pdb_selectors(void **state)
{
    static const struct {
        const char *selector;
        bool selects;
    } cases[] = {
        {"{matchLabels: {app: web}}", true},
        {"{matchLabels: {app: web, tier: front}}", true},
        {"{matchLabels: {app: web, tier: back}}", false},
        {"{matchExpressions: [{key: app, operator: In, values: [x, web]}]}",
         true},
        {"{matchExpressions: [{key: app, operator: In, values: [x]}]}", false},
        {"{matchExpressions: [{key: app, operator: NotIn, values: [x]}]}",
         true},
        {"{matchExpressions: [{key: app, operator: NotIn, values: [web]}]}",
         false},
        {"{matchExpressions: [{key: gone, operator: NotIn, values: [web]}]}",
         true},
        {"{matchExpressions: [{key: tier, operator: Exists}]}", true},
        {"{matchExpressions: [{key: gone, operator: Exists}]}", false},
        {"{matchExpressions: [{key: gone, operator: DoesNotExist}]}", true},
        {"{matchExpressions: [{key: app, operator: DoesNotExist}]}", false},
        {"{matchExpressions: [{key: app, operator: Bogus}]}", false},
        {"{matchLabels: {app: web}, matchExpressions: [{key: tier, "
         "operator: In, values: [back]}]}",
         false},
        {"{}", true}, /* policy/v1: every pod */
        {"~", false},
    };
    char buf[2048];
    struct paved_findings fs;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        snprintf(
            buf, sizeof(buf),
            DENY "---\n" DEPLOY(
                "web", "{app: web, tier: front}") "---\n"
                                                  "apiVersion: policy/v1\n"
                                                  "kind: PodDisruptionBudget\n"
                                                  "metadata: {name: web}\n"
                                                  "spec: {maxUnavailable: 1, "
                                                  "selector: %s}\n",
            cases[i].selector);
        run(&fs, NULL, buf);
        if (count(&fs, "k8s.pdb") != (cases[i].selects ? 0 : 1))
            fail_msg("selector %s: %zu findings", cases[i].selector, fs.fs_n);
        assert_int_equal(fs.fs_n, count(&fs, "k8s.pdb"));
        paved_findings_dispose(&fs);
    }
    /* policy/v1beta1: an empty selector selects nothing */
    run(&fs, NULL,
        DENY "---\n" DEPLOY(
            "web", "{app: web}") "---\n"
                                 "apiVersion: policy/v1beta1\n"
                                 "kind: PodDisruptionBudget\n"
                                 "metadata: {name: web}\n"
                                 "spec: {maxUnavailable: 1, selector: {}}\n");
    assert_int_equal(count(&fs, "k8s.pdb"), 1);
    paved_findings_dispose(&fs);
}

static void
test_images(void **state)
{
    static const struct {
        const char *image;
        size_t pinned, digest; /* findings: not production, production */
    } cases[] = {
        {"acme/api:1.0.0", 0, 1},
        {"acme/api", 1, 1},
        {"acme/api:latest", 1, 1},
        {"acme/api:", 1, 1},
        {"registry.local:5000/acme/api", 1, 1},
        {"registry.local:5000/acme/api:2.1", 0, 1},
        {"acme/api@sha256:"
         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
         0, 0},
        {"acme/api:latest@sha256:"
         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
         0, 0},
        {"acme/api@sha256:"
         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
         1, 1},                            /* one hex digit too many */
        {"acme/api@sha256:0123", 1, 1},    /* too short */
        {"acme/api:1.0@sha256:XYZ", 0, 1}, /* not hex */
        {"acme/api@sha256:"
         "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
         1, 1}, /* digests are lower-case hex */
    };
    struct guard_k8s_opts prod = {60, true};
    struct paved_findings fs;
    char buf[2048];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        snprintf(buf, sizeof(buf),
                 DENY "---\n"
                      "apiVersion: v1\n"
                      "kind: Pod\n"
                      "metadata: {name: p}\n"
                      "spec:\n"
                      "  securityContext: {runAsNonRoot: true}\n"
                      "  containers:\n"
                      "    - name: c\n"
                      "      image: \"%s\"\n"
                      "      readinessProbe: {grpc: {port: 9090}}\n"
                      "      resources: {limits: {cpu: 1, memory: 1Gi}}\n"
                      "      securityContext:\n"
                      "        allowPrivilegeEscalation: false\n"
                      "        readOnlyRootFilesystem: true\n",
                 cases[i].image);
        run(&fs, NULL, buf);
        if (fs.fs_n != cases[i].pinned)
            fail_msg("%s: %zu findings", cases[i].image, fs.fs_n);
        if (fs.fs_n > 0) {
            assert_string_equal(fs.fs_items[0].f_rule, "k8s.image-pinned");
            assert_int_equal(fs.fs_items[0].f_line, 13);
        }
        paved_findings_dispose(&fs);
        run(&fs, &prod, buf);
        if (count(&fs, "k8s.image-digest") != cases[i].digest ||
            fs.fs_n != cases[i].pinned + cases[i].digest)
            fail_msg("%s in production: %zu findings", cases[i].image, fs.fs_n);
        paved_findings_dispose(&fs);
    }
}

static void
test_looks_like(void **state)
{
    static const struct {
        const char *text;
        bool want;
    } cases[] = {
        {"apiVersion: v1\nkind: Pod\n", true},
        {"\xef\xbb\xbf# deploy\n---\nkind: Pod\napiVersion: v1\n", true},
        {"---\n# nothing\n---\napiVersion: v1\r\nkind: List\r\n", true},
        {"%YAML 1.1\n---\napiVersion: v1\nkind: Pod\n", true},
        {"{\"kind\": \"Pod\",\n \"apiVersion\": \"v1\"}", true},
        {"\"apiVersion\": v1\n\"kind\": Pod\n", true},
        {"apiVersion: v1\n---\nkind: Pod\n", false}, /* two documents */
        {"metadata:\n  kind: Pod\n  apiVersion: v1\n", false},
        {"name: ci\non: push\n", false},
        {"kind: Pod\n", false},
        {"", false},
        {"apiVersion: v1\nkind", false},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        bool got = guard_k8s_looks_like(cases[i].text, strlen(cases[i].text));
        if (got != cases[i].want)
            fail_msg("looks_like case %zu: got %d", i, got);
    }
    /* never reads past len */
    assert_false(guard_k8s_looks_like("apiVersion: v1\nkind: Pod\n", 18));
}

static void
test_free_null(void **state)
{
    guard_k8s *k = NULL;
    struct paved_findings fs = {0};

    (void)state;
    guard_k8s_free(NULL);
    assert_int_equal(guard_k8s_new(&k, NULL), 0);
    assert_int_equal(guard_k8s_count(k), 0);
    assert_false(guard_k8s_has_probes(k));
    assert_int_equal(guard_k8s_add(k, &fs, "empty.yaml", "", 0), 0);
    assert_int_equal(guard_k8s_finish(k, &fs), 0);
    assert_int_equal(fs.fs_n, 0);
    guard_k8s_free(k);
}

/* Objects that name no namespace go where the files beside them go: a
 * default deny covers the workloads of its own directory, or of its
 * namespace wherever they are. */
static void
test_namespace_scope(void **state)
{
    static const struct {
        const char *deny_path, *deny_ns, *wl_path, *wl_ns;
        bool covered;
    } cases[] = {
        {"app/deny.yaml", "", "app/web.yaml", "", true},
        {"deny.yaml", "", "web.yaml", "", true},
        {"net/deny.yaml", "", "app/web.yaml", "", false},
        {"deny.yaml", "", "app/web.yaml", "", false},
        {"app/deny.yaml", "shop", "app/web.yaml", "", true},
        {"app/deny.yaml", "", "app/web.yaml", "shop", true},
        {"net/deny.yaml", "shop", "app/web.yaml", "shop", true},
        {"app/deny.yaml", "shop", "app/web.yaml", "blog", false},
        {"ap/deny.yaml", "", "app/web.yaml", "", false},
    };
    char deny[256], wl[1024];
    struct paved_findings fs;
    guard_k8s *k;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        snprintf(deny, sizeof(deny),
                 "apiVersion: networking.k8s.io/v1\n"
                 "kind: NetworkPolicy\n"
                 "metadata: {name: deny, namespace: \"%s\"}\n"
                 "spec: {podSelector: {}}\n",
                 cases[i].deny_ns);
        snprintf(wl, sizeof(wl),
                 "apiVersion: batch/v1\n"
                 "kind: Job\n"
                 "metadata: {name: once, namespace: \"%s\"}\n"
                 "spec:\n"
                 "  template:\n"
                 "    spec:\n" POD_OK,
                 cases[i].wl_ns);
        memset(&fs, 0, sizeof(fs));
        assert_int_equal(guard_k8s_new(&k, NULL), 0);
        assert_int_equal(
            guard_k8s_add(k, &fs, cases[i].wl_path, wl, strlen(wl)), 0);
        assert_int_equal(
            guard_k8s_add(k, &fs, cases[i].deny_path, deny, strlen(deny)), 0);
        assert_int_equal(guard_k8s_finish(k, &fs), 0);
        if (fs.fs_n != (cases[i].covered ? 0 : 1)) {
            dump(&fs);
            fail_msg("case %zu: %zu findings", i, fs.fs_n);
        }
        paved_findings_dispose(&fs);
        guard_k8s_free(k);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_table),
        cmocka_unit_test(test_every_rule_has_fixtures),
        cmocka_unit_test(test_realistic),
        cmocka_unit_test(test_migration_case),
        cmocka_unit_test(test_across_files),
        cmocka_unit_test(test_namespaces),
        cmocka_unit_test(test_namespace_scope),
        cmocka_unit_test(test_reads_on_after_error),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_templates_and_json),
        cmocka_unit_test(test_rule_details),
        cmocka_unit_test(test_pdb_selectors),
        cmocka_unit_test(test_images),
        cmocka_unit_test(test_looks_like),
        cmocka_unit_test(test_free_null),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
