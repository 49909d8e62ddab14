/* Unit tests for pipeline definitions: the model of valid files, every
 * validation error of tests/fixtures/pipelines/invalid with its exact
 * line:column, directory loading, and the shipped pipelines/ directory.
 * Matching, expressions, globs and .paved.yaml live in
 * test_pipeline_match.c. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli.h"
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
    struct paved_pipeline_diags dl = PAVED_PIPELINE_DIAGS_INIT;
    paved_pipeline *pl = NULL;
    char path[PATH_MAX];

    if (paved_pipeline_load(&pl, &dl, fixture(path, sizeof(path), rel)) < 0)
        fail_msg("%s", paved_error_last());
    assert_int_equal(dl.dl_n, 0);
    assert_non_null(pl);
    paved_pipeline_diags_dispose(&dl);
    return pl;
}

static void
test_minimal(void **state)
{
    paved_pipeline *pl = load_ok("valid/minimal.yaml");
    const struct paved_step *st;
    unsigned mq = 99;
    size_t n = 99;

    (void)state;
    assert_string_equal(paved_pipeline_name(pl), "service");
    assert_int_equal(paved_pipeline_nsteps(pl), 2);
    st = paved_pipeline_step(pl, 0);
    assert_string_equal(st->st_name, "build");
    assert_string_equal(st->st_run, "make build");
    assert_null(st->st_uses);
    assert_int_equal(st->st_timeout, 600);
    assert_int_equal(st->st_retries, 0);
    assert_int_equal(st->st_nneeds, 0);
    assert_null(st->st_if);
    assert_false(st->st_allow_failure);
    assert_false(st->st_from_repo);
    assert_int_equal(st->st_line, 8);
    assert_int_equal(st->st_column, 11);
    st = paved_pipeline_step(pl, 1);
    assert_string_equal(st->st_name, "test");
    assert_int_equal(st->st_timeout, 1800); /* the default: 30m */
    assert_int_equal(st->st_nneeds, 1);
    assert_string_equal(st->st_needs[0], "build");
    assert_null(paved_pipeline_step(pl, 2));
    assert_int_equal(paved_pipeline_step_index(pl, "test"), 1);
    assert_int_equal(paved_pipeline_step_index(pl, "nope"), -1);
    assert_null(paved_pipeline_env(pl, &n));
    assert_int_equal(n, 0);
    assert_null(paved_pipeline_secrets(pl, &n));
    assert_int_equal(n, 0);
    assert_int_equal(paved_pipeline_concurrency(pl, &mq),
                     PAVED_CONCURRENCY_CANCEL);
    assert_int_equal(mq, 0);
    assert_false(paved_pipeline_extensible(pl));
    paved_pipeline_free(pl);
    paved_pipeline_free(NULL);
}

static void
test_full(void **state)
{
    paved_pipeline *pl = load_ok("valid/full.yaml");
    const struct paved_pipeline_kv *env;
    const struct paved_step *st;
    struct paved_event ev;
    char *const *sec;
    char *group = NULL;
    unsigned mq = 0;
    size_t n;

    (void)state;
    assert_string_equal(paved_pipeline_name(pl), "full-1");
    env = paved_pipeline_env(pl, &n);
    assert_int_equal(n, 3);
    assert_string_equal(env[0].kv_key, "GOFLAGS");
    assert_string_equal(env[0].kv_value, "-mod=vendor");
    assert_string_equal(env[1].kv_key, "EMPTY");
    assert_string_equal(env[1].kv_value, "");
    assert_string_equal(env[2].kv_value, "42");
    sec = paved_pipeline_secrets(pl, &n);
    assert_int_equal(n, 2);
    assert_string_equal(sec[0], "API_KEY");
    assert_string_equal(sec[1], "DB_PASSWORD");
    assert_int_equal(paved_pipeline_concurrency(pl, &mq),
                     PAVED_CONCURRENCY_QUEUE);
    assert_int_equal(mq, 3);
    assert_true(paved_pipeline_extensible(pl));
    memset(&ev, 0, sizeof(ev));
    ev.ev_kind = PAVED_EVENT_PUSH;
    ev.ev_repo = "acme/app";
    ev.ev_branch = "main";
    assert_int_equal(paved_pipeline_concurrency_group(&group, pl, &ev), 0);
    assert_string_equal(group, "acme/app-main");
    free(group);

    assert_int_equal(paved_pipeline_nsteps(pl), 3);
    st = paved_pipeline_step(pl, 0);
    assert_string_equal(st->st_run, "make build\necho done\n");
    assert_int_equal(st->st_timeout, 3600);
    assert_int_equal(st->st_retries, 2);
    assert_true(st->st_allow_failure);
    assert_int_equal(st->st_nenv, 1);
    assert_string_equal(st->st_env[0].kv_key, "CC");
    assert_string_equal(st->st_env[0].kv_value, "clang");
    assert_string_equal(paved_pipeline_file(pl) +
                            strlen(paved_pipeline_file(pl)) -
                            strlen("valid/full.yaml"),
                        "valid/full.yaml");
    assert_ptr_equal(st->st_file, paved_pipeline_file(pl));
    st = paved_pipeline_step(pl, 1);
    assert_string_equal(st->st_name, "lint_docs");
    assert_string_equal(st->st_if,
                        "event == 'push' && (branch == 'main' || tag =~ "
                        "'v*')");
    assert_int_equal(paved_pipeline_eval_if(pl, 1, &ev), 1);
    ev.ev_branch = "dev";
    assert_int_equal(paved_pipeline_eval_if(pl, 1, &ev), 0);
    ev.ev_tag = "v2";
    assert_int_equal(paved_pipeline_eval_if(pl, 1, &ev), 1);
    assert_int_equal(paved_pipeline_eval_if(pl, 0, &ev), 1); /* no if */
    assert_true(paved_pipeline_eval_if(pl, 7, &ev) < 0);
    st = paved_pipeline_step(pl, 2);
    assert_int_equal(st->st_timeout, 90);
    assert_int_equal(st->st_nneeds, 2);
    assert_string_equal(st->st_needs[1], "lint_docs");
    paved_pipeline_free(pl);
}

/* Each invalid fixture with every diagnostic it must produce, in order. */
struct invalid_case {
    const char *file;
    const char *diags[24]; /* "LINE:COL: message", NULL-terminated */
};

static const struct invalid_case invalid_cases[] = {
    {"invalid/needs-unknown.yaml",
     {"9:13: step \"test\" needs unknown step \"biuld\" (did you mean "
      "\"build\"?)",
      "14:9: step \"deploy\" needs unknown step \"nothing-like-it\" (no step "
      "has that name)",
      NULL}},
    {"invalid/cycle.yaml",
     {"8:13: needs form a cycle: a -> c -> b -> a (remove one of these "
      "needs)",
      "14:13: step \"d\" needs itself (remove it from needs)",
      "14:19: step \"d\" lists \"a\" twice in needs", NULL}},
    {"invalid/keys.yaml",
     {"2:1: unknown key \"nmae\" in the pipeline (did you mean \"name\"?)",
      "5:5: unknown key \"branch\" in on.push (did you mean \"branches\"?)",
      "6:3: unknown key \"pull_requests\" in on (did you mean "
      "\"pull_request\"?)",
      "10:5: unknown key \"timeuot\" in step (did you mean \"timeout\"?)",
      "11:5: duplicate key \"run\" (first on line 9; keep one)",
      "12:1: duplicate key \"name\" (first on line 1; keep one)", NULL}},
    {"invalid/types.yaml",
     {"1:7: name: expected a string, got a list",
      "2:5: on: expected a mapping of \"key: value\", got a list",
      "3:6: env: expected a mapping of \"key: value\", got a list",
      "4:10: secrets: expected a list, got a mapping",
      "5:8: repos: expected a list, got a mapping",
      "7:5: steps: each step is a mapping with name and run, got a value",
      "9:10: run: expected a string, got a mapping",
      "10:12: needs: expected a list, got a mapping",
      "12:13: step \"ok\": env: LIST: expected a string, got a list",
      "13:7: step \"ok\": env: \"1BAD\" is not a variable name (letters, "
      "digits and _, not starting with a digit)",
      "14:7: step \"ok\": env: \"PAVED_SHA\" is reserved (paved sets PAVED_* "
      "variables for every step)",
      NULL}},
    {"invalid/missing.yaml",
     {"2:1: missing \"name\" (add name: service)",
      "2:1: missing \"steps\" (add a list of steps with name and run)", NULL}},
    {"invalid/empty-steps.yaml",
     {"3:8: steps: is empty (add at least one step)", NULL}},
    {"invalid/steps.yaml",
     {"6:11: duplicate step name \"build\" (first on line 4; step names "
      "must be unique)",
      "8:11: step name \"Bad_Name\" is not valid (lowercase letters, "
      "digits, - and _, starting with a letter or digit, at most 64)",
      "12:11: step \"both\" has both run and uses (a step is a script or a "
      "built-in kind: keep one)",
      "12:11: unknown step kind \"docker-build\" (built in: guardrails, "
      "scan; for anything else, run:)",
      "13:11: step \"neither\" has neither run nor uses (add run: with the "
      "commands)",
      "15:5: step 6 has no name (add name: build)",
      "17:11: unknown step kind \"checkout\" (built in: guardrails, scan; "
      "for anything else, run:)",
      NULL}},
    {"invalid/values.yaml",
     {"5:15: concurrency.max_queued only applies to mode: queue (cancel "
      "never keeps runs waiting)",
      "6:10: concurrency.group: unknown placeholder {branchh} (did you "
      "mean {branch}?)",
      "10:14: step \"a\": timeout: invalid duration \"10 minutes\" (use 10s, "
      "5m, 1h, 1h30m or whole seconds)",
      "13:14: step \"b\": timeout: \"0s\" is out of range (from 1s to 24h)",
      "16:14: step \"c\": timeout: \"2d\" is out of range (from 1s to 24h)",
      "19:14: step \"d\": retries: expected a whole number from 0 to 10, "
      "got \"11\"",
      "22:14: step \"e\": retries: expected a whole number from 0 to 10, "
      "got \"-1\"",
      "25:20: step \"f\": allow_failure: expected true or false, got "
      "\"maybe\"",
      "27:10: step \"g\": run: is empty (write the commands to run)", NULL}},
    {"invalid/globs.yaml",
     {"4:16: on.push.branches: bad pattern \"release/[0-9\": \"[\" is not "
      "closed (write \\[ for a literal bracket)",
      "4:40: on.push.branches: bad pattern \"a***\": \"***\" is not a "
      "pattern (use * within a segment or ** across)",
      "5:13: on.push.paths: bad pattern \"src/\\\": pattern ends in a lone "
      "\"\\\"",
      "7:16: on.tag.patterns: bad pattern \"v[z-a]\": range z-a is reversed",
      "9:23: on.pull_request.actions: unknown action \"synchronise\" (did "
      "you mean \"synchronize\"?)",
      "9:36: on.pull_request.actions: unknown action \"whatever\" (use "
      "opened, synchronize, reopened, closed, ...)",
      "10:9: repos: bad pattern \"[]\": \"[\" is not closed (write \\[ for "
      "a literal bracket)",
      NULL}},
    {"invalid/if.yaml",
     {"6:16: step \"a\": if: \"=\" is not an operator (use == to compare or "
      "=~ to match a pattern)",
      "9:30: step \"b\": if: unknown name \"brnch\" (did you mean "
      "\"branch\"?)",
      "12:17: step \"c\": if: bad pattern: \"[\" is not closed (write \\[ "
      "for a literal bracket)",
      "15:25: step \"d\": if: expected \")\" to close the \"(\" at offset 0, "
      "got the end",
      "18:18: step \"e\": if: strings take single quotes: 'main'",
      "23:7: step \"f\": if: a string alone is not a condition (compare it: "
      "branch == 'main')",
      "28:24: step \"g\": if: expected a name or a 'string', got the end",
      NULL}},
    {"invalid/syntax.yaml",
     {"7:1: YAML syntax error: found unexpected end of stream (a quote or "
      "bracket is not closed; while scanning a quoted scalar at 5:10)",
      NULL}},
    {"invalid/tabs.yaml",
     {"3:1: YAML syntax error: found character that cannot start any "
      "token (tabs are not allowed for indentation in YAML; use spaces)",
      NULL}},
    {"invalid/alias.yaml",
     {"2:60: aliases (*name) are not supported (write the value out)",
      "5:1: only one YAML document is allowed per file (remove \"---\"; "
      "one definition per file)",
      NULL}},
};

static void
check_diags(const struct paved_pipeline_diags *dl, const char *path,
            const char *const *want)
{
    char got[1024];
    size_t i;

    for (i = 0; want[i] != NULL && i < dl->dl_n; i++) {
        const struct paved_pipeline_diag *d = &dl->dl_items[i];
        snprintf(got, sizeof(got), "%u:%u: %s", d->dg_line, d->dg_column,
                 d->dg_message);
        if (strcmp(got, want[i]) != 0)
            fail_msg("%s: diagnostic %zu\n got: %s\nwant: %s", path, i, got,
                     want[i]);
        assert_string_equal(d->dg_file, path);
    }
    if (want[i] != NULL || i != dl->dl_n)
        fail_msg("%s: %zu diagnostics, want %zu (first extra: %s)", path,
                 dl->dl_n, i + (want[i] != NULL),
                 i < dl->dl_n ? dl->dl_items[i].dg_message : want[i]);
}

static void
test_invalid_files(void **state)
{
    struct paved_pipeline_diags dl = PAVED_PIPELINE_DIAGS_INIT;
    paved_pipeline *pl;
    char path[PATH_MAX], want[PATH_MAX + 1200];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(invalid_cases) / sizeof(invalid_cases[0]); i++) {
        const struct invalid_case *c = &invalid_cases[i];
        fixture(path, sizeof(path), c->file);
        pl = (paved_pipeline *)1;
        assert_int_equal(paved_pipeline_load(&pl, &dl, path), PAVED_EINVAL);
        assert_null(pl);
        check_diags(&dl, path, c->diags);
        /* the error message is the first diagnostic, and how many more */
        snprintf(want, sizeof(want), "%s:%s", path, c->diags[0]);
        assert_memory_equal(paved_error_last(), want, strlen(want));
        paved_pipeline_diags_dispose(&dl);
        /* diags may be NULL: the same error, nothing collected */
        assert_int_equal(paved_pipeline_load(&pl, NULL, path), PAVED_EINVAL);
        assert_memory_equal(paved_error_last(), want, strlen(want));
    }
}

/* Built-in steps and their with: parameters. */
static void
test_builtin_steps(void **state)
{
    static const char good[] = "name: a\non: {push: {}}\nsteps:\n"
                               "  - name: guard\n    uses: guardrails\n"
                               "    with: {fail_on: critical}\n"
                               "  - name: scan\n    uses: scan\n"
                               "    with: {image: reg/app:1, severity: HIGH}\n";
    static const char bad[] = "name: a\non: {push: {}}\nsteps:\n"
                              "  - name: guard\n    uses: guardrail\n"
                              "  - name: scan\n    uses: scan\n"
                              "    with: {imag: reg/app:1}\n"
                              "  - name: sh\n    run: make\n"
                              "    with: {x: y}\n";
    struct paved_pipeline_diags dl = PAVED_PIPELINE_DIAGS_INIT;
    const struct paved_step *st;
    paved_pipeline *pl = NULL;

    (void)state;
    assert_int_equal(
        paved_pipeline_parse(&pl, &dl, "x.yaml", good, sizeof(good) - 1), 0);
    st = paved_pipeline_step(pl, 0);
    assert_string_equal(st->st_uses, "guardrails");
    assert_null(st->st_run);
    assert_int_equal(st->st_nwith, 1);
    assert_string_equal(st->st_with[0].kv_key, "fail_on");
    assert_string_equal(st->st_with[0].kv_value, "critical");
    st = paved_pipeline_step(pl, 1);
    assert_string_equal(st->st_uses, "scan");
    assert_int_equal(st->st_nwith, 2);
    paved_pipeline_free(pl);

    assert_int_equal(
        paved_pipeline_parse(&pl, &dl, "x.yaml", bad, sizeof(bad) - 1),
        PAVED_EINVAL);
    assert_int_equal(dl.dl_n, 3);
    assert_string_equal(dl.dl_items[0].dg_message,
                        "unknown step kind \"guardrail\" (did you mean "
                        "\"guardrails\"?)");
    assert_string_equal(dl.dl_items[1].dg_message,
                        "step \"scan\": with: unknown parameter \"imag\" "
                        "(did you mean \"image\"?)");
    assert_string_equal(dl.dl_items[2].dg_message,
                        "step \"sh\": with: is for built-in steps (uses:); "
                        "a run: step takes env:");
    paved_pipeline_diags_dispose(&dl);
}

static void
test_memory_inputs(void **state)
{
    struct paved_pipeline_diags dl = PAVED_PIPELINE_DIAGS_INIT;
    paved_pipeline *pl = NULL;
    char *line = NULL;

    (void)state;
    assert_int_equal(paved_pipeline_parse(&pl, &dl, "x.yaml", NULL, 0),
                     PAVED_EINVAL);
    assert_int_equal(dl.dl_n, 1);
    assert_string_equal(dl.dl_items[0].dg_message, "the file is empty");
    assert_int_equal(paved_pipeline_diag_format(&line, &dl.dl_items[0]), 0);
    assert_string_equal(line, "x.yaml:1:1: the file is empty");
    free(line);
    paved_pipeline_diags_dispose(&dl);

    assert_int_equal(paved_pipeline_parse(&pl, &dl, "x.yaml", "- a\n", 4),
                     PAVED_EINVAL);
    assert_int_equal(dl.dl_n, 1);
    assert_string_equal(dl.dl_items[0].dg_message,
                        "expected a mapping with name, on and steps at the "
                        "top, got a list");
    paved_pipeline_diags_dispose(&dl);

    /* not NUL-terminated: only len bytes are read */
    assert_int_equal(paved_pipeline_parse(&pl, &dl, "x.yaml",
                                          "name: a\non: {push: {}}\nsteps: "
                                          "[{name: a, run: x}]\nXXX",
                                          50),
                     0);
    assert_int_equal(dl.dl_n, 0);
    assert_string_equal(paved_pipeline_name(pl), "a");
    paved_pipeline_free(pl);

    assert_int_equal(paved_pipeline_parse(&pl, &dl, "x.yaml",
                                          "name: a\nsteps: [{name: a}]\n", 27),
                     PAVED_EINVAL);
    assert_int_equal(dl.dl_n, 2);
    assert_string_equal(paved_error_last(),
                        "x.yaml:1:1: missing \"on\" (say when it runs: on: "
                        "{push: {branches: [main]}}) (and 1 more)");
    paved_pipeline_diags_dispose(&dl);

    /* a missing file is a diagnostic at line 0, and ENOTFOUND */
    assert_int_equal(paved_pipeline_load(&pl, &dl, "/nonexistent/p.yaml"),
                     PAVED_ENOTFOUND);
    assert_int_equal(dl.dl_n, 1);
    assert_int_equal(dl.dl_items[0].dg_line, 0);
    assert_int_equal(paved_pipeline_diag_format(&line, &dl.dl_items[0]), 0);
    assert_string_equal(line, "/nonexistent/p.yaml: cannot open: No such "
                              "file or directory");
    free(line);
    paved_pipeline_diags_dispose(&dl);
    paved_pipeline_diags_dispose(NULL);
}

/* A pipeline that is too big in every direction is refused, not slow. */
static void
test_limits(void **state)
{
    struct paved_pipeline_diags dl = PAVED_PIPELINE_DIAGS_INIT;
    paved_pipeline *pl = NULL;
    char *y;
    size_t i, o = 0, cap = 1 << 20;

    (void)state;
    y = malloc(cap);
    assert_non_null(y);
    o += (size_t)snprintf(y + o, cap - o,
                          "name: big\non: {push: {}}\n"
                          "steps:\n");
    for (i = 0; i < 300; i++)
        o += (size_t)snprintf(y + o, cap - o, "  - {name: s%zu, run: x}\n", i);
    assert_int_equal(paved_pipeline_parse(&pl, &dl, "big.yaml", y, o),
                     PAVED_EINVAL);
    assert_int_equal(dl.dl_n, 1);
    assert_string_equal(dl.dl_items[0].dg_message,
                        "steps: more than 256 steps in one pipeline");
    paved_pipeline_diags_dispose(&dl);
    /* 500 errors: the first 100, then one that says it stopped */
    o = (size_t)snprintf(y, cap, "name: big\non: {push: {}}\nsteps:\n");
    for (i = 0; i < 200; i++)
        o += (size_t)snprintf(y + o, cap - o, "  - {name: s%zu, bad: x}\n", i);
    assert_int_equal(paved_pipeline_parse(&pl, &dl, "big.yaml", y, o),
                     PAVED_EINVAL);
    assert_int_equal(dl.dl_n, 101);
    assert_string_equal(dl.dl_items[100].dg_message,
                        "too many errors; stopping here (fix these and run "
                        "paved lint again)");
    paved_pipeline_diags_dispose(&dl);
    /* deep nesting stops at a fixed depth */
    o = (size_t)snprintf(y, cap, "name: ");
    for (i = 0; i < 5000; i++)
        y[o++] = '[';
    assert_int_equal(paved_pipeline_parse(&pl, &dl, "deep.yaml", y, o),
                     PAVED_EINVAL);
    assert_true(dl.dl_n >= 1);
    assert_non_null(strstr(dl.dl_items[0].dg_message, "nested too deeply"));
    paved_pipeline_diags_dispose(&dl);
    free(y);
}

static void
test_load_dir(void **state)
{
    struct paved_pipeline_diags dl = PAVED_PIPELINE_DIAGS_INIT;
    paved_pipeline_set *set = NULL;
    char path[PATH_MAX], want[PATH_MAX + 200];
    char **files = NULL;
    size_t n = 0;

    (void)state;
    fixture(path, sizeof(path), "dir-ok");
    assert_int_equal(paved_pipeline_load_dir(&set, &dl, path), 0);
    assert_int_equal(dl.dl_n, 0);
    assert_int_equal(paved_pipeline_set_count(set), 2);
    assert_string_equal(paved_pipeline_name(paved_pipeline_set_get(set, 0)),
                        "alpha");
    assert_string_equal(paved_pipeline_name(paved_pipeline_set_get(set, 1)),
                        "beta");
    assert_null(paved_pipeline_set_get(set, 2));
    assert_non_null(paved_pipeline_set_find(set, "beta"));
    assert_null(paved_pipeline_set_find(set, "gamma"));
    paved_pipeline_set_free(set);
    paved_pipeline_set_free(NULL);
    /* hidden files and other extensions are not pipelines */
    assert_int_equal(paved_pipeline_list_dir(&files, &n, path), 0);
    assert_int_equal(n, 2);
    snprintf(want, sizeof(want), "%s/a.yaml", path);
    assert_string_equal(files[0], want);
    paved_pipeline_files_free(files, n);

    fixture(path, sizeof(path), "dir-dup");
    set = (paved_pipeline_set *)1;
    assert_int_equal(paved_pipeline_load_dir(&set, &dl, path), PAVED_EINVAL);
    assert_null(set);
    assert_int_equal(dl.dl_n, 1);
    snprintf(want, sizeof(want), "%s/b.yaml", path);
    assert_string_equal(dl.dl_items[0].dg_file, want);
    assert_int_equal(dl.dl_items[0].dg_line, 2);
    assert_int_equal(dl.dl_items[0].dg_column, 7);
    snprintf(want, sizeof(want),
             "pipeline \"service\" is already defined in %s/a.yaml:1:7 "
             "(pipeline names must be unique)",
             path);
    assert_string_equal(dl.dl_items[0].dg_message, want);
    paved_pipeline_diags_dispose(&dl);

    /* a directory with broken files reports all of them, sorted */
    fixture(path, sizeof(path), "invalid");
    assert_int_equal(paved_pipeline_load_dir(&set, &dl, path), PAVED_EINVAL);
    assert_true(dl.dl_n > 40);
    snprintf(want, sizeof(want), "%s/alias.yaml", path);
    assert_string_equal(dl.dl_items[0].dg_file, want);
    paved_pipeline_diags_dispose(&dl);

    assert_int_equal(paved_pipeline_load_dir(&set, &dl, "/nonexistent/dir"),
                     PAVED_ENOTFOUND);
    assert_int_equal(dl.dl_n, 1);
    assert_string_equal(dl.dl_items[0].dg_message,
                        "cannot open directory: No such file or directory");
    paved_pipeline_diags_dispose(&dl);
}

/* The shipped golden path is valid and does what its comments say. */
static void
test_shipped_service(void **state)
{
    struct paved_pipeline_diags dl = PAVED_PIPELINE_DIAGS_INIT;
    const char *src = getenv("PAVED_SOURCE_DIR");
    const paved_pipeline *pl;
    paved_pipeline_set *set = NULL;
    struct paved_event ev;
    char path[PATH_MAX];
    const char *why;
    long i;

    (void)state;
    snprintf(path, sizeof(path), "%s/pipelines", src ? src : ".");
    if (paved_pipeline_load_dir(&set, &dl, path) < 0)
        fail_msg("%s", paved_error_last());
    assert_int_equal(dl.dl_n, 0);
    assert_non_null(pl = paved_pipeline_set_find(set, "service"));
    assert_int_equal(paved_pipeline_concurrency(pl, NULL),
                     PAVED_CONCURRENCY_QUEUE);
    memset(&ev, 0, sizeof(ev));
    ev.ev_kind = PAVED_EVENT_PUSH;
    ev.ev_repo = "acme/app";
    ev.ev_branch = "main";
    assert_int_equal(paved_pipeline_match(pl, &ev, NULL, 0, &why), 1);
    assert_string_equal(paved_pipeline_environment(&ev), "staging");
    i = paved_pipeline_step_index(pl, "deploy-staging");
    assert_true(i >= 0);
    assert_int_equal(paved_pipeline_eval_if(pl, (size_t)i, &ev), 1);
    ev.ev_branch = "feature";
    assert_int_equal(paved_pipeline_match(pl, &ev, NULL, 0, &why), 0);
    assert_string_equal(why, "branch not in on.push.branches");
    /* a tag builds nothing: it promotes what passed staging */
    ev.ev_kind = PAVED_EVENT_TAG;
    ev.ev_branch = NULL;
    ev.ev_tag = "v1.2.0";
    assert_int_equal(paved_pipeline_match(pl, &ev, NULL, 0, &why), 1);
    assert_int_equal(paved_pipeline_eval_if(pl, (size_t)i, &ev), 0);
    i = paved_pipeline_step_index(pl, "canary-production");
    assert_int_equal(paved_pipeline_eval_if(pl, (size_t)i, &ev), 1);
    i = paved_pipeline_step_index(pl, "promote-production");
    assert_int_equal(paved_pipeline_eval_if(pl, (size_t)i, &ev), 1);
    i = paved_pipeline_step_index(pl, "build");
    assert_int_equal(paved_pipeline_eval_if(pl, (size_t)i, &ev), 0);
    i = paved_pipeline_step_index(pl, "artifact");
    assert_int_equal(paved_pipeline_eval_if(pl, (size_t)i, &ev), 0);
    ev.ev_kind = PAVED_EVENT_PULL_REQUEST;
    ev.ev_tag = NULL;
    ev.ev_action = "opened";
    ev.ev_pr_base = "main";
    ev.ev_pr_number = 7;
    assert_int_equal(paved_pipeline_match(pl, &ev, NULL, 0, &why), 1);
    assert_null(paved_pipeline_environment(&ev));
    i = paved_pipeline_step_index(pl, "deploy-staging");
    assert_int_equal(paved_pipeline_eval_if(pl, (size_t)i, &ev), 0);
    /* a pull request gets build, test and guardrails; no artifact */
    i = paved_pipeline_step_index(pl, "guardrails");
    assert_true(i >= 0);
    assert_int_equal(paved_pipeline_eval_if(pl, (size_t)i, &ev), 1);
    i = paved_pipeline_step_index(pl, "test");
    assert_int_equal(paved_pipeline_eval_if(pl, (size_t)i, &ev), 1);
    i = paved_pipeline_step_index(pl, "artifact");
    assert_int_equal(paved_pipeline_eval_if(pl, (size_t)i, &ev), 0);
    i = paved_pipeline_step_index(pl, "scan");
    assert_int_equal(paved_pipeline_eval_if(pl, (size_t)i, &ev), 0);
    paved_pipeline_set_free(set);
}

/* `paved lint`: exit 0 clean, 1 any error, 2 usage. */
static void
test_lint_exit(void **state)
{
    char ok[PATH_MAX], bad[PATH_MAX], dir[PATH_MAX];
    char *argv_ok[] = {"lint", ok, NULL};
    char *argv_bad[] = {"lint", "--json", ok, bad, NULL};
    char *argv_dir[] = {"lint", "--pipelines", dir, dir, NULL};
    char *argv_usage[] = {"lint", "--frobnicate", NULL};
    char *argv_missing[] = {"lint", "/nonexistent/p.yaml", NULL};

    (void)state;
    fixture(ok, sizeof(ok), "valid/full.yaml");
    fixture(bad, sizeof(bad), "invalid/cycle.yaml");
    fixture(dir, sizeof(dir), "dir-dup");
    assert_int_equal(paved_cli_lint(2, argv_ok), 0);
    assert_int_equal(paved_cli_lint(4, argv_bad), 1);
    assert_int_equal(paved_cli_lint(4, argv_dir), 1);
    assert_int_equal(paved_cli_lint(2, argv_usage), 2);
    assert_int_equal(paved_cli_lint(2, argv_missing), 1);
    fixture(dir, sizeof(dir), "dir-ok");
    assert_int_equal(paved_cli_lint(4, argv_dir), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_invalid_files),
        cmocka_unit_test(test_memory_inputs),
        cmocka_unit_test(test_builtin_steps),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_load_dir),
        cmocka_unit_test(test_shipped_service),
        cmocka_unit_test(test_lint_exit),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
