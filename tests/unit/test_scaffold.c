/* The golden paths' scaffold: answers, rendering a small template tree
 * made for each test (layers, overrides, .tmpl, files that render empty,
 * the executable bit, errors naming file:line), writing (never into an
 * existing path, nothing left behind on failure), the first commit and
 * its push to a real bare repository, and upgrades as three-way merges
 * checked with the git CLI. Every test works in a fresh mkdtemp
 * directory, removed at the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "paved/error.h"
#include "paved/scaffold.h"

struct fx {
    char f_dir[64];
    char f_tpl[128];
};

static void
put(const char *dir, const char *rel, const char *text, int exec)
{
    char path[512], *slash;
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    for (slash = path + strlen(dir) + 1; (slash = strchr(slash, '/')) != NULL;
         slash++) {
        *slash = '\0';
        (void)mkdir(path, 0755);
        *slash = '/';
    }
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    if (exec)
        assert_int_equal(chmod(path, 0755), 0);
}

static char *
slurp(const char *path)
{
    static char buf[65536];
    FILE *fp = fopen(path, "r");
    size_t n;

    if (fp == NULL)
        return NULL;
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

/* stdout of a shell command run in dir (test-only: paths are ours) */
static char *
sh(const char *dir, const char *cmd)
{
    static char out[8192];
    char line[1024];
    FILE *p;
    size_t n;

    snprintf(line, sizeof(line), "cd '%s' && %s 2>&1", dir, cmd);
    p = popen(line, "r");
    assert_non_null(p);
    n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    pclose(p);
    return out;
}

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    snprintf(f->f_dir, sizeof(f->f_dir), "/tmp/paved-scaffold-XXXXXX");
    assert_non_null(mkdtemp(f->f_dir));
    snprintf(f->f_tpl, sizeof(f->f_tpl), "%s/templates", f->f_dir);
    assert_int_equal(mkdir(f->f_tpl, 0755), 0);
    put(f->f_tpl, "VERSION", "1\n", 0);
    put(f->f_tpl, "shared/README.md",
        "# {{service.name}}\nowned by {{owner}}\n", 0);
    put(f->f_tpl, "shared/k8s/deployment.yaml",
        "name: {{service.name}}\nimage: {{image}}\n", 0);
    put(f->f_tpl, "shared/terraform/database.tf",
        "{{#db}}\nresource \"db\" \"{{service.ident}}\" {}\n{{/db}}\n", 0);
    put(f->f_tpl, "types/api/k8s/deployment.yaml",
        "kind: Deployment\nname: {{service.name}}\n{{#queue}}\nqueue: "
        "{{service.name}}\n{{/queue}}\n",
        0);
    put(f->f_tpl, "types/worker/k8s/deployment.yaml", "kind: Worker\n", 0);
    put(f->f_tpl, "types/cron/k8s/cronjob.yaml", "kind: CronJob\n", 0);
    put(f->f_tpl, "langs/go/go.mod.tmpl", "module {{service.name}}\n", 0);
    put(f->f_tpl, "langs/go/scripts/run", "#!/bin/sh\necho {{service.lang}}\n",
        1);
    put(f->f_tpl, "langs/python/app.py", "print('{{service.ident}}')\n", 0);
    put(f->f_tpl, "langs/typescript/index.ts", "// {{service.name}}\n", 0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->f_dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static struct paved_scaffold_answers
answers(const char *name, const char *type, const char *lang)
{
    struct paved_scaffold_answers a;

    memset(&a, 0, sizeof(a));
    a.sa_name = name;
    a.sa_type = type;
    a.sa_lang = lang;
    a.sa_owner = "payments";
    a.sa_registry = "registry.internal:5000";
    return a;
}

static const struct paved_scaffold_file *
find(const struct paved_scaffold *sc, const char *path)
{
    size_t i;

    for (i = 0; i < sc->sc_n; i++)
        if (strcmp(sc->sc_files[i].sf_path, path) == 0)
            return &sc->sc_files[i];
    return NULL;
}

static void
test_check(void **state)
{
    static const char *const bad_names[] = {
        "",
        "Checkout",
        "1checkout",
        "check_out",
        "checkout-",
        "-checkout",
        "check out",
        "a.b",
        "a123456789012345678901234567890123456789012345678901234567890123"};
    struct paved_scaffold_answers a = answers("checkout", "api", "go");
    size_t i;

    (void)state;
    assert_int_equal(paved_scaffold_check(&a), 0);
    a.sa_name = "order-events-2";
    assert_int_equal(paved_scaffold_check(&a), 0);
    for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        a.sa_name = bad_names[i];
        assert_int_equal(paved_scaffold_check(&a), PAVED_EINVAL);
    }
    /* YAML's booleans and null, two '-' in a row */
    a.sa_name = "on";
    assert_int_equal(paved_scaffold_check(&a), PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "boolean or null"));
    a.sa_name = "null";
    assert_int_equal(paved_scaffold_check(&a), PAVED_EINVAL);
    a.sa_name = "order--events";
    assert_int_equal(paved_scaffold_check(&a), PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "no two '-'"));
    a.sa_name = "online"; /* only the whole word */
    assert_int_equal(paved_scaffold_check(&a), 0);
    /* --db: production-NAME must fit a database identifier */
    a.sa_name = "a2345678901234567890123456789012345678901234567890123";
    assert_int_equal(paved_scaffold_check(&a), 0);
    a.sa_db = 1;
    assert_int_equal(paved_scaffold_check(&a), PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "at most 52"));
    a.sa_name = "a234567890123456789012345678901234567890123456789012";
    assert_int_equal(paved_scaffold_check(&a), 0);
    a.sa_db = 0;
    a.sa_name = "Checkout";
    paved_scaffold_check(&a);
    assert_non_null(strstr(paved_error_last(), "DNS label"));
    a = answers("checkout", "frontend", "go");
    assert_int_equal(paved_scaffold_check(&a), PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "api, worker or cron"));
    a = answers("checkout", "api", "rust");
    assert_int_equal(paved_scaffold_check(&a), PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "go, python or typescript"));
    a = answers("checkout", "api", "go");
    a.sa_owner = "Team A";
    assert_int_equal(paved_scaffold_check(&a), PAVED_EINVAL);
    a = answers("checkout", "api", "go");
    a.sa_registry = "reg\"istry";
    assert_int_equal(paved_scaffold_check(&a), PAVED_EINVAL);
}

static void
test_render_layers(void **state)
{
    struct fx *f = *state;
    struct paved_scaffold_answers a = answers("order-events", "api", "go");
    struct paved_scaffold *sc = NULL;
    const struct paved_scaffold_file *x;
    size_t i;

    a.sa_queue = 1;
    assert_int_equal(paved_scaffold_render(&sc, f->f_tpl, &a), 0);
    assert_int_equal(sc->sc_version, 1);
    /* the type's file replaced the shared one of the same path */
    x = find(sc, "k8s/deployment.yaml");
    assert_non_null(x);
    assert_string_equal(x->sf_data, "kind: Deployment\nname: order-events\n"
                                    "queue: order-events\n");
    /* .tmpl dropped, executable kept, empty render skipped */
    assert_non_null(find(sc, "go.mod"));
    assert_null(find(sc, "go.mod.tmpl"));
    x = find(sc, "scripts/run");
    assert_non_null(x);
    assert_int_equal(x->sf_exec, 1);
    assert_null(find(sc, "terraform/database.tf"));
    assert_null(find(sc, "app.py"));           /* another language */
    assert_null(find(sc, "k8s/cronjob.yaml")); /* another type */
    x = find(sc, ".paved/answers.yaml");
    assert_non_null(x);
    assert_non_null(strstr(x->sf_data, "name: \"order-events\"\n"));
    assert_non_null(strstr(x->sf_data, "queue: true\n"));
    assert_non_null(strstr(x->sf_data, "template_version: 1\n"));
    for (i = 1; i < sc->sc_n; i++) /* sorted */
        assert_true(
            strcmp(sc->sc_files[i - 1].sf_path, sc->sc_files[i].sf_path) < 0);
    paved_scaffold_free(sc);

    a = answers("order-events", "cron", "python");
    a.sa_db = 1;
    assert_int_equal(paved_scaffold_render(&sc, f->f_tpl, &a), 0);
    x = find(sc, "terraform/database.tf");
    assert_non_null(x);
    assert_string_equal(x->sf_data, "resource \"db\" \"order_events\" {}\n");
    x = find(sc, "k8s/deployment.yaml"); /* the shared one */
    assert_non_null(x);
    /* a YAML file: the value with ':' comes quoted */
    assert_string_equal(x->sf_data, "name: order-events\n"
                                    "image: \"registry.internal:5000/"
                                    "order-events:0.1.0\"\n");
    assert_non_null(find(sc, "app.py"));
    paved_scaffold_free(sc);
}

static void
test_render_errors(void **state)
{
    struct fx *f = *state;
    struct paved_scaffold_answers a = answers("checkout", "api", "go");
    struct paved_scaffold *sc = NULL;
    char path[256];

    put(f->f_tpl, "langs/go/main.go", "package main\n// {{servce.name}}\n", 0);
    assert_int_equal(paved_scaffold_render(&sc, f->f_tpl, &a), PAVED_EINVAL);
    assert_null(sc);
    assert_non_null(strstr(paved_error_last(), "langs/go/main.go:2:4: "
                                               "unknown variable "
                                               "\"servce.name\""));
    put(f->f_tpl, "langs/go/main.go", "{{#db}}\nunclosed\n", 0);
    assert_int_equal(paved_scaffold_render(&sc, f->f_tpl, &a), PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "langs/go/main.go:1:1: "));
    snprintf(path, sizeof(path), "%s/langs/go/main.go", f->f_tpl);
    unlink(path);

    /* a link in the templates is refused, never followed */
    snprintf(path, sizeof(path), "%s/langs/go/passwd", f->f_tpl);
    assert_int_equal(symlink("/etc/passwd", path), 0);
    assert_int_equal(paved_scaffold_render(&sc, f->f_tpl, &a), PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "symbolic link"));
    unlink(path);

    put(f->f_tpl, "shared/.paved/answers.yaml", "x: 1\n", 0);
    assert_int_equal(paved_scaffold_render(&sc, f->f_tpl, &a), PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "written by paved itself"));
    snprintf(path, sizeof(path), "%s/shared/.paved/answers.yaml", f->f_tpl);
    unlink(path);

    snprintf(path, sizeof(path), "%s/../no-such-templates", f->f_tpl);
    assert_int_equal(paved_scaffold_render(&sc, path, &a), PAVED_ENOTFOUND);
    assert_non_null(strstr(paved_error_last(), "VERSION"));
    put(f->f_tpl, "VERSION", "one\n", 0);
    assert_int_equal(paved_scaffold_render(&sc, f->f_tpl, &a), PAVED_EINVAL);
    put(f->f_tpl, "VERSION", "1\n", 0);

    a = answers("checkout", "api", "go");
    a.sa_lang = "rust";
    assert_int_equal(paved_scaffold_render(&sc, f->f_tpl, &a), PAVED_EINVAL);
    assert_null(sc);
}

static void
test_write(void **state)
{
    struct fx *f = *state;
    struct paved_scaffold_answers a = answers("checkout", "api", "go");
    struct paved_scaffold *sc = NULL;
    struct paved_scaffold_file *grown;
    struct stat sb;
    char dir[256], path[512], top[512];

    assert_int_equal(paved_scaffold_render(&sc, f->f_tpl, &a), 0);
    snprintf(dir, sizeof(dir), "%s/out/deeper/checkout", f->f_dir);
    assert_int_equal(paved_scaffold_write(dir, sc, top, sizeof(top)), 0);
    /* the highest directory it made: for the caller's cleanup */
    snprintf(path, sizeof(path), "%s/out", f->f_dir);
    assert_string_equal(top, path);
    snprintf(path, sizeof(path), "%s/go.mod", dir);
    assert_string_equal(slurp(path), "module checkout\n");
    snprintf(path, sizeof(path), "%s/scripts/run", dir);
    assert_int_equal(stat(path, &sb), 0);
    assert_true((sb.st_mode & 0111) != 0);

    /* an existing path is never written into, and is left as it was */
    put(dir, "mine.txt", "keep\n", 0);
    assert_int_equal(paved_scaffold_write(dir, sc, top, sizeof(top)),
                     PAVED_EEXISTS);
    assert_non_null(strstr(paved_error_last(), "already exists"));
    snprintf(path, sizeof(path), "%s/mine.txt", dir);
    assert_string_equal(slurp(path), "keep\n");

    /* a failure half-way leaves nothing: "go.mod" as a file, then as a
     * directory for "go.mod/x" */
    grown = realloc(sc->sc_files, (sc->sc_n + 1) * sizeof(*grown));
    assert_non_null(grown);
    sc->sc_files = grown;
    sc->sc_files[sc->sc_n].sf_path = strdup("go.mod/x");
    sc->sc_files[sc->sc_n].sf_data = strdup("x");
    sc->sc_files[sc->sc_n].sf_len = 1;
    sc->sc_files[sc->sc_n].sf_exec = 0;
    sc->sc_n++;
    snprintf(dir, sizeof(dir), "%s/new/parents/broken", f->f_dir);
    assert_int_not_equal(paved_scaffold_write(dir, sc, top, sizeof(top)), 0);
    assert_non_null(strstr(paved_error_last(), "nothing was left behind"));
    assert_string_equal(top, "");
    /* neither the directory nor the parents it had to make */
    snprintf(path, sizeof(path), "%s/new", f->f_dir);
    assert_int_equal(lstat(path, &sb), -1);
    paved_scaffold_free(sc);
}

static void
test_answers_parse(void **state)
{
    struct paved_scaffold_answers a = answers("checkout", "worker", "python");
    struct paved_scaffold_saved s;
    char *text = NULL;
    size_t len;
    static const struct {
        const char *doc, *msg;
    } bad[] = {
        {"template_version: 1\nname: x\n", "incomplete"},
        {"[1, 2]\n", "mapping"},
        {"name: {a: 1}\n", "flat mapping"},
        {"nmae: x\n", "did you mean \"name\""},
        {"name: a\nname: b\n", "duplicate key"},
        {"db: yes\n", "true or false"},
        {"template_version: -3\n", "whole number"},
        {"name: [a]\n", "plain values"},
        {"name: &x a\nowner: *x\n", "aliases"},
        {"name: 'unclosed\n", "YAML syntax error"},
        {"template_version: 1\nname: \"Bad Name\"\ntype: api\nlang: go\n"
         "owner: a\nregistry: r\ndb: false\nqueue: false\n",
         "DNS label"},
    };
    size_t i;

    (void)state;
    a.sa_version = 7;
    a.sa_db = 1;
    assert_int_equal(paved_scaffold_answers_text(&text, &len, &a), 0);
    assert_int_equal(paved_scaffold_answers_parse(&s, text, len), 0);
    assert_string_equal(s.ss_name, "checkout");
    assert_string_equal(s.ss_type, "worker");
    assert_string_equal(s.ss_lang, "python");
    assert_string_equal(s.ss_owner, "payments");
    assert_string_equal(s.ss_registry, "registry.internal:5000");
    assert_int_equal(s.ss_db, 1);
    assert_int_equal(s.ss_queue, 0);
    assert_int_equal(s.ss_version, 7);
    paved_scaffold_saved_dispose(&s);
    free(text);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_not_equal(
            paved_scaffold_answers_parse(&s, bad[i].doc, strlen(bad[i].doc)),
            0);
        if (strstr(paved_error_last(), bad[i].msg) == NULL)
            fail_msg("%s: got \"%s\"", bad[i].doc, paved_error_last());
        assert_null(s.ss_name);
    }
}

static const struct paved_scaffold_identity ident = {"paved",
                                                     "paved@localhost"};

static void
create_repo(const struct fx *f, const char *dir, const char *remote,
            char commit[41])
{
    struct paved_scaffold_answers a = answers("checkout", "api", "go");
    struct paved_scaffold *sc = NULL;
    char top[512];

    assert_int_equal(paved_scaffold_render(&sc, f->f_tpl, &a), 0);
    assert_int_equal(paved_scaffold_write(dir, sc, top, sizeof(top)), 0);
    if (paved_scaffold_commit(commit, dir, sc, &ident, remote, NULL) != 0)
        fail_msg("commit: %s", paved_error_last());
    paved_scaffold_free(sc);
}

static void
test_commit_and_push(void **state)
{
    struct fx *f = *state;
    char dir[256], bare[256], remote[300], commit[41], cmd[600], *out;

    snprintf(bare, sizeof(bare), "%s/remote.git", f->f_dir);
    snprintf(cmd, sizeof(cmd), "git init -q --bare '%s'", bare);
    assert_int_equal(system(cmd), 0);
    snprintf(remote, sizeof(remote), "file://%s", bare);
    snprintf(dir, sizeof(dir), "%s/checkout", f->f_dir);
    create_repo(f, dir, remote, commit);
    assert_int_equal(strlen(commit), 40);
    out = sh(bare, "git rev-parse refs/heads/main");
    assert_int_equal(strncmp(out, commit, 40), 0);
    out = sh(dir, "git log -1 --format='%an <%ae>|%(trailers:key=Paved-"
                  "Render,valueonly)'");
    assert_non_null(strstr(out, "paved <paved@localhost>|1"));
    out = sh(dir, "git ls-files");
    assert_non_null(strstr(out, ".paved/answers.yaml\n"));
    assert_non_null(strstr(out, "scripts/run\n"));
    out = sh(dir, "git ls-files -s scripts/run");
    assert_non_null(strstr(out, "100755"));
    out = sh(dir, "git status --porcelain; git rev-parse --abbrev-ref HEAD; "
                  "git config branch.main.remote");
    assert_string_equal(out, "main\norigin\n");

    /* a second service pushed to the same remote is refused, not forced */
    snprintf(dir, sizeof(dir), "%s/again", f->f_dir);
    {
        struct paved_scaffold_answers a = answers("again", "api", "go");
        struct paved_scaffold *sc = NULL;
        char top[512];
        assert_int_equal(paved_scaffold_render(&sc, f->f_tpl, &a), 0);
        assert_int_equal(paved_scaffold_write(dir, sc, top, sizeof(top)), 0);
        int rc = paved_scaffold_commit(commit, dir, sc, &ident, remote, NULL);
        if (rc != PAVED_EEXISTS)
            fail_msg("%d: %s", rc, paved_error_last());
        assert_non_null(strstr(paved_error_last(), "refused"));
        paved_scaffold_free(sc);
    }
    out = sh(bare, "git log --format=%s main | wc -l");
    assert_string_equal(out, "1\n");
}

static void
test_upgrade(void **state)
{
    struct fx *f = *state;
    struct paved_scaffold_upgrade up;
    char dir[256], commit[41], *out;

    snprintf(dir, sizeof(dir), "%s/checkout", f->f_dir);
    create_repo(f, dir, NULL, commit);
    assert_int_equal(paved_scaffold_upgrade(&up, dir, f->f_tpl, &ident), 0);
    assert_int_equal(up.su_uptodate, 1);
    assert_string_equal(up.su_branch, "");
    paved_scaffold_upgrade_dispose(&up);

    /* the team edits README, the templates change go.mod and README's
     * other end: a clean merge keeps both */
    sh(dir, "printf '# checkout\\nowned by payments\\nteam notes\\n' > "
            "README.md && git -c user.name=t -c user.email=t@x commit -qam "
            "notes");
    put(f->f_tpl, "VERSION", "2\n", 0);
    put(f->f_tpl, "langs/go/go.mod.tmpl",
        "module {{service.name}}\n\ngo 1.19\n", 0);
    put(f->f_tpl, "shared/README.md",
        "# {{service.name}} (template 2)\nowned by {{owner}}\n", 0);
    assert_int_equal(paved_scaffold_upgrade(&up, dir, f->f_tpl, &ident), 0);
    assert_int_equal(up.su_from, 1);
    assert_int_equal(up.su_to, 2);
    assert_string_equal(up.su_name, "checkout");
    assert_string_equal(up.su_branch, "paved/upgrade-2");
    assert_int_equal(up.su_nconflicts, 0);
    assert_int_equal(strlen(up.su_commit), 40);
    paved_scaffold_upgrade_dispose(&up);
    out = sh(dir, "cat README.md go.mod; git status --porcelain; "
                  "git rev-parse --abbrev-ref HEAD; "
                  "git log --format=%P -1 | wc -w; "
                  "grep template_version .paved/answers.yaml");
    assert_string_equal(out, "# checkout (template 2)\nowned by payments\n"
                             "team notes\nmodule checkout\n\ngo 1.19\n"
                             "paved/upgrade-2\n2\ntemplate_version: 2\n");
    /* running it again on the branch: nothing left to do */
    assert_int_equal(paved_scaffold_upgrade(&up, dir, f->f_tpl, &ident), 0);
    assert_int_equal(up.su_uptodate, 1);
    paved_scaffold_upgrade_dispose(&up);

    /* same again: branch exists */
    sh(dir, "git checkout -q main");
    assert_int_equal(paved_scaffold_upgrade(&up, dir, f->f_tpl, &ident),
                     PAVED_EEXISTS);
    paved_scaffold_upgrade_dispose(&up);
    sh(dir, "git merge -q paved/upgrade-2 && git branch -q -D "
            "paved/upgrade-2");

    /* both change the same line: conflict markers, merge not committed */
    sh(dir, "sed -i 's/^go 1.19$/go 1.20/' go.mod && git -c user.name=t -c "
            "user.email=t@x commit -qam go120");
    put(f->f_tpl, "VERSION", "3\n", 0);
    put(f->f_tpl, "langs/go/go.mod.tmpl",
        "module {{service.name}}\n\ngo 1.21\n", 0);
    assert_int_equal(paved_scaffold_upgrade(&up, dir, f->f_tpl, &ident), 0);
    assert_int_equal(up.su_nconflicts, 1);
    assert_string_equal(up.su_conflicts[0], "go.mod");
    assert_string_equal(up.su_commit, "");
    assert_string_equal(up.su_branch, "paved/upgrade-3");
    paved_scaffold_upgrade_dispose(&up);
    out = sh(dir, "cat go.mod; test -f .git/MERGE_HEAD && echo merging");
    assert_non_null(strstr(out, "<<<<<<< yours (HEAD)\ngo 1.20\n=======\n"
                                "go 1.21\n>>>>>>> templates (version 3)\n"));
    assert_non_null(strstr(out, "merging"));
    /* a merge under way is refused */
    assert_int_equal(paved_scaffold_upgrade(&up, dir, f->f_tpl, &ident),
                     PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "in progress"));
    paved_scaffold_upgrade_dispose(&up);
    sh(dir, "git merge --abort && git checkout -q main");

    /* a file the templates add, sitting untracked, is named up front; a
     * detached HEAD stays detached and no branch is made */
    put(f->f_tpl, "VERSION", "4\n", 0);
    put(f->f_tpl, "shared/NEW.md", "new in 4\n", 0);
    sh(dir, "git checkout -q --detach && echo mine > NEW.md");
    assert_int_equal(paved_scaffold_upgrade(&up, dir, f->f_tpl, &ident),
                     PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "NEW.md is untracked"));
    paved_scaffold_upgrade_dispose(&up);
    out = sh(dir, "git rev-parse --abbrev-ref HEAD; git branch --list "
                  "'paved/upgrade-4'; cat NEW.md");
    assert_string_equal(out, "HEAD\nmine\n");
    sh(dir, "rm NEW.md && git checkout -q main");

    /* uncommitted changes are refused */
    sh(dir, "echo more >> README.md");
    assert_int_equal(paved_scaffold_upgrade(&up, dir, f->f_tpl, &ident),
                     PAVED_EINVAL);
    assert_non_null(strstr(paved_error_last(), "uncommitted"));
    paved_scaffold_upgrade_dispose(&up);
}

static void
test_upgrade_not_paved(void **state)
{
    struct fx *f = *state;
    struct paved_scaffold_upgrade up;
    char dir[256];

    snprintf(dir, sizeof(dir), "%s/plain", f->f_dir);
    assert_int_equal(paved_scaffold_upgrade(&up, dir, f->f_tpl, &ident),
                     PAVED_ENOTFOUND);
    sh(f->f_dir, "git init -q plain && cd plain && echo x > a && git add a "
                 "&& git -c user.name=t -c user.email=t@x commit -qm x");
    assert_int_equal(paved_scaffold_upgrade(&up, dir, f->f_tpl, &ident),
                     PAVED_ENOTFOUND);
    assert_non_null(strstr(paved_error_last(), "answers.yaml"));
    paved_scaffold_upgrade_dispose(&up);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_answers_parse),
        cmocka_unit_test_setup_teardown(test_render_layers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_render_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_and_push, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_not_paved, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
