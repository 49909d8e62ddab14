/* Unit tests for forgeapi: the exact commit-status requests for GitHub
 * (checked byte for byte against the request @octokit/fixtures recorded
 * from api.github.com, tests/fixtures/github/create-status-request.json),
 * Gitea and GitLab; description cuts with multibyte text; refused inputs;
 * and every rule for reading a forge's answer. Never touches the network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <jansson.h>

#include "paved/error.h"
#include "paved/forgeapi.h"
#include "paved/jscan.h"

#include "forge_test.h"

#define SHA1 "0000000000000000000000000000000000000001"
#define TOKEN "0000000000000000000000000000000000000001"
/* Tue, 14 Nov 2023 22:13:20 GMT */
#define NOW 1700000000000LL

static int
build(struct paved_http_request *r, enum paved_forge_kind kind, const char *api,
      const char *repo, const char *sha, enum paved_status_state state,
      const char *context, const char *desc, const char *target)
{
    struct paved_forge_endpoint ep = {kind, api, TOKEN};
    struct paved_status st = {repo, sha, context, state, desc, target};

    return paved_forgeapi_status(r, &ep, &st);
}

static void
assert_headers(const struct paved_http_request *r, const char *const *want,
               size_t n)
{
    size_t i;

    assert_int_equal(r->hr_nheaders, n);
    for (i = 0; i < n; i++)
        assert_string_equal(r->hr_headers[i], want[i]);
}

/* the value of header name (any case) in r, or NULL */
static const char *
header_value(const struct paved_http_request *r, const char *name)
{
    size_t i, n = strlen(name);

    for (i = 0; i < r->hr_nheaders; i++)
        if (strncasecmp(r->hr_headers[i], name, n) == 0 &&
            strncmp(r->hr_headers[i] + n, ": ", 2) == 0)
            return r->hr_headers[i] + n + 2;
    return NULL;
}

/* number of code points in valid UTF-8 s, -1 if invalid */
static long
utf8_chars(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    long n = 0;

    if (!paved_jscan_valid_utf8(s, strlen(s)))
        return -1;
    for (; *u != '\0'; u++)
        if ((*u & 0xc0) != 0x80)
            n++;
    return n;
}

/* the body's "description", as a malloc'd string, or NULL if absent */
static char *
body_string(const struct paved_http_request *r, const char *key)
{
    json_t *root, *v;
    char *s = NULL;

    root = json_loadb(r->hr_body, r->hr_body_len, 0, NULL);
    assert_non_null(root);
    v = json_object_get(root, key);
    if (v != NULL) {
        assert_true(json_is_string(v));
        s = strdup(json_string_value(v));
    }
    json_decref(root);
    return s;
}

static char *
repeat(const char *unit, size_t times)
{
    size_t n = strlen(unit), i;
    char *s = malloc(n * times + 1);

    assert_non_null(s);
    for (i = 0; i < times; i++)
        memcpy(s + i * n, unit, n);
    s[n * times] = '\0';
    return s;
}

/*
 * Requests
 */

static void
test_github_exact(void **state)
{
    static const char *const want[] = {
        "Accept: application/vnd.github.v3+json",
        "Authorization: token " TOKEN,
        "Content-Type: application/json; charset=utf-8",
        "User-Agent: paved",
    };
    struct paved_http_request r;

    (void)state;
    assert_int_equal(build(&r, PAVED_FORGEAPI_GITHUB, "https://api.github.com",
                           "octokit-fixture-org/create-status", SHA1,
                           PAVED_STATUS_FAILURE, "example/1",
                           "create-status failure test", "https://example.com"),
                     0);
    assert_string_equal(r.hr_method, "POST");
    assert_string_equal(r.hr_url, "https://api.github.com/repos/"
                                  "octokit-fixture-org/create-status/"
                                  "statuses/" SHA1);
    assert_headers(&r, want, 4);
    assert_string_equal(r.hr_body, "{\"state\":\"failure\",\"target_url\":"
                                   "\"https://example.com\",\"description\":"
                                   "\"create-status failure test\",\"context\":"
                                   "\"example/1\"}");
    assert_int_equal(r.hr_body_len, 119);
    assert_int_equal(strlen(r.hr_body), r.hr_body_len);
    paved_http_request_dispose(&r);
}

/* The recorded requests of @octokit/fixtures' create-status scenario,
 * rebuilt from their own fields: same method, path, body bytes and
 * content-length, and every recorded header with the same value. */
static void
test_github_matches_recording(void **state)
{
    json_t *root, *reqs, *rec, *body, *hdrs, *v;
    const char *path, *key;
    char *file, *dumped, repo[128], sha[65], url[512];
    const char *p;
    size_t len, i;
    json_error_t err;

    (void)state;
    file = (char *)forge_test_load("PAVED_SOURCE_DIR", ".",
                                   "tests/fixtures/github/"
                                   "create-status-request.json",
                                   &len);
    root = json_loadb(file, len, 0, &err);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "scenario")),
                        "api.github.com/create-status");
    reqs = json_object_get(root, "requests");
    assert_int_equal(json_array_size(reqs), 2);
    json_array_foreach(reqs, i, rec)
    {
        struct paved_http_request r;
        enum paved_status_state st;
        const char *state_name;

        assert_string_equal(json_string_value(json_object_get(rec, "method")),
                            "post");
        path = json_string_value(json_object_get(rec, "path"));
        body = json_object_get(rec, "body");
        hdrs = json_object_get(rec, "reqheaders");
        assert_non_null(path);
        /* /repos/{owner}/{repo}/statuses/{sha} */
        assert_int_equal(strncmp(path, "/repos/", 7), 0);
        p = strstr(path, "/statuses/");
        assert_non_null(p);
        snprintf(repo, sizeof(repo), "%.*s", (int)(p - path - 7), path + 7);
        snprintf(sha, sizeof(sha), "%s", p + 10);
        state_name = json_string_value(json_object_get(body, "state"));
        st = strcmp(state_name, "failure") == 0 ? PAVED_STATUS_FAILURE
                                                : PAVED_STATUS_SUCCESS;
        assert_string_equal(state_name,
                            st == PAVED_STATUS_FAILURE ? "failure" : "success");
        assert_int_equal(
            build(&r, PAVED_FORGEAPI_GITHUB, "https://api.github.com", repo,
                  sha, st, json_string_value(json_object_get(body, "context")),
                  json_string_value(json_object_get(body, "description")),
                  json_string_value(json_object_get(body, "target_url"))),
            0);
        assert_string_equal(r.hr_method, "POST");
        snprintf(url, sizeof(url), "https://api.github.com%s", path);
        assert_string_equal(r.hr_url, url);
        /* the bytes JSON.stringify() gave when it was recorded: compact,
         * in the recorded key order */
        dumped = json_dumps(body, JSON_COMPACT);
        assert_non_null(dumped);
        assert_string_equal(r.hr_body, dumped);
        free(dumped);
        json_object_foreach(hdrs, key, v)
        {
            if (strcmp(key, "host") == 0)
                continue; /* the transport's, from the URL */
            if (strcmp(key, "content-length") == 0) {
                /* libcurl sends it from hr_body_len */
                assert_int_equal(r.hr_body_len, (size_t)json_integer_value(v));
                continue;
            }
            assert_non_null(header_value(&r, key));
            assert_string_equal(header_value(&r, key), json_string_value(v));
        }
        /* beyond the recording, only the User-Agent GitHub requires */
        assert_int_equal(r.hr_nheaders, json_object_size(hdrs) - 2 + 1);
        assert_string_equal(header_value(&r, "User-Agent"), "paved");
        paved_http_request_dispose(&r);
    }
    json_decref(root);
    free(file);
}

static void
test_github_options(void **state)
{
    struct paved_http_request r;

    (void)state;
    /* no target_url: left out; a GitHub Enterprise root with a slash */
    assert_int_equal(build(&r, PAVED_FORGEAPI_GITHUB,
                           "https://ghe.example/api/v3/", "Org-1/repo_2.x",
                           SHA1, PAVED_STATUS_PENDING, "paved/service",
                           "queued", NULL),
                     0);
    assert_string_equal(r.hr_url, "https://ghe.example/api/v3/repos/Org-1/"
                                  "repo_2.x/statuses/" SHA1);
    assert_string_equal(r.hr_body, "{\"state\":\"pending\",\"description\":"
                                   "\"queued\",\"context\":\"paved/service\"}");
    paved_http_request_dispose(&r);
    /* "" is none too; so is an empty description */
    assert_int_equal(build(&r, PAVED_FORGEAPI_GITHUB, "https://api.github.com",
                           "o/.github", SHA1, PAVED_STATUS_SUCCESS, "c", "",
                           ""),
                     0);
    assert_string_equal(r.hr_body, "{\"state\":\"success\",\"context\":\"c\"}");
    assert_string_equal(
        r.hr_url, "https://api.github.com/repos/o/.github/statuses/" SHA1);
    paved_http_request_dispose(&r);
    /* quotes and backslashes are escaped, '/' is not (as GitHub's
     * recording and jansson) */
    assert_int_equal(build(&r, PAVED_FORGEAPI_GITHUB, "https://api.github.com",
                           "o/r", SHA1, PAVED_STATUS_ERROR, "a/\"b\"", "c:\\d",
                           "https://x.example/runs/1?a=b"),
                     0);
    assert_string_equal(r.hr_body,
                        "{\"state\":\"error\",\"target_url\":"
                        "\"https://x.example/runs/1?a=b\",\"description\":"
                        "\"c:\\\\d\",\"context\":\"a/\\\"b\\\"\"}");
    paved_http_request_dispose(&r);
}

static void
test_states(void **state)
{
    static const struct {
        enum paved_status_state st;
        const char *github, *gitlab;
    } map[] = {
        {PAVED_STATUS_PENDING, "pending", "pending"},
        {PAVED_STATUS_RUNNING, "pending", "running"},
        {PAVED_STATUS_SUCCESS, "success", "success"},
        {PAVED_STATUS_FAILURE, "failure", "failed"},
        {PAVED_STATUS_ERROR, "error", "failed"},
        {PAVED_STATUS_CANCELLED, "error", "canceled"},
    };
    struct paved_http_request r;
    char *s;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        assert_int_equal(build(&r, PAVED_FORGEAPI_GITHUB, "https://a.example",
                               "o/r", SHA1, map[i].st, "c", "d", NULL),
                         0);
        s = body_string(&r, "state");
        assert_string_equal(s, map[i].github);
        free(s);
        paved_http_request_dispose(&r);
        assert_int_equal(build(&r, PAVED_FORGEAPI_GITEA, "https://a.example",
                               "o/r", SHA1, map[i].st, "c", "d", NULL),
                         0);
        s = body_string(&r, "state");
        assert_string_equal(s, map[i].github);
        free(s);
        paved_http_request_dispose(&r);
        assert_int_equal(build(&r, PAVED_FORGEAPI_GITLAB, "https://a.example",
                               "g/p", SHA1, map[i].st, "c", "d", NULL),
                         0);
        s = body_string(&r, "state");
        assert_string_equal(s, map[i].gitlab);
        free(s);
        paved_http_request_dispose(&r);
    }
    assert_int_equal(build(&r, PAVED_FORGEAPI_GITHUB, "https://a.example",
                           "o/r", SHA1, (enum paved_status_state)42, "c", "d",
                           NULL),
                     PAVED_EINVAL);
}

static void
test_gitea_exact(void **state)
{
    static const char *const want[] = {
        "Accept: application/json",
        "Authorization: token " TOKEN,
        "Content-Type: application/json",
        "User-Agent: paved",
    };
    struct paved_http_request r;

    (void)state;
    assert_int_equal(build(&r, PAVED_FORGEAPI_GITEA, "https://gitea.example",
                           "alice/hello", SHA1, PAVED_STATUS_SUCCESS,
                           "paved/service", "all 3 steps passed",
                           "https://ci.example/runs/7"),
                     0);
    assert_string_equal(r.hr_method, "POST");
    assert_string_equal(r.hr_url, "https://gitea.example/api/v1/repos/alice/"
                                  "hello/statuses/" SHA1);
    assert_headers(&r, want, 4);
    assert_string_equal(r.hr_body,
                        "{\"state\":\"success\",\"target_url\":"
                        "\"https://ci.example/runs/7\",\"description\":"
                        "\"all 3 steps passed\",\"context\":"
                        "\"paved/service\"}");
    assert_int_equal(r.hr_body_len, strlen(r.hr_body));
    paved_http_request_dispose(&r);
    /* a root that already names the API is not extended twice */
    assert_int_equal(build(&r, PAVED_FORGEAPI_GITEA,
                           "http://127.0.0.1:3000/sub/api/v1/", "a/b", SHA1,
                           PAVED_STATUS_PENDING, "c", NULL, NULL),
                     0);
    assert_string_equal(r.hr_url, "http://127.0.0.1:3000/sub/api/v1/repos/a/b/"
                                  "statuses/" SHA1);
    assert_string_equal(r.hr_body, "{\"state\":\"pending\",\"context\":\"c\"}");
    paved_http_request_dispose(&r);
}

static void
test_gitlab_exact(void **state)
{
    static const char *const want[] = {
        "Accept: application/json",
        "PRIVATE-TOKEN: " TOKEN,
        "Content-Type: application/json",
        "User-Agent: paved",
    };
    struct paved_http_request r;

    (void)state;
    assert_int_equal(build(&r, PAVED_FORGEAPI_GITLAB, "https://gitlab.example/",
                           "group/sub/project", SHA1, PAVED_STATUS_RUNNING,
                           "paved/service", "step build",
                           "https://ci.example/runs/7"),
                     0);
    assert_string_equal(r.hr_method, "POST");
    assert_string_equal(r.hr_url, "https://gitlab.example/api/v4/projects/"
                                  "group%2Fsub%2Fproject/statuses/" SHA1);
    assert_headers(&r, want, 4);
    assert_string_equal(r.hr_body,
                        "{\"state\":\"running\",\"name\":\"paved/service\","
                        "\"target_url\":\"https://ci.example/runs/7\","
                        "\"description\":\"step build\"}");
    paved_http_request_dispose(&r);
    /* a numeric project id; the API root given with /api/v4 */
    assert_int_equal(build(&r, PAVED_FORGEAPI_GITLAB,
                           "https://gitlab.example/api/v4", "42", SHA1,
                           PAVED_STATUS_CANCELLED, "c", NULL, NULL),
                     0);
    assert_string_equal(r.hr_url, "https://gitlab.example/api/v4/projects/42/"
                                  "statuses/" SHA1);
    assert_string_equal(r.hr_body, "{\"state\":\"canceled\",\"name\":\"c\"}");
    paved_http_request_dispose(&r);
}

static void
test_sha_forms(void **state)
{
    static const char sha256[] =
        "ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789";
    struct paved_http_request r;

    (void)state;
    assert_int_equal(build(&r, PAVED_FORGEAPI_GITHUB, "https://a.example",
                           "o/r", sha256, PAVED_STATUS_SUCCESS, "c", NULL,
                           NULL),
                     0);
    assert_string_equal(r.hr_url, "https://a.example/repos/o/r/statuses/"
                                  "abcdef0123456789abcdef0123456789abcdef01234"
                                  "56789abcdef0123456789");
    paved_http_request_dispose(&r);
}

/* GitHub: at most 140 characters, a cut never inside a character and
 * marked with "…" within the 140. */
static void
test_description_cut_github(void **state)
{
    static const char *const units[] = {"a", "\xc3\xa9", "\xe2\x82\xac",
                                        "\xf0\x9f\x98\x80"};
    struct paved_http_request r;
    char *desc, *got, *want, *head;
    size_t u;

    (void)state;
    for (u = 0; u < 4; u++) {
        /* exactly 140: unchanged */
        desc = repeat(units[u], 140);
        assert_int_equal(build(&r, PAVED_FORGEAPI_GITHUB, "https://a.example",
                               "o/r", SHA1, PAVED_STATUS_FAILURE, "c", desc,
                               NULL),
                         0);
        got = body_string(&r, "description");
        assert_string_equal(got, desc);
        free(got);
        free(desc);
        paved_http_request_dispose(&r);
        /* 141: 139 of them and the marker */
        desc = repeat(units[u], 141);
        assert_int_equal(build(&r, PAVED_FORGEAPI_GITHUB, "https://a.example",
                               "o/r", SHA1, PAVED_STATUS_FAILURE, "c", desc,
                               NULL),
                         0);
        got = body_string(&r, "description");
        head = repeat(units[u], 139);
        want = malloc(strlen(head) + 4);
        assert_non_null(want);
        snprintf(want, strlen(head) + 4, "%s\xe2\x80\xa6", head);
        assert_string_equal(got, want);
        assert_int_equal(utf8_chars(got), 140);
        free(head);
        free(want);
        free(got);
        free(desc);
        paved_http_request_dispose(&r);
    }
    /* mixed widths: the 139th character is a 4-byte one, kept whole */
    desc = malloc(1024);
    assert_non_null(desc);
    head = repeat("x\xc3\xa9", 69); /* 138 characters */
    snprintf(desc, 1024,
             "%s\xf0\x9f\x98\x80"
             "tail that goes over",
             head);
    assert_int_equal(build(&r, PAVED_FORGEAPI_GITHUB, "https://a.example",
                           "o/r", SHA1, PAVED_STATUS_FAILURE, "c", desc, NULL),
                     0);
    got = body_string(&r, "description");
    snprintf(desc, 1024, "%s\xf0\x9f\x98\x80\xe2\x80\xa6", head);
    assert_string_equal(got, desc);
    assert_int_equal(utf8_chars(got), 140);
    free(got);
    free(head);
    free(desc);
    paved_http_request_dispose(&r);
    /* one line: controls become spaces; a bad byte becomes U+FFFD */
    assert_int_equal(build(&r, PAVED_FORGEAPI_GITHUB, "https://a.example",
                           "o/r", SHA1, PAVED_STATUS_FAILURE, "c",
                           "line1\nline2\tx\xff!", NULL),
                     0);
    got = body_string(&r, "description");
    assert_string_equal(got, "line1 line2 x\xef\xbf\xbd!");
    free(got);
    assert_non_null(strstr(r.hr_body, "\"line1 line2 x\xef\xbf\xbd!\""));
    paved_http_request_dispose(&r);
}

static void
test_description_cut_gitlab_gitea(void **state)
{
    enum paved_forge_kind kinds[] = {PAVED_FORGEAPI_GITLAB,
                                     PAVED_FORGEAPI_GITEA};
    struct paved_http_request r;
    char *desc, *got;
    size_t k;

    (void)state;
    for (k = 0; k < 2; k++) {
        desc = repeat("\xc3\xa9", 300);
        assert_int_equal(build(&r, kinds[k], "https://a.example", "g/p", SHA1,
                               PAVED_STATUS_FAILURE, "c", desc, NULL),
                         0);
        got = body_string(&r, "description");
        assert_int_equal(utf8_chars(got), 255);
        assert_int_equal(strlen(got), 254 * 2 + 3);
        assert_string_equal(got + 254 * 2, "\xe2\x80\xa6");
        free(got);
        free(desc);
        paved_http_request_dispose(&r);
        /* 200 fits: more than GitHub's 140 */
        desc = repeat("a", 200);
        assert_int_equal(build(&r, kinds[k], "https://a.example", "g/p", SHA1,
                               PAVED_STATUS_FAILURE, "c", desc, NULL),
                         0);
        got = body_string(&r, "description");
        assert_string_equal(got, desc);
        free(got);
        free(desc);
        paved_http_request_dispose(&r);
    }
}

static void
test_cut_helper(void **state)
{
    char *s;

    (void)state;
    s = paved_forgeapi_cut("abc", 3, 0, 0);
    assert_string_equal(s, "abc");
    free(s);
    s = paved_forgeapi_cut("abcd", 3, 0, 0);
    assert_string_equal(s, "ab\xe2\x80\xa6");
    free(s);
    /* bytes: "aé€" is 6 bytes; a 6-byte cap keeps it, 5 cuts to "a…" */
    s = paved_forgeapi_cut("a\xc3\xa9\xe2\x82\xac", 0, 6, 0);
    assert_string_equal(s, "a\xc3\xa9\xe2\x82\xac");
    free(s);
    s = paved_forgeapi_cut("a\xc3\xa9\xe2\x82\xac", 0, 5, 0);
    assert_string_equal(s, "a\xe2\x80\xa6");
    free(s);
    /* too small for the marker: a plain cut on a character boundary */
    s = paved_forgeapi_cut("\xc3\xa9\xc3\xa9", 0, 2, 0);
    assert_string_equal(s, "\xc3\xa9");
    free(s);
    s = paved_forgeapi_cut("\xc3\xa9\xc3\xa9", 0, 1, 0);
    assert_string_equal(s, "");
    free(s);
    /* strict UTF-8: overlong, surrogate, truncated sequences are bad */
    s = paved_forgeapi_cut("\xc0\xaf|\xed\xa0\x80|\xe2\x82", 0, 0, 0);
    assert_string_equal(s, "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd"
                           "\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd");
    free(s);
    /* flatten: newline kept without, replaced with */
    s = paved_forgeapi_cut("a\nb", 0, 0, 0);
    assert_string_equal(s, "a\nb");
    free(s);
    s = paved_forgeapi_cut("a\nb\x7f", 0, 0, 1);
    assert_string_equal(s, "a b ");
    free(s);
    s = paved_forgeapi_cut(NULL, 10, 0, 0);
    assert_string_equal(s, "");
    free(s);
}

static void
assert_refused(int code, enum paved_forge_kind kind, const char *api,
               const char *token, const char *repo, const char *sha,
               const char *context, const char *target)
{
    struct paved_forge_endpoint ep = {kind, api, token};
    struct paved_status st = {
        repo, sha, context, PAVED_STATUS_SUCCESS, "description", target};
    struct paved_http_request r;

    memset(&r, 0x5a, sizeof(r));
    assert_int_equal(paved_forgeapi_status(&r, &ep, &st), code);
    /* zeroed on error: nothing to free, nothing half-built */
    assert_null(r.hr_method);
    assert_null(r.hr_url);
    assert_null(r.hr_headers);
    assert_int_equal(r.hr_nheaders, 0);
    assert_null(r.hr_body);
    assert_int_equal(r.hr_body_len, 0);
    /* a message that never shows the token */
    assert_null(strstr(paved_error_last(), TOKEN));
    paved_http_request_dispose(&r);
}

static void
test_refused(void **state)
{
    static const char *const bad_repos[] = {
        "noslash",    "a/b/c", "/b",  "a/",      "a//b",  "a b/c",
        "../x",       "a/..",  "./b", "o/r?x=1", "o/r#f", "o/r%2F",
        "o/\xc3\xa9", "o\\r",  "",    NULL,
    };
    static const char *const bad_shas[] = {
        "000000000000000000000000000000000000001",   /* 39 */
        "00000000000000000000000000000000000000011", /* 41 */
        "g000000000000000000000000000000000000001",
        "0000000000000000000000000000000000000001\n",
        "",
        NULL,
    };
    const char *gh = "https://api.github.com";
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad_repos) / sizeof(bad_repos[0]); i++) {
        assert_refused(PAVED_EINVAL, PAVED_FORGEAPI_GITHUB, gh, TOKEN,
                       bad_repos[i], SHA1, "c", NULL);
        assert_refused(PAVED_EINVAL, PAVED_FORGEAPI_GITEA, gh, TOKEN,
                       bad_repos[i], SHA1, "c", NULL);
    }
    for (i = 0; i < sizeof(bad_shas) / sizeof(bad_shas[0]); i++)
        assert_refused(PAVED_EINVAL, PAVED_FORGEAPI_GITHUB, gh, TOKEN, "o/r",
                       bad_shas[i], "c", NULL);
    /* GitLab: a namespace is required, and the same characters */
    assert_refused(PAVED_EINVAL, PAVED_FORGEAPI_GITLAB, gh, TOKEN, "project",
                   SHA1, "c", NULL);
    assert_refused(PAVED_EINVAL, PAVED_FORGEAPI_GITLAB, gh, TOKEN, "g/../p",
                   SHA1, "c", NULL);
    assert_refused(PAVED_EINVAL, PAVED_FORGEAPI_GITLAB, gh, TOKEN, "g/p/", SHA1,
                   "c", NULL);
    assert_refused(PAVED_EINVAL, PAVED_FORGEAPI_GITLAB, gh, TOKEN, "12a", SHA1,
                   "c", NULL);
    /* tokens */
    assert_refused(PAVED_EAUTH, PAVED_FORGEAPI_GITHUB, gh, NULL, "o/r", SHA1,
                   "c", NULL);
    assert_refused(PAVED_EAUTH, PAVED_FORGEAPI_GITHUB, gh, "", "o/r", SHA1, "c",
                   NULL);
    assert_refused(PAVED_EINVAL, PAVED_FORGEAPI_GITHUB, gh,
                   TOKEN "\r\nX-Evil: 1", "o/r", SHA1, "c", NULL);
    assert_refused(PAVED_EINVAL, PAVED_FORGEAPI_GITLAB, gh, TOKEN " x", "g/p",
                   SHA1, "c", NULL);
    /* API root and target URL */
    assert_refused(PAVED_EINVAL, PAVED_FORGEAPI_GITHUB, "api.github.com", TOKEN,
                   "o/r", SHA1, "c", NULL);
    assert_refused(PAVED_EINVAL, PAVED_FORGEAPI_GITHUB, NULL, TOKEN, "o/r",
                   SHA1, "c", NULL);
    assert_refused(PAVED_EINVAL, PAVED_FORGEAPI_GITHUB, "https://a.example?x",
                   TOKEN, "o/r", SHA1, "c", NULL);
    assert_refused(PAVED_EINVAL, PAVED_FORGEAPI_GITHUB, gh, TOKEN, "o/r", SHA1,
                   "c", "javascript:alert(1)");
    assert_refused(PAVED_EINVAL, PAVED_FORGEAPI_GITHUB, gh, TOKEN, "o/r", SHA1,
                   "c", "https://x.example/a b");
    /* context */
    assert_refused(PAVED_EINVAL, PAVED_FORGEAPI_GITHUB, gh, TOKEN, "o/r", SHA1,
                   NULL, NULL);
    assert_refused(PAVED_EINVAL, PAVED_FORGEAPI_GITHUB, gh, TOKEN, "o/r", SHA1,
                   "", NULL);
    assert_refused(PAVED_EINVAL, PAVED_FORGEAPI_GITHUB, gh, TOKEN, "o/r", SHA1,
                   "a\nb", NULL);
    assert_refused(PAVED_EINVAL, PAVED_FORGEAPI_GITHUB, gh, TOKEN, "o/r", SHA1,
                   "bad\xff", NULL);
    assert_refused(PAVED_EINVAL, (enum paved_forge_kind)7, gh, TOKEN, "o/r",
                   SHA1, "c", NULL);
}

static void
test_dispose(void **state)
{
    struct paved_http_request r, zero;

    (void)state;
    memset(&zero, 0, sizeof(zero));
    paved_http_request_dispose(NULL);
    assert_int_equal(build(&r, PAVED_FORGEAPI_GITHUB, "https://a.example",
                           "o/r", SHA1, PAVED_STATUS_SUCCESS, "c", "d", NULL),
                     0);
    paved_http_request_dispose(&r);
    assert_memory_equal(&r, &zero, sizeof(r));
    paved_http_request_dispose(&r); /* twice is harmless */
    assert_memory_equal(&r, &zero, sizeof(r));
}

/*
 * Answers
 */

static struct paved_forge_answer
answer(enum paved_forge_kind kind, long status, const char *headers,
       const char *body)
{
    struct paved_forge_answer a;

    memset(&a, 0x5a, sizeof(a));
    paved_forgeapi_answer(&a, kind, status, headers,
                          headers != NULL ? strlen(headers) : 0, body,
                          body != NULL ? strlen(body) : 0, NOW);
    return a;
}

static void
test_answer_done(void **state)
{
    struct paved_forge_answer a;

    (void)state;
    /* the recorded 201's rate-limit headers (the normalized recording
     * holds the reset in milliseconds) */
    a = answer(PAVED_FORGEAPI_GITHUB, 201,
               "HTTP/1.1 201 Created\r\n"
               "x-ratelimit-limit: 5000\r\n"
               "x-ratelimit-remaining: 4999\r\n"
               "x-ratelimit-reset: 1507651200000\r\n\r\n",
               "{\"id\":1000,\"state\":\"failure\"}");
    assert_int_equal(a.fa_verdict, PAVED_VERDICT_DONE);
    assert_int_equal(a.fa_retry_at_ms, 0);
    assert_int_equal(a.fa_remaining, 4999);
    assert_int_equal(a.fa_reset_ms, 1507651200000LL);
    assert_string_equal(a.fa_message, "HTTP 201");
    /* the last request of the window: done, and the reset is passed on */
    a = answer(PAVED_FORGEAPI_GITHUB, 200,
               "X-RateLimit-Remaining: 0\r\nX-RateLimit-Reset: 1700000600\r\n",
               NULL);
    assert_int_equal(a.fa_verdict, PAVED_VERDICT_DONE);
    assert_int_equal(a.fa_retry_at_ms, 0);
    assert_int_equal(a.fa_remaining, 0);
    assert_int_equal(a.fa_reset_ms, 1700000600000LL);
    a = answer(PAVED_FORGEAPI_GITEA, 204, NULL, NULL);
    assert_int_equal(a.fa_verdict, PAVED_VERDICT_DONE);
    assert_int_equal(a.fa_remaining, -1);
    assert_int_equal(a.fa_reset_ms, 0);
}

static void
test_answer_retry_plain(void **state)
{
    static const long retry[] = {0,   500, 502, 503, 504, 599,
                                 408, 429, 100, 199, 600, -1};
    struct paved_forge_answer a;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(retry) / sizeof(retry[0]); i++) {
        a = answer(PAVED_FORGEAPI_GITHUB, retry[i], NULL, NULL);
        assert_int_equal(a.fa_verdict, PAVED_VERDICT_RETRY);
        /* no hint: the caller's own backoff */
        assert_int_equal(a.fa_retry_at_ms, 0);
        assert_int_equal(a.fa_remaining, -1);
    }
    a = answer(PAVED_FORGEAPI_GITHUB, 0, NULL, NULL);
    assert_string_equal(a.fa_message, "no answer (network error)");
    a = answer(PAVED_FORGEAPI_GITHUB, 502, "Content-Type: text/html\r\n",
               "<html><body>Bad gateway</body></html>");
    assert_string_equal(a.fa_message, "HTTP 502");
}

static void
test_answer_retry_after(void **state)
{
    struct paved_forge_answer a;

    (void)state;
    a = answer(PAVED_FORGEAPI_GITHUB, 503, "Retry-After: 120\r\n", NULL);
    assert_int_equal(a.fa_verdict, PAVED_VERDICT_RETRY);
    assert_int_equal(a.fa_retry_at_ms, NOW + 120000);
    /* any case, no space, trailing blanks, LF only */
    a = answer(PAVED_FORGEAPI_GITLAB, 429, "rEtRy-AfTeR:30  \n", NULL);
    assert_int_equal(a.fa_verdict, PAVED_VERDICT_RETRY);
    assert_int_equal(a.fa_retry_at_ms, NOW + 30000);
    a = answer(PAVED_FORGEAPI_GITLAB, 429, "RETRY-AFTER: 30\r\n", NULL);
    assert_int_equal(a.fa_retry_at_ms, NOW + 30000);
    /* HTTP-date, all three forms; NOW is Tue, 14 Nov 2023 22:13:20 GMT */
    a = answer(PAVED_FORGEAPI_GITHUB, 503,
               "Retry-After: Tue, 14 Nov 2023 22:15:00 GMT\r\n", NULL);
    assert_int_equal(a.fa_retry_at_ms, NOW + 100000);
    a = answer(PAVED_FORGEAPI_GITHUB, 503,
               "Retry-After: Tuesday, 14-Nov-23 22:15:00 GMT\r\n", NULL);
    assert_int_equal(a.fa_retry_at_ms, NOW + 100000);
    a = answer(PAVED_FORGEAPI_GITHUB, 503,
               "Retry-After: Tue Nov 14 22:15:00 2023\r\n", NULL);
    assert_int_equal(a.fa_retry_at_ms, NOW + 100000);
    /* asctime pads a one-digit day with a space */
    paved_forgeapi_answer(&a, PAVED_FORGEAPI_GITHUB, 503,
                          "Retry-After: Fri Mar  1 00:00:00 2024", 37, NULL, 0,
                          1709251200000LL - 50000);
    assert_int_equal(a.fa_retry_at_ms, 1709251200000LL);
    /* more than a day away: a day */
    a = answer(PAVED_FORGEAPI_GITHUB, 503,
               "Retry-After: Fri Mar  1 00:00:00 2024\r\n", NULL);
    assert_int_equal(a.fa_retry_at_ms, NOW + 24LL * 3600 * 1000);
    /* a date in the past, garbage, an impossible date: no hint */
    a = answer(PAVED_FORGEAPI_GITHUB, 503,
               "Retry-After: Sun, 06 Nov 1994 08:49:37 GMT\r\n", NULL);
    assert_int_equal(a.fa_verdict, PAVED_VERDICT_RETRY);
    assert_int_equal(a.fa_retry_at_ms, 0);
    a = answer(PAVED_FORGEAPI_GITHUB, 503, "Retry-After: soon\r\n", NULL);
    assert_int_equal(a.fa_retry_at_ms, 0);
    a = answer(PAVED_FORGEAPI_GITHUB, 503,
               "Retry-After: Fri, 30 Feb 2024 00:00:00 GMT\r\n", NULL);
    assert_int_equal(a.fa_retry_at_ms, 0);
    a = answer(PAVED_FORGEAPI_GITHUB, 503, "Retry-After: -5\r\n", NULL);
    assert_int_equal(a.fa_retry_at_ms, 0);
    /* never more than a day away */
    a = answer(PAVED_FORGEAPI_GITHUB, 503, "Retry-After: 999999999\r\n", NULL);
    assert_int_equal(a.fa_retry_at_ms, NOW + 24LL * 3600 * 1000);
    /* the last of repeated headers counts (a 100 Continue came first) */
    a = answer(PAVED_FORGEAPI_GITHUB, 503,
               "HTTP/1.1 100 Continue\r\nRetry-After: 5\r\n\r\n"
               "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\n\r\n",
               NULL);
    assert_int_equal(a.fa_retry_at_ms, NOW + 7000);
    /* a Retry-After on a 4xx that cannot be fixed by waiting: no retry */
    a = answer(PAVED_FORGEAPI_GITHUB, 404, "Retry-After: 7\r\n", NULL);
    assert_int_equal(a.fa_verdict, PAVED_VERDICT_GIVE_UP);
    assert_int_equal(a.fa_retry_at_ms, 0);
}

static void
test_answer_rate_limit(void **state)
{
    static const char *const casings[] = {
        "X-RateLimit-Remaining: 0\r\nX-RateLimit-Reset: 1700000600\r\n",
        "x-ratelimit-remaining: 0\r\nx-ratelimit-reset: 1700000600\r\n",
        "X-RATELIMIT-REMAINING:0\r\nX-RATELIMIT-RESET:1700000600\r\n",
        "X-Ratelimit-Reset:   1700000600 \r\nX-Ratelimit-Remaining: 0\r\n",
    };
    struct paved_forge_answer a;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(casings) / sizeof(casings[0]); i++) {
        a = answer(PAVED_FORGEAPI_GITHUB, 403, casings[i],
                   "{\"message\":\"API rate limit exceeded for user ID 1.\","
                   "\"documentation_url\":\"https://docs.github.com/rest\"}");
        assert_int_equal(a.fa_verdict, PAVED_VERDICT_RETRY);
        assert_int_equal(a.fa_retry_at_ms, 1700000600000LL);
        assert_int_equal(a.fa_remaining, 0);
        assert_string_equal(a.fa_message,
                            "API rate limit exceeded for user ID 1.");
        a = answer(PAVED_FORGEAPI_GITHUB, 429, casings[i], NULL);
        assert_int_equal(a.fa_verdict, PAVED_VERDICT_RETRY);
        assert_int_equal(a.fa_retry_at_ms, 1700000600000LL);
    }
    /* GitLab's un-prefixed headers */
    a = answer(PAVED_FORGEAPI_GITLAB, 429,
               "RateLimit-Remaining: 0\r\nRateLimit-Reset: 1700000060\r\n",
               "{\"message\":\"Retry later\"}");
    assert_int_equal(a.fa_verdict, PAVED_VERDICT_RETRY);
    assert_int_equal(a.fa_retry_at_ms, NOW + 60000);
    assert_string_equal(a.fa_message, "Retry later");
    /* Retry-After and a later reset: the later one */
    a = answer(PAVED_FORGEAPI_GITHUB, 403,
               "Retry-After: 10\r\nX-RateLimit-Remaining: 0\r\n"
               "X-RateLimit-Reset: 1700000300\r\n",
               NULL);
    assert_int_equal(a.fa_retry_at_ms, 1700000300000LL);
    /* remaining 0, no reset: at least a minute */
    a = answer(PAVED_FORGEAPI_GITHUB, 403, "X-RateLimit-Remaining: 0\r\n",
               NULL);
    assert_int_equal(a.fa_verdict, PAVED_VERDICT_RETRY);
    assert_int_equal(a.fa_retry_at_ms, NOW + 60000);
    /* remaining left: a 403 about permissions is final */
    a = answer(PAVED_FORGEAPI_GITHUB, 403,
               "X-RateLimit-Remaining: 4000\r\n"
               "X-RateLimit-Reset: 1700000600\r\n",
               "{\"message\":\"Resource not accessible by integration\"}");
    assert_int_equal(a.fa_verdict, PAVED_VERDICT_GIVE_UP);
    assert_int_equal(a.fa_retry_at_ms, 0);
    assert_int_equal(a.fa_remaining, 4000);
    assert_string_equal(a.fa_message, "Resource not accessible by integration");
    /* garbage values are no values */
    a = answer(PAVED_FORGEAPI_GITHUB, 403,
               "X-RateLimit-Remaining: zero\r\nX-RateLimit-Reset: x\r\n", NULL);
    assert_int_equal(a.fa_verdict, PAVED_VERDICT_GIVE_UP);
    assert_int_equal(a.fa_remaining, -1);
    assert_int_equal(a.fa_reset_ms, 0);
}

static void
test_answer_secondary(void **state)
{
    static const char secondary[] =
        "{\"message\":\"You have exceeded a secondary rate limit. Please "
        "wait a few minutes before you try again.\",\"documentation_url\":"
        "\"https://docs.github.com/rest/overview/rate-limits\"}";
    struct paved_forge_answer a;

    (void)state;
    a = answer(PAVED_FORGEAPI_GITHUB, 403, "X-RateLimit-Remaining: 4990\r\n",
               secondary);
    assert_int_equal(a.fa_verdict, PAVED_VERDICT_RETRY);
    assert_int_equal(a.fa_retry_at_ms, NOW + 60000);
    assert_int_equal(a.fa_remaining, 4990);
    assert_string_equal(a.fa_message,
                        "You have exceeded a secondary rate limit. Please "
                        "wait a few minutes before you try again.");
    a = answer(PAVED_FORGEAPI_GITHUB, 403, "retry-after: 120\r\n", secondary);
    assert_int_equal(a.fa_retry_at_ms, NOW + 120000);
    a = answer(PAVED_FORGEAPI_GITHUB, 403, NULL,
               "{\"message\":\"You have triggered an abuse detection "
               "mechanism. Please wait a few minutes before you try "
               "again.\"}");
    assert_int_equal(a.fa_verdict, PAVED_VERDICT_RETRY);
    assert_int_equal(a.fa_retry_at_ms, NOW + 60000);
    a = answer(PAVED_FORGEAPI_GITHUB, 429, NULL, secondary);
    assert_int_equal(a.fa_verdict, PAVED_VERDICT_RETRY);
    assert_int_equal(a.fa_retry_at_ms, NOW + 60000);
}

static void
test_answer_give_up(void **state)
{
    static const long final[] = {301, 304, 400, 401, 404, 405,
                                 409, 410, 413, 415, 422, 451};
    struct paved_forge_answer a;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(final) / sizeof(final[0]); i++) {
        a = answer(PAVED_FORGEAPI_GITHUB, final[i], NULL, NULL);
        assert_int_equal(a.fa_verdict, PAVED_VERDICT_GIVE_UP);
        assert_int_equal(a.fa_retry_at_ms, 0);
    }
    a = answer(PAVED_FORGEAPI_GITHUB, 404, NULL,
               "{\"message\":\"Not Found\",\"documentation_url\":"
               "\"https://docs.github.com/rest/commits/statuses\"}");
    assert_string_equal(a.fa_message, "Not Found");
    a = answer(PAVED_FORGEAPI_GITHUB, 422, NULL,
               "{\"message\":\"Validation Failed\",\"errors\":[{\"resource\":"
               "\"Status\",\"code\":\"custom\",\"field\":\"description\","
               "\"message\":\"description is too long (maximum is 140 "
               "characters)\"}],\"documentation_url\":\"https://x\"}");
    assert_int_equal(a.fa_verdict, PAVED_VERDICT_GIVE_UP);
    assert_string_equal(a.fa_message, "Validation Failed: description is too "
                                      "long (maximum is 140 characters)");
    a = answer(PAVED_FORGEAPI_GITHUB, 422, NULL,
               "{\"message\":\"Validation Failed\",\"errors\":[{\"resource\":"
               "\"Status\",\"field\":\"state\",\"code\":\"invalid\"},"
               "\"plain\"]}");
    assert_string_equal(a.fa_message,
                        "Validation Failed: state invalid; plain");
    a = answer(PAVED_FORGEAPI_GITHUB, 401, NULL,
               "{\"message\":\"Bad credentials\"}");
    assert_string_equal(a.fa_message, "Bad credentials");
}

static void
test_answer_gitlab(void **state)
{
    struct paved_forge_answer a;

    (void)state;
    /* the state is already there: nothing left to do */
    a = answer(PAVED_FORGEAPI_GITLAB, 400, NULL,
               "{\"message\":\"Cannot transition status via :run from "
               ":running (Reason(s): Status cannot transition via "
               "\\\"run\\\")\"}");
    assert_int_equal(a.fa_verdict, PAVED_VERDICT_DONE);
    assert_int_equal(a.fa_retry_at_ms, 0);
    assert_string_equal(a.fa_message,
                        "Cannot transition status via :run from :running "
                        "(Reason(s): Status cannot transition via \"run\")");
    a = answer(PAVED_FORGEAPI_GITLAB, 409, NULL,
               "{\"message\":\"Cannot transition status via :enqueue from "
               ":pending\"}");
    assert_int_equal(a.fa_verdict, PAVED_VERDICT_DONE);
    /* only GitLab says so, and only about transitions */
    a = answer(PAVED_FORGEAPI_GITHUB, 400, NULL,
               "{\"message\":\"Cannot transition status via :run\"}");
    assert_int_equal(a.fa_verdict, PAVED_VERDICT_GIVE_UP);
    a = answer(PAVED_FORGEAPI_GITLAB, 400, NULL,
               "{\"message\":\"400 Bad request - state is missing\"}");
    assert_int_equal(a.fa_verdict, PAVED_VERDICT_GIVE_UP);
    assert_string_equal(a.fa_message, "400 Bad request - state is missing");
    /* message as an object: compact JSON */
    a = answer(PAVED_FORGEAPI_GITLAB, 400, NULL,
               "{\"message\": {\"name\": [\"is too long (maximum is 255 "
               "characters)\"]}}");
    assert_int_equal(a.fa_verdict, PAVED_VERDICT_GIVE_UP);
    assert_string_equal(a.fa_message,
                        "{\"name\":[\"is too long (maximum is 255 "
                        "characters)\"]}");
    /* OAuth-style error */
    a = answer(PAVED_FORGEAPI_GITLAB, 401, NULL,
               "{\"error\":\"invalid_token\",\"error_description\":\"Token "
               "was revoked. You have to re-authorize from the user.\"}");
    assert_int_equal(a.fa_verdict, PAVED_VERDICT_GIVE_UP);
    assert_string_equal(a.fa_message,
                        "invalid_token: Token was revoked. You have to "
                        "re-authorize from the user.");
    a = answer(PAVED_FORGEAPI_GITLAB, 404, NULL,
               "{\"error\":\"404 Not Found\"}");
    assert_string_equal(a.fa_message, "404 Not Found");
}

static void
test_answer_gitea(void **state)
{
    struct paved_forge_answer a;

    (void)state;
    a = answer(PAVED_FORGEAPI_GITEA, 404, NULL,
               "{\"errors\":null,\"message\":\"The target couldn't be found.\","
               "\"url\":\"https://gitea.example/api/swagger\"}");
    assert_int_equal(a.fa_verdict, PAVED_VERDICT_GIVE_UP);
    assert_string_equal(a.fa_message, "The target couldn't be found.");
    a = answer(PAVED_FORGEAPI_GITEA, 422, NULL,
               "{\"message\":\"\",\"url\":\"x\"}");
    assert_string_equal(a.fa_message, "HTTP 422");
}

static void
test_answer_message_shape(void **state)
{
    struct paved_forge_answer a;
    char *body, *long_msg;
    size_t n;

    (void)state;
    /* long and multibyte: cut on a character, marked, valid, fits */
    long_msg = repeat("\xe2\x82\xac", 400);
    n = strlen(long_msg) + 32;
    body = malloc(n);
    assert_non_null(body);
    snprintf(body, n, "{\"message\":\"%s\"}", long_msg);
    a = answer(PAVED_FORGEAPI_GITHUB, 500, NULL, body);
    assert_true(strlen(a.fa_message) <= 255);
    assert_true(utf8_chars(a.fa_message) > 0);
    assert_int_equal(strlen(a.fa_message), 84 * 3 + 3);
    assert_string_equal(a.fa_message + 84 * 3, "\xe2\x80\xa6");
    free(body);
    free(long_msg);
    /* one line: a forge cannot forge log lines */
    a = answer(PAVED_FORGEAPI_GITHUB, 400, NULL,
               "{\"message\":\"bad\\nlevel=error msg=forged\\u0007\"}");
    assert_string_equal(a.fa_message, "bad level=error msg=forged ");
    /* a body that is not JSON, or not an object, or a message of blanks */
    a = answer(PAVED_FORGEAPI_GITHUB, 400, NULL, "{\"message\":");
    assert_string_equal(a.fa_message, "HTTP 400");
    a = answer(PAVED_FORGEAPI_GITHUB, 400, NULL, "[\"message\"]");
    assert_string_equal(a.fa_message, "HTTP 400");
    a = answer(PAVED_FORGEAPI_GITHUB, 400, NULL, "{\"message\":\" \\n\"}");
    assert_string_equal(a.fa_message, "HTTP 400");
    a = answer(PAVED_FORGEAPI_GITHUB, 400, NULL, "{\"message\":42}");
    assert_string_equal(a.fa_message, "42");
    /* NULL everything */
    paved_forgeapi_answer(NULL, PAVED_FORGEAPI_GITHUB, 200, NULL, 0, NULL, 0,
                          NOW);
}

/* Header bytes are taken by length: NULs and missing line ends are fine. */
static void
test_answer_header_bytes(void **state)
{
    static const char hdrs[] = "Retry-After: 9\0garbage\r\n:\r\n\r\n:x\r\n"
                               "Retry-After";
    static const char tail[] = "X-RateLimit-Remaining: 0";
    struct paved_forge_answer a;

    (void)state;
    paved_forgeapi_answer(&a, PAVED_FORGEAPI_GITHUB, 503, hdrs,
                          sizeof(hdrs) - 1, NULL, 0, NOW);
    assert_int_equal(a.fa_verdict, PAVED_VERDICT_RETRY);
    /* "9\0garbage" is not a number */
    assert_int_equal(a.fa_retry_at_ms, 0);
    /* the last line without CRLF still counts; the length is the limit */
    paved_forgeapi_answer(&a, PAVED_FORGEAPI_GITHUB, 403, tail,
                          sizeof(tail) - 1, NULL, 0, NOW);
    assert_int_equal(a.fa_remaining, 0);
    assert_int_equal(a.fa_verdict, PAVED_VERDICT_RETRY);
    paved_forgeapi_answer(&a, PAVED_FORGEAPI_GITHUB, 403, tail,
                          sizeof(tail) - 2, NULL, 0, NOW);
    assert_int_equal(a.fa_remaining, -1);
    assert_int_equal(a.fa_verdict, PAVED_VERDICT_GIVE_UP);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_github_exact),
        cmocka_unit_test(test_github_matches_recording),
        cmocka_unit_test(test_github_options),
        cmocka_unit_test(test_states),
        cmocka_unit_test(test_gitea_exact),
        cmocka_unit_test(test_gitlab_exact),
        cmocka_unit_test(test_sha_forms),
        cmocka_unit_test(test_description_cut_github),
        cmocka_unit_test(test_description_cut_gitlab_gitea),
        cmocka_unit_test(test_cut_helper),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_dispose),
        cmocka_unit_test(test_answer_done),
        cmocka_unit_test(test_answer_retry_plain),
        cmocka_unit_test(test_answer_retry_after),
        cmocka_unit_test(test_answer_rate_limit),
        cmocka_unit_test(test_answer_secondary),
        cmocka_unit_test(test_answer_give_up),
        cmocka_unit_test(test_answer_gitlab),
        cmocka_unit_test(test_answer_gitea),
        cmocka_unit_test(test_answer_message_shape),
        cmocka_unit_test(test_answer_header_bytes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
