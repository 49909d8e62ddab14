/* Unit tests for the configuration: defaults, the shipped config file,
 * nesting, environment overrides, the value parsers, the dump (never a
 * secret), and a table of broken inputs with their exact messages. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "paved/config.h"
#include "paved/error.h"

#define NAME "config/paved.yaml"

static struct paved_config *
parse_ok(const char *yaml, char *const *envp)
{
    struct paved_config *cf = NULL;
    int error;

    error = paved_config_parse(&cf, NAME, yaml, yaml ? strlen(yaml) : 0, envp);
    if (error < 0)
        fail_msg("unexpected error: %s", paved_error_last());
    assert_non_null(cf);
    return cf;
}

static void
assert_defaults(const struct paved_config *cf)
{
    assert_string_equal(cf->cf_listen, "127.0.0.1:8080");
    assert_string_equal(cf->cf_data_dir, "var");
    assert_string_equal(cf->cf_store, "sqlite");
    assert_int_equal(cf->cf_store_max_size, 0);
    assert_int_equal(cf->cf_store_batch, 512);
    assert_int_equal(cf->cf_max_body, 26214400);
    assert_int_equal(cf->cf_read_timeout, 10);
    assert_int_equal(cf->cf_request_timeout, 30);
    assert_int_equal(cf->cf_github_secret.sl_n, 0);
    assert_false(cf->cf_github_allow_sha1);
    assert_int_equal(cf->cf_gitea_secret.sl_n, 0);
    assert_int_equal(cf->cf_gitlab_token.sl_n, 0);
    assert_int_equal(cf->cf_gitlab_signing_secret.sl_n, 0);
    assert_int_equal(cf->cf_gitlab_signature_tolerance, 300);
    assert_string_equal(cf->cf_log_format, "text");
    assert_string_equal(cf->cf_log_level, "info");
    assert_string_equal(cf->cf_api_token, "");
    assert_string_equal(cf->cf_public_url, "");
    assert_string_equal(cf->cf_pipelines_dir, "pipelines");
    assert_string_equal(cf->cf_clone_url_template, "");
    assert_string_equal(cf->cf_github_api_url, "https://api.github.com");
    assert_string_equal(cf->cf_github_token, "");
}

static void
test_defaults(void **state)
{
    struct paved_config *cf;

    (void)state;
    cf = parse_ok(NULL, NULL);
    assert_defaults(cf);
    paved_config_free(cf);
    cf = parse_ok("# only a comment\n", NULL);
    assert_defaults(cf);
    paved_config_free(cf);
    assert_int_equal(paved_config_load(&cf, NULL, NULL), 0);
    assert_defaults(cf);
    paved_config_free(cf);
    paved_config_free(NULL);
}

/* The shipped config/paved.yaml says exactly what the defaults are. */
static void
test_shipped_file(void **state)
{
    const char *src = getenv("PAVED_SOURCE_DIR");
    struct paved_config *cf = NULL;
    char path[PATH_MAX];

    (void)state;
    snprintf(path, sizeof(path), "%s/config/paved.yaml", src ? src : ".");
    if (paved_config_load(&cf, path, NULL) < 0)
        fail_msg("%s", paved_error_last());
    assert_defaults(cf);
    paved_config_free(cf);
}

static void
test_missing_file(void **state)
{
    struct paved_config *cf = NULL;

    (void)state;
    assert_int_equal(paved_config_load(&cf, "/nonexistent/paved.yaml", NULL),
                     PAVED_ENOTFOUND);
    assert_null(cf);
    assert_non_null(strstr(paved_error_last(), "/nonexistent/paved.yaml"));
}

static void
test_all_types(void **state)
{
    struct paved_config *cf;

    (void)state;
    cf = parse_ok("listen: \"[::1]:0\"\n"
                  "data_dir: /srv/paved\n"
                  "store: postgresql://u@db/paved\n"
                  "store_max_size: 64KiB\n"
                  "store_batch: 7\n"
                  "max_body: 1M\n"
                  "read_timeout: 2\n"
                  "request_timeout: 1h30m\n"
                  "github_secret: [s1, \"s2\"]\n"
                  "github_allow_sha1: yes\n"
                  "gitea_secret: \"a, b ,,c\"\n"
                  "gitlab_token:\n  - t1\n"
                  "gitlab_signing_secret: whsec_x\n"
                  "gitlab_signature_tolerance: 2000ms\n"
                  "log_format: json\n"
                  "log_level: debug\n"
                  "api_token: tok\n"
                  "public_url: https://ci.example.com\n"
                  "pipelines_dir: p\n"
                  "clone_url_template: file:///srv/git/{repo}.git\n"
                  "github_api_url: http://127.0.0.1:9/api\n"
                  "github_token: ghp\n",
                  NULL);
    assert_string_equal(cf->cf_listen, "[::1]:0");
    assert_string_equal(cf->cf_data_dir, "/srv/paved");
    assert_string_equal(cf->cf_store, "postgresql://u@db/paved");
    assert_int_equal(cf->cf_store_max_size, 65536);
    assert_int_equal(cf->cf_store_batch, 7);
    assert_int_equal(cf->cf_max_body, 1048576);
    assert_int_equal(cf->cf_read_timeout, 2);
    assert_int_equal(cf->cf_request_timeout, 5400);
    assert_int_equal(cf->cf_github_secret.sl_n, 2);
    assert_string_equal(cf->cf_github_secret.sl_items[0], "s1");
    assert_string_equal(cf->cf_github_secret.sl_items[1], "s2");
    assert_true(cf->cf_github_allow_sha1);
    assert_int_equal(cf->cf_gitea_secret.sl_n, 3);
    assert_string_equal(cf->cf_gitea_secret.sl_items[0], "a");
    assert_string_equal(cf->cf_gitea_secret.sl_items[1], "b");
    assert_string_equal(cf->cf_gitea_secret.sl_items[2], "c");
    assert_int_equal(cf->cf_gitlab_token.sl_n, 1);
    assert_string_equal(cf->cf_gitlab_token.sl_items[0], "t1");
    assert_string_equal(cf->cf_gitlab_signing_secret.sl_items[0], "whsec_x");
    assert_int_equal(cf->cf_gitlab_signature_tolerance, 2);
    assert_string_equal(cf->cf_log_format, "json");
    assert_string_equal(cf->cf_log_level, "debug");
    assert_string_equal(cf->cf_api_token, "tok");
    assert_string_equal(cf->cf_public_url, "https://ci.example.com");
    assert_string_equal(cf->cf_pipelines_dir, "p");
    assert_string_equal(cf->cf_clone_url_template,
                        "file:///srv/git/{repo}.git");
    assert_string_equal(cf->cf_github_api_url, "http://127.0.0.1:9/api");
    assert_string_equal(cf->cf_github_token, "ghp");
    paved_config_free(cf);
}

static void
test_nested_equals_flat(void **state)
{
    struct paved_config *a, *b;
    char *da, *db;

    (void)state;
    a = parse_ok("github:\n  secret: x\n  allow_sha1: true\n"
                 "gitlab: {signature: {tolerance: 1m}}\n"
                 "store:\n  max_size: 1GiB\n",
                 NULL);
    b = parse_ok("github_secret: x\ngithub_allow_sha1: true\n"
                 "gitlab_signature_tolerance: 60\n"
                 "store_max_size: 1073741824\n",
                 NULL);
    assert_string_equal(a->cf_github_secret.sl_items[0], "x");
    assert_int_equal(a->cf_gitlab_signature_tolerance, 60);
    assert_int_equal(a->cf_store_max_size, 1073741824);
    assert_int_equal(paved_config_dump(&da, a), 0);
    assert_int_equal(paved_config_dump(&db, b), 0);
    assert_string_equal(da, db);
    free(da);
    free(db);
    paved_config_free(a);
    paved_config_free(b);
}

static void
test_env_overrides(void **state)
{
    char *env[] = {"HOME=/root",
                   "PAVED_LISTEN=0.0.0.0:9999",
                   "PAVED_DATA_DIR=/tmp/x",
                   "PAVED_STORE=postgres://h/db",
                   "PAVED_GITHUB_SECRET=new,old",
                   "PAVED_GITEA_SECRET=",
                   "PAVED_MAX_BODY=1MiB",
                   "PAVED_READ_TIMEOUT=2s",
                   "PAVED_GITHUB_ALLOW_SHA1=on",
                   "PAVED_API_TOKEN=",
                   "PAVED_SHA=0123abc",
                   "PAVED_LISTEN=1.1.1.1:1", /* first one wins */
                   "PAVED_LOG_LEVEL",        /* no '=': not a setting */
                   NULL};
    struct paved_config *cf;

    (void)state;
    cf =
        parse_ok("listen: 127.0.0.1:1\ngitea_secret: [a]\napi_token: t\n", env);
    assert_string_equal(cf->cf_listen, "0.0.0.0:9999");
    assert_string_equal(cf->cf_data_dir, "/tmp/x");
    assert_string_equal(cf->cf_store, "postgres://h/db");
    assert_int_equal(cf->cf_github_secret.sl_n, 2);
    assert_string_equal(cf->cf_github_secret.sl_items[0], "new");
    assert_string_equal(cf->cf_github_secret.sl_items[1], "old");
    assert_int_equal(cf->cf_gitea_secret.sl_n, 0); /* empty list */
    assert_int_equal(cf->cf_max_body, 1048576);
    assert_int_equal(cf->cf_read_timeout, 2);
    assert_true(cf->cf_github_allow_sha1);
    assert_string_equal(cf->cf_api_token, "");
    assert_string_equal(cf->cf_log_level, "info");
    paved_config_free(cf);
}

struct env_case {
    const char *var;
    const char *msg;
};

static void
test_env_bad_values(void **state)
{
    static const struct env_case cases[] = {
        {"PAVED_MAX_BODY=lots",
         "PAVED_MAX_BODY: invalid size \"lots\" (use bytes or a whole number "
         "with a unit: 512KiB, 25MiB, 1GiB)"},
        {"PAVED_READ_TIMEOUT=soon",
         "PAVED_READ_TIMEOUT: invalid duration \"soon\" (use 10s, 5m, 1h, "
         "1h30m or whole seconds)"},
        {"PAVED_READ_TIMEOUT=", "PAVED_READ_TIMEOUT: empty duration (use 10s, "
                                "5m, 1h or whole seconds)"},
        {"PAVED_GITHUB_ALLOW_SHA1=maybe",
         "PAVED_GITHUB_ALLOW_SHA1: invalid boolean \"maybe\" (use true or "
         "false)"},
        {"PAVED_LISTEN=8080",
         "PAVED_LISTEN: must be host:port, e.g. 127.0.0.1:8080, 0.0.0.0:8080 "
         "or [::1]:8080"},
        {"PAVED_STORE=mysql://root:hunter2@db",
         "PAVED_STORE: unsupported store \"mysql\" (use sqlite or a "
         "postgres:// URL)"},
        {"PAVED_STORE_BATCH=0", "PAVED_STORE_BATCH: must be at least 1"},
        {"PAVED_STORE_BATCH=99999999999",
         "PAVED_STORE_BATCH: number \"99999999999\" is too large (at most "
         "4294967295)"},
        {"PAVED_LOG_FORMAT=xml",
         "PAVED_LOG_FORMAT: invalid value \"xml\" (use text or json)"},
        {"PAVED_DATA_DIR=", "PAVED_DATA_DIR: must not be empty"},
    };
    struct paved_config *cf = NULL;
    char *env[2] = {NULL, NULL};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        env[0] = (char *)cases[i].var;
        assert_int_equal(paved_config_parse(&cf, NAME, "", 0, env),
                         PAVED_EUSAGE);
        assert_null(cf);
        assert_string_equal(paved_error_last(), cases[i].msg);
    }
}

struct bad_case {
    const char *yaml;
    const char *msg;
};

static void
test_bad_files(void **state)
{
    static const struct bad_case cases[] = {
        /* unknown keys, with and without a suggestion */
        {"listen: 127.0.0.1:1\ndata_dir: v\nlsten: x\n",
         NAME ":3:1: unknown key \"lsten\" (did you mean \"listen\"?)"},
        {"github:\n  secrte: x\n",
         NAME ":2:3: unknown key \"github_secrte\" (did you mean "
              "\"github_secret\"?)"},
        {"colour: blue\n", NAME ":1:1: unknown key \"colour\" (see "
                                "docs/configuration.md for the keys)"},
        {"foo:\n  bar: 1\n", NAME ":1:1: unknown key \"foo\" (see "
                                  "docs/configuration.md for the keys)"},
        /* wrong types */
        {"store_batch: many\n",
         NAME ":1:14: store_batch: invalid number \"many\" (use a whole "
              "number such as 512)"},
        {"store_batch: -1\n", NAME ":1:14: store_batch: invalid number "
                                   "\"-1\" (use a whole number such as 512)"},
        {"github_allow_sha1: 2\n",
         NAME ":1:20: github_allow_sha1: invalid boolean \"2\" (use true or "
              "false)"},
        {"max_body:\n", NAME ":1:10: max_body: needs a value, a size "
                             "(512KiB, 25MiB) (or remove the line for the "
                             "default \"25MiB\")"},
        {"listen: [a, b]\n",
         NAME ":1:9: listen: expected a string, got a list (write one value "
              "on the same line)"},
        {"max_body:\n  - 1\n",
         NAME ":2:3: max_body: expected a size (512KiB, 25MiB), got a list "
              "(write one value on the same line)"},
        {"listen: {host: x}\n",
         NAME ":1:9: listen: expected a string, got a mapping"},
        {"github_secret: [[a]]\n",
         NAME ":1:17: github_secret: list items must be plain strings, not "
              "a list"},
        /* bad durations and sizes */
        {"read_timeout: 10x\n",
         NAME ":1:15: read_timeout: invalid duration \"10x\" (use 10s, 5m, "
              "1h, 1h30m or whole seconds)"},
        {"read_timeout: -5s\n", NAME ":1:15: read_timeout: invalid duration "
                                     "\"-5s\": must not be negative"},
        {"read_timeout: 500ms\n",
         NAME ":1:15: read_timeout: invalid duration \"500ms\": the "
              "resolution is one second"},
        {"read_timeout: 0\n", NAME ":1:15: read_timeout: must be at least 1 "
                                   "second"},
        {"request_timeout: 99999999999s\n",
         NAME ":1:18: request_timeout: duration \"99999999999s\" is too "
              "large (at most 4294967295 seconds)"},
        {"max_body: 1.5MiB\n",
         NAME ":1:11: max_body: invalid size \"1.5MiB\" (use bytes or a whole "
              "number with a unit: 512KiB, 25MiB, 1GiB)"},
        {"max_body: 99999999999999999999\n",
         NAME ":1:11: max_body: size \"99999999999999999999\" is too large"},
        {"max_body: 20000000TiB\n",
         NAME ":1:11: max_body: size \"20000000TiB\" is too large"},
        {"max_body: 0\n", NAME ":1:11: max_body: must be at least 1"},
        /* validation */
        {"listen: 127.0.0.1:65536\n",
         NAME ":1:9: listen: port must be a number from 0 to 65535"},
        {"listen: ::1:80\n",
         NAME ":1:9: listen: IPv6 addresses need brackets: [::1]:8080"},
        {"store: sqlite3\n", NAME ":1:8: store: unsupported store \"sqlite3\" "
                                  "(use sqlite or a postgres:// URL)"},
        {"log_level: trace\n",
         NAME ":1:12: log_level: invalid value \"trace\" (use debug, info, "
              "warn or error)"},
        {"github_api_url: api.github.com\n",
         NAME ":1:17: github_api_url: must be an http:// or https:// URL"},
        /* duplicates, direct and through nesting */
        {"listen: a:1\nlisten: b:2\n",
         NAME ":2:1: duplicate key \"listen\" (first set on line 1; keep "
              "one)"},
        {"github: {secret: a}\ngithub_secret: b\n",
         NAME ":2:1: duplicate key \"github_secret\" (first set on line 1; "
              "keep one)"},
        {"gitlab:\n  token: a\ngitlab:\n  signing_secret: b\n",
         NAME ":3:1: duplicate key \"gitlab\" (first set on line 1; merge "
              "the two)"},
        /* YAML syntax */
        {"listen: \"127.0.0.1:1\n",
         NAME ":2:1: YAML syntax error: found unexpected end of stream (a "
              "quote or bracket is not closed; while scanning a quoted "
              "scalar at 1:9)"},
        {"listen: a:1\ndata_dir\nstore: sqlite\n",
         NAME ":2:1: YAML syntax error: could not find expected ':' (each "
              "line needs \"key: value\")"},
        {"clone_url_template: a: b\n",
         NAME ":1:22: YAML syntax error: mapping values are not allowed in "
              "this context (a value containing \": \" needs quotes)"},
        {"github:\n\tsecret: x\n",
         NAME ":2:1: YAML syntax error: found character that cannot start "
              "any token (tabs are not allowed for indentation in YAML; use "
              "spaces)"},
        /* shapes */
        {"- listen\n", NAME ":1:1: expected a mapping of \"key: value\" lines "
                            "at the top, got a list"},
        {"just text\n", NAME ":1:1: expected a mapping of \"key: value\" "
                             "lines at the top, got a value"},
        {"listen: a:1\n---\nlisten: b:1\n",
         NAME ":2:1: only one YAML document is allowed (remove \"---\")"},
        {"x: &a 1\n", NAME ":1:1: unknown key \"x\" (see "
                           "docs/configuration.md for the keys)"},
        {"data_dir: &a v\npipelines_dir: *a\n",
         NAME ":2:16: pipelines_dir: aliases (*name) are not supported"},
        {"? [a]\n: b\n", NAME ":1:3: keys must be plain names, not a list"},
        {"data_dir: \"a\\0b\"\n", NAME ":1:11: data_dir: contains a NUL "
                                       "byte"},
    };
    struct paved_config *cf = NULL;
    size_t i;
    int error;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        error = paved_config_parse(&cf, NAME, cases[i].yaml,
                                   strlen(cases[i].yaml), NULL);
        if (error != PAVED_EUSAGE ||
            strcmp(paved_error_last(), cases[i].msg) != 0)
            fail_msg("case %zu: %s\n  got  %d %s\n  want %s", i, cases[i].yaml,
                     error, paved_error_last(), cases[i].msg);
        assert_null(cf);
    }
}

/* The data need not be NUL-terminated: len is the end. */
static void
test_length_is_respected(void **state)
{
    const char text[] = "log_level: warn\nlsten: x\n";
    struct paved_config *cf = NULL;

    (void)state;
    assert_int_equal(paved_config_parse(&cf, NAME, text, 16, NULL), 0);
    assert_string_equal(cf->cf_log_level, "warn");
    paved_config_free(cf);
}

static void
test_parse_duration(void **state)
{
    static const struct {
        const char *s;
        unsigned want;
        int ok;
    } cases[] = {
        {"10s", 10, 1},
        {"5m", 300, 1},
        {"1h", 3600, 1},
        {"1h30m", 5400, 1},
        {"0", 0, 1},
        {"45", 45, 1},
        {"1d", 86400, 1},
        {"3000ms", 3, 1},
        {"4294967295", UINT_MAX, 1},
        {"", 0, 0},
        {"s", 0, 0},
        {"10 s", 0, 0},
        {"-1", 0, 0},
        {"1.5s", 0, 0},
        {"10S", 0, 0},
        {"1h30", 0, 0},
        {"1500ms", 0, 0},
        {"4294967296", 0, 0},
        {"1193047h", 0, 0},
        {"99999999999999999999999s", 0, 0},
        {"1y", 0, 0},
    };
    unsigned v;
    size_t i;
    int error;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        v = 12345;
        error = paved_parse_duration(&v, cases[i].s);
        if (!cases[i].ok) {
            if (error != PAVED_EINVAL)
                fail_msg("\"%s\" should fail, got %u", cases[i].s, v);
            assert_int_equal(v, 12345);
        } else {
            if (error != 0)
                fail_msg("\"%s\": %s", cases[i].s, paved_error_last());
            assert_int_equal(v, cases[i].want);
        }
    }
}

static void
test_parse_size(void **state)
{
    static const struct {
        const char *s;
        size_t want;
        int ok;
    } cases[] = {
        {"0", 0, 1},
        {"1024", 1024, 1},
        {"1k", 1024, 1},
        {"512KiB", 524288, 1},
        {"25MiB", 26214400, 1},
        {"25M", 26214400, 1},
        {"25mb", 26214400, 1},
        {"1GiB", 1073741824, 1},
        {"2 GiB", 2147483648u, 1},
        {"7B", 7, 1},
        {"1TiB", (size_t)1 << 40, 1},
        {"", 0, 0},
        {"MiB", 0, 0},
        {"-1", 0, 0},
        {"1.5M", 0, 0},
        {"1 ", 0, 0},
        {"1PiB", 0, 0},
        {"10  MiB", 0, 0},
        {"18446744073709551616", 0, 0},
        {"16777216TiB", 0, 0},
    };
    size_t v, i;
    int error;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        v = 12345;
        error = paved_parse_size(&v, cases[i].s);
        if (!cases[i].ok) {
            if (error != PAVED_EINVAL)
                fail_msg("\"%s\" should fail, got %zu", cases[i].s, v);
            assert_int_equal(v, 12345);
        } else {
            if (error != 0)
                fail_msg("\"%s\": %s", cases[i].s, paved_error_last());
            assert_int_equal(v, cases[i].want);
        }
    }
}

static void
test_parse_bool(void **state)
{
    static const char *const yes[] = {"true", "yes", "on", "1", "TRUE", "Yes"};
    static const char *const no[] = {"false", "no", "off", "0", "False"};
    static const char *const bad[] = {"", "y", "2", "truee", "nope"};
    size_t i;
    int v;

    (void)state;
    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        assert_int_equal(paved_parse_bool(&v, yes[i]), 0);
        assert_int_equal(v, 1);
    }
    for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        assert_int_equal(paved_parse_bool(&v, no[i]), 0);
        assert_int_equal(v, 0);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(paved_parse_bool(&v, bad[i]), PAVED_EINVAL);
}

static void
test_dump_hides_secrets(void **state)
{
    char *env[] = {"PAVED_GITHUB_SECRET=hunter2,s3cr3t",
                   "PAVED_API_TOKEN=tok-XYZ",
                   "PAVED_STORE=postgres://paved:pa55word@db:5432/paved", NULL};
    struct paved_config *cf, *again;
    char *dump, *dump2;

    (void)state;
    cf = parse_ok("gitlab_token: [glt-123]\ngithub_token: ghp_abc\n"
                  "max_body: 1048577\nread_timeout: 90\n",
                  env);
    assert_int_equal(paved_config_dump(&dump, cf), 0);
    assert_null(strstr(dump, "hunter2"));
    assert_null(strstr(dump, "s3cr3t"));
    assert_null(strstr(dump, "tok-XYZ"));
    assert_null(strstr(dump, "glt-123"));
    assert_null(strstr(dump, "ghp_abc"));
    assert_null(strstr(dump, "pa55word"));
    assert_non_null(strstr(dump, "\ngithub_secret: \"<set>\"\n"));
    assert_non_null(strstr(dump, "\ngitea_secret: \"\"\n"));
    assert_non_null(strstr(dump, "\napi_token: \"<set>\"\n"));
    assert_non_null(strstr(dump, "\ngithub_token: \"<set>\"\n"));
    assert_non_null(
        strstr(dump, "\nstore: \"postgres://paved:<set>@db:5432/paved\"\n"));
    assert_non_null(strstr(dump, "\nlisten: \"127.0.0.1:8080\"\n"));
    assert_non_null(strstr(dump, "\nmax_body: 1048577\n"));
    assert_non_null(strstr(dump, "\nread_timeout: 90s\n"));
    assert_non_null(strstr(dump, "\ngitlab_signature_tolerance: 5m\n"));
    assert_non_null(strstr(dump, "\ngithub_allow_sha1: false\n"));
    /* the dump is a config file that reads back the same */
    again = parse_ok(dump, NULL);
    assert_int_equal(paved_config_dump(&dump2, again), 0);
    assert_string_equal(dump, dump2);
    free(dump);
    free(dump2);
    paved_config_free(cf);
    paved_config_free(again);
}

static void
test_redact_url(void **state)
{
    static const char *const cases[][2] = {
        {"sqlite", "sqlite"},
        {"postgres://h/db", "postgres://h/db"},
        {"postgres://u@h/db", "postgres://u@h/db"},
        {"postgres://u:pw@h:5432/db", "postgres://u:<set>@h:5432/db"},
        {"postgresql://u:p@ss@h/db?sslmode=require",
         "postgresql://u:<set>@h/db?sslmode=require"},
        {"postgres://h/db?x=a:b@c", "postgres://h/db?x=a:b@c"},
        {"", ""},
    };
    size_t i;
    char *out;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(paved_config_redact_url(&out, cases[i][0]), 0);
        assert_string_equal(out, cases[i][1]);
        free(out);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_shipped_file),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_all_types),
        cmocka_unit_test(test_nested_equals_flat),
        cmocka_unit_test(test_env_overrides),
        cmocka_unit_test(test_env_bad_values),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_length_is_respected),
        cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_parse_bool),
        cmocka_unit_test(test_dump_hides_secrets),
        cmocka_unit_test(test_redact_url),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
