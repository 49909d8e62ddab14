/* Unit tests for environment definitions: the shipped
 * config/environments/ load with the values the docs promise, defaults
 * are applied, every validation error is reported with its exact
 * file:line:column and hint, and directory loading catches what needs
 * more than one file (duplicate names, port clashes). */
#include <limits.h>
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

#include "cli/cli.h"
#include "paved/environment.h"
#include "paved/error.h"

#define NAME "env.yaml"

/* A valid local environment to build broken ones from. */
#define LOCAL_HEAD                                                             \
    "name: web\n"                                                              \
    "local:\n"                                                                 \
    "  listen: 127.0.0.1:8081\n"                                               \
    "  upstream_port: 9100\n"

static paved_environment *
parse_ok(const char *yaml)
{
    struct paved_pipeline_diags dl = PAVED_PIPELINE_DIAGS_INIT;
    paved_environment *env = NULL;

    if (paved_environment_parse(&env, &dl, NAME, yaml, strlen(yaml)) < 0)
        fail_msg("unexpected error: %s", paved_error_last());
    assert_int_equal(dl.dl_n, 0);
    assert_non_null(env);
    paved_pipeline_diags_dispose(&dl);
    return env;
}

/* yaml must fail with exactly the diagnostic want among its list. */
static void
expect_diag(const char *yaml, const char *want)
{
    struct paved_pipeline_diags dl = PAVED_PIPELINE_DIAGS_INIT;
    paved_environment *env = NULL;
    char *line;
    size_t i;
    int found = 0;

    assert_int_equal(
        paved_environment_parse(&env, &dl, NAME, yaml, strlen(yaml)),
        PAVED_EINVAL);
    assert_null(env);
    assert_true(dl.dl_n > 0);
    for (i = 0; i < dl.dl_n; i++) {
        assert_int_equal(paved_pipeline_diag_format(&line, &dl.dl_items[i]), 0);
        if (strcmp(line, want) == 0)
            found = 1;
        else
            print_message("  got: %s\n", line);
        free(line);
    }
    if (!found)
        fail_msg("missing diagnostic: %s", want);
    /* the first one, sorted, is in the error message */
    assert_non_null(strstr(paved_error_last(), NAME ":"));
    paved_pipeline_diags_dispose(&dl);
}

static const char *
source_path(char *buf, size_t n, const char *rel)
{
    const char *src = getenv("PAVED_SOURCE_DIR");

    snprintf(buf, n, "%s/%s", src ? src : ".", rel);
    return buf;
}

/* ---- the shipped files ------------------------------------------------ */

static void
test_shipped(void **state)
{
    struct paved_pipeline_diags dl = PAVED_PIPELINE_DIAGS_INIT;
    const struct paved_env_analysis *an;
    const struct paved_env_canary *cn;
    const struct paved_env_local *lo;
    const struct paved_env_smoke *sm;
    const paved_environment *st, *pr;
    paved_environment_set *set = NULL;
    char path[PATH_MAX];
    size_t n;

    (void)state;
    source_path(path, sizeof(path), "config/environments");
    if (paved_environment_load_dir(&set, &dl, path) < 0)
        fail_msg("%s", paved_error_last());
    assert_int_equal(dl.dl_n, 0);
    assert_int_equal(paved_environment_set_count(set), 2);
    /* sorted by file name */
    assert_string_equal(
        paved_environment_name(paved_environment_set_get(set, 0)),
        "production");
    assert_null(paved_environment_set_get(set, 2));
    assert_null(paved_environment_set_find(set, "qa"));

    st = paved_environment_set_find(set, "staging");
    assert_non_null(st);
    assert_int_equal(paved_environment_driver(st), PAVED_ENV_DRIVER_LOCAL);
    assert_false(paved_environment_needs_approval(st));
    assert_null(paved_environment_canary(st));
    assert_null(paved_environment_analysis(st));
    assert_null(paved_environment_kubernetes(st));
    assert_null(paved_environment_exec(st));
    lo = paved_environment_local(st);
    assert_string_equal(lo->lo_listen, "127.0.0.1:8081");
    assert_int_equal(lo->lo_upstream_port, 9100);
    sm = paved_environment_smoke(st, &n);
    assert_int_equal(n, 2);
    assert_string_equal(sm[0].sm_name, "health");
    assert_string_equal(sm[0].sm_url, "http://127.0.0.1:8081/healthz");
    assert_int_equal(sm[0].sm_retries, 5);
    assert_int_equal(sm[1].sm_status, 200);
    assert_string_equal(sm[1].sm_body_contains, "ok");

    pr = paved_environment_set_find(set, "production");
    assert_non_null(pr);
    assert_true(paved_environment_needs_approval(pr));
    assert_int_equal(paved_environment_local(pr)->lo_upstream_port, 9110);
    cn = paved_environment_canary(pr);
    assert_non_null(cn);
    assert_int_equal(cn->cn_nweights, 4);
    assert_int_equal(cn->cn_weights[0], 5);
    assert_int_equal(cn->cn_weights[1], 25);
    assert_int_equal(cn->cn_weights[2], 50);
    assert_int_equal(cn->cn_weights[3], 100);
    assert_int_equal(cn->cn_interval, 10);
    an = paved_environment_analysis(pr);
    assert_non_null(an);
    assert_string_equal(an->an_prometheus, "http://127.0.0.1:9090");
    assert_int_equal(an->an_failures_to_abort, 1);
    assert_int_equal(an->an_min_samples, 20);
    assert_int_equal(an->an_timeout, 5);
    assert_non_null(strstr(an->an_sample_query, "version=\"{{version}}\""));
    assert_int_equal(an->an_nqueries, 2);
    assert_string_equal(an->an_queries[0].q_name, "error-rate");
    assert_true(an->an_queries[0].q_has_max);
    assert_false(an->an_queries[0].q_has_min);
    assert_true(an->an_queries[0].q_max == 0.01);
    assert_false(an->an_queries[0].q_compare_stable);
    assert_string_equal(an->an_queries[1].q_name, "p99-latency");
    assert_true(an->an_queries[1].q_max == 0.5);
    assert_true(an->an_queries[1].q_compare_stable);
    assert_true(an->an_queries[1].q_tolerance == 20.0);
    assert_non_null(strstr(an->an_queries[1].q_query, "histogram_quantile"));
    paved_environment_smoke(pr, &n);
    assert_int_equal(n, 2);
    assert_non_null(strstr(paved_environment_file(pr), "production.yaml"));
    paved_environment_set_free(set);
    paved_pipeline_diags_dispose(&dl);
}

/* ---- defaults --------------------------------------------------------- */

static void
test_defaults(void **state)
{
    paved_environment *env;
    const struct paved_env_smoke *sm;
    const struct paved_env_analysis *an;
    const struct paved_env_kubernetes *k;
    const struct paved_env_exec *ex;
    size_t n;

    (void)state;
    env = parse_ok(LOCAL_HEAD "canary:\n"
                              "  weights: [100]\n"
                              "analysis:\n"
                              "  prometheus: https://prom.example/\n"
                              "  queries:\n"
                              "    - name: lat\n"
                              "      query: up\n"
                              "      min: 1\n"
                              "      compare: stable\n"
                              "smoke:\n"
                              "  - name: up\n"
                              "    url: http://127.0.0.1:8081/\n");
    assert_string_equal(paved_environment_name(env), "web");
    assert_string_equal(paved_environment_file(env), NAME);
    /* driver defaults to local, approval to none */
    assert_int_equal(paved_environment_driver(env), PAVED_ENV_DRIVER_LOCAL);
    assert_false(paved_environment_needs_approval(env));
    assert_int_equal(paved_environment_canary(env)->cn_interval, 60);
    an = paved_environment_analysis(env);
    assert_int_equal(an->an_failures_to_abort, 1);
    assert_int_equal(an->an_min_samples, 0);
    assert_int_equal(an->an_timeout, 10);
    assert_null(an->an_sample_query);
    assert_true(an->an_queries[0].q_has_min);
    assert_false(an->an_queries[0].q_has_max);
    assert_true(an->an_queries[0].q_min == 1.0);
    assert_true(an->an_queries[0].q_tolerance == 10.0);
    sm = paved_environment_smoke(env, &n);
    assert_int_equal(n, 1);
    assert_int_equal(sm[0].sm_status, 200);
    assert_int_equal(sm[0].sm_timeout, 5);
    assert_int_equal(sm[0].sm_retries, 2);
    assert_null(sm[0].sm_body_contains);
    paved_environment_free(env);

    env = parse_ok("name: k8s-prod\n"
                   "driver: kubernetes\n"
                   "kubernetes:\n"
                   "  context: prod-cluster\n");
    k = paved_environment_kubernetes(env);
    assert_non_null(k);
    assert_null(paved_environment_local(env));
    assert_string_equal(k->k8_context, "prod-cluster");
    assert_string_equal(k->k8_namespace, "default");
    assert_string_equal(k->k8_kubectl, "kubectl");
    assert_int_equal(k->k8_strategy, PAVED_ENV_K8S_REPLICAS);
    assert_string_equal(paved_env_driver_name(paved_environment_driver(env)),
                        "kubernetes");
    paved_environment_free(env);

    env = parse_ok("name: edge\n"
                   "driver: exec\n"
                   "approval: required\n"
                   "exec:\n"
                   "  deploy: [./deploy.sh, \"--version={{version}}\"]\n"
                   "  shift: [./shift.sh, \"{{weight}}\"]\n"
                   "  rollback: [./rollback.sh]\n"
                   "  timeout: 2m\n"
                   "canary:\n"
                   "  weights: [10, 100]\n"
                   "  interval: 1m30s\n");
    ex = paved_environment_exec(env);
    assert_non_null(ex);
    assert_true(paved_environment_needs_approval(env));
    assert_int_equal(ex->ex_deploy.av_argc, 2);
    assert_string_equal(ex->ex_deploy.av_argv[1], "--version={{version}}");
    assert_null(ex->ex_deploy.av_argv[2]);
    assert_string_equal(ex->ex_shift.av_argv[1], "{{weight}}");
    assert_int_equal(ex->ex_promote.av_argc, 0);
    assert_int_equal(ex->ex_rollback.av_argc, 1);
    assert_int_equal(ex->ex_timeout, 120);
    assert_int_equal(paved_environment_canary(env)->cn_interval, 90);
    paved_environment_free(env);

    env = parse_ok("name: ing\n"
                   "driver: kubernetes\n"
                   "kubernetes:\n"
                   "  context: c\n"
                   "  namespace: shop\n"
                   "  strategy: ingress-canary\n"
                   "  kubectl: /usr/bin/kubectl\n");
    k = paved_environment_kubernetes(env);
    assert_int_equal(k->k8_strategy, PAVED_ENV_K8S_INGRESS_CANARY);
    assert_string_equal(k->k8_namespace, "shop");
    assert_string_equal(k->k8_kubectl, "/usr/bin/kubectl");
    paved_environment_free(env);
    paved_environment_free(NULL);
    paved_environment_set_free(NULL);
}

/* ---- every validation error, with its position ------------------------ */

struct bad {
    const char *yaml;
    const char *diag;
};

static const struct bad bad_cases[] = {
    /* unknown keys, with and without a suggestion */
    {LOCAL_HEAD "aproval: none\n",
     NAME ":5:1: unknown key \"aproval\" in the environment (did you mean "
          "\"approval\"?)"},
    {LOCAL_HEAD "zzzzzz: 1\n",
     NAME ":5:1: unknown key \"zzzzzz\" in the environment (see "
          "docs/delivery.md for the keys)"},
    {LOCAL_HEAD "canary:\n  weights: [100]\n  intervall: 10s\n",
     NAME ":7:3: unknown key \"intervall\" in canary (did you mean "
          "\"interval\"?)"},
    {LOCAL_HEAD "name: again\n",
     NAME ":5:1: duplicate key \"name\" (first on line 1; keep one)"},
    /* name */
    {"local:\n  listen: 127.0.0.1:1\n  upstream_port: 9100\n",
     NAME ":1:1: the environment: missing key \"name\" (such as name: "
          "staging)"},
    {"name: Prod_1\n",
     NAME ":1:7: name: \"Prod_1\" is not an environment name (a-z, 0-9 and "
          "-, starting with a letter, at most 63)"},
    /* driver */
    {"name: x\ndriver: kubernets\n",
     NAME ":2:9: driver: unknown value \"kubernets\" (did you mean "
          "\"kubernetes\"?)"},
    {"name: x\ndriver: docker\n",
     NAME ":2:9: driver: unknown value \"docker\" (use local, kubernetes or "
          "exec)"},
    {"name: x\n",
     NAME ":1:1: driver local needs a \"local:\" mapping with its settings "
          "(see docs/delivery.md)"},
    {LOCAL_HEAD "exec:\n  deploy: [x]\n",
     NAME ":6:3: exec: settings of the exec driver, but driver is local "
          "(remove them, or change driver)"},
    {"name: x\nlocal:\n  listen: 8081\n  upstream_port: 9100\n",
     NAME ":3:11: local.listen: \"8081\" is not HOST:PORT (such as "
          "127.0.0.1:8081 or [::1]:8081)"},
    {"name: x\nlocal:\n  listen: 127.0.0.1:8081\n",
     NAME ":3:3: local: missing key \"upstream_port\" (the first loopback "
          "port for the versions, such as 9100)"},
    {"name: x\nlocal:\n  listen: 127.0.0.1:9105\n  upstream_port: 9100\n",
     NAME ":4:18: local.upstream_port: ports 9100 to 9109 include the "
          "listen port 9105 (move one of them)"},
    {"name: x\nlocal:\n  listen: 127.0.0.1:80\n  upstream_port: 80\n",
     NAME ":4:18: local.upstream_port: \"80\" is out of range (1024 to "
          "65526)"},
    {"name: x\ndriver: kubernetes\nkubernetes:\n  namespace: a\n",
     NAME ":4:3: kubernetes: missing key \"context\" (the kubectl context to "
          "deploy with)"},
    {"name: x\ndriver: kubernetes\nkubernetes:\n  context: c\n"
     "  strategy: canary\n",
     NAME ":5:13: kubernetes.strategy: unknown value \"canary\" (use "
          "replicas or ingress-canary)"},
    /* exec commands are argument lists, never shell text */
    {"name: x\ndriver: exec\nexec:\n  deploy: ./deploy.sh {{version}}\n"
     "  rollback: [r]\n",
     NAME ":4:11: exec.deploy: expected a list of arguments such as "
          "[\"./deploy.sh\", \"{{version}}\"] (a command is never a shell "
          "string)"},
    {"name: x\ndriver: exec\nexec:\n  deploy: [sh, -c, \"run {{version}}\"]\n"
     "  rollback: [r]\n",
     NAME ":4:20: exec.deploy: a {{placeholder}} inside a shell script is "
          "refused (read $PAVED_VERSION and friends from the environment "
          "instead)"},
    {"name: x\ndriver: exec\nexec:\n  deploy: [d, \"{{versoin}}\"]\n"
     "  rollback: [r]\n",
     NAME ":4:15: exec.deploy: unknown placeholder {{versoin}} (did you "
          "mean {{version}}?)"},
    {"name: x\ndriver: exec\nexec:\n  deploy: [d, \"{{weight}}\"]\n"
     "  rollback: [r]\n",
     NAME ":4:15: exec.deploy: {{weight}} is known only to exec.shift"},
    {"name: x\ndriver: exec\nexec:\n  deploy: [d]\n  rollback: [r]\n"
     "canary:\n  weights: [50, 100]\n",
     NAME ":4:3: exec: missing key \"shift\" (a canary needs the command "
          "that moves traffic; it gets {{weight}})"},
    {"name: x\ndriver: exec\nexec:\n  deploy: [d]\n",
     NAME ":4:3: exec: missing key \"rollback\" (the command that returns "
          "to the stable version)"},
    /* approval */
    {LOCAL_HEAD "approval: yes\n",
     NAME ":5:11: approval: unknown value \"yes\" (use required or none)"},
    /* canary weights */
    {LOCAL_HEAD "canary:\n  weights: [5, 50, 25, 100]\n",
     NAME ":6:20: canary.weights[2]: 25 after 50; weights must increase "
          "strictly"},
    {LOCAL_HEAD "canary:\n  weights: [5, 5, 100]\n",
     NAME ":6:16: canary.weights[1]: 5 after 5; weights must increase "
          "strictly"},
    {LOCAL_HEAD "canary:\n  weights: [0, 100]\n",
     NAME ":6:13: canary.weights[0]: \"0\" is out of range (1 to 100)"},
    {LOCAL_HEAD "canary:\n  weights: [50, 150]\n",
     NAME ":6:17: canary.weights[1]: \"150\" is out of range (1 to 100)"},
    {LOCAL_HEAD "canary:\n  weights: [5, 25, 50]\n",
     NAME ":6:20: canary.weights: the last weight is 50; it must be 100 "
          "(the canary ends with all traffic)"},
    {LOCAL_HEAD "canary:\n  weights: [5%, 100]\n",
     NAME ":6:13: canary.weights[0]: \"5%\" is not a whole number"},
    {LOCAL_HEAD "canary:\n  weights: []\n",
     NAME ":6:12: canary.weights: empty list (remove the key, or add an "
          "item)"},
    {LOCAL_HEAD "canary:\n  weights: [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,"
                "16,17,18,19,20,100]\n",
     NAME ":6:12: canary.weights: 21 items; at most 20 are allowed"},
    {LOCAL_HEAD "canary:\n  interval: 10s\n",
     NAME ":6:3: canary: missing key \"weights\" (percentages such as [5, "
          "25, 50, 100])"},
    /* durations */
    {LOCAL_HEAD "canary:\n  weights: [100]\n  interval: 10 minutes\n",
     NAME ":7:13: canary.interval: invalid duration \"10 minutes\" (use "
          "10s, 5m, 1h, 1h30m or whole seconds)"},
    {LOCAL_HEAD "canary:\n  weights: [100]\n  interval: 0s\n",
     NAME ":7:13: canary.interval: 0s is out of range (1s to 86400s)"},
    /* analysis */
    {LOCAL_HEAD "analysis:\n  prometheus: http://p:9090\n  queries:\n"
                "    - {name: e, query: up, max: 1}\n",
     NAME ":5:1: analysis gates the steps of a canary, and this "
          "environment has none (add canary.weights)"},
    {LOCAL_HEAD "canary: {weights: [100]}\n"
                "analysis:\n  prometheus: ftp://p:9090\n  queries:\n"
                "    - {name: e, query: up, max: 1}\n",
     NAME ":7:15: analysis.prometheus: \"ftp://p:9090\" must start with "
          "http:// or https:// (the only schemes paved speaks)"},
    {LOCAL_HEAD "canary: {weights: [100]}\n"
                "analysis:\n  queries:\n"
                "    - {name: e, query: up, max: 1}\n",
     NAME ":7:3: analysis: missing key \"prometheus\" (the base URL of "
          "Prometheus, such as http://127.0.0.1:9090)"},
    {LOCAL_HEAD "canary: {weights: [100]}\n"
                "analysis:\n  prometheus: http://p\n  queries:\n"
                "    - name: errors\n      query: up\n",
     NAME ":9:7: analysis.queries[0]: needs a threshold: max, min or both "
          "(the values that fail the check)"},
    {LOCAL_HEAD "canary: {weights: [100]}\n"
                "analysis:\n  prometheus: http://p\n  queries:\n"
                "    - {name: e, query: up, max: 1, min: 2}\n",
     NAME ":9:41: analysis.queries[0]: min 2 is above max 1 (no value "
          "could pass)"},
    {LOCAL_HEAD "canary: {weights: [100]}\n"
                "analysis:\n  prometheus: http://p\n  queries:\n"
                "    - {name: e, query: up, max: one}\n",
     NAME ":9:33: analysis.queries[0].max: \"one\" is not a number (write "
          "0.05, 500 or 1e3)"},
    {LOCAL_HEAD "canary: {weights: [100]}\n"
                "analysis:\n  prometheus: http://p\n  queries:\n"
                "    - {name: e, query: up, max: 1, tolerance: 5%}\n",
     NAME ":9:47: analysis.queries[0].tolerance: only means something with "
          "\"compare: stable\" (add it, or remove the tolerance)"},
    {LOCAL_HEAD "canary: {weights: [100]}\n"
                "analysis:\n  prometheus: http://p\n  queries:\n"
                "    - {name: e, query: up, max: 1, compare: baseline}\n",
     NAME ":9:45: analysis.queries[0].compare: unknown value \"baseline\" "
          "(the only comparison is \"stable\")"},
    {LOCAL_HEAD "canary: {weights: [100]}\n"
                "analysis:\n  prometheus: http://p\n  queries:\n"
                "    - {name: e, query: up, max: 1}\n"
                "    - {name: e, query: up, max: 2}\n",
     NAME ":10:14: analysis.queries[1].name: \"e\" is used twice"},
    {LOCAL_HEAD "canary: {weights: [100]}\n"
                "analysis:\n  prometheus: http://p\n  queries:\n"
                "    - {name: e, query: \"x{a=\\\"{{servce}}\\\"}\", max: 1}\n",
     NAME ":9:24: analysis.queries[0].query: unknown placeholder "
          "{{servce}} (did you mean {{service}}?)"},
    {LOCAL_HEAD "canary: {weights: [100]}\n"
                "analysis:\n  prometheus: http://p\n  min_samples: 5\n"
                "  queries:\n    - {name: e, query: up, max: 1}\n",
     NAME ":8:16: analysis.min_samples: needs a sample_query (the PromQL "
          "that counts the canary's requests)"},
    {LOCAL_HEAD "canary: {weights: [100]}\n"
                "analysis:\n  prometheus: http://p\n  failures_to_abort: 0\n"
                "  queries:\n    - {name: e, query: up, max: 1}\n",
     NAME ":8:22: analysis.failures_to_abort: \"0\" is out of range (1 to "
          "100)"},
    /* smoke */
    {LOCAL_HEAD "smoke:\n  - name: home\n    status: 200\n",
     NAME ":6:5: smoke[0]: missing key \"url\" (the address to request, "
          "such as http://127.0.0.1:8081/healthz)"},
    {LOCAL_HEAD "smoke:\n  - name: home\n    url: file:///etc/passwd\n",
     NAME ":7:10: smoke[0].url: \"file:///etc/passwd\" must start with "
          "http:// or https:// (the only schemes paved speaks)"},
    {LOCAL_HEAD "smoke:\n  - name: home\n    url: http://\n",
     NAME ":7:10: smoke[0].url: \"http://\" has no host"},
    {LOCAL_HEAD "smoke:\n  - name: home\n    url: http://h/\n"
                "    status: 99\n",
     NAME ":8:13: smoke[0].status: \"99\" is out of range (100 to 599)"},
    {LOCAL_HEAD "smoke:\n  - name: home\n    url: http://h/\n"
                "    timeout: soon\n",
     NAME ":8:14: smoke[0].timeout: invalid duration \"soon\" (use 10s, 5m, "
          "1h, 1h30m or whole seconds)"},
    {LOCAL_HEAD "smoke:\n  - name: home\n    url: http://h/\n"
                "    retries: 11\n",
     NAME ":8:14: smoke[0].retries: \"11\" is out of range (0 to 10)"},
    {LOCAL_HEAD "smoke:\n  - name: home\n    url: http://h/\n"
                "    bodycontains: ok\n",
     NAME ":8:5: unknown key \"bodycontains\" in smoke[0] (did you mean "
          "\"body_contains\"?)"},
    {LOCAL_HEAD "smoke:\n  - {name: a, url: http://h/}\n"
                "  - {name: a, url: http://h/}\n",
     NAME ":7:12: smoke[1].name: \"a\" is used twice"},
    {LOCAL_HEAD "smoke: http://h/\n",
     NAME ":5:8: smoke: expected a list, got a value"},
    {LOCAL_HEAD "smoke: &s []\n",
     NAME ":5:8: smoke: empty list (remove the key, or add an item)"},
    /* YAML itself */
    {LOCAL_HEAD "smoke: [a, *b]\n",
     NAME ":5:12: aliases (*name) are not supported (write the value out)"},
    {"", NAME ":1:1: the file is empty"},
    {"- a\n", NAME ":1:1: an environment file: expected a mapping of "
                   "\"key: value\", got a list"},
};

static void
test_errors(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        print_message("case %zu\n", i);
        expect_diag(bad_cases[i].yaml, bad_cases[i].diag);
    }
}

/* Too many smoke checks and analysis queries: the cap is the message. */
static void
test_too_many(void **state)
{
    char yaml[8192];
    size_t len, i;

    (void)state;
    len = (size_t)snprintf(yaml, sizeof(yaml), "%s", LOCAL_HEAD "smoke:\n");
    for (i = 0; i <= PAVED_ENV_MAX_SMOKE; i++)
        len += (size_t)snprintf(yaml + len, sizeof(yaml) - len,
                                "  - {name: s%zu, url: http://h/}\n", i);
    expect_diag(yaml, NAME ":6:3: smoke: 21 items; at most 20 are allowed");

    len = (size_t)snprintf(yaml, sizeof(yaml), "%s",
                           LOCAL_HEAD "canary: {weights: [100]}\n"
                                      "analysis:\n"
                                      "  prometheus: http://p\n"
                                      "  queries:\n");
    for (i = 0; i <= PAVED_ENV_MAX_QUERIES; i++)
        len += (size_t)snprintf(yaml + len, sizeof(yaml) - len,
                                "    - {name: q%zu, query: up, max: 1}\n", i);
    expect_diag(yaml, NAME ":9:5: analysis.queries: 21 items; at most 20 are "
                           "allowed");
}

/* Several problems of one file are all reported, sorted by position. */
static void
test_all_reported(void **state)
{
    struct paved_pipeline_diags dl = PAVED_PIPELINE_DIAGS_INIT;
    paved_environment *env = NULL;
    const char *yaml = "name: x\n"
                       "driver: local\n"
                       "local: {listen: 127.0.0.1:1, upstream_port: 9100}\n"
                       "approval: maybe\n"
                       "canary: {weights: [50, 10]}\n";

    (void)state;
    assert_int_equal(
        paved_environment_parse(&env, NULL, NAME, yaml, strlen(yaml)),
        PAVED_EINVAL);
    assert_int_equal(
        paved_environment_parse(&env, &dl, NAME, yaml, strlen(yaml)),
        PAVED_EINVAL);
    /* no "must end at 100" on top of a weight that is already wrong */
    assert_int_equal(dl.dl_n, 2);
    assert_int_equal(dl.dl_items[0].dg_line, 4);
    assert_int_equal(dl.dl_items[0].dg_column, 11);
    assert_int_equal(dl.dl_items[1].dg_line, 5);
    assert_int_equal(dl.dl_items[1].dg_column, 24);
    assert_non_null(strstr(paved_error_last(), "(and 1 more)"));
    paved_pipeline_diags_dispose(&dl);
}

/* ---- directories ------------------------------------------------------ */

static void
write_file(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_non_null(fp = fopen(path, "w"));
    fputs(text, fp);
    fclose(fp);
}

static void
remove_files(const char *dir, const char *const *names, size_t n)
{
    char path[PATH_MAX];
    size_t i;

    for (i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void
test_dir(void **state)
{
    static const char *const names[] = {"a.yaml", "b.yml", "c.yaml",
                                        ".hidden.yaml", "notes.txt"};
    struct paved_pipeline_diags dl = PAVED_PIPELINE_DIAGS_INIT;
    paved_environment_set *set = NULL;
    char dir[] = "/tmp/paved-env-XXXXXX", *line;
    char want[PATH_MAX + 256];

    (void)state;
    assert_non_null(mkdtemp(dir));
    write_file(dir, "a.yaml",
               "name: one\nlocal: {listen: 127.0.0.1:8001, upstream_port: "
               "9000}\n");
    write_file(dir, "b.yml",
               "name: two\nlocal: {listen: 127.0.0.1:8002, upstream_port: "
               "9010}\n");
    write_file(dir, ".hidden.yaml", "not: [valid\n");
    write_file(dir, "notes.txt", "ignored\n");
    assert_int_equal(paved_environment_load_dir(&set, &dl, dir), 0);
    assert_int_equal(paved_environment_set_count(set), 2);
    assert_non_null(paved_environment_set_find(set, "two"));
    paved_environment_set_free(set);

    /* the same name twice across files */
    write_file(dir, "c.yaml",
               "# again\nname: one\nlocal: {listen: 127.0.0.1:8003, "
               "upstream_port: 9020}\n");
    assert_int_equal(paved_environment_load_dir(&set, &dl, dir), PAVED_EINVAL);
    assert_null(set);
    assert_int_equal(dl.dl_n, 1);
    assert_int_equal(paved_pipeline_diag_format(&line, &dl.dl_items[0]), 0);
    snprintf(want, sizeof(want),
             "%s/c.yaml:2:7: environment \"one\" is already defined in "
             "%s/a.yaml:1:7 (environment names must be unique)",
             dir, dir);
    assert_string_equal(line, want);
    free(line);
    paved_pipeline_diags_dispose(&dl);

    /* two local environments on overlapping ports */
    write_file(dir, "c.yaml",
               "name: three\nlocal: {listen: 127.0.0.1:8003, "
               "upstream_port: 9005}\n");
    assert_int_equal(paved_environment_load_dir(&set, &dl, dir), PAVED_EINVAL);
    assert_int_equal(dl.dl_n, 1);
    assert_int_equal(paved_pipeline_diag_format(&line, &dl.dl_items[0]), 0);
    snprintf(want, sizeof(want),
             "%s/c.yaml:2:17: local: listen 127.0.0.1:8003 and ports "
             "9005-9014 clash with environment \"one\" (%s/a.yaml:2:17: "
             "listen 127.0.0.1:8001, ports 9000-9009; give each "
             "environment its own)",
             dir, dir);
    assert_string_equal(line, want);
    free(line);
    paved_pipeline_diags_dispose(&dl);

    /* a broken file is reported and nothing is returned */
    write_file(dir, "c.yaml", "name: [x\n");
    assert_int_equal(paved_environment_load_dir(&set, &dl, dir), PAVED_EINVAL);
    assert_null(set);
    assert_int_equal(dl.dl_n, 1);
    assert_non_null(strstr(dl.dl_items[0].dg_message, "YAML syntax error"));
    paved_pipeline_diags_dispose(&dl);

    remove_files(dir, names, sizeof(names) / sizeof(names[0]));
    /* a directory that is not there */
    assert_int_equal(paved_environment_load_dir(&set, &dl, dir),
                     PAVED_ENOTFOUND);
    assert_int_equal(dl.dl_n, 1);
    assert_int_equal(dl.dl_items[0].dg_line, 0);
    paved_pipeline_diags_dispose(&dl);
}

/* from: must name another environment of the set, without a cycle */
static void
test_from(void **state)
{
    static const char *const names[] = {"a.yaml", "b.yaml"};
    struct paved_pipeline_diags dl = PAVED_PIPELINE_DIAGS_INIT;
    paved_environment_set *set = NULL;
    char dir[] = "/tmp/paved-env-XXXXXX", *line;

    (void)state;
    assert_non_null(mkdtemp(dir));
    write_file(dir, "a.yaml",
               "name: staging\nlocal: {listen: 127.0.0.1:8001, "
               "upstream_port: 9000}\n");
    write_file(dir, "b.yaml",
               "name: production\nfrom: staging\nlocal: {listen: "
               "127.0.0.1:8002, upstream_port: 9010}\n");
    assert_int_equal(paved_environment_load_dir(&set, &dl, dir), 0);
    assert_string_equal(
        paved_environment_from(paved_environment_set_find(set, "production")),
        "staging");
    assert_null(
        paved_environment_from(paved_environment_set_find(set, "staging")));
    paved_environment_set_free(set);

    write_file(dir, "b.yaml",
               "name: production\nfrom: stagin\nlocal: {listen: "
               "127.0.0.1:8002, upstream_port: 9010}\n");
    assert_int_equal(paved_environment_load_dir(&set, &dl, dir), PAVED_EINVAL);
    assert_null(set);
    assert_int_equal(dl.dl_n, 1);
    assert_int_equal(paved_pipeline_diag_format(&line, &dl.dl_items[0]), 0);
    assert_non_null(strstr(line, "b.yaml:2:7: from: there is no environment "
                                 "\"stagin\""));
    free(line);
    paved_pipeline_diags_dispose(&dl);

    /* a cycle: nothing could ever enter either */
    write_file(dir, "a.yaml",
               "name: staging\nfrom: production\nlocal: {listen: "
               "127.0.0.1:8001, upstream_port: 9000}\n");
    write_file(dir, "b.yaml",
               "name: production\nfrom: staging\nlocal: {listen: "
               "127.0.0.1:8002, upstream_port: 9010}\n");
    assert_int_equal(paved_environment_load_dir(&set, &dl, dir), PAVED_EINVAL);
    assert_int_equal(dl.dl_n, 2);
    assert_non_null(strstr(dl.dl_items[0].dg_message, "a cycle"));
    paved_pipeline_diags_dispose(&dl);
    remove_files(dir, names, sizeof(names) / sizeof(names[0]));
    rmdir(dir);
}

/* after the script of sh -c come its own arguments: values like others */
static void
test_exec_script_args(void **state)
{
    paved_environment *env;
    const struct paved_env_exec *ex;

    (void)state;
    env = parse_ok("name: x\ndriver: exec\nexec:\n  deploy: [sh, -c, 'exec "
                   "./deploy \"$@\"', sh, --artifact, '{{artifact}}', "
                   "'{{digest}}']\n  rollback: [r, '{{stable_version}}']\n");
    ex = paved_environment_exec(env);
    assert_int_equal(ex->ex_deploy.av_argc, 7);
    assert_string_equal(ex->ex_deploy.av_argv[5], "{{artifact}}");
    paved_environment_free(env);
    expect_diag("name: x\ndriver: exec\nexec:\n  deploy: [sh, -ec, \"run "
                "{{version}}\"]\n  rollback: [r]\n",
                NAME ":4:21: exec.deploy: a {{placeholder}} inside a shell "
                     "script is refused (read $PAVED_VERSION and friends from "
                     "the environment instead)");
}

static void
test_load_missing(void **state)
{
    struct paved_pipeline_diags dl = PAVED_PIPELINE_DIAGS_INIT;
    paved_environment *env = NULL;

    (void)state;
    assert_int_equal(paved_environment_load(&env, &dl, "/nonexistent/x.yaml"),
                     PAVED_ENOTFOUND);
    assert_null(env);
    assert_int_equal(dl.dl_n, 1);
    paved_pipeline_diags_dispose(&dl);
}

/* paved lint --environments: a directory, a file, and a broken file */
static void
test_lint(void **state)
{
    char dir[PATH_MAX], file[PATH_MAX], bad[PATH_MAX];
    char *ok_dir[] = {"lint", "--environments", dir, NULL};
    char *ok_file[] = {"lint", "--json", "--environments", file, NULL};
    char *broken[] = {"lint", "--environments", bad, NULL};

    (void)state;
    source_path(dir, sizeof(dir), "config/environments");
    source_path(file, sizeof(file), "config/environments/production.yaml");
    source_path(bad, sizeof(bad),
                "tests/fuzz/corpus/environment/invalid-analysis.yaml");
    assert_int_equal(paved_cli_lint(3, ok_dir), PAVED_EXIT_OK);
    assert_int_equal(paved_cli_lint(4, ok_file), PAVED_EXIT_OK);
    assert_int_equal(paved_cli_lint(3, broken), PAVED_EXIT_FAIL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_too_many),
        cmocka_unit_test(test_all_reported),
        cmocka_unit_test(test_dir),
        cmocka_unit_test(test_load_missing),
        cmocka_unit_test(test_lint),
        cmocka_unit_test(test_from),
        cmocka_unit_test(test_exec_script_args),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
