/* Unit tests for what the pipeline module decides about events: trigger
 * matching (push, tag, pull request, deletions, pings, paths, repos), the
 * environment, glob semantics, `if` expressions (a truth table with
 * precedence and injection-looking values) and the .paved.yaml merge. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "paved/error.h"
#include "paved/event.h"
#include "paved/pipeline.h"

static const char *
fixture(char *buf, size_t n, const char *rel)
{
    const char *src = getenv("PAVED_SOURCE_DIR");

    snprintf(buf, n, "%s/tests/fixtures/pipelines/%s", src ? src : ".", rel);
    return buf;
}

static paved_pipeline *
load_ok(const char *rel)
{
    paved_pipeline *pl = NULL;
    char path[PATH_MAX];

    if (paved_pipeline_load(&pl, NULL, fixture(path, sizeof(path), rel)) < 0)
        fail_msg("%s", paved_error_last());
    return pl;
}

static paved_pipeline *
parse_ok(const char *yaml)
{
    paved_pipeline *pl = NULL;

    if (paved_pipeline_parse(&pl, NULL, "t.yaml", yaml, strlen(yaml)) < 0)
        fail_msg("%s", paved_error_last());
    return pl;
}

static struct paved_event
ev_make(enum paved_event_kind kind, const char *repo)
{
    struct paved_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.ev_kind = kind;
    ev.ev_repo = (char *)repo;
    return ev;
}

static void
test_glob(void **state)
{
    static const struct {
        const char *pat, *s;
        bool want;
    } cases[] = {
        {"main", "main", true},
        {"main", "main2", false},
        {"*", "feature", true},
        {"*", "feature/x", false},
        {"feature/*", "feature/x", true},
        {"feature/*", "feature/x/y", false},
        {"feature/**", "feature/x/y", true},
        {"**", "a/b/c", true},
        {"**", "", true},
        {"src/**/*.c", "src/a.c", true},
        {"src/**/*.c", "src/x/y/a.c", true},
        {"src/**/*.c", "src/x/y/a.h", false},
        {"**/*.md", "README.md", true},
        {"**/*.md", "docs/x/README.md", true},
        {"docs/*.md", "docs/x/a.md", false},
        {"v?", "v1", true},
        {"v?", "v10", false},
        {"a?b", "a/b", false},
        {"v[0-9]*", "v1.2", true},
        {"v[0-9]*", "vx", false},
        {"v[!0-9]", "vx", true},
        {"v[!0-9]", "v1", false},
        {"v[^0-9]", "v1", false},
        {"[]]", "]", true},
        {"[a-]", "-", true},
        {"a\\*", "a*", true},
        {"a\\*", "ab", false},
        {"x[/]y", "x/y", false},
        {"a**b", "a/x/b", true},
        {"*.*.*", "1.2.3", true},
        {"acme/*", "acme/app", true},
        {"acme/*", "other/app", false},
        /* many stars against a long non-match stay linear */
        {"*a*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         false},
        {"**a**a**a**a**a**a**b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         false},
    };
    static const char *const bad[] = {"",      "[a", "a\\", "***",
                                      "[z-a]", "[]", "x[\\"};
    char why[128];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(
            paved_pipeline_glob_check(cases[i].pat, why, sizeof(why)), 0);
        if (paved_pipeline_glob_match(cases[i].pat, cases[i].s) !=
            cases[i].want)
            fail_msg("glob \"%s\" against \"%s\": want %d", cases[i].pat,
                     cases[i].s, cases[i].want);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        assert_int_equal(paved_pipeline_glob_check(bad[i], why, sizeof(why)),
                         PAVED_EINVAL);
        assert_true(why[0] != '\0');
        assert_false(paved_pipeline_glob_match(bad[i], ""));
    }
}

static void
test_match_push_tag(void **state)
{
    paved_pipeline *pl = load_ok("valid/full.yaml");
    struct paved_event ev = ev_make(PAVED_EVENT_PUSH, "acme/app");
    const char *paths_src[] = {"README", "src/x/y.c"};
    const char *paths_doc[] = {"docs/a.md"};
    const char *paths_no[] = {"docs/x/a.md", "Makefile"};
    const char *why = "unset";

    (void)state;
    ev.ev_branch = "main";
    assert_int_equal(paved_pipeline_match(pl, &ev, NULL, 0, &why), 1);
    assert_null(why);
    ev.ev_branch = "release/1.0";
    assert_int_equal(paved_pipeline_match(pl, &ev, NULL, 0, &why), 1);
    ev.ev_branch = "release/old-1"; /* excluded by the later "!" */
    assert_int_equal(paved_pipeline_match(pl, &ev, NULL, 0, &why), 0);
    assert_string_equal(why, "branch not in on.push.branches");
    ev.ev_branch = "release/1/2"; /* * stays in one segment */
    assert_int_equal(paved_pipeline_match(pl, &ev, NULL, 0, &why), 0);
    /* paths: one changed path that passes is enough; NULL is unknown */
    ev.ev_branch = "main";
    assert_int_equal(paved_pipeline_match(pl, &ev, paths_src, 2, &why), 1);
    assert_int_equal(paved_pipeline_match(pl, &ev, paths_doc, 1, &why), 1);
    assert_int_equal(paved_pipeline_match(pl, &ev, paths_no, 2, &why), 0);
    assert_string_equal(why, "no changed path matches on.push.paths");
    assert_int_equal(paved_pipeline_match(pl, &ev, paths_no, 0, &why), 0);
    /* repos: everything of acme but acme/legacy */
    ev.ev_repo = "acme/legacy";
    assert_int_equal(paved_pipeline_match(pl, &ev, NULL, 0, &why), 0);
    assert_string_equal(why, "repository not in repos");
    ev.ev_repo = "other/app";
    assert_int_equal(paved_pipeline_match(pl, &ev, NULL, 0, NULL), 0);
    ev.ev_repo = NULL;
    assert_int_equal(paved_pipeline_match(pl, &ev, NULL, 0, NULL), 0);
    ev.ev_repo = "acme/app";
    /* deleted refs never match */
    ev.ev_deleted = true;
    assert_int_equal(paved_pipeline_match(pl, &ev, NULL, 0, &why), 0);
    assert_string_equal(why, "the branch was deleted");
    assert_null(paved_pipeline_environment(&ev));
    ev.ev_deleted = false;
    assert_string_equal(paved_pipeline_environment(&ev), "staging");

    ev.ev_kind = PAVED_EVENT_TAG;
    ev.ev_branch = NULL;
    ev.ev_tag = "v1.0";
    assert_int_equal(paved_pipeline_match(pl, &ev, NULL, 0, &why), 1);
    assert_string_equal(paved_pipeline_environment(&ev), "production");
    ev.ev_tag = "va";
    assert_int_equal(paved_pipeline_match(pl, &ev, NULL, 0, &why), 0);
    assert_string_equal(why, "tag not in on.tag.patterns");
    ev.ev_tag = "v2";
    ev.ev_deleted = true;
    assert_int_equal(paved_pipeline_match(pl, &ev, NULL, 0, &why), 0);
    assert_string_equal(why, "the tag was deleted");
    paved_pipeline_free(pl);
}

static void
test_match_pull_request(void **state)
{
    paved_pipeline *pl = load_ok("valid/full.yaml");
    paved_pipeline *min = load_ok("valid/minimal.yaml");
    struct paved_event ev = ev_make(PAVED_EVENT_PULL_REQUEST, "acme/app");
    const char *paths_c[] = {"lib/x.c"};
    const char *paths_h[] = {"lib/x.h"};
    const char *why;

    (void)state;
    ev.ev_branch = "feature"; /* the head: not what branches filter */
    ev.ev_pr_head = "feature";
    ev.ev_pr_base = "main";
    ev.ev_pr_number = 12;
    ev.ev_action = "opened";
    assert_int_equal(paved_pipeline_match(pl, &ev, NULL, 0, &why), 1);
    assert_null(paved_pipeline_environment(&ev));
    ev.ev_pr_base = "stable/1/2";
    assert_int_equal(paved_pipeline_match(pl, &ev, NULL, 0, &why), 1);
    ev.ev_pr_base = "develop";
    assert_int_equal(paved_pipeline_match(pl, &ev, NULL, 0, &why), 0);
    assert_string_equal(why, "base branch not in on.pull_request.branches");
    ev.ev_pr_base = "main";
    /* full.yaml lists opened, synchronize, closed */
    ev.ev_action = "reopened";
    assert_int_equal(paved_pipeline_match(pl, &ev, NULL, 0, &why), 0);
    assert_string_equal(why,
                        "pull request action not in on.pull_request.actions");
    ev.ev_action = "closed";
    assert_int_equal(paved_pipeline_match(pl, &ev, NULL, 0, &why), 1);
    ev.ev_action = "opened";
    assert_int_equal(paved_pipeline_match(pl, &ev, paths_c, 1, &why), 1);
    assert_int_equal(paved_pipeline_match(pl, &ev, paths_h, 1, &why), 0);
    assert_string_equal(why, "no changed path matches on.pull_request.paths");

    /* default actions: opened, synchronize, reopened */
    ev.ev_repo = "anyone/anything"; /* no repos: every repository */
    ev.ev_action = "reopened";
    assert_int_equal(paved_pipeline_match(min, &ev, NULL, 0, &why), 1);
    /* the forge adapters give every forge's actions GitHub's names */
    ev.ev_action = "synchronize";
    assert_int_equal(paved_pipeline_match(min, &ev, NULL, 0, &why), 1);
    ev.ev_action = "edited";
    assert_int_equal(paved_pipeline_match(min, &ev, NULL, 0, &why), 0);
    ev.ev_action = "closed";
    assert_int_equal(paved_pipeline_match(min, &ev, NULL, 0, &why), 0);
    ev.ev_action = "labeled";
    assert_int_equal(paved_pipeline_match(min, &ev, NULL, 0, &why), 0);
    ev.ev_action = NULL;
    assert_int_equal(paved_pipeline_match(min, &ev, NULL, 0, &why), 0);
    paved_pipeline_free(pl);
    paved_pipeline_free(min);
}

static void
test_match_never(void **state)
{
    paved_pipeline *pl = parse_ok("name: all\non: {push: , tag: , "
                                  "pull_request: }\nsteps: [{name: a, "
                                  "run: x}]\n");
    paved_pipeline *only_tag = parse_ok("name: t\non: {tag: }\nsteps: "
                                        "[{name: a, run: x}]\n");
    static const enum paved_event_kind never[] = {
        PAVED_EVENT_DELETE, PAVED_EVENT_PING, PAVED_EVENT_CREATE,
        PAVED_EVENT_RELEASE, PAVED_EVENT_OTHER};
    struct paved_event ev = ev_make(PAVED_EVENT_PUSH, "a/b");
    const char *why;
    size_t i;

    (void)state;
    ev.ev_branch = "anything/at/all";
    ev.ev_tag = "x";
    ev.ev_ref = "refs/heads/anything/at/all";
    ev.ev_pr_base = "x";
    ev.ev_action = "opened";
    assert_int_equal(paved_pipeline_match(pl, &ev, NULL, 0, &why), 1);
    assert_int_equal(paved_pipeline_match(only_tag, &ev, NULL, 0, &why), 0);
    assert_string_equal(why, "no on.push trigger");
    for (i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
        ev.ev_kind = never[i];
        why = NULL;
        assert_int_equal(paved_pipeline_match(pl, &ev, NULL, 0, &why), 0);
        assert_non_null(why);
        assert_null(paved_pipeline_environment(&ev));
    }
    ev.ev_kind = PAVED_EVENT_DELETE;
    paved_pipeline_match(pl, &ev, NULL, 0, &why);
    assert_string_equal(why, "deletions never run pipelines");
    ev.ev_kind = PAVED_EVENT_PING;
    paved_pipeline_match(pl, &ev, NULL, 0, &why);
    assert_string_equal(why, "pings never run pipelines");
    ev.ev_kind = PAVED_EVENT_PULL_REQUEST;
    assert_int_equal(paved_pipeline_match(only_tag, &ev, NULL, 0, &why), 0);
    assert_string_equal(why, "no on.pull_request trigger");
    paved_pipeline_free(pl);
    paved_pipeline_free(only_tag);
}

static int
eval(const char *text, const struct paved_event *ev)
{
    paved_pipeline_expr *ex = NULL;
    size_t off;
    int r;

    if (paved_pipeline_expr_parse(&ex, text, &off) < 0)
        fail_msg("\"%s\": %s at %zu", text, paved_error_last(), off);
    r = paved_pipeline_expr_eval(ex, ev);
    paved_pipeline_expr_free(ex);
    return r;
}

static void
test_expr_truth(void **state)
{
    struct paved_event ev = ev_make(PAVED_EVENT_PUSH, "acme/app");
    static const struct {
        const char *text;
        int want;
    } cases[] = {
        {"event == 'push'", 1},
        {"event != 'push'", 0},
        {"'push' == event", 1},
        {"branch == 'main'", 1},
        {"branch =~ 'ma*'", 1},
        {"branch !~ 'ma*'", 0},
        {"tag == ''", 1}, /* unset fields are empty strings */
        {"tag", 0},       /* a field alone: is it set? */
        {"branch", 1},
        {"!tag", 1},
        {"true", 1},
        {"false", 0},
        {"true || false && false", 1},   /* && binds tighter */
        {"(true || false) && false", 0}, /* unless parenthesised */
        {"false && true || true", 1},
        {"!false && false", 0}, /* ! binds tightest */
        {"!(false && false)", 1},
        {"!!true", 1},
        {"repo =~ 'acme/*' && actor == 'ann'", 1},
        {"pr_number == ''", 1},
        {"action == '' && base == ''", 1},
        {"ref == 'refs/heads/main'", 1},
        {"event == 'pull_request' || branch == 'main' && tag == ''", 1},
        {"  branch\t==\n'main'  ", 1},
        {"branch == 'it''s'", 0},
    };
    size_t i;

    (void)state;
    ev.ev_branch = "main";
    ev.ev_ref = "refs/heads/main";
    ev.ev_actor = "ann";
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (eval(cases[i].text, &ev) != cases[i].want)
            fail_msg("\"%s\": want %d", cases[i].text, cases[i].want);
    ev.ev_branch = "it's";
    assert_int_equal(eval("branch == 'it''s'", &ev), 1);
    ev.ev_kind = PAVED_EVENT_PULL_REQUEST;
    ev.ev_pr_number = 42;
    ev.ev_action = "opened";
    ev.ev_pr_base = "main";
    assert_int_equal(eval("pr_number == '42' && action == 'opened' && "
                          "base == 'main' && event == 'pull_request'",
                          &ev),
                     1);
    assert_int_equal(paved_pipeline_expr_eval(NULL, &ev), 1);
}

/* Event text is a value, never code: nothing is spliced and reparsed. */
static void
test_expr_injection(void **state)
{
    struct paved_event ev = ev_make(PAVED_EVENT_PUSH, "acme/app");
    static const char *const hostile[] = {
        "main' || 'x",
        "main' || true || '",
        "' || '' == '",
        "main') || (true",
        "*",
        "$(touch /tmp/x)",
        "main;touch${IFS}/x",
        "\n|| true",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        ev.ev_branch = (char *)hostile[i];
        ev.ev_actor = (char *)hostile[i];
        assert_int_equal(eval("branch == 'main'", &ev), 0);
        assert_int_equal(eval("branch == 'main' || actor == 'x'", &ev), 0);
        assert_int_equal(eval("branch != 'main'", &ev), 1);
        assert_int_equal(eval("branch =~ 'main'", &ev), 0);
    }
    /* a glob in the data is not a glob: only the literal is a pattern */
    ev.ev_branch = "*";
    assert_int_equal(eval("branch =~ 'main'", &ev), 0);
    assert_int_equal(eval("branch == '*'", &ev), 1);
}

static void
test_expr_errors(void **state)
{
    static const struct {
        const char *text;
        size_t off;
        const char *msg;
    } cases[] = {
        {"", 0, "empty expression (remove the if, or write a condition)"},
        {"branch = 'main'", 7,
         "\"=\" is not an operator (use == to compare or =~ to match a "
         "pattern)"},
        {"branch == \"main\"", 10, "strings take single quotes: 'main'"},
        {"brnch == 'x'", 0,
         "unknown name \"brnch\" (did you mean "
         "\"branch\"?)"},
        {"branch == 'main", 10, "string is not closed (add a ' at the end)"},
        {"(branch == 'x'", 14,
         "expected \")\" to close the \"(\" at offset 0, got the end"},
        {"branch == 'x')", 13,
         "unexpected \")\" (join conditions with && or ||)"},
        {"branch == 'x' branch", 14,
         "unexpected a name (join conditions with && or ||)"},
        {"'x'", 0,
         "a string alone is not a condition (compare it: branch "
         "== 'main')"},
        {"'x' == 'y'", 0,
         "compares two strings (one side should be a name "
         "such as branch)"},
        {"tag =~ branch", 7, "the right side of =~ must be a 'pattern'"},
        {"tag =~ 'v['", 7,
         "bad pattern: \"[\" is not closed (write \\[ for "
         "a literal bracket)"},
        {"branch & tag", 7, "\"&\" is not an operator (use &&)"},
        {"branch | tag", 7, "\"|\" is not an operator (use ||)"},
        {"branch ==", 9, "expected a name or a 'string', got the end"},
        {"true == 'x'", 5,
         "unexpected a comparison (join conditions with && "
         "or ||)"},
        {"branch == 'x' && && tag", 17,
         "expected a name or a 'string', got \"&&\""},
        {"branch == 'x' $", 14, "unexpected \"$\""},
        /* a constant followed by a bad token once leaked (found by fuzzing) */
        {"true 'x", 5, "string is not closed (add a ' at the end)"},
        {"false ~", 6, "unexpected \"~\""},
        {"((((((((((((((((((((((((((((((((((true))))))))))))))))))))))))))"
         "))))))))",
         32, "nested too deeply"},
    };
    paved_pipeline_expr *ex;
    size_t i, off;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ex = NULL;
        off = 999;
        assert_int_equal(paved_pipeline_expr_parse(&ex, cases[i].text, &off),
                         PAVED_EINVAL);
        assert_null(ex);
        if (strcmp(paved_error_last(), cases[i].msg) != 0 ||
            off != cases[i].off)
            fail_msg("\"%s\": got %zu \"%s\", want %zu \"%s\"", cases[i].text,
                     off, paved_error_last(), cases[i].off, cases[i].msg);
    }
}

static void
test_concurrency_group(void **state)
{
    paved_pipeline *pl = load_ok("valid/minimal.yaml");
    struct paved_event ev = ev_make(PAVED_EVENT_PULL_REQUEST, "acme/app");
    char *g = NULL;

    (void)state;
    ev.ev_ref = "refs/pull/3/head";
    assert_int_equal(paved_pipeline_concurrency_group(&g, pl, &ev), 0);
    assert_string_equal(g, "acme/app/refs/pull/3/head/service");
    free(g);
    paved_pipeline_free(pl);
    pl = parse_ok("name: g\non: {push: }\nconcurrency: {group: "
                  "'{event}:{pr_number}:{tag}:x'}\nsteps: [{name: a, run: "
                  "x}]\n");
    ev.ev_pr_number = 3;
    assert_int_equal(paved_pipeline_concurrency_group(&g, pl, &ev), 0);
    assert_string_equal(g, "pull_request:3::x");
    free(g);
    paved_pipeline_free(pl);
}

static paved_pipeline_set *
platform_set(void)
{
    paved_pipeline_set *set = NULL;
    char path[PATH_MAX];

    if (paved_pipeline_load_dir(
            &set, NULL, fixture(path, sizeof(path), "repo/pipelines")) < 0)
        fail_msg("%s", paved_error_last());
    return set;
}

static void
test_repo_merge(void **state)
{
    struct paved_pipeline_diags dl = PAVED_PIPELINE_DIAGS_INIT;
    paved_pipeline_set *set = platform_set();
    paved_pipeline_repo *rf = NULL;
    paved_pipeline *pl = NULL;
    const struct paved_pipeline_kv *env;
    const struct paved_step *st;
    struct paved_event ev = ev_make(PAVED_EVENT_PUSH, "a/b");
    char path[PATH_MAX];
    size_t n;

    (void)state;
    fixture(path, sizeof(path), "repo/ok.yaml");
    assert_int_equal(paved_pipeline_repo_load(&rf, &dl, path), 0);
    assert_string_equal(paved_pipeline_repo_selects(rf), "ext");
    assert_int_equal(paved_pipeline_merge(&pl, &dl, set, rf), 0);
    assert_int_equal(dl.dl_n, 0);
    assert_string_equal(paved_pipeline_name(pl), "ext");
    env = paved_pipeline_env(pl, &n);
    assert_int_equal(n, 3);
    assert_string_equal(env[0].kv_key, "REGISTRY");
    assert_string_equal(env[0].kv_value, "registry.internal");
    assert_string_equal(env[1].kv_key, "LEVEL");
    assert_string_equal(env[1].kv_value, "2"); /* the repository's value */
    assert_string_equal(env[2].kv_key, "EXTRA");
    assert_int_equal(paved_pipeline_nsteps(pl), 4);
    st = paved_pipeline_step(pl, 1);
    assert_string_equal(st->st_name, "test");
    assert_false(st->st_from_repo);
    st = paved_pipeline_step(pl, 3);
    assert_string_equal(st->st_name, "docs");
    assert_true(st->st_from_repo);
    assert_string_equal(st->st_file, path);
    assert_int_equal(st->st_line, 10);
    assert_int_equal(st->st_nneeds, 2);
    ev.ev_branch = "main";
    assert_int_equal(paved_pipeline_eval_if(pl, 3, &ev), 1);
    ev.ev_branch = "dev";
    assert_int_equal(paved_pipeline_eval_if(pl, 3, &ev), 0);
    paved_pipeline_free(pl);
    /* the platform's own pipeline is untouched */
    assert_int_equal(paved_pipeline_nsteps(paved_pipeline_set_find(set, "ext")),
                     2);
    env = paved_pipeline_env(paved_pipeline_set_find(set, "ext"), &n);
    assert_string_equal(env[1].kv_value, "1");
    paved_pipeline_repo_free(rf);
    paved_pipeline_repo_free(NULL);

    /* env alone is fine where steps are not */
    fixture(path, sizeof(path), "repo/closed-env.yaml");
    assert_int_equal(paved_pipeline_repo_load(&rf, &dl, path), 0);
    assert_int_equal(paved_pipeline_merge(&pl, &dl, set, rf), 0);
    env = paved_pipeline_env(pl, &n);
    assert_string_equal(env[0].kv_value, "3");
    paved_pipeline_free(pl);
    paved_pipeline_repo_free(rf);
    paved_pipeline_set_free(set);
}

struct repo_case {
    const char *file;
    bool parse_fails; /* the file alone is wrong, before any merge */
    const char *diags[12];
};

static const struct repo_case repo_cases[] = {
    {"repo/bad.yaml",
     false,
     {"3:3: env: \"REGISTRY\" is protected by the platform pipeline (its "
      "protected_env; ask the platform team to change it)",
      "4:3: env: \"DEPLOY_KEY\" is protected by the platform pipeline (its "
      "protected_env; ask the platform team to change it)",
      "5:3: env: \"TOKEN\" is a secret of pipeline \"ext\"; a repository "
      "cannot set it",
      "7:11: step \"build\" shadows the platform pipeline's step of that "
      "name (%P/ext.yaml:10; pick another name)",
      "10:13: step \"extra\" needs unknown step \"tset\" (did you mean "
      "\"test\"?)",
      "16:13: needs form a cycle: loop1 -> loop2 -> loop1 (remove one of "
      "these needs)",
      NULL}},
    {"repo/closed.yaml",
     false,
     {"5:3: steps: pipeline \"closed\" does not accept steps from a "
      "repository (the platform pipeline must say extensible: true)",
      NULL}},
    {"repo/unknown.yaml",
     false,
     {"1:11: pipeline \"extt\" is not a platform pipeline (did you mean "
      "\"ext\"?)",
      NULL}},
    {"repo/shape.yaml",
     true,
     {"1:1: unknown key \"pipline\" in .paved.yaml (did you mean "
      "\"pipeline\"?)",
      "1:1: missing \"pipeline\" (name the platform pipeline to use: "
      "pipeline: service)",
      "3:3: steps: expected a list of steps, got a mapping", NULL}},
};

static void
test_repo_errors(void **state)
{
    struct paved_pipeline_diags dl = PAVED_PIPELINE_DIAGS_INIT;
    paved_pipeline_set *set = platform_set();
    paved_pipeline_repo *rf;
    paved_pipeline *pl;
    char path[PATH_MAX], platform[PATH_MAX], got[2048], want[PATH_MAX + 2048];
    const char *p;
    size_t i, j;

    (void)state;
    fixture(platform, sizeof(platform), "repo/pipelines");
    for (i = 0; i < sizeof(repo_cases) / sizeof(repo_cases[0]); i++) {
        const struct repo_case *c = &repo_cases[i];
        fixture(path, sizeof(path), c->file);
        rf = NULL;
        pl = NULL;
        if (c->parse_fails) {
            assert_int_equal(paved_pipeline_repo_load(&rf, &dl, path),
                             PAVED_EINVAL);
            assert_null(rf);
        } else {
            assert_int_equal(paved_pipeline_repo_load(&rf, &dl, path), 0);
            assert_int_equal(paved_pipeline_merge(&pl, &dl, set, rf),
                             PAVED_EINVAL);
            assert_null(pl);
        }
        for (j = 0; c->diags[j] != NULL; j++) {
            if (j >= dl.dl_n)
                fail_msg("%s: only %zu diagnostics", c->file, dl.dl_n);
            /* %P stands for the platform directory */
            p = strstr(c->diags[j], "%P");
            if (p != NULL)
                snprintf(want, sizeof(want), "%.*s%s%s", (int)(p - c->diags[j]),
                         c->diags[j], platform, p + 2);
            else
                snprintf(want, sizeof(want), "%s", c->diags[j]);
            snprintf(got, sizeof(got), "%u:%u: %s", dl.dl_items[j].dg_line,
                     dl.dl_items[j].dg_column, dl.dl_items[j].dg_message);
            if (strcmp(got, want) != 0)
                fail_msg("%s: %zu\n got: %s\nwant: %s", c->file, j, got, want);
            assert_string_equal(dl.dl_items[j].dg_file, path);
        }
        assert_int_equal(dl.dl_n, j);
        paved_pipeline_diags_dispose(&dl);
        paved_pipeline_repo_free(rf);
    }
    paved_pipeline_set_free(set);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_glob),
        cmocka_unit_test(test_match_push_tag),
        cmocka_unit_test(test_match_pull_request),
        cmocka_unit_test(test_match_never),
        cmocka_unit_test(test_expr_truth),
        cmocka_unit_test(test_expr_injection),
        cmocka_unit_test(test_expr_errors),
        cmocka_unit_test(test_concurrency_group),
        cmocka_unit_test(test_repo_merge),
        cmocka_unit_test(test_repo_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
