/* Unit tests for src/guard/tree.c, policy.c and render.c: a real
 * directory and a real git repository (the git CLI makes the commits) in
 * a temp dir, checked the way `paved check` checks them. Covers the walk
 * (manifests, Dockerfiles, secrets; symlinks and .git skipped), the
 * policy file (severities, "off", exceptions, an expired exception as a
 * finding, a broken policy as a finding), secrets only in the lines a
 * diff adds, and the text, JSON, SARIF 2.1.0 and annotation renderings;
 * the policy's exceptions as paved_guard_policy_exceptions lists them
 * (complete, incomplete, unknown rules, broken files), checked against
 * what the check itself makes of the same file. Writes only under its
 * temp dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "paved/error.h"
#include "paved/guardrails.h"

/* an AWS access key ID of the documented shape (not a real key) */
#define KEY_OLD "AKIAZ7QWERTYUIOP2345"
#define KEY_NEW "AKIAQ2W3E4R5T6Y7U2I3"

struct fx {
    char f_dir[64];
};

static void
put(const struct fx *f, const char *rel, const char *text)
{
    char path[512], *slash;
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", f->f_dir, rel);
    for (slash = strchr(path + strlen(f->f_dir) + 1, '/'); slash != NULL;
         slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        mkdir(path, 0755);
        *slash = '/';
    }
    assert_non_null(fp = fopen(path, "w"));
    fputs(text, fp);
    fclose(fp);
}

static int
sh(const struct fx *f, const char *cmd)
{
    char line[1024];

    snprintf(line, sizeof(line),
             "cd '%s' && GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com "
             "GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com "
             "GIT_CONFIG_NOSYSTEM=1 HOME=/nonexistent %s >/dev/null 2>&1",
             f->f_dir, cmd);
    return system(line);
}

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    snprintf(f->f_dir, sizeof(f->f_dir), "/tmp/paved-guard-XXXXXX");
    if (mkdtemp(f->f_dir) == NULL)
        return -1;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->f_dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* The migration case as a team writes it: migrations at start, a liveness
 * probe that restarts the pod after 40 s, a startup budget of 600 s. */
static const char deployment[] =
    "apiVersion: apps/v1\n"                      /* 1 */
    "kind: Deployment\n"                         /* 2 */
    "metadata:\n"                                /* 3 */
    "  name: orders\n"                           /* 4 */
    "  annotations:\n"                           /* 5 */
    "    paved.dev/startup-seconds: \"600\"\n"   /* 6 */
    "spec:\n"                                    /* 7 */
    "  replicas: 1\n"                            /* 8 */
    "  selector: {matchLabels: {app: orders}}\n" /* 9 */
    "  template:\n"                              /* 10 */
    "    metadata: {labels: {app: orders}}\n"    /* 11 */
    "    spec:\n"                                /* 12 */
    "      containers:\n"                        /* 13 */
    "        - name: api\n"                      /* 14 */
    "          image: registry.example/orders:1.4.2\n"
    "          args: [\"sh\", \"-c\", \"migrate && serve\"]\n"
    "          securityContext:\n"
    "            runAsNonRoot: true\n"
    "            allowPrivilegeEscalation: false\n"
    "            readOnlyRootFilesystem: true\n"
    "          resources:\n"
    "            requests: {cpu: 100m, memory: 128Mi}\n"
    "            limits: {memory: 256Mi}\n"
    "          readinessProbe:\n"
    "            httpGet: {path: /readyz, port: 8080}\n"
    "          livenessProbe:\n" /* 26 */
    "            httpGet: {path: /healthz, port: 8080}\n"
    "            initialDelaySeconds: 10\n"
    "---\n"
    "apiVersion: networking.k8s.io/v1\n"
    "kind: NetworkPolicy\n"
    "metadata: {name: default-deny}\n"
    "spec:\n"
    "  podSelector: {}\n"
    "  policyTypes: [Ingress]\n";

static const char dockerfile[] = "FROM debian:12-slim\n"
                                 "RUN apt-get update\n"
                                 "USER root\n";

static const struct paved_finding *
find(const struct paved_guard_result *r, const char *rule, const char *path)
{
    size_t i;

    for (i = 0; i < r->gr_findings.fs_n; i++) {
        const struct paved_finding *f = &r->gr_findings.fs_items[i];
        if (strcmp(f->f_rule, rule) == 0 &&
            (path == NULL || strcmp(f->f_path, path) == 0))
            return f;
    }
    return NULL;
}

static void
check(struct paved_guard_result *r, const struct fx *f, const char *base)
{
    struct paved_guard_opts o;

    memset(&o, 0, sizeof(o));
    o.go_root = f->f_dir;
    o.go_base = base;
    o.go_today = "2026-11-27";
    o.go_fail_on = -1;
    assert_int_equal(paved_guard_check(r, &o), 0);
}

static void
no_secret_anywhere(const struct paved_guard_result *r, const char *key)
{
    size_t i;

    for (i = 0; i < r->gr_findings.fs_n; i++) {
        const struct paved_finding *f = &r->gr_findings.fs_items[i];
        assert_null(strstr(f->f_message, key));
        assert_null(strstr(f->f_path, key));
        if (f->f_fingerprint != NULL)
            assert_null(strstr(f->f_fingerprint, key));
    }
}

static void
test_tree_and_policy(void **state)
{
    struct fx *f = *state;
    struct paved_guard_result r;
    const struct paved_finding *fd;
    char link[512];

    put(f, "deploy/orders.yaml", deployment);
    put(f, "Dockerfile", dockerfile);
    put(f, "app/settings.py", "import os\nAWS_KEY = \"" KEY_OLD "\"\n");
    put(f, "notes.yaml", "just: data\n"); /* YAML, not a manifest */
    /* never followed: a link out of the tree, and .git */
    snprintf(link, sizeof(link), "%s/etc-link", f->f_dir);
    assert_int_equal(symlink("/etc", link), 0);
    put(f, ".git/config", "token = \"" KEY_NEW "\"\n");
    /* a Helm chart's templates are not YAML until rendered: skipped */
    put(f, "chart/Chart.yaml", "apiVersion: v2\nname: orders\n");
    put(f, "chart/templates/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\n"
        "metadata: {name: {{ .Release.Name }}}\n");

    check(&r, f, NULL);
    assert_int_equal(r.gr_manifests, 1);
    assert_int_equal(r.gr_dockerfiles, 1);
    assert_true(r.gr_failed);
    assert_int_equal(r.gr_fail_on, PAVED_SEV_HIGH);
    fd = find(&r, "k8s.liveness-startup", "deploy/orders.yaml");
    assert_non_null(fd);
    assert_int_equal(fd->f_severity, PAVED_SEV_HIGH);
    fd = find(&r, "secrets.aws-access-key", "app/settings.py");
    assert_non_null(fd);
    assert_int_equal(fd->f_line, 2);
    assert_non_null(fd->f_fingerprint);
    assert_non_null(find(&r, "docker.user-root", "Dockerfile"));
    assert_non_null(find(&r, "docker.single-stage", "Dockerfile"));
    /* the manifests have probes: a Dockerfile without HEALTHCHECK is fine */
    assert_null(find(&r, "docker.healthcheck", NULL));
    assert_null(find(&r, "secrets.aws-access-key", ".git/config"));
    assert_null(find(&r, "k8s.yaml-syntax", NULL));
    no_secret_anywhere(&r, KEY_OLD);
    paved_guard_result_dispose(&r);

    /* the policy: a severity, a rule off, an exception, an expired one */
    put(f, ".paved/policy.yaml",
        "fail_on: critical\n"
        "rules:\n"
        "  k8s.liveness-startup: critical\n"
        "  docker.single-stage: off\n"
        "  k8s.no-such-rule: low\n"
        "exceptions:\n"
        "  - rule: docker.user-root\n"
        "    path: Dockerfile\n"
        "    reason: the base image drops privileges itself\n"
        "    expires: 2027-01-31\n"
        "  - rule: secrets.aws-access-key\n" /* line 11 */
        "    path: app/\n"
        "    reason: a test key\n"
        "    expires: 2026-11-26\n"
        "  - rule: k8s.pdb\n" /* line 15 */
        "    path: deploy/*.yaml\n");
    check(&r, f, NULL);
    assert_int_equal(r.gr_fail_on, PAVED_SEV_CRITICAL);
    assert_int_equal(find(&r, "k8s.liveness-startup", NULL)->f_severity,
                     PAVED_SEV_CRITICAL);
    assert_null(find(&r, "docker.single-stage", NULL));
    assert_null(find(&r, "docker.user-root", NULL));
    assert_int_equal(r.gr_excepted, 1);
    /* an expired exception no longer applies and is a finding itself */
    assert_non_null(find(&r, "secrets.aws-access-key", "app/settings.py"));
    fd = find(&r, "policy.exception-expired", ".paved/policy.yaml");
    assert_non_null(fd);
    assert_int_equal(fd->f_line, 11);
    fd = find(&r, "policy.exception-incomplete", ".paved/policy.yaml");
    assert_non_null(fd);
    assert_int_equal(fd->f_line, 15);
    assert_non_null(find(&r, "policy.unknown-rule", ".paved/policy.yaml"));
    assert_true(r.gr_failed); /* the AWS key is critical */
    paved_guard_result_dispose(&r);

    /* a broken policy is a finding, and the checks still ran */
    put(f, ".paved/policy.yaml", "fail_on: [high\n");
    check(&r, f, NULL);
    assert_non_null(find(&r, "policy.syntax", ".paved/policy.yaml"));
    assert_non_null(find(&r, "k8s.liveness-startup", NULL));
    assert_int_equal(r.gr_fail_on, PAVED_SEV_HIGH);
    paved_guard_result_dispose(&r);
}

/* Secrets in a push or pull request: only what its commits add. */
static void
test_diff_secrets(void **state)
{
    struct fx *f = *state;
    struct paved_guard_result r;
    const struct paved_finding *fd;
    FILE *p;
    char cmd[256], base[64] = "";

    put(f, "old.env", "AWS_ACCESS_KEY_ID=" KEY_OLD "\n");
    assert_int_equal(sh(f, "git init -q -b main . && git add -A && "
                           "git commit -q -m one"),
                     0);
    snprintf(cmd, sizeof(cmd), "git -C '%s' rev-parse HEAD", f->f_dir);
    assert_non_null(p = popen(cmd, "r"));
    assert_non_null(fgets(base, sizeof(base), p));
    pclose(p);
    base[strcspn(base, "\n")] = '\0';
    put(f, "new.env", "# config\n\nAWS_ACCESS_KEY_ID=" KEY_NEW "\n");
    put(f, "old.env", "AWS_ACCESS_KEY_ID=" KEY_OLD "\nREGION=eu-west-1\n");
    assert_int_equal(sh(f, "git add -A && git commit -q -m two"), 0);

    check(&r, f, base);
    assert_null(r.gr_note);
    fd = find(&r, "secrets.aws-access-key", "new.env");
    assert_non_null(fd);
    assert_int_equal(fd->f_line, 3);
    assert_null(find(&r, "secrets.aws-access-key", "old.env"));
    no_secret_anywhere(&r, KEY_NEW);
    paved_guard_result_dispose(&r);

    /* a base the repository does not have: the whole tree, and a note */
    check(&r, f, "0123456789abcdef0123456789abcdef01234567");
    assert_non_null(r.gr_note);
    assert_non_null(find(&r, "secrets.aws-access-key", "old.env"));
    assert_non_null(find(&r, "secrets.aws-access-key", "new.env"));
    paved_guard_result_dispose(&r);
}

static void
test_render(void **state)
{
    struct fx *f = *state;
    struct paved_guard_result r;
    json_t *doc, *results, *rules;
    json_error_t jerr;
    char *text = NULL, *line, *save = NULL;
    size_t n = 0, i;

    put(f, "deploy/orders.yaml", deployment);
    put(f, "Dockerfile", dockerfile);
    put(f, "app/settings.py", "AWS_KEY = \"" KEY_OLD "\"\n");
    check(&r, f, NULL);
    assert_true(r.gr_findings.fs_n >= 3);

    assert_int_equal(paved_guard_render(&text, &r, PAVED_GUARD_TEXT, "1"), 0);
    assert_non_null(strstr(text, "app/settings.py:1: critical "
                                 "secrets.aws-access-key: "));
    assert_non_null(strstr(text, "fails at high: FAILED\n"));
    assert_null(strstr(text, KEY_OLD));
    free(text);

    assert_int_equal(paved_guard_render(&text, &r, PAVED_GUARD_JSON, "1"), 0);
    assert_non_null(doc = json_loads(text, 0, &jerr));
    assert_int_equal(json_array_size(json_object_get(doc, "findings")),
                     r.gr_findings.fs_n);
    assert_true(json_is_true(
        json_object_get(json_object_get(doc, "summary"), "failed")));
    json_decref(doc);
    free(text);

    /* SARIF 2.1.0: every result names a rule of the driver by index */
    assert_int_equal(paved_guard_render(&text, &r, PAVED_GUARD_SARIF, "1.2.3"),
                     0);
    assert_non_null(doc = json_loads(text, 0, &jerr));
    assert_string_equal(json_string_value(json_object_get(doc, "version")),
                        "2.1.0");
    results = json_object_get(json_array_get(json_object_get(doc, "runs"), 0),
                              "results");
    rules = json_object_get(
        json_object_get(
            json_object_get(json_array_get(json_object_get(doc, "runs"), 0),
                            "tool"),
            "driver"),
        "rules");
    assert_int_equal(json_array_size(results), r.gr_findings.fs_n);
    for (i = 0; i < json_array_size(results); i++) {
        json_t *res = json_array_get(results, i);
        size_t idx =
            (size_t)json_integer_value(json_object_get(res, "ruleIndex"));
        assert_string_equal(json_string_value(json_object_get(res, "ruleId")),
                            json_string_value(json_object_get(
                                json_array_get(rules, idx), "id")));
    }
    assert_null(strstr(text, KEY_OLD));
    json_decref(doc);
    free(text);

    /* annotations: one JSON line each, GitHub's shape */
    assert_int_equal(
        paved_guard_render(&text, &r, PAVED_GUARD_ANNOTATIONS, NULL), 0);
    for (line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save), n++) {
        json_t *a = json_loads(line, 0, &jerr);
        const char *level;
        assert_non_null(a);
        assert_true(json_integer_value(json_object_get(a, "start_line")) >= 1);
        level = json_string_value(json_object_get(a, "annotation_level"));
        assert_true(strcmp(level, "failure") == 0 ||
                    strcmp(level, "warning") == 0 ||
                    strcmp(level, "notice") == 0);
        json_decref(a);
    }
    assert_int_equal(n, r.gr_findings.fs_n);
    free(text);
    paved_guard_result_dispose(&r);
}

/* ---- paved_guard_policy_exceptions ------------------------------------ */

/* Exceptions of every kind the check meets, one item per case; the line
 * numbers are the items' own. */
static const char policy_mixed[] =
    "fail_on: bogus\n"                      /* 1: a finding, not a stop */
    "colour: blue\n"                        /* 2: unknown key, likewise */
    "exceptions:\n"                         /* 3 */
    "  - rule: k8s.host-path\n"             /* 4: complete */
    "    path: deploy/node-exporter.yaml\n" /* 5 */
    "    reason: \"reads the host's /proc: \\\"ok\\\"\"\n"
    "    expires: 2027-03-01\n"                                  /* 7 */
    "  - {rule: docker.user-root, path: 'build/*.Dockerfile',\n" /* 8 */
    "     reason: base image, expires: '2026-11-26'}\n"          /* expired */
    "  - rule: k8s.resources\n" /* 10: no reason */
    "    path: k8s/\n"
    "    expires: 2027-01-01\n"
    "  - rule: k8s.resources\n" /* 13: empty reason */
    "    path: k8s/\n"
    "    reason: ''\n"
    "    expires: 2027-01-01\n"
    "  - rule: k8s.resources\n" /* 17: no expires */
    "    path: k8s/\n"
    "    reason: later\n"
    "  - rule: k8s.resources\n" /* 20: not a calendar day */
    "    path: k8s/\n"
    "    reason: later\n"
    "    expires: 2027-02-30\n"
    "  - path: k8s/\n" /* 24: no rule */
    "    reason: later\n"
    "    expires: 2027-01-01\n"
    "  - rule: k8s.no-such-rule\n" /* 27: unknown rule: listed */
    "    path: k8s/\n"
    "    reason: later\n"
    "    expires: 2027-01-01\n"
    "  - just a string\n"                /* 31: not a mapping */
    "  - rule: secrets.aws-access-key\n" /* 32: no path */
    "    reason: later\n"
    "    expires: 2027-01-01\n"
    "  - rule: k8s.pdb\n" /* 35: a directory, a leap day */
    "    path: k8s/\n"
    "    reason: one replica on purpose\n"
    "    expires: 2028-02-29\n";

static const unsigned policy_mixed_items[] = {4,  8,  10, 13, 17, 20,
                                              24, 27, 31, 32, 35};

static void
test_policy_exceptions(void **state)
{
    struct fx *f = *state;
    struct paved_policy_exception *x = NULL;
    struct paved_guard_result r;
    size_t n = 99, i, k;

    assert_int_equal(paved_guard_policy_exceptions(&x, &n, policy_mixed,
                                                   strlen(policy_mixed)),
                     0);
    assert_int_equal(n, 4);
    assert_string_equal(x[0].px_rule, "k8s.host-path");
    assert_string_equal(x[0].px_path, "deploy/node-exporter.yaml");
    assert_string_equal(x[0].px_reason, "reads the host's /proc: \"ok\"");
    assert_string_equal(x[0].px_expires, "2027-03-01");
    assert_int_equal(x[0].px_line, 4);
    /* expired: still listed, the caller has the clock */
    assert_string_equal(x[1].px_rule, "docker.user-root");
    assert_string_equal(x[1].px_path, "build/*.Dockerfile");
    assert_string_equal(x[1].px_reason, "base image");
    assert_string_equal(x[1].px_expires, "2026-11-26");
    assert_int_equal(x[1].px_line, 8);
    /* complete, but a rule this build does not know (a newer paved's?) */
    assert_string_equal(x[2].px_rule, "k8s.no-such-rule");
    assert_string_equal(x[2].px_path, "k8s/");
    assert_string_equal(x[2].px_reason, "later");
    assert_string_equal(x[2].px_expires, "2027-01-01");
    assert_int_equal(x[2].px_line, 27);
    assert_null(paved_guard_rule(x[2].px_rule));
    assert_string_equal(x[3].px_rule, "k8s.pdb");
    assert_string_equal(x[3].px_path, "k8s/");
    assert_string_equal(x[3].px_reason, "one replica on purpose");
    assert_string_equal(x[3].px_expires, "2028-02-29");
    assert_int_equal(x[3].px_line, 35);

    /* and `paved check` agrees: every item left out is a syntax or
     * incomplete finding at the item's line and every listed one is not;
     * the expired one is reported as expired, the unknown rule as such */
    put(f, ".paved/policy.yaml", policy_mixed);
    check(&r, f, NULL);
    for (i = 0; i < sizeof(policy_mixed_items) / sizeof(policy_mixed_items[0]);
         i++) {
        unsigned line = policy_mixed_items[i];
        bool listed = false, broken = false, expired = false, unknown = false;

        for (k = 0; k < n; k++)
            listed = listed || x[k].px_line == line;
        for (k = 0; k < r.gr_findings.fs_n; k++) {
            const struct paved_finding *fd = &r.gr_findings.fs_items[k];
            if (fd->f_line != line ||
                strcmp(fd->f_path, ".paved/policy.yaml") != 0)
                continue;
            if (strcmp(fd->f_rule, "policy.exception-expired") == 0)
                expired = true;
            else if (strcmp(fd->f_rule, "policy.unknown-rule") == 0)
                unknown = true;
            else if (strcmp(fd->f_rule, "policy.exception-incomplete") == 0 ||
                     strcmp(fd->f_rule, "policy.syntax") == 0)
                broken = true;
        }
        if (listed == broken)
            fail_msg("item at line %u: listed %d, incomplete for the check %d",
                     line, listed, broken);
        assert_int_equal(expired, line == 8);
        assert_int_equal(unknown, line == 27);
    }
    assert_non_null(find(&r, "policy.syntax", ".paved/policy.yaml"));
    paved_guard_result_dispose(&r);
    paved_guard_policy_exceptions_free(x, n);
    paved_guard_policy_exceptions_free(NULL, 0);
}

/* Files without exceptions are not errors. */
static void
test_policy_exceptions_none(void **state)
{
    static const char *const texts[] = {
        "",
        "# nothing yet\n",
        "fail_on: high\n",
        "exceptions:\n",
        "exceptions: []\n",
        "exceptions:\n  - rule: k8s.pdb\n", /* only an incomplete one */
    };
    struct paved_policy_exception *x;
    size_t n, i;

    (void)state;
    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        x = (void *)texts; /* must be overwritten */
        n = 99;
        if (paved_guard_policy_exceptions(&x, &n, texts[i], strlen(texts[i])) !=
            0)
            fail_msg("\"%s\": %s", texts[i], paved_error_last());
        assert_int_equal(n, 0);
        paved_guard_policy_exceptions_free(x, n);
    }
}

/* A file the check takes no exception from is an error with its line. */
static void
test_policy_exceptions_broken(void **state)
{
    static const struct {
        const char *b_text;
        int b_code;
        const char *b_msg; /* the message starts with it */
    } bad[] = {
        {"exceptions:\n  - rule: [k8s.pdb\n", PAVED_EINVAL, "line "},
        {"- rule: k8s.pdb\n", PAVED_EINVAL,
         "line 1: the policy is one mapping"},
        {"fail_on: high\n---\nexceptions: []\n", PAVED_EINVAL,
         "line 1: the policy is one mapping"},
        {"fail_on: high\nexceptions: {rule: k8s.pdb}\n", PAVED_EINVAL,
         "line 2: exceptions: must be a list"},
        {"fail_on: high\nexceptions: k8s.pdb\n", PAVED_EINVAL,
         "line 2: exceptions: must be a list"},
        {"exceptions: []\nexceptions: []\n", PAVED_EINVAL, "line "},
        {"a: &x 1\nexceptions: *x\n", PAVED_EINVAL, "line "},
    };
    struct paved_policy_exception *x;
    struct paved_guard_result r;
    struct fx *f = *state;
    char *big;
    size_t n, i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        x = (void *)bad;
        n = 99;
        assert_int_equal(paved_guard_policy_exceptions(&x, &n, bad[i].b_text,
                                                       strlen(bad[i].b_text)),
                         bad[i].b_code);
        assert_null(x);
        assert_int_equal(n, 0);
        if (strncmp(paved_error_last(), bad[i].b_msg, strlen(bad[i].b_msg)) !=
            0)
            fail_msg("\"%s\": message \"%s\"", bad[i].b_text,
                     paved_error_last());
        /* and the check reports the file as policy.syntax */
        put(f, ".paved/policy.yaml", bad[i].b_text);
        check(&r, f, NULL);
        assert_non_null(find(&r, "policy.syntax", ".paved/policy.yaml"));
        paved_guard_result_dispose(&r);
    }

    /* over the reader's cap of 1 MiB */
    assert_non_null(big = malloc(1024 * 1024 + 2));
    memset(big, '#', 1024 * 1024 + 1);
    big[1024 * 1024 + 1] = '\0';
    x = (void *)bad;
    assert_int_equal(
        paved_guard_policy_exceptions(&x, &n, big, 1024 * 1024 + 1),
        PAVED_ETOOBIG);
    assert_null(x);
    assert_int_equal(n, 0);
    free(big);
}

/* Every rule of the catalog has its section in docs/guardrails.md. */
/* docker.healthcheck across files: probes stand in for a HEALTHCHECK, and
 * an image whose manifests only run batch work (a CronJob) needs none;
 * one long-running workload without probes brings the finding back. */
static void
test_healthcheck_batch(void **state)
{
    struct fx *f = *state;
    struct paved_guard_result r;

    put(f, "Dockerfile",
        "FROM golang:1.19 AS build\nRUN true\n"
        "FROM debian:12-slim\nUSER 65532\n");
    check(&r, f, NULL);
    assert_non_null(find(&r, "docker.healthcheck", "Dockerfile"));
    paved_guard_result_dispose(&r);

    put(f, "k8s/cronjob.yaml",
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly}\n"
        "spec:\n  schedule: \"0 3 * * *\"\n"
        "  jobTemplate:\n    spec:\n      template:\n        spec:\n"
        "          restartPolicy: Never\n          containers:\n"
        "            - name: job\n              image: nightly:1.0\n");
    check(&r, f, NULL);
    assert_null(find(&r, "docker.healthcheck", NULL));
    paved_guard_result_dispose(&r);

    put(f, "k8s/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
        "spec:\n  template:\n    spec:\n      containers:\n"
        "        - name: web\n          image: web:1.0\n");
    check(&r, f, NULL);
    assert_non_null(find(&r, "docker.healthcheck", "Dockerfile"));
    paved_guard_result_dispose(&r);
}

static void
test_rules_documented(void **state)
{
    const char *src = getenv("PAVED_SOURCE_DIR");
    const struct paved_rule *rule;
    char path[512], *doc;
    FILE *fp;
    long len;
    size_t i;

    (void)state;
    snprintf(path, sizeof(path), "%s/docs/guardrails.md", src ? src : ".");
    assert_non_null(fp = fopen(path, "r"));
    fseek(fp, 0, SEEK_END);
    len = ftell(fp);
    rewind(fp);
    assert_non_null(doc = calloc(1, (size_t)len + 1));
    assert_int_equal(fread(doc, 1, (size_t)len, fp), (size_t)len);
    fclose(fp);
    for (i = 0; (rule = paved_guard_rule_at(i)) != NULL; i++) {
        char heading[128];
        snprintf(heading, sizeof(heading), "### `%s`", rule->r_id);
        if (strstr(doc, heading) == NULL)
            fail_msg("docs/guardrails.md has no \"%s\" section", heading);
        assert_ptr_equal(paved_guard_rule(rule->r_id), rule);
    }
    assert_true(i > 30);
    free(doc);
}

static void
test_bad_root(void **state)
{
    struct paved_guard_result r;
    struct paved_guard_opts o;

    (void)state;
    memset(&o, 0, sizeof(o));
    o.go_today = "2026-11-27";
    o.go_fail_on = -1;
    o.go_root = "/nonexistent/paved";
    assert_int_equal(paved_guard_check(&r, &o), PAVED_ENOTFOUND);
    paved_guard_result_dispose(&r);
    o.go_root = "/etc/hostname";
    assert_int_equal(paved_guard_check(&r, &o), PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "not a directory"));
    paved_guard_result_dispose(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tree_and_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diff_secrets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_render, setup, teardown),
        cmocka_unit_test_setup_teardown(test_healthcheck_batch, setup,
                                        teardown),
        cmocka_unit_test(test_rules_documented),
        cmocka_unit_test(test_bad_root),
        cmocka_unit_test_setup_teardown(test_policy_exceptions, setup,
                                        teardown),
        cmocka_unit_test(test_policy_exceptions_none),
        cmocka_unit_test_setup_teardown(test_policy_exceptions_broken, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
